//! Config vars: every change is one release; values are kept exactly.

use std::os::unix::fs::PermissionsExt;

use crate::common::*;

#[test]
fn config_set_prints_the_heroku_block_and_makes_one_release_for_all_keys() {
    let f = Fixture::new();
    f.deployed("myapp");
    let out = ok(f.slipway(&["config:set", "MYVAR=42", "-a", "myapp"]));
    assert_eq!(
        out,
        "Adding config vars:\n  MYVAR => 42\nUpdating vars and restarting myapp... done, v2\n"
    );
    let out = ok(f.slipway(&["config:set", "RACK_ENV=production", "A=1", "-a", "myapp"]));
    assert_eq!(
        out,
        "Adding config vars:\n  RACK_ENV => production\n  A        => 1\nUpdating vars and restarting myapp... done, v3\n"
    );
    let records = f.records("myapp");
    assert_eq!(records.len(), 3);
    assert_eq!(records[1]["description"], "Config add MYVAR");
    assert_eq!(records[1]["kind"], "config");
    assert_eq!(records[2]["description"], "Config add A, RACK_ENV");
    assert_eq!(
        records[2]["config"],
        serde_json::json!({"A": "1", "MYVAR": "42", "RACK_ENV": "production"})
    );
    // A config release keeps the live slug and commit.
    assert_eq!(records[2]["slug"], records[0]["slug"]);
    assert_eq!(records[2]["commit"], records[0]["commit"]);
    assert_eq!(f.current("myapp").as_deref(), Some("v3"));
}

#[test]
fn descriptions_say_add_change_and_remove_and_a_no_op_makes_no_release() {
    let f = Fixture::new();
    f.deployed("myapp");
    ok(f.slipway(&["config:set", "BAR=1", "BAZ=2", "-a", "myapp"]));
    ok(f.slipway(&["config:set", "BAR=9", "-a", "myapp"]));
    let unset = ok(f.slipway(&["config:unset", "BAZ", "-a", "myapp"]));
    assert_eq!(unset, "Unsetting BAZ and restarting myapp... done, v4\n");
    ok(f.slipway(&["config:set", "FOO=x", "BAR=10", "-a", "myapp"]));
    ok(f.slipway(&[
        "config:set",
        "NEW=1",
        "-d",
        "Turn on the new thing",
        "-a",
        "myapp",
    ]));
    let descriptions: Vec<String> = f
        .records("myapp")
        .iter()
        .skip(1)
        .map(|r| r["description"].as_str().unwrap().to_owned())
        .collect();
    assert_eq!(
        descriptions,
        [
            "Config add BAR, BAZ",
            "Config change BAR",
            "Config remove BAZ",
            "Config add FOO; change BAR",
            "Turn on the new thing"
        ]
    );

    let same = ok(f.slipway(&["config:set", "FOO=x", "-a", "myapp"]));
    assert_eq!(
        same,
        "No config vars changed: each already had that value; no new release\n"
    );
    let gone = ok(f.slipway(&["config:unset", "NEVER_SET", "-a", "myapp"]));
    assert_eq!(
        gone,
        "No config vars changed: none of them was set; no new release\n"
    );
    assert_eq!(f.records("myapp").len(), 6);
}

#[test]
fn odd_values_are_stored_exactly_and_shown_escaped() {
    let f = Fixture::new();
    f.deployed("myapp");
    let odd = "two words = \"quoted\" 'single' $HOME `cmd`\nsecond line\tüñí€ \x1b[31m";
    ok(f.slipway(&[
        "config:set",
        &format!("ODD={odd}"),
        "EMPTY=",
        "URL=postgres://u:p@h/db?x=1&y=2",
        "-a",
        "myapp",
    ]));
    assert_eq!(f.records("myapp")[1]["config"]["ODD"], odd);
    assert_eq!(
        ok(f.slipway(&["config:get", "ODD", "-a", "myapp"])),
        format!("{odd}\n")
    );
    assert_eq!(ok(f.slipway(&["config:get", "UNSET", "-a", "myapp"])), "\n");

    let listing = ok(f.slipway(&["config", "-a", "myapp"]));
    assert!(
        listing.starts_with("=== myapp Config Vars\nEMPTY: \nODD:   two words"),
        "{listing}"
    );
    assert!(
        listing.contains("\\nsecond line\\tüñí€ \\x1b[31m\n"),
        "{listing}"
    );
    assert!(!listing.contains('\x1b'));

    // --shell output reads back exactly in a real shell.
    let shell = ok(f.slipway(&["config", "--shell", "-a", "myapp"]));
    let script = format!("{shell}\nprintf '%s' \"$ODD\"");
    let out = run(command("sh").args(["-c", &script]));
    assert_eq!(text(&out.stdout), odd);

    let json: serde_json::Value =
        serde_json::from_str(&ok(f.slipway(&["config", "--json", "-a", "myapp"]))).unwrap();
    assert_eq!(json["URL"], "postgres://u:p@h/db?x=1&y=2");
}

#[test]
fn bad_keys_are_refused_and_nothing_is_recorded() {
    let f = Fixture::new();
    f.deployed("myapp");
    for (arg, line) in [
        ("1A=x", "error: invalid config var name '1A'"),
        ("A-B=x", "error: invalid config var name 'A-B'"),
        ("=x", "error: invalid config var name ''"),
        ("NOVALUE", "error: 'NOVALUE' is not KEY=VALUE"),
    ] {
        let out = f.slipway(&["config:set", "GOOD=1", arg, "-a", "myapp"]);
        assert_eq!(out.status.code(), Some(1), "{arg}");
        assert_eq!(text(&out.stderr).lines().next().unwrap(), line);
        assert!(
            text(&out.stderr)
                .lines()
                .nth(1)
                .unwrap()
                .starts_with("help: ")
        );
    }
    let out = f.slipway(&["config:unset", "BAD-KEY", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(f.records("myapp").len(), 1);
}

#[test]
fn config_set_before_the_first_deploy_is_carried_into_it() {
    let f = Fixture::new();
    f.create_app("myapp");
    let out = ok(f.slipway(&["config:set", "EARLY=yes", "-a", "myapp"]));
    assert!(out.ends_with("done, v1\n"), "{out}");
    let v1 = &f.records("myapp")[0];
    assert_eq!(v1["slug"], serde_json::Value::Null);
    assert_eq!(v1["status"], "succeeded");
    let lines = f.pushed("myapp", &[]).lines;
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v2");
    assert_eq!(f.records("myapp")[1]["config"]["EARLY"], "yes");
}

#[test]
fn records_holding_config_are_private_to_their_owner() {
    let f = Fixture::new();
    f.deployed("myapp");
    ok(f.slipway(&["config:set", "SECRET=hunter2", "-a", "myapp"]));
    for v in 1..=2 {
        let mode = std::fs::metadata(f.app_dir("myapp").join(format!("releases/v{v}.json")))
            .unwrap()
            .permissions()
            .mode();
        assert_eq!(mode & 0o777, 0o600, "v{v}");
    }
}
