//! Property: any bytes as the session cookie mean "no session" or a valid session —
//! never a panic, never a 500 — through the public API: `oauth.layer()` around a route
//! taking `Option<AuthSession>`, called with `oneshot`. The cookies are garbage (cookie
//! octets and any other header bytes) and mutations of a genuine sealed session.

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_oauth_login::AuthSession;
use http::header::{COOKIE, SET_COOKIE};
use http::{HeaderValue, Request, StatusCode};
use proptest::prelude::*;
use proptest::test_runner::{Config, TestRunner};
use tower::ServiceExt as _;

use crate::harness::*;
use crate::support::example::AppUser;

fn config() -> Config {
    Config {
        cases: std::env::var("PROPTEST_CASES")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(256),
        failure_persistence: None,
        ..Config::default()
    }
}

async fn probe(session: Option<AuthSession<AppUser>>) -> String {
    match session {
        Some(s) => format!("session:{}", s.tokens().access_token().secret()),
        None => "none".to_owned(),
    }
}

/// RFC 6265 `cookie-octet`s.
fn cookie_octets() -> impl Strategy<Value = String> {
    "[!#-+\\--:<-\\[\\]-~]{0,120}"
}

/// Any byte a header value may hold: visible ASCII, space, tab, and obs-text (0x80..).
fn header_byte() -> impl Strategy<Value = u8> {
    any::<u8>().prop_filter("a header byte", |b| {
        *b == b'\t' || (*b >= 0x20 && *b != 0x7f)
    })
}

/// How a cookie header is put together around the value under test.
fn header_around(value: impl Strategy<Value = Vec<u8>>) -> impl Strategy<Value = Vec<u8>> {
    let shape = prop::sample::select(
        &[
            "{s}={v}",
            "other=1; {s}={v}",
            "{s}={v}; {s}=second",
            "{s}=\"{v}\"",
            " {s} = {v} ;",
            "{s}={v}; {s}.1={v}",
            "{s}.1={v}",
            "{v}",
        ][..],
    );
    (shape, value).prop_map(|(shape, value)| {
        let (before, after) = shape.split_once("{v}").unwrap();
        let mut out = before.replace("{s}", SESSION_COOKIE).into_bytes();
        out.extend_from_slice(&value);
        out.extend_from_slice(after.replace("{s}", SESSION_COOKIE).as_bytes());
        out
    })
}

/// A genuine sealed value, mutated: bytes flipped, cut, extended, re-chunked.
fn mutated(sealed: String) -> impl Strategy<Value = Vec<u8>> {
    let edits = prop::collection::vec((0u8..5, any::<prop::sample::Index>(), header_byte()), 0..4);
    edits.prop_map(move |edits| {
        let mut v = sealed.clone().into_bytes();
        for (kind, at, byte) in edits {
            let i = at.index(v.len().max(1)).min(v.len());
            match kind {
                0 if i < v.len() => v[i] = byte,
                0 | 1 => v.insert(i, byte),
                2 => v.truncate(i),
                3 if i < v.len() => v[i] ^= 1 << (byte % 8),
                _ => v.extend_from_within(..i),
            }
        }
        v
    })
}

#[test]
fn any_session_cookie_is_no_session_or_a_valid_one() {
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    // One real login against the mock, for a genuine sealed session to mutate.
    let (app, sealed) = rt.block_on(async {
        let app = TestApp::spawn().await;
        app.login().await;
        let sealed = app.session_cookie().expect("a session cookie");
        (app, sealed)
    });
    let router = Router::new()
        .route("/probe", get(probe))
        .layer(app.oauth.layer());

    let call = |cookie: &[u8]| -> Option<(StatusCode, String, Vec<HeaderValue>)> {
        let value = HeaderValue::from_bytes(cookie).ok()?;
        let req = Request::get("/probe")
            .header(COOKIE, value)
            .body(Body::empty())
            .unwrap();
        Some(rt.block_on(async {
            let res = router.clone().oneshot(req).await.unwrap();
            let status = res.status();
            let set_cookies = res.headers().get_all(SET_COOKIE).iter().cloned().collect();
            let body = axum::body::to_bytes(res.into_body(), 64 * 1024)
                .await
                .unwrap();
            (
                status,
                String::from_utf8_lossy(&body).into_owned(),
                set_cookies,
            )
        }))
    };

    // The property can tell the two outcomes apart: the genuine cookie is a session.
    let genuine = format!("{SESSION_COOKIE}={sealed}");
    let (status, body, _) = call(genuine.as_bytes()).unwrap();
    assert_eq!(status, StatusCode::OK);
    assert!(body.starts_with("session:"), "{body}");
    let expected = body;

    let strategy = prop_oneof![
        1 => header_around(cookie_octets().prop_map(String::into_bytes)),
        1 => header_around(prop::collection::vec(header_byte(), 0..200)),
        1 => prop::collection::vec(header_byte(), 0..200),
        1 => prop::collection::vec(any::<u8>(), 0..40),
        2 => header_around(mutated(sealed.clone())),
    ];
    let mut runner = TestRunner::new(config());
    let result = runner.run(&strategy, |cookie| {
        let Some((status, body, set_cookies)) = call(&cookie) else {
            // Not a valid header value: no client can send it.
            return Ok(());
        };
        prop_assert_eq!(
            status,
            StatusCode::OK,
            "{:?}",
            String::from_utf8_lossy(&cookie)
        );
        prop_assert!(
            body == "none" || body == expected,
            "{:?} -> {:?}",
            String::from_utf8_lossy(&cookie),
            body
        );
        for set_cookie in set_cookies {
            let text = set_cookie.to_str().unwrap_or_default();
            prop_assert!(text.starts_with(SESSION_COOKIE), "{:?}", text);
        }
        Ok(())
    });
    drop(app);
    if let Err(e) = result {
        panic!("{e}");
    }
}
