//! Refreshing a session (or connected account) held in a server-side store: coordinated
//! with other instances, and never undoing a delete.
//!
//! The record is re-read before the refresh token is spent (another instance may have
//! refreshed, or the user logged out) and the new tokens are written with a
//! compare-and-set against what was read. A record deleted meanwhile stays deleted: the
//! refresh reports [`Refusal::Deleted`] and revokes what it got. A record another write
//! changed meanwhile (an idle renewal) is read again and the tokens written onto it.

use std::sync::Arc;
use std::time::Duration;

use super::{Outcome, Refresher, Refusal, store_error};
use crate::client::TokenSet;
use crate::secret::RefreshToken;
use crate::session::{SessionConfig, SessionData, TimedStore};

/// What a refresh of a store-held session needs to coordinate through the store.
pub(super) struct Persist {
    pub(super) config: Arc<SessionConfig>,
    pub(super) store: TimedStore,
    pub(super) data: Arc<SessionData>,
}

/// The record now, against the session a refresh started from.
enum Record {
    /// Deleted (or ended): the session is over.
    Gone,
    /// Another instance refreshed: its tokens.
    Moved(TokenSet),
    /// Still the tokens the refresh started from: the record as sealed, and opened.
    Same(String, Arc<SessionData>),
}

/// How often a write is retried when another write (a renewal) changed the record.
const WRITE_ATTEMPTS: usize = 4;

async fn reread(persist: &Persist) -> Result<Record, Arc<Refusal>> {
    let Persist {
        config,
        store,
        data,
    } = persist;
    let Some(stored) = config
        .read_record(store, &data.id, false)
        .await
        .map_err(store_error)?
    else {
        return Ok(Record::Gone);
    };
    let now = stored.loaded.data;
    if now.tokens.access_token().secret() != data.tokens.access_token().secret() {
        return Ok(Record::Moved(now.tokens.clone()));
    }
    Ok(Record::Same(stored.sealed, now))
}

impl Refresher {
    /// Refreshes a store-held session, coordinated with other instances. With a locking
    /// store, the session's lock is taken first (waiting, bounded, while another
    /// instance holds it, and adopting the tokens it saves); the holder re-reads the
    /// record, refreshes, saves over what it read and releases the lock. Without a lock,
    /// the record is re-read first, and a refused refresh reloads it once more and adopts
    /// tokens another instance saved, before giving up.
    pub(super) async fn refresh_stored(&self, spent: &RefreshToken, persist: Persist) -> Outcome {
        if !persist.store.locks() {
            let read = match reread(&persist).await? {
                Record::Gone => return Err(Arc::new(Refusal::Deleted)),
                Record::Moved(tokens) => return Ok(tokens),
                Record::Same(sealed, current) => (sealed, current),
            };
            return match self.client.refresh(spent).await {
                Ok(tokens) => self.save_refreshed(&persist, read, tokens).await,
                Err(e) if e.is_invalid_grant() => match reread(&persist).await? {
                    Record::Moved(tokens) => Ok(tokens),
                    _ => Err(Arc::new(e.into())),
                },
                Err(e) => Err(Arc::new(e.into())),
            };
        }
        // Another instance is refreshing: its tokens will appear in the record.
        let settled = || async {
            match reread(&persist).await? {
                Record::Gone => Err(Arc::new(Refusal::Deleted)),
                Record::Moved(tokens) => Ok(Some(tokens)),
                Record::Same(..) => Ok(None),
            }
        };
        let work = || async {
            // Refreshed by another instance, or logged out, just before the lock was ours?
            let read = match reread(&persist).await? {
                Record::Gone => return Err(Arc::new(Refusal::Deleted)),
                Record::Moved(tokens) => return Ok(tokens),
                Record::Same(sealed, current) => (sealed, current),
            };
            let tokens = self
                .client
                .refresh(spent)
                .await
                .map_err(|e| Arc::new(e.into()))?;
            self.save_refreshed(&persist, read, tokens).await
        };
        self.under_lock(&persist.store, &persist.data.id, settled, work)
            .await
    }

    /// How long the refresh lock is held at most: longer than everything its holder may
    /// wait for — the re-read and the write (store timeouts), the token request, the
    /// id_token's keys and a revocation (HTTP timeouts) — so it does not lapse under a
    /// slow but live holder; a holder that dies leaves it to expire.
    pub(super) fn lock_ttl(&self, store: &TimedStore) -> Duration {
        let store_calls = u32::try_from(2 + 2 * WRITE_ATTEMPTS).unwrap_or(u32::MAX);
        self.client.timeout() * 3 + store.timeout() * store_calls + Duration::from_secs(1)
    }

    /// Saves the refreshed tokens over the record `read`, so other instances read them.
    /// A record deleted since stays deleted (the tokens are revoked); one another write
    /// changed is read again and the tokens written onto it.
    async fn save_refreshed(
        &self,
        persist: &Persist,
        (mut sealed, mut current): (String, Arc<SessionData>),
        tokens: TokenSet,
    ) -> Outcome {
        let Persist { config, store, .. } = persist;
        let check = super::Check {
            previous: current.tokens.clone(),
            sub: current.sub.clone(),
        };
        let mut tokens = self.check_id_token(tokens, &check).await?;
        tokens.inherit_omitted(&current.tokens);
        for _ in 0..WRITE_ATTEMPTS {
            let next = current.refreshed(tokens.clone(), self.clock.now());
            match config.replace_record(store, &sealed, &next).await {
                Ok(true) => return Ok(tokens),
                Ok(false) => {}
                Err(e) => {
                    // The tokens are spent and new: use them here; other instances may
                    // not see them.
                    tracing::error!(error = %e, "could not save refreshed tokens in the session store");
                    return Ok(tokens);
                }
            }
            match reread(persist).await {
                Ok(Record::Same(s, c)) => (sealed, current) = (s, c),
                Ok(Record::Gone) => {
                    tracing::info!(
                        "the session ended while its tokens were refreshed; revoking the new ones"
                    );
                    self.revoke(&tokens).await;
                    return Err(Arc::new(Refusal::Deleted));
                }
                Ok(Record::Moved(theirs)) => {
                    // Two refreshes without a lock: keep the saved one, revoke ours.
                    self.revoke(&tokens).await;
                    return Ok(theirs);
                }
                Err(e) => return Err(e),
            }
        }
        tracing::warn!("the session record kept changing; refreshed tokens not saved");
        Ok(tokens)
    }
}
