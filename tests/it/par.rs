//! Pushed authorization requests (RFC 9126): the login pushes its parameters with client
//! authentication, the browser carries only `client_id` and `request_uri`, and a failed
//! push is a page, never a plain request instead.

use axum_oauth_login::OAuth;
use axum_oauth_login::jose::SigningKey;
use axum_oauth_login::provider::ClientAuth;
use axum_oauth_login_mock::{MockClient, MockEndpoint, MockProvider};
use reqwest::StatusCode;
use url::Url;

use crate::harness::*;
use crate::support::*;

async fn par_mock() -> MockProvider {
    MockProvider::builder()
        .require_par(true)
        .start()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_browser_carries_only_client_id_and_request_uri_and_the_login_completes() {
    let mock = par_mock().await;
    assert!(mock.provider().uses_par());
    let app = TestApp::spawn_with_mock(mock, |b| b).await;
    let authorize = Url::parse(&app.start_login(Some("/me")).await).unwrap();
    let names: Vec<String> = authorize
        .query_pairs()
        .map(|(k, _)| k.into_owned())
        .collect();
    assert_eq!(names, ["client_id", "request_uri"], "{authorize}");
    let request_uri = query_param(&authorize, "request_uri").unwrap();
    assert!(request_uri.starts_with("urn:ietf:params:oauth:request_uri:"));

    // What was pushed: the whole request, client-authenticated, as a form.
    let pushed = app.mock.requests(MockEndpoint::Par);
    assert_eq!(pushed.len(), 1);
    let fields = &pushed[0].fields;
    assert_eq!(fields["response_type"], "code");
    assert_eq!(fields["client_secret"], app.mock.client_secret());
    assert_eq!(fields["code_challenge_method"], "S256");
    assert_eq!(fields["code_challenge"].len(), 43);
    assert!(fields["redirect_uri"].ends_with("/auth/callback"));
    assert!(
        !fields.contains_key("code_verifier"),
        "the verifier stays with the app"
    );
    assert_eq!(
        pushed[0].content_type.as_deref(),
        Some("application/x-www-form-urlencoded"),
        "a form even though this provider's token endpoint takes JSON"
    );

    let callback = app.authorize(authorize.as_str()).await;
    assert_eq!(
        query_param(&callback, "state").as_deref(),
        Some(fields["state"].as_str())
    );
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/me");
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);

    // The request_uri was one-time: the same authorize URL again is refused.
    assert!(app.mock.authorize(authorize.as_str()).await.is_err());
}

#[tokio::test]
async fn a_provider_that_requires_par_refuses_a_plain_request() {
    let mock = par_mock().await;
    // The same provider with PAR turned off in the app: the authorize page refuses.
    let provider = mock.provider().to_builder().par(false).build().unwrap();
    let app = TestApp::spawn_with_mock(mock, |b| b).await;
    let plain = OAuth::builder(provider, app.mock.client_id(), app.mock.client_secret())
        .redirect_uri(app.url("/auth/callback"))
        .build()
        .unwrap();
    let state = axum_oauth_login::secret::CsrfState::random();
    let url = plain
        .client()
        .authorize_url(&state, None, None)
        .await
        .unwrap();
    assert!(
        query_param(&url, "state").is_some(),
        "a plain request: {url}"
    );
    assert!(app.mock.authorize(url.as_str()).await.is_err());
    assert!(app.mock.requests(MockEndpoint::Par).is_empty());
}

#[tokio::test]
async fn a_failed_push_is_a_page_with_no_flow_started_and_no_plain_fallback() {
    let app = TestApp::spawn_with_mock(par_mock().await, |b| b).await;
    // The provider down: 503, try again.
    app.mock
        .respond_next(MockEndpoint::Par, 1, 503, "text/html", "<h1>down</h1>");
    let res = app
        .get_with("/auth/login", &[("accept", "text/html")])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().get("location").is_none());
    assert!(
        app.flow_cookies().is_empty(),
        "no flow cookie for a login that did not start"
    );
    let page = body(res).await;
    assert!(page.contains("could not be reached"), "{page}");

    // The provider refusing the request: 502, a configuration to fix.
    let refusal = r#"{"error":"invalid_request","error_description":"bad scope"}"#;
    app.mock
        .respond_next(MockEndpoint::Par, 1, 400, "application/json", refusal);
    let res = app.get("/auth/login").await;
    assert_eq!(res.status(), StatusCode::BAD_GATEWAY);
    let page = body(res).await;
    assert!(
        page.contains("refused to start the login (invalid_request)"),
        "{page}"
    );
    assert!(app.flow_cookies().is_empty());
    assert!(
        app.mock.requests(MockEndpoint::Authorize).is_empty(),
        "no plain request"
    );

    // Then the provider is back and the login works.
    app.login().await;
}

#[tokio::test]
async fn par_with_private_key_jwt_pushes_an_assertion_not_a_secret() {
    let key = SigningKey::from_pem(include_str!("../fixtures/keys/p256.pem")).unwrap();
    let client = MockClient {
        public_key: Some(key.public_jwk()),
        ..MockClient::new("fapi-client", "")
    };
    let mock = MockProvider::builder()
        .require_par(true)
        .default_client(client)
        .start()
        .await
        .unwrap();
    assert_eq!(mock.provider().client_auth(), ClientAuth::PrivateKeyJwt);
    let app = TestApp::spawn_with_mock(mock, |b| b.client_key(key)).await;
    app.login().await;
    let pushed = app.mock.requests(MockEndpoint::Par);
    assert_eq!(pushed[0].client_auth(), Some(ClientAuth::PrivateKeyJwt));
    assert!(!pushed[0].fields.contains_key("client_secret"));
    assert_eq!(app.get("/me").await.status(), StatusCode::OK);
}
