//! The DPoP row's proofs: `bench-app dpop-proofs <token> <url> <count> <file>` writes
//! `count` fresh proofs (one per line, ES256, each its own `jti`, `iat` now) for `GET url`
//! with `token`, signed on two threads with the app's DPoP key. `bench/load.sh` makes a
//! pool right before each round of the `dpop` row (a proof is spent by its request, and
//! ages out of the server's 5-minute window), and wrk's script sends one per request.

use std::io::Write as _;

use axum_oauth_login::jose::SigningKey;

use crate::BoxError;

/// The app's DPoP key: a throwaway test key (`tests/fixtures/keys/`).
pub(crate) fn key() -> SigningKey {
    SigningKey::from_pem(include_str!("../../../tests/fixtures/keys/p256-other.pem"))
        .expect("the fixture key reads")
}

/// One proof for `GET url` with `token`.
pub(crate) fn proof(key: &SigningKey, url: &url::Url, token: &str) -> String {
    key.dpop_proof("GET", url, Some(token), None)
        .expect("the fixture key signs")
}

pub(crate) fn proofs(args: &[String]) -> Result<(), BoxError> {
    let [token, url, count, file] = args else {
        return Err("usage: bench-app dpop-proofs <token> <url> <count> <file>".into());
    };
    let url = url::Url::parse(url)?;
    let count: usize = count.parse()?;
    let key = key();
    let halves: Vec<Vec<String>> = std::thread::scope(|scope| {
        let workers: Vec<_> = [count / 2, count - count / 2]
            .into_iter()
            .map(|n| {
                let (key, url) = (&key, &url);
                scope.spawn(move || (0..n).map(|_| proof(key, url, token)).collect())
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let mut out = std::io::BufWriter::new(std::fs::File::create(file)?);
    for line in halves.iter().flatten() {
        writeln!(out, "{line}")?;
    }
    out.flush()?;
    Ok(())
}
