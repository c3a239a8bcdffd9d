//! Where a relative API path may lead: under the provider's API base, and nowhere else
//! (the user's token travels with the request).

use url::Url;

use super::ApiError;

/// `path` joined to `base`, or why it is refused.
pub(super) fn under_base(base: &Url, path: &str) -> Result<Url, ApiError> {
    let invalid = |reason| Err(ApiError::InvalidPath { reason });
    if path.contains("://") || path.starts_with("//") || path.contains('\\') {
        return invalid("an absolute URL: paths are relative to the provider's API base");
    }
    if path.chars().any(char::is_control) {
        return invalid("a control character");
    }
    let url = match base.join(path.trim_start_matches('/')) {
        Ok(url) => url,
        Err(_) => return invalid("not a valid relative URL"),
    };
    if url.origin() != base.origin() || !url.path().starts_with(base.path()) {
        return invalid("outside the provider's API base");
    }
    Ok(url)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `path` under `base`, as the request would go.
    fn join(base: &str, path: &str) -> Result<String, ApiError> {
        let provider = crate::Provider::custom("x")
            .authorize_url("https://id.example/auth")
            .token_url("https://id.example/token")
            .api_base(base)
            .build()
            .unwrap();
        under_base(provider.api_base().unwrap(), path).map(String::from)
    }

    #[test]
    fn paths_stay_under_the_api_base() {
        let base = "https://api.example.com/api/v1";
        assert_eq!(
            join(base, "library/").unwrap(),
            "https://api.example.com/api/v1/library/"
        );
        assert_eq!(
            join(base, "/products/?page=2").unwrap(),
            "https://api.example.com/api/v1/products/?page=2"
        );
        for bad in [
            "https://evil.example/x",
            "//evil.example/x",
            "../v2/x",
            "/../../x",
            "a/../../x",
            "%2e%2e/x",
            "\\\\evil.example",
            "a\r\nb",
            "http:evil",
        ] {
            assert!(join(base, bad).is_err(), "{bad}: {:?}", join(base, bad));
        }
        assert_eq!(
            join("https://api.vcita.biz", "platform/v1/businesses/b-42").unwrap(),
            "https://api.vcita.biz/platform/v1/businesses/b-42"
        );
    }
}
