//! Orders: the signed HTTP/1.1 requests each venue's REST API takes, and what its answers mean.
//!
//! Two halves, both pure (no sockets, no clocks):
//!
//! - **Writers** ([`RequestWriter`], one per venue: [`BinanceWriter`], [`CoinbaseWriter`],
//!   [`KrakenWriter`], [`OkxWriter`], [`BybitWriter`]) write the complete request bytes (request
//!   line, `Host`, `Content-Type`, `Content-Length`, the venue's auth headers, body) into a
//!   caller's reused `Vec<u8>`. The time, nonce and JWT entropy come in a [`Stamp`]; the host is
//!   the one configured (`api.binance.com`, or `127.0.0.1:PORT` against a fake venue).
//! - **Parsers** ([`parse_order`], [`parse_cancel`], [`parse_order_query`],
//!   [`parse_order_fills`], [`parse_balances`], [`parse_fee_rates`], [`parse_symbol_rules`],
//!   [`parse_candles`]) turn `(http_status, body)` into typed reports with exact decimals, or
//!   into a classified [`VenueError`].
//!
//! Prices and sizes are [`Fixed`] at the symbol's [`Scales`]; a notional is their product, a
//! `u128` at `price_digits + size_digits`. Amounts whose precision the symbol does not fix
//! (fees, balances, average prices) are [`Amount`]s: exact decimals of any scale.
//!
//! **Invariant:** on the order path ([`RequestWriter::new_order`]) the only allocations are the
//! signer's (Binance's signed query, Kraken's form and `API-Sign`, OKX's and Bybit's header
//! strings, Coinbase's JWT, grown in place by its `Bearer ` prefix); the request is written
//! into the caller's buffer, which keeps its capacity from one request to the next.
//!
//! **Invariant:** a parser never panics, whatever the bytes: a body it cannot read is a
//! [`VenueError`] whose class says what the caller may do next ([`ErrorClass`]).

use std::fmt;

use kestrel_types::cex::{Fixed, FixedError, OrderSide, Rate, Scale, Venue};

use crate::auth::AuthError;

pub use kestrel_types::cex::{Candle, Interval};

mod binance;
mod bybit;
mod candles;
mod coinbase;
mod common;
mod kraken;
mod okx;

pub use binance::BinanceWriter;
pub use bybit::BybitWriter;
pub use coinbase::CoinbaseWriter;
pub use kraken::KrakenWriter;
pub use okx::OkxWriter;

/// How long an order rests.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Tif {
    /// Good till cancelled: rests on the book.
    Gtc,
    /// Immediate or cancel: takes what it can now, the rest is cancelled.
    Ioc,
}

/// A limit order to place.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct OrderRequest<'a> {
    /// The symbol as the venue spells it (`BTCUSDT`, `BTC-USD`, `XBTUSD`, `BTC-USDT`).
    pub symbol: &'a str,
    /// Buy or sell.
    pub side: OrderSide,
    /// Base quantity, at `scales.size`.
    pub size: Fixed,
    /// Limit price, at `scales.price`.
    pub limit: Fixed,
    /// The symbol's price and size scales (the venue's own precisions).
    pub scales: Scales,
    /// GTC or IOC.
    pub tif: Tif,
    /// The client order id: how the order is found again when its answer is lost.
    pub client_id: &'a str,
}

/// A symbol's price and size scales: the fraction digits its prices and sizes carry.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Scales {
    /// Fraction digits of prices.
    pub price: Scale,
    /// Fraction digits of sizes.
    pub size: Scale,
}

impl Scales {
    /// Fraction digits of a notional (`price × size`): the sum of both.
    pub const fn notional_digits(self) -> u8 {
        self.price.digits() + self.size.digits()
    }
}

/// Which order a cancel or query is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OrderRef<'a> {
    /// The client order id the order was placed with.
    Client(&'a str),
    /// The venue's own order id (Coinbase can look orders up by nothing else).
    Venue(&'a str),
}

/// A request for one symbol's candles (public, unsigned).
///
/// Each venue caps how many bars one answer holds ([`CandleQuery::max_limit`]); a longer
/// history is fetched page by page. Bounds are inclusive and apply to a bar's open time.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct CandleQuery<'a> {
    /// The symbol as the venue spells it.
    pub symbol: &'a str,
    /// The bar length.
    pub interval: Interval,
    /// The earliest open time wanted, Unix ms.
    pub start_ms: Option<u64>,
    /// The latest open time wanted, Unix ms.
    pub end_ms: Option<u64>,
    /// At most this many bars (1 to the venue's maximum).
    pub limit: u16,
}

impl CandleQuery<'_> {
    /// The most bars one answer may hold: Binance and Bybit 1000, OKX 300 (`/market/candles`),
    /// Coinbase 350, Kraken 720 (it takes no limit and always answers up to 720).
    pub const fn max_limit(venue: Venue) -> u16 {
        match venue {
            Venue::Binance | Venue::Bybit => 1_000,
            Venue::Okx => 300,
            Venue::Coinbase => 350,
            Venue::Kraken => 720,
        }
    }
}

/// The injected time and randomness a request is signed with (only `kestrel-stdx` reads
/// clocks and entropy).
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct Stamp {
    /// Unix time in milliseconds: Binance `timestamp`, OKX `OK-ACCESS-TIMESTAMP`, Bybit
    /// `X-BAPI-TIMESTAMP`, Coinbase `nbf` (in seconds).
    pub unix_ms: u64,
    /// Kraken's nonce: strictly greater than the last one used with the key.
    pub nonce: u64,
    /// Fresh randomness for the Coinbase JWT `nonce` header.
    pub entropy: [u8; 16],
}

impl fmt::Debug for Stamp {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Stamp")
            .field("unix_ms", &self.unix_ms)
            .field("nonce", &self.nonce)
            .finish_non_exhaustive()
    }
}

/// Why a request could not be written. None of these is retryable: the input or the
/// configuration is wrong.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum WriteError {
    /// The symbol holds a character the venue's URL or body cannot carry unescaped.
    #[error("{venue}: symbol is empty or holds a character outside [A-Za-z0-9-_/.:]")]
    BadSymbol {
        /// The venue the request was for.
        venue: Venue,
    },
    /// The client order id breaks the venue's rule (characters or length).
    #[error("{venue}: client order id breaks the venue's rule: {rule}")]
    BadClientId {
        /// The venue the request was for.
        venue: Venue,
        /// The venue's rule, as its documentation words it.
        rule: &'static str,
    },
    /// A size or limit of zero.
    #[error("{venue}: size and limit price must be positive")]
    ZeroAmount {
        /// The venue the request was for.
        venue: Venue,
    },
    /// The venue cannot find an order by this kind of reference (Coinbase looks orders up
    /// and cancels them by its own order id only).
    #[error("{venue}: this request needs the venue's order id, not the client id")]
    NeedsVenueOrderId {
        /// The venue the request was for.
        venue: Venue,
    },
    /// The venue has no bars of this length (Coinbase has no 4h granularity).
    #[error("{venue}: no {interval} candles")]
    UnsupportedInterval {
        /// The venue the request was for.
        venue: Venue,
        /// The interval asked for.
        interval: Interval,
    },
    /// A candle query the venue cannot answer as asked.
    #[error("{venue}: bad candle query: {rule}")]
    BadCandleQuery {
        /// The venue the request was for.
        venue: Venue,
        /// What is wrong.
        rule: &'static str,
    },
    /// A fills page cursor that is not one the venue hands out (OKX: a `billId`; Binance: a
    /// trade id; digits either way).
    #[error("{venue}: the fills page cursor is empty or not the venue's id")]
    BadCursor {
        /// The venue the request was for.
        venue: Venue,
    },
    /// The venue has no separate request for an order's fills: its order answer already
    /// carries them or the order's quote amount (every venue but OKX and Binance).
    #[error(
        "{venue} has no separate fills request: its order answer carries the fills or the quote amount"
    )]
    NotOffered {
        /// The venue the request was for.
        venue: Venue,
    },
    /// The signer refused (a timestamp out of range, a token that would not encode).
    #[error(transparent)]
    Auth(#[from] AuthError),
}

/// Writes one venue's REST requests. Each method clears `out` and writes one complete
/// HTTP/1.1 request into it.
pub trait RequestWriter {
    /// The venue these requests go to.
    fn venue(&self) -> Venue;
    /// Places a limit order (GTC or IOC).
    fn new_order(
        &self,
        order: &OrderRequest<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError>;
    /// Cancels one order.
    fn cancel_order(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError>;
    /// Asks for one order's state and fills.
    fn query_order(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError>;
    /// Asks for one order's individual fills (read by [`parse_order_fills`]), for a venue
    /// whose order answer can lack what values the order exactly: OKX's order details give
    /// only the average price, Binance's order query no commission (`myTrades` has it). Every
    /// other venue keeps this default: [`WriteError::NotOffered`]. Both take the venue's
    /// order id only ([`WriteError::NeedsVenueOrderId`] for a client id).
    ///
    /// The venue answers a page at a time (OKX: at most 100 fills, newest first; Binance: at
    /// most 1000 trades, oldest first). `after` names the page: `None` for the first, else
    /// the cursor the previous page gave ([`OrderFills::next_after`]) for the fills after it
    /// (OKX: older; Binance: newer).
    fn order_fills(
        &self,
        symbol: &str,
        order: OrderRef<'_>,
        after: Option<&str>,
        stamp: &Stamp,
        out: &mut Vec<u8>,
    ) -> Result<(), WriteError> {
        let _ = (symbol, order, after, stamp, out);
        Err(WriteError::NotOffered {
            venue: self.venue(),
        })
    }
    /// Asks for the account's balances.
    fn balances(&self, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError>;
    /// Asks for the account's maker and taker fee rates on a symbol.
    fn fee_rates(&self, symbol: &str, stamp: &Stamp, out: &mut Vec<u8>) -> Result<(), WriteError>;
    /// Asks the public market endpoint for a symbol's trading rules.
    fn symbol_rules(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError>;
    /// Asks the public market endpoint for a symbol's candles (see [`CandleQuery`]).
    fn candles(&self, query: &CandleQuery<'_>, out: &mut Vec<u8>) -> Result<(), WriteError>;
    /// Asks the public market endpoint for a symbol's last traded price (read by
    /// [`parse_last_price`]). Binance only (`GET /api/v3/ticker/price`), where it prices the
    /// fee-discount asset; every other venue keeps this default: [`WriteError::NotOffered`].
    fn last_price(&self, symbol: &str, out: &mut Vec<u8>) -> Result<(), WriteError> {
        let _ = (symbol, out);
        Err(WriteError::NotOffered {
            venue: self.venue(),
        })
    }
}

/// An order's state, as every venue's states map onto it.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Status {
    /// Accepted and resting, nothing filled yet.
    New,
    /// Resting with part of it filled.
    PartiallyFilled,
    /// Completely filled.
    Filled,
    /// Cancelled, by request or by the venue; `filled` says how much traded first.
    Canceled,
    /// Done without filling completely: an IOC's unfilled rest, an expiry.
    Expired,
    /// Refused by the matching engine.
    Rejected,
}

impl Status {
    /// Whether nothing more can happen to the order.
    pub const fn is_final(self) -> bool {
        matches!(
            self,
            Status::Filled | Status::Canceled | Status::Expired | Status::Rejected
        )
    }
}

/// An exact non-negative decimal of any scale: `units × 10^-digits`. For amounts whose
/// precision the symbol does not fix (fees, balances, average prices).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct Amount {
    units: u128,
    digits: u8,
}

impl Amount {
    /// The most fraction digits an amount may carry.
    pub const MAX_DIGITS: u8 = 30;

    /// `units × 10^-digits`, or `None` past [`Amount::MAX_DIGITS`].
    pub const fn new(units: u128, digits: u8) -> Option<Amount> {
        if digits <= Self::MAX_DIGITS {
            Some(Amount { units, digits })
        } else {
            None
        }
    }

    /// Parses plain decimal text (`"0.00000192834"`, `"26.2"`), keeping every digit written.
    /// No sign, no exponent.
    pub fn parse(text: &str) -> Result<Amount, FixedError> {
        common::parse_amount(text)
    }

    /// Count of `10^-digits` units.
    pub const fn units(self) -> u128 {
        self.units
    }

    /// Fraction digits.
    pub const fn digits(self) -> u8 {
        self.digits
    }

    /// Whether this is zero.
    pub const fn is_zero(self) -> bool {
        self.units == 0
    }

    /// The same value at `digits` fraction digits, exactly, or `None` when a non-zero digit
    /// would be lost or the value overflows.
    pub fn units_at(self, digits: u8) -> Option<u128> {
        common::rescale(self.units, self.digits, digits)
    }

    /// The value at `digits` fraction digits, rounded up where digits beyond them are not
    /// zero (a fee charged to more places than the lane keeps: counted at the next unit up,
    /// never less than it was), or `None` when it overflows.
    pub fn units_at_ceil(self, digits: u8) -> Option<u128> {
        if self.digits <= digits {
            return self.units_at(digits);
        }
        let div = 10u128.checked_pow(u32::from(self.digits - digits))?;
        Some(self.units.div_ceil(div))
    }

    /// The same value as a [`Fixed`] at `scale`, exactly.
    pub fn at(self, scale: Scale) -> Result<Fixed, FixedError> {
        let units = self
            .units_at(scale.digits())
            .ok_or(if self.digits > scale.digits() {
                FixedError::Precision
            } else {
                FixedError::Overflow
            })?;
        u64::try_from(units)
            .map(Fixed)
            .map_err(|_| FixedError::Overflow)
    }

    /// `self + other`, exactly, at the finer of both scales.
    pub fn checked_add(self, other: Amount) -> Option<Amount> {
        let digits = self.digits.max(other.digits);
        let units = self
            .units_at(digits)?
            .checked_add(other.units_at(digits)?)?;
        Some(Amount { units, digits })
    }

    /// `self - other`, exactly, or `None` when it would be negative.
    pub fn checked_sub(self, other: Amount) -> Option<Amount> {
        let digits = self.digits.max(other.digits);
        let units = self
            .units_at(digits)?
            .checked_sub(other.units_at(digits)?)?;
        Some(Amount { units, digits })
    }

    /// `self × other`, exactly (at the sum of their digits), or `None` when it overflows or
    /// carries more than [`Amount::MAX_DIGITS`].
    pub fn checked_mul(self, other: Amount) -> Option<Amount> {
        Amount::new(
            self.units.checked_mul(other.units)?,
            self.digits.checked_add(other.digits)?,
        )
    }

    /// The value at `digits` fraction digits, rounded down where digits beyond them are not
    /// zero (an amount the caller may spend: never more than there is), or `None` when it
    /// overflows.
    pub fn units_at_floor(self, digits: u8) -> Option<u128> {
        if self.digits <= digits {
            return self.units_at(digits);
        }
        Some(self.units / 10u128.checked_pow(u32::from(self.digits - digits))?)
    }
}

impl fmt::Display for Amount {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        common::fmt_units(self.units, self.digits, f)
    }
}

/// A fee the venue charged, or a rebate it paid.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Fee {
    /// The asset the fee is in, as the venue names it; empty where the venue does not say
    /// (Kraken's order query: the quote currency unless the order set `fcib`).
    pub asset: String,
    /// How much.
    pub amount: Amount,
    /// True when the venue paid this to us (a maker rebate) rather than charged it.
    pub rebate: bool,
}

/// One trade of an order.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct FillReport {
    /// Trade price, at the symbol's price scale.
    pub price: Fixed,
    /// Traded base quantity, at the symbol's size scale.
    pub size: Fixed,
    /// The fee on this trade.
    pub fee: Fee,
    /// The venue's trade id.
    pub trade_id: String,
}

/// What a venue said about one order.
///
/// `status` is `None` when the answer only acknowledges the request (OKX, Bybit, Coinbase and
/// Kraken place and cancel orders asynchronously and answer with ids): the order's state is
/// unknown until [`parse_order_query`] reads the query answer. Then `filled` is zero and
/// `fills`, `fees` are empty because the answer said nothing, not because nothing traded.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct OrderReport {
    /// The venue's order id (empty where the answer carries none: Kraken's cancel).
    pub venue_order_id: String,
    /// The client order id, where the answer echoes it (empty otherwise).
    pub client_id: String,
    /// The order's state, or `None` for an acknowledgement.
    pub status: Option<Status>,
    /// Filled base quantity, at the symbol's size scale.
    pub filled: Fixed,
    /// Filled quote value (`Σ price × size`) at `scales.notional_digits()`, where the answer
    /// gives fills or a cumulative quote amount; `None` where it does not (OKX).
    pub notional: Option<u128>,
    /// The venue's average fill price where it states one (it may be rounded).
    pub avg_price: Option<Amount>,
    /// Fees by asset (rebates flagged).
    pub fees: Vec<Fee>,
    /// Individual trades, where the answer lists them (Binance `FULL`).
    pub fills: Vec<FillReport>,
}

impl OrderReport {
    /// An acknowledgement: ids only, state unknown.
    pub(crate) fn accepted(venue_order_id: String, client_id: String) -> OrderReport {
        OrderReport {
            venue_order_id,
            client_id,
            status: None,
            filled: Fixed::ZERO,
            notional: None,
            avg_price: None,
            fees: Vec::new(),
            fills: Vec::new(),
        }
    }
}

/// One order's individual trades, as a separate fills request reports them
/// ([`RequestWriter::order_fills`], [`parse_order_fills`]): what values an order exactly where
/// its order answer gives only an average price (OKX) or no commission (Binance's order
/// query).
///
/// The fills may lag the order's state: their sizes can add up to less than the order's
/// `filled` for a while after it is final.
///
/// One answer is one page (OKX: at most 100 fills, newest first; Binance: at most 1000,
/// oldest first). A full page may have more fills after it: [`OrderFills::next_after`] is
/// then the cursor to ask for them with ([`RequestWriter::order_fills`]), and
/// [`OrderFills::append_page`] adds that page to this one. An order's fills are all in hand
/// when their sizes add up to its `filled`.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct OrderFills {
    /// Each trade: its price and size at the symbol's scales, its own fee, its trade id.
    pub fills: Vec<FillReport>,
    /// The fills' fees summed by asset, charges and rebates apart (zero fees left out).
    pub fees: Vec<Fee>,
    /// When the page was full, so that more fills may follow: the cursor of the next page
    /// (OKX: the last, oldest, row's `billId`; Binance: the highest trade `id` plus one, its
    /// next `fromId`). `None`: no page follows this one.
    pub next_after: Option<String>,
}

/// Fills pages a caller asks for one order at most (OKX: 100 fills a page; Binance: 1000), each
/// a request of the venue's budget. An order cannot have more fills than size units, but a
/// venue whose pages never add up must not keep a lane asking: past this, value the order as
/// its order answer allows (OKX: at its average price; Binance: its fee estimated).
pub const MAX_FILL_PAGES: u8 = 50;

impl OrderFills {
    /// The fills' sizes added up (`None` on overflow): all of an order's fills are in hand
    /// when this is its `filled`.
    pub fn total_size(&self) -> Option<u64> {
        self.fills
            .iter()
            .try_fold(0u64, |sum, f| sum.checked_add(f.size.0))
    }

    /// Adds `next`, the page asked for with this one's [`OrderFills::next_after`] (older
    /// fills on OKX, newer ones on Binance): its fills after these, its fees summed in by
    /// asset, and its cursor in place of this one's. False (and `self` unchanged) when a fee
    /// sum would overflow.
    #[must_use]
    pub fn append_page(&mut self, next: OrderFills) -> bool {
        let mut fees = self.fees.clone();
        for fee in &next.fees {
            if common::add_fee(&mut fees, &fee.asset, fee.amount, fee.rebate).is_none() {
                return false;
            }
        }
        self.fees = fees;
        self.fills.extend(next.fills);
        self.next_after = next.next_after;
        true
    }
}

/// One asset's balance.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Balance {
    /// The asset as the venue names it (`BTC`, `XXBT`, `ZUSD`).
    pub asset: String,
    /// Available to trade.
    pub free: Amount,
    /// Held by open orders.
    pub locked: Amount,
}

/// The account's fee rates on one symbol. A rebate (a negative fee) is reported as zero: the
/// rates are costs, never under-counted.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub struct FeeRates {
    /// Rate on fills that added liquidity.
    pub maker: Rate,
    /// Rate on fills that took liquidity.
    pub taker: Rate,
    /// The taker rate where the fee is paid in the venue's discount asset instead, when the
    /// venue states one that applies to the account and symbol (Binance's BNB, with
    /// `discount` enabled for both: the standard commission reduced by the discount, special
    /// and tax commissions in full); `None` elsewhere.
    pub discounted_taker: Option<Rate>,
    /// The asset a discounted fee is paid in (Binance's `discountAsset`, `BNB`), stated with
    /// [`FeeRates::discounted_taker`] and `None` where that is.
    pub discount_asset: Option<String>,
}

/// The venue's own precisions for a symbol, as fraction digits.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct VenuePrecision {
    /// Digits of the price tick (Kraken `pair_decimals`).
    pub price_digits: u8,
    /// Digits of the size step (Kraken `lot_decimals`).
    pub size_digits: u8,
    /// Digits of quote amounts, where the venue states them (Kraken `cost_decimals`, Binance
    /// `quoteAssetPrecision`, Bybit `quotePrecision`, Coinbase `quote_increment`).
    pub quote_digits: Option<u8>,
}

/// A symbol's trading rules, exact at the configured scales.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SymbolRules {
    /// Price step, at the price scale.
    pub tick: Fixed,
    /// Size step, at the size scale.
    pub lot: Fixed,
    /// Smallest order size, at the size scale.
    pub min_size: Fixed,
    /// Smallest order value (`price × size`), at `scales.notional_digits()`, where the venue
    /// has one (OKX has none).
    pub min_notional: Option<u128>,
    /// The venue's stated precisions.
    pub venue: VenuePrecision,
    /// The IP's request weight per minute, where the answer states it (Binance's
    /// `exchangeInfo` `rateLimits`, `REQUEST_WEIGHT` per 1 `MINUTE`).
    pub weight_per_minute: Option<u32>,
    /// The account's unfilled-order limits, where the answer states them (Binance's
    /// `rateLimits` of type `ORDERS`: 100 per 10 seconds and 200,000 a day by default), the
    /// first two stated.
    pub order_windows: [Option<OrderWindow>; 2],
}

/// One of a venue's order-count limits: at most `limit` orders counted in each window of
/// `window_ms`, windows aligned to the Unix epoch (Binance: "10 SECOND" windows starting at
/// :00, :10, ..; "1 DAY" from UTC midnight). Binance counts a placed order until it first
/// fills, so only orders that fill nothing stay counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderWindow {
    /// The window's length, ms.
    pub window_ms: u64,
    /// Orders allowed in one window.
    pub limit: u32,
}

/// Which request an answer belongs to: it decides whether a 5xx or a timeout leaves the
/// outcome unknown.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Call {
    /// A new order.
    NewOrder,
    /// A cancel.
    CancelOrder,
    /// An order query.
    QueryOrder,
    /// A query of an order's fills.
    OrderFills,
    /// A balance query.
    Balances,
    /// A fee-rate query.
    FeeRates,
    /// A symbol-rules query.
    SymbolRules,
    /// A candles query.
    Candles,
    /// A public last-price query.
    LastPrice,
}

impl Call {
    /// Whether the request changes an order, so that a lost answer leaves its effect unknown.
    pub const fn changes_order(self) -> bool {
        matches!(self, Call::NewOrder | Call::CancelOrder)
    }
}

/// What one request costs against `venue`'s REST limit, in the unit the venue counts: request
/// weight on Binance (see its spot REST docs: an order 1, an order query 4, an order's trades
/// 5, ...), one per request on the others.
pub const fn request_cost(venue: Venue, call: Call) -> u32 {
    match venue {
        Venue::Binance => binance::weight(call),
        Venue::Coinbase | Venue::Kraken | Venue::Okx | Venue::Bybit => 1,
    }
}

/// What the caller may do after an error.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ErrorClass {
    /// Nothing happened (rate limit, venue busy, 5xx on a read): try again later.
    Retryable,
    /// The order may exist or the cancel may have landed (timeout, Binance `-1007`, 5xx on an
    /// order): query it before anything else.
    UnknownOutcome,
    /// The venue refused the request as asked (bad parameters, insufficient balance, bad
    /// symbol, or an answer this code cannot read): do not retry it unchanged.
    Rejected,
    /// Key, signature, permission or timestamp: fix the configuration or the clock.
    Auth,
}

/// A venue's error code: numeric where the venue has numbers (Binance, OKX, Bybit), the
/// error text where it has none (Kraken `EOrder:Insufficient funds`, Coinbase
/// `INSUFFICIENT_FUND`).
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum ErrorCode {
    /// A numeric code.
    Number(i64),
    /// A textual code.
    Text(String),
}

impl fmt::Display for ErrorCode {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ErrorCode::Number(code) => write!(f, "{code}"),
            ErrorCode::Text(code) => f.write_str(code),
        }
    }
}

/// A request the venue refused, or an answer that could not be read.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
#[error("{venue} (HTTP {http_status}, code {}): {message} [{class:?}]", code_text(.code))]
pub struct VenueError {
    /// The venue that answered.
    pub venue: Venue,
    /// The HTTP status of the answer.
    pub http_status: u16,
    /// The venue's error code, when it gave one.
    pub code: Option<ErrorCode>,
    /// The venue's message, or what could not be read.
    pub message: String,
    /// What to do next.
    pub class: ErrorClass,
}

fn code_text(code: &Option<ErrorCode>) -> String {
    code.as_ref()
        .map_or_else(|| "-".to_owned(), ToString::to_string)
}

impl VenueError {
    /// Whether a plain retry may succeed.
    pub const fn is_retryable(&self) -> bool {
        matches!(self.class, ErrorClass::Retryable)
    }
}

/// Classifies an error answer: the venue's table first, then the HTTP status
/// ([`classify_by_status`]).
pub fn classify(
    venue: Venue,
    call: Call,
    http_status: u16,
    code: Option<&ErrorCode>,
) -> ErrorClass {
    let known = code.and_then(|code| match venue {
        Venue::Binance => binance::classify_code(code, call),
        Venue::Coinbase => coinbase::classify_code(code, call),
        Venue::Kraken => kraken::classify_code(code, call),
        Venue::Okx => okx::classify_code(code, call),
        Venue::Bybit => bybit::classify_code(code, call),
    });
    known.unwrap_or_else(|| classify_by_status(venue, call, http_status))
}

/// The fallback for codes no table knows: 429 and 418 retryable; 5xx and 408 unknown outcome
/// on an order, retryable otherwise; 401 auth; 403 retryable on Binance (WAF, rate limit) and
/// Bybit (IP rate limit), auth elsewhere; any other status (a 2xx carrying an error included)
/// rejected.
pub fn classify_by_status(venue: Venue, call: Call, http_status: u16) -> ErrorClass {
    match http_status {
        429 | 418 => ErrorClass::Retryable,
        408 | 500..=599 if call.changes_order() => ErrorClass::UnknownOutcome,
        408 | 500..=599 => ErrorClass::Retryable,
        401 => ErrorClass::Auth,
        403 if matches!(venue, Venue::Binance | Venue::Bybit) => ErrorClass::Retryable,
        403 => ErrorClass::Auth,
        _ => ErrorClass::Rejected,
    }
}

/// Reads the answer to [`RequestWriter::new_order`]: Binance's `FULL` report, or the other
/// venues' acknowledgement (`status: None`).
pub fn parse_order(
    venue: Venue,
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    match venue {
        Venue::Binance => binance::parse_order(http_status, body, scales, Call::NewOrder),
        Venue::Coinbase => coinbase::parse_order(http_status, body),
        Venue::Kraken => kraken::parse_order(http_status, body),
        Venue::Okx => okx::parse_ack(http_status, body, Call::NewOrder),
        Venue::Bybit => bybit::parse_ack(http_status, body, Call::NewOrder),
    }
}

/// Reads the answer to [`RequestWriter::cancel_order`]. Binance reports the cancelled order;
/// the others acknowledge (`status: None`).
pub fn parse_cancel(
    venue: Venue,
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    match venue {
        Venue::Binance => binance::parse_order(http_status, body, scales, Call::CancelOrder),
        Venue::Coinbase => coinbase::parse_cancel(http_status, body),
        Venue::Kraken => kraken::parse_cancel(http_status, body),
        Venue::Okx => okx::parse_ack(http_status, body, Call::CancelOrder),
        Venue::Bybit => bybit::parse_ack(http_status, body, Call::CancelOrder),
    }
}

/// Reads the answer to [`RequestWriter::query_order`] into the full report.
pub fn parse_order_query(
    venue: Venue,
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderReport, VenueError> {
    match venue {
        Venue::Binance => binance::parse_order(http_status, body, scales, Call::QueryOrder),
        Venue::Coinbase => coinbase::parse_query(http_status, body, scales),
        Venue::Kraken => kraken::parse_query(http_status, body, scales),
        Venue::Okx => okx::parse_query(http_status, body, scales),
        Venue::Bybit => bybit::parse_query(http_status, body, scales),
    }
}

/// Reads the answer to [`RequestWriter::order_fills`]: every fill listed, exactly at
/// `scales`, their fees by asset, and the cursor of the next page when this one was full
/// ([`OrderFills::next_after`]). OKX (`/api/v5/trade/fills`) and Binance (`myTrades`) only:
/// for any other venue this is a [`ErrorClass::Rejected`] error saying the request is not
/// offered there.
pub fn parse_order_fills(
    venue: Venue,
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<OrderFills, VenueError> {
    match venue {
        Venue::Okx => okx::parse_fills(http_status, body, scales),
        Venue::Binance => binance::parse_trades(http_status, body, scales),
        Venue::Coinbase | Venue::Kraken | Venue::Bybit => Err(VenueError {
            venue,
            http_status,
            code: None,
            message: WriteError::NotOffered { venue }.to_string(),
            class: ErrorClass::Rejected,
        }),
    }
}

/// Reads the answer to [`RequestWriter::last_price`]: the price, exact as the venue wrote it.
/// Binance only; any other venue is a [`ErrorClass::Rejected`] error saying the request is not
/// offered there.
pub fn parse_last_price(venue: Venue, http_status: u16, body: &[u8]) -> Result<Amount, VenueError> {
    match venue {
        Venue::Binance => binance::parse_last_price(http_status, body),
        Venue::Coinbase | Venue::Kraken | Venue::Okx | Venue::Bybit => Err(VenueError {
            venue,
            http_status,
            code: None,
            message: WriteError::NotOffered { venue }.to_string(),
            class: ErrorClass::Rejected,
        }),
    }
}

/// Reads the answer to [`RequestWriter::balances`].
pub fn parse_balances(
    venue: Venue,
    http_status: u16,
    body: &[u8],
) -> Result<Vec<Balance>, VenueError> {
    match venue {
        Venue::Binance => binance::parse_balances(http_status, body),
        Venue::Coinbase => coinbase::parse_balances(http_status, body),
        Venue::Kraken => kraken::parse_balances(http_status, body),
        Venue::Okx => okx::parse_balances(http_status, body),
        Venue::Bybit => bybit::parse_balances(http_status, body),
    }
}

/// Reads the answer to [`RequestWriter::fee_rates`].
pub fn parse_fee_rates(
    venue: Venue,
    http_status: u16,
    body: &[u8],
) -> Result<FeeRates, VenueError> {
    match venue {
        Venue::Binance => binance::parse_fee_rates(http_status, body),
        Venue::Coinbase => coinbase::parse_fee_rates(http_status, body),
        Venue::Kraken => kraken::parse_fee_rates(http_status, body),
        Venue::Okx => okx::parse_fee_rates(http_status, body),
        Venue::Bybit => bybit::parse_fee_rates(http_status, body),
    }
}

/// Reads the answer to [`RequestWriter::symbol_rules`], exactly at `scales`. A tick, step or
/// minimum finer than the configured scales is an error: the configuration is wrong.
pub fn parse_symbol_rules(
    venue: Venue,
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<SymbolRules, VenueError> {
    match venue {
        Venue::Binance => binance::parse_symbol_rules(http_status, body, scales),
        Venue::Coinbase => coinbase::parse_symbol_rules(http_status, body, scales),
        Venue::Kraken => kraken::parse_symbol_rules(http_status, body, scales),
        Venue::Okx => okx::parse_symbol_rules(http_status, body, scales),
        Venue::Bybit => bybit::parse_symbol_rules(http_status, body, scales),
    }
}

/// Reads the answer to [`RequestWriter::candles`]: every bar, exactly at `scales` (prices at
/// the price scale, volume at the size scale; a value finer than that is an error, never
/// rounded), sorted by open time ascending whatever order the venue answered in (OKX, Bybit
/// and Coinbase answer newest first). Two bars with one open time, or a bar whose high and
/// low do not bound its open and close, make the answer unreadable.
pub fn parse_candles(
    venue: Venue,
    http_status: u16,
    body: &[u8],
    scales: Scales,
) -> Result<Vec<Candle>, VenueError> {
    match venue {
        Venue::Binance => binance::parse_candles(http_status, body, scales),
        Venue::Coinbase => coinbase::parse_candles(http_status, body, scales),
        Venue::Kraken => kraken::parse_candles(http_status, body, scales),
        Venue::Okx => okx::parse_candles(http_status, body, scales),
        Venue::Bybit => bybit::parse_candles(http_status, body, scales),
    }
}

/// The public symbol-rules request of `venue` for `host` (`host:port`), without a writer:
/// the rules need no key.
pub fn symbol_rules_request(
    venue: Venue,
    host: &str,
    symbol: &str,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    match venue {
        Venue::Binance => binance::symbol_rules_request(host, symbol, out),
        Venue::Okx => okx::symbol_rules_request(host, symbol, out),
        Venue::Bybit => bybit::symbol_rules_request(host, symbol, out),
        Venue::Kraken => kraken::symbol_rules_request(host, symbol, out),
        Venue::Coinbase => coinbase::symbol_rules_request(host, symbol, out),
    }
}

/// The public candle request of `venue` for `host` (`host:port`, the Host header), without a
/// writer: candles need no key.
pub fn candles_request(
    venue: Venue,
    host: &str,
    query: &CandleQuery<'_>,
    out: &mut Vec<u8>,
) -> Result<(), WriteError> {
    match venue {
        Venue::Binance => binance::candles_request(host, query, out),
        Venue::Okx => okx::candles_request(host, query, out),
        Venue::Bybit => bybit::candles_request(host, query, out),
        Venue::Kraken => kraken::candles_request(host, query, out),
        Venue::Coinbase => coinbase::candles_request(host, query, out),
    }
}
