//! Coinbase Advanced Trade: frames decoded from nautilus's fixtures (documentation examples),
//! the connection-wide `sequence_num` rule and the per-product books on hand-built frames, and
//! a long replay of real Coinbase traffic converted into Advanced Trade frames.
//!
//! No Advanced Trade recording exists in the data folder. `cryptofeed/COINBASE.ws.28.0` is real
//! traffic of the older Coinbase Exchange feed (`level2` snapshots and `l2update`s, `ticker`,
//! `match`): the same books, in a different envelope. Converting each of its messages into the
//! Advanced Trade shape (one `sequence_num` across all channels, as Advanced Trade numbers a
//! connection) gives a realistic multi-product, multi-channel stream whose own tickers say what
//! the best bid and ask must be.

use std::collections::{BTreeMap, HashMap};
use std::sync::OnceLock;

use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::{Book, Level};
use kestrel_venues::sync::coinbase::{CoinbaseBook, CoinbaseSequence};
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::coinbase::{
    CoinbaseFrame, CoinbaseKind, CoinbaseL2Event, CoinbaseMsg, CoinbaseTradeSide, parse_coinbase,
};
use proptest::prelude::*;
use serde_json::{Value, json};

const NAUTILUS: &str = "cex-ws/nautilus/coinbase";
const EXCHANGE_FEED: &str = "cex-ws/cryptofeed/COINBASE.ws.28.0";

fn scale(digits: u8) -> Scale {
    Scale::new(digits).expect("scale")
}

fn read(relative: &str, test: &str) -> Option<String> {
    let path = kestrel_stdx::testdata::data_file(test, relative)?;
    Some(std::fs::read_to_string(path).expect("read recorded data"))
}

fn text(b: &[u8]) -> String {
    String::from_utf8(b.to_vec()).expect("utf8")
}

/// Every `l2_data` event of a frame, in order.
fn l2_events<'a>(frame: &CoinbaseFrame<'a>) -> Vec<CoinbaseL2Event<'a>> {
    let CoinbaseMsg::L2(l2) = frame.msg else {
        panic!("not l2_data: {:?}", frame.msg)
    };
    let mut events = Vec::new();
    l2.for_each(|e| {
        events.push(e);
        Ok(())
    })
    .expect("events");
    events
}

/// `(side, price, quantity)` of an event's levels.
fn levels(event: &CoinbaseL2Event<'_>) -> Vec<(BookSide, String, String)> {
    let mut out = Vec::new();
    event
        .updates
        .for_each(|l| {
            out.push((l.side, text(l.price), text(l.quantity)));
            Ok(())
        })
        .expect("levels");
    out
}

fn side_text(levels: &[Level], px: Scale, sz: Scale) -> Vec<(String, String)> {
    levels
        .iter()
        .map(|l| (l.price.to_text(px), l.size.to_text(sz)))
        .collect()
}

fn pairs(list: &[(&str, &str)]) -> Vec<(String, String)> {
    list.iter()
        .map(|(p, q)| (p.to_string(), q.to_string()))
        .collect()
}

#[test]
fn documented_l2_examples_decode_and_apply_in_sequence() {
    let test = "coinbase documented l2";
    let Some(snapshot) = read(&format!("{NAUTILUS}/ws_l2_data_snapshot.json"), test) else {
        return;
    };
    let update = read(&format!("{NAUTILUS}/ws_l2_data_update.json"), test).expect("fixture");

    let s = parse_coinbase(snapshot.as_bytes()).expect("snapshot decodes");
    assert_eq!((s.channel, s.sequence_num), (&b"l2_data"[..], Some(0)));
    assert_eq!(s.timestamp, Some(&b"2026-04-07T14:30:00.123456Z"[..]));
    let events = l2_events(&s);
    assert_eq!(events.len(), 1);
    assert_eq!(
        (events[0].kind, events[0].product_id),
        (CoinbaseKind::Snapshot, &b"BTC-USD"[..])
    );
    let (bid, ask) = (BookSide::Bid, BookSide::Ask);
    let level = |side, p: &str, q: &str| (side, p.to_string(), q.to_string());
    assert_eq!(
        levels(&events[0]),
        vec![
            level(bid, "68900.00", "1.50000000"),
            level(bid, "68899.50", "0.75000000"),
            level(bid, "68899.00", "2.30000000"),
            level(ask, "68901.00", "0.50000000"),
            level(ask, "68901.50", "1.20000000"),
            level(ask, "68902.00", "0.80000000"),
        ]
    );
    let mut times = Vec::new();
    events[0]
        .updates
        .for_each(|l| {
            times.push(text(l.event_time));
            Ok(())
        })
        .expect("levels");
    assert!(times.iter().all(|t| t == "2026-04-07T14:30:00.123456Z"));

    let u = parse_coinbase(update.as_bytes()).expect("update decodes");
    assert_eq!(u.sequence_num, Some(1));
    let update_events = l2_events(&u);
    assert_eq!(
        (update_events[0].kind, update_events[0].product_id),
        (CoinbaseKind::Update, &b"BTC-USD"[..])
    );
    assert_eq!(
        levels(&update_events[0]),
        vec![
            level(bid, "68900.00", "2.00000000"),
            level(ask, "68901.00", "0.00000000")
        ]
    );

    let (px, sz) = (scale(2), scale(8));
    let mut sequence = CoinbaseSequence::new();
    let mut keeper = CoinbaseBook::new(Book::new(64, px, sz));
    assert_eq!(sequence.check(0), Ok(()));
    assert_eq!(keeper.on_event(&events[0]), Outcome::Applied);
    assert_eq!(sequence.check(1), Ok(()));
    assert_eq!(keeper.on_event(&update_events[0]), Outcome::Applied);
    let book = keeper.book();
    assert_eq!(
        side_text(book.bids(), px, sz),
        pairs(&[
            ("68900.00", "2.00000000"),
            ("68899.50", "0.75000000"),
            ("68899.00", "2.30000000")
        ])
    );
    // "0.00000000" removed the best offer.
    assert_eq!(
        side_text(book.asks(), px, sz),
        pairs(&[("68901.50", "1.20000000"), ("68902.00", "0.80000000")])
    );
    let stats = keeper.stats();
    assert_eq!((stats.snapshots, stats.applied, stats.resyncs), (1, 1, 0));
}

#[test]
fn documented_ticker_trades_heartbeat_and_subscription_examples_decode() {
    let test = "coinbase documented examples";
    let Some(ticker) = read(&format!("{NAUTILUS}/ws_ticker.json"), test) else {
        return;
    };
    let frame = parse_coinbase(ticker.as_bytes()).expect("ticker");
    assert_eq!(
        (frame.channel, frame.sequence_num),
        (&b"ticker"[..], Some(12))
    );
    let CoinbaseMsg::Ticker(tickers) = frame.msg else {
        panic!("not a ticker")
    };
    let mut seen = Vec::new();
    tickers
        .for_each(|t| {
            seen.push(t);
            Ok(())
        })
        .expect("tickers");
    assert_eq!(seen.len(), 1);
    let t = seen[0];
    assert_eq!((t.product_id, t.price), (&b"BTC-USD"[..], &b"68900.50"[..]));
    assert_eq!(
        (t.best_bid, t.best_bid_quantity),
        (Some(&b"68900.00"[..]), Some(&b"1.50000000"[..]))
    );
    assert_eq!(
        (t.best_ask, t.best_ask_quantity),
        (Some(&b"68901.00"[..]), Some(&b"0.50000000"[..]))
    );

    let trades = read(&format!("{NAUTILUS}/ws_market_trades.json"), test).expect("fixture");
    let frame = parse_coinbase(trades.as_bytes()).expect("trades");
    assert_eq!(frame.sequence_num, Some(5));
    let CoinbaseMsg::Trades(trades) = frame.msg else {
        panic!("not trades")
    };
    let mut seen = Vec::new();
    trades
        .for_each(|t| {
            seen.push((
                text(t.trade_id),
                text(t.product_id),
                text(t.price),
                text(t.size),
                t.side,
                text(t.time),
            ));
            Ok(())
        })
        .expect("trades");
    let row = |id: &str, px: &str, sz: &str, side, time: &str| {
        (
            id.to_string(),
            "BTC-USD".to_string(),
            px.to_string(),
            sz.to_string(),
            side,
            time.to_string(),
        )
    };
    assert_eq!(
        seen,
        vec![
            row(
                "995098700",
                "68900.50",
                "0.00150000",
                CoinbaseTradeSide::Buy,
                "2026-04-07T14:30:02.789012Z"
            ),
            row(
                "995098701",
                "68900.00",
                "0.05000000",
                CoinbaseTradeSide::Sell,
                "2026-04-07T14:30:02.800000Z"
            ),
        ]
    );

    let heartbeats = read(&format!("{NAUTILUS}/ws_heartbeats.json"), test).expect("fixture");
    let frame = parse_coinbase(heartbeats.as_bytes()).expect("heartbeats");
    let CoinbaseMsg::Heartbeat {
        counter,
        current_time,
    } = frame.msg
    else {
        panic!("not a heartbeat")
    };
    assert_eq!(
        (counter, current_time),
        (42, &b"2026-04-07 14:30:10.000000000+00:00"[..])
    );
    assert_eq!(frame.sequence_num, Some(0));

    let subscriptions = read(&format!("{NAUTILUS}/ws_subscriptions.json"), test).expect("fixture");
    let frame = parse_coinbase(subscriptions.as_bytes()).expect("subscriptions");
    assert!(matches!(frame.msg, CoinbaseMsg::Subscriptions));
    assert_eq!(
        (frame.channel, frame.sequence_num),
        (&b"subscriptions"[..], Some(0))
    );

    let candles = read(&format!("{NAUTILUS}/ws_candles.json"), test).expect("fixture");
    let frame = parse_coinbase(candles.as_bytes()).expect("candles");
    assert!(matches!(frame.msg, CoinbaseMsg::Other));
    assert_eq!(
        (frame.channel, frame.sequence_num),
        (&b"candles"[..], Some(3))
    );
}

#[test]
fn errors_and_malformed_frames_are_told_apart() {
    let error =
        parse_coinbase(br#"{"type":"error","message":"failure to subscribe"}"#).expect("error");
    assert!(matches!(
        error.msg,
        CoinbaseMsg::Error {
            message: b"failure to subscribe"
        }
    ));
    assert_eq!((error.channel, error.sequence_num), (&b""[..], None));
    // Subscribed as `level2`; both that and the delivered `l2_data` name read as book data.
    let level2 = r#"{"channel":"level2","sequence_num":3,"events":[]}"#;
    assert!(matches!(
        parse_coinbase(level2.as_bytes()).expect("level2").msg,
        CoinbaseMsg::L2(_)
    ));
    // ticker_batch leaves out the best bid and ask quantities.
    let batch = r#"{"channel":"ticker_batch","sequence_num":1,"events":[{"type":"update","tickers":[{"product_id":"A","price":"1.5","best_bid":"1.4","best_ask":"1.6"}]}]}"#;
    let CoinbaseMsg::Ticker(t) = parse_coinbase(batch.as_bytes()).expect("batch").msg else {
        panic!("not a ticker")
    };
    let mut quantities = Vec::new();
    t.for_each(|t| {
        quantities.push((t.best_bid_quantity, t.best_ask_quantity));
        Ok(())
    })
    .expect("tickers");
    assert_eq!(quantities, vec![(None, None)]);

    assert_eq!(
        parse_coinbase(br#"{"x":1}"#).err(),
        Some(CexError::UnknownShape)
    );
    assert_eq!(
        parse_coinbase(br#"{"channel":"l2_data","events":[]}"#).err(),
        Some(CexError::MissingField("sequence_num"))
    );
    assert_eq!(
        parse_coinbase(br#"{"channel":"l2_data","sequence_num":1}"#).err(),
        Some(CexError::MissingField("events"))
    );
    assert_eq!(
        parse_coinbase(
            br#"{"channel":"heartbeats","sequence_num":1,"events":[{"current_time":"t"}]}"#
        )
        .err(),
        Some(CexError::MissingField("heartbeat_counter"))
    );
    for bad in [
        &b""[..],
        b"{",
        b"[]",
        b"{\"channel\":\"l2_data\",\"sequence_num\":1,\"events\":{}}",
        b"{\"channel\":\"l2_data\",\"sequence_num\":-1,\"events\":[]}",
        b"{\"channel\":\"l2_data\",\"sequence_num\":\"x\",\"events\":[]}",
        b"{\"channel\":7,\"sequence_num\":1,\"events\":[]}",
        b"{\"channel\":\"l2_data\",\"sequence_num\":1,\"events\":[]} {}",
    ] {
        assert!(
            parse_coinbase(bad).is_err(),
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
    let deep = format!(
        "{{\"channel\":\"l2_data\",\"sequence_num\":1,\"events\":{}{}}}",
        "[".repeat(100),
        "]".repeat(100)
    );
    assert_eq!(
        parse_coinbase(deep.as_bytes()).err(),
        Some(CexError::TooDeep)
    );

    // Shape errors inside events surface when the events are walked.
    let walk = |json: &str| {
        let frame = parse_coinbase(json.as_bytes()).expect("envelope decodes");
        let CoinbaseMsg::L2(l2) = frame.msg else {
            panic!("not l2")
        };
        l2.for_each(|e| e.updates.for_each(|_| Ok(())))
    };
    let ask_side = l2(1, "update", "A", &[("ask", "1", "1")]);
    assert_eq!(
        walk(&ask_side).err(),
        Some(CexError::UnknownShape),
        "the side is `offer`"
    );
    let no_product =
        r#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","updates":[]}]}"#;
    assert_eq!(
        walk(no_product).err(),
        Some(CexError::MissingField("product_id"))
    );
    let bad_kind = r#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"delta","product_id":"A","updates":[]}]}"#;
    assert_eq!(walk(bad_kind).err(), Some(CexError::UnknownShape));
    let no_quantity = r#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","product_id":"A","updates":[{"side":"bid","price_level":"1"}]}]}"#;
    assert_eq!(
        walk(no_quantity).err(),
        Some(CexError::MissingField("new_quantity"))
    );
}

/// A hand-built `l2_data` frame with one event.
fn l2(seq: u64, kind: &str, product: &str, updates: &[(&str, &str, &str)]) -> String {
    let updates: Vec<Value> = updates
        .iter()
        .map(|(side, px, qty)| {
            json!({"side": side, "event_time": "2026-04-07T14:30:00Z", "price_level": px, "new_quantity": qty})
        })
        .collect();
    json!({
        "channel": "l2_data", "client_id": "", "timestamp": "2026-04-07T14:30:00Z",
        "sequence_num": seq,
        "events": [{"type": kind, "product_id": product, "updates": updates}],
    })
    .to_string()
}

fn heartbeat(seq: u64) -> String {
    format!(
        r#"{{"channel":"heartbeats","timestamp":"t","sequence_num":{seq},"events":[{{"current_time":"t","heartbeat_counter":{seq}}}]}}"#
    )
}

/// One connection: its sequence check and its books by product, as a feed loop would hold them.
struct Connection {
    sequence: CoinbaseSequence,
    books: BTreeMap<String, CoinbaseBook>,
}

impl Connection {
    fn new(products: &[&str]) -> Connection {
        let books = products
            .iter()
            .map(|p| {
                (
                    p.to_string(),
                    CoinbaseBook::new(Book::new(64, scale(2), scale(8))),
                )
            })
            .collect();
        Connection {
            sequence: CoinbaseSequence::new(),
            books,
        }
    }

    /// Check the frame's number (resyncing every book on a gap), then route its book events.
    /// Returns the gap's outcomes and the events' outcomes.
    fn feed(&mut self, json: &str) -> (Vec<Outcome>, Vec<Outcome>) {
        let frame = parse_coinbase(json.as_bytes()).expect("frame");
        let mut on_gap = Vec::new();
        if let Some(n) = frame.sequence_num
            && let Err(reason) = self.sequence.check(n)
        {
            on_gap = self.books.values_mut().map(|b| b.on_gap(reason)).collect();
        }
        let mut on_events = Vec::new();
        if let CoinbaseMsg::L2(l2) = frame.msg {
            l2.for_each(|event| {
                let book = self
                    .books
                    .get_mut(&text(event.product_id))
                    .expect("subscribed product");
                on_events.push(book.on_event(&event));
                Ok(())
            })
            .expect("events");
        }
        (on_gap, on_events)
    }

    fn book(&self, product: &str) -> &CoinbaseBook {
        &self.books[product]
    }
}

fn prices(levels: &[Level]) -> Vec<String> {
    levels.iter().map(|l| l.price.to_text(scale(2))).collect()
}

#[test]
fn a_lost_message_of_any_channel_resyncs_every_book_until_each_gets_a_snapshot() {
    let mut conn = Connection::new(&["BTC-USD", "ETH-USD"]);
    // Updates before a product's snapshot are dropped.
    let early = l2(0, "update", "BTC-USD", &[("bid", "1.00", "1")]);
    assert_eq!(conn.feed(&early).1, [Outcome::Ignored]);
    assert_eq!(conn.book("BTC-USD").stats().ignored, 1);
    let btc = [("bid", "100.00", "1"), ("offer", "101.00", "2")];
    let eth = [("bid", "10.00", "1"), ("offer", "11.00", "2")];
    assert_eq!(
        conn.feed(&l2(1, "snapshot", "BTC-USD", &btc)).1,
        [Outcome::Applied]
    );
    assert_eq!(conn.feed(&heartbeat(2)), (vec![], vec![]));
    assert_eq!(
        conn.feed(&l2(3, "snapshot", "ETH-USD", &eth)).1,
        [Outcome::Applied]
    );
    assert_eq!(
        conn.feed(&l2(4, "update", "ETH-USD", &[("bid", "10.50", "3")]))
            .1,
        [Outcome::Applied]
    );
    assert!(conn.books.values().all(CoinbaseBook::is_synced));

    // Message 5 (a heartbeat, say) is lost; 6 is a BTC update. ETH's book never saw anything
    // missing, yet it cannot know that: both books start over, and 6 itself is dropped.
    let gap = ResyncReason::Gap {
        expected: 5,
        got: 6,
    };
    let (on_gap, on_events) = conn.feed(&l2(6, "update", "BTC-USD", &[("bid", "100.50", "1")]));
    assert_eq!(on_gap, [Outcome::Resync(gap), Outcome::Resync(gap)]);
    assert_eq!(on_events, [Outcome::Ignored]);
    for (product, keeper) in &conn.books {
        assert!(!keeper.is_synced(), "{product}");
        assert!(
            keeper.book().bids().is_empty() && keeper.book().asks().is_empty(),
            "{product}"
        );
        assert_eq!(
            (keeper.stats().gaps, keeper.stats().resyncs),
            (1, 1),
            "{product}"
        );
    }
    assert_eq!(
        (
            conn.sequence.gaps(),
            conn.sequence.messages(),
            conn.sequence.expected()
        ),
        (1, 6, Some(7))
    );

    // Numbering goes on from 6; each book comes back with its own snapshot.
    assert_eq!(
        conn.feed(&l2(7, "update", "ETH-USD", &[("bid", "10.60", "1")]))
            .1,
        [Outcome::Ignored]
    );
    assert_eq!(
        conn.feed(&l2(8, "snapshot", "BTC-USD", &btc)).1,
        [Outcome::Applied]
    );
    assert!(conn.book("BTC-USD").is_synced() && !conn.book("ETH-USD").is_synced());
    assert_eq!(
        conn.feed(&l2(9, "update", "ETH-USD", &[("bid", "10.70", "1")]))
            .1,
        [Outcome::Ignored]
    );
    assert_eq!(
        conn.feed(&l2(10, "snapshot", "ETH-USD", &eth)).1,
        [Outcome::Applied]
    );
    assert_eq!(
        conn.feed(&l2(11, "update", "ETH-USD", &[("offer", "10.90", "1")]))
            .1,
        [Outcome::Applied]
    );
    assert_eq!(
        prices(conn.book("ETH-USD").book().asks()),
        ["10.90", "11.00"]
    );
    assert_eq!(conn.book("ETH-USD").stats().ignored, 2);

    // A repeated number is a gap too (a message arrived twice or out of order).
    let (on_gap, _) = conn.feed(&heartbeat(11));
    assert_eq!(
        on_gap,
        [Outcome::Resync(ResyncReason::Gap {
            expected: 12,
            got: 11
        }); 2]
    );
    // Error messages carry no number and are not checked.
    assert_eq!(
        conn.feed(r#"{"type":"error","message":"x"}"#),
        (vec![], vec![])
    );
    assert_eq!(conn.sequence.gaps(), 2);
    // A reconnect starts a new numbering.
    conn.sequence.reset();
    assert_eq!(conn.sequence.check(0), Ok(()));
}

#[test]
fn a_snapshot_replaces_the_book_and_an_inexact_number_resyncs() {
    let mut conn = Connection::new(&["BTC-USD"]);
    let first = [
        ("bid", "100.00", "1"),
        ("bid", "99.00", "1"),
        ("offer", "101.00", "2"),
    ];
    assert_eq!(
        conn.feed(&l2(0, "snapshot", "BTC-USD", &first)).1,
        [Outcome::Applied]
    );
    let again = [("bid", "98.00", "5"), ("offer", "102.00", "2")];
    assert_eq!(
        conn.feed(&l2(1, "snapshot", "BTC-USD", &again)).1,
        [Outcome::Applied]
    );
    assert_eq!(prices(conn.book("BTC-USD").book().bids()), ["98.00"]);
    assert_eq!(prices(conn.book("BTC-USD").book().asks()), ["102.00"]);
    // "0" removes; an absent level's "0" is nothing.
    let removals = [
        ("bid", "98.00", "0"),
        ("bid", "50.00", "0"),
        ("offer", "103.00", "1"),
    ];
    assert_eq!(
        conn.feed(&l2(2, "update", "BTC-USD", &removals)).1,
        [Outcome::Applied]
    );
    assert!(conn.book("BTC-USD").book().bids().is_empty());
    assert_eq!(
        prices(conn.book("BTC-USD").book().asks()),
        ["102.00", "103.00"]
    );
    // Nine fraction digits at a scale of eight.
    let inexact = [("bid", "97.00", "0.000000001")];
    assert_eq!(
        conn.feed(&l2(3, "update", "BTC-USD", &inexact)).1,
        [Outcome::Resync(ResyncReason::BadNumber)]
    );
    let keeper = conn.book("BTC-USD");
    assert!(!keeper.is_synced() && keeper.book().asks().is_empty());
    let stats = keeper.stats();
    assert_eq!(
        (
            stats.bad_numbers,
            stats.resyncs,
            stats.snapshots,
            stats.applied
        ),
        (1, 1, 2, 1)
    );
    // So does a level of the wrong shape.
    assert_eq!(
        conn.feed(&l2(4, "snapshot", "BTC-USD", &first)).1,
        [Outcome::Applied]
    );
    assert_eq!(
        conn.feed(&l2(5, "update", "BTC-USD", &[("ask", "1.00", "1")]))
            .1,
        [Outcome::Resync(ResyncReason::BadNumber)]
    );
}

/// The old feed's messages, converted; with what the reference needs of each.
struct Converted {
    frame: String,
    old: Value,
}

/// Convert one Coinbase Exchange feed message into the Advanced Trade frame carrying the same
/// data, numbered `seq` on the connection. `None` for message types Advanced Trade lacks.
fn convert(old: &Value, seq: u64) -> Option<String> {
    let ts = old["time"]
        .as_str()
        .unwrap_or("2021-04-17T16:43:37.000000Z");
    let envelope = |channel: &str, events: Value| {
        json!({"channel": channel, "client_id": "", "timestamp": ts, "sequence_num": seq, "events": events})
            .to_string()
    };
    let level = |side: &str, px: &Value, qty: &Value| json!({"side": side, "event_time": ts, "price_level": px, "new_quantity": qty});
    let product = &old["product_id"];
    match old["type"].as_str()? {
        "snapshot" => {
            let mut updates: Vec<Value> = Vec::new();
            for (key, side) in [("bids", "bid"), ("asks", "offer")] {
                for l in old[key].as_array()? {
                    updates.push(level(side, &l[0], &l[1]));
                }
            }
            Some(envelope(
                "l2_data",
                json!([{"type": "snapshot", "product_id": product, "updates": updates}]),
            ))
        }
        "l2update" => {
            let updates: Vec<Value> = old["changes"]
                .as_array()?
                .iter()
                .map(|c| level(if c[0] == "buy" { "bid" } else { "offer" }, &c[1], &c[2]))
                .collect();
            Some(envelope(
                "l2_data",
                json!([{"type": "update", "product_id": product, "updates": updates}]),
            ))
        }
        "ticker" => Some(envelope(
            "ticker",
            json!([{"type": "update", "tickers": [{"type": "ticker", "product_id": product,
                "price": old["price"], "best_bid": old["best_bid"], "best_ask": old["best_ask"]}]}]),
        )),
        "match" | "last_match" => Some(envelope(
            "market_trades",
            json!([{"type": "update", "trades": [{"trade_id": old["trade_id"].to_string(),
                "product_id": product, "price": old["price"], "size": old["size"],
                "side": old["side"].as_str()?.to_uppercase(), "time": ts}]}]),
        )),
        "subscriptions" => Some(envelope("subscriptions", json!([{"subscriptions": {}}]))),
        _ => None,
    }
}

fn converted_session(test: &str) -> Option<&'static [Converted]> {
    static SESSION: OnceLock<Option<Vec<Converted>>> = OnceLock::new();
    SESSION
        .get_or_init(|| {
            let raw = read(EXCHANGE_FEED, test)?;
            let mut out = Vec::new();
            let received = raw
                .lines()
                .filter(|l| !l.is_empty() && !l.contains(" <-> ") && !l.contains(" <- "));
            for line in received {
                let (_, json) = line.split_once(": ").expect("`ts: json` line");
                let old: Value = serde_json::from_str(json).expect("json");
                let seq = u64::try_from(out.len()).expect("count");
                let frame = convert(&old, seq).expect("every recorded type converts");
                out.push(Converted { frame, old });
            }
            Some(out)
        })
        .as_deref()
}

/// The reference: per product, `BTreeMap`s of integer units by string surgery.
#[derive(Default)]
struct Reference {
    bids: BTreeMap<u64, u64>,
    asks: BTreeMap<u64, u64>,
}

/// `"0.00001306"` at 8 digits → 1306.
fn units(v: &Value) -> u64 {
    let s = v.as_str().expect("decimal string");
    let (whole, frac) = s.split_once('.').unwrap_or((s, ""));
    assert!(frac.len() <= 8, "{s}");
    format!("{whole}{frac:0<8}").parse().expect("digits")
}

impl Reference {
    fn set(&mut self, bid: bool, px: &Value, qty: &Value) {
        let side = if bid { &mut self.bids } else { &mut self.asks };
        let (px, qty) = (units(px), units(qty));
        if qty == 0 {
            side.remove(&px);
        } else {
            side.insert(px, qty);
        }
    }

    fn apply(&mut self, old: &Value) {
        match old["type"].as_str() {
            Some("snapshot") => {
                *self = Reference::default();
                for l in old["bids"].as_array().expect("bids") {
                    self.set(true, &l[0], &l[1]);
                }
                for l in old["asks"].as_array().expect("asks") {
                    self.set(false, &l[0], &l[1]);
                }
            }
            Some("l2update") => {
                for c in old["changes"].as_array().expect("changes") {
                    self.set(c[0] == "buy", &c[1], &c[2]);
                }
            }
            _ => {}
        }
    }
}

fn units_of(levels: &[Level]) -> Vec<(u64, u64)> {
    levels.iter().map(|l| (l.price.0, l.size.0)).collect()
}

fn book_for<'m>(
    books: &'m mut HashMap<String, CoinbaseBook>,
    product: &[u8],
) -> &'m mut CoinbaseBook {
    books
        .entry(text(product))
        .or_insert_with(|| CoinbaseBook::new(Book::new(8192, scale(8), scale(8))))
}

#[test]
fn real_exchange_traffic_in_advanced_trade_frames_stays_in_step_with_its_own_tickers() {
    let Some(session) = converted_session("coinbase converted session") else {
        return;
    };
    let mut sequence = CoinbaseSequence::new();
    let mut books: HashMap<String, CoinbaseBook> = HashMap::new();
    let mut references: HashMap<String, Reference> = HashMap::new();
    let mut first_ticker_seen: HashMap<String, bool> = HashMap::new();
    let (mut tickers_agreed, mut trades) = (0, 0);
    for converted in session {
        let frame =
            parse_coinbase(converted.frame.as_bytes()).expect("every converted frame decodes");
        let n = frame.sequence_num.expect("numbered");
        assert_eq!(sequence.check(n), Ok(()), "message {n}");
        match frame.msg {
            CoinbaseMsg::L2(l2) => {
                l2.for_each(|event| {
                    let keeper = book_for(&mut books, event.product_id);
                    assert_eq!(keeper.on_event(&event), Outcome::Applied, "message {n}");
                    assert!(!keeper.book().is_crossed(), "crossed after message {n}");
                    Ok(())
                })
                .expect("events");
                let product = converted.old["product_id"].as_str().expect("product");
                let reference = references.entry(product.to_string()).or_default();
                reference.apply(&converted.old);
                let keeper = &books[product];
                let ours_bids: Vec<_> = units_of(keeper.book().bids());
                let ours_asks: Vec<_> = units_of(keeper.book().asks());
                // The whole book after every message: our sorted vectors against the
                // reference's maps.
                let theirs: Vec<_> = reference.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
                assert_eq!(ours_bids, theirs, "{product} bids after {n}");
                let theirs: Vec<_> = reference.asks.iter().map(|(p, q)| (*p, *q)).collect();
                assert_eq!(ours_asks, theirs, "{product} asks after {n}");
            }
            CoinbaseMsg::Ticker(tickers) => {
                tickers
                    .for_each(|t| {
                        let product = text(t.product_id);
                        // A product's first ticker is the last trade before subscribing, its
                        // best bid and ask from then; every later one is from a match that the
                        // book's updates had already reached.
                        if !first_ticker_seen
                            .insert(product.clone(), true)
                            .unwrap_or(false)
                        {
                            return Ok(());
                        }
                        let px = |s: Option<&[u8]>| {
                            Fixed::parse(s.expect("best"), scale(8)).expect("px")
                        };
                        let book = books[&product].book();
                        assert_eq!(
                            book.best_bid().map(|l| l.price),
                            Some(px(t.best_bid)),
                            "{product} at {n}"
                        );
                        assert_eq!(
                            book.best_ask().map(|l| l.price),
                            Some(px(t.best_ask)),
                            "{product} at {n}"
                        );
                        tickers_agreed += 1;
                        Ok(())
                    })
                    .expect("tickers");
            }
            CoinbaseMsg::Trades(t) => {
                t.for_each(|_| {
                    trades += 1;
                    Ok(())
                })
                .expect("trades");
            }
            CoinbaseMsg::Subscriptions => {}
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(session.len(), 9946);
    assert_eq!((sequence.messages(), sequence.gaps()), (9946, 0));
    assert_eq!((tickers_agreed, trades), (97, 107));
    assert_eq!(books.len(), 10);
    let (mut snapshots, mut applied) = (0, 0);
    for (product, keeper) in &books {
        let stats = keeper.stats();
        assert!(keeper.is_synced(), "{product}");
        assert_eq!((stats.ignored, stats.resyncs), (0, 0), "{product}");
        assert_eq!(keeper.book().dropped_levels(), 0, "{product}");
        snapshots += stats.snapshots;
        applied += stats.applied;
        let reference = &references[product];
        let theirs: Vec<_> = reference.bids.iter().rev().map(|(p, q)| (*p, *q)).collect();
        assert_eq!(
            units_of(keeper.book().bids()),
            theirs,
            "{product} final bids"
        );
        let theirs: Vec<_> = reference.asks.iter().map(|(p, q)| (*p, *q)).collect();
        assert_eq!(
            units_of(keeper.book().asks()),
            theirs,
            "{product} final asks"
        );
    }
    assert_eq!((snapshots, applied), (10, 9719));
}

#[test]
fn a_lost_trade_message_in_real_traffic_resyncs_all_ten_books() {
    let Some(session) = converted_session("coinbase converted session gap") else {
        return;
    };
    // Drop the first trade message after the 5000th: no book update is lost, yet nothing on
    // the connection proves it, so every book must start over.
    let dropped = session
        .iter()
        .enumerate()
        .skip(5000)
        .find(|(_, c)| c.frame.contains("\"market_trades\""))
        .map(|(i, _)| i)
        .expect("a trade after message 5000");
    let mut sequence = CoinbaseSequence::new();
    let mut books: HashMap<String, CoinbaseBook> = HashMap::new();
    let mut resynced = 0;
    let mut ignored_after = 0;
    for (i, converted) in session.iter().enumerate() {
        if i == dropped {
            continue;
        }
        let frame = parse_coinbase(converted.frame.as_bytes()).expect("decodes");
        if let Err(reason) = sequence.check(frame.sequence_num.expect("numbered")) {
            let expected = u64::try_from(dropped).expect("index");
            assert_eq!(
                reason,
                ResyncReason::Gap {
                    expected,
                    got: expected + 1
                }
            );
            for keeper in books.values_mut() {
                assert_eq!(keeper.on_gap(reason), Outcome::Resync(reason));
                resynced += 1;
            }
        }
        if let CoinbaseMsg::L2(l2) = frame.msg {
            l2.for_each(|event| {
                let outcome = book_for(&mut books, event.product_id).on_event(&event);
                if i > dropped {
                    assert_eq!(outcome, Outcome::Ignored, "message {i} after the gap");
                    ignored_after += 1;
                }
                Ok(())
            })
            .expect("events");
        }
    }
    assert_eq!((sequence.gaps(), resynced), (1, 10));
    assert!(
        ignored_after > 1000,
        "{ignored_after} updates dropped after the gap"
    );
    for (product, keeper) in &books {
        assert!(!keeper.is_synced(), "{product}");
        assert!(keeper.book().bids().is_empty() && keeper.book().asks().is_empty());
        assert_eq!(
            (keeper.stats().gaps, keeper.stats().resyncs),
            (1, 1),
            "{product}"
        );
    }
}

/// Frames to truncate: the fixtures when present, hand-built ones always.
fn corpus() -> &'static [String] {
    static CORPUS: OnceLock<Vec<String>> = OnceLock::new();
    CORPUS.get_or_init(|| {
        let mut frames = vec![
            l2(
                4,
                "snapshot",
                "BTC-USD",
                &[("bid", "1.00", "2"), ("offer", "1.10", "3")],
            ),
            heartbeat(9),
            r#"{"type":"error","message":"x"}"#.to_string(),
        ];
        for name in [
            "ws_l2_data_snapshot.json",
            "ws_l2_data_update.json",
            "ws_market_trades.json",
            "ws_ticker.json",
            "ws_heartbeats.json",
            "ws_subscriptions.json",
            "ws_candles.json",
        ] {
            if let Some(text) = read(&format!("{NAUTILUS}/{name}"), "coinbase truncation corpus") {
                frames.push(text);
            }
        }
        frames
    })
}

/// Walk every lazy part of a decoded frame, as a consumer would.
fn walk(bytes: &[u8]) {
    let Ok(frame) = parse_coinbase(bytes) else {
        return;
    };
    match frame.msg {
        CoinbaseMsg::L2(l2) => {
            let _ = l2.for_each(|e| e.updates.for_each(|_| Ok(())));
        }
        CoinbaseMsg::Ticker(t) => {
            let _ = t.for_each(|_| Ok(()));
        }
        CoinbaseMsg::Trades(t) => {
            let _ = t.for_each(|_| Ok(()));
        }
        _ => {}
    }
}

proptest! {
    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..400)) {
        walk(&bytes);
    }

    #[test]
    fn truncated_frames_are_errors(pick in any::<prop::sample::Index>(), cut in any::<prop::sample::Index>()) {
        let frames = corpus();
        let frame = pick.get(frames).as_bytes();
        // Anything cut before the closing brace is not a whole JSON object.
        let end = frame.iter().rposition(|&b| b == b'}').expect("an object");
        let cut = cut.index(end + 1);
        prop_assert!(parse_coinbase(&frame[..cut]).is_err());
        walk(&frame[..cut]);
    }

    #[test]
    fn arbitrary_updates_never_panic_the_keeper(bytes in proptest::collection::vec(any::<u8>(), 0..200)) {
        let mut conn = Connection::new(&["A"]);
        conn.feed(&l2(0, "snapshot", "A", &[("bid", "1.00", "1")]));
        let mut frame = br#"{"channel":"l2_data","sequence_num":1,"events":[{"type":"update","product_id":"A","updates":"#.to_vec();
        frame.extend_from_slice(&bytes);
        frame.extend_from_slice(b"}]}");
        if let Ok(decoded) = parse_coinbase(&frame) && let CoinbaseMsg::L2(l2) = decoded.msg {
            let keeper = conn.books.get_mut("A").expect("book");
            let _ = l2.for_each(|event| {
                if let Outcome::Resync(_) = keeper.on_event(&event) {
                    assert!(!keeper.is_synced() && keeper.book().bids().is_empty());
                }
                Ok(())
            });
        }
    }
}
