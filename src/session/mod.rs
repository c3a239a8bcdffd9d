//! The login state machine — *pending* ([`FlowStore`]: one flow cookie per login attempt)
//! → *authenticated* ([`SessionData`]) — where sessions live, and how one request reads
//! and changes its session ([`SessionHandle`]).
//!
//! Sessions live either in the browser (the default: the session is sealed with the
//! [`CookieKey`] into the session cookie, split over numbered cookies when large) or in a
//! server-side [`SessionStore`](crate::store::SessionStore) (the cookie then holds only
//! the sealed session id, and the record is sealed at rest).

mod cookie;
mod denylist;
mod flow;
mod handle;
mod names;
mod refresh;
mod vault;

use std::sync::{Arc, OnceLock};
use std::time::Duration;

use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use serde_json::Value;

pub use self::cookie::CookieKey;
pub(crate) use self::cookie::{CookieCodec, CookieNames};
pub(crate) use self::denylist::{Denylist, SYNC_EVERY};
pub(crate) use self::flow::{FlowStore, LoginFlow};
pub(crate) use self::handle::{SessionHandle, SessionUnavailable, StartError};
pub(crate) use self::names::{Name, StoreNames};
pub(crate) use self::refresh::Refresher;
pub(crate) use self::vault::{Vault, VaultError};
use crate::client::TokenSet;
use crate::clock::Clock;
use crate::oidc::IdClaims;
use crate::store::{SessionId, SessionStore, StoreError};
use crate::typed::Typed;
use crate::users::Resolved;

/// The authenticated state of one browser: the state machine's second step.
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// Random id (256 bits), new at every login (session fixation defence); the key of a
    /// server-side record.
    pub(crate) id: SessionId,
    pub(crate) tokens: TokenSet,
    /// The session's user as JSON: the login hook's user when the app has a hook
    /// (`app_user`), else the userinfo snapshot taken at login, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<Value>,
    /// Whether `user` is the login hook's (typed by the app) rather than the provider's.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) app_user: bool,
    /// The provider's id of the user (`sub`), when known.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sub: Option<String>,
    /// The provider's session id (`sid` of the validated id_token): back-channel logout
    /// names sessions by it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) sid: Option<String>,
    /// Whether `tokens.id_token` was validated (OpenID Connect): only then are its
    /// claims handed to the app.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) id_checked: bool,
    /// For a connected account's record (not a browser session): the app's account id.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) account: Option<String>,
    pub(crate) created_at: u64,
    /// Absolute end of the session, whatever else happens.
    pub(crate) expires_at: u64,
    /// When the session was last seen (coarsely: renewed at most every tenth of the idle
    /// timeout), for the idle timeout.
    #[serde(default)]
    pub(crate) last_seen: u64,
    /// Access tokens a refresh superseded that may still be live at the provider, kept
    /// until they expire so that logout revokes them too (another instance may still be
    /// serving one, so they are not revoked at the refresh).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub(crate) retired: Vec<Retired>,
    /// `user` deserialised into the type last asked for, so a cached session does not
    /// parse its user again on every request.
    #[serde(skip)]
    typed_user: Typed,
    /// The provider's user for `tokens.access_token`, as the user cache resolved it,
    /// with the time it stays fresh (the first resolution per session value).
    #[serde(skip)]
    resolved: OnceLock<(Resolved, u64)>,
    /// The validated id_token's claims, decoded once per session value.
    #[serde(skip)]
    id_claims: OnceLock<Option<Arc<IdClaims>>>,
}

/// An access token a refresh superseded, and when it expires (unix seconds).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct Retired {
    pub(crate) token: crate::secret::AccessToken,
    pub(crate) until: u64,
}

/// How many superseded access tokens a session keeps for revocation at logout.
const MAX_RETIRED: usize = 4;

/// How long a superseded access token without an expiry is kept for revocation.
const RETIRED_WITHOUT_EXPIRY_SECS: u64 = 3600;

/// The session's user, at login.
pub(crate) enum LoginUser {
    /// No user kept.
    None,
    /// The provider's userinfo snapshot.
    Provider(Value),
    /// The login hook's user.
    App(Value),
}

impl SessionData {
    /// A fresh session: new id, nothing carried over from before.
    pub(crate) fn start(
        tokens: TokenSet,
        user: LoginUser,
        sub: Option<String>,
        now: u64,
        ttl_secs: u64,
    ) -> Self {
        let (user, app_user) = match user {
            LoginUser::None => (None, false),
            LoginUser::Provider(v) => (Some(v), false),
            LoginUser::App(v) => (Some(v), true),
        };
        SessionData {
            id: SessionId::random(),
            tokens,
            user,
            app_user,
            sub,
            sid: None,
            id_checked: false,
            account: None,
            created_at: now,
            expires_at: now.saturating_add(ttl_secs),
            last_seen: now,
            retired: Vec::new(),
            typed_user: Typed::default(),
            resolved: OnceLock::new(),
            id_claims: OnceLock::new(),
        }
    }

    /// Records validated id_token claims: the session's `sub` and `sid` come from them.
    pub(crate) fn with_id_claims(mut self, claims: Option<&IdClaims>) -> Self {
        if let Some(claims) = claims {
            self.sub = Some(claims.sub.clone());
            if claims.sid.is_some() {
                self.sid.clone_from(&claims.sid);
            }
            self.id_checked = true;
            // The cached claims were the previous id_token's.
            self.id_claims = OnceLock::new();
        }
        self
    }

    /// The claims of the session's id_token, when it was validated: decoded from the
    /// token (sealed in the session since its check) once per session value.
    pub(crate) fn id_claims(&self) -> Option<Arc<IdClaims>> {
        if !self.id_checked {
            return None;
        }
        self.id_claims
            .get_or_init(|| {
                let token = self.tokens.id_token()?;
                crate::oidc::decode_checked(token.secret()).map(Arc::new)
            })
            .clone()
    }

    /// This session after a refresh that produced `tokens`: what the answer omitted is
    /// kept (scope, refresh token, id_token), and the superseded access token is retired
    /// while it may still be live (dropped once expired; the oldest first past
    /// [`MAX_RETIRED`]).
    pub(crate) fn refreshed(&self, mut tokens: TokenSet, now: u64) -> SessionData {
        tokens.inherit_omitted(&self.tokens);
        let mut next = self.clone();
        let old = self.tokens.access_token();
        if old.secret() != tokens.access_token().secret() {
            let until = self
                .tokens
                .expires_at()
                .unwrap_or(now.saturating_add(RETIRED_WITHOUT_EXPIRY_SECS));
            next.retired.push(Retired {
                token: old.clone(),
                until,
            });
        }
        next.retired.retain(|r| r.until > now);
        let excess = next.retired.len().saturating_sub(MAX_RETIRED);
        next.retired.drain(..excess);
        next.tokens = tokens;
        next
    }

    /// The provider's id of the user: as recorded, or from the snapshot of sessions that
    /// predate the record.
    pub(crate) fn subject(&self) -> Option<String> {
        self.sub.clone().or_else(|| {
            self.user
                .as_ref()
                .filter(|_| !self.app_user)
                .and_then(crate::client::subject_of)
        })
    }

    /// The session's user as `U`, parsed once per session value (`None` without a user).
    pub(crate) fn user_as<U>(&self) -> Result<Option<Arc<U>>, serde_json::Error>
    where
        U: DeserializeOwned + Send + Sync + 'static,
    {
        match &self.user {
            Some(value) => self.typed_user.get(value).map(Some),
            None => Ok(None),
        }
    }

    /// The resolved user kept with this session value while it is fresh (`until`, clock
    /// seconds): `BearerUser` from a session then needs no lookup at all.
    pub(crate) fn resolved_user(&self, now: u64) -> Option<Resolved> {
        self.resolved
            .get()
            .filter(|(_, until)| *until > now)
            .map(|(resolved, _)| resolved.clone())
    }

    /// Keeps `resolved` with this session value until `until`.
    pub(crate) fn keep_resolved(&self, resolved: Resolved, until: u64) {
        let _ = self.resolved.set((resolved, until));
    }
}

impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionData")
            .field("tokens", &self.tokens)
            .field("user", &self.user.is_some())
            .field("app_user", &self.app_user)
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .field("last_seen", &self.last_seen)
            .finish_non_exhaustive()
    }
}

/// A server-side store with the crate's timeout around every call.
#[derive(Clone, Debug)]
pub(crate) struct TimedStore {
    store: Arc<dyn SessionStore>,
    timeout: Duration,
}

impl TimedStore {
    pub(crate) fn new(store: Arc<dyn SessionStore>, timeout: Duration) -> TimedStore {
        TimedStore { store, timeout }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::new(operation, "timed out")))
    }

    pub(crate) async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.timed("load", self.store.load(id)).await
    }
    pub(crate) async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.timed("save", self.store.save(id, record, lookup, ttl))
            .await
    }
    pub(crate) async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.timed(
            "save",
            self.store
                .save_if_unchanged(id, expected, record, lookup, ttl),
        )
        .await
    }
    pub(crate) async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.timed("delete", self.store.delete(id)).await
    }
    pub(crate) async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.timed("delete", self.store.take(id)).await
    }
    pub(crate) fn locks(&self) -> bool {
        self.store.locks()
    }
    /// The timeout of each call.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
    pub(crate) async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        self.timed("find", self.store.find(key)).await
    }
    pub(crate) async fn lock(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> Result<Option<crate::store::LockToken>, StoreError> {
        self.timed("lock", self.store.lock(id, ttl)).await
    }
    pub(crate) async fn unlock(
        &self,
        id: &SessionId,
        token: &crate::store::LockToken,
    ) -> Result<(), StoreError> {
        self.timed("unlock", self.store.unlock(id, token)).await
    }
}

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

/// How many bytes of verified session cookies are remembered (keys are the cookies
/// themselves), and for how long.
const VERIFIED_CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
const VERIFIED_TTL: Duration = Duration::from_secs(300);

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
    /// Cookie values already opened and parsed, keyed by the sealed value itself: a
    /// session's cookie is immutable, so a hit skips AES-GCM and JSON on the hot path.
    /// Lookups compare the whole value; the hash is foldhash with a random seed. Only
    /// values that opened with the current key get in; expiry is checked on every read.
    verified: moka::sync::Cache<String, Arc<SessionData>, foldhash::fast::RandomState>,
    /// Server-side stores: cookie values already opened, to the id they hold.
    verified_ids: moka::sync::Cache<String, SessionId, foldhash::fast::RandomState>,
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
        let weigh = |sealed: &String| u32::try_from(sealed.len()).unwrap_or(u32::MAX);
        SessionConfig {
            codec,
            cookie_name,
            ttl_secs: lifetimes.0,
            idle_secs: lifetimes.1,
            clock,
            backend,
            refresher,
            verified: moka::sync::Cache::builder()
                .weigher(move |sealed: &String, _: &Arc<SessionData>| weigh(sealed))
                .max_capacity(VERIFIED_CAPACITY_BYTES)
                .time_to_live(VERIFIED_TTL)
                .build_with_hasher(foldhash::fast::RandomState::default()),
            verified_ids: moka::sync::Cache::builder()
                .weigher(move |sealed: &String, _: &SessionId| weigh(sealed))
                .max_capacity(VERIFIED_CAPACITY_BYTES)
                .time_to_live(VERIFIED_TTL)
                .build_with_hasher(foldhash::fast::RandomState::default()),
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
        self.verified.insert(sealed.to_owned(), data);
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
    fn open_cookie(&self, sealed: &str) -> Option<Loaded> {
        if let Some(data) = self.verified.get(sealed) {
            return self.check(data, false);
        }
        let opened = self.codec.open_compact::<SessionData>(
            &self.cookie_name,
            sealed,
            cookie::MAX_SESSION_COOKIE_BYTES,
        )?;
        let data = Arc::new(opened.value);
        if !opened.old_key {
            self.verified.insert(sealed.to_owned(), data.clone());
        }
        self.check(data, opened.old_key)
    }

    /// The session id a store-backed cookie holds, and whether an old key sealed it.
    fn open_id(&self, sealed: &str) -> Option<(SessionId, bool)> {
        if let Some(id) = self.verified_ids.get(sealed) {
            return Some((id, false));
        }
        let opened = self.codec.open_within::<SessionId>(
            &self.cookie_name,
            sealed,
            cookie::MAX_COOKIE_VALUE,
        )?;
        if !opened.old_key {
            self.verified_ids
                .insert(sealed.to_owned(), opened.value.clone());
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
        Ok(self
            .check(Arc::new(opened.value), opened.old_key || old_key)
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
