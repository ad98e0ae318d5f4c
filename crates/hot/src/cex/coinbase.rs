//! Coinbase Advanced Trade market data: one connection carrying the `level2` channel of every
//! configured product, plus `heartbeats` (which Coinbase asks for to keep a quiet connection
//! open), each product's book kept by a [`CoinbaseBook`].
//!
//! `level2` delivers every update, so what can go missing is a whole message, and the
//! envelope's `sequence_num` counts every message of the connection whatever its channel or
//! product. One [`CoinbaseSequence`] checks it; on a jump, any product's update may have been
//! lost, so every book of the connection is cleared ([`CoinbaseBook::on_gap`]) and the feed
//! unsubscribes and subscribes `level2` again for those products, which brings each a new
//! snapshot. A book whose own event could not be applied is resubscribed alone. A heartbeat
//! that follows in sequence proves nothing was lost up to it, so it keeps every book live
//! while its market is quiet.

use kestrel_types::cex::Scale;
use kestrel_venues::book::Book;
use kestrel_venues::sync::coinbase::{CoinbaseBook, CoinbaseSequence};
use kestrel_venues::sync::{Liveness, Outcome, ResyncReason, SyncStats};
use kestrel_wire::cex::coinbase::{CoinbaseL2Event, CoinbaseMsg, parse_coinbase};

use super::{Backoff, FeedStats};
use crate::wsclient::{WsClient, WsError};

const NS_PER_MS: u64 = 1_000_000;
/// Largest message the feed takes whole. A `level2` snapshot is the product's whole book in one
/// message, past 4 MiB for a busy product (ccxt issue 23597): far over the WebSocket client's
/// default, which would drop it and leave the book unsynced for good.
pub const MAX_MESSAGE_BYTES: usize = 64 << 20;
const HEARTBEATS: &str = r#"{"type":"subscribe","channel":"heartbeats"}"#;

/// One product to follow.
#[derive(Clone, Debug)]
pub struct CoinbaseProduct {
    /// The venue's spelling (`"BTC-USD"`).
    pub product_id: String,
    /// Fraction digits of its prices.
    pub price_scale: Scale,
    /// Fraction digits of its sizes.
    pub size_scale: Scale,
    /// Levels the book holds a side. Coinbase's snapshot is the whole book: levels past the
    /// capacity are dropped and the ones near the kept edge may go stale, so give it room well
    /// past the depth anything walks.
    pub capacity: usize,
}

/// Where and what to subscribe to.
#[derive(Clone, Debug)]
pub struct CoinbaseFeedConfig {
    /// `ws://host:port[/path]`, used as given.
    pub ws_url: String,
    /// Products, all on the one connection.
    pub products: Vec<CoinbaseProduct>,
    /// A product with no book event or heartbeat for this long is stale and not quoted from.
    pub stale_after_ms: u64,
}

/// A Coinbase market-data connection and its books.
#[derive(Debug)]
pub struct CoinbaseFeed {
    cfg: CoinbaseFeedConfig,
    /// `level2` for every product: unsubscribe, subscribe.
    all: [String; 2],
    /// `level2` for one product: unsubscribe, subscribe.
    each: Vec<[String; 2]>,
    ws: Option<WsClient>,
    books: Books,
    backoff: Backoff,
    stats: FeedStats,
}

/// What the frames of a connection change: the sequence check, the keepers, and what the
/// feed must do next.
#[derive(Debug)]
struct Books {
    product_ids: Vec<String>,
    sequence: CoinbaseSequence,
    keepers: Vec<CoinbaseBook>,
    /// Counters of the keepers of earlier connections (a reconnect starts new keepers).
    earlier: Vec<SyncStats>,
    liveness: Vec<Liveness>,
    /// Products whose book must be rebuilt from a new subscription.
    resubscribe: Vec<bool>,
    errors: u64,
}

impl CoinbaseFeed {
    /// A feed for `cfg`, not yet connected (the first [`CoinbaseFeed::poll`] connects).
    pub fn new(cfg: CoinbaseFeedConfig) -> CoinbaseFeed {
        let product_ids: Vec<String> = cfg.products.iter().map(|p| p.product_id.clone()).collect();
        let all = level2_pair(&product_ids);
        let each = product_ids
            .iter()
            .map(|p| level2_pair(std::slice::from_ref(p)))
            .collect();
        let n = product_ids.len();
        let books = Books {
            product_ids,
            sequence: CoinbaseSequence::new(),
            keepers: cfg.products.iter().map(keeper).collect(),
            earlier: vec![SyncStats::default(); n],
            liveness: vec![Liveness::default(); n],
            resubscribe: vec![false; n],
            errors: 0,
        };
        CoinbaseFeed {
            cfg,
            all,
            each,
            ws: None,
            books,
            backoff: Backoff::new(),
            stats: FeedStats::default(),
        }
    }

    /// The keeper of product `i` (in config order), of the current connection: its counters
    /// start over on a reconnect ([`CoinbaseFeed::sync_stats`] adds up every connection's).
    pub fn book(&self, i: usize) -> Option<&CoinbaseBook> {
        self.books.keepers.get(i)
    }

    /// Product `i`'s keeper counters over every connection so far.
    pub fn sync_stats(&self, i: usize) -> Option<SyncStats> {
        let now = self.books.keepers.get(i)?.stats();
        Some(self.books.earlier.get(i).copied().unwrap_or_default() + now)
    }

    /// The connection's `sequence_num` check (its counters cover every connection).
    pub fn sequence(&self) -> CoinbaseSequence {
        self.books.sequence
    }

    /// `{"type":"error"}` messages received (a refused subscribe leaves its books unsynced).
    pub fn errors(&self) -> u64 {
        self.books.errors
    }

    /// Whether product `i`'s book may be quoted from at `now_ns`: connected, synced, not stale.
    pub fn is_live(&self, i: usize, now_ns: u64) -> bool {
        let limit_ns = self.cfg.stale_after_ms.saturating_mul(NS_PER_MS);
        self.ws.is_some()
            && self
                .books
                .keepers
                .get(i)
                .is_some_and(CoinbaseBook::is_synced)
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

    /// Do whatever is ready: connect (when due), check and apply received messages,
    /// resubscribe the products whose book must be rebuilt. `changed(i)` is called for each
    /// book that changed. Returns how many frames were handled; never blocks.
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
        if self.resubscribe().is_err() {
            self.lose_connection(now_ns);
        }
        handled
    }

    fn connect(&mut self, now_ns: u64) {
        if !self.backoff.ready(now_ns) {
            return;
        }
        let ws = WsClient::connect_with_max_message(&self.cfg.ws_url, None, MAX_MESSAGE_BYTES);
        let mut ws = match ws {
            Ok(ws) => ws,
            Err(_) => {
                self.stats.connect_failures += 1;
                self.backoff.failed(now_ns);
                return;
            }
        };
        if self.stats.connects > 0 {
            self.books.restart(&self.cfg.products);
        }
        self.stats.connects += 1;
        // Each product's snapshot comes after the subscription: until then its book is unsynced.
        let [_, subscribe] = &self.all;
        let sent = ws
            .send_text(subscribe.as_bytes())
            .and_then(|()| ws.send_text(HEARTBEATS.as_bytes()));
        if sent.is_err() {
            self.lose_connection(now_ns);
            return;
        }
        self.backoff.succeeded();
        self.ws = Some(ws);
    }

    /// Unsubscribe and subscribe `level2` again for the products whose book resynced: in one
    /// request pair when every product needs it (after a sequence gap), else one pair each.
    fn resubscribe(&mut self) -> Result<(), WsError> {
        let Some(ws) = self.ws.as_mut() else {
            return Ok(());
        };
        let pending = &mut self.books.resubscribe;
        if !pending.is_empty() && pending.iter().all(|&p| p) {
            pending.fill(false);
            return self.all.iter().try_for_each(|r| ws.send_text(r.as_bytes()));
        }
        for (p, requests) in pending.iter_mut().zip(&self.each) {
            if *p {
                // Cleared first: a failed send drops the connection, which resubscribes all.
                *p = false;
                for r in requests {
                    ws.send_text(r.as_bytes())?;
                }
            }
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
    /// Check one frame's `sequence_num`, then apply what it carries.
    fn on_frame(
        &mut self,
        frame: &[u8],
        now_ns: u64,
        stats: &mut FeedStats,
        changed: &mut dyn FnMut(usize),
    ) {
        stats.frames += 1;
        // An unreadable frame loses its sequence number too: the next one shows the gap.
        let Ok(decoded) = parse_coinbase(frame) else {
            stats.malformed += 1;
            return;
        };
        if let Some(n) = decoded.sequence_num
            && let Err(reason) = self.sequence.check(n)
        {
            self.lose_all(reason);
        }
        match decoded.msg {
            CoinbaseMsg::L2(l2) => {
                let walked = l2.for_each(|event| {
                    self.on_event(&event, now_ns, changed);
                    Ok(())
                });
                if walked.is_err() {
                    // The events after the unreadable one, of any product, are lost with it.
                    stats.malformed += 1;
                    self.lose_all(ResyncReason::BadNumber);
                }
            }
            CoinbaseMsg::Heartbeat { .. } => {
                for l in &mut self.liveness {
                    l.touch(now_ns);
                }
            }
            CoinbaseMsg::Error { .. } => self.errors += 1,
            _ => {}
        }
    }

    /// One product's snapshot or update, to its keeper.
    fn on_event(
        &mut self,
        event: &CoinbaseL2Event<'_>,
        now_ns: u64,
        changed: &mut dyn FnMut(usize),
    ) {
        let Some(i) = self
            .product_ids
            .iter()
            .position(|p| p.as_bytes() == event.product_id)
        else {
            return;
        };
        if let Some(l) = self.liveness.get_mut(i) {
            l.touch(now_ns);
        }
        match self.keepers.get_mut(i).map(|k| k.on_event(event)) {
            Some(Outcome::Applied) => changed(i),
            Some(Outcome::Resync(_)) => {
                if let Some(r) = self.resubscribe.get_mut(i) {
                    *r = true;
                }
            }
            Some(Outcome::Ignored | Outcome::Buffered) | None => {}
        }
    }

    /// Messages were lost: any book may have missed updates, so every one starts over.
    fn lose_all(&mut self, reason: ResyncReason) {
        for keeper in &mut self.keepers {
            keeper.on_gap(reason);
        }
        self.resubscribe.fill(true);
    }

    /// A new connection: its numbering starts afresh, and every keeper starts over (its
    /// counters kept in `earlier`) and waits for the snapshot its new subscription brings.
    fn restart(&mut self, products: &[CoinbaseProduct]) {
        self.sequence.reset();
        for ((k, earlier), product) in self.keepers.iter_mut().zip(&mut self.earlier).zip(products)
        {
            let old = std::mem::replace(k, keeper(product));
            *earlier = *earlier + old.stats();
        }
        self.resubscribe.fill(false);
    }
}

fn keeper(p: &CoinbaseProduct) -> CoinbaseBook {
    CoinbaseBook::new(Book::new(p.capacity, p.price_scale, p.size_scale))
}

/// `level2` (un)subscribe requests for `products`: unsubscribe, subscribe.
fn level2_pair(products: &[String]) -> [String; 2] {
    let ids: Vec<String> = products.iter().map(|p| format!("\"{p}\"")).collect();
    let ids = ids.join(",");
    ["unsubscribe", "subscribe"]
        .map(|kind| format!(r#"{{"type":"{kind}","channel":"level2","product_ids":[{ids}]}}"#))
}

impl super::VenueFeed for CoinbaseFeed {
    fn venue(&self) -> kestrel_types::cex::Venue {
        kestrel_types::cex::Venue::Coinbase
    }

    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize {
        CoinbaseFeed::poll(self, now_ns, changed)
    }

    fn book(&self, i: usize) -> Option<&Book> {
        self.books.keepers.get(i).map(CoinbaseBook::book)
    }

    fn is_live(&self, i: usize, now_ns: u64) -> bool {
        CoinbaseFeed::is_live(self, i, now_ns)
    }

    fn stats(&self) -> FeedStats {
        self.stats.with_open(self.ws.as_ref())
    }

    fn sync_stats(&self, i: usize) -> Option<kestrel_venues::sync::SyncStats> {
        Self::sync_stats(self, i)
    }
}
