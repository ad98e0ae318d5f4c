//! The market-data connection Kraken and OKX share: one WebSocket carrying every configured
//! symbol's book channel, where the venue answers a subscription with a snapshot and then
//! sends updates, and the only way back into step is a new subscription.
//!
//! Whatever made a keeper give up (a gap, a checksum, an inexact number), the feed unsubscribes
//! that symbol's book and subscribes it again, its resubscriptions spaced by a backoff. So does
//! a snapshot that never arrived whole: updates still coming a second after the subscription,
//! with no snapshot before them, mean it was lost. An application ping goes out every interval
//! and a connection that answers nothing a whole interval after one is replaced. What differs
//! between the venues (the decoder, the keeper, the ping, the requests' text) is a
//! [`ResubscribeVenue`].
//!
//! **Invariant:** a book is quoted from only once a snapshot was applied on the connection
//! now open, and not since cleared. A keeper still holds the last connection's book after a
//! reconnect; updates arriving before this connection's snapshot are not applied to it, and
//! the book is not live until that snapshot lands.

use kestrel_types::cex::Venue;
use kestrel_venues::book::Book;
use kestrel_venues::sync::{Liveness, Outcome};
use kestrel_wire::cex::CexError;

use super::{Backoff, FeedStats, VenueFeed, snapshot_overdue};
use crate::wsclient::{WsClient, WsError};

/// Where and what a [`ResubscribeFeed`] subscribes to.
#[derive(Clone, Debug)]
pub struct ResubscribeFeedConfig<S> {
    /// `ws://host:port` (the venue's path, [`ResubscribeVenue::PATH`], is appended).
    pub ws_url: String,
    /// Symbols.
    pub symbols: Vec<S>,
    /// A symbol with no book message for this long is stale and not quoted from.
    pub stale_after_ms: u64,
    /// How often to send the venue's ping ([`ResubscribeVenue::PING`]); a connection that has
    /// answered nothing a whole interval after a ping is taken for dead and replaced. At least
    /// 10 ms.
    pub ping_every_ms: u64,
}

/// What one venue's frames, books and requests are, for a [`ResubscribeFeed`].
pub trait ResubscribeVenue: std::fmt::Debug {
    /// Which venue.
    const VENUE: Venue;
    /// The WebSocket path after the configured URL.
    const PATH: &'static str;
    /// The application-level keep-alive the venue answers with a pong.
    const PING: &'static [u8];
    /// One symbol to follow, as configured.
    type Symbol;
    /// One symbol's book keeper.
    type Keeper: std::fmt::Debug;
    /// A decoded book message, borrowing the frame.
    type Msg<'a>;

    /// The symbol's name as the venue's book messages spell it.
    fn name(symbol: &Self::Symbol) -> &str;
    /// A keeper for the symbol's book.
    fn keeper(symbol: &Self::Symbol) -> Self::Keeper;
    /// The request that `method`s (`subscribe`, `unsubscribe`) the symbol's book.
    fn request(method: &str, symbol: &Self::Symbol) -> String;
    /// Decode one frame into what it means to the feed.
    fn decode(frame: &[u8]) -> Result<FeedEvent<Self::Msg<'_>>, CexError>;
    /// The symbol a book message is for, as the venue spells it.
    fn symbol<'m>(msg: &'m Self::Msg<'_>) -> &'m [u8];
    /// Whether a book message changes the book rather than replaces it.
    fn is_update(msg: &Self::Msg<'_>) -> bool;
    /// Hand a book message to its keeper.
    fn apply(keeper: &mut Self::Keeper, msg: &Self::Msg<'_>) -> Outcome;
    /// The keeper's book, synced or not.
    fn book(keeper: &Self::Keeper) -> &Book;
    /// Whether the keeper is in step with the venue.
    fn is_synced(keeper: &Self::Keeper) -> bool;
    /// The keeper's counters (it lives as long as the feed: they cover every connection).
    fn sync_stats(keeper: &Self::Keeper) -> kestrel_venues::sync::SyncStats;
}

/// What a decoded frame means to a [`ResubscribeFeed`].
#[derive(Debug, Clone, Copy)]
pub enum FeedEvent<M> {
    /// A book message of a subscribed channel.
    Book(M),
    /// The answer to a ping.
    Pong,
    /// A request the venue refused (a symbol it does not list): that book never syncs.
    Refusal,
    /// The venue gave notice that it will close the connection: replace it now.
    Closing,
    /// Anything else, well formed.
    Other,
}

/// One symbol's keeper and where it stands on the connection now open.
#[derive(Debug)]
pub(super) struct Slot<V: ResubscribeVenue> {
    pub(super) symbol: String,
    pub(super) keeper: V::Keeper,
    pub(super) liveness: Liveness,
    /// A snapshot was applied on this connection and the book not cleared since.
    pub(super) fresh: bool,
    /// The keeper cleared its book: resubscribe once the frames now buffered are read.
    pub(super) resubscribe: bool,
    /// Spaces out resubscriptions that keep failing (a snapshot that never checks out), so
    /// a persistent disagreement costs one request every few seconds, not a storm.
    pub(super) resubscribe_backoff: Backoff,
    /// When this book's subscription was last sent (on connect, or a resubscribe): how long
    /// its snapshot has been due.
    pub(super) subscribed_ns: u64,
    /// Written once, so that a resync allocates nothing.
    pub(super) subscribe: String,
    pub(super) unsubscribe: String,
}

impl<V: ResubscribeVenue> Slot<V> {
    pub(super) fn new(s: &V::Symbol) -> Slot<V> {
        Slot {
            symbol: V::name(s).to_string(),
            keeper: V::keeper(s),
            liveness: Liveness::default(),
            fresh: false,
            resubscribe: false,
            resubscribe_backoff: Backoff::new(),
            subscribed_ns: 0,
            subscribe: V::request("subscribe", s),
            unsubscribe: V::request("unsubscribe", s),
        }
    }
}

/// The books and the counters the frame handler writes, apart from the socket it reads.
#[derive(Debug)]
pub(super) struct Books<V: ResubscribeVenue> {
    pub(super) slots: Vec<Slot<V>>,
    pub(super) stats: FeedStats,
    pub(super) pongs: u64,
    pub(super) refusals: u64,
    /// The venue said it will close this connection: replace it now.
    pub(super) closing: bool,
}

impl<V: ResubscribeVenue> Books<V> {
    pub(super) fn new(slots: Vec<Slot<V>>) -> Books<V> {
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
    pub(super) fn on_frame(&mut self, frame: &[u8], now_ns: u64, changed: &mut dyn FnMut(usize)) {
        self.stats.frames += 1;
        let Ok(decoded) = V::decode(frame) else {
            self.stats.malformed += 1;
            return;
        };
        match decoded {
            FeedEvent::Book(msg) => self.on_book(&msg, now_ns, changed),
            FeedEvent::Pong => self.pongs += 1,
            FeedEvent::Refusal => self.refusals += 1,
            FeedEvent::Closing => self.closing = true,
            FeedEvent::Other => {}
        }
    }

    fn on_book(&mut self, msg: &V::Msg<'_>, now_ns: u64, changed: &mut dyn FnMut(usize)) {
        let symbol = V::symbol(msg);
        let Some((i, slot)) = self
            .slots
            .iter_mut()
            .enumerate()
            .find(|(_, s)| s.symbol.as_bytes() == symbol)
        else {
            return;
        };
        // Before this connection's snapshot the keeper may still hold the last connection's
        // book: an update must not be applied to that. Updates still flowing once the
        // snapshot is overdue mean it was lost (unreadable, or too big for the client), and
        // only a new subscription brings another.
        if V::is_update(msg) && !slot.fresh {
            if snapshot_overdue(slot.subscribed_ns, now_ns) {
                slot.resubscribe = true;
            }
            return;
        }
        match V::apply(&mut slot.keeper, msg) {
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

/// A market-data connection and its books, for a venue that resyncs a book by subscribing it
/// again ([`super::kraken::KrakenFeed`], [`super::okx::OkxFeed`]).
#[derive(Debug)]
pub struct ResubscribeFeed<V: ResubscribeVenue> {
    url: String,
    stale_after_ns: u64,
    ws: Option<WsClient>,
    books: Books<V>,
    keep_alive: KeepAlive,
    backoff: Backoff,
    resubscribes: u64,
    dead_connections: u64,
}

impl<V: ResubscribeVenue> ResubscribeFeed<V> {
    /// A feed for `cfg`, not yet connected (the first [`ResubscribeFeed::poll`] connects).
    /// Every book and message is allocated here.
    pub fn new(cfg: ResubscribeFeedConfig<V::Symbol>) -> ResubscribeFeed<V> {
        ResubscribeFeed {
            url: format!("{}{}", cfg.ws_url.trim_end_matches('/'), V::PATH),
            stale_after_ns: cfg.stale_after_ms.saturating_mul(1_000_000),
            ws: None,
            books: Books::new(cfg.symbols.iter().map(Slot::new).collect()),
            keep_alive: KeepAlive::new(cfg.ping_every_ms),
            backoff: Backoff::new(),
            resubscribes: 0,
            dead_connections: 0,
        }
    }

    /// The keeper of symbol `i` (in config order).
    pub fn book(&self, i: usize) -> Option<&V::Keeper> {
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
                .is_some_and(|s| s.fresh && V::is_synced(&s.keeper))
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

    /// Pongs received.
    pub fn pongs(&self) -> u64 {
        self.books.pongs
    }

    /// Requests the venue refused (Kraken's `"success":false`, OKX's `error` event): a symbol
    /// it does not list, a depth it does not offer. Such a book never syncs.
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
        let due = |s: &&mut Slot<V>| s.resubscribe && s.resubscribe_backoff.ready(now_ns);
        for slot in self.books.slots.iter_mut().filter(due) {
            // Neither venue can be asked for a snapshot mid-stream: a new subscription starts
            // with one, and the old one is dropped first so that nothing from it is mistaken
            // for the new one's.
            ws.send_text(slot.unsubscribe.as_bytes())?;
            ws.send_text(slot.subscribe.as_bytes())?;
            slot.resubscribe = false;
            slot.subscribed_ns = now_ns;
            slot.resubscribe_backoff.failed(now_ns);
            self.resubscribes += 1;
        }
        if self.keep_alive.ping_due(now_ns) {
            ws.send_text(V::PING)?;
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

impl<V: ResubscribeVenue> VenueFeed for ResubscribeFeed<V> {
    fn venue(&self) -> Venue {
        V::VENUE
    }

    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        ResubscribeFeed::poll(self, now_ns, changed)
    }

    fn book(&self, i: usize) -> Option<&Book> {
        self.books.slots.get(i).map(|s| V::book(&s.keeper))
    }

    fn is_live(&self, i: usize, now_ns: u64) -> bool {
        ResubscribeFeed::is_live(self, i, now_ns)
    }

    fn stats(&self) -> FeedStats {
        ResubscribeFeed::stats(self)
    }

    fn sync_stats(&self, i: usize) -> Option<kestrel_venues::sync::SyncStats> {
        self.books.slots.get(i).map(|s| V::sync_stats(&s.keeper))
    }
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
struct KeepAlive {
    every_ns: u64,
    last_ping_ns: u64,
    /// When the ping still unanswered was sent.
    unanswered_since_ns: Option<u64>,
}

impl KeepAlive {
    /// The shortest interval accepted: anything shorter would ping on every poll.
    const MIN_EVERY_MS: u64 = 10;

    /// Pings every `every_ms` (at least [`KeepAlive::MIN_EVERY_MS`]).
    fn new(every_ms: u64) -> KeepAlive {
        KeepAlive {
            every_ns: every_ms.max(Self::MIN_EVERY_MS).saturating_mul(1_000_000),
            last_ping_ns: 0,
            unanswered_since_ns: None,
        }
    }

    /// A connection was made at `now_ns`: the first ping is due an interval later.
    fn connected(&mut self, now_ns: u64) {
        self.last_ping_ns = now_ns;
        self.unanswered_since_ns = None;
    }

    /// A frame arrived.
    fn heard(&mut self) {
        self.unanswered_since_ns = None;
    }

    /// Whether a ping should be sent at `now_ns`.
    fn ping_due(&self, now_ns: u64) -> bool {
        now_ns.saturating_sub(self.last_ping_ns) >= self.every_ns
    }

    /// A ping was sent at `now_ns`.
    fn pinged(&mut self, now_ns: u64) {
        self.last_ping_ns = now_ns;
        if self.unanswered_since_ns.is_none() {
            self.unanswered_since_ns = Some(now_ns);
        }
    }

    /// Whether nothing has been heard for a whole interval since a ping.
    fn is_dead(&self, now_ns: u64) -> bool {
        self.unanswered_since_ns
            .is_some_and(|sent| now_ns.saturating_sub(sent) >= self.every_ns)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
}
