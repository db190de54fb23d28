//! A throwaway SeaweedFS (`weed server -s3`) on loopback ports for tests, and a gate in front of it that can be shut.
//!
//! `weed` is found through `WEED` or `PATH` (`scripts/install-weed` installs it). It runs under a small `sh`
//! watchdog in a process group of its own: the watchdog holds a pipe from this
//! process and, when the pipe closes (the [`Weed`] is dropped, or the test
//! process ends in any way, panics included), kills weed and removes its data
//! directory. `Drop` also kills the whole group.

#![allow(
    dead_code,
    clippy::unwrap_used,
    clippy::expect_used,
    clippy::panic,
    clippy::indexing_slicing
)]

use std::fs;
use std::io::Read;
use std::net::{TcpListener, TcpStream};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, Instant};

use std::sync::atomic::{AtomicBool, AtomicU64};
use std::sync::{Arc, Mutex};

use slipway::model::slug_store::Endpoint;
use slipway::store::s3::{Client, Config, Credentials};

/// The identity the server is configured with.
pub const ACCESS_KEY: &str = "AKIDSLIPWAYTEST";
/// Its secret.
pub const SECRET_KEY: &str = "slipway/test+secret";
/// The bucket every server starts with.
pub const BUCKET: &str = "slugs";
/// How long weed may take to answer S3 requests after starting.
pub const STARTUP_LIMIT: Duration = Duration::from_secs(90);

const WATCHDOG: &str = r#"
dir=$1; shift
"$@" </dev/null >"$dir/weed.log" 2>&1 &
weed=$!
cat >/dev/null
kill -KILL "$weed" 2>/dev/null
wait "$weed" 2>/dev/null
rm -rf "$dir"
"#;

/// A running server.
pub struct Weed {
    /// `http://127.0.0.1:PORT` of its S3 API.
    pub endpoint: String,
    /// `https://127.0.0.1:PORT` of the same API, when `openssl` could make a certificate.
    pub https_endpoint: Option<String>,
    /// The PEM of the CA that signed the HTTPS certificate.
    pub ca_pem: Option<Vec<u8>>,
    /// How long it took to answer.
    pub startup: Duration,
    dir: PathBuf,
    watchdog: Child,
}

/// Where `weed` is: `WEED`, or the first `weed` on `PATH`.
pub fn find() -> Option<PathBuf> {
    if let Some(path) = std::env::var_os("WEED").filter(|p| !p.is_empty()) {
        return Some(PathBuf::from(path));
    }
    let path = std::env::var_os("PATH")?;
    std::env::split_paths(&path)
        .map(|dir| dir.join("weed"))
        .find(|candidate| candidate.is_file())
}

/// `weed`, or `None` after printing why the caller skips; panics when CI=true,
/// where skipping would hide a missing install step.
pub fn find_or_skip(test: &str) -> Option<PathBuf> {
    match find() {
        Some(path) => Some(path),
        None if std::env::var("CI").as_deref() == Ok("true") => {
            panic!("{test}: weed not found (set WEED or put it on PATH) and CI=true")
        }
        None => {
            eprintln!(
                "skipping {test}: weed not found (set WEED, or run scripts/install-weed and put it on PATH)"
            );
            None
        }
    }
}

fn free_ports(n: usize) -> Vec<u16> {
    let listeners: Vec<TcpListener> = (0..n)
        .map(|_| TcpListener::bind("127.0.0.1:0").unwrap())
        .collect();
    listeners
        .iter()
        .map(|l| l.local_addr().unwrap().port())
        .collect()
}

/// A client for `bucket` on `endpoint` with the server's identity.
pub fn client_config(endpoint: &str, location: &str) -> Config {
    let mut config = Config::new(
        location.parse().unwrap(),
        Credentials::new(ACCESS_KEY, SECRET_KEY, None),
        jiff::Timestamp::now,
    );
    config.endpoint = Some(Endpoint::parse(endpoint).unwrap());
    config
}

/// Makes a CA and a certificate for 127.0.0.1 signed by it, with the `openssl`
/// command; `false` when there is no `openssl`.
fn make_certificates(dir: &Path) -> bool {
    let run = |args: &[&str]| {
        Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .status()
            .is_ok_and(|s| s.success())
    };
    let ec = [
        "-newkey",
        "ec",
        "-pkeyopt",
        "ec_paramgen_curve:P-256",
        "-nodes",
    ];
    fs::write(
        dir.join("leaf.ext"),
        "subjectAltName=IP:127.0.0.1,DNS:localhost\nbasicConstraints=CA:FALSE\n\
         keyUsage=digitalSignature\nextendedKeyUsage=serverAuth\n",
    )
    .unwrap();
    run(&[
        &["req", "-x509"][..],
        &ec[..],
        &[
            "-keyout",
            "ca.key",
            "-out",
            "ca.pem",
            "-days",
            "2",
            "-subj",
            "/CN=slipway test CA",
        ],
    ]
    .concat())
        && run(&[
            &["req"][..],
            &ec[..],
            &[
                "-keyout",
                "leaf.key",
                "-out",
                "leaf.csr",
                "-subj",
                "/CN=127.0.0.1",
            ],
        ]
        .concat())
        && run(&[
            "x509",
            "-req",
            "-in",
            "leaf.csr",
            "-CA",
            "ca.pem",
            "-CAkey",
            "ca.key",
            "-CAcreateserial",
            "-out",
            "leaf.pem",
            "-days",
            "2",
            "-extfile",
            "leaf.ext",
        ])
}

impl Weed {
    /// Starts a server with [`BUCKET`] created; panics with weed's log if it does not come up.
    pub fn start(weed: &Path) -> Weed {
        static COUNT: AtomicUsize = AtomicUsize::new(0);
        let dir = std::env::temp_dir().join(format!(
            "slipway-weed-{}-{}",
            std::process::id(),
            COUNT.fetch_add(1, Ordering::Relaxed)
        ));
        fs::create_dir_all(dir.join("data")).unwrap();
        let config = format!(
            r#"{{"identities":[{{"name":"slipway","credentials":[{{"accessKey":"{ACCESS_KEY}","secretKey":"{SECRET_KEY}"}}],"actions":["Admin","Read","Write","List","Tagging"]}}]}}"#
        );
        fs::write(dir.join("s3.json"), config).unwrap();
        let [
            master,
            master_grpc,
            volume,
            volume_grpc,
            filer,
            filer_grpc,
            s3,
            s3_grpc,
            s3_https,
        ] = free_ports(9)[..]
        else {
            unreachable!()
        };
        let d = dir.display();
        let tls = make_certificates(&dir);
        let mut args = vec![
            "server".to_owned(),
            format!("-dir={d}/data"),
            "-ip=127.0.0.1".to_owned(),
            "-ip.bind=127.0.0.1".to_owned(),
            format!("-master.port={master}"),
            format!("-master.port.grpc={master_grpc}"),
            "-master.telemetry=false".to_owned(),
            "-master.volumeSizeLimitMB=1024".to_owned(),
            "-volume.max=0".to_owned(),
            format!("-volume.port={volume}"),
            format!("-volume.port.grpc={volume_grpc}"),
            "-filer".to_owned(),
            format!("-filer.port={filer}"),
            format!("-filer.port.grpc={filer_grpc}"),
            format!("-filer.localSocket={d}/filer.sock"),
            "-s3".to_owned(),
            format!("-s3.port={s3}"),
            format!("-s3.port.grpc={s3_grpc}"),
            "-s3.port.iceberg=0".to_owned(),
            "-s3.port.lance=0".to_owned(),
            format!("-s3.localSocket={d}/s3.sock"),
            format!("-s3.config={d}/s3.json"),
            "-s3.autoCreateBucket=false".to_owned(),
        ];
        if tls {
            args.extend([
                format!("-s3.port.https={s3_https}"),
                format!("-s3.cert.file={d}/leaf.pem"),
                format!("-s3.key.file={d}/leaf.key"),
            ]);
        }
        let started = Instant::now();
        let watchdog = Command::new("sh")
            .arg("-c")
            .arg(WATCHDOG)
            .arg("weed-watchdog")
            .arg(&dir)
            .arg(weed)
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .process_group(0)
            .spawn()
            .unwrap();
        let mut server = Weed {
            endpoint: format!("http://127.0.0.1:{s3}"),
            https_endpoint: tls.then(|| format!("https://127.0.0.1:{s3_https}")),
            ca_pem: tls.then(|| fs::read(dir.join("ca.pem")).unwrap()),
            startup: Duration::ZERO,
            dir,
            watchdog,
        };
        let client =
            Client::new(client_config(&server.endpoint, &format!("s3://{BUCKET}"))).unwrap();
        let mut last_error = String::new();
        loop {
            if let Ok(Some(status)) = server.watchdog.try_wait() {
                panic!("weed exited ({status}):\n{}", server.log());
            }
            if TcpStream::connect(("127.0.0.1", s3)).is_ok() {
                match client.create_bucket() {
                    Ok(()) => break,
                    Err(e) => last_error = e.to_string(),
                }
            }
            if started.elapsed() > STARTUP_LIMIT {
                panic!(
                    "weed did not serve S3 within {STARTUP_LIMIT:?} (last: {last_error}):\n{}",
                    server.log()
                );
            }
            std::thread::sleep(Duration::from_millis(100));
        }
        server.startup = started.elapsed();
        eprintln!(
            "weed up at {} after {:.1}s",
            server.endpoint,
            server.startup.as_secs_f64()
        );
        server
    }

    /// The end of weed's log.
    pub fn log(&self) -> String {
        let mut text = String::new();
        if let Ok(mut f) = fs::File::open(self.dir.join("weed.log")) {
            let _ = f.read_to_string(&mut text);
        }
        let start = text.len().saturating_sub(4000);
        text.get(start..).unwrap_or_default().to_owned()
    }

    /// A client for `location` (`s3://...`) on this server.
    pub fn config(&self, location: &str) -> Config {
        client_config(&self.endpoint, location)
    }
}

impl Drop for Weed {
    fn drop(&mut self) {
        // Closing the pipe lets the watchdog kill weed; the group kill makes sure.
        drop(self.watchdog.stdin.take());
        let group = format!("kill -KILL -- -{} 2>/dev/null", self.watchdog.id());
        let _ = Command::new("sh").arg("-c").arg(group).status();
        let _ = self.watchdog.wait();
        let _ = fs::remove_dir_all(&self.dir);
    }
}

/// A TCP forwarder to a server that can be shut, as if the server had stopped: now, or after some bytes of requests.
pub struct Gate {
    /// `http://127.0.0.1:PORT` of the gate.
    pub endpoint: String,
    state: Arc<GateState>,
}

struct GateState {
    /// Shut: connections are cut and new ones refused.
    shut: AtomicBool,
    /// Bytes of requests still let through before shutting (`u64::MAX`: no limit).
    budget: AtomicU64,
    /// Every connection made, both sides, to cut them.
    streams: Mutex<Vec<TcpStream>>,
    /// New connections still to be answered `503 SlowDown` instead of forwarded.
    to_fail: AtomicUsize,
    /// Connections answered `503 SlowDown` so far.
    failed: AtomicUsize,
}

impl GateState {
    fn shut_now(&self) {
        self.shut.store(true, Ordering::SeqCst);
        for stream in self.streams.lock().unwrap().drain(..) {
            let _ = stream.shutdown(std::net::Shutdown::Both);
        }
    }
}

impl Gate {
    /// Forwards `127.0.0.1:PORT` of the gate to `upstream` (`http://host:port`).
    pub fn new(upstream: &str) -> Gate {
        let upstream = upstream.trim_start_matches("http://").to_owned();
        let listener = TcpListener::bind("127.0.0.1:0").unwrap();
        listener.set_nonblocking(true).unwrap();
        let endpoint = format!("http://{}", listener.local_addr().unwrap());
        let state = Arc::new(GateState {
            shut: AtomicBool::new(false),
            budget: AtomicU64::new(u64::MAX),
            streams: Mutex::new(Vec::new()),
            to_fail: AtomicUsize::new(0),
            failed: AtomicUsize::new(0),
        });
        let gate = Arc::clone(&state);
        std::thread::spawn(move || {
            // Dropping the listener once shut makes new connections refused.
            while !gate.shut.load(Ordering::SeqCst) {
                let Ok((client, _)) = listener.accept() else {
                    std::thread::sleep(Duration::from_millis(5));
                    continue;
                };
                client.set_nonblocking(false).unwrap();
                let fail = gate
                    .to_fail
                    .fetch_update(Ordering::SeqCst, Ordering::SeqCst, |n| n.checked_sub(1))
                    .is_ok();
                if fail {
                    slow_down(client);
                    gate.failed.fetch_add(1, Ordering::SeqCst);
                    continue;
                }
                let Ok(server) = TcpStream::connect(&upstream) else {
                    continue;
                };
                {
                    let mut streams = gate.streams.lock().unwrap();
                    streams.push(client.try_clone().unwrap());
                    streams.push(server.try_clone().unwrap());
                }
                pump(
                    client.try_clone().unwrap(),
                    server.try_clone().unwrap(),
                    Some(Arc::clone(&gate)),
                );
                pump(server, client, None);
            }
        });
        Gate { endpoint, state }
    }

    /// Lets `bytes` more bytes of requests through, then shuts.
    pub fn shut_after(&self, bytes: u64) {
        self.state.budget.store(bytes, Ordering::SeqCst);
    }

    /// Cuts every connection and refuses new ones from now on.
    pub fn shut(&self) {
        self.state.shut_now();
    }

    /// Answers the next `connections` new connections as a throttling S3 does
    /// (`503 SlowDown`, then closes them) instead of forwarding them.
    pub fn fail_next(&self, connections: usize) {
        self.state.to_fail.store(connections, Ordering::SeqCst);
    }

    /// How many connections were answered `503 SlowDown`.
    pub fn failed(&self) -> usize {
        self.state.failed.load(Ordering::SeqCst)
    }
}

/// Reads one request from `client`, answers `503 SlowDown` and closes.
fn slow_down(mut client: TcpStream) {
    use std::io::Write;
    client
        .set_read_timeout(Some(Duration::from_secs(5)))
        .unwrap();
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") && matches!(client.read(&mut byte), Ok(1)) {
        head.push(byte[0]);
    }
    // The body (after a `100 Continue` when asked for one), read whole so the
    // answer is not lost to a reset: the client has sent it all, so a retry
    // must send it again from the start.
    let head = String::from_utf8_lossy(&head).to_ascii_lowercase();
    let length: u64 = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .and_then(|v| v.trim().parse().ok())
        .unwrap_or(0);
    if head.contains("\r\nexpect: 100-continue\r\n") {
        let _ = client.write_all(b"HTTP/1.1 100 Continue\r\n\r\n");
    }
    let _ = std::io::copy(&mut (&client).take(length), &mut std::io::sink());
    let body =
        "<Error><Code>SlowDown</Code><Message>Please reduce your request rate.</Message></Error>";
    let _ = client.write_all(
        format!(
            "HTTP/1.1 503 Slow Down\r\nContent-Type: application/xml\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .as_bytes(),
    );
    let _ = client.shutdown(std::net::Shutdown::Both);
}

impl Drop for Gate {
    fn drop(&mut self) {
        self.state.shut_now();
    }
}

/// Copies `from` to `to` on a thread; with `gate`, counts the bytes against its budget.
fn pump(mut from: TcpStream, mut to: TcpStream, gate: Option<Arc<GateState>>) {
    use std::io::Write;
    std::thread::spawn(move || {
        let mut buf = vec![0u8; 64 * 1024];
        loop {
            let n = match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => n,
            };
            if let Some(gate) = &gate {
                let left = gate.budget.load(Ordering::SeqCst);
                if left != u64::MAX {
                    if (n as u64) >= left {
                        let _ = to.write_all(&buf[..left as usize]);
                        gate.shut_now();
                        break;
                    }
                    gate.budget.store(left - n as u64, Ordering::SeqCst);
                }
            }
            if to.write_all(&buf[..n]).is_err() {
                break;
            }
        }
        let _ = to.shutdown(std::net::Shutdown::Write);
    });
}
