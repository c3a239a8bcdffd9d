//! The codes and tokens a running mock issues: their lifetimes, the mock's clock, tokens
//! minted without a login, and which tokens still work.

use std::time::Duration;

use crate::{MockProvider, UnknownUser};

impl MockProvider {
    /// The `expires_in` of tokens issued from now on.
    pub fn set_token_lifetime(&self, lifetime: Duration) {
        self.inner.shared.lock().config.token_lifetime = lifetime;
    }

    /// The lifetime of codes issued from now on.
    pub fn set_code_lifetime(&self, lifetime: Duration) {
        self.inner.shared.lock().config.code_lifetime = lifetime;
    }

    /// Moves the mock's clock forward: codes and tokens expire without sleeping, and
    /// `created_at` / `exp` values move with it.
    pub fn advance_clock(&self, by: Duration) {
        let mut inner = self.inner.shared.lock();
        inner.clock_offset = inner.clock_offset.saturating_add(by);
    }

    /// Mints an access token for the primary user ([`user`](Self::user)) and the
    /// default client, as if a login had just happened, and returns it.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let token = mock.issue_token();
    /// let answer: serde_json::Value = reqwest::Client::new()
    ///     .post(mock.provider().introspection_url().unwrap().clone())
    ///     .form(&[
    ///         ("token", token.as_str()),
    ///         ("client_id", mock.client_id()),
    ///         ("client_secret", mock.client_secret()),
    ///     ])
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(answer["username"], "owner@example.com");
    /// assert_eq!(answer["sub"], "u-1001");
    /// # Ok(())
    /// # }
    /// ```
    pub fn issue_token(&self) -> String {
        let email = self.user().email;
        self.issue_token_for(&email)
            .unwrap_or_else(|e| unreachable!("the primary user is known: {e}"))
    }

    /// Mints an access token for the user with this login email (compared
    /// case-insensitively) and the default client, as if that user had just logged in.
    /// Userinfo and introspection answer for that user.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let token = mock.issue_token_for("staff@example.com")?;
    /// let info: serde_json::Value = reqwest::Client::new()
    ///     .get(mock.provider().userinfo_url().unwrap().clone())
    ///     .bearer_auth(&token)
    ///     .send()
    ///     .await?
    ///     .json()
    ///     .await?;
    /// assert_eq!(info["sub"], "u-1002");
    /// assert!(mock.issue_token_for("nobody@example.com").is_err());
    /// # Ok(())
    /// # }
    /// ```
    pub fn issue_token_for(&self, email: &str) -> Result<String, UnknownUser> {
        let client_id = self.client_id().to_owned();
        let mut inner = self.inner.shared.lock();
        let user = inner
            .user(email)
            .ok_or_else(|| UnknownUser {
                email: email.to_owned(),
            })?
            .email
            .clone();
        let body = inner.issue_tokens(&client_id, &user, None, None, None);
        Ok(body["access_token"].as_str().unwrap_or_default().to_owned())
    }

    /// Mints an access token for the primary user and the default client, bound to the
    /// DPoP key whose RFC 7638 thumbprint is `jkt` — as a token request carrying that key's
    /// proof would have it (RFC 9449): introspection answers `cnf.jkt`, and userinfo and
    /// the API take it only as `Authorization: DPoP` with a proof of that key.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")]
    /// # async fn main() -> Result<(), Box<dyn std::error::Error>> {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await?;
    /// let token = mock.issue_dpop_token("0ZcOCORZNYy-DWpqq30jZyJGHTN0d2HglBV3uiguA4I");
    /// let res = reqwest::Client::new()
    ///     .get(mock.provider().userinfo_url().unwrap().clone())
    ///     .bearer_auth(&token)
    ///     .send()
    ///     .await?;
    /// assert_eq!(res.status(), 401, "a bound token is no Bearer token");
    /// # Ok(())
    /// # }
    /// ```
    pub fn issue_dpop_token(&self, jkt: &str) -> String {
        let token = self.issue_token();
        if let Some(grant) = self.inner.shared.lock().access.get_mut(&token) {
            grant.dpop_jkt = Some(jkt.to_owned());
        }
        token
    }

    /// The access tokens that would work now (issued, not revoked, not expired): a test
    /// of logout or of a refresh race checks that nothing issued is left live.
    ///
    /// ```
    /// # #[tokio::main(flavor = "current_thread")] async fn main() {
    /// let mock = axum_oauth_login_mock::MockProvider::start().await.unwrap();
    /// let token = mock.issue_token();
    /// assert_eq!(mock.live_access_tokens(), vec![token]);
    /// mock.revoke_all();
    /// assert!(mock.live_access_tokens().is_empty());
    /// # }
    /// ```
    pub fn live_access_tokens(&self) -> Vec<String> {
        let inner = self.inner.shared.lock();
        let mut live: Vec<String> = inner
            .access
            .keys()
            .filter(|token| inner.active_access(token).is_some())
            .cloned()
            .collect();
        live.sort();
        live
    }

    /// The refresh tokens that would work now (issued, not revoked or rotated away).
    pub fn live_refresh_tokens(&self) -> Vec<String> {
        let mut live: Vec<String> = self.inner.shared.lock().refresh.keys().cloned().collect();
        live.sort();
        live
    }

    /// Invalidates every access and refresh token issued so far.
    pub fn revoke_all(&self) {
        let mut inner = self.inner.shared.lock();
        inner.access.clear();
        inner.refresh.clear();
    }
}
