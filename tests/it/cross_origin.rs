//! Cross-origin unsafe requests: another site (a sibling subdomain included) cannot use
//! the session cookie that travels with its form posts.

use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

/// Sends `method path` with the browser's cookies and these headers.
async fn send(
    app: &TestApp,
    method: reqwest::Method,
    path: &str,
    headers: &[(&str, &str)],
) -> reqwest::Response {
    let mut req = app.client.request(method, app.url(path));
    for (k, v) in headers {
        req = req.header(*k, *v);
    }
    app.send(req).await
}

#[tokio::test]
async fn logout_from_another_site_is_refused_and_the_session_survives() {
    let app = TestApp::spawn().await;
    app.login().await;
    let own = app.base.clone();
    for (what, headers) in [
        (
            "cross-site",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("origin", "https://evil.example"),
            ],
        ),
        (
            "sibling subdomain",
            vec![
                ("sec-fetch-site", "same-site"),
                ("origin", "http://evil.localhost"),
            ],
        ),
        ("Origin: null", vec![("origin", "null")]),
        (
            "another Origin, no Fetch Metadata",
            vec![("origin", "https://evil.example")],
        ),
    ] {
        let res = send(&app, reqwest::Method::POST, "/auth/logout", &headers).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(
            set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
            "{what}: cookie kept"
        );
        let page = body(res).await;
        assert!(page.contains("another site"), "{what}: {page}");
        assert_eq!(
            app.get("/tokens").await.status(),
            StatusCode::OK,
            "{what}: still logged in"
        );
    }
    // The app's own page: logged out.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/auth/logout",
        &[("sec-fetch-site", "same-origin"), ("origin", &own)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_logout_without_origin_headers_is_allowed() {
    // Old clients and curl send neither Fetch Metadata nor Origin.
    let app = TestApp::spawn().await;
    app.login().await;
    assert_eq!(
        app.post("/auth/logout").await.status(),
        StatusCode::SEE_OTHER
    );
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn a_cross_site_post_to_an_app_route_sees_no_session() {
    let app = TestApp::spawn().await;
    app.login().await;
    let cross = [
        ("sec-fetch-site", "cross-site"),
        ("origin", "https://evil.example"),
    ];
    // A public route keeps working, anonymously: never a blanket 403.
    let res = send(&app, reqwest::Method::POST, "/api/orders", &cross).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "anonymous order");
    // A guarded one answers 401.
    let res = send(&app, reqwest::Method::POST, "/api/orders/guarded", &cross).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    // The same requests from the app's own pages use the session.
    let own = [("sec-fetch-site", "same-origin")];
    let res = send(&app, reqwest::Method::POST, "/api/orders", &own).await;
    assert_eq!(body(res).await, "order placed for the session's user");
    let res = send(&app, reqwest::Method::POST, "/api/orders/guarded", &own).await;
    assert_eq!(res.status(), StatusCode::OK);
    // Safe requests from elsewhere (a link from another site) keep the session.
    let res = send(&app, reqwest::Method::GET, "/tokens", &cross).await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn bearer_requests_are_unaffected_by_origin() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    let auth = format!("Bearer {token}");
    let res = send(
        &app,
        reqwest::Method::POST,
        "/api/orders/guarded",
        &[
            ("sec-fetch-site", "cross-site"),
            ("origin", "https://evil.example"),
            ("authorization", &auth),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::OK);
}

#[tokio::test]
async fn trusted_origins_may_post_with_the_session() {
    let app = TestApp::spawn_with(|b| b.trusted_origins(["https://admin.example.com"])).await;
    app.login().await;
    let admin = [
        ("sec-fetch-site", "same-site"),
        ("origin", "https://admin.example.com"),
    ];
    let res = send(&app, reqwest::Method::POST, "/api/orders/guarded", &admin).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = send(&app, reqwest::Method::POST, "/auth/logout", &admin).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}
