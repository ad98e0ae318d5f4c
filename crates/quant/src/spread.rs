//! Statistics of a spread series for mean-reversion trading: the half-life of mean reversion,
//! zero crossings of the demeaned spread, and a rolling z-score.

use crate::QuantError;
use crate::error::check_finite;
use crate::linalg::mean;

/// Speed of mean reversion estimated from `Δs_t = a + λ·s_{t-1} + ε_t`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct HalfLife {
    /// OLS slope λ of `Δs_t` on `s_{t-1}` (with intercept).
    pub lambda: f64,
    /// `-ln 2 / λ` in bars when λ < 0; `None` when λ ≥ 0 (no mean reversion).
    pub bars: Option<f64>,
}

/// Half-life of mean reversion of `spread`: λ is the OLS slope of `Δs_t` on `s_{t-1}` with an
/// intercept (`t = 1..len`), and the half-life is `-ln 2 / λ` bars (the continuous-time
/// Ornstein-Uhlenbeck reading of λ, the usual stat-arb convention). Needs at least 3 values and
/// a lagged spread that is not constant.
pub fn half_life(spread: &[f64]) -> Result<HalfLife, QuantError> {
    check_finite(spread)?;
    let n = spread.len();
    if n < 3 {
        return Err(QuantError::TooFewObservations { got: n, needed: 3 });
    }
    let lagged = &spread[..n - 1];
    let (mx, mut mdy) = (mean(lagged), 0.0);
    for w in spread.windows(2) {
        mdy += w[1] - w[0];
    }
    mdy /= (n - 1) as f64;
    let (mut sxx, mut sxy) = (0.0, 0.0);
    for w in spread.windows(2) {
        let (x, dy) = (w[0] - mx, (w[1] - w[0]) - mdy);
        sxx += x * x;
        sxy += x * dy;
    }
    if !(sxx.is_finite() && sxy.is_finite()) {
        return Err(QuantError::Overflow);
    }
    if sxx <= 0.0 {
        return Err(QuantError::ConstantSeries);
    }
    let lambda = sxy / sxx;
    if !lambda.is_finite() {
        return Err(QuantError::Overflow);
    }
    let bars = (lambda < 0.0).then(|| -std::f64::consts::LN_2 / lambda);
    Ok(HalfLife { lambda, bars })
}

/// Number of sign changes of `spread - mean(spread)`. Values exactly equal to the mean (zero
/// after demeaning) have no sign and are skipped: `+ 0 -` counts one crossing, `+ 0 +` none.
/// Needs at least one value.
pub fn zero_crossings(spread: &[f64]) -> Result<usize, QuantError> {
    check_finite(spread)?;
    if spread.is_empty() {
        return Err(QuantError::TooFewObservations { got: 0, needed: 1 });
    }
    let m = mean(spread);
    let mut last_positive: Option<bool> = None;
    let mut crossings = 0;
    for &v in spread {
        let d = v - m;
        if d == 0.0 {
            continue;
        }
        let positive = d > 0.0;
        if last_positive.is_some_and(|p| p != positive) {
            crossings += 1;
        }
        last_positive = Some(positive);
    }
    Ok(crossings)
}

/// Rolling z-score `(s_t - mean) / std` over the trailing `window` values including `s_t`, with
/// the sample standard deviation (ddof = 1): pandas'
/// `(s - s.rolling(w).mean()) / s.rolling(w).std()`. The first `window - 1` outputs are NaN, as
/// are outputs whose window is constant (zero deviation). Allocates the output; see
/// [`rolling_zscore_into`].
pub fn rolling_zscore(series: &[f64], window: usize) -> Result<Vec<f64>, QuantError> {
    let mut out = vec![0.0; series.len()];
    rolling_zscore_into(series, window, &mut out)?;
    Ok(out)
}

/// [`rolling_zscore`] into a caller buffer of the same length.
///
/// O(n) amortised on ordinary data (each large value leaving the window costs one O(window)
/// recompute): a sliding Welford update of the mean and the sum of squared deviations
/// (never `Σx² - n·mean²`), on values shifted by the window mean at the last exact recompute so
/// a large level costs no digits. Alongside runs a bound on the update's rounding error; the
/// window is recomputed exactly (two passes) every `window` steps and whenever that bound
/// exceeds 1e-12 of the sum of squares (a large value leaving the window), so rounding can
/// neither drift nor cancel catastrophically. An exact run-length check makes a constant window
/// give NaN rather than noise divided by noise.
pub fn rolling_zscore_into(
    series: &[f64],
    window: usize,
    out: &mut [f64],
) -> Result<(), QuantError> {
    check_finite(series)?;
    if window < 2 {
        return Err(QuantError::InvalidArgument(
            "z-score window must be at least 2 (ddof = 1)",
        ));
    }
    if out.len() != series.len() {
        return Err(QuantError::LengthMismatch {
            left: series.len(),
            right: out.len(),
        });
    }
    let w = window as f64;
    let mut state = Window::default();
    let mut run = 0_usize;
    for (t, &x) in series.iter().enumerate() {
        run = if t > 0 && series[t - 1] == x {
            run + 1
        } else {
            1
        };
        if t + 1 < window {
            out[t] = f64::NAN;
            continue;
        }
        if run >= window {
            // A constant window: exact moments for free, and no z-score.
            state = Window {
                shift: x,
                ..Window::default()
            };
            out[t] = f64::NAN;
            continue;
        }
        let start = t + 1 - window;
        if start.is_multiple_of(window) || !state.slide(series[start - 1], x, w) {
            state = Window::exact(&series[start..=t]);
        }
        out[t] = if state.m2 > 0.0 {
            ((x - state.shift) - state.mean) / (state.m2 / (w - 1.0)).sqrt()
        } else {
            f64::NAN
        };
    }
    Ok(())
}

/// Running moments of the values in the window, shifted by `shift`.
#[derive(Debug, Default)]
struct Window {
    shift: f64,
    /// Mean of `x - shift`.
    mean: f64,
    /// Σ (x - shift - mean)².
    m2: f64,
    /// Bound on the rounding error accumulated in `m2` since the last exact recompute.
    m2_err: f64,
}

impl Window {
    /// Two-pass moments of `x`, shifted by their own mean.
    fn exact(x: &[f64]) -> Self {
        let (shift, m2) = two_pass(x);
        Self {
            shift,
            mean: 0.0,
            m2,
            m2_err: 2.0 * x.len() as f64 * f64::EPSILON * m2,
        }
    }

    /// Replaces `old` by `new`; `false` when the rounding bound says to recompute.
    fn slide(&mut self, old: f64, new: f64, w: f64) -> bool {
        let (yo, yn) = (old - self.shift, new - self.shift);
        let mean = self.mean + (yn - yo) / w;
        let term = (yn - yo) * ((yn - mean) + (yo - self.mean));
        self.mean = mean;
        self.m2 += term;
        self.m2_err += 4.0 * f64::EPSILON * (term.abs() + self.m2.abs() + (yn * yn + yo * yo));
        self.m2 > 0.0 && self.m2_err <= 1e-12 * self.m2
    }
}

/// Mean and sum of squared deviations by two passes.
fn two_pass(x: &[f64]) -> (f64, f64) {
    let m = mean(x);
    (m, x.iter().map(|v| (v - m) * (v - m)).sum())
}
