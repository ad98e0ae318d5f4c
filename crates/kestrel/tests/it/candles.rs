//! `kestrel candles fetch` against the five simulated venues: every venue paged as it answers,
//! the bars kept in the journal exactly, and the freqtrade file readable by `pairs scan`.

use kestrel::bench_xarb::SimVenues;
use kestrel::candles::{FetchArgs, fetch};
use kestrel_types::cex::{Candle, Fixed, Interval, Scale, Venue};
use kestrel_venues::orders::Scales;

/// `n` 5-minute bars from `t0`, a slow walk with exact prices at 2 digits, volumes at 5.
fn history(t0: u64, n: usize) -> Vec<Candle> {
    (0..n as u64)
        .map(|i| {
            let close = 6_000_000 + (i * 7_919) % 50_000;
            Candle {
                open_ms: t0 + i * Interval::M5.ms(),
                open: Fixed(close - 100),
                high: Fixed(close + 500),
                low: Fixed(close - 700),
                close: Fixed(close),
                volume: Fixed(100_000 + i),
            }
        })
        .collect()
}

#[test]
fn every_venue_pages_its_history_into_the_journal_and_a_file() {
    let sim = SimVenues::start(1_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("k.sqlite");
    let t0 = 1_700_000_100_000_u64 - 1_700_000_100_000 % Interval::M5.ms();
    let all = history(t0, 2_500);
    let scales = Scales {
        price: Scale::new(2).unwrap(),
        size: Scale::new(5).unwrap(),
    };
    for (i, venue) in sim.names().into_iter().enumerate() {
        sim.set_candles(i, Interval::M5, all.clone());
        let (url, symbol) = sim.rest(i).unwrap();
        let out = dir.path().join(format!("{}-5m.json", venue.name()));
        // The range leaves out the first 100 and last 100 bars.
        let (from_ms, to_ms) = (all[100].open_ms, all[2_399].open_ms);
        let args = FetchArgs {
            venue,
            symbol: symbol.to_owned(),
            interval: Interval::M5,
            from_ms,
            to_ms,
            url,
            scales,
            journal: Some(journal.clone()),
            out: Some(out.clone()),
            progress: false,
        };
        let (report, got) = fetch(&args).unwrap();
        let want: Vec<Candle> = if venue == Venue::Kraken {
            // Kraken keeps its latest 720 bars only; those within the range.
            all[all.len() - 720..]
                .iter()
                .filter(|c| c.open_ms <= to_ms)
                .copied()
                .collect()
        } else {
            all[100..2_400].to_vec()
        };
        assert_eq!(got, want, "{venue}");
        assert_eq!(report.bars, want.len(), "{venue}");
        assert_eq!(report.missing, 0, "{venue}");
        if venue != Venue::Kraken {
            // 2,300 bars take several pages at every venue's maximum (300 to 1,000).
            assert!(report.requests >= 3, "{venue}: {report:?}");
        }
        // The journal has them exactly.
        let reader = kestrel_store::open_readonly(&journal).unwrap();
        let rows = reader
            .candles(venue, symbol, Interval::M5, 0, u64::MAX)
            .unwrap();
        let kept: Vec<Candle> = rows.iter().map(|r| r.candle).collect();
        assert_eq!(kept, want, "{venue}");
        // And the file reads back as the same closes.
        let loaded = kestrel::pairs::load(&out).unwrap();
        assert_eq!(loaded.symbol, venue.name());
        let closes: Vec<f64> = want.iter().map(|c| c.close.0 as f64 / 100.0).collect();
        assert_eq!(loaded.closes, closes, "{venue}");
    }
    // Fetching again adds nothing new: the journal upserts.
    let reader = kestrel_store::open_readonly(&journal).unwrap();
    let (url, symbol) = sim.rest(0).unwrap();
    let before = reader
        .candles(Venue::Binance, symbol, Interval::M5, 0, u64::MAX)
        .unwrap()
        .len();
    drop(reader);
    fetch(&FetchArgs {
        venue: Venue::Binance,
        symbol: symbol.to_owned(),
        interval: Interval::M5,
        from_ms: all[0].open_ms,
        to_ms: all[200].open_ms,
        url,
        scales,
        journal: Some(journal.clone()),
        out: None,
        progress: false,
    })
    .unwrap();
    let after = kestrel_store::open_readonly(&journal)
        .unwrap()
        .candles(Venue::Binance, symbol, Interval::M5, 0, u64::MAX)
        .unwrap()
        .len();
    assert_eq!(
        after,
        before + 100,
        "only the 100 bars not yet kept were added"
    );
}

#[test]
fn bad_arguments_fail_with_one_line() {
    for (args, fragment) in [
        (vec!["--venue", "ftx"], "--venue"),
        (vec!["--interval", "7m"], "--interval"),
        (vec!["--from", "yesterday"], "--from"),
        (vec!["--url", "ftp://x"], "--url"),
        (vec!["--price-digits", "30"], "--price-digits"),
    ] {
        let mut full = vec![
            "candles",
            "fetch",
            "--venue",
            "binance",
            "--symbol",
            "BTCUSDT",
            "--from",
            "2024-01-01",
            "--to",
            "2024-01-02",
            "--url",
            "http://127.0.0.1:1",
        ];
        // Replace the flag's value in the good command line.
        if let Some(pos) = full.iter().position(|a| *a == args[0]) {
            full[pos + 1] = args[1];
        } else {
            full.extend(args.iter());
        }
        let dir = tempfile::tempdir().unwrap();
        let out = std::process::Command::new(env!("CARGO_BIN_EXE_kestrel"))
            .args(&full)
            .arg("--journal")
            .arg(dir.path().join("j.sqlite"))
            .output()
            .unwrap();
        assert!(!out.status.success(), "{full:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(fragment), "{fragment}: {err}");
        assert_eq!(err.trim().lines().count(), 1, "{err}");
    }
}

#[test]
fn candle_files_are_imported_exactly_into_the_journal() {
    let dir = tempfile::tempdir().unwrap();
    let journal = dir.path().join("k.sqlite");
    // CSV with dates and JSON with ms, values as written (no float in between).
    let csv = dir.path().join("BTCUSDT-1h.csv");
    std::fs::write(
        &csv,
        "date,open,high,low,close,volume\n\
         2024-01-01 01:00:00,42000.10,42100.00,41950.55,42050.01,12.345678\n\
         2024-01-01 00:00:00,41900.00,42010.00,41800.00,42000.10,0.00000001\n",
    )
    .unwrap();
    let scales = Scales {
        price: Scale::new(2).unwrap(),
        size: Scale::new(8).unwrap(),
    };
    let n = kestrel::candles::import(
        &csv,
        Venue::Binance,
        "BTCUSDT",
        Interval::H1,
        scales,
        &journal,
    )
    .unwrap();
    assert_eq!(n, 2);
    let rows = kestrel_store::open_readonly(&journal)
        .unwrap()
        .candles(Venue::Binance, "BTCUSDT", Interval::H1, 0, u64::MAX)
        .unwrap();
    let got: Vec<Candle> = rows.iter().map(|r| r.candle).collect();
    assert_eq!(
        got,
        vec![
            Candle {
                open_ms: 1_704_067_200_000,
                open: Fixed(4_190_000),
                high: Fixed(4_201_000),
                low: Fixed(4_180_000),
                close: Fixed(4_200_010),
                volume: Fixed(1),
            },
            Candle {
                open_ms: 1_704_070_800_000,
                open: Fixed(4_200_010),
                high: Fixed(4_210_000),
                low: Fixed(4_195_055),
                close: Fixed(4_205_001),
                volume: Fixed(1_234_567_800),
            },
        ]
    );
    // A value finer than the digits is refused with its row, never rounded.
    let fine = Scales {
        price: Scale::new(1).unwrap(),
        size: Scale::new(8).unwrap(),
    };
    let err = kestrel::candles::read_file(&csv, fine)
        .unwrap_err()
        .to_string();
    // "42000.10" fits one digit (a trailing zero); the low "41950.55" does not.
    assert!(err.contains("row 0") && err.contains("41950.55"), "{err}");

    // A real freqtrade file, when the recorded data is here.
    let file = std::env::var_os("KESTREL_DATA_DIR")
        .map_or_else(
            kestrel_stdx::testdata::default_dir,
            std::path::PathBuf::from,
        )
        .join("candles/freqtrade/ETH_BTC-5m.json");
    if !file.exists() {
        println!("skipped: {} not found", file.display());
        return;
    }
    let scales = Scales {
        price: Scale::new(8).unwrap(),
        size: Scale::new(8).unwrap(),
    };
    let n = kestrel::candles::import(
        &file,
        Venue::Binance,
        "ETHBTC",
        Interval::M5,
        scales,
        &journal,
    )
    .unwrap();
    assert_eq!(n, 5_760);
    let rows = kestrel_store::open_readonly(&journal)
        .unwrap()
        .candles(Venue::Binance, "ETHBTC", Interval::M5, 0, u64::MAX)
        .unwrap();
    assert_eq!(rows.len(), 5_760);
    // The closes equal the file's as `pairs scan` reads them.
    let loaded = kestrel::pairs::load(&file).unwrap();
    let closes: Vec<f64> = rows
        .iter()
        .map(|r| r.candle.close.to_text(r.price_scale).parse().unwrap())
        .collect();
    assert_eq!(closes, loaded.closes);
}

#[test]
fn candle_imports_refuse_bars_that_do_not_fit_the_interval_or_are_not_bars() {
    let dir = tempfile::tempdir().unwrap();
    let scales = Scales {
        price: Scale::new(2).unwrap(),
        size: Scale::new(8).unwrap(),
    };
    // 2024-01-01 00:00 UTC, on every interval's boundary.
    let t0 = 1_704_067_200_000u64;
    let minute = Interval::M1.ms();
    let bar = |ms: u64, o: &str, h: &str, l: &str, c: &str| format!("[{ms},{o},{h},{l},{c},1.5]");
    let json = |bars: &[String]| format!("[{}]", bars.join(","));
    // Three 1m bars: the first on the hour, the next a minute later.
    let one_minute_bars = json(&[
        bar(t0, "10", "11", "9", "10.5"),
        bar(t0 + minute, "10.5", "12", "10", "11"),
        bar(t0 + 2 * minute, "11", "11", "10", "10"),
    ]);
    // (file name, contents, --interval, what the error names)
    let cases: Vec<(&str, String, Interval, Vec<&str>)> = vec![
        // 1m bars imported as 1h: the first bar fits an hour, the second does not.
        (
            "m1.json",
            one_minute_bars.clone(),
            Interval::H1,
            vec!["row 1", "1h", "1704067260000"],
        ),
        // A clock shifted by one millisecond fits no interval.
        (
            "shifted.json",
            json(&[bar(t0 + 1, "1", "1", "1", "1")]),
            Interval::M1,
            vec!["row 0", "1m"],
        ),
        // A gap is fine, an hour bar half way through is not.
        (
            "gap.json",
            json(&[
                bar(t0, "1", "1", "1", "1"),
                bar(t0 + 3 * Interval::H1.ms(), "1", "1", "1", "1"),
                bar(t0 + 7 * Interval::H1.ms() / 2, "1", "1", "1", "1"),
            ]),
            Interval::H1,
            vec!["row 2"],
        ),
        ("empty.json", "[]".into(), Interval::M1, vec!["no bars"]),
        ("empty.csv", "\n".into(), Interval::M1, vec!["empty file"]),
        (
            "header.csv",
            "date,open,high,low,close,volume\n".into(),
            Interval::M1,
            vec!["no bars"],
        ),
        (
            "twice.json",
            json(&[
                bar(t0, "1", "1", "1", "1"),
                bar(t0 + minute, "1", "1", "1", "1"),
                bar(t0, "2", "2", "2", "2"),
            ]),
            Interval::M1,
            vec!["rows 0 and 2", "1704067200000"],
        ),
        (
            "zero.json",
            json(&[
                bar(t0, "1", "1", "1", "1"),
                bar(t0 + minute, "1", "1", "1", "0"),
            ]),
            Interval::M1,
            vec!["row 1", "close", "zero"],
        ),
        (
            "bounds.json",
            json(&[bar(t0, "10", "9", "8", "9.5")]),
            Interval::M1,
            vec!["row 0", "high 9.00", "open 10.00"],
        ),
        (
            "negative.json",
            json(&[bar(t0, "-1", "1", "1", "1")]),
            Interval::M1,
            vec!["row 0", "open"],
        ),
    ];
    for (name, text, interval, fragments) in cases {
        let file = dir.path().join(name);
        std::fs::write(&file, text).unwrap();
        let journal = dir.path().join(format!("{name}.sqlite"));
        let err =
            kestrel::candles::import(&file, Venue::Binance, "BTCUSDT", interval, scales, &journal)
                .expect_err(name)
                .to_string();
        for f in fragments {
            assert!(err.contains(f), "{name}: {f:?} not in {err}");
        }
        assert!(
            !journal.exists(),
            "{name}: a refused file still opened the journal"
        );
    }
    // The same 1m bars import as 1m.
    let file = dir.path().join("m1.json");
    std::fs::write(&file, &one_minute_bars).unwrap();
    let journal = dir.path().join("k.sqlite");
    let n = kestrel::candles::import(
        &file,
        Venue::Binance,
        "BTCUSDT",
        Interval::M1,
        scales,
        &journal,
    )
    .unwrap();
    assert_eq!(n, 3);
    let rows = kestrel_store::open_readonly(&journal)
        .unwrap()
        .candles(Venue::Binance, "BTCUSDT", Interval::M1, 0, u64::MAX)
        .unwrap();
    let times: Vec<u64> = rows.iter().map(|r| r.candle.open_ms).collect();
    assert_eq!(times, [t0, t0 + minute, t0 + 2 * minute]);
}
