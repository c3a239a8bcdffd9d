//! What only a shared server-side store does, on Redis: two instances with one session
//! and one refresh, records sealed at rest, and an outage that is a `503`, never a logout.

use std::sync::Arc;

use axum_oauth_login::Clock;
use axum_oauth_login::store::RedisStore;

use super::*;
use crate::support::redis::RedisServer;

/// One instance of the app ([`instance`]) with its own connection to `server`.
async fn redis_instance(
    server: &RedisServer,
    mock: &MockProvider,
    key: &CookieKey,
    clock: &Clock,
) -> TestApp {
    instance(mock, key, clock, |b| {
        b.session_store(RedisStore::open(&server.url()).expect("RedisStore opens"))
    })
    .await
}

/// A raw connection to the test's Redis, to look at what the store wrote.
async fn raw(server: &RedisServer) -> ::redis::aio::MultiplexedConnection {
    let client = ::redis::Client::open(server.url()).expect("redis client");
    bounded(
        "raw Redis connection",
        client.get_multiplexed_async_connection(),
    )
    .await
    .expect("connects")
}

async fn query<T: ::redis::FromRedisValue>(
    con: &mut ::redis::aio::MultiplexedConnection,
    cmd: &mut ::redis::Cmd,
) -> T {
    bounded("a Redis command", cmd.query_async(con))
        .await
        .expect("Redis answers")
}

/// Log in on A, use the session on B; 20 requests split over A and B at expiry share
/// one refresh; logout on B ends the session on A too.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_instances_share_a_session_and_refresh_once() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let mock = rotating_mock().await;
    let key = CookieKey::generate();
    let clock = Clock::manual_from_now();
    let a = redis_instance(&server, &mock, &key, &clock).await;
    let b = redis_instance(&server, &mock, &key, &clock).await;

    a.login().await;
    let cookie = a.session_cookie().expect("session on A");
    let (_, on_a) = tokens(&a).await;
    let (status, on_b) = read_tokens(tokens_with(&b.new_browser(), &cookie).await).await;
    assert_eq!(status, StatusCode::OK, "B knows A's session");
    assert_eq!(on_b["access_token"], on_a["access_token"]);

    // 20 s left on the token; the refresh is held open 300 ms so that requests on
    // both instances arrive while it is in flight.
    advance(&a, 100);
    mock.delay_next(MockEndpoint::Token, 1, Duration::from_millis(300));
    let browsers = [Arc::new(a.new_browser()), Arc::new(b.new_browser())];
    let send = |i: usize| {
        let browser = browsers[i % 2].clone();
        let cookie = cookie.clone();
        tokio::spawn(async move { read_tokens(tokens_with(&browser, &cookie).await).await })
    };
    // Ten, alternating A and B: one instance takes the Redis lock and calls the
    // provider ...
    let mut tasks: Vec<_> = (0..10).map(send).collect();
    bounded("the refresh reaches the provider", async {
        while mock.refresh_hits() == 0 {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
    })
    .await;
    // ... and ten more while its answer is held: both instances read the pre-refresh
    // record, so both must wait for the lock holder's tokens instead of refreshing.
    tasks.extend((10..20).map(send));
    let mut seen = std::collections::HashSet::new();
    for (i, task) in tasks.into_iter().enumerate() {
        let (status, body) = bounded("a concurrent request", task).await.expect("task");
        assert_eq!(status, StatusCode::OK, "request {i} ({body})");
        seen.insert(str_of(&body, "access_token").to_owned());
    }
    assert_eq!(
        mock.refresh_hits(),
        1,
        "exactly one refresh call at the provider"
    );
    assert_eq!(seen.len(), 1, "every request saw the same token: {seen:?}");
    assert!(
        !seen.contains(str_of(&on_a, "access_token")),
        "the refreshed token"
    );
    // Both instances carry on with it.
    for app in [&a, &b] {
        let (status, body) = read_tokens(tokens_with(&app.new_browser(), &cookie).await).await;
        assert_eq!(status, StatusCode::OK);
        assert!(seen.contains(str_of(&body, "access_token")));
    }
    assert_eq!(mock.refresh_hits(), 1);

    // Logout on B: A sees no session, and the copied cookie is dead on both.
    let on_b = b.new_browser();
    let res = on_b
        .send(
            on_b.client
                .post(on_b.url("/auth/logout"))
                .header("cookie", session_header(&cookie)),
        )
        .await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_removed(&res, SESSION_COOKIE);
    for (name, app) in [("A", &a), ("B", &b)] {
        let res = tokens_with(&app.new_browser(), &cookie).await;
        assert_eq!(res.status(), StatusCode::UNAUTHORIZED, "{name}");
    }
    let (status, _) = tokens(&a).await;
    assert_eq!(status, StatusCode::UNAUTHORIZED, "A's own browser too");
}

/// What Redis holds is sealed: neither token appears in clear in any key, before or
/// after a refresh; the cookie does not carry the id in clear; records expire.
#[tokio::test]
async fn records_are_sealed_at_rest() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::open(&server.url()).expect("RedisStore opens");
    let app =
        TestApp::spawn_with_mock(rotating_mock().await, move |b| b.session_store(store)).await;
    app.login().await;
    let cookie = app.session_cookie().expect("session");
    let mut con = raw(&server).await;

    for round in ["after login", "after a refresh"] {
        if round == "after a refresh" {
            advance(&app, 100);
        }
        let (status, t) = tokens(&app).await;
        assert_eq!(status, StatusCode::OK, "{round}");
        let secrets = [
            str_of(&t, "access_token").to_owned(),
            str_of(&t, "refresh_token").to_owned(),
        ];

        let sessions: Vec<String> = query(
            &mut con,
            ::redis::cmd("KEYS").arg("axum-oauth-login:session:*"),
        )
        .await;
        assert_eq!(
            sessions.len(),
            1,
            "{round}: one session record: {sessions:?}"
        );
        let id = sessions[0]
            .strip_prefix("axum-oauth-login:session:")
            .expect("prefix");
        assert!(!cookie.contains(id), "{round}: the cookie seals the id");
        let ttl: i64 = query(&mut con, ::redis::cmd("PTTL").arg(&sessions[0])).await;
        assert!(
            ttl > 0 && ttl <= 7 * 24 * 3600 * 1000,
            "{round}: the record expires (PTTL {ttl})"
        );

        // Every key, whatever its type.
        let keys: Vec<String> = query(&mut con, ::redis::cmd("KEYS").arg("*")).await;
        for key in &keys {
            let kind: String = query(&mut con, ::redis::cmd("TYPE").arg(key)).await;
            let values: Vec<String> = match kind.as_str() {
                "string" => vec![query(&mut con, ::redis::cmd("GET").arg(key)).await],
                "set" => query(&mut con, ::redis::cmd("SMEMBERS").arg(key)).await,
                other => panic!("{round}: unexpected {other} key {key}"),
            };
            for value in values {
                for secret in &secrets {
                    assert!(
                        !value.contains(secret.as_str()) && !key.contains(secret.as_str()),
                        "{round}: a token in clear under {key}"
                    );
                }
            }
        }
    }
    assert_eq!(app.mock.refresh_hits(), 1);
}

/// Redis goes down: requests that need the session answer 503 (not 401, not 500, no
/// cookie removal, no logout); a login answers 503 too. Redis comes back (with its
/// data): the same session works again, with the same app.
#[tokio::test]
async fn outage_is_503_and_recovers_without_a_restart() {
    let Some(mut server) = RedisServer::start().await else {
        return;
    };
    let store = RedisStore::open(&server.url()).expect("RedisStore opens");
    let app = TestApp::spawn_with_mock(start_mock().await, move |b| {
        b.session_store(store)
            .store_timeout(Duration::from_millis(500))
    })
    .await;
    app.login().await;
    let (_, before) = tokens(&app).await;

    // Written to disk so that the restarted server has the session, as a persistent
    // Redis would after an outage.
    server.persist().await;
    server.stop().await;

    let started = std::time::Instant::now();
    let res = app.get("/tokens").await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE);
    assert!(res.headers().contains_key("retry-after"));
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
        "the session cookie is kept: {:?}",
        set_cookies(res.headers())
    );
    assert!(
        started.elapsed() < Duration::from_secs(3),
        "bounded by the store timeout: {:?}",
        started.elapsed()
    );
    let res = app
        .get_with("/api/me", &[("accept", "application/json")])
        .await;
    assert_eq!(res.status(), StatusCode::SERVICE_UNAVAILABLE, "/api/me");
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    let res = app.get("/me").await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "/me (navigation)"
    );
    assert!(app.session_cookie().is_some(), "still logged in");
    // `Option<AuthSession>` cannot tell "no session" from "cannot know": 503. A public
    // page that takes `Result<AuthSession, AuthRejection>` renders as anonymous.
    assert_eq!(
        app.get("/").await.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "Option<AuthSession>"
    );
    let res = app.get("/public").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(body(res).await, "anonymous (session store unavailable)");

    // A login cannot keep its session now: a clear 503, no cookie.
    let newcomer = app.new_browser();
    let res = newcomer.complete_login(None).await;
    assert_eq!(
        res.status(),
        StatusCode::SERVICE_UNAVAILABLE,
        "login during the outage"
    );
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    let page = body(res).await;
    assert_eq!(
        element_text(&page, "code").as_deref(),
        Some("temporarily_unavailable"),
        "{page}"
    );

    server.restart().await;
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    let after = loop {
        let (status, body) = tokens(&app).await;
        match status {
            StatusCode::OK => break body,
            StatusCode::SERVICE_UNAVAILABLE => {}
            other => panic!("while Redis recovers: {other} {body}"),
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still 503 5 s after Redis came back"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    };
    assert_eq!(
        after["access_token"], before["access_token"],
        "the same session"
    );
    let res = app
        .get_with("/api/me", &[("accept", "application/json")])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
}
