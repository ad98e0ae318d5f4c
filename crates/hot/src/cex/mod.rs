//! The exchange side of the hot lane: per-venue market-data connections that keep exact
//! books in step with each venue's integrity rules, polled by the exchange feed thread.
//!
//! A feed never blocks the thread: the WebSocket is non-blocking, a lost connection is retried
//! with exponential backoff, and what needs a REST round trip (Binance's depth snapshot) is
//! fetched by a helper thread and handed back through a bounded channel. Kraken and OKX, whose
//! venues rebuild a book only through a new subscription, share one feed,
//! [`resubscribe::ResubscribeFeed`], over their protocols ([`resubscribe::ResubscribeVenue`]).

pub mod binance;
pub mod bybit;
pub mod coinbase;
pub mod kraken;
pub mod lane;
pub mod okx;
pub mod resubscribe;
mod snapshot;

pub use snapshot::exchange;

use kestrel_types::cex::Venue;
use kestrel_venues::book::Book;

/// A venue's market-data connection as the lane sees it: polled, never blocking.
pub trait VenueFeed: std::fmt::Debug {
    /// Which venue.
    fn venue(&self) -> Venue;
    /// Handle whatever is ready; `changed(i)` for each book that changed.
    fn poll(&mut self, now_ns: u64, changed: &mut dyn FnMut(usize)) -> usize;
    /// Book `i` (config order), synced or not.
    fn book(&self, i: usize) -> Option<&Book>;
    /// Whether book `i` may be quoted from now: connected, synced, not stale.
    fn is_live(&self, i: usize, now_ns: u64) -> bool;
    /// Connection counters.
    fn stats(&self) -> FeedStats;
    /// Book `i`'s integrity counters (resyncs by reason, snapshots, updates applied) over
    /// every connection so far.
    fn sync_stats(&self, i: usize) -> Option<kestrel_venues::sync::SyncStats>;
}

/// When a dropped connection may be retried: exponential backoff from 100 ms to 5 s.
#[derive(Clone, Copy, Debug)]
pub struct Backoff {
    next_ns: u64,
    delay_ns: u64,
}

impl Backoff {
    const FIRST_NS: u64 = 100_000_000;
    const MAX_NS: u64 = 5_000_000_000;

    /// Ready to try now.
    pub const fn new() -> Backoff {
        Backoff {
            next_ns: 0,
            delay_ns: Self::FIRST_NS,
        }
    }

    /// Whether an attempt may be made at `now_ns`.
    pub fn ready(&self, now_ns: u64) -> bool {
        now_ns >= self.next_ns
    }

    /// An attempt failed at `now_ns`: wait longer before the next one.
    pub fn failed(&mut self, now_ns: u64) {
        self.next_ns = now_ns.saturating_add(self.delay_ns);
        self.delay_ns = (self.delay_ns * 2).min(Self::MAX_NS);
    }

    /// Connected: the next failure starts from the shortest delay again.
    pub fn succeeded(&mut self) {
        self.delay_ns = Self::FIRST_NS;
    }
}

impl Default for Backoff {
    fn default() -> Self {
        Backoff::new()
    }
}

/// How long after its subscription a book's snapshot is overdue. A subscription is answered
/// with its snapshot before any update, so an update arriving before the snapshot is either
/// one of the old subscription's, still in flight after an unsubscribe and subscribe (within
/// a round trip), or a sign that the snapshot was lost: a frame that did not decode, or one
/// the client dropped as too big. Past this, the book is resubscribed; a snapshot merely late
/// costs one snapshot more, never a wrong book.
const SNAPSHOT_WAIT_NS: u64 = 1_000_000_000;

/// Whether an update arriving at `now_ns` for a book with no snapshot yet, subscribed at
/// `subscribed_ns`, means its snapshot was lost.
fn snapshot_overdue(subscribed_ns: u64, now_ns: u64) -> bool {
    now_ns.saturating_sub(subscribed_ns) >= SNAPSHOT_WAIT_NS
}

/// Counters of one venue connection.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct FeedStats {
    /// Connections made (the first, and every reconnect).
    pub connects: u64,
    /// Connections lost or refused.
    pub connect_failures: u64,
    /// Connections that dropped after being made.
    pub disconnects: u64,
    /// Frames read.
    pub frames: u64,
    /// Frames that did not decode (counted and skipped).
    pub malformed: u64,
    /// REST snapshots asked for.
    pub snapshot_requests: u64,
    /// REST snapshots that failed (retried).
    pub snapshot_failures: u64,
    /// Messages skipped whole for being larger than the connection's limit (its client's
    /// `max_message_bytes`), over every connection so far.
    pub oversized: u64,
}

impl FeedStats {
    /// These counters with the open connection's own added (what it has skipped so far).
    pub(crate) fn with_open(self, ws: Option<&crate::wsclient::WsClient>) -> FeedStats {
        FeedStats {
            oversized: self.oversized + ws.map_or(0, crate::wsclient::WsClient::oversized),
            ..self
        }
    }

    /// Keeps the counts of a connection being dropped (`ws`, taken from the feed), so that
    /// they outlive it.
    pub(crate) fn add_closed(&mut self, ws: Option<crate::wsclient::WsClient>) {
        self.oversized += ws.map_or(0, |ws| ws.oversized());
    }
}
