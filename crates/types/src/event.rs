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
