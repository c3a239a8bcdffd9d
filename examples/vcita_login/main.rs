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
//! `OAUTH_PROVIDER=apicbase` without credentials runs against an Apicbase-shaped mock.
//!
//! Routes: `/` (login button or greeting), `/me` (login required; the user as JSON),
//! `/api/me` (Bearer header or session), `/health`, and the auth routes. The router is in
//! `app.rs`, which `tests/browser.rs` shares.

use std::net::SocketAddr;

use axum_oauth_login::testing::MockProvider;
use axum_oauth_login::{OAuth, OAuthConfig};
use tracing_subscriber::EnvFilter;

mod app;

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
        // No credentials: an embedded mock, shaped like vcita, or like Apicbase with
        // OAUTH_PROVIDER=apicbase (form bodies, rotating refresh tokens, introspection).
        let apicbase =
            std::env::var("OAUTH_PROVIDER").is_ok_and(|p| p.eq_ignore_ascii_case("apicbase"));
        let (mock, shape) = if apicbase {
            (MockProvider::apicbase().start().await?, "Apicbase")
        } else {
            (MockProvider::start().await?, "vcita")
        };
        let oauth = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://{addr}/auth/callback"))
            .build()?;
        println!(
            "No OAUTH_CLIENT_ID set: using the embedded mock {shape} provider at {}",
            mock.base_url()
        );
        println!(
            "Demo login: {} / {}",
            mock.user().email,
            mock.user().password
        );
        (oauth, Some(mock))
    };

    let app = app::app(&oauth);
    println!("Open http://{addr}/");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}
