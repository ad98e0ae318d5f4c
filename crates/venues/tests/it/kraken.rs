//! Kraken: v2 frames decoded from the venue's documented examples; the book checksum checked
//! against a real recorded v1 session (directly, and replayed through the v2 decoder and
//! keeper); hand-built integrity failures; and malformed input.

use std::collections::{BTreeMap, HashMap};

use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::Book;
use kestrel_venues::sync::kraken::{KrakenBook, KrakenBookConfig, KrakenDepth, kraken_checksum};
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::kraken::{KrakenBookKind, KrakenBookMsg, KrakenFrame, parse_kraken};
use proptest::prelude::*;
use serde_json::Value;

/// `(price, qty)` levels in integer units at the precisions.
type UnitLevels = Vec<(u64, u64)>;

const CRC32: crc::Crc<u32> = crc::Crc::<u32>::new(&crc::CRC_32_ISO_HDLC);

fn scale(digits: u8) -> Scale {
    Scale::new(digits).expect("scale")
}

fn keeper(depth: KrakenDepth, price_digits: u8, qty_digits: u8) -> KrakenBook {
    KrakenBook::new(KrakenBookConfig {
        depth,
        price_precision: scale(price_digits),
        qty_precision: scale(qty_digits),
    })
}

fn read(relative: &str, test: &str) -> Option<String> {
    let path = kestrel_stdx::testdata::data_file(test, relative)?;
    Some(std::fs::read_to_string(path).expect("read recorded data"))
}

fn book_msg(frame: &[u8]) -> KrakenBookMsg<'_> {
    match parse_kraken(frame) {
        Ok(KrakenFrame::Book(msg)) => msg,
        other => panic!("not a book message: {other:?}"),
    }
}

fn levels(msg: &KrakenBookMsg<'_>, side: BookSide) -> Vec<(String, String)> {
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

fn text(bytes: &[u8]) -> String {
    String::from_utf8(bytes.to_vec()).expect("utf-8")
}

/// The documented rule, applied to decimal text literally: drop the point, strip leading zeros.
fn strip(decimal: &str) -> String {
    decimal.replace('.', "").trim_start_matches('0').to_string()
}

#[test]
fn documented_examples_decode_to_their_fields() {
    let test = "kraken documented examples";
    let Some(snapshot) = read("cex-ws/nautilus/kraken/ws_book_snapshot.json", test) else {
        return;
    };
    let msg = book_msg(snapshot.as_bytes());
    assert_eq!(msg.kind, KrakenBookKind::Snapshot);
    assert_eq!((msg.symbol, msg.checksum), (&b"BTC/USD"[..], 2_439_117_997));
    assert_eq!(msg.timestamp, Some(&b"2023-10-06T17:35:55.440295Z"[..]));
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(p, q)| (p.to_string(), q.to_string()))
            .collect()
    };
    assert_eq!(
        levels(&msg, BookSide::Bid),
        pairs(&[
            ("105944.20", "0.136"),
            ("105935.40", "0.024"),
            ("105920.10", "0.052")
        ])
    );
    assert_eq!(
        levels(&msg, BookSide::Ask),
        pairs(&[
            ("105944.30", "0.136"),
            ("105946.90", "0.095"),
            ("105955.80", "0.003")
        ])
    );

    let update = read("cex-ws/nautilus/kraken/ws_book_update.json", test).expect("fixture dir");
    let msg = book_msg(update.as_bytes());
    assert_eq!(
        (msg.kind, msg.checksum),
        (KrakenBookKind::Update, 2_114_181_697)
    );
    assert_eq!(
        levels(&msg, BookSide::Bid),
        pairs(&[("105944.20", "0.250")])
    );
    assert!(levels(&msg, BookSide::Ask).is_empty());

    let trades = read("cex-ws/nautilus/kraken/ws_trade_update.json", test).expect("fixture dir");
    let Ok(KrakenFrame::Trades(trades)) = parse_kraken(trades.as_bytes()) else {
        panic!("not trades")
    };
    let mut seen = Vec::new();
    trades
        .for_each(|t| {
            seen.push((
                text(t.price),
                text(t.qty),
                t.taker_buys,
                t.trade_id,
                t.symbol.len(),
            ));
            Ok(())
        })
        .expect("trades");
    assert_eq!(
        seen,
        vec![
            ("105944.20".into(), "0.00027625".into(), true, 10_218_208, 7),
            (
                "105910.50".into(),
                "0.00012460".into(),
                false,
                10_218_209,
                7
            ),
        ]
    );

    let ticker = read("cex-ws/nautilus/kraken/ws_ticker_snapshot.json", test).expect("fixture");
    let Ok(KrakenFrame::Ticker(t)) = parse_kraken(ticker.as_bytes()) else {
        panic!("not a ticker")
    };
    assert_eq!(
        (t.symbol, t.bid, t.bid_qty),
        (&b"BTC/USD"[..], &b"105944.20"[..], &b"2.5"[..])
    );
    assert_eq!((t.ask, t.ask_qty), (&b"105944.30"[..], &b"3.2"[..]));

    let ack = read("cex-ws/nautilus/kraken/ws_subscribe_response.json", test).expect("fixture");
    let Ok(KrakenFrame::Reply(r)) = parse_kraken(ack.as_bytes()) else {
        panic!("not a reply")
    };
    assert_eq!(
        (r.method, r.req_id, r.success, r.error),
        (&b"subscribe"[..], Some(1), true, None)
    );
    assert_eq!(
        (r.channel, r.symbol),
        (Some(&b"ticker"[..]), Some(&b"BTC/USD"[..]))
    );

    let ohlc = read("cex-ws/nautilus/kraken/ws_ohlc_update.json", test).expect("fixture");
    assert!(matches!(
        parse_kraken(ohlc.as_bytes()),
        Ok(KrakenFrame::Other)
    ));
}

/// The documented example's checksum is illustrative (it matches no precision of its own
/// levels): the keeper must notice, and report the checksum the documented rule gives.
#[test]
fn documented_example_checksum_is_checked_not_trusted() {
    let Some(snapshot) = read(
        "cex-ws/nautilus/kraken/ws_book_snapshot.json",
        "kraken checksum",
    ) else {
        return;
    };
    let msg = book_msg(snapshot.as_bytes());
    let mut book = keeper(KrakenDepth::D10, 1, 8);
    // BTC/USD: price_precision 1, qty_precision 8. Asks low→high, then bids high→low.
    let expected_text = "1059443".to_string()
        + "13600000"
        + "1059469"
        + "9500000"
        + "1059558"
        + "300000"
        + "1059442"
        + "13600000"
        + "1059354"
        + "2400000"
        + "1059201"
        + "5200000";
    let ours = CRC32.checksum(expected_text.as_bytes());
    assert_eq!(
        book.on_book(&msg),
        Outcome::Resync(ResyncReason::Checksum {
            venue: 2_439_117_997,
            ours
        })
    );
    assert!(!book.is_synced() && book.book().bids().is_empty());
    assert_eq!(book.stats().checksum_failures, 1);
}

#[test]
fn checksum_text_follows_the_documented_rule() {
    // The guide's example: price "45285.2" → "452852", qty "0.00100000" → "100000".
    let mut book = Book::new(16, scale(1), scale(8));
    book.set(BookSide::Ask, fixed("45285.2", 1), fixed("0.001", 8));
    book.set(BookSide::Bid, fixed("45285.1", 1), fixed("12", 8));
    let mut text = String::new();
    let crc = kraken_checksum(&book, scale(1), scale(8), &mut text);
    assert_eq!(text, "4528521000004528511200000000");
    assert_eq!(crc, CRC32.checksum(text.as_bytes()));
    // Digits finer than the book's scale pad with zeros, as the venue's fixed-digit text does.
    kraken_checksum(&book, scale(2), scale(8), &mut text);
    assert_eq!(text, "45285201000004528510".to_string() + "1200000000");
    // Only the top ten levels a side count.
    for i in 0..15u64 {
        book.set(BookSide::Ask, Fixed(452_860 + i), Fixed(1));
    }
    kraken_checksum(&book, scale(1), scale(8), &mut text);
    assert_eq!(text.matches("45286").count(), 9, "{text}");
}

fn fixed(text: &str, digits: u8) -> Fixed {
    Fixed::parse(text.as_bytes(), scale(digits)).expect("exact")
}

// ---------------------------------------------------------------------------------------------
// The real recorded v1 session.

/// One v1 book message: levels per side in order, and the checksum when it carries one.
struct V1Message {
    pair: String,
    snapshot: bool,
    asks: Vec<(String, String)>,
    bids: Vec<(String, String)>,
    checksum: Option<u32>,
}

/// Read `KRAKEN.ws.50.0`: `[channelID, {..}, ({..},) "book-1000", pair]` book messages; events
/// (`heartbeat`, `subscriptionStatus`, `systemStatus`) are objects and skipped.
fn v1_messages(test: &str) -> Option<Vec<V1Message>> {
    let raw = read("cex-ws/cryptofeed/KRAKEN.ws.50.0", test)?;
    let mut out = Vec::new();
    for line in raw
        .lines()
        .filter(|l| !l.is_empty() && !l.starts_with("wss://"))
    {
        let (_, json) = line.split_once(": ").expect("`ts: json` line");
        let value: Value = serde_json::from_str(json).expect("json");
        let Some(parts) = value.as_array() else {
            continue;
        };
        let pair = parts
            .last()
            .and_then(Value::as_str)
            .expect("pair")
            .to_string();
        let mut msg = V1Message {
            pair,
            snapshot: false,
            asks: Vec::new(),
            bids: Vec::new(),
            checksum: None,
        };
        for part in &parts[1..parts.len() - 2] {
            let part = part.as_object().expect("book part");
            for (key, side) in [("as", 0), ("bs", 1), ("a", 0), ("b", 1)] {
                let Some(levels) = part.get(key) else {
                    continue;
                };
                msg.snapshot |= key.len() == 2;
                for level in levels.as_array().expect("levels") {
                    let price = level[0].as_str().expect("price").to_string();
                    let qty = level[1].as_str().expect("qty").to_string();
                    let list = if side == 0 {
                        &mut msg.asks
                    } else {
                        &mut msg.bids
                    };
                    list.push((price, qty));
                }
            }
            if let Some(c) = part.get("c") {
                msg.checksum = Some(c.as_str().expect("c").parse().expect("u32"));
            }
        }
        out.push(msg);
    }
    Some(out)
}

fn fraction_digits(decimal: &str) -> u8 {
    decimal.split_once('.').map_or(0, |(_, f)| f.len() as u8)
}

/// Each pair's precisions, from its snapshot's text (v1 writes every number at full precision).
fn v1_precisions(messages: &[V1Message]) -> HashMap<String, (u8, u8)> {
    let mut out = HashMap::new();
    for msg in messages.iter().filter(|m| m.snapshot) {
        let (price, qty) = msg
            .asks
            .first()
            .or(msg.bids.first())
            .expect("snapshot level");
        out.insert(
            msg.pair.clone(),
            (fraction_digits(price), fraction_digits(qty)),
        );
    }
    out
}

#[test]
fn recorded_v1_checksums_match_our_books() {
    let Some(messages) = v1_messages("kraken v1 recording") else {
        return;
    };
    let precisions = v1_precisions(&messages);
    let mut books: HashMap<String, Book> = HashMap::new();
    let mut text = String::new();
    let (mut snapshots, mut verified) = (0, 0);
    for msg in &messages {
        let (pd, qd) = precisions[&msg.pair];
        let book = books
            .entry(msg.pair.clone())
            .or_insert_with(|| Book::new(2000, scale(pd), scale(qd)));
        if msg.snapshot {
            book.clear();
            snapshots += 1;
        }
        for (side, levels) in [(BookSide::Ask, &msg.asks), (BookSide::Bid, &msg.bids)] {
            for (price, qty) in levels {
                book.set(side, fixed(price, pd), fixed(qty, qd));
            }
        }
        book.truncate(1000);
        if let Some(venue) = msg.checksum {
            let ours = kraken_checksum(book, scale(pd), scale(qd), &mut text);
            assert_eq!(
                ours, venue,
                "{} after {} checksums: {text}",
                msg.pair, verified
            );
            verified += 1;
        }
    }
    assert_eq!((snapshots, verified, books.len()), (10, 4269, 10));
    assert!(books.values().all(|b| b.dropped_levels() == 0));
}

/// A v1 message as the v2 frame it would be: same levels (as JSON numbers), same checksum. A
/// v1 snapshot has no checksum; its v2 one is computed here from the snapshot's own text.
fn as_v2_frame(msg: &V1Message) -> String {
    let side = |levels: &[(String, String)]| -> String {
        let items: Vec<String> = levels
            .iter()
            .map(|(p, q)| format!(r#"{{"price":{p},"qty":{q}}}"#))
            .collect();
        format!("[{}]", items.join(","))
    };
    let checksum = msg.checksum.unwrap_or_else(|| {
        let top = |levels: &[(String, String)]| -> String {
            levels
                .iter()
                .take(10)
                .map(|(p, q)| strip(p) + &strip(q))
                .collect()
        };
        CRC32.checksum((top(&msg.asks) + &top(&msg.bids)).as_bytes())
    });
    let kind = if msg.snapshot { "snapshot" } else { "update" };
    format!(
        r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"{}","bids":{},"asks":{},"checksum":{checksum},"timestamp":"2021-04-17T16:48:52.000000Z"}}]}}"#,
        msg.pair,
        side(&msg.bids),
        side(&msg.asks),
    )
}

#[test]
fn recorded_session_replayed_as_v2_frames_stays_in_step() {
    let Some(messages) = v1_messages("kraken v2 replay") else {
        return;
    };
    let precisions = v1_precisions(&messages);
    let mut keepers: HashMap<String, KrakenBook> = HashMap::new();
    for msg in &messages {
        let (pd, qd) = precisions[&msg.pair];
        let keeper = keepers
            .entry(msg.pair.clone())
            .or_insert_with(|| keeper(KrakenDepth::D1000, pd, qd));
        let frame = as_v2_frame(msg);
        let outcome = keeper.on_book(&book_msg(frame.as_bytes()));
        assert_eq!(outcome, Outcome::Applied, "{}: {frame:.300}", msg.pair);
    }
    let (mut applied, mut snapshots, mut verified) = (0, 0, 0);
    for keeper in keepers.values() {
        let stats = keeper.stats();
        assert_eq!((stats.resyncs, stats.ignored), (0, 0));
        assert!(keeper.is_synced());
        assert!(keeper.book().bids().len() <= 1000 && !keeper.book().is_crossed());
        applied += stats.applied;
        snapshots += stats.snapshots;
        verified += keeper.checksums_verified();
    }
    assert_eq!((snapshots, applied, verified), (10, 4269, 4279));
}

// ---------------------------------------------------------------------------------------------
// Hand-built frames against an independent model.

/// The book as the venue keeps it, in integer units at the precisions, and the checksum by the
/// documented rule applied to decimal text.
struct Model {
    depth: usize,
    price_digits: u8,
    qty_digits: u8,
    asks: BTreeMap<u64, u64>,
    bids: BTreeMap<u64, u64>,
}

impl Model {
    fn new(depth: usize, price_digits: u8, qty_digits: u8) -> Model {
        Model {
            depth,
            price_digits,
            qty_digits,
            asks: BTreeMap::new(),
            bids: BTreeMap::new(),
        }
    }

    fn decimal(units: u64, digits: u8) -> String {
        let one = 10u64.pow(u32::from(digits));
        if digits == 0 {
            return units.to_string();
        }
        format!(
            "{}.{:0width$}",
            units / one,
            units % one,
            width = usize::from(digits)
        )
    }

    fn apply(&mut self, asks: &[(u64, u64)], bids: &[(u64, u64)]) {
        for (map, levels) in [(&mut self.asks, asks), (&mut self.bids, bids)] {
            for &(price, qty) in levels {
                if qty == 0 {
                    map.remove(&price);
                } else {
                    map.insert(price, qty);
                }
            }
        }
        while self.asks.len() > self.depth {
            self.asks.pop_last();
        }
        while self.bids.len() > self.depth {
            self.bids.pop_first();
        }
    }

    fn checksum(&self) -> u32 {
        let level = |(p, q): (&u64, &u64)| {
            strip(&Model::decimal(*p, self.price_digits))
                + &strip(&Model::decimal(*q, self.qty_digits))
        };
        let asks: String = self.asks.iter().take(10).map(level).collect();
        let bids: String = self.bids.iter().rev().take(10).map(level).collect();
        CRC32.checksum((asks + &bids).as_bytes())
    }

    /// A v2 frame carrying these levels and the model's checksum after them (or `checksum`).
    fn frame(&self, kind: &str, asks: &[(u64, u64)], bids: &[(u64, u64)], checksum: u32) -> String {
        let side = |levels: &[(u64, u64)]| -> String {
            let items: Vec<String> = levels
                .iter()
                .map(|&(p, q)| {
                    format!(
                        r#"{{"price":{},"qty":{}}}"#,
                        Model::decimal(p, self.price_digits),
                        Model::decimal(q, self.qty_digits)
                    )
                })
                .collect();
            format!("[{}]", items.join(","))
        };
        format!(
            r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"X/Y","bids":{},"asks":{},"checksum":{checksum}}}]}}"#,
            side(bids),
            side(asks)
        )
    }

    /// Apply the levels and return the frame a faithful venue would send for them.
    fn step(&mut self, kind: &str, asks: &[(u64, u64)], bids: &[(u64, u64)]) -> String {
        if kind == "snapshot" {
            self.asks.clear();
            self.bids.clear();
        }
        self.apply(asks, bids);
        self.frame(kind, asks, bids, self.checksum())
    }
}

fn feed(keeper: &mut KrakenBook, frame: &str) -> Outcome {
    keeper.on_book(&book_msg(frame.as_bytes()))
}

#[test]
fn wrong_checksum_and_bad_numbers_resync_and_a_snapshot_recovers() {
    let mut keeper = keeper(KrakenDepth::D10, 1, 8);
    let mut model = Model::new(10, 1, 8);
    let early = model.frame("update", &[(1000, 5)], &[], 0);
    assert_eq!(feed(&mut keeper, &early), Outcome::Ignored);
    assert_eq!(keeper.stats().ignored, 1);

    let snapshot = model.step(
        "snapshot",
        &[(1001, 100), (1002, 7)],
        &[(999, 300), (998, 1)],
    );
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    assert!(keeper.is_synced());
    let update = model.step("update", &[(1001, 0), (1003, 9)], &[(999, 250)]);
    assert_eq!(feed(&mut keeper, &update), Outcome::Applied);
    assert_eq!(keeper.book().best_ask().map(|l| l.price), Some(Fixed(1002)));

    // A message the venue sent after one we lost: its checksum covers a book we do not have.
    let mut lost = Model {
        asks: model.asks.clone(),
        bids: model.bids.clone(),
        ..Model::new(10, 1, 8)
    };
    lost.apply(&[(1002, 0)], &[]);
    lost.apply(&[(1004, 1)], &[]);
    let after_gap = lost.frame("update", &[(1004, 1)], &[], lost.checksum());
    model.apply(&[(1004, 1)], &[]);
    let Outcome::Resync(ResyncReason::Checksum { venue, ours }) = feed(&mut keeper, &after_gap)
    else {
        panic!("checksum mismatch not caught")
    };
    assert_eq!((venue, ours), (lost.checksum(), model.checksum()));
    assert!(!keeper.is_synced() && keeper.book().asks().is_empty());
    assert_eq!(
        (keeper.stats().checksum_failures, keeper.stats().resyncs),
        (1, 1)
    );
    assert_eq!(
        feed(&mut keeper, &lost.frame("update", &[], &[], 0)),
        Outcome::Ignored
    );

    let mut model = Model::new(10, 1, 8);
    let snapshot = model.step("snapshot", &[(2000, 1)], &[(1999, 1)]);
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    assert!(keeper.is_synced());
    assert_eq!(keeper.stats().snapshots, 2);

    // A quantity finer than the instrument's precision cannot be applied exactly.
    let inexact = r#"{"channel":"book","type":"update","data":[{"symbol":"X/Y","bids":[{"price":199.9,"qty":0.123456789}],"asks":[],"checksum":1}]}"#;
    assert_eq!(
        feed(&mut keeper, inexact),
        Outcome::Resync(ResyncReason::BadNumber)
    );
    let again = model.step("snapshot", &[(2000, 1)], &[]);
    assert_eq!(feed(&mut keeper, &again), Outcome::Applied);
    let text_price = r#"{"channel":"book","type":"update","data":[{"symbol":"X/Y","bids":[{"price":"abc","qty":1}],"asks":[],"checksum":1}]}"#;
    assert_eq!(
        feed(&mut keeper, text_price),
        Outcome::Resync(ResyncReason::BadNumber)
    );
    assert_eq!((keeper.stats().bad_numbers, keeper.stats().resyncs), (2, 3));
}

#[test]
fn truncation_happens_after_the_whole_message() {
    let mut keeper = keeper(KrakenDepth::D10, 1, 8);
    let mut model = Model::new(10, 1, 8);
    let asks: Vec<(u64, u64)> = (0..10).map(|i| (1000 + i, 1)).collect();
    let snapshot = model.step("snapshot", &asks, &[(900, 1)]);
    assert_eq!(feed(&mut keeper, &snapshot), Outcome::Applied);
    // A better ask pushes the 10th out of depth, then the best goes: the 10th is back in, and
    // the venue sends nothing for it.
    let update = model.step("update", &[(999, 1), (1000, 0)], &[]);
    assert_eq!(feed(&mut keeper, &update), Outcome::Applied);
    assert_eq!(
        keeper.book().asks().last().map(|l| l.price),
        Some(Fixed(1009))
    );
    assert_eq!(keeper.book().asks().len(), 10);
    // Inserting worse levels than the depth keeps: truncated away.
    let update = model.step("update", &[(1050, 1), (1051, 1)], &[]);
    assert_eq!(feed(&mut keeper, &update), Outcome::Applied);
    assert_eq!(keeper.book().asks().len(), 10);
}

#[test]
fn a_message_larger_than_the_working_room_is_caught() {
    let mut keeper = keeper(KrakenDepth::D10, 1, 8);
    let mut model = Model::new(10, 1, 8);
    let asks: Vec<(u64, u64)> = (0..10).map(|i| (1000 + i, 1)).collect();
    assert_eq!(
        feed(&mut keeper, &model.step("snapshot", &asks, &[])),
        Outcome::Applied
    );
    // 300 better asks push the real ones past the book's room; removing them all brings the
    // real ones back, which the keeper no longer has.
    let mut burst: Vec<(u64, u64)> = (1..=300).map(|p| (p, 1)).collect();
    burst.extend((1..=300).map(|p| (p, 0)));
    let frame = model.step("update", &burst, &[]);
    assert_eq!(
        feed(&mut keeper, &frame),
        Outcome::Resync(ResyncReason::BufferOverflow)
    );
    assert!(!keeper.is_synced());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// Random snapshots and updates from a faithful venue: every message applies, every
    /// checksum matches, and the book equals the model's to the depth.
    #[test]
    fn random_sessions_stay_in_step(
        snapshot in prop::collection::vec((1u64..40, 1u64..5, any::<bool>()), 0..30),
        updates in prop::collection::vec(
            prop::collection::vec((1u64..40, 0u64..4, any::<bool>()), 0..25), 1..25),
    ) {
        let mut keeper = keeper(KrakenDepth::D10, 2, 3);
        let mut model = Model::new(10, 2, 3);
        // Asks from 40 up, bids below 40: never crossed.
        let split = |levels: &[(u64, u64, bool)]| -> (UnitLevels, UnitLevels) {
            let asks = levels.iter().filter(|l| l.2).map(|&(p, q, _)| (40 + p, q)).collect();
            let bids = levels.iter().filter(|l| !l.2).map(|&(p, q, _)| (40 - p, q)).collect();
            (asks, bids)
        };
        let (asks, bids) = split(&snapshot);
        let frame = model.step("snapshot", &asks, &bids);
        prop_assert_eq!(feed(&mut keeper, &frame), Outcome::Applied);
        for update in &updates {
            let (asks, bids) = split(update);
            let frame = model.step("update", &asks, &bids);
            prop_assert_eq!(feed(&mut keeper, &frame), Outcome::Applied);
            let ours: Vec<(u64, u64)> = keeper.book().asks().iter().map(|l| (l.price.0, l.size.0)).collect();
            let venue: Vec<(u64, u64)> = model.asks.iter().map(|(p, q)| (*p, *q)).collect();
            prop_assert_eq!(ours, venue);
            let ours: Vec<(u64, u64)> = keeper.book().bids().iter().map(|l| (l.price.0, l.size.0)).collect();
            let venue: Vec<(u64, u64)> = model.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
            prop_assert_eq!(ours, venue);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Other messages and malformed input.

#[test]
fn heartbeats_status_pongs_and_errors_are_told_apart() {
    assert!(matches!(
        parse_kraken(br#"{"channel":"heartbeat"}"#),
        Ok(KrakenFrame::Heartbeat)
    ));
    let status = br#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":12393906104898154338,"system":"online","version":"2.0.0"}]}"#;
    assert!(matches!(
        parse_kraken(status),
        Ok(KrakenFrame::Status { system: b"online" })
    ));
    let pong = br#"{"method":"pong","req_id":101,"time_in":"2023-09-24T14:10:23.799685Z","time_out":"2023-09-24T14:10:23.799703Z"}"#;
    assert!(matches!(
        parse_kraken(pong),
        Ok(KrakenFrame::Pong { req_id: Some(101) })
    ));
    let failed = br#"{"error":"Currency pair not supported","method":"subscribe","req_id":7,"success":false,"symbol":"BTC/ABC","time_in":"x","time_out":"y"}"#;
    let Ok(KrakenFrame::Reply(r)) = parse_kraken(failed) else {
        panic!("not a reply")
    };
    assert_eq!(
        (r.success, r.error, r.req_id),
        (false, Some(&b"Currency pair not supported"[..]), Some(7))
    );
    // `data` before `channel`: read once the channel is known.
    let reordered = br#"{"data":[{"checksum":5,"symbol":"A/B","asks":[{"qty":1,"price":2}],"bids":[]}],"type":"update","channel":"book"}"#;
    let msg = book_msg(reordered);
    assert_eq!(
        (msg.kind, msg.checksum, msg.symbol),
        (KrakenBookKind::Update, 5, &b"A/B"[..])
    );
    assert_eq!(
        levels(&msg, BookSide::Ask),
        vec![("2".to_string(), "1".to_string())]
    );
    assert!(matches!(
        parse_kraken(br#"{"channel":"instrument","type":"snapshot","data":{"assets":[]}}"#),
        Ok(KrakenFrame::Other)
    ));
}

#[test]
fn malformed_frames_are_errors() {
    assert_eq!(
        parse_kraken(br#"{"x":1}"#).err(),
        Some(CexError::UnknownShape)
    );
    assert_eq!(
        parse_kraken(
            br#"{"channel":"book","type":"update","data":[{"symbol":"A","bids":[],"asks":[]}]}"#
        )
        .err(),
        Some(CexError::MissingField("checksum"))
    );
    assert_eq!(
        parse_kraken(br#"{"channel":"book","type":"snapshot","data":[]}"#).err(),
        Some(CexError::MissingField("data"))
    );
    let two = br#"{"channel":"book","type":"update","data":[{"symbol":"A","checksum":1},{"symbol":"B","checksum":2}]}"#;
    assert_eq!(parse_kraken(two).err(), Some(CexError::UnknownShape));
    let bad: [&[u8]; 9] = [
        b"",
        b"{",
        b"[1,2]",
        br#"{"channel":}"#,
        br#"{"channel":"book","type":"update","data":[{"symbol":"A","checksum":4294967296}]}"#,
        br#"{"channel":"book","type":"update","data":[{"symbol":"A","checksum":-1}]}"#,
        br#"{"channel":"book","type":"update","data":[{"symbol":"A","bids":{"price":1},"checksum":1}]}"#,
        br#"{"channel":"heartbeat"} x"#,
        br#"{"method":"subscribe","success":"yes"}"#,
    ];
    for frame in bad {
        assert!(
            parse_kraken(frame).is_err(),
            "{:?}",
            String::from_utf8_lossy(frame)
        );
    }
    // Level arrays are read lazily: a bad level is an error when read, never a panic.
    let msg = book_msg(br#"{"channel":"book","type":"update","data":[{"symbol":"A","bids":[{"price":1}],"checksum":1}]}"#);
    assert_eq!(
        msg.bids.for_each(|_, _| Ok(())).err(),
        Some(CexError::MissingField("qty"))
    );
    let deep = format!(
        r#"{{"channel":"x","data":{}{}}}"#,
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(parse_kraken(deep.as_bytes()).err(), Some(CexError::TooDeep));
}

fn fixture_frames() -> Vec<String> {
    let names = [
        "ws_book_snapshot.json",
        "ws_book_update.json",
        "ws_trade_update.json",
        "ws_ticker_snapshot.json",
        "ws_subscribe_response.json",
        "ws_ohlc_update.json",
    ];
    names
        .iter()
        .filter_map(|n| read(&format!("cex-ws/nautilus/kraken/{n}"), "kraken truncations"))
        .collect()
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..512)) {
        if let Ok(KrakenFrame::Book(msg)) = parse_kraken(&bytes) {
            let _ = msg.bids.for_each(|_, _| Ok(()));
            let mut keeper = keeper(KrakenDepth::D10, 2, 8);
            let _ = keeper.on_book(&msg);
        }
        if let Ok(KrakenFrame::Trades(trades)) = parse_kraken(&bytes) {
            let _ = trades.for_each(|_| Ok(()));
        }
    }

    #[test]
    fn truncated_fixtures_are_errors(cut in 0usize..2000) {
        for frame in fixture_frames() {
            let end = frame.trim_end().len();
            let cut = cut % end;
            prop_assert!(parse_kraken(&frame.as_bytes()[..cut]).is_err(), "{}", &frame[..cut]);
        }
    }

    #[test]
    fn mutated_fixtures_never_panic(at in 0usize..2000, byte in any::<u8>()) {
        for frame in fixture_frames() {
            let mut bytes = frame.into_bytes();
            let at = at % bytes.len();
            bytes[at] = byte;
            if let Ok(KrakenFrame::Book(msg)) = parse_kraken(&bytes) {
                let mut keeper = keeper(KrakenDepth::D10, 2, 8);
                let _ = keeper.on_book(&msg);
            }
        }
    }
}
