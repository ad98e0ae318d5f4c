//! The augmented Engle-Granger two-step cointegration test, equal to
//! `statsmodels.tsa.stattools.coint(y0, y1, trend, maxlag=..., autolag=...)` for one `y1`.
//!
//! What statsmodels does, reproduced step by step:
//! 1. OLS of `y0` on `[y1, deterministic terms]` (terms appended after `y1`). The residuals are
//!    the spread; `hedge_ratio` is the coefficient on `y1`.
//! 2. If that regression's R² is at least `1 - 100·√ε` (centered R² with a constant, uncentered
//!    without), the series are "perfectly collinear": the statistic is `-inf` and the p-value 0,
//!    and no ADF is run.
//! 3. Otherwise `adfuller(spread, maxlag, autolag, regression="n")`: the trend argument of `coint`
//!    is *not* passed to the ADF, whose regression on the residuals never has a constant; the
//!    default `maxlag` is therefore `min(ceil(12·(nobs/100)^{1/4}), nobs/2 - 1)`.
//! 4. p-value: MacKinnon (1994) for `N = 2` with the *coint* trend; critical values: MacKinnon
//!    (2010) for `N = 2`, the coint trend and `nobs - 1` observations (statsmodels copies the
//!    `- 1` from Stata's `egranger`), or NaN for trend `n`.
//!
//! For trends `n` and `c` the first stage is solved in closed form from centered sums (one dot
//! product per pair once each series is centered, which the pair scan does once per series);
//! for `ct` and `ctt` by Householder QR, which on the raw `t, t²` columns is markedly more
//! accurate than statsmodels' pseudo-inverse (whose error grows with the unscaled condition
//! number, up to ~1e-8 relative on a few thousand bars).
//!
//! Deliberately different: a constant `y0` or `y1` is refused ([`QuantError::ConstantSeries`]);
//! statsmodels would report a constant `y0` as "perfectly collinear" (its R² is 0/0) and let a
//! constant `y1` stand in for the intercept (`add_trend` skips the constant then).

use crate::adf::{AdfOptions, AdfWorkspace, Autolag};
use crate::error::{check_finite, check_not_constant};
use crate::linalg::{dot, mean, sum_sq};
use crate::mackinnon::{CriticalValues, mackinnoncrit, mackinnonp};
use crate::ols::ols;
use crate::{QuantError, Trend};

/// Options of [`coint`]; the default is statsmodels' (`trend="c"`, `maxlag=None`,
/// `autolag="aic"`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CointOptions {
    /// Deterministic terms of the cointegrating regression (step 1).
    pub trend: Trend,
    /// Passed to the ADF on the residuals.
    pub maxlag: Option<usize>,
    /// Passed to the ADF on the residuals.
    pub autolag: Option<Autolag>,
}

impl Default for CointOptions {
    fn default() -> Self {
        Self {
            trend: Trend::C,
            maxlag: None,
            autolag: Some(Autolag::Aic),
        }
    }
}

/// The test outcome and the cointegrating regression, without the spread itself (small and
/// `Copy`, what the pair scan returns per pair).
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CointTest {
    /// ADF t-statistic of the residuals (`-inf` when collinear).
    pub t_stat: f64,
    /// MacKinnon (1994) p-value, `N = 2`.
    pub p_value: f64,
    /// MacKinnon (2010) critical values at `nobs - 1`; NaN for trend `n`.
    pub crit: CriticalValues,
    /// Coefficient on `y1`: the spread is `y0 - hedge_ratio·y1 - intercept - trend terms`.
    pub hedge_ratio: f64,
    /// Constant of the cointegrating regression (0 for trend `n`).
    pub intercept: f64,
    /// Coefficients on `t` and `t²` (`t = 1..=nobs`), 0 where the trend lacks them.
    pub trend_coefs: [f64; 2],
    /// Lag order of the ADF on the residuals (0 when collinear).
    pub usedlag: usize,
    /// Observations in that ADF regression (0 when collinear).
    pub nobs: usize,
    /// The ADF's best information criterion, `None` without autolag or when collinear.
    pub icbest: Option<f64>,
    /// R² of the cointegrating regression reached `1 - 100·√ε`: statistic `-inf`, p-value 0.
    pub collinear: bool,
}

/// A full Engle-Granger result: the test and the spread (the residuals of step 1).
#[derive(Debug, Clone, PartialEq)]
pub struct Coint {
    /// Statistic, p-value, critical values, hedge ratio, …
    pub test: CointTest,
    /// `y0 - hedge_ratio·y1 - intercept - trend terms`, one value per bar.
    pub spread: Vec<f64>,
}

/// Runs the Engle-Granger test of `y0` on `y1` (see the module docs).
pub fn coint(y0: &[f64], y1: &[f64], opts: &CointOptions) -> Result<Coint, QuantError> {
    let mut ws = CointWorkspace::default();
    let test = ws.coint(y0, y1, opts)?;
    Ok(Coint {
        test,
        spread: std::mem::take(&mut ws.spread),
    })
}

/// A validated series with its mean, centered copy and sums of squares: what the closed-form
/// first stage needs, computed once per series.
#[derive(Debug, Default)]
pub(crate) struct Prepared {
    mean: f64,
    centered: Vec<f64>,
    /// `Σ (x - mean)²`.
    css: f64,
    /// `Σ x²`.
    ss: f64,
}

impl Prepared {
    /// Validates `x` (finite, not constant) and fills the sums.
    pub(crate) fn fill(&mut self, x: &[f64]) -> Result<(), QuantError> {
        check_finite(x)?;
        check_not_constant(x)?;
        self.mean = mean(x);
        self.centered.clear();
        self.centered.extend(x.iter().map(|v| v - self.mean));
        self.css = sum_sq(&self.centered);
        self.ss = sum_sq(x);
        if !(self.ss.is_finite() && self.css.is_finite()) {
            return Err(QuantError::Overflow);
        }
        Ok(())
    }
}

/// The cointegrating regression's coefficients and fit.
struct FirstStage {
    hedge_ratio: f64,
    intercept: f64,
    trend_coefs: [f64; 2],
    rsquared: f64,
}

/// Reusable buffers for Engle-Granger tests (one per thread).
#[derive(Debug, Default)]
pub struct CointWorkspace {
    adf: AdfWorkspace,
    spread: Vec<f64>,
    prep0: Prepared,
    prep1: Prepared,
}

impl CointWorkspace {
    /// [`coint`] with this workspace's buffers; the spread is left in [`Self::spread`].
    pub fn coint(
        &mut self,
        y0: &[f64],
        y1: &[f64],
        opts: &CointOptions,
    ) -> Result<CointTest, QuantError> {
        if y0.len() != y1.len() {
            return Err(QuantError::LengthMismatch {
                left: y0.len(),
                right: y1.len(),
            });
        }
        let mut prep0 = std::mem::take(&mut self.prep0);
        let mut prep1 = std::mem::take(&mut self.prep1);
        let result = prep0
            .fill(y0)
            .and_then(|()| prep1.fill(y1))
            .and_then(|()| self.coint_prepared(y0, y1, &prep0, &prep1, opts));
        self.prep0 = prep0;
        self.prep1 = prep1;
        result
    }

    /// The spread of the last successful test.
    pub fn spread(&self) -> &[f64] {
        &self.spread
    }

    /// The test on series already validated and prepared.
    pub(crate) fn coint_prepared(
        &mut self,
        y0: &[f64],
        y1: &[f64],
        p0: &Prepared,
        p1: &Prepared,
        opts: &CointOptions,
    ) -> Result<CointTest, QuantError> {
        debug_assert_eq!(y0.len(), y1.len(), "Invariant: aligned series");
        let n = y0.len();
        let first = match opts.trend {
            Trend::N | Trend::C => self.closed_form(p0, p1, y0, y1, opts.trend),
            Trend::Ct | Trend::Ctt => self.general(y0, y1, opts.trend)?,
        };
        let crit = match opts.trend {
            Trend::N => CriticalValues::NAN,
            trend => mackinnoncrit(2, trend, n as f64 - 1.0)?,
        };
        let mut test = CointTest {
            t_stat: f64::NEG_INFINITY,
            p_value: 0.0,
            crit,
            hedge_ratio: first.hedge_ratio,
            intercept: first.intercept,
            trend_coefs: first.trend_coefs,
            usedlag: 0,
            nobs: 0,
            icbest: None,
            collinear: true,
        };
        // statsmodels: `if res_co.rsquared < 1 - 100 * SQRTEPS` (a NaN R² counts as collinear).
        if first.rsquared < 1.0 - 100.0 * f64::EPSILON.sqrt() {
            let adf_opts = AdfOptions {
                regression: Trend::N,
                maxlag: opts.maxlag,
                autolag: opts.autolag,
            };
            let adf = self.adf.adfuller(&self.spread, &adf_opts)?;
            test.t_stat = adf.stat;
            test.usedlag = adf.usedlag;
            test.nobs = adf.nobs;
            test.icbest = adf.icbest;
            test.collinear = false;
        }
        test.p_value = mackinnonp(test.t_stat, opts.trend, 2)?;
        Ok(test)
    }

    /// OLS of `y0` on `y1` (and a constant) from centered sums; the spread into `self.spread`.
    fn closed_form(
        &mut self,
        p0: &Prepared,
        p1: &Prepared,
        y0: &[f64],
        y1: &[f64],
        trend: Trend,
    ) -> FirstStage {
        self.spread.clear();
        if trend == Trend::N {
            let beta = dot(y0, y1) / p1.ss;
            self.spread
                .extend(y0.iter().zip(y1).map(|(a, b)| a - beta * b));
            let ssr = sum_sq(&self.spread);
            return FirstStage {
                hedge_ratio: beta,
                intercept: 0.0,
                trend_coefs: [0.0; 2],
                rsquared: 1.0 - ssr / p0.ss,
            };
        }
        let beta = dot(&p0.centered, &p1.centered) / p1.css;
        self.spread.extend(
            p0.centered
                .iter()
                .zip(&p1.centered)
                .map(|(a, b)| a - beta * b),
        );
        let ssr = sum_sq(&self.spread);
        FirstStage {
            hedge_ratio: beta,
            intercept: p0.mean - beta * p1.mean,
            trend_coefs: [0.0; 2],
            rsquared: 1.0 - ssr / p0.css,
        }
    }

    /// OLS with trend terms by Householder QR.
    fn general(&mut self, y0: &[f64], y1: &[f64], trend: Trend) -> Result<FirstStage, QuantError> {
        let fit = ols(y0, &[y1], trend)?;
        self.spread.clear();
        self.spread.extend_from_slice(&fit.resid);
        let coef = |i: usize| fit.params.get(i).copied().unwrap_or(0.0);
        Ok(FirstStage {
            hedge_ratio: coef(0),
            intercept: coef(1),
            trend_coefs: [coef(2), coef(3)],
            rsquared: fit.rsquared,
        })
    }
}
