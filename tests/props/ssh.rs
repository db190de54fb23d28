//! The words of `SSH_ORIGINAL_COMMAND`, and what they may run.

use proptest::prelude::*;
use slipway::ops::ssh::{Request, parse, split_words};

use crate::{config, texty};

const ALPHABET: &str =
    "releases config:set -a --app=myapp other A=1 '\"-- --root \t;|&$`\\<>(){}[]*?~!#\n\u{202e}";

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn words_split_or_are_refused_and_never_hold_control_characters(input in texty(ALPHABET, 80)) {
        if let Ok(words) = split_words(&input) {
            for word in &words {
                prop_assert!(!word.chars().any(char::is_control), "{word:?}");
            }
            // Without quotes, words are exactly the space- and tab-separated pieces.
            if !input.contains(['\'', '"']) {
                let plain: Vec<&str> = input.split([' ', '\t']).filter(|w| !w.is_empty()).collect();
                prop_assert_eq!(words, plain);
            }
        }
    }

    #[test]
    fn allowed_app_commands_name_the_checked_app_first_and_nothing_else_can(input in texty(ALPHABET, 80)) {
        match parse(&input) {
            Ok(Request::Slipway { argv, app: Some(app) }) => {
                prop_assert_eq!(&argv[1], "--app");
                prop_assert_eq!(&argv[2], &app);
                let rest = &argv[3..];
                prop_assert!(!rest.iter().any(|w| w == "--" || w == "-a" || w.starts_with("--app") || w.starts_with("--root")), "{argv:?}");
            }
            Ok(Request::Slipway { argv, app: None }) => {
                prop_assert!(!argv.iter().any(|w| w == "--" || w.starts_with("--root")), "{argv:?}");
            }
            Ok(Request::Git { .. }) => {}
            Err(e) => {
                let text = e.to_string();
                prop_assert!(!text.contains('\n'), "{text:?}");
                prop_assert!(text.len() < 700, "{} bytes", text.len());
            }
        }
    }
}
