//! Connected accounts (`Connections`) through the test app's routes: connecting leaves
//! the browser's session alone, each account refreshes on its own, a vault shared in
//! Redis refreshes once across instances, disconnecting revokes at the provider, and the
//! account id comes only from the sealed flow cookie of the browser that started.

use std::sync::Arc;
use std::time::Duration;

use axum_oauth_login::store::MemoryStore;
use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use reqwest::StatusCode;
use serde_json::Value;

use crate::harness::*;
use crate::support::*;

/// Apicbase access tokens live a week.
const WEEK: u64 = 7 * 24 * 3600;

async fn apicbase_mock() -> MockProvider {
    bounded("mock", MockProvider::apicbase().start())
        .await
        .expect("apicbase mock")
}

/// An Apicbase app keeping connections in memory.
pub(crate) async fn apicbase_app() -> TestApp {
    TestApp::spawn_with_mock(apicbase_mock().await, |b| {
        b.connections_store(MemoryStore::new(1000))
    })
    .await
}

/// `POST /connect/{account}` from the app's own page; asserts a `303` to the provider
/// and returns the authorize URL.
async fn start_connect(browser: &Browser, account: &str) -> String {
    let path = format!("/connect/{account}");
    let req = browser
        .client
        .post(browser.url(&path))
        .header("sec-fetch-site", "same-origin")
        .header("origin", &browser.base);
    let res = browser.send(req).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER, "connect redirects");
    location(&res)
}

/// `GET /connect/{account}` (its confirmation page) → its button's `POST` → the mock's
/// consent → the callback; asserts that the callback sends the browser to `/accounts`
/// without touching its session cookie.
pub(crate) async fn connect(browser: &Browser, account: &str) {
    let res = browser.get(&format!("/connect/{account}")).await;
    assert_eq!(res.status(), StatusCode::OK, "a GET only asks");
    assert!(body(res).await.contains(r#"<form method="post">"#));
    let authorize = start_connect(browser, account).await;
    assert!(
        authorize.starts_with(&browser.mock.base_url()),
        "to the provider: {authorize}"
    );
    let callback = browser.authorize(&authorize).await;
    let res = browser.callback(&callback).await;
    assert_eq!(
        res.status(),
        StatusCode::SEE_OTHER,
        "the callback completes"
    );
    assert_eq!(location(&res), "/accounts");
    assert!(
        set_cookie_for(res.headers(), SESSION_COOKIE).is_none(),
        "the browser's session is not touched"
    );
}

/// The connected account ids, as `/accounts` lists them.
pub(crate) async fn accounts(browser: &Browser) -> Vec<String> {
    let res = browser.get("/accounts").await;
    assert_eq!(res.status(), StatusCode::OK);
    let list: Value = res.json().await.expect("JSON list");
    list.as_array()
        .expect("an array")
        .iter()
        .map(|c| c["account"].as_str().expect("account").to_owned())
        .collect()
}

/// `GET /accounts/{account}/api?path=...`: the app's status and JSON body.
async fn api_as(browser: &Browser, account: &str, path: &str) -> (StatusCode, Value) {
    let res = browser
        .get(&format!("/accounts/{account}/api?path={}", enc(path)))
        .await;
    let status = res.status();
    (status, res.json().await.unwrap_or(Value::Null))
}

/// An API call as `account` to the Apicbase mock's library that must succeed.
async fn library_as(browser: &Browser, account: &str) {
    let (status, body) = api_as(browser, account, "library/").await;
    assert_eq!(status, StatusCode::OK, "{account}: {body}");
    assert_eq!(body["status"], 200, "{account}: {body}");
    assert_eq!(
        body["body"]["library"]["name"], "chef@example.com's library",
        "{account}: {body}"
    );
}

/// The `Authorization` header of the mock's last API request.
fn last_bearer(mock: &MockProvider) -> String {
    mock.requests(MockEndpoint::Api)
        .last()
        .and_then(|r| r.authorization.clone())
        .expect("an API request with a token")
}

#[tokio::test]
async fn two_accounts_connect_without_touching_the_session_and_refresh_independently() {
    let app = apicbase_app().await;
    app.login().await;
    let session_before = app.session_cookie().expect("session");
    let (_, before) = tokens(&app).await;

    connect(&app, "lib-1").await;
    connect(&app, "lib-2").await;

    // The browser's own login is what it was.
    let (status, after) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(after["access_token"], before["access_token"]);
    assert_eq!(app.session_cookie(), Some(session_before));

    let res = app.get("/accounts").await;
    let list: Value = res.json().await.unwrap();
    assert_eq!(list.as_array().map(Vec::len), Some(2), "{list}");
    assert_eq!(list[0]["account"], "lib-1");
    assert_eq!(list[1]["account"], "lib-2");
    assert_eq!(list[0]["refreshable"], true);

    // Each account calls with its own token.
    library_as(&app, "lib-1").await;
    let lib1 = last_bearer(&app.mock);
    library_as(&app, "lib-2").await;
    let lib2 = last_bearer(&app.mock);
    assert_ne!(lib1, lib2, "one token per account");
    assert_ne!(lib1, bearer(before["access_token"].as_str().unwrap()));
    assert_eq!(app.mock.refresh_hits(), 0);

    // 30 s left on both accounts' tokens: inside the 60 s skew.
    advance(&app, WEEK - 30);
    library_as(&app, "lib-1").await;
    assert_eq!(app.mock.refresh_hits(), 1, "lib-1 refreshed");
    let lib1_new = last_bearer(&app.mock);
    library_as(&app, "lib-2").await;
    assert_eq!(app.mock.refresh_hits(), 2, "lib-2 refreshed on its own");
    let lib2_new = last_bearer(&app.mock);
    assert!(
        lib1_new != lib1 && lib2_new != lib2 && lib1_new != lib2_new,
        "new, distinct tokens"
    );

    // The refreshed tokens were kept: repeats refresh nothing.
    for account in ["lib-1", "lib-2", "lib-1", "lib-2"] {
        library_as(&app, account).await;
    }
    assert_eq!(app.mock.refresh_hits(), 2, "no further refresh");

    // The session's own token, due too, is refreshed on its own when the session is
    // used: the accounts' refreshes did not touch it.
    let (status, again) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(app.mock.refresh_hits(), 3, "the session's own refresh");
    let session_token = bearer(again["access_token"].as_str().unwrap());
    assert!(
        again["access_token"] != before["access_token"]
            && session_token != lib1_new
            && session_token != lib2_new,
        "{again}"
    );
}

#[tokio::test]
async fn disconnect_revokes_at_the_provider() {
    // vcita: it has a revocation endpoint.
    let app = TestApp::spawn_with(|b| b.connections_store(MemoryStore::new(1000))).await;
    app.login().await;
    connect(&app, "biz-1").await;
    assert_eq!(accounts(&app).await, ["biz-1"]);

    let (status, body) = api_as(&app, "biz-1", "platform/v1/businesses/b-42").await;
    assert_eq!(status, StatusCode::OK, "{body}");
    assert_eq!(body["body"]["data"]["business"]["name"], "Demo Salon");
    let connections = app.oauth.connections().expect("a connections store");
    let kept = connections.tokens("biz-1").await.expect("connected");
    let token = kept.access_token().secret().to_owned();

    let res = app.post("/accounts/biz-1/disconnect").await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(res.text().await.unwrap(), "true");
    assert!(app.mock.hits(MockEndpoint::Revoke) >= 1, "revoked");
    assert!(accounts(&app).await.is_empty(), "no longer listed");

    // The provider no longer takes the token.
    let url = app
        .mock
        .provider()
        .api_base()
        .expect("api base")
        .join("platform/v1/businesses/b-42")
        .unwrap();
    let res = crate::support::client_builder()
        .build()
        .expect("client")
        .get(url)
        .bearer_auth(&token)
        .send()
        .await
        .expect("the mock answers");
    assert_eq!(
        res.status(),
        StatusCode::UNAUTHORIZED,
        "revoked at the provider"
    );

    // And the app has nothing to call with.
    let api_hits = app.mock.hits(MockEndpoint::Api);
    let (status, body) = api_as(&app, "biz-1", "platform/v1/businesses/b-42").await;
    assert_eq!(status, StatusCode::BAD_GATEWAY, "{body}");
    assert_eq!(body["error"], "api_error", "{body}");
    assert_eq!(
        body["error_description"], "no connection for this account",
        "{body}"
    );
    assert_eq!(app.mock.hits(MockEndpoint::Api), api_hits, "no API call");

    let res = app.post("/accounts/biz-1/disconnect").await;
    assert_eq!(res.text().await.unwrap(), "false", "already disconnected");

    // The browser's own login is untouched by all this.
    let (status, _) = tokens(&app).await;
    assert_eq!(status, StatusCode::OK);
}

#[tokio::test]
async fn a_connect_flow_cannot_be_completed_in_another_browser() {
    let app = apicbase_app().await;
    app.login().await;
    let other = app.new_browser();
    other.login().await;
    let exchanges = app.mock.hits(MockEndpoint::Token);

    let authorize = start_connect(&app, "lib-1").await;
    let callback = app.authorize(&authorize).await;
    // The account id travels only in the sealed flow cookie.
    for url in [authorize.as_str(), callback.as_str()] {
        assert!(!url.contains("lib-1"), "{url}");
    }

    // Browser B has no flow cookie for this state: refused before any token request.
    let res = other.callback(&callback).await;
    assert_eq!(res.status(), StatusCode::BAD_REQUEST);
    assert!(set_cookie_for(res.headers(), SESSION_COOKIE).is_none());
    assert!(body(res).await.contains("unknown_state"));
    assert_eq!(
        app.mock.hits(MockEndpoint::Token),
        exchanges,
        "the code was not exchanged"
    );
    assert!(accounts(&app).await.is_empty(), "nothing saved");

    // Browser A completes it; a parameter added to the callback names no account.
    let mut tampered = callback.clone();
    tampered.query_pairs_mut().append_pair("account", "lib-2");
    let res = app.callback(&tampered).await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert_eq!(location(&res), "/accounts");
    assert_eq!(accounts(&app).await, ["lib-1"]);
}

#[tokio::test]
async fn connect_requires_a_login() {
    let app = apicbase_app().await;
    let res = app.get("/connect/lib-1").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);
    assert!(
        location(&res).starts_with("/auth/login"),
        "{}",
        location(&res)
    );
    assert_eq!(app.mock.hits(MockEndpoint::Token), 0);
}

#[tokio::test]
async fn encoded_separators_never_take_the_token_out_of_the_api_base() {
    let app = apicbase_app().await;
    app.login().await;
    connect(&app, "lib-1").await;
    library_as(&app, "lib-1").await;
    let hits = app.mock.hits(MockEndpoint::Api);
    // Each of these reaches another path than the API base's on a server or proxy that
    // decodes `%2F`, `%5C`, `..;` or twice-encoded dots before routing.
    for bad in [
        "..%2F..%2Fadmin",
        "..%5C..%5Cadmin",
        "..;/..;/admin",
        "%252e%252e/%252e%252e/admin",
        "%2e%2e/%2e%2e/admin",
        "library/%2F/b",
        "library\\..\\..\\admin",
    ] {
        let (status, body) = api_as(&app, "lib-1", bad).await;
        assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR, "{bad}: {body}");
        let description = body["error_description"].as_str().unwrap_or_default();
        assert!(description.starts_with("refused API path"), "{bad}: {body}");
        assert_eq!(
            app.mock.hits(MockEndpoint::Api),
            hits,
            "{bad}: no request sent"
        );
    }
    // Ordinary paths and queries still go.
    let (status, body) = api_as(&app, "lib-1", "library/?q=..").await;
    assert_eq!(
        (status, &body["status"]),
        (StatusCode::OK, &Value::from(200)),
        "{body}"
    );
}

// ---------------------------------------------------------------------------------------
// A vault shared in Redis
// ---------------------------------------------------------------------------------------

#[cfg(feature = "redis")]
mod shared_redis {
    use axum_oauth_login::store::RedisStore;
    use axum_oauth_login::{Clock, CookieKey, client::OAuthClient, connections::Connections};

    use super::*;
    use crate::support::redis::RedisServer;

    /// One instance of the app ([`instance`]) keeping its connected accounts in `server`.
    async fn redis_instance(
        server: &RedisServer,
        mock: &MockProvider,
        key: &CookieKey,
        clock: &Clock,
    ) -> TestApp {
        instance(mock, key, clock, |b| {
            b.connections_store(RedisStore::open(&server.url()).expect("RedisStore opens"))
        })
        .await
    }

    /// A worker without a web server: `Connections` over the same Redis and key.
    fn worker(
        server: &RedisServer,
        mock: &MockProvider,
        key: &CookieKey,
        clock: &Clock,
    ) -> Connections {
        let client = OAuthClient::builder(mock.provider(), mock.client_id(), mock.client_secret())
            .without_redirect_uri()
            .clock(clock.clone())
            .build()
            .expect("client");
        let store = RedisStore::open(&server.url()).expect("RedisStore opens");
        Connections::with_store(client, Arc::new(store), key.clone())
    }

    /// An account connected on A is seen by B and by a worker; at expiry, 30 concurrent
    /// calls over A, B and the worker make one refresh (the mock rotates refresh tokens:
    /// a second refresh with the spent token would be `invalid_grant`).
    #[tokio::test(flavor = "multi_thread", worker_threads = 2)]
    async fn instances_sharing_a_vault_refresh_an_account_once() {
        let Some(server) = RedisServer::start().await else {
            return;
        };
        let mock = apicbase_mock().await;
        let key = CookieKey::generate();
        let clock = Clock::manual_from_now();
        let a = redis_instance(&server, &mock, &key, &clock).await;
        let b = redis_instance(&server, &mock, &key, &clock).await;
        let worker = worker(&server, &mock, &key, &clock);

        a.login().await;
        connect(&a, "lib-1").await;
        assert_eq!(accounts(&b).await, ["lib-1"], "B sees A's connection");
        let listed = worker.list().await.expect("the worker lists");
        assert_eq!(listed.len(), 1);
        assert_eq!(listed[0].account, "lib-1");
        library_as(&b, "lib-1").await;
        let first = last_bearer(&mock);
        let from_worker = worker.tokens("lib-1").await.expect("connected");
        assert_eq!(first, bearer(from_worker.access_token().secret()));
        assert_eq!(mock.refresh_hits(), 0);

        // 30 s left; the refresh is held open so that every call arrives while it is in
        // flight.
        advance(&a, WEEK - 30);
        mock.delay_next(MockEndpoint::Token, 1, Duration::from_millis(300));
        let browsers = [Arc::new(a.new_browser()), Arc::new(b.new_browser())];
        let mut web = Vec::new();
        let mut jobs = Vec::new();
        for i in 0..10 {
            for browser in &browsers {
                let browser = browser.clone();
                web.push(tokio::spawn(async move {
                    api_as(&browser, "lib-1", "library/").await
                }));
            }
            let worker = worker.clone();
            jobs.push(tokio::spawn(async move {
                let answer = worker.api("lib-1").get("library/").send().await;
                (i, answer.map(|a| a.status()))
            }));
        }
        for task in web {
            let (status, body) = bounded("a call through an instance", task)
                .await
                .expect("task");
            assert_eq!(status, StatusCode::OK, "{body}");
            assert_eq!(body["status"], 200, "{body}");
        }
        for task in jobs {
            let (i, answer) = bounded("a call from the worker", task).await.expect("task");
            assert_eq!(answer.expect("the worker's call").as_u16(), 200, "job {i}");
        }
        assert_eq!(
            mock.refresh_hits(),
            1,
            "exactly one refresh at the provider"
        );

        // Everyone carries on with the one refreshed token.
        let bearers: std::collections::HashSet<_> = mock
            .requests(MockEndpoint::Api)
            .into_iter()
            .skip(1)
            .map(|r| r.authorization.unwrap_or_default())
            .collect();
        assert_eq!(bearers.len(), 1, "one token after the refresh: {bearers:?}");
        assert!(!bearers.contains(&first));
        library_as(&a, "lib-1").await;
        library_as(&b, "lib-1").await;
        assert_eq!(mock.refresh_hits(), 1);
    }
}
