//! `POST /auth/logout`: end the session, revoke its tokens (best effort), go home.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::LOCATION;
use http::{HeaderValue, Request, StatusCode};

use super::pages::no_store;
use crate::auth::RequestSessions;
use crate::client::{OAuthError, TokenRef};
use crate::oauth::OAuth;

pub(crate) async fn logout(State(oauth): State<OAuth>, req: Request<axum::body::Body>) -> Response {
    let inner = &oauth.inner;
    if let Some(rs) = req
        .extensions()
        .get::<RequestSessions>()
        .and_then(|list| list.of(&oauth))
    {
        if let Some(session) = rs.handle.get() {
            revoke_tokens(&oauth, &session.tokens).await;
            inner.users.forget(session.tokens.access_token()).await;
        }
        rs.handle.clear();
    }
    let mut res = StatusCode::SEE_OTHER.into_response();
    if let Ok(location) = HeaderValue::try_from(inner.after_logout.as_str()) {
        res.headers_mut().insert(LOCATION, location);
    }
    no_store(&mut res);
    res
}

/// Revokes the refresh token (which also ends its access tokens at most servers) and the
/// access token. Failures are logged; logout goes on regardless.
pub(crate) async fn revoke_tokens(oauth: &OAuth, tokens: &crate::client::TokenSet) {
    let client = &oauth.inner.client;
    if client.provider().revocation_url().is_none() {
        return;
    }
    let mut targets = Vec::with_capacity(2);
    if let Some(refresh) = tokens.refresh_token() {
        targets.push(TokenRef::Refresh(refresh));
    }
    targets.push(TokenRef::Access(tokens.access_token()));
    for token in targets {
        match client.revoke(token).await {
            Ok(()) | Err(OAuthError::NotConfigured { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "token revocation failed; logging out anyway"),
        }
    }
}
