//! The simulated Kraken against Kestrel's own Kraken code: requests written by `KrakenWriter`
//! and answers read by the `orders` parsers (fills, fees and balances computed by hand), refusals
//! in Kraken's error texts, and the WebSocket v2 `book` channel decoded by `parse_kraken` and kept
//! by `KrakenBook` through depth truncation, a wrong checksum and a lost update.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, Reject, SymbolSpec};
use kestrel_exsim::kraken::KrakenFront;
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault, Faults, Front, Publication, WsSession};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, KrakenSigner};
use kestrel_venues::orders::{
    self, Amount, ErrorClass, ErrorCode, KrakenWriter, OrderRef, OrderRequest, RequestWriter,
    Scales, Stamp, Status, Tif, VenueError,
};
use kestrel_venues::sync::kraken::{KrakenBook, KrakenBookConfig, KrakenDepth};
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::kraken::{KrakenFrame, parse_kraken};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

const KEY: &str = "kraken-test-key";
/// The example secret of Kraken's authentication docs.
const SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";
/// The pair's WebSocket name, and its REST altname.
const PAIR: &str = "BTC/USD";
const ALTNAME: &str = "BTCUSD";
/// One USD at the quote's nine digits (price digits 1 + size digits 8).
const USD: u128 = 1_000_000_000;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn scales() -> Scales {
    Scales {
        price: scale(1),
        size: scale(8),
    }
}

fn signer() -> KrakenSigner {
    KrakenSigner::new(KEY, &ApiSecret::new(SECRET)).expect("signer")
}

fn now_ms() -> u64 {
    kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock)
}

/// Strictly increasing across every request of the test binary, as Kraken wants per key.
fn stamp() -> Stamp {
    static NONCE: AtomicU64 = AtomicU64::new(1);
    Stamp {
        unix_ms: now_ms(),
        nonce: NONCE.fetch_add(1, Ordering::Relaxed),
        entropy: [0; 16],
    }
}

/// BTC/USD, prices to 0.1, sizes to 0.00000001; taker 0.40 %, maker 0.25 %, fees in USD;
/// 100,000 USD; asks 65,000.0 × 0.5 and 65,001.0 × 1, bid 64,999.0 × 0.7.
fn exchange() -> Exchange {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(8),
        },
        AssetSpec {
            name: "USD".into(),
            scale: scale(9),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: PAIR.into(),
        base: "BTC".into(),
        quote: "USD".into(),
        price_scale: scale(1),
        size_scale: scale(8),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(10_000),
        min_notional: USD / 2,
        depth: 200,
    }];
    let mut ex = Exchange::new(Venue::Kraken, assets, symbols, FeeAsset::Quote).expect("exchange");
    ex.add_account(
        KEY,
        FeeRates {
            maker: Rate(250_000),
            taker: Rate(400_000),
        },
    );
    ex.deposit(KEY, "USD", 100_000 * USD);
    ex.set_level(PAIR, BookSide::Ask, Fixed(650_000), Fixed(50_000_000));
    ex.set_level(PAIR, BookSide::Ask, Fixed(650_010), Fixed(100_000_000));
    ex.set_level(PAIR, BookSide::Bid, Fixed(649_990), Fixed(70_000_000));
    ex
}

fn venue() -> ExchangeServer {
    let front = KrakenFront::new(vec![signer()]);
    ExchangeServer::start(exchange(), Box::new(front), Duration::from_millis(10)).expect("server")
}

fn writer(server: &ExchangeServer) -> KrakenWriter {
    KrakenWriter::new(signer(), &server.addr().to_string())
}

/// Send a complete request on a fresh connection: (status, body).
fn send(server: &ExchangeServer, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed before a whole response");
        response.extend_from_slice(&chunk[..n]);
        let Some(head_end) = response.windows(4).position(|w| w == b"\r\n\r\n") else {
            continue;
        };
        let head = String::from_utf8_lossy(&response[..head_end]).to_string();
        let length: usize = head
            .lines()
            .find_map(|l| l.strip_prefix("Content-Length: "))
            .and_then(|v| v.parse().ok())
            .expect("length");
        if response.len() >= head_end + 4 + length {
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status");
            return (
                status,
                response[head_end + 4..head_end + 4 + length].to_vec(),
            );
        }
    }
}

fn json_of(body: &[u8]) -> Value {
    serde_json::from_slice(body).expect("json body")
}

/// A private POST whose form parameters are signed as they are (for requests the writer would
/// never write).
fn post_form(server: &ExchangeServer, method: &str, params: &str) -> Value {
    let path = format!("/0/private/{method}");
    let signed = signer().signed_form(&path, stamp().nonce, params);
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nAPI-Key: {KEY}\r\nAPI-Sign: {}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{}",
        signed.api_sign,
        signed.body.len(),
        signed.body
    );
    json_of(&send(server, request.as_bytes()).1)
}

fn get(server: &ExchangeServer, target: &str) -> Value {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    json_of(&send(server, request.as_bytes()).1)
}

fn order(side: OrderSide, size: u64, limit: u64, tif: Tif, client_id: &str) -> OrderRequest<'_> {
    OrderRequest {
        symbol: ALTNAME,
        side,
        size: Fixed(size),
        limit: Fixed(limit),
        scales: scales(),
        tif,
        client_id,
    }
}

fn place(server: &ExchangeServer, order: &OrderRequest<'_>) -> (u16, Vec<u8>) {
    let mut out = Vec::new();
    writer(server)
        .new_order(order, &stamp(), &mut out)
        .expect("write order");
    send(server, &out)
}

fn query(server: &ExchangeServer, by: OrderRef<'_>) -> (u16, Vec<u8>) {
    let mut out = Vec::new();
    writer(server)
        .query_order(ALTNAME, by, &stamp(), &mut out)
        .expect("write query");
    send(server, &out)
}

fn cancel(server: &ExchangeServer, by: OrderRef<'_>) -> (u16, Vec<u8>) {
    let mut out = Vec::new();
    writer(server)
        .cancel_order(ALTNAME, by, &stamp(), &mut out)
        .expect("write cancel");
    send(server, &out)
}

/// Free and locked per asset, as Kestrel's client reads `BalanceEx`.
fn balances(server: &ExchangeServer) -> Vec<(String, Amount, Amount)> {
    let mut out = Vec::new();
    writer(server)
        .balances(&stamp(), &mut out)
        .expect("write balances");
    let (status, body) = send(server, &out);
    orders::parse_balances(Venue::Kraken, status, &body)
        .expect("balances")
        .into_iter()
        .map(|b| (b.asset, b.free, b.locked))
        .collect()
}

fn amount(units: u128, digits: u8) -> Amount {
    Amount::new(units, digits).expect("amount")
}

/// The refusal's Kraken error text and class.
fn refusal(result: Result<orders::OrderReport, VenueError>) -> (String, ErrorClass) {
    let error = result.expect_err("refused");
    let text = match error.code {
        Some(ErrorCode::Text(text)) => text,
        other => panic!("not a Kraken error text: {other:?}"),
    };
    (text, error.class)
}

#[test]
fn a_signed_ioc_buy_walks_the_book_and_pays_its_fee_in_quote() {
    let server = venue();
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 80_000_000, 650_010, Tif::Ioc, "ioc-1"),
    );
    assert_eq!(status, 200);
    let raw = json_of(&body);
    assert_eq!(raw["error"], json!([]));
    assert_eq!(
        raw["result"]["descr"]["order"],
        "buy 0.80000000 BTCUSD @ limit 65001.0"
    );
    let placed = orders::parse_order(Venue::Kraken, status, &body, scales()).expect("placed");
    assert!(placed.venue_order_id.starts_with('O'), "{placed:?}");

    let (status, body) = query(&server, OrderRef::Client("ioc-1"));
    let report = orders::parse_order_query(Venue::Kraken, status, &body, scales()).expect("query");
    assert_eq!(report.venue_order_id, placed.venue_order_id);
    assert_eq!(report.client_id, "ioc-1");
    assert_eq!(report.status, Some(Status::Filled));
    assert_eq!(report.filled, Fixed(80_000_000));
    // 0.5 × 65,000.0 + 0.3 × 65,001.0 = 32,500 + 19,500.3.
    assert_eq!(report.notional, Some(52_000_300_000_000));
    assert_eq!(report.avg_price, Some(amount(65_000_375_000_000, 9)));
    // 0.40 % of each fill's notional: 130 + 78.0012 USD.
    assert_eq!(report.fees.len(), 1);
    assert_eq!(report.fees[0].amount, amount(208_001_200_000, 9));
    let info = &json_of(&body)["result"][&placed.venue_order_id];
    assert_eq!(info["status"], "closed");
    assert_eq!(info["oflags"], "fciq");
    assert_eq!(info["cost"], "52000.300000000");
    assert_eq!(info["trades"].as_array().map(Vec::len), Some(2));

    let held = balances(&server);
    let of = |asset: &str| held.iter().find(|b| b.0 == asset).cloned().expect(asset);
    assert_eq!(
        of("BTC"),
        ("BTC".into(), amount(80_000_000, 8), amount(0, 8))
    );
    // 100,000 − 52,000.3 − 208.0012.
    assert_eq!(
        of("USD"),
        ("USD".into(), amount(47_791_698_800_000, 9), amount(0, 9))
    );
    // `Balance` gives totals.
    let total = post_form(&server, "Balance", "");
    assert_eq!(total["result"]["USD"], "47791.698800000");
    assert_eq!(total["result"]["BTC"], "0.80000000");

    // The liquidity taken is gone from the venue's book.
    let depth = get(&server, "/0/public/Depth?pair=BTCUSD&count=2");
    assert_eq!(depth["result"][ALTNAME]["asks"][0][0], "65001.0");
    assert_eq!(depth["result"][ALTNAME]["asks"][0][1], "0.70000000");
    assert_eq!(depth["result"][ALTNAME]["bids"][0][0], "64999.0");
}

#[test]
fn refusals_are_krakens_error_texts() {
    let server = venue();
    // A body changed after signing.
    let mut out = Vec::new();
    writer(&server)
        .new_order(
            &order(OrderSide::Buy, 10_000_000, 650_000, Tif::Ioc, "t-1"),
            &stamp(),
            &mut out,
        )
        .expect("write");
    let text = String::from_utf8(out).expect("utf8");
    let tampered = text.replace("volume=0.10000000", "volume=0.20000000");
    assert_ne!(tampered, text);
    let (status, body) = send(&server, tampered.as_bytes());
    assert_eq!(status, 200);
    assert_eq!(json_of(&body), json!({"error": ["EAPI:Invalid signature"]}));

    // A nonce used once already.
    let mut out = Vec::new();
    writer(&server).balances(&stamp(), &mut out).expect("write");
    assert_eq!(json_of(&send(&server, &out).1)["error"], json!([]));
    assert_eq!(
        json_of(&send(&server, &out).1)["error"],
        json!(["EAPI:Invalid nonce"])
    );

    // A key the venue does not know.
    let stranger = KrakenSigner::new("someone-else", &ApiSecret::new(SECRET)).expect("signer");
    let mut out = Vec::new();
    KrakenWriter::new(stranger, "x")
        .balances(&stamp(), &mut out)
        .expect("write");
    let (status, body) = send(&server, &out);
    let unknown = orders::parse_balances(Venue::Kraken, status, &body).expect_err("refused");
    assert_eq!(
        unknown.code,
        Some(ErrorCode::Text("EAPI:Invalid key".into()))
    );
    assert_eq!(unknown.class, ErrorClass::Auth);

    let cases = [
        // 10 BTC at 65,001.0 is more than 100,000 USD.
        (
            order(OrderSide::Buy, 1_000_000_000, 650_010, Tif::Ioc, "t-2"),
            "EOrder:Insufficient funds",
        ),
        // 0.00005 BTC is under `ordermin` 0.0001.
        (
            order(OrderSide::Buy, 5_000, 650_010, Tif::Ioc, "t-3"),
            "EOrder:Order minimum not met",
        ),
        // 0.0001 BTC at 1,000.0 is 0.1 USD, under `costmin` 0.5.
        (
            order(OrderSide::Buy, 10_000, 10_000, Tif::Gtc, "t-4"),
            "EOrder:Cost minimum not met",
        ),
    ];
    for (request, expected) in cases {
        let (status, body) = place(&server, &request);
        let (text, class) = refusal(orders::parse_order(Venue::Kraken, status, &body, scales()));
        assert_eq!((text.as_str(), class), (expected, ErrorClass::Rejected));
    }

    let too_fine = post_form(
        &server,
        "AddOrder",
        "ordertype=limit&type=buy&volume=0.10000000&pair=BTCUSD&price=65000.05&timeinforce=IOC",
    );
    assert_eq!(
        too_fine["error"],
        json!(["EOrder:Invalid price:BTC/USD price can only be specified up to 1 decimals."])
    );
    let unknown_pair = post_form(
        &server,
        "AddOrder",
        "ordertype=limit&type=buy&volume=0.10000000&pair=DOGEUSD&price=1.0",
    );
    assert_eq!(unknown_pair["error"], json!(["EQuery:Unknown asset pair"]));
    assert_eq!(
        get(&server, "/0/public/AssetPairs?pair=DOGEUSD")["error"],
        json!(["EQuery:Unknown asset pair"])
    );

    let (status, body) = cancel(&server, OrderRef::Venue("O00000-00000-0000RR"));
    let (text, _) = refusal(orders::parse_cancel(Venue::Kraken, status, &body, scales()));
    assert_eq!(text, "EOrder:Unknown order");
    let (status, body) = query(&server, OrderRef::Client("never-sent"));
    let (text, _) = refusal(orders::parse_order_query(
        Venue::Kraken,
        status,
        &body,
        scales(),
    ));
    assert_eq!(text, "EOrder:Invalid order");

    server.fault(Fault::RejectNextOrder(Reject::Injected {
        code: 0,
        message: "EAPI:Rate limit exceeded".into(),
    }));
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 650_000, Tif::Ioc, "t-5"),
    );
    let (text, class) = refusal(orders::parse_order(Venue::Kraken, status, &body, scales()));
    assert_eq!(
        (text.as_str(), class),
        ("EAPI:Rate limit exceeded", ErrorClass::Retryable)
    );

    // Nothing above moved money.
    let usd = server.with_exchange(|ex| ex.balance(KEY, "USD"));
    assert_eq!(usd, (100_000 * USD, 0));
}

#[test]
fn a_resting_order_holds_its_funds_until_cancelled() {
    let server = venue();
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 600_000, Tif::Gtc, "rest-1"),
    );
    let txid = orders::parse_order(Venue::Kraken, status, &body, scales())
        .expect("placed")
        .venue_order_id;
    let (status, body) = query(&server, OrderRef::Venue(&txid));
    let report = orders::parse_order_query(Venue::Kraken, status, &body, scales()).expect("query");
    assert_eq!(
        (report.status, report.filled),
        (Some(Status::New), Fixed::ZERO)
    );
    // 0.1 × 60,000.0 = 6,000 USD plus the 0.40 % taker fee it might pay: 6,024 held.
    let usd = |held: &[(String, Amount, Amount)]| {
        held.iter().find(|b| b.0 == "USD").cloned().expect("USD")
    };
    assert_eq!(
        usd(&balances(&server)),
        (
            "USD".into(),
            amount(93_976 * USD, 9),
            amount(6_024 * USD, 9)
        )
    );

    let (status, body) = cancel(&server, OrderRef::Venue(&txid));
    assert_eq!(json_of(&body)["result"]["count"], 1);
    orders::parse_cancel(Venue::Kraken, status, &body, scales()).expect("cancelled");
    let (status, body) = query(&server, OrderRef::Client("rest-1"));
    let report = orders::parse_order_query(Venue::Kraken, status, &body, scales()).expect("query");
    assert_eq!(report.status, Some(Status::Canceled));
    assert_eq!(
        usd(&balances(&server)),
        ("USD".into(), amount(100_000 * USD, 9), amount(0, 9))
    );
    let (status, body) = cancel(&server, OrderRef::Venue(&txid));
    let (text, _) = refusal(orders::parse_cancel(Venue::Kraken, status, &body, scales()));
    assert_eq!(text, "EOrder:Unknown order");

    // An IOC that finds nothing at its limit is cancelled whole.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 640_000, Tif::Ioc, "ioc-none"),
    );
    orders::parse_order(Venue::Kraken, status, &body, scales()).expect("placed");
    let (status, body) = query(&server, OrderRef::Client("ioc-none"));
    let report = orders::parse_order_query(Venue::Kraken, status, &body, scales()).expect("query");
    assert_eq!(
        (report.status, report.filled),
        (Some(Status::Canceled), Fixed::ZERO)
    );
}

#[test]
fn fee_rates_and_pair_rules_come_from_the_venue() {
    let server = venue();
    let mut out = Vec::new();
    writer(&server)
        .fee_rates(ALTNAME, &stamp(), &mut out)
        .expect("write");
    let (status, body) = send(&server, &out);
    assert_eq!(json_of(&body)["result"]["fees"][ALTNAME]["fee"], "0.4000");
    assert_eq!(
        json_of(&body)["result"]["fees_maker"][ALTNAME]["fee"],
        "0.2500"
    );
    let rates = orders::parse_fee_rates(Venue::Kraken, status, &body).expect("fee rates");
    assert_eq!((rates.maker, rates.taker), (Rate(250_000), Rate(400_000)));

    let mut out = Vec::new();
    writer(&server)
        .symbol_rules(ALTNAME, &mut out)
        .expect("write");
    let (status, body) = send(&server, &out);
    let rules = orders::parse_symbol_rules(Venue::Kraken, status, &body, scales()).expect("rules");
    let spec = server.with_exchange(|ex| ex.symbol(PAIR).cloned().expect("spec"));
    assert_eq!(
        (rules.tick, rules.lot, rules.min_size, rules.min_notional),
        (spec.tick, spec.lot, spec.min_size, Some(spec.min_notional))
    );
    assert_eq!(
        (
            rules.venue.price_digits,
            rules.venue.size_digits,
            rules.venue.quote_digits
        ),
        (1, 8, Some(9))
    );
    // The WebSocket name works as a pair too.
    let by_wsname = get(&server, "/0/public/AssetPairs?pair=BTC/USD");
    assert_eq!(by_wsname["result"][ALTNAME]["wsname"], PAIR);
}

// ---------------------------------------------------------------------------------------------
// The book channel
// ---------------------------------------------------------------------------------------------

/// A client of the `book` channel: Kestrel's decoder and keeper over a blocking socket.
struct Feed {
    ws: WebSocket<TcpStream>,
    keeper: KrakenBook,
    depth: usize,
    resyncs: Vec<ResyncReason>,
    replies: Vec<Value>,
    pongs: Vec<Option<u64>>,
    heartbeats: u64,
}

impl Feed {
    fn connect(server: &ExchangeServer, depth: KrakenDepth) -> Feed {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let url = format!("{}/v2", server.ws_url());
        let (ws, _) = tungstenite::client(url, stream).expect("handshake");
        let config = KrakenBookConfig {
            depth,
            price_precision: scale(1),
            qty_precision: scale(8),
        };
        Feed {
            ws,
            keeper: KrakenBook::new(config),
            depth: depth.levels(),
            resyncs: Vec::new(),
            replies: Vec::new(),
            pongs: Vec::new(),
            heartbeats: 0,
        }
    }

    fn send(&mut self, request: &Value) {
        self.ws
            .send(Message::text(request.to_string()))
            .expect("send");
    }

    fn subscribe(&mut self, method: &str, symbol: &str) {
        let request = json!({
            "method": method,
            "params": {"channel": "book", "symbol": [symbol], "depth": self.depth},
            "req_id": 7,
        });
        self.send(&request);
    }

    /// Read and apply one frame; false when none came in time.
    fn pump(&mut self) -> bool {
        let text = match self.ws.read() {
            Ok(Message::Text(text)) => text,
            Ok(_) => return true,
            Err(tungstenite::Error::Io(e))
                if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) =>
            {
                return false;
            }
            Err(e) => panic!("socket: {e}"),
        };
        match parse_kraken(text.as_bytes()).expect("a frame Kestrel decodes") {
            KrakenFrame::Book(msg) => {
                if let Outcome::Resync(reason) = self.keeper.on_book(&msg) {
                    self.resyncs.push(reason);
                }
            }
            KrakenFrame::Reply(_) => {
                self.replies
                    .push(serde_json::from_str(text.as_str()).expect("json"));
            }
            KrakenFrame::Pong { req_id } => self.pongs.push(req_id),
            KrakenFrame::Heartbeat => self.heartbeats += 1,
            _ => {}
        }
        true
    }

    fn until(&mut self, what: &str, mut done: impl FnMut(&Feed) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            self.pump();
        }
    }

    /// Read whatever is waiting.
    fn drain(&mut self) {
        while self.pump() {}
    }
}

/// A book side as (price, size) units.
fn flat(levels: &[kestrel_venues::book::Level]) -> Vec<(u64, u64)> {
    levels.iter().map(|l| (l.price.0, l.size.0)).collect()
}

/// Whether the keeper is synced and holds exactly the venue's top `depth` levels a side.
fn in_step(server: &ExchangeServer, feed: &Feed) -> bool {
    let depth = feed.depth;
    let theirs = server.with_exchange(|ex| {
        let book = ex.book(PAIR).expect("book");
        (
            flat(&book.bids()[..book.bids().len().min(depth)]),
            flat(&book.asks()[..book.asks().len().min(depth)]),
        )
    });
    let ours = (
        flat(feed.keeper.book().bids()),
        flat(feed.keeper.book().asks()),
    );
    feed.keeper.is_synced() && theirs == ours
}

fn market() -> MarketGen {
    MarketGen::new(
        11,
        &[Venue::Kraken],
        MarketParams {
            start_mid: Fixed(650_000),
            tick: Fixed(1),
            vol_bps_per_step: 5,
            venue_noise_bps: 1,
            half_spread_ticks: 2,
            levels: 20,
            level_size: Fixed(50_000_000),
            level_size_jitter: 30,
        },
    )
    .with_lot(Fixed(1_000))
}

fn move_market(
    server: &ExchangeServer,
    market: &mut MarketGen,
    feeds: &mut [&mut Feed],
    steps: usize,
) {
    for _ in 0..steps {
        market.step();
        server.with_exchange(|ex| market.apply(Venue::Kraken, ex, PAIR));
        let until = Instant::now() + Duration::from_millis(3);
        while Instant::now() < until {
            for feed in feeds.iter_mut() {
                feed.pump();
            }
        }
    }
}

/// The market maker's book of 20 levels a side, no resting liquidity from `exchange()`.
fn book_venue() -> (ExchangeServer, MarketGen) {
    let mut ex = exchange();
    for (side, price) in [
        (BookSide::Ask, 650_000),
        (BookSide::Ask, 650_010),
        (BookSide::Bid, 649_990),
    ] {
        ex.set_level(PAIR, side, Fixed(price), Fixed::ZERO);
    }
    let market = market();
    market.apply(Venue::Kraken, &mut ex, PAIR);
    let front = KrakenFront::new(vec![signer()]);
    let server =
        ExchangeServer::start(ex, Box::new(front), Duration::from_millis(10)).expect("server");
    (server, market)
}

#[test]
fn the_book_channel_keeps_kestrels_keeper_in_step_at_every_depth() {
    let (server, mut market) = book_venue();
    let mut top = Feed::connect(&server, KrakenDepth::D10);
    let mut deep = Feed::connect(&server, KrakenDepth::D100);
    top.subscribe("subscribe", PAIR);
    deep.subscribe("subscribe", PAIR);
    top.until("first snapshot", |f| f.keeper.is_synced());
    deep.until("first snapshot", |f| f.keeper.is_synced());
    let ack = &top.replies[0];
    assert_eq!(
        (
            &ack["method"],
            &ack["success"],
            &ack["req_id"],
            &ack["result"]["depth"]
        ),
        (&json!("subscribe"), &json!(true), &json!(7), &json!(10))
    );
    assert!(in_step(&server, &top) && in_step(&server, &deep));

    move_market(&server, &mut market, &mut [&mut top, &mut deep], 40);
    top.until("depth 10 in step", |f| in_step(&server, f));
    deep.until("depth 100 in step", |f| in_step(&server, f));
    // Twenty levels a side: the depth-10 client truncated, the depth-100 one holds them all.
    assert_eq!(top.keeper.book().bids().len(), 10);
    assert_eq!(deep.keeper.book().bids().len(), 20);
    for feed in [&top, &deep] {
        assert!(
            feed.keeper.stats().applied > 10,
            "{:?}",
            feed.keeper.stats()
        );
        assert_eq!(
            feed.keeper.checksums_verified(),
            feed.keeper.stats().applied + 1
        );
        assert!(feed.resyncs.is_empty(), "{:?}", feed.resyncs);
    }

    top.send(&json!({"method": "ping", "req_id": 42}));
    top.until("pong", |f| !f.pongs.is_empty());
    assert_eq!(top.pongs, vec![Some(42)]);
    top.subscribe("subscribe", "DOGE/USD");
    top.until("refusal", |f| f.replies.len() == 2);
    assert_eq!(top.replies[1]["success"], false);
    assert_eq!(
        top.replies[1]["error"],
        "Currency pair not supported DOGE/USD"
    );
}

#[test]
fn a_wrong_checksum_and_a_lost_update_make_the_keeper_resync() {
    let (server, mut market) = book_venue();
    let mut feed = Feed::connect(&server, KrakenDepth::D10);
    feed.subscribe("subscribe", PAIR);
    feed.until("first snapshot", |f| f.keeper.is_synced());
    move_market(&server, &mut market, &mut [&mut feed], 10);
    feed.until("in step", |f| in_step(&server, f));

    server.fault(Fault::BadChecksum);
    move_market(&server, &mut market, &mut [&mut feed], 5);
    feed.until("bad checksum seen", |f| !f.resyncs.is_empty());
    assert!(
        matches!(feed.resyncs[0], ResyncReason::Checksum { venue, ours } if venue == !ours),
        "{:?}",
        feed.resyncs
    );
    assert!(!feed.keeper.is_synced());
    // Kraken sends no snapshot mid-stream: the client resubscribes.
    feed.subscribe("unsubscribe", PAIR);
    feed.subscribe("subscribe", PAIR);
    feed.until("resynced", |f| in_step(&server, f));
    move_market(&server, &mut market, &mut [&mut feed], 10);
    feed.until("in step again", |f| in_step(&server, f));
    assert_eq!(feed.keeper.stats().snapshots, 2);

    // The update carrying a new best bid is lost; the next one's checksum gives it away.
    let best_bid =
        server.with_exchange(|ex| ex.book(PAIR).and_then(|b| b.best_bid()).expect("bid"));
    server.fault(Fault::Gap);
    server.with_exchange(|ex| {
        ex.set_level(
            PAIR,
            BookSide::Bid,
            Fixed(best_bid.price.0 + 1),
            Fixed(12_345_678),
        );
    });
    std::thread::sleep(Duration::from_millis(60));
    feed.drain();
    assert_eq!(feed.resyncs.len(), 1, "the loss itself shows nothing");
    server.with_exchange(|ex| {
        ex.set_level(
            PAIR,
            BookSide::Bid,
            best_bid.price,
            Fixed(best_bid.size.0 + 1_000),
        );
    });
    feed.until("lost update seen", |f| f.resyncs.len() == 2);
    assert!(matches!(feed.resyncs[1], ResyncReason::Checksum { .. }));
    assert_eq!(feed.keeper.stats().checksum_failures, 2);
    feed.subscribe("unsubscribe", PAIR);
    feed.subscribe("subscribe", PAIR);
    feed.until("resynced after the loss", |f| in_step(&server, f));
}

/// Decode a frame the front wrote and hand a `book` message to the keeper.
fn apply(keeper: &mut KrakenBook, text: &str) -> Option<Outcome> {
    match parse_kraken(text.as_bytes()).expect("a frame Kestrel decodes") {
        KrakenFrame::Book(msg) => Some(keeper.on_book(&msg)),
        _ => None,
    }
}

/// Take the exchange's pending deltas and publish them.
fn publish(front: &mut KrakenFront, ex: &mut Exchange) -> Vec<Publication> {
    let mut deltas = Vec::new();
    ex.take_deltas(PAIR, &mut deltas);
    front.publish(ex, PAIR, &deltas, &mut Faults::default())
}

#[test]
fn an_update_queued_before_a_snapshot_reaches_that_session_as_a_heartbeat() {
    let mut ex = exchange();
    let mut front = KrakenFront::new(Vec::new());
    let subscribe = json!({
        "method": "subscribe",
        "params": {"channel": "book", "symbol": [PAIR], "depth": 10},
    })
    .to_string();
    let mut first = WsSession::default();
    front.ws_text(&ex, &mut first, &subscribe);
    ex.set_level(PAIR, BookSide::Bid, Fixed(649_980), Fixed(1_000_000));
    let queued = publish(&mut front, &mut ex);
    assert_eq!(queued.len(), 1);

    // A second session subscribes before the update reaches it: its snapshot has the update.
    let mut second = WsSession::default();
    let replies = front.ws_text(&ex, &mut second, &subscribe);
    let config = KrakenBookConfig {
        depth: KrakenDepth::D10,
        price_precision: scale(1),
        qty_precision: scale(8),
    };
    let mut keeper = KrakenBook::new(config);
    assert_eq!(apply(&mut keeper, &replies[1]), Some(Outcome::Applied));
    assert_eq!(keeper.book().bids().len(), 2);

    assert_eq!(front.deliver(&mut first, &queued[0]), queued[0].text);
    let late = front.deliver(&mut second, &queued[0]);
    assert!(matches!(
        parse_kraken(late.as_bytes()),
        Ok(KrakenFrame::Heartbeat)
    ));

    // The next update applies to the snapshot.
    ex.set_level(PAIR, BookSide::Bid, Fixed(649_980), Fixed::ZERO);
    let next = publish(&mut front, &mut ex);
    let text = front.deliver(&mut second, &next[0]);
    assert_eq!(apply(&mut keeper, &text), Some(Outcome::Applied));
    assert_eq!(
        flat(keeper.book().bids()),
        flat(ex.book(PAIR).expect("book").bids())
    );
}
