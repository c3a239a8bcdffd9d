//! The façade: one [`OAuth`] value per provider, built once by [`OAuthBuilder`], handing
//! out the layer, the routes and the `RequireLogin` route layer. It only builds: what the
//! request path shares lives in `state`, below every module that serves requests.

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
}

#[cfg(test)]
mod tests {
    use axum::Router;
    use axum::body::Body;
    use axum::routing::get;
    use http::{Method, Request, StatusCode};
    use tower::ServiceExt as _;

    use super::*;
    use crate::{AuthSession, BearerUser};

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
