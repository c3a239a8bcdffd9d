//! `return_to`: where to send the browser after login — only ever a path on this site.

/// Longest `return_to` kept.
const MAX_LEN: usize = 2048;

/// `Some(path)` when `candidate` is a same-site relative path (`/x?y`), `None` for
/// anything a browser could resolve to another origin: absolute URLs, schemes,
/// protocol-relative `//host`, `/\host`, any backslash, control characters, over-long
/// values.
///
/// ```
/// use axum_oauth_login::safe_return_to;
/// assert_eq!(safe_return_to("/orders?page=2"), Some("/orders?page=2"));
/// for evil in ["https://evil.example", "//evil.example", "/\\evil.example",
///              "javascript:alert(1)", "/\t/evil.example", "evil"] {
///     assert_eq!(safe_return_to(evil), None, "{evil}");
/// }
/// ```
pub fn safe_return_to(candidate: &str) -> Option<&str> {
    let bytes = candidate.as_bytes();
    let ok = !candidate.is_empty()
        && candidate.len() <= MAX_LEN
        && bytes[0] == b'/'
        && bytes.get(1) != Some(&b'/')
        && !candidate.contains('\\')
        && !candidate
            .chars()
            .any(|c| c.is_control() || c.is_whitespace());
    if !ok {
        return None;
    }
    // Belt and braces: resolved against a placeholder origin, it must stay there.
    let base = url::Url::parse("http://return-to.invalid/").ok()?;
    let resolved = base.join(candidate).ok()?;
    (resolved.origin() == base.origin()).then_some(candidate)
}

#[cfg(test)]
mod tests {
    use super::safe_return_to;

    #[test]
    fn open_redirect_attempts_fall_back() {
        let evil = [
            "https://evil.example/",
            "http:evil.example",
            "//evil.example",
            "///evil.example",
            "/\\evil.example",
            "\\\\evil.example",
            "/%0a/evil.example",
            "/\r\n/evil.example",
            "/ /evil.example",
            "javascript:alert(1)",
            "data:text/html,x",
            "",
            "relative/path",
        ];
        for e in evil {
            // `/%0a/...` is a harmless encoded path and is allowed; everything else not.
            if e == "/%0a/evil.example" {
                assert_eq!(safe_return_to(e), Some(e));
            } else {
                assert_eq!(safe_return_to(e), None, "{e:?}");
            }
        }
        assert_eq!(safe_return_to(&format!("/{}", "a".repeat(3000))), None);
    }

    #[test]
    fn ordinary_paths_are_kept() {
        for ok in ["/", "/me", "/a/b?c=d&e=f", "/p#frag", "/%2F%2Fevil.example"] {
            assert_eq!(safe_return_to(ok), Some(ok));
        }
    }
}
