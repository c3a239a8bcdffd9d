//! No secret in any log line: the whole flow (login, refresh, bearer calls, failures,
//! logout) under a TRACE subscriber that captures everything — the crate, the mock
//! provider, hyper, reqwest — and not one client secret, code, token, verifier, state
//! or cookie value in it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_oauth_login::jose::SigningKey;
use axum_oauth_login::{Clock, CookieKey, OAuth};
use axum_oauth_login_mock::{MockClient, MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use crate::harness::*;
use crate::support::*;

#[derive(Clone, Default)]
struct Captured(Arc<Mutex<Vec<u8>>>);

impl Write for Captured {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.0
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .extend_from_slice(buf);
        Ok(buf.len())
    }
    fn flush(&mut self) -> std::io::Result<()> {
        Ok(())
    }
}

impl<'a> tracing_subscriber::fmt::MakeWriter<'a> for Captured {
    type Writer = Captured;
    fn make_writer(&'a self) -> Captured {
        self.clone()
    }
}

fn query(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// Runs [`flow_in_its_own_process`] alone in a child process: a global subscriber there
/// sees every event of every thread, which a scoped one in this shared test binary
/// cannot promise (callsite interest is cached process-wide).
#[test]
fn the_whole_flow_logs_no_secret() {
    run_child("logs::flow_in_its_own_process");
}

/// The FAPI settings' flow: `private_key_jwt` assertions, pushed requests and DPoP
/// proofs (with server nonces) stay out of the log as well as the key itself.
#[test]
fn the_fapi_flow_logs_no_assertion_proof_or_key() {
    run_child("logs::fapi_flow_in_its_own_process");
}

fn run_child(test: &str) {
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([test, "--exact", "--ignored", "--nocapture"])
        .env("AXUM_OAUTH_LOGIN_LOG_CHILD", "1")
        .output()
        .expect("the child test runs");
    let stdout = String::from_utf8_lossy(&out.stdout);
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(
        out.status.success() && stdout.contains("1 passed"),
        "the child failed:\n{stdout}\n{stderr}"
    );
}

#[tokio::test]
#[ignore = "run in its own process by the_whole_flow_logs_no_secret"]
async fn flow_in_its_own_process() {
    if std::env::var_os("AXUM_OAUTH_LOGIN_LOG_CHILD").is_none() {
        return;
    }
    let captured = capture();
    let mock = bounded(
        "mock",
        MockProvider::builder()
            .refresh_tokens(true)
            .rotate_refresh_tokens(true)
            .token_lifetime(Duration::from_secs(120))
            .start(),
    )
    .await
    .expect("mock");
    let app = TestApp::spawn_with_mock(mock, |b| b).await;
    let mut secrets: Vec<String> = vec![app.mock.client_secret().to_owned()];

    // Login: state, code, verifier, flow cookie, session cookie, tokens.
    let authorize = Url::parse(&app.start_login(Some("/me")).await).unwrap();
    secrets.extend(query(&authorize, "state"));
    secrets.extend(app.cookies().into_iter().map(|(_, v)| v));
    let callback = app.authorize(authorize.as_str()).await;
    secrets.extend(query(&callback, "code"));
    assert_eq!(
        app.callback(&callback).await.status(),
        StatusCode::SEE_OTHER
    );
    secrets.extend(app.session_cookie());
    let before: Value = json(app.get("/tokens").await).await;

    // A refresh (rotating refresh token), then the pre-refresh cookie (grace window).
    advance(&app, 100);
    let after: Value = json(app.get("/tokens").await).await;
    secrets.extend(app.session_cookie());
    for t in [&before, &after] {
        for field in ["access_token", "refresh_token"] {
            secrets.extend(t[field].as_str().map(str::to_owned));
        }
    }

    // Bearer calls: accepted, refused, malformed.
    let token = app.mock.issue_token();
    secrets.push(token.clone());
    assert_eq!(
        app.get_with("/api/me", &[("authorization", &bearer(&token))])
            .await
            .status(),
        StatusCode::OK
    );
    let forged = "forged-token-value-0123456789";
    secrets.push(forged.to_owned());
    app.get_with("/api/me", &[("authorization", &bearer(forged))])
        .await;
    // Failures: a tampered state, a provider outage during a refresh.
    let tampered = "tampered-state-value-0123456789";
    secrets.push(tampered.to_owned());
    app.get(&format!(
        "/auth/callback?state={tampered}&code=some-code-value-0123"
    ))
    .await;
    secrets.push("some-code-value-0123".to_owned());
    advance(&app, 130);
    app.mock.fail_next(MockEndpoint::Token, 1, 503);
    app.get("/tokens").await;
    advance(&app, 1);
    app.get("/tokens").await;
    secrets.extend(app.session_cookie());

    // Logout (revocation).
    app.post("/auth/logout").await;

    // Everything the token endpoint received (codes, verifiers, refresh tokens).
    for r in app.mock.requests(MockEndpoint::Token) {
        for field in ["code", "code_verifier", "refresh_token", "client_secret"] {
            secrets.extend(r.fields.get(field).cloned());
        }
    }

    assert_clean(&captured, secrets);
}

/// A global TRACE subscriber writing into the returned buffer.
fn capture() -> Captured {
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");
    captured
}

/// The captured log has the flow and not one of `secrets`.
fn assert_clean(captured: &Captured, mut secrets: Vec<String>) {
    let log = String::from_utf8_lossy(&captured.0.lock().unwrap()).into_owned();
    assert!(
        log.lines().count() > 50,
        "TRACE captured the flow ({} lines):\n{log}",
        log.lines().count()
    );
    assert!(
        log.contains("login completed"),
        "the crate's own events are captured"
    );
    secrets.retain(|s| s.len() >= 8);
    secrets.sort();
    secrets.dedup();
    assert!(secrets.len() >= 10, "collected {} secrets", secrets.len());
    for secret in &secrets {
        assert!(
            !log.contains(secret.as_str()),
            "a secret ({} chars, starting {:?}) appears in the log:\n{}",
            secret.len(),
            &secret[..4],
            log.lines()
                .filter(|l| l.contains(secret.as_str()))
                .collect::<Vec<_>>()
                .join("\n")
        );
    }
}

#[tokio::test]
#[ignore = "run in its own process by the_fapi_flow_logs_no_assertion_proof_or_key"]
async fn fapi_flow_in_its_own_process() {
    if std::env::var_os("AXUM_OAUTH_LOGIN_LOG_CHILD").is_none() {
        return;
    }
    let captured = capture();
    let client_pem = include_str!("../fixtures/keys/p256.pem");
    let dpop_pem = include_str!("../fixtures/keys/p256-other.pem");
    let client_key = SigningKey::from_pem(client_pem).unwrap();
    let client = MockClient {
        public_key: Some(client_key.public_jwk()),
        ..MockClient::new("fapi-client", "")
    };
    let mock = MockProvider::builder()
        .default_client(client)
        .require_par(true)
        .require_dpop_nonce(true)
        .refresh_tokens(true)
        .token_lifetime(Duration::from_secs(120))
        .start()
        .await
        .expect("mock");
    let provider = mock.provider().to_builder().dpop(true).build().unwrap();
    let (listener, port) = bind().await;
    let clock = Clock::manual_from_now();
    let oauth = example::configure(
        OAuth::builder(provider, mock.client_id(), "")
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .cookie_key(CookieKey::generate())
            .client_key(client_key)
            .dpop_key(SigningKey::from_pem(dpop_pem).unwrap()),
    )
    .build()
    .expect("OAuth builds");
    let app = TestApp::serve(mock, listener, oauth, clock);
    // The keys' PEM bodies, line by line.
    let mut secrets: Vec<String> = [client_pem, dpop_pem]
        .iter()
        .flat_map(|pem| pem.lines().filter(|l| !l.starts_with("-----")))
        .map(str::to_owned)
        .collect();

    app.login().await;
    secrets.extend(app.session_cookie());
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(app.get("/business").await.status(), StatusCode::OK);
    advance(&app, 130);
    let tokens: Value = json(app.get("/tokens").await).await;
    secrets.extend(tokens["access_token"].as_str().map(str::to_owned));
    app.post("/auth/logout").await;

    for endpoint in [
        MockEndpoint::Par,
        MockEndpoint::Token,
        MockEndpoint::Userinfo,
        MockEndpoint::Api,
        MockEndpoint::Revoke,
    ] {
        for r in app.mock.requests(endpoint) {
            for field in ["client_assertion", "code", "code_verifier", "refresh_token"] {
                secrets.extend(r.fields.get(field).cloned());
            }
            let proof = r.headers.get("dpop").and_then(|v| v.to_str().ok());
            secrets.extend(proof.map(str::to_owned));
            secrets.extend(r.authorization.clone());
        }
    }
    let assertions = secrets
        .iter()
        .filter(|s| s.matches('.').count() == 2)
        .count();
    assert!(
        assertions >= 6,
        "assertions and proofs collected: {assertions}"
    );
    assert_clean(&captured, secrets);
}
