//! A damaged root: every problem named for what it is, nothing read whole, and a repair that loses nothing.

use crate::common::*;

#[test]
fn a_corrupt_current_pointer_is_named_as_such_and_fsck_repair_puts_a_release_live() {
    let f = Fixture::new();
    let _work = f.deployed("myapp");
    let current = f.app_dir("myapp").join("current");
    std::fs::write(&current, "garbage\n").unwrap();

    let out = f.slipway(&["config:set", "A=1", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: the current pointer {} is corrupt: 'garbage' is not a version\n\
             help: `slipway fsck --repair -a APP` puts the newest intact release live again as a new version (nothing is deleted)\n",
            current.display()
        )
    );
    let out = f.slipway(&["fsck"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stdout),
        format!(
            "myapp: the current pointer {} is corrupt: 'garbage' is not a version\n",
            current.display()
        )
    );
    // Each problem is a whole line; no error line follows to run into it.
    assert_eq!(text(&out.stderr), "");

    let out = ok(f.slipway(&["fsck", "--repair", "-a", "myapp"]));
    assert!(
        out.starts_with("Repaired myapp: v2 copies v1 and is live"),
        "{out}"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));
    assert_eq!(
        f.records("myapp")[1]["description"],
        "Repair: copy of v1 (current was unreadable)"
    );
    assert!(ok(f.slipway(&["fsck"])).starts_with("myapp: ok"));
}

#[test]
fn a_huge_record_is_reported_corrupt_without_being_read() {
    let f = Fixture::new();
    let _work = f.deployed("myapp");
    let v1 = f.app_dir("myapp").join("releases/v1.json");
    // 3 GB, sparse: reading it whole would take 3 GB of memory.
    std::fs::OpenOptions::new()
        .write(true)
        .open(&v1)
        .unwrap()
        .set_len(3 << 30)
        .unwrap();
    let out = f.slipway(&["fsck"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    assert!(
        report.contains(&format!(
            "myapp: release record {} is corrupt: it is larger than 16.0MB, the most a record may hold\n",
            v1.display()
        )),
        "{report}"
    );
    let out = f.slipway(&["releases", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("is corrupt: it is larger than 16.0MB"));
}

#[test]
fn errors_name_each_cause_once() {
    let f = Fixture::new();
    // keys:add with a directory on stdin.
    let out = f
        .cmd(&["keys:add", "alice"])
        .stdin(std::fs::File::open(f.tmp.path()).unwrap())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: cannot read the public key from standard input: Is a directory (os error 21)\n"
    );
    // A libgit2 error, whose own text adds its class and code.
    let missing = f.tmp.path().join("nowhere");
    let out = f.slipway(&[
        "slugs:compile",
        "HEAD",
        "--git-dir",
        missing.to_str().unwrap(),
        "-o",
        f.tmp.path().join("slug.tgz").to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert_eq!(err.matches("failed to resolve path").count(), 1, "{err}");
    assert!(!err.contains("class="), "{err}");
}

#[test]
fn an_app_without_app_yaml_is_listed_reported_and_kept_whole() {
    let f = Fixture::new();
    let _work = f.deployed("web");
    f.create_app("api");
    let settings = f.app_dir("web").join("app.yaml");
    std::fs::remove_file(&settings).unwrap();
    let missing = format!(
        "app 'web' exists, but its settings file {} is missing",
        settings.display()
    );
    let help = format!(
        "help: restore it from a backup, or create it empty (`touch {}`) to give every setting its default\n",
        settings.display()
    );

    assert_eq!(
        ok(f.slipway(&["apps"])),
        "api\nweb  (damaged: app.yaml is missing; `slipway fsck` says how to repair it)\n"
    );
    let json: serde_json::Value =
        serde_json::from_str(&ok(f.slipway(&["apps", "--json"]))).unwrap();
    assert_eq!(json[1]["name"], "web");
    assert_eq!(json[1]["damaged"], missing.as_str());
    assert!(json[0].get("damaged").is_none(), "{json}");

    for args in [&["fsck"][..], &["fsck", "-a", "web"]] {
        let out = f.slipway(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let report = text(&out.stdout);
        assert!(
            report.ends_with(&format!(
                "web: {missing}: restore it from a backup, or create it empty to give every setting its default\n"
            )),
            "{args:?}: {report}"
        );
    }
    for args in [&["apps:create", "web"][..], &["releases", "-a", "web"]] {
        let out = f.slipway(args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(
            text(&out.stderr),
            format!("error: {missing}\n{help}"),
            "{args:?}"
        );
    }
    // Its records may name any slug: gc keeps every one rather than guess.
    let slugs = f.slug_files();
    let out = f.slipway(&["slugs:gc"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(f.slug_files(), slugs);

    std::fs::write(&settings, "").unwrap();
    assert!(ok(f.slipway(&["fsck"])).contains("web: ok (1 release, 1 slug checked)"));
}

#[test]
fn a_record_naming_a_slug_by_path_and_a_huge_settings_file_are_refused() {
    let f = Fixture::new();
    let _work = f.deployed("myapp");
    let v1 = f.app_dir("myapp").join("releases/v1.json");
    let record = std::fs::read_to_string(&v1).unwrap();
    let sha = f.records("myapp")[0]["slug"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    std::fs::write(&v1, record.replace(&sha, "../../keys")).unwrap();
    let out = f.slipway(&["fsck", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stdout).contains(&format!(
            "myapp: release record {} is corrupt: its slug '../../keys' is not a sha256\n",
            v1.display()
        )),
        "{}",
        text(&out.stdout)
    );

    let settings = f.app_dir("myapp").join("app.yaml");
    std::fs::write(&settings, "#".repeat(2 << 20)).unwrap();
    let out = f.slipway(&["releases", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: settings file {} is invalid: it is larger than 1.0MB\n",
            settings.display()
        )
    );
}
