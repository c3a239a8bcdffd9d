//! `private_key_jwt` (RFC 7523 §2.2 and §3, OpenID Connect Core §9): a signed
//! `client_assertion` checked against the client's registered public key.

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;

use crate::request::Fields;
use crate::state::Inner;

const JWT_BEARER: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";
/// The longest assertion lifetime accepted, and the clock skew allowed.
const MAX_LIFETIME: u64 = 300;
const LEEWAY: u64 = 60;

/// The client id the assertion proves, or why it does not. Real time, not the mock's
/// clock knob: the app signs with real time, as a real provider checks it.
pub(super) fn authenticate(
    inner: &mut Inner,
    issuer: &str,
    fields: &Fields,
) -> Result<String, &'static str> {
    if fields.get("client_assertion_type").map(String::as_str) != Some(JWT_BEARER) {
        return Err(
            "client_assertion_type must be urn:ietf:params:oauth:client-assertion-type:jwt-bearer",
        );
    }
    let assertion = fields
        .get("client_assertion")
        .ok_or("client_assertion is required")?;
    let (input, signature) = assertion
        .rsplit_once('.')
        .ok_or("client_assertion is not a JWS")?;
    let (header, claims) = input
        .split_once('.')
        .ok_or("client_assertion is not a JWS")?;
    let part = |p: &str| -> Option<Value> {
        serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).ok()?).ok()
    };
    let (header, claims) = match (part(header), part(claims)) {
        (Some(h), Some(c)) => (h, c),
        _ => return Err("client_assertion is not a JWS"),
    };
    let text = |v: &Value, name: &str| v.get(name).and_then(Value::as_str).map(str::to_owned);
    let client_id = text(&claims, "iss").ok_or("the assertion has no iss")?;
    if text(&claims, "sub").as_deref() != Some(client_id.as_str()) {
        return Err("the assertion's sub is not its iss");
    }
    if fields.get("client_id").is_some_and(|id| *id != client_id) {
        return Err("client_id does not match the assertion's iss");
    }
    let key = inner
        .clients
        .get(&client_id)
        .and_then(|c| c.public_key.clone())
        .ok_or("unknown client, or a client without a registered key")?;
    verify(&header, &key, input, signature)?;
    // The issuer as a single string (FAPI 2.0 and RFC 7523bis; an array is refused).
    if claims.get("aud").and_then(Value::as_str) != Some(issuer) {
        return Err("the assertion's aud is not the issuer");
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let exp = claims
        .get("exp")
        .and_then(Value::as_u64)
        .ok_or("the assertion has no exp")?;
    let iat = claims.get("iat").and_then(Value::as_u64).unwrap_or(now);
    if exp + LEEWAY <= now {
        return Err("the assertion has expired");
    }
    if exp > now + MAX_LIFETIME + LEEWAY || iat > now + LEEWAY {
        return Err("the assertion lives too long or was issued in the future");
    }
    let jti = text(&claims, "jti").ok_or("the assertion has no jti")?;
    if !inner.seen_assertions.insert(jti) {
        return Err("the assertion was used before (jti replayed)");
    }
    Ok(client_id)
}

fn verify(header: &Value, jwk: &Value, input: &str, signature: &str) -> Result<(), &'static str> {
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("ES384") => Algorithm::ES384,
        Some("EdDSA") => Algorithm::EdDSA,
        Some("PS256") => Algorithm::PS256,
        Some("RS256") => Algorithm::RS256,
        _ => return Err("the assertion's alg is not an asymmetric algorithm the mock knows"),
    };
    let jwk = serde_json::from_value(jwk.clone()).map_err(|_| "the registered key is not a JWK")?;
    let key = DecodingKey::from_jwk(&jwk).map_err(|_| "the registered key is not usable")?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| "the assertion's signature is not base64url")?;
    // RustCrypto, called directly: with the library's aws-lc backend also in the build,
    // jsonwebtoken has no process-wide default.
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    let verifier = (provider.verifier_factory)(&alg, &key)
        .map_err(|_| "the assertion's alg does not fit the registered key")?;
    verifier
        .verify(input.as_bytes(), &signature)
        .map_err(|_| "the assertion's signature does not verify")
}
