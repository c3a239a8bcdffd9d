//! The `apicbase_connect` example end to end: a command-line program with no web server
//! connects an Apicbase(-shaped mock) library by the copy-the-code flow — the code read
//! from the mock's page and fed on stdin — keeps it in a sealed 0600 file, and later
//! runs refresh and call the API.

use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::time::Duration;

use axum_oauth_login_mock::{MockEndpoint, MockProvider};
use tokio::io::{AsyncBufReadExt as _, AsyncReadExt as _, AsyncWriteExt as _, BufReader};
use tokio::process::{Child, Command};

use crate::support::bounded;

/// The example's binary, built (or found up to date) with the test's features.
fn example_binary() -> PathBuf {
    let status = std::process::Command::new(env!("CARGO"))
        .args([
            "build",
            "--quiet",
            "--all-features",
            "--example",
            "apicbase_connect",
        ])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .status()
        .expect("cargo runs");
    assert!(status.success(), "the example builds");
    // target/<profile>/deps/it-… → target/<profile>/examples/apicbase_connect
    let exe = std::env::current_exe().expect("test binary path");
    let profile_dir = exe.parent().and_then(Path::parent).expect("target dir");
    profile_dir.join("examples").join("apicbase_connect")
}

fn scratch(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "aol-connect-{name}-{}-{}",
        std::process::id(),
        rand_suffix()
    ));
    std::fs::create_dir_all(&dir).expect("scratch dir");
    dir
}

fn rand_suffix() -> u64 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos().into())
}

/// Starts the program against `mock`, keeping its vault in `dir`.
fn start(mock: &MockProvider, dir: &Path) -> Child {
    let provider = mock.provider();
    Command::new(example_binary())
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("OAUTH_CLIENT_ID", mock.client_id())
        .env("OAUTH_CLIENT_SECRET", mock.client_secret())
        .env("OAUTH_AUTHORIZE_URL", provider.authorize_url().as_str())
        .env("OAUTH_TOKEN_URL", provider.token_url().as_str())
        .env(
            "OAUTH_INTROSPECTION_URL",
            provider
                .introspection_url()
                .expect("introspection")
                .as_str(),
        )
        .env(
            "OAUTH_API_BASE",
            provider.api_base().expect("api base").as_str(),
        )
        .env("APICBASE_VAULT", dir.join("vault.json"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .kill_on_drop(true)
        .spawn()
        .expect("the example starts")
}

/// Reads the program's stdout up to the authorize URL it prints.
async fn authorize_url(child: &mut Child) -> (String, BufReader<tokio::process::ChildStdout>) {
    let mut out = BufReader::new(child.stdout.take().expect("stdout"));
    let mut line = String::new();
    loop {
        line.clear();
        let n = bounded("the program's output", out.read_line(&mut line))
            .await
            .expect("read");
        assert!(n > 0, "the program ended before printing the URL");
        if let Some(url) = line.trim().strip_prefix("http") {
            return (format!("http{url}"), out);
        }
    }
}

/// Feeds `code` and waits for the end: (success, stdout rest, stderr).
async fn finish(
    mut child: Child,
    mut out: BufReader<tokio::process::ChildStdout>,
    code: Option<&str>,
) -> (bool, String, String) {
    let mut stdin = child.stdin.take().expect("stdin");
    if let Some(code) = code {
        stdin
            .write_all(format!("{code}\n").as_bytes())
            .await
            .unwrap();
    }
    drop(stdin);
    let mut stdout = String::new();
    let mut stderr = String::new();
    let mut err = child.stderr.take().expect("stderr");
    bounded("the program's output", async {
        out.read_to_string(&mut stdout).await.unwrap();
        err.read_to_string(&mut stderr).await.unwrap();
    })
    .await;
    let status = bounded("the program's end", child.wait()).await.unwrap();
    (status.success(), stdout, stderr)
}

#[tokio::test]
async fn copy_the_code_connects_and_later_runs_refresh_and_call_the_api() {
    let mock = MockProvider::apicbase().start().await.expect("mock");
    let dir = scratch("ok");

    let mut child = start(&mock, &dir);
    let (url, out) = authorize_url(&mut child).await;
    assert!(!url.contains("redirect_uri"), "no redirect URI: {url}");
    let code = bounded("the mock's code page", mock.authorize_for_code(&url))
        .await
        .expect("a code");
    let (ok, stdout, stderr) = finish(child, out, Some(&code)).await;
    assert!(ok, "first run: {stdout}\n{stderr}");
    assert!(stdout.contains("Connected `default`"), "{stdout}");
    assert!(stdout.contains("GET library/ → 200"), "{stdout}");
    assert!(stdout.contains("chef@example.com's library"), "{stdout}");
    let token_request = mock
        .requests(MockEndpoint::Token)
        .pop()
        .expect("a token request");
    assert!(!token_request.fields.contains_key("redirect_uri"));

    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt as _;
        for file in ["vault.json", "vault.json.key"] {
            let mode = std::fs::metadata(dir.join(file))
                .unwrap()
                .permissions()
                .mode();
            assert_eq!(mode & 0o777, 0o600, "{file}");
        }
    }
    let vault = std::fs::read_to_string(dir.join("vault.json")).unwrap();
    assert!(
        !vault.contains("Bearer") && !vault.contains("access_token"),
        "sealed at rest"
    );

    // A week later (Apicbase access tokens live one week): the next run refreshes once
    // and calls the API, with no code to paste.
    mock.advance_clock(Duration::from_secs(8 * 24 * 3600));
    let refreshes = mock.refresh_hits();
    let mut child = start(&mock, &dir);
    let out = BufReader::new(child.stdout.take().unwrap());
    let (ok, stdout, stderr) = finish(child, out, None).await;
    assert!(ok, "second run: {stdout}\n{stderr}");
    assert!(stdout.contains("GET library/ → 200"), "{stdout}");
    assert_eq!(mock.refresh_hits(), refreshes + 1, "one refresh");
    let _ = std::fs::remove_dir_all(&dir);
}

#[tokio::test]
async fn an_expired_code_gets_a_clear_message_not_a_stack_trace() {
    let mock = MockProvider::apicbase().start().await.expect("mock");
    let dir = scratch("expired");
    let mut child = start(&mock, &dir);
    let (url, out) = authorize_url(&mut child).await;
    let code = bounded("the mock's code page", mock.authorize_for_code(&url))
        .await
        .expect("a code");
    mock.advance_clock(Duration::from_secs(61)); // Apicbase codes live one minute
    let (ok, stdout, stderr) = finish(child, out, Some(&code)).await;
    assert!(!ok, "{stdout}");
    assert!(
        stderr.contains(
            "the code was refused: it expires after one minute and works once, or it was \
             mistyped; run again"
        ),
        "{stderr}"
    );
    assert!(!stderr.contains("panicked"), "{stderr}");
    assert!(!stderr.contains(&code), "the code is not echoed: {stderr}");
    let _ = std::fs::remove_dir_all(&dir);
}
