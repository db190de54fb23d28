//! `access`, `access:add`, `access:remove`: which users may push to and manage an app.

use clap::Args;

use super::env::Env;
use crate::app::AppName;
use crate::keys::{self, UserName};
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
}

pub fn list(env: &Env, args: ListArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    let users = keys::access(&root, &app)?;
    let text = if args.json {
        output::json(&users)
    } else if users.is_empty() {
        format!(
            "nobody can access {app} over ssh yet; grant it with `slipway access:add {app} USER`\n"
        )
    } else {
        let rows: Vec<Vec<String>> = users
            .iter()
            .map(|a| {
                let via = match (a.granted, a.admin) {
                    (true, true) => "granted, admin",
                    (true, false) => "granted",
                    (false, _) => "admin",
                };
                vec![a.user.to_string(), via.to_owned()]
            })
            .collect();
        output::table(&["User", "Access"], &rows)
    };
    output::print(&text)?;
    Ok(())
}

pub fn add(env: &Env, args: ChangeArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    let user: UserName = args.user.parse()?;
    keys::grant(&root, &app, &user)?;
    output::print(&format!("Granted {user} access to {app}\n"))?;
    Ok(())
}

pub fn remove(env: &Env, args: ChangeArgs) -> anyhow::Result<()> {
    let root = env.root()?;
    let app: AppName = args.app.parse()?;
    let user: UserName = args.user.parse()?;
    keys::revoke(&root, &app, &user)?;
    output::print(&format!("Revoked {user}'s access to {app}\n"))?;
    Ok(())
}
