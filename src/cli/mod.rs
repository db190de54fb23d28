//! The command line: one file per command group, each turning arguments into one library call.

mod access;
mod apps;
mod env;
mod hook;
mod keys;
mod quickstart;
mod releases;
mod slugs;
mod source;
mod ssh;
mod watch;

use std::process::ExitCode;

use clap::{Parser, Subcommand};

pub use self::env::Env;

/// slipway: git push to deploy, on your own server.
#[derive(Parser)]
#[command(name = "slipway", version, about, max_term_width = 100)]
struct Cli {
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
    #[command(name = "apps:create")]
    AppsCreate(apps::CreateArgs),
    /// Delete an app, its repository and its releases
    #[command(name = "apps:destroy")]
    AppsDestroy(apps::DestroyArgs),
    /// List an app's releases, newest first
    Releases(releases::ListArgs),
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
    /// Run by sshd for every slipway key (reads SSH_ORIGINAL_COMMAND)
    #[command(name = "ssh-command", hide = true)]
    Ssh(ssh::SshArgs),
    /// Run by the git hook shim (reads git's ref updates on stdin)
    #[command(hide = true)]
    Hook(hook::HookArgs),
    /// Create a demo root, app and pushes, and show the releases
    Quickstart(quickstart::Args),
}

/// A failure that was already shown to the user in full; only the exit code is left to give.
#[derive(Debug, thiserror::Error)]
#[error("failed")]
pub struct Reported;

/// Runs the command line and returns the process exit code (0 ok, 1 failed, 2 bad usage).
pub fn main() -> ExitCode {
    crate::slug::tune_libgit2();
    let cli = Cli::parse();
    let result = env::Env::from_args(cli.env).and_then(|env| run(&env, cli.command));
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            if e.downcast_ref::<Reported>().is_none() && !is_broken_pipe(&e) {
                eprintln!("error: {e:#}");
                if let Some(help) = e
                    .downcast_ref::<crate::Error>()
                    .and_then(crate::Error::help)
                {
                    eprintln!("help: {help}");
                }
            }
            if is_broken_pipe(&e) {
                ExitCode::SUCCESS
            } else {
                ExitCode::FAILURE
            }
        }
    }
}

fn is_broken_pipe(e: &anyhow::Error) -> bool {
    e.downcast_ref::<std::io::Error>()
        .is_some_and(|io| io.kind() == std::io::ErrorKind::BrokenPipe)
}

fn run(env: &Env, command: Command) -> anyhow::Result<()> {
    match command {
        Command::Init => apps::init(env),
        Command::Apps(args) => apps::list(env, args),
        Command::AppsCreate(args) => apps::create(env, args),
        Command::AppsDestroy(args) => apps::destroy(env, args),
        Command::Releases(args) => releases::list(env, args),
        Command::ReleasesCreate(args) => source::create(env, args),
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
        Command::Hook(args) => hook::run(env, args),
        Command::Quickstart(args) => quickstart::run(env, args),
    }
}
