//! `bench-app economy-*`: the servers of the upstream-economy benchmark
//! (`bench/economy.sh`, issue 15 item 4). The load comes from `wrk`, outside; these
//! processes only serve and count.
//!
//! | subcommand | what it serves |
//! |---|---|
//! | `economy-flights [--instances N] [--store URL] [--shared URL] [--users URL]` | the crate's `MockProvider` and N independent instances of an app (each its own `OAuth`: its own user cache and refresh table; one cookie key; with `--store`, one Redis), each on its own port, plus a control port |
//! | `economy-stub` | a userinfo endpoint that accepts any Bearer token (the user's `sub` is the token), counting calls: the upstream of `economy-cache`, in its own process so it is not in the measured RSS |
//! | `economy-cache --upstream URL [--capacity N]` | one app whose `/api/me` resolves any token through `URL/userinfo`, user cache of N (default: the crate's default bound); `GET /ctl/stats` → cached users |
//!
//! `economy-flights`' control port:
//!
//! | request | does |
//! |---|---|
//! | `POST /ctl/token` | issues a new access token at the mock (never seen by any instance); the mock answers its first userinfo call 300 ms late, so the burst's requests all arrive while that call is in flight |
//! | `POST /ctl/login` | logs in through instance 0; answers the session's `Cookie` header |
//! | `POST /ctl/expire` | moves the instances' clock and the mock's past the tokens' lifetime (`?window`: into the refresh window, the token still valid): every session's token is now due for refresh; the mock answers the next refresh 300 ms late |
//! | `GET /ctl/stats` | `{"userinfo": n, "refresh": n}`: calls the mock received |

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use axum::extract::State;
use axum::http::header::AUTHORIZATION;
use axum::http::{HeaderMap, StatusCode};
use axum::routing::{get, post};
use axum::{Json, Router};
use axum_oauth_login::store::RedisStore;
use axum_oauth_login::{BearerUser, Clock, CookieKey, OAuth, Provider, UserInfo};
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use serde_json::{Value, json};

use crate::{BoxError, login};

/// The tokens' lifetime at the mock (`/ctl/expire` moves the clocks past it).
const TOKEN_LIFETIME: Duration = Duration::from_secs(3600);
/// How late the mock answers the first userinfo call of a new token, and the refresh
/// after `/ctl/expire`: the window in which the burst's requests pile up.
const UPSTREAM_DELAY: Duration = Duration::from_millis(300);

async fn me(user: BearerUser) -> Json<Arc<UserInfo>> {
    Json(user.info_arc())
}

async fn listener(port: u16) -> Result<(tokio::net::TcpListener, String), BoxError> {
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", port)).await?;
    let base = format!("http://{}", listener.local_addr()?);
    Ok((listener, base))
}

fn serve(listener: tokio::net::TcpListener, app: Router) {
    tokio::spawn(async move { axum::serve(listener, app).await });
}

/// Value of `--name` in `args`, if given.
fn opt(args: &[String], name: &str) -> Result<Option<String>, BoxError> {
    match args.iter().position(|a| a == name) {
        None => Ok(None),
        Some(i) => Ok(Some(
            args.get(i + 1)
                .ok_or_else(|| format!("{name} needs a value"))?
                .clone(),
        )),
    }
}

struct Flights {
    mock: MockProvider,
    clock: Clock,
    /// Instance 0's base URL (logins go through it).
    first: String,
}

/// `economy-flights`: the mock, N instances, the control port. Prints
/// `INSTANCE <url>` per instance, then `READY <control url>`.
pub async fn flights(args: &[String]) -> Result<(), BoxError> {
    let instances: usize = opt(args, "--instances")?.map_or(Ok(1), |n| n.parse())?;
    let store = opt(args, "--store")?;
    // Cookie sessions: a shared store (Redis) to coordinate their refreshes through.
    let shared = opt(args, "--shared")?;
    // Bearer users: a shared user cache (Redis) across the instances.
    let users = opt(args, "--users")?;
    let mock = MockProvider::builder()
        .token_lifetime(TOKEN_LIFETIME)
        // Rotating refresh tokens (the mock's default; Apicbase, Doorkeeper): a spent
        // one is refused.
        .refresh_tokens(true)
        .start()
        .await?;
    let clock = Clock::manual_from_now();
    let key = CookieKey::generate();
    let mut first = None;
    for i in 0..instances {
        let (listener, base) = listener(0).await?;
        // Every instance redirects back to the first: logins go through it.
        let callback = format!("{}/auth/callback", first.as_ref().unwrap_or(&base));
        let mut builder = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .redirect_uri(callback)
            .cookie_key(key.clone())
            .clock(clock.clone())
            .user_cache(Duration::from_secs(24 * 3600), 10_000);
        if let Some(url) = &store {
            builder = builder.session_store(RedisStore::open(url)?);
        }
        if let Some(url) = &shared {
            builder = builder.logout_denylist(RedisStore::open(url)?, Duration::from_secs(2));
        }
        if let Some(url) = &users {
            builder = builder.shared_user_cache(RedisStore::open(url)?);
        }
        let oauth = builder.build()?;
        let app = Router::new()
            .route("/me", get(me).route_layer(oauth.require_login()))
            .route("/api/me", get(me))
            .merge(oauth.routes())
            .layer(oauth.layer());
        serve(listener, app);
        println!("INSTANCE {i} {base}");
        first.get_or_insert(base);
    }
    let flights = Arc::new(Flights {
        mock,
        clock,
        first: first.ok_or("--instances must be at least 1")?,
    });
    let control = Router::new()
        .route("/ctl/token", post(token))
        .route("/ctl/login", post(login_once))
        .route("/ctl/expire", post(expire))
        .route("/ctl/stats", get(flight_stats))
        .with_state(flights);
    let (listener, base) = listener(0).await?;
    println!("READY {base}");
    axum::serve(listener, control).await?;
    Ok(())
}

async fn token(State(f): State<Arc<Flights>>) -> String {
    f.mock.delay_next(MockEndpoint::Userinfo, 1, UPSTREAM_DELAY);
    f.mock.issue_token()
}

async fn login_once(State(f): State<Arc<Flights>>) -> Result<String, (StatusCode, String)> {
    login(&f.first, &f.mock)
        .await
        .map_err(|e| (StatusCode::BAD_GATEWAY, e.to_string()))
}

/// `?window`: into the refresh window only (the access token is still valid), as when
/// requests with the pre-refresh cookie reach an instance that did not refresh.
async fn expire(
    State(f): State<Arc<Flights>>,
    axum::extract::RawQuery(query): axum::extract::RawQuery,
) -> &'static str {
    let by = if query.as_deref() == Some("window") {
        TOKEN_LIFETIME - Duration::from_secs(30)
    } else {
        TOKEN_LIFETIME + Duration::from_secs(1)
    };
    f.clock.advance(by);
    f.mock.advance_clock(by);
    f.mock.delay_next(MockEndpoint::Token, 1, UPSTREAM_DELAY);
    "expired\n"
}

async fn flight_stats(State(f): State<Arc<Flights>>) -> Json<Value> {
    Json(json!({
        "userinfo": f.mock.hits(MockEndpoint::Userinfo),
        "refresh": f.mock.refresh_hits(),
    }))
}

/// `economy-stub`: userinfo for any Bearer token. Prints `READY <url>`.
pub async fn stub(args: &[String]) -> Result<(), BoxError> {
    let port = opt(args, "--port")?.map_or(Ok(0), |p| p.parse())?;
    let calls = Arc::new(AtomicU64::new(0));
    let app = Router::new()
        .route("/userinfo", get(userinfo))
        .route(
            "/stats",
            get(|State(calls): State<Arc<AtomicU64>>| async move {
                Json(json!({"userinfo": calls.load(Ordering::Relaxed)}))
            }),
        )
        .with_state(calls);
    let (listener, base) = listener(port).await?;
    println!("READY {base}");
    axum::serve(listener, app).await?;
    Ok(())
}

/// The same 243-byte shape as the mock's user, with the token as `sub`.
async fn userinfo(
    State(calls): State<Arc<AtomicU64>>,
    headers: HeaderMap,
) -> Result<Json<Value>, StatusCode> {
    let token = headers
        .get(AUTHORIZATION)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.strip_prefix("Bearer "))
        .ok_or(StatusCode::UNAUTHORIZED)?;
    calls.fetch_add(1, Ordering::Relaxed);
    Ok(Json(json!({
        "sub": token, "email": "owner@example.com", "name": "Olivia Owner",
        "role": "owner", "business_id": "biz-1", "business_name": "Demo Salon",
        "staff_id": "staff-1", "locale": "en"
    })))
}

/// `economy-cache`: one app resolving any token through `--upstream`'s userinfo.
/// Prints `READY <url>`; `GET /ctl/stats` → `{"cached_users": n}`.
pub async fn cache(args: &[String]) -> Result<(), BoxError> {
    let upstream = opt(args, "--upstream")?.ok_or("--upstream URL is required")?;
    let port = opt(args, "--port")?.map_or(Ok(0), |p| p.parse())?;
    let provider = Provider::custom("economy")
        .authorize_url(format!("{upstream}/authorize"))
        .token_url(format!("{upstream}/token"))
        .userinfo_url(format!("{upstream}/userinfo"))
        .build()?;
    let (listener, base) = listener(port).await?;
    let mut builder = OAuth::builder(provider, "economy", "economy-secret")
        .redirect_uri(format!("{base}/auth/callback"))
        .cookie_key(CookieKey::generate())
        // Room for every lookup of the run at once: the cap on concurrent upstream
        // calls is not what this measures.
        .max_concurrent_lookups(1024);
    if let Some(capacity) = opt(args, "--capacity")? {
        builder = builder.user_cache(Duration::from_secs(24 * 3600), capacity.parse()?);
    }
    let oauth = builder.build()?;
    let stats = {
        let oauth = oauth.clone();
        move || {
            let oauth = oauth.clone();
            async move { Json(json!({"cached_users": oauth.cached_users().await})) }
        }
    };
    let app = Router::new()
        .route("/api/me", get(me))
        .layer(oauth.layer())
        .route("/ctl/stats", get(stats));
    println!("READY {base}");
    axum::serve(listener, app).await?;
    Ok(())
}
