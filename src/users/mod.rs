//! Resolving a token to its user — through userinfo or introspection — behind a bounded
//! cache with single-flight.
//!
//! The cache key is the SHA-256 of the token, so the cache never holds a usable token.
//! Two tables (quick_cache: sharded, S3-FIFO eviction, a few dozen bytes per entry):
//! every cached answer once, as the compact JSON text the provider's answer serialises
//! to (~1/5 of a parsed user's memory), and in front of it a hot set of parsed users
//! (the JSON tree and the app's type) for the hit path. Concurrent first requests with
//! one token share one upstream call and its outcome, an error included (a table of
//! flights). A token the provider refused is remembered briefly too, so repeating it
//! costs no further upstream call (each *new* token still costs one: tokens are capped
//! at 4 KiB before they get here, and at most `max_concurrent_lookups` calls run at
//! once). An entry never outlives the token's own expiry (checked on every read).
//! Introspection answers for another client's token, or for a refresh token, count as
//! refused. With several instances, [`shared`] is the opt-in second level.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use serde_json::Value;
use sha2::{Digest as _, Sha256};

use crate::client::OAuthClient;
use crate::clock::Clock;
use crate::provider::UserResolver;
use crate::secret::AccessToken;
use crate::transport::OAuthError;
use crate::typed::Typed;

use self::shared::Turn;
pub(crate) use self::shared::{Kept, SharedAnswers};

mod ask;
mod shared;

/// How long a refused token is remembered as refused.
const NEGATIVE_TTL_SECS: u64 = 30;

/// How many users are kept parsed (as a JSON tree and the app's type) for the hit path,
/// at most: the most recently used eighth of the cache, up to this many. Every other
/// cached user is kept as the compact JSON text of the provider's answer (~1/5 of the
/// memory), parsed again when asked for.
const HOT_CAPACITY: usize = 2_048;

/// What the cache knows about a token. Cloning is cheap (reference counts).
#[derive(Clone, Debug)]
enum Entry {
    /// The provider's answer as compact JSON text: the one copy a cold entry holds.
    User {
        json: Arc<str>,
        scope: Option<Arc<str>>,
        until: u64,
    },
    Refused {
        until: u64,
    },
}

/// What one lookup found: the user parsed (kept hot) with its compact JSON text (the
/// cold entry, and what the shared level keeps: serialised once), or a refusal.
#[derive(Clone, Debug)]
enum Answer {
    User { user: Resolved, json: Arc<str> },
    Refused { until: u64 },
}

impl Answer {
    /// A user the provider described as `value`.
    fn user(value: Value, scope: Option<Arc<str>>, until: u64) -> Answer {
        Answer::User {
            json: Arc::from(value.to_string()),
            user: Resolved::new(value, scope, until),
        }
    }
}

impl From<Answer> for Result<Resolved, ResolveError> {
    fn from(answer: Answer) -> Self {
        match answer {
            Answer::User { user, .. } => Ok(user),
            Answer::Refused { .. } => Err(ResolveError::InvalidToken),
        }
    }
}

/// A token's user as the provider described them, with the scopes it granted when the
/// provider says (introspection does; userinfo does not).
#[derive(Clone, Debug)]
pub(crate) struct Resolved {
    pub(crate) user: Arc<Value>,
    pub(crate) scope: Option<Arc<str>>,
    /// `user` parsed into the app's type, once per hot entry.
    pub(crate) typed: Typed,
    /// Until when (clock seconds) this answer is fresh: the cache entry's end.
    pub(crate) until: u64,
    /// Whether the answer binds the token to a DPoP key (`cnf.jkt`): read once per answer,
    /// not per request (every header token's binding is checked).
    bound: bool,
}

impl Resolved {
    fn new(user: Value, scope: Option<Arc<str>>, until: u64) -> Resolved {
        Resolved {
            bound: jkt(&user).is_some(),
            user: Arc::new(user),
            scope,
            typed: Typed::default(),
            until,
        }
    }

    /// The thumbprint of the DPoP key the token is bound to (`cnf.jkt` of a JWT access
    /// token's claims, or of introspection's answer; RFC 9449 §6).
    pub(crate) fn bound_key(&self) -> Option<&str> {
        if !self.bound {
            return None;
        }
        jkt(&self.user)
    }
}

fn jkt(user: &Value) -> Option<&str> {
    user.get("cnf")?.get("jkt")?.as_str()
}

impl Entry {
    fn until(&self) -> u64 {
        match self {
            Entry::User { until, .. } | Entry::Refused { until } => *until,
        }
    }

    /// The compact entry an answer is kept as.
    fn of(answer: &Answer) -> Entry {
        match answer {
            Answer::User { user, json } => Entry::User {
                json: json.clone(),
                scope: user.scope.clone(),
                until: user.until,
            },
            Answer::Refused { until } => Entry::Refused { until: *until },
        }
    }
}

/// Why a token could not be resolved.
#[derive(Debug, Clone, thiserror::Error)]
pub(crate) enum ResolveError {
    /// The provider says the token is not (or no longer) valid.
    #[error("the provider refused the token")]
    InvalidToken,
    /// The provider could not be asked right now (down, timing out, 5xx).
    #[error("the provider is unavailable: {0}")]
    Unavailable(Arc<OAuthError>),
    /// The provider answered something unusable, or the app is misconfigured.
    #[error("user resolution failed: {0}")]
    Failed(Arc<OAuthError>),
}

/// How many upstream lookups may run at once, and how long a request waits for a turn.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Lookups {
    pub(crate) max_concurrent: usize,
    pub(crate) wait: Duration,
}

type Key = [u8; 32];
type Outcome = Result<Answer, Arc<OAuthError>>;

/// A lookup in flight: the callers of one token share its outcome.
type Flight = Arc<tokio::sync::OnceCell<Outcome>>;

/// The bounded, single-flight cache of resolved users: a small hot set of parsed users
/// in front of the compact answers of every cached token.
#[derive(Clone)]
pub(crate) struct UserCache {
    client: OAuthClient,
    /// Every cached token's answer (users and refusals), compact; bounded by the
    /// configured capacity (quick_cache: S3-FIFO eviction, a few dozen bytes per entry).
    answers: Arc<quick_cache::sync::Cache<Key, Entry>>,
    /// The most recently used users, parsed: a hit here is the whole hit path.
    hot: Arc<quick_cache::sync::Cache<Key, Resolved>>,
    flights: Arc<Mutex<HashMap<Key, Flight>>>,
    /// The second level, shared with other instances (opt-in).
    shared: Option<Arc<dyn SharedAnswers>>,
    ttl_secs: u64,
    clock: Clock,
    /// Caps concurrent calls to the provider: every *new* token costs one, so a flood of
    /// random tokens would otherwise become a flood of upstream calls (spending the
    /// client's rate limit at the provider). When saturated, callers wait `wait`, then
    /// get 503 — the cached users of everyone else are unaffected.
    upstream: Arc<tokio::sync::Semaphore>,
    wait: Duration,
}

impl std::fmt::Debug for UserCache {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserCache")
            .field("entries", &self.answers.len())
            .field("ttl_secs", &self.ttl_secs)
            .finish()
    }
}

fn token_key(token: &AccessToken) -> Key {
    Sha256::digest(token.secret().as_bytes()).into()
}

/// One caller's part in a flight: the last one out, or the one that sees it finished,
/// takes it off the table (a flight whose callers all went away leaves nothing behind).
struct Boarding<'a> {
    flights: &'a Mutex<HashMap<Key, Flight>>,
    key: Key,
    flight: Flight,
}

impl<'a> Boarding<'a> {
    /// Joins the flight of `key`, or starts one.
    fn join(flights: &'a Mutex<HashMap<Key, Flight>>, key: Key) -> Self {
        let flight = flights
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .entry(key)
            .or_default()
            .clone();
        Boarding {
            flights,
            key,
            flight,
        }
    }
}

impl Drop for Boarding<'_> {
    fn drop(&mut self) {
        let mut flights = self.flights.lock().unwrap_or_else(|e| e.into_inner());
        if flights
            .get(&self.key)
            .is_some_and(|f| Arc::ptr_eq(f, &self.flight))
            && (self.flight.initialized() || Arc::strong_count(&self.flight) == 2)
        {
            flights.remove(&self.key);
        }
    }
}

impl UserCache {
    pub(crate) fn new(
        client: OAuthClient,
        ttl: Duration,
        capacity: u64,
        clock: Clock,
        lookups: Lookups,
    ) -> Self {
        let capacity = usize::try_from(capacity).unwrap_or(usize::MAX);
        UserCache {
            client,
            answers: Arc::new(quick_cache::sync::Cache::new(capacity)),
            hot: Arc::new(quick_cache::sync::Cache::new(
                (capacity / 8).clamp(1, HOT_CAPACITY),
            )),
            flights: Arc::default(),
            shared: None,
            ttl_secs: ttl.as_secs().max(1),
            clock,
            upstream: Arc::new(tokio::sync::Semaphore::new(lookups.max_concurrent)),
            wait: lookups.wait,
        }
    }

    /// The user behind `token`, from the cache or the provider. `token_expires_at` (unix
    /// seconds, when known) caps how long the answer is cached; `dpop_jkt` is the key a
    /// session's token is bound to (RFC 9449: the provider is asked with a proof of it).
    pub(crate) async fn resolve(
        &self,
        token: &AccessToken,
        token_expires_at: Option<u64>,
        dpop_jkt: Option<&str>,
    ) -> Result<Resolved, ResolveError> {
        let key = token_key(token);
        let now = self.clock.now();
        if let Some(user) = self.hot.get(&key)
            && user.until > now
        {
            return Ok(user);
        }
        if let Some(answer) = self.cold(&key, now) {
            return answer.into();
        }
        // Boxed: the single-flight lookup's state is large; inline, it would make every
        // caller's future (the extractors') that large on the cache-hit path too.
        Box::pin(self.look_up(key, token, token_expires_at, dpop_jkt)).await
    }

    /// A hot miss: the compact answer, parsed and made hot again; `None` when there is
    /// no fresh answer (a stale one is dropped).
    fn cold(&self, key: &Key, now: u64) -> Option<Answer> {
        let entry = self.answers.get(key)?;
        if entry.until() <= now {
            self.answers.remove(key);
            self.hot.remove(key);
            return None;
        }
        Some(match entry {
            Entry::User { json, scope, until } => {
                // The text is what the cache wrote from a JSON object: it parses.
                let value = serde_json::from_str(&json).unwrap_or(Value::Null);
                let user = Resolved::new(value, scope, until);
                self.hot.insert(*key, user.clone());
                Answer::User { user, json }
            }
            Entry::Refused { until } => Answer::Refused { until },
        })
    }

    /// A cache miss: one provider call per token at a time (single-flight: the callers
    /// of one token share the outcome, an error included), bounded.
    async fn look_up(
        &self,
        key: Key,
        token: &AccessToken,
        token_expires_at: Option<u64>,
        dpop_jkt: Option<&str>,
    ) -> Result<Resolved, ResolveError> {
        let boarding = Boarding::join(&self.flights, key);
        let fetch = async {
            // Answered while this caller was on its way here (the flight before it landed).
            if let Some(answer) = self.cold(&key, self.clock.now()) {
                return Ok(answer);
            }
            let answer = self
                .fetch(token.clone(), token_expires_at, dpop_jkt)
                .await?;
            if let Answer::User { user, .. } = &answer {
                self.hot.insert(key, user.clone());
            }
            self.answers.insert(key, Entry::of(&answer));
            Ok(answer)
        };
        // One deadline for the whole lookup, queueing for a turn included: a hanging
        // provider costs a caller at most the HTTP timeout, never a queue of them.
        let outcome = tokio::time::timeout(self.wait, boarding.flight.get_or_init(|| fetch))
            .await
            .cloned()
            .unwrap_or_else(|_| {
                Err(Arc::new(OAuthError::Timeout {
                    endpoint: self.endpoint(),
                    timeout: self.wait,
                }))
            });
        drop(boarding);
        match outcome {
            Ok(answer) => answer.into(),
            Err(e) if e.is_transient() => Err(ResolveError::Unavailable(e)),
            Err(e) => Err(ResolveError::Failed(e)),
        }
    }

    /// How many tokens' answers (users and refusals) are held.
    pub(crate) async fn len(&self) -> u64 {
        self.answers.len() as u64
    }

    /// Forgets a token (after logout or revocation): here, and in the shared store,
    /// where no instance writes its user again.
    pub(crate) async fn forget(&self, token: &AccessToken) {
        let key = token_key(token);
        self.hot.remove(&key);
        self.answers.remove(&key);
        if let Some(shared) = &self.shared {
            let ttl = Duration::from_secs(self.ttl_secs);
            shared::bury(&**shared, token, ttl, self.wait / 2).await;
        }
    }

    /// Shares answers with other instances through `shared` (a second-level cache).
    pub(crate) fn with_shared(mut self, shared: Arc<dyn SharedAnswers>) -> Self {
        self.shared = Some(shared);
        self
    }

    fn until(&self, now: u64, token_expires_at: Option<u64>) -> u64 {
        let ttl_end = now.saturating_add(self.ttl_secs);
        token_expires_at.map_or(ttl_end, |exp| exp.min(ttl_end))
    }

    /// The endpoint users are resolved through.
    fn endpoint(&self) -> crate::transport::Endpoint {
        match self.client.provider().user_resolver() {
            UserResolver::Userinfo => crate::transport::Endpoint::Userinfo,
            UserResolver::Introspection => crate::transport::Endpoint::Introspection,
        }
    }

    /// A local miss: a JWT access token checked here; else another instance's answer
    /// through the shared store, or the provider's (shared when it is a user).
    async fn fetch(
        &self,
        token: AccessToken,
        token_expires_at: Option<u64>,
        dpop_jkt: Option<&str>,
    ) -> Result<Answer, Arc<OAuthError>> {
        if let Some(oidc) = self.client.oidc().filter(|o| o.checks_access_tokens())
            && crate::oidc::looks_like_jwt(token.secret())
            && let Some(entry) = self.check_locally(oidc, &token).await
        {
            return entry;
        }
        let Some(shared) = &self.shared else {
            return self.ask(token, token_expires_at, dpop_jkt).await;
        };
        let now = || self.clock.now();
        // Half the lookup's time for another instance's answer, the rest for our own.
        let claim = match shared::take_turn(&**shared, &token, now, self.wait, self.wait / 2).await
        {
            Turn::Found(kept) => match serde_json::from_str::<Value>(&kept.json) {
                Ok(value) if value.is_object() => {
                    let scope = kept.scope.map(Arc::from);
                    return Ok(Answer::User {
                        user: Resolved::new(value, scope, kept.until),
                        json: Arc::from(kept.json),
                    });
                }
                _ => None,
            },
            Turn::Mine(claim) => Some(claim),
            Turn::Alone => None,
        };
        let answer = self.ask(token.clone(), token_expires_at, dpop_jkt).await;
        let Some(claim) = claim else { return answer };
        if let Ok(Answer::User { user, json }) = &answer {
            let kept = Kept {
                json: json.to_string(),
                scope: user.scope.as_deref().map(str::to_owned),
                until: user.until,
                gone: false,
            };
            let ttl = Duration::from_secs(user.until.saturating_sub(now()).max(1));
            if let Err(e) = shared.save(&token, &kept, ttl).await {
                tracing::warn!(error = %e, "could not share a resolved user");
            }
        }
        if let Err(e) = shared.release(&token, &claim).await {
            tracing::debug!(error = %e, "could not release a shared user claim");
        }
        answer
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_flight_leaves_the_table_with_its_last_caller_or_when_it_lands() {
        let flights = Mutex::new(HashMap::new());
        let len = || flights.lock().unwrap().len();
        let (a, b) = (
            Boarding::join(&flights, [1; 32]),
            Boarding::join(&flights, [1; 32]),
        );
        assert!(Arc::ptr_eq(&a.flight, &b.flight), "one flight per token");
        drop(a);
        assert_eq!(len(), 1, "the other caller still waits on it");
        drop(b);
        assert_eq!(len(), 0, "abandoned by all: nothing left behind");

        let (c, d) = (
            Boarding::join(&flights, [2; 32]),
            Boarding::join(&flights, [2; 32]),
        );
        c.flight.set(Ok(Answer::Refused { until: 1 })).unwrap();
        drop(c);
        assert_eq!(len(), 0, "landed: the next caller starts afresh");
        assert!(
            d.flight.initialized(),
            "a caller still aboard reads the outcome"
        );
        let e = Boarding::join(&flights, [2; 32]);
        assert!(!e.flight.initialized());
        drop((d, e));
        assert_eq!(len(), 0);
    }

    #[test]
    fn the_compact_entry_is_the_answer_as_sent() {
        let user = serde_json::json!({"sub": 1001, "name": "Ada", "extra": {"a": [1, 2.5, null]}});
        let answer = Answer::user(user.clone(), Some(Arc::from("read")), 9);
        let Entry::User { json, scope, until } = Entry::of(&answer) else {
            panic!("a user");
        };
        assert_eq!(serde_json::from_str::<Value>(&json).unwrap(), user);
        assert_eq!((scope.as_deref(), until), (Some("read"), 9));
    }
}
