//! Kraken spot WebSocket v1 `book`: a parser of its own (the feed decodes v2 only).
//!
//! A book message is an array: `[channelID, {..}, "book-<depth>", "<pair>"]`, with a second
//! object before the name when one message changes both sides. The snapshot's object holds
//! `as` and `bs`; an update's hold `a` or `b`, and the last one the checksum `c`. A level is
//! `["price", "volume", "timestamp"]`, with a fourth element `"r"` when Kraken republishes a
//! level: applied like any other. Volume zero removes the level. After each message the book is
//! cut to `depth` levels a side (Kraken sends no removal for a level pushed out of range).

use kestrel_types::cex::{BookSide, Venue};
use serde_json::Value;

use super::capture::{File, Line, count_unreadable, cryptofeed_line};
use super::{Check, Raw, RawKind, RawLevel, RawStep, ReplayError};

/// One book message for the pair.
struct BookMessage {
    kind: RawKind,
    depth: usize,
    levels: Vec<RawLevel>,
    checksum: Option<u32>,
}

/// A message that is not the v1 shape.
struct Unreadable;

/// Read `pair`'s book (`"XBT/CHF"`) from the capture `ws`.
pub(super) fn read(ws: &File, pair: &str) -> Result<Raw, ReplayError> {
    let mut raw = Raw::default();
    let (mut price_digits, mut size_digits) = (0u8, 0u8);
    for (line, text) in ws.lines() {
        raw.stats.lines += 1;
        let Some(Line::Received { at_ms, json }) = text.and_then(cryptofeed_line) else {
            count_unreadable(text, &mut raw.stats);
            continue;
        };
        let message = match serde_json::from_str::<Value>(json) {
            // Events (`heartbeat`, `subscriptionStatus`) are objects.
            Ok(Value::Array(message)) => book_message(&message, pair),
            Ok(_) => Ok(None),
            Err(_) => Err(Unreadable),
        };
        let msg = match message {
            Ok(Some(msg)) => msg,
            Ok(None) => {
                raw.stats.other += 1;
                continue;
            }
            Err(Unreadable) => {
                raw.stats.malformed += 1;
                continue;
            }
        };
        if msg.kind == RawKind::Update && raw.steps.is_empty() {
            raw.stats.dropped += 1;
            continue;
        }
        for level in &msg.levels {
            price_digits = price_digits.max(written_digits(&level.price));
            size_digits = size_digits.max(written_digits(&level.size));
        }
        raw.depth = Some(msg.depth);
        raw.steps.push(RawStep {
            location: ws.location(line),
            at_ms,
            kind: msg.kind,
            levels: msg.levels,
            check: msg.checksum.map(Check::Kraken),
        });
    }
    if raw.steps.is_empty() {
        return Err(ReplayError::NoSnapshot {
            venue: Venue::Kraken,
            symbol: pair.into(),
        });
    }
    raw.written_digits = Some((price_digits, size_digits));
    Ok(raw)
}

/// The pair's book message, `None` for another channel or pair.
fn book_message(message: &[Value], pair: &str) -> Result<Option<BookMessage>, Unreadable> {
    let [
        _,
        objects @ ..,
        Value::String(name),
        Value::String(this_pair),
    ] = message
    else {
        return Err(Unreadable);
    };
    let Some(depth) = name.strip_prefix("book-") else {
        return Ok(None);
    };
    if this_pair != pair {
        return Ok(None);
    }
    let depth = depth.parse().map_err(|_| Unreadable)?;
    let mut kind = None;
    let mut levels = Vec::new();
    let mut checksum = None;
    for object in objects {
        let Value::Object(fields) = object else {
            return Err(Unreadable);
        };
        for (key, value) in fields {
            let (this_kind, side) = match key.as_str() {
                "as" => (RawKind::Snapshot, BookSide::Ask),
                "bs" => (RawKind::Snapshot, BookSide::Bid),
                "a" => (RawKind::Update, BookSide::Ask),
                "b" => (RawKind::Update, BookSide::Bid),
                "c" => {
                    let text = value.as_str().ok_or(Unreadable)?;
                    checksum = Some(text.parse().map_err(|_| Unreadable)?);
                    continue;
                }
                _ => return Err(Unreadable),
            };
            if kind.replace(this_kind).is_some_and(|k| k != this_kind) {
                return Err(Unreadable);
            }
            push_levels(side, value, &mut levels)?;
        }
    }
    let kind = kind.ok_or(Unreadable)?;
    Ok(Some(BookMessage {
        kind,
        depth,
        levels,
        checksum,
    }))
}

/// `[["price","volume","timestamp"(,"r")],..]`.
fn push_levels(side: BookSide, value: &Value, out: &mut Vec<RawLevel>) -> Result<(), Unreadable> {
    for level in value.as_array().ok_or(Unreadable)? {
        let Some([Value::String(price), Value::String(size), _, ..]) =
            level.as_array().map(Vec::as_slice)
        else {
            return Err(Unreadable);
        };
        out.push(RawLevel {
            side,
            price: price.clone(),
            size: size.clone(),
        });
    }
    Ok(())
}

/// Fraction digits as written (`"56218.30000"`: 5): Kraken writes each pair's prices and
/// volumes with fixed digits, and its checksum counts them.
fn written_digits(text: &str) -> u8 {
    let digits = text
        .split_once('.')
        .map_or(0, |(_, fraction)| fraction.len());
    u8::try_from(digits).unwrap_or(u8::MAX)
}

#[cfg(test)]
mod tests {
    use super::*;

    const SNAPSHOT: &str = r#"1.0: [7,{"as":[["5.10","1.000","1"],["5.20","2.000","1"]],"bs":[["5.00","3.000","1"]]},"book-10","A/B"]"#;

    #[test]
    fn snapshot_and_updates_on_one_or_both_sides() {
        let text = [
            r#"0.5: [7,{"a":[["5.15","1.000","1"]],"c":"1"},"book-10","A/B"]"#,
            r#"0.9: {"event":"heartbeat"}"#,
            SNAPSHOT,
            r#"1.1: [8,{"as":[["9.0","1.0","1"]],"bs":[]},"book-10","C/D"]"#,
            r#"1.2: [7,{"a":[["5.10","0.000","1"],["5.30","4.000","1","r"]]},{"b":[["4.90","1.500","1"]],"c":"123"},"book-10","A/B"]"#,
            r#"1.3: [7,{"a":[["5.10"]]},"book-10","A/B"]"#,
            r#"1.4: [7,{"x":[]},"book-10","A/B"]"#,
            r#"1.5: [9,[1,2],"trade","A/B"]"#,
        ]
        .join("\n");
        let raw = read(&File::from_text("kraken", &text), "A/B").expect("loads");
        assert_eq!(raw.steps.len(), 2);
        assert_eq!(raw.steps[0].kind, RawKind::Snapshot);
        assert_eq!(raw.steps[0].levels.len(), 3);
        let update = &raw.steps[1];
        assert_eq!(update.kind, RawKind::Update);
        let prices: Vec<(BookSide, &str)> = update
            .levels
            .iter()
            .map(|l| (l.side, l.price.as_str()))
            .collect();
        assert_eq!(
            prices,
            [
                (BookSide::Ask, "5.10"),
                (BookSide::Ask, "5.30"),
                (BookSide::Bid, "4.90")
            ]
        );
        assert_eq!(update.check, Some(Check::Kraken(123)));
        assert_eq!(raw.depth, Some(10));
        assert_eq!(raw.written_digits, Some((2, 3)));
        assert_eq!(raw.stats.dropped, 1);
        assert_eq!(raw.stats.malformed, 2);
        // The heartbeat, the other pair, the trade.
        assert_eq!(raw.stats.other, 3);
    }
}
