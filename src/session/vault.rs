//! The token vault: token sets kept under an app-chosen account id, in a server-side
//! store, sealed at rest, independent of any browser session. A record is a
//! [`SessionData`] with `account` set, so it is refreshed exactly like a store-held
//! session: single-flight in the process, under the store's lock across instances.

use std::sync::Arc;
use std::time::Duration;

use sha2::{Digest as _, Sha256};

use super::refresh::Freshness;
use super::{Backend, CookieCodec, Refresher, SessionConfig, SessionData, TimedStore};
use crate::client::{OAuthClient, TokenSet};
use crate::clock::Clock;
use crate::secret::AccessToken;
use crate::store::{SessionId, StoreError};

/// The lookup key every vault record is saved under, for listing.
pub(crate) const LIST_KEY: &str = "vault:accounts";

/// How long a connection lives without a refresh or a new connect: ten years (Apicbase
/// refresh tokens never expire; vcita access tokens live twenty years).
const CONNECTION_LIFETIME_SECS: u64 = 3650 * 24 * 3600;

/// Why the vault could not hand out usable tokens.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum VaultError {
    #[error("no connection for this account")]
    NotConnected,
    #[error("the connection ended: the provider refused its refresh token; connect again")]
    Ended,
    #[error("the provider cannot refresh the connection's tokens right now")]
    Unavailable,
    #[error(transparent)]
    Store(#[from] StoreError),
}

/// Connected accounts of one client in one store.
pub(crate) struct Vault {
    config: Arc<SessionConfig>,
    store: TimedStore,
    /// The client's id and token URL: account ids of two clients sharing a store differ.
    context: String,
    clock: Clock,
}

impl std::fmt::Debug for Vault {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Vault")
            .field("store", &self.store)
            .finish_non_exhaustive()
    }
}

impl Vault {
    pub(crate) fn new(
        client: &OAuthClient,
        codec: CookieCodec,
        store: TimedStore,
        clock: Clock,
        (skew, grace): (Duration, Duration),
    ) -> Vault {
        let refresher = Refresher::new(client.clone(), skew, grace, clock.clone());
        let config = SessionConfig::new(
            codec,
            "oauth_vault".to_owned(),
            (CONNECTION_LIFETIME_SECS, None),
            clock.clone(),
            Backend::Store(store.clone()),
            refresher,
        );
        Vault {
            config: Arc::new(config),
            store,
            context: client.context(),
            clock,
        }
    }

    /// The record id of `account`: a hash, so ids never reveal the account and never
    /// collide with session ids (random base64) or another client's accounts.
    fn id(&self, account: &str) -> SessionId {
        let digest = Sha256::digest(format!("{}\n{account}", self.context).as_bytes());
        let hex: String = digest.iter().map(|b| format!("{b:02x}")).collect();
        SessionId::from_stored(format!("acct-{hex}"))
    }

    /// The connection of `account`, as stored.
    pub(crate) async fn load(&self, account: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        let id = self.id(account);
        Ok(self
            .config
            .load_record(&self.store, &id, false)
            .await?
            .map(|loaded| loaded.data)
            .filter(|data| data.account.as_deref() == Some(account)))
    }

    /// Keeps `tokens` for `account`, replacing what was there. Returns the replaced
    /// connection, for revocation.
    pub(crate) async fn save(
        &self,
        account: &str,
        tokens: TokenSet,
    ) -> Result<Option<SessionData>, StoreError> {
        // Taken, not read: a refresh of the previous connection that saves meanwhile finds
        // it gone and revokes its own tokens; one that saved before is in what is taken.
        let previous = self.delete(account).await?;
        let now = self.clock.now();
        let mut data = SessionData::start(
            tokens,
            super::LoginUser::None,
            None,
            now,
            CONNECTION_LIFETIME_SECS,
        );
        data.id = self.id(account);
        data.account = Some(account.to_owned());
        self.config.save_record(&self.store, &data).await?;
        Ok(previous)
    }

    /// Forgets `account`'s connection; returns it as it was, for revocation.
    pub(crate) async fn delete(&self, account: &str) -> Result<Option<SessionData>, StoreError> {
        // Taken in one step: tokens a refresh saved just before are the ones revoked, and
        // a refresh that saves after finds the record gone (and revokes its own).
        let id = self.id(account);
        let taken = self.store.take(&id).await?;
        Ok(taken
            .and_then(|record| self.config.open_record(&id, &record))
            .filter(|data| data.account.as_deref() == Some(account)))
    }

    /// Every connection in the store, in no particular order.
    pub(crate) async fn list(&self) -> Result<Vec<Arc<SessionData>>, StoreError> {
        let ids = self.store.find(LIST_KEY).await?;
        let mut out = Vec::with_capacity(ids.len());
        for id in ids {
            if let Some(loaded) = self.config.load_record(&self.store, &id, false).await?
                && loaded.data.account.is_some()
            {
                out.push(loaded.data);
            }
        }
        Ok(out)
    }

    /// `account`'s tokens, refreshed first when due (under the store's lock).
    pub(crate) async fn fresh(&self, account: &str) -> Result<Arc<SessionData>, VaultError> {
        let data = self.load(account).await?.ok_or(VaultError::NotConnected)?;
        let renewed = self
            .config
            .refresher()
            .ensure_fresh(data, &self.config)
            .await;
        self.settle(account, renewed).await
    }

    /// After the provider refused `stale`: `account`'s tokens refreshed now, or the
    /// current ones when another caller already replaced `stale`.
    pub(crate) async fn refresh_now(
        &self,
        account: &str,
        stale: &AccessToken,
    ) -> Result<Arc<SessionData>, VaultError> {
        let data = self.load(account).await?.ok_or(VaultError::NotConnected)?;
        if data.tokens.access_token().secret() != stale.secret() {
            return Ok(data);
        }
        let renewed = self
            .config
            .refresher()
            .refresh_now(data, &self.config)
            .await;
        self.settle(account, renewed).await
    }

    async fn settle(
        &self,
        account: &str,
        renewed: Freshness,
    ) -> Result<Arc<SessionData>, VaultError> {
        match renewed {
            Freshness::Current(data) => Ok(data),
            // The refresh saved the record already (the store-coordinated path).
            Freshness::Refreshed(next) => Ok(Arc::from(next)),
            Freshness::Ended => {
                tracing::warn!("a connected account's refresh was refused; disconnecting it");
                if let Err(e) = self.store.delete(&self.id(account)).await {
                    tracing::warn!(error = %e, "could not delete the ended connection");
                }
                Err(VaultError::Ended)
            }
            Freshness::Unavailable => Err(VaultError::Unavailable),
        }
    }
}
