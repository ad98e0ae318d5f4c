//! Kestrel's shared vocabulary: on-chain amounts, ids, skip reasons, pipeline stages and the
//! fixed-size events that the hot lane hands to the slow lane.
//!
//! Everything here is plain data. Money on chain is `U256` (wei or token base units), never
//! `f64`. Events are `Copy` and fixed-size so the hot lane can push them into a bounded ring
//! without allocating.

#![forbid(unsafe_code)]

pub use alloy_primitives::{Address, B256, Bytes, U256, address, b256, keccak256};

mod candle;
pub mod cex;
mod event;
mod skip;
mod stage;

pub use event::{
    BundleEvent, CandidateEvent, DecodePath, DisagreementEvent, HotEvent, RouteKind, SimMissEvent,
    SimMissKind, SimOutcome, SimulatedOutcome, SkipEvent,
};
pub use skip::SkipReason;
pub use stage::{STAGE_COUNT, Stage, Stamps};

/// An EVM chain id (`11155111` for Sepolia, `31337` for a default anvil).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct ChainId(pub u64);

/// Index of a pool inside one immutable pool snapshot. Only meaningful with that snapshot.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct PoolId(pub u32);

/// Index of a configured V2 factory (0 = first in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct FactoryId(pub u8);

/// Index of a backrun cycle in the pre-signed ladder of one block.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct CycleId(pub u32);

/// Whether orders and bundles may reach execution endpoints.
///
/// **Invariant:** `Live` is only ever constructed when the config says `mode = "live"` *and* the
/// command line says `--live`; everything else is `DryRun`.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Mode {
    /// Bundles go to the journal and to simulation or local endpoints only.
    DryRun,
    /// Bundles go to execution endpoints.
    Live,
}

impl Mode {
    /// The one place that turns config and flag into a mode.
    pub fn resolve(config_says_live: bool, flag_live: bool) -> Mode {
        if config_says_live && flag_live {
            Mode::Live
        } else {
            Mode::DryRun
        }
    }
}
