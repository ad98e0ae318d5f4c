//! Fixed-size events the hot lane pushes to the slow lane (journal, report, metrics).

use crate::{Address, B256, SkipReason, Stamps, U256};

/// A pending transaction that was skipped, and why.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SkipEvent {
    /// Transaction hash (zero when the frame was too broken to give one).
    pub tx_hash: B256,
    /// Why it was skipped.
    pub reason: SkipReason,
    /// Stage stamps up to the skip.
    pub stamps: Stamps,
}

/// A victim for which a profitable backrun cycle was found (whether or not a bundle followed).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CandidateEvent {
    /// The victim's hash.
    pub tx_hash: B256,
    /// Head block the decision was made on; the bundle targets `block + 1`.
    pub block: u64,
    /// Pool where the backrun spends the capital token.
    pub pool_buy: Address,
    /// Pool where the backrun sells back into the capital token.
    pub pool_sell: Address,
    /// Capital token spent, in base units.
    pub amount_in: U256,
    /// Predicted gross profit in capital-token base units.
    pub profit_gross: U256,
    /// Predicted profit after the builder payment (what the executor keeps), base units.
    pub profit_net: U256,
    /// Estimated gas cost in wei.
    pub gas_cost_wei: U256,
    /// Which pool kinds the cycle runs through.
    pub route_kind: RouteKind,
    /// Which decoder read the victim.
    pub decode_path: DecodePath,
    /// Pools on the cycle: 2 or 3.
    pub hops: u8,
    /// The middle pool of a 3-hop cycle (zero for 2 hops).
    pub pool_mid: Address,
}

/// The pool kinds a backrun cycle runs through.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum RouteKind {
    /// Only Uniswap-V2-style pairs.
    #[default]
    V2,
    /// Only Uniswap V3 pools.
    V3,
    /// Both.
    Mixed,
}

impl RouteKind {
    /// Every kind, in report order.
    pub const ALL: [RouteKind; 3] = [RouteKind::V2, RouteKind::V3, RouteKind::Mixed];

    /// The kind from whether the cycle has V2 and V3 pools (`None` for neither).
    pub const fn of(has_v2: bool, has_v3: bool) -> Option<RouteKind> {
        match (has_v2, has_v3) {
            (true, false) => Some(RouteKind::V2),
            (false, true) => Some(RouteKind::V3),
            (true, true) => Some(RouteKind::Mixed),
            (false, false) => None,
        }
    }

    /// Stable name for the journal and reports: `v2`, `v3`, `mixed`.
    pub const fn as_str(self) -> &'static str {
        match self {
            RouteKind::V2 => "v2",
            RouteKind::V3 => "v3",
            RouteKind::Mixed => "mixed",
        }
    }

    /// Parses [`RouteKind::as_str`].
    pub fn parse(s: &str) -> Option<RouteKind> {
        RouteKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// The decoder that read a victim's calldata: one per router kind.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum DecodePath {
    /// UniswapV2Router02.
    #[default]
    V2Router02,
    /// The V3 periphery's SwapRouter.
    SwapRouter,
    /// SwapRouter02 (V2 and V3 swaps).
    SwapRouter02,
    /// The Universal Router (any version).
    UniversalRouter,
    /// Not decoded: a call to a contract Kestrel has no decoder for (an aggregator, a custom
    /// router), simulated in revm by the slow lane to find which known pools it moves.
    Simulated,
}

impl DecodePath {
    /// Every path, in report order.
    pub const ALL: [DecodePath; 5] = [
        DecodePath::V2Router02,
        DecodePath::SwapRouter,
        DecodePath::SwapRouter02,
        DecodePath::UniversalRouter,
        DecodePath::Simulated,
    ];

    /// Position in [`DecodePath::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable name for the journal and reports, as the config's router `kind` spells it.
    pub const fn as_str(self) -> &'static str {
        match self {
            DecodePath::V2Router02 => "v2_router02",
            DecodePath::SwapRouter => "swap_router",
            DecodePath::SwapRouter02 => "swap_router02",
            DecodePath::UniversalRouter => "universal_router",
            DecodePath::Simulated => "simulated",
        }
    }

    /// Parses [`DecodePath::as_str`].
    pub fn parse(s: &str) -> Option<DecodePath> {
        DecodePath::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// A bundle that was built and written (or, in dry-run, journaled).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BundleEvent {
    /// The candidate it came from.
    pub candidate: CandidateEvent,
    /// Hash of our pre-signed backrun transaction.
    pub backrun_hash: B256,
    /// Minimum profit the executor enforces (the ladder floor picked), base units.
    pub floor: U256,
    /// Nonce of the backrun.
    pub nonce: u64,
    /// Relays the request was written to.
    pub relays_written: u8,
    /// Stage stamps.
    pub stamps: Stamps,
}

/// A backrun whose revm confirmation did not agree with the analytic prediction, with both
/// numbers, so the journal can show which side was wrong.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct DisagreementEvent {
    /// The victim's hash.
    pub tx_hash: B256,
    /// Head block the decision was made on.
    pub block: u64,
    /// Which pool kinds the cycle runs through.
    pub route_kind: RouteKind,
    /// Which decoder read the victim.
    pub decode_path: DecodePath,
    /// Analytic gross profit, capital-token base units.
    pub predicted_gross: U256,
    /// Gross profit the backrun's `BackrunRoute` log reported in revm (zero if none).
    pub simulated_gross: U256,
    /// How the revm run ended.
    pub outcome: SimOutcome,
    /// Gas the backrun used in revm (0 if it did not run).
    pub gas_used: u64,
}

/// How a revm confirmation run of victim + backrun ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimOutcome {
    /// The backrun succeeded and its logged profit matches the prediction.
    Agreed,
    /// The backrun succeeded but its logged profit differs from the prediction.
    ProfitDiffers,
    /// The backrun reverted.
    BackrunReverted,
    /// The backrun halted (out of gas, invalid opcode, stack errors).
    BackrunHalted,
    /// The victim itself reverted, so the backrun was not worth running.
    VictimReverted,
    /// The backrun succeeded without emitting its `BackrunRoute` log.
    NoBackrunLog,
}

impl SimOutcome {
    /// Every outcome, in report order.
    pub const ALL: [SimOutcome; 6] = [
        SimOutcome::Agreed,
        SimOutcome::ProfitDiffers,
        SimOutcome::BackrunReverted,
        SimOutcome::BackrunHalted,
        SimOutcome::VictimReverted,
        SimOutcome::NoBackrunLog,
    ];

    /// Position in [`SimOutcome::ALL`].
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable name for the journal and reports.
    pub const fn as_str(self) -> &'static str {
        match self {
            SimOutcome::Agreed => "agreed",
            SimOutcome::ProfitDiffers => "profit_differs",
            SimOutcome::BackrunReverted => "backrun_reverted",
            SimOutcome::BackrunHalted => "backrun_halted",
            SimOutcome::VictimReverted => "victim_reverted",
            SimOutcome::NoBackrunLog => "no_backrun_log",
        }
    }

    /// Parses [`SimOutcome::as_str`].
    pub fn parse(s: &str) -> Option<SimOutcome> {
        SimOutcome::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// State a revm confirmation needed that the prefetched snapshot did not hold. The slow lane
/// fetches it so the next confirmation touching it can run.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SimMissEvent {
    /// The victim whose confirmation missed.
    pub tx_hash: B256,
    /// Head block the decision was made on.
    pub block: u64,
    /// What kind of item was missing.
    pub kind: SimMissKind,
    /// The account (for `Account` and `Storage`; zero otherwise).
    pub address: Address,
    /// The storage slot for `Storage`; the code hash, as a number, for `Code`; zero otherwise.
    pub slot: U256,
    /// The block number for `BlockHash`; zero otherwise.
    pub number: u64,
}

/// The kind of state item a revm confirmation missed.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimMissKind {
    /// An account's balance, nonce and code hash.
    Account,
    /// Contract code, by hash.
    Code,
    /// A storage slot of an account.
    Storage,
    /// The hash of a past block (`BLOCKHASH`).
    BlockHash,
}

impl SimMissKind {
    /// Every kind, in report order.
    pub const ALL: [SimMissKind; 4] = [
        SimMissKind::Account,
        SimMissKind::Code,
        SimMissKind::Storage,
        SimMissKind::BlockHash,
    ];

    /// Position in [`SimMissKind::ALL`]: a dense index into per-kind counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable name for the journal, reports and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            SimMissKind::Account => "account",
            SimMissKind::Code => "code",
            SimMissKind::Storage => "storage",
            SimMissKind::BlockHash => "block_hash",
        }
    }

    /// Parses [`SimMissKind::as_str`].
    pub fn parse(s: &str) -> Option<SimMissKind> {
        SimMissKind::ALL.into_iter().find(|k| k.as_str() == s)
    }
}

/// How the slow lane's simulation of one undecoded pending transaction ended.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum SimulatedOutcome {
    /// A backrun was confirmed in revm and fired.
    Fired,
    /// The transaction moved none of the watched pools.
    NoPool,
    /// It touched watched pools, but no cycle through them clears the thresholds.
    NoBackrun,
    /// On its own it reverts or halts in the next block: nothing to backrun.
    VictimFailed,
    /// revm says it is not valid in the next block (nonce, balance, fee cap).
    Invalid,
    /// It needed state the snapshot still lacked after the allowed refetch rounds.
    Miss,
    /// victim + backrun in revm disagreed with the analytic prediction (journaled).
    Disagree,
    /// No simulation state for the head yet, or the head moved on while it waited.
    Unavailable,
    /// The frame could not be read back, or its pools overflow the fixed overlay.
    Unreadable,
    /// The engine stopped before it ran, or while it waited for its misses.
    Stopped,
}

impl SimulatedOutcome {
    /// Every outcome, in report order.
    pub const ALL: [SimulatedOutcome; 10] = [
        SimulatedOutcome::Fired,
        SimulatedOutcome::NoPool,
        SimulatedOutcome::NoBackrun,
        SimulatedOutcome::VictimFailed,
        SimulatedOutcome::Invalid,
        SimulatedOutcome::Miss,
        SimulatedOutcome::Disagree,
        SimulatedOutcome::Unavailable,
        SimulatedOutcome::Unreadable,
        SimulatedOutcome::Stopped,
    ];

    /// Position in [`SimulatedOutcome::ALL`]: a dense index into counter arrays.
    pub const fn index(self) -> usize {
        self as usize
    }

    /// Stable name for reports and metric labels.
    pub const fn as_str(self) -> &'static str {
        match self {
            SimulatedOutcome::Fired => "fired",
            SimulatedOutcome::NoPool => "no_pool",
            SimulatedOutcome::NoBackrun => "no_backrun",
            SimulatedOutcome::VictimFailed => "victim_failed",
            SimulatedOutcome::Invalid => "invalid",
            SimulatedOutcome::Miss => "miss",
            SimulatedOutcome::Disagree => "disagree",
            SimulatedOutcome::Unavailable => "unavailable",
            SimulatedOutcome::Unreadable => "unreadable",
            SimulatedOutcome::Stopped => "stopped",
        }
    }
}

/// What the hot lane reports to the slow lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum HotEvent {
    /// The node announced a new head (the slow lane syncs state for it).
    NewHead {
        /// Block number.
        number: u64,
    },
    /// Skipped, with a reason.
    Skip(SkipEvent),
    /// A profitable cycle was found.
    Candidate(CandidateEvent),
    /// A bundle was built and sent (or journaled in dry-run).
    Bundle(BundleEvent),
    /// The node connection dropped; `gap` counts reconnects so far.
    Reconnected {
        /// Reconnects since start.
        gap: u64,
    },
    /// revm confirmation disagreed with the analytic prediction; the backrun was not fired.
    Disagreement(DisagreementEvent),
    /// revm confirmation needed state the snapshot lacks; the slow lane fetches it.
    SimMiss(SimMissEvent),
    /// revm confirmed a backrun before it was fired.
    Confirmed {
        /// The victim's hash.
        tx_hash: B256,
        /// Gas the backrun used in revm.
        gas_used: u64,
    },
    /// The node answered a subscription request of the connection now open with an error
    /// (the first such refusal of each connection): what it refused never arrives.
    SubscriptionRefused {
        /// The refused `eth_subscribe` request's id.
        request_id: u64,
    },
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn outcome_and_miss_keys_round_trip_and_are_dense() {
        for (i, o) in SimOutcome::ALL.into_iter().enumerate() {
            assert_eq!(o.index(), i, "ALL must be in discriminant order");
            assert_eq!(SimOutcome::parse(o.as_str()), Some(o));
        }
        for (i, k) in SimMissKind::ALL.into_iter().enumerate() {
            assert_eq!(k.index(), i, "ALL must be in discriminant order");
            assert_eq!(SimMissKind::parse(k.as_str()), Some(k));
        }
        let outcomes: Vec<_> = SimOutcome::ALL.map(SimOutcome::as_str).into();
        assert_eq!(
            outcomes,
            [
                "agreed",
                "profit_differs",
                "backrun_reverted",
                "backrun_halted",
                "victim_reverted",
                "no_backrun_log"
            ]
        );
        let kinds: Vec<_> = SimMissKind::ALL.map(SimMissKind::as_str).into();
        assert_eq!(kinds, ["account", "code", "storage", "block_hash"]);
        assert_eq!(SimOutcome::parse("Agreed"), None);
        assert_eq!(SimMissKind::parse(""), None);
    }
}
