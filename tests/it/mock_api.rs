//! The mock's API endpoint (`MockEndpoint::Api`) and its copy-the-code flow, driven by
//! `OAuthClient` as a command-line program would: no redirect URI, a code copied from
//! the provider's page, then API calls with the access token.

use axum_oauth_login::{
    client::{OAuthClient, TokenRef},
    secret::{AuthorizationCode, CsrfState, PkceVerifier},
};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

fn client(mock: &MockProvider, redirect_uri: Option<&str>) -> OAuthClient {
    let builder = OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret());
    match redirect_uri {
        Some(uri) => builder.redirect_uri(uri),
        None => builder.without_redirect_uri(),
    }
    .build()
    .expect("client")
}

async fn get(url: Url, token: Option<&str>) -> (StatusCode, Value) {
    let mut request = crate::support::client_builder()
        .build()
        .expect("client")
        .get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.expect("API request");
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

#[tokio::test]
async fn copy_the_code_then_call_the_apicbase_api() {
    let mock = MockProvider::apicbase().start().await.expect("mock");
    let client = client(&mock, None);
    assert!(client.redirect_uri().is_none());
    let verifier = PkceVerifier::random();
    let url = client
        .authorize_url(&CsrfState::random(), Some(&verifier), None)
        .await
        .unwrap();
    let code = mock
        .authorize_for_code(url.as_str())
        .await
        .expect("code page");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code), Some(&verifier))
        .await
        .expect("exchange without redirect_uri");
    let token = tokens.access_token().secret().to_owned();

    let library = mock
        .provider()
        .api_base()
        .expect("api base")
        .join("library/")
        .expect("library URL");
    assert_eq!(library.path(), "/api/v1/library/");
    let (status, body) = get(library.clone(), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["library"]["name"], "chef@example.com's library");

    // The API says 401 twice, then recovers.
    mock.fail_next(MockEndpoint::Api, 2, 401);
    assert_eq!(
        get(library.clone(), Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(library.clone(), Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(library.clone(), Some(&token)).await.0, StatusCode::OK);

    assert_eq!(get(library.clone(), None).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(
        get(library, Some("forged")).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(mock.hits(MockEndpoint::Api), 6);
}

#[tokio::test]
async fn vcita_business_for_a_logged_in_user() {
    let mock = MockProvider::start().await.expect("mock");
    let client = client(&mock, Some("http://127.0.0.1:9/callback"));
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let callback = mock.authorize(url.as_str()).await.expect("login");
    let code = callback
        .query_pairs()
        .find(|(k, _)| k == "code")
        .map(|(_, v)| v.into_owned())
        .expect("code");
    let tokens = client
        .exchange_code(AuthorizationCode::new(code), None)
        .await
        .expect("exchange");
    let token = tokens.access_token().secret().to_owned();
    let api = mock.provider().api_base().expect("api base").clone();
    let business = |id: &str| api.join(&format!("platform/v1/businesses/{id}")).unwrap();

    let (status, body) = get(business("b-42"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["status"], "OK");
    assert_eq!(body["data"]["business"]["id"], "b-42");
    assert_eq!(body["data"]["business"]["name"], "Demo Salon");
    assert_eq!(
        get(business("b-1"), Some(&token)).await.0,
        StatusCode::FORBIDDEN
    );

    client
        .revoke(TokenRef::Access(tokens.access_token()))
        .await
        .expect("revoke");
    let (status, body) = get(business("b-42"), Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_token");
}

#[tokio::test]
async fn vcita_has_no_copy_the_code_page() {
    let mock = MockProvider::start().await.expect("mock");
    let url = client(&mock, None)
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let err = mock
        .authorize_for_code(url.as_str())
        .await
        .expect_err("vcita needs a redirect_uri");
    assert!(err.contains("redirect_uri is required"), "{err}");
}
