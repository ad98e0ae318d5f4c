//! A loopback TCP proxy that passes bytes both ways (TLS included, untouched) and can hold a
//! connection (accept it, then neither forward nor answer it, as a peer that stalls mid-
//! handshake does) or go down for a while (close every connection and stop listening, so that
//! connects are refused, then listen again on the same port). The tests of "a connection being
//! redialed is not ready yet" run through it.

use std::{
    io,
    net::{Shutdown, SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
    },
    thread,
    time::Duration,
};

/// What the accept loop and the test share.
#[derive(Debug, Default)]
struct Shared {
    accepted: AtomicU64,
    /// Hold the next connection accepted.
    hold_next: AtomicBool,
    /// The connections held, kept open until the proxy is dropped.
    held: Mutex<Vec<TcpStream>>,
    /// Both sockets of every forwarded connection, for [`TcpProxy::pause`] to close.
    forwarded: Mutex<Vec<TcpStream>>,
    /// Not listening, as asked by [`TcpProxy::pause`].
    paused: AtomicBool,
    /// Whether the accept thread has its listener open.
    listening: AtomicBool,
    stop: AtomicBool,
}

/// A running proxy; stops accepting and closes the held connections when dropped (forwarded
/// connections end with their peers).
#[derive(Debug)]
pub struct TcpProxy {
    addr: SocketAddr,
    shared: Arc<Shared>,
}

impl TcpProxy {
    /// A proxy on a free loopback port in front of `upstream`.
    pub fn start(upstream: SocketAddr) -> io::Result<TcpProxy> {
        let first = TcpListener::bind("127.0.0.1:0")?;
        let addr = first.local_addr()?;
        first.set_nonblocking(true)?;
        let shared = Arc::new(Shared::default());
        shared.listening.store(true, Ordering::Release);
        let s = Arc::clone(&shared);
        thread::Builder::new()
            .name("testkit-tcp-proxy".into())
            .spawn(move || {
                let mut listener = Some(first);
                while !s.stop.load(Ordering::Relaxed) {
                    if s.paused.load(Ordering::Acquire) {
                        listener = None;
                        s.listening.store(false, Ordering::Release);
                        thread::sleep(Duration::from_millis(2));
                        continue;
                    }
                    if listener.is_none() {
                        // std sets SO_REUSEADDR, so the port is taken back at once.
                        listener = TcpListener::bind(addr)
                            .and_then(|l| l.set_nonblocking(true).map(|()| l))
                            .ok();
                        s.listening.store(listener.is_some(), Ordering::Release);
                    }
                    let Some(Ok((client, _))) = listener.as_ref().map(TcpListener::accept) else {
                        thread::sleep(Duration::from_millis(2));
                        continue;
                    };
                    if client.set_nonblocking(false).is_err() {
                        continue;
                    }
                    if s.hold_next.swap(false, Ordering::AcqRel) {
                        if let Ok(mut held) = s.held.lock() {
                            held.push(client);
                        }
                    } else {
                        forward(client, upstream, &s);
                    }
                    // Counted once held or forwarding, so a test that sees the count can act.
                    s.accepted.fetch_add(1, Ordering::AcqRel);
                }
            })?;
        Ok(TcpProxy { addr, shared })
    }

    /// The address clients connect to.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// Hold the next connection accepted instead of forwarding it.
    pub fn hold_next(&self) {
        self.shared.hold_next.store(true, Ordering::Release);
    }

    /// Connections accepted so far (held ones included).
    pub fn accepted(&self) -> u64 {
        self.shared.accepted.load(Ordering::Acquire)
    }

    /// Connections held so far.
    pub fn held(&self) -> usize {
        self.shared.held.lock().map(|h| h.len()).unwrap_or(0)
    }

    /// Goes down: closes every forwarded connection and stops listening (connects are refused)
    /// until [`TcpProxy::resume`]. Returns once the listener is closed.
    pub fn pause(&self) {
        self.shared.paused.store(true, Ordering::Release);
        close_all(&self.shared.forwarded);
        self.wait_listening(false);
    }

    /// Listens again on the same port; returns once it does.
    pub fn resume(&self) {
        self.shared.paused.store(false, Ordering::Release);
        self.wait_listening(true);
    }

    fn wait_listening(&self, listening: bool) {
        let deadline = std::time::Instant::now() + Duration::from_secs(5);
        while self.shared.listening.load(Ordering::Acquire) != listening
            && std::time::Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(1));
        }
    }
}

fn close_all(sockets: &Mutex<Vec<TcpStream>>) {
    let sockets = sockets
        .lock()
        .map(|mut s| std::mem::take(&mut *s))
        .unwrap_or_default();
    for socket in sockets {
        let _ = socket.shutdown(Shutdown::Both);
    }
}

impl Drop for TcpProxy {
    fn drop(&mut self) {
        self.shared.stop.store(true, Ordering::Relaxed);
        close_all(&self.shared.held);
    }
}

/// Connects to `upstream` and copies both ways on two threads; when either side ends, both
/// sockets are shut down, so each peer sees the other's close.
fn forward(client: TcpStream, upstream: SocketAddr, shared: &Shared) {
    let Ok(server) = TcpStream::connect(upstream) else {
        let _ = client.shutdown(Shutdown::Both);
        return;
    };
    let _ = server.set_nodelay(true);
    let _ = client.set_nodelay(true);
    if let (Ok(mut forwarded), Ok(c), Ok(s)) = (
        shared.forwarded.lock(),
        client.try_clone(),
        server.try_clone(),
    ) {
        forwarded.extend([c, s]);
    }
    for (from, to) in [(&client, &server), (&server, &client)] {
        let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
            continue;
        };
        let _ = thread::Builder::new()
            .name("testkit-tcp-proxy-pipe".into())
            .spawn(move || {
                let _ = io::copy(&mut from, &mut to);
                let _ = from.shutdown(Shutdown::Both);
                let _ = to.shutdown(Shutdown::Both);
            });
    }
}
