//! Hostile inputs that reach further than a parser: hard links in directory sources, duplicate tree entries, odd process types.

use std::fs;

use crate::common::*;

#[test]
fn a_directory_source_with_a_hard_link_is_refused_and_records_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    let src = f.tmp.path().join("src");
    fs::create_dir_all(src.join("sub")).unwrap();
    fs::write(src.join("index.html"), "hi\n").unwrap();
    // A second name for a file of the root's: the slug would carry the root's keys.
    let secret = f.root.join("slipway.yaml");
    fs::write(&secret, "# admin settings\n").unwrap();
    fs::hard_link(&secret, src.join("sub/keys")).unwrap();
    let refusal = "error: refusing 'sub/keys': it is a hard link (one of 2 names of the same file); copy the file instead\n\
                   help: sources may hold only regular files, directories and symlinks that stay inside them\n";

    let out = f.slipway(&["releases:create", src.to_str().unwrap(), "-a", "myapp"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(text(&out.stderr), refusal);
    assert!(f.records("myapp").is_empty());
    assert!(f.slug_files().is_empty());

    let slug = f.tmp.path().join("slug.tgz");
    let out = f.slipway(&[
        "slugs:compile",
        "--dir",
        src.to_str().unwrap(),
        "-o",
        slug.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert!(
        text(&out.stderr).ends_with(refusal),
        "{}",
        text(&out.stderr)
    );
    assert!(!slug.exists());

    // The same directory with a copy instead is fine.
    fs::remove_file(src.join("sub/keys")).unwrap();
    fs::copy(&secret, src.join("sub/keys")).unwrap();
    ok(f.slipway(&["releases:create", src.to_str().unwrap(), "-a", "myapp"]));
}

#[test]
fn every_launcher_refuses_the_same_bad_process_types() {
    use std::os::unix::fs::PermissionsExt;
    let f = Fixture::new();
    let hooks = f.root.join("hooks");
    fs::create_dir_all(&hooks).unwrap();
    let marker = f.tmp.path().join("hook-ran");
    let hook = hooks.join("launch");
    fs::write(&hook, format!("#!/bin/sh\ntouch {}\n", marker.display())).unwrap();
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    for (procfile, reason) in [
        (
            "web: ./serve\n../../x/y: ./evil\n",
            "Procfile line 2: process types are letters, digits, '_' and '-'",
        ),
        (
            "bad type!: ./evil\n",
            "Procfile line 1: process types are letters, digits, '_' and '-'",
        ),
    ] {
        for launcher in ["exec", "local"] {
            let app = format!("{launcher}{}", procfile.len());
            f.create_app(&app);
            f.deploy_after_push(&app);
            let settings = f.app_dir(&app).join("app.yaml");
            let mut yaml = fs::read_to_string(&settings).unwrap();
            yaml.push_str(&format!("launcher: {launcher}\n"));
            fs::write(&settings, yaml).unwrap();
            let work = f.work(&app, &format!("w-{app}"));
            work.write("Procfile", procfile);
            work.commit("odd types");
            let lines = remote_lines(&work.push(&["main"]).stderr);
            let failure = lines
                .iter()
                .find(|l| l.starts_with(" !     "))
                .unwrap_or_else(|| panic!("{launcher}: {lines:?}"))
                .clone();
            assert_eq!(
                failure,
                format!(" !     {reason}; nothing is live yet"),
                "{launcher}: {lines:?}"
            );
            assert_eq!(f.current(&app), None, "{launcher}");
        }
        assert!(!marker.exists(), "the launch hook ran for {procfile:?}");
    }
}

/// A commit in `work` whose tree holds `a` twice: a symlink, and a directory with a file in it.
fn duplicate_tree_commit(work: &Work) -> String {
    let sh = |script: &str| {
        let out = run(command("sh").current_dir(&work.dir).args(["-c", script]));
        assert!(out.status.success(), "{}", text(&out.stderr));
        text(&out.stdout).trim().to_owned()
    };
    sh("B=$(printf /etc | git hash-object -w --stdin) && \
        F=$(printf 'y\\n' | git hash-object -w --stdin) && \
        SUB=$(printf '100644 blob %s\\tpasswd\\n' $F | git mktree) && \
        T=$(printf '120000 blob %s\\ta\\n040000 tree %s\\ta\\n' $B $SUB | git mktree) && \
        git -c user.name=t -c user.email=t@example.com commit-tree -m dup $T")
}

#[test]
fn a_tree_with_a_name_twice_is_refused_by_git_and_by_the_slug_compiler() {
    let f = Fixture::new();
    let repo = f.create_app("myapp");
    assert_eq!(
        git(&repo, &["config", "receive.fsckObjects"]).trim(),
        "true"
    );
    let work = f.work("myapp", "w");
    let commit = duplicate_tree_commit(&work);
    git(&work.dir, &["update-ref", "refs/heads/main", &commit]);
    let out = work.push(&["main"]);
    assert!(!out.status.success());
    assert!(
        text(&out.stderr).contains("duplicateEntries"),
        "{}",
        text(&out.stderr)
    );
    assert!(f.records("myapp").is_empty());
    assert!(git(&repo, &["for-each-ref"]).is_empty(), "no ref moved");

    // A repository that does not check pushes keeps such a tree: the compiler refuses it.
    let slug = f.tmp.path().join("slug.tgz");
    let out = f.slipway(&[
        "slugs:compile",
        "main",
        "--git-dir",
        work.dir.join(".git").to_str().unwrap(),
        "-o",
        slug.to_str().unwrap(),
    ]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: tree entry 'a' cannot go in a slug: its tree holds this name twice\n"
    );
    assert!(!slug.exists());
}

#[test]
fn hooks_install_makes_an_adopted_repository_check_pushes() {
    let f = Fixture::new();
    let repo = f.tmp.path().join("shop.git");
    run(command("git").args(["init", "-q", "--bare"]).arg(&repo));
    ok(f.slipway(&["hooks:install", "--git-dir", repo.to_str().unwrap()]));
    assert_eq!(
        git(&repo, &["config", "receive.fsckObjects"]).trim(),
        "true"
    );
}
