//! The buildpacks shipped inside the binary (`buildpacks/` in the source tree), and writing one out to disk to run it.

use std::fs;
use std::os::unix::fs::{DirBuilderExt, PermissionsExt};
use std::path::{Path, PathBuf};

use crate::base::tempdir::TempDir;
use crate::build::error::{Error, Result};

/// One file of a built-in buildpack: its path inside the buildpack, its bytes, and whether it is executable.
type File = (&'static str, &'static [u8], bool);

macro_rules! pack_file {
    ($pack:literal, $path:literal, $exec:literal) => {
        (
            $path,
            include_bytes!(concat!("../../../buildpacks/", $pack, "/", $path)),
            $exec,
        )
    };
}

const PYTHON: &[File] = &[
    pack_file!("python", "VERSION", false),
    pack_file!("python", "bin/detect", true),
    pack_file!("python", "bin/compile", true),
    pack_file!("python", "bin/release", true),
    pack_file!("python", "lib/common.sh", false),
    pack_file!("python", "lib/pyhelper.py", false),
];

const NODEJS: &[File] = &[
    pack_file!("nodejs", "VERSION", false),
    pack_file!("nodejs", "bin/detect", true),
    pack_file!("nodejs", "bin/compile", true),
    pack_file!("nodejs", "bin/release", true),
    pack_file!("nodejs", "lib/common.sh", false),
    pack_file!("nodejs", "lib/pkg.js", false),
    pack_file!("nodejs", "lib/semver.js", false),
];

/// Top-level files whose presence makes a built-in's `bin/detect` worth running.
///
/// A superset of what the detect scripts look for: a tree with none of these
/// is not built by any built-in, so it compiles straight from git as before
/// (no checkout, and a re-push of a known tree reuses its slug).
pub const MARKERS: &[&str] = &[
    "package.json",
    "requirements.txt",
    "setup.py",
    "pyproject.toml",
    "Pipfile",
    "Pipfile.lock",
    "poetry.lock",
    "uv.lock",
    "runtime.txt",
];

fn files(name: &str) -> Option<&'static [File]> {
    match name {
        "python" => Some(PYTHON),
        "nodejs" => Some(NODEJS),
        _ => None,
    }
}

/// The version of built-in `name` (its `VERSION` file), part of where it is written and of build cache keys.
pub fn builtin_version(name: &str) -> Option<&'static str> {
    let (_, bytes, _) = files(name)?
        .iter()
        .find(|(path, _, _)| *path == "VERSION")?;
    std::str::from_utf8(bytes).ok().map(str::trim)
}

/// The directory holding built-in `name` under `dir` (`ROOT/buildpacks/builtin`), written there if it is not yet.
///
/// Written whole into a temp directory and renamed into place, so a
/// directory that exists is complete; a new slipway version writes a new one.
pub fn materialize(name: &str, dir: &Path) -> Result<PathBuf> {
    let files = files(name).ok_or_else(|| Error::Io {
        action: "find the built-in buildpack",
        path: PathBuf::from(name),
        source: std::io::ErrorKind::NotFound.into(),
    })?;
    let version = builtin_version(name).unwrap_or("0");
    let dest = dir.join(format!("{name}-{version}-{}", content_tag(files)));
    if dest.is_dir() {
        return Ok(dest);
    }
    fs::DirBuilder::new()
        .recursive(true)
        .mode(0o755)
        .create(dir)
        .map_err(Error::io("create", dir))?;
    let stage = TempDir::new_in(dir).map_err(Error::io("create in", dir))?;
    for (path, bytes, exec) in files {
        let target = stage.path().join(path);
        if let Some(parent) = target.parent() {
            fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
        }
        fs::write(&target, bytes).map_err(Error::io("write", &target))?;
        let mode = if *exec { 0o755 } else { 0o644 };
        fs::set_permissions(&target, fs::Permissions::from_mode(mode))
            .map_err(Error::io("write", &target))?;
    }
    fs::set_permissions(stage.path(), fs::Permissions::from_mode(0o755))
        .map_err(Error::io("write", stage.path()))?;
    match fs::rename(stage.path(), &dest) {
        Ok(()) => {
            stage.keep();
            Ok(dest)
        }
        // Another build wrote it first: theirs is as good as ours.
        Err(_) if dest.is_dir() => Ok(dest),
        Err(e) => Err(Error::io("write", &dest)(e)),
    }
}

/// A short tag of the files' bytes, so two builds of slipway with the same VERSION but other scripts never share a directory.
fn content_tag(files: &[File]) -> String {
    use sha2::{Digest, Sha256};
    let mut hasher = Sha256::new();
    for (path, bytes, exec) in files {
        hasher.update(path.as_bytes());
        hasher.update([u8::from(*exec)]);
        hasher.update((bytes.len() as u64).to_le_bytes());
        hasher.update(bytes);
    }
    crate::base::digest::hex(&hasher.finalize()[..6])
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn builtins_are_written_once_with_their_modes() {
        let tmp = tempfile::tempdir().unwrap();
        let dir = materialize("python", tmp.path()).unwrap();
        assert_eq!(materialize("python", tmp.path()).unwrap(), dir);
        let mode = fs::metadata(dir.join("bin/compile"))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o755);
        assert!(builtin_version("nodejs").is_some());
        assert!(materialize("ruby", tmp.path()).is_err());
    }
}
