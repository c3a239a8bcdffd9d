//! The app under test: the `vcita_login` example's app with the test-only routes, logging
//! in with oidc-provider, and the requests a test makes to it.

use axum_oauth_login::provider::{ClientAuth, ProviderBuilder};
use axum_oauth_login::{Clock, CookieKey, OAuth, OAuthBuilder};
use reqwest::StatusCode;
use serde_json::Value;
use url::Url;

use super::{OidcProvider, ProviderOptions, walk_provider};
use crate::support::{Http, Server, bind, body, example, json, location, path_and_query, test_app};

/// The app under test: the example's app with the test-only routes
/// ([`test_app`]), logging in with oidc-provider.
pub struct InteropApp {
    pub provider: OidcProvider,
    pub oauth: OAuth,
    pub clock: Clock,
    pub base: String,
    pub redirect_uri: String,
    pub client_id: &'static str,
    /// One cookie jar for the app and the provider (cookies ignore ports; their cookie
    /// names do not collide).
    pub http: Http,
    _server: Server,
}

impl InteropApp {
    /// Binds the app, starts oidc-provider with the app's callback registered, and serves
    /// the app for the client `(id, secret, auth)`.
    pub async fn start(client: (&'static str, &'static str, ClientAuth)) -> InteropApp {
        Self::launch(client, false, ProviderOptions::default(), |p| p, |b| b).await
    }

    /// An OpenID Connect app: the discovered provider (id_tokens validated), with
    /// `post_logout_redirect_uri` `{base}/` and back-channel logout to
    /// `{base}/auth/backchannel-logout` registered at the provider and configured in
    /// the app; `provider` and `oauth` add what a test needs.
    pub async fn start_oidc(
        client: (&'static str, &'static str, ClientAuth),
        provider: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
        oauth: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> InteropApp {
        let options = |base: &str| ProviderOptions {
            backchannel_logout_uri: Some(format!("{base}/auth/backchannel-logout")),
            post_logout_redirect_uris: vec![format!("{base}/")],
        };
        Self::launch_with(client, true, options, provider, oauth).await
    }

    /// Like [`start`](Self::start), with the provider from the crate's own
    /// `Provider::discover` ([`OidcProvider::discovered_provider`]; its name is the
    /// issuer's host, and its client authentication method is discovery's choice).
    pub async fn start_discovered(client: (&'static str, &'static str, ClientAuth)) -> InteropApp {
        Self::launch(client, true, ProviderOptions::default(), |p| p, |b| b).await
    }

    async fn launch(
        client: (&'static str, &'static str, ClientAuth),
        discovered: bool,
        options: ProviderOptions,
        provider: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
        oauth: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> InteropApp {
        Self::launch_with(client, discovered, |_| options, provider, oauth).await
    }

    async fn launch_with(
        client: (&'static str, &'static str, ClientAuth),
        discovered: bool,
        options: impl FnOnce(&str) -> ProviderOptions,
        customize_provider: impl FnOnce(ProviderBuilder) -> ProviderBuilder,
        customize_oauth: impl FnOnce(OAuthBuilder) -> OAuthBuilder,
    ) -> InteropApp {
        let (listener, port) = bind().await;
        let base = format!("http://127.0.0.1:{port}");
        let redirect_uri = format!("{base}/auth/callback");
        let options = options(&base);
        let post_logout = options.post_logout_redirect_uris.first().cloned();
        let provider = OidcProvider::start_with(std::slice::from_ref(&redirect_uri), options).await;

        let (client_id, client_secret, auth) = client;
        let described = if discovered {
            // The registered method (for the basic client, also discovery's choice).
            customize_provider(provider.discovered_provider(Some(auth)).await.to_builder())
                .build()
                .expect("the customised provider builds")
        } else {
            provider.provider(auth)
        };
        let clock = Clock::manual_from_now();
        let mut builder = OAuth::builder(described, client_id, client_secret)
            .redirect_uri(&redirect_uri)
            .clock(clock.clone())
            .cookie_key(CookieKey::generate());
        if let Some(uri) = post_logout {
            builder = builder.post_logout_redirect_uri(uri);
        }
        let oauth = example::configure(customize_oauth(builder))
            .build()
            .expect("OAuth builds");
        let server = Server::start(listener, test_app(&oauth));
        InteropApp {
            provider,
            oauth,
            clock,
            http: Http::new(),
            base,
            redirect_uri,
            client_id,
            _server: server,
        }
    }

    pub fn url(&self, path: &str) -> String {
        format!("{}{path}", self.base)
    }

    pub async fn get(&self, path: &str) -> reqwest::Response {
        self.http.get_url(&self.url(path)).await
    }

    pub async fn post(&self, path: &str) -> reqwest::Response {
        self.http.send(self.http.client.post(self.url(path))).await
    }

    /// `GET /auth/login`; returns the provider's authorize URL.
    pub async fn start_login(&self) -> Url {
        let res = self.get("/auth/login").await;
        assert_eq!(res.status(), StatusCode::SEE_OTHER, "login answers 303");
        let location = location(&res);
        let url = Url::parse(&location).expect("absolute authorize URL");
        assert!(
            url.as_str()
                .starts_with(&self.provider.discovery.authorization_endpoint),
            "login sends the browser to the discovered authorize endpoint: {url}"
        );
        url
    }

    /// Login started at the app, walked through oidc-provider; returns the callback URL
    /// the provider redirected to (not yet followed).
    pub async fn provider_callback(&self) -> Url {
        let authorize = self.start_login().await;
        walk_provider(&self.http, &authorize, &self.redirect_uri).await
    }

    /// GETs `callback`'s path and query on the app.
    pub async fn callback(&self, callback: &Url) -> reqwest::Response {
        self.get(&path_and_query(callback)).await
    }

    /// A whole login that must succeed; returns the callback URL it used.
    pub async fn login(&self) -> Url {
        let callback = self.provider_callback().await;
        let res = self.callback(&callback).await;
        let status = res.status();
        assert_eq!(
            status,
            StatusCode::SEE_OTHER,
            "the callback completes the login: {}",
            body(res).await
        );
        callback
    }

    /// The session's tokens as `/tokens` shows them.
    pub async fn session_tokens(&self) -> Value {
        let res = self.get("/tokens").await;
        assert_eq!(res.status(), StatusCode::OK, "/tokens needs a session");
        json(res).await
    }
}
