//! The forwarder: the app's stable port, whose connections go to the live release's web processes, round-robin.
//!
//! Switching releases swaps the backend list; a connection keeps the backend
//! it was given, so in-flight requests finish on the old release while new
//! ones go to the new. Each backend carries its release's connection count, so
//! the supervisor knows when an old release has drained. In maintenance mode
//! no connection reaches a backend: each gets the maintenance page.

use std::collections::VecDeque;
use std::io::{self, Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::sync::{Arc, Condvar, Mutex, OnceLock, RwLock};
use std::time::Duration;

use super::pages::{self, Page};
use crate::base::sys::{Interest, poll2};

const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
const BUFFER: usize = 64 * 1024;
/// An idle pool thread exits after this long.
const IDLE: Duration = Duration::from_secs(60);

type Job = Box<dyn FnOnce() + Send>;

/// Threads that are reused across connections: spawning two per connection costs more than the copying.
#[derive(Default)]
struct Pool {
    state: Mutex<PoolState>,
    ready: Condvar,
}

#[derive(Default)]
struct PoolState {
    jobs: VecDeque<Job>,
    idle: usize,
}

impl Pool {
    fn get() -> &'static Arc<Pool> {
        static POOL: OnceLock<Arc<Pool>> = OnceLock::new();
        POOL.get_or_init(Arc::default)
    }

    /// Runs `job` on an idle thread, or a new one if every thread is busy.
    fn run(self: &Arc<Pool>, job: impl FnOnce() + Send + 'static) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        st.jobs.push_back(Box::new(job));
        if st.jobs.len() > st.idle {
            drop(st);
            let pool = self.clone();
            std::thread::spawn(move || pool.work());
        } else {
            self.ready.notify_one();
        }
    }

    fn work(&self) {
        let mut st = self.state.lock().unwrap_or_else(|e| e.into_inner());
        loop {
            if let Some(job) = st.jobs.pop_front() {
                drop(st);
                job();
                st = self.state.lock().unwrap_or_else(|e| e.into_inner());
                continue;
            }
            st.idle += 1;
            let (next, wait) = self
                .ready
                .wait_timeout(st, IDLE)
                .unwrap_or_else(|e| e.into_inner());
            st = next;
            st.idle -= 1;
            if wait.timed_out() && st.jobs.is_empty() {
                return;
            }
        }
    }
}

/// One web process traffic can go to.
#[derive(Clone, Debug)]
pub struct Backend {
    /// Where it listens.
    pub addr: SocketAddr,
    /// Open connections of its release (shared by the release's backends).
    pub conns: Arc<AtomicUsize>,
}

/// The backends new connections go to.
#[derive(Debug, Default)]
pub struct Backends {
    list: RwLock<Vec<Backend>>,
    next: AtomicUsize,
    maintenance: AtomicBool,
}

impl Backends {
    /// Turns maintenance mode on or off: while on, every connection gets the maintenance page instead of a backend.
    pub fn set_maintenance(&self, on: bool) {
        self.maintenance.store(on, Ordering::SeqCst);
    }

    /// Replaces every backend (a switch of releases).
    pub fn set(&self, backends: Vec<Backend>) {
        if let Ok(mut list) = self.list.write() {
            *list = backends;
        }
    }

    /// Adds one backend (a web process that came up).
    pub fn add(&self, backend: Backend) {
        if let Ok(mut list) = self.list.write()
            && !list.iter().any(|b| b.addr == backend.addr)
        {
            list.push(backend);
        }
    }

    /// Removes the backend at `addr` (its process exited or is stopping).
    pub fn remove(&self, addr: SocketAddr) {
        if let Ok(mut list) = self.list.write() {
            list.retain(|b| b.addr != addr);
        }
    }

    /// How many backends there are.
    pub fn len(&self) -> usize {
        self.list.read().map_or(0, |l| l.len())
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// The next backend round-robin, its release's count already raised (under the lock, so a switch cannot miss it).
    fn pick(&self, skip: usize) -> Option<Backend> {
        let list = self.list.read().ok()?;
        if list.is_empty() {
            return None;
        }
        let i = (self.next.fetch_add(1, Ordering::Relaxed) + skip) % list.len();
        let backend = list[i].clone();
        backend.conns.fetch_add(1, Ordering::SeqCst);
        Some(backend)
    }
}

/// A listening stable port; dropping it does not stop it, [`Listener::close`] does.
#[derive(Debug)]
pub struct Listener {
    port: u16,
    closed: Arc<AtomicBool>,
}

impl Listener {
    /// Listens on `127.0.0.1:port` and forwards every connection to `backends`, on threads of its own.
    pub fn open(port: u16, backends: Arc<Backends>) -> io::Result<Listener> {
        let listener = Arc::new(TcpListener::bind(("127.0.0.1", port))?);
        let closed = Arc::new(AtomicBool::new(false));
        let flag = closed.clone();
        Pool::get().run(move || accept(listener, backends, flag));
        Ok(Listener { port, closed })
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Stops accepting (in-flight connections go on).
    pub fn close(&self) {
        self.closed.store(true, Ordering::SeqCst);
        // Wake the accept loop so it sees the flag.
        let _ = TcpStream::connect_timeout(
            &SocketAddr::from(([127, 0, 0, 1], self.port)),
            Duration::from_millis(200),
        );
    }
}

/// Accepts one connection, hands accepting over to another pool thread, and serves the connection itself.
///
/// The thread the kernel wakes for a connection is the one that carries it:
/// no handoff sits between a client and its backend.
fn accept(listener: Arc<TcpListener>, backends: Arc<Backends>, closed: Arc<AtomicBool>) {
    loop {
        match listener.accept() {
            Ok((stream, _)) => {
                if closed.load(Ordering::SeqCst) {
                    return;
                }
                let next = (listener.clone(), backends.clone(), closed.clone());
                Pool::get().run(move || accept(next.0, next.1, next.2));
                forward(stream, &backends);
                return;
            }
            Err(_) if closed.load(Ordering::SeqCst) => return,
            // Out of descriptors or similar: back off instead of spinning.
            Err(_) => std::thread::sleep(Duration::from_millis(10)),
        }
    }
}

/// Carries one client connection to a backend until both sides are done.
fn forward(client: TcpStream, backends: &Backends) {
    if backends.maintenance.load(Ordering::SeqCst) {
        pages::answer(client, Page::Maintenance);
        return;
    }
    let _ = client.set_nodelay(true);
    let attempts = backends.len().max(1);
    for skip in 0..attempts {
        let Some(backend) = backends.pick(skip) else {
            break;
        };
        let guard = Release(backend.conns.clone());
        match TcpStream::connect_timeout(&backend.addr, CONNECT_TIMEOUT) {
            Ok(server) => {
                let _ = server.set_nodelay(true);
                pipe(client, server);
                drop(guard);
                return;
            }
            // That process just went away: try the next one.
            Err(_) => drop(guard),
        }
    }
    // None there, or none took it: say so rather than close on the client.
    pages::answer(client, Page::NoWebProcess);
}

/// Lowers a release's connection count when a connection ends, however it ends.
struct Release(Arc<AtomicUsize>);

impl Drop for Release {
    fn drop(&mut self) {
        self.0.fetch_sub(1, Ordering::SeqCst);
    }
}

/// Carries bytes both ways on this one thread (poll, non-blocking reads and writes) until both
/// directions have ended; an end is passed on as a half-close, an error ends both.
fn pipe(client: TcpStream, server: TcpStream) {
    if client.set_nonblocking(true).is_err() || server.set_nonblocking(true).is_err() {
        return;
    }
    let mut up = Half::default();
    let mut down = Half::default();
    loop {
        if up.step(&client, &server).is_err() || down.step(&server, &client).is_err() {
            return;
        }
        if up.done && down.done {
            return;
        }
        let ask = |reading: &Half, writing: &Half| Interest {
            read: reading.wants_read(),
            write: writing.wants_write(),
        };
        let client_interest = ask(&up, &down);
        let server_interest = ask(&down, &up);
        if client_interest.is_empty() && server_interest.is_empty() {
            return;
        }
        if poll2((&client, client_interest), (&server, server_interest)).is_err() {
            return;
        }
    }
}

/// One direction of a connection: what was read and not yet written, and whether it ended.
struct Half {
    buf: Vec<u8>,
    start: usize,
    end: usize,
    eof: bool,
    done: bool,
}

impl Default for Half {
    fn default() -> Half {
        Half {
            buf: vec![0; BUFFER],
            start: 0,
            end: 0,
            eof: false,
            done: false,
        }
    }
}

impl Half {
    fn wants_read(&self) -> bool {
        !self.eof && self.start == self.end
    }

    fn wants_write(&self) -> bool {
        self.start < self.end
    }

    /// Moves what it can without blocking: write what is pending, read more, write that.
    fn step(&mut self, mut from: &TcpStream, mut to: &TcpStream) -> io::Result<()> {
        loop {
            if self.wants_write() {
                match to.write(&self.buf[self.start..self.end]) {
                    Ok(n) => self.start += n,
                    Err(e) if would_block(&e) => return Ok(()),
                    Err(e) => return Err(e),
                }
                if self.wants_write() {
                    continue;
                }
                self.start = 0;
                self.end = 0;
            }
            if self.eof {
                if !self.done {
                    let _ = to.shutdown(Shutdown::Write);
                    self.done = true;
                }
                return Ok(());
            }
            match from.read(&mut self.buf) {
                Ok(0) => self.eof = true,
                Ok(n) => self.end = n,
                Err(e) if would_block(&e) => return Ok(()),
                Err(e) => return Err(e),
            }
        }
    }
}

fn would_block(e: &io::Error) -> bool {
    matches!(
        e.kind(),
        io::ErrorKind::WouldBlock | io::ErrorKind::Interrupted
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    fn echo_server() -> SocketAddr {
        let l = TcpListener::bind("127.0.0.1:0").unwrap();
        let addr = l.local_addr().unwrap();
        std::thread::spawn(move || {
            for s in l.incoming().flatten() {
                std::thread::spawn(move || {
                    let mut s = s;
                    let mut buf = Vec::new();
                    let _ = s.read_to_end(&mut buf);
                    let _ = s.write_all(&buf);
                });
            }
        });
        addr
    }

    #[test]
    fn forwards_to_backends_and_counts_connections() {
        let backends = Arc::new(Backends::default());
        let conns = Arc::new(AtomicUsize::new(0));
        backends.set(vec![Backend {
            addr: echo_server(),
            conns: conns.clone(),
        }]);
        let probe = TcpListener::bind("127.0.0.1:0").unwrap();
        let port = probe.local_addr().unwrap().port();
        drop(probe);
        let listener = Listener::open(port, backends.clone()).unwrap();
        for payload in [
            b"hello".to_vec(),
            (0..3_000_000u32).map(|i| i as u8).collect(),
        ] {
            let mut c = TcpStream::connect(("127.0.0.1", port)).unwrap();
            c.set_read_timeout(Some(Duration::from_secs(10))).unwrap();
            let mut writer = c.try_clone().unwrap();
            let sent = payload.clone();
            // Write and read at once: more than the socket buffers hold in flight.
            let send = std::thread::spawn(move || {
                writer.write_all(&sent).unwrap();
                writer.shutdown(Shutdown::Write).unwrap();
            });
            let mut got = Vec::new();
            c.read_to_end(&mut got).unwrap();
            send.join().unwrap();
            assert!(
                got == payload,
                "{} bytes back of {}",
                got.len(),
                payload.len()
            );
        }
        for _ in 0..100 {
            if conns.load(Ordering::SeqCst) == 0 {
                break;
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        assert_eq!(conns.load(Ordering::SeqCst), 0);
        listener.close();
    }
}
