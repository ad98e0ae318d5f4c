//! The augmented Dickey-Fuller unit-root test, equal to `statsmodels.tsa.stattools.adfuller`.
//!
//! The test regression for lag order `L` is
//! `Δx_t = [deterministic terms] + γ·x_{t-1} + Σ_{j=1..L} φ_j·Δx_{t-j} + ε_t`, and the statistic
//! is the t-value of `γ`. statsmodels' procedure, reproduced exactly:
//! - `maxlag` defaults to `ceil(12·(nobs/100)^{1/4})`, capped at `nobs/2 - 1 - terms`; an explicit
//!   `maxlag` above that cap is an error.
//! - With `autolag`, every order `0..=maxlag` is fitted on the *same* sample (the rows that the
//!   largest order needs, `nobs - 1 - maxlag` of them) and the order with the smallest AIC / BIC
//!   wins (ties go to the shorter lag); `"t-stat"` walks down from `maxlag` and stops at the first
//!   order whose last lag has `|t| ≥ 1.6448536269514722`, else order 0. The chosen order is then
//!   refitted on its own, longer sample, and that refit gives the statistic and `nobs`.
//! - p-value: MacKinnon (1994) with `N = 1`; critical values: MacKinnon (2010) at that `nobs`.
//!
//! Deliberately different: a rank-deficient design (a column exactly or numerically dependent on
//! the others, e.g. a level constant over the whole regression sample) is refused with
//! [`QuantError::Singular`] where statsmodels would fall back to its pseudo-inverse or silently
//! drop the constant; a regression that fits exactly is [`QuantError::PerfectFit`], and a sample
//! whose largest model keeps no residual degree of freedom is too short.
//!
//! Speed: the regressors are shifted copies of one difference series, so all nested models share
//! one Gram matrix. It is built from `O(maxlag)` dot products plus `O(maxlag²)` edge corrections
//! (`G[j+1][k+1] = G[j][k] + first-row term - last-row term`), and one Cholesky factorisation with
//! the columns in lag order yields every order's SSR and last-lag t-value at once. The chosen
//! order is then fitted carefully: Cholesky of its own Gram matrix, one step of iterative
//! refinement against explicitly computed residuals, and a Householder QR fallback whenever a
//! column is close to collinear with the others (where normal equations lose digits).
//! The deterministic terms are `1, u, u²` with `u` the row index centred and scaled; they span
//! the same space as statsmodels' `1, t, t²`, so the level coefficient and its t-value are the
//! same. With a constant in the model the level column is first shifted by the series mean (the
//! constant absorbs it), which keeps the Gram matrix well conditioned for price-like levels.

use crate::error::{check_finite, check_not_constant};
use crate::linalg::{
    back_substitute, cholesky_upper, dot, forward_substitute, householder_qr, mean, qr_lstsq,
    sum_sq,
};
use crate::mackinnon::{CriticalValues, mackinnoncrit, mackinnonp};
use crate::ols::profile_llf;
use crate::{QuantError, Trend};

/// How the lag order is chosen automatically (statsmodels' `autolag`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Autolag {
    /// Smallest Akaike information criterion (`"aic"`).
    Aic,
    /// Smallest Bayes information criterion (`"bic"`).
    Bic,
    /// From `maxlag` down, the first order whose last lag is significant at 5 % (`"t-stat"`).
    TStat,
}

impl Autolag {
    /// statsmodels' spelling (lower case).
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Aic => "aic",
            Self::Bic => "bic",
            Self::TStat => "t-stat",
        }
    }
}

/// Options of [`adfuller`]; the default is statsmodels' (`regression="c"`, `maxlag=None`,
/// `autolag="AIC"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct AdfOptions {
    /// Deterministic terms of the test regression.
    pub regression: Trend,
    /// Largest lag order considered (or used, without `autolag`); `None` for statsmodels' rule.
    pub maxlag: Option<usize>,
    /// Lag selection; `None` uses `maxlag` lags.
    pub autolag: Option<Autolag>,
}

impl Default for AdfOptions {
    fn default() -> Self {
        Self {
            regression: Trend::C,
            maxlag: None,
            autolag: Some(Autolag::Aic),
        }
    }
}

/// Outcome of an ADF test.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct AdfResult {
    /// The ADF τ-statistic (t-value of the lagged level).
    pub stat: f64,
    /// MacKinnon (1994) approximate p-value.
    pub p_value: f64,
    /// Lag order used in the final regression.
    pub usedlag: usize,
    /// Observations in the final regression (`len - 1 - usedlag`).
    pub nobs: usize,
    /// MacKinnon (2010) critical values at `nobs`.
    pub crit: CriticalValues,
    /// Best information criterion (or `|t|` for [`Autolag::TStat`]); `None` without autolag.
    pub icbest: Option<f64>,
    /// The maximum lag order after statsmodels' default rule and cap.
    pub maxlag: usize,
}

/// Runs the ADF test on `x` (see the module docs). Allocates its buffers; use
/// [`AdfWorkspace`] to test many series without allocating.
pub fn adfuller(x: &[f64], opts: &AdfOptions) -> Result<AdfResult, QuantError> {
    AdfWorkspace::default().adfuller(x, opts)
}

/// Below this kept fraction a column counts as dependent in the lag search.
const SEARCH_TOL: f64 = 1e-11;
/// Below this kept fraction the final fit leaves the normal equations for Householder QR.
const FINAL_TOL: f64 = 1e-6;
/// statsmodels' `t-stat` stopping rule: the one-sided 5 % normal quantile.
const TSTAT_STOP: f64 = 1.644_853_626_951_472_2;

/// The maximum lag after statsmodels' rules.
pub(crate) fn resolve_maxlag(
    nobs: usize,
    terms: usize,
    maxlag: Option<usize>,
) -> Result<usize, QuantError> {
    let limit = (nobs / 2) as i64 - terms as i64 - 1;
    if limit < 0 {
        return Err(QuantError::TooFewObservations {
            got: nobs,
            needed: 2 * terms + 2,
        });
    }
    let limit = limit as usize;
    match maxlag {
        None => {
            let rule = (12.0 * (nobs as f64 / 100.0).powf(0.25)).ceil() as usize;
            Ok(rule.min(limit))
        }
        Some(k) if k > limit => Err(QuantError::MaxLagTooLarge { maxlag: k, limit }),
        Some(k) => Ok(k),
    }
}

/// Series-derived buffers of one test: differences, the (shifted) level and the deterministic
/// columns, all indexed by regression row `i` (`Δx_i = x[i+1] - x[i]`, level `x[i]`).
#[derive(Debug, Default)]
struct Series {
    diff: Vec<f64>,
    level: Vec<f64>,
    /// `terms` rows of length `diff.len()`: `1, u, u²`.
    det: Vec<f64>,
    terms: usize,
}

/// Scratch matrices and vectors of one test.
#[derive(Debug, Default)]
struct Scratch {
    gram: Vec<f64>,
    permuted: Vec<f64>,
    chol: Vec<f64>,
    beta: Vec<f64>,
    grad: Vec<f64>,
    delta: Vec<f64>,
    resid: Vec<f64>,
    ry: Vec<f64>,
    ssr: Vec<f64>,
    design: Vec<f64>,
    y: Vec<f64>,
}

/// Reusable buffers for ADF tests: after the first call on a series of a given length, later
/// calls allocate nothing on the usual path (the Householder fallback for nearly collinear
/// designs allocates a few small vectors). One per thread.
#[derive(Debug, Default)]
pub struct AdfWorkspace {
    series: Series,
    scratch: Scratch,
}

impl AdfWorkspace {
    /// [`adfuller`] with this workspace's buffers.
    pub fn adfuller(&mut self, x: &[f64], opts: &AdfOptions) -> Result<AdfResult, QuantError> {
        check_finite(x)?;
        let n = x.len();
        let terms = opts.regression.terms();
        let maxlag = resolve_maxlag(n, terms, opts.maxlag)?;
        check_not_constant(x)?;
        // The largest model must keep one residual degree of freedom.
        let needed = 2 * maxlag + terms + 3;
        if n < needed {
            return Err(QuantError::TooFewObservations { got: n, needed });
        }
        self.series.prepare(x, terms);
        let (usedlag, icbest) = match opts.autolag {
            Some(method) => {
                let (lag, ic) = select_lag(&self.series, maxlag, method, &mut self.scratch)?;
                (lag, Some(ic))
            }
            None => (maxlag, None),
        };
        let (stat, nobs) = final_fit(&self.series, usedlag, &mut self.scratch)?;
        Ok(AdfResult {
            stat,
            p_value: mackinnonp(stat, opts.regression, 1)?,
            usedlag,
            nobs,
            crit: mackinnoncrit(1, opts.regression, nobs as f64)?,
            icbest,
            maxlag,
        })
    }
}

impl Series {
    fn prepare(&mut self, x: &[f64], terms: usize) {
        let rows = x.len() - 1;
        self.terms = terms;
        self.diff.clear();
        self.diff.extend(x.windows(2).map(|w| w[1] - w[0]));
        // With a constant in the model, shifting the level changes only the intercept.
        let shift = if terms > 0 { mean(x) } else { 0.0 };
        self.level.clear();
        self.level.extend(x[..rows].iter().map(|v| v - shift));
        self.det.clear();
        let centre = (rows as f64 - 1.0) / 2.0;
        let half = (rows as f64 / 2.0).max(1.0);
        for power in 0..terms {
            self.det
                .extend((0..rows).map(|i| ((i as f64 - centre) / half).powi(power as i32)));
        }
    }

    fn rows(&self) -> usize {
        self.diff.len()
    }

    /// Canonical column `idx` of the design with `p` lags over rows `start..`: deterministic
    /// terms `0..terms`, level at `terms`, lag `j` at `terms + j`, `Δx_t` itself at `terms + p + 1`.
    fn column(&self, idx: usize, start: usize, p: usize) -> &[f64] {
        let rows = self.rows();
        let q = self.terms;
        if idx < q {
            &self.det[idx * rows + start..(idx + 1) * rows]
        } else if idx == q {
            &self.level[start..rows]
        } else {
            let lag = if idx == q + p + 1 { 0 } else { idx - q };
            &self.diff[start - lag..rows - lag]
        }
    }

    /// Fills `g` with the Gram matrix of the canonical design with `p` lags over rows `start..`
    /// (`c = terms + p + 2` columns, the last one `Δx_t`). `start ≥ p`.
    fn gram(&self, start: usize, p: usize, g: &mut Vec<f64>) {
        debug_assert!(start >= p, "Invariant: the first row has all its lags");
        let (q, rows) = (self.terms, self.rows());
        let c = q + p + 2;
        g.clear();
        g.resize(c * c, 0.0);
        for a in 0..=q {
            let ca = self.column(a, start, p);
            for b in a..c {
                let v = dot(ca, self.column(b, start, p));
                g[a * c + b] = v;
                g[b * c + a] = v;
            }
        }
        // Lag block, lag 0 being Δx_t: row 0 by dot products, the rest by shifting.
        let at = |lag: usize| if lag == 0 { c - 1 } else { q + lag };
        let y = self.column(c - 1, start, p);
        for lag in 0..=p {
            let v = dot(y, &self.diff[start - lag..rows - lag]);
            g[at(0) * c + at(lag)] = v;
            g[at(lag) * c + at(0)] = v;
        }
        let d = &self.diff;
        for a in 0..p {
            for b in a..p {
                let v = g[at(a) * c + at(b)] + d[start - 1 - a] * d[start - 1 - b]
                    - d[rows - 1 - a] * d[rows - 1 - b];
                g[at(a + 1) * c + at(b + 1)] = v;
                g[at(b + 1) * c + at(a + 1)] = v;
            }
        }
    }
}

/// The lag search on the common sample of `maxlag`: returns the chosen order and its criterion.
fn select_lag(
    s: &Series,
    maxlag: usize,
    method: Autolag,
    w: &mut Scratch,
) -> Result<(usize, f64), QuantError> {
    let q = s.terms;
    let c = q + maxlag + 2;
    let m = s.rows() - maxlag;
    nested_projections(s, maxlag, w)?;
    // ssr[l]: SSR with l lags = R_yy² + Σ_{k beyond the model} R_ky².
    let ry = &w.ry;
    w.ssr.clear();
    w.ssr.resize(maxlag + 1, 0.0);
    let mut acc = ry[c - 1] * ry[c - 1];
    for lag in (0..=maxlag).rev() {
        w.ssr[lag] = acc;
        acc += ry[q + lag] * ry[q + lag];
    }
    if !w.ssr[0].is_finite() {
        return Err(QuantError::Overflow);
    }
    if w.ssr[maxlag] <= 0.0 {
        return Err(QuantError::PerfectFit);
    }
    let k_params = |lag: usize| (q + 1 + lag) as f64;
    match method {
        Autolag::Aic | Autolag::Bic => {
            let penalty = if method == Autolag::Aic {
                2.0
            } else {
                (m as f64).ln()
            };
            let mut best = (f64::INFINITY, 0);
            for lag in 0..=maxlag {
                let ic = -2.0 * profile_llf(w.ssr[lag], m) + penalty * k_params(lag);
                if ic < best.0 {
                    best = (ic, lag);
                }
            }
            Ok((best.1, best.0))
        }
        Autolag::TStat => {
            let mut best = (0.0, 0);
            for lag in (0..=maxlag).rev() {
                // The last column's t-value in the nested model is R_ky / σ.
                let scale = w.ssr[lag] / (m as f64 - k_params(lag));
                let t = (ry[q + lag] / scale.sqrt()).abs();
                best = (t, lag);
                if t >= TSTAT_STOP {
                    break;
                }
            }
            Ok((best.1, best.0))
        }
    }
}

/// Fills `w.ry` with the last column of the triangular factor of `[X y]` for the full search
/// design `X` in lag order: `ry[k]` is `y`'s component along column `k` once columns `< k` are
/// projected out, `ry[c - 1]` the norm of what no column explains. Every nested model's SSR
/// and last t-value follow from it. From the Cholesky factor of the shifted-window Gram matrix
/// when that is well conditioned, else from Householder QR on the explicit design.
fn nested_projections(s: &Series, maxlag: usize, w: &mut Scratch) -> Result<(), QuantError> {
    let c = s.terms + maxlag + 2;
    let m = s.rows() - maxlag;
    s.gram(maxlag, maxlag, &mut w.gram);
    w.chol.clear();
    w.chol.resize(c * c, 0.0);
    w.ry.clear();
    match cholesky_upper(&w.gram, &mut w.chol, c, c - 1, SEARCH_TOL) {
        Ok(min_ratio) if min_ratio >= FINAL_TOL => {
            w.ry.extend((0..c).map(|k| w.chol[k * c + c - 1]));
        }
        _ => {
            w.design.clear();
            (0..c - 1).for_each(|k| w.design.extend_from_slice(s.column(k, maxlag, maxlag)));
            w.y.clear();
            w.y.extend_from_slice(s.column(c - 1, maxlag, maxlag));
            householder_qr(&mut w.design, m, c - 1, &mut w.y)?;
            w.ry.extend_from_slice(&w.y[..c - 1]);
            w.ry.push(sum_sq(&w.y[c - 1..]).sqrt());
        }
    }
    Ok(())
}

/// Fits the chosen order on its own sample; returns the level's t-value and the row count.
fn final_fit(s: &Series, lags: usize, w: &mut Scratch) -> Result<(f64, usize), QuantError> {
    let q = s.terms;
    let c = q + lags + 2;
    let k = c - 1;
    let m = s.rows() - lags;
    s.gram(lags, lags, &mut w.gram);
    let perm = |i: usize| final_order(q, lags, i);
    w.permuted.clear();
    w.permuted
        .extend((0..c * c).map(|ij| w.gram[perm(ij / c) * c + perm(ij % c)]));
    w.chol.clear();
    w.chol.resize(c * c, 0.0);
    let stat = match cholesky_upper(&w.permuted, &mut w.chol, c, k, FINAL_TOL) {
        Ok(_) => refined_normal_equations(s, lags, &perm, w)?,
        Err(_) => householder_fit(s, lags, &perm, w)?,
    };
    Ok((stat, m))
}

/// Canonical column of the final fit's column `i`. Final order: deterministic terms, lags, then
/// the level last, so that its variance factor is `1/R_kk²` and its t-value `β_level·R_kk/σ`.
fn final_order(terms: usize, lags: usize, i: usize) -> usize {
    match i {
        i if i < terms => i,
        i if i < terms + lags => i + 1,
        i if i == terms + lags => terms,
        _ => terms + lags + 1,
    }
}

/// Cholesky solution plus one step of iterative refinement. The normal equations alone lose
/// digits as κ(X)²; one correction solved against explicitly computed residuals brings the
/// coefficients back to QR accuracy (κ(X)·ε) at the cost of two passes over the design. The SSR
/// is that of the explicit residuals less the correction's (second-order) reduction.
fn refined_normal_equations(
    s: &Series,
    lags: usize,
    perm: &dyn Fn(usize) -> usize,
    w: &mut Scratch,
) -> Result<f64, QuantError> {
    let c = s.terms + lags + 2;
    let k = c - 1;
    let col = |i: usize| s.column(perm(i), lags, lags);
    w.beta.clear();
    w.beta.extend((0..k).map(|i| w.chol[i * c + k]));
    back_substitute(&w.chol, c, k, &mut w.beta);
    w.resid.clear();
    w.resid.extend_from_slice(col(k));
    for (i, b) in w.beta.iter().enumerate() {
        w.resid
            .iter_mut()
            .zip(col(i))
            .for_each(|(r, &x)| *r -= b * x);
    }
    w.grad.clear();
    w.grad.extend((0..k).map(|i| dot(col(i), &w.resid)));
    w.delta.clear();
    w.delta.extend_from_slice(&w.grad);
    forward_substitute(&w.chol, c, k, &mut w.delta);
    back_substitute(&w.chol, c, k, &mut w.delta);
    let ssr = sum_sq(&w.resid) - dot(&w.delta, &w.grad);
    w.beta.iter_mut().zip(&w.delta).for_each(|(b, d)| *b += d);
    let r_level = w.chol[(k - 1) * c + (k - 1)];
    t_value(w.beta[k - 1] * r_level, ssr, s.rows() - lags - k)
}

/// Householder QR on the explicit design, for nearly collinear columns.
fn householder_fit(
    s: &Series,
    lags: usize,
    perm: &dyn Fn(usize) -> usize,
    w: &mut Scratch,
) -> Result<f64, QuantError> {
    let c = s.terms + lags + 2;
    let k = c - 1;
    let m = s.rows() - lags;
    let col = |i: usize| s.column(perm(i), lags, lags);
    w.design.clear();
    (0..k).for_each(|i| w.design.extend_from_slice(col(i)));
    w.y.clear();
    w.y.extend_from_slice(col(k));
    let fit = qr_lstsq(&mut w.design, m, k, &mut w.y)?;
    w.resid.clear();
    w.resid.extend_from_slice(col(k));
    for (i, b) in fit.beta.iter().enumerate() {
        w.resid
            .iter_mut()
            .zip(col(i))
            .for_each(|(r, &x)| *r -= b * x);
    }
    let ssr = sum_sq(&w.resid);
    t_value(fit.beta[k - 1] / fit.inv_diag[k - 1].sqrt(), ssr, m - k)
}

/// `scaled_beta / σ` with `σ² = ssr / df`; a zero SSR has no t-value.
fn t_value(scaled_beta: f64, ssr: f64, df: usize) -> Result<f64, QuantError> {
    if !ssr.is_finite() {
        return Err(QuantError::Overflow);
    }
    if ssr <= 0.0 {
        return Err(QuantError::PerfectFit);
    }
    let t = scaled_beta / (ssr / df as f64).sqrt();
    if t.is_finite() {
        Ok(t)
    } else {
        Err(QuantError::PerfectFit)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A deterministic AR-ish walk with a level, so the test needs no RNG crate.
    fn walk(n: usize, level: f64) -> Vec<f64> {
        let mut state = 0x2545_f491_4f6c_dd1d_u64;
        let (mut v, mut step) = (level, 0.0);
        (0..n)
            .map(|_| {
                state ^= state << 13;
                state ^= state >> 7;
                state ^= state << 17;
                let u = (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5;
                step = 0.4 * step + u;
                v += step;
                v
            })
            .collect()
    }

    #[test]
    fn both_final_fit_paths_agree() {
        for (trend, level) in [
            (Trend::N, 0.0),
            (Trend::C, 1e3),
            (Trend::Ct, -3.0),
            (Trend::Ctt, 50.0),
        ] {
            for lags in [0, 1, 4, 11] {
                let x = walk(700, level);
                let mut ws = AdfWorkspace::default();
                ws.series.prepare(&x, trend.terms());
                let (fast, nobs) = final_fit(&ws.series, lags, &mut ws.scratch).unwrap();
                let perm = |i: usize| final_order(trend.terms(), lags, i);
                let careful = householder_fit(&ws.series, lags, &perm, &mut ws.scratch).unwrap();
                assert_eq!(nobs, 699 - lags);
                let rel = ((fast - careful) / careful).abs();
                assert!(
                    rel < 1e-12,
                    "{trend} lags {lags}: {fast} vs {careful} ({rel:e})"
                );
            }
        }
    }

    #[test]
    fn maxlag_rule_and_limits() {
        // ceil(12·(5760/100)^¼) = 34; ceil(12·(203/100)^¼) = 15.
        assert_eq!(resolve_maxlag(5760, 0, None), Ok(34));
        assert_eq!(resolve_maxlag(203, 1, None), Ok(15));
        // Capped at nobs/2 - 1 - terms.
        assert_eq!(resolve_maxlag(20, 1, None), Ok(8));
        assert_eq!(
            resolve_maxlag(20, 1, Some(9)),
            Err(QuantError::MaxLagTooLarge {
                maxlag: 9,
                limit: 8
            })
        );
        assert_eq!(
            resolve_maxlag(3, 1, None),
            Err(QuantError::TooFewObservations { got: 3, needed: 4 })
        );
    }
}
