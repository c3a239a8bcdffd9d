//! The API endpoint ([`MockEndpoint::Api`]): vcita's business, Apicbase mode's library,
//! the bearer check and injected faults.

use super::*;

fn business_url(mock: &MockProvider, id: &str) -> Url {
    let api = mock.provider().api_base().unwrap().clone();
    api.join(&format!("platform/v1/businesses/{id}")).unwrap()
}

async fn get(url: Url, token: Option<&str>) -> (StatusCode, Option<String>, Value) {
    let mut request = http().get(url);
    if let Some(token) = token {
        request = request.bearer_auth(token);
    }
    let response = request.send().await.unwrap();
    let status = response.status();
    let challenge = response
        .headers()
        .get("www-authenticate")
        .map(|v| v.to_str().unwrap().to_owned());
    (
        status,
        challenge,
        response.json().await.unwrap_or(Value::Null),
    )
}

fn is_invalid_token(status: StatusCode, challenge: Option<&str>) -> bool {
    status == StatusCode::UNAUTHORIZED
        && challenge
            .is_some_and(|c| c.starts_with("Bearer ") && c.contains(r#"error="invalid_token""#))
}

#[tokio::test]
async fn api_base_is_the_mock_root_or_api_v1() {
    let mock = MockProvider::start().await.unwrap();
    let base = mock.base_url();
    assert_eq!(
        mock.provider().api_base().map(Url::as_str),
        Some(format!("{base}/").as_str())
    );
    let apicbase = MockProvider::apicbase().start().await.unwrap();
    let base = apicbase.base_url();
    assert_eq!(
        apicbase.provider().api_base().map(Url::as_str),
        Some(format!("{base}/api/v1/").as_str())
    );
}

#[tokio::test]
async fn business_answers_a_live_token_of_its_staff() {
    let mock = MockProvider::builder()
        .token_lifetime(Duration::from_secs(60))
        .start()
        .await
        .unwrap();
    let url = business_url(&mock, "b-42");

    let (status, challenge, body) = get(url.clone(), None).await;
    assert!(is_invalid_token(status, challenge.as_deref()), "{status}");
    assert_eq!(
        (body["status"].as_str(), body["error"].as_str()),
        (Some("Error"), Some("invalid_token"))
    );
    let (status, challenge, _) = get(url.clone(), Some("not-a-token")).await;
    assert!(is_invalid_token(status, challenge.as_deref()));
    // A token of another kind is no access token.
    let (status, _, _) = get(url.clone(), Some(&mock.directory_token())).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);

    let token = mock.issue_token();
    let (status, _, body) = get(url.clone(), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"status": "OK", "data": {"business": {
            "id": "b-42",
            "name": "Demo Salon",
            "brand_host": "app.vcita.com",
            "owner_email": "owner@example.com",
        }}})
    );
    // Staff see the same business, and its owner's email.
    let staff = mock.issue_token_for("staff@example.com").unwrap();
    let (status, _, body) = get(url.clone(), Some(&staff)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["business"]["owner_email"], "owner@example.com");

    let (status, _, body) = get(business_url(&mock, "b-43"), Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
    assert_eq!(body["status"], "Error");

    // The user's info as it is now.
    mock.update_user_info("owner@example.com", |info| {
        info["business_name"] = json!("Renamed Salon");
    })
    .unwrap();
    let (_, _, body) = get(url.clone(), Some(&token)).await;
    assert_eq!(body["data"]["business"]["name"], "Renamed Salon");

    mock.advance_clock(Duration::from_secs(61));
    let (status, challenge, _) = get(url.clone(), Some(&token)).await;
    assert!(is_invalid_token(status, challenge.as_deref()), "expired");

    let requests = mock.requests(MockEndpoint::Api);
    assert_eq!(mock.hits(MockEndpoint::Api), requests.len());
    assert_eq!(requests.len(), 8);
    assert_eq!(
        requests[3].authorization.as_deref(),
        Some(format!("Bearer {token}").as_str())
    );
}

#[tokio::test]
async fn revoked_tokens_get_401() {
    let mock = MockProvider::start().await.unwrap();
    let url = business_url(&mock, "b-42");
    let code = login_code(&mock, &[]).await;
    let (_, tokens) = exchange(&mock, &code, json!({})).await;
    let token = tokens["access_token"].as_str().unwrap();
    assert_eq!(get(url.clone(), Some(token)).await.0, StatusCode::OK);
    let response = http()
        .post(mock.provider().revocation_url().unwrap().clone())
        .form(&client_form(&mock, token))
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::OK);
    let (status, challenge, _) = get(url.clone(), Some(token)).await;
    assert!(is_invalid_token(status, challenge.as_deref()));

    let other = mock.issue_token();
    mock.revoke_all();
    assert_eq!(get(url, Some(&other)).await.0, StatusCode::UNAUTHORIZED);
}

#[tokio::test]
async fn owner_email_falls_back_to_the_caller_and_numeric_ids_match() {
    let loner = MockUser {
        email: "solo@example.com".into(),
        password: "password".into(),
        info: json!({ "sub": "u-7", "role": "staff", "business_id": 7, "business_name": "Solo" }),
    };
    let mock = MockProvider::builder().user(loner).start().await.unwrap();
    let token = mock.issue_token();
    let (status, _, body) = get(business_url(&mock, "7"), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body["data"]["business"]["id"], 7);
    assert_eq!(body["data"]["business"]["owner_email"], "solo@example.com");
    assert_eq!(body["data"]["business"]["brand_host"], Value::Null);

    // No business at all: every business is someone else's.
    mock.set_user_info("solo@example.com", json!({ "sub": "u-7" }))
        .unwrap();
    let (status, _, _) = get(business_url(&mock, "7"), Some(&token)).await;
    assert_eq!(status, StatusCode::FORBIDDEN);
}

#[tokio::test]
async fn faults_apply_to_the_api() {
    let mock = MockProvider::start().await.unwrap();
    let url = business_url(&mock, "b-42");
    let token = mock.issue_token();

    mock.fail_next(MockEndpoint::Api, 1, 401);
    let (status, _, body) = get(url.clone(), Some(&token)).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED);
    assert_eq!(body["error_description"], "injected failure");
    assert_eq!(get(url.clone(), Some(&token)).await.0, StatusCode::OK);

    mock.fail_next(MockEndpoint::Api, 2, 401);
    assert_eq!(
        get(url.clone(), Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(
        get(url.clone(), Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(get(url.clone(), Some(&token)).await.0, StatusCode::OK);

    mock.respond_next(
        MockEndpoint::Api,
        1,
        502,
        "text/html",
        "<h1>Bad gateway</h1>",
    );
    let response = http()
        .get(url.clone())
        .bearer_auth(&token)
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::BAD_GATEWAY);
    assert_eq!(response.text().await.unwrap(), "<h1>Bad gateway</h1>");

    mock.delay_next(MockEndpoint::Api, 1, Duration::from_millis(200));
    let started = Instant::now();
    assert_eq!(get(url, Some(&token)).await.0, StatusCode::OK);
    assert!(started.elapsed() >= Duration::from_millis(200));

    assert_eq!(mock.hits(MockEndpoint::Api), 7);
    // Other endpoints are not affected.
    assert_eq!(mock.hits(MockEndpoint::Userinfo), 0);
}

#[tokio::test]
async fn apicbase_library_takes_a_bearer_token() {
    let mock = MockProvider::apicbase().start().await.unwrap();
    let api = mock.provider().api_base().unwrap().clone();
    let library = api.join("library/").unwrap();
    assert!(library.path().ends_with("/api/v1/library/"));

    let (status, challenge, body) = get(library.clone(), None).await;
    assert!(is_invalid_token(status, challenge.as_deref()));
    assert_eq!(body["error"], "invalid_token");
    assert!(body["detail"].is_string());

    let token = mock.issue_token();
    let (status, _, body) = get(library.clone(), Some(&token)).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(
        body,
        json!({"library": {"id": "chef-1", "name": "chef@example.com's library"}})
    );

    // Trailing slash required, and vcita's business endpoint is not served.
    let bare = api.join("library").unwrap();
    assert_eq!(get(bare, Some(&token)).await.0, StatusCode::NOT_FOUND);
    let business = Url::parse(&format!("{}/platform/v1/businesses/b-42", mock.base_url())).unwrap();
    assert_eq!(get(business, Some(&token)).await.0, StatusCode::NOT_FOUND);

    mock.fail_next(MockEndpoint::Api, 1, 401);
    assert_eq!(
        get(library.clone(), Some(&token)).await.0,
        StatusCode::UNAUTHORIZED
    );
    mock.revoke_all();
    assert_eq!(get(library, Some(&token)).await.0, StatusCode::UNAUTHORIZED);
    assert_eq!(mock.hits(MockEndpoint::Api), 4);
}

#[tokio::test]
async fn vcita_mock_has_no_library() {
    let mock = MockProvider::start().await.unwrap();
    let url = Url::parse(&format!("{}/api/v1/library/", mock.base_url())).unwrap();
    assert_eq!(
        get(url, Some(&mock.issue_token())).await.0,
        StatusCode::NOT_FOUND
    );
}
