//! Tests of the mock provider over real HTTP.
