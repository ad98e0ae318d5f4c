//! OKX: v5 frames decoded from the documented examples; a real recorded session whose every
//! `books` checksum must match our book; hand-built sequence gaps, keep-alives, sequence resets,
//! bad checksums and bad numbers; and malformed input.

use std::collections::{BTreeMap, HashMap};

use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::Book;
use kestrel_venues::sync::okx::{OkxBook, okx_checksum};
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::okx::{OkxAction, OkxBookMsg, OkxFrame, parse_okx};
use proptest::prelude::*;
use serde_json::Value;

/// `(price, size)` levels as the venue's text.
type TextLevels = Vec<(String, String)>;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn scale(digits: u8) -> Scale {
    Scale::new(digits).expect("scale")
}

/// Scale 8 for prices and sizes fits every instrument in the recording (and shows the
/// checksum text does not depend on the book's scale).
fn keeper() -> OkxBook {
    OkxBook::new(Book::new(1000, scale(8), scale(8)))
}

fn read(relative: &str, test: &str) -> Option<String> {
    let path = kestrel_stdx::testdata::data_file(test, relative)?;
    Some(std::fs::read_to_string(path).expect("read recorded data"))
}

fn book_msg(frame: &[u8]) -> OkxBookMsg<'_> {
    match parse_okx(frame) {
        Ok(OkxFrame::Book(msg)) => msg,
        other => panic!("not a book push: {other:?}"),
    }
}

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

fn levels(msg: &OkxBookMsg<'_>, side: BookSide) -> Vec<(String, String)> {
    let levels = match side {
        BookSide::Bid => msg.bids,
        BookSide::Ask => msg.asks,
    };
    let mut out = Vec::new();
    levels
        .for_each(|p, q| {
            out.push((text(p), text(q)));
            Ok(())
        })
        .expect("levels");
    out
}

/// The documented checksum rule over venue text: top 25 interleaved bid, ask, bid, ask, ...
fn reference_checksum(bids: &[(String, String)], asks: &[(String, String)]) -> i32 {
    let mut parts: Vec<&str> = Vec::new();
    for rank in 0..25 {
        for level in [bids.get(rank), asks.get(rank)].into_iter().flatten() {
            parts.push(&level.0);
            parts.push(&level.1);
        }
    }
    CRC32.checksum(parts.join(":").as_bytes()) as i32
}

#[test]
fn documented_examples_decode_to_their_fields() {
    let test = "okx documented examples";
    let Some(snapshot) = read("cex-ws/nautilus/okx/ws_books_snapshot.json", test) else {
        return;
    };
    let msg = book_msg(snapshot.as_bytes());
    assert_eq!(
        (msg.channel, msg.inst_id),
        (&b"books"[..], &b"BTC-USDT"[..])
    );
    assert_eq!(msg.action, OkxAction::Snapshot);
    assert_eq!(
        (msg.ts_ms, msg.checksum),
        (1_597_026_383_085, Some(-855_196_043))
    );
    assert_eq!((msg.prev_seq_id, msg.seq_id), (Some(-1), Some(123_456)));
    let asks = levels(&msg, BookSide::Ask);
    let bids = levels(&msg, BookSide::Bid);
    assert_eq!((asks.len(), bids.len()), (8, 8));
    assert_eq!(asks[1], ("8477".to_string(), "7".to_string()));
    assert_eq!(bids[7], ("8446".to_string(), "95".to_string()));

    let update = read("cex-ws/nautilus/okx/ws_books_update.json", test).expect("fixture dir");
    let msg = book_msg(update.as_bytes());
    assert_eq!(msg.action, OkxAction::Update);
    assert_eq!(
        (msg.prev_seq_id, msg.seq_id),
        (Some(123_456), Some(123_457))
    );

    let bbo = read("cex-ws/nautilus/okx/ws_bbo_tbt.json", test).expect("fixture dir");
    let msg = book_msg(bbo.as_bytes());
    assert_eq!(
        (msg.channel, msg.action),
        (&b"bbo-tbt"[..], OkxAction::Full)
    );
    assert_eq!(
        (msg.checksum, msg.seq_id, msg.prev_seq_id),
        (None, Some(123_456), None)
    );
    assert_eq!(
        levels(&msg, BookSide::Bid),
        vec![("8476.97".to_string(), "256".to_string())]
    );

    let trades = read("cex-ws/nautilus/okx/ws_trades.json", test).expect("fixture dir");
    let Ok(OkxFrame::Trades(trades)) = parse_okx(trades.as_bytes()) else {
        panic!("not trades")
    };
    assert_eq!(trades.inst_id, b"BTC-USD");
    let mut seen = Vec::new();
    trades
        .for_each(|t| {
            seen.push((text(t.px), text(t.sz), t.taker_buys, t.trade_id, t.ts_ms));
            Ok(())
        })
        .expect("trades");
    assert_eq!(
        seen,
        vec![(
            "42219.9".into(),
            "0.12060306".into(),
            true,
            130_639_474,
            1_630_048_897_897
        )]
    );

    let ticker = read("cex-ws/nautilus/okx/ws_tickers.json", test).expect("fixture dir");
    let Ok(OkxFrame::Ticker(t)) = parse_okx(ticker.as_bytes()) else {
        panic!("not a ticker")
    };
    assert_eq!(
        (t.inst_id, t.bid_px, t.bid_sz),
        (&b"BTC-USDT"[..], &b"8888.88"[..], &b"5"[..])
    );
    assert_eq!(
        (t.ask_px, t.ask_sz, t.last),
        (&b"9999.99"[..], &b"11"[..], &b"9999.99"[..])
    );
    assert_eq!(t.ts_ms, 1_597_026_383_085);

    let candle = read("cex-ws/nautilus/okx/ws_candle.json", test).expect("fixture dir");
    assert!(matches!(parse_okx(candle.as_bytes()), Ok(OkxFrame::Other)));
}

/// The documented example's checksum is illustrative (it is not the CRC of its own levels):
/// the keeper must notice, and report the checksum the documented rule gives.
#[test]
fn documented_example_checksum_is_checked_not_trusted() {
    let Some(snapshot) = read("cex-ws/nautilus/okx/ws_books_snapshot.json", "okx checksum") else {
        return;
    };
    let msg = book_msg(snapshot.as_bytes());
    let ours = reference_checksum(&levels(&msg, BookSide::Bid), &levels(&msg, BookSide::Ask));
    let mut keeper = keeper();
    assert_eq!(
        keeper.on_book(&msg),
        Outcome::Resync(ResyncReason::Checksum {
            venue: (-855_196_043i32) as u32,
            ours: ours as u32
        })
    );
    assert!(!keeper.is_synced() && keeper.book().asks().is_empty());
}

#[test]
fn checksum_text_interleaves_and_uses_the_shortest_form() {
    let mut book = Book::new(50, scale(2), scale(8));
    let fixed = |t: &str, d: u8| Fixed::parse(t.as_bytes(), scale(d)).expect("exact");
    book.set(BookSide::Bid, fixed("3366.1", 2), fixed("7", 8));
    book.set(BookSide::Bid, fixed("3366", 2), fixed("6", 8));
    book.set(BookSide::Bid, fixed("3365.05", 2), fixed("0.05426064", 8));
    book.set(BookSide::Ask, fixed("3366.8", 2), fixed("9.5", 8));
    let mut text = String::new();
    let crc = okx_checksum(&book, &mut text);
    assert_eq!(text, "3366.1:7:3366.8:9.5:3366:6:3365.05:0.05426064");
    assert_eq!(crc, CRC32.checksum(text.as_bytes()) as i32);
    // Only 25 levels a side count.
    for i in 0..40u64 {
        book.set(BookSide::Ask, Fixed(400_000 + i), Fixed(100_000_000));
    }
    okx_checksum(&book, &mut text);
    assert_eq!(text.matches(":1").count(), 24, "{text}");
}

// ---------------------------------------------------------------------------------------------
// The real recorded session.

/// An independent book of the venue's own text, keyed by exact units.
#[derive(Default)]
struct Reference {
    bids: BTreeMap<u128, (String, String)>,
    asks: BTreeMap<u128, (String, String)>,
}

/// "30243.5" → units at 10^-12: exact for every price in the recording.
fn units(decimal: &str) -> u128 {
    let (whole, fraction) = decimal.split_once('.').unwrap_or((decimal, ""));
    format!("{whole}{fraction:0<12}").parse().expect("digits")
}

impl Reference {
    fn apply(&mut self, levels: &Value, bid: bool) {
        for level in levels.as_array().expect("levels") {
            let px = level[0].as_str().expect("px").to_string();
            let sz = level[1].as_str().expect("sz").to_string();
            let side = if bid { &mut self.bids } else { &mut self.asks };
            if units(&sz) == 0 {
                side.remove(&units(&px));
            } else {
                side.insert(units(&px), (px, sz));
            }
        }
    }

    fn top(&self) -> (TextLevels, TextLevels) {
        (
            self.bids.values().rev().cloned().collect(),
            self.asks.values().cloned().collect(),
        )
    }
}

#[test]
fn recorded_session_checksums_all_match() {
    let Some(raw) = read("cex-ws/cryptofeed/OKX.ws.1.0", "okx recording") else {
        return;
    };
    let mut keepers: HashMap<Vec<u8>, OkxBook> = HashMap::new();
    let mut references: HashMap<String, Reference> = HashMap::new();
    let mut counts: HashMap<&str, u32> = HashMap::new();
    for line in raw
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("wss://"))
    {
        let (_, json) = line.split_once(": ").expect("`ts: json` line");
        let frame = parse_okx(json.as_bytes()).expect("every recorded frame decodes");
        let kind = match frame {
            OkxFrame::Book(msg) => {
                assert_eq!(msg.channel, b"books");
                assert_eq!(
                    (msg.seq_id, msg.prev_seq_id),
                    (None, None),
                    "2022: no seq ids"
                );
                let keeper = keepers.entry(msg.inst_id.to_vec()).or_insert_with(keeper);
                let outcome = keeper.on_book(&msg);
                assert_eq!(outcome, Outcome::Applied, "{json:.200}");
                // The independent reference agrees with the venue's checksum too.
                let value: Value = serde_json::from_str(json).expect("json");
                let data = &value["data"][0];
                let inst = value["arg"]["instId"].as_str().expect("instId").to_string();
                let reference = references.entry(inst).or_default();
                if msg.action == OkxAction::Snapshot {
                    *reference = Reference::default();
                }
                reference.apply(&data["bids"], true);
                reference.apply(&data["asks"], false);
                let (bids, asks) = reference.top();
                assert_eq!(Some(reference_checksum(&bids, &asks)), msg.checksum);
                if msg.action == OkxAction::Snapshot {
                    "snapshot"
                } else {
                    "update"
                }
            }
            OkxFrame::Ticker(_) => "ticker",
            OkxFrame::Trades(trades) => {
                trades.for_each(|_| Ok(())).expect("trades decode");
                "trades"
            }
            OkxFrame::Subscribed(_) => "subscribed",
            other => panic!("unexpected frame {other:?}"),
        };
        *counts.entry(kind).or_default() += 1;
    }
    let count = |k| counts.get(k).copied().unwrap_or(0);
    assert_eq!(
        (
            count("snapshot"),
            count("update"),
            count("ticker"),
            count("trades"),
            count("subscribed")
        ),
        (3, 287, 28, 74, 18)
    );
    let mut verified = 0;
    for (inst, keeper) in &keepers {
        let stats = keeper.stats();
        assert_eq!((stats.resyncs, stats.gaps, stats.ignored), (0, 0, 0));
        assert_eq!(
            (keeper.checksums_unchecked(), keeper.noncanonical_levels()),
            (0, 0)
        );
        assert!(keeper.is_synced() && !keeper.book().is_crossed());
        verified += keeper.checksums_verified();
        // Our whole book, written in the venue's shortest form, is the reference's.
        let reference = &references[std::str::from_utf8(inst).expect("utf-8")];
        let (bids, asks) = reference.top();
        let ours = |levels: &[kestrel_venues::book::Level]| -> Vec<(String, String)> {
            levels
                .iter()
                .map(|l| {
                    (
                        shortest(l.price.to_text(scale(8))),
                        shortest(l.size.to_text(scale(8))),
                    )
                })
                .collect()
        };
        assert_eq!(ours(keeper.book().bids()), bids);
        assert_eq!(ours(keeper.book().asks()), asks);
    }
    assert_eq!((keepers.len(), verified), (3, 290));
}

fn shortest(fixed_digits: String) -> String {
    if !fixed_digits.contains('.') {
        return fixed_digits;
    }
    fixed_digits
        .trim_end_matches('0')
        .trim_end_matches('.')
        .to_string()
}

// ---------------------------------------------------------------------------------------------
// Hand-built pushes.

fn push(action: &str, bids: &[(&str, &str)], asks: &[(&str, &str)], tail: &str) -> String {
    let side = |levels: &[(&str, &str)]| -> String {
        let items: Vec<String> = levels
            .iter()
            .map(|(p, s)| format!(r#"["{p}","{s}","0","1"]"#))
            .collect();
        format!("[{}]", items.join(","))
    };
    format!(
        r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":{},"bids":{},"ts":"1",{tail}}}]}}"#,
        side(asks),
        side(bids)
    )
}

fn seq(prev: i64, seq: i64) -> String {
    format!(r#""checksum":0,"prevSeqId":{prev},"seqId":{seq}"#)
}

fn feed(keeper: &mut OkxBook, frame: &str) -> Outcome {
    keeper.on_book(&book_msg(frame.as_bytes()))
}

#[test]
fn sequence_gaps_keepalives_and_resets_follow_the_docs() {
    let mut keeper = keeper();
    let early = push("update", &[("100", "1")], &[], &seq(9, 10));
    assert_eq!(feed(&mut keeper, &early), Outcome::Ignored);

    // The docs' worked example: snapshot 10, update 10→15, keep-alive 15→15, reset 15→3.
    let snapshot = push("snapshot", &[("100", "1")], &[("101", "2")], &seq(-1, 10));
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    assert_eq!(keeper.last_seq_id(), Some(10));
    let update = push("update", &[("100.5", "3")], &[], &seq(10, 15));
    assert_eq!(feed(&mut keeper, &update), Outcome::Applied);
    let keepalive = push("update", &[], &[], &seq(15, 15));
    assert_eq!(feed(&mut keeper, &keepalive), Outcome::Applied);
    assert_eq!(
        (keeper.last_seq_id(), keeper.book().bids().len()),
        (Some(15), 2)
    );
    // Deprecated checksums (0) are not checked, and counted.
    assert_eq!(
        (keeper.checksums_unchecked(), keeper.checksums_verified()),
        (3, 0)
    );
    let reset = push("update", &[("99", "1")], &[], &seq(15, 3));
    assert_eq!(
        feed(&mut keeper, &reset),
        Outcome::Resync(ResyncReason::Reset)
    );
    assert!(!keeper.is_synced() && keeper.book().bids().is_empty());
    assert_eq!(keeper.last_seq_id(), None);
    let next = push("update", &[("99", "2")], &[], &seq(3, 5));
    assert_eq!(feed(&mut keeper, &next), Outcome::Ignored);

    let snapshot = push("snapshot", &[("100", "1")], &[("101", "2")], &seq(-1, 40));
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    let lost_one = push("update", &[("100", "2")], &[], &seq(41, 42));
    assert_eq!(
        feed(&mut keeper, &lost_one),
        Outcome::Resync(ResyncReason::Gap {
            expected: 40,
            got: 41
        })
    );
    assert!(!keeper.is_synced() && keeper.book().asks().is_empty());
    let stats = keeper.stats();
    assert_eq!(
        (stats.gaps, stats.resets, stats.resyncs, stats.ignored),
        (1, 1, 2, 2)
    );
    assert_eq!((stats.snapshots, stats.applied), (2, 2));
}

#[test]
fn checksums_and_numbers_are_checked() {
    let mut keeper = keeper();
    let bids = [("8476.97", "256"), ("8475.3", "1")];
    let asks = [("8477", "7")];
    let owned = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(p, s)| (p.to_string(), s.to_string()))
            .collect()
    };
    let good = reference_checksum(&owned(&bids), &owned(&asks));
    let snapshot = push("snapshot", &bids, &asks, &format!(r#""checksum":{good}"#));
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    assert_eq!(keeper.checksums_verified(), 1);

    // The venue removed 8475.3 in a push we never saw; its checksum says so.
    let venue_view = reference_checksum(&owned(&[("8476.97", "250")]), &owned(&asks));
    let update = push(
        "update",
        &[("8476.97", "250")],
        &[],
        &format!(r#""checksum":{venue_view}"#),
    );
    let ours = reference_checksum(
        &owned(&[("8476.97", "250"), ("8475.3", "1")]),
        &owned(&asks),
    );
    assert_eq!(
        feed(&mut keeper, &update),
        Outcome::Resync(ResyncReason::Checksum {
            venue: venue_view as u32,
            ours: ours as u32
        })
    );
    assert!(!keeper.is_synced());
    assert_eq!(keeper.stats().checksum_failures, 1);

    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    let inexact = push(
        "update",
        &[("8476.971234567891", "1")],
        &[],
        r#""checksum":0"#,
    );
    assert_eq!(
        feed(&mut keeper, &inexact),
        Outcome::Resync(ResyncReason::BadNumber)
    );
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    let negative = push("update", &[("8476.97", "-1")], &[], r#""checksum":0"#);
    assert_eq!(
        feed(&mut keeper, &negative),
        Outcome::Resync(ResyncReason::BadNumber)
    );
    assert_eq!(keeper.stats().bad_numbers, 2);

    // Text not in shortest form is counted: our rebuilt checksum text would differ from it.
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    let padded = push(
        "update",
        &[("8476.90", "1"), ("08470", "1.0"), ("8470.5", "0.00")],
        &[],
        r#""checksum":0"#,
    );
    assert_eq!(feed(&mut keeper, &padded), Outcome::Applied);
    assert_eq!(keeper.noncanonical_levels(), 2);
}

#[test]
fn books5_and_bbo_pushes_replace_the_book() {
    let mut keeper = OkxBook::new(Book::new(5, scale(2), scale(0)));
    let first = r#"{"arg":{"channel":"books5","instId":"A-B"},"data":[{"asks":[["10.5","3","0","1"]],"bids":[["10.1","2","0","1"],["10","9","0","1"]],"instId":"A-B","ts":"5","seqId":7}]}"#;
    assert_eq!(feed(&mut keeper, first), Outcome::Applied);
    assert_eq!(
        (keeper.book().bids().len(), keeper.last_seq_id()),
        (2, Some(7))
    );
    let second = r#"{"arg":{"channel":"books5","instId":"A-B"},"data":[{"asks":[["10.4","1","0","1"]],"bids":[["10.2","1","0","1"]],"ts":"6","seqId":9}]}"#;
    assert_eq!(feed(&mut keeper, second), Outcome::Applied);
    assert_eq!(keeper.book().bids().len(), 1);
    assert_eq!(keeper.book().best_ask().map(|l| l.price), Some(Fixed(1040)));
    assert_eq!(
        (keeper.stats().snapshots, keeper.checksums_unchecked()),
        (2, 2)
    );
}

// ---------------------------------------------------------------------------------------------
// Events and malformed input.

#[test]
fn events_pongs_and_reordered_fields_are_read() {
    assert!(matches!(parse_okx(b"pong"), Ok(OkxFrame::Pong)));
    let sub = br#"{"event":"subscribe","arg":{"channel":"books","instId":"BTC-USDT"},"connId":"a4d3ae55"}"#;
    let Ok(OkxFrame::Subscribed(arg)) = parse_okx(sub) else {
        panic!("not an ack")
    };
    assert_eq!(
        (arg.channel, arg.inst_id),
        (&b"books"[..], Some(&b"BTC-USDT"[..]))
    );
    let err = br#"{"event":"error","code":"60012","msg":"Invalid request","connId":"a4d3ae55"}"#;
    assert!(matches!(
        parse_okx(err),
        Ok(OkxFrame::Error {
            code: b"60012",
            msg: b"Invalid request"
        })
    ));
    let notice = br#"{"event":"notice","code":"64008","msg":"The connection will soon be closed for a service upgrade.","connId":"x"}"#;
    assert!(matches!(
        parse_okx(notice),
        Ok(OkxFrame::Notice { code: b"64008", .. })
    ));
    let unsub = br#"{"event":"unsubscribe","arg":{"channel":"tickers","instId":"X"}}"#;
    assert!(matches!(parse_okx(unsub), Ok(OkxFrame::Unsubscribed(_))));
    assert!(matches!(
        parse_okx(br#"{"event":"login","code":"0","msg":""}"#),
        Ok(OkxFrame::Other)
    ));
    // `data` and `action` before `arg`.
    let reordered = br#"{"data":[{"seqId":2,"prevSeqId":1,"checksum":-5,"ts":"9","bids":[],"asks":[["1","2","0","1"]]}],"action":"update","arg":{"instId":"Z","channel":"books"}}"#;
    let msg = book_msg(reordered);
    assert_eq!(
        (msg.action, msg.inst_id, msg.checksum),
        (OkxAction::Update, &b"Z"[..], Some(-5))
    );
    assert_eq!(
        (msg.prev_seq_id, msg.seq_id, msg.ts_ms),
        (Some(1), Some(2), 9)
    );
}

#[test]
fn malformed_frames_are_errors() {
    assert_eq!(parse_okx(br#"{"x":1}"#).err(), Some(CexError::UnknownShape));
    let no_action =
        br#"{"arg":{"channel":"books","instId":"A"},"data":[{"asks":[],"bids":[],"ts":"1"}]}"#;
    assert_eq!(
        parse_okx(no_action).err(),
        Some(CexError::MissingField("action"))
    );
    let two = br#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1"},{"asks":[],"bids":[],"ts":"2"}]}"#;
    assert_eq!(parse_okx(two).err(), Some(CexError::UnknownShape));
    let bad: [&[u8]; 9] = [
        b"",
        b"pon",
        b"{",
        b"[1]",
        br#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","checksum":2147483648}]}"#,
        br#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":{},"bids":[],"ts":"1"}]}"#,
        br#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":[],"bids":[],"ts":"x"}]}"#,
        br#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":[],"bids":[],"ts":"1","seqId":"1.5"}]}"#,
        br#"{"event":"error"} {}"#,
    ];
    for frame in bad {
        assert!(
            parse_okx(frame).is_err(),
            "{:?}",
            String::from_utf8_lossy(frame)
        );
    }
    let msg = book_msg(br#"{"arg":{"channel":"books","instId":"A"},"action":"update","data":[{"asks":[["1"]],"bids":[],"ts":"1"}]}"#);
    assert!(msg.asks.for_each(|_, _| Ok(())).is_err());
    let deep = format!(
        r#"{{"arg":{{"channel":"x"}},"data":{}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(parse_okx(deep.as_bytes()).err(), Some(CexError::TooDeep));
}

fn fixture_frames() -> Vec<String> {
    let names = [
        "ws_books_snapshot.json",
        "ws_books_update.json",
        "ws_bbo_tbt.json",
        "ws_trades.json",
        "ws_tickers.json",
        "ws_candle.json",
    ];
    names
        .iter()
        .filter_map(|n| read(&format!("cex-ws/nautilus/okx/{n}"), "okx truncations"))
        .collect()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        match parse_okx(&bytes) {
            Ok(OkxFrame::Book(msg)) => {
                let _ = keeper().on_book(&msg);
            }
            Ok(OkxFrame::Trades(trades)) => {
                let _ = trades.for_each(|_| Ok(()));
            }
            _ => {}
        }
    }

    #[test]
    fn truncated_fixtures_are_errors(cut in 0usize..4000) {
        for frame in fixture_frames() {
            let end = frame.trim_end().len();
            let cut = cut % end;
            prop_assert!(parse_okx(&frame.as_bytes()[..cut]).is_err(), "{}", &frame[..cut]);
        }
    }

    #[test]
    fn mutated_fixtures_never_panic(at in 0usize..4000, byte in any::<u8>()) {
        for frame in fixture_frames() {
            let mut bytes = frame.into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            if let Ok(OkxFrame::Book(msg)) = parse_okx(&bytes) {
                let _ = keeper().on_book(&msg);
            }
        }
    }
}
