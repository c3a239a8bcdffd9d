//! The app's hook cannot turn redirects on or the crate's timeouts off (that it reaches
//! the provider is `tests/it/http_client.rs`), and the `rustls-ring` choice (rustls on
//! ring, handed over preconfigured) completes a real handshake.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use axum::Router;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::post;

use super::{HttpConfig, http_client};

const SECOND: Duration = Duration::from_secs(1);

#[tokio::test]
async fn redirects_stay_off_even_when_the_apps_hook_turns_them_on() {
    let followed = Arc::new(AtomicUsize::new(0));
    let hits = followed.clone();
    let app = Router::new()
        .route(
            "/token",
            post(|| async {
                (
                    StatusCode::TEMPORARY_REDIRECT,
                    [(header::LOCATION, "/elsewhere")],
                )
                    .into_response()
            }),
        )
        .route(
            "/elsewhere",
            post(move || async move {
                hits.fetch_add(1, Ordering::SeqCst);
                "the code and secret arrived here"
            }),
        );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move { axum::serve(listener, app).await });

    let config = HttpConfig::new(|http| http.redirect(reqwest::redirect::Policy::limited(10)));
    let http = http_client(SECOND, 5 * SECOND, &config).unwrap();
    let response = http
        .post(format!("http://{addr}/token"))
        .form(&[("code", "c"), ("client_secret", "s")])
        .send()
        .await
        .unwrap();
    assert_eq!(response.status(), StatusCode::TEMPORARY_REDIRECT);
    assert_eq!(
        followed.load(Ordering::SeqCst),
        0,
        "the redirect was followed"
    );
}

#[tokio::test]
async fn the_apps_timeouts_are_replaced_by_the_crates() {
    // A listener that accepts and never answers: the crate's 1 s must end the request,
    // not the hook's hour.
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        let mut open = Vec::new();
        while let Ok((socket, _)) = listener.accept().await {
            open.push(socket);
        }
    });
    let config = HttpConfig::new(|http| http.timeout(Duration::from_secs(3600)));
    let http = http_client(SECOND, SECOND, &config).unwrap();
    let error = tokio::time::timeout(10 * SECOND, http.get(format!("http://{addr}/")).send())
        .await
        .expect("the crate's timeout ended the request")
        .unwrap_err();
    assert!(error.is_timeout(), "{error}");
}

#[cfg(feature = "rustls-ring")]
mod tls {
    use tokio::io::{AsyncReadExt as _, AsyncWriteExt as _};
    use tokio_rustls::rustls;
    use tokio_rustls::rustls::pki_types::pem::PemObject as _;
    use tokio_rustls::rustls::pki_types::{CertificateDer, PrivateKeyDer};

    use super::*;
    use crate::transport::client::with_ring;

    const CA: &[u8] = include_bytes!("../../../tests/fixtures/tls/ca.pem");
    const CERT: &[u8] = include_bytes!("../../../tests/fixtures/tls/server.pem");
    const KEY: &[u8] = include_bytes!("../../../tests/fixtures/tls/server.key");

    /// An https server on loopback answering every connection with `200 ok`.
    async fn https_server() -> std::net::SocketAddr {
        let provider = Arc::new(rustls::crypto::ring::default_provider());
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
        let addr = listener.local_addr().unwrap();
        tokio::spawn(async move {
            while let Ok((socket, _)) = listener.accept().await {
                let acceptor = acceptor.clone();
                tokio::spawn(async move {
                    let Ok(mut tls) = acceptor.accept(socket).await else {
                        return;
                    };
                    let mut buf = [0u8; 4096];
                    let _ = tls.read(&mut buf).await;
                    let answer =
                        "HTTP/1.1 200 OK\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok";
                    let _ = tls.write_all(answer.as_bytes()).await;
                    let _ = tls.shutdown().await;
                });
            }
        });
        addr
    }

    fn client(extra_roots: Vec<CertificateDer<'static>>) -> reqwest::Client {
        with_ring(reqwest::Client::builder(), extra_roots)
            .unwrap()
            .timeout(5 * SECOND)
            .build()
            .unwrap()
    }

    #[tokio::test]
    async fn rustls_on_ring_completes_an_https_round_trip() {
        let addr = https_server().await;
        let ca = CertificateDer::from_pem_slice(CA).unwrap();
        let response = client(vec![ca])
            .get(format!("https://localhost:{}/", addr.port()))
            .send()
            .await
            .unwrap();
        assert_eq!(response.status(), StatusCode::OK);
        assert_eq!(response.text().await.unwrap(), "ok");
    }

    #[tokio::test]
    async fn rustls_on_ring_refuses_a_certificate_it_cannot_verify() {
        let addr = https_server().await;
        let error = client(Vec::new())
            .get(format!("https://localhost:{}/", addr.port()))
            .send()
            .await
            .unwrap_err();
        assert!(error.is_connect(), "{error}");
    }

    #[test]
    fn the_crates_own_clients_build_on_ring_without_a_process_provider() {
        // The path every crate client takes (no process-wide provider installed).
        http_client(SECOND, SECOND, &HttpConfig::default()).unwrap();
    }
}
