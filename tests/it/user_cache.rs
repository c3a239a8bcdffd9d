//! The user cache's shape as users see it: a wave of first requests during an outage
//! costs one provider call (the error is shared, not retried per caller, and not kept),
//! and users beyond the hot set are answered from the compact entry, not the provider.

use std::time::Duration;

use axum_oauth_login_mock::{MockEndpoint, MockUser};
use reqwest::StatusCode;

use crate::harness::*;
use crate::support::*;

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn an_outage_wave_costs_one_call_and_is_not_remembered() {
    let app = TestApp::spawn().await;
    let token = app.mock.issue_token();
    app.mock
        .delay_next(MockEndpoint::Userinfo, 1, Duration::from_millis(300));
    app.mock.fail_next(MockEndpoint::Userinfo, 1, 503);
    let mut tasks = tokio::task::JoinSet::new();
    for _ in 0..50 {
        let req = app
            .client
            .get(app.url("/api/me"))
            .header("authorization", bearer(&token));
        tasks.spawn(async move { req.send().await.map(|r| r.status()) });
    }
    for status in bounded("50 concurrent requests", tasks.join_all()).await {
        assert_eq!(status.expect("an answer"), StatusCode::SERVICE_UNAVAILABLE);
    }
    assert_eq!(
        app.mock.hits(MockEndpoint::Userinfo),
        1,
        "the wave shares the one failed call"
    );
    // The provider is back: the next request asks again, and gets the user.
    let res = app
        .get_with("/api/me", &[("authorization", &bearer(&token))])
        .await;
    assert_eq!(res.status(), StatusCode::OK);
    assert_eq!(app.mock.hits(MockEndpoint::Userinfo), 2);
}

#[tokio::test]
async fn users_beyond_the_hot_set_come_from_the_cache_not_the_provider() {
    // Capacity 1,000: the hot set of parsed users holds an eighth of it.
    let app = TestApp::spawn_with(|b| b.user_cache(Duration::from_secs(600), 1_000)).await;
    let staff = MockUser::staff();
    let tokens: Vec<(String, &str)> = (0..300)
        .map(|i| {
            if i % 2 == 0 {
                (app.mock.issue_token(), "u-1001")
            } else {
                let token = app.mock.issue_token_for(&staff.email).unwrap();
                (token, "u-1002")
            }
        })
        .collect();
    for round in 0..2 {
        for (token, sub) in &tokens {
            let res = app
                .get_with("/api/me", &[("authorization", &bearer(token))])
                .await;
            assert_eq!(res.status(), StatusCode::OK, "round {round}");
            assert_eq!(json(res).await["sub"], *sub, "round {round}");
        }
    }
    assert_eq!(
        app.mock.hits(MockEndpoint::Userinfo),
        300,
        "one call per token: the second round is answered from the cache"
    );
}
