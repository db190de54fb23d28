//! `keys`, `keys:add`, `keys:remove`: the ssh keys that may push, and whose they are.

use std::io::{IsTerminal, Read};

use anyhow::bail;
use clap::Args;

use super::env::{Env, current_exe};
use crate::keys::{self, KeyTarget, NewKey, PublicKey, UserName};
use crate::output;

#[derive(Args)]
pub struct ListArgs {
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct AddArgs {
    /// Who the key belongs to: a lowercase letter, then lowercase letters, digits, `.`, `_`, `-` or `@`
    user: String,
    /// Let this key also run admin commands (keys, access, apps:create, apps:destroy)
    #[arg(long)]
    admin: bool,
}

#[derive(Args)]
pub struct RemoveArgs {
    /// A user (removes all their keys and grants) or one key's SHA256:... fingerprint
    #[arg(value_name = "USER|FINGERPRINT")]
    target: String,
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let keys = keys::list(&root)?;
    let text = if args.json {
        output::json(&keys)
    } else if keys.is_empty() {
        "no ssh keys yet; add one with `slipway keys:add USER < KEY.pub`\n".to_owned()
    } else {
        let rows: Vec<Vec<String>> = keys
            .iter()
            .map(|k| {
                vec![
                    k.user.to_string(),
                    k.fingerprint.clone(),
                    k.kind.clone(),
                    if k.admin { "yes" } else { "no" }.to_owned(),
                    output::escape(&k.comment).into_owned(),
                ]
            })
            .collect();
        output::table(&["User", "Fingerprint", "Type", "Admin", "Comment"], &rows)
    };
    output::print(&text)?;
    Ok(())
}

pub fn add(env: &Env, args: AddArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let user: UserName = args.user.parse()?;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("keys:add reads the public key from stdin: `slipway keys:add {user} < {user}.pub`");
    }
    let mut bytes = Vec::new();
    let limit = keys::pubkey::MAX_LINE as u64 + 1;
    stdin.lock().take(limit).read_to_end(&mut bytes)?;
    let text = String::from_utf8(bytes).map_err(|_| crate::Error::BadPublicKey {
        reason: "it is not UTF-8".into(),
    })?;
    let key = PublicKey::parse(&text)?;
    let new = NewKey {
        user,
        key,
        admin: args.admin,
    };
    let entry = keys::add(&root, &current_exe()?, new, env.clock.now)?;
    let admin = if entry.admin { " (admin)" } else { "" };
    output::print(&format!(
        "Added {} key {} for {}{admin}\n",
        entry.kind, entry.fingerprint, entry.user
    ))?;
    Ok(())
}

pub fn remove(env: &Env, args: RemoveArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let target: KeyTarget = args.target.parse()?;
    let removed = keys::remove(&root, &current_exe()?, &target)?;
    let text: String = removed
        .iter()
        .map(|k| format!("Removed {} key {} of {}\n", k.kind, k.fingerprint, k.user))
        .collect();
    output::print(&text)?;
    Ok(())
}
