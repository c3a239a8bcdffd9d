//! Any query string on the login and callback routes: the parser never panics, and every
//! `return_to` that `safe_return_to` keeps is a same-site path that is a valid
//! `Location` header value, resolves to a path that does not start with `//`, and stays
//! all that when percent-decoded once (as a proxy or the app may do).

#![no_main]

use std::sync::LazyLock;

use axum_oauth_login::fuzzing::{login_return_to, query_params, safe_return_to};
use libfuzzer_sys::fuzz_target;
use url::Url;

static BASE: LazyLock<Url> = LazyLock::new(|| Url::parse("http://app.test/").unwrap());

fn percent_decode_once(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = |b: Option<&u8>| b.and_then(|b| char::from(*b).to_digit(16));
        match (bytes[i], hex(bytes.get(i + 1)), hex(bytes.get(i + 2))) {
            (b'%', Some(h), Some(l)) => {
                out.push(u8::try_from(h * 16 + l).unwrap());
                i += 3;
            }
            (b, _, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn same_site(p: &str) {
    let resolved = BASE.join(p);
    let resolved = resolved.unwrap_or_else(|e| panic!("{p:?} does not resolve: {e}"));
    assert_eq!(resolved.origin(), BASE.origin(), "{p:?} -> {resolved}");
    assert!(!resolved.path().starts_with("//"), "{p:?} -> {resolved}");
}

fn check(candidate: &str) {
    let Some(p) = safe_return_to(candidate) else {
        return;
    };
    assert_eq!(p, candidate);
    assert!(p.starts_with('/') && !p.starts_with("//"), "{p:?}");
    assert!(!p.contains('\\'), "{p:?}");
    assert!(
        !p.chars().any(|c| c.is_control() || c.is_whitespace()),
        "{p:?}"
    );
    assert!(http::HeaderValue::from_str(p).is_ok(), "{p:?}");
    same_site(p);
    let decoded = percent_decode_once(p);
    assert!(
        decoded.starts_with('/') && !decoded.starts_with("//") && !decoded.contains('\\'),
        "{p:?} decodes to {decoded:?}"
    );
    same_site(&decoded);
}

fuzz_target!(|data: &[u8]| {
    let query = String::from_utf8_lossy(data);
    check(&query);
    let params = query_params(Some(&query));
    for value in params.values().flatten() {
        check(value);
    }
    if let Some(return_to) = login_return_to(Some(&query)) {
        check(&return_to);
    }
});
