//! Time, live and simulated.
//!
//! Two kinds of time: a monotonic nanosecond counter for measuring latency and ordering events,
//! and Unix wall time in milliseconds for journals and exchange timestamps. The slow lane takes a
//! [`Clock`] so tests can drive it with a [`SimClock`]; the hot lane calls the free [`mono_ns`],
//! which is cheaper than a trait call and is the one place it reads time.

use std::sync::Arc;
use std::sync::OnceLock;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Instant, SystemTime, UNIX_EPOCH};

const NANOS_PER_MILLI: u64 = 1_000_000;

/// A source of time. Implementations must be cheap to call and safe to share across threads.
pub trait Clock: Send + Sync {
    /// Nanoseconds on a monotonic clock with an arbitrary origin; never goes backwards.
    fn mono_ns(&self) -> u64;
    /// Milliseconds since the Unix epoch (wall time; may jump when the host's clock is stepped).
    fn unix_ms(&self) -> u64;
}

/// The process-wide origin of [`mono_ns`], fixed the first time anything reads the clock.
static MONO_BASE: OnceLock<Instant> = OnceLock::new();

/// Monotonic nanoseconds since the first call in this process. The hot lane's only clock.
///
/// After the first call this is one atomic load plus one `Instant::now()` (a vDSO call on
/// Linux): no allocation, no lock, no syscall on common hosts. Saturates at `u64::MAX`
/// (after about 584 years) instead of wrapping.
#[inline]
pub fn mono_ns() -> u64 {
    let base = MONO_BASE.get_or_init(Instant::now);
    u64::try_from(base.elapsed().as_nanos()).unwrap_or(u64::MAX)
}

/// The real clock: monotonic time from [`mono_ns`], wall time from [`SystemTime`].
///
/// It shares [`mono_ns`]'s origin, so stamps taken by the hot lane and by the slow lane through
/// a `LiveClock` are directly comparable.
#[derive(Debug, Clone, Copy, Default)]
pub struct LiveClock;

impl LiveClock {
    /// A live clock. Reading it also fixes the process-wide monotonic origin if not yet fixed.
    pub fn new() -> Self {
        let _ = mono_ns();
        Self
    }
}

impl Clock for LiveClock {
    fn mono_ns(&self) -> u64 {
        mono_ns()
    }

    fn unix_ms(&self) -> u64 {
        // A host clock set before 1970 is a broken host; report the epoch rather than panic.
        SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map_or(0, |d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
    }
}

/// A simulated clock that only moves when told to. Clones share the same time.
///
/// [`advance_ns`](Self::advance_ns) moves both the monotonic and the wall clock, as real time
/// passing would; [`set_unix_ms`](Self::set_unix_ms) steps the wall clock alone, as an NTP step
/// would, and leaves the monotonic clock untouched.
#[derive(Debug, Clone)]
pub struct SimClock {
    mono_ns: Arc<AtomicU64>,
    // Wall time is kept in nanoseconds so sub-millisecond advances accumulate exactly.
    unix_ns: Arc<AtomicU64>,
}

impl SimClock {
    /// A simulated clock at monotonic time 0 and the given wall time.
    pub fn new(start_unix_ms: u64) -> Self {
        Self {
            mono_ns: Arc::new(AtomicU64::new(0)),
            unix_ns: Arc::new(AtomicU64::new(
                start_unix_ms.saturating_mul(NANOS_PER_MILLI),
            )),
        }
    }

    /// Moves time forward by `ns` nanoseconds on both clocks (saturating, never wrapping).
    pub fn advance_ns(&self, ns: u64) {
        saturating_add(&self.mono_ns, ns);
        saturating_add(&self.unix_ns, ns);
    }

    /// Steps the wall clock to `unix_ms`; the monotonic clock does not move.
    pub fn set_unix_ms(&self, unix_ms: u64) {
        self.unix_ns
            .store(unix_ms.saturating_mul(NANOS_PER_MILLI), Ordering::Release);
    }
}

impl Default for SimClock {
    fn default() -> Self {
        Self::new(0)
    }
}

impl Clock for SimClock {
    fn mono_ns(&self) -> u64 {
        self.mono_ns.load(Ordering::Acquire)
    }

    fn unix_ms(&self) -> u64 {
        self.unix_ns.load(Ordering::Acquire) / NANOS_PER_MILLI
    }
}

fn saturating_add(cell: &AtomicU64, delta: u64) {
    // The closure always returns Some, so fetch_update cannot fail; the result carries no news.
    let _ = cell.fetch_update(Ordering::AcqRel, Ordering::Acquire, |t| {
        Some(t.saturating_add(delta))
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sim_clock_advance_saturates_instead_of_wrapping() {
        let clock = SimClock::new(0);
        clock.advance_ns(u64::MAX - 5);
        clock.advance_ns(10);
        assert_eq!(clock.mono_ns(), u64::MAX);
    }

    #[test]
    fn sub_millisecond_advances_accumulate_on_the_wall_clock() {
        let clock = SimClock::new(1_000);
        for _ in 0..4 {
            clock.advance_ns(250_000);
        }
        assert_eq!(clock.unix_ms(), 1_001);
        assert_eq!(clock.mono_ns(), 1_000_000);
    }
}
