//! RFC 9068 JWT access tokens, checked locally without calling the provider.

use std::time::Duration;

use axum_oauth_login::{Clock, OAuth};
use reqwest::StatusCode;

use super::{count, jwt_parts};
use crate::harness::{InteropApp, JWT_CLIENT, LOGIN, RESOURCE};
use crate::support::{Server, bind, bounded, json, test_app};

/// RFC 9068: with `jwt_access_tokens(resource)`, oidc-provider's JWT access tokens are
/// checked locally — `/api/me` answers with zero calls to the provider — and an expired
/// one, or one for another resource, is `401 invalid_token`.
pub async fn jwt_access_tokens_are_checked_locally_without_calling_the_provider() {
    require_node!();
    let app = InteropApp::start_oidc(JWT_CLIENT, |p| p.jwt_access_tokens(RESOURCE), |b| b).await;
    app.login().await;
    let tokens = app.session_tokens().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (header, claims) = jwt_parts(&access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["aud"], RESOURCE);

    // The login hook saw the person (the id_token's email) beside the token's claims.
    let user = json(app.get("/app-user").await).await;
    assert_eq!(user["email"], crate::harness::EMAIL, "{user}");

    let userinfo_calls = count(&app, "http GET /me").await;
    let bearer = crate::support::client_builder().build().expect("client");
    let me = |token: String| {
        bearer
            .get(app.url("/api/me"))
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
    };
    for _ in 0..3 {
        let res = bounded("/api/me", me(access.clone())).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let user = json(res).await;
        assert_eq!(user["sub"], LOGIN, "{user}");
    }
    // The session's own requests too.
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(
        count(&app, "http GET /me").await,
        userinfo_calls,
        "no userinfo call"
    );
    assert_eq!(
        count(&app, "auth /token/introspection").await,
        0,
        "no introspection"
    );

    // The same token at an app that expects another resource: 401 invalid_token.
    let other = OAuth::builder(
        app.provider
            .discovered_provider(Some(JWT_CLIENT.2))
            .await
            .to_builder()
            .jwt_access_tokens("urn:another:api")
            .build()
            .unwrap(),
        JWT_CLIENT.0,
        JWT_CLIENT.1,
    )
    .redirect_uri(app.redirect_uri.as_str())
    .clock(Clock::manual(app.clock.now()))
    .build()
    .unwrap();
    let (listener, port) = bind().await;
    let _other = Server::start(listener, test_app(&other));
    let res = bounded(
        "/api/me elsewhere",
        bearer
            .get(format!("http://127.0.0.1:{port}/api/me"))
            .bearer_auth(&access)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Past its exp (600 s) and the leeway: 401 invalid_token, still no provider call.
    app.clock.advance(Duration::from_secs(600 + 61));
    let res = bounded("/api/me expired", me(access.clone()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(count(&app, "http GET /me").await, userinfo_calls);
}
