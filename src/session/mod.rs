//! The login state machine — *pending* ([`FlowStore`]: one flow cookie per login attempt)
//! → *authenticated* ([`SessionData`]) — where sessions live, and how one request reads
//! and changes its session ([`SessionHandle`]).
//!
//! Sessions live either in the browser (the default: the session is sealed with the
//! [`CookieKey`] into the session cookie, split over numbered cookies when large) or in a
//! server-side [`SessionStore`](crate::store::SessionStore) (the cookie then holds only
//! the sealed session id, and the record is sealed at rest).

mod cookie;
mod data;
mod denylist;
mod flow;
mod handle;
mod names;
mod refresh;
mod shared_users;
mod timed;
mod vault;
mod verified;

use std::sync::Arc;
use std::time::Duration;

pub use self::cookie::CookieKey;
pub(crate) use self::cookie::{CookieCodec, CookieNames};
pub(crate) use self::data::{LoginUser, Retired, SessionData};
pub(crate) use self::denylist::{Denylist, SYNC_EVERY};
pub(crate) use self::flow::{FlowStore, LoginFlow};
pub(crate) use self::handle::{SessionHandle, SessionUnavailable, StartError};
pub(crate) use self::names::{Name, StoreNames};
pub(crate) use self::refresh::Refresher;
pub(crate) use self::shared_users::SharedUsers;
pub(crate) use self::timed::TimedStore;
pub(crate) use self::vault::{Vault, VaultError, keep, revoke as revoke_connection};
use self::verified::Verified;
use crate::clock::Clock;
use crate::store::{SessionId, StoreError};

/// Where this provider's sessions live.
#[derive(Clone, Debug)]
pub(crate) enum Backend {
    /// In the browser: the session sealed into the cookie.
    Cookie,
    /// On the server: the sealed id in the cookie, the sealed record in the store.
    Store(TimedStore),
}

/// Largest record sealed at rest in a server-side store.
const MAX_RECORD_BYTES: usize = 1024 * 1024;

/// Where sessions live and for how long: the cookie name, codec, lifetimes, clock, store.
pub(crate) struct SessionConfig {
    pub(crate) codec: CookieCodec,
    pub(crate) cookie_name: String,
    /// Absolute lifetime of a session.
    pub(crate) ttl_secs: u64,
    /// Idle timeout: a session unseen this long ends.
    pub(crate) idle_secs: Option<u64>,
    pub(crate) clock: Clock,
    pub(crate) backend: Backend,
    /// Cookie-held sessions already opened and parsed (a hit skips AES-GCM and JSON).
    verified: Verified<Arc<SessionData>>,
    /// Server-side stores: cookie values already opened, to the id they hold.
    verified_ids: Verified<SessionId>,
    /// Server-side stores: records already opened (a record's sealed bytes are written
    /// once and never change: the same bytes loaded again open to the same session).
    /// Every request still loads the record: a logout's delete is seen at once.
    verified_records: Verified<Arc<SessionData>>,
    refresher: Refresher,
    /// Sessions the provider ended by back-channel logout.
    pub(crate) denylist: Arc<Denylist>,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("ttl_secs", &self.ttl_secs)
            .field("idle_secs", &self.idle_secs)
            .field("backend", &self.backend)
            .finish_non_exhaustive()
    }
}

/// A store-held session as read, with its record as sealed.
pub(crate) struct Stored {
    pub(crate) sealed: String,
    pub(crate) loaded: Loaded,
}

/// A session as read from where it lives, with what the request owes it.
pub(crate) struct Loaded {
    pub(crate) data: Arc<SessionData>,
    /// Opened with a previous key, or due for idle renewal: write it again.
    pub(crate) rewrite: bool,
}

impl SessionConfig {
    pub(crate) fn new(
        codec: CookieCodec,
        cookie_name: String,
        lifetimes: (u64, Option<u64>),
        clock: Clock,
        backend: Backend,
        refresher: Refresher,
    ) -> Self {
        SessionConfig {
            codec,
            cookie_name,
            ttl_secs: lifetimes.0,
            idle_secs: lifetimes.1,
            clock,
            backend,
            refresher,
            verified: Verified::new(verified::SESSIONS),
            verified_ids: Verified::new(verified::IDS),
            verified_records: Verified::new(verified::SESSIONS),
            denylist: Denylist::new(
                String::new(),
                None,
                Duration::from_secs(lifetimes.0.max(1)),
                SYNC_EVERY,
            ),
        }
    }

    /// Keeps back-channel logouts in `denylist` (shared with other instances through
    /// its store, when it has one).
    pub(crate) fn with_denylist(mut self, denylist: Arc<Denylist>) -> Self {
        self.denylist = denylist;
        self
    }

    /// The refresher of this provider's sessions.
    pub(crate) fn refresher(&self) -> &Refresher {
        &self.refresher
    }

    /// Remembers that the cookie value `sealed` holds `data` (it was just written).
    fn remember(&self, sealed: &str, data: Arc<SessionData>) {
        self.verified.insert(sealed.as_bytes(), data);
    }

    #[cfg(test)]
    fn codec_key_for_test(&self) -> CookieKey {
        self.codec.current_key_only()
    }

    /// The server-side store, if sessions live in one.
    pub(crate) fn store(&self) -> Option<&TimedStore> {
        match &self.backend {
            Backend::Store(store) => Some(store),
            Backend::Cookie => None,
        }
    }

    /// Whether `data` is still alive at `now`: before its absolute end and, with an idle
    /// timeout, seen recently enough.
    fn alive(&self, data: &SessionData, now: u64) -> bool {
        data.expires_at > now
            && self
                .idle_secs
                .is_none_or(|idle| data.last_seen.saturating_add(idle) > now)
            && !self.denylist.denies(data)
    }

    /// Whether `data` should be written again to move its idle deadline: coarsely, once a
    /// tenth of the idle timeout has passed, so a busy session is not rewritten per request.
    fn renewal_due(&self, data: &SessionData, now: u64) -> bool {
        self.idle_secs
            .is_some_and(|idle| now.saturating_sub(data.last_seen) >= (idle / 10).max(1))
    }

    /// Checks a session read from its cookie or record: dead → `None`; a renewal or a
    /// rewrite under the current key → `rewrite`.
    fn check(&self, data: Arc<SessionData>, old_key: bool) -> Option<Loaded> {
        let now = self.clock.now();
        if !self.alive(&data, now) {
            return None;
        }
        if self.renewal_due(&data, now) {
            let mut renewed = (*data).clone();
            renewed.last_seen = now;
            return Some(Loaded {
                data: Arc::new(renewed),
                rewrite: true,
            });
        }
        Some(Loaded {
            data,
            rewrite: old_key,
        })
    }

    /// Opens a cookie-held session (no I/O).
    fn open_cookie(&self, sealed: &[u8]) -> Option<Loaded> {
        if let Some(data) = self.verified.get(sealed) {
            return self.check(data, false);
        }
        let sealed = std::str::from_utf8(sealed).ok()?;
        let opened = self.codec.open_compact::<SessionData>(
            &self.cookie_name,
            sealed,
            cookie::MAX_SESSION_COOKIE_BYTES,
        )?;
        let data = Arc::new(opened.value);
        if !opened.old_key {
            self.verified.insert(sealed.as_bytes(), data.clone());
        }
        self.check(data, opened.old_key)
    }

    /// The session id a store-backed cookie holds, and whether an old key sealed it.
    fn open_id(&self, sealed: &[u8]) -> Option<(SessionId, bool)> {
        if let Some(id) = self.verified_ids.get(sealed) {
            return Some((id, false));
        }
        let sealed = std::str::from_utf8(sealed).ok()?;
        let opened = self.codec.open_within::<SessionId>(
            &self.cookie_name,
            sealed,
            cookie::MAX_COOKIE_VALUE,
        )?;
        if !opened.old_key {
            self.verified_ids
                .insert(sealed.as_bytes(), opened.value.clone());
        }
        Some((opened.value, opened.old_key))
    }

    /// The record name a session is sealed under at rest: bound to its id, so a record
    /// cannot be moved to another id.
    fn record_name(id: &SessionId) -> String {
        format!("record:{}", id.as_str())
    }

    /// Loads and opens a store-held session, and renews or re-seals its record when due
    /// (only if nobody changed or deleted it since: a renewal never undoes a logout).
    pub(crate) async fn load_record(
        &self,
        store: &TimedStore,
        id: &SessionId,
        old_key: bool,
    ) -> Result<Option<Loaded>, StoreError> {
        let Some(stored) = self.read_record(store, id, old_key).await? else {
            return Ok(None);
        };
        if stored.loaded.rewrite {
            // Renewal or re-seal under the current key; a failure only delays it.
            match self
                .replace_record(store, &stored.sealed, &stored.loaded.data)
                .await
            {
                Ok(true) => {}
                Ok(false) => tracing::debug!("the session record changed meanwhile; not renewed"),
                Err(e) => tracing::warn!(error = %e, "could not renew the session record"),
            }
        }
        Ok(Some(stored.loaded))
    }

    /// Opens a record as a store held it (taken at logout), whatever its state: its
    /// tokens are to be revoked.
    pub(crate) fn open_record(&self, id: &SessionId, sealed: &str) -> Option<SessionData> {
        self.codec
            .open_compact::<SessionData>(&Self::record_name(id), sealed, MAX_RECORD_BYTES)
            .map(|opened| opened.value)
            .filter(|data| data.id == *id)
    }

    /// Loads and opens a store-held session, with the record as sealed (what a later
    /// write compares against); writes nothing.
    pub(crate) async fn read_record(
        &self,
        store: &TimedStore,
        id: &SessionId,
        old_key: bool,
    ) -> Result<Option<Stored>, StoreError> {
        let Some(sealed) = store.load(id).await? else {
            return Ok(None);
        };
        // Bound to its id when it was opened: a record copied under another id is not it.
        if let Some(data) = self.verified_records.get(sealed.as_bytes())
            && data.id == *id
        {
            return Ok(self
                .check(data, old_key)
                .map(|loaded| Stored { sealed, loaded }));
        }
        let Some(opened) = self.codec.open_compact::<SessionData>(
            &Self::record_name(id),
            &sealed,
            MAX_RECORD_BYTES,
        ) else {
            tracing::warn!("a session record did not open (other key, or tampered); ignoring it");
            return Ok(None);
        };
        if opened.value.id != *id {
            return Ok(None);
        }
        let data = Arc::new(opened.value);
        if !opened.old_key {
            self.verified_records
                .insert(sealed.as_bytes(), data.clone());
        }
        Ok(self
            .check(data, opened.old_key || old_key)
            .map(|loaded| Stored { sealed, loaded }))
    }

    /// The lookup keys a store indexes `data` under: its provider user (`sub`) and
    /// session (`sid`), when known (back-channel logout finds sessions by them), and the
    /// vault's list for a connected account; named under the current cookie key (a MAC:
    /// the store holds no personal data, and nobody else can compute the names).
    pub(crate) fn lookup_keys(&self, data: &SessionData) -> Vec<String> {
        let names = self.codec.names();
        let mut keys: Vec<String> = data
            .subject()
            .map(|sub| names.current(Name::Sub(&sub)))
            .into_iter()
            .chain(data.sid.as_deref().map(|sid| names.current(Name::Sid(sid))))
            .collect();
        if data.account.is_some() {
            keys.push(names.current(Name::Accounts));
        }
        keys
    }

    /// Seals `data` at rest and saves it until its absolute or idle end.
    pub(crate) async fn save_record(
        &self,
        store: &TimedStore,
        data: &SessionData,
    ) -> Result<(), StoreError> {
        let (record, ttl) = self.seal_record(data)?;
        store
            .save(&data.id, &record, &self.lookup_keys(data), ttl)
            .await
    }

    /// Saves `data` over the record `expected` (as read): `Ok(false)`, writing nothing,
    /// when the record was deleted or replaced since.
    pub(crate) async fn replace_record(
        &self,
        store: &TimedStore,
        expected: &str,
        data: &SessionData,
    ) -> Result<bool, StoreError> {
        let (record, ttl) = self.seal_record(data)?;
        store
            .save_if_unchanged(&data.id, expected, &record, &self.lookup_keys(data), ttl)
            .await
    }

    /// `data` sealed at rest, and how long its record lives: until the session's
    /// absolute or idle end.
    fn seal_record(&self, data: &SessionData) -> Result<(String, Duration), StoreError> {
        let record = self
            .codec
            .seal_compact(&Self::record_name(&data.id), data, MAX_RECORD_BYTES)
            .ok_or_else(|| StoreError::new("save", "the session record is too large"))?;
        let now = self.clock.now();
        let end = match self.idle_secs {
            Some(idle) => data.expires_at.min(data.last_seen.saturating_add(idle)),
            None => data.expires_at,
        };
        Ok((record, Duration::from_secs(end.saturating_sub(now).max(1))))
    }

    /// The cookie values that carry `data` (one, or chunks), or `None` when it does not
    /// fit in [`cookie::MAX_SESSION_COOKIE_BYTES`].
    fn seal_cookie(&self, data: &SessionData) -> Option<Vec<String>> {
        let sealed = match &self.backend {
            Backend::Cookie => self
                .codec
                .seal_compact(&self.cookie_name, data, cookie::MAX_SESSION_COOKIE_BYTES)
                .or_else(|| {
                    // Superseded tokens are a courtesy to logout, not worth the session.
                    if data.retired.is_empty() {
                        return None;
                    }
                    tracing::warn!(
                        dropped = data.retired.len(),
                        "the session cookie is full: superseded access tokens are no longer \
                         kept for revocation at logout (they expire by themselves)"
                    );
                    let mut lean = data.clone();
                    lean.retired.clear();
                    self.codec.seal_compact(
                        &self.cookie_name,
                        &lean,
                        cookie::MAX_SESSION_COOKIE_BYTES,
                    )
                })?,
            Backend::Store(_) => self.codec.seal(&self.cookie_name, &data.id)?,
        };
        Some(cookie::chunks(&sealed))
    }
}

#[cfg(test)]
mod tests;
