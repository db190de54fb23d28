//! What a Heroku user types by habit: `-a APP` before the command, and the Heroku CLI's other names for commands.

use crate::common::*;

#[test]
fn the_app_option_works_before_the_command_and_heroku_aliases_run_their_commands() {
    let f = Fixture::new();
    f.deployed("myapp");
    assert_eq!(
        ok(f.slipway(&["-a", "myapp", "config:add", "A=1"])),
        "Adding config vars:\n  A => 1\nUpdating vars and restarting myapp... done, v2\n"
    );
    assert_eq!(
        ok(f.slipway(&["--app=myapp", "config:remove", "A"])),
        "Unsetting A and restarting myapp... done, v3\n"
    );
    assert_eq!(
        ok(f.slipway(&["-a", "myapp", "releases:rollback", "v2"])),
        "Rolled back to v2\n"
    );
    let info = ok(f.slipway(&["info", "-a", "myapp"]));
    assert!(info.starts_with("=== myapp"), "{info}");
    assert_eq!(
        ok(f.slipway(&["create", "other"])).lines().next(),
        Some("Creating other... done")
    );
    ok(f.slipway(&["addons:create", "memcachier", "-a", "other"]));
    ok(f.slipway(&["addons:destroy", "memcachier", "-a", "other"]));
    ok(f.slipway(&["destroy", "other", "--confirm", "other"]));
    let records = f.records("myapp");
    assert_eq!(records[3]["kind"], "rollback");
}

#[test]
fn open_prints_the_app_url_and_says_when_there_is_none() {
    let f = Fixture::new();
    f.create_app("web");
    std::fs::write(
        f.app_dir("web").join("app.yaml"),
        "url: https://web.example.com/\nlauncher: none\n",
    )
    .unwrap();
    let out = f
        .cmd(&["open", "-a", "web"])
        .env_remove("DISPLAY")
        .env_remove("WAYLAND_DISPLAY")
        .output()
        .unwrap();
    assert_eq!(text(&out.stdout), "https://web.example.com/\n");
    f.create_app("worker");
    let out = f.slipway(&["apps:open", "-a", "worker"]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).starts_with("error: worker has no URL"),
        "{}",
        text(&out.stderr)
    );
}

#[test]
fn in_a_checkout_whose_remote_is_in_a_root_no_root_option_is_needed() {
    let f = Fixture::new();
    let Pushed { work, .. } = f.pushed("myapp", &[("a.txt", "a\n")]);
    let out = run(command(SLIPWAY).current_dir(&work.dir).arg("releases"));
    let table = ok(out);
    assert!(table.contains("Deploy "), "{table}");
    // Another remote name with -r.
    git(&work.dir, &["remote", "rename", "slipway", "production"]);
    let out = run(command(SLIPWAY)
        .current_dir(&work.dir)
        .args(["-r", "production", "apps:info"]));
    assert!(ok(out).starts_with("=== myapp"));
    // A remote that is not there is named, not replaced by the default root.
    let out = run(command(SLIPWAY)
        .current_dir(&work.dir)
        .args(["-r", "staging", "releases"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: this checkout has no git remote named 'staging'\nhelp: its remotes: production\n"
    );
    // A relative path, as `git remote add` takes it, is the checkout's.
    let relative = pathdiff(&f.app_dir("myapp").join("repo.git"), &work.dir);
    git(&work.dir, &["remote", "add", "rel", &relative]);
    let out = run(command(SLIPWAY)
        .current_dir(&work.dir)
        .args(["-r", "rel", "apps:info"]));
    assert!(ok(out).starts_with("=== myapp"));
}

/// `path` relative to `base`, through `..` (both absolute, sharing a prefix).
fn pathdiff(path: &std::path::Path, base: &std::path::Path) -> String {
    let common = path
        .ancestors()
        .find(|a| base.starts_with(a))
        .expect("a common prefix");
    let ups = base.strip_prefix(common).unwrap().components().count();
    let mut rel = "../".repeat(ups);
    rel.push_str(path.strip_prefix(common).unwrap().to_str().unwrap());
    rel
}
