//! The `vcita_login` example's pages and router, shared with the browser end-to-end
//! suite (`tests/browser.rs` includes this file with `#[path]`), so the browser tests
//! drive exactly the app that `cargo run --example vcita_login` serves.

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::{AuthSession, BearerUser, OAuth, UserInfo};

/// The example's router: public home, a protected page, an API route, and health.
pub fn app(oauth: &OAuth) -> Router {
    Router::new()
        .route("/", get(home))
        .route("/me", get(me).route_layer(oauth.require_login()))
        .route("/api/me", get(api_me))
        .merge(oauth.routes())
        .layer(oauth.layer())
        // Outside the layer: health checks never touch sessions.
        .route("/health", get(|| async { "ok" }))
}

async fn home(session: Option<AuthSession>) -> impl IntoResponse {
    let body = match session {
        Some(session) => {
            let name = session.user().map_or("there", UserInfo::display_name);
            format!(
                r#"<h1 id="greeting">Hello, {name}</h1>
<p><a href="/me">My info (JSON)</a> · <a href="/api/me">API view</a></p>
<form method="post" action="/auth/logout"><button id="logout" type="submit">Log out</button></form>"#,
                name = escape(name)
            )
        }
        None => r#"<h1>Welcome</h1>
<p><a id="login" href="/auth/login?return_to=/">Log in with vcita</a></p>"#
            .to_owned(),
    };
    Html(format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>vcita login demo</title></head>\
         <body style=\"font-family:system-ui,sans-serif;max-width:40rem;margin:3rem auto\">{body}</body></html>"
    ))
}

async fn me(user: BearerUser) -> Json<UserInfo> {
    Json(user.into_info())
}

async fn api_me(user: BearerUser) -> Json<UserInfo> {
    Json(user.into_info())
}

fn escape(text: &str) -> String {
    text.replace('&', "&amp;")
        .replace('<', "&lt;")
        .replace('>', "&gt;")
        .replace('"', "&quot;")
}
