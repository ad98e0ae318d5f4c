//! Trading rules for one selected pair: the spread, its trailing z-score, and the state machine
//! that turns one bar at a time into enter / exit / hold.
//!
//! The pair is `a` regressed on `b`: spread `s_t = a_t − β·b_t − c`. The z-score of `s_t` is taken
//! over the trailing window `s_{t−w+1..=t}` (the window includes `s_t`, sample standard deviation
//! with ddof = 1, as [`kestrel_quant::rolling_zscore`]), so a decision at bar `t` reads only bars
//! `≤ t`. The window is `clamp(round(half_lives × h), min_bars, max_bars)`.

use super::error::{Problems, StatArbError};

/// Longest z-score window any config may ask for, bars (the ring is allocated once).
pub const MAX_Z_WINDOW: usize = 10_000;

/// The fitted relation of a pair: `a` regressed on `b` over a training window.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct PairModel {
    /// β: units of `b` per unit of `a`.
    pub hedge_ratio: f64,
    /// c: the regression's constant.
    pub intercept: f64,
    /// Half-life of mean reversion of the training spread, bars.
    pub half_life_bars: f64,
}

impl PairModel {
    /// `a − β·b − c`.
    pub fn spread(&self, a: f64, b: f64) -> f64 {
        a - self.hedge_ratio * b - self.intercept
    }
}

/// How long the z-score window is, as a multiple of the pair's half-life, bounded.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct ZWindow {
    /// Window = this many half-lives (rounded), before the bounds.
    pub half_lives: f64,
    /// Shortest window, bars (≥ 2: the deviation needs two values).
    pub min_bars: usize,
    /// Longest window, bars (≤ [`MAX_Z_WINDOW`]).
    pub max_bars: usize,
}

/// Thresholds of the trading rules, in z units, and the holding limit.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SignalConfig {
    /// Enter when `|z| ≥ entry_z` (short the spread above, long below).
    pub entry_z: f64,
    /// Exit when the position's z is back within `exit_z` of the mean, or beyond it.
    pub exit_z: f64,
    /// Stop out when `|z| ≥ stop_z` against the position; no entry at or beyond it either.
    pub stop_z: f64,
    /// Close after `ceil(max_hold_half_lives × h)` bars held.
    pub max_hold_half_lives: f64,
    /// The z-score window.
    pub window: ZWindow,
}

impl Default for SignalConfig {
    fn default() -> Self {
        Self {
            entry_z: 2.0,
            exit_z: 0.5,
            stop_z: 4.0,
            max_hold_half_lives: 4.0,
            window: ZWindow {
                half_lives: 4.0,
                min_bars: 20,
                max_bars: 400,
            },
        }
    }
}

impl SignalConfig {
    /// Every rule the thresholds must satisfy: `0 ≤ exit < entry < stop`, all finite; a positive
    /// finite holding limit; `2 ≤ min_bars ≤ max_bars ≤ MAX_Z_WINDOW` and a positive multiple.
    pub fn validate(&self) -> Result<(), StatArbError> {
        let mut p = Problems::default();
        self.check(&mut p);
        p.finish()
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        let finite = self.entry_z.is_finite() && self.exit_z.is_finite() && self.stop_z.is_finite();
        p.check(
            finite,
            "signal",
            "entry_z, exit_z and stop_z must be finite",
        );
        p.check(self.exit_z >= 0.0, "signal.exit_z", "must be ≥ 0");
        p.check(
            self.exit_z < self.entry_z,
            "signal.entry_z",
            "must exceed exit_z",
        );
        p.check(
            self.entry_z < self.stop_z,
            "signal.stop_z",
            "must exceed entry_z",
        );
        p.check(
            self.max_hold_half_lives > 0.0 && self.max_hold_half_lives <= 1e6,
            "signal.max_hold_half_lives",
            "must lie in (0, 1e6]",
        );
        let w = &self.window;
        p.check(
            w.half_lives > 0.0 && w.half_lives <= 1e6,
            "signal.window.half_lives",
            "must lie in (0, 1e6]",
        );
        p.check(w.min_bars >= 2, "signal.window.min_bars", "must be ≥ 2");
        p.check(
            w.min_bars <= w.max_bars,
            "signal.window.max_bars",
            "must be ≥ min_bars",
        );
        p.check(
            w.max_bars <= MAX_Z_WINDOW,
            "signal.window.max_bars",
            "must be ≤ MAX_Z_WINDOW (10000)",
        );
    }

    /// The z-score window for a pair with this half-life, bars.
    pub fn window_bars(&self, half_life_bars: f64) -> usize {
        let w = (self.window.half_lives * half_life_bars).round();
        // `as` saturates (NaN → 0), and the clamp then applies the bounds.
        (w as usize).clamp(self.window.min_bars, self.window.max_bars)
    }

    /// Bars after which a position is closed regardless of z (at least 1).
    pub fn max_hold_bars(&self, half_life_bars: f64) -> usize {
        ((self.max_hold_half_lives * half_life_bars).ceil() as usize).max(1)
    }
}

/// Which way a position holds the spread.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum SpreadSide {
    /// Long the spread: buy `a`, sell β `b` (entered when z is low).
    Long,
    /// Short the spread: sell `a`, buy β `b` (entered when z is high).
    Short,
}

impl SpreadSide {
    /// `"long"` or `"short"`, as the journal stores it.
    pub const fn name(self) -> &'static str {
        match self {
            Self::Long => "long",
            Self::Short => "short",
        }
    }

    /// +1 for long, −1 for short: the sign of the `a` leg.
    pub fn sign(self) -> f64 {
        match self {
            Self::Long => 1.0,
            Self::Short => -1.0,
        }
    }
}

/// Why a position was closed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum ExitReason {
    /// `|z| ≤ exit_z`: the spread reverted.
    Reverted,
    /// The spread went through its mean, beyond `exit_z` on the other side.
    CrossedMean,
    /// `|z| ≥ stop_z` against the position.
    StopLoss,
    /// Held for `max_hold_half_lives × h` bars.
    MaxHold,
    /// The test window ended (the backtest closes every position there).
    WindowEnd,
    /// The pair left the selection (a live lane's re-scan dropped it).
    Deselected,
    /// The hedge leg of an entry filled nothing: the first leg is unwound at once.
    Unhedged,
}

impl ExitReason {
    /// The reason's lowercase name, as the journal stores it.
    pub const fn name(self) -> &'static str {
        match self {
            ExitReason::Reverted => "reverted",
            ExitReason::CrossedMean => "crossed_mean",
            ExitReason::StopLoss => "stop_loss",
            ExitReason::MaxHold => "max_hold",
            ExitReason::WindowEnd => "window_end",
            ExitReason::Deselected => "deselected",
            ExitReason::Unhedged => "unhedged",
        }
    }
}

/// What a pair does at one bar.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum Action {
    /// Nothing changes.
    Hold,
    /// Open a position on this side.
    Enter {
        /// The side.
        side: SpreadSide,
    },
    /// Close the open position.
    Exit {
        /// Why.
        reason: ExitReason,
    },
}

/// Signed units of the two legs of a position.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Legs {
    /// Units of `a` (positive = long).
    pub a: f64,
    /// Units of `b`: `−β` times the `a` leg.
    pub b: f64,
}

/// The legs of a position of `units_a` units of `a` on `side`: `±units_a` of `a` and `∓β·units_a`
/// of `b` (opposite signs for a positive hedge ratio).
pub fn legs(side: SpreadSide, units_a: f64, hedge_ratio: f64) -> Legs {
    let a = side.sign() * units_a;
    Legs {
        a,
        b: -hedge_ratio * a,
    }
}

/// Where the state machine is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Phase {
    /// No position. `armed` is false after a stop or a timeout until `|z|` is back below
    /// `entry_z`, so a blown-out spread is not re-entered on the next bar.
    Flat { armed: bool },
    /// A position, held for `bars` bars since the entry bar.
    Open { side: SpreadSide, bars: usize },
}

/// The trading rules of one pair as a state machine fed one bar at a time.
///
/// Flat and armed: enter short when `entry_z ≤ z < stop_z`, long when `−stop_z < z ≤ −entry_z`.
/// Open, with `u = z` for a short and `u = −z` for a long (u > 0: away from the mean on the
/// position's losing side): `u ≥ stop_z` → stop; `u < −exit_z` → crossed the mean; `|u| ≤ exit_z`
/// → reverted; held `≥ max_hold` bars → timeout; else hold. While the window is not full or is
/// constant there is no z: flat stays flat, open positions only time out.
#[derive(Clone, Debug)]
pub struct PairState {
    model: PairModel,
    entry_z: f64,
    exit_z: f64,
    stop_z: f64,
    max_hold_bars: usize,
    /// The last `window` spreads (a ring, allocated once at `window` capacity).
    ring: Vec<f64>,
    window: usize,
    next: usize,
    phase: Phase,
    z: Option<f64>,
}

impl PairState {
    /// A flat, armed state for `model` with `cfg`'s rules; errors on an invalid config or a
    /// half-life that is not finite and positive.
    pub fn new(model: PairModel, cfg: &SignalConfig) -> Result<PairState, StatArbError> {
        let mut p = Problems::default();
        cfg.check(&mut p);
        let hl = model.half_life_bars;
        p.check(
            hl.is_finite() && hl > 0.0,
            "model.half_life_bars",
            "must be finite and positive",
        );
        p.check(
            model.hedge_ratio.is_finite() && model.intercept.is_finite(),
            "model",
            "hedge_ratio and intercept must be finite",
        );
        p.finish()?;
        let window = cfg.window_bars(hl);
        Ok(PairState {
            model,
            entry_z: cfg.entry_z,
            exit_z: cfg.exit_z,
            stop_z: cfg.stop_z,
            max_hold_bars: cfg.max_hold_bars(hl),
            ring: Vec::with_capacity(window),
            window,
            next: 0,
            phase: Phase::Flat { armed: true },
            z: None,
        })
    }

    /// The pair's model.
    pub fn model(&self) -> &PairModel {
        &self.model
    }

    /// The z-score window, bars.
    pub fn window(&self) -> usize {
        self.window
    }

    /// Bars after which a position times out.
    pub fn max_hold_bars(&self) -> usize {
        self.max_hold_bars
    }

    /// The z-score at the last bar fed, `None` before the window fills or when it is constant.
    pub fn z(&self) -> Option<f64> {
        self.z
    }

    /// The open position's side, if any.
    pub fn position(&self) -> Option<SpreadSide> {
        match self.phase {
            Phase::Open { side, .. } => Some(side),
            Phase::Flat { .. } => None,
        }
    }

    /// Feeds a past bar's prices into the window without deciding (history before trading).
    pub fn warm_up(&mut self, a: f64, b: f64) {
        self.push(self.model.spread(a, b));
    }

    /// Feeds bar `t`'s prices and returns the action at `t`, which reads only bars `≤ t`.
    pub fn on_bar(&mut self, a: f64, b: f64) -> Action {
        self.push(self.model.spread(a, b));
        let action = match self.phase {
            Phase::Flat { armed } => self.flat(armed),
            Phase::Open { side, bars } => self.open(side, bars + 1),
        };
        self.apply(action);
        action
    }

    /// Undoes an entry the caller could not fill (no capital): back to flat and armed.
    pub fn cancel_entry(&mut self) {
        if let Phase::Open { bars: 0, .. } = self.phase {
            self.phase = Phase::Flat { armed: true };
        }
    }

    /// Takes over a position opened earlier (by a lane before its restart): open on `side`,
    /// held `bars` bars so far. The holding limit counts on from there.
    pub fn resume(&mut self, side: SpreadSide, bars: usize) {
        self.phase = Phase::Open { side, bars };
    }

    /// Closes any open position for a reason outside the rules (the window ended).
    pub fn force_exit(&mut self, reason: ExitReason) -> Option<Action> {
        self.position()?;
        let action = Action::Exit { reason };
        self.apply(action);
        Some(action)
    }

    fn flat(&mut self, armed: bool) -> Action {
        let Some(z) = self.z else {
            return Action::Hold;
        };
        if !armed {
            if z.abs() < self.entry_z {
                self.phase = Phase::Flat { armed: true };
            }
            return Action::Hold;
        }
        if z >= self.entry_z && z < self.stop_z {
            Action::Enter {
                side: SpreadSide::Short,
            }
        } else if z <= -self.entry_z && z > -self.stop_z {
            Action::Enter {
                side: SpreadSide::Long,
            }
        } else {
            Action::Hold
        }
    }

    fn open(&mut self, side: SpreadSide, bars: usize) -> Action {
        self.phase = Phase::Open { side, bars };
        let timed_out = bars >= self.max_hold_bars;
        let Some(z) = self.z else {
            return if timed_out {
                Action::Exit {
                    reason: ExitReason::MaxHold,
                }
            } else {
                Action::Hold
            };
        };
        let u = -side.sign() * z;
        let reason = if u >= self.stop_z {
            ExitReason::StopLoss
        } else if u < -self.exit_z {
            ExitReason::CrossedMean
        } else if u.abs() <= self.exit_z {
            ExitReason::Reverted
        } else if timed_out {
            ExitReason::MaxHold
        } else {
            return Action::Hold;
        };
        Action::Exit { reason }
    }

    fn apply(&mut self, action: Action) {
        match action {
            Action::Hold => {}
            Action::Enter { side } => self.phase = Phase::Open { side, bars: 0 },
            Action::Exit { reason } => {
                let armed = !matches!(reason, ExitReason::StopLoss | ExitReason::MaxHold);
                self.phase = Phase::Flat { armed };
            }
        }
    }

    /// Appends a spread to the ring and recomputes z over the full window.
    fn push(&mut self, s: f64) {
        if self.ring.len() < self.window {
            self.ring.push(s);
        } else {
            self.ring[self.next] = s;
        }
        self.next = (self.next + 1) % self.window;
        self.z = zscore(&self.ring, s, self.window);
    }
}

/// `(last − mean)/std` (ddof = 1) of a full window, by two passes so it is exact to rounding and
/// free of drift; `None` while the window is not full, when it is constant or not finite.
fn zscore(ring: &[f64], last: f64, window: usize) -> Option<f64> {
    if ring.len() < window || ring.iter().all(|&v| v == last) {
        return None;
    }
    let n = ring.len() as f64;
    let mean = ring.iter().sum::<f64>() / n;
    let m2: f64 = ring.iter().map(|v| (v - mean) * (v - mean)).sum();
    let z = (last - mean) / (m2 / (n - 1.0)).sqrt();
    z.is_finite().then_some(z)
}
