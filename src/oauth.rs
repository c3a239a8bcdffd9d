//! The façade: one [`OAuth`] value per provider, built once, handing out the layer, the
//! routes and the `RequireLogin` route layer.

use std::sync::Arc;
use std::time::Duration;

use crate::client::{OAuthClient, UserInfo};
use crate::clock::Clock;
use crate::error::ConfigError;
use crate::layer::{OAuthLayer, RequireLoginLayer};
use crate::provider::Provider;
use crate::routes::FlowConfig;
use crate::session::{CookieCodec, CookieKey, Refresher, SessionConfig};
use crate::users::{Lookups, UserCache};

/// "Log in with ..." for one provider: build it once at startup, then mount
/// [`routes`](OAuth::routes), wrap the app in [`layer`](OAuth::layer) and protect routes
/// with [`require_login`](OAuth::require_login).
///
/// Cheap to clone (one `Arc`).
///
/// ```
/// use axum::{Json, Router, routing::get};
/// use axum_oauth_login::{BearerUser, CookieKey, OAuth, Provider, UserInfo};
///
/// async fn me(user: BearerUser) -> Json<UserInfo> {
///     Json(user.into_info())
/// }
///
/// # fn main() -> Result<(), axum_oauth_login::ConfigError> {
/// let oauth = OAuth::builder(Provider::vcita(), "client-id", "client-secret")
///     .redirect_uri("https://app.example.com/auth/callback")
///     .cookie_key(CookieKey::generate())
///     .build()?;
///
/// let app: Router = Router::new()
///     .route("/", get(|| async { "home" }))
///     .route("/me", get(me).route_layer(oauth.require_login()))
///     .merge(oauth.routes()) // GET /auth/login, GET /auth/callback, POST /auth/logout
///     .layer(oauth.layer()); // loads the session, writes cookies
/// # let _ = app; Ok(()) }
/// ```
#[derive(Clone, Debug)]
pub struct OAuth {
    pub(crate) inner: Arc<OAuthInner>,
}

/// Everything the layer, the routes and the extractors share. Built once; read-only.
#[derive(Debug)]
pub(crate) struct OAuthInner {
    pub(crate) client: OAuthClient,
    pub(crate) session: Arc<SessionConfig>,
    pub(crate) flow: FlowConfig,
    pub(crate) users: UserCache,
    pub(crate) login_path: String,
    pub(crate) callback_path: String,
    pub(crate) logout_path: String,
    pub(crate) after_logout: String,
    pub(crate) fetch_user_on_login: bool,
    pub(crate) realm: String,
    pub(crate) clock: Clock,
}

impl OAuth {
    /// Starts configuring login with `provider` and the credentials it issued.
    pub fn builder(
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> OAuthBuilder {
        OAuthBuilder {
            provider,
            client_id: client_id.into(),
            client_secret: crate::secret::ClientSecret::new(client_secret),
            redirect_uri: None,
            cookie_key: None,
            route_prefix: "/auth".into(),
            cookie_name: "oauth_session".into(),
            session_lifetime: Duration::from_secs(7 * 24 * 3600),
            login_timeout: Duration::from_secs(10 * 60),
            max_pending_logins: 5,
            after_logout: "/".into(),
            user_cache_ttl: Duration::from_secs(300),
            user_cache_capacity: 10_000,
            fetch_user_on_login: None,
            realm: "app".into(),
            clock: Clock::system(),
            http_timeout: Duration::from_secs(10),
            secure_cookies: None,
            refresh_skew: Duration::from_secs(60),
            refresh_grace: Duration::from_secs(60),
            max_concurrent_lookups: 64,
        }
    }

    /// The tower layer that gives every request its session: put it outermost
    /// (`Router::layer`) so extractors and [`require_login`](OAuth::require_login) find it.
    pub fn layer(&self) -> OAuthLayer {
        OAuthLayer::new(self.clone())
    }

    /// A route layer that lets only logged-in callers through: browsers are redirected to
    /// the login route (with `return_to`), API callers get `401` (RFC 6750).
    pub fn require_login(&self) -> RequireLoginLayer {
        RequireLoginLayer::new(self.clone())
    }

    /// The login, callback and logout routes, ready to `merge` into any router.
    pub fn routes<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        crate::routes::router(self.clone())
    }

    /// The OAuth protocol client, for calls of your own (e.g. `userinfo` with a token).
    pub fn client(&self) -> &OAuthClient {
        &self.inner.client
    }

    /// The path of the login route (e.g. `/auth/login`).
    pub fn login_path(&self) -> &str {
        &self.inner.login_path
    }

    /// The path of the logout route (e.g. `/auth/logout`).
    pub fn logout_path(&self) -> &str {
        &self.inner.logout_path
    }
}

/// Configures an [`OAuth`]; every setting is checked in [`build`](OAuthBuilder::build).
#[must_use]
pub struct OAuthBuilder {
    provider: Provider,
    client_id: String,
    client_secret: crate::secret::ClientSecret,
    redirect_uri: Option<String>,
    cookie_key: Option<CookieKey>,
    route_prefix: String,
    cookie_name: String,
    session_lifetime: Duration,
    login_timeout: Duration,
    max_pending_logins: usize,
    after_logout: String,
    user_cache_ttl: Duration,
    user_cache_capacity: u64,
    fetch_user_on_login: Option<bool>,
    realm: String,
    clock: Clock,
    http_timeout: Duration,
    secure_cookies: Option<bool>,
    refresh_skew: Duration,
    refresh_grace: Duration,
    max_concurrent_lookups: usize,
}

impl std::fmt::Debug for OAuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthBuilder")
            .field("provider", &self.provider.name())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl OAuthBuilder {
    /// The callback URL registered with the provider (required). Its path is where the
    /// callback route is mounted; it is never derived from `Host` or `X-Forwarded-*`.
    /// An `https` URI turns on `Secure` cookies with the `__Host-` prefix.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self
    }
    /// The key that encrypts cookies. Without one, a random key is generated and a
    /// warning logged: sessions then end when the process restarts.
    pub fn cookie_key(mut self, key: CookieKey) -> Self {
        self.cookie_key = Some(key);
        self
    }
    /// Where the login and logout routes live (default `/auth`).
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.route_prefix = prefix.into();
        self
    }
    /// The session cookie's base name (default `oauth_session`; `__Host-` is prepended on
    /// https). Give each provider its own when several share an app.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookie_name = name.into();
        self
    }
    /// How long a session lasts after login (default 7 days).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.session_lifetime = lifetime;
        self
    }
    /// How long a started login may take before its callback is refused (default 10 min).
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.login_timeout = timeout;
        self
    }
    /// How many logins a browser may have in progress at once (default 5); the oldest
    /// is dropped first, so abandoned logins cannot pile up cookies.
    pub fn max_pending_logins(mut self, max: usize) -> Self {
        self.max_pending_logins = max;
        self
    }
    /// Where logout sends the browser (default `/`).
    pub fn after_logout(mut self, path: impl Into<String>) -> Self {
        self.after_logout = path.into();
        self
    }
    /// How long a resolved user is cached (default 5 min) and how many are kept
    /// (default 10 000).
    pub fn user_cache(mut self, ttl: Duration, capacity: u64) -> Self {
        self.user_cache_ttl = ttl;
        self.user_cache_capacity = capacity;
        self
    }
    /// Whether the callback resolves the user (userinfo or introspection, through the user
    /// cache) and keeps a snapshot in the session for pages like "Hello, {name}"
    /// (default: on).
    pub fn fetch_user_on_login(mut self, on: bool) -> Self {
        self.fetch_user_on_login = Some(on);
        self
    }
    /// The `realm` of `WWW-Authenticate` challenges (default `app`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.realm = realm.into();
        self
    }
    /// The clock for every expiry decision (default: the system clock). Tests use
    /// [`Clock::manual`] to move time without sleeping.
    pub fn clock(mut self, clock: Clock) -> Self {
        self.clock = clock;
        self
    }
    /// Total timeout of each provider request (default 10 s).
    pub fn http_timeout(mut self, timeout: Duration) -> Self {
        self.http_timeout = timeout;
        self
    }
    /// Forces `Secure` cookies on or off (default: on when the redirect URI is https).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.secure_cookies = Some(secure);
        self
    }

    /// Refresh a session's access token when it expires within this margin (default 60 s).
    pub fn refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh_skew = skew;
        self
    }
    /// How long a refresh result is kept for requests that still carry the pre-refresh
    /// cookie (default 60 s). With rotating refresh tokens (Apicbase) those requests would
    /// otherwise spend a dead refresh token and log the user out.
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.refresh_grace = grace;
        self
    }

    /// How many user lookups (userinfo or introspection calls for tokens not in the cache)
    /// may run at once (default 64). Each new token costs one; past this, requests wait
    /// up to the HTTP timeout for a turn and then get `503`, so a flood of random tokens
    /// cannot become a flood of calls to the provider.
    pub fn max_concurrent_lookups(mut self, max: usize) -> Self {
        self.max_concurrent_lookups = max;
        self
    }

    /// Checks every setting and builds the [`OAuth`].
    pub fn build(self) -> Result<OAuth, ConfigError> {
        let redirect_uri = self
            .redirect_uri
            .clone()
            .ok_or_else(|| ConfigError::new("redirect_uri", "is required"))?;
        let client = OAuthClient::builder(
            self.provider.clone(),
            self.client_id.clone(),
            self.client_secret.secret(),
        )
        .redirect_uri(redirect_uri)
        .timeout(self.http_timeout)
        .clock(self.clock.clone())
        .build()?;
        let prefix = normalize_prefix(&self.route_prefix)?;
        if !is_cookie_name(&self.cookie_name) {
            return Err(ConfigError::new(
                "cookie_name",
                "use letters, digits, `_` and `-` only",
            ));
        }
        if self.session_lifetime.as_secs() < 60 {
            return Err(ConfigError::new(
                "session_lifetime",
                "must be at least 60 s",
            ));
        }
        if self.login_timeout.as_secs() < 10 {
            return Err(ConfigError::new("login_timeout", "must be at least 10 s"));
        }
        if self.max_pending_logins == 0 || self.max_pending_logins > 20 {
            return Err(ConfigError::new(
                "max_pending_logins",
                "must be between 1 and 20",
            ));
        }
        if crate::routes::safe_return_to(&self.after_logout).is_none() {
            return Err(ConfigError::new(
                "after_logout",
                "must be a same-site path starting with `/`",
            ));
        }
        if self.user_cache_capacity == 0 || self.user_cache_ttl.is_zero() {
            return Err(ConfigError::new(
                "user_cache",
                "TTL and capacity must be greater than zero",
            ));
        }
        if self.realm.contains(['"', '\\']) || self.realm.chars().any(char::is_control) {
            return Err(ConfigError::new(
                "realm",
                "must not contain quotes, backslashes or control characters",
            ));
        }

        if self.max_concurrent_lookups == 0 || self.max_concurrent_lookups > 10_000 {
            return Err(ConfigError::new(
                "max_concurrent_lookups",
                "must be between 1 and 10 000",
            ));
        }
        const DAY: Duration = Duration::from_secs(24 * 3600);
        if self.refresh_skew > DAY {
            return Err(ConfigError::new("refresh_skew", "must be at most one day"));
        }
        if self.refresh_grace.is_zero() || self.refresh_grace > DAY {
            return Err(ConfigError::new(
                "refresh_grace",
                "must be between 1 s and one day",
            ));
        }
        if self.user_cache_ttl > 30 * DAY || self.session_lifetime > 3650 * DAY {
            return Err(ConfigError::new(
                "user_cache",
                "TTL at most 30 days, session lifetime at most 10 years",
            ));
        }
        let callback_path = client.redirect_uri().path().to_owned();
        // The callback is mounted at this path: it must be a literal axum path.
        if callback_path
            .split('/')
            .any(|seg| seg.starts_with([':', '*']) || seg.contains(['{', '}']))
        {
            return Err(ConfigError::new(
                "redirect_uri",
                "its path must not contain route parameters (`:x`, `*x`, `{x}`)",
            ));
        }
        let login_path = format!("{prefix}/login");
        let logout_path = format!("{prefix}/logout");
        if callback_path == login_path || callback_path == logout_path {
            return Err(ConfigError::new(
                "redirect_uri",
                "its path collides with the login or logout route",
            ));
        }
        let secure = self
            .secure_cookies
            .unwrap_or(client.redirect_uri().scheme() == "https");
        let key = self.cookie_key.unwrap_or_else(|| {
            tracing::warn!(
                "no cookie key configured: using a random one; sessions will not survive a restart \
                 (set OAUTH_COOKIE_KEY to 64+ random bytes, base64)"
            );
            CookieKey::generate()
        });
        let codec = CookieCodec::new(key, secure).bound_to(format!(
            "{}|{}",
            client.client_id(),
            client.provider().token_url()
        ));
        let session_cookie = if secure {
            format!("__Host-{}", self.cookie_name)
        } else {
            self.cookie_name.clone()
        };
        // On https flow cookies are `__Host-` (Path=/): a sibling subdomain cannot plant
        // one (login CSRF). On plain http they only need to reach the login and callback
        // routes.
        let flow_path =
            if !secure && !prefix.is_empty() && callback_path.starts_with(&format!("{prefix}/")) {
                prefix.clone()
            } else {
                "/".to_owned()
            };
        let flow_prefix = format!(
            "{}{}_flow_",
            if secure { "__Host-" } else { "" },
            self.cookie_name
        );
        let fetch_user_on_login = self.fetch_user_on_login.unwrap_or(true);
        let users = UserCache::new(
            client.clone(),
            self.user_cache_ttl,
            self.user_cache_capacity,
            self.clock.clone(),
            Lookups {
                max_concurrent: self.max_concurrent_lookups,
                wait: self.http_timeout,
            },
        );
        Ok(OAuth {
            inner: Arc::new(OAuthInner {
                session: Arc::new(SessionConfig::new(
                    codec.clone(),
                    session_cookie,
                    self.session_lifetime.as_secs(),
                    self.clock.clone(),
                    Refresher::new(
                        client.clone(),
                        self.refresh_skew,
                        self.refresh_grace,
                        self.clock.clone(),
                    ),
                )),
                flow: FlowConfig {
                    codec,
                    cookie_prefix: flow_prefix,
                    path: flow_path,
                    ttl_secs: self.login_timeout.as_secs(),
                    max_pending: self.max_pending_logins,
                },
                client,
                users,
                login_path,
                callback_path,
                logout_path,
                after_logout: self.after_logout,
                fetch_user_on_login,
                realm: self.realm,
                clock: self.clock,
            }),
        })
    }
}

/// `/auth`, `auth`, `/auth/` → `/auth`; `/` → `` (routes at the root).
fn normalize_prefix(prefix: &str) -> Result<String, ConfigError> {
    let trimmed = prefix.trim_matches('/');
    let valid = trimmed.split('/').all(|seg| {
        !seg.is_empty()
            && seg
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'))
    }) || trimmed.is_empty();
    if !valid || trimmed.contains("..") {
        return Err(ConfigError::new(
            "route_prefix",
            "must be a plain path such as `/auth`",
        ));
    }
    Ok(if trimmed.is_empty() {
        String::new()
    } else {
        format!("/{trimmed}")
    })
}

fn is_cookie_name(name: &str) -> bool {
    !name.is_empty()
        && name.len() <= 64
        && name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '-'))
}

impl OAuthInner {
    /// The user snapshot to keep at login, if configured and the provider answers.
    pub(crate) async fn user_snapshot(&self, tokens: &crate::client::TokenSet) -> Option<UserInfo> {
        if !self.fetch_user_on_login {
            return None;
        }
        match self
            .users
            .resolve(tokens.access_token(), tokens.expires_at())
            .await
        {
            Ok(value) => <UserInfo as serde::Deserialize>::deserialize(&*value).ok(),
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the user at login; continuing without a snapshot");
                None
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn builder() -> OAuthBuilder {
        OAuth::builder(Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1:3000/auth/callback")
    }

    #[test]
    fn settings_are_checked_at_build() {
        assert!(builder().cookie_key(CookieKey::generate()).build().is_ok());
        let cases: Vec<(OAuthBuilder, &str)> = vec![
            (
                OAuth::builder(Provider::vcita(), "id", "secret"),
                "redirect_uri",
            ),
            (builder().route_prefix("/a b"), "route_prefix"),
            (builder().cookie_name("a;b"), "cookie_name"),
            (
                builder().after_logout("https://evil.example"),
                "after_logout",
            ),
            (builder().max_pending_logins(0), "max_pending_logins"),
            (
                builder().max_concurrent_lookups(0),
                "max_concurrent_lookups",
            ),
            (builder().realm("a\"b"), "realm"),
            (
                builder().refresh_grace(Duration::from_secs(u64::MAX)),
                "refresh_grace",
            ),
            (
                builder().refresh_skew(Duration::from_secs(365 * 86400)),
                "refresh_skew",
            ),
            (builder().redirect_uri("http://x/cb/*rest"), "redirect_uri"),
            (builder().redirect_uri("http://x/cb/:id"), "redirect_uri"),
            (
                builder()
                    .route_prefix("/auth")
                    .redirect_uri("http://x/auth/login"),
                "redirect_uri",
            ),
            (
                OAuth::builder(Provider::vcita(), "", "secret").redirect_uri("http://x/cb"),
                "client_id",
            ),
        ];
        for (b, setting) in cases {
            let debug = format!("{b:?}");
            let err = b.build().expect_err(&debug);
            assert_eq!(err.setting(), setting, "{debug}");
        }
    }

    #[test]
    fn https_turns_on_host_prefix() {
        let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
            .redirect_uri("https://app.example.com/auth/callback")
            .build()
            .unwrap();
        assert_eq!(oauth.inner.session.cookie_name, "__Host-oauth_session");
        assert!(oauth.inner.flow.cookie_prefix.starts_with("__Host-"));
        assert_eq!(oauth.inner.flow.path, "/");
        let root = OAuth::builder(Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1/callback")
            .route_prefix("/")
            .build()
            .unwrap();
        assert_eq!(root.inner.flow.path, "/", "never an empty Path");
    }

    #[test]
    fn prefixes_normalize() {
        assert_eq!(normalize_prefix("auth/").unwrap(), "/auth");
        assert_eq!(normalize_prefix("/").unwrap(), "");
        assert!(normalize_prefix("/a/../b").is_err());
    }
}
