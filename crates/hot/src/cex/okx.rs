//! OKX v5 public market data: one connection at `/ws/v5/public` carrying every configured
//! instrument's `books` channel (400 levels: a snapshot on subscribe, then updates chained by
//! `seqId` with a checksum of the top 25 levels), each instrument's book kept by [`OkxBook`].
//!
//! Whatever made a keeper give up (a sequence gap, a checksum, the venue's sequence reset, an
//! inexact number), the feed unsubscribes that instrument's `books` and subscribes it again,
//! and the venue answers with a fresh snapshot. So does a snapshot that never arrived whole:
//! updates still coming a second after the subscription, with no snapshot before them, mean
//! it was lost. The connection is kept open with the text `ping` OKX asks for (it closes a
//! connection that has been silent for 30 s), and replaced when the venue gives notice that it
//! will close it for an upgrade.
//!
//! **Invariant:** a book is quoted from only once a snapshot was applied on the connection
//! now open, and not since cleared. A keeper still holds the last connection's book after a
//! reconnect; updates arriving before this connection's snapshot are not applied to it, and
//! the book is not live until that snapshot lands.

use kestrel_types::cex::Scale;
use kestrel_venues::book::Book;
use kestrel_venues::sync::okx::OkxBook;
use kestrel_venues::sync::{Liveness, Outcome};
use kestrel_wire::cex::okx::{OkxAction, OkxBookMsg, OkxFrame, parse_okx};

use super::kraken::{KeepAlive, push_json_string};
use super::{Backoff, FeedStats, snapshot_overdue};
use crate::wsclient::{WsClient, WsError};

/// One instrument to follow.
#[derive(Clone, Debug)]
pub struct OkxSymbol {
    /// The venue's instrument id (`"BTC-USDT"`).
    pub inst_id: String,
    /// Fraction digits of its prices (`tickSz`'s).
    pub price_scale: Scale,
    /// Fraction digits of its sizes (`lotSz`'s).
    pub size_scale: Scale,
    /// Levels kept per side: 400 for `books`, the channel's depth.
    pub capacity: usize,
}

/// Where and what to subscribe to.
#[derive(Clone, Debug)]
pub struct OkxFeedConfig {
    /// `ws://host:port` (the `/ws/v5/public` path is appended).
    pub ws_url: String,
    /// Instruments.
    pub symbols: Vec<OkxSymbol>,
    /// An instrument with no book push for this long is stale and not quoted from.
    pub stale_after_ms: u64,
    /// How often to send the text `ping`: under 30 s, after which OKX closes a silent
    /// connection. A connection that has answered nothing a whole interval after a ping is
    /// taken for dead and replaced. At least 10 ms.
    pub ping_every_ms: u64,
}

/// The keep-alive OKX answers with the text `pong`.
const PING: &[u8] = b"ping";

/// The only channel subscribed.
const CHANNEL: &[u8] = b"books";

/// One instrument's keeper and where it stands on the connection now open.
#[derive(Debug)]
struct Slot {
    inst_id: String,
    keeper: OkxBook,
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
    fn new(s: &OkxSymbol) -> Slot {
        Slot {
            inst_id: s.inst_id.clone(),
            keeper: OkxBook::new(Book::new(s.capacity, s.price_scale, s.size_scale)),
            liveness: Liveness::default(),
            fresh: false,
            resubscribe: false,
            resubscribe_backoff: Backoff::new(),
            subscribed_ns: 0,
            subscribe: books_request("subscribe", &s.inst_id),
            unsubscribe: books_request("unsubscribe", &s.inst_id),
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
    /// The venue said it will close this connection (`notice` 64008): replace it now.
    closing: bool,
}

impl Books {
    fn new(slots: Vec<Slot>) -> Books {
        Books {
            slots,
            stats: FeedStats::default(),
            pongs: 0,
            refusals: 0,
            closing: false,
        }
    }

    /// Decode one frame and hand what it carries to its keeper; never panics, whatever the
    /// bytes.
    fn on_frame(&mut self, frame: &[u8], now_ns: u64, changed: &mut dyn FnMut(usize)) {
        self.stats.frames += 1;
        let Ok(decoded) = parse_okx(frame) else {
            self.stats.malformed += 1;
            return;
        };
        match decoded {
            OkxFrame::Book(msg) if msg.channel == CHANNEL => self.on_book(&msg, now_ns, changed),
            OkxFrame::Pong => self.pongs += 1,
            OkxFrame::Error { .. } => self.refusals += 1,
            OkxFrame::Notice { .. } => self.closing = true,
            _ => {}
        }
    }

    fn on_book(&mut self, msg: &OkxBookMsg<'_>, now_ns: u64, changed: &mut dyn FnMut(usize)) {
        let Some((i, slot)) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.inst_id.as_bytes() == msg.inst_id)
        else {
            return;
        };
        // Before this connection's snapshot the keeper may still hold the last connection's
        // book: an update must not be applied to that. Updates still flowing once the
        // snapshot is overdue mean it was lost (unreadable, or too big for the client), and
        // only a new subscription brings another.
        if msg.action == OkxAction::Update && !slot.fresh {
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

/// An OKX market-data connection and its books.
#[derive(Debug)]
pub struct OkxFeed {
    url: String,
    stale_after_ns: u64,
    ws: Option<WsClient>,
    books: Books,
    keep_alive: KeepAlive,
    backoff: Backoff,
    resubscribes: u64,
    dead_connections: u64,
}

impl OkxFeed {
    /// A feed for `cfg`, not yet connected (the first [`OkxFeed::poll`] connects). Every book
    /// and message is allocated here.
    pub fn new(cfg: OkxFeedConfig) -> OkxFeed {
        let slots = cfg.symbols.iter().map(Slot::new).collect();
        OkxFeed {
            url: format!("{}/ws/v5/public", cfg.ws_url.trim_end_matches('/')),
            stale_after_ns: cfg.stale_after_ms.saturating_mul(1_000_000),
            ws: None,
            books: Books::new(slots),
            keep_alive: KeepAlive::new(cfg.ping_every_ms),
            backoff: Backoff::new(),
            resubscribes: 0,
            dead_connections: 0,
        }
    }

    /// The keeper of instrument `i` (in config order).
    pub fn book(&self, i: usize) -> Option<&OkxBook> {
        self.books.slots.get(i).map(|s| &s.keeper)
    }

    /// Whether instrument `i`'s book was built from a snapshot on the connection now open and
    /// is in step with the venue.
    pub fn is_synced(&self, i: usize) -> bool {
        self.ws.is_some()
            && self
                .books
                .slots
                .get(i)
                .is_some_and(|s| s.fresh && s.keeper.is_synced())
    }

    /// Whether instrument `i`'s book may be quoted from at `now_ns`: connected, synced, not
    /// stale.
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

    /// `error` events: requests the venue refused (an instrument it does not list). Such a
    /// book never syncs.
    pub fn refusals(&self) -> u64 {
        self.books.refusals
    }

    /// Connections dropped because they answered nothing after a ping.
    pub fn dead_connections(&self) -> u64 {
        self.dead_connections
    }

    /// Do whatever is ready: connect (when due), apply received book pushes, resubscribe the
    /// books that were cleared, ping when due. `changed(i)` is called for each book that
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
        if self.books.closing {
            // Replaced at once rather than when the venue cuts it: the books resync from
            // the new connection's snapshots either way.
            self.lost(now_ns);
            return handled;
        }
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
            // A new subscription starts with a snapshot; the old one is dropped first so
            // that nothing from it is mistaken for the new one's.
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
                self.books.closing = false;
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

    /// The connection is gone (or going): retry after the backoff. The books are kept until
    /// the reconnect's snapshots replace them; meanwhile none is live.
    fn lost(&mut self, now_ns: u64) {
        self.books.stats.add_closed(self.ws.take());
        for slot in &mut self.books.slots {
            slot.fresh = false;
        }
        self.books.stats.disconnects += 1;
        self.backoff.failed(now_ns);
    }
}

impl super::VenueFeed for OkxFeed {
    fn venue(&self) -> kestrel_types::cex::Venue {
        kestrel_types::cex::Venue::Okx
    }

    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        OkxFeed::poll(self, now_ns, changed)
    }

    fn book(&self, i: usize) -> Option<&Book> {
        self.books.slots.get(i).map(|s| s.keeper.book())
    }

    fn is_live(&self, i: usize, now_ns: u64) -> bool {
        OkxFeed::is_live(self, i, now_ns)
    }

    fn stats(&self) -> FeedStats {
        self.books.stats.with_open(self.ws.as_ref())
    }
}

/// `{"op":"<op>","args":[{"channel":"books","instId":"<inst_id>"}]}`.
fn books_request(op: &str, inst_id: &str) -> String {
    let mut out = format!(r#"{{"op":"{op}","args":[{{"channel":"books","instId":"#);
    push_json_string(&mut out, inst_id);
    out.push_str("}]}");
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cex::SNAPSHOT_WAIT_NS;

    fn btc() -> OkxSymbol {
        OkxSymbol {
            inst_id: "BTC-USDT".into(),
            price_scale: Scale::new(1).expect("scale"),
            size_scale: Scale::new(8).expect("scale"),
            capacity: 400,
        }
    }

    /// A `books` push with one bid, chained `prev` → `seq`, its checksum left out (deprecated,
    /// so unchecked).
    fn push(action: &str, size: &str, prev: i64, seq: i64) -> String {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":[],"bids":[["100.5","{size}","0","1"]],"ts":"1","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    }

    fn feed_frame(books: &mut Books, frame: &str) -> Vec<usize> {
        let mut changed = Vec::new();
        books.on_frame(frame.as_bytes(), 7, &mut |i| changed.push(i));
        changed
    }

    #[test]
    fn requests_are_okxs_json() {
        assert_eq!(
            Slot::new(&btc()).subscribe,
            r#"{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}"#
        );
        assert_eq!(
            Slot::new(&btc()).unsubscribe,
            r#"{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}"#
        );
    }

    #[test]
    fn updates_apply_only_after_this_connections_snapshot() {
        let mut books = Books::new(vec![Slot::new(&btc())]);
        // The keeper could hold a previous connection's book: an early update is not applied.
        assert!(feed_frame(&mut books, &push("update", "1", 10, 11)).is_empty());
        assert_eq!(books.slots[0].keeper.stats().applied, 0);
        assert_eq!(feed_frame(&mut books, &push("snapshot", "1", -1, 11)), [0]);
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert!(!books.slots[0].liveness.is_stale(7, 0));
        assert_eq!(feed_frame(&mut books, &push("update", "2", 11, 12)), [0]);
        // A push that does not chain clears the book and asks for a resubscribe.
        assert!(feed_frame(&mut books, &push("update", "3", 13, 14)).is_empty());
        let slot = &books.slots[0];
        assert!(slot.resubscribe && !slot.fresh && !slot.keeper.is_synced());
        assert_eq!(slot.keeper.stats().gaps, 1);
        // Another instrument, another channel, pongs, errors and garbage touch no book.
        let other = push("snapshot", "1", -1, 20).replace("BTC-USDT", "ETH-USDT");
        assert!(feed_frame(&mut books, &other).is_empty());
        let books5 = push("snapshot", "1", -1, 20).replace("\"books\"", "\"books5\"");
        assert!(feed_frame(&mut books, &books5).is_empty());
        feed_frame(&mut books, "pong");
        feed_frame(
            &mut books,
            r#"{"event":"error","code":"60018","msg":"doesn't exist","connId":"1"}"#,
        );
        feed_frame(&mut books, "[1,");
        assert_eq!((books.pongs, books.refusals), (1, 1));
        assert_eq!((books.stats.frames, books.stats.malformed), (9, 1));
        assert!(!books.closing);
        feed_frame(
            &mut books,
            r#"{"event":"notice","code":"64008","msg":"upgrade","connId":"1"}"#,
        );
        assert!(books.closing, "the venue's notice replaces the connection");
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
        // The old subscription's updates, in flight after a resubscribe: the normal order.
        assert!(!at(&mut books, 1_000_000, &push("update", "1", 10, 11)));
        assert!(!at(
            &mut books,
            SNAPSHOT_WAIT_NS - 1,
            &push("update", "1", 11, 12)
        ));
        // Still updates, and no snapshot a whole wait after the subscription: it was lost.
        assert!(at(
            &mut books,
            SNAPSHOT_WAIT_NS,
            &push("update", "1", 12, 13)
        ));
        assert!(!books.slots[0].fresh);
        assert_eq!(books.slots[0].keeper.stats().applied, 0);
        // The new subscription's snapshot syncs the book; its updates apply.
        books.slots[0].resubscribe = false;
        books.slots[0].subscribed_ns = subscribed_ns + SNAPSHOT_WAIT_NS;
        assert!(!at(
            &mut books,
            SNAPSHOT_WAIT_NS + 1,
            &push("snapshot", "1", -1, 20)
        ));
        assert!(!at(
            &mut books,
            5 * SNAPSHOT_WAIT_NS,
            &push("update", "2", 20, 21)
        ));
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert_eq!(books.slots[0].keeper.stats().applied, 1);
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
