//! The session cookie: unreadable ones mean "logged out" (and are removed), attributes on
//! http and https, and no `Set-Cookie` on requests that did not touch the session.

use std::time::Duration;

use axum_oauth_login_mock::{MockClient, MockProvider};
use reqwest::StatusCode;
use reqwest::header::COOKIE;
use url::Url;

use crate::harness::*;
use crate::support::*;

/// A client without a cookie jar: cookies are sent by hand.
fn bare_client() -> reqwest::Client {
    crate::support::client_builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(STEP_TIMEOUT)
        .build()
        .unwrap()
}

async fn get_with_cookie(app: &TestApp, path: &str, cookie: &str) -> reqwest::Response {
    // A browser navigation (the crate redirects those to the login page).
    let req = bare_client()
        .get(app.url(path))
        .header(COOKIE, cookie)
        .header("sec-fetch-mode", "navigate");
    app.send(req).await
}

fn assert_removed(res: &reqwest::Response, name: &str) {
    let set = set_cookie_for(res.headers(), name)
        .unwrap_or_else(|| panic!("{name} is removed; got {:?}", set_cookies(res.headers())));
    assert!(has_attr(&set, "Max-Age=0"), "{set}");
    assert_eq!(cookie_value(&set), "");
}

#[tokio::test]
async fn unreadable_session_cookies_mean_logged_out() {
    let app = TestApp::spawn().await;
    app.login().await;
    let good = app.session_cookie().unwrap();
    let res = get_with_cookie(&app, "/me", &format!("{SESSION_COOKIE}={good}")).await;
    assert_eq!(res.status(), StatusCode::OK, "the genuine cookie works");
    assert!(set_cookies(res.headers()).is_empty());

    let mut flipped = good.clone().into_bytes();
    let mid = flipped.len() / 2;
    flipped[mid] = if flipped[mid] == b'A' { b'B' } else { b'A' };
    let flipped = String::from_utf8(flipped).unwrap();

    let other = TestApp::spawn().await;
    other.login().await;
    let foreign = other.session_cookie().unwrap();

    let bad = [
        ("tampered", flipped),
        ("truncated", good[..good.len() - 10].to_owned()),
        ("another app's key", foreign),
        ("garbage", "not-a-session".to_owned()),
        ("huge", "A".repeat(9000)),
    ];
    for (what, value) in &bad {
        let cookie = format!("{SESSION_COOKIE}={value}");
        let res = get_with_cookie(&app, "/me", &cookie).await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "{what}: /me");
        assert_eq!(location(&res), "/auth/login?return_to=%2Fme", "{what}");
        assert_removed(&res, SESSION_COOKIE);

        let res = get_with_cookie(&app, "/api/me", &cookie).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{what}: /api/me");
        assert_removed(&res, SESSION_COOKIE);

        let res = get_with_cookie(&app, "/", &cookie).await;
        assert_eq!(res.status(), StatusCode::OK, "{what}: /");
        assert_removed(&res, SESSION_COOKIE);
        let home = body(res).await;
        assert!(element_text(&home, "login").is_some(), "{what}: {home}");
        assert!(element_text(&home, "greeting").is_none(), "{what}: {home}");
    }

    // The jar-based browser: a tampered cookie is replaced by nothing.
    let url = Url::parse(&app.url("/")).unwrap();
    app.jar
        .add_cookie_str(&format!("{SESSION_COOKIE}=garbage; Path=/"), &url);
    assert_eq!(app.get("/me").await.status(), StatusCode::SEE_OTHER);
    assert!(
        app.session_cookie().is_none(),
        "the browser dropped the bad cookie"
    );
}

#[tokio::test]
async fn expired_session_means_logged_out() {
    let app = TestApp::spawn_with(|b| b.session_lifetime(Duration::from_secs(120))).await;
    app.login().await;
    app.clock.advance(Duration::from_secs(119));
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
    app.clock.advance(Duration::from_secs(1));
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_removed(&res, SESSION_COOKIE);
}

#[tokio::test]
async fn cookie_attributes_on_http() {
    let app = TestApp::spawn().await;
    let res = app.get("/auth/login").await;
    let flow = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("oauth_session_flow_"))
        .expect("a flow cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/auth", "Max-Age=600"] {
        assert!(has_attr(&flow, attr), "flow cookie lacks {attr}: {flow}");
    }
    assert!(!has_attr(&flow, "Secure"), "{flow}");

    let callback = app.authorize(&location(&res)).await;
    let res = app.callback(&callback).await;
    let session = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session cookie");
    for attr in ["HttpOnly", "SameSite=Lax", "Path=/", "Max-Age=604800"] {
        assert!(
            has_attr(&session, attr),
            "session cookie lacks {attr}: {session}"
        );
    }
    assert!(!has_attr(&session, "Secure"), "{session}");
    assert!(
        !session.to_ascii_lowercase().contains("domain="),
        "{session}"
    );
    assert!(
        !session.contains('%'),
        "base64 values are not percent-encoded"
    );
}

#[tokio::test]
async fn custom_session_lifetime_sets_max_age() {
    let app = TestApp::spawn_with(|b| b.session_lifetime(Duration::from_secs(3600))).await;
    let res = app.complete_login(None).await;
    let session = set_cookie_for(res.headers(), SESSION_COOKIE).expect("session cookie");
    assert!(has_attr(&session, "Max-Age=3600"), "{session}");
}

const HTTPS_CALLBACK: &str = "https://app.example.test/auth/callback";

#[tokio::test]
async fn https_uses_secure_prefixed_cookies() {
    let mock = bounded(
        "starting the mock",
        MockProvider::builder()
            .default_client(MockClient {
                redirect_uris: vec![HTTPS_CALLBACK.to_owned()],
                ..MockClient::new("https-app", "https-secret")
            })
            .start(),
    )
    .await
    .unwrap();
    let app = TestApp::spawn_with_mock(mock, |b| b.redirect_uri(HTTPS_CALLBACK)).await;
    let http = bare_client();

    let res = app
        .send(http.get(app.url("/auth/login?return_to=%2Fme")))
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let flow = set_cookies(res.headers())
        .into_iter()
        .find(|c| c.starts_with("__Host-oauth_session_flow_"))
        .expect("a __Host- flow cookie");
    for attr in ["Secure", "HttpOnly", "SameSite=Lax", "Path=/"] {
        assert!(has_attr(&flow, attr), "flow cookie lacks {attr}: {flow}");
    }
    let authorize = Url::parse(&location(&res)).unwrap();
    assert_eq!(
        query_param(&authorize, "redirect_uri").as_deref(),
        Some(HTTPS_CALLBACK)
    );

    let callback = app.authorize(authorize.as_str()).await;
    assert!(callback.as_str().starts_with(HTTPS_CALLBACK), "{callback}");
    let flow_pair = flow.split(';').next().unwrap().to_owned();
    let res = app
        .send(
            http.get(app.url(&path_and_query(&callback)))
                .header(COOKIE, &flow_pair),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/me");
    let session =
        set_cookie_for(res.headers(), "__Host-oauth_session").expect("a __Host- session cookie");
    for attr in [
        "Secure",
        "HttpOnly",
        "SameSite=Lax",
        "Path=/",
        "Max-Age=604800",
    ] {
        assert!(
            has_attr(&session, attr),
            "session cookie lacks {attr}: {session}"
        );
    }
    assert!(
        !session.to_ascii_lowercase().contains("domain="),
        "{session}"
    );
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    let flow_name = flow_pair.split_once('=').unwrap().0;
    let removal = set_cookie_for(res.headers(), flow_name).expect("flow cookie removed");
    assert!(
        has_attr(&removal, "Max-Age=0") && has_attr(&removal, "Secure"),
        "{removal}"
    );

    // The session works under its prefixed name, and only under it.
    let value = cookie_value(&session);
    let res = get_with_cookie(&app, "/me", &format!("__Host-oauth_session={value}")).await;
    assert_eq!(res.status(), StatusCode::OK);
    let res = get_with_cookie(&app, "/me", &format!("{SESSION_COOKIE}={value}")).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
}

#[tokio::test]
async fn untouched_requests_get_no_set_cookie() {
    let app = TestApp::spawn().await;
    for path in ["/", "/health", "/api/maybe", "/nowhere"] {
        let res = app.get(path).await;
        assert!(
            set_cookies(res.headers()).is_empty(),
            "{path}: {:?}",
            set_cookies(res.headers())
        );
    }
    // The health route is outside the layer: even a bad cookie is left alone.
    let res = get_with_cookie(&app, "/health", &format!("{SESSION_COOKIE}=garbage")).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert!(set_cookies(res.headers()).is_empty());
    // A route that never looks at the session does not decrypt or remove anything.
    let res = get_with_cookie(&app, "/nowhere", &format!("{SESSION_COOKIE}=garbage")).await;
    assert!(set_cookies(res.headers()).is_empty());

    // Logged in: reading the session does not rewrite its cookie.
    app.login().await;
    for path in ["/", "/me", "/api/me", "/health"] {
        let res = app.get(path).await;
        assert_eq!(res.status(), StatusCode::OK, "{path}");
        assert!(set_cookies(res.headers()).is_empty(), "{path}");
    }
}
