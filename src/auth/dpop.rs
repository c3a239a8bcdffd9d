//! DPoP as a resource server (RFC 9449 §4.3, §7): the proof of an `Authorization: DPoP`
//! request, checked before the token is resolved; the token's binding (`cnf.jkt`) is
//! checked after, in `caller::authenticate`.

use std::time::{SystemTime, UNIX_EPOCH};

use axum::extract::OriginalUri;
use base64::Engine as _;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use http::{Extensions, HeaderMap, Method};
use serde_json::Value;
use sha2::{Digest as _, Sha256};
use url::Url;

use super::AuthRejection;
use crate::secret::AccessToken;
use crate::state::{DpopProofs, Shared};

/// How old a proof's `iat` may be, and how far ahead of this server's clock.
const PAST: u64 = 300;
const FUTURE: u64 = 60;

/// The thumbprint of the key that signed this request's valid, unreplayed proof for
/// `token`, or `invalid_dpop_proof`. The `jti` is recorded only once everything else
/// passed, so a forged or malformed proof fills nothing.
pub(crate) fn check_proof(
    shared: &Shared,
    proofs: &DpopProofs,
    extensions: &Extensions,
    method: &Method,
    headers: &HeaderMap,
    token: &AccessToken,
) -> Result<String, AuthRejection> {
    let refuse = |reason: &'static str| AuthRejection::InvalidDpopProof {
        realm: shared.realm.clone(),
        reason,
    };
    let mut values = headers.get_all("dpop").iter();
    let proof = match (values.next(), values.next()) {
        (Some(value), None) => value
            .to_str()
            .map_err(|_| refuse("the proof is not ASCII"))?,
        (None, _) => return Err(refuse("an Authorization: DPoP request needs a DPoP proof")),
        _ => return Err(refuse("more than one DPoP header")),
    };
    let (claims, jkt) = crate::jose::verify_dpop_proof(proof).map_err(refuse)?;
    let text = |name: &str| claims.get(name).and_then(Value::as_str);
    if text("htm") != Some(method.as_str()) {
        return Err(refuse("htm is not the request's method"));
    }
    let expected = request_url(&proofs.origin, extensions)
        .ok_or(refuse("the request's URL is unknown here"))?;
    let htu = text("htu").and_then(|u| Url::parse(u).ok());
    if !htu.is_some_and(|htu| same_resource(&htu, &expected)) {
        return Err(refuse("htu is not this request's URL"));
    }
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let iat = claims
        .get("iat")
        .and_then(Value::as_u64)
        .ok_or(refuse("iat is missing"))?;
    if iat + PAST < now || iat > now + FUTURE {
        return Err(refuse("iat is outside the accepted window"));
    }
    let ath = URL_SAFE_NO_PAD.encode(Sha256::digest(token.secret()));
    if text("ath") != Some(ath.as_str()) {
        return Err(refuse("ath is not the access token's hash"));
    }
    let jti = text("jti").filter(|j| !j.is_empty() && j.len() <= 256);
    let jti = jti.ok_or(refuse("jti is missing"))?;
    if !proofs.first_use(&jkt, jti) {
        return Err(refuse("the proof was used before"));
    }
    Ok(jkt)
}

/// What the client saw as this request's URL: the app's public origin (the redirect
/// URI's, never `Host` or `X-Forwarded-*`) and the path before any `nest` stripped it.
fn request_url(origin: &Url, extensions: &Extensions) -> Option<Url> {
    let OriginalUri(uri) = extensions.get::<OriginalUri>()?;
    origin.join(uri.path()).ok()
}

/// RFC 9449 §4.3 step 9: the same URI without query and fragment, compared after the
/// URL standard's normalisation (case of scheme and host, default port, dot segments).
fn same_resource(htu: &Url, expected: &Url) -> bool {
    htu.scheme() == expected.scheme()
        && htu.host_str() == expected.host_str()
        && htu.port_or_known_default() == expected.port_or_known_default()
        && htu.path() == expected.path()
}
