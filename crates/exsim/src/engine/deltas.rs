//! The record of a book's level changes between two `take_deltas` calls.

use kestrel_types::cex::{BookSide, Fixed};
use kestrel_venues::book::{Book, Level};

/// A level change: side, price, new size (zero: removed).
pub(super) type Delta = (BookSide, Fixed, Fixed);

/// Pending changes in order, bounded: past `cap` they collapse into the diff from the book
/// as last taken (which is kept) to the book now, at most `2 × depth` changes a side.
#[derive(Clone, Debug)]
pub(super) struct DeltaLog {
    pending: Vec<Delta>,
    cap: usize,
    taken_bids: Vec<Level>,
    taken_asks: Vec<Level>,
}

impl DeltaLog {
    /// A log for a book of `depth` levels a side.
    pub(super) fn new(depth: usize) -> DeltaLog {
        // Room for several full-book rewrites before compacting; the compacted diff (at most
        // 4 × depth) always fits well below it.
        let cap = depth.max(1) * 8 + 64;
        DeltaLog {
            pending: Vec::with_capacity(cap + 1),
            cap,
            taken_bids: Vec::with_capacity(depth),
            taken_asks: Vec::with_capacity(depth),
        }
    }

    /// Set a level on `book` and record what actually changed: nothing for a no-op, and a
    /// removal of the worst level when a full side pushes it out.
    pub(super) fn set(&mut self, book: &mut Book, side: BookSide, price: Fixed, size: Fixed) {
        let before = size_at(book.side(side), price);
        let full = book.side(side).len() == book.capacity();
        let worst = book.side(side).last().copied().filter(|_| full);
        book.set(side, price, size);
        if let Some(worst) = worst
            && worst.price != price
            && size_at(book.side(side), worst.price).is_zero()
        {
            self.push(book, (side, worst.price, Fixed::ZERO));
        }
        let after = size_at(book.side(side), price);
        if after != before {
            self.push(book, (side, price, after));
        }
    }

    /// Append the pending changes to `out` and remember `book` as the consumer now sees it.
    pub(super) fn take(&mut self, book: &Book, out: &mut Vec<Delta>) {
        out.append(&mut self.pending);
        self.taken_bids.clear();
        self.taken_bids.extend_from_slice(book.bids());
        self.taken_asks.clear();
        self.taken_asks.extend_from_slice(book.asks());
    }

    fn push(&mut self, book: &Book, delta: Delta) {
        self.pending.push(delta);
        if self.pending.len() > self.cap {
            self.pending.clear();
            diff(
                &self.taken_bids,
                book.bids(),
                BookSide::Bid,
                &mut self.pending,
            );
            diff(
                &self.taken_asks,
                book.asks(),
                BookSide::Ask,
                &mut self.pending,
            );
        }
    }
}

/// The size at `price` on one side (zero when absent).
pub(super) fn size_at(levels: &[Level], price: Fixed) -> Fixed {
    levels
        .iter()
        .find(|l| l.price == price)
        .map_or(Fixed::ZERO, |l| l.size)
}

/// The fewest changes that turn `old` into `new`: removals first, then new or resized levels.
fn diff(old: &[Level], new: &[Level], side: BookSide, out: &mut Vec<Delta>) {
    for level in old {
        if size_at(new, level.price).is_zero() {
            out.push((side, level.price, Fixed::ZERO));
        }
    }
    for level in new {
        if size_at(old, level.price) != level.size {
            out.push((side, level.price, level.size));
        }
    }
}
