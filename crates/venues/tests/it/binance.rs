//! Binance: frames decoded from the venue's documented examples and a real recorded session,
//! and the local-book procedure kept in step with that session's REST snapshots.

use std::collections::{BTreeMap, HashMap};

use kestrel_types::cex::{Fixed, Scale};
use kestrel_venues::book::Book;
use kestrel_venues::sync::binance::BinanceBook;
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::{BinanceMsg, CexError, parse_binance};
use proptest::prelude::*;

fn scale8() -> Scale {
    Scale::new(8).expect("scale")
}

fn keeper() -> BinanceBook {
    BinanceBook::new(Book::new(1000, scale8(), scale8()), 64)
}

fn read(relative: &str, test: &str) -> Option<String> {
    let path = kestrel_stdx::testdata::data_file(test, relative)?;
    Some(std::fs::read_to_string(path).expect("read recorded data"))
}

#[test]
fn documented_examples_decode_to_their_fields() {
    let Some(depth) = read(
        "cex-ws/nautilus/binance/depth_update_stream.json",
        "binance documented examples",
    ) else {
        return;
    };
    let frame = parse_binance(depth.as_bytes()).expect("depth decodes");
    let BinanceMsg::Depth(d) = frame.msg else {
        panic!("not a depth update: {:?}", frame.msg)
    };
    assert_eq!(
        (d.symbol, d.first_id, d.last_id),
        (&b"BTCUSDT"[..], 157, 160)
    );
    let mut bids = Vec::new();
    d.bids
        .for_each(|p, q| {
            bids.push((p.to_vec(), q.to_vec()));
            Ok(())
        })
        .expect("levels");
    assert_eq!(bids, vec![(b"0.0024".to_vec(), b"10".to_vec())]);

    let ticker = read(
        "cex-ws/nautilus/binance/book_ticker_stream.json",
        "binance ticker",
    )
    .expect("fixture folder present");
    let BinanceMsg::Ticker(t) = parse_binance(ticker.as_bytes()).expect("ticker").msg else {
        panic!("not a ticker")
    };
    assert_eq!(t.update_id, 400_900_217);
    assert_eq!(
        (t.bid_price, t.ask_size),
        (&b"25.35190000"[..], &b"40.66000000"[..])
    );

    let trade = read(
        "cex-ws/nautilus/binance/agg_trade_stream.json",
        "binance trade",
    )
    .expect("fixture folder present");
    let BinanceMsg::Trade(t) = parse_binance(trade.as_bytes()).expect("trade").msg else {
        panic!("not a trade")
    };
    assert_eq!(
        (t.price, t.size, t.buyer_is_maker),
        (&b"0.001"[..], &b"100"[..], true)
    );
    assert_eq!(t.trade_ms, 123_456_785);
}

#[test]
fn replies_shutdown_and_unknown_events_are_told_apart() {
    let ok = parse_binance(br#"{"result":null,"id":7}"#).expect("reply");
    assert!(matches!(
        ok.msg,
        BinanceMsg::Reply {
            id: 7,
            error_code: None
        }
    ));
    let err = parse_binance(br#"{"error":{"code":-1121,"msg":"Invalid symbol."},"id":2}"#)
        .expect("error reply");
    assert!(matches!(
        err.msg,
        BinanceMsg::Reply {
            id: 2,
            error_code: Some(-1121)
        }
    ));
    let shutdown = parse_binance(br#"{"e":"serverShutdown","E":1}"#).expect("shutdown");
    assert!(matches!(shutdown.msg, BinanceMsg::Shutdown));
    let kline = parse_binance(br#"{"stream":"x@kline_1m","data":{"e":"kline","k":{"t":1}}}"#)
        .expect("kline");
    assert!(matches!(kline.msg, BinanceMsg::Other));
    assert_eq!(kline.stream, Some(&b"x@kline_1m"[..]));
    assert_eq!(
        parse_binance(br#"{"x":1}"#).err(),
        Some(CexError::UnknownShape)
    );
    assert_eq!(
        parse_binance(br#"{"e":"depthUpdate","s":"A","U":1,"b":[],"a":[]}"#).err(),
        Some(CexError::MissingField("u"))
    );
    for bad in [
        &b""[..],
        b"{",
        b"{\"e\":}",
        b"[1,2]",
        b"{\"e\":\"trade\"} x",
        b"{\"U\":-1}",
    ] {
        assert!(
            parse_binance(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let deep = format!("{{\"x\":{}{}}}", "[".repeat(100), "]".repeat(100));
    assert_eq!(
        parse_binance(deep.as_bytes()).err(),
        Some(CexError::TooDeep)
    );
}

/// One event of the recorded session, in arrival order.
enum Recorded {
    Frame(String),
    Snapshot { symbol: String, body: String },
}

fn recorded_session(test: &str) -> Option<Vec<(f64, Recorded)>> {
    let ws = read("cex-ws/cryptofeed/BINANCE.ws.1.0", test)?;
    let http = read("cex-ws/cryptofeed/BINANCE.http.0.0", test)?;
    let mut events: Vec<(f64, Recorded)> = Vec::new();
    for line in ws.lines().skip(1).filter(|l| !l.is_empty()) {
        let (ts, json) = line.split_once(": ").expect("`ts: json` line");
        events.push((ts.parse().expect("ts"), Recorded::Frame(json.to_string())));
    }
    for line in http.lines().filter(|l| !l.is_empty()) {
        let (head, json) = line.split_once(": ").expect("`url -> ts: json` line");
        let (url, ts) = head.split_once(" -> ").expect("url -> ts");
        let symbol: Option<&str> = url
            .split("symbol=")
            .nth(1)
            .expect("symbol")
            .split('&')
            .next();
        events.push((
            ts.parse().expect("ts"),
            Recorded::Snapshot {
                symbol: symbol.expect("symbol").to_string(),
                body: json.to_string(),
            },
        ));
    }
    events.sort_by(|a, b| a.0.total_cmp(&b.0));
    Some(events)
}

/// An independent reference book, built with `serde_json` and `BTreeMap`s from the same frames.
#[derive(Default)]
struct Reference {
    bids: BTreeMap<u64, u64>,
    asks: BTreeMap<u64, u64>,
}

impl Reference {
    fn apply(&mut self, levels: &serde_json::Value, bid: bool) {
        for level in levels.as_array().expect("levels") {
            let px = units(&level[0]);
            let qty = units(&level[1]);
            let side = if bid { &mut self.bids } else { &mut self.asks };
            if qty == 0 {
                side.remove(&px);
            } else {
                side.insert(px, qty);
            }
        }
    }
}

/// "0.35130000" → 35130000, by string surgery rather than `Fixed::parse`.
fn units(v: &serde_json::Value) -> u64 {
    let s = v.as_str().expect("decimal string");
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    format!("{whole}{frac:0<8}").parse().expect("digits")
}

#[test]
fn the_recorded_session_stays_in_step_with_its_snapshots() {
    let Some(events) = recorded_session("binance recorded session") else {
        return;
    };
    let mut keepers: HashMap<String, BinanceBook> = HashMap::new();
    let mut references: HashMap<String, (Reference, u64)> = HashMap::new();
    let mut tickers: HashMap<u64, (u64, u64)> = HashMap::new();
    let mut checks = Vec::new();
    for (_, event) in &events {
        match event {
            Recorded::Frame(json) => {
                let frame = parse_binance(json.as_bytes()).expect("every recorded frame decodes");
                match frame.msg {
                    BinanceMsg::Depth(d) => {
                        let symbol = String::from_utf8(d.symbol.to_vec()).expect("utf8");
                        let keeper = keepers.entry(symbol.clone()).or_insert_with(keeper);
                        let outcome = keeper.on_depth(json.as_bytes(), &d);
                        assert!(
                            !matches!(outcome, Outcome::Resync(_)),
                            "{symbol}: {outcome:?}"
                        );
                        if outcome == Outcome::Applied {
                            checks.push((symbol, d.last_id));
                        }
                        if let Some((reference, last)) =
                            references.get_mut(&String::from_utf8(d.symbol.to_vec()).expect("utf8"))
                            && d.last_id > *last
                        {
                            let v: serde_json::Value = serde_json::from_str(json).expect("json");
                            reference.apply(&v["data"]["b"], true);
                            reference.apply(&v["data"]["a"], false);
                            *last = d.last_id;
                        }
                    }
                    BinanceMsg::Ticker(t) => {
                        let px = |s: &[u8]| Fixed::parse(s, scale8()).expect("px").0;
                        tickers.insert(t.update_id, (px(t.bid_price), px(t.ask_price)));
                    }
                    _ => {}
                }
            }
            Recorded::Snapshot { symbol, body } => {
                let BinanceMsg::Snapshot(s) = parse_binance(body.as_bytes())
                    .expect("snapshot decodes")
                    .msg
                else {
                    panic!("not a snapshot")
                };
                let keeper = keepers.entry(symbol.clone()).or_insert_with(keeper);
                assert_eq!(keeper.on_snapshot(&s), Outcome::Applied, "{symbol}");
                assert!(!keeper.book().bids().is_empty() && !keeper.book().asks().is_empty());
                // The reference starts from the same snapshot and replays the same buffered diffs.
                let v: serde_json::Value = serde_json::from_str(body).expect("json");
                let mut reference = Reference::default();
                reference.apply(&v["bids"], true);
                reference.apply(&v["asks"], false);
                let last = v["lastUpdateId"].as_u64().expect("id");
                references.insert(symbol.clone(), (reference, last));
            }
        }
    }
    let expected_applied = [
        ("NKNUSDT", 149),
        ("BLZETH", 9),
        ("LRCBTC", 13),
        ("RUNEEUR", 1),
    ];
    for (symbol, applied) in expected_applied {
        let keeper = &keepers[symbol];
        let stats = keeper.stats();
        assert!(keeper.is_synced(), "{symbol}");
        assert_eq!(stats.gaps, 0, "{symbol}");
        assert_eq!(stats.snapshots, 1, "{symbol}");
        // Applied counts diffs applied after the snapshot, buffered ones included.
        let buffered_applied = stats.applied;
        assert_eq!(buffered_applied, applied, "{symbol}: applied diffs");
        assert!(!keeper.book().is_crossed(), "{symbol}");
    }
    // The synced books equal the independent reference built from the same frames, except for
    // levels past the 1000 kept (the snapshot had exactly 1000, so a diff may add deeper ones).
    for (symbol, keeper) in &keepers {
        let (reference, last) = &references[symbol];
        assert_eq!(keeper.last_update_id(), Some(*last), "{symbol}");
        let ours: Vec<(u64, u64)> = keeper
            .book()
            .bids()
            .iter()
            .map(|l| (l.price.0, l.size.0))
            .collect();
        let theirs: Vec<(u64, u64)> = reference
            .bids
            .iter()
            .rev()
            .map(|(p, q)| (*p, *q))
            .take(ours.len())
            .collect();
        assert_eq!(ours, theirs, "{symbol} bids");
        let ours: Vec<(u64, u64)> = keeper
            .book()
            .asks()
            .iter()
            .map(|l| (l.price.0, l.size.0))
            .collect();
        let theirs: Vec<(u64, u64)> = reference
            .asks
            .iter()
            .map(|(p, q)| (*p, *q))
            .take(ours.len())
            .collect();
        assert_eq!(ours, theirs, "{symbol} asks");
    }
    // Where the venue's own bookTicker names the same update id as a diff we applied, its best
    // bid and ask must be ours at that moment. Re-run to check at each applied id.
    let mut agreed = 0;
    let mut keepers2: HashMap<String, BinanceBook> = HashMap::new();
    for (_, event) in &events {
        match event {
            Recorded::Frame(json) => {
                if let Ok(frame) = parse_binance(json.as_bytes())
                    && let BinanceMsg::Depth(d) = frame.msg
                {
                    let symbol = String::from_utf8(d.symbol.to_vec()).expect("utf8");
                    let keeper = keepers2.entry(symbol).or_insert_with(keeper);
                    if keeper.on_depth(json.as_bytes(), &d) == Outcome::Applied
                        && let Some(&(bid, ask)) = tickers.get(&d.last_id)
                    {
                        let book = keeper.book();
                        assert_eq!(book.best_bid().map(|l| l.price.0), Some(bid));
                        assert_eq!(book.best_ask().map(|l| l.price.0), Some(ask));
                        agreed += 1;
                    }
                }
            }
            Recorded::Snapshot { symbol, body } => {
                if let Ok(frame) = parse_binance(body.as_bytes())
                    && let BinanceMsg::Snapshot(s) = frame.msg
                {
                    keepers2
                        .entry(symbol.clone())
                        .or_insert_with(keeper)
                        .on_snapshot(&s);
                }
            }
        }
    }
    assert!(!checks.is_empty());
    assert!(
        agreed > 0,
        "no bookTicker shared an update id with an applied diff"
    );
}

fn diff(first: u64, last: u64, bid: &str) -> String {
    format!(
        r#"{{"e":"depthUpdate","E":1,"s":"ABC","U":{first},"u":{last},"b":[["{bid}","1.5"]],"a":[["2.0","3"]]}}"#
    )
}

fn feed(keeper: &mut BinanceBook, json: &str) -> Outcome {
    let BinanceMsg::Depth(d) = parse_binance(json.as_bytes()).expect("diff").msg else {
        panic!("not a diff")
    };
    keeper.on_depth(json.as_bytes(), &d)
}

fn snapshot(keeper: &mut BinanceBook, last: u64) -> Outcome {
    let body = format!(r#"{{"lastUpdateId":{last},"bids":[["1.0","1"]],"asks":[["2.5","1"]]}}"#);
    let BinanceMsg::Snapshot(s) = parse_binance(body.as_bytes()).expect("snapshot").msg else {
        panic!("not a snapshot")
    };
    keeper.on_snapshot(&s)
}

#[test]
fn a_gap_clears_the_book_and_the_next_snapshot_resyncs_it() {
    let mut keeper = keeper();
    assert_eq!(feed(&mut keeper, &diff(8, 10, "1.1")), Outcome::Buffered);
    assert_eq!(feed(&mut keeper, &diff(11, 12, "1.2")), Outcome::Buffered);
    assert!(!keeper.is_synced());
    // Snapshot at 9: the first buffered diff (8..=10) straddles it, the second follows.
    assert_eq!(snapshot(&mut keeper, 9), Outcome::Applied);
    assert_eq!(keeper.last_update_id(), Some(12));
    assert_eq!(
        keeper.book().best_bid().map(|l| l.price),
        Some(Fixed(120_000_000))
    );
    assert_eq!(feed(&mut keeper, &diff(11, 12, "1.3")), Outcome::Ignored);
    assert_eq!(feed(&mut keeper, &diff(13, 13, "1.3")), Outcome::Applied);
    // 14 is missing.
    assert_eq!(
        feed(&mut keeper, &diff(15, 16, "1.4")),
        Outcome::Resync(ResyncReason::Gap {
            expected: 14,
            got: 15
        })
    );
    assert!(!keeper.is_synced());
    assert!(keeper.book().bids().is_empty() && keeper.book().asks().is_empty());
    assert_eq!(keeper.stats().gaps, 1);
    assert_eq!(feed(&mut keeper, &diff(17, 18, "1.5")), Outcome::Buffered);
    assert_eq!(snapshot(&mut keeper, 17), Outcome::Applied);
    assert_eq!(keeper.last_update_id(), Some(18));
    assert_eq!(keeper.stats().snapshots, 2);
}

#[test]
fn a_snapshot_older_than_the_buffer_is_refused_and_the_buffer_kept() {
    let mut keeper = keeper();
    assert_eq!(feed(&mut keeper, &diff(20, 21, "1.1")), Outcome::Buffered);
    assert_eq!(
        snapshot(&mut keeper, 10),
        Outcome::Resync(ResyncReason::SnapshotTooOld)
    );
    assert!(!keeper.is_synced() && keeper.book().bids().is_empty());
    assert_eq!(snapshot(&mut keeper, 20), Outcome::Applied);
    assert_eq!(keeper.last_update_id(), Some(21));
}

#[test]
fn an_inexact_price_resyncs_instead_of_rounding() {
    let mut keeper = keeper();
    assert_eq!(snapshot(&mut keeper, 1), Outcome::Applied);
    assert_eq!(
        feed(&mut keeper, &diff(2, 2, "1.000000001")),
        Outcome::Resync(ResyncReason::BadNumber)
    );
    assert_eq!(keeper.stats().bad_numbers, 1);
    assert!(!keeper.is_synced());
}

#[test]
fn the_buffer_keeps_only_the_newest_diffs() {
    let mut keeper = BinanceBook::new(Book::new(10, scale8(), scale8()), 2);
    for id in 1..=5 {
        assert_eq!(feed(&mut keeper, &diff(id, id, "1.1")), Outcome::Buffered);
    }
    // Only 4 and 5 were kept: a snapshot at 3 bridges to them.
    assert_eq!(snapshot(&mut keeper, 3), Outcome::Applied);
    assert_eq!(keeper.last_update_id(), Some(5));
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = parse_binance(&bytes);
    }

    #[test]
    fn truncated_frames_are_errors(cut in 0usize..150) {
        let frame = diff(1, 2, "0.35130000");
        let cut = cut.min(frame.len() - 1);
        prop_assert!(parse_binance(&frame.as_bytes()[..cut]).is_err());
    }

    #[test]
    fn every_frame_walks_its_levels_without_panicking(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut keeper = keeper();
        let _ = snapshot(&mut keeper, 0);
        let mut frame = br#"{"e":"depthUpdate","s":"A","U":1,"u":1,"b":"#.to_vec();
        frame.extend_from_slice(&bytes);
        frame.extend_from_slice(b",\"a\":[]}");
        if let Ok(decoded) = parse_binance(&frame) && let BinanceMsg::Depth(d) = decoded.msg {
            let _ = keeper.on_depth(&frame, &d);
        }
    }
}
