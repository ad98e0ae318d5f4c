//! Engle-Granger against `coint_reference.json`: statsmodels 0.15 on real candles (freqtrade's
//! 5-minute BTC pairs, inner-joined on open time) and statsmodels' macrodata.

use std::collections::BTreeMap;
use std::path::Path;

use kestrel_quant::{Autolag, CointOptions, Trend, coint};
use serde_json::Value;

use crate::support::{MaxErr, data_dir, num, nums, rel_err};

/// `[open_time_ms, open, high, low, close, volume]` rows → close by open time.
fn load_closes(dir: &Path, file: &str) -> BTreeMap<i64, f64> {
    let text = std::fs::read_to_string(dir.join("candles/freqtrade").join(format!("{file}.json")))
        .unwrap_or_else(|e| panic!("read {file}: {e}"));
    let rows: Vec<Vec<f64>> = serde_json::from_str(&text).expect("candle rows");
    rows.iter().map(|r| (r[0] as i64, r[4])).collect()
}

/// A column of statsmodels' macrodata CSV.
fn load_macro(dir: &Path, column: &str) -> Vec<f64> {
    let text =
        std::fs::read_to_string(dir.join("candles/statsmodels_macrodata.csv")).expect("macrodata");
    let mut lines = text.lines();
    let header: Vec<&str> = lines.next().expect("header").split(',').collect();
    let idx = header
        .iter()
        .position(|h| h.trim_matches('"') == column)
        .expect("macrodata column");
    lines
        .map(|l| {
            l.split(',')
                .nth(idx)
                .expect("field")
                .parse()
                .expect("number")
        })
        .collect()
}

/// `"ETH_BTC-5m.close"` or `"ETH_BTC-5m.close[:1000]"` → (file, optional prefix length).
fn parse_name(name: &str) -> (&str, Option<usize>) {
    let (file, rest) = name.split_once(".close").expect("a .close series");
    let prefix = rest
        .strip_prefix("[:")
        .and_then(|r| r.strip_suffix(']'))
        .map(|n| n.parse().expect("slice"));
    (file, prefix)
}

/// The two series of a case, aligned as the generator aligned them.
fn load_pair(dir: &Path, case: &Value) -> (Vec<f64>, Vec<f64>) {
    let (a, b) = (
        case["y0"].as_str().expect("y0"),
        case["y1"].as_str().expect("y1"),
    );
    if let (Some(a), Some(b)) = (a.strip_prefix("macrodata."), b.strip_prefix("macrodata.")) {
        return (load_macro(dir, a), load_macro(dir, b));
    }
    let ((fa, pa), (fb, pb)) = (parse_name(a), parse_name(b));
    let (ca, cb) = (load_closes(dir, fa), load_closes(dir, fb));
    let (mut y0, mut y1): (Vec<f64>, Vec<f64>) = ca
        .iter()
        .filter_map(|(t, v)| cb.get(t).map(|w| (*v, *w)))
        .unzip();
    if let Some(n) = pa.or(pb) {
        y0.truncate(n);
        y1.truncate(n);
    }
    (y0, y1)
}

fn options(case: &Value) -> CointOptions {
    let autolag = case["autolag"].as_str().map(|s| match s {
        "aic" => Autolag::Aic,
        "bic" => Autolag::Bic,
        "t-stat" => Autolag::TStat,
        other => panic!("autolag {other}"),
    });
    CointOptions {
        trend: Trend::parse(case["trend"].as_str().expect("trend")).expect("known trend"),
        maxlag: case["maxlag_arg"].as_u64().map(|k| k as usize),
        autolag,
    }
}

#[test]
fn matches_statsmodels_reference_file() {
    let dir = data_dir();
    let path = dir.join("candles/coint_reference.json");
    if !path.exists() {
        println!("skipped: coint reference: {} not found", path.display());
        return;
    }
    let reference: Value =
        serde_json::from_str(&std::fs::read_to_string(&path).expect("read")).expect("json");
    let mut max = MaxErr::default();
    for case in reference["cases"].as_array().expect("cases") {
        let name = case["name"].as_str().expect("name").to_owned();
        let (mut y0, mut y1) = load_pair(&dir, case);
        assert_eq!(
            y0.len() as u64,
            case["n"].as_u64().expect("n"),
            "{name}: rows after the join"
        );
        if case["transform"] == "log" {
            y0.iter_mut().chain(y1.iter_mut()).for_each(|v| *v = v.ln());
        }
        let got = coint(&y0, &y1, &options(case)).unwrap_or_else(|e| panic!("{name}: {e}"));
        let t = &got.test;
        let at = || name.clone();
        assert_eq!(
            t.usedlag as u64,
            case["adf_usedlag"].as_u64().expect("usedlag"),
            "{name}: usedlag"
        );
        assert_eq!(
            t.nobs as u64,
            case["adf_nobs"].as_u64().expect("nobs"),
            "{name}: nobs"
        );
        let e = rel_err(t.t_stat, num(&case["coint_t"]));
        max.see("t-stat (rel)", e, at);
        assert!(e < 1e-9, "{name}: t {} vs {}", t.t_stat, case["coint_t"]);
        let e = (t.p_value - num(&case["pvalue"])).abs();
        max.see("p-value (abs)", e, at);
        assert!(e < 1e-6, "{name}: p {} vs {}", t.p_value, case["pvalue"]);
        max.see(
            "p-value (rel)",
            rel_err(t.p_value, num(&case["pvalue"])),
            at,
        );
        for (g, w) in t.crit.to_array().iter().zip(nums(&case["crit_1_5_10"])) {
            let e = rel_err(*g, w);
            max.see("crit (rel)", e, at);
            assert!(e < 1e-12, "{name}: crit {g} vs {w}");
        }
        if let Some(ic) = case["adf_icbest"].as_f64() {
            let e = rel_err(t.icbest.expect("icbest with autolag"), ic);
            max.see("icbest (rel)", e, at);
            assert!(e < 1e-9, "{name}: icbest {:?} vs {ic}", t.icbest);
        }
        let params = nums(&case["ols_params"]);
        let mine = [t.hedge_ratio, t.intercept, t.trend_coefs[0]];
        for (g, w) in mine.iter().zip(&params) {
            let e = rel_err(*g, *w);
            max.see("OLS params (rel)", e, at);
            assert!(e < 1e-10, "{name}: params {mine:?} vs {params:?}");
        }
        assert_eq!(got.spread.len(), y0.len());
    }
    max.print("coint_reference.json");
}
