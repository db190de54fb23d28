//! The daemon's side of the forwarder: the stable port's listener, and each generation's backends with their shared connection count.

use std::collections::BTreeMap;
use std::io;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};

use super::forward::{self, Backends, Listener};
use super::machine::{Backend, GenId};

/// The stable port and where its connections go.
#[derive(Debug, Default)]
pub(super) struct Traffic {
    backends: Arc<Backends>,
    listener: Mutex<Option<Listener>>,
    /// Open connections per generation, shared by its backends.
    conns: Mutex<BTreeMap<GenId, Arc<AtomicUsize>>>,
}

fn lock<T>(mutex: &Mutex<T>) -> MutexGuard<'_, T> {
    mutex.lock().unwrap_or_else(|e| e.into_inner())
}

impl Traffic {
    /// Listens on `port`, replacing a listener on another port; whether it opened a new one.
    pub fn listen(&self, port: u16) -> io::Result<bool> {
        let mut listener = lock(&self.listener);
        if listener.as_ref().is_some_and(|l| l.port() == port) {
            return Ok(false);
        }
        let new = Listener::open(port, self.backends.clone())?;
        if let Some(old) = listener.replace(new) {
            old.close();
        }
        Ok(true)
    }

    /// The port it listens on.
    pub fn port(&self) -> Option<u16> {
        lock(&self.listener).as_ref().map(Listener::port)
    }

    /// Stops listening (connections in flight go on).
    pub fn close(&self) {
        if let Some(l) = lock(&self.listener).take() {
            l.close();
        }
    }

    /// Turns maintenance mode on or off (see [`Backends::set_maintenance`]).
    pub fn set_maintenance(&self, on: bool) {
        self.backends.set_maintenance(on);
    }

    /// Replaces every backend.
    pub fn set(&self, list: &[Backend]) {
        self.backends
            .set(list.iter().map(|b| self.backend(*b)).collect());
    }

    /// Adds one backend.
    pub fn add(&self, backend: Backend) {
        self.backends.add(self.backend(backend));
    }

    /// Removes the backend on `port`.
    pub fn remove(&self, port: u16) {
        self.backends.remove(addr(port));
    }

    /// Whether no connection to `generation` is open.
    pub fn is_drained(&self, generation: GenId) -> bool {
        lock(&self.conns)
            .get(&generation)
            .is_none_or(|n| n.load(Ordering::SeqCst) == 0)
    }

    /// Forgets the counts of generations that are gone.
    pub fn retain(&self, keep: impl Fn(GenId) -> bool) {
        lock(&self.conns).retain(|g, _| keep(*g));
    }

    fn backend(&self, backend: Backend) -> forward::Backend {
        let conns = lock(&self.conns)
            .entry(backend.generation)
            .or_default()
            .clone();
        forward::Backend {
            addr: addr(backend.port),
            conns,
        }
    }
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}
