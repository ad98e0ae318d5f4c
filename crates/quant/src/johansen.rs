//! Johansen's cointegration rank tests (trace and maximum eigenvalue) for baskets of 2 to 12
//! series, computing what statsmodels' `coint_johansen` computes, number for number.
//!
//! Why: a stat-arb basket is tradable when some linear combination of its (log) prices is
//! stationary. Engle-Granger finds at most one such combination and depends on which series is
//! the regressand; Johansen's reduced-rank regression counts all of them (the cointegration
//! rank) and returns them as eigenvectors, symmetric in the series. Issue 5 needs baskets of up
//! to 4 assets; the critical-value tables reach 12.
//!
//! # What is computed (statsmodels 0.15 `statsmodels.tsa.vector_ar.vecm.coint_johansen`)
//!
//! With `n` observations of `m` series, `k = k_ar_diff` and `T = n - 1 - k`:
//! 1. The levels are detrended by `det_order`: `-1` leaves them, `0` removes the mean, `1`
//!    removes an OLS fit on a constant and a linear trend.
//! 2. `Δy` is the first difference of those detrended levels; the regressors `Z` are its lags
//!    `1..=k` of every series, rows `k..n-1`.
//! 3. For `det_order ≥ 0` the regressors, the differences `Δy[k..]` and the lagged levels are
//!    then demeaned (only demeaned, even for `det_order = 1`).
//! 4. `R0` and `Rk` are the least-squares residuals of `Δy[k..]` and of the levels on `Z`;
//!    `S00 = R0ᵀR0/T`, `Skk = RkᵀRk/T`, `Sk0 = RkᵀR0/T`.
//! 5. The eigenvalues `λ` solve `|λ Skk - Sk0 S00⁻¹ Sk0ᵀ| = 0`; the eigenvectors are scaled so
//!    that `vᵀ Skk v = 1`. Trace: `lr1[i] = -T Σ_{j≥i} ln(1-λ_j)`; max-eig:
//!    `lr2[i] = -T ln(1-λ_i)`.
//!
//! **Level alignment, as statsmodels has it:** the "lagged" levels are rows `1..=n-1-k` of the
//! detrended levels, i.e. `y_{t-k}` against `Δy_t`. For `k ≥ 1` this is Johansen's long-run
//! form and gives the same statistics as `y_{t-1}`; for `k = 0` it pairs `Δy_t` with the
//! contemporaneous `y_t`, so `k_ar_diff = 0` does not equal the textbook VECM without lags.
//! This module reproduces statsmodels, not the textbook.
//!
//! # Numerics
//!
//! Each column is first scaled by a power of two (exact) so that sums of squares cannot
//! overflow; the eigenvectors are scaled back. Residuals come from a Householder QR of `Z`,
//! the generalized symmetric eigenproblem is reduced with the Cholesky factors
//! `Skk = LLᵀ`, `S00 = MMᵀ` to the standard symmetric problem for `W Wᵀ`, `W = L⁻¹ Sk0 M⁻ᵀ`,
//! solved by cyclic Jacobi. Eigenvector `j` is `L⁻ᵀ u_j`, signed so its first non-zero entry
//! is positive (statsmodels flips the whole matrix so that entry `[0][0]` is positive and
//! leaves the other columns' signs to LAPACK).

mod linalg;
mod tables;

use linalg::{Mat, RankDeficient};

/// Fewest series the test accepts.
pub const MIN_VARIABLES: usize = 2;
/// Most series the test accepts: the critical-value tables end at 12.
pub const MAX_VARIABLES: usize = 12;

/// A confidence level of the critical-value tables; the index of a `[f64; 3]` row of
/// [`Johansen::cvt`] and [`Johansen::cvm`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Confidence {
    /// 90 % (10 % significance): column 0.
    P90,
    /// 95 % (5 % significance): column 1.
    P95,
    /// 99 % (1 % significance): column 2.
    P99,
}

impl Confidence {
    /// The column of this level in a critical-value row.
    pub fn index(self) -> usize {
        match self {
            Self::P90 => 0,
            Self::P95 => 1,
            Self::P99 => 2,
        }
    }
}

/// The result of [`coint_johansen`]: the numbers of statsmodels' `JohansenTestResult` (`eig`,
/// `evec`, `lr1`, `lr2`, `cvt`, `cvm`) plus the ranks its `select_coint_rank` would choose.
#[derive(Debug, Clone, PartialEq)]
pub struct Johansen {
    /// `T`, the rows of the auxiliary regressions: the series length minus `1 + k_ar_diff`.
    pub nobs: usize,
    /// The eigenvalues (squared canonical correlations), descending (statsmodels `eig`).
    pub eigenvalues: Vec<f64>,
    /// `eigenvectors[j]` belongs to `eigenvalues[j]`; entry `i` weighs series `i`
    /// (statsmodels `evec[i, j]`). Scaled so that `vᵀ Skk v = 1`, first non-zero entry positive.
    /// The first `r` of them are the cointegrating vectors under rank `r`.
    pub eigenvectors: Vec<Vec<f64>>,
    /// Trace statistics: `lr1[r]` tests rank `≤ r` against rank `m`.
    pub lr1: Vec<f64>,
    /// Maximum-eigenvalue statistics: `lr2[r]` tests rank `r` against rank `r + 1`.
    pub lr2: Vec<f64>,
    /// Critical values of `lr1[r]`, `[90 %, 95 %, 99 %]` (statsmodels `cvt`).
    pub cvt: Vec<[f64; 3]>,
    /// Critical values of `lr2[r]`, `[90 %, 95 %, 99 %]` (statsmodels `cvm`).
    pub cvm: Vec<[f64; 3]>,
    /// The cointegration rank the trace test selects at 95 % (see [`Johansen::rank_trace`]).
    pub rank_trace_95: usize,
    /// The cointegration rank the max-eigenvalue test selects at 95 %.
    pub rank_max_eig_95: usize,
}

impl Johansen {
    /// The rank selected by sequential trace tests at `level`: the first `r` whose statistic
    /// is below its critical value, or `m` if every null is rejected (statsmodels
    /// `select_coint_rank(method="trace")`).
    pub fn rank_trace(&self, level: Confidence) -> usize {
        select_rank(&self.lr1, &self.cvt, level)
    }

    /// The rank selected by sequential max-eigenvalue tests at `level` (statsmodels
    /// `select_coint_rank(method="maxeig")`).
    pub fn rank_max_eig(&self, level: Confidence) -> usize {
        select_rank(&self.lr2, &self.cvm, level)
    }
}

fn select_rank(stats: &[f64], crit: &[[f64; 3]], level: Confidence) -> usize {
    stats
        .iter()
        .zip(crit)
        .position(|(stat, row)| *stat < row[level.index()])
        .unwrap_or(stats.len())
}

/// Which matrix of the procedure was singular.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SingularMatrix {
    /// The lagged differences `Z` are collinear (a series repeats or is constant).
    LaggedDifferences,
    /// `S00`: the differences are collinear after removing the lags.
    S00,
    /// `Skk`: the levels are collinear after removing the lags.
    Skk,
    /// A canonical correlation is 1: the differences are an exact function of the levels.
    PerfectFit,
}

impl std::fmt::Display for SingularMatrix {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Self::LaggedDifferences => "lagged-difference regressors",
            Self::S00 => "S00 (residual covariance of the differences)",
            Self::Skk => "Skk (residual covariance of the levels)",
            Self::PerfectFit => "canonical correlation of 1 (differences fit exactly)",
        })
    }
}

/// Why [`coint_johansen`] returned no result. None is retryable: each describes the input.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
pub enum JohansenError {
    /// Fewer than [`MIN_VARIABLES`] or more than [`MAX_VARIABLES`] series.
    #[error("unsupported variable count {got}: the test covers 2..=12 series")]
    UnsupportedVariableCount {
        /// The number of series given.
        got: usize,
    },
    /// `det_order` outside `-1..=1` (no critical values exist for it).
    #[error("unsupported det_order {got}: expected -1 (none), 0 (constant) or 1 (trend)")]
    UnsupportedDetOrder {
        /// The `det_order` given.
        got: i32,
    },
    /// The series differ in length.
    #[error("column {column} has {got} observations, column 0 has {expected}")]
    LengthMismatch {
        /// The first column whose length differs from column 0's.
        column: usize,
        /// Column 0's length.
        expected: usize,
        /// That column's length.
        got: usize,
    },
    /// Too few observations for the regressors plus a non-degenerate canonical correlation.
    #[error("too few observations: {got} given, at least {needed} needed")]
    TooFewObservations {
        /// Observations per series given.
        got: usize,
        /// Observations needed for this variable count, `det_order` and `k_ar_diff`
        /// (`usize::MAX` when `k_ar_diff` is absurdly large).
        needed: usize,
    },
    /// A NaN or infinity in the input.
    #[error("non-finite value in column {column} at row {row}")]
    NonFinite {
        /// The column of the first non-finite value.
        column: usize,
        /// Its row.
        row: usize,
    },
    /// A matrix of the procedure is (numerically) singular: collinear or constant series.
    /// "Numerically" means a column whose `1 - R²` on the ones before it is at most `1e-12`,
    /// where no digit of the result would be trustworthy.
    #[error("singular matrix: {0}")]
    Singular(SingularMatrix),
    /// The eigenvectors (which scale as 1 / the data) overflow `f64`: the series' magnitudes
    /// are near the subnormal range.
    #[error("eigenvectors overflow f64: the series are too close to zero in magnitude")]
    EigenvectorOverflow,
}

impl From<RankDeficient> for JohansenError {
    fn from(_: RankDeficient) -> Self {
        Self::Singular(SingularMatrix::LaggedDifferences)
    }
}

/// The deterministic terms, validated from statsmodels' integer `det_order`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Deterministic {
    None,
    Constant,
    Trend,
}

impl Deterministic {
    fn from_det_order(det_order: i32) -> Result<Self, JohansenError> {
        match det_order {
            -1 => Ok(Self::None),
            0 => Ok(Self::Constant),
            1 => Ok(Self::Trend),
            got => Err(JohansenError::UnsupportedDetOrder { got }),
        }
    }

    fn table_index(self) -> usize {
        match self {
            Self::None => 0,
            Self::Constant => 1,
            Self::Trend => 2,
        }
    }

    /// Whether the differences, regressors and lagged levels are demeaned (statsmodels' `f`).
    fn demeans(self) -> bool {
        self != Self::None
    }
}

/// The Johansen trace and maximum-eigenvalue tests on `endog`, one slice per series (all of
/// equal length), with deterministic terms `det_order` (`-1` none, `0` constant, `1` linear
/// trend) and `k_ar_diff` lagged differences, as statsmodels `coint_johansen(endog, det_order,
/// k_ar_diff)` computes them (see the module docs for the procedure).
///
/// Never panics. Needs `k_ar_diff · (m + 1) + 2m + 2` observations (+1 with a constant or
/// trend), so that the residual space outnumbers both residual matrices together.
pub fn coint_johansen(
    endog: &[&[f64]],
    det_order: i32,
    k_ar_diff: usize,
) -> Result<Johansen, JohansenError> {
    let deterministic = validate(endog, det_order, k_ar_diff)?;
    let nobs = endog.first().map_or(0, |c| c.len());
    let scales: Vec<Pow2Scale> = endog.iter().map(|c| Pow2Scale::for_column(c)).collect();
    let levels = Mat::from_columns(nobs, endog.len(), |j| {
        let mut c: Vec<f64> = endog[j].iter().map(|x| scales[j].apply(*x)).collect();
        detrend(&mut c, deterministic);
        c
    });
    let (r0, rk) = auxiliary_residuals(&levels, deterministic, k_ar_diff)?;
    let t = r0.rows();
    let (eigenvalues, mut vectors) = reduced_rank_eigen(&r0, &rk)?;
    // Eigenvectors weigh the scaled series, so in original units they carry the scale too.
    for (v, scale) in vectors.iter_mut().flat_map(|v| v.iter_mut().zip(&scales)) {
        *v = scale.apply(*v);
    }
    if vectors.iter().flatten().any(|v| !v.is_finite()) {
        return Err(JohansenError::EigenvectorOverflow);
    }
    Ok(statistics(t, eigenvalues, vectors, deterministic))
}

fn validate(
    endog: &[&[f64]],
    det_order: i32,
    k_ar_diff: usize,
) -> Result<Deterministic, JohansenError> {
    let m = endog.len();
    if !(MIN_VARIABLES..=MAX_VARIABLES).contains(&m) {
        return Err(JohansenError::UnsupportedVariableCount { got: m });
    }
    let deterministic = Deterministic::from_det_order(det_order)?;
    let expected = endog[0].len();
    if let Some((column, c)) = endog.iter().enumerate().find(|(_, c)| c.len() != expected) {
        return Err(JohansenError::LengthMismatch {
            column,
            expected,
            got: c.len(),
        });
    }
    let needed = min_observations(m, deterministic, k_ar_diff);
    if expected < needed {
        return Err(JohansenError::TooFewObservations {
            got: expected,
            needed,
        });
    }
    for (column, c) in endog.iter().enumerate() {
        if let Some(row) = c.iter().position(|x| !x.is_finite()) {
            return Err(JohansenError::NonFinite { column, row });
        }
    }
    Ok(deterministic)
}

/// `1 + k` rows are lost to differencing and lags; the `T` remaining rows must exceed the
/// `m·k` regressors (plus the mean) by more than the `2m` columns of `R0` and `Rk`, otherwise
/// the two residual spaces intersect and a canonical correlation is exactly 1.
fn min_observations(m: usize, deterministic: Deterministic, k_ar_diff: usize) -> usize {
    let regressors = m
        .saturating_mul(k_ar_diff)
        .saturating_add(usize::from(deterministic.demeans()));
    1usize
        .saturating_add(k_ar_diff)
        .saturating_add(regressors)
        .saturating_add(2 * m + 1)
}

/// An exact rescaling of one column by a power of two, stored as two factors because the
/// power itself can lie outside `f64`'s range for subnormal or near-`MAX` data.
#[derive(Debug, Clone, Copy)]
struct Pow2Scale(f64, f64);

impl Pow2Scale {
    /// The power of two that brings the column's largest magnitude into `[0.5, 1)`; 1 for a
    /// zero column. Multiplying by it is exact, so the results equal the unscaled
    /// computation's, but no sum of squares can overflow or underflow.
    fn for_column(column: &[f64]) -> Self {
        let max = column.iter().fold(0.0_f64, |m, x| m.max(x.abs()));
        if max == 0.0 || !max.is_finite() {
            return Self(1.0, 1.0);
        }
        let exponent = max.log2().floor() as i32 + 1;
        let half = exponent / 2;
        Self(2.0_f64.powi(-half), 2.0_f64.powi(half - exponent))
    }

    fn apply(self, x: f64) -> f64 {
        x * self.0 * self.1
    }
}

/// statsmodels' inner `detrend(y, order)`: the residual of an OLS fit on a constant (`0`) or a
/// constant and a linear trend (`1`); `-1` leaves `y`. The trend regressor is centred, which
/// spans the same space as statsmodels' `linspace(-1, 1, n)` and is orthogonal to the constant.
fn detrend(y: &mut [f64], deterministic: Deterministic) {
    if deterministic == Deterministic::None {
        return;
    }
    demean(y);
    if deterministic == Deterministic::Trend {
        let centre = (y.len() as f64 - 1.0) / 2.0;
        let t = |i: usize| i as f64 - centre;
        let sxx: f64 = (0..y.len()).map(|i| t(i) * t(i)).sum();
        let sxy: f64 = y.iter().enumerate().map(|(i, v)| t(i) * v).sum();
        let slope = sxy / sxx;
        for (i, v) in y.iter_mut().enumerate() {
            *v -= slope * t(i);
        }
    }
}

fn demean(y: &mut [f64]) {
    if y.is_empty() {
        return;
    }
    let mean = y.iter().sum::<f64>() / y.len() as f64;
    for v in y.iter_mut() {
        *v -= mean;
    }
}

/// `R0` (differences) and `Rk` (levels), the residuals of the two auxiliary regressions on the
/// lagged differences, built with statsmodels' row alignment (see the module docs).
fn auxiliary_residuals(
    levels: &Mat,
    deterministic: Deterministic,
    k: usize,
) -> Result<(Mat, Mat), JohansenError> {
    let (n, m) = (levels.rows(), levels.cols());
    debug_assert!(
        n > k + 1,
        "Invariant: validate() guarantees rows for differences and lags"
    );
    let t = n - 1 - k;
    let diff = |j: usize, row: usize| levels.get(row + 1, j) - levels.get(row, j);
    // Lag l of series j for target row k + i is Δy[k + i - l]; columns ordered lag-major.
    let mut z = Mat::from_columns(t, m * k, |c| {
        let (lag, j) = (c / m + 1, c % m);
        (0..t).map(|i| diff(j, k + i - lag)).collect()
    });
    let mut r0 = Mat::from_columns(t, m, |j| (0..t).map(|i| diff(j, k + i)).collect());
    let mut rk = Mat::from_columns(t, m, |j| levels.col(j)[1..1 + t].to_vec());
    if deterministic.demeans() {
        for mat in [&mut z, &mut r0, &mut rk] {
            for j in 0..mat.cols() {
                demean(mat.col_mut(j));
            }
        }
    }
    linalg::residualize(&z, &mut [&mut r0, &mut rk])?;
    Ok((r0, rk))
}

/// Eigenvalues (descending) and `Skk`-normalized eigenvectors of `Skk⁻¹ Sk0 S00⁻¹ Sk0ᵀ`.
fn reduced_rank_eigen(r0: &Mat, rk: &Mat) -> Result<(Vec<f64>, Vec<Vec<f64>>), JohansenError> {
    let t = r0.rows() as f64;
    let s00 = r0.cross(r0, t);
    let skk = rk.cross(rk, t);
    let sk0 = rk.cross(r0, t);
    let l = linalg::cholesky(&skk).ok_or(JohansenError::Singular(SingularMatrix::Skk))?;
    let mchol = linalg::cholesky(&s00).ok_or(JohansenError::Singular(SingularMatrix::S00))?;
    // W = L⁻¹ Sk0 M⁻ᵀ: first X = L⁻¹ Sk0 column by column, then Wᵀ = M⁻¹ Xᵀ.
    let mut x = sk0;
    for j in 0..x.cols() {
        linalg::solve_lower(&l, x.col_mut(j));
    }
    let mut wt = x.transpose();
    for j in 0..wt.cols() {
        linalg::solve_lower(&mchol, wt.col_mut(j));
    }
    let (values, u) = linalg::symmetric_eigen(wt.transpose().gram_rows());
    let mut order: Vec<usize> = (0..values.len()).collect();
    order.sort_by(|&a, &b| values[b].total_cmp(&values[a]));
    let eigenvalues: Vec<f64> = order.iter().map(|&i| values[i]).collect();
    if eigenvalues.iter().any(|v| !v.is_finite() || *v >= 1.0) {
        return Err(JohansenError::Singular(SingularMatrix::PerfectFit));
    }
    let vectors = order
        .iter()
        .map(|&i| skk_normalized_vector(&l, u.col(i)))
        .collect();
    Ok((eigenvalues, vectors))
}

/// `v = L⁻ᵀ u` (so `vᵀ Skk v = uᵀu = 1`), signed so its first non-zero entry is positive.
fn skk_normalized_vector(l: &Mat, u: &[f64]) -> Vec<f64> {
    let mut v = u.to_vec();
    linalg::solve_lower_transposed(l, &mut v);
    if v.iter().find(|x| **x != 0.0).is_some_and(|x| *x < 0.0) {
        for x in &mut v {
            *x = -*x;
        }
    }
    v
}

/// The trace and max-eig statistics of the eigenvalues, their critical values and the ranks.
fn statistics(
    t: usize,
    eigenvalues: Vec<f64>,
    eigenvectors: Vec<Vec<f64>>,
    det: Deterministic,
) -> Johansen {
    let m = eigenvalues.len();
    let t_f = t as f64;
    // `ln_1p(-λ)`, not statsmodels' `ln(1 - λ)`, whose rounding of `1 - λ` costs a relative
    // `ε/λ`: for `λ < 1e-7` that exceeds 1e-9 in statsmodels' own statistic.
    let log_one_minus: Vec<f64> = eigenvalues.iter().map(|l| (-l).ln_1p()).collect();
    let lr2: Vec<f64> = log_one_minus.iter().map(|v| -t_f * v).collect();
    let mut lr1 = vec![0.0; m];
    let mut tail = 0.0;
    for i in (0..m).rev() {
        tail += log_one_minus[i];
        lr1[i] = -t_f * tail;
    }
    let table = det.table_index();
    // Row i tests rank ≤ i: m - i common trends under the null.
    let cvt: Vec<[f64; 3]> = (0..m).map(|i| tables::TRACE[table][m - i - 1]).collect();
    let cvm: Vec<[f64; 3]> = (0..m).map(|i| tables::MAX_EIG[table][m - i - 1]).collect();
    let rank_trace_95 = select_rank(&lr1, &cvt, Confidence::P95);
    let rank_max_eig_95 = select_rank(&lr2, &cvm, Confidence::P95);
    Johansen {
        nobs: t,
        eigenvalues,
        eigenvectors,
        lr1,
        lr2,
        cvt,
        cvm,
        rank_trace_95,
        rank_max_eig_95,
    }
}
