//! The login hook: the app turns the provider's answer into its own user — kept in the
//! session and handed back typed by [`AuthSession<U>`](crate::AuthSession) — or refuses
//! the login.

use std::any::TypeId;
use std::future::Future;
use std::sync::Arc;

use futures_util::future::BoxFuture;
use serde::Serialize;
use serde::de::DeserializeOwned;
use serde_json::Value;

use crate::client::{TokenSet, UserInfo};
use crate::oidc::IdClaims;

/// What a login brought, for [`OAuthBuilder::on_login`](crate::OAuthBuilder::on_login):
/// the token set just issued and the user as the provider describes them (userinfo, or
/// introspection for providers without userinfo).
pub struct Login {
    pub(crate) tokens: TokenSet,
    pub(crate) userinfo: Arc<Value>,
    pub(crate) id_claims: Option<Arc<IdClaims>>,
    pub(crate) provider: String,
}

impl std::fmt::Debug for Login {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // The user's details are personal data: not in logs.
        f.debug_struct("Login")
            .field("provider", &self.provider)
            .field("tokens", &self.tokens)
            .finish_non_exhaustive()
    }
}

impl Login {
    /// The tokens the provider issued for this login.
    pub fn tokens(&self) -> &TokenSet {
        &self.tokens
    }
    /// The provider's answer about the user, as JSON.
    pub fn userinfo(&self) -> &Value {
        &self.userinfo
    }
    /// The provider's answer as the crate's [`UserInfo`] (vcita's fields typed, the rest
    /// kept in `extra`).
    pub fn user_info(&self) -> Result<UserInfo, LoginRefusal> {
        self.userinfo_as()
    }
    /// The provider's answer as the app's own type. A type that does not fit the answer
    /// is the app's bug: the login fails with `500`, and the log line names the type
    /// and the field (the page stays generic).
    pub fn userinfo_as<T: DeserializeOwned>(&self) -> Result<T, LoginRefusal> {
        T::deserialize(&*self.userinfo).map_err(|e| {
            LoginRefusal::failed(format!(
                "the provider's user info does not fit `{}`: {}",
                std::any::type_name::<T>(),
                crate::transport::misfit(&e)
            ))
        })
    }
    /// The validated id_token's claims, for an OpenID Connect provider (`None`
    /// otherwise): standard claims typed, the rest in [`IdClaims::extra`].
    pub fn id_claims(&self) -> Option<&IdClaims> {
        self.id_claims.as_deref()
    }
    /// The provider's name (`vcita`, `apicbase`, ...).
    pub fn provider(&self) -> &str {
        &self.provider
    }
}

/// Why the login hook did not let someone in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum RefusalKind {
    /// `403`: the person may not use this app; the reason is shown to them.
    Denied,
    /// `503`: something the hook needs is down; try again later.
    Unavailable,
    /// `500`: the app's own bug; logged, never shown.
    Failed,
}

/// A login the app's hook refused. The tokens just issued are revoked and no session is
/// created; the person sees the callback's error page (through the app's
/// [render hook](crate::OAuthBuilder::error_page) when it has one).
///
/// ```
/// use axum_oauth_login::LoginRefusal;
/// let refusal = LoginRefusal::new("This app is only for Demo Salon's staff.");
/// assert_eq!(refusal.status(), 403);
/// assert_eq!(LoginRefusal::unavailable("user database down").status(), 503);
/// assert_eq!(LoginRefusal::failed("bug").status(), 500);
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LoginRefusal {
    pub(crate) kind: RefusalKind,
    pub(crate) reason: String,
}

impl LoginRefusal {
    /// `403 Forbidden`, with `reason` shown to the person (say what they can do).
    pub fn new(reason: impl Into<String>) -> LoginRefusal {
        LoginRefusal {
            kind: RefusalKind::Denied,
            reason: reason.into(),
        }
    }
    /// `503 Service Unavailable`: something the hook depends on is down. `detail` goes
    /// to the log; the person is asked to try again.
    pub fn unavailable(detail: impl Into<String>) -> LoginRefusal {
        LoginRefusal {
            kind: RefusalKind::Unavailable,
            reason: detail.into(),
        }
    }
    /// `500 Internal Server Error`: a bug in the app. `detail` goes to the log only.
    pub fn failed(detail: impl Into<String>) -> LoginRefusal {
        LoginRefusal {
            kind: RefusalKind::Failed,
            reason: detail.into(),
        }
    }
    /// The status the callback answers with.
    pub fn status(&self) -> u16 {
        match self.kind {
            RefusalKind::Denied => 403,
            RefusalKind::Unavailable => 503,
            RefusalKind::Failed => 500,
        }
    }
    /// The reason (shown for `403`) or the detail (logged for `500` / `503`).
    pub fn reason(&self) -> &str {
        &self.reason
    }
}

impl std::fmt::Display for LoginRefusal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "login refused ({}): {}", self.status(), self.reason)
    }
}

/// How long the login hook may take (the code is spent; the person is waiting).
const HOOK_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);

type Run = dyn Fn(Login) -> BoxFuture<'static, Result<Value, LoginRefusal>> + Send + Sync;

/// The app's hook with its user type erased: it returns the user as JSON, the form it
/// is kept in; [`LoginHook::user_type`] lets `AuthSession<U>` check it asks for the
/// same type.
#[derive(Clone)]
pub(crate) struct LoginHook {
    run: Arc<Run>,
    user_type: TypeId,
    type_name: &'static str,
}

impl std::fmt::Debug for LoginHook {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LoginHook")
            .field("user_type", &self.type_name)
            .finish_non_exhaustive()
    }
}

impl LoginHook {
    pub(crate) fn new<U, F, Fut>(hook: F) -> LoginHook
    where
        U: Serialize + DeserializeOwned + Send + Sync + 'static,
        F: Fn(Login) -> Fut + Send + Sync + 'static,
        Fut: Future<Output = Result<U, LoginRefusal>> + Send + 'static,
    {
        let run = move |login: Login| -> BoxFuture<'static, Result<Value, LoginRefusal>> {
            let user = hook(login);
            Box::pin(async move {
                let user = user.await?;
                serde_json::to_value(&user).map_err(|e| {
                    LoginRefusal::failed(format!(
                        "the login hook's user `{}` does not serialise to JSON: {e}",
                        std::any::type_name::<U>()
                    ))
                })
            })
        };
        LoginHook {
            run: Arc::new(run),
            user_type: TypeId::of::<U>(),
            type_name: std::any::type_name::<U>(),
        }
    }

    /// Runs the hook: the app's user as JSON, or its refusal. A hook that panics is a
    /// failure (`500`), one that takes longer than [`HOOK_TIMEOUT`] is unavailable
    /// (`503`): either way the callback revokes the tokens.
    pub(crate) async fn run(&self, login: Login) -> Result<Value, LoginRefusal> {
        use futures_util::FutureExt as _;
        let run = std::panic::AssertUnwindSafe((self.run)(login)).catch_unwind();
        match tokio::time::timeout(HOOK_TIMEOUT, run).await {
            Ok(Ok(outcome)) => outcome,
            Ok(Err(_)) => Err(LoginRefusal::failed("the login hook panicked")),
            Err(_) => Err(LoginRefusal::unavailable(format!(
                "the login hook took longer than {HOOK_TIMEOUT:?}"
            ))),
        }
    }

    /// Whether `U` is the type the hook returns.
    pub(crate) fn returns<U: 'static>(&self) -> bool {
        self.user_type == TypeId::of::<U>()
    }

    /// The name of the type the hook returns, for error messages.
    pub(crate) fn type_name(&self) -> &'static str {
        self.type_name
    }
}
