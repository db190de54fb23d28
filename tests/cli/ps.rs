//! One process at a time: `ps:restart web.1`, `ps:stop web.1`, `ps:kill worker`, `logs --ps TYPE[.N]`, and `ps:scale` refusing sizes.

use std::collections::BTreeMap;

use crate::common::*;
use crate::launch::{body, local_app, ps_json, wait_for, write_web};

/// `name -> (pid, state)` of every process `ps` shows.
fn ps_map(f: &Fixture, app: &str) -> BTreeMap<String, (Option<u64>, String)> {
    ps_json(f, app)
        .iter()
        .map(|p| {
            (
                p["name"].as_str().unwrap().to_owned(),
                (p["pid"].as_u64(), p["state"].as_str().unwrap().to_owned()),
            )
        })
        .collect()
}

fn all_up(ps: &BTreeMap<String, (Option<u64>, String)>, names: &[&str]) -> bool {
    ps.keys().map(String::as_str).eq(names.iter().copied()) && ps.values().all(|(_, s)| s == "up")
}

#[test]
fn one_process_is_restarted_stopped_or_killed_by_name_and_logs_show_one_process() {
    let f = Fixture::new();
    let (_guard, work, port) = local_app(&f, "procs", "");
    write_web(&work, "hi");
    work.write(
        "Procfile",
        "web: exec python3 server.py\nworker: echo working as $DYNO; exec sleep 60\n",
    );
    work.commit("web and worker");
    work.push_ok(&["main"]);
    ok(f.slipway(&["ps:scale", "web=2", "-a", "procs"]));
    wait_for(10, "two web processes and a worker up", || {
        all_up(&ps_map(&f, "procs"), &["web.1", "web.2", "worker.1"])
    });
    let before = ps_map(&f, "procs");

    // One process restarts in place; the others keep their pids.
    assert_eq!(
        ok(f.slipway(&["ps:restart", "web.1", "-a", "procs"])),
        "Restarting web.1 process... done\n"
    );
    wait_for(10, "web.1 back up with a new pid", || {
        let ps = ps_map(&f, "procs");
        all_up(&ps, &["web.1", "web.2", "worker.1"]) && ps["web.1"].0 != before["web.1"].0
    });
    let ps = ps_map(&f, "procs");
    assert_eq!(
        (&ps["web.2"], &ps["worker.1"]),
        (&before["web.2"], &before["worker.1"])
    );

    // Stopped: gone when the command returns, and it stays gone; the other web process serves.
    assert_eq!(
        ok(f.slipway(&["ps:stop", "web.2", "-a", "procs"])),
        "Stopping web.2 process... done\n(`slipway ps:restart web.2 -a procs`, a scale or a deploy starts it again)\n"
    );
    assert_eq!(
        ps_map(&f, "procs").keys().collect::<Vec<_>>(),
        ["web.1", "worker.1"]
    );
    for _ in 0..4 {
        assert!(body(port).starts_with("hi"));
    }

    // Killed: SIGKILL at once.
    assert_eq!(
        ok(f.slipway(&["ps:kill", "worker", "-a", "procs"])),
        "Killing worker processes... done\n(`slipway ps:restart worker -a procs`, a scale or a deploy starts them again)\n"
    );
    assert_eq!(ps_map(&f, "procs").keys().collect::<Vec<_>>(), ["web.1"]);
    let logs = ok(f.slipway(&["logs", "-a", "procs", "--ps", "worker"]));
    assert!(
        logs.contains("slipway[worker.1]: Stopping process with SIGKILL\n"),
        "{logs}"
    );
    assert!(
        logs.contains("slipway[worker.1]: Process exited (killed by signal 9)\n"),
        "{logs}"
    );
    assert!(
        logs.contains("app[worker.1]: working as worker.1\n"),
        "{logs}"
    );
    assert!(logs.lines().all(|l| l.contains("[worker.1]: ")), "{logs}");
    let out = f.slipway(&["ps:stop", "worker.1", "-a", "procs"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: procs: no worker.1 process is running\nhelp: `slipway ps -a procs` lists its processes\n"
    );

    // Restarting by name starts it again.
    assert_eq!(
        ok(f.slipway(&["ps:restart", "web.2", "-a", "procs"])),
        "Restarting web.2 process... done\n"
    );
    wait_for(10, "web.2 back", || {
        all_up(&ps_map(&f, "procs"), &["web.1", "web.2"])
    });

    // Each spelling of the filter, and only that process's lines.
    for flag in ["--ps", "-p", "--dyno", "-d"] {
        let logs = ok(f.slipway(&["logs", "-a", "procs", flag, "web.1", "-n", "1000"]));
        assert!(
            logs.contains("slipway[web.1]: Stopping process with SIGTERM\n"),
            "{flag}: {logs}"
        );
        assert!(
            logs.lines()
                .all(|l| l.contains(" app[web.1]: ") || l.contains(" slipway[web.1]: ")),
            "{flag}: {logs}"
        );
    }
    let out = f.slipway(&["logs", "-a", "procs", "--ps", "web.x"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        "error: invalid process 'web.x': the number after the dot counts from 1, as in web.1\n"
    );
}

#[test]
fn scaling_with_a_process_size_is_refused_with_a_clear_line() {
    let f = Fixture::new();
    f.create_app("sized");
    for arg in ["web=1:standard-2x", "web:performance-m"] {
        let out = f.slipway(&["ps:scale", arg, "-a", "sized"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            text(&out.stderr),
            format!(
                "error: invalid scale '{arg}': slipway has no process sizes: every process runs on this host as it is (scale with TYPE=N only)\n\
                 help: scale as `slipway ps:scale web=2 worker=1 -a APP`\n"
            )
        );
    }
    assert!(!f.app_dir("sized").join("formation.json").exists());
}

#[test]
fn scaling_before_the_first_deploy_says_it_applies_from_then() {
    let f = Fixture::new();
    f.create_app("empty");
    assert_eq!(
        ok(f.slipway(&["ps:scale", "-a", "empty"])),
        "no process types: nothing is deployed yet\n"
    );
    assert_eq!(
        ok(f.slipway(&["ps:scale", "web=2", "-a", "empty"])),
        "Scaling processes... done, web at 2 from the first deploy\n"
    );
    assert!(ps_json(&f, "empty").is_empty(), "nothing runs");
}
