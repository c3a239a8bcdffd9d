//! The other signed tokens: back-channel logout tokens (once each) and JWT access
//! tokens (RFC 9068) for this resource.

use super::*;

fn logout_claims() -> Value {
    json!({"iss": ISSUER, "aud": CLIENT, "iat": NOW, "jti": "jti-1", "sid": "sid-1",
           "events": {BACKCHANNEL_EVENT: {}}})
}

#[tokio::test]
async fn a_logout_token_is_checked_and_works_once() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    let token = sign_with(PEM_A, Some("a"), Some("logout+jwt"), &logout_claims());
    let claims = oidc.logout_token(&token).await.unwrap();
    assert_eq!(claims.sid.as_deref(), Some("sid-1"));
    assert_eq!(claims.sub, None);
    assert_eq!(
        oidc.logout_token(&token).await.unwrap_err(),
        JwtError::Claim("jti", "was already used: a replayed logout token")
    );
    let refused = async |claims: Value| {
        let token = sign_with(PEM_A, Some("a"), Some("logout+jwt"), &claims);
        oidc.logout_token(&token).await.unwrap_err()
    };
    let base = with(logout_claims(), "jti", json!("jti-2"));
    assert_eq!(
        refused(with(base.clone(), "nonce", json!("n"))).await,
        JwtError::Claim("nonce", "must not be in a logout token")
    );
    assert!(matches!(
        refused(with(base.clone(), "events", json!({}))).await,
        JwtError::Claim("events", _)
    ));
    assert!(matches!(
        refused(with(base.clone(), "sid", Value::Null)).await,
        JwtError::Claim("sid", _)
    ));
    assert!(matches!(
        refused(with(base.clone(), "jti", Value::Null)).await,
        JwtError::Claim("jti", _)
    ));
    assert!(matches!(
        refused(with(base.clone(), "aud", json!("other"))).await,
        JwtError::Claim("aud", _)
    ));
    clock.advance(Duration::from_secs(
        LOGOUT_TOKEN_MAX_AGE_SECS + LEEWAY_SECS + 1,
    ));
    assert_eq!(
        refused(base.clone()).await,
        JwtError::Claim("iat", "is too old for a logout token")
    );
    // An id_token is not a logout token.
    let id = sign_with(PEM_A, Some("a"), Some("JWT"), &id_claims("n"));
    assert!(oidc.logout_token(&id).await.is_err());
}

#[tokio::test]
async fn a_jwt_access_token_is_checked_for_this_resource() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    let claims = json!({"iss": ISSUER, "aud": "urn:api", "sub": "user-1", "client_id": CLIENT,
                        "exp": NOW + 600, "iat": NOW, "scope": "openid api:read", "jti": "t1"});
    let token = sign_with(PEM_A, Some("a"), Some("at+jwt"), &claims);
    assert!(looks_like_jwt(&token) && !looks_like_jwt("opaque-token"));
    let checked = oidc.access_token(&token).await.unwrap();
    assert_eq!(checked.exp, NOW + 600);
    assert_eq!(checked.scope.as_deref(), Some("openid api:read"));
    assert_eq!(checked.claims["sub"], "user-1");

    let plain = sign_with(PEM_A, Some("a"), Some("JWT"), &claims);
    assert!(matches!(
        oidc.access_token(&plain).await,
        Err(JwtError::Type(_))
    ));
    let other = sign_with(
        PEM_A,
        Some("a"),
        Some("at+jwt"),
        &with(claims.clone(), "aud", json!("urn:other")),
    );
    assert_eq!(
        oidc.access_token(&other).await.unwrap_err(),
        JwtError::Claim("aud", "does not name this resource")
    );
    clock.advance(Duration::from_secs(600 + LEEWAY_SECS));
    assert!(matches!(
        oidc.access_token(&token).await,
        Err(JwtError::Claim("exp", _))
    ));
}
