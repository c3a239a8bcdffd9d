//! A compact JWS (RFC 7515) checked against the provider's keys: the header parsed by
//! this crate (so an algorithm outside the allow-list is named, not just refused), the
//! signature verified by the `jsonwebtoken` backend the crate's features chose, the
//! payload returned as a JSON object for the claim checks.

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use serde_json::{Map, Value};

use super::JwtError;
use super::keys::KeySet;

/// Tokens larger than this are refused before any work (real ones are 1–3 KiB).
const MAX_TOKEN_BYTES: usize = 16 * 1024;

/// The asymmetric signature algorithms accepted: never `none`, never HMAC (a public
/// key used as an HMAC secret would let anyone sign).
pub(crate) const ALLOWED: &[Algorithm] = &[
    Algorithm::RS256,
    Algorithm::RS384,
    Algorithm::RS512,
    Algorithm::PS256,
    Algorithm::PS384,
    Algorithm::PS512,
    Algorithm::ES256,
    Algorithm::ES384,
    Algorithm::EdDSA,
];

/// A token whose signature verified: its header's `typ` and its claims.
#[derive(Debug)]
pub(crate) struct Verified {
    pub(crate) typ: Option<String>,
    pub(crate) claims: Map<String, Value>,
}

/// Whether `token` has the shape of a compact JWS (three base64url parts); opaque access
/// tokens do not.
pub(crate) fn looks_like_jwt(token: &str) -> bool {
    token.len() <= MAX_TOKEN_BYTES
        && token.split('.').count() == 3
        && token.starts_with("eyJ")
        && token
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.'))
}

/// Parses, then verifies the signature of `token` against `keys`.
pub(crate) async fn verify(keys: &KeySet, token: &str) -> Result<Verified, JwtError> {
    if token.len() > MAX_TOKEN_BYTES {
        return Err(JwtError::Malformed("larger than 16 KiB"));
    }
    let mut parts = token.split('.');
    let (Some(header), Some(payload), Some(signature), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Err(JwtError::Malformed("not a compact JWS (three parts)"));
    };
    let header = object(header, "the header")?;
    if header.contains_key("crit") {
        // RFC 7515 §4.1.11: extensions this crate does not understand must be refused.
        return Err(JwtError::Malformed("the header has `crit` extensions"));
    }
    let alg_name = header
        .get("alg")
        .and_then(Value::as_str)
        .ok_or(JwtError::Malformed("the header has no `alg`"))?;
    let alg = alg_name
        .parse::<Algorithm>()
        .ok()
        .filter(|a| ALLOWED.contains(a))
        .ok_or_else(|| JwtError::Algorithm(crate::transport::sanitize(alg_name, 16)))?;
    let kid = match header.get("kid") {
        None => None,
        Some(Value::String(kid)) => Some(kid.as_str()),
        Some(_) => return Err(JwtError::Malformed("the header's `kid` is not a string")),
    };
    let typ = match header.get("typ") {
        None => None,
        Some(Value::String(typ)) => Some(typ.clone()),
        Some(_) => return Err(JwtError::Malformed("the header's `typ` is not a string")),
    };
    let message = &token[..header_and_payload_len(token)];
    let candidates = keys.candidates(kid, alg).await?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| JwtError::Signature)?;
    let verified = candidates
        .iter()
        .any(|key| verifies(message.as_bytes(), &signature, &key.decoding, alg));
    if !verified {
        return Err(JwtError::Signature);
    }
    let claims = object(payload, "the payload")?;
    Ok(Verified { typ, claims })
}

fn header_and_payload_len(token: &str) -> usize {
    token.rfind('.').unwrap_or(token.len())
}

fn object(part: &str, what: &'static str) -> Result<Map<String, Value>, JwtError> {
    let malformed = || {
        JwtError::Malformed(match what {
            "the header" => "the header is not base64url JSON",
            _ => "the payload is not base64url JSON",
        })
    };
    let bytes = URL_SAFE_NO_PAD.decode(part).map_err(|_| malformed())?;
    match serde_json::from_slice(&bytes).map_err(|_| malformed())? {
        Value::Object(map) => Ok(map),
        _ => Err(malformed()),
    }
}

/// Verifies with the backend the features chose ([`crate::jose::backend`]); with none
/// (the TLS features off and no `jwt-*` feature) no signature verifies.
fn verifies(
    message: &[u8],
    signature: &[u8],
    key: &jsonwebtoken::DecodingKey,
    alg: Algorithm,
) -> bool {
    let Some(provider) = crate::jose::backend() else {
        tracing::error!(
            "id_token refused: no JWT backend compiled in (enable a TLS feature or \
             `jwt-rust-crypto` / `jwt-aws-lc`)"
        );
        return false;
    };
    (provider.verifier_factory)(&alg, key)
        .is_ok_and(|verifier| verifier.verify(message, &signature.to_vec()).is_ok())
}
