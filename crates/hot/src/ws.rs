//! The node connection of the hot thread: a blocking WebSocket subscribed to full pending
//! transactions and new heads, with reconnect and resubscribe, and the thread loop around it.

use std::io::ErrorKind;
use std::net::TcpStream;
use std::thread::JoinHandle;
use std::time::Duration;

use kestrel_bus::{PinOutcome, ShutdownFlag, WaitStrategy, pin_current_thread};
use kestrel_stdx::mono_ns;
use kestrel_telemetry::StageRecorder;
use kestrel_types::HotEvent;
use tungstenite::stream::MaybeTlsStream;
use tungstenite::{Message, WebSocket};

use crate::pipeline::Pipeline;

/// How to reach the node.
#[derive(Clone, Debug)]
pub struct NodeStreamConfig {
    /// `ws://host:port[/path]`.
    pub url: String,
    /// How the thread waits for the next frame.
    pub wait: WaitStrategy,
}

/// A subscribed WebSocket to the node.
#[derive(Debug)]
pub struct NodeStream {
    ws: WebSocket<MaybeTlsStream<TcpStream>>,
}

/// How long a blocking read waits before the loop checks for shutdown.
const PARK_READ_TIMEOUT: Duration = Duration::from_millis(50);

impl NodeStream {
    /// Connects and subscribes to `newPendingTransactions` (full bodies) and `newHeads`.
    pub fn connect(cfg: &NodeStreamConfig) -> Result<NodeStream, tungstenite::Error> {
        let (mut ws, _) = tungstenite::connect(cfg.url.as_str())?;
        if let MaybeTlsStream::Plain(s) = ws.get_mut() {
            s.set_nodelay(true)?;
            match cfg.wait {
                WaitStrategy::Park(_) => s.set_read_timeout(Some(PARK_READ_TIMEOUT))?,
                WaitStrategy::Spin | WaitStrategy::Yield => s.set_nonblocking(true)?,
            }
        }
        ws.send(Message::text(kestrel_wire::subscribe_request(1, true)))?;
        ws.send(Message::text(kestrel_wire::subscribe_heads_request(2)))?;
        Ok(NodeStream { ws })
    }

    /// The next data frame, `Ok(None)` when none is ready yet.
    pub fn next_frame(&mut self) -> Result<Option<Message>, tungstenite::Error> {
        match self.ws.read() {
            Ok(m @ (Message::Text(_) | Message::Binary(_))) => Ok(Some(m)),
            Ok(Message::Close(_)) => Err(tungstenite::Error::ConnectionClosed),
            Ok(_) => Ok(None),
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                Ok(None)
            }
            Err(e) => Err(e),
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
    /// Whether pinning took.
    pub pinned: PinOutcome,
}

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
            let mut reconnects = 0u64;
            let mut backoff = Duration::from_millis(50);
            while !shutdown.is_set() {
                let mut stream = match NodeStream::connect(&cfg.node) {
                    Ok(s) => s,
                    Err(_) => {
                        std::thread::sleep(backoff);
                        backoff = (backoff * 2).min(Duration::from_secs(2));
                        continue;
                    }
                };
                backoff = Duration::from_millis(50);
                read_until_error(&mut stream, &mut pipeline, &shutdown, cfg.node.wait);
                if !shutdown.is_set() {
                    reconnects += 1;
                    pipeline.emit(HotEvent::Reconnected { gap: reconnects });
                }
            }
            HotThreadReport {
                recorder: pipeline.recorder().clone(),
                reconnects,
                pinned,
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
        match stream.next_frame() {
            Ok(Some(msg)) => {
                let recv_ns = mono_ns();
                spins = 0;
                pipeline.on_frame(msg_bytes(&msg), recv_ns);
            }
            // A parked stream already waited inside the blocking read.
            Ok(None) if matches!(wait, WaitStrategy::Park(_)) => {}
            Ok(None) => wait.idle(&mut spins),
            Err(_) => return,
        }
    }
}

fn msg_bytes(msg: &Message) -> &[u8] {
    match msg {
        Message::Text(t) => t.as_bytes(),
        Message::Binary(b) => b,
        _ => &[],
    }
}
