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
use crate::auth::{
    AuthRejection, Authenticated, Credential, Found, RequestSessions, Scope, authenticate, find,
    find_now,
};
use crate::authz::{Denial, Forbidden, Policy};
use crate::client::ProviderUser;
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
    policy: Option<Arc<Policy>>,
}

impl RequireLoginLayer {
    pub(crate) fn new(shared: Arc<Shared>) -> Self {
        RequireLoginLayer {
            shared,
            policy: None,
        }
    }

    fn with_policy(mut self, change: impl FnOnce(Policy) -> Policy) -> Self {
        let policy = self.policy.map(|p| (*p).clone()).unwrap_or_default();
        self.policy = Some(Arc::new(change(policy)));
        self
    }

    /// Also requires every scope of `scopes` in the caller's token: `403` with
    /// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` otherwise
    /// (RFC 6750 §3.1), a `403` page for browsers.
    ///
    /// Scopes come from the session's token set or, for `Authorization: Bearer` tokens,
    /// from introspection. A provider that reports no scopes grants none here: the guard
    /// **fails closed**. vcita's token and userinfo answers carry no scopes, so a scope
    /// guard on vcita refuses everyone; guard vcita routes with roles instead
    /// ([`vcita::role`](crate::vcita::role)).
    pub fn scopes<I, S>(self, scopes: I) -> Self
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        self.with_policy(|p| p.with_scopes(scopes))
    }

    /// Also requires `predicate` to hold for the caller's user, **as the provider
    /// describes them now**: the resolved user (userinfo or introspection, cached for the
    /// user cache's TTL), not the snapshot taken at login. A user whose role changes at
    /// the provider gains or loses access within that TTL. `U` is a
    /// [`ProviderUser`](crate::ProviderUser), a type of the provider's answer (like
    /// [`BearerUser<U>`](crate::BearerUser)); one that
    /// does not fit is the app's bug (`500`, logged with the type and field).
    ///
    /// False → `403` (a page for browsers, JSON `{"error":"forbidden"}` for APIs);
    /// no login → the usual redirect or `401`, never `403`.
    ///
    /// `U` must not be the login hook's user type: that is made once at login, while a
    /// predicate must see the provider's current answer. Such a guard is a wiring bug:
    /// logged when built, `500` for every logged-in caller (it fails closed).
    pub fn require<U, F>(self, predicate: F) -> Self
    where
        U: ProviderUser,
        F: Fn(&U) -> bool + Send + Sync + 'static,
    {
        if let Some(hook) = self.shared.on_login.as_ref().filter(|h| h.returns::<U>()) {
            let reason = format!(
                "require(|u: &{}| ..) asks for the login hook's user type; predicates see the \
                 provider's current user (e.g. UserInfo or a type of its fields)",
                hook.type_name()
            );
            return self.with_policy(|p| p.broken(reason));
        }
        self.with_policy(|p| p.with_predicate(predicate))
    }

    /// Also requires header tokens to come as DPoP (RFC 9449): `Authorization: Bearer`
    /// is `401 invalid_token` here (with the `DPoP` challenge), so a token stolen from
    /// this route's callers is useless without their key. Sessions still pass (their
    /// tokens never leave the server). Needs
    /// [`OAuthBuilder::accept_dpop`](crate::OAuthBuilder::accept_dpop); without it the
    /// guard is a wiring bug: logged when built, `500` for every header token.
    pub fn require_dpop(self) -> Self {
        if self.shared.dpop_proofs.is_none() {
            let reason = "require_dpop() on a provider that does not accept DPoP \
                          (OAuthBuilder::accept_dpop)"
                .to_owned();
            return self.with_policy(|p| p.broken(reason));
        }
        self.with_policy(Policy::dpop_only)
    }
}

impl<S> Layer<S> for RequireLoginLayer {
    type Service = RequireLogin<S>;

    fn layer(&self, inner: S) -> Self::Service {
        RequireLogin {
            inner,
            shared: self.shared.clone(),
            policy: self.policy.clone(),
        }
    }
}

/// The service of [`RequireLoginLayer`].
#[derive(Clone, Debug)]
pub struct RequireLogin<S> {
    inner: S,
    shared: Arc<Shared>,
    policy: Option<Arc<Policy>>,
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
        // The hot path: a current session (or none) is decided without awaiting; so is a
        // scope check on the session's token set.
        let early = match find_now(req.extensions(), req.method(), req.headers(), scope) {
            Ok(Found::Credential(found @ Credential::Session(_)))
                if self.policy.as_ref().is_none_or(|p| !p.needs_user()) =>
            {
                if let (Some(policy), Credential::Session(active)) = (&self.policy, &found)
                    && let Err(denial) = policy.check_scopes(active.data.tokens.scope())
                {
                    return RequireLoginFuture::ready(forbidden(&self.shared, denial, &req));
                }
                RequestSessions::keep_found(req.extensions_mut(), found);
                return RequireLoginFuture::inner(self.inner.call(req));
            }
            Ok(Found::Nothing) => {
                return RequireLoginFuture::ready(unauthenticated(&self.shared, &req));
            }
            Err(rejection) => return RequireLoginFuture::ready(rejection.into_response()),
            // A header token to resolve (its DPoP proof, if any, already checked and its
            // `jti` spent: it is carried over, not found again) or a user to check.
            Ok(Found::Credential(found)) => Some(found),
            // A refresh that is due.
            Ok(Found::NeedsAwait) => None,
        };
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        let shared = self.shared.clone();
        let policy = self.policy.clone();
        RequireLoginFuture::resolving(Box::pin(async move {
            let scope = Scope::Provider(&shared);
            let found = match early {
                Some(found) => found,
                None => match find(req.extensions(), req.method(), req.headers(), scope).await {
                    Ok(Some(found)) => found,
                    Ok(None) => return Ok(unauthenticated(&shared, &req)),
                    Err(rejection) => return Ok(rejection.into_response()),
                },
            };
            let is_header = matches!(found, Credential::Header { .. });
            // A header token is only let through once the provider accepted it; a user
            // is only checked once resolved.
            if is_header || policy.as_ref().is_some_and(|p| p.needs_user()) {
                match authenticate(found.clone()).await {
                    Ok(authenticated) => {
                        RequestSessions::keep_authenticated(req.extensions_mut(), authenticated);
                    }
                    // The session's token was refused and the session ended: a browser
                    // logs in again.
                    Err(AuthRejection::InvalidToken { .. })
                        if !is_header && Audience::of(req.headers()).redirectable(req.method()) =>
                    {
                        return Ok(unauthenticated(&shared, &req));
                    }
                    Err(rejection) => return Ok(rejection.into_response()),
                }
            }
            if let Some(refused) = policy.and_then(|p| refuse(&shared, &p, &found, &req)) {
                return Ok(refused);
            }
            RequestSessions::keep_found(req.extensions_mut(), found);
            futures_util::future::poll_fn(|cx| inner.poll_ready(cx)).await?;
            inner.call(req).await
        }))
    }
}

/// The policy's verdict on a found (and, when needed, authenticated) caller: the answer
/// when it says no.
fn refuse(
    shared: &Arc<Shared>,
    policy: &Policy,
    found: &Credential,
    req: &Request<Body>,
) -> Option<Response> {
    if let Some(reason) = policy.misconfigured() {
        tracing::error!(
            reason,
            "a misconfigured RequireLogin guard refused a request"
        );
        return Some(AuthRejection::Misconfigured.into_response());
    }
    if policy.requires_dpop()
        && let Credential::Header { dpop_jkt: None, .. } = found
    {
        return Some(
            AuthRejection::InvalidToken {
                realm: shared.realm.clone(),
            }
            .into_response(),
        );
    }
    // Only this provider's resolution counts (an outer layer's may be in the request).
    let authenticated = RequestSessions::authenticated(req.extensions())
        .filter(|a| Arc::ptr_eq(a.shared(), shared));
    let granted = match found {
        Credential::Session(active) => active
            .data
            .tokens
            .scope()
            .or_else(|| authenticated.and_then(Authenticated::scope)),
        Credential::Header { .. } => authenticated.and_then(Authenticated::scope),
    };
    if let Err(denial) = policy.check_scopes(granted) {
        return Some(forbidden(shared, denial, req));
    }
    let authenticated = authenticated.filter(|_| policy.needs_user())?;
    match policy.check_user(authenticated.user(), authenticated.typed()) {
        Ok(Ok(())) => None,
        Ok(Err(denial)) => Some(forbidden(shared, denial, req)),
        Err(misfit) => {
            tracing::error!(error = %misfit.0, "a RequireLogin predicate cannot read the user");
            Some(AuthRejection::Misconfigured.into_response())
        }
    }
}

fn forbidden(shared: &Arc<Shared>, denial: Denial, req: &Request<Body>) -> Response {
    Forbidden::new(shared.clone(), denial, Audience::of(req.headers())).into_response()
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
        Audience::Htmx => {
            let mut res = missing().into_response();
            let return_to = Audience::htmx_page(req.headers());
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
