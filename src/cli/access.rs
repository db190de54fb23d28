//! `access`, `access:add`, `access:remove`: which users may push to and manage an app.

use clap::Args;

use super::env::Env;
use crate::model::name::{AppName, UserName};
use crate::ops::access;
use crate::output;

#[derive(Args)]
pub struct ListArgs {
    /// The app
    app: String,
    /// Print JSON
    #[arg(long)]
    json: bool,
}

#[derive(Args)]
pub struct ChangeArgs {
    /// The app
    app: String,
    /// The user (who must have a key)
    user: String,
    /// Print the result as JSON
    #[arg(long)]
    json: bool,
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    let users = access::access(&root, &app)?;
    output::print(&if args.json {
        output::json(&users)
    } else {
        output::access::access(&app, &users)
    })
}

pub fn add(env: &Env, args: ChangeArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    let user: UserName = args.user.parse()?;
    access::grant(&root, &app, &user)?;
    output::print(&if args.json {
        output::access::grant_json(&app, &user, true)
    } else {
        output::access::granted(&app, &user)
    })
}

pub fn remove(env: &Env, args: ChangeArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    let user: UserName = args.user.parse()?;
    access::revoke(&root, &app, &user)?;
    output::print(&if args.json {
        output::access::grant_json(&app, &user, false)
    } else {
        output::access::revoked(&app, &user)
    })
}
