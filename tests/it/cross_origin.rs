//! Cross-origin unsafe requests: another site (a sibling subdomain included) cannot use
//! the session cookie that travels with its form posts, and cannot connect an account.

use axum_oauth_login_mock::MockEndpoint;
use reqwest::StatusCode;

use crate::connections::{accounts, apicbase_app, connect};
use crate::harness::*;
use crate::support::app::ADMIN_BASIC;
use crate::support::html::Form;
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

// ---------------------------------------------------------------------------------------
// Connecting an account (issue 21, defect 6)
// ---------------------------------------------------------------------------------------

/// The access token the vault keeps for `account`.
async fn kept_token(app: &TestApp, account: &str) -> String {
    let connections = app.oauth.connections().expect("a connections store");
    let tokens = connections.tokens(account).await.expect("connected");
    tokens.access_token().secret().to_owned()
}

/// Whether `res` started a connect flow: a flow cookie, or a redirect to the provider.
fn started_a_flow(app: &TestApp, res: &reqwest::Response) -> bool {
    let to_provider = res
        .headers()
        .get("location")
        .and_then(|l| l.to_str().ok())
        .is_some_and(|l| l.starts_with(&app.mock.base_url()));
    to_provider
        || set_cookies(res.headers())
            .iter()
            .any(|c| c.contains("_flow_"))
}

/// A provider that skips consent (the app was approved before) finishes at once what a
/// request started: the attack's last step.
async fn finish_if_started(app: &TestApp, res: &reqwest::Response) {
    if started_a_flow(app, res) && res.status() == StatusCode::SEE_OTHER {
        let callback = app.authorize(&location(res)).await;
        app.callback(&callback).await;
    }
}

/// The headers of a request another site makes the browser send.
fn from_another_site() -> Vec<(&'static str, Vec<(&'static str, &'static str)>)> {
    vec![
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
    ]
}

#[tokio::test]
async fn a_connect_link_from_another_site_asks_first_and_replaces_nothing() {
    let app = apicbase_app().await;
    app.login().await;
    connect(&app, "lib-1").await;
    let kept = kept_token(&app, "lib-1").await;
    let exchanges = app.mock.hits(MockEndpoint::Token);

    for (what, headers) in [
        (
            "Sec-Fetch-Site: cross-site",
            vec![("sec-fetch-site", "cross-site")],
        ),
        (
            "a navigation from another site",
            vec![
                ("sec-fetch-site", "cross-site"),
                ("sec-fetch-mode", "navigate"),
                ("sec-fetch-dest", "document"),
                ("sec-fetch-user", "?1"),
                ("referer", "https://evil.example/"),
            ],
        ),
        ("a link in an e-mail, no Fetch Metadata", vec![]),
    ] {
        let res = app.get_with("/connect/lib-1", &headers).await;
        let started = started_a_flow(&app, &res);
        finish_if_started(&app, &res).await;
        assert!(!started, "{what}: no flow started ({})", res.status());
        assert_eq!(res.status(), StatusCode::OK, "{what}: a page");
        assert!(app.flow_cookies().is_empty(), "{what}: no flow cookie");
        assert_eq!(res.headers()["cache-control"], "no-store", "{what}");
        let csp = res.headers()["content-security-policy"].to_str().unwrap();
        assert!(csp.contains("frame-ancestors 'none'"), "{what}: {csp}");
        let page = body(res).await;
        let form = Form::parse(&page).unwrap_or_else(|| panic!("{what}: a form: {page}"));
        assert_eq!(form.action, "", "{what}: posts to the same URL");
        assert!(page.contains(r#"method="post""#), "{what}: {page}");
        assert!(page.contains("lib-1"), "{what}: names the account: {page}");
    }

    // Nothing changed: the same tokens, no code exchanged.
    assert_eq!(kept_token(&app, "lib-1").await, kept);
    assert_eq!(app.mock.hits(MockEndpoint::Token), exchanges);
    assert_eq!(accounts(&app).await, ["lib-1"]);

    // The page escapes the account id it names.
    let res = app.get("/connect/%3Cscript%3Ex%22").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert!(!page.contains("<script>"), "{page}");
    assert!(page.contains("&lt;script&gt;x&quot;"), "{page}");

    // The page's button: a same-origin POST to the same URL starts the flow.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/connect/lib-1",
        &[("sec-fetch-site", "same-origin"), ("origin", &app.base)],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(started_a_flow(&app, &res), "to the provider");
    assert_eq!(app.flow_cookies().len(), 1);
}

#[tokio::test]
async fn a_connect_post_from_another_site_is_refused() {
    let app = apicbase_app().await;
    app.login().await;
    connect(&app, "lib-1").await;
    let kept = kept_token(&app, "lib-1").await;

    for (what, headers) in from_another_site() {
        // The crate's session does not travel with it: the app's login guard refuses.
        let res = send(&app, reqwest::Method::POST, "/connect/lib-1", &headers).await;
        let started = started_a_flow(&app, &res);
        finish_if_started(&app, &res).await;
        assert!(!started, "{what}: no flow started ({})", res.status());
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}");

        // An app whose own check the browser passes from anywhere (HTTP Basic here):
        // `connect` itself refuses.
        let mut admin = headers.clone();
        admin.push(("authorization", ADMIN_BASIC));
        let res = send(&app, reqwest::Method::POST, "/admin/connect/lib-1", &admin).await;
        let started = started_a_flow(&app, &res);
        finish_if_started(&app, &res).await;
        assert!(!started, "{what}: no flow started ({})", res.status());
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{what}");
        assert!(app.flow_cookies().is_empty(), "{what}: no flow cookie");
        let page = body(res).await;
        assert!(page.contains("another site"), "{what}: {page}");
    }
    assert_eq!(
        kept_token(&app, "lib-1").await,
        kept,
        "the connection is untouched"
    );

    // From the app's own page, the admin route connects.
    let res = send(
        &app,
        reqwest::Method::POST,
        "/admin/connect/lib-1",
        &[
            ("sec-fetch-site", "same-origin"),
            ("authorization", ADMIN_BASIC),
        ],
    )
    .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(started_a_flow(&app, &res));
}
