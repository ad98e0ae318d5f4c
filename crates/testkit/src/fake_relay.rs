//! A fake Flashbots-style relay on loopback.
//!
//! It runs an axum server on a background thread with its own tokio runtime, answers `POST /`
//! JSON-RPC `eth_sendBundle` and `eth_callBundle`, and verifies `X-Flashbots-Signature` over the
//! exact body bytes with [`kestrel_fire::verify_flashbots_signature`]. A missing or invalid
//! signature gets HTTP 403 and a JSON-RPC error; a valid bundle is recorded and answered with its
//! `bundleHash` (keccak256 of the concatenated transaction hashes).
//!
//! [`FakeRelay::start_tls`] serves the same over `https://` with the test certificate
//! ([`crate::tls`]), as the real relays do.

use std::{
    net::SocketAddr,
    sync::{
        Arc, Mutex,
        atomic::{AtomicU64, Ordering},
    },
    thread::JoinHandle,
};

use anyhow::Context as _;
use axum::{
    Json, Router,
    body::Bytes,
    extract::State,
    http::{HeaderMap, StatusCode},
    routing::post,
};
use kestrel_fire::verify_flashbots_signature;
use kestrel_types::{Address, keccak256};
use serde_json::{Value, json};
use tokio::sync::oneshot;

/// A bundle the relay accepted.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ReceivedBundle {
    /// `eth_sendBundle` or `eth_callBundle`.
    pub method: String,
    /// Raw transactions, in bundle order.
    pub txs: Vec<Vec<u8>>,
    /// The `blockNumber` the bundle targets.
    pub block: u64,
    /// The address that signed the `X-Flashbots-Signature` header.
    pub signer: Address,
}

/// What the server task and the test share.
#[derive(Debug, Default)]
struct Shared {
    bundles: Mutex<Vec<ReceivedBundle>>,
    connections: AtomicU64,
    /// A handle on every accepted socket, for [`FakeRelay::close_connections`].
    sockets: Mutex<Vec<std::net::TcpStream>>,
    tls_failures: AtomicU64,
    rejected: AtomicU64,
}

/// A running fake relay; stops when dropped.
#[derive(Debug)]
pub struct FakeRelay {
    addr: SocketAddr,
    tls: bool,
    shared: Arc<Shared>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl FakeRelay {
    /// Starts on `127.0.0.1` and a free port.
    pub fn start() -> anyhow::Result<FakeRelay> {
        Self::start_on(0)
    }

    /// Starts on `127.0.0.1:port` (0 for any); used to restart a relay on the same port.
    pub fn start_on(port: u16) -> anyhow::Result<FakeRelay> {
        Self::start_with(port, None)
    }

    /// Starts over TLS (the test certificate, for `127.0.0.1` and `localhost`) on a free port.
    /// Clients must trust the test CA ([`crate::tls::trust_test_ca`]).
    pub fn start_tls() -> anyhow::Result<FakeRelay> {
        Self::start_with(0, Some(crate::tls::server_config()))
    }

    fn start_with(port: u16, tls: Option<Arc<rustls::ServerConfig>>) -> anyhow::Result<FakeRelay> {
        // std sets SO_REUSEADDR on Unix, so a restart can rebind while old sockets sit in TIME_WAIT.
        let listener =
            std::net::TcpListener::bind(("127.0.0.1", port)).context("binding the fake relay")?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let shared = Arc::new(Shared::default());
        let (shutdown, stop_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let task_shared = Arc::clone(&shared);
        let tls_on = tls.is_some();
        let thread = std::thread::Builder::new()
            .name("fake-relay".into())
            .spawn(move || runtime.block_on(serve(listener, tls, task_shared, stop_rx)))?;
        Ok(FakeRelay {
            addr,
            tls: tls_on,
            shared,
            shutdown: Some(shutdown),
            thread: Some(thread),
        })
    }

    /// `http://127.0.0.1:PORT/`, or `https://` when started with [`FakeRelay::start_tls`].
    pub fn url(&self) -> String {
        let scheme = if self.tls { "https" } else { "http" };
        format!("{scheme}://{}/", self.addr)
    }

    /// TLS handshakes that failed (or timed out) on an https relay.
    pub fn tls_failures(&self) -> u64 {
        self.shared.tls_failures.load(Ordering::Relaxed)
    }

    /// The port it listens on.
    pub fn port(&self) -> u16 {
        self.addr.port()
    }

    /// Bundles accepted so far, in arrival order.
    pub fn bundles(&self) -> Vec<ReceivedBundle> {
        self.shared
            .bundles
            .lock()
            .map(|b| b.clone())
            .unwrap_or_default()
    }

    /// TCP connections accepted so far (one per client that keeps its connection alive).
    pub fn connections_accepted(&self) -> u64 {
        self.shared.connections.load(Ordering::Acquire)
    }

    /// Closes every connection the relay holds, as a relay's idle timeout does (the listener
    /// stays up).
    pub fn close_connections(&self) {
        let sockets = self
            .shared
            .sockets
            .lock()
            .map(|mut s| std::mem::take(&mut *s))
            .unwrap_or_default();
        for socket in sockets {
            // Already closed by the client is fine.
            let _ = socket.shutdown(std::net::Shutdown::Both);
        }
    }

    /// Requests refused for a missing or invalid signature.
    pub fn rejected(&self) -> u64 {
        self.shared.rejected.load(Ordering::Relaxed)
    }

    /// Stops the server and closes every connection before returning.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            // The runtime is dropped at the end of the thread, which closes open connections.
            let _ = thread.join();
        }
    }
}

impl Drop for FakeRelay {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// Serves until told to stop. Returning drops the runtime's tasks, closing their connections.
async fn serve(
    listener: std::net::TcpListener,
    tls: Option<Arc<rustls::ServerConfig>>,
    shared: Arc<Shared>,
    stop: oneshot::Receiver<()>,
) {
    let Ok(listener) = tokio::net::TcpListener::from_std(listener) else {
        return;
    };
    let app = Router::new()
        .route("/", post(handle))
        .with_state(Arc::clone(&shared));
    let listener = Tracked {
        inner: listener,
        shared: Arc::clone(&shared),
    };
    match tls {
        None => {
            tokio::select! {
                _ = axum::serve(listener, app) => {}
                _ = stop => {}
            }
        }
        Some(config) => {
            let listener = TlsListener {
                inner: listener,
                acceptor: tokio_rustls::TlsAcceptor::from(config),
                shared,
            };
            tokio::select! {
                _ = axum::serve(listener, app) => {}
                _ = stop => {}
            }
        }
    }
}

/// Accepts TCP connections, counting each and keeping a handle to close it with.
struct Tracked {
    inner: tokio::net::TcpListener,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for Tracked {
    type Io = tokio::net::TcpStream;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let Ok((sock, addr)) = self.inner.accept().await else {
                tokio::time::sleep(std::time::Duration::from_millis(10)).await;
                continue;
            };
            // A second descriptor on the socket: shutting it down closes the connection.
            let handle = sock
                .into_std()
                .and_then(|std| Ok((std.try_clone()?, std)))
                .and_then(|(handle, std)| Ok((handle, tokio::net::TcpStream::from_std(std)?)));
            let Ok((handle, sock)) = handle else {
                continue;
            };
            if let Ok(mut sockets) = self.shared.sockets.lock() {
                sockets.push(handle);
            }
            // Counted once it can be closed, so that a test that saw the count can close it.
            self.shared.connections.fetch_add(1, Ordering::Release);
            return (sock, addr);
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// Accepts TCP connections and completes each one's TLS handshake before handing it to axum;
/// a failed or stalled handshake is counted and skipped.
struct TlsListener {
    inner: Tracked,
    acceptor: tokio_rustls::TlsAcceptor,
    shared: Arc<Shared>,
}

impl axum::serve::Listener for TlsListener {
    type Io = tokio_rustls::server::TlsStream<tokio::net::TcpStream>;
    type Addr = SocketAddr;

    async fn accept(&mut self) -> (Self::Io, Self::Addr) {
        loop {
            let (sock, addr) = self.inner.accept().await;
            let handshake = self.acceptor.accept(sock);
            match tokio::time::timeout(std::time::Duration::from_secs(5), handshake).await {
                Ok(Ok(stream)) => return (stream, addr),
                _ => {
                    self.shared.tls_failures.fetch_add(1, Ordering::Relaxed);
                }
            }
        }
    }

    fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}

/// One JSON-RPC request: check the signature, then parse and record the bundle.
async fn handle(
    State(shared): State<Arc<Shared>>,
    headers: HeaderMap,
    body: Bytes,
) -> (StatusCode, Json<Value>) {
    let request: Option<Value> = serde_json::from_slice(&body).ok();
    let id = request
        .as_ref()
        .and_then(|r| r.get("id"))
        .cloned()
        .unwrap_or(Value::Null);
    let header = headers
        .get("x-flashbots-signature")
        .and_then(|h| h.to_str().ok());
    let Some(Ok(signer)) = header.map(|h| verify_flashbots_signature(h, &body)) else {
        shared.rejected.fetch_add(1, Ordering::Relaxed);
        return rpc_error(
            StatusCode::FORBIDDEN,
            id,
            -32600,
            "invalid flashbots signature",
        );
    };
    let Some(request) = request else {
        return rpc_error(StatusCode::BAD_REQUEST, id, -32700, "parse error");
    };
    let bundle = match parse_bundle(&request, signer) {
        Ok(b) => b,
        Err((code, message)) => return rpc_error(StatusCode::BAD_REQUEST, id, code, message),
    };
    let hashes: Vec<_> = bundle.txs.iter().map(keccak256).collect();
    let bundle_hash = keccak256(hashes.iter().flat_map(|h| h.0).collect::<Vec<u8>>());
    let result = if bundle.method == "eth_callBundle" {
        let results: Vec<Value> = hashes
            .iter()
            .map(|h| json!({ "txHash": h.to_string() }))
            .collect();
        json!({ "bundleHash": bundle_hash.to_string(), "results": results })
    } else {
        json!({ "bundleHash": bundle_hash.to_string() })
    };
    if let Ok(mut b) = shared.bundles.lock() {
        b.push(bundle);
    }
    (
        StatusCode::OK,
        Json(json!({ "jsonrpc": "2.0", "id": id, "result": result })),
    )
}

fn rpc_error(status: StatusCode, id: Value, code: i64, message: &str) -> (StatusCode, Json<Value>) {
    (
        status,
        Json(json!({ "jsonrpc": "2.0", "id": id, "error": { "code": code, "message": message } })),
    )
}

/// The bundle in an `eth_sendBundle` / `eth_callBundle` request, or a JSON-RPC error.
fn parse_bundle(request: &Value, signer: Address) -> Result<ReceivedBundle, (i64, &'static str)> {
    let method = request
        .get("method")
        .and_then(Value::as_str)
        .ok_or((-32600, "missing method"))?;
    if method != "eth_sendBundle" && method != "eth_callBundle" {
        return Err((-32601, "method not found"));
    }
    let params = request
        .pointer("/params/0")
        .ok_or((-32602, "missing params"))?;
    let txs = params
        .get("txs")
        .and_then(Value::as_array)
        .ok_or((-32602, "missing txs"))?
        .iter()
        .map(|t| {
            t.as_str()
                .and_then(|s| hex::decode(s.strip_prefix("0x").unwrap_or(s)).ok())
        })
        .collect::<Option<Vec<_>>>()
        .ok_or((-32602, "txs must be 0x-prefixed hex"))?;
    let block = params
        .get("blockNumber")
        .and_then(Value::as_str)
        .and_then(|s| u64::from_str_radix(s.strip_prefix("0x")?, 16).ok())
        .ok_or((-32602, "blockNumber must be a hex quantity"))?;
    Ok(ReceivedBundle {
        method: method.to_owned(),
        txs,
        block,
        signer,
    })
}
