//! [`RedisStore`]: sessions in Redis, shared by every instance of the app.

use std::sync::Arc;
use std::time::Duration;

use redis::AsyncCommands as _;
use redis::aio::{ConnectionManager, ConnectionManagerConfig};

use super::{LockToken, SessionId, SessionStore, StoreError};

/// Sessions in Redis (feature `redis`), through a connection manager that reconnects by
/// itself: while Redis is down, requests that need a session answer `503`; when it is
/// back, they succeed again without a restart.
///
/// * a record is `SET {prefix}session:{id} <sealed> PX <ttl>`, the TTL following the
///   session's idle and absolute timeouts;
/// * the refresh lock is `SET {prefix}lock:{id} <token> NX PX <ttl>`, released only by
///   its holder (a compare-and-delete script), so two instances never spend one refresh
///   token twice;
/// * lookups (`sub` / `sid` hashes) are sets `{prefix}index:{key}`; `{prefix}lookup:{id}`
///   remembers which sets name a session, so a delete (or a save with other keys) takes
///   the id out of them, and expired ids leave as the sets are read;
/// * every write after a load is a compare-and-set script, and logout's `take` deletes
///   and returns the record in one script: a refresh never brings a logged-out session
///   back.
///
/// ```no_run
/// # async fn run() -> Result<(), Box<dyn std::error::Error>> {
/// use axum_oauth_login::{OAuth, Provider, store::RedisStore};
/// let store = RedisStore::open("redis://127.0.0.1:6379/")?;
/// let oauth = OAuth::builder(Provider::vcita(), "id", "secret")
///     .redirect_uri("https://app.example.com/auth/callback")
///     .cookie_key(axum_oauth_login::CookieKey::from_base64(&std::env::var("OAUTH_COOKIE_KEY")?)?)
///     .session_store(store)
///     .build()?;
/// # let _ = oauth; Ok(()) }
/// ```
#[derive(Clone)]
pub struct RedisStore {
    connection: ConnectionManager,
    prefix: Arc<str>,
}

impl std::fmt::Debug for RedisStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The URL may carry a password: not printed.
        f.debug_struct("RedisStore")
            .field("prefix", &self.prefix)
            .finish_non_exhaustive()
    }
}

/// Saves a record (`KEYS[1]`) and files its id (`ARGV[3]`) in each lookup set
/// (`KEYS[3..]`), whose TTL only ever grows; `KEYS[2]` remembers which sets name the id,
/// so that a save with other keys and a delete take it out of the sets it left. With
/// `ARGV[4]`, only if the record is still that (what was loaded): a refresh or a renewal
/// that loaded the record before a logout deleted it cannot bring it back. (`SET XX`
/// would only check that some record exists, not that it is the one loaded.)
const SAVE: &str = r"
if ARGV[4] and redis.call('GET', KEYS[1]) ~= ARGV[4] then
  return 0
end
redis.call('SET', KEYS[1], ARGV[1], 'PX', ARGV[2])
local keep = {}
for i = 3, #KEYS do keep[KEYS[i]] = true end
for _, old in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  if not keep[old] then redis.call('SREM', old, ARGV[3]) end
end
redis.call('DEL', KEYS[2])
for i = 3, #KEYS do
  redis.call('SADD', KEYS[i], ARGV[3])
  redis.call('SADD', KEYS[2], KEYS[i])
  if redis.call('PTTL', KEYS[i]) < tonumber(ARGV[2]) then
    redis.call('PEXPIRE', KEYS[i], ARGV[2])
  end
end
if #KEYS > 2 then redis.call('PEXPIRE', KEYS[2], ARGV[2]) end
return 1";

/// Deletes a record (`KEYS[1]`) and takes its id (`ARGV[1]`) out of the lookup sets
/// `KEYS[2]` names; returns the record as it was.
const DELETE: &str = r"
local record = redis.call('GET', KEYS[1])
for _, index in ipairs(redis.call('SMEMBERS', KEYS[2])) do
  redis.call('SREM', index, ARGV[1])
end
redis.call('DEL', KEYS[1], KEYS[2])
return record";

/// Deletes the lock only if `token` still holds it.
const UNLOCK: &str = r"
if redis.call('GET', KEYS[1]) == ARGV[1] then
  return redis.call('DEL', KEYS[1])
end
return 0";

impl RedisStore {
    /// A store on the Redis server at `url` (`redis://` or `rediss://`). Connects lazily:
    /// an app starts even while Redis is down, and answers `503` until it is up.
    pub fn open(url: &str) -> Result<RedisStore, StoreError> {
        // Never echo the URL: it may hold a password.
        let client = redis::Client::open(url)
            .map_err(|e| StoreError::new("open", format!("invalid Redis URL ({:?})", e.kind())))?;
        let config = ConnectionManagerConfig::new()
            .set_connection_timeout(Some(Duration::from_secs(2)))
            .set_response_timeout(Some(Duration::from_secs(2)))
            .set_number_of_retries(1)
            .set_max_delay(Duration::from_millis(500));
        let connection = ConnectionManager::new_lazy_with_config(client, config)
            .map_err(|e| StoreError::new("open", format!("{:?}", e.kind())))?;
        Ok(RedisStore {
            connection,
            prefix: "axum-oauth-login:".into(),
        })
    }

    /// Prefixes every key (default `axum-oauth-login:`), e.g. per app sharing a server.
    pub fn with_prefix(mut self, prefix: impl Into<String>) -> RedisStore {
        self.prefix = prefix.into().into();
        self
    }

    fn key(&self, kind: &str, name: &str) -> String {
        format!("{}{kind}:{name}", self.prefix)
    }
}

impl RedisStore {
    /// [`SAVE`], compared against `expected` when given: whether it wrote.
    async fn write(
        &self,
        id: &SessionId,
        expected: Option<&str>,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        let mut c = self.connection.clone();
        let script = redis::Script::new(SAVE);
        let mut invocation = script.key(self.key("session", id.as_str()));
        invocation.key(self.key("lookup", id.as_str()));
        for key in lookup {
            invocation.key(self.key("index", key));
        }
        invocation.arg(record).arg(millis(ttl)).arg(id.as_str());
        if let Some(expected) = expected {
            invocation.arg(expected);
        }
        invocation
            .invoke_async::<i64>(&mut c)
            .await
            .map(|saved| saved == 1)
            .map_err(failed("save"))
    }
}

fn failed(operation: &'static str) -> impl Fn(redis::RedisError) -> StoreError {
    move |e| StoreError::new(operation, format!("{:?}", e.kind()))
}

fn millis(ttl: Duration) -> u64 {
    u64::try_from(ttl.as_millis()).unwrap_or(u64::MAX).max(1)
}

#[async_trait::async_trait]
impl SessionStore for RedisStore {
    async fn load(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let mut c = self.connection.clone();
        c.get(self.key("session", id.as_str()))
            .await
            .map_err(failed("load"))
    }

    async fn save(
        &self,
        id: &SessionId,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<(), StoreError> {
        self.write(id, None, record, lookup, ttl).await.map(drop)
    }

    async fn save_if_unchanged(
        &self,
        id: &SessionId,
        expected: &str,
        record: &str,
        lookup: &[String],
        ttl: Duration,
    ) -> Result<bool, StoreError> {
        self.write(id, Some(expected), record, lookup, ttl).await
    }

    async fn delete(&self, id: &SessionId) -> Result<(), StoreError> {
        self.take(id).await.map(drop)
    }

    async fn take(&self, id: &SessionId) -> Result<Option<String>, StoreError> {
        let mut c = self.connection.clone();
        redis::Script::new(DELETE)
            .key(self.key("session", id.as_str()))
            .key(self.key("lookup", id.as_str()))
            .arg(id.as_str())
            .invoke_async(&mut c)
            .await
            .map_err(failed("delete"))
    }

    async fn lock(&self, id: &SessionId, ttl: Duration) -> Result<Option<LockToken>, StoreError> {
        let mut c = self.connection.clone();
        let token = LockToken::random();
        let set: Option<String> = redis::cmd("SET")
            .arg(self.key("lock", id.as_str()))
            .arg(token.as_str())
            .arg("NX")
            .arg("PX")
            .arg(millis(ttl))
            .query_async(&mut c)
            .await
            .map_err(failed("lock"))?;
        Ok(set.map(|_| token))
    }

    async fn unlock(&self, id: &SessionId, token: &LockToken) -> Result<(), StoreError> {
        let mut c = self.connection.clone();
        redis::Script::new(UNLOCK)
            .key(self.key("lock", id.as_str()))
            .arg(token.as_str())
            .invoke_async::<i64>(&mut c)
            .await
            .map(drop)
            .map_err(failed("unlock"))
    }

    async fn find(&self, key: &str) -> Result<Vec<SessionId>, StoreError> {
        let mut c = self.connection.clone();
        let index = self.key("index", key);
        let ids: Vec<String> = c.smembers(&index).await.map_err(failed("find"))?;
        let mut live = Vec::with_capacity(ids.len());
        for id in ids {
            let exists: bool = c
                .exists(self.key("session", &id))
                .await
                .map_err(failed("find"))?;
            if exists {
                live.push(SessionId::from_stored(id));
            } else {
                let _: i64 = c.srem(&index, &id).await.map_err(failed("find"))?;
            }
        }
        Ok(live)
    }
}
