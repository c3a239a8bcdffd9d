//! `GET /auth/callback`: finish the login this browser started — find its flow, check
//! state, expiry and issuer, take the provider's answer, exchange the code at once,
//! start a fresh session — as a short pipeline whose every refusal is a
//! [`CallbackError`].

mod error;

use std::collections::HashMap;
use std::sync::Arc;

use axum::extract::{RawQuery, State};
use axum::response::{IntoResponse, Response};
use http::header::SET_COOKIE;
use http::{HeaderValue, Request};

pub(super) use self::error::kind;
use self::error::{CallbackError, Refusal};
use super::query_params;
use crate::auth::RequestSession;
use crate::client::TokenSet;
use crate::login::Login;
use crate::oidc::IdClaims;
use crate::pages::redirect;
use crate::provider::Provider;
use crate::return_to::safe_return_to;
use crate::secret::{AuthorizationCode, Nonce};
use crate::session::{LoginFlow, LoginUser, SessionData};
use crate::state::Shared;
use crate::transport::{ErrorCode, sanitize};

/// The callback's query: at most one value per parameter (RFC 6749 §3.1).
struct Params(HashMap<String, Vec<String>>);

impl Params {
    fn one(&self, name: &str) -> Result<Option<&str>, CallbackError> {
        match self.0.get(name).map(Vec::as_slice) {
            None | Some([]) => Ok(None),
            Some([v]) => Ok(Some(v)),
            Some(_) => Err(CallbackError::DuplicateParams),
        }
    }
}

pub(crate) async fn callback(
    State(shared): State<Arc<Shared>>,
    RawQuery(query): RawQuery,
    req: Request<axum::body::Body>,
) -> Response {
    let (req, _) = req.into_parts();
    let rs = match RequestSession::of(&req.extensions, &shared) {
        Ok(rs) => rs,
        Err(missing) => return missing.into_response(),
    };
    let params = Params(query_params(query.as_deref()));
    let refuse = |error, spent_flow| Refusal::new(error, &shared, &req.headers, spent_flow);
    let state = match params
        .one("state")
        .and_then(|s| s.ok_or(CallbackError::MissingState))
    {
        Ok(state) => state,
        Err(error) => return refuse(error, None).into_response(),
    };
    let Some(found) = shared.flows.find(&req.headers, state) else {
        return refuse(CallbackError::NoFlow, None).into_response();
    };
    // From here on the flow cookie is spent, whatever happens: a code works once.
    let account = found.flow.account.clone();
    let started = match finish(&shared, &params, state, found.flow).await {
        Ok((tokens, return_to, nonce)) => {
            // Until they are kept or revoked, the tokens are this guard's: a request
            // dropped meanwhile (the browser gone, a timeout layer) revokes them.
            let mut unclaimed = Unclaimed(Some((shared.clone(), tokens.clone())));
            let kept = match check_id_token(&shared, &tokens, nonce.as_ref()).await {
                Err(error) => {
                    crate::auth::end_tokens(&shared, &tokens).await;
                    Err(error)
                }
                Ok(claims) => match account {
                    Some(account) => connect(&shared, &account, tokens).await,
                    None => establish(&shared, rs, tokens, claims).await,
                },
            };
            // Kept, or already revoked by the failing step.
            unclaimed.0 = None;
            kept.map(|()| return_to)
        }
        Err(error) => Err(error),
    };
    match started {
        Ok(return_to) => {
            tracing::info!(
                provider = shared.client.provider().name(),
                "login completed"
            );
            with_cookie(redirect(&return_to), &found.removal)
        }
        Err(error) => refuse(error, Some(found.removal)).into_response(),
    }
}

/// Tokens issued by the exchange that no session or connection holds yet; revoked (on
/// a spawned task) if dropped while still holding them.
struct Unclaimed(Option<(Arc<Shared>, TokenSet)>);

impl Drop for Unclaimed {
    fn drop(&mut self) {
        if let Some((shared, tokens)) = self.0.take()
            && let Ok(runtime) = tokio::runtime::Handle::try_current()
        {
            tracing::info!(
                "the callback was cancelled after the code exchange; revoking its tokens"
            );
            runtime.spawn(async move { crate::auth::end_tokens(&shared, &tokens).await });
        }
    }
}

/// Every check, then the code exchange; the tokens, where to go next, and the nonce
/// the id_token must carry.
async fn finish(
    shared: &Shared,
    params: &Params,
    state: &str,
    flow: LoginFlow,
) -> Result<(TokenSet, String, Option<Nonce>), CallbackError> {
    if !flow.state.matches(state) {
        return Err(CallbackError::StateMismatch);
    }
    if shared.flows.expired(&flow, shared.clock.now()) {
        return Err(CallbackError::Expired);
    }
    check_issuer(shared.client.provider(), params.one("iss")?)?;
    if let Some(error) = params.one("error")? {
        return Err(CallbackError::Provider {
            code: ErrorCode::parse(error),
            description: params
                .one("error_description")
                .ok()
                .flatten()
                .map(|d| sanitize(d, 200)),
        });
    }
    let code = params.one("code")?.ok_or(CallbackError::MissingCode)?;
    // The code lives seconds and works once: exchange it now, never retry.
    let mut tokens = shared
        .client
        .exchange_code(AuthorizationCode::new(code), flow.verifier.as_ref())
        .await
        .map_err(CallbackError::Exchange)?;
    tokens.default_scope(shared.client.provider().scopes());
    let return_to = safe_return_to(&flow.return_to).unwrap_or("/").to_owned();
    Ok((tokens, return_to, flow.nonce))
}

/// OpenID Connect (Core §3.1.3.7): an `openid` login must bring an id_token, and it must
/// pass every check, the nonce of this login's flow included. `None` for a provider the
/// crate does not validate id_tokens of.
async fn check_id_token(
    shared: &Shared,
    tokens: &TokenSet,
    nonce: Option<&Nonce>,
) -> Result<Option<IdClaims>, CallbackError> {
    let Some(oidc) = shared.client.oidc() else {
        return Ok(None);
    };
    let Some(id_token) = tokens.id_token() else {
        let openid = shared
            .client
            .provider()
            .scopes()
            .iter()
            .any(|s| s == "openid");
        return if openid {
            Err(CallbackError::MissingIdToken)
        } else {
            Ok(None)
        };
    };
    // A flow started before the provider was an OpenID Connect one has no nonce.
    let nonce = nonce.ok_or(CallbackError::Expired)?;
    oidc.id_token(id_token, Some(nonce))
        .await
        .map(Some)
        .map_err(CallbackError::IdToken)
}

/// Turns the tokens into a session: the user (through the app's hook when it has one),
/// then a fresh session. Tokens that end up in no session are revoked: nobody could
/// use them, and nobody should.
async fn establish(
    shared: &Shared,
    rs: &RequestSession,
    tokens: TokenSet,
    claims: Option<IdClaims>,
) -> Result<(), CallbackError> {
    let established = async {
        let claims = claims.map(Arc::new);
        let (user, sub) = login_user(shared, &tokens, claims.clone()).await?;
        let session = SessionData::start(
            tokens.clone(),
            user,
            sub,
            shared.clock.now(),
            shared.session.ttl_secs,
        )
        .with_id_claims(claims.as_deref());
        rs.handle.start(session).await.map_err(CallbackError::from)
    }
    .await;
    if established.is_err() {
        crate::auth::end_tokens(shared, &tokens).await;
    }
    established
}

/// Keeps the tokens of a connect flow under its account (the browser's session is not
/// touched); tokens that cannot be kept are revoked.
async fn connect(shared: &Shared, account: &str, tokens: TokenSet) -> Result<(), CallbackError> {
    let Some(vault) = &shared.vault else {
        // A connect flow cookie is only made by `Connections`, which needs the vault.
        crate::auth::end_tokens(shared, &tokens).await;
        return Err(CallbackError::StoreUnavailable(
            crate::store::StoreError::new("save", "no connections store is configured"),
        ));
    };
    match crate::session::keep(&shared.client, vault, account, tokens.clone()).await {
        Ok(()) => {
            tracing::info!(
                provider = shared.client.provider().name(),
                "account connected"
            );
            Ok(())
        }
        Err(e) => {
            crate::auth::end_tokens(shared, &tokens).await;
            Err(CallbackError::StoreUnavailable(e))
        }
    }
}

/// The session's user: the app's (its login hook ran on the resolved user), else the
/// provider's snapshot when configured; and the provider's id of the user.
async fn login_user(
    shared: &Shared,
    tokens: &TokenSet,
    claims: Option<Arc<IdClaims>>,
) -> Result<(LoginUser, Option<String>), CallbackError> {
    if shared.on_login.is_none() && !shared.fetch_user_on_login {
        return Ok((LoginUser::None, None));
    }
    let mut resolved = shared
        .users
        .resolve(
            tokens.access_token(),
            tokens.expires_at(),
            tokens.dpop_jkt(),
        )
        .await;
    // A JWT access token checked locally describes the user by its claims only
    // (`sub`, `scope`, …; userinfo may refuse such tokens): the id_token's claims fill
    // in the person (name, email, …), the access token's win.
    if let (Ok(resolved), Some(claims)) = (&mut resolved, &claims)
        && shared
            .client
            .oidc()
            .is_some_and(|o| o.checks_access_tokens())
        && crate::oidc::looks_like_jwt(tokens.access_token().secret())
        && let Ok(serde_json::Value::Object(mut person)) = serde_json::to_value(&**claims)
        && let Some(access) = resolved.user.as_object()
    {
        person.extend(access.clone());
        resolved.user = Arc::new(serde_json::Value::Object(person));
    }
    // Core §5.3.2: userinfo about another `sub` than the id_token's is not this user.
    if let (Ok(resolved), Some(claims)) = (&resolved, &claims)
        && subject(&resolved.user).is_some_and(|sub| sub != claims.sub)
    {
        return Err(CallbackError::SubjectMismatch);
    }
    let Some(hook) = &shared.on_login else {
        return Ok(match resolved {
            Ok(resolved) => (
                LoginUser::Provider((*resolved.user).clone()),
                subject(&resolved.user),
            ),
            Err(e) => {
                tracing::warn!(error = %e, "could not fetch the user at login; continuing without a snapshot");
                (LoginUser::None, None)
            }
        });
    };
    // The hook decides on the user: without one, there is nothing to decide on.
    let userinfo = resolved.map_err(CallbackError::User)?.user;
    let sub = subject(&userinfo);
    let login = Login {
        tokens: tokens.clone(),
        userinfo,
        id_claims: claims,
        provider: shared.client.provider().name().to_owned(),
    };
    let user = hook.run(login).await.map_err(CallbackError::Refused)?;
    Ok((LoginUser::App(user), sub))
}

fn subject(userinfo: &serde_json::Value) -> Option<String> {
    userinfo
        .get("sub")
        .and_then(|s| s.as_str())
        .map(str::to_owned)
}

/// RFC 9207: the `iss` of an authorization response must be the issuer this login was
/// sent to. A received `iss` must equal the configured issuer; without one, it must at
/// least be the base of our authorize URL (issuers are the base of their endpoints),
/// which still refuses another provider's response (mix-up, RFC 9700 §4.4). It must be
/// there when the provider says it always sends it (§2.4: by default whenever an issuer
/// is configured; a discovered provider follows its metadata's
/// `authorization_response_iss_parameter_supported`).
fn check_issuer(provider: &Provider, received: Option<&str>) -> Result<(), CallbackError> {
    match received {
        Some(received) if !issuer_accepted(provider, received) => {
            Err(CallbackError::IssuerMismatch)
        }
        None if provider.issuer_in_callback() => Err(CallbackError::MissingIssuer),
        _ => Ok(()),
    }
}

fn issuer_accepted(provider: &Provider, received: &str) -> bool {
    match provider.issuer() {
        Some(expected) => expected == received,
        None => {
            let authorize = provider.authorize_url().as_str();
            let base = received.trim_end_matches('/');
            !base.is_empty()
                && authorize
                    .strip_prefix(base)
                    .is_some_and(|rest| rest.is_empty() || rest.starts_with('/'))
        }
    }
}

pub(super) fn with_cookie(mut res: Response, set_cookie: &str) -> Response {
    if let Ok(v) = HeaderValue::try_from(set_cookie) {
        res.headers_mut().append(SET_COOKIE, v);
    }
    res
}

#[cfg(test)]
mod tests {
    use super::{CallbackError, check_issuer, issuer_accepted};
    use crate::provider::Provider;

    fn provider(issuer: Option<&str>, in_callback: Option<bool>) -> Provider {
        let mut b = Provider::custom("x")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token");
        if let Some(issuer) = issuer {
            b = b.issuer(issuer);
        }
        if let Some(required) = in_callback {
            b = b.issuer_in_callback(required);
        }
        b.build().unwrap()
    }

    #[test]
    fn iss_is_required_with_an_issuer_unless_the_provider_does_not_send_it() {
        let iss = "https://id.example";
        // Issuer configured, nothing else said: required (today's behaviour).
        let required = provider(Some(iss), None);
        assert!(required.issuer_in_callback());
        assert!(matches!(
            check_issuer(&required, None),
            Err(CallbackError::MissingIssuer)
        ));
        assert!(check_issuer(&required, Some(iss)).is_ok());
        assert!(matches!(
            check_issuer(&required, Some("https://evil.example")),
            Err(CallbackError::IssuerMismatch)
        ));

        // The provider does not send iss: its absence is fine, a wrong one is not.
        let optional = provider(Some(iss), Some(false));
        assert!(!optional.issuer_in_callback());
        assert!(check_issuer(&optional, None).is_ok());
        assert!(check_issuer(&optional, Some(iss)).is_ok());
        for wrong in ["https://evil.example", "https://id.example/", ""] {
            assert!(
                matches!(
                    check_issuer(&optional, Some(wrong)),
                    Err(CallbackError::IssuerMismatch)
                ),
                "{wrong:?}"
            );
        }
        // Explicitly required: as the default.
        let explicit = provider(Some(iss), Some(true));
        assert!(matches!(
            check_issuer(&explicit, None),
            Err(CallbackError::MissingIssuer)
        ));

        // No issuer: optional, and checked against the authorize URL when sent.
        let none = provider(None, None);
        assert!(!none.issuer_in_callback());
        assert!(check_issuer(&none, None).is_ok());
        assert!(check_issuer(&none, Some(iss)).is_ok());
        assert!(matches!(
            check_issuer(&none, Some("https://evil.example")),
            Err(CallbackError::IssuerMismatch)
        ));
        assert!(!provider(None, Some(false)).issuer_in_callback());
    }

    #[test]
    fn requiring_iss_needs_an_issuer_and_the_choice_survives_to_builder() {
        let e = Provider::custom("x")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token")
            .issuer_in_callback(true)
            .build()
            .unwrap_err();
        assert_eq!(e.setting(), "issuer");

        let optional = provider(Some("https://id.example"), Some(false));
        assert!(!optional.to_builder().build().unwrap().issuer_in_callback());
        // The default is re-derived when the issuer changes through the builder.
        let unset = provider(None, None);
        let with_issuer = unset
            .to_builder()
            .issuer("https://id.example")
            .build()
            .unwrap();
        assert!(with_issuer.issuer_in_callback());
        let required = provider(Some("https://id.example"), None);
        assert!(required.to_builder().build().unwrap().issuer_in_callback());
    }

    #[test]
    fn iss_is_checked_against_the_issuer_or_the_authorize_url() {
        let configured = Provider::custom("x")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token")
            .issuer("https://id.example")
            .build()
            .unwrap();
        assert!(issuer_accepted(&configured, "https://id.example"));
        assert!(!issuer_accepted(&configured, "https://id.example/"));
        assert!(!issuer_accepted(&configured, "https://evil.example"));

        let unconfigured = Provider::custom("y")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token")
            .build()
            .unwrap();
        assert!(issuer_accepted(&unconfigured, "https://id.example"));
        assert!(issuer_accepted(&unconfigured, "https://id.example/"));
        assert!(!issuer_accepted(&unconfigured, "https://id.ex"));
        assert!(!issuer_accepted(&unconfigured, "https://evil.example"));
        assert!(!issuer_accepted(&unconfigured, ""));
    }
}
