//! Nothing here: the check is `tests/https.rs`, which uses `axum-oauth-login` with its
//! default features and nothing else.
