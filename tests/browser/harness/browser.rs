//! What a test body drives: a WebDriver session on headless Chromium at the app, with
//! waits, clicks, typing, probes, and screenshots (on request, and when a test fails).

use std::fs;
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use axum_oauth_login_mock::MockProvider;
use fantoccini::elements::Element;
use fantoccini::{Client, Locator};
use url::Url;

use super::{POLL, WAIT, target_dir};

/// What a test body drives: a WebDriver session on headless Chromium, the app, and the
/// provider the app logs in with (the in-process `MockProvider` unless said otherwise).
pub struct Browser<P = MockProvider> {
    pub client: Client,
    /// `http://127.0.0.1:PORT` of the app.
    pub base: String,
    pub provider: P,
}

impl<P> Browser<P> {
    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    /// Navigates to `path` on the app.
    pub async fn goto(&self, path: &str) {
        let url = self.url(path);
        self.client
            .goto(&url)
            .await
            .unwrap_or_else(|e| panic!("navigating to {url}: {e}"));
    }

    pub async fn current_url(&self) -> Url {
        self.client.current_url().await.expect("current URL")
    }

    /// The element matching `css`, polled for at most [`WAIT`]. A lookup that fails
    /// while the page is navigating (chromedriver: "aborted by navigation") is tried
    /// again, like a missing element: only the deadline decides.
    pub async fn wait_for(&self, css: &str) -> Element {
        let deadline = Instant::now() + WAIT;
        loop {
            let error = match self.client.find(Locator::Css(css)).await {
                Ok(element) => return element,
                Err(e) => e,
            };
            if Instant::now() >= deadline {
                let url = self.client.current_url().await.map(String::from);
                panic!("`{css}` did not appear within {WAIT:?} (page {url:?}): {error}")
            }
            tokio::time::sleep(POLL).await;
        }
    }

    /// Waits for `css`, then clicks it.
    pub async fn click(&self, css: &str) {
        self.wait_for(css)
            .await
            .click()
            .await
            .unwrap_or_else(|e| panic!("clicking `{css}`: {e}"));
    }

    /// Waits for `css`, then types `text` into it.
    pub async fn fill(&self, css: &str, text: &str) {
        self.wait_for(css)
            .await
            .send_keys(text)
            .await
            .unwrap_or_else(|e| panic!("typing into `{css}`: {e}"));
    }

    /// Waits for `css`, then returns its visible text.
    pub async fn text(&self, css: &str) -> String {
        self.wait_for(css)
            .await
            .text()
            .await
            .unwrap_or_else(|e| panic!("reading the text of `{css}`: {e}"))
    }

    /// Polls until the current URL satisfies `ok`, for at most [`WAIT`]; returns it.
    pub async fn wait_for_url(&self, what: &str, ok: impl Fn(&Url) -> bool) -> Url {
        let deadline = Instant::now() + WAIT;
        loop {
            let url = self.current_url().await;
            if ok(&url) {
                return url;
            }
            assert!(
                Instant::now() < deadline,
                "the page did not reach {what} within {WAIT:?}; it is at {url}"
            );
            tokio::time::sleep(POLL).await;
        }
    }

    /// What the app answers a navigation to `path` from this browser right now, without
    /// following a redirect: a `GET` with the cookies the browser holds for the page it
    /// shows (WebDriver hands over `HttpOnly` ones too; cookies ignore ports, so any
    /// `127.0.0.1` page will do) and a navigation's headers. Returns the status and the
    /// `Location` header, if any. For "is there a session?" where a real navigation
    /// would go on through the provider and log in again.
    pub async fn probe(&self, path: &str) -> (reqwest::StatusCode, Option<String>) {
        let shown = self.current_url().await;
        let app = Url::parse(&self.base).expect("the app's base URL");
        assert_eq!(
            shown.host_str(),
            app.host_str(),
            "probe from a page on the app's host (the browser is at {shown})"
        );
        let cookies = self.client.get_all_cookies().await.expect("the cookies");
        let header = cookies
            .iter()
            .map(|c| format!("{}={}", c.name(), c.value()))
            .collect::<Vec<_>>()
            .join("; ");
        let http = crate::support::client_builder()
            .redirect(reqwest::redirect::Policy::none())
            .timeout(WAIT)
            .build()
            .expect("HTTP client");
        let url = self.url(path);
        let mut req = http
            .get(&url)
            .header("accept", "text/html,application/xhtml+xml")
            .header("sec-fetch-mode", "navigate")
            .header("sec-fetch-dest", "document");
        if !header.is_empty() {
            req = req.header("cookie", header);
        }
        let res = req
            .send()
            .await
            .unwrap_or_else(|e| panic!("GET {url}: {e}"));
        let location = res
            .headers()
            .get(reqwest::header::LOCATION)
            .map(|l| l.to_str().expect("an ASCII Location").to_owned());
        (res.status(), location)
    }

    pub async fn source(&self) -> String {
        self.client.source().await.expect("page source")
    }

    /// With `BROWSER_SCREENSHOTS` set, saves a screenshot of the current page as
    /// `target/browser-screenshots/{name}.png` (for a person to look at).
    pub async fn snapshot(&self, name: &str) {
        if std::env::var_os("BROWSER_SCREENSHOTS").is_none() {
            return;
        }
        let dir = target_dir().join("browser-screenshots");
        fs::create_dir_all(&dir).expect("create target/browser-screenshots");
        let png = self.client.screenshot().await.expect("screenshot");
        fs::write(dir.join(format!("{name}.png")), png).expect("write the screenshot");
    }

    /// Saves a screenshot, the page source and the chromedriver log of a failed test
    /// under `target/browser-failures/`; returns where.
    pub(super) async fn save_failure(&self, test: &str, driver_log: &Path) -> PathBuf {
        let dir = target_dir().join("browser-failures");
        let _ = fs::create_dir_all(&dir);
        let bounded = Duration::from_secs(10);
        match tokio::time::timeout(bounded, self.client.screenshot()).await {
            Ok(Ok(png)) => {
                let _ = fs::write(dir.join(format!("{test}.png")), png);
            }
            other => eprintln!("browser test `{test}`: no screenshot: {other:?}"),
        }
        let url = tokio::time::timeout(bounded, self.client.current_url()).await;
        match tokio::time::timeout(bounded, self.client.source()).await {
            Ok(Ok(html)) => {
                let url = match url {
                    Ok(Ok(u)) => u.to_string(),
                    _ => "unknown".into(),
                };
                let _ = fs::write(
                    dir.join(format!("{test}.html")),
                    format!("<!-- {url} -->\n{html}"),
                );
            }
            other => eprintln!("browser test `{test}`: no page source: {other:?}"),
        }
        let _ = fs::copy(driver_log, dir.join(format!("{test}.chromedriver.log")));
        dir
    }
}
