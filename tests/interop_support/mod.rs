//! Harness for `tests/interop.rs`: panva's `oidc-provider` (Node) as a child process, an
//! axum app wired with the crate against it, and a cookie-keeping, non-redirecting
//! "browser" that clicks through the provider's devInteractions login and consent pages.
//!
//! Nothing here knows the crate's internals: the provider's endpoints come from its
//! discovery document, and the login is driven through real HTML forms.
#![allow(dead_code)]

use std::future::Future;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::{
    AuthSession, BearerUser, ClientAuth, Clock, CookieKey, OAuth, Provider, UserInfo,
};
use reqwest::StatusCode;
use reqwest::header::LOCATION;
use serde_json::{Value, json};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::net::TcpListener;
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;
use url::Url;

#[path = "../common/urls.rs"]
mod urls;
#[allow(unused_imports)] // not every test file uses every helper
pub use urls::*;

/// Bound on one HTTP request or one step of the harness.
pub const STEP_TIMEOUT: Duration = Duration::from_secs(10);
/// Bound on the provider's start (Node start-up plus key generation).
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// The account every devInteractions login uses (its `sub`).
pub const LOGIN: &str = "interop-user";
/// The email `server.mjs` gives every account.
pub const EMAIL: &str = "interop@example.test";

/// The two clients `server.mjs` registers: (id, secret, auth method).
pub const POST_CLIENT: (&str, &str, ClientAuth) = (
    "interop-post",
    "interop-post-secret",
    ClientAuth::ClientSecretPost,
);
pub const BASIC_CLIENT: (&str, &str, ClientAuth) = (
    "interop-basic",
    "interop-basic-secret",
    ClientAuth::ClientSecretBasic,
);

/// Awaits `fut`, failing the test when it takes longer than `limit`.
pub async fn bounded_by<F: Future>(limit: Duration, what: &str, fut: F) -> F::Output {
    tokio::time::timeout(limit, fut)
        .await
        .unwrap_or_else(|_| panic!("{what} took longer than {limit:?}"))
}

pub async fn bounded<F: Future>(what: &str, fut: F) -> F::Output {
    bounded_by(STEP_TIMEOUT, what, fut).await
}

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Whether the suite can run: `node` on the PATH and `npm ci --prefix tests/interop` done.
///
/// When it cannot: with `CI=true` this panics (CI must never skip silently); otherwise it
/// prints a loud notice to stderr and returns `false`, and the test returns early.
pub fn node_available() -> bool {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    let problem = match node {
        Err(e) => Some(format!("`node` could not be run ({e})")),
        Ok(out) if !out.status.success() => Some("`node --version` failed".to_owned()),
        Ok(_)
            if !interop_dir()
                .join("node_modules/oidc-provider/package.json")
                .is_file() =>
        {
            Some("tests/interop/node_modules is not installed".to_owned())
        }
        Ok(_) => None,
    };
    let Some(problem) = problem else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        panic!(
            "interop suite cannot run on CI: {problem}. \
             Run `.ci/interop.sh` (npm ci --prefix tests/interop) before `cargo test`."
        );
    }
    // Written to the real stderr, not through `eprintln!`, which the test harness
    // captures and hides for passing tests; once per test binary.
    static NOTICE: std::sync::Once = std::sync::Once::new();
    NOTICE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n**************************************************************\n\
             SKIPPED: interop tests against oidc-provider: {problem}.\n\
             run `npm ci --prefix tests/interop` first\n\
             **************************************************************\n"
        );
    });
    false
}

/// Returns early from a test (after a loud notice) when Node or the packages are missing.
macro_rules! require_node {
    () => {
        if !crate::interop_support::node_available() {
            return;
        }
    };
}

/// The endpoints from `{issuer}/.well-known/openid-configuration`.
#[derive(Debug, Clone)]
pub struct Discovery {
    pub issuer: String,
    pub authorization_endpoint: String,
    pub token_endpoint: String,
    pub userinfo_endpoint: String,
    pub introspection_endpoint: String,
    pub revocation_endpoint: String,
    pub raw: Value,
}

/// A running `node tests/interop/server.mjs`, killed when dropped.
pub struct OidcProvider {
    pub issuer: String,
    pub discovery: Discovery,
    events: Arc<Mutex<Vec<String>>>,
    child: Child,
    // Held open: the server exits when its stdin closes, so even a test process that
    // dies without running destructors leaves no server behind.
    _stdin: Option<ChildStdin>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        for r in &self.readers {
            r.abort();
        }
    }
}

impl OidcProvider {
    /// Starts the server with `redirect_uris` registered for both clients and waits (at
    /// most [`START_TIMEOUT`]) for its `LISTENING` line, then reads its discovery document.
    pub async fn start(redirect_uris: &[String]) -> OidcProvider {
        let mut child = Command::new("node")
            .arg(interop_dir().join("server.mjs"))
            .current_dir(interop_dir())
            .env("PORT", "0")
            .env("REDIRECT_URIS", redirect_uris.join(" "))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("`node tests/interop/server.mjs` starts");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();

        // stderr: kept for the failure message, and echoed (captured by the test harness).
        let errors = Arc::new(Mutex::new(Vec::<String>::new()));
        let err_sink = errors.clone();
        let err_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("[oidc-provider] {line}");
                err_sink.lock().unwrap().push(line);
            }
        });

        let issuer = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = stdout.next_line().await.ok().flatten() {
                if let Some(issuer) = line.strip_prefix("LISTENING ") {
                    return Some(issuer.trim().to_owned());
                }
                eprintln!("[oidc-provider] {line}");
            }
            None
        })
        .await;
        let issuer = match issuer {
            Ok(Some(issuer)) => issuer,
            Ok(None) => panic!(
                "oidc-provider exited before listening; stderr:\n{}",
                errors.lock().unwrap().join("\n")
            ),
            Err(_) => panic!(
                "oidc-provider did not print LISTENING within {START_TIMEOUT:?}; stderr:\n{}",
                errors.lock().unwrap().join("\n")
            ),
        };

        // stdout after LISTENING: `EVENT ...` lines, collected; drained so Node never blocks.
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let out_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                match line.strip_prefix("EVENT ") {
                    Some(event) => sink.lock().unwrap().push(event.to_owned()),
                    None => eprintln!("[oidc-provider] {line}"),
                }
            }
        });

        let discovery = discover(&issuer).await;
        OidcProvider {
            issuer,
            discovery,
            events,
            child,
            _stdin: stdin,
            readers: vec![err_reader, out_reader],
        }
    }

    /// Events the server reported so far (`grant.success interop-post`,
    /// `auth /token client_secret_basic interop-basic`, ...).
    ///
    /// The server prints an event before it answers the request, and Linux pipes are
    /// synchronous in Node, so the line is in the pipe by the time the requester has its
    /// answer; the short settle lets the reader task take it out.
    pub async fn events(&self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.events.lock().unwrap().clone()
    }

    /// How many requests reached the token endpoint (code exchanges and refreshes,
    /// whether they succeeded or not).
    pub async fn token_requests(&self) -> usize {
        self.events()
            .await
            .iter()
            .filter(|e| e.starts_with("auth /token "))
            .count()
    }

    /// A provider description for the crate, from discovery, for one registered client.
    pub fn provider(&self, auth: ClientAuth) -> Provider {
        let d = &self.discovery;
        Provider::custom("oidc-provider")
            .authorize_url(&d.authorization_endpoint)
            .token_url(&d.token_endpoint)
            .userinfo_url(&d.userinfo_endpoint)
            .introspection_url(&d.introspection_endpoint)
            .revocation_url(&d.revocation_endpoint)
            .issuer(&d.issuer)
            .client_auth(auth)
            .scopes(["openid", "email", "offline_access"])
            // oidc-provider grants offline_access (a refresh token) only with consent.
            .authorize_param("prompt", "consent")
            .build()
            .expect("the provider from discovery builds")
    }
}

async fn discover(issuer: &str) -> Discovery {
    let url = format!("{issuer}/.well-known/openid-configuration");
    let raw: Value = bounded("discovery", async {
        reqwest::get(&url)
            .await
            .expect("discovery answers")
            .error_for_status()
            .expect("discovery is 200")
            .json()
            .await
            .expect("discovery is JSON")
    })
    .await;
    let field = |name: &str| -> String {
        raw[name]
            .as_str()
            .unwrap_or_else(|| panic!("discovery has no `{name}`: {raw}"))
            .to_owned()
    };
    Discovery {
        issuer: field("issuer"),
        authorization_endpoint: field("authorization_endpoint"),
        token_endpoint: field("token_endpoint"),
        userinfo_endpoint: field("userinfo_endpoint"),
        introspection_endpoint: field("introspection_endpoint"),
        revocation_endpoint: field("revocation_endpoint"),
        raw: raw.clone(),
    }
}

/// The app under test: the crate's routes and layer, `/me` (login required,
/// `BearerUser`), and `/tokens`, a test-only route showing the session's tokens.
pub struct InteropApp {
    pub provider: OidcProvider,
    pub oauth: OAuth,
    pub clock: Clock,
    pub base: String,
    pub redirect_uri: String,
    pub client_id: &'static str,
    pub client_secret: &'static str,
    pub browser: Browser,
    server: JoinHandle<()>,
}

impl Drop for InteropApp {
    fn drop(&mut self) {
        self.server.abort();
    }
}

impl InteropApp {
    /// Binds the app, starts oidc-provider with the app's callback registered, and serves
    /// the app for the client `(id, secret, auth)`.
    pub async fn start(client: (&'static str, &'static str, ClientAuth)) -> InteropApp {
        let listener = TcpListener::bind("127.0.0.1:0").await.expect("bind");
        let addr = listener.local_addr().expect("local addr");
        let base = format!("http://{addr}");
        let redirect_uri = format!("{base}/auth/callback");
        let provider = OidcProvider::start(std::slice::from_ref(&redirect_uri)).await;

        let (client_id, client_secret, auth) = client;
        let clock = Clock::manual_from_now();
        let oauth = OAuth::builder(provider.provider(auth), client_id, client_secret)
            .redirect_uri(&redirect_uri)
            .clock(clock.clone())
            .cookie_key(CookieKey::generate())
            .build()
            .expect("OAuth builds");
        let router = Router::new()
            .route("/me", get(me).route_layer(oauth.require_login()))
            .route("/tokens", get(tokens))
            .merge(oauth.routes())
            .layer(oauth.layer());
        let server = tokio::spawn(async move {
            axum::serve(listener, router).await.expect("server runs");
        });
        InteropApp {
            provider,
            oauth,
            clock,
            browser: Browser::new(),
            base,
            redirect_uri,
            client_id,
            client_secret,
            server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.browser.get(&self.url(path)).await
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.browser
            .send(self.browser.client.post(self.url(path)))
            .await
    }

    /// `GET /auth/login`; returns the provider's authorize URL.
    pub async fn start_login(&self) -> Url {
        let res = self.get("/auth/login").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login answers 303");
        let location = location(&res);
        let url = Url::parse(&location).expect("absolute authorize URL");
        assert!(
            url.as_str()
                .starts_with(&self.provider.discovery.authorization_endpoint),
            "login sends the browser to the discovered authorize endpoint: {url}"
        );
        url
    }

    /// Login started at the app, walked through oidc-provider; returns the callback URL
    /// the provider redirected to (not yet followed).
    pub async fn provider_callback(&self) -> Url {
        let authorize = self.start_login().await;
        self.browser
            .walk_provider(&authorize, &self.redirect_uri)
            .await
    }

    /// GETs `callback`'s path and query on the app.
    pub async fn callback(&self, callback: &Url) -> reqwest::Response {
        let pq = match callback.query() {
            Some(q) => format!("{}?{q}", callback.path()),
            None => callback.path().to_owned(),
        };
        self.get(&pq).await
    }

    /// A whole login that must succeed; returns the callback URL it used.
    pub async fn login(&self) -> Url {
        let callback = self.provider_callback().await;
        let res = self.callback(&callback).await;
        let status = res.status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "the callback completes the login: {}",
            body(res).await
        );
        callback
    }

    /// The session's tokens as `/tokens` shows them.
    pub async fn session_tokens(&self) -> Value {
        let res = self.get("/tokens").await;
        assert_eq!(res.status(), StatusCode::OK, "/tokens needs a session");
        json(res).await
    }
}

async fn me(user: BearerUser) -> Json<UserInfo> {
    Json(user.into_info())
}

/// Test-only: exposes the session's tokens so the test can use them with `OAuthClient`.
async fn tokens(session: AuthSession) -> Json<Value> {
    let t = session.tokens();
    Json(json!({
        "access_token": t.access_token().secret(),
        "refresh_token": t.refresh_token().map(|r| r.secret()),
        "expires_at": t.expires_at(),
        "scope": t.scope(),
    }))
}

/// An HTTP client with a cookie jar that never follows redirects. The jar is shared by
/// the app and the provider (cookies ignore ports); their cookie names do not collide.
pub struct Browser {
    pub client: reqwest::Client,
}

impl Browser {
    pub fn new() -> Browser {
        let client = reqwest::Client::builder()
            .cookie_store(true)
            .redirect(reqwest::redirect::Policy::none())
            .timeout(STEP_TIMEOUT)
            .build()
            .expect("client builds");
        Browser { client }
    }

    pub async fn send(&self, req: reqwest::RequestBuilder) -> reqwest::Response {
        bounded("an HTTP request", req.send())
            .await
            .expect("request succeeds")
    }

    pub async fn get(&self, url: &str) -> reqwest::Response {
        self.send(self.client.get(url)).await
    }

    /// From the authorize URL through oidc-provider's devInteractions pages: follows its
    /// redirects, fills the login form (any login/password works) and confirms consent,
    /// until the provider redirects to `redirect_uri`; returns that URL, not followed.
    pub async fn walk_provider(&self, authorize: &Url, redirect_uri: &str) -> Url {
        let mut res = self.get(authorize.as_str()).await;
        let mut current = authorize.clone();
        let mut pages = Vec::new();
        for _ in 0..12 {
            let status = res.status();
            if status.is_redirection() {
                let next = current
                    .join(&location(&res))
                    .expect("a valid Location from the provider");
                if next.as_str().starts_with(redirect_uri) {
                    return next;
                }
                res = self.get(next.as_str()).await;
                current = next;
                continue;
            }
            let text = body(res).await;
            assert_eq!(
                status,
                StatusCode::OK,
                "oidc-provider page {current}: {text}"
            );
            let form = Form::parse(&text)
                .unwrap_or_else(|| panic!("no form on the provider page {current}:\n{text}"));
            let mut fields = form.hidden.clone();
            let prompt = fields
                .iter()
                .find(|(k, _)| k == "prompt")
                .map(|(_, v)| v.clone());
            pages.push(prompt.clone().unwrap_or_default());
            if form.inputs.iter().any(|n| n == "login") {
                fields.push(("login".into(), LOGIN.into()));
                fields.push(("password".into(), "any password".into()));
            }
            let action = current.join(&form.action).expect("a valid form action");
            res = self
                .send(self.client.post(action.clone()).form(&fields))
                .await;
            current = action;
        }
        panic!("the provider never redirected to {redirect_uri} (pages seen: {pages:?})");
    }
}

/// The one form of a devInteractions page.
#[derive(Debug)]
pub struct Form {
    pub action: String,
    /// Hidden inputs, in order.
    pub hidden: Vec<(String, String)>,
    /// Names of the other inputs.
    pub inputs: Vec<String>,
}

impl Form {
    /// A tiny, tolerant reader for oidc-provider's generated HTML: the first `<form>`'s
    /// `action`, and its `<input>`s.
    pub fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e);
        let form = &html[start..end];
        let open = &form[..form.find('>')?];
        let action = attr(open, "action")?;
        let mut hidden = Vec::new();
        let mut inputs = Vec::new();
        let mut rest = form;
        while let Some(i) = rest.find("<input") {
            rest = &rest[i + 6..];
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            if attr(tag, "type").as_deref() == Some("hidden") {
                hidden.push((name, attr(tag, "value").unwrap_or_default()));
            } else {
                inputs.push(name);
            }
        }
        Some(Form {
            action,
            hidden,
            inputs,
        })
    }
}

/// `name="value"` (or single quotes) inside a tag, HTML-unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    loop {
        let i = search.find(name)?;
        let before = search[..i].chars().last();
        let after = &search[i + name.len()..];
        search = after;
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(after) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let value = &after[1..];
        let value = &value[..value.find(quote)?];
        return Some(unescape(value));
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The `Location` header (panics when missing).
pub fn location(res: &reqwest::Response) -> String {
    res.headers()
        .get(LOCATION)
        .unwrap_or_else(|| panic!("a Location header on a {} answer", res.status()))
        .to_str()
        .expect("ascii Location")
        .to_owned()
}

pub async fn body(res: reqwest::Response) -> String {
    bounded("reading a body", res.text())
        .await
        .expect("body reads")
}

pub async fn json(res: reqwest::Response) -> Value {
    bounded("reading a JSON body", res.json())
        .await
        .expect("JSON body")
}
