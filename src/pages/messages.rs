//! Every sentence the crate shows a person, in one table an app can translate.

use std::collections::HashMap;

/// `(key, title, text)`. Texts may name placeholders in braces, filled per answer:
/// `{description}` (the provider's sanitised error description), `{code}` (an OAuth
/// error code), `{kind}` (what failed: "timeout", ...), `{origin}` (the registered
/// redirect URI's origin), `{reason}` (a login hook's reason), `{scope}` (missing scopes),
/// `{check}` (which id_token check failed), `{account}` (the account being connected),
/// `{provider}` (the provider's name).
const DEFAULTS: &[(&str, &str, &str)] = &[
    (
        "missing_state",
        "Login could not be completed",
        "The provider's answer carried no state, so it cannot be matched to a login \
         started here.",
    ),
    (
        "invalid_request",
        "Login could not be completed",
        "The provider's answer repeated a parameter, which OAuth forbids.",
    ),
    (
        "unknown_state",
        "Login could not be completed",
        "No login in progress matches this answer. The login may have expired, been \
         finished already, or been started in another browser. Or this browser did not \
         send the login cookie back: the login was started at another address than \
         {origin} (localhost and 127.0.0.1 are different sites to a browser, so open the \
         app at {origin} and log in there), cookies are blocked, or the site is served \
         over plain http behind a proxy while configured for https.",
    ),
    (
        "invalid_state",
        "Login could not be completed",
        "The state in the provider's answer does not match the login started in this \
         browser. This can be a forged request; start again.",
    ),
    (
        "login_expired",
        "Login could not be completed",
        "The login took too long and expired. Please start again.",
    ),
    (
        "invalid_issuer",
        "Login could not be completed",
        "The answer came from a different authorization server than the one this login \
         was started with (RFC 9207).",
    ),
    (
        "missing_issuer",
        "Login could not be completed",
        "The answer did not say which authorization server sent it (no `iss`), but this \
         provider is configured with an issuer (RFC 9207). If the provider does not send \
         `iss`, remove the issuer setting.",
    ),
    (
        "missing_code",
        "Login could not be completed",
        "The provider's answer carried neither a code nor an error.",
    ),
    (
        "access_denied",
        "Login was not completed",
        "You declined to give this app access, so you are not logged in.",
    ),
    (
        "provider_error",
        "Login was not completed",
        "The provider ended the login with an error.",
    ),
    (
        "provider_error_described",
        "Login was not completed",
        "The provider ended the login: {description}",
    ),
    (
        "exchange_refused",
        "Login could not be completed",
        "The provider refused to complete the login ({code}).",
    ),
    (
        "exchange_refused_described",
        "Login could not be completed",
        "The provider refused to complete the login ({code}: {description}).",
    ),
    (
        "exchange_failed",
        "Login could not be completed",
        "The provider could not be reached or gave an unusable answer ({kind}).",
    ),
    (
        "user_unavailable",
        "Login could not be completed",
        "The provider could not tell this app who you are right now. Please try again \
         in a moment.",
    ),
    (
        "invalid_id_token",
        "Login could not be completed",
        "The provider's identity token did not pass its check, so this login was refused \
         and nothing was kept: {check}. Please start again; if it keeps happening, the \
         provider's answers are being altered on the way.",
    ),
    (
        "missing_id_token",
        "Login could not be completed",
        "The provider did not send the identity token (id_token) an OpenID Connect login \
         must bring, so this login was refused.",
    ),
    (
        "subject_mismatch",
        "Login could not be completed",
        "The provider described two different users for this login (its user information \
         and its identity token disagree), so this login was refused.",
    ),
    (
        "keys_unavailable",
        "Login could not be completed",
        "The provider's signing keys could not be fetched to check this login. Please try \
         again in a moment.",
    ),
    (
        "session_too_large",
        "Login could not be completed",
        "Your login is too large to keep in browser cookies (more than 6 KB sealed). \
         The app should keep sessions in a server-side store (memory, Redis, or a \
         tower-sessions store: OAUTH_SESSION_STORE).",
    ),
    (
        "store_unavailable",
        "Login could not be completed",
        "The session store is unavailable right now, so the login could not be kept. \
         Please try again in a moment.",
    ),
    ("login_refused", "Access refused", "{reason}"),
    (
        "login_unavailable",
        "Login could not be completed",
        "This app cannot complete your login right now. Please try again in a moment.",
    ),
    (
        "login_failed",
        "Login could not be completed",
        "This app could not complete your login because of an error on its side.",
    ),
    (
        "forbidden",
        "Access denied",
        "You are logged in, but your account may not open this page.",
    ),
    (
        "insufficient_scope",
        "Access denied",
        "You are logged in, but this page needs permissions this app was not granted: \
         {scope}.",
    ),
    (
        "cross_origin_request",
        "Logout refused",
        "This logout request came from another site, so it was refused and you are still \
         logged in. Log out from this app's own page.",
    ),
    (
        "connect_confirm",
        "Connect an account?",
        "Connect the account {account} with {provider}? You will be sent to {provider} \
         to allow it. Continue only if you asked for this: a link from another site or an \
         e-mail can open this page too.",
    ),
    (
        "connect_cross_origin",
        "Connection refused",
        "This request to connect an account came from another site, so it was refused \
         and nothing changed. Connect from this app's own page.",
    ),
    (
        "par_unavailable",
        "Login could not start",
        "The provider could not be reached to start the login ({kind}). Please try again \
         in a moment.",
    ),
    (
        "par_refused",
        "Login could not start",
        "The provider refused to start the login ({code}). The app's configuration at \
         the provider needs fixing.",
    ),
    (
        "request_too_large",
        "Login could not start",
        "The login request was too large.",
    ),
    ("link_retry", "", "Log in again"),
    ("link_home", "", "Home"),
    ("button_continue", "", "Continue"),
    ("label_code", "", "Error code"),
];

/// The crate's words: a title and a text per message key, English by default. Replace
/// any of them — to translate, or to say it the app's way — and pass the table to
/// [`OAuthBuilder::messages`](crate::OAuthBuilder::messages). A key the table does not
/// have is a startup error, so a typo cannot go unnoticed.
///
/// Texts may use the placeholders of the message they replace (`{description}`,
/// `{code}`, `{kind}`, `{origin}`, `{reason}`, `{scope}`, `{account}`, `{provider}`);
/// values are escaped when the page is rendered. The `link_*`, `label_*` and `button_*`
/// keys are the pages' fixed words (their title is unused).
///
/// ```
/// use axum_oauth_login::Messages;
/// let german = Messages::default()
///     .set("access_denied", "Anmeldung abgebrochen", "Sie haben den Zugriff abgelehnt.")
///     .set("link_retry", "", "Erneut anmelden");
/// assert!(Messages::keys().any(|k| k == "unknown_state"));
/// # let _ = german;
/// ```
#[derive(Clone, Debug, Default)]
pub struct Messages {
    overrides: HashMap<String, (String, String)>,
}

impl Messages {
    /// Replaces the title and text of `key`.
    pub fn set(mut self, key: &str, title: impl Into<String>, text: impl Into<String>) -> Self {
        self.overrides
            .insert(key.to_owned(), (title.into(), text.into()));
        self
    }

    /// Every key of the table.
    pub fn keys() -> impl Iterator<Item = &'static str> {
        DEFAULTS.iter().map(|(key, _, _)| *key)
    }

    /// The first key set that the table does not have.
    pub(crate) fn unknown_key(&self) -> Option<&str> {
        self.overrides
            .keys()
            .map(String::as_str)
            .find(|key| !Self::keys().any(|k| k == *key))
    }

    /// The title and text of `key`, with `params` filled in.
    pub(crate) fn get(&self, key: &str, params: &[(&str, &str)]) -> (String, String) {
        let (title, text) = match self.overrides.get(key) {
            Some((title, text)) => (title.as_str(), text.as_str()),
            None => DEFAULTS
                .iter()
                .find(|(k, _, _)| *k == key)
                .map_or(("Error", key), |(_, title, text)| (*title, *text)),
        };
        (title.to_owned(), fill(text, params))
    }

    /// The text of `key` alone (the page's fixed words).
    pub(crate) fn text(&self, key: &str) -> String {
        self.get(key, &[]).1
    }
}

/// Replaces each `{name}` of `params` in one pass (a value containing `{x}` is not
/// expanded again).
fn fill(text: &str, params: &[(&str, &str)]) -> String {
    let mut out = String::with_capacity(text.len());
    let mut rest = text;
    while let Some(open) = rest.find('{') {
        out.push_str(&rest[..open]);
        let after = &rest[open + 1..];
        match after.find('}').and_then(|close| {
            let name = &after[..close];
            params
                .iter()
                .find(|(n, _)| *n == name)
                .map(|(_, v)| (close, *v))
        }) {
            Some((close, value)) => {
                out.push_str(value);
                rest = &after[close + 1..];
            }
            None => {
                out.push('{');
                rest = after;
            }
        }
    }
    out.push_str(rest);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn placeholders_fill_once_and_unknown_ones_stay() {
        assert_eq!(
            fill("a {x} b {y} {z", &[("x", "{y}"), ("y", "2")]),
            "a {y} b 2 {z"
        );
        let m = Messages::default();
        let (_, text) = m.get("unknown_state", &[("origin", "http://127.0.0.1:3000")]);
        assert!(
            text.contains("open the app at http://127.0.0.1:3000"),
            "{text}"
        );
        let m = m.set("access_denied", "Abgebrochen", "Nein.");
        assert_eq!(
            m.get("access_denied", &[]),
            ("Abgebrochen".into(), "Nein.".into())
        );
        assert_eq!(m.unknown_key(), None);
        assert_eq!(
            m.set("acces_denied", "", "").unknown_key(),
            Some("acces_denied")
        );
    }

    #[test]
    fn every_key_is_unique() {
        let mut keys: Vec<_> = Messages::keys().collect();
        keys.sort_unstable();
        keys.dedup();
        assert_eq!(keys.len(), DEFAULTS.len());
    }
}
