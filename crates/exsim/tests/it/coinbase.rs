//! The simulated Coinbase Advanced Trade: requests authenticated by an ES256 JWT per request,
//! orders filled by walking the book with fees in quote, answers in Coinbase's shapes that
//! Kestrel's own Coinbase client reads; and the `level2` channel our keeper follows exactly,
//! with `sequence_num` counting every message of the connection, through a gap.

use std::collections::HashMap;
use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kestrel_exsim::coinbase::{CoinbaseFront, order_uuid};
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, Reject, SymbolSpec};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, CoinbaseSigner, HttpMethod};
use kestrel_venues::book::Book;
use kestrel_venues::orders::{
    self, CoinbaseWriter, OrderRef, OrderRequest, RequestWriter as _, Scales, Stamp, Status,
};
use kestrel_venues::sync::coinbase::{CoinbaseBook, CoinbaseSequence};
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::coinbase::{CoinbaseMsg, parse_coinbase};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

const KEY_NAME: &str = "organizations/exsim/apiKeys/0001";
/// A P-256 key made for these tests only.
const KEY_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIO4cSNYRN0a53Mz09JGv7InUGh5LB18tw0e7534F+WTzoAoGCCqGSM49
AwEHoUQDQgAEuwn6whmwSOdnpyBAAP1htobzy9KqhQBvtzrLNUBOaxbyGoOgNpb9
DeI0XHm5RoSfwgoGitalnm86l84KaYFZJA==
-----END EC PRIVATE KEY-----";
const PRODUCT: &str = "BTC-USD";
/// 1 USD in its units (10 digits: price 2 + size 8).
const USD: u128 = 10_000_000_000;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn scales() -> Scales {
    Scales {
        price: scale(2),
        size: scale(8),
    }
}

fn signer() -> CoinbaseSigner {
    CoinbaseSigner::from_pem(KEY_NAME, &ApiSecret::new(KEY_PEM)).expect("signer")
}

fn now_ms() -> u64 {
    kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock)
}

/// BTC-USD as Coinbase lists it: prices to 0.01, sizes to 0.00000001 (at least 0.00001 and
/// 1 USD); 200 levels a side; Intro 1 rates, 0.6% maker and 1.2% taker, in quote.
fn exchange() -> Exchange {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(8),
        },
        AssetSpec {
            name: "USD".into(),
            scale: scale(10),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: PRODUCT.into(),
        base: "BTC".into(),
        quote: "USD".into(),
        price_scale: scale(2),
        size_scale: scale(8),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(1_000),
        min_notional: USD,
        depth: 200,
    }];
    let mut ex =
        Exchange::new(Venue::Coinbase, assets, symbols, FeeAsset::Quote).expect("exchange");
    ex.add_account(
        KEY_NAME,
        FeeRates {
            maker: Rate(600_000),
            taker: Rate(1_200_000),
        },
    );
    ex
}

/// The venue with 100,000 USD; asks 65,000.00 × 0.5 and 65,001.00 × 1, bid 64,999.00 × 0.7.
fn venue() -> ExchangeServer {
    let mut ex = exchange();
    ex.deposit(KEY_NAME, "USD", 100_000 * USD);
    ex.set_level(PRODUCT, BookSide::Ask, Fixed(6_500_000), Fixed(50_000_000));
    ex.set_level(PRODUCT, BookSide::Ask, Fixed(6_500_100), Fixed(100_000_000));
    ex.set_level(PRODUCT, BookSide::Bid, Fixed(6_499_900), Fixed(70_000_000));
    let front = CoinbaseFront::new(vec![signer().verify_key()]);
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

/// A request to the venue's host with this `Authorization` (or none).
fn call_with(
    server: &ExchangeServer,
    method: HttpMethod,
    target: &str,
    body: &str,
    authorization: Option<&str>,
) -> (u16, String) {
    let auth = authorization.map_or_else(String::new, |a| format!("Authorization: {a}\r\n"));
    let request = format!(
        "{} {target} HTTP/1.1\r\nHost: {}\r\n{auth}Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        method.as_str(),
        server.addr(),
        body.len()
    );
    send(server, request.as_bytes())
}

/// A bearer token for `method` on `path`, valid from `now_s`, for `host`.
fn bearer(method: HttpMethod, host: &str, path: &str, now_s: u64) -> String {
    let jwt = signer()
        .rest_jwt(method, host, path, now_s, &[7; 16])
        .expect("jwt");
    format!("Bearer {jwt}")
}

/// An authenticated request: (status, JSON body).
fn call(server: &ExchangeServer, method: HttpMethod, target: &str, body: &str) -> (u16, Value) {
    let path = target.split('?').next().unwrap_or(target);
    let auth = bearer(method, &server.addr().to_string(), path, now_ms() / 1_000);
    let (status, text) = call_with(server, method, target, body, Some(&auth));
    (status, serde_json::from_str(&text).expect(&text))
}

fn create(server: &ExchangeServer, order: &Value) -> Value {
    let (status, reply) = call(
        server,
        HttpMethod::Post,
        "/api/v3/brokerage/orders",
        &order.to_string(),
    );
    assert_eq!(status, 200, "{reply}");
    reply
}

fn ioc(side: &str, size: &str, price: &str, client_id: &str) -> Value {
    json!({"client_order_id": client_id, "product_id": PRODUCT, "side": side,
           "order_configuration": {"sor_limit_ioc": {"base_size": size, "limit_price": price}}})
}

fn gtc(side: &str, size: &str, price: &str, client_id: &str) -> Value {
    json!({"client_order_id": client_id, "product_id": PRODUCT, "side": side,
           "order_configuration": {"limit_limit_gtc": {"base_size": size, "limit_price": price,
                                                       "post_only": false}}})
}

/// `currency → (available, hold)` from List Accounts.
fn accounts(server: &ExchangeServer) -> HashMap<String, (String, String)> {
    let (status, reply) = call(server, HttpMethod::Get, "/api/v3/brokerage/accounts", "");
    assert_eq!(status, 200, "{reply}");
    reply["accounts"]
        .as_array()
        .expect("accounts")
        .iter()
        .map(|a| {
            let value = |k: &str| a[k]["value"].as_str().unwrap_or_default().to_string();
            (
                a["currency"].as_str().unwrap_or_default().to_string(),
                (value("available_balance"), value("hold")),
            )
        })
        .collect()
}

#[test]
fn an_ioc_buy_walks_the_book_and_pays_its_fee_in_quote() {
    let server = venue();
    let reply = create(&server, &ioc("BUY", "0.80000000", "65001.00", "k-1"));
    assert_eq!(reply["success"], true, "{reply}");
    let ok = &reply["success_response"];
    assert_eq!(
        (
            ok["product_id"].as_str(),
            ok["side"].as_str(),
            ok["client_order_id"].as_str()
        ),
        (Some(PRODUCT), Some("BUY"), Some("k-1"))
    );
    let id = ok["order_id"].as_str().expect("order_id").to_string();
    assert_eq!(
        reply["order_configuration"]["sor_limit_ioc"]["base_size"],
        "0.80000000"
    );

    let target = format!("/api/v3/brokerage/orders/historical/{id}");
    let (status, reply) = call(&server, HttpMethod::Get, &target, "");
    assert_eq!(status, 200, "{reply}");
    let order = &reply["order"];
    assert_eq!(
        (order["status"].as_str(), order["time_in_force"].as_str()),
        (Some("FILLED"), Some("IMMEDIATE_OR_CANCEL"))
    );
    assert_eq!(order["filled_size"], "0.80000000");
    // 0.5 at 65,000.00 + 0.3 at 65,001.00 = 32,500 + 19,500.3, an average of 65,000.375.
    assert_eq!(order["filled_value"], "52000.3");
    assert_eq!(order["average_filled_price"], "65000.375");
    // 1.2% of each fill's value, in USD: 390 + 234.0036.
    assert_eq!(order["total_fees"], "624.0036");
    assert_eq!(order["total_value_after_fees"], "52624.3036");
    assert_eq!(order["number_of_fills"], "2");
    assert_eq!(order["completion_percentage"], "100");

    let balances = accounts(&server);
    assert_eq!(
        balances["BTC"],
        ("0.80000000".to_string(), "0.00000000".to_string())
    );
    // 100,000 − 52,000.3 − 624.0036.
    assert_eq!(balances["USD"].0, "47375.6964000000");
    // The liquidity taken is gone from the venue's book.
    let best = server.with_exchange(|ex| ex.book(PRODUCT).and_then(|b| b.best_ask()));
    assert_eq!(
        best.map(|l| (l.price, l.size)),
        Some((Fixed(6_500_100), Fixed(70_000_000)))
    );
}

#[test]
fn every_authentication_failure_is_a_401() {
    let server = venue();
    let path = "/api/v3/brokerage/accounts";
    let host = server.addr().to_string();
    let now_s = now_ms() / 1_000;
    let good = bearer(HttpMethod::Get, &host, path, now_s);
    let (status, _) = call_with(&server, HttpMethod::Get, path, "", Some(&good));
    assert_eq!(status, 200);
    // One character of the signature changed (not the last, whose low bits are padding).
    let at = good.len() - 10;
    let flipped = if &good[at..=at] == "A" { "B" } else { "A" };
    let tampered = format!("{}{flipped}{}", &good[..at], &good[at + 1..]);
    // A token for another host, another path, another method; an expired one; none at all.
    let refused = [
        Some(tampered),
        Some(bearer(HttpMethod::Get, "api.coinbase.com", path, now_s)),
        Some(bearer(
            HttpMethod::Get,
            &host,
            "/api/v3/brokerage/orders",
            now_s,
        )),
        Some(bearer(HttpMethod::Post, &host, path, now_s)),
        Some(bearer(HttpMethod::Get, &host, path, now_s - 300)),
        None,
    ];
    for authorization in refused {
        let (status, body) =
            call_with(&server, HttpMethod::Get, path, "", authorization.as_deref());
        assert_eq!(
            (status, body.as_str()),
            (401, "Unauthorized"),
            "{authorization:?}"
        );
    }
    // Public product data needs no token.
    let (status, _) = call_with(
        &server,
        HttpMethod::Get,
        "/api/v3/brokerage/market/products/BTC-USD",
        "",
        None,
    );
    assert_eq!(status, 200);
}

#[test]
fn refused_orders_get_coinbase_failure_reasons() {
    let server = venue();
    let reply = create(&server, &ioc("BUY", "10.00000000", "65000.00", "big"));
    assert_eq!(reply["success"], false, "{reply}");
    let failure = &reply["error_response"];
    assert_eq!(
        (
            failure["error"].as_str(),
            failure["message"].as_str(),
            failure["preview_failure_reason"].as_str()
        ),
        (
            Some("INSUFFICIENT_FUND"),
            Some("Insufficient balance in source account"),
            Some("PREVIEW_INSUFFICIENT_FUND")
        )
    );
    let reason = |order: &Value| {
        let reply = create(&server, order);
        assert_eq!(reply["success"], false, "{reply}");
        reply["error_response"]["preview_failure_reason"]
            .as_str()
            .unwrap_or_default()
            .to_string()
    };
    assert_eq!(
        reason(&ioc("BUY", "0.000000001", "65000.00", "a")),
        "PREVIEW_INVALID_SIZE_PRECISION"
    );
    assert_eq!(
        reason(&ioc("BUY", "0.10000000", "65000.001", "b")),
        "PREVIEW_INVALID_PRICE_PRECISION"
    );
    assert_eq!(
        reason(&ioc("BUY", "0.00000500", "65000.00", "c")),
        "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL"
    );
    assert_eq!(
        reason(&ioc("BUY", "0.00001000", "1.00", "d")),
        "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL"
    );
    let mut unknown = ioc("BUY", "0.10000000", "65000.00", "e");
    unknown["product_id"] = json!("ETH-USD");
    assert_eq!(reason(&unknown), "PREVIEW_INVALID_PRODUCT_ID");
    // A post-only order that would take the ask.
    let mut post_only = gtc("BUY", "0.10000000", "65000.00", "f");
    post_only["order_configuration"]["limit_limit_gtc"]["post_only"] = json!(true);
    assert_eq!(reason(&post_only), "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY");

    // Unknown orders: a cancel result that failed, a 404 on Get Order.
    let missing = order_uuid(999);
    let body = json!({"order_ids": [missing]}).to_string();
    let (status, reply) = call(
        &server,
        HttpMethod::Post,
        "/api/v3/brokerage/orders/batch_cancel",
        &body,
    );
    assert_eq!(status, 200);
    assert_eq!(
        reply["results"][0],
        json!({"success": false, "failure_reason": "UNKNOWN_CANCEL_ORDER", "order_id": missing})
    );
    let (status, reply) = call(
        &server,
        HttpMethod::Get,
        &format!("/api/v3/brokerage/orders/historical/{missing}"),
        "",
    );
    assert_eq!(
        (status, reply["error"].as_str()),
        (404, Some("NOT_FOUND")),
        "{reply}"
    );

    server.fault(Fault::RejectNextOrder(Reject::Injected {
        code: 429,
        message: "Too many requests".into(),
    }));
    let (status, reply) = call(
        &server,
        HttpMethod::Post,
        "/api/v3/brokerage/orders",
        &ioc("BUY", "0.10000000", "65000.00", "g").to_string(),
    );
    assert_eq!(
        (status, reply["error"].as_str()),
        (429, Some("RATE_LIMIT_EXCEEDED"))
    );
    // Nothing above moved money.
    assert_eq!(
        server.with_exchange(|ex| ex.balance(KEY_NAME, "USD")),
        (100_000 * USD, 0)
    );
}

#[test]
fn a_resting_order_holds_funds_and_a_client_id_is_used_once() {
    let server = venue();
    let first = create(&server, &gtc("BUY", "0.10000000", "64000.00", "rest-1"));
    let id = first["success_response"]["order_id"]
        .as_str()
        .expect("id")
        .to_string();
    // The same client_order_id again: no new order, the first one is returned.
    let again = create(&server, &gtc("BUY", "0.20000000", "64000.00", "rest-1"));
    assert_eq!(
        again["success_response"]["order_id"],
        id.as_str(),
        "{again}"
    );
    assert_eq!(
        server.with_exchange(|ex| ex.open_orders(KEY_NAME, None).len()),
        1
    );

    let (_, reply) = call(
        &server,
        HttpMethod::Get,
        &format!("/api/v3/brokerage/orders/historical/{id}"),
        "",
    );
    let order = &reply["order"];
    assert_eq!(
        (order["status"].as_str(), order["filled_size"].as_str()),
        (Some("OPEN"), Some("0.00000000"))
    );
    // 0.1 × 64,000 = 6,400, plus the 1.2% taker fee it could pay: 6,476.8 held.
    assert_eq!(order["outstanding_hold_amount"], "6476.8");
    assert_eq!(
        accounts(&server)["USD"],
        (
            "93523.2000000000".to_string(),
            "6476.8000000000".to_string()
        )
    );

    let body = json!({"order_ids": [id]}).to_string();
    let (_, reply) = call(
        &server,
        HttpMethod::Post,
        "/api/v3/brokerage/orders/batch_cancel",
        &body,
    );
    assert_eq!(reply["results"][0]["success"], true, "{reply}");
    let (_, reply) = call(
        &server,
        HttpMethod::Post,
        "/api/v3/brokerage/orders/batch_cancel",
        &body,
    );
    assert_eq!(
        reply["results"][0]["failure_reason"], "DUPLICATE_CANCEL_REQUEST",
        "{reply}"
    );
    let (_, reply) = call(
        &server,
        HttpMethod::Get,
        &format!("/api/v3/brokerage/orders/historical/{id}"),
        "",
    );
    assert_eq!(reply["order"]["status"], "CANCELLED");
    assert_eq!(accounts(&server)["USD"].1, "0.0000000000");
}

#[test]
fn fee_tier_and_product_rules_come_from_the_venue() {
    let server = venue();
    let (status, summary) = call(
        &server,
        HttpMethod::Get,
        "/api/v3/brokerage/transaction_summary",
        "",
    );
    assert_eq!(status, 200, "{summary}");
    assert_eq!(
        (
            summary["fee_tier"]["taker_fee_rate"].as_str(),
            summary["fee_tier"]["maker_fee_rate"].as_str()
        ),
        (Some("0.012"), Some("0.006"))
    );
    let (status, product) = call(
        &server,
        HttpMethod::Get,
        "/api/v3/brokerage/products/BTC-USD",
        "",
    );
    assert_eq!(status, 200, "{product}");
    assert_eq!(product["price_increment"], "0.01");
    assert_eq!(product["base_increment"], "0.00000001");
    assert_eq!(product["base_min_size"], "0.00001000");
    assert_eq!(product["quote_min_size"], "1");
    let (status, reply) = call(
        &server,
        HttpMethod::Get,
        "/api/v3/brokerage/products/DOGE-USD",
        "",
    );
    assert_eq!((status, reply["error"].as_str()), (404, Some("NOT_FOUND")));
}

/// Kestrel's own Coinbase client (request writer and answer parsers) against the simulation.
#[test]
fn kestrel_s_coinbase_client_reads_the_simulated_venue() {
    let server = venue();
    server.with_exchange(|ex| ex.deposit(KEY_NAME, "BTC", 100_000_000));
    let writer = CoinbaseWriter::new(signer(), &server.addr().to_string());
    let stamp = || Stamp {
        unix_ms: now_ms(),
        nonce: 0,
        entropy: [3; 16],
    };
    let mut request = Vec::new();
    // Sell 0.9 into a 0.7 bid: the IOC fills 0.7 and the rest is cancelled.
    let order = OrderRequest {
        symbol: PRODUCT,
        side: OrderSide::Sell,
        size: Fixed(90_000_000),
        limit: Fixed(6_499_900),
        scales: scales(),
        tif: orders::Tif::Ioc,
        client_id: "kestrel-9",
    };
    writer
        .new_order(&order, &stamp(), &mut request)
        .expect("write");
    let (status, body) = send(&server, &request);
    let ack = orders::parse_order(Venue::Coinbase, status, body.as_bytes(), scales()).expect(&body);
    assert_eq!(ack.client_id, "kestrel-9");

    writer
        .query_order(
            PRODUCT,
            OrderRef::Venue(&ack.venue_order_id),
            &stamp(),
            &mut request,
        )
        .expect("write");
    let (status, body) = send(&server, &request);
    let report =
        orders::parse_order_query(Venue::Coinbase, status, body.as_bytes(), scales()).expect(&body);
    assert_eq!(report.status, Some(Status::Canceled));
    assert_eq!(report.filled, Fixed(70_000_000));
    // 0.7 × 64,999 = 45,499.3 USD at 10 digits; 1.2% of it is 545.9916.
    assert_eq!(report.notional, Some(454_993_000_000_000));
    assert_eq!(report.fees.len(), 1);
    assert_eq!(
        (
            report.fees[0].asset.as_str(),
            report.fees[0].amount.to_string()
        ),
        ("USD", "545.9916".to_string())
    );

    writer.balances(&stamp(), &mut request).expect("write");
    let (status, body) = send(&server, &request);
    let balances = orders::parse_balances(Venue::Coinbase, status, body.as_bytes()).expect(&body);
    let free = |asset: &str| {
        balances
            .iter()
            .find(|b| b.asset == asset)
            .map(|b| b.free.to_string())
    };
    assert_eq!(free("BTC").as_deref(), Some("0.30000000"));
    // 100,000 + 45,499.3 − 545.9916.
    assert_eq!(free("USD").as_deref(), Some("144953.3084000000"));

    writer
        .fee_rates(PRODUCT, &stamp(), &mut request)
        .expect("write");
    let (status, body) = send(&server, &request);
    let rates = orders::parse_fee_rates(Venue::Coinbase, status, body.as_bytes()).expect(&body);
    assert_eq!((rates.maker, rates.taker), (Rate(600_000), Rate(1_200_000)));

    writer.symbol_rules(PRODUCT, &mut request).expect("write");
    let (status, body) = send(&server, &request);
    let rules = orders::parse_symbol_rules(Venue::Coinbase, status, body.as_bytes(), scales())
        .expect(&body);
    assert_eq!(
        (rules.tick, rules.lot, rules.min_size, rules.min_notional),
        (Fixed(1), Fixed(1), Fixed(1_000), Some(USD))
    );

    writer
        .cancel_order(
            PRODUCT,
            OrderRef::Venue(&ack.venue_order_id),
            &stamp(),
            &mut request,
        )
        .expect("write");
    let (status, body) = send(&server, &request);
    let refused = orders::parse_cancel(Venue::Coinbase, status, body.as_bytes(), scales())
        .expect_err("closed");
    assert_eq!(
        refused.code,
        Some(orders::ErrorCode::Text("UNKNOWN_CANCEL_ORDER".into()))
    );
}

// ---------------------------------------------------------------------------------------------
// Market data
// ---------------------------------------------------------------------------------------------

/// A WebSocket client checking `sequence_num` and feeding `l2_data` to our keeper.
struct Feed {
    ws: WebSocket<TcpStream>,
    sequence: CoinbaseSequence,
    keeper: CoinbaseBook,
    /// Every resync the keeper reported.
    resyncs: Vec<ResyncReason>,
    /// `(channel, sequence_num)` of every message, in order.
    seen: Vec<(String, u64)>,
    heartbeats: Vec<u64>,
}

impl Feed {
    fn connect(server: &ExchangeServer) -> Feed {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        let url = format!("ws://{}/", server.addr());
        let (ws, _) = tungstenite::client(url, stream).expect("handshake");
        ws.get_ref()
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        Feed {
            ws,
            sequence: CoinbaseSequence::new(),
            keeper: CoinbaseBook::new(Book::new(400, scale(2), scale(8))),
            resyncs: Vec::new(),
            seen: Vec::new(),
            heartbeats: Vec::new(),
        }
    }

    fn send(&mut self, request: Value) {
        self.ws
            .send(Message::text(request.to_string()))
            .expect("send");
    }

    /// Read one frame, if one comes within the read timeout, and apply it.
    fn pump(&mut self) {
        let text = match self.ws.read() {
            Ok(Message::Text(text)) => text.to_string(),
            Ok(_) => return,
            Err(tungstenite::Error::Io(e))
                if matches!(
                    e.kind(),
                    std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                ) =>
            {
                return;
            }
            Err(e) => panic!("websocket: {e}"),
        };
        let frame = parse_coinbase(text.as_bytes()).expect(&text);
        let sequence_num = frame.sequence_num.expect(&text);
        self.seen.push((
            String::from_utf8_lossy(frame.channel).to_string(),
            sequence_num,
        ));
        if let Err(reason) = self.sequence.check(sequence_num) {
            // Whatever was lost may have been this book's: it starts over.
            if let Outcome::Resync(reason) = self.keeper.on_gap(reason) {
                self.resyncs.push(reason);
            }
        }
        match frame.msg {
            CoinbaseMsg::L2(l2) => l2
                .for_each(|event| {
                    assert_eq!(event.product_id, PRODUCT.as_bytes());
                    if let Outcome::Resync(reason) = self.keeper.on_event(&event) {
                        self.resyncs.push(reason);
                    }
                    Ok(())
                })
                .expect("events"),
            CoinbaseMsg::Heartbeat { counter, .. } => self.heartbeats.push(counter),
            CoinbaseMsg::Subscriptions => {}
            _ => panic!("unexpected frame {text}"),
        }
    }

    fn until(&mut self, what: &str, mut done: impl FnMut(&Feed) -> bool) {
        let deadline = Instant::now() + Duration::from_secs(10);
        while !done(self) {
            assert!(Instant::now() < deadline, "timed out waiting for: {what}");
            self.pump();
        }
    }
}

/// Whether the keeper is synced and holds exactly the venue's book.
fn in_step(server: &ExchangeServer, feed: &Feed) -> bool {
    let flat = |b: &Book| -> Vec<(u64, u64)> {
        b.bids()
            .iter()
            .chain(b.asks())
            .map(|l| (l.price.0, l.size.0))
            .collect()
    };
    let theirs = server.with_exchange(|ex| flat(ex.book(PRODUCT).expect("book")));
    feed.keeper.is_synced() && flat(feed.keeper.book()) == theirs
}

fn move_market(server: &ExchangeServer, market: &mut MarketGen, feed: &mut Feed, steps: usize) {
    for _ in 0..steps {
        market.step();
        server.with_exchange(|ex| market.apply(Venue::Coinbase, ex, PRODUCT));
        let until = Instant::now() + Duration::from_millis(4);
        while Instant::now() < until {
            feed.pump();
        }
    }
}

#[test]
fn level2_follows_the_venue_and_sequence_numbers_catch_a_gap() {
    let server = ExchangeServer::start(
        exchange(),
        Box::new(CoinbaseFront::new(Vec::new())),
        Duration::from_millis(10),
    )
    .expect("server");
    let mut market = MarketGen::new(
        5,
        &[Venue::Coinbase],
        MarketParams {
            start_mid: Fixed(6_500_000),
            tick: Fixed(1),
            vol_bps_per_step: 3,
            venue_noise_bps: 1,
            half_spread_ticks: 1,
            levels: 60,
            level_size: Fixed(50_000_000),
            level_size_jitter: 40,
        },
    )
    .with_lot(Fixed(1));
    server.with_exchange(|ex| market.apply(Venue::Coinbase, ex, PRODUCT));
    let mut feed = Feed::connect(&server);
    feed.send(json!({"type": "subscribe", "product_ids": [PRODUCT], "channel": "level2"}));
    feed.send(json!({"type": "subscribe", "channel": "heartbeats"}));
    feed.until("the snapshot and both subscriptions messages", |f| {
        f.keeper.is_synced() && f.seen.len() >= 3
    });
    assert!(in_step(&server, &feed), "the snapshot is the venue's book");
    // The snapshot comes first, then what the connection is subscribed to.
    assert_eq!(
        feed.seen[..2],
        [("l2_data".to_string(), 0), ("subscriptions".to_string(), 1)]
    );

    move_market(&server, &mut market, &mut feed, 40);
    feed.until("the book in step after 40 steps", |f| in_step(&server, f));
    assert!(feed.resyncs.is_empty(), "{:?}", feed.resyncs);
    assert!(feed.keeper.stats().applied > 0);
    // One numbering for the whole connection, across channels.
    let numbers: Vec<u64> = feed.seen.iter().map(|(_, n)| *n).collect();
    assert_eq!(numbers, (0..numbers.len() as u64).collect::<Vec<_>>());

    server.fault(Fault::Gap);
    move_market(&server, &mut market, &mut feed, 5);
    feed.until("the gap seen", |f| f.sequence.gaps() == 1);
    match feed.resyncs.first() {
        Some(&ResyncReason::Gap { expected, got }) => assert_eq!(got, expected + 1),
        other => panic!("expected a gap, got {other:?}"),
    }
    assert!(!feed.keeper.is_synced());
    // Subscribing again sends a new snapshot.
    feed.send(json!({"type": "subscribe", "product_ids": [PRODUCT], "channel": "level2"}));
    move_market(&server, &mut market, &mut feed, 10);
    feed.until("the book in step after resubscribing", |f| {
        in_step(&server, f)
    });
    assert_eq!(feed.keeper.stats().snapshots, 2);

    // Heartbeats come once a second while the market moves, counting up.
    let start = Instant::now();
    while start.elapsed() < Duration::from_millis(1_300) {
        move_market(&server, &mut market, &mut feed, 1);
    }
    assert!(!feed.heartbeats.is_empty(), "no heartbeat in 1.3 s");
    assert!(
        feed.heartbeats.windows(2).all(|w| w[1] == w[0] + 1),
        "{:?}",
        feed.heartbeats
    );
}
