//! Procfiles, as a slug carries them.

use proptest::prelude::*;
use slipway::model::procfile::{Procfile, check_type};

use crate::{config, mutated, texty};

fn check(input: &[u8]) {
    match Procfile::parse(input) {
        Ok(procfile) => {
            for (kind, command) in procfile.processes() {
                assert!(check_type(kind).is_ok(), "{kind:?}");
                assert!(!kind.contains(['/', '.', ' ']), "{kind:?}");
                assert!(!command.trim().is_empty());
            }
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with("Procfile line "), "{text}");
            assert!(text.len() < 600, "{} bytes", text.len());
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
    fn mutated_procfiles_parse_or_are_refused_clearly(
        input in mutated(b"# processes\nweb: ./serve $PORT\nworker: ./work\nrelease: ./migrate\n".to_vec())
    ) {
        check(&input);
    }

    #[test]
    fn procfile_shaped_text_parses_or_is_refused_clearly(input in texty("web: ./x../-_#\n \tAZ09!", 400)) {
        check(input.as_bytes());
    }
}
