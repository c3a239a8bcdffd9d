//! Talking HTTP to the provider, for every layer that does: the one way the crate builds
//! its reqwest clients (`client`: the features' TLS, the app's hook, then no redirects and
//! the crate's timeouts), capped body reads and error bodies mapped to [`OAuthError`]
//! (`read`), and the error itself with the [`Endpoint`] it names (`error`). The
//! OAuth protocol (`crate::client`), the JWKS fetches (`crate::oidc`), discovery
//! (`crate::provider::discovery`) and vcita's platform API all sit on this; it uses
//! nothing of theirs.

mod client;
mod error;
mod read;

pub(crate) use self::client::{HttpConfig, http_client};
pub use self::error::{Endpoint, ErrorCode, OAuthError};
pub(crate) use self::error::{misfit, sanitize};
pub(crate) use self::read::{error_response, json_error_kind, read_response};
