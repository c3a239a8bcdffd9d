//! How a failed token request surfaces: provider errors, malformed or oversized bodies,
//! refused connections, timeouts and redirects.

use super::*;

#[tokio::test]
async fn expired_and_reused_codes_are_invalid_grant() {
    let (mock, c) = setup().await;
    let code = code_for(&mock, &c, None).await;
    mock.advance_clock(Duration::from_secs(31));
    let err = err!(c.exchange_code(code, None).await =>
        OAuthError::Provider { status: 400, description: Some(d), .. } if d == "code expired");
    assert!(err.is_invalid_grant() && !err.is_transient(), "{err:?}");

    let code = code_for(&mock, &c, None).await;
    let again = AuthorizationCode::new(code.secret());
    c.exchange_code(code, None).await.unwrap();
    let err = err!(c.exchange_code(again, None).await =>
        OAuthError::Provider { description: Some(d), .. } if d == "code already used");
    assert!(err.is_invalid_grant(), "{err:?}");
}

#[tokio::test]
async fn wrong_secret_is_invalid_client() {
    let (mock, good) = setup().await;
    let code = code_for(&mock, &good, None).await;
    let bad = OAuthClient::builder(mock.provider(), mock.client_id(), "wrong-secret");
    let bad = bad.redirect_uri(REDIRECT).build().unwrap();
    let err = err!(bad.exchange_code(code, None).await =>
        OAuthError::Provider { status: 401, error: ErrorCode::InvalidClient, .. });
    assert!(!err.is_invalid_grant() && !err.is_invalid_token() && !err.is_transient());
}

#[tokio::test]
async fn html_500_is_malformed_and_transient() {
    let (mock, c) = setup().await;
    let html = "<html><body><h1>500 Internal Server Error</h1>\n<p>nginx</p></body></html>";
    let err = err!(canned(&mock, &c, 500, "text/html", html).await =>
        OAuthError::Malformed { endpoint: Endpoint::Token, status: 500, excerpt: Some(e), .. }
            if e.contains("500 Internal Server Error"));
    assert!(err.is_transient());
    // A provider error body with 503 is transient too.
    mock.fail_next(MockEndpoint::Token, 1, 503);
    let err = err!(dummy(&c).await =>
        OAuthError::Provider { status: 503, error: ErrorCode::ServerError, .. });
    assert!(err.is_transient());
}

#[tokio::test]
async fn unusable_success_bodies_are_malformed() {
    let (mock, c) = setup().await;
    let result = canned(&mock, &c, 200, JSON, "{not json").await;
    let err = err!(result => OAuthError::Malformed { status: 200, .. });
    assert!(!err.is_transient());

    let body = r#"{"token_type":"bearer","expires_in":3600}"#;
    err!(canned(&mock, &c, 200, JSON, body).await =>
        OAuthError::Malformed { status: 200, reason, .. } if reason.contains("access_token"));
    let body = r#"{"access_token":"abc","token_type":"mac"}"#;
    err!(canned(&mock, &c, 200, JSON, body).await =>
        OAuthError::UnsupportedTokenType { token_type } if token_type == "mac");
}

#[tokio::test]
async fn bodies_over_the_cap_are_refused() {
    let mock = MockProvider::start().await.unwrap();
    let small = builder(&mock, mock.provider()).max_body_bytes(1024);
    let small = small.build().unwrap();
    let ok = canned(&mock, &small, 200, JSON, padded(1000)).await;
    assert!(ok.is_ok(), "under the cap: {ok:?}");
    err!(canned(&mock, &small, 200, JSON, padded(2048)).await =>
        OAuthError::BodyTooLarge { endpoint: Endpoint::Token, limit: 1024 });
    // The default cap: 1 MiB.
    let c = client(&mock, mock.provider());
    let big = padded(MAX_BODY_BYTES * 3 / 2);
    err!(canned(&mock, &c, 200, JSON, big).await =>
        OAuthError::BodyTooLarge { limit: MAX_BODY_BYTES, .. });
}

#[tokio::test]
async fn chunked_bodies_over_the_cap_are_refused() {
    // A streamed body has no Content-Length: the cap must hold while reading.
    let stream = || {
        let body = padded(2048).into_bytes();
        let ok = |c: &[u8]| Ok::<_, Infallible>(c.to_vec());
        let chunks: Vec<_> = body.chunks(256).map(ok).collect();
        std::future::ready(Body::from_stream(futures_util::stream::iter(chunks)))
    };
    let (addr, _server) = serve(Router::new().fallback(stream)).await;
    let mock = MockProvider::start().await.unwrap();
    let p = token_url_at(&mock, format!("http://{addr}/oauth/token"));
    let big = builder(&mock, p.clone()).max_body_bytes(4096).build();
    assert!(dummy(&big.unwrap()).await.is_ok());
    let small = builder(&mock, p).max_body_bytes(1024).build();
    err!(dummy(&small.unwrap()).await => OAuthError::BodyTooLarge { limit: 1024, .. });
}

#[tokio::test]
async fn connection_refused_is_transport() {
    let mock = MockProvider::start().await.unwrap();
    let probe = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let port = probe.local_addr().unwrap().port();
    drop(probe);
    let url = format!("http://127.0.0.1:{port}/oauth/token?k=q");
    let c = client(&mock, token_url_at(&mock, url));
    let err = err!(dummy(&c).await =>
        OAuthError::Transport { endpoint: Endpoint::Token, reason }
            if !reason.contains("/oauth/token"));
    assert!(err.is_transient());
}

#[tokio::test]
async fn a_hanging_provider_times_out() {
    let mock = MockProvider::start().await.unwrap();
    let c = builder(&mock, mock.provider()).timeout(Duration::from_millis(300));
    let c = c.build().unwrap();
    mock.delay_next(MockEndpoint::Token, 1, Duration::from_secs(2));
    let started = Instant::now();
    let err = err!(dummy(&c).await =>
        OAuthError::Timeout { endpoint: Endpoint::Token, timeout }
            if *timeout == Duration::from_millis(300));
    let elapsed = started.elapsed();
    assert!(elapsed < Duration::from_millis(1500), "{elapsed:?}");
    assert!(err.is_transient());
}

#[tokio::test]
async fn redirects_are_not_followed() {
    let (mock, c) = setup().await;
    let page = "<a href=\"/elsewhere\">moved</a>";
    err!(canned(&mock, &c, 302, "text/html", page).await =>
        OAuthError::Malformed { status: 302, reason, .. } if reason.contains("redirect"));
    // With a real Location: 302, and 307 (which would resend the body and secret).
    for code in [302, 307] {
        let hits = Arc::new(AtomicUsize::new(0));
        let counter = hits.clone();
        let redirect = move || {
            counter.fetch_add(1, Ordering::SeqCst);
            let status = http::StatusCode::from_u16(code).unwrap();
            std::future::ready((status, [(http::header::LOCATION, "/followed")]))
        };
        let (addr, _server) = serve(Router::new().fallback(redirect)).await;
        let c = client(&mock, token_url_at(&mock, format!("http://{addr}/t")));
        err!(dummy(&c).await => OAuthError::Malformed { status, .. } if *status == code);
        assert_eq!(hits.load(Ordering::SeqCst), 1, "{code} was followed");
    }
}
