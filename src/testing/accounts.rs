//! Who the mock knows: the user who can log in and the registered clients.

use serde_json::json;

/// A user who can log in on the mock's login page.
///
/// ```
/// let user = axum_oauth_login::testing::MockUser::default();
/// assert_eq!(user.email, "owner@example.com");
/// assert_eq!(user.info["business_name"], "Demo Salon");
/// ```
#[derive(Debug, Clone)]
pub struct MockUser {
    /// The login email (compared case-insensitively).
    pub email: String,
    /// The login password.
    pub password: String,
    /// The JSON the userinfo endpoint returns for this user; its `sub` is also the
    /// introspection `sub`.
    pub info: serde_json::Value,
}

impl MockUser {
    /// The default user of the [Apicbase preset](super::MockProvider::apicbase):
    /// `chef@example.com` / `password`, with minimal info.
    ///
    /// ```
    /// let chef = axum_oauth_login::testing::MockUser::apicbase();
    /// assert_eq!(chef.info["email"], "chef@example.com");
    /// ```
    pub fn apicbase() -> MockUser {
        MockUser {
            email: "chef@example.com".into(),
            password: "password".into(),
            info: json!({ "sub": "chef-1", "email": "chef@example.com" }),
        }
    }
}

impl Default for MockUser {
    /// `owner@example.com` / `password`, with vcita-shaped userinfo.
    fn default() -> Self {
        MockUser {
            email: "owner@example.com".into(),
            password: "password".into(),
            info: json!({
                "sub": "u-1001",
                "type": "staff",
                "role": "owner",
                "email": "owner@example.com",
                "business_id": "b-42",
                "business_uid": "biz_42",
                "business_name": "Demo Salon",
                "directory_uid": "dir-1",
                "brand_host": "app.vcita.com",
                "brand_theme": { "primary_color": "#1a73e8" },
            }),
        }
    }
}

/// An OAuth client (a vcita "app") registered with the mock.
///
/// ```
/// use axum_oauth_login::testing::MockClient;
/// let c = MockClient::new("id", "secret");
/// assert!(c.redirect_uris.is_empty() && !c.trusted);
/// ```
#[derive(Debug, Clone)]
pub struct MockClient {
    /// The client id.
    pub client_id: String,
    /// The client secret.
    pub client_secret: String,
    /// Allowed redirect URIs, matched exactly. Empty means any loopback `http` URI
    /// (`127.0.0.1`, `[::1]` or `localhost`, any port and path), for apps on port 0.
    pub redirect_uris: Vec<String>,
    /// A trusted client skips the consent page (vcita's "Trusted" apps).
    pub trusted: bool,
}

impl MockClient {
    /// An untrusted client that accepts any loopback redirect URI.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> MockClient {
        MockClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: Vec::new(),
            trusted: false,
        }
    }
}
