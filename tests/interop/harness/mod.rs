//! Harness for `tests/interop.rs`: panva's `oidc-provider` (Node) as a child process, the
//! `vcita_login` example's app (with the test-only routes, `tests/support/app.rs`) wired
//! against it, and a walk through the provider's devInteractions login and consent pages
//! with the shared cookie-keeping, non-redirecting [`Http`] client.
//!
//! Nothing here knows the crate's internals: the provider's endpoints come from its
//! discovery document (read here with plain reqwest, or by the crate's own
//! `Provider::discover` for [`InteropApp::start_discovered`]), and the login is driven
//! through real HTML forms.
//!
//! One submodule per part: [`oidc_provider`] (the Node process and its stdin commands),
//! [`discovery`] (its metadata, and provider descriptions for the crate), [`app`] (the
//! app under test) and [`walk`] (the walks through the provider's pages).

use std::path::{Path, PathBuf};
use std::process::Stdio;

use axum_oauth_login::provider::ClientAuth;

mod app;
mod discovery;
mod oidc_provider;
mod walk;

pub use app::InteropApp;
pub use oidc_provider::{OidcProvider, ProviderOptions};
pub use walk::{logout_at_provider, walk_provider, walk_rp_logout};

/// The account every devInteractions login uses (its `sub`).
pub const LOGIN: &str = "interop-user";
/// The email `server.mjs` gives every account.
pub const EMAIL: &str = "interop@example.test";

/// The two clients `server.mjs` registers: (id, secret, auth method).
pub const POST_CLIENT: (&str, &str, ClientAuth) = (
    "interop-post",
    "interop-post-secret",
    ClientAuth::ClientSecretPost,
);
pub const BASIC_CLIENT: (&str, &str, ClientAuth) = (
    "interop-basic",
    "interop-basic-secret",
    ClientAuth::ClientSecretBasic,
);
/// The third client: its access tokens are RFC 9068 JWTs (`typ: at+jwt`) for
/// [`RESOURCE`], which `server.mjs` makes its default resource (RFC 8707).
#[allow(dead_code)] // used by the OIDC interop tests
pub const JWT_CLIENT: (&str, &str, ClientAuth) = (
    "interop-jwt",
    "interop-jwt-secret",
    ClientAuth::ClientSecretPost,
);
/// `private_key_jwt` (RFC 7523) with [`client_key`]'s public key, registered by
/// `server.mjs` without a secret.
#[allow(dead_code)] // used by the FAPI interop tests
pub const PKJWT_CLIENT: (&str, &str, ClientAuth) = ("interop-pkjwt", "", ClientAuth::PrivateKeyJwt);
/// Like [`PKJWT_CLIENT`], and oidc-provider requires its authorization requests pushed
/// (RFC 9126, the client's `require_pushed_authorization_requests`).
#[allow(dead_code)] // used by the FAPI interop tests
pub const PAR_CLIENT: (&str, &str, ClientAuth) = ("interop-par", "", ClientAuth::PrivateKeyJwt);

/// Like [`PAR_CLIENT`], and its access tokens are DPoP-bound (`dpop_bound_access_tokens`,
/// RFC 9449); oidc-provider requires a server nonce in every proof.
#[allow(dead_code)] // used by the FAPI interop tests
pub const DPOP_CLIENT: (&str, &str, ClientAuth) = ("interop-dpop", "", ClientAuth::PrivateKeyJwt);

/// The private key of [`PKJWT_CLIENT`] and [`PAR_CLIENT`] (a throwaway test key).
pub fn client_key() -> axum_oauth_login::jose::SigningKey {
    let pem = include_str!("../../fixtures/keys/p256.pem");
    axum_oauth_login::jose::SigningKey::from_pem(pem).expect("the test key reads")
}

/// The `aud` of [`JWT_CLIENT`]'s access tokens (`server.mjs`'s default `RESOURCE`).
#[allow(dead_code)] // used by the OIDC interop tests
pub const RESOURCE: &str = "urn:interop:api";

fn interop_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/interop")
}

/// Whether the suite can run: `node` on the PATH and `npm ci --prefix tests/interop` done.
///
/// When it cannot: with `CI=true` this panics (CI must never skip silently); otherwise it
/// prints a loud notice to stderr and returns `false`, and the test returns early.
pub fn node_available() -> bool {
    let node = std::process::Command::new("node")
        .arg("--version")
        .stdin(Stdio::null())
        .output();
    let problem = match node {
        Err(e) => Some(format!("`node` could not be run ({e})")),
        Ok(out) if !out.status.success() => Some("`node --version` failed".to_owned()),
        Ok(_)
            if !interop_dir()
                .join("node_modules/oidc-provider/package.json")
                .is_file() =>
        {
            Some("tests/interop/node_modules is not installed".to_owned())
        }
        Ok(_) => None,
    };
    let Some(problem) = problem else {
        return true;
    };
    if std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true")) {
        panic!(
            "interop suite cannot run on CI: {problem}. \
             Run `.ci/interop.sh` (npm ci --prefix tests/interop) before `cargo test`."
        );
    }
    // Written to the real stderr, not through `eprintln!`, which the test harness
    // captures and hides for passing tests; once per test binary.
    static NOTICE: std::sync::Once = std::sync::Once::new();
    NOTICE.call_once(|| {
        use std::io::Write as _;
        let _ = writeln!(
            std::io::stderr(),
            "\n**************************************************************\n\
             SKIPPED: interop tests against oidc-provider: {problem}.\n\
             run `npm ci --prefix tests/interop` first\n\
             **************************************************************\n"
        );
    });
    false
}

/// Returns early from a test (after a loud notice) when Node or the packages are missing.
macro_rules! require_node {
    () => {
        if !crate::harness::node_available() {
            return;
        }
    };
}
