//! OKX v5, simulated: the REST endpoints Kestrel uses (`POST /api/v5/trade/order`,
//! `POST /api/v5/trade/cancel-order`, `GET /api/v5/trade/order`, `GET /api/v5/trade/fills`,
//! `GET /api/v5/account/balance`,
//! `GET /api/v5/account/trade-fee`, public `GET /api/v5/public/instruments`), private ones
//! checked with OKX's `OK-ACCESS-*` rules, and the public WebSocket `books` channel at
//! `/ws/v5/public`, in OKX's formats.
//!
//! **REST.** Answers are `{"code":"0","msg":"","data":[..]}`. A request OKX refuses as a whole
//! (a missing or malformed parameter, an unknown instrument, an unknown order on a query, an
//! auth failure, an injected failure) carries its code at the top with empty `data`; an order
//! the matching engine refuses (balance, lot size, minimum, duplicate id, cancel of an order
//! that is not open) is `code` `"1"` with the reason in `data[0].sCode`/`sMsg`. Numbers are
//! strings in OKX's shortest form (`"0.0008"`, `"65000"`); fees and fee rates are negative for
//! a charge. An IOC order's unfilled rest leaves it `canceled`.
//!
//! **Book channel.** A snapshot on subscribe (`prevSeqId` -1), then one update per publication
//! whose `prevSeqId` is the `seqId` before it, each with the signed CRC32 of the book's top 25
//! levels after it ([`okx_checksum`]) over the exchange's book. One `seqId` counter serves
//! every instrument, so a `seqId` also orders publications: an update queued for a session
//! before its subscribe was answered has a `seqId` no later than its snapshot's, is already in
//! it, and is delivered as OKX's no-change push instead (`prevSeqId` = `seqId` = the
//! snapshot's, empty sides). Each subscription's snapshot `seqId` and checksum are kept beside
//! it in [`WsSession::topics`] as `<topic>#<seqId>#<checksum>`, a name no publication carries.
//! [`WsSession::seq`] holds the connection's number (its `connId`).
//!
//! Faults: `Gap` makes the next update chain from a push that was never sent; `BadChecksum`
//! sends a wrong checksum.

use std::collections::HashMap;
use std::fmt::Write as _;

use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_types::cex::{BookSide, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::auth::{HttpMethod, OkxRequest, OkxSigner, Rejection, verify_okx};
use kestrel_venues::book::{Book, Level};
use kestrel_venues::sync::okx::okx_checksum;
use serde_json::{Value, json};

use crate::candles;
use crate::engine::{
    Exchange, FeeAsset, Fill, Keep, Liquidity, NewOrder, Order, OrderRef, OrderStatus, Reject,
    SymbolSpec, Tif,
};
use crate::http::{HttpRequest, HttpResponse, form_pairs};
use crate::server::{Faults, Front, Publication, WsSession};

/// Levels a side the `books` channel's snapshot carries.
const BOOKS_DEPTH: usize = 400;

/// The first `seqId` handed out.
const FIRST_SEQ_ID: i64 = 1_000_000;

/// The longest `clOrdId` OKX takes.
const MAX_CL_ORD_ID: usize = 32;

/// The OKX front over one exchange.
#[derive(Debug)]
pub struct OkxFront {
    keys: HashMap<String, OkxSigner>,
    /// The `seqId` of the last push per instrument.
    last_seq: HashMap<String, i64>,
    /// The last `seqId` handed out, whatever the instrument.
    seq_counter: i64,
    /// WebSocket connections opened.
    connections: u64,
}

impl OkxFront {
    /// A front accepting private requests from these keys (each signer holds the key, its
    /// secret and passphrase; each account's API key is its name in the exchange).
    pub fn new(keys: Vec<OkxSigner>) -> OkxFront {
        OkxFront {
            keys: keys
                .into_iter()
                .map(|k| (k.api_key().to_string(), k))
                .collect(),
            last_seq: HashMap::new(),
            seq_counter: FIRST_SEQ_ID,
            connections: 0,
        }
    }

    /// Hand out `count` more `seqId`s; the last of them.
    fn allocate(&mut self, count: i64) -> i64 {
        self.seq_counter += count.max(1);
        self.seq_counter
    }

    /// The `seqId` of the last push for `inst`, starting the instrument's chain if need be.
    fn current_seq(&mut self, inst: &str) -> i64 {
        if let Some(&seq) = self.last_seq.get(inst) {
            return seq;
        }
        let seq = self.allocate(1);
        self.last_seq.insert(inst.to_string(), seq);
        seq
    }
}

impl Front for OkxFront {
    fn venue(&self) -> Venue {
        Venue::Okx
    }

    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
        let path = request.path.as_str();
        let private = path.starts_with("/api/v5/trade/") || path.starts_with("/api/v5/account/");
        if private && let Err(rejection) = self.authenticate(request, now_ms) {
            return top_error(
                rejection.http_status,
                rejection.code.unwrap_or(50113),
                &rejection.message,
            );
        }
        let account = request.header("ok-access-key").unwrap_or_default();
        let query = params(&request.query);
        match (request.method.as_str(), path) {
            ("POST", "/api/v5/trade/order") => place_order(ex, account, request, now_ms),
            ("POST", "/api/v5/trade/cancel-order") => cancel_order(ex, account, request, now_ms),
            ("GET", "/api/v5/trade/order") => query_order(ex, account, &query),
            ("GET", "/api/v5/trade/fills") => order_fills(ex, account, &query),
            ("GET", "/api/v5/account/balance") => balance(ex, account, &query, now_ms),
            ("GET", "/api/v5/account/trade-fee") => trade_fee(ex, account, &query, now_ms),
            ("GET", "/api/v5/public/instruments") => instruments(ex, &query),
            ("GET", "/api/v5/market/candles" | "/api/v5/market/history-candles") => {
                market_candles(ex, &query)
            }
            _ => HttpResponse::json(404, json!({"code": "404", "msg": "Not Found"}).to_string()),
        }
    }

    fn ws_open(
        &mut self,
        _ex: &Exchange,
        request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse> {
        if request.path != "/ws/v5/public" {
            return Err(HttpResponse::json(
                404,
                r#"{"code":"60017","msg":"Invalid url path"}"#,
            ));
        }
        self.connections += 1;
        let session = WsSession {
            seq: self.connections,
            ..WsSession::default()
        };
        Ok((session, Vec::new()))
    }

    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
        if text == "ping" {
            return vec!["pong".into()];
        }
        let conn_id = format!("{:08x}", session.seq);
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return vec![event_error(
                "60012",
                &format!("Invalid request: {text}"),
                &conn_id,
            )];
        };
        let args = request.get("args").and_then(Value::as_array);
        let op = request.get("op").and_then(Value::as_str);
        let (Some(op @ ("subscribe" | "unsubscribe")), Some(args)) = (op, args) else {
            return vec![match op {
                Some(op) if args.is_some() => {
                    event_error("60019", &format!("Invalid op: {op}"), &conn_id)
                }
                _ => event_error("60012", &format!("Invalid request: {text}"), &conn_id),
            }];
        };
        let mut out = Vec::new();
        for arg in args {
            let channel = arg
                .get("channel")
                .and_then(Value::as_str)
                .unwrap_or_default();
            let inst = arg
                .get("instId")
                .and_then(Value::as_str)
                .unwrap_or_default();
            if channel != "books" || ex.symbol(inst).is_none() {
                let msg = format!(
                    "Wrong URL or channel:{channel},instId:{inst} doesn't exist. Please use the correct URL, channel and parameters referring to API document."
                );
                out.push(event_error("60018", &msg, &conn_id));
                continue;
            }
            let arg = json!({"channel": "books", "instId": inst});
            let mut ack = json!({"event": op, "arg": arg, "connId": conn_id});
            if let Some(id) = request.get("id") {
                ack["id"] = id.clone();
            }
            out.push(ack.to_string());
            forget(session, &books_topic(inst));
            if op == "subscribe" {
                out.push(self.subscribe(ex, session, inst));
            }
        }
        out
    }

    fn publish(
        &mut self,
        ex: &Exchange,
        symbol: &str,
        deltas: &[(BookSide, Fixed, Fixed)],
        faults: &mut Faults,
    ) -> Vec<Publication> {
        let (Some(spec), Some(book)) = (ex.symbol(symbol), ex.book(symbol)) else {
            return Vec::new();
        };
        let mut prev = self.current_seq(symbol);
        if take_one(&mut faults.gaps) {
            // A push this client never gets: the next one chains from it.
            prev = self.allocate(1);
        }
        let seq = self.allocate(i64::try_from(deltas.len()).unwrap_or(i64::MAX));
        self.last_seq.insert(symbol.to_string(), seq);
        let mut sum = okx_checksum(book, &mut String::new());
        if take_one(&mut faults.bad_checksums) {
            sum = !sum;
        }
        let (bids, asks) = changed_levels(book, deltas);
        let push = Push {
            inst: symbol,
            action: "update",
            prev_seq: prev,
            seq,
            checksum: sum,
        };
        vec![Publication {
            topic: books_topic(symbol),
            text: push.text(spec, &bids, &asks),
        }]
    }

    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
        let since = since_marker(session, &publication.topic);
        let seq = number_after(&publication.text, "\"seqId\":");
        match (since, seq) {
            // Already in the snapshot this session was sent: say so without changing anything.
            (Some((since, checksum)), Some(seq)) if seq <= since => {
                let inst = publication.topic.strip_prefix("books:").unwrap_or_default();
                let push = Push {
                    inst,
                    action: "update",
                    prev_seq: since,
                    seq: since,
                    checksum,
                };
                push.text_levels("[]", "[]")
            }
            _ => publication.text.clone(),
        }
    }
}

impl OkxFront {
    fn authenticate(&self, request: &HttpRequest, now_ms: u64) -> Result<(), Rejection> {
        let method = match request.method.as_str() {
            "GET" => HttpMethod::Get,
            "POST" => HttpMethod::Post,
            "PUT" => HttpMethod::Put,
            _ => HttpMethod::Delete,
        };
        let sent_key = request.header("ok-access-key");
        // With no such key, any key's check gives OKX's answer: a missing header first, then
        // `Invalid OK-ACCESS-KEY`.
        let key = sent_key
            .and_then(|k| self.keys.get(k))
            .or_else(|| self.keys.values().next());
        let Some(key) = key else {
            return Err(Rejection {
                venue: Venue::Okx,
                http_status: 401,
                code: Some(50111),
                message: "Invalid OK-ACCESS-KEY".into(),
            });
        };
        let body = request.body_text();
        let target = request.target();
        let signed = OkxRequest {
            access_key: sent_key,
            access_sign: request.header("ok-access-sign"),
            access_timestamp: request.header("ok-access-timestamp"),
            access_passphrase: request.header("ok-access-passphrase"),
            method,
            request_path: &target,
            body: &body,
        };
        verify_okx(&signed, key, now_ms)
    }

    /// The snapshot a subscription starts with: the exchange's book now, as of the
    /// instrument's last `seqId`.
    fn subscribe(&mut self, ex: &Exchange, session: &mut WsSession, inst: &str) -> String {
        let seq = self.current_seq(inst);
        let (Some(spec), Some(book)) = (ex.symbol(inst), ex.book(inst)) else {
            return String::new();
        };
        let sum = okx_checksum(book, &mut String::new());
        let topic = books_topic(inst);
        session.topics.insert(format!("{topic}#{seq}#{sum}"));
        session.topics.insert(topic);
        let push = Push {
            inst,
            action: "snapshot",
            prev_seq: -1,
            seq,
            checksum: sum,
        };
        let top = |levels: &[Level]| levels.iter().take(BOOKS_DEPTH).copied().collect::<Vec<_>>();
        push.text(spec, &top(book.bids()), &top(book.asks()))
    }
}

/// One `books` push's header fields.
struct Push<'a> {
    inst: &'a str,
    action: &'a str,
    prev_seq: i64,
    seq: i64,
    checksum: i32,
}

impl Push<'_> {
    fn text(&self, spec: &SymbolSpec, bids: &[Level], asks: &[Level]) -> String {
        self.text_levels(&levels_json(spec, asks), &levels_json(spec, bids))
    }

    fn text_levels(&self, asks: &str, bids: &str) -> String {
        let ts = LiveClock.unix_ms();
        format!(
            r#"{{"arg":{{"channel":"books","instId":"{}"}},"action":"{}","data":[{{"asks":{asks},"bids":{bids},"ts":"{ts}","checksum":{},"prevSeqId":{},"seqId":{}}}]}}"#,
            self.inst, self.action, self.checksum, self.prev_seq, self.seq
        )
    }
}

/// `[["px","sz","0","orders"],..]`: a removed level has size and count `"0"`.
fn levels_json(spec: &SymbolSpec, levels: &[Level]) -> String {
    let mut out = String::from("[");
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let orders = if level.size.is_zero() { "0" } else { "1" };
        let _ = write!(
            out,
            r#"["{}","{}","0","{orders}"]"#,
            fixed_text(level.price, spec.price_scale.digits()),
            fixed_text(level.size, spec.size_scale.digits()),
        );
    }
    out.push(']');
    out
}

/// Each level the deltas touched, once, at its size now (zero: gone), bids best first and
/// asks best first, as OKX sends them.
fn changed_levels(book: &Book, deltas: &[(BookSide, Fixed, Fixed)]) -> (Vec<Level>, Vec<Level>) {
    let mut bids: Vec<Level> = Vec::new();
    let mut asks: Vec<Level> = Vec::new();
    for &(side, price, _) in deltas {
        let out = match side {
            BookSide::Bid => &mut bids,
            BookSide::Ask => &mut asks,
        };
        if out.iter().any(|l| l.price == price) {
            continue;
        }
        let size = book
            .side(side)
            .iter()
            .find(|l| l.price == price)
            .map_or(Fixed::ZERO, |l| l.size);
        out.push(Level { price, size });
    }
    bids.sort_by_key(|l| std::cmp::Reverse(l.price));
    asks.sort_by_key(|l| l.price);
    (bids, asks)
}

fn books_topic(inst: &str) -> String {
    format!("books:{inst}")
}

/// Remove a session's subscription to `topic` and its snapshot marker.
fn forget(session: &mut WsSession, topic: &str) {
    let marker = format!("{topic}#");
    session
        .topics
        .retain(|t| t != topic && !t.starts_with(&marker));
}

/// The snapshot `seqId` and checksum kept beside a subscription.
fn since_marker(session: &WsSession, topic: &str) -> Option<(i64, i32)> {
    session.topics.iter().find_map(|t| {
        let rest = t.strip_prefix(topic)?.strip_prefix('#')?;
        let (seq, sum) = rest.split_once('#')?;
        Some((seq.parse().ok()?, sum.parse().ok()?))
    })
}

/// The integer after `key` in a frame this front wrote.
fn number_after(text: &str, key: &str) -> Option<i64> {
    let start = text.find(key)? + key.len();
    let rest = text.get(start..)?;
    let end = rest
        .find(|c: char| c != '-' && !c.is_ascii_digit())
        .unwrap_or(rest.len());
    rest.get(..end)?.parse().ok()
}

fn take_one(pending: &mut u32) -> bool {
    if *pending == 0 {
        return false;
    }
    *pending -= 1;
    true
}

fn event_error(code: &str, msg: &str, conn_id: &str) -> String {
    json!({"event": "error", "code": code, "msg": msg, "connId": conn_id}).to_string()
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

fn params(query: &str) -> HashMap<String, String> {
    form_pairs(query).into_iter().collect()
}

/// `units × 10^-digits` in OKX's shortest form: no trailing fraction zeros, no bare point.
fn units_text(units: u128, digits: u8) -> String {
    let one = 10u128.pow(u32::from(digits));
    let (whole, mut fraction) = (units / one, units % one);
    if fraction == 0 {
        return whole.to_string();
    }
    let mut width = usize::from(digits);
    while fraction % 10 == 0 {
        fraction /= 10;
        width -= 1;
    }
    format!("{whole}.{fraction:0width$}")
}

fn fixed_text(value: Fixed, digits: u8) -> String {
    units_text(u128::from(value.0), digits)
}

/// A charge as OKX writes it: negative, or `"0"`.
fn charge_text(units: u128, digits: u8) -> String {
    match units {
        0 => "0".into(),
        _ => format!("-{}", units_text(units, digits)),
    }
}

fn rate_text(rate: Rate) -> String {
    charge_text(u128::from(rate.0), 8)
}

fn notional_digits(spec: &SymbolSpec) -> u8 {
    spec.price_scale.digits() + spec.size_scale.digits()
}

fn ok(data: Value) -> HttpResponse {
    HttpResponse::json(
        200,
        json!({"code": "0", "msg": "", "data": data}).to_string(),
    )
}

/// A refusal of the whole request: its code at the top, no data.
fn top_error(status: u16, code: i64, msg: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        json!({"code": code.to_string(), "msg": msg, "data": []}).to_string(),
    )
}

/// An order the engine refused: `code` `"1"`, the reason per order.
fn order_error(cl_ord_id: &str, s_code: i64, s_msg: &str, now_ms: u64) -> HttpResponse {
    let item = json!({
        "clOrdId": cl_ord_id, "ordId": "", "tag": "", "ts": now_ms.to_string(),
        "sCode": s_code.to_string(), "sMsg": s_msg,
    });
    let in_out = (now_ms * 1_000).to_string();
    HttpResponse::json(
        200,
        json!({
            "code": "1", "msg": "All operations failed", "data": [item],
            "inTime": in_out, "outTime": in_out,
        })
        .to_string(),
    )
}

fn empty_param(name: &str) -> HttpResponse {
    top_error(200, 50014, &format!("Parameter {name} can not be empty."))
}

fn param_error(name: &str) -> HttpResponse {
    top_error(200, 51000, &format!("Parameter {name} error"))
}

fn unknown_instrument() -> HttpResponse {
    top_error(
        200,
        51001,
        "Instrument ID, Instrument ID code, or Spread ID doesn't exist.",
    )
}

/// The request's JSON body, or OKX's refusal of it.
fn json_body(request: &HttpRequest) -> Result<Value, HttpResponse> {
    match serde_json::from_slice::<Value>(&request.body) {
        Ok(body @ Value::Object(_)) => Ok(body),
        _ => Err(top_error(400, 50002, "JSON syntax error")),
    }
}

/// A required string field (`50014` when absent or empty).
fn required<'a>(body: &'a Value, name: &str) -> Result<&'a str, HttpResponse> {
    body.get(name)
        .and_then(Value::as_str)
        .filter(|v| !v.is_empty())
        .ok_or_else(|| empty_param(name))
}

/// A decoded place-order request.
fn new_order(ex: &Exchange, body: &Value) -> Result<(NewOrder, SymbolSpec), HttpResponse> {
    let inst = required(body, "instId")?;
    let spec = ex.symbol(inst).ok_or_else(unknown_instrument)?;
    if required(body, "tdMode")? != "cash" {
        return Err(param_error("tdMode"));
    }
    let side = match required(body, "side")? {
        "buy" => OrderSide::Buy,
        "sell" => OrderSide::Sell,
        _ => return Err(param_error("side")),
    };
    let tif = match required(body, "ordType")? {
        "limit" => Tif::Gtc,
        "ioc" => Tif::Ioc,
        _ => return Err(param_error("ordType")),
    };
    let size = Fixed::parse(required(body, "sz")?.as_bytes(), spec.size_scale)
        .map_err(|_| param_error("sz"))?;
    let limit = Fixed::parse(required(body, "px")?.as_bytes(), spec.price_scale)
        .map_err(|_| param_error("px"))?;
    let client_id = body
        .get("clOrdId")
        .and_then(Value::as_str)
        .unwrap_or_default();
    let valid_id =
        client_id.len() <= MAX_CL_ORD_ID && client_id.bytes().all(|b| b.is_ascii_alphanumeric());
    if !valid_id {
        return Err(param_error("clOrdId"));
    }
    let order = NewOrder {
        symbol: inst.to_string(),
        side,
        size,
        limit,
        tif,
        client_id: client_id.to_string(),
    };
    Ok((order, spec.clone()))
}

fn place_order(
    ex: &mut Exchange,
    account: &str,
    request: &HttpRequest,
    now_ms: u64,
) -> HttpResponse {
    let parsed = json_body(request).and_then(|body| new_order(ex, &body));
    let (order, spec) = match parsed {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal,
    };
    let (cl_ord_id, side) = (order.client_id.clone(), order.side);
    match ex.place(account, order, now_ms) {
        Ok(placed) => ack(&placed, "Order placed", now_ms),
        Err(reject) => reject_order(&reject, &spec, side, &cl_ord_id, now_ms),
    }
}

/// `data[0]` of a successful place or cancel.
fn ack(order: &Order, s_msg: &str, now_ms: u64) -> HttpResponse {
    let in_out = (now_ms * 1_000).to_string();
    let item = json!({
        "clOrdId": order.client_id, "ordId": order.id.to_string(), "tag": "",
        "ts": now_ms.to_string(), "sCode": "0", "sMsg": s_msg,
    });
    HttpResponse::json(
        200,
        json!({"code": "0", "msg": "", "data": [item], "inTime": in_out, "outTime": in_out})
            .to_string(),
    )
}

fn reject_order(
    reject: &Reject,
    spec: &SymbolSpec,
    side: OrderSide,
    cl_ord_id: &str,
    now_ms: u64,
) -> HttpResponse {
    let per_order = |code, msg: &str| order_error(cl_ord_id, code, msg, now_ms);
    match reject {
        Reject::UnknownSymbol => unknown_instrument(),
        Reject::UnknownAccount => top_error(401, 50111, "Invalid OK-ACCESS-KEY"),
        Reject::InsufficientBalance => {
            let ccy = match side {
                OrderSide::Buy => &spec.quote,
                OrderSide::Sell => &spec.base,
            };
            per_order(
                51008,
                &format!("Order failed. Insufficient {ccy} balance in account"),
            )
        }
        Reject::BadTick => per_order(51000, "Parameter px error"),
        Reject::BadLot => per_order(51121, "Order quantity must be a multiple of the lot size."),
        Reject::BelowMinSize | Reject::BelowMinNotional => per_order(
            51020,
            "Your order should meet or exceed the minimum order amount.",
        ),
        Reject::DuplicateClientId => per_order(51016, "Duplicated clOrdId"),
        Reject::UnknownOrder | Reject::NotOpen => per_order(
            51400,
            "Order cancellation failed as the order has been filled, canceled or does not exist.",
        ),
        Reject::Injected { code, message } => {
            let status = match code {
                50011 | 50061 => 429,
                50001 | 50013 => 503,
                50004 => 504,
                _ => 200,
            };
            top_error(status, *code, message)
        }
    }
}

/// The order a request names by `ordId` or `clOrdId` (`50015` when neither).
fn order_ref(get: impl Fn(&str) -> Option<String>) -> Result<OrderRef, HttpResponse> {
    if let Some(id) = get("ordId").filter(|v| !v.is_empty()) {
        return id
            .parse()
            .map(OrderRef::Id)
            .map_err(|_| param_error("ordId"));
    }
    match get("clOrdId").filter(|v| !v.is_empty()) {
        Some(id) => Ok(OrderRef::Client(id)),
        None => Err(top_error(
            200,
            50015,
            "Either parameter ordId or clOrdId is required.",
        )),
    }
}

fn cancel_order(
    ex: &mut Exchange,
    account: &str,
    request: &HttpRequest,
    now_ms: u64,
) -> HttpResponse {
    let body = match json_body(request) {
        Ok(body) => body,
        Err(refusal) => return refusal,
    };
    let inst = match required(&body, "instId") {
        Ok(inst) => inst,
        Err(refusal) => return refusal,
    };
    let Some(spec) = ex.symbol(inst).cloned() else {
        return unknown_instrument();
    };
    let get = |name: &str| body.get(name).and_then(Value::as_str).map(str::to_string);
    let by = match order_ref(get) {
        Ok(by) => by,
        Err(refusal) => return refusal,
    };
    let cl_ord_id = match &by {
        OrderRef::Client(id) => id.clone(),
        OrderRef::Id(_) => String::new(),
    };
    match ex.cancel(account, inst, by) {
        Ok(order) => ack(&order, "", now_ms),
        Err(reject) => reject_order(&reject, &spec, OrderSide::Buy, &cl_ord_id, now_ms),
    }
}

fn query_order(ex: &Exchange, account: &str, query: &HashMap<String, String>) -> HttpResponse {
    let Some(inst) = query.get("instId").filter(|v| !v.is_empty()) else {
        return empty_param("instId");
    };
    let Some(spec) = ex.symbol(inst) else {
        return unknown_instrument();
    };
    let by = match order_ref(|name| query.get(name).cloned()) {
        Ok(by) => by,
        Err(refusal) => return refusal,
    };
    match ex.order(account, inst, &by) {
        Some(order) => ok(json!([order_json(spec, order)])),
        None => top_error(200, 51603, "Order does not exist"),
    }
}

/// The most fills one `GET /api/v5/trade/fills` answer holds (OKX's `limit`: at most 100, 100
/// by default).
const MAX_FILLS_LIMIT: u64 = 100;

/// Where this simulation's `billId`s start: a fill's `billId` is its trade id past it, so that
/// bill ids order fills as trade ids do (newer is larger) but are never the same number (a
/// client that pages by `tradeId` is caught).
const BILL_ID_BASE: u64 = 680_800_019_754_000_000;

/// `GET /api/v5/trade/fills` ("Get transaction details"): the account's trades of the order
/// `ordId` on `instId`, newest first, each at its book level's price and size with the fee the
/// engine charged on it (negative, in its currency) and its own `billId`. This simulation asks
/// for both `instId` and `ordId` (OKX takes neither as required and lists every recent fill
/// then); an order it does not know has no fills (an empty list, as OKX answers).
///
/// One page: at most `limit` fills (1 to 100, 100 when absent or empty; anything else is
/// `51000`), those with a `billId` below `after` (older), above `before` (newer), or between
/// both; `before` alone gives the `limit` fills just newer than it, still newest first. A
/// cursor that is not a number is `51000` too.
fn order_fills(ex: &Exchange, account: &str, query: &HashMap<String, String>) -> HttpResponse {
    match query.get("instType").map(String::as_str) {
        Some("SPOT") | None => {}
        Some(_) => return param_error("instType"),
    }
    let Some(inst) = query.get("instId").filter(|v| !v.is_empty()) else {
        return empty_param("instId");
    };
    let Some(spec) = ex.symbol(inst) else {
        return unknown_instrument();
    };
    let Some(ord_id) = query.get("ordId").filter(|v| !v.is_empty()) else {
        return empty_param("ordId");
    };
    let Ok(id) = ord_id.parse::<u64>() else {
        return param_error("ordId");
    };
    let number = |name: &str| match query.get(name).map(String::as_str) {
        None | Some("") => Ok(None),
        Some(text) => text.parse::<u64>().map(Some).map_err(|_| param_error(name)),
    };
    let (limit, after, before) = match (number("limit"), number("after"), number("before")) {
        (Ok(limit), Ok(after), Ok(before)) => (limit.unwrap_or(MAX_FILLS_LIMIT), after, before),
        (Err(refusal), _, _) | (_, Err(refusal), _) | (_, _, Err(refusal)) => return refusal,
    };
    if !(1..=MAX_FILLS_LIMIT).contains(&limit) {
        return param_error("limit");
    }
    let Some(order) = ex.order(account, inst, &OrderRef::Id(id)) else {
        return ok(json!([]));
    };
    let (price_digits, size_digits) = (spec.price_scale.digits(), spec.size_scale.digits());
    let side = match order.side {
        OrderSide::Buy => "buy",
        OrderSide::Sell => "sell",
    };
    let time = order.created_ms.to_string();
    let bill_id = |fill: &&Fill| BILL_ID_BASE.saturating_add(fill.trade_id);
    // Oldest first, within the cursors.
    let listed: Vec<&Fill> = order
        .fills
        .iter()
        .filter(|f| after.is_none_or(|a| bill_id(f) < a) && before.is_none_or(|b| bill_id(f) > b))
        .collect();
    let count = usize::try_from(limit)
        .unwrap_or(usize::MAX)
        .min(listed.len());
    // The newest `limit`, or with `before` alone the `limit` nearest it.
    let page = if before.is_some() && after.is_none() {
        &listed[..count]
    } else {
        &listed[listed.len() - count..]
    };
    let data: Vec<Value> = page
        .iter()
        .rev()
        .map(|fill| {
            let (fee_ccy, fee_digits) = match fill.fee_asset {
                FeeAsset::Base => (&spec.base, size_digits),
                FeeAsset::Quote => (&spec.quote, notional_digits(spec)),
            };
            let exec_type = match fill.liquidity {
                Liquidity::Taker => "T",
                Liquidity::Maker => "M",
            };
            json!({
                "instType": "SPOT", "instId": order.symbol, "tradeId": fill.trade_id.to_string(),
                "ordId": order.id.to_string(), "clOrdId": order.client_id,
                "billId": bill_id(fill).to_string(), "subType": "1", "tag": "",
                "fillPx": fixed_text(fill.price, price_digits),
                "fillSz": fixed_text(fill.size, size_digits),
                "fillIdxPx": "", "fillPnl": "0", "fillPxVol": "", "fillPxUsd": "",
                "fillMarkVol": "", "fillFwdPx": "", "fillMarkPx": "",
                "side": side, "posSide": "net", "execType": exec_type,
                "feeCcy": fee_ccy, "fee": charge_text(fill.fee, fee_digits),
                "ts": time, "fillTime": time, "tradeQuoteCcy": spec.quote,
            })
        })
        .collect();
    ok(Value::Array(data))
}

fn state_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "live",
        OrderStatus::PartiallyFilled => "partially_filled",
        OrderStatus::Filled => "filled",
        OrderStatus::Canceled | OrderStatus::Expired => "canceled",
    }
}

/// Get-order-details' fields that a spot limit order leaves empty.
const EMPTY_ORDER_FIELDS: [&str; 19] = [
    "tgtCcy",
    "ccy",
    "tag",
    "pxUsd",
    "pxVol",
    "pxType",
    "lever",
    "stpId",
    "source",
    "cancelSource",
    "cancelSourceReason",
    "quickMgnType",
    "algoClOrdId",
    "algoId",
    "attachAlgoClOrdId",
    "slTriggerPx",
    "slOrdPx",
    "tpTriggerPx",
    "tpOrdPx",
];

/// Get-order-details' fields for a spot order.
fn order_json(spec: &SymbolSpec, order: &Order) -> Value {
    let (price_digits, size_digits) = (spec.price_scale.digits(), spec.size_scale.digits());
    let (fee_ccy, rebate_ccy, fee_digits) = match order.fills.first().map(|f| f.fee_asset) {
        Some(FeeAsset::Base) => (&spec.base, &spec.quote, size_digits),
        _ => (&spec.quote, &spec.base, notional_digits(spec)),
    };
    let last = order.fills.last();
    let time = order.created_ms.to_string();
    let mut value = json!({
        "instType": "SPOT", "instId": order.symbol, "ordId": order.id.to_string(),
        "clOrdId": order.client_id, "px": fixed_text(order.limit, price_digits),
        "sz": fixed_text(order.size, size_digits), "pnl": "0",
        "ordType": match order.tif { Tif::Gtc => "limit", Tif::Ioc => "ioc" },
        "side": match order.side { OrderSide::Buy => "buy", OrderSide::Sell => "sell" },
        "posSide": "net", "tdMode": "cash",
        "accFillSz": fixed_text(order.filled, size_digits),
        "fillPx": last.map(|f| fixed_text(f.price, price_digits)).unwrap_or_default(),
        "tradeId": last.map(|f| f.trade_id.to_string()).unwrap_or_default(),
        "fillSz": last.map(|f| fixed_text(f.size, size_digits)).unwrap_or_default(),
        "fillTime": if last.is_some() { time.as_str() } else { "" },
        "avgPx": average_price(spec, order), "state": state_text(order.status),
        "stpMode": "cancel_maker", "feeCcy": fee_ccy,
        "fee": charge_text(order.fees, fee_digits), "rebateCcy": rebate_ccy, "rebate": "0",
        "category": "normal", "reduceOnly": "false", "isTpLimit": "false",
        "attachAlgoOrds": [], "uTime": time, "cTime": time,
    });
    for name in EMPTY_ORDER_FIELDS {
        value[name] = json!("");
    }
    value
}

/// The exact average fill price (`""` before any fill), to the notional's digits.
fn average_price(spec: &SymbolSpec, order: &Order) -> String {
    if order.filled.is_zero() {
        return String::new();
    }
    let size_one = 10u128.pow(u32::from(spec.size_scale.digits()));
    let average = order.notional * size_one / u128::from(order.filled.0);
    units_text(average, notional_digits(spec))
}

/// One detail per currency held (or named in `ccy`): `availBal` free, `frozenBal` held.
fn balance(
    ex: &Exchange,
    account: &str,
    query: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let wanted: Option<Vec<&str>> = query.get("ccy").map(|c| c.split(',').collect());
    let time = now_ms.to_string();
    let details: Vec<Value> = ex
        .balances(account)
        .into_iter()
        .filter(|(asset, free, locked)| match &wanted {
            Some(list) => list.contains(&asset.as_str()),
            None => free + locked > 0,
        })
        .map(|(asset, free, locked)| {
            let digits = ex.asset_digits(&asset);
            let total = units_text(free + locked, digits);
            json!({
                "ccy": asset, "availBal": units_text(free, digits),
                "availEq": units_text(free, digits),
                "cashBal": total, "eq": total, "frozenBal": units_text(locked, digits),
                "ordFrozen": units_text(locked, digits), "disEq": "", "eqUsd": "", "interest": "",
                "isoEq": "", "liab": "", "maxLoan": "", "mgnRatio": "", "notionalLever": "",
                "twap": "0", "upl": "", "uplLiab": "", "uTime": time,
            })
        })
        .collect();
    ok(json!([{
        "adjEq": "", "availEq": "", "borrowFroz": "", "details": details, "imr": "", "isoEq": "",
        "mgnRatio": "", "mmr": "", "notionalUsd": "", "ordFroz": "", "totalEq": "", "uTime": time,
    }]))
}

fn trade_fee(
    ex: &Exchange,
    account: &str,
    query: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    match query.get("instType").map(String::as_str) {
        Some("SPOT") => {}
        Some("") | None => return empty_param("instType"),
        Some(_) => return param_error("instType"),
    }
    if let Some(inst) = query.get("instId")
        && ex.symbol(inst).is_none()
    {
        return unknown_instrument();
    }
    let Some(rates) = ex.fees(account) else {
        return top_error(401, 50111, "Invalid OK-ACCESS-KEY");
    };
    let (maker, taker) = (rate_text(rates.maker), rate_text(rates.taker));
    ok(json!([{
        "category": "1", "delivery": "", "exercise": "", "instType": "SPOT", "level": "Lv1",
        "feeGroup": [{"groupId": "1", "maker": maker, "taker": taker}],
        "maker": maker, "makerU": "", "makerUSDC": "", "ruleType": "normal",
        "taker": taker, "takerU": "", "takerUSDC": "", "ts": now_ms.to_string(),
    }]))
}

/// OKX's `bar` for each interval the engine keeps (the day as `1Dutc`, UTC-aligned).
fn interval_of_bar(bar: &str) -> Option<Interval> {
    Some(match bar {
        "1m" => Interval::M1,
        "5m" => Interval::M5,
        "15m" => Interval::M15,
        "1H" => Interval::H1,
        "4H" => Interval::H4,
        "1Dutc" => Interval::D1,
        _ => return None,
    })
}

/// `GET /api/v5/market/candles` (and `history-candles`): the latest `limit` bars (default
/// 100, at most 300) opening before `after` and after `before` (both exclusive), newest
/// first, as `[ts, o, h, l, c, vol, volCcy, volCcyQuote, confirm]` strings.
fn market_candles(ex: &Exchange, query: &HashMap<String, String>) -> HttpResponse {
    let spec = match query.get("instId").map(String::as_str) {
        Some("") | None => return empty_param("instId"),
        Some(inst) => match ex.symbol(inst) {
            Some(spec) => spec,
            None => return unknown_instrument(),
        },
    };
    let Some(interval) = interval_of_bar(query.get("bar").map_or("1m", String::as_str)) else {
        return param_error("bar");
    };
    let (Ok(after), Ok(before), Ok(limit)) = (
        candles::number(query, "after"),
        candles::number(query, "before"),
        candles::number(query, "limit"),
    ) else {
        return param_error("after, before or limit");
    };
    let limit = limit.unwrap_or(100);
    if !(1..=300).contains(&limit) {
        return param_error("limit");
    }
    let first = before.map_or(Some(0), |b| b.checked_add(1));
    let last = after.map_or(Some(u64::MAX), |a| a.checked_sub(1));
    let bars = match (first, last) {
        (Some(first), Some(last)) => ex.candles(
            &spec.symbol,
            interval,
            first..=last,
            candles::count(limit),
            Keep::Latest,
        ),
        _ => Vec::new(),
    };
    let data: Vec<Value> = bars
        .iter()
        .rev()
        .map(|bar| {
            let [o, h, l, c, vol] = candles::values(spec, bar, candles::shortest);
            json!([bar.open_ms.to_string(), o, h, l, c, vol, "0", "0", "1"])
        })
        .collect();
    ok(Value::Array(data))
}

fn instruments(ex: &Exchange, query: &HashMap<String, String>) -> HttpResponse {
    match query.get("instType").map(String::as_str) {
        Some("SPOT") => {}
        Some("") | None => return empty_param("instType"),
        Some(_) => return param_error("instType"),
    }
    let specs: Vec<&SymbolSpec> = match query.get("instId") {
        Some(inst) => match ex.symbol(inst) {
            Some(spec) => vec![spec],
            None => return unknown_instrument(),
        },
        None => ex.symbols().iter().collect(),
    };
    let data: Vec<Value> = specs
        .into_iter()
        .map(|spec| {
            json!({
                "instType": "SPOT", "instId": spec.symbol, "baseCcy": spec.base,
                "quoteCcy": spec.quote, "settleCcy": "", "ctVal": "", "ctMult": "",
                "ctValCcy": "", "ctType": "", "optType": "", "stk": "", "uly": "",
                "instFamily": "", "alias": "", "category": "1", "listTime": "0", "expTime": "",
                "lever": "", "ruleType": "normal", "state": "live",
                "tickSz": fixed_text(spec.tick, spec.price_scale.digits()),
                "lotSz": fixed_text(spec.lot, spec.size_scale.digits()),
                "minSz": fixed_text(spec.min_size, spec.size_scale.digits()),
                "maxLmtSz": "9999999999", "maxMktSz": "1000000", "maxLmtAmt": "20000000",
                "maxMktAmt": "1000000", "maxTwapSz": "9999999999", "maxIcebergSz": "9999999999",
                "maxTriggerSz": "9999999999", "maxStopSz": "1000000",
            })
        })
        .collect();
    ok(Value::Array(data))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn numbers_are_written_in_shortest_form() {
        assert_eq!(units_text(6_500_000, 2), "65000");
        assert_eq!(units_text(6_500_010, 2), "65000.1");
        assert_eq!(units_text(80_000, 8), "0.0008");
        assert_eq!(units_text(0, 8), "0");
        assert_eq!(charge_text(100_000, 8), "-0.001");
        assert_eq!(charge_text(0, 8), "0");
    }

    #[test]
    fn frame_numbers_are_found_by_their_exact_key() {
        let text = r#"{"data":[{"checksum":-5,"prevSeqId":10,"seqId":12}]}"#;
        assert_eq!(number_after(text, "\"seqId\":"), Some(12));
        assert_eq!(number_after(text, "\"prevSeqId\":"), Some(10));
        assert_eq!(number_after(text, "\"checksum\":"), Some(-5));
    }
}
