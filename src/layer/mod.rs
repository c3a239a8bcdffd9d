//! The tower layers and their services: [`OAuthLayer`] gives every request its session
//! and writes `Set-Cookie` on the way out only when the session changed;
//! [`RequireLoginLayer`] lets only authenticated callers through.
//!
//! The session layer's hot path allocates one small handle and keeps a reference-counted
//! slice of the `Cookie` header (no copy of the value); it decrypts nothing until a
//! route, guard or extractor asks for the session, and then at most once. Its response
//! future adds a header and is never boxed.

mod require_login;

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use http::header::{CACHE_CONTROL, SET_COOKIE, WWW_AUTHENTICATE};
use http::{HeaderValue, Request, Response};
use tower_layer::Layer;
use tower_service::Service;

pub use self::require_login::{RequireLogin, RequireLoginFuture, RequireLoginLayer};
use crate::auth::RequestSession;
use crate::session::SessionHandle;
use crate::state::Shared;

/// `get_ref` / `get_mut` / `into_inner` for a service wrapping `inner`, as tower-http's.
macro_rules! inner_accessors {
    ($service:ident) => {
        impl<S> $service<S> {
            /// The wrapped service.
            pub fn get_ref(&self) -> &S {
                &self.inner
            }
            /// The wrapped service, mutably.
            pub fn get_mut(&mut self) -> &mut S {
                &mut self.inner
            }
            /// Unwraps the service.
            pub fn into_inner(self) -> S {
                self.inner
            }
        }
    };
}
pub(crate) use inner_accessors;

/// Loads sessions and writes session cookies; from [`OAuth::layer`](crate::OAuth::layer).
/// Put it outermost, around every route that uses the auth routes, guards or extractors.
///
/// ```
/// # use axum_oauth_login::{OAuth, Provider};
/// # let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
/// #     .redirect_uri("http://127.0.0.1:3000/auth/callback").build().unwrap();
/// let app: axum::Router = axum::Router::new().merge(oauth.routes()).layer(oauth.layer());
/// ```
#[derive(Clone, Debug)]
pub struct OAuthLayer {
    shared: Arc<Shared>,
}

impl OAuthLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        OAuthLayer { shared }
    }
}

impl<S> Layer<S> for OAuthLayer {
    type Service = OAuthService<S>;

    fn layer(&self, inner: S) -> Self::Service {
        OAuthService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// The service of [`OAuthLayer`].
#[derive(Clone, Debug)]
pub struct OAuthService<S> {
    inner: S,
    shared: Arc<Shared>,
}

inner_accessors!(OAuthService);

impl<S, ReqBody, ResBody> Service<Request<ReqBody>> for OAuthService<S>
where
    S: Service<Request<ReqBody>, Response = Response<ResBody>>,
{
    type Response = Response<ResBody>;
    type Error = S::Error;
    type Future = ResponseFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, mut req: Request<ReqBody>) -> Self::Future {
        let session = RequestSession::new(&self.shared, req.headers());
        let handle = session.handle.clone();
        session.attach(req.extensions_mut());
        ResponseFuture {
            inner: self.inner.call(req),
            handle,
            dpop: self.shared.dpop_proofs.is_some(),
        }
    }
}

pin_project_lite::pin_project! {
    /// The response future of [`OAuthService`]: the inner future, then `Set-Cookie` if the
    /// session changed.
    pub struct ResponseFuture<F> {
        #[pin]
        inner: F,
        handle: Arc<SessionHandle>,
        // DPoP accepted: every 401 also names the DPoP scheme (RFC 9449 §7.1).
        dpop: bool,
    }
}

impl<F, ResBody, E> Future for ResponseFuture<F>
where
    F: Future<Output = Result<Response<ResBody>, E>>,
{
    type Output = Result<Response<ResBody>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        let this = self.project();
        let mut response = match this.inner.poll(cx) {
            Poll::Ready(Ok(response)) => response,
            other => return other,
        };
        if *this.dpop && response.status() == http::StatusCode::UNAUTHORIZED {
            add_dpop_challenge(response.headers_mut());
        }
        let set_cookies = this.handle.set_cookie_headers();
        if !set_cookies.is_empty() {
            let headers = response.headers_mut();
            for set_cookie in set_cookies {
                match HeaderValue::try_from(set_cookie) {
                    Ok(value) => {
                        headers.append(SET_COOKIE, value);
                    }
                    Err(_) => tracing::error!("session cookie is not a valid header value"),
                }
            }
            // A response that carries a session cookie must never be stored by a shared
            // cache and replayed to someone else.
            headers.insert(CACHE_CONTROL, HeaderValue::from_static("private, no-store"));
        }
        Poll::Ready(Ok(response))
    }
}

/// Adds `DPoP algs="…"` to a `401` whose challenges do not name DPoP yet.
fn add_dpop_challenge(headers: &mut http::HeaderMap) {
    let named = headers.get_all(WWW_AUTHENTICATE).iter().any(|v| {
        v.as_bytes()
            .get(..4)
            .is_some_and(|s| s.eq_ignore_ascii_case(b"dpop"))
    });
    if !named {
        let challenge = format!("DPoP algs=\"{}\"", crate::jose::DPOP_ALGS);
        if let Ok(value) = HeaderValue::try_from(challenge) {
            headers.append(WWW_AUTHENTICATE, value);
        }
    }
}
