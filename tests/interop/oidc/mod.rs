//! OpenID Connect against oidc-provider: id_tokens validated at the callback (and each
//! kind of bad one refused), key rotation at the provider, RP-initiated logout,
//! back-channel logout sent by the provider, and JWT access tokens checked locally.
//!
//! What the tests share is here; the tests are in one submodule per concern, re-exported
//! so that each keeps its name (`oidc::…`).

use std::time::Duration;

use base64::Engine as _;
use serde_json::Value;

use crate::harness::InteropApp;
use crate::support::bounded;

mod id_token;
mod jwt_access_tokens;
mod logout;

pub use id_token::*;
pub use jwt_access_tokens::*;
pub use logout::*;

/// The decoded header and payload of a compact JWT (test inspection only).
fn jwt_parts(token: &str) -> (Value, Value) {
    let decode = |part: &str| -> Value {
        let bytes = base64::engine::general_purpose::URL_SAFE_NO_PAD
            .decode(part)
            .expect("base64url");
        serde_json::from_slice(&bytes).expect("JSON")
    };
    let mut parts = token.split('.');
    (decode(parts.next().unwrap()), decode(parts.next().unwrap()))
}

async fn count(app: &InteropApp, event: &str) -> usize {
    app.provider
        .events()
        .await
        .iter()
        .filter(|e| e.starts_with(event))
        .count()
}

/// Waits (bounded) until the provider reports `event`.
async fn event_seen(app: &InteropApp, event: &str) {
    bounded(event, async {
        while count(app, event).await == 0 {
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    })
    .await;
}
