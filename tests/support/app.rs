//! The `vcita_login` example's router, as the tests serve it.

use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oauth_login::{AuthSession, BearerUser, Forbidden, OAuth};
use serde_json::{Value, json};

use self::example::AppUser;

/// `examples/vcita_login/app.rs` itself, not a copy.
#[path = "../../examples/vcita_login/app.rs"]
pub mod example;

/// The example's app plus test-only routes, layered exactly as [`example::app`] is:
///
/// * `/tokens`: the session's tokens as JSON, a window into what a handler sees;
/// * `/api/maybe`: `Option<BearerUser>`;
/// * `/api/me-required`: the example's `/api/me` handler behind `require_login`;
/// * `POST /api/orders`: a state-changing route: `Option<AuthSession>` (public) and
///   `POST /api/orders/guarded` behind `require_login`;
/// * `/app-user`: the session's typed user (the example's login hook made it);
/// * `/api/scoped`: behind `require_scopes(["orders:write"])`;
/// * `/api/scope-check`: `BearerUser::require_scopes(["orders:write"])` in the handler;
/// * `/api/strict`: `BearerUser<Strict>`, a type the provider's answer does not fit;
/// * `/wrong-user-type`: `AuthSession` (of `UserInfo`) while the login hook makes an
///   `AppUser`: a wiring bug.
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
        )
        .route("/app-user", get(app_user))
        .route(
            "/api/scoped",
            get(|| async { "scoped" }).route_layer(oauth.require_scopes(["orders:write"])),
        )
        .route("/api/scope-check", get(scope_check))
        .route("/api/strict", get(strict))
        .route("/wrong-user-type", get(wrong_user_type));
    example::with_oauth_layer(oauth, routes)
}

async fn tokens(session: AuthSession<AppUser>) -> Json<Value> {
    let t = session.tokens();
    Json(json!({
        "access_token": t.access_token().secret(),
        "refresh_token": t.refresh_token().map(|r| r.secret()),
        "expires_at": t.expires_at(),
        "scope": t.scope(),
        "id_token": t.id_token().map(|i| i.secret()),
    }))
}

async fn orders(session: Option<AuthSession<AppUser>>) -> String {
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

async fn app_user(session: AuthSession<AppUser>) -> Json<Option<AppUser>> {
    Json(session.user().cloned())
}

async fn scope_check(user: BearerUser) -> Result<&'static str, Forbidden> {
    user.require_scopes(["orders:write"])?;
    Ok("scope ok")
}

/// A user type with a field no provider answer has.
#[derive(serde::Deserialize)]
#[allow(dead_code)]
struct Strict {
    loyalty_tier: String,
}

async fn strict(user: BearerUser<Strict>) -> &'static str {
    let _ = user.info();
    "strict"
}

async fn wrong_user_type(session: AuthSession) -> String {
    format!("{:?}", session.user().map(|u| u.display_name().to_owned()))
}
