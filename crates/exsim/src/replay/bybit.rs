//! Bybit v5 `orderbook.{depth}.{symbol}`: one message a line (Bybit's historical dumps are the
//! WebSocket messages themselves), decoded with the feed's own decoder ([`parse_bybit`]).
//!
//! A `snapshot` replaces the book; each `delta`'s `u` must be one past the previous message's.
//! The book is kept to the topic's depth, as Bybit keeps it.

use kestrel_types::cex::{BookSide, Venue};
use kestrel_wire::cex::bybit::{BybitKind, BybitMsg, parse_bybit};

use super::capture::File;
use super::{Raw, RawKind, RawStep, ReplayError, push_pairs};

/// Read `symbol`'s book from the dump `data`.
pub(super) fn read(data: &File, symbol: &str) -> Result<Raw, ReplayError> {
    let mut raw = Raw::default();
    let mut last_u: Option<u64> = None;
    for (line, text) in data.lines() {
        raw.stats.lines += 1;
        let Some(Ok(frame)) = text.map(|t| parse_bybit(t.as_bytes())) else {
            raw.stats.malformed += 1;
            continue;
        };
        let BybitMsg::Depth(d) = frame.msg else {
            raw.stats.other += 1;
            continue;
        };
        if d.symbol != symbol.as_bytes() {
            raw.stats.other += 1;
            continue;
        }
        let kind = match d.kind {
            BybitKind::Snapshot => RawKind::Snapshot,
            BybitKind::Delta => RawKind::Update,
        };
        if kind == RawKind::Update && raw.steps.is_empty() {
            raw.stats.dropped += 1;
            continue;
        }
        if kind == RawKind::Update
            && let Some(last) = last_u
            && d.update_id != last + 1
        {
            return Err(ReplayError::Gap {
                venue: Venue::Bybit,
                symbol: symbol.into(),
                location: data.location(line),
                expected: last + 1,
                got: d.update_id,
            });
        }
        let mut levels = Vec::new();
        if push_pairs(BookSide::Bid, &d.bids, &mut levels).is_err()
            || push_pairs(BookSide::Ask, &d.asks, &mut levels).is_err()
        {
            raw.stats.malformed += 1;
            continue;
        }
        last_u = Some(d.update_id);
        if let Some(depth) = d.depth.and_then(|d| usize::try_from(d).ok()) {
            raw.depth = Some(depth);
        }
        raw.steps.push(RawStep {
            location: data.location(line),
            at_ms: d.ts_ms,
            kind,
            levels,
            check: None,
        });
    }
    if raw.steps.is_empty() {
        return Err(ReplayError::NoSnapshot {
            venue: Venue::Bybit,
            symbol: symbol.into(),
        });
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn message(kind: &str, u: u64, bid: &str) -> String {
        format!(
            "{{\"topic\":\"orderbook.50.XUSDT\",\"type\":\"{kind}\",\"ts\":{u}000,\
             \"data\":{{\"s\":\"XUSDT\",\"b\":[[\"{bid}\",\"1\"]],\"a\":[],\"u\":{u},\"seq\":1}},\"cts\":1}}"
        )
    }

    #[test]
    fn deltas_must_follow_on() {
        let text = [
            message("delta", 4, "1.0"),
            message("snapshot", 5, "1.1"),
            "{not json".into(),
            message("delta", 6, "1.2"),
        ]
        .join("\n");
        let raw = read(&File::from_text("bybit", &text), "XUSDT").expect("loads");
        assert_eq!(raw.steps.len(), 2);
        assert_eq!(raw.steps[1].at_ms, 6000);
        assert_eq!(raw.depth, Some(50));
        assert_eq!((raw.stats.dropped, raw.stats.malformed), (1, 1));

        let gap = format!("{text}\n{}", message("delta", 8, "1.3"));
        let err = read(&File::from_text("bybit", &gap), "XUSDT");
        assert!(
            matches!(
                err,
                Err(ReplayError::Gap {
                    expected: 7,
                    got: 8,
                    ..
                })
            ),
            "{err:?}"
        );
    }
}
