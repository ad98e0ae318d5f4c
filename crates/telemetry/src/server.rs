//! A tiny blocking HTTP/1.1 server for Prometheus scrapes: `GET /metrics` and nothing else.
//!
//! One std thread serves one connection at a time; a scrape every few seconds needs no more.
//! Each connection has read and write timeouts, so a stalled client cannot hold the thread.

use std::io::{self, Read, Write};
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

/// Longest request head read; a scrape's is a few hundred bytes.
const MAX_HEAD_BYTES: usize = 8 * 1024;
/// How long a client may take to send its request or read the answer.
const IO_TIMEOUT: Duration = Duration::from_secs(5);

/// A running metrics server. [`MetricsServer::shutdown`] stops it; dropping it does too.
#[derive(Debug)]
pub struct MetricsServer {
    local_addr: SocketAddr,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

/// Binds `addr` (port 0 picks a free port) and serves `source()` at `GET /metrics` with
/// `200 text/plain; version=0.0.4`; any other request gets `404`. `source` renders the text
/// afresh on each scrape, on the server thread.
pub fn serve_metrics(
    addr: SocketAddr,
    source: Arc<dyn Fn() -> String + Send + Sync>,
) -> io::Result<MetricsServer> {
    let listener = TcpListener::bind(addr)?;
    let local_addr = listener.local_addr()?;
    let stop = Arc::new(AtomicBool::new(false));
    let thread_stop = Arc::clone(&stop);
    let thread = std::thread::Builder::new()
        .name("kestrel-metrics".to_owned())
        .spawn(move || accept_loop(&listener, &thread_stop, &*source))?;
    Ok(MetricsServer {
        local_addr,
        stop,
        thread: Some(thread),
    })
}

impl MetricsServer {
    /// The address actually bound.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// Stops accepting and joins the server thread.
    pub fn shutdown(mut self) {
        self.stop_and_join();
    }

    fn stop_and_join(&mut self) {
        let Some(thread) = self.thread.take() else {
            return;
        };
        self.stop.store(true, Ordering::SeqCst);
        // `accept` blocks; one connection of our own wakes it to see the flag. If that fails
        // the listener is already broken and the loop has ended on the error.
        let _ = TcpStream::connect_timeout(&wake_addr(self.local_addr), IO_TIMEOUT);
        if thread.join().is_err() {
            tracing::error!("metrics server thread panicked");
        }
    }
}

impl Drop for MetricsServer {
    fn drop(&mut self) {
        self.stop_and_join();
    }
}

/// Where to connect to reach a listener bound to `addr` (an unspecified IP means loopback).
fn wake_addr(addr: SocketAddr) -> SocketAddr {
    let ip = match addr.ip() {
        IpAddr::V4(ip) if ip.is_unspecified() => IpAddr::V4(Ipv4Addr::LOCALHOST),
        IpAddr::V6(ip) if ip.is_unspecified() => IpAddr::V6(Ipv6Addr::LOCALHOST),
        ip => ip,
    };
    SocketAddr::new(ip, addr.port())
}

fn accept_loop(
    listener: &TcpListener,
    stop: &AtomicBool,
    source: &(dyn Fn() -> String + Send + Sync),
) {
    for conn in listener.incoming() {
        if stop.load(Ordering::SeqCst) {
            return;
        }
        match conn {
            Ok(stream) => {
                if let Err(e) = serve_one(stream, source) {
                    tracing::debug!(error = %e, "metrics connection failed");
                }
            }
            // Per-connection failures (reset before accept, fd pressure) are not fatal.
            Err(e) => tracing::warn!(error = %e, "metrics accept failed"),
        }
    }
}

fn serve_one(mut stream: TcpStream, source: &(dyn Fn() -> String + Send + Sync)) -> io::Result<()> {
    stream.set_read_timeout(Some(IO_TIMEOUT))?;
    stream.set_write_timeout(Some(IO_TIMEOUT))?;
    let mut head = [0u8; MAX_HEAD_BYTES];
    let Some(len) = read_head(&mut stream, &mut head)? else {
        return respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "bad request\n",
        );
    };
    match route(head.get(..len).unwrap_or_default()) {
        Route::Metrics => respond(
            &mut stream,
            "200 OK",
            "text/plain; version=0.0.4; charset=utf-8",
            &source(),
        ),
        Route::NotFound => respond(&mut stream, "404 Not Found", "text/plain", "not found\n"),
        Route::Bad => respond(
            &mut stream,
            "400 Bad Request",
            "text/plain",
            "bad request\n",
        ),
    }
}

/// Reads until the blank line that ends the request head. `None` if the client closed first or
/// the head does not fit.
fn read_head(stream: &mut TcpStream, buf: &mut [u8]) -> io::Result<Option<usize>> {
    let mut len = 0;
    loop {
        let Some(free) = buf.get_mut(len..).filter(|f| !f.is_empty()) else {
            return Ok(None);
        };
        let n = stream.read(free)?;
        if n == 0 {
            return Ok(None);
        }
        len += n;
        if buf
            .get(..len)
            .is_some_and(|h| h.windows(4).any(|w| w == b"\r\n\r\n"))
        {
            return Ok(Some(len));
        }
    }
}

#[derive(Debug, PartialEq, Eq)]
enum Route {
    Metrics,
    NotFound,
    Bad,
}

/// Routes on the request line `METHOD TARGET VERSION`.
fn route(head: &[u8]) -> Route {
    let line = head.split(|&b| b == b'\r').next().unwrap_or_default();
    let mut parts = line.split(|&b| b == b' ');
    let (Some(method), Some(target), Some(version), None) =
        (parts.next(), parts.next(), parts.next(), parts.next())
    else {
        return Route::Bad;
    };
    if !version.starts_with(b"HTTP/1.") {
        return Route::Bad;
    }
    let path = target.split(|&b| b == b'?').next().unwrap_or_default();
    if method == b"GET" && path == b"/metrics" {
        Route::Metrics
    } else {
        Route::NotFound
    }
}

fn respond(stream: &mut TcpStream, status: &str, content_type: &str, body: &str) -> io::Result<()> {
    let head = format!(
        "HTTP/1.1 {status}\r\nContent-Type: {content_type}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    stream.write_all(head.as_bytes())?;
    stream.write_all(body.as_bytes())?;
    stream.flush()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn routes_by_method_and_path() {
        assert_eq!(
            route(b"GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(
            route(b"GET /metrics?name[]=x HTTP/1.0\r\n\r\n"),
            Route::Metrics
        );
        assert_eq!(route(b"GET / HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"GET /metricsx HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"POST /metrics HTTP/1.1\r\n\r\n"), Route::NotFound);
        assert_eq!(route(b"GET /metrics\r\n\r\n"), Route::Bad);
        assert_eq!(route(b"GET /metrics SPDY/3 extra\r\n\r\n"), Route::Bad);
        assert_eq!(route(b""), Route::Bad);
    }

    #[test]
    fn wake_address_of_an_unspecified_bind_is_loopback() {
        let any: SocketAddr = "0.0.0.0:9100".parse().unwrap();
        assert_eq!(wake_addr(any), "127.0.0.1:9100".parse().unwrap());
        let any6: SocketAddr = "[::]:9100".parse().unwrap();
        assert_eq!(wake_addr(any6), "[::1]:9100".parse().unwrap());
        let exact: SocketAddr = "10.0.0.2:9100".parse().unwrap();
        assert_eq!(wake_addr(exact), exact);
    }
}
