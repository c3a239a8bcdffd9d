//! Where a relative API path may lead: under the provider's API base, and nowhere else
//! (the user's token travels with the request).
//!
//! `Url::join` resolves `..` and `%2e%2e`, but the request also passes servers and
//! proxies that decode more than the URL standard does before they route: `%2F` and
//! `%5C` as separators, `..;` as `..` (Tomcat's path parameters), a twice-encoded
//! `%252e%252e` decoded twice, trailing dots dropped (IIS). So every segment is decoded
//! until it no longer changes, and refused if any decoder on the way could read it as a
//! separator or a dot segment.

use std::borrow::Cow;

use percent_encoding::percent_decode_str;
use url::Url;

use super::ApiError;

/// Rounds of percent-decoding looked through; a segment still changing after that is
/// refused rather than trusted.
const MAX_DECODES: usize = 8;

/// `path` joined to `base`, or why it is refused.
pub(super) fn under_base(base: &Url, path: &str) -> Result<Url, ApiError> {
    let invalid = |reason| Err(ApiError::InvalidPath { reason });
    if path.contains("://") || path.starts_with("//") {
        return invalid("an absolute URL: paths are relative to the provider's API base");
    }
    if path.contains('\\') {
        return invalid("a backslash, which servers read as a separator");
    }
    if path.chars().any(char::is_control) {
        return invalid("a control character");
    }
    if let Err(reason) = check_segments(path) {
        return invalid(reason);
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

/// Refuses a path (the part before `?` or `#`; queries may say anything) with a segment
/// that some decoder could route elsewhere: `/` or `\` inside it once decoded (`%2F`,
/// `%5C`, `%252F`), a control character once decoded (`%00` ends a name in C), or a dot
/// segment (`.`, `..`) in any encoding, also with `;parameters` (`..;x`).
fn check_segments(path: &str) -> Result<(), &'static str> {
    let path = path.split(['?', '#']).next().unwrap_or_default();
    for segment in path.split('/') {
        let mut text = Cow::Borrowed(segment);
        for round in 0.. {
            if text.contains(['/', '\\']) {
                return Err("an encoded slash or backslash (%2F, %5C) in a segment");
            }
            if text.chars().any(char::is_control) {
                return Err("an encoded control character");
            }
            let next = percent_decode_str(&text).decode_utf8_lossy();
            if next == text {
                break;
            }
            if round == MAX_DECODES {
                return Err("a segment encoded too many times");
            }
            text = Cow::Owned(next.into_owned());
        }
        let name = text.split(';').next().unwrap_or_default();
        if is_dot_segment(name) {
            return Err("a dot segment (`.`, `..`), in any encoding or with `;`");
        }
    }
    Ok(())
}

/// `.`, `..`, and what Windows servers fold into them (trailing dots and spaces are
/// dropped from a name: `...`, `.. `).
fn is_dot_segment(name: &str) -> bool {
    name.contains('.') && name.chars().all(|c| c == '.' || c == ' ')
}

#[cfg(test)]
mod tests {
    use super::*;

    /// `path` under `base`, as the request would go.
    fn join(base: &str, path: &str) -> Result<String, ApiError> {
        let provider = crate::provider::Provider::custom("x")
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

    /// Whether `join` refused `path` as a path (and so sent nothing).
    fn refused(base: &str, path: &str) -> bool {
        matches!(join(base, path), Err(ApiError::InvalidPath { .. }))
    }

    #[test]
    fn encoded_separators_and_dot_segments_are_refused() {
        let base = "https://api.example.com/api/v1";
        for bad in [
            "..%2F",
            "..%2Fadmin",
            "..%2fadmin",
            "..%5C",
            "..%5Cadmin",
            "..;/",
            "..;/admin",
            "..;x/admin",
            "%2e%2e;/admin",
            "%252e%252e/",
            "%252e%252e/admin",
            "%25252e%25252e/admin",
            "%2e%2e/",
            "a/%2F/b",
            "a/%252F/b",
            "a%2Fb",
            "a%5cb",
            "a\\b",
            ".",
            "./x",
            "a/./b",
            "a/../b",
            "%2e/x",
            "..%00/x",
        ] {
            assert!(refused(base, bad), "{bad}: {:?}", join(base, bad));
        }
        for good in [
            "v1/users",
            "users/a%20b",
            "items?q=..",
            "items?q=../x&r=a%2Fb",
            "a..b/c",
            "..a/b",
            "v1.2/file.json",
            "library/",
        ] {
            let url = join(base, good).unwrap_or_else(|e| panic!("{good}: {e}"));
            assert!(url.starts_with("https://api.example.com/api/v1/"), "{url}");
        }
    }
}

#[cfg(test)]
mod proptests {
    use proptest::prelude::*;

    use super::*;

    /// Percent-decodes `text` until it no longer changes (bounded), as the most eager
    /// server or proxy on the way might.
    fn decoded(text: &str) -> String {
        let mut text = text.to_owned();
        for _ in 0..16 {
            let next = percent_encoding::percent_decode_str(&text)
                .decode_utf8_lossy()
                .into_owned();
            if next == text {
                break;
            }
            text = next;
        }
        text
    }

    /// The path an eager server routes to: decoded, `\` as `/`, `;params` dropped, dot
    /// segments resolved.
    fn routed(path: &str) -> String {
        let path = decoded(path).replace('\\', "/");
        let mut out: Vec<&str> = Vec::new();
        for segment in path.split('/').skip(1) {
            let name = segment.split(';').next().unwrap_or("");
            match name.trim_end_matches([' ', '.']).is_empty() && !name.is_empty() {
                true if name.trim() == "." => {}
                true => {
                    out.pop();
                }
                false => out.push(name),
            }
        }
        format!("/{}", out.join("/"))
    }

    fn tricky_path() -> impl Strategy<Value = String> {
        let piece = prop::sample::select(vec![
            "a", ".", "..", "/", ";", "%", "25", "2e", "2E", "2f", "2F", "5c", "5C", "%2e", "%2f",
            "%5c", "%3b", "%252e", "%00", " ",
        ]);
        prop::collection::vec(piece, 0..14).prop_map(|pieces| pieces.concat())
    }

    proptest! {
        /// Whatever the check lets through stays under the base however eagerly a server
        /// on the way decodes it.
        #[test]
        fn accepted_paths_stay_under_the_base_once_decoded(path in tricky_path()) {
            let base = Url::parse("https://api.example.com/api/v1/").unwrap();
            if let Ok(url) = under_base(&base, &path) {
                let routed = routed(url.path());
                prop_assert!(
                    routed.starts_with("/api/v1/") || routed == "/api/v1",
                    "{path:?} → {} → {routed}",
                    url.path()
                );
            }
        }

        /// Plain paths are never refused.
        #[test]
        fn plain_paths_pass(segments in prop::collection::vec("[A-Za-z0-9_.-]{1,8}", 1..6)) {
            let path = segments.join("/");
            prop_assume!(!segments.iter().any(|s| s.chars().all(|c| c == '.')));
            let base = Url::parse("https://api.example.com/api/v1/").unwrap();
            let url = under_base(&base, &path).map_err(|e| TestCaseError::fail(format!("{path}: {e}")))?;
            prop_assert!(url.path().starts_with("/api/v1/"));
        }
    }
}
