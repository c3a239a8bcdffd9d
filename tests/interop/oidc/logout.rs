//! Logout with the provider: RP-initiated logout through its end-session endpoint, and
//! back-channel logout sent by it (to a cookie session, a Redis session, every instance).

use std::time::Duration;

use axum_oauth_login::OAuth;
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::{count, event_seen};
use crate::harness::{InteropApp, POST_CLIENT, logout_at_provider, walk_rp_logout};
use crate::support::{Server, bind, body, bounded, location, query_param, test_app};

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
