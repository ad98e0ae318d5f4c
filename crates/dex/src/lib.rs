//! Uniswap V2 knowledge for the hot lane: Router02 calldata decode, exact pair math, the pool
//! snapshot, and backrun sizing.
//!
//! Data flows through the modules in this order, once per pending transaction:
//!
//! 1. [`router::decode_router02`] reads the swap out of the calldata as a [`router::SwapIntent`]
//!    that borrows the path from the calldata (no allocation).
//! 2. [`backrun::apply_victim`] replays that swap hop by hop on an immutable
//!    [`pool::PoolSnapshot`] exactly as Router02 and the pairs would, and records the post-victim
//!    reserves of the touched pools in a fixed-size [`backrun::Overlay`].
//! 3. [`backrun::find_backrun`] looks for a two-pool cycle through a touched pool that starts
//!    and ends in the capital token (WETH), sizes it with the closed form
//!    [`math::optimal_cycle_input`], and prices it exactly with [`math::get_amount_out`].
//!
//! The slow lane builds [`pool::PoolSnapshot`]s (and refreshes them with
//! [`pool::PoolSnapshot::with_reserves`] on `Sync` logs) and shares them with the hot lane.
//!
//! **Invariant:** every function on that path is integer-exact (the same results as the
//! Solidity), allocation-free and panic-free on any calldata. Failures are
//! [`kestrel_types::SkipReason`]s.
//!
//! Deliberately absent: I/O, async, V3 pools, and any trade placed *before* the victim.

#![forbid(unsafe_code)]

pub mod backrun;
pub mod math;
pub mod pool;
pub mod router;
