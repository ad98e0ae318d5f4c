//! A loopback HTTP/1.1 proxy that passes requests to a venue and its answers back, except where
//! a rule says to lose an answer: the tests of "the order went through but its answer did not"
//! (a dropped connection, a silent peer, a `503`) run through it.
//!
//! Each client connection gets its own upstream connection; requests and answers are framed by
//! their head and `Content-Length` (what the simulated venues send). Every request line is
//! recorded in arrival order, so a test can check what was asked after a loss.

use std::{
    io::{self, Read, Write},
    net::{SocketAddr, TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, Ordering},
    },
    thread,
    time::Duration,
};

/// What the proxy does with one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Verdict {
    /// Pass it on and pass its answer back.
    Pass,
    /// Pass it on (the venue acts on it), then close the client's connection instead of
    /// answering.
    ForwardThenClose,
    /// Pass it on, then neither answer nor close until the client gives up.
    ForwardThenSilent,
    /// Pass it on, then answer with this status and an empty body in place of the venue's.
    ForwardThenRefuse(u16),
    /// Answer with this status and an empty body, without passing it on.
    Refuse(u16),
}

/// Decides each request's fate from its request line (`POST /api/v3/order HTTP/1.1`) and the
/// number of requests seen before it.
pub type Rule = Box<dyn FnMut(&str, usize) -> Verdict + Send>;

/// A running proxy; stops accepting when dropped (open connections end with their peers).
pub struct HttpProxy {
    addr: SocketAddr,
    seen: Arc<Mutex<Vec<String>>>,
    stop: Arc<AtomicBool>,
}

impl std::fmt::Debug for HttpProxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpProxy")
            .field("addr", &self.addr)
            .finish_non_exhaustive()
    }
}

impl HttpProxy {
    /// A proxy on a free loopback port in front of `upstream`, deciding by `rule`.
    pub fn start(upstream: SocketAddr, rule: Rule) -> io::Result<HttpProxy> {
        let listener = TcpListener::bind("127.0.0.1:0")?;
        let addr = listener.local_addr()?;
        listener.set_nonblocking(true)?;
        let seen = Arc::new(Mutex::new(Vec::new()));
        let stop = Arc::new(AtomicBool::new(false));
        let rule = Arc::new(Mutex::new(rule));
        let (log, halt) = (Arc::clone(&seen), Arc::clone(&stop));
        thread::Builder::new()
            .name("testkit-http-proxy".into())
            .spawn(move || {
                while !halt.load(Ordering::Relaxed) {
                    match listener.accept() {
                        Ok((client, _)) => {
                            let (log, rule) = (Arc::clone(&log), Arc::clone(&rule));
                            let _ = thread::Builder::new()
                                .name("testkit-http-proxy-conn".into())
                                .spawn(move || serve(client, upstream, &log, &rule));
                        }
                        Err(_) => thread::sleep(Duration::from_millis(2)),
                    }
                }
            })?;
        Ok(HttpProxy { addr, seen, stop })
    }

    /// Where clients connect.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// Every request line seen so far, in order.
    pub fn requests(&self) -> Vec<String> {
        self.seen.lock().map(|s| s.clone()).unwrap_or_default()
    }
}

impl Drop for HttpProxy {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

/// Carries one client connection's requests until either side closes.
fn serve(
    mut client: TcpStream,
    upstream: SocketAddr,
    seen: &Mutex<Vec<String>>,
    rule: &Mutex<Rule>,
) {
    let _ = client.set_nonblocking(false);
    let Ok(mut venue) = TcpStream::connect(upstream) else {
        return;
    };
    while let Some(request) = read_message(&mut client) {
        let line = String::from_utf8_lossy(&request)
            .lines()
            .next()
            .unwrap_or_default()
            .to_owned();
        let verdict = {
            let Ok(mut log) = seen.lock() else { return };
            let n = log.len();
            log.push(line.clone());
            drop(log);
            match rule.lock() {
                Ok(mut rule) => rule(&line, n),
                Err(_) => return,
            }
        };
        if let Verdict::Refuse(status) = verdict {
            if client.write_all(&refusal(status)).is_err() {
                return;
            }
            continue;
        }
        if venue.write_all(&request).is_err() {
            return;
        }
        let Some(answer) = read_message(&mut venue) else {
            return;
        };
        match verdict {
            Verdict::ForwardThenClose => return,
            Verdict::ForwardThenSilent => {
                let mut sink = [0u8; 1024];
                while matches!(client.read(&mut sink), Ok(n) if n > 0) {}
                return;
            }
            Verdict::ForwardThenRefuse(status) => {
                if client.write_all(&refusal(status)).is_err() {
                    return;
                }
            }
            // `Refuse` was answered above, before anything reached the venue.
            Verdict::Pass | Verdict::Refuse(_) => {
                if client.write_all(&answer).is_err() {
                    return;
                }
            }
        }
    }
}

/// An empty answer with `status`.
fn refusal(status: u16) -> Vec<u8> {
    let reason = match status {
        429 => "Too Many Requests",
        500 => "Internal Server Error",
        502 => "Bad Gateway",
        503 => "Service Unavailable",
        504 => "Gateway Timeout",
        _ => "Refused",
    };
    format!("HTTP/1.1 {status} {reason}\r\nContent-Length: 0\r\n\r\n").into_bytes()
}

/// One HTTP/1.1 message (head and `Content-Length` body) off `stream`; `None` once it closes
/// (or sends a head over 64 KiB).
fn read_message(stream: &mut TcpStream) -> Option<Vec<u8>> {
    let mut msg = Vec::new();
    let mut byte = [0u8; 1];
    while !msg.ends_with(b"\r\n\r\n") {
        if msg.len() > 64 * 1024 {
            return None;
        }
        match stream.read(&mut byte) {
            Ok(1) => msg.push(byte[0]),
            _ => return None,
        }
    }
    let head = String::from_utf8_lossy(&msg).to_ascii_lowercase();
    let length = head
        .lines()
        .find_map(|l| l.strip_prefix("content-length:"))
        .map_or(Some(0), |v| v.trim().parse::<usize>().ok())?;
    let mut body = vec![0u8; length];
    stream.read_exact(&mut body).ok()?;
    msg.extend_from_slice(&body);
    Some(msg)
}
