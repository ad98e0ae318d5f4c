//! Binance spot: the REST depth snapshot, then the `depthUpdate` diffs that bridge it, decoded
//! with the feed's own decoder ([`parse_binance`]).

use kestrel_types::cex::{BookSide, Venue};
use kestrel_wire::cex::{BinanceMsg, parse_binance};

use super::capture::{File, Line, count_unreadable, cryptofeed_line};
use super::{Raw, RawKind, RawLevel, RawStep, ReplayError, push_pairs};

/// A diff and its update ids `first..=last`.
struct Diff {
    first: u64,
    last: u64,
    step: RawStep,
}

/// Read `symbol`'s book from the WebSocket capture `ws` and the REST capture `rest`.
pub(super) fn read(ws: &File, rest: &File, symbol: &str) -> Result<Raw, ReplayError> {
    let mut raw = Raw::default();
    let snapshot = snapshot(rest, symbol, &mut raw);
    let diffs = diffs(ws, symbol, &mut raw);
    let Some((last_update_id, snapshot)) = snapshot else {
        return Err(ReplayError::NoSnapshot {
            venue: Venue::Binance,
            symbol: symbol.into(),
        });
    };
    raw.steps.push(snapshot);
    bridge(&mut raw, diffs, last_update_id, symbol)?;
    Ok(raw)
}

/// Binance's rule: drop diffs with `u <= lastUpdateId`; the first one kept must have
/// `U <= lastUpdateId + 1 <= u`; each later one must start at the previous `u + 1`.
fn bridge(
    raw: &mut Raw,
    diffs: Vec<Diff>,
    last_update_id: u64,
    symbol: &str,
) -> Result<(), ReplayError> {
    let mut previous: Option<u64> = None;
    for diff in diffs {
        let expected = match previous {
            None if diff.last <= last_update_id => {
                raw.stats.dropped += 1;
                continue;
            }
            None if diff.first > last_update_id + 1 => {
                return Err(ReplayError::NoBridge {
                    venue: Venue::Binance,
                    symbol: symbol.into(),
                    last_update_id,
                });
            }
            None => diff.first,
            Some(last) => last + 1,
        };
        if diff.first != expected {
            return Err(ReplayError::Gap {
                venue: Venue::Binance,
                symbol: symbol.into(),
                location: diff.step.location,
                expected,
                got: diff.first,
            });
        }
        previous = Some(diff.last);
        raw.steps.push(diff.step);
    }
    Ok(())
}

/// The first REST depth answer for `symbol`, with its `lastUpdateId`.
fn snapshot(rest: &File, symbol: &str, raw: &mut Raw) -> Option<(u64, RawStep)> {
    let mut found = None;
    for (line, text) in rest.lines() {
        raw.stats.lines += 1;
        let Some(Line::Rest { url, at_ms, json }) = text.and_then(cryptofeed_line) else {
            count_unreadable(text, &mut raw.stats);
            continue;
        };
        if found.is_some() || query_symbol(url) != Some(symbol) {
            raw.stats.other += 1;
            continue;
        }
        let Ok(frame) = parse_binance(json.as_bytes()) else {
            raw.stats.malformed += 1;
            continue;
        };
        let BinanceMsg::Snapshot(s) = frame.msg else {
            raw.stats.other += 1;
            continue;
        };
        let mut levels = Vec::new();
        if push_pairs(BookSide::Bid, &s.bids, &mut levels).is_err()
            || push_pairs(BookSide::Ask, &s.asks, &mut levels).is_err()
        {
            raw.stats.malformed += 1;
            continue;
        }
        let step = RawStep {
            location: rest.location(line),
            at_ms,
            kind: RawKind::Snapshot,
            levels,
            check: None,
        };
        found = Some((s.last_update_id, step));
    }
    found
}

/// Every `depthUpdate` for `symbol`, in capture order.
fn diffs(ws: &File, symbol: &str, raw: &mut Raw) -> Vec<Diff> {
    let mut out = Vec::new();
    for (line, text) in ws.lines() {
        raw.stats.lines += 1;
        let Some(Line::Received { at_ms, json }) = text.and_then(cryptofeed_line) else {
            count_unreadable(text, &mut raw.stats);
            continue;
        };
        let Ok(frame) = parse_binance(json.as_bytes()) else {
            raw.stats.malformed += 1;
            continue;
        };
        let BinanceMsg::Depth(d) = frame.msg else {
            raw.stats.other += 1;
            continue;
        };
        if d.symbol != symbol.as_bytes() {
            raw.stats.other += 1;
            continue;
        }
        let mut levels: Vec<RawLevel> = Vec::new();
        if d.first_id > d.last_id
            || push_pairs(BookSide::Bid, &d.bids, &mut levels).is_err()
            || push_pairs(BookSide::Ask, &d.asks, &mut levels).is_err()
        {
            raw.stats.malformed += 1;
            continue;
        }
        out.push(Diff {
            first: d.first_id,
            last: d.last_id,
            step: RawStep {
                location: ws.location(line),
                at_ms,
                kind: RawKind::Update,
                levels,
                check: None,
            },
        });
    }
    out
}

/// The `symbol` query parameter of a REST URL.
fn query_symbol(url: &str) -> Option<&str> {
    let (_, query) = url.split_once('?')?;
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("symbol="))
}

#[cfg(test)]
mod tests {
    use super::*;

    const REST: &str = "https://api/api/v3/depth?symbol=AUSDT&limit=1000 -> 100.5: \
        {\"lastUpdateId\":10,\"bids\":[[\"1.0\",\"5\"]],\"asks\":[[\"1.2\",\"7\"]]}\n\
        https://api/api/v3/depth?symbol=BUSDT&limit=1000 -> 100.6: \
        {\"lastUpdateId\":3,\"bids\":[],\"asks\":[]}\n";

    fn diff(at: &str, symbol: &str, first: u64, last: u64, bid: &str) -> String {
        format!(
            "{at}: {{\"stream\":\"x@depth@100ms\",\"data\":{{\"e\":\"depthUpdate\",\"E\":1,\
             \"s\":\"{symbol}\",\"U\":{first},\"u\":{last},\"b\":[[\"{bid}\",\"1\"]],\"a\":[]}}}}"
        )
    }

    fn load(lines: &[String]) -> Result<Raw, ReplayError> {
        let ws = File::from_text("ws", &lines.join("\n"));
        read(&ws, &File::from_text("rest", REST), "AUSDT")
    }

    #[test]
    fn diffs_at_or_before_the_snapshot_are_dropped_and_the_bridge_is_kept() {
        let raw = load(&[
            "wss://x <-> 100.0".into(),
            diff("100.1", "AUSDT", 8, 9, "0.91"),
            diff("100.2", "AUSDT", 10, 10, "0.92"),
            diff("100.3", "BUSDT", 1, 2, "0.5"),
            diff("100.4", "AUSDT", 9, 12, "0.93"),
            "100.45: not json".into(),
            diff("100.6", "AUSDT", 13, 13, "0.94"),
        ])
        .expect("loads");
        let bids: Vec<&str> = raw.steps[1..]
            .iter()
            .map(|s| s.levels[0].price.as_str())
            .collect();
        assert_eq!(bids, ["0.93", "0.94"]);
        assert_eq!(raw.steps[0].kind, RawKind::Snapshot);
        assert_eq!(raw.steps[0].levels.len(), 2);
        assert_eq!(raw.steps[0].at_ms, 100_500);
        assert_eq!(raw.stats.dropped, 2, "u = 9 and u = 10 are at or before 10");
        assert_eq!(raw.stats.malformed, 1);
        // The mark, BUSDT's diff, and BUSDT's snapshot.
        assert_eq!(raw.stats.other, 3);
        assert_eq!(raw.stats.lines, 9);
    }

    #[test]
    fn a_missing_bridge_or_a_gap_is_an_error() {
        let no_bridge = load(&[diff("1", "AUSDT", 12, 13, "0.9")]);
        assert!(
            matches!(
                no_bridge,
                Err(ReplayError::NoBridge {
                    last_update_id: 10,
                    ..
                })
            ),
            "{no_bridge:?}"
        );
        let gap = load(&[
            diff("1", "AUSDT", 11, 12, "0.9"),
            diff("2", "AUSDT", 14, 15, "0.9"),
        ]);
        match gap {
            Err(ReplayError::Gap {
                expected: 13,
                got: 14,
                location,
                ..
            }) => assert_eq!(location, "ws:2"),
            other => panic!("{other:?}"),
        }
    }

    #[test]
    fn no_snapshot_for_the_symbol_is_an_error() {
        let ws = File::from_text("ws", &diff("1", "CUSDT", 1, 2, "0.9"));
        let err = read(&ws, &File::from_text("rest", REST), "CUSDT");
        assert!(
            matches!(err, Err(ReplayError::NoSnapshot { .. })),
            "{err:?}"
        );
    }
}
