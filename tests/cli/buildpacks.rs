//! Buildpacks: the classic contract with fixture buildpacks written in sh, how they are chosen, fetched and cached, and how they fail.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::*;
use crate::slug::{current_slug, items};

/// Writes a buildpack into `dir` whose scripts are the given sh bodies (`$1`.. as the contract passes them).
fn buildpack(dir: &Path, detect: &str, compile: &str, release: &str) -> PathBuf {
    for (name, body) in [
        ("detect", detect),
        ("compile", compile),
        ("release", release),
    ] {
        let path = dir.join("bin").join(name);
        fs::create_dir_all(path.parent().unwrap()).unwrap();
        fs::write(&path, format!("#!/bin/sh\nset -e\n{body}\n")).unwrap();
        fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
    }
    dir.to_path_buf()
}

/// A buildpack named `name` that detects everything, logs its run to `$1/order` and prints a step line.
fn logging_buildpack(f: &Fixture, name: &str) -> PathBuf {
    buildpack(
        &f.tmp.path().join(format!("bp-{name}")),
        &format!("echo {name}"),
        &format!("echo '-----> Compiling with {name}'; echo {name} >> \"$1/order\""),
        &format!("printf -- '---\\ndefault_process_types:\\n  {name}: echo {name}\\n'"),
    )
}

fn slug_files(f: &Fixture, app: &str) -> Vec<String> {
    items(&current_slug(f, app))
        .iter()
        .map(|i| String::from_utf8_lossy(&i.path).into_owned())
        .collect()
}

/// The bytes of `path` in the app's current slug.
fn slug_file(f: &Fixture, app: &str, path: &str) -> String {
    let item = items(&current_slug(f, app))
        .into_iter()
        .find(|i| i.path == path.as_bytes())
        .unwrap_or_else(|| panic!("{path} is not in the slug"));
    String::from_utf8(item.data).unwrap()
}

/// Records releases without running them: these buildpacks' process types only echo.
fn record_only(f: &Fixture, app: &str) {
    let path = f.app_dir(app).join("app.yaml");
    let mut yaml = fs::read_to_string(&path).unwrap();
    yaml.push_str("launcher: none\n");
    fs::write(&path, yaml).unwrap();
}

fn set(f: &Fixture, app: &str, buildpack: &str) -> String {
    ok(f.slipway(&["buildpacks:set", buildpack, "-a", app]))
}

#[test]
fn a_chosen_buildpack_runs_the_contract_and_its_release_adds_process_types_and_config() {
    let f = Fixture::new();
    f.create_app("shop");
    record_only(&f, "shop");
    let bp = buildpack(
        &f.tmp.path().join("bp"),
        "[ -f \"$1/marker\" ] && echo Fixture",
        "echo '-----> Installing things'\n\
         echo 'a detail line'\n\
         echo \"       env: $(ls \"$3\" | tr '\\n' ' ')\"\n\
         echo \"       GREETING is $(cat \"$3/GREETING\")\"\n\
         echo \"       in env: ${GREETING:-unset} stack=$STACK source=$SOURCE_VERSION\"\n\
         echo built > \"$1/built.txt\"",
        "printf -- '---\\ndefault_process_types:\\n  web: echo serve\\nconfig_vars:\\n  FROM_BUILDPACK: yes\\n  GREETING: not-this\\n'",
    );
    ok(f.slipway(&["config:set", "GREETING=hello", "-a", "shop"]));
    assert_eq!(
        set(&f, "shop", bp.to_str().unwrap()),
        format!(
            "Buildpack set. Next release on shop will use {}.\n\
             Run `git push slipway main` (or `slipway deploy -a shop`) to create a new release using this buildpack.\n",
            bp.display()
        )
    );
    let work = f.work("shop", "w");
    work.write("marker", "x\n");
    let sha = work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert_eq!(
        lines,
        [
            format!("-----> Compiling {} (refs/heads/main)", &sha[..7]),
            format!("-----> Using buildpack: {}", bp.display()),
            "-----> Fixture app detected".to_owned(),
            "-----> Installing things".to_owned(),
            "       a detail line".to_owned(),
            "       env: GREETING".to_owned(),
            "       GREETING is hello".to_owned(),
            format!("       in env: unset stack=slipway-1 source={sha}"),
            "-----> Discovering process types".to_owned(),
            "       Procfile declares types -> (none)".to_owned(),
            "       Default types for buildpack -> web".to_owned(),
            "-----> Compressing... done, 1KB".to_owned(),
            "-----> Launching... done, v2".to_owned(),
        ]
    );
    let files = slug_files(&f, "shop");
    assert!(files.contains(&"app/built.txt".to_owned()), "{files:?}");
    assert_eq!(slug_file(&f, "shop", "app/Procfile"), "web: echo serve\n");
    let record = &f.records("shop")[1];
    assert_eq!(record["config"]["FROM_BUILDPACK"], "yes");
    assert_eq!(
        record["config"]["GREETING"], "hello",
        "a buildpack's default never overrides the app's own"
    );
    assert_eq!(record["status"], "succeeded");
}

#[test]
fn several_buildpacks_run_in_order_and_the_last_one_names_the_app() {
    let f = Fixture::new();
    f.create_app("shop");
    record_only(&f, "shop");
    let first = logging_buildpack(&f, "first");
    let second = logging_buildpack(&f, "second");
    set(&f, "shop", second.to_str().unwrap());
    let added = ok(f.slipway(&[
        "buildpacks:add",
        first.to_str().unwrap(),
        "-i",
        "1",
        "-a",
        "shop",
    ]));
    assert!(
        added.starts_with("Buildpack added. Next release on shop will use:\n  1. "),
        "{added}"
    );
    assert_eq!(
        ok(f.slipway(&["buildpacks", "-a", "shop"])),
        format!(
            "=== shop Buildpack URLs\n1. {}\n2. {}\n",
            first.display(),
            second.display()
        )
    );
    let work = f.work("shop", "w");
    work.write("Procfile", "first: echo mine\n");
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"-----> second app detected".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"-----> Using buildpacks:".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"       Procfile declares types -> first".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"       Default types for buildpack -> second".to_owned()),
        "{lines:?}"
    );
    assert_eq!(slug_file(&f, "shop", "app/order"), "first\nsecond\n");
    assert_eq!(
        slug_file(&f, "shop", "app/Procfile"),
        "first: echo mine\nsecond: echo second\n",
        "the Procfile's own command wins; the other default is added"
    );

    ok(f.slipway(&["buildpacks:remove", "-i", "1", "-a", "shop"]));
    assert_eq!(
        ok(f.slipway(&["buildpacks", "-a", "shop"])),
        format!("=== shop Buildpack URL\n{}\n", second.display())
    );
    assert_eq!(
        ok(f.slipway(&["buildpacks:clear", "-a", "shop"])),
        "Buildpacks cleared. Next release on shop will detect buildpacks normally.\n"
    );
    assert!(!f.app_dir("shop").join("buildpacks.json").exists());
}

#[test]
fn buildpack_commands_refuse_bad_names_duplicates_and_indexes_and_change_nothing() {
    let f = Fixture::new();
    f.create_app("shop");
    let bp = logging_buildpack(&f, "one");
    set(&f, "shop", bp.to_str().unwrap());
    let before = fs::read(f.app_dir("shop").join("buildpacks.json")).unwrap();
    for (args, error) in [
        (
            vec!["buildpacks:set", "ruby"],
            "error: 'ruby' is not a buildpack: name a built-in (python, nodejs), an absolute directory, a git URL or a .tgz URL\n",
        ),
        (
            vec!["buildpacks:add", bp.to_str().unwrap()],
            &format!(
                "error: the buildpack {} is already set on the app\n",
                bp.display()
            ),
        ),
        (
            vec!["buildpacks:remove", "-i", "3"],
            "error: there is no buildpack at index 3 (the app has 1)\n",
        ),
        (
            vec!["buildpacks:remove", "python"],
            "error: the app has no buildpack python\n",
        ),
    ] {
        let mut args = args.clone();
        args.extend(["-a", "shop"]);
        let out = f.slipway(&args);
        assert_eq!(out.status.code(), Some(1), "{args:?}");
        assert!(
            text(&out.stderr).starts_with(error),
            "{args:?}: {}",
            text(&out.stderr)
        );
    }
    assert_eq!(
        fs::read(f.app_dir("shop").join("buildpacks.json")).unwrap(),
        before
    );
}

#[test]
fn profile_d_scripts_are_sourced_before_the_release_phase_runs() {
    let f = Fixture::new();
    f.create_app("shop");
    let bp = buildpack(
        &f.tmp.path().join("bp"),
        "echo Profiled",
        "mkdir -p \"$1/.profile.d\"\n\
         echo 'export FROM_PROFILE=\"home is $HOME\"' > \"$1/.profile.d/app.sh\"",
        "true",
    );
    set(&f, "shop", bp.to_str().unwrap());
    let work = f.work("shop", "w");
    work.write(
        "Procfile",
        "release: echo \"release sees: $FROM_PROFILE\"\n",
    );
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    let home = f.app_dir("shop").join("run/v1/app");
    assert!(
        lines.contains(&format!("       release sees: home is {}", home.display())),
        "{lines:?}"
    );
}

#[test]
fn the_cache_directory_persists_between_builds_until_cleared() {
    let f = Fixture::new();
    f.create_app("shop");
    let bp = buildpack(
        &f.tmp.path().join("bp"),
        "echo Cached",
        "echo x >> \"$2/runs\"; echo \"       builds so far: $(wc -l < \"$2/runs\")\"",
        "true",
    );
    set(&f, "shop", bp.to_str().unwrap());
    let work = f.work("shop", "w");
    for (i, expected) in ["1", "2"].iter().enumerate() {
        work.write("a.txt", format!("{i}\n"));
        work.commit(&format!("c{i}"));
        let lines = work.push_ok(&["main"]);
        assert!(
            lines.contains(&format!("       builds so far: {expected}")),
            "{lines:?}"
        );
    }
    assert_eq!(
        ok(f.slipway(&["buildpacks:clear-cache", "-a", "shop"])),
        "Build cache of shop cleared: the next build starts from scratch.\n"
    );
    work.write("a.txt", "again\n");
    work.commit("c3");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"       builds so far: 1".to_owned()),
        "{lines:?}"
    );
}

#[test]
fn a_failed_compile_fails_the_release_and_the_live_one_keeps_serving() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    let work = f.work("shop", "w");
    work.write("a.txt", "a\n");
    work.commit("Works");
    work.push_ok(&["main"]);
    let bp = buildpack(
        &f.tmp.path().join("bp"),
        "echo Broken",
        "echo '-----> Trying'; echo 'ERROR: no such package' >&2; exit 3",
        "true",
    );
    set(&f, "shop", bp.to_str().unwrap());
    work.write("a.txt", "b\n");
    work.commit("Breaks");
    let lines = work.push_ok(&["main"]);
    let tail: Vec<&str> = lines
        .iter()
        .map(String::as_str)
        .skip_while(|l| !l.starts_with(" !"))
        .collect();
    assert_eq!(
        tail,
        [
            " !     Push rejected, failed to compile Broken app.",
            " !     bin/compile ended (exit 3) after:",
            "       -----> Trying",
            "       ERROR: no such package",
            " !     v1 is still live",
            " !     help: `slipway deploy -a shop` deploys the same commit again (after a fix outside the code)",
        ]
    );
    let records = f.records("shop");
    assert_eq!(records[1]["status"], "failed");
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
}

#[test]
fn a_strict_push_that_fails_to_compile_is_rejected_and_no_ref_moves() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    let bp = buildpack(&f.tmp.path().join("bp"), "echo Broken", "exit 1", "true");
    set(&f, "shop", bp.to_str().unwrap());
    let path = f.app_dir("shop").join("app.yaml");
    let mut yaml = fs::read_to_string(&path).unwrap();
    yaml.push_str("build_on: pre-receive\n");
    fs::write(&path, yaml).unwrap();
    let repo = f.app_dir("shop").join("repo.git");
    ok(f.slipway(&[
        "hooks:install",
        "--git-dir",
        repo.to_str().unwrap(),
        "--hook",
        "pre-receive",
    ]));
    let work = f.work("shop", "w");
    work.write("a.txt", "a\n");
    work.commit("First");
    let out = work.push(&["main"]);
    assert!(!out.status.success());
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.contains(&" !     Push rejected, failed to compile Broken app.".to_owned()),
        "{lines:?}"
    );
    assert!(text(&out.stderr).contains("pre-receive hook declined"));
    let refs = git(&repo, &["for-each-ref"]);
    assert!(refs.is_empty(), "no ref moved: {refs}");
    assert!(f.records("shop").is_empty());
}

#[test]
fn a_chosen_buildpack_that_does_not_detect_the_app_fails_with_a_clear_line() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    let bp = buildpack(&f.tmp.path().join("bp"), "exit 1", "true", "true");
    set(&f, "shop", bp.to_str().unwrap());
    let work = f.work("shop", "w");
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&format!(
            " !     App not compatible with buildpack: {}; nothing is live yet",
            bp.display()
        )),
        "{lines:?}"
    );
    assert_eq!(f.records("shop")[0]["status"], "failed");
}

/// A git repository holding `bp`'s scripts, tagged `v1`, then changed on `main` after the tag.
fn buildpack_repo(f: &Fixture) -> PathBuf {
    let dir = f.tmp.path().join("bp-repo");
    buildpack(&dir, "echo Tagged", "echo '       from the tag'", "true");
    git(&dir, &["init", "-q", "-b", "main"]);
    git(&dir, &["add", "-A"]);
    git(
        &dir,
        &[
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@x",
            "commit",
            "-qm",
            "v1",
        ],
    );
    git(&dir, &["tag", "v1"]);
    buildpack(&dir, "echo Tip", "echo '       from main'", "true");
    git(
        &dir,
        &[
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@x",
            "commit",
            "-qam",
            "tip",
        ],
    );
    dir
}

#[test]
fn git_buildpacks_are_cloned_with_git_and_a_ref_picks_the_version() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    let repo = buildpack_repo(&f);
    let url = format!("file://{}", repo.display());
    set(&f, "shop", &format!("{url}#v1"));
    let work = f.work("shop", "w");
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&format!("-----> Fetching buildpack {url}#v1")),
        "{lines:?}"
    );
    assert!(
        lines.contains(&"       from the tag".to_owned()),
        "{lines:?}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(&format!("-----> Using buildpack: {url}#v1 (")))
    );

    // Without a ref: the default branch, fetched again each build.
    set(&f, "shop", &url);
    work.commit("Second");
    let lines = work.push_ok(&["main"]);
    assert!(lines.contains(&"       from main".to_owned()), "{lines:?}");
    buildpack(&repo, "echo Tip", "echo '       from a newer main'", "true");
    git(
        &repo,
        &[
            "-c",
            "user.name=A",
            "-c",
            "user.email=a@x",
            "commit",
            "-qam",
            "newer",
        ],
    );
    work.commit("Third");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"       from a newer main".to_owned()),
        "a branch is refreshed: {lines:?}"
    );

    set(&f, "shop", &format!("{url}#no-such-ref"));
    work.commit("Fourth");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&format!(
            " !     cannot fetch the buildpack {url}#no-such-ref: it has no branch, tag or commit 'no-such-ref'; v3 is still live"
        )),
        "{lines:?}"
    );
}

#[test]
fn a_buildpacks_file_and_buildpack_url_choose_buildpacks_in_that_order_of_precedence() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    record_only(&f, "shop");
    let from_file = logging_buildpack(&f, "fromfile");
    let from_var = logging_buildpack(&f, "fromvar");
    let work = f.work("shop", "w");
    work.write(".buildpacks", format!("# ours\n{}\n", from_file.display()));
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"-----> fromfile app detected".to_owned()),
        "{lines:?}"
    );

    ok(f.slipway(&[
        "config:set",
        &format!("BUILDPACK_URL={}", from_var.display()),
        "-a",
        "shop",
    ]));
    work.commit("Second");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"-----> fromvar app detected".to_owned()),
        "BUILDPACK_URL beats .buildpacks: {lines:?}"
    );
    assert_eq!(
        ok(f.slipway(&["buildpacks", "-a", "shop"])),
        format!(
            "shop has no Buildpack URL set; its BUILDPACK_URL config var chooses: {}\n",
            from_var.display()
        )
    );

    let chosen = logging_buildpack(&f, "chosen");
    set(&f, "shop", chosen.to_str().unwrap());
    work.commit("Third");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"-----> chosen app detected".to_owned()),
        "buildpacks:set beats both: {lines:?}"
    );

    work.write(".buildpacks", "not a buildpack\n");
    ok(f.slipway(&["buildpacks:clear", "-a", "shop"]));
    ok(f.slipway(&["config:unset", "BUILDPACK_URL", "-a", "shop"]));
    assert_eq!(
        ok(f.slipway(&["buildpacks", "-a", "shop"])),
        "shop has no Buildpack URL set: the next deploy uses the repository's .buildpacks file if it has one, else detects them (python, nodejs)\n"
    );
    work.commit("Bad file");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(" !     'not a buildpack' is not a buildpack")),
        "{lines:?}"
    );
}

#[test]
fn releases_create_from_a_directory_goes_through_the_same_buildpacks() {
    let f = Fixture::new();
    f.create_app("shop");
    record_only(&f, "shop");
    let bp = logging_buildpack(&f, "dirbp");
    set(&f, "shop", bp.to_str().unwrap());
    let src = f.tmp.path().join("src");
    fs::create_dir_all(&src).unwrap();
    fs::write(src.join("index.html"), "hi\n").unwrap();
    let out = f.slipway(&["releases:create", src.to_str().unwrap(), "-a", "shop"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert!(
        text(&out.stderr).contains("-----> dirbp app detected"),
        "{}",
        text(&out.stderr)
    );
    assert_eq!(slug_file(&f, "shop", "app/order"), "dirbp\n");
    assert!(
        !src.join("order").exists(),
        "the source directory itself is never changed"
    );
}
