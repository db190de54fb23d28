//! The command line: one file per command group, each turning arguments into one library call.

mod access;
mod addons;
mod apps;
mod argv;
mod boot;
mod buildpacks;
mod config;
mod deploy;
mod env;
mod fsck;
mod hook;
mod hooks;
mod keys;
mod maintenance;
mod ps;
mod quickstart;
mod releases;
mod remote;
mod run;
mod shell;
mod slugs;
mod source;
mod ssh;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

use crate::output;

pub use self::env::Env;

/// slipway: git push to deploy, on your own server.
#[derive(Parser)]
#[command(name = "slipway", version, about, max_term_width = 100)]
pub(crate) struct Cli {
    #[command(flatten)]
    env: env::GlobalArgs,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Create a slipway root (idempotent)
    Init,
    /// List apps
    Apps(apps::ListArgs),
    /// Create an app and its git repository
    #[command(name = "apps:create", visible_alias = "create")]
    AppsCreate(apps::CreateArgs),
    /// Stop an app and delete its releases and its repository (an adopted repository is kept, without slipway's hooks)
    #[command(name = "apps:destroy", visible_alias = "destroy")]
    AppsDestroy(apps::DestroyArgs),
    /// Print an app's URL (and open it in a browser on a desktop)
    #[command(name = "apps:open", visible_alias = "open")]
    AppsOpen(env::AppArgs),
    /// Rename an app: its repository, releases, grants and hooks follow (its processes restart)
    #[command(name = "apps:rename", visible_alias = "rename")]
    AppsRename(apps::RenameArgs),
    /// Show an app's current release, state, URL and process counts
    #[command(name = "apps:info", visible_alias = "info")]
    AppsInfo(env::AppJsonArgs),
    /// List an app's releases, newest first
    Releases(releases::ListArgs),
    /// Show one release: change, author, time, status, commit, add-ons, config
    #[command(name = "releases:info")]
    ReleasesInfo(releases::InfoArgs),
    /// Print what the push (build and launch) of a release printed
    #[command(name = "releases:output")]
    ReleasesOutput(releases::OutputArgs),
    /// Make a new release that copies an older one's slug and config (git is untouched)
    #[command(visible_alias = "releases:rollback")]
    Rollback(releases::RollbackArgs),
    /// Launch a recorded release and make it live
    #[command(name = "releases:promote")]
    ReleasesPromote(releases::PromoteArgs),
    /// Delete the slugs of all but the newest N releases (records stay)
    #[command(name = "releases:prune")]
    ReleasesPrune(releases::PruneArgs),
    /// Show config vars
    Config(config::ShowArgs),
    /// Print one config var's value
    #[command(name = "config:get")]
    ConfigGet(config::GetArgs),
    /// Set config vars (one release for all of them)
    #[command(name = "config:set", visible_alias = "config:add")]
    ConfigSet(config::SetArgs),
    /// Remove config vars (one release for all of them)
    #[command(name = "config:unset", visible_alias = "config:remove")]
    ConfigUnset(config::UnsetArgs),
    /// List add-ons
    Addons(env::AppJsonArgs),
    /// Attach an add-on (and the config vars it provides)
    #[command(name = "addons:add", visible_alias = "addons:create")]
    AddonsAdd(addons::AddArgs),
    /// Detach an add-on (and remove its config vars)
    #[command(name = "addons:remove", visible_alias = "addons:destroy")]
    AddonsRemove(addons::RemoveArgs),
    /// Move an add-on to a bigger plan
    #[command(name = "addons:upgrade")]
    AddonsUpgrade(addons::PlanArgs),
    /// Move an add-on to a smaller plan
    #[command(name = "addons:downgrade")]
    AddonsDowngrade(addons::PlanArgs),
    /// Check release records, slugs and `current`; one line per problem
    Fsck(fsck::FsckArgs),
    /// Delete slugs that no release of any app uses
    #[command(name = "slugs:gc")]
    SlugsGc(slugs::GcArgs),
    /// Copy every slug to another store (s3://BUCKET/PREFIX or local), check it, then switch slug_store
    #[command(name = "slugs:migrate")]
    SlugsMigrate(slugs::MigrateArgs),
    /// Install slipway's hook into an existing bare repository, adopting it as an app
    #[command(name = "hooks:install")]
    HooksInstall(hooks::InstallArgs),
    /// Take slipway's hooks out of a repository and put back what was there
    #[command(name = "hooks:uninstall")]
    HooksUninstall(hooks::UninstallArgs),
    /// List the repositories with slipway's hook, and whether each still works
    #[command(name = "hooks:status")]
    HooksStatus(hooks::StatusArgs),
    /// Build and release a commit again without a push (default: the deploy branch's tip)
    Deploy(deploy::DeployArgs),
    /// Make a release from a source directory, archive file or http(s) URL
    #[command(name = "releases:create")]
    ReleasesCreate(source::CreateArgs),
    /// Auto-deploy each new commit of a branch of another repository
    #[command(name = "watch:set")]
    WatchSet(watch::SetArgs),
    /// Stop auto-deploying an app from a watched branch
    #[command(name = "watch:unset")]
    WatchUnset(watch::UnsetArgs),
    /// Fetch every watched branch and deploy new commits, every --interval or --once
    Watch(watch::WatchArgs),
    /// Compile a commit of any repository into a slug file
    #[command(name = "slugs:compile")]
    SlugsCompile(slugs::CompileArgs),
    /// List the ssh keys that may push, with their users
    Keys(keys::ListArgs),
    /// Add an ssh public key (one line on stdin) for a user
    #[command(name = "keys:add")]
    KeysAdd(keys::AddArgs),
    /// Remove a user's keys, or one key by fingerprint
    #[command(name = "keys:remove")]
    KeysRemove(keys::RemoveArgs),
    /// List who may push to and manage an app
    Access(access::ListArgs),
    /// Let a user push to and manage an app
    #[command(name = "access:add")]
    AccessAdd(access::ChangeArgs),
    /// Take back a user's access to an app
    #[command(name = "access:remove")]
    AccessRemove(access::ChangeArgs),
    /// Print a completion script: `source <(slipway completions bash)`
    Completions(shell::CompletionsArgs),
    /// Print the manual page (roff): `slipway manpage > slipway.1`
    Manpage,
    /// Run by sshd for every slipway key (reads SSH_ORIGINAL_COMMAND)
    #[command(name = "ssh-command", hide = true)]
    Ssh(ssh::SshArgs),
    /// Run by the git hook shim (reads git's ref updates on stdin)
    #[command(hide = true)]
    Hook(hook::HookArgs),
    /// Create a demo root, app and pushes, and show the releases
    Quickstart(quickstart::Args),
    /// List an app's buildpacks
    Buildpacks(env::AppJsonArgs),
    /// Set the buildpack (at --index N), used from the next deploy
    #[command(name = "buildpacks:set")]
    BuildpacksSet(buildpacks::SetArgs),
    /// Add a buildpack (last, or at --index N)
    #[command(name = "buildpacks:add")]
    BuildpacksAdd(buildpacks::SetArgs),
    /// Remove a buildpack, by URL or --index N
    #[command(name = "buildpacks:remove")]
    BuildpacksRemove(buildpacks::RemoveArgs),
    /// Forget the app's buildpacks: the next deploy detects them
    #[command(name = "buildpacks:clear")]
    BuildpacksClear(env::AppJsonArgs),
    /// Empty the app's build cache (the next build starts from scratch)
    #[command(name = "buildpacks:clear-cache")]
    BuildpacksClearCache(env::AppJsonArgs),
    /// List an app's processes
    Ps(env::AppJsonArgs),
    /// Set how many processes of each type run (web=2 worker=1)
    #[command(name = "ps:scale")]
    PsScale(ps::ScaleArgs),
    /// Restart an app's processes (all with no downtime, or one type in place)
    #[command(name = "ps:restart")]
    PsRestart(ps::RestartArgs),
    /// Restart every process of an app, with no downtime (no new release)
    Restart(ps::RestartArgs),
    /// Stop an app's processes (or one type or process: web, web.1) until the next deploy, restart or scale
    #[command(name = "ps:stop")]
    PsStop(ps::StopArgs),
    /// Kill one type or process (web, web.1) at once with SIGKILL, until the next deploy, restart or scale
    #[command(name = "ps:kill")]
    PsKill(ps::KillArgs),
    /// Show an app's process logs
    Logs(ps::LogsArgs),
    /// Run a one-off command in the current release's environment, attached to this terminal: run -a APP -- COMMAND
    Run(run::RunArgs),
    /// Run a one-off command in the background, its output in the app's logs (logs --ps run.N)
    #[command(name = "run:detached")]
    RunDetached(run::DetachedArgs),
    /// Say whether maintenance mode is on
    Maintenance(env::AppJsonArgs),
    /// Answer every request on the app's stable port with 503 and a maintenance page (processes keep running)
    #[command(name = "maintenance:on")]
    MaintenanceOn(env::AppJsonArgs),
    /// Forward requests to the app's processes again
    #[command(name = "maintenance:off")]
    MaintenanceOff(env::AppJsonArgs),
    /// Start the supervisor of every app that should run (at boot; idempotent)
    Boot(boot::BootArgs),
    /// Run an app's supervisor (started by deploys and boot)
    #[command(hide = true)]
    Supervise(boot::SuperviseArgs),
    /// Run a detached one-off process (started by run:detached)
    #[command(name = "one-off", hide = true)]
    OneOff(run::RunnerArgs),
    /// Serve a directory's files over HTTP (the sample app's web process)
    #[command(name = "serve-static", hide = true)]
    ServeStatic(boot::ServeStaticArgs),
}

/// A failure that was already shown to the user in full; only the exit code is left to give.
#[derive(Debug, thiserror::Error)]
#[error("failed")]
pub struct Reported;

/// Runs the command line and returns the process exit code (0 ok, 1 failed, 2 bad usage).
pub fn main() -> ExitCode {
    crate::build::compile::tune_libgit2();
    let argv = argv::app_after_subcommand(std::env::args_os().collect());
    let cli = Cli::parse_from(&argv);
    if let Some(error) = remote::forward(
        cli.env.root_given(),
        cli.env.remote(),
        argv.get(1..).unwrap_or_default(),
    ) {
        eprint!("{}", crate::output::help::error_lines(&error));
        return ExitCode::FAILURE;
    }
    let result = env::Env::from_args(cli.env).and_then(|env| run(&env, cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<Reported>().is_none() && !is_broken_pipe(&e) {
                eprint!("{}", crate::output::help::error_lines(&e));
            }
            if is_broken_pipe(&e) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

/// How commands that make a release report launch failures: on stderr, without step lines.
fn observer() -> crate::output::Sideband<std::io::Stderr> {
    crate::output::Sideband::without_launch_lines(std::io::stderr())
}

/// Prints a command's result line, or fails quietly when there is none (the failure was already reported).
fn print_or_reported(text: Option<String>) -> anyhow::Result<()> {
    match text {
        Some(text) => output::print(&text),
        None => Err(Reported.into()),
    }
}

/// Prints a change's outcome as JSON (`--json`); a failed release still fails the command.
fn print_outcome_json(
    app: &crate::store::app::App,
    outcome: Option<&crate::ops::change::Outcome>,
) -> anyhow::Result<()> {
    output::print(&output::results::outcome(&app.name, outcome))?;
    match outcome {
        Some(crate::ops::change::Outcome::Failed(_)) => Err(Reported.into()),
        _ => Ok(()),
    }
}

/// Whether the error is a closed pipe (`slipway releases | head`), at any depth.
fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.chain().any(|cause| {
        cause
            .downcast_ref::<std::io::Error>()
            .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
    })
}

fn run(env: &Env, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init => apps::init(env),
        Command::Apps(args) => apps::list(env, args),
        Command::AppsCreate(args) => apps::create(env, args),
        Command::AppsDestroy(args) => apps::destroy(env, args),
        Command::Releases(args) => releases::list(env, args),
        Command::ReleasesInfo(args) => releases::info(env, args),
        Command::ReleasesOutput(args) => releases::show_output(env, args),
        Command::Rollback(args) => releases::rollback(env, args),
        Command::ReleasesPromote(args) => releases::promote(env, args),
        Command::ReleasesPrune(args) => releases::prune(env, args),
        Command::Config(args) => config::show(env, args),
        Command::ConfigGet(args) => config::get(env, args),
        Command::ConfigSet(args) => config::set(env, args),
        Command::ConfigUnset(args) => config::unset(env, args),
        Command::Addons(args) => addons::list(env, args),
        Command::AddonsAdd(args) => addons::add(env, args),
        Command::AddonsRemove(args) => addons::remove(env, args),
        Command::AddonsUpgrade(args) => addons::upgrade(env, args),
        Command::AddonsDowngrade(args) => addons::downgrade(env, args),
        Command::Fsck(args) => fsck::run(env, args),
        Command::SlugsGc(args) => slugs::gc(env, args),
        Command::SlugsMigrate(args) => slugs::migrate(env, args),
        Command::HooksInstall(args) => hooks::install(env, args),
        Command::HooksUninstall(args) => hooks::uninstall(env, args),
        Command::HooksStatus(args) => hooks::status(env, args),
        Command::ReleasesCreate(args) => source::create(env, args),
        Command::Deploy(args) => deploy::run(env, args),
        Command::WatchSet(args) => watch::set(env, args),
        Command::WatchUnset(args) => watch::unset(env, args),
        Command::Watch(args) => watch::run(env, args),
        Command::SlugsCompile(args) => slugs::compile(env, args),
        Command::Keys(args) => keys::list(env, args),
        Command::KeysAdd(args) => keys::add(env, args),
        Command::KeysRemove(args) => keys::remove(env, args),
        Command::Access(args) => access::list(env, args),
        Command::AccessAdd(args) => access::add(env, args),
        Command::AccessRemove(args) => access::remove(env, args),
        Command::Ssh(args) => ssh::run(env, args),
        Command::Completions(args) => shell::completions(args),
        Command::Manpage => shell::manpage(),
        Command::Hook(args) => hook::run(env, args),
        Command::Quickstart(args) => quickstart::run(env, args),
        Command::AppsInfo(args) => apps::info(env, args),
        Command::AppsOpen(args) => apps::open(env, args),
        Command::AppsRename(args) => apps::rename(env, args),
        Command::Buildpacks(args) => buildpacks::list(env, args),
        Command::BuildpacksSet(args) => buildpacks::set(env, args),
        Command::BuildpacksAdd(args) => buildpacks::add(env, args),
        Command::BuildpacksRemove(args) => buildpacks::remove(env, args),
        Command::BuildpacksClear(args) => buildpacks::clear(env, args),
        Command::BuildpacksClearCache(args) => buildpacks::clear_cache(env, args),
        Command::Ps(args) => ps::list(env, args),
        Command::PsScale(args) => ps::scale(env, args),
        Command::PsRestart(args) | Command::Restart(args) => ps::restart(env, args),
        Command::PsStop(args) => ps::stop(env, args),
        Command::PsKill(args) => ps::kill(env, args),
        Command::Logs(args) => ps::logs(env, args),
        Command::Run(args) => run::run(env, args),
        Command::RunDetached(args) => run::detached(env, args),
        Command::OneOff(args) => run::runner(env, args),
        Command::Maintenance(args) => maintenance::show(env, args),
        Command::MaintenanceOn(args) => maintenance::set(env, args, true),
        Command::MaintenanceOff(args) => maintenance::set(env, args, false),
        Command::Boot(args) => boot::boot(env, args),
        Command::Supervise(args) => boot::supervise(env, args),
        Command::ServeStatic(args) => boot::serve_static(env, args),
    }
}
