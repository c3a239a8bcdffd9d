//! The second level of the user cache: answers shared by every instance through a store
//! (Redis, or any [`SessionStore`](crate::store::SessionStore)), so that a new token
//! costs one userinfo or introspection call across instances, not one per instance.
//!
//! Consulted on a local miss only (a hit never touches the store). Only users are
//! shared — never refusals, so a flood of random tokens is no flood of writes. One
//! instance at a time asks the provider for a token: it *claims* the token's name (the
//! store's lock: `SET NX` in Redis) and writes the answer before it lets go; the others
//! wait for that answer, polling, and ask themselves when the claim ends without one (a
//! refusal, an error) or when the wait is over. Logout claims the name for good
//! (until an entry would have expired) and replaces the entry with a tombstone: nobody
//! writes that token's user again, and every instance without a local copy asks the
//! provider, at once.
//!
//! How entries are named and sealed (an HMAC of the token under a sub-key of the cookie
//! key; AES-GCM under the cookie key, bound to that name) is the session layer's
//! business: this module sees only [`SharedAnswers`].

use std::time::Duration;

use serde::{Deserialize, Serialize};

use crate::secret::AccessToken;
use crate::store::{LockToken, StoreError};

/// How often a waiting instance looks for the claimant's answer.
const POLL: Duration = Duration::from_millis(20);

/// A user as the shared store keeps it: the provider's answer as compact JSON, the
/// scopes when the provider reported them, and until when it is fresh (clock seconds).
#[derive(Clone, Debug, Serialize, Deserialize)]
pub(crate) struct Kept {
    #[serde(rename = "u")]
    pub(crate) json: String,
    #[serde(rename = "s", default, skip_serializing_if = "Option::is_none")]
    pub(crate) scope: Option<String>,
    #[serde(rename = "t")]
    pub(crate) until: u64,
    /// Logged out: no user here, and none to be written (every instance asks the
    /// provider for itself, at once).
    #[serde(rename = "x", default, skip_serializing_if = "std::ops::Not::not")]
    pub(crate) gone: bool,
}

/// The shared store, as the user cache uses it: each call names a token, never a key.
#[async_trait::async_trait]
pub(crate) trait SharedAnswers: Send + Sync + std::fmt::Debug {
    /// The token's kept user, if one is there (and opens).
    async fn load(&self, token: &AccessToken) -> Result<Option<Kept>, StoreError>;
    /// Claims the token for `ttl`: `None` when another instance holds it.
    async fn claim(
        &self,
        token: &AccessToken,
        ttl: Duration,
    ) -> Result<Option<LockToken>, StoreError>;
    /// Ends a claim (only this claim).
    async fn release(&self, token: &AccessToken, claim: &LockToken) -> Result<(), StoreError>;
    /// Keeps `kept` for `ttl`.
    async fn save(&self, token: &AccessToken, kept: &Kept, ttl: Duration)
    -> Result<(), StoreError>;
}

/// What a local miss found in the shared store.
pub(crate) enum Turn {
    /// Another instance's answer.
    Found(Kept),
    /// This instance asks the provider, and shares a user it gets before `release`.
    Mine(LockToken),
    /// This instance asks the provider and keeps the answer to itself: the store is
    /// unreachable, or the claimant did not answer in time.
    Alone,
}

/// On a local miss: another instance's answer, or the claim (for `claim_ttl`) to ask
/// the provider, or (within `wait` at most) neither. Never an error: the shared store only saves calls.
pub(crate) async fn take_turn(
    shared: &dyn SharedAnswers,
    token: &AccessToken,
    now: impl Fn() -> u64,
    claim_ttl: Duration,
    wait: Duration,
) -> Turn {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match shared.load(token).await {
            Ok(Some(kept)) if kept.gone => return Turn::Alone,
            Ok(Some(kept)) if kept.until > now() => return Turn::Found(kept),
            Ok(_) => {}
            Err(e) => return unreachable_store(&e),
        }
        match shared.claim(token, claim_ttl).await {
            Ok(Some(claim)) => return Turn::Mine(claim),
            Ok(None) => {}
            Err(e) => return unreachable_store(&e),
        }
        if tokio::time::Instant::now() + POLL >= deadline {
            return Turn::Alone;
        }
        tokio::time::sleep(POLL).await;
    }
}

fn unreachable_store(e: &StoreError) -> Turn {
    tracing::warn!(error = %e, "shared user cache unavailable; asking the provider");
    Turn::Alone
}

/// After logout: claims the token's name until its entries would have expired (`ttl`;
/// waiting out an instance that is asking the provider right now, within `wait`), and
/// replaces its kept user with a tombstone. No instance writes it again; each asks the
/// provider, at once.
pub(crate) async fn bury(
    shared: &dyn SharedAnswers,
    token: &AccessToken,
    ttl: Duration,
    wait: Duration,
) {
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        match shared.claim(token, ttl).await {
            Ok(Some(_kept_until_it_expires)) => break,
            Ok(None) if tokio::time::Instant::now() + POLL < deadline => {
                tokio::time::sleep(POLL).await;
            }
            Ok(None) => break,
            Err(e) => {
                tracing::warn!(error = %e, "shared user cache unavailable at logout");
                break;
            }
        }
    }
    let tombstone = Kept {
        json: String::new(),
        scope: None,
        until: 0,
        gone: true,
    };
    if let Err(e) = shared.save(token, &tombstone, ttl).await {
        tracing::warn!(error = %e, "could not delete a logged-out token's shared user");
    }
}
