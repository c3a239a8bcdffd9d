//! The layers `ARCHITECTURE.md` promises, checked against the code: every module of
//! `src/` has a row in its "Layers" list, and every `crate::` path in `src/` (imports
//! and paths in expressions alike, unit tests included) names the file's own module or a
//! module on a lower row. A path through the crate root's re-exports (`crate::OAuth`) is
//! refused too: a module names what it uses where it is defined.
//!
//! Read as text, no parser: whole-line comments (`//`, `///`, `//!`) are skipped, so doc
//! links may point anywhere.

use std::collections::BTreeMap;
use std::fs;
use std::path::{Path, PathBuf};

/// The "Layers" list: each line of the fenced block after `## Layers`, top row first.
/// Returns module -> row (0 = the bottom row).
fn layers(architecture: &str) -> Result<BTreeMap<String, usize>, String> {
    let section = architecture
        .split("\n## Layers")
        .nth(1)
        .ok_or("ARCHITECTURE.md has no `## Layers` section")?;
    let block = section
        .split("```")
        .nth(1)
        .ok_or("the Layers section has no fenced block")?;
    let rows: Vec<Vec<&str>> = block
        .lines()
        .skip(1) // the fence's info string
        .map(|line| line.split_whitespace().collect::<Vec<_>>())
        .filter(|row| !row.is_empty())
        .collect();
    let mut rank = BTreeMap::new();
    for (i, row) in rows.iter().enumerate() {
        for module in row {
            if rank
                .insert(module.to_string(), rows.len() - 1 - i)
                .is_some()
            {
                return Err(format!("`{module}` is listed twice in Layers"));
            }
        }
    }
    Ok(rank)
}

/// The modules `src/lib.rs` declares (`mod x;`, `pub mod x;`, with attributes before).
fn declared_modules(lib: &str) -> Vec<String> {
    lib.lines()
        .map(str::trim)
        .filter(|l| !l.starts_with("//"))
        .filter_map(|l| {
            let l = l.strip_prefix("pub ").unwrap_or(l);
            let l = l.strip_prefix("pub(crate) ").unwrap_or(l);
            l.strip_prefix("mod ")?.strip_suffix(';').map(str::to_owned)
        })
        .collect()
}

/// Every `crate::` path in `code` (comment lines removed), as (line, first segment); a
/// brace group `crate::{a::X, b::{Y, Z}}` yields each top-level item's first segment.
fn crate_paths(code: &str) -> Vec<(usize, String)> {
    let text: String = code
        .lines()
        .map(|l| {
            if l.trim_start().starts_with("//") {
                ""
            } else {
                l
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    let bytes = text.as_bytes();
    let line_of = |at: usize| text[..at].matches('\n').count() + 1;
    let ident = |from: usize| -> String {
        text[from..]
            .chars()
            .take_while(|c| c.is_alphanumeric() || *c == '_')
            .collect()
    };
    let mut found = Vec::new();
    let mut start = 0;
    while let Some(offset) = text[start..].find("crate::") {
        let at = start + offset;
        start = at + "crate::".len();
        // `$crate::` in macros, `my_crate::`: not this crate's path.
        if at > 0 && (bytes[at - 1].is_ascii_alphanumeric() || matches!(bytes[at - 1], b'_' | b'$'))
        {
            continue;
        }
        if bytes.get(start) != Some(&b'{') {
            found.push((line_of(at), ident(start)));
            continue;
        }
        // A brace group: split at top-level commas.
        let (mut depth, mut item_start) = (0usize, start + 1);
        for (i, c) in text[start..].char_indices() {
            let i = start + i;
            match c {
                '{' => depth += 1,
                '}' | ',' if depth == 1 => {
                    let item = text[item_start..i].trim_start();
                    let name = ident(i - item.len());
                    if !name.is_empty() {
                        found.push((line_of(i), name));
                    }
                    item_start = i + 1;
                    if c == '}' {
                        break;
                    }
                }
                '}' => depth -= 1,
                _ => {}
            }
        }
    }
    found
}

fn rust_files(dir: &Path, out: &mut Vec<PathBuf>) {
    for entry in fs::read_dir(dir).unwrap() {
        let path = entry.unwrap().path();
        if path.is_dir() {
            rust_files(&path, out);
        } else if path.extension().is_some_and(|e| e == "rs") {
            out.push(path);
        }
    }
}

/// Every edge the list does not allow, as readable lines.
fn violations(src: &Path, rank: &BTreeMap<String, usize>) -> Vec<String> {
    let mut files = Vec::new();
    rust_files(src, &mut files);
    files.sort();
    let mut wrong = Vec::new();
    for file in files {
        let rel = file.strip_prefix(src).unwrap();
        let first = rel
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy();
        let module = first.trim_end_matches(".rs").to_owned();
        if module == "lib" {
            continue;
        }
        let code = fs::read_to_string(&file).unwrap();
        for (line, target) in crate_paths(&code) {
            let place = format!("src/{}:{line}", rel.display());
            if target.starts_with(|c: char| c.is_uppercase()) {
                wrong.push(format!(
                    "{place}: `crate::{target}` goes through the crate root; name its module"
                ));
            } else if target != module {
                match (rank.get(&module), rank.get(&target)) {
                    (Some(from), Some(to)) if to < from => {}
                    (Some(_), Some(_)) => wrong.push(format!(
                        "{place}: `{module}` uses `{target}`, which is not on a lower row"
                    )),
                    _ => {} // unlisted modules are reported by the completeness check
                }
            }
        }
    }
    wrong
}

#[test]
fn every_module_uses_only_the_modules_below_it() {
    let root = Path::new(env!("CARGO_MANIFEST_DIR"));
    let rank = layers(&fs::read_to_string(root.join("ARCHITECTURE.md")).unwrap()).unwrap();
    let declared = declared_modules(&fs::read_to_string(root.join("src/lib.rs")).unwrap());

    let unlisted: Vec<_> = declared.iter().filter(|m| !rank.contains_key(*m)).collect();
    let stale: Vec<_> = rank.keys().filter(|m| !declared.contains(m)).collect();
    assert!(
        unlisted.is_empty() && stale.is_empty(),
        "ARCHITECTURE.md's Layers list and src/lib.rs disagree: no row for {unlisted:?}; \
         listed but not declared: {stale:?}"
    );

    let wrong = violations(&root.join("src"), &rank);
    assert!(
        wrong.is_empty(),
        "edges the Layers list in ARCHITECTURE.md does not allow:\n{}",
        wrong.join("\n")
    );
}

#[test]
fn the_checker_sees_imports_paths_groups_and_the_root() {
    let code = "\
use crate::store::SessionStore;
/// [`OAuth`](crate::oauth::OAuth) in a doc comment is not an edge
use crate::{clock::Clock, session::{CookieKey, Vault}};
use crate::{
    error::ConfigError,
    OAuth,
};
fn f() { let _ = crate::users::resolve(); let _ = $crate::x::y; }
";
    let found: Vec<_> = crate_paths(code)
        .into_iter()
        .map(|(line, m)| format!("{line}:{m}"))
        .collect();
    assert_eq!(
        found,
        [
            "1:store",
            "3:clock",
            "3:session",
            "5:error",
            "6:OAuth",
            "8:users"
        ]
    );

    let rank = layers("# A\n\n## Layers\n\n```text\ntop\nmiddle  peer\nbottom\n```\n").unwrap();
    assert_eq!(rank["top"], 2);
    assert_eq!(rank["peer"], 1);
    assert_eq!(rank["bottom"], 0);

    let dir = std::env::temp_dir().join(format!("layers-check-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(dir.join("middle")).unwrap();
    fs::write(dir.join("bottom.rs"), "use crate::middle::X;\n").unwrap();
    fs::write(
        dir.join("middle/mod.rs"),
        "use crate::peer::Y;\nuse crate::bottom::Z;\n",
    )
    .unwrap();
    fs::write(dir.join("top.rs"), "use crate::Everything;\n").unwrap();
    let wrong = violations(&dir, &rank);
    let _ = fs::remove_dir_all(&dir);
    assert_eq!(wrong.len(), 3, "{wrong:#?}");
    assert!(wrong[0].contains("src/bottom.rs:1: `bottom` uses `middle`"));
    assert!(wrong[1].contains("src/middle/mod.rs:1: `middle` uses `peer`"));
    assert!(wrong[2].contains("goes through the crate root"));
}
