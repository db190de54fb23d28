//! `keys`, `keys:add`, `keys:remove`: the ssh keys that may push, and whose they are.

use std::io::{IsTerminal, Read};

use anyhow::bail;
use clap::Args;

use super::env::{Env, current_exe};
use crate::model::name::UserName;
use crate::model::pubkey::{self, PublicKey};
use crate::ops::access::{self, KeyTarget, NewKey};
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
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct RemoveArgs {
    /// A user (removes all their keys and grants) or one key's SHA256:... fingerprint
    #[arg(value_name = "USER|FINGERPRINT")]
    target: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let keys = access::list(&root)?;
    output::print(&if args.json {
        output::json(&keys)
    } else {
        output::access::keys(&keys)
    })
}

pub fn add(env: &Env, args: AddArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let user: UserName = args.user.parse()?;
    let stdin = std::io::stdin();
    if stdin.is_terminal() {
        bail!("{}", output::access::needs_stdin(&user));
    }
    let mut bytes = Vec::new();
    let limit = pubkey::MAX_LINE as u64 + 1;
    stdin.lock().take(limit).read_to_end(&mut bytes)?;
    let key = PublicKey::parse_bytes(&bytes)?;
    let new = NewKey {
        user,
        key,
        admin: args.admin,
    };
    let entry = access::add(&root, &current_exe()?, new, env.clock.now)?;
    output::print(&if args.json {
        output::json(&entry)
    } else {
        output::access::key_added(&entry)
    })
}

pub fn remove(env: &Env, args: RemoveArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let target: KeyTarget = args.target.parse()?;
    let removed = access::remove(&root, &current_exe()?, &target)?;
    output::print(&if args.json {
        output::json(&removed)
    } else {
        output::access::keys_removed(&removed)
    })
}
