//! The stat-arb lane: signals, sizing, selection, the walk-forward backtest (no look-ahead, exact
//! fee accounting), bad input, and the equity-curve PNG.

use kestrel_quant::rolling_zscore;
use kestrel_strategies::statarb::{
    Action, BacktestConfig, CapitalBase, ExitReason, PairId, PairModel, PairState, RejectReason,
    SelectionConfig, SignalConfig, SizingConfig, SpreadSide, StatArbError, TradeRecord, ZWindow,
    allocate, backtest, entry_notional, equity_png, legs, pair_fraction, select_pairs,
};
use proptest::prelude::*;

// ---------------------------------------------------------------------------------------------
// Test data

/// SplitMix64: small, seeded, good enough for test data.
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn uniform(&mut self) -> f64 {
        (self.next_u64() >> 11) as f64 / (1u64 << 53) as f64
    }

    /// Standard normal (Box-Muller).
    fn normal(&mut self) -> f64 {
        let u1 = 1.0 - self.uniform();
        let u2 = self.uniform();
        (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
    }
}

/// A positive geometric random walk from `start`, `vol` per bar.
fn walk(rng: &mut Rng, n: usize, start: f64, vol: f64) -> Vec<f64> {
    let mut p = start;
    (0..n)
        .map(|_| {
            p *= (vol * rng.normal()).exp();
            p
        })
        .collect()
}

/// An AR(1) spread with this half-life (bars) and innovation `sigma`.
fn ou(rng: &mut Rng, n: usize, half_life: f64, sigma: f64) -> Vec<f64> {
    let phi = 0.5_f64.powf(1.0 / half_life);
    let mut s = 0.0;
    (0..n)
        .map(|_| {
            s = phi * s + sigma * rng.normal();
            s
        })
        .collect()
}

const BETA: f64 = 1.5;
const INTERCEPT: f64 = 5.0;
const HALF_LIFE: f64 = 8.0;

/// Six symbols: `a = 1.5·b + 5 + OU(half-life 8)` is series 0, `b` series 1, and four
/// independent random walks.
fn universe(seed: u64, n: usize) -> Vec<Vec<f64>> {
    let mut rng = Rng(seed);
    let b = walk(&mut rng, n, 100.0, 0.008);
    let s = ou(&mut rng, n, HALF_LIFE, 0.6);
    let a: Vec<f64> = b
        .iter()
        .zip(&s)
        .map(|(b, s)| BETA * b + INTERCEPT + s)
        .collect();
    let mut out = vec![a, b];
    for k in 0..4 {
        out.push(walk(&mut rng, n, 50.0 + 20.0 * k as f64, 0.006));
    }
    out
}

const NAMES: [&str; 6] = ["AAA", "BBB", "CCC", "DDD", "EEE", "FFF"];

fn slices(v: &[Vec<f64>]) -> Vec<&[f64]> {
    v.iter().map(Vec::as_slice).collect()
}

/// A config for 2,000 bars: train 500, test 250 (six windows), no costs.
fn config() -> BacktestConfig {
    BacktestConfig {
        train_bars: 500,
        test_bars: 250,
        taker_fee_bps: 0.0,
        slippage_bps: 0.0,
        bars_per_year: 8_760.0,
        ..BacktestConfig::default()
    }
}

// ---------------------------------------------------------------------------------------------
// Signals

/// Rules with a fixed 40-bar window, on the spread `a` itself (β = 0, c = 0).
fn scripted_state(stop_z: f64, max_hold_half_lives: f64) -> PairState {
    let model = PairModel {
        hedge_ratio: 0.0,
        intercept: 0.0,
        half_life_bars: 2.0,
    };
    let cfg = SignalConfig {
        entry_z: 2.0,
        exit_z: 0.5,
        stop_z,
        max_hold_half_lives,
        window: ZWindow {
            half_lives: 1.0,
            min_bars: 40,
            max_bars: 40,
        },
    };
    let mut st = PairState::new(model, &cfg).expect("valid");
    for i in 0..40 {
        st.warm_up(if i % 2 == 0 { 1.0 } else { -1.0 }, 0.0);
    }
    st
}

/// Feeds `spread`, checks the z-score lies in `z_range`, returns the action.
fn feed(st: &mut PairState, spread: f64, z_range: std::ops::Range<f64>) -> Action {
    let action = st.on_bar(spread, 0.0);
    let z = st.z().expect("full window");
    assert!(z_range.contains(&z), "z = {z} outside {z_range:?}");
    action
}

const fn exit(reason: ExitReason) -> Action {
    Action::Exit { reason }
}

#[test]
fn the_state_machine_enters_exits_and_stops_by_the_rules() {
    let short = Action::Enter {
        side: SpreadSide::Short,
    };
    let long = Action::Enter {
        side: SpreadSide::Long,
    };
    let mut st = scripted_state(6.0, 100.0);
    // (spread fed, where z must be, action expected): enter short at z ≥ 2, exit when |z| ≤ 0.5;
    // enter long at z ≤ -2; hold in between; a jump through the mean exits as a crossing.
    let script: [(f64, std::ops::Range<f64>, Action); 6] = [
        (3.0, 2.0..6.0, short),
        (1.8, 0.5..2.0, Action::Hold),
        (0.0, -0.5..0.5, exit(ExitReason::Reverted)),
        (-3.0, -6.0..-2.0, long),
        (-2.0, -2.0..-0.5, Action::Hold),
        (2.5, 0.5..6.0, exit(ExitReason::CrossedMean)),
    ];
    for (i, (s, range, want)) in script.into_iter().enumerate() {
        assert_eq!(feed(&mut st, s, range), want, "step {i}");
    }
    assert_eq!(st.position(), None);
}

#[test]
fn a_stop_disarms_until_z_is_back_inside_the_entry_band() {
    let mut st = scripted_state(4.0, 100.0);
    let short = Action::Enter {
        side: SpreadSide::Short,
    };
    assert_eq!(feed(&mut st, 3.0, 2.0..4.0), short);
    assert_eq!(feed(&mut st, 100.0, 4.0..9.0), exit(ExitReason::StopLoss));
    // Still beyond the entry level but below the stop: no re-entry right after a stop.
    assert_eq!(feed(&mut st, 40.0, 2.0..4.0), Action::Hold);
    // Back inside the band re-arms; the next extreme enters again.
    assert_eq!(feed(&mut st, 0.0, -2.0..2.0), Action::Hold);
    assert_eq!(feed(&mut st, 60.0, 2.0..4.0), short);
}

#[test]
fn a_position_times_out_after_max_hold_half_lives() {
    // Half-life 2 bars × 2 = 4 bars.
    let mut st = scripted_state(6.0, 2.0);
    assert_eq!(st.max_hold_bars(), 4);
    let short = Action::Enter {
        side: SpreadSide::Short,
    };
    assert_eq!(feed(&mut st, 3.0, 2.0..6.0), short);
    for _ in 0..3 {
        assert_eq!(feed(&mut st, 1.6, 0.5..2.0), Action::Hold);
    }
    assert_eq!(feed(&mut st, 1.6, 0.5..2.0), exit(ExitReason::MaxHold));
    // A timeout disarms like a stop.
    assert_eq!(feed(&mut st, 3.5, 2.0..6.0), Action::Hold);
}

#[test]
fn no_z_before_the_window_fills_and_no_entry_at_or_beyond_the_stop() {
    let model = PairModel {
        hedge_ratio: 1.0,
        intercept: 0.0,
        half_life_bars: 5.0,
    };
    let cfg = SignalConfig::default();
    let mut st = PairState::new(model, &cfg).expect("valid");
    assert_eq!(st.window(), 20, "4 half-lives = 20 bars, within [20, 400]");
    for t in 0..19 {
        assert_eq!(st.on_bar(100.0 + (t % 3) as f64, 100.0), Action::Hold);
        assert_eq!(st.z(), None);
    }
    // A constant window has no z either.
    let mut flat = PairState::new(model, &cfg).expect("valid");
    for _ in 0..30 {
        assert_eq!(flat.on_bar(101.0, 100.0), Action::Hold);
        assert_eq!(flat.z(), None);
    }
    // z far beyond the stop: the relation broke, not an entry.
    assert_eq!(flat.on_bar(1_000.0, 100.0), Action::Hold);
    assert!(flat.z().expect("defined") >= cfg.stop_z);
}

#[test]
fn the_z_score_is_the_trailing_rolling_z_score() {
    let mut rng = Rng(7);
    let spread = ou(&mut rng, 600, 6.0, 1.0);
    let model = PairModel {
        hedge_ratio: 0.0,
        intercept: 0.0,
        half_life_bars: 6.0,
    };
    let cfg = SignalConfig::default();
    let mut st = PairState::new(model, &cfg).expect("valid");
    let want = rolling_zscore(&spread, st.window()).expect("finite");
    for (t, &s) in spread.iter().enumerate() {
        st.on_bar(s, 0.0);
        match (st.z(), want[t]) {
            (None, w) => assert!(w.is_nan(), "bar {t}: None vs {w}"),
            (Some(z), w) => assert!((z - w).abs() < 1e-9, "bar {t}: {z} vs {w}"),
        }
    }
}

#[test]
fn legs_are_sized_by_the_hedge_ratio_with_opposite_signs() {
    let l = legs(SpreadSide::Long, 2.0, 1.5);
    assert_eq!((l.a, l.b), (2.0, -3.0));
    let s = legs(SpreadSide::Short, 2.0, 1.5);
    assert_eq!((s.a, s.b), (-2.0, 3.0));
}

// ---------------------------------------------------------------------------------------------
// Sizing

fn record(returns: &[f64]) -> TradeRecord {
    let mut r = TradeRecord::default();
    for &x in returns {
        r.push(x);
    }
    r
}

#[test]
fn kelly_sizing_from_the_record_with_a_default_before_enough_history() {
    let cfg = SizingConfig {
        min_trades: 5,
        ..SizingConfig::default()
    };
    assert_eq!(pair_fraction(&TradeRecord::default(), &cfg), 0.05);
    assert_eq!(pair_fraction(&record(&[0.01; 4]), &cfg), 0.05);
    // p = 0.6, b = 0.01/0.01 = 1: full Kelly 0.2, half 0.1.
    let r = record(&[0.01, 0.01, 0.01, -0.01, -0.01]);
    assert_eq!(r.win_rate(), Some(0.6));
    assert_eq!(r.payoff_ratio(), Some(1.0));
    assert!((pair_fraction(&r, &cfg) - 0.1).abs() < 1e-15);
    // p = 0.4, b = 3: full Kelly 0.4 − 0.6/3 = 0.2, half 0.1.
    let r = record(&[0.03, 0.03, -0.01, -0.01, -0.01]);
    assert!((pair_fraction(&r, &cfg) - 0.1).abs() < 1e-12);
    // No edge: 0. All wins: capped at the per-pair cap.
    assert_eq!(
        pair_fraction(&record(&[0.01, -0.01, 0.01, -0.01, 0.0]), &cfg),
        0.0
    );
    assert_eq!(pair_fraction(&record(&[0.01; 8]), &cfg), cfg.per_pair_cap);
}

#[test]
fn capital_goes_to_return_per_unit_of_risk_when_the_total_cap_binds() {
    let cfg = SizingConfig {
        kelly_multiplier: 1.0,
        per_pair_cap: 0.5,
        total_cap: 0.6,
        default_fraction: 0.05,
        min_trades: 4,
        capital_base: CapitalBase::Realized,
    };
    // Both records have positive Kelly fractions; the first is steadier (higher mean/std).
    let good = record(&[0.02, 0.021, 0.019, 0.02, -0.005, 0.02]);
    let poor = record(&[0.05, -0.04, 0.05, -0.04, 0.05, 0.03]);
    let k = [pair_fraction(&good, &cfg), pair_fraction(&poor, &cfg)];
    assert!(k[0] + k[1] > cfg.total_cap, "the cap must bind: {k:?}");
    let a = allocate(&[good, poor], &cfg);
    assert!((a[0] + a[1] - cfg.total_cap).abs() < 1e-12, "{a:?}");
    assert!(a[0] <= k[0] && a[1] <= k[1]);
    assert!(a[0] > a[1], "the steadier pair gets more: {a:?}");
    // Within the cap every pair gets its Kelly fraction.
    let loose = SizingConfig {
        total_cap: 1.0,
        ..cfg
    };
    assert_eq!(allocate(&[good, poor], &loose), k.to_vec());
}

#[test]
fn entry_notional_never_exceeds_the_capital_left() {
    assert_eq!(entry_notional(0.2, 1_000.0, 1_000.0, 0.0, 1.0), 200.0);
    assert_eq!(entry_notional(0.2, 1_000.0, 1_000.0, 900.0, 1.0), 100.0);
    assert_eq!(entry_notional(0.2, 1_000.0, 1_000.0, 1_000.0, 1.0), 0.0);
    assert_eq!(entry_notional(0.2, 1_000.0, -5.0, 0.0, 1.0), 0.0);
    assert_eq!(entry_notional(0.2, 1_000.0, 400.0, 0.0, 0.5), 200.0);
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn allocation_respects_every_cap(
        returns in prop::collection::vec(prop::collection::vec(-0.1f64..0.1, 0..20), 0..8),
        per_pair in 0.01f64..1.0,
        total in 0.01f64..1.0,
        mult in 0.0f64..2.0,
    ) {
        let total_cap = total.max(per_pair);
        let cfg = SizingConfig {
            kelly_multiplier: mult,
            per_pair_cap: per_pair,
            total_cap,
            default_fraction: per_pair / 2.0,
            min_trades: 3,
            capital_base: CapitalBase::Realized,
        };
        prop_assert!(cfg.validate().is_ok());
        let records: Vec<TradeRecord> = returns.iter().map(|r| record(r)).collect();
        let a = allocate(&records, &cfg);
        prop_assert_eq!(a.len(), records.len());
        prop_assert!(a.iter().sum::<f64>() <= total_cap * (1.0 + 1e-12));
        for (x, r) in a.iter().zip(&records) {
            prop_assert!(*x >= 0.0 && *x <= pair_fraction(r, &cfg) + 1e-15);
        }
    }
}

// ---------------------------------------------------------------------------------------------
// Selection

#[test]
fn selection_keeps_the_cointegrated_pair_with_its_hedge_ratio() {
    let data = universe(11, 600);
    let sel = select_pairs(&slices(&data), &SelectionConfig::default()).expect("valid");
    let top = sel.selected.first().expect("a pair");
    assert_eq!(top.id, PairId { a: 0, b: 1 });
    assert!((top.model.hedge_ratio - BETA).abs() < 0.05, "{top:?}");
    assert!(top.p_value < 1e-3);
    assert!((3.0..20.0).contains(&top.model.half_life_bars), "{top:?}");
    assert!(top.zero_crossings >= 12);
    // Every tested pair is either selected or rejected with a reason.
    assert_eq!(sel.selected.len() + sel.rejected.len(), 15);
}

#[test]
fn a_rescan_reports_dropped_pairs_with_their_reason() {
    let data = universe(11, 1_200);
    let cfg = SelectionConfig::default();
    let before = select_pairs(
        &slices(
            &data[..2]
                .iter()
                .map(|s| s[..600].to_vec())
                .collect::<Vec<_>>(),
        ),
        &cfg,
    )
    .expect("valid");
    assert_eq!(before.selected.len(), 1);
    let pair = before.selected[0].id;

    // The relation breaks: `a` becomes an independent walk.
    let mut rng = Rng(99);
    let broken = vec![walk(&mut rng, 600, 150.0, 0.004), data[1][600..].to_vec()];
    let after = select_pairs(&slices(&broken), &cfg).expect("valid");
    let diff = before.diff(&after);
    assert_eq!(diff.dropped.len(), 1);
    assert_eq!(diff.dropped[0].id, pair);
    assert!(
        matches!(diff.dropped[0].reason, RejectReason::NotCointegrated { p_value } if p_value > 0.05),
        "{diff:?}"
    );

    // The half-life leaves the configured range.
    let fast_only = SelectionConfig {
        max_half_life_bars: 3.0,
        ..cfg
    };
    let pair_only: Vec<Vec<f64>> = data[..2].iter().map(|s| s[600..].to_vec()).collect();
    let narrowed = select_pairs(&slices(&pair_only), &fast_only).expect("valid");
    let diff = before.diff(&narrowed);
    assert!(
        matches!(diff.dropped[0].reason, RejectReason::HalfLifeOutOfRange { bars } if bars > 3.0),
        "{diff:?}"
    );
    assert!(diff.added.is_empty() && diff.kept.is_empty());

    // Still there: kept.
    let again = select_pairs(&slices(&pair_only), &cfg).expect("valid");
    let diff = before.diff(&again);
    assert_eq!((diff.kept.as_slice(), diff.dropped.len()), (&[pair][..], 0));
}

// ---------------------------------------------------------------------------------------------
// The backtest

#[test]
fn the_backtest_selects_the_cointegrated_pair_and_makes_money_before_costs() {
    let data = universe(2024, 2_000);
    let report = backtest(&slices(&data), &NAMES, &config()).expect("runs");
    assert_eq!(report.equity.len(), 2_000);
    assert_eq!(report.windows.len(), 6);
    let pair = PairId { a: 0, b: 1 };
    for w in &report.windows {
        let p = w.selected.iter().find(|p| p.id == pair);
        let p = p.unwrap_or_else(|| panic!("window {:?} missed the pair", w.test));
        assert!((p.model.hedge_ratio - BETA).abs() < 0.1, "{p:?}");
    }
    assert_eq!(report.windows[0].diff.added.first(), Some(&pair));
    let on_pair = report.trades.iter().filter(|t| t.pair == pair);
    let pair_pnl: f64 = on_pair.clone().map(|t| t.gross_pnl).sum();
    assert!(on_pair.count() >= 20, "{} trades", report.trade_count);
    assert!(pair_pnl > 0.0, "pair PnL {pair_pnl}");
    assert!(report.total_pnl > 0.0, "total {}", report.total_pnl);
    assert_eq!(report.fees, 0.0);
    assert!(report.sharpe.expect("risk taken") > 0.0);
    assert!(report.win_rate.expect("trades") > 0.5);
    // Before the first test window nothing is traded.
    assert!(report.equity[..500].iter().all(|&e| e == 10_000.0));
    assert!(report.turnover > 0.0 && report.max_drawdown >= 0.0);
    // Every position is closed at its window's end.
    for w in &report.windows {
        let last = w.test.end - 1;
        assert!(
            report
                .trades
                .iter()
                .all(|t| t.exit_bar < w.test.end || t.entry_bar >= w.test.end)
        );
        assert!(
            report
                .trades
                .iter()
                .all(|t| !(t.entry_bar <= last && t.exit_bar > last))
        );
    }
}

#[test]
fn fees_lower_the_pnl_by_exactly_the_fees_paid() {
    let data = universe(2024, 2_000);
    // Sizing that does not depend on past PnL, so both runs trade the same quantities.
    let fixed = SizingConfig {
        capital_base: CapitalBase::Initial,
        min_trades: usize::MAX,
        default_fraction: 0.1,
        ..SizingConfig::default()
    };
    let free = BacktestConfig {
        sizing: fixed,
        slippage_bps: 3.0,
        ..config()
    };
    let costly = BacktestConfig {
        taker_fee_bps: 60.0,
        ..free
    };
    let a = backtest(&slices(&data), &NAMES, &free).expect("runs");
    let b = backtest(&slices(&data), &NAMES, &costly).expect("runs");
    assert_eq!(a.fees, 0.0);
    assert!(b.fees > 0.0 && b.total_pnl < a.total_pnl);
    assert_eq!(a.fills.len(), b.fills.len());
    for (x, y) in a.fills.iter().zip(&b.fills) {
        assert_eq!(
            (x.bar, x.symbol, x.qty, x.price),
            (y.bar, y.symbol, y.qty, y.price)
        );
        assert_eq!(y.fee, y.qty.abs() * y.price * 60.0 / 10_000.0);
    }
    let gap = a.total_pnl - b.total_pnl;
    assert!(
        (gap - b.fees).abs() <= 1e-9 * b.fees,
        "gap {gap} vs fees {}",
        b.fees
    );
    assert_eq!(a.gross_pnl, b.gross_pnl);
    for r in [&a, &b] {
        assert!((r.total_pnl - (r.gross_pnl - r.fees)).abs() <= 1e-9 * r.turnover);
        for t in &r.trades {
            assert_eq!(t.pnl, t.gross_pnl - t.fees);
        }
    }
}

/// `data` with every bar after `t` replaced by an unrelated random walk.
fn future_replaced(data: &[Vec<f64>], t: usize, seed: u64) -> Vec<Vec<f64>> {
    let mut rng = Rng(seed);
    data.iter()
        .map(|s| {
            let mut v = s[..=t].to_vec();
            v.extend(walk(&mut rng, s.len() - t - 1, s[t], 0.02));
            v
        })
        .collect()
}

#[test]
fn no_decision_fill_or_equity_value_depends_on_a_later_bar() {
    let data = universe(2024, 2_000);
    let cfg = BacktestConfig {
        taker_fee_bps: 10.0,
        slippage_bps: 2.0,
        sizing: SizingConfig {
            min_trades: 3,
            ..SizingConfig::default()
        },
        ..config()
    };
    let base = backtest(&slices(&data), &NAMES, &cfg).expect("runs");
    assert!(base.trade_count > 20);
    // Mid-window, the last bar of a window, the first of the next, and late.
    for (k, t) in [620, 999, 1_000, 1_377, 1_998].into_iter().enumerate() {
        let other = future_replaced(&data, t, 500 + k as u64);
        let alt = backtest(&slices(&other), &NAMES, &cfg).expect("runs");
        assert_eq!(base.equity[..=t], alt.equity[..=t], "equity up to {t}");
        let upto = |r: &kestrel_strategies::statarb::Report| {
            (
                r.fills
                    .iter()
                    .filter(|f| f.bar <= t)
                    .copied()
                    .collect::<Vec<_>>(),
                r.decisions
                    .iter()
                    .filter(|d| d.bar <= t)
                    .copied()
                    .collect::<Vec<_>>(),
                r.trades
                    .iter()
                    .filter(|x| x.exit_bar <= t)
                    .copied()
                    .collect::<Vec<_>>(),
            )
        };
        assert_eq!(
            upto(&base),
            upto(&alt),
            "fills, decisions, trades up to {t}"
        );
        for (w, v) in base.windows.iter().zip(&alt.windows) {
            if w.test.start <= t {
                assert_eq!((&w.selected, &w.allocation), (&v.selected, &v.allocation));
            }
        }
        // The future did change: the check is not vacuous.
        assert!(
            t == 1_998 || base.equity != alt.equity,
            "future at {t} changed nothing"
        );
    }
}

#[test]
fn bad_input_is_a_clear_error() {
    let data = universe(5, 800);
    let s = slices(&data);
    let cfg = BacktestConfig {
        train_bars: 300,
        test_bars: 100,
        ..config()
    };
    assert!(backtest(&s, &NAMES, &cfg).is_ok());

    let short = &data[2][..799];
    let mismatched = [s[0], s[1], short];
    assert!(matches!(
        backtest(&mismatched, &NAMES[..3], &cfg),
        Err(StatArbError::LengthMismatch {
            len: 799,
            expected: 800,
            ..
        })
    ));
    let mut nan = data[1].clone();
    nan[123] = f64::NAN;
    assert_eq!(
        backtest(&[s[0], &nan], &NAMES[..2], &cfg),
        Err(StatArbError::BadPrice {
            symbol: "BBB".into(),
            bar: 123
        })
    );
    let mut negative = data[0].clone();
    negative[7] = -1.0;
    assert!(matches!(
        backtest(&[&negative, s[1]], &NAMES[..2], &cfg),
        Err(StatArbError::BadPrice { bar: 7, .. })
    ));
    let long = BacktestConfig {
        train_bars: 700,
        test_bars: 101,
        ..cfg
    };
    assert_eq!(
        backtest(&s, &NAMES, &long),
        Err(StatArbError::WindowsLongerThanData {
            train: 700,
            test: 101,
            needed: 801,
            bars: 800
        })
    );
    assert_eq!(
        backtest(&s, &NAMES[..5], &cfg),
        Err(StatArbError::NamesMismatch {
            names: 5,
            series: 6
        })
    );
    assert_eq!(
        backtest(&s[..1], &NAMES[..1], &cfg),
        Err(StatArbError::TooFewSeries { got: 1 })
    );

    // Every config problem at once, each with its key.
    let bad = BacktestConfig {
        initial_capital: 0.0,
        taker_fee_bps: f64::NAN,
        signal: SignalConfig {
            exit_z: 3.0,
            ..SignalConfig::default()
        },
        sizing: SizingConfig {
            per_pair_cap: 2.0,
            ..SizingConfig::default()
        },
        ..cfg
    };
    let Err(StatArbError::InvalidConfig { problems }) = backtest(&s, &NAMES, &bad) else {
        panic!("invalid config accepted")
    };
    let keys: Vec<&str> = problems.iter().map(|p| p.key).collect();
    for key in [
        "initial_capital",
        "taker_fee_bps",
        "signal.entry_z",
        "sizing.per_pair_cap",
    ] {
        assert!(keys.contains(&key), "{key} missing from {keys:?}");
    }
    let message = StatArbError::InvalidConfig { problems }.to_string();
    assert!(
        message.contains("initial_capital: must lie in (0, 1e15]"),
        "{message}"
    );
}

/// A valid config from proptest draws: windows, z thresholds (entry, exit as a share of it, stop
/// beyond it), caps and costs.
fn drawn_config(
    windows: (usize, usize),
    z: (f64, f64, f64),
    caps: (f64, f64),
    costs: (f64, f64),
    top_k: usize,
) -> BacktestConfig {
    let per_pair_cap = caps.0 * caps.1;
    BacktestConfig {
        train_bars: windows.0,
        test_bars: windows.1,
        selection: SelectionConfig {
            max_p_value: 0.5,
            min_zero_crossings: 2,
            max_half_life_bars: 200.0,
            min_half_life_bars: 0.5,
            top_k,
            ..SelectionConfig::default()
        },
        signal: SignalConfig {
            entry_z: z.0,
            exit_z: z.0 * z.1,
            stop_z: z.0 + z.2,
            max_hold_half_lives: 3.0,
            window: ZWindow {
                half_lives: 3.0,
                min_bars: 5,
                max_bars: 60,
            },
        },
        sizing: SizingConfig {
            per_pair_cap,
            total_cap: caps.1,
            default_fraction: per_pair_cap / 2.0,
            min_trades: 2,
            ..SizingConfig::default()
        },
        initial_capital: 1_000.0,
        taker_fee_bps: costs.0,
        slippage_bps: costs.1,
        bars_per_year: 365.0,
    }
}

/// One field of a valid config broken (or none), to reach the validation paths too.
fn break_one(mut cfg: BacktestConfig, which: u8, value: f64) -> BacktestConfig {
    match which {
        0 => cfg.initial_capital = value,
        1 => cfg.taker_fee_bps = value,
        2 => cfg.signal.exit_z = value,
        3 => cfg.sizing.total_cap = value,
        4 => cfg.selection.max_half_life_bars = value,
        5 => cfg.bars_per_year = value,
        _ => {}
    }
    cfg
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, ..ProptestConfig::default() })]

    #[test]
    fn the_backtest_never_panics(
        seed in any::<u64>(),
        symbols in 1usize..6,
        bars in 0usize..500,
        windows in (3usize..200, 1usize..100),
        z in (0.3f64..3.5, 0.0f64..0.95, 0.1f64..5.0),
        caps in (0.01f64..=1.0, 0.01f64..=1.0),
        costs in (0.0f64..200.0, 0.0f64..50.0),
        top_k in 1usize..4,
        broken in (0u8..18, prop::sample::select(vec![f64::NAN, -1.0, 0.0, 1e300, f64::INFINITY])),
        poison in prop::option::weighted(0.2, (0usize..5, 0usize..400, prop::sample::select(vec![f64::NAN, f64::INFINITY, 0.0, -3.0, 1e300]))),
    ) {
        let mut rng = Rng(seed);
        let mut data: Vec<Vec<f64>> =
            (0..symbols).map(|k| walk(&mut rng, bars, 20.0 + k as f64, 0.03)).collect();
        if symbols >= 2 {
            // One cointegrated pair, so that many cases trade.
            let s = ou(&mut rng, bars, 4.0, 0.3);
            data[0] = data[1].iter().zip(&s).map(|(b, s)| 2.0 * b + 10.0 + s).collect();
        }
        if let Some((i, t, v)) = poison && i < symbols && t < bars {
            data[i][t] = v;
        }
        let names: Vec<&str> = NAMES.iter().copied().cycle().take(symbols).collect();
        let cfg = break_one(drawn_config(windows, z, caps, costs, top_k), broken.0, broken.1);
        if let Ok(r) = backtest(&slices(&data), &names, &cfg) {
            prop_assert_eq!(r.equity.len(), bars);
            prop_assert!(r.equity.iter().all(|e| e.is_finite()));
            prop_assert!(r.fees >= 0.0 && r.turnover >= 0.0);
            prop_assert_eq!(r.trade_count, r.trades.len());
        }
    }
}

// ---------------------------------------------------------------------------------------------
// The equity-curve PNG, checked by a small independent decoder

fn crc32(bytes: &[u8]) -> u32 {
    let mut crc = 0xFFFF_FFFF_u32;
    for &b in bytes {
        crc ^= u32::from(b);
        for _ in 0..8 {
            crc = if crc & 1 == 1 {
                (crc >> 1) ^ 0xEDB8_8320
            } else {
                crc >> 1
            };
        }
    }
    !crc
}

fn adler32(bytes: &[u8]) -> u32 {
    let (mut a, mut b) = (1u64, 0u64);
    for &x in bytes {
        a = (a + u64::from(x)) % 65_521;
        b = (b + a) % 65_521;
    }
    ((b << 16) | a) as u32
}

fn be32(b: &[u8]) -> u32 {
    u32::from_be_bytes(b[..4].try_into().expect("4 bytes"))
}

/// Decodes what `equity_png` writes (gray, 8 bits, stored deflate), checking every checksum;
/// returns `(width, height, pixels)`.
fn decode(png: &[u8]) -> (u32, u32, Vec<u8>) {
    assert_eq!(&png[..8], b"\x89PNG\r\n\x1a\n", "signature");
    let (mut pos, mut idat, mut ihdr, mut ended) = (8, Vec::new(), None, false);
    while pos < png.len() {
        let len = be32(&png[pos..]) as usize;
        let kind = &png[pos + 4..pos + 8];
        let data = &png[pos + 8..pos + 8 + len];
        let crc = be32(&png[pos + 8 + len..]);
        assert_eq!(crc, crc32(&png[pos + 4..pos + 8 + len]), "CRC of {kind:?}");
        match kind {
            b"IHDR" => ihdr = Some(data.to_vec()),
            b"IDAT" => idat.extend_from_slice(data),
            b"IEND" => ended = true,
            other => panic!("unexpected chunk {other:?}"),
        }
        pos += 12 + len;
    }
    assert!(ended && pos == png.len(), "IEND last");
    let ihdr = ihdr.expect("IHDR");
    let (w, h) = (be32(&ihdr), be32(&ihdr[4..]));
    assert_eq!(&ihdr[8..], &[8, 0, 0, 0, 0], "8-bit gray, no interlace");
    // zlib: CMF/FLG with a valid check, deflate, no dictionary.
    assert_eq!(idat[0] & 0x0f, 8);
    assert_eq!((u16::from(idat[0]) << 8 | u16::from(idat[1])) % 31, 0);
    assert_eq!(idat[1] & 0x20, 0);
    let (mut p, mut raw) = (2, Vec::new());
    loop {
        let header = idat[p];
        assert_eq!(header & 0b110, 0, "stored block");
        let len = u16::from_le_bytes([idat[p + 1], idat[p + 2]]);
        let nlen = u16::from_le_bytes([idat[p + 3], idat[p + 4]]);
        assert_eq!(len, !nlen);
        raw.extend_from_slice(&idat[p + 5..p + 5 + len as usize]);
        p += 5 + len as usize;
        if header & 1 == 1 {
            break;
        }
    }
    assert_eq!(be32(&idat[p..]), adler32(&raw), "Adler-32");
    assert_eq!(p + 4, idat.len());
    let stride = w as usize + 1;
    assert_eq!(
        raw.len(),
        stride * h as usize,
        "one filter byte + w pixels per row"
    );
    let mut pixels = Vec::with_capacity(w as usize * h as usize);
    for row in raw.chunks(stride) {
        assert_eq!(row[0], 0, "filter none");
        pixels.extend_from_slice(&row[1..]);
    }
    assert_eq!(pixels.len(), (w * h) as usize);
    (w, h, pixels)
}

#[test]
fn the_equity_png_decodes_and_draws_the_curve() {
    let data = universe(2024, 2_000);
    let report = backtest(&slices(&data), &NAMES, &config()).expect("runs");
    let curve = &report.equity;
    let (w, h) = (400_u32, 300_u32);
    let png = equity_png(curve, w, h);
    let (dw, dh, px) = decode(&png);
    assert_eq!((dw, dh), (w, h));
    // The documented mapping: column round(i·(w−1)/(n−1)), row round((hi−v)/(hi−lo)·(h−1)).
    let lo = curve.iter().copied().fold(f64::INFINITY, f64::min);
    let hi = curve.iter().copied().fold(f64::NEG_INFINITY, f64::max);
    let n = curve.len();
    for (i, &v) in curve.iter().enumerate().step_by(7) {
        let x = (i as f64 * f64::from(w - 1) / (n - 1) as f64).round() as usize;
        let y = ((hi - v) / (hi - lo) * f64::from(h - 1)).round() as usize;
        assert!(
            px[y * w as usize + x] < 64,
            "bar {i} at ({x}, {y}) is not dark"
        );
    }
    // A white background and a baseline at the start value.
    let white = px.iter().filter(|&&p| p == 255).count();
    assert!(white > px.len() / 2);
    let base_row = ((hi - curve[0]) / (hi - lo) * f64::from(h - 1)).round() as usize;
    let row = &px[base_row * w as usize..(base_row + 1) * w as usize];
    assert!(row.iter().all(|&p| p < 255), "baseline row");

    // Large images span several stored blocks; degenerate inputs still make valid PNGs.
    let (bw, bh, big) = decode(&equity_png(curve, 1_000, 200));
    assert_eq!((bw, bh, big.len()), (1_000, 200, 200_000));
    for (curve, w, h) in [
        (&[][..], 3, 2),
        (&[5.0][..], 1, 1),
        (&[f64::NAN, 1.0, 1.0][..], 0, 9),
    ] {
        let (dw, dh, px) = decode(&equity_png(curve, w, h));
        assert_eq!(px.len(), (dw * dh) as usize);
        assert_eq!((dw, dh), (w.max(1), h.max(1)));
    }
}
