#![allow(clippy::unwrap_used)]

use std::fs;
use std::io::{BufRead, BufReader};
use std::os::unix::fs::{MetadataExt, PermissionsExt};
use std::time::Duration;

use std::os::unix::process::CommandExt;
use std::process::Stdio;

use super::*;
use crate::base::process::Job;

/// Who the sandbox runs as in these tests: `nobody` as root, as slipway would.
fn test_user() -> Option<Identity> {
    sys::is_superuser().then(|| Identity::lookup("nobody").unwrap())
}

/// A working bubblewrap; `None` (with the reason on stderr) outside CI when there is none. Under CI it must be there.
fn bwrap(root: &Path, hide: &[PathBuf]) -> Option<Bwrap> {
    match Bwrap::find(root, hide, &[], test_user()) {
        Ok(bwrap) => Some(bwrap),
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: {e} (install bubblewrap to run this test)");
            None
        }
        Err(e) => panic!("CI needs a working bubblewrap: {e}"),
    }
}

/// A temp directory the sandbox user may search (as /var/lib is), not list.
fn searchable_tempdir() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o711)).unwrap();
    tmp
}

fn run(sandbox: &Sandbox, dir: &Path, script: &str, spec: &Spec) -> Vec<String> {
    let mut lines = Vec::new();
    let finished = Job::new("/bin/sh")
        .args(["-c", script])
        .current_dir(dir)
        .env("GREETING", "hello")
        .env("PATH", "/usr/bin:/bin")
        .timeout(Duration::from_secs(30))
        .sandboxed(sandbox, spec)
        .unwrap()
        .run(&mut |_, line| lines.push(line))
        .unwrap();
    assert!(finished.success(), "{finished:?}: {lines:?}");
    lines
}

#[test]
fn a_sandbox_sees_the_system_read_only_and_of_the_root_only_what_it_binds() {
    let tmp = searchable_tempdir();
    let root = tmp.path().join("root");
    let app = root.join("apps/a/run/v1/app");
    fs::create_dir_all(&app).unwrap();
    fs::create_dir_all(root.join("apps/b")).unwrap();
    fs::write(root.join("keys.json"), "secret keys").unwrap();
    fs::write(root.join("apps/b/secret"), "b's secret").unwrap();
    let home = tmp.path().join("home");
    fs::create_dir(&home).unwrap();
    fs::write(home.join("id_ed25519"), "private key").unwrap();
    let Some(bwrap) = bwrap(&root, std::slice::from_ref(&home)) else {
        return;
    };
    let sandbox = Sandbox::Bwrap(bwrap);
    let spec = Spec {
        write: vec![app.clone()],
        read: Vec::new(),
        new_session: true,
    };
    let script = format!(
        "echo \"greeting=$GREETING\"; \
         cat {root}/keys.json 2>/dev/null || echo keys: hidden; \
         cat {root}/apps/b/secret 2>/dev/null || echo other app: hidden; \
         echo \"root holds: $(ls -A {root})\"; \
         echo \"apps holds: $(ls -A {root}/apps)\"; \
         touch {root}/new 2>/dev/null || echo root: read-only; \
         cat {home}/id_ed25519 2>/dev/null || echo home: hidden; \
         touch /etc/sandbox-test 2>/dev/null || echo system: read-only; \
         echo \"tmp holds: $(ls -A /tmp | grep -v '^{tmpname}$')\"; \
         echo written > out && echo app dir: writable; \
         echo \"pid: $$\"",
        root = root.display(),
        home = home.display(),
        tmpname = tmp.path().file_name().unwrap().to_string_lossy(),
    );
    let lines = run(&sandbox, &app, &script, &spec);
    assert_eq!(
        lines,
        [
            "greeting=hello",
            "keys: hidden",
            "other app: hidden",
            "root holds: apps",
            "apps holds: a",
            "root: read-only",
            "home: hidden",
            "system: read-only",
            "tmp holds: ",
            "app dir: writable",
            // The command's own pid namespace: bwrap's init is 1.
            "pid: 2",
        ]
    );
    let out = app.join("out");
    assert_eq!(fs::read_to_string(&out).unwrap(), "written\n");
    if let Some(user) = test_user() {
        assert_eq!(fs::metadata(&out).unwrap().uid(), user.uid);
        assert_eq!(fs::metadata(&app).unwrap().uid(), user.uid);
        // The way to it is left as it was.
        assert_eq!(fs::metadata(tmp.path()).unwrap().mode() & 0o777, 0o711);
    }
}

#[test]
fn the_environment_reaches_the_command_and_never_bwrap() {
    let tmp = searchable_tempdir();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("app")).unwrap();
    let Some(bwrap) = bwrap(&root, &[]) else {
        return;
    };
    let sandbox = Sandbox::Bwrap(bwrap);
    let spec = Spec {
        write: vec![root.join("app")],
        ..Spec::default()
    };
    // A preload that bwrap itself would choke on; the command gets it as a plain variable.
    let lines = {
        let mut lines = Vec::new();
        let finished = Job::new("/bin/sh")
            .args(["-c", "printf '%s\\n' \"<$TRICKY>\"; echo \"[$LD_PRELOAD]\""])
            .current_dir(root.join("app"))
            .env("TRICKY", "it's \"quoted\" $HOME `id`\\\nline 2")
            .env("LD_PRELOAD", "/nonexistent/evil.so")
            .sandboxed(&sandbox, &spec)
            .unwrap()
            .run(&mut |_, line| lines.push(line))
            .unwrap();
        assert!(finished.success(), "{lines:?}");
        lines
    };
    assert_eq!(
        lines.last().map(String::as_str),
        Some("[/nonexistent/evil.so]")
    );
    // Every byte of a value arrives as it was set.
    let tricky = lines.iter().position(|l| l.starts_with('<')).unwrap();
    assert_eq!(
        lines[tricky..tricky + 2],
        ["<it's \"quoted\" $HOME `id`\\", "line 2>"]
    );
    // The dynamic loader complains once, in the sandboxed shell: bwrap never loaded it.
    let complaints = lines
        .iter()
        .filter(|l| l.contains("cannot be preloaded"))
        .count();
    assert_eq!(complaints, 1, "{lines:?}");
}

#[test]
fn as_root_a_root_under_a_closed_directory_is_reached_by_the_sandbox_user_and_nothing_there_changes()
 {
    if !sys::is_superuser() {
        eprintln!("skipped: only root drops to a sandbox user");
        return;
    }
    // As /root is: closed to every other user.
    let tmp = tempfile::tempdir().unwrap();
    fs::set_permissions(tmp.path(), fs::Permissions::from_mode(0o700)).unwrap();
    fs::write(tmp.path().join("secret"), "root's\n").unwrap();
    let root = tmp.path().join("srv/root");
    let app = root.join("apps/a/run/v1/app");
    fs::create_dir_all(&app).unwrap();
    fs::write(app.join("index.html"), "hi\n").unwrap();
    let Some(bwrap) = bwrap(&root, &[]) else {
        return;
    };
    let user = bwrap.user().unwrap().clone();
    let lines = run(
        &Sandbox::Bwrap(bwrap),
        &app,
        &format!(
            "id -u; cat {app}/index.html; echo made > {app}/new; ls -A {top}; cat {top}/secret 2>&1 || echo no secret",
            app = app.display(),
            top = tmp.path().display()
        ),
        &Spec::release(&app),
    );
    assert_eq!(lines[0], user.uid.to_string(), "{lines:?}");
    assert_eq!(lines[1], "hi");
    // The closed directory is an empty one inside: only the way to the app.
    assert_eq!(lines[2], "srv", "{lines:?}");
    assert!(lines[3].contains("No such file"), "{lines:?}");
    assert_eq!(lines.last().unwrap(), "no secret");
    assert_eq!(fs::read_to_string(app.join("new")).unwrap(), "made\n");
    let mode = fs::metadata(tmp.path()).unwrap().permissions().mode();
    assert_eq!(mode & 0o777, 0o700, "the host's directory is left closed");
}

#[test]
fn a_binary_revealed_from_the_hosts_tmp_runs_in_the_sandboxs_own_tmp() {
    let tmp = searchable_tempdir();
    assert!(tmp.path().starts_with("/tmp"), "{}", tmp.path().display());
    let root = tmp.path().join("root");
    let app = root.join("app");
    fs::create_dir_all(&app).unwrap();
    let tool = tmp.path().join("bin/slipway");
    fs::create_dir_all(tool.parent().unwrap()).unwrap();
    fs::write(&tool, "#!/bin/sh\necho tool ran\n").unwrap();
    fs::set_permissions(&tool, fs::Permissions::from_mode(0o755)).unwrap();
    let bwrap = match Bwrap::find(&root, &[], std::slice::from_ref(&tool), test_user()) {
        Ok(bwrap) => bwrap,
        Err(e) if std::env::var_os("CI").is_none() => {
            eprintln!("skipped: {e}");
            return;
        }
        Err(e) => panic!("CI needs a working bubblewrap: {e}"),
    };
    let lines = run(
        &Sandbox::Bwrap(bwrap),
        &app,
        &format!("{}; ls /tmp | grep -c . || true", tool.display()),
        &Spec::release(&app),
    );
    assert_eq!(lines[0], "tool ran", "{lines:?}");
}

#[test]
fn a_value_holding_a_nul_is_refused_before_anything_runs() {
    let tmp = tempfile::tempdir().unwrap();
    let sandbox = Sandbox::Bwrap(Bwrap {
        program: PathBuf::from("/nonexistent/bwrap"),
        mode: Mode::Unprivileged { locked: true },
        root: tmp.path().to_path_buf(),
        hide: Vec::new(),
        reveal: Vec::new(),
    });
    let mut cmd = Command::new("/bin/sh");
    cmd.current_dir(tmp.path()).env("SNEAKY", "x\0--bind\0/\0/");
    let err = sandbox.wrap(cmd, &Spec::default()).unwrap_err();
    assert!(matches!(err, SandboxError::Nul), "{err}");
}

#[test]
fn a_term_reaches_the_sandboxed_command_which_may_finish_its_work() {
    let tmp = searchable_tempdir();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("app")).unwrap();
    let Some(bwrap) = bwrap(&root, &[]) else {
        return;
    };
    let sandbox = Sandbox::Bwrap(bwrap);
    let spec = Spec {
        write: vec![root.join("app")],
        read: Vec::new(),
        // As the supervisor runs processes: its session, a group of their own.
        new_session: false,
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.args([
        "-c",
        "trap 'sleep 0.3; echo drained; exit 7' TERM; echo ready; while :; do sleep 0.05; done",
    ])
    .current_dir(root.join("app"));
    let wrapped = sandbox.wrap(cmd, &spec).unwrap();
    let mut cmd = wrapped.command;
    let mut child = cmd
        .stdin(Stdio::null())
        .stdout(Stdio::piped())
        .process_group(0)
        .spawn()
        .unwrap();
    drop(wrapped.args);
    let mut out = BufReader::new(child.stdout.take().unwrap());
    let mut line = String::new();
    out.read_line(&mut line).unwrap();
    assert_eq!(line, "ready\n");
    signal_group(child.id(), Signal::TERM);
    let status = child.wait().unwrap();
    line.clear();
    out.read_line(&mut line).unwrap();
    assert_eq!((line.as_str(), status.code()), ("drained\n", Some(7)));
}

#[test]
fn handing_over_never_follows_a_symlink() {
    let Some(user) = test_user() else {
        eprintln!("skipped: only root can hand files over");
        return;
    };
    let tmp = tempfile::tempdir().unwrap();
    let outside = tmp.path().join("outside");
    fs::write(&outside, "root's").unwrap();
    let dir = tmp.path().join("dir");
    fs::create_dir_all(dir.join("sub/deeper")).unwrap();
    fs::write(dir.join("sub/deeper/file"), "x").unwrap();
    std::os::unix::fs::symlink(&outside, dir.join("sub/link")).unwrap();
    hand_over(&dir, &user).unwrap();
    for path in ["", "sub", "sub/deeper", "sub/deeper/file", "sub/link"] {
        let meta = fs::symlink_metadata(dir.join(path)).unwrap();
        assert_eq!((meta.uid(), meta.gid()), (user.uid, user.gid), "{path}");
    }
    assert_eq!(fs::metadata(&outside).unwrap().uid(), 0);
}

#[test]
fn users_are_names_or_numbers() {
    assert!(matches!(
        Identity::lookup("root"),
        Err(SandboxError::RootUser { .. })
    ));
    assert!(Identity::lookup("0:0").is_err());
    let numbers = Identity::lookup("1234:5678").unwrap();
    assert_eq!((numbers.uid, numbers.gid), (1234, 5678));
    assert!(Identity::lookup("no-such-user-here").is_err());
    assert!(Identity::lookup("4294967295").is_err());
    assert!(Identity::lookup("1:x").is_err());
}

#[test]
fn stdin_stays_the_callers_for_a_one_off_command() {
    let tmp = searchable_tempdir();
    let root = tmp.path().join("root");
    fs::create_dir_all(root.join("app")).unwrap();
    let Some(bwrap) = bwrap(&root, &[]) else {
        return;
    };
    let mut cmd = Command::new("/bin/sh");
    cmd.args(["-c", "read line; echo \"got $line\""])
        .current_dir(root.join("app"));
    let wrapped = Sandbox::Bwrap(bwrap)
        .wrap(cmd, &Spec::release(&root.join("app")))
        .unwrap();
    let mut cmd = wrapped.command;
    let mut child = cmd
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    drop(wrapped.args);
    std::io::Write::write_all(&mut child.stdin.take().unwrap(), b"typed\n").unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(String::from_utf8_lossy(&out.stdout), "got typed\n");
}
