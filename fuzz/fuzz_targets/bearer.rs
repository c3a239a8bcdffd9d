//! Any bytes as `Authorization` headers (one per line): the parser never panics, and a
//! token it accepts is one RFC 6750 `b64token` of at most 4096 bytes, from the only
//! header.

#![no_main]

use axum_oauth_login::fuzzing::bearer_token;
use http::header::AUTHORIZATION;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

fn is_b64token(t: &str) -> bool {
    let body = t.trim_end_matches('=');
    !body.is_empty()
        && body
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
}

fuzz_target!(|data: &[u8]| {
    let mut headers = HeaderMap::new();
    for line in data.split(|b| *b == b'\n').take(3) {
        if let Ok(v) = HeaderValue::from_bytes(line) {
            headers.append(AUTHORIZATION, v);
        }
    }
    if let Ok(Some(token)) = bearer_token(&headers, "fuzz") {
        let t = token.secret();
        assert_eq!(headers.get_all(AUTHORIZATION).iter().count(), 1);
        assert!(is_b64token(t), "{t:?}");
        assert!(t.len() <= 4096, "{}", t.len());
    }
});
