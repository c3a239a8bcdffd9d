//! Key rotation against an unknown `kid`: only a fresh, successful fetch that lacks the
//! key refuses a token; a re-fetch that is rate-limited or failed leaves the token
//! unchecked for now (transient), so a forged `kid` or a JWKS outage cannot turn a real
//! token under a rotated key into a refusal.

use super::*;

/// An access token under `kid`, signed with `pem`, issued at the clock's now.
fn access(pem: &str, kid: &str, clock: &Clock) -> String {
    let now = clock.now();
    let claims = json!({"iss": ISSUER, "aud": "urn:api", "sub": "user-1", "client_id": CLIENT,
                        "exp": now + 3600, "iat": now});
    sign_with(pem, Some(kid), Some("at+jwt"), &claims)
}

#[tokio::test]
async fn a_forged_kid_that_spent_the_refetch_cannot_refuse_a_rotated_key() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    oidc.access_token(&access(PEM_A, "a", &clock))
        .await
        .unwrap();
    assert_eq!(jwks.hits(), 1);

    // A forged kid, once the limit allows a fetch: that fresh fetch lacks it — refused.
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    let forged = access(PEM_B, "forged", &clock);
    assert_eq!(
        oidc.access_token(&forged).await.unwrap_err(),
        JwtError::UnknownKey(Some("forged".into()))
    );
    assert_eq!(jwks.hits(), 2);

    // Right after, the provider rotates and signs with b: the re-fetch is spent, so b
    // cannot be known yet — "try again", not "refused".
    jwks.keys.lock().unwrap().insert(0, jwk("b", X_B, Y_B));
    clock.advance(Duration::from_secs(1));
    let real = access(PEM_B, "b", &clock);
    let err = oidc.access_token(&real).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(jwks.hits(), 2, "no fetch inside the interval");

    // Once the interval has passed, the real token fetches the set and is accepted.
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    oidc.access_token(&real).await.unwrap();
    assert_eq!(jwks.hits(), 3);
}

#[tokio::test]
async fn a_flood_of_one_forged_kid_fetches_once_while_a_new_kid_still_can() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    oidc.access_token(&access(PEM_A, "a", &clock))
        .await
        .unwrap();
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    let forged = access(PEM_B, "forged", &clock);
    assert!(matches!(
        oidc.access_token(&forged).await,
        Err(JwtError::UnknownKey(_))
    ));
    assert_eq!(jwks.hits(), 2);

    // The same forged kid again after the interval: remembered as absent, no fetch.
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    for _ in 0..20 {
        assert!(oidc.access_token(&forged).await.is_err());
    }
    assert_eq!(jwks.hits(), 2, "a known-absent kid does not re-fetch");

    // A kid not seen before may fetch: the provider rotated to it.
    jwks.keys.lock().unwrap().insert(0, jwk("b", X_B, Y_B));
    oidc.access_token(&access(PEM_B, "b", &clock))
        .await
        .unwrap();
    assert_eq!(jwks.hits(), 3);
}

#[tokio::test]
async fn a_failed_refetch_leaves_a_new_kid_unchecked_not_refused() {
    let jwks = Jwks::start(vec![jwk("a", X_A, Y_A)]).await;
    let clock = Clock::manual(NOW);
    let oidc = jwks.oidc(&clock);
    oidc.access_token(&access(PEM_A, "a", &clock))
        .await
        .unwrap();

    // The provider rotates to b, and its JWKS answers nothing usable for a while.
    jwks.keys.lock().unwrap().clear();
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    let real = access(PEM_B, "b", &clock);
    let err = oidc.access_token(&real).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(jwks.hits(), 2);
    // Until the next attempt is due, the same answer and no fetch.
    let err = oidc.access_token(&real).await.unwrap_err();
    assert!(err.is_transient(), "{err:?}");
    assert_eq!(jwks.hits(), 2);
    // The key set is back: the same token is accepted at the next attempt.
    *jwks.keys.lock().unwrap() = vec![jwk("b", X_B, Y_B), jwk("a", X_A, Y_A)];
    clock.advance(Duration::from_secs(keys::REFETCH_AFTER_SECS));
    oidc.access_token(&real).await.unwrap();
    // The old key still verifies.
    oidc.access_token(&access(PEM_A, "a", &clock))
        .await
        .unwrap();
}
