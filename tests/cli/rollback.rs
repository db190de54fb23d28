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
    let work = f.pushed("myapp", &[("index.html", "one\n")]).work;
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
    let work = f.pushed("myapp", &[("a.txt", "a\n")]).work; // v2
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
    let work = f.pushed("myapp", &[("a.txt", "a\n")]).work;
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "auto_promote: false\n").unwrap();
    work.write("a.txt", "b\n");
    work.commit("b");
    let lines = work.push_ok(&["main"]);
    assert_eq!(
        lines.last().unwrap(),
        "-----> Released v2 (not promoted: `slipway releases:promote v2` makes it live)"
    );
    let out = ok(f.slipway(&["config:set", "A=1", "-a", "myapp"]));
    assert!(out.ends_with("Updating vars on myapp... done, v3\nv3 is not live yet (auto_promote is off): `slipway releases:promote v3 -a myapp` makes it live\n"), "{out}");
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
            "-----> Compiling {} (refs/heads/main)\n{}\n{}\n-----> Compressing... done, 1KB\n-----> Launching... done, v1\n",
            &sha[..7],
            NO_PROCESS_TYPES[0],
            NO_PROCESS_TYPES[1]
        )
    );
    let missing = f.slipway(&["releases:info", "v9", "-a", "myapp"]);
    assert_eq!(
        text(&missing.stderr),
        "error: app 'myapp' has no release v9\nhelp: `slipway releases -a myapp` lists its releases\n"
    );
}

#[test]
fn a_slug_changed_after_it_was_verified_is_caught_by_the_next_rollback() {
    let f = Fixture::new();
    three_releases(&f);
    // Verified stamps are written only for files unchanged for two seconds
    // before the command's now: a minute from now, every slug qualifies.
    let later = (jiff::Timestamp::now() + jiff::SignedDuration::from_secs(60)).to_string();
    let rollback = |target: &str| {
        f.cmd(&["rollback", target, "-a", "myapp"])
            .env("SLIPWAY_NOW", &later)
            .output()
            .unwrap()
    };
    assert_eq!(ok(rollback("v1")), "Rolled back to v1\n");
    let sha = f.records("myapp")[0]["slug"]["sha256"]
        .as_str()
        .unwrap()
        .to_owned();
    assert!(
        f.root.join("slugs/verified").join(&sha).is_file(),
        "the first rollback stamped v1's slug"
    );
    assert_eq!(ok(rollback("v2")), "Rolled back to v2\n");
    // Same size, one bit flipped, mtime put back: only the ctime tells.
    let path = f.root.join("slugs").join(format!("{sha}.tar.gz"));
    let mtime = std::fs::metadata(&path).unwrap().modified().unwrap();
    let mut bytes = std::fs::read(&path).unwrap();
    let middle = bytes.len() / 2;
    bytes[middle] ^= 1;
    std::fs::write(&path, &bytes).unwrap();
    std::fs::File::options()
        .write(true)
        .open(&path)
        .unwrap()
        .set_modified(mtime)
        .unwrap();
    let out = rollback("v1");
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: cannot roll back to v1: slug "),
        "{}",
        text(&out.stderr)
    );
    assert!(text(&out.stderr).contains("is corrupt"));
    assert_eq!(f.records("myapp").len(), 5);
}

#[test]
fn promote_refuses_a_release_whose_slug_was_pruned() {
    let f = Fixture::new();
    three_releases(&f);
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "auto_promote: false\n").unwrap();
    ok(f.slipway(&["releases:prune", "--keep", "1", "-a", "myapp"]));
    let out = f.slipway(&["releases:promote", "v1", "-a", "myapp"]);
    assert_eq!(
        text(&out.stderr),
        "error: cannot promote v1: its slug was pruned\n"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v3"));
}

#[test]
fn rollback_keeps_the_addons_current_config_vars() {
    let f = Fixture::new();
    f.deployed("myapp");
    let hooks = f.root.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    // The add-on's password changes with every plan change (rotated credentials).
    std::fs::write(
        hooks.join("addon"),
        "#!/bin/sh\n[ \"$1\" = deprovision ] || echo \"PG_PASSWORD=$1-$3\"\n",
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    std::fs::set_permissions(hooks.join("addon"), std::fs::Permissions::from_mode(0o755)).unwrap();
    ok(f.slipway(&["addons:add", "pg:small", "-a", "myapp"])); // v2
    ok(f.slipway(&["config:set", "FEATURE=old", "-a", "myapp"])); // v3
    ok(f.slipway(&["addons:upgrade", "pg:large", "-a", "myapp"])); // v4
    ok(f.slipway(&["addons:downgrade", "pg:small", "-a", "myapp"])); // v5
    ok(f.slipway(&["config:set", "FEATURE=new", "-a", "myapp"])); // v6
    assert_eq!(
        ok(f.slipway(&["rollback", "v3", "-a", "myapp"])),
        "Rolled back to v3\n"
    );
    let v7 = &f.records("myapp")[6];
    assert_eq!(
        v7["config"]["FEATURE"], "old",
        "the app's own vars come from the target"
    );
    assert_eq!(
        v7["config"]["PG_PASSWORD"], "downgrade-small",
        "the add-on's vars stay as they are now"
    );
    assert_eq!(v7["addons"], f.records("myapp")[5]["addons"]);
}
