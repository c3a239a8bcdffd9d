//! The harness of the suites that need tools from outside Rust (`interop`: Node and
//! oidc-provider; `browser`: Chromium and chromedriver). libtest decides `#[ignore]` when
//! it compiles; libtest-mimic (`harness = false` in Cargo.toml) lets `main` decide at run
//! time, so a suite whose tools are missing is reported as *ignored*, not as passed.
//! Under `CI=true` a missing tool still fails the run: the availability checks the
//! binaries call before listing their trials panic there.

use std::future::Future;
use std::process::ExitCode;

use libtest_mimic::{Arguments, Trial};

/// One test: `test` on a current-thread runtime of its own (what `#[tokio::test]` gave
/// it), reported as ignored when `runnable` is false.
pub fn trial<F>(name: &str, runnable: bool, test: fn() -> F) -> Trial
where
    F: Future<Output = ()> + 'static,
{
    Trial::test(name, move || {
        tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(|e| format!("tokio runtime: {e}"))?
            .block_on(test());
        Ok(())
    })
    .with_ignored_flag(!runnable)
}

/// Runs the trials with the command line's filters and options, as libtest would.
pub fn run(trials: Vec<Trial>) -> ExitCode {
    libtest_mimic::run(&Arguments::from_args(), trials).exit_code()
}

/// `trials![runnable; a, oidc::b]`: one [`trial`] per test function, named by its path
/// as libtest named it.
macro_rules! trials {
    ($runnable:expr; $($test:path),* $(,)?) => {
        vec![$(
            crate::trial::trial(
                &stringify!($test).replace(' ', ""),
                $runnable,
                $test,
            )
        ),*]
    };
}
