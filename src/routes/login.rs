//! `GET /auth/login`: start a login and send the browser to the provider.

use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::header::SET_COOKIE;
use http::{HeaderValue, Request, StatusCode};

use super::query_params;
use crate::auth::RequestSession;
use crate::pages::{ErrorPage, redirect};
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
    let params = query_params(query.as_deref());
    let return_to = params
        .get("return_to")
        .and_then(|v| v.first())
        .and_then(|v| safe_return_to(v))
        .unwrap_or("/")
        .to_owned();
    let now = shared.clock.now();
    let flow = LoginFlow::new(return_to, shared.client.provider().pkce(), now);
    let Some(set_cookies) = shared.flows.start(&flow, req.headers(), now) else {
        // Only reachable with an absurd return_to, which safe_return_to already bounds.
        return ErrorPage {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request".into(),
            title: "Login could not start",
            message: "The login request was too large.".into(),
            retry_href: shared.paths.login.clone(),
        }
        .render(req.headers());
    };
    let url = shared
        .client
        .authorize_url(&flow.state, flow.verifier.as_ref());
    let mut res = redirect(url.as_str());
    for set in set_cookies {
        if let Ok(v) = HeaderValue::try_from(set) {
            res.headers_mut().append(SET_COOKIE, v);
        }
    }
    tracing::debug!(provider = shared.client.provider().name(), "login started");
    res
}
