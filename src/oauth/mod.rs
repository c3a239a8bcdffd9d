//! The façade: one [`OAuth`] value per provider, built once by [`OAuthBuilder`], handing
//! out the layer, the routes and the `RequireLogin` route layer. It only builds: what the
//! request path shares lives in `state`, below every module that serves requests.

mod build;
mod builder;
mod settings;

use std::sync::Arc;

pub use self::builder::OAuthBuilder;
use crate::client::OAuthClient;
use crate::layer::{OAuthLayer, RequireLoginLayer};
use crate::provider::Provider;
use crate::secret::ClientSecret;
use crate::state::Shared;

/// "Log in with ..." for one provider: build it once at startup, then mount
/// [`routes`](OAuth::routes), wrap the app in [`layer`](OAuth::layer) and protect routes
/// with [`require_login`](OAuth::require_login).
///
/// Cheap to clone (one `Arc`).
///
/// ```
/// use std::sync::Arc;
/// use axum::{Json, Router, routing::get};
/// use axum_oauth_login::{BearerUser, CookieKey, OAuth, Provider, UserInfo};
///
/// async fn me(user: BearerUser) -> Json<Arc<UserInfo>> {
///     Json(user.info_arc())
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
    shared: Arc<Shared>,
}

impl OAuth {
    /// Starts configuring login with `provider` and the credentials it issued.
    pub fn builder(
        provider: Provider,
        client_id: impl Into<String>,
        client_secret: impl Into<String>,
    ) -> OAuthBuilder {
        OAuthBuilder::new(provider, client_id.into(), ClientSecret::new(client_secret))
    }

    /// The tower layer that gives every request its session: put it outermost
    /// (`Router::layer`) so extractors and [`require_login`](OAuth::require_login) find it.
    pub fn layer(&self) -> OAuthLayer {
        OAuthLayer::new(self.shared.clone())
    }

    /// A route layer that lets only logged-in callers through: browsers are redirected to
    /// the login route (with `return_to`), API callers get `401` (RFC 6750).
    pub fn require_login(&self) -> RequireLoginLayer {
        RequireLoginLayer::new(self.shared.clone())
    }

    /// A route layer that lets through only logged-in callers whose user satisfies
    /// `predicate`, evaluated on the user as the provider describes them now (resolved
    /// through the user cache, so a change at the provider counts within its TTL).
    /// Not logged in → redirect or `401`, as [`require_login`](OAuth::require_login);
    /// logged in but refused → `403`. See [`RequireLoginLayer::require`].
    ///
    /// ```
    /// # use axum::{Router, routing::get};
    /// use axum_oauth_login::{OAuth, Provider, UserInfo, vcita};
    /// # let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
    /// #     .redirect_uri("http://127.0.0.1:3000/auth/callback").build().unwrap();
    /// // Each guard on its own route: `Router::route_layer` would wrap every route
    /// // added before it, so a second router-level guard would also guard `/owner`.
    /// let app: Router = Router::new()
    ///     .route(
    ///         "/owner",
    ///         get(|| async { "owners only" }).route_layer(oauth.require(vcita::role("owner"))),
    ///     )
    ///     .route(
    ///         "/salon",
    ///         get(|| async { "Demo Salon's staff only" }).route_layer(oauth.require(
    ///             |u: &UserInfo| u.business_name.as_deref() == Some("Demo Salon"),
    ///         )),
    ///     )
    ///     .merge(oauth.routes())
    ///     .layer(oauth.layer());
    /// ```
    pub fn require<U, F>(&self, predicate: F) -> RequireLoginLayer
    where
        U: crate::client::ProviderUser,
        F: Fn(&U) -> bool + Send + Sync + 'static,
    {
        self.require_login().require(predicate)
    }

    /// A route layer that lets through only callers whose token carries every scope of
    /// `scopes`: `403 insufficient_scope` otherwise. Fails closed with providers that
    /// report no scopes (vcita). See [`RequireLoginLayer::scopes`].
    pub fn require_scopes<I, S>(&self, scopes: I) -> RequireLoginLayer
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.require_login().scopes(scopes)
    }

    /// The connected accounts of this provider, when
    /// [`connections_store`](OAuthBuilder::connections_store) was set. Cheap to clone,
    /// e.g. into the router's state. See [`Connections`](crate::connections::Connections).
    pub fn connections(&self) -> Option<crate::connections::Connections> {
        let vault = self.shared.vault.clone()?;
        Some(crate::connections::Connections::for_app(
            self.shared.clone(),
            vault,
        ))
    }

    /// The login, callback and logout routes, ready to `merge` into any router. Like every
    /// entry point of the crate they need [`layer`](OAuth::layer) around them; without it
    /// they answer `500` "OAuthLayer is not installed on this route".
    pub fn routes<S>(&self) -> axum::Router<S>
    where
        S: Clone + Send + Sync + 'static,
    {
        crate::routes::router(self.shared.clone())
    }

    /// The OAuth protocol client, for calls of your own (e.g. `userinfo` with a token).
    pub fn client(&self) -> &OAuthClient {
        &self.shared.client
    }

    /// How many tokens the user cache holds an answer for (a resolved user, or a
    /// refusal), for metrics: it stays within the capacity set with
    /// [`OAuthBuilder::user_cache`] (10,000 by default).
    ///
    /// ```
    /// # use axum_oauth_login::{OAuth, Provider};
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() {
    /// let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
    ///     .redirect_uri("http://127.0.0.1:3000/auth/callback")
    ///     .build()
    ///     .unwrap();
    /// assert_eq!(oauth.cached_users().await, 0);
    /// # }
    /// ```
    pub async fn cached_users(&self) -> u64 {
        self.shared.users.len().await
    }

    /// The path of the login route (e.g. `/auth/login`).
    pub fn login_path(&self) -> &str {
        &self.shared.paths.login
    }

    #[cfg(test)]
    pub(crate) fn shared(&self) -> &Shared {
        &self.shared
    }

    /// The path of the logout route (e.g. `/auth/logout`).
    pub fn logout_path(&self) -> &str {
        &self.shared.paths.logout
    }

    /// The link that logs in and comes back to `return_to` afterwards, for templates:
    /// `/auth/login?return_to=%2Forders%3Fpage%3D2`. A `return_to` that is not a safe
    /// same-site path (see [`safe_return_to`](crate::safe_return_to)) comes back to `/`.
    ///
    /// ```
    /// # use axum_oauth_login::{OAuth, Provider};
    /// # let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
    /// #     .redirect_uri("http://127.0.0.1:3000/auth/callback").build().unwrap();
    /// assert_eq!(oauth.login_url("/orders?page=2"), "/auth/login?return_to=%2Forders%3Fpage%3D2");
    /// assert_eq!(oauth.login_url("https://evil.example/"), "/auth/login?return_to=%2F");
    /// ```
    pub fn login_url(&self, return_to: &str) -> String {
        self.shared
            .paths
            .login_to(crate::safe_return_to(return_to).unwrap_or("/"))
    }

    /// A logout button: a `POST` form to the logout route (logout is never a `GET`, so
    /// a link or an image on another page cannot log anyone out). `label` is escaped.
    ///
    /// ```
    /// # use axum_oauth_login::{OAuth, Provider};
    /// # let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
    /// #     .redirect_uri("http://127.0.0.1:3000/auth/callback").build().unwrap();
    /// assert_eq!(
    ///     oauth.logout_form("Log out"),
    ///     r#"<form class="oauth-logout" method="post" action="/auth/logout"><button type="submit">Log out</button></form>"#
    /// );
    /// ```
    pub fn logout_form(&self, label: &str) -> String {
        use crate::pages::escape;
        format!(
            "<form class=\"oauth-logout\" method=\"post\" action=\"{}\"><button type=\"submit\">{}</button></form>",
            escape(&self.shared.paths.logout),
            escape(label)
        )
    }
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{Method, Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::extract::AuthSession;
    use crate::extract::BearerUser;

    /// Every entry point of the crate, without the layer: the same clear 500.
    #[tokio::test]
    async fn a_missing_layer_is_the_same_clear_500_everywhere() {
        let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1:3000/auth/callback")
            .build()
            .unwrap();
        let app: Router = Router::new()
            .route("/bearer", get(|_: BearerUser| async { "" }))
            .route("/maybe-bearer", get(|_: Option<BearerUser>| async { "" }))
            .route("/session", get(|_: AuthSession| async { "" }))
            .route("/maybe-session", get(|_: Option<AuthSession>| async { "" }))
            .route(
                "/guarded",
                get(|| async { "" }).route_layer(oauth.require_login()),
            )
            .merge(oauth.routes());
        let entries = [
            (Method::GET, "/bearer"),
            (Method::GET, "/maybe-bearer"),
            (Method::GET, "/session"),
            (Method::GET, "/maybe-session"),
            (Method::GET, "/guarded"),
            (Method::GET, "/auth/login"),
            (Method::GET, "/auth/callback?state=s&code=c"),
            (Method::POST, "/auth/logout"),
        ];
        for (method, uri) in entries {
            let req = Request::builder()
                .method(method)
                .uri(uri)
                .header("accept", "text/html")
                .body(Body::empty())
                .unwrap();
            let res = app.clone().oneshot(req).await.unwrap();
            assert_eq!(res.status(), StatusCode::INTERNAL_SERVER_ERROR, "{uri}");
            let body = axum::body::to_bytes(res.into_body(), 1 << 16)
                .await
                .unwrap();
            let body = String::from_utf8_lossy(&body);
            assert!(
                body.contains("OAuthLayer is not installed on this route"),
                "{uri}: {body}"
            );
        }
    }
}
