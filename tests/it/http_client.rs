//! The app's configuration of the HTTP client (`OAuthClientBuilder::http_client`) reaches
//! the provider: the mock records what the app's client sent. (The crate's settings that
//! no hook can undo — no redirects, its timeouts — are unit tests of
//! `src/client/http_client`.)

use axum::http::HeaderValue;
use axum_oauth_login::{client::OAuthClient, secret::RefreshToken};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};

#[tokio::test]
async fn the_apps_client_configuration_reaches_the_provider() {
    let mock = MockProvider::start().await.unwrap();
    let client = OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri("http://127.0.0.1:9/callback")
        .http_client(|http| {
            let mut headers = reqwest::header::HeaderMap::new();
            headers.insert("x-app-egress", HeaderValue::from_static("proxy-7"));
            http.default_headers(headers)
        })
        .build()
        .unwrap();
    // An unknown refresh token: refused, but the request was made by the app's client.
    let _ = client.refresh(&RefreshToken::new("unknown")).await;
    let recorded = mock.requests(MockEndpoint::Token);
    assert_eq!(recorded.len(), 1);
    assert_eq!(recorded[0].headers["x-app-egress"], "proxy-7");
}
