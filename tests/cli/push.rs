//! `git push` to an app: what the client sees, what is recorded.

use crate::common::*;

#[test]
fn first_push_prints_heroku_lines_and_records_v1() {
    let f = Fixture::new();
    let Pushed { sha, lines, .. } = f.pushed("myapp", &[("index.html", "hello\n")]);
    assert_eq!(
        lines,
        [
            format!("-----> Compiling {} (refs/heads/main)", &sha[..7]),
            NO_PROCESS_TYPES[0].to_owned(),
            NO_PROCESS_TYPES[1].to_owned(),
            "-----> Compressing... done, 1KB".to_owned(),
            "-----> Launching... done, v1".to_owned(),
        ]
    );
    let records = f.records("myapp");
    assert_eq!(records.len(), 1);
    let v1 = &records[0];
    assert_eq!(v1["version"], 1);
    assert_eq!(v1["description"], format!("Deploy {}", &sha[..7]));
    assert_eq!(v1["user"], "alice");
    assert_eq!(v1["commit"], sha.as_str());
    assert_eq!(v1["ref"], "refs/heads/main");
    assert_eq!(v1["status"], "succeeded");
    assert_eq!(v1["kind"], "deploy");
    assert_eq!(v1["created_at"], "2026-03-01T10:00:00Z");
    let slug = v1["slug"]["sha256"].as_str().unwrap();
    let slug_file = f.root.join("slugs").join(format!("{slug}.tar.gz"));
    assert_eq!(
        std::fs::metadata(&slug_file).unwrap().len(),
        v1["slug"]["size"].as_u64().unwrap()
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v1"));

    let table = ok(f
        .cmd(&["releases", "-a", "myapp"])
        .env("SLIPWAY_NOW", "2026-03-01T10:01:10Z")
        .output()
        .unwrap());
    assert_eq!(
        table,
        format!(
            "Rel  Change          By     When\nv1   Deploy {}  alice  1 minute ago\n",
            &sha[..7]
        )
    );
}

#[test]
fn second_push_makes_v2_and_json_marks_current() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[("a.txt", "one\n")]).work;
    work.write("a.txt", "two\n");
    let sha = work.commit("two");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v2");
    assert_eq!(
        f.records("myapp")[1]["description"],
        format!("Deploy {}", &sha[..7])
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));

    let json: serde_json::Value =
        serde_json::from_str(&ok(f.slipway(&["releases", "-a", "myapp", "--json"]))).unwrap();
    let items = json.as_array().unwrap();
    assert_eq!(items.len(), 2);
    assert_eq!(
        (items[0]["version"].as_u64(), items[0]["current"].as_bool()),
        (Some(2), Some(true))
    );
    assert_eq!(
        (items[1]["version"].as_u64(), items[1]["current"].as_bool()),
        (Some(1), Some(false))
    );

    let newest = ok(f.slipway(&["releases", "-a", "myapp", "-n", "1"]));
    assert_eq!(newest.lines().count(), 2, "{newest}");
}

#[test]
fn releases_beyond_a_week_show_a_local_timestamp() {
    let f = Fixture::new();
    f.pushed("myapp", &[]);
    let table = ok(f
        .cmd(&["releases", "-a", "myapp"])
        .env("SLIPWAY_NOW", "2026-03-20T10:00:00Z")
        .env("TZ", "America/Los_Angeles")
        .output()
        .unwrap());
    assert!(table.contains("2026-03-01 02:00:00 -0800"), "{table}");
}

#[test]
fn pushes_to_other_branches_and_tags_deploy_nothing() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.write("a.txt", "a\n");
    work.commit("a");
    git(&work.dir, &["tag", "v1.0"]);
    let lines = work.push_ok(&["main:feature", "v1.0"]);
    assert_eq!(
        lines,
        [
            "-----> Pushed refs/heads/feature: not deployed (only main deploys)",
            "-----> Pushed refs/tags/v1.0: not deployed (only main deploys)",
        ]
    );
    assert!(f.records("myapp").is_empty());
    assert_eq!(f.current("myapp"), None);
}

#[test]
fn deleting_a_branch_deploys_nothing_and_is_not_an_error() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[]).work;
    work.push_ok(&["main:old"]);
    let lines = work.push_ok(&[":old"]);
    assert_eq!(lines, ["-----> Deleted refs/heads/old: nothing to deploy"]);
    assert_eq!(f.records("myapp").len(), 1);
}

#[test]
fn master_deploys_when_there_is_no_main_and_deploy_branch_overrides() {
    let f = Fixture::new();
    f.create_app("legacy");
    let work = f.work("legacy", "w");
    work.commit("a");
    let lines = work.push_ok(&["main:master"]);
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");

    f.create_app("custom");
    std::fs::write(
        f.app_dir("custom").join("app.yaml"),
        "deploy_branch: production\nurl: https://custom.example.com/\n",
    )
    .unwrap();
    let work = f.work("custom", "w2");
    work.commit("a");
    let lines = work.push_ok(&["main"]);
    assert_eq!(
        lines,
        [
            "-----> Pushed refs/heads/main: not deployed (only production deploys)",
            "       To deploy it: git push slipway main:production"
        ]
    );
    let lines = work.push_ok(&["main:production"]);
    assert_eq!(
        &lines[lines.len() - 2..],
        [
            "-----> Launching... done, v1",
            "       https://custom.example.com/ deployed"
        ]
    );
}

#[test]
fn a_known_tree_reuses_its_slug_without_recompiling() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[("a.txt", "same tree\n")]).work;
    let slugs = f.slug_files();
    let slug_path = f.root.join("slugs").join(&slugs[0]);
    let before = std::fs::metadata(&slug_path).unwrap().modified().unwrap();

    // A new commit with the very same tree.
    let sha = work.commit("only the message changed");
    let lines = work.push_ok(&["main"]);
    assert_eq!(
        lines[0],
        format!("-----> Compiling {} (refs/heads/main)", &sha[..7])
    );
    assert_eq!(lines[1..3], NO_PROCESS_TYPES);
    assert_eq!(lines[3], "-----> Compressing... done, 1KB (reused)");
    assert_eq!(lines[4], "-----> Launching... done, v2");
    let records = f.records("myapp");
    assert_eq!(records[0]["slug"], records[1]["slug"]);
    assert_eq!(f.slug_files(), slugs);
    assert_eq!(
        std::fs::metadata(&slug_path).unwrap().modified().unwrap(),
        before
    );
}

#[test]
fn a_strict_push_that_fails_to_deploy_is_rejected_and_pushing_again_retries_it() {
    let f = Fixture::new();
    let work = f.pushed("strict", &[("small.txt", "small\n")]).work;
    let app_yaml = f.app_dir("strict").join("app.yaml");
    let yaml = std::fs::read_to_string(&app_yaml).unwrap();
    assert!(yaml.contains("deploy_on: pre-receive"), "{yaml}");
    std::fs::write(&app_yaml, format!("{yaml}max_slug_size: 64KB\n")).unwrap();
    let refs_before = git(&f.app_dir("strict").join("repo.git"), &["for-each-ref"]);
    work.write("big.bin", noise(1, 200_000));
    work.commit("big");
    let out = work.push(&["main"]);
    assert!(!out.status.success(), "the push is rejected");
    let lines = remote_lines(&out.stderr);
    assert_eq!(
        &lines[lines.len() - 3..],
        [
            " !     compiled slug is larger than the 64KB limit; v1 is still live",
            " !     help: add large files that the app does not need at run time to .slugignore, or raise max_slug_size in app.yaml",
            " !     help: the branch did not move: pushing the same commit again retries it (after a fix outside the code)"
        ]
    );
    assert_eq!(
        git(&f.app_dir("strict").join("repo.git"), &["for-each-ref"]),
        refs_before
    );
    // After the fix outside the code, the same push goes through.
    std::fs::write(&app_yaml, yaml).unwrap();
    let lines = work.push_ok(&["main"]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-----> Launching... done, v3")),
        "{lines:?}"
    );
}

#[test]
fn a_rejected_push_saves_the_output_it_printed() {
    let f = Fixture::new();
    let work = f.deployed("strict");
    work.write("Procfile", "release: echo migrating; exit 3\n");
    work.commit("A failing release phase");
    let out = work.push(&["main"]);
    assert!(!out.status.success(), "the push is rejected");
    let printed = remote_lines(&out.stderr);
    let retry = " !     help: `slipway logs -a strict` shows what it printed; the branch did not move: pushing the same commit again retries it (after a fix outside the code)";
    assert_eq!(
        printed.last().map(String::as_str),
        Some(retry),
        "{printed:?}"
    );
    assert_eq!(f.records("strict")[1]["status"], "failed");
    let saved = ok(f.slipway(&["releases:output", "v2", "-a", "strict"]));
    assert!(saved.contains("       migrating\n"), "{saved}");
    assert_eq!(saved.lines().last(), Some(retry), "{saved}");
}

#[test]
fn a_push_with_a_broken_procfile_is_rejected_with_its_line_and_the_fix_in_the_code() {
    let f = Fixture::new();
    let work = f.deployed("strict");
    work.write(
        "Procfile",
        "web: python3 -m http.server $PORT\nthis is bad\n",
    );
    work.commit("A broken Procfile");
    let out = work.push(&["main"]);
    assert!(!out.status.success(), "the push is rejected");
    let lines = remote_lines(&out.stderr);
    assert!(
        !lines.iter().any(|l| l.contains("No Procfile")),
        "there is a Procfile: {lines:?}"
    );
    assert_eq!(
        &lines[lines.len() - 2..],
        [
            " !     Procfile line 2: 'this is bad' is not `type: command`; v1 is still live",
            " !     help: fix the Procfile, commit and push",
        ]
    );
    assert_eq!(f.current("strict").as_deref(), Some("v1"));
}

#[test]
fn an_oversized_slug_fails_the_deploy_and_keeps_the_live_release() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[("small.txt", "small\n")]).work;
    std::fs::write(f.app_dir("myapp").join("app.yaml"), "max_slug_size: 64KB\n").unwrap();
    work.write("big.bin", noise(1, 200_000));
    work.commit("big");
    let out = work.push(&["main"]);
    assert!(
        out.status.success(),
        "refs move even though the deploy fails"
    );
    let lines = remote_lines(&out.stderr);
    assert_eq!(
        &lines[lines.len() - 3..],
        [
            " !     compiled slug is larger than the 64KB limit; v1 is still live",
            " !     help: add large files that the app does not need at run time to .slugignore, or raise max_slug_size in app.yaml",
            " !     help: `slipway deploy -a myapp` deploys the same commit again (after a fix outside the code)"
        ]
    );
    let records = f.records("myapp");
    assert_eq!(records[1]["status"], "failed");
    assert_eq!(f.current("myapp").as_deref(), Some("v1"));
    assert_eq!(f.slug_files().len(), 1, "the oversized slug is not kept");
    let table = ok(f.slipway(&["releases", "-a", "myapp"]));
    assert!(
        table.lines().nth(1).unwrap().contains("(failed)"),
        "{table}"
    );
    let log = std::fs::read_to_string(f.app_dir("myapp").join("logs/v2.log")).unwrap();
    assert!(
        log.contains("larger than the 64KB limit; v1 is still live"),
        "{log}"
    );
}

#[test]
fn commit_messages_and_user_names_are_escaped_in_tables() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    work.commit("x");
    let out = run(command("git")
        .current_dir(&work.dir)
        .args(["push", "slipway", "main"])
        .env("SLIPWAY_USER", "mallory\x1b[2J"));
    assert!(out.status.success());
    let table = ok(f.slipway(&["releases", "-a", "myapp"]));
    assert!(table.contains("mallory\\x1b[2J"), "{table}");
    assert!(!table.contains('\x1b'));
}

#[test]
fn a_long_compile_shows_progress_with_carriage_returns_only() {
    let f = Fixture::new();
    f.create_app("myapp");
    let work = f.work("myapp", "w");
    // Text compresses slowly enough (tens of MB) for the progress line to be drawn.
    let text: String = (0..600_000)
        .map(|i: u64| format!("line {i}: the quick brown fox {} jumps\n", i * 7919 % 10007))
        .collect();
    for n in 0..2 {
        work.write(&format!("log{n}.txt"), &text);
    }
    work.commit("big text");
    let out = work.push(&["main"]);
    assert!(out.status.success());
    let raw = text_of(&out.stderr);
    let progress: Vec<&str> = raw
        .split(['\r', '\n'])
        .filter_map(|seg| seg.strip_prefix("remote: -----> Compressing... "))
        .map(str::trim_end)
        .collect();
    assert!(progress.len() >= 2, "{raw:?}");
    assert!(
        progress[..progress.len() - 1]
            .iter()
            .all(|p| p.ends_with('%')),
        "{progress:?}"
    );
    assert!(
        progress.last().unwrap().starts_with("done, "),
        "{progress:?}"
    );
    assert!(
        !raw.contains("\x1b"),
        "no cursor movement or other escape sequences"
    );
}

fn text_of(bytes: &[u8]) -> String {
    String::from_utf8_lossy(bytes).into_owned()
}
