//! Coinbase Advanced Trade's book rules. The `level2` channel "guarantees delivery of all
//! updates": subscribing sends each product's `snapshot` event, then `update` events whose
//! `new_quantity` is a level's new size (`"0"` removes it). What can go missing is whole
//! messages, and the envelope's `sequence_num` counts every message of the connection, across
//! all channels and products: a jump means something was lost, and since the lost message may
//! have been any product's book update, every book on that connection must be rebuilt.
//!
//! So integrity is split in two: one [`CoinbaseSequence`] per connection checks `sequence_num`,
//! and on a gap the connection calls [`CoinbaseBook::on_gap`] on each of its books; one
//! [`CoinbaseBook`] per product applies that product's events. A book that is not synced drops
//! updates until its next snapshot (sent again when the product is resubscribed).
//!
//! Books are bounded: a snapshot deeper than the book's capacity keeps its best levels. Levels
//! near the kept edge can then go stale (a removal there would uncover a level the book never
//! held), so give the book a capacity well past the depth anything walks.

use kestrel_types::cex::Fixed;
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::coinbase::{CoinbaseKind, CoinbaseL2Event, CoinbaseLevels};

use super::{Outcome, ResyncReason, SyncStats};
use crate::book::Book;

/// One connection's `sequence_num` check.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CoinbaseSequence {
    /// The number the next message must carry; `None` before the first message.
    next: Option<u64>,
    messages: u64,
    gaps: u64,
}

impl CoinbaseSequence {
    /// A check for a new connection: its first message may carry any number.
    pub fn new() -> CoinbaseSequence {
        CoinbaseSequence::default()
    }

    /// Check one message's `sequence_num`. Anything but one past the previous message's is a
    /// gap (messages were lost, or arrived out of order): the error names the number expected
    /// and the one that came, and checking goes on from the latter.
    pub fn check(&mut self, sequence_num: u64) -> Result<(), ResyncReason> {
        self.messages += 1;
        let expected = self.next;
        self.next = Some(sequence_num.saturating_add(1));
        match expected {
            Some(expected) if expected != sequence_num => {
                self.gaps += 1;
                Err(ResyncReason::Gap {
                    expected,
                    got: sequence_num,
                })
            }
            _ => Ok(()),
        }
    }

    /// Forget the previous connection's numbering (after a reconnect).
    pub fn reset(&mut self) {
        self.next = None;
    }

    /// The number the next message must carry.
    pub fn expected(&self) -> Option<u64> {
        self.next
    }

    /// Messages checked.
    pub fn messages(&self) -> u64 {
        self.messages
    }

    /// Gaps seen.
    pub fn gaps(&self) -> u64 {
        self.gaps
    }
}

/// One product's book on a Coinbase connection.
#[derive(Debug)]
pub struct CoinbaseBook {
    book: Book,
    synced: bool,
    stats: SyncStats,
}

impl CoinbaseBook {
    /// A keeper for `book`; the caller routes each event to the keeper of its `product_id`.
    pub fn new(book: Book) -> CoinbaseBook {
        CoinbaseBook {
            book,
            synced: false,
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
        self.synced
    }

    /// Apply one `l2_data` event of this keeper's product: a snapshot replaces the book, an
    /// update changes it (or is dropped while the book waits for a snapshot).
    pub fn on_event(&mut self, event: &CoinbaseL2Event<'_>) -> Outcome {
        match event.kind {
            CoinbaseKind::Snapshot => {
                self.book.clear();
                if let Err(reason) = self.apply(&event.updates) {
                    return self.resync(reason);
                }
                self.synced = true;
                self.stats.snapshots += 1;
                Outcome::Applied
            }
            CoinbaseKind::Update if !self.synced => {
                self.stats.ignored += 1;
                Outcome::Ignored
            }
            CoinbaseKind::Update => {
                if let Err(reason) = self.apply(&event.updates) {
                    return self.resync(reason);
                }
                self.stats.applied += 1;
                Outcome::Applied
            }
        }
    }

    /// The connection lost messages ([`CoinbaseSequence::check`] failed): this book may have
    /// missed updates, so it is cleared and must be resubscribed. Called for every book of the
    /// connection, synced or not (a book still waiting may have lost its snapshot).
    pub fn on_gap(&mut self, reason: ResyncReason) -> Outcome {
        self.resync(reason)
    }

    fn apply(&mut self, levels: &CoinbaseLevels<'_>) -> Result<(), ResyncReason> {
        let price_scale = self.book.price_scale();
        let size_scale = self.book.size_scale();
        let book = &mut self.book;
        levels
            .for_each(|level| {
                // A malformed level and an inexact number both mean the event cannot be applied
                // faithfully: either way the book starts over.
                let price =
                    Fixed::parse(level.price, price_scale).map_err(|_| CexError::BadNumber)?;
                let size =
                    Fixed::parse(level.quantity, size_scale).map_err(|_| CexError::BadNumber)?;
                book.set(level.side, price, size);
                Ok(())
            })
            .map_err(|_| ResyncReason::BadNumber)
    }

    fn resync(&mut self, reason: ResyncReason) -> Outcome {
        self.book.clear();
        self.synced = false;
        self.stats.count(reason);
        Outcome::Resync(reason)
    }
}
