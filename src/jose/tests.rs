//! Test keys: `tests/fixtures/keys/` (throwaway, `openssl genpkey`); the expected
//! thumbprints were computed by Node's `crypto`, an implementation other than the one
//! under test.

use jsonwebtoken::DecodingKey;
use serde_json::{Map, Value, json};

use super::*;

const P256: &str = include_str!("../../tests/fixtures/keys/p256.pem");
const P384: &str = include_str!("../../tests/fixtures/keys/p384.pem");
const ED25519: &str = include_str!("../../tests/fixtures/keys/ed25519.pem");
const RSA_PKCS8: &str = include_str!("../../tests/fixtures/keys/rsa-pkcs8.pem");
const RSA_PKCS1: &str = include_str!("../../tests/fixtures/keys/rsa-pkcs1.pem");
const RSA_1024: &str = include_str!("../../tests/fixtures/keys/rsa-1024.pem");
const SECP256K1: &str = include_str!("../../tests/fixtures/keys/secp256k1.pem");

fn verify(key: &SigningKey, jws: &str) -> Value {
    let jwk: jsonwebtoken::jwk::Jwk = serde_json::from_value(key.public_jwk()).unwrap();
    let decoding = DecodingKey::from_jwk(&jwk).unwrap();
    let (input, signature) = jws.rsplit_once('.').unwrap();
    let signature = URL_SAFE_NO_PAD.decode(signature).unwrap();
    let verifier = (backend().unwrap().verifier_factory)(&key.inner.alg, &decoding).unwrap();
    verifier
        .verify(input.as_bytes(), &signature)
        .expect("the signature verifies under the public JWK");
    let (header, claims) = input.split_once('.').unwrap();
    let part =
        |p: &str| -> Value { serde_json::from_slice(&URL_SAFE_NO_PAD.decode(p).unwrap()).unwrap() };
    json!({ "header": part(header), "claims": part(claims) })
}

#[test]
fn every_supported_key_signs_a_jws_its_public_jwk_verifies() {
    for (pem, alg, thumbprint) in [
        (P256, "ES256", "jwOOjHKB1zQNsWzv3f3iC5eB9ERIgYHXym4NK-K1KAw"),
        (P384, "ES384", "xs70svbYDxDK0dokLYAH2oLH4TRcbgmy0m4vVycsWFs"),
        (
            ED25519,
            "EdDSA",
            "jrSXp77ggKEZKjW6uni40p71WxXlUHkZCMnmJCpMZLg",
        ),
        (
            RSA_PKCS8,
            "PS256",
            "AVhdXz6CX6NleNJrGOBQ4ynWV0Ga23RrMoiGqDWnqAk",
        ),
        (
            RSA_PKCS1,
            "PS256",
            "AVhdXz6CX6NleNJrGOBQ4ynWV0Ga23RrMoiGqDWnqAk",
        ),
    ] {
        let key = SigningKey::from_pem(pem).unwrap();
        assert_eq!(key.algorithm(), alg);
        assert_eq!(key.thumbprint(), thumbprint, "{alg}");
        assert_eq!(key.kid(), thumbprint, "the kid defaults to the thumbprint");
        let jwk = key.public_jwk();
        assert_eq!(jwk["alg"], alg);
        assert_eq!(jwk["use"], "sig");
        for private in ["d", "p", "q", "dp", "dq", "qi"] {
            assert!(
                jwk.get(private).is_none(),
                "{alg}: the public JWK has {private}"
            );
        }
        let mut header = Map::new();
        header.insert("kid".into(), key.kid().into());
        let jws = key.sign(header, &json!({"iss": "me"})).unwrap();
        let parts = verify(&key, &jws);
        assert_eq!(parts["header"]["alg"], alg);
        assert_eq!(parts["header"]["kid"], thumbprint);
        assert_eq!(parts["claims"]["iss"], "me");
    }
}

#[test]
fn a_key_on_one_line_with_escaped_newlines_reads_the_same() {
    let one_line = P256.trim_end().replace('\n', "\\n");
    assert!(!one_line.contains('\n'));
    let key = SigningKey::from_pem(&one_line).unwrap();
    assert_eq!(
        key.thumbprint(),
        SigningKey::from_pem(P256).unwrap().thumbprint()
    );
}

#[test]
fn with_kid_changes_the_kid_not_the_key() {
    let key = SigningKey::from_pem(ED25519)
        .unwrap()
        .with_kid("client-key-1");
    assert_eq!(key.kid(), "client-key-1");
    assert_eq!(key.public_jwk()["kid"], "client-key-1");
    let jws = key.sign(Map::new(), &json!({})).unwrap();
    verify(&key, &jws);
}

#[test]
fn weak_or_unsupported_keys_are_refused_with_a_reason() {
    let short = SigningKey::from_pem(RSA_1024).unwrap_err();
    // Refused by the size check or, with aws-lc, already by the parser; either way
    // the error says what is required.
    assert!(short.to_string().contains("2048 bits"), "{short}");
    let k1 = SigningKey::from_pem(SECP256K1).unwrap_err();
    assert!(k1.to_string().contains("P-256 or P-384"), "{k1}");
    let public = "-----BEGIN PUBLIC KEY-----\nAAAA\n-----END PUBLIC KEY-----";
    assert!(
        SigningKey::from_pem(public)
            .unwrap_err()
            .to_string()
            .contains("not a private key")
    );
}

#[test]
fn neither_debug_nor_errors_show_the_key() {
    let key = SigningKey::from_pem(P256).unwrap();
    let debug = format!("{key:?}");
    assert!(
        debug.contains("ES256") && debug.contains(key.kid()),
        "{debug}"
    );
    let body: String = P256.lines().nth(1).unwrap().chars().take(24).collect();
    assert!(!debug.contains(&body), "{debug}");
    // A corrupted key: the error names the problem, not the bytes.
    let broken = P256.replacen("MIGHAgEA", "MIGHAgEB", 1);
    if let Err(e) = SigningKey::from_pem(&broken) {
        assert!(!e.to_string().contains(&body[8..]), "{e}");
    }
}
