//! Rollback, promote, releases:info and releases:output.

use std::collections::BTreeMap;
use std::path::Path;

use crate::common::*;

/// Every file of a repository with its bytes: compared before and after to prove it untouched.
fn snapshot(dir: &Path) -> BTreeMap<String, Vec<u8>> {
    let mut files = BTreeMap::new();
    let mut stack = vec![dir.to_path_buf()];
    while let Some(d) = stack.pop() {
        for entry in std::fs::read_dir(&d).unwrap() {
            let path = entry.unwrap().path();
            if path.is_dir() {
                stack.push(path);
            } else {
                files.insert(
                    path.strip_prefix(dir).unwrap().display().to_string(),
                    std::fs::read(&path).unwrap(),
                );
            }
        }
    }
    files
}

/// v1 and v2 deployed (different content), v3 a config change.
fn three_releases(f: &Fixture) -> Work {
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("index.html", "one\n");
    work.commit("one");
    work.push_ok(&["main"]);
    work.write("index.html", "two\n");
    work.commit("two");
    work.push_ok(&["main"]);
    ok(f.slipway(&["config:set", "A=1", "-a", "myapp"]));
    work
}

#[test]
fn rollback_copies_the_target_and_never_touches_git() {
    let f = Fixture::new();
    let work = three_releases(&f);
    let repo = f.app_dir("myapp").join("repo.git");
    git(&repo, &["pack-refs", "--all"]);
    let refs = git(&repo, &["for-each-ref"]);
    let files = snapshot(&repo);

    assert_eq!(
        ok(f.slipway(&["rollback", "v1", "-a", "myapp"])),
        "Rolled back to v1\n"
    );
    let records = f.records("myapp");
    let (v1, v4) = (&records[0], &records[3]);
    assert_eq!(v4["description"], "Rollback to v1");
    assert_eq!(v4["kind"], "rollback");
    assert_eq!(v4["rollback_of"], 1);
    assert_eq!(v4["slug"], v1["slug"]);
    assert_eq!(v4["config"], v1["config"]);
    assert_eq!(v4["commit"], v1["commit"]);
    assert_eq!(f.current("myapp").as_deref(), Some("v4"));
    assert_eq!(git(&repo, &["for-each-ref"]), refs);
    assert!(
        snapshot(&repo) == files,
        "refs, packed-refs and objects are byte-for-byte unchanged"
    );

    // A config change keeps the rolled-back slug; a push deploys on top as usual.
    ok(f.slipway(&["config:set", "B=2", "-a", "myapp"]));
    assert_eq!(f.records("myapp")[4]["slug"], v1["slug"]);
    work.write("index.html", "three\n");
    work.commit("three");
    assert_eq!(
        work.push_ok(&["main"]).last().unwrap(),
        "-----> Launching... done, v6"
    );
    let v6 = &f.records("myapp")[5];
    assert_eq!(
        v6["config"],
        serde_json::json!({"B": "2"}),
        "config of the rolled-back state carries on"
    );
}

#[test]
fn rollback_without_a_target_skips_failed_releases() {
    let f = Fixture::new();
    let work = three_releases(&f);
    // v4 fails to build.
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "max_slug_size: 1KB\n").unwrap();
    work.write("big.bin", noise(9, 50_000));
    work.commit("too big");
    work.push(&["main"]);
    assert_eq!(f.records("myapp")[3]["status"], "failed");
    // Current is v3; the newest succeeded release before it is v2.
    assert_eq!(
        ok(f.slipway(&["rollback", "-a", "myapp"])),
        "Rolled back to v2\n"
    );
    // Now current is v5 (= v2); before it: v4 failed, v3 succeeded.
    assert_eq!(
        ok(f.slipway(&["rollback", "-d", "Back to the config change", "-a", "myapp"])),
        "Rolled back to v3\n"
    );
    let v6 = &f.records("myapp")[5];
    assert_eq!(v6["description"], "Back to the config change");
    assert_eq!(v6["rollback_of"], 3);
}

#[test]
fn every_refused_rollback_records_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    ok(f.slipway(&["config:set", "EARLY=1", "-a", "myapp"])); // v1: no slug
    let work = f.work("myapp", "w");
    work.write("a.txt", "a\n");
    work.commit("a");
    work.push_ok(&["main"]); // v2
    work.write("a.txt", "b\n");
    work.commit("b");
    work.push_ok(&["main"]); // v3
    let v2_slug = f.records("myapp")[1]["slug"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    let slug_path = f.root.join("slugs").join(format!("{v2_slug}.tar.gz"));

    let refuse = |args: &[&str], expected: &str| {
        let mut all = vec!["rollback"];
        all.extend_from_slice(args);
        all.extend(["-a", "myapp"]);
        let out = f.slipway(&all);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        let err = text(&out.stderr);
        assert!(
            err.starts_with(expected),
            "{err}\nshould start with {expected}"
        );
        assert_eq!(f.records("myapp").len(), 3);
        assert_eq!(f.current("myapp").as_deref(), Some("v3"));
    };
    refuse(&["v99"], "error: app 'myapp' has no release v99\n");
    refuse(
        &["v3"],
        "error: cannot roll back to v3: it is the current release\n",
    );
    refuse(&["v1"], "error: cannot roll back to v1: it has no slug");
    refuse(&["latest"], "error: 'latest' is not a release version");

    let good = std::fs::read(&slug_path).unwrap();
    let mut flipped = good.clone();
    let middle = flipped.len() / 2;
    flipped[middle] ^= 0x01;
    std::fs::write(&slug_path, &flipped).unwrap();
    refuse(
        &["v2"],
        &format!(
            "error: cannot roll back to v2: slug {} is corrupt: its sha256 is ",
            slug_path.display()
        ),
    );
    std::fs::remove_file(&slug_path).unwrap();
    refuse(
        &["v2"],
        &format!("error: cannot roll back to v2: slug {v2_slug} is missing from "),
    );
    std::fs::write(&slug_path, &good).unwrap();
    assert_eq!(
        ok(f.slipway(&["rollback", "v2", "-a", "myapp"])),
        "Rolled back to v2\n"
    );
}

#[test]
fn with_auto_promote_off_releases_wait_for_promote() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("a.txt", "a\n");
    work.commit("a");
    work.push_ok(&["main"]);
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "auto_promote: false\n").unwrap();
    work.write("a.txt", "b\n");
    work.commit("b");
    let lines = work.push_ok(&["main"]);
    assert_eq!(
        lines.last().unwrap(),
        "-----> Released v2 (not promoted: `slipway releases:promote v2` makes it live)"
    );
    let out = ok(f.slipway(&["config:set", "A=1", "-a", "myapp"]));
    assert!(out.ends_with("done, v3\nv3 is not live yet (auto_promote is off): `slipway releases:promote v3` makes it live\n"), "{out}");
    let records = f.records("myapp");
    assert_eq!(
        (records[1]["status"].as_str(), records[2]["status"].as_str()),
        (Some("succeeded"), Some("succeeded"))
    );
    assert_eq!(
        records[2]["slug"], records[1]["slug"],
        "config builds on the newest release, not the live one"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v1"));
    let table = ok(f.slipway(&["releases", "-a", "myapp"]));
    assert!(
        table.lines().nth(3).unwrap().contains("(current)"),
        "{table}"
    );

    assert_eq!(
        ok(f.slipway(&["releases:promote", "v3", "-a", "myapp"])),
        "Promoting v3 on myapp... done, v3 is live\n"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v3"));
    assert_eq!(f.records("myapp").len(), 3, "promote makes no new release");
    let again = f.slipway(&["releases:promote", "v3", "-a", "myapp"]);
    assert_eq!(
        text(&again.stderr),
        "error: cannot promote v3: it is already live\n"
    );
}

#[test]
fn releases_info_shows_the_heroku_block_with_status_and_commit() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("a.txt", "a\n");
    let sha = work.commit("Fix the header\n\nLonger explanation.");
    work.push_ok(&["main"]);
    ok(f.slipway(&["addons:add", "deployhooks:email", "-a", "myapp"]));
    ok(f.slipway(&["addons:add", "releases:advanced", "-a", "myapp"]));
    ok(f.slipway(&[
        "config:set",
        "MY_CONFIG_VAR=42",
        "RACK_ENV=production",
        "-a",
        "myapp",
    ]));
    let info = ok(f
        .cmd(&["releases:info", "v1", "-a", "myapp"])
        .env("SLIPWAY_NOW", "2026-03-01T16:00:00Z")
        .output()
        .unwrap());
    assert_eq!(
        info,
        format!(
            "=== Release v1\nChange:      Deploy {short}\nBy:          alice\nWhen:        6 hours ago\nStatus:      succeeded\nCommit:      {short} Fix the header\n",
            short = &sha[..7]
        )
    );
    let current = ok(f.slipway(&["releases:info", "-a", "myapp"]));
    assert_eq!(
        current,
        format!(
            "=== Release v4\nChange:      Config add MY_CONFIG_VAR, RACK_ENV\nBy:          alice\nWhen:        just now\nStatus:      succeeded (current)\nCommit:      {} Fix the header\nAddons:      deployhooks:email, releases:advanced\nConfig:      MY_CONFIG_VAR => 42\n             RACK_ENV      => production\n",
            &sha[..7]
        )
    );
    let json: serde_json::Value = serde_json::from_str(&ok(f.slipway(&[
        "releases:info",
        "v4",
        "--json",
        "-a",
        "myapp",
    ])))
    .unwrap();
    assert_eq!(json["current"], true);
    assert_eq!(json["commit_subject"], "Fix the header");
    assert_eq!(json["config"]["RACK_ENV"], "production");

    let out = ok(f.slipway(&["releases:output", "v1", "-a", "myapp"]));
    assert_eq!(
        out,
        format!(
            "-----> Compiling {} (refs/heads/main)\n-----> Compressing... done, 0.0MB\n-----> Launching... done, v1\n",
            &sha[..7]
        )
    );
    let missing = f.slipway(&["releases:info", "v9", "-a", "myapp"]);
    assert_eq!(
        text(&missing.stderr),
        "error: app 'myapp' has no release v9\nhelp: `slipway releases -a myapp` lists its releases\n"
    );
}
