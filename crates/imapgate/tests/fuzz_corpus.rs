//! Replays the fuzz corpus (`fuzz/corpus/<target>/`) through the same
//! checks as the fuzz targets, on stable Rust. A failing input is reported
//! with its path, and every input is run before the test fails.

#[path = "../../../fuzz/src/checks/mod.rs"]
mod checks;

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

/// Runs `check` on every file of the target's corpus directory.
fn replay(target: &str, check: fn(&[u8])) {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../fuzz/corpus").join(target);
    let mut paths: Vec<PathBuf> = std::fs::read_dir(&dir)
        .unwrap_or_else(|error| panic!("cannot read the corpus directory {}: {error}", dir.display()))
        .map(|entry| entry.expect("corpus directory entry").path())
        .collect();
    paths.sort();
    assert!(!paths.is_empty(), "corpus directory {} is empty", dir.display());

    let mut failed = Vec::new();
    for path in &paths {
        let data = std::fs::read(path).unwrap_or_else(|error| panic!("cannot read {}: {error}", path.display()));
        if catch_unwind(AssertUnwindSafe(|| check(&data))).is_err() {
            failed.push(path.display().to_string());
        }
    }
    assert!(failed.is_empty(), "{} of {} inputs failed: {failed:#?}", failed.len(), paths.len());
}

#[test]
fn corpus_framer() {
    replay("framer", checks::check_framer);
}

#[test]
fn corpus_scanner() {
    replay("scanner", checks::check_scanner);
}

#[test]
fn corpus_mutf7() {
    replay("mutf7", checks::check_mutf7);
}

#[test]
fn corpus_rewrite() {
    replay("rewrite", checks::check_rewrite);
}

#[test]
fn corpus_relay() {
    replay("relay", checks::check_relay);
}
