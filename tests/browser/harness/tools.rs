//! Finding Chromium and chromedriver: present, or a loud skip (a failure under CI).

use std::io::Write as _;
use std::path::PathBuf;

/// The Chromium binary and chromedriver this suite runs.
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

/// `name` on `PATH`, if there.
fn on_path(name: &str) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join(name))
        .find(|p| p.is_file())
}

fn in_ci() -> bool {
    std::env::var("CI").is_ok_and(|v| v.eq_ignore_ascii_case("true") || v == "1")
}

/// Finds `/usr/bin/chromium` (or `chromium` on `PATH`) and `chromedriver`.
///
/// When either is missing: under `CI=true` this panics (CI never skips silently);
/// otherwise it prints a loud SKIPPED line straight to stderr (not through the test
/// harness's capture, so it shows with a passing test) and returns `None`.
pub fn tools(test: &str) -> Option<Tools> {
    let chromium = Some(PathBuf::from("/usr/bin/chromium"))
        .filter(|p| p.is_file())
        .or_else(|| on_path("chromium"));
    let chromedriver = on_path("chromedriver")
        .or_else(|| Some(PathBuf::from("/usr/bin/chromedriver")).filter(|p| p.is_file()));
    match (chromium, chromedriver) {
        (Some(chromium), Some(chromedriver)) => Some(Tools {
            chromium,
            chromedriver,
        }),
        (chromium, chromedriver) => {
            let missing = [
                chromium.is_none().then_some("chromium"),
                chromedriver.is_none().then_some("chromedriver"),
            ]
            .into_iter()
            .flatten()
            .collect::<Vec<_>>()
            .join(" and ");
            if in_ci() {
                panic!(
                    "browser test `{test}`: {missing} not found and CI=true: CI must not skip \
                     the browser suite; run `bash .ci/browser.sh` first \
                     (apt-get install chromium chromium-driver)"
                );
            }
            let _ = writeln!(
                std::io::stderr(),
                "\n!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n\
                 !! SKIPPED: browser test `{test}`: {missing} not found.\n\
                 !! SKIPPED: install chromium and chromium-driver (bash .ci/browser.sh)\n\
                 !!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!!\n"
            );
            None
        }
    }
}
