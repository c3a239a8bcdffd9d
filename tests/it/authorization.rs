//! Authorization guards: 401 is "who are you?", 403 is "you may not". Scope guards
//! (RFC 6750 `insufficient_scope`, failing closed), predicates on the resolved user
//! (a demotion at the provider counts within the user cache's TTL), vcita roles.

use std::time::Duration;

use axum_oauth_login::{Clock, CookieKey, OAuth, Provider};
use axum_oauth_login_mock::{MockProvider, MockUser};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::*;

const JSON: (&str, &str) = ("accept", "application/json");

/// The test app for `provider` (the mock's, with changes), built like the harness's.
async fn app_for(mock: MockProvider, provider: Provider) -> TestApp {
    let (listener, port) = bind().await;
    let clock = Clock::manual_from_now();
    let oauth = example::configure(
        OAuth::builder(provider, mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .cookie_key(CookieKey::generate()),
    )
    .build()
    .expect("OAuth builds");
    TestApp::serve(mock, listener, oauth, clock)
}

/// A vcita-shaped app whose logins ask for `scopes`.
async fn app_with_scopes(scopes: &[&str]) -> TestApp {
    let mock = start_mock().await;
    let provider = mock.provider().to_builder().scopes(scopes.iter().copied());
    app_for(mock, provider.build().expect("provider")).await
}

fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned())
        .unwrap_or_default()
}

#[tokio::test]
async fn a_missing_scope_is_403_insufficient_scope_naming_it() {
    let app = app_with_scopes(&["orders:read"]).await;
    app.login().await;
    for path in ["/api/scoped", "/api/scope-check"] {
        let res = app.get_with(path, &[JSON]).await;
        assert_eq!(res.status(), StatusCode::FORBIDDEN, "{path}");
        let www = challenge(&res);
        assert!(
            www.starts_with("Bearer realm=\"app\"")
                && www.contains("error=\"insufficient_scope\"")
                && www.contains("scope=\"orders:write\""),
            "{path}: {www}"
        );
        assert_eq!(res.headers()["cache-control"], "no-store");
        let body: Value = res.json().await.unwrap();
        assert_eq!(body["error"], "insufficient_scope", "{path}");
        assert_eq!(body["scope"], "orders:write", "{path}");
    }
    // A browser gets the 403 page (the example's own layout), not a login redirect.
    let res = app.get("/api/scoped").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = body(res).await;
    assert!(page.contains("id=\"app-error\""), "{page}");
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("insufficient_scope")
    );
    assert!(
        element_text(&page, "message")
            .unwrap()
            .contains("orders:write")
    );
}

#[tokio::test]
async fn a_granted_scope_passes_the_guard_and_the_extractor_check() {
    let app = app_with_scopes(&["orders:read", "orders:write"]).await;
    app.login().await;
    let res = app.get_with("/api/scoped", &[JSON]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "scoped");
    let res = app.get_with("/api/scope-check", &[JSON]).await;
    assert_eq!(res.text().await.unwrap(), "scope ok");
}

#[tokio::test]
async fn a_provider_that_reports_no_scopes_fails_closed() {
    // The vcita mock without requested scopes answers none, like vcita.
    let app = TestApp::spawn().await;
    app.login().await;
    let (_, set) = tokens(&app).await;
    assert_eq!(set["scope"], Value::Null);
    let res = app.get_with("/api/scoped", &[JSON]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(challenge(&res).contains("scope=\"orders:write\""));
    // A header token resolved by userinfo carries no scope information either.
    let token = app.mock.issue_token();
    let res = app
        .new_browser()
        .get_with("/api/scoped", &[JSON, ("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn introspection_scopes_count_for_header_tokens() {
    let mock = MockProvider::apicbase().start().await.expect("mock");
    let provider = mock.provider().to_builder().scopes(["orders:write"]);
    let app = app_for(mock, provider.build().unwrap()).await;
    app.login().await;
    let (_, set) = tokens(&app).await;
    let token = set["access_token"].as_str().unwrap().to_owned();
    let api = app.new_browser();
    let res = api
        .get_with("/api/scoped", &[JSON, ("authorization", &bearer(&token))])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::OK,
        "introspection says orders:write"
    );

    let unscoped = MockProvider::apicbase().start().await.expect("mock");
    let provider = unscoped.provider();
    let app = app_for(unscoped, provider).await;
    app.login().await;
    let (_, set) = tokens(&app).await;
    let token = set["access_token"].as_str().unwrap().to_owned();
    let res = app
        .new_browser()
        .get_with("/api/scoped", &[JSON, ("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn unauthenticated_is_401_or_a_login_redirect_never_403() {
    let app = TestApp::spawn().await;
    for path in ["/api/scoped", "/owner"] {
        let res = app.get_with(path, &[JSON]).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
        assert_eq!(challenge(&res), "Bearer realm=\"app\"", "{path}");
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{path}");
        assert!(
            location(&res).starts_with("/auth/login?return_to="),
            "{path}"
        );
        // A token the provider refuses is 401 too.
        let res = app
            .get_with(path, &[JSON, ("authorization", "Bearer not-a-token")])
            .await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{path}");
    }
}

/// Logs `browser` in as `email` through the mock.
async fn login_as(browser: &Browser, email: &str) {
    let authorize = browser.start_login(None).await;
    let callback = bounded("mock login", browser.mock.authorize_as(email, &authorize))
        .await
        .expect("mock authorizes");
    let res = browser.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "login as {email}");
}

#[tokio::test]
async fn the_owner_page_is_for_vcita_owners_only() {
    let app = TestApp::spawn().await;
    login_as(&app, "owner@example.com").await;
    let res = app.get("/owner").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert!(element_text(&page, "owner-only").is_some(), "{page}");

    let staff = app.new_browser();
    login_as(&staff, MockUser::staff().email.as_str()).await;
    assert_eq!(
        staff.get("/").await.status(),
        StatusCode::OK,
        "staff is logged in"
    );
    let res = staff.get("/owner").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = body(res).await;
    assert!(
        page.contains("id=\"app-error\""),
        "the app's 403 page: {page}"
    );
    assert_eq!(element_text(&page, "code").as_deref(), Some("forbidden"));
    // Logged in but not allowed: no "Log in again" that would only come back here.
    assert!(!page.contains("id=\"retry\""), "{page}");
    let res = staff.get_with("/owner", &[JSON]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(challenge(&res), "", "a predicate is not a token problem");
    let body: Value = res.json().await.unwrap();
    assert_eq!(body["error"], "forbidden");

    // A staff token in a header: the same answer.
    let token = app.mock.issue_token_for("staff@example.com").unwrap();
    let res = app
        .new_browser()
        .get_with("/owner", &[JSON, ("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn an_owner_demoted_at_the_provider_loses_access_after_the_cache_ttl() {
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(60), 100)).await;
    login_as(&app, "owner@example.com").await;
    assert_eq!(app.get("/owner").await.status(), StatusCode::OK);

    let mut info = app.mock.user().info;
    info["role"] = "staff".into();
    app.mock
        .set_user_info("owner@example.com", info)
        .expect("a known user");
    // Still cached: the provider is not asked on every request.
    advance(&app, 30);
    assert_eq!(app.get("/owner").await.status(), StatusCode::OK);
    // Past the TTL the provider is asked again, and says "staff".
    advance(&app, 31);
    assert_eq!(app.get("/owner").await.status(), StatusCode::FORBIDDEN);
    // The session itself is intact: a demotion is not a logout.
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

/// One caller per request: a Bearer header counts first for the guard, `BearerUser` and
/// `AuthSession` alike, whatever session cookie came along.
#[tokio::test]
async fn the_guard_and_every_extractor_see_the_same_caller() {
    let app = TestApp::spawn().await;
    let owner_token = app.mock.issue_token_for("owner@example.com").unwrap();
    let staff_token = app.mock.issue_token_for("staff@example.com").unwrap();

    // An owner's cookie, a staff member's token: the token is the caller everywhere.
    login_as(&app, "owner@example.com").await;
    let staff_header = bearer(&staff_token);
    let headers = [JSON, ("authorization", staff_header.as_str())];
    let with_staff = |path| app.get_with(path, &headers);
    assert_eq!(with_staff("/owner").await.status(), StatusCode::FORBIDDEN);
    let me: Value = with_staff("/api/me").await.json().await.unwrap();
    assert_eq!(me["sub"], MockUser::staff().info["sub"], "BearerUser");
    let res = with_staff("/app-user").await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST, "AuthSession");
    assert!(
        challenge(&res).contains("error=\"invalid_request\""),
        "{}",
        challenge(&res)
    );
    let answer: Value = res.json().await.unwrap();
    assert!(
        answer["error_description"]
            .as_str()
            .unwrap()
            .contains("needs a login session"),
        "{answer}"
    );
    // `Option<AuthSession>`: the token's caller has no session.
    let res = app
        .send(
            app.http
                .client
                .post(app.url("/api/orders"))
                .header("authorization", bearer(&staff_token))
                .header("accept", "application/json"),
        )
        .await;
    assert_eq!(body(res).await, "anonymous order");
    // Without the header, the cookie is the caller again.
    assert_eq!(app.get("/owner").await.status(), StatusCode::OK);

    // A staff cookie, an owner's token: the guard lets the owner in, and the handler's
    // `AuthSession` never hands it the staff member's session.
    let staff = app.new_browser();
    login_as(&staff, MockUser::staff().email.as_str()).await;
    let res = staff
        .get_with("/owner", &[JSON, ("authorization", &bearer(&owner_token))])
        .await;
    assert_eq!(
        res.status(),
        StatusCode::BAD_REQUEST,
        "not the staff session"
    );
    assert_eq!(staff.get("/owner").await.status(), StatusCode::FORBIDDEN);
}

/// htmx 2 swaps no `4xx` answer: a refusal it received in place would leave the page as
/// it was ("loading…"). A guard's `403` tells htmx to go to the 403 page instead, which
/// is a page of its own; a `401` keeps its login `HX-Redirect`.
#[tokio::test]
async fn htmx_is_sent_to_a_visible_403_page() {
    let app = TestApp::spawn().await;
    let htmx = [
        ("hx-request", "true"),
        ("hx-current-url", "http://127.0.0.1/dashboard"),
    ];
    let res = app.get_with("/owner", &htmx).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["hx-redirect"]
            .to_str()
            .unwrap()
            .starts_with("/auth/login?return_to=%2Fdashboard")
    );

    let staff = app.new_browser();
    login_as(&staff, MockUser::staff().email.as_str()).await;
    let res = staff.get_with("/owner", &htmx).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert_eq!(res.headers()["hx-redirect"], "/auth/forbidden");
    // Where htmx sends the browser: the app's 403 page, without "Log in again".
    let res = staff.get("/auth/forbidden").await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    let page = body(res).await;
    assert!(page.contains("id=\"app-error\""), "{page}");
    assert_eq!(element_text(&page, "code").as_deref(), Some("forbidden"));
    assert!(!page.contains("id=\"retry\""), "{page}");
    // An API client's 403 is unchanged: JSON, no htmx header.
    let res = staff.get_with("/owner", &[JSON]).await;
    assert_eq!(res.status(), StatusCode::FORBIDDEN);
    assert!(res.headers().get("hx-redirect").is_none());
}
