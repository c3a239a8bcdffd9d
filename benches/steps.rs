//! What each step of the request path costs, in process (divan; one request per
//! iteration through `tower::ServiceExt::oneshot`, no network):
//!
//! | bench | the request |
//! |---|---|
//! | `limit` | the handler alone: a user held in memory → JSON (no layer) |
//! | `layer` | + `OAuthLayer` on a public route (the cookie is sliced, not opened) |
//! | `session_hit` | + `RequireLogin` + `AuthSession` (verified-cookie cache hit) |
//! | `session_open` | the same with a cookie never seen before (AES-GCM + inflate + JSON), in a second stack that did not issue it (under divan only the first 400 iterations open one; `STEPS_COUNT` gives every iteration a new cookie) |
//! | `bearer_session` | + `RequireLogin` + `BearerUser` from the session (kept user) |
//! | `bearer_header` | `BearerUser` from `Authorization: Bearer` (user-cache hit) |
//! | `guard` | `oauth.require(predicate)` + `BearerUser` from the session |
//! | `dpop_header` | `BearerUser` from `Authorization: DPoP` with a fresh proof (ES256): the proof checked (signature, claims, `jti` recorded), the user-cache hit, the binding (`cnf.jkt`) compared; compare with `bearer_header` |
//! | `dpop_sign` | an outbound call's proof: one ES256 DPoP proof signed with the app's key (no request) |
//! | `redis_hit` | `bearer_session` with the session in a `RedisStore` (feature `redis`): the cookie holds the sealed id, the record is loaded (`GET`) and opened on every request |
//! | `redis_get` | the `GET` of that record alone, through the redis crate's `ConnectionManager` (feature `redis`): the client's share of `redis_hit` |
//!
//! The Redis steps start a throwaway `redis-server` (on the `PATH`) on a free loopback
//! port, only when one of them runs; `cargo bench --features redis --bench steps`.
//!
//! The differences to `limit` are the crate's cost per step; the load benchmark
//! (`bench/load.sh`) shows what they mean in requests per second.
//!
//! ```text
//! cargo bench --bench steps
//! ```
//!
//! `STEPS_COUNT=<bench>:<n>` runs one bench `n` times in a plain loop instead (no divan),
//! for a profiler: `bench/instructions.sh` counts each step's instructions per request
//! under callgrind, which, unlike time, does not move with a noisy machine.

use std::sync::{Arc, OnceLock};

use axum::body::Body;
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::jose::SigningKey;
use axum_oauth_login::provider::UserResolver;
use axum_oauth_login::{AuthSession, BearerUser, CookieKey, OAuth, UserInfo};
use axum_oauth_login_mock::MockProvider;
use http::Request;
use tower::ServiceExt as _;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: Router,
    /// The same routes in a second stack that issued none of the cookies.
    opener: Router,
    cookie: String,
    /// Distinct session cookies, each opened once by `session_open`.
    fresh: Vec<String>,
    token: String,
    /// The DPoP-accepting stack, its bound token and the proofs `dpop_header` spends.
    dpop: Router,
    dpop_token: String,
    proofs: std::sync::Mutex<Vec<String>>,
    _mock: MockProvider,
}

/// The app's DPoP key (a throwaway test key).
const DPOP_PEM: &str = include_str!("../tests/fixtures/keys/p256-other.pem");
const DPOP_URL: &str = "http://127.0.0.1:9/api/me";

fn dpop_key() -> SigningKey {
    SigningKey::from_pem(DPOP_PEM).unwrap()
}

/// A fresh proof for `dpop_header`'s request with `token`.
fn fresh_proof(token: &str) -> String {
    let url = url::Url::parse(DPOP_URL).unwrap();
    dpop_key()
        .dpop_proof("GET", &url, Some(token), None)
        .unwrap()
}

static FIXTURE: OnceLock<Fixture> = OnceLock::new();
const FRESH_COOKIES: usize = 400;

/// How many fresh cookies the fixture logs in for: all of them for divan, only what the
/// profiled loop needs otherwise (each login is thousands of requests' worth of work).
fn fresh_cookies() -> usize {
    match profile() {
        Some(("session_open", n)) => n + 1,
        Some(_) => 1,
        None => FRESH_COOKIES,
    }
}

/// `STEPS_COUNT=<bench>:<n>`, parsed.
fn profile() -> Option<(&'static str, usize)> {
    static PROFILE: OnceLock<Option<(&'static str, usize)>> = OnceLock::new();
    *PROFILE.get_or_init(|| {
        let spec = std::env::var("STEPS_COUNT").ok()?;
        let (name, n) = spec.split_once(':').expect("STEPS_COUNT=<bench>:<n>");
        let n = n.parse().expect("STEPS_COUNT: <n> is a number");
        Some((Box::leak(name.to_owned().into_boxed_str()), n))
    })
}

/// The user every row answers: the mock provider's user, as `BearerUser` and the session
/// return it, held in memory for the limit row (set by the fixture).
static USER: OnceLock<Arc<UserInfo>> = OnceLock::new();

fn user() -> Arc<UserInfo> {
    USER.get().expect("the fixture sets the user").clone()
}

async fn limit() -> Json<Arc<UserInfo>> {
    Json(user())
}

async fn session_user(session: AuthSession) -> Response {
    Json(session.user_arc()).into_response()
}

async fn bearer(user: BearerUser) -> Json<Arc<UserInfo>> {
    Json(user.info_arc())
}

fn fixture() -> &'static Fixture {
    FIXTURE.get_or_init(|| {
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        let (app, opener, mock, cookies, token, dpop, dpop_token) = runtime.block_on(async {
            let mock = MockProvider::builder()
                .token_lifetime(std::time::Duration::from_secs(24 * 3600))
                .start()
                .await
                .unwrap();
            let key = CookieKey::generate();
            let oauth = stack(&mock, &key);
            let app = routes(&oauth);
            // The same app with its own (empty) verified-cookie cache: the cookies the
            // first one issued at login are new to it, so `session_open` opens them.
            let opener = routes(&stack(&mock, &key));
            let mut cookies = Vec::new();
            for _ in 0..=fresh_cookies() {
                cookies.push(login(&app, &mock).await);
            }
            let token = mock.issue_token();
            let info = serde_json::from_value(mock.user().info).unwrap();
            USER.set(Arc::new(info)).unwrap();
            let (dpop, dpop_token) = dpop_stack(&mock, &key).await;
            (app, opener, mock, cookies, token, dpop, dpop_token)
        });
        let proofs = match profile() {
            Some(("dpop_header", n)) => (0..=n).map(|_| fresh_proof(&dpop_token)).collect(),
            _ => Vec::new(),
        };
        let mut cookies = cookies.into_iter();
        let cookie = cookies.next().unwrap();
        Fixture {
            runtime,
            app,
            opener,
            cookie,
            fresh: cookies.collect(),
            token,
            dpop,
            dpop_token,
            proofs: std::sync::Mutex::new(proofs),
            _mock: mock,
        }
    })
}

/// One `OAuth` of the mock's client under `key`.
fn stack(mock: &MockProvider, key: &CookieKey) -> OAuth {
    OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri("http://127.0.0.1:9/auth/callback")
        .cookie_key(key.clone())
        .user_cache(std::time::Duration::from_secs(3600), 10_000)
        .build()
        .unwrap()
}

/// A stack that accepts DPoP (introspection answers `cnf.jkt`), and a token the mock
/// bound to [`DPOP_PEM`]'s key, its user already cached.
async fn dpop_stack(mock: &MockProvider, key: &CookieKey) -> (Router, String) {
    let introspecting = mock
        .provider()
        .to_builder()
        .user_resolver(UserResolver::Introspection);
    let oauth = OAuth::builder(
        introspecting.build().unwrap(),
        mock.client_id(),
        mock.client_secret(),
    )
    .redirect_uri("http://127.0.0.1:9/auth/callback")
    .cookie_key(key.clone())
    .user_cache(std::time::Duration::from_secs(3600), 10_000)
    .accept_dpop(true)
    .build()
    .unwrap();
    let app = routes(&oauth);
    let token = mock.issue_dpop_token(dpop_key().thumbprint());
    // The first request resolves the user (introspection); the steps measure hits.
    let req = Request::get("/api/me")
        .header("authorization", format!("DPoP {token}"))
        .header("dpop", fresh_proof(&token))
        .body(Body::empty())
        .unwrap();
    let res = app.clone().oneshot(req).await.unwrap();
    assert!(
        res.status().is_success(),
        "the DPoP stack answers: {}",
        res.status()
    );
    (app, token)
}

/// The bench's routes under `oauth`'s layer, and the limit without it.
fn routes(oauth: &OAuth) -> Router {
    Router::new()
        .route("/public", get(limit))
        .route(
            "/session",
            get(session_user).route_layer(oauth.require_login()),
        )
        .route("/me", get(bearer).route_layer(oauth.require_login()))
        .route("/api/me", get(bearer))
        .route(
            "/owner",
            get(bearer)
                .route_layer(oauth.require(|u: &UserInfo| u.role.as_deref() == Some("owner"))),
        )
        .merge(oauth.routes())
        .layer(oauth.layer())
        .route("/limit", get(limit))
}

/// A login through the router itself: `/auth/login`, the mock's authorize page, the
/// callback; the session cookie (`name=value`).
async fn login(app: &Router, mock: &MockProvider) -> String {
    let res = app
        .clone()
        .oneshot(Request::get("/auth/login").body(Body::empty()).unwrap())
        .await
        .unwrap();
    let flow = cookie_of(&res, "");
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let callback = mock.authorize(&authorize).await.unwrap();
    let path = format!("{}?{}", callback.path(), callback.query().unwrap_or(""));
    let res = app
        .clone()
        .oneshot(
            Request::get(path)
                .header("cookie", flow)
                .body(Body::empty())
                .unwrap(),
        )
        .await
        .unwrap();
    cookie_of(&res, "oauth_session=")
}

fn cookie_of(res: &Response, prefix: &str) -> String {
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with(prefix) && !c.contains("Max-Age=0"))
        .expect("a cookie")
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

fn run(path: &str, header: (&str, &str)) {
    run_on(&fixture().app, path, header);
}

fn run_on(app: &Router, path: &str, header: (&str, &str)) {
    let f = fixture();
    let req = Request::get(path)
        .header(header.0, header.1)
        .body(Body::empty())
        .unwrap();
    let res = f.runtime.block_on(app.clone().oneshot(req)).unwrap();
    assert!(res.status().is_success(), "{path}: {}", res.status());
    divan::black_box(res);
}

fn main() {
    fixture();
    match profile() {
        None => divan::main(),
        Some((name, n)) => {
            let step: fn() = match name {
                "limit" => limit_,
                "layer" => layer,
                "session_hit" => session_hit,
                "session_open" => open_next,
                "bearer_session" => bearer_session,
                "bearer_header" => bearer_header,
                "guard" => guard,
                "dpop_header" => dpop_next,
                "dpop_sign" => dpop_sign_one,
                #[cfg(feature = "redis")]
                "redis_hit" => redis_hit,
                #[cfg(feature = "redis")]
                "redis_get" => redis_get,
                other => panic!("STEPS_COUNT: no bench `{other}`"),
            };
            // One request first, outside the count: lazily built state (the router's
            // routes, caches' first entries) is not part of a request's cost.
            step();
            #[cfg(feature = "redis")]
            let before = redis_steps::stats();
            let cpu = thread_cpu_ns();
            measured(step, n);
            if let (Some(before), Some(after)) = (cpu, thread_cpu_ns()) {
                // On the CPU, not wall time: waiting for Redis (or for a busy CPU) is out.
                eprintln!(
                    "{name}: {:.2} µs of CPU per request (this thread, /proc schedstat)",
                    (after - before) as f64 / n as f64 / 1e3
                );
            }
            #[cfg(feature = "redis")]
            redis_steps::report(before, n);
        }
    }
    #[cfg(feature = "redis")]
    redis_steps::stop();
}

/// Nanoseconds this thread has run on a CPU (Linux: `/proc/thread-self/schedstat`).
fn thread_cpu_ns() -> Option<u64> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    text.split_whitespace().next()?.parse().ok()
}

/// The profiled loop: `bench/instructions.sh` counts only what runs inside this function
/// (callgrind's `--toggle-collect`).
#[inline(never)]
fn measured(step: fn(), n: usize) {
    for _ in 0..n {
        step();
    }
}

/// `session_open`'s request: the next cookie never opened before.
fn open_next() {
    static NEXT: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let f = fixture();
    let i = NEXT.fetch_add(1, std::sync::atomic::Ordering::Relaxed) % f.fresh.len();
    run_on(&f.opener, "/session", ("cookie", &f.fresh[i]));
}

#[divan::bench]
fn limit_() {
    run("/limit", ("cookie", &fixture().cookie));
}

#[divan::bench]
fn layer() {
    run("/public", ("cookie", &fixture().cookie));
}

#[divan::bench]
fn session_hit() {
    run("/session", ("cookie", &fixture().cookie));
}

#[divan::bench(sample_count = 400, sample_size = 1)]
fn session_open(bencher: divan::Bencher) {
    bencher.bench(open_next);
}

#[divan::bench]
fn bearer_session() {
    run("/me", ("cookie", &fixture().cookie));
}

#[divan::bench]
fn bearer_header() {
    let f = fixture();
    run("/api/me", ("authorization", &format!("Bearer {}", f.token)));
}

/// `dpop_header`'s request with the next proof of the pool (profiled loop).
fn dpop_next() {
    let f = fixture();
    let proof = f.proofs.lock().unwrap().pop().expect("a proof per request");
    dpop_request(&proof);
}

fn dpop_request(proof: &str) {
    let f = fixture();
    let req = Request::get(DPOP_URL)
        .header("authorization", format!("DPoP {}", f.dpop_token))
        .header("dpop", proof)
        .body(Body::empty())
        .unwrap();
    let res = f.runtime.block_on(f.dpop.clone().oneshot(req)).unwrap();
    assert!(res.status().is_success(), "dpop_header: {}", res.status());
    divan::black_box(res);
}

#[divan::bench]
fn dpop_header(bencher: divan::Bencher) {
    let f = fixture();
    // Each request a proof of its own (a replay is refused); signing it is not timed.
    bencher
        .with_inputs(|| fresh_proof(&f.dpop_token))
        .bench_values(|proof| dpop_request(&proof));
}

fn dpop_sign_one() {
    divan::black_box(fresh_proof(&fixture().dpop_token));
}

#[divan::bench]
fn dpop_sign() {
    dpop_sign_one();
}

#[divan::bench]
fn guard() {
    run("/owner", ("cookie", &fixture().cookie));
}

/// The Redis steps (feature `redis`): a second `OAuth` whose sessions live in a
/// throwaway `redis-server`.
#[cfg(feature = "redis")]
mod redis_steps {
    use std::process::{Child, Command, Stdio};
    use std::sync::{Mutex, OnceLock};

    use axum::Router;
    use axum::routing::get;
    use axum_oauth_login::store::RedisStore;
    use axum_oauth_login::{CookieKey, OAuth};
    use redis::aio::ConnectionManager;

    pub(super) struct Fixture {
        pub(super) app: Router,
        pub(super) cookie: String,
        pub(super) connection: ConnectionManager,
        /// The session's record key (`{prefix}session:{id}`).
        pub(super) key: String,
        port: u16,
    }

    static FIXTURE: OnceLock<Fixture> = OnceLock::new();
    static SERVER: Mutex<Option<Child>> = Mutex::new(None);

    fn free_port() -> u16 {
        std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .expect("bind a probe port")
            .port()
    }

    fn cli(port: u16, args: &[&str]) -> Option<String> {
        let out = Command::new("redis-cli")
            .args(["-p", &port.to_string()])
            .args(args)
            .stderr(Stdio::null())
            .output()
            .ok()?;
        out.status
            .success()
            .then(|| String::from_utf8_lossy(&out.stdout).into_owned())
    }

    /// Starts `redis-server` on a free port; its port once it answers `PING`.
    fn start_server() -> u16 {
        let port = free_port();
        let child = Command::new("redis-server")
            .args(["--port", &port.to_string(), "--bind", "127.0.0.1"])
            .args(["--save", "", "--appendonly", "no", "--logfile", ""])
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .expect("redis-server (apt-get install redis-server)");
        *SERVER.lock().unwrap() = Some(child);
        for _ in 0..100 {
            if cli(port, &["ping"]).is_some_and(|a| a.trim() == "PONG") {
                return port;
            }
            std::thread::sleep(std::time::Duration::from_millis(50));
        }
        stop();
        panic!("redis-server did not answer PING on port {port}");
    }

    /// Kills the server, if one was started.
    pub(super) fn stop() {
        if let Some(mut child) = SERVER.lock().unwrap().take() {
            let _ = child.kill();
            let _ = child.wait();
        }
    }

    pub(super) fn fixture() -> &'static Fixture {
        FIXTURE.get_or_init(|| {
            let outer = super::fixture();
            let port = start_server();
            let url = format!("redis://127.0.0.1:{port}/");
            let mock = &outer._mock;
            outer.runtime.block_on(async {
                let oauth = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
                    .redirect_uri("http://127.0.0.1:9/auth/callback")
                    .cookie_key(CookieKey::generate())
                    .user_cache(std::time::Duration::from_secs(3600), 10_000)
                    .session_store(RedisStore::open(&url).unwrap())
                    .build()
                    .unwrap();
                let app = Router::new()
                    .route("/me", get(super::bearer).route_layer(oauth.require_login()))
                    .merge(oauth.routes())
                    .layer(oauth.layer());
                let cookie = super::login(&app, mock).await;
                let client = ::redis::Client::open(url.as_str()).unwrap();
                let mut connection = ConnectionManager::new(client).await.unwrap();
                let keys: Vec<String> = ::redis::cmd("KEYS")
                    .arg("*session:*")
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                assert_eq!(keys.len(), 1, "one session record: {keys:?}");
                let key = keys.into_iter().next().unwrap();
                let record: String = ::redis::cmd("GET")
                    .arg(&key)
                    .query_async(&mut connection)
                    .await
                    .unwrap();
                eprintln!(
                    "redis steps: redis-server on 127.0.0.1:{port}; session cookie {} bytes, \
                     record {} bytes",
                    cookie.len(),
                    record.len()
                );
                Fixture {
                    app,
                    cookie,
                    connection,
                    key,
                    port,
                }
            })
        })
    }

    /// The server's command counts (`INFO commandstats`: `cmd=calls` pairs),
    /// `total_reads_processed` and its CPU seconds (user + sys), when a Redis step has run.
    /// What [`stats`] reads: commands and their calls, reads, CPU seconds.
    pub(super) type Stats = (Vec<(String, u64)>, u64, f64);

    pub(super) fn stats() -> Option<Stats> {
        let f = FIXTURE.get()?;
        let text = cli(f.port, &["info", "all"])?;
        let mut calls = Vec::new();
        let mut reads = 0;
        let mut cpu = 0.0;
        for line in text.lines() {
            if let Some(rest) = line.strip_prefix("cmdstat_") {
                let (cmd, fields) = rest.split_once(':')?;
                let n = fields
                    .split(',')
                    .find_map(|f| f.strip_prefix("calls="))?
                    .trim()
                    .parse()
                    .ok()?;
                calls.push((cmd.to_owned(), n));
            } else if let Some(n) = line.strip_prefix("total_reads_processed:") {
                reads = n.trim().parse().ok()?;
            } else if let Some(s) = line
                .strip_prefix("used_cpu_user:")
                .or_else(|| line.strip_prefix("used_cpu_sys:"))
            {
                cpu += s.trim().parse::<f64>().ok()?;
            }
        }
        Some((calls, reads, cpu))
    }

    /// Prints the commands the server ran per request of the loop (`redis-cli info` itself
    /// is one `INFO` and is left out), and the reads it made per request.
    pub(super) fn report(before: Option<Stats>, n: usize) {
        let (Some((before, reads_before, cpu_before)), Some((after, reads_after, cpu_after))) =
            (before, stats())
        else {
            return;
        };
        let mut line = String::new();
        for (cmd, calls) in &after {
            let was = before.iter().find(|(c, _)| c == cmd).map_or(0, |(_, n)| *n);
            let delta = calls - was - u64::from(cmd == "info");
            if delta > 0 {
                line.push_str(&format!(" {cmd}={:.3}", delta as f64 / n as f64));
            }
        }
        // The reads include the one or two of redis-cli's own connection for `INFO`.
        eprintln!(
            "redis steps: commands per request:{line}; server reads per request: {:.3}; \
             redis-server CPU per request: {:.2} µs (INFO cpu, with the two INFOs)",
            (reads_after - reads_before) as f64 / n as f64,
            (cpu_after - cpu_before) * 1e6 / n as f64
        );
    }
}

#[cfg(feature = "redis")]
#[divan::bench]
fn redis_hit() {
    let r = redis_steps::fixture();
    let f = fixture();
    let req = Request::get("/me")
        .header("cookie", &r.cookie)
        .body(Body::empty())
        .unwrap();
    let res = f.runtime.block_on(r.app.clone().oneshot(req)).unwrap();
    assert!(res.status().is_success(), "/me (Redis): {}", res.status());
    divan::black_box(res);
}

#[cfg(feature = "redis")]
#[divan::bench]
fn redis_get() {
    use ::redis::AsyncCommands as _;
    let r = redis_steps::fixture();
    let f = fixture();
    let mut c = r.connection.clone();
    let record: Option<String> = f.runtime.block_on(c.get(&r.key)).unwrap();
    assert!(record.is_some());
    divan::black_box(record);
}
