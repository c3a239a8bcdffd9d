//! Extractors: [`BearerUser`] (who is calling, verified with the provider) and
//! [`AuthSession`] (the login session itself, with the app's typed user).

mod auth_session;
mod bearer_user;

pub use self::auth_session::AuthSession;
pub use self::bearer_user::BearerUser;

#[cfg(test)]
mod tests {
    use axum::extract::FromRequestParts;

    use super::*;

    /// axum boxes a handler's future, extractors' futures inside it, on every request.
    /// The slow paths (a cache miss, a refresh, ending a session) are boxed where they
    /// start, so the common path allocates a small future: one that stays in the
    /// allocator's per-thread cache (glibc's tcache serves up to 1,032 bytes). Inlined,
    /// the cache's single-flight state made `BearerUser`'s future 4.5 KB.
    #[test]
    fn extractor_futures_stay_small() {
        let (mut parts, ()) = http::Request::new(()).into_parts();
        let bearer = BearerUser::<crate::client::UserInfo>::from_request_parts(&mut parts, &());
        let bearer_size = std::mem::size_of_val(&bearer);
        drop(bearer);
        let session = AuthSession::<crate::client::UserInfo>::from_request_parts(&mut parts, &());
        let session_size = std::mem::size_of_val(&session);
        drop(session);
        assert!(
            bearer_size <= 512,
            "BearerUser's future: {bearer_size} bytes"
        );
        assert!(
            session_size <= 512,
            "AuthSession's future: {session_size} bytes"
        );
    }
}
