//! How an idle lane waits for its next event.
//!
//! Spinning gives the lowest wake-up latency but burns a core: right on an isolated core of a
//! colocated host, wrong on a 2-core laptop, where parking is kinder. The choice is config.

use std::fmt;
use std::str::FromStr;
use std::time::Duration;

/// Idle rounds that [`WaitStrategy::Park`] spins before it starts yielding.
pub const PARK_SPIN_ROUNDS: u32 = 64;
/// Idle rounds (counted from the start) after which [`WaitStrategy::Park`] parks instead of
/// yielding.
pub const PARK_YIELD_ROUNDS: u32 = 128;
/// The park timeout used when the strategy is parsed from the bare word `"park"`.
pub const DEFAULT_PARK_TIMEOUT: Duration = Duration::from_micros(100);

/// What an idle lane does between polls.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WaitStrategy {
    /// Busy-spin with a CPU pause hint: lowest latency, one core fully busy.
    Spin,
    /// Give the rest of the time slice to other threads, then poll again.
    Yield,
    /// Back off: spin briefly, then yield, then park the thread for at most this long.
    Park(Duration),
}

impl WaitStrategy {
    /// Waits once. `spins` counts consecutive idle rounds: the lane passes the same counter
    /// on every idle round and resets it to 0 whenever it finds work, so backoff restarts.
    #[inline]
    pub fn idle(&self, spins: &mut u32) {
        match *self {
            Self::Spin => std::hint::spin_loop(),
            Self::Yield => std::thread::yield_now(),
            Self::Park(timeout) => {
                if *spins < PARK_SPIN_ROUNDS {
                    std::hint::spin_loop();
                } else if *spins < PARK_YIELD_ROUNDS {
                    std::thread::yield_now();
                } else {
                    std::thread::park_timeout(timeout);
                }
            }
        }
        *spins = spins.saturating_add(1);
    }

    /// The config word for this strategy: `"spin"`, `"yield"` or `"park"`.
    pub fn name(&self) -> &'static str {
        match self {
            Self::Spin => "spin",
            Self::Yield => "yield",
            Self::Park(_) => "park",
        }
    }
}

/// A wait-strategy word that is none of `spin`, `yield`, `park`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct UnknownWaitStrategy(pub String);

impl fmt::Display for UnknownWaitStrategy {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "unknown wait strategy {:?}: expected \"spin\", \"yield\" or \"park\"",
            self.0
        )
    }
}

impl std::error::Error for UnknownWaitStrategy {}

impl FromStr for WaitStrategy {
    type Err = UnknownWaitStrategy;

    /// Parses `"spin"`, `"yield"` or `"park"` (with [`DEFAULT_PARK_TIMEOUT`]), ignoring case
    /// and surrounding spaces.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        let word = s.trim();
        if word.eq_ignore_ascii_case("spin") {
            Ok(Self::Spin)
        } else if word.eq_ignore_ascii_case("yield") {
            Ok(Self::Yield)
        } else if word.eq_ignore_ascii_case("park") {
            Ok(Self::Park(DEFAULT_PARK_TIMEOUT))
        } else {
            Err(UnknownWaitStrategy(s.to_owned()))
        }
    }
}
