//! Tests of the mock provider over real HTTP.

use std::time::{Duration, Instant};

use base64::Engine as _;
use base64::engine::general_purpose::{STANDARD, URL_SAFE_NO_PAD};
use reqwest::StatusCode;
use serde_json::{Value, json};
use sha2::{Digest, Sha256};
use url::Url;

use super::*;

const REDIRECT: &str = "http://127.0.0.1:9/callback";

fn http() -> reqwest::Client {
    reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap()
}

fn authorize_url(mock: &MockProvider, extra: &[(&str, &str)]) -> String {
    let mut params = vec![
        ("response_type", "code"),
        ("client_id", mock.client_id()),
        ("redirect_uri", REDIRECT),
        ("state", "st-1"),
    ];
    params.extend_from_slice(extra);
    Url::parse_with_params(mock.provider().authorize_url().as_str(), &params)
        .unwrap()
        .to_string()
}

fn param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

async fn login_code(mock: &MockProvider, extra: &[(&str, &str)]) -> String {
    let callback = mock.authorize(&authorize_url(mock, extra)).await.unwrap();
    param(&callback, "code").expect("a code in the callback")
}

async fn post_json(url: String, body: Value) -> (StatusCode, Value) {
    let response = http().post(url).json(&body).send().await.unwrap();
    let status = response.status();
    (status, response.json().await.unwrap_or(Value::Null))
}

async fn exchange(mock: &MockProvider, code: &str, extra: Value) -> (StatusCode, Value) {
    let mut body = json!({
        "grant_type": "authorization_code",
        "code": code,
        "client_id": mock.client_id(),
        "client_secret": mock.client_secret(),
        "redirect_uri": REDIRECT,
    });
    if let (Some(body), Value::Object(extra)) = (body.as_object_mut(), extra) {
        body.extend(extra);
    }
    post_json(format!("{}/oauth/token", mock.base_url()), body).await
}

async fn userinfo_status(mock: &MockProvider, token: &str) -> StatusCode {
    http()
        .get(format!("{}/oauth/userinfo", mock.base_url()))
        .bearer_auth(token)
        .send()
        .await
        .unwrap()
        .status()
}

fn client_form<'a>(mock: &'a MockProvider, token: &'a str) -> Vec<(&'a str, &'a str)> {
    vec![
        ("token", token),
        ("client_id", mock.client_id()),
        ("client_secret", mock.client_secret()),
    ]
}

async fn introspect(mock: &MockProvider, token: &str) -> Value {
    let response = http()
        .post(format!("{}/oauth/introspect", mock.base_url()))
        .form(&client_form(mock, token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    response.json().await.unwrap()
}

#[tokio::test]
async fn code_flow_with_json_exchange() {
    let mock = MockProvider::start().await.unwrap();
    let callback = mock.authorize(&authorize_url(&mock, &[])).await.unwrap();
    assert!(callback.as_str().starts_with(REDIRECT));
    assert_eq!(param(&callback, "state").as_deref(), Some("st-1"));
    assert_eq!(param(&callback, "iss"), Some(mock.base_url()));
    let code = param(&callback, "code").unwrap();
    assert_eq!(URL_SAFE_NO_PAD.decode(&code).unwrap().len(), 32);

    let response = http()
        .post(mock.provider().token_url().clone())
        .json(&json!({
            "grant_type": "authorization_code", "code": code, "redirect_uri": REDIRECT,
            "client_id": mock.client_id(), "client_secret": mock.client_secret(),
        }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(response.headers()["cache-control"], "no-store");
    let token: Value = response.json().await.unwrap();
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(access.len(), 64);
    assert!(access.chars().all(|c| matches!(c, '0'..='9' | 'a'..='f')));
    assert_eq!(token["token_type"], "bearer");
    assert_eq!(token["expires_in"], 631_152_000);
    assert!(token["created_at"].as_u64().unwrap() > 1_600_000_000);
    assert!(token.get("refresh_token").is_none());

    assert_eq!(
        mock.hits(Endpoint::Authorize),
        3,
        "GET, login post, consent post"
    );
    assert_eq!(mock.hits(Endpoint::Token), 1);
    let recorded = mock.requests(Endpoint::Token);
    assert_eq!(recorded.len(), 1);
    assert_eq!(
        recorded[0].content_type.as_deref(),
        Some("application/json")
    );
    assert_eq!(
        recorded[0].client_auth(),
        Some(ClientAuth::ClientSecretPost)
    );
    assert_eq!(recorded[0].fields["code"], code);

    let info: Value = http()
        .get(mock.provider().userinfo_url().unwrap().clone())
        .bearer_auth(access)
        .send()
        .await
        .unwrap()
        .json()
        .await
        .unwrap();
    assert_eq!(info, mock.user().info);
    assert_eq!(info["business_uid"], "biz_42");
}

#[tokio::test]
async fn form_bodies_and_basic_auth() {
    let mock = MockProvider::start().await.unwrap();
    let code = login_code(&mock, &[]).await;
    let response = http()
        .post(format!("{}/oauth/token", mock.base_url()))
        .basic_auth(mock.client_id(), Some(mock.client_secret()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", &code),
            ("redirect_uri", REDIRECT),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let recorded = &mock.requests(Endpoint::Token)[0];
    assert_eq!(recorded.client_auth(), Some(ClientAuth::ClientSecretBasic));
    assert_eq!(
        recorded.content_type.as_deref(),
        Some("application/x-www-form-urlencoded")
    );

    let strict = MockProvider::builder()
        .accept_form(false)
        .start()
        .await
        .unwrap();
    let code = login_code(&strict, &[]).await;
    let response = http()
        .post(format!("{}/oauth/token", strict.base_url()))
        .form(&[
            ("grant_type", "authorization_code"),
            ("code", code.as_str()),
            ("redirect_uri", REDIRECT),
            ("client_id", strict.client_id()),
            ("client_secret", strict.client_secret()),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");
    assert_eq!(strict.requests(Endpoint::Token)[0].fields["code"], code);
}

#[tokio::test]
async fn codes_are_single_use_and_a_replay_revokes_the_token() {
    let mock = MockProvider::start().await.unwrap();
    let code = login_code(&mock, &[]).await;
    let (status, token) = exchange(&mock, &code, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let access = token["access_token"].as_str().unwrap();
    let (status, body) = exchange(&mock, &code, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "code already used");
    assert_eq!(
        userinfo_status(&mock, access).await,
        StatusCode::UNAUTHORIZED
    );
}

#[tokio::test]
async fn expired_code_is_invalid_grant() {
    let mock = MockProvider::start().await.unwrap();
    let code = login_code(&mock, &[]).await;
    mock.advance_clock(Duration::from_secs(31));
    let (status, body) = exchange(&mock, &code, json!({})).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "code expired");
}

#[tokio::test]
async fn failed_checks_still_consume_the_code() {
    let mock = MockProvider::start().await.unwrap();
    let code = login_code(&mock, &[]).await;
    let other = json!({ "redirect_uri": "http://127.0.0.1:9/other" });
    let (status, body) = exchange(&mock, &code, other).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error_description"], "redirect_uri mismatch");
    let (_, body) = exchange(&mock, &code, json!({})).await;
    assert_eq!(body["error_description"], "code already used");
}

#[tokio::test]
async fn pkce_is_verified() {
    let mock = MockProvider::start().await.unwrap();
    let verifier = "a".repeat(50);
    let challenge = URL_SAFE_NO_PAD.encode(Sha256::digest(verifier.as_bytes()));
    let pkce = [
        ("code_challenge", challenge.as_str()),
        ("code_challenge_method", "S256"),
    ];

    let code = login_code(&mock, &pkce).await;
    let (status, body) = exchange(&mock, &code, json!({ "code_verifier": "b".repeat(50) })).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    assert_eq!(body["error_description"], "PKCE verification failed");

    let code = login_code(&mock, &pkce).await;
    let (_, body) = exchange(&mock, &code, json!({})).await;
    assert_eq!(body["error_description"], "PKCE verification failed");

    let code = login_code(&mock, &pkce).await;
    let (status, _) = exchange(&mock, &code, json!({ "code_verifier": verifier })).await;
    assert_eq!(status, StatusCode::OK);

    let plain = [("code_challenge", challenge.as_str())];
    let callback = mock.authorize(&authorize_url(&mock, &plain)).await.unwrap();
    assert_eq!(
        param(&callback, "error").as_deref(),
        Some("invalid_request")
    );
    assert_eq!(param(&callback, "state").as_deref(), Some("st-1"));
}

#[tokio::test]
async fn client_authentication_failures_are_401() {
    let mock = MockProvider::start().await.unwrap();
    let code = login_code(&mock, &[]).await;
    let (status, body) = exchange(&mock, &code, json!({ "client_secret": "wrong" })).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error"], "invalid_client");

    for header in ["Basic !!!not-base64", "Basic Zm9v", "Basic"] {
        let response = http()
            .post(format!("{}/oauth/token", mock.base_url()))
            .header("authorization", header)
            .json(&json!({ "grant_type": "authorization_code", "code": code }))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::UNAUTHORIZED, "{header}");
        assert!(
            response.headers().contains_key("www-authenticate"),
            "{header}"
        );
    }
    // Basic credentials are form-urlencoded before base64 (RFC 6749 §2.3.1).
    let odd = MockProvider::builder()
        .default_client(MockClient::new("id:1", "s e+c/r%t"))
        .start()
        .await
        .unwrap();
    let encoded = STANDARD.encode("id%3A1:s+e%2Bc%2Fr%25t");
    let response = http()
        .post(format!("{}/oauth/introspect", odd.base_url()))
        .header("authorization", format!("Basic {encoded}"))
        .form(&[("token", "x")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
}

#[tokio::test]
async fn malformed_token_requests_are_400() {
    let mock = MockProvider::start().await.unwrap();
    let url = format!("{}/oauth/token", mock.base_url());
    let response = http()
        .post(&url)
        .header("content-type", "application/json")
        .body("{not json")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_REQUEST);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_request");

    let creds = json!({ "client_id": mock.client_id(), "client_secret": mock.client_secret() });
    let (status, body) = post_json(url.clone(), creds.clone()).await;
    assert_eq!(
        (status, body["error"].as_str()),
        (StatusCode::BAD_REQUEST, Some("invalid_request"))
    );
    let mut password = creds.clone();
    password["grant_type"] = json!("password");
    let (_, body) = post_json(url.clone(), password).await;
    assert_eq!(body["error"], "unsupported_grant_type");
    let mut no_code = creds;
    no_code["grant_type"] = json!("authorization_code");
    let (_, body) = post_json(url.clone(), no_code).await;
    assert_eq!(body["error"], "invalid_request");
    let (status, _) = post_json(url, json!([1, 2])).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(mock.hits(Endpoint::Token), 5);
}

#[tokio::test]
async fn userinfo_checks_the_bearer_token() {
    let mock = MockProvider::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let token = mock.issue_token();
    assert_eq!(userinfo_status(&mock, &token).await, StatusCode::OK);
    let response = http()
        .get(format!("{}/oauth/userinfo", mock.base_url()))
        .bearer_auth("nope")
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let challenge = response.headers()["www-authenticate"].to_str().unwrap();
    assert!(challenge.starts_with("Bearer ") && challenge.contains(r#"error="invalid_token""#));
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["error"], "invalid_token");
    let anonymous = http()
        .get(format!("{}/oauth/userinfo", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(anonymous.status(), StatusCode::UNAUTHORIZED);

    mock.advance_clock(Duration::from_secs(61));
    assert_eq!(
        userinfo_status(&mock, &token).await,
        StatusCode::UNAUTHORIZED
    );
    mock.set_token_lifetime(Duration::from_secs(3600));
    let fresh = mock.issue_token();
    assert_eq!(userinfo_status(&mock, &fresh).await, StatusCode::OK);
    mock.revoke_all();
    assert_eq!(
        userinfo_status(&mock, &fresh).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(mock.hits(Endpoint::Userinfo), 6);
}

#[tokio::test]
async fn introspection_reports_active_and_inactive_tokens() {
    let mock = MockProvider::builder()
        .refresh_tokens(true)
        .client(MockClient::new("other", "other-secret"))
        .start()
        .await
        .unwrap();
    let code = login_code(&mock, &[("scope", "openid profile")]).await;
    let (_, token) = exchange(&mock, &code, json!({})).await;
    let access = token["access_token"].as_str().unwrap();
    let answer = introspect(&mock, access).await;
    assert_eq!(answer["active"], true);
    assert_eq!(answer["scope"], "openid profile");
    assert_eq!(answer["client_id"], mock.client_id());
    assert_eq!(answer["username"], "owner@example.com");
    assert_eq!(answer["sub"], "u-1001");
    assert_eq!(answer["token_type"], "access_token");
    assert!(answer["exp"].as_u64().unwrap() > token["created_at"].as_u64().unwrap());

    let refresh = introspect(&mock, token["refresh_token"].as_str().unwrap()).await;
    assert_eq!(refresh["active"], true);
    assert_eq!(refresh["token_type"], "refresh_token");
    assert_eq!(
        introspect(&mock, "unknown").await,
        json!({ "active": false })
    );

    // JSON bodies work too; another client does not see this client's token.
    let (status, answer) = post_json(
        format!("{}/oauth/introspect", mock.base_url()),
        json!({ "token": access, "client_id": "other", "client_secret": "other-secret" }),
    )
    .await;
    assert_eq!(
        (status, answer),
        (StatusCode::OK, json!({ "active": false }))
    );
    let (status, answer) = post_json(
        format!("{}/oauth/introspect", mock.base_url()),
        json!({ "token": access, "client_id": "other", "client_secret": "bad" }),
    )
    .await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(answer["error"], "invalid_client");
    assert_eq!(mock.requests(Endpoint::Introspect).len(), 5);
}

#[tokio::test]
async fn revocation() {
    let mock = MockProvider::start().await.unwrap();
    let token = mock.issue_token();
    let url = format!("{}/oauth/revoke", mock.base_url());
    let response = http()
        .post(&url)
        .form(&client_form(&mock, &token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    assert_eq!(
        userinfo_status(&mock, &token).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(introspect(&mock, &token).await["active"], false);
    let response = http()
        .post(&url)
        .form(&client_form(&mock, "unknown"))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let response = http()
        .post(&url)
        .form(&[
            ("token", "x"),
            ("client_id", mock.client_id()),
            ("client_secret", "bad"),
        ])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    assert_eq!(mock.hits(Endpoint::Revoke), 3);
}

#[tokio::test]
async fn refresh_tokens_rotate() {
    let mock = MockProvider::builder()
        .refresh_tokens(true)
        .start()
        .await
        .unwrap();
    let code = login_code(&mock, &[]).await;
    let (_, first) = exchange(&mock, &code, json!({})).await;
    let old = first["refresh_token"].as_str().unwrap().to_owned();
    let refresh = |token: String| {
        let body = json!({
            "grant_type": "refresh_token", "refresh_token": token,
            "client_id": mock.client_id(), "client_secret": mock.client_secret(),
        });
        post_json(format!("{}/oauth/token", mock.base_url()), body)
    };
    let (status, second) = refresh(old.clone()).await;
    assert_eq!(status, StatusCode::OK);
    let new = second["refresh_token"].as_str().unwrap().to_owned();
    assert_ne!(new, old);
    assert_ne!(second["access_token"], first["access_token"]);
    let (status, body) = refresh(old).await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert_eq!(body["error"], "invalid_grant");
    let (status, _) = refresh(new).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(mock.refresh_hits(), 3);
    assert_eq!(mock.hits(Endpoint::Token), 4);

    let steady = MockProvider::builder()
        .refresh_tokens(true)
        .rotate_refresh_tokens(false)
        .start()
        .await
        .unwrap();
    let code = login_code(&steady, &[]).await;
    let (_, first) = exchange(&steady, &code, json!({})).await;
    for _ in 0..2 {
        let (status, body) = post_json(
            format!("{}/oauth/token", steady.base_url()),
            json!({
                "grant_type": "refresh_token", "refresh_token": first["refresh_token"],
                "client_id": steady.client_id(), "client_secret": steady.client_secret(),
            }),
        )
        .await;
        assert_eq!(status, StatusCode::OK);
        assert!(body.get("refresh_token").is_none());
    }
}

#[tokio::test]
async fn app_registration() {
    let mock = MockProvider::start().await.unwrap();
    let url = format!("{}/platform/v1/apps", mock.base_url());
    let app = json!({
        "name": "My <App>", "app_code_name": "myapp",
        "redirect_uri": "https://myapp.example.com/oauth/callback", "scopes": ["openid"],
    });
    let response = http().post(&url).json(&app).send().await.unwrap();
    assert_eq!(response.status(), StatusCode::UNAUTHORIZED);
    let body: Value = response.json().await.unwrap();
    assert_eq!(
        (body["status"].as_str(), body["error"].as_str()),
        (Some("Error"), Some("unauthorized"))
    );

    let register = |body: Value| {
        http()
            .post(&url)
            .bearer_auth("mock-directory-token")
            .json(&body)
            .send()
    };
    let response = register(app.clone()).await.unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let created: Value = response.json().await.unwrap();
    assert_eq!(created["status"], "OK");
    let data = &created["data"];
    assert_eq!(data["app_code_name"], "myapp");
    assert_eq!(data["scopes"], json!(["openid"]));
    assert!(data["app_id"].is_string() && data["client_secret"].is_string());

    let response = register(json!({ "name": "", "redirect_uri": "not a url" }))
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::UNPROCESSABLE_ENTITY);
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["status"], "Error");
    for field in ["name", "app_code_name", "redirect_uri"] {
        assert!(body["errors"][field][0].is_string(), "{field}: {body}");
    }
    let response = register(app).await.unwrap();
    let body: Value = response.json().await.unwrap();
    assert_eq!(body["errors"]["app_code_name"][0], "has already been taken");

    // The new client can log users in, on its registered redirect URI only.
    let client_id = data["client_id"].as_str().unwrap();
    let start = |redirect: &str| {
        Url::parse_with_params(
            &format!("{}/app/oauth/authorize", mock.base_url()),
            &[
                ("response_type", "code"),
                ("client_id", client_id),
                ("redirect_uri", redirect),
            ],
        )
        .unwrap()
    };
    let callback = mock
        .authorize(start(data["redirect_uri"].as_str().unwrap()).as_str())
        .await;
    assert!(param(&callback.unwrap(), "code").is_some());
    assert!(mock.authorize(start(REDIRECT).as_str()).await.is_err());
    let page = http().get(start(REDIRECT)).send().await.unwrap();
    assert_eq!(page.status(), StatusCode::BAD_REQUEST);
    assert_eq!(mock.hits(Endpoint::RegisterApp), 4);
}

#[tokio::test]
async fn bad_client_or_redirect_uri_get_a_page_not_a_redirect() {
    let mock = MockProvider::start().await.unwrap();
    for (client, redirect) in [
        ("unknown", REDIRECT),
        (mock.client_id(), "https://evil.example/cb"),
        (mock.client_id(), "http://127.0.0.1:9/cb#fragment"),
    ] {
        let url = Url::parse_with_params(
            &format!("{}/app/oauth/authorize", mock.base_url()),
            &[
                ("response_type", "code"),
                ("client_id", client),
                ("redirect_uri", redirect),
            ],
        )
        .unwrap();
        let response = http().get(url).send().await.unwrap();
        assert_eq!(response.status(), StatusCode::BAD_REQUEST);
        assert!(response.headers().get("location").is_none());
        let page = response.text().await.unwrap();
        assert!(page.contains("<title>"));
    }
}

#[tokio::test]
async fn error_redirects_keep_state_and_existing_query() {
    let mock = MockProvider::start().await.unwrap();
    let callback = mock.deny(&authorize_url(&mock, &[])).await.unwrap();
    assert_eq!(param(&callback, "error").as_deref(), Some("access_denied"));
    assert_eq!(param(&callback, "state").as_deref(), Some("st-1"));
    assert!(param(&callback, "code").is_none());

    let url = authorize_url(&mock, &[]).replace("response_type=code", "response_type=token");
    let callback = mock.authorize(&url).await.unwrap();
    assert_eq!(
        param(&callback, "error").as_deref(),
        Some("unsupported_response_type")
    );

    let with_query = "http://localhost:8080/cb?tenant=a%20b";
    let url = Url::parse_with_params(
        &format!("{}/app/oauth/authorize", mock.base_url()),
        &[
            ("response_type", "code"),
            ("client_id", mock.client_id()),
            ("redirect_uri", with_query),
        ],
    )
    .unwrap();
    let callback = mock.authorize(url.as_str()).await.unwrap();
    assert_eq!(param(&callback, "tenant").as_deref(), Some("a b"));
    assert!(param(&callback, "code").is_some() && param(&callback, "state").is_none());

    let quiet = MockProvider::builder()
        .iss_in_redirect(false)
        .start()
        .await
        .unwrap();
    let callback = quiet.authorize(&authorize_url(&quiet, &[])).await.unwrap();
    assert!(param(&callback, "iss").is_none());
}

/// Logs in by hand and returns the page after login and the session cookie.
async fn manual_login(
    mock: &MockProvider,
    password: &str,
    extra: &[(&str, &str)],
) -> (String, Option<String>) {
    let page = http()
        .get(authorize_url(mock, extra))
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"action="/app/oauth/authorize/login""#));
    assert!(page.contains(r#"id="login""#));
    let id = super::browser::hidden_field(&page, "request").unwrap();
    let response = http()
        .post(format!("{}/app/oauth/authorize/login", mock.base_url()))
        .form(&[
            ("email", "Owner@Example.com"),
            ("password", password),
            ("request", &id),
        ])
        .send()
        .await
        .unwrap();
    let cookie = response
        .headers()
        .get("set-cookie")
        .map(|v| v.to_str().unwrap().to_owned());
    (response.text().await.unwrap(), cookie)
}

#[tokio::test]
async fn login_page_session_and_escaping() {
    let mock = MockProvider::start().await.unwrap();
    let (page, cookie) = manual_login(&mock, "wrong", &[]).await;
    assert!(cookie.is_none());
    assert!(page.contains("Wrong email or password") && page.contains(r#"name="password""#));

    let (page, cookie) = manual_login(&mock, "password", &[("scope", "<script>x</script>")]).await;
    let cookie = cookie.unwrap();
    assert!(
        cookie.starts_with("mock_session=")
            && cookie.contains("HttpOnly")
            && cookie.contains("Path=/")
    );
    assert!(page.contains(r#"id="allow""#) && page.contains(r#"id="deny""#));
    assert!(page.contains("&lt;script&gt;") && !page.contains("<script>"));

    // Logged in: the authorize request goes straight to consent.
    let session = cookie.split(';').next().unwrap().to_owned();
    let page = http()
        .get(authorize_url(&mock, &[]))
        .header("cookie", &session)
        .send()
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    assert!(page.contains(r#"action="/app/oauth/authorize/consent""#));
    let id = super::browser::hidden_field(&page, "request").unwrap();
    let response = http()
        .post(format!("{}/app/oauth/authorize/consent", mock.base_url()))
        .header("cookie", &session)
        .form(&[("decision", "allow"), ("request", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::FOUND);
    // Consent without the session cookie is not accepted.
    let response = http()
        .post(format!("{}/app/oauth/authorize/consent", mock.base_url()))
        .form(&[("decision", "allow"), ("request", &id)])
        .send()
        .await
        .unwrap();
    assert_eq!(
        response.status(),
        StatusCode::BAD_REQUEST,
        "the request was already answered"
    );
}

#[tokio::test]
async fn trusted_clients_skip_consent() {
    let mock = MockProvider::builder()
        .default_client(MockClient {
            trusted: true,
            ..MockClient::new("t", "s")
        })
        .start()
        .await
        .unwrap();
    let callback = mock.authorize(&authorize_url(&mock, &[])).await.unwrap();
    assert!(param(&callback, "code").is_some());
    assert_eq!(mock.hits(Endpoint::Authorize), 2, "no consent step");
}

#[tokio::test]
async fn injected_failures_and_delays() {
    let mock = MockProvider::start().await.unwrap();
    let token = mock.issue_token();
    mock.fail_next(Endpoint::Userinfo, 2, 503);
    for _ in 0..2 {
        let response = http()
            .get(format!("{}/oauth/userinfo", mock.base_url()))
            .bearer_auth(&token)
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::SERVICE_UNAVAILABLE);
        let body: Value = response.json().await.unwrap();
        assert_eq!(body["error"], "server_error");
    }
    assert_eq!(userinfo_status(&mock, &token).await, StatusCode::OK);

    mock.respond_next(
        Endpoint::Token,
        1,
        502,
        "text/html",
        "<html>Bad Gateway</html>",
    );
    let code = login_code(&mock, &[]).await;
    let response = http()
        .post(format!("{}/oauth/token", mock.base_url()))
        .json(&json!({ "grant_type": "authorization_code", "code": code }))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.headers()["content-type"], "text/html");
    assert_eq!(response.text().await.unwrap(), "<html>Bad Gateway</html>");
    // The faulted request was still counted and recorded; the code was not consumed.
    assert_eq!(mock.requests(Endpoint::Token)[0].fields["code"], code);
    assert_eq!(exchange(&mock, &code, json!({})).await.0, StatusCode::OK);

    mock.delay_next(Endpoint::Userinfo, 1, Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(userinfo_status(&mock, &token).await, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.hits(Endpoint::Userinfo), 4);

    mock.fail_next(Endpoint::Authorize, 1, 500);
    assert!(mock.authorize(&authorize_url(&mock, &[])).await.is_err());
}

#[tokio::test]
async fn shutdown_and_drop_stop_the_server() {
    let mock = MockProvider::start().await.unwrap();
    let addr = mock.addr();
    assert_eq!(mock.base_url(), format!("http://{addr}"));
    mock.clone().shutdown().await;
    assert!(tokio::net::TcpStream::connect(addr).await.is_err());

    let mock = MockProvider::start().await.unwrap();
    let addr = mock.addr();
    let clone = mock.clone();
    drop(mock);
    assert!(
        tokio::net::TcpStream::connect(addr).await.is_ok(),
        "a handle is left"
    );
    drop(clone);
    let deadline = Instant::now() + Duration::from_secs(2);
    while tokio::net::TcpStream::connect(addr).await.is_ok() {
        assert!(
            Instant::now() < deadline,
            "still listening after the last handle dropped"
        );
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

#[tokio::test]
async fn fixed_port_and_provider_shape() {
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let mock = MockProvider::builder().port(port).start().await.unwrap();
    assert_eq!(mock.addr().port(), port);
    let p = mock.provider();
    assert_eq!(p.name(), "vcita-mock");
    assert_eq!(p.token_body(), TokenBody::Json);
    assert_eq!(p.client_auth(), ClientAuth::ClientSecretPost);
    assert_eq!(p.issuer(), Some(mock.base_url().as_str()));
    assert_eq!(
        p.revocation_url().unwrap().as_str(),
        format!("{}/oauth/revoke", mock.base_url())
    );
    assert_eq!(
        (mock.client_id(), mock.client_secret()),
        ("mock-client-id", "mock-client-secret")
    );
    let response = http()
        .get(format!("{}/nope", mock.base_url()))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::NOT_FOUND);
}
