//! The one error type of the stat-arb module, and the config problems it carries.

use std::fmt;

/// One violated rule of a config, with the key path that names the field.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ConfigProblem {
    /// Dotted path of the field, e.g. `signal.entry_z`.
    pub key: &'static str,
    /// What the field must satisfy.
    pub rule: &'static str,
}

impl fmt::Display for ConfigProblem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}: {}", self.key, self.rule)
    }
}

/// Why a stat-arb computation refused its input. Every variant is deterministic (the same input
/// always gives the same error), so none is retryable: fix the data or the config.
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum StatArbError {
    /// The config breaks one or more rules; every problem is listed, not just the first.
    #[error("invalid stat-arb config: {}", list(.problems))]
    InvalidConfig {
        /// Each violated rule with its key path.
        problems: Vec<ConfigProblem>,
    },
    /// The number of names differs from the number of series.
    #[error("{names} names for {series} series")]
    NamesMismatch {
        /// Names supplied.
        names: usize,
        /// Series supplied.
        series: usize,
    },
    /// Fewer than two series: there is no pair to trade.
    #[error("need at least 2 series, got {got}")]
    TooFewSeries {
        /// Series supplied.
        got: usize,
    },
    /// More series than [`crate::statarb::MAX_SERIES`] (the scan is quadratic in them).
    #[error("too many series: {got} (at most {max})")]
    TooManySeries {
        /// Series supplied.
        got: usize,
        /// The limit.
        max: usize,
    },
    /// A series is not aligned with the first one.
    #[error("series {symbol} has {len} bars, series 0 has {expected}")]
    LengthMismatch {
        /// Name of the offending series.
        symbol: String,
        /// Its length.
        len: usize,
        /// The first series' length.
        expected: usize,
    },
    /// A price that is NaN, infinite, zero or negative.
    #[error("series {symbol} has a price that is not finite and positive at bar {bar}")]
    BadPrice {
        /// Name of the offending series.
        symbol: String,
        /// Index of the first bad bar.
        bar: usize,
    },
    /// The training and test windows do not fit in the data even once.
    #[error("windows need {needed} bars (train {train} + test {test}), data has {bars}")]
    WindowsLongerThanData {
        /// Training window, bars.
        train: usize,
        /// Test window, bars.
        test: usize,
        /// `train + test`.
        needed: usize,
        /// Bars in the data.
        bars: usize,
    },
}

/// Joins config problems for the error message.
fn list(problems: &[ConfigProblem]) -> String {
    problems
        .iter()
        .map(ToString::to_string)
        .collect::<Vec<_>>()
        .join("; ")
}

/// Collects config problems so that validation reports all of them at once.
#[derive(Debug, Default)]
pub(crate) struct Problems(Vec<ConfigProblem>);

impl Problems {
    /// Records `rule` for `key` unless `ok`.
    pub(crate) fn check(&mut self, ok: bool, key: &'static str, rule: &'static str) {
        if !ok {
            self.0.push(ConfigProblem { key, rule });
        }
    }

    /// `Ok` when nothing was recorded, else every problem.
    pub(crate) fn finish(self) -> Result<(), StatArbError> {
        if self.0.is_empty() {
            Ok(())
        } else {
            Err(StatArbError::InvalidConfig { problems: self.0 })
        }
    }
}
