//! Tests only: the one proptest configuration every property in `src/` runs with (no
//! failure files written into the source tree).

use proptest::prelude::ProptestConfig;

pub(crate) fn config() -> ProptestConfig {
    ProptestConfig {
        failure_persistence: None,
        ..ProptestConfig::default()
    }
}
