//! Kraken spot, simulated: the REST API (public `GET /0/public/{AssetPairs, Depth}`, private
//! `POST /0/private/{AddOrder, CancelOrder, QueryOrders, Balance, BalanceEx, TradeVolume}`
//! checked with Kraken's own `API-Sign` and per-key nonce rules) and the WebSocket v2 `book`
//! channel at `/v2`, in Kraken's formats.
//!
//! **REST.** Every answer is HTTP 200 with `{"error":[],"result":..}`; a refusal is the error
//! text alone, `{"error":["EOrder:Insufficient funds"]}`. A pair is named by the exchange's
//! symbol (`BTC/USD`, the WebSocket name) or by its altname (base and quote joined, `BTCUSD`).
//! Order ids are Kraken-shaped txids (`O00000-00000-00000B`: six, five and six characters)
//! that encode the exchange's order id, trade ids likewise with `T`. Fees are charged in quote
//! (`fciq`) unless the exchange charges buys in base (`fcib`). Amounts are written with the
//! asset's digits; fee rates in `TradeVolume` are percent, as Kraken gives them.
//!
//! **Book channel.** A client subscribes at a depth (10, 25, 100, 500 or 1000) and holds the
//! top `depth` levels a side. The front keeps, per symbol and depth, the view it last
//! published; each update is the difference from that view to the exchange's book now: every
//! level in scope that is new or changed, and a zero for every level that left the book. A
//! level merely pushed out of scope is not sent (the client truncates to its depth, as Kraken's
//! docs say). The checksum is [`kraken_checksum`] over the new view, at the pair's precisions
//! (the symbol's scales). The snapshot on subscribe is the published view, so the updates that
//! follow apply to it exactly.
//!
//! **Timestamps order publications.** They strictly increase per front. An update that was
//! queued for a session before its subscribe was answered is stamped no later than the
//! snapshot it got, so it is already in that snapshot: it is delivered as a `heartbeat`
//! instead. Each subscription's snapshot stamp is kept beside it in [`WsSession::topics`] as
//! `<topic>#<stamp>`, a name no publication carries.
//!
//! Faults: `Gap` loses the next update of a symbol (Kraken sends no sequence numbers: only a
//! later update's checksum shows the loss); `BadChecksum` sends a wrong checksum.

use std::collections::HashMap;
use std::fmt::Write as _;

use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_types::cex::{BookSide, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::auth::{
    KrakenRequest, KrakenSigner, NonceTracker, format_okx_timestamp, verify_kraken,
};
use kestrel_venues::book::{Book, Level};
use kestrel_venues::sync::kraken::{KrakenDepth, kraken_checksum};
use serde_json::{Value, json};

use crate::candles;
use crate::engine::{
    Exchange, FeeAsset, Keep, NewOrder, Order, OrderRef, OrderStatus, Reject, SymbolSpec, Tif,
};
use crate::http::{HttpRequest, HttpResponse, form_pairs};
use crate::server::{Faults, Front, Publication, WsSession};

/// Levels a Depth answer gives when `count` is not sent, and the most it gives.
const DEPTH_DEFAULT: usize = 100;
const DEPTH_MAX: usize = 500;

/// The depth a `book` subscription gets when it names none.
const BOOK_DEFAULT_DEPTH: usize = 10;

/// Digits of base-36 in a txid: `u64::MAX` needs 13, the txid shape has room for 16.
const TXID_DIGITS: usize = 16;

/// One API key the front accepts: its secret and the nonces it has used.
#[derive(Debug)]
struct ApiKey {
    signer: KrakenSigner,
    nonces: NonceTracker,
}

/// What clients subscribed at one depth hold: the top levels as last published.
#[derive(Debug)]
struct View {
    /// Room for twice the depth, so that a diff applies whole before truncation.
    book: Book,
    /// The timestamp of the last update sent from this view (or of its creation).
    stamp: String,
}

/// The Kraken front over one exchange.
#[derive(Debug)]
pub struct KrakenFront {
    keys: HashMap<String, ApiKey>,
    /// Per `(symbol, depth)` subscribed so far.
    views: HashMap<(String, usize), View>,
    /// The last timestamp handed out, in unix microseconds.
    last_stamp_us: u64,
}

impl KrakenFront {
    /// A front accepting private requests signed by these keys (each account's API key is its
    /// name in the exchange); each key's nonces are tracked from none.
    pub fn new(keys: Vec<KrakenSigner>) -> KrakenFront {
        KrakenFront {
            keys: keys
                .into_iter()
                .map(|signer| {
                    let key = ApiKey {
                        signer,
                        nonces: NonceTracker::new(),
                    };
                    (key.signer.api_key().to_string(), key)
                })
                .collect(),
            views: HashMap::new(),
            last_stamp_us: 0,
        }
    }

    /// An RFC 3339 timestamp with microseconds, later than every one handed out before.
    fn stamp(&mut self) -> String {
        let now_us = LiveClock.unix_ms().saturating_mul(1_000);
        self.last_stamp_us = now_us.max(self.last_stamp_us + 1);
        rfc3339_us(self.last_stamp_us)
    }
}

impl Front for KrakenFront {
    fn venue(&self) -> Venue {
        Venue::Kraken
    }

    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/0/public/AssetPairs") => asset_pairs(ex, &params(&request.query)),
            ("GET", "/0/public/OHLC") => ohlc(ex, &params(&request.query)),
            ("GET", "/0/public/Depth") => depth(ex, &params(&request.query), now_ms),
            ("POST", path) => match path.strip_prefix("/0/private/") {
                Some(method) if PRIVATE_METHODS.contains(&method) => {
                    self.private(ex, request, method, now_ms)
                }
                _ => unknown_method(),
            },
            _ => unknown_method(),
        }
    }

    fn ws_open(
        &mut self,
        _ex: &Exchange,
        request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse> {
        if request.path != "/v2" {
            return Err(HttpResponse::json(404, r#"{"error":["Not found"]}"#));
        }
        // Kraken greets every connection with the engine's status.
        let status = r#"{"channel":"status","type":"update","data":[{"api_version":"v2","connection_id":1,"system":"online","version":"2.0.0"}]}"#;
        Ok((WsSession::default(), vec![status.to_string()]))
    }

    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
        let time_in = self.stamp();
        let Ok(request) = serde_json::from_str::<Value>(text) else {
            return vec![self.method_error("", None, "Malformed request", &time_in)];
        };
        let req_id = request.get("req_id").and_then(Value::as_u64);
        match request.get("method").and_then(Value::as_str) {
            Some("ping") => {
                let mut pong =
                    json!({"method": "pong", "time_in": time_in, "time_out": self.stamp()});
                if let Some(id) = req_id {
                    pong["req_id"] = json!(id);
                }
                vec![pong.to_string()]
            }
            Some(method @ ("subscribe" | "unsubscribe")) => {
                let params = request.get("params").cloned().unwrap_or(Value::Null);
                let call = Call {
                    method,
                    req_id,
                    time_in: &time_in,
                };
                self.subscription(ex, session, &call, &params)
            }
            Some(other) => vec![self.method_error(other, req_id, "Method not found", &time_in)],
            None => vec![self.method_error("", req_id, "Malformed request", &time_in)],
        }
    }

    fn publish(
        &mut self,
        ex: &Exchange,
        symbol: &str,
        _deltas: &[(BookSide, Fixed, Fixed)],
        faults: &mut Faults,
    ) -> Vec<Publication> {
        // The views are diffed against the book itself: the deltas only say that it moved.
        let (Some(spec), Some(book)) = (ex.symbol(symbol), ex.book(symbol)) else {
            return Vec::new();
        };
        let stamp = self.stamp();
        let mut updates = Vec::new();
        for ((view_symbol, depth), view) in &mut self.views {
            if view_symbol != symbol {
                continue;
            }
            let (bids, asks) = advance_view(view, book, *depth);
            if bids.is_empty() && asks.is_empty() {
                continue;
            }
            view.stamp.clone_from(&stamp);
            updates.push((*depth, bids, asks, checksum(&view.book, spec)));
        }
        if updates.is_empty() {
            return Vec::new();
        }
        // A fault spoils every depth's update of this symbol this time.
        if take_one(&mut faults.gaps) {
            return Vec::new();
        }
        let corrupt = take_one(&mut faults.bad_checksums);
        updates
            .into_iter()
            .map(|(depth, bids, asks, sum)| {
                let sum = if corrupt { !sum } else { sum };
                Publication {
                    topic: book_topic(symbol, depth),
                    text: book_message("update", spec, &bids, &asks, sum, &stamp),
                }
            })
            .collect()
    }

    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
        let since = since_stamp(session, &publication.topic);
        let stamp = field_text(&publication.text, "\"timestamp\":\"");
        match (since, stamp) {
            // Already in the snapshot this session was sent.
            (Some(since), Some(stamp)) if stamp <= since => r#"{"channel":"heartbeat"}"#.into(),
            _ => publication.text.clone(),
        }
    }
}

/// The private methods this front answers.
const PRIVATE_METHODS: [&str; 6] = [
    "AddOrder",
    "CancelOrder",
    "QueryOrders",
    "Balance",
    "BalanceEx",
    "TradeVolume",
];

/// One WebSocket request being answered.
struct Call<'a> {
    method: &'a str,
    req_id: Option<u64>,
    time_in: &'a str,
}

/// What a `book` subscription asks for.
#[derive(Clone, Copy)]
struct BookParams {
    depth: usize,
    snapshot: bool,
}

impl KrakenFront {
    fn private(
        &mut self,
        ex: &mut Exchange,
        request: &HttpRequest,
        method: &str,
        now_ms: u64,
    ) -> HttpResponse {
        let body = request.body_text();
        let account = match self.authenticate(request, &body) {
            Ok(account) => account,
            Err(message) => return fail(&message),
        };
        let params = params(&body);
        match method {
            "AddOrder" => add_order(ex, &account, &params, now_ms),
            "CancelOrder" => cancel_order(ex, &account, &params),
            "QueryOrders" => query_orders(ex, &account, &params),
            "Balance" => balance(ex, &account),
            "BalanceEx" => balance_ex(ex, &account),
            "TradeVolume" => trade_volume(ex, &account, &params),
            _ => unknown_method(),
        }
    }

    /// The account (its API key) of a request whose key, signature and nonce Kraken accepts.
    fn authenticate(&mut self, request: &HttpRequest, body: &str) -> Result<String, String> {
        let api_key = request.header("api-key");
        let Some(key) = api_key.and_then(|k| self.keys.get_mut(k)) else {
            return Err("EAPI:Invalid key".into());
        };
        let signed = KrakenRequest {
            api_key,
            api_sign: request.header("api-sign"),
            uri_path: &request.path,
            body,
        };
        verify_kraken(&signed, &key.signer, &mut key.nonces)
            .map(|_| key.signer.api_key().to_string())
            .map_err(|rejection| rejection.message.into_owned())
    }

    /// `subscribe` or `unsubscribe` on the `book` channel: one answer per symbol, and a
    /// snapshot after each subscription.
    fn subscription(
        &mut self,
        ex: &Exchange,
        session: &mut WsSession,
        call: &Call<'_>,
        params: &Value,
    ) -> Vec<String> {
        if params.get("channel").and_then(Value::as_str) != Some("book") {
            return vec![self.method_error(
                call.method,
                call.req_id,
                "Channel not supported",
                call.time_in,
            )];
        }
        let depth = params
            .get("depth")
            .and_then(Value::as_u64)
            .map_or(Some(BOOK_DEFAULT_DEPTH), |d| usize::try_from(d).ok())
            .filter(|&d| KrakenDepth::from_levels(d).is_some());
        let Some(depth) = depth else {
            return vec![self.method_error(
                call.method,
                call.req_id,
                "Invalid depth",
                call.time_in,
            )];
        };
        let symbols: Vec<&str> = params
            .get("symbol")
            .and_then(Value::as_array)
            .map(|list| list.iter().filter_map(Value::as_str).collect())
            .unwrap_or_default();
        if symbols.is_empty() {
            return vec![self.method_error(
                call.method,
                call.req_id,
                "Invalid arguments",
                call.time_in,
            )];
        }
        let book = BookParams {
            depth,
            snapshot: params.get("snapshot").and_then(Value::as_bool) != Some(false),
        };
        let mut out = Vec::new();
        for symbol in symbols {
            let Some(spec) = ex.symbol(symbol) else {
                let text = format!("Currency pair not supported {symbol}");
                let mut reply = self.method_reply(call, Err(&text));
                reply["symbol"] = json!(symbol);
                out.push(reply.to_string());
                continue;
            };
            if call.method == "subscribe" {
                self.subscribe(ex, session, spec, book, call, &mut out);
            } else {
                self.unsubscribe(session, symbol, call, &mut out);
            }
        }
        out
    }

    fn subscribe(
        &mut self,
        ex: &Exchange,
        session: &mut WsSession,
        spec: &SymbolSpec,
        book: BookParams,
        call: &Call<'_>,
        out: &mut Vec<String>,
    ) {
        let BookParams { depth, snapshot } = book;
        let symbol = spec.symbol.as_str();
        // One depth per symbol and connection: a new subscription replaces the old.
        drop_subscription(session, symbol);
        let key = (symbol.to_string(), depth);
        if !self.views.contains_key(&key) {
            let stamp = self.stamp();
            let view = new_view(spec, ex.book(symbol), depth, stamp);
            self.views.insert(key.clone(), view);
        }
        let view = &self.views[&key];
        let topic = book_topic(symbol, depth);
        session.topics.insert(format!("{topic}#{}", view.stamp));
        session.topics.insert(topic);
        session.depth = depth;
        let result =
            json!({"channel": "book", "depth": depth, "snapshot": snapshot, "symbol": symbol});
        let text = book_message(
            "snapshot",
            spec,
            view.book.bids(),
            view.book.asks(),
            checksum(&view.book, spec),
            &view.stamp,
        );
        out.push(self.method_reply(call, Ok(result)).to_string());
        if snapshot {
            out.push(text);
        }
    }

    fn unsubscribe(
        &mut self,
        session: &mut WsSession,
        symbol: &str,
        call: &Call<'_>,
        out: &mut Vec<String>,
    ) {
        let reply = match drop_subscription(session, symbol) {
            Some(depth) => self.method_reply(
                call,
                Ok(json!({"channel": "book", "depth": depth, "symbol": symbol})),
            ),
            None => {
                let mut reply = self.method_reply(call, Err("Subscription Not Found"));
                reply["symbol"] = json!(symbol);
                reply
            }
        };
        out.push(reply.to_string());
    }

    /// `{"method":..,"result":..,"success":true,..}` or `{"error":..,"success":false,..}`.
    fn method_reply(&mut self, call: &Call<'_>, outcome: Result<Value, &str>) -> Value {
        let mut reply = match outcome {
            Ok(result) => json!({"method": call.method, "result": result, "success": true}),
            Err(error) => json!({"error": error, "method": call.method, "success": false}),
        };
        reply["time_in"] = json!(call.time_in);
        reply["time_out"] = json!(self.stamp());
        if let Some(id) = call.req_id {
            reply["req_id"] = json!(id);
        }
        reply
    }

    fn method_error(
        &mut self,
        method: &str,
        req_id: Option<u64>,
        error: &str,
        time_in: &str,
    ) -> String {
        let call = Call {
            method,
            req_id,
            time_in,
        };
        self.method_reply(&call, Err(error)).to_string()
    }
}

/// Remove a session's subscription to `symbol`'s book (at whatever depth) and its snapshot
/// stamp; the depth it had, if any.
fn drop_subscription(session: &mut WsSession, symbol: &str) -> Option<usize> {
    let suffix = format!(":{symbol}");
    let ours = |t: &String| {
        t.strip_prefix("book:")
            .and_then(|rest| rest.split('#').next())
            .is_some_and(|topic| topic.ends_with(&suffix))
    };
    let found: Vec<String> = session.topics.iter().filter(|t| ours(t)).cloned().collect();
    let mut depth = None;
    for topic in found {
        session.topics.remove(&topic);
        if !topic.contains('#') {
            depth = topic
                .strip_prefix("book:")
                .and_then(|rest| rest.split(':').next())
                .and_then(|d| d.parse().ok());
        }
    }
    depth
}

/// The channel a session subscribes to for `symbol` at `depth`.
fn book_topic(symbol: &str, depth: usize) -> String {
    format!("book:{depth}:{symbol}")
}

/// The snapshot stamp kept beside a subscription, if the session has one.
fn since_stamp<'a>(session: &'a WsSession, topic: &str) -> Option<&'a str> {
    session.topics.iter().find_map(|t| {
        t.strip_prefix(topic)
            .and_then(|rest| rest.strip_prefix('#'))
    })
}

/// The text after `key` up to the next `"` in a frame this front wrote.
fn field_text<'a>(text: &'a str, key: &str) -> Option<&'a str> {
    let start = text.find(key)? + key.len();
    let rest = text.get(start..)?;
    rest.find('"').and_then(|end| rest.get(..end))
}

/// Consume one pending fault, if any.
fn take_one(pending: &mut u32) -> bool {
    if *pending == 0 {
        return false;
    }
    *pending -= 1;
    true
}

/// A view of `book` at `depth`, stamped now.
fn new_view(spec: &SymbolSpec, book: Option<&Book>, depth: usize, stamp: String) -> View {
    let mut view = Book::new(2 * depth, spec.price_scale, spec.size_scale);
    if let Some(book) = book {
        for side in [BookSide::Bid, BookSide::Ask] {
            for level in book.side(side).iter().take(depth) {
                view.set(side, level.price, level.size);
            }
        }
    }
    View { book: view, stamp }
}

/// Move a view to the top `depth` levels of `book`; the bid and ask changes a client holding
/// the old view must apply.
fn advance_view(view: &mut View, book: &Book, depth: usize) -> (Vec<Level>, Vec<Level>) {
    let bids = side_diff(BookSide::Bid, view.book.bids(), book.bids(), depth);
    let asks = side_diff(BookSide::Ask, view.book.asks(), book.asks(), depth);
    for (side, changes) in [(BookSide::Bid, &bids), (BookSide::Ask, &asks)] {
        for level in changes {
            view.book.set(side, level.price, level.size);
        }
    }
    // Levels pushed out of scope leave here as they leave the client: by truncation.
    view.book.truncate(depth);
    (bids, asks)
}

/// One side's changes from `old` (a client's view) to the top `depth` of `now` (the book).
fn side_diff(side: BookSide, old: &[Level], now: &[Level], depth: usize) -> Vec<Level> {
    let scope = &now[..now.len().min(depth)];
    let mut out: Vec<Level> = scope
        .iter()
        .filter(|level| size_at(side, old, level.price) != Some(level.size))
        .copied()
        .collect();
    out.extend(
        old.iter()
            .filter(|level| size_at(side, now, level.price).is_none())
            .map(|level| Level {
                price: level.price,
                size: Fixed::ZERO,
            }),
    );
    out
}

/// The size at `price` on one side (sorted best first), if the level exists.
fn size_at(side: BookSide, levels: &[Level], price: Fixed) -> Option<Fixed> {
    let found = match side {
        BookSide::Bid => levels.binary_search_by(|l| price.cmp(&l.price)),
        BookSide::Ask => levels.binary_search_by(|l| l.price.cmp(&price)),
    };
    found.ok().map(|i| levels[i].size)
}

fn checksum(view: &Book, spec: &SymbolSpec) -> u32 {
    let mut text = String::new();
    kraken_checksum(view, spec.price_scale, spec.size_scale, &mut text)
}

/// A `book` message: prices and quantities are JSON numbers with the pair's digits.
fn book_message(
    kind: &str,
    spec: &SymbolSpec,
    bids: &[Level],
    asks: &[Level],
    checksum: u32,
    stamp: &str,
) -> String {
    let mut out = format!(
        r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"{}","bids":"#,
        spec.symbol
    );
    push_levels(&mut out, spec, bids);
    out.push_str(r#","asks":"#);
    push_levels(&mut out, spec, asks);
    let _ = write!(out, r#","checksum":{checksum},"timestamp":"{stamp}"}}]}}"#);
    out
}

fn push_levels(out: &mut String, spec: &SymbolSpec, levels: &[Level]) {
    out.push('[');
    for (i, level) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        out.push_str(r#"{"price":"#);
        level.price.write(spec.price_scale, out);
        out.push_str(r#","qty":"#);
        level.size.write(spec.size_scale, out);
        out.push('}');
    }
    out.push(']');
}

/// Unix microseconds as RFC 3339 UTC with six fraction digits, Kraken v2's timestamps.
fn rfc3339_us(unix_us: u64) -> String {
    let ms = format_okx_timestamp(unix_us / 1_000)
        .map(|t| t.as_str().to_string())
        .unwrap_or_else(|_| "9999-12-31T23:59:59.999Z".into());
    let whole = ms.strip_suffix('Z').unwrap_or(&ms);
    format!("{whole}{:03}Z", unix_us % 1_000)
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

fn params(text: &str) -> HashMap<String, String> {
    form_pairs(text).into_iter().collect()
}

fn ok(result: Value) -> HttpResponse {
    HttpResponse::json(200, json!({"error": [], "result": result}).to_string())
}

fn fail(message: &str) -> HttpResponse {
    HttpResponse::json(200, json!({ "error": [message] }).to_string())
}

fn unknown_method() -> HttpResponse {
    HttpResponse::json(
        404,
        json!({"error": ["EGeneral:Unknown method"]}).to_string(),
    )
}

/// The pair's altname: base and quote joined (`BTCUSD`).
fn altname(spec: &SymbolSpec) -> String {
    format!("{}{}", spec.base, spec.quote)
}

/// A pair by its symbol or altname.
fn find_pair<'a>(ex: &'a Exchange, name: &str) -> Option<&'a SymbolSpec> {
    ex.symbols()
        .iter()
        .find(|s| s.symbol == name || altname(s) == name)
}

/// The pairs a `pair` parameter names (all of them when it is absent).
fn pairs<'a>(
    ex: &'a Exchange,
    params: &HashMap<String, String>,
) -> Result<Vec<&'a SymbolSpec>, HttpResponse> {
    match params.get("pair") {
        None => Ok(ex.symbols().iter().collect()),
        Some(list) => list
            .split(',')
            .map(|name| find_pair(ex, name).ok_or_else(|| fail("EQuery:Unknown asset pair")))
            .collect(),
    }
}

/// `units` with `digits` fraction digits, as plain decimal text.
fn units_text(units: u128, digits: u8) -> String {
    if digits == 0 {
        return units.to_string();
    }
    let one = 10u128.pow(u32::from(digits));
    format!(
        "{}.{:0width$}",
        units / one,
        units % one,
        width = usize::from(digits)
    )
}

fn notional_digits(spec: &SymbolSpec) -> u8 {
    spec.price_scale.digits() + spec.size_scale.digits()
}

/// A fee rate as Kraken's percent text, at least four digits (`0.2600`).
fn percent_text(rate: Rate) -> String {
    let mut text = units_text(u128::from(rate.0), 6);
    while text.ends_with('0') && text.len() > text.find('.').map_or(0, |p| p + 5) {
        text.pop();
    }
    text
}

/// Most bars one OHLC answer holds.
const OHLC_MAX: usize = 720;

/// `GET /0/public/OHLC`: the latest 720 bars opening after `since` (Unix seconds,
/// exclusive), oldest first, as `[time, open, high, low, close, vwap, volume, count]` under
/// the pair's altname, with `last` the newest bar's time. The engine keeps no trades behind
/// its bars, so `vwap` repeats the close and `count` is 0.
fn ohlc(ex: &Exchange, params: &HashMap<String, String>) -> HttpResponse {
    let Some(spec) = params.get("pair").and_then(|p| find_pair(ex, p)) else {
        return fail("EQuery:Unknown asset pair");
    };
    let (Ok(minutes), Ok(since)) = (
        candles::number(params, "interval"),
        candles::number(params, "since"),
    ) else {
        return fail("EGeneral:Invalid arguments");
    };
    let minutes = minutes.unwrap_or(1);
    let Some(interval) = Interval::ALL.into_iter().find(|i| i.minutes() == minutes) else {
        return fail("EGeneral:Invalid arguments");
    };
    let first_ms = since.map_or(Some(0), |s| s.checked_add(1)?.checked_mul(1_000));
    let bars = first_ms.map_or_else(Vec::new, |first| {
        ex.candles(
            &spec.symbol,
            interval,
            first..=u64::MAX,
            OHLC_MAX,
            Keep::Latest,
        )
    });
    let rows: Vec<Value> = bars
        .iter()
        .map(|bar| {
            let [o, h, l, c, volume] = candles::values(spec, bar, Fixed::to_text);
            json!([bar.open_ms / 1_000, o, h, l, c.clone(), c, volume, 0])
        })
        .collect();
    let last = bars
        .last()
        .map_or(since.unwrap_or(0), |b| b.open_ms / 1_000);
    let mut result = serde_json::Map::new();
    result.insert(altname(spec), Value::Array(rows));
    result.insert("last".into(), json!(last));
    ok(Value::Object(result))
}

fn asset_pairs(ex: &Exchange, params: &HashMap<String, String>) -> HttpResponse {
    let specs = match pairs(ex, params) {
        Ok(specs) => specs,
        Err(refusal) => return refusal,
    };
    let mut result = serde_json::Map::new();
    for spec in specs {
        let info = json!({
            "altname": altname(spec),
            "wsname": spec.symbol,
            "aclass_base": "currency",
            "base": spec.base,
            "aclass_quote": "currency",
            "quote": spec.quote,
            "lot": "unit",
            "cost_decimals": notional_digits(spec),
            "pair_decimals": spec.price_scale.digits(),
            "lot_decimals": spec.size_scale.digits(),
            "lot_multiplier": 1,
            "leverage_buy": [],
            "leverage_sell": [],
            "fee_volume_currency": spec.quote,
            "margin_call": 80,
            "margin_stop": 40,
            "ordermin": spec.min_size.to_text(spec.size_scale),
            "costmin": units_text(spec.min_notional, notional_digits(spec)),
            "tick_size": spec.tick.to_text(spec.price_scale),
            "status": "online",
        });
        result.insert(altname(spec), info);
    }
    ok(Value::Object(result))
}

fn depth(ex: &Exchange, params: &HashMap<String, String>, now_ms: u64) -> HttpResponse {
    let Some(spec) = params.get("pair").and_then(|p| find_pair(ex, p)) else {
        return fail("EQuery:Unknown asset pair");
    };
    let count = params
        .get("count")
        .and_then(|c| c.parse().ok())
        .unwrap_or(DEPTH_DEFAULT)
        .clamp(1, DEPTH_MAX);
    let Some(book) = ex.book(&spec.symbol) else {
        return fail("EQuery:Unknown asset pair");
    };
    let seconds = now_ms / 1_000;
    let side = |levels: &[Level]| -> Vec<Value> {
        levels
            .iter()
            .take(count)
            .map(|l| {
                json!([
                    l.price.to_text(spec.price_scale),
                    l.size.to_text(spec.size_scale),
                    seconds
                ])
            })
            .collect()
    };
    ok(json!({ altname(spec): {"asks": side(book.asks()), "bids": side(book.bids())} }))
}

fn balance(ex: &Exchange, account: &str) -> HttpResponse {
    let mut result = serde_json::Map::new();
    for (asset, free, locked) in ex.balances(account) {
        let digits = ex.asset_digits(&asset);
        result.insert(asset, json!(units_text(free + locked, digits)));
    }
    ok(Value::Object(result))
}

/// `balance` is the total, `hold_trade` what open orders hold.
fn balance_ex(ex: &Exchange, account: &str) -> HttpResponse {
    let mut result = serde_json::Map::new();
    for (asset, free, locked) in ex.balances(account) {
        let digits = ex.asset_digits(&asset);
        let entry = json!({
            "balance": units_text(free + locked, digits),
            "hold_trade": units_text(locked, digits),
        });
        result.insert(asset, entry);
    }
    ok(Value::Object(result))
}

fn trade_volume(ex: &Exchange, account: &str, params: &HashMap<String, String>) -> HttpResponse {
    let Some(rates) = ex.fees(account) else {
        return fail("EAPI:Invalid key");
    };
    let specs = match params.get("pair") {
        Some(_) => match pairs(ex, params) {
            Ok(specs) => specs,
            Err(refusal) => return refusal,
        },
        None => Vec::new(),
    };
    let tier = |rate: Rate| {
        json!({
            "fee": percent_text(rate),
            "minfee": percent_text(rate),
            "maxfee": percent_text(rate),
            "nextfee": null,
            "nextvolume": null,
            "tiervolume": "0.0000",
        })
    };
    let mut fees = serde_json::Map::new();
    let mut fees_maker = serde_json::Map::new();
    for spec in &specs {
        fees.insert(altname(spec), tier(rates.taker));
        fees_maker.insert(altname(spec), tier(rates.maker));
    }
    let currency = specs.first().map_or("USD", |s| s.quote.as_str());
    let mut result = json!({"currency": currency, "volume": "0.0000"});
    if !specs.is_empty() {
        result["fees"] = Value::Object(fees);
        result["fees_maker"] = Value::Object(fees_maker);
    }
    ok(result)
}

/// The parameters of an `AddOrder`, checked in the order Kraken reports them.
fn new_order(
    ex: &Exchange,
    params: &HashMap<String, String>,
) -> Result<(NewOrder, SymbolSpec), HttpResponse> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let spec = match get("pair") {
        Some(pair) => find_pair(ex, pair).ok_or_else(|| fail("EQuery:Unknown asset pair"))?,
        None => return Err(fail("EGeneral:Invalid arguments:pair")),
    };
    let side = match get("type") {
        Some("buy") => OrderSide::Buy,
        Some("sell") => OrderSide::Sell,
        _ => return Err(fail("EGeneral:Invalid arguments:type")),
    };
    if get("ordertype") != Some("limit") {
        return Err(fail("EGeneral:Invalid arguments:ordertype"));
    }
    let tif = match get("timeinforce").unwrap_or("GTC") {
        "GTC" => Tif::Gtc,
        "IOC" => Tif::Ioc,
        _ => return Err(fail("EGeneral:Invalid arguments:timeinforce")),
    };
    let size = get("volume")
        .and_then(|v| Fixed::parse(v.as_bytes(), spec.size_scale).ok())
        .ok_or_else(|| fail("EGeneral:Invalid arguments:volume"))?;
    let limit = get("price")
        .and_then(|p| Fixed::parse(p.as_bytes(), spec.price_scale).ok())
        .ok_or_else(|| {
            fail(&format!(
                "EOrder:Invalid price:{} price can only be specified up to {} decimals.",
                spec.symbol,
                spec.price_scale.digits()
            ))
        })?;
    // No `cl_ord_id` is no client id: nothing to check for duplicates or to query by.
    let client_id = get("cl_ord_id").unwrap_or_default().to_string();
    let order = NewOrder {
        symbol: spec.symbol.clone(),
        side,
        size,
        limit,
        tif,
        client_id,
    };
    Ok((order, spec.clone()))
}

fn add_order(
    ex: &mut Exchange,
    account: &str,
    params: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let (order, spec) = match new_order(ex, params) {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal,
    };
    let descr = json!({ "order": describe(&spec, order.side, order.size, order.limit) });
    if params.get("validate").is_some_and(|v| v == "true") {
        return ok(json!({ "descr": descr }));
    }
    match ex.place(account, order, now_ms) {
        Ok(placed) => ok(json!({"descr": descr, "txid": [txid('O', placed.id)]})),
        Err(reject) => fail(&reject_text(&reject)),
    }
}

/// Kraken's one-line description: `buy 1.25000000 XBTUSD @ limit 27500.0`.
fn describe(spec: &SymbolSpec, side: OrderSide, size: Fixed, limit: Fixed) -> String {
    format!(
        "{} {} {} @ limit {}",
        side_text(side),
        size.to_text(spec.size_scale),
        altname(spec),
        limit.to_text(spec.price_scale)
    )
}

fn side_text(side: OrderSide) -> &'static str {
    match side {
        OrderSide::Buy => "buy",
        OrderSide::Sell => "sell",
    }
}

/// The order a `txid` (or `cl_ord_id`) names, on whichever pair it is.
fn locate(ex: &Exchange, account: &str, by: &OrderRef) -> Option<(SymbolSpec, Order)> {
    ex.symbols().iter().find_map(|spec| {
        ex.order(account, &spec.symbol, by)
            .map(|order| (spec.clone(), order.clone()))
    })
}

/// The orders a request names: `cl_ord_id`, else the comma-separated `txid`s. `None` for a
/// reference that cannot be a txid.
fn order_refs(params: &HashMap<String, String>) -> Option<Vec<OrderRef>> {
    if let Some(id) = params.get("cl_ord_id") {
        return Some(vec![OrderRef::Client(id.clone())]);
    }
    params
        .get("txid")?
        .split(',')
        .map(|t| parse_txid('O', t).map(OrderRef::Id))
        .collect()
}

fn cancel_order(
    ex: &mut Exchange,
    account: &str,
    params: &HashMap<String, String>,
) -> HttpResponse {
    let by = match order_refs(params).as_deref() {
        Some([by]) => by.clone(),
        Some(_) | None if params.contains_key("txid") || params.contains_key("cl_ord_id") => {
            return fail("EOrder:Unknown order");
        }
        _ => return fail("EGeneral:Invalid arguments:txid"),
    };
    let Some((spec, _)) = locate(ex, account, &by) else {
        return fail("EOrder:Unknown order");
    };
    match ex.cancel(account, &spec.symbol, by) {
        Ok(_) => ok(json!({"count": 1})),
        Err(reject) => fail(&reject_text(&reject)),
    }
}

fn query_orders(ex: &Exchange, account: &str, params: &HashMap<String, String>) -> HttpResponse {
    let Some(refs) = order_refs(params) else {
        return fail("EOrder:Invalid order");
    };
    let trades = params.get("trades").is_some_and(|t| t == "true");
    let mut result = serde_json::Map::new();
    for by in &refs {
        let Some((spec, order)) = locate(ex, account, by) else {
            return fail("EOrder:Invalid order");
        };
        let fee_asset = fee_asset_of(ex, &order);
        let info = order_info(&spec, &order, fee_asset, trades);
        result.insert(txid('O', order.id), info);
    }
    ok(Value::Object(result))
}

/// The asset an order's fees are charged in (its fills' asset, or what they would be).
fn fee_asset_of(ex: &Exchange, order: &Order) -> FeeAsset {
    order.fills.first().map_or_else(
        || match order.side {
            OrderSide::Buy => ex.fee_asset_on_buy(),
            OrderSide::Sell => FeeAsset::Quote,
        },
        |fill| fill.fee_asset,
    )
}

/// `open`, `closed` (filled), `canceled` (by request, or an IOC's unfilled rest).
fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New | OrderStatus::PartiallyFilled => "open",
        OrderStatus::Filled => "closed",
        OrderStatus::Canceled | OrderStatus::Expired => "canceled",
    }
}

fn order_info(spec: &SymbolSpec, order: &Order, fee_asset: FeeAsset, trades: bool) -> Value {
    let quote_digits = notional_digits(spec);
    let fee_digits = match fee_asset {
        FeeAsset::Base => spec.size_scale.digits(),
        FeeAsset::Quote => quote_digits,
    };
    let cl_ord_id = match order.client_id.as_str() {
        "" => Value::Null,
        id => json!(id),
    };
    let reason = match order.status {
        OrderStatus::Canceled => json!("User requested"),
        _ => Value::Null,
    };
    let mut info = json!({
        "refid": null,
        "userref": 0,
        "cl_ord_id": cl_ord_id,
        "status": status_text(order.status),
        "reason": reason,
        "opentm": seconds(order.created_ms),
        "starttm": 0,
        "expiretm": 0,
        "descr": {
            "pair": altname(spec),
            "type": side_text(order.side),
            "ordertype": "limit",
            "price": order.limit.to_text(spec.price_scale),
            "price2": "0",
            "leverage": "none",
            "order": describe(spec, order.side, order.size, order.limit),
            "close": "",
        },
        "vol": order.size.to_text(spec.size_scale),
        "vol_exec": order.filled.to_text(spec.size_scale),
        "cost": units_text(order.notional, quote_digits),
        "fee": units_text(order.fees, fee_digits),
        "price": average_price(spec, order),
        "stopprice": "0",
        "limitprice": "0",
        "misc": "",
        "oflags": match fee_asset { FeeAsset::Base => "fcib", FeeAsset::Quote => "fciq" },
    });
    if !order.status.is_open() {
        info["closetm"] = info["opentm"].clone();
    }
    if trades {
        let ids: Vec<String> = order.fills.iter().map(|f| txid('T', f.trade_id)).collect();
        info["trades"] = json!(ids);
    }
    info
}

/// Milliseconds as Kraken's fractional seconds (a JSON number). A timestamp, not money: its
/// thirteen significant digits survive the `f64` that `Value` keeps numbers in.
fn seconds(ms: u64) -> Value {
    let text = format!("{}.{:03}", ms / 1_000, ms % 1_000);
    serde_json::from_str(&text).unwrap_or(Value::Null)
}

/// The average fill price, exact to the notional's digits (zero before any fill).
fn average_price(spec: &SymbolSpec, order: &Order) -> String {
    if order.filled.is_zero() {
        return "0".into();
    }
    let size_one = 10u128.pow(u32::from(spec.size_scale.digits()));
    let average = order.notional * size_one / u128::from(order.filled.0);
    units_text(average, notional_digits(spec))
}

/// A Kraken-shaped id (`O00000-00000-00000B`: six, five and six characters) holding `id` in
/// base 36.
fn txid(prefix: char, id: u64) -> String {
    const ALPHABET: &[u8; 36] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ";
    let mut digits = [b'0'; TXID_DIGITS];
    let mut rest = id;
    for slot in digits.iter_mut().rev() {
        *slot = ALPHABET[(rest % 36) as usize];
        rest /= 36;
    }
    let text = String::from_utf8_lossy(&digits);
    format!("{prefix}{}-{}-{}", &text[..5], &text[5..10], &text[10..])
}

/// The id a txid from [`txid`] holds.
fn parse_txid(prefix: char, text: &str) -> Option<u64> {
    let body: String = text.strip_prefix(prefix)?.split('-').collect();
    if body.len() != TXID_DIGITS {
        return None;
    }
    u64::from_str_radix(&body, 36).ok()
}

fn reject_text(reject: &Reject) -> String {
    match reject {
        Reject::UnknownSymbol => "EQuery:Unknown asset pair".into(),
        Reject::UnknownAccount => "EAPI:Invalid key".into(),
        Reject::InsufficientBalance => "EOrder:Insufficient funds".into(),
        Reject::BadTick => "EOrder:Tick size check failed".into(),
        Reject::BadLot => "EGeneral:Invalid arguments:volume".into(),
        Reject::BelowMinSize => "EOrder:Order minimum not met".into(),
        Reject::BelowMinNotional => "EOrder:Cost minimum not met".into(),
        Reject::DuplicateClientId => "EOrder:Duplicate cl_ord_id".into(),
        Reject::UnknownOrder | Reject::NotOpen => "EOrder:Unknown order".into(),
        Reject::Injected { message, .. } => message.clone(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn txids_round_trip_and_look_like_krakens() {
        for id in [0, 1, 35, 36, 1_000_000, u64::MAX] {
            let text = txid('O', id);
            assert_eq!(text.len(), 19, "{text}");
            assert_eq!(parse_txid('O', &text), Some(id));
            assert_eq!(parse_txid('T', &text), None);
        }
        assert_eq!(txid('O', 1), "O00000-00000-000001");
    }

    #[test]
    fn percent_keeps_four_digits_at_least() {
        assert_eq!(percent_text(Rate(400_000)), "0.4000");
        assert_eq!(percent_text(Rate(260_000)), "0.2600");
        assert_eq!(percent_text(Rate(123_456)), "0.123456");
        assert_eq!(percent_text(Rate(0)), "0.0000");
    }

    #[test]
    fn timestamps_have_microseconds() {
        assert_eq!(
            rfc3339_us(1_607_418_537_715_123),
            "2020-12-08T09:08:57.715123Z"
        );
    }
}
