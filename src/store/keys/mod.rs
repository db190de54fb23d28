//! Who may push over ssh: users, their keys and app grants in `ROOT/keys.json`, and the authorized_keys file made from them.
//!
//! A user exists while they have at least one key. Every change takes the
//! root lock (`apps/.lock`, shared with app creation), writes the
//! authorized_keys file first and `keys.json` second, each atomically: a crash
//! in between leaves a key that sshd lets in but `ssh-command` does not know
//! (refused), or a removed key that sshd already refuses.

pub mod authorized_keys;

use std::collections::{BTreeMap, BTreeSet};
use std::fs;
use std::path::Path;
use std::str::FromStr;

use jiff::Timestamp;
use serde::{Deserialize, Serialize};

use crate::base::files;
use crate::model::name::{AppName, UserName};
pub use crate::model::pubkey::PublicKey;
use crate::store::app::{self, App};
use crate::store::error::{Error, Result};
use crate::store::root::Root;

/// One registered key.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct KeyEntry {
    /// Whose key it is; recorded as "By" for what it does.
    pub user: UserName,
    /// `SHA256:...`, as `ssh-keygen -l` prints it.
    pub fingerprint: String,
    /// The key type, such as `ssh-ed25519`.
    #[serde(rename = "type")]
    pub kind: String,
    /// `TYPE BASE64`.
    pub key: String,
    /// The comment the key line had, often `user@host`.
    #[serde(default)]
    pub comment: String,
    /// Whether this key may also run admin commands (keys, access, apps:create, apps:destroy).
    pub admin: bool,
    /// When it was added.
    pub added_at: Timestamp,
}

/// The contents of `ROOT/keys.json`.
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct KeyStore {
    /// Every key, in the order added.
    #[serde(default)]
    pub keys: Vec<KeyEntry>,
    /// App name -> users granted access with `access:add`.
    #[serde(default)]
    pub access: BTreeMap<String, BTreeSet<UserName>>,
}

impl KeyStore {
    /// Reads `ROOT/keys.json`; a missing file is an empty store.
    pub fn load(root: &Root) -> Result<KeyStore> {
        let path = root.keys_path();
        let bytes = match fs::read(&path) {
            Ok(bytes) => bytes,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(KeyStore::default()),
            Err(e) => return Err(Error::io("read", &path)(e)),
        };
        serde_json::from_slice(&bytes).map_err(|e| Error::CorruptKeys {
            path: path.clone(),
            reason: e.to_string(),
        })
    }

    /// Whether `user` has any key.
    pub fn has_user(&self, user: &UserName) -> bool {
        self.keys.iter().any(|k| &k.user == user)
    }

    /// Whether `user` has an admin key.
    pub fn is_admin(&self, user: &UserName) -> bool {
        self.keys.iter().any(|k| &k.user == user && k.admin)
    }

    /// Whether `user` was granted `app` with `access:add`.
    pub fn is_granted(&self, app: &AppName, user: &UserName) -> bool {
        self.access
            .get(app.as_str())
            .is_some_and(|users| users.contains(user))
    }

    fn save(&self, root: &Root, exe: Option<&Path>) -> Result<()> {
        if let Some(exe) = exe {
            let path = root.authorized_keys_path();
            let text = authorized_keys::render(exe, root.dir(), &self.keys)?;
            files::write_atomic(&path, text.as_bytes(), 0o600)
                .map_err(Error::io("write", &path))?;
        }
        let path = root.keys_path();
        let mut text = serde_json::to_string_pretty(self).map_err(|e| Error::CorruptKeys {
            path: path.clone(),
            reason: e.to_string(),
        })?;
        text.push('\n');
        files::write_atomic(&path, text.as_bytes(), 0o600).map_err(Error::io("write", &path))
    }
}

/// A key to add.
#[derive(Debug)]
pub struct NewKey {
    /// Whose key it is.
    pub user: UserName,
    /// The parsed key line.
    pub key: PublicKey,
    /// Whether it may run admin commands.
    pub admin: bool,
}

/// Registers a key and rewrites the authorized_keys file; `exe` is the slipway binary its lines run.
pub fn add(root: &Root, exe: &Path, new: NewKey, now: Timestamp) -> Result<KeyEntry> {
    let _lock = app::lock_apps(root)?;
    let mut store = KeyStore::load(root)?;
    let fingerprint = new.key.fingerprint();
    if let Some(existing) = store.keys.iter().find(|k| k.fingerprint == fingerprint) {
        return Err(Error::KeyExists {
            fingerprint,
            user: existing.user.to_string(),
        });
    }
    let entry = KeyEntry {
        user: new.user,
        fingerprint,
        kind: new.key.kind.clone(),
        key: new.key.to_string(),
        comment: new.key.comment.clone(),
        admin: new.admin,
        added_at: now,
    };
    store.keys.push(entry.clone());
    store.save(root, Some(exe))?;
    Ok(entry)
}

/// What `keys:remove` removes: every key of a user, or one key by fingerprint.
#[derive(Clone, Debug)]
pub enum KeyTarget {
    /// All of a user's keys (and so the user, and their grants).
    User(UserName),
    /// One key.
    Fingerprint(String),
}

impl FromStr for KeyTarget {
    type Err = Error;

    fn from_str(text: &str) -> Result<KeyTarget> {
        if text.starts_with("SHA256:") {
            if crate::model::pubkey::looks_like_fingerprint(text) {
                return Ok(KeyTarget::Fingerprint(text.to_owned()));
            }
            return Err(Error::UnknownKey {
                what: format!("fingerprint '{}'", crate::base::text::escape(text)),
            });
        }
        Ok(KeyTarget::User(text.parse()?))
    }
}

/// Removes keys and rewrites the authorized_keys file; a user left without keys loses their grants.
pub fn remove(root: &Root, exe: &Path, target: &KeyTarget) -> Result<Vec<KeyEntry>> {
    let _lock = app::lock_apps(root)?;
    let mut store = KeyStore::load(root)?;
    let (removed, kept): (Vec<KeyEntry>, Vec<KeyEntry>) =
        store.keys.drain(..).partition(|k| match target {
            KeyTarget::User(user) => &k.user == user,
            KeyTarget::Fingerprint(fp) => &k.fingerprint == fp,
        });
    store.keys = kept;
    if removed.is_empty() {
        return Err(Error::UnknownKey {
            what: match target {
                KeyTarget::User(user) => format!("user '{user}'"),
                KeyTarget::Fingerprint(fp) => format!("fingerprint {fp}"),
            },
        });
    }
    for users in store.access.values_mut() {
        users.retain(|u| store.keys.iter().any(|k| &k.user == u));
    }
    store.access.retain(|_, users| !users.is_empty());
    store.save(root, Some(exe))?;
    Ok(removed)
}

/// Every registered key, in the order added.
pub fn list(root: &Root) -> Result<Vec<KeyEntry>> {
    Ok(KeyStore::load(root)?.keys)
}

/// Lets `user` push to and manage `app`.
pub fn grant(root: &Root, app: &AppName, user: &UserName) -> Result<()> {
    let _lock = app::lock_apps(root)?;
    App::open(root, app)?;
    let mut store = KeyStore::load(root)?;
    if !store.has_user(user) {
        return Err(Error::UnknownUser {
            name: user.to_string(),
        });
    }
    if store.is_granted(app, user) {
        return Err(Error::AlreadyGranted {
            user: user.to_string(),
            app: app.to_string(),
        });
    }
    store
        .access
        .entry(app.to_string())
        .or_default()
        .insert(user.clone());
    store.save(root, None)
}

/// Takes back what [`grant`] gave.
pub fn revoke(root: &Root, app: &AppName, user: &UserName) -> Result<()> {
    let _lock = app::lock_apps(root)?;
    let mut store = KeyStore::load(root)?;
    let removed = store
        .access
        .get_mut(app.as_str())
        .is_some_and(|users| users.remove(user));
    if !removed {
        // Checked after the grant so a destroyed app's name still reads sensibly.
        App::open(root, app)?;
        return Err(Error::NotGranted {
            user: user.to_string(),
            app: app.to_string(),
        });
    }
    store.access.retain(|_, users| !users.is_empty());
    store.save(root, None)
}

/// One user who may access an app, and why.
#[derive(Clone, Debug, Serialize)]
pub struct Access {
    /// Who.
    pub user: UserName,
    /// They hold an admin key (admins may access every app).
    pub admin: bool,
    /// They were granted the app with `access:add`.
    pub granted: bool,
}

/// Who may access `app`: granted users and admins, sorted by name.
pub fn access(root: &Root, app: &AppName) -> Result<Vec<Access>> {
    App::open(root, app)?;
    let store = KeyStore::load(root)?;
    let mut users: BTreeSet<&UserName> = store.keys.iter().map(|k| &k.user).collect();
    users.retain(|u| store.is_admin(u) || store.is_granted(app, u));
    Ok(users
        .into_iter()
        .map(|user| Access {
            user: user.clone(),
            admin: store.is_admin(user),
            granted: store.is_granted(app, user),
        })
        .collect())
}

/// Drops every grant on `app`; the caller holds the root lock (see [`app::destroy`]).
pub fn forget_app_locked(root: &Root, app: &AppName) -> Result<()> {
    let mut store = KeyStore::load(root)?;
    if store.access.remove(app.as_str()).is_some() {
        store.save(root, None)?;
    }
    Ok(())
}

/// Moves `from`'s grants to `to` (for `apps:rename`); the caller holds the root lock.
pub fn rename_app_locked(root: &Root, from: &AppName, to: &AppName) -> Result<()> {
    let mut store = KeyStore::load(root)?;
    if let Some(users) = store.access.remove(from.as_str()) {
        store.access.insert(to.to_string(), users);
        store.save(root, None)?;
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_strict() {
        for good in [
            "alice",
            "deploy_bot",
            "alice.smith",
            "alice@example.com",
            "a-1",
        ] {
            assert!(good.parse::<UserName>().is_ok(), "{good}");
        }
        for bad in [
            "", "Alice", "1alice", ".alice", "-alice", "al ice", "al\"ice", "al'ice", "al/ice",
            "al;ice", "al\nice", "al$ice", "al+ice",
        ] {
            assert!(bad.parse::<UserName>().is_err(), "{bad:?}");
        }
        assert!("a".repeat(65).parse::<UserName>().is_err());
    }

    #[test]
    fn key_targets_are_users_or_fingerprints() {
        let fp = format!("SHA256:{}", "A".repeat(43));
        assert!(matches!(fp.parse(), Ok(KeyTarget::Fingerprint(_))));
        assert!(matches!("alice".parse(), Ok(KeyTarget::User(_))));
        assert!("SHA256:nope".parse::<KeyTarget>().is_err());
        assert!("MD5:aa:bb".parse::<KeyTarget>().is_err());
    }
}
