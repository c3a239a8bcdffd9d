//! Which provider the mock imitates: its paths and the quirks that differ.

/// The provider the mock imitates. Fixed when the server starts.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Flavor {
    /// vcita: `/app/oauth/authorize`, JSON token bodies, userinfo, app creation.
    Vcita,
    /// Apicbase (Django OAuth Toolkit): trailing-slash paths, form bodies only,
    /// introspection instead of userinfo, rotating refresh tokens.
    Apicbase,
}

/// Where each endpoint of one flavor lives. A path not listed answers 404.
#[derive(Debug)]
pub(crate) struct Paths {
    /// Every path the authorize page is served on; the first is the advertised one.
    pub(crate) authorize: &'static [&'static str],
    /// Where the login form posts.
    pub(crate) login: &'static str,
    /// Where the consent form posts.
    pub(crate) consent: &'static str,
    pub(crate) token: &'static str,
    pub(crate) userinfo: Option<&'static str>,
    pub(crate) introspect: &'static str,
    pub(crate) revoke: &'static str,
    /// Pushed authorization requests (RFC 9126; not in vcita's or Apicbase's documents:
    /// the mock's own, for apps' tests).
    pub(crate) par: &'static str,
    pub(crate) register_app: Option<&'static str>,
    /// The path of the provider's API base (empty: the server's root).
    pub(crate) api_base: &'static str,
    /// vcita's business endpoint, `{business_id}` being the path parameter.
    pub(crate) business: Option<&'static str>,
    /// The Apicbase-shaped library endpoint (the mock's own shape).
    pub(crate) library: Option<&'static str>,
}

const VCITA: Paths = Paths {
    // Some vcita documents write `/oauth/authorize` without `/app`.
    authorize: &["/app/oauth/authorize", "/oauth/authorize"],
    login: "/app/oauth/authorize/login",
    consent: "/app/oauth/authorize/consent",
    token: "/oauth/token",
    userinfo: Some("/oauth/userinfo"),
    introspect: "/oauth/introspect",
    revoke: "/oauth/revoke",
    par: "/oauth/par",
    register_app: Some("/platform/v1/apps"),
    // `https://api.vcita.biz`: the API lives at the root.
    api_base: "",
    business: Some("/platform/v1/businesses/{business_id}"),
    library: None,
};

// Apicbase's trailing slashes are part of the path (Django's APPEND_SLASH does not
// redirect POSTs), so the slash-less forms must not answer.
const APICBASE: Paths = Paths {
    authorize: &["/oauth/authorize/"],
    login: "/oauth/authorize/login/",
    consent: "/oauth/authorize/consent/",
    token: "/oauth/token/",
    userinfo: None,
    introspect: "/oauth/introspect/",
    revoke: "/oauth/revoke/",
    par: "/oauth/par/",
    register_app: None,
    // `https://api.apicbase.com/api/v1`.
    api_base: "/api/v1",
    business: None,
    library: Some("/api/v1/library/"),
};

impl Flavor {
    pub(crate) fn paths(self) -> &'static Paths {
        match self {
            Flavor::Vcita => &VCITA,
            Flavor::Apicbase => &APICBASE,
        }
    }
}
