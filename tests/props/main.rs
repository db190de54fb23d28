//! Property tests for every parser that takes outside input: no panic, a clear error, nothing written.
//!
//! Case counts are small and fixed so the whole binary runs in a few seconds;
//! failures are not persisted (nothing is written next to the sources).
#![allow(clippy::unwrap_used)]

mod archives;
mod keys;
mod procfile;
mod records;
mod refs;
mod settings;
mod ssh;

use proptest::prelude::*;
use proptest::test_runner::Config;

/// `cases` cases, no regression files.
pub fn config(cases: u32) -> Config {
    Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    }
}

/// Bytes that look like `valid` with a few bytes changed, removed or inserted, or cut short.
pub fn mutated(valid: Vec<u8>) -> impl Strategy<Value = Vec<u8>> {
    let len = valid.len().max(1);
    let edits = proptest::collection::vec((0..len, any::<u8>(), 0..4u8), 1..6);
    (edits, proptest::option::of(0..=len)).prop_map(move |(edits, cut)| {
        let mut bytes = valid.clone();
        for (at, byte, how) in edits {
            let at = at.min(bytes.len());
            match how {
                0 if at < bytes.len() => bytes[at] = byte,
                1 if at < bytes.len() => {
                    bytes.remove(at);
                }
                2 => bytes.insert(at, byte),
                _ if at < bytes.len() => bytes[at] ^= 1 << (byte % 8),
                _ => {}
            }
        }
        if let Some(cut) = cut {
            bytes.truncate(cut);
        }
        bytes
    })
}

/// Text drawn from the characters a parser cares about, plus anything.
pub fn texty(alphabet: &'static str, max: usize) -> impl Strategy<Value = String> {
    let chars: Vec<char> = alphabet.chars().collect();
    proptest::collection::vec(
        prop_oneof![
            8 => proptest::sample::select(chars),
            1 => any::<char>(),
        ],
        0..max,
    )
    .prop_map(|chars| chars.into_iter().collect())
}

/// Every file under `dir`, with its bytes, sorted: to show that nothing was written.
pub fn snapshot(dir: &std::path::Path) -> Vec<(std::path::PathBuf, Vec<u8>)> {
    let mut out = Vec::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            let meta = std::fs::symlink_metadata(&path).unwrap();
            if meta.is_dir() {
                stack.push(path.clone());
                out.push((path, Vec::new()));
            } else if meta.is_file() {
                let bytes = std::fs::read(&path).unwrap();
                out.push((path, bytes));
            } else {
                out.push((path, Vec::new()));
            }
        }
    }
    out.sort();
    out
}
