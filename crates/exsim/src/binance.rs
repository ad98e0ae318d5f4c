//! Binance spot, simulated: the `/api/v3` REST endpoints Kestrel uses (SIGNED ones checked
//! with the venue's own HMAC/Ed25519 rules and error codes) and the WebSocket streams
//! `<symbol>@depth[@100ms]` and `<symbol>@bookTicker`, raw (`/ws/<stream>`) or combined
//! (`/stream?streams=`), with diff update ids that chain exactly as Binance's do, so a client's
//! local book can be bridged from `GET /api/v3/depth`.

use std::collections::HashMap;
use std::fmt::Write as _;

use kestrel_types::cex::{BookSide, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::auth::{BinanceRequest, BinanceVerifyKey, Rejection, verify_binance};
use kestrel_venues::book::Level;

use crate::candles;
use crate::engine::{
    Exchange, FeeAsset, Fill, Keep, Liquidity, NewOrder, Order, OrderRef, OrderStatus, Reject,
    SymbolSpec, Tif,
};
use crate::http::{HttpRequest, HttpResponse, form_pairs};
use crate::server::{Faults, Front, Publication, WsSession};

/// Update ids skipped by an injected gap.
const GAP_IDS: u64 = 5;

/// Binance's `REQUEST_WEIGHT` limit per minute (enums.md, "Rate limiters").
pub const WEIGHT_PER_MINUTE: u32 = 6_000;

/// Binance's default unfilled-order limits (`exchangeInfo` `rateLimits` of type `ORDERS`, the
/// spot docs' "Unfilled Order Count" FAQ): 100 per 10 seconds, 200,000 per UTC day.
pub const ORDERS_PER_10S: u32 = 100;
/// See [`ORDERS_PER_10S`].
pub const ORDERS_PER_DAY: u32 = 200_000;

/// The `ORDERS` windows, ms, with the interval each is stated as (`exchangeInfo`, the
/// `X-MBX-ORDER-COUNT-*` header suffix and the refusal's message).
const ORDER_WINDOWS: [(u64, &str, &str, &str); 2] = [
    (10_000, "SECOND", "X-MBX-ORDER-COUNT-10S", "10 SECOND"),
    (86_400_000, "DAY", "X-MBX-ORDER-COUNT-1D", "1 DAY"),
];

/// Each account's unfilled-order count per `ORDERS` window, as Binance keeps it: an order the
/// venue accepts is counted in each window (windows aligned to the epoch: from :00, :10, ..
/// and from UTC midnight), and taken off again once it fills anything; a new order that would
/// pass a limit is refused (`429`, `-1015`). Binance takes a filled order off asynchronously,
/// so the count an order's answer states still includes it; here too.
#[derive(Debug)]
struct OrderCounts {
    limits: [u32; 2],
    /// Per account: per window, the window's index (`unix_ms / window_ms`) and its count.
    counts: HashMap<String, [(u64, u32); 2]>,
}

impl OrderCounts {
    /// The account's counts as of `now_ms` (a window that has ended counts nothing).
    fn current(&mut self, account: &str, now_ms: u64) -> &mut [(u64, u32); 2] {
        let counts = self.counts.entry(account.to_string()).or_default();
        for (slot, (window_ms, ..)) in counts.iter_mut().zip(ORDER_WINDOWS) {
            let index = now_ms / window_ms;
            if slot.0 != index {
                *slot = (index, 0);
            }
        }
        counts
    }

    /// Binance's refusal when a new order would pass a limit.
    fn check(&mut self, account: &str, now_ms: u64) -> Result<(), HttpResponse> {
        let limits = self.limits;
        let counts = self.current(account, now_ms);
        for ((&(_, count), limit), (.., per)) in counts.iter().zip(limits).zip(ORDER_WINDOWS) {
            if count >= limit {
                let msg =
                    format!("Too many new orders; current limit is {limit} orders per {per}.");
                return Err(error(429, -1015, &msg));
            }
        }
        Ok(())
    }

    /// An order accepted: counted, its answer given the counts, and taken off again if it
    /// filled anything.
    fn count(&mut self, account: &str, mut answer: HttpResponse, now_ms: u64) -> HttpResponse {
        let filled = serde_json::from_str::<serde_json::Value>(&answer.body)
            .ok()
            .and_then(|v| v.get("executedQty")?.as_str().map(str::to_owned))
            .is_some_and(|qty| qty.bytes().any(|b| (b'1'..=b'9').contains(&b)));
        let counts = self.current(account, now_ms);
        for ((_, count), (.., header, _)) in counts.iter_mut().zip(ORDER_WINDOWS) {
            *count += 1;
            answer = answer.with_header(header, count.to_string());
            if filled {
                *count -= 1;
            }
        }
        answer
    }
}

/// The Binance front over one exchange.
#[derive(Debug)]
pub struct BinanceFront {
    keys: HashMap<String, BinanceVerifyKey>,
    last_update_id: HashMap<String, u64>,
    /// Request weight allowed per wall-clock minute, for every client together (Binance counts
    /// per IP; here every client is on loopback).
    weight_limit: u32,
    /// The minute (`unix_ms / 60_000`) `used` counts, and the weight used in it.
    minute: u64,
    used: u32,
    orders: OrderCounts,
}

impl BinanceFront {
    /// A front accepting SIGNED requests from these API keys (each account's key is its name
    /// in the exchange), with Binance's request-weight limit.
    pub fn new(keys: Vec<BinanceVerifyKey>) -> BinanceFront {
        BinanceFront {
            keys: keys
                .into_iter()
                .map(|k| (k.api_key().to_string(), k))
                .collect(),
            last_update_id: HashMap::new(),
            weight_limit: WEIGHT_PER_MINUTE,
            minute: 0,
            used: 0,
            orders: OrderCounts {
                limits: [ORDERS_PER_10S, ORDERS_PER_DAY],
                counts: HashMap::new(),
            },
        }
    }

    /// The front with another unfilled-order limit per 10 seconds (stated in `exchangeInfo`).
    #[must_use]
    pub fn with_order_limit_10s(mut self, limit: u32) -> BinanceFront {
        self.orders.limits[0] = limit;
        self
    }

    /// The front with another request-weight limit per minute (stated in `exchangeInfo`).
    #[must_use]
    pub fn with_weight_limit(mut self, limit: u32) -> BinanceFront {
        self.weight_limit = limit;
        self
    }

    /// Charges `weight` to the current minute: the `X-MBX-USED-WEIGHT-1M` count after it, or
    /// Binance's 429 (`-1003`, with `Retry-After` to the minute's end) when it would pass the
    /// limit (a refused request is not charged).
    fn charge(&mut self, weight: u32, now_ms: u64) -> Result<u32, HttpResponse> {
        let minute = now_ms / 60_000;
        if minute != self.minute {
            self.minute = minute;
            self.used = 0;
        }
        if self.used.saturating_add(weight) > self.weight_limit {
            let retry_after_s = (60_000 - now_ms % 60_000).div_ceil(1_000);
            let msg = format!(
                "Too much request weight used; current limit is {} request weight per 1 MINUTE. \
                 Please use WebSocket Streams for live updates to avoid polling the API.",
                self.weight_limit
            );
            return Err(error(429, -1003, &msg)
                .with_header("X-MBX-USED-WEIGHT-1M", self.used.to_string())
                .with_header("Retry-After", retry_after_s.to_string()));
        }
        self.used += weight;
        Ok(self.used)
    }

    /// The answer to one REST request, its weight already charged.
    fn answer(
        &mut self,
        ex: &mut Exchange,
        request: &HttpRequest,
        route: (&str, &str),
        params: &HashMap<String, String>,
        body: &str,
        now_ms: u64,
    ) -> HttpResponse {
        let signed = matches!(
            request.path.as_str(),
            "/api/v3/account" | "/api/v3/account/commission" | "/api/v3/order" | "/api/v3/myTrades"
        );
        if signed && let Err(rejection) = self.authenticate(request, body, now_ms) {
            return reject_auth(&rejection);
        }
        let account = request
            .header("x-mbx-apikey")
            .unwrap_or_default()
            .to_string();
        match route {
            ("GET", "/api/v3/ping") => HttpResponse::json(200, "{}"),
            ("GET", "/api/v3/time") => {
                HttpResponse::json(200, format!(r#"{{"serverTime":{now_ms}}}"#))
            }
            ("GET", "/api/v3/depth") => self.depth(ex, params),
            ("GET", "/api/v3/exchangeInfo") => {
                exchange_info(ex, params, self.weight_limit, self.orders.limits)
            }
            ("GET", "/api/v3/klines") => klines(ex, params),
            ("GET", "/api/v3/ticker/price") => ticker_price(ex, params),
            ("GET", "/api/v3/account") => account_info(ex, &account),
            ("GET", "/api/v3/account/commission") => commission(ex, &account, params),
            ("POST", "/api/v3/order") => new_order(ex, &account, params, now_ms),
            ("DELETE", "/api/v3/order") => cancel_order(ex, &account, params),
            ("GET", "/api/v3/order") => query_order(ex, &account, params),
            ("GET", "/api/v3/myTrades") => my_trades(ex, &account, params),
            _ => error(404, -1000, "Unknown path."),
        }
    }

    fn update_id(&mut self, symbol: &str) -> u64 {
        *self
            .last_update_id
            .entry(symbol.to_string())
            .or_insert(1_000)
    }
}

impl Front for BinanceFront {
    fn venue(&self) -> Venue {
        Venue::Binance
    }

    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
        let body = request.body_text();
        let mut params: HashMap<String, String> = HashMap::new();
        // A parameter in both places is read from the query string, as Binance does.
        for (k, v) in form_pairs(&body)
            .into_iter()
            .chain(form_pairs(&request.query))
        {
            params.insert(k, v);
        }
        let route = (request.method.as_str(), request.path.as_str());
        let used = match self.charge(route_weight(route, &params), now_ms) {
            Ok(used) => used,
            Err(refused) => return refused,
        };
        let weight =
            |answer: HttpResponse| answer.with_header("X-MBX-USED-WEIGHT-1M", used.to_string());
        // A new order from a known key is held to the account's unfilled-order count.
        let account = request.header("x-mbx-apikey").unwrap_or_default();
        let counted = route == ("POST", "/api/v3/order") && self.keys.contains_key(account);
        if counted && let Err(refused) = self.orders.check(account, now_ms) {
            return weight(refused);
        }
        let answer = self.answer(ex, request, route, &params, &body, now_ms);
        if counted && answer.status == 200 {
            let account = account.to_string();
            return weight(self.orders.count(&account, answer, now_ms));
        }
        weight(answer)
    }

    fn ws_open(
        &mut self,
        ex: &Exchange,
        request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse> {
        let mut session = WsSession::default();
        if request.path == "/stream" {
            session.combined = true;
            for (k, v) in form_pairs(&request.query) {
                if k == "streams" {
                    session.topics.extend(v.split('/').map(str::to_string));
                }
            }
        } else if let Some(stream) = request.path.strip_prefix("/ws/") {
            session.topics.insert(stream.to_string());
        } else if request.path != "/ws" {
            return Err(error(404, -1000, "Unknown path."));
        }
        if let Some(bad) = session.topics.iter().find(|t| !known_stream(ex, t)) {
            return Err(error(400, -1121, &format!("Invalid symbol: {bad}")));
        }
        Ok((session, Vec::new()))
    }

    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
        let Ok(request) = serde_json::from_str::<serde_json::Value>(text) else {
            return vec![r#"{"error":{"code":3,"msg":"Invalid JSON"},"id":null}"#.to_string()];
        };
        let id = request
            .get("id")
            .cloned()
            .unwrap_or(serde_json::Value::Null);
        let streams: Vec<String> = request
            .get("params")
            .and_then(|p| p.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|s| s.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        match request.get("method").and_then(|m| m.as_str()) {
            Some("SUBSCRIBE") if streams.iter().all(|s| known_stream(ex, s)) => {
                session.topics.extend(streams);
                vec![format!(r#"{{"result":null,"id":{id}}}"#)]
            }
            Some("UNSUBSCRIBE") => {
                for s in &streams {
                    session.topics.remove(s);
                }
                vec![format!(r#"{{"result":null,"id":{id}}}"#)]
            }
            Some("LIST_SUBSCRIPTIONS") => {
                let list: Vec<&String> = session.topics.iter().collect();
                vec![format!(
                    r#"{{"result":{},"id":{id}}}"#,
                    serde_json::json!(list)
                )]
            }
            _ => vec![format!(
                r#"{{"error":{{"code":2,"msg":"Invalid request"}},"id":{id}}}"#
            )],
        }
    }

    fn publish(
        &mut self,
        ex: &Exchange,
        symbol: &str,
        deltas: &[(BookSide, Fixed, Fixed)],
        faults: &mut Faults,
    ) -> Vec<Publication> {
        let Some(spec) = ex.symbol(symbol) else {
            return Vec::new();
        };
        let mut first = self.update_id(symbol) + 1;
        if faults.gaps > 0 {
            faults.gaps -= 1;
            first += GAP_IDS;
        }
        let count = u64::try_from(deltas.len()).unwrap_or(u64::MAX).max(1);
        let last = first + count - 1;
        self.last_update_id.insert(symbol.to_string(), last);
        let mut bids = String::from("[");
        let mut asks = String::from("[");
        for &(side, price, size) in deltas {
            let out = if side == BookSide::Bid {
                &mut bids
            } else {
                &mut asks
            };
            if out.len() > 1 {
                out.push(',');
            }
            push_level(out, spec, price, size);
        }
        bids.push(']');
        asks.push(']');
        let lower = symbol.to_ascii_lowercase();
        let diff = format!(
            r#"{{"e":"depthUpdate","E":{},"s":"{symbol}","U":{first},"u":{last},"b":{bids},"a":{asks}}}"#,
            kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock)
        );
        let mut out = vec![
            Publication {
                topic: format!("{lower}@depth@100ms"),
                text: diff.clone(),
            },
            Publication {
                topic: format!("{lower}@depth"),
                text: diff,
            },
        ];
        if let Some(book) = ex.book(symbol)
            && let (Some(bid), Some(ask)) = (book.best_bid(), book.best_ask())
        {
            out.push(Publication {
                topic: format!("{lower}@bookTicker"),
                text: format!(
                    r#"{{"u":{last},"s":"{symbol}","b":"{}","B":"{}","a":"{}","A":"{}"}}"#,
                    bid.price.to_text(spec.price_scale),
                    bid.size.to_text(spec.size_scale),
                    ask.price.to_text(spec.price_scale),
                    ask.size.to_text(spec.size_scale),
                ),
            });
        }
        out
    }

    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
        if session.combined {
            format!(
                r#"{{"stream":"{}","data":{}}}"#,
                publication.topic, publication.text
            )
        } else {
            publication.text.clone()
        }
    }
}

impl BinanceFront {
    fn authenticate(
        &self,
        request: &HttpRequest,
        body: &str,
        now_ms: u64,
    ) -> Result<(), Rejection> {
        let api_key = request.header("x-mbx-apikey");
        let key = api_key
            .and_then(|k| self.keys.get(k))
            .or_else(|| self.keys.values().next());
        let signed = BinanceRequest {
            api_key,
            query: &request.query,
            body,
        };
        match key {
            Some(key) => verify_binance(&signed, key, now_ms),
            None => Err(Rejection {
                venue: Venue::Binance,
                http_status: 401,
                code: Some(-2015),
                message: "Invalid API-key, IP, or permissions for action.".into(),
            }),
        }
    }

    fn depth(&mut self, ex: &Exchange, params: &HashMap<String, String>) -> HttpResponse {
        let Some((symbol, spec)) = symbol_param(ex, params) else {
            return error(400, -1121, "Invalid symbol.");
        };
        let limit: usize = params
            .get("limit")
            .and_then(|l| l.parse().ok())
            .unwrap_or(100)
            .min(5000);
        let last = self.update_id(&symbol);
        let Some(book) = ex.book(&symbol) else {
            return error(400, -1121, "Invalid symbol.");
        };
        let levels = |levels: &[Level]| {
            let mut out = String::from("[");
            for (i, l) in levels.iter().take(limit).enumerate() {
                if i > 0 {
                    out.push(',');
                }
                push_level(&mut out, spec, l.price, l.size);
            }
            out.push(']');
            out
        };
        HttpResponse::json(
            200,
            format!(
                r#"{{"lastUpdateId":{last},"bids":{},"asks":{}}}"#,
                levels(book.bids()),
                levels(book.asks())
            ),
        )
    }
}

fn known_stream(ex: &Exchange, stream: &str) -> bool {
    let Some((symbol, kind)) = stream.split_once('@') else {
        return false;
    };
    matches!(kind, "depth" | "depth@100ms" | "bookTicker")
        && ex
            .symbols()
            .iter()
            .any(|s| s.symbol.eq_ignore_ascii_case(symbol))
}

fn push_level(out: &mut String, spec: &SymbolSpec, price: Fixed, size: Fixed) {
    let _ = write!(
        out,
        r#"["{}","{}"]"#,
        price.to_text(spec.price_scale),
        size.to_text(spec.size_scale)
    );
}

fn symbol_param<'a>(
    ex: &'a Exchange,
    params: &HashMap<String, String>,
) -> Option<(String, &'a SymbolSpec)> {
    let symbol = params.get("symbol")?;
    ex.symbol(symbol).map(|spec| (symbol.clone(), spec))
}

fn error(status: u16, code: i64, msg: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        serde_json::json!({ "code": code, "msg": msg }).to_string(),
    )
}

fn reject_auth(rejection: &Rejection) -> HttpResponse {
    error(
        rejection.http_status,
        rejection.code.unwrap_or(-1000),
        &rejection.message,
    )
}

/// `u128` units with `digits` fraction digits as plain decimal text.
fn units_text(units: u128, digits: u8) -> String {
    let one = 10u128.pow(u32::from(digits));
    if digits == 0 {
        return units.to_string();
    }
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

/// `GET /api/v3/klines`: bars opening within `[startTime, endTime]`, oldest first; with a
/// `startTime` the first `limit` of them, without one the latest (default 500, at most 1000).
fn klines(ex: &Exchange, params: &HashMap<String, String>) -> HttpResponse {
    let Some(spec) = params.get("symbol").and_then(|s| ex.symbol(s)) else {
        return error(400, -1121, "Invalid symbol.");
    };
    let Some(interval) = params.get("interval").and_then(|i| Interval::from_name(i)) else {
        return error(400, -1120, "Invalid interval.");
    };
    let (Ok(start), Ok(end), Ok(limit)) = (
        candles::number(params, "startTime"),
        candles::number(params, "endTime"),
        candles::number(params, "limit"),
    ) else {
        return error(400, -1100, "Illegal characters found in a parameter.");
    };
    let limit = limit.unwrap_or(500);
    if !(1..=1_000).contains(&limit) {
        return error(400, -1130, "Invalid data sent for a parameter.");
    }
    let keep = if start.is_some() {
        Keep::Earliest
    } else {
        Keep::Latest
    };
    let range = start.unwrap_or(0)..=end.unwrap_or(u64::MAX);
    let bars = ex.candles(&spec.symbol, interval, range, candles::count(limit), keep);
    let mut out = String::from("[");
    for bar in &bars {
        if out.len() > 1 {
            out.push(',');
        }
        let [open, high, low, close, volume] = candles::values(spec, bar, Fixed::to_text);
        let close_ms = bar.open_ms + interval.ms() - 1;
        let _ = write!(
            out,
            r#"[{},"{open}","{high}","{low}","{close}","{volume}",{close_ms},"0",0,"0","0","0"]"#,
            bar.open_ms
        );
    }
    out.push(']');
    HttpResponse::json(200, out)
}

/// What a route weighs against the minute's `REQUEST_WEIGHT` (rest-api.md): depth by its
/// `limit` (5 up to 100, 25 to 500, 50 to 1000, 250 beyond), `exchangeInfo`, the account and
/// commission rates 20, klines and one symbol's price ticker 2, an order query 4, the
/// account's trades 5 with an `orderId` and 20 without, anything else 1.
fn route_weight(route: (&str, &str), params: &HashMap<String, String>) -> u32 {
    match route {
        ("GET", "/api/v3/depth") => {
            match params
                .get("limit")
                .and_then(|l| l.parse::<u32>().ok())
                .unwrap_or(100)
            {
                0..=100 => 5,
                101..=500 => 25,
                501..=1000 => 50,
                _ => 250,
            }
        }
        ("GET", "/api/v3/exchangeInfo" | "/api/v3/account" | "/api/v3/account/commission") => 20,
        ("GET", "/api/v3/klines" | "/api/v3/ticker/price") => 2,
        ("GET", "/api/v3/order") => 4,
        ("GET", "/api/v3/myTrades") if params.contains_key("orderId") => 5,
        ("GET", "/api/v3/myTrades") => 20,
        _ => 1,
    }
}

fn exchange_info(
    ex: &Exchange,
    params: &HashMap<String, String>,
    weight_limit: u32,
    order_limits: [u32; 2],
) -> HttpResponse {
    let specs: Vec<&SymbolSpec> = match params.get("symbol") {
        Some(s) => match ex.symbol(s) {
            Some(spec) => vec![spec],
            None => return error(400, -1121, "Invalid symbol."),
        },
        None => ex.symbols().iter().collect(),
    };
    let symbols: Vec<serde_json::Value> = specs
        .iter()
        .map(|spec| {
            serde_json::json!({
                "symbol": spec.symbol,
                "status": "TRADING",
                "baseAsset": spec.base,
                "baseAssetPrecision": spec.size_scale.digits(),
                "quoteAsset": spec.quote,
                "quoteAssetPrecision": notional_digits(spec),
                "orderTypes": ["LIMIT", "MARKET"],
                "isSpotTradingAllowed": true,
                "filters": [
                    {"filterType": "PRICE_FILTER", "minPrice": spec.tick.to_text(spec.price_scale),
                     "maxPrice": "1000000.00000000", "tickSize": spec.tick.to_text(spec.price_scale)},
                    {"filterType": "LOT_SIZE", "minQty": spec.min_size.to_text(spec.size_scale),
                     "maxQty": "9000000.00000000", "stepSize": spec.lot.to_text(spec.size_scale)},
                    {"filterType": "NOTIONAL", "minNotional": units_text(spec.min_notional, notional_digits(spec)),
                     "applyMinToMarket": true, "maxNotional": "9000000.00000000",
                     "applyMaxToMarket": false, "avgPriceMins": 5},
                ],
            })
        })
        .collect();
    HttpResponse::json(
        200,
        serde_json::json!({
            "timezone": "UTC",
            "rateLimits": [
                {"rateLimitType": "REQUEST_WEIGHT", "interval": "MINUTE", "intervalNum": 1, "limit": weight_limit},
                {"rateLimitType": "ORDERS", "interval": ORDER_WINDOWS[0].1, "intervalNum": 10, "limit": order_limits[0]},
                {"rateLimitType": "ORDERS", "interval": ORDER_WINDOWS[1].1, "intervalNum": 1, "limit": order_limits[1]},
                {"rateLimitType": "RAW_REQUESTS", "interval": "MINUTE", "intervalNum": 5, "limit": 61_000}
            ],
            "exchangeFilters": [],
            "symbols": symbols
        })
            .to_string(),
    )
}

fn account_info(ex: &Exchange, account: &str) -> HttpResponse {
    let balances: Vec<serde_json::Value> = ex
        .balances(account)
        .into_iter()
        .map(|(asset, free, locked)| {
            let digits = ex.asset_digits(&asset);
            serde_json::json!({"asset": asset, "free": units_text(free, digits), "locked": units_text(locked, digits)})
        })
        .collect();
    HttpResponse::json(
        200,
        serde_json::json!({
            "makerCommission": 0, "takerCommission": 0, "buyerCommission": 0, "sellerCommission": 0,
            "canTrade": true, "canWithdraw": true, "canDeposit": true, "brokered": false,
            "requireSelfTradePrevention": false, "updateTime": 0, "accountType": "SPOT",
            "balances": balances, "permissions": ["SPOT"], "uid": 1,
        })
        .to_string(),
    )
}

fn rate_text(rate: kestrel_types::cex::Rate) -> String {
    units_text(u128::from(rate.0), 8)
}

/// `GET /api/v3/ticker/price?symbol=`: `{"symbol", "price"}`. A listed symbol's price is its
/// last trade's (its best bid before any trade, its best ask on an empty bid side); the fee
/// discount asset against a listed quote asset (`BNBUSDT`) is the discount's set price, the
/// one the exchange converts fees at. Anything else is Binance's `-1121`.
fn ticker_price(ex: &Exchange, params: &HashMap<String, String>) -> HttpResponse {
    let Some(symbol) = params.get("symbol") else {
        return mandatory("symbol");
    };
    let price = if let Some(spec) = ex.symbol(symbol) {
        let last = ex
            .trades()
            .rev()
            .find(|t| &t.symbol == symbol)
            .map(|t| t.price);
        let book = ex.book(symbol);
        let top = || {
            let book = book?;
            book.bids()
                .first()
                .or_else(|| book.asks().first())
                .map(|l| l.price)
        };
        last.or_else(top)
            .map(|price| price.to_text(spec.price_scale))
    } else {
        ex.fee_discount().and_then(|d| {
            let quote = symbol.strip_prefix(d.asset.as_str())?;
            // Priced against a quote asset some listed symbol trades in, at that asset's digits.
            ex.symbols().iter().find(|s| s.quote == quote)?;
            let digits = ex.asset_digits(quote);
            let units = d
                .quote_units_per_unit
                .checked_mul(10u128.checked_pow(u32::from(ex.asset_digits(&d.asset)))?)?;
            Some(units_text(units, digits))
        })
    };
    match price {
        Some(price) => HttpResponse::json(
            200,
            serde_json::json!({ "symbol": symbol, "price": price }).to_string(),
        ),
        None => error(400, -1121, "Invalid symbol."),
    }
}

fn commission(ex: &Exchange, account: &str, params: &HashMap<String, String>) -> HttpResponse {
    let Some((symbol, _)) = symbol_param(ex, params) else {
        return error(400, -1121, "Invalid symbol.");
    };
    let Some(fees) = ex.fees(account) else {
        return error(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        );
    };
    let zero = "0.00000000";
    // "Use BNB to pay for fees" is on for the account where the exchange charges fees so.
    let (enabled, asset, factor) = ex.fee_discount().map_or_else(
        || (false, "BNB".to_owned(), Rate(75_000_000)),
        |d| (true, d.asset.clone(), d.discount),
    );
    HttpResponse::json(
        200,
        serde_json::json!({
            "symbol": symbol,
            "standardCommission": {"maker": rate_text(fees.maker), "taker": rate_text(fees.taker), "buyer": zero, "seller": zero},
            "specialCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "taxCommission": {"maker": zero, "taker": zero, "buyer": zero, "seller": zero},
            "discount": {"enabledForAccount": enabled, "enabledForSymbol": enabled, "discountAsset": asset, "discount": rate_text(factor)},
        })
        .to_string(),
    )
}

fn new_order(
    ex: &mut Exchange,
    account: &str,
    params: &HashMap<String, String>,
    now_ms: u64,
) -> HttpResponse {
    let Some((symbol, spec)) = symbol_param(ex, params) else {
        return error(400, -1121, "Invalid symbol.");
    };
    let spec = spec.clone();
    let side = match params.get("side").map(String::as_str) {
        Some("BUY") => OrderSide::Buy,
        Some("SELL") => OrderSide::Sell,
        Some(_) => return error(400, -1117, "Invalid side."),
        None => return mandatory("side"),
    };
    match params.get("type").map(String::as_str) {
        Some("LIMIT") => {}
        Some(_) => return error(400, -1116, "Invalid orderType."),
        None => return mandatory("type"),
    }
    let tif = match params.get("timeInForce").map(String::as_str) {
        Some("GTC") => Tif::Gtc,
        Some("IOC") => Tif::Ioc,
        Some(_) => return error(400, -1115, "Invalid timeInForce."),
        None => return mandatory("timeInForce"),
    };
    let (Some(size), Some(limit)) = (params.get("quantity"), params.get("price")) else {
        return mandatory(if params.contains_key("quantity") {
            "price"
        } else {
            "quantity"
        });
    };
    let (Ok(size), Ok(limit)) = (
        Fixed::parse(size.as_bytes(), spec.size_scale),
        Fixed::parse(limit.as_bytes(), spec.price_scale),
    ) else {
        return error(400, -1111, "Parameter 'quantity' has too much precision.");
    };
    let client_id = params
        .get("newClientOrderId")
        .cloned()
        .unwrap_or_else(|| format!("sim-{now_ms}"));
    let order = NewOrder {
        symbol,
        side,
        size,
        limit,
        tif,
        client_id,
    };
    match ex.place(account, order, now_ms) {
        Ok(order) => HttpResponse::json(200, order_json(ex, &spec, &order, true).to_string()),
        Err(reject) => reject_order(&reject, "place"),
    }
}

fn order_ref(params: &HashMap<String, String>) -> Option<OrderRef> {
    if let Some(id) = params.get("orderId").and_then(|v| v.parse().ok()) {
        return Some(OrderRef::Id(id));
    }
    params
        .get("origClientOrderId")
        .cloned()
        .map(OrderRef::Client)
}

fn cancel_order(
    ex: &mut Exchange,
    account: &str,
    params: &HashMap<String, String>,
) -> HttpResponse {
    let Some((symbol, spec)) = symbol_param(ex, params) else {
        return error(400, -1121, "Invalid symbol.");
    };
    let spec = spec.clone();
    let Some(by) = order_ref(params) else {
        return error(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        );
    };
    match ex.cancel(account, &symbol, by) {
        Ok(order) => HttpResponse::json(200, order_json(ex, &spec, &order, false).to_string()),
        Err(reject) => reject_order(&reject, "cancel"),
    }
}

fn query_order(ex: &Exchange, account: &str, params: &HashMap<String, String>) -> HttpResponse {
    let Some((symbol, spec)) = symbol_param(ex, params) else {
        return error(400, -1121, "Invalid symbol.");
    };
    let Some(by) = order_ref(params) else {
        return error(
            400,
            -1102,
            "Param 'origClientOrderId' or 'orderId' must be sent, but both were empty/null!",
        );
    };
    match ex.order(account, &symbol, &by) {
        Some(order) => HttpResponse::json(200, order_json(ex, spec, order, false).to_string()),
        None => error(400, -2013, "Order does not exist."),
    }
}

/// Trades a `myTrades` answer holds at most (`limit`: 500 by default).
const MAX_TRADES_LIMIT: u64 = 1_000;

/// `startTime` and `endTime` at most this far apart.
const TRADES_WINDOW_MS: u64 = 24 * 60 * 60 * 1_000;

/// `GET /api/v3/myTrades` ("Account trade list"): the account's trades on `symbol`, oldest
/// first, each one fill of one of its orders at the book level's price and size, with the
/// commission the engine charged on it. The trades are those of the orders the engine still
/// knows (open, and the last [`CLOSED_HISTORY`](crate::engine::CLOSED_HISTORY) closed); a
/// taker fill's time is its order's.
///
/// As rest-api.md documents: with `orderId`, that order's trades only (an order it does not
/// know has none: an empty list); with `fromId`, the first `limit` trades with ids from it on;
/// with `startTime` and/or `endTime` (at most 24 hours apart, `-1127` beyond), the trades in
/// that window, the first `limit` from `startTime`, else the last; with none of these, the
/// latest `limit`. `limit` is 1 to 1000, 500 when absent. `orderId` or `fromId` beside a time
/// bound is not a documented combination: `-1128`. A parameter that is not a number: `-1100`.
fn my_trades(ex: &Exchange, account: &str, params: &HashMap<String, String>) -> HttpResponse {
    let Some(symbol) = params.get("symbol") else {
        return mandatory("symbol");
    };
    let Some(spec) = ex.symbol(symbol) else {
        return error(400, -1121, "Invalid symbol.");
    };
    let number = |name: &str| {
        candles::number(params, name).map_err(|()| {
            error(
                400,
                -1100,
                &format!("Illegal characters found in parameter '{name}'; legal range is '^[0-9]{{1,20}}$'."),
            )
        })
    };
    let parsed = (|| -> Result<_, HttpResponse> {
        Ok((
            number("orderId")?,
            number("fromId")?,
            number("startTime")?,
            number("endTime")?,
            number("limit")?.unwrap_or(500),
        ))
    })();
    let (order_id, from_id, start, end, limit) = match parsed {
        Ok(parsed) => parsed,
        Err(refusal) => return refusal,
    };
    let timed = start.is_some() || end.is_some();
    if timed && (order_id.is_some() || from_id.is_some()) {
        return error(400, -1128, "Combination of optional parameters invalid.");
    }
    if let (Some(s), Some(e)) = (start, end)
        && e.saturating_sub(s) > TRADES_WINDOW_MS
    {
        return error(
            400,
            -1127,
            "More than 24 hours between startTime and endTime.",
        );
    }
    if !(1..=MAX_TRADES_LIMIT).contains(&limit) {
        return error(400, -1130, "Invalid data sent for a parameter.");
    }
    let mut trades: Vec<(&Order, &Fill)> = ex
        .orders(account, symbol)
        .into_iter()
        .filter(|o| order_id.is_none_or(|id| o.id == id))
        .filter(|o| {
            start.is_none_or(|s| o.created_ms >= s) && end.is_none_or(|e| o.created_ms <= e)
        })
        .flat_map(|o| o.fills.iter().map(move |f| (o, f)))
        .filter(|(_, f)| from_id.is_none_or(|from| f.trade_id >= from))
        .collect();
    trades.sort_by_key(|(_, f)| f.trade_id);
    let count = candles::count(limit).min(trades.len());
    // The first `limit` from a lower bound, else the latest.
    let page = if from_id.is_some() || start.is_some() {
        &trades[..count]
    } else {
        &trades[trades.len() - count..]
    };
    let rows: Vec<serde_json::Value> = page
        .iter()
        .map(|(order, fill)| trade_json(ex, spec, order, fill))
        .collect();
    HttpResponse::json(200, serde_json::Value::Array(rows).to_string())
}

/// The asset a fill's fee is charged in and the digits its amount is written with.
fn fee_asset<'a>(ex: &'a Exchange, spec: &'a SymbolSpec, fill: &Fill) -> (&'a str, u8) {
    if fill.discounted
        && let Some(d) = ex.fee_discount()
    {
        return (d.asset.as_str(), ex.asset_digits(&d.asset));
    }
    match fill.fee_asset {
        FeeAsset::Base => (spec.base.as_str(), spec.size_scale.digits()),
        FeeAsset::Quote => (spec.quote.as_str(), notional_digits(spec)),
    }
}

/// One `myTrades` row.
fn trade_json(ex: &Exchange, spec: &SymbolSpec, order: &Order, fill: &Fill) -> serde_json::Value {
    let notional_digits = notional_digits(spec);
    let (asset, digits) = fee_asset(ex, spec, fill);
    let notional = u128::from(fill.price.0) * u128::from(fill.size.0);
    serde_json::json!({
        "symbol": order.symbol,
        "id": fill.trade_id,
        "orderId": order.id,
        "orderListId": -1,
        "price": fill.price.to_text(spec.price_scale),
        "qty": fill.size.to_text(spec.size_scale),
        "quoteQty": units_text(notional, notional_digits),
        "commission": units_text(fill.fee, digits),
        "commissionAsset": asset,
        "time": order.created_ms,
        "isBuyer": order.side == OrderSide::Buy,
        "isMaker": fill.liquidity == Liquidity::Maker,
        "isBestMatch": true,
    })
}

fn mandatory(name: &str) -> HttpResponse {
    error(
        400,
        -1102,
        &format!("Mandatory parameter '{name}' was not sent, was empty/null, or malformed."),
    )
}

fn reject_order(reject: &Reject, action: &str) -> HttpResponse {
    match reject {
        Reject::UnknownSymbol => error(400, -1121, "Invalid symbol."),
        Reject::UnknownAccount => error(
            401,
            -2015,
            "Invalid API-key, IP, or permissions for action.",
        ),
        Reject::InsufficientBalance => error(
            400,
            -2010,
            "Account has insufficient balance for requested action.",
        ),
        Reject::BadTick => error(400, -1013, "Filter failure: PRICE_FILTER"),
        Reject::BadLot | Reject::BelowMinSize => error(400, -1013, "Filter failure: LOT_SIZE"),
        Reject::BelowMinNotional => error(400, -1013, "Filter failure: NOTIONAL"),
        Reject::DuplicateClientId => error(400, -2010, "Duplicate order sent."),
        Reject::UnknownOrder | Reject::NotOpen if action == "cancel" => {
            error(400, -2011, "Unknown order sent.")
        }
        Reject::UnknownOrder | Reject::NotOpen => error(400, -2013, "Order does not exist."),
        Reject::Injected { code, message } => {
            let status = match code {
                -1007 => 503,
                -1003 | -1015 => 429,
                _ => 400,
            };
            error(status, *code, message)
        }
    }
}

fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New => "NEW",
        OrderStatus::PartiallyFilled => "PARTIALLY_FILLED",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Canceled => "CANCELED",
        OrderStatus::Expired => "EXPIRED",
    }
}

/// The order as Binance answers it (`newOrderRespType=FULL` adds the fills).
fn order_json(
    ex: &Exchange,
    spec: &SymbolSpec,
    order: &Order,
    with_fills: bool,
) -> serde_json::Value {
    let notional_digits = notional_digits(spec);
    let mut value = serde_json::json!({
        "symbol": order.symbol,
        "orderId": order.id,
        "orderListId": -1,
        "clientOrderId": order.client_id,
        "transactTime": order.created_ms,
        "time": order.created_ms,
        "updateTime": order.created_ms,
        "price": order.limit.to_text(spec.price_scale),
        "origQty": order.size.to_text(spec.size_scale),
        "executedQty": order.filled.to_text(spec.size_scale),
        "cummulativeQuoteQty": units_text(order.notional, notional_digits),
        "status": status_text(order.status),
        "timeInForce": match order.tif { Tif::Gtc => "GTC", Tif::Ioc => "IOC" },
        "type": "LIMIT",
        "side": match order.side { OrderSide::Buy => "BUY", OrderSide::Sell => "SELL" },
        "workingTime": order.created_ms,
        "selfTradePreventionMode": "EXPIRE_MAKER",
    });
    if with_fills {
        let fills: Vec<serde_json::Value> = order
            .fills
            .iter()
            .map(|fill| {
                let (asset, digits) = fee_asset(ex, spec, fill);
                serde_json::json!({
                    "price": fill.price.to_text(spec.price_scale),
                    "qty": fill.size.to_text(spec.size_scale),
                    "commission": units_text(fill.fee, digits),
                    "commissionAsset": asset,
                    "tradeId": fill.trade_id,
                })
            })
            .collect();
        value["fills"] = serde_json::Value::Array(fills);
    }
    value
}
