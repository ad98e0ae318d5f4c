//! The cross-exchange lane: every configured venue's book for one symbol, the decision on each
//! change, both legs fired together, their answers settled into inventory and PnL, and a leg
//! left without its partner unwound at once with a bounded loss.
//!
//! One trade is in flight at a time. An order whose answer is lost (its connection closed
//! or went silent for [`ANSWER_TIMEOUT_MS`]), whose write failed, or whose venue answered
//! without a final state is asked about again by its client order id, with backoff; one whose
//! outcome still cannot be learned after [`MAX_QUERIES`] queries is never assumed unfilled
//! silently: the kill switch trips ([`TripReason::Unresolved`]) and its trade closes without
//! unwinding against a fill that may exist. A leg left alone is unwound on the other leg's
//! venue, again while an unwind fills short ([`MAX_UNWINDS`] in all); where that venue has said
//! it would refuse an order (a rate-limit pause, its count of orders spent until a stated
//! reset) the unwind waits for it, and one refused for rate is sent again once the venue's
//! pause is over ([`MAX_UNWIND_REFUSALS`] such refusals at most). Queries wait out a pause the
//! same way. What a trade leaves
//! open adds to the open imbalance the kill switch watches. In [`Execution::Paper`] the legs fill against the live
//! books at decision time with the venue's matching and fee rules
//! ([`kestrel_strategies::risk::paper_fill`]); in [`Execution::Orders`] they are written as
//! complete signed requests on warm keep-alive connections and settled from the venues'
//! answers. Everything the lane does is recorded as a [`LaneEvent`] for the journal.
//!
//! Money is exact: a leg is valued from its fills or the venue's cumulative quote amount. OKX's
//! order details give only an average price, so a filled OKX order's fills are asked for
//! separately ([`RequestWriter::order_fills`]), a page of at most 100 at a time, older pages
//! after the newest until their sizes add up to the filled size ([`MAX_FILL_PAGES`] pages at
//! most), and the leg is valued from them; only when they cannot be had is it valued at the
//! average price, and counted ([`LaneStats::fills_at_avg_price`]). Binance's order query (what
//! settles an order whose own answer was lost) gives no commission, so that order's trades are
//! asked for the same way (`myTrades`, 1000 a page, newer pages from the next trade id) for
//! their exact commissions; only when they cannot be had is the fee estimated at the account's
//! taker rate, and counted ([`LaneStats::fees_estimated`]).

use std::collections::VecDeque;
use std::sync::Arc;
use std::sync::mpsc::Receiver;

use kestrel_fire::FireError;
use kestrel_fire::relay::{RelayConn, RelayReply, ReplyLimits};
use kestrel_stdx::mono_ns;
use kestrel_store::XarbRecord;
use kestrel_strategies::budget::RequestBudget;
use kestrel_strategies::risk::{
    DiscountFunds, Holdings, KillSwitch, Purpose, RiskLimits, TripReason, paper_fill_discounted,
    plan_unwind,
};
use kestrel_strategies::xarb::{Decision, Leg, Opportunity, SymbolRules, XarbParams, evaluate};
use kestrel_telemetry::{Percentiles, SpanRecorder};
use kestrel_types::Mode;
use kestrel_types::cex::{FeeAsset, Fixed, OrderSide, Rate, Venue};
use kestrel_venues::book::Book;
use kestrel_venues::orders::{
    Call, ErrorClass, MAX_FILL_PAGES, OrderFills, OrderRef, OrderReport, OrderRequest, OrderWindow,
    RequestWriter, Scales, Stamp, Status, Tif, VenueError, parse_order, parse_order_fills,
    parse_order_query, request_cost,
};

use super::VenueFeed;

/// One venue's side of the lane's symbol. The names are shared (`Arc<str>`): settling an
/// answer copies the leg's configuration without allocating.
#[derive(Clone, Debug)]
pub struct LegConfig {
    /// The venue.
    pub venue: Venue,
    /// Index of its feed in the lane's feeds.
    pub feed: usize,
    /// Index of the symbol's book in that feed.
    pub book: usize,
    /// The symbol as the venue spells it in orders.
    pub symbol: Arc<str>,
    /// Base asset as the venue names it (to read fees charged in it).
    pub base_asset: Arc<str>,
    /// Quote asset as the venue names it (a fee in neither is in a third asset).
    pub quote_asset: Arc<str>,
    /// The symbol's scales there.
    pub scales: Scales,
    /// Price step (unwind limits are rounded to it).
    pub tick: Fixed,
    /// Lot, minimum size and minimum notional there.
    pub rules: SymbolRules,
    /// The account's taker fee there (loaded from the venue at start).
    pub taker_fee: Rate,
    /// The taker rate where the fee is paid in the venue's discount asset, where the venue
    /// states one (Binance's BNB discount, loaded at start): what values a fee taken in it.
    pub discounted_taker: Option<Rate>,
    /// Where the venue takes a buy's fee.
    pub buy_fee_asset: FeeAsset,
    /// What the account holds there at start.
    pub holdings: Holdings,
    /// Paper only: what the account's fee-discount asset (Binance's BNB) is worth, quote
    /// notional units, where the venue states a discount ([`LegConfig::discounted_taker`]):
    /// the free balance at the venue's last price at a first start, what a paper run left at a
    /// restart. `None` where it was not priced (live mode, no discount, the price request
    /// failed): paper fills there pay the undiscounted rate. Paper fills pay their fees from
    /// it at the discounted rate while it covers them ([`DiscountFunds`]), as the venue would.
    pub fee_funds: Option<u128>,
    /// The lane's REST budget there, in the venue's unit (Binance: request weight; the
    /// others: requests; see [`request_cost`]): per second, and how much may go at once.
    pub requests_per_second: u32,
    /// See `requests_per_second`.
    pub burst: u32,
    /// The venue's own limit per minute where it reports what has been used against it
    /// (Binance: `exchangeInfo`'s `REQUEST_WEIGHT`, read with `X-MBX-USED-WEIGHT-1M`).
    pub weight_per_minute: Option<u32>,
    /// The account's order-count limits where the venue reports its count on each order's
    /// answer (Binance: `exchangeInfo`'s `ORDERS`, read with `X-MBX-ORDER-COUNT-10S`/`-1D`).
    pub order_windows: [Option<OrderWindow>; 2],
}

/// The lane's configuration.
#[derive(Clone, Debug)]
pub struct LaneConfig {
    /// Every venue trading the symbol.
    pub legs: Vec<LegConfig>,
    /// Decision parameters.
    pub params: XarbParams,
    /// Kill-switch limits.
    pub limits: RiskLimits,
    /// How much worse than the best price an unwind may go.
    pub unwind_slippage: Rate,
}

/// A warm order connection to one venue: keep-alive HTTP with its own reader thread (plain, or
/// a TLS 1.3 session split between the lane, which seals, and the reader, which opens), or a
/// TLS session the lane polls itself (for a venue that offers no TLS 1.3).
#[derive(Debug)]
pub enum OrderConn {
    /// `http://`, or `https://` over TLS 1.3: answers arrive on the `replies` channel.
    Split(RelayConn),
    /// `https://` over any TLS version rustls speaks: answers are read on the lane's polls.
    Polled(crate::net::TlsOrderConn),
}

impl OrderConn {
    /// Whether the connection is believed usable; a closed one has delivered every answer it
    /// read, and the next request reconnects.
    pub fn is_open(&self) -> bool {
        match self {
            OrderConn::Split(c) => c.is_open(),
            OrderConn::Polled(c) => c.is_open(),
        }
    }

    /// Shut it down (an answer owed on it is taken for lost).
    pub fn close(&mut self) {
        match self {
            OrderConn::Split(c) => c.close(),
            OrderConn::Polled(c) => c.close(),
        }
    }

    /// Whether a request now would be written: a split connection between streams is not
    /// until its reader thread has dialed the next (a polled one connects when it writes).
    pub fn is_ready(&self) -> bool {
        match self {
            OrderConn::Split(c) => c.is_ready(),
            OrderConn::Polled(_) => true,
        }
    }

    /// Write one complete request (never twice; see [`RelayConn::send_request`]).
    pub fn send_request(&mut self, request: &[u8]) -> Result<(), SendFailure> {
        match self {
            OrderConn::Split(c) => c.send_request(request).map_err(|e| match e {
                FireError::NotConnected => SendFailure::NotSent(e.to_string()),
                _ => SendFailure::Unknown(e.to_string()),
            }),
            // A failed connect and a failed write look alike here: taken as the latter.
            OrderConn::Polled(c) => c
                .send_request(request)
                .map_err(|e| SendFailure::Unknown(e.to_string())),
        }
    }
}

/// Why a request did not go out whole.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum SendFailure {
    /// Nothing reached the venue: there was no stream to write on.
    NotSent(String),
    /// The write failed or was cut short: the venue may or may not have the request.
    Unknown(String),
}

impl From<RelayConn> for OrderConn {
    fn from(c: RelayConn) -> Self {
        OrderConn::Split(c)
    }
}

impl From<crate::net::TlsOrderConn> for OrderConn {
    fn from(c: crate::net::TlsOrderConn) -> Self {
        OrderConn::Polled(c)
    }
}

/// How legs are executed.
#[allow(missing_debug_implementations)]
pub enum Execution {
    /// Filled on paper against the live books.
    Paper,
    /// Sent to the venues: per leg, a request writer and a warm connection whose replies come
    /// back on `replies` (the connection's index is the leg's).
    Orders {
        /// Per leg.
        writers: Vec<Box<dyn RequestWriter + Send>>,
        /// Per leg, opened with the leg's index.
        conns: Vec<OrderConn>,
        /// Where every split connection's reader thread sends replies (polled TLS connections
        /// are read by the lane itself).
        replies: Receiver<RelayReply>,
    },
}

/// What one leg (or unwind) of a trade did.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegFill {
    /// Base filled.
    pub size: Fixed,
    /// Quote paid or received before fees, notional units.
    pub notional: u128,
    /// Fee charged in quote, notional units.
    pub fee_quote: u128,
    /// Fee charged in base, size units.
    pub fee_base: u128,
    /// Fee charged in a third asset (Binance's BNB, OKX's OKB), valued in quote notional units
    /// at the rate the venue charges in it (Binance: the taker rate with its BNB discount,
    /// read at start; elsewhere the plain taker rate, an upper bound) on the notional of the
    /// fills it paid for, rounded up per fill. The venue converts that value into the asset
    /// at its own price, which the lane does not follow. Charged to the PnL, not to the
    /// holdings (the venue takes it from that asset's balance, which the lane does not hold).
    pub fee_other: u128,
}

/// Which part of a trade an order is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Role {
    /// The buying leg.
    Buy,
    /// The selling leg.
    Sell,
    /// The order that closes the difference.
    Unwind,
}

/// What the lane did, for the journal and the report.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum LaneEvent {
    /// A trade was decided.
    Trade {
        /// Lane-local trade id.
        id: u64,
        /// The decision.
        opportunity: Opportunity,
    },
    /// An order went out.
    OrderSent {
        /// Trade id.
        id: u64,
        /// Which part.
        role: Role,
        /// Where.
        venue: Venue,
        /// Buy or sell.
        side: OrderSide,
        /// How much.
        size: Fixed,
        /// IOC limit.
        limit: Fixed,
    },
    /// An order's final outcome.
    Filled {
        /// Trade id.
        id: u64,
        /// Which part.
        role: Role,
        /// Where.
        venue: Venue,
        /// What it did.
        fill: LegFill,
    },
    /// An order failed (the fill is what is known to have happened: nothing).
    OrderFailed {
        /// Trade id.
        id: u64,
        /// Which part.
        role: Role,
        /// Where.
        venue: Venue,
        /// How the venue's error was classified.
        class: ErrorClass,
        /// The venue's message.
        message: String,
    },
    /// A trade closed: its realized PnL in notional units (after every fee and any unwind).
    Closed {
        /// Trade id.
        id: u64,
        /// Realized PnL.
        pnl: i128,
        /// Whether a leg failed or filled short (an unwind was needed).
        hedged: bool,
        /// Base it left open (bought minus sold, unwinds and base fees included), size units:
        /// what it added to the open imbalance.
        open: i128,
    },
    /// The kill switch tripped: once per trip (the decisions it refuses after are not
    /// events), never for a trip the lane started with ([`XarbLane::start_tripped`]).
    Tripped(TripReason),
    /// A venue's holdings after a settlement.
    Position {
        /// Leg index.
        leg: usize,
        /// Venue.
        venue: Venue,
        /// What it holds now.
        holdings: Holdings,
        /// Paper only, where the venue states a fee discount: what is left of
        /// [`LegConfig::fee_funds`] (a restarted paper run goes on from it).
        fee_funds: Option<u128>,
    },
}

impl LaneEvent {
    /// The journal record for this event, in a run of `mode` (a kill switch trip is kept per
    /// mode, so that only that mode's restarts start tripped).
    pub fn to_record(&self, mode: Mode) -> Option<XarbRecord> {
        let role_name = |role: &Role| match role {
            Role::Buy => "buy",
            Role::Sell => "sell",
            Role::Unwind => "unwind",
        };
        Some(match self {
            LaneEvent::Trade { id, opportunity: o } => XarbRecord::Trade {
                trade_id: *id,
                buy_venue: o.buy_venue.name().into(),
                sell_venue: o.sell_venue.name().into(),
                size_units: o.size.0,
                expected_net_units: o.net,
            },
            LaneEvent::OrderSent {
                id,
                role,
                venue,
                side,
                size,
                limit,
            } => XarbRecord::Order {
                trade_id: *id,
                role: role_name(role).into(),
                venue: venue.name().into(),
                side: match side {
                    OrderSide::Buy => "buy".into(),
                    OrderSide::Sell => "sell".into(),
                },
                size_units: size.0,
                limit_units: limit.0,
            },
            LaneEvent::Filled {
                id,
                role,
                venue,
                fill,
            } => XarbRecord::Fill {
                trade_id: *id,
                role: role_name(role).into(),
                venue: venue.name().into(),
                size_units: fill.size.0,
                notional_units: fill.notional,
                fee_quote_units: fill.fee_quote,
                fee_base_units: fill.fee_base,
                fee_other_units: fill.fee_other,
                error: None,
            },
            LaneEvent::OrderFailed {
                id,
                role,
                venue,
                class,
                message,
            } => XarbRecord::Fill {
                trade_id: *id,
                role: role_name(role).into(),
                venue: venue.name().into(),
                size_units: 0,
                notional_units: 0,
                fee_quote_units: 0,
                fee_base_units: 0,
                fee_other_units: 0,
                error: Some(format!("{class:?}: {message}")),
            },
            LaneEvent::Closed {
                id,
                pnl,
                hedged,
                open,
            } => XarbRecord::Closed {
                trade_id: *id,
                pnl_units: *pnl,
                hedged: *hedged,
                open_base_units: *open,
            },
            LaneEvent::Position {
                leg,
                venue,
                holdings,
                fee_funds,
            } => XarbRecord::Position {
                leg: u32::try_from(*leg).unwrap_or(u32::MAX),
                venue: venue.name().into(),
                base_units: holdings.base,
                quote_units: holdings.quote,
                fee_funds_units: *fee_funds,
            },
            LaneEvent::Tripped(reason) => XarbRecord::Tripped {
                mode,
                reason: reason.key().to_owned(),
                amount: reason.amount(),
            },
        })
    }
}

/// The lane's totals (the sandbox report's `xarb` section).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LaneStats {
    /// Decisions that found the books crossed (worth a look), whatever came of it.
    pub opportunities: u64,
    /// Of those, refused because costs ate the edge.
    pub costs_ate_it: u64,
    /// Trades fired.
    pub trades: u64,
    /// Orders sent (legs and unwinds).
    pub orders: u64,
    /// Orders that filled something.
    pub fills: u64,
    /// Unwinds sent.
    pub unwinds: u64,
    /// Realized PnL, notional units.
    pub pnl: i128,
    /// Fees paid, notional units (base fees valued at their fill price, rounded up).
    pub fees: u128,
    /// Largest unhedged position seen, valued at its price, notional units.
    pub unhedged_max: u128,
    /// Trades whose legs both filled in full and still lost money after fees: must be 0.
    pub unprofitable_after_fees: u64,
    /// Times a trade worth making was held back because a venue's request budget was spent
    /// (once per hold, however long it lasts).
    pub rate_limited: u64,
    /// Rate-limit (or busy) answers from a venue, each of which paused it.
    pub venue_pauses: u64,
    /// Unwind orders a venue refused for rate or load (sent again once it accepts).
    pub unwinds_refused: u64,
    /// Trades decided on book changes that waited (behind a trade in flight, or for budget):
    /// not in the latency spans, which time a book change read to its orders written.
    pub deferred_trades: u64,
    /// Filled orders whose venue's answer gave no fee (Binance's order query, after an answer
    /// was lost) and whose trades, which carry it, could not be had (`myTrades` not written,
    /// sent or answered, or never adding up to the filled size): charged the account's taker
    /// rate instead, rounded up. Should be 0.
    pub fees_estimated: u64,
    /// Fills whose fee the venue took (or, on paper, would take) in a third asset (Binance's
    /// BNB, OKX's OKB), valued at the rate it charges there ([`LegFill::fee_other`]), not at the venue's own conversion:
    /// keep such fee payment off for exact PnL.
    pub fees_in_other_asset: u64,
    /// Orders whose outcome could not be learned (each trips the kill switch): should be 0.
    pub unresolved: u64,
    /// Filled orders valued at the venue's (possibly rounded) average price because their
    /// exact fills could not be had: the venue's answer gave neither fills nor a quote amount
    /// and a fills request failed, or its fills never added up to the filled size (within
    /// [`MAX_FILL_PAGES`] pages). Should be 0.
    pub fills_at_avg_price: u64,
}

/// How long a venue is left alone after it answers "too many requests" or "busy", on top of
/// its budget refilling from empty, when it does not say (`Retry-After`).
const RATE_LIMIT_PAUSE_MS: u64 = 1_000;

/// Added to the end of a venue's fixed count window (Binance's minute of request weight, its
/// 10-second and daily order windows: taken on the wall clock) before the count stops bounding
/// the budget: room for the two clocks to differ.
const WINDOW_SKEW_MS: u64 = 1_000;

/// Added to a reset time the venue states (Bybit's windows are a second long, so the minute's
/// second of room would halve what a busy second may send): room for clocks that agree to
/// NTP's tens of milliseconds. Clocks further apart draw a refusal, which pauses the venue.
const RESET_SKEW_MS: u64 = 100;

/// Orders one trade may need on a venue: its own, and an unwind's if the other leg fails.
/// Where the venue counts the account's orders (Bybit's `X-Bapi-Limit-Status`, Binance's
/// `X-MBX-ORDER-COUNT-10S` and `-1D`), fewer left than this holds new trades there until the
/// count frees up.
const ORDERS_PER_TRADE: u32 = 2;

/// The window a venue that states the orders left counts them in (Bybit: a rolling second):
/// how long a count with some left may take to free one.
const RATE_WINDOW_MS: u64 = 1_000;

/// Longest a venue's stated reset time may hold it (Bybit's windows are a second long): a
/// reset further out is taken for clocks that disagree, not waited for.
const MAX_RESET_WAIT_MS: u64 = 60_000;

/// Which request a pending answer is to.
#[derive(Clone, Copy, Debug)]
enum Asked {
    /// The order itself.
    Order,
    /// An order query.
    Query,
    /// A page of a final order's fills (OKX's fills, Binance's trades); the value is how to
    /// settle the leg when the fills cannot be had.
    Fills(Fallback),
}

impl Asked {
    /// The request a follow-up of this kind is (what it costs the venue's budget).
    fn call(self) -> Call {
        match self {
            Asked::Fills(_) => Call::OrderFills,
            Asked::Query | Asked::Order => Call::QueryOrder,
        }
    }
}

/// How a final order whose fills were asked for is settled when they cannot be had, and what
/// that is counted as.
#[derive(Clone, Copy, Debug)]
enum Fallback {
    /// Valued at the venue's (possibly rounded) average price (OKX's order details):
    /// [`LaneStats::fills_at_avg_price`].
    AvgPrice(LegFill),
    /// Exact but for the fee, estimated at the account's taker rate (Binance's order query):
    /// [`LaneStats::fees_estimated`].
    EstimatedFee(LegFill),
}

impl Fallback {
    /// The leg as the fallback values it.
    fn fill(self) -> LegFill {
        match self {
            Fallback::AvgPrice(fill) | Fallback::EstimatedFee(fill) => fill,
        }
    }
}

/// How long an order's (or a query's) answer may take before it is taken for lost and its
/// connection replaced; the order is then asked about by its client id.
pub const ANSWER_TIMEOUT_MS: u64 = 3_000;

/// Queries of an order whose outcome is unknown before the lane gives up on learning it.
pub const MAX_QUERIES: u8 = 8;

/// How patient the lane is with venues that do not answer.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LaneTiming {
    /// See [`ANSWER_TIMEOUT_MS`].
    pub answer_timeout_ms: u64,
    /// Delay before the first query of an order whose outcome is unknown; each next one
    /// waits twice as long, at most `query_max_delay_ms`.
    pub query_first_delay_ms: u64,
    /// See `query_first_delay_ms`.
    pub query_max_delay_ms: u64,
}

impl Default for LaneTiming {
    /// 3 s for an answer; queries 0.1 s, 0.2 s, .. 5 s apart (about 16 s over
    /// [`MAX_QUERIES`]).
    fn default() -> Self {
        LaneTiming {
            answer_timeout_ms: ANSWER_TIMEOUT_MS,
            query_first_delay_ms: 100,
            query_max_delay_ms: 5_000,
        }
    }
}

/// Times a final order's fills are asked for again from the first page when the pages read
/// fall short of its filled size with no next page (the fills lag the order's state), before
/// the leg is settled at its fallback.
const FILLS_RETRIES: u8 = 3;

/// Unwind orders per trade: one, and more while they fill short.
pub const MAX_UNWINDS: u8 = 3;

/// Unwind orders of one trade a venue may refuse for rate (each waited out: the venue's pause,
/// or its count's reset) before the trade closes with what is left open in the imbalance.
pub const MAX_UNWIND_REFUSALS: u8 = 4;

/// An unwind with no price on its book (the side is empty, or the book resyncing) is tried
/// again this often.
const UNWIND_RETRY_MS: u64 = 50;
/// How long after a trade's first unwind it waits, for a price or for a venue that said it
/// would refuse an order, before closing with what is left in the open imbalance.
const UNWIND_GIVE_UP_MS: u64 = 10_000;

#[derive(Clone, Debug)]
struct Pending {
    id: u64,
    role: Role,
    /// Which of the trade's orders in this role (unwinds: 1, 2, ..; legs: 0): part of the
    /// client order id.
    attempt: u8,
    leg: usize,
    /// When the request now awaited was written, unix ms.
    sent_ms: u64,
    /// Queries sent to learn the order's outcome.
    queries: u8,
    /// The venue's id, once an answer named it (Coinbase queries by nothing else; fills are
    /// asked for by it).
    venue_order_id: String,
    asked: Asked,
    /// Fills re-asks from the first page still allowed (see [`FILLS_RETRIES`]).
    fills_retries_left: u8,
    /// The fills pages read so far, in the order asked (OKX: newest first; Binance: oldest
    /// first), with the next page's cursor while more fills may follow: empty until a fills
    /// answer comes.
    fills: OrderFills,
    /// Fills pages that may still be asked for.
    pages_left: u8,
}

/// A follow-up request to send once due: a query or a fills page.
#[derive(Clone, Debug)]
struct Later {
    due_ms: u64,
    asked: Asked,
    pending: Pending,
}

/// What a trade's unwinds did, netted: base in size units, quote in notional units.
#[derive(Clone, Copy, Debug, Default)]
struct Unwound {
    /// Base gained (buys, less base fees) less base given (sells).
    base: i128,
    /// Quote received (sells) less quote paid (buys), before fees.
    cash: i128,
    /// Fees charged in quote.
    fee_quote: u128,
    /// Fees charged in base, valued at their fill's price.
    fee_value: u128,
    /// Fees charged in a third asset, as valued ([`LegFill::fee_other`]).
    fee_other: u128,
}

#[derive(Clone, Copy, Debug)]
struct InFlight {
    id: u64,
    buy_leg: usize,
    sell_leg: usize,
    buy: Option<LegFill>,
    sell: Option<LegFill>,
    /// The unwind out now: its leg, side and size.
    unwind_out: Option<(usize, OrderSide, Fixed)>,
    /// Unwinds settled so far.
    unwound: Unwound,
    /// Unwind orders sent, less those the venue refused for rate.
    unwinds: u8,
    /// Unwind orders the venue refused for rate (nothing filled; the next waits for the
    /// venue): at most [`MAX_UNWIND_REFUSALS`] before the trade closes with what is open.
    refusals: u8,
    /// When to (try to) send the next unwind.
    unwind_due_ms: Option<u64>,
    /// When the trade first needed an unwind, unix ms.
    unwind_since_ms: Option<u64>,
    hedged: bool,
    /// A leg's outcome could not be learned: close without unwinding.
    unresolved: bool,
}

/// One order to write.
#[derive(Clone, Copy, Debug)]
struct Order {
    id: u64,
    role: Role,
    attempt: u8,
    leg: usize,
    side: OrderSide,
    size: Fixed,
    limit: Fixed,
}

/// The lane: feeds, decision, execution, settlement.
#[allow(missing_debug_implementations)]
pub struct XarbLane {
    cfg: LaneConfig,
    feeds: Vec<Box<dyn VenueFeed + Send>>,
    exec: Execution,
    kill: KillSwitch,
    /// The kill switch's trips already pushed as [`LaneEvent::Tripped`] (or started with).
    trips_reported: u64,
    holdings: Vec<Holdings>,
    /// Per leg, paper only: the fee-discount funds left (`None`: the venue states no
    /// discount, or the lane sends orders).
    discount: Vec<Option<DiscountFunds>>,
    pending: Vec<VecDeque<Pending>>,
    /// Follow-up requests waiting for their time.
    later: Vec<Later>,
    in_flight: Option<InFlight>,
    /// Base the closed trades left open (unwinds short, base fees), size units: the open
    /// imbalance the kill switch bounds.
    open_base: i128,
    /// Realized PnL earlier runs left since the kill switch's last reset (notional units):
    /// the kill switch counts the drawdown from there ([`XarbLane::resume_pnl`]).
    pnl_carried: i128,
    /// Stopping: settle what is in flight, start nothing.
    closing: bool,
    timing: LaneTiming,
    /// This run's client order id prefix (`kx` and the start's unix seconds in base 36), so
    /// that no id repeats one of an earlier run's.
    run_tag: String,
    next_id: u64,
    changed: bool,
    buf: Vec<u8>,
    events: Vec<LaneEvent>,
    stats: LaneStats,
    /// The last nonce a request was signed with: strictly increasing across every request
    /// (Kraken refuses a nonce not above the key's last).
    nonce: u64,
    /// The client order id being written (reused: the order path allocates nothing).
    client_id: String,
    /// Per leg: the venue's request budget.
    budgets: Vec<RequestBudget>,
    /// Whether a trade worth making is being held back for budget.
    holding: bool,
    /// Per leg: book changes seen.
    versions: Vec<u64>,
    /// Per leg: `versions` when the lane last traded there (`u64::MAX`: never).
    traded_at: Vec<u64>,
    /// From the poll whose frame changed a book to both orders written.
    update_to_orders: SpanRecorder,
    /// The two halves: to the decision, and from it to both orders written.
    update_to_decision: SpanRecorder,
    decision_to_orders: SpanRecorder,
    /// When the book change being decided on was read.
    read_ns: u64,
    /// Whether the poll deciding read a book change itself (else the decision is one that
    /// waited).
    fresh: bool,
}

/// Events kept before the caller drains them; more are dropped (the stats still count them).
const MAX_EVENTS: usize = 4096;

impl XarbLane {
    /// A lane over `feeds` (indexed by each leg's `feed`), executing with `exec`.
    pub fn new(
        cfg: LaneConfig,
        feeds: Vec<Box<dyn VenueFeed + Send>>,
        exec: Execution,
    ) -> XarbLane {
        let holdings = cfg.legs.iter().map(|l| l.holdings).collect();
        let paper = matches!(exec, Execution::Paper);
        let discount = cfg
            .legs
            .iter()
            .map(|l| {
                let rate = l.discounted_taker.filter(|_| paper)?;
                Some(DiscountFunds {
                    rate,
                    left: l.fee_funds?,
                })
            })
            .collect();
        let now = mono_ns();
        let budgets = cfg
            .legs
            .iter()
            .map(|l| RequestBudget::new(l.requests_per_second, l.burst, now))
            .collect();
        let n_legs = cfg.legs.len();
        let pending = cfg
            .legs
            .iter()
            .map(|_| VecDeque::with_capacity(16))
            .collect();
        XarbLane {
            kill: KillSwitch::new(cfg.limits),
            trips_reported: 0,
            cfg,
            feeds,
            exec,
            holdings,
            discount,
            pending,
            later: Vec::with_capacity(32),
            in_flight: None,
            open_base: 0,
            pnl_carried: 0,
            closing: false,
            run_tag: run_tag(),
            timing: LaneTiming::default(),
            next_id: 1,
            changed: false,
            buf: Vec::with_capacity(4096),
            events: Vec::with_capacity(MAX_EVENTS),
            client_id: String::with_capacity(32),
            stats: LaneStats::default(),
            update_to_orders: SpanRecorder::new(),
            update_to_decision: SpanRecorder::new(),
            decision_to_orders: SpanRecorder::new(),
            read_ns: 0,
            fresh: false,
            nonce: 0,
            budgets,
            holding: false,
            versions: vec![0; n_legs],
            traded_at: vec![u64::MAX; n_legs],
        }
    }

    /// The same lane with other patience for venues that do not answer.
    pub fn with_timing(mut self, timing: LaneTiming) -> XarbLane {
        self.timing = timing;
        self
    }

    /// The same lane with its kill switch tripped for `reason` from the start: a trip an
    /// earlier run journaled and no operator has reset. It opens no trade until the switch is
    /// reset; the trip is not pushed again as an event (it is journaled already).
    pub fn start_tripped(mut self, reason: TripReason) -> XarbLane {
        self.kill.trip(reason);
        self.trips_reported = self.kill.trips();
        self
    }

    /// The same lane carrying realized PnL `pnl` (peak `peak`) from earlier runs since the
    /// kill switch was last reset: the drawdown limit counts from there, so a restart does not
    /// give a losing lane a fresh allowance. The lane's own totals still start at zero.
    pub fn resume_pnl(mut self, pnl: i128, peak: i128) -> XarbLane {
        self.pnl_carried = pnl;
        self.kill.resume(pnl, peak);
        self
    }

    /// The same lane carrying base `open` (size units) that earlier runs' trades left open
    /// since the kill switch was last reset: the open imbalance counts from there, so a restart
    /// does not forget an unwind that came up short. Trips at once when it is already past the
    /// limit.
    pub fn resume_open_base(mut self, open: i128) -> XarbLane {
        self.open_base = open;
        self.kill.on_imbalance(open.unsigned_abs());
        self
    }

    /// The open imbalance: base the closed trades left open, earlier runs' included, size
    /// units.
    pub fn open_base(&self) -> i128 {
        self.open_base
    }

    /// Realized PnL the kill switch counts: what earlier runs carried over plus this run's.
    pub fn risk_pnl(&self) -> i128 {
        self.pnl_carried.saturating_add(self.stats.pnl)
    }

    /// Totals so far.
    pub fn stats(&self) -> LaneStats {
        self.stats
    }

    /// The legs, in config order, as loaded at start (fees, rules, limits).
    pub fn legs(&self) -> &[LegConfig] {
        &self.cfg.legs
    }

    /// Leg `leg`'s feed counters (connections, malformed frames) and its book's integrity
    /// counters (snapshots, resyncs by reason), over every connection so far.
    pub fn leg_feed_stats(
        &self,
        leg: usize,
    ) -> Option<(super::FeedStats, kestrel_venues::sync::SyncStats)> {
        let l = self.cfg.legs.get(leg)?;
        let feed = self.feeds.get(l.feed)?;
        Some((feed.stats(), feed.sync_stats(l.book).unwrap_or_default()))
    }

    /// Latency from the poll that read a book change to both of its orders written (orders
    /// mode only).
    pub fn update_to_orders(&self) -> Percentiles {
        self.update_to_orders.percentiles()
    }

    /// Its first part: from the poll that read the change to the decision to trade (the
    /// feeds' reads, decode and book updates, and the decision).
    pub fn update_to_decision(&self) -> Percentiles {
        self.update_to_decision.percentiles()
    }

    /// Its second part: from the decision to both requests written (signing and the two
    /// socket writes).
    pub fn decision_to_orders(&self) -> Percentiles {
        self.decision_to_orders.percentiles()
    }

    /// What leg `i` holds now, as the lane has settled it.
    pub fn holdings(&self, leg: usize) -> Option<Holdings> {
        self.holdings.get(leg).copied()
    }

    /// Paper only: leg `i`'s fee-discount funds left ([`LegConfig::fee_funds`] less the
    /// discounted fees paper fills paid from it); `None` where there is no discount.
    pub fn fee_funds(&self, leg: usize) -> Option<u128> {
        self.discount.get(leg).copied().flatten().map(|d| d.left)
    }

    /// The kill switch (to trip or reset by command).
    pub fn kill_switch(&mut self) -> &mut KillSwitch {
        &mut self.kill
    }

    /// Whether the kill switch has tripped.
    pub fn kill_switch_tripped(&self) -> bool {
        self.kill.tripped().is_some()
    }

    /// Whether a trade is waiting for answers.
    pub fn is_busy(&self) -> bool {
        self.in_flight.is_some()
    }

    /// Stop deciding: what is in flight is still settled (and unwound), nothing new starts.
    /// For a shutdown.
    pub fn stop_deciding(&mut self) {
        self.closing = true;
    }

    /// Take the events recorded since the last call.
    pub fn drain_events(&mut self) -> Vec<LaneEvent> {
        std::mem::take(&mut self.events)
    }

    /// Poll every feed, settle answers, and decide if a book changed. Never blocks.
    pub fn poll(&mut self, now_ns: u64, now_ms: u64) {
        let mut changed = false;
        let (legs, versions) = (&self.cfg.legs, &mut self.versions);
        for (f, feed) in self.feeds.iter_mut().enumerate() {
            feed.poll(now_ns, &mut |book| {
                changed = true;
                for (leg, version) in legs.iter().zip(versions.iter_mut()) {
                    if leg.feed == f && leg.book == book {
                        *version += 1;
                    }
                }
            });
        }
        if changed {
            // The frame that changed the book was read in this poll, at or after `now_ns`.
            self.read_ns = now_ns;
        }
        self.fresh = changed;
        self.changed |= changed;
        self.settle_replies(now_ns, now_ms);
        self.act(now_ns, now_ms);
        if self.changed && self.in_flight.is_none() && !self.closing {
            self.changed = false;
            self.decide(now_ns, now_ms);
        }
        // A trip by command (`kill_switch().trip`) between polls is reported too.
        self.report_trip();
    }

    /// What settling left to do: take the answers owed on closed connections for lost,
    /// replace connections that went silent, send the follow-ups due, and the unwind due.
    fn act(&mut self, now_ns: u64, now_ms: u64) {
        if let Execution::Orders { conns, .. } = &mut self.exec {
            let mut reap = false;
            for (leg, conn) in conns.iter_mut().enumerate() {
                let Some(front) = self.pending.get(leg).and_then(VecDeque::front) else {
                    continue;
                };
                if !conn.is_open() {
                    reap = true;
                } else if now_ms.saturating_sub(front.sent_ms) > self.timing.answer_timeout_ms {
                    // Silent (half-open, or an answer that cannot be framed): replace it.
                    // Its reader ends and its owed answers are reaped on a later poll.
                    conn.close();
                }
            }
            if reap {
                self.reap_closed(now_ns, now_ms);
            }
        }
        if self.later.iter().any(|l| l.due_ms <= now_ms) {
            let mut i = 0;
            while i < self.later.len() {
                let Some((leg, asked)) = self
                    .later
                    .get(i)
                    .filter(|l| l.due_ms <= now_ms)
                    .map(|l| (l.pending.leg, l.asked))
                else {
                    i += 1;
                    continue;
                };
                // The venue refuses such a request for now (a rate-limit pause, its count too
                // far spent for it): sent now it would only spend one of the order's tries.
                // Wait for it.
                let cost = self.cost(leg, asked.call());
                if let Some(until_ns) = self
                    .budgets
                    .get(leg)
                    .and_then(|b| b.refused_until(now_ns, cost))
                {
                    if let Some(l) = self.later.get_mut(i) {
                        l.due_ms = now_ms.saturating_add((until_ns - now_ns).div_ceil(1_000_000));
                    }
                    i += 1;
                    continue;
                }
                let l = self.later.swap_remove(i);
                self.send_follow_up(l.pending, l.asked, now_ns, now_ms);
            }
        }
        if let Some(t) = self.in_flight
            && t.unwind_due_ms.is_some_and(|due| due <= now_ms)
        {
            self.start_unwind(t, now_ns, now_ms);
        }
    }

    /// Every connection seen closed with answers owed: read what it delivered before
    /// closing, then take the rest for lost (their orders are asked about).
    fn reap_closed(&mut self, now_ns: u64, now_ms: u64) {
        let Execution::Orders { conns, .. } = &self.exec else {
            return;
        };
        let legs = conns.len();
        // Legs 64 at a time, those closed held in a bitmask: reaping allocates nothing.
        for first in (0..legs).step_by(64) {
            // Seen closed before the last answers are read: a closed connection's reader has
            // delivered everything it read before it said so.
            let mut closed = self.closed_legs(first);
            self.settle_replies(now_ns, now_ms);
            while closed != 0 {
                let leg = first + closed.trailing_zeros() as usize;
                closed &= closed - 1;
                while let Some(p) = self.pending.get_mut(leg).and_then(VecDeque::pop_front) {
                    self.answer_lost(p, now_ms);
                }
            }
        }
    }

    /// Of legs `first..first + 64`, those whose connections are closed: bit `i` is leg
    /// `first + i`.
    fn closed_legs(&self, first: usize) -> u64 {
        let Execution::Orders { conns, .. } = &self.exec else {
            return 0;
        };
        conns
            .iter()
            .skip(first)
            .take(64)
            .enumerate()
            .filter(|(_, c)| !c.is_open())
            .fold(0, |mask, (i, _)| mask | 1 << i)
    }

    /// The answer to `p`'s request will not come: ask about the order (a fills page is
    /// settled at its fallback).
    fn answer_lost(&mut self, p: Pending, now_ms: u64) {
        match p.asked {
            Asked::Fills(fallback) => self.settle_fallback(&p, fallback, now_ms),
            Asked::Order | Asked::Query => self.ask_later(p, now_ms),
        }
    }

    fn is_live(&self, leg: usize, now_ns: u64) -> bool {
        self.cfg
            .legs
            .get(leg)
            .and_then(|l| Some((self.feeds.get(l.feed)?, l.book)))
            .is_some_and(|(feed, book)| feed.is_live(book, now_ns))
    }

    /// Whether an order on leg `leg` would be written now (paper: always): a venue whose
    /// connection is being redialed is not traded until it is back.
    fn can_send(&self, leg: usize) -> bool {
        match &self.exec {
            Execution::Orders { conns, .. } => conns.get(leg).is_some_and(OrderConn::is_ready),
            Execution::Paper => true,
        }
    }

    /// Whether the leg's book has not changed since the lane last traded there: the liquidity
    /// it took may still be shown, so it is not traded against again until the venue says.
    fn stale_since_trade(&self, leg: usize) -> bool {
        self.versions.get(leg) == self.traded_at.get(leg)
    }

    /// What a `call` costs on leg `leg`'s venue.
    fn cost(&self, leg: usize, call: Call) -> u32 {
        self.cfg
            .legs
            .get(leg)
            .map_or(1, |l| request_cost(l.venue, call))
    }

    /// Whether leg `leg`'s venue has an order's cost left in its budget.
    fn has_budget(&mut self, leg: usize, now_ns: u64) -> bool {
        let cost = self.cost(leg, Call::NewOrder);
        self.budgets
            .get_mut(leg)
            .is_some_and(|b| b.available(now_ns) >= cost)
    }

    /// One `call` to leg `leg`'s venue (into debt if need be).
    fn spend_budget(&mut self, leg: usize, call: Call, now_ns: u64) {
        let cost = self.cost(leg, call);
        if let Some(b) = self.budgets.get_mut(leg) {
            b.spend(cost, now_ns);
        }
    }

    /// Requests sent to leg `leg`'s venue so far, by the lane's count.
    pub fn requests_sent(&self, leg: usize) -> u64 {
        self.budgets.get(leg).map_or(0, RequestBudget::requests)
    }

    /// What an answer's headers say about the venue's limits: a count of what has been used
    /// (bounds the budget until the count's minute ends, less what is still in flight there),
    /// or of the orders left (see [`XarbLane::note_order_counts`]).
    fn note_limits(
        &mut self,
        leg: usize,
        asked: Asked,
        limits: &ReplyLimits,
        now_ns: u64,
        now_ms: u64,
    ) {
        if matches!(asked, Asked::Order) {
            self.note_order_counts(leg, limits, now_ns, now_ms);
        }
        let (Some(used), Some(limit)) = (
            limits.used_weight_1m,
            self.cfg.legs.get(leg).and_then(|l| l.weight_per_minute),
        ) else {
            return;
        };
        let in_flight: u32 = self.pending.get(leg).map_or(0, |q| {
            q.iter()
                .map(|p| match p.asked {
                    Asked::Order => self.cost(leg, Call::NewOrder),
                    Asked::Query => self.cost(leg, Call::QueryOrder),
                    Asked::Fills(_) => self.cost(leg, Call::OrderFills),
                })
                .sum()
        });
        let to_window_end_ms = 60_000 - now_ms % 60_000 + WINDOW_SKEW_MS;
        let until = now_ns.saturating_add(to_window_end_ms.saturating_mul(1_000_000));
        if let Some(b) = self.budgets.get_mut(leg) {
            b.bound_by_venue(used, limit, in_flight, until);
        }
    }

    /// What an order's answer says of the account's order counts, each less the orders sent
    /// there since (still in flight): Bybit's orders left to the endpoint (it counts each
    /// endpoint apart, so only an order's answer counts them), Binance's unfilled orders in
    /// each `ORDERS` window. A count with fewer left than a trade may need holds new trades
    /// there until it frees up, on the lane's clock; a settling query still goes, and an
    /// unwind too while one order is left. None left: the venue would refuse any order, so
    /// an unwind there waits as well. Every count with enough left: a hold an earlier answer
    /// set is lifted.
    fn note_order_counts(&mut self, leg: usize, limits: &ReplyLimits, now_ns: u64, now_ms: u64) {
        let sent_since = self.pending.get(leg).map_or(0, |q| {
            q.iter().filter(|p| matches!(p.asked, Asked::Order)).count()
        });
        let sent_since = u32::try_from(sent_since).unwrap_or(u32::MAX);
        let Some(cfg) = self.cfg.legs.get(leg) else {
            return;
        };
        // (orders left, when more will be: Unix ms)
        let bybit = limits.bapi_limit_status.map(|left| {
            let left = left.saturating_sub(sent_since);
            // Bybit states when the count frees up only once it is spent; with some left, its
            // reset is "now", and the requests counted leave a rolling window no sooner than
            // a window from now: wait that out, so the one left stays for an unwind.
            let to_reset_ms = match limits.bapi_limit_reset_ms.map(|r| r.saturating_sub(now_ms)) {
                Some(ahead) if left == 0 && ahead > 0 => ahead.min(MAX_RESET_WAIT_MS),
                _ => RATE_WINDOW_MS,
            };
            (left, now_ms + to_reset_ms + RESET_SKEW_MS)
        });
        // Binance's windows are fixed (10 s from :00, a UTC day): the count frees up when
        // the window ends.
        let binance = limits.order_counts.iter().flatten().filter_map(|c| {
            let window = cfg
                .order_windows
                .iter()
                .flatten()
                .find(|w| w.window_ms == c.window_ms)?;
            let left = window
                .limit
                .saturating_sub(c.count)
                .saturating_sub(sent_since);
            let window_end_ms = (now_ms / c.window_ms + 1).saturating_mul(c.window_ms);
            Some((left, window_end_ms + WINDOW_SKEW_MS))
        });
        let (mut hold_ms, mut refuse_ms, mut counted) = (now_ms, now_ms, false);
        for (left, frees_at_ms) in bybit.into_iter().chain(binance) {
            counted = true;
            if left < ORDERS_PER_TRADE {
                hold_ms = hold_ms.max(frees_at_ms);
            }
            if left == 0 {
                refuse_ms = refuse_ms.max(frees_at_ms);
            }
        }
        let Some(b) = self.budgets.get_mut(leg).filter(|_| counted) else {
            return;
        };
        let at_ns = |ms: u64| now_ns.saturating_add((ms - now_ms).saturating_mul(1_000_000));
        b.hold_until(at_ns(hold_ms));
        if refuse_ms > now_ms {
            b.refuse_orders_until(at_ns(refuse_ms));
        }
    }

    /// The venue refused for rate or load: leave it alone for what it asked (`Retry-After`),
    /// at least [`RATE_LIMIT_PAUSE_MS`].
    fn pause_venue(&mut self, leg: usize, limits: &ReplyLimits, now_ns: u64) {
        let pause_ms = limits
            .retry_after_s
            .map_or(0, |s| u64::from(s) * 1_000)
            .max(RATE_LIMIT_PAUSE_MS);
        if let Some(b) = self.budgets.get_mut(leg) {
            b.penalize(now_ns, pause_ms);
            self.stats.venue_pauses += 1;
        }
    }

    fn mark_traded(&mut self, leg: usize) {
        if let (Some(t), Some(v)) = (self.traded_at.get_mut(leg), self.versions.get(leg)) {
            *t = *v;
        }
    }

    fn book_ref(&self, leg: usize) -> Option<&Book> {
        let l = self.cfg.legs.get(leg)?;
        self.feeds.get(l.feed)?.book(l.book)
    }

    /// Leg `leg` as the decision sees it: its book, fee, rules, and what it may spend there.
    fn leg(&self, leg: usize, role: Role) -> Option<Leg<'_>> {
        let l = self.cfg.legs.get(leg)?;
        let h = self.holdings.get(leg)?;
        Some(Leg {
            venue: l.venue,
            book: self.book_ref(leg)?,
            taker_fee: l.taker_fee,
            rules: l.rules,
            available: if role == Role::Buy { h.quote } else { h.base },
        })
    }

    fn decide(&mut self, now_ns: u64, now_ms: u64) {
        let mut best: Option<(Opportunity, usize, usize)> = None;
        let mut held = false;
        let mut unconnected = false;
        let n = self.cfg.legs.len();
        for buy in 0..n {
            for sell in 0..n {
                if buy == sell {
                    continue;
                }
                if !self.is_live(buy, now_ns)
                    || !self.is_live(sell, now_ns)
                    || self.stale_since_trade(buy)
                    || self.stale_since_trade(sell)
                {
                    continue;
                }
                let (Some(b), Some(s)) = (self.leg(buy, Role::Buy), self.leg(sell, Role::Sell))
                else {
                    continue;
                };
                match evaluate(&b, &s, &self.cfg.params) {
                    Ok(Decision::Trade(o)) => {
                        self.stats.opportunities += 1;
                        if !self.can_send(buy) || !self.can_send(sell) {
                            unconnected = true;
                            continue;
                        }
                        if !self.has_budget(buy, now_ns) || !self.has_budget(sell, now_ns) {
                            held = true;
                            continue;
                        }
                        if best.is_none_or(|(x, _, _)| o.net > x.net) {
                            best = Some((o, buy, sell));
                        }
                    }
                    Ok(
                        Decision::CostsEatIt
                        | Decision::BelowMinProfit { .. }
                        | Decision::BelowMinimums,
                    ) => {
                        self.stats.opportunities += 1;
                        self.stats.costs_ate_it += 1;
                    }
                    _ => {}
                }
            }
        }
        match best {
            Some((o, buy, sell)) => {
                // A trade let go by a refilled budget, or decided once the trade in flight
                // settled, was not caused by a book change read in this poll: it waited, and
                // is counted apart rather than timed.
                let timed = !self.holding && self.fresh;
                if !timed {
                    self.stats.deferred_trades += 1;
                }
                self.holding = false;
                self.fire(o, buy, sell, now_ns, now_ms, timed);
            }
            None if held => {
                // Worth trading but out of budget: decide again on every poll until the budget
                // allows it or the books move it away. Counted once per hold.
                if !self.holding {
                    self.stats.rate_limited += 1;
                }
                self.holding = true;
                self.changed = true;
            }
            // Worth trading but a venue's connection is being redialed: decide again on every
            // poll until it is back (a trade then waited, and is not timed).
            None if unconnected => {
                self.holding = true;
                self.changed = true;
            }
            None => self.holding = false,
        }
    }

    fn fire(
        &mut self,
        o: Opportunity,
        buy_leg: usize,
        sell_leg: usize,
        now_ns: u64,
        now_ms: u64,
        timed: bool,
    ) {
        // Both connections made fresh before either order is written, so that nothing is
        // settled between the two writes (and an order found unresolved trips the switch
        // before the trade opens).
        self.ensure_fresh(buy_leg, now_ns, now_ms);
        self.ensure_fresh(sell_leg, now_ns, now_ms);
        if self.kill.allow(now_ms, 2, Purpose::Open).is_err() {
            self.report_trip();
            return;
        }
        let decided_ns = mono_ns();
        let id = self.next_id;
        self.next_id += 1;
        self.stats.trades += 1;
        self.push(LaneEvent::Trade { id, opportunity: o });
        self.in_flight = Some(InFlight {
            id,
            buy_leg,
            sell_leg,
            buy: None,
            sell: None,
            unwind_out: None,
            unwound: Unwound::default(),
            unwinds: 0,
            refusals: 0,
            unwind_due_ms: None,
            unwind_since_ms: None,
            hedged: false,
            unresolved: false,
        });
        let buy = Order {
            id,
            role: Role::Buy,
            attempt: 0,
            leg: buy_leg,
            side: OrderSide::Buy,
            size: o.size,
            limit: o.buy_limit,
        };
        self.send(buy, now_ns, now_ms);
        let sell = Order {
            role: Role::Sell,
            leg: sell_leg,
            side: OrderSide::Sell,
            limit: o.sell_limit,
            ..buy
        };
        self.send(sell, now_ns, now_ms);
        if timed && matches!(self.exec, Execution::Orders { .. }) {
            let written_ns = mono_ns();
            self.update_to_orders
                .record(written_ns.saturating_sub(self.read_ns));
            self.update_to_decision
                .record(decided_ns.saturating_sub(self.read_ns));
            self.decision_to_orders
                .record(written_ns.saturating_sub(decided_ns));
        }
    }

    fn send(&mut self, order: Order, now_ns: u64, now_ms: u64) {
        let Order {
            id,
            role,
            attempt,
            leg,
            side,
            size,
            limit,
        } = order;
        let Some(cfg) = self.cfg.legs.get(leg) else {
            return;
        };
        // Copied out, so the order path clones no config (no allocation).
        let (venue, taker_fee, buy_fee_asset, scales) =
            (cfg.venue, cfg.taker_fee, cfg.buy_fee_asset, cfg.scales);
        self.stats.orders += 1;
        self.spend_budget(leg, Call::NewOrder, now_ns);
        self.mark_traded(leg);
        self.push(LaneEvent::OrderSent {
            id,
            role,
            venue,
            side,
            size,
            limit,
        });
        match &mut self.exec {
            Execution::Paper => {
                let mut discount = self.discount.get(leg).copied().flatten();
                let fill = self
                    .book_ref(leg)
                    .map(|book| {
                        let f = paper_fill_discounted(
                            book,
                            side,
                            size,
                            limit,
                            taker_fee,
                            buy_fee_asset,
                            discount.as_mut(),
                        );
                        LegFill {
                            size: f.size,
                            notional: f.notional,
                            fee_quote: f.fee_quote,
                            fee_base: f.fee_base,
                            fee_other: f.fee_other,
                        }
                    })
                    .unwrap_or_default();
                if let Some(slot) = self.discount.get_mut(leg) {
                    *slot = discount;
                }
                self.record(id, role, leg, fill, now_ms);
            }
            Execution::Orders { writers, conns, .. } => {
                write_client_id(&self.run_tag, id, role, attempt, &mut self.client_id);
                let symbol = self.cfg.legs.get(leg).map_or("", |l| &*l.symbol);
                let request = OrderRequest {
                    symbol,
                    side,
                    size,
                    limit,
                    scales,
                    tif: Tif::Ioc,
                    client_id: &self.client_id,
                };
                self.nonce = (self.nonce + 1).max(now_ms.saturating_mul(1000));
                let stamp = Stamp {
                    unix_ms: now_ms,
                    nonce: self.nonce,
                    entropy: entropy(self.nonce),
                };
                let written = writers
                    .get(leg)
                    .map(|w| w.new_order(&request, &stamp, &mut self.buf));
                let pending = Pending {
                    id,
                    role,
                    attempt,
                    leg,
                    sent_ms: now_ms,
                    queries: 0,
                    venue_order_id: String::new(),
                    asked: Asked::Order,
                    fills_retries_left: FILLS_RETRIES,
                    fills: OrderFills::default(),
                    pages_left: MAX_FILL_PAGES,
                };
                // Why nothing went to the venue, if nothing did.
                let unsent = match (written, conns.get_mut(leg)) {
                    (Some(Ok(())), Some(conn)) => match conn.send_request(&self.buf) {
                        Ok(()) => {
                            if let Some(q) = self.pending.get_mut(leg) {
                                q.push_back(pending);
                            }
                            None
                        }
                        // No stream to write on: the connection is being redialed.
                        Err(SendFailure::NotSent(message)) => {
                            Some((ErrorClass::Retryable, message))
                        }
                        // Part of it may have gone: whether the venue has the order is
                        // asked, once the connection is back.
                        Err(SendFailure::Unknown(message)) => {
                            self.push(LaneEvent::OrderFailed {
                                id,
                                role,
                                venue,
                                class: ErrorClass::UnknownOutcome,
                                message,
                            });
                            self.ask_later(pending, now_ms);
                            None
                        }
                    },
                    (Some(Err(e)), _) => Some((ErrorClass::Rejected, e.to_string())),
                    _ => Some((
                        ErrorClass::Rejected,
                        "no writer or connection for the leg".to_string(),
                    )),
                };
                // Never written: the leg filled nothing.
                if let Some((class, message)) = unsent {
                    self.push(LaneEvent::OrderFailed {
                        id,
                        role,
                        venue,
                        class,
                        message,
                    });
                    self.record(id, role, leg, LegFill::default(), now_ms);
                }
            }
        }
    }

    fn settle_replies(&mut self, now_ns: u64, now_ms: u64) {
        // TLS connections are read here, on the lane's thread; plain ones by their readers.
        let mut tls_replies = Vec::new();
        if let Execution::Orders { conns, .. } = &mut self.exec {
            for conn in conns.iter_mut() {
                if let OrderConn::Polled(c) = conn {
                    c.poll(&mut |reply| tls_replies.push(reply));
                }
            }
        }
        for reply in tls_replies {
            if let Some(pending) = self
                .pending
                .get_mut(reply.relay)
                .and_then(VecDeque::pop_front)
            {
                self.on_reply(pending, &reply, now_ns, now_ms);
            }
        }
        loop {
            let reply = match &self.exec {
                Execution::Orders { replies, .. } => replies.try_recv().ok(),
                Execution::Paper => None,
            };
            let Some(reply) = reply else {
                return;
            };
            let Some(pending) = self
                .pending
                .get_mut(reply.relay)
                .and_then(VecDeque::pop_front)
            else {
                continue;
            };
            self.on_reply(pending, &reply, now_ns, now_ms);
        }
    }

    fn on_reply(&mut self, p: Pending, reply: &RelayReply, now_ns: u64, now_ms: u64) {
        let Some(cfg) = self.cfg.legs.get(p.leg).cloned() else {
            return;
        };
        self.note_limits(p.leg, p.asked, &reply.limits, now_ns, now_ms);
        let parsed = match p.asked {
            Asked::Order => parse_order(cfg.venue, reply.status, reply.body.as_bytes(), cfg.scales),
            Asked::Query => {
                parse_order_query(cfg.venue, reply.status, reply.body.as_bytes(), cfg.scales)
            }
            Asked::Fills(fallback) => {
                let parsed =
                    parse_order_fills(cfg.venue, reply.status, reply.body.as_bytes(), cfg.scales);
                match parsed {
                    Ok(page) => self.on_fills(p, fallback, page, &cfg, now_ms),
                    // No fills to be had: settle at the fallback.
                    Err(e) => {
                        if e.class == ErrorClass::Retryable {
                            self.pause_venue(p.leg, &reply.limits, now_ns);
                        }
                        self.settle_fallback(&p, fallback, now_ms);
                    }
                }
                return;
            }
        };
        let mut p = p;
        match parsed {
            Ok(report) if is_final(&report) => {
                let fill = leg_fill(&report, &cfg);
                let (no_fee, no_fills) = (says_no_fee(&report), needs_fills(&report));
                if !report.venue_order_id.is_empty() {
                    p.venue_order_id = report.venue_order_id;
                }
                if no_fee {
                    // Binance's order query has no commission; the order's trades carry it
                    // exactly. The account's taker rate (loaded from the venue), rounded up,
                    // values the fee only if they cannot be had.
                    let mut estimated = fill;
                    let side = side_of(self.in_flight, p.role).unwrap_or(OrderSide::Buy);
                    estimate_taker_fee(&mut estimated, side, cfg.taker_fee, cfg.buy_fee_asset);
                    let fallback = Fallback::EstimatedFee(estimated);
                    if p.venue_order_id.is_empty() {
                        // Trades are listed by the venue's order id only.
                        self.settle_fallback(&p, fallback, now_ms);
                    } else {
                        self.ask_fills(p, fallback, now_ms);
                    }
                } else if no_fills {
                    // OKX: the answer gives the average price only. Value it from its fills.
                    self.ask_fills(p, Fallback::AvgPrice(fill), now_ms);
                } else {
                    self.record(p.id, p.role, p.leg, fill, now_ms);
                }
            }
            // Acknowledged (or not final yet): ask for its final state, at once after an
            // acknowledgement, with backoff after a query's answer.
            Ok(report) => {
                if !report.venue_order_id.is_empty() {
                    p.venue_order_id = report.venue_order_id;
                }
                if matches!(p.asked, Asked::Order) {
                    self.ask_at(p, Asked::Query, now_ms);
                } else {
                    self.ask_later(p, now_ms);
                }
            }
            // The venue does not know the order it was asked about: it never arrived.
            Err(e) if matches!(p.asked, Asked::Query) && e.class == ErrorClass::Rejected => {
                self.order_failed(&p, &cfg, e);
                self.record(p.id, p.role, p.leg, LegFill::default(), now_ms);
            }
            // An order refused as asked (rate limit, balance, parameters, key): nothing filled.
            Err(e) if matches!(p.asked, Asked::Order) && e.class != ErrorClass::UnknownOutcome => {
                if e.class == ErrorClass::Retryable {
                    // Too many requests, or busy: leave the venue alone for a while.
                    self.pause_venue(p.leg, &reply.limits, now_ns);
                    // An unwind refused so is not one of the trade's tries: the next waits
                    // for the venue.
                    if p.role == Role::Unwind
                        && let Some(t) = self.in_flight.as_mut().filter(|t| t.id == p.id)
                    {
                        t.unwinds = t.unwinds.saturating_sub(1);
                        t.refusals = t.refusals.saturating_add(1);
                        self.stats.unwinds_refused += 1;
                    }
                }
                self.order_failed(&p, &cfg, e);
                self.record(p.id, p.role, p.leg, LegFill::default(), now_ms);
            }
            // The order's fate is unknown (a timeout, a 5xx), or the query failed for a reason
            // that says nothing about the order: ask again later. Never taken for unfilled.
            Err(e) => {
                if e.class == ErrorClass::Retryable {
                    self.pause_venue(p.leg, &reply.limits, now_ns);
                }
                self.order_failed(&p, &cfg, e);
                self.ask_later(p, now_ms);
            }
        }
    }

    fn order_failed(&mut self, p: &Pending, cfg: &LegConfig, e: VenueError) {
        self.push(LaneEvent::OrderFailed {
            id: p.id,
            role: p.role,
            venue: cfg.venue,
            class: e.class,
            message: e.message,
        });
    }

    /// Ask about `p`'s order after a backoff that grows with every query it has had; after
    /// [`MAX_QUERIES`], give up on learning it ([`XarbLane::unresolved`]).
    fn ask_later(&mut self, p: Pending, now_ms: u64) {
        if p.queries >= MAX_QUERIES {
            self.unresolved(p, now_ms);
            return;
        }
        let delay = self
            .timing
            .query_first_delay_ms
            .saturating_mul(1 << p.queries.min(16))
            .min(self.timing.query_max_delay_ms);
        self.ask_at(p, Asked::Query, now_ms.saturating_add(delay));
    }

    /// Send the follow-up `asked` for `p` once `due_ms` has come (the next poll at the
    /// earliest: settling never writes).
    fn ask_at(&mut self, pending: Pending, asked: Asked, due_ms: u64) {
        self.later.push(Later {
            due_ms,
            asked,
            pending,
        });
    }

    /// An order whose outcome could not be learned: say so, stop opening trades until an
    /// operator has reconciled the venue, and close its trade without unwinding (a fill the
    /// venue may have made would be unwound twice).
    fn unresolved(&mut self, p: Pending, now_ms: u64) {
        let venue = self.cfg.legs.get(p.leg).map_or(Venue::Binance, |l| l.venue);
        self.push(LaneEvent::OrderFailed {
            id: p.id,
            role: p.role,
            venue,
            class: ErrorClass::UnknownOutcome,
            message: format!(
                "outcome unknown after {} queries: trading stopped until the venue is reconciled",
                p.queries
            ),
        });
        self.kill.trip(TripReason::Unresolved);
        self.report_trip();
        if let Some(t) = self.in_flight.as_mut().filter(|t| t.id == p.id) {
            t.unresolved = true;
        }
        self.stats.unresolved += 1;
        self.record(p.id, p.role, p.leg, LegFill::default(), now_ms);
    }

    /// Ask for a page of a final order's fills (the one after the pages in `p.fills`, or the
    /// first when it has no cursor), counted against the venue's budget like a query; where
    /// the venue offers no such request, or it cannot be written or sent, settle at
    /// `fallback`.
    fn ask_fills(&mut self, p: Pending, fallback: Fallback, now_ms: u64) {
        if p.pages_left == 0 {
            self.settle_fallback(&p, fallback, now_ms);
            return;
        }
        self.ask_at(p, Asked::Fills(fallback), now_ms);
    }

    /// Send a follow-up that has come due; one that cannot be written or sent is asked again
    /// later (a query) or settled at its fallback (a fills page).
    fn send_follow_up(&mut self, p: Pending, asked: Asked, now_ns: u64, now_ms: u64) {
        match (self.follow_up(p, asked, now_ns, now_ms), asked) {
            (None, _) => {}
            (Some(p), Asked::Fills(fallback)) => self.settle_fallback(&p, fallback, now_ms),
            (Some(mut p), Asked::Query | Asked::Order) => {
                p.queries = p.queries.saturating_add(1);
                self.ask_later(p, now_ms);
            }
        }
    }

    /// Before writing on leg `leg`'s connection: if it has closed with answers owed, read what
    /// it delivered and take the rest for lost, so that no answer on the new connection is
    /// matched to a request made on the old one.
    fn ensure_fresh(&mut self, leg: usize, now_ns: u64, now_ms: u64) {
        let closed = match &self.exec {
            Execution::Orders { conns, .. } => conns.get(leg).is_some_and(|c| !c.is_open()),
            Execution::Paper => false,
        };
        if closed && self.pending.get(leg).is_some_and(|q| !q.is_empty()) {
            self.reap_closed(now_ns, now_ms);
        }
    }

    /// Writes and sends the follow-up request `asked` (an order query, or a page of a final
    /// order's fills) for `p` on its leg's connection, spending a request of the venue's budget
    /// (a query also one of `p`'s queries; a fills page one of its pages, whose count
    /// [`XarbLane::ask_fills`] checked); `p` back when it could not be written or sent.
    fn follow_up(
        &mut self,
        mut p: Pending,
        asked: Asked,
        now_ns: u64,
        now_ms: u64,
    ) -> Option<Pending> {
        let is_fills = matches!(asked, Asked::Fills(_));
        self.ensure_fresh(p.leg, now_ns, now_ms);
        let Execution::Orders { writers, conns, .. } = &mut self.exec else {
            return Some(p);
        };
        let Some(cfg) = self.cfg.legs.get(p.leg) else {
            return Some(p);
        };
        self.nonce = (self.nonce + 1).max(now_ms.saturating_mul(1000));
        let stamp = Stamp {
            unix_ms: now_ms,
            nonce: self.nonce,
            entropy: entropy(self.nonce),
        };
        let by = if p.venue_order_id.is_empty() {
            write_client_id(&self.run_tag, p.id, p.role, p.attempt, &mut self.client_id);
            OrderRef::Client(&self.client_id)
        } else {
            OrderRef::Venue(&p.venue_order_id)
        };
        let after = p.fills.next_after.as_deref();
        let written = writers.get(p.leg).map(|w| match asked {
            Asked::Fills(_) => w.order_fills(&cfg.symbol, by, after, &stamp, &mut self.buf),
            Asked::Query | Asked::Order => w.query_order(&cfg.symbol, by, &stamp, &mut self.buf),
        });
        let sent = matches!(written, Some(Ok(())))
            && conns
                .get_mut(p.leg)
                .is_some_and(|conn| conn.send_request(&self.buf).is_ok());
        if !sent {
            return Some(p);
        }
        self.spend_budget(p.leg, asked.call(), now_ns);
        p.asked = asked;
        p.sent_ms = now_ms;
        if is_fills {
            p.pages_left = p.pages_left.saturating_sub(1);
        } else {
            p.queries = p.queries.saturating_add(1);
        }
        let leg = p.leg;
        if let Some(q) = self.pending.get_mut(leg) {
            q.push_back(p);
        }
        None
    }

    /// A fills request answered with `page`: settle the leg from the pages read when their
    /// sizes add up to the order's filled size; while they fall short, ask for the next page
    /// where this one was full (OKX: older; Binance: newer), else (the fills lag the order's
    /// state) for the first again while re-asks are left ([`FILLS_RETRIES`]); else settle at
    /// `fallback`.
    fn on_fills(
        &mut self,
        mut p: Pending,
        fallback: Fallback,
        page: OrderFills,
        cfg: &LegConfig,
        now_ms: u64,
    ) {
        let filled = fallback.fill().size;
        if !p.fills.append_page(page) {
            self.settle_fallback(&p, fallback, now_ms);
            return;
        }
        match p.fills.total_size() {
            Some(total) if total == filled.0 => {
                let fills = std::mem::take(&mut p.fills);
                let fill = fills_fill(fills, filled, cfg.fee_basis(), cfg.scales);
                self.record(p.id, p.role, p.leg, fill, now_ms);
            }
            // A full page: more fills follow.
            Some(total) if total < filled.0 && p.fills.next_after.is_some() => {
                self.ask_fills(p, fallback, now_ms);
            }
            // Fills can lag the order's state: ask again, from the first page.
            Some(total) if total < filled.0 && p.fills_retries_left > 0 => {
                p.fills_retries_left -= 1;
                p.fills = OrderFills::default();
                self.ask_fills(p, fallback, now_ms);
            }
            _ => self.settle_fallback(&p, fallback, now_ms),
        }
    }

    /// Settle a filled order without its exact fills (they could not be had): at the venue's
    /// average price, or with its fee estimated, and counted as such.
    fn settle_fallback(&mut self, p: &Pending, fallback: Fallback, now_ms: u64) {
        match fallback {
            Fallback::AvgPrice(_) => self.stats.fills_at_avg_price += 1,
            Fallback::EstimatedFee(_) => self.stats.fees_estimated += 1,
        }
        self.record(p.id, p.role, p.leg, fallback.fill(), now_ms);
    }

    /// A leg or unwind finished with `fill`: settle holdings, and close or unwind the trade.
    fn record(&mut self, id: u64, role: Role, leg: usize, fill: LegFill, now_ms: u64) {
        let Some(cfg) = self.cfg.legs.get(leg) else {
            return;
        };
        let venue = cfg.venue;
        self.push(LaneEvent::Filled {
            id,
            role,
            venue,
            fill,
        });
        if fill.size.0 > 0 {
            self.stats.fills += 1;
        }
        if fill.fee_other > 0 {
            self.stats.fees_in_other_asset += 1;
        }
        let trade = self.in_flight.filter(|t| t.id == id);
        let Some(side) = side_of(trade, role) else {
            return;
        };
        if let Some(h) = self.holdings.get_mut(leg) {
            let size = u128::from(fill.size.0);
            match side {
                OrderSide::Buy => {
                    h.base = (h.base + size).saturating_sub(fill.fee_base);
                    h.quote = h.quote.saturating_sub(fill.notional + fill.fee_quote);
                }
                OrderSide::Sell => {
                    h.base = h.base.saturating_sub(size + fill.fee_base);
                    h.quote = (h.quote + fill.notional).saturating_sub(fill.fee_quote);
                }
            }
        }
        if let Some(holdings) = self.holdings.get(leg).copied() {
            let fee_funds = self.fee_funds(leg);
            self.push(LaneEvent::Position {
                leg,
                venue,
                holdings,
                fee_funds,
            });
        }
        let Some(mut t) = trade else {
            return;
        };
        match role {
            Role::Buy => t.buy = Some(fill),
            Role::Sell => t.sell = Some(fill),
            Role::Unwind => {
                let (sent, u) = (t.unwind_out.map_or(Fixed(0), |(_, _, s)| s), &mut t.unwound);
                let (base, cash) = (signed(u128::from(fill.size.0)), signed(fill.notional));
                if side == OrderSide::Buy {
                    u.base += base - signed(fill.fee_base);
                    u.cash -= cash;
                } else {
                    u.base -= base + signed(fill.fee_base);
                    u.cash += cash;
                }
                u.fee_quote += fill.fee_quote;
                u.fee_value += base_fee_value(&fill);
                u.fee_other += fill.fee_other;
                t.unwind_out = None;
                // Short of what was sent: what is left goes again, on a fresh price (after a
                // refusal for rate, once the venue accepts again: `start_unwind` waits).
                if fill.size < sent
                    && t.unwinds < MAX_UNWINDS
                    && t.refusals < MAX_UNWIND_REFUSALS
                    && !t.unresolved
                {
                    t.unwind_due_ms = Some(now_ms);
                    self.in_flight = Some(t);
                    return;
                }
            }
        }
        self.in_flight = Some(t);
        let (Some(buy), Some(sell)) = (t.buy, t.sell) else {
            return;
        };
        if t.unwind_out.is_some() {
            return;
        }
        if role != Role::Unwind && buy.size != sell.size && !t.unresolved {
            // Sent from the next poll's `act` (settling writes nothing).
            t.hedged = true;
            t.unwind_due_ms = Some(now_ms);
            self.in_flight = Some(t);
            return;
        }
        if t.unresolved {
            t.hedged = true;
        }
        self.close(t, buy, sell);
    }

    /// Send the unwind the trade needs now: what it leaves open, on the venue where it closes
    /// (excess base sold where it was bought, an oversold amount bought back where it was
    /// sold), at most `unwind_slippage` through that book's touch.
    fn start_unwind(&mut self, mut t: InFlight, now_ns: u64, now_ms: u64) {
        t.unwind_due_ms = None;
        let (Some(buy), Some(sell)) = (t.buy, t.sell) else {
            self.in_flight = Some(t);
            return;
        };
        let since = *t.unwind_since_ms.get_or_insert(now_ms);
        let open = residual(&buy, &sell, &t.unwound);
        let magnitude = u64::try_from(open.unsigned_abs()).unwrap_or(u64::MAX);
        let (leg, side) = if open > 0 {
            (t.buy_leg, OrderSide::Sell)
        } else {
            (t.sell_leg, OrderSide::Buy)
        };
        let (Some(leg_cfg), Some(buy_book), Some(sell_book)) = (
            self.cfg.legs.get(leg),
            self.book_ref(t.buy_leg),
            self.book_ref(t.sell_leg),
        ) else {
            self.in_flight = Some(t);
            return;
        };
        let (bv, sv) = (
            self.cfg.legs[t.buy_leg].venue,
            self.cfg.legs[t.sell_leg].venue,
        );
        let (tick, lot) = (leg_cfg.tick, leg_cfg.rules.lot.0.max(1));
        let (bought, sold) = if open > 0 {
            (Fixed(magnitude), Fixed(0))
        } else {
            (Fixed(0), Fixed(magnitude))
        };
        // Priced on the book of the venue it goes to, at that venue's tick.
        let plan = plan_unwind(
            bought,
            sold,
            (bv, buy_book),
            (sv, sell_book),
            self.cfg.unwind_slippage,
            tick,
        );
        let price = buy_book
            .best_bid()
            .or(sell_book.best_ask())
            .map_or(0, |l| l.price.0);
        let value = u128::from(magnitude) * u128::from(price);
        self.stats.unhedged_max = self.stats.unhedged_max.max(value);
        self.kill
            .on_imbalance(self.open_base.saturating_add(open).unsigned_abs());
        self.report_trip();
        // Lots: sell what is held rounded down; buy back what is owed rounded up.
        let size = if side == OrderSide::Sell {
            Fixed(magnitude - magnitude % lot)
        } else {
            Fixed(magnitude.div_ceil(lot).saturating_mul(lot))
        };
        if size.0 == 0 {
            self.close(t, buy, sell);
            return;
        }
        // The venue has said it would refuse an order now (a rate-limit pause, its count
        // spent): wait for it rather than spend an unwind on a certain refusal. What is open
        // is in the imbalance the kill switch watches meanwhile. The wait is bounded like the
        // wait for a price: a count spent until UTC midnight (Binance's daily orders) must not
        // keep the trade in flight, and every other trade out, until then.
        let cost = self.cost(leg, Call::NewOrder);
        if let Some(until_ns) = self
            .budgets
            .get(leg)
            .and_then(|b| b.orders_refused_until(now_ns, cost))
        {
            let give_up_ms = since.saturating_add(UNWIND_GIVE_UP_MS);
            if now_ms >= give_up_ms {
                self.close(t, buy, sell);
                return;
            }
            let wait_ms = (until_ns - now_ns).div_ceil(1_000_000);
            t.unwind_due_ms = Some(now_ms.saturating_add(wait_ms).min(give_up_ms));
            self.in_flight = Some(t);
            return;
        }
        let Some(u) = plan else {
            // No price to unwind at (that side of the book is empty, or resyncing): try again
            // shortly, and leave what is open in the imbalance after a while.
            if now_ms.saturating_sub(since) >= UNWIND_GIVE_UP_MS {
                self.close(t, buy, sell);
            } else {
                t.unwind_due_ms = Some(now_ms.saturating_add(UNWIND_RETRY_MS));
                self.in_flight = Some(t);
            }
            return;
        };
        t.unwinds += 1;
        t.unwind_out = Some((leg, side, size));
        self.in_flight = Some(t);
        let _ = self.kill.allow(now_ms, 1, Purpose::Unwind);
        self.stats.unwinds += 1;
        let order = Order {
            id: t.id,
            role: Role::Unwind,
            // Never a refused one's id again: every order of the trade has its own.
            attempt: t.unwinds.saturating_add(t.refusals),
            leg,
            side,
            size,
            limit: u.limit,
        };
        self.ensure_fresh(leg, now_ns, now_ms);
        self.send(order, now_ns, now_ms);
    }

    /// Close the trade: realized PnL is the quote it moved, after every fee, plus what it
    /// leaves open (base fees, an unwind short) valued at the trade's price; that open base
    /// adds to the imbalance the kill switch bounds.
    fn close(&mut self, t: InFlight, buy: LegFill, sell: LegFill) {
        let open = residual(&buy, &sell, &t.unwound);
        let cash = signed(sell.notional)
            - signed(buy.notional)
            - signed(buy.fee_quote)
            - signed(sell.fee_quote)
            + t.unwound.cash
            - signed(t.unwound.fee_quote);
        // Fees paid in a third asset left the quote held alone, but cost the trade all the same.
        let fee_other = buy.fee_other + sell.fee_other + t.unwound.fee_other;
        let reference = if buy.size.0 > 0 { &buy } else { &sell };
        let pnl = cash + value_at(open, reference) - signed(fee_other);
        let fees = buy.fee_quote
            + sell.fee_quote
            + base_fee_value(&buy)
            + base_fee_value(&sell)
            + t.unwound.fee_quote
            + t.unwound.fee_value
            + fee_other;
        if !t.hedged && pnl < 0 {
            self.stats.unprofitable_after_fees += 1;
        }
        self.stats.pnl += pnl;
        self.stats.fees += fees;
        self.open_base = self.open_base.saturating_add(open);
        self.kill.on_imbalance(self.open_base.unsigned_abs());
        self.kill.on_pnl(self.risk_pnl());
        self.report_trip();
        self.push(LaneEvent::Closed {
            id: t.id,
            pnl,
            hedged: t.hedged,
            open,
        });
        self.in_flight = None;
        self.changed = true;
    }

    /// Push [`LaneEvent::Tripped`] if the switch has tripped since the last one: once per
    /// trip, however many decisions it refuses after.
    fn report_trip(&mut self) {
        if self.kill.trips() == self.trips_reported {
            return;
        }
        self.trips_reported = self.kill.trips();
        if let Some(reason) = self.kill.tripped() {
            self.push(LaneEvent::Tripped(reason));
        }
    }

    fn push(&mut self, event: LaneEvent) {
        if self.events.len() < MAX_EVENTS {
            self.events.push(event);
        }
    }
}

/// The side of `trade`'s order in `role`; an unwind's is the one out now (`None` when no
/// unwind is out, or there is no trade).
fn side_of(trade: Option<InFlight>, role: Role) -> Option<OrderSide> {
    match role {
        Role::Buy => Some(OrderSide::Buy),
        Role::Sell => Some(OrderSide::Sell),
        Role::Unwind => trade.and_then(|t| t.unwind_out).map(|(_, side, _)| side),
    }
}

/// The client order id of trade `id`'s order in `role` (`kx` and the run's tag, then `12b`,
/// `12s`, or `12u1` for its first unwind: letters and digits only, as OKX requires, at most
/// 18 characters, Kraken's limit, for ids below 10^8), written into `out`.
fn write_client_id(run_tag: &str, id: u64, role: Role, attempt: u8, out: &mut String) {
    use std::fmt::Write as _;
    out.clear();
    out.push_str(run_tag);
    // Writing to a String cannot fail.
    let _ = match role {
        Role::Buy => write!(out, "{id}b"),
        Role::Sell => write!(out, "{id}s"),
        Role::Unwind => write!(out, "{id}u{attempt}"),
    };
}

/// `kx` and the wall clock's unix seconds in base 36 (6 digits until 2038): a prefix no
/// earlier run's client order ids share.
fn run_tag() -> String {
    let mut secs = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.as_secs());
    let mut digits = Vec::with_capacity(8);
    loop {
        let d = u8::try_from(secs % 36).unwrap_or(0);
        digits.push(if d < 10 { b'0' + d } else { b'a' + d - 10 });
        secs /= 36;
        if secs == 0 {
            break;
        }
    }
    digits.reverse();
    format!("kx{}", String::from_utf8_lossy(&digits))
}

/// A money or size amount as a signed one (saturating: no real amount comes near).
fn signed(x: u128) -> i128 {
    i128::try_from(x).unwrap_or(i128::MAX)
}

/// Base a trade leaves open, size units (positive: long): what the buy delivered, less what
/// the sell gave, plus what its unwinds netted.
fn residual(buy: &LegFill, sell: &LegFill, unwound: &Unwound) -> i128 {
    signed(u128::from(received(buy).0)) - signed(u128::from(sell.size.0)) - signed(sell.fee_base)
        + unwound.base
}

/// `base` size units valued at `fill`'s average price, notional units: rounded down when
/// held, up (a larger cost) when owed.
fn value_at(base: i128, fill: &LegFill) -> i128 {
    if fill.size.0 == 0 || base == 0 {
        return 0;
    }
    let raw = base.unsigned_abs().saturating_mul(fill.notional);
    let size = u128::from(fill.size.0);
    if base > 0 {
        signed(raw / size)
    } else {
        -signed(raw.div_ceil(size))
    }
}

/// A request's `Stamp::entropy` (the Coinbase JWT's nonce): unique per request because the
/// nonce counter is; it needs to be unique, not secret (only `kestrel-stdx` reads OS entropy).
fn entropy(nonce: u64) -> [u8; 16] {
    let mut out = [0u8; 16];
    out[..8].copy_from_slice(&nonce.to_le_bytes());
    out[8..].copy_from_slice(
        &nonce
            .rotate_left(29)
            .wrapping_mul(0x9e37_79b9_7f4a_7c15)
            .to_le_bytes(),
    );
    out
}

/// Base actually received by a buy: its size less a fee the venue took in base.
fn received(buy: &LegFill) -> Fixed {
    Fixed(
        buy.size
            .0
            .saturating_sub(u64::try_from(buy.fee_base).unwrap_or(u64::MAX)),
    )
}

/// A base fee valued in quote at the leg's average price, rounded up.
fn base_fee_value(fill: &LegFill) -> u128 {
    if fill.fee_base == 0 || fill.size.0 == 0 {
        return 0;
    }
    fill.fee_base
        .saturating_mul(fill.notional)
        .div_ceil(u128::from(fill.size.0))
}

/// Whether nothing more can happen to the reported order.
pub fn is_final(report: &OrderReport) -> bool {
    matches!(
        report.status,
        Some(Status::Filled | Status::Canceled | Status::Expired | Status::Rejected)
    )
}

/// The exact fill of a final report: notional from the fills (or the venue's cumulative quote),
/// fees split by asset.
fn leg_fill(report: &OrderReport, cfg: &LegConfig) -> LegFill {
    report_fill(report, cfg.fee_basis(), cfg.scales)
}

impl LegConfig {
    /// What the leg's fees are read against.
    pub fn fee_basis(&self) -> FeeBasis<'_> {
        FeeBasis {
            base_asset: &self.base_asset,
            quote_asset: &self.quote_asset,
            other_rate: self.discounted_taker.unwrap_or(self.taker_fee),
        }
    }
}

/// What a fill's fees are read against: the symbol's base and quote assets as the venue names
/// them, and the rate that values a fee charged in a third asset.
#[derive(Clone, Copy, Debug)]
pub struct FeeBasis<'a> {
    /// The base asset's name.
    pub base_asset: &'a str,
    /// The quote asset's name.
    pub quote_asset: &'a str,
    /// The rate on the notional that a fee in a third asset is worth: the account's
    /// discounted taker rate where the venue states one, else its taker rate (an upper bound).
    pub other_rate: Rate,
}

impl FeeBasis<'_> {
    /// Whether `fee` is charged in neither the base nor the quote asset. A fee naming no
    /// asset (Kraken's order query) is in quote.
    fn is_third_asset(&self, fee: &kestrel_venues::orders::Fee) -> bool {
        !fee.asset.is_empty() && fee.asset != self.base_asset && fee.asset != self.quote_asset
    }
}

/// Whether a final report filled something and values it, but says nothing of its fees
/// (Binance's order query: no commission, no fills).
pub fn says_no_fee(report: &OrderReport) -> bool {
    !report.filled.is_zero()
        && report.notional.is_some()
        && report.fills.is_empty()
        && report.fees.is_empty()
}

/// The fee `taker_fee` charges on `fill`, in the asset the venue takes it in (a buy's in base
/// where `buy_fee_asset` says so, else quote), rounded up: for a fill whose report gave none.
pub fn estimate_taker_fee(
    fill: &mut LegFill,
    side: OrderSide,
    taker_fee: Rate,
    buy_fee_asset: FeeAsset,
) {
    if side == OrderSide::Buy && buy_fee_asset == FeeAsset::Base {
        fill.fee_base = taker_fee.of(u128::from(fill.size.0));
    } else {
        fill.fee_quote = taker_fee.of(fill.notional);
    }
}

/// Whether a final report filled something but gives neither its fills nor its quote amount
/// (OKX's order details): only its average price, which may be rounded.
pub fn needs_fills(report: &OrderReport) -> bool {
    !report.filled.is_zero() && report.notional.is_none() && report.fills.is_empty()
}

/// The exact fill of an order that filled `filled`, from its separately reported fills
/// (`Σ price × size`, each fill's fee split by asset as [`report_fill`] does, rebates left out).
pub fn fills_fill(
    fills: OrderFills,
    filled: Fixed,
    basis: FeeBasis<'_>,
    scales: Scales,
) -> LegFill {
    let report = OrderReport {
        venue_order_id: String::new(),
        client_id: String::new(),
        status: Some(Status::Filled),
        filled,
        notional: None,
        avg_price: None,
        fees: fills.fees,
        fills: fills.fills,
    };
    report_fill(&report, basis, scales)
}

/// The exact fill of a final report: notional from the fills, else the venue's cumulative
/// quote, else (OKX) the average price times the filled size; fees in `basis`'s base asset
/// counted in base, in its quote asset (or in none named: Kraken's query) in quote; rebates
/// left out. A fee in any other asset (Binance's BNB, OKX's OKB: no price for it is followed)
/// is valued at `basis.other_rate` on the notional of each fill it paid for, rounded up per
/// fill as the venue charges it; where the report lists no fills, on the whole notional
/// ([`LegFill::fee_other`]).
pub fn report_fill(report: &OrderReport, basis: FeeBasis<'_>, scales: Scales) -> LegFill {
    let notional = report.notional.unwrap_or_else(|| {
        if report.fills.is_empty() {
            // OKX's order details give the average price only: value the fill at it.
            return report
                .avg_price
                .map(|p| avg_notional(p, report.filled, scales))
                .unwrap_or(0);
        }
        report
            .fills
            .iter()
            .map(|f| u128::from(f.price.0) * u128::from(f.size.0))
            .sum()
    });
    let (mut fee_quote, mut fee_base, mut other) = (0u128, 0u128, false);
    for fee in report.fees.iter().filter(|f| !f.rebate) {
        // A fee charged to more places than the lane's units (Binance's commission has 8
        // decimals) is counted rounded up to the next unit: never less than was charged. One
        // past any real fee (an overflow) is left at the most a holding can be.
        let units = |digits| {
            fee.amount
                .units_at_ceil(digits)
                .unwrap_or(u128::from(u64::MAX))
        };
        if fee.asset == basis.base_asset {
            fee_base = fee_base.saturating_add(units(scales.size.digits()));
        } else if basis.is_third_asset(fee) {
            other = true;
        } else {
            fee_quote = fee_quote.saturating_add(units(scales.notional_digits()));
        }
    }
    let fee_other = if !other {
        0
    } else if report.fills.is_empty() {
        basis.other_rate.of(notional)
    } else {
        report
            .fills
            .iter()
            .filter(|f| !f.fee.rebate && basis.is_third_asset(&f.fee))
            .map(|f| {
                let n = u128::from(f.price.0) * u128::from(f.size.0);
                basis.other_rate.of(n)
            })
            .fold(0u128, u128::saturating_add)
    };
    LegFill {
        size: report.filled,
        notional,
        fee_quote,
        fee_base,
        fee_other,
    }
}

/// `filled` at the average price `p`, in notional units, rounded to the nearest unit.
fn avg_notional(p: kestrel_venues::orders::Amount, filled: Fixed, scales: Scales) -> u128 {
    let raw = p.units() * u128::from(filled.0);
    let extra = p.digits().saturating_sub(scales.price.digits());
    let div = 10u128.pow(u32::from(extra));
    let raw = if p.digits() < scales.price.digits() {
        raw * 10u128.pow(u32::from(scales.price.digits() - p.digits()))
    } else {
        raw
    };
    (raw + div / 2) / div
}
