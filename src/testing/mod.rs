//! Test utilities (feature `test-util`).
