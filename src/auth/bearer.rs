//! The `Authorization: Bearer` header (RFC 6750 §2.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::AuthRejection;
use crate::secret::AccessToken;

/// Longest bearer token accepted.
const MAX_TOKEN_LEN: usize = 4096;

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1): `Ok(None)` when the
/// request has no Bearer credentials, an error when it has malformed ones.
#[cfg(any(test, fuzzing))]
pub(crate) fn bearer_token(
    headers: &HeaderMap,
    realm: &str,
) -> Result<Option<AccessToken>, AuthRejection> {
    Ok(authorization_token(headers, realm, false)?.map(|(token, _)| token))
}

/// The token of an `Authorization: Bearer` header, or also of `Authorization: DPoP`
/// (RFC 9449 §7.1, the same token syntax) when `dpop` is on: the token and whether its
/// scheme was DPoP. Another scheme is `Ok(None)`.
pub(crate) fn authorization_token(
    headers: &HeaderMap,
    realm: &str,
    dpop: bool,
) -> Result<Option<(AccessToken, bool)>, AuthRejection> {
    let mut values = headers.get_all(AUTHORIZATION).iter();
    let Some(value) = values.next() else {
        return Ok(None);
    };
    let invalid = |reason| AuthRejection::InvalidRequest {
        realm: realm.to_owned(),
        reason,
    };
    if values.next().is_some() {
        return Err(invalid("more than one Authorization header"));
    }
    match parse(value.as_bytes(), dpop) {
        Ok(Some((token, is_dpop))) => Ok(Some((AccessToken::new(token), is_dpop))),
        // Read as bytes for speed, decided as text: a header that is not ASCII is refused
        // as such before anything else (a token that parsed is all ASCII).
        _ if value.to_str().is_err() => Err(invalid("the header is not ASCII")),
        Ok(None) => Ok(None),
        Err(reason) => Err(invalid(reason)),
    }
}

/// The token of one `Authorization` value, as bytes, and whether its scheme is DPoP:
/// `Ok(None)` for another scheme.
fn parse(value: &[u8], dpop: bool) -> Result<Option<(&str, bool)>, &'static str> {
    let (scheme, rest) = match value.iter().position(|&b| b == b' ') {
        Some(space) => (&value[..space], &value[space + 1..]),
        None => (value, &[][..]),
    };
    let is_dpop = dpop && scheme.eq_ignore_ascii_case(b"dpop");
    if !is_dpop && !scheme.eq_ignore_ascii_case(b"bearer") {
        // Another scheme (Basic, ...) is not a Bearer credential at all.
        return Ok(None);
    }
    let start = rest.iter().position(|&b| b != b' ').unwrap_or(rest.len());
    let token = &rest[start..];
    // Real tokens are far shorter; a huge one would only be forwarded to the provider.
    if token.len() > MAX_TOKEN_LEN {
        return Err("the token is longer than 4096 characters");
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let end = token.iter().rposition(|&b| b != b'=').map_or(0, |i| i + 1);
    let body = &token[..end];
    if body.is_empty() || !all_b64token(body) {
        return Err("expected `Bearer <token>`");
    }
    // All ASCII: b64token bytes, then `=`s.
    std::str::from_utf8(token)
        .map(|token| Some((token, is_dpop)))
        .map_err(|_| "expected `Bearer <token>`")
}

/// Whether every byte is a `b64token` character (ALPHA / DIGIT / `-._~+/`).
///
/// Without a branch per byte, so that the loop is vectorised: a JWT access token is
/// ~700 bytes, and a short-circuiting predicate per byte cost more than the rest of the
/// header's parse (~11 instructions a byte, against ~1 here).
fn all_b64token(bytes: &[u8]) -> bool {
    let is_b64token = |b: u8| {
        let letter = (b | 0x20).wrapping_sub(b'a') < 26;
        let digit = b.wrapping_sub(b'0') < 10;
        letter
            | digit
            | (b == b'-')
            | (b == b'.')
            | (b == b'_')
            | (b == b'~')
            | (b == b'+')
            | (b == b'/')
    };
    bytes
        .iter()
        .fold(0u8, |bad, &b| bad | u8::from(!is_b64token(b)))
        == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_b64token_check_agrees_with_the_grammar_on_every_byte() {
        for b in 0..=u8::MAX {
            let grammar = b.is_ascii_alphanumeric() || b"-._~+/".contains(&b);
            assert_eq!(all_b64token(&[b]), grammar, "byte {b:#04x}");
            assert_eq!(all_b64token(&[b'a', b, b'z']), grammar, "byte {b:#04x}");
        }
        let long = "aZ09-._~+/".repeat(70);
        assert!(all_b64token(long.as_bytes()));
        for at in [0, 15, 16, 31, 699] {
            let mut bad = long.clone().into_bytes();
            bad[at] = b',';
            assert!(!all_b64token(&bad), "a bad byte at {at}");
        }
    }

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
    }

    #[test]
    fn a_header_that_is_not_ascii_is_refused_as_such() {
        for value in [
            &b"Bearer abc\xff"[..],
            b"Basic \xff",
            b"Bearer \xff",
            b"\xff",
        ] {
            let mut h = HeaderMap::new();
            h.insert(AUTHORIZATION, http::HeaderValue::from_bytes(value).unwrap());
            match bearer_token(&h, "r") {
                Err(AuthRejection::InvalidRequest { reason, .. }) => {
                    assert_eq!(reason, "the header is not ASCII", "{value:?}");
                }
                other => panic!("{value:?}: {other:?}"),
            }
        }
    }

    #[test]
    fn parses_bearer_credentials() {
        let ok = bearer_token(&with_auth("Bearer abc.DEF-123_~+/=="), "r")
            .unwrap()
            .unwrap();
        assert_eq!(ok.secret(), "abc.DEF-123_~+/==");
        assert_eq!(
            bearer_token(&with_auth("bearer abc"), "r")
                .unwrap()
                .unwrap()
                .secret(),
            "abc"
        );
        assert!(bearer_token(&HeaderMap::new(), "r").unwrap().is_none());
        assert!(
            bearer_token(&with_auth("Basic dXNlcjpwdw=="), "r")
                .unwrap()
                .is_none()
        );
        for bad in [
            "Bearer",
            "Bearer ",
            "Bearer a b",
            "Bearer a,b",
            "Bearer ==",
            "Bearer a=b",
        ] {
            assert!(
                matches!(
                    bearer_token(&with_auth(bad), "r"),
                    Err(AuthRejection::InvalidRequest { .. })
                ),
                "{bad}"
            );
        }
    }
}

#[cfg(test)]
mod proptests {
    //! Property: the parser never panics on any header bytes, and what it accepts is an
    //! RFC 6750 `b64token` of at most [`MAX_TOKEN_LEN`] bytes.

    use http::HeaderValue;
    use proptest::prelude::*;

    use super::*;

    use crate::proptests::config;

    /// `b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="`
    fn is_b64token(t: &str) -> bool {
        let body = t.trim_end_matches('=');
        !body.is_empty()
            && body
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b"-._~+/".contains(&b))
    }

    fn token() -> impl Strategy<Value = String> {
        ("[A-Za-z0-9._~+/-]{1,64}", "={0,3}").prop_map(|(body, pad)| body + &pad)
    }

    /// Header values: arbitrary bytes, and `Bearer`-shaped ones with junk mixed in.
    fn header_bytes() -> impl Strategy<Value = Vec<u8>> {
        let scheme =
            prop::sample::select(&["Bearer", "bearer", "BEARER", "Basic", "Bearer\t", ""][..]);
        let sep = prop::sample::select(&["", " ", "  ", "\t", " \t "][..]);
        let junk = prop::collection::vec(
            prop::sample::select(
                &[
                    "=", " ", ",", "\"", "\t", "é", "\u{0}", "\u{7f}", "a=b", "==a", "%20",
                ][..],
            ),
            0..3,
        );
        prop_oneof![
            prop::collection::vec(any::<u8>(), 0..80),
            (scheme.clone(), sep.clone(), token(), junk).prop_map(|(s, sep, t, junk)| {
                // The token is ASCII: any index is a char boundary.
                let (head, tail) = t.split_at(t.len() / 2);
                format!("{s}{sep}{head}{}{tail}", junk.concat()).into_bytes()
            }),
            (
                scheme,
                sep,
                4090usize..4100,
                prop::sample::select(&["a", "=", "é"][..])
            )
                .prop_map(|(s, sep, n, unit)| format!("{s}{sep}{}", unit.repeat(n)).into_bytes()),
            (prop::collection::vec(any::<u8>(), 0..40)).prop_map(|raw| {
                let mut v = b"Bearer ".to_vec();
                v.extend(raw);
                v
            }),
        ]
    }

    proptest! {
        #![proptest_config(config())]

        /// Any header bytes (one or two headers): no panic; an accepted token is a
        /// b64token of at most 4096 bytes.
        #[test]
        fn accepted_tokens_are_bounded_b64tokens(
            values in prop::collection::vec(header_bytes(), 0..3),
        ) {
            let mut headers = HeaderMap::new();
            for v in &values {
                if let Ok(v) = HeaderValue::from_bytes(v) {
                    headers.append(AUTHORIZATION, v);
                }
            }
            let count = headers.get_all(AUTHORIZATION).iter().count();
            match bearer_token(&headers, "r") {
                Ok(Some(t)) => {
                    prop_assert_eq!(count, 1);
                    prop_assert!(is_b64token(t.secret()), "{:?}", t.secret());
                    prop_assert!(t.secret().len() <= MAX_TOKEN_LEN, "{}", t.secret().len());
                }
                Ok(None) => {}
                Err(AuthRejection::InvalidRequest { realm, .. }) => prop_assert_eq!(realm, "r"),
                Err(other) => prop_assert!(false, "unexpected rejection {:?}", other),
            }
        }

        /// And every well-formed `Bearer <b64token>` is accepted as sent.
        #[test]
        fn well_formed_credentials_are_accepted(
            scheme in "[Bb][Ee][Aa][Rr][Ee][Rr]",
            spaces in " {1,3}",
            t in token(),
        ) {
            let mut headers = HeaderMap::new();
            headers.insert(AUTHORIZATION, HeaderValue::from_str(&format!("{scheme}{spaces}{t}")).unwrap());
            let got = bearer_token(&headers, "r");
            prop_assert!(
                matches!(&got, Ok(Some(found)) if found.secret() == t),
                "{:?}",
                got.map(|o| o.map(|t| t.secret().to_owned()))
            );
        }
    }
}
