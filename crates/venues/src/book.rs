//! The normalized order book: exact fixed-point levels, best first, bounded depth.
//!
//! Every venue's feed ends here. Levels live in two sorted vectors allocated once at the
//! book's capacity; an update is a binary search and at most one shift, and a book never grows
//! past its capacity: a level worse than every kept one when the side is full is dropped and
//! counted (it is beyond the depth the book tracks).

use kestrel_types::cex::{BookSide, Fixed, Scale};

/// One price level.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Level {
    /// Price, in `10^-price_scale` quote units per whole base unit.
    pub price: Fixed,
    /// Size, in `10^-size_scale` base units.
    pub size: Fixed,
}

/// What walking one side of the book for a size gives.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Walk {
    /// Base filled, at most the size asked for (less when the book runs out).
    pub size: Fixed,
    /// Quote paid (buy) or received (sell), in `10^-(price_scale + size_scale)` units: exact,
    /// the sum of `price × size` over the levels taken.
    pub notional: u128,
    /// The worst price reached: the limit an IOC order needs to take this much.
    pub worst_price: Fixed,
    /// Levels touched.
    pub levels: u32,
}

/// An order book for one symbol on one venue.
#[derive(Clone, Debug)]
pub struct Book {
    bids: Vec<Level>,
    asks: Vec<Level>,
    capacity: usize,
    price_scale: Scale,
    size_scale: Scale,
    dropped_levels: u64,
}

impl Book {
    /// An empty book keeping at most `capacity` levels a side (allocated now).
    pub fn new(capacity: usize, price_scale: Scale, size_scale: Scale) -> Book {
        let capacity = capacity.max(1);
        Book {
            bids: Vec::with_capacity(capacity),
            asks: Vec::with_capacity(capacity),
            capacity,
            price_scale,
            size_scale,
            dropped_levels: 0,
        }
    }

    /// Scale of prices.
    pub fn price_scale(&self) -> Scale {
        self.price_scale
    }

    /// Scale of sizes.
    pub fn size_scale(&self) -> Scale {
        self.size_scale
    }

    /// Most levels kept per side.
    pub fn capacity(&self) -> usize {
        self.capacity
    }

    /// Levels dropped because a full side had only better ones.
    pub fn dropped_levels(&self) -> u64 {
        self.dropped_levels
    }

    /// Remove every level (before a snapshot, or after a gap).
    pub fn clear(&mut self) {
        self.bids.clear();
        self.asks.clear();
    }

    /// Bids, best (highest) first.
    pub fn bids(&self) -> &[Level] {
        &self.bids
    }

    /// Asks, best (lowest) first.
    pub fn asks(&self) -> &[Level] {
        &self.asks
    }

    /// One side, best first.
    pub fn side(&self, side: BookSide) -> &[Level] {
        match side {
            BookSide::Bid => &self.bids,
            BookSide::Ask => &self.asks,
        }
    }

    /// Best bid.
    pub fn best_bid(&self) -> Option<Level> {
        self.bids.first().copied()
    }

    /// Best ask.
    pub fn best_ask(&self) -> Option<Level> {
        self.asks.first().copied()
    }

    /// Whether the best bid is at or above the best ask: a book in that state is corrupt (or a
    /// venue is mid-update) and must not be quoted from.
    pub fn is_crossed(&self) -> bool {
        matches!((self.best_bid(), self.best_ask()), (Some(b), Some(a)) if b.price >= a.price)
    }

    /// Set the size at a price; size zero removes the level.
    pub fn set(&mut self, side: BookSide, price: Fixed, size: Fixed) {
        let capacity = self.capacity;
        let levels = match side {
            BookSide::Bid => &mut self.bids,
            BookSide::Ask => &mut self.asks,
        };
        // Bids are kept descending, asks ascending: search for the price in "better first" order.
        let found = levels.binary_search_by(|l| match side {
            BookSide::Bid => price.cmp(&l.price),
            BookSide::Ask => l.price.cmp(&price),
        });
        match (found, size.is_zero()) {
            (Ok(i), true) => {
                levels.remove(i);
            }
            (Ok(i), false) => {
                if let Some(level) = levels.get_mut(i) {
                    level.size = size;
                }
            }
            (Err(_), true) => {}
            (Err(i), false) => {
                if levels.len() == capacity {
                    if i == capacity {
                        self.dropped_levels += 1;
                        return;
                    }
                    levels.pop();
                    self.dropped_levels += 1;
                }
                levels.insert(i, Level { price, size });
            }
        }
    }

    /// Keep only the best `depth` levels a side (Kraken: the subscribed depth after each update).
    pub fn truncate(&mut self, depth: usize) {
        self.bids.truncate(depth);
        self.asks.truncate(depth);
    }

    /// Walk the asks to buy `size` base: what it fills and costs.
    pub fn walk_buy(&self, size: Fixed) -> Walk {
        walk(&self.asks, size)
    }

    /// Walk the bids to sell `size` base: what it fills and receives.
    pub fn walk_sell(&self, size: Fixed) -> Walk {
        walk(&self.bids, size)
    }
}

fn walk(levels: &[Level], size: Fixed) -> Walk {
    let mut left = size.0;
    let mut notional: u128 = 0;
    let mut worst_price = Fixed::ZERO;
    let mut touched = 0u32;
    for level in levels {
        if left == 0 {
            break;
        }
        let take = left.min(level.size.0);
        notional += u128::from(take) * u128::from(level.price.0);
        worst_price = level.price;
        touched += 1;
        left -= take;
    }
    Walk {
        size: Fixed(size.0 - left),
        notional,
        worst_price,
        levels: touched,
    }
}
