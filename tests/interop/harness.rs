//! Harness for `tests/interop.rs`: panva's `oidc-provider` (Node) as a child process, the
//! `vcita_login` example's app (with the test-only routes, `tests/support/app.rs`) wired
//! against it, and a walk through the provider's devInteractions login and consent pages
//! with the shared cookie-keeping, non-redirecting [`Http`] client.
//!
//! Nothing here knows the crate's internals: the provider's endpoints come from its
//! discovery document (read here with plain reqwest, or by the crate's own
//! `Provider::discover` for [`InteropApp::start_discovered`]), and the login is driven
//! through real HTML forms.
//!
//! The server also takes commands on its stdin ([`OidcProvider::command`]): key rotation
//! ([`OidcProvider::rotate_keys`]) and one-shot id_token alterations for negative tests
//! ([`OidcProvider::mutate_next_id_token`], [`OidcProvider::tamper_next_id_token`]).

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use axum_oauth_login::{
    Clock, CookieKey, OAuth, OAuthBuilder, Provider,
    provider::{ClientAuth, ProviderBuilder},
};
use reqwest::StatusCode;
use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;
use url::Url;

use crate::support::{
    Form, Http, Server, bind, body, bounded, example, json, location, path_and_query, test_app,
};

/// Bound on the provider's start (Node start-up plus key generation).
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on a stdin command's acknowledgement (a key rotation generates an RSA key).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);
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
/// The third client: its access tokens are RFC 9068 JWTs (`typ: at+jwt`) for
/// [`RESOURCE`], which `server.mjs` makes its default resource (RFC 8707).
#[allow(dead_code)] // used by the OIDC interop tests
pub const JWT_CLIENT: (&str, &str, ClientAuth) = (
    "interop-jwt",
    "interop-jwt-secret",
    ClientAuth::ClientSecretPost,
);
/// The `aud` of [`JWT_CLIENT`]'s access tokens (`server.mjs`'s default `RESOURCE`).
#[allow(dead_code)] // used by the OIDC interop tests
pub const RESOURCE: &str = "urn:interop:api";

/// What [`OidcProvider::start_with`] registers for every client besides the redirect URIs.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// `backchannel_logout_uri` (with `backchannel_logout_session_required: true`); none
    /// when `None`.
    pub backchannel_logout_uri: Option<String>,
    /// `post_logout_redirect_uris`; when empty, the origin of each redirect URI plus `/`.
    pub post_logout_redirect_uris: Vec<String>,
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
        if !crate::harness::node_available() {
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
    #[allow(dead_code)] // used by the OIDC interop tests
    pub end_session_endpoint: String,
    #[allow(dead_code)] // used by the OIDC interop tests
    pub jwks_uri: String,
    pub raw: Value,
}

/// A running `node tests/interop/server.mjs`, killed when dropped.
pub struct OidcProvider {
    pub issuer: String,
    pub discovery: Discovery,
    events: Arc<Mutex<Vec<String>>>,
    child: Child,
    // Held open: the server exits when its stdin closes, so even a test process that
    // dies without running destructors leaves no server behind. Also the command channel
    // (the lock keeps one command and its acknowledgement together).
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
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
    /// Starts the server with `redirect_uris` registered for every client and waits (at
    /// most [`START_TIMEOUT`]) for its `LISTENING` line, then reads its discovery document.
    pub async fn start(redirect_uris: &[String]) -> OidcProvider {
        Self::start_with(redirect_uris, ProviderOptions::default()).await
    }

    /// [`start`](Self::start) with back-channel logout and post-logout redirect URIs.
    pub async fn start_with(redirect_uris: &[String], options: ProviderOptions) -> OidcProvider {
        let mut command = Command::new("node");
        command
            .arg(interop_dir().join("server.mjs"))
            .current_dir(interop_dir())
            .env("PORT", "0")
            .env("REDIRECT_URIS", redirect_uris.join(" "));
        // Not inherited from the test's environment: only what `options` says.
        match &options.backchannel_logout_uri {
            Some(uri) => command.env("BACKCHANNEL_LOGOUT_URI", uri),
            None => command.env_remove("BACKCHANNEL_LOGOUT_URI"),
        };
        if options.post_logout_redirect_uris.is_empty() {
            command.env_remove("POST_LOGOUT_REDIRECT_URIS");
        } else {
            command.env(
                "POST_LOGOUT_REDIRECT_URIS",
                options.post_logout_redirect_uris.join(" "),
            );
        }
        command.env("RESOURCE", RESOURCE);
        let mut child = command
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
            stdin: tokio::sync::Mutex::new(stdin),
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

    /// Writes `line` to the server's stdin and waits (at most [`COMMAND_TIMEOUT`]) for
    /// its acknowledgement (`EVENT ok <VERB>`), so the command is in force before the
    /// next request; panics on `EVENT command.error ...`. Returns the events the server
    /// reported from the moment the line was sent up to the acknowledgement.
    pub async fn command(&self, line: &str) -> Vec<String> {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut stdin = self.stdin.lock().await;
        let pipe = stdin.as_mut().expect("the server's stdin is open");
        let seen = self.events.lock().unwrap().len();
        let write = async {
            pipe.write_all(format!("{}\n", line.trim_end()).as_bytes())
                .await?;
            pipe.flush().await
        };
        bounded("writing to the server's stdin", write)
            .await
            .unwrap_or_else(|e| panic!("`{verb}` reaches the server: {e}"));
        let ok = format!("ok {verb}");
        let error = format!("command.error {verb} ");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let new: Vec<String> = self.events.lock().unwrap()[seen..].to_vec();
            if let Some(failure) = new.iter().find(|e| e.starts_with(&error)) {
                panic!("oidc-provider refused `{line}`: {failure}");
            }
            if let Some(at) = new.iter().position(|e| *e == ok) {
                return new[..=at].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "oidc-provider did not acknowledge `{verb}` within {COMMAND_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `ROTATE`: the server generates a new signing key and serves its jwks as [new, old]
    /// (the new key signs from now on; sessions, grants and codes survive). Returns the
    /// new key's `kid`.
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn rotate_keys(&self) -> String {
        let events = self.command("ROTATE").await;
        events
            .iter()
            .find_map(|e| e.strip_prefix("rotated "))
            .unwrap_or_else(|| panic!("no `rotated <kid>` event: {events:?}"))
            .to_owned()
    }

    /// `MUTATE_ID_TOKEN`: the next authorization-code token response's id_token gets
    /// `claims` (a JSON object) merged into its payload (`null` deletes a claim) and is
    /// re-signed with the same key: a valid signature over wrong claims.
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn mutate_next_id_token(&self, claims: Value) {
        assert!(
            claims.is_object(),
            "claims to merge must be an object: {claims}"
        );
        self.command(&format!("MUTATE_ID_TOKEN {claims}")).await;
    }

    /// `MUTATE_REFRESHED_ID_TOKEN <json>`: like [`mutate_next_id_token`](Self::mutate_next_id_token),
    /// for the next refresh-token response.
    pub async fn mutate_next_refreshed_id_token(&self, claims: Value) {
        self.command(&format!("MUTATE_REFRESHED_ID_TOKEN {claims}"))
            .await;
    }

    /// `TAMPER_ID_TOKEN`: the next authorization-code token response's id_token has its
    /// `email` changed to `mallory@example.test` without re-signing (its signature no
    /// longer verifies).
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn tamper_next_id_token(&self) {
        self.command("TAMPER_ID_TOKEN").await;
    }

    /// The id_token of the last token response that carried one (as delivered, after
    /// any mutation).
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn last_id_token(&self) -> Option<String> {
        self.events()
            .await
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("id_token "))
            .map(str::to_owned)
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

    /// The crate's own discovery of this server ([`Provider::discover`]), unchanged.
    pub async fn discover(&self) -> ProviderBuilder {
        bounded("Provider::discover", Provider::discover(&self.issuer))
            .await
            .unwrap_or_else(|e| panic!("oidc-provider's metadata is usable: {e}"))
    }

    /// [`discover`](Self::discover) with what a login in this suite needs: the scopes
    /// and consent prompt of [`provider`](Self::provider); the client authentication
    /// method is the one discovery chose unless `auth` says otherwise.
    pub async fn discovered_provider(&self, auth: Option<ClientAuth>) -> Provider {
        let mut builder = self
            .discover()
            .await
            .scopes(["openid", "email", "offline_access"])
            .authorize_param("prompt", "consent");
        if let Some(auth) = auth {
            builder = builder.client_auth(auth);
        }
        builder.build().expect("the discovered provider builds")
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
        end_session_endpoint: field("end_session_endpoint"),
        jwks_uri: field("jwks_uri"),
        raw: raw.clone(),
    }
}

/// The app under test: the example's app with the test-only routes
/// ([`test_app`]), logging in with oidc-provider.
pub struct InteropApp {
    pub provider: OidcProvider,
    pub oauth: OAuth,
    pub clock: Clock,
    pub base: String,
    pub redirect_uri: String,
    pub client_id: &'static str,
    /// One cookie jar for the app and the provider (cookies ignore ports; their cookie
    /// names do not collide).
    pub http: Http,
    _server: Server,
}

impl InteropApp {
    /// Binds the app, starts oidc-provider with the app's callback registered, and serves
    /// the app for the client `(id, secret, auth)`.
    pub async fn start(client: (&'static str, &'static str, ClientAuth)) -> InteropApp {
        Self::launch(client, false, ProviderOptions::default(), |p| p, |b| b).await
    }

    /// An OpenID Connect app: the discovered provider (id_tokens validated), with
    /// `post_logout_redirect_uri` `{base}/` and back-channel logout to
    /// `{base}/auth/backchannel-logout` registered at the provider and configured in
    /// the app; `provider` and `oauth` add what a test needs.
    pub async fn start_oidc(
        client: (&'static str, &'static str, ClientAuth),
        provider: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
        oauth: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> InteropApp {
        let options = |base: &str| ProviderOptions {
            backchannel_logout_uri: Some(format!("{base}/auth/backchannel-logout")),
            post_logout_redirect_uris: vec![format!("{base}/")],
        };
        Self::launch_with(client, true, options, provider, oauth).await
    }

    /// Like [`start`](Self::start), with the provider from the crate's own
    /// `Provider::discover` ([`OidcProvider::discovered_provider`]; its name is the
    /// issuer's host, and its client authentication method is discovery's choice).
    pub async fn start_discovered(client: (&'static str, &'static str, ClientAuth)) -> InteropApp {
        Self::launch(client, true, ProviderOptions::default(), |p| p, |b| b).await
    }

    async fn launch(
        client: (&'static str, &'static str, ClientAuth),
        discovered: bool,
        options: ProviderOptions,
        provider: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
        oauth: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> InteropApp {
        Self::launch_with(client, discovered, |_| options, provider, oauth).await
    }

    async fn launch_with(
        client: (&'static str, &'static str, ClientAuth),
        discovered: bool,
        options: impl FnOnce(&str) -> ProviderOptions,
        customize_provider: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
        customize_oauth: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> InteropApp {
        let (listener, port) = bind().await;
        let base = format!("http://127.0.0.1:{port}");
        let redirect_uri = format!("{base}/auth/callback");
        let options = options(&base);
        let post_logout = options.post_logout_redirect_uris.first().cloned();
        let provider = OidcProvider::start_with(std::slice::from_ref(&redirect_uri), options).await;

        let (client_id, client_secret, auth) = client;
        let described = if discovered {
            // The registered method (for the basic client, also discovery's choice).
            customize_provider(provider.discovered_provider(Some(auth)).await.to_builder())
                .build()
                .expect("the customised provider builds")
        } else {
            provider.provider(auth)
        };
        let clock = Clock::manual_from_now();
        let mut builder = OAuth::builder(described, client_id, client_secret)
            .redirect_uri(&redirect_uri)
            .clock(clock.clone())
            .cookie_key(CookieKey::generate());
        if let Some(uri) = post_logout {
            builder = builder.post_logout_redirect_uri(uri);
        }
        let oauth = example::configure(customize_oauth(builder))
            .build()
            .expect("OAuth builds");
        let server = Server::start(listener, test_app(&oauth));
        InteropApp {
            provider,
            oauth,
            clock,
            http: Http::new(),
            base,
            redirect_uri,
            client_id,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get_url(&self.url(path)).await
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.http.send(self.http.client.post(self.url(path))).await
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
        walk_provider(&self.http, &authorize, &self.redirect_uri).await
    }

    /// GETs `callback`'s path and query on the app.
    pub async fn callback(&self, callback: &Url) -> reqwest::Response {
        self.get(&path_and_query(callback)).await
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

/// From the authorize URL through oidc-provider's devInteractions pages: follows its
/// redirects, fills the login form (any login/password works) and confirms consent,
/// until the provider redirects to `redirect_uri`; returns that URL, not followed.
pub async fn walk_provider(http: &Http, authorize: &Url, redirect_uri: &str) -> Url {
    let mut res = http.get_url(authorize.as_str()).await;
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
            res = http.get_url(next.as_str()).await;
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
        res = http
            .send(http.client.post(action.clone()).form(&fields))
            .await;
        current = action;
    }
    panic!("the provider never redirected to {redirect_uri} (pages seen: {pages:?})");
}

/// The user signs out at the provider itself: `GET end_session_endpoint` (no
/// id_token_hint, no client), then the confirmation form (`xsrf` plus `logout=yes`, "sign
/// me out of the provider", which also sends back-channel logout tokens to every client
/// of the session) with the provider's cookies held in `http`. Follows the provider's
/// redirects to its "Sign-out Success" page; returns that page's URL.
#[allow(dead_code)] // used by the OIDC interop tests
pub async fn logout_at_provider(http: &Http, end_session_endpoint: &str) -> Url {
    let start = Url::parse(end_session_endpoint).expect("a valid end_session_endpoint");
    match walk_logout(http, &start, None).await {
        Walked::Page(url, text) => {
            assert!(
                text.contains("Sign-out Success"),
                "oidc-provider's sign-out success page at {url}:\n{text}"
            );
            url
        }
        Walked::Redirected(url) => panic!("oidc-provider left for {url} after a sign-out"),
    }
}

/// RP-Initiated Logout: from the end-session URL the app redirected to (`start`, with
/// its id_token_hint, post_logout_redirect_uri, state) through oidc-provider's
/// confirmation page (answered "yes, sign me out"), until the provider redirects to
/// `post_logout_redirect_uri`; returns that URL (with its `state`), not followed.
#[allow(dead_code)] // used by the OIDC interop tests
pub async fn walk_rp_logout(http: &Http, start: &Url, post_logout_redirect_uri: &str) -> Url {
    let target = Url::parse(post_logout_redirect_uri).expect("a valid post_logout_redirect_uri");
    match walk_logout(http, start, Some(&target)).await {
        Walked::Redirected(url) => url,
        Walked::Page(url, text) => panic!(
            "oidc-provider never redirected to {post_logout_redirect_uri}; it stopped at {url}:\n{text}"
        ),
    }
}

/// Where a logout walk ended.
enum Walked {
    /// A redirect to `stop` (not followed).
    Redirected(Url),
    /// A 200 page without a form (its URL and text).
    Page(Url, String),
}

/// `url` without query and fragment.
fn bare(url: &Url) -> Url {
    let mut bare = url.clone();
    bare.set_query(None);
    bare.set_fragment(None);
    bare
}

/// The logout walk: follows the provider's redirects and submits its forms, the
/// confirmation page (`<form id="op.logoutForm">` with a hidden `xsrf`; the "Yes, sign
/// me out" button, `name="logout" value="yes"`, sits outside the form and points at it
/// with `form=`, so `logout=yes` is added here) or, when the provider has no session,
/// its self-submitting form (hidden `xsrf` and `logout=yes`); stops at a redirect to
/// `stop` (query ignored) or at a page without a form.
async fn walk_logout(http: &Http, start: &Url, stop: Option<&Url>) -> Walked {
    let mut res = http.get_url(start.as_str()).await;
    let mut current = start.clone();
    for _ in 0..8 {
        let status = res.status();
        if status.is_redirection() {
            let next = current
                .join(&location(&res))
                .expect("a valid Location from the provider");
            if stop.is_some_and(|stop| bare(&next) == bare(stop)) {
                return Walked::Redirected(next);
            }
            res = http.get_url(next.as_str()).await;
            current = next;
            continue;
        }
        let text = body(res).await;
        assert_eq!(
            status,
            StatusCode::OK,
            "oidc-provider logout page {current}: {text}"
        );
        let Some(form) = Form::parse(&text) else {
            return Walked::Page(current, text);
        };
        let mut fields = form.hidden.clone();
        assert!(
            fields.iter().any(|(k, _)| k == "xsrf"),
            "a logout form with its xsrf token at {current}:\n{text}"
        );
        if !fields.iter().any(|(k, _)| k == "logout") {
            fields.push(("logout".into(), "yes".into()));
        }
        let action = current.join(&form.action).expect("a valid form action");
        res = http
            .send(http.client.post(action.clone()).form(&fields))
            .await;
        current = action;
    }
    panic!("the logout from {start} did not end within 8 steps (at {current})");
}
