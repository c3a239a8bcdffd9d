//! The `vcita_login` example's router, as the tests serve it.

use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oauth_login::{AuthSession, BearerUser, OAuth};
use serde_json::{Value, json};

/// `examples/vcita_login/app.rs` itself, not a copy.
#[path = "../../examples/vcita_login/app.rs"]
pub mod example;

/// The example's app plus test-only routes, layered exactly as [`example::app`] is:
///
/// * `/tokens`: the session's tokens as JSON, a window into what a handler sees;
/// * `/api/maybe`: `Option<BearerUser>`;
/// * `/api/me-required`: the example's `/api/me` handler behind `require_login`;
/// * `POST /api/orders`: a state-changing route: `Option<AuthSession>` (public) and
///   `POST /api/orders/guarded` behind `require_login`.
pub fn test_app(oauth: &OAuth) -> Router {
    let routes = example::routes(oauth)
        .route("/tokens", get(tokens))
        .route("/api/maybe", get(maybe))
        .route(
            "/api/me-required",
            get(example::api_me).route_layer(oauth.require_login()),
        )
        .route("/api/orders", post(orders))
        .route(
            "/api/orders/guarded",
            post(orders).route_layer(oauth.require_login()),
        );
    example::with_oauth_layer(oauth, routes)
}

async fn tokens(session: AuthSession) -> Json<Value> {
    let t = session.tokens();
    Json(json!({
        "access_token": t.access_token().secret(),
        "refresh_token": t.refresh_token().map(|r| r.secret()),
        "expires_at": t.expires_at(),
        "scope": t.scope(),
        "id_token": t.id_token().map(|i| i.secret()),
    }))
}

async fn orders(session: Option<AuthSession>) -> String {
    match session {
        Some(_) => "order placed for the session's user".to_owned(),
        None => "anonymous order".to_owned(),
    }
}

async fn maybe(user: Option<BearerUser>) -> String {
    match user {
        Some(u) => format!("user {}", u.info().display_name()),
        None => "anonymous".to_owned(),
    }
}
