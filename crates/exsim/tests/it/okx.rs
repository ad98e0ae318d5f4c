//! The simulated OKX against Kestrel's own OKX code: requests written by `OkxWriter` and answers
//! read by the `orders` parsers (fills, fees and balances computed by hand), refusals with OKX's
//! codes at the top or per order, and the public `books` channel decoded by `parse_okx` and kept
//! by `OkxBook` through a sequence gap and a wrong checksum.

use std::io::{ErrorKind, Read as _, Write as _};
use std::net::TcpStream;
use std::time::{Duration, Instant};

use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, Reject, SymbolSpec};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::okx::OkxFront;
use kestrel_exsim::server::{ExchangeServer, Fault, Faults, Front, Publication, WsSession};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, HttpMethod, OkxSigner};
use kestrel_venues::book::Book;
use kestrel_venues::orders::{
    self, Amount, ErrorClass, ErrorCode, Fee, OkxWriter, OrderRef, OrderReport, OrderRequest,
    RequestWriter, Scales, Stamp, Status, Tif, VenueError,
};
use kestrel_venues::sync::okx::OkxBook;
use kestrel_venues::sync::{Outcome, ResyncReason};
use kestrel_wire::cex::okx::{OkxFrame, parse_okx};
use serde_json::{Value, json};
use tungstenite::{Message, WebSocket};

const KEY: &str = "okx-test-key";
/// The secret of the signing vector in Kestrel's exchange notes.
const SECRET: &str = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO";
const PASSPHRASE: &str = "correct horse";
const INST: &str = "BTC-USDT";
/// One USDT at the quote's nine digits (price digits 1 + size digits 8).
const USDT: u128 = 1_000_000_000;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn scales() -> Scales {
    Scales {
        price: scale(1),
        size: scale(8),
    }
}

fn signer_with(passphrase: &str) -> OkxSigner {
    OkxSigner::new(KEY, &ApiSecret::new(SECRET), &ApiSecret::new(passphrase)).expect("signer")
}

fn signer() -> OkxSigner {
    signer_with(PASSPHRASE)
}

fn now_ms() -> u64 {
    kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock)
}

fn stamp_at(unix_ms: u64) -> Stamp {
    Stamp {
        unix_ms,
        nonce: 0,
        entropy: [0; 16],
    }
}

fn stamp() -> Stamp {
    stamp_at(now_ms())
}

/// BTC-USDT, prices to 0.1, sizes to 0.00000001, minimum 0.00001; taker 0.10 %, maker
/// 0.08 %, buys pay their fee in BTC; 100,000 USDT; asks 65,000.0 × 0.5 and 65,001.0 × 1,
/// bid 64,999.0 × 0.7.
fn exchange() -> Exchange {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(8),
        },
        AssetSpec {
            name: "USDT".into(),
            scale: scale(9),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: INST.into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        price_scale: scale(1),
        size_scale: scale(8),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(1_000),
        min_notional: 0,
        depth: 400,
    }];
    let mut ex = Exchange::new(Venue::Okx, assets, symbols, FeeAsset::Base).expect("exchange");
    ex.add_account(
        KEY,
        FeeRates {
            maker: Rate(80_000),
            taker: Rate(100_000),
        },
    );
    ex.deposit(KEY, "USDT", 100_000 * USDT);
    ex.set_level(INST, BookSide::Ask, Fixed(650_000), Fixed(50_000_000));
    ex.set_level(INST, BookSide::Ask, Fixed(650_010), Fixed(100_000_000));
    ex.set_level(INST, BookSide::Bid, Fixed(649_990), Fixed(70_000_000));
    ex
}

fn start(ex: Exchange) -> ExchangeServer {
    let front = OkxFront::new(vec![signer()]);
    ExchangeServer::start(ex, Box::new(front), Duration::from_millis(10)).expect("server")
}

fn venue() -> ExchangeServer {
    start(exchange())
}

fn writer(server: &ExchangeServer) -> OkxWriter {
    OkxWriter::new(signer(), &server.addr().to_string())
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

fn order(side: OrderSide, size: u64, limit: u64, tif: Tif, client_id: &str) -> OrderRequest<'_> {
    OrderRequest {
        symbol: INST,
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
        .query_order(INST, by, &stamp(), &mut out)
        .expect("write query");
    send(server, &out)
}

fn cancel(server: &ExchangeServer, by: OrderRef<'_>) -> (u16, Vec<u8>) {
    let mut out = Vec::new();
    writer(server)
        .cancel_order(INST, by, &stamp(), &mut out)
        .expect("write cancel");
    send(server, &out)
}

/// A signed private POST of a body the writer would never write.
fn post_raw(server: &ExchangeServer, path: &str, body: &str) -> (u16, Value) {
    let headers = signer()
        .headers(now_ms(), HttpMethod::Post, path, body)
        .expect("headers");
    let request = format!(
        "POST {path} HTTP/1.1\r\nHost: x\r\nOK-ACCESS-KEY: {}\r\nOK-ACCESS-SIGN: {}\r\nOK-ACCESS-TIMESTAMP: {}\r\nOK-ACCESS-PASSPHRASE: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        headers.key,
        headers.sign,
        headers.timestamp,
        headers.passphrase,
        body.len()
    );
    let (status, body) = send(server, request.as_bytes());
    (status, json_of(&body))
}

fn public(server: &ExchangeServer, target: &str) -> (u16, Value) {
    let request = format!("GET {target} HTTP/1.1\r\nHost: x\r\n\r\n");
    let (status, body) = send(server, request.as_bytes());
    (status, json_of(&body))
}

/// Free and locked per asset, as Kestrel's client reads them.
fn balances(server: &ExchangeServer) -> Vec<(String, Amount, Amount)> {
    let mut out = Vec::new();
    writer(server)
        .balances(&stamp(), &mut out)
        .expect("write balances");
    let (status, body) = send(server, &out);
    orders::parse_balances(Venue::Okx, status, &body)
        .expect("balances")
        .into_iter()
        .map(|b| (b.asset, b.free, b.locked))
        .collect()
}

fn held(server: &ExchangeServer, asset: &str) -> (Amount, Amount) {
    balances(server)
        .into_iter()
        .find(|b| b.0 == asset)
        .map(|b| (b.1, b.2))
        .unwrap_or_else(|| panic!("no {asset} balance"))
}

fn amount(units: u128, digits: u8) -> Amount {
    Amount::new(units, digits).expect("amount")
}

/// The refusal's OKX code and class.
fn refusal(result: Result<OrderReport, VenueError>) -> (i64, String, ErrorClass) {
    let error = result.expect_err("refused");
    let code = match error.code {
        Some(ErrorCode::Number(code)) => code,
        other => panic!("not an OKX code: {other:?}"),
    };
    (code, error.message, error.class)
}

#[test]
fn a_signed_ioc_buy_walks_the_book_and_pays_its_fee_in_base() {
    let server = venue();
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 80_000_000, 650_010, Tif::Ioc, "ioc1"),
    );
    let raw = json_of(&body);
    assert_eq!((status, &raw["code"]), (200, &json!("0")), "{raw}");
    assert_eq!(raw["data"][0]["sCode"], "0");
    assert_eq!(raw["data"][0]["sMsg"], "Order placed");
    let placed = orders::parse_order(Venue::Okx, status, &body, scales()).expect("placed");
    assert_eq!(placed.client_id, "ioc1");

    let (status, body) = query(&server, OrderRef::Client("ioc1"));
    let report = orders::parse_order_query(Venue::Okx, status, &body, scales()).expect("query");
    assert_eq!(report.venue_order_id, placed.venue_order_id);
    assert_eq!(report.status, Some(Status::Filled));
    assert_eq!(report.filled, Fixed(80_000_000));
    // (0.5 × 65,000.0 + 0.3 × 65,001.0) / 0.8 = 52,000.3 / 0.8.
    assert_eq!(report.avg_price, Some(amount(65_000_375, 3)));
    // 0.10 % of the BTC received, per fill: 0.0005 + 0.0003.
    assert_eq!(
        report.fees,
        vec![Fee {
            asset: "BTC".into(),
            amount: amount(8, 4),
            rebate: false,
        }]
    );
    let details = &json_of(&body)["data"][0];
    assert_eq!(
        (
            &details["state"],
            &details["fee"],
            &details["accFillSz"],
            &details["avgPx"]
        ),
        (
            &json!("filled"),
            &json!("-0.0008"),
            &json!("0.8"),
            &json!("65000.375")
        )
    );
    assert_eq!(
        (&details["fillPx"], &details["fillSz"]),
        (&json!("65001"), &json!("0.3"))
    );

    assert_eq!(held(&server, "BTC"), (amount(7_992, 4), amount(0, 0)));
    // 100,000 − 52,000.3.
    assert_eq!(held(&server, "USDT"), (amount(479_997, 1), amount(0, 0)));

    // An IOC that finds nothing at its limit is cancelled whole.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 640_000, Tif::Ioc, "ioc2"),
    );
    orders::parse_order(Venue::Okx, status, &body, scales()).expect("placed");
    let (status, body) = query(&server, OrderRef::Client("ioc2"));
    let report = orders::parse_order_query(Venue::Okx, status, &body, scales()).expect("query");
    assert_eq!(
        (report.status, report.filled),
        (Some(Status::Canceled), Fixed::ZERO)
    );
    assert_eq!(json_of(&body)["data"][0]["avgPx"], "");
}

fn fills(server: &ExchangeServer, ord_id: &str) -> (u16, Vec<u8>) {
    let mut out = Vec::new();
    writer(server)
        .order_fills(INST, OrderRef::Venue(ord_id), None, &stamp(), &mut out)
        .expect("write fills request");
    send(server, &out)
}

#[test]
fn an_orders_fills_list_each_trade_and_add_up_to_the_quote_it_paid() {
    let server = venue();
    let usdt_before = held(&server, "USDT").0;
    // 0.8 BTC takes 0.5 at 65,000.0 and 0.3 at 65,001.0: two trades.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 80_000_000, 650_010, Tif::Ioc, "fills1"),
    );
    let placed = orders::parse_order(Venue::Okx, status, &body, scales()).expect("placed");
    let (status, body) = fills(&server, &placed.venue_order_id);
    let raw = json_of(&body);
    assert_eq!((status, &raw["code"]), (200, &json!("0")), "{raw}");
    // Newest first, each with OKX's fields: the fee negative, in BTC (a buy's fee is in base).
    let first = &raw["data"][0];
    assert_eq!(
        (
            &first["instId"],
            &first["ordId"],
            &first["clOrdId"],
            &first["side"],
            &first["execType"]
        ),
        (
            &json!(INST),
            &json!(placed.venue_order_id),
            &json!("fills1"),
            &json!("buy"),
            &json!("T")
        )
    );
    assert_eq!(
        (
            &first["fillPx"],
            &first["fillSz"],
            &first["fee"],
            &first["feeCcy"]
        ),
        (
            &json!("65001"),
            &json!("0.3"),
            &json!("-0.0003"),
            &json!("BTC")
        )
    );
    let report = orders::parse_order_fills(Venue::Okx, status, &body, scales()).expect("fills");
    let trades: Vec<(Fixed, Fixed, Amount, bool)> = report
        .fills
        .iter()
        .map(|f| (f.price, f.size, f.fee.amount, f.fee.rebate))
        .collect();
    assert_eq!(
        trades,
        vec![
            (Fixed(650_010), Fixed(30_000_000), amount(3, 4), false),
            (Fixed(650_000), Fixed(50_000_000), amount(5, 4), false),
        ]
    );
    assert_ne!(report.fills[0].trade_id, report.fills[1].trade_id);
    assert_eq!(
        report.fees,
        vec![Fee {
            asset: "BTC".into(),
            amount: amount(8, 4),
            rebate: false,
        }]
    );
    // Σ px × sz is exactly the USDT the account paid (notional units are USDT's units).
    let notional: u128 = report
        .fills
        .iter()
        .map(|f| u128::from(f.price.0) * u128::from(f.size.0))
        .sum();
    let usdt_after = held(&server, "USDT").0;
    let paid = usdt_before.checked_sub(usdt_after).expect("paid");
    assert_eq!(notional, paid.units_at(9).expect("exact"));
    assert_eq!(notional, 52_000_300_000_000);

    // A sell's fee is in quote, negative as well.
    let (status, body) = place(
        &server,
        &order(OrderSide::Sell, 10_000_000, 649_990, Tif::Ioc, "fills2"),
    );
    let placed = orders::parse_order(Venue::Okx, status, &body, scales()).expect("placed");
    let (status, body) = fills(&server, &placed.venue_order_id);
    assert_eq!(
        (
            &json_of(&body)["data"][0]["fee"],
            &json_of(&body)["data"][0]["feeCcy"]
        ),
        (&json!("-6.4999"), &json!("USDT"))
    );
    let report = orders::parse_order_fills(Venue::Okx, status, &body, scales()).expect("fills");
    assert_eq!(report.fills.len(), 1);

    // An order with no trades, and an order that is not the account's: empty lists.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 640_000, Tif::Ioc, "fills3"),
    );
    let placed = orders::parse_order(Venue::Okx, status, &body, scales()).expect("placed");
    for id in [placed.venue_order_id.as_str(), "999"] {
        let (status, body) = fills(&server, id);
        let report = orders::parse_order_fills(Venue::Okx, status, &body, scales()).expect("fills");
        assert!(report.fills.is_empty(), "{id}");
    }

    // The same auth as every private endpoint: unsigned, or signed for another target.
    let target = format!("/api/v5/trade/fills?instType=SPOT&instId={INST}&ordId=1");
    let (status, raw) = public(&server, &target);
    assert_eq!((status, &raw["data"]), (401, &json!([])));
    assert_ne!(raw["code"], "0");
    let mut out = Vec::new();
    writer(&server)
        .order_fills(INST, OrderRef::Venue("1"), None, &stamp(), &mut out)
        .expect("write");
    let tampered = String::from_utf8(out)
        .expect("utf8")
        .replace("ordId=1&", "ordId=2&");
    assert!(tampered.contains("ordId=2&"));
    let (status, body) = send(&server, tampered.as_bytes());
    assert_eq!(
        (status, json_of(&body)["code"].clone()),
        (401, json!("50113"))
    );
    let error = orders::parse_order_fills(Venue::Okx, status, &body, scales()).unwrap_err();
    assert_eq!(error.class, ErrorClass::Auth);
}

/// A signed private GET of `target` (path and query) the writer would never write.
fn get_raw(server: &ExchangeServer, target: &str) -> (u16, Value) {
    let headers = signer()
        .headers(now_ms(), HttpMethod::Get, target, "")
        .expect("headers");
    let request = format!(
        "GET {target} HTTP/1.1\r\nHost: x\r\nOK-ACCESS-KEY: {}\r\nOK-ACCESS-SIGN: {}\r\nOK-ACCESS-TIMESTAMP: {}\r\nOK-ACCESS-PASSPHRASE: {}\r\n\r\n",
        headers.key, headers.sign, headers.timestamp, headers.passphrase,
    );
    let (status, body) = send(server, request.as_bytes());
    (status, json_of(&body))
}

/// 250 asks of 0.00001 BTC each, at 65,000.0, 65,000.1, … 65,024.9 (and nothing else).
fn deep_book() -> Exchange {
    let mut ex = exchange();
    ex.set_level(INST, BookSide::Ask, Fixed(650_000), Fixed::ZERO);
    ex.set_level(INST, BookSide::Ask, Fixed(650_010), Fixed::ZERO);
    for i in 0..250 {
        ex.set_level(INST, BookSide::Ask, Fixed(650_000 + i), Fixed(1_000));
    }
    ex
}

#[test]
fn an_order_with_250_fills_is_listed_a_page_of_100_at_a_time_after_each_cursor() {
    let server = start(deep_book());
    let usdt_before = held(&server, "USDT").0;
    // One IOC buy of 0.0025 BTC sweeps all 250 levels: 250 trades.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 250_000, 650_249, Tif::Ioc, "deep1"),
    );
    let placed = orders::parse_order(Venue::Okx, status, &body, scales()).expect("placed");
    let id = placed.venue_order_id.clone();
    let (status, body) = query(&server, OrderRef::Venue(&id));
    let report = orders::parse_order_query(Venue::Okx, status, &body, scales()).expect("query");
    assert_eq!(
        (report.status, report.filled),
        (Some(Status::Filled), Fixed(250_000))
    );

    // Pages as Kestrel asks for them: the newest, then `after` each full page's last billId.
    let mut pages = Vec::new();
    let mut cursor: Option<String> = None;
    let mut raw_pages = Vec::new();
    loop {
        let mut out = Vec::new();
        writer(&server)
            .order_fills(
                INST,
                OrderRef::Venue(&id),
                cursor.as_deref(),
                &stamp(),
                &mut out,
            )
            .expect("write fills request");
        let (status, body) = send(&server, &out);
        raw_pages.push(json_of(&body));
        let page = orders::parse_order_fills(Venue::Okx, status, &body, scales()).expect("fills");
        cursor.clone_from(&page.next_after);
        pages.push(page);
        if cursor.is_none() {
            break;
        }
        assert!(pages.len() < 10, "no end to the pages");
    }
    let sizes: Vec<usize> = pages.iter().map(|p| p.fills.len()).collect();
    assert_eq!(sizes, [100, 100, 50]);
    // Every row's billId, in the order answered: newest first across the pages, each page
    // after the one before it, none twice, and the cursor each full page gave its last one.
    let bill_ids: Vec<u64> = raw_pages
        .iter()
        .flat_map(|raw| raw["data"].as_array().expect("rows").clone())
        .map(|row| {
            row["billId"]
                .as_str()
                .expect("billId")
                .parse()
                .expect("number")
        })
        .collect();
    assert_eq!(bill_ids.len(), 250);
    assert!(bill_ids.windows(2).all(|w| w[0] > w[1]), "{bill_ids:?}");
    assert_eq!(
        pages[0].next_after.as_deref(),
        Some(bill_ids[99].to_string().as_str())
    );
    assert_eq!(
        pages[1].next_after.as_deref(),
        Some(bill_ids[199].to_string().as_str())
    );
    // A billId is not the trade id.
    let first = &raw_pages[0]["data"][0];
    assert_ne!(first["billId"], first["tradeId"]);
    // Newest first: the last trade took the highest ask.
    let prices: Vec<u64> = pages
        .iter()
        .flat_map(|p| p.fills.iter().map(|f| f.price.0))
        .collect();
    let expected: Vec<u64> = (0..250).rev().map(|i| 650_000 + i).collect();
    assert_eq!(prices, expected);
    // The union is every fill: distinct trades, adding up to the order and to what it paid.
    let mut trade_ids: Vec<&str> = pages
        .iter()
        .flat_map(|p| p.fills.iter().map(|f| f.trade_id.as_str()))
        .collect();
    trade_ids.sort_unstable();
    trade_ids.dedup();
    assert_eq!(trade_ids.len(), 250);
    let mut all = orders::OrderFills::default();
    for page in pages {
        assert!(all.append_page(page));
    }
    let size: u64 = all.fills.iter().map(|f| f.size.0).sum();
    assert_eq!(Fixed(size), report.filled);
    let notional: u128 = all
        .fills
        .iter()
        .map(|f| u128::from(f.price.0) * u128::from(f.size.0))
        .sum();
    let paid = usdt_before
        .checked_sub(held(&server, "USDT").0)
        .expect("paid");
    assert_eq!(notional, paid.units_at(9).expect("exact"));
    // Fees: 0.1 % of each 0.00001 BTC, in BTC, summed over all 250 fills.
    assert_eq!(
        all.fees,
        vec![Fee {
            asset: "BTC".into(),
            amount: amount(250, 8),
            rebate: false,
        }]
    );

    // `limit` and the cursors as OKX takes them.
    let path = format!("/api/v5/trade/fills?instType=SPOT&instId={INST}&ordId={id}");
    let ids = |raw: &Value| -> Vec<u64> {
        raw["data"]
            .as_array()
            .expect("rows")
            .iter()
            .map(|row| {
                row["billId"]
                    .as_str()
                    .expect("billId")
                    .parse()
                    .expect("number")
            })
            .collect()
    };
    // No limit: 100 (the default and the most).
    let (status, raw) = get_raw(&server, &path);
    assert_eq!((status, ids(&raw)), (200, bill_ids[..100].to_vec()));
    let (_, raw) = get_raw(&server, &format!("{path}&limit=3"));
    assert_eq!(ids(&raw), bill_ids[..3].to_vec());
    let (_, raw) = get_raw(&server, &format!("{path}&after={}&limit=2", bill_ids[10]));
    assert_eq!(ids(&raw), bill_ids[11..13].to_vec());
    // `before`: newer than it, the nearest first taken, still newest first.
    let (_, raw) = get_raw(&server, &format!("{path}&before={}&limit=2", bill_ids[10]));
    assert_eq!(ids(&raw), bill_ids[8..10].to_vec());
    let (_, raw) = get_raw(
        &server,
        &format!("{path}&after={}&before={}", bill_ids[3], bill_ids[7]),
    );
    assert_eq!(ids(&raw), bill_ids[4..7].to_vec());
    // Past the oldest: nothing.
    let (_, raw) = get_raw(&server, &format!("{path}&after={}", bill_ids[249]));
    assert_eq!(ids(&raw), Vec::<u64>::new());
    // A limit outside 1..=100, or a cursor that is not a number: `51000`, nothing listed.
    for bad in [
        "limit=0",
        "limit=101",
        "limit=x",
        "limit=-1",
        "after=abc",
        "before=1.5",
    ] {
        let (status, raw) = get_raw(&server, &format!("{path}&{bad}"));
        assert_eq!(
            (status, &raw["code"], &raw["data"]),
            (200, &json!("51000"), &json!([])),
            "{bad}"
        );
        let name = bad.split('=').next().expect("name");
        assert_eq!(raw["msg"], format!("Parameter {name} error"), "{bad}");
    }
}

#[test]
fn refusals_carry_okx_codes_at_the_top_or_per_order() {
    let server = venue();
    // A body changed after signing.
    let mut out = Vec::new();
    writer(&server)
        .new_order(
            &order(OrderSide::Buy, 10_000_000, 650_000, Tif::Ioc, "t1"),
            &stamp(),
            &mut out,
        )
        .expect("write");
    let text = String::from_utf8(out).expect("utf8");
    let tampered = text.replace(r#""sz":"0.10000000""#, r#""sz":"0.20000000""#);
    assert_ne!(tampered, text);
    let (status, body) = send(&server, tampered.as_bytes());
    assert_eq!(
        (
            status,
            json_of(&body)["code"].clone(),
            json_of(&body)["msg"].clone()
        ),
        (401, json!("50113"), json!("Invalid Sign"))
    );
    let (code, _, class) = refusal(orders::parse_order(Venue::Okx, status, &body, scales()));
    assert_eq!((code, class), (50113, ErrorClass::Auth));

    // The wrong passphrase, and a timestamp a minute old.
    let mut out = Vec::new();
    OkxWriter::new(signer_with("wrong"), "x")
        .balances(&stamp(), &mut out)
        .expect("write");
    assert_eq!(json_of(&send(&server, &out).1)["code"], "50105");
    let mut out = Vec::new();
    writer(&server)
        .balances(&stamp_at(now_ms() - 60_000), &mut out)
        .expect("write");
    assert_eq!(json_of(&send(&server, &out).1)["code"], "50102");

    // 10 BTC at 65,001.0 is more than 100,000 USDT: refused per order.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 1_000_000_000, 650_010, Tif::Ioc, "t2"),
    );
    let raw = json_of(&body);
    assert_eq!(
        (status, &raw["code"], &raw["msg"]),
        (200, &json!("1"), &json!("All operations failed"))
    );
    assert_eq!(raw["data"][0]["sCode"], "51008");
    assert_eq!(raw["data"][0]["clOrdId"], "t2");
    let (code, message, class) = refusal(orders::parse_order(Venue::Okx, status, &body, scales()));
    assert_eq!(
        (code, message.as_str(), class),
        (
            51008,
            "Order failed. Insufficient USDT balance in account",
            ErrorClass::Rejected
        )
    );
    // 0.000001 BTC is under `minSz`.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 100, 650_010, Tif::Ioc, "t3"),
    );
    let (code, _, _) = refusal(orders::parse_order(Venue::Okx, status, &body, scales()));
    assert_eq!(code, 51020);

    let (_, raw) = post_raw(
        &server,
        "/api/v5/trade/order",
        r#"{"instId":"DOGE-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"1","sz":"1"}"#,
    );
    assert_eq!((&raw["code"], &raw["data"]), (&json!("51001"), &json!([])));
    let (_, raw) = post_raw(
        &server,
        "/api/v5/trade/order",
        r#"{"instId":"BTC-USDT","tdMode":"cash","side":"buy","ordType":"limit","px":"65000.05","sz":"0.1"}"#,
    );
    assert_eq!(
        (&raw["code"], &raw["msg"]),
        (&json!("51000"), &json!("Parameter px error"))
    );
    let (_, raw) = post_raw(
        &server,
        "/api/v5/trade/order",
        r#"{"instId":"BTC-USDT","side":"buy","ordType":"limit","px":"65000","sz":"0.1"}"#,
    );
    assert_eq!(raw["code"], "50014");

    let (status, body) = cancel(&server, OrderRef::Venue("999"));
    let (code, _, _) = refusal(orders::parse_cancel(Venue::Okx, status, &body, scales()));
    assert_eq!(code, 51400);
    let (status, body) = query(&server, OrderRef::Client("neverSent"));
    let (code, message, _) = refusal(orders::parse_order_query(
        Venue::Okx,
        status,
        &body,
        scales(),
    ));
    assert_eq!((code, message.as_str()), (51603, "Order does not exist"));

    server.fault(Fault::RejectNextOrder(Reject::Injected {
        code: 50011,
        message: "Rate limit reached. Please refer to API documentation and throttle requests accordingly.".into(),
    }));
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 650_000, Tif::Ioc, "t4"),
    );
    assert_eq!(status, 429);
    let (code, _, class) = refusal(orders::parse_order(Venue::Okx, status, &body, scales()));
    assert_eq!((code, class), (50011, ErrorClass::Retryable));

    // Nothing above moved money.
    let usdt = server.with_exchange(|ex| ex.balance(KEY, "USDT"));
    assert_eq!(usdt, (100_000 * USDT, 0));
}

#[test]
fn a_resting_order_holds_its_funds_until_cancelled() {
    let server = venue();
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 600_000, Tif::Gtc, "rest1"),
    );
    let ord_id = orders::parse_order(Venue::Okx, status, &body, scales())
        .expect("placed")
        .venue_order_id;
    let (status, body) = query(&server, OrderRef::Venue(&ord_id));
    let report = orders::parse_order_query(Venue::Okx, status, &body, scales()).expect("query");
    assert_eq!(
        (report.status, report.filled),
        (Some(Status::New), Fixed::ZERO)
    );
    assert_eq!(json_of(&body)["data"][0]["state"], "live");
    // Fees are paid in BTC on buys, so only 0.1 × 60,000.0 = 6,000 USDT is held.
    assert_eq!(held(&server, "USDT"), (amount(94_000, 0), amount(6_000, 0)));
    // The same client id again is refused while the order is known.
    let (status, body) = place(
        &server,
        &order(OrderSide::Buy, 10_000_000, 600_000, Tif::Gtc, "rest1"),
    );
    let (code, _, _) = refusal(orders::parse_order(Venue::Okx, status, &body, scales()));
    assert_eq!(code, 51016);

    let (status, body) = cancel(&server, OrderRef::Venue(&ord_id));
    let cancelled = orders::parse_cancel(Venue::Okx, status, &body, scales()).expect("cancelled");
    assert_eq!(cancelled.venue_order_id, ord_id);
    let (status, body) = query(&server, OrderRef::Client("rest1"));
    let report = orders::parse_order_query(Venue::Okx, status, &body, scales()).expect("query");
    assert_eq!(report.status, Some(Status::Canceled));
    assert_eq!(held(&server, "USDT"), (amount(100_000, 0), amount(0, 0)));
    let (status, body) = cancel(&server, OrderRef::Client("rest1"));
    let (code, _, _) = refusal(orders::parse_cancel(Venue::Okx, status, &body, scales()));
    assert_eq!(code, 51400);
}

#[test]
fn fee_rates_and_instrument_rules_come_from_the_venue() {
    let server = venue();
    let mut out = Vec::new();
    writer(&server)
        .fee_rates(INST, &stamp(), &mut out)
        .expect("write");
    let (status, body) = send(&server, &out);
    let raw = json_of(&body);
    assert_eq!(
        (&raw["data"][0]["taker"], &raw["data"][0]["maker"]),
        (&json!("-0.001"), &json!("-0.0008"))
    );
    let rates = orders::parse_fee_rates(Venue::Okx, status, &body).expect("fee rates");
    assert_eq!((rates.maker, rates.taker), (Rate(80_000), Rate(100_000)));

    let mut out = Vec::new();
    writer(&server).symbol_rules(INST, &mut out).expect("write");
    let (status, body) = send(&server, &out);
    let raw = json_of(&body);
    assert_eq!(
        (
            &raw["data"][0]["tickSz"],
            &raw["data"][0]["lotSz"],
            &raw["data"][0]["minSz"]
        ),
        (&json!("0.1"), &json!("0.00000001"), &json!("0.00001"))
    );
    let rules = orders::parse_symbol_rules(Venue::Okx, status, &body, scales()).expect("rules");
    let spec = server.with_exchange(|ex| ex.symbol(INST).cloned().expect("spec"));
    assert_eq!(
        (rules.tick, rules.lot, rules.min_size, rules.min_notional),
        (spec.tick, spec.lot, spec.min_size, None)
    );
    let (_, raw) = public(
        &server,
        "/api/v5/public/instruments?instType=SPOT&instId=DOGE-USDT",
    );
    assert_eq!(raw["code"], "51001");
    let (_, raw) = public(&server, "/api/v5/public/instruments");
    assert_eq!(raw["code"], "50014");
}

// ---------------------------------------------------------------------------------------------
// The books channel
// ---------------------------------------------------------------------------------------------

/// A client of the `books` channel: Kestrel's decoder and keeper over a blocking socket.
struct Feed {
    ws: WebSocket<TcpStream>,
    keeper: OkxBook,
    resyncs: Vec<ResyncReason>,
    events: Vec<Value>,
    pongs: u64,
}

impl Feed {
    fn connect(server: &ExchangeServer) -> Feed {
        let stream = TcpStream::connect(server.addr()).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_millis(20)))
            .expect("timeout");
        let url = format!("{}/ws/v5/public", server.ws_url());
        let (ws, _) = tungstenite::client(url, stream).expect("handshake");
        Feed {
            ws,
            keeper: OkxBook::new(Book::new(400, scale(1), scale(8))),
            resyncs: Vec::new(),
            events: Vec::new(),
            pongs: 0,
        }
    }

    fn send_text(&mut self, text: &str) {
        self.ws.send(Message::text(text)).expect("send");
    }

    fn op(&mut self, op: &str, inst: &str) {
        let request = json!({"op": op, "args": [{"channel": "books", "instId": inst}]});
        self.send_text(&request.to_string());
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
        match parse_okx(text.as_bytes()).expect("a frame Kestrel decodes") {
            OkxFrame::Book(msg) => {
                if let Outcome::Resync(reason) = self.keeper.on_book(&msg) {
                    self.resyncs.push(reason);
                }
            }
            OkxFrame::Pong => self.pongs += 1,
            OkxFrame::Subscribed(_) | OkxFrame::Unsubscribed(_) | OkxFrame::Error { .. } => {
                self.events
                    .push(serde_json::from_str(text.as_str()).expect("json"));
            }
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
}

fn flat(levels: &[kestrel_venues::book::Level]) -> Vec<(u64, u64)> {
    levels.iter().map(|l| (l.price.0, l.size.0)).collect()
}

/// Whether the keeper is synced and holds exactly the venue's book.
fn in_step(server: &ExchangeServer, feed: &Feed) -> bool {
    let theirs = server.with_exchange(|ex| {
        let book = ex.book(INST).expect("book");
        (flat(book.bids()), flat(book.asks()))
    });
    let ours = (
        flat(feed.keeper.book().bids()),
        flat(feed.keeper.book().asks()),
    );
    feed.keeper.is_synced() && theirs == ours
}

fn market() -> MarketGen {
    MarketGen::new(
        5,
        &[Venue::Okx],
        MarketParams {
            start_mid: Fixed(650_000),
            tick: Fixed(1),
            vol_bps_per_step: 5,
            venue_noise_bps: 1,
            half_spread_ticks: 2,
            levels: 30,
            level_size: Fixed(50_000_000),
            level_size_jitter: 30,
        },
    )
    .with_lot(Fixed(1_000))
}

fn move_market(server: &ExchangeServer, market: &mut MarketGen, feed: &mut Feed, steps: usize) {
    for _ in 0..steps {
        market.step();
        server.with_exchange(|ex| market.apply(Venue::Okx, ex, INST));
        let until = Instant::now() + Duration::from_millis(3);
        while Instant::now() < until {
            feed.pump();
        }
    }
}

fn book_venue() -> (ExchangeServer, MarketGen) {
    let mut ex = exchange();
    for (side, price) in [
        (BookSide::Ask, 650_000),
        (BookSide::Ask, 650_010),
        (BookSide::Bid, 649_990),
    ] {
        ex.set_level(INST, side, Fixed(price), Fixed::ZERO);
    }
    let market = market();
    market.apply(Venue::Okx, &mut ex, INST);
    (start(ex), market)
}

#[test]
fn the_books_channel_keeps_kestrels_keeper_in_step() {
    let (server, mut market) = book_venue();
    let mut feed = Feed::connect(&server);
    feed.op("subscribe", INST);
    feed.until("first snapshot", |f| f.keeper.is_synced());
    assert_eq!(feed.events[0]["event"], "subscribe");
    assert_eq!(
        feed.events[0]["arg"],
        json!({"channel": "books", "instId": INST})
    );
    assert!(in_step(&server, &feed));

    move_market(&server, &mut market, &mut feed, 40);
    feed.until("in step", |f| in_step(&server, f));
    let stats = feed.keeper.stats();
    assert!(stats.applied > 10, "{stats:?}");
    assert_eq!(feed.keeper.checksums_verified(), stats.applied + 1);
    assert_eq!(
        feed.keeper.noncanonical_levels(),
        0,
        "OKX's shortest number form"
    );
    assert!(feed.resyncs.is_empty(), "{:?}", feed.resyncs);
    assert!(feed.keeper.last_seq_id().is_some());

    feed.send_text("ping");
    feed.until("pong", |f| f.pongs == 1);
    feed.op("subscribe", "DOGE-USDT");
    feed.until("refusal", |f| f.events.len() == 2);
    assert_eq!(feed.events[1]["event"], "error");
    assert_eq!(feed.events[1]["code"], "60018");
}

#[test]
fn a_gap_and_a_wrong_checksum_make_the_keeper_resync() {
    let (server, mut market) = book_venue();
    let mut feed = Feed::connect(&server);
    feed.op("subscribe", INST);
    feed.until("first snapshot", |f| f.keeper.is_synced());
    move_market(&server, &mut market, &mut feed, 10);
    feed.until("in step", |f| in_step(&server, f));

    let last = feed.keeper.last_seq_id().expect("a seqId");
    server.fault(Fault::Gap);
    move_market(&server, &mut market, &mut feed, 5);
    feed.until("gap seen", |f| !f.resyncs.is_empty());
    match feed.resyncs[0] {
        ResyncReason::Gap { expected, got } => {
            assert_eq!(expected, u64::try_from(last).expect("positive"));
            assert!(got > expected);
        }
        other => panic!("not a gap: {other:?}"),
    }
    assert_eq!(feed.keeper.stats().gaps, 1);
    feed.op("unsubscribe", INST);
    feed.op("subscribe", INST);
    feed.until("resynced", |f| in_step(&server, f));
    move_market(&server, &mut market, &mut feed, 10);
    feed.until("in step after the gap", |f| in_step(&server, f));

    server.fault(Fault::BadChecksum);
    move_market(&server, &mut market, &mut feed, 5);
    feed.until("bad checksum seen", |f| f.resyncs.len() == 2);
    assert!(
        matches!(feed.resyncs[1], ResyncReason::Checksum { venue, ours } if venue == !ours),
        "{:?}",
        feed.resyncs
    );
    feed.op("subscribe", INST);
    feed.until("resynced again", |f| in_step(&server, f));
    assert_eq!(feed.keeper.stats().snapshots, 3);
}

/// Take the exchange's pending deltas and publish them.
fn publish(front: &mut OkxFront, ex: &mut Exchange) -> Vec<Publication> {
    let mut deltas = Vec::new();
    ex.take_deltas(INST, &mut deltas);
    front.publish(ex, INST, &deltas, &mut Faults::default())
}

#[test]
fn an_update_queued_before_a_snapshot_reaches_that_session_as_a_no_change_push() {
    let mut ex = exchange();
    let mut front = OkxFront::new(Vec::new());
    let subscribe =
        json!({"op": "subscribe", "args": [{"channel": "books", "instId": INST}]}).to_string();
    let mut first = WsSession::default();
    front.ws_text(&ex, &mut first, &subscribe);
    ex.set_level(INST, BookSide::Bid, Fixed(649_980), Fixed(1_000_000));
    let queued = publish(&mut front, &mut ex);
    assert_eq!(queued.len(), 1);

    // A second session subscribes before the update reaches it: its snapshot has the update.
    let mut second = WsSession::default();
    let replies = front.ws_text(&ex, &mut second, &subscribe);
    let mut keeper = OkxBook::new(Book::new(400, scale(1), scale(8)));
    let Ok(OkxFrame::Book(snapshot)) = parse_okx(replies[1].as_bytes()) else {
        panic!("no snapshot: {replies:?}");
    };
    assert_eq!(keeper.on_book(&snapshot), Outcome::Applied);

    // As sent, the queued update would not chain from the snapshot: a false gap.
    assert_eq!(front.deliver(&mut first, &queued[0]), queued[0].text);
    let Ok(OkxFrame::Book(raw)) = parse_okx(queued[0].text.as_bytes()) else {
        panic!("not a push");
    };
    assert_ne!(raw.prev_seq_id, keeper.last_seq_id());
    let late = front.deliver(&mut second, &queued[0]);
    let Ok(OkxFrame::Book(no_change)) = parse_okx(late.as_bytes()) else {
        panic!("not a push: {late}");
    };
    assert_eq!(
        (no_change.prev_seq_id, no_change.seq_id),
        (keeper.last_seq_id(), keeper.last_seq_id())
    );
    assert!(no_change.bids.is_empty() && no_change.asks.is_empty());
    assert_eq!(keeper.on_book(&no_change), Outcome::Applied);

    // The next update chains from the snapshot.
    ex.set_level(INST, BookSide::Bid, Fixed(649_980), Fixed::ZERO);
    let next = publish(&mut front, &mut ex);
    let text = front.deliver(&mut second, &next[0]);
    let Ok(OkxFrame::Book(update)) = parse_okx(text.as_bytes()) else {
        panic!("not a push: {text}");
    };
    assert_eq!(keeper.on_book(&update), Outcome::Applied);
    assert_eq!(
        flat(keeper.book().bids()),
        flat(ex.book(INST).expect("book").bids())
    );
    assert_eq!(keeper.stats().gaps, 0);
}
