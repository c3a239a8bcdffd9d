//! DPoP through the app against the MockProvider (RFC 9449): the login binds the
//! session's tokens to the app's key, and userinfo, the provider's API and refresh prove
//! it — each first asked for the mock's nonce, which the app then keeps.

use axum_oauth_login::jose::SigningKey;
use axum_oauth_login::{Clock, CookieKey, OAuth};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

fn dpop_key() -> SigningKey {
    SigningKey::from_pem(include_str!("../fixtures/keys/p256-other.pem")).unwrap()
}

/// The example's app with DPoP on, against `mock`.
async fn dpop_app(mock: MockProvider) -> TestApp {
    let provider = mock.provider().to_builder().dpop(true).build().unwrap();
    let (listener, port) = bind().await;
    let clock = Clock::manual_from_now();
    let builder = OAuth::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
        .clock(clock.clone())
        .cookie_key(CookieKey::generate())
        .dpop_key(dpop_key());
    let oauth = example::configure(builder).build().expect("OAuth builds");
    TestApp::serve(mock, listener, oauth, clock)
}

#[tokio::test]
async fn the_session_s_tokens_are_bound_and_every_call_proves_the_key() {
    let mock = MockProvider::builder()
        .refresh_tokens(true)
        .token_lifetime(std::time::Duration::from_secs(600))
        .require_dpop_nonce(true)
        .start()
        .await
        .unwrap();
    let app = dpop_app(mock).await;
    app.login().await;
    let (status, bound) = tokens(&app.browser).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(bound["token_type"], "DPoP", "{bound}");
    assert_eq!(bound["dpop_jkt"], dpop_key().thumbprint());

    // The code exchange: refused for the nonce once, then accepted with it.
    let token_requests = app.mock.requests(MockEndpoint::Token);
    assert_eq!(token_requests.len(), 2, "one nonce retry");
    assert!(
        token_requests
            .iter()
            .all(|r| r.headers.contains_key("dpop"))
    );

    // BearerUser from the session: userinfo with `Authorization: DPoP` and a proof.
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let userinfo = app.mock.requests(MockEndpoint::Userinfo);
    let last = userinfo.last().unwrap();
    let auth = last.authorization.as_deref().unwrap();
    assert!(auth.starts_with("DPoP "), "{auth}");
    assert!(last.headers.contains_key("dpop"));

    // The provider's API with the session's token (the example's /business).
    let res = app.get("/business").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let api = app.mock.requests(MockEndpoint::Api);
    assert!(api.iter().all(|r| {
        r.authorization
            .as_deref()
            .is_some_and(|a| a.starts_with("DPoP "))
    }));

    // The bound token is useless as a Bearer token (a thief without the key).
    let access = bound["access_token"].as_str().unwrap();
    let stolen = reqwest::Client::new()
        .get(app.mock.provider().userinfo_url().unwrap().clone())
        .bearer_auth(access)
        .send()
        .await
        .unwrap();
    assert_eq!(stolen.status(), 401);

    // A refresh (past the token's expiry on the app's clock) binds the new token too.
    advance(&app, 2 * 3600);
    let res = app.get("/me").await;
    assert_eq!(res.status(), StatusCode::OK, "{}", body(res).await);
    let (_, after) = tokens(&app.browser).await;
    assert_ne!(after["access_token"], bound["access_token"]);
    assert_eq!(after["token_type"], "DPoP");
}
