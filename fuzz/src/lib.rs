//! Fuzz checks for imapgate. The fuzz targets in `fuzz_targets/` call them,
//! and `crates/imapgate/tests/fuzz_corpus.rs` runs them over the seed
//! corpus on stable Rust.

pub mod checks;
