//! Ordinary least squares with statsmodels' bookkeeping: parameters, residuals, standard errors,
//! t-values, SSR, the profile log-likelihood and AIC/BIC exactly as `statsmodels.regression.
//! linear_model.OLS` defines them. Solved by Householder QR, which on full-rank designs agrees
//! with statsmodels' SVD pseudo-inverse to rounding (about 1e-13 relative on well-conditioned
//! data). Rank-deficient designs are refused ([`QuantError::Singular`]) rather than given
//! statsmodels' minimum-norm answer.

use crate::error::check_finite;
use crate::linalg::{mean, qr_lstsq, sum_sq};
use crate::{QuantError, Trend};

/// A fitted OLS regression. Parameter order is the regressors as given, then the deterministic
/// terms (constant, `t`, `t²`, with `t = 1..=nobs`): statsmodels' `add_trend(prepend=False)`.
#[derive(Debug, Clone, PartialEq)]
pub struct OlsFit {
    /// Estimated coefficients.
    pub params: Vec<f64>,
    /// Standard errors, `sqrt(diag(s²(XᵀX)⁻¹))` with `s² = SSR / df_resid`.
    pub bse: Vec<f64>,
    /// `params / bse`.
    pub tvalues: Vec<f64>,
    /// `y - Xβ`.
    pub resid: Vec<f64>,
    /// Sum of squared residuals.
    pub ssr: f64,
    /// Number of observations.
    pub nobs: usize,
    /// `nobs - number of parameters`.
    pub df_resid: usize,
    /// Profile log-likelihood `-n/2·(ln 2π + ln(SSR/n) + 1)`.
    pub llf: f64,
    /// `-2·llf + 2k`, `k` the number of parameters (constant included).
    pub aic: f64,
    /// `-2·llf + ln(n)·k`.
    pub bic: f64,
    /// `1 - SSR/TSS`, TSS centered when `trend` has a constant, uncentered otherwise.
    pub rsquared: f64,
}

/// statsmodels' profile log-likelihood of a Gaussian linear model.
pub(crate) fn profile_llf(ssr: f64, nobs: usize) -> f64 {
    let n = nobs as f64;
    let n2 = n / 2.0;
    -n2 * (2.0 * std::f64::consts::PI).ln() - n2 * (ssr / n).ln() - n2
}

/// Regresses `y` on `regressors` plus the deterministic terms of `trend` (appended last).
///
/// Needs equal lengths, finite values, more observations than parameters and a full-rank design
/// (a constant regressor together with `trend` including a constant is singular).
pub fn ols(y: &[f64], regressors: &[&[f64]], trend: Trend) -> Result<OlsFit, QuantError> {
    let n = y.len();
    check_finite(y)?;
    for x in regressors {
        if x.len() != n {
            return Err(QuantError::LengthMismatch {
                left: n,
                right: x.len(),
            });
        }
        check_finite(x)?;
    }
    let p = regressors.len() + trend.terms();
    if p == 0 {
        return Err(QuantError::InvalidArgument(
            "ols needs at least one regressor or trend term",
        ));
    }
    if n <= p {
        return Err(QuantError::TooFewObservations {
            got: n,
            needed: p + 1,
        });
    }
    let mut design = Vec::with_capacity(n * p);
    for x in regressors {
        design.extend_from_slice(x);
    }
    for power in 0..trend.terms() {
        design.extend((1..=n).map(|t| (t as f64).powi(power as i32)));
    }
    let columns = design.clone();
    let mut work_y = y.to_vec();
    let fit = qr_lstsq(&mut design, n, p, &mut work_y)?;
    let mut resid = y.to_vec();
    for (k, b) in fit.beta.iter().enumerate() {
        let col = &columns[k * n..(k + 1) * n];
        resid.iter_mut().zip(col).for_each(|(r, &x)| *r -= b * x);
    }
    let ssr = sum_sq(&resid);
    if !ssr.is_finite() || fit.beta.iter().any(|b| !b.is_finite()) {
        return Err(QuantError::Overflow);
    }
    let df_resid = n - p;
    let scale = ssr / df_resid as f64;
    let bse: Vec<f64> = fit.inv_diag.iter().map(|d| (scale * d).sqrt()).collect();
    let tvalues = fit.beta.iter().zip(&bse).map(|(b, s)| b / s).collect();
    let tss = if trend.has_constant() {
        let m = mean(y);
        y.iter().map(|v| (v - m) * (v - m)).sum::<f64>()
    } else {
        sum_sq(y)
    };
    let llf = profile_llf(ssr, n);
    let k = p as f64;
    Ok(OlsFit {
        params: fit.beta,
        bse,
        tvalues,
        resid,
        ssr,
        nobs: n,
        df_resid,
        llf,
        aic: -2.0 * llf + 2.0 * k,
        bic: -2.0 * llf + (n as f64).ln() * k,
        rsquared: 1.0 - ssr / tss,
    })
}
