//! Starting while the provider is down: the app serves at once, answering `503` with a
//! clear page (and `Retry-After`) while the provider's metadata is fetched again in the
//! background with back-off; the real app takes over when it arrives.

use std::future::Future;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use axum::Router;
use axum::body::Body;
use axum::response::{Html, IntoResponse, Response};
use http::header::{CACHE_CONTROL, RETRY_AFTER};
use http::{HeaderValue, Request, StatusCode};
use serde_json::json;
use tower_service::Service as _;

use crate::audience::Audience;
use crate::error::ConfigError;

/// The first retry waits this long; each next one twice as long, up to [`MAX_DELAY`].
pub const FIRST_DELAY: Duration = Duration::from_secs(1);
/// The longest wait between two attempts.
pub const MAX_DELAY: Duration = Duration::from_secs(60);

/// Builds the app with `build` — typically: read the configuration with
/// [`OAuthConfig::from_env_async`](crate::OAuthConfig::from_env_async) (which discovers
/// an OpenID Connect provider), build the [`OAuth`](crate::OAuth), return the router.
///
/// - It works: that router is returned.
/// - It fails with a [transient](ConfigError::is_transient) error (the provider is down,
///   times out, answers 5xx): a router is returned that answers every request with `503`
///   and `Retry-After` — a page for browsers ("the login provider cannot be reached
///   yet…"), JSON for API clients — while `build` runs again in the background after
///   1 s, 2 s, 4 s … up to 60 s between attempts. The first success takes over.
/// - It fails otherwise (a setting is wrong; the metadata names another issuer): that
///   error, at once — a startup error, never retried.
///
/// ```no_run
/// use axum_oauth_login::{OAuthConfig, startup::serve_when_ready};
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// let app = serve_when_ready(|| async {
///     let oauth = OAuthConfig::from_env_async().await?.into_builder().build()?;
///     Ok(axum::Router::new().merge(oauth.routes()).layer(oauth.layer()))
/// })
/// .await?;
/// let listener = tokio::net::TcpListener::bind("127.0.0.1:3000").await?;
/// axum::serve(listener, app).await?;
/// # Ok(())
/// # }
/// ```
pub async fn serve_when_ready<B, F>(build: B) -> Result<Router, ConfigError>
where
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<Router, ConfigError>> + Send + 'static,
{
    serve_when_ready_with(build, FIRST_DELAY).await
}

/// [`serve_when_ready`] with the first retry after `first_delay` instead of
/// [`FIRST_DELAY`] (each next one twice as long, up to [`MAX_DELAY`]): for an app whose
/// provider usually comes back within milliseconds, or a test.
pub async fn serve_when_ready_with<B, F>(
    build: B,
    first_delay: Duration,
) -> Result<Router, ConfigError>
where
    B: Fn() -> F + Send + Sync + 'static,
    F: Future<Output = Result<Router, ConfigError>> + Send + 'static,
{
    let error = match build().await {
        Ok(router) => return Ok(router),
        Err(e) if !e.is_transient() => return Err(e),
        Err(e) => e,
    };
    tracing::warn!(
        error = %error,
        "the provider cannot be reached; answering 503 and retrying in the background"
    );
    let ready: Arc<OnceLock<Router>> = Arc::default();
    let slot = ready.clone();
    tokio::spawn(async move {
        let mut delay = first_delay;
        loop {
            tokio::time::sleep(delay).await;
            match build().await {
                Ok(router) => {
                    let _ = slot.set(router);
                    tracing::info!("the provider answered; the app is ready");
                    return;
                }
                Err(e) if e.is_transient() => {
                    tracing::warn!(error = %e, retry_in = ?delay.saturating_mul(2).min(MAX_DELAY), "the provider still cannot be reached");
                }
                Err(e) => {
                    tracing::error!(error = %e, "the provider answered, but the configuration is refused; still retrying");
                }
            }
            delay = delay.saturating_mul(2).min(MAX_DELAY);
        }
    });
    Ok(Router::new().fallback(move |req: Request<Body>| {
        let ready = ready.clone();
        async move {
            match ready.get() {
                Some(router) => match router.clone().call(req).await {
                    Ok(res) => res,
                    Err(never) => match never {},
                },
                None => unavailable(&req),
            }
        }
    }))
}

/// `503` while the provider is away: a page for a browser, JSON otherwise.
fn unavailable(req: &Request<Body>) -> Response {
    const TEXT: &str = "The login provider cannot be reached yet. This app is waiting for it \
                        and retries on its own; please try again in a minute.";
    let mut res = match Audience::of(req.headers()) {
        Audience::Navigation => (
            StatusCode::SERVICE_UNAVAILABLE,
            Html(format!(
                "<!DOCTYPE html><html lang=\"en\"><head><meta charset=\"utf-8\">\
                 <title>Login unavailable</title></head><body><main><h1>Login is not \
                 available yet</h1><p id=\"message\">{TEXT}</p></main></body></html>"
            )),
        )
            .into_response(),
        _ => (
            StatusCode::SERVICE_UNAVAILABLE,
            axum::Json(json!({"error": "temporarily_unavailable", "error_description": TEXT})),
        )
            .into_response(),
    };
    let headers = res.headers_mut();
    headers.insert(RETRY_AFTER, HeaderValue::from_static("10"));
    headers.insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
    res
}
