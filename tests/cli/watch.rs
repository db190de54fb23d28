//! Branch watching: `watch --once` against a file:// upstream deploys new tips, and only new tips.

use std::path::PathBuf;
use std::process::{Output, Stdio};
use std::time::{Duration, Instant};

use crate::common::*;

/// An upstream bare repository and a developer's clone that pushes to it (`up`) and to the app (`slipway`).
struct Upstream {
    url: String,
    dev: Work,
}

impl Upstream {
    fn new(f: &Fixture, app: &str, name: &str) -> Upstream {
        let bare = f.tmp.path().join(format!("{name}.git"));
        git(
            f.tmp.path(),
            &["init", "-q", "--bare", "-b", "main", bare.to_str().unwrap()],
        );
        let dev = f.work(app, &format!("{name}-dev"));
        git(&dev.dir, &["remote", "add", "up", bare.to_str().unwrap()]);
        Upstream {
            url: format!("file://{}", bare.display()),
            dev,
        }
    }

    /// Commits a change and pushes it upstream; returns the sha.
    fn commit_and_push(&self, file: &str, message: &str) -> String {
        self.dev.write(file, message);
        let sha = self.dev.commit(message);
        git(&self.dev.dir, &["push", "-q", "--force", "up", "main"]);
        sha
    }
}

/// `watch:set -a APP --repo URL --branch main`; its stdout.
fn watch_main(f: &Fixture, app: &str, url: &str) -> String {
    ok(f.slipway(&["watch:set", "-a", app, "--repo", url, "--branch", "main"]))
}

fn watch_once(f: &Fixture) -> Output {
    f.slipway(&["watch", "--once"])
}

fn app_ref(f: &Fixture, app: &str, name: &str) -> String {
    git(&f.app_dir(app).join("repo.git"), &["rev-parse", name])
        .trim()
        .to_owned()
}

#[test]
fn a_new_commit_deploys_once_with_an_akkeris_description() {
    let f = Fixture::new();
    f.create_app("myapp");
    let up = Upstream::new(&f, "myapp", "up");
    let sha = up.commit_and_push("index.html", "Fix the header");
    let set = watch_main(&f, "myapp", &up.url);
    assert_eq!(
        set,
        format!(
            "Watching main of {} for myapp: `slipway watch` deploys each new commit\n",
            up.url
        )
    );

    let out = watch_once(&f);
    let short = &sha[..7];
    assert_eq!(
        ok(out),
        format!(
            "-----> Auto-deploying {short} to myapp (main of {})\n\
             -----> Compiling {short} (refs/heads/main)\n\
             -----> Discovering process types\n\
             \x20      No Procfile and no default process types: nothing will run (add a Procfile)\n\
             -----> Compressing... done, 1KB\n\
             -----> Launching... done, v1\n",
            up.url
        )
    );
    let records = f.records("myapp");
    assert_eq!(records.len(), 1);
    assert_eq!(
        records[0]["description"],
        format!("Auto-Deploy {short} - Alice - Fix the header - {short}")
    );
    assert_eq!(records[0]["commit"], sha.as_str());
    assert_eq!(records[0]["ref"], "refs/heads/main");
    assert_eq!(f.current("myapp").as_deref(), Some("v1"));
    // The deploy branch holds what runs, so the developer's next push is a fast-forward.
    assert_eq!(app_ref(&f, "myapp", "refs/heads/main"), sha);
    up.dev.write("more.txt", "more\n");
    let next = up.dev.commit("More");
    let lines = up.dev.push_ok(&["main"]);
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v2");
    assert_eq!(f.records("myapp")[1]["commit"], next.as_str());

    // Nothing new upstream: nothing deployed, and the manual push stays live.
    let again = ok(watch_once(&f));
    assert_eq!(
        again,
        format!(
            "myapp: main of {} is still at {short}, nothing to deploy\n",
            up.url
        )
    );
    assert_eq!(f.records("myapp").len(), 2);
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));
}

#[test]
fn force_pushed_history_deploys_the_new_tip() {
    let f = Fixture::new();
    f.create_app("myapp");
    let up = Upstream::new(&f, "myapp", "up");
    up.commit_and_push("a.txt", "First try");
    watch_main(&f, "myapp", &up.url);
    ok(watch_once(&f));
    up.dev.write("a.txt", "rewritten\n");
    git(&up.dev.dir, &["add", "-A"]);
    git(
        &up.dev.dir,
        &[
            "-c",
            "user.name=Bob",
            "-c",
            "user.email=bob@example.com",
            "commit",
            "-q",
            "--amend",
            "--reset-author",
            "-m",
            "Second try",
        ],
    );
    let rewritten = up.dev.head();
    git(&up.dev.dir, &["push", "-q", "--force", "up", "main"]);

    let out = ok(watch_once(&f));
    assert!(out.ends_with("-----> Launching... done, v2\n"), "{out}");
    let records = f.records("myapp");
    assert_eq!(records[1]["commit"], rewritten.as_str());
    let short = &rewritten[..7];
    assert_eq!(
        records[1]["description"],
        format!("Auto-Deploy {short} - Bob - Second try - {short}")
    );
    assert_eq!(app_ref(&f, "myapp", "refs/heads/main"), rewritten);
}

#[test]
fn an_unreachable_upstream_is_one_error_line_and_other_apps_still_deploy() {
    let f = Fixture::new();
    f.create_app("aaa");
    f.create_app("bbb");
    let missing = format!("file://{}", f.tmp.path().join("gone.git").display());
    watch_main(&f, "aaa", &missing);
    let up = Upstream::new(&f, "bbb", "up");
    let sha = up.commit_and_push("a.txt", "Ship it");
    watch_main(&f, "bbb", &up.url);

    let out = watch_once(&f);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    let lines: Vec<&str> = stderr.lines().collect();
    assert_eq!(lines.len(), 1, "{stderr}");
    assert!(
        lines[0].starts_with(&format!(
            "error: watch aaa: cannot fetch main from {missing}: "
        )),
        "{stderr}"
    );
    assert!(
        lines[0].contains("does not appear to be a git repository"),
        "{stderr}"
    );
    assert!(f.records("aaa").is_empty());
    assert_eq!(f.records("bbb")[0]["commit"], sha.as_str());

    // The next round tries again: once the upstream exists, it deploys.
    watch_main(&f, "aaa", &up.url);
    let out = watch_once(&f);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(f.records("aaa")[0]["commit"], sha.as_str());
}

#[test]
fn a_failed_deploy_or_a_manual_deploy_is_left_alone_until_the_branch_moves() {
    let f = Fixture::new();
    f.create_app("myapp");
    let up = Upstream::new(&f, "myapp", "up");
    up.dev.write("big.bin", noise(1, 100_000));
    up.commit_and_push("msg.txt", "Too big");
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "max_slug_size: 100\n").unwrap();
    watch_main(&f, "myapp", &up.url);
    let out = watch_once(&f);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains("compiled slug is larger than") && stdout.contains("nothing is live yet"),
        "{stdout}"
    );
    assert_eq!(f.records("myapp")[0]["status"], "failed");

    // Not retried every round: a broken commit would otherwise fail every 30 seconds.
    let out = watch_once(&f);
    assert_eq!(out.status.code(), Some(0), "{}", text(&out.stderr));
    assert_eq!(f.records("myapp").len(), 1);

    // The branch moves: its new tip deploys.
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "").unwrap();
    let sha = up.commit_and_push("big.bin", "small now");
    ok(watch_once(&f));
    let records = f.records("myapp");
    assert_eq!(records.len(), 2);
    assert_eq!(records[1]["commit"], sha.as_str());
    assert_eq!(records[1]["status"], "succeeded");
}

#[test]
fn a_tip_that_is_already_live_is_not_deployed_again() {
    let f = Fixture::new();
    f.create_app("myapp");
    let up = Upstream::new(&f, "myapp", "up");
    let sha = up.commit_and_push("a.txt", "Pushed both ways");
    up.dev.push_ok(&["main"]);
    watch_main(&f, "myapp", &up.url);
    assert_eq!(
        ok(watch_once(&f)),
        format!(
            "myapp: main of {} is at {}, already live as v1\n",
            up.url,
            &sha[..7]
        )
    );
    assert_eq!(f.records("myapp").len(), 1);
}

#[test]
fn watch_set_refuses_bad_urls_and_branches_and_unset_stops_watching() {
    let f = Fixture::new();
    f.create_app("myapp");
    for (repo, branch, message) in [
        (
            "ext::sh -c touch% /tmp/pwned",
            "main",
            "error: 'ext::sh -c touch% /tmp/pwned' cannot be watched: transport helpers (TRANSPORT::ADDRESS) are not allowed",
        ),
        (
            "--upload-pack=touch /tmp/pwned",
            "main",
            "error: '--upload-pack=touch /tmp/pwned' cannot be watched: it starts with '-'",
        ),
        (
            "ftp://host/app.git",
            "main",
            "error: 'ftp://host/app.git' cannot be watched: only file, git, http, https and ssh URLs are allowed",
        ),
        (
            "https://user:s3cret@host/app.git",
            "a..b",
            "error: 'a..b' is not a valid branch name",
        ),
    ] {
        let repo = format!("--repo={repo}");
        let out = f.slipway(&["watch:set", "-a", "myapp", &repo, "--branch", branch]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(text(&out.stderr).lines().next(), Some(message));
    }
    assert!(!f.app_dir("myapp").join("watch.json").exists());

    // Credentials are stored (mode 0600) but never shown.
    let set = ok(f.slipway(&[
        "watch:set",
        "-a",
        "myapp",
        "--repo",
        "https://user:s3cret@example.invalid/app.git",
        "--branch",
        "refs/heads/release",
    ]));
    assert_eq!(
        set,
        "Watching release of https://***@example.invalid/app.git for myapp: `slipway watch` deploys each new commit\n"
    );
    let stored = f.app_dir("myapp").join("watch.json");
    use std::os::unix::fs::PermissionsExt;
    assert_eq!(
        std::fs::metadata(&stored).unwrap().permissions().mode() & 0o777,
        0o600
    );
    assert_eq!(
        ok(f.slipway(&["watch:unset", "-a", "myapp"])),
        "Stopped watching release of https://***@example.invalid/app.git for myapp\n"
    );
    let out = f.slipway(&["watch:unset", "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: app 'myapp' is not watching a branch\n\
         help: `slipway watch:set -a myapp --repo URL --branch BRANCH` starts watching\n"
    );
    // With nothing watched, a round does nothing and succeeds.
    assert_eq!(ok(watch_once(&f)), "");
}

#[test]
fn the_watch_loop_stops_cleanly_on_sigterm_between_rounds() {
    let f = Fixture::new();
    f.create_app("myapp");
    let up = Upstream::new(&f, "myapp", "up");
    up.commit_and_push("a.txt", "Loop");
    watch_main(&f, "myapp", &up.url);
    let mut child = f
        .cmd(&["watch", "--interval", "1h"])
        .stdout(Stdio::null())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let current: PathBuf = f.app_dir("myapp").join("current");
    let deadline = Instant::now() + Duration::from_secs(30);
    while !current.exists() {
        assert!(Instant::now() < deadline, "the first round never deployed");
        std::thread::sleep(Duration::from_millis(50));
    }
    // The shell's builtin kill: procps may be missing.
    ok(run(command("sh").args([
        "-c",
        "kill -TERM \"$1\"",
        "sh",
        &child.id().to_string(),
    ])));
    // The next round is an hour away, so only the signal can end the loop
    // before this generous guard, which is there only so a regression fails
    // instead of hanging.
    let deadline = Instant::now() + Duration::from_secs(60);
    let status = loop {
        if let Some(status) = child.try_wait().unwrap() {
            break status;
        }
        if Instant::now() > deadline {
            child.kill().unwrap();
            panic!("watch was still running a minute after SIGTERM");
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    // SIGTERM's default action would have killed it with the signal: it caught it and exited 0.
    assert!(status.success(), "{status:?}");
}
