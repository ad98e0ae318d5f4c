//! kestrel-stdx: the one seam through which Kestrel reads time and randomness, plus small
//! building blocks every other crate may use without pulling in anything else.
//!
//! What it owns and how data flows through it:
//!
//! - [`clock`]: the [`Clock`] trait with a live twin ([`LiveClock`]) and a simulated twin
//!   ([`SimClock`]). The slow lane receives a `Clock` as an argument; the hot lane calls the free
//!   [`mono_ns`] function, the single place it reads time. A recorded session replays bit for bit
//!   because nothing else in the workspace reads a clock.
//! - [`rng`]: [`Rng`], a seeded xoshiro256** generator. Simulations and sandboxes seed it
//!   explicitly; only [`Rng::from_os`] touches OS entropy.
//! - [`bounded`]: [`BoundedVec`], a fixed-capacity array-backed vector for hot-path scratch space
//!   that never allocates.
//! - [`invariant`]: a `debug_assert!`-style check whose message says which invariant broke.
//! - [`testdata`]: where recorded real data lives, for tests and benches.
//!
//! **Invariant:** this crate depends on nothing of ours, so every other crate can use it.
#![forbid(unsafe_code)]

pub mod bounded;
pub mod clock;
pub mod paths;
pub mod recent;
pub mod rng;
pub mod testdata;

pub use bounded::BoundedVec;
pub use clock::{Clock, LiveClock, SimClock, mono_ns};
pub use recent::RecentSet;
pub use rng::Rng;

/// Checks an invariant in debug and test builds; compiles to nothing in release.
///
/// Use it inside hot loops where a full `assert!` would cost too much in production but a
/// broken invariant must still stop every test run. The panic message reads
/// `Invariant: <msg>` so a failing run names the rule it broke.
#[inline(always)]
#[track_caller]
pub fn invariant(cond: bool, msg: &'static str) {
    debug_assert!(cond, "Invariant: {msg}");
}

#[cfg(test)]
mod tests {
    use super::invariant;

    #[test]
    fn invariant_that_holds_does_not_panic() {
        invariant(1 + 1 == 2, "arithmetic works");
    }

    #[cfg(debug_assertions)]
    #[test]
    #[should_panic(expected = "Invariant: reserves are never zero")]
    fn broken_invariant_panics_with_its_message_in_debug() {
        let reserve = 0_u64;
        invariant(reserve != 0, "reserves are never zero");
    }
}
