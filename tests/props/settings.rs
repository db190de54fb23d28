//! app.yaml and slipway.yaml: admin-edited YAML, read once into typed settings.

use proptest::prelude::*;
use slipway::model::settings::{AppSettings, RootSettings};
use slipway::store::Error;
use slipway::store::root::read_yaml;

use crate::{config, mutated, snapshot, texty};

const APP_YAML: &str = "deploy_branch: main\nurl: https://shop.example.com/\nmax_slug_size: 500MB\n\
launcher: local\nauto_promote: true\nport: 5001\nhealth_path: /health\nhealth_timeout: 60s\n\
release_timeout: 1h\nstop_grace: 30s\nbuild: npm ci && npm run build\nbuild_on: post-receive\n\
deploy_on: pre-receive\nbuild_timeout: 15m\n";

const ROOT_YAML: &str = "max_slug_size: 500MB\nmax_source_size: 2GB\nmax_source_files: 100000\n\
port_range: 5000-5999\nauthorized_keys: /home/git/.ssh/authorized_keys\n";

fn check(bytes: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("app.yaml");
    std::fs::write(&path, bytes).unwrap();
    let before = snapshot(tmp.path());
    for result in [
        read_yaml::<AppSettings>(&path).map(|s| s.map(|s| s.problem().map(str::len))),
        read_yaml::<RootSettings>(&path).map(|s| s.map(|_| None)),
    ] {
        match result {
            Ok(Some(_)) => {}
            Ok(None) => panic!("the file is there"),
            Err(Error::Settings { path: p, reason }) => {
                assert_eq!(p, path);
                assert!(!reason.is_empty());
            }
            Err(other) => panic!("{other}"),
        }
    }
    assert_eq!(snapshot(tmp.path()), before, "reading wrote something");
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn mutated_app_yaml_is_settings_or_a_settings_error(bytes in mutated(APP_YAML.as_bytes().to_vec())) {
        check(&bytes);
    }

    #[test]
    fn mutated_slipway_yaml_is_settings_or_a_settings_error(bytes in mutated(ROOT_YAML.as_bytes().to_vec())) {
        check(&bytes);
    }

    #[test]
    fn yaml_shaped_text_is_settings_or_a_settings_error(text in texty("port: 5000-9 &a *a [{}] - '\"!!str\n #:,", 200)) {
        check(text.as_bytes());
    }
}
