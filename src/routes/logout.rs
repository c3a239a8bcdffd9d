//! `POST /auth/logout`: end the session, revoke its tokens (best effort), go home.

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::header::LOCATION;
use http::{HeaderValue, Request, StatusCode};

use super::pages::no_store;
use crate::auth::RequestSessions;
use crate::client::{OAuthError, TokenRef, TokenSet};
use crate::oauth::OAuth;

pub(crate) async fn logout(State(oauth): State<OAuth>, req: Request<axum::body::Body>) -> Response {
    let inner = &oauth.inner;
    if let Some(rs) = req
        .extensions()
        .get::<RequestSessions>()
        .and_then(|list| list.of(&oauth))
    {
        if let Some(session) = rs.handle.get() {
            end_tokens(&oauth, &session.tokens).await;
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

/// Ends a session's tokens at logout: revokes them, and also the tokens a refresh made
/// from them within the grace window (another tab may have refreshed; a replay of this
/// pre-refresh cookie would otherwise get those back), and forgets their cached users.
pub(crate) async fn end_tokens(oauth: &OAuth, tokens: &TokenSet) {
    let inner = &oauth.inner;
    let refreshed = match tokens.refresh_token() {
        Some(refresh) => inner.session.refresher().take_refreshed(refresh).await,
        None => None,
    };
    let mut targets: Vec<TokenRef<'_>> = Vec::with_capacity(4);
    for set in std::iter::once(tokens).chain(refreshed.as_ref()) {
        if let Some(refresh) = set.refresh_token()
            && !targets.iter().any(|t| t.secret() == refresh.secret())
        {
            targets.push(TokenRef::Refresh(refresh));
        }
        targets.push(TokenRef::Access(set.access_token()));
        inner.users.forget(set.access_token()).await;
    }
    revoke(oauth, targets).await;
}

/// Revokes each token: refresh tokens first (which also ends their access tokens at most
/// servers), then access tokens. Failures are logged; logout goes on regardless.
async fn revoke(oauth: &OAuth, targets: Vec<TokenRef<'_>>) {
    let client = &oauth.inner.client;
    if client.provider().revocation_url().is_none() {
        return;
    }
    for token in targets {
        match client.revoke(token).await {
            Ok(()) | Err(OAuthError::NotConfigured { .. }) => {}
            Err(e) => tracing::warn!(error = %e, "token revocation failed; logging out anyway"),
        }
    }
}
