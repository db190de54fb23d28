//! What the app commands print: `init`, `apps`, `apps:create`, `apps:destroy`.

use std::path::Path;

use super::escape;
use crate::model::name::AppName;
use crate::ops::apps::Destroyed;

/// `init`'s line.
pub fn initialized(root: &Path) -> String {
    format!("Initialized slipway root in {}\n", root.display())
}

/// One app name per line.
pub fn names(names: &[AppName]) -> String {
    names.iter().map(|n| format!("{n}\n")).collect()
}

/// `apps:create`'s lines: the repository and the push that deploys.
pub fn created(name: &AppName, git_url: &Path) -> String {
    let url = git_url.display();
    format!(
        "Creating {name}... done\n\
         Git repository: {url}\n\
         Add it as a remote and push to deploy:\n  \
           git remote add slipway {url}\n  \
           git push slipway main          (if your branch is master: git push slipway master:main)\n"
    )
}

/// `apps:rename`'s lines: the new name, and the remote URL to update.
pub fn renamed(old: &AppName, app: &crate::store::app::App) -> String {
    let repo = app.repo_dir();
    let mut text = format!("Renaming {old} to {}... done\n", app.name);
    if app.adopted_repo().is_none() {
        text.push_str(&format!(
            "Git repository: {}\nUpdate your remote: git remote set-url slipway {}\n",
            repo.display(),
            repo.display()
        ));
    }
    text
}

/// `apps:destroy`'s lines.
pub fn destroyed(name: &AppName, destroyed: &Destroyed) -> String {
    let mut text = format!("Destroying {name}... done\n");
    if let Some((repo, _)) = &destroyed.kept_repo {
        text.push_str(&format!(
            "Kept {}: slipway's hooks were taken out and what was there put back\n",
            escape(&repo.to_string_lossy())
        ));
    }
    text
}

/// `apps:create --json`: the app and the repository to push to.
pub fn created_json(name: &AppName, git_url: &Path) -> String {
    #[derive(serde::Serialize)]
    struct Created<'a> {
        app: &'a str,
        repo: &'a Path,
    }
    super::json(&Created {
        app: name.as_str(),
        repo: git_url,
    })
}

/// `apps:destroy --json`: the app, and the adopted repository that was kept, if any.
pub fn destroyed_json(name: &AppName, destroyed: &Destroyed) -> String {
    #[derive(serde::Serialize)]
    struct Gone<'a> {
        app: &'a str,
        destroyed: bool,
        kept_repo: Option<&'a Path>,
    }
    super::json(&Gone {
        app: name.as_str(),
        destroyed: true,
        kept_repo: destroyed.kept_repo.as_ref().map(|(repo, _)| repo.as_path()),
    })
}
