//! Connect an Apicbase library from the command line — no web server, no redirect URL.
//!
//! Apicbase: "if your application has no redirect URL configured, you'll be redirected
//! to an Apicbase page from where you can copy the authorization code". The code lives
//! one minute and works once.
//!
//! ```text
//! OAUTH_CLIENT_ID=... OAUTH_CLIENT_SECRET=... cargo run --example apicbase_connect --features file-store
//! ```
//!
//! The first run prints the authorize URL, reads the pasted code, exchanges it at once
//! and keeps the token set in a vault: a sealed file (`store::FileStore`, feature
//! `file-store`; mode 0600) at `$APICBASE_VAULT` (default `./apicbase-vault.json`, its key
//! in `….key` beside it, or `OAUTH_COOKIE_KEY`), or the store `OAUTH_SESSION_STORE` names
//! (`redis://...`, feature `redis`).
//! Later runs refresh the tokens when due and make one API call (`GET library/`).
//! `OAUTH_AUTHORIZE_URL`, `OAUTH_TOKEN_URL`, `OAUTH_INTROSPECTION_URL` and
//! `OAUTH_API_BASE` override the Apicbase preset's URLs (the tests point them at the
//! embedded mock). `APICBASE_ACCOUNT` names the connection (default `default`).

use std::error::Error;
use std::io::{BufRead as _, Write as _};
use std::path::{Path, PathBuf};
use std::sync::Arc;

use axum_oauth_login::store::{FileStore, SessionStore};
use axum_oauth_login::{
    CookieKey, Provider,
    client::OAuthClient,
    connections::Connections,
    secret::{AuthorizationCode, CsrfState, PkceVerifier},
};
use base64::Engine as _;

type Result<T> = std::result::Result<T, Box<dyn Error>>;

#[tokio::main(flavor = "current_thread")]
async fn main() {
    if let Err(e) = run().await {
        eprintln!("error: {e}");
        std::process::exit(1);
    }
}

async fn run() -> Result<()> {
    let var = |name: &str| std::env::var(name).ok().filter(|v| !v.trim().is_empty());
    let required = |name: &str| var(name).ok_or_else(|| format!("{name} is not set"));
    let mut provider = Provider::apicbase().to_builder();
    for (name, set) in [
        ("OAUTH_AUTHORIZE_URL", 0),
        ("OAUTH_TOKEN_URL", 1),
        ("OAUTH_INTROSPECTION_URL", 2),
        ("OAUTH_API_BASE", 3),
    ] {
        if let Some(url) = var(name) {
            provider = match set {
                0 => provider.authorize_url(url),
                1 => provider.token_url(url),
                2 => provider.introspection_url(url),
                _ => provider.api_base(url),
            };
        }
    }
    let client = OAuthClient::builder(
        provider.build()?,
        required("OAUTH_CLIENT_ID")?,
        required("OAUTH_CLIENT_SECRET")?,
    )
    .without_redirect_uri()
    .build()?;
    let account = var("APICBASE_ACCOUNT").unwrap_or_else(|| "default".into());
    let connections = vault(&client, var("OAUTH_SESSION_STORE"), var("APICBASE_VAULT"))?;

    if connections.tokens(&account).await.is_err() {
        connect(&client, &connections, &account).await?;
    }
    // Refreshed first when due; once more after a 401.
    let answer = connections.api(&account).get("library/").send().await?;
    println!("GET library/ → {}", answer.status());
    println!("{}", answer.text());
    Ok(())
}

/// The copy-the-code flow: print the URL, read the code, exchange it at once, keep it.
async fn connect(client: &OAuthClient, connections: &Connections, account: &str) -> Result<()> {
    let state = CsrfState::random();
    let verifier = PkceVerifier::random();
    let url = client.authorize_url(&state, Some(&verifier), None).await?;
    println!("Open this URL, log in, allow access, and copy the code shown:\n\n  {url}\n");
    print!("Code: ");
    std::io::stdout().flush()?;
    let mut code = String::new();
    std::io::stdin().lock().read_line(&mut code)?;
    let code = code.trim();
    if code.is_empty() {
        return Err("no code was pasted; run again".into());
    }
    let tokens = match client
        .exchange_code(AuthorizationCode::new(code), Some(&verifier))
        .await
    {
        Ok(tokens) => tokens,
        Err(e) if e.is_invalid_grant() => {
            return Err(
                "the code was refused: it expires after one minute and works once, \
                        or it was mistyped; run again"
                    .into(),
            );
        }
        Err(e) => return Err(format!("the code could not be exchanged: {e}").into()),
    };
    connections.save(account, tokens).await?;
    println!("Connected `{account}`.");
    Ok(())
}

/// The vault: `OAUTH_SESSION_STORE`, or a sealed file with its key beside it.
fn vault(client: &OAuthClient, store: Option<String>, file: Option<String>) -> Result<Connections> {
    let path = PathBuf::from(file.unwrap_or_else(|| "apicbase-vault.json".into()));
    let key = match std::env::var("OAUTH_COOKIE_KEY") {
        Ok(key) if !key.trim().is_empty() => CookieKey::from_base64(&key)?,
        _ => key_beside(&path)?,
    };
    let store: Arc<dyn SessionStore> = match store.as_deref() {
        None | Some("file") => Arc::new(FileStore::open(&path)?),
        Some(url) if url.starts_with("redis://") || url.starts_with("rediss://") => {
            redis_store(url)?
        }
        Some(other) => return Err(format!("OAUTH_SESSION_STORE: unsupported `{other}`").into()),
    };
    Ok(Connections::with_store(client.clone(), store, key))
}

#[cfg(feature = "redis")]
fn redis_store(url: &str) -> Result<Arc<dyn SessionStore>> {
    Ok(Arc::new(axum_oauth_login::store::RedisStore::open(url)?))
}

#[cfg(not(feature = "redis"))]
fn redis_store(_: &str) -> Result<Arc<dyn SessionStore>> {
    Err("OAUTH_SESSION_STORE=redis://… needs the `redis` feature".into())
}

/// The vault file's key, in `{vault}.key` (created with mode 0600 on first use).
fn key_beside(vault: &Path) -> Result<CookieKey> {
    let path = PathBuf::from(format!("{}.key", vault.display()));
    if let Ok(text) = std::fs::read_to_string(&path) {
        return Ok(CookieKey::from_base64(&text)?);
    }
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir)?;
    }
    let mut bytes = [0u8; 64];
    getrandom::getrandom(&mut bytes)?;
    let encoded = base64::engine::general_purpose::STANDARD.encode(bytes);
    let mut options = std::fs::OpenOptions::new();
    options.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut options, 0o600);
    options.open(&path)?.write_all(encoded.as_bytes())?;
    Ok(CookieKey::from_base64(&encoded)?)
}
