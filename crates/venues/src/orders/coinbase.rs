//! Coinbase Advanced Trade REST (docs.cdp.coinbase.com, "Advanced Trade API": Create Order,
//! Cancel Orders, Get Order, List Accounts, Get Transaction Summary, Get Public Product).
//!
//! Every private request carries its own ES256 JWT (`Authorization: Bearer`), whose `uri`
//! claim is `"<METHOD> <host><path>"` without the query. Orders are JSON with one
//! `order_configuration` (`sor_limit_ioc` or `limit_limit_gtc`). Create answers `200` with
//! `success` and either `success_response` (ids only) or `error_response`; other failures are
//! a 4xx/5xx with `{"error":..,"message":..}` (401 `Unauthorized`, 429 when rate limited).
//! Orders are looked up and cancelled by Coinbase's `order_id` only.

use std::io::Write as _;

use kestrel_types::cex::Venue;
use serde::Deserialize;

use super::candles::{Row, ascending, bar, check_query, time_of};
use super::common::{
    self, Ctx, Head, JSON, Num, check_amounts, check_client_id, check_symbol, finish, public_get,
    put_fixed, side_upper,
};
use super::{
    Balance, Call, Candle, CandleQuery, ErrorClass, ErrorCode, Fee, FeeRates, Interval, OrderRef,
    OrderReport, OrderRequest, RequestWriter, Scales, Stamp, Status, SymbolRules, Tif, VenueError,
    VenuePrecision, WriteError,
};
use crate::auth::{CoinbaseSigner, HttpMethod};

const VENUE: Venue = Venue::Coinbase;
const CLIENT_ID_RULE: &str = "up to 64 letters, digits, dashes and underscores";

/// Writes Coinbase Advanced Trade requests.
#[derive(Debug, Clone)]
pub struct CoinbaseWriter {
    signer: CoinbaseSigner,
    host: String,
}

impl CoinbaseWriter {
    /// Requests to `host` (`api.coinbase.com`), each with a JWT from `signer`.
    pub fn new(signer: CoinbaseSigner, host: &str) -> Self {
        Self {
            signer,
            host: host.to_owned(),
        }
    }

    /// Completes a request whose body is `out[..body_len]` with a fresh JWT for
    /// `method host path`.
    fn finish_signed(
        &self,
        method: HttpMethod,
        path: &str,
        query: &str,
        stamp: &Stamp,
        body_len: usize,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        let mut bearer = self.signer.rest_jwt(
            method,
            &self.host,
            path,
            stamp.unix_ms / 1_000,
            &stamp.entropy,
        )?;
        bearer.insert_str(0, "Bearer ");
        let head = Head {
            method,
            path,
            query,
            host: &self.host,
            content_type: (body_len > 0).then_some(JSON),
        };
        finish(out, body_len, &head, &[("Authorization", bearer.as_str())]);
        Ok(())
    }

    fn get(
        &self,
        path: &str,
        query: &str,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        out.clear();
        self.finish_signed(HttpMethod::Get, path, query, stamp, 0, out)
    }
}

/// A product id, which Coinbase also puts in URL paths: no `/` may ride along.
fn check_product(symbol: &str) -> Result<(), WriteError> {
    check_symbol(VENUE, symbol)?;
    if symbol.contains(['/', ':', '.']) {
        return Err(WriteError::BadSymbol { venue: VENUE });
    }
    Ok(())
}

/// Coinbase's order id: the only reference its endpoints take.
fn venue_id(order: OrderRef<'_>) -> Result<&str, WriteError> {
    match order {
        OrderRef::Venue(id) => {
            check_client_id(VENUE, id, 64, common::id_char, "an order_id")?;
            Ok(id)
        }
        OrderRef::Client(_) => Err(WriteError::NeedsVenueOrderId { venue: VENUE }),
    }
}

impl RequestWriter for CoinbaseWriter {
    fn venue(&self) -> Venue {
        VENUE
    }

    fn new_order(
        &self,
        order: &OrderRequest<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        check_product(order.symbol)?;
        check_client_id(VENUE, order.client_id, 64, common::id_char, CLIENT_ID_RULE)?;
        check_amounts(VENUE, order.size, order.limit)?;
        let config = match order.tif {
            Tif::Ioc => "sor_limit_ioc",
            Tif::Gtc => "limit_limit_gtc",
        };
        out.clear();
        // Writing to a Vec cannot fail.
        let _ = write!(
            out,
            r#"{{"client_order_id":"{}","product_id":"{}","side":"{}","order_configuration":{{"{config}":{{"base_size":""#,
            order.client_id,
            order.symbol,
            side_upper(order.side)
        );
        put_fixed(out, order.size, order.scales.size);
        out.extend_from_slice(br#"","limit_price":""#);
        put_fixed(out, order.limit, order.scales.price);
        out.push(b'"');
        if order.tif == Tif::Gtc {
            out.extend_from_slice(br#","post_only":false"#);
        }
        out.extend_from_slice(b"}}}");
        let body_len = out.len();
        let path = "/api/v3/brokerage/orders";
        self.finish_signed(HttpMethod::Post, path, "", stamp, body_len, out)
    }

    fn cancel_order(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        check_product(symbol)?;
        let id = venue_id(order)?;
        out.clear();
        let _ = write!(out, r#"{{"order_ids":["{id}"]}}"#);
        let body_len = out.len();
        let path = "/api/v3/brokerage/orders/batch_cancel";
        self.finish_signed(HttpMethod::Post, path, "", stamp, body_len, out)
    }

    fn query_order(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        check_product(symbol)?;
        let id = venue_id(order)?;
        let path = format!("/api/v3/brokerage/orders/historical/{id}");
        self.get(&path, "", stamp, out)
    }

    fn balances(&self, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        self.get("/api/v3/brokerage/accounts", "limit=250", stamp, out)
    }

    fn fee_rates(&self, symbol: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError> {
        // The fee tier is account-wide: the symbol is checked, not sent.
        check_product(symbol)?;
        self.get(
            "/api/v3/brokerage/transaction_summary",
            "product_type=SPOT",
            stamp,
            out,
        )
    }

    fn symbol_rules(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        symbol_rules_request(&self.host, symbol, out)
    }

    /// `GET /api/v3/brokerage/market/products/{id}/candles?start=&end=&granularity=&limit=`
    /// (public). `start` and `end` are Unix seconds and required; Coinbase has no 4h
    /// granularity.
    fn candles(&self, query: &CandleQuery<'_>, out: &mut Vec<u8>) -> Result<(), WriteError> {
        candles_request(&self.host, query, out)
    }
}

/// Coinbase's `granularity` values; `None` for 4h, which it does not have.
pub(crate) const fn granularity(interval: Interval) -> Option<&'static str> {
    Some(match interval {
        Interval::M1 => "ONE_MINUTE",
        Interval::M5 => "FIVE_MINUTE",
        Interval::M15 => "FIFTEEN_MINUTE",
        Interval::H1 => "ONE_HOUR",
        Interval::H4 => return None,
        Interval::D1 => "ONE_DAY",
    })
}

// ---------------------------------------------------------------------------------------------
// Errors
// ---------------------------------------------------------------------------------------------

/// Coinbase error texts this crate classifies (`error_response.error`, the failure reasons,
/// and the gRPC-style `error` of 4xx/5xx bodies).
pub(super) fn classify_code(code: &ErrorCode, call: Call) -> Option<ErrorClass> {
    let ErrorCode::Text(text) = code else {
        return None;
    };
    let unknown_on_orders = if call.changes_order() {
        ErrorClass::UnknownOutcome
    } else {
        ErrorClass::Retryable
    };
    Some(match text.to_ascii_uppercase().as_str() {
        "RATE_LIMIT_EXCEEDED" | "RESOURCE_EXHAUSTED" => ErrorClass::Retryable,
        "INTERNAL" | "UNAVAILABLE" | "DEADLINE_EXCEEDED" => unknown_on_orders,
        "UNAUTHORIZED" | "UNAUTHENTICATED" | "PERMISSION_DENIED" | "INVALID_API_KEY" => {
            ErrorClass::Auth
        }
        "INSUFFICIENT_FUND"
        | "PREVIEW_INSUFFICIENT_FUND"
        | "INVALID_PRODUCT_ID"
        | "INVALID_LIMIT_PRICE"
        | "INVALID_LIMIT_PRICE_PRECISION"
        | "INVALID_SIZE_PRECISION"
        | "INVALID_ARGUMENT"
        | "INVALID_ORDER_CONFIG"
        | "ORDER_ENTRY_DISABLED"
        | "NOT_FOUND"
        | "UNKNOWN_CANCEL_ORDER"
        | "DUPLICATE_CANCEL_REQUEST" => ErrorClass::Rejected,
        _ => return None,
    })
}

#[derive(Deserialize)]
struct ApiError {
    error: Option<String>,
    #[serde(default)]
    message: String,
}

fn read<'a, T: Deserialize<'a>>(ctx: &Ctx, body: &'a [u8]) -> Result<T, VenueError> {
    if ctx.is_success() {
        return ctx.json(body);
    }
    Err(match serde_json::from_slice::<ApiError>(body) {
        Ok(ApiError {
            error: Some(error),
            message,
        }) => ctx.refused(Some(ErrorCode::Text(error)), message),
        _ => ctx.by_status(body),
    })
}

// ---------------------------------------------------------------------------------------------
// Orders
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Created {
    success: bool,
    success_response: Option<Success>,
    error_response: Option<Failure>,
}

#[derive(Deserialize)]
struct Success {
    order_id: String,
    #[serde(default)]
    client_order_id: String,
}

#[derive(Deserialize)]
struct Failure {
    error: Option<String>,
    #[serde(default)]
    message: String,
    new_order_failure_reason: Option<String>,
    preview_failure_reason: Option<String>,
}

pub(super) fn parse_order(http_status: u16, body: &[u8]) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::NewOrder, http_status);
    let created: Created = read(&ctx, body)?;
    match (
        created.success,
        created.success_response,
        created.error_response,
    ) {
        (true, Some(ok), _) => Ok(OrderReport::accepted(ok.order_id, ok.client_order_id)),
        (false, _, Some(failure)) => {
            let code = [
                failure.error,
                failure.new_order_failure_reason,
                failure.preview_failure_reason,
            ]
            .into_iter()
            .flatten()
            .find(|c| !c.is_empty() && !c.starts_with("UNKNOWN"));
            Err(ctx.refused(code.map(ErrorCode::Text), failure.message))
        }
        _ => Err(ctx.unreadable("neither success_response nor error_response")),
    }
}

#[derive(Deserialize)]
struct CancelResults {
    results: Vec<CancelResult>,
}

#[derive(Deserialize)]
struct CancelResult {
    success: bool,
    failure_reason: Option<String>,
    #[serde(default)]
    order_id: String,
}

pub(super) fn parse_cancel(http_status: u16, body: &[u8]) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::CancelOrder, http_status);
    let results: CancelResults = read(&ctx, body)?;
    let result = results
        .results
        .into_iter()
        .next()
        .ok_or_else(|| ctx.missing("results"))?;
    if result.success {
        return Ok(OrderReport::accepted(result.order_id, String::new()));
    }
    let reason = result.failure_reason.unwrap_or_default();
    Err(ctx.refused(Some(ErrorCode::Text(reason.clone())), reason))
}

#[derive(Deserialize)]
struct OrderEnvelope<'a> {
    #[serde(borrow)]
    order: Order<'a>,
}

#[derive(Deserialize)]
struct Order<'a> {
    order_id: String,
    #[serde(default)]
    client_order_id: String,
    product_id: String,
    status: String,
    #[serde(borrow)]
    filled_size: Option<Num<'a>>,
    #[serde(borrow)]
    filled_value: Option<Num<'a>>,
    #[serde(borrow)]
    average_filled_price: Option<Num<'a>>,
    #[serde(borrow)]
    total_fees: Option<Num<'a>>,
}

fn status_of(ctx: &Ctx, text: &str, any_fill: bool) -> Result<Status, VenueError> {
    Ok(match text {
        "PENDING" | "OPEN" | "QUEUED" | "EDIT_QUEUED" if any_fill => Status::PartiallyFilled,
        "PENDING" | "OPEN" | "QUEUED" | "EDIT_QUEUED" => Status::New,
        "FILLED" => Status::Filled,
        "CANCELLED" | "CANCEL_QUEUED" => Status::Canceled,
        "EXPIRED" => Status::Expired,
        "FAILED" => Status::Rejected,
        other => return Err(ctx.unreadable(format_args!("status `{}`", common::clip(other)))),
    })
}

/// Get Order: `filled_size`, `filled_value` (the notional), `average_filled_price`, and
/// `total_fees`, which are in the quote currency (the part of `product_id` after `-`).
pub(super) fn parse_query(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    let ctx = Ctx::new(VENUE, Call::QueryOrder, http_status);
    let OrderEnvelope { order } = read(&ctx, body)?;
    let filled = match common::opt_text(order.filled_size) {
        "" => kestrel_types::cex::Fixed::ZERO,
        text => ctx.fixed(text, scales.size, "filled_size")?,
    };
    let mut report = OrderReport::accepted(order.order_id, order.client_order_id);
    report.status = Some(status_of(&ctx, &order.status, !filled.is_zero())?);
    report.filled = filled;
    report.notional = match common::opt_text(order.filled_value) {
        "" => None,
        text => Some(ctx.notional(text, scales, "filled_value")?),
    };
    report.avg_price = ctx
        .opt_amount(
            common::opt_text(order.average_filled_price),
            "average_filled_price",
        )?
        .filter(|p| !p.is_zero());
    let fee = ctx.opt_amount(common::opt_text(order.total_fees), "total_fees")?;
    if let Some(fee) = fee.filter(|f| !f.is_zero()) {
        let quote = order.product_id.split_once('-').map_or("", |(_, q)| q);
        report.fees.push(Fee {
            asset: quote.to_owned(),
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
struct Accounts<'a> {
    #[serde(borrow)]
    accounts: Vec<Account<'a>>,
    #[serde(default)]
    has_next: bool,
}

#[derive(Deserialize)]
struct Account<'a> {
    currency: String,
    #[serde(borrow)]
    available_balance: Money<'a>,
    #[serde(borrow)]
    hold: Option<Money<'a>>,
}

#[derive(Deserialize)]
struct Money<'a> {
    #[serde(borrow)]
    value: Num<'a>,
}

/// List Accounts, one page of up to 250: `free = available_balance`, `locked = hold`. A
/// second page (`has_next`) is an error: a partial balance list must not pass for a whole one.
pub(super) fn parse_balances(http_status: u16, body: &[u8]) -> Result<Vec<Balance>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Balances, http_status);
    let page: Accounts<'_> = read(&ctx, body)?;
    if page.has_next {
        return Err(ctx.unreadable("more than one page of accounts"));
    }
    page.accounts
        .into_iter()
        .map(|a| {
            let locked = match &a.hold {
                Some(hold) => ctx.amount(hold.value.text(), "hold.value")?,
                None => super::Amount::default(),
            };
            Ok(Balance {
                free: ctx.amount(a.available_balance.value.text(), "available_balance.value")?,
                locked,
                asset: a.currency,
            })
        })
        .collect()
}

#[derive(Deserialize)]
struct Summary<'a> {
    #[serde(borrow)]
    fee_tier: Tier<'a>,
}

#[derive(Deserialize)]
struct Tier<'a> {
    #[serde(borrow)]
    taker_fee_rate: Num<'a>,
    #[serde(borrow)]
    maker_fee_rate: Num<'a>,
}

/// Get Transaction Summary: `fee_tier.maker_fee_rate` / `taker_fee_rate`, as fractions.
pub(super) fn parse_fee_rates(http_status: u16, body: &[u8]) -> Result<FeeRates, VenueError> {
    let ctx = Ctx::new(VENUE, Call::FeeRates, http_status);
    let summary: Summary<'_> = read(&ctx, body)?;
    Ok(FeeRates {
        maker: common::rate_of(
            &ctx,
            summary.fee_tier.maker_fee_rate.text(),
            "maker_fee_rate",
        )?,
        taker: common::rate_of(
            &ctx,
            summary.fee_tier.taker_fee_rate.text(),
            "taker_fee_rate",
        )?,
        discounted_taker: None,
        discount_asset: None,
    })
}

// ---------------------------------------------------------------------------------------------
// Symbol rules
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Product<'a> {
    #[serde(borrow)]
    price_increment: Option<Num<'a>>,
    #[serde(borrow)]
    quote_increment: Num<'a>,
    #[serde(borrow)]
    base_increment: Num<'a>,
    #[serde(borrow)]
    base_min_size: Num<'a>,
    #[serde(borrow)]
    quote_min_size: Option<Num<'a>>,
}

/// `price_increment` (or `quote_increment`), `base_increment`, `base_min_size`,
/// `quote_min_size`.
pub(super) fn parse_symbol_rules(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<SymbolRules, VenueError> {
    let ctx = Ctx::new(VENUE, Call::SymbolRules, http_status);
    let product: Product<'_> = read(&ctx, body)?;
    let tick_text = match common::opt_text(product.price_increment) {
        "" => product.quote_increment.text(),
        text => text,
    };
    let lot_text = product.base_increment.text();
    let min_quote = common::opt_text(product.quote_min_size);
    Ok(SymbolRules {
        tick: ctx.fixed(tick_text, scales.price, "price_increment")?,
        lot: ctx.fixed(lot_text, scales.size, "base_increment")?,
        min_size: ctx.fixed(product.base_min_size.text(), scales.size, "base_min_size")?,
        min_notional: (!min_quote.is_empty())
            .then(|| ctx.notional(min_quote, scales, "quote_min_size"))
            .transpose()?,
        venue: VenuePrecision {
            price_digits: common::step_digits(tick_text),
            size_digits: common::step_digits(lot_text),
            quote_digits: Some(common::step_digits(product.quote_increment.text())),
        },
        weight_per_minute: None,
        order_windows: [None; 2],
    })
}

// ---------------------------------------------------------------------------------------------
// Candles
// ---------------------------------------------------------------------------------------------

#[derive(Deserialize)]
struct Candles<'a> {
    #[serde(borrow)]
    candles: Vec<Bucket<'a>>,
}

#[derive(Deserialize)]
struct Bucket<'a> {
    #[serde(borrow)]
    start: Num<'a>,
    #[serde(borrow)]
    low: Num<'a>,
    #[serde(borrow)]
    high: Num<'a>,
    #[serde(borrow)]
    open: Num<'a>,
    #[serde(borrow)]
    close: Num<'a>,
    #[serde(borrow)]
    volume: Num<'a>,
}

/// `GET .../candles`: `{"candles":[{"start","low","high","open","close","volume"}]}` with
/// `start` in Unix seconds, newest first.
pub(super) fn parse_candles(
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    let ctx = Ctx::new(VENUE, Call::Candles, http_status);
    let answer: Candles<'_> = read(&ctx, body)?;
    let candles = answer
        .candles
        .iter()
        .map(|b| {
            let open_s = time_of(&ctx, b.start.text(), "start")?;
            let row = Row {
                open_ms: open_s
                    .checked_mul(1_000)
                    .ok_or_else(|| ctx.unreadable("start overflows"))?,
                open: b.open.text(),
                high: b.high.text(),
                low: b.low.text(),
                close: b.close.text(),
                volume: b.volume.text(),
            };
            bar(&ctx, &row, scales)
        })
        .collect::<Result<Vec<_>, _>>()?;
    ascending(&ctx, candles)
}

/// The public symbol-rules request for `host` (no key needed).
pub(crate) fn symbol_rules_request(
    host: &str,
    symbol: &str,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_product(symbol)?;
    let path = format!("/api/v3/brokerage/market/products/{symbol}");
    public_get(out, host, &path, "");
    Ok(())
}

/// The candle request for `host` (public: no key involved).
pub(crate) fn candles_request(
    host: &str,
    query: &CandleQuery<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    check_query(VENUE, query)?;
    check_product(query.symbol)?;
    let granularity = granularity(query.interval).ok_or(WriteError::UnsupportedInterval {
        venue: VENUE,
        interval: query.interval,
    })?;
    let (Some(start_ms), Some(end_ms)) = (query.start_ms, query.end_ms) else {
        return Err(WriteError::BadCandleQuery {
            venue: VENUE,
            rule: "Coinbase needs both start and end",
        });
    };
    // Bars open on whole seconds: rounding the start up and the end down keeps exactly
    // the bars whose open time is within the bounds.
    let params = format!(
        "start={}&end={}&granularity={granularity}&limit={}",
        start_ms.div_ceil(1_000),
        end_ms / 1_000,
        query.limit
    );
    let path = format!("/api/v3/brokerage/market/products/{}/candles", query.symbol);
    public_get(out, host, &path, &params);
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::cex::OrderSide;

    #[test]
    fn sides_are_upper_case() {
        assert_eq!(side_upper(OrderSide::Buy), "BUY");
        assert_eq!(side_upper(OrderSide::Sell), "SELL");
    }
}
