//! The fuzz corpus as regression tests: every input of `fuzz/corpus/<target>/` and
//! `fuzz/regressions/<target>/` (crashes the fuzzer found, kept once fixed) goes through the
//! entry point its cargo fuzz target calls (`lambkin_api::fuzzing`), and none may panic.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::path::{Path, PathBuf};

use lambkin_api::fuzzing;

fn fuzz_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../fuzz")
}

/// The files of `dir`, sorted (none when it does not exist).
fn files(dir: &Path) -> Vec<PathBuf> {
    let Ok(entries) = std::fs::read_dir(dir) else {
        return Vec::new();
    };
    let mut files: Vec<PathBuf> = entries
        .map(|entry| entry.expect("read a corpus directory").path())
        .filter(|path| path.is_file())
        .collect();
    files.sort();
    files
}

/// Replays the corpus and regressions of `target`; returns how many inputs were accepted.
fn replay(target: &str, entry: fn(&[u8]) -> bool) -> usize {
    let corpus = files(&fuzz_dir().join("corpus").join(target));
    assert!(
        !corpus.is_empty(),
        "fuzz/corpus/{target}/ is empty or missing: the corpus is committed with the fuzz targets"
    );
    let regressions = files(&fuzz_dir().join("regressions").join(target));
    let mut accepted = 0;
    let mut panicked = Vec::new();
    for path in corpus.iter().chain(&regressions) {
        let data = std::fs::read(path).expect("read a corpus input");
        match catch_unwind(AssertUnwindSafe(|| entry(&data))) {
            Ok(true) => accepted += 1,
            Ok(false) => {}
            Err(_) => panicked.push(path.display().to_string()),
        }
    }
    assert!(panicked.is_empty(), "{target}: these inputs panic: {panicked:#?}");
    accepted
}

#[test]
fn package_corpus_replays() {
    let accepted = replay("package", fuzzing::package);
    assert!(accepted > 0, "no package of the corpus is accepted");
}

#[test]
fn api_json_corpus_replays() {
    let accepted = replay("api_json", fuzzing::api_json);
    assert!(accepted > 0, "no request body of the corpus is accepted");
}

#[test]
fn identifiers_corpus_replays() {
    let accepted = replay("identifiers", fuzzing::identifiers);
    assert!(accepted > 0, "no identifier of the corpus is accepted");
}

/// Every operation of [`fuzzing::BODIES`] has a seed that passes all of its checks: a corpus
/// refused at the first check would leave the checks after it unfuzzed.
#[test]
fn every_api_body_has_an_accepted_input() {
    let corpus = files(&fuzz_dir().join("corpus").join("api_json"));
    let mut accepted = vec![false; fuzzing::BODIES.len()];
    for path in corpus {
        let data = std::fs::read(&path).expect("read a corpus input");
        if let Some(&selector) = data.first()
            && fuzzing::api_json(&data)
        {
            accepted[usize::from(selector) % fuzzing::BODIES.len()] = true;
        }
    }
    let missing: Vec<&str> = fuzzing::BODIES
        .iter()
        .zip(&accepted)
        .filter(|(_, ok)| !**ok)
        .map(|(body, _)| *body)
        .collect();
    assert!(missing.is_empty(), "no accepted input for {missing:?}");
}
