//! ssh public key lines, and buildpack names (both typed in by admins and users).

use proptest::prelude::*;
use slipway::model::buildpack::{Buildpack, ReleaseInfo};
use slipway::model::pubkey::{PublicKey, looks_like_fingerprint};

use crate::{config, mutated, texty};

const ED25519: &str =
    "ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIPrIQwUtM5HAtfeKJj3Dk5ylPkjFORQQKFox09xJkfRt alice@laptop";

fn check_key(input: &[u8]) {
    match PublicKey::parse_bytes(input) {
        Ok(key) => {
            assert!(
                ["ssh-ed25519", "ssh-rsa", "sk-ssh-ed25519@openssh.com"]
                    .contains(&key.kind.as_str())
                    || key.kind.contains("ecdsa-sha2-nistp"),
                "{}",
                key.kind
            );
            assert!(looks_like_fingerprint(&key.fingerprint()));
            assert!(!key.to_string().contains(['\n', '"']));
        }
        Err(e) => {
            let text = e.to_string();
            assert!(text.starts_with("not a usable ssh public key: "), "{text}");
            assert!(text.len() < 400, "{} bytes", text.len());
        }
    }
}

proptest! {
    #![proptest_config(config(256))]

    #[test]
    fn random_key_bytes_parse_or_are_refused_clearly(input in proptest::collection::vec(any::<u8>(), 0..300)) {
        check_key(&input);
    }

    #[test]
    fn mutated_key_lines_parse_or_are_refused_clearly(input in mutated(ED25519.as_bytes().to_vec())) {
        check_key(&input);
    }

    #[test]
    fn key_shaped_text_parses_or_is_refused_clearly(input in texty("ssh-ed25519 ecdsa-sha2-nistp256 AAAAC3Nza+/= \n#\"", 300)) {
        check_key(input.as_bytes());
    }

    #[test]
    fn buildpack_names_parse_or_are_refused_clearly(input in texty("https://github.com/heroku/buildpack-python.git#v1 /.:@~builtin", 200)) {
        match input.parse::<Buildpack>() {
            Ok(buildpack) => assert!(!buildpack.as_str().chars().any(char::is_control)),
            Err(e) => {
                let text = e.to_string();
                assert!(text.contains("is not a buildpack: "), "{text}");
                assert!(text.len() < 600, "{} bytes", text.len());
            }
        }
    }

    #[test]
    fn buildpack_release_yaml_parses_or_is_refused_clearly(input in texty("default_process_types:\n web: x\nconfig_vars: {A: b}\naddons: [a]\n-:'\"&*!|>", 300)) {
        if let Err(e) = ReleaseInfo::parse(&input) {
            let text = e.to_string();
            assert!(text.starts_with("the buildpack's bin/release printed invalid YAML"), "{text}");
        }
    }
}
