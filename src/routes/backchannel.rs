//! `POST /auth/backchannel-logout` (OpenID Connect Back-Channel Logout 1.0): the
//! provider says a user logged out there. The logout token is validated (signature,
//! `iss`, `aud`, `iat`, the logout event, no `nonce`, a `jti` not seen before); then the
//! sessions it names end — deleted from a server-side store, and put on the denylist
//! that every read of a cookie-held session checks.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, CONTENT_TYPE, RETRY_AFTER};
use http::{HeaderValue, Request, StatusCode};
use serde_json::json;

use crate::oidc::LogoutClaims;
use crate::session::Name;
use crate::state::Shared;

/// Logout tokens are a few kilobytes.
const MAX_BODY_BYTES: usize = 64 * 1024;

pub(crate) async fn backchannel_logout(
    State(shared): State<Arc<Shared>>,
    req: Request<axum::body::Body>,
) -> Response {
    let Some(oidc) = shared.client.oidc() else {
        return StatusCode::NOT_FOUND.into_response();
    };
    let form = req
        .headers()
        .get(CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.split(';').next())
        .is_some_and(|v| {
            v.trim()
                .eq_ignore_ascii_case("application/x-www-form-urlencoded")
        });
    if !form {
        return refuse(
            "invalid_request",
            "the body must be application/x-www-form-urlencoded",
        );
    }
    let Ok(body) = axum::body::to_bytes(req.into_body(), MAX_BODY_BYTES).await else {
        return refuse("invalid_request", "the body is larger than 64 KiB");
    };
    let mut tokens = url::form_urlencoded::parse(&body).filter(|(k, _)| k == "logout_token");
    let token = match (tokens.next(), tokens.next()) {
        (Some((_, token)), None) => token,
        (None, _) => return refuse("invalid_request", "no logout_token"),
        (Some(_), Some(_)) => return refuse("invalid_request", "more than one logout_token"),
    };
    let claims = match oidc.logout_token(&token).await {
        Ok(claims) => claims,
        // The token's key cannot be known now (JWKS down, or just rotated and the
        // re-fetch rate-limited): a 5xx the provider retries, or its logout is lost.
        Err(e) if e.is_transient() => {
            tracing::warn!(error = %e, "back-channel logout token cannot be checked now");
            return unavailable();
        }
        Err(e) => {
            tracing::warn!(error = %e, "back-channel logout token refused");
            return refuse("invalid_request", &e.to_string());
        }
    };
    let ended = end_sessions(&shared, &claims).await;
    if ended.is_err() {
        // Not recorded: the provider may retry with the same token.
        oidc.forget_logout_token(&claims);
    }
    match ended {
        Ok(ended) => {
            tracing::info!(
                provider = shared.client.provider().name(),
                by_sid = claims.sid.is_some(),
                stored_sessions_ended = ended,
                "back-channel logout"
            );
            let mut res = StatusCode::OK.into_response();
            res.headers_mut()
                .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
            res
        }
        Err(e) => {
            tracing::error!(error = %e, "back-channel logout could not be recorded");
            // Spec: a logout that failed is a 400; the provider may retry.
            refuse(
                "temporarily_unavailable",
                "the session store is unavailable",
            )
        }
    }
}

/// Ends the sessions the token names: every store record under its `sid` (or, without
/// one, its `sub`) is deleted and its tokens revoked; the denylist catches cookie-held
/// sessions. Connected-account records are not sessions and stay.
async fn end_sessions(
    shared: &Shared,
    claims: &LogoutClaims,
) -> Result<usize, crate::store::StoreError> {
    let config = &shared.session;
    // Records first: once on the denylist they no longer load, and could not be found
    // to be deleted (nor their tokens revoked).
    let ended = match config.store() {
        Some(store) => end_stored(shared, store, claims).await?,
        None => 0,
    };
    config
        .denylist
        .add(claims.sid.as_deref(), claims.sub.as_deref(), claims.iat)
        .await?;
    Ok(ended)
}

async fn end_stored(
    shared: &Shared,
    store: &crate::session::TimedStore,
    claims: &LogoutClaims,
) -> Result<usize, crate::store::StoreError> {
    let config = &shared.session;
    // Under every name a session may be indexed by: the current cookie key's, a
    // previous key's (saved before a rotation), and 0.2's unkeyed one.
    let names = config.codec.names();
    let keys = (claims.sid.as_deref().map(Name::Sid).into_iter())
        .chain(claims.sub.as_deref().map(Name::Sub))
        .flat_map(|name| names.every(name));
    let mut ids = Vec::new();
    for key in keys {
        ids.extend(store.find(&key).await?);
    }
    ids.sort_by(|a, b| a.as_str().cmp(b.as_str()));
    ids.dedup_by(|a, b| a.as_str() == b.as_str());
    let mut ended = 0;
    for id in ids {
        let Some(loaded) = config.load_record(store, &id, false).await? else {
            continue;
        };
        let data = loaded.data;
        if data.account.is_some() || !crate::session::Denylist::names(claims, &data) {
            continue;
        }
        store.delete(&id).await?;
        crate::auth::end_session(shared, &data).await;
        ended += 1;
    }
    Ok(ended)
}

/// `503` + `Retry-After` with a JSON error, never cached: "send it again shortly".
fn unavailable() -> Response {
    let body = json!({"error": "temporarily_unavailable",
                      "error_description": "the provider's signing keys cannot be checked now"});
    let mut res = (StatusCode::SERVICE_UNAVAILABLE, axum::Json(body)).into_response();
    let headers = res.headers_mut();
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    headers.insert(RETRY_AFTER, HeaderValue::from_static("5"));
    res
}

/// `400` with a JSON error (Back-Channel Logout 1.0 §2.8), never cached.
fn refuse(error: &str, description: &str) -> Response {
    let mut res = (
        StatusCode::BAD_REQUEST,
        axum::Json(json!({"error": error, "error_description": description})),
    )
        .into_response();
    res.headers_mut()
        .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
