//! The provider's signing keys (its JWKS): fetched on first use, cached, and re-fetched
//! when a token names a key the cache does not hold — the provider rotated its keys —
//! at most once per [`REFETCH_AFTER_SECS`] and one fetch at a time, so forged tokens
//! with random `kid`s cannot make the app hammer the provider.
//!
//! A forged `kid` cannot be told from a rotated one without fetching, so only a fetch
//! that began after the token arrived, succeeded and lacks its key refuses it
//! ([`JwtError::UnknownKey`]). While the re-fetch is rate-limited or failed, the key is
//! merely unconfirmed ([`JwtError::UnconfirmedKey`], [`JwtError::KeysUnavailable`]:
//! transient, "try again"): otherwise anyone posting a made-up `kid` now and then would
//! keep the limit spent and get real tokens under a new key refused, sessions ended and
//! back-channel logouts dropped after every rotation. A `kid` a fetch confirmed absent is
//! remembered for [`ABSENT_FOR_SECS`], so a flood of one forged `kid` fetches once while
//! a new one still fetches after the (short) interval.

use std::sync::{Arc, RwLock};
use std::time::Duration;

use http::header::ACCEPT;
use jsonwebtoken::jwk::{AlgorithmParameters, EllipticCurve, Jwk, PublicKeyUse};
use jsonwebtoken::{Algorithm, DecodingKey};
use serde_json::Value;
use url::Url;

use super::JwtError;
use crate::clock::Clock;
use crate::transport::{Endpoint, read_response};

/// After a successful fetch, an unknown `kid` fetches again only this much later. Short:
/// until then a token under a just-rotated key is answered "try again".
pub(crate) const REFETCH_AFTER_SECS: u64 = 10;
/// A `kid` (with its algorithm) a successful fetch confirmed absent fetches nothing for
/// this long: a flood of one forged `kid` costs one fetch.
pub(crate) const ABSENT_FOR_SECS: u64 = 30;
/// At most this many confirmed-absent `kid`s are remembered (the oldest go first).
const MAX_ABSENT: usize = 16;
/// A key set older than this is fetched again at its next use (keys the provider
/// withdrew stop being trusted without a restart); the old set stays if that fails.
pub(crate) const MAX_AGE_SECS: u64 = 24 * 3600;
/// A token without a `kid` is tried against at most this many keys.
const MAX_CANDIDATES: usize = 3;
/// After a failed fetch, the next attempt waits this long.
const RETRY_AFTER_FAILURE_SECS: u64 = 5;
/// Real key sets are a few kilobytes.
const MAX_BODY_BYTES: usize = 256 * 1024;
/// Keys beyond this many in one set are ignored.
const MAX_KEYS: usize = 64;

/// One usable verification key.
pub(crate) struct Key {
    kid: Option<String>,
    /// The algorithms this key may verify: from its type (and curve), narrowed by its
    /// `alg` when it names one.
    algorithms: Vec<Algorithm>,
    pub(crate) decoding: DecodingKey,
}

/// The cached key set of one provider.
pub(crate) struct KeySet {
    url: Url,
    http: reqwest::Client,
    timeout: Duration,
    clock: Clock,
    keys: RwLock<Arc<Vec<Arc<Key>>>>,
    loaded: Loaded,
    /// How many fetches have begun: a token notes it on arrival, to tell a fetch that
    /// began after it from one already under way.
    started: std::sync::atomic::AtomicU64,
    /// Held while fetching (single flight); records the last attempt.
    fetch: tokio::sync::Mutex<Attempts>,
}

#[derive(Default)]
struct Attempts {
    last: Option<u64>,
    failed: Option<String>,
    loaded: bool,
    /// The number (per `started`) of the last fetch that succeeded.
    succeeded: u64,
    /// `kid`s (with the algorithm) confirmed absent, and until when (clock seconds). Read
    /// only when the current set lacks the key.
    absent: Vec<(Option<String>, Algorithm, u64)>,
}

impl Attempts {
    fn is_absent(&self, kid: Option<&str>, alg: Algorithm, now: u64) -> bool {
        self.absent
            .iter()
            .any(|(k, a, until)| k.as_deref() == kid && *a == alg && now < *until)
    }

    fn remember_absent(&mut self, kid: Option<&str>, alg: Algorithm, now: u64) {
        self.absent.retain(|(_, _, until)| now < *until);
        if self.absent.len() >= MAX_ABSENT {
            self.absent.remove(0);
        }
        // Raw, to compare with later tokens' (a token, so its kid, is capped at 4 KiB).
        let kid = kid.map(str::to_owned);
        self.absent
            .push((kid, alg, now.saturating_add(ABSENT_FOR_SECS)));
    }
}

/// When the cached set was last fetched successfully (clock seconds; 0: never).
#[derive(Default)]
struct Loaded {
    at: std::sync::atomic::AtomicU64,
}

impl std::fmt::Debug for KeySet {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("KeySet")
            .field("url", &self.url.as_str())
            .finish_non_exhaustive()
    }
}

impl KeySet {
    pub(crate) fn new(url: Url, http: reqwest::Client, timeout: Duration, clock: Clock) -> Self {
        KeySet {
            url,
            http,
            timeout,
            clock,
            keys: RwLock::default(),
            loaded: Loaded::default(),
            started: std::sync::atomic::AtomicU64::new(0),
            fetch: tokio::sync::Mutex::default(),
        }
    }

    /// The keys that may verify a token signed with `alg` under `kid`; fetches the set
    /// when none does and the rate limit allows. [`JwtError::UnknownKey`] only when a
    /// fetch that began after this call succeeded without the key; when the key cannot
    /// be confirmed now, a transient error.
    pub(crate) async fn candidates(
        &self,
        kid: Option<&str>,
        alg: Algorithm,
    ) -> Result<Vec<Arc<Key>>, JwtError> {
        use std::sync::atomic::Ordering;
        let arrived_after = self.started.load(Ordering::Acquire);
        let found = self.matching(kid, alg);
        let loaded_at = self.loaded.at.load(Ordering::Acquire);
        let stale = loaded_at > 0 && self.clock.now() >= loaded_at.saturating_add(MAX_AGE_SECS);
        if !found.is_empty() && !stale {
            return Ok(found);
        }
        if stale {
            // Refresh the set once; whatever happens, the keys at hand serve this token.
            if let Ok(mut attempts) = self.fetch.try_lock() {
                let _ = self.refetch(&mut attempts).await;
            }
            let found = self.matching(kid, alg);
            if !found.is_empty() {
                return Ok(found);
            }
        }
        let mut attempts = self.fetch.lock().await;
        // Another request may have fetched while this one waited.
        let found = self.matching(kid, alg);
        if !found.is_empty() {
            return Ok(found);
        }
        let now = self.clock.now();
        if attempts.succeeded > arrived_after {
            // That fetch began after this token arrived: its answer is fresh enough.
            attempts.remember_absent(kid, alg, now);
            return Err(unknown_key(kid));
        }
        if attempts.is_absent(kid, alg, now) {
            // Confirmed absent a moment ago: no fetch. Not a refusal either — the
            // provider may have published it since (a `kid` one can guess in advance).
            return Err(unconfirmed_key(kid));
        }
        let wait = if attempts.failed.is_some() {
            RETRY_AFTER_FAILURE_SECS
        } else {
            REFETCH_AFTER_SECS
        };
        if attempts
            .last
            .is_some_and(|last| now < last.saturating_add(wait))
        {
            return Err(match &attempts.failed {
                Some(reason) => JwtError::KeysUnavailable(reason.clone()),
                None => unconfirmed_key(kid),
            });
        }
        self.refetch(&mut attempts)
            .await
            .map_err(JwtError::KeysUnavailable)?;
        let found = self.matching(kid, alg);
        if found.is_empty() {
            attempts.remember_absent(kid, alg, now);
            Err(unknown_key(kid))
        } else {
            Ok(found)
        }
    }

    /// Fetches the set now. A set without usable keys, or a failure, keeps the current
    /// one and says why.
    async fn refetch(&self, attempts: &mut Attempts) -> Result<(), String> {
        let now = self.clock.now();
        let number = self
            .started
            .fetch_add(1, std::sync::atomic::Ordering::AcqRel)
            + 1;
        attempts.last = Some(now);
        let fetched = self.fetch_keys().await.and_then(|keys| {
            if keys.is_empty() {
                Err("the JWKS holds no usable signing key".to_owned())
            } else {
                Ok(keys)
            }
        });
        match fetched {
            Ok(keys) => {
                tracing::debug!(keys = keys.len(), "provider signing keys fetched");
                *self.keys.write().unwrap_or_else(|e| e.into_inner()) = Arc::new(keys);
                self.loaded
                    .at
                    .store(now.max(1), std::sync::atomic::Ordering::Release);
                attempts.failed = None;
                attempts.loaded = true;
                attempts.succeeded = number;
                Ok(())
            }
            Err(reason) => {
                tracing::warn!(%reason, "could not fetch the provider's signing keys");
                attempts.failed = Some(reason.clone());
                Err(reason)
            }
        }
    }

    fn matching(&self, kid: Option<&str>, alg: Algorithm) -> Vec<Arc<Key>> {
        let keys = self.keys.read().unwrap_or_else(|e| e.into_inner()).clone();
        keys.iter()
            .filter(|k| k.algorithms.contains(&alg))
            .filter(|k| kid.is_none() || k.kid.as_deref() == kid)
            // Without a kid, a bounded number of signature checks per token.
            .take(if kid.is_none() {
                MAX_CANDIDATES
            } else {
                usize::MAX
            })
            .cloned()
            .collect()
    }

    async fn fetch_keys(&self) -> Result<Vec<Arc<Key>>, String> {
        let request = self
            .http
            .get(self.url.clone())
            .header(ACCEPT, "application/jwk-set+json, application/json");
        let (status, _, body) =
            read_response(Endpoint::Jwks, request, MAX_BODY_BYTES, self.timeout)
                .await
                .map_err(|e| e.to_string())?;
        if status != 200 {
            return Err(format!("the JWKS endpoint answered HTTP {status}"));
        }
        parse_key_set(&body)
    }
}

fn unknown_key(kid: Option<&str>) -> JwtError {
    JwtError::UnknownKey(kid.map(|k| crate::transport::sanitize(k, 64)))
}

fn unconfirmed_key(kid: Option<&str>) -> JwtError {
    JwtError::UnconfirmedKey(kid.map(|k| crate::transport::sanitize(k, 64)))
}

/// The usable signature keys of a JWKS document; keys of other types, for encryption,
/// or that do not parse are skipped (a provider may publish kinds this crate does not use).
pub(crate) fn parse_key_set(body: &[u8]) -> Result<Vec<Arc<Key>>, String> {
    let doc: Value = serde_json::from_slice(body).map_err(|_| "the JWKS is not JSON".to_owned())?;
    let Some(Value::Array(entries)) = doc.get("keys") else {
        return Err("the JWKS has no `keys` array".to_owned());
    };
    Ok(entries
        .iter()
        .take(MAX_KEYS)
        .filter_map(|entry| serde_json::from_value::<Jwk>(entry.clone()).ok())
        .filter_map(|jwk| key(&jwk))
        .map(Arc::new)
        .collect())
}

fn key(jwk: &Jwk) -> Option<Key> {
    if matches!(
        jwk.common.public_key_use,
        Some(PublicKeyUse::Encryption | PublicKeyUse::Other(_))
    ) {
        return None;
    }
    use Algorithm::*;
    let by_type: Vec<Algorithm> = match &jwk.algorithm {
        AlgorithmParameters::RSA(_) => vec![RS256, RS384, RS512, PS256, PS384, PS512],
        AlgorithmParameters::EllipticCurve(p) => match p.curve {
            EllipticCurve::P256 => vec![ES256],
            EllipticCurve::P384 => vec![ES384],
            _ => return None,
        },
        AlgorithmParameters::OctetKeyPair(p) if p.curve == EllipticCurve::Ed25519 => vec![EdDSA],
        // Symmetric keys have no place in a public key set: never HMAC.
        _ => return None,
    };
    let algorithms = match jwk.common.key_algorithm {
        None => by_type,
        Some(named) => {
            let named: Algorithm = named.to_string().parse().ok()?;
            by_type.into_iter().filter(|a| *a == named).collect()
        }
    };
    if algorithms.is_empty() {
        return None;
    }
    Some(Key {
        kid: jwk.common.key_id.clone(),
        algorithms,
        decoding: DecodingKey::from_jwk(jwk).ok()?,
    })
}
