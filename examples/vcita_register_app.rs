//! Registers an OAuth app with vcita and prints the credentials to export.
//!
//! ```text
//! VCITA_DIRECTORY_TOKEN=... cargo run --example vcita_register_app
//! cargo run --example vcita_register_app -- --mock     # dry run against the embedded mock
//! ```
//!
//! Environment: `VCITA_DIRECTORY_TOKEN` (required unless `--mock`), `VCITA_APP_NAME`,
//! `VCITA_APP_CODE_NAME`, `OAUTH_REDIRECT_URI` (defaults below), and `VCITA_API_URL` to
//! use another API host (e.g. a mock started elsewhere).
//!
//! vcita shows the client secret once: this program prints it once, to stdout only.

use std::process::ExitCode;

use axum_oauth_login::secret::AccessToken;
use axum_oauth_login::vcita::{AppRegistration, RegisterError, VcitaApi};
use axum_oauth_login_mock::MockProvider;

const DEFAULT_NAME: &str = "My OAuth App";
const DEFAULT_CODE_NAME: &str = "myoauthapp";
const DEFAULT_REDIRECT_URI: &str = "http://127.0.0.1:3000/auth/callback";

#[tokio::main]
async fn main() -> ExitCode {
    match run().await {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::FAILURE
        }
    }
}

async fn run() -> Result<(), String> {
    let mock_requested = std::env::args().nth(1).as_deref() == Some("--mock");
    let api_url = non_empty_var("VCITA_API_URL");

    // Keep the mock alive until the registration is done.
    let (api, token, _mock) = match api_url {
        Some(url) => {
            let api = VcitaApi::with_base_url(&url).map_err(|e| format!("VCITA_API_URL: {e}"))?;
            (api, directory_token()?, None)
        }
        None if mock_requested => {
            let mock = MockProvider::start()
                .await
                .map_err(|e| format!("cannot start the mock provider: {e}"))?;
            eprintln!(
                "--mock: registering against the embedded mock at {}",
                mock.base_url()
            );
            let api = VcitaApi::with_base_url(&mock.base_url()).map_err(|e| e.to_string())?;
            let token = AccessToken::new(mock.directory_token());
            (api, token, Some(mock))
        }
        None => {
            let api = VcitaApi::new().map_err(|e| e.to_string())?;
            (api, directory_token()?, None)
        }
    };

    let app = AppRegistration::new(
        var_or("VCITA_APP_NAME", DEFAULT_NAME),
        var_or("VCITA_APP_CODE_NAME", DEFAULT_CODE_NAME),
        var_or("OAUTH_REDIRECT_URI", DEFAULT_REDIRECT_URI),
    );
    eprintln!(
        "registering `{}` ({}) with redirect URI {}",
        app.name, app.app_code_name, app.redirect_uri
    );
    let registered = api.register_app(&token, &app).await.map_err(|e| match e {
        RegisterError::Invalid { .. } => format!(
            "{e}\n(set VCITA_APP_NAME, VCITA_APP_CODE_NAME or OAUTH_REDIRECT_URI to change them)"
        ),
        other => other.to_string(),
    })?;

    eprintln!("registered {registered}");
    eprintln!("vcita shows the client secret only this once: store it now.");
    println!("OAUTH_CLIENT_ID={}", registered.client_id);
    println!("OAUTH_CLIENT_SECRET={}", registered.client_secret.secret());
    println!("OAUTH_REDIRECT_URI={}", app.redirect_uri);
    Ok(())
}

fn directory_token() -> Result<AccessToken, String> {
    non_empty_var("VCITA_DIRECTORY_TOKEN")
        .map(AccessToken::new)
        .ok_or_else(|| {
            "VCITA_DIRECTORY_TOKEN is not set: export a vcita directory token, \
             or pass --mock for a dry run against the embedded mock provider"
                .to_owned()
        })
}

fn non_empty_var(name: &str) -> Option<String> {
    std::env::var(name).ok().filter(|v| !v.trim().is_empty())
}

fn var_or(name: &str, default: &str) -> String {
    non_empty_var(name).unwrap_or_else(|| default.to_owned())
}
