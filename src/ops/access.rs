//! Who may push over ssh: keys and app grants (kept by [`crate::store::keys`]), and the forced command that checks them ([`super::ssh`]).

pub use crate::store::keys::{
    Access, KeyEntry, KeyTarget, NewKey, access, add, grant, list, remove, revoke,
};
