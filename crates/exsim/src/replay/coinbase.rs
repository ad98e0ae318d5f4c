//! Coinbase Pro (now Coinbase Exchange) `level2`: a parser of its own (the feed decodes
//! Advanced Trade, whose messages differ).
//!
//! `{"type":"snapshot","product_id":..,"bids":[["price","size"],..],"asks":[..]}` is the whole
//! book; `{"type":"l2update","product_id":..,"changes":[["buy"|"sell","price","size"],..]}`
//! sets levels, size zero removing one. The feed sends no sequence numbers or checksums.

use kestrel_types::cex::{BookSide, Venue};
use serde_json::Value;

use super::capture::{File, Line, count_unreadable, cryptofeed_line};
use super::{Raw, RawKind, RawLevel, RawStep, ReplayError};

/// A message that is not the `level2` shape.
struct Unreadable;

/// Read `product_id`'s book (`"SKL-USD"`) from the capture `ws`.
pub(super) fn read(ws: &File, product_id: &str) -> Result<Raw, ReplayError> {
    let mut raw = Raw::default();
    for (line, text) in ws.lines() {
        raw.stats.lines += 1;
        let Some(Line::Received { at_ms, json }) = text.and_then(cryptofeed_line) else {
            count_unreadable(text, &mut raw.stats);
            continue;
        };
        let message = match serde_json::from_str::<Value>(json) {
            Ok(value) => book_message(&value, product_id),
            Err(_) => Err(Unreadable),
        };
        let (kind, levels) = match message {
            Ok(Some(message)) => message,
            Ok(None) => {
                raw.stats.other += 1;
                continue;
            }
            Err(Unreadable) => {
                raw.stats.malformed += 1;
                continue;
            }
        };
        if kind == RawKind::Update && raw.steps.is_empty() {
            raw.stats.dropped += 1;
            continue;
        }
        raw.steps.push(RawStep {
            location: ws.location(line),
            at_ms,
            kind,
            levels,
            check: None,
        });
    }
    if raw.steps.is_empty() {
        return Err(ReplayError::NoSnapshot {
            venue: Venue::Coinbase,
            symbol: product_id.into(),
        });
    }
    Ok(raw)
}

/// The product's `snapshot` or `l2update`; `None` for anything else.
fn book_message(
    value: &Value,
    product_id: &str,
) -> Result<Option<(RawKind, Vec<RawLevel>)>, Unreadable> {
    let Value::Object(fields) = value else {
        return Err(Unreadable);
    };
    let kind = match fields.get("type").and_then(Value::as_str) {
        Some("snapshot") => RawKind::Snapshot,
        Some("l2update") => RawKind::Update,
        Some(_) => return Ok(None),
        None => return Err(Unreadable),
    };
    if fields.get("product_id").and_then(Value::as_str) != Some(product_id) {
        return Ok(None);
    }
    let mut levels = Vec::new();
    match kind {
        RawKind::Snapshot => {
            for (key, side) in [("bids", BookSide::Bid), ("asks", BookSide::Ask)] {
                for level in list(fields.get(key))? {
                    let [price, size] = strings::<2>(level)?;
                    levels.push(RawLevel { side, price, size });
                }
            }
        }
        RawKind::Update => {
            for change in list(fields.get("changes"))? {
                let [side, price, size] = strings(change)?;
                let side = match side.as_str() {
                    "buy" => BookSide::Bid,
                    "sell" => BookSide::Ask,
                    _ => return Err(Unreadable),
                };
                levels.push(RawLevel { side, price, size });
            }
        }
    }
    Ok(Some((kind, levels)))
}

fn list(value: Option<&Value>) -> Result<&[Value], Unreadable> {
    value
        .and_then(Value::as_array)
        .map(Vec::as_slice)
        .ok_or(Unreadable)
}

/// The first `N` elements of an array of strings (a snapshot level may carry more).
fn strings<const N: usize>(value: &Value) -> Result<[String; N], Unreadable> {
    let items = value.as_array().ok_or(Unreadable)?;
    let mut out: [String; N] = std::array::from_fn(|_| String::new());
    for (slot, item) in out.iter_mut().zip(items) {
        slot.push_str(item.as_str().ok_or(Unreadable)?);
    }
    if items.len() < N {
        return Err(Unreadable);
    }
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn snapshot_then_changes_on_both_sides() {
        let text = [
            r#"1.0: {"type":"l2update","product_id":"A-USD","changes":[["buy","1.0","2"]]}"#,
            r#"1.1: {"type":"snapshot","product_id":"A-USD","bids":[["1.0","5"]],"asks":[["1.2","6"]]}"#,
            r#"1.2: {"type":"ticker","product_id":"A-USD"}"#,
            r#"1.3: {"type":"l2update","product_id":"B-USD","changes":[["buy","1.0","2"]]}"#,
            r#"1.4: {"type":"l2update","product_id":"A-USD","changes":[["sell","1.2","0"],["buy","1.1","3"]]}"#,
            r#"1.5: {"type":"l2update","product_id":"A-USD","changes":[["hold","1.2","0"]]}"#,
            r#"1.6: [1,2]"#,
        ]
        .join("\n");
        let raw = read(&File::from_text("cb", &text), "A-USD").expect("loads");
        assert_eq!(raw.steps.len(), 2);
        assert_eq!(raw.steps[0].levels.len(), 2);
        let changes: Vec<(BookSide, &str, &str)> = raw.steps[1]
            .levels
            .iter()
            .map(|l| (l.side, l.price.as_str(), l.size.as_str()))
            .collect();
        assert_eq!(
            changes,
            [(BookSide::Ask, "1.2", "0"), (BookSide::Bid, "1.1", "3")]
        );
        assert_eq!(raw.steps[1].at_ms, 1400);
        assert_eq!(
            (raw.stats.dropped, raw.stats.other, raw.stats.malformed),
            (1, 2, 2)
        );
    }
}
