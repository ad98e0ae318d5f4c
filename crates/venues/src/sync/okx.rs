//! OKX v5 `books` channel (docs-v5, "Order book channel", "Sequence ID", "Checksum"): a snapshot
//! on subscribe, then updates chained by sequence ids, each with a checksum of the venue's top
//! 25 levels after it. `books5` and `bbo-tbt` pushes are whole shallow books and replace ours.
//!
//! **Sequence.** Every update names the `seqId` of the push before it as `prevSeqId`.
//! - `prevSeqId` ≠ our last `seqId`: a push was lost → [`ResyncReason::Gap`].
//! - `prevSeqId == seqId` (with empty sides): the venue's keep-alive after ~60 s of no change;
//!   it chains like any update and is applied (it changes nothing).
//! - `seqId < prevSeqId` with `prevSeqId` chaining: the venue's sequence restarted after
//!   maintenance. The docs say later pushes chain from the new id and the book carries on; we
//!   rebuild instead ([`ResyncReason::Reset`]): an engine restart is exactly when a silently
//!   diverged book is likeliest, and the checksum that could prove otherwise is deprecated. The
//!   cost is one resubscribe per maintenance window.
//! - Pushes without ids (captures from before OKX added them) are chained by checksum alone.
//!
//! **Checksum.** CRC32, compared as a signed 32-bit integer, of the top 25 levels interleaved
//! `bid1px:bid1sz:ask1px:ask1sz:bid2px:..`; when one side runs out the other continues alone.
//! The price and size text must be OKX's own. OKX v5 writes every decimal in its shortest form:
//! no trailing fraction zeros, no bare point, no leading zeros, no exponent (`"8477"`,
//! `"8476.98"`, `"0.05426064"`). That is a function of the value, so the text is rebuilt from
//! our exact [`Fixed`] (see [`okx_checksum`]) instead of being stored per level. The premise is
//! checked on every level applied: a venue text that is not in shortest form is counted
//! ([`OkxBook::noncanonical_levels`]), which tells a checksum failure of our rendering from a
//! lost update.
//!
//! **Deprecation.** From 2026-06 OKX sends `checksum: 0` on every push. A zero (or absent)
//! checksum is therefore not checked, and counted ([`OkxBook::checksums_unchecked`]); the
//! sequence ids carry integrity alone. A real CRC of zero (one chance in 2^32) goes unchecked
//! once.

use crc::{CRC_32_ISO_HDLC, Crc};
use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_wire::cex::okx::{OkxAction, OkxBookMsg};
use kestrel_wire::cex::{CexError, PairLevels};

use super::{Outcome, ResyncReason, SyncStats};
use crate::book::Book;

/// CRC-32/ISO-HDLC, the zlib `crc32` OKX uses.
const CRC32: Crc<u32> = Crc::<u32>::new(&CRC_32_ISO_HDLC);

/// Levels per side the venue's checksum covers.
pub const CHECKSUM_LEVELS: usize = 25;

/// One OKX instrument's book, kept in step with its `books` (or `books5`/`bbo-tbt`) channel.
#[derive(Debug)]
pub struct OkxBook {
    book: Book,
    synced: bool,
    /// The last `seqId` applied, when the venue sends ids.
    last_seq: Option<i64>,
    /// Reused for every checksum: allocated once, at the largest text 50 levels can make.
    checksum_text: String,
    checksums_verified: u64,
    checksums_unchecked: u64,
    noncanonical_levels: u64,
    stats: SyncStats,
}

impl OkxBook {
    /// A keeper for `book` (capacity 400 a side for `books`, the channel's depth).
    pub fn new(book: Book) -> OkxBook {
        // Each level: at most 20 + 1 + 18 characters for each of price and size, and colons.
        let text_capacity = 2 * CHECKSUM_LEVELS * 2 * 40;
        OkxBook {
            book,
            synced: false,
            last_seq: None,
            checksum_text: String::with_capacity(text_capacity),
            checksums_verified: 0,
            checksums_unchecked: 0,
            noncanonical_levels: 0,
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

    /// The last `seqId` applied, when the venue sends them.
    pub fn last_seq_id(&self) -> Option<i64> {
        self.last_seq
    }

    /// Checksums computed and found equal to the venue's.
    pub fn checksums_verified(&self) -> u64 {
        self.checksums_verified
    }

    /// Pushes applied whose checksum was absent or zero (deprecated), so not checked.
    pub fn checksums_unchecked(&self) -> u64 {
        self.checksums_unchecked
    }

    /// Levels whose venue text was not in the shortest form our checksum text assumes.
    pub fn noncanonical_levels(&self) -> u64 {
        self.noncanonical_levels
    }

    /// Apply a book push of any action.
    pub fn on_book(&mut self, msg: &OkxBookMsg<'_>) -> Outcome {
        match msg.action {
            OkxAction::Snapshot | OkxAction::Full => self.on_snapshot(msg),
            OkxAction::Update => self.on_update(msg),
        }
    }

    /// Replace the book with a snapshot (or a whole-book push) and check its checksum.
    pub fn on_snapshot(&mut self, msg: &OkxBookMsg<'_>) -> Outcome {
        self.book.clear();
        self.synced = false;
        if let Err(reason) = self.apply(msg) {
            return self.resync(reason);
        }
        self.synced = true;
        self.last_seq = msg.seq_id;
        self.stats.snapshots += 1;
        Outcome::Applied
    }

    /// Apply an update if it chains from the last push; before the first snapshot (or after a
    /// resync) it is ignored.
    pub fn on_update(&mut self, msg: &OkxBookMsg<'_>) -> Outcome {
        if !self.synced {
            self.stats.ignored += 1;
            return Outcome::Ignored;
        }
        if let Err(reason) = self.check_sequence(msg) {
            return self.resync(reason);
        }
        if let Err(reason) = self.apply(msg) {
            return self.resync(reason);
        }
        self.last_seq = msg.seq_id;
        self.stats.applied += 1;
        Outcome::Applied
    }

    fn check_sequence(&self, msg: &OkxBookMsg<'_>) -> Result<(), ResyncReason> {
        let (Some(last), Some(prev)) = (self.last_seq, msg.prev_seq_id) else {
            return Ok(());
        };
        if prev != last {
            return Err(ResyncReason::Gap {
                expected: unsigned(last),
                got: unsigned(prev),
            });
        }
        match msg.seq_id {
            Some(seq) if seq < prev => Err(ResyncReason::Reset),
            _ => Ok(()),
        }
    }

    /// Apply both sides and check the checksum when the venue sent one.
    fn apply(&mut self, msg: &OkxBookMsg<'_>) -> Result<(), ResyncReason> {
        self.noncanonical_levels += apply_levels(&mut self.book, BookSide::Bid, &msg.bids)?;
        self.noncanonical_levels += apply_levels(&mut self.book, BookSide::Ask, &msg.asks)?;
        let venue = match msg.checksum {
            Some(venue) if venue != 0 => venue,
            _ => {
                self.checksums_unchecked += 1;
                return Ok(());
            }
        };
        let ours = okx_checksum(&self.book, &mut self.checksum_text);
        if ours != venue {
            return Err(ResyncReason::Checksum {
                venue: venue as u32,
                ours: ours as u32,
            });
        }
        self.checksums_verified += 1;
        Ok(())
    }

    fn resync(&mut self, reason: ResyncReason) -> Outcome {
        self.book.clear();
        self.synced = false;
        self.last_seq = None;
        self.stats.count(reason);
        Outcome::Resync(reason)
    }
}

/// A sequence id as the unsigned id [`ResyncReason::Gap`] carries (`-1`, a snapshot's
/// `prevSeqId`, becomes 0).
fn unsigned(seq: i64) -> u64 {
    u64::try_from(seq).unwrap_or(0)
}

/// Set each level on one side exactly at the book's scales; returns how many levels that stay
/// in the book had venue text not in shortest form.
fn apply_levels(
    book: &mut Book,
    side: BookSide,
    levels: &PairLevels<'_>,
) -> Result<u64, ResyncReason> {
    let price_scale = book.price_scale();
    let size_scale = book.size_scale();
    let mut noncanonical = 0;
    levels
        .for_each(|price_text, size_text| {
            let price = Fixed::parse(price_text, price_scale).map_err(|_| CexError::BadNumber)?;
            let size = Fixed::parse(size_text, size_scale).map_err(|_| CexError::BadNumber)?;
            // A removed level never reaches the checksum, whatever its text.
            let shortest = is_shortest(price_text) && is_shortest(size_text);
            if !size.is_zero() && !shortest {
                noncanonical += 1;
            }
            book.set(side, price, size);
            Ok(())
        })
        // A malformed level and an inexact number both mean the push cannot be applied
        // faithfully: either way the book starts over.
        .map_err(|_| ResyncReason::BadNumber)?;
    Ok(noncanonical)
}

/// Whether decimal text is the shortest form of its value: digits with at most one point, no
/// leading zero before another whole digit, and a fraction, if any, that does not end in `0`.
fn is_shortest(text: &[u8]) -> bool {
    let (whole, fraction) = match text.iter().position(|&b| b == b'.') {
        Some(point) => {
            let (whole, rest) = text.split_at(point);
            (whole, Some(rest.get(1..).unwrap_or_default()))
        }
        None => (text, None),
    };
    let digits = |part: &[u8]| !part.is_empty() && part.iter().all(u8::is_ascii_digit);
    let whole_ok = digits(whole) && !(whole.len() > 1 && whole.first() == Some(&b'0'));
    let fraction_ok = fraction.is_none_or(|f| digits(f) && f.last() != Some(&b'0'));
    whole_ok && fraction_ok
}

/// OKX's book checksum over `book`'s top [`CHECKSUM_LEVELS`] levels a side, as a signed 32-bit
/// integer: CRC32 of `bid1px:bid1sz:ask1px:ask1sz:bid2px:..`, where a side that runs out is
/// skipped and each number is written in shortest form (see the module docs). `text` is cleared
/// and left holding the string that was hashed.
pub fn okx_checksum(book: &Book, text: &mut String) -> i32 {
    text.clear();
    let (bids, asks) = (book.bids(), book.asks());
    for rank in 0..CHECKSUM_LEVELS {
        for level in [bids.get(rank), asks.get(rank)].into_iter().flatten() {
            if !text.is_empty() {
                text.push(':');
            }
            write_shortest(level.price, book.price_scale(), text);
            text.push(':');
            write_shortest(level.size, book.size_scale(), text);
        }
    }
    // OKX compares the CRC as a signed int32: the same 32 bits, read as two's complement.
    CRC32.checksum(text.as_bytes()) as i32
}

/// `value` at `scale` in shortest decimal form: `"8477"`, `"8476.98"`, `"0.05426064"`.
fn write_shortest(value: Fixed, scale: Scale, out: &mut String) {
    use std::fmt::Write;
    let one = scale.one();
    let whole = value.0 / one;
    let mut fraction = value.0 % one;
    // Writing to a String cannot fail.
    let _ = write!(out, "{whole}");
    if fraction == 0 {
        return;
    }
    let mut width = usize::from(scale.digits());
    while fraction.is_multiple_of(10) {
        fraction /= 10;
        width -= 1;
    }
    let _ = write!(out, ".{fraction:0width$}");
}
