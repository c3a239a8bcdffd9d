//! `POST /auth/logout`: end the session, revoke its tokens (best effort), go home.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};

use crate::auth::{RequestSession, logout as end_session};
use crate::pages::redirect;
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
    match RequestSession::of(req.extensions(), &shared) {
        Ok(rs) => end_session(rs).await,
        Err(missing) => return missing.into_response(),
    }
    redirect(&shared.paths.after_logout)
}
