//! Statistical arbitrage on cointegrated pairs: selection, trading rules, sizing, and the
//! walk-forward backtest that ties them together, on `f64` close prices (research and backtest
//! on candles; exchange orders, in exact units, are elsewhere).
//!
//! Data flows as the lane would run it, one test window at a time:
//!
//! 1. [`select`]: a [`kestrel_quant::scan()`] of a training window → pairs that are cointegrated,
//!    mean-revert at a usable speed and cross their mean often enough, ranked, top K
//!    ([`select_pairs`]); a re-scan's [`SelectionDiff`] says what was added and why pairs were
//!    dropped.
//! 2. [`signal`]: per selected pair, a [`PairState`] fed one bar at a time turns the spread's
//!    trailing z-score into enter / exit / hold ([`Action`]), reading only bars up to the
//!    current one.
//! 3. [`sizing`]: fractional Kelly from each pair's walk-forward record, water-filled across
//!    pairs by expected return per unit of risk, within per-pair and total caps.
//! 4. [`backtest`](backtest()): scan → trade → roll, with fees and slippage on every fill,
//!    reporting PnL, Sharpe, drawdown, the equity curve and each window's selection;
//!    [`equity_png`] draws the curve.
//!
//! **Invariant:** nothing decided, filled or marked at bar `t` depends on a bar after `t`
//! (the integration tests replace the future with noise and compare prefixes exactly).
//!
//! Pure: no I/O, no clock, no threads (the scan runs on the caller's thread), no randomness.
//! Every entry point validates its input and returns a [`StatArbError`] instead of panicking.

pub mod backtest;
mod error;
pub mod png;
pub mod select;
pub mod signal;
pub mod sizing;

pub use backtest::{
    BacktestConfig, Decision, Fill, MAX_AMOUNT, MAX_SERIES, Report, Trade, WindowReport, backtest,
};
pub use error::{ConfigProblem, StatArbError};
pub use png::equity_png;
pub use select::{
    Dropped, PairId, RejectReason, SelectedPair, Selection, SelectionConfig, SelectionDiff,
    select_from_scan, select_pairs,
};
pub use signal::{
    Action, ExitReason, Legs, PairModel, PairState, SignalConfig, SpreadSide, ZWindow, legs,
};
pub use sizing::{
    CapitalBase, SizingConfig, TradeRecord, allocate, entry_notional, pair_fraction, pair_score,
};
