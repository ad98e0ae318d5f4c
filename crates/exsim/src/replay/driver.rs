//! The replay thread: applies a recording's steps to a running venue's book on schedule.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread::JoinHandle;
use std::time::Duration;

use kestrel_stdx::mono_ns;
use kestrel_types::cex::{BookSide, Fixed};

use super::{Recording, ReplayError, Step};
use crate::engine::Exchange;
use crate::server::ExchangeHandle;

/// The longest the thread sleeps before looking at the stop flag again.
const STOP_CHECK: Duration = Duration::from_millis(5);

/// How fast to replay.
#[derive(Clone, Copy, Debug, PartialEq)]
pub struct Pace {
    /// Recorded time over replay time: `1.0` replays in real time, `10.0` ten times faster;
    /// `0.0` ignores the recorded times and goes as fast as `min_gap` allows.
    pub speed: f64,
    /// The least time between two steps. Make it the venue's publish interval or more: each
    /// step is then published on its own, as the venue sent it, rather than merged with the
    /// next (two publish intervals make a merge rare even on a loaded machine).
    pub min_gap: Duration,
}

impl Pace {
    /// The recorded pace, at least `min_gap` apart.
    pub fn real_time(min_gap: Duration) -> Pace {
        Pace {
            speed: 1.0,
            min_gap,
        }
    }

    /// One step every `min_gap`.
    pub fn fastest(min_gap: Duration) -> Pace {
        Pace {
            speed: 0.0,
            min_gap,
        }
    }

    /// When a step recorded at `offset_ms` is due, in nanoseconds after the replay started:
    /// its offset over the speed, and no sooner than `min_gap` after the step before, applied
    /// at `previous_ns`.
    fn due_ns(&self, offset_ms: u64, previous_ns: u64) -> u64 {
        // Time, not money: a float is fine, and `as` saturates.
        let recorded = if self.speed > 0.0 {
            (offset_ms as f64 * 1e6 / self.speed) as u64
        } else {
            0
        };
        let gap = u64::try_from(self.min_gap.as_nanos()).unwrap_or(u64::MAX);
        recorded.max(previous_ns.saturating_add(gap))
    }
}

/// What a replay did.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct ReplayReport {
    /// Steps applied, the initial book included.
    pub steps_applied: u64,
    /// Steps in the recording.
    pub steps_total: u64,
    /// Whether it ran to the end (rather than being stopped).
    pub completed: bool,
    /// The furthest a step was applied behind its schedule, ms.
    pub max_lag_ms: u64,
}

/// A recording made ready on a venue: the venue's book already holds the initial book; nothing
/// else moves until [`Replayer::start`].
#[derive(Debug)]
pub struct Replayer {
    handle: ExchangeHandle,
    recording: Arc<Recording>,
    symbol: String,
    pace: Pace,
}

impl Replayer {
    /// Check that the venue behind `handle` lists `symbol` (the venue's name for the recorded
    /// symbol, often the recording's own) at the recording's scales and deep enough, then
    /// replace that symbol's book with the recording's initial book.
    ///
    /// # Errors
    /// [`ReplayError::BadSpeed`], [`ReplayError::NotListed`], [`ReplayError::ScaleMismatch`],
    /// [`ReplayError::TooShallow`]; the book is untouched then.
    pub fn new(
        handle: ExchangeHandle,
        recording: Arc<Recording>,
        symbol: &str,
        pace: Pace,
    ) -> Result<Replayer, ReplayError> {
        if !(pace.speed.is_finite() && pace.speed >= 0.0) {
            return Err(ReplayError::BadSpeed(pace.speed));
        }
        handle.with_exchange(|ex| {
            check_listing(ex, &recording, symbol)?;
            let book = ex.book(symbol).map(|b| {
                let bids = b.bids().iter().map(|l| (BookSide::Bid, l.price));
                bids.chain(b.asks().iter().map(|l| (BookSide::Ask, l.price)))
                    .collect::<Vec<_>>()
            });
            for (side, price) in book.unwrap_or_default() {
                ex.set_level(symbol, side, price, Fixed::ZERO);
            }
            if let Some(first) = recording.steps().first() {
                apply(ex, symbol, first);
            }
            Ok(())
        })?;
        Ok(Replayer {
            handle,
            recording,
            symbol: symbol.into(),
            pace,
        })
    }

    /// Start the thread that applies the remaining steps on schedule.
    ///
    /// # Errors
    /// [`ReplayError::Spawn`].
    pub fn start(self) -> Result<Replay, ReplayError> {
        let stop = Arc::new(AtomicBool::new(false));
        let applied = Arc::new(AtomicU64::new(1));
        let steps_total = u64::try_from(self.recording.steps().len()).unwrap_or(u64::MAX);
        let (thread_stop, thread_applied) = (Arc::clone(&stop), Arc::clone(&applied));
        let thread = std::thread::Builder::new()
            .name(format!("exsim-replay-{}", self.symbol))
            .spawn(move || self.run(&thread_stop, &thread_applied))
            .map_err(ReplayError::Spawn)?;
        Ok(Replay {
            stop,
            applied,
            steps_total,
            thread: Some(thread),
        })
    }

    fn run(self, stop: &AtomicBool, applied: &AtomicU64) -> ReplayReport {
        let started_ns = mono_ns();
        let mut previous_ns = 0;
        let mut max_lag_ns = 0;
        let mut completed = true;
        for step in self.recording.steps().iter().skip(1) {
            let due_ns = self.pace.due_ns(step.offset_ms, previous_ns);
            if !sleep_until(started_ns, due_ns, stop) {
                completed = false;
                break;
            }
            self.handle
                .with_exchange(|ex| apply(ex, &self.symbol, step));
            previous_ns = mono_ns().saturating_sub(started_ns);
            max_lag_ns = max_lag_ns.max(previous_ns.saturating_sub(due_ns));
            applied.fetch_add(1, Ordering::Release);
        }
        ReplayReport {
            steps_applied: applied.load(Ordering::Acquire),
            steps_total: u64::try_from(self.recording.steps().len()).unwrap_or(u64::MAX),
            completed,
            max_lag_ms: max_lag_ns / 1_000_000,
        }
    }
}

/// A running replay. Dropping it stops it.
#[derive(Debug)]
pub struct Replay {
    stop: Arc<AtomicBool>,
    applied: Arc<AtomicU64>,
    steps_total: u64,
    thread: Option<JoinHandle<ReplayReport>>,
}

impl Replay {
    /// Steps applied so far, the initial book included.
    pub fn steps_applied(&self) -> u64 {
        self.applied.load(Ordering::Acquire)
    }

    /// Whether the last step has been applied (or the replay was stopped).
    pub fn is_done(&self) -> bool {
        self.thread.as_ref().is_none_or(JoinHandle::is_finished)
    }

    /// Stop now (between steps) and report.
    pub fn stop(mut self) -> ReplayReport {
        self.stop.store(true, Ordering::Release);
        self.finish()
    }

    /// Wait for the last step and report.
    pub fn join(mut self) -> ReplayReport {
        self.finish()
    }

    fn finish(&mut self) -> ReplayReport {
        let joined = self.thread.take().map(JoinHandle::join);
        match joined {
            Some(Ok(report)) => report,
            // The thread only panics if the venue's lock does; report what it got to.
            _ => ReplayReport {
                steps_applied: self.steps_applied(),
                steps_total: self.steps_total,
                completed: false,
                max_lag_ms: 0,
            },
        }
    }
}

impl Drop for Replay {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Release);
        let _ = self.finish();
    }
}

fn check_listing(ex: &Exchange, recording: &Recording, symbol: &str) -> Result<(), ReplayError> {
    let venue = ex.venue();
    let Some(spec) = ex.symbol(symbol) else {
        return Err(ReplayError::NotListed {
            venue,
            symbol: symbol.into(),
        });
    };
    let scales = recording.scales();
    if spec.price_scale != scales.price || spec.size_scale != scales.size {
        return Err(ReplayError::ScaleMismatch {
            venue,
            symbol: symbol.into(),
            venue_price: spec.price_scale.digits(),
            venue_size: spec.size_scale.digits(),
            price: scales.price.digits(),
            size: scales.size.digits(),
        });
    }
    if spec.depth < recording.max_levels() {
        return Err(ReplayError::TooShallow {
            venue,
            symbol: symbol.into(),
            depth: spec.depth,
            needed: recording.max_levels(),
        });
    }
    Ok(())
}

fn apply(ex: &mut Exchange, symbol: &str, step: &Step) {
    for &(side, price, size) in &step.levels {
        ex.set_level(symbol, side, price, size);
    }
}

/// Sleep until `due_ns` after `started_ns`; `false` when told to stop first.
fn sleep_until(started_ns: u64, due_ns: u64, stop: &AtomicBool) -> bool {
    loop {
        if stop.load(Ordering::Acquire) {
            return false;
        }
        let now_ns = mono_ns().saturating_sub(started_ns);
        if now_ns >= due_ns {
            return true;
        }
        let left = Duration::from_nanos(due_ns - now_ns);
        std::thread::sleep(left.min(STOP_CHECK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn steps_fall_due_at_the_recorded_pace_but_never_closer_than_the_gap() {
        let ms = 1_000_000;
        let cases = [
            // (speed, min_gap ms, offset ms, previous applied ns, due ns)
            (1.0, 2, 100, 0, 100 * ms),
            (1.0, 2, 100, 99 * ms, 101 * ms),
            (10.0, 2, 100, 0, 10 * ms),
            (0.5, 0, 100, 0, 200 * ms),
            (0.0, 2, 100, 0, 2 * ms),
            (0.0, 2, 100, 7 * ms, 9 * ms),
            (0.0, 0, 100, 7 * ms, 7 * ms),
        ];
        for (speed, gap_ms, offset_ms, previous_ns, due_ns) in cases {
            let pace = Pace {
                speed,
                min_gap: Duration::from_millis(gap_ms),
            };
            assert_eq!(
                pace.due_ns(offset_ms, previous_ns),
                due_ns,
                "{speed} {gap_ms} {offset_ms} {previous_ns}"
            );
        }
    }
}
