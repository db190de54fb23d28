//! Add-ons: each verb one release; the admin's provisioning hook; rollbacks never change add-ons.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn each_addon_verb_makes_one_release_with_heroku_output() {
    let f = Fixture::new();
    f.deployed("myapp");
    let out = ok(f.slipway(&[
        "addons:add",
        "memcachier",
        "--config",
        "MEMCACHIER_SERVERS=mc:11211",
        "-a",
        "myapp",
    ]));
    assert_eq!(out, "Adding memcachier to myapp... done, v2 (free)\n");
    let out = ok(f.slipway(&["addons:upgrade", "memcachier:100", "-a", "myapp"]));
    assert_eq!(
        out,
        "Upgrading memcachier to memcachier:100 on myapp... done, v3\n"
    );
    let out = ok(f.slipway(&["addons:downgrade", "memcachier:free", "-a", "myapp"]));
    assert_eq!(
        out,
        "Downgrading memcachier to memcachier:free on myapp... done, v4\n"
    );
    assert_eq!(
        ok(f.slipway(&["addons", "-a", "myapp"])),
        "Add-on      Plan  Config vars\nmemcachier  free  MEMCACHIER_SERVERS\n"
    );
    let out = ok(f.slipway(&["addons:remove", "memcachier", "-a", "myapp"]));
    assert_eq!(out, "Removing memcachier from myapp... done, v5\n");
    assert_eq!(
        ok(f.slipway(&["addons", "-a", "myapp"])),
        "myapp has no add-ons\n"
    );

    let records = f.records("myapp");
    let descriptions: Vec<&str> = records
        .iter()
        .skip(1)
        .map(|r| r["description"].as_str().unwrap())
        .collect();
    assert_eq!(
        descriptions,
        [
            "Add memcachier:free add-on",
            "Upgrade memcachier to memcachier:100",
            "Downgrade memcachier to memcachier:free",
            "Remove memcachier add-on"
        ]
    );
    assert!(records[1..].iter().all(|r| r["kind"] == "addon"));
    assert_eq!(records[1]["config"]["MEMCACHIER_SERVERS"], "mc:11211");
    assert_eq!(
        records[1]["addons"],
        serde_json::json!([{"name": "memcachier", "plan": "free", "config": {"MEMCACHIER_SERVERS": "mc:11211"}}])
    );
    assert_eq!(
        records[4]["config"],
        serde_json::json!({}),
        "removing the add-on removes its vars"
    );
    assert_eq!(records[4]["slug"], records[0]["slug"]);
}

#[test]
fn addon_mistakes_are_refused_and_record_nothing() {
    let f = Fixture::new();
    f.deployed("myapp");
    ok(f.slipway(&["addons:add", "redis:mini", "-a", "myapp"]));
    ok(f.slipway(&["config:set", "TAKEN=1", "-a", "myapp"]));
    for (args, first_line) in [
        (
            vec!["addons:add", "redis"],
            "error: app 'myapp' already has the add-on 'redis'",
        ),
        (
            vec!["addons:remove", "ghost"],
            "error: app 'myapp' has no add-on 'ghost'",
        ),
        (
            vec!["addons:upgrade", "redis"],
            "error: invalid add-on 'redis': name the new plan, as NAME:PLAN",
        ),
        (
            vec!["addons:upgrade", "redis:mini"],
            "error: redis is already on the plan mini",
        ),
        (
            vec!["addons:add", "Bad Name"],
            "error: invalid add-on 'Bad Name': names are lowercase letters, digits, '-', '_' and '.', starting with a letter",
        ),
        (
            vec!["addons:add", "pg", "--config", "TAKEN=2"],
            "error: add-on pg would set TAKEN, which is already set",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["-a", "myapp"]);
        let out = f.slipway(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert_eq!(text(&out.stderr).lines().next().unwrap(), first_line);
    }
    assert_eq!(f.records("myapp").len(), 3);
}

fn write_hook(f: &Fixture, body: &str) -> std::path::PathBuf {
    let hooks = f.root.join("hooks");
    std::fs::create_dir_all(&hooks).unwrap();
    let hook = hooks.join("addon");
    std::fs::write(&hook, format!("#!/bin/sh\n{body}")).unwrap();
    std::fs::set_permissions(&hook, std::fs::Permissions::from_mode(0o755)).unwrap();
    hook
}

#[test]
fn the_admins_addon_hook_provisions_and_its_failure_records_nothing() {
    let f = Fixture::new();
    f.deployed("myapp");
    let calls = f.tmp.path().join("calls");
    write_hook(
        &f,
        &format!(
            "echo \"$1 $2 $3 $SLIPWAY_APP\" >> '{}'\nif [ \"$1\" = provision ]; then echo \"MEMCACHIER_SERVERS=mc.internal:11211\"; echo \"MEMCACHIER_PASSWORD=s3cret=x\"; fi\necho 'provisioning, please wait' >&2\n",
            calls.display()
        ),
    );
    let out = f.slipway(&["addons:add", "memcachier", "-a", "myapp"]);
    assert_eq!(
        text(&out.stdout),
        "Adding memcachier to myapp... done, v2 (free)\n"
    );
    assert_eq!(
        text(&out.stderr),
        "provisioning, please wait\n",
        "the hook's stderr reaches the user"
    );
    let v2 = &f.records("myapp")[1];
    assert_eq!(v2["config"]["MEMCACHIER_SERVERS"], "mc.internal:11211");
    assert_eq!(v2["config"]["MEMCACHIER_PASSWORD"], "s3cret=x");
    ok(f.slipway(&["addons:remove", "memcachier", "-a", "myapp"]));
    assert_eq!(
        std::fs::read_to_string(&calls).unwrap(),
        "provision memcachier free myapp\ndeprovision memcachier free myapp\n"
    );

    write_hook(&f, "echo 'out of capacity' >&2\nexit 3\n");
    let out = f.slipway(&["addons:add", "redis:premium", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "out of capacity\nerror: the add-on hook failed to provision redis: it exited with exit status: 3\n"
    );
    write_hook(&f, "echo 'this is not an assignment'\n");
    let out = f.slipway(&["addons:add", "redis", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).contains("it printed 'this is not an assignment', not KEY=VALUE"));
    assert_eq!(f.records("myapp").len(), 3);
}

#[test]
fn rollback_is_refused_across_an_addon_change() {
    let f = Fixture::new();
    f.deployed("myapp");
    ok(f.slipway(&["config:set", "A=1", "-a", "myapp"]));
    ok(f.slipway(&["addons:add", "memcachier", "-a", "myapp"]));
    let out = f.slipway(&["rollback", "v2", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: cannot roll back to v2: add-ons changed since then (memcachier added)\n\
         help: rolling back does not change add-ons; make them match v2 with addons:add/addons:remove first, or roll back to a newer release\n"
    );
    assert_eq!(f.records("myapp").len(), 3);
    assert_eq!(f.current("myapp").as_deref(), Some("v3"));
}

#[test]
fn promote_is_refused_when_it_would_drop_a_provisioned_addon_and_brings_an_unpromoted_one_live() {
    let f = Fixture::new();
    f.deployed("myapp");
    ok(f.slipway(&["addons:add", "memcachier", "-a", "myapp"]));
    let out = f.slipway(&["releases:promote", "v1", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: cannot promote v1: add-ons changed since then (memcachier added)\n\
         help: promoting v1 would change the add-ons behind the add-on hook's back; v2 has the ones provisioned now: promote it or a release made after it\n"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));
    assert!(ok(f.slipway(&["addons", "-a", "myapp"])).contains("memcachier"));

    // With auto_promote off, an add-on's release waits for promote, which brings it live.
    let yaml = f.app_dir("myapp").join("app.yaml");
    let settings = std::fs::read_to_string(&yaml).unwrap();
    std::fs::write(&yaml, format!("{settings}auto_promote: false\n")).unwrap();
    ok(f.slipway(&["addons:add", "heroku-postgresql", "-a", "myapp"]));
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));
    assert_eq!(
        ok(f.slipway(&["releases:promote", "v3", "-a", "myapp"])),
        "Promoting v3 on myapp... done, v3 is live\n"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v3"));
}
