//! Position sizing from a pair's walk-forward record, and the split of capital across pairs.
//!
//! **Per pair (fractional Kelly).** A pair's record holds the net return of each closed trade
//! (net PnL ÷ gross entry notional of both legs). With at least `min_trades` trades the pair's
//! fraction is [`kestrel_quant::kelly_fraction`]`(p, b)` with `p` = wins ÷ trades (a win is a net
//! return > 0) and `b` = average win ÷ average loss (magnitudes), scaled by `kelly_multiplier`
//! and capped at `per_pair_cap`; a record with no losses (or no wins) uses `b = 1`, where the
//! formula gives `2p − 1`. Fewer trades: `default_fraction` (capped the same way). The fraction
//! is of capital committed as gross notional: treating the whole notional as the stake is the
//! conservative reading (a spread trade rarely loses all of it).
//!
//! **Across pairs (return per unit of risk).** Each pair's score is its expected return per unit
//! of risk, `s = max(mean, 0) ÷ std` of its trade returns (a per-trade Sharpe ratio), when it has
//! `min_trades` trades and a non-zero spread of outcomes; a pair without such a record is scored
//! as the mean score of those with one (1 when none has). If the Kelly fractions `k` fit in
//! `total_cap`, each pair gets its `k`. Otherwise the total is water-filled by score:
//! `a_i = min(k_i, λ·s_i)` with `λ` chosen so that `Σ a_i = total_cap` (pro rata to `k` if every
//! score is 0). So no pair exceeds its Kelly fraction, the total never exceeds the cap, and
//! when capital is short it goes first to the best return per unit of risk.
//!
//! **At entry** a pair commits `min(a_i × base, total_cap × capital − open notional)`, where
//! `capital` is the initial capital plus realized PnL, `base` is the same (compounding) or the
//! initial capital ([`CapitalBase`]), and open notional is the gross entry notional of the
//! positions already open. With `total_cap ≤ 1` the open notional never exceeds the capital.

use kestrel_quant::{KellyConfig, kelly_fraction};

use super::error::{Problems, StatArbError};

/// What the per-pair fraction multiplies at entry.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub enum CapitalBase {
    /// Initial capital plus realized PnL: sizes compound.
    #[default]
    Realized,
    /// The initial capital: sizes do not depend on past PnL (still capped by the capital).
    Initial,
}

/// How positions are sized.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SizingConfig {
    /// Multiplier on the full Kelly fraction, e.g. 0.5 for half Kelly.
    pub kelly_multiplier: f64,
    /// Largest fraction of capital one pair commits.
    pub per_pair_cap: f64,
    /// Largest fraction of capital committed across all pairs (≤ 1: no leverage).
    pub total_cap: f64,
    /// The fraction of a pair with fewer than `min_trades` closed trades.
    pub default_fraction: f64,
    /// Closed trades a record needs before Kelly and the score use it (≥ 1).
    pub min_trades: usize,
    /// What the fraction multiplies.
    pub capital_base: CapitalBase,
}

impl Default for SizingConfig {
    fn default() -> Self {
        Self {
            kelly_multiplier: 0.5,
            per_pair_cap: 0.2,
            total_cap: 1.0,
            default_fraction: 0.05,
            min_trades: 10,
            capital_base: CapitalBase::Realized,
        }
    }
}

impl SizingConfig {
    /// Checks `0 ≤ kelly_multiplier ≤ 100`, `0 < total_cap ≤ 1`, `0 < per_pair_cap ≤ total_cap`,
    /// `0 ≤ default_fraction ≤ per_pair_cap`, `min_trades ≥ 1`; all reported together.
    pub fn validate(&self) -> Result<(), StatArbError> {
        let mut p = Problems::default();
        self.check(&mut p);
        p.finish()
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        p.check(
            (0.0..=100.0).contains(&self.kelly_multiplier),
            "sizing.kelly_multiplier",
            "must lie in [0, 100]",
        );
        p.check(
            self.total_cap > 0.0 && self.total_cap <= 1.0,
            "sizing.total_cap",
            "must lie in (0, 1]",
        );
        p.check(
            self.per_pair_cap > 0.0 && self.per_pair_cap <= self.total_cap,
            "sizing.per_pair_cap",
            "must lie in (0, total_cap]",
        );
        p.check(
            self.default_fraction >= 0.0 && self.default_fraction <= self.per_pair_cap,
            "sizing.default_fraction",
            "must lie in [0, per_pair_cap]",
        );
        p.check(self.min_trades >= 1, "sizing.min_trades", "must be ≥ 1");
    }
}

/// A pair's walk-forward record: running sums of its closed trades' net returns (constant size,
/// however long the backtest).
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct TradeRecord {
    /// Closed trades.
    pub trades: usize,
    /// Trades with a net return > 0.
    pub wins: usize,
    /// Trades with a net return < 0.
    pub losses: usize,
    /// Sum of the winning returns.
    pub sum_wins: f64,
    /// Sum of the losing returns' magnitudes.
    pub sum_losses: f64,
    /// Sum of all returns.
    pub sum: f64,
    /// Sum of squared returns.
    pub sum_sq: f64,
}

impl TradeRecord {
    /// Adds a closed trade's net return (net PnL ÷ gross entry notional); non-finite ignored.
    pub fn push(&mut self, ret: f64) {
        if !ret.is_finite() {
            return;
        }
        self.trades += 1;
        if ret > 0.0 {
            self.wins += 1;
            self.sum_wins += ret;
        } else if ret < 0.0 {
            self.losses += 1;
            self.sum_losses -= ret;
        }
        self.sum += ret;
        self.sum_sq += ret * ret;
    }

    /// Wins ÷ trades, `None` without trades.
    pub fn win_rate(&self) -> Option<f64> {
        (self.trades > 0).then(|| self.wins as f64 / self.trades as f64)
    }

    /// Average win ÷ average loss, `None` without both a win and a loss.
    pub fn payoff_ratio(&self) -> Option<f64> {
        (self.wins > 0 && self.losses > 0 && self.sum_losses > 0.0)
            .then(|| (self.sum_wins / self.wins as f64) / (self.sum_losses / self.losses as f64))
    }

    /// Mean and sample standard deviation of the returns, `None` below two trades.
    pub fn mean_std(&self) -> Option<(f64, f64)> {
        if self.trades < 2 {
            return None;
        }
        let n = self.trades as f64;
        let mean = self.sum / n;
        let var = ((self.sum_sq - n * mean * mean) / (n - 1.0)).max(0.0);
        Some((mean, var.sqrt()))
    }
}

/// The pair's fraction of capital by fractional Kelly (see the module docs).
pub fn pair_fraction(record: &TradeRecord, cfg: &SizingConfig) -> f64 {
    if record.trades < cfg.min_trades {
        return cfg.default_fraction.min(cfg.per_pair_cap);
    }
    let Some(p) = record.win_rate() else {
        return cfg.default_fraction.min(cfg.per_pair_cap);
    };
    let b = record.payoff_ratio().unwrap_or(1.0).clamp(1e-12, 1e12);
    let kelly = KellyConfig {
        fraction: cfg.kelly_multiplier,
        cap: cfg.per_pair_cap,
    };
    // The config is validated and p, b are in range, so this cannot fail; 0 is the safe answer.
    kelly_fraction(p, b, kelly).unwrap_or(0.0)
}

/// Expected return per unit of risk, `max(mean, 0) ÷ std`, `None` without a usable record.
pub fn pair_score(record: &TradeRecord, cfg: &SizingConfig) -> Option<f64> {
    if record.trades < cfg.min_trades {
        return None;
    }
    let (mean, std) = record.mean_std()?;
    let s = mean.max(0.0) / std;
    (std > 0.0 && s.is_finite()).then_some(s)
}

/// Fractions of capital for each pair (same order as `records`), by the module's rule: Kelly
/// per pair, water-filled by score when the total cap binds. `Σ result ≤ total_cap`, each
/// `result[i] ≤ pair_fraction(records[i])`.
pub fn allocate(records: &[TradeRecord], cfg: &SizingConfig) -> Vec<f64> {
    let kelly: Vec<f64> = records.iter().map(|r| pair_fraction(r, cfg)).collect();
    let total: f64 = kelly.iter().sum();
    if total <= cfg.total_cap {
        return kelly;
    }
    let known: Vec<Option<f64>> = records.iter().map(|r| pair_score(r, cfg)).collect();
    let scored: Vec<f64> = known.iter().flatten().copied().collect();
    let prior = if scored.is_empty() {
        1.0
    } else {
        scored.iter().sum::<f64>() / scored.len() as f64
    };
    let scores: Vec<f64> = known.iter().map(|s| s.unwrap_or(prior)).collect();
    let out = water_fill(&kelly, &scores, cfg.total_cap);
    debug_assert!(
        out.iter().sum::<f64>() <= cfg.total_cap * (1.0 + 1e-12),
        "Invariant: the allocation stays within the total cap"
    );
    out
}

/// `a_i = min(k_i, λ·s_i)` with `Σ a_i = cap` (`Σ k > cap` is the caller's precondition).
fn water_fill(kelly: &[f64], scores: &[f64], cap: f64) -> Vec<f64> {
    let mut order: Vec<usize> = (0..kelly.len()).filter(|&i| scores[i] > 0.0).collect();
    let mut score_left: f64 = order.iter().map(|&i| scores[i]).sum();
    let any_score = score_left > 0.0;
    if !any_score {
        let total: f64 = kelly.iter().sum();
        return kelly.iter().map(|k| k * cap / total).collect();
    }
    // Pairs saturate (reach their Kelly fraction) in order of the λ at which they do: k/s.
    order.sort_by(|&i, &j| (kelly[i] / scores[i]).total_cmp(&(kelly[j] / scores[j])));
    let mut out = vec![0.0; kelly.len()];
    let mut cap_left = cap;
    let mut rest = order.as_slice();
    while let Some((&i, tail)) = rest.split_first() {
        if kelly[i] / scores[i] > cap_left / score_left {
            break;
        }
        out[i] = kelly[i];
        cap_left -= kelly[i];
        score_left -= scores[i];
        rest = tail;
    }
    let lambda = if score_left > 0.0 {
        cap_left / score_left
    } else {
        0.0
    };
    for &i in rest {
        out[i] = (lambda * scores[i]).min(kelly[i]).max(0.0);
    }
    out
}

/// Gross notional a pair may commit at entry: `min(fraction × base, total_cap × capital − open)`,
/// never negative; 0 when the capital is gone.
pub fn entry_notional(
    fraction: f64,
    base: f64,
    capital: f64,
    open_notional: f64,
    total_cap: f64,
) -> f64 {
    let solvent = capital > 0.0;
    if !solvent {
        return 0.0;
    }
    let n = (fraction * base).min(total_cap * capital - open_notional);
    if n.is_finite() { n.max(0.0) } else { 0.0 }
}
