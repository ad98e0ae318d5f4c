//! `kestrel pairs scan`: candle files in both formats, alignment, the documented JSON keys, the
//! statsmodels reference numbers on real candles, filters, and clear errors on bad input.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use kestrel::pairs::{parse_range, parse_time, symbol_of};

fn kestrel(args: &[&str], files: &[PathBuf]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["pairs", "scan"])
        .args(args)
        .arg("--candles")
        .args(files)
        .output()
        .unwrap()
}

fn data_dir() -> PathBuf {
    std::env::var_os("KESTREL_DATA_DIR")
        .map_or_else(kestrel_stdx::testdata::default_dir, PathBuf::from)
}

fn json_rows(out: &Output) -> Vec<serde_json::Value> {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn symbols_drop_the_extension_and_a_trailing_timeframe_only() {
    for (file, symbol) in [
        ("ETH_BTC-5m.json", "ETH_BTC"),
        ("a/b/BTCUSDT-1h.csv", "BTCUSDT"),
        ("XRP_USDT_USDT-5m-futures.json", "XRP_USDT_USDT-5m-futures"),
        (
            "btc-perp-20211231-20220201_1m.csv",
            "btc-perp-20211231-20220201_1m",
        ),
        ("SOL-USD.csv", "SOL-USD"),
        ("-5m.csv", "-5m"),
    ] {
        assert_eq!(symbol_of(Path::new(file)), symbol, "{file}");
    }
}

#[test]
fn times_are_read_as_utc_milliseconds() {
    // Expected values from Python's datetime with tzinfo=UTC.
    assert_eq!(
        parse_time("2021-12-31 23:01:00.000000").unwrap(),
        1_640_991_660_000
    );
    assert_eq!(
        parse_time("2021-12-31T23:01:00Z").unwrap(),
        1_640_991_660_000
    );
    assert_eq!(
        parse_time("1999-02-28 12:00:00.123").unwrap(),
        920_203_200_123
    );
    assert_eq!(parse_time("2024-02-29").unwrap(), 1_709_164_800_000);
    // Integers: seconds below 10^11, else milliseconds.
    assert_eq!(parse_time("1640991660").unwrap(), 1_640_991_660_000);
    assert_eq!(parse_time("1640991660000").unwrap(), 1_640_991_660_000);
    for bad in [
        "",
        "2021-13-01",
        "yesterday",
        "2021-12-31 25:00",
        "12/31/2021",
    ] {
        assert!(parse_time(bad).is_err(), "{bad:?}");
    }
    assert_eq!(parse_range("5..500").unwrap(), (5.0, 500.0));
    assert!(parse_range("500..5").is_err());
    assert!(parse_range("5-500").is_err());
}

#[test]
fn real_candles_give_statsmodels_numbers() {
    let dir = data_dir().join("candles");
    let reference = dir.join("coint_reference.json");
    if !reference.exists() {
        println!("skipped: {} not found", reference.display());
        return;
    }
    let cases: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&reference).unwrap()).unwrap();
    let mut checked = 0;
    for case in cases["cases"].as_array().unwrap() {
        // The scan's defaults: trend c, autolag aic, statsmodels' maxlag.
        if case["trend"] != "c" || case["autolag"] != "aic" || !case["maxlag_arg"].is_null() {
            continue;
        }
        // Whole candle files only (not slices, not the macro data).
        let whole = |key: &str| {
            case[key]
                .as_str()
                .and_then(|s| s.strip_suffix(".close"))
                .is_some_and(|s| s.ends_with("-5m"))
        };
        if !whole("y0") || !whole("y1") {
            continue;
        }
        let file = |key: &str| {
            let name = case[key].as_str().unwrap().trim_end_matches(".close");
            dir.join("freqtrade").join(format!("{name}.json"))
        };
        let log = case["transform"] == "log";
        if !(log || case["transform"] == "none") {
            continue;
        }
        let args: &[&str] = if log {
            &["--json", "--log"]
        } else {
            &["--json"]
        };
        let rows = json_rows(&kestrel(args, &[file("y0"), file("y1")]));
        assert_eq!(rows.len(), 1);
        let row = &rows[0];
        let close = |got: &serde_json::Value, want: &serde_json::Value, rel: f64| {
            let (g, w) = (got.as_f64().unwrap(), want.as_f64().unwrap());
            assert!(
                (g - w).abs() <= rel * w.abs().max(1e-300),
                "{}: {g} vs {w}",
                case["name"]
            );
        };
        close(&row["t_stat"], &case["coint_t"], 1e-9);
        let (p, want_p) = (
            row["p_value"].as_f64().unwrap(),
            case["pvalue"].as_f64().unwrap(),
        );
        assert!(
            (p - want_p).abs() <= 1e-6,
            "{}: p {p} vs {want_p}",
            case["name"]
        );
        close(&row["hedge_ratio"], &case["ols_params"][0], 1e-9);
        close(&row["intercept"], &case["ols_params"][1], 1e-9);
        for (k, i) in [("crit_1", 0), ("crit_5", 1), ("crit_10", 2)] {
            close(&row[k], &case["crit_1_5_10"][i], 1e-12);
        }
        assert_eq!(row["n"].as_u64().unwrap(), case["n"].as_u64().unwrap());
        checked += 1;
    }
    assert!(checked > 0, "no default-option case in the reference file");
}

/// A random walk and a series cointegrated with it, as closes.
fn walks(n: usize) -> (Vec<f64>, Vec<f64>) {
    let mut state = 0x9e37_79b9_7f4a_7c15_u64;
    let mut next = || {
        state ^= state << 13;
        state ^= state >> 7;
        state ^= state << 17;
        (state >> 11) as f64 / (1u64 << 53) as f64 - 0.5
    };
    let (mut x, mut noise) = (100.0, 0.0);
    let (mut a, mut b) = (Vec::new(), Vec::new());
    for _ in 0..n {
        x += next();
        noise = 0.5 * noise + next();
        b.push(x);
        a.push(2.0 * x + 10.0 + noise);
    }
    (a, b)
}

#[test]
fn csv_and_freqtrade_files_align_on_common_times() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = walks(400);
    let t0 = 1_700_000_000_000_i64;
    let minute = 60_000;
    // `A` as CSV with dates, bars 0..400; `B` as freqtrade JSON with ms, bars 50..450 (the last
    // 50 of which `A` lacks), and in reverse order.
    let mut csv = String::from("date,open,high,low,close,volume\n");
    for (i, v) in a.iter().enumerate() {
        let ms = t0 + i as i64 * minute;
        let secs = ms / 1000;
        let (days, rem) = (secs / 86_400, secs % 86_400);
        // 2023-11-14 is day 19675 since 1970-01-01; t0 falls on it.
        assert!((19_675..19_680).contains(&days));
        let day = 14 + (days - 19_675);
        csv.push_str(&format!(
            "2023-11-{day:02} {:02}:{:02}:{:02},0,0,0,{v},0\n",
            rem / 3600,
            rem % 3600 / 60,
            rem % 60
        ));
    }
    let rows: Vec<String> = (50..450)
        .rev()
        .map(|i| {
            let v = if i < 400 { b[i] } else { 1.0 + i as f64 };
            format!("[{},0,0,0,{v},0]", t0 + i as i64 * minute)
        })
        .collect();
    let fa = dir.path().join("AAA-1m.csv");
    let fb = dir.path().join("BBB-1m.json");
    std::fs::write(&fa, csv).unwrap();
    std::fs::write(&fb, format!("[{}]", rows.join(","))).unwrap();
    let row = &json_rows(&kestrel(&["--json"], &[fa.clone(), fb.clone()]))[0];
    assert_eq!(
        (row["a"].as_str(), row["b"].as_str()),
        (Some("AAA"), Some("BBB"))
    );
    assert_eq!(row["n"], 350, "bars 50..400 are common");
    let hedge = row["hedge_ratio"].as_f64().unwrap();
    assert!((hedge - 2.0).abs() < 0.05, "{row}");
    assert!(row["p_value"].as_f64().unwrap() < 0.01, "{row}");
    for key in [
        "a",
        "b",
        "n",
        "hedge_ratio",
        "intercept",
        "t_stat",
        "p_value",
        "crit_1",
        "crit_5",
        "crit_10",
        "half_life",
        "zero_crossings",
    ] {
        assert!(row.get(key).is_some(), "missing {key}: {row}");
    }
    // The same bars pre-aligned give the same numbers.
    let fa2 = dir.path().join("AAA.json");
    let fb2 = dir.path().join("BBB.json");
    let as_json = |v: &[f64]| {
        let rows: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, x)| format!("[{},0,0,0,{x},0]", i))
            .collect();
        format!("[{}]", rows.join(","))
    };
    std::fs::write(&fa2, as_json(&a[50..400])).unwrap();
    std::fs::write(&fb2, as_json(&b[50..400])).unwrap();
    let again = &json_rows(&kestrel(&["--json"], &[fa2, fb2]))[0];
    assert_eq!(again["t_stat"], row["t_stat"]);
    assert_eq!(again["hedge_ratio"], row["hedge_ratio"]);
}

#[test]
fn filters_keep_only_what_they_say_and_rows_are_sorted_by_p() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = walks(600);
    // A third series: an independent walk (reversed steps of `b`).
    let d: Vec<f64> = b.iter().rev().map(|v| v * 0.5 + 3.0).collect();
    let write = |name: &str, v: &[f64]| {
        let p = dir.path().join(name);
        let rows: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, x)| format!("[{i},0,0,0,{x},0]"))
            .collect();
        std::fs::write(&p, format!("[{}]", rows.join(","))).unwrap();
        p
    };
    let files = [
        write("A.json", &a),
        write("B.json", &b),
        write("D.json", &d),
    ];
    let all = json_rows(&kestrel(&["--json"], &files));
    assert_eq!(all.len(), 3);
    let ps: Vec<f64> = all.iter().map(|r| r["p_value"].as_f64().unwrap()).collect();
    assert!(ps.windows(2).all(|w| w[0] <= w[1]), "{ps:?}");
    let kept = json_rows(&kestrel(&["--json", "--max-p", "0.05"], &files));
    assert!(kept.iter().all(|r| r["p_value"].as_f64().unwrap() <= 0.05));
    assert_eq!(kept.len(), ps.iter().filter(|&&p| p <= 0.05).count());
    let crossing = json_rows(&kestrel(&["--json", "--min-crossings", "100000"], &files));
    assert!(crossing.is_empty());
    let half = json_rows(&kestrel(&["--json", "--half-life", "0..1000000"], &files));
    assert_eq!(
        half.len(),
        all.iter().filter(|r| !r["half_life"].is_null()).count()
    );
    // The table names every kept pair.
    let out = kestrel(&[], &files);
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("3 of 3 pairs shown"), "{text}");
}

#[test]
fn bad_input_is_one_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let good = dir.path().join("G.json");
    std::fs::write(&good, "[[1,0,0,0,1.0,0],[2,0,0,0,1.5,0]]").unwrap();
    let no_close = dir.path().join("N.csv");
    std::fs::write(&no_close, "timestamp,open\n1,2\n").unwrap();
    let bad_json = dir.path().join("J.json");
    std::fs::write(&bad_json, "{\"not\": \"rows\"}").unwrap();
    let cases: [(&[PathBuf], &[&str], &str); 5] = [
        (&[good.clone(), no_close.clone()], &[], "no `close` column"),
        (
            &[good.clone(), bad_json.clone()],
            &[],
            "freqtrade JSON array",
        ),
        (
            &[good.clone(), dir.path().join("missing.csv")],
            &[],
            "missing.csv",
        ),
        (&[good.clone(), good.clone()], &[], "both name the symbol G"),
        (
            &[good.clone(), no_close.clone()],
            &["--half-life", "9-3"],
            "--half-life",
        ),
    ];
    for (files, args, fragment) in cases {
        let out = kestrel(args, files);
        assert!(!out.status.success(), "{fragment}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(fragment), "{fragment}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn backtest_statarb_reports_and_writes_the_equity_curve() {
    let dir = tempfile::tempdir().unwrap();
    let (a, b) = walks(1_600);
    let d: Vec<f64> = b.iter().rev().map(|v| v * 0.5 + 3.0).collect();
    let write = |name: &str, v: &[f64]| {
        let p = dir.path().join(name);
        // Hourly bars, so bars per year is inferred as 8,760.
        let rows: Vec<String> = v
            .iter()
            .enumerate()
            .map(|(i, x)| {
                format!(
                    "[{},0,0,0,{x},0]",
                    1_600_000_000_000_i64 + i as i64 * 3_600_000
                )
            })
            .collect();
        std::fs::write(&p, format!("[{}]", rows.join(","))).unwrap();
        p
    };
    let files = [
        write("A-1h.json", &a),
        write("B-1h.json", &b),
        write("D-1h.json", &d),
    ];
    let png = dir.path().join("eq.png");
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args([
            "backtest",
            "statarb",
            "--json",
            "--train-bars",
            "400",
            "--test-bars",
            "200",
            // The generated spread reverts with a half-life of about 1.4 bars.
            "--half-life",
            "0.5..100",
        ])
        .arg("--equity-png")
        .arg(&png)
        .arg("--candles")
        .args(&files)
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let r: serde_json::Value = serde_json::from_slice(&out.stdout).unwrap();
    for key in [
        "pnl",
        "gross_pnl",
        "fees",
        "sharpe",
        "max_drawdown",
        "win_rate",
        "trades",
        "turnover",
        "selected",
        "equity_png",
    ] {
        assert!(r.get(key).is_some(), "missing {key}: {r}");
    }
    assert_eq!(r["bars"], 1_600);
    assert_eq!(r["bars_per_year"], 8_760.0);
    // Windows of 400 + 200 rolled by 200 over 1,600 bars.
    assert_eq!(r["windows"], 6);
    assert!(r["trades"].as_u64().unwrap() > 0, "{r}");
    // The cointegrated pair is what gets selected.
    let selected = r["selected"].to_string();
    assert!(selected.contains("A~B"), "{r}");
    let (pnl, gross, fees) = (
        r["pnl"].as_f64().unwrap(),
        r["gross_pnl"].as_f64().unwrap(),
        r["fees"].as_f64().unwrap(),
    );
    assert!(
        (gross - fees - pnl).abs() <= 1e-6 * gross.abs().max(1.0),
        "{r}"
    );
    let bytes = std::fs::read(&png).unwrap();
    assert_eq!(&bytes[..8], b"\x89PNG\r\n\x1a\n");
    assert_eq!(&bytes[12..16], b"IHDR");

    let bad = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["backtest", "statarb", "--test-bars", "0", "--candles"])
        .args(&files)
        .output()
        .unwrap();
    assert!(!bad.status.success());
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(err.contains("test_bars"), "{err}");
}
