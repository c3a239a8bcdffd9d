//! `serve_when_ready`: a provider that is down at startup is retried in the background
//! while the app answers 503 (a page for browsers, JSON for API clients); a metadata
//! document that names another issuer is a startup error, never retried.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::response::IntoResponse as _;
use axum::routing::get;
use axum_oauth_login::{OAuthConfig, startup::serve_when_ready_with};
use reqwest::StatusCode;
use serde_json::json;

use crate::support::{Http, Server, bind, body, bounded, location};

/// A discovery endpoint that answers 503 `failures` times, then the metadata for
/// `issuer`; counts its requests.
async fn flaky_discovery(
    failures: usize,
    issuer_override: Option<&str>,
) -> (String, Arc<AtomicUsize>, Server) {
    let (listener, port) = bind().await;
    let issuer = format!("http://127.0.0.1:{port}");
    let named = issuer_override.map_or_else(|| issuer.clone(), str::to_owned);
    let hits = Arc::new(AtomicUsize::new(0));
    let counter = hits.clone();
    let base = issuer.clone();
    let app = Router::new().route(
        "/.well-known/openid-configuration",
        get(move || {
            let (counter, base, named) = (counter.clone(), base.clone(), named.clone());
            async move {
                if counter.fetch_add(1, Ordering::SeqCst) < failures {
                    return (StatusCode::SERVICE_UNAVAILABLE, axum::Json(json!({})))
                        .into_response();
                }
                axum::Json(json!({
                    "issuer": named,
                    "authorization_endpoint": format!("{base}/authorize"),
                    "token_endpoint": format!("{base}/token"),
                    "jwks_uri": format!("{base}/jwks"),
                }))
                .into_response()
            }
        }),
    );
    (issuer, hits, Server::start(listener, app))
}

fn build(
    issuer: String,
    redirect_uri: String,
) -> impl Fn() -> std::pin::Pin<
    Box<dyn Future<Output = Result<Router, axum_oauth_login::ConfigError>> + Send>,
> + Send
+ Sync
+ 'static {
    move || {
        let vars = vec![
            ("OAUTH_PROVIDER".to_owned(), "oidc".to_owned()),
            ("OAUTH_ISSUER".to_owned(), issuer.clone()),
            ("OAUTH_CLIENT_ID".to_owned(), "app".to_owned()),
            ("OAUTH_CLIENT_SECRET".to_owned(), "secret".to_owned()),
            ("OAUTH_REDIRECT_URI".to_owned(), redirect_uri.clone()),
            ("OAUTH_COOKIE_KEY".to_owned(), "ephemeral".to_owned()),
        ];
        Box::pin(async move {
            let oauth = OAuthConfig::from_vars_async("OAUTH", vars)
                .await?
                .into_builder()
                .build()?;
            Ok(Router::new().merge(oauth.routes()).layer(oauth.layer()))
        })
    }
}

#[tokio::test]
async fn a_provider_down_at_startup_is_retried_while_login_answers_503() {
    let (issuer, hits, _discovery) = flaky_discovery(2, None).await;
    let (listener, port) = bind().await;
    let base = format!("http://127.0.0.1:{port}");
    let app = serve_when_ready_with(
        build(issuer.clone(), format!("{base}/auth/callback")),
        Duration::from_millis(100),
    )
    .await
    .expect("a transient failure is not a startup error");
    let _server = Server::start(listener, app);
    let http = Http::new();

    // Down: a clear page for the browser, JSON for an API client, both 503 + Retry-After.
    let res = http
        .send(
            http.client
                .get(format!("{base}/auth/login"))
                .header("sec-fetch-mode", "navigate"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert_eq!(res.headers()["retry-after"], "10");
    let page = body(res).await;
    assert!(
        page.contains("The login provider cannot be reached yet"),
        "{page}"
    );
    let res = http
        .send(
            http.client
                .get(format!("{base}/auth/login"))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    let answer: serde_json::Value = serde_json::from_str(&body(res).await).unwrap();
    assert_eq!(answer["error"], "temporarily_unavailable");

    // Up after two failures: the retries (100 ms, 200 ms) find it; login works.
    bounded("the provider is discovered", async {
        loop {
            let res = http.get_url(&format!("{base}/auth/login")).await;
            if res.status() == StatusCode::SEE_OTHER {
                assert!(location(&res).starts_with(&format!("{issuer}/authorize?")));
                assert!(location(&res).contains("nonce="), "an OpenID Connect login");
                break;
            }
            assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    assert_eq!(
        hits.load(Ordering::SeqCst),
        3,
        "two failures, one success, then no more"
    );
}

#[tokio::test]
async fn metadata_naming_another_issuer_is_a_startup_error_naming_both() {
    let (issuer, hits, _discovery) = flaky_discovery(0, Some("https://impostor.example")).await;
    let Err(err) = serve_when_ready_with(
        build(
            issuer.clone(),
            "http://127.0.0.1:9/auth/callback".to_owned(),
        ),
        Duration::from_millis(100),
    )
    .await
    else {
        panic!("an issuer mismatch is not retried");
    };
    assert_eq!(err.setting(), "OAUTH_ISSUER");
    assert!(!err.is_transient());
    let message = err.to_string();
    assert!(
        message.contains(&issuer) && message.contains("https://impostor.example"),
        "{message}"
    );
    tokio::time::sleep(Duration::from_millis(300)).await;
    assert_eq!(hits.load(Ordering::SeqCst), 1, "not retried");
}
