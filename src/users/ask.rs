//! Asking for a token's user when no cache has it: a JWT access token checked locally
//! against the provider's keys, else the provider's userinfo or introspection endpoint.

use std::sync::Arc;

use serde_json::Value;

use super::{Answer, NEGATIVE_TTL_SECS, UserCache};
use crate::client::TokenRef;
use crate::provider::UserResolver;
use crate::secret::AccessToken;
use crate::transport::OAuthError;

impl UserCache {
    /// A JWT access token checked against the provider's keys (RFC 9068): no call to the
    /// provider; the answer is cached until the token's `exp`, so a token's signature is
    /// verified once. Revocation at the provider is not seen: the token's lifetime is
    /// the bound.
    ///
    /// `None` for a JWT that is not an `at+jwt` access token (some providers sign their
    /// access tokens as plain `JWT`): the provider resolves those.
    pub(super) async fn check_locally(
        &self,
        oidc: &crate::oidc::Oidc,
        token: &AccessToken,
    ) -> Option<Result<Answer, Arc<OAuthError>>> {
        Some(match oidc.access_token(token.secret()).await {
            Err(crate::error::JwtError::Type(_)) => return None,
            Ok(checked) => Ok(Answer::user(
                Value::Object(checked.claims),
                checked.scope.map(Arc::from),
                checked.exp,
            )),
            Err(e) if e.is_transient() => Err(Arc::new(OAuthError::Transport {
                endpoint: crate::transport::Endpoint::Jwks,
                reason: e.to_string(),
            })),
            Err(e) => {
                tracing::debug!(error = %e, "JWT access token refused");
                Ok(Answer::Refused {
                    until: self.clock.now() + NEGATIVE_TTL_SECS,
                })
            }
        })
    }

    /// The provider's answer (userinfo or introspection), one of at most
    /// `max_concurrent` calls at a time.
    pub(super) async fn ask(
        &self,
        token: AccessToken,
        token_expires_at: Option<u64>,
        dpop_jkt: Option<&str>,
    ) -> Result<Answer, Arc<OAuthError>> {
        let endpoint = self.endpoint();
        let _turn = match tokio::time::timeout(self.wait, self.upstream.acquire()).await {
            Ok(Ok(permit)) => permit,
            _ => {
                tracing::warn!("too many user lookups in flight; answering 503");
                return Err(Arc::new(OAuthError::Timeout {
                    endpoint,
                    timeout: self.wait,
                }));
            }
        };
        let now = self.clock.now();
        let refused = Answer::Refused {
            until: now + NEGATIVE_TTL_SECS,
        };
        match self.client.provider().user_resolver() {
            UserResolver::Userinfo => {
                match self.client.userinfo_bound::<Value>(&token, dpop_jkt).await {
                    Ok(value) if value.is_object() => {
                        Ok(Answer::user(value, None, self.until(now, token_expires_at)))
                    }
                    Ok(_) => Err(Arc::new(OAuthError::Malformed {
                        endpoint: crate::transport::Endpoint::Userinfo,
                        status: 200,
                        reason: "the user info is not a JSON object".into(),
                        excerpt: None,
                    })),
                    Err(e) if e.is_invalid_token() => Ok(refused),
                    Err(e) => Err(Arc::new(e)),
                }
            }
            UserResolver::Introspection => {
                let answer = self
                    .client
                    .introspect(TokenRef::Access(&token))
                    .await
                    .map_err(Arc::new)?;
                let expired = answer.exp.is_some_and(|exp| exp <= now);
                // A token the provider issued to another app must not log anyone in here
                // (token substitution, RFC 7662 §4), and a refresh token is no bearer token.
                let foreign = answer
                    .client_id
                    .as_deref()
                    .is_some_and(|id| id != self.client.client_id());
                let refresh = answer.token_type.as_deref() == Some("refresh_token");
                if !answer.active || expired || foreign || refresh {
                    if foreign || refresh {
                        tracing::warn!(
                            foreign,
                            refresh,
                            "introspected token refused: not an access token of this client"
                        );
                    }
                    return Ok(refused);
                }
                let exp = match (answer.exp, token_expires_at) {
                    (Some(a), Some(b)) => Some(a.min(b)),
                    (a, b) => a.or(b),
                };
                let value = serde_json::to_value(answer.to_user_info()).unwrap_or(Value::Null);
                Ok(Answer::user(
                    value,
                    answer.scope.as_deref().map(Arc::from),
                    self.until(now, exp),
                ))
            }
        }
    }
}
