//! Benchmark peer: `/me` behind axum-oidc's documented setup (OidcLoginLayer +
//! OidcAuthLayer over a tower-sessions MemoryStore), returning the logged-in user as JSON.
//!
//! Environment:
//!   ISSUER         the OpenID Provider's issuer (discovery at start-up)
//!   APP_URL        this app's base URL, e.g. http://127.0.0.1:4100 (it listens on its port)
//!   CLIENT_ID      default `interop-basic` (openidconnect 3 sends client_secret_basic)
//!   CLIENT_SECRET  default `<CLIENT_ID>-secret`
//!
//! Prints `LISTENING <APP_URL>` once it accepts connections.

use axum::{
    error_handling::HandleErrorLayer, http::Uri, response::IntoResponse, routing::get, Json,
    Router,
};
use axum_oidc::{
    error::MiddlewareError, EmptyAdditionalClaims, OidcAuthLayer, OidcClaims, OidcLoginLayer,
};
use tokio::net::TcpListener;
use tower::ServiceBuilder;
use tower_sessions::{cookie::SameSite, MemoryStore, SessionManagerLayer};

/// The same user JSON (243 bytes) every row of the benchmark returns, held in memory;
/// served once axum-oidc has accepted the session (and re-verified its id_token).
fn user() -> &'static serde_json::Value {
    static USER: std::sync::OnceLock<serde_json::Value> = std::sync::OnceLock::new();
    USER.get_or_init(|| {
        serde_json::json!({
            "sub": "u-1001", "email": "owner@example.com", "role": "owner", "type": "staff",
            "business_id": "b-42", "business_uid": "biz_42", "business_name": "Demo Salon",
            "directory_uid": "dir-1", "brand_host": "app.vcita.com",
            "brand_theme": { "primary_color": "#1a73e8" }
        })
    })
}

async fn me(claims: OidcClaims<EmptyAdditionalClaims>) -> impl IntoResponse {
    let _ = claims.subject();
    Json(user()).into_response()
}

fn env(name: &str) -> String {
    std::env::var(name).unwrap_or_else(|_| panic!("{name} must be set"))
}

#[tokio::main]
async fn main() {
    let issuer = env("ISSUER");
    let app_url = env("APP_URL");
    let client_id = std::env::var("CLIENT_ID").unwrap_or_else(|_| "interop-basic".into());
    let client_secret =
        std::env::var("CLIENT_SECRET").unwrap_or_else(|_| format!("{client_id}-secret"));

    let session_layer = SessionManagerLayer::new(MemoryStore::default())
        // plain http on loopback
        .with_secure(false)
        .with_same_site(SameSite::Lax);

    let oidc_login_service = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|e: MiddlewareError| async {
            e.into_response()
        }))
        .layer(OidcLoginLayer::<EmptyAdditionalClaims>::new());

    let oidc_auth_service = ServiceBuilder::new()
        .layer(HandleErrorLayer::new(|e: MiddlewareError| async {
            e.into_response()
        }))
        .layer(
            OidcAuthLayer::<EmptyAdditionalClaims>::discover_client(
                Uri::from_maybe_shared(app_url.clone()).expect("APP_URL is a valid URI"),
                issuer,
                client_id,
                Some(client_secret),
                vec!["email".into(), "profile".into()],
            )
            .await
            .expect("OIDC discovery"),
        );

    let app = Router::new()
        .route("/me", get(me))
        .layer(oidc_login_service)
        .route("/health", get(|| async { "ok" }))
        .layer(oidc_auth_service)
        .layer(session_layer);

    let uri: Uri = app_url.parse().expect("APP_URL is a valid URI");
    let port = uri.port_u16().expect("APP_URL carries a port");
    let listener = TcpListener::bind(("127.0.0.1", port)).await.expect("bind");
    println!("LISTENING {app_url}");
    axum::serve(listener, app)
        .with_graceful_shutdown(async {
            let mut term =
                tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()).unwrap();
            tokio::select! {
                _ = term.recv() => {}
                _ = tokio::signal::ctrl_c() => {}
            }
        })
        .await
        .expect("serve");
}
