//! The token checks against a loopback JWKS endpoint whose key set a test can change and
//! whose fetches it can count; tokens signed with fixed throwaway P-256 keys.

use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

use super::*;
use crate::provider::Provider;

mod other_tokens;
mod rotation;

const PEM_A: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg66GTRYnGPq47fi2J
z9yR+F5MkXTMs6lnI94HODQIC1GhRANCAAREC8bQuhCvhSau+qdzjjOo6yS2HeeX
yo70cHSfkWWNYYU1jROnaBDzJC+xo6SjYCVG24YIs5HaZB+cna6U1DeN
-----END PRIVATE KEY-----";
const X_A: &str = "RAvG0LoQr4Umrvqnc44zqOskth3nl8qO9HB0n5FljWE";
const Y_A: &str = "hTWNE6doEPMkL7GjpKNgJUbbhgizkdpkH5ydrpTUN40";
const PEM_B: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0prAhDIVwPMsC1dj
agABEdDsyngagwh2YA35nJpYQQOhRANCAATxTZvhrSeOnQiufTptUkDAXX+fCQ+i
3E+14ej7W1hEwbjTqzLhiFuBOtBhM/xcTkscN0HDARG6f9fFN5fJQy1G
-----END PRIVATE KEY-----";
const X_B: &str = "8U2b4a0njp0Irn06bVJAwF1_nwkPotxPteHo-1tYRME";
const Y_B: &str = "uNOrMuGIW4E60GEz_FxOSxw3QcMBEbp_18U3l8lDLUY";

const ISSUER: &str = "http://127.0.0.1/issuer";
const CLIENT: &str = "client-1";
const NOW: u64 = 1_800_000_000;

fn jwk(kid: &str, x: &str, y: &str) -> Value {
    json!({"kty": "EC", "crv": "P-256", "x": x, "y": y, "kid": kid, "use": "sig", "alg": "ES256"})
}

/// A JWKS endpoint on loopback: the served keys and the number of fetches.
struct Jwks {
    url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    hits: Arc<AtomicUsize>,
}

impl Jwks {
    async fn start(keys: Vec<Value>) -> Jwks {
        let served = Arc::new(Mutex::new(keys));
        let hits = Arc::new(AtomicUsize::new(0));
        let (s, h) = (served.clone(), hits.clone());
        let app = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (s, h) = (s.clone(), h.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    axum::Json(json!({"keys": *s.lock().unwrap()}))
                }
            }),
        );
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/jwks", listener.local_addr().unwrap());
        tokio::spawn(async move { axum::serve(listener, app).await });
        Jwks {
            url,
            keys: served,
            hits,
        }
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }

    fn oidc(&self, clock: &Clock) -> Oidc {
        let provider = Provider::custom("oidc")
            .authorize_url("http://127.0.0.1/authorize")
            .token_url("http://127.0.0.1/token")
            .issuer(ISSUER)
            .jwks_url(&self.url)
            .jwt_access_tokens("urn:api")
            .build()
            .unwrap();
        let http = reqwest::Client::new();
        Oidc::new(
            &provider,
            CLIENT,
            http,
            Duration::from_secs(5),
            clock.clone(),
        )
        .unwrap()
    }
}

fn sign_with(pem: &str, kid: Option<&str>, typ: Option<&str>, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = kid.map(str::to_owned);
    header.typ = typ.map(str::to_owned);
    // Signing goes through jsonwebtoken's process-wide provider; with `--all-features`
    // both of its backends are on and it cannot infer one. The test process picks
    // RustCrypto (the crate itself installs nothing and verifies with its own choice).
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    jsonwebtoken::encode(
        &header,
        claims,
        &EncodingKey::from_ec_pem(pem.as_bytes()).unwrap(),
    )
    .unwrap()
}

fn sign(claims: &Value) -> String {
    sign_with(PEM_A, Some("a"), Some("JWT"), claims)
}

fn id_claims(nonce: &str) -> Value {
    json!({"iss": ISSUER, "sub": "user-1", "aud": CLIENT, "exp": NOW + 300, "iat": NOW,
           "nonce": nonce, "sid": "sid-1", "email": "u@example.test", "groups": ["g"]})
}

fn with(mut claims: Value, name: &str, value: Value) -> Value {
    if value.is_null() {
        claims.as_object_mut().unwrap().remove(name);
    } else {
        claims[name] = value;
    }
    claims
}

/// Two base64url parts glued to a signature, for headers jsonwebtoken will not sign.
fn raw_token(header: &Value, claims: &Value, signature: &str) -> String {
    use base64::Engine as _;
    let b64 = |v: &Value| {
        base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(serde_json::to_vec(v).unwrap())
    };
    format!("{}.{}.{signature}", b64(header), b64(claims))
}

#[tokio::test]
async fn an_id_token_is_checked_and_its_claims_typed() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    let nonce = Nonce::random();

    let token = IdToken::new(sign(&id_claims(nonce.secret())));
    let claims = oidc.id_token(&token, Some(&nonce)).await.unwrap();
    assert_eq!(claims.sub, "user-1");
    assert_eq!(claims.sid.as_deref(), Some("sid-1"));
    assert_eq!(claims.email.as_deref(), Some("u@example.test"));
    assert_eq!(claims.extra["groups"], json!(["g"]));
    // On refresh: no nonce, same sub.
    assert!(
        oidc.refreshed_id_token(&token, Some("user-1"))
            .await
            .is_ok()
    );
    assert_eq!(
        oidc.refreshed_id_token(&token, Some("user-2"))
            .await
            .unwrap_err(),
        JwtError::Claim("sub", "differs from the session's user")
    );

    let refused = async |claims: Value, nonce: &Nonce| {
        oidc.id_token(&IdToken::new(sign(&claims)), Some(nonce))
            .await
            .unwrap_err()
    };
    let base = id_claims(nonce.secret());
    assert_eq!(
        refused(id_claims("another login's nonce"), &nonce).await,
        JwtError::Claim("nonce", "does not match this login")
    );
    assert_eq!(
        refused(with(base.clone(), "nonce", Value::Null), &nonce).await,
        JwtError::Claim("nonce", "is missing")
    );
    assert_eq!(
        refused(with(base.clone(), "aud", json!("someone-else")), &nonce).await,
        JwtError::Claim("aud", "does not name this client")
    );
    assert_eq!(
        refused(with(base.clone(), "aud", json!([CLIENT, "other"])), &nonce).await,
        JwtError::Claim("azp", "is missing with several audiences")
    );
    assert_eq!(
        refused(with(base.clone(), "azp", json!("other")), &nonce).await,
        JwtError::Claim("azp", "is another client")
    );
    assert_eq!(
        refused(
            with(base.clone(), "iss", json!("http://127.0.0.1/evil")),
            &nonce
        )
        .await,
        JwtError::Claim("iss", "is not the provider's issuer")
    );
    assert_eq!(
        refused(with(base.clone(), "sub", Value::Null), &nonce).await,
        JwtError::Claim("sub", "is missing")
    );
    // Expired: the crate's clock decides, with the leeway.
    clock.advance(Duration::from_secs(300 + LEEWAY_SECS));
    assert_eq!(
        oidc.id_token(&token, Some(&nonce)).await.unwrap_err(),
        JwtError::Claim("exp", "has passed: the token expired")
    );
    // An access token is not an id_token.
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    let at = sign_with(PEM_A, Some("a"), Some("at+jwt"), &base);
    assert!(matches!(
        oidc.id_token(&IdToken::new(at), Some(&nonce)).await,
        Err(JwtError::Type(_))
    ));
}

#[tokio::test]
async fn forged_and_tampered_tokens_are_refused() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let oidc = jwks.oidc(&Clock::manual(NOW));
    let nonce = Nonce::random();
    let good = sign(&id_claims(nonce.secret()));
    let (head, rest) = good.split_once('.').unwrap();
    let signature = rest.split_once('.').unwrap().1;

    // The payload changed after signing.
    let mut evil = id_claims(nonce.secret());
    evil["sub"] = json!("admin");
    let tampered = raw_token(&json!({"alg": "ES256", "kid": "a"}), &evil, signature);
    assert_eq!(
        oidc.id_token(&IdToken::new(tampered), Some(&nonce))
            .await
            .unwrap_err(),
        JwtError::Signature
    );
    // Signed by a key the provider does not publish, under its kid.
    let foreign = sign_with(PEM_B, Some("a"), None, &id_claims(nonce.secret()));
    assert_eq!(
        oidc.id_token(&IdToken::new(foreign), Some(&nonce))
            .await
            .unwrap_err(),
        JwtError::Signature
    );
    // alg none, and HMAC with the public key as the secret.
    for alg in ["none", "HS256"] {
        let forged = raw_token(&json!({"alg": alg, "kid": "a"}), &evil, "");
        assert_eq!(
            oidc.id_token(&IdToken::new(forged), Some(&nonce))
                .await
                .unwrap_err(),
            JwtError::Algorithm(alg.to_owned())
        );
    }
    let critical = raw_token(
        &json!({"alg": "ES256", "kid": "a", "crit": ["exp"]}),
        &evil,
        signature,
    );
    assert!(matches!(
        oidc.id_token(&IdToken::new(critical), Some(&nonce)).await,
        Err(JwtError::Malformed(_))
    ));
    // The signature covers the payload's bytes: junk there fails the signature first.
    let junk_payload = IdToken::new(format!("{head}.!!.{signature}"));
    assert_eq!(
        oidc.id_token(&junk_payload, Some(&nonce))
            .await
            .unwrap_err(),
        JwtError::Signature
    );
    for junk in ["", "a.b", "a.b.c.d.e", "!!.e30.sig"] {
        assert!(
            matches!(
                oidc.id_token(&IdToken::new(junk), Some(&nonce)).await,
                Err(JwtError::Malformed(_))
            ),
            "{junk}"
        );
    }
}

#[tokio::test]
async fn a_rotated_key_is_fetched_once_and_unknown_kids_do_not_storm() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    let nonce = Nonce::random();
    let old = IdToken::new(sign(&id_claims(nonce.secret())));
    oidc.id_token(&old, Some(&nonce)).await.unwrap();
    oidc.id_token(&old, Some(&nonce)).await.unwrap();
    assert_eq!(jwks.hits(), 1, "the key set is cached");

    // The provider rotates: key b signs and is published beside a.
    jwks.keys.lock().unwrap().insert(0, jwk("b", X_B, Y_B));
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    let new = IdToken::new(sign_with(
        PEM_B,
        Some("b"),
        None,
        &id_claims(nonce.secret()),
    ));
    oidc.id_token(&new, Some(&nonce)).await.unwrap();
    assert_eq!(jwks.hits(), 2, "one re-fetch for the new kid");
    oidc.id_token(&new, Some(&nonce)).await.unwrap();
    oidc.id_token(&old, Some(&nonce)).await.unwrap();
    assert_eq!(jwks.hits(), 2);

    // Forged tokens with made-up kids, many at once: at most one fetch per interval.
    let forged: Vec<_> = (0..50)
        .map(|i| {
            IdToken::new(sign_with(
                PEM_B,
                Some(&format!("forged-{i}")),
                None,
                &id_claims("x"),
            ))
        })
        .collect();
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    let results =
        futures_util::future::join_all(forged.iter().map(|t| oidc.id_token(t, None))).await;
    // The fetch's own token is refused; those that arrived while it ran: "try again".
    assert!(results.iter().all(|r| match r {
        Err(JwtError::UnknownKey(Some(_))) => true,
        Err(e) => e.is_transient(),
        Ok(_) => false,
    }));
    assert_eq!(jwks.hits(), 3, "50 unknown kids, one fetch");
    for t in &forged {
        assert!(oidc.id_token(t, None).await.is_err());
    }
    assert_eq!(jwks.hits(), 3);
}

#[tokio::test]
async fn an_unreachable_key_set_is_transient() {
    // Nothing listens on port 9 of loopback.
    let provider = Provider::custom("oidc")
        .authorize_url("http://127.0.0.1/authorize")
        .token_url("http://127.0.0.1/token")
        .issuer(ISSUER)
        .jwks_url("http://127.0.0.1:9/jwks")
        .build()
        .unwrap();
    let oidc = Oidc::new(
        &provider,
        CLIENT,
        reqwest::Client::new(),
        Duration::from_secs(2),
        Clock::manual(NOW),
    )
    .unwrap();
    let err = oidc
        .id_token(&IdToken::new(sign(&id_claims("n"))), None)
        .await
        .unwrap_err();
    assert!(err.is_transient(), "{err}");
}

#[tokio::test]
async fn a_day_old_key_set_is_fetched_again_and_a_bad_answer_keeps_the_old_one() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    let nonce = Nonce::random();
    oidc.id_token(
        &IdToken::new(sign(&id_claims(nonce.secret()))),
        Some(&nonce),
    )
    .await
    .unwrap();
    assert_eq!(jwks.hits(), 1);

    // A day later the provider withdrew key a (b signs now): the next use re-fetches,
    // and a token under a is refused.
    *jwks.keys.lock().unwrap() = vec![jwk("b", X_B, Y_B)];
    let later = NOW + keys::MAX_AGE_SECS;
    clock.advance(Duration::from_secs(keys::MAX_AGE_SECS));
    let with_exp = |c: Value| with(c, "exp", json!(later + 300));
    let old = IdToken::new(sign(&with_exp(with(id_claims("n"), "iat", json!(later)))));
    assert!(matches!(
        oidc.id_token(&old, None).await,
        Err(JwtError::UnknownKey(_))
    ));
    assert_eq!(jwks.hits(), 2);
    let new = IdToken::new(sign_with(
        PEM_B,
        Some("b"),
        None,
        &with_exp(with(id_claims("n"), "iat", json!(later))),
    ));
    oidc.id_token(&new, None).await.unwrap();

    // Another day: the endpoint answers an empty set; the keys at hand stay in use.
    jwks.keys.lock().unwrap().clear();
    clock.advance(Duration::from_secs(keys::MAX_AGE_SECS));
    let later = later + keys::MAX_AGE_SECS;
    let newer = IdToken::new(sign_with(
        PEM_B,
        Some("b"),
        None,
        &with(
            with(id_claims("n"), "iat", json!(later)),
            "exp",
            json!(later + 300),
        ),
    ));
    oidc.id_token(&newer, None).await.unwrap();
    assert_eq!(jwks.hits(), 3);
}
