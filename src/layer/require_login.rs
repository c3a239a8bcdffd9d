//! `RequireLogin`: a route layer that lets only authenticated callers through.

use std::convert::Infallible;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use axum::body::Body;
use axum::extract::OriginalUri;
use axum::response::{IntoResponse, Response};
use futures_util::future::BoxFuture;
use http::{HeaderValue, Request, StatusCode};
use tower_layer::Layer;
use tower_service::Service;

use super::inner_accessors;
use crate::audience::Audience;
use crate::auth::{AuthRejection, Credential, Found, Scope, authenticate, find, find_now};
use crate::pages::redirect;
use crate::return_to::safe_return_to;
use crate::state::Shared;

/// Protects routes; from [`OAuth::require_login`](crate::OAuth::require_login).
///
/// * a session → the request goes through (no await unless its tokens need a refresh);
/// * an `Authorization: Bearer` header → the token is resolved (cached) and the request
///   goes through, or gets `400 invalid_request` / `401 invalid_token` / `503`;
/// * nothing, from a browser's `GET`/`HEAD` **navigation** (`Sec-Fetch-Mode: navigate`,
///   or an `Accept` that prefers HTML) → `303` to the login route with `return_to` set
///   to the requested path and query;
/// * nothing, from htmx (`HX-Request: true`) → `401` with `HX-Redirect` to the login
///   route (htmx never sees a `3xx`);
/// * nothing, from anything else (`fetch()`, XHR, curl's `Accept: */*`, a `POST`) →
///   `401` with `WWW-Authenticate: Bearer realm="…"`.
///
/// What it found is kept in the request, so `BearerUser` and `AuthSession` behind it do
/// not resolve the caller again.
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
    shared: Arc<Shared>,
}

impl RequireLoginLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        RequireLoginLayer { shared }
    }
}

impl<S> Layer<S> for RequireLoginLayer {
    type Service = RequireLogin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireLogin {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`RequireLoginLayer`].
#[derive(Clone, Debug)]
pub struct RequireLogin<S> {
    inner: S,
    shared: Arc<Shared>,
}

inner_accessors!(RequireLogin);

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
        let scope = Scope::Provider(&self.shared);
        // The hot path: a current session (or none) is decided without awaiting.
        match find_now(req.extensions(), req.method(), req.headers(), scope) {
            Ok(Found::Credential(found @ Credential::Session(_))) => {
                req.extensions_mut().insert(found);
                return RequireLoginFuture::inner(self.inner.call(req));
            }
            Ok(Found::Nothing) => {
                return RequireLoginFuture::ready(unauthenticated(&self.shared, &req));
            }
            Err(rejection) => return RequireLoginFuture::ready(rejection.into_response()),
            // A Bearer token to resolve, or a refresh that is due.
            Ok(Found::Credential(Credential::Header { .. }) | Found::NeedsAwait) => {}
        }
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        RequireLoginFuture::resolving(Box::pin(async move {
            let scope = Scope::Provider(&shared);
            let found = match find(req.extensions(), req.method(), req.headers(), scope).await {
                Ok(Some(found)) => found,
                Ok(None) => return Ok(unauthenticated(&shared, &req)),
                Err(rejection) => return Ok(rejection.into_response()),
            };
            if matches!(found, Credential::Header { .. }) {
                // A header token is only let through once the provider accepted it.
                match authenticate(found.clone()).await {
                    Ok(authenticated) => {
                        req.extensions_mut().insert(authenticated);
                    }
                    Err(rejection) => return Ok(rejection.into_response()),
                }
            }
            req.extensions_mut().insert(found);
            futures_util::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            inner.call(req).await
        }))
    }
}

/// No session and no token: browsers go to the login route, htmx is told to go there,
/// everything else gets a `401`.
fn unauthenticated(shared: &Shared, req: &Request<Body>) -> Response {
    let missing = || AuthRejection::MissingCredentials {
        realm: shared.realm.clone(),
    };
    match Audience::of(req.headers()) {
        audience if audience.redirectable(req.method()) => {
            let uri = req
                .extensions()
                .get::<OriginalUri>()
                .map_or_else(|| req.uri().clone(), |o| o.0.clone());
            let here = uri.path_and_query().map_or("/", |pq| pq.as_str());
            redirect(&shared.paths.login_to(safe_return_to(here).unwrap_or("/")))
        }
        Audience::Htmx { return_to } => {
            let mut res = missing().into_response();
            let login = shared.paths.login_to(return_to.as_deref().unwrap_or("/"));
            if let Ok(value) = HeaderValue::try_from(login) {
                res.headers_mut().insert("hx-redirect", value);
            }
            res
        }
        _ => missing().into_response(),
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`RequireLogin`]: the inner future when the caller has a
    /// current session (no allocation), an immediate answer when not, and a boxed
    /// resolution only when the provider must be asked (a Bearer token, a refresh).
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
