//! Kraken spot REST (docs.kraken.com, "Spot REST API": Add Order, Cancel Order, Query Orders
//! Info, Get Extended Balance, Get Trade Volume, Get Tradable Asset Pairs).
//!
//! Private calls are `POST /0/private/<Method>` with a form body that starts with the nonce,
//! signed with `API-Sign`; a `User-Agent` is required. Every answer is HTTP 200 with
//! `{"error":[...],"result":...}`: a non-empty `error` array is the refusal
//! (`EOrder:Insufficient funds`, `EAPI:Invalid nonce`). `AddOrder` answers with the txid only,
//! so the order's state comes from `QueryOrders`. Fee rates in `TradeVolume` are **percent**.

use std::collections::BTreeMap;
use std::io::Write as _;

use kestrel_types::cex::Venue;
use serde::Deserialize;
use serde_json::value::RawValue;

use super::candles::{check_query, from_arrays, push_param};
use super::common::{
    self, Ctx, FORM, Head, Num, check_amounts, check_client_id, check_symbol, finish, public_get,
    put_fixed, side_lower,
};
use super::{
    Amount, Balance, Call, Candle, CandleQuery, ErrorClass, ErrorCode, Fee, FeeRates, OrderRef,
    OrderReport, OrderRequest, RequestWriter, Scales, Stamp, Status, SymbolRules, Tif, VenueError,
    VenuePrecision, WriteError,
};
use crate::auth::{HttpMethod, KrakenSigned, KrakenSigner};

const VENUE: Venue = Venue::Kraken;
const CLIENT_ID_RULE: &str =
    "a UUID (with or without dashes) or up to 18 ASCII letters, digits, - or _";

/// Writes Kraken spot requests.
#[derive(Debug, Clone)]
pub struct KrakenWriter {
    signer: KrakenSigner,
    host: String,
}

impl KrakenWriter {
    /// Requests to `host` (`api.kraken.com`), signed by `signer`.
    pub fn new(signer: KrakenSigner, host: &str) -> Self {
        Self {
            signer,
            host: host.to_owned(),
        }
    }

    /// A private POST: `nonce=<nonce>[&params]`, signed for `path`.
    fn private(&self, path: &str, params: &str, nonce: u64, out: &mut Vec<u8>) {
        let signed = self.signer.signed_form(path, nonce, params);
        self.write_signed(path, &signed, out);
    }

    /// Writes a signed form body and its head into `out`.
    fn write_signed(&self, path: &str, signed: &KrakenSigned, out: &mut Vec<u8>) {
        out.clear();
        out.extend_from_slice(signed.body.as_bytes());
        let head = Head {
            method: HttpMethod::Post,
            path,
            query: "",
            host: &self.host,
            content_type: Some(FORM),
        };
        let headers = [
            ("API-Key", self.signer.api_key()),
            ("API-Sign", signed.api_sign.as_str()),
        ];
        finish(out, signed.body.len(), &head, &headers);
    }
}

/// A UUID, long (`8-4-4-4-12` hex) or short (32 hex digits).
fn is_uuid(id: &str) -> bool {
    let bytes = id.as_bytes();
    let hex = |b: &u8| b.is_ascii_hexdigit();
    match bytes.len() {
        32 => bytes.iter().all(hex),
        36 => bytes.iter().enumerate().all(|(i, b)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *b == b'-'
            } else {
                hex(b)
            }
        }),
        _ => false,
    }
}

fn check_cl_ord_id(id: &str) -> Result<(), WriteError> {
    if is_uuid(id) {
        return Ok(());
    }
    check_client_id(VENUE, id, 18, common::id_char, CLIENT_ID_RULE)
}

fn check_ref(order: OrderRef<'_>) -> Result<(), WriteError> {
    match order {
        OrderRef::Client(id) => check_cl_ord_id(id),
        OrderRef::Venue(id) => check_client_id(VENUE, id, 40, common::id_char, "a txid"),
    }
}

fn ref_param(order: OrderRef<'_>) -> String {
    match order {
        OrderRef::Client(id) => format!("cl_ord_id={id}"),
        OrderRef::Venue(id) => format!("txid={id}"),
    }
}

impl RequestWriter for KrakenWriter {
    fn venue(&self) -> Venue {
        VENUE
    }

    fn new_order(
        &self,
        order: &OrderRequest<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        check_symbol(VENUE, order.symbol)?;
        check_cl_ord_id(order.client_id)?;
        check_amounts(VENUE, order.size, order.limit)?;
        let tif = match order.tif {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
        };
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "ordertype=limit&type={}&volume=",
            side_lower(order.side)
        );
        put_fixed(out, order.size, order.scales.size);
        let _ = write!(out, "&pair={}&price=", order.symbol);
        put_fixed(out, order.limit, order.scales.price);
        let _ = write!(out, "&timeinforce={tif}&cl_ord_id={}", order.client_id);
        // The signer builds `nonce=..&` + these parameters into its own body.
        let path = "/0/private/AddOrder";
        let signed = self
            .signer
            .signed_form(path, stamp.nonce, common::text(out));
        self.write_signed(path, &signed, out);
        Ok(())
    }

    fn cancel_order(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        check_ref(order)?;
        self.private(
            "/0/private/CancelOrder",
            &ref_param(order),
            stamp.nonce,
            out,
        );
        Ok(())
    }

    fn query_order(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        check_ref(order)?;
        let params = format!("trades=true&{}", ref_param(order));
        self.private("/0/private/QueryOrders", &params, stamp.nonce, out);
        Ok(())
    }

    fn balances(&self, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.private("/0/private/BalanceEx", "", stamp.nonce, out);
        Ok(())
    }

    fn fee_rates(&self, symbol: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        let params = format!("pair={symbol}");
        self.private("/0/private/TradeVolume", &params, stamp.nonce, out);
        Ok(())
    }

    fn symbol_rules(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        symbol_rules_request(&self.host, symbol, out)
    }

    /// `GET /0/public/OHLC?pair=&interval=&since=` (public). Kraken answers up to the 720
    /// most recent bars opening after `since` (seconds, exclusive), the last one still
    /// forming; it takes no end and no limit, so `end_ms` and `limit` are not sent and the
    /// caller keeps what it asked for.
    fn candles(&self, query: &CandleQuery<'_>, out: &mut Vec<u8>) -> Result<(), WriteError> {
        candles_request(&self.host, query, out)
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Kraken's documented error texts this crate classifies (matched as prefixes: Kraken may
/// append detail, as in `EGeneral:Invalid arguments:volume`).
pub(super) fn classify_code(code: &ErrorCode, call: Call) -> Option<ErrorClass> {
    const RETRYABLE: &[&str] = &[
        "EAPI:Rate limit exceeded",
        "EOrder:Rate limit exceeded",
        "EGeneral:Too many requests",
        "EService:Unavailable",
        "EService:Busy",
        "EService:Deadline elapsed",
    ];
    const AUTH: &[&str] = &[
        "EAPI:Invalid key",
        "EAPI:Invalid signature",
        "EAPI:Invalid nonce",
        "EGeneral:Permission denied",
    ];
    const REJECTED: &[&str] = &[
        "EOrder:Insufficient funds",
        "EOrder:Order minimum not met",
        "EOrder:Cost minimum not met",
        "EOrder:Tick size check failed",
        "EOrder:Unknown order",
        "EOrder:Invalid order",
        "EOrder:Invalid price",
        "EOrder:Orders limit exceeded",
        "EQuery:Unknown asset pair",
        "EGeneral:Invalid arguments",
        "EService:Market in cancel_only mode",
        "EService:Market in post_only mode",
        "EService:Market in limit_only mode",
        "EAPI:Feature disabled",
    ];
    let ErrorCode::Text(text) = code else {
        return None;
    };
    let any = |list: &[&str]| list.iter().any(|k| text.starts_with(k));
    if any(RETRYABLE) {
        Some(ErrorClass::Retryable)
    } else if any(AUTH) {
        Some(ErrorClass::Auth)
    } else if any(REJECTED) {
        Some(ErrorClass::Rejected)
    } else if text.starts_with("EGeneral:Internal error") {
        Some(if call.changes_order() {
            ErrorClass::UnknownOutcome
        } else {
            ErrorClass::Retryable
        })
    } else {
        None
    }
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(default)]
    error: Vec<String>,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
}

/// The `result` of an answer, or the refusal its `error` array carries (read first, whatever
/// `result` holds).
fn read<'a, T: Deserialize<'a>>(ctx: &Ctx, body: &'a [u8]) -> Result<T, VenueError> {
    let envelope: Envelope<'a> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(_) if !ctx.is_success() => return Err(ctx.by_status(body)),
        Err(e) => return Err(ctx.unreadable(e)),
    };
    if let Some(first) = envelope.error.first() {
        let message = envelope.error.join("; ");
        return Err(ctx.refused(Some(ErrorCode::Text(first.clone())), message));
    }
    if !ctx.is_success() {
        return Err(ctx.by_status(body));
    }
    let raw = envelope.result.ok_or_else(|| ctx.missing("result"))?;
    serde_json::from_str(raw.get()).map_err(|e| ctx.unreadable(e))
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

/// `GET /0/public/OHLC`: `result` holds the pair's rows under Kraken's own pair name
/// (`XXBTZUSD` for `XBTUSD`) and `last`; rows are `[time, open, high, low, close, vwap,
/// volume, count]` with `time` in seconds, oldest first. The last row is the bar still
/// forming; it is returned like the others (a later fetch replaces it in the journal).
pub(super) fn parse_candles(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Candles, http_status);
    let result: BTreeMap<&str, &RawValue> = read(&ctx, body)?;
    let mut pairs = result.iter().filter(|(key, _)| **key != "last");
    let (Some((_, raw)), None) = (pairs.next(), pairs.next()) else {
        return Err(ctx.unreadable("not exactly one pair"));
    };
    let rows: Vec<Vec<Num<'_>>> = serde_json::from_str(raw.get()).map_err(|e| ctx.unreadable(e))?;
    from_arrays(&ctx, &rows, 6, 1_000, scales)
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Added {
    txid: Vec<String>,
}

pub(super) fn parse_order(http_status: u16, body: &[u8]) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::NewOrder, http_status);
    let added: Added = read(&ctx, body)?;
    let txid = added
        .txid
        .into_iter()
        .next()
        .ok_or_else(|| ctx.missing("txid"))?;
    Ok(OrderReport::accepted(txid, String::new()))
}

#[derive(Deserialize)]
struct Cancelled {
    count: u64,
}

pub(super) fn parse_cancel(http_status: u16, body: &[u8]) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::CancelOrder, http_status);
    let cancelled: Cancelled = read(&ctx, body)?;
    if cancelled.count == 0 {
        return Err(ctx.refused(None, "no order was cancelled (count 0)".to_owned()));
    }
    Ok(OrderReport::accepted(String::new(), String::new()))
}

#[derive(Deserialize)]
struct OrderInfo<'a> {
    status: String,
    cl_ord_id: Option<String>,
    #[serde(borrow)]
    vol: Num<'a>,
    #[serde(borrow)]
    vol_exec: Num<'a>,
    #[serde(borrow)]
    cost: Num<'a>,
    #[serde(borrow)]
    fee: Num<'a>,
    #[serde(borrow)]
    price: Option<Num<'a>>,
}

pub(super) fn parse_query(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::QueryOrder, http_status);
    let orders: BTreeMap<String, OrderInfo<'_>> = read(&ctx, body)?;
    let mut orders = orders.into_iter();
    let (Some((txid, order)), None) = (orders.next(), orders.next()) else {
        return Err(ctx.refused(None, "expected exactly one order".to_owned()));
    };
    let size = ctx.fixed(order.vol.text(), scales.size, "vol")?;
    let filled = ctx.fixed(order.vol_exec.text(), scales.size, "vol_exec")?;
    let status = match order.status.as_str() {
        "pending" | "open" if filled.is_zero() => Status::New,
        "pending" | "open" => Status::PartiallyFilled,
        "closed" if filled == size => Status::Filled,
        "closed" | "expired" => Status::Expired,
        "canceled" => Status::Canceled,
        other => return Err(ctx.unreadable(format_args!("status `{}`", common::clip(other)))),
    };
    let mut report = OrderReport::accepted(txid, order.cl_ord_id.unwrap_or_default());
    report.status = Some(status);
    report.filled = filled;
    report.notional = Some(ctx.notional(order.cost.text(), scales, "cost")?);
    report.avg_price = ctx
        .opt_amount(common::opt_text(order.price), "price")?
        .filter(|p| !p.is_zero());
    let fee = ctx.amount(order.fee.text(), "fee")?;
    if !fee.is_zero() {
        report.fees.push(Fee {
            asset: String::new(),
            amount: fee,
            rebate: false,
        });
    }
    Ok(report)
}

// ---------------------------------------------------------------------------------------------
// Account
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct ExtendedBalance<'a> {
    #[serde(borrow)]
    balance: Num<'a>,
    #[serde(borrow)]
    hold_trade: Option<Num<'a>>,
    #[serde(borrow)]
    credit: Option<Num<'a>>,
    #[serde(borrow)]
    credit_used: Option<Num<'a>>,
}

/// `free = balance + credit - credit_used - hold_trade` (the Get Extended Balance page's
/// formula), `locked = hold_trade`.
pub(super) fn parse_balances(http_status: u16, body: &[u8]) -> Result<Vec<Balance>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Balances, http_status);
    let balances: BTreeMap<String, ExtendedBalance<'_>> = read(&ctx, body)?;
    balances
        .into_iter()
        .map(|(asset, b)| {
            let opt = |value: Option<Num<'_>>, field| {
                ctx.opt_amount(common::opt_text(value), field)
                    .map(Option::unwrap_or_default)
            };
            let balance = ctx.amount(b.balance.text(), "balance")?;
            let hold = opt(b.hold_trade, "hold_trade")?;
            let free = balance
                .checked_add(opt(b.credit, "credit")?)
                .and_then(|x| x.checked_sub(opt(b.credit_used, "credit_used").ok()?))
                .and_then(|x| x.checked_sub(hold))
                .ok_or_else(|| ctx.unreadable(format_args!("{asset}: holds exceed the balance")))?;
            Ok(Balance {
                asset,
                free,
                locked: hold,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct TradeVolume<'a> {
    #[serde(default, borrow)]
    fees: BTreeMap<String, Tier<'a>>,
    #[serde(default, borrow)]
    fees_maker: Option<BTreeMap<String, Tier<'a>>>,
}

#[derive(Deserialize)]
struct Tier<'a> {
    #[serde(borrow)]
    fee: Num<'a>,
}

/// Taker from `fees`, maker from `fees_maker` (pairs not on a maker/taker schedule have only
/// `fees`, which then applies to both). The values are percent: `0.2600` is 0.26 %.
pub(super) fn parse_fee_rates(http_status: u16, body: &[u8]) -> Result<FeeRates, VenueError> {
    let ctx = Ctx::new(VENUE, Call::FeeRates, http_status);
    let volume: TradeVolume<'_> = read(&ctx, body)?;
    let percent = |tiers: &BTreeMap<String, Tier<'_>>, field: &str| {
        let tier = tiers.values().next().ok_or_else(|| ctx.missing(field))?;
        let pct = ctx.amount(tier.fee.text(), field)?;
        // Percent to a fraction: the same units, two more fraction digits.
        let fraction = Amount::new(pct.units(), pct.digits() + 2)
            .ok_or_else(|| ctx.unreadable(format_args!("`{field}` too precise")))?;
        common::rate_from(&ctx, fraction, field)
    };
    let taker = percent(&volume.fees, "fees")?;
    let maker = match &volume.fees_maker {
        Some(tiers) if !tiers.is_empty() => percent(tiers, "fees_maker")?,
        _ => taker,
    };
    Ok(FeeRates {
        maker,
        taker,
        discounted_taker: None,
        discount_asset: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Symbol rules
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct AssetPair<'a> {
    pair_decimals: u8,
    lot_decimals: u8,
    cost_decimals: Option<u8>,
    #[serde(borrow)]
    ordermin: Option<Num<'a>>,
    #[serde(borrow)]
    costmin: Option<Num<'a>>,
    #[serde(borrow)]
    tick_size: Option<Num<'a>>,
}

/// `tick_size` (or `10^-pair_decimals` where absent), a lot of `10^-lot_decimals`,
/// `ordermin`, `costmin`.
pub(super) fn parse_symbol_rules(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<SymbolRules, VenueError> {
    let ctx = Ctx::new(VENUE, Call::SymbolRules, http_status);
    let pairs: BTreeMap<String, AssetPair<'_>> = read(&ctx, body)?;
    let mut pairs = pairs.into_values();
    let (Some(pair), None) = (pairs.next(), pairs.next()) else {
        return Err(ctx.unreadable("not exactly one pair"));
    };
    let step = |digits: u8, field: &str| {
        Amount::new(1, digits).ok_or_else(|| ctx.unreadable(format_args!("`{field}` = {digits}")))
    };
    let tick = match common::opt_text(pair.tick_size) {
        "" => step(pair.pair_decimals, "pair_decimals")?.at(scales.price),
        text => ctx.amount(text, "tick_size")?.at(scales.price),
    };
    let lot = step(pair.lot_decimals, "lot_decimals")?.at(scales.size);
    let finer = |field: &str| ctx.unreadable(format_args!("`{field}` is finer than the scale"));
    let min_text = common::opt_text(pair.ordermin);
    let cost_text = common::opt_text(pair.costmin);
    Ok(SymbolRules {
        tick: tick.map_err(|_| finer("tick_size"))?,
        lot: lot.map_err(|_| finer("lot_decimals"))?,
        min_size: if min_text.is_empty() {
            lot.map_err(|_| finer("lot_decimals"))?
        } else {
            ctx.fixed(min_text, scales.size, "ordermin")?
        },
        min_notional: (!cost_text.is_empty())
            .then(|| ctx.notional(cost_text, scales, "costmin"))
            .transpose()?,
        venue: VenuePrecision {
            price_digits: pair.pair_decimals,
            size_digits: pair.lot_decimals,
            quote_digits: pair.cost_decimals,
        },
        weight_per_minute: None,
        order_windows: [None; 2],
    })
}

/// The public symbol-rules request for `host` (no key needed).
pub(crate) fn symbol_rules_request(
    host: &str,
    symbol: &str,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_symbol(VENUE, symbol)?;
    let query = format!("pair={symbol}");
    public_get(out, host, "/0/public/AssetPairs", &query);
    Ok(())
}

/// The candle request for `host` (public: no key involved).
pub(crate) fn candles_request(
    host: &str,
    query: &CandleQuery<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_query(VENUE, query)?;
    let mut params = format!(
        "pair={}&interval={}",
        query.symbol,
        query.interval.minutes()
    );
    // The first whole second at or after the start, less one: `since` is exclusive.
    let since = query
        .start_ms
        .map(|start| start.div_ceil(1_000).saturating_sub(1));
    push_param(&mut params, "since", since);
    public_get(out, host, "/0/public/OHLC", &params);
    Ok(())
}
