//! `GET /auth/login`: start a login and send the browser to the provider.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::header::SET_COOKIE;
use http::{HeaderValue, Request, StatusCode};

use super::query_params;
use crate::auth::RequestSession;
use crate::client::{ErrorCode, OAuthError};
use crate::pages::redirect;
use crate::return_to::safe_return_to;
use crate::session::LoginFlow;
use crate::state::Shared;

pub(crate) async fn login(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    req: Request<axum::body::Body>,
) -> Response {
    if let Err(missing) = RequestSession::of(req.extensions(), &shared) {
        return missing.into_response();
    }
    warn_on_other_host(&shared, req.headers());
    let params = query_params(query.as_deref());
    let return_to = params
        .get("return_to")
        .and_then(|v| v.first())
        .and_then(|v| safe_return_to(v))
        .unwrap_or("/")
        .to_owned();
    let now = shared.clock.now();
    let flow = LoginFlow::new(
        return_to,
        shared.client.provider().pkce(),
        shared.client.oidc().is_some(),
        now,
    );
    let res = to_provider(&shared, &flow, req.headers()).await;
    tracing::debug!(provider = shared.client.provider().name(), "login started");
    res
}

/// Starts `flow` (its cookie) and sends the browser to the provider's authorize page:
/// a login, or connecting an account. With PAR the request is pushed first; a failed
/// push is a page (`503` while the provider cannot be reached, `502` when it refuses),
/// and no flow cookie is set.
pub(crate) async fn to_provider(
    shared: &Shared,
    flow: &LoginFlow,
    headers: &http::HeaderMap,
) -> Response {
    let url = match shared
        .client
        .authorize_url(&flow.state, flow.verifier.as_ref(), flow.nonce.as_ref())
        .await
    {
        Ok(url) => url,
        Err(e) => return push_failed(shared, &e, headers),
    };
    let now = shared.clock.now();
    let Some(set_cookies) = shared.flows.start(flow, headers, now) else {
        // Only reachable with an absurd return_to, which safe_return_to already bounds.
        let page = shared.pages.page(
            StatusCode::BAD_REQUEST,
            "invalid_request",
            "request_too_large",
            &[],
        );
        return shared.pages.respond(&page, headers);
    };
    let mut res = redirect(url.as_str());
    for set in set_cookies {
        if let Ok(v) = HeaderValue::try_from(set) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    res
}

/// The page for a pushed authorization request that failed: the provider down (`503`,
/// try again) or refusing the request (`502`: a configuration to fix, logged as an error).
fn push_failed(shared: &Shared, error: &OAuthError, headers: &http::HeaderMap) -> Response {
    let page = if error.is_transient() {
        tracing::warn!(error = %error, "the pushed authorization request failed; login not started");
        shared.pages.page(
            StatusCode::SERVICE_UNAVAILABLE,
            "temporarily_unavailable",
            "par_unavailable",
            &[("kind", super::callback::kind(error))],
        )
    } else {
        tracing::error!(error = %error, "the provider refused the pushed authorization request");
        let code = error.code().map_or("invalid_response", ErrorCode::as_str);
        shared.pages.page(
            StatusCode::BAD_GATEWAY,
            "par_refused",
            "par_refused",
            &[("code", code)],
        )
    };
    shared.pages.respond(&page, headers)
}

/// A login started at another host than the redirect URI's (`localhost` vs `127.0.0.1`)
/// cannot finish: the browser keeps the flow cookie for this host and the callback
/// arrives at the other. Say so in the log, where the developer looks.
fn warn_on_other_host(shared: &Shared, headers: &http::HeaderMap) {
    let Some(redirect) = shared.client.redirect_uri() else {
        return;
    };
    let Some(expected) = redirect.host_str() else {
        return;
    };
    let expected = match redirect.port() {
        Some(port) => format!("{expected}:{port}"),
        None => expected.to_owned(),
    };
    if let Some(host) = headers
        .get(http::header::HOST)
        .and_then(|h| h.to_str().ok())
        && !host.eq_ignore_ascii_case(&expected)
    {
        tracing::warn!(
            host,
            redirect_host = %expected,
            "login started at another host than the redirect URI's: the browser will not \
             send the login cookie to the callback; open the app at the redirect URI's host"
        );
    }
}
