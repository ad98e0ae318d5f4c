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
}

impl DecodePath {
    /// Every path, in report order.
    pub const ALL: [DecodePath; 4] = [
        DecodePath::V2Router02,
        DecodePath::SwapRouter,
        DecodePath::SwapRouter02,
        DecodePath::UniversalRouter,
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
}
