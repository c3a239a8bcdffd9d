//! The Apicbase preset: trailing-slash paths, form-only token requests, 60 s codes,
//! rotating refresh tokens, introspection, and an `OAuthClient` login against it.

use super::*;
use axum_oauth_login::{
    client::{Endpoint as ClientEndpoint, OAuthClient, OAuthError, TokenRef},
    secret::{AuthorizationCode, CsrfState, PkceVerifier, RefreshToken},
};

async fn apicbase() -> MockProvider {
    MockProvider::apicbase().start().await.unwrap()
}

fn client(mock: &MockProvider) -> OAuthClient {
    OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri(REDIRECT)
        .build()
        .unwrap()
}

/// Walks the login pages with `client` and returns the code and the PKCE verifier.
async fn login(mock: &MockProvider, client: &OAuthClient) -> (AuthorizationCode, PkceVerifier) {
    let state = CsrfState::random();
    let verifier = PkceVerifier::random();
    let url = client
        .authorize_url(&state, Some(&verifier), None)
        .await
        .unwrap();
    let callback = mock.authorize(url.as_str()).await.unwrap();
    assert_eq!(param(&callback, "state").as_deref(), Some(state.secret()));
    let code = param(&callback, "code").expect("a code in the callback");
    (AuthorizationCode::new(code), verifier)
}

/// A code exchange as Apicbase documents it: a form with the client credentials.
async fn exchange_form(mock: &MockProvider, code: &str) -> reqwest::Response {
    http()
        .post(mock.provider().token_url().clone())
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code),
            ("redirect_uri", REDIRECT),
            ("client_id", mock.client_id()),
            ("client_secret", mock.client_secret()),
        ])
        .send()
        .await
        .unwrap()
}

fn unix_now() -> u64 {
    state::unix_secs(std::time::SystemTime::now())
}

fn invalid_grant(result: Result<axum_oauth_login::TokenSet, OAuthError>) -> bool {
    result.is_err_and(|e| e.is_invalid_grant())
}

#[tokio::test]
async fn provider_is_apicbase_shaped_with_the_mocks_urls() {
    let mock = apicbase().await;
    let base = mock.base_url();
    let p = mock.provider();
    assert_eq!(p.name(), "apicbase-mock");
    assert_eq!(
        p.authorize_url().as_str(),
        format!("{base}/oauth/authorize/")
    );
    assert_eq!(p.token_url().as_str(), format!("{base}/oauth/token/"));
    assert_eq!(
        p.introspection_url().map(Url::as_str),
        Some(format!("{base}/oauth/introspect/").as_str())
    );
    assert!(p.userinfo_url().is_none() && p.revocation_url().is_none());
    assert_eq!(p.token_body(), TokenBody::Form);
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretPost);
    assert_eq!(
        p.user_resolver(),
        axum_oauth_login::provider::UserResolver::Introspection
    );
    assert_eq!(p.issuer(), Some(base.as_str()));
    let preset = Provider::apicbase();
    assert_eq!(
        (p.pkce(), p.scopes(), p.authorize_params()),
        (preset.pkce(), preset.scopes(), preset.authorize_params())
    );
    assert_eq!(mock.user().email, "chef@example.com");
}

#[tokio::test]
async fn full_login_with_oauth_client_uses_forms_and_trailing_slashes() {
    let mock = apicbase().await;
    let client = client(&mock);
    let (code, verifier) = login(&mock, &client).await;
    let authorize = &mock.requests(MockEndpoint::Authorize)[0];
    assert_eq!(authorize.fields["client_id"], mock.client_id());

    let tokens = client.exchange_code(code, Some(&verifier)).await.unwrap();
    let expires_in = tokens.expires_at().unwrap() - unix_now();
    assert!((604_790..=604_800).contains(&expires_in), "{expires_in}");
    assert!(tokens.refresh_token().is_some());

    // The only token route is `/oauth/token/`, so one hit proves the slash was sent.
    assert_eq!(mock.hits(MockEndpoint::Token), 1);
    let recorded = &mock.requests(MockEndpoint::Token)[0];
    assert_eq!(
        recorded.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(recorded.client_auth(), Some(ClientAuth::ClientSecretPost));
    assert_eq!(recorded.fields["grant_type"], "authorization_code");
    assert_eq!(recorded.fields["redirect_uri"], REDIRECT);

    let info = client
        .introspect(TokenRef::Access(tokens.access_token()))
        .await
        .unwrap();
    assert!(info.active);
    assert_eq!(info.username.as_deref(), Some("chef@example.com"));
    assert_eq!(
        info.to_user_info().email.as_deref(),
        Some("chef@example.com")
    );
    let introspected = &mock.requests(MockEndpoint::Introspect)[0];
    assert_eq!(
        introspected.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );
    assert_eq!(introspected.fields["client_id"], mock.client_id());
    assert!(introspected.fields.contains_key("client_secret"));

    let no_userinfo = client.userinfo::<Value>(tokens.access_token()).await;
    assert!(matches!(
        no_userinfo,
        Err(OAuthError::NotConfigured {
            endpoint: ClientEndpoint::Userinfo
        })
    ));

    // The deny button works here too.
    let url = client
        .authorize_url(&CsrfState::random(), None, None)
        .await
        .unwrap();
    let denied = mock.deny(url.as_str()).await.unwrap();
    assert_eq!(param(&denied, "error").as_deref(), Some("access_denied"));
}

#[tokio::test]
async fn json_token_requests_are_rejected() {
    let mock = apicbase().await;
    let code = login_code(&mock, &[]).await;
    let body = json!({
        "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
        "client_id": mock.client_id(), "client_secret": mock.client_secret(),
    });
    let (status, answer) = post_json(format!("{}/oauth/token/", mock.base_url()), body).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(answer["error"], "invalid_request");

    // The rejected request did not consume the code: the same fields as a form work.
    let response = exchange_form(&mock, &code).await;
    assert_eq!(response.status(), StatusCode::OK);
    let token: Value = response.json().await.unwrap();
    assert_eq!(token["token_type"], "Bearer");
    assert_eq!(token["expires_in"], 604_800);
    assert!(token["refresh_token"].is_string());
    assert!(token.get("created_at").is_none());
}

#[tokio::test]
async fn codes_expire_after_sixty_seconds() {
    let mock = apicbase().await;
    let client = client(&mock);
    let (code, verifier) = login(&mock, &client).await;
    mock.advance_clock(Duration::from_secs(59));
    assert!(client.exchange_code(code, Some(&verifier)).await.is_ok());

    let (code, verifier) = login(&mock, &client).await;
    mock.advance_clock(Duration::from_secs(61));
    assert!(invalid_grant(
        client.exchange_code(code, Some(&verifier)).await
    ));
}

#[tokio::test]
async fn refresh_tokens_rotate_and_never_expire() {
    let mock = apicbase().await;
    let client = client(&mock);
    let (code, verifier) = login(&mock, &client).await;
    let first = client.exchange_code(code, Some(&verifier)).await.unwrap();
    let r1 = first.refresh_token().unwrap().clone();

    // A week and a day later the access token is dead; its refresh token is not.
    mock.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let gone = client
        .introspect(TokenRef::Access(first.access_token()))
        .await
        .unwrap();
    assert!(!gone.active);
    let second = client.refresh(&r1).await.unwrap();
    let r2 = second.refresh_token().unwrap().clone();
    assert_ne!(r2.secret(), r1.secret());
    assert_ne!(
        second.access_token().secret(),
        first.access_token().secret()
    );
    let fresh = client
        .introspect(TokenRef::Access(second.access_token()))
        .await
        .unwrap();
    assert!(fresh.active);

    // Rotation: the old refresh token stopped working.
    assert!(invalid_grant(client.refresh(&r1).await));
    assert!(invalid_grant(
        client.refresh(&RefreshToken::new("unknown")).await
    ));

    // Years later the current refresh token still works, once.
    mock.advance_clock(Duration::from_secs(5 * 365 * 24 * 3600));
    let third = client.refresh(&r2).await.unwrap();
    assert_ne!(third.refresh_token().unwrap().secret(), r2.secret());
    assert!(invalid_grant(client.refresh(&r2).await));
    assert_eq!(mock.refresh_hits(), 5);
}

#[tokio::test]
async fn introspection_answers_active_or_inactive_with_200() {
    let mock = MockProvider::apicbase()
        .client(MockClient::new("other", "other-secret"))
        .start()
        .await
        .unwrap();
    let code = login_code(&mock, &[("scope", "library sales")]).await;
    let token: Value = exchange_form(&mock, &code).await.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap();
    let url = mock.provider().introspection_url().unwrap().clone();
    let ask = |token: String, id: &'static str, secret: &'static str| {
        let http = http();
        let url = url.clone();
        async move {
            let response = http
                .post(url)
                .form(&[
                    ("token", token.as_str()),
                    ("client_id", id),
                    ("client_secret", secret),
                ])
                .send()
                .await
                .unwrap();
            assert_eq!(response.status(), StatusCode::OK);
            response.json::<Value>().await.unwrap()
        }
    };
    let answer = ask(access.into(), "mock-client-id", "mock-client-secret").await;
    let exp = answer["exp"].as_u64().unwrap();
    assert_eq!(
        answer,
        json!({
            "active": true, "scope": "library sales", "exp": exp,
            "client_id": "mock-client-id", "username": "chef@example.com",
        })
    );
    let now = unix_now();
    assert!((now + 604_790..=now + 604_800).contains(&exp));

    let inactive = json!({ "active": false });
    assert_eq!(
        ask("unknown".into(), "mock-client-id", "mock-client-secret").await,
        inactive
    );
    let refresh = token["refresh_token"].as_str().unwrap().to_owned();
    assert_eq!(
        ask(refresh, "mock-client-id", "mock-client-secret").await,
        inactive
    );
    assert_eq!(ask(access.into(), "other", "other-secret").await, inactive);
    mock.advance_clock(Duration::from_secs(604_801));
    assert_eq!(
        ask(access.into(), "mock-client-id", "mock-client-secret").await,
        inactive
    );
}

#[tokio::test]
async fn vcita_paths_answer_404() {
    let mock = apicbase().await;
    let base = mock.base_url();
    let query = format!(
        "?response_type=code&client_id={}&redirect_uri={REDIRECT}",
        mock.client_id()
    );
    for path in [
        "/app/oauth/authorize",
        "/oauth/authorize",
        "/oauth/userinfo",
        "/oauth/userinfo/",
    ] {
        let response = http()
            .get(format!("{base}{path}{query}"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "GET {path}");
    }
    for path in [
        "/oauth/token",
        "/oauth/introspect",
        "/oauth/revoke",
        "/platform/v1/apps",
    ] {
        let response = http()
            .post(format!("{base}{path}"))
            .form(&client_form(&mock, "x"))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::NOT_FOUND, "POST {path}");
    }
    assert_eq!(
        mock.hits(MockEndpoint::Authorize) + mock.hits(MockEndpoint::Token),
        0
    );
    // And the slash forms answer.
    let page = http()
        .get(format!("{base}/oauth/authorize/{query}"))
        .send()
        .await
        .unwrap();
    assert_eq!(page.status(), StatusCode::OK);
    let response = http()
        .post(format!("{base}/oauth/revoke/"))
        .form(&client_form(&mock, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn vcita_mode_keeps_its_paths() {
    let mock = MockProvider::start().await.unwrap();
    let response = http()
        .post(format!("{}/oauth/token/", mock.base_url()))
        .form(&client_form(&mock, "x"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
    assert_eq!(mock.user().email, "owner@example.com");
}
