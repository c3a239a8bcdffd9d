//! The builder's settings for what several instances of the app share through a store:
//! connected accounts, logouts, and resolved users.

use std::sync::Arc;
use std::time::Duration;

use super::OAuthBuilder;
use crate::store::SessionStore;

impl OAuthBuilder {
    /// Keeps connected accounts (see [`Connections`](crate::connections::Connections)) in `store`:
    /// [`OAuth::connections`](crate::OAuth::connections) then connects, uses and disconnects them. It can be the
    /// session store; records are sealed with the cookie key and never collide with
    /// sessions. Several instances refreshing one account need a locking store
    /// (memory within one process, Redis across processes).
    pub fn connections_store(mut self, store: impl SessionStore) -> Self {
        self.connections = Some(Arc::new(store));
        self
    }

    /// Where logouts of cookie-held sessions are kept so that every instance of the app
    /// honours them: the app's own logout, and OpenID Connect Back-Channel Logout.
    ///
    /// A logout reaches one instance. Sessions in a server-side store are deleted there,
    /// which every instance sees; sessions in cookies cannot be deleted, so they go on a
    /// denylist until they would have expired: by session id at the app's logout (a copy
    /// of the cookie dies too), by the provider's `sid`, or by `sub` for every session
    /// begun before a back-channel logout. Without this setting the denylist is this
    /// process's alone: right for one instance, but **with several instances the others
    /// keep honouring the session**. With a shared `store` (Redis), each instance pulls
    /// what changed every `sync_every` (the receiving one refuses the session at once);
    /// a pull reads one record per instance that wrote and one per new logout, whatever
    /// the number of entries.
    ///
    /// ```no_run
    /// # #[cfg(feature = "redis")]
    /// # async fn run(builder: axum_oauth_login::OAuthBuilder) -> Result<(), Box<dyn std::error::Error>> {
    /// use std::time::Duration;
    /// use axum_oauth_login::store::RedisStore;
    /// let shared = RedisStore::open("redis://127.0.0.1/")?;
    /// let oauth = builder.logout_denylist(shared, Duration::from_secs(2)).build()?;
    /// # drop(oauth); Ok(())
    /// # }
    /// ```
    pub fn logout_denylist(mut self, store: impl SessionStore, sync_every: Duration) -> Self {
        self.denylist = Some((Arc::new(store), sync_every));
        self
    }

    /// [`logout_denylist`](Self::logout_denylist) with a store shared with other settings.
    pub fn logout_denylist_arc(
        mut self,
        store: Arc<dyn SessionStore>,
        sync_every: Duration,
    ) -> Self {
        self.denylist = Some((store, sync_every));
        self
    }

    /// [`connections_store`](Self::connections_store) with a shared store.
    pub fn connections_store_arc(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.connections = Some(store);
        self
    }

    /// Shares the user cache's answers with the other instances through `store` (Redis,
    /// or any [`SessionStore`]): a new `Authorization: Bearer` token then costs one
    /// userinfo (or introspection) call across instances, not one per instance.
    ///
    /// A second level behind each instance's own cache, asked only when that one has no
    /// answer: a cache hit never touches the store. One instance at a time asks the
    /// provider for a token (it claims the token with the store's lock, `SET NX` in
    /// Redis, and writes the user before letting go); the others wait for its answer,
    /// and ask themselves when it brings none. Only users are shared, never refusals (a
    /// flood of random tokens is no flood of writes), each until the earlier of the
    /// token's expiry and the [`user_cache`](Self::user_cache) TTL. Entries are named by
    /// an HMAC of the token under a key derived from the cookie key and sealed under the
    /// cookie key, like sessions. Logout deletes the token's entry, and no instance
    /// writes it again; instances that already hold the user locally keep it until
    /// their own entry ends (the `user_cache` TTL at most).
    ///
    /// ```no_run
    /// # #[cfg(feature = "redis")]
    /// # async fn run(builder: axum_oauth_login::OAuthBuilder) -> Result<(), Box<dyn std::error::Error>> {
    /// use axum_oauth_login::store::RedisStore;
    /// let shared = RedisStore::open("redis://127.0.0.1/")?;
    /// let oauth = builder.shared_user_cache(shared).build()?;
    /// # drop(oauth); Ok(())
    /// # }
    /// ```
    pub fn shared_user_cache(mut self, store: impl SessionStore) -> Self {
        self.users.shared = Some(Arc::new(store));
        self
    }

    /// [`shared_user_cache`](Self::shared_user_cache) with a store shared with other
    /// settings.
    pub fn shared_user_cache_arc(mut self, store: Arc<dyn SessionStore>) -> Self {
        self.users.shared = Some(store);
        self
    }
}
