//! Binance spot REST (binance-spot-api-docs `rest-api.md`, `errors.md`, `filters.md`,
//! `faqs/commission_faq.md`).
//!
//! Orders are `POST /api/v3/order` with the parameters form-encoded in the body and signed
//! (`newOrderRespType=FULL`, so the answer carries the fills). Cancels are
//! `DELETE /api/v3/order`, queries `GET /api/v3/order`, both by `origClientOrderId`; an order's
//! trades `GET /api/v3/myTrades` by `orderId` (the order query carries no commission; its
//! trades do, exactly); balances `GET /api/v3/account`; fees `GET /api/v3/account/commission`;
//! rules `GET /api/v3/exchangeInfo?symbol=` and candles `GET /api/v3/klines` (both public).
//! Errors are `{"code":-1121,"msg":"..."}` with a 4xx; a 5xx leaves the outcome unknown ("could
//! have been a success").

use std::io::Write as _;

use kestrel_types::cex::{Fixed, Rate, Venue};
use serde::Deserialize;

use super::candles::{check_query, from_arrays, push_param};
use super::common::{
    self, Ctx, FORM, Head, Num, add_fee, check_amounts, check_client_id, check_symbol, finish,
    product, public_get, put_fixed, side_upper,
};
use super::{
    Amount, Balance, Call, Candle, CandleQuery, ErrorClass, ErrorCode, FeeRates, FillReport,
    OrderFills, OrderRef, OrderReport, OrderRequest, OrderWindow, RequestWriter, Scales, Stamp,
    Status, SymbolRules, Tif, VenueError, VenuePrecision, WriteError,
};
use crate::auth::{BINANCE_DEFAULT_RECV_WINDOW_MS, BinanceSigner, HttpMethod};

const VENUE: Venue = Venue::Binance;
const CLIENT_ID_RULE: &str = "^[.A-Z:/a-z0-9_-]{1,36}$";
/// Trades a `myTrades` page holds at most (its `limit`: 500 by default, at most 1000).
const TRADES_LIMIT: usize = 1_000;

/// Whether `text` can be a trade id (a `fromId` cursor): a number that fits a `LONG`.
fn is_trade_id(text: &str) -> bool {
    !text.is_empty() && text.bytes().all(|b| b.is_ascii_digit()) && text.parse::<i64>().is_ok()
}

/// Writes Binance spot requests.
#[derive(Debug, Clone)]
pub struct BinanceWriter {
    signer: BinanceSigner,
    host: String,
    recv_window_ms: u32,
}

impl BinanceWriter {
    /// Requests to `host` (`api.binance.com`), signed by `signer`, with the default
    /// `recvWindow` of 5000 ms.
    pub fn new(signer: BinanceSigner, host: &str) -> Self {
        Self {
            signer,
            host: host.to_owned(),
            recv_window_ms: BINANCE_DEFAULT_RECV_WINDOW_MS,
        }
    }

    /// The same writer with another `recvWindow` (at most 60000 ms, or Binance answers
    /// `-1102`).
    pub fn with_recv_window(mut self, recv_window_ms: u32) -> Self {
        self.recv_window_ms = recv_window_ms;
        self
    }

    /// A signed request whose parameters (`params`, then `recvWindow`, `timestamp`,
    /// `signature`) go in the query string.
    fn signed_get(
        &self,
        method: HttpMethod,
        path: &str,
        params: &str,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) {
        let query = self
            .signer
            .signed_query(params, stamp.unix_ms, self.recv_window_ms);
        out.clear();
        let head = Head {
            method,
            path,
            query: &query,
            host: &self.host,
            content_type: None,
        };
        finish(out, 0, &head, &[("X-MBX-APIKEY", self.signer.api_key())]);
    }
}

fn check_ref(order: OrderRef<'_>) -> Result<(), WriteError> {
    match order {
        OrderRef::Client(id) => check_client_id(VENUE, id, 36, client_id_char, CLIENT_ID_RULE),
        OrderRef::Venue(id) => {
            check_client_id(VENUE, id, 20, |b| b.is_ascii_digit(), "orderId is a number")
        }
    }
}

fn client_id_char(b: u8) -> bool {
    common::id_char(b) || matches!(b, b'.' | b':' | b'/')
}

fn ref_params(symbol: &str, order: OrderRef<'_>) -> String {
    match order {
        OrderRef::Client(id) => format!("symbol={symbol}&origClientOrderId={id}"),
        OrderRef::Venue(id) => format!("symbol={symbol}&orderId={id}"),
    }
}

impl RequestWriter for BinanceWriter {
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
        check_client_id(VENUE, order.client_id, 36, client_id_char, CLIENT_ID_RULE)?;
        check_amounts(VENUE, order.size, order.limit)?;
        let tif = match order.tif {
            Tif::Gtc => "GTC",
            Tif::Ioc => "IOC",
        };
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            "symbol={}&side={}&type=LIMIT&timeInForce={tif}&quantity=",
            order.symbol,
            side_upper(order.side)
        );
        put_fixed(out, order.size, order.scales.size);
        out.extend_from_slice(b"&price=");
        put_fixed(out, order.limit, order.scales.price);
        let _ = write!(
            out,
            "&newClientOrderId={}&newOrderRespType=FULL",
            order.client_id
        );
        let body = self
            .signer
            .signed_query(common::text(out), stamp.unix_ms, self.recv_window_ms);
        out.clear();
        out.extend_from_slice(body.as_bytes());
        let head = Head {
            method: HttpMethod::Post,
            path: "/api/v3/order",
            query: "",
            host: &self.host,
            content_type: Some(FORM),
        };
        finish(
            out,
            body.len(),
            &head,
            &[("X-MBX-APIKEY", self.signer.api_key())],
        );
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
        let params = ref_params(symbol, order);
        self.signed_get(HttpMethod::Delete, "/api/v3/order", &params, stamp, out);
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
        let params = ref_params(symbol, order);
        self.signed_get(HttpMethod::Get, "/api/v3/order", &params, stamp, out);
        Ok(())
    }

    /// `GET /api/v3/myTrades?symbol=&orderId=[&fromId=]&limit=1000` ("Account trade list",
    /// weight 5 with an `orderId`): the order's trades, each with its exact `commission` and
    /// `commissionAsset`. It takes the venue's order id only: a client id is refused. A page
    /// holds at most 1000 trades; `after` (a trade id, from [`OrderFills::next_after`]: the
    /// one after the last trade read) asks for the trades from it on (`fromId`, which the
    /// docs allow with `orderId`).
    fn order_fills(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        after: Option<&str>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        let id = common::venue_order_id(VENUE, symbol, order, check_ref)?;
        let params = match after {
            None => format!("symbol={symbol}&orderId={id}&limit={TRADES_LIMIT}"),
            Some(from) if is_trade_id(from) => {
                format!("symbol={symbol}&orderId={id}&fromId={from}&limit={TRADES_LIMIT}")
            }
            Some(_) => return Err(WriteError::BadCursor { venue: VENUE }),
        };
        self.signed_get(HttpMethod::Get, "/api/v3/myTrades", &params, stamp, out);
        Ok(())
    }

    fn balances(&self, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let params = "omitZeroBalances=true";
        self.signed_get(HttpMethod::Get, "/api/v3/account", params, stamp, out);
        Ok(())
    }

    fn fee_rates(&self, symbol: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        let params = format!("symbol={symbol}");
        self.signed_get(
            HttpMethod::Get,
            "/api/v3/account/commission",
            &params,
            stamp,
            out,
        );
        Ok(())
    }

    fn symbol_rules(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        symbol_rules_request(&self.host, symbol, out)
    }

    /// `GET /api/v3/klines?symbol=&interval=&startTime=&endTime=&limit=` (public; bounds
    /// inclusive on the open time).
    fn candles(&self, query: &CandleQuery<'_>, out: &mut Vec<u8>) -> Result<(), WriteError> {
        candles_request(&self.host, query, out)
    }

    /// `GET /api/v3/ticker/price?symbol=` (public, weight 2).
    fn last_price(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        check_symbol(VENUE, symbol)?;
        public_get(
            out,
            &self.host,
            "/api/v3/ticker/price",
            &format!("symbol={symbol}"),
        );
        Ok(())
    }
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// `errors.md` codes this crate classifies; `None` for the rest (the HTTP status decides).
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
        // TOO_MANY_REQUESTS, TOO_MANY_ORDERS, SERVER_BUSY, TOO_MANY_CONNECTIONS.
        -1003 | -1015 | -1008 | -1034 => ErrorClass::Retryable,
        // TIMEOUT, UNEXPECTED_RESP ("execution status unknown"), UNKNOWN, DISCONNECTED.
        -1007 | -1006 | -1000 | -1001 => unknown_on_orders,
        // UNAUTHORIZED, INVALID_TIMESTAMP, INVALID_SIGNATURE, BAD_API_KEY_FMT,
        // REJECTED_MBX_KEY.
        -1002 | -1021 | -1022 | -2014 | -2015 => ErrorClass::Auth,
        // INVALID_MESSAGE (filters), BAD_SYMBOL, NEW_ORDER_REJECTED (balance), CANCEL_REJECTED,
        // NO_SUCH_ORDER, ILLEGAL_CHARS, TOO_MANY_PARAMETERS, MANDATORY_PARAM_EMPTY_OR_MALFORMED,
        // BAD_PRECISION, UNKNOWN_ORDER_COMPOSITION, UNSUPPORTED_OPERATION, ORDER_ARCHIVED.
        -1013 | -1121 | -2010 | -2011 | -2013 | -1100 | -1101 | -1102 | -1111 | -1014 | -1020
        | -2026 => ErrorClass::Rejected,
        _ => return None,
    })
}

#[derive(Deserialize)]
struct ApiError {
    code: i64,
    #[serde(default)]
    msg: String,
}

/// The error an answer carries, if it is one.
fn error_of(ctx: &Ctx, body: &[u8]) -> Option<VenueError> {
    if ctx.is_success() {
        return None;
    }
    Some(match serde_json::from_slice::<ApiError>(body) {
        Ok(error) => ctx.refused(Some(ErrorCode::Number(error.code)), error.msg),
        Err(_) => ctx.by_status(body),
    })
}

fn read<'a, T: Deserialize<'a>>(ctx: &Ctx, body: &'a [u8]) -> Result<T, VenueError> {
    match error_of(ctx, body) {
        Some(error) => Err(error),
        None => ctx.json(body),
    }
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Order<'a> {
    #[serde(borrow)]
    order_id: Num<'a>,
    client_order_id: String,
    /// Present on a cancel's answer: the cancelled order's client id.
    orig_client_order_id: Option<String>,
    status: Option<String>,
    #[serde(borrow)]
    executed_qty: Option<Num<'a>>,
    #[serde(borrow)]
    cummulative_quote_qty: Option<Num<'a>>,
    #[serde(default, borrow)]
    fills: Vec<Fill<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Fill<'a> {
    #[serde(borrow)]
    price: Num<'a>,
    #[serde(borrow)]
    qty: Num<'a>,
    #[serde(borrow)]
    commission: Num<'a>,
    commission_asset: String,
    #[serde(borrow)]
    trade_id: Num<'a>,
}

fn status_of(ctx: &Ctx, text: &str) -> Result<Status, VenueError> {
    Ok(match text {
        "NEW" | "PENDING_NEW" => Status::New,
        "PARTIALLY_FILLED" => Status::PartiallyFilled,
        "FILLED" => Status::Filled,
        "CANCELED" | "PENDING_CANCEL" => Status::Canceled,
        "REJECTED" => Status::Rejected,
        "EXPIRED" | "EXPIRED_IN_MATCH" => Status::Expired,
        other => return Err(ctx.unreadable(format_args!("status `{}`", common::clip(other)))),
    })
}

/// Reads a new order's `FULL` answer, a cancel's answer or a query's answer: all three are the
/// same order object.
pub(super) fn parse_order(
    http_status: u16,
    body: &[u8],
    scales: Scales,
    call: Call,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, call, http_status);
    let order: Order<'_> = read(&ctx, body)?;
    let client_id = order.orig_client_order_id.unwrap_or(order.client_order_id);
    let mut report = OrderReport::accepted(order.order_id.text().to_owned(), client_id);
    let Some(status) = order.status else {
        // An ACK answer: ids only.
        return Ok(report);
    };
    report.status = Some(status_of(&ctx, &status)?);
    if let Some(executed) = order.executed_qty {
        report.filled = ctx.fixed(executed.text(), scales.size, "executedQty")?;
    }
    read_fills(&ctx, &order.fills, scales, &mut report)?;
    if report.fills.is_empty() {
        report.notional = cumulative_quote(&ctx, order.cummulative_quote_qty, scales)?;
    }
    Ok(report)
}

/// `cummulativeQuoteQty`, unless negative ("not available" for some historical orders).
fn cumulative_quote(
    ctx: &Ctx,
    value: Option<Num<'_>>,
    scales: Scales,
) -> Result<Option<u128>, VenueError> {
    match value.map(|v| v.text()) {
        None => Ok(None),
        Some(text) if text.starts_with('-') => Ok(None),
        Some(text) => ctx.notional(text, scales, "cummulativeQuoteQty").map(Some),
    }
}

fn read_fills(
    ctx: &Ctx,
    fills: &[Fill<'_>],
    scales: Scales,
    report: &mut OrderReport,
) -> Result<(), VenueError> {
    let mut notional: u128 = 0;
    let mut size_sum: u64 = 0;
    for fill in fills {
        let price = ctx.fixed(fill.price.text(), scales.price, "fills.price")?;
        let size = ctx.fixed(fill.qty.text(), scales.size, "fills.qty")?;
        let fee = ctx.amount(fill.commission.text(), "fills.commission")?;
        let overflow = || ctx.unreadable("fill totals overflow");
        notional = product(price, size)
            .and_then(|p| notional.checked_add(p))
            .ok_or_else(overflow)?;
        size_sum = size_sum.checked_add(size.0).ok_or_else(overflow)?;
        add_fee(&mut report.fees, &fill.commission_asset, fee, false).ok_or_else(overflow)?;
        report.fills.push(FillReport {
            price,
            size,
            fee: super::Fee {
                asset: fill.commission_asset.clone(),
                amount: fee,
                rebate: false,
            },
            trade_id: fill.trade_id.text().to_owned(),
        });
    }
    if !fills.is_empty() {
        // Paired check: the fills add up to what the order says was executed.
        if Fixed(size_sum) != report.filled {
            return Err(ctx.unreadable("fills do not add up to executedQty"));
        }
        report.notional = Some(notional);
    }
    Ok(())
}

/// One row of `myTrades` ("Account trade list"); `quoteQty` (which Binance may round to the
/// quote asset's precision), `isBuyer`, `isMaker` and the rest are not needed: the notional is
/// `Σ price × qty`, exactly.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccountTrade<'a> {
    #[serde(borrow)]
    id: Num<'a>,
    #[serde(borrow)]
    order_id: Num<'a>,
    #[serde(borrow)]
    price: Num<'a>,
    #[serde(borrow)]
    qty: Num<'a>,
    #[serde(borrow)]
    commission: Num<'a>,
    commission_asset: String,
}

/// A trade or order id: a non-negative `LONG`.
fn id_of(ctx: &Ctx, num: Num<'_>, field: &str) -> Result<u64, VenueError> {
    let text = num.text();
    match text.parse::<u64>() {
        Ok(id) if is_trade_id(text) => Ok(id),
        _ => Err(ctx.unreadable(format_args!("`{field}` = `{}`", common::clip(text)))),
    }
}

/// `myTrades`: an array of one order's trades, oldest first, each with its `price`, `qty` and
/// `commission` (always a charge) in `commissionAsset`. Prices and sizes must be exact at
/// `scales`; every row must be of one order. A full page (1000 rows) may have newer trades
/// after it: the next page starts at its highest `id` plus one.
pub(super) fn parse_trades(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderFills, VenueError> {
    let ctx = Ctx::new(VENUE, Call::OrderFills, http_status);
    let rows: Vec<AccountTrade<'_>> = read(&ctx, body)?;
    let mut out = OrderFills::default();
    let mut order_id = None;
    let mut last_id = 0u64;
    for row in rows {
        let id = id_of(&ctx, row.id, "id")?;
        let of = id_of(&ctx, row.order_id, "orderId")?;
        if *order_id.get_or_insert(of) != of {
            return Err(ctx.unreadable("trades of more than one order"));
        }
        last_id = last_id.max(id);
        let price = ctx.fixed(row.price.text(), scales.price, "price")?;
        let size = ctx.fixed(row.qty.text(), scales.size, "qty")?;
        let amount = ctx.amount(row.commission.text(), "commission")?;
        if !amount.is_zero() {
            if row.commission_asset.is_empty() {
                return Err(ctx.missing("commissionAsset"));
            }
            add_fee(&mut out.fees, &row.commission_asset, amount, false)
                .ok_or_else(|| ctx.unreadable("commissions overflow"))?;
        }
        out.fills.push(FillReport {
            price,
            size,
            fee: super::Fee {
                asset: row.commission_asset,
                amount,
                rebate: false,
            },
            trade_id: id.to_string(),
        });
    }
    if out.fills.len() >= TRADES_LIMIT {
        let next = last_id
            .checked_add(1)
            .ok_or_else(|| ctx.unreadable("trade id overflows"))?;
        out.next_after = Some(next.to_string());
    }
    Ok(out)
}

// ---------------------------------------------------------------------------------------------
// Account
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Account<'a> {
    #[serde(borrow)]
    balances: Vec<AssetBalance<'a>>,
}

#[derive(Deserialize)]
struct AssetBalance<'a> {
    asset: String,
    #[serde(borrow)]
    free: Num<'a>,
    #[serde(borrow)]
    locked: Num<'a>,
}

pub(super) fn parse_balances(http_status: u16, body: &[u8]) -> Result<Vec<Balance>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Balances, http_status);
    let account: Account<'_> = read(&ctx, body)?;
    account
        .balances
        .into_iter()
        .map(|b| {
            Ok(Balance {
                free: ctx.amount(b.free.text(), "free")?,
                locked: ctx.amount(b.locked.text(), "locked")?,
                asset: b.asset,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct TickerPrice<'a> {
    #[serde(borrow)]
    price: Num<'a>,
}

/// `{"symbol": "BNBUSDT", "price": "600.00000000"}`.
pub(super) fn parse_last_price(http_status: u16, body: &[u8]) -> Result<Amount, VenueError> {
    let ctx = Ctx::new(VENUE, Call::LastPrice, http_status);
    let ticker: TickerPrice<'_> = read(&ctx, body)?;
    ctx.amount(ticker.price.text(), "price")
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Commission<'a> {
    #[serde(borrow)]
    standard_commission: Rates<'a>,
    #[serde(borrow)]
    special_commission: Option<Rates<'a>>,
    #[serde(borrow)]
    tax_commission: Option<Rates<'a>>,
    #[serde(borrow)]
    discount: Option<Discount<'a>>,
}

/// The discount on the standard commission when it is paid in `discountAsset` (BNB).
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Discount<'a> {
    enabled_for_account: bool,
    enabled_for_symbol: bool,
    /// Checked only where the discount is enabled (an answer without it reads otherwise).
    #[serde(default)]
    discount_asset: String,
    #[serde(borrow)]
    discount: Num<'a>,
}

#[derive(Deserialize)]
struct Rates<'a> {
    #[serde(borrow)]
    maker: Num<'a>,
    #[serde(borrow)]
    taker: Num<'a>,
    #[serde(borrow)]
    buyer: Option<Num<'a>>,
    #[serde(borrow)]
    seller: Option<Num<'a>>,
}

/// Maker and taker rates: per `commission_faq.md` each of the standard, special and tax
/// commissions charges `maker|taker + buyer|seller`, all three added. The side is not known
/// here, so the larger of buyer and seller is counted (never under-counted).
///
/// Where `discount` is enabled for both the account and the symbol, a fee paid in its asset
/// (BNB) has the standard commission multiplied by `discount` ("Standard commission is reduced
/// by this rate when paying commission in BNB"), rounded up to `10^-8`: that is
/// [`FeeRates::discounted_taker`]. Whether a fill is paid so depends on the BNB balance at
/// the time, so `taker` stays the undiscounted rate that the decision counts.
pub(super) fn parse_fee_rates(http_status: u16, body: &[u8]) -> Result<FeeRates, VenueError> {
    let ctx = Ctx::new(VENUE, Call::FeeRates, http_status);
    let commission: Commission<'_> = read(&ctx, body)?;
    let parts = [
        Some(&commission.standard_commission),
        commission.special_commission.as_ref(),
        commission.tax_commission.as_ref(),
    ];
    // Taker rate of each part, the standard's first.
    let mut takers = [Rate(0); 3];
    let mut maker = Amount::default();
    let mut taker = Amount::default();
    let overflow = || ctx.unreadable("commission rates overflow");
    for (i, rates) in parts.into_iter().enumerate() {
        let Some(rates) = rates else { continue };
        let side = side_rate(&ctx, rates)?;
        let m = ctx.amount(rates.maker.text(), "maker")?;
        let t = ctx.amount(rates.taker.text(), "taker")?;
        maker = maker
            .checked_add(m)
            .and_then(|x| x.checked_add(side))
            .ok_or_else(overflow)?;
        let part = t.checked_add(side).ok_or_else(overflow)?;
        takers[i] = common::rate_from(&ctx, part, "taker")?;
        taker = taker.checked_add(part).ok_or_else(overflow)?;
    }
    let (discounted_taker, discount_asset) = match commission.discount {
        Some(d) if d.enabled_for_account && d.enabled_for_symbol => {
            let factor = ctx.amount(d.discount.text(), "discount.discount")?;
            let factor = common::rate_from(&ctx, factor, "discount.discount")?;
            if u128::from(factor.0) > Rate::ONE {
                // A "discount" that raises the fee is not one this reading understands.
                return Err(ctx.unreadable(format_args!(
                    "`discount.discount` = {} is more than 1",
                    d.discount.text()
                )));
            }
            if d.discount_asset.is_empty() {
                return Err(ctx.unreadable("`discount.discountAsset` is empty"));
            }
            let [standard, special, tax] = takers;
            let rate = standard
                .times(factor)
                .0
                .checked_add(special.0)
                .and_then(|x| x.checked_add(tax.0))
                .ok_or_else(overflow)?;
            (Some(Rate(rate)), Some(d.discount_asset))
        }
        _ => (None, None),
    };
    Ok(FeeRates {
        maker: common::rate_from(&ctx, maker, "maker")?,
        taker: common::rate_from(&ctx, taker, "taker")?,
        discounted_taker,
        discount_asset,
    })
}

fn side_rate(ctx: &Ctx, rates: &Rates<'_>) -> Result<Amount, VenueError> {
    let buyer = ctx.opt_amount(common::opt_text(rates.buyer), "buyer")?;
    let seller = ctx.opt_amount(common::opt_text(rates.seller), "seller")?;
    let (buyer, seller) = (buyer.unwrap_or_default(), seller.unwrap_or_default());
    Ok(if buyer.checked_sub(seller).is_some() {
        buyer
    } else {
        seller
    })
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

/// `GET /api/v3/klines`: an array of rows `[openTime, open, high, low, close, volume,
/// closeTime, quoteVolume, trades, takerBase, takerQuote, ignore]`, oldest first.
pub(super) fn parse_candles(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Candles, http_status);
    let rows: Vec<Vec<Num<'_>>> = read(&ctx, body)?;
    from_arrays(&ctx, &rows, 5, 1, scales)
}

// ---------------------------------------------------------------------------------------------
// Symbol rules
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct ExchangeInfo<'a> {
    #[serde(default)]
    rate_limits: Vec<RateLimit>,
    #[serde(borrow)]
    symbols: Vec<SymbolInfo<'a>>,
}

/// One of `exchangeInfo`'s `rateLimits` (enums.md, "Rate limiters").
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct RateLimit {
    rate_limit_type: String,
    interval: String,
    interval_num: u32,
    limit: u32,
}

/// What one request costs against the IP's `REQUEST_WEIGHT`, per rest-api.md: an order or a
/// cancel 1, an order query 4, the account 20, commission rates 20, `exchangeInfo` 20,
/// klines 2, and `myTrades` with an `orderId` 5 (the lane reads fills from the order's `FULL`
/// answer, and asks for them only when that answer was lost and an order query settled it).
pub(super) const fn weight(call: Call) -> u32 {
    match call {
        Call::NewOrder | Call::CancelOrder => 1,
        Call::QueryOrder => 4,
        Call::OrderFills => 5,
        Call::Balances | Call::FeeRates | Call::SymbolRules => 20,
        Call::Candles | Call::LastPrice => 2,
    }
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct SymbolInfo<'a> {
    quote_asset_precision: Option<u8>,
    #[serde(borrow)]
    filters: Vec<Filter<'a>>,
}

#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct Filter<'a> {
    filter_type: String,
    #[serde(borrow)]
    tick_size: Option<Num<'a>>,
    #[serde(borrow)]
    step_size: Option<Num<'a>>,
    #[serde(borrow)]
    min_qty: Option<Num<'a>>,
    #[serde(borrow)]
    min_notional: Option<Num<'a>>,
}

pub(super) fn parse_symbol_rules(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<SymbolRules, VenueError> {
    let ctx = Ctx::new(VENUE, Call::SymbolRules, http_status);
    let info: ExchangeInfo<'_> = read(&ctx, body)?;
    let [symbol] = info.symbols.as_slice() else {
        return Err(ctx.unreadable("not exactly one symbol"));
    };
    let weight_per_minute = info
        .rate_limits
        .iter()
        .find(|l| {
            l.rate_limit_type == "REQUEST_WEIGHT" && l.interval == "MINUTE" && l.interval_num == 1
        })
        .map(|l| l.limit);
    let mut order_windows = info
        .rate_limits
        .iter()
        .filter(|l| l.rate_limit_type == "ORDERS")
        .filter_map(|l| {
            let unit_ms: u64 = match l.interval.as_str() {
                "SECOND" => 1_000,
                "MINUTE" => 60_000,
                "HOUR" => 3_600_000,
                "DAY" => 86_400_000,
                _ => return None,
            };
            let window_ms = unit_ms.checked_mul(u64::from(l.interval_num))?;
            (window_ms > 0).then_some(OrderWindow {
                window_ms,
                limit: l.limit,
            })
        });
    let order_windows = [order_windows.next(), order_windows.next()];
    let find = |kind: &str| symbol.filters.iter().find(|f| f.filter_type == kind);
    let price = find("PRICE_FILTER").ok_or_else(|| ctx.missing("PRICE_FILTER"))?;
    let lot = find("LOT_SIZE").ok_or_else(|| ctx.missing("LOT_SIZE"))?;
    let tick_text = common::opt_text(price.tick_size);
    let step_text = common::opt_text(lot.step_size);
    let notional = find("NOTIONAL")
        .or_else(|| find("MIN_NOTIONAL"))
        .map(|f| common::opt_text(f.min_notional))
        .filter(|t| !t.is_empty());
    Ok(SymbolRules {
        tick: ctx.fixed(tick_text, scales.price, "PRICE_FILTER.tickSize")?,
        lot: ctx.fixed(step_text, scales.size, "LOT_SIZE.stepSize")?,
        min_size: ctx.fixed(
            common::opt_text(lot.min_qty),
            scales.size,
            "LOT_SIZE.minQty",
        )?,
        min_notional: notional
            .map(|t| ctx.notional(t, scales, "minNotional"))
            .transpose()?,
        venue: VenuePrecision {
            price_digits: common::step_digits(tick_text),
            size_digits: common::step_digits(step_text),
            quote_digits: symbol.quote_asset_precision,
        },
        weight_per_minute,
        order_windows,
    })
}

/// The public symbol-rules request for `host` (no key needed).
pub(crate) fn symbol_rules_request(
    host: &str,
    symbol: &str,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_symbol(VENUE, symbol)?;
    let query = format!("symbol={symbol}");
    public_get(out, host, "/api/v3/exchangeInfo", &query);
    Ok(())
}

/// The candle request for `host` (public: no key involved).
pub(crate) fn candles_request(
    host: &str,
    query: &CandleQuery<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_query(VENUE, query)?;
    let mut params = format!("symbol={}&interval={}", query.symbol, query.interval.name());
    push_param(&mut params, "startTime", query.start_ms);
    push_param(&mut params, "endTime", query.end_ms);
    push_param(&mut params, "limit", Some(u64::from(query.limit)));
    public_get(out, host, "/api/v3/klines", &params);
    Ok(())
}
