//! slipway as a client, as the Heroku CLI is: in a checkout whose `slipway` remote is an ssh URL, app commands run on the server over ssh.
//!
//! With no `--root` and no `SLIPWAY_ROOT`, the checkout's remote (`slipway`,
//! or `-r/--remote NAME`) decides where a command runs:
//!
//! - an ssh URL (`ssh://git@host:2222/shop.git`, `git@host:shop.git`): the
//!   command is sent over ssh, to the forced command of the user's key, with
//!   `-a APP` from the URL; output and exit status pass through (the process
//!   becomes `ssh`). The ssh client is `$GIT_SSH_COMMAND`, as for `git push`,
//!   else `ssh`;
//! - a local path (`/srv/slipway/apps/shop/repo.git`): the root and app come
//!   from the path.

use std::ffi::OsString;
use std::path::PathBuf;

use clap::CommandFactory;

use super::Cli;
use crate::model::name::{AppName, name_from_remote_url};

/// Commands that only make sense on the machine they run on: never sent over ssh.
const LOCAL_ONLY: &[&str] = &[
    "init",
    "quickstart",
    "hook",
    "ssh-command",
    "supervise",
    "serve-static",
    "completions",
    "manpage",
    "slugs:compile",
    "boot",
    "hooks:install",
    "hooks:uninstall",
    "hooks:status",
];

/// Where a checkout's remote points.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Remote {
    /// A server reached over ssh: `[user@]host`, an optional port, and the app the path names.
    Ssh {
        destination: String,
        port: Option<String>,
        app: Option<AppName>,
    },
    /// A repository on this machine, inside a root.
    Local { root: PathBuf },
}

/// What a remote URL points at; `None` for URLs of other kinds (https, a repository outside a root).
pub fn classify(url: &str) -> Option<Remote> {
    if let Some(rest) = url.strip_prefix("ssh://") {
        let (authority, _path) = rest.split_once('/')?;
        let (destination, port) = match authority.rsplit_once(':') {
            Some((host, port)) if port.bytes().all(|b| b.is_ascii_digit()) && !port.is_empty() => {
                (host.to_owned(), Some(port.to_owned()))
            }
            _ => (authority.to_owned(), None),
        };
        return Some(Remote::Ssh {
            destination,
            port,
            app: ssh_app(url),
        });
    }
    let path = url.strip_prefix("file://").unwrap_or(url);
    if path.starts_with('/') {
        let path = path.trim_end_matches('/');
        let app_dir = path.strip_suffix("/repo.git")?;
        let apps = std::path::Path::new(app_dir).parent()?;
        if apps.file_name()? != "apps" {
            return None;
        }
        return Some(Remote::Local {
            root: apps.parent()?.to_path_buf(),
        });
    }
    // scp-like `[user@]host:path`: a colon before any slash.
    let (host, _path) = url.split_once(':')?;
    if host.is_empty() || host.contains('/') || url.contains("://") {
        return None;
    }
    Some(Remote::Ssh {
        destination: host.to_owned(),
        port: None,
        app: ssh_app(url),
    })
}

/// The app an ssh remote's path names: `shop.git` or plain `shop`, as the forced command takes both.
fn ssh_app(url: &str) -> Option<AppName> {
    name_from_remote_url(url).or_else(|| {
        let last = url.trim_end_matches('/').rsplit(['/', ':']).next()?;
        last.parse().ok()
    })
}

/// The URL of remote `name` of the git checkout around the current directory.
///
/// A relative path is made absolute against the checkout's top, where git
/// resolves it when it pushes.
pub fn url_of(name: &str) -> Option<String> {
    let repo = git2::Repository::discover(".").ok()?;
    let remote = repo.find_remote(name).ok()?;
    let url = remote.url().ok()?;
    // (`~/x` and `~user/x` are git's to expand, not relative.)
    let relative_path = !url.starts_with(['/', '~'])
        && !url.contains("://")
        && !url
            .split('/')
            .next()
            .is_some_and(|first| first.contains(':'));
    match (relative_path, repo.workdir()) {
        (true, Some(top)) => Some(top.join(url).to_string_lossy().into_owned()),
        _ => Some(url.to_owned()),
    }
}

/// The remotes of the git checkout around the current directory; `None` outside one.
pub fn names() -> Option<Vec<String>> {
    let repo = git2::Repository::discover(".").ok()?;
    let names = repo.remotes().ok()?;
    Some(
        names
            .iter()
            .flatten()
            .flatten()
            .map(str::to_owned)
            .collect(),
    )
}

/// The `ssh` command line that runs `args` (slipway's own words, after the program name) on `remote`'s server.
///
/// The subcommand is sent by its canonical name (an alias such as `info`
/// becomes `apps:info`), and `-a APP` from the URL is added to commands that
/// take an app and were not given one.
pub fn ssh_command(
    remote: &Remote,
    args: &[OsString],
    ssh_program: Option<&str>,
) -> Option<(String, Vec<String>)> {
    let Remote::Ssh {
        destination,
        port,
        app,
    } = remote
    else {
        return None;
    };
    let words: Vec<String> = args
        .iter()
        .map(|w| w.to_string_lossy().into_owned())
        .collect();
    let (position, typed) = words
        .iter()
        .enumerate()
        .find(|(_, w)| !w.starts_with('-'))?;
    let cli = Cli::command();
    let sub = cli.find_subcommand(typed)?;
    let name = sub.get_name().to_owned();
    if LOCAL_ONLY.contains(&name.as_str()) {
        return None;
    }
    let mut remote_words = vec![name];
    remote_words.extend(words[position + 1..].iter().cloned());
    // Words after `--` are a command's (`run -- grep -a x`), never options; so
    // is everything after the first word of `run`'s command.
    let trailing = sub.get_arguments().any(|a| a.is_trailing_var_arg_set());
    let is_app = |w: &String| {
        w == "-a" || w == "--app" || w.starts_with("--app=") || (w.starts_with("-a") && w.len() > 2)
    };
    let mut options = remote_words[1..].iter().take_while(|w| *w != "--");
    let has_app = match trailing {
        // Only an app option can come before `run`'s command.
        true => options.next().is_some_and(is_app),
        false => options.any(is_app),
    };
    let takes_app = sub.get_arguments().any(|a| a.get_id() == "app");
    if takes_app
        && !has_app
        && let Some(app) = app
    {
        // Right after the subcommand: `run`'s command takes every word after its first.
        remote_words.splice(1..1, ["-a".to_owned(), app.to_string()]);
    }
    let quoted: Vec<String> = remote_words
        .iter()
        .map(|w| quote(w))
        .collect::<Option<_>>()?;
    let program = ssh_program.unwrap_or("ssh").to_owned();
    let mut ssh_args = Vec::new();
    if let Some(port) = port {
        ssh_args.extend(["-p".to_owned(), port.clone()]);
    }
    ssh_args.push(destination.clone());
    ssh_args.push(quoted.join(" "));
    Some((program, ssh_args))
}

/// `word` quoted so that the server's strict word splitter reads it back as it is.
///
/// Single quotes, unless the word holds one; then double quotes, unless it
/// also holds what the splitter refuses inside them (`$`, `` ` ``, `\`, `!`, `"`).
fn quote(word: &str) -> Option<String> {
    if !word.contains('\'') {
        return Some(format!("'{word}'"));
    }
    if word.contains(['$', '`', '\\', '!', '"']) {
        return None;
    }
    Some(format!("\"{word}\""))
}

/// Sends the command over ssh when the checkout's remote is an ssh URL and no root was given.
///
/// Returns `None` when the command runs here; otherwise the process has
/// become `ssh` (or the error of starting it is returned).
pub fn forward(root_given: bool, remote: Option<&str>, args: &[OsString]) -> Option<anyhow::Error> {
    if root_given {
        return None;
    }
    let url = url_of(remote.unwrap_or("slipway"))?;
    let destination = classify(&url)?;
    let words = without_remote_option(args);
    let ssh_program = std::env::var("GIT_SSH_COMMAND")
        .ok()
        .filter(|c| !c.trim().is_empty());
    let (program, ssh_args) = ssh_command(&destination, &words, None)?;
    let mut command = match &ssh_program {
        // As git runs it: a shell command line, then the arguments.
        Some(line) => {
            let mut command = std::process::Command::new("/bin/sh");
            command
                .arg("-c")
                .arg(format!("{line} \"$@\""))
                .arg("slipway-ssh")
                .args(&ssh_args);
            command
        }
        None => {
            let mut command = std::process::Command::new(program);
            command.args(&ssh_args);
            command
        }
    };
    use std::os::unix::process::CommandExt;
    let error = command.exec();
    Some(anyhow::Error::new(error).context("cannot run ssh to reach the slipway server"))
}

/// `args` without `-r NAME` / `--remote NAME` / `--remote=NAME`, which only choose the remote here.
fn without_remote_option(args: &[OsString]) -> Vec<OsString> {
    let mut out = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        if word == "-r" || word == "--remote" {
            words.next();
        } else if !word.to_string_lossy().starts_with("--remote=") {
            out.push(word.clone());
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn remote_urls_say_where_commands_run() {
        assert_eq!(
            classify("ssh://git@example.com:2222/shop.git"),
            Some(Remote::Ssh {
                destination: "git@example.com".into(),
                port: Some("2222".into()),
                app: "shop".parse().ok(),
            })
        );
        assert_eq!(
            classify("git@example.com:shop.git"),
            Some(Remote::Ssh {
                destination: "git@example.com".into(),
                port: None,
                app: "shop".parse().ok(),
            })
        );
        assert_eq!(
            classify("/srv/slipway/apps/shop/repo.git"),
            Some(Remote::Local {
                root: "/srv/slipway".into()
            })
        );
        assert_eq!(classify("https://github.com/a/b.git"), None);
        assert_eq!(classify("/srv/git/shop.git"), None);
        // The forced command takes the app with or without `.git`: so does the client.
        for url in ["git@example.com:shop", "ssh://git@example.com/shop/"] {
            assert!(
                matches!(classify(url), Some(Remote::Ssh { app: Some(app), .. }) if app.as_str() == "shop"),
                "{url}"
            );
        }
    }

    #[test]
    fn commands_go_over_ssh_by_their_canonical_name_with_the_app_of_the_url() {
        let remote = classify("ssh://git@host:2222/shop.git").unwrap();
        let args: Vec<OsString> = ["info"].iter().map(OsString::from).collect();
        let (program, ssh) = ssh_command(&remote, &args, None).unwrap();
        assert_eq!(program, "ssh");
        assert_eq!(ssh, ["-p", "2222", "git@host", "'apps:info' '-a' 'shop'"]);
        let args: Vec<OsString> = ["config:set", "A=it's"]
            .iter()
            .map(OsString::from)
            .collect();
        let (_, ssh) = ssh_command(&remote, &args, None).unwrap();
        assert_eq!(ssh[3], r#"'config:set' '-a' 'shop' "A=it's""#);
        // `run`'s command takes every word after its first, and `-a` after `--` is the command's.
        let args: Vec<OsString> = ["run", "grep", "-a", "x"]
            .iter()
            .map(OsString::from)
            .collect();
        let (_, ssh) = ssh_command(&remote, &args, None).unwrap();
        assert_eq!(ssh[3], "'run' '-a' 'shop' 'grep' '-a' 'x'");
        let args: Vec<OsString> = ["run", "--", "grep", "-a", "x"]
            .iter()
            .map(OsString::from)
            .collect();
        let (_, ssh) = ssh_command(&remote, &args, None).unwrap();
        assert_eq!(ssh[3], "'run' '-a' 'shop' '--' 'grep' '-a' 'x'");
        let args: Vec<OsString> = ["config:set", "A=it's $HOME"]
            .iter()
            .map(OsString::from)
            .collect();
        assert!(
            ssh_command(&remote, &args, None).is_none(),
            "cannot be sent as it is"
        );
        let args: Vec<OsString> = ["apps"].iter().map(OsString::from).collect();
        let (_, ssh) = ssh_command(&remote, &args, None).unwrap();
        assert_eq!(ssh[3], "'apps'", "no -a for a command without an app");
        let args: Vec<OsString> = ["quickstart"].iter().map(OsString::from).collect();
        assert!(ssh_command(&remote, &args, None).is_none());
    }
}
