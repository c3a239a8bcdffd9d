//! URL helpers.

use url::Url;

/// The first value of query parameter `name`.
pub fn query_param(url: &Url, name: &str) -> Option<String> {
    url.query_pairs()
        .find(|(k, _)| k == name)
        .map(|(_, v)| v.into_owned())
}

/// `url` with parameter `name` set to `value` (others kept in order).
pub fn with_param(url: &Url, name: &str, value: &str) -> Url {
    rewrite_query(url, |k, v| {
        Some(if k == name {
            value.to_owned()
        } else {
            v.to_owned()
        })
    })
}

/// `url` without parameter `name`.
pub fn without_param(url: &Url, name: &str) -> Url {
    rewrite_query(url, |k, v| (k != name).then(|| v.to_owned()))
}

/// Rebuilds the query, mapping each value (or dropping the pair on `None`).
fn rewrite_query(url: &Url, mut f: impl FnMut(&str, &str) -> Option<String>) -> Url {
    let pairs: Vec<(String, String)> = url
        .query_pairs()
        .filter_map(|(k, v)| f(&k, &v).map(|v| (k.into_owned(), v)))
        .collect();
    let mut out = url.clone();
    out.query_pairs_mut().clear().extend_pairs(pairs);
    out
}

/// Percent-encodes a query value.
pub fn enc(value: &str) -> String {
    url::form_urlencoded::byte_serialize(value.as_bytes()).collect()
}

/// `/path?query` of `url`.
pub fn path_and_query(url: &Url) -> String {
    match url.query() {
        Some(q) => format!("{}?{q}", url.path()),
        None => url.path().to_owned(),
    }
}
