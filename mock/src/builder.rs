//! [`MockProviderBuilder`]: the mock's settings, and starting the server.

use std::io;
use std::net::SocketAddr;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::Router;
use axum::routing::{get, post};
use tokio::net::TcpListener;
use tokio::sync::oneshot;

use super::flavor::{Flavor, Paths};
use super::provider::Running;
use super::state::{Config, Shared};
use super::{MockClient, MockProvider, MockUser, api, apps, endpoints, pages};

/// The default client's id.
const DEFAULT_CLIENT_ID: &str = "mock-client-id";
/// The default client's secret.
const DEFAULT_CLIENT_SECRET: &str = "mock-client-secret";
/// The directory token app creation accepts unless changed.
const DEFAULT_DIRECTORY_TOKEN: &str = "mock-directory-token";
/// vcita's `expires_in`: 20 years.
const VCITA_TOKEN_LIFETIME: Duration = Duration::from_secs(631_152_000);
/// vcita's code lifetime.
const VCITA_CODE_LIFETIME: Duration = Duration::from_secs(30);
/// Apicbase's access token lifetime: one week.
const APICBASE_TOKEN_LIFETIME: Duration = Duration::from_secs(7 * 24 * 3600);
/// Apicbase's code lifetime: one minute.
const APICBASE_CODE_LIFETIME: Duration = Duration::from_secs(60);

/// Settings for a [`MockProvider`]; see [`MockProvider::builder`].
///
/// ```
/// use std::time::Duration;
/// use axum_oauth_login_mock::{MockClient, MockProvider};
///
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// let mock = MockProvider::builder()
///     .code_lifetime(Duration::from_secs(60))
///     .refresh_tokens(true)
///     .accept_form(false)
///     .client(MockClient { trusted: true, ..MockClient::new("trusted-app", "s3cret") })
///     .start()
///     .await?;
/// assert!(mock.base_url().starts_with("http://127.0.0.1:"));
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone)]
#[must_use]
pub struct MockProviderBuilder {
    port: u16,
    default_client: MockClient,
    clients: Vec<MockClient>,
    /// Who can log in, the primary user first; never empty, emails unique.
    users: Vec<MockUser>,
    config: Config,
}

impl Default for MockProviderBuilder {
    fn default() -> Self {
        MockProviderBuilder {
            port: 0,
            default_client: MockClient::new(DEFAULT_CLIENT_ID, DEFAULT_CLIENT_SECRET),
            clients: Vec::new(),
            users: vec![MockUser::default(), MockUser::staff()],
            config: Config {
                flavor: Flavor::Vcita,
                token_lifetime: VCITA_TOKEN_LIFETIME,
                code_lifetime: VCITA_CODE_LIFETIME,
                refresh_tokens: false,
                rotate_refresh_tokens: true,
                accept_form: true,
                accept_json: true,
                directory_token: DEFAULT_DIRECTORY_TOKEN.into(),
                iss_in_redirect: true,
                require_par: false,
                require_dpop_nonce: false,
            },
        }
    }
}

impl MockProviderBuilder {
    /// The Apicbase preset; see [`MockProvider::apicbase`].
    pub(crate) fn apicbase() -> Self {
        let mut builder = Self {
            users: vec![MockUser::apicbase()],
            ..Self::default()
        };
        builder.config = Config {
            flavor: Flavor::Apicbase,
            token_lifetime: APICBASE_TOKEN_LIFETIME,
            code_lifetime: APICBASE_CODE_LIFETIME,
            refresh_tokens: true,
            rotate_refresh_tokens: true,
            accept_form: true,
            accept_json: false,
            ..builder.config
        };
        builder
    }

    /// Listens on this port of `127.0.0.1` (default 0: the OS chooses).
    pub fn port(mut self, port: u16) -> Self {
        self.port = port;
        self
    }

    /// Registers another client. One with the default client's id replaces it.
    pub fn client(mut self, client: MockClient) -> Self {
        self.clients.push(client);
        self
    }

    /// Replaces the default client (`mock-client-id`, any loopback redirect URI,
    /// untrusted).
    pub fn default_client(mut self, client: MockClient) -> Self {
        self.default_client = client;
        self
    }

    /// Replaces the primary user: the one [`MockProvider::user`],
    /// [`MockProvider::authorize`] and [`MockProvider::issue_token`] use (default:
    /// [`MockUser::default`], the owner; in the [Apicbase preset](MockProvider::apicbase)
    /// [`MockUser::apicbase`]).
    ///
    /// The other users stay: a vcita mock built with `.user(u)` knows `u` and
    /// [`MockUser::staff`]. A user already known by `u`'s email (compared
    /// case-insensitively) is dropped, so `.user(MockUser::staff())` leaves staff as the
    /// only user.
    ///
    /// ```
    /// use axum_oauth_login_mock::{MockProvider, MockUser};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let admin = MockUser {
    ///     email: "admin@example.com".into(),
    ///     password: "hunter2".into(),
    ///     info: serde_json::json!({ "sub": "u-9", "role": "admin" }),
    /// };
    /// let mock = MockProvider::builder().user(admin).start().await?;
    /// assert_eq!(mock.user().email, "admin@example.com");
    /// let emails: Vec<String> = mock.users().into_iter().map(|u| u.email).collect();
    /// assert_eq!(emails, ["admin@example.com", "staff@example.com"]);
    /// # Ok(())
    /// # }
    /// ```
    pub fn user(mut self, user: MockUser) -> Self {
        // The old primary user goes, and so does any other user with `user`'s email.
        if !self.users.is_empty() {
            self.users.remove(0);
        }
        self.users.retain(|u| !u.has_email(&user.email));
        self.users.insert(0, user);
        self
    }

    /// Adds a user who can log in, after the primary user and those added before. A
    /// user already known by the same email (compared case-insensitively) is replaced
    /// in place, so `.add_user(u)` with the primary user's email changes the primary
    /// user.
    ///
    /// ```
    /// use axum_oauth_login_mock::{MockProvider, MockUser};
    ///
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> std::io::Result<()> {
    /// let manager = MockUser {
    ///     email: "manager@example.com".into(),
    ///     password: "password".into(),
    ///     info: serde_json::json!({ "sub": "u-1003", "role": "manager" }),
    /// };
    /// let mock = MockProvider::builder().add_user(manager).start().await?;
    /// assert_eq!(mock.user().email, "owner@example.com");
    /// assert_eq!(mock.users().len(), 3);
    /// let token = mock.issue_token_for("manager@example.com").unwrap();
    /// assert_eq!(token.len(), 64);
    /// # Ok(())
    /// # }
    /// ```
    pub fn add_user(mut self, user: MockUser) -> Self {
        match self.users.iter_mut().find(|u| u.has_email(&user.email)) {
            Some(known) => *known = user,
            None => self.users.push(user),
        }
        self
    }

    /// `expires_in` of issued tokens (default 631152000 s, like vcita).
    pub fn token_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.token_lifetime = lifetime;
        self
    }

    /// How long a code can be exchanged (default 30 s, like vcita).
    pub fn code_lifetime(mut self, lifetime: Duration) -> Self {
        self.config.code_lifetime = lifetime;
        self
    }

    /// Issues refresh tokens (default off, like vcita).
    pub fn refresh_tokens(mut self, on: bool) -> Self {
        self.config.refresh_tokens = on;
        self
    }

    /// Every refresh returns a new refresh token and invalidates the old one (default
    /// on, like Apicbase). Off: the refresh token stays and refresh responses carry none.
    pub fn rotate_refresh_tokens(mut self, on: bool) -> Self {
        self.config.rotate_refresh_tokens = on;
        self
    }

    /// Whether the token endpoint also takes form bodies (default on). Off, like vcita,
    /// anything but JSON gets `400 invalid_request`.
    pub fn accept_form(mut self, on: bool) -> Self {
        self.config.accept_form = on;
        self
    }

    /// Whether the token endpoint takes JSON bodies (default on; off in the
    /// [Apicbase preset](MockProvider::apicbase), where JSON gets `400 invalid_request`).
    pub fn accept_json(mut self, on: bool) -> Self {
        self.config.accept_json = on;
        self
    }

    /// The directory token app creation accepts (default `mock-directory-token`).
    pub fn directory_token(mut self, token: impl Into<String>) -> Self {
        self.config.directory_token = token.into();
        self
    }

    /// Whether redirects back to the client carry `iss` (RFC 9207; default on, matching
    /// the issuer of [`MockProvider::provider`]). Off, like vcita.
    pub fn iss_in_redirect(mut self, on: bool) -> Self {
        self.config.iss_in_redirect = on;
        self
    }

    /// Whether the authorize endpoint takes only pushed authorization requests (RFC
    /// 9126; default off). The PAR endpoint (`/oauth/par`) answers either way;
    /// [`MockProvider::provider`] turns [`par`](axum_oauth_login::provider::ProviderBuilder::par)
    /// on when this is on.
    pub fn require_par(mut self, on: bool) -> Self {
        self.config.require_par = on;
        self
    }

    /// Whether every DPoP proof (RFC 9449) must carry the mock's nonce (default off): a
    /// proof without it is answered `use_dpop_nonce` with a `DPoP-Nonce` header, at the
    /// token endpoint (`400`) and at userinfo and the API (`401`). The mock binds a token
    /// to the key of any valid proof its token request carries, either way.
    pub fn require_dpop_nonce(mut self, on: bool) -> Self {
        self.config.require_dpop_nonce = on;
        self
    }

    /// Binds the port and starts serving on a tokio task.
    pub async fn start(self) -> io::Result<MockProvider> {
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], self.port))).await?;
        let addr = listener.local_addr()?;
        let mut clients = vec![self.default_client.clone()];
        clients.extend(self.clients);
        let default_client = clients
            .iter()
            .rev()
            .find(|c| c.client_id == self.default_client.client_id)
            .cloned()
            .unwrap_or(self.default_client);
        let paths = self.config.flavor.paths();
        let shared = Arc::new(Shared::new(
            format!("http://{addr}"),
            self.users,
            clients,
            self.config,
        ));
        let (shutdown, signal) = oneshot::channel::<()>();
        let app = router(shared.clone(), paths);
        let task = tokio::spawn(async move {
            let stopped = async {
                // A send or a dropped sender both mean stop.
                let _ = signal.await;
            };
            if let Err(e) = axum::serve(listener, app)
                .with_graceful_shutdown(stopped)
                .await
            {
                tracing::warn!("mock provider stopped with an error: {e}");
            }
        });
        Ok(MockProvider {
            inner: Arc::new(Running {
                shared,
                addr,
                default_client,
                shutdown: Mutex::new(Some(shutdown)),
                task: Mutex::new(Some(task)),
            }),
        })
    }
}

fn router(shared: Arc<Shared>, paths: &Paths) -> Router {
    let mut router = Router::new();
    for path in paths.authorize {
        router = router.route(path, get(pages::authorize));
    }
    router = router
        .route(paths.login, post(pages::login))
        .route(paths.consent, post(pages::consent))
        .route(paths.token, post(endpoints::token))
        .route(paths.introspect, post(endpoints::introspect))
        .route(paths.revoke, post(endpoints::revoke))
        .route(paths.par, post(crate::par::push));
    if let Some(path) = paths.userinfo {
        router = router.route(path, get(endpoints::userinfo));
    }
    if let Some(path) = paths.register_app {
        router = router.route(path, post(apps::register_app));
    }
    if let Some(path) = paths.business {
        router = router.route(path, get(api::business));
    }
    if let Some(path) = paths.library {
        router = router.route(path, get(api::library));
    }
    router.fallback(endpoints::not_found).with_state(shared)
}
