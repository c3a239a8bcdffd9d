//! [`MockProvider`], the handle to a running mock: starting it, what it is (its URLs, the
//! [`Provider`] for it, its client and users), changing a user, stopping it. What a test
//! reads and injects is in `traffic`, the codes and tokens in `grants`, the browser-less
//! logins in `browser`.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::Duration;

use axum_oauth_login::{
    Provider,
    provider::{ClientAuth, TokenBody, UserResolver},
};
use tokio::sync::oneshot;
use tokio::task::JoinHandle;

use crate::flavor::Flavor;
use crate::state::Shared;
use crate::{MockClient, MockProviderBuilder, MockUser, UnknownUser};

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
/// | `GET /platform/v1/businesses/{business_id}` | vcita's business, for a bearer token ([`MockEndpoint::Api`](crate::MockEndpoint::Api)) |
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
    pub(crate) inner: Arc<Running>,
}

/// The running server; dropping it drops the shutdown sender, which stops the server.
pub(crate) struct Running {
    pub(crate) shared: Arc<Shared>,
    pub(crate) addr: SocketAddr,
    pub(crate) default_client: MockClient,
    pub(crate) shutdown: Mutex<Option<oneshot::Sender<()>>>,
    pub(crate) task: Mutex<Option<JoinHandle<()>>>,
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
    /// use axum_oauth_login::provider::{TokenBody, UserResolver};
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
            .par_url(url(paths.par))
            .par(self.inner.shared.lock().config.require_par)
            .api_base(url(paths.api_base))
            .issuer(base.clone())
            .client_auth(match self.inner.default_client.public_key {
                // Registered with a key: the app must sign (`OAuthBuilder::client_key`).
                Some(_) => ClientAuth::PrivateKeyJwt,
                None => ClientAuth::ClientSecretPost,
            })
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
