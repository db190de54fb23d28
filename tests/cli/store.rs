//! Keeping the store healthy: prune, gc, fsck; and mixed concurrent changes.

use std::collections::HashSet;

use crate::common::*;

/// Three deploys of different content (three slugs) and a config change.
fn history(f: &Fixture, app: &str) -> Work {
    f.create_app(app);
    let work = f.work(app, &format!("w-{app}"));
    for n in 1..=3 {
        work.write("page.txt", format!("{app} page {n}\n"));
        work.commit(&format!("page {n}"));
        work.push_ok(&["main"]);
    }
    ok(f.slipway(&["config:set", "A=1", "-a", app]));
    work
}

#[test]
fn prune_drops_old_slugs_but_keeps_records_and_shared_slugs() {
    let f = Fixture::new();
    history(&f, "myapp");
    assert_eq!(f.slug_files().len(), 3);
    // Another app deploys the same tree as myapp's v1: that slug is shared.
    f.pushed("twin", &[("page.txt", "myapp page 1\n")]);
    assert_eq!(f.slug_files().len(), 3);

    let out = ok(f.slipway(&["releases:prune", "--keep", "2", "-a", "myapp"]));
    assert!(
        out.starts_with("Pruned the slugs of 2 releases of myapp; deleted 1 slug file ("),
        "{out}"
    );
    let records = f.records("myapp");
    assert_eq!(records.len(), 4, "records stay");
    assert_eq!(records[0]["slug"], serde_json::Value::Null);
    assert!(records[0]["pruned_slug"]["sha256"].is_string());
    assert_eq!(
        records[2]["slug"], records[3]["slug"],
        "the newest two keep theirs"
    );
    let remaining: HashSet<String> = f.slug_files().into_iter().collect();
    assert!(
        remaining.contains(&format!(
            "{}.tar.gz",
            records[0]["pruned_slug"]["sha256"].as_str().unwrap()
        )),
        "twin still uses v1's slug"
    );
    assert!(!remaining.contains(&format!(
        "{}.tar.gz",
        records[1]["pruned_slug"]["sha256"].as_str().unwrap()
    )));
    let refused = f.slipway(&["rollback", "v2", "-a", "myapp"]);
    assert!(text(&refused.stderr).starts_with("error: cannot roll back to v2: it has no slug"));
    assert!(ok(f.slipway(&["fsck"])).contains("myapp: ok"));
}

#[test]
fn prune_keeps_releases_a_rollback_can_go_to_not_failed_ones() {
    let f = Fixture::new();
    let work = f.deployed("myapp");
    work.write("page.txt", "two\n");
    work.commit("two");
    work.push_ok(&["main"]);
    work.write("Procfile", "release: exit 3\n");
    work.commit("a failing release phase");
    assert!(!work.push(&["main"]).status.success());
    work.write("Procfile", "");
    work.commit("fixed");
    work.push_ok(&["main"]);
    let status: Vec<_> = f
        .records("myapp")
        .iter()
        .map(|r| r["status"].clone())
        .collect();
    assert_eq!(status, ["succeeded", "succeeded", "failed", "succeeded"]);

    ok(f.slipway(&["releases:prune", "--keep", "2", "-a", "myapp"]));
    let records = f.records("myapp");
    assert!(
        records[1]["slug"].is_object(),
        "v2 is the newest before the live one"
    );
    assert_eq!(records[0]["slug"], serde_json::Value::Null);
    assert_eq!(
        records[2]["slug"],
        serde_json::Value::Null,
        "a failed release is no rollback target"
    );
    assert_eq!(
        ok(f.slipway(&["rollback", "-a", "myapp"])),
        "Rolled back to v2\n"
    );
}

#[test]
fn slugs_gc_deletes_only_unreferenced_slugs_and_their_tree_entries() {
    let f = Fixture::new();
    history(&f, "myapp");
    f.pushed("gone", &[("only-here.txt", "x\n")]);
    assert_eq!(f.slug_files().len(), 4);
    ok(f.slipway(&["apps:destroy", "gone", "--confirm", "gone"]));
    let out = ok(f.slipway(&["slugs:gc"]));
    assert!(
        out.starts_with("Deleted 1 unreferenced slug file ("),
        "{out}"
    );
    assert_eq!(f.slug_files().len(), 3);
    let by_tree = std::fs::read_dir(f.root.join("slugs/by-tree"))
        .unwrap()
        .count();
    assert_eq!(by_tree, 3);
    assert!(ok(f.slipway(&["slugs:gc"])).starts_with("Deleted 0 "));
}

#[test]
fn fsck_reports_each_problem_in_one_line() {
    let f = Fixture::new();
    history(&f, "myapp");
    history(&f, "clean");
    assert_eq!(
        ok(f.slipway(&["fsck", "-a", "myapp"])),
        "myapp: ok (4 releases, 3 slugs checked)\n"
    );
    let records = f.records("myapp");
    let releases = f.app_dir("myapp").join("releases");
    // A truncated record, a missing slug, a flipped byte, a dangling current.
    let v2 = std::fs::read(releases.join("v2.json")).unwrap();
    std::fs::write(releases.join("v2.json"), &v2[..v2.len() / 2]).unwrap();
    let v1_slug = f.root.join("slugs").join(format!(
        "{}.tar.gz",
        records[0]["slug"]["sha256"].as_str().unwrap()
    ));
    std::fs::remove_file(&v1_slug).unwrap();
    let v3_slug = f.root.join("slugs").join(format!(
        "{}.tar.gz",
        records[2]["slug"]["sha256"].as_str().unwrap()
    ));
    let mut bytes = std::fs::read(&v3_slug).unwrap();
    bytes[20] ^= 0x80;
    std::fs::write(&v3_slug, bytes).unwrap();
    std::fs::write(f.app_dir("myapp").join("current"), "v9\n").unwrap();

    let out = f.slipway(&["fsck"]);
    assert_eq!(out.status.code(), Some(1));
    let report = text(&out.stdout);
    let lines: Vec<&str> = report.lines().collect();
    assert_eq!(lines[0], "clean: ok (4 releases, 3 slugs checked)");
    let problems = &lines[1..];
    assert_eq!(problems.len(), 5, "{report}");
    assert!(
        problems[0].starts_with(&format!(
            "myapp: release record {} is corrupt: ",
            releases.join("v2.json").display()
        )),
        "{report}"
    );
    assert!(
        problems[1].starts_with("myapp: v1: slug ")
            && problems[1].ends_with(&format!(
                " is missing from {}",
                f.root.join("slugs").display()
            )),
        "{report}"
    );
    assert!(
        problems[2].starts_with(&format!("myapp: v3: slug {} is corrupt", v3_slug.display())),
        "{report}"
    );
    assert!(
        problems[3].starts_with(&format!("myapp: v4: slug {} is corrupt", v3_slug.display())),
        "{report}"
    );
    assert_eq!(
        problems[4],
        "myapp: current names v9, which has no readable record"
    );
}

#[test]
fn concurrent_config_changes_and_pushes_all_land_with_consecutive_versions() {
    let f = Fixture::new();
    f.create_app("myapp");
    let works = f.diverging_clones("myapp", 4);
    std::thread::scope(|s| {
        for (i, w) in works.iter().enumerate() {
            let f = &f;
            s.spawn(move || {
                ok(f.slipway(&["config:set", &format!("VAR{i}=value {i}"), "-a", "myapp"]));
            });
            s.spawn(move || w.push_retrying(&["--force", "main"]));
        }
    });
    let records = f.records("myapp");
    assert_consecutive_and_succeeded(&records);
    let configs = records.iter().filter(|r| r["kind"] == "config").count();
    assert_eq!(configs, 4, "every config:set made its release");
    let last = records.last().unwrap();
    for i in 0..4 {
        assert_eq!(
            last["config"][format!("VAR{i}")],
            format!("value {i}"),
            "nothing lost: {last}"
        );
    }
    let tip = git(&f.app_dir("myapp").join("repo.git"), &["rev-parse", "main"])
        .trim()
        .to_owned();
    assert_eq!(
        last["commit"],
        tip.as_str(),
        "the live release runs the branch tip"
    );
    assert_eq!(f.current("myapp"), Some(format!("v{}", records.len())));
}
