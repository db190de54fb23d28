//! git's hook input: `OLD NEW REF` lines.

use proptest::prelude::*;
use slipway::model::refs::{MAX_LINE, parse_updates};

use crate::{config, mutated, texty};

fn valid_input() -> Vec<u8> {
    format!(
        "{} {} refs/heads/main\n{} {} refs/tags/v1\n",
        "0".repeat(40),
        "a1".repeat(20),
        "b2".repeat(32),
        "0".repeat(64)
    )
    .into_bytes()
}

fn check(input: &[u8]) {
    match parse_updates(input) {
        Ok(updates) => {
            for u in updates {
                assert!(matches!(u.old.len(), 40 | 64) && u.old.len() == u.new.len());
                assert!(
                    u.old
                        .bytes()
                        .chain(u.new.bytes())
                        .all(|b| b.is_ascii_hexdigit())
                );
                assert!(u.refname.starts_with("refs/") && u.refname.len() > 5);
                assert!(!u.refname.chars().any(char::is_control));
                assert!(u.refname.len() <= MAX_LINE);
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(
                text.starts_with("malformed hook input on line ")
                    || text.starts_with("hook input is longer than"),
                "{text}"
            );
            // The offending line is echoed cut short, whatever its length.
            assert!(text.len() < 1200, "{} bytes", text.len());
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_bytes_parse_or_are_refused_clearly(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        check(&input);
    }

    #[test]
    fn mutated_lines_parse_or_are_refused_clearly(input in mutated(valid_input())) {
        check(&input);
    }

    #[test]
    fn line_shaped_text_parses_or_is_refused_clearly(input in texty("0123456789abcdefg refs/heads/\n\t\u{1b}", 6000)) {
        check(input.as_bytes());
    }
}
