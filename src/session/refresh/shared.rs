//! Cookie sessions on several instances: refreshes coordinated through a shared store.
//!
//! A cookie session lives in the browser, so no record tells an instance that another one
//! refreshed; with a rotating provider, a request that reaches instance B with the
//! pre-refresh cookie (another tab, a parallel XHR) would spend a refresh token A already
//! spent, be refused, and log the user out. With a shared store (the one configured for
//! the back-channel denylist), each refresh token's refresh takes the store's lock keyed
//! by the token's SHA-256, and its outcome is kept there, sealed with the cookie key, for
//! the grace window: B adopts A's tokens and spends nothing.

use std::time::Duration;

use super::{Check, Outcome, Refresher, store_error};
use crate::client::TokenSet;
use crate::secret::RefreshToken;
use crate::session::{CookieCodec, TimedStore};
use crate::store::{SessionId, StoreError};

/// Largest sealed outcome kept.
const MAX_OUTCOME_BYTES: usize = 64 * 1024;

/// Where refresh outcomes of cookie sessions are shared.
#[derive(Clone)]
pub(super) struct Shared {
    store: TimedStore,
    codec: CookieCodec,
}

/// The store ids of one refresh token's lock and outcome, and the name its outcome is
/// sealed under (bound to the token's hash, so an outcome cannot be moved to another).
struct Keys {
    lock: SessionId,
    outcome: SessionId,
    name: String,
}

fn keys(hash: &[u8; 32]) -> Keys {
    let hex: String = hash.iter().map(|b| format!("{b:02x}")).collect();
    Keys {
        lock: SessionId::from_stored(format!("refresh-{hex}")),
        outcome: SessionId::from_stored(format!("refreshed-{hex}")),
        name: format!("refreshed:{hex}"),
    }
}

impl Shared {
    pub(super) fn new(store: TimedStore, codec: CookieCodec) -> Shared {
        Shared { store, codec }
    }

    /// The tokens another instance got for this refresh token, within the grace window.
    async fn adopt(&self, keys: &Keys) -> Result<Option<TokenSet>, StoreError> {
        let Some(sealed) = self.store.load(&keys.outcome).await? else {
            return Ok(None);
        };
        Ok(self
            .codec
            .open_compact::<TokenSet>(&keys.name, &sealed, MAX_OUTCOME_BYTES)
            .map(|opened| opened.value))
    }

    /// Spends `spent` once across instances: adopts an outcome another instance shared,
    /// or takes the lock (waiting, bounded, for a holder's outcome), refreshes and shares
    /// the new tokens for `refresher`'s grace window.
    pub(super) async fn refresh(
        &self,
        refresher: &Refresher,
        hash: &[u8; 32],
        spent: &RefreshToken,
        check: &Check,
    ) -> Outcome {
        let keys = keys(hash);
        if let Some(tokens) = self.adopt(&keys).await.map_err(store_error)? {
            return Ok(tokens);
        }
        let settled = || async { self.adopt(&keys).await.map_err(store_error) };
        let work = || async {
            if let Some(tokens) = self.adopt(&keys).await.map_err(store_error)? {
                return Ok(tokens);
            }
            let tokens = refresher.refresh_checked(spent, check).await?;
            self.share(&keys, &tokens, refresher.grace_secs).await;
            Ok(tokens)
        };
        refresher
            .under_lock(&self.store, &keys.lock, settled, work)
            .await
    }

    /// Keeps `tokens` for other instances for `grace_secs`. A failure is logged: this
    /// instance still uses them, and another falls back to its own handling.
    async fn share(&self, keys: &Keys, tokens: &TokenSet, grace_secs: u64) {
        let Some(sealed) = self
            .codec
            .seal_compact(&keys.name, tokens, MAX_OUTCOME_BYTES)
        else {
            tracing::warn!("refreshed tokens too large to share with other instances");
            return;
        };
        let ttl = Duration::from_secs(grace_secs.max(1));
        if let Err(e) = self.store.save(&keys.outcome, &sealed, &[], ttl).await {
            tracing::warn!(error = %e, "could not share refreshed tokens with other instances");
        }
    }

    /// At logout: takes the shared outcome of this refresh token out of the store and
    /// returns its tokens, for revocation.
    pub(super) async fn take(&self, hash: &[u8; 32]) -> Option<TokenSet> {
        let keys = keys(hash);
        let tokens = self.adopt(&keys).await.ok().flatten();
        if tokens.is_some()
            && let Err(e) = self.store.delete(&keys.outcome).await
        {
            tracing::warn!(error = %e, "could not delete a shared refresh outcome at logout");
        }
        tokens
    }
}
