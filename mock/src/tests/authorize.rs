//! The browser side: authorize errors, login, consent and redirects.

use super::*;

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
    assert_eq!(mock.hits(MockEndpoint::Authorize), 2, "no consent step");
}
