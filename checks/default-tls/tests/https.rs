//! The crate's default features, alone in the build, complete an https round trip: a token
//! refresh and a userinfo call against a provider on loopback behind TLS, the test CA
//! handed in through the crate's `http_client` hook (as an app would add its own roots).
//! Run by itself: `cargo test -p default-tls-check`.

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::{Provider, UserInfo, client::OAuthClient, secret::RefreshToken};
use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
use tokio_rustls::rustls;
use tokio_rustls::rustls::pki_types::pem::PemObject as _;
use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

const CA: &[u8] = include_bytes!("../../../tests/fixtures/tls/ca.pem");
const CERT: &[u8] = include_bytes!("../../../tests/fixtures/tls/server.pem");
const KEY: &[u8] = include_bytes!("../../../tests/fixtures/tls/server.key");

/// An https provider on loopback: `POST /token` answers a token set, `GET /userinfo` a
/// user; one request per connection (`connection: close`).
async fn https_provider() -> u16 {
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(
            vec![CertificateDer::from_pem_slice(CERT).unwrap()],
            PrivateKeyDer::from_pem_slice(KEY).unwrap(),
        )
        .unwrap();
    let acceptor = tokio_rustls::TlsAcceptor::from(Arc::new(config));
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let port = listener.local_addr().unwrap().port();
    tokio::spawn(async move {
        while let Ok((socket, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            tokio::spawn(async move {
                let Ok(mut tls) = acceptor.accept(socket).await else {
                    return;
                };
                let mut request = Vec::new();
                let mut buf = [0u8; 4096];
                // The request line and headers (a token POST's small body comes with them
                // or is not needed to answer).
                while !request.windows(4).any(|w| w == b"\r\n\r\n") {
                    match tls.read(&mut buf).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => request.extend_from_slice(&buf[..n]),
                    }
                }
                let body = if request.starts_with(b"POST /token ") {
                    r#"{"access_token":"at-1","token_type":"Bearer","expires_in":3600,"refresh_token":"rt-2"}"#
                } else if request.starts_with(b"GET /userinfo ") {
                    r#"{"sub":"user-7","email":"owner@example.com"}"#
                } else {
                    r#"{"error":"not_found"}"#
                };
                let answer = format!(
                    "HTTP/1.1 200 OK\r\ncontent-type: application/json\r\n\
                     content-length: {}\r\nconnection: close\r\n\r\n{body}",
                    body.len()
                );
                let _ = tls.write_all(answer.as_bytes()).await;
                let _ = tls.shutdown().await;
            });
        }
    });
    port
}

fn client(port: u16, trust_the_test_ca: bool) -> OAuthClient {
    let base = format!("https://localhost:{port}");
    let provider = Provider::custom("local-https")
        .authorize_url(format!("{base}/authorize"))
        .token_url(format!("{base}/token"))
        .userinfo_url(format!("{base}/userinfo"))
        .build()
        .unwrap();
    OAuthClient::builder(provider, "client-id", "client-secret")
        .redirect_uri("http://127.0.0.1:9/callback")
        .timeout(Duration::from_secs(10))
        .http_client(move |http| {
            if trust_the_test_ca {
                http.add_root_certificate(reqwest::Certificate::from_pem(CA).unwrap())
            } else {
                http
            }
        })
        .build()
        .unwrap()
}

#[tokio::test]
async fn the_default_features_refresh_and_read_userinfo_over_https() {
    let port = https_provider().await;
    let client = client(port, true);
    let tokens = client
        .refresh(&RefreshToken::new("rt-1"))
        .await
        .expect("a refresh over https");
    assert_eq!(tokens.access_token().secret(), "at-1");
    let user: UserInfo = client
        .userinfo(tokens.access_token())
        .await
        .expect("userinfo over https");
    assert_eq!(user.sub.as_deref(), Some("user-7"));
}

#[tokio::test]
async fn the_default_features_refuse_a_certificate_they_cannot_verify() {
    let port = https_provider().await;
    let error = client(port, false)
        .refresh(&RefreshToken::new("rt-1"))
        .await
        .expect_err("an unknown CA was trusted");
    // A transport error, not an answer: the handshake failed.
    assert!(
        matches!(
            error,
            axum_oauth_login::client::OAuthError::Transport { .. }
        ),
        "{error:?}"
    );
}
