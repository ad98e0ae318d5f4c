//! The simulated Bybit: signed v5 requests checked with Bybit's rules and refused with its
//! `retCode`s, orders filled by walking the book with fees in the base bought, answers Kestrel's
//! own Bybit client reads; and `orderbook.{depth}.{symbol}` topics our keeper follows exactly,
//! through a gap and a resubscribe.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kestrel_exsim::bybit::{BybitFront, ORDER_CREATE_PER_SECOND, SPOT_WS_PATH};
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, Reject, SymbolSpec};
use kestrel_exsim::http::{HttpRequest, HttpResponse};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault, Front as _};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BybitHeaders, BybitSigner, HttpMethod};
use kestrel_venues::book::Book;
use kestrel_venues::orders::{
    self, BybitWriter, OrderRef, OrderRequest, RequestWriter as _, Scales, Stamp, Status,
};
use kestrel_venues::sync::bybit::BybitBook;
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::bybit::{BybitMsg, parse_bybit};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

const KEY: &str = "exsim-bybit-key-0001";
const SECRET: &str = "Qm9keWJ5Yml0c2VjcmV0Zm9ydGVzdHNvbmx5MDAwMQ";
const SYMBOL: &str = "BTCUSDT";
/// 1 USDT in its units (8 digits: price 2 + size 6).
const USDT: u128 = 100_000_000;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn scales() -> Scales {
    Scales {
        price: scale(2),
        size: scale(6),
    }
}

fn signer() -> BybitSigner {
    BybitSigner::new(KEY, &ApiSecret::new(SECRET)).expect("signer")
}

fn now_ms() -> u64 {
    kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock)
}

/// BTCUSDT as Bybit lists it: a 0.10 tick on prices to 0.01, sizes to 0.000001, at least
/// 0.000011 and 5 USDT; 200 levels a side. VIP1 rates: 0.0675% maker, 0.08% taker.
fn exchange() -> Exchange {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(6),
        },
        AssetSpec {
            name: "USDT".into(),
            scale: scale(8),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: SYMBOL.into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        price_scale: scale(2),
        size_scale: scale(6),
        tick: Fixed(10),
        lot: Fixed(1),
        min_size: Fixed(11),
        min_notional: 5 * USDT,
        depth: 200,
    }];
    let mut ex = Exchange::new(Venue::Bybit, assets, symbols, FeeAsset::Base).expect("exchange");
    ex.add_account(
        KEY,
        FeeRates {
            maker: Rate(67_500),
            taker: Rate(80_000),
        },
    );
    ex
}

/// The venue with 100,000 USDT; asks 65,000.00 × 0.5 and 65,001.00 × 1, bid 64,999.00 × 0.7.
fn venue() -> ExchangeServer {
    let mut ex = exchange();
    ex.deposit(KEY, "USDT", 100_000 * USDT);
    ex.set_level(SYMBOL, BookSide::Ask, Fixed(6_500_000), Fixed(500_000));
    ex.set_level(SYMBOL, BookSide::Ask, Fixed(6_500_100), Fixed(1_000_000));
    ex.set_level(SYMBOL, BookSide::Bid, Fixed(6_499_900), Fixed(700_000));
    let front = BybitFront::new(vec![signer()]);
    ExchangeServer::start(ex, Box::new(front), Duration::from_millis(10)).expect("server")
}

/// Send raw request bytes on a fresh connection: (status, body).
fn send(server: &ExchangeServer, request: &[u8]) -> (u16, String) {
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).expect("read");
        response.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&response).to_string();
        if let Some((head, body)) = text.split_once("\r\n\r\n") {
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.parse().ok())
                .expect("length");
            if body.len() >= length {
                let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
                return (status.expect("status"), body.to_string());
            }
        }
        assert!(n > 0, "closed early");
    }
}

/// A request with Bybit's four auth headers (or none): (status, JSON body).
fn call(
    server: &ExchangeServer,
    method: HttpMethod,
    path: &str,
    query: &str,
    body: &str,
    auth: Option<&BybitHeaders>,
) -> (u16, Value) {
    let target = if query.is_empty() {
        path.to_string()
    } else {
        format!("{path}?{query}")
    };
    let headers = auth.map_or_else(String::new, |h| {
        format!(
            "X-BAPI-API-KEY: {}\r\nX-BAPI-TIMESTAMP: {}\r\nX-BAPI-RECV-WINDOW: {}\r\nX-BAPI-SIGN: {}\r\n",
            h.api_key, h.timestamp, h.recv_window, h.sign
        )
    });
    let request = format!(
        "{} {target} HTTP/1.1\r\nHost: api.bybit.com\r\n{headers}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        method.as_str(),
        body.len()
    );
    let (status, text) = send(server, request.as_bytes());
    (status, serde_json::from_str(&text).expect("json body"))
}

/// The four headers Bybit's docs ask for, signed now.
fn signed(method: HttpMethod, query: &str, body: &str) -> BybitHeaders {
    signer().headers(now_ms(), 5_000, method, query, body)
}

fn post(server: &ExchangeServer, path: &str, body: &Value) -> Value {
    let body = body.to_string();
    let auth = signed(HttpMethod::Post, "", &body);
    let (status, reply) = call(server, HttpMethod::Post, path, "", &body, Some(&auth));
    assert_eq!(status, 200, "{reply}");
    reply
}

fn get(server: &ExchangeServer, path: &str, query: &str) -> Value {
    let auth = signed(HttpMethod::Get, query, "");
    let (status, reply) = call(server, HttpMethod::Get, path, query, "", Some(&auth));
    assert_eq!(status, 200, "{reply}");
    reply
}

fn limit_order(side: &str, qty: &str, price: &str, tif: &str, link: &str) -> Value {
    json!({"category": "spot", "symbol": SYMBOL, "side": side, "orderType": "Limit",
           "qty": qty, "price": price, "timeInForce": tif, "orderLinkId": link})
}

/// `(coin, walletBalance, locked)` from `/v5/account/wallet-balance`.
fn wallet(server: &ExchangeServer) -> HashMap<String, (String, String)> {
    let reply = get(server, "/v5/account/wallet-balance", "accountType=UNIFIED");
    assert_eq!(reply["retCode"], 0, "{reply}");
    reply["result"]["list"][0]["coin"]
        .as_array()
        .expect("coins")
        .iter()
        .map(|c| {
            let text = |k: &str| c[k].as_str().unwrap_or_default().to_string();
            (text("coin"), (text("walletBalance"), text("locked")))
        })
        .collect()
}

#[test]
fn a_signed_ioc_buy_walks_the_book_and_pays_its_fee_in_base() {
    let server = venue();
    let reply = post(
        &server,
        "/v5/order/create",
        &limit_order("Buy", "0.800000", "65001.00", "IOC", "k-1"),
    );
    assert_eq!(
        (reply["retCode"].as_i64(), reply["retMsg"].as_str()),
        (Some(0), Some("OK"))
    );
    assert_eq!(reply["result"]["orderLinkId"], "k-1");
    let order_id = reply["result"]["orderId"]
        .as_str()
        .expect("orderId")
        .to_string();
    assert!(reply["time"].as_u64().is_some(), "{reply}");

    let reply = get(
        &server,
        "/v5/order/realtime",
        "category=spot&orderLinkId=k-1",
    );
    let order = &reply["result"]["list"][0];
    assert_eq!(order["orderId"], order_id.as_str());
    assert_eq!(order["orderStatus"], "Filled");
    assert_eq!(order["timeInForce"], "IOC");
    assert_eq!(order["cumExecQty"], "0.800000");
    assert_eq!(order["leavesQty"], "0.000000");
    // 0.5 at 65,000.00 + 0.3 at 65,001.00 = 32,500 + 19,500.3, an average of 65,000.375.
    assert_eq!(order["cumExecValue"], "52000.3");
    assert_eq!(order["avgPrice"], "65000.375");
    // 0.08% of the base received, per fill: 0.0004 + 0.00024 BTC.
    assert_eq!(order["cumFeeDetail"], json!({"BTC": "0.00064"}));

    let coins = wallet(&server);
    assert_eq!(coins["BTC"], ("0.79936".to_string(), "0".to_string()));
    assert_eq!(coins["USDT"], ("47999.7".to_string(), "0".to_string()));
    // The liquidity taken is gone from the venue's book.
    let (_, book) = call(
        &server,
        HttpMethod::Get,
        "/v5/market/orderbook",
        "category=spot&symbol=BTCUSDT&limit=2",
        "",
        None,
    );
    assert_eq!(book["result"]["a"], json!([["65001.00", "0.700000"]]));
    assert_eq!(book["result"]["b"], json!([["64999.00", "0.700000"]]));
}

#[test]
fn bad_requests_get_bybit_codes() {
    let server = venue();
    let code = |reply: &Value| {
        (
            reply["retCode"].as_i64(),
            reply["retMsg"].as_str().map(str::to_string),
        )
    };
    // The body changed after signing.
    let body = limit_order("Buy", "0.100000", "65000.00", "IOC", "").to_string();
    let auth = signed(HttpMethod::Post, "", &body);
    let tampered = body.replace("0.100000", "0.200000");
    let (status, reply) = call(
        &server,
        HttpMethod::Post,
        "/v5/order/create",
        "",
        &tampered,
        Some(&auth),
    );
    assert_eq!(
        (status, code(&reply)),
        (200, (Some(10004), Some("error sign!".into())))
    );
    // A key the venue never issued.
    let stranger = BybitSigner::new("not-a-key", &ApiSecret::new(SECRET)).expect("signer");
    let auth = stranger.headers(now_ms(), 5_000, HttpMethod::Post, "", &body);
    let (status, reply) = call(
        &server,
        HttpMethod::Post,
        "/v5/order/create",
        "",
        &body,
        Some(&auth),
    );
    assert_eq!(
        (status, code(&reply)),
        (401, (Some(10003), Some("API key is invalid.".into())))
    );
    // A minute old.
    let auth = signer().headers(now_ms() - 60_000, 5_000, HttpMethod::Post, "", &body);
    let (_, reply) = call(
        &server,
        HttpMethod::Post,
        "/v5/order/create",
        "",
        &body,
        Some(&auth),
    );
    assert_eq!(reply["retCode"], 10002, "{reply}");

    let create = |order: Value| code(&post(&server, "/v5/order/create", &order));
    assert_eq!(
        create(limit_order("Buy", "10.000000", "65000.00", "IOC", "")),
        (Some(170131), Some("Balance insufficient".into()))
    );
    // 65,000.05 is exact at 2 digits but off the 0.10 tick.
    assert_eq!(
        create(limit_order("Buy", "0.100000", "65000.05", "IOC", "")).0,
        Some(170134)
    );
    assert_eq!(
        create(limit_order("Buy", "0.100000", "65000.001", "IOC", "")).0,
        Some(170134)
    );
    assert_eq!(
        create(limit_order("Buy", "0.0000001", "65000.00", "IOC", "")).0,
        Some(170137)
    );
    assert_eq!(
        create(limit_order("Buy", "0.000010", "65000.00", "IOC", "")),
        (
            Some(170136),
            Some("Order quantity lower than the minimum.".into())
        )
    );
    assert_eq!(
        create(limit_order("Buy", "0.000050", "65000.00", "IOC", "")).0,
        Some(170140)
    );
    let mut other = limit_order("Buy", "0.100000", "65000.00", "IOC", "");
    other["symbol"] = json!("ETHUSDT");
    assert_eq!(
        create(other),
        (Some(170121), Some("Invalid symbol.".into()))
    );
    let mut market = limit_order("Buy", "0.100000", "65000.00", "IOC", "");
    market["orderType"] = json!("Market");
    assert_eq!(create(market).0, Some(170116));

    let cancel = json!({"category": "spot", "symbol": SYMBOL, "orderLinkId": "never-placed"});
    assert_eq!(
        code(&post(&server, "/v5/order/cancel", &cancel)),
        (Some(170213), Some("Order does not exist.".into()))
    );
    // Nothing found is an empty list, not an error.
    let reply = get(
        &server,
        "/v5/order/realtime",
        "category=spot&orderLinkId=never-placed",
    );
    assert_eq!(reply["result"]["list"], json!([]), "{reply}");

    server.fault(Fault::RejectNextOrder(Reject::Injected {
        code: 10006,
        message: "Too many visits. Exceeded the API Rate Limit.".into(),
    }));
    assert_eq!(
        create(limit_order("Buy", "0.100000", "65000.00", "IOC", "")).0,
        Some(10006)
    );
    // Nothing above moved money or took an order id.
    let usdt = server.with_exchange(|ex| ex.balance(KEY, "USDT"));
    assert_eq!(usdt, (100_000 * USDT, 0));
}

/// A signed request to `front` at `at_ms`, not over the wire (so the clock is the test's).
fn direct(
    front: &mut BybitFront,
    ex: &mut Exchange,
    method: HttpMethod,
    path: &str,
    query: &str,
    body: &str,
    at_ms: u64,
) -> HttpResponse {
    let auth = signer().headers(at_ms, 5_000, method, query, body);
    let request = HttpRequest {
        method: method.as_str().to_string(),
        path: path.to_string(),
        query: query.to_string(),
        headers: vec![
            ("x-bapi-api-key".into(), auth.api_key),
            ("x-bapi-timestamp".into(), auth.timestamp),
            ("x-bapi-recv-window".into(), auth.recv_window),
            ("x-bapi-sign".into(), auth.sign),
        ],
        body: body.as_bytes().to_vec(),
    };
    front.http(ex, &request, at_ms)
}

/// An order create at `at_ms`: a buy of 0.0001 BTC resting at 60,000.00.
fn create_at(front: &mut BybitFront, ex: &mut Exchange, at_ms: u64) -> HttpResponse {
    let order = limit_order("Buy", "0.0001", "60000.00", "GTC", &format!("rate-{at_ms}"));
    let body = order.to_string();
    direct(
        front,
        ex,
        HttpMethod::Post,
        "/v5/order/create",
        "",
        &body,
        at_ms,
    )
}

/// `retCode` and the three rate-limit headers of an answer: (code, left, limit, reset ms).
fn counted(answer: &HttpResponse) -> (i64, u32, u32, u64) {
    let header = |name: &str| {
        answer
            .headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .and_then(|(_, v)| v.parse::<u64>().ok())
            .unwrap_or_else(|| panic!("no {name} in {:?}", answer.headers))
    };
    let body: Value = serde_json::from_str(&answer.body).expect("json");
    (
        body["retCode"].as_i64().expect("retCode"),
        u32::try_from(header("X-Bapi-Limit-Status")).expect("left"),
        u32::try_from(header("X-Bapi-Limit")).expect("limit"),
        header("X-Bapi-Limit-Reset-Timestamp"),
    )
}

#[test]
fn every_private_answer_states_its_endpoints_count_and_the_limit_holds() {
    let mut ex = exchange();
    ex.deposit(KEY, "USDT", 100_000 * USDT);
    let mut front = BybitFront::new(vec![signer()]);
    let t0 = now_ms();
    // Bybit's 20 creates a second, one a millisecond: each answer counts down; the one that
    // spends the last says when the window frees a request (the first one's second is over).
    for i in 0..u64::from(ORDER_CREATE_PER_SECOND) {
        let left = ORDER_CREATE_PER_SECOND - 1 - u32::try_from(i).expect("small");
        let reset = if left == 0 { t0 + 1_000 } else { t0 + i };
        assert_eq!(
            counted(&create_at(&mut front, &mut ex, t0 + i)),
            (0, left, ORDER_CREATE_PER_SECOND, reset),
            "create {i}"
        );
    }
    // Over the limit: refused with 10006, not counted, the order not placed.
    assert_eq!(
        counted(&create_at(&mut front, &mut ex, t0 + 500)),
        (10006, 0, ORDER_CREATE_PER_SECOND, t0 + 1_000)
    );
    assert_eq!(ex.open_orders(KEY, None).len(), 20);
    // Another endpoint has its own count.
    let query = "category=spot&symbol=BTCUSDT";
    let realtime = direct(
        &mut front,
        &mut ex,
        HttpMethod::Get,
        "/v5/order/realtime",
        query,
        "",
        t0 + 500,
    );
    assert_eq!(counted(&realtime), (0, 49, 50, t0 + 500));
    // The window rolls: a second after the first create, one request is free again.
    assert_eq!(
        counted(&create_at(&mut front, &mut ex, t0 + 1_000)),
        (0, 0, ORDER_CREATE_PER_SECOND, t0 + 1_001)
    );
    assert_eq!(ex.open_orders(KEY, None).len(), 21);

    // Another limit and window, as a test sets them.
    let mut ex = exchange();
    ex.deposit(KEY, "USDT", 100_000 * USDT);
    let mut front = BybitFront::new(vec![signer()]).with_order_create_limit(2, 60_000);
    assert_eq!(counted(&create_at(&mut front, &mut ex, t0)), (0, 1, 2, t0));
    assert_eq!(
        counted(&create_at(&mut front, &mut ex, t0 + 10)),
        (0, 0, 2, t0 + 60_000)
    );
    assert_eq!(
        counted(&create_at(&mut front, &mut ex, t0 + 59_999)),
        (10006, 0, 2, t0 + 60_000)
    );
    assert_eq!(
        counted(&create_at(&mut front, &mut ex, t0 + 60_000)),
        (0, 0, 2, t0 + 60_010)
    );
}

#[test]
fn a_resting_order_holds_its_funds_until_cancelled() {
    let server = venue();
    let reply = post(
        &server,
        "/v5/order/create",
        &limit_order("Buy", "0.100000", "64000.00", "GTC", "rest-1"),
    );
    let id = reply["result"]["orderId"]
        .as_str()
        .expect("orderId")
        .to_string();
    let reply = get(
        &server,
        "/v5/order/realtime",
        "category=spot&symbol=BTCUSDT",
    );
    let order = &reply["result"]["list"][0];
    assert_eq!(
        (order["orderId"].as_str(), order["orderStatus"].as_str()),
        (Some(id.as_str()), Some("New"))
    );
    assert_eq!(order["leavesQty"], "0.100000");
    assert_eq!(order["avgPrice"], "");
    // 0.1 × 64,000 is locked; the fee comes out of the base bought, so nothing more.
    assert_eq!(
        wallet(&server)["USDT"],
        ("100000".to_string(), "6400".to_string())
    );

    let cancel = json!({"category": "spot", "symbol": SYMBOL, "orderId": id});
    let reply = post(&server, "/v5/order/cancel", &cancel);
    assert_eq!(reply["result"]["orderLinkId"], "rest-1", "{reply}");
    let reply = get(
        &server,
        "/v5/order/realtime",
        &format!("category=spot&orderId={id}"),
    );
    let order = &reply["result"]["list"][0];
    assert_eq!(
        (order["orderStatus"].as_str(), order["cancelType"].as_str()),
        (Some("Cancelled"), Some("CancelByUser"))
    );
    let again = post(&server, "/v5/order/cancel", &cancel);
    assert_eq!(again["retCode"], 170142, "{again}");
    assert_eq!(
        wallet(&server)["USDT"],
        ("100000".to_string(), "0".to_string())
    );
    // Open orders only, by default: none left.
    let reply = get(&server, "/v5/order/realtime", "category=spot");
    assert_eq!(reply["result"]["list"], json!([]));
}

#[test]
fn symbol_rules_and_fee_rates_come_from_the_venue() {
    let server = venue();
    let (status, info) = call(
        &server,
        HttpMethod::Get,
        "/v5/market/instruments-info",
        "category=spot&symbol=BTCUSDT",
        "",
        None,
    );
    assert_eq!(status, 200);
    let symbol = &info["result"]["list"][0];
    assert_eq!(symbol["priceFilter"]["tickSize"], "0.1");
    let lot = &symbol["lotSizeFilter"];
    assert_eq!(lot["basePrecision"], "0.000001");
    assert_eq!(lot["quotePrecision"], "0.00000001");
    assert_eq!(lot["minOrderQty"], "0.000011");
    assert_eq!(lot["minOrderAmt"], "5");
    let reply = get(
        &server,
        "/v5/account/fee-rate",
        "category=spot&symbol=BTCUSDT",
    );
    let rate = &reply["result"]["list"][0];
    assert_eq!(
        (
            rate["symbol"].as_str(),
            rate["takerFeeRate"].as_str(),
            rate["makerFeeRate"].as_str()
        ),
        (Some(SYMBOL), Some("0.0008"), Some("0.000675"))
    );
}

/// Kestrel's own Bybit client (request writer and answer parsers) against the simulation.
#[test]
fn kestrel_s_bybit_client_reads_the_simulated_venue() {
    let server = venue();
    server.with_exchange(|ex| ex.deposit(KEY, "BTC", 1_000_000));
    let writer = BybitWriter::new(signer(), &server.addr().to_string());
    let stamp = || Stamp {
        unix_ms: now_ms(),
        nonce: 0,
        entropy: [0; 16],
    };
    let mut request = Vec::new();
    // Sell 0.9 into a 0.7 bid: the IOC fills 0.7 and the rest is cancelled.
    let order = OrderRequest {
        symbol: SYMBOL,
        side: OrderSide::Sell,
        size: Fixed(900_000),
        limit: Fixed(6_499_900),
        scales: scales(),
        tif: orders::Tif::Ioc,
        client_id: "kestrel-7",
    };
    writer
        .new_order(&order, &stamp(), &mut request)
        .expect("write");
    let (status, body) = send(&server, &request);
    let ack = orders::parse_order(Venue::Bybit, status, body.as_bytes(), scales()).expect("ack");
    assert_eq!((ack.client_id.as_str(), ack.status), ("kestrel-7", None));

    writer
        .query_order(
            SYMBOL,
            OrderRef::Client("kestrel-7"),
            &stamp(),
            &mut request,
        )
        .expect("write");
    let (status, body) = send(&server, &request);
    let report =
        orders::parse_order_query(Venue::Bybit, status, body.as_bytes(), scales()).expect(&body);
    assert_eq!(report.venue_order_id, ack.venue_order_id);
    assert_eq!(
        report.status,
        Some(Status::Canceled),
        "PartiallyFilledCanceled"
    );
    assert_eq!(report.filled, Fixed(700_000));
    // 0.7 × 64,999 = 45,499.3 USDT, at 8 digits.
    assert_eq!(report.notional, Some(4_549_930_000_000));
    // A sell pays in quote: 0.08% of 45,499.3.
    assert_eq!(report.fees.len(), 1);
    assert_eq!(
        (
            report.fees[0].asset.as_str(),
            report.fees[0].amount.to_string()
        ),
        ("USDT", "36.39944".to_string())
    );

    writer.balances(&stamp(), &mut request).expect("write");
    let (status, body) = send(&server, &request);
    let balances = orders::parse_balances(Venue::Bybit, status, body.as_bytes()).expect(&body);
    let free = |asset: &str| {
        balances
            .iter()
            .find(|b| b.asset == asset)
            .map(|b| b.free.to_string())
    };
    assert_eq!(free("BTC").as_deref(), Some("0.3"));
    assert_eq!(free("USDT").as_deref(), Some("145462.90056"));

    writer
        .fee_rates(SYMBOL, &stamp(), &mut request)
        .expect("write");
    let (status, body) = send(&server, &request);
    let rates = orders::parse_fee_rates(Venue::Bybit, status, body.as_bytes()).expect(&body);
    assert_eq!((rates.maker, rates.taker), (Rate(67_500), Rate(80_000)));

    writer.symbol_rules(SYMBOL, &mut request).expect("write");
    let (status, body) = send(&server, &request);
    let rules =
        orders::parse_symbol_rules(Venue::Bybit, status, body.as_bytes(), scales()).expect(&body);
    assert_eq!(
        (rules.tick, rules.lot, rules.min_notional),
        (Fixed(10), Fixed(1), Some(5 * USDT))
    );

    // A cancel of an order already done is refused with the venue's code.
    writer
        .cancel_order(
            SYMBOL,
            OrderRef::Client("kestrel-7"),
            &stamp(),
            &mut request,
        )
        .expect("write");
    let (status, body) = send(&server, &request);
    let refused =
        orders::parse_cancel(Venue::Bybit, status, body.as_bytes(), scales()).expect_err("closed");
    assert_eq!(refused.code, Some(orders::ErrorCode::Number(170142)));
}

// ---------------------------------------------------------------------------------------------
// Market data
// ---------------------------------------------------------------------------------------------

/// A WebSocket client feeding every `orderbook.*` frame to our keeper for its topic.
struct Feed {
    ws: WebSocket<TcpStream>,
    keepers: HashMap<String, BybitBook>,
    /// Every resync a keeper reported, with its topic.
    resyncs: Vec<(String, ResyncReason)>,
    replies: Vec<Value>,
    pongs: usize,
}

impl Feed {
    fn connect(server: &ExchangeServer) -> Feed {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        let url = format!("ws://{}{SPOT_WS_PATH}", server.addr());
        let (ws, _) = tungstenite::client(url, stream).expect("handshake");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        Feed {
            ws,
            keepers: HashMap::new(),
            resyncs: Vec::new(),
            replies: Vec::new(),
            pongs: 0,
        }
    }

    fn send(&mut self, request: Value) {
        self.ws
            .send(Message::text(request.to_string()))
            .expect("send");
    }

    /// Subscribe to `topics`, with a keeper for each that is new.
    fn subscribe(&mut self, topics: &[&str]) {
        for topic in topics {
            let depth: usize = topic
                .split('.')
                .nth(1)
                .and_then(|d| d.parse().ok())
                .expect("depth");
            self.keepers.entry((*topic).to_string()).or_insert_with(|| {
                BybitBook::new(Book::new(depth + 20, scale(2), scale(6)), depth)
            });
        }
        self.send(json!({"op": "subscribe", "req_id": "sub", "args": topics}));
    }

    /// Read one frame, if one comes within the read timeout, and apply it.
    fn pump(&mut self) -> bool {
        let text = match self.ws.read() {
            Ok(Message::Text(text)) => text.to_string(),
            Ok(_) => return true,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return false;
            }
            Err(e) => panic!("websocket: {e}"),
        };
        let frame = parse_bybit(text.as_bytes()).expect(&text);
        match frame.msg {
            BybitMsg::Depth(depth) => {
                let topic = String::from_utf8_lossy(frame.topic.expect("topic")).to_string();
                let keeper = self.keepers.get_mut(&topic).expect("a subscribed topic");
                if let Outcome::Resync(reason) = keeper.on_depth(&depth) {
                    self.resyncs.push((topic, reason));
                }
            }
            BybitMsg::Reply(_) => self
                .replies
                .push(serde_json::from_str(&text).expect("json")),
            BybitMsg::Pong => self.pongs += 1,
            _ => panic!("unexpected frame {text}"),
        }
        true
    }

    /// Pump until `done` holds (or panic after 10 s).
    fn until(&mut self, what: &str, mut done: impl FnMut(&Feed) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            self.pump();
        }
    }
}

/// A side as `(price, size)` units.
fn flat(levels: &[kestrel_venues::book::Level]) -> Vec<(u64, u64)> {
    levels.iter().map(|l| (l.price.0, l.size.0)).collect()
}

/// Whether every keeper is synced and holds exactly the venue's best `depth` levels a side.
fn in_step(server: &ExchangeServer, feed: &Feed) -> bool {
    let (bids, asks) = server.with_exchange(|ex| {
        let book = ex.book(SYMBOL).expect("book");
        (flat(book.bids()), flat(book.asks()))
    });
    feed.keepers.values().all(|k| {
        let n = k.depth();
        k.is_synced()
            && flat(k.book().bids()) == bids[..n.min(bids.len())]
            && flat(k.book().asks()) == asks[..n.min(asks.len())]
    })
}

fn market() -> MarketGen {
    MarketGen::new(
        11,
        &[Venue::Bybit],
        MarketParams {
            start_mid: Fixed(6_500_000),
            tick: Fixed(10),
            vol_bps_per_step: 4,
            venue_noise_bps: 1,
            half_spread_ticks: 1,
            levels: 80,
            level_size: Fixed(500_000),
            level_size_jitter: 40,
        },
    )
    .with_lot(Fixed(1))
}

fn move_market(server: &ExchangeServer, market: &mut MarketGen, feed: &mut Feed, steps: usize) {
    for _ in 0..steps {
        market.step();
        server.with_exchange(|ex| market.apply(Venue::Bybit, ex, SYMBOL));
        // Read while the market moves, as a live client does.
        let until = Instant::now() + Duration::from_millis(4);
        while Instant::now() < until {
            feed.pump();
        }
    }
}

#[test]
fn orderbook_topics_follow_the_venue_through_a_gap() {
    let server = ExchangeServer::start(
        exchange(),
        Box::new(BybitFront::new(Vec::new())),
        Duration::from_millis(10),
    )
    .expect("server");
    let mut market = market();
    server.with_exchange(|ex| market.apply(Venue::Bybit, ex, SYMBOL));
    let mut feed = Feed::connect(&server);

    feed.subscribe(&["orderbook.50.BTCUSDT", "orderbook.1.BTCUSDT"]);
    feed.until("the ack and both snapshots", |f| {
        !f.replies.is_empty() && f.keepers.values().all(BybitBook::is_synced)
    });
    let ack = &feed.replies[0];
    assert_eq!(
        (
            ack["success"].as_bool(),
            ack["ret_msg"].as_str(),
            ack["req_id"].as_str(),
            ack["op"].as_str()
        ),
        (
            Some(true),
            Some("subscribe"),
            Some("sub"),
            Some("subscribe")
        ),
        "the public spot ack"
    );
    assert!(in_step(&server, &feed), "snapshots are the venue's book");
    feed.send(json!({"op": "ping", "req_id": "p1"}));
    feed.until("the pong", |f| f.pongs == 1);

    move_market(&server, &mut market, &mut feed, 40);
    feed.until("keepers in step after 40 steps", |f| in_step(&server, f));
    assert!(feed.resyncs.is_empty(), "{:?}", feed.resyncs);
    let deep = &feed.keepers["orderbook.50.BTCUSDT"];
    assert!(
        deep.stats().applied > 0,
        "deltas applied, not only the snapshot"
    );
    let top = &feed.keepers["orderbook.1.BTCUSDT"];
    assert_eq!(top.stats().applied, 0, "level 1 sends snapshots only");
    assert!(top.stats().snapshots > 1);

    server.fault(Fault::Gap);
    move_market(&server, &mut market, &mut feed, 5);
    feed.until("the gap seen", |f| {
        f.keepers["orderbook.50.BTCUSDT"].stats().gaps == 1
    });
    let gap = feed
        .resyncs
        .iter()
        .find(|(topic, _)| topic == "orderbook.50.BTCUSDT")
        .map(|(_, reason)| *reason);
    match gap {
        Some(ResyncReason::Gap { expected, got }) => assert_eq!(got, expected + 5),
        other => panic!("expected a gap, got {other:?}"),
    }

    // A new snapshot needs a new subscription; subscribing twice is refused.
    feed.subscribe(&["orderbook.50.BTCUSDT"]);
    feed.until("the refusal", |f| f.replies.len() == 2);
    assert_eq!(feed.replies[1]["success"], false, "{}", feed.replies[1]);
    feed.send(json!({"op": "unsubscribe", "args": ["orderbook.50.BTCUSDT"]}));
    feed.subscribe(&["orderbook.50.BTCUSDT"]);
    move_market(&server, &mut market, &mut feed, 10);
    feed.until("keepers in step after resubscribing", |f| {
        in_step(&server, f)
    });
    assert_eq!(feed.keepers["orderbook.50.BTCUSDT"].stats().snapshots, 2);

    feed.send(json!({"op": "subscribe", "args": ["orderbook.7.BTCUSDT"]}));
    feed.until("the refusal of a depth spot does not have", |f| {
        f.replies.len() == 5
    });
    assert_eq!(feed.replies[4]["success"], false, "{}", feed.replies[4]);
}
