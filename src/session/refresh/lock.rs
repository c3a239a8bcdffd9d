//! The store's refresh lock, shared by both coordinations (a store-held session's record,
//! a cookie session's shared outcome): take it, or adopt the holder's outcome.

use std::sync::Arc;
use std::time::Duration;

use super::{Outcome, Refresher, Refusal, store_error};
use crate::client::TokenSet;
use crate::session::TimedStore;
use crate::store::SessionId;

impl Refresher {
    /// Runs `work` under the refresh lock `id` of `store`. While another holder has it,
    /// waits — polling, bounded by the lock's TTL — unless `settled` finds that holder's
    /// outcome first; the lock is released after `work`, whatever it answered.
    pub(super) async fn under_lock<S, W>(
        &self,
        store: &TimedStore,
        id: &SessionId,
        mut settled: impl FnMut() -> S,
        work: impl FnOnce() -> W,
    ) -> Outcome
    where
        S: Future<Output = Result<Option<TokenSet>, Arc<Refusal>>>,
        W: Future<Output = Outcome>,
    {
        let ttl = self.lock_ttl(store);
        let deadline = tokio::time::Instant::now() + ttl;
        let token = loop {
            if let Some(token) = store.lock(id, ttl).await.map_err(store_error)? {
                break token;
            }
            if let Some(tokens) = settled().await? {
                return Ok(tokens);
            }
            if tokio::time::Instant::now() >= deadline {
                return Err(store_error(crate::store::StoreError::new(
                    "lock",
                    "another instance held the refresh lock too long",
                )));
            }
            tokio::time::sleep(Duration::from_millis(25)).await;
        };
        let outcome = work().await;
        if let Err(e) = store.unlock(id, &token).await {
            tracing::warn!(error = %e, "could not release the refresh lock; it expires by itself");
        }
        outcome
    }
}
