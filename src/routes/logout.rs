//! `POST /auth/logout`: end the session, revoke its tokens (best effort), go home.

use std::sync::Arc;

use axum::extract::State;
use axum::response::{IntoResponse, Response};
use http::{Request, StatusCode};

use crate::auth::{RequestSession, logout as end_session};
use crate::pages::{ErrorPage, redirect};
use crate::state::Shared;

pub(crate) async fn logout(
    State(shared): State<Arc<Shared>>,
    req: Request<axum::body::Body>,
) -> Response {
    if shared.origins.foreign(req.headers()) {
        // Another site (a sibling subdomain included) posted this form: the session
        // stays, and the answer says why.
        tracing::warn!("logout refused: sent from another origin");
        return ErrorPage {
            status: StatusCode::FORBIDDEN,
            code: "cross_origin_request".into(),
            title: "Logout refused",
            message: "This logout request came from another site, so it was refused and \
                      you are still logged in. Log out from this app's own page."
                .into(),
            retry_href: "/".into(),
        }
        .render(req.headers());
    }
    match RequestSession::of(req.extensions(), &shared) {
        Ok(rs) => end_session(rs).await,
        Err(missing) => return missing.into_response(),
    }
    redirect(&shared.paths.after_logout)
}
