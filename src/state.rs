//! What the layer, the routes, the guards and the extractors of one [`OAuth`] share:
//! built once by the builder, read-only afterwards. It sits below all of them, so none
//! of them needs the façade that builds it.
//!
//! [`OAuth`]: crate::OAuth

use std::sync::Arc;

use crate::client::OAuthClient;
use crate::clock::Clock;
use crate::login::LoginHook;
use crate::pages::Pages;
use crate::replay::SeenOnce;
use crate::session::{FlowStore, SessionConfig, Vault};
use crate::users::UserCache;

/// The paths of the auth routes, and where logout goes.
#[derive(Debug, Clone)]
pub(crate) struct Paths {
    pub(crate) login: String,
    pub(crate) callback: String,
    pub(crate) logout: String,
    /// The 403 page htmx is sent to (`HX-Redirect`): htmx 2 swaps no `4xx` answer.
    pub(crate) forbidden: String,
    /// OpenID Connect Back-Channel Logout: where the provider posts logout tokens.
    pub(crate) backchannel_logout: String,
    pub(crate) after_logout: String,
    /// Where the provider's end-session endpoint sends the browser back to
    /// (RP-Initiated Logout), registered at the provider.
    pub(crate) post_logout_redirect_uri: Option<url::Url>,
}

impl Paths {
    /// The login URL that comes back to `return_to` (a same-site path) afterwards.
    pub(crate) fn login_to(&self, return_to: &str) -> String {
        format!(
            "{}?return_to={}",
            self.login,
            url::form_urlencoded::byte_serialize(return_to.as_bytes()).collect::<String>()
        )
    }
}

/// Everything one provider's login needs at request time.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) client: OAuthClient,
    pub(crate) session: Arc<SessionConfig>,
    pub(crate) flows: FlowStore,
    pub(crate) users: UserCache,
    pub(crate) paths: Paths,
    /// Whether the callback keeps a user snapshot in the session.
    pub(crate) fetch_user_on_login: bool,
    /// The origins this app's pages come from (cross-origin checks).
    pub(crate) origins: crate::origin::Origins,
    /// The `realm` of `WWW-Authenticate` challenges.
    pub(crate) realm: String,
    pub(crate) clock: Clock,
    /// How the crate's pages are worded and drawn.
    pub(crate) pages: Pages,
    /// The app's login hook, when it has one.
    pub(crate) on_login: Option<LoginHook>,
    /// Connected accounts, when the app keeps them.
    pub(crate) vault: Option<Arc<Vault>>,
    /// DPoP as a resource server (RFC 9449): `Authorization: DPoP` is accepted.
    pub(crate) dpop_proofs: Option<DpopProofs>,
}

/// What checking DPoP proofs needs besides the proof: the app's public origin (the
/// redirect URI's) and the `jti`s of the proofs accepted, per process.
#[derive(Debug)]
pub(crate) struct DpopProofs {
    pub(crate) origin: url::Url,
    /// SHA-256 of (key thumbprint, `jti`); bounded: under a flood of valid proofs the
    /// oldest are forgotten (see SECURITY.md for the window).
    seen: SeenOnce<[u8; 32]>,
}

/// How many proofs' `jti`s are remembered.
pub(crate) const DPOP_JTI_CAPACITY: usize = 100_000;

impl DpopProofs {
    pub(crate) fn new(origin: url::Url) -> DpopProofs {
        DpopProofs {
            origin,
            seen: SeenOnce::new(DPOP_JTI_CAPACITY),
        }
    }

    /// `true` the first time a (key, `jti`) pair is seen; atomic, so two copies of one
    /// proof racing in are one use and one replay.
    pub(crate) fn first_use(&self, jkt: &str, jti: &str) -> bool {
        use sha2::Digest as _;
        let key: [u8; 32] = sha2::Sha256::new()
            .chain_update(jkt.as_bytes())
            .chain_update([0])
            .chain_update(jti.as_bytes())
            .finalize()
            .into();
        self.seen.first_use(&key)
    }
}
