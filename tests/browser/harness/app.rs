//! The `vcita_login` example's app on loopback, and the provider it logs in with: the
//! in-process `MockProvider`, or oidc-provider configured from `OAUTH_*` variables.

use axum_oauth_login::{OAuth, OAuthConfig};
use axum_oauth_login_mock::MockProvider;

use crate::interop_harness::{OidcProvider, POST_CLIENT, ProviderOptions};
use crate::support::{Server, bind, bounded, example};

/// The `vcita_login` example's app (`examples/vcita_login/app.rs`) on `127.0.0.1`, and
/// the provider it logs in with (`P`), wired as the example's `main` does.
pub struct App<P> {
    pub(super) base: String,
    pub(super) provider: P,
    pub(super) server: Server,
}

impl App<MockProvider> {
    /// With the example's embedded mock provider (what `main` does without
    /// `OAUTH_CLIENT_ID`); the app on port 0.
    pub(super) async fn mock() -> App<MockProvider> {
        let mock = MockProvider::start()
            .await
            .expect("the mock provider starts");
        let (listener, port) = bind().await;
        let base = format!("http://127.0.0.1:{port}");
        let oauth = example::configure(
            OAuth::builder(mock.provider(), mock.client_id(), mock.client_secret())
                .redirect_uri(format!("{base}/auth/callback")),
        )
        .build()
        .expect("OAuth builds");
        App {
            base,
            provider: mock,
            server: Server::start(listener, example::app(&oauth)),
        }
    }
}

impl App<OidcProvider> {
    /// Against oidc-provider, configured as `main` configures a real provider: from
    /// `OAUTH_*` variables (`OAuthConfig::from_vars_async`, which `from_env_async` reads
    /// the environment into) with `OAUTH_PROVIDER=oidc`, then the example's
    /// `configure(config.into_builder())` and `app(&oauth)`. The app's port is bound
    /// first: oidc-provider registers its callback and post-logout redirect URI.
    pub(super) async fn oidc() -> App<OidcProvider> {
        Self::oidc_with(
            POST_CLIENT.0,
            &[("OAUTH_CLIENT_SECRET", POST_CLIENT.1.to_owned())],
        )
        .await
    }

    /// The FAPI 2.0 client: `interop-dpop` (private_key_jwt, PAR required, DPoP-bound
    /// tokens, server nonces), configured from variables alone — no secret.
    pub(super) async fn oidc_fapi() -> App<OidcProvider> {
        let pem = |name: &str| {
            let path = format!("{}/tests/fixtures/keys/{name}", env!("CARGO_MANIFEST_DIR"));
            std::fs::read_to_string(path).expect("a test key")
        };
        let vars = [
            ("OAUTH_CLIENT_AUTH", "private_key_jwt".to_owned()),
            ("OAUTH_CLIENT_KEY", pem("p256.pem")),
            ("OAUTH_PAR", "on".to_owned()),
            ("OAUTH_DPOP", "on".to_owned()),
            ("OAUTH_DPOP_KEY", pem("p256-other.pem")),
        ];
        Self::oidc_with("interop-dpop", &vars).await
    }

    async fn oidc_with(client_id: &str, extra: &[(&'static str, String)]) -> App<OidcProvider> {
        let (listener, port) = bind().await;
        let base = format!("http://127.0.0.1:{port}");
        let redirect_uri = format!("{base}/auth/callback");
        let post_logout_redirect_uri = format!("{base}/");
        let provider = OidcProvider::start_with(
            std::slice::from_ref(&redirect_uri),
            ProviderOptions {
                backchannel_logout_uri: None,
                post_logout_redirect_uris: vec![post_logout_redirect_uri.clone()],
            },
        )
        .await;
        let mut vars = oidc_vars(
            &provider.issuer,
            client_id,
            &redirect_uri,
            &post_logout_redirect_uri,
        );
        vars.retain(|(name, _)| !extra.iter().any(|(e, _)| e == name));
        vars.extend(extra.iter().cloned());
        let config = bounded(
            "OAuthConfig::from_vars_async (discovery)",
            OAuthConfig::from_vars_async("OAUTH", vars),
        )
        .await
        .unwrap_or_else(|e| panic!("the OAUTH_* variables configure the app: {e}"));
        let oauth = example::configure(config.into_builder())
            .build()
            .expect("OAuth builds");
        App {
            base,
            provider,
            server: Server::start(listener, example::app(&oauth)),
        }
    }
}

/// The `OAUTH_*` variables `cargo run --example vcita_login` takes for oidc-provider
/// (besides `PORT`, which `main` alone reads to bind; here the listener is bound already).
///
/// `OAUTH_CLIENT_AUTH=post`: discovery chooses `client_secret_basic`, the first method
/// oidc-provider advertises, and `server.mjs` holds `interop-post` to the method it was
/// registered with, `client_secret_post`.
fn oidc_vars(
    issuer: &str,
    client_id: &str,
    redirect_uri: &str,
    post_logout_redirect_uri: &str,
) -> Vec<(&'static str, String)> {
    vec![
        ("OAUTH_PROVIDER", "oidc".to_owned()),
        ("OAUTH_ISSUER", issuer.to_owned()),
        ("OAUTH_CLIENT_ID", client_id.to_owned()),
        // `interop-post`'s registered method (the FAPI client replaces it).
        ("OAUTH_CLIENT_AUTH", "post".to_owned()),
        ("OAUTH_REDIRECT_URI", redirect_uri.to_owned()),
        (
            "OAUTH_POST_LOGOUT_REDIRECT_URI",
            post_logout_redirect_uri.to_owned(),
        ),
        ("OAUTH_SCOPES", "openid email profile".to_owned()),
    ]
}
