//! Roots and apps: init, create, list, destroy, names.

use crate::common::*;

#[test]
fn apps_create_prints_the_remote_and_installs_an_executable_shim() {
    let f = Fixture::new();
    let out = ok(f.slipway(&["apps:create", "myapp"]));
    let repo = f.root.join("apps/myapp/repo.git");
    assert_eq!(
        out,
        format!(
            "Creating myapp... done\nGit repository: {r}\nAdd it as a remote and push to deploy:\n  git remote add slipway {r}\n  git push slipway main          (if your branch is master: git push slipway master:main)\n",
            r = repo.display()
        )
    );
    for hook in ["pre-receive", "post-receive"] {
        let shim = std::fs::read_to_string(repo.join("hooks").join(hook)).unwrap();
        assert!(shim.starts_with("#!/bin/sh\n"));
        assert!(
            shim.contains(&format!(
                "exec '{SLIPWAY}' --root '{}' hook {hook} --app 'myapp'",
                f.root.display()
            )),
            "{shim}"
        );
    }
    let yaml = std::fs::read_to_string(f.app_dir("myapp").join("app.yaml")).unwrap();
    assert!(
        yaml.lines().any(|l| l == "deploy_on: pre-receive"),
        "new apps deploy before refs move: {yaml}"
    );
    use std::os::unix::fs::PermissionsExt;
    let mode = std::fs::metadata(repo.join("hooks/post-receive"))
        .unwrap()
        .permissions()
        .mode();
    assert_eq!(mode & 0o777, 0o755);
    assert_eq!(
        git(&repo, &["rev-parse", "--is-bare-repository"]).trim(),
        "true"
    );
    assert_eq!(
        git(&repo, &["symbolic-ref", "HEAD"]).trim(),
        "refs/heads/main"
    );

    let again = f.slipway(&["apps:create", "myapp"]);
    assert_eq!(again.status.code(), Some(1));
    assert_eq!(text(&again.stderr), "error: app 'myapp' already exists\n");
}

#[test]
fn the_hook_works_without_home_or_path() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.commit("x");
    // git runs hooks with whatever environment it has; give it almost none.
    let git_path = run(command("sh").args(["-c", "command -v git"]));
    let git_bin = text(&git_path.stdout).trim().to_owned();
    let out = run(command(&git_bin)
        .current_dir(&work.dir)
        .env_clear()
        .env("GIT_CONFIG_NOSYSTEM", "1")
        .env("GIT_CONFIG_GLOBAL", "/dev/null")
        .env("PATH", std::path::Path::new(&git_bin).parent().unwrap())
        .args(["push", "slipway", "main"]));
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(
        remote_lines(&out.stderr).last().unwrap(),
        "-----> Launching... done, v1"
    );
}

#[test]
fn bad_app_names_are_refused_and_nothing_is_created() {
    let f = Fixture::new();
    let too_long = "a".repeat(31);
    for (name, reason) in [
        ("../x", "it must start with a lowercase letter"),
        ("A", "it must start with a lowercase letter"),
        (
            "a b",
            "only lowercase letters, digits and dashes are allowed",
        ),
        ("", "it is empty"),
        (
            "my_app",
            "only lowercase letters, digits and dashes are allowed",
        ),
        ("1app", "it must start with a lowercase letter"),
        (too_long.as_str(), "it is longer than 30 characters"),
        (
            "x/../../y",
            "only lowercase letters, digits and dashes are allowed",
        ),
    ] {
        let out = f.slipway(&["apps:create", name]);
        assert_eq!(out.status.code(), Some(1), "{name}");
        let err = text(&out.stderr);
        let mut lines = err.lines();
        assert_eq!(
            lines.next().unwrap(),
            format!("error: invalid app name '{name}': {reason}")
        );
        assert!(
            lines
                .next()
                .unwrap()
                .starts_with("help: app names start with a lowercase letter")
        );
    }
    let mut left: Vec<_> = std::fs::read_dir(f.root.join("apps"))
        .unwrap()
        .map(|e| e.unwrap().file_name())
        .collect();
    left.retain(|n| n != ".lock");
    assert!(left.is_empty(), "{left:?}");
    assert!(!f.tmp.path().join("x").exists());
    assert!(ok(f.slipway(&["apps:create", &"a".repeat(30)])).starts_with("Creating"));
}

#[test]
fn unknown_apps_and_roots_say_what_to_do() {
    let f = Fixture::new();
    let out = f.slipway(&["releases", "-a", "ghost"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: no app named 'ghost'\nhelp: `slipway apps` lists the apps; `slipway apps:create NAME` makes one\n"
    );
    let nowhere = f.tmp.path().join("nowhere");
    let out = run(command(SLIPWAY).arg("--root").arg(&nowhere).args(["apps"]));
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        format!("error: {} is not a slipway root", nowhere.display())
    );
}

#[test]
fn the_app_comes_from_a_flag_the_environment_or_the_slipway_remote() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[]).work;
    // In the checkout: the `slipway` remote names the app.
    let here = ok(f
        .cmd(&["releases"])
        .current_dir(&work.dir)
        .output()
        .unwrap());
    assert!(here.contains("Deploy "), "{here}");
    // SLIPWAY_APP, and -a over it.
    f.create_app("other");
    let env = ok(f
        .cmd(&["releases"])
        .env("SLIPWAY_APP", "other")
        .current_dir(f.tmp.path())
        .output()
        .unwrap());
    assert_eq!(env, "other has no releases yet\n");
    let flag = ok(f
        .cmd(&["releases", "-a", "myapp"])
        .env("SLIPWAY_APP", "other")
        .output()
        .unwrap());
    assert!(flag.contains("Deploy "), "{flag}");
    // Nowhere to tell: one error line and what to do.
    let out = f
        .cmd(&["releases"])
        .current_dir(f.tmp.path())
        .output()
        .unwrap();
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: no app given\nhelp: pass -a APP, set SLIPWAY_APP, or run this in a checkout whose git remote `slipway` points at the app\n"
    );
}

#[test]
fn apps_lists_names_and_json_and_destroy_needs_confirmation() {
    let f = Fixture::new();
    f.create_app("web");
    f.create_app("api");
    assert_eq!(ok(f.slipway(&["apps"])), "api\nweb\n");
    f.pushed("web", &[]);
    let json: serde_json::Value =
        serde_json::from_str(&ok(f.slipway(&["apps", "--json"]))).unwrap();
    assert_eq!(json[1]["name"], "web");
    assert_eq!(json[1]["current"], 1);
    assert_eq!(json[0]["current"], serde_json::Value::Null);

    let refused = f.slipway(&["apps:destroy", "web"]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(
        text(&refused.stderr)
            .starts_with("error: refusing to destroy 'web' without --confirm web\n")
    );
    let wrong = f.slipway(&["apps:destroy", "web", "--confirm", "api"]);
    assert_eq!(wrong.status.code(), Some(1));
    assert!(
        text(&wrong.stderr).starts_with(
            "error: refusing to destroy 'web' without --confirm web (--confirm names 'api')\n"
        ),
        "{}",
        text(&wrong.stderr)
    );
    assert!(f.app_dir("web").join("releases/v1.json").exists());

    assert_eq!(
        ok(f.slipway(&["apps:destroy", "web", "--confirm", "web"])),
        "Destroying web... done\n"
    );
    assert!(!f.app_dir("web").exists());
    assert_eq!(ok(f.slipway(&["apps"])), "api\n");
    // Heroku's spelling: the app as -a, anywhere on the line.
    assert_eq!(
        ok(f.slipway(&["-a", "api", "apps:destroy", "--confirm", "api"])),
        "Destroying api... done\n"
    );
    assert_eq!(ok(f.slipway(&["apps"])), "");
}

#[test]
fn init_is_idempotent_and_settings_errors_name_the_file() {
    let f = Fixture::new();
    ok(f.slipway(&["init"]));
    std::fs::write(f.root.join("slipway.yaml"), "max_slug_size: lots\n").unwrap();
    let out = f.slipway(&["apps"]);
    assert_eq!(out.status.code(), Some(1));
    let err = text(&out.stderr);
    assert!(
        err.starts_with(&format!(
            "error: settings file {} is invalid: ",
            f.root.join("slipway.yaml").display()
        )),
        "{err}"
    );
    assert!(err.contains("'lots' is not a size"), "{err}");
}

#[test]
fn quickstart_runs_twice_in_the_same_directory_and_the_app_serves() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path().join("slipway-quickstart/root");
    // The demo's app gets its port from this range: one free port, not the default 5000.
    let port = crate::launch::free_port();
    std::fs::create_dir_all(&root).unwrap();
    std::fs::write(
        root.join("slipway.yaml"),
        format!("port_range: {port}-{port}\n"),
    )
    .unwrap();
    let f = Fixture { root, tmp };
    let _guard = crate::launch::Running::new(&f, "hello");
    let quickstart = || {
        ok(run(command(SLIPWAY)
            .current_dir(f.tmp.path())
            .arg("quickstart")))
    };
    // First run: two deploys, a config change, and a rollback to the second deploy,
    // which is what the app serves at the end.
    let first = quickstart();
    assert!(
        first.contains(&format!("==> slipway root: {}", f.root.display())),
        "{first}"
    );
    let live = |v: u32| {
        format!(
            "==> The app is live at http://127.0.0.1:{port}/\n    GET http://127.0.0.1:{port}/ says: Hello again from slipway (v{v})\n"
        )
    };
    for line in [
        "Updating vars and restarting hello... done, v3",
        "Rolled back to v2",
        "v4   Rollback to v2",
        "v3   Config add GREETING_STYLE",
        "v2   Deploy ",
        &live(2),
    ] {
        assert!(first.contains(line), "{line}\n{first}");
    }
    // Second run: the rollback took the config var back out with v2's config, so it is added again.
    let second = quickstart();
    for line in [
        "Updating vars and restarting hello... done, v7",
        "Rolled back to v6",
        "v8   Rollback to v6",
        "v6   Deploy ",
        &live(6),
    ] {
        assert!(second.contains(line), "{line}\n{second}");
    }
    let records = f.records("hello");
    assert_eq!(records.len(), 8);
    assert!(records.iter().all(|r| r["status"] == "succeeded"));
    assert_eq!(f.current("hello").as_deref(), Some("v8"));
}
