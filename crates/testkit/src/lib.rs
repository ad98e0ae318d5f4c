//! `kestrel-testkit`: real-wire-format stand-ins that tests (and the sandbox) run Kestrel
//! against, so nothing needs the network to be tested. A dev-dependency only; it never reaches
//! the release binary.
//!
//! - [`fake_relay`]: an HTTP JSON-RPC relay speaking `eth_sendBundle` / `eth_callBundle` that
//!   checks the `X-Flashbots-Signature` header exactly as Flashbots does, records what it accepts,
//!   and counts connections so tests can prove keep-alive.
//! - [`http_proxy`]: an HTTP/1.1 proxy in front of a venue that loses the answers a rule picks
//!   (closes, stays silent, or answers `503` in their place) and records every request line.
//! - [`tcp_proxy`]: a TCP proxy that forwards bytes untouched (TLS too) and can hold a
//!   connection silent, as a peer stalled mid-handshake.
//! - [`tls`]: the test CA and server certificate, for local TLS servers (the fake relay's
//!   `https://` mode among them).
//! - [`free_port`]: a loopback port that was free a moment ago.

#![forbid(unsafe_code)]

pub mod fake_relay;
pub mod http_proxy;
pub mod tcp_proxy;
pub mod tls;

pub use fake_relay::{FakeRelay, ReceivedBundle};

/// A TCP port on 127.0.0.1 that was free when checked (bind to port 0, read it, release it).
///
/// Another process may take it in between; tests that need a fixed port should retry or, better,
/// bind port 0 themselves.
pub fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .map(|a| a.port())
        .unwrap_or(0)
}
