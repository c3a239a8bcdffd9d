//! How a failed refresh is handled: which failures end the session, which keep it, and
//! how long the same session waits before calling the token endpoint again.

use super::Refusal;
use crate::transport::{ErrorCode, OAuthError};

/// How a failed refresh is handled.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(super) enum Failure {
    /// The grant is gone (`invalid_grant`, `invalid_scope`): end the session.
    GrantRefused,
    /// May pass by itself (timeouts, 5xx, 429): retry soon.
    Transient,
    /// The provider refused this client or answered nonsense: an operator must act.
    Client,
}

impl Failure {
    pub(super) fn of(e: &Refusal) -> Failure {
        let e = match e {
            Refusal::Deleted => return Failure::GrantRefused,
            Refusal::Provider(e) => e,
        };
        match e.code() {
            Some(ErrorCode::InvalidGrant | ErrorCode::InvalidScope) => Failure::GrantRefused,
            _ if matches!(e, OAuthError::IdToken { .. }) => Failure::GrantRefused,
            _ if e.is_transient() => Failure::Transient,
            _ => Failure::Client,
        }
    }

    /// Seconds before the same session may call the token endpoint again.
    pub(super) fn backoff_secs(self, attempt: u32, grace_secs: u64) -> u64 {
        let doubling = |base: u64, max: u64| {
            base.saturating_mul(1u64 << attempt.saturating_sub(1).min(16))
                .min(max)
        };
        match self {
            Failure::GrantRefused => grace_secs,
            Failure::Transient => doubling(1, 60),
            Failure::Client => doubling(30, 600),
        }
    }
}

/// Whether the provider refused the refresh token itself (`invalid_grant`): with the
/// cookie store, most likely because another instance or tab spent it first.
pub(super) fn spent_elsewhere(e: &Refusal) -> bool {
    matches!(e, Refusal::Provider(e) if e.code() == Some(&ErrorCode::InvalidGrant))
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::Endpoint;

    #[test]
    fn failures_are_classified_and_backed_off() {
        let provider = |status, code: &str| {
            Refusal::Provider(OAuthError::Provider {
                endpoint: Endpoint::Token,
                status,
                error: ErrorCode::parse(code),
                description: None,
            })
        };
        assert_eq!(Failure::of(&Refusal::Deleted), Failure::GrantRefused);
        assert!(spent_elsewhere(&provider(400, "invalid_grant")));
        assert!(!spent_elsewhere(&provider(400, "invalid_scope")));
        assert_eq!(
            Failure::of(&provider(400, "invalid_grant")),
            Failure::GrantRefused
        );
        assert_eq!(
            Failure::of(&provider(400, "invalid_scope")),
            Failure::GrantRefused
        );
        assert_eq!(
            Failure::of(&provider(401, "invalid_client")),
            Failure::Client
        );
        assert_eq!(
            Failure::of(&provider(400, "unauthorized_client")),
            Failure::Client
        );
        assert_eq!(
            Failure::of(&provider(503, "server_error")),
            Failure::Transient
        );
        assert_eq!(Failure::Transient.backoff_secs(1, 60), 1);
        assert_eq!(Failure::Transient.backoff_secs(3, 60), 4);
        assert_eq!(Failure::Transient.backoff_secs(40, 60), 60);
        assert_eq!(Failure::Client.backoff_secs(1, 60), 30);
        assert_eq!(Failure::Client.backoff_secs(9, 60), 600);
        assert_eq!(Failure::GrantRefused.backoff_secs(5, 60), 60);
    }
}
