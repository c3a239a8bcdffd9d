//! DPoP as a client (RFC 9449) against a hand-made token endpoint: the proof's shape,
//! the one retry a `use_dpop_nonce` answer gets, and the token type the answer binds.

use std::sync::Mutex;

use axum::routing::post;
use axum_oauth_login::client::DpopKeys;
use axum_oauth_login::jose::SigningKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::HeaderMap;

use super::*;

const DPOP_KEY: &str = include_str!("../../fixtures/keys/p256-other.pem");

/// What the endpoint saw: each request's DPoP header and body fields.
type Seen = Arc<Mutex<Vec<(Option<String>, BTreeMap<String, String>)>>>;

/// A token endpoint that answers `use_dpop_nonce` (with `DPoP-Nonce: n-1`) to the
/// first `refusals` requests, then a DPoP token.
async fn token_endpoint(refusals: usize) -> (String, Seen, Server) {
    let seen: Seen = Arc::default();
    let log = seen.clone();
    let app = Router::new().route(
        "/token",
        post(move |headers: HeaderMap, body: String| {
            let log = log.clone();
            async move {
                let proof = headers.get("dpop").map(|v| v.to_str().unwrap().to_owned());
                let fields = url::form_urlencoded::parse(body.as_bytes())
                    .into_owned()
                    .collect();
                let n = {
                    let mut log = log.lock().unwrap();
                    log.push((proof, fields));
                    log.len()
                };
                if n <= refusals {
                    return (
                        http::StatusCode::BAD_REQUEST,
                        [("dpop-nonce", "n-1"), ("content-type", "application/json")],
                        r#"{"error":"use_dpop_nonce","error_description":"nonce required"}"#,
                    );
                }
                (
                    http::StatusCode::OK,
                    [("dpop-nonce", "n-2"), ("content-type", "application/json")],
                    r#"{"access_token":"bound-at","token_type":"DPoP","expires_in":300}"#,
                )
            }
        }),
    );
    let (addr, server) = serve(app).await;
    (format!("http://{addr}/token"), seen, server)
}

fn dpop_client(token_url: &str, keys: DpopKeys) -> OAuthClient {
    let provider = Provider::custom("dpop-idp")
        .authorize_url("http://127.0.0.1:9/authorize")
        .token_url(token_url)
        .issuer("http://127.0.0.1:9")
        .dpop(true)
        .build()
        .unwrap();
    OAuthClient::builder(provider, "dpop-client", "secret")
        .redirect_uri(REDIRECT)
        .dpop_keys(keys)
        .build()
        .unwrap()
}

fn decode(part: &str) -> Value {
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(part).unwrap()).unwrap()
}

#[tokio::test]
async fn a_use_dpop_nonce_answer_gets_one_retry_with_the_nonce_and_a_fresh_proof() {
    let (url, seen, _server) = token_endpoint(1).await;
    let key = SigningKey::from_pem(DPOP_KEY).unwrap();
    let client = dpop_client(&url, DpopKeys::new(key.clone()));
    let tokens = client
        .exchange_code(AuthorizationCode::new("code-1"), None)
        .await
        .expect("the second attempt, with the nonce, succeeds");
    assert_eq!(tokens.token_type(), "DPoP");
    assert_eq!(tokens.dpop_jkt(), Some(key.thumbprint()));

    let seen = seen.lock().unwrap();
    assert_eq!(seen.len(), 2, "one retry, no more");
    let proofs: Vec<(Value, Value)> = seen
        .iter()
        .map(|(proof, _)| {
            let proof = proof
                .as_deref()
                .expect("every token request carries a proof");
            let parts: Vec<&str> = proof.split('.').collect();
            (decode(parts[0]), decode(parts[1]))
        })
        .collect();
    for (header, claims) in &proofs {
        assert_eq!(header["typ"], "dpop+jwt");
        assert_eq!(header["alg"], "ES256");
        assert_eq!(header["jwk"]["kty"], "EC");
        assert!(
            header["jwk"].get("d").is_none(),
            "no private part: {header}"
        );
        assert_eq!(claims["htm"], "POST");
        assert_eq!(claims["htu"], url.as_str());
        assert!(claims["iat"].as_u64().unwrap().abs_diff(unix_now()) < 30);
        assert!(
            claims.get("ath").is_none(),
            "no token at the token endpoint"
        );
    }
    assert!(proofs[0].1.get("nonce").is_none());
    assert_eq!(proofs[1].1["nonce"], "n-1");
    assert_ne!(proofs[0].1["jti"], proofs[1].1["jti"], "a fresh proof");
    // The same code, presented twice: the first attempt was refused before use.
    assert_eq!(seen[0].1["code"], "code-1");
    assert_eq!(seen[1].1["code"], "code-1");
}

#[tokio::test]
async fn a_second_use_dpop_nonce_is_the_error_not_a_third_attempt() {
    let (url, seen, _server) = token_endpoint(usize::MAX).await;
    let client = dpop_client(&url, DpopKeys::new(SigningKey::from_pem(DPOP_KEY).unwrap()));
    let err = client
        .exchange_code(AuthorizationCode::new("code-1"), None)
        .await
        .unwrap_err();
    assert!(
        matches!(&err, OAuthError::Provider { status: 400, error, .. } if error.as_str() == "use_dpop_nonce"),
        "{err:?}"
    );
    assert_eq!(seen.lock().unwrap().len(), 2);
}

#[tokio::test]
async fn dpop_needs_a_key_and_a_key_needs_dpop_on() {
    let mock = MockProvider::start().await.unwrap();
    let with_dpop = provider(&mock, |p| p.dpop(true));
    let err = builder(&mock, with_dpop).build().unwrap_err();
    assert_eq!(err.setting(), "dpop_key");
    let key = DpopKeys::new(SigningKey::from_pem(DPOP_KEY).unwrap());
    let err = builder(&mock, mock.provider())
        .dpop_keys(key)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "dpop_key");
}

#[tokio::test]
async fn after_a_key_rotation_the_previous_key_still_proves_the_tokens_bound_to_it() {
    let mock = start(MockProvider::builder().refresh_tokens(true)).await;
    let old = SigningKey::from_pem(include_str!("../../fixtures/keys/p256.pem")).unwrap();
    let new = SigningKey::from_pem(DPOP_KEY).unwrap();
    let bound = |keys: DpopKeys| {
        let provider = provider(&mock, |p| p.dpop(true));
        builder(&mock, provider).dpop_keys(keys).build().unwrap()
    };
    // Tokens bound to the old key (a session kept from before the rotation). Without
    // PAR, the authorization request names the key too (RFC 9449 §10).
    let before = bound(DpopKeys::new(old.clone()));
    let url = before
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    assert_eq!(param(&url, "dpop_jkt").as_deref(), Some(old.thumbprint()));
    let tokens = login(&mock, &before).await;
    assert_eq!(tokens.dpop_jkt(), Some(old.thumbprint()));

    // After the rotation, with the old key kept as a previous one: it still proves them.
    let rotated = bound(DpopKeys::new(new.clone()).with_previous(old.clone()));
    let me: Value = rotated
        .userinfo_of(&tokens)
        .await
        .expect("the previous key proves them");
    assert!(me.get("sub").is_some());
    // A refresh binds the new token to the current key.
    let refreshed = rotated
        .refresh(tokens.refresh_token().unwrap())
        .await
        .unwrap();
    assert_eq!(refreshed.dpop_jkt(), Some(new.thumbprint()));
    let _: Value = rotated.userinfo_of(&refreshed).await.unwrap();

    // Without the old key, its tokens cannot be used (and nothing is sent).
    let forgot = bound(DpopKeys::new(new));
    let before_calls = mock.requests(MockEndpoint::Userinfo).len();
    let err = forgot.userinfo_of::<Value>(&tokens).await.unwrap_err();
    assert!(matches!(err, OAuthError::Signing { .. }), "{err:?}");
    assert_eq!(mock.requests(MockEndpoint::Userinfo).len(), before_calls);
}
