//! Hot-path cost of the session layer: requests/s of a protected route (layer +
//! RequireLogin + AuthSession, with a real session cookie) against a bare route on the
//! same server, measured in the same run. Also the in-process cost per request without
//! the network.
//!
//! ```text
//! cargo bench --bench layer
//! ```
//!
//! Figures are ratios against the baseline of this run, never absolute claims.

use std::time::{Duration, Instant};

use axum::Router;
use axum::body::Body;
use axum::routing::get;
use axum_oauth_login::testing::MockProvider;
use axum_oauth_login::{AuthSession, CookieKey, OAuth};
use http::Request;
use tower::ServiceExt as _;

const CONCURRENCY: usize = 16;
const ROUND: Duration = Duration::from_millis(1500);
const ROUNDS: usize = 7;

async fn protected(session: AuthSession) -> String {
    session.tokens().scope().unwrap_or("ok").to_owned()
}

/// The key material both the crate and the naive baseline use.
const KEY: [u8; 64] = [7; 64];

/// The associated data the crate seals session cookies under (see `session/cookie.rs`).
static AAD_NAME: std::sync::OnceLock<String> = std::sync::OnceLock::new();

/// The design this crate avoids, as a baseline: decrypt and parse the session on every
/// request, then serialise, encrypt and write it back.
async fn naive(headers: http::HeaderMap) -> impl axum::response::IntoResponse {
    let key = cookie::Key::from(&KEY);
    let value = headers
        .get("cookie")
        .and_then(|v| v.to_str().ok())
        .and_then(|v| {
            v.split(';')
                .find_map(|p| p.trim().strip_prefix("oauth_session="))
        })
        .expect("session cookie")
        .to_owned();
    // The crate seals under the cookie name plus its client and provider.
    let aad = AAD_NAME.get().expect("set in main").as_str();
    let mut jar = cookie::CookieJar::new();
    let plain = jar
        .private(&key)
        .decrypt(cookie::Cookie::new(aad, value))
        .expect("decrypts");
    let session: serde_json::Value = serde_json::from_str(plain.value()).expect("parses");
    jar.private_mut(&key).add(cookie::Cookie::new(
        aad,
        serde_json::to_string(&session).expect("serialises"),
    ));
    let sealed = jar.get(aad).expect("sealed").value().to_owned();
    let set = format!("oauth_session={sealed}; HttpOnly; SameSite=Lax; Path=/");
    ([("set-cookie", set)], "ok")
}

fn app(oauth: &OAuth) -> Router {
    Router::new()
        .route(
            "/protected",
            get(protected).route_layer(oauth.require_login()),
        )
        .route("/public", get(|| async { "ok" }))
        .merge(oauth.routes())
        .layer(oauth.layer())
        .route("/bare", get(|| async { "ok" }))
        .route("/naive", get(naive))
}

/// Logs in through the mock and returns the session cookie ("name=value").
async fn login(base: &str, mock: &MockProvider) -> String {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .unwrap();
    let res = http.get(format!("{base}/auth/login")).send().await.unwrap();
    let flow = res.headers()["set-cookie"]
        .to_str()
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned();
    let authorize = res.headers()["location"].to_str().unwrap().to_owned();
    let callback = mock.authorize(&authorize).await.unwrap();
    let res = http
        .get(callback.as_str())
        .header("cookie", flow)
        .send()
        .await
        .unwrap();
    res.headers()
        .get_all("set-cookie")
        .iter()
        .map(|v| v.to_str().unwrap())
        .find(|c| c.starts_with("oauth_session="))
        .unwrap()
        .split(';')
        .next()
        .unwrap()
        .to_owned()
}

async fn rps(url: &str, cookie: &str) -> f64 {
    let http = reqwest::Client::builder()
        .pool_max_idle_per_host(CONCURRENCY)
        .build()
        .unwrap();
    let deadline = Instant::now() + ROUND;
    let mut tasks = Vec::new();
    for _ in 0..CONCURRENCY {
        let (http, url, cookie) = (http.clone(), url.to_owned(), cookie.to_owned());
        tasks.push(tokio::spawn(async move {
            let mut n = 0u64;
            while Instant::now() < deadline {
                let res = http
                    .get(&url)
                    .header("cookie", &cookie)
                    .send()
                    .await
                    .unwrap();
                assert!(res.status().is_success(), "{url}: {}", res.status());
                res.bytes().await.unwrap();
                n += 1;
            }
            n
        }));
    }
    let mut total = 0;
    for t in tasks {
        total += t.await.unwrap();
    }
    total as f64 / ROUND.as_secs_f64()
}

fn median(mut v: Vec<f64>) -> f64 {
    v.sort_by(f64::total_cmp);
    v[v.len() / 2]
}

async fn in_process_ns(app: &Router, path: &str, cookie: &str, n: u32) -> f64 {
    let start = Instant::now();
    for _ in 0..n {
        let req = Request::get(path)
            .header("cookie", cookie)
            .body(Body::empty())
            .unwrap();
        let res = app.clone().oneshot(req).await.unwrap();
        assert!(res.status().is_success());
    }
    start.elapsed().as_nanos() as f64 / f64::from(n)
}

#[tokio::main]
async fn main() {
    let mock = MockProvider::start().await.unwrap();
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let base = format!("http://{}", listener.local_addr().unwrap());
    let oauth = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri(format!("{base}/auth/callback"))
        .cookie_key(CookieKey::from_bytes(&KEY).unwrap())
        .build()
        .unwrap();
    AAD_NAME
        .set(format!(
            "oauth_session\u{0}{}|{}",
            mock.client_id(),
            mock.provider().token_url()
        ))
        .expect("once");
    let app = app(&oauth);
    tokio::spawn(axum::serve(listener, app.clone()).into_future());
    let cookie = login(&base, &mock).await;

    // Warm up, then alternate so drift hits both variants alike.
    rps(&format!("{base}/bare"), &cookie).await;
    // Each round measures the three routes back to back; the ratio is taken within the
    // round (so machine-wide drift cancels out), then the median over rounds is reported.
    let (mut bare, mut public, mut prot) = (Vec::new(), Vec::new(), Vec::new());
    let (mut public_ratio, mut prot_ratio) = (Vec::new(), Vec::new());
    let (mut naive, mut naive_ratio) = (Vec::new(), Vec::new());
    for _ in 0..ROUNDS {
        let b = rps(&format!("{base}/bare"), &cookie).await;
        let p = rps(&format!("{base}/public"), &cookie).await;
        let q = rps(&format!("{base}/protected"), &cookie).await;
        let n = rps(&format!("{base}/naive"), &cookie).await;
        bare.push(b);
        public.push(p);
        prot.push(q);
        naive.push(n);
        public_ratio.push(p / b);
        prot_ratio.push(q / b);
        naive_ratio.push(n / b);
    }
    println!(
        "HTTP over loopback, {CONCURRENCY} connections, {ROUNDS} rounds of {ROUND:?} \
         (medians; ratios taken within each round):"
    );
    println!("| route | requests/s | ratio to bare |");
    println!("|---|---|---|");
    println!("| /bare (outside the layer) | {:.0} | 1.00 |", median(bare));
    println!(
        "| /public (layer, session untouched) | {:.0} | {:.2} |",
        median(public),
        median(public_ratio)
    );
    println!(
        "| /protected (layer + RequireLogin + AuthSession) | {:.0} | {:.2} |",
        median(prot),
        median(prot_ratio)
    );
    println!(
        "| /naive (baseline: decrypt + parse + serialise + encrypt per request) | {:.0} | {:.2} |",
        median(naive),
        median(naive_ratio)
    );

    let n = 20_000;
    let bare_ns = in_process_ns(&app, "/bare", &cookie, n).await;
    let public_ns = in_process_ns(&app, "/public", &cookie, n).await;
    let prot_ns = in_process_ns(&app, "/protected", &cookie, n).await;
    let naive_ns = in_process_ns(&app, "/naive", &cookie, n).await;
    println!("\nIn process (Router::oneshot, no network), {n} requests each:");
    println!("| route | ns/request | overhead vs bare |");
    println!("|---|---|---|");
    println!("| /bare | {bare_ns:.0} | — |");
    println!(
        "| /public | {public_ns:.0} | +{:.0} ns |",
        public_ns - bare_ns
    );
    println!(
        "| /protected | {prot_ns:.0} | +{:.0} ns |",
        prot_ns - bare_ns
    );
    println!("| /naive | {naive_ns:.0} | +{:.0} ns |", naive_ns - bare_ns);
}
