//! Pushing and running commands over ssh: a real sshd whose only keys are the forced-command lines slipway writes.
//!
//! Needs `sshd`, `ssh` and `ssh-keygen` (openssh-server and openssh-client);
//! without them these tests say so and pass, except under CI, where they fail.

use std::fs;
use std::io::Write;
use std::os::unix::fs::PermissionsExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::common::*;

const SSHD_PATHS: &[&str] = &["/usr/sbin/sshd", "/usr/local/sbin/sshd", "/usr/bin/sshd"];

/// Whether the OpenSSH tools are here; under CI their absence is a failure.
fn have_openssh() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .map(|path| {
            std::env::split_paths(&path)
                .map(|dir| dir.join("sshd"))
                .collect::<Vec<_>>()
        })
        .unwrap_or_default();
    let sshd = SSHD_PATHS
        .iter()
        .map(PathBuf::from)
        .chain(on_path)
        .find(|p| p.is_file());
    let client = ["ssh", "ssh-keygen"]
        .iter()
        .all(|tool| Command::new(tool).arg("-V").output().is_ok());
    match sshd {
        Some(sshd) if client => Some(sshd),
        _ if std::env::var_os("CI").is_some() => {
            panic!(
                "sshd, ssh or ssh-keygen is missing; .ci/run installs openssh-server and openssh-client"
            )
        }
        _ => {
            eprintln!("skipping: sshd, ssh or ssh-keygen is missing");
            None
        }
    }
}

/// Makes a key pair `DIR/NAME` with `ssh-keygen`; returns the private key's path.
fn keygen(dir: &Path, name: &str, kind: &str) -> PathBuf {
    let path = dir.join(name);
    ok(run(command("ssh-keygen")
        .args(["-q", "-t", kind, "-N", "", "-C"])
        .arg(format!("{name}@test"))
        .arg("-f")
        .arg(&path)));
    path
}

fn public(key: &Path) -> PathBuf {
    let mut path = key.as_os_str().to_owned();
    path.push(".pub");
    PathBuf::from(path)
}

/// `slipway keys:add USER [FLAGS]` with the public half of `key` on stdin.
fn keys_add(f: &Fixture, user: &str, key: &Path, flags: &[&str]) -> Output {
    let input = fs::File::open(public(key)).unwrap();
    f.cmd(&["keys:add", user])
        .args(flags)
        .stdin(input)
        .output()
        .unwrap()
}

fn os_user() -> String {
    ok(run(command("id").arg("-un"))).trim().to_owned()
}

/// An sshd on a free loopback port that lets in exactly the keys of `ROOT/authorized_keys`; killed on drop.
struct Sshd {
    child: Child,
    port: u16,
    log: PathBuf,
    user: String,
}

impl Sshd {
    fn start(f: &Fixture, sshd: &Path) -> Sshd {
        let dir = f.tmp.path().join("sshd");
        fs::create_dir_all(&dir).unwrap();
        let host_key = dir.join("host_key");
        if !host_key.exists() {
            keygen(&dir, "host_key", "ed25519");
        }
        // sshd refuses to start as root without its privilege separation directory.
        let _ = fs::create_dir_all("/run/sshd");
        for attempt in 0..5 {
            let port = std::net::TcpListener::bind("127.0.0.1:0")
                .unwrap()
                .local_addr()
                .unwrap()
                .port();
            let config = dir.join("sshd_config");
            fs::write(
                &config,
                format!(
                    "Port {port}\nListenAddress 127.0.0.1\nHostKey {}\nPidFile {}\n\
                     AuthorizedKeysFile {}\nStrictModes no\nUsePAM no\n\
                     PermitRootLogin prohibit-password\nPasswordAuthentication no\n\
                     KbdInteractiveAuthentication no\nPermitUserEnvironment no\n",
                    host_key.display(),
                    dir.join("sshd.pid").display(),
                    f.root.join("authorized_keys").display(),
                ),
            )
            .unwrap();
            let log = dir.join(format!("sshd-{attempt}.log"));
            let child = Command::new(sshd)
                .arg("-D")
                .arg("-e")
                .arg("-f")
                .arg(&config)
                .stdin(Stdio::null())
                .stdout(Stdio::null())
                .stderr(fs::File::create(&log).unwrap())
                .spawn()
                .unwrap();
            let mut server = Sshd {
                child,
                port,
                log,
                user: os_user(),
            };
            // Wait for it to listen (its log says so), without opening a connection.
            let listening = format!("Server listening on 127.0.0.1 port {port}");
            let deadline = Instant::now() + Duration::from_secs(10);
            while Instant::now() < deadline {
                if server.log_text().contains(&listening) {
                    return server;
                }
                if server.child.try_wait().unwrap().is_some() {
                    break;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            let log = server.log_text();
            if !log.contains("Address already in use") {
                panic!("sshd did not start:\n{log}");
            }
        }
        panic!("sshd found no free port");
    }

    fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// The ssh client options that log in with `key` only, trusting this server's host key.
    fn client(&self, key: &Path) -> String {
        format!(
            "ssh -F /dev/null -T -i {} -p {} -o StrictHostKeyChecking=no -o UserKnownHostsFile=/dev/null \
             -o BatchMode=yes -o IdentitiesOnly=yes -o LogLevel=ERROR",
            key.display(),
            self.port
        )
    }

    /// `ssh ... USER@127.0.0.1 [COMMAND]`: COMMAND becomes SSH_ORIGINAL_COMMAND as it is.
    fn ssh(&self, key: &Path, remote_command: Option<&str>) -> Command {
        let client = self.client(key);
        let mut words = client.split(' ');
        let mut cmd = command(words.next().unwrap());
        cmd.args(words).arg(format!("{}@127.0.0.1", self.user));
        cmd.args(remote_command);
        cmd
    }

    /// `ssh://USER@127.0.0.1:PORT/PATH`.
    fn url(&self, path: &str) -> String {
        format!("ssh://{}@127.0.0.1:{}/{path}", self.user, self.port)
    }

    /// `USER@127.0.0.1:PATH` (the port comes from the client options).
    fn scp_url(&self, path: &str) -> String {
        format!("{}@127.0.0.1:{path}", self.user)
    }

    /// `git ARGS` in `dir`, going over ssh with `key`.
    fn git(&self, key: &Path, dir: &Path, args: &[&str]) -> Output {
        run(command("git")
            .current_dir(dir)
            .env("GIT_SSH_COMMAND", self.client(key))
            .args(args))
    }
}

impl Drop for Sshd {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// A root with `myapp`, a key for `dana` (granted myapp) and its sshd.
struct Setup {
    f: Fixture,
    sshd: Sshd,
    dana: PathBuf,
}

fn setup() -> Option<Setup> {
    let sshd = have_openssh()?;
    let f = Fixture::new();
    f.create_app("myapp");
    let keys = f.tmp.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let dana = keygen(&keys, "dana", "ed25519");
    ok(keys_add(&f, "dana", &dana, &[]));
    ok(f.slipway(&["access:add", "myapp", "dana"]));
    let sshd = Sshd::start(&f, &sshd);
    Some(Setup { f, sshd, dana })
}

/// The stderr of a refused request: exactly one `error:` line, exit 1, no stdout.
#[track_caller]
fn assert_refused(out: &Output, what: &str) -> String {
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{what}: {err}");
    assert!(
        out.stdout.is_empty(),
        "{what}: stdout {}",
        text(&out.stdout)
    );
    assert!(
        err.starts_with("error: ") && err.ends_with('\n') && err.lines().count() == 1,
        "{what}: not one error line: {err:?}"
    );
    err
}

#[test]
fn push_over_ssh_deploys_as_the_keys_user_in_every_url_form() {
    let Some(Setup { f, sshd, dana }) = setup() else {
        return;
    };
    let work = f.work("myapp", "w");
    let mut shas = Vec::new();
    for (version, url) in [
        sshd.url("myapp.git"),
        sshd.scp_url("myapp.git"),
        sshd.url("myapp"),
        sshd.scp_url("myapp"),
    ]
    .iter()
    .enumerate()
    {
        work.write("a.txt", format!("{version}\n"));
        shas.push(work.commit(&format!("change {version}")));
        let out = sshd.git(&dana, &work.dir, &["push", url, "main"]);
        assert!(
            out.status.success(),
            "{url}: {}\n{}",
            text(&out.stderr),
            sshd.log_text()
        );
        let lines = remote_lines(&out.stderr);
        assert_eq!(
            lines.last().map(String::as_str),
            Some(format!("-----> Launching... done, v{}", version + 1).as_str()),
            "{url}: {lines:?}"
        );
    }
    let records = f.records("myapp");
    assert_eq!(records.len(), 4);
    for (record, sha) in records.iter().zip(&shas) {
        assert_eq!(
            record["user"], "dana",
            "the key's user, not the OS user or SLIPWAY_USER"
        );
        assert_eq!(record["commit"], sha.as_str());
    }

    let out = run(&mut sshd.ssh(&dana, Some("releases -a myapp")));
    let table = ok(out);
    let rows: Vec<&str> = table.lines().collect();
    assert!(rows[0].starts_with("Rel "), "{table}");
    assert_eq!(rows.len(), 5, "{table}");
    for (row, version) in rows[1..].iter().zip([4, 3, 2, 1]) {
        let cells: Vec<&str> = row.split("  ").filter(|c| !c.is_empty()).collect();
        assert_eq!(cells[0].trim(), format!("v{version}"), "{table}");
        assert_eq!(cells[2].trim(), "dana", "{table}");
    }

    // Fetching goes through git-upload-pack of the same repository.
    let clone = f.tmp.path().join("clone");
    let out = sshd.git(
        &dana,
        f.tmp.path(),
        &["clone", "-q", &sshd.url("myapp.git"), "clone"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(git(&clone, &["rev-parse", "HEAD"]).trim(), shas[3]);
}

#[test]
fn refused_requests_print_one_line_exit_1_and_change_nothing() {
    let Some(Setup { f, sshd, dana }) = setup() else {
        return;
    };
    // `other` belongs to erin; both apps have a release and refs.
    f.create_app("other");
    let keys = f.tmp.path().join("keys");
    let erin = keygen(&keys, "erin", "ed25519");
    ok(keys_add(&f, "erin", &erin, &[]));
    ok(f.slipway(&["access:add", "other", "erin"]));
    for app in ["myapp", "other"] {
        f.pushed(app, &[]);
    }
    let marker = f.tmp.path().join("marker");
    let m = marker.display().to_string();
    let snapshot = || {
        let refs: Vec<String> = ["myapp", "other"]
            .iter()
            .map(|app| git(&f.app_dir(app).join("repo.git"), &["for-each-ref"]))
            .collect();
        let records: Vec<usize> = ["myapp", "other"]
            .iter()
            .map(|a| f.records(a).len())
            .collect();
        (
            refs,
            records,
            fs::read(f.root.join("keys.json")).unwrap(),
            fs::read(f.root.join("authorized_keys")).unwrap(),
            ok(f.slipway(&["apps"])),
        )
    };
    let before = snapshot();
    let repo = f.app_dir("myapp").join("repo.git");
    let repo = repo.display();
    let cases: Vec<(Option<String>, &str)> = vec![
        (None, "error: interactive login is not allowed"),
        (
            Some(String::new()),
            "error: interactive login is not allowed",
        ),
        (Some("sh".into()), "error: 'sh' is not allowed over ssh"),
        (
            Some("bash -i".into()),
            "error: 'bash' is not allowed over ssh",
        ),
        (
            Some("ls -la /".into()),
            "error: 'ls' is not allowed over ssh",
        ),
        (
            Some(format!("touch {m}")),
            "error: 'touch' is not allowed over ssh",
        ),
        (
            Some(format!("sh -c 'touch {m}'")),
            "error: 'sh' is not allowed",
        ),
        (
            Some("git-receive-pack '../x.git'".into()),
            "error: '../x.git' is not an app repository",
        ),
        (
            Some("git-receive-pack '/myapp/../other.git'".into()),
            "is not an app repository",
        ),
        (
            Some(format!("git-receive-pack '{repo}'")),
            "is not an app repository",
        ),
        (
            Some("git-receive-pack 'other.git'".into()),
            "error: 'dana' has no app named 'other'",
        ),
        (
            Some("git-upload-pack '/other.git'".into()),
            "error: 'dana' has no app named 'other'",
        ),
        (
            Some("git-receive-pack 'ghost.git'".into()),
            "error: 'dana' has no app named 'ghost'",
        ),
        (
            Some("git-upload-archive 'myapp.git'".into()),
            "is not allowed over ssh",
        ),
        (
            Some(format!("git-receive-pack 'myapp.git'; touch {m}")),
            "';' is a shell metacharacter",
        ),
        (
            Some(format!("releases -a myapp && touch {m}")),
            "'&' is a shell metacharacter",
        ),
        (
            Some(format!("releases -a myapp | touch {m}")),
            "'|' is a shell metacharacter",
        ),
        (
            Some(format!("releases -a myapp > {m}")),
            "'>' is a shell metacharacter",
        ),
        (
            Some(format!("releases -a $(touch {m})")),
            "'$' is a shell metacharacter",
        ),
        (
            Some(format!("releases -a `touch {m}`")),
            "'`' is a shell metacharacter",
        ),
        (
            Some(format!("releases -a myapp\ntouch {m}")),
            "control characters are not allowed",
        ),
        (
            Some("releases -a other".into()),
            "error: 'dana' has no app named 'other'",
        ),
        (Some("releases".into()), "app commands over ssh need -a APP"),
        (
            Some("config:set -- -a myapp A=1".into()),
            "error: '--' cannot be given over ssh",
        ),
        (
            Some("config:set A=1 -a myapp -- -a other".into()),
            "error: '--' cannot be given over ssh",
        ),
        (
            Some("releases -a myapp --root /".into()),
            "--root cannot be given over ssh",
        ),
        (
            Some("hook post-receive --app myapp".into()),
            "'hook' is not allowed over ssh",
        ),
        (
            Some(format!("slugs:compile HEAD --git-dir {repo} -o {m}")),
            "not allowed over ssh",
        ),
        (Some("keys".into()), "error: 'keys' needs an admin key"),
        (
            Some("access:add myapp erin".into()),
            "error: 'access:add' needs an admin key",
        ),
        (
            Some("apps:create evil".into()),
            "error: 'apps:create' needs an admin key",
        ),
        (
            Some("apps:destroy myapp --confirm myapp".into()),
            "'apps:destroy' needs an admin key",
        ),
    ];
    for (remote_command, expected) in &cases {
        let out = run(&mut sshd.ssh(&dana, remote_command.as_deref()));
        let err = assert_refused(&out, &format!("{remote_command:?}"));
        assert!(
            err.contains(expected),
            "{remote_command:?}: {err:?} lacks {expected:?}"
        );
        assert!(!marker.exists(), "{remote_command:?} ran something");
    }

    // A real push to another user's app fails the same way, with git's own lines after ours.
    let work = f.work("other", "w-push");
    work.commit("mine now");
    let out = sshd.git(&dana, &work.dir, &["push", &sshd.url("other.git"), "main"]);
    assert!(!out.status.success());
    let err = text(&out.stderr);
    assert!(
        err.starts_with("error: 'dana' has no app named 'other' (or may not access it)\n"),
        "{err}"
    );
    assert_eq!(snapshot(), before, "refused requests changed something");

    // A key whose user was removed is refused by sshd itself.
    ok(f.slipway(&["keys:remove", "dana"]));
    let out = run(&mut sshd.ssh(&dana, Some("releases -a myapp")));
    assert_eq!(out.status.code(), Some(255), "{}", text(&out.stderr));
}

#[test]
fn admin_keys_run_admin_commands_and_reach_every_app() {
    let Some(Setup { f, sshd, dana }) = setup() else {
        return;
    };
    let keys = f.tmp.path().join("keys");
    let ops = keygen(&keys, "ops", "ed25519");
    ok(keys_add(&f, "ops", &ops, &["--admin"]));
    let erin = keygen(&keys, "erin", "ed25519");

    // Admin commands, with stdin passed through for keys:add.
    let out = run(sshd
        .ssh(&ops, Some("keys:add erin"))
        .stdin(fs::File::open(public(&erin)).unwrap()));
    assert!(ok(out).starts_with("Added ssh-ed25519 key SHA256:"));
    let listed = ok(run(&mut sshd.ssh(&ops, Some("keys"))));
    let users: Vec<&str> = listed
        .lines()
        .skip(1)
        .filter_map(|l| l.split(' ').next())
        .collect();
    assert_eq!(users, ["dana", "ops", "erin"], "{listed}");
    // The remote to add is the one the client reaches, not a path on the server.
    let created = ok(run(&mut sshd.ssh(&ops, Some("apps:create newapp"))));
    assert!(
        created.contains(&format!(
            "\n  git remote add slipway {}\n",
            sshd.url("newapp.git")
        )),
        "{created}"
    );
    ok(run(&mut sshd.ssh(&ops, Some("access:add newapp erin"))));
    assert_eq!(
        ok(run(&mut sshd.ssh(&ops, Some("access newapp")))),
        "User  Access\nerin  granted\nops   admin\n"
    );

    // An admin reaches apps nobody granted them; erin reaches the one she was granted.
    let work = f.work("newapp", "w");
    work.commit("first");
    let out = sshd.git(
        &ops,
        &work.dir,
        &["push", &sshd.scp_url("myapp.git"), "main"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.records("myapp")[0]["user"], "ops");
    let out = sshd.git(
        &erin,
        &work.dir,
        &["push", &sshd.scp_url("newapp.git"), "main"],
    );
    assert!(out.status.success(), "{}", text(&out.stderr));
    assert_eq!(f.records("newapp")[0]["user"], "erin");

    // The plain key of an admin user is still only a plain key.
    let ops_plain = keygen(&keys, "ops-plain", "ed25519");
    ok(keys_add(&f, "ops", &ops_plain, &[]));
    let out = run(&mut sshd.ssh(&ops_plain, Some("keys")));
    assert!(assert_refused(&out, "keys").contains("'keys' needs an admin key"));
    let out = run(&mut sshd.ssh(&dana, Some("releases -a newapp")));
    assert_refused(&out, "dana on newapp");
}

#[test]
fn authorized_keys_lines_force_the_command_and_fingerprints_match_ssh_keygen() {
    if have_openssh().is_none() {
        return;
    }
    let f = Fixture::new();
    let keys = f.tmp.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let kinds = [
        ("alice", "ed25519"),
        ("bob.smith", "ecdsa"),
        ("ci_bot", "rsa"),
    ];
    for (user, kind) in kinds {
        let key = keygen(&keys, user, kind);
        let flags: &[&str] = if user == "alice" { &["--admin"] } else { &[] };
        let out = ok(keys_add(&f, user, &key, flags));
        assert!(out.starts_with("Added "), "{out}");
    }
    let listed: Value = serde_json::from_str(&ok(f.slipway(&["keys", "--json"]))).unwrap();
    let listed = listed.as_array().unwrap();
    assert_eq!(listed.len(), 3);
    let exe = fs::canonicalize(SLIPWAY).unwrap();
    let mut expected = String::new();
    for ((user, _), entry) in kinds.iter().zip(listed) {
        let pub_path = public(&keys.join(user));
        let keygen_says = ok(run(command("ssh-keygen").arg("-lf").arg(&pub_path)));
        let fingerprint = keygen_says.split(' ').nth(1).unwrap();
        assert_eq!(entry["fingerprint"], fingerprint, "{user}");
        assert_eq!(entry["user"], *user);
        assert_eq!(entry["admin"], *user == "alice");
        let line = fs::read_to_string(&pub_path).unwrap();
        let admin = if *user == "alice" { " --admin" } else { "" };
        expected.push_str(&format!(
            "restrict,command=\"{} --root {} ssh-command --user {user}{admin}\" {}",
            exe.display(),
            f.root.display(),
            line
        ));
    }
    let path = f.root.join("authorized_keys");
    let written = fs::read_to_string(&path).unwrap();
    let (header, lines) = written.split_once('\n').unwrap();
    assert!(header.starts_with("# Written by slipway"), "{header}");
    assert_eq!(lines, expected);
    for file in [&path, &f.root.join("keys.json")] {
        assert_eq!(
            fs::metadata(file).unwrap().permissions().mode() & 0o777,
            0o600
        );
    }

    let table = ok(f.slipway(&["keys"]));
    assert!(table.starts_with("User       Fingerprint"), "{table}");
    assert!(
        table
            .lines()
            .nth(1)
            .unwrap()
            .starts_with("alice      SHA256:"),
        "{table}"
    );

    // Removing by fingerprint rewrites the file without that line.
    let fingerprint = listed[1]["fingerprint"].as_str().unwrap();
    assert_eq!(
        ok(f.slipway(&["keys:remove", fingerprint])),
        format!("Removed ecdsa-sha2-nistp256 key {fingerprint} of bob.smith\n")
    );
    let written = fs::read_to_string(&path).unwrap();
    assert!(!written.contains("bob.smith"), "{written}");
    assert_eq!(written.lines().count(), 3);

    // slipway.yaml can put the file elsewhere.
    let elsewhere = f.tmp.path().join("ssh").join("authorized_keys");
    fs::create_dir_all(elsewhere.parent().unwrap()).unwrap();
    fs::write(
        f.root.join("slipway.yaml"),
        format!("authorized_keys: {}\n", elsewhere.display()),
    )
    .unwrap();
    ok(f.slipway(&["keys:remove", "ci_bot"]));
    let moved = fs::read_to_string(&elsewhere).unwrap();
    assert_eq!(moved.lines().count(), 2);
    assert!(moved.contains("--user alice --admin\""));
}

#[test]
fn bad_keys_users_and_grants_are_refused_and_nothing_changes() {
    if have_openssh().is_none() {
        return;
    }
    let f = Fixture::new();
    f.create_app("myapp");
    let keys = f.tmp.path().join("keys");
    fs::create_dir_all(&keys).unwrap();
    let alice = keygen(&keys, "alice", "ed25519");
    let add_text = |user: &str, input: &[u8]| f.slipway_with_input(&["keys:add", user], input);
    let key_line = fs::read(public(&alice)).unwrap();
    for (user, input, message) in [
        (
            "alice",
            &b""[..],
            "error: not a usable ssh public key: no key line was given\nhelp: ",
        ),
        (
            "alice",
            b"ssh-ed25519 AAAA!!!!\n",
            "error: not a usable ssh public key: the key data is not valid base64\n",
        ),
        (
            "alice",
            b"ssh-dss AAAAB3NzaC1kc3M=\n",
            "unsupported key type 'ssh-dss'",
        ),
        (
            "alice",
            b"\xff\xfe\n",
            "error: not a usable ssh public key: it is not UTF-8\n",
        ),
        (
            "Alice",
            &key_line,
            "error: invalid user name 'Alice': it must start with a lowercase letter\nhelp: ",
        ),
        ("al ice", &key_line, "error: invalid user name 'al ice'"),
    ] {
        let out = add_text(user, input);
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.contains(message), "{err:?} lacks {message:?}");
    }
    assert!(!f.root.join("keys.json").exists());
    assert!(!f.root.join("authorized_keys").exists());

    ok(keys_add(&f, "alice", &alice, &[]));
    let state = || {
        (
            fs::read(f.root.join("keys.json")).unwrap(),
            fs::read(f.root.join("authorized_keys")).unwrap(),
        )
    };
    let before = state();
    let fingerprint = format!("SHA256:{}", "A".repeat(43));
    let failing: Vec<(Output, &str)> = vec![
        (keys_add(&f, "bob", &alice, &[]), "error: key SHA256:"),
        (
            f.slipway(&["keys:remove", "bob"]),
            "error: no key matches user 'bob'\n",
        ),
        (
            f.slipway(&["keys:remove", &fingerprint]),
            "error: no key matches fingerprint SHA256:AAAA",
        ),
        (
            f.slipway(&["access:add", "myapp", "bob"]),
            "error: no user named 'bob' has a key\nhelp: add a key",
        ),
        (
            f.slipway(&["access:add", "ghost", "alice"]),
            "error: no app named 'ghost'\n",
        ),
        (
            f.slipway(&["access:remove", "myapp", "alice"]),
            "error: 'alice' was not granted access to 'myapp'\n",
        ),
    ];
    for (out, message) in failing {
        let err = text(&out.stderr);
        assert_eq!(out.status.code(), Some(1), "{err}");
        assert!(err.starts_with(message), "{err:?} lacks {message:?}");
    }
    assert_eq!(state(), before);
    ok(f.slipway(&["access:add", "myapp", "alice"]));
    let out = f.slipway(&["access:add", "myapp", "alice"]);
    assert!(text(&out.stderr).starts_with("error: 'alice' can already access 'myapp'\n"));
    assert_eq!(
        ok(f.slipway(&["access", "myapp"])),
        "User   Access\nalice  granted\n"
    );

    // A destroyed app's grants do not pass to a new app of the same name.
    ok(f.slipway(&["apps:destroy", "myapp", "--confirm", "myapp"]));
    f.create_app("myapp");
    assert!(ok(f.slipway(&["access", "myapp"])).starts_with("nobody can access myapp"));

    // A root whose path cannot be written into a forced command is refused before anything is stored.
    let odd = Fixture::new_at("ro\"ot");
    let out = keys_add(&odd, "alice", &alice, &[]);
    let err = text(&out.stderr);
    assert_eq!(out.status.code(), Some(1), "{err}");
    assert!(
        err.contains("in an authorized_keys command: it contains a double quote"),
        "{err}"
    );
    assert!(!odd.root.join("keys.json").exists());
    assert!(!odd.root.join("authorized_keys").exists());
}

#[test]
fn run_over_ssh_streams_output_and_passes_stdin_and_the_exit_status_through() {
    let Some(Setup { f, sshd, dana }) = setup() else {
        return;
    };
    f.pushed("myapp", &[("greeting.txt", "hello from the slug\n")]);
    // Shell syntax reaches the server quoted: ssh joins words, the server splits them again.
    let out = run(&mut sshd.ssh(&dana, Some("run -a myapp -- 'cat greeting.txt; exit 5'")));
    assert_eq!(out.status.code(), Some(5), "{}", text(&out.stderr));
    assert_eq!(text(&out.stdout), "hello from the slug\n");
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with("Running `cat greeting.txt; exit 5` on myapp... up, run."),
        "{stderr}"
    );

    let mut child = sshd
        .ssh(&dana, Some("run -a myapp -- tr a-z A-Z"))
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .unwrap();
    child
        .stdin
        .take()
        .unwrap()
        .write_all(b"piped through\n")
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert_eq!(
        text(&out.stdout),
        "PIPED THROUGH\n",
        "{}",
        text(&out.stderr)
    );

    // Detached, the session ends at once; the one-off logs as dana's.
    let started = Instant::now();
    let out = ok(run(&mut sshd.ssh(
        &dana,
        Some("run:detached -a myapp -- 'sleep 1; echo later'"),
    )));
    assert!(started.elapsed() < Duration::from_secs(5));
    let name = out
        .split(", ")
        .nth(1)
        .unwrap()
        .lines()
        .next()
        .unwrap()
        .to_owned();
    let logs = f.app_dir("myapp").join("logs").join(format!("{name}.log"));
    let deadline = Instant::now() + Duration::from_secs(10);
    while !fs::read_to_string(&logs)
        .unwrap_or_default()
        .contains("app[")
    {
        assert!(Instant::now() < deadline, "no output in {}", logs.display());
        std::thread::sleep(Duration::from_millis(50));
    }
    let log = fs::read_to_string(&logs).unwrap();
    assert!(
        log.contains(" by dana (v1)\n") && log.contains(&format!("app[{name}]: later\n")),
        "{log}"
    );
    assert_eq!(
        ok(run(&mut sshd.ssh(&dana, Some("maintenance:on -a myapp")))),
        "Enabling maintenance mode for myapp... done\n"
    );

    // From a checkout whose remote is the server, as `heroku run`: the app comes from the URL,
    // and a `-a` in the command stays the command's.
    let work = f.work("myapp", "client");
    git(
        &work.dir,
        &["remote", "set-url", "slipway", &sshd.url("myapp.git")],
    );
    let out = run(command(SLIPWAY)
        .current_dir(&work.dir)
        .env("GIT_SSH_COMMAND", sshd.client(&dana))
        .args(["run", "grep", "-a", "-c", "hello", "greeting.txt"]));
    assert_eq!(text(&out.stdout), "1\n", "{}", text(&out.stderr));
    let out = run(command(SLIPWAY)
        .current_dir(&work.dir)
        .env("GIT_SSH_COMMAND", sshd.client(&dana))
        .args(["run", "--", "exit 4"]));
    assert_eq!(out.status.code(), Some(4), "{}", text(&out.stderr));
}

#[test]
fn in_a_checkout_whose_remote_is_ssh_the_binary_runs_app_commands_on_the_server() {
    let Some(Setup { f, sshd, dana }) = setup() else {
        return;
    };
    let work = f.work("myapp", "w");
    git(
        &work.dir,
        &["remote", "set-url", "slipway", &sshd.url("myapp.git")],
    );
    work.write("a.txt", "a\n");
    work.commit("First");
    let out = sshd.git(&dana, &work.dir, &["push", "slipway", "main"]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    // No --root, no SLIPWAY_ROOT: the remote says where the app lives.
    let client = |args: &[&str]| {
        run(command(SLIPWAY)
            .current_dir(&work.dir)
            .env("GIT_SSH_COMMAND", sshd.client(&dana))
            .args(args))
    };
    let table = ok(client(&["releases"]));
    assert!(table.lines().nth(1).unwrap().contains("dana"), "{table}");
    assert_eq!(
        ok(client(&["config:set", "GREETING=it's me"])),
        "Adding config vars:\n  GREETING => it's me\nUpdating vars and restarting myapp... done, v2\n"
    );
    assert_eq!(ok(client(&["config:get", "GREETING"])), "it's me\n");
    assert_eq!(f.records("myapp")[1]["user"], "dana");
    // Errors and exit statuses come back as they are.
    let missing = client(&["releases:info", "v9"]);
    assert_eq!(missing.status.code(), Some(1));
    assert!(
        text(&missing.stderr).starts_with("error: app 'myapp' has no release v9\n"),
        "{}",
        text(&missing.stderr)
    );
    // An alias goes by its canonical name, which the server allows.
    assert!(ok(client(&["info"])).starts_with("=== myapp"));
}
