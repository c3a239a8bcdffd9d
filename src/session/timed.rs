//! A server-side store with the crate's timeout around every call.

use std::sync::Arc;
use std::time::Duration;

use crate::store::{SessionId, SessionStore, StoreError};

/// A server-side store with the crate's timeout around every call.
#[derive(Clone, Debug)]
pub(crate) struct TimedStore {
    store: Arc<dyn SessionStore>,
    timeout: Duration,
}

impl TimedStore {
    pub(crate) fn new(store: Arc<dyn SessionStore>, timeout: Duration) -> TimedStore {
        TimedStore { store, timeout }
    }

    async fn timed<T>(
        &self,
        operation: &'static str,
        call: impl Future<Output = Result<T, StoreError>>,
    ) -> Result<T, StoreError> {
        tokio::time::timeout(self.timeout, call)
            .await
            .unwrap_or_else(|_| Err(StoreError::new(operation, "timed out")))
    }

    pub(crate) async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.timed("load", self.store.load(id)).await
    }
    pub(crate) async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.timed("save", self.store.save(id, record, lookup, ttl))
            .await
    }
    pub(crate) async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.timed(
            "save",
            self.store
                .save_if_unchanged(id, expected, record, lookup, ttl),
        )
        .await
    }
    pub(crate) async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.timed("delete", self.store.delete(id)).await
    }
    pub(crate) async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        self.timed("delete", self.store.take(id)).await
    }
    pub(crate) fn locks(&self) -> bool {
        self.store.locks()
    }
    /// The timeout of each call.
    pub(crate) fn timeout(&self) -> Duration {
        self.timeout
    }
    pub(crate) async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        self.timed("find", self.store.find(key)).await
    }
    pub(crate) async fn lock(
        &self,
        id: &SessionId,
        ttl: Duration,
    ) -> Result<Option<crate::store::LockToken>, StoreError> {
        self.timed("lock", self.store.lock(id, ttl)).await
    }
    pub(crate) async fn unlock(
        &self,
        id: &SessionId,
        token: &crate::store::LockToken,
    ) -> Result<(), StoreError> {
        self.timed("unlock", self.store.unlock(id, token)).await
    }
}
