//! The names the crate gives a shared store (issue 21, defect 9): records that are not
//! sessions — lookup indexes, connected accounts — used to be named from public values
//! (a user's `sub`, an account id, the client id and token URL), so a visitor whose own
//! tower-sessions layer shares the store, and who picks their own (unsigned) session id,
//! could load or overwrite them. They are now named with a MAC under the cookie key.

#[cfg(feature = "tower-sessions")]
mod visitor {
    use axum_oauth_login::store::TowerSessionsStore;
    use sha2::{Digest as _, Sha256};
    use tower_sessions_core::SessionStore as _;
    use tower_sessions_core::session::Id;
    use tower_sessions_sqlx_store::SqliteStore;
    use tower_sessions_sqlx_store::sqlx::{self, SqlitePool};

    use crate::connections::{accounts, connect};
    use crate::harness::*;
    use crate::support::bounded;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    /// The tower-sessions id a name gets in the adapter: 128 bits of its SHA-256 (what a
    /// visitor's cookie would carry, `Id`'s text form).
    fn tower_id(name: &str) -> Id {
        let digest = Sha256::digest(name.as_bytes());
        let mut bytes = [0u8; 16];
        bytes.copy_from_slice(&digest[..16]);
        Id(i128::from_le_bytes(bytes))
    }

    /// Every name the 0.2 release derived from public values, as tower-sessions ids.
    fn public_ids(sub: &str, context: &str, account: &str) -> Vec<(String, Id)> {
        let lookup = |kind: &str, value: &str| {
            format!("{kind}:{}", hex(&Sha256::digest(value.as_bytes())[..16]))
        };
        let account_id = format!(
            "acct-{}",
            hex(&Sha256::digest(format!("{context}\n{account}").as_bytes()))
        );
        [
            format!("index:{}", lookup("sub", sub)),
            "index:vault:accounts".to_owned(),
            format!("session:{account_id}"),
        ]
        .into_iter()
        .map(|name| {
            let id = tower_id(&name);
            (name, id)
        })
        .collect()
    }

    #[tokio::test]
    async fn a_visitor_cannot_load_the_crates_records_from_public_values() {
        let pool = bounded("SQLite connects", SqlitePool::connect("sqlite::memory:"))
            .await
            .expect("pool");
        let sqlite = SqliteStore::new(pool.clone());
        bounded("SQLite migrates", sqlite.migrate())
            .await
            .expect("migrated");
        let store = TowerSessionsStore::new(sqlite.clone());
        let app = TestApp::spawn_with(|b| {
            b.session_store(store.clone())
                .connections_store(store.clone())
        })
        .await;
        app.login().await;
        connect(&app, "biz-1").await;
        assert_eq!(accounts(&app).await, ["biz-1"]);
        let rows = sqlx::query_scalar::<_, i64>("SELECT COUNT(*) FROM tower_sessions")
            .fetch_one(&pool)
            .await
            .expect("count");
        // The session, the connection, their two lookup indexes (`sub`, the vault's list).
        assert!(rows >= 4, "the crate wrote its records: {rows}");

        // What anyone knows: the user's provider id, the account id in the app's URLs,
        // the client id and the provider's token URL.
        let sub = app.mock.user().info["sub"]
            .as_str()
            .expect("a sub")
            .to_owned();
        let provider = app.mock.provider();
        let context = format!("{}|{}", app.mock.client_id(), provider.token_url());
        // A visitor's tower-sessions layer loads whatever id their cookie names.
        let mut reachable = Vec::new();
        for (name, id) in public_ids(&sub, &context, "biz-1") {
            let record = bounded("a raw tower-sessions load", sqlite.load(&id))
                .await
                .expect("SQLite answers");
            if record.is_some() {
                reachable.push(name);
            }
        }
        assert_eq!(
            reachable,
            Vec::<String>::new(),
            "records a visitor can load (or overwrite) by choosing their session id"
        );
    }
}

/// Back-channel logout finds sessions indexed before a cookie-key rotation, or by 0.2.
mod backchannel {
    use std::sync::Arc;
    use std::time::Duration;

    use axum_oauth_login::store::{LockToken, MemoryStore, SessionId, SessionStore, StoreError};
    use axum_oauth_login::{Clock, CookieKey, OAuth};
    use axum_oauth_login_mock::MockProvider;
    use reqwest::StatusCode;
    use serde_json::json;
    use sha2::{Digest as _, Sha256};

    use crate::delete_wins::tokens_with;
    use crate::harness::*;
    use crate::jwks_rotation::{BACKCHANNEL_EVENT, Jwks, PEM_A, issuer, key_a, sign};
    use crate::support::{bind, bounded, example};

    /// The mock's default user.
    const SUB: &str = "u-1001";

    /// One instance of an OpenID Connect app (logout tokens signed by `jwks`) keeping its
    /// sessions in `store`.
    async fn instance(
        mock: &MockProvider,
        jwks: &Jwks,
        key: &CookieKey,
        clock: &Clock,
        store: Arc<dyn SessionStore>,
    ) -> TestApp {
        let provider = mock
            .provider()
            .to_builder()
            .jwks_url(&jwks.url)
            .build()
            .expect("provider builds");
        let (listener, port) = bind().await;
        let builder = OAuth::builder(provider, mock.client_id(), mock.client_secret())
            .redirect_uri(format!("http://127.0.0.1:{port}/auth/callback"))
            .clock(clock.clone())
            .cookie_key(key.clone());
        let oauth = example::configure(builder)
            .session_store_arc(store)
            .build()
            .expect("OAuth builds");
        TestApp::serve(mock.clone(), listener, oauth, clock.clone())
    }

    /// The provider posts a logout of every session of [`SUB`] to `app`.
    async fn logout_user(app: &TestApp) {
        let claims = json!({"iss": issuer(app), "aud": app.mock.client_id(), "sub": SUB,
                            "iat": app.clock.now(), "jti": "logout-of-u-1001",
                            "events": {BACKCHANNEL_EVENT: {}}});
        let token = sign(PEM_A, "a", "logout+jwt", &claims);
        let req = crate::support::client_builder()
            .build()
            .expect("client")
            .post(app.url("/auth/backchannel-logout"))
            .form(&[("logout_token", token.as_str())]);
        let res = bounded("back-channel logout", req.send())
            .await
            .expect("the app answers");
        assert_eq!(res.status(), StatusCode::OK, "logout recorded");
    }

    /// Logs in on `a`; the provider then logs the user out through `b`: the session's
    /// record is gone, so its cookie no longer works on `a` either.
    async fn logout_through(a: &TestApp, b: &TestApp) {
        a.login().await;
        let cookie = a.session_cookie().expect("a session cookie");
        assert_eq!(tokens_with(a, &cookie).await.0, StatusCode::OK);
        logout_user(b).await;
        assert_ne!(
            tokens_with(a, &cookie).await.0,
            StatusCode::OK,
            "the session indexed on A was found and ended through B"
        );
    }

    #[tokio::test]
    async fn sessions_indexed_under_a_previous_cookie_key_are_found() {
        let mock = start_mock().await;
        let jwks = Jwks::start(vec![key_a()]).await;
        let clock = Clock::manual_from_now();
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(1000));
        let old = CookieKey::generate();
        let rotated = CookieKey::generate().with_previous(old.clone());
        let a = instance(&mock, &jwks, &old, &clock, store.clone()).await;
        let b = instance(&mock, &jwks, &rotated, &clock, store).await;
        logout_through(&a, &b).await;
    }

    #[tokio::test]
    async fn sessions_indexed_by_0_2_are_found() {
        let mock = start_mock().await;
        let jwks = Jwks::start(vec![key_a()]).await;
        let clock = Clock::manual_from_now();
        let store: Arc<dyn SessionStore> = Arc::new(MemoryStore::new(1000));
        let key = CookieKey::generate();
        let legacy = Arc::new(Indexed02 {
            inner: store.clone(),
        });
        let a = instance(&mock, &jwks, &key, &clock, legacy).await;
        let b = instance(&mock, &jwks, &key, &clock, store).await;
        logout_through(&a, &b).await;
    }

    /// A store that indexes every session as 0.2 did: under the SHA-256 of [`SUB`].
    #[derive(Debug)]
    struct Indexed02 {
        inner: Arc<dyn SessionStore>,
    }

    fn lookup_02() -> Vec<String> {
        let digest = Sha256::digest(SUB.as_bytes());
        let hex: String = digest[..16].iter().map(|b| format!("{b:02x}")).collect();
        vec![format!("sub:{hex}")]
    }

    #[async_trait::async_trait]
    impl SessionStore for Indexed02 {
        async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
            self.inner.load(id).await
        }
        async fn save(
            &self,
            id: &SessionId,
            record: &str,
            _: &[String],
            ttl: Duration,
        ) -> Result<(), StoreError> {
            self.inner.save(id, record, &lookup_02(), ttl).await
        }
        async fn save_if_unchanged(
            &self,
            id: &SessionId,
            expected: &str,
            record: &str,
            _: &[String],
            ttl: Duration,
        ) -> Result<bool, StoreError> {
            let lookup = lookup_02();
            self.inner
                .save_if_unchanged(id, expected, record, &lookup, ttl)
                .await
        }
        async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
            self.inner.delete(id).await
        }
        async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
            self.inner.take(id).await
        }
        fn locks(&self) -> bool {
            self.inner.locks()
        }
        async fn lock(
            &self,
            id: &SessionId,
            ttl: Duration,
        ) -> Result<Option<LockToken>, StoreError> {
            self.inner.lock(id, ttl).await
        }
        async fn unlock(&self, id: &SessionId, token: &LockToken) -> Result<(), StoreError> {
            self.inner.unlock(id, token).await
        }
        async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
            self.inner.find(key).await
        }
    }
}
