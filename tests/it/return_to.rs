//! `return_to` after a full login: same-site paths are kept, everything a browser could
//! resolve to another origin falls back to `/`.

use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

/// Logs in with `GET /auth/login?{raw_query}` and returns where the callback redirects.
async fn landing(app: &TestApp, raw_query: &str) -> String {
    let authorize = app.start_login_query(raw_query).await;
    let callback = app.authorize(&authorize).await;
    let res = app.callback(&callback).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "login with {raw_query:?}"
    );
    location(&res)
}

#[tokio::test]
async fn open_redirect_attempts_fall_back_to_root() {
    let app = TestApp::spawn().await;
    let long = format!("/{}", "a".repeat(3000));
    let attempts: Vec<(String, String)> = [
        "https://evil.example",
        "//evil.example",
        "/\\evil.example",
        "\\\\evil.example",
        "http:evil.example",
        "javascript:alert(1)",
        "///evil.example",
        "/\r\n/evil.example",
        long.as_str(),
        "evil.example",
    ]
    .into_iter()
    .map(|evil| {
        (
            evil.chars().take(40).collect(),
            format!("return_to={}", enc(evil)),
        )
    })
    .chain([
        // `%09` decodes to a tab: `/\t/evil.example` is `//evil.example` to a browser.
        (
            "/%09/evil.example".into(),
            "return_to=/%09/evil.example".into(),
        ),
        ("empty".into(), "return_to=".into()),
        ("absent".into(), "other=1".into()),
    ])
    .collect();
    for (label, query) in &attempts {
        let target = landing(&app, query).await;
        assert_eq!(target, "/", "{label:?} must fall back to /");
    }
    assert_eq!(
        app.mock.hits(axum_oauth_login_mock::MockEndpoint::Token),
        attempts.len()
    );
}

#[tokio::test]
async fn same_site_paths_are_kept() {
    let app = TestApp::spawn().await;
    for good in ["/orders?page=2", "/", "/me", "/a/b?c=d&e=f"] {
        let target = landing(&app, &format!("return_to={}", enc(good))).await;
        assert_eq!(target, good);
    }
    // Encoded slashes that decode to `//evil.example` are refused (a proxy or framework
    // may decode them once before a browser sees them): back to `/`.
    let target = landing(&app, "return_to=%2F%252F%252Fevil.example").await;
    assert_eq!(target, "/");
}

#[tokio::test]
async fn repeated_return_to_never_leaves_the_site() {
    let app = TestApp::spawn().await;
    for query in [
        "return_to=%2Fmine&return_to=https%3A%2F%2Fevil.example",
        "return_to=https%3A%2F%2Fevil.example&return_to=%2Fmine",
        "return_to=%2F%2Fevil.example&return_to=%2F%2Fevil.example",
    ] {
        let target = landing(&app, query).await;
        assert!(
            target == "/" || target == "/mine",
            "{query}: redirected to {target}"
        );
    }
}
