//! Copy-the-code: in Apicbase mode an authorize request without `redirect_uri` from a
//! client with no registered redirect URI ends on a page showing the code, which is
//! then exchanged without `redirect_uri`.

use super::*;
use axum_oauth_login::{
    client::{ErrorCode, OAuthClient},
    secret::{AuthorizationCode, CsrfState, PkceVerifier},
};

fn copy_client(mock: &MockProvider) -> OAuthClient {
    OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .without_redirect_uri()
        .build()
        .unwrap()
}

fn redirect_client(mock: &MockProvider) -> OAuthClient {
    OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri(REDIRECT)
        .build()
        .unwrap()
}

/// Logs in and allows by hand, returning the final response.
async fn walk_by_hand(mock: &MockProvider, authorize: &str, decision: &str) -> reqwest::Response {
    let page = http()
        .get(authorize)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let id = browser::hidden_field(&page, pages::REQUEST_FIELD).unwrap();
    let base = mock.base_url();
    let response = http()
        .post(format!("{base}/oauth/authorize/login/"))
        .form(&[
            ("email", "chef@example.com"),
            ("password", "password"),
            ("request", &id),
        ])
        .send()
        .await
        .unwrap();
    let cookie = response.headers()["set-cookie"].to_str().unwrap();
    let session = cookie.split(';').next().unwrap().to_owned();
    http()
        .post(format!("{base}/oauth/authorize/consent/"))
        .header("cookie", session)
        .form(&[("decision", decision), ("request", &id)])
        .send()
        .await
        .unwrap()
}

#[tokio::test]
async fn the_code_page_shows_code_and_state_and_the_code_exchanges_without_redirect_uri() {
    let mock = MockProvider::apicbase().start().await.unwrap();
    let client = copy_client(&mock);
    let state = CsrfState::new("st-<&>");
    let verifier = PkceVerifier::random();
    let url = client
        .authorize_url(&state, Some(&verifier), None)
        .await
        .unwrap();
    assert!(!url.query_pairs().any(|(k, _)| k == "redirect_uri"));

    let response = walk_by_hand(&mock, url.as_str(), "allow").await;
    assert_eq!(response.status(), StatusCode::OK);
    assert!(response.headers().get("location").is_none());
    assert_eq!(response.headers()["cache-control"], "no-store");
    let page = response.text().await.unwrap();
    assert!(page.contains("within 60 seconds"), "{page}");
    assert!(page.contains("<code id=\"state\">st-&lt;&amp;&gt;</code>"));
    assert_eq!(
        browser::code_element(&page, "state").as_deref(),
        Some("st-<&>")
    );
    let code = browser::code_element(&page, "authorization-code").unwrap();

    let tokens = client
        .exchange_code(AuthorizationCode::new(code), Some(&verifier))
        .await
        .unwrap();
    assert!(tokens.refresh_token().is_some());
    let token = &mock.requests(MockEndpoint::Token)[0];
    assert!(!token.fields.contains_key("redirect_uri"));
    assert_eq!(
        token.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
}

#[tokio::test]
async fn authorize_for_code_walks_the_pages() {
    let mock = MockProvider::apicbase().start().await.unwrap();
    let client = copy_client(&mock);
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let code = mock.authorize_for_code(url.as_str()).await.unwrap();
    assert_eq!(
        mock.hits(MockEndpoint::Authorize),
        3,
        "authorize, login, consent"
    );
    let tokens = client
        .exchange_code(AuthorizationCode::new(code.clone()), None)
        .await
        .unwrap();
    assert!(!tokens.access_token().secret().is_empty());
    // Single use.
    let again = client
        .exchange_code(AuthorizationCode::new(code), None)
        .await;
    assert!(again.is_err_and(|e| e.is_invalid_grant()));

    // `authorize` wants a redirect, `authorize_for_code` a page.
    let err = mock.authorize(url.as_str()).await.unwrap_err();
    assert!(err.contains("authorize_for_code"), "{err}");
    let with_redirect = redirect_client(&mock)
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let err = mock
        .authorize_for_code(with_redirect.as_str())
        .await
        .unwrap_err();
    assert!(err.contains("redirect"), "{err}");
}

#[tokio::test]
async fn trusted_clients_get_the_page_right_after_login() {
    let mock = MockProvider::apicbase()
        .default_client(MockClient {
            trusted: true,
            ..MockClient::new("t", "s")
        })
        .start()
        .await
        .unwrap();
    let client = copy_client(&mock);
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let code = mock.authorize_for_code(url.as_str()).await.unwrap();
    assert_eq!(mock.hits(MockEndpoint::Authorize), 2, "no consent step");
    client
        .exchange_code(AuthorizationCode::new(code), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn a_copied_code_refuses_a_redirect_uri_and_a_redirected_code_needs_one() {
    let mock = MockProvider::apicbase().start().await.unwrap();
    let copy = copy_client(&mock);
    let with_redirect = redirect_client(&mock);

    // Issued without redirect_uri, exchanged with one.
    let url = copy
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let code = mock.authorize_for_code(url.as_str()).await.unwrap();
    let result = with_redirect
        .exchange_code(AuthorizationCode::new(code), None)
        .await;
    assert!(result.is_err_and(|e| e.is_invalid_grant()));

    // Issued with redirect_uri, exchanged without.
    let url = with_redirect
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let callback = mock.authorize(url.as_str()).await.unwrap();
    let code = param(&callback, "code").unwrap();
    let result = copy.exchange_code(AuthorizationCode::new(code), None).await;
    let err = result.unwrap_err();
    assert_eq!(err.code(), Some(&ErrorCode::InvalidRequest), "{err:?}");
    assert_eq!(
        mock.requests(MockEndpoint::Token)
            .last()
            .unwrap()
            .fields
            .get("redirect_uri"),
        None
    );

    // And with it, as before.
    let url = with_redirect
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let callback = mock.authorize(url.as_str()).await.unwrap();
    let code = param(&callback, "code").unwrap();
    with_redirect
        .exchange_code(AuthorizationCode::new(code), None)
        .await
        .unwrap();
}

#[tokio::test]
async fn copied_codes_live_sixty_seconds() {
    let mock = MockProvider::apicbase().start().await.unwrap();
    let client = copy_client(&mock);
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let code = mock.authorize_for_code(url.as_str()).await.unwrap();
    mock.advance_clock(Duration::from_secs(61));
    let result = client
        .exchange_code(AuthorizationCode::new(code), None)
        .await;
    assert!(result.is_err_and(|e| e.is_invalid_grant()));
}

#[tokio::test]
async fn errors_are_shown_on_a_page_not_redirected() {
    let mock = MockProvider::apicbase().start().await.unwrap();
    let url = copy_client(&mock)
        .authorize_url(&CsrfState::new("s-1"), None, None)
        .await
        .unwrap();

    let response = walk_by_hand(&mock, url.as_str(), "deny").await;
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let page = response.text().await.unwrap();
    assert_eq!(
        browser::code_element(&page, "error").as_deref(),
        Some("access_denied")
    );
    assert_eq!(
        browser::code_element(&page, "state").as_deref(),
        Some("s-1")
    );
    assert!(!page.contains("authorization-code"));
    assert!(mock.deny(url.as_str()).await.is_err());

    let bad = url
        .as_str()
        .replace("response_type=code", "response_type=token");
    let response = http().get(&bad).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let page = response.text().await.unwrap();
    assert_eq!(
        browser::code_element(&page, "error").as_deref(),
        Some("unsupported_response_type")
    );
    assert!(mock.authorize_for_code(&bad).await.is_err());
}

#[tokio::test]
async fn a_registered_redirect_uri_is_used_when_the_request_names_none() {
    let mock = MockProvider::apicbase()
        .default_client(MockClient {
            redirect_uris: vec![REDIRECT.to_owned()],
            ..MockClient::new("registered", "s")
        })
        .start()
        .await
        .unwrap();
    let url = copy_client(&mock)
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let callback = mock.authorize(url.as_str()).await.unwrap();
    assert!(callback.as_str().starts_with(REDIRECT));
    assert!(param(&callback, "code").is_some());
}

#[tokio::test]
async fn vcita_mode_refuses_a_missing_redirect_uri() {
    let mock = MockProvider::start().await.unwrap();
    let client = copy_client(&mock);
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let response = http().get(url.clone()).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    assert!(response.headers().get("location").is_none());
    let page = response.text().await.unwrap();
    assert!(page.contains("redirect_uri is required"), "{page}");
    let err = mock.authorize_for_code(url.as_str()).await.unwrap_err();
    assert!(err.contains("400"), "{err}");
    // Nothing was left pending.
    assert!(mock.inner.shared.lock().pending.is_empty());
}
