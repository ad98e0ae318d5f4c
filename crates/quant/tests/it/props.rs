//! No input panics: arbitrary `f64` vectors (NaN, infinities, subnormals, huge values, constant
//! and very short series) through every public entry point. Errors are fine; panics are not,
//! and every `Ok` carries finite numbers in range.

use kestrel_quant::{
    AdfOptions, Autolag, CointOptions, KellyConfig, ScanOptions, Trend, adfuller, coint, half_life,
    kelly_fraction, mackinnoncrit, mackinnonp, ols, rolling_zscore, scan, zero_crossings,
};
use proptest::prelude::*;

fn value() -> impl Strategy<Value = f64> {
    prop_oneof![
        4 => -1e3..1e3_f64,
        1 => any::<f64>(),
        1 => Just(0.0),
        1 => Just(f64::NAN),
        1 => Just(f64::INFINITY),
        1 => prop::sample::select(vec![1e300, -1e300, 1e-310, 1e160, 7.0]),
    ]
}

fn series() -> impl Strategy<Value = Vec<f64>> {
    prop_oneof![
        3 => prop::collection::vec(value(), 0..70),
        1 => (value(), 0..40_usize).prop_map(|(v, n)| vec![v; n]),
        // Mostly-finite walks long enough to reach the regressions.
        2 => prop::collection::vec(-1.0..1.0_f64, 10..90).prop_map(|steps| {
            steps.iter().scan(0.0, |acc, s| { *acc += s; Some(*acc) }).collect()
        }),
    ]
}

fn trend() -> impl Strategy<Value = Trend> {
    prop::sample::select(vec![Trend::N, Trend::C, Trend::Ct, Trend::Ctt])
}

fn autolag() -> impl Strategy<Value = Option<Autolag>> {
    prop::sample::select(vec![
        None,
        Some(Autolag::Aic),
        Some(Autolag::Bic),
        Some(Autolag::TStat),
    ])
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 200, ..ProptestConfig::default() })]

    #[test]
    fn adf_never_panics(x in series(), regression in trend(), maxlag in prop::option::of(0..12_usize), autolag in autolag()) {
        if let Ok(r) = adfuller(&x, &AdfOptions { regression, maxlag, autolag }) {
            prop_assert!(r.stat.is_finite());
            prop_assert!((0.0..=1.0).contains(&r.p_value));
            prop_assert!(r.nobs + r.usedlag + 1 == x.len());
        }
    }

    #[test]
    fn coint_never_panics(a in series(), b in series(), trend in trend(), maxlag in prop::option::of(0..8_usize), autolag in autolag()) {
        let n = a.len().min(b.len());
        let (a, b) = if a.len() % 3 == 0 { (&a[..], &b[..]) } else { (&a[..n], &b[..n]) };
        if let Ok(r) = coint(a, b, &CointOptions { trend, maxlag, autolag }) {
            prop_assert!(r.test.t_stat.is_finite() || r.test.collinear);
            prop_assert!((0.0..=1.0).contains(&r.test.p_value));
            prop_assert_eq!(r.spread.len(), a.len());
        }
        let results = scan(&[a, b, a], &ScanOptions { coint: CointOptions { trend, maxlag, autolag }, ..ScanOptions::default() });
        prop_assert_eq!(results.len(), 3);
    }

    #[test]
    fn ols_and_spread_never_panic(y in series(), x in series(), trend in trend(), window in 0..12_usize) {
        let n = y.len().min(x.len());
        let _ = ols(&y[..n], &[&x[..n]], trend);
        let _ = ols(&y, &[], trend);
        if let Ok(h) = half_life(&y) {
            prop_assert!(h.lambda.is_finite());
            prop_assert!(h.bars.is_none_or(|b| b > 0.0));
        }
        let _ = zero_crossings(&y);
        if let Ok(z) = rolling_zscore(&y, window) {
            prop_assert_eq!(z.len(), y.len());
        }
    }

    #[test]
    fn scalar_functions_never_panic(stat in value(), nobs in value(), n in 0..14_usize, trend in trend(), p in value(), b in value(), f in value(), cap in value()) {
        if let Ok(p) = mackinnonp(stat, trend, n) {
            prop_assert!((0.0..=1.0).contains(&p));
        }
        let _ = mackinnoncrit(n, trend, nobs);
        if let Ok(k) = kelly_fraction(p, b, KellyConfig { fraction: f, cap }) {
            prop_assert!(k >= 0.0 && k <= cap);
        }
    }
}

/// Found by the proptest above in CI: trend "n" with N = 1 has no upper bound τ_max, and the
/// p-value at +inf (or at a statistic so large the cubic overflows) was NaN.
#[test]
fn p_values_at_the_extremes_are_zero_or_one() {
    for trend in [Trend::N, Trend::C, Trend::Ct, Trend::Ctt] {
        for n in 1..=6 {
            assert_eq!(
                mackinnonp(f64::INFINITY, trend, n),
                Ok(1.0),
                "{trend:?} {n}"
            );
            assert_eq!(
                mackinnonp(f64::NEG_INFINITY, trend, n),
                Ok(0.0),
                "{trend:?} {n}"
            );
            assert_eq!(mackinnonp(1e300, trend, n), Ok(1.0), "{trend:?} {n}");
            assert_eq!(mackinnonp(-1e300, trend, n), Ok(0.0), "{trend:?} {n}");
        }
    }
}
