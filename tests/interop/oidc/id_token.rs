//! id_tokens: validated at the callback with the login's nonce (and each kind of bad one
//! refused), the provider's key rotation picked up, and a refresh's id_token checked.

use std::time::Duration;

use reqwest::StatusCode;
use serde_json::{Value, json};

use super::{count, jwt_parts};
use crate::harness::{InteropApp, LOGIN, POST_CLIENT};
use crate::support::{body, query_param};

pub async fn the_id_token_is_validated_with_the_logins_nonce_and_its_claims_reach_the_app() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    assert!(app.oauth.client().provider().is_openid());
    let authorize = app.start_login().await;
    let nonce = query_param(&authorize, "nonce").expect("a nonce is sent with the login");
    assert_eq!(nonce.len(), 43, "256 random bits");
    let callback = crate::harness::walk_provider(&app.http, &authorize, &app.redirect_uri).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);

    let tokens = app.session_tokens().await;
    let claims = &tokens["id_claims"];
    assert_eq!(claims["sub"], LOGIN);
    assert_eq!(claims["iss"], app.provider.issuer);
    assert_eq!(claims["aud"], json!([POST_CLIENT.0]));
    assert_eq!(
        claims["nonce"], nonce,
        "the id_token carried this login's nonce"
    );
    assert!(claims["sid"].is_string(), "{claims}");
    let (header, _) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
}

/// Each kind of bad id_token: a clear page naming the failed check, no session, and the
/// tokens of the exchange revoked at the provider.
pub async fn tampered_wrong_audience_expired_and_replayed_id_tokens_are_refused() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;

    // A first, good login: its nonce is the one replayed below.
    app.login().await;
    let first = app.session_tokens().await;
    let old_nonce = first["id_claims"]["nonce"].as_str().unwrap().to_owned();
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);

    let now = app.clock.now();
    let cases: Vec<(&str, Option<Value>, StatusCode, &str)> = vec![
        (
            "tampered",
            None,
            StatusCode::BAD_GATEWAY,
            "signature does not verify",
        ),
        (
            "wrong audience",
            Some(json!({"aud": "someone-else"})),
            StatusCode::BAD_GATEWAY,
            "`aud` does not name this client",
        ),
        (
            "expired",
            Some(json!({"exp": now - 3600, "iat": now - 7200})),
            StatusCode::BAD_GATEWAY,
            "`exp` has passed",
        ),
        (
            "replayed nonce",
            Some(json!({"nonce": old_nonce})),
            StatusCode::BAD_REQUEST,
            "`nonce` does not match this login",
        ),
    ];
    for (case, mutation, status, says) in cases {
        let revocations = count(&app, "auth /token/revocation").await;
        match mutation {
            None => app.provider.tamper_next_id_token().await,
            Some(claims) => app.provider.mutate_next_id_token(claims).await,
        }
        let callback = app.provider_callback().await;
        let res = app.callback(&callback).await;
        assert_eq!(res.status(), status, "{case}");
        let text = body(res).await;
        assert!(text.contains("invalid_id_token"), "{case}: {text}");
        assert!(text.contains(says), "{case}: {text}");
        assert_eq!(
            app.get("/tokens").await.status(),
            StatusCode::UNAUTHORIZED,
            "{case}: no session"
        );
        assert!(
            count(&app, "auth /token/revocation").await > revocations,
            "{case}: the exchanged tokens were revoked"
        );
    }
    // And the next honest login works.
    app.login().await;
    assert_eq!(app.get("/tokens").await.status(), StatusCode::OK);
}

/// The provider rotates its signing key: the next login's id_token names a key the app
/// has not cached; it fetches the key set again (once) and accepts it — no restart.
pub async fn a_key_rotation_at_the_provider_is_picked_up_without_a_restart() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    app.login().await;
    assert_eq!(count(&app, "http GET /jwks").await, 1);
    let old_kid =
        jwt_parts(app.session_tokens().await["id_token"].as_str().unwrap()).0["kid"].clone();

    let new_kid = app.provider.rotate_keys().await;
    assert_ne!(json!(new_kid), old_kid);
    app.post("/auth/logout").await;
    // Unknown kids re-fetch at most once a minute (forged tokens cannot storm).
    app.clock.advance(Duration::from_secs(61));
    app.login().await;
    let tokens = app.session_tokens().await;
    assert_eq!(
        jwt_parts(tokens["id_token"].as_str().unwrap()).0["kid"],
        json!(new_kid)
    );
    assert_eq!(tokens["id_claims"]["sub"], LOGIN);
    assert_eq!(count(&app, "http GET /jwks").await, 2, "one re-fetch");
}

/// OpenID Connect Core §12.2: a refresh that brings a new id_token is checked like the
/// login's (but the nonce) and must name the same user; the session's claims follow it.
/// One naming another `sub` ends the session.
pub async fn a_refreshed_id_token_is_validated_and_must_keep_the_user() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    app.login().await;
    let before = app.session_tokens().await;
    assert!(
        before["refresh_token"].is_string(),
        "offline_access granted"
    );

    // Past the access token's 600 s: the next request refreshes, and the provider sends
    // an id_token with it (identical to the first when issued in the same second: RS256
    // signatures are deterministic).
    let id_tokens = count(&app, "id_token ").await;
    app.clock.advance(Duration::from_secs(601));
    let after = app.session_tokens().await;
    assert_ne!(after["access_token"], before["access_token"], "refreshed");
    assert_eq!(
        count(&app, "id_token ").await,
        id_tokens + 1,
        "the refresh brought one"
    );
    assert_eq!(after["id_claims"]["sub"], LOGIN);

    app.provider
        .mutate_next_refreshed_id_token(json!({"sub": "someone-else"}))
        .await;
    app.clock.advance(Duration::from_secs(601));
    assert_eq!(
        app.get("/tokens").await.status(),
        StatusCode::UNAUTHORIZED,
        "an id_token about another user ends the session"
    );
    assert_eq!(count(&app, "mutated id_token").await, 1);
}
