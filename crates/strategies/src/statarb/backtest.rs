//! The walk-forward backtest: select on a training window, trade the next test window, roll.
//!
//! **Windows.** Window `k` trains on bars `[k·test, k·test + train)` and trades bars
//! `[k·test + train, k·test + train + test)` (the last one is cut short at the end of the data);
//! windows roll by `test_bars` while a test bar remains. Bars before the first test window are
//! flat. Every position is **closed at the last bar of its test window** (reason `WindowEnd`):
//! the next window refits the hedge ratio, so a carried position would be hedged by a model that
//! no longer holds.
//!
//! **Timing.** At bar `t` each selected pair's [`PairState`] reads the closes at `t` (its z-score
//! window is warmed up from the bars just before the test window, which are in the past) and
//! acts; fills are at the close of `t`. Exits are processed before entries so that capital freed
//! at `t` can be used at `t`; no entry is made on a window's last bar (it would be closed at
//! once). Selection at window `k` reads only its training window. So nothing
//! at or before `t` depends on a bar after `t`.
//!
//! **Fills and money.** Every fill on either leg pays slippage and the taker fee:
//! buying `q` at close `p` fills at `p·(1 + slippage_bps/10⁴)`, selling at
//! `p·(1 − slippage_bps/10⁴)`, and the fee is `|q|·fill·taker_fee_bps/10⁴`, all in quote. Cash
//! moves by `−q·fill − fee`; equity at bar `t` is cash plus every open position marked at the
//! close of `t`. A trade's gross PnL is the sum of its fills' cash flows before fees; its net PnL
//! subtracts its fees; so `total_pnl = gross_pnl − fees`.
//!
//! **Sizing.** At the start of each test window the selected pairs get fractions of capital
//! from their walk-forward records ([`super::sizing`]); an entry commits the gross notional
//! [`entry_notional`] allows and buys `q = notional / (p_a + β·p_b)` units of `a` against `β·q`
//! of `b`. An entry with nothing to commit is cancelled (the pair stays flat).
//!
//! **Statistics.** Per-bar returns `r_t = E_t / E_{t−1} − 1` over the traded bars (from the
//! first test bar; bars with `E_{t−1} ≤ 0` skipped); Sharpe `= mean(r) / std(r) · √bars_per_year`
//! with the sample deviation (ddof 1), `None` below two returns or at zero deviation (no risk
//! taken). Max drawdown is the largest fall of equity from its running peak, in quote and as a
//! fraction of that peak. The win rate counts trades with net PnL > 0.

use std::collections::BTreeMap;
use std::ops::Range;

use super::error::{Problems, StatArbError};
use super::select::{
    PairId, SelectedPair, Selection, SelectionConfig, SelectionDiff, select_pairs,
};
use super::signal::{Action, ExitReason, Legs, PairState, SignalConfig, SpreadSide, legs};
use super::sizing::{CapitalBase, SizingConfig, TradeRecord, allocate, entry_notional};

/// Most series a backtest takes (the scan is quadratic in them).
pub const MAX_SERIES: usize = 128;
/// Largest price, capital or volume accepted: keeps every product of them finite.
pub const MAX_AMOUNT: f64 = 1e15;

/// Everything a backtest needs besides the data.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct BacktestConfig {
    /// Bars of each training window (the scan's sample).
    pub train_bars: usize,
    /// Bars of each test window, and the roll.
    pub test_bars: usize,
    /// Pair selection rules.
    pub selection: SelectionConfig,
    /// Trading rules.
    pub signal: SignalConfig,
    /// Sizing and allocation.
    pub sizing: SizingConfig,
    /// Starting capital, quote.
    pub initial_capital: f64,
    /// Taker fee on every fill, basis points of its notional.
    pub taker_fee_bps: f64,
    /// Slippage on every fill, basis points of the close, against the trade.
    pub slippage_bps: f64,
    /// Bars in a year, to annualize the Sharpe ratio (8,760 for hourly bars).
    pub bars_per_year: f64,
}

impl Default for BacktestConfig {
    fn default() -> Self {
        Self {
            train_bars: 500,
            test_bars: 250,
            selection: SelectionConfig::default(),
            signal: SignalConfig::default(),
            sizing: SizingConfig::default(),
            initial_capital: 10_000.0,
            taker_fee_bps: 10.0,
            slippage_bps: 2.0,
            bars_per_year: 8_760.0,
        }
    }
}

impl BacktestConfig {
    /// Checks every field (and those of the nested configs); all problems reported together.
    pub fn validate(&self) -> Result<(), StatArbError> {
        let mut p = Problems::default();
        self.selection.check(&mut p);
        self.signal.check(&mut p);
        self.sizing.check(&mut p);
        p.check(self.train_bars >= 3, "train_bars", "must be ≥ 3");
        p.check(self.test_bars >= 1, "test_bars", "must be ≥ 1");
        p.check(
            self.initial_capital > 0.0 && self.initial_capital <= MAX_AMOUNT,
            "initial_capital",
            "must lie in (0, 1e15]",
        );
        p.check(
            (0.0..10_000.0).contains(&self.taker_fee_bps),
            "taker_fee_bps",
            "must lie in [0, 10000)",
        );
        p.check(
            (0.0..10_000.0).contains(&self.slippage_bps),
            "slippage_bps",
            "must lie in [0, 10000)",
        );
        p.check(
            self.bars_per_year > 0.0 && self.bars_per_year <= 1e9,
            "bars_per_year",
            "must lie in (0, 1e9]",
        );
        p.finish()
    }
}

/// One fill of one leg.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Fill {
    /// Bar of the fill (at its close).
    pub bar: usize,
    /// The pair that traded.
    pub pair: PairId,
    /// The series filled.
    pub symbol: usize,
    /// Signed units (positive = bought).
    pub qty: f64,
    /// Fill price, slippage included.
    pub price: f64,
    /// Taker fee, quote.
    pub fee: f64,
}

/// A non-hold action a pair took.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Decision {
    /// The bar.
    pub bar: usize,
    /// The pair.
    pub pair: PairId,
    /// Its z-score at the bar, if defined.
    pub z: Option<f64>,
    /// The action.
    pub action: Action,
    /// False for an entry cancelled (no capital to commit, or the window's last bar).
    pub filled: bool,
}

/// A closed round trip of one pair.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Trade {
    /// The pair.
    pub pair: PairId,
    /// Long or short the spread.
    pub side: SpreadSide,
    /// Entry bar.
    pub entry_bar: usize,
    /// Exit bar.
    pub exit_bar: usize,
    /// Why it closed.
    pub exit_reason: ExitReason,
    /// The signed legs held.
    pub legs: Legs,
    /// Gross notional of both legs at entry (close prices), quote.
    pub entry_notional: f64,
    /// Sum of its fills' cash flows before fees, quote.
    pub gross_pnl: f64,
    /// Fees of its four fills, quote.
    pub fees: f64,
    /// `gross_pnl − fees`.
    pub pnl: f64,
}

/// One walk-forward window.
#[derive(Clone, Debug, PartialEq)]
pub struct WindowReport {
    /// Bars scanned.
    pub train: Range<usize>,
    /// Bars traded.
    pub test: Range<usize>,
    /// Pairs traded, best first.
    pub selected: Vec<SelectedPair>,
    /// Fraction of capital per selected pair (same order).
    pub allocation: Vec<f64>,
    /// Change from the previous window's selection (all added for the first).
    pub diff: SelectionDiff,
    /// Trades closed in the window.
    pub trades: usize,
    /// Equity change over the test window, quote.
    pub pnl: f64,
}

/// What a backtest produced.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// The series' names, by index.
    pub names: Vec<String>,
    /// Final equity minus initial capital, quote.
    pub total_pnl: f64,
    /// PnL before fees (slippage included), quote.
    pub gross_pnl: f64,
    /// Fees paid, quote.
    pub fees: f64,
    /// Annualized Sharpe ratio of per-bar returns (see the module docs).
    pub sharpe: Option<f64>,
    /// Largest fall of equity from a running peak, quote.
    pub max_drawdown: f64,
    /// That fall as a fraction of its peak.
    pub max_drawdown_fraction: f64,
    /// Trades with net PnL > 0 ÷ trades; `None` without trades.
    pub win_rate: Option<f64>,
    /// Closed round trips.
    pub trade_count: usize,
    /// Notional of every fill, quote.
    pub turnover: f64,
    /// Equity at the close of every bar, one value per bar.
    pub equity: Vec<f64>,
    /// The walk-forward windows.
    pub windows: Vec<WindowReport>,
    /// Every closed trade, by exit bar.
    pub trades: Vec<Trade>,
    /// Every fill, by bar.
    pub fills: Vec<Fill>,
    /// Every enter and exit decision, by bar.
    pub decisions: Vec<Decision>,
}

/// Runs the walk-forward backtest over aligned closes (`series[i][t]`: close of series `i` at
/// bar `t`), named by `names`. Errors on bad data or config, never panics.
pub fn backtest(
    series: &[&[f64]],
    names: &[&str],
    cfg: &BacktestConfig,
) -> Result<Report, StatArbError> {
    cfg.validate()?;
    let bars = validate_data(series, names)?;
    let needed = cfg.train_bars.saturating_add(cfg.test_bars);
    if needed > bars {
        return Err(StatArbError::WindowsLongerThanData {
            train: cfg.train_bars,
            test: cfg.test_bars,
            needed,
            bars,
        });
    }
    let mut sim = Sim::new(series, cfg);
    sim.equity.resize(cfg.train_bars, cfg.initial_capital);
    let mut previous: Option<Selection> = None;
    let mut start = 0;
    while start + cfg.train_bars < bars {
        let train = start..start + cfg.train_bars;
        let test = train.end..(train.end + cfg.test_bars).min(bars);
        let slices: Vec<&[f64]> = series.iter().map(|s| &s[train.clone()]).collect();
        let selection = select_pairs(&slices, &cfg.selection)?;
        let diff = previous
            .as_ref()
            .map_or_else(|| selection.diff_from_empty(), |p| p.diff(&selection));
        let window = sim.run_window(train, test, &selection, diff)?;
        sim.windows.push(window);
        previous = Some(selection);
        start += cfg.test_bars;
    }
    debug_assert_eq!(
        sim.equity.len(),
        bars,
        "Invariant: one equity value per bar"
    );
    Ok(sim.finish(names))
}

/// Checks names, lengths and prices; returns the number of bars.
fn validate_data(series: &[&[f64]], names: &[&str]) -> Result<usize, StatArbError> {
    if names.len() != series.len() {
        return Err(StatArbError::NamesMismatch {
            names: names.len(),
            series: series.len(),
        });
    }
    if series.len() < 2 {
        return Err(StatArbError::TooFewSeries { got: series.len() });
    }
    if series.len() > MAX_SERIES {
        return Err(StatArbError::TooManySeries {
            got: series.len(),
            max: MAX_SERIES,
        });
    }
    let expected = series[0].len();
    for (s, name) in series.iter().zip(names) {
        if s.len() != expected {
            return Err(StatArbError::LengthMismatch {
                symbol: (*name).to_owned(),
                len: s.len(),
                expected,
            });
        }
        if let Some(bar) = s.iter().position(|&p| !(p > 0.0 && p <= MAX_AMOUNT)) {
            return Err(StatArbError::BadPrice {
                symbol: (*name).to_owned(),
                bar,
            });
        }
    }
    Ok(expected)
}

/// A position of one pair.
#[derive(Clone, Copy, Debug)]
struct Open {
    side: SpreadSide,
    entry_bar: usize,
    legs: Legs,
    entry_notional: f64,
    gross: f64,
    fees: f64,
}

/// One selected pair during its test window.
#[derive(Debug)]
struct Live {
    pair: SelectedPair,
    state: PairState,
    fraction: f64,
    open: Option<Open>,
}

/// The simulation's account and its logs.
#[derive(Debug)]
struct Sim<'a> {
    series: &'a [&'a [f64]],
    cfg: &'a BacktestConfig,
    cash: f64,
    realized: f64,
    open_notional: f64,
    records: BTreeMap<PairId, TradeRecord>,
    equity: Vec<f64>,
    windows: Vec<WindowReport>,
    trades: Vec<Trade>,
    fills: Vec<Fill>,
    decisions: Vec<Decision>,
}

impl<'a> Sim<'a> {
    fn new(series: &'a [&'a [f64]], cfg: &'a BacktestConfig) -> Sim<'a> {
        let bars = series.first().map_or(0, |s| s.len());
        Sim {
            series,
            cfg,
            cash: cfg.initial_capital,
            realized: 0.0,
            open_notional: 0.0,
            records: BTreeMap::new(),
            equity: Vec::with_capacity(bars),
            windows: Vec::new(),
            trades: Vec::new(),
            fills: Vec::new(),
            decisions: Vec::new(),
        }
    }

    /// Trades one test window with `selection` and reports it.
    fn run_window(
        &mut self,
        train: Range<usize>,
        test: Range<usize>,
        selection: &Selection,
        diff: SelectionDiff,
    ) -> Result<WindowReport, StatArbError> {
        let records: Vec<TradeRecord> = selection
            .selected
            .iter()
            .map(|p| self.records.get(&p.id).copied().unwrap_or_default())
            .collect();
        let allocation = allocate(&records, &self.cfg.sizing);
        let mut live = Vec::with_capacity(selection.selected.len());
        for (pair, &fraction) in selection.selected.iter().zip(&allocation) {
            let mut state = PairState::new(pair.model, &self.cfg.signal)?;
            let (a, b) = (self.series[pair.id.a], self.series[pair.id.b]);
            for t in test.start.saturating_sub(state.window())..test.start {
                state.warm_up(a[t], b[t]);
            }
            live.push(Live {
                pair: *pair,
                state,
                fraction,
                open: None,
            });
        }
        let (trades_before, equity_before) = (self.trades.len(), self.last_equity());
        let mut actions = vec![Action::Hold; live.len()];
        for t in test.clone() {
            for (l, action) in live.iter_mut().zip(&mut actions) {
                let (a, b) = (self.series[l.pair.id.a][t], self.series[l.pair.id.b][t]);
                *action = l.state.on_bar(a, b);
            }
            let last = t + 1 == test.end;
            self.step(t, &mut live, &actions, last);
            if last {
                self.close_all(t, &mut live);
            }
            let e = self.mark(t, &live);
            self.equity.push(e);
        }
        Ok(WindowReport {
            train,
            test,
            selected: selection.selected.clone(),
            allocation,
            diff,
            trades: self.trades.len() - trades_before,
            pnl: self.last_equity() - equity_before,
        })
    }

    /// Executes bar `t`'s actions: exits first, then entries. On the window's last bar entries
    /// are cancelled: the position would be closed at the same close, paying costs for nothing.
    fn step(&mut self, t: usize, live: &mut [Live], actions: &[Action], last: bool) {
        for (l, &action) in live.iter_mut().zip(actions) {
            if let Action::Exit { reason } = action {
                self.log(t, l, action, true);
                self.close(t, l, reason);
            }
        }
        for (l, &action) in live.iter_mut().zip(actions) {
            if let Action::Enter { side } = action {
                let filled = !last && self.enter(t, l, side);
                if !filled {
                    l.state.cancel_entry();
                }
                self.log(t, l, action, filled);
            }
        }
    }

    /// Closes every open position at `t` (the window's end).
    fn close_all(&mut self, t: usize, live: &mut [Live]) {
        for l in live.iter_mut() {
            if let Some(action) = l.state.force_exit(ExitReason::WindowEnd) {
                self.log(t, l, action, true);
                self.close(t, l, ExitReason::WindowEnd);
            }
        }
    }

    fn log(&mut self, bar: usize, l: &Live, action: Action, filled: bool) {
        self.decisions.push(Decision {
            bar,
            pair: l.pair.id,
            z: l.state.z(),
            action,
            filled,
        });
    }

    /// Sizes and fills an entry; false when there is nothing to commit.
    fn enter(&mut self, t: usize, l: &mut Live, side: SpreadSide) -> bool {
        let sizing = &self.cfg.sizing;
        let capital = self.cfg.initial_capital + self.realized;
        let base = match sizing.capital_base {
            CapitalBase::Realized => capital,
            CapitalBase::Initial => self.cfg.initial_capital,
        };
        let notional = entry_notional(
            l.fraction,
            base,
            capital,
            self.open_notional,
            sizing.total_cap,
        );
        let id = l.pair.id;
        let (pa, pb) = (self.series[id.a][t], self.series[id.b][t]);
        let beta = l.pair.model.hedge_ratio;
        let units_a = notional / (pa + beta * pb);
        if !(units_a > 0.0 && units_a.is_finite()) {
            return false;
        }
        let legs = legs(side, units_a, beta);
        let mut open = Open {
            side,
            entry_bar: t,
            legs,
            entry_notional: notional,
            gross: 0.0,
            fees: 0.0,
        };
        self.fill(t, id, id.a, legs.a, &mut open);
        self.fill(t, id, id.b, legs.b, &mut open);
        self.open_notional += notional;
        debug_assert!(
            self.open_notional <= capital * (1.0 + 1e-9),
            "Invariant: open notional never exceeds the capital"
        );
        l.open = Some(open);
        true
    }

    /// Unwinds a pair's position at `t` and records the trade.
    fn close(&mut self, t: usize, l: &mut Live, reason: ExitReason) {
        let Some(mut open) = l.open.take() else {
            return;
        };
        let id = l.pair.id;
        self.fill(t, id, id.a, -open.legs.a, &mut open);
        self.fill(t, id, id.b, -open.legs.b, &mut open);
        self.open_notional = (self.open_notional - open.entry_notional).max(0.0);
        let pnl = open.gross - open.fees;
        self.realized += pnl;
        self.records
            .entry(id)
            .or_default()
            .push(pnl / open.entry_notional);
        self.trades.push(Trade {
            pair: id,
            side: open.side,
            entry_bar: open.entry_bar,
            exit_bar: t,
            exit_reason: reason,
            legs: open.legs,
            entry_notional: open.entry_notional,
            gross_pnl: open.gross,
            fees: open.fees,
            pnl,
        });
    }

    /// Fills `qty` of `symbol` at the close of `t` with slippage and fee.
    fn fill(&mut self, t: usize, pair: PairId, symbol: usize, qty: f64, open: &mut Open) {
        let close = self.series[symbol][t];
        let slip = self.cfg.slippage_bps / 10_000.0;
        let price = if qty > 0.0 {
            close * (1.0 + slip)
        } else {
            close * (1.0 - slip)
        };
        let fee = qty.abs() * price * self.cfg.taker_fee_bps / 10_000.0;
        let flow = -qty * price;
        self.cash += flow - fee;
        open.gross += flow;
        open.fees += fee;
        self.fills.push(Fill {
            bar: t,
            pair,
            symbol,
            qty,
            price,
            fee,
        });
    }

    /// Equity at the close of `t`: cash plus each open position's legs at the close.
    fn mark(&self, t: usize, live: &[Live]) -> f64 {
        let held: f64 = live
            .iter()
            .filter_map(|l| {
                let o = l.open.as_ref()?;
                let id = l.pair.id;
                Some(o.legs.a * self.series[id.a][t] + o.legs.b * self.series[id.b][t])
            })
            .sum();
        self.cash + held
    }

    fn last_equity(&self) -> f64 {
        self.equity
            .last()
            .copied()
            .unwrap_or(self.cfg.initial_capital)
    }

    fn finish(self, names: &[&str]) -> Report {
        let stats = Stats::of(&self.equity, self.cfg);
        let wins = self.trades.iter().filter(|t| t.pnl > 0.0).count();
        let trade_count = self.trades.len();
        Report {
            names: names.iter().map(|n| (*n).to_owned()).collect(),
            total_pnl: self.last_equity() - self.cfg.initial_capital,
            gross_pnl: self.trades.iter().map(|t| t.gross_pnl).sum(),
            fees: self.trades.iter().map(|t| t.fees).sum(),
            sharpe: stats.sharpe,
            max_drawdown: stats.max_drawdown,
            max_drawdown_fraction: stats.max_drawdown_fraction,
            win_rate: (trade_count > 0).then(|| wins as f64 / trade_count as f64),
            trade_count,
            turnover: self.fills.iter().map(|f| f.qty.abs() * f.price).sum(),
            equity: self.equity,
            windows: self.windows,
            trades: self.trades,
            fills: self.fills,
            decisions: self.decisions,
        }
    }
}

/// Risk statistics of an equity curve.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Stats {
    sharpe: Option<f64>,
    max_drawdown: f64,
    max_drawdown_fraction: f64,
}

impl Stats {
    fn of(equity: &[f64], cfg: &BacktestConfig) -> Stats {
        let traded = equity
            .get(cfg.train_bars.saturating_sub(1)..)
            .unwrap_or(&[]);
        let returns: Vec<f64> = traded
            .windows(2)
            .filter(|w| w[0] > 0.0)
            .map(|w| w[1] / w[0] - 1.0)
            .collect();
        let (mut peak, mut dd, mut dd_fraction) = (f64::NEG_INFINITY, 0.0_f64, 0.0_f64);
        for &e in equity {
            peak = peak.max(e);
            dd = dd.max(peak - e);
            if peak > 0.0 {
                dd_fraction = dd_fraction.max((peak - e) / peak);
            }
        }
        Stats {
            sharpe: sharpe(&returns, cfg.bars_per_year),
            max_drawdown: dd,
            max_drawdown_fraction: dd_fraction,
        }
    }
}

/// `mean / std · √bars_per_year` (ddof 1); `None` below two returns or at zero deviation.
fn sharpe(returns: &[f64], bars_per_year: f64) -> Option<f64> {
    if returns.len() < 2 {
        return None;
    }
    let n = returns.len() as f64;
    let mean = returns.iter().sum::<f64>() / n;
    let var = returns.iter().map(|r| (r - mean) * (r - mean)).sum::<f64>() / (n - 1.0);
    let s = mean / var.sqrt() * bars_per_year.sqrt();
    (var > 0.0 && s.is_finite()).then_some(s)
}
