//! The login state machine — *pending* ([`FlowStore`]: one flow cookie per login attempt)
//! → *authenticated* ([`SessionData`]) — and how one request reads and changes it.
//!
//! The default store is the browser itself: the session is serialised, encrypted with
//! the [`CookieKey`] and kept in one cookie. A request gets a [`SessionHandle`] that
//! decrypts the cookie the first time something asks for the session (routes that never
//! ask pay nothing) and remembers whether the session changed, so the layer writes
//! `Set-Cookie` only then.

mod cookie;
mod flow;
mod refresh;

use std::sync::{Arc, Mutex, OnceLock};

use rand::RngCore as _;
use serde::{Deserialize, Serialize};

pub use self::cookie::CookieKey;
use self::cookie::find_cookie_value;
pub(crate) use self::cookie::{CookieCodec, CookieNames};
pub(crate) use self::flow::{FlowStore, LoginFlow};
use self::refresh::Freshness;
pub(crate) use self::refresh::Refresher;
use crate::client::{TokenSet, UserInfo};
use crate::clock::Clock;

/// The authenticated state of one browser: the state machine's second step (the first is
/// the login flow cookie, see `routes`).
#[derive(Clone, Serialize, Deserialize)]
pub(crate) struct SessionData {
    /// Random id, new at every login (session fixation defence).
    pub(crate) id: String,
    pub(crate) tokens: TokenSet,
    /// The userinfo snapshot taken at login, when configured.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub(crate) user: Option<UserInfo>,
    pub(crate) created_at: u64,
    /// Absolute end of the session, whatever the cookie's Max-Age says.
    pub(crate) expires_at: u64,
}

impl SessionData {
    /// A fresh session: new id, nothing carried over from before.
    pub(crate) fn start(tokens: TokenSet, user: Option<UserInfo>, now: u64, ttl_secs: u64) -> Self {
        let mut id = [0u8; 16];
        rand::rng().fill_bytes(&mut id);
        SessionData {
            id: id.iter().map(|b| format!("{b:02x}")).collect(),
            tokens,
            user,
            created_at: now,
            expires_at: now.saturating_add(ttl_secs),
        }
    }
}

impl std::fmt::Debug for SessionData {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionData")
            .field("tokens", &self.tokens)
            .field("user", &self.user.as_ref().map(UserInfo::display_name))
            .field("created_at", &self.created_at)
            .field("expires_at", &self.expires_at)
            .finish_non_exhaustive()
    }
}

/// How many bytes of verified session cookies are remembered (keys are the cookies
/// themselves), and for how long.
const VERIFIED_CAPACITY_BYTES: u64 = 16 * 1024 * 1024;
const VERIFIED_TTL: std::time::Duration = std::time::Duration::from_secs(300);

/// Where sessions live and for how long: the cookie name, codec, lifetime and clock.
#[derive(Clone)]
pub(crate) struct SessionConfig {
    pub(crate) codec: CookieCodec,
    pub(crate) cookie_name: String,
    pub(crate) ttl_secs: u64,
    pub(crate) clock: Clock,
    /// Sessions already decrypted and parsed, keyed by the sealed cookie value itself: a
    /// session's cookie is immutable, so a hit skips AES-GCM and JSON on the hot path.
    /// Lookups compare the whole value (no collision can alias two cookies); the hash is
    /// foldhash with a random seed, several times faster than SHA-256 on a 1 KiB cookie.
    /// Only values that decrypted with our key get in; expiry is checked on every read.
    verified: moka::sync::Cache<String, Arc<SessionData>, foldhash::fast::RandomState>,
    /// Refreshes expiring tokens.
    refresher: Refresher,
}

impl std::fmt::Debug for SessionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SessionConfig")
            .field("cookie_name", &self.cookie_name)
            .field("ttl_secs", &self.ttl_secs)
            .finish_non_exhaustive()
    }
}

impl SessionConfig {
    pub(crate) fn new(
        codec: CookieCodec,
        cookie_name: String,
        ttl_secs: u64,
        clock: Clock,
        refresher: Refresher,
    ) -> Self {
        SessionConfig {
            codec,
            cookie_name,
            ttl_secs,
            clock,
            refresher,
            verified: moka::sync::Cache::builder()
                .weigher(|sealed: &String, _: &Arc<SessionData>| {
                    u32::try_from(sealed.len()).unwrap_or(u32::MAX)
                })
                .max_capacity(VERIFIED_CAPACITY_BYTES)
                .time_to_live(VERIFIED_TTL)
                .build_with_hasher(foldhash::fast::RandomState::default()),
        }
    }

    /// The refresher of this provider's sessions.
    pub(crate) fn refresher(&self) -> &Refresher {
        &self.refresher
    }

    /// Decrypts and checks a session cookie value; expired or unreadable → `None`.
    fn load(&self, sealed: &str) -> Option<Arc<SessionData>> {
        let data = match self.verified.get(sealed) {
            Some(data) => data,
            None => {
                let data = Arc::new(self.codec.open::<SessionData>(&self.cookie_name, sealed)?);
                self.verified.insert(sealed.to_owned(), data.clone());
                data
            }
        };
        (data.expires_at > self.clock.now()).then_some(data)
    }

    /// The `Set-Cookie` value for `data`, or a removal when it cannot be stored.
    /// Seals `data` for the session cookie. When it is too large for one cookie, it is
    /// slimmed step by step — first without the user snapshot (the user is then resolved
    /// through the cache), then without the ID token and unknown token fields — and the
    /// session actually stored is returned with the sealed value. `None` when even the
    /// slimmest form does not fit.
    pub(crate) fn seal(&self, data: &SessionData) -> Option<(String, SessionData)> {
        let fits = |d: &SessionData| self.codec.seal(&self.cookie_name, d);
        if let Some(value) = fits(data) {
            return Some((value, data.clone()));
        }
        let mut slim = data.clone();
        slim.user = None;
        if let Some(value) = fits(&slim) {
            return Some((value, slim));
        }
        slim.tokens = slim.tokens.without_extras();
        fits(&slim).map(|value| (value, slim))
    }

    /// The `Set-Cookie` value for `data`, or a removal when it cannot be stored.
    fn set_cookie(&self, data: &SessionData) -> String {
        match self.seal(data) {
            Some((value, stored)) => {
                // The browser sends this value next: remember what it holds as verified.
                self.verified.insert(value.clone(), Arc::new(stored));
                let max_age = data.expires_at.saturating_sub(self.clock.now());
                self.codec
                    .set_cookie(&self.cookie_name, value, "/", max_age)
            }
            None => {
                tracing::error!("session too large for a cookie even slimmed; not stored");
                self.codec.remove_cookie(&self.cookie_name, "/")
            }
        }
    }
}

/// One cookie's value inside a request's `Cookie` header, without copying it.
struct CookieSlice {
    header: http::HeaderValue,
    range: std::ops::Range<usize>,
}

impl CookieSlice {
    fn find(headers: &http::HeaderMap, name: &str) -> Option<CookieSlice> {
        headers
            .get_all(http::header::COOKIE)
            .iter()
            .find_map(|header| {
                let text = header.to_str().ok()?;
                let value = find_cookie_value(text, name)?;
                // `value` points into `text`: its offset is the distance between the two.
                let start = value.as_ptr() as usize - text.as_ptr() as usize;
                Some(CookieSlice {
                    header: header.clone(),
                    range: start..start + value.len(),
                })
            })
    }

    fn as_str(&self) -> &str {
        self.header
            .to_str()
            .ok()
            .and_then(|text| text.get(self.range.clone()))
            .unwrap_or_default()
    }
}

/// The session's tokens expired and the provider could not refresh them just now.
#[derive(Debug, Clone, Copy)]
pub(crate) struct SessionUnavailable;

#[derive(Default)]
enum Change {
    #[default]
    Unchanged,
    Set(Arc<SessionData>),
    Clear,
}

/// One request's view of its session: lazily loaded, change-tracked.
pub(crate) struct SessionHandle {
    config: Arc<SessionConfig>,
    /// The session cookie's value, as a slice of the request's `Cookie` header (a
    /// reference-counted clone, not a copy).
    sealed: Option<CookieSlice>,
    loaded: OnceLock<Option<Arc<SessionData>>>,
    change: Mutex<Change>,
}

impl SessionHandle {
    /// Captures the session cookie of a request without decrypting it.
    pub(crate) fn from_headers(config: Arc<SessionConfig>, headers: &http::HeaderMap) -> Self {
        let sealed = CookieSlice::find(headers, &config.cookie_name);
        SessionHandle {
            config,
            sealed,
            loaded: OnceLock::new(),
            change: Mutex::new(Change::Unchanged),
        }
    }

    /// Whether the request carried a session cookie at all (valid or not).
    pub(crate) fn has_cookie(&self) -> bool {
        self.sealed.is_some()
    }

    /// The current session: a change made during this request wins over the cookie.
    /// Decrypts at most once per request.
    pub(crate) fn get(&self) -> Option<Arc<SessionData>> {
        match &*self.lock() {
            Change::Set(data) => return Some(data.clone()),
            Change::Clear => return None,
            Change::Unchanged => {}
        }
        self.loaded
            .get_or_init(|| {
                let sealed = self.sealed.as_ref()?.as_str();
                let data = self.config.load(sealed);
                if data.is_none() {
                    tracing::debug!("session cookie rejected (unreadable or expired)");
                }
                data
            })
            .clone()
    }

    /// The session if its tokens can be used without a refresh: `Some(None)` for no
    /// session, `Some(Some(..))` for a current one, `None` when a refresh is due (then
    /// call [`get_fresh`](Self::get_fresh)). Never blocks.
    pub(crate) fn get_if_current(&self) -> Option<Option<Arc<SessionData>>> {
        match self.get() {
            Some(data) if self.config.refresher.is_due(&data) => None,
            data => Some(data),
        }
    }

    /// The session with usable tokens, refreshing them first when they are about to
    /// expire (see [`Refresher`]). A refresh the provider refused ends the session
    /// (`Ok(None)`); a provider outage with an expired token is `Err`, and the session is
    /// kept for a later try.
    pub(crate) async fn get_fresh(&self) -> Result<Option<Arc<SessionData>>, SessionUnavailable> {
        let Some(data) = self.get() else {
            return Ok(None);
        };
        match self.config.refresher.ensure_fresh(data).await {
            Freshness::Current(data) => Ok(Some(data)),
            Freshness::Refreshed(next) => {
                let next: Arc<SessionData> = Arc::from(next);
                *self.lock() = Change::Set(next.clone());
                Ok(Some(next))
            }
            Freshness::Ended => {
                self.clear();
                Ok(None)
            }
            Freshness::Unavailable => Err(SessionUnavailable),
        }
    }

    /// Replaces the session (login, refreshed tokens).
    pub(crate) fn set(&self, data: SessionData) {
        *self.lock() = Change::Set(Arc::new(data));
    }

    /// Ends the session.
    pub(crate) fn clear(&self) {
        *self.lock() = Change::Clear;
    }

    /// The `Set-Cookie` value this request owes the browser, if any: after a change, or
    /// to remove a cookie that turned out unreadable or expired.
    pub(crate) fn set_cookie_header(&self) -> Option<String> {
        match &*self.lock() {
            Change::Set(data) => Some(self.config.set_cookie(data)),
            Change::Clear => self.has_cookie().then(|| {
                self.config
                    .codec
                    .remove_cookie(&self.config.cookie_name, "/")
            }),
            Change::Unchanged => {
                // Only when someone looked and found the cookie unusable: clean it up.
                let rejected = self.has_cookie() && matches!(self.loaded.get(), Some(None));
                rejected.then(|| {
                    self.config
                        .codec
                        .remove_cookie(&self.config.cookie_name, "/")
                })
            }
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Change> {
        // A poisoned lock only means a panic elsewhere; the data is still consistent.
        self.change.lock().unwrap_or_else(|e| e.into_inner())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::secret::AccessToken;

    fn config(clock: Clock) -> Arc<SessionConfig> {
        let client = crate::OAuthClient::builder(crate::Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1/cb")
            .build()
            .unwrap();
        let refresher = Refresher::new(
            client,
            std::time::Duration::from_secs(60),
            std::time::Duration::from_secs(60),
            clock.clone(),
        );
        Arc::new(SessionConfig::new(
            CookieCodec::new(CookieKey::generate(), false),
            "s".into(),
            100,
            clock,
            refresher,
        ))
    }

    fn headers_with(cookie: &str) -> http::HeaderMap {
        let mut h = http::HeaderMap::new();
        h.insert(http::header::COOKIE, cookie.parse().unwrap());
        h
    }

    fn cookie_value(set_cookie: &str) -> String {
        set_cookie
            .split(';')
            .next()
            .unwrap()
            .split_once('=')
            .unwrap()
            .1
            .to_owned()
    }

    #[test]
    fn untouched_handle_writes_nothing() {
        let cfg = config(Clock::manual(0));
        let h = SessionHandle::from_headers(cfg, &headers_with("s=whatever"));
        assert_eq!(h.set_cookie_header(), None);
    }

    #[test]
    fn set_then_load_then_expire() {
        let clock = Clock::manual(1000);
        let cfg = config(clock.clone());
        let h = SessionHandle::from_headers(cfg.clone(), &http::HeaderMap::new());
        assert!(h.get().is_none());
        let data = SessionData::start(TokenSet::bearer(AccessToken::new("t")), None, 1000, 100);
        let id = data.id.clone();
        h.set(data);
        let set = h.set_cookie_header().unwrap();
        assert!(set.contains("Max-Age=100"), "{set}");

        let h2 = SessionHandle::from_headers(
            cfg.clone(),
            &headers_with(&format!("s={}", cookie_value(&set))),
        );
        assert_eq!(h2.get().unwrap().id, id);
        assert_eq!(h2.set_cookie_header(), None);

        clock.advance(std::time::Duration::from_secs(100));
        let h3 =
            SessionHandle::from_headers(cfg, &headers_with(&format!("s={}", cookie_value(&set))));
        assert!(h3.get().is_none());
        // The dead cookie is removed.
        assert!(h3.set_cookie_header().unwrap().contains("Max-Age=0"));
    }

    #[test]
    fn oversized_sessions_are_slimmed_then_refused() {
        let cfg = config(Clock::manual(0));
        let big = "x".repeat(3000);
        let tokens = |extra: &str| {
            TokenSet::from_json(
                format!(r#"{{"access_token":"t","id_token":"{extra}","x":"{extra}"}}"#).as_bytes(),
                0,
            )
            .unwrap()
        };
        let user = UserInfo {
            business_name: Some(big.clone()),
            ..UserInfo::default()
        };
        // A big user snapshot goes first.
        let (_, stored) = cfg
            .seal(&SessionData::start(tokens("i"), Some(user), 0, 100))
            .unwrap();
        assert!(stored.user.is_none());
        assert!(stored.tokens.id_token().is_some());
        // Then the ID token and unknown fields.
        let (value, stored) = cfg
            .seal(&SessionData::start(tokens(&big), None, 0, 100))
            .unwrap();
        assert!(stored.tokens.id_token().is_none() && stored.tokens.extra().is_empty());
        // The cache holds what the cookie holds.
        let h = SessionHandle::from_headers(cfg.clone(), &headers_with(&format!("s={value}")));
        assert!(h.get().unwrap().tokens.id_token().is_none());
        // An access token that cannot fit is refused outright.
        let huge = TokenSet::bearer(AccessToken::new(big.repeat(2)));
        assert!(cfg.seal(&SessionData::start(huge, None, 0, 100)).is_none());
    }

    #[test]
    fn fresh_sessions_get_new_ids() {
        let t = || TokenSet::bearer(AccessToken::new("t"));
        assert_ne!(
            SessionData::start(t(), None, 0, 1).id,
            SessionData::start(t(), None, 0, 1).id
        );
    }
}
