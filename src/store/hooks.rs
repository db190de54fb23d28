//! Hook files in a repository: writing the shims that run slipway on every push.

use std::fs;
use std::path::Path;

use super::error::{Error, Result};
use crate::model::hook_script::Invocation;
use crate::model::name::AppName;
use crate::model::refs::HookKind;

/// Writes the shims of `hooks` (pre-receive, post-receive) into `repo_dir/hooks`, executable.
pub fn install_shims(
    repo_dir: &Path,
    exe: &Path,
    root: &Path,
    app: &AppName,
    hooks: &[HookKind],
) -> Result<()> {
    let dir = repo_dir.join("hooks");
    fs::create_dir_all(&dir).map_err(Error::io("create", &dir))?;
    for &hook in hooks {
        let path = dir.join(hook.as_str());
        let shim = Invocation {
            exe: exe.to_path_buf(),
            root: root.to_path_buf(),
            hook,
            app: app.to_string(),
        }
        .shim();
        write_executable(&path, shim.as_bytes()).map_err(Error::io("write", &path))?;
    }
    Ok(())
}

/// Replaces `path` atomically with an executable (0755) file, whatever the umask.
pub fn write_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // git skips a hook that is not executable: the mode is set before it gets its name.
    crate::base::files::write_atomic(path, bytes, 0o755)
}
