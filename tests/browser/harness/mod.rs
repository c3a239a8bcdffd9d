//! Harness for the browser end-to-end suite: finds Chromium and chromedriver (or skips,
//! or fails under CI), runs chromedriver as a child process, serves the `vcita_login`
//! example's app (`support::example::app`, as `cargo run --example vcita_login` does)
//! with a `MockProvider` on loopback ([`run`]) or against panva's oidc-provider
//! (`tests/interop/server.mjs`, configured from `OAUTH_*` variables as the example's
//! `main` is: [`run_oidc`]), drives headless Chromium through WebDriver (fantoccini),
//! and leaves a screenshot and the page source in `target/browser-failures/` when a
//! test body fails.
//!
//! One submodule per part: [`tools`] (finding Chromium and chromedriver), [`chromedriver`]
//! (the driver process and its WebDriver sessions), [`app`] (the app and its provider) and
//! [`browser`] (what a test body drives); the test runner is here.

use std::panic::AssertUnwindSafe;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use futures_util::FutureExt as _;

use crate::interop_harness::{OidcProvider, node_available};

mod app;
mod browser;
mod chromedriver;
mod tools;

use app::App;
pub use browser::Browser;
use chromedriver::{ChromeDriver, Scratch, new_session};
pub use tools::{Tools, tools};

/// Longest wait for one element, page or URL to show up.
pub const WAIT: Duration = Duration::from_secs(10);
/// How often a wait polls.
const POLL: Duration = Duration::from_millis(50);
/// Longest wait for chromedriver to answer on its port, and for a new browser session.
const STARTUP: Duration = Duration::from_secs(20);
/// Upper bound for a whole test body.
const TEST_TIMEOUT: Duration = Duration::from_secs(90);

/// `target/` (the parent of Cargo's per-target temporary directory).
fn target_dir() -> PathBuf {
    let tmp = Path::new(env!("CARGO_TARGET_TMPDIR"));
    tmp.parent().unwrap_or(tmp).to_path_buf()
}

/// Runs one browser test against the example's app with its embedded `MockProvider`:
/// see [`run_with`].
pub async fn run<B>(test: &str, body: B)
where
    B: AsyncFnOnce(&Browser),
{
    run_with(test, App::mock, body).await;
}

/// Runs one browser test against the example's app logging in with panva's
/// oidc-provider (`tests/interop/server.mjs`; see [`App::oidc`]): see [`run_with`].
/// Needs Node and `npm ci --prefix tests/interop` as well as Chromium: without either,
/// a loud SKIPPED notice locally, a failure under `CI=true`.
pub async fn run_oidc<B>(test: &str, body: B)
where
    B: AsyncFnOnce(&Browser<OidcProvider>),
{
    if tools(test).is_none() || !node_available() {
        return;
    }
    run_with(test, App::oidc, body).await;
}

/// [`run_oidc`] with the FAPI 2.0 client ([`App::oidc_fapi`]).
pub async fn run_oidc_fapi<B>(test: &str, body: B)
where
    B: AsyncFnOnce(&Browser<OidcProvider>),
{
    if tools(test).is_none() || !node_available() {
        return;
    }
    run_with(test, App::oidc_fapi, body).await;
}

/// Runs one browser test: checks the tools (skip or CI panic), starts chromedriver,
/// the app and its provider (`start`), and a fresh headless Chromium; runs `body` at
/// most [`TEST_TIMEOUT`]; on a panic or timeout saves the failure artifacts, tears
/// everything down, and fails the test.
async fn run_with<P, S, B>(test: &str, start: S, body: B)
where
    S: AsyncFnOnce() -> App<P>,
    B: AsyncFnOnce(&Browser<P>),
{
    let Some(tools) = tools(test) else {
        return;
    };
    let started = Instant::now();
    let scratch = Scratch::new(test);
    let driver = ChromeDriver::start(&tools, &scratch.0).await;
    let App {
        base,
        provider,
        server,
    } = start().await;
    let client = new_session(&tools, &driver, &scratch.0.join("profile")).await;
    let browser = Browser {
        client,
        base,
        provider,
    };

    let outcome = tokio::time::timeout(
        TEST_TIMEOUT,
        AssertUnwindSafe(body(&browser)).catch_unwind(),
    )
    .await;
    let failure = match outcome {
        Ok(Ok(())) => None,
        Ok(Err(panic)) => Some(panic),
        Err(_) => Some(Box::new(format!(
            "browser test `{test}` took longer than {TEST_TIMEOUT:?}"
        )) as Box<dyn std::any::Any + Send>),
    };
    if failure.is_some() {
        let dir = browser.save_failure(test, &driver.log).await;
        eprintln!(
            "browser test `{test}` failed: screenshot and page source in {}",
            dir.display()
        );
    }
    let Browser {
        client, provider, ..
    } = browser;
    let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    drop(driver);
    drop(provider);
    drop(server);
    drop(scratch);
    if let Some(panic) = failure {
        std::panic::resume_unwind(panic);
    }
    eprintln!("browser test `{test}` passed in {:?}", started.elapsed());
}
