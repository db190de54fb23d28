//! Unpacking a slug into a release's run directory, refusing anything that could land outside it.
//!
//! Slugs are made by slipway and cannot hold hostile entries by construction,
//! but the directory is checked anyway: only `app/...` paths made of plain
//! components, only files, directories and symlinks, and nothing is ever
//! written through a symlink. A relative symlink must stay inside `app/`; an
//! absolute one (`certs -> /etc/ssl/certs`) is kept, as app code sees it in
//! its sandbox (the system, read-only), unless it leads into the slipway root
//! or to a directory above it, which anything following links on the host
//! could then read.

use std::fs::{self, File, OpenOptions};
use std::io::{self, Read};
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::{Component, Path, PathBuf};

use flate2::read::GzDecoder;

use crate::run::error::{Error, Result};

/// The largest Procfile read straight out of a slug.
const MAX_PROCFILE: u64 = 1024 * 1024;

/// Unpacks the slug at `slug` into `dest` (which must not exist), through a staging directory beside it; no symlink may lead into `root`.
pub fn unpack(slug: &Path, dest: &Path, root: &Path) -> Result<()> {
    let parent = dest.parent().unwrap_or(Path::new("."));
    fs::create_dir_all(parent).map_err(Error::io("create", parent))?;
    let name = dest
        .file_name()
        .map_or_else(|| "release".into(), |n| n.to_string_lossy().into_owned());
    let stage = parent.join(format!(".unpack-{name}-{}", std::process::id()));
    if stage.exists() {
        fs::remove_dir_all(&stage).map_err(Error::io("remove", &stage))?;
    }
    fs::create_dir(&stage).map_err(Error::io("create", &stage))?;
    let result = unpack_into(slug, &stage, root)
        .and_then(|()| fs::rename(&stage, dest).map_err(Error::io("create", dest)));
    if result.is_err() {
        let _ = fs::remove_dir_all(&stage);
    }
    result
}

fn unpack_into(slug: &Path, stage: &Path, root: &Path) -> Result<()> {
    let file = File::open(slug).map_err(Error::io("read", slug))?;
    let mut archive = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let entries = archive.entries().map_err(Error::io("read", slug))?;
    let mut links = Vec::new();
    for entry in entries {
        let mut entry = entry.map_err(Error::io("read", slug))?;
        let raw = entry.path().map_err(Error::io("read", slug))?.into_owned();
        let bad = |reason: &'static str| Error::BadSlugEntry {
            path: crate::base::text::escape(&raw.to_string_lossy()).into_owned(),
            reason,
        };
        let rel = checked_path(&raw).map_err(bad)?;
        let kind = entry.header().entry_type();
        let target = stage.join(&rel);
        if !rel.as_os_str().is_empty() {
            ensure_real_dirs(stage, rel.parent().unwrap_or(Path::new("")))?;
        }
        if kind.is_dir() {
            ensure_real_dirs(stage, &rel)?;
        } else if kind.is_file() || kind.is_contiguous() {
            let mode = entry.header().mode().unwrap_or(0o644) & 0o755;
            let mut out = OpenOptions::new()
                .write(true)
                .create_new(true)
                .custom_flags(libc::O_NOFOLLOW)
                .mode(mode | 0o600)
                .open(&target)
                .map_err(Error::io("write", &target))?;
            io::copy(&mut entry, &mut out).map_err(Error::io("write", &target))?;
            fs::set_permissions(&target, fs::Permissions::from_mode(mode | 0o600))
                .map_err(Error::io("write", &target))?;
        } else if kind.is_symlink() {
            let link = entry
                .link_name()
                .map_err(Error::io("read", slug))?
                .ok_or_else(|| bad("it is a symlink without a target"))?
                .into_owned();
            if !link.is_absolute() && !link_stays_inside(&rel, &link) {
                return Err(bad("it is a symlink pointing outside the app"));
            }
            std::os::unix::fs::symlink(&link, &target).map_err(Error::io("write", &target))?;
            links.push((raw, target, link));
        } else if kind.is_hard_link() {
            return Err(bad("it is a hard link"));
        } else {
            return Err(bad("it is not a file, directory or symlink"));
        }
    }
    // Each relative link's words stay inside, but links through links
    // (`a/s -> ../..`, `a/l -> s/../../../x`) are only resolved by the kernel: ask it.
    let Ok(app) = fs::canonicalize(stage.join("app")) else {
        return Ok(());
    };
    let root = fs::canonicalize(root).unwrap_or_else(|_| root.to_path_buf());
    let near_root = |path: &Path| path.starts_with(&root) || root.starts_with(path);
    for (raw, link, target) in links {
        // An absolute link is judged by what it names as much as by what is there
        // now: one to a file the root does not hold yet must not do once it does.
        if target.is_absolute() && near_root(&resolved(&target)) {
            return Err(Error::BadSlugEntry {
                path: crate::base::text::escape(&raw.to_string_lossy()).into_owned(),
                reason: "it is a symlink into the slipway root",
            });
        }
        let reason = match fs::canonicalize(&link) {
            // Nothing there (on this host): nothing to reach.
            Err(_) => continue,
            Ok(real) if real.starts_with(&app) => continue,
            Ok(real) if near_root(&real) => "it is a symlink into the slipway root",
            Ok(_) if target.is_absolute() => continue,
            Ok(_) => "it is a symlink pointing outside the app",
        };
        return Err(Error::BadSlugEntry {
            path: crate::base::text::escape(&raw.to_string_lossy()).into_owned(),
            reason,
        });
    }
    Ok(())
}

/// The entry's path as plain components under `app/`, or why it is refused.
fn checked_path(raw: &Path) -> Result<PathBuf, &'static str> {
    let mut out = PathBuf::new();
    for component in raw.components() {
        match component {
            Component::Normal(part) => out.push(part),
            Component::CurDir => {}
            Component::ParentDir => return Err("it contains '..'"),
            Component::RootDir | Component::Prefix(_) => return Err("it is an absolute path"),
        }
    }
    if out.components().next() != Some(Component::Normal("app".as_ref())) {
        return Err("it is not under app/");
    }
    Ok(out)
}

/// Creates `rel` under `base` as real directories, failing if any part is a symlink or a file.
fn ensure_real_dirs(base: &Path, rel: &Path) -> Result<()> {
    let mut dir = base.to_path_buf();
    for part in rel.components() {
        dir.push(part);
        match fs::symlink_metadata(&dir) {
            Ok(meta) if meta.is_dir() => {}
            Ok(_) => {
                return Err(Error::BadSlugEntry {
                    path: crate::base::text::escape(&rel.to_string_lossy()).into_owned(),
                    reason: "it would be written through a symlink or a file",
                });
            }
            Err(e) if e.kind() == io::ErrorKind::NotFound => {
                fs::create_dir(&dir).map_err(Error::io("create", &dir))?;
            }
            Err(e) => return Err(Error::io("read", &dir)(e)),
        }
    }
    Ok(())
}

/// The absolute path `target` as the kernel would resolve it as far as it exists, then by its words.
fn resolved(target: &Path) -> PathBuf {
    let mut existing = target;
    let mut rest = Vec::new();
    loop {
        if let Ok(real) = fs::canonicalize(existing) {
            let mut path = real;
            for part in rest.iter().rev() {
                match part {
                    Component::ParentDir => {
                        path.pop();
                    }
                    Component::Normal(name) => path.push(name),
                    _ => {}
                }
            }
            return path;
        }
        match (existing.parent(), existing.components().next_back()) {
            (Some(parent), Some(last)) => {
                rest.push(last);
                existing = parent;
            }
            _ => return target.to_path_buf(),
        }
    }
}

/// Whether a symlink at `rel` (relative to the run directory) to `target` resolves inside it, lexically.
fn link_stays_inside(rel: &Path, target: &Path) -> bool {
    if target.is_absolute() {
        return false;
    }
    let mut depth = rel.components().count().saturating_sub(1) as isize;
    for component in target.components() {
        match component {
            Component::Normal(_) => depth += 1,
            Component::CurDir => {}
            Component::ParentDir => {
                depth -= 1;
                // Never above app/: the run directory holds other things.
                if depth < 1 {
                    return false;
                }
            }
            Component::RootDir | Component::Prefix(_) => return false,
        }
    }
    true
}

/// The bytes of the top-level file `app/NAME` in the slug at `slug`, if it holds that regular file.
///
/// Read by streaming, not unpacking, and only as far as needed: slipway writes
/// slugs in git tree order (bytes, a directory compared as if it ended in `/`),
/// so once a top-level name sorts after NAME, NAME is not in the slug. A
/// 200 MB slug without a Procfile is answered after its first few entries.
/// A symbolic link (`Procfile -> Procfile.prod`) is followed inside `app/`,
/// as it would be once unpacked.
pub fn read_file(slug: &Path, name: &str) -> Result<Option<Vec<u8>>> {
    debug_assert!(!name.contains('/'), "only top-level files: {name}");
    let mut wanted = Path::new("app").join(name);
    // A few links deep is plenty for a Procfile; a loop ends here.
    for _ in 0..8 {
        match find_entry(slug, &wanted)? {
            Found::File(bytes) => return Ok(Some(bytes)),
            Found::Nothing => return Ok(None),
            Found::Link(target) => {
                let Some(next) = wanted.parent().and_then(|dir| resolve(dir, &target)) else {
                    return Ok(None);
                };
                wanted = next;
            }
        }
    }
    Ok(None)
}

/// What a slug holds at one path.
enum Found {
    File(Vec<u8>),
    Link(PathBuf),
    Nothing,
}

/// The entry at `wanted` (`app/...`); the search stops early for a top-level name.
fn find_entry(slug: &Path, wanted: &Path) -> Result<Found> {
    let file = File::open(slug).map_err(Error::io("read", slug))?;
    let mut archive = tar::Archive::new(GzDecoder::new(io::BufReader::new(file)));
    let top_level = wanted.components().count() == 2;
    let name = wanted.file_name().and_then(|n| n.to_str()).unwrap_or("");
    for entry in archive.entries().map_err(Error::io("read", slug))? {
        let entry = entry.map_err(Error::io("read", slug))?;
        let path = entry.path().map_err(Error::io("read", slug))?;
        let Ok(path) = checked_path(&path) else {
            continue;
        };
        let kind = entry.header().entry_type();
        if path != wanted {
            if top_level && sorts_after(&path, kind.is_dir(), name) {
                return Ok(Found::Nothing);
            }
            continue;
        }
        if kind.is_symlink() {
            return Ok(match entry.link_name().map_err(Error::io("read", slug))? {
                Some(target) => Found::Link(target.into_owned()),
                None => Found::Nothing,
            });
        }
        if !kind.is_file() {
            return Ok(Found::Nothing);
        }
        let mut bytes = Vec::new();
        entry
            .take(MAX_PROCFILE)
            .read_to_end(&mut bytes)
            .map_err(Error::io("read", slug))?;
        return Ok(Found::File(bytes));
    }
    Ok(Found::Nothing)
}

/// `target` of a link in `dir` (under `app/`), resolved by its words; `None` if it leaves `app/`.
fn resolve(dir: &Path, target: &Path) -> Option<PathBuf> {
    let mut parts: Vec<Component> = dir.components().collect();
    for part in target.components() {
        match part {
            Component::Normal(_) => parts.push(part),
            Component::CurDir => {}
            Component::ParentDir => {
                parts.pop();
            }
            Component::RootDir | Component::Prefix(_) => return None,
        }
        // Never above app/.
        parts.first()?;
    }
    let path: PathBuf = parts.iter().collect();
    (path.starts_with("app") && parts.len() >= 2).then_some(path)
}

/// Whether the entry `path` (under `app/`) comes after the top-level file `name` in git tree order.
fn sorts_after(path: &Path, is_dir: bool, name: &str) -> bool {
    use std::os::unix::ffi::OsStrExt;
    let mut parts = path.components().skip(1);
    let Some(top) = parts.next() else {
        return false;
    };
    let mut key = top.as_os_str().as_bytes().to_vec();
    if is_dir || parts.next().is_some() {
        key.push(b'/');
    }
    key.as_slice() > name.as_bytes()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn paths_must_be_plain_and_under_app() {
        assert_eq!(
            checked_path(Path::new("app/a/b.txt")),
            Ok(PathBuf::from("app/a/b.txt"))
        );
        assert_eq!(checked_path(Path::new("./app/")), Ok(PathBuf::from("app")));
        assert!(checked_path(Path::new("/etc/passwd")).is_err());
        assert!(checked_path(Path::new("app/../../x")).is_err());
        assert!(checked_path(Path::new("other/x")).is_err());
    }

    #[test]
    fn links_may_not_climb_out_of_app() {
        let at = |p: &str, t: &str| link_stays_inside(Path::new(p), Path::new(t));
        assert!(at("app/link", "target"));
        assert!(at("app/a/link", "../b"));
        assert!(!at("app/link", ".."));
        assert!(!at("app/link", "../x"));
        assert!(!at("app/a/link", "../../x"));
        assert!(!at("app/link", "/etc/passwd"));
    }

    fn slug_with(entries: &[(&str, tar::EntryType, &[u8], &str)]) -> tempfile::NamedTempFile {
        let tmp = tempfile::NamedTempFile::new().unwrap();
        let gz = flate2::write::GzEncoder::new(tmp.reopen().unwrap(), flate2::Compression::fast());
        let mut builder = tar::Builder::new(gz);
        for (path, kind, data, link) in entries {
            let mut header = tar::Header::new_gnu();
            header.set_entry_type(*kind);
            header.set_mode(0o644);
            header.set_size(data.len() as u64);
            // Bypass the builder's own path checks: write the name bytes as they are.
            let name = &mut header.as_old_mut().name;
            name[..path.len()].copy_from_slice(path.as_bytes());
            if !link.is_empty() {
                header.set_link_name(link).unwrap();
            }
            header.set_cksum();
            builder.append(&header, *data).unwrap();
        }
        builder.into_inner().unwrap().finish().unwrap();
        tmp
    }

    #[test]
    fn unpacks_files_dirs_and_inner_links() {
        let slug = slug_with(&[
            ("app/", tar::EntryType::Directory, b"", ""),
            ("app/Procfile", tar::EntryType::Regular, b"web: x\n", ""),
            ("app/lib/a.txt", tar::EntryType::Regular, b"a", ""),
            ("app/link", tar::EntryType::Symlink, b"", "lib/a.txt"),
        ]);
        let dir = tempfile::tempdir().unwrap();
        let dest = dir.path().join("v1");
        unpack(slug.path(), &dest, dir.path()).unwrap();
        assert_eq!(fs::read(dest.join("app/link")).unwrap(), b"a");
        assert_eq!(
            read_file(slug.path(), "Procfile").unwrap().unwrap(),
            b"web: x\n"
        );
        assert_eq!(read_file(slug.path(), "nope").unwrap(), None);
        assert_eq!(read_file(slug.path(), "A").unwrap(), None);
        // Reading stops at the first top-level name after the one wanted (git
        // tree order), so a Procfile written after `lib/` is not seen.
        let unordered = slug_with(&[
            ("app/lib/a.txt", tar::EntryType::Regular, b"a", ""),
            ("app/Procfile", tar::EntryType::Regular, b"web: x\n", ""),
        ]);
        assert_eq!(read_file(unordered.path(), "Procfile").unwrap(), None);
        // A linked Procfile is read through its link, inside app/ only.
        let linked = slug_with(&[
            (
                "app/Procfile",
                tar::EntryType::Symlink,
                b"",
                "config/Procfile.prod",
            ),
            (
                "app/config/Procfile.prod",
                tar::EntryType::Regular,
                b"web: y\n",
                "",
            ),
        ]);
        assert_eq!(
            read_file(linked.path(), "Procfile").unwrap().unwrap(),
            b"web: y\n"
        );
        let escaping = slug_with(&[(
            "app/Procfile",
            tar::EntryType::Symlink,
            b"",
            "../../etc/passwd",
        )]);
        assert_eq!(read_file(escaping.path(), "Procfile").unwrap(), None);
    }

    #[test]
    fn absolute_links_are_kept_unless_they_lead_into_the_root() {
        let dir = tempfile::tempdir().unwrap();
        let root = dir.path().join("root");
        fs::create_dir_all(root.join("apps")).unwrap();
        fs::write(root.join("keys.json"), "{}").unwrap();
        let slug = slug_with(&[
            ("app/certs", tar::EntryType::Symlink, b"", "/etc"),
            ("app/gone", tar::EntryType::Symlink, b"", "/nonexistent/x"),
        ]);
        let dest = root.join("apps/a/run/v1");
        unpack(slug.path(), &dest, &root).unwrap();
        assert_eq!(
            fs::read_link(dest.join("app/certs")).unwrap(),
            Path::new("/etc")
        );
        let keys = root.join("keys.json");
        let into_root = slug_with(&[(
            "app/keys",
            tar::EntryType::Symlink,
            b"",
            keys.to_str().unwrap(),
        )]);
        let err = unpack(into_root.path(), &root.join("apps/a/run/v2"), &root).unwrap_err();
        assert!(err.to_string().contains("into the slipway root"), "{err}");
        assert!(!root.join("apps/a/run/v2").exists());
    }

    #[test]
    fn refuses_hostile_entries_and_leaves_nothing() {
        for entries in [
            &[("app/../../evil", tar::EntryType::Regular, &b"x"[..], "")][..],
            &[("/tmp/evil", tar::EntryType::Regular, b"x", "")],
            &[("app/dev", tar::EntryType::Char, b"", "")],
            &[("app/hard", tar::EntryType::Link, b"", "app/x")],
            &[("app/out", tar::EntryType::Symlink, b"", "../../..")],
            &[
                ("app/in", tar::EntryType::Symlink, b"", "sub"),
                ("app/in/f", tar::EntryType::Regular, b"x", ""),
            ],
            // Each fine by its words; together `l` lands above app/.
            &[
                ("app/a/b/s", tar::EntryType::Symlink, b"", "../.."),
                ("app/a/b/l", tar::EntryType::Symlink, b"", "s/../../.."),
            ],
            // Absolute, but to a directory holding the root...
            &[("app/everything", tar::EntryType::Symlink, b"", "/")],
            // ...or through one, to a file in it.
            &[
                ("app/all", tar::EntryType::Symlink, b"", "/"),
                (
                    "app/keys",
                    tar::EntryType::Symlink,
                    b"",
                    "all/proc/self/root/etc",
                ),
            ],
        ] {
            let slug = slug_with(entries);
            let dir = tempfile::tempdir().unwrap();
            let dest = dir.path().join("v1");
            let err = unpack(slug.path(), &dest, dir.path()).unwrap_err();
            assert!(matches!(err, Error::BadSlugEntry { .. }), "{err}");
            assert_eq!(fs::read_dir(dir.path()).unwrap().count(), 0);
        }
    }
}
