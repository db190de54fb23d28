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
fn the_hook_deploys_the_tip_and_never_moves_refs() {
    let f = Fixture::new();
    let repo = f.create_app("myapp");
    let work = f.work("myapp", "w");
    let first = work.commit("first");
    work.push_ok(&["main"]);
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
