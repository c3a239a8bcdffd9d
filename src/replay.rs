//! Replay checks: a bounded table of the values already seen once — the `iat:jti` of
//! back-channel logout tokens (`oidc`) and the (key, `jti`) of DPoP proofs (`state`).
//! Past its capacity the oldest are forgotten; each caller bounds the window in which a
//! value could come back (an `iat` check), and SECURITY.md states it.

use std::hash::Hash;
use std::time::Duration;

use quick_cache::sync::{Cache, GuardResult};

/// Values seen once, at most about `capacity` of them.
pub(crate) struct SeenOnce<K>(Cache<K, ()>);

impl<K: Eq + Hash + Clone> SeenOnce<K> {
    pub(crate) fn new(capacity: usize) -> Self {
        SeenOnce(Cache::new(capacity))
    }

    /// `true` the first time `key` is seen. Atomic: of two copies racing in, one is the
    /// first use and the other a replay.
    pub(crate) fn first_use(&self, key: &K) -> bool {
        match self.0.get_value_or_guard(key, Some(Duration::ZERO)) {
            GuardResult::Guard(guard) => guard.insert(()).is_ok(),
            _ => false,
        }
    }

    /// Forgets `key`, so that its next use is a first one again.
    pub(crate) fn forget(&self, key: &K) {
        self.0.remove(key);
    }
}

impl<K: Eq + Hash + Clone> std::fmt::Debug for SeenOnce<K> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SeenOnce")
            .field("len", &self.0.len())
            .finish()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_value_is_new_once_until_forgotten() {
        let seen = SeenOnce::new(10);
        assert!(seen.first_use(&"a"));
        assert!(!seen.first_use(&"a"));
        assert!(seen.first_use(&"b"));
        seen.forget(&"a");
        assert!(seen.first_use(&"a"));
    }
}
