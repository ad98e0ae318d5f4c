//! The stat-arb lane: candles over a venue's REST API, pairs selected by [`select_pairs`] on a
//! rolling training window and re-selected on a schedule, one [`PairState`] per pair fed each
//! newly closed bar, positions sized by fractional Kelly from each pair's walk-forward record,
//! and every leg sent through the venue clients: filled on paper against the live books
//! ([`StatArbOrders::Paper`]) or as IOC limit orders ([`StatArbOrders::Live`]).
//!
//! **Bars.** A bar is fed once every symbol has it and it has closed (open time + interval ≤
//! now): a venue's forming bar is never traded on. Decisions at a bar use that bar's closes;
//! exits are made before entries, so capital freed at a bar can be used at it.
//!
//! **Selection.** At start the lane fetches `history_bars` bars per symbol, runs the
//! walk-forward [`backtest`] over them (its closed trades seed each pair's [`TradeRecord`]:
//! win rate and payoff ratio for Kelly), and selects pairs on the last `train_bars`. Every
//! `rescan_every_bars` bars it selects again on the latest `train_bars`: a dropped pair's
//! position is closed at once (reason `deselected`); a kept pair takes the new fit when flat,
//! or after its open position closes; an added pair starts flat. Every change is an event.
//!
//! **Sizing.** At each selection the pairs get fractions of capital by [`allocate`] (fractional
//! Kelly per pair from its record, capped per pair and in total, water-filled by return per
//! unit of risk). An entry commits [`entry_notional`] of the capital (initial plus realized
//! PnL), buys or sells `q = notional / (p_a + β·p_b)` of `a` and `β·q` of `b`, both floored to
//! the symbol's lot; an entry below a symbol's minimum size or value is skipped and counted.
//! The `b` leg is sized from what the `a` leg actually filled.
//!
//! **Money** is exact: cash, gross and fees are `i128` notional units (price units × size
//! units) and reported as decimal strings. A fee the venue takes in base (a buy on Binance) is
//! valued at that fill's average price and booked in quote. `pnl = gross − fees` exactly.
//! Statistics and sizing are `f64`; order sizes are whole lots from there on.
//!
//! **Orders.** Each leg goes out as an IOC limit at the best price `slippage_bps` through the
//! touch (paper fills walk the live book to the same limit). A leg that fills only partly
//! leaves a smaller position (the hedge is sized from what the first leg filled); a hedge leg
//! that fills nothing has the first leg unwound at once (reason `unhedged`); an exit that does not flatten a leg keeps the trade closing and
//! retries the rest at every poll. Paper mode may sell what it does not hold (a margin
//! account); live mode sells only the base the account holds, else the entry is skipped.
//!
//! **Restart.** Trades the journal holds open (no close) are taken over at start: kept and
//! resumed when their pair is selected again, else closed at once, their closing fills and
//! close journaled under the run that opened them.

use std::collections::{BTreeMap, VecDeque};

use anyhow::Context as _;
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::exchange;
use kestrel_hot::cex::lane::{
    FeeBasis, LegFill, estimate_taker_fee, fills_fill, is_final, needs_fills, report_fill,
    says_no_fee,
};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_store::{StatArbOpenTrade, StatArbRecord};
use kestrel_strategies::risk::paper_fill;
use kestrel_strategies::statarb::{
    Action, BacktestConfig, CapitalBase, ExitReason, PairId, PairState, SelectedPair, Selection,
    SelectionConfig, SignalConfig, SizingConfig, SpreadSide, TradeRecord, allocate, backtest,
    entry_notional, select_pairs,
};
use kestrel_types::cex::{Candle, FeeAsset, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::orders::{
    CandleQuery, ErrorClass, MAX_FILL_PAGES, OrderFills, OrderRef, OrderReport, OrderRequest,
    RequestWriter, Scales, Stamp, SymbolRules, Tif, candles_request, parse_candles, parse_order,
    parse_order_fills, parse_order_query, parse_symbol_rules, symbol_rules_request,
};

use crate::candles::{FetchArgs, fetch};

/// What the lane trades and how.
#[derive(Clone, Debug)]
pub struct StatArbSpec {
    /// The venue.
    pub venue: Venue,
    /// `http(s)://host[:port]` of the venue's REST API.
    pub rest_url: String,
    /// `ws(s)://…` of its market data.
    pub ws_url: String,
    /// Symbols as the venue spells them (series order).
    pub symbols: Vec<String>,
    /// Each symbol's base asset as the venue names it in balances and fees (same order).
    pub base_assets: Vec<String>,
    /// The quote asset (every symbol's) as the venue names it in balances and fees.
    pub quote_asset: String,
    /// The bar interval.
    pub interval: Interval,
    /// Price and size digits (the same on every symbol).
    pub scales: Scales,
    /// Paper fills' taker fee (live mode uses the rate the venue reports per symbol).
    pub taker_fee: Rate,
    /// Where the venue takes a buy's fee.
    pub buy_fee_asset: FeeAsset,
    /// Capital the lane trades with, notional units.
    pub capital_units: i128,
    /// Bars fetched per symbol at start.
    pub history_bars: usize,
    /// Bars each selection reads.
    pub train_bars: usize,
    /// Bars between selections.
    pub rescan_every_bars: usize,
    /// How far through the touch an IOC limit may go, basis points.
    pub slippage_bps: u32,
    /// A book silent this long is not traded against.
    pub stale_after_ms: u64,
    /// Pair selection rules.
    pub selection: SelectionConfig,
    /// Per-pair trading rules.
    pub signal: SignalConfig,
    /// Sizing and allocation.
    pub sizing: SizingConfig,
}

/// Where the lane's orders go.
#[derive(Debug)]
pub enum StatArbOrders {
    /// Filled on paper against the live books at the spec's taker fee.
    Paper,
    /// IOC limit orders to the venue.
    Live(LiveOrders),
}

/// Totals so far. Money in exact decimal strings of the quote asset.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatArbTotals {
    /// Pairs selected now.
    pub pairs_selected: usize,
    /// The selected pairs as symbol pairs `(a, b)`, best first.
    pub pairs: Vec<(String, String)>,
    /// Selections run (the start's included).
    pub selections: u64,
    /// Pairs that entered a selection (the start's included).
    pub pairs_added: u64,
    /// Pairs that left one.
    pub pairs_dropped: u64,
    /// Closed round trips.
    pub trades: u64,
    /// Legs that filled (entries and exits, both legs).
    pub fills: u64,
    /// Orders that failed or filled nothing.
    pub failed_orders: u64,
    /// Filled legs valued at the venue's (possibly rounded) average price because their exact
    /// fills could not be had (OKX: a fills page failed, or the pages never added up). Should
    /// be 0.
    pub fills_at_avg_price: u64,
    /// Filled legs charged the symbol's taker rate (rounded up) because the venue's answer gave
    /// no fee and the order's trades could not be had (Binance: an order settled from a query
    /// whose `myTrades` failed). Should be 0.
    pub fees_estimated: u64,
    /// Entries not made, by reason: `closing` (the pair's last trade is still closing),
    /// `book` (a book not live), `capital` (nothing to commit), `minimums` (below a symbol's
    /// minimum size or value), `inventory` (live: not enough base to sell), `unfilled` (the
    /// first leg filled nothing), `stale` (a signal on a bar fed to catch up, not the newest).
    pub skipped_entries: BTreeMap<String, u64>,
    /// Closed bars fed to the pairs.
    pub bars: u64,
    /// Gross PnL of closed trades, before fees.
    pub gross_quote: String,
    /// Fees of closed trades.
    pub fees_quote: String,
    /// `gross − fees`.
    pub pnl_quote: String,
    /// Quote traded by closed trades (every leg's notional), for fee checks.
    pub turnover_quote: String,
    /// Trades open now (closing ones included).
    pub open_trades: usize,
    /// Trades taken over from the journal at start.
    pub restored_trades: usize,
    /// Polls whose candle requests failed (the lane backs off and asks again).
    pub poll_errors: u64,
    /// Gross, notional units, for exact checks.
    pub gross_units: i128,
    /// Fees, notional units.
    pub fees_units: i128,
    /// PnL, notional units.
    pub pnl_units: i128,
    /// Turnover of closed trades, notional units.
    pub turnover_units: i128,
    /// Cash flow less fees of the fills of trades still open, notional units: with
    /// `pnl_units` it makes up [`StatArbLane::cash_units`] exactly, less `fees_other_units`.
    pub open_units: i128,
    /// Fees the venue took in a third asset (Binance's BNB), valued in quote, notional units:
    /// in the PnL (or the open trades' figures) but paid by no quote, so not in
    /// [`StatArbLane::cash_units`]. Restored trades' included.
    pub fees_other_units: i128,
}

/// One journal event of the lane. `run_id` is `Some` for the closing of a trade a previous run
/// opened (its fills and close belong to that run's trade).
#[derive(Clone, Debug, PartialEq)]
pub struct LaneEvent {
    /// The run the event belongs to, when not the current one.
    pub run_id: Option<String>,
    /// Wall-clock time, Unix ms.
    pub unix_ms: u64,
    /// What.
    pub ev: StatArbRecord,
}

/// A position of one pair.
#[derive(Clone, Debug)]
struct OpenTrade {
    trade_id: u64,
    /// `Some` for a trade a previous run opened.
    run_id: Option<String>,
    /// Signed size units held of `a` and `b` (a buy's base fee already taken off).
    pos: [i64; 2],
    /// Quote paid and received (sells +, buys −), fees charged in quote and in a third asset
    /// (the latter valued in quote, and paid by no quote held), base fees valued in quote,
    /// and traded notional of the trade so far, notional units. Its PnL is
    /// `cash − fee_quote`; reported as gross `cash + fee_base_value` less fees
    /// `fee_quote + fee_base_value`.
    cash: i128,
    fee_quote: i128,
    fee_base_value: i128,
    turnover: i128,
    /// Gross notional committed at entry, notional units (the Kelly return's denominator).
    notional_units: i128,
    /// Set once the exit is decided; the rest of the position is unwound at later polls.
    closing: Option<(ExitReason, Option<f64>)>,
    /// When the unwind was last tried, Unix ms, and how many tries in a row moved nothing:
    /// retries wait a second, doubling with each such try up to about four minutes.
    last_try_ms: u64,
    close_failures: u32,
}

/// One selected pair (or one being closed after it left the selection).
#[derive(Debug)]
struct Pair {
    sel: SelectedPair,
    state: PairState,
    fraction: f64,
    open: Option<OpenTrade>,
    /// A newer fit to take once the open position closes.
    next: Option<SelectedPair>,
    /// False once the pair left the selection: it only finishes closing.
    selected: bool,
}

/// A symbol's trading rules and fee.
#[derive(Clone, Debug)]
struct SymbolTerms {
    rules: SymbolRules,
    taker_fee: Rate,
    /// The rate a fee paid in a third asset is worth (the venue's discounted taker rate
    /// where it states one, else `taker_fee`).
    other_rate: Rate,
}

/// The lane.
#[derive(Debug)]
pub struct StatArbLane {
    spec: StatArbSpec,
    /// `host:port` of the REST API, for the request line's `Host`.
    host: String,
    /// The candle request being written (reused).
    request: Vec<u8>,
    /// One feed per symbol (book 0 of each).
    feeds: Vec<Box<dyn VenueFeed + Send>>,
    terms: Vec<SymbolTerms>,
    orders: StatArbOrders,
    /// Base held per symbol, size units (live mode only: what may be sold).
    held: Vec<i128>,
    pairs: Vec<Pair>,
    records: BTreeMap<PairId, TradeRecord>,
    /// The last `max(train_bars, window)` closes per symbol.
    history: Vec<VecDeque<f64>>,
    keep_bars: usize,
    bars_since_scan: usize,
    /// Open time of the last bar fed to the pairs.
    last_fed_ms: u64,
    /// Closes of bars not yet fed, by open time; a bar is fed once every symbol has it (or
    /// has a later one).
    pending: BTreeMap<u64, Vec<Option<f64>>>,
    /// Per symbol, the open time of the newest closed bar received.
    newest_ms: Vec<u64>,
    next_trade_id: u64,
    events: Vec<LaneEvent>,
    cash_units: i128,
    /// See [`StatArbTotals::fees_other_units`].
    fees_other_units: i128,
    realized_units: i128,
    gross_units: i128,
    fees_units: i128,
    turnover_units: i128,
    trades: u64,
    fills: u64,
    failed_orders: u64,
    skipped_entries: BTreeMap<String, u64>,
    bars: u64,
    selections: u64,
    pairs_added: u64,
    pairs_dropped: u64,
    restored_trades: usize,
    poll_errors: u64,
}

/// Bars asked for per symbol per poll.
const POLL_LIMIT: u16 = 100;
/// Least wait between attempts to unwind the rest of a closing trade.
const CLOSE_RETRY_MS: u64 = 1_000;
/// `fetch` bounds: the far end of time, as Binance's `endTime`.
const FAR_MS: u64 = 4_102_444_800_000;

impl StatArbSpec {
    /// The backtest the lane runs on its history to seed the pairs' records.
    fn backtest_config(&self) -> BacktestConfig {
        BacktestConfig {
            train_bars: self.train_bars,
            test_bars: self.rescan_every_bars,
            selection: self.selection,
            signal: self.signal,
            sizing: self.sizing,
            initial_capital: (self.capital_units as f64 / self.one_quote()).max(1.0),
            taker_fee_bps: self.taker_fee.0 as f64 / 10_000.0,
            ..BacktestConfig::default()
        }
    }

    fn one_quote(&self) -> f64 {
        10f64.powi(i32::from(self.scales.notional_digits()))
    }

    /// Every rule the lane needs besides the strategy configs' own.
    fn check(&self) -> anyhow::Result<()> {
        anyhow::ensure!(
            self.symbols.len() >= 2,
            "stat-arb needs two symbols or more"
        );
        anyhow::ensure!(
            self.base_assets.len() == self.symbols.len(),
            "one base asset per symbol"
        );
        anyhow::ensure!(self.capital_units > 0, "capital must be positive");
        anyhow::ensure!(self.train_bars >= 50, "train_bars must be at least 50");
        anyhow::ensure!(
            self.history_bars >= self.train_bars,
            "history_bars must be at least train_bars"
        );
        anyhow::ensure!(self.rescan_every_bars >= 1, "rescan_every_bars must be ≥ 1");
        self.backtest_config()
            .validate()
            .map_err(|e| anyhow::anyhow!("stat-arb rules: {e}"))
    }
}

impl StatArbLane {
    /// Fetch every symbol's history and rules, seed the records with a walk-forward backtest,
    /// select pairs, take over `restored` trades, and open the feeds.
    pub fn start(
        spec: StatArbSpec,
        feeds: Vec<Box<dyn VenueFeed + Send>>,
        orders: StatArbOrders,
        restored: &[StatArbOpenTrade],
    ) -> anyhow::Result<StatArbLane> {
        spec.check()?;
        anyhow::ensure!(feeds.len() == spec.symbols.len(), "one feed per symbol");
        let host = kestrel_hot::net::Endpoint::parse(&spec.rest_url)
            .map(|e| e.authority())
            .map_err(|e| anyhow::anyhow!("{:?}: {e}", spec.rest_url))?;
        let now = LiveClock.unix_ms();
        let span = spec.interval.ms() * (spec.history_bars as u64 + 1);
        let mut history = Vec::with_capacity(spec.symbols.len());
        for symbol in &spec.symbols {
            let bars = closed(
                bars(&spec, symbol, now.saturating_sub(span))?,
                spec.interval,
                now,
            );
            history.push(bars);
        }
        let (last_fed_ms, series) = align(&history);
        let n = series[0].len();
        anyhow::ensure!(
            n >= spec.train_bars,
            "only {n} bars common to every symbol; train_bars is {}",
            spec.train_bars
        );
        let (terms, held) = match &orders {
            StatArbOrders::Paper => (paper_terms(&spec, &host)?, Vec::new()),
            StatArbOrders::Live(live) => live.terms(&spec)?,
        };
        let window = spec.signal.window.max_bars;
        let keep_bars = spec.train_bars.max(window);
        let history: Vec<VecDeque<f64>> = series
            .iter()
            .map(|s| {
                s[s.len().saturating_sub(keep_bars)..]
                    .iter()
                    .copied()
                    .collect()
            })
            .collect();
        let mut lane = StatArbLane {
            host,
            request: Vec::with_capacity(512),
            feeds,
            terms,
            orders,
            held,
            pairs: Vec::new(),
            records: BTreeMap::new(),
            history,
            keep_bars,
            bars_since_scan: 0,
            last_fed_ms,
            pending: BTreeMap::new(),
            newest_ms: vec![last_fed_ms; spec.symbols.len()],
            next_trade_id: 1,
            events: Vec::new(),
            cash_units: 0,
            fees_other_units: 0,
            realized_units: 0,
            gross_units: 0,
            fees_units: 0,
            turnover_units: 0,
            trades: 0,
            fills: 0,
            failed_orders: 0,
            skipped_entries: BTreeMap::new(),
            bars: 0,
            selections: 0,
            pairs_added: 0,
            pairs_dropped: 0,
            restored_trades: 0,
            poll_errors: 0,
            spec,
        };
        lane.seed_records(&series)?;
        lane.select()?;
        lane.restore(restored);
        Ok(lane)
    }

    /// Runs the walk-forward backtest on the history; its closed trades seed the records.
    fn seed_records(&mut self, series: &[Vec<f64>]) -> anyhow::Result<()> {
        let cfg = self.spec.backtest_config();
        if series[0].len() < cfg.train_bars + cfg.test_bars {
            return Ok(());
        }
        let slices: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
        let names: Vec<&str> = self.spec.symbols.iter().map(String::as_str).collect();
        let report = backtest(&slices, &names, &cfg).map_err(|e| anyhow::anyhow!("{e}"))?;
        for t in &report.trades {
            self.records
                .entry(t.pair)
                .or_default()
                .push(t.pnl / t.entry_notional);
        }
        Ok(())
    }

    /// Selects pairs on the latest `train_bars` and applies the change.
    fn select(&mut self) -> anyhow::Result<()> {
        let train = self.spec.train_bars;
        let series: Vec<Vec<f64>> = self
            .history
            .iter()
            .map(|h| {
                h.iter()
                    .skip(h.len().saturating_sub(train))
                    .copied()
                    .collect()
            })
            .collect();
        let slices: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
        let next =
            select_pairs(&slices, &self.spec.selection).map_err(|e| anyhow::anyhow!("{e}"))?;
        let current = Selection {
            selected: self
                .pairs
                .iter()
                .filter(|p| p.selected)
                .map(|p| p.sel)
                .collect(),
            rejected: Vec::new(),
        };
        let diff = current.diff(&next);
        self.selections += 1;
        self.bars_since_scan = 0;
        let unix_ms = LiveClock.unix_ms();
        for d in &diff.dropped {
            let Some(p) = self.pair_index(d.id) else {
                continue;
            };
            self.pairs[p].selected = false;
            self.pairs_dropped += 1;
            let (a, b) = self.names(d.id);
            self.push_event(
                None,
                unix_ms,
                StatArbRecord::PairDropped {
                    a,
                    b,
                    reason: d.reason.name().to_owned(),
                },
            );
            if self.pairs[p]
                .state
                .force_exit(ExitReason::Deselected)
                .is_some()
            {
                let z = self.pairs[p].state.z();
                self.begin_exit(p, ExitReason::Deselected, z);
            }
        }
        let records: Vec<TradeRecord> = next
            .selected
            .iter()
            .map(|s| self.records.get(&s.id).copied().unwrap_or_default())
            .collect();
        let fractions = allocate(&records, &self.spec.sizing);
        for (sel, &fraction) in next.selected.iter().zip(&fractions) {
            match self.pair_index(sel.id) {
                Some(p) => {
                    self.pairs[p].fraction = fraction;
                    if !self.pairs[p].selected {
                        // Dropped earlier and still closing when selected again.
                        self.pairs[p].selected = true;
                        self.pair_added(sel, fraction, unix_ms);
                    }
                    if self.pairs[p].open.is_some() {
                        self.pairs[p].next = Some(*sel);
                    } else {
                        self.pairs[p].state = self.fresh_state(sel)?;
                        self.pairs[p].sel = *sel;
                    }
                }
                None => {
                    let state = self.fresh_state(sel)?;
                    self.pairs.push(Pair {
                        sel: *sel,
                        state,
                        fraction,
                        open: None,
                        next: None,
                        selected: true,
                    });
                    self.pair_added(sel, fraction, unix_ms);
                }
            }
        }
        // Best first, then the pairs that only finish closing.
        let rank = |p: &Pair| {
            next.selected
                .iter()
                .position(|s| s.id == p.sel.id)
                .unwrap_or(usize::MAX)
        };
        self.pairs.sort_by_key(rank);
        self.pairs.retain(|p| p.selected || p.open.is_some());
        Ok(())
    }

    /// Counts and journals `sel` joining the selection with `fraction` of capital.
    fn pair_added(&mut self, sel: &SelectedPair, fraction: f64, unix_ms: u64) {
        self.pairs_added += 1;
        let (a, b) = self.names(sel.id);
        self.push_event(
            None,
            unix_ms,
            StatArbRecord::PairAdded {
                a,
                b,
                hedge_ratio: sel.model.hedge_ratio,
                intercept: sel.model.intercept,
                p_value: sel.p_value,
                half_life_bars: sel.model.half_life_bars,
                fraction,
            },
        );
    }

    /// A flat state for `sel`, its z-score window warmed up on the latest bars.
    fn fresh_state(&self, sel: &SelectedPair) -> anyhow::Result<PairState> {
        let mut state =
            PairState::new(sel.model, &self.spec.signal).map_err(|e| anyhow::anyhow!("{e}"))?;
        let (ha, hb) = (&self.history[sel.id.a], &self.history[sel.id.b]);
        let skip = ha.len().saturating_sub(state.window());
        for (a, b) in ha.iter().zip(hb).skip(skip) {
            state.warm_up(*a, *b);
        }
        Ok(state)
    }

    fn pair_index(&self, id: PairId) -> Option<usize> {
        self.pairs.iter().position(|p| p.sel.id == id)
    }

    fn names(&self, id: PairId) -> (String, String) {
        (
            self.spec.symbols[id.a].clone(),
            self.spec.symbols[id.b].clone(),
        )
    }

    fn push_event(&mut self, run_id: Option<String>, unix_ms: u64, ev: StatArbRecord) {
        self.events.push(LaneEvent {
            run_id,
            unix_ms,
            ev,
        });
    }

    /// Takes over trades a previous run left open: resumed when their pair is selected and
    /// flat, otherwise closed at the next poll. Trades on other symbols are left alone.
    fn restore(&mut self, restored: &[StatArbOpenTrade]) {
        let index = |name: &str| self.spec.symbols.iter().position(|s| s == name);
        for t in restored {
            let (Some(a), Some(b)) = (index(&t.a), index(&t.b)) else {
                tracing::warn!(
                    run_id = %t.run_id, trade_id = t.trade_id, a = %t.a, b = %t.b,
                    "stat-arb: an open trade on symbols this lane does not trade is left alone"
                );
                continue;
            };
            let side = if t.side == "short" {
                SpreadSide::Short
            } else {
                SpreadSide::Long
            };
            let clamp =
                |v: i128| i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX });
            let open = OpenTrade {
                trade_id: t.trade_id,
                run_id: Some(t.run_id.clone()),
                pos: [clamp(t.pos_a_units), clamp(t.pos_b_units)],
                cash: t.cash_units,
                // A fee paid in a third asset costs the trade, though the quote did not pay it.
                fee_quote: i128::try_from(t.fees_units.saturating_add(t.fee_other_units))
                    .unwrap_or(i128::MAX),
                fee_base_value: i128::try_from(t.fee_base_value_units).unwrap_or(i128::MAX),
                turnover: 0,
                notional_units: t.notional_units,
                closing: None,
                last_try_ms: 0,
                close_failures: 0,
            };
            // What the quote held paid: the fills' cash less their quote fees only.
            let held_cash = open.cash - i128::try_from(t.fees_units).unwrap_or(i128::MAX);
            let fee_other = i128::try_from(t.fee_other_units).unwrap_or(i128::MAX);
            let id = PairId { a, b };
            match self.pair_index(id) {
                Some(p) if self.pairs[p].open.is_none() => {
                    // The holding limit counts from the entry, not from the restart.
                    let held = LiveClock.unix_ms().saturating_sub(t.entry_unix_ms)
                        / self.spec.interval.ms();
                    let held = usize::try_from(held).unwrap_or(usize::MAX);
                    self.pairs[p].state.resume(side, held);
                    self.pairs[p].open = Some(open);
                    self.cash_units += held_cash;
                    self.fees_other_units += fee_other;
                    self.restored_trades += 1;
                }
                _ => {
                    // Not selected now (or a second trade on one pair): close it.
                    let sel = SelectedPair {
                        id,
                        model: kestrel_strategies::statarb::PairModel {
                            hedge_ratio: 0.0,
                            intercept: 0.0,
                            half_life_bars: 1.0,
                        },
                        p_value: 1.0,
                        t_stat: 0.0,
                        zero_crossings: 0,
                    };
                    let Ok(state) = PairState::new(sel.model, &self.spec.signal) else {
                        continue;
                    };
                    self.pairs.push(Pair {
                        sel,
                        state,
                        fraction: 0.0,
                        open: Some(OpenTrade {
                            closing: Some((ExitReason::Deselected, None)),
                            ..open
                        }),
                        next: None,
                        selected: false,
                    });
                    self.cash_units += held_cash;
                    self.fees_other_units += fee_other;
                    self.restored_trades += 1;
                }
            }
        }
    }

    /// Poll the feeds, finish closing trades, fetch each symbol's newest bars, and feed every
    /// closed bar all symbols have to the pairs. Returns the bars fed.
    pub fn poll(&mut self) -> anyhow::Result<usize> {
        self.refresh_books();
        self.settle_closing();
        let n = self.spec.symbols.len();
        let now_ms = LiveClock.unix_ms();
        for i in 0..n {
            let from = self.last_fed_ms + self.spec.interval.ms();
            let fresh = match self.latest(i, from) {
                Ok(bars) => closed(bars, self.spec.interval, now_ms),
                Err(e) => {
                    self.poll_errors += 1;
                    return Err(e);
                }
            };
            for c in fresh {
                self.newest_ms[i] = self.newest_ms[i].max(c.open_ms);
                let row = self
                    .pending
                    .entry(c.open_ms)
                    .or_insert_with(|| vec![None; n]);
                row[i] = Some(c.close);
            }
        }
        // Bars fetched before a failed request stay pending: nothing is lost, the next poll
        // asks again from the last bar fed.
        let mut rows = Vec::new();
        while let Some(entry) = self.pending.first_entry() {
            let open_ms = *entry.key();
            // A symbol without this bar but with a later one had no bar here (a venue that
            // leaves out minutes without trades): its last close stands.
            let mut closes = Vec::with_capacity(n);
            for (i, c) in entry.get().iter().enumerate() {
                match c {
                    Some(c) => closes.push(*c),
                    None if self.newest_ms[i] > open_ms => {
                        let Some(&last) = self.history[i].back() else {
                            break;
                        };
                        closes.push(last);
                    }
                    None => break,
                }
            }
            if closes.len() < n {
                break;
            }
            entry.remove();
            rows.push((open_ms, closes));
        }
        // Only the newest bar may open positions: older ones, fed to catch up, still move the
        // z-scores and may close, but an entry on them would act late on old prices.
        self.refresh_books();
        let last = rows.len().saturating_sub(1);
        for (k, (open_ms, closes)) in rows.iter().enumerate() {
            self.last_fed_ms = *open_ms;
            self.on_bar(closes, k == last)?;
        }
        Ok(rows.len())
    }

    /// Reads whatever the feeds have, so decisions see the books as they are now.
    fn refresh_books(&mut self) {
        let now_ns = mono_ns();
        for feed in &mut self.feeds {
            feed.poll(now_ns, &mut |_| {});
        }
    }

    /// Symbol `i`'s bars opening at `from_ms` or later, at most [`POLL_LIMIT`]: one small
    /// request (a lane that fell further behind catches up over the next polls).
    fn latest(&mut self, i: usize, from_ms: u64) -> anyhow::Result<Vec<Bar>> {
        let symbol = &self.spec.symbols[i];
        let query = CandleQuery {
            symbol,
            interval: self.spec.interval,
            start_ms: Some(from_ms),
            end_ms: None,
            limit: POLL_LIMIT.min(CandleQuery::max_limit(self.spec.venue)),
        };
        self.request.clear();
        candles_request(self.spec.venue, &self.host, &query, &mut self.request)
            .map_err(|e| anyhow::anyhow!("candles request for {symbol}: {e}"))?;
        let (status, body) = exchange(&self.spec.rest_url, &self.request)
            .map_err(|e| anyhow::anyhow!("candles of {symbol}: {e}"))?;
        let candles = parse_candles(self.spec.venue, status, &body, self.spec.scales)
            .map_err(|e| anyhow::anyhow!("candles of {symbol}: {e}"))?;
        Ok(to_bars(&candles, self.spec.scales))
    }

    /// Events since the last call, oldest first.
    pub fn drain_events(&mut self) -> std::vec::Drain<'_, LaneEvent> {
        self.events.drain(..)
    }

    /// Totals so far.
    pub fn totals(&self) -> StatArbTotals {
        let pnl_units = self.gross_units - self.fees_units;
        let selected: Vec<&Pair> = self.pairs.iter().filter(|p| p.selected).collect();
        StatArbTotals {
            pairs_selected: selected.len(),
            pairs: selected.iter().map(|p| self.names(p.sel.id)).collect(),
            selections: self.selections,
            pairs_added: self.pairs_added,
            pairs_dropped: self.pairs_dropped,
            trades: self.trades,
            fills: self.fills,
            failed_orders: self.failed_orders,
            fills_at_avg_price: match &self.orders {
                StatArbOrders::Live(live) => live.fills_at_avg_price,
                StatArbOrders::Paper => 0,
            },
            fees_estimated: match &self.orders {
                StatArbOrders::Live(live) => live.fees_estimated,
                StatArbOrders::Paper => 0,
            },
            skipped_entries: self.skipped_entries.clone(),
            bars: self.bars,
            gross_quote: self.quote_text(self.gross_units),
            fees_quote: self.quote_text(self.fees_units),
            pnl_quote: self.quote_text(pnl_units),
            turnover_quote: self.quote_text(self.turnover_units),
            open_trades: self.pairs.iter().filter(|p| p.open.is_some()).count(),
            restored_trades: self.restored_trades,
            poll_errors: self.poll_errors,
            gross_units: self.gross_units,
            fees_units: self.fees_units,
            pnl_units,
            turnover_units: self.turnover_units,
            open_units: self
                .pairs
                .iter()
                .filter_map(|p| p.open.as_ref())
                .map(|o| o.cash - o.fee_quote)
                .sum(),
            fees_other_units: self.fees_other_units,
        }
    }

    /// Cash after every fill (open trades included), notional units.
    pub fn cash_units(&self) -> i128 {
        self.cash_units
    }

    fn quote_text(&self, units: i128) -> String {
        crate::quote_decimal(units, self.spec.scales.notional_digits())
    }

    /// Feeds one closed bar to every pair; `newest`: the latest bar known, the only one that
    /// may open positions.
    fn on_bar(&mut self, closes: &[f64], newest: bool) -> anyhow::Result<()> {
        self.bars += 1;
        for (h, &c) in self.history.iter_mut().zip(closes) {
            if h.len() == self.keep_bars {
                h.pop_front();
            }
            h.push_back(c);
        }
        let mut actions = Vec::with_capacity(self.pairs.len());
        for p in &mut self.pairs {
            let (a, b) = (p.sel.id.a, p.sel.id.b);
            actions.push(if p.selected {
                p.state.on_bar(closes[a], closes[b])
            } else {
                Action::Hold
            });
        }
        for (p, action) in actions.iter().enumerate() {
            if let Action::Exit { reason } = *action {
                let z = self.pairs[p].state.z();
                self.begin_exit(p, reason, z);
            }
        }
        for (p, action) in actions.iter().enumerate() {
            if let Action::Enter { side } = *action {
                let (a, b) = (self.pairs[p].sel.id.a, self.pairs[p].sel.id.b);
                let entered = if newest {
                    self.enter(p, side, [closes[a], closes[b]])
                } else {
                    Err("stale")
                };
                if let Err(why) = entered {
                    self.pairs[p].state.cancel_entry();
                    *self.skipped_entries.entry(why.to_owned()).or_default() += 1;
                }
            }
        }
        self.bars_since_scan += 1;
        if self.bars_since_scan >= self.spec.rescan_every_bars {
            self.select()?;
        }
        Ok(())
    }

    /// Opens pair `p` on `side` at the bar's closes; why not when nothing was opened.
    fn enter(&mut self, p: usize, side: SpreadSide, closes: [f64; 2]) -> Result<(), &'static str> {
        let id = self.pairs[p].sel.id;
        if self.pairs[p].open.is_some() {
            return Err("closing");
        }
        if !self.books_live(id) {
            return Err("book");
        }
        let one = self.spec.one_quote();
        let capital = (self.spec.capital_units + self.realized_units) as f64 / one;
        let base = match self.spec.sizing.capital_base {
            CapitalBase::Realized => capital,
            CapitalBase::Initial => self.spec.capital_units as f64 / one,
        };
        let open_notional = self
            .pairs
            .iter()
            .filter_map(|p| p.open.as_ref())
            .map(|o| o.notional_units as f64 / one)
            .sum::<f64>();
        let notional = entry_notional(
            self.pairs[p].fraction,
            base,
            capital,
            open_notional,
            self.spec.sizing.total_cap,
        );
        let beta = self.pairs[p].sel.model.hedge_ratio;
        let units_a = notional / (closes[0] + beta * closes[1]);
        if !(units_a.is_finite() && units_a > 0.0) {
            return Err("capital");
        }
        let lots = 10f64.powi(i32::from(self.spec.scales.size.digits()));
        let want_a = self.floor_lot(id.a, units_a * lots);
        let want_b = self.floor_lot(id.b, beta * units_a * lots);
        if !self.meets_minimums(id.a, want_a, closes[0])
            || !self.meets_minimums(id.b, want_b, closes[1])
        {
            return Err("minimums");
        }
        let sign: i64 = match side {
            SpreadSide::Long => 1,
            SpreadSide::Short => -1,
        };
        // Leg `a` trades `sign × want_a`, leg `b` the opposite sign.
        if !self.can_sell(id.a, sign * want_a as i64) || !self.can_sell(id.b, -sign * want_b as i64)
        {
            return Err("inventory");
        }
        let trade_id = self.next_trade_id;
        self.next_trade_id += 1;
        let notional_units = (notional * one).round() as i128;
        let (a, b) = self.names(id);
        let z = self.pairs[p].state.z().unwrap_or(f64::NAN);
        self.push_event(
            None,
            LiveClock.unix_ms(),
            StatArbRecord::Entered {
                trade_id,
                a,
                b,
                side: side.name().to_owned(),
                z,
                notional_units,
            },
        );
        self.pairs[p].open = Some(OpenTrade {
            trade_id,
            run_id: None,
            pos: [0; 2],
            cash: 0,
            fee_quote: 0,
            fee_base_value: 0,
            turnover: 0,
            notional_units,
            closing: None,
            last_try_ms: 0,
            close_failures: 0,
        });
        let filled_a = self.trade_leg(p, 0, sign * want_a as i64);
        if filled_a == 0 {
            // Nothing bought or sold: no position, no trade to count.
            self.push_event(
                None,
                LiveClock.unix_ms(),
                StatArbRecord::Closed {
                    trade_id,
                    reason: "unfilled".to_owned(),
                    z: None,
                    gross_units: 0,
                    fees_units: 0,
                    pnl_units: 0,
                },
            );
            self.pairs[p].open = None;
            return Err("unfilled");
        }
        // The hedge follows what the first leg actually filled.
        let b_units = beta * filled_a.unsigned_abs() as f64;
        let want_b = self.floor_lot(id.b, b_units);
        if want_b == 0 || self.trade_leg(p, 1, -sign * want_b as i64) == 0 {
            // A naked leg is not a spread position: unwind it now.
            self.pairs[p].state.force_exit(ExitReason::Unhedged);
            self.begin_exit(p, ExitReason::Unhedged, None);
        }
        Ok(())
    }

    /// Decides pair `p`'s exit and unwinds what it can now; the rest at later polls.
    fn begin_exit(&mut self, p: usize, reason: ExitReason, z: Option<f64>) {
        let Some(open) = self.pairs[p].open.as_mut() else {
            return;
        };
        open.closing = Some((reason, z));
        self.unwind(p);
    }

    /// Unwinds the rest of pair `p`'s closing position; books the close once flat.
    fn unwind(&mut self, p: usize) {
        let id = self.pairs[p].sel.id;
        let Some(open) = self.pairs[p].open.as_mut() else {
            return;
        };
        open.last_try_ms = LiveClock.unix_ms();
        let mut pos = open.pos;
        // A second round picks up what a partial fill, or a buy's base fee, left.
        for _ in 0..2 {
            for (leg, symbol) in [(0, id.a), (1, id.b)] {
                if !self.is_dust(symbol, pos[leg]) && self.book_live(symbol) {
                    let delta = self.closing_order(symbol, pos[leg]);
                    self.trade_leg(p, leg, delta);
                }
            }
            let Some(open) = self.pairs[p].open.as_ref() else {
                return;
            };
            let before = pos;
            pos = open.pos;
            if self.is_dust(id.a, pos[0]) && self.is_dust(id.b, pos[1]) {
                break;
            }
            if pos == before {
                // Nothing moved (a book not live, an order refused): wait longer next time.
                if let Some(open) = self.pairs[p].open.as_mut() {
                    open.close_failures = open.close_failures.saturating_add(1);
                }
                return;
            }
        }
        if let Some(open) = self.pairs[p].open.as_mut() {
            open.close_failures = 0;
        }
        if !(self.is_dust(id.a, pos[0]) && self.is_dust(id.b, pos[1])) {
            return;
        }
        let Some(open) = self.pairs[p].open.take() else {
            return;
        };
        let (reason, z) = open.closing.unwrap_or((ExitReason::Deselected, None));
        let pnl = open.cash - open.fee_quote;
        let (gross, fees) = (
            open.cash + open.fee_base_value,
            open.fee_quote + open.fee_base_value,
        );
        self.gross_units += gross;
        self.fees_units += fees;
        self.turnover_units += open.turnover;
        self.realized_units += pnl;
        self.trades += 1;
        if open.notional_units > 0 {
            self.records
                .entry(self.pairs[p].sel.id)
                .or_default()
                .push(pnl as f64 / open.notional_units as f64);
        }
        self.push_event(
            open.run_id.clone(),
            LiveClock.unix_ms(),
            StatArbRecord::Closed {
                trade_id: open.trade_id,
                reason: reason.name().to_owned(),
                z,
                gross_units: gross,
                fees_units: fees,
                pnl_units: pnl,
            },
        );
        if let Some(next) = self.pairs[p].next.take()
            && let Ok(state) = self.fresh_state(&next)
        {
            self.pairs[p].sel = next;
            self.pairs[p].state = state;
        }
    }

    /// Retries every closing trade's unwind; drops pairs that left the selection once flat.
    fn settle_closing(&mut self) {
        for p in 0..self.pairs.len() {
            let now = LiveClock.unix_ms();
            if self.pairs[p].open.as_ref().is_some_and(|o| {
                let wait = CLOSE_RETRY_MS << o.close_failures.min(8);
                o.closing.is_some() && now.saturating_sub(o.last_try_ms) >= wait
            }) {
                self.unwind(p);
            }
        }
        self.pairs.retain(|p| p.selected || p.open.is_some());
    }

    /// Sends (or fills on paper) signed `delta` size units of pair `p`'s leg `leg`; returns the
    /// signed size filled.
    fn trade_leg(&mut self, p: usize, leg: usize, delta: i64) -> i64 {
        if delta == 0 {
            return 0;
        }
        let id = self.pairs[p].sel.id;
        let symbol = if leg == 0 { id.a } else { id.b };
        let side = if delta > 0 {
            OrderSide::Buy
        } else {
            OrderSide::Sell
        };
        let size = Fixed(delta.unsigned_abs());
        let result = match self.limit(symbol, side) {
            None => Err("no book to price the order".to_owned()),
            Some(limit) => match &mut self.orders {
                StatArbOrders::Paper => {
                    let book = self.feeds[symbol].book(0);
                    Ok(book.map_or_else(LegFill::default, |book| {
                        let f = paper_fill(
                            book,
                            side,
                            size,
                            limit,
                            self.terms[symbol].taker_fee,
                            self.spec.buy_fee_asset,
                        );
                        LegFill {
                            size: f.size,
                            notional: f.notional,
                            fee_quote: f.fee_quote,
                            fee_base: f.fee_base,
                            fee_other: 0,
                        }
                    }))
                }
                StatArbOrders::Live(live) => live.place(
                    &LiveLeg {
                        symbol: &self.spec.symbols[symbol],
                        base_asset: &self.spec.base_assets[symbol],
                        quote_asset: &self.spec.quote_asset,
                        scales: self.spec.scales,
                        taker_fee: self.terms[symbol].taker_fee,
                        other_rate: self.terms[symbol].other_rate,
                        buy_fee_asset: self.spec.buy_fee_asset,
                    },
                    side,
                    size,
                    limit,
                ),
            },
        };
        let open_run = self.pairs[p].open.as_ref().and_then(|o| o.run_id.clone());
        let trade_id = self.pairs[p].open.as_ref().map_or(0, |o| o.trade_id);
        let (fill, error) = match result {
            Ok(fill) => (fill, None),
            Err(e) => (LegFill::default(), Some(e)),
        };
        let (cash, fee_base_value) = cash_and_fee_value(side, &fill);
        let fee_quote = i128::try_from(fill.fee_quote).unwrap_or(i128::MAX);
        let fee_other = i128::try_from(fill.fee_other).unwrap_or(i128::MAX);
        let filled = i64::try_from(fill.size.0).unwrap_or(i64::MAX);
        let signed = if side == OrderSide::Buy {
            filled
        } else {
            -filled
        };
        // What the account holds after the fill: a base fee leaves less than the size bought.
        let fee_base = i64::try_from(fill.fee_base).unwrap_or(i64::MAX);
        let received = if signed > 0 {
            signed.saturating_sub(fee_base)
        } else {
            signed
        };
        self.push_event(
            open_run,
            LiveClock.unix_ms(),
            StatArbRecord::Fill {
                trade_id,
                symbol: self.spec.symbols[symbol].clone(),
                side: match side {
                    OrderSide::Buy => "buy",
                    OrderSide::Sell => "sell",
                }
                .to_owned(),
                size_units: fill.size.0,
                notional_units: fill.notional,
                fee_units: fill.fee_quote,
                fee_base_units: fill.fee_base,
                fee_base_value_units: u128::try_from(fee_base_value).unwrap_or(0),
                fee_other_units: fill.fee_other,
                error: error.clone().or_else(|| {
                    (fill.size.0 == 0).then(|| "nothing filled within the limit".to_owned())
                }),
            },
        );
        if fill.size.0 == 0 {
            self.failed_orders += 1;
            return 0;
        }
        if let Some(h) = self.held.get_mut(symbol) {
            *h += i128::from(received);
        }
        if let Some(open) = self.pairs[p].open.as_mut() {
            open.pos[leg] += received;
            open.cash += cash;
            // A fee paid in a third asset (valued at the taker rate) costs the trade, though
            // the quote held does not pay it.
            open.fee_quote += fee_quote + fee_other;
            open.fee_base_value += fee_base_value;
            open.turnover += cash.abs();
        }
        self.cash_units += cash - fee_quote;
        self.fees_other_units += fee_other;
        self.fills += 1;
        signed
    }

    /// The IOC limit for `side` on `symbol`: the touch moved `slippage_bps` against us, on the
    /// tick; `None` without a live book.
    fn limit(&self, symbol: usize, side: OrderSide) -> Option<Fixed> {
        let book = self.feeds[symbol].book(0)?;
        let tick = self.terms[symbol].rules.tick.0.max(1);
        let bps = u128::from(self.spec.slippage_bps);
        Some(match side {
            OrderSide::Buy => {
                let touch = u128::from(book.best_ask()?.price.0);
                let raw = (touch * (10_000 + bps)).div_ceil(10_000);
                Fixed(u64::try_from(raw / u128::from(tick) * u128::from(tick)).ok()?)
            }
            OrderSide::Sell => {
                let touch = u128::from(book.best_bid()?.price.0);
                let raw = (touch * 10_000u128.saturating_sub(bps)).div_ceil(10_000);
                let t = u128::from(tick);
                Fixed(u64::try_from(raw.div_ceil(t) * t).ok()?)
            }
        })
    }

    fn book_live(&self, symbol: usize) -> bool {
        self.feeds[symbol].is_live(0, mono_ns())
    }

    fn books_live(&self, id: PairId) -> bool {
        self.book_live(id.a) && self.book_live(id.b)
    }

    /// `units` size units floored to `symbol`'s lot.
    fn floor_lot(&self, symbol: usize, units: f64) -> u64 {
        if !(units.is_finite() && units >= 1.0) {
            return 0;
        }
        let lot = self.terms[symbol].rules.lot.0.max(1);
        let units = units.min(u64::MAX as f64) as u64;
        units / lot * lot
    }

    /// The signed order that flattens a position of `pos` units of `symbol`, in whole lots: a
    /// long is sold (floored to the lot: the rest is dust); a short is bought back with the
    /// venue's base fee on top when it takes buy fees in base, so that what arrives covers it.
    fn closing_order(&self, symbol: usize, pos: i64) -> i64 {
        let base_fee =
            (self.spec.buy_fee_asset == FeeAsset::Base).then_some(self.terms[symbol].taker_fee);
        closing_size(pos, self.terms[symbol].rules.lot.0, base_fee)
    }

    /// Whether a position of `units` of `symbol` is too small to trade as the order that would
    /// flatten it: a sell floored to the lot, or a buy, under the minimum size, or worth less
    /// than the minimum value at its limit price. Such a rest is left where it is. Without a
    /// book to price it, it is not dust (yet).
    fn is_dust(&self, symbol: usize, units: i64) -> bool {
        if units == 0 {
            return true;
        }
        let order = self.closing_order(symbol, units).unsigned_abs();
        let rules = &self.terms[symbol].rules;
        if order == 0 || order < rules.min_size.0 {
            return true;
        }
        let Some(min_notional) = rules.min_notional else {
            return false;
        };
        let side = if units > 0 {
            OrderSide::Sell
        } else {
            OrderSide::Buy
        };
        let Some(limit) = self.limit(symbol, side) else {
            return false;
        };
        u128::from(order) * u128::from(limit.0) < min_notional
    }

    /// Whether `units` of `symbol` at about `price` meet its minimum size and value.
    fn meets_minimums(&self, symbol: usize, units: u64, price: f64) -> bool {
        let rules = &self.terms[symbol].rules;
        if units == 0 || units < rules.min_size.0 {
            return false;
        }
        let Some(min_notional) = rules.min_notional else {
            return true;
        };
        let price_units = price * 10f64.powi(i32::from(self.spec.scales.price.digits()));
        (units as f64) * price_units >= min_notional as f64
    }

    /// Whether a signed `delta` of `symbol` may go out: live mode sells only base it holds.
    fn can_sell(&self, symbol: usize, delta: i64) -> bool {
        match self.held.get(symbol) {
            Some(&held) if delta < 0 => held >= i128::from(delta.unsigned_abs()),
            _ => true,
        }
    }
}

/// A fill's cash flow before fees (sells +, buys −) and the value of a fee it paid in base at
/// the fill's average price, both notional units.
fn cash_and_fee_value(side: OrderSide, fill: &LegFill) -> (i128, i128) {
    let notional = i128::try_from(fill.notional).unwrap_or(i128::MAX);
    let fee_base_value = if fill.fee_base == 0 || fill.size.0 == 0 {
        0
    } else {
        fill.fee_base * fill.notional / u128::from(fill.size.0)
    };
    let cash = match side {
        OrderSide::Buy => -notional,
        OrderSide::Sell => notional,
    };
    (cash, i128::try_from(fee_base_value).unwrap_or(i128::MAX))
}

/// The signed order, in whole lots of `lot` size units, that flattens a position of `pos`: a
/// long sold, floored to the lot; a short bought back, with `base_fee` (the buy's taker rate,
/// when the venue takes it in base) on top so that what arrives covers the short, rounded up
/// to the lot.
fn closing_size(pos: i64, lot: u64, base_fee: Option<Rate>) -> i64 {
    let units = pos.unsigned_abs();
    let lot = lot.max(1);
    if pos > 0 {
        return -i64::try_from(units / lot * lot).unwrap_or(i64::MAX);
    }
    let gross = match base_fee {
        // q − ceil(q·r) ≥ units for q = units·ONE / (ONE − r), rounded up, plus one unit.
        Some(rate) if u128::from(rate.0) < Rate::ONE => {
            (u128::from(units) * Rate::ONE).div_ceil(Rate::ONE - u128::from(rate.0)) + 1
        }
        _ => u128::from(units),
    };
    let gross = gross.div_ceil(u128::from(lot)) * u128::from(lot);
    i64::try_from(gross).unwrap_or(i64::MAX)
}

/// One market-data client per symbol of `spec`.
pub fn feeds(spec: &StatArbSpec) -> anyhow::Result<Vec<Box<dyn VenueFeed + Send>>> {
    spec.symbols
        .iter()
        .map(|symbol| {
            crate::xarb_run::feed(crate::xarb_run::FeedTarget {
                venue: spec.venue,
                ws_url: &spec.ws_url,
                rest_url: &spec.rest_url,
                symbol,
                scales: spec.scales,
                stale_after_ms: spec.stale_after_ms,
            })
            .with_context(|| format!("opening the market-data feed of {symbol}"))
        })
        .collect()
}

/// Every symbol's rules over the public endpoint, and the spec's taker fee.
fn paper_terms(spec: &StatArbSpec, host: &str) -> anyhow::Result<Vec<SymbolTerms>> {
    let mut request = Vec::with_capacity(512);
    spec.symbols
        .iter()
        .map(|symbol| {
            symbol_rules_request(spec.venue, host, symbol, &mut request)
                .map_err(|e| anyhow::anyhow!("symbol-rules request for {symbol}: {e}"))?;
            let (status, body) = exchange(&spec.rest_url, &request)
                .map_err(|e| anyhow::anyhow!("symbol rules of {symbol}: {e}"))?;
            let rules = parse_symbol_rules(spec.venue, status, &body, spec.scales)
                .map_err(|e| anyhow::anyhow!("symbol rules of {symbol}: {e}"))?;
            Ok(SymbolTerms {
                rules,
                taker_fee: spec.taker_fee,
                other_rate: spec.taker_fee,
            })
        })
        .collect()
}

/// Live orders: one blocking request per order (the stat-arb lane trades on bar closes, far
/// from the hot path), then queries until the order is final.
pub struct LiveOrders {
    writer: Box<dyn RequestWriter + Send>,
    url: String,
    request: Vec<u8>,
    /// Seconds at start, so client ids of one run do not repeat another's.
    tag: u64,
    sent: u64,
    /// Filled orders valued at the average price: their fills could not be had.
    fills_at_avg_price: u64,
    /// Filled orders charged the taker rate: their answer had no fee and their trades could
    /// not be had.
    fees_estimated: u64,
}

/// The symbol a live order is for, and what values its fill.
#[derive(Clone, Copy, Debug)]
pub struct LiveLeg<'a> {
    /// The venue's symbol.
    pub symbol: &'a str,
    /// Its base asset as the venue names it in fees.
    pub base_asset: &'a str,
    /// Its quote asset as the venue names it in fees (a fee in neither is in a third asset).
    pub quote_asset: &'a str,
    /// Its price and size scales.
    pub scales: Scales,
    /// The account's taker rate on it (values a fee the venue did not report).
    pub taker_fee: Rate,
    /// The rate that values a fee the venue took in a third asset (see
    /// [`FeeBasis::other_rate`]).
    pub other_rate: Rate,
    /// Where the venue takes a buy's fee.
    pub buy_fee_asset: FeeAsset,
}

impl std::fmt::Debug for LiveOrders {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("LiveOrders")
            .field("venue", &self.writer.venue())
            .field("url", &self.url)
            .field("sent", &self.sent)
            .finish_non_exhaustive()
    }
}

/// Order-state queries after an IOC's acknowledgement before giving up on it.
const MAX_QUERIES: u32 = 20;
/// Fills requests from the newest page for an order whose answer gave only its average price
/// (OKX), while its fills lag its state.
const MAX_FILLS_ASKS: u32 = 5;

impl LiveOrders {
    /// Orders signed by `writer`, sent to `rest_url`.
    pub fn new(writer: Box<dyn RequestWriter + Send>, rest_url: &str) -> LiveOrders {
        LiveOrders {
            writer,
            url: rest_url.trim_end_matches('/').to_owned(),
            request: Vec::with_capacity(2048),
            tag: LiveClock.unix_ms() / 1000 % 1_000_000_000,
            sent: 0,
            fills_at_avg_price: 0,
            fees_estimated: 0,
        }
    }

    /// Fees and rules per symbol, and the base held of each, as the venue reports them.
    fn terms(&self, spec: &StatArbSpec) -> anyhow::Result<(Vec<SymbolTerms>, Vec<i128>)> {
        let mut terms = Vec::with_capacity(spec.symbols.len());
        let mut held = Vec::with_capacity(spec.symbols.len());
        for (symbol, base) in spec.symbols.iter().zip(&spec.base_assets) {
            let setup =
                crate::venue_setup::load(self.writer.as_ref(), &self.url, symbol, spec.scales)
                    .with_context(|| format!("{}: loading fees, rules and balances", spec.venue))?;
            terms.push(SymbolTerms {
                rules: setup.rules,
                taker_fee: setup.fees.taker,
                other_rate: setup.fees.discounted_taker.unwrap_or(setup.fees.taker),
            });
            let units = setup
                .balances
                .iter()
                .find(|b| &b.asset == base)
                .and_then(|b| b.free.units_at(spec.scales.size.digits()))
                .unwrap_or(0);
            held.push(i128::try_from(units).unwrap_or(i128::MAX));
        }
        Ok((terms, held))
    }

    fn stamp() -> Stamp {
        let unix_ms = LiveClock.unix_ms();
        let nonce = crate::venue_setup::next_nonce(unix_ms);
        Stamp {
            unix_ms,
            nonce,
            entropy: u128::from(nonce).to_le_bytes(),
        }
    }

    /// Places an IOC limit order and waits for its final state; the venue's error as text.
    fn place(
        &mut self,
        leg: &LiveLeg<'_>,
        side: OrderSide,
        size: Fixed,
        limit: Fixed,
    ) -> Result<LegFill, String> {
        let LiveLeg {
            symbol,
            base_asset,
            quote_asset,
            scales,
            other_rate,
            ..
        } = *leg;
        let basis = FeeBasis {
            base_asset,
            quote_asset,
            other_rate,
        };
        self.sent += 1;
        let client_id = format!("ks{}{}", self.tag, self.sent);
        let venue = self.writer.venue();
        let order = OrderRequest {
            symbol,
            side,
            size,
            limit,
            scales,
            tif: Tif::Ioc,
            client_id: &client_id,
        };
        self.writer
            .new_order(&order, &Self::stamp(), &mut self.request)
            .map_err(|e| e.to_string())?;
        // A refused order filled nothing; a lost answer (a dropped connection, a timeout, a
        // 5xx) leaves the outcome unknown: the order is then asked for by its client id.
        let mut report = match exchange(&self.url, &self.request) {
            Ok((status, body)) => match parse_order(venue, status, &body, scales) {
                Ok(report) => Some(report),
                Err(e) if e.class == ErrorClass::UnknownOutcome => None,
                Err(e) => return Err(e.to_string()),
            },
            Err(_) => None,
        };
        let mut queries = 0;
        let mut last_error = String::from("no answer");
        while !report.as_ref().is_some_and(is_final) {
            if queries == MAX_QUERIES {
                return Err(format!(
                    "order {client_id}: outcome unknown after {MAX_QUERIES} queries ({last_error})"
                ));
            }
            queries += 1;
            std::thread::sleep(std::time::Duration::from_millis(50));
            // Coinbase finds orders by its own id only.
            let venue_id = report
                .as_ref()
                .filter(|r| venue == Venue::Coinbase && !r.venue_order_id.is_empty())
                .map(|r| r.venue_order_id.clone());
            let by = venue_id
                .as_deref()
                .map_or(OrderRef::Client(&client_id), OrderRef::Venue);
            self.writer
                .query_order(symbol, by, &Self::stamp(), &mut self.request)
                .map_err(|e| e.to_string())?;
            match exchange(&self.url, &self.request) {
                Ok((status, body)) => match parse_order_query(venue, status, &body, scales) {
                    Ok(r) => report = Some(r),
                    Err(e) => last_error = e.to_string(),
                },
                Err(e) => last_error = e.to_string(),
            }
        }
        let Some(report) = report else {
            return Err(format!("order {client_id}: no report"));
        };
        // OKX answers with the average price only, and Binance's order query (after a lost
        // answer) with no commission: value such a leg from its fills (OKX's fills, Binance's
        // `myTrades`), page after page until the sizes add up. The fills can lag the order's
        // state by a moment: short of it after the last page, ask again from the newest.
        let no_fee = says_no_fee(&report);
        let no_fills = needs_fills(&report);
        if (no_fee || no_fills)
            && !report.venue_order_id.is_empty()
            && let Some(fills) = self.all_fills(symbol, &report, scales)
        {
            return Ok(fills_fill(fills, report.filled, basis, scales));
        }
        // Failing that: the average price, or the account's taker rate rounded up.
        let mut fill = report_fill(&report, basis, scales);
        if no_fee {
            estimate_taker_fee(&mut fill, side, leg.taker_fee, leg.buy_fee_asset);
            self.fees_estimated += 1;
        } else if no_fills {
            self.fills_at_avg_price += 1;
        }
        Ok(fill)
    }

    /// Every fill of the final order `report`, page after page, once their sizes add up to its
    /// filled size; `None` when a page cannot be written, sent or read, or they do not add up
    /// within [`MAX_FILLS_ASKS`] rounds and [`MAX_FILL_PAGES`] pages.
    fn all_fills(
        &mut self,
        symbol: &str,
        report: &OrderReport,
        scales: Scales,
    ) -> Option<OrderFills> {
        let venue = self.writer.venue();
        let filled = report.filled.0;
        let mut fills = OrderFills::default();
        let mut rounds = 1;
        for _ in 0..MAX_FILL_PAGES {
            let by = OrderRef::Venue(&report.venue_order_id);
            let after = fills.next_after.as_deref();
            self.writer
                .order_fills(symbol, by, after, &Self::stamp(), &mut self.request)
                .ok()?;
            let (status, body) = exchange(&self.url, &self.request).ok()?;
            let page = parse_order_fills(venue, status, &body, scales).ok()?;
            if !fills.append_page(page) {
                return None;
            }
            let total = fills.total_size()?;
            if total == filled {
                return Some(fills);
            }
            if total > filled {
                return None;
            }
            if fills.next_after.is_none() {
                // The last page, short: the fills lag. Start over in a moment.
                if rounds == MAX_FILLS_ASKS {
                    return None;
                }
                rounds += 1;
                fills = OrderFills::default();
                std::thread::sleep(std::time::Duration::from_millis(50));
            }
        }
        None
    }
}

/// `symbol`'s bars from `from_ms` on, over the venue's REST API.
fn bars(spec: &StatArbSpec, symbol: &str, from_ms: u64) -> anyhow::Result<Vec<Bar>> {
    let (_, candles) = fetch(&FetchArgs {
        venue: spec.venue,
        symbol: symbol.to_owned(),
        interval: spec.interval,
        from_ms,
        to_ms: FAR_MS,
        url: spec.rest_url.clone(),
        scales: spec.scales,
        journal: None,
        out: None,
        progress: false,
    })?;
    Ok(to_bars(&candles, spec.scales))
}

/// The bars that have closed: those ending by `now_ms`, and any with a newer bar after it (a
/// venue also serves the bar still forming, always the newest; a simulated venue's clock may
/// run ahead of ours).
fn closed(mut bars: Vec<Bar>, interval: Interval, now_ms: u64) -> Vec<Bar> {
    bars.sort_by_key(|b| b.open_ms);
    bars.dedup_by_key(|b| b.open_ms);
    // The newest bar counts only once it ended a little while ago: the venue may still be
    // folding in its last trades, and our clock may run ahead of the venue's.
    if bars.last().is_some_and(|b| {
        b.open_ms
            .saturating_add(interval.ms())
            .saturating_add(CLOSE_GRACE_MS)
            > now_ms
    }) {
        bars.pop();
    }
    bars
}

/// How long after its end the newest bar is taken as final.
const CLOSE_GRACE_MS: u64 = 2_000;

/// Candles as `(open_ms, close)` bars, closes in whole quote units.
fn to_bars(candles: &[Candle], scales: Scales) -> Vec<Bar> {
    let one = 10f64.powi(i32::from(scales.price.digits()));
    candles
        .iter()
        .map(|c| Bar {
            open_ms: c.open_ms,
            close: c.close.0 as f64 / one,
        })
        .collect()
}

/// One closed bar.
#[derive(Clone, Copy, Debug)]
struct Bar {
    open_ms: u64,
    close: f64,
}

/// The bars every symbol has, aligned by open time: the last common open time and one close
/// series per symbol.
fn align(history: &[Vec<Bar>]) -> (u64, Vec<Vec<f64>>) {
    let mut rows: BTreeMap<u64, Vec<Option<f64>>> = BTreeMap::new();
    for (i, h) in history.iter().enumerate() {
        for b in h {
            rows.entry(b.open_ms)
                .or_insert_with(|| vec![None; history.len()])[i] = Some(b.close);
        }
    }
    let mut series = vec![Vec::with_capacity(rows.len()); history.len()];
    let mut last = 0;
    for (open_ms, row) in rows {
        let Some(row) = row.into_iter().collect::<Option<Vec<f64>>>() else {
            continue;
        };
        for (s, c) in series.iter_mut().zip(row) {
            s.push(c);
        }
        last = open_ms;
    }
    (last, series)
}

/// The lane polling on its own thread, its events appended to a journal as they happen.
#[derive(Debug)]
pub struct StatArbRun {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<StatArbTotals>>,
    gauges: std::sync::Arc<crate::lane_metrics::StatArbGauges>,
}

/// Where a running lane's events go: the journal and the run they belong to.
#[derive(Debug)]
pub struct LaneJournal {
    /// The journal.
    pub journal: kestrel_store::JournalHandle,
    /// The current run.
    pub run_id: String,
}

impl StatArbRun {
    /// Polls `lane` every `poll_ms` on a thread (pinned to `core` when given); `journal`, when
    /// given, gets every event; `on_stop` runs on the thread after the last poll.
    pub fn start(
        lane: StatArbLane,
        poll_ms: u64,
        core: Option<usize>,
        journal: Option<LaneJournal>,
        on_stop: Box<dyn FnOnce() + Send>,
    ) -> anyhow::Result<StatArbRun> {
        Self::spawn(Box::new(move || Ok(lane)), poll_ms, core, journal, on_stop)
    }

    /// [`StatArbRun::start`] with the lane built by `build` on the lane's own thread (history,
    /// seeding backtest and selection off the caller's path); a build error is [`Self::stop`]'s.
    pub fn spawn(
        build: Box<dyn FnOnce() -> anyhow::Result<StatArbLane> + Send>,
        poll_ms: u64,
        core: Option<usize>,
        journal: Option<LaneJournal>,
        on_stop: Box<dyn FnOnce() + Send>,
    ) -> anyhow::Result<StatArbRun> {
        use std::sync::atomic::Ordering;
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let gauges = std::sync::Arc::new(crate::lane_metrics::StatArbGauges::default());
        let published = std::sync::Arc::clone(&gauges);
        let thread = std::thread::Builder::new()
            .name("kestrel-statarb".into())
            .spawn(move || {
                match kestrel_bus::pin_current_thread(core) {
                    kestrel_bus::PinOutcome::Pinned(_) | kestrel_bus::PinOutcome::NotRequested => {}
                    other => tracing::warn!(?other, "stat-arb lane: not pinned; running unpinned"),
                }
                let mut lane = match build() {
                    Ok(lane) => lane,
                    Err(e) => {
                        on_stop();
                        return Err(e.context("starting the stat-arb lane"));
                    }
                };
                let mut failures = 0u32;
                loop {
                    journal_events(&mut lane, journal.as_ref());
                    if flag.load(Ordering::Relaxed) {
                        break;
                    }
                    // A failed request (a dropped connection, a venue error) is retried with
                    // exponential backoff up to a minute; the lane never stops on one.
                    let wait_ms = match lane.poll() {
                        Ok(_) => {
                            failures = 0;
                            poll_ms.max(1)
                        }
                        Err(e) => {
                            failures = failures.saturating_add(1);
                            let wait = poll_ms
                                .max(1)
                                .saturating_mul(1 << failures.min(16))
                                .min(MAX_BACKOFF_MS);
                            tracing::warn!(error = %format!("{e:#}"), retry_in_ms = wait, "stat-arb lane: poll failed");
                            wait
                        }
                    };
                    published.publish(lane.totals());
                    sleep_unless(&flag, wait_ms);
                }
                journal_events(&mut lane, journal.as_ref());
                on_stop();
                let totals = lane.totals();
                published.publish(totals.clone());
                Ok(totals)
            })?;
        Ok(StatArbRun {
            stop,
            thread,
            gauges,
        })
    }

    /// The lane's totals as last published (after each poll), for `/metrics`.
    pub fn gauges(&self) -> &std::sync::Arc<crate::lane_metrics::StatArbGauges> {
        &self.gauges
    }

    /// Stop the lane; its totals.
    pub fn stop(self) -> anyhow::Result<StatArbTotals> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the stat-arb lane thread panicked"))?
    }
}

/// Longest wait between polls after failures.
const MAX_BACKOFF_MS: u64 = 60_000;

/// Sleeps `ms`, waking early when `stop` is set.
fn sleep_unless(stop: &std::sync::atomic::AtomicBool, ms: u64) {
    let until = std::time::Instant::now() + std::time::Duration::from_millis(ms);
    while !stop.load(std::sync::atomic::Ordering::Relaxed) {
        let left = until.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            break;
        }
        std::thread::sleep(left.min(std::time::Duration::from_millis(50)));
    }
}

/// Appends the lane's new events to the journal (blocking: the journal loses nothing).
fn journal_events(lane: &mut StatArbLane, journal: Option<&LaneJournal>) {
    let events: Vec<LaneEvent> = lane.drain_events().collect();
    let Some(j) = journal else {
        return;
    };
    for e in events {
        let rec = kestrel_store::Record::StatArb {
            run_id: e.run_id.unwrap_or_else(|| j.run_id.clone()),
            unix_ms: e.unix_ms,
            ev: e.ev,
        };
        if let Err(e) = j.journal.append(rec) {
            tracing::error!(error = %e, "stat-arb lane: journal append failed");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// What a buy of `q` leaves after a base fee at `rate`, as the venues charge it (rounded up).
    fn received(q: u64, rate: Rate) -> u64 {
        q - u64::try_from(rate.of(u128::from(q))).unwrap()
    }

    #[test]
    fn a_short_is_bought_back_with_the_base_fee_on_top_in_whole_lots() {
        for rate in [Rate(0), Rate(100_000), Rate(75_000), Rate(1_000_000)] {
            for lot in [1u64, 7, 100, 1_000] {
                for short in [1i64, 2, 99, 1_000, 22_103_784, 1 << 40] {
                    let q = closing_size(-short, lot, Some(rate));
                    let q = u64::try_from(q).unwrap();
                    assert_eq!(q % lot, 0, "{rate:?} {lot} {short}");
                    assert!(
                        received(q, rate) >= short.unsigned_abs(),
                        "{rate:?} lot {lot}: buying {q} leaves less than the short {short}"
                    );
                    // No more than the fee's worth, a unit and a lot over.
                    let enough = u64::try_from(
                        (u128::from(short.unsigned_abs()) * Rate::ONE)
                            .div_ceil(Rate::ONE - u128::from(rate.0)),
                    )
                    .unwrap();
                    assert!(q <= enough + 1 + lot, "{rate:?} {lot} {short}: {q}");
                }
            }
        }
    }

    /// An OKX IOC buy that sweeps 250 asks (65,000.00 + 0.01 i, of 0.01000 to 0.01002 BTC) has
    /// 250 fills, three pages of them: the leg is valued from all of them, exactly what the
    /// account paid, where the average price OKX states would have been off.
    #[test]
    fn an_okx_leg_with_more_fills_than_a_page_is_valued_from_every_page() {
        use kestrel_exsim::engine::{AssetSpec, Exchange, FeeRates, SymbolSpec};
        use kestrel_exsim::okx::OkxFront;
        use kestrel_exsim::server::ExchangeServer;
        use kestrel_types::cex::{BookSide, Scale};
        use kestrel_venues::auth::{ApiSecret, OkxSigner};
        use kestrel_venues::orders::{Amount, OkxWriter, Status};

        const KEY: &str = "statarb-okx-key";
        const USDT: u128 = 10_000_000;
        let scale = |d| Scale::new(d).expect("scale");
        let scales = Scales {
            price: scale(2),
            size: scale(5),
        };
        let signer = || {
            OkxSigner::new(
                KEY,
                &ApiSecret::new("chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO"),
                &ApiSecret::new("statarb passphrase"),
            )
            .expect("signer")
        };
        let asks: Vec<(u64, u64)> = (0..250).map(|i| (6_500_000 + i, 1_000 + i % 3)).collect();
        let mut ex = Exchange::new(
            Venue::Okx,
            vec![
                AssetSpec {
                    name: "BTC".into(),
                    scale: scale(5),
                },
                AssetSpec {
                    name: "USDT".into(),
                    scale: scale(7),
                },
            ],
            vec![SymbolSpec {
                symbol: "BTC-USDT".into(),
                base: "BTC".into(),
                quote: "USDT".into(),
                price_scale: scale(2),
                size_scale: scale(5),
                tick: Fixed(1),
                lot: Fixed(1),
                min_size: Fixed(10),
                min_notional: 0,
                depth: 400,
            }],
            FeeAsset::Base,
        )
        .expect("exchange");
        ex.add_account(
            KEY,
            FeeRates {
                maker: Rate(100_000),
                taker: Rate(100_000),
            },
        );
        ex.deposit(KEY, "USDT", 200_000 * USDT);
        for &(price, size) in &asks {
            ex.set_level("BTC-USDT", BookSide::Ask, Fixed(price), Fixed(size));
        }
        let server = ExchangeServer::start(
            ex,
            Box::new(OkxFront::new(vec![signer()])),
            std::time::Duration::from_millis(5),
        )
        .expect("server");
        let usdt = |server: &ExchangeServer| server.with_exchange(|ex| ex.balance(KEY, "USDT").0);
        let before = usdt(&server);
        let mut orders = LiveOrders::new(
            Box::new(OkxWriter::new(signer(), &server.addr().to_string())),
            &server.http_url(),
        );
        let filled: u64 = asks.iter().map(|&(_, size)| size).sum();
        let leg = LiveLeg {
            symbol: "BTC-USDT",
            base_asset: "BTC",
            quote_asset: "USDT",
            scales,
            taker_fee: Rate(100_000),
            other_rate: Rate(100_000),
            buy_fee_asset: FeeAsset::Base,
        };
        let fill = orders
            .place(&leg, OrderSide::Buy, Fixed(filled), Fixed(6_500_249))
            .expect("placed");
        let exact: u128 = asks
            .iter()
            .map(|&(price, size)| u128::from(price) * u128::from(size))
            .sum();
        assert_eq!(fill.size, Fixed(filled));
        assert_eq!(fill.notional, exact);
        assert_eq!(before - usdt(&server), exact, "what OKX took");
        assert_eq!(orders.fills_at_avg_price, 0, "valued from its fills");
        // The average price, cut at the quote's 7 digits, would have been a unit short.
        let avg = Amount::new(exact * 100_000 / u128::from(filled), 7).expect("amount");
        let report = OrderReport {
            venue_order_id: "1".into(),
            client_id: String::new(),
            status: Some(Status::Filled),
            filled: Fixed(filled),
            notional: None,
            avg_price: Some(avg),
            fees: Vec::new(),
            fills: Vec::new(),
        };
        let basis = FeeBasis {
            base_asset: "BTC",
            quote_asset: "USDT",
            other_rate: Rate(100_000),
        };
        assert_eq!(report_fill(&report, basis, scales).notional + 1, exact);
    }

    #[test]
    fn a_long_is_sold_floored_to_the_lot_and_a_quote_fee_adds_nothing() {
        assert_eq!(closing_size(1_050, 100, Some(Rate(100_000))), -1_000);
        assert_eq!(closing_size(99, 100, None), 0);
        assert_eq!(closing_size(-1_050, 100, None), 1_100);
        assert_eq!(closing_size(-1_000, 100, None), 1_000);
        assert_eq!(closing_size(0, 1, None), 0);
    }
}
