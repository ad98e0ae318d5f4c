//! Bybit v5 spot, simulated (bybit-exchange/docs `docs/v5`): the REST endpoints Kestrel uses,
//! private ones checked with [`verify_bybit`] and refused with Bybit's `retCode`s, and the
//! public spot WebSocket's `orderbook.{depth}.{symbol}` topics with `u` and `seq` as Bybit
//! numbers them.
//!
//! REST answers are HTTP 200 `{"retCode":0,"retMsg":"OK","result":{..},"retExtInfo":{},"time":..}`;
//! a refusal carries its code in `retCode` with `result` `{}` (HTTP 401 only for an unknown
//! key, as Bybit does). Only `category=spot` is simulated, and only `Limit` orders, `GTC` or
//! `IOC`. Spot refusals use the spot family of codes (`170131` balance, `170213` unknown order,
//! `1701xx` filters), which is what a spot order on a unified account gets.
//!
//! WebSocket (`/v5/public/spot`): `{"op":"subscribe","args":[..]}` is acknowledged as the public
//! spot stream does (`"ret_msg":"subscribe"`), then each topic sends a `snapshot`; later
//! changes come as `delta`s whose `u` is one past the previous message of the topic, and
//! `seq` is the symbol's cross sequence. Level 1 sends snapshots only. `{"op":"ping"}` is
//! answered with the spot pong. A topic keeps the best `depth` levels a side, as Bybit does:
//! each message is the difference between the topic's last view and the book now (levels that
//! left the window are deleted with size `"0"`), deletions first, so a client book of exactly
//! `depth` levels never has to hold more.
//!
//! Rate limits: each private endpoint counts each account's (UID's) requests in a rolling
//! one-second window, with Bybit's default spot limits ([`ORDER_CREATE_PER_SECOND`] for order
//! create), and every answer to it carries the count: `X-Bapi-Limit-Status` (requests left),
//! `X-Bapi-Limit` and `X-Bapi-Limit-Reset-Timestamp` (when a request next frees up once none
//! are left; otherwise the time now). A request over the limit is refused with `10006` ("Too
//! many visits!", HTTP 200) and not counted.
//!
//! Faults: `Gap` skips 5 update ids in every topic of the next symbol published; Bybit sends
//! no checksum, so `BadChecksum` changes nothing here.
//!
//! **Invariant:** a session receives every message of a topic after its snapshot, and none
//! before it. A session's subscription is kept as `topic#n`, the number of the topic's next
//! publication it may apply; publications are topic `topic#n`, so one computed before the
//! snapshot (and still queued for the session) never matches, and [`BybitFront::deliver`]
//! moves the marker on. [`WsSession::seq`] holds the connection's number (its `conn_id`).

use std::collections::{HashMap, VecDeque};
use std::fmt::Write as _;

use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_types::cex::{BookSide, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::auth::{BybitRequest, BybitSigner, HttpMethod, Rejection, verify_bybit};
use kestrel_venues::book::{Book, Level};
use serde_json::{Value, json};

use crate::candles;
use crate::engine::{
    Exchange, FeeAsset, Keep, NewOrder, Order, OrderRef, OrderStatus, Reject, SymbolSpec, Tif,
};
use crate::http::{HttpRequest, HttpResponse, form_pairs};
use crate::server::{Faults, Front, Publication, WsSession};

/// The public spot stream's path (`wss://stream.bybit.com/v5/public/spot`).
pub const SPOT_WS_PATH: &str = "/v5/public/spot";

/// Update ids skipped by an injected gap.
const GAP_IDS: u64 = 5;
/// A topic's first `u`. Never 1: Bybit sends `u = 1` only after a restart.
const FIRST_UPDATE_ID: u64 = 100_000;
/// A symbol's first cross sequence.
const FIRST_SEQ: u64 = 7_000_000;
/// The depths of the spot `orderbook` topics.
const SPOT_DEPTHS: [usize; 4] = [1, 50, 200, 1000];
/// Spot takes at most 10 args per subscribe request.
const MAX_ARGS: usize = 10;
/// Most open orders one `/v5/order/realtime` page lists.
const MAX_PAGE: usize = 50;
/// Longest `orderLinkId` Bybit accepts.
const MAX_LINK_ID: usize = 36;

/// Bybit's default limit per UID on `POST /v5/order/create` for spot, requests per second
/// (v5 "Rate Limit Rules", API rate limit table; VIP levels raise it).
pub const ORDER_CREATE_PER_SECOND: u32 = 20;
/// The rolling window Bybit counts a UID's requests to an endpoint in.
const RATE_WINDOW_MS: u64 = 1_000;
/// Per private endpoint simulated, Bybit's default spot limit per UID, requests per window:
/// order create as [`ORDER_CREATE_PER_SECOND`]; cancel and the reads as the v5 table lists
/// them for a non-VIP account.
const ENDPOINT_LIMITS: [(&str, u32); 5] = [
    ("/v5/order/create", ORDER_CREATE_PER_SECOND),
    ("/v5/order/cancel", 20),
    ("/v5/order/realtime", 50),
    ("/v5/account/wallet-balance", 50),
    ("/v5/account/fee-rate", 10),
];

/// One side's levels, best first: `(price, size)`.
type Side = [(Fixed, Fixed)];

/// One `orderbook.{depth}.{symbol}` topic: what it last published.
#[derive(Debug)]
struct Topic {
    /// `orderbook.50.BTCUSDT`.
    name: String,
    symbol: String,
    depth: usize,
    /// `u` of the last message.
    update_id: u64,
    /// `seq` of the last message.
    seq: u64,
    /// Publications so far: the `n` of the last `topic#n`.
    published: u64,
    /// The levels the topic's clients hold: the best `depth` a side as last published.
    bids: Vec<(Fixed, Fixed)>,
    asks: Vec<(Fixed, Fixed)>,
}

/// Each account's requests to each private endpoint, counted as Bybit does.
#[derive(Debug, Default)]
struct RateCounts {
    /// Order create's limit and window where a test set other ones.
    order_create: Option<(u32, u64)>,
    /// Per (account, endpoint): when the requests still in the rolling window were accepted,
    /// oldest first (at most the endpoint's limit of them).
    accepted: HashMap<(String, &'static str), VecDeque<u64>>,
}

/// An endpoint's count after one request: what its three headers say, and whether the request
/// was within the limit (and so counted).
#[derive(Clone, Copy, Debug)]
struct RateCount {
    left: u32,
    limit: u32,
    reset_ms: u64,
    allowed: bool,
}

impl RateCounts {
    /// Counts a request by `account` to `path` at `now_ms`; `None` for an endpoint without a
    /// per-UID limit.
    fn count(&mut self, account: &str, path: &str, now_ms: u64) -> Option<RateCount> {
        let &(endpoint, limit) = ENDPOINT_LIMITS.iter().find(|(p, _)| *p == path)?;
        let (limit, window_ms) = match self.order_create {
            Some(own) if endpoint == "/v5/order/create" => own,
            _ => (limit, RATE_WINDOW_MS),
        };
        let accepted = self
            .accepted
            .entry((account.to_string(), endpoint))
            .or_default();
        while accepted
            .front()
            .is_some_and(|&at| at.saturating_add(window_ms) <= now_ms)
        {
            accepted.pop_front();
        }
        let allowed = accepted.len() < limit as usize;
        if allowed {
            accepted.push_back(now_ms);
        }
        let left = limit.saturating_sub(u32::try_from(accepted.len()).unwrap_or(u32::MAX));
        // Once none are left: when the oldest request leaves the window.
        let reset_ms = match accepted.front() {
            Some(&oldest) if left == 0 => oldest.saturating_add(window_ms),
            _ => now_ms,
        };
        Some(RateCount {
            left,
            limit,
            reset_ms,
            allowed,
        })
    }
}

/// The Bybit front over one exchange.
#[derive(Debug)]
pub struct BybitFront {
    keys: HashMap<String, BybitSigner>,
    rates: RateCounts,
    /// Every topic any session subscribed to (at most four per symbol).
    topics: Vec<Topic>,
    /// Each symbol's cross sequence.
    cross_seq: HashMap<String, u64>,
    connections: u64,
}

impl BybitFront {
    /// A front accepting private requests signed by these keys (each key's API key is its
    /// account's name in the exchange; the signer holds the HMAC secret the venue checks with).
    pub fn new(keys: Vec<BybitSigner>) -> BybitFront {
        BybitFront {
            keys: keys
                .into_iter()
                .map(|k| (k.api_key().to_string(), k))
                .collect(),
            rates: RateCounts::default(),
            topics: Vec::new(),
            cross_seq: HashMap::new(),
            connections: 0,
        }
    }

    /// The front with another limit on `POST /v5/order/create`: `limit` requests per account
    /// in a rolling window of `window_ms` (Bybit's: [`ORDER_CREATE_PER_SECOND`] in 1,000 ms).
    #[must_use]
    pub fn with_order_create_limit(mut self, limit: u32, window_ms: u64) -> BybitFront {
        self.rates.order_create = Some((limit, window_ms));
        self
    }

    /// An authenticated request by `account`, counted against its endpoint's limit: the
    /// answer, or `10006` over the limit, with the count's headers.
    fn private_counted(
        &mut self,
        ex: &mut Exchange,
        request: &HttpRequest,
        account: &str,
        body: &str,
        query: &HashMap<String, String>,
        now_ms: u64,
    ) -> HttpResponse {
        let Some(count) = self.rates.count(account, &request.path, now_ms) else {
            return private(ex, request, account, body, query, now_ms);
        };
        let answer = if count.allowed {
            private(ex, request, account, body, query, now_ms)
        } else {
            error(10006, "Too many visits!", now_ms)
        };
        answer
            .with_header("X-Bapi-Limit-Status", count.left.to_string())
            .with_header("X-Bapi-Limit", count.limit.to_string())
            .with_header("X-Bapi-Limit-Reset-Timestamp", count.reset_ms.to_string())
    }
}

impl Front for BybitFront {
    fn venue(&self) -> Venue {
        Venue::Bybit
    }

    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
        let body = request.body_text();
        let query: HashMap<String, String> = form_pairs(&request.query).into_iter().collect();
        match (request.method.as_str(), request.path.as_str()) {
            ("GET", "/v5/market/time") => ok(
                json!({"timeSecond": (now_ms / 1_000).to_string(),
                       "timeNano": (u128::from(now_ms) * 1_000_000).to_string()}),
                now_ms,
            ),
            ("GET", "/v5/market/instruments-info") => instruments(ex, &query, now_ms),
            ("GET", "/v5/market/kline") => kline(ex, &query, now_ms),
            ("GET", "/v5/market/orderbook") => self.orderbook(ex, &query, now_ms),
            ("POST", "/v5/order/create")
            | ("POST", "/v5/order/cancel")
            | ("GET", "/v5/order/realtime")
            | ("GET", "/v5/account/wallet-balance")
            | ("GET", "/v5/account/fee-rate") => match self.authenticate(request, &body, now_ms) {
                Ok(account) => self.private_counted(ex, request, &account, &body, &query, now_ms),
                Err(rejection) => refuse_auth(&rejection, now_ms),
            },
            _ => HttpResponse::json(404, "{}"),
        }
    }

    fn ws_open(
        &mut self,
        _ex: &Exchange,
        request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse> {
        if request.path != SPOT_WS_PATH {
            return Err(HttpResponse::json(404, "{}"));
        }
        self.connections += 1;
        let session = WsSession {
            seq: self.connections,
            ..WsSession::default()
        };
        Ok((session, Vec::new()))
    }

    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
        let request: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let op = request.get("op").and_then(Value::as_str).unwrap_or("");
        // Bybit echoes `req_id` as the text the client sent; a number is echoed as its text.
        let req_id = match request.get("req_id") {
            Some(Value::String(s)) => s.clone(),
            Some(Value::Number(n)) => n.to_string(),
            _ => String::new(),
        };
        let args: Vec<String> = request
            .get("args")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let reply = Reply {
            conn: session.seq,
            req_id: &req_id,
            op,
        };
        match op {
            // The spot pong carries no `req_id` (the linear one does).
            "ping" => {
                let pong = json!({"success": true, "ret_msg": "pong",
                                  "conn_id": conn_id(session.seq), "op": "ping"});
                vec![pong.to_string()]
            }
            "subscribe" => self.subscribe(ex, session, &args, &reply),
            "unsubscribe" => unsubscribe(session, &args, &reply),
            _ => vec![reply.text(false, "error:unsupported op")],
        }
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
        // The deltas only advance the cross sequence: each topic sends the change to its own
        // window, which it reads from the book (see the module docs).
        let seq = self
            .cross_seq
            .entry(symbol.to_string())
            .or_insert(FIRST_SEQ);
        *seq = seq.saturating_add(u64::try_from(deltas.len()).unwrap_or(u64::MAX).max(1));
        let seq = *seq;
        let skip = if faults.gaps > 0 { GAP_IDS } else { 0 };
        let ts = LiveClock.unix_ms();
        let mut out = Vec::new();
        for topic in self.topics.iter_mut().filter(|t| t.symbol == symbol) {
            if let Some(publication) = topic.advance(spec, book, seq, skip, ts) {
                out.push(publication);
            }
        }
        if skip > 0 && !out.is_empty() {
            faults.gaps -= 1;
        }
        out
    }

    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
        // The session held `topic#n` (the server only delivers what it holds): it now waits
        // for `topic#n+1`.
        if let Some((name, n)) = publication.topic.rsplit_once('#')
            && let Ok(n) = n.parse::<u64>()
        {
            session.topics.remove(&publication.topic);
            session.topics.insert(format!("{name}#{}", n + 1));
        }
        publication.text.clone()
    }
}

impl BybitFront {
    /// The account (API key) of a request that passes Bybit's checks.
    fn authenticate(
        &self,
        request: &HttpRequest,
        body: &str,
        now_ms: u64,
    ) -> Result<String, Rejection> {
        let api_key = request.header("x-bapi-api-key");
        // An unknown key is checked against any key, so the verifier itself refuses it (10003).
        let Some(key) = api_key
            .and_then(|k| self.keys.get(k))
            .or_else(|| self.keys.values().next())
        else {
            return Err(Rejection {
                venue: Venue::Bybit,
                http_status: 401,
                code: Some(10003),
                message: "API key is invalid.".into(),
            });
        };
        let method = match request.method.as_str() {
            "GET" => HttpMethod::Get,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            _ => HttpMethod::Post,
        };
        let signed = BybitRequest {
            api_key,
            timestamp: request.header("x-bapi-timestamp"),
            recv_window: request.header("x-bapi-recv-window"),
            sign: request.header("x-bapi-sign"),
            method,
            query: &request.query,
            body,
        };
        verify_bybit(&signed, key, now_ms)?;
        Ok(key.api_key().to_string())
    }

    /// `GET /v5/market/orderbook`: the book now, `limit` levels a side (spot: 1 by default,
    /// at most 1000), with the 1000-level topic's `u` as Bybit documents.
    fn orderbook(
        &self,
        ex: &Exchange,
        query: &HashMap<String, String>,
        now_ms: u64,
    ) -> HttpResponse {
        if let Err(refusal) = spot_category(query.get("category"), now_ms) {
            return refusal;
        }
        let symbol = query.get("symbol").map(String::as_str).unwrap_or_default();
        let (Some(spec), Some(book)) = (ex.symbol(symbol), ex.book(symbol)) else {
            return error(10001, "Not supported symbols", now_ms);
        };
        let limit = query
            .get("limit")
            .and_then(|l| l.parse::<usize>().ok())
            .unwrap_or(1)
            .clamp(1, 1000);
        let update_id = self
            .topics
            .iter()
            .find(|t| t.symbol == symbol && t.depth == 1000)
            .map_or(FIRST_UPDATE_ID, |t| t.update_id);
        let seq = self.cross_seq.get(symbol).copied().unwrap_or(FIRST_SEQ);
        let levels = |side: &[Level]| -> Vec<[String; 2]> {
            side.iter()
                .take(limit)
                .map(|l| level_pair(spec, l.price, l.size))
                .collect()
        };
        ok(
            json!({"s": symbol, "b": levels(book.bids()), "a": levels(book.asks()), "ts": now_ms,
                   "u": update_id, "seq": seq, "cts": now_ms}),
            now_ms,
        )
    }

    /// Subscribe to every arg, or to none when one is refused (Bybit answers the request as a
    /// whole). The acknowledgement comes first, then each topic's snapshot.
    fn subscribe(
        &mut self,
        ex: &Exchange,
        session: &mut WsSession,
        args: &[String],
        reply: &Reply<'_>,
    ) -> Vec<String> {
        if args.is_empty() || args.len() > MAX_ARGS {
            return vec![reply.text(false, "error:args size must be 1 to 10")];
        }
        for (i, arg) in args.iter().enumerate() {
            if parse_topic(ex, arg).is_none() {
                return vec![reply.text(false, &format!("error:handler not found,topic:{arg}"))];
            }
            if subscribed(session, arg).is_some() || args[..i].contains(arg) {
                return vec![reply.text(false, &format!("error:already subscribed,topic:{arg}"))];
            }
        }
        let mut out = vec![reply.text(true, "subscribe")];
        for arg in args {
            let Some((symbol, depth)) = parse_topic(ex, arg) else {
                continue;
            };
            let topic = self.topic(ex, arg, symbol, depth);
            session
                .topics
                .insert(format!("{arg}#{}", topic.published + 1));
            if let Some(spec) = ex.symbol(&topic.symbol) {
                out.push(topic.snapshot(spec, LiveClock.unix_ms()));
            }
        }
        out
    }

    /// The topic's state, created from the book now on its first subscriber.
    fn topic(&mut self, ex: &Exchange, name: &str, symbol: &str, depth: usize) -> &Topic {
        let index = match self.topics.iter().position(|t| t.name == name) {
            Some(i) => i,
            None => {
                let (bids, asks) = ex
                    .book(symbol)
                    .map(|b| (top(b.bids(), depth), top(b.asks(), depth)))
                    .unwrap_or_default();
                self.topics.push(Topic {
                    name: name.to_string(),
                    symbol: symbol.to_string(),
                    depth,
                    update_id: FIRST_UPDATE_ID,
                    seq: self.cross_seq.get(symbol).copied().unwrap_or(FIRST_SEQ),
                    published: 0,
                    bids,
                    asks,
                });
                self.topics.len() - 1
            }
        };
        &self.topics[index]
    }
}

impl Topic {
    /// The topic's view moved to the book now: its next message, if anything in its window
    /// changed (`skip` extra update ids for an injected gap).
    fn advance(
        &mut self,
        spec: &SymbolSpec,
        book: &Book,
        seq: u64,
        skip: u64,
        ts: u64,
    ) -> Option<Publication> {
        let bids = top(book.bids(), self.depth);
        let asks = top(book.asks(), self.depth);
        let bid_changes = diff(&self.bids, &bids);
        let ask_changes = diff(&self.asks, &asks);
        if bid_changes.is_empty() && ask_changes.is_empty() {
            return None;
        }
        self.update_id += 1 + skip;
        self.seq = seq;
        self.published += 1;
        self.bids = bids;
        self.asks = asks;
        // Level 1 is snapshots only.
        let text = if self.depth == 1 {
            self.snapshot(spec, ts)
        } else {
            self.frame(spec, "delta", (&bid_changes, &ask_changes), ts)
        };
        Some(Publication {
            topic: format!("{}#{}", self.name, self.published),
            text,
        })
    }

    /// A `snapshot` of the topic's view.
    fn snapshot(&self, spec: &SymbolSpec, ts: u64) -> String {
        self.frame(spec, "snapshot", (&self.bids, &self.asks), ts)
    }

    /// One message, in the spot field order (`ts` before `type`).
    fn frame(
        &self,
        spec: &SymbolSpec,
        kind: &str,
        (bids, asks): (&Side, &Side),
        ts: u64,
    ) -> String {
        let mut out = String::with_capacity(128 + 40 * (bids.len() + asks.len()));
        let _ = write!(
            out,
            r#"{{"topic":"{}","ts":{ts},"type":"{kind}","data":{{"s":"{}","b":"#,
            self.name, self.symbol
        );
        push_levels(&mut out, spec, bids);
        out.push_str(r#","a":"#);
        push_levels(&mut out, spec, asks);
        let _ = write!(
            out,
            r#","u":{},"seq":{}}},"cts":{ts}}}"#,
            self.update_id, self.seq
        );
        out
    }
}

/// The answer to one subscribe or unsubscribe request.
struct Reply<'a> {
    conn: u64,
    req_id: &'a str,
    op: &'a str,
}

impl Reply<'_> {
    fn text(&self, success: bool, ret_msg: &str) -> String {
        json!({"success": success, "ret_msg": ret_msg, "conn_id": conn_id(self.conn),
               "req_id": self.req_id, "op": self.op})
        .to_string()
    }
}

fn conn_id(connection: u64) -> String {
    format!("exsim-{connection:08x}")
}

/// `(symbol, depth)` of a spot `orderbook.{depth}.{symbol}` topic this exchange lists.
fn parse_topic<'a>(ex: &Exchange, topic: &'a str) -> Option<(&'a str, usize)> {
    let rest = topic.strip_prefix("orderbook.")?;
    let (depth, symbol) = rest.split_once('.')?;
    let depth: usize = depth.parse().ok()?;
    (SPOT_DEPTHS.contains(&depth) && ex.symbol(symbol).is_some()).then_some((symbol, depth))
}

/// The session's `topic#n` marker for `topic`, if subscribed.
fn subscribed(session: &WsSession, topic: &str) -> Option<String> {
    session
        .topics
        .iter()
        .find(|t| t.rsplit_once('#').is_some_and(|(name, _)| name == topic))
        .cloned()
}

fn unsubscribe(session: &mut WsSession, args: &[String], reply: &Reply<'_>) -> Vec<String> {
    for arg in args {
        if let Some(marker) = subscribed(session, arg) {
            session.topics.remove(&marker);
        }
    }
    vec![reply.text(true, "unsubscribe")]
}

/// The best `depth` levels of one side.
fn top(levels: &[Level], depth: usize) -> Vec<(Fixed, Fixed)> {
    levels
        .iter()
        .take(depth)
        .map(|l| (l.price, l.size))
        .collect()
}

/// What turns the `old` view into the `new` one: removed levels (size zero) first, then new
/// and resized ones, each in the side's order.
fn diff(old: &[(Fixed, Fixed)], new: &[(Fixed, Fixed)]) -> Vec<(Fixed, Fixed)> {
    let now: HashMap<Fixed, Fixed> = new.iter().copied().collect();
    let before: HashMap<Fixed, Fixed> = old.iter().copied().collect();
    let removed = old
        .iter()
        .filter(|(price, _)| !now.contains_key(price))
        .map(|&(price, _)| (price, Fixed::ZERO));
    let changed = new
        .iter()
        .filter(|(price, size)| before.get(price) != Some(size))
        .copied();
    removed.chain(changed).collect()
}

fn push_levels(out: &mut String, spec: &SymbolSpec, levels: &[(Fixed, Fixed)]) {
    out.push('[');
    for (i, &(price, size)) in levels.iter().enumerate() {
        if i > 0 {
            out.push(',');
        }
        let _ = write!(
            out,
            r#"["{}","{}"]"#,
            price.to_text(spec.price_scale),
            size.to_text(spec.size_scale)
        );
    }
    out.push(']');
}

fn level_pair(spec: &SymbolSpec, price: Fixed, size: Fixed) -> [String; 2] {
    [
        price.to_text(spec.price_scale),
        size.to_text(spec.size_scale),
    ]
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

/// `{"retCode":0,"retMsg":"OK","result":..}`.
fn ok(result: Value, now_ms: u64) -> HttpResponse {
    HttpResponse::json(
        200,
        json!({"retCode": 0, "retMsg": "OK", "result": result, "retExtInfo": {}, "time": now_ms})
            .to_string(),
    )
}

/// A refusal: HTTP 200 with the code in `retCode`, as Bybit answers.
fn error(code: i64, message: &str, now_ms: u64) -> HttpResponse {
    error_with_status(200, code, message, now_ms)
}

fn error_with_status(status: u16, code: i64, message: &str, now_ms: u64) -> HttpResponse {
    HttpResponse::json(
        status,
        json!({"retCode": code, "retMsg": message, "result": {}, "retExtInfo": {}, "time": now_ms})
            .to_string(),
    )
}

fn refuse_auth(rejection: &Rejection, now_ms: u64) -> HttpResponse {
    error_with_status(
        rejection.http_status,
        rejection.code.unwrap_or(10004),
        &rejection.message,
        now_ms,
    )
}

/// Only `category=spot` is simulated.
fn spot_category(category: Option<&String>, now_ms: u64) -> Result<(), HttpResponse> {
    match category.map(String::as_str) {
        Some("spot") => Ok(()),
        Some(_) => Err(error(
            10001,
            "params error: only category spot is simulated",
            now_ms,
        )),
        None => Err(error(10001, "params error: category is required", now_ms)),
    }
}

/// The authenticated endpoints, for `account`.
fn private(
    ex: &mut Exchange,
    request: &HttpRequest,
    account: &str,
    body: &str,
    query: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    if request.method == "POST" {
        let Ok(Value::Object(params)) = serde_json::from_str::<Value>(body) else {
            return error(10001, "Request parameter error", now_ms);
        };
        let text = |name: &str| params.get(name).and_then(Value::as_str).map(str::to_string);
        let params: HashMap<String, String> = [
            "category",
            "symbol",
            "side",
            "orderType",
            "qty",
            "price",
            "timeInForce",
            "orderLinkId",
            "orderId",
        ]
        .iter()
        .filter_map(|&name| text(name).map(|v| (name.to_string(), v)))
        .collect();
        if let Err(refusal) = spot_category(params.get("category"), now_ms) {
            return refusal;
        }
        return if request.path == "/v5/order/create" {
            create_order(ex, account, &params, now_ms)
        } else {
            cancel_order(ex, account, &params, now_ms)
        };
    }
    match request.path.as_str() {
        "/v5/account/wallet-balance" => wallet_balance(ex, account, query, now_ms),
        path => {
            if let Err(refusal) = spot_category(query.get("category"), now_ms) {
                return refusal;
            }
            if path == "/v5/order/realtime" {
                realtime(ex, account, query, now_ms)
            } else {
                fee_rate(ex, account, query, now_ms)
            }
        }
    }
}

fn create_order(
    ex: &mut Exchange,
    account: &str,
    params: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let order = match new_order(ex, params) {
        Ok(order) => order,
        Err((code, message)) => return error(code, message, now_ms),
    };
    match ex.place(account, order, now_ms) {
        Ok(order) => ok(
            json!({"orderId": order.id.to_string(), "orderLinkId": order.client_id}),
            now_ms,
        ),
        Err(reject) => refuse(&reject, now_ms),
    }
}

/// The order a create request asks for, or Bybit's code and text for what is wrong with it.
fn new_order(
    ex: &Exchange,
    params: &HashMap<String, String>,
) -> Result<NewOrder, (i64, &'static str)> {
    let get = |name: &str| params.get(name).map(String::as_str);
    let spec = get("symbol")
        .and_then(|s| ex.symbol(s))
        .ok_or((170121, "Invalid symbol."))?;
    let side = match get("side") {
        Some("Buy") => OrderSide::Buy,
        Some("Sell") => OrderSide::Sell,
        _ => return Err((170117, "Invalid side.")),
    };
    // Market orders, and FOK or PostOnly, are not simulated.
    if get("orderType") != Some("Limit") {
        return Err((170116, "Invalid orderType."));
    }
    let tif = match get("timeInForce").unwrap_or("GTC") {
        "GTC" => Tif::Gtc,
        "IOC" => Tif::Ioc,
        _ => return Err((170115, "Invalid timeInForce.")),
    };
    let qty = get("qty").ok_or((10001, "params error: qty is required"))?;
    let price = get("price").ok_or((10001, "params error: price is required"))?;
    let size = Fixed::parse(qty.as_bytes(), spec.size_scale)
        .map_err(|_| (170137, "Order volume decimal too long"))?;
    let limit = Fixed::parse(price.as_bytes(), spec.price_scale)
        .map_err(|_| (170134, "Order price decimal too long."))?;
    let client_id = get("orderLinkId").unwrap_or_default().to_string();
    if client_id.len() > MAX_LINK_ID {
        return Err((170130, "Data sent for paramter 'orderLinkId' is not valid."));
    }
    Ok(NewOrder {
        symbol: spec.symbol.clone(),
        side,
        size,
        limit,
        tif,
        client_id,
    })
}

/// `orderId` first, then `orderLinkId`, as Bybit resolves them.
fn order_ref(get: impl Fn(&str) -> Option<String>) -> Option<OrderRef> {
    if let Some(id) = get("orderId").filter(|v| !v.is_empty()) {
        // An id that is not a number names no order (id 0 never exists).
        return Some(OrderRef::Id(id.parse().unwrap_or(0)));
    }
    get("orderLinkId")
        .filter(|v| !v.is_empty())
        .map(OrderRef::Client)
}

fn cancel_order(
    ex: &mut Exchange,
    account: &str,
    params: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let Some(symbol) = params.get("symbol").filter(|s| ex.symbol(s).is_some()) else {
        return error(170121, "Invalid symbol.", now_ms);
    };
    let Some(by) = order_ref(|name| params.get(name).cloned()) else {
        return error(
            10001,
            "params error: orderId or orderLinkId is required",
            now_ms,
        );
    };
    let symbol = symbol.clone();
    match ex.cancel(account, &symbol, by.clone()) {
        Ok(order) => ok(
            json!({"orderId": order.id.to_string(), "orderLinkId": order.client_id}),
            now_ms,
        ),
        Err(Reject::NotOpen) => match ex.order(account, &symbol, &by).map(|o| o.status) {
            Some(OrderStatus::Filled) => error(170139, "Order has been filled.", now_ms),
            _ => error(170142, "Order has been cancelled", now_ms),
        },
        Err(reject) => refuse(&reject, now_ms),
    }
}

/// `GET /v5/order/realtime`: one order by id (open or recently closed), or the open orders,
/// newest first. Nothing found is an empty list, not an error.
fn realtime(
    ex: &Exchange,
    account: &str,
    query: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let symbol = query.get("symbol").map(String::as_str);
    if symbol.is_some_and(|s| ex.symbol(s).is_none()) {
        return error(170121, "Invalid symbol.", now_ms);
    }
    let symbols: Vec<&SymbolSpec> = ex
        .symbols()
        .iter()
        .filter(|s| symbol.is_none_or(|name| s.symbol == name))
        .collect();
    let orders: Vec<&Order> = match order_ref(|name| query.get(name).cloned()) {
        Some(by) => symbols
            .iter()
            .find_map(|s| ex.order(account, &s.symbol, &by))
            .into_iter()
            .collect(),
        None => {
            let limit = query
                .get("limit")
                .and_then(|l| l.parse::<usize>().ok())
                .unwrap_or(20)
                .clamp(1, MAX_PAGE);
            let mut open = ex.open_orders(account, symbol);
            open.reverse();
            open.truncate(limit);
            open
        }
    };
    let list: Vec<Value> = orders
        .into_iter()
        .filter_map(|o| ex.symbol(&o.symbol).map(|spec| order_json(ex, spec, o)))
        .collect();
    ok(
        json!({"category": "spot", "list": list, "nextPageCursor": ""}),
        now_ms,
    )
}

fn wallet_balance(
    ex: &Exchange,
    account: &str,
    query: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    if query.get("accountType").map(String::as_str) != Some("UNIFIED") {
        return error(10001, "accountType only support UNIFIED.", now_ms);
    }
    let wanted: Option<Vec<&str>> = query.get("coin").map(|c| c.split(',').collect());
    let coins: Vec<Value> = ex
        .balances(account)
        .into_iter()
        // Without `coin`, only assets with a balance are listed.
        .filter(|(asset, free, locked)| match &wanted {
            Some(list) => list.contains(&asset.as_str()),
            None => free + locked > 0,
        })
        .map(|(asset, free, locked)| {
            let digits = ex.asset_digits(&asset);
            let wallet = amount(free + locked, digits);
            json!({
                "coin": asset, "equity": wallet, "usdValue": "0", "walletBalance": wallet,
                "locked": amount(locked, digits), "spotHedgingQty": "0", "borrowAmount": "0",
                "accruedInterest": "0", "totalOrderIM": "0", "totalPositionIM": "0",
                "totalPositionMM": "0", "unrealisedPnl": "0", "cumRealisedPnl": "0", "bonus": "0",
                "marginCollateral": true, "collateralSwitch": true, "spotBorrow": "0",
                "free": "", "availableToWithdraw": "", "availableToBorrow": "",
            })
        })
        .collect();
    let zero = "0";
    ok(
        json!({"list": [{
            "accountType": "UNIFIED", "accountIMRate": zero, "accountMMRate": zero,
            "totalEquity": zero, "totalWalletBalance": zero, "totalMarginBalance": zero,
            "totalAvailableBalance": zero, "totalPerpUPL": zero, "totalInitialMargin": zero,
            "totalMaintenanceMargin": zero, "accountLTV": zero, "coin": coins,
        }]}),
        now_ms,
    )
}

fn fee_rate(
    ex: &Exchange,
    account: &str,
    query: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let symbol = query.get("symbol").map(String::as_str);
    if symbol.is_some_and(|s| ex.symbol(s).is_none()) {
        return error(170121, "Invalid symbol.", now_ms);
    }
    let Some(fees) = ex.fees(account) else {
        return error_with_status(401, 10003, "API key is invalid.", now_ms);
    };
    let list: Vec<Value> = ex
        .symbols()
        .iter()
        .filter(|s| symbol.is_none_or(|name| s.symbol == name))
        .map(|s| {
            json!({"symbol": s.symbol, "takerFeeRate": rate_text(fees.taker),
                   "makerFeeRate": rate_text(fees.maker)})
        })
        .collect();
    ok(json!({"category": "spot", "list": list}), now_ms)
}

/// `GET /v5/market/instruments-info?category=spot[&symbol=]`: every listed symbol, or the
/// one asked for (an empty list when it is not listed).
/// Bybit's kline `interval` for each interval the engine keeps.
fn interval_of_code(code: &str) -> Option<Interval> {
    Some(match code {
        "1" => Interval::M1,
        "5" => Interval::M5,
        "15" => Interval::M15,
        "60" => Interval::H1,
        "240" => Interval::H4,
        "D" => Interval::D1,
        _ => return None,
    })
}

/// `GET /v5/market/kline?category=spot`: the latest `limit` bars (default 200, at most
/// 1000) opening within `[start, end]`, newest first, as `[startTime, open, high, low, close,
/// volume, turnover]` strings.
fn kline(ex: &Exchange, query: &HashMap<String, String>, now_ms: u64) -> HttpResponse {
    if let Err(refusal) = spot_category(query.get("category"), now_ms) {
        return refusal;
    }
    let Some(spec) = query.get("symbol").and_then(|s| ex.symbol(s)) else {
        return error(10001, "Not supported symbols", now_ms);
    };
    let Some(interval) = query.get("interval").and_then(|i| interval_of_code(i)) else {
        return error(10001, "Invalid period!", now_ms);
    };
    let (Ok(start), Ok(end), Ok(limit)) = (
        candles::number(query, "start"),
        candles::number(query, "end"),
        candles::number(query, "limit"),
    ) else {
        return error(10001, "params error", now_ms);
    };
    let limit = limit.unwrap_or(200);
    if !(1..=1_000).contains(&limit) {
        return error(10001, "params error: limit", now_ms);
    }
    let range = start.unwrap_or(0)..=end.unwrap_or(u64::MAX);
    let bars = ex.candles(
        &spec.symbol,
        interval,
        range,
        candles::count(limit),
        Keep::Latest,
    );
    let list: Vec<Value> = bars
        .iter()
        .rev()
        .map(|bar| {
            let [o, h, l, c, volume] = candles::values(spec, bar, candles::shortest);
            json!([bar.open_ms.to_string(), o, h, l, c, volume, "0"])
        })
        .collect();
    ok(
        json!({"symbol": spec.symbol, "category": "spot", "list": list}),
        now_ms,
    )
}

fn instruments(ex: &Exchange, query: &HashMap<String, String>, now_ms: u64) -> HttpResponse {
    if let Err(refusal) = spot_category(query.get("category"), now_ms) {
        return refusal;
    }
    let symbol = query.get("symbol").map(String::as_str);
    let list: Vec<Value> = ex
        .symbols()
        .iter()
        .filter(|s| symbol.is_none_or(|name| s.symbol == name))
        .map(|spec| {
            let notional = notional_digits(spec);
            json!({
                "symbol": spec.symbol, "baseCoin": spec.base, "quoteCoin": spec.quote,
                "innovation": "0", "status": "Trading", "marginTrading": "none", "stTag": "0",
                "lotSizeFilter": {
                    "basePrecision": trim_zeros(spec.lot.to_text(spec.size_scale)),
                    "quotePrecision": amount(1, notional),
                    "minOrderQty": trim_zeros(spec.min_size.to_text(spec.size_scale)),
                    "maxOrderQty": "9000000",
                    "minOrderAmt": amount(spec.min_notional, notional),
                    "maxOrderAmt": "9000000000",
                },
                "priceFilter": {"tickSize": trim_zeros(spec.tick.to_text(spec.price_scale))},
                "riskParameters": {"priceLimitRatioX": "0.05", "priceLimitRatioY": "0.05"},
                "symbolType": "",
            })
        })
        .collect();
    ok(
        json!({"category": "spot", "list": list, "nextPageCursor": ""}),
        now_ms,
    )
}

/// An engine refusal as Bybit's spot code and text.
fn refuse(reject: &Reject, now_ms: u64) -> HttpResponse {
    let (code, message) = match reject {
        Reject::UnknownSymbol => (170121, "Invalid symbol."),
        Reject::UnknownAccount => {
            return error_with_status(401, 10003, "API key is invalid.", now_ms);
        }
        Reject::InsufficientBalance => (170131, "Balance insufficient"),
        Reject::BadTick => (170134, "Order price decimal too long."),
        Reject::BadLot => (170137, "Order volume decimal too long"),
        Reject::BelowMinSize => (170136, "Order quantity lower than the minimum."),
        Reject::BelowMinNotional => (170140, "Order value exceeded lower limit"),
        Reject::DuplicateClientId => (170141, "Duplicate clientOrderId"),
        Reject::UnknownOrder | Reject::NotOpen => (170213, "Order does not exist."),
        Reject::Injected { code, message } => return error(*code, message, now_ms),
    };
    error(code, message, now_ms)
}

/// Bybit's spot statuses: a closed order that filled in part is `PartiallyFilledCanceled`,
/// whether a cancel or its time in force closed it.
fn status_text(order: &Order) -> &'static str {
    match order.status {
        OrderStatus::New => "New",
        OrderStatus::PartiallyFilled => "PartiallyFilled",
        OrderStatus::Filled => "Filled",
        OrderStatus::Canceled | OrderStatus::Expired if !order.filled.is_zero() => {
            "PartiallyFilledCanceled"
        }
        OrderStatus::Canceled | OrderStatus::Expired => "Cancelled",
    }
}

/// One order as `/v5/order/realtime` lists it. Fees are in `cumFeeDetail` (spot), by asset;
/// `cumExecFee` repeats the amount.
fn order_json(ex: &Exchange, spec: &SymbolSpec, order: &Order) -> Value {
    let digits = notional_digits(spec);
    let fee_asset = match order.fills.first().map(|f| f.fee_asset) {
        Some(FeeAsset::Base) => Some(&spec.base),
        Some(FeeAsset::Quote) => Some(&spec.quote),
        None => None,
    };
    let fee = fee_asset.map_or_else(String::new, |a| amount(order.fees, ex.asset_digits(a)));
    let fee_detail: serde_json::Map<String, Value> = fee_asset
        .filter(|_| order.fees > 0)
        .map(|a| (a.clone(), Value::String(fee.clone())))
        .into_iter()
        .collect();
    let open = order.status.is_open();
    let leaves = if open {
        Fixed(order.size.0 - order.filled.0)
    } else {
        Fixed::ZERO
    };
    let leaves_value = u128::from(leaves.0) * u128::from(order.limit.0);
    let cancel_type = if order.status == OrderStatus::Canceled {
        "CancelByUser"
    } else {
        "UNKNOWN"
    };
    let mut value = json!({
        "orderId": order.id.to_string(), "orderLinkId": order.client_id,
        "symbol": order.symbol, "price": order.limit.to_text(spec.price_scale),
        "qty": order.size.to_text(spec.size_scale),
        "side": match order.side { OrderSide::Buy => "Buy", OrderSide::Sell => "Sell" },
        "positionIdx": 0, "orderStatus": status_text(order),
        "cancelType": cancel_type,
        "avgPrice": avg_price(order, spec),
        "leavesQty": leaves.to_text(spec.size_scale), "leavesValue": amount(leaves_value, digits),
        "cumExecQty": order.filled.to_text(spec.size_scale),
        "cumExecValue": amount(order.notional, digits), "cumExecFee": fee,
        "timeInForce": match order.tif { Tif::Gtc => "GTC", Tif::Ioc => "IOC" },
        "orderType": "Limit", "triggerDirection": 0, "reduceOnly": false,
        "closeOnTrigger": false, "smpGroup": 0,
        "createdTime": order.created_ms.to_string(), "updatedTime": order.created_ms.to_string(),
        "cumFeeDetail": fee_detail,
    });
    // Fields a spot limit order carries with fixed values.
    for (name, text) in ORDER_CONSTANTS {
        value[*name] = Value::String((*text).to_string());
    }
    value
}

/// `/v5/order/realtime` fields that never vary for a spot limit order without TP/SL.
const ORDER_CONSTANTS: &[(&str, &str)] = &[
    ("blockTradeId", ""),
    ("isLeverage", "0"),
    ("rejectReason", "EC_NoError"),
    ("stopOrderType", ""),
    ("orderIv", ""),
    ("marketUnit", ""),
    ("triggerPrice", "0"),
    ("takeProfit", "0"),
    ("stopLoss", "0"),
    ("tpslMode", ""),
    ("ocoTriggerBy", ""),
    ("tpLimitPrice", "0"),
    ("slLimitPrice", "0"),
    ("tpTriggerBy", ""),
    ("slTriggerBy", ""),
    ("triggerBy", ""),
    ("lastPriceOnCreated", ""),
    ("basePrice", ""),
    ("placeType", ""),
    ("smpType", "None"),
    ("smpOrderId", ""),
];

/// `notional / filled`, truncated at price + size digits; `""` before any fill, as Bybit
/// documents.
fn avg_price(order: &Order, spec: &SymbolSpec) -> String {
    if order.filled.is_zero() {
        return String::new();
    }
    let units = order.notional * u128::from(spec.size_scale.one()) / u128::from(order.filled.0);
    amount(units, notional_digits(spec))
}

fn notional_digits(spec: &SymbolSpec) -> u8 {
    spec.price_scale.digits() + spec.size_scale.digits()
}

fn rate_text(rate: Rate) -> String {
    amount(u128::from(rate.0), 8)
}

/// `units × 10^-digits` as Bybit writes amounts: plain decimal, no trailing fraction zeros.
fn amount(units: u128, digits: u8) -> String {
    let one = 10u128.pow(u32::from(digits));
    let text = if digits == 0 {
        units.to_string()
    } else {
        format!(
            "{}.{:0width$}",
            units / one,
            units % one,
            width = usize::from(digits)
        )
    };
    trim_zeros(text)
}

/// `"0.00100000"` → `"0.001"`, `"5.000"` → `"5"`.
fn trim_zeros(text: String) -> String {
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
