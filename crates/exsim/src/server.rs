//! A simulated venue on loopback: one port answering the venue's REST requests and its
//! WebSocket market data, in the venue's own formats (the [`Front`]), over one [`Exchange`].
//!
//! Book changes (from the market driver moving the book, or from fills taking liquidity)
//! accumulate in the exchange and are published every `publish_every`, as the venues batch
//! theirs (Binance `@100ms`). Faults are injected on command: a gap in the update ids, a wrong
//! checksum, a dropped connection, a silent stall.

use std::collections::HashSet;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::thread::JoinHandle;
use std::time::Duration;

use anyhow::Context as _;
use futures_util::{SinkExt as _, StreamExt as _};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_types::cex::{BookSide, Fixed, Venue};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{broadcast, oneshot};
use tokio_tungstenite::WebSocketStream;
use tokio_tungstenite::tungstenite::Message;
use tokio_tungstenite::tungstenite::protocol::Role;

use crate::engine::{Exchange, Reject};
use crate::http::{HttpRequest, HttpResponse, accept_websocket, read_request, write_response};

/// One market-data message for every session subscribed to `topic`.
#[derive(Clone, Debug)]
pub struct Publication {
    /// The venue's channel name for it (`"btcusdt@depth@100ms"`).
    pub topic: String,
    /// The venue-format payload.
    pub text: String,
}

/// One WebSocket client's state.
#[derive(Clone, Debug, Default)]
pub struct WsSession {
    /// Topics subscribed.
    pub topics: HashSet<String>,
    /// Venue-specific: Binance's combined-stream envelope.
    pub combined: bool,
    /// Venue-specific: a per-connection message counter (Coinbase's `sequence_num`).
    pub seq: u64,
    /// Venue-specific: the depth a client subscribed with (Kraken `depth`, Bybit's topic).
    pub depth: usize,
}

/// Faults waiting to be applied by the front on its next publications.
#[derive(Clone, Debug, Default)]
pub struct Faults {
    /// Skip update ids (or sequence numbers) this many times.
    pub gaps: u32,
    /// Send a wrong checksum this many times.
    pub bad_checksums: u32,
}

/// What a test or the sandbox can do to a running venue.
#[derive(Clone, Debug)]
pub enum Fault {
    /// The next book publication skips ids: the client must see a gap and resync.
    Gap,
    /// The next book publication carries a wrong checksum (venues that send one).
    BadChecksum,
    /// Drop every open WebSocket connection now, without a close frame.
    Disconnect,
    /// Publish nothing for this long (the connection stays open): the feed goes stale.
    Stall(Duration),
    /// The next order is rejected with this.
    RejectNextOrder(Reject),
}

/// A venue's wire formats over the simulated exchange.
pub trait Front: Send + 'static {
    /// Which venue this imitates.
    fn venue(&self) -> Venue;
    /// Answer one REST request (authenticated ones checked exactly as the venue does).
    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse;
    /// A WebSocket connection opened at the request's target: its session and first messages
    /// (for venues that send a snapshot on subscribe), or a refusal.
    fn ws_open(
        &mut self,
        ex: &Exchange,
        request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse>;
    /// A text message from the client (subscribe, ping): the replies to send.
    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String>;
    /// Publications for the changes `deltas` made to `symbol`'s book.
    fn publish(
        &mut self,
        ex: &Exchange,
        symbol: &str,
        deltas: &[(BookSide, Fixed, Fixed)],
        faults: &mut Faults,
    ) -> Vec<Publication>;
    /// The frame a session receives for a publication it subscribed to.
    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String;
}

struct Core {
    ex: Exchange,
    front: Box<dyn Front>,
    faults: Faults,
    stalled_until_ms: u64,
    deltas: Vec<(BookSide, Fixed, Fixed)>,
}

#[derive(Clone, Debug)]
enum Signal {
    Publish(Arc<Publication>),
    Disconnect,
}

/// A running simulated venue.
pub struct ExchangeServer {
    addr: SocketAddr,
    core: Arc<Mutex<Core>>,
    signals: broadcast::Sender<Signal>,
    sessions: Arc<AtomicU64>,
    shutdown: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
    venue: Venue,
}

impl std::fmt::Debug for ExchangeServer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ExchangeServer")
            .field("venue", &self.venue)
            .field("addr", &self.addr)
            .finish()
    }
}

impl ExchangeServer {
    /// Start on `127.0.0.1` and a free port, publishing book changes every `publish_every`.
    pub fn start(
        ex: Exchange,
        front: Box<dyn Front>,
        publish_every: Duration,
    ) -> anyhow::Result<ExchangeServer> {
        let venue = front.venue();
        let listener = std::net::TcpListener::bind(("127.0.0.1", 0))
            .with_context(|| format!("binding the simulated {venue}"))?;
        listener.set_nonblocking(true)?;
        let addr = listener.local_addr()?;
        let core = Arc::new(Mutex::new(Core {
            ex,
            front,
            faults: Faults::default(),
            stalled_until_ms: 0,
            deltas: Vec::new(),
        }));
        let (signals, _) = broadcast::channel(4096);
        let sessions = Arc::new(AtomicU64::new(0));
        let (shutdown, stop_rx) = oneshot::channel();
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()?;
        let (task_core, task_signals, task_sessions) =
            (Arc::clone(&core), signals.clone(), Arc::clone(&sessions));
        let thread = std::thread::Builder::new()
            .name(format!("exsim-{venue}"))
            .spawn(move || {
                runtime.block_on(async move {
                    let listener = match TcpListener::from_std(listener) {
                        Ok(l) => l,
                        Err(_) => return,
                    };
                    let publisher =
                        publish_loop(Arc::clone(&task_core), task_signals.clone(), publish_every);
                    let acceptor = accept_loop(listener, task_core, task_signals, task_sessions);
                    tokio::select! {
                        _ = stop_rx => {}
                        _ = publisher => {}
                        _ = acceptor => {}
                    }
                });
            })?;
        Ok(ExchangeServer {
            addr,
            core,
            signals,
            sessions,
            shutdown: Some(shutdown),
            thread: Some(thread),
            venue,
        })
    }

    /// `127.0.0.1:PORT`.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn http_url(&self) -> String {
        format!("http://{}", self.addr)
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        format!("ws://{}", self.addr)
    }

    /// WebSocket sessions opened so far.
    pub fn sessions_opened(&self) -> u64 {
        self.sessions.load(Ordering::Relaxed)
    }

    /// Run `f` on the exchange (move its book, add accounts, read balances).
    pub fn with_exchange<R>(&self, f: impl FnOnce(&mut Exchange) -> R) -> R {
        f(&mut lock(&self.core).ex)
    }

    /// A handle that can move the exchange from another thread (a market driver).
    pub fn handle(&self) -> ExchangeHandle {
        ExchangeHandle {
            core: Arc::clone(&self.core),
        }
    }

    /// Inject a fault.
    pub fn fault(&self, fault: Fault) {
        let mut core = lock(&self.core);
        match fault {
            Fault::Gap => core.faults.gaps += 1,
            Fault::BadChecksum => core.faults.bad_checksums += 1,
            Fault::Disconnect => {
                let _ = self.signals.send(Signal::Disconnect);
            }
            Fault::Stall(d) => {
                let until = LiveClock.unix_ms() + u64::try_from(d.as_millis()).unwrap_or(u64::MAX);
                core.stalled_until_ms = until;
            }
            Fault::RejectNextOrder(reject) => core.ex.inject_reject(reject),
        }
    }

    /// Stop serving and close every connection.
    pub fn stop(mut self) {
        self.shut_down();
    }

    fn shut_down(&mut self) {
        if let Some(tx) = self.shutdown.take() {
            let _ = tx.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

impl Drop for ExchangeServer {
    fn drop(&mut self) {
        self.shut_down();
    }
}

/// A clonable, sendable handle to a running venue's exchange.
#[derive(Clone)]
pub struct ExchangeHandle {
    core: Arc<Mutex<Core>>,
}

impl std::fmt::Debug for ExchangeHandle {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("ExchangeHandle")
    }
}

impl ExchangeHandle {
    /// Run `f` on the exchange.
    pub fn with_exchange<R>(&self, f: impl FnOnce(&mut Exchange) -> R) -> R {
        f(&mut lock(&self.core).ex)
    }
}

fn lock(core: &Mutex<Core>) -> MutexGuard<'_, Core> {
    // A panic while holding the lock only happens in a broken test; keep serving what is there.
    core.lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner)
}

async fn publish_loop(core: Arc<Mutex<Core>>, signals: broadcast::Sender<Signal>, every: Duration) {
    let mut ticker = tokio::time::interval(every);
    loop {
        ticker.tick().await;
        let publications = {
            let mut guard = lock(&core);
            let core = &mut *guard;
            if LiveClock.unix_ms() < core.stalled_until_ms {
                continue;
            }
            let symbols: Vec<String> = core.ex.symbols().iter().map(|s| s.symbol.clone()).collect();
            let mut out = Vec::new();
            for symbol in symbols {
                core.deltas.clear();
                core.ex.take_deltas(&symbol, &mut core.deltas);
                if core.deltas.is_empty() {
                    continue;
                }
                out.extend(
                    core.front
                        .publish(&core.ex, &symbol, &core.deltas, &mut core.faults),
                );
            }
            out
        };
        for publication in publications {
            let _ = signals.send(Signal::Publish(Arc::new(publication)));
        }
    }
}

async fn accept_loop(
    listener: TcpListener,
    core: Arc<Mutex<Core>>,
    signals: broadcast::Sender<Signal>,
    sessions: Arc<AtomicU64>,
) {
    while let Ok((stream, _)) = listener.accept().await {
        let _ = stream.set_nodelay(true);
        tokio::spawn(serve_connection(
            stream,
            Arc::clone(&core),
            signals.clone(),
            Arc::clone(&sessions),
        ));
    }
}

async fn serve_connection(
    mut stream: TcpStream,
    core: Arc<Mutex<Core>>,
    signals: broadcast::Sender<Signal>,
    sessions: Arc<AtomicU64>,
) {
    let mut buf = Vec::with_capacity(8192);
    while let Ok(Some(request)) = read_request(&mut stream, &mut buf).await {
        if request.is_websocket_upgrade() {
            let opened = {
                let mut guard = lock(&core);
                let core = &mut *guard;
                core.front.ws_open(&core.ex, &request)
            };
            match opened {
                Ok((session, first)) => {
                    if accept_websocket(&mut stream, &request).await.is_err() {
                        return;
                    }
                    sessions.fetch_add(1, Ordering::Relaxed);
                    let ws = WebSocketStream::from_raw_socket(stream, Role::Server, None).await;
                    serve_websocket(ws, session, first, core, signals.subscribe()).await;
                    return;
                }
                Err(refusal) => {
                    let _ = write_response(&mut stream, &refusal).await;
                    return;
                }
            }
        }
        let response = {
            let mut guard = lock(&core);
            let core = &mut *guard;
            core.front.http(&mut core.ex, &request, LiveClock.unix_ms())
        };
        if write_response(&mut stream, &response).await.is_err() {
            return;
        }
    }
}

async fn serve_websocket(
    mut ws: WebSocketStream<TcpStream>,
    mut session: WsSession,
    first: Vec<String>,
    core: Arc<Mutex<Core>>,
    mut signals: broadcast::Receiver<Signal>,
) {
    for text in first {
        if ws.send(Message::text(text)).await.is_err() {
            return;
        }
    }
    loop {
        tokio::select! {
            incoming = ws.next() => match incoming {
                Some(Ok(Message::Text(text))) => {
                    let replies = {
                        let mut guard = lock(&core);
                        let core = &mut *guard;
                        core.front.ws_text(&core.ex, &mut session, text.as_str())
                    };
                    for reply in replies {
                        if ws.send(Message::text(reply)).await.is_err() {
                            return;
                        }
                    }
                }
                Some(Ok(Message::Ping(payload))) => {
                    if ws.send(Message::Pong(payload)).await.is_err() {
                        return;
                    }
                }
                Some(Ok(Message::Close(_))) | None | Some(Err(_)) => return,
                Some(Ok(_)) => {}
            },
            signal = signals.recv() => match signal {
                Ok(Signal::Publish(publication)) => {
                    if session.topics.contains(&publication.topic) {
                        let frame = lock(&core).front.deliver(&mut session, &publication);
                        if ws.send(Message::text(frame)).await.is_err() {
                            return;
                        }
                    }
                }
                // Dropped without a close frame, as a venue's load balancer does.
                Ok(Signal::Disconnect) => return,
                // A client too slow to keep up is cut off, as venues do.
                Err(broadcast::error::RecvError::Lagged(_)) => return,
                Err(broadcast::error::RecvError::Closed) => return,
            },
        }
    }
}
