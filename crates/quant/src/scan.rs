//! Engle-Granger tests over every unordered pair of a universe of series, in parallel.
//!
//! For `series[i]` and `series[j]` with `i < j` the test regresses series `i` on series `j`
//! ([`crate::coint::coint`]`(series[i], series[j])`). Each series is validated and centered once
//! (trend `n`/`c`), so a pair costs one dot product for the cointegrating regression plus the ADF
//! on its residuals. Pairs are handed out in small chunks from an atomic counter to
//! `std::thread::scope` workers, each with its own [`CointWorkspace`] (no allocation per pair
//! beyond the result). A bad series or pair yields an error in that pair's slot, never a panic.

use std::fmt;
use std::num::NonZeroUsize;
use std::sync::atomic::{AtomicUsize, Ordering};

use crate::coint::{CointOptions, CointTest, CointWorkspace, Prepared};
use crate::{QuantError, Trend};

/// Pairs a worker takes from the shared counter at a time.
const CHUNK_PAIRS: usize = 4;
/// The progress callback fires about this many times per scan.
const PROGRESS_CALLS: usize = 100;

/// Options of [`scan`].
#[derive(Clone, Copy, Default)]
pub struct ScanOptions<'a> {
    /// The Engle-Granger options applied to every pair.
    pub coint: CointOptions,
    /// Worker threads; `None` for `std::thread::available_parallelism()`.
    pub threads: Option<NonZeroUsize>,
    /// Called with `(pairs done, pairs total)` about every 1 % of the pairs and once at the end,
    /// from whichever worker crossed the mark.
    pub progress: Option<&'a (dyn Fn(usize, usize) + Sync)>,
}

impl fmt::Debug for ScanOptions<'_> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ScanOptions")
            .field("coint", &self.coint)
            .field("threads", &self.threads)
            .field("progress", &self.progress.map(|_| "<callback>"))
            .finish()
    }
}

/// The outcome for the pair `(i, j)`, `i < j`: series `i` regressed on series `j`.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct PairResult {
    /// Index of the dependent series (`y0`).
    pub i: usize,
    /// Index of the regressor series (`y1`).
    pub j: usize,
    /// The test, or why it could not be computed.
    pub outcome: Result<CointTest, QuantError>,
}

/// Tests every pair `i < j` of `series`; results in lexicographic `(i, j)` order.
pub fn scan(series: &[&[f64]], opts: &ScanOptions<'_>) -> Vec<PairResult> {
    let prepared: Vec<Result<Prepared, QuantError>> = series
        .iter()
        .map(|x| {
            let mut p = Prepared::default();
            p.fill(x).map(|()| p)
        })
        .collect();
    let pairs: Vec<(usize, usize)> = (0..series.len())
        .flat_map(|i| ((i + 1)..series.len()).map(move |j| (i, j)))
        .collect();
    let total = pairs.len();
    let threads = opts
        .threads
        .or_else(|| std::thread::available_parallelism().ok())
        .map_or(1, NonZeroUsize::get)
        .min(total)
        .max(1);
    let shared = Shared {
        series,
        prepared: &prepared,
        pairs: &pairs,
        opts,
        next: AtomicUsize::new(0),
        done: AtomicUsize::new(0),
        step: (total / PROGRESS_CALLS).max(1),
    };
    let mut results: Vec<(usize, PairResult)> = if threads == 1 {
        shared.work()
    } else {
        std::thread::scope(|s| {
            let handles: Vec<_> = (0..threads).map(|_| s.spawn(|| shared.work())).collect();
            handles
                .into_iter()
                .flat_map(|h| {
                    h.join()
                        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
                })
                .collect()
        })
    };
    results.sort_unstable_by_key(|(idx, _)| *idx);
    results.into_iter().map(|(_, r)| r).collect()
}

/// What the workers share.
struct Shared<'s, 'o> {
    series: &'s [&'s [f64]],
    prepared: &'s [Result<Prepared, QuantError>],
    pairs: &'s [(usize, usize)],
    opts: &'s ScanOptions<'o>,
    next: AtomicUsize,
    done: AtomicUsize,
    step: usize,
}

impl Shared<'_, '_> {
    /// One worker: take chunks of pairs until none are left.
    fn work(&self) -> Vec<(usize, PairResult)> {
        let total = self.pairs.len();
        let mut ws = CointWorkspace::default();
        let mut out = Vec::with_capacity(total / 2 + CHUNK_PAIRS);
        loop {
            let first = self.next.fetch_add(CHUNK_PAIRS, Ordering::Relaxed);
            if first >= total {
                break;
            }
            for idx in first..(first + CHUNK_PAIRS).min(total) {
                let (i, j) = self.pairs[idx];
                out.push((
                    idx,
                    PairResult {
                        i,
                        j,
                        outcome: self.pair(&mut ws, i, j),
                    },
                ));
                let done = self.done.fetch_add(1, Ordering::Relaxed) + 1;
                if let Some(cb) = self.opts.progress
                    && (done.is_multiple_of(self.step) || done == total)
                {
                    cb(done, total);
                }
            }
        }
        out
    }

    fn pair(&self, ws: &mut CointWorkspace, i: usize, j: usize) -> Result<CointTest, QuantError> {
        let (y0, y1) = (self.series[i], self.series[j]);
        if y0.len() != y1.len() {
            return Err(QuantError::LengthMismatch {
                left: y0.len(),
                right: y1.len(),
            });
        }
        let p0 = self.prepared[i].as_ref().map_err(|e| *e)?;
        let p1 = self.prepared[j].as_ref().map_err(|e| *e)?;
        match self.opts.coint.trend {
            Trend::N | Trend::C => ws.coint_prepared(y0, y1, p0, p1, &self.opts.coint),
            Trend::Ct | Trend::Ctt => ws.coint(y0, y1, &self.opts.coint),
        }
    }
}
