//! Bybit API v5 REST (bybit-exchange/docs `docs/v5/order/create-order.mdx`, `cancel-order.mdx`,
//! `open-order.mdx`, `account/wallet-balance.mdx`, `account/fee-rate.mdx`,
//! `market/instrument.mdx`, `error.mdx`).
//!
//! Private calls carry `X-BAPI-API-KEY`, `X-BAPI-TIMESTAMP`, `X-BAPI-RECV-WINDOW` and
//! `X-BAPI-SIGN`; `POST` bodies are JSON, `GET` parameters a query string. Answers are HTTP
//! 200 with `{"retCode":0,"retMsg":"OK","result":{...}}`; a non-zero `retCode` is the refusal.
//! Create and cancel answer with ids only ("This request is asynchronous"): the state comes
//! from `GET /v5/order/realtime`.

use std::io::Write as _;

use kestrel_types::cex::Venue;
use serde::Deserialize;
use serde_json::value::RawValue;
use std::collections::BTreeMap;

use super::candles::{check_query, from_arrays, push_param};
use super::common::{
    self, Ctx, Head, JSON, Num, check_amounts, check_client_id, check_symbol, finish, public_get,
    put_fixed,
};
use super::{
    Balance, Call, Candle, CandleQuery, ErrorClass, ErrorCode, Fee, FeeRates, Interval, OrderRef,
    OrderReport, OrderRequest, RequestWriter, Scales, Stamp, Status, SymbolRules, Tif, VenueError,
    VenuePrecision, WriteError,
};
use crate::auth::{BYBIT_DEFAULT_RECV_WINDOW_MS, BybitHeaders, BybitSigner, HttpMethod};
use kestrel_types::cex::OrderSide;

const VENUE: Venue = Venue::Bybit;
const CLIENT_ID_RULE: &str = "up to 36 letters, digits, dashes and underscores";

/// Writes Bybit v5 spot requests.
#[derive(Debug, Clone)]
pub struct BybitWriter {
    signer: BybitSigner,
    host: String,
    recv_window_ms: u32,
}

impl BybitWriter {
    /// Requests to `host` (`api.bybit.com`), signed by `signer`, with a 5000 ms window.
    pub fn new(signer: BybitSigner, host: &str) -> Self {
        Self {
            signer,
            host: host.to_owned(),
            recv_window_ms: BYBIT_DEFAULT_RECV_WINDOW_MS,
        }
    }

    /// The same writer with another `X-BAPI-RECV-WINDOW`.
    pub fn with_recv_window(mut self, recv_window_ms: u32) -> Self {
        self.recv_window_ms = recv_window_ms;
        self
    }

    fn finish_signed(
        &self,
        head: &Head<'_>,
        auth: &BybitHeaders,
        body_len: usize,
        out: &mut Vec<u8>,
    ) {
        let headers = [
            ("X-BAPI-API-KEY", auth.api_key.as_str()),
            ("X-BAPI-TIMESTAMP", auth.timestamp.as_str()),
            ("X-BAPI-RECV-WINDOW", auth.recv_window.as_str()),
            ("X-BAPI-SIGN", auth.sign.as_str()),
        ];
        finish(out, body_len, head, &headers);
    }

    /// A signed `POST` of the JSON body already in `out`.
    fn post(&self, path: &str, stamp: &Stamp, out: &mut Vec<u8>) {
        let body_len = out.len();
        let auth = self.signer.headers(
            stamp.unix_ms,
            self.recv_window_ms,
            HttpMethod::Post,
            "",
            common::text(out),
        );
        let head = Head {
            method: HttpMethod::Post,
            path,
            query: "",
            host: &self.host,
            content_type: Some(JSON),
        };
        self.finish_signed(&head, &auth, body_len, out);
    }

    /// A signed `GET`: the signature covers the query string.
    fn get(&self, path: &str, query: &str, stamp: &Stamp, out: &mut Vec<u8>) {
        let auth = self.signer.headers(
            stamp.unix_ms,
            self.recv_window_ms,
            HttpMethod::Get,
            query,
            "",
        );
        out.clear();
        let head = Head {
            method: HttpMethod::Get,
            path,
            query,
            host: &self.host,
            content_type: None,
        };
        self.finish_signed(&head, &auth, 0, out);
    }
}

fn check_ref(order: OrderRef<'_>) -> Result<(), WriteError> {
    match order {
        OrderRef::Client(id) => check_client_id(VENUE, id, 36, common::id_char, CLIENT_ID_RULE),
        OrderRef::Venue(id) => check_client_id(VENUE, id, 64, common::id_char, "an orderId"),
    }
}

fn ref_field(order: OrderRef<'_>) -> (&'static str, &str) {
    match order {
        OrderRef::Client(id) => ("orderLinkId", id),
        OrderRef::Venue(id) => ("orderId", id),
    }
}

impl RequestWriter for BybitWriter {
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
        check_ref(OrderRef::Client(order.client_id))?;
        check_amounts(VENUE, order.size, order.limit)?;
        let side = match order.side {
            OrderSide::Buy => "Buy",
            OrderSide::Sell => "Sell",
        };
        let tif = match order.tif {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
        };
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            r#"{{"category":"spot","symbol":"{}","side":"{side}","orderType":"Limit","qty":""#,
            order.symbol
        );
        put_fixed(out, order.size, order.scales.size);
        out.extend_from_slice(br#"","price":""#);
        put_fixed(out, order.limit, order.scales.price);
        let _ = write!(
            out,
            r#"","timeInForce":"{tif}","orderLinkId":"{}"}}"#,
            order.client_id
        );
        self.post("/v5/order/create", stamp, out);
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
        let (field, id) = ref_field(order);
        out.clear();
        let _ = write!(
            out,
            r#"{{"category":"spot","symbol":"{symbol}","{field}":"{id}"}}"#
        );
        self.post("/v5/order/cancel", stamp, out);
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
        let (field, id) = ref_field(order);
        let query = format!("category=spot&symbol={symbol}&{field}={id}");
        self.get("/v5/order/realtime", &query, stamp, out);
        Ok(())
    }

    fn balances(&self, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.get(
            "/v5/account/wallet-balance",
            "accountType=UNIFIED",
            stamp,
            out,
        );
        Ok(())
    }

    fn fee_rates(&self, symbol: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        let query = format!("category=spot&symbol={symbol}");
        self.get("/v5/account/fee-rate", &query, stamp, out);
        Ok(())
    }

    fn symbol_rules(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        symbol_rules_request(&self.host, symbol, out)
    }

    /// `GET /v5/market/kline?category=spot&symbol=&interval=&start=&end=&limit=` (public;
    /// bounds inclusive on the open time).
    fn candles(&self, query: &CandleQuery<'_>, out: &mut Vec<u8>) -> Result<(), WriteError> {
        candles_request(&self.host, query, out)
    }
}

/// Bybit's kline `interval` values: minutes, or `D` for the day.
pub(crate) const fn interval_code(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "1",
        Interval::M5 => "5",
        Interval::M15 => "15",
        Interval::H1 => "60",
        Interval::H4 => "240",
        Interval::D1 => "D",
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// `error.mdx` codes this crate classifies.
pub(super) fn classify_code(code: &ErrorCode, call: Call) -> Option<ErrorClass> {
    let ErrorCode::Number(code) = code else {
        return None;
    };
    let unknown_on_orders = if call.changes_order() {
        ErrorClass::UnknownOutcome
    } else {
        ErrorClass::Retryable
    };
    Some(match code {
        // Too many visits, IP rate limit, system frequency protection, too many new orders,
        // too many requests, "high server load. Please retry".
        10006 | 10018 | 10429 | 170005 | 170222 | 429 => ErrorClass::Retryable,
        // Server timeout, server error or restarting, timeout waiting for the backend, order
        // creation or cancellation timeout, internal or system error.
        10000 | 10016 | 170007 | 170146 | 170147 | 170001 | 170234 => unknown_on_orders,
        // Time window, invalid key, sign error, permission, authentication, IP mismatch,
        // expired key.
        10002 | 10003 | 10004 | 10005 | 10007 | 10010 | 33004 => ErrorClass::Auth,
        // Parameter error, invalid symbol, order does not exist, insufficient balance, price,
        // quantity or value out of bounds or too precise, duplicate orderLinkId.
        10001 | 10029 | 110001 | 110007 | 170115 | 170116 | 170117 | 170121 | 170124 | 170130
        | 170131 | 170132 | 170133 | 170134 | 170136 | 170137 | 170140 | 170141 | 170193
        | 170194 | 170213 | 170217 | 170218 => ErrorClass::Rejected,
        _ => return None,
    })
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Envelope<'a> {
    ret_code: i64,
    #[serde(default)]
    ret_msg: String,
    #[serde(borrow)]
    result: Option<&'a RawValue>,
}

/// The `result` of an answer, or the refusal its `retCode` carries (read first: a refusal's
/// `result` is `{}`).
fn read<'a, T: Deserialize<'a>>(ctx: &Ctx, body: &'a [u8]) -> Result<T, VenueError> {
    let envelope: Envelope<'a> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(_) if !ctx.is_success() => return Err(ctx.by_status(body)),
        Err(e) => return Err(ctx.unreadable(e)),
    };
    if envelope.ret_code != 0 {
        return Err(ctx.refused(Some(ErrorCode::Number(envelope.ret_code)), envelope.ret_msg));
    }
    if !ctx.is_success() {
        return Err(ctx.by_status(body));
    }
    let raw = envelope.result.ok_or_else(|| ctx.missing("result"))?;
    serde_json::from_str(raw.get()).map_err(|e| ctx.unreadable(e))
}

#[derive(Deserialize)]
struct List<T> {
    list: Vec<T>,
}

fn first<T>(ctx: &Ctx, list: List<T>) -> Result<T, VenueError> {
    list.list
        .into_iter()
        .next()
        .ok_or_else(|| ctx.missing("list item"))
}

/// `GET /v5/market/kline`: `result.list` rows `[startTime, open, high, low, close, volume,
/// turnover]`, newest first; `volume` is in the base coin on spot.
pub(super) fn parse_candles(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Candles, http_status);
    let rows: List<Vec<Num<'_>>> = read(&ctx, body)?;
    from_arrays(&ctx, &rows.list, 5, 1, scales)
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ack {
    order_id: String,
    #[serde(default)]
    order_link_id: String,
}

pub(super) fn parse_ack(
    http_status: u16,
    body: &[u8],
    call: Call,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, call, http_status);
    let ack: Ack = read(&ctx, body)?;
    if ack.order_id.is_empty() {
        return Err(ctx.missing("orderId"));
    }
    Ok(OrderReport::accepted(ack.order_id, ack.order_link_id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct OpenOrder<'a> {
    order_id: String,
    #[serde(default)]
    order_link_id: String,
    order_status: String,
    #[serde(borrow)]
    cum_exec_qty: Num<'a>,
    #[serde(borrow)]
    cum_exec_value: Option<Num<'a>>,
    #[serde(borrow)]
    avg_price: Option<Num<'a>>,
    #[serde(borrow)]
    cum_exec_fee: Option<Num<'a>>,
    #[serde(default, borrow)]
    cum_fee_detail: Option<BTreeMap<String, Num<'a>>>,
}

fn status_of(ctx: &Ctx, text: &str) -> Result<Status, VenueError> {
    Ok(match text {
        "New" | "Untriggered" | "Triggered" => Status::New,
        "PartiallyFilled" => Status::PartiallyFilled,
        "Filled" => Status::Filled,
        "Cancelled" | "PartiallyFilledCanceled" | "Deactivated" => Status::Canceled,
        "Rejected" => Status::Rejected,
        other => return Err(ctx.unreadable(format_args!("orderStatus `{}`", common::clip(other)))),
    })
}

/// `GET /v5/order/realtime`: `cumExecQty`, `cumExecValue` (the notional), `avgPrice`, and the
/// fees from `cumFeeDetail` (spot; `cumExecFee` is deprecated there). A negative fee is a
/// rebate.
pub(super) fn parse_query(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::QueryOrder, http_status);
    let orders: List<OpenOrder<'_>> = read(&ctx, body)?;
    let order = first(&ctx, orders)?;
    let mut report = OrderReport::accepted(order.order_id, order.order_link_id);
    report.status = Some(status_of(&ctx, &order.order_status)?);
    report.filled = ctx.fixed(order.cum_exec_qty.text(), scales.size, "cumExecQty")?;
    report.notional = match common::opt_text(order.cum_exec_value) {
        "" => None,
        text => Some(ctx.notional(text, scales, "cumExecValue")?),
    };
    report.avg_price = ctx
        .opt_amount(common::opt_text(order.avg_price), "avgPrice")?
        .filter(|p| !p.is_zero());
    match order.cum_fee_detail {
        Some(detail) if !detail.is_empty() => {
            for (asset, value) in detail {
                push_fee(&ctx, &mut report, asset, value.text(), "cumFeeDetail")?;
            }
        }
        _ => {
            let text = common::opt_text(order.cum_exec_fee);
            if !text.is_empty() {
                push_fee(&ctx, &mut report, String::new(), text, "cumExecFee")?;
            }
        }
    }
    Ok(report)
}

fn push_fee(
    ctx: &Ctx,
    report: &mut OrderReport,
    asset: String,
    text: &str,
    field: &str,
) -> Result<(), VenueError> {
    let (negative, amount) = ctx.signed(text, field)?;
    if !amount.is_zero() {
        report.fees.push(Fee {
            asset,
            amount,
            rebate: negative,
        });
    }
    Ok(())
}

// ---------------------------------------------------------------------------------------------
// Account
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Wallet<'a> {
    #[serde(borrow)]
    coin: Vec<Coin<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Coin<'a> {
    coin: String,
    #[serde(borrow)]
    wallet_balance: Num<'a>,
    #[serde(borrow)]
    locked: Option<Num<'a>>,
}

/// `free = walletBalance - locked`, `locked = locked` (held by spot open orders).
pub(super) fn parse_balances(http_status: u16, body: &[u8]) -> Result<Vec<Balance>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Balances, http_status);
    let wallets: List<Wallet<'_>> = read(&ctx, body)?;
    let wallet = first(&ctx, wallets)?;
    wallet
        .coin
        .into_iter()
        .map(|c| {
            let total = ctx.amount(c.wallet_balance.text(), "walletBalance")?;
            let locked = ctx
                .opt_amount(common::opt_text(c.locked), "locked")?
                .unwrap_or_default();
            let free = total.checked_sub(locked).ok_or_else(|| {
                ctx.unreadable(format_args!("{}: locked exceeds walletBalance", c.coin))
            })?;
            Ok(Balance {
                asset: c.coin,
                free,
                locked,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeeRate<'a> {
    #[serde(borrow)]
    taker_fee_rate: Num<'a>,
    #[serde(borrow)]
    maker_fee_rate: Num<'a>,
}

/// `takerFeeRate`, `makerFeeRate`: positive is a charge, negative a rebate (zero here).
pub(super) fn parse_fee_rates(http_status: u16, body: &[u8]) -> Result<FeeRates, VenueError> {
    let ctx = Ctx::new(VENUE, Call::FeeRates, http_status);
    let rates: List<FeeRate<'_>> = read(&ctx, body)?;
    let rate = first(&ctx, rates)?;
    Ok(FeeRates {
        maker: common::rate_of(&ctx, rate.maker_fee_rate.text(), "makerFeeRate")?,
        taker: common::rate_of(&ctx, rate.taker_fee_rate.text(), "takerFeeRate")?,
        discounted_taker: None,
        discount_asset: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Symbol rules
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instrument<'a> {
    #[serde(borrow)]
    lot_size_filter: LotSize<'a>,
    #[serde(borrow)]
    price_filter: PriceFilter<'a>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct LotSize<'a> {
    #[serde(borrow)]
    base_precision: Num<'a>,
    #[serde(borrow)]
    quote_precision: Option<Num<'a>>,
    #[serde(borrow)]
    min_order_amt: Option<Num<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct PriceFilter<'a> {
    #[serde(borrow)]
    tick_size: Num<'a>,
}

/// Spot rules: `priceFilter.tickSize`, a lot of `lotSizeFilter.basePrecision`, a minimum
/// value of `minOrderAmt`. The minimum size is one lot: `minOrderQty` is documented as
/// deprecated and no longer checked ("check `minOrderAmt` instead").
pub(super) fn parse_symbol_rules(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<SymbolRules, VenueError> {
    let ctx = Ctx::new(VENUE, Call::SymbolRules, http_status);
    let instruments: List<Instrument<'_>> = read(&ctx, body)?;
    let inst = first(&ctx, instruments)?;
    let tick_text = inst.price_filter.tick_size.text();
    let lot_text = inst.lot_size_filter.base_precision.text();
    let lot = ctx.fixed(lot_text, scales.size, "basePrecision")?;
    let min_amt = common::opt_text(inst.lot_size_filter.min_order_amt);
    let quote = common::opt_text(inst.lot_size_filter.quote_precision);
    Ok(SymbolRules {
        tick: ctx.fixed(tick_text, scales.price, "tickSize")?,
        lot,
        min_size: lot,
        min_notional: (!min_amt.is_empty())
            .then(|| ctx.notional(min_amt, scales, "minOrderAmt"))
            .transpose()?,
        venue: VenuePrecision {
            price_digits: common::step_digits(tick_text),
            size_digits: common::step_digits(lot_text),
            quote_digits: (!quote.is_empty()).then(|| common::step_digits(quote)),
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
    let query = format!("category=spot&symbol={symbol}");
    public_get(out, host, "/v5/market/instruments-info", &query);
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
        "category=spot&symbol={}&interval={}",
        query.symbol,
        interval_code(query.interval)
    );
    push_param(&mut params, "start", query.start_ms);
    push_param(&mut params, "end", query.end_ms);
    push_param(&mut params, "limit", Some(u64::from(query.limit)));
    public_get(out, host, "/v5/market/kline", &params);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::super::Amount;

    #[test]
    fn amounts_subtract_exactly() {
        let a = Amount::parse("1.5").unwrap();
        let b = Amount::parse("0.25").unwrap();
        assert_eq!(
            a.checked_sub(b).map(|x| x.to_string()),
            Some("1.25".to_owned())
        );
        assert_eq!(b.checked_sub(a), None);
    }
}
