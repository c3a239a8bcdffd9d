//! Who the mock knows: the users who can log in and the registered clients.

use serde_json::json;

/// A user who can log in on the mock's login page.
///
/// The vcita-shaped mock knows two out of the box, [`MockUser::default`] (the owner,
/// its primary user) and [`MockUser::staff`]; the [Apicbase
/// preset](super::MockProvider::apicbase) knows only [`MockUser::apicbase`]. See
/// [`MockProviderBuilder::user`](super::MockProviderBuilder::user) and
/// [`add_user`](super::MockProviderBuilder::add_user).
///
/// ```
/// let user = axum_oauth_login_mock::MockUser::default();
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
    /// let chef = axum_oauth_login_mock::MockUser::apicbase();
    /// assert_eq!(chef.info["email"], "chef@example.com");
    /// ```
    pub fn apicbase() -> MockUser {
        MockUser {
            email: "chef@example.com".into(),
            password: "password".into(),
            info: json!({ "sub": "chef-1", "email": "chef@example.com" }),
        }
    }

    /// The vcita mock's second user: `staff@example.com` / `password`, a staff member
    /// of the same business as [`MockUser::default`] (the owner), with `"sub":
    /// "u-1002"` and `"role": "staff"`.
    ///
    /// ```
    /// use axum_oauth_login_mock::MockUser;
    /// let staff = MockUser::staff();
    /// assert_eq!(staff.email, "staff@example.com");
    /// assert_eq!(staff.info["role"], "staff");
    /// assert_eq!(staff.info["business_id"], MockUser::default().info["business_id"]);
    /// ```
    pub fn staff() -> MockUser {
        vcita_user("staff@example.com", "u-1002", "staff")
    }

    /// Whether `email` is this user's login email (trimmed, compared
    /// case-insensitively, like the login page does).
    pub(crate) fn has_email(&self, email: &str) -> bool {
        email.trim().eq_ignore_ascii_case(self.email.trim())
    }
}

impl Default for MockUser {
    /// `owner@example.com` / `password`, with vcita-shaped userinfo (`"sub": "u-1001"`,
    /// `"role": "owner"`): the vcita mock's primary user.
    fn default() -> Self {
        vcita_user("owner@example.com", "u-1001", "owner")
    }
}

/// A vcita staff member of the `Demo Salon` business (`b-42`).
fn vcita_user(email: &str, sub: &str, role: &str) -> MockUser {
    MockUser {
        email: email.into(),
        password: "password".into(),
        info: json!({
            "sub": sub,
            "type": "staff",
            "role": role,
            "email": email,
            "business_id": "b-42",
            "business_uid": "biz_42",
            "business_name": "Demo Salon",
            "directory_uid": "dir-1",
            "brand_host": "app.vcita.com",
            "brand_theme": { "primary_color": "#1a73e8" },
        }),
    }
}

/// A user the mock was asked about but does not know (no [`MockUser`] has that email).
///
/// ```
/// # #[tokio::main(flavor = "current_thread")]
/// # async fn main() -> std::io::Result<()> {
/// use axum_oauth_login_mock::{MockProvider, UnknownUser};
///
/// let mock = MockProvider::start().await?;
/// let err = mock.issue_token_for("nobody@example.com").unwrap_err();
/// assert_eq!(err, UnknownUser { email: "nobody@example.com".into() });
/// assert_eq!(err.to_string(), "the mock provider knows no user `nobody@example.com`");
/// # Ok(())
/// # }
/// ```
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the mock provider knows no user `{email}`")]
pub struct UnknownUser {
    /// The email that was asked for.
    pub email: String,
}

/// An OAuth client (a vcita "app") registered with the mock.
///
/// ```
/// use axum_oauth_login_mock::MockClient;
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
    /// The client's public key (a JWK, e.g. `SigningKey::public_jwk`): the client then
    /// authenticates by `private_key_jwt` (RFC 7523) only, and its secret is refused.
    pub public_key: Option<serde_json::Value>,
}

impl MockClient {
    /// An untrusted client that accepts any loopback redirect URI.
    pub fn new(client_id: impl Into<String>, client_secret: impl Into<String>) -> MockClient {
        MockClient {
            client_id: client_id.into(),
            client_secret: client_secret.into(),
            redirect_uris: Vec::new(),
            trusted: false,
            public_key: None,
        }
    }
}
