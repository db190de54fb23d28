//! Hook files in a repository: writing the shim that runs slipway on every push.

use std::fs;
use std::path::Path;

use super::error::{Error, Result};
use crate::model::hook_script::Invocation;
use crate::model::name::AppName;
use crate::model::refs::HookKind;

/// Writes the post-receive shim into `repo_dir/hooks`, executable.
pub fn install_shim(repo_dir: &Path, exe: &Path, root: &Path, app: &AppName) -> Result<()> {
    let hooks = repo_dir.join("hooks");
    fs::create_dir_all(&hooks).map_err(Error::io("create", &hooks))?;
    let path = hooks.join("post-receive");
    let shim = Invocation {
        exe: exe.to_path_buf(),
        root: root.to_path_buf(),
        hook: HookKind::PostReceive,
        app: app.to_string(),
    }
    .shim();
    write_executable(&path, shim.as_bytes()).map_err(Error::io("write", &path))
}

/// Replaces `path` atomically with an executable (0755) file, whatever the umask.
pub fn write_executable(path: &Path, bytes: &[u8]) -> std::io::Result<()> {
    // git skips a hook that is not executable: the mode is set before it gets its name.
    crate::base::files::write_atomic(path, bytes, 0o755)
}
