//! How one variable's value parses: switches, lists, seconds, choices, keys, stores and
//! authorize parameters. Every error is a reason; the table names the variable.

use std::sync::Arc;
use std::time::Duration;

use crate::client::DpopKeys;
use crate::error::ConfigError;
use crate::jose::SigningKey;
use crate::store::{MemoryStore, SessionStore};

pub(super) fn reason(e: ConfigError) -> String {
    e.reason().to_owned()
}

/// One or more PEM private keys, newest first: the DPoP key and the keys it replaced.
pub(super) fn dpop_keys(value: &str) -> Result<DpopKeys, String> {
    let starts: Vec<usize> = value
        .match_indices("-----BEGIN")
        .map(|(at, _)| at)
        .collect();
    let ends = starts.iter().skip(1).copied().chain([value.len()]);
    let mut keys = starts
        .iter()
        .zip(ends)
        .map(|(&start, end)| SigningKey::from_pem(&value[start..end]).map_err(reason));
    let current = keys
        .next()
        .unwrap_or_else(|| Err("not a PEM key (no `-----BEGIN` line)".into()))?;
    keys.try_fold(DpopKeys::new(current), |all, old| {
        Ok(all.with_previous(old?))
    })
}

/// A switch: `on`, `off`, `true`, `false`, `1` or `0`.
pub(super) fn on_off(value: &str) -> Result<bool, String> {
    choose(
        value,
        &[
            ("on", true),
            ("off", false),
            ("true", true),
            ("false", false),
            ("1", true),
            ("0", false),
        ],
    )
}

/// Comma-separated, trimmed, without empty entries.
pub(super) fn list(value: &str) -> impl Iterator<Item = &str> {
    value.split(',').map(str::trim).filter(|v| !v.is_empty())
}

pub(super) fn seconds(value: &str) -> Result<Duration, String> {
    let secs = value
        .parse()
        .map_err(|_| "expected a whole number of seconds");
    Ok(Duration::from_secs(secs?))
}

/// The option `value` names (in any case), or an error listing them all.
pub(super) fn choose<T: Copy>(value: &str, options: &[(&str, T)]) -> Result<T, String> {
    let found = options.iter().find(|o| o.0.eq_ignore_ascii_case(value));
    let names: Vec<String> = options.iter().map(|o| format!("`{}`", o.0)).collect();
    let (last, others) = names.split_last().expect("options");
    let expected = || format!("expected {} or {last}", others.join(", "));
    found.map(|o| o.1).ok_or_else(expected)
}

pub(super) const REDIS: &str = "a `redis://` / `rediss://` URL (with the crate's `redis` feature)";

/// `cookie`, `memory`, or a Redis URL (whose error never echoes it: it may hold a password).
pub(super) fn session_store(value: &str) -> Result<Option<Arc<dyn SessionStore>>, String> {
    match value {
        "cookie" => Ok(None),
        "memory" => Ok(Some(Arc::new(MemoryStore::new(100_000)))),
        #[cfg(feature = "redis")]
        url if url.starts_with("redis://") || url.starts_with("rediss://") => {
            let store = crate::store::RedisStore::open(url).map_err(|e| e.to_string())?;
            Ok(Some(Arc::new(store)))
        }
        _ => Err(format!("expected `cookie`, `memory`, or {REDIS}")),
    }
}

/// `prompt=login&ui_locales=de`: `name=value` pairs, percent-decoded (`+` is a space), each
/// name at most once (RFC 6749 §3.1). Errors name the entry's position, never its value.
pub(super) fn authorize_params(query: &str) -> Result<Vec<(String, String)>, String> {
    let mut params: Vec<(String, String)> = Vec::new();
    let entries = query.strip_prefix('?').unwrap_or(query).split('&');
    for (entry, n) in entries.filter(|e| !e.is_empty()).zip(1..) {
        let (param, value) = entry
            .split_once('=')
            .ok_or_else(|| format!("entry {n} is not `name=value` (e.g. `prompt=login`)"))?;
        let decode = |part: &str| {
            percent_decode(part).ok_or_else(|| {
                format!("entry {n} is not valid percent-encoding (`%` and two hex digits, UTF-8)")
            })
        };
        let (param, value) = (decode(param)?, decode(value)?);
        if param.is_empty() || param.chars().any(char::is_control) {
            return Err(format!("entry {n} has an empty or unprintable name"));
        }
        if params.iter().any(|(seen, _)| *seen == param) {
            return Err(format!("`{param}` is given more than once"));
        }
        params.push((param, value));
    }
    Ok(params)
}

/// Query-string decoding: `+` is a space, `%XX` a byte; a stray `%` or a result that is
/// not UTF-8 is `None`.
pub(super) fn percent_decode(part: &str) -> Option<String> {
    let hex = |s: &str| {
        s.get(..2)
            .is_some_and(|h| h.bytes().all(|b| b.is_ascii_hexdigit()))
    };
    let spaced = part.replace('+', " ");
    let decoded = percent_encoding::percent_decode_str(&spaced)
        .decode_utf8()
        .ok()?;
    part.split('%')
        .skip(1)
        .all(hex)
        .then(|| decoded.into_owned())
}
