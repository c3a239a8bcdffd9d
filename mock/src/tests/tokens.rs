//! The token endpoint: code exchange, client authentication, PKCE, refresh.

use super::*;

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
        mock.hits(MockEndpoint::Authorize),
        3,
        "GET, login post, consent post"
    );
    assert_eq!(mock.hits(MockEndpoint::Token), 1);
    let recorded = mock.requests(MockEndpoint::Token);
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
    let recorded = &mock.requests(MockEndpoint::Token)[0];
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
    assert_eq!(strict.requests(MockEndpoint::Token)[0].fields["code"], code);
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
    assert_eq!(mock.hits(MockEndpoint::Token), 5);
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
    assert_eq!(mock.hits(MockEndpoint::Token), 4);

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
