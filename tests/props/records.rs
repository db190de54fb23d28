//! Release records read back from disk: whatever is in the file, a release or "corrupt", and nothing written.

use proptest::prelude::*;
use slipway::store::Error;
use slipway::store::releases::Store;

use crate::{config, mutated, snapshot, texty};

const RECORD: &str = r#"{
  "version": 1,
  "description": "Deploy 3f2c1a9",
  "user": "alice@example.com",
  "created_at": "2026-03-01T10:00:00Z",
  "commit": "3f2c1a9e6c0b0e2a5c6d7e8f9a0b1c2d3e4f5a6b",
  "ref": "refs/heads/main",
  "slug": {
    "sha256": "79acd464619e1247ab7fcd5b8189717f1317e2ace22f39d0358251e0bf36a8bd",
    "size": 85
  },
  "config": {"A": "1", "SECRET": "x\ny"},
  "addons": [{"name": "memcachier", "plan": "100"}],
  "status": "succeeded",
  "kind": "rollback",
  "rollback_of": 1
}
"#;

fn check(bytes: &[u8]) {
    let tmp = tempfile::tempdir().unwrap();
    let releases = tmp.path().join("releases");
    std::fs::create_dir(&releases).unwrap();
    std::fs::write(releases.join("v1.json"), bytes).unwrap();
    std::fs::write(tmp.path().join("current"), "v1\n").unwrap();
    let before = snapshot(tmp.path());
    let store = Store::new(releases, tmp.path().join("current"));
    match store.find(1) {
        Ok(Some(release)) => {
            assert_eq!(release.version, 1);
            for slug in [&release.slug, &release.pruned_slug].into_iter().flatten() {
                assert!(slug.sha256.len() == 64 && !slug.sha256.contains(['/', '.']));
            }
        }
        Ok(None) => panic!("the record is there"),
        Err(Error::CorruptRecord { path, reason }) => {
            assert!(path.ends_with("v1.json"));
            assert!(!reason.is_empty() && reason.len() < 600, "{reason}");
        }
        Err(other) => panic!("{other}"),
    }
    let _ = store.versions().unwrap();
    let _ = store.current();
    assert_eq!(snapshot(tmp.path()), before, "reading wrote something");
}

proptest! {
    #![proptest_config(config(128))]

    #[test]
    fn mutated_records_are_releases_or_corrupt(bytes in mutated(RECORD.as_bytes().to_vec())) {
        check(&bytes);
    }

    #[test]
    fn json_shaped_text_is_a_release_or_corrupt(text in texty("{}[]\":,0123456789 versionslugsha256../\n", 200)) {
        check(text.as_bytes());
    }
}
