//! panva's `oidc-provider` (`node tests/interop/server.mjs`) as a child process: its start,
//! the events it reports on stdout, and the commands it takes on its stdin
//! ([`OidcProvider::command`]): key rotation ([`OidcProvider::rotate_keys`]) and one-shot
//! id_token alterations for negative tests ([`OidcProvider::mutate_next_id_token`],
//! [`OidcProvider::tamper_next_id_token`]).

use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use serde_json::Value;
use tokio::io::{AsyncBufReadExt, AsyncWriteExt, BufReader};
use tokio::process::{Child, ChildStdin, Command};
use tokio::task::JoinHandle;

use super::discovery::{Discovery, discover};
use super::{RESOURCE, interop_dir};
use crate::support::bounded;

/// Bound on the provider's start (Node start-up plus key generation).
pub const START_TIMEOUT: Duration = Duration::from_secs(20);
/// Bound on a stdin command's acknowledgement (a key rotation generates an RSA key).
pub const COMMAND_TIMEOUT: Duration = Duration::from_secs(10);

/// What [`OidcProvider::start_with`] registers for every client besides the redirect URIs.
#[derive(Debug, Clone, Default)]
pub struct ProviderOptions {
    /// `backchannel_logout_uri` (with `backchannel_logout_session_required: true`); none
    /// when `None`.
    pub backchannel_logout_uri: Option<String>,
    /// `post_logout_redirect_uris`; when empty, the origin of each redirect URI plus `/`.
    pub post_logout_redirect_uris: Vec<String>,
}

/// A running `node tests/interop/server.mjs`, killed when dropped.
pub struct OidcProvider {
    pub issuer: String,
    pub discovery: Discovery,
    events: Arc<Mutex<Vec<String>>>,
    child: Child,
    // Held open: the server exits when its stdin closes, so even a test process that
    // dies without running destructors leaves no server behind. Also the command channel
    // (the lock keeps one command and its acknowledgement together).
    stdin: tokio::sync::Mutex<Option<ChildStdin>>,
    readers: Vec<JoinHandle<()>>,
}

impl Drop for OidcProvider {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
        for r in &self.readers {
            r.abort();
        }
    }
}

impl OidcProvider {
    /// Starts the server with `redirect_uris` registered for every client and waits (at
    /// most [`START_TIMEOUT`]) for its `LISTENING` line, then reads its discovery document.
    pub async fn start(redirect_uris: &[String]) -> OidcProvider {
        Self::start_with(redirect_uris, ProviderOptions::default()).await
    }

    /// [`start`](Self::start) with back-channel logout and post-logout redirect URIs.
    pub async fn start_with(redirect_uris: &[String], options: ProviderOptions) -> OidcProvider {
        let mut command = Command::new("node");
        command
            .arg(interop_dir().join("server.mjs"))
            .current_dir(interop_dir())
            .env("PORT", "0")
            .env("REDIRECT_URIS", redirect_uris.join(" "));
        // Not inherited from the test's environment: only what `options` says.
        match &options.backchannel_logout_uri {
            Some(uri) => command.env("BACKCHANNEL_LOGOUT_URI", uri),
            None => command.env_remove("BACKCHANNEL_LOGOUT_URI"),
        };
        if options.post_logout_redirect_uris.is_empty() {
            command.env_remove("POST_LOGOUT_REDIRECT_URIS");
        } else {
            command.env(
                "POST_LOGOUT_REDIRECT_URIS",
                options.post_logout_redirect_uris.join(" "),
            );
        }
        command.env("RESOURCE", RESOURCE);
        command.env("CLIENT_JWK", super::client_key().public_jwk().to_string());
        let mut child = command
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .expect("`node tests/interop/server.mjs` starts");
        let stdin = child.stdin.take();
        let mut stdout = BufReader::new(child.stdout.take().expect("stdout")).lines();
        let mut stderr = BufReader::new(child.stderr.take().expect("stderr")).lines();

        // stderr: kept for the failure message, and echoed (captured by the test harness).
        let errors = Arc::new(Mutex::new(Vec::<String>::new()));
        let err_sink = errors.clone();
        let err_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = stderr.next_line().await {
                eprintln!("[oidc-provider] {line}");
                err_sink.lock().unwrap().push(line);
            }
        });

        let issuer = tokio::time::timeout(START_TIMEOUT, async {
            while let Some(line) = stdout.next_line().await.ok().flatten() {
                if let Some(issuer) = line.strip_prefix("LISTENING ") {
                    return Some(issuer.trim().to_owned());
                }
                eprintln!("[oidc-provider] {line}");
            }
            None
        })
        .await;
        let issuer = match issuer {
            Ok(Some(issuer)) => issuer,
            Ok(None) => panic!(
                "oidc-provider exited before listening; stderr:\n{}",
                errors.lock().unwrap().join("\n")
            ),
            Err(_) => panic!(
                "oidc-provider did not print LISTENING within {START_TIMEOUT:?}; stderr:\n{}",
                errors.lock().unwrap().join("\n")
            ),
        };

        // stdout after LISTENING: `EVENT ...` lines, collected; drained so Node never blocks.
        let events = Arc::new(Mutex::new(Vec::new()));
        let sink = events.clone();
        let out_reader = tokio::spawn(async move {
            while let Ok(Some(line)) = stdout.next_line().await {
                match line.strip_prefix("EVENT ") {
                    Some(event) => sink.lock().unwrap().push(event.to_owned()),
                    None => eprintln!("[oidc-provider] {line}"),
                }
            }
        });

        let discovery = discover(&issuer).await;
        OidcProvider {
            issuer,
            discovery,
            events,
            child,
            stdin: tokio::sync::Mutex::new(stdin),
            readers: vec![err_reader, out_reader],
        }
    }

    /// Events the server reported so far (`grant.success interop-post`,
    /// `auth /token client_secret_basic interop-basic`, ...).
    ///
    /// The server prints an event before it answers the request, and Linux pipes are
    /// synchronous in Node, so the line is in the pipe by the time the requester has its
    /// answer; the short settle lets the reader task take it out.
    pub async fn events(&self) -> Vec<String> {
        tokio::time::sleep(Duration::from_millis(150)).await;
        self.events.lock().unwrap().clone()
    }

    /// How many requests reached the token endpoint (code exchanges and refreshes,
    /// whether they succeeded or not).
    pub async fn token_requests(&self) -> usize {
        self.events()
            .await
            .iter()
            .filter(|e| e.starts_with("auth /token "))
            .count()
    }

    /// Writes `line` to the server's stdin and waits (at most [`COMMAND_TIMEOUT`]) for
    /// its acknowledgement (`EVENT ok <VERB>`), so the command is in force before the
    /// next request; panics on `EVENT command.error ...`. Returns the events the server
    /// reported from the moment the line was sent up to the acknowledgement.
    pub async fn command(&self, line: &str) -> Vec<String> {
        let verb = line
            .split_whitespace()
            .next()
            .unwrap_or_default()
            .to_owned();
        let mut stdin = self.stdin.lock().await;
        let pipe = stdin.as_mut().expect("the server's stdin is open");
        let seen = self.events.lock().unwrap().len();
        let write = async {
            pipe.write_all(format!("{}\n", line.trim_end()).as_bytes())
                .await?;
            pipe.flush().await
        };
        bounded("writing to the server's stdin", write)
            .await
            .unwrap_or_else(|e| panic!("`{verb}` reaches the server: {e}"));
        let ok = format!("ok {verb}");
        let error = format!("command.error {verb} ");
        let deadline = Instant::now() + COMMAND_TIMEOUT;
        loop {
            let new: Vec<String> = self.events.lock().unwrap()[seen..].to_vec();
            if let Some(failure) = new.iter().find(|e| e.starts_with(&error)) {
                panic!("oidc-provider refused `{line}`: {failure}");
            }
            if let Some(at) = new.iter().position(|e| *e == ok) {
                return new[..=at].to_vec();
            }
            assert!(
                Instant::now() < deadline,
                "oidc-provider did not acknowledge `{verb}` within {COMMAND_TIMEOUT:?}"
            );
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
    }

    /// `ROTATE`: the server generates a new signing key and serves its jwks as [new, old]
    /// (the new key signs from now on; sessions, grants and codes survive). Returns the
    /// new key's `kid`.
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn rotate_keys(&self) -> String {
        let events = self.command("ROTATE").await;
        events
            .iter()
            .find_map(|e| e.strip_prefix("rotated "))
            .unwrap_or_else(|| panic!("no `rotated <kid>` event: {events:?}"))
            .to_owned()
    }

    /// `MUTATE_ID_TOKEN`: the next authorization-code token response's id_token gets
    /// `claims` (a JSON object) merged into its payload (`null` deletes a claim) and is
    /// re-signed with the same key: a valid signature over wrong claims.
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn mutate_next_id_token(&self, claims: Value) {
        assert!(
            claims.is_object(),
            "claims to merge must be an object: {claims}"
        );
        self.command(&format!("MUTATE_ID_TOKEN {claims}")).await;
    }

    /// `MUTATE_REFRESHED_ID_TOKEN <json>`: like [`mutate_next_id_token`](Self::mutate_next_id_token),
    /// for the next refresh-token response.
    pub async fn mutate_next_refreshed_id_token(&self, claims: Value) {
        self.command(&format!("MUTATE_REFRESHED_ID_TOKEN {claims}"))
            .await;
    }

    /// `TAMPER_ID_TOKEN`: the next authorization-code token response's id_token has its
    /// `email` changed to `mallory@example.test` without re-signing (its signature no
    /// longer verifies).
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn tamper_next_id_token(&self) {
        self.command("TAMPER_ID_TOKEN").await;
    }

    /// The id_token of the last token response that carried one (as delivered, after
    /// any mutation).
    #[allow(dead_code)] // used by the OIDC interop tests
    pub async fn last_id_token(&self) -> Option<String> {
        self.events()
            .await
            .iter()
            .rev()
            .find_map(|e| e.strip_prefix("id_token "))
            .map(str::to_owned)
    }
}
