//! Pair selection on a training window, and the diff between two selections.
//!
//! From a [`kestrel_quant::scan()`] of the window (every pair `i < j`, `i` regressed on `j`), a
//! pair is kept when, in this order: the test ran; its p-value is `≤ max_p_value`; its hedge
//! ratio is positive (so the legs have opposite signs); the training spread
//! `a − β·b − c` mean-reverts with a half-life in `[min_half_life_bars, max_half_life_bars]`;
//! and the demeaned spread crosses zero at least `min_zero_crossings` times. The first rule a
//! pair fails is its [`RejectReason`]. Survivors are ranked by the ADF statistic (most negative
//! first; the same order as the p-value but without its saturation at 0), then by shorter
//! half-life, then by index; the top `top_k` are selected and the rest are `OutRanked`.

use std::num::NonZeroUsize;

use kestrel_quant::{
    CointOptions, PairResult, QuantError, ScanOptions, Trend, half_life, scan, zero_crossings,
};

use super::error::{Problems, StatArbError};
use super::signal::PairModel;

/// Most pairs a selection may keep.
pub const MAX_TOP_K: usize = 256;

/// A pair of series by index: `a` regressed on `b`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PairId {
    /// The dependent series.
    pub a: usize,
    /// The regressor series.
    pub b: usize,
}

/// The rules of [`select_pairs`].
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SelectionConfig {
    /// Largest Engle-Granger p-value kept.
    pub max_p_value: f64,
    /// Shortest half-life kept, bars (too fast is noise the fees eat).
    pub min_half_life_bars: f64,
    /// Longest half-life kept, bars (too slow ties capital up).
    pub max_half_life_bars: f64,
    /// Fewest zero crossings of the demeaned training spread.
    pub min_zero_crossings: usize,
    /// Pairs kept after ranking (1..=[`MAX_TOP_K`]).
    pub top_k: usize,
    /// Engle-Granger options; the trend must be `n` or `c`, since the traded spread is
    /// `a − β·b − c` with no time trend.
    pub coint: CointOptions,
}

impl Default for SelectionConfig {
    fn default() -> Self {
        Self {
            max_p_value: 0.05,
            min_half_life_bars: 2.0,
            max_half_life_bars: 100.0,
            min_zero_crossings: 12,
            top_k: 5,
            coint: CointOptions::default(),
        }
    }
}

impl SelectionConfig {
    /// Checks `0 ≤ max_p_value ≤ 1`, `0 < min ≤ max` half-life (finite), `1 ≤ top_k ≤ MAX_TOP_K`
    /// and a trend of `n` or `c`; all reported together.
    pub fn validate(&self) -> Result<(), StatArbError> {
        let mut p = Problems::default();
        self.check(&mut p);
        p.finish()
    }

    pub(crate) fn check(&self, p: &mut Problems) {
        p.check(
            (0.0..=1.0).contains(&self.max_p_value),
            "selection.max_p_value",
            "must lie in [0, 1]",
        );
        p.check(
            self.min_half_life_bars > 0.0 && self.min_half_life_bars.is_finite(),
            "selection.min_half_life_bars",
            "must be finite and positive",
        );
        p.check(
            self.max_half_life_bars >= self.min_half_life_bars
                && self.max_half_life_bars.is_finite(),
            "selection.max_half_life_bars",
            "must be finite and ≥ min_half_life_bars",
        );
        p.check(
            (1..=MAX_TOP_K).contains(&self.top_k),
            "selection.top_k",
            "must lie in 1..=256",
        );
        p.check(
            matches!(self.coint.trend, Trend::N | Trend::C),
            "selection.coint.trend",
            "must be \"n\" or \"c\" (the traded spread has no time trend)",
        );
    }
}

/// A pair that passed every rule, with what the trading rules need.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct SelectedPair {
    /// Which pair.
    pub id: PairId,
    /// Hedge ratio, intercept and half-life fitted on the training window.
    pub model: PairModel,
    /// Engle-Granger p-value.
    pub p_value: f64,
    /// ADF statistic of the training spread (the ranking key).
    pub t_stat: f64,
    /// Zero crossings of the demeaned training spread.
    pub zero_crossings: usize,
}

/// Why a pair was not selected (and, in a [`SelectionDiff`], why a selected pair was dropped).
#[derive(Clone, Copy, Debug, PartialEq)]
pub enum RejectReason {
    /// The test or a spread statistic could not be computed.
    Failed(QuantError),
    /// Lost (or never had) cointegration: p-value above the limit.
    NotCointegrated {
        /// The p-value.
        p_value: f64,
    },
    /// A hedge ratio `≤ 0`: both legs would have the same sign.
    NonPositiveHedge {
        /// The hedge ratio.
        hedge_ratio: f64,
    },
    /// The spread does not mean-revert (λ ≥ 0: no half-life).
    NoMeanReversion,
    /// The half-life is outside `[min_half_life_bars, max_half_life_bars]`.
    HalfLifeOutOfRange {
        /// The half-life, bars.
        bars: f64,
    },
    /// Too few zero crossings.
    TooFewCrossings {
        /// The crossings counted.
        crossings: usize,
    },
    /// The scan had no result for the pair (a diff against a selection from other series).
    NotTested,
    /// Passed every rule but ranked below `top_k`.
    OutRanked {
        /// Its rank (0 = best).
        rank: usize,
    },
}

impl RejectReason {
    /// A short lowercase word for the journal.
    pub const fn name(&self) -> &'static str {
        match self {
            RejectReason::Failed(_) => "failed",
            RejectReason::NotCointegrated { .. } => "p_value",
            RejectReason::NonPositiveHedge { .. } => "hedge_ratio",
            RejectReason::NoMeanReversion => "no_mean_reversion",
            RejectReason::HalfLifeOutOfRange { .. } => "half_life",
            RejectReason::TooFewCrossings { .. } => "crossings",
            RejectReason::NotTested => "not_tested",
            RejectReason::OutRanked { .. } => "outranked",
        }
    }
}

/// The outcome of a selection: the kept pairs, best first, and every other pair with its reason.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct Selection {
    /// At most `top_k` pairs, best first.
    pub selected: Vec<SelectedPair>,
    /// Every other tested pair, in scan order.
    pub rejected: Vec<(PairId, RejectReason)>,
}

/// A pair that left the selection, and why.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Dropped {
    /// Which pair.
    pub id: PairId,
    /// The rule it failed on the new window.
    pub reason: RejectReason,
}

/// What changed from one selection to the next, as data a caller journals.
#[derive(Clone, Debug, Default, PartialEq)]
pub struct SelectionDiff {
    /// Selected now, not before (in the new ranking's order).
    pub added: Vec<PairId>,
    /// Selected before and now.
    pub kept: Vec<PairId>,
    /// Selected before, not now, with the reason.
    pub dropped: Vec<Dropped>,
}

impl Selection {
    /// Whether `id` is selected.
    pub fn contains(&self, id: PairId) -> bool {
        self.selected.iter().any(|p| p.id == id)
    }

    /// The diff from `self` (the previous selection) to `next`.
    pub fn diff(&self, next: &Selection) -> SelectionDiff {
        let mut d = SelectionDiff::default();
        for p in &next.selected {
            if self.contains(p.id) {
                d.kept.push(p.id);
            } else {
                d.added.push(p.id);
            }
        }
        for p in self.selected.iter().filter(|p| !next.contains(p.id)) {
            let reason = next
                .rejected
                .iter()
                .find(|(id, _)| *id == p.id)
                .map_or(RejectReason::NotTested, |(_, r)| *r);
            d.dropped.push(Dropped { id: p.id, reason });
        }
        d
    }

    /// The diff from nothing: every selected pair is added.
    pub fn diff_from_empty(&self) -> SelectionDiff {
        Selection::default().diff(self)
    }
}

/// Scans `series` (one training window, aligned) on one thread and selects pairs by `cfg`.
pub fn select_pairs(series: &[&[f64]], cfg: &SelectionConfig) -> Result<Selection, StatArbError> {
    cfg.validate()?;
    let opts = ScanOptions {
        coint: cfg.coint,
        // The strategies crate runs no threads of its own: the backtest is sequential and
        // deterministic; callers that want a parallel scan run it and call `select_from_scan`.
        threads: Some(NonZeroUsize::MIN),
        progress: None,
    };
    let results = scan(series, &opts);
    Ok(select_from_scan(series, &results, cfg))
}

/// Selects from a scan already run on `series` (the same slices, same order). `cfg` should be
/// validated; an invalid one selects nothing it would not.
pub fn select_from_scan(
    series: &[&[f64]],
    results: &[PairResult],
    cfg: &SelectionConfig,
) -> Selection {
    let mut passed = Vec::new();
    let mut rejected = Vec::new();
    for r in results {
        let id = PairId { a: r.i, b: r.j };
        match judge(series, r, cfg) {
            Ok(p) => passed.push(p),
            Err(reason) => rejected.push((id, reason)),
        }
    }
    passed.sort_by(|x, y| {
        x.t_stat
            .total_cmp(&y.t_stat)
            .then(x.model.half_life_bars.total_cmp(&y.model.half_life_bars))
            .then(x.id.cmp(&y.id))
    });
    let top_k = cfg.top_k.min(MAX_TOP_K);
    for (rank, p) in passed.iter().enumerate().skip(top_k) {
        rejected.push((p.id, RejectReason::OutRanked { rank }));
    }
    passed.truncate(top_k);
    Selection {
        selected: passed,
        rejected,
    }
}

/// Applies the rules to one scanned pair.
fn judge(
    series: &[&[f64]],
    r: &PairResult,
    cfg: &SelectionConfig,
) -> Result<SelectedPair, RejectReason> {
    let test = r.outcome.map_err(RejectReason::Failed)?;
    // Written so that a NaN p-value is rejected too.
    let cointegrated = test.p_value <= cfg.max_p_value;
    if !cointegrated {
        return Err(RejectReason::NotCointegrated {
            p_value: test.p_value,
        });
    }
    if !(test.hedge_ratio > 0.0 && test.hedge_ratio.is_finite()) {
        return Err(RejectReason::NonPositiveHedge {
            hedge_ratio: test.hedge_ratio,
        });
    }
    let (Some(a), Some(b)) = (series.get(r.i), series.get(r.j)) else {
        return Err(RejectReason::Failed(QuantError::InvalidArgument(
            "scan result names a series that is not there",
        )));
    };
    let mut model = PairModel {
        hedge_ratio: test.hedge_ratio,
        intercept: test.intercept,
        half_life_bars: f64::NAN,
    };
    let spread: Vec<f64> = a
        .iter()
        .zip(*b)
        .map(|(&x, &y)| model.spread(x, y))
        .collect();
    let hl = half_life(&spread).map_err(RejectReason::Failed)?;
    let bars = hl.bars.ok_or(RejectReason::NoMeanReversion)?;
    if !(bars >= cfg.min_half_life_bars && bars <= cfg.max_half_life_bars) {
        return Err(RejectReason::HalfLifeOutOfRange { bars });
    }
    let crossings = zero_crossings(&spread).map_err(RejectReason::Failed)?;
    if crossings < cfg.min_zero_crossings {
        return Err(RejectReason::TooFewCrossings { crossings });
    }
    model.half_life_bars = bars;
    Ok(SelectedPair {
        id: PairId { a: r.i, b: r.j },
        model,
        p_value: test.p_value,
        t_stat: test.t_stat,
        zero_crossings: crossings,
    })
}
