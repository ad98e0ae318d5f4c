//! kestrel-sim: revm over prefetched, immutable state snapshots. No I/O.
//!
//! Data flow: the slow lane prefetches the state a few representative transactions touch at the
//! head (`kestrel-chain`'s `prefetch` module) into a [`StateSnapshot`], shared read-only behind
//! an `Arc`. A [`Simulator`] executes the victim and then our backrun on it for the next block
//! ([`NextBlock`]), each transaction seeing the previous one's writes, and reports per
//! transaction what its receipt would say ([`TxOutcome`]: status, revert data, gas used, logs);
//! the state after the sequence (token balances) can then be read back.
//!
//! A lookup outside the snapshot is never a node request: it is a classified [`Miss`] that stops
//! the simulation and is counted in a bounded [`MissLog`], from which the slow lane fetches it
//! for the next snapshot. [`devnet::LocalChain`] is the in-memory twin of a node: deploy real
//! bytecode in revm and take its state as a snapshot, for tests and benches without anvil.

#![forbid(unsafe_code)]

pub mod confirm;
pub mod devnet;
pub mod env;
pub mod misses;
pub mod simulator;
pub mod snapshot;
pub mod tx;

pub use confirm::{
    BackrunEntry, ConfirmError, Confirmer, ExecutorLog, RouteExpectation, RouteVerdict,
};
pub use env::{ChainRules, NextBlock, SEPOLIA_CHAIN_ID};
pub use misses::MissLog;
pub use simulator::{
    PresumedSender, SimDb, SimError, Simulator, TxOutcome, TxStatus, balance_of_calldata,
};
pub use snapshot::{
    Miss, MissKind, SnapshotBuilder, StateSnapshot, address_key, int_key, mapping_slot,
};
pub use tx::{SimTx, TxDecodeError};

/// revm, re-exported so callers name the same version's types (`SpecId`, `TxEnv`, ...).
pub use revm;
