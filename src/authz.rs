//! Authorization: what an authenticated caller may do. A [`Policy`] (required scopes,
//! predicates on the resolved user) and its one answer when it says no, [`Forbidden`]:
//! `403`, never `401` — the caller is known, and logging in again would not help.

use std::sync::Arc;

use axum::Json;
use axum::response::{IntoResponse, Response};
use http::header::{CACHE_CONTROL, WWW_AUTHENTICATE};
use http::{HeaderValue, StatusCode};
use serde::de::DeserializeOwned;
use serde_json::{Value, json};

use crate::audience::Audience;
use crate::state::Shared;
use crate::typed::Typed;

/// A check on the resolved user; `Err` when the user does not deserialise into the
/// predicate's type (the app's bug).
type Predicate = Arc<dyn Fn(&Value, &Typed) -> Result<bool, String> + Send + Sync>;

/// What a route requires beyond a login: every listed scope, and every predicate true.
#[derive(Clone, Default)]
pub(crate) struct Policy {
    scopes: Vec<String>,
    predicates: Vec<Predicate>,
    /// Header tokens only as DPoP (RFC 9449): `Authorization: Bearer` is refused.
    dpop_only: bool,
    /// A wiring mistake found when the guard was built: every authenticated request
    /// then gets `500` (fail closed), with this in the log.
    broken: Option<String>,
}

impl std::fmt::Debug for Policy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Policy")
            .field("scopes", &self.scopes)
            .field("predicates", &self.predicates.len())
            .field("dpop_only", &self.dpop_only)
            .finish()
    }
}

/// Why a policy did not let a caller through.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum Denial {
    /// These scopes were required and not granted (space-separated).
    Scope(String),
    /// A predicate on the user said no.
    Predicate,
}

/// A predicate could not even be evaluated: the user does not fit its type.
#[derive(Debug)]
pub(crate) struct Misfit(pub(crate) String);

impl Policy {
    pub(crate) fn with_scopes<I, S>(mut self, scopes: I) -> Policy
    where
        I: IntoIterator<Item = S>,
        S: Into<String>,
    {
        for scope in scopes.into_iter().map(Into::into) {
            // RFC 6749 §3.3: scope-token = 1*( %x21 / %x23-5B / %x5D-7E )
            let valid = !scope.is_empty()
                && scope
                    .bytes()
                    .all(|b| b == 0x21 || (0x23..=0x5B).contains(&b) || (0x5D..=0x7E).contains(&b));
            if !valid {
                return self.broken(format!(
                    "`{}` is not a scope token (RFC 6749 §3.3): one scope per item, no spaces \
                     or quotes",
                    scope.escape_debug()
                ));
            }
            self.scopes.push(scope);
        }
        self
    }

    /// Marks the policy as a wiring mistake: logged now, `500` for every caller.
    pub(crate) fn broken(mut self, reason: String) -> Policy {
        tracing::error!(reason = %reason, "a RequireLogin guard is misconfigured; it answers 500");
        self.broken = Some(reason);
        self
    }

    /// The wiring mistake, if any.
    pub(crate) fn misconfigured(&self) -> Option<&str> {
        self.broken.as_deref()
    }

    pub(crate) fn with_predicate<U, F>(mut self, predicate: F) -> Policy
    where
        U: DeserializeOwned + Send + Sync + 'static,
        F: Fn(&U) -> bool + Send + Sync + 'static,
    {
        self.predicates
            .push(Arc::new(move |user: &Value, typed: &Typed| {
                typed.get::<U>(user).map(|u| predicate(&u)).map_err(|e| {
                    format!(
                        "the resolved user does not fit `{}`: {}",
                        std::any::type_name::<U>(),
                        crate::transport::misfit(&e)
                    )
                })
            }));
        self
    }

    /// This policy, also requiring header tokens to come as DPoP.
    pub(crate) fn dpop_only(mut self) -> Policy {
        self.dpop_only = true;
        self
    }

    /// Whether header tokens must come as DPoP.
    pub(crate) fn requires_dpop(&self) -> bool {
        self.dpop_only
    }

    /// Whether deciding needs the resolved user (a predicate), not only the token set.
    pub(crate) fn needs_user(&self) -> bool {
        !self.predicates.is_empty() || self.broken.is_some()
    }

    /// Checks the required scopes against what was granted (space-separated; `None` when
    /// the provider did not say — then a required scope is missing: fail closed).
    pub(crate) fn check_scopes(&self, granted: Option<&str>) -> Result<(), Denial> {
        missing_scopes(&self.scopes, granted)
    }

    /// Checks the predicates against the resolved user.
    pub(crate) fn check_user(
        &self,
        user: &Value,
        typed: &Typed,
    ) -> Result<Result<(), Denial>, Misfit> {
        for predicate in &self.predicates {
            if !predicate(user, typed).map_err(Misfit)? {
                return Ok(Err(Denial::Predicate));
            }
        }
        Ok(Ok(()))
    }
}

/// The scopes of `required` not in `granted`, as a denial.
pub(crate) fn missing_scopes<S: AsRef<str>>(
    required: &[S],
    granted: Option<&str>,
) -> Result<(), Denial> {
    let granted = granted.unwrap_or("");
    let missing: Vec<&str> = required
        .iter()
        .map(AsRef::as_ref)
        .filter(|scope| !granted.split_whitespace().any(|g| g == *scope))
        .collect();
    if missing.is_empty() {
        Ok(())
    } else {
        Err(Denial::Scope(missing.join(" ")))
    }
}

/// `403 Forbidden`: the caller is authenticated but may not do this.
///
/// For API callers, a JSON body; a missing scope also carries
/// `WWW-Authenticate: Bearer error="insufficient_scope", scope="..."` (RFC 6750 §3.1).
/// For a browser navigation, the crate's 403 page (or the app's, through its
/// [render hook](crate::OAuthBuilder::error_page)).
///
/// Returned by the guards of [`OAuth::require`](crate::OAuth::require) and
/// [`OAuth::require_scopes`](crate::OAuth::require_scopes), and by the extractor
/// checks [`BearerUser::require_scopes`](crate::BearerUser::require_scopes) and
/// [`AuthSession::require_scopes`](crate::AuthSession::require_scopes).
#[derive(Clone)]
pub struct Forbidden {
    shared: Arc<Shared>,
    denial: Denial,
    audience: Audience,
}

impl std::fmt::Debug for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Forbidden")
            .field("denial", &self.denial)
            .finish_non_exhaustive()
    }
}

impl std::fmt::Display for Forbidden {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match &self.denial {
            Denial::Scope(scope) => write!(f, "insufficient scope: requires {scope}"),
            Denial::Predicate => f.write_str("forbidden"),
        }
    }
}

impl std::error::Error for Forbidden {}

impl Forbidden {
    pub(crate) fn new(shared: Arc<Shared>, denial: Denial, audience: Audience) -> Forbidden {
        Forbidden {
            shared,
            denial,
            audience,
        }
    }

    /// The scopes that were missing (space-separated), when that was the reason.
    pub fn missing_scope(&self) -> Option<&str> {
        match &self.denial {
            Denial::Scope(scope) => Some(scope),
            Denial::Predicate => None,
        }
    }
}

impl IntoResponse for Forbidden {
    fn into_response(self) -> Response {
        let pages = &self.shared.pages;
        let page = match &self.denial {
            Denial::Scope(scope) => pages.page(
                StatusCode::FORBIDDEN,
                "insufficient_scope",
                "insufficient_scope",
                &[("scope", scope)],
            ),
            Denial::Predicate => pages.page(StatusCode::FORBIDDEN, "forbidden", "forbidden", &[]),
        }
        // Logged in already: "log in again" would land here again.
        .without_retry();
        tracing::info!(code = page.code(), "request forbidden");
        if self.audience == Audience::Navigation {
            return pages.respond_to(&page, true);
        }
        let mut body = json!({ "error": page.code(), "error_description": page.message() });
        let mut res = match &self.denial {
            Denial::Scope(scope) => {
                body["scope"] = Value::String(scope.clone());
                let mut res = (StatusCode::FORBIDDEN, Json(body)).into_response();
                let challenge = format!(
                    "Bearer realm=\"{}\", error=\"insufficient_scope\", scope=\"{}\"",
                    self.shared.realm, scope
                );
                if let Ok(value) = HeaderValue::try_from(challenge) {
                    res.headers_mut().insert(WWW_AUTHENTICATE, value);
                }
                res
            }
            Denial::Predicate => (StatusCode::FORBIDDEN, Json(body)).into_response(),
        };
        res.headers_mut()
            .insert(CACHE_CONTROL, HeaderValue::from_static("no-store"));
        // htmx 2 swaps no 4xx answer: the page would stay as it was. It follows
        // `HX-Redirect` whatever the status, to the 403 page's own URL.
        if self.audience == Audience::Htmx
            && let Ok(value) = HeaderValue::try_from(self.shared.paths.forbidden.as_str())
        {
            res.headers_mut().insert("hx-redirect", value);
        }
        res
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[derive(serde::Deserialize)]
    struct Staff {
        role: String,
    }

    #[test]
    fn scopes_fail_closed_and_name_what_is_missing() {
        let policy = Policy::default().with_scopes(["orders:read", "orders:write"]);
        assert_eq!(
            policy.check_scopes(Some("orders:read orders:write x")),
            Ok(())
        );
        assert_eq!(
            policy.check_scopes(Some("orders:read")),
            Err(Denial::Scope("orders:write".into()))
        );
        assert_eq!(
            policy.check_scopes(None),
            Err(Denial::Scope("orders:read orders:write".into())),
            "a provider that reports no scopes grants none"
        );
        assert_eq!(
            policy.check_scopes(Some("orders:readx")),
            Err(Denial::Scope("orders:read orders:write".into())),
            "whole words only"
        );
        assert_eq!(Policy::default().check_scopes(None), Ok(()));
    }

    #[test]
    fn invalid_scopes_break_the_policy() {
        for bad in ["", "a b", "a\"b", "a\\b"] {
            let policy = Policy::default().with_scopes([bad]);
            assert!(policy.misconfigured().is_some(), "{bad:?}");
            assert!(policy.needs_user(), "{bad:?}: decided on the async path");
        }
        assert!(
            Policy::default()
                .with_scopes(["orders:write"])
                .misconfigured()
                .is_none()
        );
    }

    #[test]
    fn predicates_see_the_user_and_misfits_are_errors() {
        let owner_only = Policy::default().with_predicate(|u: &Staff| u.role == "owner");
        assert!(owner_only.needs_user());
        let verdict = |user: Value| {
            owner_only
                .check_user(&user, &Typed::default())
                .map_err(|m| m.0)
        };
        assert_eq!(verdict(json!({"role": "owner"})).unwrap(), Ok(()));
        assert_eq!(
            verdict(json!({"role": "staff"})).unwrap(),
            Err(Denial::Predicate)
        );
        let misfit = verdict(json!({"name": "x"})).unwrap_err();
        assert!(
            misfit.contains("Staff") && misfit.contains("role"),
            "{misfit}"
        );
    }
}
