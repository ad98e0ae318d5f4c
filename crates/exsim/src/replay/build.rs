//! From messages as text to exact steps: fix the numbers at the recording's scales, rebuild the
//! book message by message (cutting it to the venue's depth where the venue does), check each
//! checksum the capture carries, and stamp each step with its offset.

use std::collections::HashSet;

use kestrel_types::cex::{BookSide, Fixed, FixedError, Scale, Venue};
use kestrel_venues::book::Book;
use kestrel_venues::sync::kraken::kraken_checksum;
use kestrel_venues::sync::okx::okx_checksum;

use super::{Check, Raw, RawKind, RawStep, Recording, ReplayError, Scales, Step};

/// The fewest fraction digits that hold every price and every size of `raw`.
pub(super) fn fit(raw: &Raw, venue: Venue, symbol: &str) -> Result<Scales, ReplayError> {
    let (mut price, mut size) = (0u32, 0u32);
    for level in raw.steps.iter().flat_map(|s| &s.levels) {
        price = price.max(digits_needed(&level.price));
        size = size.max(digits_needed(&level.size));
    }
    let scale = |digits: u32, what: &'static str| {
        u8::try_from(digits)
            .ok()
            .and_then(Scale::new)
            .ok_or_else(|| ReplayError::TooFine {
                venue,
                symbol: symbol.into(),
                what,
                digits,
            })
    };
    Ok(Scales {
        price: scale(price, "price")?,
        size: scale(size, "size")?,
    })
}

/// The fraction digits `text` needs once trailing zeros are gone (`"0.35130000"`: 4,
/// `"15e-4"`: 4). Text that is not a number needs none here: parsing it reports it.
fn digits_needed(text: &str) -> u32 {
    let (mantissa, exponent) = match text.split_once(['e', 'E']) {
        Some((m, e)) => (m, e.parse::<i64>().unwrap_or(0)),
        None => (text, 0),
    };
    let fraction = mantissa.split_once('.').map_or("", |(_, f)| f);
    let written = i64::try_from(fraction.trim_end_matches('0').len()).unwrap_or(i64::MAX);
    u32::try_from(written.saturating_sub(exponent).max(0)).unwrap_or(u32::MAX)
}

/// The book rebuilt so far, and what was learned on the way.
struct Rebuilt {
    book: Book,
    max_levels: usize,
    /// GCD of the prices seen (0: none yet).
    tick: u64,
    /// GCD of the non-zero sizes seen.
    lot: u64,
    text: String,
}

impl Rebuilt {
    /// Set one level and record it in `out`.
    fn set(&mut self, (side, price, size): (BookSide, Fixed, Fixed), out: &mut Vec<Level>) {
        self.book.set(side, price, size);
        debug_assert_eq!(
            self.book.dropped_levels(),
            0,
            "Invariant: the rebuilt book has room for every level of the recording"
        );
        self.max_levels = self.max_levels.max(self.book.side(side).len());
        self.tick = gcd(self.tick, price.0);
        if !size.is_zero() {
            self.lot = gcd(self.lot, size.0);
        }
        out.push((side, price, size));
    }

    /// Replace the book with `snapshot`: remove what it lacks, then set its levels.
    fn replace(&mut self, snapshot: &[Level], out: &mut Vec<Level>) {
        let kept: HashSet<(bool, Fixed)> = snapshot
            .iter()
            .map(|&(side, price, _)| (side == BookSide::Bid, price))
            .collect();
        let mut stale = Vec::new();
        for side in [BookSide::Bid, BookSide::Ask] {
            let levels = self.book.side(side).iter();
            stale.extend(
                levels
                    .filter(|l| !kept.contains(&(side == BookSide::Bid, l.price)))
                    .map(|l| (side, l.price, Fixed::ZERO)),
            );
        }
        for level in stale.into_iter().chain(snapshot.iter().copied()) {
            self.set(level, out);
        }
    }

    /// Remove the levels past `depth` on each side; how many.
    fn truncate(&mut self, depth: usize, out: &mut Vec<Level>) -> u64 {
        let mut removed = 0;
        for side in [BookSide::Bid, BookSide::Ask] {
            while self.book.side(side).len() > depth {
                let Some(worst) = self.book.side(side).last().copied() else {
                    break;
                };
                self.set((side, worst.price, Fixed::ZERO), out);
                removed += 1;
            }
        }
        removed
    }

    /// Whether the book matches the venue's checksum; `None` when it cannot be computed.
    fn verify(&mut self, check: Check, kraken_digits: Option<(Scale, Scale)>) -> Option<bool> {
        match check {
            Check::Okx(sum) => Some(okx_checksum(&self.book, &mut self.text) == sum),
            Check::Kraken(sum) => {
                let (price, size) = kraken_digits?;
                Some(kraken_checksum(&self.book, price, size, &mut self.text) == sum)
            }
        }
    }
}

type Level = (BookSide, Fixed, Fixed);

/// Fix `raw`'s numbers at `scales` and rebuild the book step by step.
pub(super) fn build(
    raw: Raw,
    venue: Venue,
    symbol: &str,
    scales: Scales,
) -> Result<Recording, ReplayError> {
    let Raw {
        steps: raw_steps,
        mut stats,
        depth,
        written_digits,
    } = raw;
    let kraken_digits = written_digits.and_then(|(p, s)| Some((Scale::new(p)?, Scale::new(s)?)));
    // Room for every level the recording ever names: the rebuilt book never drops one.
    let capacity = raw_steps.iter().map(|s| s.levels.len()).sum::<usize>();
    let mut rebuilt = Rebuilt {
        book: Book::new(capacity, scales.price, scales.size),
        max_levels: 0,
        tick: 0,
        lot: 0,
        text: String::new(),
    };
    let mut steps: Vec<Step> = Vec::with_capacity(raw_steps.len());
    let mut origin_ms = None;
    for raw_step in &raw_steps {
        let Some(parsed) = parse_levels(raw_step, scales, venue, symbol)? else {
            stats.malformed += 1;
            continue;
        };
        if raw_step.kind == RawKind::Update && origin_ms.is_none() {
            stats.dropped += 1;
            continue;
        }
        let origin = *origin_ms.get_or_insert(raw_step.at_ms);
        let mut levels = Vec::with_capacity(parsed.len());
        match raw_step.kind {
            RawKind::Snapshot => rebuilt.replace(&parsed, &mut levels),
            RawKind::Update => parsed.into_iter().for_each(|l| rebuilt.set(l, &mut levels)),
        }
        if let Some(depth) = depth {
            stats.truncated += rebuilt.truncate(depth, &mut levels);
        }
        match raw_step
            .check
            .and_then(|c| rebuilt.verify(c, kraken_digits))
        {
            Some(true) => stats.checksums_verified += 1,
            Some(false) => stats.checksum_mismatches += 1,
            None => {}
        }
        let previous = steps.last().map_or(0, |s| s.offset_ms);
        steps.push(Step {
            offset_ms: raw_step.at_ms.saturating_sub(origin).max(previous),
            levels,
        });
    }
    if steps.is_empty() {
        return Err(ReplayError::NoSnapshot {
            venue,
            symbol: symbol.into(),
        });
    }
    Ok(Recording {
        venue,
        symbol: symbol.into(),
        scales,
        steps,
        stats,
        max_levels: rebuilt.max_levels,
        tick: Fixed(rebuilt.tick.max(1)),
        lot: Fixed(rebuilt.lot.max(1)),
    })
}

/// A step's levels at `scales`; `None` when one is not a number at all (the message is
/// unreadable and skipped).
///
/// # Errors
/// [`ReplayError::Inexact`] for a number with more digits than the scale, or too large.
fn parse_levels(
    step: &RawStep,
    scales: Scales,
    venue: Venue,
    symbol: &str,
) -> Result<Option<Vec<Level>>, ReplayError> {
    let mut out = Vec::with_capacity(step.levels.len());
    for level in &step.levels {
        let fix = |text: &str, scale: Scale, what: &'static str| match Fixed::parse(
            text.as_bytes(),
            scale,
        ) {
            Ok(value) => Ok(Some(value)),
            Err(FixedError::Syntax) => Ok(None),
            Err(reason) => Err(ReplayError::Inexact {
                venue,
                symbol: symbol.into(),
                location: step.location.clone(),
                what,
                text: text.into(),
                digits: scale.digits(),
                reason,
            }),
        };
        let price = fix(&level.price, scales.price, "price")?;
        let size = fix(&level.size, scales.size, "size")?;
        let (Some(price), Some(size)) = (price, size) else {
            return Ok(None);
        };
        out.push((level.side, price, size));
    }
    Ok(Some(out))
}

fn gcd(mut a: u64, mut b: u64) -> u64 {
    while b != 0 {
        (a, b) = (b, a % b);
    }
    a
}

#[cfg(test)]
mod tests {
    use super::super::RawLevel;
    use super::*;

    fn scale(d: u8) -> Scale {
        Scale::new(d).expect("scale")
    }

    fn step(kind: RawKind, at_ms: u64, levels: &[(BookSide, &str, &str)]) -> RawStep {
        RawStep {
            location: format!("t:{at_ms}"),
            at_ms,
            kind,
            levels: levels
                .iter()
                .map(|&(side, price, size)| RawLevel {
                    side,
                    price: price.into(),
                    size: size.into(),
                })
                .collect(),
            check: None,
        }
    }

    fn raw(steps: Vec<RawStep>) -> Raw {
        Raw {
            steps,
            ..Raw::default()
        }
    }

    use BookSide::{Ask, Bid};

    #[test]
    fn digits_needed_ignore_trailing_zeros() {
        let cases = [
            ("0.35130000", 4),
            ("6195.00000000", 0),
            ("0", 0),
            ("100", 0),
            ("15e-4", 4),
            ("1.5E2", 0),
            ("0.00000001", 8),
        ];
        for (text, digits) in cases {
            assert_eq!(digits_needed(text), digits, "{text}");
        }
    }

    #[test]
    fn fitted_scales_hold_every_value_and_given_ones_never_round() {
        let steps = vec![
            step(
                RawKind::Snapshot,
                10,
                &[(Bid, "0.3513", "10.0"), (Ask, "0.36", "2.5")],
            ),
            step(RawKind::Update, 20, &[(Bid, "0.35125", "0")]),
        ];
        let scales = fit(&raw(steps.clone()), Venue::Binance, "X").expect("fits");
        assert_eq!(scales.price.digits(), 5);
        assert_eq!(scales.size.digits(), 1);
        let tight = Scales {
            price: scale(4),
            size: scale(1),
        };
        match build(raw(steps), Venue::Binance, "X", tight) {
            Err(ReplayError::Inexact {
                what,
                text,
                digits,
                location,
                reason: FixedError::Precision,
                ..
            }) => {
                assert_eq!((what, text.as_str(), digits), ("price", "0.35125", 4));
                assert_eq!(location, "t:20");
            }
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn snapshots_replace_the_book_and_offsets_never_go_back() {
        let steps = vec![
            step(RawKind::Update, 5, &[(Bid, "1", "1")]),
            step(
                RawKind::Snapshot,
                10,
                &[(Bid, "1.0", "1"), (Bid, "0.9", "2")],
            ),
            step(RawKind::Update, 8, &[(Ask, "1.2", "3"), (Bid, "0.9", "0")]),
            step(RawKind::Update, 30, &[(Ask, "x", "3")]),
            step(
                RawKind::Snapshot,
                40,
                &[(Bid, "1.0", "4"), (Ask, "1.1", "5")],
            ),
        ];
        let scales = Scales {
            price: scale(1),
            size: scale(0),
        };
        let rec = build(raw(steps), Venue::Okx, "X", scales).expect("builds");
        let offsets: Vec<u64> = rec.steps().iter().map(|s| s.offset_ms).collect();
        assert_eq!(offsets, [0, 0, 30]);
        assert_eq!(
            rec.steps()[2].levels,
            [
                (Ask, Fixed(12), Fixed::ZERO),
                (Bid, Fixed(10), Fixed(4)),
                (Ask, Fixed(11), Fixed(5))
            ],
            "the second snapshot removes what it lacks, then sets its levels"
        );
        let stats = rec.stats();
        assert_eq!((stats.dropped, stats.malformed), (1, 1));
        assert_eq!(rec.max_levels(), 2);
        assert_eq!((rec.tick(), rec.lot()), (Fixed(1), Fixed(1)));
    }

    #[test]
    fn a_depth_cuts_the_worst_levels_after_each_step() {
        let mut r = raw(vec![
            step(RawKind::Snapshot, 0, &[(Ask, "10", "1"), (Ask, "11", "1")]),
            step(RawKind::Update, 1, &[(Ask, "9", "1")]),
        ]);
        r.depth = Some(2);
        let scales = Scales {
            price: scale(0),
            size: scale(0),
        };
        let rec = build(r, Venue::Kraken, "X", scales).expect("builds");
        assert_eq!(
            rec.steps()[1].levels,
            [(Ask, Fixed(9), Fixed(1)), (Ask, Fixed(11), Fixed::ZERO)]
        );
        assert_eq!(rec.stats().truncated, 1);
        assert_eq!(rec.max_levels(), 3, "three asks before the cut");
    }

    #[test]
    fn checksums_are_checked_against_the_rebuilt_book() {
        let scales = Scales {
            price: scale(1),
            size: scale(0),
        };
        let mut book = Book::new(4, scales.price, scales.size);
        book.set(Bid, Fixed(10), Fixed(2));
        let good = okx_checksum(&book, &mut String::new());
        let mut steps = vec![
            step(RawKind::Snapshot, 0, &[(Bid, "1", "2")]),
            step(RawKind::Update, 1, &[]),
        ];
        steps[0].check = Some(Check::Okx(good));
        steps[1].check = Some(Check::Okx(good ^ 1));
        let rec = build(raw(steps), Venue::Okx, "X", scales).expect("builds");
        let stats = rec.stats();
        assert_eq!(
            (stats.checksums_verified, stats.checksum_mismatches),
            (1, 1)
        );
    }
}
