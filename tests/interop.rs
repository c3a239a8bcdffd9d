//! Interop: the crate against panva's `oidc-provider`, a certified OpenID Connect /
//! OAuth 2.0 server we did not write (issue 5, part 1).
//!
//! Needs Node and `npm ci --prefix tests/interop`. Without them the tests print a loud
//! SKIPPED notice and are reported as ignored (libtest-mimic harness, `tests/support/trial.rs`),
//! except on CI (`CI=true`), where they fail.
//!
//! Every test starts its own `node tests/interop/server.mjs` (fresh in-memory state) and
//! its own app on `127.0.0.1:0`; the login goes through oidc-provider's real
//! devInteractions login and consent pages.
//!
//! The tests, one module per concern (`interop/*.rs`), are registered in `main` under
//! their own names; `interop/oidc/` holds the OpenID Connect ones (`oidc::…`).

// The README's command builds with every feature; with fewer (a plain `cargo test`), the
// tests of a missing store are compiled out and some helpers go unused.
#![cfg_attr(
    not(all(feature = "redis", feature = "tower-sessions", feature = "file-store")),
    allow(unused)
)]

#[path = "support/mod.rs"]
mod support;
#[macro_use]
#[path = "interop/harness/mod.rs"]
mod harness;
#[macro_use]
#[path = "support/trial.rs"]
mod trial;

#[path = "interop/callback.rs"]
mod callback;
#[path = "interop/discovery.rs"]
mod discovery;
#[path = "interop/fapi.rs"]
mod fapi;
#[path = "interop/login.rs"]
mod login;
#[path = "interop/oidc/mod.rs"]
mod oidc;
#[path = "interop/tokens.rs"]
mod tokens;

use callback::*;
use discovery::*;
use login::*;
use tokens::*;

fn main() -> std::process::ExitCode {
    // With --all-features rustls has both of its providers (ring: the crate's default;
    // aws-lc: the dev-dependencies' reqwest), so it cannot pick one by itself for the
    // clients that ask for the process default (fantoccini's): the test process chooses.
    let _ = tokio_rustls::rustls::crypto::ring::default_provider().install_default();
    // Ignored, not passed, without Node or the packages (a panic under CI=true).
    let node = harness::node_available();
    let mut trials = trials![node;
        code_pkce_with_client_secret_post,
        code_pkce_with_client_secret_basic,
        the_registered_client_auth_method_is_enforced,
        an_altered_iss_is_refused_before_any_token_request,
        a_callback_without_iss_is_refused_when_the_issuer_is_configured,
        discovery_reads_what_oidc_provider_advertises_and_a_login_completes,
        a_discovered_provider_requires_the_advertised_iss,
        discovery_refuses_an_issuer_that_is_not_identical,
        a_tampered_state_is_refused_before_any_token_request,
        refresh_through_the_client_returns_a_new_access_token,
        an_expired_session_is_refreshed_transparently,
        introspection_then_logout_revokes,
        a_replayed_code_is_invalid_grant,
        a_wrong_pkce_verifier_is_invalid_grant,
        the_app_refuses_a_replayed_callback_without_a_token_request,
        oidc_from_variables_is_discovered,
        fapi::private_key_jwt_authenticates_the_code_refresh_introspection_and_revocation,
        fapi::a_login_pushes_its_request_when_the_client_must_and_only_then,
        fapi::oidc_provider_refuses_a_plain_request_for_a_client_that_must_push,
        fapi::dpop_binds_the_tokens_and_every_call_proves_the_key_with_the_servers_nonce,
        fapi::the_app_as_a_resource_server_takes_oidc_provider_s_dpop_tokens_with_proofs,
        fapi::provider_api_calls_carry_proofs_a_dpop_protected_resource_accepts,
        oidc::the_id_token_is_validated_with_the_logins_nonce_and_its_claims_reach_the_app,
        oidc::tampered_wrong_audience_expired_and_replayed_id_tokens_are_refused,
        oidc::a_key_rotation_at_the_provider_is_picked_up_without_a_restart,
        oidc::logout_continues_at_the_providers_end_session_endpoint_and_comes_back,
        oidc::a_backchannel_logout_ends_a_cookie_session,
        oidc::the_backchannel_route_refuses_bad_logout_tokens,
        oidc::jwt_access_tokens_are_checked_locally_without_calling_the_provider,
        oidc::a_refreshed_id_token_is_validated_and_must_keep_the_user,
    ];
    // The Redis trials need the crate's `redis` feature (the README's command has it).
    #[cfg(feature = "redis")]
    trials.extend(trials![node;
        oidc::a_backchannel_logout_ends_a_session_kept_in_redis,
        oidc::a_backchannel_logout_reaches_every_instance_through_a_shared_denylist,
        oidc::a_backchannel_logout_deletes_the_redis_record_for_every_instance,
    ]);
    trial::run(trials)
}
