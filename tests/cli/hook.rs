//! `slipway hook post-receive` fed directly, as git would feed it.

use crate::common::*;

#[test]
fn malformed_hook_input_fails_and_records_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    let sha = work.commit("x");
    let zero = "0".repeat(40);
    for (input, message) in [
        (
            format!("{zero} {sha}\n"),
            "line 1: '0000000000000000000000000000000000000000 SHA' (expected '<old-sha> <new-sha> <ref>')",
        ),
        (
            format!("{zero} {sha} refs/heads/main\ngarbage\n"),
            "line 2: 'garbage' (expected '<old-sha> <new-sha> <ref>')",
        ),
        (
            format!("{zero} {} refs/heads/main\n", "g".repeat(40)),
            "object ids must be 40 or 64 hex digits",
        ),
        (format!("{zero} {sha} main\n"), "ref names start with refs/"),
        (
            format!("{zero} {sha} refs/heads/\x1b[31mmain\n"),
            "refs/heads/\\x1b[31mmain",
        ),
    ] {
        let out = run_hook(&f, "myapp", input.as_bytes());
        assert_eq!(out.status.code(), Some(1), "{input}");
        let err = text(&out.stderr).replace(&sha, "SHA");
        assert!(err.starts_with("error: malformed hook input on "), "{err}");
        assert!(err.contains(message), "{err} should contain {message}");
    }
    let out = run_hook(&f, "myapp", &[0xff, b'\n']);
    assert_eq!(out.status.code(), Some(1));
    assert!(f.records("myapp").is_empty());
    assert_eq!(f.current("myapp"), None);
    assert!(
        !f.app_dir("myapp")
            .join("logs")
            .read_dir()
            .unwrap()
            .any(|_| true)
    );
}

#[test]
fn huge_hook_input_is_refused_with_a_short_error_and_records_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    // One 1 MB line: refused, and echoed cut short.
    let mut line = vec![b'x'; 1 << 20];
    line.push(b'\n');
    let out = run_hook(&f, "myapp", &line);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: malformed hook input on line 1: '{}...' (the line is too long)\n",
            "x".repeat(200)
        )
    );
    // 40 MB of well-formed lines: refused before parsing, without reading it all.
    let zero = "0".repeat(40);
    let update = format!("{zero} {} refs/heads/main\n", "1".repeat(40));
    let input = update.repeat((40 << 20) / update.len());
    let out = run_hook(&f, "myapp", input.as_bytes());
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: hook input is longer than 16.0MB\n"
    );
    assert!(f.records("myapp").is_empty());
}

#[test]
fn the_hook_deploys_the_tip_and_never_moves_refs() {
    let f = Fixture::new();
    let repo = f.create_app("myapp");
    f.deploy_after_push("myapp");
    let first = f.pushed("myapp", &[]).sha;
    let refs_before = git(&repo, &["for-each-ref"]);
    // git says main moved to `first`; the hook deploys what main is now, which is already live.
    let input = format!("{} {first} refs/heads/main\n", "0".repeat(40));
    let out = run_hook(&f, "myapp", input.as_bytes());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!(
            "-----> {} is already live as v1: nothing to deploy\n",
            &first[..7]
        )
    );
    assert_eq!(git(&repo, &["for-each-ref"]), refs_before);
    assert_eq!(f.records("myapp").len(), 1);
}

#[test]
fn the_hook_refuses_an_unknown_app() {
    let f = Fixture::new();
    let out = run_hook(&f, "ghost", b"");
    assert_eq!(out.status.code(), Some(1));
    assert!(text(&out.stderr).starts_with("error: no app named 'ghost'\n"));
}

#[test]
fn with_auto_promote_off_a_tip_is_released_once() {
    let f = Fixture::new();
    f.create_app("myapp");
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "auto_promote: false\n").unwrap();
    let sha = f.pushed("myapp", &[]).sha;
    let input = format!("{} {sha} refs/heads/main\n", "0".repeat(40));
    let out = run_hook(&f, "myapp", input.as_bytes());
    assert!(out.status.success());
    assert_eq!(
        text(&out.stderr),
        format!(
            "-----> {} is already released as v1: nothing to deploy\n",
            &sha[..7]
        )
    );
    assert_eq!(f.records("myapp").len(), 1);
}

#[test]
fn a_crash_after_going_live_is_recovered_as_succeeded_and_before_as_failed() {
    let f = Fixture::new();
    f.deployed("myapp");
    let releases = f.app_dir("myapp").join("releases");
    let mut v1: serde_json::Value = f.records("myapp")[0].clone();
    // As a process killed between writing `current` and the record's status leaves it.
    v1["version"] = 2.into();
    v1["status"] = "pending".into();
    std::fs::write(releases.join("v2.json"), serde_json::to_vec(&v1).unwrap()).unwrap();
    std::fs::write(f.app_dir("myapp").join("current"), "v2\n").unwrap();
    // And one killed before it went live.
    v1["version"] = 3.into();
    std::fs::write(releases.join("v3.json"), serde_json::to_vec(&v1).unwrap()).unwrap();
    ok(f.slipway(&["releases", "-a", "myapp"]));
    let records = f.records("myapp");
    assert_eq!(
        (records[1]["status"].as_str(), records[2]["status"].as_str()),
        (Some("succeeded"), Some("failed"))
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));
}

#[test]
fn a_corrupt_record_stops_changes_with_a_pointer_to_fsck() {
    let f = Fixture::new();
    let work = f.deployed("myapp");
    let v1 = f.app_dir("myapp").join("releases/v1.json");
    std::fs::write(&v1, b"{\"version\": 1, \"descr").unwrap();
    work.write("b.txt", "b\n");
    work.commit("b");
    let out = work.push(&["main"]);
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            "error: release record {} is corrupt: ",
            v1.display()
        ))),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("help: `slipway fsck` lists every problem")),
        "{lines:?}"
    );
    assert_eq!(
        std::fs::read(&v1).unwrap(),
        b"{\"version\": 1, \"descr",
        "nothing rewritten"
    );
    assert_eq!(f.record_files("myapp"), 1);
}
