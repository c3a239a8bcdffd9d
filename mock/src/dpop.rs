//! DPoP (RFC 9449), enough for apps' tests: a token request with a valid proof gets a
//! `DPoP` token bound to the proof's key (`cnf.jkt` in introspection); userinfo and the
//! API take a bound token only as `Authorization: DPoP` with a proof of that key (and
//! the token's hash); with [`require_dpop_nonce`](crate::MockProviderBuilder::require_dpop_nonce)
//! every proof must carry the mock's nonce (`use_dpop_nonce` otherwise).

use std::time::{SystemTime, UNIX_EPOCH};

use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::{Map, Value};
use sha2::{Digest as _, Sha256};

use crate::request::authorization_param;
use crate::state::Inner;

/// The nonce the mock hands out when it requires one.
pub(crate) const NONCE: &str = "mock-dpop-nonce-1";
/// How far a proof's `iat` may be from now, either way (seconds).
const WINDOW: u64 = 300;

/// Why a proof was refused: a missing nonce (answer `use_dpop_nonce` with the nonce),
/// or anything else (`invalid_dpop_proof`).
#[derive(Debug)]
pub(crate) enum Refusal {
    NeedsNonce,
    Invalid(&'static str),
}

/// Checks the `DPoP` header of a request to `method url` (with the access token it
/// authorizes, for a resource request) and returns the key's thumbprint (`jkt`).
pub(crate) fn check(
    inner: &mut Inner,
    headers: &HeaderMap,
    method: &str,
    url: &str,
    access_token: Option<&str>,
) -> Result<String, Refusal> {
    use Refusal::Invalid;
    let mut proofs = headers.get_all("dpop").iter();
    let proof = match (proofs.next(), proofs.next()) {
        (Some(p), None) => p.to_str().map_err(|_| Invalid("the proof is not ASCII"))?,
        _ => return Err(Invalid("exactly one DPoP header is required")),
    };
    let (input, signature) = proof.rsplit_once('.').ok_or(Invalid("not a JWS"))?;
    let (header, claims) = input.split_once('.').ok_or(Invalid("not a JWS"))?;
    let object = |part: &str| -> Option<Map<String, Value>> {
        match serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).ok()?).ok()? {
            Value::Object(map) => Some(map),
            _ => None,
        }
    };
    let (header, claims) = match (object(header), object(claims)) {
        (Some(h), Some(c)) => (h, c),
        _ => return Err(Invalid("not a JWS")),
    };
    if header.get("typ").and_then(Value::as_str) != Some("dpop+jwt") {
        return Err(Invalid("typ is not dpop+jwt"));
    }
    let alg = match header.get("alg").and_then(Value::as_str) {
        Some("ES256") => Algorithm::ES256,
        Some("ES384") => Algorithm::ES384,
        Some("EdDSA") => Algorithm::EdDSA,
        Some("PS256") => Algorithm::PS256,
        _ => return Err(Invalid("alg is not an asymmetric algorithm the mock knows")),
    };
    let Some(Value::Object(jwk)) = header.get("jwk") else {
        return Err(Invalid("the header has no jwk"));
    };
    if ["d", "p", "q", "dp", "dq", "qi", "k"]
        .iter()
        .any(|m| jwk.contains_key(*m))
    {
        return Err(Invalid("the jwk holds a private key"));
    }
    let parsed = serde_json::from_value(Value::Object(jwk.clone()))
        .map_err(|_| Invalid("the jwk is not a JWK"))?;
    let key = DecodingKey::from_jwk(&parsed).map_err(|_| Invalid("the jwk is not usable"))?;
    let signature = URL_SAFE_NO_PAD
        .decode(signature)
        .map_err(|_| Invalid("the signature is not base64url"))?;
    let provider = &jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER;
    let verified = (provider.verifier_factory)(&alg, &key)
        .is_ok_and(|v| v.verify(input.as_bytes(), &signature).is_ok());
    if !verified {
        return Err(Invalid("the signature does not verify with the jwk"));
    }
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(method) {
        return Err(Invalid("htm is not the request's method"));
    }
    let htu = url.split(['?', '#']).next().unwrap_or(url);
    if text("htu") != Some(htu) {
        return Err(Invalid("htu is not the request's URL"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or(Invalid("no iat"))?;
    if iat.abs_diff(now) > WINDOW {
        return Err(Invalid("iat is too far from now"));
    }
    if let Some(token) = access_token {
        let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
        if text("ath") != Some(ath.as_str()) {
            return Err(Invalid("ath is not the access token's hash"));
        }
    }
    if inner.config.require_dpop_nonce && text("nonce") != Some(NONCE) {
        return Err(Refusal::NeedsNonce);
    }
    let jti = text("jti").ok_or(Invalid("no jti"))?;
    if !inner.seen_proofs.insert(jti.to_owned()) {
        return Err(Invalid("the proof was used before (jti)"));
    }
    thumbprint(jwk).ok_or(Invalid("the jwk lacks a required member"))
}

/// RFC 7638: SHA-256 of the required members in lexicographic order, base64url.
fn thumbprint(jwk: &Map<String, Value>) -> Option<String> {
    let members: &[&str] = match jwk.get("kty")?.as_str()? {
        "EC" => &["crv", "kty", "x", "y"],
        "OKP" => &["crv", "kty", "x"],
        "RSA" => &["e", "kty", "n"],
        _ => return None,
    };
    let mut canonical = Map::new();
    for m in members {
        canonical.insert((*m).to_owned(), jwk.get(*m)?.clone());
    }
    let bytes = serde_json::to_vec(&canonical).ok()?;
    Some(URL_SAFE_NO_PAD.encode(Sha256::digest(bytes)))
}

/// The access token of a resource request (`method url`): a Bearer token that is not
/// bound, or a bound one sent as `Authorization: DPoP` with a proof of its key. `None`
/// when there is no such token (the caller answers 401).
pub(crate) fn resource_token(
    inner: &mut Inner,
    headers: &HeaderMap,
    method: &str,
    url: &str,
) -> Result<String, &'static str> {
    if let Some(token) = authorization_param(headers, "bearer") {
        let bound = inner
            .access
            .get(token)
            .is_some_and(|g| g.dpop_jkt.is_some());
        if bound {
            return Err("a DPoP-bound token sent as Bearer");
        }
        return Ok(token.to_owned());
    }
    let token = authorization_param(headers, "dpop")
        .ok_or("no access token")?
        .to_owned();
    let jkt = match check(inner, headers, method, url, Some(&token)) {
        Ok(jkt) => jkt,
        Err(Refusal::NeedsNonce) => return Err("use_dpop_nonce"),
        Err(Refusal::Invalid(reason)) => return Err(reason),
    };
    match inner.access.get(&token).and_then(|g| g.dpop_jkt.as_deref()) {
        Some(bound) if bound == jkt => Ok(token),
        Some(_) => Err("the token is bound to another key"),
        None => Err("the token is not DPoP-bound"),
    }
}

/// The `401` asking a resource request for the mock's nonce (RFC 9449 §9).
pub(crate) fn nonce_challenge() -> axum::response::Response {
    use axum::response::IntoResponse as _;
    (
        http::StatusCode::UNAUTHORIZED,
        [
            (
                "www-authenticate",
                r#"DPoP error="use_dpop_nonce", error_description="a nonce is required""#,
            ),
            ("dpop-nonce", NONCE),
            ("content-type", "application/json"),
        ],
        r#"{"error":"use_dpop_nonce"}"#,
    )
        .into_response()
}
