//! Hostile inputs that reach further than a parser: hard links in directory sources, duplicate tree entries, odd process types.

use std::fs;

use crate::common::*;

#[test]
fn a_directory_source_with_a_hard_link_is_refused_and_records_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    let src = f.tmp.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("index.html"), "hi\n").unwrap();
    // A second name for a file of the root's: the slug would carry the root's keys.
    let secret = f.root.join("slipway.yaml");
    fs::write(&secret, "# admin settings\n").unwrap();
    fs::hard_link(&secret, src.join("sub/keys")).unwrap();
    let refusal = "error: refusing 'sub/keys': it is a hard link (one of 2 names of the same file); copy the file instead\n\
                   help: sources may hold only regular files, directories and symlinks that stay inside them\n";

    let out = f.slipway(&["releases:create", src.to_str().unwrap(), "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), refusal);
    assert!(f.records("myapp").is_empty());
    assert!(f.slug_files().is_empty());

    let slug = f.tmp.path().join("slug.tgz");
    let out = f.slipway(&[
        "slugs:compile",
        "--dir",
        src.to_str().unwrap(),
        "-o",
        slug.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with(refusal),
        "{}",
        text(&out.stderr)
    );
    assert!(!slug.exists());

    // The same directory with a copy instead is fine.
    fs::remove_file(src.join("sub/keys")).unwrap();
    fs::copy(&secret, src.join("sub/keys")).unwrap();
    ok(f.slipway(&["releases:create", src.to_str().unwrap(), "-a", "myapp"]));
}
