//! One "browser or API client?" rule: only a GET/HEAD navigation is sent to the login
//! page; fetch(), XHR and curl get 401 with `WWW-Authenticate`; htmx gets 401 plus
//! `HX-Redirect`; a POST is never redirected.

use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

/// A request from a client with no navigation defaults (like curl or fetch).
async fn plain(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let client = crate::support::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let mut req = client.request(method, app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.send(req).await
}

#[tokio::test]
async fn a_navigation_is_sent_to_the_login_page() {
    let app = TestApp::spawn().await;
    let res = plain(
        &app,
        reqwest::Method::GET,
        "/me?tab=2",
        &[("sec-fetch-mode", "navigate"), ("accept", "*/*")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/auth/login?return_to=%2Fme%3Ftab%3D2");
    // Without Fetch Metadata, an Accept that prefers HTML is a navigation too.
    let res = plain(
        &app,
        reqwest::Method::GET,
        "/me",
        &[("accept", "text/html,*/*;q=0.8")],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn fetch_xhr_and_curl_get_401() {
    let app = TestApp::spawn().await;
    for headers in [
        vec![("accept", "*/*")],
        vec![("accept", "*/*"), ("sec-fetch-mode", "cors")],
        vec![("accept", "text/html"), ("sec-fetch-mode", "cors")],
        vec![("accept", "application/json")],
        vec![],
    ] {
        let res = plain(&app, reqwest::Method::GET, "/me", &headers).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{headers:?}");
        assert_eq!(res.headers()["www-authenticate"], r#"Bearer realm="app""#);
    }
}

#[tokio::test]
async fn htmx_gets_401_and_hx_redirect_back_to_its_page() {
    let app = TestApp::spawn().await;
    let current = format!("{}/orders?page=3", app.base);
    let res = plain(
        &app,
        reqwest::Method::GET,
        "/me",
        &[
            ("hx-request", "true"),
            ("hx-current-url", &current),
            ("accept", "text/html"),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(
        res.headers()["hx-redirect"],
        "/auth/login?return_to=%2Forders%3Fpage%3D3"
    );
    assert!(res.headers().contains_key("www-authenticate"));
}

#[tokio::test]
async fn a_post_navigation_is_never_redirected() {
    use axum::routing::post;
    use tower::ServiceExt as _;
    let oauth =
        axum_oauth_login::OAuth::builder(axum_oauth_login::Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1:3000/auth/callback")
            .build()
            .unwrap();
    let app: axum::Router = axum::Router::new()
        .route(
            "/orders",
            post(|| async { "created" }).route_layer(oauth.require_login()),
        )
        .layer(oauth.layer());
    let req = http::Request::post("/orders")
        .header("sec-fetch-mode", "navigate")
        .header("accept", "text/html")
        .body(axum::body::Body::empty())
        .unwrap();
    let res = app.oneshot(req).await.unwrap();
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "the form data would be lost"
    );
    assert!(res.headers().get("location").is_none());
}
