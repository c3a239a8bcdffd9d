//! Who sent an unsafe request: this app's own pages, or another site. A session cookie
//! travels with cross-site form posts under `SameSite=Lax` from a sibling subdomain, so
//! the crate decides from Fetch Metadata and `Origin`, never from `Host` or
//! `X-Forwarded-*`:
//!
//! * `Sec-Fetch-Site: same-origin` or `none` (typed by the user) → ours;
//! * otherwise an `Origin` header → ours only if it is the redirect URI's origin or a
//!   configured trusted origin (`Origin: null` never is);
//! * `Sec-Fetch-Site: cross-site` / `same-site` without a trusted `Origin` → foreign;
//! * neither header (old clients, curl) → allowed.

use http::{HeaderMap, Method};
use url::Url;

use crate::error::ConfigError;

/// The origins this app's pages are served from.
#[derive(Debug, Clone)]
pub(crate) struct Origins(Vec<String>);

impl Origins {
    /// The redirect URI's origin plus `trusted` (each an `https://host[:port]` origin,
    /// plain `http` only on loopback).
    pub(crate) fn new(redirect_uri: &Url, trusted: &[String]) -> Result<Origins, ConfigError> {
        let mut origins = vec![redirect_uri.origin().ascii_serialization()];
        for value in trusted {
            let url = crate::provider::parse_secure_endpoint("trusted_origins", value)?;
            if !matches!(url.path(), "" | "/") || url.query().is_some() || url.fragment().is_some()
            {
                return Err(ConfigError::new(
                    "trusted_origins",
                    "each must be an origin only, such as https://admin.example.com",
                ));
            }
            origins.push(url.origin().ascii_serialization());
        }
        Ok(Origins(origins))
    }

    /// Whether another origin sent this request.
    pub(crate) fn foreign(&self, headers: &HeaderMap) -> bool {
        let text = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
        match (text("sec-fetch-site"), text("origin")) {
            (Some(site), _) if site.eq_ignore_ascii_case("same-origin") => false,
            (Some(site), _) if site.eq_ignore_ascii_case("none") => false,
            (_, Some(origin)) => !self.0.iter().any(|ours| ours.eq_ignore_ascii_case(origin)),
            (Some(_), None) => true,
            (None, None) => false,
        }
    }
}

/// Methods that change state (RFC 9110 §9.2.1: not safe).
pub(crate) fn is_unsafe(method: &Method) -> bool {
    !matches!(
        *method,
        Method::GET | Method::HEAD | Method::OPTIONS | Method::TRACE
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn origins() -> Origins {
        let redirect = Url::parse("https://app.example.com/auth/callback").unwrap();
        Origins::new(&redirect, &["https://admin.example.com".into()]).unwrap()
    }

    fn foreign(pairs: &[(&'static str, &'static str)]) -> bool {
        let mut h = HeaderMap::new();
        for (k, v) in pairs {
            h.insert(*k, v.parse().unwrap());
        }
        origins().foreign(&h)
    }

    #[test]
    fn fetch_metadata_then_origin_decide() {
        assert!(!foreign(&[]), "neither header: allowed");
        assert!(!foreign(&[("sec-fetch-site", "same-origin")]));
        assert!(!foreign(&[("sec-fetch-site", "none")]));
        assert!(foreign(&[("sec-fetch-site", "cross-site")]));
        assert!(
            foreign(&[("sec-fetch-site", "same-site")]),
            "a sibling subdomain"
        );
        assert!(!foreign(&[("origin", "https://app.example.com")]));
        assert!(!foreign(&[
            ("sec-fetch-site", "same-site"),
            ("origin", "https://admin.example.com")
        ]));
        assert!(foreign(&[("origin", "https://evil.example.com")]));
        assert!(foreign(&[("origin", "null")]));
        assert!(
            foreign(&[("origin", "http://app.example.com")]),
            "scheme matters"
        );
    }

    #[test]
    fn trusted_origins_are_checked() {
        let redirect = Url::parse("https://app.example.com/cb").unwrap();
        for bad in [
            "https://x.example.com/path",
            "http://x.example.com",
            "not a url",
        ] {
            assert_eq!(
                Origins::new(&redirect, &[bad.into()])
                    .unwrap_err()
                    .setting(),
                "trusted_origins",
                "{bad}"
            );
        }
        assert!(is_unsafe(&Method::POST) && is_unsafe(&Method::DELETE) && !is_unsafe(&Method::GET));
    }
}
