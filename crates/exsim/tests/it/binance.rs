//! The simulated Binance's REST side: SIGNED requests checked with the venue's rules, orders
//! filled by walking its own book with fees, answers in Binance's formats.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::engine::Reject;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, SymbolSpec};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_types::cex::{BookSide, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BinanceSigner};
use kestrel_venues::orders::{
    self, Amount, BinanceWriter, ErrorClass, Fee, OrderRef, OrderReport, RequestWriter, Scales,
    Stamp,
};
use serde_json::{Value, json};

const KEY: &str = "test-key-0001";
const SECRET: &str = "NhqPtmdSJYdKjVHjA7PZj4Mge3R5YNiP1e3UZjInClVN65XAbvqqM6A7H5fATj0j";

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn signer() -> BinanceSigner {
    BinanceSigner::hmac(KEY, &ApiSecret::new(SECRET)).expect("signer")
}

/// BTCUSDT with prices to 0.01 and sizes to 0.00001; asks 65,000.00 × 0.5 and 65,001.00 × 1.
fn venue() -> ExchangeServer {
    venue_with(BinanceFront::new(vec![signer().verify_key()]))
}

/// [`venue`] behind `front`.
fn venue_with(front: BinanceFront) -> ExchangeServer {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(5),
        },
        AssetSpec {
            name: "USDT".into(),
            scale: scale(7),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: "BTCUSDT".into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        price_scale: scale(2),
        size_scale: scale(5),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(10),
        min_notional: 5 * 10_000_000,
        depth: 100,
    }];
    let mut ex = Exchange::new(Venue::Binance, assets, symbols, FeeAsset::Base).expect("exchange");
    ex.add_account(
        KEY,
        FeeRates {
            maker: Rate(100_000),
            taker: Rate(100_000),
        },
    );
    ex.deposit(KEY, "USDT", 100_000 * 10_000_000);
    ex.set_level("BTCUSDT", BookSide::Ask, Fixed(6_500_000), Fixed(50_000));
    ex.set_level("BTCUSDT", BookSide::Ask, Fixed(6_500_100), Fixed(100_000));
    ex.set_level("BTCUSDT", BookSide::Bid, Fixed(6_499_900), Fixed(70_000));
    ExchangeServer::start(ex, Box::new(front), Duration::from_millis(10)).expect("server")
}

/// One request on a fresh connection: (status, JSON body).
fn call(
    server: &ExchangeServer,
    method: &str,
    target: &str,
    body: &str,
    key: Option<&str>,
) -> (u16, Value) {
    let key_header = key
        .map(|k| format!("X-MBX-APIKEY: {k}\r\n"))
        .unwrap_or_default();
    let request = format!(
        "{method} {target} HTTP/1.1\r\nHost: x\r\n{key_header}Content-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, body) = send(server, request.as_bytes());
    (status, serde_json::from_slice(&body).expect("json body"))
}

/// One complete request's bytes on a fresh connection: (status, body).
fn send(server: &ExchangeServer, request: &[u8]) -> (u16, Vec<u8>) {
    let (status, _, body) = send_full(server, request);
    (status, body)
}

/// [`send`], with the answer's head.
fn send_full(server: &ExchangeServer, request: &[u8]) -> (u16, String, Vec<u8>) {
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = stream.read(&mut chunk).expect("read");
        assert!(n > 0, "closed early");
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
        let body = head_end + 4;
        if response.len() >= body + length {
            let status = head
                .split(' ')
                .nth(1)
                .and_then(|s| s.parse().ok())
                .expect("status");
            return (status, head, response[body..body + length].to_vec());
        }
    }
}

fn now_ms() -> u64 {
    kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock)
}

#[test]
fn a_signed_ioc_buy_walks_the_book_and_pays_its_fee_in_base() {
    let server = venue();
    let params = "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.80000&price=65001.00&newClientOrderId=k-1&newOrderRespType=FULL";
    let body = signer().signed_query(params, now_ms(), 5_000);
    let (status, order) = call(&server, "POST", "/api/v3/order", &body, Some(KEY));
    assert_eq!(status, 200, "{order}");
    assert_eq!(order["status"], "FILLED");
    assert_eq!(order["clientOrderId"], "k-1");
    assert_eq!(order["executedQty"], "0.80000");
    // 0.5 at 65,000.00 + 0.3 at 65,001.00 = 32,500 + 19,500.3.
    assert_eq!(order["cummulativeQuoteQty"], "52000.3000000");
    let fills = order["fills"].as_array().expect("fills");
    assert_eq!(fills.len(), 2);
    assert_eq!(
        (fills[0]["price"].as_str(), fills[0]["qty"].as_str()),
        (Some("65000.00"), Some("0.50000"))
    );
    // 0.1% of the base received, in BTC.
    assert_eq!(
        (
            fills[0]["commission"].as_str(),
            fills[0]["commissionAsset"].as_str()
        ),
        (Some("0.00050"), Some("BTC"))
    );
    assert_eq!(fills[1]["commission"], "0.00030");
    let (status, account) = call(
        &server,
        "GET",
        &format!(
            "/api/v3/account?{}",
            signer().signed_query("", now_ms(), 5_000)
        ),
        "",
        Some(KEY),
    );
    assert_eq!(status, 200, "{account}");
    let balance = |asset: &str| {
        account["balances"]
            .as_array()
            .and_then(|b| b.iter().find(|x| x["asset"] == asset))
            .map(|x| x["free"].as_str().unwrap_or_default().to_string())
    };
    assert_eq!(balance("BTC").as_deref(), Some("0.79920"));
    assert_eq!(balance("USDT").as_deref(), Some("47999.7000000"));
    // The liquidity taken is gone from the venue's book.
    let (_, depth) = call(
        &server,
        "GET",
        "/api/v3/depth?symbol=BTCUSDT&limit=5",
        "",
        None,
    );
    assert_eq!(depth["asks"][0], serde_json::json!(["65001.00", "0.70000"]));
}

#[test]
fn bad_requests_get_binance_codes() {
    let server = venue();
    let params =
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.10000&price=65000.00";
    let mut body = signer().signed_query(params, now_ms(), 5_000);
    body = body.replace("quantity=0.10000", "quantity=0.20000");
    let (status, reply) = call(&server, "POST", "/api/v3/order", &body, Some(KEY));
    assert_eq!(
        (status, reply["code"].as_i64()),
        (400, Some(-1022)),
        "{reply}"
    );
    let body = signer().signed_query(params, now_ms() - 60_000, 5_000);
    let (_, reply) = call(&server, "POST", "/api/v3/order", &body, Some(KEY));
    assert_eq!(reply["code"], -1021);
    let (_, reply) = call(
        &server,
        "POST",
        "/api/v3/order",
        &signer().signed_query(params, now_ms(), 5_000),
        None,
    );
    assert_eq!(reply["code"], -2014);
    let too_big = params.replace("quantity=0.10000", "quantity=10.00000");
    let (_, reply) = call(
        &server,
        "POST",
        "/api/v3/order",
        &signer().signed_query(&too_big, now_ms(), 5_000),
        Some(KEY),
    );
    assert_eq!(
        (reply["code"].as_i64(), reply["msg"].as_str()),
        (
            Some(-2010),
            Some("Account has insufficient balance for requested action.")
        )
    );
    let off_tick = params.replace("price=65000.00", "price=65000.005");
    let (_, reply) = call(
        &server,
        "POST",
        "/api/v3/order",
        &signer().signed_query(&off_tick, now_ms(), 5_000),
        Some(KEY),
    );
    assert_eq!(reply["code"], -1111);
    let small = params.replace("quantity=0.10000", "quantity=0.00005");
    let (_, reply) = call(
        &server,
        "POST",
        "/api/v3/order",
        &signer().signed_query(&small, now_ms(), 5_000),
        Some(KEY),
    );
    assert_eq!(
        (reply["code"].as_i64(), reply["msg"].as_str()),
        (Some(-1013), Some("Filter failure: LOT_SIZE"))
    );
    server.fault(Fault::RejectNextOrder(Reject::Injected { code: -1007, message: "Timeout waiting for response from backend server. Send status unknown; execution status unknown.".into() }));
    let (status, reply) = call(
        &server,
        "POST",
        "/api/v3/order",
        &signer().signed_query(params, now_ms(), 5_000),
        Some(KEY),
    );
    assert_eq!((status, reply["code"].as_i64()), (503, Some(-1007)));
    let (status, reply) = call(&server, "GET", "/api/v3/depth?symbol=NOPE", "", None);
    assert_eq!((status, reply["code"].as_i64()), (400, Some(-1121)));
    // Nothing above moved money.
    let usdt = server.with_exchange(|ex| ex.balance(KEY, "USDT"));
    assert_eq!(usdt, (100_000 * 10_000_000, 0));
}

#[test]
fn symbol_rules_and_fee_rates_come_from_the_venue() {
    let server = venue();
    let (status, info) = call(
        &server,
        "GET",
        "/api/v3/exchangeInfo?symbol=BTCUSDT",
        "",
        None,
    );
    assert_eq!(status, 200);
    let filters = info["symbols"][0]["filters"].as_array().expect("filters");
    let filter = |t: &str| {
        filters
            .iter()
            .find(|f| f["filterType"] == t)
            .cloned()
            .expect("filter")
    };
    assert_eq!(filter("PRICE_FILTER")["tickSize"], "0.01");
    assert_eq!(filter("LOT_SIZE")["stepSize"], "0.00001");
    assert_eq!(filter("LOT_SIZE")["minQty"], "0.00010");
    assert_eq!(filter("NOTIONAL")["minNotional"], "5.0000000");
    let target = format!(
        "/api/v3/account/commission?{}",
        signer().signed_query("symbol=BTCUSDT", now_ms(), 5_000)
    );
    let (status, fees) = call(&server, "GET", &target, "", Some(KEY));
    assert_eq!(status, 200, "{fees}");
    assert_eq!(fees["standardCommission"]["taker"], "0.00100000");
}

fn scales() -> Scales {
    Scales {
        price: scale(2),
        size: scale(5),
    }
}

/// A signed `myTrades` request written by Kestrel's own `BinanceWriter` for `server`.
fn trades_request(server: &ExchangeServer, order_id: &str, from: Option<&str>) -> Vec<u8> {
    let stamp = Stamp {
        unix_ms: now_ms(),
        nonce: 1,
        entropy: [0; 16],
    };
    let mut out = Vec::new();
    BinanceWriter::new(signer(), &server.addr().to_string())
        .order_fills("BTCUSDT", OrderRef::Venue(order_id), from, &stamp, &mut out)
        .expect("write trades request");
    out
}

/// Places a signed IOC order; its `FULL` answer as read by Kestrel.
fn place(server: &ExchangeServer, params: &str) -> OrderReport {
    let body = signer().signed_query(params, now_ms(), 5_000);
    let (status, order) = call(server, "POST", "/api/v3/order", &body, Some(KEY));
    assert_eq!(status, 200, "{order}");
    orders::parse_order(
        Venue::Binance,
        status,
        order.to_string().as_bytes(),
        scales(),
    )
    .expect("placed")
}

#[test]
fn an_orders_trades_carry_the_commission_the_engine_charged() {
    let server = venue();
    // 0.8 BTC takes 0.5 at 65,000.00 and 0.3 at 65,001.00: two trades, fees in BTC.
    let buy = place(
        &server,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.80000&price=65001.00&newClientOrderId=k-1&newOrderRespType=FULL",
    );
    let (status, body) = send(&server, &trades_request(&server, &buy.venue_order_id, None));
    let raw: Value = serde_json::from_slice(&body).expect("json");
    assert_eq!(status, 200, "{raw}");
    // Binance's fields, oldest first.
    let rows = raw.as_array().expect("an array");
    assert_eq!(rows.len(), 2);
    assert_eq!(
        (
            &rows[0]["symbol"],
            &rows[0]["orderId"],
            &rows[0]["price"],
            &rows[0]["qty"],
            &rows[0]["quoteQty"],
            &rows[0]["commission"],
            &rows[0]["commissionAsset"],
            &rows[0]["isBuyer"],
            &rows[0]["isMaker"],
        ),
        (
            &json!("BTCUSDT"),
            &json!(buy.venue_order_id.parse::<u64>().expect("id")),
            &json!("65000.00"),
            &json!("0.50000"),
            &json!("32500.0000000"),
            &json!("0.00050"),
            &json!("BTC"),
            &json!(true),
            &json!(false),
        )
    );
    // Read by Kestrel: the trades and commissions the order's own answer reported, exactly.
    let trades = orders::parse_order_fills(Venue::Binance, status, &body, scales()).expect("read");
    assert_eq!(trades.fills, buy.fills);
    assert_eq!(trades.fees, buy.fees);
    assert_eq!(
        trades.fees,
        vec![Fee {
            asset: "BTC".into(),
            amount: Amount::parse("0.00080").expect("amount"),
            rebate: false,
        }]
    );
    assert_eq!(trades.next_after, None);

    // A sell pays its commission in USDT: 0.1 % of 0.1 × 64,999.00, to the quote's 7 digits.
    let sell = place(
        &server,
        "symbol=BTCUSDT&side=SELL&type=LIMIT&timeInForce=IOC&quantity=0.10000&price=64999.00&newClientOrderId=k-2&newOrderRespType=FULL",
    );
    let (status, body) = send(
        &server,
        &trades_request(&server, &sell.venue_order_id, None),
    );
    let trades = orders::parse_order_fills(Venue::Binance, status, &body, scales()).expect("read");
    assert_eq!(trades.fills.len(), 1);
    assert_eq!(
        trades.fees,
        vec![Fee {
            asset: "USDT".into(),
            amount: Amount::parse("6.4999000").expect("amount"),
            rebate: false,
        }]
    );
    // From a trade id on: the buy's second trade only.
    let second = buy.fills[1].trade_id.as_str();
    let (status, body) = send(
        &server,
        &trades_request(&server, &buy.venue_order_id, Some(second)),
    );
    let trades = orders::parse_order_fills(Venue::Binance, status, &body, scales()).expect("read");
    assert_eq!(trades.fills, buy.fills[1..]);
    // Without an order id: every trade on the symbol, oldest first.
    let target = format!(
        "/api/v3/myTrades?{}",
        signer().signed_query("symbol=BTCUSDT", now_ms(), 5_000)
    );
    let (status, all) = call(&server, "GET", &target, "", Some(KEY));
    assert_eq!(status, 200, "{all}");
    let ids: Vec<&Value> = all
        .as_array()
        .expect("an array")
        .iter()
        .map(|t| &t["id"])
        .collect();
    let expected: Vec<Value> = buy
        .fills
        .iter()
        .chain(&sell.fills)
        .map(|f| json!(f.trade_id.parse::<u64>().expect("id")))
        .collect();
    assert_eq!(ids, expected.iter().collect::<Vec<_>>());
    // An order the venue does not know has no trades.
    let (status, body) = send(&server, &trades_request(&server, "999", None));
    assert_eq!((status, body.as_slice()), (200, b"[]".as_slice()));
}

#[test]
fn a_trades_request_is_checked_like_any_signed_request() {
    let server = venue();
    let signed = signer().signed_query("symbol=BTCUSDT&orderId=1", now_ms(), 5_000);
    // A parameter changed after signing: Binance's -1022.
    let tampered = signed.replace("orderId=1", "orderId=2");
    let (status, reply) = call(
        &server,
        "GET",
        &format!("/api/v3/myTrades?{tampered}"),
        "",
        Some(KEY),
    );
    assert_eq!(
        (status, reply["code"].as_i64()),
        (400, Some(-1022)),
        "{reply}"
    );
    let error = orders::parse_order_fills(
        Venue::Binance,
        status,
        reply.to_string().as_bytes(),
        scales(),
    )
    .unwrap_err();
    assert_eq!(error.class, ErrorClass::Auth);
    // Signed too long ago: -1021; no key: -2014.
    let stale = signer().signed_query("symbol=BTCUSDT&orderId=1", now_ms() - 60_000, 5_000);
    let (_, reply) = call(
        &server,
        "GET",
        &format!("/api/v3/myTrades?{stale}"),
        "",
        Some(KEY),
    );
    assert_eq!(reply["code"], -1021);
    let (_, reply) = call(
        &server,
        "GET",
        &format!("/api/v3/myTrades?{signed}"),
        "",
        None,
    );
    assert_eq!(reply["code"], -2014);
    // Signed, but not a documented combination, or not a number.
    for (params, code) in [
        ("symbol=BTCUSDT&orderId=1&startTime=1", -1128),
        ("symbol=BTCUSDT&startTime=1&endTime=86400002", -1127),
        ("symbol=BTCUSDT&orderId=x", -1100),
        ("symbol=BTCUSDT&limit=1001", -1130),
        ("symbol=NOPE&orderId=1", -1121),
    ] {
        let query = signer().signed_query(params, now_ms(), 5_000);
        let (status, reply) = call(
            &server,
            "GET",
            &format!("/api/v3/myTrades?{query}"),
            "",
            Some(KEY),
        );
        assert_eq!(
            (status, reply["code"].as_i64()),
            (400, Some(code)),
            "{params}"
        );
    }
}

/// A signed IOC buy of 0.1 BTC at `price` (on [`venue`]: at 65,001.00 it fills, at 60,000.00
/// nothing): the answer's status, `X-MBX-ORDER-COUNT-10S` and `-1D`, and body.
fn buy_counted(
    server: &ExchangeServer,
    price: &str,
    id: &str,
) -> (u16, Option<u32>, Option<u32>, Value) {
    let params = format!(
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.10000&price={price}&newClientOrderId={id}&newOrderRespType=FULL"
    );
    let body = signer().signed_query(&params, now_ms(), 5_000);
    let request = format!(
        "POST /api/v3/order HTTP/1.1\r\nHost: x\r\nX-MBX-APIKEY: {KEY}\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    let (status, head, body) = send_full(server, request.as_bytes());
    let header = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name))
            .and_then(|v| v.trim().parse().ok())
    };
    (
        status,
        header("X-MBX-ORDER-COUNT-10S:"),
        header("X-MBX-ORDER-COUNT-1D:"),
        serde_json::from_slice(&body).expect("json"),
    )
}

#[test]
fn unfilled_orders_are_counted_per_window_and_one_past_the_limit_is_refused() {
    // The count's 10-second windows start at :00, :10, ..: stay inside one.
    while now_ms() % 10_000 > 5_000 {
        std::thread::sleep(Duration::from_millis(100));
    }
    let server = venue_with(BinanceFront::new(vec![signer().verify_key()]).with_order_limit_10s(3));
    // exchangeInfo states the limits the venue enforces.
    let (_, info) = call(
        &server,
        "GET",
        "/api/v3/exchangeInfo?symbol=BTCUSDT",
        "",
        None,
    );
    let orders: Vec<_> = info["rateLimits"]
        .as_array()
        .expect("rateLimits")
        .iter()
        .filter(|l| l["rateLimitType"] == "ORDERS")
        .map(|l| {
            (
                l["interval"].clone(),
                l["intervalNum"].clone(),
                l["limit"].clone(),
            )
        })
        .collect();
    assert_eq!(
        orders,
        [
            (json!("SECOND"), json!(10), json!(3)),
            (json!("DAY"), json!(1), json!(200_000)),
        ]
    );
    // A filled order: its answer counts it (Binance takes it off afterwards), then it is off.
    let (status, c10, c1d, order) = buy_counted(&server, "65001.00", "f-1");
    assert_eq!((status, order["status"].as_str()), (200, Some("FILLED")));
    assert_eq!((c10, c1d), (Some(1), Some(1)));
    // Unfilled IOCs (under the ask: they expire) stay counted: 1, 2, 3.
    for (i, expect) in [1, 2, 3].into_iter().enumerate() {
        let (status, c10, c1d, order) = buy_counted(&server, "60000.00", &format!("u-{i}"));
        assert_eq!((status, order["status"].as_str()), (200, Some("EXPIRED")));
        assert_eq!((c10, c1d), (Some(expect), Some(expect)), "{order}");
    }
    // The next order, filling or not, is refused as Binance refuses it, and not counted.
    for price in ["65001.00", "60000.00"] {
        let (status, c10, _, refused) = buy_counted(&server, price, "over");
        assert_eq!(status, 429, "{refused}");
        assert_eq!(refused["code"], -1015);
        assert_eq!(
            refused["msg"],
            "Too many new orders; current limit is 3 orders per 10 SECOND."
        );
        assert_eq!(c10, None, "a refusal states no count");
        // Kestrel reads it as a refusal to wait out.
        let error = orders::parse_order(
            Venue::Binance,
            status,
            refused.to_string().as_bytes(),
            scales(),
        )
        .expect_err("refused");
        assert_eq!(error.class, ErrorClass::Retryable, "{error:?}");
    }
}

/// rest-api.md "Symbol price ticker": the discount asset is priced at what the simulated
/// venue converts fees at, a listed symbol at its last trade (its best bid before any), and
/// anything else is Binance's `-1121`. Each costs weight 2.
#[test]
fn the_price_ticker_prices_bnb_at_the_fee_conversion_and_symbols_at_their_last_trade() {
    use kestrel_exsim::preset;
    let listing = preset::listing(Venue::Binance);
    let mut ex = preset::exchange(&listing, KEY, 100_000 * preset::ONE_QUOTE, preset::ONE_BTC)
        .expect("preset Binance");
    ex.set_level("BTCUSDT", BookSide::Bid, Fixed(6_499_900), Fixed(70_000));
    ex.set_level("BTCUSDT", BookSide::Ask, Fixed(6_500_000), Fixed(50_000));
    let server = preset::serve(ex, Box::new(BinanceFront::new(vec![signer().verify_key()])))
        .expect("server");
    let price = |symbol: &str| {
        call(
            &server,
            "GET",
            &format!("/api/v3/ticker/price?symbol={symbol}"),
            "",
            None,
        )
    };
    // 60 quote units (10^-7 USDT) per 10^-8 BNB: 600 USDT, at USDT's 7 digits.
    assert_eq!(
        price("BNBUSDT"),
        (200, json!({"symbol": "BNBUSDT", "price": "600.0000000"}))
    );
    assert_eq!(
        price("BTCUSDT"),
        (200, json!({"symbol": "BTCUSDT", "price": "64999.00"}))
    );
    for unknown in ["BNBEUR", "ETHUSDT", "BNB"] {
        let (status, body) = price(unknown);
        assert_eq!(
            (status, body["code"].as_i64()),
            (400, Some(-1121)),
            "{unknown}"
        );
    }
    let (status, body) = call(&server, "GET", "/api/v3/ticker/price", "", None);
    assert_eq!(
        (status, body["code"].as_i64()),
        (400, Some(-1102)),
        "{body}"
    );
    // After a trade, the last trade's price.
    let order = place(
        &server,
        "symbol=BTCUSDT&side=BUY&type=LIMIT&timeInForce=IOC&quantity=0.00100&price=65000.00",
    );
    assert_eq!(order.status, Some(orders::Status::Filled));
    assert_eq!(price("BTCUSDT").1["price"], "65000.00");
    // The reader the lane uses gets the same number.
    let writer = BinanceWriter::new(signer(), "x");
    let mut request = Vec::new();
    writer.last_price("BNBUSDT", &mut request).expect("writes");
    let (status, body) = send(&server, &request);
    let read = orders::parse_last_price(Venue::Binance, status, &body).expect("reads");
    assert_eq!(read, Amount::new(6_000_000_000, 7).expect("amount"));
    // Weight: 2 per ticker, read back from the venue's own count.
    let (_, head, _) = send_full(&server, &request);
    let used = |head: &str| -> u32 {
        head.lines()
            .find_map(|l| l.strip_prefix("X-MBX-USED-WEIGHT-1M: "))
            .and_then(|v| v.parse().ok())
            .expect("weight header")
    };
    let (_, head2, _) = send_full(&server, &request);
    assert_eq!(used(&head2), used(&head) + 2);
}
