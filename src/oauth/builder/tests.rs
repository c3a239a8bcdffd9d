//! The builder refuses bad settings at build time, with the fix in the message.

use super::*;
use crate::oauth::OAuth;

fn builder() -> OAuthBuilder {
    OAuth::builder(Provider::vcita(), "id", "secret")
        .redirect_uri("http://127.0.0.1:3000/auth/callback")
}

#[test]
fn settings_are_checked_at_build() {
    assert!(builder().cookie_key(CookieKey::generate()).build().is_ok());
    let cases: Vec<(OAuthBuilder, &str)> = vec![
        (
            OAuth::builder(Provider::vcita(), "id", "secret"),
            "redirect_uri",
        ),
        (builder().route_prefix("/a b"), "route_prefix"),
        (builder().cookie_name("a;b"), "cookie_name"),
        (
            builder().after_logout("https://evil.example"),
            "after_logout",
        ),
        (builder().max_pending_logins(0), "max_pending_logins"),
        (
            builder().max_concurrent_lookups(0),
            "max_concurrent_lookups",
        ),
        (builder().realm("a\"b"), "realm"),
        (
            builder().refresh_grace(Duration::from_secs(u64::MAX)),
            "refresh_grace",
        ),
        (
            builder().refresh_skew(Duration::from_secs(365 * 86400)),
            "refresh_skew",
        ),
        (builder().redirect_uri("http://x/cb/*rest"), "redirect_uri"),
        (builder().redirect_uri("http://x/cb/:id"), "redirect_uri"),
        (
            builder()
                .route_prefix("/auth")
                .redirect_uri("http://x/auth/login"),
            "redirect_uri",
        ),
        (
            OAuth::builder(Provider::vcita(), "", "secret").redirect_uri("http://x/cb"),
            "client_id",
        ),
    ];
    for (b, setting) in cases {
        let debug = format!("{b:?}");
        let err = b.build().expect_err(&debug);
        assert_eq!(err.setting(), setting, "{debug}");
    }
}

#[test]
fn unsafe_startups_are_refused_with_the_fix_in_the_message() {
    let https = || {
        OAuth::builder(Provider::vcita(), "id", "secret")
            .redirect_uri("https://app.example.com/auth/callback")
    };
    let err = https().build().unwrap_err();
    assert_eq!(err.setting(), "cookie_key");
    assert!(err.reason().contains("OAUTH_COOKIE_KEY=ephemeral"), "{err}");
    assert!(https().ephemeral_cookie_key().build().is_ok());
    let err = OAuth::builder(Provider::vcita(), "id", "secret")
        .redirect_uri("http://app.example.com/auth/callback")
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "redirect_uri");
    assert!(err.reason().contains("https"), "{err}");
    // Plain http stays possible on loopback, for development.
    assert!(builder().build().is_ok());
}

#[test]
fn https_turns_on_host_prefix() {
    let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
        .redirect_uri("https://app.example.com/auth/callback")
        .cookie_key(CookieKey::generate())
        .build()
        .unwrap();
    let shared = oauth.shared();
    assert_eq!(shared.session.cookie_name, "__Host-oauth_session");
    let (prefix, path) = shared.flows.cookie_prefix_and_path();
    assert!(prefix.starts_with("__Host-"));
    assert_eq!(path, "/");
    let root = OAuth::builder(Provider::vcita(), "id", "secret")
        .redirect_uri("http://127.0.0.1/callback")
        .route_prefix("/")
        .build()
        .unwrap();
    assert_eq!(
        root.shared().flows.cookie_prefix_and_path().1,
        "/",
        "never an empty Path"
    );
    let plain = builder().build().unwrap();
    assert_eq!(plain.shared().flows.cookie_prefix_and_path().1, "/auth");
}
