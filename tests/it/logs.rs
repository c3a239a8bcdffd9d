//! No secret in any log line: the whole flow (login, refresh, bearer calls, failures,
//! logout) under a TRACE subscriber that captures everything — the crate, the mock
//! provider, hyper, reqwest — and not one client secret, code, token, verifier, state
//! or cookie value in it.

use std::io::Write;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_oauth_login_mock::{MockEndpoint, MockProvider};
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
    let out = std::process::Command::new(std::env::current_exe().expect("test binary"))
        .args([
            "logs::flow_in_its_own_process",
            "--exact",
            "--ignored",
            "--nocapture",
        ])
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
    let captured = Captured::default();
    let subscriber = tracing_subscriber::fmt()
        .with_max_level(tracing::Level::TRACE)
        .with_writer(captured.clone())
        .with_ansi(false)
        .finish();
    tracing::subscriber::set_global_default(subscriber).expect("the only subscriber");

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
