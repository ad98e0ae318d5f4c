//! The node connection of the hot thread: a blocking WebSocket subscribed to full pending
//! transactions and new heads, with reconnect and resubscribe, and the thread loop around it.

use std::thread::JoinHandle;
use std::time::Duration;

use crate::ipc::{IpcError, IpcStream};
use crate::pipeline::Pipeline;
use crate::wsclient::{WsClient, WsError};
use kestrel_bus::pool::{PoolError, PoolStats};
use kestrel_bus::{PinOutcome, ShutdownFlag, WaitStrategy, pin_current_thread};
use kestrel_stdx::mono_ns;
use kestrel_telemetry::StageRecorder;

/// Where the node's pending-transaction stream is.
#[derive(Clone, Debug)]
pub enum NodeEndpoint {
    /// `ws://host:port[/path]`.
    Ws(String),
    /// A Unix socket path (geth/reth/anvil `--ipc`): preferred to WebSocket on the same host.
    Ipc(std::path::PathBuf),
}

/// How to reach the node.
#[derive(Clone, Debug)]
pub struct NodeStreamConfig {
    /// WebSocket URL or IPC path.
    pub endpoint: NodeEndpoint,
    /// How the thread waits for the next frame.
    pub wait: WaitStrategy,
}

/// A subscribed connection to the node.
#[derive(Debug)]
pub enum NodeStream {
    /// Over WebSocket.
    Ws(Box<WsClient>),
    /// Over IPC.
    Ipc(IpcStream),
}

/// Why the node stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum NodeError {
    /// WebSocket failure or close.
    #[error("websocket: {0}")]
    Ws(#[from] WsError),
    /// IPC failure or close.
    #[error(transparent)]
    Ipc(#[from] IpcError),
    /// Socket setup failed.
    #[error("socket: {0}")]
    Io(#[from] std::io::Error),
}

/// How long a blocking read waits before the loop checks for shutdown.
const PARK_READ_TIMEOUT: Duration = Duration::from_millis(50);

/// The id of each connection's `eth_subscribe` request for full pending transactions.
pub const PENDING_SUBSCRIPTION_ID: u64 = 1;
/// The id of each connection's `eth_subscribe` request for new heads.
pub const HEADS_SUBSCRIPTION_ID: u64 = 2;

/// What the subscription request `request_id` asks for, for logs.
pub fn subscription_name(request_id: u64) -> &'static str {
    match request_id {
        PENDING_SUBSCRIPTION_ID => "newPendingTransactions",
        HEADS_SUBSCRIPTION_ID => "newHeads",
        _ => "unknown",
    }
}

impl NodeStream {
    /// Connects and subscribes to `newPendingTransactions` (full bodies) and `newHeads`.
    pub fn connect(cfg: &NodeStreamConfig) -> Result<NodeStream, NodeError> {
        let subs = [
            kestrel_wire::subscribe_request(PENDING_SUBSCRIPTION_ID, true),
            kestrel_wire::subscribe_heads_request(HEADS_SUBSCRIPTION_ID),
        ];
        let blocking = matches!(cfg.wait, WaitStrategy::Park(_));
        match &cfg.endpoint {
            NodeEndpoint::Ipc(path) => {
                let timeout = blocking.then_some(PARK_READ_TIMEOUT);
                Ok(NodeStream::Ipc(IpcStream::connect(path, &subs, timeout)?))
            }
            NodeEndpoint::Ws(url) => {
                // The node's stream feeds the hot thread: no TLS there (the venue clients are
                // the only TLS users of `WsClient`).
                if !url.starts_with("ws://") {
                    return Err(NodeError::Ws(WsError::BadUrl(
                        "the node stream takes ws:// only (no TLS on the hot path): use a ws:// \
                         or IPC endpoint on the node's host",
                    )));
                }
                let mut ws = WsClient::connect(url, blocking.then_some(PARK_READ_TIMEOUT))?;
                for sub in subs {
                    ws.send_text(sub.as_bytes())?;
                }
                Ok(NodeStream::Ws(Box::new(ws)))
            }
        }
    }

    /// Hands every frame ready now to `on_frame`; returns how many (0: nothing ready yet).
    pub fn poll(&mut self, on_frame: &mut dyn FnMut(&[u8])) -> Result<usize, NodeError> {
        match self {
            NodeStream::Ipc(ipc) => Ok(ipc.poll(on_frame)?),
            NodeStream::Ws(ws) => Ok(ws.poll(on_frame)?),
        }
    }
}

/// How the hot thread runs.
#[derive(Clone, Debug)]
pub struct HotThreadConfig {
    /// Node connection.
    pub node: NodeStreamConfig,
    /// Core to pin to, if any.
    pub core: Option<usize>,
}

/// What the hot thread hands back when it stops.
#[derive(Debug)]
pub struct HotThreadReport {
    /// Stage latencies over the whole run.
    pub recorder: StageRecorder,
    /// Reconnects to the node (each is a possible gap in the pending stream).
    pub reconnects: u64,
    /// Attempts to connect (and subscribe) that failed, each retried after a backoff.
    pub connect_failures: u64,
    /// Whether pinning took.
    pub pinned: PinOutcome,
    /// The thread's allocation pool at the end of the run (what revm confirmation took from
    /// it, and any overflow to the system allocator), or why it has none.
    pub pool: Result<PoolStats, PoolError>,
}

/// Bytes of the pool the hot thread reserves at start-up for what revm allocates while it
/// confirms a backrun (call frames, storage tables, logs); see [`kestrel_bus::pool`]. A victim +
/// backrun run holds well under 1 MiB at its peak; the rest is headroom for larger calls.
pub const HOT_POOL_BYTES: usize = 16 << 20;

/// Spawns the hot thread. It runs until `shutdown` is set.
pub fn run_hot_thread(
    cfg: HotThreadConfig,
    mut pipeline: Pipeline,
    shutdown: ShutdownFlag,
) -> std::io::Result<JoinHandle<HotThreadReport>> {
    std::thread::Builder::new()
        .name("kestrel-hot".into())
        .spawn(move || {
            let pinned = pin_current_thread(cfg.core);
            // Reserved once, here, before the first frame; handed back when the thread ends.
            let reserved = kestrel_bus::pool::reserve_for_current_thread(HOT_POOL_BYTES);
            let mut reconnects = 0u64;
            let mut connect_failures = 0u64;
            let mut backoff = Duration::from_millis(50);
            while !shutdown.is_set() {
                let mut stream = match NodeStream::connect(&cfg.node) {
                    Ok(s) => s,
                    Err(_) => {
                        connect_failures += 1;
                        pipeline.note_connect_failure();
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                };
                backoff = Duration::from_millis(50);
                pipeline.note_connected();
                read_until_error(&mut stream, &mut pipeline, &shutdown, cfg.node.wait);
                if !shutdown.is_set() {
                    reconnects += 1;
                    pipeline.note_reconnect(reconnects);
                }
            }
            let pool = reserved.map(|()| kestrel_bus::pool::stats().unwrap_or_default());
            kestrel_bus::pool::release_current_thread();
            HotThreadReport {
                recorder: pipeline.recorder().clone(),
                reconnects,
                connect_failures,
                pinned,
                pool,
            }
        })
}

fn read_until_error(
    stream: &mut NodeStream,
    pipeline: &mut Pipeline,
    shutdown: &ShutdownFlag,
    wait: WaitStrategy,
) {
    let mut spins = 0u32;
    while !shutdown.is_set() {
        let mut on_frame = |frame: &[u8]| pipeline.on_frame(frame, mono_ns());
        match stream.poll(&mut on_frame) {
            Ok(0) if matches!(wait, WaitStrategy::Park(_)) => {}
            // A parked stream already waited inside the blocking read.
            Ok(0) => wait.idle(&mut spins),
            Ok(_) => spins = 0,
            Err(_) => return,
        }
    }
}
