//! The quickstart: a demo root, an app, and a scratch checkout that pushes to it with the real `git`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::Command;

use super::apps;
use super::error::{Error, Result};
use crate::model::name::AppName;
use crate::store::Error as StoreError;
use crate::store::app::App;
use crate::store::root::Root;

/// The sample app's name.
pub const APP: &str = "hello";

const SAMPLE: [(&str, &str); 4] = [
    (
        "index.html",
        include_str!("../../templates/sample-app/index.html"),
    ),
    (
        "Procfile",
        include_str!("../../templates/sample-app/Procfile"),
    ),
    (
        "README.md",
        include_str!("../../templates/sample-app/README.md"),
    ),
    (
        ".slugignore",
        include_str!("../../templates/sample-app/.slugignore"),
    ),
];

/// Where the quickstart keeps its root and checkout.
#[derive(Debug)]
pub struct Workspace {
    /// The demo root.
    pub root: Root,
    /// The demo app.
    pub app: App,
    /// A scratch working copy whose `slipway` remote is the app.
    pub checkout: PathBuf,
}

/// Creates (or reuses) the root, app and checkout under `dir`.
///
/// `exe` is the slipway binary the app's hook will run.
pub fn prepare(dir: &Path, exe: &Path) -> Result<Workspace> {
    let root = Root::init(&dir.join("root"))?;
    let name: AppName = APP.parse()?;
    let app = match App::open(&root, &name) {
        Ok(app) => app,
        Err(StoreError::UnknownApp { .. }) => apps::create(&root, &name, exe)?.app,
        Err(e) => return Err(e.into()),
    };
    let checkout = root.dir().parent().unwrap_or(root.dir()).join("checkout");
    if checkout.join(".git").is_dir() {
        refuse_edits(&checkout)?;
    } else {
        let repo = app.repo_dir();
        let has_history = git2::Repository::open_bare(&repo)
            .map(|r| r.find_reference("refs/heads/main").is_ok())
            .unwrap_or(false);
        if has_history {
            let (repo, checkout) = (repo.to_string_lossy(), checkout.to_string_lossy());
            git(dir, &["clone", "-q", "-o", "slipway", &repo, &checkout])?;
        } else {
            fs::create_dir_all(&checkout).map_err(Error::io("create", &checkout))?;
            git(&checkout, &["init", "-q", "-b", "main"])?;
            git(
                &checkout,
                &["remote", "add", "slipway", &repo.to_string_lossy()],
            )?;
        }
    }
    Ok(Workspace {
        root,
        app,
        checkout,
    })
}

/// Refuses to go on when the checkout holds changes the quickstart's commits would overwrite.
fn refuse_edits(checkout: &Path) -> Result<()> {
    let repo = git2::Repository::open(checkout)
        .map_err(Error::git(format!("open {}", checkout.display())))?;
    let mut options = git2::StatusOptions::new();
    options.include_untracked(true).include_ignored(false);
    let statuses = repo
        .statuses(Some(&mut options))
        .map_err(Error::git(format!(
            "read the status of {}",
            checkout.display()
        )))?;
    let changed: Vec<String> = statuses
        .iter()
        .filter_map(|s| s.path().ok().map(str::to_owned))
        .collect();
    if changed.is_empty() {
        return Ok(());
    }
    Err(Error::CheckoutEdited {
        checkout: checkout.to_path_buf(),
        files: crate::base::text::escape(&changed.join(", ")).into_owned(),
    })
}

/// The sample page's heading for release `version`: a first hello, or a hello again.
pub fn greeting(version: crate::model::release::Version, again: bool) -> String {
    let again = if again { " again" } else { "" };
    format!("Hello{again} from slipway (v{version})")
}

/// Writes the sample app with `greeting` in its page and commits it with `message`.
pub fn commit_sample(checkout: &Path, greeting: &str, message: &str) -> Result<()> {
    for (name, text) in SAMPLE {
        let path = checkout.join(name);
        fs::write(&path, text.replace("{{GREETING}}", greeting))
            .map_err(Error::io("write", &path))?;
    }
    git(checkout, &["add", "-A"])?;
    git(
        checkout,
        &[
            "-c",
            "user.name=slipway quickstart",
            "-c",
            "user.email=quickstart@slipway.invalid",
            "commit",
            "-q",
            "-m",
            message,
        ],
    )
}

/// `git push slipway main`, with git's output (and the hook's `remote:` lines) going to the terminal.
pub fn push(checkout: &Path) -> Result<()> {
    git(checkout, &["push", "-q", "slipway", "main"])
}

/// The page at `url` (`http://127.0.0.1:PORT/...` only), fetched over HTTP/1.0 with a 5-second limit.
pub fn fetch(url: &str) -> Option<String> {
    use std::io::{Read, Write};
    let rest = url.strip_prefix("http://")?;
    let (host, path) = rest.split_once('/').unwrap_or((rest, ""));
    let addr: std::net::SocketAddr = host.parse().ok()?;
    let timeout = std::time::Duration::from_secs(5);
    let mut stream = std::net::TcpStream::connect_timeout(&addr, timeout).ok()?;
    stream.set_read_timeout(Some(timeout)).ok()?;
    stream
        .write_all(format!("GET /{path} HTTP/1.0\r\nHost: {host}\r\n\r\n").as_bytes())
        .ok()?;
    let mut text = String::new();
    stream.take(1024 * 1024).read_to_string(&mut text).ok()?;
    let (head, body) = text.split_once("\r\n\r\n")?;
    head.starts_with("HTTP/1.0 200").then(|| body.to_owned())
}

/// The text of the page's first `<h1>`.
pub fn heading(page: &str) -> Option<&str> {
    let start = page.find("<h1>")? + 4;
    let end = start + page[start..].find("</h1>")?;
    Some(page[start..end].trim())
}

fn git(dir: &Path, args: &[&str]) -> Result<()> {
    let status = Command::new("git")
        .args(args)
        .current_dir(dir)
        .status()
        .map_err(Error::io("run git in", dir))?;
    if status.success() {
        Ok(())
    } else {
        Err(Error::CommandFailed {
            command: format!("git {}", args.join(" ")),
            status: status.to_string(),
        })
    }
}
