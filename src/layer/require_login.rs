//! `RequireLogin`: a route layer that lets only authenticated callers through.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::header::{ACCEPT, CACHE_CONTROL, LOCATION};
use http::{HeaderValue, Method, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use crate::auth::{AuthRejection, RequestSession, authenticate, bearer_token};
use crate::oauth::OAuth;

/// Protects routes; from [`OAuth::require_login`].
///
/// * a session → the request goes through;
/// * an `Authorization: Bearer` header → the token is resolved (cached) and the request
///   goes through, or gets `400 invalid_request` / `401 invalid_token` / `503`;
/// * nothing, from a browser `GET` → `303` to the login route with `return_to` set to the
///   requested path and query;
/// * nothing, from an API client (not `GET`/`HEAD`, `Accept: application/json`, or an
///   `Authorization` header) → `401` with `WWW-Authenticate: Bearer realm="…"`.
///
/// ```
/// # use axum::{Router, routing::get};
/// # use axum_oauth_login::{OAuth, Provider};
/// # let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
/// #     .redirect_uri("http://127.0.0.1:3000/auth/callback").build().unwrap();
/// let app: Router = Router::new()
///     .route("/settings", get(|| async { "secret settings" }))
///     .route_layer(oauth.require_login())
///     .merge(oauth.routes())
///     .layer(oauth.layer());
/// ```
#[derive(Clone, Debug)]
pub struct RequireLoginLayer {
    oauth: OAuth,
}

impl RequireLoginLayer {
    pub(crate) fn new(oauth: OAuth) -> Self {
        RequireLoginLayer { oauth }
    }
}

impl<S> Layer<S> for RequireLoginLayer {
    type Service = RequireLogin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireLogin {
            inner,
            oauth: self.oauth.clone(),
        }
    }
}

/// The service of [`RequireLoginLayer`].
#[derive(Clone, Debug)]
pub struct RequireLogin<S> {
    inner: S,
    oauth: OAuth,
}

impl<S> Service<Request<Body>> for RequireLogin<S>
where
    S: Service<Request<Body>, Response = Response, Error = Infallible> + Clone + Send + 'static,
    S::Future: Send + 'static,
{
    type Response = Response;
    type Error = Infallible;
    type Future = RequireLoginFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<Body>) -> Self::Future {
        let session = RequestSession::of(&self.oauth, &mut req);
        let bearer = has_bearer(&req, &self.oauth.inner.realm);
        if !bearer {
            // The hot path: a current session (or none) is decided without awaiting.
            match session.handle.get_if_current() {
                Some(Some(_)) => return RequireLoginFuture::inner(self.inner.call(req)),
                Some(None) => {
                    return RequireLoginFuture::ready(unauthenticated(&self.oauth, &req));
                }
                None => {} // a refresh is due: below
            }
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let oauth = self.oauth.clone();
        RequireLoginFuture::resolving(Box::pin(async move {
            let refused = if bearer {
                match authenticate(req.headers(), &[&session]).await {
                    Ok(authenticated) => {
                        req.extensions_mut().insert(authenticated);
                        None
                    }
                    Err(rejection) => Some(rejection.into_response()),
                }
            } else {
                match session.handle.get_fresh().await {
                    Ok(Some(_)) => None,
                    Ok(None) => Some(unauthenticated(&oauth, &req)),
                    Err(_) => Some(AuthRejection::ProviderUnavailable.into_response()),
                }
            };
            if let Some(response) = refused {
                return Ok(response);
            }
            futures_util::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            inner.call(req).await
        }))
    }
}

/// No session and no token: browsers go to the login route, API clients get a 401.
fn unauthenticated(oauth: &OAuth, req: &Request<Body>) -> Response {
    let inner = &oauth.inner;
    if wants_redirect(req) {
        let uri = req
            .extensions()
            .get::<OriginalUri>()
            .map_or_else(|| req.uri().clone(), |o| o.0.clone());
        let return_to = uri.path_and_query().map_or("/", |pq| pq.as_str());
        let location = format!(
            "{}?return_to={}",
            inner.login_path,
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        );
        if let Ok(location) = HeaderValue::try_from(location) {
            let mut res = StatusCode::SEE_OTHER.into_response();
            res.headers_mut().insert(LOCATION, location);
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            return res;
        }
    }
    AuthRejection::MissingCredentials {
        realm: inner.realm.clone(),
    }
    .into_response()
}

/// Whether the request carries Bearer credentials, well-formed or not. Another scheme
/// (`Basic` in front of a staging site, say) is not an API call.
fn has_bearer<B>(req: &Request<B>, realm: &str) -> bool {
    !matches!(bearer_token(req.headers(), realm), Ok(None))
}

/// A browser navigation (redirect to login) rather than an API call (401).
fn wants_redirect<B>(req: &Request<B>) -> bool {
    if !matches!(*req.method(), Method::GET | Method::HEAD) || has_bearer(req, "") {
        return false;
    }
    let accept = req
        .headers()
        .get_all(ACCEPT)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .collect::<Vec<_>>()
        .join(",");
    !accept.contains("application/json") || accept.contains("text/html")
}

pin_project_lite::pin_project! {
    /// The response future of [`RequireLogin`]: the inner future when the caller has a
    /// session (no allocation), an immediate answer when not, and a boxed resolution only
    /// for Bearer tokens.
    pub struct RequireLoginFuture<F> {
        #[pin]
        kind: Kind<F>,
    }
}

pin_project_lite::pin_project! {
    #[project = KindProj]
    enum Kind<F> {
        Inner { #[pin] future: F },
        Ready { response: Option<Response> },
        Resolving { future: BoxFuture<'static, Result<Response, Infallible>> },
    }
}

impl<F> RequireLoginFuture<F> {
    fn inner(future: F) -> Self {
        RequireLoginFuture {
            kind: Kind::Inner { future },
        }
    }
    fn ready(response: Response) -> Self {
        RequireLoginFuture {
            kind: Kind::Ready {
                response: Some(response),
            },
        }
    }
    fn resolving(future: BoxFuture<'static, Result<Response, Infallible>>) -> Self {
        RequireLoginFuture {
            kind: Kind::Resolving { future },
        }
    }
}

impl<F> Future for RequireLoginFuture<F>
where
    F: Future<Output = Result<Response, Infallible>>,
{
    type Output = Result<Response, Infallible>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project().kind.project() {
            KindProj::Inner { future } => future.poll(cx),
            KindProj::Ready { response } => Poll::Ready(Ok(response
                .take()
                .unwrap_or_else(|| StatusCode::INTERNAL_SERVER_ERROR.into_response()))),
            KindProj::Resolving { future } => future.as_mut().poll(cx),
        }
    }
}
