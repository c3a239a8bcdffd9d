//! "Log in with vcita" in one small app.
//!
//! ```text
//! cargo run --example vcita_login
//! ```
//!
//! Without `OAUTH_CLIENT_ID` in the environment it starts the embedded MockProvider (a
//! vcita-shaped authorization server on loopback) and prints the demo credentials;
//! `OAUTH_PROVIDER=apicbase` makes the mock Apicbase-shaped instead. The mock is the
//! `axum-oauth-login-mock` crate, a dev-dependency of this repository; a binary of your
//! own that falls back to it takes it as a normal dependency (`mock/README.md`).
//! `OAUTH_COOKIE_KEY`, `OAUTH_SESSION_STORE`, `OAUTH_ROUTE_PREFIX`, ... apply to the mock
//! too (`OAuthConfig::from_vars_for`: provider and credentials from the mock). With
//! `OAUTH_CLIENT_ID`, `OAUTH_CLIENT_SECRET` and `OAUTH_REDIRECT_URI` set it logs in with
//! real vcita (or `OAUTH_PROVIDER=apicbase|custom`, or `oidc` with `OAUTH_ISSUER`: discovered
//! at startup); see the README. With an OpenID Connect provider the login hook names the
//! user from the validated id_token (`name`, else email), and logout continues at the
//! provider's end-session endpoint, which sends the browser back to
//! `OAUTH_POST_LOGOUT_REDIRECT_URI` (registered at the provider, such as
//! `http://127.0.0.1:3000/`):
//!
//! ```text
//! OAUTH_PROVIDER=oidc OAUTH_ISSUER=https://id.example OAUTH_CLIENT_ID=... \
//!   OAUTH_CLIENT_SECRET=... OAUTH_REDIRECT_URI=http://127.0.0.1:3000/auth/callback \
//!   OAUTH_POST_LOGOUT_REDIRECT_URI=http://127.0.0.1:3000/ OAUTH_SCOPES="openid email profile" \
//!   cargo run --example vcita_login
//! ```
//!
//! Behind a load balancer, run several instances with the same `OAUTH_COOKIE_KEY` (or
//! `OAUTH_COOKIE_KEYS`), `OAUTH_SESSION_STORE=redis://127.0.0.1:6379/` and a `PORT` each:
//! they share sessions and refresh each one once.
//!
//! Routes (in `app.rs`):
//! * `/`: a "Log in with vcita" button ("Log in" for providers other than vcita and
//!   Apicbase), or a greeting under a header in the business's brand colour with its
//!   name and the user's role (left out when the provider describes neither);
//! * `/me`: login required; the app's user, made by the login hook and kept in the session;
//! * `/owner`: vcita owners only (others get a 403 page);
//! * `/api/me`: JSON of the user, resolved through the provider, for a session cookie or
//!   an `Authorization: Bearer` token;
//! * `/auth/login`, `/auth/callback`, `/auth/logout`: the crate's routes;
//! * `/health`: outside the OAuth layer.

use std::error::Error;
use std::net::SocketAddr;

use axum::Router;
use axum_oauth_login::{OAuthConfig, startup::serve_when_ready};
use axum_oauth_login_mock::MockProvider;
use tokio::net::TcpListener;
use tracing_subscriber::EnvFilter;

mod app;

#[tokio::main]
async fn main() -> Result<(), Box<dyn Error>> {
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
    let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], port))).await?;
    let addr = listener.local_addr()?;

    // `_mock` keeps the embedded provider (if any) running as long as the app.
    let (router, _mock) = oauth_setup(addr).await?;

    println!("Open http://{addr}/");
    axum::serve(listener, router)
        .with_graceful_shutdown(async {
            let _ = tokio::signal::ctrl_c().await;
        })
        .await?;
    Ok(())
}

/// The real provider from `OAUTH_*` variables when `OAUTH_CLIENT_ID` is set; otherwise an
/// embedded mock provider, returned too so that it lives as long as the app.
async fn oauth_setup(addr: SocketAddr) -> Result<(Router, Option<MockProvider>), Box<dyn Error>> {
    if std::env::var_os("OAUTH_CLIENT_ID").is_some() {
        // An OpenID Connect provider that is down at startup: the app answers 503 and
        // discovery retries in the background; a wrong setting stops here.
        let router = serve_when_ready(|| async {
            let config = OAuthConfig::from_env_async().await?;
            tracing::info!(
                provider = config.provider().name(),
                "using the configured provider"
            );
            Ok(app::app(&app::configure(config.into_builder()).build()?))
        })
        .await?;
        return Ok((router, None));
    }

    let apicbase =
        std::env::var("OAUTH_PROVIDER").is_ok_and(|p| p.eq_ignore_ascii_case("apicbase"));
    let mock = if apicbase {
        MockProvider::apicbase().start().await?
    } else {
        MockProvider::start().await?
    };
    // The provider and credentials from the mock, everything else (`OAUTH_COOKIE_KEY`,
    // `OAUTH_SESSION_STORE`, `OAUTH_ROUTE_PREFIX`, ...) from the environment.
    // `OAUTH_PROVIDER` chose the mock's shape above, so it is not passed on.
    let vars = std::env::vars().filter(|(k, _)| k != "OAUTH_PROVIDER");
    let (provider, id, secret) = (mock.provider(), mock.client_id(), mock.client_secret());
    let config = OAuthConfig::from_vars_for("OAUTH", vars, provider, id, secret)?;
    let redirect_from_env = config.redirect_uri().is_some();
    let mut builder = config.into_builder();
    if !redirect_from_env {
        builder = builder.redirect_uri(format!("http://{addr}/auth/callback"));
    }
    let oauth = app::configure(builder).build()?;
    let router = app::app(&oauth);
    println!(
        "No OAUTH_CLIENT_ID set: using the embedded mock provider `{}` at {}",
        mock.provider().name(),
        mock.base_url()
    );
    for user in mock.users() {
        let role = user.info["role"].as_str().unwrap_or("user");
        println!("Demo login ({role}): {} / {}", user.email, user.password);
    }
    Ok((router, Some(mock)))
}
