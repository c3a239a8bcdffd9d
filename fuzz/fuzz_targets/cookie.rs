//! Any bytes as the `Cookie` header of a request: the session is "none" or the genuine
//! one (never a forgery), decided without awaiting, never a panic, and every
//! `Set-Cookie` the layer would send back is a valid header value.
//!
//! The first byte picks how the rest is used: a raw `Cookie` header (lines are headers),
//! the session cookie's value, edits of a genuine sealed session, or two chunks.

#![no_main]

use std::sync::LazyLock;

use axum_oauth_login::fuzzing::{CookieOutcome, SessionProbe};
use http::header::COOKIE;
use http::{HeaderMap, HeaderValue};
use libfuzzer_sys::fuzz_target;

static PROBE: LazyLock<SessionProbe> =
    LazyLock::new(|| SessionProbe::new().expect("the probe's configuration is valid"));

/// Applies 4-byte edits `(op, pos_hi, pos_lo, byte)` to `value`.
fn edit(value: &mut Vec<u8>, edits: &[u8]) {
    for e in edits.chunks_exact(4) {
        let pos = usize::from(u16::from_be_bytes([e[1], e[2]]));
        let at = if value.is_empty() {
            0
        } else {
            pos % value.len()
        };
        match e[0] % 5 {
            0 if at < value.len() => value[at] = e[3],
            0 | 1 => value.insert(at, e[3]),
            2 if at < value.len() => {
                value.remove(at);
            }
            3 => value.truncate(at),
            _ => value.extend_from_within(..at),
        }
    }
}

fuzz_target!(|data: &[u8]| {
    let probe = &*PROBE;
    let name = probe.cookie_name().as_bytes();
    let Some((&mode, rest)) = data.split_first() else {
        return;
    };
    let mut values: Vec<Vec<u8>> = Vec::new();
    let mut genuine_untouched = false;
    match mode % 4 {
        0 => values.extend(rest.split(|b| *b == b'\n').map(<[u8]>::to_vec)),
        1 => values.push([name, b"=", rest].concat()),
        2 => {
            let mut sealed = probe.sealed_session().as_bytes().to_vec();
            edit(&mut sealed, rest);
            genuine_untouched = sealed == probe.sealed_session().as_bytes();
            values.push([name, b"=", &sealed].concat());
        }
        _ => {
            let (a, b) = rest.split_at(rest.len() / 2);
            values.push([name, b"=", a, b"; ", name, b".1=", b].concat());
        }
    }
    let mut headers = HeaderMap::new();
    for v in &values {
        if let Ok(v) = HeaderValue::from_bytes(v) {
            headers.append(COOKIE, v);
        }
    }
    let outcome = probe.check(&headers);
    assert_ne!(
        outcome,
        CookieOutcome::Pending,
        "cookie sessions never wait"
    );
    if genuine_untouched {
        assert_eq!(outcome, CookieOutcome::Session, "the genuine cookie opens");
    }
    if outcome == CookieOutcome::Session {
        // Only the genuine sealed value can open: anything else would be a forgery.
        let sent = headers.get_all(COOKIE).iter().any(|v| {
            v.as_bytes()
                .windows(probe.sealed_session().len())
                .any(|w| w == probe.sealed_session().as_bytes())
        });
        assert!(sent, "a session from a cookie that is not the genuine one");
    }
});
