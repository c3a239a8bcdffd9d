//! [`OAuthBuilder`]: settings grouped by concern; [`build`](OAuthBuilder::build) runs
//! each group's checks, derives what follows (cookie names, `Secure`, paths) and
//! constructs the shared state.

use std::sync::Arc;
use std::time::Duration;

use super::settings::{
    CookieSettings, FlowSettings, PageSettings, RefreshSettings, RouteSettings, SessionSettings,
    UserSettings,
};
use crate::client::DpopKeys;
use crate::clock::Clock;
use crate::error::Sources;
use crate::jose::SigningKey;
use crate::login::{Login, LoginHook, LoginRefusal};
use crate::pages::{ErrorPage, Messages};
use crate::provider::Provider;
use crate::secret::ClientSecret;
use crate::session::CookieKey;
use crate::transport::HttpConfig;

/// Configures an [`OAuth`](super::OAuth); every setting is checked in [`build`](OAuthBuilder::build).
///
/// ```
/// use std::time::Duration;
/// use axum_oauth_login::{CookieKey, OAuth, Provider};
/// let oauth = OAuth::builder(Provider::vcita(), "client-id", "client-secret")
///     .redirect_uri("https://app.example.com/auth/callback")
///     .cookie_key(CookieKey::generate())
///     .session_lifetime(Duration::from_secs(24 * 3600))
///     .build()
///     .unwrap();
/// assert_eq!(oauth.login_path(), "/auth/login");
/// ```
#[must_use]
pub struct OAuthBuilder {
    pub(super) provider: Provider,
    pub(super) client_id: String,
    pub(super) client_secret: ClientSecret,
    pub(super) client_key: Option<SigningKey>,
    pub(super) dpop_keys: Option<DpopKeys>,
    pub(super) accept_dpop: bool,
    pub(super) redirect_uri: Option<String>,
    pub(super) http_timeout: Duration,
    pub(super) http: HttpConfig,
    pub(super) clock: Clock,
    pub(super) routes: RouteSettings,
    pub(super) cookies: CookieSettings,
    pub(super) sessions: SessionSettings,
    pub(super) flow: FlowSettings,
    pub(super) users: UserSettings,
    pub(super) refresh: RefreshSettings,
    pub(super) pages: PageSettings,
    pub(super) connections: Option<Arc<dyn crate::store::SessionStore>>,
    pub(super) denylist: Option<(Arc<dyn crate::store::SessionStore>, Duration)>,
    /// The variables `OAuthConfig` read settings from.
    pub(super) sources: Sources,
}

impl std::fmt::Debug for OAuthBuilder {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("OAuthBuilder")
            .field("provider", &self.provider.name())
            .field("client_id", &self.client_id)
            .field("client_secret", &self.client_secret)
            .field("client_key", &self.client_key)
            .field("dpop_keys", &self.dpop_keys)
            .field("redirect_uri", &self.redirect_uri)
            .finish_non_exhaustive()
    }
}

impl OAuthBuilder {
    pub(super) fn new(provider: Provider, client_id: String, client_secret: ClientSecret) -> Self {
        OAuthBuilder {
            provider,
            client_id,
            client_secret,
            client_key: None,
            dpop_keys: None,
            accept_dpop: false,
            redirect_uri: None,
            http_timeout: Duration::from_secs(10),
            http: HttpConfig::default(),
            clock: Clock::system(),
            routes: RouteSettings {
                trusted_origins: Vec::new(),
                prefix: "/auth".into(),
                after_logout: "/".into(),
                post_logout_redirect_uri: None,
                realm: "app".into(),
            },
            cookies: CookieSettings {
                key: None,
                ephemeral: false,
                name: "oauth_session".into(),
                secure: None,
                session_lifetime: Duration::from_secs(7 * 24 * 3600),
            },
            sessions: SessionSettings {
                idle_timeout: None,
                store: None,
                store_timeout: Duration::from_secs(2),
            },
            flow: FlowSettings {
                login_timeout: Duration::from_secs(10 * 60),
                max_pending: 5,
            },
            users: UserSettings {
                cache_ttl: Duration::from_secs(300),
                cache_capacity: 10_000,
                max_concurrent_lookups: 64,
                fetch_on_login: true,
                on_login: None,
                shared: None,
            },
            refresh: RefreshSettings {
                skew: Duration::from_secs(60),
                grace: Duration::from_secs(60),
            },
            pages: PageSettings::default(),
            connections: None,
            denylist: None,
            sources: Sources::default(),
        }
    }
}

impl OAuthBuilder {
    /// The client's private key, for a provider configured with
    /// [`ClientAuth::PrivateKeyJwt`](crate::provider::ClientAuth::PrivateKeyJwt)
    /// (`OAUTH_CLIENT_AUTH=private_key_jwt`, the PEM in `OAUTH_CLIENT_KEY`): the token,
    /// introspection and revocation requests then authenticate with a fresh signed
    /// `client_assertion` instead of the secret (see
    /// [`OAuthClientBuilder::client_key`](crate::client::OAuthClientBuilder::client_key)).
    /// Every instance of the app uses the same key; register its
    /// [`public_jwk`](SigningKey::public_jwk) with the provider.
    pub fn client_key(mut self, key: SigningKey) -> Self {
        self.client_key = Some(key);
        self
    }

    /// The app's DPoP key (RFC 9449), for a provider with
    /// [`dpop`](crate::provider::ProviderBuilder::dpop) on (`OAUTH_DPOP=on`, the PEM in
    /// `OAUTH_DPOP_KEY`): one key pair for every instance, like the cookie key. To
    /// rotate, pass [`DpopKeys`] with the old key as a previous one
    /// ([`dpop_keys`](Self::dpop_keys)).
    pub fn dpop_key(self, key: SigningKey) -> Self {
        self.dpop_keys(DpopKeys::new(key))
    }
    /// [`dpop_key`](Self::dpop_key) with previous keys, newest first.
    pub fn dpop_keys(mut self, keys: DpopKeys) -> Self {
        self.dpop_keys = Some(keys);
        self
    }

    /// DPoP as a resource server (RFC 9449): [`BearerUser`](crate::BearerUser) and the
    /// guards also accept `Authorization: DPoP <token>` with a `DPoP` proof, checked
    /// before the token is resolved — signature by the proof's public `jwk` (asymmetric
    /// `alg` only), `htm`, `htu` against the redirect URI's origin and the request's
    /// original path (behind a proxy and under `nest`; no query), `iat` within 5 minutes
    /// (1 ahead), `ath`, and a `jti` not seen before in this process — and then the
    /// token's `cnf.jkt` (a JWT access token's claims, or introspection's `cnf`) must
    /// name the proof's key. Off or on, a bound token sent as `Bearer` is refused. On,
    /// every `401` also carries a `DPoP algs="…"` challenge (RFC 9449 §7.1).
    ///
    /// A userinfo endpoint cannot tell which key a third party's token is bound to:
    /// with a userinfo resolver and no [local JWT checks](crate::provider::ProviderBuilder::jwt_access_tokens),
    /// the build refuses this setting.
    pub fn accept_dpop(mut self, on: bool) -> Self {
        self.accept_dpop = on;
        self
    }

    /// The callback URL registered with the provider (required). Its path is where the
    /// callback route is mounted; it is never derived from `Host` or `X-Forwarded-*`.
    /// An `https` URI turns on `Secure` cookies with the `__Host-` prefix.
    pub fn redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.redirect_uri = Some(uri.into());
        self.sources.forget("redirect_uri");
        self
    }
    /// The key that seals cookies (and server-side records). Required with an https
    /// redirect URI; generate one with `openssl rand -base64 64` and load it with
    /// [`CookieKey::from_base64`]. Give every instance of the app the same key.
    pub fn cookie_key(mut self, key: CookieKey) -> Self {
        self.cookies.key = Some(key);
        self.sources.forget("cookie_key");
        self
    }
    /// Origins besides the redirect URI's whose pages may send this app's session
    /// cookie with unsafe requests (`POST` logout, forms), e.g. an admin site on a
    /// sibling subdomain. Requests from any other origin are treated as unauthenticated,
    /// and `POST /auth/logout` refuses them with `403`.
    pub fn trusted_origins<I, T>(mut self, origins: I) -> Self
    where
        I: IntoIterator<Item = T>,
        T: Into<String>,
    {
        self.routes.trusted_origins = origins.into_iter().map(Into::into).collect();
        self.sources.forget("trusted_origins");
        self
    }
    /// Uses a random key made at startup instead of a configured one: every restart then
    /// logs everyone out, and several instances cannot share sessions. For demos and
    /// single-process tools; on https it must be chosen explicitly like this.
    pub fn ephemeral_cookie_key(mut self) -> Self {
        self.cookies.ephemeral = true;
        self.sources.forget("cookie_key");
        self
    }
    /// Where the login and logout routes live (default `/auth`).
    pub fn route_prefix(mut self, prefix: impl Into<String>) -> Self {
        self.routes.prefix = prefix.into();
        self.sources.forget("route_prefix");
        self
    }
    /// The session cookie's base name (default `oauth_session`; `__Host-` is prepended on
    /// https). Give each provider its own when several share an app.
    pub fn cookie_name(mut self, name: impl Into<String>) -> Self {
        self.cookies.name = name.into();
        self.sources.forget("cookie_name");
        self
    }
    /// How long a session lasts after login (default 7 days).
    pub fn session_lifetime(mut self, lifetime: Duration) -> Self {
        self.cookies.session_lifetime = lifetime;
        self.sources.forget("session_lifetime");
        self
    }
    /// Ends a session nobody used for this long (default: none; only the absolute
    /// [`session_lifetime`](Self::session_lifetime)). Renewal is coarse: a session is
    /// written again at most once per tenth of the timeout, not on every request.
    pub fn idle_timeout(mut self, timeout: Duration) -> Self {
        self.sessions.idle_timeout = Some(timeout);
        self.sources.forget("idle_timeout");
        self
    }
    /// Keeps sessions on the server (only a sealed id in the cookie): logout then ends a
    /// session everywhere, large token sets fit, and instances share sessions and
    /// coordinate refreshes. Default: sessions live in the encrypted cookie.
    ///
    /// On a builder from [`OAuthConfig::into_builder`](crate::config::OAuthConfig::into_builder),
    /// this replaces the store `OAUTH_SESSION_STORE` chose: like every builder call made
    /// after `into_builder`, the code wins over the variable.
    ///
    /// ```
    /// use axum_oauth_login::{OAuth, Provider, store::MemoryStore};
    /// let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
    ///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
    ///     .session_store(MemoryStore::new(10_000))
    ///     .build()
    ///     .unwrap();
    /// # let _ = oauth;
    /// ```
    pub fn session_store(mut self, store: impl crate::store::SessionStore) -> Self {
        self.sessions.store = Some(Arc::new(store));
        self.sources.forget("session_store");
        self
    }
    /// The same, for a store already behind an `Arc` (shared by several `OAuth`s).
    pub fn session_store_arc(mut self, store: Arc<dyn crate::store::SessionStore>) -> Self {
        self.sessions.store = Some(store);
        self.sources.forget("session_store");
        self
    }
    /// How long each session store call may take before the request answers `503`
    /// (default 2 s).
    pub fn store_timeout(mut self, timeout: Duration) -> Self {
        self.sessions.store_timeout = timeout;
        self
    }
    /// How long a started login may take before its callback is refused (default 10 min).
    pub fn login_timeout(mut self, timeout: Duration) -> Self {
        self.flow.login_timeout = timeout;
        self
    }
    /// How many logins a browser may have in progress at once (default 5); the oldest
    /// is dropped first, so abandoned logins cannot pile up cookies.
    pub fn max_pending_logins(mut self, max: usize) -> Self {
        self.flow.max_pending = max;
        self
    }
    /// Where logout sends the browser (default `/`).
    pub fn after_logout(mut self, path: impl Into<String>) -> Self {
        self.routes.after_logout = path.into();
        self.sources.forget("after_logout");
        self
    }
    /// Where the provider sends the browser after logging out at its end-session
    /// endpoint (OpenID Connect RP-Initiated Logout: `post_logout_redirect_uri`, an
    /// absolute `https` URL, or `http` on loopback, registered at the provider). Without
    /// it the provider shows its own "logged out" page. Only used by providers with an
    /// end-session endpoint ([`Provider::logout_at_provider`](crate::Provider::logout_at_provider)).
    ///
    /// ```
    /// # use axum_oauth_login::{OAuth, Provider};
    /// # fn provider() -> Provider { Provider::vcita() }
    /// let oauth = OAuth::builder(provider(), "id", "secret")
    ///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
    ///     .post_logout_redirect_uri("http://127.0.0.1:3000/")
    ///     .build();
    /// assert!(oauth.is_ok());
    /// ```
    pub fn post_logout_redirect_uri(mut self, uri: impl Into<String>) -> Self {
        self.routes.post_logout_redirect_uri = Some(uri.into());
        self.sources.forget("post_logout_redirect_uri");
        self
    }
    /// How long a resolved user is cached (default 5 min, never past the token's expiry)
    /// and how many are kept (default 10 000, approximately: the cache's shards evict
    /// separately). Each costs ~450 bytes for a typical userinfo answer (kept once, as
    /// compact JSON; the most recently used eighth, up to 2,048, also parsed). With
    /// several instances see [`shared_user_cache`](Self::shared_user_cache).
    pub fn user_cache(mut self, ttl: Duration, capacity: u64) -> Self {
        self.users.cache_ttl = ttl;
        self.users.cache_capacity = capacity;
        self
    }
    /// Whether the callback resolves the user (userinfo or introspection, through the user
    /// cache) and keeps a snapshot in the session for pages like "Hello, {name}"
    /// (default: on).
    pub fn fetch_user_on_login(mut self, on: bool) -> Self {
        self.users.fetch_on_login = on;
        self
    }
    /// The `realm` of `WWW-Authenticate` challenges (default `app`).
    pub fn realm(mut self, realm: impl Into<String>) -> Self {
        self.routes.realm = realm.into();
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
    /// The app's configuration of the provider client (a proxy, roots, its own TLS,
    /// default headers); redirects stay off and the timeouts stay the crate's. See
    /// [`OAuthClientBuilder::http_client`](crate::client::OAuthClientBuilder::http_client).
    ///
    /// ```
    /// use axum_oauth_login::{CookieKey, OAuth, Provider};
    /// let oauth = OAuth::builder(Provider::vcita(), "client-id", "client-secret")
    ///     .redirect_uri("https://app.example.com/auth/callback")
    ///     .cookie_key(CookieKey::generate())
    ///     .http_client(|http| http.no_proxy())
    ///     .build()?;
    /// # drop(oauth);
    /// # Ok::<(), axum_oauth_login::ConfigError>(())
    /// ```
    pub fn http_client<F>(mut self, configure: F) -> Self
    where
        F: Fn(reqwest::ClientBuilder) -> reqwest::ClientBuilder + Send + Sync + 'static,
    {
        self.http = HttpConfig::new(configure);
        self
    }
    /// Forces `Secure` cookies on or off (default: on when the redirect URI is https).
    pub fn secure_cookies(mut self, secure: bool) -> Self {
        self.cookies.secure = Some(secure);
        self
    }

    /// Refresh a session's access token when it expires within this margin (default 60 s).
    pub fn refresh_skew(mut self, skew: Duration) -> Self {
        self.refresh.skew = skew;
        self
    }
    /// How long a refresh result is kept for requests that still carry the pre-refresh
    /// cookie (default 60 s). With rotating refresh tokens (Apicbase) those requests would
    /// otherwise spend a dead refresh token and log the user out.
    pub fn refresh_grace(mut self, grace: Duration) -> Self {
        self.refresh.grace = grace;
        self
    }

    /// How many user lookups (userinfo or introspection calls for tokens not in the cache)
    /// may run at once (default 64). Each new token costs one; past this, requests wait
    /// up to the HTTP timeout for a turn and then get `503`, so a flood of random tokens
    /// cannot become a flood of calls to the provider.
    pub fn max_concurrent_lookups(mut self, max: usize) -> Self {
        self.users.max_concurrent_lookups = max;
        self
    }

    /// The login hook: turns each completed login into the app's own user, or refuses it.
    ///
    /// `hook` receives the [`Login`] — the token set just issued and the user as the
    /// provider describes them (userinfo, or introspection) — and returns the app's user
    /// type `U`, which is kept in the session (sealed, like the tokens) and handed back
    /// typed by [`AuthSession<U>`](crate::AuthSession) on every request, also after
    /// refreshes. Or it returns a [`LoginRefusal`]: no session is created, the tokens
    /// just issued are revoked, and the person sees the reason on a `403` page.
    ///
    /// The hook runs once per login, not per request: for checks that must follow
    /// changes at the provider (a demoted owner), use [`OAuth::require`](super::OAuth::require) on the resolved
    /// user. A session too large for its cookie is refused with a clear error, never
    /// shortened by dropping the user; keep `U` small or use a server-side store.
    ///
    /// ```
    /// use axum_oauth_login::{AuthSession, Login, LoginRefusal, OAuth, Provider, UserInfo};
    /// use serde::{Deserialize, Serialize};
    ///
    /// #[derive(Serialize, Deserialize)]
    /// struct Member {
    ///     name: String,
    ///     business: String,
    /// }
    ///
    /// let oauth = OAuth::builder(Provider::vcita(), "client-id", "client-secret")
    ///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
    ///     .on_login(|login: Login| async move {
    ///         let info: UserInfo = login.user_info()?;
    ///         match info.business_name.clone() {
    ///             Some(business) if business == "Demo Salon" => Ok(Member {
    ///                 name: info.display_name().to_owned(),
    ///                 business,
    ///             }),
    ///             _ => Err(LoginRefusal::new("This app is only for Demo Salon.")),
    ///         }
    ///     })
    ///     .build()
    ///     .unwrap();
    ///
    /// async fn home(session: AuthSession<Member>) -> String {
    ///     let member = session.user().expect("the hook's user");
    ///     format!("Hello, {} of {}", member.name, member.business)
    /// }
    /// # let _ = (oauth, home);
    /// ```
    pub fn on_login<U, F, Fut>(mut self, hook: F) -> Self
    where
        U: serde::Serialize + serde::de::DeserializeOwned + Send + Sync + 'static,
        F: Fn(Login) -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<U, LoginRefusal>> + Send + 'static,
    {
        self.users.on_login = Some(LoginHook::new(hook));
        self
    }

    /// The words of the crate's pages (default: English). See [`Messages`].
    pub fn messages(mut self, messages: Messages) -> Self {
        self.pages.messages = messages;
        self
    }

    /// Draws the crate's error and refusal pages for browsers with the app's own HTML
    /// (its layout, its template engine). `render` gets the [`ErrorPage`] — status,
    /// machine-readable code, title, message, retry link — and returns the response; a
    /// `200` is given the page's status, and `Cache-Control: no-store` is always set.
    /// API clients keep getting the JSON form (`{"error", "error_description"}`).
    ///
    /// ```
    /// use axum::response::IntoResponse;
    /// use axum_oauth_login::{ErrorPage, OAuth, Provider};
    ///
    /// let oauth = OAuth::builder(Provider::vcita(), "client-id", "client-secret")
    ///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
    ///     .error_page(|page: &ErrorPage| {
    ///         // A template engine that escapes (maud here): the message can quote the
    ///         // provider, so never paste it into HTML with `format!`.
    ///         maud::html! { main.error { h1 { (page.title()) } p { (page.message()) } } }
    ///             .into_response()
    ///     })
    ///     .build()
    ///     .unwrap();
    /// # let _ = oauth;
    /// ```
    ///
    /// Escape what you put in HTML: the message can quote the provider.
    pub fn error_page<F>(mut self, render: F) -> Self
    where
        F: Fn(&ErrorPage) -> axum::response::Response + Send + Sync + 'static,
    {
        self.pages.render = Some(Arc::new(render));
        self
    }
}

mod shared;
#[cfg(test)]
mod tests;
