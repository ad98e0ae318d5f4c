//! The pair scan: every pair, the same numbers as one `coint` call per pair whatever the thread
//! count, errors per pair, and the progress callback.

use std::num::NonZeroUsize;
use std::sync::Mutex;

use kestrel_quant::{CointOptions, QuantError, ScanOptions, Trend, coint, scan};

use crate::support::{Rng, ar1, random_walk};

fn universe(rng: &mut Rng, n: usize) -> Vec<Vec<f64>> {
    let common = random_walk(rng, n, 50.0, 1.0);
    (0..7)
        .map(|k| {
            if k % 2 == 0 {
                let noise = ar1(rng, n, 0.7, 1.0);
                common
                    .iter()
                    .zip(noise)
                    .map(|(c, e)| 10.0 + 0.5 * c + e)
                    .collect()
            } else {
                random_walk(rng, n, 20.0, 1.0)
            }
        })
        .collect()
}

#[test]
fn scan_equals_pairwise_coint_for_any_thread_count() {
    let mut rng = Rng::new(3);
    let series = universe(&mut rng, 400);
    let refs: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
    for trend in [Trend::C, Trend::N, Trend::Ct] {
        let coint_opts = CointOptions {
            trend,
            ..CointOptions::default()
        };
        let single = scan(
            &refs,
            &ScanOptions {
                coint: coint_opts,
                threads: NonZeroUsize::new(1),
                progress: None,
            },
        );
        let multi = scan(
            &refs,
            &ScanOptions {
                coint: coint_opts,
                threads: NonZeroUsize::new(3),
                progress: None,
            },
        );
        assert_eq!(single.len(), 21);
        // Debug output compares bit for bit and treats the NaN critical values of trend n alike.
        assert_eq!(
            format!("{single:?}"),
            format!("{multi:?}"),
            "{trend}: thread count changed the results"
        );
        for r in &single {
            assert!(r.i < r.j);
            let want = coint(refs[r.i], refs[r.j], &coint_opts).unwrap().test;
            assert_eq!(
                format!("{:?}", r.outcome),
                format!("{:?}", Ok::<_, QuantError>(want)),
                "{trend}: pair ({}, {})",
                r.i,
                r.j
            );
        }
        // Planted cointegration (even indices share a common trend) is found.
        let p = |i: usize, j: usize| {
            single
                .iter()
                .find(|r| (r.i, r.j) == (i, j))
                .unwrap()
                .outcome
                .unwrap()
                .p_value
        };
        assert!(
            p(0, 2) < 0.01 && p(2, 4) < 0.01,
            "{trend}: cointegrated pairs"
        );
    }
}

#[test]
fn bad_series_fail_only_their_pairs() {
    let mut rng = Rng::new(8);
    let good = universe(&mut rng, 200);
    let constant = vec![1.5; 200];
    let mut with_nan = good[1].clone();
    with_nan[17] = f64::NAN;
    let short = good[2][..150].to_vec();
    let refs: Vec<&[f64]> = vec![&good[0], &constant, &with_nan, &short, &good[3]];
    let results = scan(&refs, &ScanOptions::default());
    assert_eq!(results.len(), 10);
    for r in &results {
        // Lengths are checked first, then each series' own validity.
        let expected = match (r.i, r.j) {
            (i, 3) => Some(QuantError::LengthMismatch {
                left: refs[i].len(),
                right: 150,
            }),
            (_, 1) | (1, _) => Some(QuantError::ConstantSeries),
            (_, 2) | (2, _) => Some(QuantError::NonFinite { index: 17 }),
            (3, j) => Some(QuantError::LengthMismatch {
                left: 150,
                right: refs[j].len(),
            }),
            _ => None,
        };
        match expected {
            Some(e) => assert_eq!(r.outcome, Err(e), "pair ({}, {})", r.i, r.j),
            None => assert!(
                r.outcome.is_ok(),
                "pair ({}, {}): {:?}",
                r.i,
                r.j,
                r.outcome
            ),
        }
    }
}

#[test]
fn progress_reports_to_the_end() {
    let mut rng = Rng::new(9);
    let series: Vec<Vec<f64>> = (0..16)
        .map(|_| random_walk(&mut rng, 120, 0.0, 1.0))
        .collect();
    let refs: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
    let calls = Mutex::new(Vec::new());
    let record = |done: usize, total: usize| calls.lock().unwrap().push((done, total));
    let results = scan(
        &refs,
        &ScanOptions {
            threads: NonZeroUsize::new(2),
            progress: Some(&record),
            ..ScanOptions::default()
        },
    );
    assert_eq!(results.len(), 120);
    let calls = calls.into_inner().unwrap();
    assert!(
        calls
            .iter()
            .all(|&(d, t)| t == 120 && (1..=120).contains(&d))
    );
    assert!(
        calls.iter().any(|&(d, _)| d == 120),
        "a final (total, total) call"
    );
    assert!(calls.len() <= 121, "called rarely: {} calls", calls.len());
    assert!(scan(&refs[..1], &ScanOptions::default()).is_empty());
    assert!(scan(&[], &ScanOptions::default()).is_empty());
}
