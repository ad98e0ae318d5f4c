//! Kraken spot market data, WebSocket v2: one connection at `/v2` carrying every configured
//! symbol's `book` channel, each symbol's book kept by [`KrakenBook`].
//!
//! Kraken sends a snapshot on subscribe and then updates, with no sequence numbers: a lost
//! update shows only as a later update's checksum disagreeing with ours. Whatever made the
//! keeper give up (a checksum, an inexact number), the feed unsubscribes that symbol's book
//! and subscribes it again, and the venue answers with a fresh snapshot. So does a snapshot that
//! never arrived whole: updates still coming a second after the subscription, with no
//! snapshot before them, mean it was lost.
//!
//! **Invariant:** a book is quoted from only once a snapshot was applied on the connection
//! now open, and not since cleared. A keeper still holds the last connection's book after a
//! reconnect; updates arriving before this connection's snapshot are not applied to it, and
//! the book is not live until that snapshot lands.

use kestrel_types::cex::Scale;
use kestrel_venues::book::Book;
use kestrel_venues::sync::kraken::{KrakenBook, KrakenBookConfig, KrakenDepth};
use kestrel_venues::sync::{Liveness, Outcome};
use kestrel_wire::cex::kraken::{KrakenBookKind, KrakenBookMsg, KrakenFrame, parse_kraken};

use super::{Backoff, FeedStats, snapshot_overdue};
use crate::wsclient::{WsClient, WsError};

/// One symbol to follow.
#[derive(Clone, Debug)]
pub struct KrakenSymbol {
    /// The venue's WebSocket name (`"BTC/USD"`).
    pub symbol: String,
    /// Levels a side subscribed to, and kept.
    pub depth: KrakenDepth,
    /// The pair's `price_precision`: the book's price scale and the checksum's price digits.
    pub price_precision: Scale,
    /// The pair's `qty_precision`: the book's size scale and the checksum's size digits.
    pub qty_precision: Scale,
}

/// Where and what to subscribe to.
#[derive(Clone, Debug)]
pub struct KrakenFeedConfig {
    /// `ws://host:port` (the `/v2` path is appended).
    pub ws_url: String,
    /// Symbols.
    pub symbols: Vec<KrakenSymbol>,
    /// A symbol with no book message for this long is stale and not quoted from.
    pub stale_after_ms: u64,
    /// How often to send `{"method":"ping"}`; a connection that has answered nothing a whole
    /// interval after a ping is taken for dead and replaced. At least 10 ms.
    pub ping_every_ms: u64,
}

/// The application-level ping Kraken answers with a `pong`.
const PING: &[u8] = br#"{"method":"ping"}"#;

/// One symbol's keeper and where it stands on the connection now open.
#[derive(Debug)]
struct Slot {
    symbol: String,
    keeper: KrakenBook,
    liveness: Liveness,
    /// A snapshot was applied on this connection and the book not cleared since.
    fresh: bool,
    /// The keeper cleared its book: resubscribe once the frames now buffered are read.
    resubscribe: bool,
    /// Spaces out resubscriptions that keep failing (a snapshot that never checks out), so
    /// a persistent disagreement costs one request every few seconds, not a storm.
    resubscribe_backoff: Backoff,
    /// When this book's subscription was last sent (on connect, or a resubscribe): how long
    /// its snapshot has been due.
    subscribed_ns: u64,
    /// Written once, so that a resync allocates nothing.
    subscribe: String,
    unsubscribe: String,
}

impl Slot {
    fn new(s: &KrakenSymbol) -> Slot {
        Slot {
            symbol: s.symbol.clone(),
            keeper: KrakenBook::new(KrakenBookConfig {
                depth: s.depth,
                price_precision: s.price_precision,
                qty_precision: s.qty_precision,
            }),
            liveness: Liveness::default(),
            fresh: false,
            resubscribe: false,
            resubscribe_backoff: Backoff::new(),
            subscribed_ns: 0,
            subscribe: book_request("subscribe", s),
            unsubscribe: book_request("unsubscribe", s),
        }
    }
}

/// The books and the counters the frame handler writes, apart from the socket it reads.
#[derive(Debug)]
struct Books {
    slots: Vec<Slot>,
    stats: FeedStats,
    pongs: u64,
    refusals: u64,
}

impl Books {
    fn new(slots: Vec<Slot>) -> Books {
        Books {
            slots,
            stats: FeedStats::default(),
            pongs: 0,
            refusals: 0,
        }
    }

    /// Decode one frame and hand what it carries to its keeper; never panics, whatever the
    /// bytes.
    fn on_frame(&mut self, frame: &[u8], now_ns: u64, changed: &mut dyn FnMut(usize)) {
        self.stats.frames += 1;
        let Ok(decoded) = parse_kraken(frame) else {
            self.stats.malformed += 1;
            return;
        };
        match decoded {
            KrakenFrame::Book(msg) => self.on_book(&msg, now_ns, changed),
            KrakenFrame::Pong { .. } => self.pongs += 1,
            KrakenFrame::Reply(reply) if !reply.success => self.refusals += 1,
            _ => {}
        }
    }

    fn on_book(&mut self, msg: &KrakenBookMsg<'_>, now_ns: u64, changed: &mut dyn FnMut(usize)) {
        let Some((i, slot)) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.symbol.as_bytes() == msg.symbol)
        else {
            return;
        };
        // Before this connection's snapshot the keeper may still hold the last connection's
        // book: an update must not be applied to that. Updates still flowing once the
        // snapshot is overdue mean it was lost (unreadable, or too big for the client), and
        // only a new subscription brings another.
        if msg.kind == KrakenBookKind::Update && !slot.fresh {
            if snapshot_overdue(slot.subscribed_ns, now_ns) {
                slot.resubscribe = true;
            }
            return;
        }
        match slot.keeper.on_book(msg) {
            Outcome::Applied => {
                if !slot.fresh {
                    slot.resubscribe_backoff.succeeded();
                }
                slot.fresh = true;
                slot.liveness.touch(now_ns);
                changed(i);
            }
            Outcome::Resync(_) => {
                slot.fresh = false;
                slot.resubscribe = true;
            }
            Outcome::Ignored | Outcome::Buffered => {}
        }
    }
}

/// A Kraken market-data connection and its books.
#[derive(Debug)]
pub struct KrakenFeed {
    url: String,
    stale_after_ns: u64,
    ws: Option<WsClient>,
    books: Books,
    keep_alive: KeepAlive,
    backoff: Backoff,
    resubscribes: u64,
    dead_connections: u64,
}

impl KrakenFeed {
    /// A feed for `cfg`, not yet connected (the first [`KrakenFeed::poll`] connects). Every
    /// book and message is allocated here.
    pub fn new(cfg: KrakenFeedConfig) -> KrakenFeed {
        let slots = cfg.symbols.iter().map(Slot::new).collect();
        KrakenFeed {
            url: format!("{}/v2", cfg.ws_url.trim_end_matches('/')),
            stale_after_ns: cfg.stale_after_ms.saturating_mul(1_000_000),
            ws: None,
            books: Books::new(slots),
            keep_alive: KeepAlive::new(cfg.ping_every_ms),
            backoff: Backoff::new(),
            resubscribes: 0,
            dead_connections: 0,
        }
    }

    /// The keeper of symbol `i` (in config order).
    pub fn book(&self, i: usize) -> Option<&KrakenBook> {
        self.books.slots.get(i).map(|s| &s.keeper)
    }

    /// Whether symbol `i`'s book was built from a snapshot on the connection now open and is
    /// in step with the venue.
    pub fn is_synced(&self, i: usize) -> bool {
        self.ws.is_some()
            && self
                .books
                .slots
                .get(i)
                .is_some_and(|s| s.fresh && s.keeper.is_synced())
    }

    /// Whether symbol `i`'s book may be quoted from at `now_ns`: connected, synced, not stale.
    pub fn is_live(&self, i: usize, now_ns: u64) -> bool {
        self.is_synced(i)
            && self
                .books
                .slots
                .get(i)
                .is_some_and(|s| !s.liveness.is_stale(now_ns, self.stale_after_ns))
    }

    /// Whether the WebSocket is connected.
    pub fn is_connected(&self) -> bool {
        self.ws.is_some()
    }

    /// Connection counters.
    pub fn stats(&self) -> FeedStats {
        self.books.stats.with_open(self.ws.as_ref())
    }

    /// Books unsubscribed and subscribed again after their keeper cleared them.
    pub fn resubscribes(&self) -> u64 {
        self.resubscribes
    }

    /// `pong`s received.
    pub fn pongs(&self) -> u64 {
        self.books.pongs
    }

    /// Requests the venue refused (`"success":false`): a symbol it does not list, a depth it
    /// does not offer. Such a book never syncs.
    pub fn refusals(&self) -> u64 {
        self.books.refusals
    }

    /// Connections dropped because they answered nothing after a ping.
    pub fn dead_connections(&self) -> u64 {
        self.dead_connections
    }

    /// Do whatever is ready: connect (when due), apply received book messages, resubscribe
    /// the books that were cleared, ping when due. `changed(i)` is called for each book that
    /// changed. Returns how many frames were handled; never blocks.
    pub fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        if self.ws.is_none() {
            self.connect(now_ns);
        }
        let Some(ws) = self.ws.as_mut() else {
            return 0;
        };
        let (books, keep_alive) = (&mut self.books, &mut self.keep_alive);
        let result = ws.poll(&mut |frame| {
            keep_alive.heard();
            books.on_frame(frame, now_ns, changed);
        });
        let handled = match result {
            Ok(n) => n,
            Err(_) => {
                self.lost(now_ns);
                return 0;
            }
        };
        if self.keep_alive.is_dead(now_ns) {
            self.dead_connections += 1;
            self.lost(now_ns);
            return handled;
        }
        if self.send_requests(now_ns).is_err() {
            self.lost(now_ns);
        }
        handled
    }

    /// Resubscribe the books that were cleared, and ping when due.
    fn send_requests(&mut self, now_ns: u64) -> Result<(), WsError> {
        let Some(ws) = self.ws.as_mut() else {
            return Ok(());
        };
        let due = |s: &&mut Slot| s.resubscribe && s.resubscribe_backoff.ready(now_ns);
        for slot in self.books.slots.iter_mut().filter(due) {
            // Kraken has no way to ask for a snapshot mid-stream: a new subscription starts
            // with one.
            ws.send_text(slot.unsubscribe.as_bytes())?;
            ws.send_text(slot.subscribe.as_bytes())?;
            slot.resubscribe = false;
            slot.subscribed_ns = now_ns;
            slot.resubscribe_backoff.failed(now_ns);
            self.resubscribes += 1;
        }
        if self.keep_alive.ping_due(now_ns) {
            ws.send_text(PING)?;
            self.keep_alive.pinged(now_ns);
        }
        Ok(())
    }

    fn connect(&mut self, now_ns: u64) {
        if !self.backoff.ready(now_ns) {
            return;
        }
        let subscribed = WsClient::connect(&self.url, None).and_then(|mut ws| {
            for slot in &self.books.slots {
                ws.send_text(slot.subscribe.as_bytes())?;
            }
            Ok(ws)
        });
        match subscribed {
            Ok(ws) => {
                // Every book starts over from the snapshot this connection's subscription
                // brings.
                for slot in &mut self.books.slots {
                    slot.fresh = false;
                    slot.resubscribe = false;
                    slot.subscribed_ns = now_ns;
                }
                self.ws = Some(ws);
                self.books.stats.connects += 1;
                self.keep_alive.connected(now_ns);
                self.backoff.succeeded();
            }
            Err(_) => {
                self.books.stats.connect_failures += 1;
                self.backoff.failed(now_ns);
            }
        }
    }

    /// The connection is gone: retry after the backoff. The books are kept until the
    /// reconnect's snapshots replace them; meanwhile none is live.
    fn lost(&mut self, now_ns: u64) {
        self.books.stats.add_closed(self.ws.take());
        for slot in &mut self.books.slots {
            slot.fresh = false;
        }
        self.books.stats.disconnects += 1;
        self.backoff.failed(now_ns);
    }
}

impl super::VenueFeed for KrakenFeed {
    fn venue(&self) -> kestrel_types::cex::Venue {
        kestrel_types::cex::Venue::Kraken
    }

    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        KrakenFeed::poll(self, now_ns, changed)
    }

    fn book(&self, i: usize) -> Option<&Book> {
        self.books.slots.get(i).map(|s| s.keeper.book())
    }

    fn is_live(&self, i: usize, now_ns: u64) -> bool {
        KrakenFeed::is_live(self, i, now_ns)
    }

    fn stats(&self) -> FeedStats {
        self.books.stats.with_open(self.ws.as_ref())
    }
}

/// `{"method":"<method>","params":{"channel":"book","symbol":["<symbol>"],"depth":<depth>}}`.
fn book_request(method: &str, symbol: &KrakenSymbol) -> String {
    use std::fmt::Write as _;
    let mut out = format!(r#"{{"method":"{method}","params":{{"channel":"book","symbol":["#);
    push_json_string(&mut out, &symbol.symbol);
    // Writing to a String cannot fail.
    let _ = write!(out, r#"],"depth":{}}}}}"#, symbol.depth.levels());
    out
}

/// Append `text` as a JSON string literal (quoted, escaped).
pub(super) fn push_json_string(out: &mut String, text: &str) {
    use std::fmt::Write as _;
    out.push('"');
    for c in text.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            // Writing to a String cannot fail.
            c if u32::from(c) < 0x20 => {
                let _ = write!(out, "\\u{:04x}", u32::from(c));
            }
            c => out.push(c),
        }
    }
    out.push('"');
}

/// When to send an application ping, and when a connection that answers nothing is dead.
///
/// A ping goes out every interval; any frame received counts as an answer. A connection that
/// has said nothing for a whole interval after a ping is dead even if TCP has not noticed
/// (a half-open connection reads as quiet, not closed), and is replaced.
#[derive(Clone, Copy, Debug)]
pub(super) struct KeepAlive {
    every_ns: u64,
    last_ping_ns: u64,
    /// When the ping still unanswered was sent.
    unanswered_since_ns: Option<u64>,
}

impl KeepAlive {
    /// The shortest interval accepted: anything shorter would ping on every poll.
    const MIN_EVERY_MS: u64 = 10;

    /// Pings every `every_ms` (at least [`KeepAlive::MIN_EVERY_MS`]).
    pub(super) fn new(every_ms: u64) -> KeepAlive {
        KeepAlive {
            every_ns: every_ms.max(Self::MIN_EVERY_MS).saturating_mul(1_000_000),
            last_ping_ns: 0,
            unanswered_since_ns: None,
        }
    }

    /// A connection was made at `now_ns`: the first ping is due an interval later.
    pub(super) fn connected(&mut self, now_ns: u64) {
        self.last_ping_ns = now_ns;
        self.unanswered_since_ns = None;
    }

    /// A frame arrived.
    pub(super) fn heard(&mut self) {
        self.unanswered_since_ns = None;
    }

    /// Whether a ping should be sent at `now_ns`.
    pub(super) fn ping_due(&self, now_ns: u64) -> bool {
        now_ns.saturating_sub(self.last_ping_ns) >= self.every_ns
    }

    /// A ping was sent at `now_ns`.
    pub(super) fn pinged(&mut self, now_ns: u64) {
        self.last_ping_ns = now_ns;
        if self.unanswered_since_ns.is_none() {
            self.unanswered_since_ns = Some(now_ns);
        }
    }

    /// Whether nothing has been heard for a whole interval since a ping.
    pub(super) fn is_dead(&self, now_ns: u64) -> bool {
        self.unanswered_since_ns
            .is_some_and(|sent| now_ns.saturating_sub(sent) >= self.every_ns)
    }
}

#[cfg(test)]
mod tests {
    use kestrel_types::cex::{BookSide, Fixed};
    use kestrel_venues::sync::kraken::kraken_checksum;

    use super::*;
    use crate::cex::SNAPSHOT_WAIT_NS;

    fn scale(d: u8) -> Scale {
        Scale::new(d).expect("scale")
    }

    fn btc() -> KrakenSymbol {
        KrakenSymbol {
            symbol: "BTC/USD".into(),
            depth: KrakenDepth::D10,
            price_precision: scale(1),
            qty_precision: scale(8),
        }
    }

    /// A `book` message of `kind` with one bid, and the checksum of a book holding just it
    /// (off by one when `corrupt`).
    fn book_frame(kind: &str, price: u64, qty: u64, corrupt: bool) -> String {
        let mut book = Book::new(10, scale(1), scale(8));
        book.set(BookSide::Bid, Fixed(price), Fixed(qty));
        let sum = kraken_checksum(&book, scale(1), scale(8), &mut String::new());
        let sum = if corrupt { sum ^ 1 } else { sum };
        let (mut p, mut q) = (String::new(), String::new());
        Fixed(price).write(scale(1), &mut p);
        Fixed(qty).write(scale(8), &mut q);
        format!(
            r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":[{{"price":{p},"qty":{q}}}],"asks":[],"checksum":{sum}}}]}}"#
        )
    }

    fn feed_frame(books: &mut Books, frame: &str) -> Vec<usize> {
        let mut changed = Vec::new();
        books.on_frame(frame.as_bytes(), 7, &mut |i| changed.push(i));
        changed
    }

    #[test]
    fn requests_are_krakens_json() {
        assert_eq!(
            Slot::new(&btc()).subscribe,
            r#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}"#
        );
        assert_eq!(
            Slot::new(&btc()).unsubscribe,
            r#"{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}"#
        );
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n");
        assert_eq!(out, r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn updates_apply_only_after_this_connections_snapshot() {
        let mut books = Books::new(vec![Slot::new(&btc())]);
        // The keeper could hold a previous connection's book: an early update is not applied.
        assert!(feed_frame(&mut books, &book_frame("update", 1_000, 100, false)).is_empty());
        assert_eq!(books.slots[0].keeper.stats().applied, 0);
        assert_eq!(
            feed_frame(&mut books, &book_frame("snapshot", 1_000, 100, false)),
            [0]
        );
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert!(!books.slots[0].liveness.is_stale(7, 0));
        assert_eq!(
            feed_frame(&mut books, &book_frame("update", 1_000, 200, false)),
            [0]
        );
        // A checksum that disagrees clears the book and asks for a resubscribe.
        assert!(feed_frame(&mut books, &book_frame("update", 1_000, 300, true)).is_empty());
        let slot = &books.slots[0];
        assert!(slot.resubscribe && !slot.fresh && !slot.keeper.is_synced());
        assert_eq!(slot.keeper.stats().checksum_failures, 1);
        // Another symbol's messages, pongs, refusals and garbage touch no book.
        let other = book_frame("snapshot", 1_000, 100, false).replace("BTC/USD", "ETH/USD");
        assert!(feed_frame(&mut books, &other).is_empty());
        feed_frame(&mut books, r#"{"method":"pong","req_id":1}"#);
        feed_frame(
            &mut books,
            r#"{"method":"subscribe","success":false,"error":"Currency pair not supported"}"#,
        );
        feed_frame(&mut books, "{\"channel\":");
        assert_eq!((books.pongs, books.refusals), (1, 1));
        assert_eq!((books.stats.frames, books.stats.malformed), (8, 1));
    }

    #[test]
    fn updates_with_no_snapshot_resubscribe_once_the_snapshot_is_overdue() {
        let mut books = Books::new(vec![Slot::new(&btc())]);
        let subscribed_ns = 5_000_000_000;
        books.slots[0].subscribed_ns = subscribed_ns;
        let at = |books: &mut Books, ns: u64, frame: &str| {
            books.on_frame(frame.as_bytes(), subscribed_ns + ns, &mut |_| {});
            books.slots[0].resubscribe
        };
        let update = book_frame("update", 1_000, 100, false);
        // The old subscription's updates, in flight after a resubscribe: the normal order.
        assert!(!at(&mut books, 1_000_000, &update));
        assert!(!at(&mut books, SNAPSHOT_WAIT_NS - 1, &update));
        // Still updates, and no snapshot a whole wait after the subscription: it was lost.
        assert!(at(&mut books, SNAPSHOT_WAIT_NS, &update));
        assert!(!books.slots[0].fresh);
        // The new subscription's snapshot syncs the book; its updates apply.
        books.slots[0].resubscribe = false;
        books.slots[0].subscribed_ns = subscribed_ns + SNAPSHOT_WAIT_NS;
        let snapshot = book_frame("snapshot", 1_000, 100, false);
        assert!(!at(&mut books, SNAPSHOT_WAIT_NS + 1, &snapshot));
        let later = book_frame("update", 1_000, 200, false);
        assert!(!at(&mut books, 5 * SNAPSHOT_WAIT_NS, &later));
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert_eq!(books.slots[0].keeper.stats().applied, 1);
    }

    #[test]
    fn keep_alive_pings_every_interval_and_calls_a_silent_connection_dead() {
        let ms = 1_000_000;
        let mut k = KeepAlive::new(100);
        k.connected(1_000 * ms);
        assert!(!k.ping_due(1_099 * ms) && k.ping_due(1_100 * ms));
        k.pinged(1_100 * ms);
        assert!(!k.is_dead(1_199 * ms) && k.is_dead(1_200 * ms));
        k.heard();
        assert!(!k.is_dead(5_000 * ms), "answered");
        assert!(KeepAlive::new(0).ping_due(10 * ms), "at least 10 ms apart");
        assert!(!KeepAlive::new(0).ping_due(9 * ms));
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_frames_are_counted_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let mut books = Books::new(vec![Slot::new(&btc())]);
            books.on_frame(&bytes, 0, &mut |_| {});
            proptest::prop_assert_eq!(books.stats.frames, 1);
        }
    }
}
