//! Time as the crate sees it: the system clock, or a manual one that tests move forward.
//!
//! Every expiry decision (flow cookies, sessions, access tokens) asks the [`Clock`]
//! configured with [`OAuthBuilder::clock`](crate::OAuthBuilder::clock), so tests never
//! sleep through a lifetime.

use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{SystemTime, UNIX_EPOCH};

/// The system's current time in unix seconds.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// A source of "now" in unix seconds.
///
/// ```
/// use std::time::Duration;
/// use axum_oauth_login::Clock;
/// let clock = Clock::manual(1_000);
/// assert_eq!(clock.now(), 1_000);
/// clock.advance(Duration::from_secs(30));
/// assert_eq!(clock.now(), 1_030);
/// assert!(Clock::system().now() > 1_700_000_000);
/// ```
#[derive(Clone, Default)]
pub struct Clock {
    manual: Option<Arc<AtomicU64>>,
}

impl Clock {
    /// The operating system's clock.
    pub fn system() -> Clock {
        Clock { manual: None }
    }

    /// A clock that stands still at `start` until [`advance`](Clock::advance)d.
    /// Clones share the same time.
    pub fn manual(start: u64) -> Clock {
        Clock {
            manual: Some(Arc::new(AtomicU64::new(start))),
        }
    }

    /// A manual clock starting at the system's current time.
    pub fn manual_from_now() -> Clock {
        Clock::manual(unix_now())
    }

    /// Now, in unix seconds.
    pub fn now(&self) -> u64 {
        match &self.manual {
            Some(t) => t.load(Ordering::Relaxed),
            None => unix_now(),
        }
    }

    /// Moves a manual clock forward; does nothing to the system clock.
    pub fn advance(&self, by: std::time::Duration) {
        if let Some(t) = &self.manual {
            t.fetch_add(by.as_secs(), Ordering::Relaxed);
        }
    }
}

impl fmt::Debug for Clock {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match &self.manual {
            Some(_) => write!(f, "Clock::manual({})", self.now()),
            None => f.write_str("Clock::system()"),
        }
    }
}
