//! Position sizing by the Kelly criterion for a binary bet, scaled down ("fractional Kelly") and
//! capped, as a strategy configures it.

use crate::QuantError;

/// The configured scaling of the Kelly fraction.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct KellyConfig {
    /// Multiplier on the full Kelly fraction, e.g. 0.5 for half Kelly (≥ 0).
    pub fraction: f64,
    /// Largest fraction of capital ever returned (≥ 0).
    pub cap: f64,
}

/// Fraction of capital to stake on a bet won with probability `win_rate` that pays
/// `payoff_ratio` times the stake on a win and loses the stake otherwise:
/// `f* = p - (1 - p)/b`, times `config.fraction`, clamped to `[0, config.cap]`. A negative (or
/// zero) edge gives 0. Errors when `p ∉ [0, 1]`, `b ≤ 0`, or the config is negative or not
/// finite.
pub fn kelly_fraction(
    win_rate: f64,
    payoff_ratio: f64,
    config: KellyConfig,
) -> Result<f64, QuantError> {
    if !(0.0..=1.0).contains(&win_rate) {
        return Err(QuantError::InvalidArgument("win rate must lie in [0, 1]"));
    }
    if !(payoff_ratio > 0.0 && payoff_ratio.is_finite()) {
        return Err(QuantError::InvalidArgument(
            "payoff ratio must be positive and finite",
        ));
    }
    if !(config.fraction >= 0.0
        && config.fraction.is_finite()
        && config.cap >= 0.0
        && config.cap.is_finite())
    {
        return Err(QuantError::InvalidArgument(
            "Kelly fraction and cap must be finite and non-negative",
        ));
    }
    let full = win_rate - (1.0 - win_rate) / payoff_ratio;
    if full <= 0.0 {
        return Ok(0.0);
    }
    Ok((full * config.fraction).min(config.cap))
}

#[cfg(test)]
mod tests {
    use super::*;

    const HALF: KellyConfig = KellyConfig {
        fraction: 0.5,
        cap: 0.25,
    };

    #[test]
    fn table() {
        let cases = [
            // (p, b, want)
            (0.6, 1.0, 0.1),     // f* = 0.2, half = 0.1
            (0.5, 1.0, 0.0),     // no edge
            (0.4, 1.0, 0.0),     // negative edge
            (1.0, 2.0, 0.25),    // f* = 1, half = 0.5, capped
            (0.0, 5.0, 0.0),     // never wins
            (0.55, 2.0, 0.1625), // f* = 0.55 - 0.225 = 0.325, half
        ];
        for (p, b, want) in cases {
            let got = kelly_fraction(p, b, HALF).unwrap();
            assert!((got - want).abs() < 1e-15, "p={p} b={b}: {got} != {want}");
        }
    }

    #[test]
    fn rejects_bad_input() {
        assert!(kelly_fraction(1.1, 1.0, HALF).is_err());
        assert!(kelly_fraction(f64::NAN, 1.0, HALF).is_err());
        assert!(kelly_fraction(0.6, 0.0, HALF).is_err());
        assert!(kelly_fraction(0.6, f64::INFINITY, HALF).is_err());
        assert!(
            kelly_fraction(
                0.6,
                1.0,
                KellyConfig {
                    fraction: -1.0,
                    cap: 1.0
                }
            )
            .is_err()
        );
        assert!(
            kelly_fraction(
                0.6,
                1.0,
                KellyConfig {
                    fraction: 1.0,
                    cap: f64::NAN
                }
            )
            .is_err()
        );
    }
}
