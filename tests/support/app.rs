//! The `vcita_login` example's router, as the tests serve it.

use axum::response::IntoResponse;
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oauth_login::{
    AuthRejection, AuthSession, BearerUser, Forbidden, OAuth, connections::Connections,
};
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
/// * `/api/counted`: `BearerUser<Counted>`, whose parses are counted ([`COUNTED_PARSES`]);
/// * `/wrong-user-type`: `AuthSession` (of `UserInfo`) while the login hook makes an
///   `AppUser`: a wiring bug;
/// * with a connections store: `GET`/`POST /connect/{account}` (login required),
///   `GET`/`POST /admin/connect/{account}` (the app's own check: HTTP Basic
///   [`ADMIN_BASIC`], not the crate's session), `GET /accounts`
///   (the list as JSON), `GET /accounts/{account}/api?path=...` (an API call as the
///   account: `{"status", "body"}` or the `ApiError`'s answer) and
///   `POST /accounts/{account}/disconnect`.
pub fn test_app(oauth: &OAuth) -> Router {
    let mut routes = example::routes(oauth)
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
        .route("/public", get(public))
        .route(
            "/api/scoped",
            get(|| async { "scoped" }).route_layer(oauth.require_scopes(["orders:write"])),
        )
        .route("/api/scope-check", get(scope_check))
        .route("/api/strict", get(strict))
        .route("/api/counted", get(counted))
        .route("/wrong-user-type", get(wrong_user_type));
    if let Some(connections) = oauth.connections() {
        routes = routes.merge(connection_routes(oauth, connections));
    }
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
        "token_type": t.token_type(),
        "dpop_jkt": t.dpop_jkt(),
        "id_claims": session.id_claims().map(|c| serde_json::to_value(&*c).unwrap()),
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

/// A public page that renders as anonymous while the session store is down.
async fn public(session: Result<AuthSession<AppUser>, AuthRejection>) -> String {
    match session {
        Ok(_) => "logged in".to_owned(),
        Err(AuthRejection::StoreUnavailable) => "anonymous (session store unavailable)".to_owned(),
        Err(_) => "anonymous".to_owned(),
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

impl axum_oauth_login::ProviderUser for Strict {}

async fn strict(user: BearerUser<Strict>) -> &'static str {
    let _ = user.info();
    "strict"
}

async fn wrong_user_type(session: AuthSession) -> String {
    format!("{:?}", session.user().map(|u| u.display_name().to_owned()))
}

/// `Authorization` of the admin route `/admin/connect/{account}` (`admin:admin`).
pub const ADMIN_BASIC: &str = "Basic YWRtaW46YWRtaW4=";

/// The test routes of connected accounts.
fn connection_routes(oauth: &OAuth, connections: Connections) -> Router {
    use axum::extract::{Path, Query};
    use axum::http::request::Parts;
    let (c1, c2, c3, c4, c5) = (
        connections.clone(),
        connections.clone(),
        connections.clone(),
        connections.clone(),
        connections,
    );
    let connect = move |Path(account): Path<String>, request: Parts| async move {
        // A real app checks here that the user may connect `account`.
        c1.connect(&account, "/accounts", &request).await
    };
    let admin_connect = move |Path(account): Path<String>, request: Parts| async move {
        // The app's own check, which browsers also pass on requests from other sites.
        let basic = request.headers.get("authorization");
        if basic.and_then(|v| v.to_str().ok()) != Some(ADMIN_BASIC) {
            return axum::http::StatusCode::UNAUTHORIZED.into_response();
        }
        c5.connect(&account, "/accounts", &request).await
    };
    Router::new()
        .route(
            "/connect/{account}",
            get(connect.clone())
                .post(connect)
                .route_layer(oauth.require_login()),
        )
        .route(
            "/admin/connect/{account}",
            get(admin_connect.clone()).post(admin_connect),
        )
        .route(
            "/accounts",
            get(move || async move {
                let list = c2.list().await.expect("list");
                Json(json!(
                    list.iter()
                        .map(|c| json!({
                            "account": c.account,
                            "refreshable": c.refreshable,
                            "access_expires_at": c.access_expires_at,
                        }))
                        .collect::<Vec<_>>()
                ))
            }),
        )
        .route(
            "/accounts/{account}/api",
            get(
                move |Path(account): Path<String>,
                      Query(q): Query<std::collections::HashMap<String, String>>| async move {
                    let path = q.get("path").cloned().unwrap_or_default();
                    match c3.api(&account).get(&path).send().await {
                        Ok(answer) => Json(json!({
                            "status": answer.status().as_u16(),
                            "body": answer.json::<Value>().unwrap_or(Value::Null),
                        }))
                        .into_response(),
                        Err(e) => e.into_response(),
                    }
                },
            ),
        )
        .route(
            "/accounts/{account}/disconnect",
            post(move |Path(account): Path<String>| async move {
                c4.disconnect(&account)
                    .await
                    .expect("disconnect")
                    .to_string()
            }),
        )
}

/// How many times a [`Counted`] user was parsed from the provider's answer.
pub static COUNTED_PARSES: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);

/// A user type that counts its parses.
#[derive(Debug)]
pub struct Counted {
    pub email: Option<String>,
}

impl axum_oauth_login::ProviderUser for Counted {}

impl<'de> serde::Deserialize<'de> for Counted {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        #[derive(serde::Deserialize)]
        struct Raw {
            email: Option<String>,
        }
        COUNTED_PARSES.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
        Raw::deserialize(d).map(|r| Counted { email: r.email })
    }
}

async fn counted(user: axum_oauth_login::BearerUser<Counted>) -> String {
    user.info().email.clone().unwrap_or_default()
}
