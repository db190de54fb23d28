//! The environment a release's processes run with, and the env file the `exec` launcher writes.
//!
//! Processes get the release's config vars and a few set by slipway; nothing
//! is inherited from whoever started them (a git hook, `boot`, a shell).

use std::collections::BTreeMap;
use std::path::Path;

use crate::model::release::Release;

/// `PATH` unless the app's config sets one.
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// What every process of `release` gets: config vars, `SLIPWAY_RELEASE`, `SLIPWAY_BIN`, `PATH`, `HOME`.
///
/// `PORT` and `DYNO` are per process and added by the caller. Config vars win
/// over the defaults (an app may set its own `PATH`), except `SLIPWAY_RELEASE`.
pub fn base(release: &Release, app_dir: &Path, exe: &Path) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    env.insert("PATH".to_owned(), DEFAULT_PATH.to_owned());
    env.insert("HOME".to_owned(), app_dir.to_string_lossy().into_owned());
    env.insert("SLIPWAY_BIN".to_owned(), exe.to_string_lossy().into_owned());
    env.extend(release.config.iter().map(|(k, v)| (k.clone(), v.clone())));
    env.insert("SLIPWAY_RELEASE".to_owned(), release.name());
    env
}

/// `command` as `sh -c` runs it after sourcing the buildpacks' `.profile.d/*.sh` (run from the app directory, as Heroku does before every process).
pub fn with_profile(command: &str) -> String {
    format!(
        "if [ -d .profile.d ]; then for slipway_profile in .profile.d/*.sh; do \
         if [ -r \"$slipway_profile\" ]; then . \"$slipway_profile\"; fi; done; \
         unset slipway_profile; fi; {command}"
    )
}

/// The command that runs an app's `command` (a Procfile entry, a one-off's): `sh -c`, after the release's `.profile.d`, in `dir`, with exactly `env`.
///
/// The one place app code gets its `Command`; the caller sets its stdio and process group.
pub fn app_command(
    command: &str,
    dir: &Path,
    env: &BTreeMap<String, String>,
) -> std::process::Command {
    let mut cmd = std::process::Command::new("/bin/sh");
    cmd.arg("-c")
        .arg(with_profile(command))
        .current_dir(dir)
        .env_clear()
        .envs(env);
    cmd
}

/// Config vars as an env file: `KEY="VALUE"` lines, readable by `sh` (`set -a; . FILE`) and systemd's `EnvironmentFile=`.
///
/// Inside the double quotes, `\\`, `\"`, `\$` and `` \` `` stand for those
/// characters and every other byte is itself, so a newline in a value is a
/// literal newline inside the quotes and a value can never end early.
pub fn env_file(vars: &BTreeMap<String, String>) -> String {
    let mut out = String::new();
    for (key, value) in vars {
        out.push_str(key);
        out.push_str("=\"");
        for c in value.chars() {
            if matches!(c, '\\' | '"' | '$' | '`') {
                out.push('\\');
            }
            out.push(c);
        }
        out.push_str("\"\n");
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn env_file_round_trips_through_sh() {
        let mut vars = BTreeMap::new();
        vars.insert("PLAIN".to_owned(), "hello world".to_owned());
        vars.insert("TRICKY".to_owned(), "a\"b\\c$HOME`id`\nline2\n".to_owned());
        let text = env_file(&vars);
        assert_eq!(
            text,
            "PLAIN=\"hello world\"\nTRICKY=\"a\\\"b\\\\c\\$HOME\\`id\\`\nline2\n\"\n"
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("env");
        std::fs::write(&file, &text).unwrap();
        let out = std::process::Command::new("sh")
            .arg("-c")
            .arg("set -a; . \"$1\"; printf '%s|' \"$PLAIN\" \"$TRICKY\"")
            .arg("sh")
            .arg(&file)
            .env_clear()
            .output()
            .unwrap();
        assert_eq!(
            String::from_utf8(out.stdout).unwrap(),
            "hello world|a\"b\\c$HOME`id`\nline2\n|"
        );
    }
}
