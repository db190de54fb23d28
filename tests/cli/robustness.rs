//! Concurrency, killed processes, full and read-only disks: nothing is lost or torn.

use std::collections::HashSet;
use std::path::Path;
use std::process::Command;
use std::time::{Duration, Instant};

use crate::common::*;

#[test]
fn concurrent_strict_pushes_get_distinct_consecutive_versions_and_the_last_push_wins() {
    let f = Fixture::new();
    f.create_app("myapp");
    let works = f.diverging_clones("myapp", 4);
    std::thread::scope(|s| {
        for w in &works {
            s.spawn(move || w.push_retrying(&["--force", "main"]));
        }
    });
    let records = f.records("myapp");
    assert!(!records.is_empty() && records.len() <= 4);
    assert_consecutive_and_succeeded(&records);
    let commits: HashSet<&str> = records
        .iter()
        .map(|r| r["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits.len(), records.len(), "no commit deployed twice");
    let tip = git(&f.app_dir("myapp").join("repo.git"), &["rev-parse", "main"])
        .trim()
        .to_owned();
    assert_eq!(records.last().unwrap()["commit"], tip.as_str());
    assert_eq!(f.current("myapp"), Some(format!("v{}", records.len())));
}

#[test]
fn concurrent_pushes_deployed_after_the_push_also_end_with_the_last_push_live() {
    let f = Fixture::new();
    f.create_app("myapp");
    f.deploy_after_push("myapp");
    let works = f.diverging_clones("myapp", 4);
    std::thread::scope(|s| {
        for w in &works {
            s.spawn(move || w.push_retrying(&["--force", "main"]));
        }
    });
    let records = f.records("myapp");
    assert!(!records.is_empty() && records.len() <= 4);
    assert_consecutive_and_succeeded(&records);
    let commits: HashSet<&str> = records
        .iter()
        .map(|r| r["commit"].as_str().unwrap())
        .collect();
    assert_eq!(commits.len(), records.len(), "no commit deployed twice");
    let tip = git(&f.app_dir("myapp").join("repo.git"), &["rev-parse", "main"])
        .trim()
        .to_owned();
    assert_eq!(records.last().unwrap()["commit"], tip.as_str());
    assert_eq!(f.current("myapp"), Some(format!("v{}", records.len())));
}

/// Pids of running `slipway ... hook post-receive` processes for this root.
fn hook_pids(root: &Path) -> Vec<i32> {
    let mut pids = Vec::new();
    for entry in std::fs::read_dir("/proc").unwrap().flatten() {
        let Ok(pid) = entry.file_name().to_string_lossy().parse::<i32>() else {
            continue;
        };
        let Ok(cmdline) = std::fs::read(entry.path().join("cmdline")) else {
            continue;
        };
        let args: Vec<&[u8]> = cmdline.split(|&b| b == 0).collect();
        let root = root.as_os_str().as_encoded_bytes();
        if args.contains(&&b"post-receive"[..]) && args.contains(&root) {
            pids.push(pid);
        }
    }
    pids
}

fn temp_files(dir: &Path) -> Vec<String> {
    std::fs::read_dir(dir)
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.starts_with(".tmp-"))
        .collect()
}

#[test]
fn a_hook_killed_mid_compile_leaves_a_failed_release_and_no_temp_files() {
    let f = Fixture::new();
    f.create_app("myapp");
    f.deploy_after_push("myapp");
    let work = f.work("myapp", "w");
    work.write("big.bin", noise(11, 96 << 20));
    work.commit("big");
    let mut push = command("git");
    let mut child = push
        .current_dir(&work.dir)
        .args(["push", "slipway", "main"])
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let slugs = f.root.join("slugs");
    let deadline = Instant::now() + Duration::from_secs(60);
    let killed = loop {
        assert!(
            Instant::now() < deadline,
            "the hook never started compiling"
        );
        if !temp_files(&slugs).is_empty() {
            let pids = hook_pids(&f.root);
            if let Some(&pid) = pids.first() {
                assert!(
                    run(Command::new("kill").args(["-KILL", &pid.to_string()]))
                        .status
                        .success()
                );
                break pid;
            }
        }
        if child.try_wait().unwrap().is_some() {
            panic!("the push finished before the hook could be killed");
        }
        std::thread::sleep(Duration::from_millis(2));
    };
    assert!(killed > 0);
    child.wait().unwrap();
    assert_eq!(f.records("myapp")[0]["status"], "pending");
    assert!(
        !temp_files(&slugs).is_empty(),
        "the killed compile left its temp file"
    );

    work.write("small.txt", "small\n");
    std::fs::remove_file(work.dir.join("big.bin")).unwrap();
    work.commit("small");
    let lines = work.push_ok(&["main"]);
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v2");
    let records = f.records("myapp");
    assert_eq!(records[0]["status"], "failed");
    assert_eq!(records[1]["status"], "succeeded");
    assert_eq!(f.current("myapp").as_deref(), Some("v2"));
    assert!(temp_files(&slugs).is_empty());
    assert!(temp_files(&f.app_dir("myapp").join("releases")).is_empty());
}

/// Runs `git push slipway main` in `work` with a small tmpfs mounted over the root's slugs/
/// (in a private mount namespace, so nothing outside this command sees it).
fn push_with_slugs_on_tmpfs(f: &Fixture, work: &Work, mount_options: &str) -> std::process::Output {
    let script = r#"set -e
mount -t tmpfs -o "$3" slipway-test "$1/slugs"
[ -w "$1/slugs" ] && mkdir -p "$1/slugs/by-tree" || true
cd "$2" && exec git push slipway main"#;
    // As root a mount namespace is enough; otherwise map ourselves to root in a user namespace.
    let unshare_flags = if run(Command::new("id").arg("-u")).stdout == b"0\n" {
        "-m"
    } else {
        "-rm"
    };
    run(command("unshare")
        .args([unshare_flags, "sh", "-c", script, "sh"])
        .arg(&f.root)
        .arg(&work.dir)
        .arg(mount_options))
}

#[test]
fn a_full_slug_directory_fails_the_deploy_and_keeps_the_live_release() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[("a.txt", "a\n")]).work;
    f.deploy_after_push("myapp");
    work.write("big.bin", noise(5, 2 << 20));
    work.commit("too big for the disk");
    let out = push_with_slugs_on_tmpfs(&f, &work, "size=256k");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.contains(&format!(
            " !     cannot write the slug in {}: No space left on device (os error 28); v1 is still live",
            f.root.join("slugs").display()
        )),
        "{lines:?}"
    );
    assert_eq!(
        lines[lines.len() - 2],
        " !     help: free some disk space and push again"
    );
    let records = f.records("myapp");
    assert_eq!(
        (records[0]["status"].as_str(), records[1]["status"].as_str()),
        (Some("succeeded"), Some("failed"))
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v1"));
    assert_eq!(
        f.slug_files().len(),
        1,
        "the real slugs/ still holds v1's slug only"
    );
}

#[test]
fn a_read_only_slug_directory_fails_the_deploy_and_keeps_the_live_release() {
    let f = Fixture::new();
    let work = f.pushed("myapp", &[]).work;
    f.deploy_after_push("myapp");
    work.write("b.txt", "b\n");
    work.commit("b");
    let out = push_with_slugs_on_tmpfs(&f, &work, "ro");
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = remote_lines(&out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with(" !     cannot write in ")
                && l.ends_with("Read-only file system (os error 30); v1 is still live")),
        "{lines:?}"
    );
    assert_eq!(f.current("myapp").as_deref(), Some("v1"));
    assert_eq!(f.records("myapp")[1]["status"], "failed");
}
