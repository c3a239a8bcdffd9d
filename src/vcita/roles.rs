//! vcita roles as ready-made predicates for [`OAuth::require`](crate::OAuth::require).

use crate::client::UserInfo;

/// A predicate for [`OAuth::require`](crate::OAuth::require) and
/// [`RequireLoginLayer::require`](crate::layer::RequireLoginLayer::require): true when the
/// user's vcita `role` (userinfo's `role`, e.g. `owner` or `staff`) is `role`, compared
/// without regard to case. A user without a role is refused.
///
/// Evaluated on the resolved user, so an owner demoted at vcita loses access within the
/// user cache's TTL (default 5 minutes), not when the session ends (vcita tokens live
/// for years).
///
/// ```
/// use axum_oauth_login::{UserInfo, vcita};
/// let owner: UserInfo = serde_json::from_str(r#"{"sub":"1","role":"owner"}"#).unwrap();
/// let staff: UserInfo = serde_json::from_str(r#"{"sub":"2","role":"staff"}"#).unwrap();
/// let is_owner = vcita::role("owner");
/// assert!(is_owner(&owner));
/// assert!(!is_owner(&staff));
/// ```
pub fn role(role: &str) -> impl Fn(&UserInfo) -> bool + Clone + Send + Sync + 'static {
    any_role([role])
}

/// Like [`role`], for any of several roles.
///
/// ```
/// use axum_oauth_login::{UserInfo, vcita};
/// let staff: UserInfo = serde_json::from_str(r#"{"sub":"2","role":"Staff"}"#).unwrap();
/// assert!(vcita::any_role(["owner", "staff"])(&staff));
/// assert!(!vcita::any_role(["owner"])(&staff));
/// ```
pub fn any_role<I, S>(roles: I) -> impl Fn(&UserInfo) -> bool + Clone + Send + Sync + 'static
where
    I: IntoIterator<Item = S>,
    S: AsRef<str>,
{
    let roles: std::sync::Arc<[String]> = roles
        .into_iter()
        .map(|r| r.as_ref().to_ascii_lowercase())
        .collect();
    move |user: &UserInfo| {
        user.role
            .as_deref()
            .is_some_and(|have| roles.iter().any(|r| r.eq_ignore_ascii_case(have)))
    }
}
