//! The authorization request (RFC 6749 §4.1.1): as the authorize URL's query, or pushed
//! first to the provider (RFC 9126) so that the browser carries only `client_id` and an
//! opaque `request_uri`.

use serde_json::Value;
use url::Url;

use super::{Fields, OAuthClient};
use crate::secret::{CsrfState, Nonce, PkceVerifier};
use crate::transport::{Endpoint, OAuthError};

/// The longest `request_uri` taken from a PAR answer (RFC 9126 names no limit; real ones
/// are well under 200 bytes): it travels in the browser's URL.
const MAX_REQUEST_URI: usize = 2048;

impl OAuthClient {
    /// The URL to send the browser to: `response_type=code`, `client_id`,
    /// `redirect_uri`, `state`, `scope` (when set), the PKCE S256 challenge (when a
    /// verifier is given), `nonce` (OpenID Connect, when given) and the provider's extra
    /// parameters; with DPoP on and no PAR, `dpop_jkt` (the key's thumbprint, RFC 9449
    /// §10).
    ///
    /// When the provider [uses PAR](crate::Provider::uses_par) (RFC 9126), those
    /// parameters are first POSTed to its pushed authorization request endpoint with
    /// client authentication, and the URL carries only `client_id` and the
    /// `request_uri` the provider answered; a failed push is the error, never a plain
    /// request instead. Otherwise nothing is sent and the parameters are the URL's query.
    ///
    /// The URL carries the state and the challenge, never the verifier or the secret.
    pub async fn authorize_url(
        &self,
        state: &CsrfState,
        pkce: Option<&PkceVerifier>,
        nonce: Option<&Nonce>,
    ) -> Result<Url, OAuthError> {
        let provider = &self.inner.provider;
        let challenge = pkce.map(PkceVerifier::s256_challenge);
        let scope = provider.scopes().join(" ");
        let mut params: Fields<'_> = vec![
            ("response_type", "code"),
            ("client_id", &self.inner.client_id),
        ];
        if let Some(redirect_uri) = &self.inner.redirect_uri {
            params.push(("redirect_uri", redirect_uri.as_str()));
        }
        params.push(("state", state.secret()));
        if !scope.is_empty() {
            params.push(("scope", &scope));
        }
        if let Some(challenge) = &challenge {
            params.push(("code_challenge", challenge));
            params.push(("code_challenge_method", "S256"));
        }
        if let Some(nonce) = nonce {
            params.push(("nonce", nonce.secret()));
        }
        // DPoP without PAR: the code is bound to the key at authorization (RFC 9449
        // §10); with PAR the pushed request's proof binds it.
        if !provider.uses_par()
            && let Some(jkt) = self.binding()
        {
            params.push(("dpop_jkt", jkt));
        }
        for (k, v) in provider.authorize_params() {
            params.push((k.as_str(), v.as_str()));
        }
        let mut url = provider.authorize_url().clone();
        if !provider.uses_par() {
            url.query_pairs_mut().extend_pairs(&params);
            return Ok(url);
        }
        let request_uri = self.push(params).await?;
        url.query_pairs_mut()
            .append_pair("client_id", &self.inner.client_id)
            .append_pair("request_uri", &request_uri);
        Ok(url)
    }

    /// Pushes the authorization parameters (RFC 9126 §2) and returns the `request_uri`.
    async fn push(&self, mut params: Fields<'_>) -> Result<String, OAuthError> {
        let endpoint = Endpoint::PushedAuthorization;
        // Client authentication adds `client_id` (every method sends it): once only.
        params.retain(|(name, _)| *name != "client_id");
        let url = self
            .inner
            .provider
            .par_url()
            .ok_or(OAuthError::NotConfigured { endpoint })?;
        let (status, body) = self.post(endpoint, url, params).await?;
        let malformed = |reason: &str| OAuthError::Malformed {
            endpoint,
            status,
            reason: reason.to_owned(),
            excerpt: None,
        };
        let answer: Value =
            serde_json::from_slice(&body).map_err(|_| malformed("the body is not JSON"))?;
        match answer.get("request_uri").and_then(Value::as_str) {
            Some(uri) if !uri.is_empty() && uri.len() <= MAX_REQUEST_URI => Ok(uri.to_owned()),
            Some(_) => Err(malformed("the request_uri is empty or too long")),
            None => Err(malformed("the answer has no request_uri")),
        }
    }
}
