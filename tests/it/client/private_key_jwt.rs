//! `private_key_jwt` (RFC 7523): the client signs a fresh assertion for every
//! client-authenticated request, and no secret travels.

use axum_oauth_login::jose::SigningKey;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;

use super::*;

const KEY: &str = include_str!("../../fixtures/keys/p256.pem");
const OTHER_KEY: &str = include_str!("../../fixtures/keys/p256-other.pem");
const ASSERTION_TYPE: &str = "urn:ietf:params:oauth:client-assertion-type:jwt-bearer";

fn key(pem: &str) -> SigningKey {
    SigningKey::from_pem(pem).unwrap()
}

/// A mock whose default client is registered with `KEY`'s public key.
async fn keyed_mock() -> MockProvider {
    let client = MockClient {
        public_key: Some(key(KEY).public_jwk()),
        ..MockClient::new("keyed-client", "unused-secret")
    };
    start(
        MockProvider::builder()
            .refresh_tokens(true)
            .default_client(client),
    )
    .await
}

fn keyed_client(mock: &MockProvider, pem: &str) -> OAuthClient {
    // No secret: private_key_jwt does not need one.
    OAuthClient::builder(mock.provider(), mock.client_id(), "")
        .redirect_uri(REDIRECT)
        .client_key(key(pem))
        .build()
        .unwrap()
}

fn claims_of(request: &RecordedRequest) -> Value {
    let assertion = &request.fields["client_assertion"];
    let payload = assertion.split('.').nth(1).unwrap();
    serde_json::from_slice(&URL_SAFE_NO_PAD.decode(payload).unwrap()).unwrap()
}

#[tokio::test]
async fn every_client_authenticated_request_carries_a_fresh_assertion_and_no_secret() {
    let mock = keyed_mock().await;
    assert_eq!(mock.provider().client_auth(), ClientAuth::PrivateKeyJwt);
    let c = keyed_client(&mock, KEY);
    let tokens = login(&mock, &c).await;
    let refreshed = c
        .refresh(tokens.refresh_token().expect("a refresh token"))
        .await
        .expect("the refresh authenticates by assertion too");
    let info = c
        .introspect(TokenRef::Access(refreshed.access_token()))
        .await
        .unwrap();
    assert!(info.active);
    c.revoke(TokenRef::Access(refreshed.access_token()))
        .await
        .unwrap();

    let mut jtis = BTreeSet::new();
    for endpoint in [
        MockEndpoint::Token,
        MockEndpoint::Introspect,
        MockEndpoint::Revoke,
    ] {
        for r in mock.requests(endpoint) {
            assert_eq!(r.client_auth(), Some(ClientAuth::PrivateKeyJwt));
            assert_eq!(r.fields["client_assertion_type"], ASSERTION_TYPE);
            assert_eq!(r.fields["client_id"], "keyed-client");
            assert!(!r.fields.contains_key("client_secret"), "{:?}", r.fields);
            assert_eq!(r.authorization, None);
            let claims = claims_of(&r);
            assert_eq!(claims["iss"], "keyed-client");
            assert_eq!(claims["sub"], "keyed-client");
            // The issuer as a single string.
            assert_eq!(claims["aud"], json!(mock.provider().issuer().unwrap()));
            let (iat, exp) = (
                claims["iat"].as_u64().unwrap(),
                claims["exp"].as_u64().unwrap(),
            );
            assert_eq!(exp - iat, 60);
            assert!(iat.abs_diff(unix_now()) < 30, "real time: {iat}");
            assert!(jtis.insert(claims["jti"].as_str().unwrap().to_owned()));
        }
    }
    assert_eq!(jtis.len(), 4, "code, refresh, introspection, revocation");
}

#[tokio::test]
async fn a_key_the_provider_does_not_know_is_refused_as_invalid_client() {
    let mock = keyed_mock().await;
    let c = keyed_client(&mock, OTHER_KEY);
    let code = code_for(&mock, &c, None).await;
    let err = err!(c.exchange_code(code, None).await =>
        OAuthError::Provider { endpoint: Endpoint::Token, status: 401, error, .. }
            if *error == ErrorCode::InvalidClient);
    assert!(!err.is_transient());
    // And the secret no longer works for a client registered with a key.
    let by_secret = OAuthClient::builder(
        provider(&mock, |p| p.client_auth(ClientAuth::ClientSecretPost)),
        mock.client_id(),
        mock.client_secret(),
    )
    .redirect_uri(REDIRECT)
    .build()
    .unwrap();
    err!(dummy(&by_secret).await =>
        OAuthError::Provider { status: 401, error, .. } if *error == ErrorCode::InvalidClient);
}

#[tokio::test]
async fn a_replayed_assertion_is_refused_by_the_mock() {
    let mock = keyed_mock().await;
    let c = keyed_client(&mock, KEY);
    login(&mock, &c).await;
    let first = last(&mock, MockEndpoint::Token);
    let replay = reqwest::Client::new()
        .post(mock.provider().token_url().clone())
        .json(&first.fields)
        .send()
        .await
        .unwrap();
    assert_eq!(replay.status(), 401);
    let body: Value = replay.json().await.unwrap();
    assert_eq!(body["error"], "invalid_client");
    assert!(body["error_description"].as_str().unwrap().contains("jti"));
}

#[tokio::test]
async fn private_key_jwt_without_a_key_does_not_build_and_nothing_shows_the_key() {
    let mock = keyed_mock().await;
    let err = OAuthClient::builder(mock.provider(), mock.client_id(), "")
        .redirect_uri(REDIRECT)
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "client_key");
    let err = OAuth::builder(mock.provider(), mock.client_id(), "")
        .redirect_uri(REDIRECT)
        .cookie_key(CookieKey::generate())
        .build()
        .unwrap_err();
    assert_eq!(err.setting(), "client_key");

    let pem_body: String = KEY.lines().nth(1).unwrap().into();
    let c = keyed_client(&mock, KEY);
    let oauth = OAuth::builder(mock.provider(), mock.client_id(), "")
        .redirect_uri(REDIRECT)
        .cookie_key(CookieKey::generate())
        .client_key(key(KEY));
    for debug in [
        format!("{c:?}"),
        format!("{oauth:?}"),
        format!("{:?}", key(KEY)),
    ] {
        assert!(!debug.contains(&pem_body[..20]), "{debug}");
        assert!(
            debug.contains("ES256"),
            "the key's algorithm is shown: {debug}"
        );
    }
}
