//! Kraken WS v2 `book` channel (docs.kraken.com, "Book checksum (WebSocket v2)"): a snapshot on
//! subscribe, then updates; after every message, snapshot included, the client applies all its
//! levels (`qty` 0 removes), truncates each side to the subscribed depth (the venue sends no
//! removal for a level that merely falls out of scope) and compares the CRC32 of its top 10
//! levels with the message's `checksum`. Kraken sends no sequence numbers: the checksum is the
//! only way to see a lost message, so a mismatch clears the book and the feed resubscribes.
//!
//! **Checksum text.** Asks low→high, then bids high→low, ten of each at most; each level is the
//! price then the quantity, each written with exactly the instrument's `price_precision` /
//! `qty_precision` fraction digits, with the `.` removed and leading zeros stripped. Removing
//! the point from a fixed-digit rendering and stripping leading zeros leaves the decimal digits
//! of the value counted in `10^-precision` units, so [`kraken_checksum`] writes exactly that
//! integer from our [`Fixed`] values: no float, no string surgery.
//!
//! **Working room.** Truncation happens after the whole message, so a message that inserts
//! levels and then removes better ones must still have the inserted levels when it ends. The
//! book is given room for `depth + max(depth, 256)` levels a side; a level is only lost if a
//! message overflows that room *and* removes so many levels that the lost one could have come
//! back into the depth. That case is detected, not assumed away: the book is rebuilt.

use crc::{CRC_32_ISO_HDLC, Crc};
use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::kraken::{KrakenBookKind, KrakenBookMsg, KrakenLevels};

use super::{Outcome, ResyncReason, SyncStats};
use crate::book::Book;

/// CRC-32/ISO-HDLC, the zlib `crc32` Kraken and OKX use.
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Levels per side the venue's checksum covers, whatever the subscribed depth.
pub const CHECKSUM_LEVELS: usize = 10;

/// The least extra room per side kept for levels a message inserts before truncation.
const MIN_WORKING_ROOM: usize = 256;

/// The depths the `book` channel can be subscribed at.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum KrakenDepth {
    /// 10 levels a side.
    D10,
    /// 25 levels a side.
    D25,
    /// 100 levels a side.
    D100,
    /// 500 levels a side.
    D500,
    /// 1000 levels a side.
    D1000,
}

impl KrakenDepth {
    /// Levels a side.
    pub const fn levels(self) -> usize {
        match self {
            KrakenDepth::D10 => 10,
            KrakenDepth::D25 => 25,
            KrakenDepth::D100 => 100,
            KrakenDepth::D500 => 500,
            KrakenDepth::D1000 => 1000,
        }
    }

    /// The depth subscribed as `"depth":levels`, or `None` for a depth Kraken does not offer.
    pub const fn from_levels(levels: usize) -> Option<KrakenDepth> {
        match levels {
            10 => Some(KrakenDepth::D10),
            25 => Some(KrakenDepth::D25),
            100 => Some(KrakenDepth::D100),
            500 => Some(KrakenDepth::D500),
            1000 => Some(KrakenDepth::D1000),
            _ => None,
        }
    }
}

/// What a Kraken book keeper needs to know about its subscription and instrument.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct KrakenBookConfig {
    /// The subscribed depth.
    pub depth: KrakenDepth,
    /// The instrument's `price_precision` (from the `instrument` channel or `AssetPairs`):
    /// the book's price scale, and the digits prices are written with for the checksum.
    pub price_precision: Scale,
    /// The instrument's `qty_precision`: the book's size scale and checksum digits.
    pub qty_precision: Scale,
}

/// One Kraken symbol's book, kept in step with its v2 `book` channel.
#[derive(Debug)]
pub struct KrakenBook {
    book: Book,
    config: KrakenBookConfig,
    synced: bool,
    /// Reused for every checksum: allocated once, at the largest text ten levels can make.
    checksum_text: String,
    checksums_verified: u64,
    stats: SyncStats,
}

impl KrakenBook {
    /// A keeper for one symbol, its book allocated now at the subscribed depth plus working room.
    pub fn new(config: KrakenBookConfig) -> KrakenBook {
        let depth = config.depth.levels();
        let room = depth + depth.max(MIN_WORKING_ROOM);
        // Each level: at most 20 + 18 digits for the price and as many for the quantity.
        let text_capacity = 2 * CHECKSUM_LEVELS * 2 * 40;
        KrakenBook {
            book: Book::new(room, config.price_precision, config.qty_precision),
            config,
            synced: false,
            checksum_text: String::with_capacity(text_capacity),
            checksums_verified: 0,
            stats: SyncStats::default(),
        }
    }

    /// The book (empty until synced), at most the subscribed depth a side.
    pub fn book(&self) -> &Book {
        &self.book
    }

    /// The configuration the keeper was made with.
    pub fn config(&self) -> KrakenBookConfig {
        self.config
    }

    /// Counters.
    pub fn stats(&self) -> SyncStats {
        self.stats
    }

    /// Checksums computed and found equal to the venue's.
    pub fn checksums_verified(&self) -> u64 {
        self.checksums_verified
    }

    /// Whether the book is in step with the venue and may be quoted from.
    pub fn is_synced(&self) -> bool {
        self.synced
    }

    /// Apply a `book` message of either kind.
    pub fn on_book(&mut self, msg: &KrakenBookMsg<'_>) -> Outcome {
        match msg.kind {
            KrakenBookKind::Snapshot => self.on_snapshot(msg),
            KrakenBookKind::Update => self.on_update(msg),
        }
    }

    /// Replace the book with a snapshot and check it against the snapshot's checksum.
    pub fn on_snapshot(&mut self, msg: &KrakenBookMsg<'_>) -> Outcome {
        self.book.clear();
        self.synced = false;
        if let Err(reason) = self.apply(msg) {
            return self.resync(reason);
        }
        self.synced = true;
        self.stats.snapshots += 1;
        Outcome::Applied
    }

    /// Apply an update; before the first snapshot (or after a resync) it is ignored.
    pub fn on_update(&mut self, msg: &KrakenBookMsg<'_>) -> Outcome {
        if !self.synced {
            self.stats.ignored += 1;
            return Outcome::Ignored;
        }
        if let Err(reason) = self.apply(msg) {
            return self.resync(reason);
        }
        self.stats.applied += 1;
        Outcome::Applied
    }

    /// Apply both sides, truncate to the depth, and check the checksum.
    fn apply(&mut self, msg: &KrakenBookMsg<'_>) -> Result<(), ResyncReason> {
        let dropped_before = self.book.dropped_levels();
        let removed = apply_levels(&mut self.book, BookSide::Bid, &msg.bids)?
            + apply_levels(&mut self.book, BookSide::Ask, &msg.asks)?;
        let depth = self.config.depth.levels();
        // A level dropped for want of room was worse than `capacity` others; each removal can
        // lift it one place, so it stays beyond the depth unless more than `capacity - depth`
        // levels were removed. Past that, the book may be missing a level the venue still has.
        if self.book.dropped_levels() > dropped_before
            && removed > self.book.capacity().saturating_sub(depth)
        {
            return Err(ResyncReason::BufferOverflow);
        }
        self.book.truncate(depth);
        let ours = kraken_checksum(
            &self.book,
            self.config.price_precision,
            self.config.qty_precision,
            &mut self.checksum_text,
        );
        if ours != msg.checksum {
            return Err(ResyncReason::Checksum {
                venue: msg.checksum,
                ours,
            });
        }
        self.checksums_verified += 1;
        Ok(())
    }

    fn resync(&mut self, reason: ResyncReason) -> Outcome {
        self.book.clear();
        self.synced = false;
        self.stats.count(reason);
        Outcome::Resync(reason)
    }
}

/// Set each level on one side exactly at the book's scales; returns how many were removals.
fn apply_levels(
    book: &mut Book,
    side: BookSide,
    levels: &KrakenLevels<'_>,
) -> Result<usize, ResyncReason> {
    let price_scale = book.price_scale();
    let size_scale = book.size_scale();
    let mut removed = 0;
    levels
        .for_each(|price, qty| {
            let price = Fixed::parse(price, price_scale).map_err(|_| CexError::BadNumber)?;
            let qty = Fixed::parse(qty, size_scale).map_err(|_| CexError::BadNumber)?;
            removed += usize::from(qty.is_zero());
            book.set(side, price, qty);
            Ok(())
        })
        // A malformed level and an inexact number both mean the message cannot be applied
        // faithfully: either way the book starts over.
        .map_err(|_| ResyncReason::BadNumber)?;
    Ok(removed)
}

/// Kraken's book checksum (v1 and v2 alike) over `book`'s top [`CHECKSUM_LEVELS`] levels: asks
/// low→high then bids high→low, each level's price then quantity written with exactly
/// `price_digits` / `qty_digits` fraction digits, `.` removed, leading zeros stripped; CRC32 of
/// the concatenation. `text` is cleared and left holding the string that was hashed.
///
/// The digits are the instrument's precisions; they may differ from the book's scales (a value
/// finer than its digits cannot come from the venue, and would only make the checksum differ).
pub fn kraken_checksum(
    book: &Book,
    price_digits: Scale,
    qty_digits: Scale,
    text: &mut String,
) -> u32 {
    text.clear();
    let sides = [book.asks(), book.bids()];
    for levels in sides {
        for level in levels.iter().take(CHECKSUM_LEVELS) {
            write_units(level.price, book.price_scale(), price_digits, text);
            write_units(level.size, book.size_scale(), qty_digits, text);
        }
    }
    CRC32.checksum(text.as_bytes())
}

/// `value` (at `scale`) counted in `10^-digits` units, in decimal without leading zeros: the
/// value written with `digits` fraction digits, its point removed and leading zeros stripped.
/// Zero writes nothing, as stripping every zero would.
fn write_units(value: Fixed, scale: Scale, digits: Scale, out: &mut String) {
    let units = u128::from(value.0);
    let units = if digits.digits() >= scale.digits() {
        units * 10u128.pow(u32::from(digits.digits() - scale.digits()))
    } else {
        units / 10u128.pow(u32::from(scale.digits() - digits.digits()))
    };
    if units != 0 {
        use std::fmt::Write;
        // Writing to a String cannot fail.
        let _ = write!(out, "{units}");
    }
}
