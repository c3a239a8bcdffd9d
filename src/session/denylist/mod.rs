//! Sessions that ended but whose cookies may still be presented: cookie-held sessions
//! live in browsers, and the app cannot delete a copy. The denylist names them until
//! they would have expired anyway, and every read of a session checks it:
//!
//! * OpenID Connect Back-Channel Logout: by the provider's session id (`sid`) or user
//!   (`sub`, every session begun before the logout);
//! * the app's own logout (cookie store): by the session's id, so a copy of the
//!   pre-logout cookie is dead as well.
//!
//! The local list is this process's. With several instances it is not enough: the
//! provider posts the logout to one of them, and the browser logs out on one. A shared
//! store (Redis, or any [`SessionStore`](crate::store::SessionStore)) then carries the
//! entries ([`shared`]: a change log per instance), and every instance pulls what changed
//! every `sync_every` ([`SYNC_EVERY`] by default) — the instance that received the
//! logout refuses the session at once, the others within that interval.

mod shared;

use std::collections::HashMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, RwLock, Weak};
use std::time::{Duration, Instant};

use self::shared::{Entry, SharedLog};
use super::{SessionData, StoreNames, TimedStore};
use crate::store::{SessionId, StoreError};

/// How often instances pull entries from the shared store.
pub(crate) const SYNC_EVERY: Duration = Duration::from_secs(2);

/// The kind of the entries naming a session by its id (a logout here).
const ID: &str = "id";

/// The denylist of one provider's sessions.
pub(crate) struct Denylist {
    /// Lookup key (`sid:…` / `sub:…` / `id:…`, hashed) → the logout's `iat`, for `ttl`.
    local: RwLock<Local>,
    /// Set by the first session id entry (a logout here): until then a check costs one
    /// atomic load for them.
    ids_used: AtomicBool,
    /// Set by the first `sid` / `sub` entry (a back-channel logout): likewise.
    provider_used: AtomicBool,
    shared: Option<SharedLog>,
    /// The client context (client id + token URL) entries are keyed under.
    context: String,
    ttl: Duration,
    sync_every: Duration,
    syncing: std::sync::OnceLock<()>,
}

impl std::fmt::Debug for Denylist {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Denylist")
            .field("shared", &self.shared.is_some())
            .finish_non_exhaustive()
    }
}

/// A denylist's entries in this process: key → (`iat`, until when). An entry is never
/// dropped before it expires (a forgotten entry would let a logged-out session back in),
/// so this is not a cache with a capacity: it holds the logouts of one session lifetime
/// (each made by a session that logged in, or signed by the provider), and expired
/// entries are swept whenever it has doubled since the last sweep.
#[derive(Default)]
struct Local {
    entries: HashMap<String, (u64, Instant)>,
    sweep_at: usize,
}

/// Past this many live entries, each sweep logs a warning.
const LARGE: usize = 1_000_000;

/// Longer lifetimes are kept this long (an `Instant` cannot reach every `Duration`).
pub(super) const LONGEST_TTL: Duration = Duration::from_secs(100 * 365 * 24 * 3600);

impl Local {
    fn iat(&self, key: &str, now: Instant) -> Option<u64> {
        let (iat, until) = self.entries.get(key)?;
        (*until > now).then_some(*iat)
    }

    fn insert(&mut self, key: String, iat: u64, until: Instant, now: Instant) {
        self.entries.insert(key, (iat, until));
        if self.entries.len() >= self.sweep_at {
            self.entries.retain(|_, (_, until)| *until > now);
            self.sweep_at = (2 * self.entries.len()).max(1024);
            if self.entries.len() > LARGE {
                tracing::warn!(
                    entries = self.entries.len(),
                    "the logout denylist holds over a million live entries (logouts within \
                     one session lifetime); each sweep of it blocks session checks briefly"
                );
            }
        }
    }
}

impl Denylist {
    /// Entries live `ttl` (the session lifetime); `shared` carries them to other
    /// instances (its log named by the client's store names), pulled every `sync_every`.
    pub(crate) fn new(
        context: String,
        shared: Option<(TimedStore, &StoreNames)>,
        ttl: Duration,
        sync_every: Duration,
    ) -> Arc<Self> {
        Arc::new(Denylist {
            local: RwLock::default(),
            ids_used: AtomicBool::new(false),
            provider_used: AtomicBool::new(false),
            shared: shared.map(|(store, names)| SharedLog::new(store, names, ttl)),
            context,
            ttl,
            sync_every,
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

    /// Whether this session ended: logged out here, or by the provider.
    pub(crate) fn denies(self: &Arc<Self>, data: &SessionData) -> bool {
        self.start_sync();
        if self.ids_used.load(Ordering::Acquire)
            && self.local_iat(&self.key(ID, data.id.as_str())).is_some()
        {
            return true;
        }
        if !self.provider_used.load(Ordering::Acquire) {
            return false;
        }
        if let Some(sid) = &data.sid
            && self.local_iat(&self.key("sid", sid)).is_some()
        {
            return true;
        }
        let Some(sub) = data.subject() else {
            return false;
        };
        let before = |iat: u64| data.created_at <= iat.saturating_add(crate::oidc::LEEWAY_SECS);
        self.local_iat(&self.key("sub", &sub)).is_some_and(before)
            || (data.sid.is_none()
                && self
                    .local_iat(&self.key("sub-nosid", &sub))
                    .is_some_and(before))
    }

    /// The entry key: kind and value hashed with the client context, so providers
    /// sharing a store never match each other's users. Entries are the log's content,
    /// not store names: instances under other cookie keys (a rotation) read them alike.
    fn key(&self, kind: &str, value: &str) -> String {
        use sha2::{Digest as _, Sha256};
        let digest = Sha256::digest(format!("{}\n{value}", self.context).as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        format!("{kind}:{hex}")
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
            (None, None) => return Ok(()),
        };
        let entries: Vec<Entry> = keys.into_iter().map(|key| Entry { key, iat }).collect();
        self.record(&entries, self.ttl).await
    }

    /// Records a session the app logged out, for `ttl` (until it would have expired), so
    /// that a copy of its cookie is refused too.
    pub(crate) async fn add_session(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let entry = Entry {
            key: self.key(ID, id.as_str()),
            iat: 0,
        };
        self.record(&[entry], ttl).await
    }

    /// Keeps `entries` here at once, and in the shared store for the other instances.
    async fn record(&self, entries: &[Entry], ttl: Duration) -> Result<(), StoreError> {
        for entry in entries {
            self.insert(entry.key.clone(), entry.iat);
        }
        match &self.shared {
            Some(log) => log.append(entries, ttl).await,
            None => Ok(()),
        }
    }

    fn insert(&self, key: String, iat: u64) {
        let used = if key.split(':').next() == Some(ID) {
            &self.ids_used
        } else {
            &self.provider_used
        };
        let now = Instant::now();
        let mut local = self.local.write().unwrap_or_else(|e| e.into_inner());
        let newest = local.iat(&key, now).map_or(iat, |known| known.max(iat));
        local.insert(key, newest, now + self.ttl.min(LONGEST_TTL), now);
        drop(local);
        used.store(true, Ordering::Release);
    }

    /// The `iat` of a live local entry.
    fn local_iat(&self, key: &str) -> Option<u64> {
        let local = self.local.read().unwrap_or_else(|e| e.into_inner());
        local.iat(key, Instant::now())
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

    /// Takes what the other instances added to the shared store since the last pull.
    pub(crate) async fn pull(&self) -> Result<(), StoreError> {
        match &self.shared {
            Some(log) => log.pull(|entry| self.insert(entry.key, entry.iat)).await,
            None => Ok(()),
        }
    }
}

#[cfg(test)]
mod tests;
