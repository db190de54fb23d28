//! `ssh-command`: the forced command of every slipway key in authorized_keys.

use std::os::unix::process::CommandExt;
use std::process::Command;

use anyhow::Context as _;
use clap::Args;

use super::env::{Env, current_exe};
use crate::model::name::UserName;
use crate::ops::ssh;

#[derive(Args)]
pub struct SshArgs {
    /// The slipway user the key belongs to
    #[arg(long)]
    user: String,
    /// The key is an admin key
    #[arg(long)]
    admin: bool,
}

/// Reads `SSH_ORIGINAL_COMMAND` and, if allowed, replaces this process with what it asks for.
pub fn run(env: &Env, args: SshArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let user: UserName = args.user.parse()?;
    let original = match std::env::var_os("SSH_ORIGINAL_COMMAND") {
        None => None,
        Some(text) => Some(
            text.into_string()
                .map_err(|_| crate::ops::Error::SshRefused {
                    reason: "the command is not UTF-8".into(),
                })?,
        ),
    };
    let exec = ssh::authorize(
        &root,
        &current_exe()?,
        &user,
        args.admin,
        original.as_deref(),
    )?;
    let mut cmd = Command::new(&exec.program);
    cmd.args(&exec.args);
    // Only the key decides who acts and where: nothing from the session's environment.
    for (name, _) in std::env::vars_os() {
        if name.as_encoded_bytes().starts_with(b"SLIPWAY_") {
            cmd.env_remove(name);
        }
    }
    cmd.env("SLIPWAY_USER", &exec.user);
    cmd.current_dir(&exec.dir);
    let err = cmd.exec();
    Err(err).with_context(|| format!("cannot run {}", exec.program.display()))
}
