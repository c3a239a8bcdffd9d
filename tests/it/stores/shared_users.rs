//! The shared user cache on a real Redis (`OAuthBuilder::shared_user_cache`): one
//! userinfo call per token across instances, a cache hit that never touches Redis,
//! refusals kept to the instance that got them, and a logged-out token that no instance
//! serves from the shared cache.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use axum_oauth_login::Clock;
use axum_oauth_login::store::{LockToken, RedisStore, SessionId, SessionStore, StoreError};

use super::*;
use crate::support::redis::RedisServer;

/// A `RedisStore` that counts the calls made to it.
#[derive(Debug)]
struct Counted {
    inner: RedisStore,
    calls: AtomicUsize,
    saves: AtomicUsize,
}

impl Counted {
    fn calls(&self) -> usize {
        self.calls.load(Ordering::SeqCst)
    }
    fn saves(&self) -> usize {
        self.saves.load(Ordering::SeqCst)
    }
    fn count(&self) {
        self.calls.fetch_add(1, Ordering::SeqCst);
    }
}

#[async_trait::async_trait]
impl SessionStore for Counted {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.count();
        self.inner.load(id).await
    }
    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.count();
        self.saves.fetch_add(1, Ordering::SeqCst);
        self.inner.save(id, record, lookup, ttl).await
    }
    async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.count();
        self.inner
            .save_if_unchanged(id, expected, record, lookup, ttl)
            .await
    }
    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.count();
        self.inner.delete(id).await
    }
    async fn lock(&self, id: &SessionId, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        self.count();
        self.inner.lock(id, ttl).await
    }
    async fn unlock(&self, id: &SessionId, token: &LockToken) -> Result<(), StoreError> {
        self.count();
        self.inner.unlock(id, token).await
    }
    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        self.count();
        self.inner.find(key).await
    }
}

/// Two instances (cookie sessions) sharing their users through one counted Redis store.
async fn two_instances(
    server: &RedisServer,
    mock: &MockProvider,
) -> (TestApp, TestApp, Arc<Counted>) {
    let store = Arc::new(Counted {
        inner: RedisStore::open(&server.url()).expect("RedisStore opens"),
        calls: AtomicUsize::new(0),
        saves: AtomicUsize::new(0),
    });
    let key = CookieKey::generate();
    let clock = Clock::manual_from_now();
    let shared: Arc<dyn SessionStore> = store.clone();
    let a = instance(mock, &key, &clock, |b| {
        b.shared_user_cache_arc(shared.clone())
    })
    .await;
    let b = instance(mock, &key, &clock, |b| b.shared_user_cache_arc(shared)).await;
    (a, b, store)
}

async fn me(app: &TestApp, token: &str) -> StatusCode {
    app.get_with("/api/me", &[("authorization", &bearer(token))])
        .await
        .status()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn a_new_token_costs_one_userinfo_call_across_instances_and_hits_never_touch_redis() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let mock = start_mock().await;
    let (a, b, store) = two_instances(&server, &mock).await;
    let token = mock.issue_token();
    // The provider answers late: both instances' first requests arrive while it thinks.
    mock.delay_next(MockEndpoint::Userinfo, 1, Duration::from_millis(300));
    let mut tasks = tokio::task::JoinSet::new();
    for i in 0..40 {
        let app = if i % 2 == 0 { &a } else { &b };
        let req = app
            .client
            .get(app.url("/api/me"))
            .header("authorization", bearer(&token));
        tasks.spawn(async move {
            let res = req.send().await.expect("an answer");
            (res.status(), res.json::<Value>().await.ok())
        });
    }
    for (status, body) in bounded("40 requests on two instances", tasks.join_all()).await {
        assert_eq!(status, StatusCode::OK);
        assert_eq!(body.expect("JSON")["sub"], "u-1001");
    }
    assert_eq!(
        mock.hits(MockEndpoint::Userinfo),
        1,
        "one userinfo call across both instances"
    );
    assert_eq!(store.saves(), 1, "the one answer, shared once");

    // Both instances now hold the user: their hits make no Redis call at all.
    let before = store.calls();
    for _ in 0..20 {
        assert_eq!(me(&a, &token).await, StatusCode::OK);
        assert_eq!(me(&b, &token).await, StatusCode::OK);
    }
    assert_eq!(store.calls(), before, "a cache hit never touches Redis");
    assert_eq!(mock.hits(MockEndpoint::Userinfo), 1);
}

#[tokio::test]
async fn refusals_are_not_shared() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let mock = start_mock().await;
    let (a, b, store) = two_instances(&server, &mock).await;
    assert_eq!(me(&a, "not-a-real-token").await, StatusCode::UNAUTHORIZED);
    assert_eq!(me(&b, "not-a-real-token").await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        mock.hits(MockEndpoint::Userinfo),
        2,
        "each instance asks for itself"
    );
    assert_eq!(store.saves(), 0, "a refusal is never written");
}

#[tokio::test]
async fn a_logged_out_token_is_not_served_from_the_shared_cache_on_another_instance() {
    let Some(server) = RedisServer::start().await else {
        return;
    };
    let mock = start_mock().await;
    let (a, b, store) = two_instances(&server, &mock).await;
    a.login().await;
    let (_, tokens) = tokens(&a).await;
    let token = tokens["access_token"]
        .as_str()
        .expect("an access token")
        .to_owned();
    // The login resolved the user: it is shared now.
    assert_eq!(me(&a, &token).await, StatusCode::OK);
    assert_eq!(store.saves(), 1);
    let calls = mock.hits(MockEndpoint::Userinfo);

    // Logout on A revokes the token and takes its user out of the shared cache.
    let res = a.post("/auth/logout").await;
    assert_eq!(res.status(), StatusCode::SEE_OTHER);

    // B has no copy of its own: it asks the provider, which refuses the revoked token.
    assert_eq!(me(&b, &token).await, StatusCode::UNAUTHORIZED);
    assert_eq!(
        mock.hits(MockEndpoint::Userinfo),
        calls + 1,
        "B asked the provider, not the shared cache"
    );
}
