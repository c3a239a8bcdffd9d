//! Client authentication at the token, introspection and revocation endpoints:
//! `client_secret_basic` or `client_secret_post` (RFC 6749 §2.3.1), or `private_key_jwt`
//! (RFC 7523) for a client registered with a public key; one method per request.

use axum::response::{IntoResponse, Response};
use base64::Engine as _;
use base64::engine::general_purpose::STANDARD;
use http::{HeaderMap, StatusCode, header};
use subtle::ConstantTimeEq;

use crate::MockClient;
use crate::request::{Fields, authorization_param, oauth_error, with_header};
use crate::state::Inner;

mod assertion;

/// A failed client authentication; becomes the RFC 6749 §5.2 answer.
pub(crate) struct ClientAuthError {
    /// HTTP Basic was tried, so the 401 must carry `WWW-Authenticate: Basic`.
    basic: bool,
    error: &'static str,
    description: &'static str,
}

fn invalid_client(basic: bool, description: &'static str) -> ClientAuthError {
    ClientAuthError {
        basic,
        error: "invalid_client",
        description,
    }
}

impl IntoResponse for ClientAuthError {
    fn into_response(self) -> Response {
        if self.error != "invalid_client" {
            return oauth_error(StatusCode::BAD_REQUEST, self.error, self.description);
        }
        let response = oauth_error(StatusCode::UNAUTHORIZED, self.error, self.description);
        if self.basic {
            with_header(
                response,
                header::WWW_AUTHENTICATE,
                r#"Basic realm="vcita-mock""#,
            )
        } else {
            response
        }
    }
}

/// RFC 6749 §2.3.1: Basic credentials are the form-urlencoded id and secret.
fn decode_basic(param: &str) -> Option<(String, String)> {
    let decoded = String::from_utf8(STANDARD.decode(param).ok()?).ok()?;
    let (id, secret) = decoded.split_once(':')?;
    let unescape = |s: &str| {
        url::form_urlencoded::parse(format!("x={s}").as_bytes())
            .next()
            .map(|(_, v)| v.into_owned())
    };
    Some((unescape(id)?, unescape(secret)?))
}

/// Authenticates the client by `client_secret_basic` or `client_secret_post` and
/// returns its id, or the 401 to send.
pub(crate) fn authenticate_client(
    inner: &mut Inner,
    issuer: &str,
    headers: &HeaderMap,
    fields: &Fields,
) -> Result<String, ClientAuthError> {
    if fields.contains_key("client_assertion") || fields.contains_key("client_assertion_type") {
        if fields.contains_key("client_secret") || headers.contains_key(header::AUTHORIZATION) {
            return Err(ClientAuthError {
                basic: false,
                error: "invalid_request",
                description: "client authenticated by more than one method",
            });
        }
        return assertion::authenticate(inner, issuer, fields)
            .map_err(|description| invalid_client(false, description));
    }
    let basic = authorization_param(headers, "basic");
    let has_basic = basic.is_some();
    let (id, secret) = if let Some(credentials) = basic {
        let Some((id, secret)) = decode_basic(credentials) else {
            return Err(invalid_client(true, "malformed Basic credentials"));
        };
        if fields.contains_key("client_secret") {
            return Err(ClientAuthError {
                basic: true,
                error: "invalid_request",
                description: "client authenticated by more than one method",
            });
        }
        if fields
            .get("client_id")
            .is_some_and(|body_id| *body_id != id)
        {
            return Err(invalid_client(
                true,
                "client_id does not match the Basic credentials",
            ));
        }
        (id, secret)
    } else {
        match (fields.get("client_id"), fields.get("client_secret")) {
            (Some(id), Some(secret)) => (id.clone(), secret.clone()),
            _ => return Err(invalid_client(false, "client authentication required")),
        }
    };
    // A client registered with a key has no usable secret.
    let known = inner.clients.get(&id).is_some_and(|c: &MockClient| {
        c.public_key.is_none() && bool::from(c.client_secret.as_bytes().ct_eq(secret.as_bytes()))
    });
    if known {
        Ok(id)
    } else {
        Err(invalid_client(
            has_basic,
            "unknown client or wrong client secret",
        ))
    }
}
