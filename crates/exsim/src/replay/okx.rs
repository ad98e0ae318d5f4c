//! OKX v5: one book channel's snapshot, then its updates, decoded with the feed's own decoder
//! ([`parse_okx`]). The first book channel seen for the instrument is the one followed.

use kestrel_types::cex::{BookSide, Venue};
use kestrel_wire::cex::okx::{OkxAction, OkxFrame, parse_okx};

use super::capture::{File, Line, count_unreadable, cryptofeed_line};
use super::{Check, Raw, RawKind, RawStep, ReplayError, push_pairs};

/// Read `inst_id`'s book from the capture `ws`.
pub(super) fn read(ws: &File, inst_id: &str) -> Result<Raw, ReplayError> {
    let mut raw = Raw::default();
    let mut channel: Option<Vec<u8>> = None;
    let mut last_seq: Option<i64> = None;
    for (line, text) in ws.lines() {
        raw.stats.lines += 1;
        let Some(Line::Received { at_ms, json }) = text.and_then(cryptofeed_line) else {
            count_unreadable(text, &mut raw.stats);
            continue;
        };
        let Ok(frame) = parse_okx(json.as_bytes()) else {
            raw.stats.malformed += 1;
            continue;
        };
        let OkxFrame::Book(msg) = frame else {
            raw.stats.other += 1;
            continue;
        };
        let followed = channel.as_deref().is_none_or(|c| c == msg.channel);
        if msg.inst_id != inst_id.as_bytes() || !followed {
            raw.stats.other += 1;
            continue;
        }
        let kind = match msg.action {
            OkxAction::Update => RawKind::Update,
            OkxAction::Snapshot | OkxAction::Full => RawKind::Snapshot,
        };
        if kind == RawKind::Update && raw.steps.is_empty() {
            raw.stats.dropped += 1;
            continue;
        }
        if kind == RawKind::Update
            && let (Some(prev), Some(last)) = (msg.prev_seq_id, last_seq)
            && prev != last
        {
            return Err(ReplayError::Gap {
                venue: Venue::Okx,
                symbol: inst_id.into(),
                location: ws.location(line),
                expected: u64::try_from(last).unwrap_or(0),
                got: u64::try_from(prev).unwrap_or(0),
            });
        }
        let mut levels = Vec::new();
        if push_pairs(BookSide::Bid, &msg.bids, &mut levels).is_err()
            || push_pairs(BookSide::Ask, &msg.asks, &mut levels).is_err()
        {
            raw.stats.malformed += 1;
            continue;
        }
        channel.get_or_insert_with(|| msg.channel.to_vec());
        last_seq = msg.seq_id;
        raw.steps.push(RawStep {
            location: ws.location(line),
            at_ms,
            kind,
            levels,
            // OKX sends 0 on every push since it stopped computing checksums.
            check: msg.checksum.filter(|&c| c != 0).map(Check::Okx),
        });
    }
    if raw.steps.is_empty() {
        return Err(ReplayError::NoSnapshot {
            venue: Venue::Okx,
            symbol: inst_id.into(),
        });
    }
    Ok(raw)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn push(at: &str, inst: &str, action: &str, seq: &str, bid: &str) -> String {
        format!(
            "{at}: {{\"arg\":{{\"channel\":\"books\",\"instId\":\"{inst}\"}},\"action\":\"{action}\",\
             \"data\":[{{\"asks\":[],\"bids\":[[\"{bid}\",\"1\",\"0\",\"1\"]],\"ts\":\"1\",\
             \"checksum\":5{seq}}}]}}"
        )
    }

    #[test]
    fn updates_before_the_snapshot_are_dropped_and_seq_ids_must_chain() {
        let text = [
            push("1", "BTC-USDT", "update", "", "1"),
            push("2", "ETH-USDT", "snapshot", "", "2"),
            push(
                "3",
                "BTC-USDT",
                "snapshot",
                ",\"seqId\":10,\"prevSeqId\":-1",
                "3",
            ),
            push(
                "4",
                "BTC-USDT",
                "update",
                ",\"seqId\":11,\"prevSeqId\":10",
                "4",
            ),
            "5: {\"event\":\"subscribe\",\"arg\":{\"channel\":\"books\"}}".into(),
        ]
        .join("\n");
        let raw = read(&File::from_text("okx", &text), "BTC-USDT").expect("loads");
        assert_eq!(raw.steps.len(), 2);
        assert_eq!(raw.steps[0].kind, RawKind::Snapshot);
        assert_eq!(raw.steps[1].levels[0].price, "4");
        assert_eq!(raw.steps[1].check, Some(Check::Okx(5)));
        assert_eq!((raw.stats.dropped, raw.stats.other), (1, 2));

        let gap = format!(
            "{text}\n{}",
            push(
                "6",
                "BTC-USDT",
                "update",
                ",\"seqId\":13,\"prevSeqId\":12",
                "5"
            )
        );
        let err = read(&File::from_text("okx", &gap), "BTC-USDT");
        assert!(
            matches!(
                err,
                Err(ReplayError::Gap {
                    expected: 11,
                    got: 12,
                    ..
                })
            ),
            "{err:?}"
        );
    }
}
