//! `--json`: on listings and on the commands that change things, with one type per field across commands.

use serde_json::Value;

use crate::common::*;

fn json(out: std::process::Output) -> Value {
    serde_json::from_str(&ok(out)).unwrap()
}

#[test]
fn changes_say_what_they_made_and_versions_are_numbers_everywhere() {
    let f = Fixture::new();
    let Pushed { sha, .. } = f.pushed("myapp", &[("a.txt", "a\n")]);

    let set = json(f.slipway(&["config:set", "A=1", "-a", "myapp", "--json"]));
    assert_eq!(
        set,
        serde_json::json!({"app": "myapp", "changed": true, "version": 2, "status": "succeeded",
                           "live": true, "description": "Config add A"})
    );
    let same = json(f.slipway(&["config:set", "A=1", "-a", "myapp", "--json"]));
    assert_eq!(
        same,
        serde_json::json!({"app": "myapp", "changed": false, "live": false})
    );
    let rolled = json(f.slipway(&["rollback", "v1", "-a", "myapp", "--json"]));
    assert_eq!(rolled["version"], 3);
    assert_eq!(rolled["description"], "Rollback to v1");

    let apps = json(f.slipway(&["apps", "--json"]));
    assert_eq!(
        apps[0]["current"], 3,
        "a number, as releases --json and ps --json have it"
    );
    let info = json(f.slipway(&["apps:info", "-a", "myapp", "--json"]));
    assert_eq!(info["current"], 3);
    let releases = json(f.slipway(&["releases", "-a", "myapp", "--json"]));
    assert_eq!(releases[2]["version"], 1);
    assert_eq!(releases[2]["commit"], sha.as_str());
    assert_eq!(
        releases[2]["commit_subject"], "First",
        "as releases:info --json has it"
    );
    assert_eq!(releases[0]["current"], true);

    let fsck = json(f.slipway(&["fsck", "--json"]));
    assert_eq!(fsck[0]["app"], "myapp");
    assert_eq!(fsck[0]["ok"], true);
    assert_eq!(fsck[0]["releases"], 3);
    let gc = json(f.slipway(&["slugs:gc", "--json"]));
    assert_eq!(gc["slugs"], 0);
    let created = json(f.slipway(&["apps:create", "other", "--json"]));
    assert_eq!(created["app"], "other");
    assert!(
        created["repo"]
            .as_str()
            .unwrap()
            .ends_with("apps/other/repo.git")
    );
    let gone = json(f.slipway(&["apps:destroy", "other", "--confirm", "other", "--json"]));
    assert_eq!(
        gone,
        serde_json::json!({"app": "other", "destroyed": true, "kept_repo": null})
    );
}

#[test]
fn releases_output_shows_the_current_release_by_default() {
    let f = Fixture::new();
    f.pushed("myapp", &[("a.txt", "a\n")]);
    let out = ok(f.slipway(&["releases:output", "-a", "myapp"]));
    assert!(out.ends_with("-----> Launching... done, v1\n"), "{out}");
}

#[test]
fn process_maintenance_and_buildpack_changes_take_json_too() {
    let f = Fixture::new();
    f.deployed("myapp");
    assert_eq!(
        json(f.slipway(&["maintenance:on", "-a", "myapp", "--json"])),
        serde_json::json!({"app": "myapp", "maintenance": true})
    );
    assert_eq!(
        json(f.slipway(&["maintenance:off", "-a", "myapp", "--json"])),
        serde_json::json!({"app": "myapp", "maintenance": false})
    );
    assert_eq!(
        json(f.slipway(&["ps:stop", "-a", "myapp", "--json"])),
        serde_json::json!({"app": "myapp", "action": "stop", "process": null})
    );
    ok(f.slipway(&["buildpacks:set", "python", "-a", "myapp"]));
    assert_eq!(
        json(f.slipway(&["buildpacks", "-a", "myapp", "--json"])),
        serde_json::json!(["python"])
    );
    assert_eq!(
        json(f.slipway(&["buildpacks:clear", "-a", "myapp", "--json"])),
        serde_json::json!([])
    );
    assert_eq!(
        json(f.slipway(&["buildpacks", "-a", "myapp", "--json"])),
        serde_json::json!([]),
        "cleared, not just said"
    );
    assert_eq!(
        json(f.slipway(&["buildpacks:clear-cache", "-a", "myapp", "--json"])),
        serde_json::json!({"app": "myapp", "cleared": false})
    );
}
