//! Engine counters, shared by `Arc` between the lanes and read by the metrics endpoint.

use std::sync::atomic::{AtomicU64, Ordering};

use kestrel_types::{DecodePath, HotEvent, SimMissKind, SimulatedOutcome, SkipReason};

/// Number of skip reasons, one counter each.
const REASONS: usize = SkipReason::ALL.len();
/// Number of decode paths, one counter each.
const PATHS: usize = DecodePath::ALL.len();
/// Number of kinds of revm confirmation miss, one counter each.
const MISS_KINDS: usize = SimMissKind::ALL.len();
/// Number of ways a slow-lane simulation of an undecoded transaction ends.
const SIMULATED: usize = SimulatedOutcome::ALL.len();

/// A fixed set of monotonically increasing counters. Each is independent, so `Relaxed` is enough:
/// a snapshot is a set of recent values, not a consistent cut.
#[derive(Debug, Default)]
pub struct Counters {
    pending_seen: AtomicU64,
    candidates: AtomicU64,
    bundles: AtomicU64,
    drops: AtomicU64,
    reconnects: AtomicU64,
    connect_failures: AtomicU64,
    subscription_refusals: AtomicU64,
    pending_subscriptions: AtomicU64,
    skips: [AtomicU64; REASONS],
    routed: [AtomicU64; PATHS],
    confirmed: AtomicU64,
    disagreements: AtomicU64,
    sim_misses: [AtomicU64; MISS_KINDS],
    simulated: [AtomicU64; SIMULATED],
    landed: AtomicU64,
    not_landed: AtomicU64,
    realized_mismatches: AtomicU64,
}

/// Counter values read at one moment.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CountersSnapshot {
    /// Pending transactions seen, before any filter.
    pub pending_seen: u64,
    /// Profitable backrun cycles found.
    pub candidates: u64,
    /// Bundles built and written (or journaled in dry-run).
    pub bundles: u64,
    /// Events dropped at a full ring between the lanes.
    pub drops: u64,
    /// Node reconnects.
    pub reconnects: u64,
    /// Attempts to connect to the node that failed (each retried after a backoff).
    pub connect_failures: u64,
    /// Subscription requests the node answered with an error.
    pub subscription_refusals: u64,
    /// Pending-transaction subscriptions the node confirmed: one per connection that will
    /// deliver pending transactions (a connection whose count has not risen yet sees none).
    pub pending_subscriptions: u64,
    /// Skips, indexed by [`SkipReason::index`].
    pub skips: [u64; REASONS],
    /// Pending transactions to a decoded router, indexed by [`DecodePath::index`].
    pub routed: [u64; PATHS],
    /// Backruns revm confirmed before they were fired.
    pub confirmed: u64,
    /// revm confirmations that disagreed with the analytic prediction.
    pub disagreements: u64,
    /// revm confirmations that needed state the snapshot lacked, indexed by
    /// [`SimMissKind::index`].
    pub sim_misses: [u64; MISS_KINDS],
    /// Undecoded transactions the slow lane simulated, by how it ended, indexed by
    /// [`SimulatedOutcome::index`].
    pub simulated: [u64; SIMULATED],
    /// Bundles sent for inclusion whose backrun a block then held (its receipt, read after the
    /// target block).
    pub landed: u64,
    /// Bundles sent for inclusion whose backrun no block held by their target block.
    pub not_landed: u64,
    /// Landed backruns whose realized profit (the executor's log) differs from the prediction.
    pub realized_mismatches: u64,
}

impl Counters {
    /// All counters at zero.
    pub fn new() -> Counters {
        Counters::default()
    }

    /// Counts one event from the hot lane.
    pub fn observe(&self, ev: &HotEvent) {
        match ev {
            // Heads are the slow lane's business; pending txs seen are counted at the feed
            // with `add_pending_seen`, since most of them never become an event.
            HotEvent::NewHead { .. } => {}
            HotEvent::Skip(s) => self.add_skip(s.reason),
            HotEvent::Candidate(_) => bump(&self.candidates, 1),
            HotEvent::Bundle(_) => bump(&self.bundles, 1),
            HotEvent::Reconnected { .. } => bump(&self.reconnects, 1),
            HotEvent::SubscriptionRefused { .. } => bump(&self.subscription_refusals, 1),
            // The skip that goes with a disagreement or a miss arrives as its own `Skip` event.
            HotEvent::Confirmed { .. } => bump(&self.confirmed, 1),
            HotEvent::Disagreement(_) => bump(&self.disagreements, 1),
            HotEvent::SimMiss(m) => self.add_sim_miss(m.kind),
        }
    }

    /// Adds `n` pending transactions seen.
    pub fn add_pending_seen(&self, n: u64) {
        bump(&self.pending_seen, n);
    }

    /// Counts one skip for `reason`.
    pub fn add_skip(&self, reason: SkipReason) {
        if let Some(c) = self.skips.get(reason.index()) {
            bump(c, 1);
        }
    }

    /// Counts one pending transaction sent to a router that `path` decodes.
    pub fn add_routed(&self, path: DecodePath) {
        if let Some(c) = self.routed.get(path.index()) {
            bump(c, 1);
        }
    }

    /// Counts one revm confirmation miss of `kind`.
    pub fn add_sim_miss(&self, kind: SimMissKind) {
        if let Some(c) = self.sim_misses.get(kind.index()) {
            bump(c, 1);
        }
    }

    /// Counts one undecoded transaction the slow lane simulated, by how it ended.
    pub fn add_simulated(&self, outcome: SimulatedOutcome) {
        if let Some(c) = self.simulated.get(outcome.index()) {
            bump(c, 1);
        }
    }

    /// Counts one bundle whose backrun landed, and whether what it realized differs from the
    /// prediction.
    pub fn add_landed(&self, realized_differs: bool) {
        bump(&self.landed, 1);
        if realized_differs {
            bump(&self.realized_mismatches, 1);
        }
    }

    /// Counts one bundle whose backrun did not land by its target block.
    pub fn add_not_landed(&self) {
        bump(&self.not_landed, 1);
    }

    /// Counts one candidate.
    pub fn add_candidate(&self) {
        bump(&self.candidates, 1);
    }

    /// Counts one bundle.
    pub fn add_bundle(&self) {
        bump(&self.bundles, 1);
    }

    /// Adds `n` events dropped at a full ring.
    pub fn add_drops(&self, n: u64) {
        bump(&self.drops, n);
    }

    /// Counts one reconnect.
    pub fn add_reconnect(&self) {
        bump(&self.reconnects, 1);
    }

    /// Counts one failed attempt to connect to the node.
    pub fn add_connect_failure(&self) {
        bump(&self.connect_failures, 1);
    }

    /// Counts one subscription request the node refused.
    pub fn add_subscription_refusal(&self) {
        bump(&self.subscription_refusals, 1);
    }

    /// Counts one pending-transaction subscription the node confirmed.
    pub fn add_pending_subscription(&self) {
        bump(&self.pending_subscriptions, 1);
    }

    /// Reads every counter.
    pub fn snapshot(&self) -> CountersSnapshot {
        let read = |c: &AtomicU64| c.load(Ordering::Relaxed);
        CountersSnapshot {
            pending_seen: read(&self.pending_seen),
            candidates: read(&self.candidates),
            bundles: read(&self.bundles),
            drops: read(&self.drops),
            reconnects: read(&self.reconnects),
            connect_failures: read(&self.connect_failures),
            subscription_refusals: read(&self.subscription_refusals),
            pending_subscriptions: read(&self.pending_subscriptions),
            skips: std::array::from_fn(|i| self.skips.get(i).map_or(0, read)),
            routed: std::array::from_fn(|i| self.routed.get(i).map_or(0, read)),
            confirmed: read(&self.confirmed),
            disagreements: read(&self.disagreements),
            sim_misses: std::array::from_fn(|i| self.sim_misses.get(i).map_or(0, read)),
            simulated: std::array::from_fn(|i| self.simulated.get(i).map_or(0, read)),
            landed: read(&self.landed),
            not_landed: read(&self.not_landed),
            realized_mismatches: read(&self.realized_mismatches),
        }
    }
}

impl CountersSnapshot {
    /// Skips counted for `reason`.
    pub fn skip(&self, reason: SkipReason) -> u64 {
        self.skips.get(reason.index()).copied().unwrap_or(0)
    }

    /// Pending transactions counted for decode path `path`.
    pub fn routed(&self, path: DecodePath) -> u64 {
        self.routed.get(path.index()).copied().unwrap_or(0)
    }

    /// revm confirmation misses counted for `kind`.
    pub fn sim_miss(&self, kind: SimMissKind) -> u64 {
        self.sim_misses.get(kind.index()).copied().unwrap_or(0)
    }

    /// Undecoded transactions whose simulation ended with `outcome`.
    pub fn simulated(&self, outcome: SimulatedOutcome) -> u64 {
        self.simulated.get(outcome.index()).copied().unwrap_or(0)
    }

    /// Skips of every reason together.
    pub fn skips_total(&self) -> u64 {
        self.skips.iter().sum()
    }
}

fn bump(c: &AtomicU64, n: u64) {
    c.fetch_add(n, Ordering::Relaxed);
}

#[cfg(test)]
mod tests {
    use super::*;
    use kestrel_types::{
        Address, B256, DisagreementEvent, RouteKind, SimMissEvent, SimOutcome, SkipEvent, Stamps,
        U256,
    };

    #[test]
    fn events_land_in_their_own_counters() {
        let c = Counters::new();
        let skip = |reason| {
            HotEvent::Skip(SkipEvent {
                tx_hash: B256::ZERO,
                reason,
                stamps: Stamps::default(),
            })
        };
        for ev in [
            HotEvent::NewHead { number: 1 },
            skip(SkipReason::UnknownPool),
            skip(SkipReason::UnknownPool),
            skip(SkipReason::NoState),
            HotEvent::Reconnected { gap: 1 },
        ] {
            c.observe(&ev);
        }
        c.add_pending_seen(2);
        c.add_drops(7);
        let s = c.snapshot();
        assert_eq!(
            (
                s.pending_seen,
                s.candidates,
                s.bundles,
                s.drops,
                s.reconnects
            ),
            (2, 0, 0, 7, 1)
        );
        assert_eq!(s.skip(SkipReason::UnknownPool), 2);
        assert_eq!(s.skip(SkipReason::NoState), 1);
        assert_eq!(s.skip(SkipReason::MalformedFrame), 0);
        assert_eq!(s.skips_total(), 3);
    }

    #[test]
    fn confirmation_events_land_in_their_own_counters() {
        let c = Counters::new();
        let miss = |kind| {
            HotEvent::SimMiss(SimMissEvent {
                tx_hash: B256::ZERO,
                block: 9,
                kind,
                address: Address::ZERO,
                slot: U256::from(3),
                number: 0,
            })
        };
        let disagreement = HotEvent::Disagreement(DisagreementEvent {
            tx_hash: B256::ZERO,
            block: 9,
            route_kind: RouteKind::V3,
            decode_path: DecodePath::SwapRouter,
            predicted_gross: U256::from(100),
            simulated_gross: U256::from(90),
            outcome: SimOutcome::ProfitDiffers,
            gas_used: 150_000,
        });
        let confirmed = HotEvent::Confirmed {
            tx_hash: B256::ZERO,
            gas_used: 140_000,
        };
        for ev in [
            confirmed,
            confirmed,
            confirmed,
            disagreement,
            miss(SimMissKind::Storage),
            miss(SimMissKind::Storage),
            miss(SimMissKind::BlockHash),
        ] {
            c.observe(&ev);
        }
        let s = c.snapshot();
        assert_eq!((s.confirmed, s.disagreements), (3, 1));
        assert_eq!(s.sim_misses, [0, 0, 2, 1]);
        assert_eq!(s.sim_miss(SimMissKind::Storage), 2);
        assert_eq!(s.sim_miss(SimMissKind::BlockHash), 1);
        assert_eq!(s.sim_miss(SimMissKind::Account), 0);
        // The skips that go with them come as their own events, so none are counted here.
        assert_eq!((s.skips_total(), s.candidates, s.bundles), (0, 0, 0));
    }

    #[test]
    fn counting_from_threads_loses_nothing() {
        let c = std::sync::Arc::new(Counters::new());
        let threads: Vec<_> = (0..4)
            .map(|_| {
                let c = std::sync::Arc::clone(&c);
                std::thread::spawn(move || {
                    (0..10_000).for_each(|_| c.add_skip(SkipReason::NotSwap))
                })
            })
            .collect();
        threads.into_iter().for_each(|t| t.join().unwrap());
        assert_eq!(c.snapshot().skip(SkipReason::NotSwap), 40_000);
    }
}
