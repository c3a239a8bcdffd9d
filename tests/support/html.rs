//! A tiny, tolerant HTML reader for the pages the tests see: oidc-provider's login and
//! consent forms, and the example's pages. Not a parser: enough for generated HTML.

/// The first `<form>` of a page.
#[derive(Debug)]
pub struct Form {
    /// Empty when the form has none: it posts to the page's own URL.
    pub action: String,
    /// Hidden inputs, in order.
    pub hidden: Vec<(String, String)>,
    /// Names of the other inputs.
    pub inputs: Vec<String>,
}

impl Form {
    /// The first `<form>` of `html`: its `action` and its `<input>`s.
    pub fn parse(html: &str) -> Option<Form> {
        let start = html.find("<form")?;
        let end = html[start..]
            .find("</form>")
            .map_or(html.len(), |e| start + e);
        let form = &html[start..end];
        let open = &form[..form.find('>')?];
        let action = attr(open, "action").unwrap_or_default();
        let mut hidden = Vec::new();
        let mut inputs = Vec::new();
        let mut rest = form;
        while let Some(i) = rest.find("<input") {
            rest = &rest[i + 6..];
            let tag = &rest[..rest.find('>').unwrap_or(rest.len())];
            let Some(name) = attr(tag, "name") else {
                continue;
            };
            if attr(tag, "type").as_deref() == Some("hidden") {
                hidden.push((name, attr(tag, "value").unwrap_or_default()));
            } else {
                inputs.push(name);
            }
        }
        Some(Form {
            action,
            hidden,
            inputs,
        })
    }
}

/// `name="value"` (or single quotes) inside a tag, HTML-unescaped.
fn attr(tag: &str, name: &str) -> Option<String> {
    let mut search = tag;
    loop {
        let i = search.find(name)?;
        let before = search[..i].chars().last();
        let after = &search[i + name.len()..];
        search = after;
        if !before.is_some_and(char::is_whitespace) {
            continue;
        }
        let Some(after) = after.trim_start().strip_prefix('=') else {
            continue;
        };
        let after = after.trim_start();
        let quote = after.chars().next()?;
        if quote != '"' && quote != '\'' {
            continue;
        }
        let value = &after[1..];
        let value = &value[..value.find(quote)?];
        return Some(unescape(value));
    }
}

fn unescape(s: &str) -> String {
    s.replace("&quot;", "\"")
        .replace("&#39;", "'")
        .replace("&#x27;", "'")
        .replace("&lt;", "<")
        .replace("&gt;", ">")
        .replace("&amp;", "&")
}

/// The text inside the element with `id="{id}"` (up to its first child tag),
/// HTML-unescaped.
pub fn element_text(html: &str, id: &str) -> Option<String> {
    let marker = format!(r#"id="{id}""#);
    let start = html.find(&marker)? + marker.len();
    let rest = &html[start..];
    let rest = &rest[rest.find('>')? + 1..];
    let text = &rest[..rest.find('<').unwrap_or(rest.len())];
    Some(unescape(text.trim()))
}
