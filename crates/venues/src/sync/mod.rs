//! Book keepers: each venue's integrity rules between its frames and a [`Book`].
//!
//! A keeper owns one symbol's book. It applies what the venue sends only while the book is
//! provably in step with the venue (update ids chain, sequence numbers follow, checksums
//! match). On a gap, a failed checksum, a venue reset or a number it cannot read exactly, it
//! clears the book, counts why, and reports [`Outcome::Resync`]: the feed then fetches a
//! snapshot (Binance) or resubscribes (the others send a snapshot on subscribe). A book that
//! is not synced, or whose feed has gone quiet, is never quoted from.

use kestrel_types::cex::{BookSide, Fixed};
use kestrel_wire::cex::{CexError, PairLevels};

use crate::book::Book;

pub mod binance;
pub mod bybit;
pub mod coinbase;
pub mod kraken;
pub mod okx;

/// What one frame did to a keeper's book.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The book changed and is in step with the venue.
    Applied,
    /// Older than the book (already covered by the snapshot): dropped, as the venue's rules say.
    Ignored,
    /// Kept until a snapshot arrives to start from.
    Buffered,
    /// The book can no longer be trusted: it was cleared, and must be rebuilt from a snapshot.
    Resync(ResyncReason),
}

/// Why a book was cleared.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ResyncReason {
    /// An update did not follow the last one applied (`expected` next id, `got` first id).
    Gap {
        /// The id the next update had to start at (or continue from).
        expected: u64,
        /// The id it started at.
        got: u64,
    },
    /// The venue's checksum of its book disagrees with ours.
    Checksum {
        /// The venue's checksum.
        venue: u32,
        /// Ours, over the same levels.
        ours: u32,
    },
    /// The venue said its book restarted (Bybit `u = 1`) or sent a snapshot mid-stream.
    Reset,
    /// A price or size was not exact at the symbol's scale, or not a number.
    BadNumber,
    /// The snapshot is older than the buffered updates: fetch a newer one.
    SnapshotTooOld,
    /// More updates arrived before the snapshot than the buffer holds.
    BufferOverflow,
}

/// Counters a keeper keeps; exported as metrics and shown in reports.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct SyncStats {
    /// Updates applied.
    pub applied: u64,
    /// Updates dropped as older than the book.
    pub ignored: u64,
    /// Snapshots loaded.
    pub snapshots: u64,
    /// Gaps in update ids or sequence numbers.
    pub gaps: u64,
    /// Checksum mismatches.
    pub checksum_failures: u64,
    /// Venue resets.
    pub resets: u64,
    /// Unreadable or inexact numbers.
    pub bad_numbers: u64,
    /// Every time the book was cleared to resync, whatever the reason.
    pub resyncs: u64,
}

impl SyncStats {
    /// Count a resync and its reason.
    pub fn count(&mut self, reason: ResyncReason) {
        self.resyncs += 1;
        match reason {
            ResyncReason::Gap { .. } => self.gaps += 1,
            ResyncReason::Checksum { .. } => self.checksum_failures += 1,
            ResyncReason::Reset => self.resets += 1,
            ResyncReason::BadNumber => self.bad_numbers += 1,
            ResyncReason::SnapshotTooOld | ResyncReason::BufferOverflow => {}
        }
    }
}

/// Two keepers' counters together (a feed keeps its replaced keepers' counts this way).
impl std::ops::Add for SyncStats {
    type Output = SyncStats;

    fn add(self, b: SyncStats) -> SyncStats {
        SyncStats {
            applied: self.applied + b.applied,
            ignored: self.ignored + b.ignored,
            snapshots: self.snapshots + b.snapshots,
            gaps: self.gaps + b.gaps,
            checksum_failures: self.checksum_failures + b.checksum_failures,
            resets: self.resets + b.resets,
            bad_numbers: self.bad_numbers + b.bad_numbers,
            resyncs: self.resyncs + b.resyncs,
        }
    }
}

/// When a feed last said anything: a feed silent for longer than its limit is stale, and its
/// books are not quoted from until it speaks again.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Liveness {
    last_ns: Option<u64>,
}

impl Liveness {
    /// Record a message (book update, heartbeat, pong) received at `now_ns`.
    pub fn touch(&mut self, now_ns: u64) {
        self.last_ns = Some(now_ns);
    }

    /// Whether nothing has arrived within `limit_ns` of `now_ns` (or nothing ever).
    pub fn is_stale(&self, now_ns: u64, limit_ns: u64) -> bool {
        match self.last_ns {
            Some(last) => now_ns.saturating_sub(last) > limit_ns,
            None => true,
        }
    }
}

/// Apply `[price, size]` text levels to one side, exactly at the book's scales.
pub(crate) fn apply_pairs(
    book: &mut Book,
    side: BookSide,
    levels: &PairLevels<'_>,
) -> Result<(), ResyncReason> {
    let price_scale = book.price_scale();
    let size_scale = book.size_scale();
    levels
        .for_each(|price, size| {
            // A malformed level and an inexact number both mean the update cannot be applied
            // faithfully: either way the book starts over.
            let price = Fixed::parse(price, price_scale).map_err(|_| CexError::BadNumber)?;
            let size = Fixed::parse(size, size_scale).map_err(|_| CexError::BadNumber)?;
            book.set(side, price, size);
            Ok(())
        })
        .map_err(|_| ResyncReason::BadNumber)
}
