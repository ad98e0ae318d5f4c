//! Statistics for the stat-arb lane. Pure functions over `f64` slices: no I/O, no clock, no
//! threads except the pair scan's scoped workers, no allocation beyond the result buffers a call
//! documents (the `*Workspace` types reuse theirs).
//!
//! The numbers match statsmodels 0.15; each module says exactly what it reproduces:
//!
//! - [`ols()`]: least squares with statsmodels' standard errors, log-likelihood, AIC/BIC.
//! - [`adf`]: the augmented Dickey-Fuller test (`adfuller`), with statsmodels' lag search done
//!   fast on one shared Gram matrix.
//! - [`mackinnon`]: MacKinnon's p-values (1994) and critical values (2010); [`normal`] supplies
//!   the normal CDF they need.
//! - [`coint()`]: the Engle-Granger test (statsmodels' `coint`), giving the hedge ratio and
//!   the spread.
//! - [`scan()`]: Engle-Granger over every pair of a universe, in parallel.
//! - [`spread`]: half-life, zero crossings and rolling z-score of a spread; [`kelly`]: sizing.
//! - [`johansen`]: the Johansen tests.
//!
//! Data flows `scan` → per pair `coint` (closed-form first stage → `adf` on the residuals →
//! `mackinnon`), and a selected pair's spread → `spread` statistics → `kelly` sizing. Every
//! function validates its input and returns a [`QuantError`] rather than panic; NaN appears only
//! where documented (z-score warm-up, the critical values of a trend-`n` Engle-Granger test).

#![forbid(unsafe_code)]

pub mod adf;
pub mod coint;
mod error;
pub mod johansen;
pub mod kelly;
mod linalg;
pub mod mackinnon;
pub mod normal;
pub mod ols;
pub mod scan;
pub mod spread;
mod trend;

pub use adf::{AdfOptions, AdfResult, AdfWorkspace, Autolag, adfuller};
pub use coint::{Coint, CointOptions, CointTest, CointWorkspace, coint};
pub use error::QuantError;
pub use kelly::{KellyConfig, kelly_fraction};
pub use mackinnon::{CriticalValues, mackinnoncrit, mackinnonp};
pub use normal::{erf, erfc, norm_cdf};
pub use ols::{OlsFit, ols};
pub use scan::{PairResult, ScanOptions, scan};
pub use spread::{HalfLife, half_life, rolling_zscore, rolling_zscore_into, zero_crossings};
pub use trend::Trend;
