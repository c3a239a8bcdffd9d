//! Cookie values already opened: a session's cookie is immutable, so a request that
//! presents one seen before skips AES-GCM and JSON. Keyed by the sealed value's last
//! [`TAIL`] bytes (its AES-GCM tag region: a short key is cheap to hash), and a hit is one
//! only when the whole stored value equals the presented one, byte for byte: a hit is
//! exactly a value this server sealed. Only values that opened with the current key get
//! in, so a forged value sharing a tail is a miss, is opened, fails and evicts nothing.
//! Bounded by the bytes of those values. The session's expiry, idle timeout and the
//! denylist are checked on every read, by the caller, so an entry needs no lifetime of
//! its own.
//!
//! The bound is an estimate of the memory held: each entry weighs its cookie value's
//! length times a factor for what it opened to (a parsed session is ~3× its sealed,
//! deflated cookie: [`SESSIONS`]; a session id is small: [`IDS`]). At 32 MiB that is
//! ~16,000 sessions of a typical 500-byte cookie, or ~60,000 session ids.

use std::sync::Arc;

/// The estimated bytes every cache of verified values stays within.
const CAPACITY_BYTES: u64 = 32 * 1024 * 1024;

/// Weight per byte of the cookie value, for a cache of opened sessions.
pub(crate) const SESSIONS: u64 = 4;
/// Weight per byte of the cookie value, for a cache of store-held sessions' ids.
pub(crate) const IDS: u64 = 1;

/// A typical sealed session cookie, for the table's initial size.
const TYPICAL_BYTES: u64 = 512;

/// How many of a sealed value's last bytes key the table.
const TAIL: usize = 16;

/// The table's key for `sealed`: its last [`TAIL`] bytes (fewer, zero-padded, for a
/// shorter value).
fn tail(sealed: &[u8]) -> u128 {
    let mut key = [0u8; TAIL];
    let n = sealed.len().min(TAIL);
    key[TAIL - n..].copy_from_slice(&sealed[sealed.len() - n..]);
    u128::from_le_bytes(key)
}

/// A value that opened, and what it held.
struct Entry<V> {
    sealed: Box<[u8]>,
    value: V,
}

/// Weighs an entry by its cookie value's length, times a factor.
#[derive(Clone, Copy)]
struct ByLength(u64);

impl<V> quick_cache::Weighter<u128, Arc<Entry<V>>> for ByLength {
    fn weight(&self, _: &u128, entry: &Arc<Entry<V>>) -> u64 {
        entry.sealed.len() as u64 * self.0
    }
}

/// Sealed cookie value → what it holds (the session, or a store's session id).
/// Read as bytes: a lookup needs no UTF-8 view of the `Cookie` header (a hit is a value
/// this server sealed; a miss is checked when it is opened).
pub(crate) struct Verified<V>(quick_cache::sync::Cache<u128, Arc<Entry<V>>, ByLength>);

impl<V: Clone> Verified<V> {
    /// A cache whose entries weigh `factor` per byte of their cookie value.
    pub(crate) fn new(factor: u64) -> Self {
        let items = CAPACITY_BYTES / (TYPICAL_BYTES * factor);
        Verified(quick_cache::sync::Cache::with_weighter(
            usize::try_from(items).unwrap_or(usize::MAX),
            CAPACITY_BYTES,
            ByLength(factor),
        ))
    }

    /// What `sealed` held when it was opened, if it was: the stored value must equal
    /// `sealed` whole, not only its tail.
    pub(crate) fn get(&self, sealed: &[u8]) -> Option<V> {
        let entry = self.0.get(&tail(sealed))?;
        (*entry.sealed == *sealed).then(|| entry.value.clone())
    }

    /// Remembers that `sealed` holds `value` (it opened with the current key).
    pub(crate) fn insert(&self, sealed: &[u8], value: V) {
        let entry = Entry {
            sealed: sealed.into(),
            value,
        };
        self.0.insert(tail(sealed), Arc::new(entry));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bounded_by_the_bytes_of_the_values() {
        let verified = Verified::<u32>::new(SESSIONS);
        let sealed = "x".repeat(64 * 1024);
        verified.insert(sealed.as_bytes(), 1);
        assert_eq!(verified.get(sealed.as_bytes()), Some(1));
        assert_eq!(
            verified.get(&sealed.as_bytes()[1..]),
            None,
            "the whole value is the key"
        );
        let mut same_tail = sealed.clone().into_bytes();
        same_tail[0] = b'y';
        assert_eq!(
            verified.get(&same_tail),
            None,
            "a value sharing the tail is not a hit"
        );
        assert_eq!(verified.get(b"x"), None);
        assert_eq!(verified.get(b""), None);
        for i in 0..(CAPACITY_BYTES / (64 * 1024)) {
            verified.insert(format!("{i:08}{}", &sealed[8..]).as_bytes(), 2);
        }
        assert!(
            verified.0.weight() <= CAPACITY_BYTES,
            "{}",
            verified.0.weight()
        );
    }
}
