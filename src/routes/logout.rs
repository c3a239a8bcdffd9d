//! `POST /auth/logout`: end the session (a cookie-held one goes on the denylist, so copies
//! of the cookie die too), revoke its tokens (best effort); then go home, or, for an
//! OpenID Connect provider with an end-session endpoint, log out there too (RP-Initiated
//! Logout 1.0).

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};
use url::Url;

use crate::auth::{RequestSession, logout as end_session};
use crate::client::TokenSet;
use crate::pages::redirect;
use crate::secret::CsrfState;
use crate::state::Shared;

pub(crate) async fn logout(
    State(shared): State<Arc<Shared>>,
    req: Request<axum::body::Body>,
) -> Response {
    if shared.origins.foreign(req.headers()) {
        // Another site (a sibling subdomain included) posted this form: the session
        // stays, and the answer says why.
        tracing::warn!("logout refused: sent from another origin");
        let page = shared.pages.page(
            StatusCode::FORBIDDEN,
            "cross_origin_request",
            "cross_origin_request",
            &[],
        );
        return shared.pages.respond(&page, req.headers());
    }
    let ended = match RequestSession::of(req.extensions(), &shared) {
        Ok(rs) => end_session(rs).await,
        Err(missing) => return missing.into_response(),
    };
    match ended.and_then(|tokens| end_session_url(&shared, &tokens)) {
        Some(url) => redirect(url.as_str()),
        None => redirect(&shared.paths.after_logout),
    }
}

/// The provider's end-session URL for a session that just ended (RP-Initiated Logout
/// 1.0 §2): `id_token_hint` (the session's id_token, so the provider logs out the right
/// user without asking), `client_id`, `post_logout_redirect_uri` when configured, and a
/// fresh `state`. `None` when the provider has no end-session endpoint or logout there
/// is turned off.
///
/// The id_token travels in the URL, as the specification's GET form has it: it is an
/// assertion for this client (its audience), not a credential an API accepts, and it
/// has expired or will soon; it may still appear in the provider's access logs.
fn end_session_url(shared: &Shared, tokens: &TokenSet) -> Option<Url> {
    let provider = shared.client.provider();
    if !provider.logout_at_provider() {
        return None;
    }
    let mut url = provider.end_session_url()?.clone();
    {
        let mut q = url.query_pairs_mut();
        if let Some(id_token) = tokens.id_token() {
            q.append_pair("id_token_hint", id_token.secret());
        }
        q.append_pair("client_id", shared.client.client_id());
        if let Some(back) = &shared.paths.post_logout_redirect_uri {
            q.append_pair("post_logout_redirect_uri", back.as_str());
        }
        q.append_pair("state", CsrfState::random().secret());
    }
    tracing::debug!(provider = provider.name(), "logging out at the provider");
    Some(url)
}
