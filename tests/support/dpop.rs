//! DPoP proofs (RFC 9449) as a client makes them, for the resource-server tests: signed
//! here with jsonwebtoken (not the crate's own signer), each field as given.

use std::time::{SystemTime, UNIX_EPOCH};

use axum_oauth_login::jose::SigningKey;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::json;
use sha2::{Digest as _, Sha256};

/// A proof signed with `pem` (a P-256 PKCS#8 key, ES256) for `htm htu` and `token`.
pub fn proof(pem: &str, htm: &str, htu: &str, token: &str, jti: &str) -> String {
    // With `--all-features` jsonwebtoken has both backends and no default: pick one.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let mut jwk = SigningKey::from_pem(pem).unwrap().public_jwk();
    for member in ["kid", "alg", "use"] {
        jwk.as_object_mut().unwrap().remove(member);
    }
    let mut header = Header::new(Algorithm::ES256);
    header.typ = Some("dpop+jwt".into());
    header.jwk = Some(serde_json::from_value(jwk).unwrap());
    let iat = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs();
    let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.as_bytes()));
    let claims = json!({"jti": jti, "htm": htm, "htu": htu, "iat": iat, "ath": ath});
    let signing = EncodingKey::from_ec_pem(pem.as_bytes()).unwrap();
    jsonwebtoken::encode(&header, &claims, &signing).unwrap()
}
