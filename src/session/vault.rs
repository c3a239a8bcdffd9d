//! The token vault: token sets kept under an app-chosen account id, in a server-side
//! store, sealed at rest, independent of any browser session. A record is a
//! [`SessionData`] with `account` set, so it is refreshed exactly like a store-held
//! session: single-flight in the process, under the store's lock across instances.

use std::sync::Arc;
use std::time::Duration;

use super::refresh::Freshness;
use super::{Backend, CookieCodec, Name, Refresher, SessionConfig, SessionData, TimedStore};
use crate::client::{OAuthClient, TokenRef, TokenSet};
use crate::clock::Clock;
use crate::secret::AccessToken;
use crate::store::{SessionId, StoreError};

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
            clock,
        }
    }

    /// The record id of `account`: a MAC under the cookie key (the client's store names),
    /// so ids never reveal the account, nobody else can compute them, and they never
    /// collide with session ids (random base64) or another client's accounts.
    fn id(&self, account: &str) -> SessionId {
        SessionId::from_stored(self.config.codec.names().current(Name::Account(account)))
    }

    /// The ids `account`'s record may still have from before: under a previous cookie
    /// key's name, or 0.2's unkeyed one.
    fn old_ids(&self, account: &str) -> impl Iterator<Item = SessionId> {
        let names = self.config.codec.names().every(Name::Account(account));
        names.into_iter().skip(1).map(SessionId::from_stored)
    }

    /// The connection of `account`, as stored; one found under an old name is moved to
    /// the current one first ([`rename`](Self::rename)).
    pub(crate) async fn load(&self, account: &str) -> Result<Option<Arc<SessionData>>, StoreError> {
        let id = self.id(account);
        let found = self.config.load_record(&self.store, &id, false).await?;
        if let Some(found) = found {
            return Ok(Some(found.data).filter(|data| data.account.as_deref() == Some(account)));
        }
        for old in self.old_ids(account) {
            if let Some(sealed) = self.store.load(&old).await? {
                return self.rename(account, &old, &sealed).await;
            }
        }
        Ok(None)
    }

    /// Keeps `tokens` for `account`, replacing what was there. Returns the replaced
    /// connection (and any left under an old name), for revocation.
    pub(crate) async fn save(
        &self,
        account: &str,
        tokens: TokenSet,
    ) -> Result<Vec<SessionData>, StoreError> {
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

    /// Moves `account`'s record `sealed`, found under the old id `old`, to its current id
    /// (listed under the current list key): saved there first, then taken from the old
    /// id, so two requests moving it at once both leave the connection in place. Tokens
    /// written under the old id in between (a 0.2 instance's refresh) are carried over.
    /// Not closed: a disconnect whose two takes (current id, then old) straddle this
    /// save — one store round trip, once per account and key — leaves the moved record
    /// behind, holding the tokens that disconnect revoked (stores have no
    /// create-if-absent); its next refresh is then refused and ends it.
    async fn rename(
        &self,
        account: &str,
        old: &SessionId,
        sealed: &str,
    ) -> Result<Option<Arc<SessionData>>, StoreError> {
        let id = self.id(account);
        let Some(moved) = self.opened(account, old, sealed, &id) else {
            return Ok(None);
        };
        let (record, ttl) = self.config.seal_record(&moved)?;
        let lookup = self.config.lookup_keys(&moved);
        self.store.save(&id, &record, &lookup, ttl).await?;
        if let Some(taken) = self.store.take(old).await?
            && taken != sealed
            && let Some(newer) = self.opened(account, old, &taken, &id)
        {
            self.config
                .replace_record(&self.store, &record, &newer)
                .await?;
        }
        tracing::info!("a connected account's record moved to its keyed store name");
        Ok(self
            .config
            .load_record(&self.store, &id, false)
            .await?
            .map(|loaded| loaded.data)
            .filter(|data| data.account.as_deref() == Some(account)))
    }

    /// `account`'s record as sealed under `old`, opened and given the id `id`.
    fn opened(
        &self,
        account: &str,
        old: &SessionId,
        sealed: &str,
        id: &SessionId,
    ) -> Option<SessionData> {
        let mut data = self.config.open_record(old, sealed)?;
        if data.account.as_deref() != Some(account) {
            return None;
        }
        data.id = id.clone();
        Some(data)
    }

    /// Forgets `account`'s connection; returns it as it was, for revocation (more than
    /// one record only when one was also left under an old name).
    pub(crate) async fn delete(&self, account: &str) -> Result<Vec<SessionData>, StoreError> {
        // Taken in one step: tokens a refresh saved just before are the ones revoked, and
        // a refresh that saves after finds the record gone (and revokes its own). The
        // current id first: a record being moved is saved there before it leaves the old.
        let mut taken = Vec::new();
        for id in std::iter::once(self.id(account)).chain(self.old_ids(account)) {
            if let Some(record) = self.store.take(&id).await?
                && let Some(data) = self.config.open_record(&id, &record)
                && data.account.as_deref() == Some(account)
            {
                taken.push(data);
            }
        }
        Ok(taken)
    }

    /// Every connection in the store, in no particular order. Those still listed under
    /// an old list key (a previous cookie key's, or 0.2's) are moved to their current
    /// names on the way.
    pub(crate) async fn list(&self) -> Result<Vec<Arc<SessionData>>, StoreError> {
        let keys = self.config.codec.names().every(Name::Accounts);
        let mut seen = std::collections::HashSet::new();
        let mut out = Vec::new();
        for (i, key) in keys.iter().enumerate() {
            for id in self.store.find(key).await? {
                let data = if i == 0 {
                    self.config
                        .load_record(&self.store, &id, false)
                        .await?
                        .map(|loaded| loaded.data)
                } else {
                    self.listed_before(&id).await?
                };
                if let Some(data) = data
                    && let Some(account) = &data.account
                    && seen.insert(account.clone())
                {
                    out.push(data);
                }
            }
        }
        Ok(out)
    }

    /// The connection of a record listed under an old list key (another client's, in
    /// 0.2's list shared by all clients, does not open: skipped).
    async fn listed_before(&self, id: &SessionId) -> Result<Option<Arc<SessionData>>, StoreError> {
        let Some(sealed) = self.store.load(id).await? else {
            return Ok(None);
        };
        match self.config.open_record(id, &sealed).and_then(|d| d.account) {
            Some(account) => self.load(&account).await,
            None => Ok(None),
        }
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

/// Revokes an ended connection's tokens — its refresh and access tokens, and the access
/// tokens its refreshes superseded that may still be live — bounded by one HTTP timeout.
pub(crate) async fn revoke(client: &OAuthClient, ended: &SessionData) {
    let tokens = &ended.tokens;
    let now = client.clock().now();
    let targets = tokens
        .refresh_token()
        .map(TokenRef::Refresh)
        .into_iter()
        .chain([TokenRef::Access(tokens.access_token())])
        .chain(
            ended
                .retired
                .iter()
                .filter(|r| r.until > now)
                .map(|r| TokenRef::Access(&r.token)),
        )
        .collect();
    client.revoke_all(targets).await;
}

/// Keeps `tokens` for `account` in `vault`, revoking the tokens they replace: the one
/// way a connection is saved, by `Connections::save` and by the callback of a connect
/// flow.
pub(crate) async fn keep(
    client: &OAuthClient,
    vault: &Vault,
    account: &str,
    tokens: TokenSet,
) -> Result<(), StoreError> {
    for previous in vault.save(account, tokens.clone()).await? {
        if previous.tokens.access_token().secret() != tokens.access_token().secret() {
            revoke(client, &previous).await;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::session::CookieKey;
    use crate::store::{MemoryStore, SessionStore};

    fn client() -> OAuthClient {
        OAuthClient::builder(crate::provider::Provider::vcita(), "id", "secret")
            .redirect_uri("http://127.0.0.1/cb")
            .build()
            .unwrap()
    }

    fn vault(key: &CookieKey, store: &Arc<dyn SessionStore>) -> Vault {
        let client = client();
        let codec = CookieCodec::new(key.clone(), false, client.context());
        let store = TimedStore::new(store.clone(), Duration::from_secs(5));
        let lifetimes = (Duration::from_secs(60), Duration::from_secs(60));
        Vault::new(&client, codec, store, Clock::manual(1000), lifetimes)
    }

    /// Every store the vault's records reach here: memory, and tower-sessions (SQLite).
    async fn stores() -> Vec<(&'static str, Arc<dyn SessionStore>)> {
        #[allow(unused_mut)]
        let mut stores: Vec<(&'static str, Arc<dyn SessionStore>)> =
            vec![("memory", Arc::new(MemoryStore::new(100)))];
        #[cfg(feature = "tower-sessions")]
        {
            use tower_sessions_sqlx_store::{SqliteStore, sqlx::SqlitePool};
            let pool = SqlitePool::connect("sqlite::memory:").await.unwrap();
            let sqlite = SqliteStore::new(pool);
            sqlite.migrate().await.unwrap();
            stores.push((
                "sqlite",
                Arc::new(crate::store::TowerSessionsStore::new(sqlite)),
            ));
        }
        stores
    }

    fn tokens(access: &str) -> TokenSet {
        TokenSet::bearer(AccessToken::new(access))
    }

    async fn connected(vault: &Vault, account: &str) -> Option<String> {
        let data = vault.load(account).await.unwrap()?;
        Some(data.tokens.access_token().secret().to_owned())
    }

    async fn listed(vault: &Vault) -> Vec<String> {
        let mut accounts: Vec<String> = (vault.list().await.unwrap().iter())
            .filter_map(|data| data.account.clone())
            .collect();
        accounts.sort();
        accounts
    }

    /// Records are named under the current cookie key; after a rotation, connections
    /// saved under the previous key are found (by id and through the list) and moved.
    #[tokio::test]
    async fn connections_survive_a_cookie_key_rotation() {
        for (kind, store) in stores().await {
            let old = CookieKey::generate();
            let before = vault(&old, &store);
            before.save("a", tokens("t-a")).await.unwrap();
            before.save("b", tokens("t-b")).await.unwrap();
            let rotated = CookieKey::generate().with_previous(old);
            let after = vault(&rotated, &store);
            assert_ne!(before.id("a").as_str(), after.id("a").as_str());

            assert_eq!(
                connected(&after, "a").await.as_deref(),
                Some("t-a"),
                "{kind}"
            );
            assert_eq!(
                listed(&after).await,
                ["a", "b"],
                "{kind}: b through the old list"
            );
            for account in ["a", "b"] {
                let (old_id, new_id) = (before.id(account), after.id(account));
                assert!(
                    store.load(&old_id).await.unwrap().is_none(),
                    "{kind}: moved"
                );
                assert!(store.load(&new_id).await.unwrap().is_some(), "{kind}");
            }
            assert_eq!(listed(&after).await, ["a", "b"], "{kind}");
            assert_eq!(after.delete("a").await.unwrap().len(), 1, "{kind}");
            assert_eq!(connected(&after, "a").await, None, "{kind}");
            assert_eq!(listed(&after).await, ["b"], "{kind}");
        }
    }

    /// 0.2 named records by a plain SHA-256 of the client context and the account, and
    /// listed them under `vault:accounts`: such connections are found and moved.
    #[tokio::test]
    async fn connections_saved_by_0_2_are_found_and_moved() {
        use sha2::{Digest as _, Sha256};
        for (kind, store) in stores().await {
            let key = CookieKey::generate();
            let vault = vault(&key, &store);
            // What 0.2 wrote: its id and list key, the record sealed as it still is.
            let save_02 = async |account: &str, access: &str| {
                let context = format!("{}\n{account}", client().context());
                let hex: String = (Sha256::digest(context.as_bytes()).iter())
                    .map(|b| format!("{b:02x}"))
                    .collect();
                let id = SessionId::from_stored(format!("acct-{hex}"));
                let mut data = SessionData::start(
                    tokens(access),
                    super::super::LoginUser::None,
                    None,
                    1000,
                    3600,
                );
                data.id = id.clone();
                data.account = Some(account.to_owned());
                let (record, ttl) = vault.config.seal_record(&data).unwrap();
                let list = ["vault:accounts".to_owned()];
                store.save(&id, &record, &list, ttl).await.unwrap();
                id
            };
            let a = save_02("a", "t-a").await;
            let b = save_02("b", "t-b").await;

            assert_eq!(
                connected(&vault, "a").await.as_deref(),
                Some("t-a"),
                "{kind}"
            );
            assert_eq!(listed(&vault).await, ["a", "b"], "{kind}");
            for id in [a, b] {
                assert!(store.load(&id).await.unwrap().is_none(), "{kind}: moved");
            }
            let left = store.find("vault:accounts").await.unwrap();
            assert!(left.is_empty(), "{kind}: out of 0.2's list");
            assert_eq!(
                connected(&vault, "b").await.as_deref(),
                Some("t-b"),
                "{kind}"
            );
            assert_eq!(vault.delete("b").await.unwrap().len(), 1, "{kind}");
            assert_eq!(listed(&vault).await, ["a"], "{kind}");

            // A 0.2 instance refreshed the record after this one loaded it: the move
            // carries the newer tokens over.
            let c = save_02("c", "t-c-old").await;
            let stale = store.load(&c).await.unwrap().unwrap();
            save_02("c", "t-c-new").await;
            vault.rename("c", &c, &stale).await.unwrap();
            assert_eq!(
                connected(&vault, "c").await.as_deref(),
                Some("t-c-new"),
                "{kind}"
            );
            assert!(store.load(&c).await.unwrap().is_none(), "{kind}");
            assert_eq!(listed(&vault).await, ["a", "c"], "{kind}");
        }
    }
}
