//! OKX API v5 REST (okx.com/docs-v5: Place order, Cancel order, Get order details, Get
//! transaction details (last 3 days), Get balance, Get fee rates, Get instruments, Error codes).
//!
//! Private calls carry the four `OK-ACCESS-*` headers; `POST` bodies are JSON. Answers are
//! `{"code":"0","msg":"","data":[...]}`; a failed order is `code` `"1"` with the reason in
//! `data[0].sCode`/`sMsg` (codes are numeric strings). Placing and cancelling answer with ids
//! only ("It is not strictly considered that the order has been canceled"), so the state comes
//! from the query. Order details give the average price but no quote amount, so an order is
//! valued exactly from its fills (`GET /api/v5/trade/fills`, at most 100 a page, newest first,
//! older pages `after` the last row's `billId`). Fees and fee rates are negative for a charge
//! and positive for a rebate.

use std::io::Write as _;

use kestrel_types::cex::{Rate, Venue};
use serde::Deserialize;
use serde_json::value::RawValue;

use super::candles::{check_query, from_arrays, push_param};
use super::common::{
    self, Ctx, Head, JSON, Num, check_amounts, check_client_id, check_symbol, finish, public_get,
    put_fixed, side_lower,
};
use super::{
    Balance, Call, Candle, CandleQuery, ErrorClass, ErrorCode, Fee, FeeRates, FillReport, Interval,
    OrderFills, OrderRef, OrderReport, OrderRequest, RequestWriter, Scales, Stamp, Status,
    SymbolRules, Tif, VenueError, VenuePrecision, WriteError,
};
use crate::auth::{HttpMethod, OkxHeaders, OkxSigner};

const VENUE: Venue = Venue::Okx;
const CLIENT_ID_RULE: &str = "up to 32 case-sensitive letters and digits";
/// Fills a fills page holds at most (OKX's `limit`: at most 100, 100 by default).
const FILLS_LIMIT: usize = 100;

/// Whether `text` can be a `billId` (a page cursor): up to 32 digits.
fn is_bill_id(text: &str) -> bool {
    !text.is_empty() && text.len() <= 32 && text.bytes().all(|b| b.is_ascii_digit())
}

/// Writes OKX v5 requests.
#[derive(Debug, Clone)]
pub struct OkxWriter {
    signer: OkxSigner,
    host: String,
    demo: bool,
}

impl OkxWriter {
    /// Requests to `host` (`www.okx.com`), signed by `signer`.
    pub fn new(signer: OkxSigner, host: &str) -> Self {
        Self {
            signer,
            host: host.to_owned(),
            demo: false,
        }
    }

    /// The same writer for demo trading: every request carries `x-simulated-trading: 1`.
    pub fn demo_trading(mut self) -> Self {
        self.demo = true;
        self
    }

    /// Writes the head of a signed request whose body is `out[..body_len]`.
    fn finish_signed(
        &self,
        head: &Head<'_>,
        auth: &OkxHeaders,
        body_len: usize,
        out: &mut Vec<u8>,
    ) {
        let all = [
            ("OK-ACCESS-KEY", auth.key.as_str()),
            ("OK-ACCESS-SIGN", auth.sign.as_str()),
            ("OK-ACCESS-TIMESTAMP", auth.timestamp.as_str()),
            ("OK-ACCESS-PASSPHRASE", auth.passphrase.as_str()),
            ("x-simulated-trading", "1"),
        ];
        let headers = if self.demo { &all[..] } else { &all[..4] };
        finish(out, body_len, head, headers);
    }

    /// A signed `POST` of the JSON body already in `out`.
    fn post(&self, path: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let body_len = out.len();
        let auth = self
            .signer
            .headers(stamp.unix_ms, HttpMethod::Post, path, common::text(out))?;
        let head = Head {
            method: HttpMethod::Post,
            path,
            query: "",
            host: &self.host,
            content_type: Some(JSON),
        };
        self.finish_signed(&head, &auth, body_len, out);
        Ok(())
    }

    /// A signed `GET`: the signature covers the path with its query.
    fn get(
        &self,
        path: &str,
        query: &str,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        let request_path = if query.is_empty() {
            path.to_owned()
        } else {
            format!("{path}?{query}")
        };
        let auth = self
            .signer
            .headers(stamp.unix_ms, HttpMethod::Get, &request_path, "")?;
        out.clear();
        let head = Head {
            method: HttpMethod::Get,
            path,
            query,
            host: &self.host,
            content_type: None,
        };
        self.finish_signed(&head, &auth, 0, out);
        Ok(())
    }
}

fn check_ref(order: OrderRef<'_>) -> Result<(), WriteError> {
    match order {
        OrderRef::Client(id) => {
            check_client_id(VENUE, id, 32, |b| b.is_ascii_alphanumeric(), CLIENT_ID_RULE)
        }
        OrderRef::Venue(id) => {
            check_client_id(VENUE, id, 32, |b| b.is_ascii_digit(), "ordId is a number")
        }
    }
}

fn ref_field(order: OrderRef<'_>) -> (&'static str, &str) {
    match order {
        OrderRef::Client(id) => ("clOrdId", id),
        OrderRef::Venue(id) => ("ordId", id),
    }
}

impl RequestWriter for OkxWriter {
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
        // `ioc` and `limit` are OKX order types; a limit order rests until cancelled.
        let ord_type = match order.tif {
            Tif::Gtc => "limit",
            Tif::Ioc => "ioc",
        };
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            r#"{{"instId":"{}","tdMode":"cash","side":"{}","ordType":"{ord_type}","px":""#,
            order.symbol,
            side_lower(order.side)
        );
        put_fixed(out, order.limit, order.scales.price);
        out.extend_from_slice(br#"","sz":""#);
        put_fixed(out, order.size, order.scales.size);
        let _ = write!(out, r#"","clOrdId":"{}"}}"#, order.client_id);
        self.post("/api/v5/trade/order", stamp, out)
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
        let _ = write!(out, r#"{{"instId":"{symbol}","{field}":"{id}"}}"#);
        self.post("/api/v5/trade/cancel-order", stamp, out)
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
        let query = format!("instId={symbol}&{field}={id}");
        self.get("/api/v5/trade/order", &query, stamp, out)
    }

    /// `GET /api/v5/trade/fills?instType=SPOT&instId=&ordId=[&after=]&limit=100` ("Get
    /// transaction details (last 3 days)"). It filters by the venue's order id only: a client
    /// id is refused. The answer is one page of at most 100 fills, newest first; `after` (a
    /// `billId`, from [`OrderFills::next_after`]) asks for the fills older than it.
    fn order_fills(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        after: Option<&str>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        let id = common::venue_order_id(VENUE, symbol, order, check_ref)?;
        let query = match after {
            None => format!("instType=SPOT&instId={symbol}&ordId={id}&limit={FILLS_LIMIT}"),
            Some(cursor) if is_bill_id(cursor) => {
                format!(
                    "instType=SPOT&instId={symbol}&ordId={id}&after={cursor}&limit={FILLS_LIMIT}"
                )
            }
            Some(_) => return Err(WriteError::BadCursor { venue: VENUE }),
        };
        self.get("/api/v5/trade/fills", &query, stamp, out)
    }

    fn balances(&self, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.get("/api/v5/account/balance", "", stamp, out)
    }

    fn fee_rates(&self, symbol: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        let query = format!("instType=SPOT&instId={symbol}");
        self.get("/api/v5/account/trade-fee", &query, stamp, out)
    }

    fn symbol_rules(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        symbol_rules_request(&self.host, symbol, out)
    }

    /// `GET /api/v5/market/candles?instId=&bar=&after=&before=&limit=` (public). OKX's
    /// `after` and `before` are exclusive (records older than `after`, newer than `before`),
    /// so the inclusive bounds are moved by one millisecond. This endpoint keeps the latest
    /// 1440 bars; older ones are under `/api/v5/market/history-candles`, same parameters.
    fn candles(&self, query: &CandleQuery<'_>, out: &mut Vec<u8>) -> Result<(), WriteError> {
        candles_request(&self.host, query, out)
    }
}

/// OKX's `bar` values; the day is `1Dutc` (plain `1D` opens at Hong Kong midnight).
pub(crate) const fn bar(interval: Interval) -> &'static str {
    match interval {
        Interval::M1 => "1m",
        Interval::M5 => "5m",
        Interval::M15 => "15m",
        Interval::H1 => "1H",
        Interval::H4 => "4H",
        Interval::D1 => "1Dutc",
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// The "Error Code" page's codes this crate classifies.
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
        // Rate limits, "Systems are busy", service unavailable, too frequent operations,
        // sub-account order rate, market-price liquidation requests too frequent.
        50011 | 50013 | 50001 | 50040 | 50061 | 51113 => ErrorClass::Retryable,
        // "API endpoint request timeout (does not mean that the request was successful or
        // failed)", "Request timed out", "System error".
        50004 | 51054 | 50026 => unknown_on_orders,
        // API frozen, environment, timestamp expired, missing/invalid headers, IP allowlist,
        // invalid signature or authorization, no permission.
        50100..=50114 | 50030 | 50120 | 50035 => ErrorClass::Auth,
        // Parameter error, instrument doesn't exist, insufficient balance, order id / client
        // id exists, minimum amount, lot size, cancellation failed (filled, cancelled or
        // missing), insufficient balance, order doesn't exist.
        51000 | 51001 | 51008 | 51011 | 51016 | 51020 | 51121 | 51400 | 51131 | 51603 | 51127
        | 50014 | 51006 => ErrorClass::Rejected,
        _ => return None,
    })
}

fn code_of(text: &str) -> ErrorCode {
    text.parse()
        .map_or_else(|_| ErrorCode::Text(text.to_owned()), ErrorCode::Number)
}

#[derive(Deserialize)]
struct Envelope<'a> {
    #[serde(borrow)]
    code: Num<'a>,
    #[serde(default)]
    msg: String,
    #[serde(borrow)]
    data: Option<&'a RawValue>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Outcome {
    s_code: Option<String>,
    #[serde(default)]
    s_msg: String,
}

/// The refusal an envelope carries: the per-order `sCode` when it is set and not `"0"`, else
/// a non-zero `code`.
fn refusal(ctx: &Ctx, envelope: &Envelope<'_>) -> Option<VenueError> {
    let outcome = envelope
        .data
        .and_then(|raw| serde_json::from_str::<Vec<Outcome>>(raw.get()).ok())
        .and_then(|items| items.into_iter().next())
        .filter(|o| {
            o.s_code
                .as_deref()
                .is_some_and(|c| !c.is_empty() && c != "0")
        });
    if let Some(outcome) = outcome {
        let code = outcome.s_code.as_deref().map(code_of);
        return Some(ctx.refused(code, outcome.s_msg));
    }
    let code = envelope.code.text();
    (code != "0").then(|| ctx.refused(Some(code_of(code)), envelope.msg.clone()))
}

/// The first `data` item of an answer, or its refusal.
fn read_first<'a, T: Deserialize<'a>>(ctx: &Ctx, body: &'a [u8]) -> Result<T, VenueError> {
    read_data(ctx, body)?
        .into_iter()
        .next()
        .ok_or_else(|| ctx.missing("data item"))
}

/// Every `data` item of an answer, or its refusal.
fn read_data<'a, T: Deserialize<'a>>(ctx: &Ctx, body: &'a [u8]) -> Result<Vec<T>, VenueError> {
    let envelope: Envelope<'a> = match serde_json::from_slice(body) {
        Ok(envelope) => envelope,
        Err(_) if !ctx.is_success() => return Err(ctx.by_status(body)),
        Err(e) => return Err(ctx.unreadable(e)),
    };
    if let Some(error) = refusal(ctx, &envelope) {
        return Err(error);
    }
    if !ctx.is_success() {
        return Err(ctx.by_status(body));
    }
    let raw = envelope.data.ok_or_else(|| ctx.missing("data"))?;
    serde_json::from_str(raw.get()).map_err(|e| ctx.unreadable(e))
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

/// `GET /api/v5/market/candles`: `data` rows `[ts, o, h, l, c, vol, volCcy, volCcyQuote,
/// confirm]`, newest first; `vol` is in the base currency on spot.
pub(super) fn parse_candles(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Candles, http_status);
    let rows: Vec<Vec<Num<'_>>> = read_data(&ctx, body)?;
    from_arrays(&ctx, &rows, 5, 1, scales)
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Ack {
    ord_id: String,
    #[serde(default)]
    cl_ord_id: String,
}

/// Place and cancel answers: `data[0]` with `ordId`, `clOrdId`, `sCode`.
pub(super) fn parse_ack(
    http_status: u16,
    body: &[u8],
    call: Call,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, call, http_status);
    let ack: Ack = read_first(&ctx, body)?;
    if ack.ord_id.is_empty() {
        return Err(ctx.missing("ordId"));
    }
    Ok(OrderReport::accepted(ack.ord_id, ack.cl_ord_id))
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Details<'a> {
    ord_id: String,
    #[serde(default)]
    cl_ord_id: String,
    state: String,
    #[serde(borrow)]
    acc_fill_sz: Num<'a>,
    #[serde(borrow)]
    avg_px: Option<Num<'a>>,
    #[serde(borrow)]
    fee: Option<Num<'a>>,
    #[serde(default)]
    fee_ccy: String,
    #[serde(borrow)]
    rebate: Option<Num<'a>>,
    #[serde(default)]
    rebate_ccy: String,
}

/// Get order details. OKX gives the cumulative size, the average price and the last fill
/// only, so `fills` stays empty and `notional` is `None`; `fee` is negative for a charge.
pub(super) fn parse_query(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::QueryOrder, http_status);
    let order: Details<'_> = read_first(&ctx, body)?;
    let status = match order.state.as_str() {
        "live" => Status::New,
        "partially_filled" => Status::PartiallyFilled,
        "filled" => Status::Filled,
        "canceled" | "mmp_canceled" => Status::Canceled,
        other => return Err(ctx.unreadable(format_args!("state `{}`", common::clip(other)))),
    };
    let mut report = OrderReport::accepted(order.ord_id, order.cl_ord_id);
    report.status = Some(status);
    report.filled = ctx.fixed(order.acc_fill_sz.text(), scales.size, "accFillSz")?;
    report.avg_price = ctx.opt_amount(common::opt_text(order.avg_px), "avgPx")?;
    let (negative, fee) = match common::opt_text(order.fee) {
        "" => (false, super::Amount::default()),
        text => ctx.signed(text, "fee")?,
    };
    if !fee.is_zero() {
        report.fees.push(Fee {
            asset: order.fee_ccy,
            amount: fee,
            rebate: !negative,
        });
    }
    let rebate = ctx.opt_amount(common::opt_text(order.rebate), "rebate")?;
    if let Some(rebate) = rebate.filter(|r| !r.is_zero()) {
        report.fees.push(Fee {
            asset: order.rebate_ccy,
            amount: rebate,
            rebate: true,
        });
    }
    Ok(report)
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FillRow<'a> {
    ord_id: String,
    trade_id: String,
    #[serde(default)]
    bill_id: String,
    side: String,
    #[serde(borrow)]
    fill_px: Num<'a>,
    #[serde(borrow)]
    fill_sz: Num<'a>,
    #[serde(borrow)]
    fee: Option<Num<'a>>,
    #[serde(default)]
    fee_ccy: String,
    #[serde(borrow)]
    ts: Num<'a>,
}

/// Get transaction details: one `data` item per fill, newest first, with `fillPx`, `fillSz`,
/// `fee` (negative for a charge, positive for a rebate) in `feeCcy`, `ordId`, `tradeId`,
/// `billId`, `side` and `ts`. Prices and sizes must be exact at `scales`. A full page (100
/// rows) may have older fills after it: its last row's `billId`, which must then be one, is
/// the next page's cursor.
pub(super) fn parse_fills(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderFills, VenueError> {
    let ctx = Ctx::new(VENUE, Call::OrderFills, http_status);
    let rows: Vec<FillRow<'_>> = read_data(&ctx, body)?;
    let mut out = OrderFills::default();
    if rows.len() >= FILLS_LIMIT
        && let Some(last) = rows.last()
    {
        if !is_bill_id(&last.bill_id) {
            return Err(ctx.unreadable(format_args!("billId `{}`", common::clip(&last.bill_id))));
        }
        out.next_after = Some(last.bill_id.clone());
    }
    for row in rows {
        if row.ord_id.is_empty() || row.trade_id.is_empty() {
            return Err(ctx.missing("ordId or tradeId"));
        }
        if !matches!(row.side.as_str(), "buy" | "sell") {
            return Err(ctx.unreadable(format_args!("side `{}`", common::clip(&row.side))));
        }
        if row.ts.text().is_empty() || !row.ts.text().bytes().all(|b| b.is_ascii_digit()) {
            return Err(ctx.unreadable(format_args!("ts `{}`", common::clip(row.ts.text()))));
        }
        let price = ctx.fixed(row.fill_px.text(), scales.price, "fillPx")?;
        let size = ctx.fixed(row.fill_sz.text(), scales.size, "fillSz")?;
        let (negative, amount) = match common::opt_text(row.fee) {
            "" => (false, super::Amount::default()),
            text => ctx.signed(text, "fee")?,
        };
        let fee = Fee {
            asset: row.fee_ccy,
            amount,
            rebate: !negative && !amount.is_zero(),
        };
        if !amount.is_zero() {
            common::add_fee(&mut out.fees, &fee.asset, amount, fee.rebate)
                .ok_or_else(|| ctx.unreadable("fees overflow"))?;
        }
        out.fills.push(FillReport {
            price,
            size,
            fee,
            trade_id: row.trade_id,
        });
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Account
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Account<'a> {
    #[serde(borrow)]
    details: Vec<CcyBalance<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct CcyBalance<'a> {
    ccy: String,
    #[serde(borrow)]
    avail_bal: Option<Num<'a>>,
    #[serde(borrow)]
    frozen_bal: Option<Num<'a>>,
}

/// `free = availBal`, `locked = frozenBal` (an empty string is zero).
pub(super) fn parse_balances(http_status: u16, body: &[u8]) -> Result<Vec<Balance>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Balances, http_status);
    let account: Account<'_> = read_first(&ctx, body)?;
    account
        .details
        .into_iter()
        .map(|d| {
            let amount = |value: Option<Num<'_>>, field| {
                ctx.opt_amount(common::opt_text(value), field)
                    .map(Option::unwrap_or_default)
            };
            Ok(Balance {
                free: amount(d.avail_bal, "availBal")?,
                locked: amount(d.frozen_bal, "frozenBal")?,
                asset: d.ccy,
            })
        })
        .collect()
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct FeeRow<'a> {
    #[serde(default, borrow)]
    fee_group: Vec<Group<'a>>,
    #[serde(borrow)]
    maker: Option<Num<'a>>,
    #[serde(borrow)]
    taker: Option<Num<'a>>,
}

#[derive(Deserialize)]
struct Group<'a> {
    #[serde(borrow)]
    maker: Num<'a>,
    #[serde(borrow)]
    taker: Num<'a>,
}

/// An OKX rate: negative is a charge (its magnitude), positive a rebate (zero).
fn charge(ctx: &Ctx, text: &str, field: &str) -> Result<Rate, VenueError> {
    let (negative, amount) = ctx.signed(text, field)?;
    if negative {
        common::rate_from(ctx, amount, field)
    } else {
        Ok(Rate(0))
    }
}

/// `feeGroup` (the current field; asked with `instId`, it holds the symbol's group), falling
/// back to the deprecated top-level `maker`/`taker`. Several groups: the most expensive.
pub(super) fn parse_fee_rates(http_status: u16, body: &[u8]) -> Result<FeeRates, VenueError> {
    let ctx = Ctx::new(VENUE, Call::FeeRates, http_status);
    let row: FeeRow<'_> = read_first(&ctx, body)?;
    if row.fee_group.is_empty() {
        let maker = row.maker.ok_or_else(|| ctx.missing("maker"))?;
        let taker = row.taker.ok_or_else(|| ctx.missing("taker"))?;
        return Ok(FeeRates {
            maker: charge(&ctx, maker.text(), "maker")?,
            taker: charge(&ctx, taker.text(), "taker")?,
            discounted_taker: None,
            discount_asset: None,
        });
    }
    let mut rates = FeeRates {
        maker: Rate(0),
        taker: Rate(0),
        discounted_taker: None,
        discount_asset: None,
    };
    for group in &row.fee_group {
        rates.maker = rates
            .maker
            .max(charge(&ctx, group.maker.text(), "feeGroup.maker")?);
        rates.taker = rates
            .taker
            .max(charge(&ctx, group.taker.text(), "feeGroup.taker")?);
    }
    Ok(rates)
}

// ---------------------------------------------------------------------------------------------
// Symbol rules
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Instrument<'a> {
    #[serde(borrow)]
    tick_sz: Num<'a>,
    #[serde(borrow)]
    lot_sz: Num<'a>,
    #[serde(borrow)]
    min_sz: Num<'a>,
}

/// `tickSz`, `lotSz`, `minSz`; OKX publishes no minimum notional for spot.
pub(super) fn parse_symbol_rules(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<SymbolRules, VenueError> {
    let ctx = Ctx::new(VENUE, Call::SymbolRules, http_status);
    let inst: Instrument<'_> = read_first(&ctx, body)?;
    Ok(SymbolRules {
        tick: ctx.fixed(inst.tick_sz.text(), scales.price, "tickSz")?,
        lot: ctx.fixed(inst.lot_sz.text(), scales.size, "lotSz")?,
        min_size: ctx.fixed(inst.min_sz.text(), scales.size, "minSz")?,
        min_notional: None,
        venue: VenuePrecision {
            price_digits: common::step_digits(inst.tick_sz.text()),
            size_digits: common::step_digits(inst.lot_sz.text()),
            quote_digits: None,
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
    let query = format!("instType=SPOT&instId={symbol}");
    public_get(out, host, "/api/v5/public/instruments", &query);
    Ok(())
}

/// The candle request for `host` (public: no key involved).
pub(crate) fn candles_request(
    host: &str,
    query: &CandleQuery<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_query(VENUE, query)?;
    let mut params = format!("instId={}&bar={}", query.symbol, bar(query.interval));
    push_param(
        &mut params,
        "after",
        query.end_ms.and_then(|e| e.checked_add(1)),
    );
    push_param(
        &mut params,
        "before",
        query.start_ms.and_then(|s| s.checked_sub(1)),
    );
    push_param(&mut params, "limit", Some(u64::from(query.limit)));
    public_get(out, host, "/api/v5/market/candles", &params);
    Ok(())
}
