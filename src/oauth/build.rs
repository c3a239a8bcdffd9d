//! [`OAuthBuilder::build`]: validate (the client its URL and credentials, each settings
//! group itself), derive what follows (cookie names, `Secure`, paths), construct the
//! shared state every layer, route and extractor reads; and what `OAuthConfig` hands
//! the builder (the variables its settings came from) and reads back.

use std::sync::Arc;
use std::time::Duration;

use super::OAuth;
use super::builder::OAuthBuilder;
use crate::client::OAuthClient;
use crate::error::{ConfigError, Sources};
use crate::origin::Origins;
use crate::provider::{Provider, UserResolver};
use crate::session::{
    CookieNames, FlowStore, Refresher, SessionConfig, SharedUsers, TimedStore, Vault,
};
use crate::state::{DpopProofs, Shared};

impl OAuthBuilder {
    /// Errors about these settings name their variables (see `Sources`).
    pub(crate) fn with_sources(mut self, sources: Sources) -> Self {
        self.sources = sources;
        self
    }

    /// The provider, the client id and the redirect URI, for `OAuthConfig`'s accessors.
    pub(crate) fn parts(&self) -> (&Provider, &str, Option<&str>) {
        (
            &self.provider,
            &self.client_id,
            self.redirect_uri.as_deref(),
        )
    }

    /// Checks every setting and builds the [`OAuth`]. An error about a setting that
    /// [`OAuthConfig`](crate::config::OAuthConfig) read from a variable (and the app did
    /// not set again in code) names the variable.
    pub fn build(mut self) -> Result<OAuth, ConfigError> {
        let sources = std::mem::take(&mut self.sources);
        self.construct().map_err(|e| sources.rename(e))
    }

    fn construct(mut self) -> Result<OAuth, ConfigError> {
        // Validate: the client checks its URL and credentials, each group itself.
        let mut client =
            OAuthClient::builder(self.provider, self.client_id, self.client_secret.secret())
                .redirect_uri(self.redirect_uri.unwrap_or_default())
                .timeout(self.http_timeout)
                .clock(self.clock.clone())
                .http_config(self.http.clone());
        if let Some(key) = self.client_key.take() {
            client = client.client_key(key);
        }
        if let Some(keys) = self.dpop_keys.take() {
            client = client.dpop_keys(keys);
        }
        let client = client.build()?;
        let redirect_uri = client
            .redirect_uri()
            .cloned()
            .ok_or_else(|| ConfigError::new("redirect_uri", "is required"))?;
        let paths = self.routes.paths(&redirect_uri)?;
        let dpop_proofs = dpop_proofs(self.accept_dpop, &client, &redirect_uri)?;
        let origins = Origins::new(&redirect_uri, &self.routes.trusted_origins)?;
        self.cookies.validate()?;
        self.sessions.validate(self.cookies.session_lifetime)?;
        self.flow.validate()?;
        self.users.validate()?;
        self.refresh.validate()?;
        self.pages.validate()?;

        // Derive: what follows from the settings.
        let secure = self.cookies.secure_for(&redirect_uri);
        let names = CookieNames::new(&self.cookies.name, secure);
        let flow_path = self.routes.flow_cookie_path(&paths, secure);
        // Sealed to this client and provider: instances sharing a key cannot read each
        // other's cookies.
        let context = client.context();
        let codec = self.cookies.codec(secure, context)?;

        // Construct.
        let refresher = Refresher::new(
            client.clone(),
            self.refresh.skew,
            self.refresh.grace,
            self.clock.clone(),
        );
        let mut users = self.users.cache(&client, &self.clock, self.http_timeout);
        if let Some(store) = &self.users.shared {
            let store = TimedStore::new(store.clone(), self.sessions.store_timeout);
            users = users.with_shared(Arc::new(SharedUsers::new(store, codec.clone())));
        }
        let vault = self.connections.map(|store| {
            Arc::new(Vault::new(
                &client,
                codec.clone(),
                TimedStore::new(store, self.sessions.store_timeout),
                self.clock.clone(),
                (self.refresh.skew, self.refresh.grace),
            ))
        });
        if let Some((_, every)) = &self.denylist
            && (every.is_zero() || *every > Duration::from_secs(3600))
        {
            return Err(ConfigError::new(
                "logout_denylist",
                "sync_every must be between a millisecond and an hour",
            ));
        }
        let backend = self.sessions.backend();
        // Cookie sessions on several instances coordinate their refreshes through the
        // shared store, when the app configured one (the denylist's).
        let refresher = match (&backend, &self.denylist) {
            (crate::session::Backend::Cookie, Some((store, _))) => refresher.with_shared(
                TimedStore::new(store.clone(), self.sessions.store_timeout),
                codec.clone(),
            ),
            _ => refresher,
        };
        if client.oidc().is_some()
            && self.denylist.is_none()
            && matches!(backend, crate::session::Backend::Cookie)
        {
            tracing::info!(
                "back-channel logout ends cookie sessions through this process's denylist; \
                 with several instances, configure OAuthBuilder::logout_denylist with a \
                 shared store"
            );
        }
        let denylist = crate::session::Denylist::new(
            client.context(),
            self.denylist.as_ref().map(|(store, _)| {
                let store = TimedStore::new(store.clone(), self.sessions.store_timeout);
                (store, codec.names())
            }),
            self.cookies.session_lifetime.max(Duration::from_secs(1)),
            self.denylist
                .as_ref()
                .map_or(crate::session::SYNC_EVERY, |(_, every)| *every),
        );
        let session = SessionConfig::new(
            codec.clone(),
            names.session,
            (
                self.cookies.session_lifetime.as_secs(),
                self.sessions.idle_timeout.map(|d| d.as_secs()),
            ),
            self.clock.clone(),
            backend,
            refresher,
        )
        .with_denylist(denylist);
        let flows = FlowStore::new(
            codec,
            names.flow_prefix,
            flow_path,
            self.flow.login_timeout.as_secs(),
            self.flow.max_pending,
        );
        Ok(OAuth {
            shared: Arc::new(Shared {
                client,
                session: Arc::new(session),
                flows,
                users,
                origins,
                fetch_user_on_login: self.users.fetch_on_login,
                realm: self.routes.realm,
                clock: self.clock,
                pages: self.pages.pages(&paths.login),
                on_login: self.users.on_login,
                vault,
                paths,
                dpop_proofs,
            }),
        })
    }
}

/// DPoP as a resource server, when accepted: proofs are checked against the redirect
/// URI's origin. Refused where the binding of a third party's token cannot be known
/// (userinfo only).
fn dpop_proofs(
    accept: bool,
    client: &OAuthClient,
    redirect_uri: &url::Url,
) -> Result<Option<DpopProofs>, ConfigError> {
    if !accept {
        return Ok(None);
    }
    let provider = client.provider();
    if provider.user_resolver() == UserResolver::Userinfo && provider.jwt_access_tokens().is_none()
    {
        return Err(ConfigError::new(
            "accept_dpop",
            "a userinfo endpoint cannot tell which key a DPoP token is bound to: resolve \
             users by introspection, or check JWT access tokens locally",
        ));
    }
    let origin = url::Url::parse(&redirect_uri.origin().ascii_serialization())
        .map_err(|_| ConfigError::new("redirect_uri", "has no origin"))?;
    Ok(Some(DpopProofs::new(origin)))
}
