//! Where sessions live. One flow suite ([`flows`]) runs against every backend — the
//! browser's encrypted cookie (no store), [`MemoryStore`], `FileStore` in a directory of
//! the test's own, `RedisStore` on a real `redis-server`, and SQLite through
//! `TowerSessionsStore` — and then what only a shared
//! server-side store does ([`shared_redis`]): two instances with one session and one
//! refresh, records sealed at rest, and a Redis outage that is a `503`, never a logout.
//!
//! Time never passes for real: the app's manual clock and the mock's clock move together
//! (`advance`). Redis tests start their own server (`tests/support/redis.rs`) and are
//! skipped, loudly, where `redis-server` is not installed (never on CI).
//!
//! ```text
//! cargo test --all-features --test it stores
//! ```

use std::time::Duration;

use axum_oauth_login::CookieKey;
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::{Response, StatusCode};
use serde_json::{Value, json};

use crate::harness::*;
use crate::support::{body, bounded, element_text};

mod backend;
mod flows;
#[cfg(feature = "redis")]
mod shared_redis;
#[cfg(feature = "redis")]
mod shared_users;

use backend::{Backend, Kind, spawn};

// ---------------------------------------------------------------------------------------
// Helpers
// ---------------------------------------------------------------------------------------

/// `GET /tokens` with exactly this session cookie value (the browser's jar should be
/// empty: a copy of the cookie, as another device or an attacker would send it).
async fn tokens_with(browser: &Browser, session_cookie: &str) -> Response {
    browser
        .get_with("/tokens", &[("cookie", &session_header(session_cookie))])
        .await
}

async fn read_tokens(res: Response) -> (StatusCode, Value) {
    let status = res.status();
    let body = bounded("reading /tokens", res.json::<Value>())
        .await
        .unwrap_or(Value::Null);
    (status, body)
}

fn session_header(value: &str) -> String {
    format!("{SESSION_COOKIE}={value}")
}

fn str_of<'a>(v: &'a Value, field: &str) -> &'a str {
    v[field]
        .as_str()
        .unwrap_or_else(|| panic!("{field} in {v}"))
}

/// The response removes cookie `name` (`Max-Age=0`, empty value).
fn assert_removed(res: &Response, name: &str) {
    let set = set_cookie_for(res.headers(), name)
        .unwrap_or_else(|| panic!("{name} is removed; got {:?}", set_cookies(res.headers())));
    assert!(has_attr(&set, "Max-Age=0"), "{set}");
    assert_eq!(cookie_value(&set), "", "{set}");
}

/// The response does not remove the session cookie (it may rewrite it).
fn assert_not_removed(res: &Response) {
    if let Some(set) = set_cookie_for(res.headers(), SESSION_COOKIE) {
        assert!(
            !has_attr(&set, "Max-Age=0"),
            "session cookie removed: {set}"
        );
    }
}

/// A sealed cookie with one character changed in the middle.
fn tampered(sealed: &str) -> String {
    let mut bytes = sealed.as_bytes().to_vec();
    let mid = bytes.len() / 2;
    bytes[mid] = if bytes[mid] == b'A' { b'B' } else { b'A' };
    String::from_utf8(bytes).expect("ascii")
}

/// An access token of `len` characters (URL-safe, varied: nothing compresses or repeats).
fn big_token(len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
    (0..len)
        .map(|_| {
            // xorshift64: deterministic, no dependency.
            x ^= x << 13;
            x ^= x >> 7;
            x ^= x << 17;
            char::from(ALPHABET[(x % 64) as usize])
        })
        .collect()
}

/// Queues a token answer carrying `access_token` for the next code exchange.
fn answer_login_with(mock: &MockProvider, access_token: &str) {
    let answer = json!({
        "access_token": access_token,
        "token_type": "Bearer",
        "expires_in": 3600,
    });
    mock.respond_next(
        MockEndpoint::Token,
        1,
        200,
        "application/json",
        answer.to_string(),
    );
    // The login hook asks who logged in with that token.
    mock.respond_next(
        MockEndpoint::Userinfo,
        1,
        200,
        "application/json",
        mock.user().info.to_string(),
    );
}

/// A sealed session id is small: an opaque handle, not a session.
const MAX_ID_COOKIE: usize = 200;

// ---------------------------------------------------------------------------------------
// The flow suite, against every backend
// ---------------------------------------------------------------------------------------

/// Instantiates every flow of [`flows`] as a `#[tokio::test]` in one module per backend
/// (as tower-sessions' `route_tests!` does): `stores::{backend}::{flow}`.
macro_rules! store_suite {
    ($($(#[$attr:meta])* $backend:ident => $kind:expr;)+) => {$(
        $(#[$attr])*
        mod $backend {
            store_suite!(@flows $kind;
                login_then_tokens,
                refresh_at_expiry,
                rotation_grace_keeps_the_pre_refresh_cookie_working,
                logout_ends_the_session,
                tampered_cookie_is_not_logged_in,
                relogin_replaces_the_session,
                idle_timeout_ends_an_unused_session,
                absolute_lifetime_ends_even_an_active_session,
                token_larger_than_one_cookie,
                token_of_20_kb,
                key_rotation_reseals_the_cookie,
            );
        }
    )+};
    (@flows $kind:expr; $($flow:ident),+ $(,)?) => {$(
        #[tokio::test]
        async fn $flow() {
            super::flows::$flow($kind).await
        }
    )+};
}

store_suite! {
    cookie => super::Kind::Cookie;
    memory => super::Kind::Memory;
    #[cfg(feature = "file-store")]
    file => super::Kind::File;
    #[cfg(feature = "redis")]
    redis => super::Kind::Redis;
    #[cfg(feature = "tower-sessions")]
    sqlite => super::Kind::Sqlite;
}
