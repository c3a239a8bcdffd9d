//! "Log in with vcita" in one small app.
//!
//! ```text
//! cargo run --example vcita_login
//! ```
//!
//! Without `OAUTH_CLIENT_ID` in the environment it starts the embedded MockProvider (a
//! vcita-shaped authorization server on loopback) and prints the demo credentials. With
//! `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` and `OAUTH_REDIRECT_URI` set it logs in with
//! real vcita (or `OAUTH_PROVIDER=apicbase|custom`); see the README.
//!
//! Routes: `/` (login button or greeting), `/me` (login required; the user as JSON),
//! `/api/me` (Bearer header or session), `/health`, and the auth routes.

use std::net::SocketAddr;

use axum::response::{Html, IntoResponse};
use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::testing::MockProvider;
use axum_oauth_login::{AuthSession, BearerUser, OAuth, OAuthConfig, UserInfo};
use tracing_subscriber::EnvFilter;

#[tokio::main]
async fn main() -> Result<(), Box<dyn std::error::Error>> {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env()
                .unwrap_or_else(|_| EnvFilter::new("info,axum_oauth_login=debug")),
        )
        .init();

    let port: u16 = match std::env::var("PORT") {
        Ok(p) => p.parse().map_err(|_| "PORT must be a port number")?,
        Err(_) => 3000,
    };
    let addr = SocketAddr::from(([127, 0, 0, 1], port));
    let listener = tokio::net::TcpListener::bind(addr).await?;
    let addr = listener.local_addr()?;

    // Keep the mock alive as long as the app runs.
    let (oauth, _mock) = if std::env::var_os("OAUTH_CLIENT_ID").is_some() {
        let config = OAuthConfig::from_env()?;
        tracing::info!(
            provider = config.provider.name(),
            "using the configured provider"
        );
        (config.into_builder().build()?, None)
    } else {
        let mock = MockProvider::start().await?;
        let oauth = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://{addr}/auth/callback"))
            .build()?;
        println!(
            "No OAUTH_CLIENT_ID set: using the embedded mock vcita provider at {}",
            mock.base_url()
        );
        println!(
            "Demo login: {} / {}",
            mock.user().email,
            mock.user().password
        );
        (oauth, Some(mock))
    };

    let app = app(&oauth);
    println!("Open http://{addr}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The example's router: public home, a protected page, an API route, and health.
fn app(oauth: &OAuth) -> Router {
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
