//! The user cache's shared level ([`SharedAnswers`]) on a session store: each token's
//! user under the name [`Name::User`] gives it — an HMAC of the token under the names'
//! sub-key of the cookie key, bound to the client, so the store never holds a token or
//! a name computable from one — sealed like sessions (AES-GCM under the cookie key, the
//! name as associated data: an entry moved to another token's name does not open). A
//! key rotation makes the entries of the old key unreadable: misses, asked again.

use std::time::Duration;

use super::{CookieCodec, Name, TimedStore};
use crate::secret::AccessToken;
use crate::store::{LockToken, SessionId, StoreError};
use crate::users::{Kept, SharedAnswers};

/// The largest sealed user read back (the userinfo answers the client accepts are
/// smaller).
const MAX_SEALED: usize = 256 * 1024;

/// Users shared through `store`, named and sealed with `codec`.
#[derive(Debug)]
pub(crate) struct SharedUsers {
    store: TimedStore,
    codec: CookieCodec,
}

impl SharedUsers {
    pub(crate) fn new(store: TimedStore, codec: CookieCodec) -> Self {
        SharedUsers { store, codec }
    }

    fn id(&self, token: &AccessToken) -> SessionId {
        SessionId::from_stored(self.codec.names().current(Name::User(token.secret())))
    }
}

#[async_trait::async_trait]
impl SharedAnswers for SharedUsers {
    async fn load(&self, token: &AccessToken) -> Result<Option<Kept>, StoreError> {
        let id = self.id(token);
        let Some(sealed) = self.store.load(&id).await? else {
            return Ok(None);
        };
        Ok(self
            .codec
            .open_within(id.as_str(), &sealed, MAX_SEALED)
            .filter(|opened| !opened.old_key)
            .map(|opened| opened.value))
    }

    async fn claim(
        &self,
        token: &AccessToken,
        ttl: Duration,
    ) -> Result<Option<LockToken>, StoreError> {
        if !self.store.locks() {
            // A store without locks (tower-sessions): every instance asks for itself.
            return Ok(Some(LockToken::random()));
        }
        self.store.lock(&self.id(token), ttl).await
    }

    async fn release(&self, token: &AccessToken, claim: &LockToken) -> Result<(), StoreError> {
        if !self.store.locks() {
            return Ok(());
        }
        self.store.unlock(&self.id(token), claim).await
    }

    async fn save(
        &self,
        token: &AccessToken,
        kept: &Kept,
        ttl: Duration,
    ) -> Result<(), StoreError> {
        let id = self.id(token);
        let Some(sealed) = self.codec.seal_within(id.as_str(), kept, MAX_SEALED) else {
            return Ok(()); // Too large to share: kept locally only.
        };
        self.store.save(&id, &sealed, &[], ttl).await
    }
}
