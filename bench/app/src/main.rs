//! `bench-app`: the server of the load benchmark (`bench/load.sh`, issue 15).
//!
//! One axum server on `127.0.0.1:PORT` serves every row, each on its own route, all with
//! the same handler shape (the same user serialised as JSON):
//!
//! | route | what runs before the handler |
//! |---|---|
//! | `/health` | nothing: the user's JSON pre-serialised (static bytes), no layer |
//! | `/limit/me` | nothing: the user held in memory (`Arc<UserInfo>`) serialised, no layer — **the limit** |
//! | `/public` | the OAuth layer, nothing else; same handler as `/limit/me` |
//! | `/session/me` | layer + `RequireLogin` + `AuthSession`: the session's snapshot of the user |
//! | `/me` | layer + `RequireLogin` + `BearerUser` from the session (the example's `/me`) |
//! | `/api/me` | layer + `BearerUser` from `Authorization: Bearer` (opaque token, user cache hit) |
//! | `/jwt/me` | a second `OAuth`'s layer + `BearerUser` from a JWT access token checked locally (RFC 9068) |
//! | `/dpop/me` | the JWT `OAuth`'s layer (`accept_dpop`) + `BearerUser` from `Authorization: DPoP` with a fresh proof per request; the JWT is bound to the key (`cnf.jkt`) |
//! | `/limit/jwt` | nothing: the JWT's user (its claims, as `/jwt/me` answers them) serialised, no layer — the limit of `/jwt/me`, whose body is 170 B larger |
//!
//! At startup it starts the crate's `MockProvider` (tokens live 20 years by default, no
//! refresh), logs in through it like a browser would (`/auth/login` → the mock's Allow →
//! `/auth/callback`) and prints, on stdout, one line per credential and then `READY`:
//!
//! ```text
//! COOKIE_BYTES 713
//! COOKIE oauth_session=...
//! BEARER mock-at-...
//! JWT eyJ...
//! USER_BYTES 243
//! READY http://127.0.0.1:PORT
//! ```
//!
//! Options: `--port N` (or `BENCH_PORT`; default 0: any free port), `--store URL`
//! (or `BENCH_STORE`): sessions in Redis (`redis://...`) instead of the cookie.
//!
//! The user cache lives 24 h, so `/me` and `/api/me` stay cache hits for a whole run.
//!
//! `bench-app economy-flights | economy-stub | economy-cache ...` are the servers of the
//! upstream-economy benchmark instead (`bench/economy.sh`; see `economy.rs`).

mod dpop;
mod economy;

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::extract::State;
use axum::http::header::{CONTENT_TYPE, COOKIE, LOCATION, SET_COOKIE};
use axum::response::IntoResponse;
use axum::routing::get;
use axum::{Json, Router};
use axum_oauth_login::store::RedisStore;
use axum_oauth_login::{AuthSession, BearerUser, CookieKey, OAuth, Provider, UserInfo};
use axum_oauth_login_mock::MockProvider;
use bytes::Bytes;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Value, json};

type BoxError = Box<dyn std::error::Error + Send + Sync>;

/// A throwaway P-256 key (the one the crate's own unit tests sign with; public, never a
/// secret): the bench app is both the JWT access tokens' issuer and their resource.
const JWT_PEM: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg66GTRYnGPq47fi2J
z9yR+F5MkXTMs6lnI94HODQIC1GhRANCAAREC8bQuhCvhSau+qdzjjOo6yS2HeeX
yo70cHSfkWWNYYU1jROnaBDzJC+xo6SjYCVG24YIs5HaZB+cna6U1DeN
-----END PRIVATE KEY-----";
const JWT_X: &str = "RAvG0LoQr4Umrvqnc44zqOskth3nl8qO9HB0n5FljWE";
const JWT_Y: &str = "hTWNE6doEPMkL7GjpKNgJUbbhgizkdpkH5ydrpTUN40";
const JWT_KID: &str = "bench-1";
/// The resource identifier the `/jwt/me` layer accepts in `aud`.
const JWT_AUDIENCE: &str = "urn:bench-api";

/// How long everything lives: resolved users in the cache, the JWT, the session.
const LONG: Duration = Duration::from_secs(24 * 3600);

#[derive(Clone)]
struct AppState {
    /// The user the limit row (and `/public`) serialises: the same one the provider
    /// returns for the session's and the bearer token's user.
    user: Arc<UserInfo>,
    /// The user `/jwt/me` answers (the JWT's claims: the user's fields and the registered
    /// ones), for `/limit/jwt`: the same handler and body as `/jwt/me`, without auth.
    jwt_user: Arc<UserInfo>,
}

/// The limit row's handler (and `/public`'s): the user held in memory, as JSON.
async fn user_json(State(state): State<AppState>) -> Json<Arc<UserInfo>> {
    Json(state.user)
}

/// `/limit/jwt`: the JWT's user held in memory, as JSON (`/jwt/me`'s body, no layer).
async fn jwt_user_json(State(state): State<AppState>) -> Json<Arc<UserInfo>> {
    Json(state.jwt_user)
}

/// `/session/me`: the session's snapshot of the user (taken at login), as JSON.
async fn session_me(session: AuthSession) -> impl IntoResponse {
    // Always present: the app fetches the user at login (the default).
    Json(session.user_arc())
}

/// `/me`, `/api/me`, `/jwt/me`: the caller as the provider (or the JWT) describes them,
/// as JSON — the example's `api_me`, serialising the cached user without copying it
/// (`info_arc`), like the limit row serialises its `Arc<UserInfo>`.
async fn bearer_me(user: BearerUser) -> Json<Arc<UserInfo>> {
    Json(user.info_arc())
}

struct Args {
    port: u16,
    store: Option<String>,
}

fn args() -> Result<Args, BoxError> {
    let mut port: u16 = std::env::var("BENCH_PORT")
        .ok()
        .map(|p| p.parse())
        .transpose()?
        .unwrap_or(0);
    let mut store = std::env::var("BENCH_STORE").ok().filter(|s| !s.is_empty());
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--port" => port = it.next().ok_or("--port needs a value")?.parse()?,
            "--store" => store = Some(it.next().ok_or("--store needs a URL")?),
            "-h" | "--help" => {
                eprintln!("usage: bench-app [--port N] [--store redis://HOST:PORT/]");
                std::process::exit(0);
            }
            other => return Err(format!("unknown argument `{other}`").into()),
        }
    }
    Ok(Args { port, store })
}

#[tokio::main]
async fn main() -> Result<(), BoxError> {
    // This app signs JWTs with jsonwebtoken itself (RustCrypto); the crate's default
    // features enable jsonwebtoken's aws-lc-rs backend too, so jsonwebtoken can no longer
    // infer a process-wide provider: an app that calls jsonwebtoken directly picks one
    // (README, "TLS and the HTTP client"). The crate's own checks never use it.
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    let all: Vec<String> = std::env::args().skip(1).collect();
    match all.first().map(String::as_str) {
        Some("economy-flights") => return economy::flights(&all[1..]).await,
        Some("economy-stub") => return economy::stub(&all[1..]).await,
        Some("economy-cache") => return economy::cache(&all[1..]).await,
        Some("dpop-proofs") => return dpop::proofs(&all[1..]),
        _ => {}
    }
    let args = args()?;
    let mock = MockProvider::start().await?;
    let listener = tokio::net::TcpListener::bind(("127.0.0.1", args.port)).await?;
    let base = format!("http://{}", listener.local_addr()?);

    // The main OAuth: the mock (vcita-shaped: userinfo), cookie or Redis sessions.
    let mut builder = OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
        .redirect_uri(format!("{base}/auth/callback"))
        .cookie_key(CookieKey::generate())
        .user_cache(LONG, 10_000)
        .session_lifetime(LONG * 7);
    if let Some(url) = &args.store {
        builder = builder.session_store(RedisStore::open(url)?);
    }
    let oauth = builder.build()?;

    // The JWT OAuth: a custom provider whose issuer and JWKS are this very server.
    let issuer = format!("{base}/jwt-idp");
    let jwt_provider = Provider::custom("bench-jwt")
        .authorize_url(format!("{issuer}/authorize"))
        .token_url(format!("{issuer}/token"))
        .issuer(issuer.clone())
        .jwks_url(format!("{issuer}/jwks"))
        .jwt_access_tokens(JWT_AUDIENCE)
        .build()?;
    let jwt_oauth = OAuth::builder(jwt_provider, "bench-client", "bench-secret")
        .redirect_uri(format!("{base}/auth/jwt/callback"))
        .cookie_key(CookieKey::generate())
        .route_prefix("/auth/jwt")
        // The dpop row: `Authorization: DPoP` with a proof, the binding in the JWT.
        .accept_dpop(true)
        .cookie_name("jwt_session")
        .user_cache(LONG, 10_000)
        .build()?;

    // The user, as the provider describes them (what `BearerUser` will return).
    let user_value = mock.user().info;
    let user: UserInfo = serde_json::from_value(user_value.clone())?;
    let (jwt, jwt_claims) = mint_jwt(&issuer, &user_value, None)?;
    // The DPoP row's token: the same claims, bound (`cnf.jkt`) to the DPoP key.
    let dpop_key = dpop::key();
    let (dpop_jwt, _) = mint_jwt(&issuer, &user_value, Some(dpop_key.thumbprint()))?;
    let state = AppState {
        user: Arc::new(user.clone()),
        jwt_user: Arc::new(serde_json::from_value(jwt_claims)?),
    };
    let user_bytes = Bytes::from(serde_json::to_vec(&user)?);

    // Through the main layer.
    let with_layer = Router::new()
        .route("/public", get(user_json))
        .route(
            "/session/me",
            get(session_me).route_layer(oauth.require_login()),
        )
        .route("/me", get(bearer_me).route_layer(oauth.require_login()))
        .route("/api/me", get(bearer_me))
        .with_state(state.clone())
        .merge(oauth.routes())
        .layer(oauth.layer());
    // Through the JWT OAuth's layer only.
    let with_jwt_layer = Router::new()
        .route("/jwt/me", get(bearer_me))
        .route("/dpop/me", get(bearer_me))
        .layer(jwt_oauth.layer());
    // No layer at all.
    let jwks = json!({"keys": [{"kty": "EC", "crv": "P-256", "x": JWT_X, "y": JWT_Y,
                                "kid": JWT_KID, "use": "sig", "alg": "ES256"}]});
    let health_body = user_bytes.clone();
    let bare = Router::new()
        .route(
            "/health",
            get(move || {
                let body = health_body.clone();
                async move { ([(CONTENT_TYPE, "application/json")], body) }
            }),
        )
        .route("/limit/me", get(user_json))
        .route("/limit/jwt", get(jwt_user_json))
        .route(
            "/jwt-idp/jwks",
            get(move || {
                let jwks = jwks.clone();
                async move { Json(jwks) }
            }),
        )
        .with_state(state);
    let app = with_layer.merge(with_jwt_layer).merge(bare);
    let server = tokio::spawn(async move { axum::serve(listener, app).await });

    // Credentials.
    let cookie = login(&base, &mock).await?;
    let bearer = mock.issue_token();

    // Check every route once (this also fills the user cache for the bearer token and
    // fetches the JWKS), so the first measured request is no cold start.
    let http = reqwest::Client::new();
    let checks: [(&str, &str, String); 8] = [
        ("/health", "cookie", cookie.clone()),
        ("/limit/me", "cookie", cookie.clone()),
        ("/public", "cookie", cookie.clone()),
        ("/session/me", "cookie", cookie.clone()),
        ("/me", "cookie", cookie.clone()),
        ("/api/me", "authorization", format!("Bearer {bearer}")),
        ("/jwt/me", "authorization", format!("Bearer {jwt}")),
        ("/limit/jwt", "authorization", format!("Bearer {jwt}")),
    ];
    let dpop_url = format!("{base}/dpop/me");
    let res = http
        .get(&dpop_url)
        .header("authorization", format!("DPoP {dpop_jwt}"))
        .header(
            "dpop",
            dpop::proof(&dpop_key, &url::Url::parse(&dpop_url)?, &dpop_jwt),
        )
        .send()
        .await?;
    if !res.status().is_success() {
        return Err(format!("/dpop/me answered {}", res.status()).into());
    }
    for (path, header, value) in checks {
        let res = http
            .get(format!("{base}{path}"))
            .header(header, value)
            .send()
            .await?;
        let status = res.status();
        let body = res.bytes().await?;
        if !status.is_success() {
            return Err(format!(
                "{path} answered {status}: {}",
                String::from_utf8_lossy(&body)
            )
            .into());
        }
        eprintln!("bench-app: {path} -> {status}, {} bytes", body.len());
    }

    println!("COOKIE_BYTES {}", cookie.len());
    println!("COOKIE {cookie}");
    println!("BEARER {bearer}");
    println!("JWT {jwt}");
    println!("DPOP_JWT {dpop_jwt}");
    println!("USER_BYTES {}", user_bytes.len());
    println!("READY {base}");
    server.await??;
    Ok(())
}

/// Logs in like a browser, without one: `/auth/login` (flow cookie + redirect to the
/// mock), the mock's login + Allow, then `/auth/callback` with the flow cookie. Returns
/// the `Cookie` header value that carries the session (one or more chunks).
async fn login(base: &str, mock: &MockProvider) -> Result<String, BoxError> {
    let http = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .build()?;
    let res = http.get(format!("{base}/auth/login")).send().await?;
    if res.status() != 303 {
        return Err(format!("/auth/login answered {}", res.status()).into());
    }
    let flow = cookie_pairs(res.headers(), |_| true).join("; ");
    let authorize = res
        .headers()
        .get(LOCATION)
        .ok_or("no Location from /auth/login")?
        .to_str()?
        .to_owned();
    let callback = mock.authorize(&authorize).await?;
    let res = http
        .get(callback.as_str())
        .header(COOKIE, flow)
        .send()
        .await?;
    if res.status() != 303 {
        let status = res.status();
        let body = res.text().await.unwrap_or_default();
        return Err(format!("/auth/callback answered {status}: {body}").into());
    }
    let session = cookie_pairs(res.headers(), |name| {
        name == "oauth_session" || name.starts_with("oauth_session.")
    });
    if session.is_empty() {
        return Err("the callback set no session cookie".into());
    }
    Ok(session.join("; "))
}

/// `name=value` of every `Set-Cookie` whose name passes `keep` and which is not a removal.
fn cookie_pairs(headers: &axum::http::HeaderMap, keep: impl Fn(&str) -> bool) -> Vec<String> {
    headers
        .get_all(SET_COOKIE)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .filter(|v| !v.to_ascii_lowercase().contains("max-age=0"))
        .filter_map(|v| v.split(';').next())
        .filter(|pair| {
            pair.split_once('=')
                .is_some_and(|(name, value)| keep(name.trim()) && !value.is_empty())
        })
        .map(|pair| pair.trim().to_owned())
        .collect()
}

/// An RFC 9068 access token for the mock's user: `typ: at+jwt`, ES256, this server as
/// issuer, [`JWT_AUDIENCE`] as audience, valid for a day. The claims carry the user's
/// fields (besides the registered ones), so `/jwt/me` answers the same user. Returns the
/// token and its claims.
fn mint_jwt(issuer: &str, user: &Value, cnf: Option<&str>) -> Result<(String, Value), BoxError> {
    let now = SystemTime::now().duration_since(UNIX_EPOCH)?.as_secs();
    let mut claims = user.clone();
    let object = claims
        .as_object_mut()
        .ok_or("the user is not a JSON object")?;
    for (name, value) in [
        ("iss", json!(issuer)),
        ("aud", json!(JWT_AUDIENCE)),
        ("client_id", json!("bench-client")),
        ("iat", json!(now)),
        ("exp", json!(now + LONG.as_secs())),
        ("scope", json!("openid bench:read")),
        ("jti", json!("bench-jwt-1")),
    ] {
        object.insert(name.to_owned(), value);
    }
    if let Some(jkt) = cnf {
        object.insert("cnf".to_owned(), json!({ "jkt": jkt }));
    }
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(JWT_KID.to_owned());
    header.typ = Some("at+jwt".to_owned());
    let token = jsonwebtoken::encode(
        &header,
        &claims,
        &EncodingKey::from_ec_pem(JWT_PEM.as_bytes())?,
    )?;
    Ok((token, claims))
}
