//! Extractors: [`BearerUser`] (who is calling, verified with the provider) and
//! [`AuthSession`] (the login session itself, with the app's typed user).

mod auth_session;
mod bearer_user;

pub use self::auth_session::AuthSession;
pub use self::bearer_user::BearerUser;
use crate::audience::Audience;

/// Whether the request is a browser navigation (403s then get a page, not JSON).
fn is_navigation(headers: &http::HeaderMap) -> bool {
    Audience::of(headers) == Audience::Navigation
}
