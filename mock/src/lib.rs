//! [`MockProvider`]: an in-process, vcita-shaped OAuth 2.0 authorization server on
//! loopback, for testing (and demoing) apps built with
//! [`axum-oauth-login`](axum_oauth_login).
//!
//! It serves what vcita serves — a login page, a consent page, a JSON token endpoint,
//! userinfo — plus introspection (RFC 7662), revocation (RFC 7009) and vcita's app
//! creation endpoint, plus one API endpoint to spend access tokens on
//! ([`MockEndpoint::Api`]), with knobs for expiry, refresh tokens, failures and delays. It
//! knows two users, an owner and a staff member ([`MockUser`]); codes and tokens
//! remember which of them logged in, and a user's info can change while it runs
//! ([`MockProvider::set_user_info`]).
//! [`MockProvider::apicbase`] makes it behave like Apicbase instead.
//!
//! It uses only the library's public API. Add it as a dev-dependency for tests; see the
//! README for shipping a demo binary that falls back to it when no credentials are set.

#![forbid(unsafe_code)]
#![deny(missing_docs)]

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderValue, StatusCode};
use serde_json::json;
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

pub use accounts::{MockClient, MockUser, UnknownUser};
use axum_oauth_login::{ClientAuth, Provider, TokenBody, UserResolver};
pub use builder::MockProviderBuilder;
use flavor::Flavor;
use state::{CannedResponse, Shared};

mod accounts;
mod api;
mod apps;
mod browser;
mod builder;
mod endpoints;
mod flavor;
mod pages;
mod state;
#[cfg(test)]
mod tests;

/// The mock's endpoints, for counters, recorded requests and injected faults.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum MockEndpoint {
    /// `GET /app/oauth/authorize` (Apicbase: `/oauth/authorize/`) and the login and
    /// consent form posts.
    Authorize,
    /// `POST /oauth/token` (Apicbase: `/oauth/token/`), every grant type.
    Token,
    /// `GET /oauth/userinfo` (not in Apicbase mode).
    Userinfo,
    /// `POST /oauth/introspect` (Apicbase: `/oauth/introspect/`).
    Introspect,
    /// `POST /oauth/revoke` (Apicbase: `/oauth/revoke/`).
    Revoke,
    /// `POST /platform/v1/apps` (vcita app creation).
    RegisterApp,
    /// The mock's sliver of the provider's REST API, below
    /// [`Provider::api_base`]: `GET /platform/v1/businesses/{business_id}` (vcita) or
    /// `GET /api/v1/library/` (Apicbase mode). Both want `Authorization: Bearer` with a
    /// live access token from this mock; see [`MockProvider`] for the answers. Recorded
    /// requests carry the query parameters as their fields.
    Api,
}

/// A request as the mock received it.
#[derive(Debug, Clone)]
pub struct RecordedRequest {
    /// The `Content-Type` header.
    pub content_type: Option<String>,
    /// The `Authorization` header.
    pub authorization: Option<String>,
    /// Body fields (query parameters for `GET /app/oauth/authorize`): form fields, or a
    /// JSON object's members with strings as they are and other values as JSON text.
    pub fields: BTreeMap<String, String>,
    /// Every header as received (for headers the fields above do not name, such as one
    /// an app's [`http_client`](axum_oauth_login::OAuthClientBuilder::http_client) adds).
    pub headers: http::HeaderMap,
}

impl RecordedRequest {
    /// How the client authenticated: HTTP Basic, a `client_secret` in the body, or
    /// neither.
    ///
    /// ```
    /// use axum_oauth_login::ClientAuth;
    /// use axum_oauth_login_mock::RecordedRequest;
    /// let r = RecordedRequest {
    ///     content_type: None,
    ///     authorization: Some("Basic aWQ6c2VjcmV0".into()),
    ///     fields: Default::default(),
    ///     headers: Default::default(),
    /// };
    /// assert_eq!(r.client_auth(), Some(ClientAuth::ClientSecretBasic));
    /// ```
    pub fn client_auth(&self) -> Option<ClientAuth> {
        let basic = self
            .authorization
            .as_deref()
            .and_then(|a| a.split_whitespace().next())
            .is_some_and(|scheme| scheme.eq_ignore_ascii_case("basic"));
        if basic {
            Some(ClientAuth::ClientSecretBasic)
        } else if self.fields.contains_key("client_secret") {
            Some(ClientAuth::ClientSecretPost)
        } else {
            None
        }
    }
}

/// An in-process, vcita-shaped OAuth 2.0 authorization server on `127.0.0.1`.
///
/// Cloning gives another handle to the same server. The server stops when the last
/// handle is dropped or on [`shutdown`](MockProvider::shutdown).
///
/// | path | endpoint |
/// | --- | --- |
/// | `GET /app/oauth/authorize` (also `/oauth/authorize`) | login form, then consent |
/// | `POST /oauth/token` | JSON bodies (forms too unless [`accept_form(false)`](MockProviderBuilder::accept_form)) |
/// | `GET /oauth/userinfo` | the [`info`](MockUser::info) of the token's user, as it is now |
/// | `POST /oauth/introspect`, `POST /oauth/revoke` | RFC 7662, RFC 7009 |
/// | `POST /platform/v1/apps` | vcita app creation with a directory token |
/// | `GET /platform/v1/businesses/{business_id}` | vcita's business, for a bearer token ([`MockEndpoint::Api`]) |
///
/// [`MockProvider::apicbase`] starts an Apicbase-shaped server instead: trailing-slash
/// paths, form-only token requests, rotating refresh tokens, introspection, no
/// userinfo, `GET /api/v1/library/` as its API endpoint, and a copy-the-code page for
/// authorize requests without a `redirect_uri` (see
/// [`authorize_for_code`](MockProvider::authorize_for_code)).
///
/// ```
/// use axum_oauth_login_mock::{MockEndpoint, MockProvider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockProvider::start().await?;
/// let authorize = format!(
///     "{}/app/oauth/authorize?response_type=code&client_id={}&redirect_uri={}&state=xyz",
///     mock.base_url(),
///     mock.client_id(),
///     "http://127.0.0.1:3000/callback",
/// );
/// // Logs the default user in and clicks "Allow", without a browser.
/// let callback = mock.authorize(&authorize).await?;
/// assert!(callback.query_pairs().any(|(k, v)| k == "state" && v == "xyz"));
/// let code = callback.query_pairs().find(|(k, _)| k == "code").unwrap().1;
///
/// let token: serde_json::Value = reqwest::Client::new()
///     .post(mock.provider().token_url().clone())
///     .json(&serde_json::json!({
///         "grant_type": "authorization_code",
///         "code": code,
///         "client_id": mock.client_id(),
///         "client_secret": mock.client_secret(),
///         "redirect_uri": "http://127.0.0.1:3000/callback",
///     }))
///     .send()
///     .await?
///     .json()
///     .await?;
/// assert_eq!(token["token_type"], "bearer");
/// assert_eq!(mock.hits(MockEndpoint::Token), 1);
/// # Ok(())
/// # }
/// ```
///
/// # The API endpoint
///
/// [`provider()`](MockProvider::provider)'s [`api_base`](Provider::api_base) is the
/// mock's base URL (like `https://api.vcita.biz`), or `{base}/api/v1/` in Apicbase mode.
/// The endpoint takes `Authorization: Bearer <token>` with an access token this mock
/// issued that is neither expired nor revoked, and answers for the token's user as the
/// user is now:
///
/// - no, an unknown, an expired or a revoked token: 401 with `WWW-Authenticate: Bearer
///   error="invalid_token", ...` and `{"status":"Error","error":"invalid_token",
///   "message":..}` (Apicbase mode: `{"error":"invalid_token","detail":..}`);
/// - vcita, `{business_id}` other than the user's `info["business_id"]`: 403,
///   `{"status":"Error","error":"forbidden",..}`;
/// - vcita: 200 `{"status":"OK","data":{"business":{"id","name","brand_host",
///   "owner_email"}}}`, from the user's `business_id`, `business_name` and `brand_host`;
///   `owner_email` is the login email of a known user with `"role":"owner"` in that
///   business, else the caller's;
/// - Apicbase mode: 200 `{"library":{"id":<info["sub"]>,"name":"<email>'s library"}}`,
///   a shape of the mock's own, not Apicbase's.
///
/// ```
/// use axum_oauth_login_mock::{MockEndpoint, MockProvider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
/// let mock = MockProvider::start().await?;
/// let business = mock.provider().api_base().unwrap().join("platform/v1/businesses/b-42")?;
/// let http = reqwest::Client::new();
/// let answer = http.get(business.clone()).bearer_auth(mock.issue_token()).send().await?;
/// assert_eq!(answer.status(), 200);
/// let body: serde_json::Value = answer.json().await?;
/// assert_eq!(body["data"]["business"]["owner_email"], "owner@example.com");
///
/// mock.fail_next(MockEndpoint::Api, 1, 401);
/// let answer = http.get(business).bearer_auth(mock.issue_token()).send().await?;
/// assert_eq!(answer.status(), 401);
/// assert_eq!(mock.hits(MockEndpoint::Api), 2);
/// # Ok(())
/// # }
/// ```
#[derive(Clone)]
pub struct MockProvider {
    inner: Arc<Running>,
}

/// The running server; dropping it drops the shutdown sender, which stops the server.
struct Running {
    shared: Arc<Shared>,
    addr: SocketAddr,
    default_client: MockClient,
    shutdown: Mutex<Option<oneshot::Sender<()>>>,
    task: Mutex<Option<JoinHandle<()>>>,
}

impl std::fmt::Debug for MockProvider {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockProvider")
            .field("base_url", &self.inner.shared.base_url)
            .finish_non_exhaustive()
    }
}

impl MockProvider {
    /// A builder for a mock with non-default settings.
    pub fn builder() -> MockProviderBuilder {
        MockProviderBuilder::default()
    }

    /// A builder preset that makes the mock behave like Apicbase:
    ///
    /// - `GET /oauth/authorize/`, `POST /oauth/token/`, `POST /oauth/introspect/` and
    ///   `POST /oauth/revoke/`, trailing slashes required (vcita's paths answer 404);
    ///   no userinfo endpoint and no app creation;
    /// - the token endpoint takes only `application/x-www-form-urlencoded` bodies
    ///   (JSON gets `400 invalid_request`);
    /// - codes live 60 s, access tokens one week (`expires_in` 604800); a refresh token
    ///   comes with every token, never expires, and rotates on every refresh;
    /// - introspection answers `{"active":true,"scope","exp","client_id","username"}`
    ///   for the asking client's live access tokens, `{"active":false}` otherwise;
    /// - the only user is [`MockUser::apicbase`] (`chef@example.com`).
    ///
    /// Every other builder setting can still be changed after the preset.
    ///
    /// ```
    /// use axum_oauth_login::{TokenBody, UserResolver};
    /// use axum_oauth_login_mock::MockProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mock = MockProvider::apicbase().start().await?;
    /// let provider = mock.provider();
    /// assert_eq!(provider.name(), "apicbase-mock");
    /// assert!(provider.token_url().as_str().ends_with("/oauth/token/"));
    /// assert_eq!(provider.token_body(), TokenBody::Form);
    /// assert_eq!(provider.user_resolver(), UserResolver::Introspection);
    /// assert_eq!(mock.user().email, "chef@example.com");
    /// # Ok(())
    /// # }
    /// ```
    pub fn apicbase() -> MockProviderBuilder {
        MockProviderBuilder::apicbase()
    }

    /// Starts a mock with default settings on an OS-chosen port.
    pub async fn start() -> io::Result<MockProvider> {
        Self::builder().start().await
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn base_url(&self) -> String {
        self.inner.shared.base_url.clone()
    }

    /// The address the server listens on.
    pub fn addr(&self) -> SocketAddr {
        self.inner.addr
    }

    /// A [`Provider`] for this mock, with every endpoint on
    /// [`base_url`](Self::base_url) and the base URL as issuer (the mock sends `iss` on
    /// its redirects).
    ///
    /// vcita mode: `vcita-mock`, vcita's shape (JSON token bodies, `client_secret_post`,
    /// userinfo), plus introspection and revocation; the [API
    /// base](Provider::api_base) is the base URL, like `https://api.vcita.biz`.
    /// Apicbase mode: `apicbase-mock`, built like [`Provider::apicbase`]
    /// (trailing-slash URLs, form bodies, `client_secret_post`, introspection as the user
    /// resolver, no userinfo), with `{base}/api/v1/` as the API base.
    ///
    /// ```
    /// use axum_oauth_login_mock::MockProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let vcita = MockProvider::start().await?;
    /// let api = vcita.provider().api_base().unwrap().clone();
    /// assert_eq!(api.as_str(), format!("{}/", vcita.base_url()));
    ///
    /// let apicbase = MockProvider::apicbase().start().await?;
    /// let api = apicbase.provider().api_base().unwrap().clone();
    /// assert_eq!(api.as_str(), format!("{}/api/v1/", apicbase.base_url()));
    /// # Ok(())
    /// # }
    /// ```
    pub fn provider(&self) -> Provider {
        let base = &self.inner.shared.base_url;
        let flavor = self.flavor();
        let paths = flavor.paths();
        let url = |path: &str| format!("{base}{path}");
        let mut builder = match flavor {
            Flavor::Vcita => Provider::custom("vcita-mock")
                .revocation_url(url(paths.revoke))
                .token_body(TokenBody::Json),
            // No revocation URL: Apicbase documents none, though the mock keeps one.
            Flavor::Apicbase => Provider::custom("apicbase-mock")
                .token_body(TokenBody::Form)
                .user_resolver(UserResolver::Introspection),
        };
        if let Some(path) = paths.userinfo {
            builder = builder.userinfo_url(url(path));
        }
        builder
            .authorize_url(url(paths.authorize[0]))
            .token_url(url(paths.token))
            .introspection_url(url(paths.introspect))
            .api_base(url(paths.api_base))
            .issuer(base.clone())
            .client_auth(ClientAuth::ClientSecretPost)
            .build()
            .unwrap_or_else(|e| unreachable!("loopback mock URLs are valid: {e}"))
    }

    fn flavor(&self) -> Flavor {
        self.inner.shared.lock().config.flavor
    }

    /// The directory token app creation accepts (`mock-directory-token` unless
    /// changed with [`MockProviderBuilder::directory_token`]).
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// assert_eq!(mock.directory_token(), "mock-directory-token");
    /// # Ok(())
    /// # }
    /// ```
    pub fn directory_token(&self) -> String {
        self.inner.shared.lock().config.directory_token.clone()
    }

    /// The default client's id (`mock-client-id` unless replaced).
    pub fn client_id(&self) -> &str {
        &self.inner.default_client.client_id
    }

    /// The default client's secret (`mock-client-secret` unless replaced).
    pub fn client_secret(&self) -> &str {
        &self.inner.default_client.client_secret
    }

    /// The primary user, as it is now (with any [`set_user_info`](Self::set_user_info)
    /// change): the one [`authorize`](Self::authorize) logs in and
    /// [`issue_token`](Self::issue_token) issues for. By default [`MockUser::default`]
    /// (`owner@example.com`); see [`MockProviderBuilder::user`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let owner = mock.user();
    /// assert_eq!((owner.email.as_str(), owner.password.as_str()), ("owner@example.com", "password"));
    /// assert_eq!(owner.info["role"], "owner");
    /// # Ok(())
    /// # }
    /// ```
    pub fn user(&self) -> MockUser {
        self.inner.shared.lock().primary_user().clone()
    }

    /// Every user who can log in, as they are now, the primary user first. The vcita
    /// mock knows [`MockUser::default`] (the owner) and [`MockUser::staff`] unless
    /// changed with [`MockProviderBuilder::user`] and
    /// [`add_user`](MockProviderBuilder::add_user); the Apicbase preset knows only
    /// [`MockUser::apicbase`].
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let emails: Vec<String> = mock.users().into_iter().map(|u| u.email).collect();
    /// assert_eq!(emails, ["owner@example.com", "staff@example.com"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn users(&self) -> Vec<MockUser> {
        self.inner.shared.lock().users.clone()
    }

    /// Replaces the [`info`](MockUser::info) of the user with this login email
    /// (compared case-insensitively). Takes effect at once, also for codes and tokens
    /// already issued: the next userinfo answer for the user's tokens is `info`, and
    /// introspection's `sub` is `info["sub"]`. For tests like "a user demoted at the
    /// provider loses access once the cached user info expires".
    ///
    /// ```
    /// use axum_oauth_login_mock::{MockProvider, UnknownUser};
    /// use serde_json::json;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = MockProvider::start().await?;
    /// let token = mock.issue_token();
    /// let mut info = mock.user().info;
    /// info["role"] = json!("staff");
    /// mock.set_user_info("owner@example.com", info)?;
    ///
    /// let answer: serde_json::Value = reqwest::Client::new()
    ///     .get(mock.provider().userinfo_url().unwrap().clone())
    ///     .bearer_auth(&token)
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(answer["role"], "staff");
    /// assert!(matches!(
    ///     mock.set_user_info("nobody@example.com", json!({})),
    ///     Err(UnknownUser { .. })
    /// ));
    /// # Ok(())
    /// # }
    /// ```
    pub fn set_user_info(&self, email: &str, info: serde_json::Value) -> Result<(), UnknownUser> {
        self.update_user_info(email, |current| *current = info)
    }

    /// Changes the [`info`](MockUser::info) of the user with this login email in place
    /// (compared case-insensitively); like [`set_user_info`](Self::set_user_info), the
    /// next userinfo and introspection answers show the change. `change` runs on a copy,
    /// without the mock's lock held, so it may use this handle.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// mock.update_user_info("OWNER@example.com", |info| info["role"] = "staff".into())?;
    /// assert_eq!(mock.user().info["role"], "staff");
    /// assert!(mock.update_user_info("nobody@example.com", |_| {}).is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn update_user_info(
        &self,
        email: &str,
        change: impl FnOnce(&mut serde_json::Value),
    ) -> Result<(), UnknownUser> {
        let unknown = || UnknownUser {
            email: email.to_owned(),
        };
        let mut info = {
            let inner = self.inner.shared.lock();
            inner.user(email).ok_or_else(unknown)?.info.clone()
        };
        change(&mut info);
        // Users are never removed, so the user is still there.
        let mut inner = self.inner.shared.lock();
        inner.user_mut(email).ok_or_else(unknown)?.info = info;
        Ok(())
    }

    /// Requests received by an endpoint so far, faulted ones included.
    pub fn hits(&self, endpoint: MockEndpoint) -> usize {
        self.inner
            .shared
            .lock()
            .traffic
            .get(&endpoint)
            .map_or(0, |t| t.hits)
    }

    /// Token requests with `grant_type=refresh_token` so far.
    pub fn refresh_hits(&self) -> usize {
        self.inner.shared.lock().refresh_hits
    }

    /// The requests an endpoint received, oldest first.
    pub fn requests(&self, endpoint: MockEndpoint) -> Vec<RecordedRequest> {
        self.inner
            .shared
            .lock()
            .traffic
            .get(&endpoint)
            .map(|t| t.requests.clone())
            .unwrap_or_default()
    }

    /// The next `n` requests to `endpoint` get `status` with
    /// `{"error":"server_error","error_description":"injected failure"}`. A `status`
    /// that is not a valid HTTP status code becomes 500.
    pub fn fail_next(&self, endpoint: MockEndpoint, n: usize, status: u16) {
        let body = json!({"error": "server_error", "error_description": "injected failure"});
        self.respond_next(endpoint, n, status, "application/json", body.to_string());
    }

    /// The next `n` requests to `endpoint` get exactly this answer (e.g. an HTML 502
    /// page). A `status` that is not a valid HTTP status code becomes 500, an invalid
    /// content type `application/octet-stream`.
    pub fn respond_next(
        &self,
        endpoint: MockEndpoint,
        n: usize,
        status: u16,
        content_type: &str,
        body: impl Into<Bytes>,
    ) {
        let canned = CannedResponse {
            status: StatusCode::from_u16(status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR),
            content_type: HeaderValue::from_str(content_type)
                .unwrap_or(HeaderValue::from_static("application/octet-stream")),
            body: body.into(),
        };
        let mut inner = self.inner.shared.lock();
        let queue = &mut inner.traffic(endpoint).canned;
        queue.extend(std::iter::repeat_n(canned, n));
    }

    /// The next `n` answers of the token endpoint are held `delay` *after* the request
    /// was handled: the tokens are issued (a refresh token rotated away) while the client
    /// still waits, as with a slow network on the way back. For races such as a logout
    /// that lands while a refresh is in flight.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// use std::time::Duration;
    /// let mock = axum_oauth_login_mock::MockProvider::start().await.unwrap();
    /// mock.delay_token_answer_next(1, Duration::from_millis(300));
    /// # }
    /// ```
    pub fn delay_token_answer_next(&self, n: usize, delay: Duration) {
        let mut inner = self.inner.shared.lock();
        let queue = &mut inner.traffic(MockEndpoint::Token).answer_delays;
        queue.extend(std::iter::repeat_n(delay, n));
    }

    /// The next `n` requests to `endpoint` wait `delay` before being handled.
    pub fn delay_next(&self, endpoint: MockEndpoint, n: usize, delay: Duration) {
        let mut inner = self.inner.shared.lock();
        let queue = &mut inner.traffic(endpoint).delays;
        queue.extend(std::iter::repeat_n(delay, n));
    }

    /// The `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.inner.shared.lock().config.token_lifetime = lifetime;
    }

    /// The lifetime of codes issued from now on.
    pub fn set_code_lifetime(&self, lifetime: Duration) {
        self.inner.shared.lock().config.code_lifetime = lifetime;
    }

    /// Moves the mock's clock forward: codes and tokens expire without sleeping, and
    /// `created_at` / `exp` values move with it.
    pub fn advance_clock(&self, by: Duration) {
        let mut inner = self.inner.shared.lock();
        inner.clock_offset = inner.clock_offset.saturating_add(by);
    }

    /// Mints an access token for the primary user ([`user`](Self::user)) and the
    /// default client, as if a login had just happened, and returns it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let token = mock.issue_token();
    /// let answer: serde_json::Value = reqwest::Client::new()
    ///     .post(mock.provider().introspection_url().unwrap().clone())
    ///     .form(&[
    ///         ("token", token.as_str()),
    ///         ("client_id", mock.client_id()),
    ///         ("client_secret", mock.client_secret()),
    ///     ])
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(answer["username"], "owner@example.com");
    /// assert_eq!(answer["sub"], "u-1001");
    /// # Ok(())
    /// # }
    /// ```
    pub fn issue_token(&self) -> String {
        let email = self.user().email;
        self.issue_token_for(&email)
            .unwrap_or_else(|e| unreachable!("the primary user is known: {e}"))
    }

    /// Mints an access token for the user with this login email (compared
    /// case-insensitively) and the default client, as if that user had just logged in.
    /// Userinfo and introspection answer for that user.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let token = mock.issue_token_for("staff@example.com")?;
    /// let info: serde_json::Value = reqwest::Client::new()
    ///     .get(mock.provider().userinfo_url().unwrap().clone())
    ///     .bearer_auth(&token)
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(info["sub"], "u-1002");
    /// assert!(mock.issue_token_for("nobody@example.com").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn issue_token_for(&self, email: &str) -> Result<String, UnknownUser> {
        let client_id = self.client_id().to_owned();
        let mut inner = self.inner.shared.lock();
        let user = inner
            .user(email)
            .ok_or_else(|| UnknownUser {
                email: email.to_owned(),
            })?
            .email
            .clone();
        let body = inner.issue_tokens(&client_id, &user, None, None, None);
        Ok(body["access_token"].as_str().unwrap_or_default().to_owned())
    }

    /// The access tokens that would work now (issued, not revoked, not expired): a test
    /// of logout or of a refresh race checks that nothing issued is left live.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await.unwrap();
    /// let token = mock.issue_token();
    /// assert_eq!(mock.live_access_tokens(), vec![token]);
    /// mock.revoke_all();
    /// assert!(mock.live_access_tokens().is_empty());
    /// # }
    /// ```
    pub fn live_access_tokens(&self) -> Vec<String> {
        let inner = self.inner.shared.lock();
        let mut live: Vec<String> = inner
            .access
            .keys()
            .filter(|token| inner.active_access(token).is_some())
            .cloned()
            .collect();
        live.sort();
        live
    }

    /// The refresh tokens that would work now (issued, not revoked or rotated away).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        let mut live: Vec<String> = self.inner.shared.lock().refresh.keys().cloned().collect();
        live.sort();
        live
    }

    /// Invalidates every access and refresh token issued so far.
    pub fn revoke_all(&self) {
        let mut inner = self.inner.shared.lock();
        inner.access.clear();
        inner.refresh.clear();
    }

    /// Plays the browser: opens `authorize_url`, logs the primary user
    /// ([`user`](Self::user)) in, clicks "Allow" and returns the redirect's `Location`
    /// (`redirect_uri?code=..&state=..`) without following it. When the mock answers
    /// the authorize request itself with an error redirect (`error=..`), that location
    /// is returned. An error page (unknown client, unregistered redirect URI) or a
    /// refused login is an `Err`, and so is the copy-the-code page (see
    /// [`authorize_for_code`](Self::authorize_for_code)).
    pub async fn authorize(&self, authorize_url: &str) -> Result<url::Url, String> {
        browser::walk(authorize_url, &self.user(), "allow").await
    }

    /// Like [`authorize`](Self::authorize), but logs in as the known user with this
    /// login email (compared case-insensitively), with that user's password: the code
    /// in the returned location, and the tokens it is exchanged for, are that user's.
    /// An email no user has is an `Err` (the [`UnknownUser`] message), before any
    /// request is sent.
    ///
    /// ```
    /// use axum_oauth_login_mock::MockProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = MockProvider::start().await?;
    /// let authorize = format!(
    ///     "{}/app/oauth/authorize?response_type=code&client_id={}&redirect_uri={}",
    ///     mock.base_url(),
    ///     mock.client_id(),
    ///     "http://127.0.0.1:3000/callback",
    /// );
    /// let callback = mock.authorize_as("staff@example.com", &authorize).await?;
    /// assert!(callback.query_pairs().any(|(k, _)| k == "code"));
    ///
    /// let err = mock.authorize_as("nobody@example.com", &authorize).await.unwrap_err();
    /// assert!(err.contains("nobody@example.com"));
    /// # Ok(())
    /// # }
    /// ```
    pub async fn authorize_as(&self, email: &str, authorize_url: &str) -> Result<url::Url, String> {
        let user = self
            .inner
            .shared
            .lock()
            .user(email)
            .cloned()
            .ok_or_else(|| {
                UnknownUser {
                    email: email.to_owned(),
                }
                .to_string()
            })?;
        browser::walk(authorize_url, &user, "allow").await
    }

    /// The copy-the-code flow (Apicbase mode): opens `authorize_url`, which carries no
    /// `redirect_uri`, logs the primary user ([`user`](Self::user)) in, clicks "Allow"
    /// and returns the code the mock then shows on its page (in
    /// `<code id="authorization-code">`, the state in `<code id="state">`) instead of
    /// redirecting, like Apicbase does for apps with no redirect URL configured.
    ///
    /// The mock shows that page in Apicbase mode for an authorize request without
    /// `redirect_uri` from a client with no registered redirect URIs (a client with one
    /// is sent to it, as usual). The code is exchanged without a `redirect_uri`; a token
    /// request naming one is refused (`invalid_grant`), while codes issued for a
    /// `redirect_uri` still need it. The vcita mock has no such page: there an authorize
    /// request without `redirect_uri` gets a 400 error page, which is an `Err` here, as
    /// are a redirect (the URL carried a `redirect_uri`) and a refused login.
    ///
    /// ```
    /// use axum_oauth_login::{AuthorizationCode, CsrfState, OAuthClient, PkceVerifier};
    /// use axum_oauth_login_mock::MockProvider;
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = MockProvider::apicbase().start().await?;
    /// let client = OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
    ///     .without_redirect_uri()
    ///     .build()?;
    /// let verifier = PkceVerifier::random();
    /// let url = client.authorize_url(&CsrfState::random(), Some(&verifier));
    /// let code = mock.authorize_for_code(url.as_str()).await?;
    /// let tokens = client.exchange_code(AuthorizationCode::new(code), Some(&verifier)).await?;
    /// assert!(tokens.refresh_token().is_some());
    /// # Ok(())
    /// # }
    /// ```
    pub async fn authorize_for_code(&self, authorize_url: &str) -> Result<String, String> {
        match browser::walk_to_end(authorize_url, &self.user(), "allow").await? {
            browser::Outcome::CodePage(page) => browser::code_element(&page, browser::CODE_ELEMENT)
                .ok_or_else(|| "the code page carries no code".to_owned()),
            browser::Outcome::Redirect(location) => Err(format!(
                "the mock redirected to {location} instead of showing the code \
                 (does the authorize URL carry a redirect_uri?)"
            )),
        }
    }

    /// Like [`authorize`](Self::authorize), but clicks "Deny": the location carries
    /// `error=access_denied`.
    pub async fn deny(&self, authorize_url: &str) -> Result<url::Url, String> {
        browser::walk(authorize_url, &self.user(), "deny").await
    }

    /// Stops the server for every handle: no new connections, open ones finish their
    /// request. Waits up to a second for that, then aborts the server task.
    pub async fn shutdown(&self) {
        let sender = self
            .inner
            .shutdown
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        drop(sender);
        let task = self
            .inner
            .task
            .lock()
            .unwrap_or_else(PoisonError::into_inner)
            .take();
        if let Some(mut task) = task
            && tokio::time::timeout(Duration::from_secs(1), &mut task)
                .await
                .is_err()
        {
            task.abort();
        }
    }
}
