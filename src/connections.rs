//! Connected accounts: token sets the app keeps under its own account ids (an Apicbase
//! library, a vcita business), for background work, independent of any browser session.

use std::sync::Arc;
use std::time::Duration;

use axum::response::Response;

use crate::api::ProviderApi;
use crate::client::{OAuthClient, TokenSet};
use crate::session::{
    CookieCodec, CookieKey, LoginFlow, TimedStore, Vault, keep, revoke_connection as revoke,
};
use crate::state::Shared;
use crate::store::{SessionStore, StoreError};

/// Connected accounts: token sets kept under app-chosen account ids in a server-side
/// store ([`MemoryStore`](crate::store::MemoryStore), `RedisStore`,
/// `TowerSessionsStore`, `FileStore` (feature `file-store`)), sealed at rest with the
/// cookie key, independent of any browser session. For background jobs: an Apicbase
/// partner connecting many libraries with one client, a vcita app acting for a business.
///
/// * **Connect** from the app's own route (`GET` and `POST`), **after the app's own
///   authorization check**: [`connect`](Connections::connect) answers a `GET` with a
///   confirmation page and starts on a `POST` from the app's own pages only (never from
///   another site), then sends the browser to the provider with the same state, PKCE
///   and callback checks as a login; the account id travels in the sealed flow cookie
///   and is never taken from the callback. Whoever may reach that route picks the
///   account, so only let people connect accounts they own.
/// * **Use**: [`api`](Connections::api) calls the provider's API with the account's
///   token, refreshed when due under the store's lock (rotation-safe across instances
///   with a locking store, as for sessions; `TowerSessionsStore` does not lock).
/// * **Disconnect**: [`disconnect`](Connections::disconnect) revokes at the provider and
///   deletes. **List**: [`list`](Connections::list), for an admin page.
///
/// ```no_run
/// use axum::{Router, extract::{Path, State}, http::request::Parts, response::Response};
/// use axum::routing::get;
/// use axum_oauth_login::{AuthSession, OAuth, Provider, store::MemoryStore, connections::Connections};
///
/// let oauth = OAuth::builder(Provider::apicbase(), "client-id", "client-secret")
///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
///     .connections_store(MemoryStore::new(10_000))
///     .build()
///     .unwrap();
///
/// // POST /libraries/{id}/connect from the app's page (a GET, from a link, shows a
/// // confirmation page that posts here) — the app's route, behind the app's own check.
/// async fn connect(
///     State(connections): State<Connections>,
///     session: AuthSession,
///     Path(library): Path<String>,
///     request: Parts,
/// ) -> Response {
///     // ... check that this session's user administers `library` ...
///     connections.connect(&library, "/libraries", &request).await
/// }
///
/// let connections = oauth.connections().expect("a connections store");
/// let app: Router = Router::new()
///     .route("/libraries/{id}/connect", get(connect).post(connect))
///     .route_layer(oauth.require_login())
///     .with_state(connections);
/// // In the app's page: <form method="post" action="/libraries/42/connect">
/// //                      <button>Connect</button></form>
///
/// // In a background job:
/// # async fn job(connections: Connections) -> Result<(), axum_oauth_login::api::ApiError> {
/// let products = connections.api("library-42").get("products/").send().await?;
/// # Ok(()) }
/// # let _ = app;
/// ```
#[derive(Clone)]
pub struct Connections {
    client: OAuthClient,
    vault: Arc<Vault>,
    /// The web app's login machinery, for [`connect`](Connections::connect).
    shared: Option<Arc<Shared>>,
}

impl std::fmt::Debug for Connections {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Connections")
            .field("provider", &self.client.provider().name())
            .field("vault", &self.vault)
            .finish_non_exhaustive()
    }
}

/// One connected account, as [`Connections::list`] shows it (no tokens).
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct Connection {
    /// The app's account id.
    pub account: String,
    /// When it was connected (unix seconds).
    pub connected_at: u64,
    /// When its access token expires (unix seconds), when known.
    pub access_expires_at: Option<u64>,
    /// Whether it holds a refresh token.
    pub refreshable: bool,
    /// The granted scopes, when the provider said.
    pub scope: Option<String>,
}

/// Why an account could not be connected, saved or disconnected.
#[derive(Debug, Clone, thiserror::Error)]
#[non_exhaustive]
pub enum ConnectionError {
    /// The store failed.
    #[error(transparent)]
    Store(#[from] StoreError),
    /// The account id is empty or longer than 256 bytes.
    #[error("an account id must be 1 to 256 bytes")]
    InvalidAccount,
}

/// The store timeout for connection records.
const STORE_TIMEOUT: Duration = Duration::from_secs(5);

fn check_account(account: &str) -> Result<(), ConnectionError> {
    if account.is_empty() || account.len() > 256 {
        return Err(ConnectionError::InvalidAccount);
    }
    Ok(())
}

impl Connections {
    /// Connected accounts for `client` in `store`, sealed with `key`: for programs
    /// without a web server (a command-line tool that got its tokens by the
    /// copy-the-code flow, a worker). A web app gets them from
    /// [`OAuthBuilder::connections_store`](crate::OAuthBuilder::connections_store) and
    /// [`OAuth::connections`](crate::OAuth::connections), which can also
    /// [`connect`](Connections::connect).
    pub fn new(client: OAuthClient, store: impl SessionStore, key: CookieKey) -> Connections {
        Self::with_store(client, Arc::new(store), key)
    }

    /// [`new`](Self::new) with a shared store.
    pub fn with_store(
        client: OAuthClient,
        store: Arc<dyn SessionStore>,
        key: CookieKey,
    ) -> Connections {
        let codec = CookieCodec::new(key, true, client.context());
        let vault = Vault::new(
            &client,
            codec,
            TimedStore::new(store, STORE_TIMEOUT),
            client.clock().clone(),
            (Duration::from_secs(60), Duration::from_secs(60)),
        );
        Connections {
            client,
            vault: Arc::new(vault),
            shared: None,
        }
    }

    pub(crate) fn for_app(shared: Arc<Shared>, vault: Arc<Vault>) -> Connections {
        Connections {
            client: shared.client.clone(),
            vault,
            shared: Some(shared),
        }
    }

    /// Connects `account`, from the app's own route for `GET` and `POST`, **after the
    /// app has checked that the current user may connect it**. `request` is the current
    /// request's head (axum extracts [`Parts`](http::request::Parts)).
    ///
    /// * `POST` (any unsafe method) from this app's own pages: a `303` to the provider's
    ///   authorize page, with a flow cookie that carries the account id (sealed) back to
    ///   the callback. After the provider's consent the callback keeps the tokens under
    ///   `account` (revoking the ones they replace) — the browser's own login session is
    ///   not touched — and sends the browser to `return_to` (a same-site path).
    /// * `POST` from another site (Fetch Metadata or `Origin`, as for logout; trusted
    ///   origins count as the app's own): `403`, nothing started. The crate's session
    ///   does not travel with such a request either, but the app's own check might (HTTP
    ///   Basic credentials, its own cookies).
    /// * `GET` (a link from an e-mail, another site or a marketplace): a confirmation
    ///   page whose button posts to the same URL; nothing starts. A provider that skips
    ///   its consent screen for an app it knows would otherwise let any site replace the
    ///   user's connection with a link. The page names the account and the provider in
    ///   the [`Messages`](crate::Messages) table's words (`connect_confirm`,
    ///   `button_continue`); the crate draws it (not the app's error-page hook), and it
    ///   cannot be framed. An app that wants its own page answers the `GET` itself and
    ///   calls `connect` for the `POST` only.
    ///
    /// Without the app's routes (a `Connections` made with [`new`](Self::new)), or with
    /// an invalid account id, the answer is a `500` naming the mistake in the log.
    pub async fn connect(
        &self,
        account: &str,
        return_to: &str,
        request: &http::request::Parts,
    ) -> Response {
        use axum::response::IntoResponse as _;
        let Some(shared) = &self.shared else {
            tracing::error!(
                "Connections::connect needs the OAuth's routes: use OAuth::connections()"
            );
            return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        };
        if check_account(account).is_err() {
            tracing::error!("Connections::connect: an account id must be 1 to 256 bytes");
            return http::StatusCode::INTERNAL_SERVER_ERROR.into_response();
        }
        let headers = &request.headers;
        if !crate::origin::is_unsafe(&request.method) {
            let provider = shared.client.provider().name();
            return shared.pages.confirm(
                "connect_confirm",
                "button_continue",
                &[("account", account), ("provider", provider)],
            );
        }
        if shared.origins.foreign(headers) {
            tracing::warn!("connecting an account refused: sent from another origin");
            let page = shared.pages.page(
                http::StatusCode::FORBIDDEN,
                "cross_origin_request",
                "connect_cross_origin",
                &[],
            );
            return shared.pages.respond(&page, headers);
        }
        let return_to = crate::safe_return_to(return_to).unwrap_or("/").to_owned();
        let now = shared.clock.now();
        let mut flow = LoginFlow::new(
            return_to,
            shared.client.provider().pkce(),
            shared.client.oidc().is_some(),
            now,
        );
        flow.account = Some(account.to_owned());
        crate::routes::to_provider(shared, &flow, headers).await
    }

    /// Keeps `tokens` for `account` (replacing a previous connection, whose tokens are
    /// revoked). For tokens obtained outside [`connect`](Self::connect), such as the
    /// copy-the-code flow.
    pub async fn save(&self, account: &str, tokens: TokenSet) -> Result<(), ConnectionError> {
        check_account(account)?;
        Ok(keep(&self.client, &self.vault, account, tokens).await?)
    }

    /// The provider's API as `account`: see [`ProviderApi`].
    pub fn api(&self, account: &str) -> ProviderApi {
        ProviderApi::for_account(self.client.clone(), self.vault.clone(), account.to_owned())
    }

    /// `account`'s current tokens, refreshed first when due (for calls the API client
    /// does not cover).
    pub async fn tokens(&self, account: &str) -> Result<TokenSet, crate::api::ApiError> {
        Ok(self.vault.fresh(account).await?.tokens.clone())
    }

    /// Disconnects `account`: revokes its tokens at the provider (best effort, when it
    /// has a revocation endpoint) and deletes them. `false` when there was no connection.
    pub async fn disconnect(&self, account: &str) -> Result<bool, ConnectionError> {
        let taken = self.vault.delete(account).await?;
        for ended in &taken {
            revoke(&self.client, ended).await;
        }
        Ok(!taken.is_empty())
    }

    /// Every connected account, for an admin page (no tokens).
    pub async fn list(&self) -> Result<Vec<Connection>, ConnectionError> {
        let mut out: Vec<Connection> = self
            .vault
            .list()
            .await?
            .into_iter()
            .filter_map(|data| {
                Some(Connection {
                    account: data.account.clone()?,
                    connected_at: data.created_at,
                    access_expires_at: data.tokens.expires_at(),
                    refreshable: data.tokens.refresh_token().is_some(),
                    scope: data.tokens.scope().map(str::to_owned),
                })
            })
            .collect();
        out.sort_by(|a, b| a.account.cmp(&b.account));
        Ok(out)
    }
}
