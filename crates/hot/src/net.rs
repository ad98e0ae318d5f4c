//! A client connection that is plain TCP or TLS (rustls), for the exchange clients: the venues'
//! endpoints are `wss://` and `https://` only.
//!
//! The handshake is done blocking at connect; afterwards the caller may make the socket
//! non-blocking and read/write as with a `TcpStream` (`WouldBlock` passes through; rustls keeps
//! any TLS bytes it could not yet send and flushes them on the next write).
//!
//! Trust: the Mozilla roots (`webpki-roots`), plus any roots a process adds with
//! [`trust_extra_roots_pem`] before its first TLS connection (tests, or a venue behind a private
//! CA); the roots are `kestrel_fire::tls`'s, shared with the relay connections.

use std::io::{self, Read, Write};
use std::net::{SocketAddr, TcpStream, ToSocketAddrs};
use std::sync::Arc;
use std::time::Duration;

use rustls::pki_types::ServerName;
use rustls::{ClientConfig, ClientConnection, StreamOwned};

pub use kestrel_fire::tls::trust_extra_roots_pem;

/// TLS 1.2 and 1.3 (venues), over the process's roots ([`kestrel_fire::tls::roots`]).
fn client_config() -> io::Result<Arc<ClientConfig>> {
    kestrel_fire::tls::general_config()
}

/// A connected stream, plain or TLS.
#[allow(clippy::large_enum_variant)]
pub enum Conn {
    /// `ws://`, `http://`.
    Plain(TcpStream),
    /// `wss://`, `https://`.
    Tls(Box<StreamOwned<ClientConnection, TcpStream>>),
}

impl std::fmt::Debug for Conn {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let (kind, peer) = match self {
            Conn::Plain(s) => ("plain", s.peer_addr().ok()),
            Conn::Tls(s) => ("tls", s.sock.peer_addr().ok()),
        };
        f.debug_struct("Conn")
            .field("kind", &kind)
            .field("peer", &peer)
            .finish()
    }
}

impl Conn {
    /// Connect to `host:port` within `timeout`; with `tls`, complete a TLS handshake for `host`
    /// (certificate checked against the roots) before returning.
    pub fn connect(host: &str, port: u16, tls: bool, timeout: Duration) -> io::Result<Conn> {
        let addr = (host, port).to_socket_addrs()?.next().ok_or_else(|| {
            io::Error::new(io::ErrorKind::NotFound, format!("{host} does not resolve"))
        })?;
        let sock = TcpStream::connect_timeout(&addr, timeout)?;
        sock.set_nodelay(true)?;
        if !tls {
            return Ok(Conn::Plain(sock));
        }
        sock.set_read_timeout(Some(timeout))?;
        sock.set_write_timeout(Some(timeout))?;
        let name = ServerName::try_from(
            host.trim_start_matches('[')
                .trim_end_matches(']')
                .to_owned(),
        )
        .map_err(|e| {
            io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("TLS name {host:?}: {e}"),
            )
        })?;
        let mut conn = ClientConnection::new(client_config()?, name)
            .map_err(|e| io::Error::other(format!("TLS: {e}")))?;
        let mut sock = sock;
        while conn.is_handshaking() {
            conn.complete_io(&mut sock)?;
        }
        Ok(Conn::Tls(Box::new(StreamOwned::new(conn, sock))))
    }

    fn sock(&self) -> &TcpStream {
        match self {
            Conn::Plain(s) => s,
            Conn::Tls(s) => &s.sock,
        }
    }

    /// The peer's address.
    pub fn peer_addr(&self) -> io::Result<SocketAddr> {
        self.sock().peer_addr()
    }

    /// As `TcpStream::set_nonblocking`.
    pub fn set_nonblocking(&self, on: bool) -> io::Result<()> {
        self.sock().set_nonblocking(on)
    }

    /// As `TcpStream::set_read_timeout`.
    pub fn set_read_timeout(&self, t: Option<Duration>) -> io::Result<()> {
        self.sock().set_read_timeout(t)
    }

    /// Whether this is a TLS connection.
    pub fn is_tls(&self) -> bool {
        matches!(self, Conn::Tls(_))
    }
}

impl Read for Conn {
    fn read(&mut self, buf: &mut [u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.read(buf),
            Conn::Tls(s) => s.read(buf),
        }
    }
}

impl Write for Conn {
    fn write(&mut self, buf: &[u8]) -> io::Result<usize> {
        match self {
            Conn::Plain(s) => s.write(buf),
            Conn::Tls(s) => s.write(buf),
        }
    }

    fn flush(&mut self) -> io::Result<()> {
        match self {
            Conn::Plain(s) => s.flush(),
            Conn::Tls(s) => s.flush(),
        }
    }
}

/// A parsed `scheme://host[:port][/path]` for the venue clients.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Endpoint {
    /// Host as written (IPv6 in brackets).
    pub host: String,
    /// Port (the scheme's default when absent).
    pub port: u16,
    /// `wss`/`https`.
    pub tls: bool,
    /// Path and query, `/` when absent.
    pub path: String,
}

impl Endpoint {
    /// Parses `ws://`, `wss://`, `http://` or `https://` URLs.
    pub fn parse(url: &str) -> Result<Endpoint, &'static str> {
        let (rest, tls, default_port) = if let Some(r) = url.strip_prefix("wss://") {
            (r, true, 443)
        } else if let Some(r) = url.strip_prefix("https://") {
            (r, true, 443)
        } else if let Some(r) = url.strip_prefix("ws://") {
            (r, false, 80)
        } else if let Some(r) = url.strip_prefix("http://") {
            (r, false, 80)
        } else {
            return Err("expected ws://, wss://, http:// or https://");
        };
        let (authority, path) = match rest.find(['/', '?']) {
            Some(i) => (
                rest.get(..i).unwrap_or_default(),
                rest.get(i..).unwrap_or("/"),
            ),
            None => (rest, "/"),
        };
        let path = if path.starts_with('?') {
            format!("/{path}")
        } else {
            path.to_owned()
        };
        let (host, port) = match authority.rsplit_once(':') {
            Some((h, p)) if !authority.ends_with(']') => {
                (h, p.parse::<u16>().map_err(|_| "bad port")?)
            }
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return Err("no host");
        }
        Ok(Endpoint {
            host: host.to_owned(),
            port,
            tls,
            path,
        })
    }

    /// `host:port`, as the Host header and for resolving.
    pub fn authority(&self) -> String {
        format!("{}:{}", self.host, self.port)
    }

    /// Connect (and handshake, for TLS).
    pub fn connect(&self, timeout: Duration) -> io::Result<Conn> {
        Conn::connect(&self.host, self.port, self.tls, timeout)
    }
}

/// A keep-alive order connection over TLS, owned and polled by the exchange lane's thread: the
/// TLS session cannot be split between a writer and a reader thread as a plain socket can (see
/// `kestrel_fire::relay::RelayConn`), so the lane reads its answers itself, non-blocking.
#[derive(Debug)]
pub struct TlsOrderConn {
    index: usize,
    endpoint: Endpoint,
    conn: Option<Conn>,
    /// Answers read so far, framed where the last read stopped (linear in what arrives).
    buf: kestrel_fire::relay::ResponseFramer,
    reconnects: u64,
}

/// How long a TLS order connection may take to (re)connect and handshake.
const ORDER_CONNECT_TIMEOUT: Duration = Duration::from_secs(5);

impl TlsOrderConn {
    /// Connect and handshake to an `https://` endpoint now (so the first order finds it warm);
    /// answers are reported with `index`.
    pub fn connect(index: usize, url: &str) -> io::Result<TlsOrderConn> {
        let endpoint = Endpoint::parse(url)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidInput, format!("{url}: {e}")))?;
        if !endpoint.tls {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                format!("{url}: expected https://"),
            ));
        }
        let mut c = TlsOrderConn {
            index,
            endpoint,
            conn: None,
            buf: kestrel_fire::relay::ResponseFramer::with_capacity(16 * 1024),
            reconnects: 0,
        };
        c.open()?;
        Ok(c)
    }

    fn open(&mut self) -> io::Result<()> {
        let conn = self.endpoint.connect(ORDER_CONNECT_TIMEOUT)?;
        conn.set_nonblocking(true)?;
        self.conn = Some(conn);
        self.buf.clear();
        Ok(())
    }

    /// Reconnects since `connect`.
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Whether the connection is up.
    pub fn is_open(&self) -> bool {
        self.conn.is_some()
    }

    /// Drop the connection (an answer owed on it is taken for lost); the next request
    /// reconnects.
    pub fn close(&mut self) {
        self.conn = None;
        self.buf.clear();
    }

    /// Write one complete request. Reconnects first if the connection is down, but never
    /// writes twice: after a failed write the venue may or may not have the order.
    pub fn send_request(&mut self, request: &[u8]) -> io::Result<()> {
        if self.conn.is_none() {
            self.open()?;
            self.reconnects += 1;
        }
        let Some(conn) = self.conn.as_mut() else {
            return Err(io::ErrorKind::NotConnected.into());
        };
        let result = write_all_nonblocking(conn, request);
        if result.is_err() {
            self.conn = None;
        }
        result
    }

    /// Reads what has arrived and hands every complete answer to `on_reply` (its `relay` is
    /// this connection's index); finishes sending what TLS still buffers. A closed or broken
    /// connection is dropped (the next request reconnects); answers already framed are kept.
    pub fn poll(&mut self, on_reply: &mut dyn FnMut(kestrel_fire::relay::RelayReply)) {
        let Some(conn) = self.conn.as_mut() else {
            return;
        };
        let mut broken = conn
            .flush()
            .is_err_and(|e| e.kind() != io::ErrorKind::WouldBlock);
        let mut chunk = [0u8; 8 * 1024];
        while !broken {
            match conn.read(&mut chunk) {
                Ok(0) => broken = true,
                Ok(n) => self.buf.push(chunk.get(..n).unwrap_or_default()),
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(_) => broken = true,
            }
        }
        loop {
            match self.buf.take() {
                kestrel_fire::relay::Framed::Reply {
                    status,
                    body,
                    limits,
                } => on_reply(kestrel_fire::relay::RelayReply {
                    relay: self.index,
                    status,
                    body,
                    limits,
                    tag: None,
                }),
                kestrel_fire::relay::Framed::Incomplete => break,
                kestrel_fire::relay::Framed::Invalid => {
                    broken = true;
                    break;
                }
            }
        }
        if broken {
            self.conn = None;
        }
    }
}

/// Writes all of `bytes` to a non-blocking connection, waiting out `WouldBlock` for at most
/// the connect timeout (an order request is a few hundred bytes: it fits the socket buffer).
fn write_all_nonblocking(conn: &mut Conn, bytes: &[u8]) -> io::Result<()> {
    let deadline = std::time::Instant::now() + ORDER_CONNECT_TIMEOUT;
    let mut written = 0;
    while written < bytes.len() {
        match conn.write(bytes.get(written..).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::WouldBlock => {
                if std::time::Instant::now() > deadline {
                    return Err(e);
                }
                std::thread::yield_now();
            }
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    // Push the TLS records out now; what cannot go yet goes on the next poll.
    match conn.flush() {
        Err(e) if e.kind() != io::ErrorKind::WouldBlock => Err(e),
        _ => Ok(()),
    }
}
