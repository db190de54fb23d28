//! `hooks:install`, `hooks:uninstall`, `hooks:status`: slipway's hooks in repositories it does not own.

use std::fs;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};

use crate::common::*;

/// A bare repository at `rel` under the fixture's temp dir, outside the root.
fn bare_repo(f: &Fixture, rel: &str) -> PathBuf {
    let repo = f.tmp.path().join(rel);
    fs::create_dir_all(&repo).unwrap();
    git(&repo, &["init", "-q", "--bare", "-b", "main"]);
    repo
}

/// `slipway hooks:install --git-dir REPO ARGS...`.
fn install(f: &Fixture, repo: &Path, args: &[&str]) -> std::process::Output {
    run(f.cmd(&["hooks:install", "--git-dir"]).arg(repo).args(args))
}

/// Writes an admin's hook with `mode`; returns its bytes.
fn admin_hook(path: &Path, script: &str, mode: u32) -> Vec<u8> {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, script).unwrap();
    fs::set_permissions(path, fs::Permissions::from_mode(mode)).unwrap();
    script.as_bytes().to_vec()
}

fn bytes_and_mode(path: &Path) -> (Vec<u8>, u32) {
    let mode = fs::symlink_metadata(path).unwrap().permissions().mode() & 0o7777;
    (fs::read(path).unwrap(), mode)
}

fn app_names(f: &Fixture) -> String {
    ok(f.slipway(&["apps"]))
}

#[test]
fn an_adopted_repository_outside_the_root_deploys_on_push() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/git/shop.git");
    let out = ok(install(&f, &repo, &[]));
    let shim = repo.join("hooks/post-receive");
    assert_eq!(
        out,
        format!(
            "Adopting {r} as app shop... done\nInstalled the post-receive hook: {}\nPushes to {r} now deploy shop.\n",
            shim.display(),
            r = repo.display()
        )
    );
    let settings = fs::read_to_string(f.app_dir("shop").join("app.yaml")).unwrap();
    assert!(
        settings.contains(&format!("\nrepo: {}\n", repo.display())),
        "{settings}"
    );
    assert!(!f.app_dir("shop").join("repo.git").exists());
    assert_eq!(bytes_and_mode(&shim).1, 0o755);

    let work = f.work_pushing_to(&repo, "w");
    work.write("index.html", "hi\n");
    let sha = work.commit("First");
    assert_eq!(
        work.push_ok(&["main"]),
        [
            format!("-----> Compiling {} (refs/heads/main)", &sha[..7]),
            NO_PROCESS_TYPES[0].to_owned(),
            NO_PROCESS_TYPES[1].to_owned(),
            "-----> Compressing... done, 1KB".to_owned(),
            "-----> Launching... done, v1".to_owned(),
        ]
    );
    let records = f.records("shop");
    assert_eq!(records.len(), 1);
    assert_eq!(records[0]["commit"], sha.as_str());
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
    let apps: serde_json::Value =
        serde_json::from_str(&ok(f.slipway(&["apps", "--json"]))).unwrap();
    assert_eq!(apps[0]["repo"], repo.to_str().unwrap());

    // Installing the same hook again changes nothing.
    let again = ok(install(&f, &repo, &[]));
    assert!(
        again.starts_with("The post-receive hook is already installed: "),
        "{again}"
    );

    // Uninstalling leaves no hook (there was none) and keeps the releases.
    let out = ok(f.slipway(&["hooks:uninstall", "--git-dir", repo.to_str().unwrap()]));
    assert_eq!(
        out,
        format!(
            "Removed {}\nPushes to {} no longer deploy shop; its releases are kept.\n",
            shim.display(),
            repo.display()
        )
    );
    assert!(!shim.exists());
    assert!(!f.app_dir("shop").join("hooks.json").exists());
    work.write("index.html", "two\n");
    work.commit("Second");
    assert_eq!(work.push_ok(&["main"]), Vec::<String>::new());
    assert_eq!(f.records("shop").len(), 1);
    assert_eq!(
        ok(f.slipway(&["hooks:status"])),
        "No repository has slipway's hook\n"
    );
}

#[test]
fn an_existing_hook_is_refused_without_chain_and_nothing_changes() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    let hook = repo.join("hooks/post-receive");
    let before = admin_hook(&hook, "#!/bin/sh\necho mail the team\n", 0o750);
    let out = install(&f, &repo, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {} already exists and is not slipway's hook\n\
             help: nothing was changed; --chain keeps it (moved to {}) and runs it before slipway\n",
            hook.display(),
            repo.join("hooks/pre-slipway/post-receive").display()
        )
    );
    assert_eq!(bytes_and_mode(&hook), (before, 0o750));
    assert!(!repo.join("hooks/pre-slipway").exists());
    assert_eq!(app_names(&f), "", "no app was created");

    // --force rewrites only slipway's own hook, never an admin's.
    let forced = install(&f, &repo, &["--force"]);
    assert_eq!(forced.status.code(), Some(1));
    assert_eq!(fs::read(&hook).unwrap(), b"#!/bin/sh\necho mail the team\n");
}

#[test]
fn a_chained_post_receive_runs_the_admin_hook_first_and_uninstall_restores_it() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    let hook = repo.join("hooks/post-receive");
    let script = "#!/bin/sh\n# the admin's notifier\nwhile read old new ref; do echo \"notify: $ref\"; done\n";
    let original = admin_hook(&hook, script, 0o754);
    let out = ok(install(&f, &repo, &["--chain"]));
    let aside = repo.join("hooks/pre-slipway/post-receive");
    assert!(
        out.contains(&format!(
            "The hook that was there runs first, from {}\n",
            aside.display()
        )),
        "{out}"
    );
    assert_eq!(bytes_and_mode(&aside), (original.clone(), 0o754));

    let work = f.work_pushing_to(&repo, "w");
    let sha = work.commit("First");
    assert_eq!(
        work.push_ok(&["main"]),
        [
            "notify: refs/heads/main".to_owned(),
            format!("-----> Compiling {} (refs/heads/main)", &sha[..7]),
            NO_PROCESS_TYPES[0].to_owned(),
            NO_PROCESS_TYPES[1].to_owned(),
            "-----> Compressing... done, 1KB".to_owned(),
            "-----> Launching... done, v1".to_owned(),
        ]
    );
    let status = ok(f.slipway(&["hooks:status"]));
    assert!(
        status.contains(&format!(
            "shop  post-receive (chained)  {}  ok\n",
            repo.display()
        )),
        "{status}"
    );

    let out = ok(f.slipway(&["hooks:uninstall", "--git-dir", repo.to_str().unwrap()]));
    assert!(
        out.starts_with(&format!(
            "Restored {}, the hook that was there before\n",
            hook.display()
        )),
        "{out}"
    );
    assert_eq!(bytes_and_mode(&hook), (original, 0o754));
    assert!(!repo.join("hooks/pre-slipway").exists());
    work.commit("Second");
    assert_eq!(work.push_ok(&["main"]), ["notify: refs/heads/main"]);
    assert_eq!(f.records("shop").len(), 1, "releases are kept, none added");
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
}

#[test]
fn a_chained_pre_receive_refusal_rejects_the_push_and_slipway_does_not_build() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    // The admin's policy: no WIP commits. It reads the pushed objects from git's quarantine too.
    let policy = "#!/bin/sh\nwhile read old new ref; do\n\
                  \tif git log -1 --format=%s \"$new\" | grep -q WIP; then echo 'policy: no WIP commits'; exit 1; fi\n\
                  done\necho 'policy: ok'\n";
    let pre = repo.join("hooks/pre-receive");
    admin_hook(&pre, policy, 0o755);
    ok(install(&f, &repo, &[]));
    ok(install(&f, &repo, &["--hook", "pre-receive", "--chain"]));

    let work = f.work_pushing_to(&repo, "w");
    work.write("a.txt", "a\n");
    work.commit("First");
    work.push_ok(&["main"]);
    let refs_before = git(&repo, &["for-each-ref"]);
    work.write("a.txt", "b\n");
    work.commit("WIP: half done");
    let out = work.push(&["main"]);
    assert!(!out.status.success());
    let stderr = text(&out.stderr);
    assert!(
        stderr.contains("! [remote rejected] main -> main (pre-receive hook declined)"),
        "{stderr}"
    );
    assert_eq!(remote_lines(&out.stderr), ["policy: no WIP commits"]);
    assert_eq!(git(&repo, &["for-each-ref"]), refs_before);
    assert_eq!(f.records("shop").len(), 1);
    assert_eq!(
        f.slug_files().len(),
        1,
        "the refused commit was not compiled"
    );

    git(&work.dir, &["reset", "-q", "--hard", "HEAD~1"]);
    work.write("a.txt", "c\n");
    let sha = work.commit("Done");
    let short = &sha[..7];
    assert_eq!(
        work.push_ok(&["main"]),
        [
            "policy: ok".to_owned(),
            format!("-----> Compiling {short} (refs/heads/main)"),
            "-----> Compressing... done, 1KB".to_owned(),
            format!("-----> Compiling {short} (refs/heads/main)"),
            NO_PROCESS_TYPES[0].to_owned(),
            NO_PROCESS_TYPES[1].to_owned(),
            "-----> Compressing... done, 1KB (reused)".to_owned(),
            "-----> Launching... done, v2".to_owned(),
        ]
    );
}

#[test]
fn slipways_pre_receive_rejects_a_push_that_does_not_compile() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    ok(install(&f, &repo, &[]));
    ok(install(&f, &repo, &["--hook", "pre-receive"]));
    let settings = f.app_dir("shop").join("app.yaml");
    let mut yaml = fs::read_to_string(&settings).unwrap();
    yaml.push_str("max_slug_size: 100KB\n");
    fs::write(&settings, yaml).unwrap();

    let work = f.work_pushing_to(&repo, "w");
    work.write("small.txt", "fits\n");
    work.commit("Small");
    work.push_ok(&["main"]);
    let refs_before = git(&repo, &["for-each-ref"]);
    let slugs_before = f.slug_files();
    work.write("big.bin", noise(7, 300 * 1024));
    let sha = work.commit("Big");
    let out = work.push(&["main"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("! [remote rejected] main -> main (pre-receive hook declined)"),
        "{}",
        text(&out.stderr)
    );
    let lines = remote_lines(&out.stderr);
    assert_eq!(
        lines.last().unwrap(),
        &format!(" !     Push rejected: {} does not compile", &sha[..7])
    );
    assert!(
        lines.contains(&" !     compiled slug is larger than the 100KB limit".to_owned()),
        "{lines:?}"
    );
    assert_eq!(git(&repo, &["for-each-ref"]), refs_before);
    assert_eq!(f.records("shop").len(), 1);
    assert_eq!(f.slug_files(), slugs_before);
}

#[test]
fn a_hooks_directory_gets_slipway_as_one_more_hook() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    // As GitLab does: every executable in custom_hooks/post-receive.d runs with the same input.
    admin_hook(
        &repo.join("hooks/post-receive"),
        "#!/bin/sh\ninput=$(cat)\nfor h in custom_hooks/post-receive.d/*; do\n\
         \tprintf '%s\\n' \"$input\" | \"$h\" || exit\ndone\n",
        0o755,
    );
    let notify = repo.join("custom_hooks/post-receive.d/10-notify");
    admin_hook(
        &notify,
        "#!/bin/sh\nwhile read old new ref; do echo \"notify: $ref\"; done\n",
        0o755,
    );
    let missing = install(&f, &repo, &["--hooks-dir", "/nonexistent/hooks"]);
    assert_eq!(
        text(&missing.stderr).lines().next().unwrap(),
        "error: hooks directory /nonexistent/hooks does not exist"
    );
    let custom = repo.join("custom_hooks");
    let out = ok(install(
        &f,
        &repo,
        &["--hooks-dir", custom.to_str().unwrap()],
    ));
    let ours = custom.join("post-receive.d/slipway");
    assert!(
        out.contains(&format!(
            "Installed the post-receive hook: {}\n",
            ours.display()
        )),
        "{out}"
    );

    let work = f.work_pushing_to(&repo, "w");
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines.first().unwrap(), "notify: refs/heads/main");
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
    let status = ok(f.slipway(&["hooks:status"]));
    assert!(status.contains("post-receive (post-receive.d)"), "{status}");

    ok(f.slipway(&["hooks:uninstall", "--git-dir", repo.to_str().unwrap()]));
    assert!(!ours.exists());
    assert!(notify.exists());
    work.commit("Second");
    assert_eq!(work.push_ok(&["main"]), ["notify: refs/heads/main"]);
    assert_eq!(f.records("shop").len(), 1);
}

#[test]
fn core_hooks_path_is_honoured_relative_to_the_repository() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    git(&repo, &["config", "core.hooksPath", "ci-hooks"]);
    let out = ok(install(&f, &repo, &[]));
    let hook = repo.join("ci-hooks/post-receive");
    assert!(
        out.contains(&format!(
            "Installed the post-receive hook: {}\n",
            hook.display()
        )),
        "{out}"
    );
    assert!(!repo.join("hooks/post-receive").exists());

    // The real git runs it from there: the push deploys.
    let work = f.work_pushing_to(&repo, "w");
    work.commit("First");
    assert_eq!(
        work.push_ok(&["main"]).last().unwrap(),
        "-----> Launching... done, v1"
    );

    ok(f.slipway(&["hooks:uninstall", "--git-dir", repo.to_str().unwrap()]));
    assert!(
        !repo.join("ci-hooks").exists(),
        "the directory slipway made is gone"
    );
}

#[test]
fn a_hooks_path_shared_by_two_repositories_deploys_only_its_app() {
    let f = Fixture::new();
    let shared = f.tmp.path().join("shared-hooks");
    let shop = bare_repo(&f, "srv/shop.git");
    let blog = bare_repo(&f, "srv/blog.git");
    for repo in [&shop, &blog] {
        git(
            repo,
            &["config", "core.hooksPath", shared.to_str().unwrap()],
        );
    }
    ok(install(&f, &shop, &[]));
    let refused = install(&f, &blog, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert_eq!(
        text(&refused.stderr).lines().next().unwrap(),
        format!(
            "error: {} is slipway's hook for app 'shop'",
            shared.join("post-receive").display()
        )
    );
    assert_eq!(app_names(&f), "shop\n");

    let work = f.work_pushing_to(&blog, "w");
    work.commit("Blog post");
    assert_eq!(
        work.push_ok(&["main"]),
        [format!(
            " !     slipway deploys 'shop' from {}, not from {}: nothing to do",
            shop.display(),
            blog.display()
        )]
    );
    assert!(f.records("shop").is_empty());
}

#[test]
fn destroying_an_adopted_app_keeps_the_repository_and_its_original_hook() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    let hook = repo.join("hooks/post-receive");
    let original = admin_hook(&hook, "#!/bin/sh\necho admin\n", 0o700);
    ok(install(&f, &repo, &["--chain"]));
    let work = f.work_pushing_to(&repo, "w");
    work.commit("First");
    work.push_ok(&["main"]);
    let refs = git(&repo, &["for-each-ref"]);

    let out = ok(f.slipway(&["apps:destroy", "shop", "--confirm", "shop"]));
    assert_eq!(
        out,
        format!(
            "Destroying shop... done\nKept {}: slipway's hooks were taken out and what was there put back\n",
            repo.display()
        )
    );
    assert!(!f.app_dir("shop").exists());
    assert_eq!(git(&repo, &["for-each-ref"]), refs);
    assert_eq!(bytes_and_mode(&hook), (original, 0o700));
    assert!(!repo.join("hooks/pre-slipway").exists());
}

#[test]
fn paths_with_spaces_and_quotes_work_for_root_repository_and_dispatcher() {
    let tmp = tempfile::tempdir().unwrap();
    let f = Fixture {
        root: tmp.path().join("my root"),
        tmp,
    };
    ok(f.slipway(&["init"]));
    let repo = bare_repo(&f, "ops's git/shop one.git");
    admin_hook(
        &repo.join("hooks/post-receive"),
        "#!/bin/sh\necho admin ran\n",
        0o755,
    );
    let bad = install(&f, &repo, &["--chain"]);
    assert_eq!(
        text(&bad.stderr),
        format!(
            "error: cannot name an app after the repository {}: only lowercase letters, digits and dashes are allowed\n\
             help: choose the app's name with --app NAME\n",
            repo.display()
        )
    );
    ok(install(&f, &repo, &["--chain", "--app", "shop"]));
    let work = f.work_pushing_to(&repo, "w");
    work.commit("First");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines.first().unwrap(), "admin ran");
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
    assert_eq!(f.current("shop").as_deref(), Some("v1"));
}

#[test]
fn a_stale_binary_is_reported_with_the_fix_and_install_force_fixes_it() {
    let f = Fixture::new();
    let repo = bare_repo(&f, "srv/shop.git");
    let old_bin = f.tmp.path().join("old bin");
    fs::create_dir_all(&old_bin).unwrap();
    let old = old_bin.join("slipway");
    fs::copy(SLIPWAY, &old).unwrap();
    ok(run(command(old.to_str().unwrap())
        .arg("--root")
        .arg(&f.root)
        .args(["hooks:install", "--git-dir"])
        .arg(&repo)));
    let status = ok(f.slipway(&["hooks:status"]));
    assert!(
        status.starts_with("App   Hook          Repository "),
        "{status}"
    );
    assert!(
        status.ends_with(&format!("\nshop  post-receive  {}  ok\n", repo.display())),
        "{status}"
    );
    fs::remove_file(&old).unwrap();

    let out = f.slipway(&["hooks:status"]);
    assert_eq!(out.status.code(), Some(1));
    let stdout = text(&out.stdout);
    assert!(
        stdout.contains(&format!(
            "stale: runs {}, which is missing\n",
            old.display()
        )),
        "{stdout}"
    );
    let fix = format!(
        "slipway --root {} hooks:install --force --git-dir {} --app shop",
        f.root.display(),
        repo.display()
    );
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: the post-receive hook of 'shop' in {} is stale: runs {}, which is missing\n\
             help: run `{fix}` to point it at this slipway\n",
            repo.display(),
            old.display()
        )
    );
    let json: serde_json::Value =
        serde_json::from_str(&text(&f.slipway(&["hooks:status", "--json"]).stdout)).unwrap();
    assert_eq!(json[0]["ok"], false);
    assert_eq!(json[0]["fix"], fix.as_str());

    // The push fails to deploy: git cannot run the missing binary.
    let work = f.work_pushing_to(&repo, "w");
    work.commit("First");
    work.push_ok(&["main"]);
    assert!(f.records("shop").is_empty());

    let refused = install(&f, &repo, &[]);
    assert_eq!(refused.status.code(), Some(1));
    assert!(text(&refused.stderr).contains("help: `slipway hooks:install --force` rewrites"));
    let args: Vec<&str> = fix.split(' ').skip(3).collect();
    assert_eq!(args[..2], ["hooks:install", "--force"]);
    let fixed = ok(f.slipway(&args));
    assert!(
        fixed.starts_with("Rewrote the post-receive hook: "),
        "{fixed}"
    );
    assert!(f.slipway(&["hooks:status"]).status.success());
    work.commit("Second");
    assert_eq!(
        work.push_ok(&["main"]).last().unwrap(),
        "-----> Launching... done, v1"
    );
}

#[test]
fn bad_install_requests_are_refused_and_change_nothing() {
    let f = Fixture::new();
    let missing = f.tmp.path().join("nope.git");
    let out = install(&f, &missing, &[]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {} is not a bare git repository: it does not exist\n\
             help: pass the repository that pushes go to (a bare repository, such as /srv/git/NAME.git)\n",
            missing.display()
        )
    );
    let checkout = f.tmp.path().join("checkout");
    fs::create_dir_all(&checkout).unwrap();
    git(&checkout, &["init", "-q"]);
    let out = install(&f, &checkout, &[]);
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        format!(
            "error: {} is not a bare git repository: it has a working tree",
            checkout.display()
        )
    );
    assert!(!checkout.join(".git/hooks/post-receive").exists());

    let repo = bare_repo(&f, "srv/shop.git");
    let out = install(&f, &repo, &["--app", "Shop"]);
    assert!(text(&out.stderr).starts_with("error: invalid app name 'Shop'"));
    ok(install(&f, &repo, &[]));
    let out = install(&f, &repo, &["--app", "other"]);
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        format!(
            "error: the repository {} already deploys app 'shop'",
            repo.display()
        )
    );
    let own = f.create_app("web");
    let out = install(&f, &own, &["--app", "shop"]);
    assert_eq!(
        text(&out.stderr).lines().next().unwrap(),
        format!(
            "error: the repository {} already deploys app 'web'",
            own.canonicalize().unwrap().display()
        )
    );
    assert_eq!(app_names(&f), "shop\nweb\n");
    assert!(!repo.join("hooks/pre-receive").exists());
    // An app's own repository is recognized, and its shim already is slipway's.
    let out = ok(install(&f, &own, &[]));
    assert!(
        out.starts_with("The post-receive hook is already installed: "),
        "{out}"
    );
}
