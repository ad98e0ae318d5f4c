//! Binance spot market data: one combined-stream connection carrying every configured
//! symbol's `@depth@100ms` diffs, each symbol's book bridged from a REST depth snapshot by
//! [`BinanceBook`] and resynced (a new snapshot) after any gap.

use kestrel_types::cex::Scale;
use kestrel_venues::book::Book;
use kestrel_venues::sync::binance::BinanceBook;
use kestrel_venues::sync::{Liveness, Outcome};
use kestrel_wire::cex::{BinanceMsg, parse_binance};

use super::snapshot::Fetcher;
use super::{Backoff, FeedStats};
use crate::wsclient::WsClient;

/// One symbol to follow.
#[derive(Clone, Debug)]
pub struct FeedSymbol {
    /// The venue's spelling, upper case (`"BTCUSDT"`).
    pub symbol: String,
    /// Fraction digits of its prices.
    pub price_scale: Scale,
    /// Fraction digits of its sizes.
    pub size_scale: Scale,
    /// Levels kept per side.
    pub capacity: usize,
}

/// Where and what to subscribe to.
#[derive(Clone, Debug)]
pub struct BinanceFeedConfig {
    /// `ws://host:port` (the combined-stream path is appended).
    pub ws_url: String,
    /// `http://host:port` for `GET /api/v3/depth`.
    pub rest_url: String,
    /// Symbols.
    pub symbols: Vec<FeedSymbol>,
    /// A symbol with no diff for this long is stale and not quoted from.
    pub stale_after_ms: u64,
    /// `limit` of the depth snapshot.
    pub snapshot_limit: u32,
}

/// Diffs buffered per symbol while its snapshot is on the way.
const PENDING_DIFFS: usize = 1024;

/// A Binance market-data connection and its books.
#[derive(Debug)]
pub struct BinanceFeed {
    cfg: BinanceFeedConfig,
    ws: Option<WsClient>,
    books: Vec<BinanceBook>,
    liveness: Vec<Liveness>,
    snapshot_pending: Vec<bool>,
    fetcher: Fetcher,
    backoff: Backoff,
    stats: FeedStats,
}

impl BinanceFeed {
    /// A feed for `cfg`, not yet connected (the first [`BinanceFeed::poll`] connects).
    pub fn new(cfg: BinanceFeedConfig) -> std::io::Result<BinanceFeed> {
        let fetcher = Fetcher::start(&cfg.rest_url, "binance")?;
        let books = cfg
            .symbols
            .iter()
            .map(|s| {
                BinanceBook::new(
                    Book::new(s.capacity, s.price_scale, s.size_scale),
                    PENDING_DIFFS,
                )
            })
            .collect();
        let n = cfg.symbols.len();
        Ok(BinanceFeed {
            cfg,
            ws: None,
            books,
            liveness: vec![Liveness::default(); n],
            snapshot_pending: vec![false; n],
            fetcher,
            backoff: Backoff::new(),
            stats: FeedStats::default(),
        })
    }

    /// The keeper of symbol `i` (in config order).
    pub fn book(&self, i: usize) -> Option<&BinanceBook> {
        self.books.get(i)
    }

    /// Whether symbol `i`'s book may be quoted from at `now_ns`: connected, synced, not stale.
    pub fn is_live(&self, i: usize, now_ns: u64) -> bool {
        let limit_ns = self.cfg.stale_after_ms.saturating_mul(1_000_000);
        self.ws.is_some()
            && self.books.get(i).is_some_and(BinanceBook::is_synced)
            && self
                .liveness
                .get(i)
                .is_some_and(|l| !l.is_stale(now_ns, limit_ns))
    }

    /// Whether the WebSocket is connected.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Counters.
    pub fn stats(&self) -> FeedStats {
        self.stats.with_open(self.ws.as_ref())
    }

    /// Do whatever is ready: connect (when due), load answered snapshots, apply received diffs,
    /// ask for the snapshots unsynced books need. `changed(i)` is called for each book that
    /// changed. Returns how many frames and snapshots were handled; never blocks.
    pub fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        if self.ws.is_none() {
            self.connect(now_ns);
        }
        let mut handled = self.load_snapshots(now_ns, changed);
        if let Some(ws) = self.ws.as_mut() {
            let (books, liveness, stats, symbols) = (
                &mut self.books,
                &mut self.liveness,
                &mut self.stats,
                &self.cfg.symbols,
            );
            let result = ws.poll(&mut |frame| {
                stats.frames += 1;
                let Ok(decoded) = parse_binance(frame) else {
                    stats.malformed += 1;
                    return;
                };
                let BinanceMsg::Depth(diff) = decoded.msg else {
                    return;
                };
                let Some(i) = symbols
                    .iter()
                    .position(|s| s.symbol.as_bytes() == diff.symbol)
                else {
                    return;
                };
                if let Some(l) = liveness.get_mut(i) {
                    l.touch(now_ns);
                }
                if let Some(book) = books.get_mut(i)
                    && book.on_depth(frame, &diff) == Outcome::Applied
                {
                    changed(i);
                }
            });
            match result {
                Ok(n) => handled += n,
                Err(_) => {
                    // The books are kept until the reconnect (which restarts them), so a
                    // quiet market's last book is not thrown away for nothing meanwhile; a
                    // disconnected feed is not live.
                    self.stats.add_closed(self.ws.take());
                    self.stats.disconnects += 1;
                    self.backoff.failed(now_ns);
                }
            }
        }
        self.request_snapshots();
        handled
    }

    fn connect(&mut self, now_ns: u64) {
        if !self.backoff.ready(now_ns) {
            return;
        }
        let streams: Vec<String> = self
            .cfg
            .symbols
            .iter()
            .map(|s| format!("{}@depth@100ms", s.symbol.to_ascii_lowercase()))
            .collect();
        let url = format!(
            "{}/stream?streams={}",
            self.cfg.ws_url.trim_end_matches('/'),
            streams.join("/")
        );
        match WsClient::connect(&url, None) {
            Ok(ws) => {
                if self.stats.connects > 0 {
                    for book in &mut self.books {
                        book.restart();
                    }
                }
                self.ws = Some(ws);
                self.stats.connects += 1;
                self.backoff.succeeded();
            }
            Err(_) => {
                self.stats.connect_failures += 1;
                self.backoff.failed(now_ns);
            }
        }
    }

    fn load_snapshots(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        let mut loaded = 0;
        while let Some((i, answer)) = self.fetcher.try_answer() {
            loaded += 1;
            if let Some(p) = self.snapshot_pending.get_mut(i) {
                *p = false;
            }
            let outcome = answer.ok().and_then(|body| {
                let decoded = parse_binance(&body).ok()?;
                let BinanceMsg::Snapshot(snapshot) = decoded.msg else {
                    return None;
                };
                self.books
                    .get_mut(i)
                    .map(|book| book.on_snapshot(&snapshot))
            });
            match outcome {
                // A snapshot older than the buffered diffs leaves the book unsynced: the next
                // poll asks for another.
                Some(Outcome::Applied) => {
                    if let Some(l) = self.liveness.get_mut(i) {
                        l.touch(now_ns);
                    }
                    changed(i);
                }
                Some(_) => {}
                None => self.stats.snapshot_failures += 1,
            }
        }
        loaded
    }

    fn request_snapshots(&mut self) {
        // Only while connected: the diffs that bridge a snapshot come over the socket.
        if self.ws.is_none() {
            return;
        }
        for (i, symbol) in self.cfg.symbols.iter().enumerate() {
            let synced = self.books.get(i).is_some_and(BinanceBook::is_synced);
            let pending = self.snapshot_pending.get(i).copied().unwrap_or(true);
            if synced || pending {
                continue;
            }
            let path = format!(
                "/api/v3/depth?symbol={}&limit={}",
                symbol.symbol, self.cfg.snapshot_limit
            );
            if self.fetcher.request(i, path) {
                self.stats.snapshot_requests += 1;
                if let Some(p) = self.snapshot_pending.get_mut(i) {
                    *p = true;
                }
            }
        }
    }
}

impl super::VenueFeed for BinanceFeed {
    fn venue(&self) -> kestrel_types::cex::Venue {
        kestrel_types::cex::Venue::Binance
    }

    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        BinanceFeed::poll(self, now_ns, changed)
    }

    fn book(&self, i: usize) -> Option<&Book> {
        self.books.get(i).map(BinanceBook::book)
    }

    fn is_live(&self, i: usize, now_ns: u64) -> bool {
        BinanceFeed::is_live(self, i, now_ns)
    }

    fn stats(&self) -> FeedStats {
        self.stats.with_open(self.ws.as_ref())
    }

    fn sync_stats(&self, i: usize) -> Option<kestrel_venues::sync::SyncStats> {
        // One keeper per symbol for the feed's life: its counters cover every connection.
        self.books.get(i).map(BinanceBook::stats)
    }
}
