//! What each step of the request path costs, in process (divan; one request per
//! iteration through `tower::ServiceExt::oneshot`, no network):
//!
//! | bench | the request |
//! |---|---|
//! | `limit` | the handler alone: a user held in memory → JSON (no layer) |
//! | `layer` | + `OAuthLayer` on a public route (the cookie is sliced, not opened) |
//! | `session_hit` | + `RequireLogin` + `AuthSession` (verified-cookie cache hit) |
//! | `session_open` | the same with a cookie never seen before (AES-GCM + inflate + JSON) |
//! | `bearer_session` | + `RequireLogin` + `BearerUser` from the session (kept user) |
//! | `bearer_header` | `BearerUser` from `Authorization: Bearer` (user-cache hit) |
//! | `guard` | `oauth.require(predicate)` + `BearerUser` from the session |
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
use axum_oauth_login::{AuthSession, BearerUser, CookieKey, OAuth, UserInfo};
use axum_oauth_login_mock::MockProvider;
use http::Request;
use tower::ServiceExt as _;

struct Fixture {
    runtime: tokio::runtime::Runtime,
    app: Router,
    cookie: String,
    /// Distinct session cookies, each opened once by `session_open`.
    fresh: Vec<String>,
    token: String,
    _mock: MockProvider,
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
        let (app, mock, cookies, token) = runtime.block_on(async {
            let mock = MockProvider::builder()
                .token_lifetime(std::time::Duration::from_secs(24 * 3600))
                .start()
                .await
                .unwrap();
            let oauth = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
                .redirect_uri("http://127.0.0.1:9/auth/callback")
                .cookie_key(CookieKey::generate())
                .user_cache(std::time::Duration::from_secs(3600), 10_000)
                .build()
                .unwrap();
            let app = Router::new()
                .route("/public", get(limit))
                .route(
                    "/session",
                    get(session_user).route_layer(oauth.require_login()),
                )
                .route("/me", get(bearer).route_layer(oauth.require_login()))
                .route("/api/me", get(bearer))
                .route(
                    "/owner",
                    get(bearer).route_layer(
                        oauth.require(|u: &UserInfo| u.role.as_deref() == Some("owner")),
                    ),
                )
                .merge(oauth.routes())
                .layer(oauth.layer())
                .route("/limit", get(limit));
            let mut cookies = Vec::new();
            for _ in 0..=fresh_cookies() {
                cookies.push(login(&app, &mock).await);
            }
            let token = mock.issue_token();
            let info = serde_json::from_value(mock.user().info).unwrap();
            USER.set(Arc::new(info)).unwrap();
            (app, mock, cookies, token)
        });
        let mut cookies = cookies.into_iter();
        let cookie = cookies.next().unwrap();
        Fixture {
            runtime,
            app,
            cookie,
            fresh: cookies.collect(),
            token,
            _mock: mock,
        }
    })
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
    let f = fixture();
    let req = Request::get(path)
        .header(header.0, header.1)
        .body(Body::empty())
        .unwrap();
    let res = f.runtime.block_on(f.app.clone().oneshot(req)).unwrap();
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
                other => panic!("STEPS_COUNT: no bench `{other}`"),
            };
            // One request first, outside the count: lazily built state (the router's
            // routes, caches' first entries) is not part of a request's cost.
            step();
            measured(step, n);
        }
    }
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
    run("/session", ("cookie", &f.fresh[i]));
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

#[divan::bench]
fn guard() {
    run("/owner", ("cookie", &fixture().cookie));
}
