//! Against statsmodels live: seeded random series (cointegrated pairs, independent random walks,
//! near unit roots, price-like and log-price-like levels, lengths 50..3000) go to
//! `tests/py/coint_ref.py` in one call, and every result is compared with this crate's.
//! Tolerances: t-statistics 1e-9 relative, p-values 1e-6 absolute, lag choice and nobs exact.

use kestrel_quant::{
    AdfOptions, Autolag, CointOptions, Trend, adfuller, coint, half_life, mackinnoncrit,
    mackinnonp, norm_cdf, ols, rolling_zscore, zero_crossings,
};
use serde_json::{Value, json};

use crate::support::{MaxErr, Rng, ar1, num, nums, python, random_walk, rel_err, statsmodels};

const COINT_CASES: usize = 260;
const ADF_CASES: usize = 160;
const OLS_CASES: usize = 30;
const SPREAD_CASES: usize = 30;

/// Residual noise with a few AR lags, so the lag search has something to find.
fn ar_noise(rng: &mut Rng, n: usize, sigma: f64) -> Vec<f64> {
    let phi = [
        rng.uniform() * 0.8,
        rng.uniform() * 0.3 - 0.15,
        rng.uniform() * 0.2 - 0.1,
    ];
    let mut u = [0.0; 3];
    (0..n)
        .map(|_| {
            let v = phi[0] * u[0] + phi[1] * u[1] + phi[2] * u[2] + sigma * rng.normal();
            u = [v, u[0], u[1]];
            v
        })
        .collect()
}

/// A random walk whose steps are autocorrelated.
fn integrated_ar(rng: &mut Rng, n: usize, start: f64, sigma: f64) -> Vec<f64> {
    let phi = 0.2 + 0.6 * rng.uniform();
    let steps = ar1(rng, n, phi, sigma);
    let mut v = start;
    steps
        .iter()
        .map(|s| {
            v += s;
            v
        })
        .collect()
}

/// One generated pair, labelled.
fn pair(rng: &mut Rng, n: usize) -> (&'static str, Vec<f64>, Vec<f64>) {
    let kind = rng.range(0, 5);
    let x = match kind {
        3 => random_walk(rng, n, 100.0, 0.5),
        4 => random_walk(rng, n, -2.9, 0.003),
        _ => {
            let start = 10.0 * rng.normal();
            integrated_ar(rng, n, start, 1.0)
        }
    };
    let (a, b) = (5.0 * rng.normal(), 0.2 + rng.uniform());
    let noise = |rng: &mut Rng, scale: f64| {
        let phi = if kind == 2 {
            0.97 + 0.029 * rng.uniform()
        } else {
            0.8 * rng.uniform()
        };
        if kind == 0 {
            ar_noise(rng, n, scale)
        } else {
            ar1(rng, n, phi, scale)
        }
    };
    let (label, c, slope, scale) = match kind {
        0 => ("cointegrated", a, b, 1.0),
        1 => return ("independent", integrated_ar(rng, n, 3.0, 1.0), x),
        2 => ("near unit root", a, b, 1.0),
        3 => ("price levels", 40.0, 0.3, 0.3),
        _ => ("log prices", -0.13, 1.1, 0.002),
    };
    let y = x
        .iter()
        .zip(noise(rng, scale))
        .map(|(x, e)| c + slope * x + e)
        .collect();
    (label, y, x)
}

fn pick_autolag(rng: &mut Rng) -> Option<Autolag> {
    match rng.range(0, 19) {
        0..=6 => Some(Autolag::Aic),
        7..=10 => Some(Autolag::Bic),
        11..=14 => Some(Autolag::TStat),
        _ => None,
    }
}

fn pick_trend(rng: &mut Rng, weights: [usize; 4]) -> Trend {
    let r = rng.range(0, weights.iter().sum::<usize>() - 1);
    let mut acc = 0;
    for (w, t) in weights
        .iter()
        .zip([Trend::N, Trend::C, Trend::Ct, Trend::Ctt])
    {
        acc += w;
        if r < acc {
            return t;
        }
    }
    Trend::C
}

/// `None` half the time, else a lag within statsmodels' limit (and small, to keep it quick).
fn pick_maxlag(rng: &mut Rng, n: usize, terms: usize) -> Option<usize> {
    let limit = (n / 2).saturating_sub(terms + 1).min(14);
    rng.chance(0.5).then(|| rng.range(0, limit))
}

fn autolag_json(a: Option<Autolag>) -> Value {
    a.map_or(Value::Null, |a| json!(a.as_str()))
}

struct CointCase {
    label: &'static str,
    y0: Vec<f64>,
    y1: Vec<f64>,
    opts: CointOptions,
}

struct AdfCase {
    label: &'static str,
    x: Vec<f64>,
    opts: AdfOptions,
}

fn coint_cases(rng: &mut Rng) -> Vec<CointCase> {
    (0..COINT_CASES)
        .map(|_| {
            let n = rng.log_range(50, 3000);
            let (label, y0, y1) = pair(rng, n);
            let trend = pick_trend(rng, [3, 11, 4, 2]);
            let opts = CointOptions {
                trend,
                maxlag: pick_maxlag(rng, n, 0),
                autolag: pick_autolag(rng),
            };
            CointCase {
                label,
                y0,
                y1,
                opts,
            }
        })
        .collect()
}

fn adf_cases(rng: &mut Rng) -> Vec<AdfCase> {
    (0..ADF_CASES)
        .map(|_| {
            let n = rng.log_range(50, 2000);
            let (label, x) = match rng.range(0, 6) {
                6 => {
                    // Trend-dominated: the level is nearly collinear with t (the QR fallback).
                    let w = random_walk(rng, n, 0.0, 0.003);
                    (
                        "trend-dominated",
                        w.iter()
                            .enumerate()
                            .map(|(i, v)| 0.5 * i as f64 + v)
                            .collect(),
                    )
                }
                0 => ("random walk", random_walk(rng, n, 0.0, 1.0)),
                1 => (
                    "drifting walk",
                    integrated_ar(rng, n, 50.0, 1.0)
                        .iter()
                        .enumerate()
                        .map(|(i, v)| v + 0.05 * i as f64)
                        .collect(),
                ),
                2 => ("stationary AR", ar_noise(rng, n, 1.0)),
                3 => ("near unit root", ar1(rng, n, 0.98, 1.0)),
                4 => ("price level", random_walk(rng, n, 250.0, 0.4)),
                _ => ("log price", integrated_ar(rng, n, -3.0, 0.002)),
            };
            let regression = pick_trend(rng, [4, 8, 6, 2]);
            let opts = AdfOptions {
                regression,
                maxlag: pick_maxlag(rng, n, regression.terms()),
                autolag: pick_autolag(rng),
            };
            AdfCase { label, x, opts }
        })
        .collect()
}

/// Random regressions for `ols`: returns (y, regressors, trend).
/// One `ols` case: (y, regressors, trend).
type OlsCase = (Vec<f64>, Vec<Vec<f64>>, Trend);

fn ols_cases(rng: &mut Rng) -> Vec<OlsCase> {
    (0..OLS_CASES)
        .map(|_| {
            let n = rng.range(20, 400);
            let k = rng.range(1, 3);
            let xs: Vec<Vec<f64>> = (0..k)
                .map(|j| random_walk(rng, n, [0.0, 100.0, -3.0][j % 3], 1.0))
                .collect();
            let y = (0..n)
                .map(|i| 1.0 + xs.iter().map(|x| 0.7 * x[i]).sum::<f64>() + rng.normal())
                .collect();
            (y, xs, pick_trend(rng, [2, 5, 3, 1]))
        })
        .collect()
}

fn spread_cases(rng: &mut Rng) -> Vec<(Vec<f64>, usize)> {
    (0..SPREAD_CASES)
        .map(|i| {
            let n = rng.log_range(10, 2000);
            let phi = 0.5 + 0.49 * rng.uniform();
            let mut s = ar1(rng, n, phi, 1.0);
            if i % 3 == 0 {
                s.iter_mut().for_each(|v| *v += 1e4); // a large mean: cancellation-prone
            }
            if i % 5 == 0 {
                let k = n / 2;
                s[k..(k + 10).min(n)].iter_mut().for_each(|v| *v = 7.0); // a constant stretch
            }
            (s, rng.range(2, 60.min(n)))
        })
        .collect()
}

#[test]
fn matches_statsmodels_live() {
    let Some(py) = python("statsmodels live comparison") else {
        return;
    };
    let mut rng = Rng::new(0x6b65_7374_7265_6c31);
    let coints = coint_cases(&mut rng);
    let adfs = adf_cases(&mut rng);
    let olss = ols_cases(&mut rng);
    let spreads = spread_cases(&mut rng);
    let stats: Vec<f64> = (0..90).map(|i| -26.0 + 0.35 * f64::from(i)).collect();
    let mut p_cases = Vec::new();
    for trend in [Trend::N, Trend::C, Trend::Ct, Trend::Ctt] {
        for n in 1..=6 {
            p_cases.extend(stats.iter().map(|&s| (s, trend, n)));
        }
    }
    let mut crit_cases = Vec::new();
    for trend in [Trend::N, Trend::C, Trend::Ct, Trend::Ctt] {
        let max_n = if trend == Trend::N { 1 } else { 12 };
        for n in 1..=max_n {
            crit_cases
                .extend([10.0, 49.0, 202.0, 5759.0, f64::INFINITY].map(|nobs| (n, trend, nobs)));
        }
    }
    let cdf_points: Vec<f64> = (0..460).map(|i| -37.0 + 0.1 * f64::from(i)).collect();
    let input = json!({
        "coint": coints.iter().map(|c| json!({
            "y0": c.y0, "y1": c.y1, "trend": c.opts.trend.as_str(),
            "maxlag": c.opts.maxlag, "autolag": autolag_json(c.opts.autolag),
        })).collect::<Vec<_>>(),
        "adf": adfs.iter().map(|c| json!({
            "x": c.x, "regression": c.opts.regression.as_str(),
            "maxlag": c.opts.maxlag, "autolag": autolag_json(c.opts.autolag),
        })).collect::<Vec<_>>(),
        "ols": olss.iter().map(|(y, xs, t)| json!({"y": y, "x": xs, "trend": t.as_str()})).collect::<Vec<_>>(),
        "mackinnonp": p_cases.iter().map(|(s, t, n)| json!({"stat": s, "regression": t.as_str(), "n": n})).collect::<Vec<_>>(),
        "mackinnoncrit": crit_cases.iter().map(|(n, t, nobs)| json!({
            "n": n, "regression": t.as_str(), "nobs": nobs.is_finite().then_some(*nobs),
        })).collect::<Vec<_>>(),
        "norm_cdf": cdf_points,
        "spread": spreads.iter().map(|(s, w)| json!({"s": s, "window": w})).collect::<Vec<_>>(),
    });
    let reference = statsmodels(&py, &input);
    let mut max = MaxErr::default();
    check_coint(&coints, &reference["coint"], &mut max);
    check_adf(&adfs, &reference["adf"], &mut max);
    check_ols(&olss, &reference["ols"], &mut max);
    check_mackinnon(&p_cases, &crit_cases, &cdf_points, &reference, &mut max);
    check_spread(&spreads, &reference["spread"], &mut max);
    max.print("statsmodels live");
}

/// statsmodels' own error allowance. With `t, t²` columns (trends ct/ctt) its pseudo-inverse
/// on the raw design is accurate only to about cond(X)·ε, which on long samples exceeds 1e-9
/// (checked against 50-digit arithmetic: there this crate is the accurate side); for n/c the
/// designs are well conditioned and no allowance is made.
fn reference_slack(trend: Trend, cond: &Value) -> f64 {
    if trend.terms() <= 1 {
        0.0
    } else {
        10.0 * num(cond) * f64::EPSILON
    }
}

/// Relative error of a t-statistic, absolute below |t| = 1 (a t-value near 0 has no relative
/// precision to speak of: its absolute error is what moves a p-value).
fn t_err(got: f64, want: f64) -> f64 {
    (got - want).abs() / want.abs().max(1.0)
}

fn expect_ok<'a>(what: &str, i: usize, want: &'a Value) -> &'a Value {
    assert!(
        want.get("error").is_none(),
        "{what} case {i}: statsmodels failed: {}",
        want["error"]
    );
    want
}

fn check_coint(cases: &[CointCase], want: &Value, max: &mut MaxErr) {
    let mut lags_seen = [0usize; 3];
    for (i, (c, w)) in cases
        .iter()
        .zip(want.as_array().expect("coint results"))
        .enumerate()
    {
        let w = expect_ok("coint", i, w);
        let tag = || format!("coint #{i} {} n={} {:?}", c.label, c.y0.len(), c.opts);
        let got = coint(&c.y0, &c.y1, &c.opts)
            .unwrap_or_else(|e| panic!("{}: {e}", tag()))
            .test;
        if w["t"].is_null() {
            assert!(
                got.collinear && got.t_stat == f64::NEG_INFINITY,
                "{}: statsmodels says collinear",
                tag()
            );
            continue;
        }
        assert_eq!(
            got.usedlag as u64,
            w["usedlag"].as_u64().expect("usedlag"),
            "{}: usedlag",
            tag()
        );
        assert_eq!(
            got.nobs as u64,
            w["nobs"].as_u64().expect("nobs"),
            "{}: nobs",
            tag()
        );
        lags_seen[got.usedlag.min(2)] += 1;
        let e = t_err(got.t_stat, num(&w["t"]));
        max.see(
            if c.opts.trend.terms() <= 1 {
                "coint t-stat n/c (rel)"
            } else {
                "coint t-stat ct/ctt (rel)"
            },
            e,
            tag,
        );
        let tol = 1e-9 + reference_slack(c.opts.trend, &w["cond"]);
        assert!(e < tol, "{}: t {} vs {}", tag(), got.t_stat, w["t"]);
        let e = (got.p_value - num(&w["p"])).abs();
        max.see("coint p-value (abs)", e, tag);
        assert!(e < 1e-6, "{}: p {} vs {}", tag(), got.p_value, w["p"]);
        max.see(
            "coint p-value (rel)",
            rel_err(got.p_value, num(&w["p"])),
            tag,
        );
        if let Some(ic) = w["icbest"].as_f64() {
            let e = rel_err(got.icbest.expect("icbest"), ic);
            max.see("coint icbest (rel)", e, tag);
            assert!(e < 1e-9, "{}: icbest {:?} vs {ic}", tag(), got.icbest);
        }
        for (g, wc) in got.crit.to_array().iter().zip(nums(&w["crit"])) {
            assert!(
                rel_err(*g, wc) < 1e-12 || (g.is_nan() && wc.is_nan()),
                "{}: crit {g} vs {wc}",
                tag()
            );
        }
        let params = nums(&w["params"]);
        let mine = [
            got.hedge_ratio,
            got.intercept,
            got.trend_coefs[0],
            got.trend_coefs[1],
        ];
        // statsmodels' pseudo-inverse is accurate to about cond(X)·ε·‖β‖, which for the raw
        // `t, t²` columns of trends ct/ctt (cond up to 1e8) is far looser than Householder QR
        // on the same design (checked against 60-digit arithmetic); allow for its error.
        let norm = params.iter().map(|p| p * p).sum::<f64>().sqrt();
        let slack = 10.0 * num(&w["cond"]) * f64::EPSILON * norm;
        for (g, p) in mine.iter().zip(&params) {
            let e = rel_err(*g, *p);
            let name = if c.opts.trend.terms() <= 1 {
                "coint OLS params n/c (rel)"
            } else {
                "coint OLS params ct/ctt (rel)"
            };
            max.see(name, e, tag);
            assert!(
                (g - p).abs() <= 1e-9 * p.abs() + slack,
                "{}: params {mine:?} vs {params:?}",
                tag()
            );
        }
    }
    println!("coint usedlag 0 / 1 / ≥2: {lags_seen:?}");
}

fn check_adf(cases: &[AdfCase], want: &Value, max: &mut MaxErr) {
    for (i, (c, w)) in cases
        .iter()
        .zip(want.as_array().expect("adf results"))
        .enumerate()
    {
        let w = expect_ok("adf", i, w);
        let tag = || format!("adf #{i} {} n={} {:?}", c.label, c.x.len(), c.opts);
        let got = adfuller(&c.x, &c.opts).unwrap_or_else(|e| panic!("{}: {e}", tag()));
        assert_eq!(
            got.usedlag as u64,
            w["usedlag"].as_u64().expect("usedlag"),
            "{}: usedlag",
            tag()
        );
        assert_eq!(
            got.nobs as u64,
            w["nobs"].as_u64().expect("nobs"),
            "{}: nobs",
            tag()
        );
        let e = t_err(got.stat, num(&w["t"]));
        max.see(
            if c.opts.regression.terms() <= 1 {
                "adf t-stat n/c (rel)"
            } else {
                "adf t-stat ct/ctt (rel)"
            },
            e,
            tag,
        );
        let tol = 1e-9 + reference_slack(c.opts.regression, &w["cond"]);
        assert!(e < tol, "{}: t {} vs {}", tag(), got.stat, w["t"]);
        let e = (got.p_value - num(&w["p"])).abs();
        max.see("adf p-value (abs)", e, tag);
        assert!(e < 1e-6, "{}: p {} vs {}", tag(), got.p_value, w["p"]);
        if let Some(ic) = w["icbest"].as_f64() {
            let e = rel_err(got.icbest.expect("icbest"), ic);
            max.see("adf icbest (rel)", e, tag);
            assert!(e < 1e-9, "{}: icbest {:?} vs {ic}", tag(), got.icbest);
        }
        for (g, wc) in got.crit.to_array().iter().zip(nums(&w["crit"])) {
            let e = rel_err(*g, wc);
            max.see("adf crit (rel)", e, tag);
            assert!(e < 1e-12, "{}: crit {g} vs {wc}", tag());
        }
    }
}

fn check_ols(cases: &[OlsCase], want: &Value, max: &mut MaxErr) {
    for (i, ((y, xs, trend), w)) in cases
        .iter()
        .zip(want.as_array().expect("ols results"))
        .enumerate()
    {
        let w = expect_ok("ols", i, w);
        let tag = || format!("ols #{i} n={} k={} {trend}", y.len(), xs.len());
        let cols: Vec<&[f64]> = xs.iter().map(Vec::as_slice).collect();
        let got = ols(y, &cols, *trend).unwrap_or_else(|e| panic!("{}: {e}", tag()));
        let bse = nums(&w["bse"]);
        for ((g, p), s) in got.params.iter().zip(nums(&w["params"])).zip(&bse) {
            let e = (g - p).abs() / p.abs().max(*s);
            max.see("ols params (rel)", e, tag);
            assert!(e < 1e-9, "{}: param {g} vs {p}", tag());
        }
        for (name, g, wv) in [
            ("ols bse (rel)", &got.bse, nums(&w["bse"])),
            ("ols tvalues (rel)", &got.tvalues, nums(&w["tvalues"])),
        ] {
            for (a, b) in g.iter().zip(&wv) {
                let e = rel_err(*a, *b).min((a - b).abs());
                max.see(name, e, tag);
                assert!(e < 1e-9, "{}: {name} {a} vs {b}", tag());
            }
        }
        for (name, g, key) in [
            ("ols ssr (rel)", got.ssr, "ssr"),
            ("ols llf (rel)", got.llf, "llf"),
            ("ols aic (rel)", got.aic, "aic"),
            ("ols bic (rel)", got.bic, "bic"),
            ("ols rsquared (rel)", got.rsquared, "rsquared"),
        ] {
            let e = rel_err(g, num(&w[key]));
            max.see(name, e, tag);
            assert!(e < 1e-10, "{}: {key} {g} vs {}", tag(), w[key]);
        }
        assert_eq!(got.df_resid as f64, num(&w["df_resid"]));
    }
}

fn check_mackinnon(
    p_cases: &[(f64, Trend, usize)],
    crit_cases: &[(usize, Trend, f64)],
    cdf_points: &[f64],
    reference: &Value,
    max: &mut MaxErr,
) {
    for ((stat, trend, n), w) in p_cases
        .iter()
        .zip(reference["mackinnonp"].as_array().expect("p"))
    {
        let got = mackinnonp(*stat, *trend, *n).expect("p-value");
        let want = num(&w["p"]);
        let tag = || format!("mackinnonp({stat}, {trend}, N={n})");
        max.see("mackinnonp (abs)", (got - want).abs(), tag);
        max.see("mackinnonp (rel)", rel_err(got, want), tag);
        assert!(rel_err(got, want) < 1e-13, "{}: {got} vs {want}", tag());
    }
    for ((n, trend, nobs), w) in crit_cases
        .iter()
        .zip(reference["mackinnoncrit"].as_array().expect("crit"))
    {
        let got = mackinnoncrit(*n, *trend, *nobs).expect("crit");
        for (g, wc) in got.to_array().iter().zip(nums(&w["crit"])) {
            let e = rel_err(*g, wc);
            max.see("mackinnoncrit (rel)", e, || {
                format!("N={n} {trend} nobs={nobs}")
            });
            assert!(
                e < 1e-14,
                "mackinnoncrit(N={n}, {trend}, {nobs}): {g} vs {wc}"
            );
        }
    }
    for (x, w) in cdf_points
        .iter()
        .zip(reference["norm_cdf"].as_array().expect("cdf"))
    {
        let (got, want) = (norm_cdf(*x), num(w));
        let e = rel_err(got, want);
        max.see("norm_cdf vs scipy (rel)", e, || format!("x={x}"));
        assert!(e < 1e-13, "norm_cdf({x}) = {got:e} vs scipy {want:e}");
    }
}

fn check_spread(cases: &[(Vec<f64>, usize)], want: &Value, max: &mut MaxErr) {
    for (i, ((s, window), w)) in cases
        .iter()
        .zip(want.as_array().expect("spread results"))
        .enumerate()
    {
        let w = expect_ok("spread", i, w);
        let tag = || format!("spread #{i} n={} window={window}", s.len());
        let hl = half_life(s).expect("half-life");
        let e = rel_err(hl.lambda, num(&w["lambda"]));
        max.see("half-life lambda (rel)", e, tag);
        assert!(
            e < 1e-9,
            "{}: lambda {} vs {}",
            tag(),
            hl.lambda,
            w["lambda"]
        );
        assert_eq!(
            hl.bars.is_some(),
            !w["half_life"].is_null(),
            "{}: half-life defined",
            tag()
        );
        assert_eq!(
            zero_crossings(s).expect("crossings") as u64,
            w["crossings"].as_u64().expect("n"),
            "{}",
            tag()
        );
        let z = rolling_zscore(s, *window).expect("z-score");
        let exact = nums(&w["z_two_pass"]);
        for (t, ((g, p), x)) in z.iter().zip(nums(&w["z"])).zip(exact).enumerate() {
            if p.is_nan() {
                assert!(g.is_nan(), "{}: z[{t}] = {g}, pandas NaN", tag());
                continue;
            }
            // Against exact per-window moments tightly; against pandas' online update loosely
            // (it loses about eps·(level/deviation)² on large-level data, 1e-8 here).
            // z is only defined to about ε·|level|/σ: the inputs' own rounding moves it that much.
            let win = &s[t + 1 - window..=t];
            let level = win.iter().fold(0.0_f64, |m, v| m.max(v.abs()));
            let mean = win.iter().sum::<f64>() / *window as f64;
            let sd = (win.iter().map(|v| (v - mean) * (v - mean)).sum::<f64>()
                / (*window as f64 - 1.0))
                .sqrt();
            let e = (g - x).abs() / (1.0 + level / sd);
            max.see("z-score vs two-pass (abs / (1+|x|/sd))", e, tag);
            assert!(e < 1e-14, "{}: z[{t}] {g} vs two-pass {x}", tag());
            let e = (g - p).abs();
            max.see("z-score vs pandas (abs)", e, tag);
            assert!(e < 1e-6, "{}: z[{t}] {g} vs pandas {p}", tag());
        }
    }
}
