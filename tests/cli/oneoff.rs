//! One-off processes: `run` (attached, exit status and stdin passed through) and `run:detached` (output in the logs), beside the app's processes.

use std::fs;
use std::io::{BufRead, BufReader, Read};
use std::process::Stdio;
use std::time::{Duration, Instant};

use crate::common::*;
use crate::launch::{body, local_app, ps_json, wait_for, write_web};

/// The `run.N` named on a `Running ...` line.
fn name_in(line: &str) -> String {
    let name = line.trim_end().rsplit(", ").next().unwrap().to_owned();
    assert!(name.starts_with("run."), "{line}");
    name
}

/// What is left in `apps/APP/oneoff/` (nothing, once every one-off ended).
fn leftovers(f: &Fixture, app: &str) -> Vec<String> {
    match fs::read_dir(f.app_dir(app).join("oneoff")) {
        Ok(entries) => entries
            .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
            .collect(),
        Err(_) => Vec::new(),
    }
}

/// A deployed web app with a config var and a `.profile.d` script; returns its guard and stable port.
fn deployed(f: &Fixture, app: &str) -> (crate::launch::Running, u16) {
    let (guard, work, port) = local_app(f, app, "");
    write_web(&work, "served");
    work.write(".profile.d/setup.sh", "export FROM_PROFILE=sourced\n");
    work.commit("web");
    work.push_ok(&["main"]);
    ok(f.slipway(&["config:set", "GREETING=hej", "-a", app]));
    (guard, port)
}

#[test]
fn run_streams_output_passes_stdin_and_exit_status_through_in_a_copy_of_the_release() {
    let f = Fixture::new();
    let (_guard, port) = deployed(&f, "oneoff");
    let out = f.slipway(&[
        "run",
        "-a",
        "oneoff",
        "--",
        "echo $DYNO $GREETING $FROM_PROFILE $SLIPWAY_RELEASE port=$PORT;",
        "pwd; cat body.txt; rm body.txt; exit 7",
    ]);
    assert_eq!(out.status.code(), Some(7), "{}", text(&out.stderr));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(
            "Running `echo $DYNO $GREETING $FROM_PROFILE $SLIPWAY_RELEASE port=$PORT; pwd; cat body.txt; rm body.txt; exit 7` on oneoff... up, run."
        ),
        "{stderr}"
    );
    let name = name_in(stderr.lines().next().unwrap());
    let stdout = text(&out.stdout);
    let lines: Vec<&str> = stdout.lines().collect();
    assert!(
        lines[0].starts_with(&format!("{name} hej sourced v2 port=")),
        "{stdout}"
    );
    assert!(lines[0].len() > format!("{name} hej sourced v2 port=").len());
    // Its own copy of the code: what it deletes, the running release still has.
    assert_eq!(
        lines[1],
        f.app_dir("oneoff")
            .join("oneoff")
            .join(&name)
            .join("app")
            .display()
            .to_string()
    );
    assert_eq!(lines[2], "served");
    assert!(body(port).starts_with("served hej"));
    assert_eq!(leftovers(&f, "oneoff"), Vec::<String>::new());
    let logs = ok(f.slipway(&["logs", "-a", "oneoff", "--ps", &name]));
    assert!(
        logs.contains(&format!(
            "slipway[{name}]: Starting process with command `echo $DYNO"
        )) && logs.contains(" by alice (v2)\n"),
        "{logs}"
    );
    assert!(
        logs.contains(&format!("slipway[{name}]: Process exited (exit 7)\n")),
        "{logs}"
    );

    // Standard input is passed through, and a signal's death is 128 + the signal.
    let out = f.slipway_with_input(
        &["run", "-a", "oneoff", "--", "tr", "a-z", "A-Z"],
        b"hello\n",
    );
    assert_eq!(text(&out.stdout), "HELLO\n");
    assert!(out.status.success());
    let out = f.slipway(&["run", "-a", "oneoff", "--", "kill -TERM $$"]);
    assert_eq!(out.status.code(), Some(143));

    // The app's processes were never touched.
    let ps = ps_json(&f, "oneoff");
    assert_eq!(ps.len(), 1, "{ps:?}");
    assert_eq!(ps[0]["name"], "web.1");

    // An attached one-off is listed while it runs, and ps:stop ends it and what it started.
    let mut child = f
        .cmd(&["run", "-a", "oneoff", "--", "sleep 60 & echo started; wait"])
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    let mut running = String::new();
    BufReader::new(child.stderr.take().unwrap())
        .read_line(&mut running)
        .unwrap();
    let name = name_in(&running);
    let mut started = String::new();
    let mut stdout = BufReader::new(child.stdout.take().unwrap());
    stdout.read_line(&mut started).unwrap();
    assert_eq!(started, "started\n");
    let ps = ps_json(&f, "oneoff");
    assert!(ps.iter().any(|p| p["name"] == name.as_str()), "{ps:?}");
    assert_eq!(
        ok(f.slipway(&["ps:stop", &name, "-a", "oneoff"])),
        format!("Stopping {name} process... done\n")
    );
    assert_eq!(child.wait().unwrap().code(), Some(143));
    // The background sleep went with it: nothing holds its output open.
    let mut rest = String::new();
    stdout.read_to_string(&mut rest).unwrap();
    assert_eq!(leftovers(&f, "oneoff"), Vec::<String>::new());
}

#[test]
fn run_detached_logs_its_output_shows_in_ps_and_stops_by_name() {
    let f = Fixture::new();
    let (_guard, _port) = deployed(&f, "bg");
    let out = ok(f.slipway(&[
        "run:detached",
        "-a",
        "bg",
        "--",
        "echo detached as $DYNO; exec sleep 60",
    ]));
    let lines: Vec<&str> = out.lines().collect();
    assert!(
        lines[0].starts_with("Running `echo detached as $DYNO; exec sleep 60` on bg... done, run."),
        "{out}"
    );
    let name = name_in(lines[0]);
    assert_eq!(
        lines[1],
        format!("Use `slipway logs -a bg --ps {name}` to view the output.")
    );
    wait_for(10, "its output in the logs", || {
        ok(f.slipway(&["logs", "-a", "bg", "--ps", &name]))
            .contains(&format!("app[{name}]: detached as {name}\n"))
    });
    let ps = ps_json(&f, "bg");
    let one_off = ps
        .iter()
        .find(|p| p["name"] == name.as_str())
        .unwrap_or_else(|| panic!("{ps:?}"));
    assert_eq!(one_off["state"], "up");
    assert_eq!(one_off["type"], "run");
    assert_eq!(one_off["command"], "echo detached as $DYNO; exec sleep 60");
    let table = ok(f.slipway(&["ps", "-a", "bg"]));
    assert!(table.contains(&format!("{name}  up")), "{table}");

    // A one-off is not restarted; stopping it ends it for good.
    let out = f.slipway(&["ps:restart", &name, "-a", "bg"]);
    assert_eq!(out.status.code(), Some(1));
    assert_eq!(
        text(&out.stderr),
        format!(
            "error: {name} is a one-off process: one-off processes are not restarted\n\
             help: `slipway ps:stop {name} -a bg` stops it; `slipway run -a bg -- COMMAND` starts another\n"
        )
    );
    let started = Instant::now();
    assert_eq!(
        ok(f.slipway(&["ps:stop", &name, "-a", "bg"])),
        format!("Stopping {name} process... done\n")
    );
    assert!(started.elapsed() < Duration::from_secs(8));
    assert!(ps_json(&f, "bg").iter().all(|p| p["name"] != name.as_str()));
    wait_for(10, "its runner to clean up", || {
        leftovers(&f, "bg").is_empty()
    });
    let logs = ok(f.slipway(&["logs", "-a", "bg", "--ps", &name]));
    // Under bubblewrap, which reports a signal's death as a shell does, it is "exit 143".
    assert!(
        logs.contains(&format!(
            "slipway[{name}]: Process exited (killed by signal 15)\n"
        )) || logs.contains(&format!("slipway[{name}]: Process exited (exit 143)\n")),
        "{logs}"
    );

    // ps:kill ends one at once.
    let out = ok(f.slipway(&["run:detached", "-a", "bg", "--", "trap '' TERM; sleep 60"]));
    let name = name_in(out.lines().next().unwrap());
    assert_eq!(
        ok(f.slipway(&["ps:kill", &name, "-a", "bg"])),
        format!("Killing {name} process... done\n")
    );
    wait_for(10, "its runner to clean up", || {
        leftovers(&f, "bg").is_empty()
    });

    // apps:destroy ends those still running.
    let out = ok(f.slipway(&["run:detached", "-a", "bg", "--json", "--", "exec sleep 60"]));
    let started: serde_json::Value = serde_json::from_str(&out).unwrap();
    assert_eq!(
        (&started["app"], &started["command"]),
        (&"bg".into(), &"exec sleep 60".into())
    );
    let name = started["name"].as_str().unwrap().to_owned();
    let pid = ps_json(&f, "bg")
        .iter()
        .find(|p| p["name"] == name.as_str())
        .and_then(|p| p["pid"].as_u64())
        .unwrap();
    ok(f.slipway(&["apps:destroy", "bg", "--confirm", "bg"]));
    wait_for(10, "the one-off to be gone", || {
        fs::read_to_string(format!("/proc/{pid}/stat")).map_or(true, |s| s.contains(") Z "))
    });
}

#[test]
fn run_without_a_release_says_to_deploy_first() {
    let f = Fixture::new();
    f.create_app("empty");
    for command in ["run", "run:detached"] {
        let out = f.slipway(&[command, "-a", "empty", "--", "true"]);
        assert_eq!(out.status.code(), Some(1));
        assert_eq!(
            text(&out.stderr),
            "error: app 'empty' has no current release to run\n\
             help: deploy first: `git push` to empty's repository\n"
        );
    }
    let out = f.slipway(&["run", "-a", "empty"]);
    assert_eq!(out.status.code(), Some(2), "a command is required");
}

#[test]
fn run_on_a_terminal_stays_in_its_foreground_and_reads_from_it() {
    if command("sh")
        .args(["-c", "command -v script"])
        .output()
        .map_or(true, |o| !o.status.success())
    {
        eprintln!("skipped: no `script` (util-linux) to give slipway a terminal");
        return;
    }
    let f = Fixture::new();
    let (_guard, _port) = deployed(&f, "tty");
    // `script` runs slipway on a new terminal and types our stdin into it; a
    // one-off outside the terminal's foreground would be stopped by its read.
    let line = format!(
        "{} --root {} run -a tty -- 'test -t 0 && echo on a terminal; read answer; echo got $answer'",
        SLIPWAY,
        f.root.display()
    );
    let mut child = command("script")
        .args(["-qec", &line, "/dev/null"])
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut stdin = child.stdin.take().unwrap();
    std::io::Write::write_all(&mut stdin, b"forty-two\n").unwrap();
    let deadline = Instant::now() + Duration::from_secs(30);
    while child.try_wait().unwrap().is_none() {
        if Instant::now() > deadline {
            let _ = child.kill();
            panic!("run on a terminal did not finish");
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    drop(stdin);
    let mut out = String::new();
    child
        .stdout
        .take()
        .unwrap()
        .read_to_string(&mut out)
        .unwrap();
    assert!(out.contains("on a terminal"), "{out:?}");
    assert!(out.contains("got forty-two"), "{out:?}");
}
