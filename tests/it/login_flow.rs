//! The whole login flow through the app: protected page → login → provider → callback →
//! session → logout; session rotation; concurrent logins; the pending-login cap.

use std::time::Duration;

use axum_oauth_login_mock::MockEndpoint;
use reqwest::StatusCode;
use reqwest::header::{CACHE_CONTROL, REFERRER_POLICY};
use url::Url;

use crate::harness::*;
use crate::support::*;

#[tokio::test]
async fn protected_page_login_logout_round_trip() {
    let app = TestApp::spawn().await;

    // Not logged in: the protected page sends the browser to the login route.
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/auth/login?return_to=%2Fme");

    // The login route sends it on to the provider with state and PKCE S256.
    let res = app.get("/auth/login?return_to=%2Fme").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(res.headers()[CACHE_CONTROL], "no-store");
    let authorize = Url::parse(&location(&res)).expect("absolute authorize URL");
    assert_eq!(
        format!(
            "{}{}",
            authorize.origin().ascii_serialization(),
            authorize.path()
        ),
        format!("{}/app/oauth/authorize", app.mock.base_url())
    );
    let state = query_param(&authorize, "state").expect("state");
    assert!(state.len() >= 22, "state has at least 128 bits: {state}");
    assert!(query_param(&authorize, "code_challenge").is_some_and(|c| c.len() == 43));
    assert_eq!(
        query_param(&authorize, "code_challenge_method").as_deref(),
        Some("S256")
    );
    assert_eq!(
        query_param(&authorize, "response_type").as_deref(),
        Some("code")
    );
    assert_eq!(
        query_param(&authorize, "client_id").as_deref(),
        Some(app.mock.client_id())
    );
    assert_eq!(
        query_param(&authorize, "redirect_uri"),
        Some(format!(
            "http://127.0.0.1:{}/auth/callback",
            app.addr.port()
        ))
    );
    assert_eq!(app.flow_cookies().len(), 1, "one flow cookie per login");

    // The provider logs the user in and sends them back with code, state and iss.
    let callback = app.authorize(authorize.as_str()).await;
    assert_eq!(query_param(&callback, "state"), Some(state));
    assert!(query_param(&callback, "code").is_some());
    assert_eq!(query_param(&callback, "iss"), Some(app.mock.base_url()));
    assert_eq!(app.mock.hits(MockEndpoint::Token), 0);

    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/me", "return_to is honoured");
    assert_eq!(res.headers()[CACHE_CONTROL], "private, no-store");
    assert_eq!(res.headers()[REFERRER_POLICY], "no-referrer");
    assert_eq!(app.mock.hits(MockEndpoint::Token), 1, "one code exchange");
    assert!(app.session_cookie().is_some());
    assert!(app.flow_cookies().is_empty(), "the flow cookie is spent");

    // Logged in: the protected page (the login snapshot), the API and the home page know
    // the user.
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let page = body(res).await;
    assert_eq!(element_text(&page, "name").as_deref(), Some("Demo Salon"));
    assert_eq!(
        element_text(&page, "email").as_deref(),
        Some("owner@example.com")
    );
    assert_eq!(
        element_text(&page, "provider").as_deref(),
        Some(app.mock.provider().name())
    );
    let logged_in_at = element_text(&page, "logged-in-at").expect("a login time");
    // A date and time people read, the app clock's "now" (the mock's login happened at it).
    let now = std::time::UNIX_EPOCH + std::time::Duration::from_secs(app.clock.now());
    assert_eq!(logged_in_at, httpdate::fmt_http_date(now));
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    let me = json(res).await;
    assert_eq!(me["business_name"], "Demo Salon");
    assert_eq!(me["email"], "owner@example.com");
    let res = app.get("/").await;
    assert_eq!(res.status(), StatusCode::OK);
    let home = body(res).await;
    assert_eq!(
        element_text(&home, "greeting").as_deref(),
        Some("Hello, Demo Salon")
    );
    assert_eq!(
        Form::parse(&home).map(|f| f.action).as_deref(),
        Some("/auth/logout"),
        "the logout button posts to the logout route"
    );

    // Logout ends the session.
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/");
    let removal = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session cookie removed");
    assert!(has_attr(&removal, "Max-Age=0"), "{removal}");
    assert!(app.session_cookie().is_none());
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/auth/login?return_to=%2Fme");
    let home = body(app.get("/").await).await;
    assert_eq!(element_text(&home, "greeting"), None, "{home}");
    assert_eq!(
        element_text(&home, "login").as_deref(),
        Some("Log in with vcita")
    );
    assert_eq!(app.mock.hits(MockEndpoint::Token), 1);
}

#[tokio::test]
async fn return_to_keeps_the_query_string() {
    let app = TestApp::spawn().await;
    let res = app.get("/me?tab=2").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let login = location(&res);
    assert_eq!(login, "/auth/login?return_to=%2Fme%3Ftab%3D2");

    let res = app.get(&login).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let callback = app.authorize(&location(&res)).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/me?tab=2");
    assert_eq!(app.get("/me?tab=2").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn every_login_starts_a_new_session() {
    let app = TestApp::spawn().await;
    app.login().await;
    let first = app.session_cookie().expect("first session");
    assert_eq!(app.mock.hits(MockEndpoint::Token), 1);

    // Logging in again while logged in: the callback writes a new session cookie.
    let res = app.complete_login(Some("/")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let set = set_cookie_for(res.headers(), SESSION_COOKIE).expect("callback sets a session");
    assert!(!has_attr(&set, "Max-Age=0"), "{set}");
    let second = cookie_value(&set);
    assert_ne!(first, second, "session rotated at login");
    assert_eq!(app.session_cookie(), Some(second));
    assert_eq!(
        app.mock.hits(MockEndpoint::Token),
        2,
        "one code exchange per login"
    );
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

#[tokio::test]
async fn two_tabs_can_finish_in_either_order() {
    let app = TestApp::spawn().await;
    for newer_first in [true, false] {
        let tab = app.new_browser();
        let a = tab.start_login(Some("/a")).await;
        let b = tab.start_login(Some("/b")).await;
        assert_eq!(tab.flow_cookies().len(), 2, "one flow cookie per tab");
        let cb_a = tab.authorize(&a).await;
        let cb_b = tab.authorize(&b).await;

        let order = if newer_first {
            [(&cb_b, "/b"), (&cb_a, "/a")]
        } else {
            [(&cb_a, "/a"), (&cb_b, "/b")]
        };
        for (i, (callback, target)) in order.into_iter().enumerate() {
            let res = tab.callback(callback).await;
            assert_eq!(res.status(), StatusCode::SEE_OTHER, "callback {target}");
            assert_eq!(location(&res), target);
            assert_eq!(
                tab.flow_cookies().len(),
                1 - i,
                "only its own flow is spent"
            );
        }
        assert_eq!(tab.get("/me").await.status(), StatusCode::OK);
    }
    assert_eq!(app.mock.hits(MockEndpoint::Token), 4);
}

#[tokio::test]
async fn pending_logins_are_capped_oldest_first() {
    let app = TestApp::spawn_with(|b| b.max_pending_logins(2)).await;
    let mut urls = Vec::new();
    for i in 0..5 {
        urls.push(app.start_login(Some(&format!("/tab{i}"))).await);
        assert!(app.flow_cookies().len() <= 2, "at most 2 flow cookies");
        // Later logins are strictly newer.
        app.clock.advance(Duration::from_secs(1));
    }
    assert_eq!(app.flow_cookies().len(), 2);

    // The dropped (oldest) login cannot complete: no flow cookie for its state.
    let oldest = app.authorize(&urls[0]).await;
    let res = app.callback(&oldest).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    let dropped = app.authorize(&urls[2]).await;
    assert_eq!(
        app.callback(&dropped).await.status(),
        StatusCode::BAD_REQUEST
    );
    assert_eq!(app.mock.hits(MockEndpoint::Token), 0);

    // The newest ones still work.
    let newest = app.authorize(&urls[4]).await;
    let res = app.callback(&newest).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/tab4");
    let previous = app.authorize(&urls[3]).await;
    let res = app.callback(&previous).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/tab3");
    assert!(app.flow_cookies().is_empty());
    assert_eq!(app.mock.hits(MockEndpoint::Token), 2);
}

/// The flow cookie's name for an authorize URL: the prefix and 16 hex digits of
/// SHA-256(state), as `routes::FlowConfig::cookie_name` builds it.
fn flow_name(authorize: &str) -> String {
    use sha2::Digest as _;
    let url = Url::parse(authorize).expect("authorize URL");
    let state = query_param(&url, "state").expect("state");
    let digest = sha2::Sha256::digest(state.as_bytes());
    let hex: String = digest[..8].iter().map(|b| format!("{b:02x}")).collect();
    format!("oauth_session_flow_{hex}")
}

#[tokio::test]
async fn cap_drops_the_oldest_even_within_one_second() {
    // Browsers start logins faster than once a second (double clicks, several tabs):
    // the cap must still drop the oldest login, not the one started just before the new
    // one. The clock does not move here, so both pending logins have the same
    // `started_at` second; pick a pair whose cookie names sort newest-first, so that a
    // tie broken by name (instead of by age) shows.
    let app = TestApp::spawn_with(|b| b.max_pending_logins(2)).await;
    let mut found = None;
    for _ in 0..64 {
        let tab = app.new_browser();
        let first = tab.start_login(Some("/1")).await;
        let second = tab.start_login(Some("/2")).await;
        let names = tab.flow_cookies();
        assert!(names.contains(&flow_name(&first)) && names.contains(&flow_name(&second)));
        if flow_name(&second) < flow_name(&first) {
            found = Some((tab, first, second));
            break;
        }
    }
    let (tab, first, second) = found.expect("a pair within 64 tries");
    let _third = tab.start_login(Some("/3")).await;
    let left = tab.flow_cookies();
    assert_eq!(left.len(), 2);
    assert!(
        left.contains(&flow_name(&second)) && !left.contains(&flow_name(&first)),
        "the second login was dropped instead of the oldest: {left:?}"
    );
    let cb = tab.authorize(&second).await;
    assert_eq!(tab.callback(&cb).await.status(), StatusCode::SEE_OTHER);
}

/// Review defect 5: forced navigations to `/auth/login?return_to=<2 KB>` must not plant
/// ~15 KB of flow cookies that every request then carries. The live flow cookies stay
/// within ~4 KB, the oldest dropped first, and the newest login keeps its deep link.
#[tokio::test]
async fn flow_cookies_stay_within_a_byte_budget() {
    let app = TestApp::spawn().await;
    let deep = |i: usize| format!("/reports/{i}?q={}", "x".repeat(1900));
    let mut authorize = String::new();
    for i in 0..5 {
        authorize = app.start_login(Some(&deep(i))).await;
        let bytes: usize = app
            .cookies()
            .iter()
            .filter(|(n, _)| n.contains("_flow_"))
            .map(|(n, v)| n.len() + v.len() + 3)
            .sum();
        assert!(
            bytes <= 4096,
            "after login {i}: {bytes} bytes of flow cookies"
        );
    }
    assert_eq!(
        app.flow_cookies().len(),
        1,
        "only the newest long flow fits"
    );
    let callback = app.authorize(&authorize).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), deep(4), "the newest deep link survives");
}
