//! `GET /auth/login`: start a login and send the browser to the provider.

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::header::{LOCATION, SET_COOKIE};
use http::{HeaderMap, HeaderValue, StatusCode};

use super::pages::{ErrorPage, no_store};
use super::{LoginFlow, query_params, safe_return_to};
use crate::oauth::OAuth;
use crate::secret::{CsrfState, PkceVerifier};
use crate::session::request_cookies;

pub(crate) async fn login(
    State(oauth): State<OAuth>,
    RawQuery(query): RawQuery,
    headers: HeaderMap,
) -> Response {
    let inner = &oauth.inner;
    let flow_cfg = &inner.flow;
    let params = query_params(query.as_deref());
    let return_to = params
        .get("return_to")
        .and_then(|v| v.first())
        .and_then(|v| safe_return_to(v))
        .unwrap_or("/")
        .to_owned();
    let now = inner.clock.now();
    let flow = LoginFlow {
        state: CsrfState::random(),
        verifier: inner.client.provider().pkce().then(PkceVerifier::random),
        return_to,
        started_at: now,
        order: std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_nanos()).unwrap_or(u64::MAX)),
    };
    let name = flow_cfg.cookie_name(flow.state.secret());
    let Some(sealed) = flow_cfg.codec.seal(&name, &flow) else {
        // Only reachable with an absurd return_to, which safe_return_to already bounds.
        return ErrorPage {
            status: StatusCode::BAD_REQUEST,
            code: "invalid_request".into(),
            title: "Login could not start",
            message: "The login request was too large.".into(),
            retry_href: inner.login_path.clone(),
        }
        .render(&headers);
    };
    let url = inner
        .client
        .authorize_url(&flow.state, flow.verifier.as_ref());

    let mut res = StatusCode::SEE_OTHER.into_response();
    let h = res.headers_mut();
    if let Ok(location) = HeaderValue::try_from(url.as_str()) {
        h.insert(LOCATION, location);
    }
    let new_bytes = cookie_bytes(&name, &sealed);
    for stale in stale_flows(&oauth, &headers, now, new_bytes) {
        if let Ok(v) = HeaderValue::try_from(flow_cfg.codec.remove_cookie(&stale, &flow_cfg.path)) {
            h.append(SET_COOKIE, v);
        }
    }
    let set = flow_cfg
        .codec
        .set_cookie(&name, sealed, &flow_cfg.path, flow_cfg.ttl_secs);
    if let Ok(v) = HeaderValue::try_from(set) {
        h.append(SET_COOKIE, v);
    }
    no_store(&mut res);
    tracing::debug!(provider = inner.client.provider().name(), "login started");
    res
}

/// What the total of live flow cookies may reach in a request's `Cookie` header. A few
/// forced logins with long `return_to` values must not grow every request past proxy
/// header limits (nginx answers 400 above 8 KiB by default); one flow cookie is at most
/// ~3.9 KiB, so the newest login always fits.
const FLOW_COOKIES_BUDGET: usize = 4096;

/// The bytes a cookie adds to a `Cookie` header: `name=value; `.
fn cookie_bytes(name: &str, value: &str) -> usize {
    name.len() + value.len() + 3
}

/// Flow cookies to delete so that, with the new one (`new_bytes` long), at most
/// `max_pending` remain and together they stay within [`FLOW_COOKIES_BUDGET`]:
/// unreadable and expired ones first, then the oldest.
fn stale_flows(oauth: &OAuth, headers: &HeaderMap, now: u64, new_bytes: usize) -> Vec<String> {
    let cfg = &oauth.inner.flow;
    let mut live: Vec<((u64, u64), String, usize)> = Vec::new();
    let mut stale = Vec::new();
    for (name, value) in request_cookies(headers) {
        if !name.starts_with(&cfg.cookie_prefix) {
            continue;
        }
        match cfg.codec.open::<LoginFlow>(name, value) {
            Some(flow) if flow.started_at.saturating_add(cfg.ttl_secs) > now => {
                live.push((
                    (flow.started_at, flow.order),
                    name.to_owned(),
                    cookie_bytes(name, value),
                ));
            }
            _ => stale.push(name.to_owned()),
        }
    }
    // Newest first: keep while both the count and the byte budget allow.
    live.sort_by_key(|entry| std::cmp::Reverse(entry.0));
    let (mut kept, mut bytes, mut full) = (1, new_bytes, false);
    for (_, name, size) in live {
        full = full || kept >= cfg.max_pending || bytes + size > FLOW_COOKIES_BUDGET;
        if full {
            // Once one does not fit, every older one goes too: the oldest drop first.
            stale.push(name);
        } else {
            kept += 1;
            bytes += size;
        }
    }
    stale
}
