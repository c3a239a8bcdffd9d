//! The names the crate gives a store for what it must find again without a random id:
//! connected accounts, the lookup keys (the provider's `sub` / `sid`, the vault's list)
//! and the shared denylist's log. Session records are named by their random id instead.
//!
//! Such names come from values anyone may know (a user's `sub`, an account id, the
//! client id and token URL). Hashed, they were still computable: an app whose own
//! `tower-sessions` layer shares the store loads whatever id a visitor's cookie names,
//! so a visitor could read an index (session ids), or overwrite a connection or an index
//! (hiding sessions from back-channel logout). They are therefore a MAC of those values
//! (HMAC-SHA256, 128 bits kept) under a key derived from the cookie key — its own
//! sub-key, never the encryption key — and bound to the client context.
//!
//! Names are written under the current key; reads also look under the previous keys'
//! names and the unkeyed names of 0.2 ([`every`](StoreNames::every)), so a key rotation
//! or an upgrade loses nothing.

use hmac::{Hmac, Mac as _};
use sha2::{Digest as _, Sha256};

type HmacSha256 = Hmac<Sha256>;

/// What the names' sub-key is derived for (a new label makes new names).
const LABEL: &[u8] = b"axum-oauth-login store names v1";

/// What a name names.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Name<'a> {
    /// The lookup key of a provider's user id: back-channel logout finds sessions by it.
    Sub(&'a str),
    /// The lookup key of a provider's session id (`sid`).
    Sid(&'a str),
    /// The record of a connected account (the app's account id).
    Account(&'a str),
    /// The lookup key every connected account of the client is listed under.
    Accounts,
    /// The prefix of the shared denylist's log.
    Denylist,
    /// A token's user in the shared user cache (the MAC covers the token itself).
    User(&'a str),
}

impl Name<'_> {
    /// The kind (the name's visible prefix) and the value the MAC covers.
    fn parts(&self) -> (&'static str, &str) {
        match *self {
            Name::Sub(sub) => ("sub", sub),
            Name::Sid(sid) => ("sid", sid),
            Name::Account(account) => ("acct", account),
            Name::Accounts => ("accounts", ""),
            Name::Denylist => ("denylist", ""),
            Name::User(token) => ("user", token),
        }
    }
}

/// The store names of one client, under the cookie key and its previous keys.
#[derive(Clone)]
pub(crate) struct StoreNames {
    /// One keyed MAC per cookie key, the current key's first.
    macs: Vec<HmacSha256>,
    /// The client id and token URL: two clients sharing a store never share a name.
    context: String,
}

impl std::fmt::Debug for StoreNames {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("StoreNames([redacted])")
    }
}

impl StoreNames {
    /// Names under `keys` (the cookie keys' master material, the current key first) for
    /// the client `context`.
    pub(crate) fn new<'k>(keys: impl IntoIterator<Item = &'k [u8]>, context: &str) -> Self {
        let macs = keys
            .into_iter()
            .map(|master| {
                let mut derive = keyed(master);
                derive.update(LABEL);
                keyed(&derive.finalize().into_bytes())
            })
            .collect();
        StoreNames {
            macs,
            context: context.to_owned(),
        }
    }

    /// The name to write `name` under: the current key's.
    pub(crate) fn current(&self, name: Name<'_>) -> String {
        match self.macs.first() {
            Some(mac) => self.keyed_name(mac, name),
            None => legacy(name, &self.context),
        }
    }

    /// Every name `name` may have been written under: the current key's first, then the
    /// previous keys', then 0.2's unkeyed one.
    pub(crate) fn every(&self, name: Name<'_>) -> Vec<String> {
        let mut names = self.every_keyed(name);
        names.push(legacy(name, &self.context));
        names
    }

    /// The names of `name` under the current key, then under the previous keys (for
    /// records 0.2 never wrote).
    pub(crate) fn every_keyed(&self, name: Name<'_>) -> Vec<String> {
        self.macs
            .iter()
            .map(|mac| self.keyed_name(mac, name))
            .collect()
    }

    /// `{kind}:{hex}`: 128 bits of the MAC of the context and the value, each
    /// length-prefixed (no two inputs share an encoding).
    fn keyed_name(&self, mac: &HmacSha256, name: Name<'_>) -> String {
        let (kind, value) = name.parts();
        let mut mac = mac.clone();
        for part in [kind, self.context.as_str(), value] {
            mac.update(&(part.len() as u64).to_be_bytes());
            mac.update(part.as_bytes());
        }
        format!("{kind}:{}", hex(&mac.finalize().into_bytes()[..16]))
    }
}

fn keyed(key: &[u8]) -> HmacSha256 {
    // HMAC takes a key of any length.
    HmacSha256::new_from_slice(key).unwrap_or_else(|_| unreachable!("HMAC takes any key"))
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// 0.2's unkeyed name: still read, never written.
fn legacy(name: Name<'_>, context: &str) -> String {
    let hashed = |kind: &str, value: &str| {
        format!("{kind}:{}", hex(&Sha256::digest(value.as_bytes())[..16]))
    };
    match name {
        Name::Sub(sub) => hashed("sub", sub),
        Name::Sid(sid) => hashed("sid", sid),
        Name::Account(account) => format!(
            "acct-{}",
            hex(&Sha256::digest(format!("{context}\n{account}").as_bytes()))
        ),
        Name::Accounts => "vault:accounts".to_owned(),
        Name::Denylist => hashed("denylist", context),
        // 0.2 kept no users in a store: its unkeyed name names nothing (and covers no
        // token: a bare hash of one would be a name anyone holding it could compute).
        Name::User(_) => hashed("user", ""),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn names(keys: &[&[u8]]) -> StoreNames {
        StoreNames::new(keys.iter().copied(), "client|https://p/token")
    }

    #[test]
    fn names_depend_on_the_key_the_context_and_the_value() {
        let a = names(&[&[1; 64]]);
        let name = a.current(Name::Sub("u-1"));
        assert!(name.starts_with("sub:") && name.len() == 4 + 32, "{name}");
        assert_eq!(name, names(&[&[1; 64]]).current(Name::Sub("u-1")));
        assert_ne!(name, names(&[&[2; 64]]).current(Name::Sub("u-1")));
        assert_ne!(name, a.current(Name::Sub("u-2")));
        assert_ne!(name, a.current(Name::Sid("u-1")));
        let other_client = StoreNames::new([[1u8; 64].as_slice()], "other|https://p/token");
        assert_ne!(name, other_client.current(Name::Sub("u-1")));
        // Nothing of 0.2's hashed names survives in the keyed ones.
        assert_ne!(name, legacy(Name::Sub("u-1"), "client|https://p/token"));
    }

    #[test]
    fn every_name_is_the_current_then_the_previous_then_the_legacy() {
        let rotated = names(&[&[2; 64], &[1; 64]]);
        let old = names(&[&[1; 64]]);
        for name in [
            Name::Sub("u"),
            Name::Sid("s"),
            Name::Account("biz"),
            Name::Accounts,
            Name::Denylist,
        ] {
            let every = rotated.every(name);
            assert_eq!(every.len(), 3);
            assert_eq!(every[0], rotated.current(name));
            assert_eq!(every[1], old.current(name), "the previous key's name");
            assert_eq!(every[2], legacy(name, "client|https://p/token"));
            assert_eq!(rotated.every_keyed(name), every[..2]);
        }
        // 0.2's names, as it wrote them.
        assert_eq!(
            legacy(Name::Accounts, "client|https://p/token"),
            "vault:accounts"
        );
        assert!(legacy(Name::Account("biz"), "x").starts_with("acct-"));
    }
}
