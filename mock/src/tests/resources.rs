//! Userinfo, introspection, revocation, app registration and injected faults.

use super::*;

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
    assert_eq!(mock.hits(MockEndpoint::Userinfo), 6);
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
    assert_eq!(mock.requests(MockEndpoint::Introspect).len(), 5);
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
    assert_eq!(mock.hits(MockEndpoint::Revoke), 3);
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
    assert_eq!(mock.hits(MockEndpoint::RegisterApp), 4);
}

#[tokio::test]
async fn injected_failures_and_delays() {
    let mock = MockProvider::start().await.unwrap();
    let token = mock.issue_token();
    mock.fail_next(MockEndpoint::Userinfo, 2, 503);
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
        MockEndpoint::Token,
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
    assert_eq!(mock.requests(MockEndpoint::Token)[0].fields["code"], code);
    assert_eq!(exchange(&mock, &code, json!({})).await.0, StatusCode::OK);

    mock.delay_next(MockEndpoint::Userinfo, 1, Duration::from_millis(300));
    let started = Instant::now();
    assert_eq!(userinfo_status(&mock, &token).await, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert_eq!(mock.hits(MockEndpoint::Userinfo), 4);

    mock.fail_next(MockEndpoint::Authorize, 1, 500);
    assert!(mock.authorize(&authorize_url(&mock, &[])).await.is_err());
}

#[tokio::test]
async fn extreme_lifetimes_and_clock_jumps_do_not_panic() {
    let mock = MockProvider::builder()
        .token_lifetime(Duration::MAX)
        .code_lifetime(Duration::MAX)
        .start()
        .await
        .unwrap();
    let code = login_code(&mock, &[]).await;
    let (status, token) = exchange(&mock, &code, json!({})).await;
    assert_eq!(status, StatusCode::OK);
    let access = token["access_token"].as_str().unwrap();
    assert_eq!(introspect(&mock, access).await["active"], true);
    mock.advance_clock(Duration::MAX);
    mock.advance_clock(Duration::MAX);
    // The clock is now past every expiry; the server keeps answering.
    assert_eq!(
        userinfo_status(&mock, access).await,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(introspect(&mock, access).await["active"], false);
    let fresh = mock.issue_token();
    assert_eq!(introspect(&mock, &fresh).await["active"], false);
}
