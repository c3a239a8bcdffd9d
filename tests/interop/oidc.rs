//! OpenID Connect against oidc-provider: id_tokens validated at the callback (and each
//! kind of bad one refused), key rotation at the provider, RP-initiated logout,
//! back-channel logout sent by the provider, and JWT access tokens checked locally.

use std::time::Duration;

use axum_oauth_login::{Clock, OAuth};
use base64::Engine as _;
use reqwest::StatusCode;
use serde_json::{Value, json};
use url::Url;

use crate::harness::{
    InteropApp, JWT_CLIENT, LOGIN, POST_CLIENT, RESOURCE, logout_at_provider, walk_rp_logout,
};
use crate::support::{Server, bind, body, bounded, json, location, query_param, test_app};

/// The decoded header and payload of a compact JWT (test inspection only).
fn jwt_parts(token: &str) -> (Value, Value) {
    let decode = |part: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let mut parts = token.split('.');
    (decode(parts.next().unwrap()), decode(parts.next().unwrap()))
}

async fn count(app: &InteropApp, event: &str) -> usize {
    app.provider
        .events()
        .await
        .iter()
        .filter(|e| e.starts_with(event))
        .count()
}

/// Waits (bounded) until the provider reports `event`.
async fn event_seen(app: &InteropApp, event: &str) {
    bounded(event, async {
        while count(app, event).await == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}

pub async fn the_id_token_is_validated_with_the_logins_nonce_and_its_claims_reach_the_app() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    assert!(app.oauth.client().provider().is_openid());
    let authorize = app.start_login().await;
    let nonce = query_param(&authorize, "nonce").expect("a nonce is sent with the login");
    assert_eq!(nonce.len(), 43, "256 random bits");
    let callback = crate::harness::walk_provider(&app.http, &authorize, &app.redirect_uri).await;
    let res = app.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "{}", body(res).await);

    let tokens = app.session_tokens().await;
    let claims = &tokens["id_claims"];
    assert_eq!(claims["sub"], LOGIN);
    assert_eq!(claims["iss"], app.provider.issuer);
    assert_eq!(claims["aud"], json!([POST_CLIENT.0]));
    assert_eq!(
        claims["nonce"], nonce,
        "the id_token carried this login's nonce"
    );
    assert!(claims["sid"].is_string(), "{claims}");
    let (header, _) = jwt_parts(tokens["id_token"].as_str().unwrap());
    assert_eq!(header["alg"], "RS256");
}

/// Each kind of bad id_token: a clear page naming the failed check, no session, and the
/// tokens of the exchange revoked at the provider.
pub async fn tampered_wrong_audience_expired_and_replayed_id_tokens_are_refused() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;

    // A first, good login: its nonce is the one replayed below.
    app.login().await;
    let first = app.session_tokens().await;
    let old_nonce = first["id_claims"]["nonce"].as_str().unwrap().to_owned();
    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);

    let now = app.clock.now();
    let cases: Vec<(&str, Option<Value>, StatusCode, &str)> = vec![
        (
            "tampered",
            None,
            StatusCode::BAD_GATEWAY,
            "signature does not verify",
        ),
        (
            "wrong audience",
            Some(json!({"aud": "someone-else"})),
            StatusCode::BAD_GATEWAY,
            "`aud` does not name this client",
        ),
        (
            "expired",
            Some(json!({"exp": now - 3600, "iat": now - 7200})),
            StatusCode::BAD_GATEWAY,
            "`exp` has passed",
        ),
        (
            "replayed nonce",
            Some(json!({"nonce": old_nonce})),
            StatusCode::BAD_REQUEST,
            "`nonce` does not match this login",
        ),
    ];
    for (case, mutation, status, says) in cases {
        let revocations = count(&app, "auth /token/revocation").await;
        match mutation {
            None => app.provider.tamper_next_id_token().await,
            Some(claims) => app.provider.mutate_next_id_token(claims).await,
        }
        let callback = app.provider_callback().await;
        let res = app.callback(&callback).await;
        assert_eq!(res.status(), status, "{case}");
        let text = body(res).await;
        assert!(text.contains("invalid_id_token"), "{case}: {text}");
        assert!(text.contains(says), "{case}: {text}");
        assert_eq!(
            app.get("/tokens").await.status(),
            StatusCode::UNAUTHORIZED,
            "{case}: no session"
        );
        assert!(
            count(&app, "auth /token/revocation").await > revocations,
            "{case}: the exchanged tokens were revoked"
        );
    }
    // And the next honest login works.
    app.login().await;
    assert_eq!(app.get("/tokens").await.status(), StatusCode::OK);
}

/// The provider rotates its signing key: the next login's id_token names a key the app
/// has not cached; it fetches the key set again (once) and accepts it — no restart.
pub async fn a_key_rotation_at_the_provider_is_picked_up_without_a_restart() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    app.login().await;
    assert_eq!(count(&app, "http GET /jwks").await, 1);
    let old_kid =
        jwt_parts(app.session_tokens().await["id_token"].as_str().unwrap()).0["kid"].clone();

    let new_kid = app.provider.rotate_keys().await;
    assert_ne!(json!(new_kid), old_kid);
    app.post("/auth/logout").await;
    // Unknown kids re-fetch at most once a minute (forged tokens cannot storm).
    app.clock.advance(Duration::from_secs(61));
    app.login().await;
    let tokens = app.session_tokens().await;
    assert_eq!(
        jwt_parts(tokens["id_token"].as_str().unwrap()).0["kid"],
        json!(new_kid)
    );
    assert_eq!(tokens["id_claims"]["sub"], LOGIN);
    assert_eq!(count(&app, "http GET /jwks").await, 2, "one re-fetch");
}

/// RP-Initiated Logout: logout goes on to the provider's end-session endpoint with
/// id_token_hint, client_id, post_logout_redirect_uri and state, and comes back.
pub async fn logout_continues_at_the_providers_end_session_endpoint_and_comes_back() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    app.login().await;
    let id_token = app.session_tokens().await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();

    let res = app.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    let to = Url::parse(&location(&res)).expect("an absolute end-session URL");
    let end_session = app.provider.discovery.end_session_endpoint.clone();
    assert!(to.as_str().starts_with(&end_session), "{to}");
    assert_eq!(
        query_param(&to, "id_token_hint").as_deref(),
        Some(id_token.as_str())
    );
    assert_eq!(
        query_param(&to, "client_id").as_deref(),
        Some(POST_CLIENT.0)
    );
    let back = app.url("/");
    assert_eq!(
        query_param(&to, "post_logout_redirect_uri").as_deref(),
        Some(back.as_str())
    );
    let state = query_param(&to, "state").expect("a state");
    // The local session ended already.
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);

    let landed = walk_rp_logout(&app.http, &to, &back).await;
    assert_eq!(query_param(&landed, "state"), Some(state));
    event_seen(&app, "end_session.success interop-post").await;
}

/// Back-Channel Logout: the user logs out at the provider (another tab, another app);
/// the provider posts a logout token and the app's session ends on its next request.
async fn backchannel_logout_ends_the_session(app: InteropApp) {
    app.login().await;
    assert_eq!(app.get("/tokens").await.status(), StatusCode::OK);
    let end_session = app.provider.discovery.end_session_endpoint.clone();
    logout_at_provider(&app.http, &end_session).await;
    event_seen(&app, "backchannel.success interop-post").await;
    let res = app.get("/tokens").await;
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "{}",
        body(res).await
    );
}

pub async fn a_backchannel_logout_ends_a_cookie_session() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    backchannel_logout_ends_the_session(app).await;
}

#[cfg(feature = "redis")]
pub async fn a_backchannel_logout_ends_a_session_kept_in_redis() {
    require_node!();
    let Some(redis) = crate::support::redis::RedisServer::start().await else {
        return;
    };
    let url = redis.url();
    let app = InteropApp::start_oidc(
        POST_CLIENT,
        |p| p,
        |b| {
            b.session_store(
                axum_oauth_login::store::RedisStore::open(&url).expect("RedisStore opens"),
            )
        },
    )
    .await;
    backchannel_logout_ends_the_session(app).await;
    drop(redis);
}

/// A replayed or forged logout token is refused with a JSON 400, never cached.
pub async fn the_backchannel_route_refuses_bad_logout_tokens() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    let client = crate::support::client_builder().build().expect("client");
    let post = |form: Vec<(&'static str, String)>| {
        client
            .post(app.url("/auth/backchannel-logout"))
            .form(&form)
            .send()
    };
    // An id_token is not a logout token.
    app.login().await;
    let id_token = app.session_tokens().await["id_token"]
        .as_str()
        .unwrap()
        .to_owned();
    for form in [
        vec![("logout_token", id_token.clone())],
        vec![("logout_token", "not.a.jwt".to_owned())],
        vec![],
    ] {
        let res = bounded("backchannel", post(form)).await.unwrap();
        assert_eq!(res.status(), StatusCode::BAD_REQUEST);
        assert_eq!(res.headers()["cache-control"], "no-store");
        let answer: Value = res.json().await.unwrap();
        assert_eq!(answer["error"], "invalid_request", "{answer}");
    }
    // The session was not touched.
    assert_eq!(app.get("/tokens").await.status(), StatusCode::OK);
}

/// RFC 9068: with `jwt_access_tokens(resource)`, oidc-provider's JWT access tokens are
/// checked locally — `/api/me` answers with zero calls to the provider — and an expired
/// one, or one for another resource, is `401 invalid_token`.
pub async fn jwt_access_tokens_are_checked_locally_without_calling_the_provider() {
    require_node!();
    let app = InteropApp::start_oidc(JWT_CLIENT, |p| p.jwt_access_tokens(RESOURCE), |b| b).await;
    app.login().await;
    let tokens = app.session_tokens().await;
    let access = tokens["access_token"].as_str().unwrap().to_owned();
    let (header, claims) = jwt_parts(&access);
    assert_eq!(header["typ"], "at+jwt");
    assert_eq!(claims["aud"], RESOURCE);

    // The login hook saw the person (the id_token's email) beside the token's claims.
    let user = json(app.get("/app-user").await).await;
    assert_eq!(user["email"], crate::harness::EMAIL, "{user}");

    let userinfo_calls = count(&app, "http GET /me").await;
    let bearer = crate::support::client_builder().build().expect("client");
    let me = |token: String| {
        bearer
            .get(app.url("/api/me"))
            .bearer_auth(token)
            .header("accept", "application/json")
            .send()
    };
    for _ in 0..3 {
        let res = bounded("/api/me", me(access.clone())).await.unwrap();
        assert_eq!(res.status(), StatusCode::OK);
        let user = json(res).await;
        assert_eq!(user["sub"], LOGIN, "{user}");
    }
    // The session's own requests too.
    assert_eq!(app.get("/api/me").await.status(), StatusCode::OK);
    assert_eq!(
        count(&app, "http GET /me").await,
        userinfo_calls,
        "no userinfo call"
    );
    assert_eq!(
        count(&app, "auth /token/introspection").await,
        0,
        "no introspection"
    );

    // The same token at an app that expects another resource: 401 invalid_token.
    let other = OAuth::builder(
        app.provider
            .discovered_provider(Some(JWT_CLIENT.2))
            .await
            .to_builder()
            .jwt_access_tokens("urn:another:api")
            .build()
            .unwrap(),
        JWT_CLIENT.0,
        JWT_CLIENT.1,
    )
    .redirect_uri(app.redirect_uri.as_str())
    .clock(Clock::manual(app.clock.now()))
    .build()
    .unwrap();
    let (listener, port) = bind().await;
    let _other = Server::start(listener, test_app(&other));
    let res = bounded(
        "/api/me elsewhere",
        bearer
            .get(format!("http://127.0.0.1:{port}/api/me"))
            .bearer_auth(&access)
            .send(),
    )
    .await
    .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );

    // Past its exp (600 s) and the leeway: 401 invalid_token, still no provider call.
    app.clock.advance(Duration::from_secs(600 + 61));
    let res = bounded("/api/me expired", me(access.clone()))
        .await
        .unwrap();
    assert_eq!(res.status(), StatusCode::UNAUTHORIZED);
    assert!(
        res.headers()["www-authenticate"]
            .to_str()
            .unwrap()
            .contains("invalid_token")
    );
    assert_eq!(count(&app, "http GET /me").await, userinfo_calls);
}

/// OpenID Connect Core §12.2: a refresh that brings a new id_token is checked like the
/// login's (but the nonce) and must name the same user; the session's claims follow it.
/// One naming another `sub` ends the session.
pub async fn a_refreshed_id_token_is_validated_and_must_keep_the_user() {
    require_node!();
    let app = InteropApp::start_oidc(POST_CLIENT, |p| p, |b| b).await;
    app.login().await;
    let before = app.session_tokens().await;
    assert!(
        before["refresh_token"].is_string(),
        "offline_access granted"
    );

    // Past the access token's 600 s: the next request refreshes, and the provider sends
    // an id_token with it (identical to the first when issued in the same second: RS256
    // signatures are deterministic).
    let id_tokens = count(&app, "id_token ").await;
    app.clock.advance(Duration::from_secs(601));
    let after = app.session_tokens().await;
    assert_ne!(after["access_token"], before["access_token"], "refreshed");
    assert_eq!(
        count(&app, "id_token ").await,
        id_tokens + 1,
        "the refresh brought one"
    );
    assert_eq!(after["id_claims"]["sub"], LOGIN);

    app.provider
        .mutate_next_refreshed_id_token(json!({"sub": "someone-else"}))
        .await;
    app.clock.advance(Duration::from_secs(601));
    assert_eq!(
        app.get("/tokens").await.status(),
        StatusCode::UNAUTHORIZED,
        "an id_token about another user ends the session"
    );
    assert_eq!(count(&app, "mutated id_token").await, 1);
}

/// A second instance of `app` (same provider, client, clock and cookie `key`, plus what
/// `configure` adds) on its own port; its server, and the URL of its `/tokens`.
#[cfg(feature = "redis")]
async fn second_instance(
    app: &InteropApp,
    key: axum_oauth_login::CookieKey,
    configure: impl FnOnce(axum_oauth_login::OAuthBuilder) -> axum_oauth_login::OAuthBuilder,
) -> (Server, String) {
    let provider = app.oauth.client().provider().clone();
    let other = crate::support::example::configure(configure(
        OAuth::builder(provider, POST_CLIENT.0, POST_CLIENT.1)
            .redirect_uri(app.redirect_uri.as_str())
            .clock(app.clock.clone())
            .cookie_key(key),
    ))
    .build()
    .unwrap();
    let (listener, port) = bind().await;
    let server = Server::start(listener, test_app(&other));
    (server, format!("http://127.0.0.1:{port}/tokens"))
}

/// Two instances sharing cookies (one key) and a Redis denylist: the provider posts the
/// back-channel logout to one of them; the other ends the session too, within its sync
/// interval (100 ms here).
#[cfg(feature = "redis")]
pub async fn a_backchannel_logout_reaches_every_instance_through_a_shared_denylist() {
    use axum_oauth_login::CookieKey;
    use axum_oauth_login::store::RedisStore;

    require_node!();
    let Some(redis) = crate::support::redis::RedisServer::start().await else {
        return;
    };
    let url = redis.url();
    let key = CookieKey::generate();
    let sync = Duration::from_millis(100);
    let (k, u) = (key.clone(), url.clone());
    let app = InteropApp::start_oidc(
        POST_CLIENT,
        |p| p,
        move |b| {
            b.cookie_key(k)
                .logout_denylist(RedisStore::open(&u).expect("RedisStore opens"), sync)
        },
    )
    .await;
    // The second instance: same provider, client, key and denylist store.
    let (_other, other_tokens) = second_instance(&app, key, |b| {
        b.logout_denylist(RedisStore::open(&url).expect("RedisStore opens"), sync)
    })
    .await;

    app.login().await;
    // Cookies ignore ports: the browser's session works at both instances.
    assert_eq!(
        app.http.get_url(&other_tokens).await.status(),
        StatusCode::OK
    );

    let end_session = app.provider.discovery.end_session_endpoint.clone();
    logout_at_provider(&app.http, &end_session).await;
    event_seen(&app, "backchannel.success interop-post").await;
    assert_eq!(
        app.get("/tokens").await.status(),
        StatusCode::UNAUTHORIZED,
        "the receiving instance"
    );
    bounded("the other instance ends the session", async {
        while app.http.get_url(&other_tokens).await.status() != StatusCode::UNAUTHORIZED {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
    drop(redis);
}

/// Back-channel logout with sessions in Redis and no shared denylist: the record itself
/// is deleted, so a second instance reading the same store ends the session too.
#[cfg(feature = "redis")]
pub async fn a_backchannel_logout_deletes_the_redis_record_for_every_instance() {
    use axum_oauth_login::CookieKey;
    use axum_oauth_login::store::RedisStore;

    require_node!();
    let Some(redis) = crate::support::redis::RedisServer::start().await else {
        return;
    };
    let url = redis.url();
    let key = CookieKey::generate();
    let (k, u) = (key.clone(), url.clone());
    let app = InteropApp::start_oidc(
        POST_CLIENT,
        |p| p,
        move |b| {
            b.cookie_key(k)
                .session_store(RedisStore::open(&u).expect("RedisStore opens"))
        },
    )
    .await;
    let (_other, other_tokens) = second_instance(&app, key, |b| {
        b.session_store(RedisStore::open(&url).expect("RedisStore opens"))
    })
    .await;

    app.login().await;
    assert_eq!(
        app.http.get_url(&other_tokens).await.status(),
        StatusCode::OK
    );
    let revocations = count(&app, "auth /token/revocation").await;
    let end_session = app.provider.discovery.end_session_endpoint.clone();
    logout_at_provider(&app.http, &end_session).await;
    event_seen(&app, "backchannel.success interop-post").await;
    // No shared denylist: only the deleted record can end it at the other instance.
    assert_eq!(
        app.http.get_url(&other_tokens).await.status(),
        StatusCode::UNAUTHORIZED
    );
    assert_eq!(app.get("/tokens").await.status(), StatusCode::UNAUTHORIZED);
    assert!(
        count(&app, "auth /token/revocation").await > revocations,
        "the ended session's tokens were revoked"
    );
    drop(redis);
}
