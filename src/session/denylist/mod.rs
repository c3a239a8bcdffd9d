//! Sessions the provider ended (OpenID Connect Back-Channel Logout) that the app cannot
//! delete: cookie-held sessions live in browsers. The denylist names them by the
//! provider's session id (`sid`) or user (`sub`, every session begun before the logout)
//! until they would have expired anyway, and every read of a session checks it.
//!
//! The local list is this process's. With several instances it is not enough: the
//! provider posts the logout to one of them. A shared store (Redis, or any
//! [`SessionStore`](crate::store::SessionStore)) then carries the entries, and every
//! instance pulls new ones every [`SYNC_EVERY`] — the instance that received the logout
//! ends the session on its next request, the others within that interval.

use std::collections::HashSet;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, Weak};
use std::time::Duration;

use serde::{Deserialize, Serialize};

use super::{SessionData, TimedStore, lookup_key};
use crate::store::{SessionId, StoreError};

/// How often instances pull entries from the shared store.
pub(crate) const SYNC_EVERY: Duration = Duration::from_secs(2);
/// The shared store's lookup key for every entry.
const LIST_KEY: &str = "backchannel-denylist";

/// One entry as kept in the shared store.
#[derive(Serialize, Deserialize)]
struct Entry {
    key: String,
    iat: u64,
}

/// The denylist of one provider's sessions.
pub(crate) struct Denylist {
    /// Lookup key (`sid:…` / `sub:…`, hashed) → the logout's `iat`.
    local: moka::sync::Cache<String, u64>,
    /// Set by the first entry: until then a check costs one atomic load.
    used: AtomicBool,
    shared: Option<TimedStore>,
    /// The client context (client id + token URL) entries are keyed under.
    context: String,
    ttl: Duration,
    sync_every: Duration,
    /// Shared entries already pulled.
    pulled: Mutex<HashSet<String>>,
    syncing: std::sync::OnceLock<()>,
}

impl std::fmt::Debug for Denylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Denylist")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

impl Denylist {
    /// Entries live `ttl` (the session lifetime); `shared` carries them to other
    /// instances, pulled every `sync_every`.
    pub(crate) fn new(
        context: String,
        shared: Option<TimedStore>,
        ttl: Duration,
        sync_every: Duration,
    ) -> Arc<Self> {
        Arc::new(Denylist {
            local: moka::sync::Cache::builder()
                .max_capacity(1_000_000)
                .time_to_live(ttl)
                .build(),
            used: AtomicBool::new(false),
            shared,
            context,
            ttl,
            sync_every,
            pulled: Mutex::default(),
            syncing: std::sync::OnceLock::new(),
        })
    }

    /// Whether a logout token names this session: its `sid`; else, for a token with
    /// only a `sub`, every session of that user begun up to the logout; for a token with
    /// both, the user's sessions that have no `sid` (begun before the provider sent one).
    /// Times compare with the leeway: the provider's `iat` and our `created_at` come
    /// from two clocks.
    pub(crate) fn names(claims: &crate::oidc::LogoutClaims, data: &SessionData) -> bool {
        let sub = data.subject();
        let before = data.created_at <= claims.iat.saturating_add(crate::oidc::LEEWAY_SECS);
        match (&claims.sid, &claims.sub) {
            (Some(sid), _) if data.sid.as_ref() == Some(sid) => true,
            (Some(_), Some(s)) => data.sid.is_none() && sub.as_ref() == Some(s) && before,
            (None, Some(s)) => sub.as_ref() == Some(s) && before,
            _ => false,
        }
    }

    /// Whether the provider ended this session.
    pub(crate) fn denies(self: &Arc<Self>, data: &SessionData) -> bool {
        self.start_sync();
        if !self.used.load(Ordering::Acquire) {
            return false;
        }
        if let Some(sid) = &data.sid
            && self.local.contains_key(&self.key("sid", sid))
        {
            return true;
        }
        let Some(sub) = data.subject() else {
            return false;
        };
        let before = |iat: u64| data.created_at <= iat.saturating_add(crate::oidc::LEEWAY_SECS);
        self.local.get(&self.key("sub", &sub)).is_some_and(before)
            || (data.sid.is_none()
                && self
                    .local
                    .get(&self.key("sub-nosid", &sub))
                    .is_some_and(before))
    }

    /// The entry key: kind and value hashed with the client context, so providers
    /// sharing a store never match each other's users.
    fn key(&self, kind: &str, value: &str) -> String {
        lookup_key(kind, &format!("{}\n{value}", self.context))
    }

    /// Records a logout token's sessions (see [`names`](Self::names)) until they would
    /// have expired.
    pub(crate) async fn add(
        &self,
        sid: Option<&str>,
        sub: Option<&str>,
        iat: u64,
    ) -> Result<(), StoreError> {
        let keys: Vec<String> = match (sid, sub) {
            (Some(sid), Some(sub)) => vec![self.key("sid", sid), self.key("sub-nosid", sub)],
            (Some(sid), None) => vec![self.key("sid", sid)],
            (None, Some(sub)) => vec![self.key("sub", sub)],
            (None, None) => Vec::new(),
        };
        for key in keys {
            self.insert(key.clone(), iat);
            if let Some(store) = &self.shared {
                let entry = serde_json::to_string(&Entry {
                    key: key.clone(),
                    iat,
                })
                .map_err(|e| StoreError::new("save", e))?;
                let hash = key.rsplit(':').next().unwrap_or_default();
                let id = SessionId::from_stored(format!("denylist-{hash}-{iat}"));
                self.pulled
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.as_str().to_owned());
                store
                    .save(&id, &entry, &[LIST_KEY.to_owned()], self.ttl)
                    .await?;
            }
        }
        Ok(())
    }

    fn insert(&self, key: String, iat: u64) {
        let newest = self.local.get(&key).map_or(iat, |known| known.max(iat));
        self.local.insert(key, newest);
        self.used.store(true, Ordering::Release);
    }

    /// Starts pulling from the shared store, once, on the first check (inside the
    /// runtime); the task ends with the denylist.
    fn start_sync(self: &Arc<Self>) {
        if self.shared.is_none() || self.syncing.get().is_some() {
            return;
        }
        let Ok(runtime) = tokio::runtime::Handle::try_current() else {
            return;
        };
        if self.syncing.set(()).is_err() {
            return;
        }
        let weak: Weak<Denylist> = Arc::downgrade(self);
        let every = self.sync_every;
        runtime.spawn(async move {
            loop {
                let Some(this) = weak.upgrade() else { break };
                if let Err(e) = this.pull().await {
                    tracing::warn!(error = %e, "could not read the shared logout denylist");
                }
                drop(this);
                tokio::time::sleep(every).await;
            }
        });
    }

    /// Takes the shared store's entries this instance has not seen yet.
    pub(crate) async fn pull(&self) -> Result<(), StoreError> {
        let Some(store) = &self.shared else {
            return Ok(());
        };
        let ids = store.find(LIST_KEY).await?;
        // Entries that expired from the store are forgotten here too.
        let live: HashSet<&str> = ids.iter().map(SessionId::as_str).collect();
        self.pulled
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .retain(|id| live.contains(id.as_str()));
        for id in &ids {
            let fresh = !self
                .pulled
                .lock()
                .unwrap_or_else(|e| e.into_inner())
                .contains(id.as_str());
            if !fresh {
                continue;
            }
            if let Some(record) = store.load(id).await?
                && let Ok(entry) = serde_json::from_str::<Entry>(&record)
            {
                self.insert(entry.key, entry.iat);
                self.pulled
                    .lock()
                    .unwrap_or_else(|e| e.into_inner())
                    .insert(id.as_str().to_owned());
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests;
