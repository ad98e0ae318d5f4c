//! Coinbase Advanced Trade, simulated (docs.cdp.coinbase.com, "Advanced Trade API"): the REST
//! endpoints Kestrel uses, each private request checked with [`verify_coinbase`] (an ES256 JWT
//! whose `uri` claim names the `Host` the request was sent to), and the market-data
//! WebSocket's `level2` and `heartbeats` channels.
//!
//! REST: Create Order takes `sor_limit_ioc` and `limit_limit_gtc` configurations and answers
//! HTTP 200 `{"success":true,"success_response":{..}}` or `{"success":false,"error_response":
//! {..}}` with Coinbase's failure reasons; a `client_order_id` already used returns the order
//! placed with it, as Coinbase documents. Orders are found and cancelled by Coinbase's
//! `order_id` (a UUID here made from the engine's id). Other refusals are 4xx/5xx with
//! `{"error":..,"message":..}`; any authentication failure is HTTP 401 `Unauthorized`.
//! Fees are read as quote amounts: configure the exchange with [`FeeAsset::Quote`], as
//! Coinbase charges.
//!
//! WebSocket (any path of the host, as `wss://advanced-trade-ws.coinbase.com`): a `subscribe`
//! to `level2` sends each product's `snapshot` (the whole book) on channel `l2_data`, then the
//! `subscriptions` message; later changes arrive as `update` events with the levels' new
//! sizes, in the order they happened. Every message of a connection carries the next
//! `sequence_num` (from 0), whatever its channel; a `Gap` fault skips one. `heartbeats` are
//! sent at most once a second, piggybacked on book publications (the server calls
//! [`Front::publish`] only when a book changed): a quiet market sends none.
//!
//! Coinbase sends no checksum, so the `BadChecksum` fault changes nothing here.
//!
//! **Invariant:** a session receives every update of a product after its snapshot, and none
//! before it: its subscription is kept as `level2:PRODUCT#n`, the number of the product's next
//! publication, so an update computed before the snapshot never matches and
//! [`CoinbaseFront::deliver`] moves the marker on. [`WsSession::seq`] is the connection's next
//! `sequence_num`.

use std::collections::HashMap;

use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_types::cex::{BookSide, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::auth::{
    CoinbaseRequest, CoinbaseVerifyKey, HttpMethod, format_okx_timestamp, verify_coinbase,
    verify_coinbase_ws,
};
use serde_json::{Value, json};

use crate::candles;
use crate::engine::{
    Exchange, FeeAsset, Keep, NewOrder, Order, OrderRef, OrderStatus, Reject, SymbolSpec, Tif,
};
use crate::http::{HttpRequest, HttpResponse, form_pairs};
use crate::server::{Faults, Front, Publication, WsSession};

/// The REST API's prefix.
const API: &str = "/api/v3/brokerage";
/// Coinbase order ids are UUIDs: the engine's id in the last 48 bits of this one.
const ORDER_ID_PREFIX: &str = "c0ffee00-0000-4000-8000-";
/// Accounts per page by default, and at most (List Accounts).
const ACCOUNTS_PAGE: usize = 49;
const ACCOUNTS_PAGE_MAX: usize = 250;
/// Heartbeats come once a second.
const HEARTBEAT_EVERY_MS: u64 = 1_000;
/// Longest `client_order_id` accepted.
const MAX_CLIENT_ID: usize = 128;

/// The Coinbase front over one exchange.
#[derive(Debug)]
pub struct CoinbaseFront {
    keys: Vec<CoinbaseVerifyKey>,
    /// Each product's publications so far: the `n` of its last `level2:PRODUCT#n`.
    published: HashMap<String, u64>,
    heartbeat_counter: u64,
    last_heartbeat_ms: u64,
}

impl CoinbaseFront {
    /// A front accepting JWTs signed by these CDP keys (each key's name is its account's name
    /// in the exchange).
    pub fn new(keys: Vec<CoinbaseVerifyKey>) -> CoinbaseFront {
        CoinbaseFront {
            keys,
            published: HashMap::new(),
            heartbeat_counter: 0,
            last_heartbeat_ms: 0,
        }
    }
}

impl Front for CoinbaseFront {
    fn venue(&self) -> Venue {
        Venue::Coinbase
    }

    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
        let Some(route) = request.path.strip_prefix(API) else {
            return not_found("Not Found");
        };
        let method = request.method.as_str();
        if method == "GET"
            && let Some(product) = route.strip_prefix("/market/products/")
        {
            return match product.strip_suffix("/candles") {
                Some(product) => product_candles(ex, product, &request.query),
                None => product_info(ex, product),
            };
        }
        if (method, route) == ("GET", "/time") {
            return server_time(now_ms);
        }
        if !is_private_route(method, route) {
            return not_found("Not Found");
        }
        let Some(account) = self.authenticate(request, now_ms) else {
            return unauthorized();
        };
        let body: Value = serde_json::from_slice(&request.body).unwrap_or(Value::Null);
        let query: HashMap<String, String> = form_pairs(&request.query).into_iter().collect();
        match (method, route) {
            ("POST", "/orders") => create_order(ex, &account, &body, now_ms),
            ("POST", "/orders/batch_cancel") => batch_cancel(ex, &account, &body),
            ("GET", "/accounts") => accounts(ex, &account, &query),
            ("GET", "/transaction_summary") => transaction_summary(ex, &account),
            ("GET", path) => match path.strip_prefix("/orders/historical/") {
                Some(id) => get_order(ex, &account, id),
                None => product_info(ex, path.trim_start_matches("/products/")),
            },
            _ => not_found("Not Found"),
        }
    }

    fn ws_open(
        &mut self,
        _ex: &Exchange,
        _request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse> {
        // Nothing is sent until the first subscribe.
        Ok((WsSession::default(), Vec::new()))
    }

    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
        let request: Value = serde_json::from_str(text).unwrap_or(Value::Null);
        let kind = request.get("type").and_then(Value::as_str).unwrap_or("");
        let channel = request.get("channel").and_then(Value::as_str).unwrap_or("");
        let products: Vec<String> = request
            .get("product_ids")
            .and_then(Value::as_array)
            .map(|a| {
                a.iter()
                    .filter_map(|p| p.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        if let Some(jwt) = request.get("jwt").and_then(Value::as_str)
            && !self.jwt_ok(jwt)
        {
            return vec![ws_error("authentication failure")];
        }
        match (kind, channel) {
            ("subscribe" | "unsubscribe", "") => vec![ws_error("channel is required")],
            ("subscribe", "level2") => self.subscribe_level2(ex, session, &products),
            ("unsubscribe", "level2") => {
                for product in &products {
                    if let Some(marker) = level2_marker(session, product) {
                        session.topics.remove(&marker);
                    }
                }
                vec![subscriptions(session)]
            }
            ("subscribe", "heartbeats") => {
                session.topics.insert("heartbeats".to_string());
                vec![subscriptions(session)]
            }
            ("unsubscribe", "heartbeats") => {
                session.topics.remove("heartbeats");
                vec![subscriptions(session)]
            }
            ("subscribe" | "unsubscribe", other) => vec![ws_error(&format!(
                "Failed to subscribe: channel {other} is not simulated"
            ))],
            _ => vec![ws_error("type must be subscribe or unsubscribe")],
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
        let now_ms = LiveClock.unix_ms();
        let time = rfc3339(now_ms);
        let published = self.published.entry(symbol.to_string()).or_insert(0);
        *published += 1;
        let skip = if faults.gaps > 0 {
            faults.gaps -= 1;
            1
        } else {
            0
        };
        let updates: Vec<Value> = deltas
            .iter()
            .map(|&(side, price, size)| level(spec, side, price, size, &time))
            .collect();
        let events = json!([{"type": "update", "product_id": symbol, "updates": updates}]);
        let mut out = vec![Publication {
            topic: format!("level2:{symbol}#{published}"),
            text: envelope_template(skip, "l2_data", &time, &events),
        }];
        if now_ms.saturating_sub(self.last_heartbeat_ms) >= HEARTBEAT_EVERY_MS {
            self.last_heartbeat_ms = now_ms;
            self.heartbeat_counter += 1;
            let events = json!([{"current_time": go_time(&time),
                                 "heartbeat_counter": self.heartbeat_counter.to_string()}]);
            out.push(Publication {
                topic: "heartbeats".to_string(),
                text: envelope_template(0, "heartbeats", &time, &events),
            });
        }
        out
    }

    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
        // A level2 session held `level2:PRODUCT#n` (the server only delivers what it holds):
        // it now waits for `#n+1`.
        if let Some((name, n)) = publication.topic.rsplit_once('#')
            && let Ok(n) = n.parse::<u64>()
        {
            session.topics.remove(&publication.topic);
            session.topics.insert(format!("{name}#{}", n + 1));
        }
        let (skip, channel, time, events) = split_template(&publication.text);
        session.seq += skip;
        envelope(session, channel, time, events)
    }
}

impl CoinbaseFront {
    /// The account (key name) whose key verifies the request's bearer token.
    fn authenticate(&self, request: &HttpRequest, now_ms: u64) -> Option<String> {
        let method = match request.method.as_str() {
            "GET" => HttpMethod::Get,
            "PUT" => HttpMethod::Put,
            "DELETE" => HttpMethod::Delete,
            _ => HttpMethod::Post,
        };
        let signed = CoinbaseRequest {
            authorization: request.header("authorization"),
            method,
            host: request.header("host").unwrap_or_default(),
            path: &request.path,
        };
        self.keys
            .iter()
            .find(|key| verify_coinbase(&signed, key, now_ms / 1_000).is_ok())
            .map(|key| key.key_name().to_string())
    }

    /// Whether a subscribe message's `jwt` is valid for one of the keys.
    fn jwt_ok(&self, jwt: &str) -> bool {
        let now_s = LiveClock.unix_ms() / 1_000;
        self.keys
            .iter()
            .any(|key| verify_coinbase_ws(jwt, key, now_s).is_ok())
    }

    /// Each product's snapshot, then the `subscriptions` message. A product already subscribed
    /// gets a new snapshot (how a client rebuilds a book after a gap).
    fn subscribe_level2(
        &mut self,
        ex: &Exchange,
        session: &mut WsSession,
        products: &[String],
    ) -> Vec<String> {
        if products.is_empty() {
            return vec![ws_error("Failed to subscribe: product_ids are required")];
        }
        if let Some(unknown) = products.iter().find(|p| ex.symbol(p).is_none()) {
            return vec![ws_error(&format!(
                "Failed to subscribe: product {unknown} not found"
            ))];
        }
        let time = rfc3339(LiveClock.unix_ms());
        let mut out = Vec::with_capacity(products.len() + 1);
        for product in products {
            if let Some(marker) = level2_marker(session, product) {
                session.topics.remove(&marker);
            }
            let next = self.published.get(product).copied().unwrap_or(0) + 1;
            session.topics.insert(format!("level2:{product}#{next}"));
            let events = json!([snapshot_event(ex, product, &time)]);
            out.push(envelope(session, "l2_data", &time, &events.to_string()));
        }
        out.push(subscriptions(session));
        out
    }
}

// ---------------------------------------------------------------------------------------------
// WebSocket messages
// ---------------------------------------------------------------------------------------------

/// A publication's text before a session numbers it: `skip|channel|time|events`, where `skip`
/// is how many sequence numbers an injected gap skips first.
fn envelope_template(skip: u64, channel: &str, time: &str, events: &Value) -> String {
    format!("{skip}|{channel}|{time}|{events}")
}

fn split_template(text: &str) -> (u64, &str, &str, &str) {
    let mut parts = text.splitn(4, '|');
    let skip = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let channel = parts.next().unwrap_or_default();
    let time = parts.next().unwrap_or_default();
    (skip, channel, time, parts.next().unwrap_or("[]"))
}

/// One message with the connection's next `sequence_num`.
fn envelope(session: &mut WsSession, channel: &str, time: &str, events: &str) -> String {
    let sequence_num = session.seq;
    session.seq += 1;
    format!(
        r#"{{"channel":"{channel}","client_id":"","timestamp":"{time}","sequence_num":{sequence_num},"events":{events}}}"#
    )
}

/// `{"type":"error","message":..}`: errors carry no envelope and no sequence number.
fn ws_error(message: &str) -> String {
    json!({"type": "error", "message": message}).to_string()
}

/// The session's `level2:PRODUCT#n` marker, if subscribed.
fn level2_marker(session: &WsSession, product: &str) -> Option<String> {
    let prefix = format!("level2:{product}#");
    session
        .topics
        .iter()
        .find(|t| t.starts_with(&prefix))
        .cloned()
}

/// The `subscriptions` message: what the connection is subscribed to now.
fn subscriptions(session: &mut WsSession) -> String {
    let mut level2: Vec<&str> = session
        .topics
        .iter()
        .filter_map(|t| t.strip_prefix("level2:"))
        .filter_map(|t| t.rsplit_once('#').map(|(product, _)| product))
        .collect();
    level2.sort_unstable();
    let mut subscribed = serde_json::Map::new();
    if !level2.is_empty() {
        subscribed.insert("level2".to_string(), json!(level2));
    }
    if session.topics.contains("heartbeats") {
        subscribed.insert("heartbeats".to_string(), json!(["heartbeats"]));
    }
    let events = json!([{ "subscriptions": subscribed }]).to_string();
    let time = rfc3339(LiveClock.unix_ms());
    envelope(session, "subscriptions", &time, &events)
}

/// A product's whole book as a `snapshot` event.
fn snapshot_event(ex: &Exchange, product: &str, time: &str) -> Value {
    let (Some(spec), Some(book)) = (ex.symbol(product), ex.book(product)) else {
        return json!({"type": "snapshot", "product_id": product, "updates": []});
    };
    let updates: Vec<Value> = [BookSide::Bid, BookSide::Ask]
        .into_iter()
        .flat_map(|side| book.side(side).iter().map(move |l| (side, l)))
        .map(|(side, l)| level(spec, side, l.price, l.size, time))
        .collect();
    json!({"type": "snapshot", "product_id": product, "updates": updates})
}

fn level(spec: &SymbolSpec, side: BookSide, price: Fixed, size: Fixed, time: &str) -> Value {
    json!({
        "side": match side { BookSide::Bid => "bid", BookSide::Ask => "offer" },
        "event_time": time,
        "price_level": price.to_text(spec.price_scale),
        "new_quantity": size.to_text(spec.size_scale),
    })
}

/// RFC 3339 with milliseconds (`2024-05-01T12:00:00.123Z`).
fn rfc3339(unix_ms: u64) -> String {
    format_okx_timestamp(unix_ms)
        .map(|t| t.as_str().to_string())
        .unwrap_or_default()
}

/// A heartbeat's `current_time`, which Coinbase writes in Go's default time format
/// (`2024-05-01 12:00:00.123 +0000 UTC`).
fn go_time(rfc3339: &str) -> String {
    format!(
        "{} +0000 UTC",
        rfc3339.replacen('T', " ", 1).trim_end_matches('Z')
    )
}

// ---------------------------------------------------------------------------------------------
// REST
// ---------------------------------------------------------------------------------------------

fn is_private_route(method: &str, route: &str) -> bool {
    match method {
        "POST" => matches!(route, "/orders" | "/orders/batch_cancel"),
        "GET" => {
            matches!(route, "/accounts" | "/transaction_summary")
                || route.starts_with("/orders/historical/")
                || route.starts_with("/products/")
        }
        _ => false,
    }
}

/// Every authentication failure: HTTP 401 with the text `Unauthorized`.
fn unauthorized() -> HttpResponse {
    HttpResponse::json(401, "Unauthorized")
}

/// A 4xx/5xx refusal: `{"error":..,"error_details":..,"message":..}`.
fn api_error(status: u16, error: &str, message: &str) -> HttpResponse {
    HttpResponse::json(
        status,
        json!({"error": error, "error_details": message, "message": message}).to_string(),
    )
}

fn not_found(message: &str) -> HttpResponse {
    api_error(404, "NOT_FOUND", message)
}

fn server_time(now_ms: u64) -> HttpResponse {
    HttpResponse::json(
        200,
        json!({"iso": rfc3339(now_ms), "epochSeconds": (now_ms / 1_000).to_string(),
               "epochMillis": now_ms.to_string()})
        .to_string(),
    )
}

/// The engine's order id as Coinbase's UUID.
pub fn order_uuid(id: u64) -> String {
    format!("{ORDER_ID_PREFIX}{id:012x}")
}

/// The engine's id in a Coinbase order UUID.
fn order_id(uuid: &str) -> Option<u64> {
    let hex = uuid.strip_prefix(ORDER_ID_PREFIX)?;
    (hex.len() == 12)
        .then(|| u64::from_str_radix(hex, 16).ok())
        .flatten()
}

/// An account's order by Coinbase id, whatever its product.
fn find_order<'a>(ex: &'a Exchange, account: &str, uuid: &str) -> Option<&'a Order> {
    let by = OrderRef::Id(order_id(uuid)?);
    ex.symbols()
        .iter()
        .find_map(|s| ex.order(account, &s.symbol, &by))
}

/// Why an order was not created: `error_response`'s fields.
struct Failure {
    error: &'static str,
    message: &'static str,
    preview: &'static str,
    new_order: &'static str,
}

impl Failure {
    const fn new(error: &'static str, message: &'static str, preview: &'static str) -> Failure {
        Failure {
            error,
            message,
            preview,
            new_order: error,
        }
    }
}

fn create_order(ex: &mut Exchange, account: &str, body: &Value, now_ms: u64) -> HttpResponse {
    let config = body
        .get("order_configuration")
        .cloned()
        .unwrap_or(json!({}));
    let Some(client_id) = body.get("client_order_id").and_then(Value::as_str) else {
        return api_error(400, "INVALID_ARGUMENT", "client_order_id is required");
    };
    if client_id.is_empty() || client_id.len() > MAX_CLIENT_ID {
        return api_error(400, "INVALID_ARGUMENT", "client_order_id is invalid");
    }
    let order = match new_order(ex, body, client_id) {
        Ok(order) => order,
        Err(failure) => return refused(&failure, &config),
    };
    let client_id = order.client_id.clone();
    match ex.place(account, order, now_ms) {
        Ok(order) => created(&order, &config),
        // A `client_order_id` already used: Coinbase creates nothing and returns that order.
        Err(Reject::DuplicateClientId) => {
            let by = OrderRef::Client(client_id);
            match ex
                .symbols()
                .iter()
                .find_map(|s| ex.order(account, &s.symbol, &by))
            {
                Some(order) => created(order, &config),
                None => api_error(500, "INTERNAL", "duplicate client_order_id"),
            }
        }
        Err(reject) => refuse(&reject, &config),
    }
}

/// The order a Create Order body asks for, or why Coinbase would refuse it.
fn new_order(ex: &Exchange, body: &Value, client_id: &str) -> Result<NewOrder, Failure> {
    let invalid_product = Failure::new(
        "INVALID_PRODUCT_ID",
        "Invalid product_id",
        "PREVIEW_INVALID_PRODUCT_ID",
    );
    let spec = body
        .get("product_id")
        .and_then(Value::as_str)
        .and_then(|p| ex.symbol(p))
        .ok_or(invalid_product)?;
    let side = match body.get("side").and_then(Value::as_str) {
        Some("BUY") => OrderSide::Buy,
        Some("SELL") => OrderSide::Sell,
        _ => {
            return Err(Failure::new(
                "INVALID_SIDE",
                "Invalid side",
                "PREVIEW_INVALID_SIDE",
            ));
        }
    };
    let configs = body.get("order_configuration").and_then(Value::as_object);
    let unsupported = Failure::new(
        "UNSUPPORTED_ORDER_CONFIGURATION",
        "Unsupported order configuration",
        "PREVIEW_INVALID_ORDER_CONFIG",
    );
    let (tif, config) = match configs.and_then(|c| c.iter().next()) {
        Some((name, config)) if configs.is_some_and(|c| c.len() == 1) => match name.as_str() {
            "sor_limit_ioc" => (Tif::Ioc, config),
            "limit_limit_gtc" => (Tif::Gtc, config),
            _ => return Err(unsupported),
        },
        _ => return Err(unsupported),
    };
    let text = |name: &str| config.get(name).and_then(Value::as_str).unwrap_or_default();
    let size = Fixed::parse(text("base_size").as_bytes(), spec.size_scale).map_err(|_| {
        Failure::new(
            "INVALID_SIZE_PRECISION",
            "Invalid base_size",
            "PREVIEW_INVALID_SIZE_PRECISION",
        )
    })?;
    let limit = Fixed::parse(text("limit_price").as_bytes(), spec.price_scale).map_err(|_| {
        Failure::new(
            "INVALID_PRICE_PRECISION",
            "Invalid limit_price",
            "PREVIEW_INVALID_PRICE_PRECISION",
        )
    })?;
    let post_only = config.get("post_only").and_then(Value::as_bool) == Some(true);
    if post_only && crosses(ex, &spec.symbol, side, limit) {
        return Err(Failure::new(
            "INVALID_LIMIT_PRICE_POST_ONLY",
            "Post-only order would take liquidity",
            "PREVIEW_INVALID_LIMIT_PRICE_POST_ONLY",
        ));
    }
    Ok(NewOrder {
        symbol: spec.symbol.clone(),
        side,
        size,
        limit,
        tif,
        client_id: client_id.to_string(),
    })
}

/// Whether a limit order would take liquidity now.
fn crosses(ex: &Exchange, symbol: &str, side: OrderSide, limit: Fixed) -> bool {
    let Some(book) = ex.book(symbol) else {
        return false;
    };
    match side {
        OrderSide::Buy => book.best_ask().is_some_and(|l| l.price <= limit),
        OrderSide::Sell => book.best_bid().is_some_and(|l| l.price >= limit),
    }
}

fn side_text(side: OrderSide) -> &'static str {
    match side {
        OrderSide::Buy => "BUY",
        OrderSide::Sell => "SELL",
    }
}

fn created(order: &Order, config: &Value) -> HttpResponse {
    let id = order_uuid(order.id);
    HttpResponse::json(
        200,
        json!({
            "success": true, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": id,
            "success_response": {"order_id": id, "product_id": order.symbol,
                                 "side": side_text(order.side), "client_order_id": order.client_id},
            "order_configuration": config,
        })
        .to_string(),
    )
}

/// `{"success":false,"error_response":{..}}`, HTTP 200.
fn refused(failure: &Failure, config: &Value) -> HttpResponse {
    HttpResponse::json(
        200,
        json!({
            "success": false, "failure_reason": "UNKNOWN_FAILURE_REASON", "order_id": "",
            "error_response": {"error": failure.error, "message": failure.message,
                               "error_details": "", "preview_failure_reason": failure.preview,
                               "new_order_failure_reason": failure.new_order},
            "order_configuration": config,
        })
        .to_string(),
    )
}

/// An engine refusal as Coinbase answers it.
fn refuse(reject: &Reject, config: &Value) -> HttpResponse {
    const UNKNOWN: &str = "UNKNOWN_FAILURE_REASON";
    let failure = match reject {
        Reject::UnknownSymbol => Failure::new(
            "INVALID_PRODUCT_ID",
            "Invalid product_id",
            "PREVIEW_INVALID_PRODUCT_ID",
        ),
        Reject::UnknownAccount => return unauthorized(),
        Reject::InsufficientBalance => Failure {
            error: "INSUFFICIENT_FUND",
            message: "Insufficient balance in source account",
            preview: "PREVIEW_INSUFFICIENT_FUND",
            new_order: UNKNOWN,
        },
        Reject::BadTick => Failure::new(
            "INVALID_PRICE_PRECISION",
            "Invalid limit_price",
            "PREVIEW_INVALID_PRICE_PRECISION",
        ),
        Reject::BadLot => Failure::new(
            "INVALID_SIZE_PRECISION",
            "Invalid base_size",
            "PREVIEW_INVALID_SIZE_PRECISION",
        ),
        Reject::BelowMinSize => Failure {
            error: UNKNOWN,
            message: "base_size is too small",
            preview: "PREVIEW_INVALID_BASE_SIZE_TOO_SMALL",
            new_order: UNKNOWN,
        },
        Reject::BelowMinNotional => Failure {
            error: UNKNOWN,
            message: "order value is too small",
            preview: "PREVIEW_INVALID_QUOTE_SIZE_TOO_SMALL",
            new_order: UNKNOWN,
        },
        // Handled by the caller (Coinbase returns the existing order); the rest cannot come
        // from placing.
        Reject::DuplicateClientId | Reject::UnknownOrder | Reject::NotOpen => {
            return api_error(500, "INTERNAL", "unexpected refusal");
        }
        Reject::Injected { code, message } => return injected(*code, message),
    };
    refused(&failure, config)
}

/// An injected refusal: `code` is the HTTP status (429, 500, 503, ...), `message` the text.
fn injected(code: i64, message: &str) -> HttpResponse {
    let status = u16::try_from(code)
        .ok()
        .filter(|s| (400..600).contains(s))
        .unwrap_or(400);
    let error = match status {
        401 => "UNAUTHENTICATED",
        403 => "PERMISSION_DENIED",
        404 => "NOT_FOUND",
        429 => "RATE_LIMIT_EXCEEDED",
        500 => "INTERNAL",
        503 => "UNAVAILABLE",
        504 => "DEADLINE_EXCEEDED",
        _ => "INVALID_ARGUMENT",
    };
    api_error(status, error, message)
}

/// Cancel Orders: one result per id, in order.
fn batch_cancel(ex: &mut Exchange, account: &str, body: &Value) -> HttpResponse {
    let Some(ids) = body.get("order_ids").and_then(Value::as_array) else {
        return api_error(400, "INVALID_ARGUMENT", "order_ids is required");
    };
    let results: Vec<Value> = ids
        .iter()
        .map(|id| {
            let id = id.as_str().unwrap_or_default();
            let reason = cancel_one(ex, account, id).err();
            json!({"success": reason.is_none(),
                   "failure_reason": reason.unwrap_or("UNKNOWN_CANCEL_FAILURE_REASON"),
                   "order_id": id})
        })
        .collect();
    HttpResponse::json(200, json!({ "results": results }).to_string())
}

/// Cancel one order, or Coinbase's `failure_reason`.
fn cancel_one(ex: &mut Exchange, account: &str, uuid: &str) -> Result<(), &'static str> {
    let (symbol, status) = find_order(ex, account, uuid)
        .map(|o| (o.symbol.clone(), o.status))
        .ok_or("UNKNOWN_CANCEL_ORDER")?;
    let id = order_id(uuid).ok_or("UNKNOWN_CANCEL_ORDER")?;
    match ex.cancel(account, &symbol, OrderRef::Id(id)) {
        Ok(_) => Ok(()),
        Err(Reject::NotOpen) if status == OrderStatus::Canceled => Err("DUPLICATE_CANCEL_REQUEST"),
        Err(_) => Err("UNKNOWN_CANCEL_ORDER"),
    }
}

/// Get Order: `{"order":{..}}`, or 404 for an id this account never placed.
fn get_order(ex: &Exchange, account: &str, uuid: &str) -> HttpResponse {
    let Some(order) = find_order(ex, account, uuid) else {
        return not_found("order with this orderID was not found");
    };
    let Some(spec) = ex.symbol(&order.symbol) else {
        return not_found("order with this orderID was not found");
    };
    HttpResponse::json(
        200,
        json!({ "order": order_json(ex, spec, order) }).to_string(),
    )
}

/// Coinbase's status: open orders are `OPEN`; an IOC's unfilled rest is `CANCELLED`.
fn status_text(status: OrderStatus) -> &'static str {
    match status {
        OrderStatus::New | OrderStatus::PartiallyFilled => "OPEN",
        OrderStatus::Filled => "FILLED",
        OrderStatus::Canceled | OrderStatus::Expired => "CANCELLED",
    }
}

/// One order as Get Order describes it: sizes at the product's scales, `filled_value` the
/// notional, `total_fees` in quote.
fn order_json(ex: &Exchange, spec: &SymbolSpec, order: &Order) -> Value {
    let digits = notional_digits(spec);
    let size_text = |f: Fixed| f.to_text(spec.size_scale);
    let price_text = order.limit.to_text(spec.price_scale);
    let config = match order.tif {
        Tif::Ioc => json!({"sor_limit_ioc": {"base_size": size_text(order.size),
                                             "limit_price": price_text}}),
        Tif::Gtc => json!({"limit_limit_gtc": {"base_size": size_text(order.size),
                                               "limit_price": price_text, "post_only": false}}),
    };
    // Coinbase charges in quote; an exchange configured to charge buys in base shows that
    // fee at the base's scale and leaves it out of the value after fees.
    let (fee_digits, quote_fees) = match order.fills.first().map(|f| f.fee_asset) {
        Some(FeeAsset::Base) => (spec.size_scale.digits(), 0),
        _ => (digits, order.fees),
    };
    let after_fees = match order.side {
        OrderSide::Buy => order.notional + quote_fees,
        OrderSide::Sell => order.notional.saturating_sub(quote_fees),
    };
    let filled = !order.filled.is_zero();
    let completion = u128::from(order.filled.0) * 10_000 / u128::from(order.size.0.max(1));
    let created = rfc3339(order.created_ms);
    let mut value = json!({
        "order_id": order_uuid(order.id), "product_id": order.symbol, "user_id": order.account,
        "order_configuration": config, "side": side_text(order.side),
        "client_order_id": order.client_id, "status": status_text(order.status),
        "time_in_force": match order.tif { Tif::Ioc => "IMMEDIATE_OR_CANCEL",
                                           Tif::Gtc => "GOOD_UNTIL_CANCELLED" },
        "created_time": created, "completion_percentage": trimmed(completion, 2),
        "filled_size": size_text(order.filled), "average_filled_price": avg_price(order, spec),
        "number_of_fills": order.fills.len().to_string(),
        "filled_value": trimmed(order.notional, digits),
        "total_fees": trimmed(order.fees, fee_digits),
        "total_value_after_fees": trimmed(after_fees, digits),
        "settled": !order.status.is_open(),
        "outstanding_hold_amount": trimmed(hold(ex, order), hold_digits(spec, order)),
        "last_fill_time": if filled { Value::String(created.clone()) } else { Value::Null },
        "edit_history": [],
    });
    for (name, text) in ORDER_CONSTANTS {
        value[*name] = Value::String((*text).to_string());
    }
    for name in [
        "pending_cancel",
        "size_in_quote",
        "size_inclusive_of_fees",
        "is_liquidation",
    ] {
        value[name] = Value::Bool(false);
    }
    value
}

/// Get Order fields that never vary for a spot limit order.
const ORDER_CONSTANTS: &[(&str, &str)] = &[
    ("fee", ""),
    ("trigger_status", "INVALID_ORDER_TYPE"),
    ("order_type", "LIMIT"),
    ("reject_reason", ""),
    ("product_type", "SPOT"),
    ("reject_message", ""),
    ("cancel_message", ""),
    ("order_placement_source", "RETAIL_ADVANCED"),
    ("leverage", ""),
    ("margin_type", "UNKNOWN_MARGIN_TYPE"),
    ("retail_portfolio_id", ""),
    ("originating_order_id", ""),
];

/// What an open order still holds, as the engine locks it: the unfilled base of a sell; for a
/// buy the unfilled `size × limit`, plus the taker fee on it (at the account's rate now) when
/// buys pay fees in quote.
fn hold(ex: &Exchange, order: &Order) -> u128 {
    if !order.status.is_open() {
        return 0;
    }
    let remaining = order.size.0 - order.filled.0;
    match order.side {
        OrderSide::Sell => u128::from(remaining),
        OrderSide::Buy => {
            let notional = u128::from(remaining) * u128::from(order.limit.0);
            let taker = ex.fees(&order.account).map_or(Rate(0), |f| f.taker);
            match ex.fee_asset_on_buy() {
                FeeAsset::Quote => notional + taker.of(notional),
                FeeAsset::Base => notional,
            }
        }
    }
}

fn hold_digits(spec: &SymbolSpec, order: &Order) -> u8 {
    match order.side {
        OrderSide::Sell => spec.size_scale.digits(),
        OrderSide::Buy => notional_digits(spec),
    }
}

/// `filled_value / filled_size`, truncated at price + size digits; `"0"` before any fill.
fn avg_price(order: &Order, spec: &SymbolSpec) -> String {
    if order.filled.is_zero() {
        return "0".to_string();
    }
    let units = order.notional * u128::from(spec.size_scale.one()) / u128::from(order.filled.0);
    trimmed(units, notional_digits(spec))
}

/// List Accounts: one account per listed asset, `limit` a page (49 by default, at most 250),
/// `cursor` the index to start at.
fn accounts(ex: &Exchange, account: &str, query: &HashMap<String, String>) -> HttpResponse {
    let limit = query
        .get("limit")
        .and_then(|l| l.parse::<usize>().ok())
        .unwrap_or(ACCOUNTS_PAGE)
        .clamp(1, ACCOUNTS_PAGE_MAX);
    let start: usize = query
        .get("cursor")
        .and_then(|c| c.parse().ok())
        .unwrap_or(0);
    let balances = ex.balances(account);
    let page: Vec<Value> = balances
        .iter()
        .enumerate()
        .skip(start)
        .take(limit)
        .map(|(i, (asset, free, locked))| {
            let digits = ex.asset_digits(asset);
            let money =
                |units: u128| json!({"value": units_text(units, digits), "currency": asset});
            json!({
                "uuid": format!("a0000000-0000-4000-8000-{i:012x}"),
                "name": format!("{asset} Wallet"), "currency": asset,
                "available_balance": money(*free), "default": true, "active": true,
                "created_at": "2024-01-01T00:00:00Z", "updated_at": "2024-01-01T00:00:00Z",
                "deleted_at": null,
                "type": if is_fiat(asset) { "ACCOUNT_TYPE_FIAT" } else { "ACCOUNT_TYPE_CRYPTO" },
                "ready": true, "hold": money(*locked), "retail_portfolio_id": "",
            })
        })
        .collect();
    let next = start.saturating_add(limit);
    let has_next = next < balances.len();
    let size = page.len();
    HttpResponse::json(
        200,
        json!({"accounts": page, "has_next": has_next,
               "cursor": if has_next { next.to_string() } else { String::new() },
               "size": size})
        .to_string(),
    )
}

fn is_fiat(asset: &str) -> bool {
    matches!(asset, "USD" | "EUR" | "GBP" | "SGD" | "CAD")
}

/// Get Transaction Summary: the account's fee tier (volumes are not tracked: zero).
fn transaction_summary(ex: &Exchange, account: &str) -> HttpResponse {
    let Some(fees) = ex.fees(account) else {
        return unauthorized();
    };
    HttpResponse::json(
        200,
        json!({
            "total_volume": 0, "total_fees": 0,
            "fee_tier": {"pricing_tier": "Simulated", "usd_from": "0", "usd_to": "1000",
                         "taker_fee_rate": rate_text(fees.taker),
                         "maker_fee_rate": rate_text(fees.maker),
                         "aop_from": "", "aop_to": ""},
            "margin_rate": null, "goods_and_services_tax": null,
            "advanced_trade_only_volume": 0, "advanced_trade_only_fees": 0,
            "coinbase_pro_volume": 0, "coinbase_pro_fees": 0,
            "total_balance": "", "has_promo_fee": false,
        })
        .to_string(),
    )
}

/// Get Product (and its public twin): the product's rules.
/// Coinbase's `granularity` for each interval the engine keeps (it has no 4h).
fn interval_of_granularity(granularity: &str) -> Option<Interval> {
    Some(match granularity {
        "ONE_MINUTE" => Interval::M1,
        "FIVE_MINUTE" => Interval::M5,
        "FIFTEEN_MINUTE" => Interval::M15,
        "ONE_HOUR" => Interval::H1,
        "ONE_DAY" => Interval::D1,
        _ => return None,
    })
}

/// `GET /market/products/{id}/candles`: the latest `limit` bars (default and most 350)
/// opening within `[start, end]` (Unix seconds, both required), newest first.
fn product_candles(ex: &Exchange, product: &str, query: &str) -> HttpResponse {
    let Some(spec) = ex.symbol(product) else {
        return not_found("product not found");
    };
    let query: HashMap<String, String> = form_pairs(query).into_iter().collect();
    let invalid = |message: &str| api_error(400, "INVALID_ARGUMENT", message);
    let (Ok(Some(start)), Ok(Some(end)), Ok(limit)) = (
        candles::number(&query, "start"),
        candles::number(&query, "end"),
        candles::number(&query, "limit"),
    ) else {
        return invalid("start and end are required UNIX timestamps");
    };
    let Some(interval) = query
        .get("granularity")
        .and_then(|g| interval_of_granularity(g))
    else {
        return invalid("granularity is not valid");
    };
    let limit = limit.unwrap_or(350);
    if !(1..=350).contains(&limit) || start > end {
        return invalid("limit or time range is not valid");
    }
    let range = start.saturating_mul(1_000)..=end.saturating_mul(1_000);
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
            let [open, high, low, close, volume] = candles::values(spec, bar, candles::shortest);
            json!({"start": (bar.open_ms / 1_000).to_string(), "low": low, "high": high,
                   "open": open, "close": close, "volume": volume})
        })
        .collect();
    HttpResponse::json(200, json!({ "candles": list }).to_string())
}

fn product_info(ex: &Exchange, product: &str) -> HttpResponse {
    let Some(spec) = ex.symbol(product) else {
        return not_found("product not found");
    };
    let digits = notional_digits(spec);
    let price = ex
        .trades()
        .rev()
        .find(|t| t.symbol == product)
        .map_or_else(String::new, |t| t.price.to_text(spec.price_scale));
    let tick = spec.tick.to_text(spec.price_scale);
    let value = json!({
        "product_id": spec.symbol, "price": price, "price_percentage_change_24h": "0",
        "volume_24h": "0", "volume_percentage_change_24h": "0",
        "base_increment": spec.lot.to_text(spec.size_scale), "quote_increment": tick,
        "quote_min_size": trimmed(spec.min_notional, digits), "quote_max_size": "100000000",
        "base_min_size": spec.min_size.to_text(spec.size_scale), "base_max_size": "100000000",
        "base_name": spec.base, "quote_name": spec.quote, "watched": false,
        "is_disabled": false, "new": false, "status": "online", "cancel_only": false,
        "limit_only": false, "post_only": false, "trading_disabled": false,
        "auction_mode": false, "product_type": "SPOT", "quote_currency_id": spec.quote,
        "base_currency_id": spec.base, "mid_market_price": "", "alias": "", "alias_to": [],
        "base_display_symbol": spec.base, "quote_display_symbol": spec.quote,
        "view_only": false, "price_increment": tick, "display_name": spec.symbol,
        "product_venue": "CBE",
    });
    HttpResponse::json(200, value.to_string())
}

fn notional_digits(spec: &SymbolSpec) -> u8 {
    spec.price_scale.digits() + spec.size_scale.digits()
}

fn rate_text(rate: Rate) -> String {
    trimmed(u128::from(rate.0), 8)
}

/// `units × 10^-digits` as plain decimal text, every digit kept.
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

/// As [`units_text`], without trailing fraction zeros (`"0.006"`, `"100"`).
fn trimmed(units: u128, digits: u8) -> String {
    let text = units_text(units, digits);
    if !text.contains('.') {
        return text;
    }
    text.trim_end_matches('0').trim_end_matches('.').to_string()
}
