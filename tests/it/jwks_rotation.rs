//! Key rotation at an OpenID Connect provider whose JWT access tokens (RFC 9068) and
//! back-channel logout tokens the app checks against its JWKS: a forged `kid` that spent
//! the re-fetch, or a JWKS outage, is "try again" (503 + `Retry-After`) — never a logout,
//! never a cached refusal, never a lost back-channel logout.

use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use axum_oauth_login::{Clock, CookieKey, OAuth};
use axum_oauth_login_mock::MockEndpoint;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use reqwest::StatusCode;
use reqwest::header::RETRY_AFTER;
use serde_json::{Value, json};

use crate::harness::*;
use crate::support::*;

// Throwaway P-256 keys (the unit tests' own).
pub(crate) const PEM_A: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg66GTRYnGPq47fi2J
z9yR+F5MkXTMs6lnI94HODQIC1GhRANCAAREC8bQuhCvhSau+qdzjjOo6yS2HeeX
yo70cHSfkWWNYYU1jROnaBDzJC+xo6SjYCVG24YIs5HaZB+cna6U1DeN
-----END PRIVATE KEY-----";
const PEM_B: &str = "-----BEGIN PRIVATE KEY-----
MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQg0prAhDIVwPMsC1dj
agABEdDsyngagwh2YA35nJpYQQOhRANCAATxTZvhrSeOnQiufTptUkDAXX+fCQ+i
3E+14ej7W1hEwbjTqzLhiFuBOtBhM/xcTkscN0HDARG6f9fFN5fJQy1G
-----END PRIVATE KEY-----";

const AUDIENCE: &str = "urn:api";
const SUB: &str = "user-1";
/// The access tokens' lifetime (seconds).
const LIFETIME: u64 = 600;
pub(crate) const BACKCHANNEL_EVENT: &str = "http://schemas.openid.net/event/backchannel-logout";

pub(crate) fn key_a() -> Value {
    json!({"kty": "EC", "crv": "P-256", "kid": "a", "use": "sig", "alg": "ES256",
           "x": "RAvG0LoQr4Umrvqnc44zqOskth3nl8qO9HB0n5FljWE",
           "y": "hTWNE6doEPMkL7GjpKNgJUbbhgizkdpkH5ydrpTUN40"})
}

fn key_b() -> Value {
    json!({"kty": "EC", "crv": "P-256", "kid": "b", "use": "sig", "alg": "ES256",
           "x": "8U2b4a0njp0Irn06bVJAwF1_nwkPotxPteHo-1tYRME",
           "y": "uNOrMuGIW4E60GEz_FxOSxw3QcMBEbp_18U3l8lDLUY"})
}

/// The provider's JWKS endpoint on loopback: the keys it serves, whether it is down
/// (503), and how often it was fetched.
pub(crate) struct Jwks {
    pub(crate) url: String,
    keys: Arc<Mutex<Vec<Value>>>,
    down: Arc<AtomicBool>,
    hits: Arc<AtomicUsize>,
    _server: Server,
}

impl Jwks {
    pub(crate) async fn start(keys: Vec<Value>) -> Jwks {
        let (keys, down, hits) = (
            Arc::new(Mutex::new(keys)),
            Arc::new(AtomicBool::new(false)),
            Arc::new(AtomicUsize::new(0)),
        );
        let (k, d, h) = (keys.clone(), down.clone(), hits.clone());
        let router = axum::Router::new().route(
            "/jwks",
            axum::routing::get(move || {
                let (k, d, h) = (k.clone(), d.clone(), h.clone());
                async move {
                    h.fetch_add(1, Ordering::SeqCst);
                    if d.load(Ordering::SeqCst) {
                        return Err(axum::http::StatusCode::SERVICE_UNAVAILABLE);
                    }
                    Ok(axum::Json(json!({"keys": *k.lock().unwrap()})))
                }
            }),
        );
        let (listener, port) = bind().await;
        Jwks {
            url: format!("http://127.0.0.1:{port}/jwks"),
            keys,
            down,
            hits,
            _server: Server::start(listener, router),
        }
    }

    fn rotate_to_b(&self) {
        *self.keys.lock().unwrap() = vec![key_b(), key_a()];
    }

    fn set_down(&self, down: bool) {
        self.down.store(down, Ordering::SeqCst);
    }

    fn hits(&self) -> usize {
        self.hits.load(Ordering::SeqCst)
    }
}

/// The example's app for the mock provider as an OpenID Connect one: `jwks` signs its
/// tokens, and JWT access tokens for [`AUDIENCE`] are checked locally.
async fn app(jwks: &Jwks) -> TestApp {
    let mock = start_mock().await;
    let provider = mock
        .provider()
        .to_builder()
        .jwks_url(&jwks.url)
        .jwt_access_tokens(AUDIENCE)
        .build()
        .expect("provider builds");
    let (listener, port) = bind().await;
    let clock = Clock::manual_from_now();
    let builder = OAuth::builder(provider, mock.client_id(), mock.client_secret())
        .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
        .clock(clock.clone())
        .cookie_key(CookieKey::generate());
    let oauth = example::configure(builder).build().expect("OAuth builds");
    TestApp::serve(mock, listener, oauth, clock)
}

pub(crate) fn issuer(app: &TestApp) -> String {
    app.mock
        .provider()
        .issuer()
        .expect("the mock names an issuer")
        .to_owned()
}

pub(crate) fn sign(pem: &str, kid: &str, typ: &str, claims: &Value) -> String {
    let mut header = Header::new(Algorithm::ES256);
    header.kid = Some(kid.to_owned());
    header.typ = Some(typ.to_owned());
    let key = EncodingKey::from_ec_pem(pem.as_bytes()).expect("a P-256 key");
    // Signing goes through jsonwebtoken's process-wide provider; with `--all-features`
    // both of its backends are on and it cannot infer one. The test process picks
    // RustCrypto (the crate itself installs nothing and verifies with its own choice).
    let _ = jsonwebtoken::crypto::rust_crypto::DEFAULT_PROVIDER.install_default();
    jsonwebtoken::encode(&header, claims, &key).expect("signs")
}

/// A JWT access token for [`SUB`] under `kid`, valid for [`LIFETIME`] from the app's now.
fn access_token(app: &TestApp, pem: &str, kid: &str) -> String {
    let now = app.clock.now();
    let claims = json!({"iss": issuer(app), "aud": AUDIENCE, "sub": SUB,
                        "client_id": app.mock.client_id(), "exp": now + LIFETIME, "iat": now,
                        "email": "user-1@example.test", "scope": "openid"});
    sign(pem, kid, "at+jwt", &claims)
}

/// A back-channel logout token for [`SUB`] under `kid`, issued at the app's now.
fn logout_token(app: &TestApp, pem: &str, kid: &str) -> String {
    let claims = json!({"iss": issuer(app), "aud": app.mock.client_id(), "sub": SUB,
                        "iat": app.clock.now(), "jti": "logout-1",
                        "events": {BACKCHANNEL_EVENT: {}}});
    sign(pem, kid, "logout+jwt", &claims)
}

/// The mock's next token answer: `access_token` (and `refresh_token`, when given).
fn answer_next_token(app: &TestApp, access_token: &str, refresh_token: Option<&str>) {
    let mut body = json!({"access_token": access_token, "token_type": "Bearer",
                          "expires_in": LIFETIME});
    if let Some(refresh) = refresh_token {
        body["refresh_token"] = json!(refresh);
    }
    app.mock.respond_next(
        MockEndpoint::Token,
        1,
        200,
        "application/json",
        body.to_string(),
    );
}

/// 503 + `Retry-After`: the seconds it asks for.
fn retry_after(res: &reqwest::Response) -> u64 {
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    res.headers()
        .get(RETRY_AFTER)
        .expect("a Retry-After header")
        .to_str()
        .unwrap()
        .parse()
        .expect("Retry-After in seconds")
}

/// `GET /api/me` (`BearerUser`) with `token` in the header, no cookie.
async fn me_with(app: &TestApp, token: &str) -> reqwest::Response {
    app.new_browser()
        .get_with("/api/me", &[("authorization", &bearer(token))])
        .await
}

/// What a client that honours `Retry-After` gets: retried (the app's clock moved by
/// the hint) at most four times while the answer is 503.
async fn honouring_retry_after(
    app: &TestApp,
    mut request: impl AsyncFnMut() -> reqwest::Response,
) -> reqwest::Response {
    for _ in 0..4 {
        let res = request().await;
        if res.status() != StatusCode::SERVICE_UNAVAILABLE {
            return res;
        }
        app.clock
            .advance(Duration::from_secs(retry_after(&res).max(1)));
    }
    request().await
}

#[tokio::test]
async fn a_forged_kid_that_spent_the_refetch_does_not_refuse_the_rotated_key() {
    let jwks = Jwks::start(vec![key_a()]).await;
    let app = app(&jwks).await;
    let old = access_token(&app, PEM_A, "a");
    assert_eq!(me_with(&app, &old).await.status(), StatusCode::OK);
    assert_eq!(jwks.hits(), 1);

    // A minute on, someone posts a token with a made-up kid: the app fetches the keys
    // (that fresh set lacks the kid: refused) and the re-fetch is spent.
    app.clock.advance(Duration::from_secs(60));
    let forged = access_token(&app, PEM_B, "made-up");
    assert_eq!(
        me_with(&app, &forged).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(jwks.hits(), 2);

    // The provider rotates and signs with b at once: a real token under b is not known
    // yet — "try again shortly", not "invalid token".
    jwks.rotate_to_b();
    app.clock.advance(Duration::from_secs(1));
    let real = access_token(&app, PEM_B, "b");
    let res = me_with(&app, &real).await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a real token under a rotated key is not refused while the re-fetch is spent"
    );
    assert!(retry_after(&res) > 0);
    // The forged kid, posted again and again, fetches nothing more.
    for _ in 0..5 {
        assert_ne!(me_with(&app, &forged).await.status(), StatusCode::OK);
    }
    assert_eq!(jwks.hits(), 2);
    // Not cached as a refusal: a client honouring Retry-After gets in.
    let res = honouring_retry_after(&app, async || me_with(&app, &real).await).await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["sub"], SUB);
    assert_eq!(jwks.hits(), 3);
}

#[tokio::test]
async fn a_jwks_outage_during_rotation_keeps_the_session() {
    let jwks = Jwks::start(vec![key_a()]).await;
    let app = app(&jwks).await;
    answer_next_token(&app, &access_token(&app, PEM_A, "a"), Some("refresh-1"));
    app.login().await;
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(jwks.hits(), 1);

    // The provider rotates to b, its JWKS goes down, and the session's token is
    // refreshed once it expired: the new access token is under b.
    jwks.rotate_to_b();
    jwks.set_down(true);
    advance(&app, LIFETIME + 1);
    let rotated = access_token(&app, PEM_B, "b");
    answer_next_token(&app, &rotated, Some("refresh-2"));
    let res = app.get("/api/me").await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "a JWKS outage is no logout"
    );
    let wait = retry_after(&res);
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none_or(|c| !has_attr(&c, "Max-Age=0")),
        "the session cookie is kept"
    );
    let (status, held) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK, "the session lives on");
    assert_eq!(held["access_token"], rotated.as_str());

    // JWKS back: after the hinted wait the same session (and token) works — nothing
    // was cached as a refusal.
    jwks.set_down(false);
    app.clock.advance(Duration::from_secs(wait));
    let res = app.get("/api/me").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(json(res).await["sub"], SUB);
    let (_, held) = tokens(&app).await;
    assert_eq!(held["access_token"], rotated.as_str());
}

#[tokio::test]
async fn a_backchannel_logout_under_a_new_key_is_retryable_then_ends_the_session() {
    let jwks = Jwks::start(vec![key_a()]).await;
    let app = app(&jwks).await;
    answer_next_token(&app, &access_token(&app, PEM_A, "a"), None);
    app.login().await;
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(jwks.hits(), 1);

    // The provider rotates and at once sends a logout token under b: the keys were
    // fetched a moment ago (re-fetch rate-limited).
    jwks.rotate_to_b();
    app.clock.advance(Duration::from_secs(1));
    let token = logout_token(&app, PEM_B, "b");
    let provider = crate::support::client_builder().build().expect("client");
    let post = async || {
        let req = provider
            .post(app.url("/auth/backchannel-logout"))
            .form(&[("logout_token", token.as_str())]);
        bounded("back-channel logout", req.send()).await.unwrap()
    };
    let res = post().await;
    assert!(
        res.status().is_server_error(),
        "rate-limited: a retryable answer, not {}",
        res.status()
    );
    retry_after(&res);
    // Then the JWKS is down when the provider retries.
    jwks.set_down(true);
    app.clock.advance(Duration::from_secs(60));
    let res = post().await;
    assert!(
        res.status().is_server_error(),
        "JWKS down: a retryable answer, not {}",
        res.status()
    );
    let wait = retry_after(&res);
    assert_eq!(tokens(&app).await.0, StatusCode::OK, "not ended yet");

    // Recovered: the provider's retry ends the session.
    jwks.set_down(false);
    app.clock.advance(Duration::from_secs(wait));
    let res = post().await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_ne!(tokens(&app).await.0, StatusCode::OK, "the session ended");
    assert_eq!(app.get("/me").await.status(), StatusCode::SEE_OTHER);
}
