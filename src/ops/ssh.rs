//! The forced command behind every slipway ssh key: which `SSH_ORIGINAL_COMMAND`s may run, and as what.
//!
//! sshd runs `slipway ssh-command --user U` for every login with a slipway
//! key. The client's command is split into words by a small, strict splitter
//! (no shell ever sees it) and allowed only as a git fetch or push of an app
//! the user may access, or as one of slipway's own app commands (admin keys
//! also get the admin commands). Everything else is refused before anything
//! runs.

use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::error::{Error, Result, SshCommandError};
use crate::base::text::{ECHO, escape_truncated};
use crate::model::name::{AppName, UserName};
use crate::store::Error as StoreError;
use crate::store::app::App;
use crate::store::keys::KeyStore;
use crate::store::root::Root;

/// Commands any user may run over ssh with `-a APP` for an app they may access.
///
/// A trailing `*` allows the whole group (`ps:*` is `ps:scale`, `ps:restart`, ...).
pub const APP_COMMANDS: &[&str] = &[
    "releases",
    "releases:info",
    "releases:output",
    "releases:promote",
    "rollback",
    "config",
    "config:get",
    "config:set",
    "config:unset",
    "addons",
    "addons:*",
    "ps",
    "ps:*",
    "logs",
    "apps:info",
    "apps:open",
    "restart",
    "maintenance",
    "maintenance:*",
    "run",
    "run:detached",
    "buildpacks",
    "buildpacks:*",
    "deploy",
];

/// App commands whose last argument takes every word after its first (`run -a APP COMMAND...`): no option follows it.
const TRAILING_COMMANDS: &[&str] = &["run", "run:detached"];

/// Commands only admin keys may run over ssh.
pub const ADMIN_COMMANDS: &[&str] = &[
    "apps",
    "apps:create",
    "apps:destroy",
    "apps:rename",
    "keys",
    "keys:add",
    "keys:remove",
    "access",
    "access:add",
    "access:remove",
];

/// The longest `SSH_ORIGINAL_COMMAND` considered.
const MAX_COMMAND: usize = 64 * 1024;

/// The git services an ssh remote may run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum GitService {
    /// `git push`.
    ReceivePack,
    /// `git fetch`, `git clone`.
    UploadPack,
}

/// Who is knocking: the key's user, and whether the key is an admin key.
#[derive(Clone, Debug)]
pub struct Principal {
    /// The slipway user the key belongs to.
    pub user: UserName,
    /// Whether the key (and `keys.json`) say admin.
    pub admin: bool,
}

/// What an allowed request runs: a program by path with exact arguments, no shell, with `SLIPWAY_USER` set.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Exec {
    /// The program: `git-receive-pack`, `git-upload-pack` or the slipway binary.
    pub program: PathBuf,
    /// Its arguments.
    pub args: Vec<OsString>,
    /// The value for `SLIPWAY_USER`.
    pub user: String,
    /// The working directory: `/`, so no checkout's git remote can be taken for an app.
    pub dir: PathBuf,
}

/// Decides what `original` (the client's command, if any) may run for `user`.
///
/// `admin` is what the key's authorized_keys line claims; it counts only if
/// `keys.json` agrees, so a stale line cannot keep admin rights.
pub fn authorize(
    root: &Root,
    exe: &Path,
    user: &UserName,
    admin: bool,
    original: Option<&str>,
) -> Result<Exec> {
    let store = KeyStore::load(root)?;
    if !store.has_user(user) {
        return Err(refused(format!(
            "'{user}' has no slipway key any more; ask an admin to add one"
        )));
    }
    let principal = Principal {
        user: user.clone(),
        admin: admin && store.is_admin(user),
    };
    let Some(original) = original.filter(|c| !c.trim().is_empty()) else {
        return Err(refused(
            "interactive login is not allowed; push with git, or run an app command such as `releases -a APP`"
                .into(),
        ));
    };
    let request = parse(original)?;
    match request {
        Request::Git { service, app } => {
            let app = open_accessible(root, &store, &principal, &app)?;
            let program = match service {
                GitService::ReceivePack => "git-receive-pack",
                GitService::UploadPack => "git-upload-pack",
            };
            Ok(Exec {
                program: PathBuf::from(program),
                args: vec![app.repo_dir().into_os_string()],
                user: user.to_string(),
                dir: PathBuf::from("/"),
            })
        }
        Request::Slipway { argv, app } => {
            let command = argv.first().map(String::as_str).unwrap_or_default();
            match app {
                Some(app) => {
                    open_accessible(root, &store, &principal, &app)?;
                }
                None if !principal.admin => {
                    return Err(refused(format!(
                        "'{}' needs an admin key",
                        escape_truncated(command, ECHO)
                    )));
                }
                None => {}
            }
            let mut args: Vec<OsString> = vec!["--root".into(), root.dir().into()];
            args.extend(argv.into_iter().map(OsString::from));
            Ok(Exec {
                program: exe.to_path_buf(),
                args,
                user: user.to_string(),
                dir: PathBuf::from("/"),
            })
        }
    }
}

/// A request that is well-formed, before any access check.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Request {
    /// `git-receive-pack 'APP.git'` or `git-upload-pack 'APP.git'`.
    Git {
        /// Which service.
        service: GitService,
        /// The app named by the path.
        app: String,
    },
    /// A slipway command: an app command (`app` is its `-a`) or an admin command (`app` is `None`).
    Slipway {
        /// The words, command first; an app command's app is always `--app APP` right after it.
        argv: Vec<String>,
        /// The app named by `-a` / `--app`.
        app: Option<String>,
    },
}

/// Parses the client's command into a request, refusing anything outside the allowlists.
pub fn parse(original: &str) -> Result<Request> {
    let shown = || escape_truncated(original, 80);
    if original.len() > MAX_COMMAND {
        return Err(refused(format!(
            "the command is longer than {MAX_COMMAND} bytes"
        )));
    }
    let command_refused = |reason| Error::SshCommandRefused {
        command: shown(),
        reason,
    };
    let words = split_words(original).map_err(command_refused)?;
    let Some((command, rest)) = words.split_first() else {
        return Err(refused("the command is empty".into()));
    };
    let service = match command.as_str() {
        "git-receive-pack" => Some(GitService::ReceivePack),
        "git-upload-pack" => Some(GitService::UploadPack),
        _ => None,
    };
    if let Some(service) = service {
        let [path] = rest else {
            return Err(refused(format!(
                "'{}': {command} takes one repository, such as 'myapp.git'",
                shown()
            )));
        };
        let app = app_of_path(path).ok_or_else(|| {
            refused(format!(
                "'{}' is not an app repository (expected APP.git)",
                escape_truncated(path, ECHO)
            ))
        })?;
        return Ok(Request::Git {
            service,
            app: app.to_string(),
        });
    }
    if rest
        .iter()
        .any(|w| w == "--root" || w.starts_with("--root="))
    {
        return Err(refused("--root cannot be given over ssh".into()));
    }
    // After `--` the command line parser takes `-a APP` as plain words, while the check
    // below would take it as the app: one reading only, so none at all. (`run` takes
    // `--` before its command, and the check reads it as clap does.)
    if !TRAILING_COMMANDS.contains(&command.as_str()) && rest.iter().any(|w| w == "--") {
        return Err(refused("'--' cannot be given over ssh".into()));
    }
    if is_listed(ADMIN_COMMANDS, command) {
        return Ok(Request::Slipway {
            argv: words,
            app: None,
        });
    }
    if is_listed(APP_COMMANDS, command) {
        let trailing = TRAILING_COMMANDS.contains(&command.as_str());
        let (app, others) = app_option(rest, trailing).map_err(command_refused)?;
        // The app that was checked is the one passed, explicitly and first.
        let mut argv = vec![command.clone(), "--app".to_owned(), app.clone()];
        argv.extend(others);
        return Ok(Request::Slipway {
            argv,
            app: Some(app),
        });
    }
    Err(refused(format!(
        "'{}' is not allowed over ssh (only git push/fetch and slipway app commands)",
        escape_truncated(command, ECHO)
    )))
}

fn refused(reason: String) -> Error {
    Error::SshRefused { reason }
}

fn is_listed(list: &[&str], command: &str) -> bool {
    list.iter().any(|&entry| match entry.strip_suffix('*') {
        Some(group) => command.starts_with(group) && command.len() > group.len(),
        None => entry == command,
    })
}

/// `myapp.git`, `/myapp.git`, `myapp` or `/myapp` -> `myapp`; anything else is `None`.
fn app_of_path(path: &str) -> Option<AppName> {
    let name = path.strip_prefix('/').unwrap_or(path);
    let name = name.strip_suffix(".git").unwrap_or(name);
    name.parse().ok()
}

/// The one `-a APP` / `--app APP` / `--app=APP` among `args`, and the other words.
///
/// Short-option clusters (`-xa APP`, `-aAPP`) are refused so the app slipway
/// will act on is always the one checked here. For a command in
/// [`TRAILING_COMMANDS`] (`run`), only `-a APP` may come before its command
/// words: from the first other word (or `--`) on, every word is the
/// command's, never an option (`run -a APP -- grep -a x`), as clap reads them.
fn app_option(
    args: &[String],
    trailing: bool,
) -> std::result::Result<(String, Vec<String>), SshCommandError> {
    let mut found = Vec::new();
    let mut others = Vec::new();
    let mut words = args.iter();
    while let Some(word) = words.next() {
        let is_app = word == "-a" || word == "--app" || word.starts_with("--app=");
        if trailing && !is_app {
            others.push(word.clone());
            others.extend(words.by_ref().cloned());
            break;
        }
        if word == "-a" || word == "--app" {
            match words.next() {
                Some(value) if !value.starts_with('-') => found.push(value.clone()),
                _ => {
                    return Err(SshCommandError::NoAppName {
                        option: word.clone(),
                    });
                }
            }
            continue;
        } else if let Some(value) = word.strip_prefix("--app=") {
            found.push(value.to_owned());
            continue;
        } else if word.starts_with("--app") {
            return Err(SshCommandError::UnknownOption {
                word: escape_truncated(word, ECHO),
            });
        } else if word.len() > 2
            && word.starts_with('-')
            && !word.starts_with("--")
            && word.as_bytes()[1].is_ascii_alphabetic()
        {
            return Err(SshCommandError::ShortCluster {
                word: escape_truncated(word, ECHO),
            });
        }
        others.push(word.clone());
    }
    match found.as_slice() {
        [app] => Ok((app.clone(), others)),
        [] => Err(SshCommandError::NoApp),
        _ => Err(SshCommandError::AppTwice),
    }
}

/// Opens `name` if `principal` may access it; otherwise one message whether it exists or not.
fn open_accessible(
    root: &Root,
    store: &KeyStore,
    principal: &Principal,
    name: &str,
) -> Result<App> {
    let denied = || {
        refused(format!(
            "'{}' has no app named '{}' (or may not access it)",
            principal.user,
            escape_truncated(name, ECHO)
        ))
    };
    let app_name: AppName = name.parse().map_err(|_| denied())?;
    if !principal.admin && !store.is_granted(&app_name, &principal.user) {
        return Err(denied());
    }
    App::open(root, &app_name).map_err(|e| match e {
        StoreError::UnknownApp { .. } => denied(),
        other => other.into(),
    })
}

/// Splits a command line into words the way sh would for plain words and quotes, refusing everything else.
///
/// Words are separated by spaces or tabs. `'...'` is literal; `"..."` is
/// literal except that `$`, `` ` ``, `\` and `!` are refused (a shell would
/// expand them). Outside quotes, shell metacharacters (`;|&$` and the like),
/// backslashes, globs and `~` are refused, as are control characters (a
/// newline included) anywhere.
pub fn split_words(text: &str) -> std::result::Result<Vec<String>, SshCommandError> {
    let mut words = Vec::new();
    let mut word: Option<String> = None;
    let mut chars = text.chars();
    while let Some(c) = chars.next() {
        match c {
            ' ' | '\t' => {
                if let Some(w) = word.take() {
                    words.push(w);
                }
            }
            '\'' | '"' => {
                let w = word.get_or_insert_with(String::new);
                loop {
                    match chars.next() {
                        None => return Err(SshCommandError::UnterminatedQuote { quote: c }),
                        Some(q) if q == c => break,
                        Some(q) if q.is_control() => return Err(SshCommandError::ControlCharacter),
                        Some(q @ ('$' | '`' | '\\' | '!')) if c == '"' => {
                            return Err(SshCommandError::InDoubleQuotes { c: q });
                        }
                        Some(q) => w.push(q),
                    }
                }
            }
            c if c.is_control() => return Err(SshCommandError::ControlCharacter),
            ';' | '|' | '&' | '$' | '`' | '\\' | '<' | '>' | '(' | ')' | '{' | '}' | '[' | ']'
            | '*' | '?' | '~' | '!' | '#' => {
                return Err(SshCommandError::Metacharacter { c });
            }
            c => word.get_or_insert_with(String::new).push(c),
        }
    }
    words.extend(word);
    Ok(words)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn words(text: &str) -> Vec<String> {
        split_words(text).unwrap()
    }

    #[test]
    fn splits_what_git_and_people_send() {
        assert_eq!(
            words("git-receive-pack 'myapp.git'"),
            ["git-receive-pack", "myapp.git"]
        );
        assert_eq!(
            words("git-upload-pack '/myapp.git'"),
            ["git-upload-pack", "/myapp.git"]
        );
        assert_eq!(words("  releases\t-a  myapp "), ["releases", "-a", "myapp"]);
        assert_eq!(
            words(r#"config:set "A=b c" 'D=x;y&z' E=''"#),
            ["config:set", "A=b c", "D=x;y&z", "E="]
        );
        assert_eq!(words("'my'app\"s\""), ["myapps"]);
        assert_eq!(words("''"), [""]);
        assert!(words("").is_empty());
    }

    #[test]
    fn refuses_metacharacters_and_unterminated_quotes() {
        for bad in [
            "ls; id",
            "a|b",
            "a&b",
            "a && b",
            "$(id)",
            "`id`",
            "a > f",
            "a < f",
            "a\nb",
            "a\rb",
            "echo ~",
            "a*",
            "a?",
            "{a,b}",
            "a\\ b",
            "'open",
            "\"open",
            "\"$HOME\"",
            "\"`id`\"",
            "\"a\\b\"",
            "# comment",
            "'a\nb'",
            "!1",
            "a\x00b",
        ] {
            assert!(split_words(bad).is_err(), "{bad:?}");
        }
    }

    #[test]
    fn git_paths_name_apps_only() {
        for (path, app) in [
            ("myapp.git", "myapp"),
            ("/myapp.git", "myapp"),
            ("myapp", "myapp"),
            ("/myapp", "myapp"),
        ] {
            assert_eq!(
                parse(&format!("git-receive-pack '{path}'")).unwrap(),
                Request::Git {
                    service: GitService::ReceivePack,
                    app: app.into()
                }
            );
        }
        for bad in [
            "git-receive-pack '../x.git'",
            "git-receive-pack '/srv/slipway/apps/myapp/repo.git'",
            "git-receive-pack '//myapp.git'",
            "git-receive-pack 'My.git'",
            "git-receive-pack ''",
            "git-receive-pack",
            "git-receive-pack 'a.git' 'b.git'",
            "git-upload-archive 'myapp.git'",
            "git receive-pack 'myapp.git'",
        ] {
            assert!(
                matches!(
                    parse(bad),
                    Err(Error::SshRefused { .. } | Error::SshCommandRefused { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn app_commands_need_exactly_one_plain_app_option() {
        let app = |text: &str| match parse(text) {
            Ok(Request::Slipway { app, .. }) => app,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(app("releases -a myapp"), Some("myapp".into()));
        assert_eq!(app("releases --app myapp -n 3"), Some("myapp".into()));
        assert_eq!(app("config:set --app=myapp A=1"), Some("myapp".into()));
        assert_eq!(app("ps:scale -a myapp web=2"), Some("myapp".into()));
        assert_eq!(app("keys:add bob"), None);
        assert_eq!(app("run -a myapp -- ls -la -a other"), Some("myapp".into()));
        assert_eq!(app("run -a myapp ls -la -a other"), Some("myapp".into()));
        assert_eq!(app("run --app=myapp grep -a x"), Some("myapp".into()));
        assert_eq!(
            app("run:detached -a myapp -- rake db:migrate"),
            Some("myapp".into())
        );
        let argv = |text: &str| match parse(text) {
            Ok(Request::Slipway { argv, .. }) => argv,
            other => panic!("{text}: {other:?}"),
        };
        assert_eq!(
            argv("config:set A=1 -a myapp B=2"),
            ["config:set", "--app", "myapp", "A=1", "B=2"]
        );
        assert_eq!(
            argv("releases -n 3 --app=myapp"),
            ["releases", "--app", "myapp", "-n", "3"]
        );
        assert_eq!(argv("keys:add bob"), ["keys:add", "bob"]);
        for bad in [
            "releases",
            "releases -a",
            "releases -a -n",
            "releases -a one -a two",
            "releases -amyapp",
            "releases -xa myapp",
            "releases --apps myapp",
            "releases -a myapp --root /tmp",
            "run -- -a myapp ls",
            "run ls -a myapp",
            "run -x -a myapp ls",
            "run -a myapp -a other ls",
            "releases --root=/tmp -a myapp",
            "config:set -- -a myapp A=1",
            "config:set -a myapp -- A=1",
            "keys:add -- bob",
            "keys --root /tmp",
            "ps: -a myapp",
            "hook post-receive --app myapp",
            "slugs:compile HEAD",
            "sh",
            "ls",
        ] {
            assert!(
                matches!(
                    parse(bad),
                    Err(Error::SshRefused { .. } | Error::SshCommandRefused { .. })
                ),
                "{bad}"
            );
        }
    }

    #[test]
    fn refusals_quote_the_command_and_say_why() {
        for (bad, message) in [
            (
                "releases -amyapp",
                "'releases -amyapp': write short options separately (not '-amyapp')",
            ),
            ("releases", "'releases': app commands over ssh need -a APP"),
            (
                "ls; rm",
                "'ls; rm': ';' is a shell metacharacter, and no shell runs here",
            ),
            ("ls 'a", "'ls 'a': unterminated ' quote"),
        ] {
            assert_eq!(parse(bad).unwrap_err().to_string(), message, "{bad}");
        }
    }

    #[test]
    fn allowlists_match_groups_by_prefix() {
        assert!(is_listed(APP_COMMANDS, "addons:create"));
        assert!(is_listed(APP_COMMANDS, "ps"));
        assert!(!is_listed(APP_COMMANDS, "ps:"));
        assert!(!is_listed(APP_COMMANDS, "psx"));
        assert!(!is_listed(APP_COMMANDS, "keys"));
    }
}
