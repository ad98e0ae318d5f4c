//! The `kestrel` binary's library half: wiring of the lanes into a running engine, the
//! sandbox orchestration and the hot-path benchmark. `main.rs` is only the CLI on top.
//!
//! Data flow of [`engine::Engine`]: the slow lane (tokio) reads the chain through
//! `kestrel-chain`, builds an immutable [`kestrel_hot::HotState`] per block (pool snapshot,
//! pre-signed ladder, thresholds) and publishes it through a snapshot cell; the pinned hot
//! thread (`kestrel-hot`) reads pending transactions from the node and fires bundles; its
//! events come back over a bounded ring to a drain thread that journals them.

#![forbid(unsafe_code)]

pub mod bench;
pub mod bench_xarb;
pub mod candles;
pub mod cli;
pub mod deploy;
pub mod engine;
pub mod lane_metrics;
pub mod outcomes;
pub mod pairs;
pub mod relay_answer;
pub mod sandbox;
pub mod simprep;
pub mod statarb_lane;
pub mod statarb_run;
pub mod statarb_sim;
pub mod undecoded;
pub mod venue_setup;
pub mod xarb_admin;
pub mod xarb_run;

use std::collections::BTreeMap;

use kestrel_telemetry::CountersSnapshot;
use kestrel_types::{DecodePath, SimMissKind, SimulatedOutcome, SkipReason};

/// The engine's hot-lane counter families by name, as the journal's run summary
/// ([`engine::run_summary`]), the sandbox report and the hot-path bench write them: each kind's
/// stable name (`SkipReason::as_str`, ...) and its count, every kind present (zeros included;
/// [`only_counted`] leaves those out).
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct CountersByName {
    /// Skipped pending transactions by [`SkipReason`].
    pub skips: BTreeMap<String, u64>,
    /// Pending transactions by the [`DecodePath`] they were routed to.
    pub routed: BTreeMap<String, u64>,
    /// revm confirmations stopped by a snapshot miss, by [`SimMissKind`].
    pub sim_misses: BTreeMap<String, u64>,
    /// Undecoded calls the slow lane simulated, by [`SimulatedOutcome`].
    pub simulated: BTreeMap<String, u64>,
}

impl CountersByName {
    /// The families of `c` by name.
    pub fn of(c: &CountersSnapshot) -> CountersByName {
        fn by_name<T: Copy>(
            all: &[T],
            name: fn(T) -> &'static str,
            count: impl Fn(T) -> u64,
        ) -> BTreeMap<String, u64> {
            all.iter()
                .map(|&k| (name(k).to_string(), count(k)))
                .collect()
        }
        CountersByName {
            skips: by_name(&SkipReason::ALL, SkipReason::as_str, |r| c.skip(r)),
            routed: by_name(&DecodePath::ALL, DecodePath::as_str, |p| c.routed(p)),
            sim_misses: by_name(&SimMissKind::ALL, SimMissKind::as_str, |k| c.sim_miss(k)),
            simulated: by_name(&SimulatedOutcome::ALL, SimulatedOutcome::as_str, |o| {
                c.simulated(o)
            }),
        }
    }
}

/// `counts` without the kinds never counted.
pub fn only_counted(mut counts: BTreeMap<String, u64>) -> BTreeMap<String, u64> {
    counts.retain(|_, n| *n > 0);
    counts
}

/// `units` with `digits` fraction digits as an exact decimal string (`-1.50` for -150 at 2).
pub fn quote_decimal(units: i128, digits: u8) -> String {
    let sign = if units < 0 { "-" } else { "" };
    let abs = units.unsigned_abs();
    if digits == 0 {
        return format!("{sign}{abs}");
    }
    let Some(one) = 10u128.checked_pow(u32::from(digits)) else {
        return format!("{sign}{abs}e-{digits}");
    };
    format!(
        "{sign}{}.{:0width$}",
        abs / one,
        abs % one,
        width = usize::from(digits)
    )
}

#[cfg(test)]
mod tests {
    use super::{CountersByName, only_counted, quote_decimal};
    use kestrel_telemetry::Counters;
    use kestrel_types::{DecodePath, SimMissKind, SimulatedOutcome, SkipReason};

    #[test]
    fn counters_are_named_by_kind_every_kind_present() {
        let counters = Counters::new();
        counters.add_skip(SkipReason::NotRouter);
        counters.add_skip(SkipReason::NotRouter);
        counters.add_skip(SkipReason::Duplicate);
        counters.add_routed(DecodePath::V2Router02);
        counters.add_sim_miss(SimMissKind::Storage);
        counters.add_simulated(SimulatedOutcome::Fired);
        let named = CountersByName::of(&counters.snapshot());
        assert_eq!(named.skips.len(), SkipReason::ALL.len());
        assert_eq!(named.routed.len(), DecodePath::ALL.len());
        assert_eq!(named.sim_misses.len(), SimMissKind::ALL.len());
        assert_eq!(named.simulated.len(), SimulatedOutcome::ALL.len());
        assert_eq!(named.skips["not_router"], 2);
        assert_eq!(named.skips["duplicate"], 1);
        assert_eq!(named.skips["unknown_pool"], 0);
        assert_eq!(named.routed[DecodePath::V2Router02.as_str()], 1);
        assert_eq!(named.sim_misses[SimMissKind::Storage.as_str()], 1);
        assert_eq!(named.simulated[SimulatedOutcome::Fired.as_str()], 1);
        let counted: Vec<_> = only_counted(named.skips).into_iter().collect();
        assert_eq!(
            counted,
            [("duplicate".to_string(), 1), ("not_router".to_string(), 2)]
        );
    }

    #[test]
    fn notional_units_print_as_exact_quote_decimals() {
        assert_eq!(quote_decimal(-150, 2), "-1.50");
        assert_eq!(quote_decimal(7, 3), "0.007");
        assert_eq!(quote_decimal(123_456_789, 0), "123456789");
        assert_eq!(
            quote_decimal(i128::MIN, 18),
            "-170141183460469231731.687303715884105728"
        );
        assert_eq!(quote_decimal(5, 40), "5e-40");
    }
}
