//! What the access commands print: `keys`, `keys:add`, `keys:remove`, `access`, `access:add`, `access:remove`.

use super::{escape, table};
use crate::model::name::{AppName, UserName};
use crate::ops::access::{Access, KeyEntry};

/// `keys`: the table, or how to add the first key.
pub fn keys(keys: &[KeyEntry]) -> String {
    if keys.is_empty() {
        return "no ssh keys yet; add one with `slipway keys:add USER < KEY.pub`\n".to_owned();
    }
    let rows: Vec<Vec<String>> = keys
        .iter()
        .map(|k| {
            vec![
                k.user.to_string(),
                k.fingerprint.clone(),
                k.kind.clone(),
                if k.admin { "yes" } else { "no" }.to_owned(),
                escape(&k.comment).into_owned(),
            ]
        })
        .collect();
    table(&["User", "Fingerprint", "Type", "Admin", "Comment"], &rows)
}

/// `keys:add`'s line.
pub fn key_added(entry: &KeyEntry) -> String {
    let admin = if entry.admin { " (admin)" } else { "" };
    format!(
        "Added {} key {} for {}{admin}\n",
        entry.kind, entry.fingerprint, entry.user
    )
}

/// `keys:remove`'s lines.
pub fn keys_removed(removed: &[KeyEntry]) -> String {
    removed
        .iter()
        .map(|k| format!("Removed {} key {} of {}\n", k.kind, k.fingerprint, k.user))
        .collect()
}

/// `access APP`: who may push to it, and why.
pub fn access(app: &AppName, users: &[Access]) -> String {
    if users.is_empty() {
        return format!(
            "nobody can access {app} over ssh yet; grant it with `slipway access:add {app} USER`\n"
        );
    }
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
    table(&["User", "Access"], &rows)
}

/// `access:add`'s line.
pub fn granted(app: &AppName, user: &UserName) -> String {
    format!("Granted {user} access to {app}\n")
}

/// `access:add --json` / `access:remove --json`: who may access the app now.
pub fn grant_json(app: &AppName, user: &UserName, granted: bool) -> String {
    #[derive(serde::Serialize)]
    struct Grant<'a> {
        app: &'a str,
        user: &'a str,
        granted: bool,
    }
    super::json(&Grant {
        app: app.as_str(),
        user: user.as_str(),
        granted,
    })
}

/// `access:remove`'s line.
pub fn revoked(app: &AppName, user: &UserName) -> String {
    format!("Revoked {user}'s access to {app}\n")
}

/// Why `keys:add` at a terminal does nothing.
pub fn needs_stdin(user: &UserName) -> String {
    format!("keys:add reads the public key from stdin: `slipway keys:add {user} < {user}.pub`")
}
