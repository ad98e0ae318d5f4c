//! Spread statistics: the rolling z-score against a naive two-pass computation, zero-crossing
//! and half-life definitions on hand-checked series.

use kestrel_quant::{QuantError, half_life, rolling_zscore, zero_crossings};

use crate::support::{Rng, ar1, random_walk};

/// `(s_t - mean) / std(ddof = 1)` over each window, by two passes per window.
fn naive_zscore(s: &[f64], window: usize) -> Vec<f64> {
    (0..s.len())
        .map(|t| {
            if t + 1 < window {
                return f64::NAN;
            }
            let win = &s[t + 1 - window..=t];
            let mean = win.iter().sum::<f64>() / window as f64;
            let var =
                win.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>() / (window - 1) as f64;
            if var == 0.0 {
                f64::NAN
            } else {
                (s[t] - mean) / var.sqrt()
            }
        })
        .collect()
}

#[test]
fn zscore_matches_two_pass() {
    let mut rng = Rng::new(11);
    let mut cases: Vec<(Vec<f64>, usize)> = Vec::new();
    for window in [2, 3, 17, 100] {
        cases.push((ar1(&mut rng, 900, 0.9, 1.0), window));
        // A large level against a small deviation: a naive Σx² formula loses everything here.
        cases.push((random_walk(&mut rng, 900, 1e6, 0.01), window));
        // Jumps: big values entering and leaving the window.
        let jumps: Vec<f64> = ar1(&mut rng, 900, 0.5, 1.0)
            .iter()
            .enumerate()
            .map(|(i, v)| if (i / 50) % 3 == 0 { v + 1e7 } else { *v })
            .collect();
        cases.push((jumps, window));
        // Constant stretches longer than the window.
        let flat: Vec<f64> = (0..900)
            .map(|i| {
                if (i / 150) % 2 == 0 {
                    3.25
                } else {
                    f64::from(i % 7)
                }
            })
            .collect();
        cases.push((flat, window));
    }
    for (s, window) in &cases {
        let got = rolling_zscore(s, *window).unwrap();
        let want = naive_zscore(s, *window);
        for (t, (g, w)) in got.iter().zip(&want).enumerate() {
            if w.is_nan() {
                assert!(
                    g.is_nan(),
                    "window {window}, t {t}: {g} where the window is constant"
                );
                continue;
            }
            let win = &s[t + 1 - window..=t];
            let level = win.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let mean = win.iter().sum::<f64>() / *window as f64;
            let sd = (win.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()
                / (*window - 1) as f64)
                .sqrt();
            // Both are exact to the inputs' own rounding, ε·|level|/σ.
            let tol = 1e-13 * (1.0 + level / sd);
            assert!((g - w).abs() <= tol, "window {window}, t {t}: {g} vs {w}");
        }
    }
}

#[test]
fn zscore_edges() {
    assert!(rolling_zscore(&[1.0, 2.0], 1).is_err());
    assert!(rolling_zscore(&[1.0, f64::NAN], 2).is_err());
    let z = rolling_zscore(&[1.0, 2.0, 3.0], 5).unwrap();
    assert!(
        z.iter().all(|v| v.is_nan()),
        "window longer than the series: all NaN"
    );
    // Window 2 of (1, 3): mean 2, sd √2, z = 1/√2.
    let z = rolling_zscore(&[1.0, 3.0], 2).unwrap();
    assert!((z[1] - std::f64::consts::FRAC_1_SQRT_2).abs() < 1e-15);
}

#[test]
fn zero_crossings_definition() {
    let cases: [(&[f64], usize); 6] = [
        (&[1.0, -1.0], 1),
        (&[2.0, 1.0, 0.0], 1),      // demeaned +1, 0, -1: the zero is skipped
        (&[2.0, 1.0, 2.0, 1.0], 3), // ±0.5 alternating
        (&[0.0, 2.0, 1.0, 2.0, 0.0], 2), // mean 1: -, +, 0, +, -
        (&[5.0, 5.0, 5.0], 0),      // all exactly at the mean
        (&[7.0], 0),
    ];
    for (s, want) in cases {
        assert_eq!(zero_crossings(s).unwrap(), want, "{s:?}");
    }
    assert_eq!(
        zero_crossings(&[]),
        Err(QuantError::TooFewObservations { got: 0, needed: 1 })
    );
}

#[test]
fn half_life_of_ar1() {
    // Δs = (φ - 1)·s_{t-1} + ε, so λ ≈ φ - 1 and the half-life ≈ ln 2 / (1 - φ).
    let mut rng = Rng::new(5);
    let s = ar1(&mut rng, 50_000, 0.9, 1.0);
    let hl = half_life(&s).unwrap();
    assert!((hl.lambda + 0.1).abs() < 0.01, "lambda {}", hl.lambda);
    let bars = hl.bars.expect("mean reverting");
    assert!(
        (bars - std::f64::consts::LN_2 / 0.1).abs() < 0.7,
        "half-life {bars}"
    );
    // An explosive series does not revert.
    let explosive: Vec<f64> = (0..50).map(|i| 1.1_f64.powi(i)).collect();
    assert_eq!(half_life(&explosive).unwrap().bars, None);
    assert_eq!(
        half_life(&[1.0, 1.0, 1.0, 1.0]),
        Err(QuantError::ConstantSeries)
    );
    assert!(matches!(
        half_life(&[1.0, 2.0]),
        Err(QuantError::TooFewObservations { .. })
    ));
}
