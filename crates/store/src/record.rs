//! What producers send to the journal.

use kestrel_types::cex::{Candle, Interval, Scale, Venue};
use kestrel_types::{B256, BundleEvent, CandidateEvent, DisagreementEvent, Mode, SkipReason, U256};

/// How the journal spells a run's mode (`runs.mode`, `xarb_kill_switch.mode`): `"DryRun"` or
/// `"Live"`. Every mode the journal writes goes through here.
pub fn mode_key(mode: Mode) -> &'static str {
    match mode {
        Mode::DryRun => "DryRun",
        Mode::Live => "Live",
    }
}

/// The mode [`mode_key`] spells as `key`.
pub(crate) fn parse_mode(key: &str) -> Option<Mode> {
    match key {
        "DryRun" => Some(Mode::DryRun),
        "Live" => Some(Mode::Live),
        _ => None,
    }
}

/// One journal entry. Every variant carries the run it belongs to.
///
/// `PartialEq` only: [`StatArbRecord`] carries `f64` statistics.
#[derive(Clone, Debug, PartialEq)]
pub enum Record {
    /// A run began.
    RunStarted {
        /// Unique id of the run.
        run_id: String,
        /// The run's mode (written as [`crate::mode_key`] spells it).
        mode: Mode,
        /// The config as TOML, with secrets already redacted by the caller.
        config_toml: String,
        /// Wall-clock start, Unix milliseconds.
        started_unix_ms: u64,
    },
    /// A pending transaction was skipped.
    Skip {
        /// Run id.
        run_id: String,
        /// The skipped transaction.
        tx_hash: B256,
        /// Why; stored as `reason.as_str()`.
        reason: SkipReason,
        /// Monotonic receive stamp of the frame, ns.
        recv_ns: u64,
        /// Decode stage duration, if reached.
        decode_ns: Option<u64>,
        /// Filter stage duration, if reached.
        filter_ns: Option<u64>,
        /// Decide stage duration, if reached.
        decide_ns: Option<u64>,
    },
    /// A profitable backrun cycle was found.
    Candidate {
        /// Run id.
        run_id: String,
        /// The candidate, all fields stored.
        ev: CandidateEvent,
    },
    /// A bundle was built and written (or journaled in dry-run).
    Bundle {
        /// Run id.
        run_id: String,
        /// The bundle, with its stamps; every stage's duration is stored too.
        ev: BundleEvent,
        /// The JSON-RPC request body (dry-run only).
        body: Option<String>,
    },
    /// revm confirmation disagreed with the analytic prediction; the backrun was not fired.
    Disagreement {
        /// Run id.
        run_id: String,
        /// The disagreement, all fields stored.
        ev: DisagreementEvent,
    },
    /// What became of a bundle on chain.
    Outcome {
        /// Run id.
        run_id: String,
        /// Our backrun transaction.
        backrun_hash: B256,
        /// Block the bundle targeted.
        block: u64,
        /// Whether the backrun was included.
        landed: bool,
        /// Profit actually realized, when known.
        realized_profit_wei: Option<U256>,
        /// Profit predicted at decision time.
        predicted_profit_wei: U256,
        /// Free-form note (e.g. why it did not land).
        note: String,
    },
    /// What a relay answered to a bundle request the slow lane posted (a simulation relay's
    /// `eth_callBundle`, an https execution relay's `eth_sendBundle`).
    RelayAnswer {
        /// Run id.
        run_id: String,
        /// The victim whose bundle it was.
        victim: B256,
        /// The relay's config name.
        relay: String,
        /// `eth_callBundle` or `eth_sendBundle`.
        method: String,
        /// HTTP status; 0 when no answer came (connection refused, timeout).
        http_status: u16,
        /// Whether the relay accepted the bundle and, for a simulation, every transaction
        /// succeeded.
        ok: bool,
        /// The bundle hash the relay gave, if any.
        bundle_hash: Option<B256>,
        /// What the answer said, in one line: the error, or the simulation's totals and each
        /// failed transaction.
        detail: String,
    },
    /// Something the cross-exchange lane did.
    Xarb {
        /// Run id.
        run_id: String,
        /// Wall-clock time, Unix milliseconds.
        unix_ms: u64,
        /// What.
        ev: XarbRecord,
    },
    /// Something the statistical-arbitrage (pairs) lane did.
    StatArb {
        /// Run id.
        run_id: String,
        /// Wall-clock time, Unix milliseconds.
        unix_ms: u64,
        /// What.
        ev: StatArbRecord,
    },
    /// Bars of one symbol and interval fetched from a venue (or read from a file). Each bar
    /// replaces any journaled bar with its venue, symbol, interval and open time.
    Candles {
        /// Run id (the run that fetched them).
        run_id: String,
        /// The venue the bars are from.
        venue: Venue,
        /// The symbol as the venue spells it.
        symbol: String,
        /// The bars' length.
        interval: Interval,
        /// Scale of the bars' prices: they are stored with exactly this many fraction digits.
        price_scale: Scale,
        /// Scale of the bars' volume.
        size_scale: Scale,
        /// The bars, any order.
        candles: Vec<Candle>,
    },
    /// A run ended.
    RunEnded {
        /// Run id.
        run_id: String,
        /// Wall-clock end, Unix milliseconds.
        ended_unix_ms: u64,
        /// The run's JSON summary.
        summary_json: String,
    },
}

/// The kind of a [`Record`], without its data (for counts and error reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// [`Record::RunStarted`].
    RunStarted,
    /// [`Record::Skip`].
    Skip,
    /// [`Record::Candidate`].
    Candidate,
    /// [`Record::Bundle`].
    Bundle,
    /// [`Record::Disagreement`].
    Disagreement,
    /// [`Record::Outcome`].
    Outcome,
    /// [`Record::RelayAnswer`].
    RelayAnswer,
    /// [`Record::Xarb`].
    Xarb,
    /// [`Record::StatArb`].
    StatArb,
    /// [`Record::Candles`].
    Candles,
    /// [`Record::RunEnded`].
    RunEnded,
}

impl Record {
    /// This record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::RunStarted { .. } => RecordKind::RunStarted,
            Record::Skip { .. } => RecordKind::Skip,
            Record::Candidate { .. } => RecordKind::Candidate,
            Record::Bundle { .. } => RecordKind::Bundle,
            Record::Disagreement { .. } => RecordKind::Disagreement,
            Record::Outcome { .. } => RecordKind::Outcome,
            Record::RelayAnswer { .. } => RecordKind::RelayAnswer,
            Record::Xarb { .. } => RecordKind::Xarb,
            Record::StatArb { .. } => RecordKind::StatArb,
            Record::Candles { .. } => RecordKind::Candles,
            Record::RunEnded { .. } => RecordKind::RunEnded,
        }
    }

    /// The run this record belongs to.
    pub fn run_id(&self) -> &str {
        match self {
            Record::RunStarted { run_id, .. }
            | Record::Skip { run_id, .. }
            | Record::Candidate { run_id, .. }
            | Record::Bundle { run_id, .. }
            | Record::Disagreement { run_id, .. }
            | Record::Outcome { run_id, .. }
            | Record::RelayAnswer { run_id, .. }
            | Record::Xarb { run_id, .. }
            | Record::StatArb { run_id, .. }
            | Record::Candles { run_id, .. }
            | Record::RunEnded { run_id, .. } => run_id,
        }
    }
}

/// One cross-exchange lane record. Venues, roles and sides are their lowercase names; amounts
/// are integer units (see the `xarb_*` tables).
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum XarbRecord {
    /// A trade was decided.
    Trade {
        /// Lane-local trade id.
        trade_id: u64,
        /// Where it buys.
        buy_venue: String,
        /// Where it sells.
        sell_venue: String,
        /// Base size, size units.
        size_units: u64,
        /// Expected net profit, notional units.
        expected_net_units: u128,
    },
    /// An order went out.
    Order {
        /// Trade id.
        trade_id: u64,
        /// `buy`, `sell` or `unwind`.
        role: String,
        /// Venue.
        venue: String,
        /// `buy` or `sell`.
        side: String,
        /// Size units.
        size_units: u64,
        /// IOC limit, price units.
        limit_units: u64,
    },
    /// What an order filled, or why it failed (`error`).
    Fill {
        /// Trade id.
        trade_id: u64,
        /// `buy`, `sell` or `unwind`.
        role: String,
        /// Venue.
        venue: String,
        /// Base filled, size units.
        size_units: u64,
        /// Quote before fees, notional units.
        notional_units: u128,
        /// Fee charged in quote, notional units.
        fee_quote_units: u128,
        /// Fee charged in base, size units.
        fee_base_units: u128,
        /// Fee charged in a third asset (Binance's BNB, OKX's OKB), valued in quote at the
        /// account's taker rate, rounded up (an upper bound), notional units.
        fee_other_units: u128,
        /// The venue's error, when the order failed.
        error: Option<String>,
    },
    /// A trade closed.
    Closed {
        /// Trade id.
        trade_id: u64,
        /// Realized PnL after every fee and any unwind, notional units.
        pnl_units: i128,
        /// Whether an unwind was needed.
        hedged: bool,
        /// Base the trade left open (bought minus sold, unwinds and base fees included), size
        /// units: what it adds to the open imbalance.
        open_base_units: i128,
    },
    /// A venue's holdings after a settlement.
    Position {
        /// The lane's leg index.
        leg: u32,
        /// Venue.
        venue: String,
        /// Base held, size units.
        base_units: u128,
        /// Quote held, notional units.
        quote_units: u128,
        /// Paper only, where the venue states a fee discount: the value of the discount asset
        /// (Binance's BNB) paper fills may still pay fees from, quote notional units.
        fee_funds_units: Option<u128>,
    },
    /// The kill switch tripped (once per trip). Until a [`XarbRecord::KillSwitchReset`] of
    /// the same mode follows it, a lane of that mode starts tripped.
    Tripped {
        /// The run's mode: a trip on paper does not stop live trading, nor the reverse.
        mode: Mode,
        /// Why, as a stable key (`drawdown`, `imbalance`, `order_rate`, `unresolved`,
        /// `manual`).
        reason: String,
        /// The number the reason carries (the drawdown in notional units, the imbalance in
        /// size units, the orders in the window), `None` when it carries none.
        amount: Option<u128>,
    },
    /// An operator re-armed the kill switch of a mode: the trips before it no longer hold.
    KillSwitchReset {
        /// The mode whose switch is re-armed.
        mode: Mode,
        /// The operator's note: why trading may go on.
        note: String,
    },
}

/// One statistical-arbitrage (pairs) lane record. Symbols are as the lane names them; sides
/// are lowercase (`long`/`short` for a spread, `buy`/`sell` for an order); amounts are integer
/// units (see the `statarb_*` tables). A non-finite statistic (NaN, ±inf) is journaled as NULL
/// and reads back as `None`.
///
/// `PartialEq` only (no `Eq`): the selection statistics and z-scores are `f64`.
#[derive(Clone, Debug, PartialEq)]
pub enum StatArbRecord {
    /// A pair entered the selection.
    PairAdded {
        /// First leg's symbol (the spread is `a - hedge_ratio * b - intercept`).
        a: String,
        /// Second leg's symbol.
        b: String,
        /// Units of `b` per unit of `a` in the spread.
        hedge_ratio: f64,
        /// The spread's regression intercept.
        intercept: f64,
        /// Cointegration test p-value.
        p_value: f64,
        /// Mean-reversion half-life, bars.
        half_life_bars: f64,
        /// Share of the lane's capital allotted to the pair.
        fraction: f64,
    },
    /// A pair left the selection; `reason` is a short word (`"p_value"`, `"half_life"`, ...).
    PairDropped {
        /// First leg's symbol.
        a: String,
        /// Second leg's symbol.
        b: String,
        /// Why it left.
        reason: String,
    },
    /// A trade opened (side `"long"` or `"short"` the spread).
    Entered {
        /// Lane-local trade id, unique within the run.
        trade_id: u64,
        /// First leg's symbol.
        a: String,
        /// Second leg's symbol.
        b: String,
        /// `long` or `short` (the spread).
        side: String,
        /// The spread's z-score at entry.
        z: f64,
        /// Quote committed at entry, notional units.
        notional_units: i128,
    },
    /// One leg's order: what it filled (size 0 and `error` when it failed).
    Fill {
        /// Trade id.
        trade_id: u64,
        /// The leg's symbol (`a` or `b` of the trade).
        symbol: String,
        /// `buy` or `sell`.
        side: String,
        /// Base filled, size units.
        size_units: u64,
        /// Quote before fees, notional units.
        notional_units: u128,
        /// Fee charged in quote, notional units.
        fee_units: u128,
        /// Fee charged in base (a buy on Binance, OKX, Bybit), size units: the position is
        /// the size less this.
        fee_base_units: u128,
        /// That base fee valued in quote at the fill's average price, notional units.
        fee_base_value_units: u128,
        /// Fee charged in a third asset (Binance's BNB), valued in quote at the rate the
        /// venue charges there, notional units: a cost of the trade that no held asset paid.
        fee_other_units: u128,
        /// The venue's error, when the order failed.
        error: Option<String>,
    },
    /// A trade closed.
    Closed {
        /// Trade id.
        trade_id: u64,
        /// Why it closed (a short word: `"revert"`, `"stop"`, `"time"`, ...).
        reason: String,
        /// The spread's z-score at exit, when known.
        z: Option<f64>,
        /// PnL before fees, notional units.
        gross_units: i128,
        /// Every fee of the trade, notional units.
        fees_units: i128,
        /// Realized PnL after fees, notional units.
        pnl_units: i128,
    },
}
