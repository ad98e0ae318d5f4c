//! Binance's local-book procedure (`web-socket-streams.md`, "How to manage a local order book
//! correctly"): buffer the `depthUpdate` diffs, fetch a REST snapshot, drop diffs with
//! `u <= lastUpdateId`, then apply each diff only if its first id `U` is at most one past the
//! last id applied; a diff that starts later is a gap, and the book starts over.

use std::collections::VecDeque;

use kestrel_types::cex::BookSide;
use kestrel_wire::cex::{BinanceDepth, BinanceMsg, BinanceSnapshot, parse_binance};

use super::{Outcome, ResyncReason, SyncStats, apply_pairs};
use crate::book::Book;

/// One Binance symbol's book, kept in step with its diff stream.
#[derive(Debug)]
pub struct BinanceBook {
    book: Book,
    /// The last update id the book reflects; `None` until a snapshot has been loaded.
    last_id: Option<u64>,
    /// Raw diff frames received while waiting for a snapshot, oldest first.
    pending: VecDeque<Vec<u8>>,
    pending_capacity: usize,
    stats: SyncStats,
}

impl BinanceBook {
    /// A keeper for `book` that buffers at most `pending_capacity` diffs while unsynced.
    pub fn new(book: Book, pending_capacity: usize) -> BinanceBook {
        BinanceBook {
            book,
            last_id: None,
            pending: VecDeque::with_capacity(pending_capacity),
            pending_capacity: pending_capacity.max(1),
            stats: SyncStats::default(),
        }
    }

    /// The book (empty until synced).
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// Counters.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Whether the book is in step with the venue and may be quoted from.
    pub fn is_synced(&self) -> bool {
        self.last_id.is_some()
    }

    /// The last update id applied.
    pub fn last_update_id(&self) -> Option<u64> {
        self.last_id
    }

    /// Apply (or, before a snapshot, buffer) one diff. `frame` is the whole frame it was decoded
    /// from, copied only while buffering.
    pub fn on_depth(&mut self, frame: &[u8], diff: &BinanceDepth<'_>) -> Outcome {
        match self.last_id {
            Some(last) => self.apply(last, diff),
            None => {
                if self.pending.len() == self.pending_capacity {
                    // The oldest diff would be covered by any snapshot fetched from now on.
                    self.pending.pop_front();
                }
                self.pending.push_back(frame.to_vec());
                Outcome::Buffered
            }
        }
    }

    /// Load a REST snapshot, then replay the buffered diffs on top of it.
    pub fn on_snapshot(&mut self, snapshot: &BinanceSnapshot<'_>) -> Outcome {
        self.book.clear();
        let loaded = apply_pairs(&mut self.book, BookSide::Bid, &snapshot.bids)
            .and_then(|()| apply_pairs(&mut self.book, BookSide::Ask, &snapshot.asks));
        if let Err(reason) = loaded {
            return self.resync(reason);
        }
        let first_buffered = self
            .pending
            .iter()
            .find_map(|frame| match parse_binance(frame) {
                Ok(decoded) => match decoded.msg {
                    BinanceMsg::Depth(d) if d.last_id > snapshot.last_update_id => Some(d.first_id),
                    _ => None,
                },
                Err(_) => None,
            });
        if let Some(first) = first_buffered
            && first > snapshot.last_update_id.saturating_add(1)
        {
            // Diffs were lost between the snapshot and the buffer: a newer snapshot is needed,
            // and the buffer is kept for it.
            self.book.clear();
            self.stats.count(ResyncReason::SnapshotTooOld);
            return Outcome::Resync(ResyncReason::SnapshotTooOld);
        }
        self.stats.snapshots += 1;
        self.last_id = Some(snapshot.last_update_id);
        let pending = std::mem::take(&mut self.pending);
        for frame in &pending {
            let Ok(decoded) = parse_binance(frame) else {
                continue;
            };
            let BinanceMsg::Depth(diff) = decoded.msg else {
                continue;
            };
            let Some(last) = self.last_id else {
                break;
            };
            if let Outcome::Resync(reason) = self.apply(last, &diff) {
                self.pending = pending;
                self.pending.clear();
                return Outcome::Resync(reason);
            }
        }
        self.pending = pending;
        self.pending.clear();
        Outcome::Applied
    }

    /// Start over on a new connection: diffs sent while disconnected are gone, and a quiet
    /// market would never show the gap, so the book is rebuilt from a new snapshot.
    pub fn restart(&mut self) {
        self.book.clear();
        self.last_id = None;
        self.pending.clear();
    }

    fn apply(&mut self, last: u64, diff: &BinanceDepth<'_>) -> Outcome {
        if diff.last_id <= last {
            self.stats.ignored += 1;
            return Outcome::Ignored;
        }
        if diff.first_id > last.saturating_add(1) {
            return self.resync(ResyncReason::Gap {
                expected: last + 1,
                got: diff.first_id,
            });
        }
        let applied = apply_pairs(&mut self.book, BookSide::Bid, &diff.bids)
            .and_then(|()| apply_pairs(&mut self.book, BookSide::Ask, &diff.asks));
        match applied {
            Ok(()) => {
                self.last_id = Some(diff.last_id);
                self.stats.applied += 1;
                Outcome::Applied
            }
            Err(reason) => self.resync(reason),
        }
    }

    fn resync(&mut self, reason: ResyncReason) -> Outcome {
        self.book.clear();
        self.last_id = None;
        self.stats.count(reason);
        Outcome::Resync(reason)
    }
}
