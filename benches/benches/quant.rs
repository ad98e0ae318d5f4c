//! Statistics: one Engle-Granger test on a 5,000-bar pair, one ADF test, and the pair scan of
//! 100 series × 5,000 bars (4,950 pairs) with the machine's threads and with one.
//! `cargo bench -p kestrel-benches --bench quant` (from the workspace root).
//!
//! Series are seeded random walks (half of them cointegrated with a common walk through AR(1)
//! noise), shaped like 5-minute closes: about 17 days of bars per series.

use std::hint::black_box;
use std::num::NonZeroUsize;
use std::time::Duration;

use criterion::{Criterion, criterion_group, criterion_main};
use kestrel_quant::{AdfOptions, CointOptions, ScanOptions, adfuller, coint, scan};
use kestrel_stdx::rng::Rng;

const BARS: usize = 5_000;
const SERIES: usize = 100;

/// Standard normal by Box-Muller.
fn normal(rng: &mut Rng) -> f64 {
    let u1 = 1.0 - rng.next_f64();
    let u2 = rng.next_f64();
    (-2.0 * u1.ln()).sqrt() * (std::f64::consts::TAU * u2).cos()
}

/// `SERIES` price-like series: even ones cointegrated with a common walk, odd ones independent.
fn universe(rng: &mut Rng) -> Vec<Vec<f64>> {
    let mut level = 0.0;
    let common: Vec<f64> = (0..BARS)
        .map(|_| {
            level += normal(rng);
            level
        })
        .collect();
    (0..SERIES)
        .map(|k| {
            let (mut walk, mut noise) = (0.0, 0.0);
            (0..BARS)
                .map(|i| {
                    walk += normal(rng);
                    noise = 0.9 * noise + normal(rng);
                    if k % 2 == 0 {
                        100.0 + 0.5 * common[i] + noise
                    } else {
                        100.0 + walk
                    }
                })
                .collect()
        })
        .collect()
}

/// Log closes of two freqtrade candle files inner-joined on open time, or `None` (with a skip
/// line) when the data folder is absent.
fn freqtrade_pair(a: &str, b: &str) -> Option<(Vec<f64>, Vec<f64>)> {
    let load = |name: &str| -> Option<std::collections::BTreeMap<i64, f64>> {
        let path = kestrel_stdx::testdata::data_file(
            "bench quant",
            &format!("candles/freqtrade/{name}.json"),
        )?;
        let rows: Vec<Vec<f64>> =
            serde_json::from_str(&std::fs::read_to_string(path).ok()?).ok()?;
        Some(rows.iter().map(|r| (r[0] as i64, r[4].ln())).collect())
    };
    let (ca, cb) = (load(a)?, load(b)?);
    Some(
        ca.iter()
            .filter_map(|(t, v)| cb.get(t).map(|w| (*v, *w)))
            .unzip(),
    )
}

fn quant(c: &mut Criterion) {
    let mut rng = Rng::from_seed(0x5175_616e_7442_656e);
    let series = universe(&mut rng);
    let refs: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
    let opts = CointOptions::default();

    c.bench_function("quant/coint (5,000-bar pair, aic, maxlag 34)", |b| {
        b.iter(|| coint(black_box(refs[0]), black_box(refs[2]), &opts))
    });
    c.bench_function("quant/coint (5,000-bar independent pair)", |b| {
        b.iter(|| coint(black_box(refs[1]), black_box(refs[3]), &opts))
    });
    // Real closes pick long lags (13 and 31 here), the expensive end of the final fit.
    for (a, b_name, label) in [
        (
            "ETH_BTC-5m",
            "LTC_BTC-5m",
            "quant/coint (freqtrade log ETH~LTC, 5,760 bars, lag 13)",
        ),
        (
            "LTC_BTC-5m",
            "ZEC_BTC-5m",
            "quant/coint (freqtrade log LTC~ZEC, 5,757 bars, lag 31)",
        ),
    ] {
        if let Some((y0, y1)) = freqtrade_pair(a, b_name) {
            c.bench_function(label, |b| {
                b.iter(|| coint(black_box(&y0), black_box(&y1), &opts))
            });
        }
    }
    c.bench_function("quant/adfuller (5,000 bars, c, aic, maxlag 34)", |b| {
        b.iter(|| adfuller(black_box(refs[1]), &AdfOptions::default()))
    });

    let mut group = c.benchmark_group("quant/scan 100 x 5,000 (4,950 pairs)");
    group
        .sample_size(10)
        .measurement_time(Duration::from_secs(16));
    let all = std::thread::available_parallelism().map_or(1, NonZeroUsize::get);
    for threads in [1, all] {
        let scan_opts = ScanOptions {
            threads: NonZeroUsize::new(threads),
            ..ScanOptions::default()
        };
        group.bench_function(format!("{threads} thread(s)"), |b| {
            b.iter(|| scan(black_box(&refs), &scan_opts))
        });
    }
    group.finish();
}

criterion_group!(benches, quant);
criterion_main!(benches);
