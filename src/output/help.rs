//! The `help:` line under an error: the obvious next step, composed here at the edge for the errors of every layer.

use crate::base::procfs;
use crate::base::sandbox::SandboxError;
use crate::build::{self, SourceError, StepError};
use crate::ops::{self, watch::WatchError};
use crate::{model, run, store};

/// The obvious next step after `error`, if there is one.
pub fn help(error: &ops::Error) -> Option<String> {
    use ops::Error as E;
    match error {
        E::Model(e) => model_help(e),
        E::Store(e) => store_help(e),
        E::Build(e) => build_help(e),
        E::Run(e) => run_help(e),
        E::Watch(e) => watch_help(e),
        E::NotConfirmed { name, .. } => Some(format!(
            "this deletes the app's repository and releases; run `slipway apps:destroy {name} --confirm {name}`"
        )),
        E::NoAddon { app, .. } => Some(format!("`slipway addons -a {app}` lists its add-ons")),
        E::NoRemote { known, .. } if known.is_empty() => {
            Some("it has no remotes: `git remote add slipway URL` adds one".to_owned())
        }
        E::NoRemote { known, .. } => Some(format!(
            "its remotes: {}",
            known.iter().map(|n| super::escape(n).into_owned()).collect::<Vec<_>>().join(", ")
        )),
        E::PromoteAddons { version, base, .. } => Some(format!(
            "promoting v{version} would change the add-ons behind the add-on hook's back; v{base} has the ones provisioned now: promote it or a release made after it"
        )),
        E::RollbackAddons { version, .. } => Some(format!(
            "rolling back does not change add-ons; make them match v{version} with addons:add/addons:remove first, or roll back to a newer release"
        )),
        E::NothingPushed { app, branch } => Some(format!(
            "push first: `git push slipway {branch}`, with the remote `slipway` pointing at {app}'s repository"
        )),
        E::CheckoutEdited { checkout, .. } => Some(format!(
            "deploy them yourself: `cd {} && git commit -am 'My change' && git push slipway main`; or move that directory away to start the quickstart afresh",
            super::shell_quote_if_needed(&checkout.to_string_lossy())
        )),
        E::PushInFlight { .. } => Some("push again in a moment".into()),
        E::OneOffRestart { app, name } => Some(format!(
            "`slipway ps:stop {name} -a {app}` stops it; `slipway run -a {app} -- COMMAND` starts another"
        )),
        E::BranchMoved { .. } => Some("pull (or fetch and rebase), then push again".into()),
        E::NoApp => Some(
            "pass -a APP, set SLIPWAY_APP, or run this in a checkout whose git remote `slipway` points at the app"
                .into(),
        ),
        E::NotABareRepo { .. } => Some(
            "pass the repository that pushes go to (a bare repository, such as /srv/git/NAME.git)"
                .into(),
        ),
        E::RepoNameNotAppName { .. } => Some("choose the app's name with --app NAME".into()),
        E::RepoOfOtherApp { app, .. } => Some(format!(
            "a repository deploys one app; `slipway apps:destroy {app}` releases it, `slipway hooks:status` lists them all"
        )),
        E::AppHasOtherRepo { .. } => {
            Some("an app deploys from one repository; choose another name with --app NAME".into())
        }
        E::HookExists {
            path,
            chainable: true,
        } => Some(format!(
            "nothing was changed; --chain keeps it (moved to {}) and runs it before slipway",
            ops::hooks::chained_original(path).display()
        )),
        E::HookExists { .. } => Some(
            "nothing was changed; rename that file, slipway installs itself under this name".into(),
        ),
        E::HookInstalled { .. } => Some(
            "`slipway hooks:install --force` rewrites slipway's hook to run this binary".into(),
        ),
        E::HookOfOtherApp { .. } => Some(
            "several repositories share this hooks directory; install into one of this repository's own with --hooks-dir DIR"
                .into(),
        ),
        E::HookElsewhere { repo, .. } => Some(format!(
            "run `slipway hooks:uninstall --git-dir {}` first",
            super::shell_quote_if_needed(&repo.to_string_lossy())
        )),
        E::AsideTaken { .. } => {
            Some("move that file away (nothing was changed), then install again".into())
        }
        E::RelativeSymlinkHook { .. } => Some(
            "make the symlink absolute, or install into a hooks directory with --hooks-dir DIR".into(),
        ),
        E::SharedHooksPath { .. } => Some(
            "set core.hooksPath in the repository's own config, or install into a hooks directory with --hooks-dir DIR"
                .into(),
        ),
        E::NoHooks { .. } => {
            Some("`slipway hooks:status` lists the repositories with slipway's hook".into())
        }
        E::Io { source, .. } => io_help(source),
        _ => None,
    }
}

/// The help for any error, when it is one of slipway's.
pub fn help_any(error: &(dyn std::error::Error + 'static)) -> Option<String> {
    if let Some(e) = error.downcast_ref::<ops::Error>() {
        return help(e);
    }
    if let Some(e) = error.downcast_ref::<store::Error>() {
        return store_help(e);
    }
    if let Some(e) = error.downcast_ref::<build::Error>() {
        return build_help(e);
    }
    if let Some(e) = error.downcast_ref::<run::Error>() {
        return run_help(e);
    }
    if let Some(e) = error.downcast_ref::<model::Error>() {
        return model_help(e);
    }
    None
}

fn model_help(error: &model::Error) -> Option<String> {
    use model::Error as E;
    match error {
        E::BadAppName { .. } => Some(
            "app names start with a lowercase letter, then lowercase letters, digits or dashes, at most 30 characters"
                .into(),
        ),
        E::BadConfigKey { .. } => Some(
            "config var names are letters, digits and underscores, not starting with a digit".into(),
        ),
        E::BadConfigAssignment { .. } => {
            Some("set vars as `slipway config:set KEY=VALUE ...`".into())
        }
        E::BadAddon { .. } => {
            Some("name an add-on as NAME or NAME:PLAN, such as memcachier:100".into())
        }
        E::BadScale { .. } => Some("scale as `slipway ps:scale web=2 worker=1 -a APP`".into()),
        E::BadUserName { .. } => Some(
            "user names start with a lowercase letter, then lowercase letters, digits, dots, underscores, dashes or @, at most 64 characters"
                .into(),
        ),
        E::BadPublicKey { .. } => Some(
            "give the one line of a .pub file, such as `slipway keys:add alice < ~/.ssh/id_ed25519.pub`"
                .into(),
        ),
        _ => None,
    }
}

fn store_help(error: &store::Error) -> Option<String> {
    use store::Error as E;
    match error {
        E::Model(e) => model_help(e),
        E::NotARoot { root } => Some(format!(
            "create it with `slipway --root {} init`, or point --root / SLIPWAY_ROOT at an existing root",
            root.display()
        )),
        E::UnknownApp { .. } => {
            Some("`slipway apps` lists the apps; `slipway apps:create NAME` makes one".into())
        }
        E::NoSettings { path, .. } => Some(format!(
            "restore it from a backup, or create it empty (`touch {}`) to give every setting its default",
            super::shell_quote_if_needed(&path.to_string_lossy())
        )),
        E::NoRelease { app, .. } => Some(format!("`slipway releases -a {app}` lists its releases")),
        E::CorruptRecord { .. } => Some(
            "`slipway fsck` lists every problem; restore the file from a backup, or `slipway fsck --repair -a APP` puts the newest intact release live again as a new version (nothing is deleted)"
                .into(),
        ),
        E::CorruptCurrent { .. } => Some(
            "`slipway fsck --repair -a APP` puts the newest intact release live again as a new version (nothing is deleted)"
                .into(),
        ),
        E::CorruptHighWater { .. } => Some(
            "it holds the highest version ever given out: write the highest version number in the app's releases/ (or higher) into it"
                .into(),
        ),
        E::CurrentMissing { app, .. } => Some(format!(
            "`slipway fsck --repair -a {app}` puts the newest intact release live again as a new version (nothing is deleted)"
        )),
        E::VersionsExhausted => Some("this app cannot make more releases; create a new app".into()),
        E::UnknownUser { name } => Some(format!(
            "add a key for them first: `slipway keys:add {name} < {name}.pub`"
        )),
        E::KeyExists { .. } | E::UnknownKey { .. } => {
            Some("`slipway keys` lists the keys and their fingerprints".into())
        }
        E::NotGranted { app, .. } => Some(format!("`slipway access {app}` lists who can access it")),
        E::UnsafePath { .. } => Some(
            "move the root or the slipway binary to a path without double quotes or control characters"
                .into(),
        ),
        E::NoFreePort { .. } => Some(
            "widen port_range in slipway.yaml, or set `port:` in the app's app.yaml".into(),
        ),
        E::SlugStoreUnusable { .. } => Some(
            "credentials come from AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY (and AWS_SESSION_TOKEN), or a profile of ~/.aws/credentials (AWS_PROFILE); s3_endpoint and s3_region are in slipway.yaml"
                .into(),
        ),
        E::SlugStoreMoved { .. } => Some("run the command again".into()),
        E::SlugNotStored { .. } | E::SlugWrongSize { .. } | E::SlugFetchedCorrupt { .. } => Some(
            "`slipway fsck --deep` checks every slug in the store; redeploy the commit to build its slug again"
                .into(),
        ),
        E::S3(e) => s3_help(e),
        E::Io { source, .. } => io_help(source),
        _ => None,
    }
}

fn s3_help(error: &store::s3::Error) -> Option<String> {
    use store::s3::Error as E;
    match error {
        E::Unreachable { .. } | E::TimedOut { .. } | E::Broken { .. } => Some(
            "check that the slug store is up and that s3_endpoint in slipway.yaml names it"
                .into(),
        ),
        E::Credentials(_) => Some(
            "set AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or AWS_PROFILE for a profile of ~/.aws/credentials"
                .into(),
        ),
        E::Service { code, .. } if code == "NoSuchBucket" => {
            Some("create the bucket, or fix slug_store in slipway.yaml".into())
        }
        E::Service { code, .. }
            if code == "SignatureDoesNotMatch" || code == "InvalidAccessKeyId" =>
        {
            Some("check the S3 credentials (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_PROFILE) and s3_region".into())
        }
        _ => None,
    }
}

fn build_help(error: &build::Error) -> Option<String> {
    use build::Error as E;
    match error {
        E::Store(e) => store_help(e),
        E::Step(e) => step_help(e),
        E::Source(e) => source_help(e),
        E::Sandbox(e) => sandbox_help(e),
        E::SlugTooLarge { .. } => Some(
            "add large files that the app does not need at run time to .slugignore, or raise max_slug_size in app.yaml"
                .into(),
        ),
        E::Io { source, .. } | E::SlugWrite { source, .. } => io_help(source),
        _ => None,
    }
}

fn step_help(error: &StepError) -> Option<String> {
    match error {
        StepError::TimedOut { .. } => Some(
            "make the build faster (SLIPWAY_CACHE_DIR persists between builds), or raise build_timeout in app.yaml"
                .into(),
        ),
        StepError::Spawn { hook: true, .. } => {
            Some("ROOT/hooks/build must be an executable file with a #! line".into())
        }
        StepError::Sandbox(e) => sandbox_help(e),
        StepError::Spawn { .. } | StepError::Failed { .. } => None,
    }
}

fn sandbox_help(error: &SandboxError) -> Option<String> {
    match error {
        SandboxError::NotInstalled => Some(
            "install bubblewrap (apt-get install bubblewrap), or set `sandbox: none` in app.yaml to run app code with slipway's own rights"
                .into(),
        ),
        SandboxError::NotWorking { .. } => Some(
            "bwrap needs unprivileged user namespaces (sysctl kernel.unprivileged_userns_clone=1; on Ubuntu, the bwrap AppArmor profile), or set `sandbox: none` in app.yaml"
                .into(),
        ),
        SandboxError::UnknownUser { .. } | SandboxError::RootUser { .. } => Some(
            "create it (useradd --system --no-create-home --shell /usr/sbin/nologin slipway-app) or name another as sandbox_user in slipway.yaml"
                .into(),
        ),
        SandboxError::Io { source, .. } => io_help(source),
        SandboxError::Nul | SandboxError::BadName { .. } | SandboxError::NoWorkingDir => None,
    }
}

fn source_help(error: &SourceError) -> Option<String> {
    match error {
        SourceError::Refused { .. } => Some(
            "sources may hold only regular files, directories and symlinks that stay inside them"
                .into(),
        ),
        SourceError::TooLarge { .. } => Some(
            "if the source is genuine, raise max_source_size in the root's slipway.yaml".into(),
        ),
        SourceError::TooManyEntries { .. } => Some(
            "if the source is genuine, raise max_source_files in the root's slipway.yaml".into(),
        ),
        SourceError::Format { .. } | SourceError::BadSource { .. } => {
            Some("give a directory, or a .tar.gz, .tgz, .tar or .zip file or http(s) URL".into())
        }
        _ => None,
    }
}

fn run_help(error: &run::Error) -> Option<String> {
    use run::Error as E;
    match error {
        E::Store(e) => store_help(e),
        E::Model(e) => model_help(e),
        E::Sandbox(e) => sandbox_help(e),
        E::NoProcessType { types, .. } if types.is_empty() => {
            Some("that release runs no processes; add a Procfile and deploy".into())
        }
        E::NoProcessType { types, .. } => Some(format!("its process types: {types}")),
        E::NotLocal { .. } => Some(
            "only `launcher: local` (the default) runs processes on this host; see app.yaml".into(),
        ),
        E::ProcessNotRunning { app, .. } => Some(format!("`slipway ps -a {app}` lists its processes")),
        E::NothingRunning { app } => {
            Some(format!("deploy first: `git push` to {app}'s repository"))
        }
        E::NoLaunchHook { .. } => Some(
            "write an executable script there (slipway's hooks/launch-systemd.example is one), or set `launcher: local` in app.yaml"
                .into(),
        ),
        E::PortTaken {
            app, port, holder, ..
        } => {
            let who = match holder {
                Some(procfs::PortHolder {
                    pid: Some(pid),
                    name,
                    ..
                }) => match name {
                    Some(name) => format!("{} (pid {pid}) holds port {port}", super::escape(name)),
                    None => format!("pid {pid} holds port {port}"),
                },
                Some(holder) => format!(
                    "a process of uid {} holds port {port} (its pid is not visible to this user)",
                    holder.uid
                ),
                None => format!("another process held port {port}"),
            };
            Some(format!(
                "{who}; stop it, or give {app} another port: `port:` in apps/{app}/app.yaml (apps:create picks free ones from port_range in slipway.yaml)"
            ))
        }
        E::Supervisor { app, .. } => Some(format!(
            "its log is apps/{app}/logs/supervisor.log; `slipway ps:stop -a {app}` then `slipway ps:restart -a {app}` starts it afresh"
        )),
        E::Io { source, .. } => io_help(source),
        _ => None,
    }
}

fn watch_help(error: &WatchError) -> Option<String> {
    match error {
        WatchError::BadUrl { .. } => Some(
            "use an https://, ssh://, git:// or file:// URL, user@host:path, or an absolute path"
                .into(),
        ),
        WatchError::NotWatching { app } => Some(format!(
            "`slipway watch:set -a {app} --repo URL --branch BRANCH` starts watching"
        )),
        _ => None,
    }
}

fn io_help(error: &std::io::Error) -> Option<String> {
    (error.raw_os_error() == Some(libc::ENOSPC))
        .then(|| "free some disk space and push again".to_owned())
}

/// `error: ...` and, when there is an obvious next step, `help: ...`, as the command line prints a failure.
///
/// Each cause is added once: a message that already quotes its source (as
/// "cannot read X: Is a directory" does, or "git: open X: MESSAGE" for a
/// libgit2 error whose own text adds its class and code) does not repeat it.
pub fn error_lines(error: &anyhow::Error) -> String {
    let mut message = String::new();
    for cause in error.chain() {
        let text = cause.to_string();
        let quoted = cause
            .downcast_ref::<git2::Error>()
            .is_some_and(|git| message.contains(git.message()));
        if quoted || message.contains(&text) {
            continue;
        }
        if !message.is_empty() {
            message.push_str(": ");
        }
        message.push_str(&text);
    }
    let mut text = format!("error: {message}\n");
    if let Some(help) = error.chain().find_map(help_any) {
        text.push_str(&format!("help: {help}\n"));
    }
    text
}
