//! Slugs in S3-compatible object storage, against a real SeaweedFS: uploads, shared objects, downloads
//! through the cache, corrupt and vanished objects, a store that stops, gc, migration, presigned URLs.
//!
//! One `weed server -s3` serves the whole test binary (started by the first
//! test that needs it, stopped when the binary exits); each test has its own
//! prefix in the bucket. Skipped, saying why, when `weed` cannot be found and
//! CI is not "true" (set WEED, or run scripts/install-weed).

use std::fs;
use std::path::Path;
use std::process::{Command, Output};
use std::sync::OnceLock;

use sha2::{Digest, Sha256};
use slipway::store::s3::Client;
use slipway::store::s3::encode::hex;

use crate::common::*;
use crate::launch::{body, local_app, write_web};
use crate::weed::{self, BUCKET, Gate, Weed};

/// The shared server; `None` when skipping.
fn server(test: &str) -> Option<&'static Weed> {
    static SERVER: OnceLock<Option<Weed>> = OnceLock::new();
    let path = weed::find_or_skip(test)?;
    SERVER.get_or_init(|| Some(Weed::start(&path))).as_ref()
}

/// A root whose slugs go to `s3://slugs/PREFIX` on `endpoint` (the test's name is the prefix).
struct Store {
    f: Fixture,
    prefix: String,
    endpoint: String,
    /// More environment for every command (`SSL_CERT_FILE`).
    env: Vec<(String, String)>,
}

impl Store {
    /// A root with `slug_store: s3://slugs/TEST` on the shared server; `None` when skipping.
    fn new(test: &str) -> Option<Store> {
        let endpoint = server(test)?.endpoint.clone();
        Some(Store::at(test, &endpoint, true))
    }

    /// A root that reaches the store at `endpoint`, keeping slugs there (`s3`) or on its own disk.
    fn at(test: &str, endpoint: &str, s3: bool) -> Store {
        let store = Store {
            f: Fixture::new(),
            prefix: test.replace('_', "-"),
            endpoint: endpoint.to_owned(),
            env: Vec::new(),
        };
        let slug_store = match s3 {
            true => format!("slug_store: {}\n", store.url()),
            false => String::new(),
        };
        // After the fixture's own lines (its port range), as an admin would add them.
        let yaml = store.f.root.join("slipway.yaml");
        let mut settings = fs::read_to_string(&yaml).unwrap_or_default();
        settings.push_str(&format!(
            "# the slug store\n{slug_store}s3_endpoint: {endpoint}\ns3_region: us-east-1\n"
        ));
        fs::write(&yaml, settings).unwrap();
        store
    }

    /// `s3://slugs/PREFIX`.
    fn url(&self) -> String {
        format!("s3://{BUCKET}/{}", self.prefix)
    }

    /// `slipway --root ROOT ARGS` with the server's credentials.
    fn slipway(&self, args: &[&str]) -> Output {
        run(with_credentials(&mut self.f.cmd(args)).envs(self.env.clone()))
    }

    /// Commits `files` in the working copy `w-APP` of `app` (made with the app if need be) and pushes it.
    fn push(&self, app: &str, files: &[(&str, &[u8])]) -> (Output, Work) {
        if !self.f.app_dir(app).exists() {
            self.f.create_app(app);
        }
        let dir = self.f.tmp.path().join(format!("w-{app}"));
        let work = if dir.exists() {
            Work { dir }
        } else {
            self.f.work(app, &format!("w-{app}"))
        };
        for (path, content) in files {
            work.write(path, content);
        }
        work.commit("change");
        let out = run(with_credentials(
            command("git")
                .current_dir(&work.dir)
                .args(["push", "slipway", "main"]),
        )
        .envs(self.env.clone()));
        (out, work)
    }

    /// Pushes and asserts git took it; the `remote:` lines.
    #[track_caller]
    fn push_ok(&self, app: &str, files: &[(&str, &[u8])]) -> Vec<String> {
        let (out, _) = self.push(app, files);
        assert!(out.status.success(), "push failed:\n{}", text(&out.stderr));
        remote_lines(&out.stderr)
    }

    /// The slug sha256 of `app`'s `version`.
    fn slug(&self, app: &str, version: usize) -> String {
        self.f.records(app)[version - 1]["slug"]["sha256"]
            .as_str()
            .unwrap()
            .to_owned()
    }

    /// A client for the bucket, straight to the server (whatever gate the root goes through).
    fn client(&self, server: &Weed) -> Client {
        Client::new(weed::client_config(&server.endpoint, &self.url())).unwrap()
    }

    /// The sha256 of the object of the slug `sha`, if there is one.
    fn object_sha(&self, client: &Client, sha: &str) -> Option<String> {
        let tmp = tempfile::tempdir().unwrap();
        let (_, got) = client
            .get_to_file(&format!("slugs/{sha}.tar.gz"), &tmp.path().join("o"))
            .ok()?;
        Some(got)
    }

    /// The slugs in the store, sorted.
    fn stored(&self, client: &Client) -> Vec<String> {
        let mut names: Vec<String> = client
            .list("slugs/")
            .unwrap()
            .into_iter()
            .map(|(k, _)| k)
            .collect();
        names.sort();
        names
    }

    fn cached(&self, sha: &str) -> std::path::PathBuf {
        self.f.root.join("slugs").join(format!("{sha}.tar.gz"))
    }
}

fn with_credentials(cmd: &mut Command) -> &mut Command {
    cmd.env("AWS_ACCESS_KEY_ID", weed::ACCESS_KEY)
        .env("AWS_SECRET_ACCESS_KEY", weed::SECRET_KEY)
        .env_remove("AWS_SESSION_TOKEN")
        .env_remove("AWS_PROFILE")
        .env_remove("http_proxy")
        .env_remove("HTTP_PROXY")
        .env_remove("ALL_PROXY")
}

fn sha256(bytes: &[u8]) -> String {
    hex(&Sha256::digest(bytes))
}

fn file_sha(path: &Path) -> String {
    sha256(&fs::read(path).unwrap())
}

fn statuses(f: &Fixture, app: &str) -> Vec<String> {
    f.records(app)
        .iter()
        .map(|r| r["status"].as_str().unwrap().to_owned())
        .collect()
}

#[test]
fn a_push_uploads_its_slug_and_an_app_with_the_same_tree_uploads_nothing() {
    let Some(s) = Store::new("a_push_uploads_its_slug") else {
        return;
    };
    let client = s.client(server("").unwrap());
    let lines = s.push_ok("one", &[("index.html", b"hello\n")]);
    let sha = s.slug("one", 1);
    let size = s.f.records("one")[0]["slug"]["size"].as_u64().unwrap();
    let compressed = lines
        .iter()
        .position(|l| l.starts_with("-----> Compressing... done, "))
        .unwrap();
    let shown = lines[compressed].trim_start_matches("-----> Compressing... done, ");
    assert_eq!(
        lines[compressed + 1],
        format!("-----> Uploading slug... done ({shown})")
    );
    assert_eq!(lines.last().unwrap(), "-----> Launching... done, v1");
    assert_eq!(s.object_sha(&client, &sha).as_deref(), Some(sha.as_str()));
    assert_eq!(s.stored(&client), [format!("slugs/{sha}.tar.gz")]);
    assert_eq!(file_sha(&s.cached(&sha)), sha);
    assert!(size > 0);

    // The same tree in another app: the store has it, nothing is sent.
    let lines = s.push_ok("two", &[("index.html", b"hello\n")]);
    assert_eq!(s.slug("two", 1), sha);
    assert!(
        lines.contains(&format!(
            "-----> Uploading slug... done ({shown}, already stored)"
        )),
        "{lines:?}"
    );
    assert_eq!(s.stored(&client).len(), 1);
    // Without credentials the push fails clearly and records nothing that succeeded.
    s.f.create_app("three");
    let work = s.f.work("three", "w-three");
    work.write("index.html", "other\n");
    work.commit("no keys");
    let out = run(command("git")
        .current_dir(&work.dir)
        .args(["push", "slipway", "main"])
        .env_remove("AWS_ACCESS_KEY_ID")
        .env_remove("AWS_SECRET_ACCESS_KEY")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/nonexistent/credentials"));
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            " !     cannot use the slug store {}: no S3 credentials: ",
            s.url()
        ))),
        "{lines:?}"
    );
    assert_eq!(statuses(&s.f, "three"), ["failed"]);
    assert_eq!(s.f.current("three"), None);
}

#[test]
fn a_rollback_after_the_cache_is_emptied_downloads_and_checks_the_slug() {
    let Some(s) = Store::new("a_rollback_after_the_cache_is_emptied") else {
        return;
    };
    s.push_ok("app", &[("index.html", b"one\n")]);
    s.push_ok("app", &[("index.html", b"two\n")]);
    let (one, two) = (s.slug("app", 1), s.slug("app", 2));
    for entry in fs::read_dir(s.f.root.join("slugs")).unwrap() {
        let path = entry.unwrap().path();
        if path.to_string_lossy().ends_with(".tar.gz") {
            fs::remove_file(path).unwrap();
        }
    }
    let out = s.slipway(&["rollback", "v1", "-a", "app"]);
    let stderr = text(&out.stderr);
    assert_eq!(text(&out.stdout), "Rolled back to v1\n", "{stderr}");
    let size = s.f.records("app")[0]["slug"]["size"].as_u64().unwrap();
    assert!(
        stderr.starts_with("-----> Downloading slug... done (1KB at ")
            && stderr.ends_with("B/s)\n"),
        "{stderr}"
    );
    assert!(size > 0);
    assert_eq!(file_sha(&s.cached(&one)), one);
    assert!(!s.cached(&two).exists());
    assert_eq!(s.f.current("app").as_deref(), Some("v3"));
    assert_eq!(s.slug("app", 3), one);
}

#[test]
fn a_corrupt_object_fails_the_release_and_the_live_one_keeps_serving() {
    let Some(s) = Store::new("a_corrupt_object_fails_the_release") else {
        return;
    };
    let weed = server("").unwrap();
    let client = s.client(weed);
    let (_guard, work, port) = local_app(&s.f, "web", "");
    for text in ["one", "two"] {
        write_web(&work, text);
        work.commit(text);
        let out = run(with_credentials(
            command("git")
                .current_dir(&work.dir)
                .args(["push", "slipway", "main"]),
        ));
        assert!(out.status.success(), "{}", crate::common::text(&out.stderr));
    }
    assert!(body(port).starts_with("two "), "{}", body(port));
    let one = s.slug("web", 1);
    let size = s.f.records("web")[0]["slug"]["size"].as_u64().unwrap();
    // The object of v1's slug becomes other bytes of the same size, and this host has no copy.
    let tmp = tempfile::tempdir().unwrap();
    let garbage = tmp.path().join("garbage");
    let bytes = noise(7, size as usize);
    fs::write(&garbage, &bytes).unwrap();
    let garbage_sha = sha256(&bytes);
    client
        .put_file(
            &format!("slugs/{one}.tar.gz"),
            &garbage,
            &garbage_sha,
            size,
            &mut |_| {},
        )
        .unwrap();
    fs::remove_file(s.cached(&one)).unwrap();

    // Presence and size look right; only reading every byte finds it.
    let fsck = ok(s.slipway(&["fsck"]));
    assert_eq!(fsck, "web: ok (2 releases, 2 slugs checked)\n");

    let out = s.slipway(&["rollback", "v1", "-a", "web"]);
    assert_eq!(out.status.code(), Some(1));
    let stderr = text(&out.stderr);
    assert!(
        stderr.starts_with(&format!(
            " !     slug {one} from {} is corrupt: its sha256 is {garbage_sha}; v2 is still live\n",
            s.url()
        )),
        "{stderr}"
    );
    assert_eq!(statuses(&s.f, "web"), ["succeeded", "succeeded", "failed"]);
    assert_eq!(s.f.current("web").as_deref(), Some("v2"));
    assert!(body(port).starts_with("two "), "{}", body(port));
    // The wrong bytes never took the slug's name.
    assert!(!s.cached(&one).exists());

    let out = s.slipway(&["fsck", "--deep"]);
    assert_eq!(out.status.code(), Some(1));
    let problem = format!(
        "slug {one} from {} is corrupt: it is {size} bytes with the sha256 {garbage_sha}",
        s.url()
    );
    assert_eq!(
        text(&out.stdout),
        format!("web: v1: {problem}\nweb: v3: {problem}\n")
    );
    // A vanished object: fsck sees it without --deep.
    client.delete(&format!("slugs/{one}.tar.gz")).unwrap();
    let out = s.slipway(&["fsck"]);
    assert_eq!(
        text(&out.stdout),
        format!(
            "web: v1: slug {one} is missing from {url}\nweb: v3: slug {one} is missing from {url}\n",
            url = s.url()
        )
    );
}

#[test]
fn a_store_that_stops_during_a_push_fails_it_clearly_and_nothing_is_recorded_as_succeeded() {
    let Some(weed) = server("a_store_that_stops_during_a_push") else {
        return;
    };
    let gate = Gate::new(&weed.endpoint);
    let s = Store::at("a-store-that-stops", &gate.endpoint, true);
    let client = s.client(weed);
    s.push_ok("app", &[("index.html", b"one\n")]);
    // The next slug is 1.5 MB of noise; the store goes away 200 KB into it.
    gate.shut_after(200_000);
    let (out, _) = s.push("app", &[("noise.bin", &noise(3, 1_500_000))]);
    assert!(!out.status.success());
    let lines = remote_lines(&out.stderr);
    let failed = lines
        .iter()
        .find(|l| l.starts_with(" !     "))
        .unwrap_or_else(|| panic!("{lines:?}"));
    // The upload is tried again (a cut connection may pass), and by then the
    // store refuses connections: that last answer is the one reported.
    assert!(
        failed.starts_with(&format!(
            " !     cannot reach the slug store at {}: connection refused (while uploading {}/slugs/",
            gate.endpoint,
            s.url()
        )) && failed.ends_with("; v1 is still live"),
        "{failed}"
    );
    // Stopped for good: refused at once, with the store named.
    let (out, _) = s.push("app", &[("more.txt", b"more\n")]);
    assert!(!out.status.success());
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            " !     cannot reach the slug store at {}: connection refused (while checking {}/slugs/",
            gate.endpoint,
            s.url()
        )) && l.ends_with("; v1 is still live")),
        "{lines:?}"
    );
    assert!(
        lines.contains(
            &" !     help: check that the slug store is up and that s3_endpoint in slipway.yaml names it"
                .to_owned()
        ),
        "{lines:?}"
    );
    assert_eq!(statuses(&s.f, "app"), ["succeeded", "failed", "failed"]);
    let records = s.f.records("app");
    assert!(records[1]["slug"].is_null() && records[2]["slug"].is_null());
    assert_eq!(s.f.current("app").as_deref(), Some("v1"));
    // Nothing half uploaded is in the store.
    assert_eq!(
        s.stored(&client),
        [format!("slugs/{}.tar.gz", s.slug("app", 1))]
    );
}

#[test]
fn gc_and_prune_delete_only_the_objects_no_release_uses() {
    let Some(s) = Store::new("gc_and_prune") else {
        return;
    };
    let client = s.client(server("").unwrap());
    for n in ["one", "two", "three"] {
        s.push_ok("app", &[("index.html", n.as_bytes())]);
    }
    let slugs: Vec<String> = (1..=3).map(|v| s.slug("app", v)).collect();
    // An unused slug, and an object that is no slug at all.
    let tmp = tempfile::tempdir().unwrap();
    let extra = tmp.path().join("extra");
    fs::write(&extra, b"not referenced").unwrap();
    let extra_sha = file_sha(&extra);
    client
        .put_file(
            &format!("slugs/{extra_sha}.tar.gz"),
            &extra,
            &extra_sha,
            14,
            &mut |_| {},
        )
        .unwrap();
    client
        .put_file("slugs/README", &extra, &extra_sha, 14, &mut |_| {})
        .unwrap();
    let out = ok(s.slipway(&["slugs:gc"]));
    assert!(
        out.starts_with("Deleted 1 unreferenced slug file ("),
        "{out}"
    );
    let mut expected: Vec<String> = slugs
        .iter()
        .map(|sha| format!("slugs/{sha}.tar.gz"))
        .collect();
    expected.push("slugs/README".to_owned());
    expected.sort();
    assert_eq!(s.stored(&client), expected);

    let out = ok(s.slipway(&["releases:prune", "--keep", "1", "-a", "app"]));
    assert!(
        out.starts_with("Pruned the slugs of 2 releases of app; deleted 2 slug files ("),
        "{out}"
    );
    let mut expected = [
        "slugs/README".to_owned(),
        format!("slugs/{}.tar.gz", slugs[2]),
    ];
    expected.sort();
    assert_eq!(s.stored(&client), expected);
    assert!(!s.cached(&slugs[0]).exists());
    assert!(s.cached(&slugs[2]).exists());
}

#[test]
fn migrating_to_s3_and_back_copies_checks_and_switches_and_can_be_run_again() {
    let Some(weed) = server("migrating_to_s3_and_back") else {
        return;
    };
    let s = Store::at("migrating-to-s3-and-back", &weed.endpoint, false);
    let client = s.client(weed);
    s.push_ok("app", &[("index.html", b"one\n")]);
    s.push_ok("app", &[("index.html", b"two\n")]);
    let (one, two) = (s.slug("app", 1), s.slug("app", 2));
    let url = s.url();

    let out = s.slipway(&["slugs:migrate", "--to", &url]);
    let stdout = ok(out);
    assert!(
        stdout.starts_with("Copied 2 slugs (")
            && stdout.ends_with(&format!(
                ") from local to {url}, 0 already there; slug_store is now {url}\n"
            )),
        "{stdout}"
    );
    for sha in [&one, &two] {
        assert_eq!(s.object_sha(&client, sha).as_deref(), Some(sha.as_str()));
    }
    let yaml = fs::read_to_string(s.f.root.join("slipway.yaml")).unwrap();
    let (ports, yaml) = yaml.split_once('\n').unwrap();
    assert!(ports.starts_with("port_range: "), "{ports}");
    assert_eq!(
        yaml,
        format!(
            "# the slug store\ns3_endpoint: {}\ns3_region: us-east-1\nslug_store: {url}\n",
            weed.endpoint
        )
    );
    let lines = s.push_ok("app", &[("index.html", b"three\n")]);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-----> Uploading slug... done (")),
        "{lines:?}"
    );
    let three = s.slug("app", 3);

    // Back to the local disk, after the cache lost two of them: they are downloaded.
    fs::remove_file(s.cached(&one)).unwrap();
    fs::remove_file(s.cached(&two)).unwrap();
    let stdout = ok(s.slipway(&["slugs:migrate", "--to", "local"]));
    assert!(
        stdout.starts_with("Copied 2 slugs (")
            && stdout.ends_with(&format!(
                ") from {url} to local, 1 already there; slug_store is now local\n"
            )),
        "{stdout}"
    );
    for sha in [&one, &two, &three] {
        assert_eq!(file_sha(&s.cached(sha)), *sha);
    }
    assert_eq!(
        ok(s.slipway(&["slugs:migrate", "--to", "local"])),
        "slug_store is already local: nothing to move\n"
    );
    // An interrupted migration left the store with one slug missing: running it again copies only that one.
    client.delete(&format!("slugs/{two}.tar.gz")).unwrap();
    let stdout = ok(s.slipway(&["slugs:migrate", "--to", &url]));
    assert!(
        stdout.starts_with("Copied 1 slug (") && stdout.contains(", 2 already there; "),
        "{stdout}"
    );
    assert_eq!(s.object_sha(&client, &two).as_deref(), Some(two.as_str()));
}

#[test]
fn the_exec_launcher_gets_a_presigned_url_that_curl_fetches_as_the_slug() {
    let Some(s) = Store::new("the_exec_launcher_gets_a_presigned_url") else {
        return;
    };
    let yaml = s.f.root.join("slipway.yaml");
    let mut settings = fs::read_to_string(&yaml).unwrap();
    settings.push_str("slug_url_ttl: 10m\n");
    fs::write(&yaml, settings).unwrap();
    s.f.create_app("ext");
    fs::write(s.f.app_dir("ext").join("app.yaml"), "launcher: exec\n").unwrap();
    let hooks = s.f.root.join("hooks");
    fs::create_dir_all(&hooks).unwrap();
    let record = s.f.tmp.path().join("record");
    let hook = hooks.join("launch");
    fs::write(
        &hook,
        format!(
            "#!/bin/sh\nprintf '%s\\n%s\\n' \"$SLIPWAY_SLUG_URL\" \"$SLIPWAY_SLUG_SHA256\" > {}\n",
            record.display()
        ),
    )
    .unwrap();
    use std::os::unix::fs::PermissionsExt;
    fs::set_permissions(&hook, fs::Permissions::from_mode(0o755)).unwrap();
    s.push_ok("ext", &[("Procfile", b"web: ./serve\n")]);
    let recorded = fs::read_to_string(&record).unwrap();
    let (url, sha) = recorded.trim().split_once('\n').unwrap();
    assert_eq!(sha, s.slug("ext", 1));
    assert!(
        url.starts_with(&format!(
            "{}/{BUCKET}/{}/slugs/{sha}.tar.gz?X-Amz-Algorithm=AWS4-HMAC-SHA256&",
            s.endpoint, s.prefix
        )),
        "{url}"
    );
    assert!(url.contains("&X-Amz-Expires=600&"), "{url}");
    let fetched = Command::new("curl")
        .args(["-sSf", "--max-time", "20", url])
        .output()
        .expect("curl runs");
    assert!(fetched.status.success(), "{}", text(&fetched.stderr));
    assert_eq!(sha256(&fetched.stdout), sha);
}

#[test]
fn a_store_behind_a_private_ca_is_trusted_through_ssl_cert_file_and_refused_without() {
    let Some(weed) = server("a_store_behind_a_private_ca") else {
        return;
    };
    let (Some(https), Some(ca)) = (&weed.https_endpoint, &weed.ca_pem) else {
        eprintln!("skipping the private CA test: no openssl to make a certificate with");
        return;
    };
    let mut s = Store::at("a-store-behind-a-private-ca", https, true);
    let ca_file = s.f.tmp.path().join("ca.pem");
    fs::write(&ca_file, ca).unwrap();
    // The bundled Mozilla roots do not know the test CA.
    let (out, _) = s.push("app", &[("index.html", b"one\n")]);
    assert!(!out.status.success());
    let lines = remote_lines(&out.stderr);
    assert!(
        lines.iter().any(|l| l.starts_with(&format!(
            " !     cannot reach the slug store at {https}: TLS: invalid peer certificate: UnknownIssuer"
        ))),
        "{lines:?}"
    );
    s.env
        .push(("SSL_CERT_FILE".into(), ca_file.display().to_string()));
    let (out, _) = s.push("app", &[("index.html", b"two\n")]);
    assert!(out.status.success(), "{}", text(&out.stderr));
    let lines = remote_lines(&out.stderr);
    assert!(
        lines
            .iter()
            .any(|l| l.starts_with("-----> Uploading slug... done (")),
        "{lines:?}"
    );
    assert_eq!(statuses(&s.f, "app"), ["failed", "succeeded"]);
}
