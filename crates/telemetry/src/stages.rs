//! Per-stage latency histograms and their percentile summaries.

use hdrhistogram::Histogram;
use kestrel_types::{STAGE_COUNT, Stage, Stamps};
use serde::{Deserialize, Serialize};

use crate::TelemetryError;

/// Lowest latency told apart, ns.
const LOWEST_NS: u64 = 1;
/// Highest latency tracked, ns (60 s); longer ones are recorded as 60 s.
const HIGHEST_NS: u64 = 60_000_000_000;
/// Significant decimal digits kept: values are exact to within 0.1%.
const SIGFIG: u8 = 3;

// `Stage` discriminants are dense from 0, so `stage as usize` indexes `stages` in bounds.
const _: () = assert!(Stage::Write as usize + 1 == STAGE_COUNT && Stage::ALL.len() == STAGE_COUNT);

fn new_histogram() -> Histogram<u64> {
    // The bounds are constants that hdrhistogram accepts (1 <= low, high >= 2 * low, sigfig <= 5),
    // so this cannot fail at run time; the unit tests construct one.
    Histogram::new_with_bounds(LOWEST_NS, HIGHEST_NS, SIGFIG)
        .expect("Invariant: constant histogram bounds are valid")
}

/// Latency recorders for every stage, the decision, end to end, and revm confirmation. Owned by
/// one thread.
///
/// **Invariant:** every histogram is allocated in [`StageRecorder::new`] and never resized, so
/// [`StageRecorder::record`] does not allocate.
#[derive(Clone, Debug)]
pub struct StageRecorder {
    stages: [Histogram<u64>; STAGE_COUNT],
    decision: Histogram<u64>,
    end_to_end: Histogram<u64>,
    confirm: Histogram<u64>,
}

impl Default for StageRecorder {
    fn default() -> Self {
        Self::new()
    }
}

impl StageRecorder {
    /// Allocates every histogram (1 ns .. 60 s, 3 significant digits).
    pub fn new() -> StageRecorder {
        StageRecorder {
            stages: std::array::from_fn(|_| new_histogram()),
            decision: new_histogram(),
            end_to_end: new_histogram(),
            confirm: new_histogram(),
        }
    }

    /// Records every stage `stamps` reached, plus decision and end to end when reached.
    /// No allocation; a value above 60 s is recorded as 60 s.
    pub fn record(&mut self, stamps: &Stamps) {
        for (hist, stage) in self.stages.iter_mut().zip(Stage::ALL) {
            if let Some(ns) = stamps.stage_ns(stage) {
                hist.saturating_record(ns);
            }
        }
        if let Some(ns) = stamps.decision_ns() {
            self.decision.saturating_record(ns);
        }
        if let Some(ns) = stamps.end_to_end_ns() {
            self.end_to_end.saturating_record(ns);
        }
    }

    /// Records one revm confirmation (victim + backrun run on the snapshot, verdict read),
    /// whatever its verdict. It happens between `Decide` and `Build`, so it is also inside the
    /// build stage's figure; this histogram isolates it. No allocation.
    pub fn record_confirm(&mut self, ns: u64) {
        self.confirm.saturating_record(ns);
    }

    /// Adds everything `other` recorded into `self` (aggregating several hot threads).
    pub fn merge_from(&mut self, other: &StageRecorder) -> Result<(), TelemetryError> {
        for (mine, theirs) in self.stages.iter_mut().zip(&other.stages) {
            mine.add(theirs)?;
        }
        self.decision.add(&other.decision)?;
        self.end_to_end.add(&other.end_to_end)?;
        self.confirm.add(&other.confirm)?;
        Ok(())
    }

    /// Forgets everything recorded (keeps the allocations).
    pub fn reset(&mut self) {
        self.stages.iter_mut().for_each(Histogram::reset);
        self.decision.reset();
        self.end_to_end.reset();
        self.confirm.reset();
    }

    /// The histogram of one stage.
    pub fn stage(&self, stage: Stage) -> &Histogram<u64> {
        // In bounds for every `Stage`: see the const assertion on `STAGE_COUNT` below.
        &self.stages[stage as usize]
    }

    /// The histogram from frame read to the end of `Decide`.
    pub fn decision(&self) -> &Histogram<u64> {
        &self.decision
    }

    /// The histogram from frame read to the last relay write.
    pub fn end_to_end(&self) -> &Histogram<u64> {
        &self.end_to_end
    }

    /// The histogram of revm confirmations.
    pub fn confirm(&self) -> &Histogram<u64> {
        &self.confirm
    }

    /// Percentiles of every histogram.
    pub fn summary(&self) -> LatencySummary {
        let p = |s| Percentiles::from_histogram(self.stage(s));
        LatencySummary {
            decode: p(Stage::Decode),
            filter: p(Stage::Filter),
            decide: p(Stage::Decide),
            build: p(Stage::Build),
            write: p(Stage::Write),
            decision: Percentiles::from_histogram(&self.decision),
            end_to_end: Percentiles::from_histogram(&self.end_to_end),
            confirm: Percentiles::from_histogram(&self.confirm),
        }
    }
}

/// One span's latency histogram (1 ns .. 60 s, 3 significant digits), allocated once;
/// [`SpanRecorder::record`] does not allocate.
#[derive(Clone, Debug)]
pub struct SpanRecorder {
    hist: Histogram<u64>,
}

impl Default for SpanRecorder {
    fn default() -> Self {
        SpanRecorder::new()
    }
}

impl SpanRecorder {
    /// An empty recorder.
    pub fn new() -> SpanRecorder {
        SpanRecorder {
            hist: new_histogram(),
        }
    }

    /// Record one span; above 60 s counts as 60 s.
    pub fn record(&mut self, ns: u64) {
        self.hist.saturating_record(ns.max(LOWEST_NS));
    }

    /// Its percentiles.
    pub fn percentiles(&self) -> Percentiles {
        Percentiles::from_histogram(&self.hist)
    }
}

/// p50, p99, p99.9, max and count of one histogram, in ns (all 0 when it is empty).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Median, ns.
    pub p50: u64,
    /// 99th percentile, ns.
    pub p99: u64,
    /// 99.9th percentile, ns.
    pub p999: u64,
    /// Largest value recorded, ns (to histogram precision).
    pub max: u64,
    /// Values recorded.
    pub count: u64,
}

impl Percentiles {
    /// Reads the percentiles of `h`.
    pub fn from_histogram(h: &Histogram<u64>) -> Percentiles {
        if h.is_empty() {
            return Percentiles::default();
        }
        Percentiles {
            p50: h.value_at_quantile(0.5),
            p99: h.value_at_quantile(0.99),
            p999: h.value_at_quantile(0.999),
            max: h.max(),
            count: h.len(),
        }
    }
}

/// Percentiles per stage, decision and end to end. Serializes with stable keys:
/// `{"decode": {...}, "filter": ..., "decide": ..., "build": ..., "write": ..., "decision": ..., "end_to_end": ..., "confirm": ...}`.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct LatencySummary {
    /// [`Stage::Decode`].
    pub decode: Percentiles,
    /// [`Stage::Filter`].
    pub filter: Percentiles,
    /// [`Stage::Decide`].
    pub decide: Percentiles,
    /// [`Stage::Build`].
    pub build: Percentiles,
    /// [`Stage::Write`].
    pub write: Percentiles,
    /// Frame read to end of `Decide`.
    pub decision: Percentiles,
    /// Frame read to last relay write.
    pub end_to_end: Percentiles,
    /// One revm confirmation (victim + backrun), counted only where one ran.
    pub confirm: Percentiles,
}

impl LatencySummary {
    /// The percentiles of one stage.
    pub fn stage(&self, stage: Stage) -> &Percentiles {
        match stage {
            Stage::Decode => &self.decode,
            Stage::Filter => &self.filter,
            Stage::Decide => &self.decide,
            Stage::Build => &self.build,
            Stage::Write => &self.write,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stage_lookup_matches_pipeline_order() {
        let mut r = StageRecorder::new();
        // Decode 10 ns, filter 20, decide 30, build 40, write 50.
        r.record(&Stamps {
            recv_ns: 1000,
            stage_end_ns: [1010, 1030, 1060, 1100, 1150],
        });
        for (stage, ns) in Stage::ALL.into_iter().zip([10, 20, 30, 40, 50]) {
            assert_eq!(r.stage(stage).max(), ns, "{stage:?}");
            assert_eq!(r.summary().stage(stage).max, ns, "{stage:?}");
        }
        assert_eq!(r.decision().max(), 60);
        assert_eq!(r.end_to_end().max(), 150);
    }

    #[test]
    fn empty_histogram_gives_zeros() {
        assert_eq!(
            Percentiles::from_histogram(&new_histogram()),
            Percentiles::default()
        );
    }
}
