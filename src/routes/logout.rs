//! `POST /auth/logout`: end the session, revoke its tokens (best effort), go home.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::Request;

use crate::auth::{RequestSession, logout as end_session};
use crate::pages::redirect;
use crate::state::Shared;

pub(crate) async fn logout(
    State(shared): State<Arc<Shared>>,
    req: Request<axum::body::Body>,
) -> Response {
    match RequestSession::of(req.extensions(), &shared) {
        Ok(rs) => end_session(rs).await,
        Err(missing) => return missing.into_response(),
    }
    redirect(&shared.paths.after_logout)
}
