//! Bybit v5 spot market data: one connection to the public spot stream carrying every
//! configured symbol's `orderbook.{depth}.{symbol}` topic, each topic's book kept by a
//! [`BybitBook`].
//!
//! Bybit sends a topic's `snapshot` when it is subscribed and after that only `delta`s chained
//! by update id, so a book that lost its place (a gap, an unreadable number) is rebuilt by
//! unsubscribing and subscribing its topic again, as is one whose snapshot never arrived whole
//! (deltas still coming a while after the subscription with no snapshot before them), each
//! topic's resubscriptions spaced by a backoff. Bybit also drops a connection that sends no
//! `{"op":"ping"}` for a while, so the feed pings every `ping_every_ms` of the clock handed to
//! [`BybitFeed::poll`]; the pongs are what proves a quiet connection alive, and one whose ping
//! goes unanswered for two ping intervals is dropped and reconnected.

use kestrel_types::cex::Scale;
use kestrel_venues::book::Book;
use kestrel_venues::sync::bybit::BybitBook;
use kestrel_venues::sync::{Liveness, Outcome, SyncStats};
use kestrel_wire::cex::bybit::{BybitKind, BybitMsg, parse_bybit};

use super::{Backoff, FeedStats, snapshot_overdue};
use crate::wsclient::WsClient;

/// The public spot stream's path (`wss://stream.bybit.com/v5/public/spot`).
const SPOT_PATH: &str = "/v5/public/spot";
/// Bybit spot takes at most 10 topics per subscribe request.
const MAX_ARGS: usize = 10;
/// A connection that delivered nothing, not even a pong, for this many ping intervals after a
/// ping is dead.
const PONG_WAIT_PINGS: u64 = 2;
const NS_PER_MS: u64 = 1_000_000;

/// One symbol to follow.
#[derive(Clone, Debug)]
pub struct BybitSymbol {
    /// The venue's spelling, upper case (`"BTCUSDT"`).
    pub symbol: String,
    /// Fraction digits of its prices.
    pub price_scale: Scale,
    /// Fraction digits of its sizes.
    pub size_scale: Scale,
    /// The topic's depth: levels a side Bybit keeps and sends (spot: 1, 50, 200 or 1000).
    pub depth: usize,
    /// Levels the book holds a side. Give it room past `depth` (`depth + 20`): inside one
    /// message a level may enter before the deletion of the one it replaces. A capacity below
    /// `depth` caps the depth kept.
    pub capacity: usize,
}

/// Where and what to subscribe to.
#[derive(Clone, Debug)]
pub struct BybitFeedConfig {
    /// `ws://host:port` (the spot stream's path is appended).
    pub ws_url: String,
    /// Symbols, one `orderbook.{depth}.{symbol}` topic each.
    pub symbols: Vec<BybitSymbol>,
    /// A symbol with no book message for this long is stale and not quoted from.
    pub stale_after_ms: u64,
    /// How often `{"op":"ping"}` is sent; Bybit asks for one every 20 s (`20_000`).
    pub ping_every_ms: u64,
}

/// A Bybit market-data connection and its books.
#[derive(Debug)]
pub struct BybitFeed {
    cfg: BybitFeedConfig,
    /// The subscribe requests sent on every new connection (at most 10 topics each).
    subscribe: Vec<String>,
    /// Per symbol: the unsubscribe and subscribe requests that make Bybit send a new snapshot.
    resubscribe: Vec<[String; 2]>,
    ws: Option<WsClient>,
    books: Books,
    ping_every_ns: u64,
    next_ping_ns: u64,
    /// When the oldest ping not yet followed by any frame was sent.
    unanswered_ping_ns: Option<u64>,
    backoff: Backoff,
    stats: FeedStats,
    resubscribes: u64,
}

/// What the frames of a connection change: the keepers and what the feed must do next.
#[derive(Debug)]
struct Books {
    /// `orderbook.{depth}.{symbol}` per symbol: how a frame finds its book.
    topics: Vec<String>,
    keepers: Vec<BybitBook>,
    /// Counters of the keepers of earlier connections (a reconnect starts new keepers).
    earlier: Vec<SyncStats>,
    liveness: Vec<Liveness>,
    /// Symbols whose book must be rebuilt from a new subscription.
    resubscribe: Vec<bool>,
    /// Per symbol: spaces out resubscriptions that keep failing (a snapshot that never
    /// arrives whole), so a persistent failure costs one request every few seconds.
    resubscribe_backoff: Vec<Backoff>,
    /// Per symbol: when its topic was last subscribed (on connect, or a resubscribe), so how
    /// long its snapshot has been due.
    subscribed_ns: Vec<u64>,
    /// When the connection last delivered anything.
    last_frame_ns: u64,
    pongs: u64,
    refusals: u64,
}

impl BybitFeed {
    /// A feed for `cfg`, not yet connected (the first [`BybitFeed::poll`] connects).
    pub fn new(cfg: BybitFeedConfig) -> BybitFeed {
        let topics: Vec<String> = cfg
            .symbols
            .iter()
            .map(|s| format!("orderbook.{}.{}", s.depth, s.symbol))
            .collect();
        let subscribe = topics
            .chunks(MAX_ARGS)
            .map(|chunk| request("subscribe", chunk))
            .collect();
        let resubscribe = topics
            .iter()
            .map(|t| {
                let one = std::slice::from_ref(t);
                [request("unsubscribe", one), request("subscribe", one)]
            })
            .collect();
        let n = cfg.symbols.len();
        let ping_every_ns = cfg.ping_every_ms.max(1).saturating_mul(NS_PER_MS);
        let books = Books {
            topics,
            keepers: cfg.symbols.iter().map(keeper).collect(),
            earlier: vec![SyncStats::default(); n],
            liveness: vec![Liveness::default(); n],
            resubscribe: vec![false; n],
            resubscribe_backoff: vec![Backoff::new(); n],
            subscribed_ns: vec![0; n],
            last_frame_ns: 0,
            pongs: 0,
            refusals: 0,
        };
        BybitFeed {
            cfg,
            subscribe,
            resubscribe,
            ws: None,
            books,
            ping_every_ns,
            next_ping_ns: 0,
            unanswered_ping_ns: None,
            backoff: Backoff::new(),
            stats: FeedStats::default(),
            resubscribes: 0,
        }
    }

    /// The keeper of symbol `i` (in config order), of the current connection: its counters
    /// start over on a reconnect ([`BybitFeed::sync_stats`] adds up every connection's).
    pub fn book(&self, i: usize) -> Option<&BybitBook> {
        self.books.keepers.get(i)
    }

    /// Symbol `i`'s keeper counters over every connection so far.
    pub fn sync_stats(&self, i: usize) -> Option<SyncStats> {
        let now = self.books.keepers.get(i)?.stats();
        Some(self.books.earlier.get(i).copied().unwrap_or_default() + now)
    }

    /// Whether symbol `i`'s book may be quoted from at `now_ns`: connected, synced, not stale.
    pub fn is_live(&self, i: usize, now_ns: u64) -> bool {
        let limit_ns = self.cfg.stale_after_ms.saturating_mul(NS_PER_MS);
        self.ws.is_some()
            && self.books.keepers.get(i).is_some_and(BybitBook::is_synced)
            && self
                .books
                .liveness
                .get(i)
                .is_some_and(|l| !l.is_stale(now_ns, limit_ns))
    }

    /// Whether the WebSocket is connected.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Connection counters.
    pub fn stats(&self) -> FeedStats {
        self.stats.with_open(self.ws.as_ref())
    }

    /// Pongs received (answers to the feed's pings).
    pub fn pongs(&self) -> u64 {
        self.books.pongs
    }

    /// Requests Bybit refused (`"success":false`): a refused subscribe leaves its book unsynced.
    pub fn refusals(&self) -> u64 {
        self.books.refusals
    }

    /// Topics unsubscribed and subscribed again to rebuild their book.
    pub fn resubscribes(&self) -> u64 {
        self.resubscribes
    }

    /// Do whatever is ready: connect (when due), apply received messages, resubscribe the
    /// topics whose book must be rebuilt, ping when due. `changed(i)` is called for each book
    /// that changed. Returns how many frames were handled; never blocks.
    pub fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        if self.ws.is_none() {
            self.connect(now_ns);
        }
        let Some(ws) = self.ws.as_mut() else {
            return 0;
        };
        let (books, stats) = (&mut self.books, &mut self.stats);
        let result = ws.poll(&mut |frame| books.on_frame(frame, now_ns, stats, changed));
        let Ok(handled) = result else {
            // The books are kept until the reconnect (which restarts them), as Binance's are.
            self.lose_connection(now_ns);
            return 0;
        };
        if self.ping_unanswered(now_ns) || self.send_due(now_ns).is_err() {
            self.lose_connection(now_ns);
        }
        handled
    }

    /// Whether a ping has gone unanswered for too long: nothing at all arrived since.
    fn ping_unanswered(&mut self, now_ns: u64) -> bool {
        let Some(sent_ns) = self.unanswered_ping_ns else {
            return false;
        };
        // A frame read in a later poll than the ping's came after it.
        if self.books.last_frame_ns > sent_ns {
            self.unanswered_ping_ns = None;
            return false;
        }
        now_ns.saturating_sub(sent_ns) > self.ping_every_ns.saturating_mul(PONG_WAIT_PINGS)
    }

    fn connect(&mut self, now_ns: u64) {
        if !self.backoff.ready(now_ns) {
            return;
        }
        let url = format!("{}{SPOT_PATH}", self.cfg.ws_url.trim_end_matches('/'));
        let mut ws = match WsClient::connect(&url, None) {
            Ok(ws) => ws,
            Err(_) => {
                self.stats.connect_failures += 1;
                self.backoff.failed(now_ns);
                return;
            }
        };
        if self.stats.connects > 0 {
            self.books.restart(&self.cfg.symbols);
        }
        self.stats.connects += 1;
        // Each topic's snapshot comes after its subscription: until then the book is unsynced.
        if self
            .subscribe
            .iter()
            .any(|r| ws.send_text(r.as_bytes()).is_err())
        {
            self.lose_connection(now_ns);
            return;
        }
        self.books.subscribed_ns.fill(now_ns);
        self.backoff.succeeded();
        self.unanswered_ping_ns = None;
        self.next_ping_ns = now_ns.saturating_add(self.ping_every_ns);
        self.ws = Some(ws);
    }

    /// Resubscribe the topics whose book resynced, and ping if it is time.
    fn send_due(&mut self, now_ns: u64) -> Result<(), crate::wsclient::WsError> {
        let Some(ws) = self.ws.as_mut() else {
            return Ok(());
        };
        let books = &mut self.books;
        let topics = books
            .resubscribe
            .iter_mut()
            .zip(&mut books.resubscribe_backoff)
            .zip(&mut books.subscribed_ns)
            .zip(&self.resubscribe);
        for (((pending, backoff), subscribed_ns), requests) in topics {
            if *pending && backoff.ready(now_ns) {
                // Cleared first: a failed send drops the connection, which resubscribes all.
                *pending = false;
                *subscribed_ns = now_ns;
                backoff.failed(now_ns);
                self.resubscribes += 1;
                for r in requests {
                    ws.send_text(r.as_bytes())?;
                }
            }
        }
        if now_ns >= self.next_ping_ns {
            self.next_ping_ns = now_ns.saturating_add(self.ping_every_ns);
            self.unanswered_ping_ns.get_or_insert(now_ns);
            ws.send_text(br#"{"op":"ping"}"#)?;
        }
        Ok(())
    }

    fn lose_connection(&mut self, now_ns: u64) {
        self.stats.add_closed(self.ws.take());
        self.stats.disconnects += 1;
        self.backoff.failed(now_ns);
    }
}

impl Books {
    /// Apply one frame: a book message to its topic's keeper, a pong or a refusal counted.
    fn on_frame(
        &mut self,
        frame: &[u8],
        now_ns: u64,
        stats: &mut FeedStats,
        changed: &mut dyn FnMut(usize),
    ) {
        stats.frames += 1;
        self.last_frame_ns = now_ns;
        let Ok(decoded) = parse_bybit(frame) else {
            stats.malformed += 1;
            return;
        };
        match decoded.msg {
            BybitMsg::Depth(depth) => {
                let Some(i) = decoded
                    .topic
                    .and_then(|t| self.topics.iter().position(|name| name.as_bytes() == t))
                else {
                    return;
                };
                if let Some(l) = self.liveness.get_mut(i) {
                    l.touch(now_ns);
                }
                let outcome = self.keepers.get_mut(i).map(|k| k.on_depth(&depth));
                let resubscribe = match outcome {
                    Some(Outcome::Applied) => {
                        if depth.kind == BybitKind::Snapshot
                            && let Some(b) = self.resubscribe_backoff.get_mut(i)
                        {
                            b.succeeded();
                        }
                        changed(i);
                        false
                    }
                    Some(Outcome::Resync(_)) => true,
                    // A delta before any snapshot: one of the old subscription's, still in
                    // flight after a resubscribe, or, once the snapshot is overdue, a sign
                    // that it was lost (unreadable, or too big for the client) and only a new
                    // subscription brings another.
                    Some(Outcome::Ignored) => self
                        .subscribed_ns
                        .get(i)
                        .is_some_and(|&at| snapshot_overdue(at, now_ns)),
                    Some(Outcome::Buffered) | None => false,
                };
                if resubscribe && let Some(r) = self.resubscribe.get_mut(i) {
                    *r = true;
                }
            }
            BybitMsg::Pong => self.pongs += 1,
            BybitMsg::Reply(reply) if !reply.success => self.refusals += 1,
            _ => {}
        }
    }

    /// A new connection: every keeper starts over (its counters kept in `earlier`), and waits
    /// for the snapshot its new subscription brings.
    fn restart(&mut self, symbols: &[BybitSymbol]) {
        for ((k, earlier), symbol) in self.keepers.iter_mut().zip(&mut self.earlier).zip(symbols) {
            let old = std::mem::replace(k, keeper(symbol));
            *earlier = *earlier + old.stats();
        }
        self.resubscribe.fill(false);
    }
}

fn keeper(s: &BybitSymbol) -> BybitBook {
    BybitBook::new(Book::new(s.capacity, s.price_scale, s.size_scale), s.depth)
}

/// `{"op":"subscribe","args":["orderbook.50.BTCUSDT",..]}`.
fn request(op: &str, topics: &[String]) -> String {
    let args: Vec<String> = topics.iter().map(|t| format!("\"{t}\"")).collect();
    format!(r#"{{"op":"{op}","args":[{}]}}"#, args.join(","))
}

impl super::VenueFeed for BybitFeed {
    fn venue(&self) -> kestrel_types::cex::Venue {
        kestrel_types::cex::Venue::Bybit
    }

    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        BybitFeed::poll(self, now_ns, changed)
    }

    fn book(&self, i: usize) -> Option<&Book> {
        self.books.keepers.get(i).map(BybitBook::book)
    }

    fn is_live(&self, i: usize, now_ns: u64) -> bool {
        BybitFeed::is_live(self, i, now_ns)
    }

    fn stats(&self) -> FeedStats {
        self.stats.with_open(self.ws.as_ref())
    }

    fn sync_stats(&self, i: usize) -> Option<kestrel_venues::sync::SyncStats> {
        Self::sync_stats(self, i)
    }
}
