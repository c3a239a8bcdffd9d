//! `BearerUser` and `RequireLogin` with `Authorization: Bearer`: RFC 6750 answers, the
//! single-flight user cache, provider outages (503, never 401) and refused session tokens.

use std::time::Duration;

use axum_oauth_login_mock::MockEndpoint;
use reqwest::StatusCode;
use reqwest::header::{RETRY_AFTER, WWW_AUTHENTICATE};

use crate::harness::*;
use crate::support::*;

fn challenge(res: &reqwest::Response) -> String {
    res.headers()
        .get(WWW_AUTHENTICATE)
        .expect("a WWW-Authenticate challenge")
        .to_str()
        .unwrap()
        .to_owned()
}

#[tokio::test]
async fn good_token_resolves_to_the_user() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(
        set_cookies(res.headers()).is_empty(),
        "no session for API calls"
    );
    let me = json(res).await;
    assert_eq!(me["business_name"], "Demo Salon");
    assert_eq!(me["sub"], "u-1001");
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 1);
}

#[tokio::test]
async fn unknown_token_is_invalid_token() {
    let app = TestApp::spawn().await;
    let res = app
        .get_with("/api/me", &[("authorization", "Bearer not-a-real-token")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let c = challenge(&res);
    assert!(
        c.starts_with(r#"Bearer realm="app", error="invalid_token""#),
        "{c}"
    );
    assert_eq!(json(res).await["error"], "invalid_token");
    // Refusals are remembered briefly: a flood of bad tokens is not a flood upstream.
    let res = app
        .get_with("/api/me", &[("authorization", "Bearer not-a-real-token")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 1);
}

#[tokio::test]
async fn no_credentials_is_a_bare_challenge() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&res), r#"Bearer realm="app""#);
    // Another scheme is not a Bearer credential at all.
    let res = app
        .get_with("/api/me", &[("authorization", "Basic dXNlcjpwdw==")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&res), r#"Bearer realm="app""#);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 0);
}

#[tokio::test]
async fn malformed_headers_are_invalid_request() {
    let app = TestApp::spawn().await;
    for header in ["Bearer", "Bearer a b", "Bearer a,b", "Bearer ==="] {
        let res = app.get_with("/api/me", &[("authorization", header)]).await;
        assert_eq!(res.status(), StatusCode::BAD_REQUEST, "{header:?}");
        let c = challenge(&res);
        assert!(
            c.starts_with(r#"Bearer realm="app", error="invalid_request""#),
            "{header:?}: {c}"
        );
    }
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn concurrent_first_requests_share_one_userinfo_call() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    app.mock
        .delay_next(MockEndpoint::Userinfo, 1, Duration::from_millis(200));
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..100 {
        let req = app
            .client
            .get(app.url("/api/me"))
            .header("authorization", bearer(&token));
        tasks.spawn(async move { req.send().await.map(|r| r.status()) });
    }
    let statuses = bounded("100 concurrent requests", tasks.join_all()).await;
    assert_eq!(statuses.len(), 100);
    for status in statuses {
        assert_eq!(status.expect("request succeeds"), StatusCode::OK);
    }
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 1, "single-flight");

    // Within the TTL: from the cache.
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 1, "cached");
}

#[tokio::test]
async fn cache_entries_expire_with_the_ttl() {
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(60), 100)).await;
    let token = app.mock.issue_token();
    let auth = [("authorization", bearer(&token))];
    let auth: Vec<(&str, &str)> = auth.iter().map(|(k, v)| (*k, v.as_str())).collect();
    assert_eq!(
        app.get_with("/api/me", &auth).await.status(),
        StatusCode::OK
    );
    app.clock.advance(Duration::from_secs(59));
    assert_eq!(
        app.get_with("/api/me", &auth).await.status(),
        StatusCode::OK
    );
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 1);
    app.clock.advance(Duration::from_secs(2));
    assert_eq!(
        app.get_with("/api/me", &auth).await.status(),
        StatusCode::OK
    );
    assert_eq!(
        app.mock.hits(MockEndpoint::Userinfo),
        2,
        "asked again after the TTL"
    );
}

#[tokio::test]
async fn provider_down_is_503_never_401() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    let auth = bearer(&token);
    for status in [503, 500, 502] {
        app.mock.fail_next(MockEndpoint::Userinfo, 1, status);
        let res = app.get_with("/api/me", &[("authorization", &auth)]).await;
        assert_eq!(
            res.status(),
            StatusCode::SERVICE_UNAVAILABLE,
            "upstream {status}"
        );
        assert!(res.headers().contains_key(RETRY_AFTER));
        assert!(!res.headers().contains_key(WWW_AUTHENTICATE));
    }
    // Failures are not cached: once the provider is back, the token works.
    let res = app.get_with("/api/me", &[("authorization", &auth)]).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 4);
}

#[tokio::test]
async fn provider_timeout_is_503() {
    let app = TestApp::spawn_with(|b| b.http_timeout(Duration::from_millis(300))).await;
    let token = app.mock.issue_token();
    app.mock
        .delay_next(MockEndpoint::Userinfo, 1, Duration::from_secs(3));
    let started = std::time::Instant::now();
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key(RETRY_AFTER));
    assert!(
        started.elapsed() < Duration::from_secs(2),
        "bounded by http_timeout"
    );
}

#[tokio::test]
async fn refused_session_token_ends_the_session() {
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(60), 100)).await;
    app.login().await;
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);

    app.mock.revoke_all();
    // Still cached: the provider is not asked yet.
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(61));
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&res).contains(r#"error="invalid_token""#));
    let removal = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session cookie removed");
    assert!(has_attr(&removal, "Max-Age=0"), "{removal}");
    assert!(app.session_cookie().is_none());
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn cached_user_never_outlives_the_token() {
    // Cache TTL 5 min, token lifetime 100 s, no refresh token (vcita): after 101 s the
    // session ends without asking the provider — the token is known to be dead.
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(300), 100)).await;
    app.mock.set_token_lifetime(Duration::from_secs(100));
    app.login().await;
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    let hits = app.mock.hits(MockEndpoint::Userinfo);
    app.clock.advance(Duration::from_secs(101));
    app.mock.advance_clock(Duration::from_secs(101));
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), hits);
    assert!(
        app.session_cookie().is_none(),
        "the dead session is removed"
    );
}

#[tokio::test]
async fn provider_down_keeps_the_session() {
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(60), 100)).await;
    app.login().await;
    app.clock.advance(Duration::from_secs(61));
    app.mock.fail_next(MockEndpoint::Userinfo, 1, 503);
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    assert!(
        app.session_cookie().is_some(),
        "an outage does not log anyone out"
    );
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn optional_bearer_user() {
    let app = TestApp::spawn().await;
    let res = app.get("/api/maybe").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "anonymous");

    let token = app.mock.issue_token();
    let res = app
        .get_with("/api/maybe", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "user Demo Salon");

    // Bad credentials are not "anonymous".
    let res = app
        .get_with("/api/maybe", &[("authorization", "Bearer unknown")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    let res = app
        .get_with("/api/maybe", &[("authorization", "Bearer")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
}

#[tokio::test]
async fn require_login_accepts_bearer_headers() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    // `/api/me-required`: the example's `/api/me` handler (`BearerUser`) behind
    // `require_login` (the example's `/me` page needs a session, not just a token).
    let res = app
        .get_with("/api/me-required", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["business_name"], "Demo Salon");
    assert_eq!(
        app.mock.hits(MockEndpoint::Userinfo),
        1,
        "RequireLogin and BearerUser share one resolution"
    );

    let res = app
        .get_with("/me", &[("authorization", "Bearer unknown")])
        .await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(challenge(&res).contains(r#"error="invalid_token""#));
    let res = app
        .get_with("/me", &[("authorization", "Bearer a b")])
        .await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);

    // API clients without credentials get 401, browsers a redirect.
    let res = app.get_with("/me", &[("accept", "application/json")]).await;
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(challenge(&res), r#"Bearer realm="app""#);
    let res = app.get_with("/me", &[("accept", "text/html")]).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn other_authorization_schemes_are_not_api_calls() {
    // A staging site behind Basic auth: browsers still get the login redirect, and a
    // logged-in browser passes without a provider round trip.
    let app = TestApp::spawn().await;
    let basic = [("authorization", "Basic dXNlcjpwYXNz")];
    let res = app.get_with("/me", &basic).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    app.login().await;
    let before = app.mock.hits(MockEndpoint::Userinfo);
    app.mock.fail_next(MockEndpoint::Userinfo, 5, 503);
    let res = app.get_with("/me", &basic).await;
    // /me shows the session's login snapshot: no upstream call.
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), before);
}

#[tokio::test]
async fn oversized_bearer_tokens_are_refused_without_an_upstream_call() {
    let app = TestApp::spawn().await;
    let header = format!("Bearer {}", "a".repeat(5000));
    let res = app.get_with("/api/me", &[("authorization", &header)]).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn upstream_lookups_beyond_the_limit_wait_their_turn() {
    // One lookup at a time: two new tokens at once are resolved one after the other.
    let app = TestApp::spawn_with(|b| b.max_concurrent_lookups(1)).await;
    let (a, b) = (app.mock.issue_token(), app.mock.issue_token());
    app.mock
        .delay_next(MockEndpoint::Userinfo, 2, Duration::from_millis(600));
    let (ha, hb) = (format!("Bearer {a}"), format!("Bearer {b}"));
    let (ha, hb) = (
        [("authorization", ha.as_str())],
        [("authorization", hb.as_str())],
    );
    let start = std::time::Instant::now();
    let (ra, rb) = tokio::join!(app.get_with("/api/me", &ha), app.get_with("/api/me", &hb));
    assert_eq!(ra.status(), StatusCode::OK);
    assert_eq!(rb.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 2);
    // In parallel they would take ~0.6 s; one at a time at least 1.2 s.
    assert!(
        start.elapsed() >= Duration::from_millis(1200),
        "{:?}",
        start.elapsed()
    );
}

/// The hot path: a user is parsed into the app's type once per resolved answer, not per
/// request — for a header token (the cache entry's parse) and for the session (the
/// session value keeps what it resolved; no cache lookup either).
#[tokio::test]
async fn the_users_type_is_parsed_once_per_answer_not_per_request() {
    use std::sync::atomic::Ordering;

    use crate::support::app::COUNTED_PARSES;

    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    // The only test on this route: counted by difference.
    let before = COUNTED_PARSES.load(Ordering::SeqCst);
    for _ in 0..5 {
        let res = app
            .get_with("/api/counted", &[("authorization", &bearer(&token))])
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(
        COUNTED_PARSES.load(Ordering::SeqCst) - before,
        1,
        "header token"
    );

    app.login().await;
    let before = COUNTED_PARSES.load(Ordering::SeqCst);
    let userinfo = app.mock.hits(MockEndpoint::Userinfo);
    for _ in 0..5 {
        let res = app.get("/api/counted").await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    assert_eq!(COUNTED_PARSES.load(Ordering::SeqCst) - before, 1, "session");
    assert!(app.mock.hits(MockEndpoint::Userinfo) <= userinfo + 1);
}

#[tokio::test]
async fn the_user_cache_stays_within_its_bound_and_says_how_full_it_is() {
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(60), 10)).await;
    assert_eq!(app.oauth.cached_users().await, 0);
    let first = app.mock.issue_token();
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&first))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.oauth.cached_users().await, 1);
    // Three times the capacity in distinct tokens: every one resolves, the cache keeps
    // no more than its bound.
    for _ in 0..30 {
        let token = app.mock.issue_token();
        let res = app
            .get_with("/api/me", &[("authorization", &bearer(&token))])
            .await;
        assert_eq!(res.status(), StatusCode::OK);
    }
    let held = app.oauth.cached_users().await;
    assert!((1..=10).contains(&held), "{held} entries for a bound of 10");
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 31);
}
