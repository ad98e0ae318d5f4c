//! Uniswap knowledge for the hot lane: calldata decode for Router02, the V3 SwapRouter and
//! SwapRouter02 and the Universal Router; exact V2 pair math, the pool snapshot and backrun
//! sizing; bit-exact V3 math and pool snapshots.
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
//! V3 and the other routers: [`router_v3::decode_swap_router`] and
//! [`universal::decode_universal`] fill a fixed-capacity [`route::DecodedSwaps`] (V2 and V3
//! legs borrowing their paths from the calldata). [`v3::V3Pool`] is an immutable V3 pool
//! snapshot (ticks, bitmap words, slot0, liquidity) whose [`v3::V3Pool::quote`] replays the
//! pool's own swap loop step for step, word boundaries included, so quotes equal QuoterV2's to
//! the wei; the slow lane keeps it current with [`v3::V3Pool::apply`] on Swap/Mint/Burn logs.
//! [`victim::apply_swaps`] replays any decoded victim (V2 and V3 legs, exact in and out, the
//! routers' balance sentinels) on a [`cycle::PoolRegistry`] into a fixed-capacity
//! [`victim::StateOverlay`]; [`cycle::find_cycle_backrun`] then searches 2- and 3-hop cycles
//! through the touched pools over any mix of V2 and V3, sized by the closed form (V2-V2) or a
//! bounded, counted search over exact quotes. The hot lane's `decide` calls both for victims of
//! the V3 and universal routers.
//!
//! Deliberately absent: I/O, async, and any trade placed *before* the victim.

#![forbid(unsafe_code)]

pub mod backrun;
pub mod cycle;
pub mod math;
pub mod pool;
pub mod route;
pub mod router;
pub mod router_v3;
pub mod universal;
pub mod v3;
pub mod victim;
