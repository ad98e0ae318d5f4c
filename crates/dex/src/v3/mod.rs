//! Uniswap V3: the pool's integer math, bit for bit, and an immutable pool snapshot that
//! quotes swaps exactly as `UniswapV3Pool.swap` executes them and QuoterV2 reports them.
//!
//! The math modules mirror the core libraries one to one: [`full_math`] (`FullMath`,
//! `UnsafeMath`), [`tick_math`] (`TickMath`), [`sqrt_price_math`] (`SqrtPriceMath`),
//! [`swap_math`] (`SwapMath`), [`liquidity_math`] (`LiquidityMath`) and [`tick_bitmap`]
//! (`TickBitmap`, and the periphery's `PoolTicksCounter`). Each returns `None` where the Solidity
//! reverts.
//!
//! The slow lane builds a [`V3Pool`] from chain state (slot0, liquidity, and every initialized
//! tick) and keeps it current with [`V3Pool::apply`] on `Swap`, `Mint` and `Burn` logs; the hot
//! lane quotes on it with [`V3Pool::quote`].
//!
//! **Invariant:** a quote equals the pool's own swap to the wei: amounts, the price and tick
//! after, and the active liquidity. That needs the bitmap walk, not just a sorted tick list: the
//! pool ends a swap step at every bitmap word boundary, initialized or not, and each step
//! rounds on its own.
//!
//! **Invariant:** quoting allocates nothing, never panics, and takes at most
//! [`MAX_SWAP_STEPS`] steps.

pub mod full_math;
pub mod liquidity_math;
mod pool;
pub mod sqrt_price_math;
pub mod swap_math;
pub mod tick_bitmap;
pub mod tick_math;

pub use pool::{
    LADDER_RUNGS, LadderQuote, MAX_SWAP_STEPS, QuoteV2, STEP_REACH, Slot0, SwapLadder, SwapResult,
    TickInfo, V3Error, V3Event, V3Pool, V3PoolKey, default_price_limit,
};
