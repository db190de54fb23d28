//! The build step (`build:` in app.yaml or `ROOT/hooks/build`) and strict pushes (`build_on: pre-receive`).

use std::fs;
use std::os::unix::fs::{OpenOptionsExt, PermissionsExt};
use std::path::Path;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::slug::{current_slug, items};

/// Appends `yaml` to the app's app.yaml.
fn settings(f: &Fixture, app: &str, yaml: &str) {
    let path = f.app_dir(app).join("app.yaml");
    let mut text = fs::read_to_string(&path).unwrap();
    text.push_str(yaml);
    fs::write(&path, text).unwrap();
}

/// `build: COMMAND`, quoted for YAML.
fn build(f: &Fixture, app: &str, command: &str) {
    settings(
        f,
        app,
        &format!("build: {}\n", serde_json::to_string(command).unwrap()),
    );
}

/// Builds in pre-receive (`build_on`) and deploys in post-receive, with slipway's pre-receive hook in the app's own repository.
fn strict(f: &Fixture, app: &str) {
    f.deploy_after_push(app);
    settings(f, app, "build_on: pre-receive\n");
    let repo = f.app_dir(app).join("repo.git");
    ok(f.slipway(&[
        "hooks:install",
        "--git-dir",
        repo.to_str().unwrap(),
        "--hook",
        "pre-receive",
    ]));
}

/// What is left in `ROOT/tmp`, where builds check commits out.
fn scratch_left(f: &Fixture) -> Vec<String> {
    match fs::read_dir(f.root.join("tmp")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

fn slug_paths(f: &Fixture, app: &str) -> Vec<String> {
    items(&current_slug(f, app))
        .iter()
        .map(|i| String::from_utf8_lossy(&i.path).into_owned())
        .collect()
}

#[test]
fn build_output_streams_to_the_client_and_the_slug_is_what_the_build_left() {
    let f = Fixture::new();
    f.create_app("shop");
    build(
        &f,
        "shop",
        "echo compiling assets; echo 'a warning' >&2; mkdir dist; cp src/app.js dist/app.js; rm -r src",
    );
    let Pushed { work, sha, lines } = f.pushed(
        "shop",
        &[
            ("src/app.js", "console.log(1)\n"),
            (".slugignore", "*.md\n"),
            ("README.md", "docs\n"),
        ],
    );
    assert_eq!(
        lines,
        [
            format!("-----> Compiling {} (refs/heads/main)", &sha[..7]),
            "-----> Building...".to_owned(),
            "       compiling assets".to_owned(),
            "       a warning".to_owned(),
            NO_PROCESS_TYPES[0].to_owned(),
            NO_PROCESS_TYPES[1].to_owned(),
            "-----> Compressing... done, 0.0MB".to_owned(),
            "-----> Launching... done, v1".to_owned(),
        ]
    );
    let slug = items(&current_slug(&f, "shop"));
    let paths: Vec<String> = slug
        .iter()
        .map(|i| String::from_utf8_lossy(&i.path).into_owned())
        .collect();
    assert_eq!(
        paths,
        ["app/", "app/.slugignore", "app/dist/", "app/dist/app.js"]
    );
    assert_eq!(slug[3].data, b"console.log(1)\n");
    let commit_time: u64 = git(&work.dir, &["log", "-1", "--format=%ct"])
        .trim()
        .parse()
        .unwrap();
    assert!(
        slug.iter().all(|i| i.mtime == commit_time),
        "every entry has the commit's time, as a plain push's slug"
    );
    assert!(
        scratch_left(&f).is_empty(),
        "the checkout is gone: {:?}",
        scratch_left(&f)
    );
    assert!(
        f.root
            .join("slugs/by-tree")
            .read_dir()
            .unwrap()
            .next()
            .is_none(),
        "a built slug is not cached by tree"
    );
    let log = ok(f.slipway(&["releases:output", "v1", "-a", "shop"]));
    assert!(
        log.contains("-----> Building...\n       compiling assets\n       a warning\n"),
        "{log}"
    );
}

#[test]
fn the_build_sees_config_vars_and_its_own_variables_and_nothing_else() {
    let f = Fixture::new();
    f.create_app("shop");
    ok(f.slipway(&[
        "config:set",
        "API_URL=https://api.example.com",
        "-a",
        "shop",
    ]));
    build(
        &f,
        "shop",
        "echo \"api=$API_URL app=$SLIPWAY_APP\"; \
         echo \"user=${SLIPWAY_USER-unset} git=${GIT_DIR-unset} tz=${TZ-unset}\"; \
         [ \"$PWD\" = \"$SLIPWAY_BUILD_DIR\" ] && echo cwd-ok; \
         [ -d \"$HOME\" ] && [ -d \"$SLIPWAY_CACHE_DIR\" ] && echo dirs-ok; \
         echo \"path=$PATH\"",
    );
    let lines = f.pushed("shop", &[("a.txt", "a\n")]).lines;
    for expected in [
        "       api=https://api.example.com app=shop",
        "       user=unset git=unset tz=unset",
        "       cwd-ok",
        "       dirs-ok",
        "       path=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
    ] {
        assert!(
            lines.contains(&expected.to_owned()),
            "{expected}: {lines:?}"
        );
    }
    assert_eq!(f.current("shop").as_deref(), Some("v2"));
}

#[test]
fn the_cache_directory_persists_between_builds() {
    let f = Fixture::new();
    f.create_app("shop");
    build(
        &f,
        "shop",
        "if [ -f \"$SLIPWAY_CACHE_DIR/x\" ]; then echo \"cache: $(cat \"$SLIPWAY_CACHE_DIR/x\")\"; \
         else echo 'cache: empty'; fi; echo warm > \"$SLIPWAY_CACHE_DIR/x\"",
    );
    let Pushed { work, lines, .. } = f.pushed("shop", &[("a.txt", "1\n")]);
    assert!(lines.contains(&"       cache: empty".to_owned()));
    work.write("a.txt", "2\n");
    work.commit("Two");
    assert!(
        work.push_ok(&["main"])
            .contains(&"       cache: warm".to_owned())
    );
    assert_eq!(
        fs::read_to_string(f.app_dir("shop").join("cache/x")).unwrap(),
        "warm\n"
    );
}

#[test]
fn a_failed_build_after_the_push_fails_the_release_and_keeps_the_live_one() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    build(&f, "shop", "sh ./build.sh");
    let work = f.pushed("shop", &[("build.sh", "echo ok\n")]).work;
    work.write("build.sh", "echo 'missing dependency' >&2\nexit 3\n");
    let sha = work.commit("Bad");
    let lines = work.push_ok(&["main"]);
    assert_eq!(
        lines[1..],
        [
            "-----> Building...".to_owned(),
            "       missing dependency".to_owned(),
            " !     build failed (exit 3); v1 is still live".to_owned(),
            " !     help: `slipway deploy -a shop` deploys the same commit again (after a fix outside the code)".to_owned(),
        ]
    );
    let repo = f.app_dir("shop").join("repo.git");
    assert_eq!(git(&repo, &["rev-parse", "main"]).trim(), sha, "refs moved");
    let records = f.records("shop");
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["status"], "failed");
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
    assert!(scratch_left(&f).is_empty(), "{:?}", scratch_left(&f));
}

#[test]
fn a_strict_push_builds_once_before_refs_move() {
    let f = Fixture::new();
    f.create_app("shop");
    build(
        &f,
        "shop",
        "echo built >> \"$SLIPWAY_CACHE_DIR/count\"; echo building; mkdir out; date > out/stamp",
    );
    strict(&f, "shop");
    let Pushed { sha, lines, .. } = f.pushed("shop", &[("a.txt", "a\n")]);
    let short = &sha[..7];
    assert_eq!(
        lines,
        [
            format!("-----> Compiling {short} (refs/heads/main)"),
            "-----> Building...".to_owned(),
            "       building".to_owned(),
            NO_PROCESS_TYPES[0].to_owned(),
            NO_PROCESS_TYPES[1].to_owned(),
            "-----> Compressing... done, 0.0MB".to_owned(),
            format!("-----> Compiling {short} (refs/heads/main)"),
            "-----> Compressing... done, 0.0MB (reused)".to_owned(),
            "-----> Launching... done, v1".to_owned(),
        ]
    );
    assert_eq!(
        fs::read_to_string(f.app_dir("shop").join("cache/count")).unwrap(),
        "built\n",
        "built once, in pre-receive"
    );
    assert!(slug_paths(&f, "shop").contains(&"app/out/stamp".to_owned()));
    assert!(
        f.app_dir("shop")
            .join("built")
            .read_dir()
            .unwrap()
            .next()
            .is_none(),
        "post-receive used up pre-receive's note"
    );
    assert!(scratch_left(&f).is_empty(), "{:?}", scratch_left(&f));
}

#[test]
fn a_strict_push_whose_build_fails_is_rejected_and_nothing_changes() {
    let f = Fixture::new();
    f.create_app("shop");
    build(&f, "shop", "sh ./build.sh");
    strict(&f, "shop");
    let work = f.pushed("shop", &[("build.sh", "echo ok\n")]).work;
    let repo = f.app_dir("shop").join("repo.git");
    let refs_before = git(&repo, &["for-each-ref"]);
    let slugs_before = f.slug_files();

    work.write("build.sh", "echo 'syntax error in app.js'\nexit 1\n");
    let sha = work.commit("Bad");
    let out = work.push(&["main"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("! [remote rejected] main -> main (pre-receive hook declined)"),
        "{stderr}"
    );
    assert_eq!(
        remote_lines(&out.stderr),
        [
            format!("-----> Compiling {} (refs/heads/main)", &sha[..7]),
            "-----> Building...".to_owned(),
            "       syntax error in app.js".to_owned(),
            " !     build failed (exit 1)".to_owned(),
            format!(" !     Push rejected: {} does not compile", &sha[..7]),
        ]
    );
    assert_eq!(git(&repo, &["for-each-ref"]), refs_before);
    assert_eq!(f.records("shop").len(), 1, "no release recorded");
    assert_eq!(f.slug_files(), slugs_before);
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
    assert!(scratch_left(&f).is_empty(), "{:?}", scratch_left(&f));
}

/// The pids of the live (not zombie) processes whose command line holds `text`.
fn running_with(text: &str) -> Vec<String> {
    let mut pids = Vec::new();
    for entry in fs::read_dir("/proc").unwrap().flatten() {
        let pid = entry.file_name().to_string_lossy().into_owned();
        if !pid.bytes().all(|b| b.is_ascii_digit()) || pid == std::process::id().to_string() {
            continue;
        }
        let cmdline = fs::read(entry.path().join("cmdline")).unwrap_or_default();
        let live = fs::read_to_string(entry.path().join("stat")).is_ok_and(|stat| {
            stat.rsplit(')')
                .next()
                .is_some_and(|s| !s.trim_start().starts_with('Z'))
        });
        if live && cmdline.windows(text.len()).any(|w| w == text.as_bytes()) {
            pids.push(pid);
        }
    }
    pids
}

/// A FIFO at `path` (with the real `mkfifo`).
fn mkfifo(path: &Path) {
    ok(run(command("mkfifo").arg(path)));
}

/// Opens `fifo` for writing without blocking: fails with ENXIO when no process has it open for reading.
fn open_writer(fifo: &Path) -> std::io::Result<fs::File> {
    fs::OpenOptions::new()
        .write(true)
        .custom_flags(libc::O_NONBLOCK)
        .open(fifo)
}

#[test]
fn a_build_that_times_out_is_killed_with_everything_it_started() {
    let f = Fixture::new();
    f.create_app("shop");
    f.deploy_after_push("shop");
    // Both the build's shell and a background child block reading a FIFO that
    // nobody opens for writing: only slipway's timeout can end them. The FIFO
    // is in the app's cache, which the build's sandbox sees (not the test's
    // temp directory); its path in their command lines finds them on the host.
    let cache = f.app_dir("shop").join("cache");
    fs::create_dir_all(&cache).unwrap();
    let gate = cache.join("gate");
    mkfifo(&gate);
    let gate_arg = format!("'{}'", gate.display());
    build(
        &f,
        "shop",
        &format!("read x < {gate_arg} & echo waiting; read x < {gate_arg}"),
    );
    settings(&f, "shop", "build_timeout: 2s\n");
    let work = f.work("shop", "w");
    work.write("a.txt", "a\n");
    work.commit("First");
    // Liveness guard only: a slipway that waited for the build would hang the
    // push forever, so after a generous while the FIFO is opened to end it.
    let (done, pushed) = std::sync::mpsc::channel::<()>();
    let watchdog = std::thread::spawn({
        let gate = gate.clone();
        move || {
            // Opening succeeds only if a build process still waits on the FIFO.
            pushed.recv_timeout(Duration::from_secs(120)).is_err() && open_writer(&gate).is_ok()
        }
    });
    let lines = work.push_ok(&["main"]);
    let _ = done.send(()); // fails only if the watchdog already gave up
    assert!(
        !watchdog.join().unwrap(),
        "the push returned only once the FIFO was opened: the 2s build_timeout did not end the build"
    );
    assert_eq!(
        lines[1..],
        [
            "-----> Building...".to_owned(),
            "       waiting".to_owned(),
            " !     build timed out after 2s; nothing is live yet".to_owned(),
            " !     help: make the build faster (SLIPWAY_CACHE_DIR persists between builds), or raise build_timeout in app.yaml".to_owned(),
            " !     help: `slipway deploy -a shop` deploys the same commit again (after a fix outside the code)".to_owned(),
        ]
    );
    assert_eq!(f.records("shop")[0]["status"], "failed");
    // Killed, but the kernel ends a process asynchronously: poll, generously.
    // (Their pids are their sandbox's own, so they are found by what they run.)
    let deadline = Instant::now() + Duration::from_secs(30);
    while !running_with(&gate_arg).is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
    }
    assert_eq!(
        running_with(&gate_arg),
        Vec::<String>::new(),
        "the build's shell and its background child were killed"
    );
    let writer = open_writer(&gate);
    assert_eq!(
        writer.as_ref().map_err(std::io::Error::raw_os_error).err(),
        Some(Some(libc::ENXIO)),
        "no build process still waits on the FIFO: {writer:?}"
    );
    assert!(scratch_left(&f).is_empty(), "{:?}", scratch_left(&f));
}

fn admin_build_hook(f: &Fixture, script: &str) {
    let path = f.root.join("hooks/build");
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(&path, script).unwrap();
    fs::set_permissions(&path, fs::Permissions::from_mode(0o755)).unwrap();
}

#[test]
fn the_admins_build_hook_runs_when_app_yaml_has_no_build() {
    let f = Fixture::new();
    f.create_app("shop");
    admin_build_hook(
        &f,
        "#!/bin/sh\n[ \"$PWD\" = \"$1\" ] && [ \"$2\" = \"$SLIPWAY_CACHE_DIR\" ] && echo \"hook building $SLIPWAY_APP\"\n\
         echo hook > \"$1/built-by\"\n",
    );
    let Pushed { work, lines, .. } = f.pushed("shop", &[("a.txt", "a\n")]);
    assert!(lines.contains(&"       hook building shop".to_owned()));
    let slug = items(&current_slug(&f, "shop"));
    let built_by = slug.iter().find(|i| i.path == b"app/built-by").unwrap();
    assert_eq!(built_by.data, b"hook\n");

    build(&f, "shop", "echo app.yaml wins");
    work.write("a.txt", "b\n");
    work.commit("Second");
    let lines = work.push_ok(&["main"]);
    assert!(
        lines.contains(&"       app.yaml wins".to_owned()),
        "{lines:?}"
    );
    assert!(!lines.contains(&"       hook building shop".to_owned()));
}

#[test]
fn build_on_pre_receive_without_the_hook_builds_after_the_push_and_says_so() {
    let f = Fixture::new();
    let repo = f.create_app("shop");
    f.deploy_after_push("shop");
    fs::remove_file(repo.join("hooks/pre-receive")).unwrap();
    build(&f, "shop", "echo building");
    settings(&f, "shop", "build_on: pre-receive\n");
    let lines = f.pushed("shop", &[("a.txt", "a\n")]).lines;
    assert_eq!(
        lines[1..3],
        [
            " !     Warning: build_on is pre-receive, but the app has no pre-receive hook: built after the push".to_owned(),
            format!(
                " !     help: `slipway hooks:install --git-dir {} --hook pre-receive` rejects pushes that fail to build",
                repo.display()
            ),
        ]
    );
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
}

#[test]
fn bad_build_settings_are_one_error_line() {
    let f = Fixture::new();
    f.create_app("shop");
    settings(&f, "shop", "build_timeout: 0s\n");
    let out = f.slipway(&["releases", "-a", "shop"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("error: settings file ")
            && stderr.contains("build_timeout must be a duration of at least one second"),
        "{stderr}"
    );
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
}

#[test]
fn a_pre_receive_hook_without_build_on_leaves_a_built_app_to_post_receive() {
    let f = Fixture::new();
    f.create_app("shop");
    build(&f, "shop", "rm big.txt; echo built");
    let repo = f.app_dir("shop").join("repo.git");
    ok(f.slipway(&[
        "hooks:install",
        "--git-dir",
        repo.to_str().unwrap(),
        "--hook",
        "pre-receive",
    ]));
    let lines = f.pushed("shop", &[("big.txt", "x\n")]).lines;
    assert_eq!(
        lines
            .iter()
            .filter(|l| l.starts_with("-----> Compiling"))
            .count(),
        1,
        "pre-receive did not compile the bare tree: {lines:?}"
    );
    assert!(!slug_paths(&f, "shop").contains(&"app/big.txt".to_owned()));
}
