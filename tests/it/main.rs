//! The integration suite, in one binary: the crate through the `vcita_login` example's
//! app and the in-process `MockProvider`, over real HTTP on 127.0.0.1. One module per
//! capability; `harness` holds this binary's helpers, `support` those shared with the
//! `interop` and `browser` binaries.
//!
//! ```text
//! cargo test --all-features --test it
//! ```

// The README's command builds with every feature; with fewer (a plain `cargo test`), the
// tests of a missing store are compiled out and some helpers go unused.
#![cfg_attr(
    not(all(feature = "redis", feature = "tower-sessions", feature = "file-store")),
    allow(unused)
)]
#[path = "../support/mod.rs"]
mod support;

mod harness;
mod interleavings;

mod api;
mod apicbase;
mod apicbase_connect;
mod authorization;
mod bearer;
mod callback;
mod client;
mod connections;
mod cross_origin;
mod delete_wins;
mod dpop;
mod dpop_resource;
mod faults;
mod from_env;
mod http_client;
mod introspection;
mod jwks_rotation;
mod login_flow;
mod login_hook;
mod logout;
mod logout_copies;
mod logs;
mod mock_api;
mod mock_users;
mod multi_provider;
mod navigation;
mod pages;
mod par;
mod properties;
mod refresh;
mod register_app;
mod return_to;
mod secrets_redacted;
mod session_cookie;
mod startup;
mod store_contract;
mod store_names;
mod stores;
mod user_cache;
