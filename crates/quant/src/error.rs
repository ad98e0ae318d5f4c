//! The one error type of the crate. Every public function validates its input and reports a
//! `QuantError` instead of panicking or returning a silently wrong number.

use crate::Trend;

/// Why a statistic could not be computed. Small and `Copy`, so the pair scan can store one per
/// pair. None of these is retryable: the same input always gives the same error.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum QuantError {
    /// The sample is too short for the requested regression (including its lags).
    #[error("too few observations: got {got}, need at least {needed}")]
    TooFewObservations {
        /// Observations supplied.
        got: usize,
        /// Observations the computation needs.
        needed: usize,
    },
    /// Two series that must be aligned bar for bar have different lengths.
    #[error("series lengths differ: {left} vs {right}")]
    LengthMismatch {
        /// Length of the first series.
        left: usize,
        /// Length of the second series.
        right: usize,
    },
    /// A NaN or infinite value in the input.
    #[error("non-finite value at index {index}")]
    NonFinite {
        /// Position of the first offending value.
        index: usize,
    },
    /// The series takes a single value, so it carries no information (and would make the
    /// design singular).
    #[error("series is constant")]
    ConstantSeries,
    /// The regressors are (numerically) linearly dependent. statsmodels would fall back to a
    /// pseudo-inverse with reduced rank; this crate refuses instead.
    #[error("regressors are collinear (design matrix numerically singular)")]
    Singular,
    /// The regression fits exactly (zero residual variance), so the t-statistic is undefined.
    #[error("regression fits exactly; the test statistic is undefined")]
    PerfectFit,
    /// Intermediate sums overflowed `f64`: the inputs are too large in magnitude (around
    /// 1e150 and beyond) for the statistic to be computed.
    #[error("intermediate values overflowed f64; inputs too large in magnitude")]
    Overflow,
    /// An explicit ADF `maxlag` above statsmodels' limit `nobs/2 - 1 - deterministic terms`.
    #[error("maxlag {maxlag} exceeds the limit {limit} (nobs/2 - 1 - deterministic terms)")]
    MaxLagTooLarge {
        /// The lag requested.
        maxlag: usize,
        /// The largest lag the sample allows.
        limit: usize,
    },
    /// MacKinnon's tables do not cover this number of variables with this trend.
    #[error("no MacKinnon table for {n_vars} variable(s) with trend \"{trend}\"")]
    NoTable {
        /// Number of I(1) variables asked for.
        n_vars: usize,
        /// Deterministic terms asked for.
        trend: Trend,
    },
    /// A scalar argument outside its domain (the message names it).
    #[error("invalid argument: {0}")]
    InvalidArgument(&'static str),
}

/// Returns the index of the first non-finite value, if any.
pub(crate) fn check_finite(x: &[f64]) -> Result<(), QuantError> {
    match x.iter().position(|v| !v.is_finite()) {
        Some(index) => Err(QuantError::NonFinite { index }),
        None => Ok(()),
    }
}

/// Rejects a series whose values are all equal (statsmodels' `x.max() == x.min()`).
pub(crate) fn check_not_constant(x: &[f64]) -> Result<(), QuantError> {
    match x.first() {
        Some(&first) if x.iter().any(|&v| v != first) => Ok(()),
        _ => Err(QuantError::ConstantSeries),
    }
}
