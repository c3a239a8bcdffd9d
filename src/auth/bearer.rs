//! The `Authorization: Bearer` header (RFC 6750 §2.1).

use http::HeaderMap;
use http::header::AUTHORIZATION;

use super::AuthRejection;
use crate::secret::AccessToken;

/// Longest bearer token accepted.
const MAX_TOKEN_LEN: usize = 4096;

/// The token of an `Authorization: Bearer` header (RFC 6750 §2.1): `Ok(None)` when the
/// request has no Bearer credentials, an error when it has malformed ones.
pub(crate) fn bearer_token(
    headers: &HeaderMap,
    realm: &str,
) -> Result<Option<AccessToken>, AuthRejection> {
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
    let value = value
        .to_str()
        .map_err(|_| invalid("the header is not ASCII"))?;
    let (scheme, rest) = value.split_once(' ').unwrap_or((value, ""));
    if !scheme.eq_ignore_ascii_case("bearer") {
        // Another scheme (Basic, ...) is not a Bearer credential at all.
        return Ok(None);
    }
    let token = rest.trim_start_matches(' ');
    // Real tokens are far shorter; a huge one would only be forwarded to the provider.
    if token.len() > MAX_TOKEN_LEN {
        return Err(invalid("the token is longer than 4096 characters"));
    }
    // b64token = 1*( ALPHA / DIGIT / "-" / "." / "_" / "~" / "+" / "/" ) *"="
    let body = token.trim_end_matches('=');
    let valid = !body.is_empty()
        && body
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '.' | '_' | '~' | '+' | '/'));
    if !valid {
        return Err(invalid("expected `Bearer <token>`"));
    }
    Ok(Some(AccessToken::new(token)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn with_auth(v: &str) -> HeaderMap {
        let mut h = HeaderMap::new();
        h.insert(AUTHORIZATION, v.parse().unwrap());
        h
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
