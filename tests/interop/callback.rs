//! What the app refuses at its callback before any token request: a wrong or missing
//! `iss` (RFC 9207), a tampered state, a replayed callback.

use reqwest::StatusCode;

use crate::harness::{BASIC_CLIENT, InteropApp, POST_CLIENT};
use crate::support::{body, query_param, with_param, without_param};

pub async fn an_altered_iss_is_refused_before_any_token_request() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    let callback = app.provider_callback().await;
    assert_eq!(
        query_param(&callback, "iss").as_deref(),
        Some(app.provider.issuer.as_str()),
        "oidc-provider sends iss (RFC 9207)"
    );

    let forged = with_param(&callback, "iss", "http://127.0.0.1:1");
    let res = app.callback(&forged).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    let page = body(res).await;
    assert!(page.contains("invalid_issuer"), "{page}");
    assert!(page.contains("RFC 9207"), "{page}");
    assert_eq!(
        app.provider.token_requests().await,
        0,
        "no token request after a wrong iss: {:?}",
        app.provider.events().await
    );

    // The refused answer spent the login attempt: the genuine callback is refused too
    // (no flow cookie any more), still without a token request.
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(app.provider.token_requests().await, 0);
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);
}

/// oidc-provider advertises `authorization_response_iss_parameter_supported: true`, and
/// with an issuer configured RFC 9207 §2.4 says the client MUST reject a response
/// without `iss`.
pub async fn a_callback_without_iss_is_refused_when_the_issuer_is_configured() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    assert_eq!(
        app.provider.discovery.raw["authorization_response_iss_parameter_supported"],
        true
    );
    let callback = app.provider_callback().await;
    let stripped = without_param(&callback, "iss");
    let res = app.callback(&stripped).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("missing_issuer"));
    assert_eq!(app.provider.token_requests().await, 0);
}

pub async fn a_tampered_state_is_refused_before_any_token_request() {
    require_node!();
    let app = InteropApp::start(POST_CLIENT).await;
    let callback = app.provider_callback().await;
    let state = query_param(&callback, "state").expect("state");
    let mut tampered = state.clone().into_bytes();
    tampered[0] = if tampered[0] == b'A' { b'B' } else { b'A' };
    let forged = with_param(&callback, "state", std::str::from_utf8(&tampered).unwrap());
    let res = app.callback(&forged).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(app.provider.token_requests().await, 0);
    // The genuine answer still completes the login: the forged one spent nothing.
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}

pub async fn the_app_refuses_a_replayed_callback_without_a_token_request() {
    require_node!();
    let app = InteropApp::start(BASIC_CLIENT).await;
    let callback = app.login().await;
    let requests = app.provider.token_requests().await;
    assert_eq!(requests, 1, "{:?}", app.provider.events().await);

    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(
        app.provider.token_requests().await,
        requests,
        "the replay never reached the token endpoint"
    );
    // The session from the first callback is untouched.
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}
