//! The immutable V3 pool snapshot: construction and validation, event updates, and the swap
//! simulation that mirrors `UniswapV3Pool.swap` and QuoterV2.

use std::sync::Arc;

use alloy_primitives::{Address, I256, U256};

use super::liquidity_math::add_delta;
use super::swap_math::FEE_DENOMINATOR_PIPS;
use super::tick_bitmap::{
    BitmapWord, count_initialized_ticks_crossed, next_initialized_tick_within_one_word, position,
};
use super::tick_math::{
    MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
};

/// Most steps (loop iterations of the pool's swap) one quote takes before giving up with
/// [`V3Error::TooManySteps`]. A step ends at every initialized tick and every bitmap word
/// boundary, so this bounds the work of a quote; crossing the whole tick range of a pool with
/// spacing 10 takes about 700 steps.
pub const MAX_SWAP_STEPS: u32 = 1024;

/// The factory's bound on tick spacing (`tickSpacing < 16384`).
const MAX_TICK_SPACING: i32 = 16_384;

/// Why a quote or an update failed. Mostly the pool contract's own reverts; small and `Copy`
/// for the hot lane.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum V3Error {
    /// `amountSpecified == 0` (the pool's `'AS'`).
    #[error("the swap amount is zero")]
    ZeroAmount,
    /// The price limit is on the wrong side of the current price or outside the valid range
    /// (the pool's `'SPL'`).
    #[error("the price limit is on the wrong side of the price or out of range")]
    PriceLimit,
    /// Arithmetic the contract reverts on (`FullMath`, `SafeCast`, `TickMath`, checked math).
    #[error("the pool's arithmetic would revert")]
    Math,
    /// Active or per-tick liquidity would under- or overflow (`'LS'`, `'LA'`, `'LO'`).
    #[error("liquidity would under- or overflow")]
    Liquidity,
    /// The swap needs more than [`MAX_SWAP_STEPS`] steps.
    #[error("the swap needs more than {MAX_SWAP_STEPS} steps")]
    TooManySteps,
    /// A position's ticks are unordered, out of range (`'TLU'`, `'TLM'`, `'TUM'`) or not on
    /// the tick spacing.
    #[error("invalid position tick range")]
    InvalidTickRange,
    /// Pool data that no real pool can have: a bad fee or spacing, tokens out of order, a price
    /// outside the valid range or inconsistent with its tick, a tick list with duplicates or
    /// off-spacing entries, or an active liquidity that does not match the ticks.
    #[error("inconsistent pool snapshot")]
    InvalidSnapshot,
    /// Neither token moved: QuoterV2 reverts for swaps entirely within zero liquidity.
    #[error("the swap moves no tokens")]
    NothingSwapped,
    /// An exact-output quote without a price limit could not be filled in full; QuoterV2 and
    /// the router revert.
    #[error("not enough liquidity for the exact output")]
    PartialFill,
}

/// One initialized tick, as `ticks(tick)` returns it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TickInfo {
    /// The tick, a multiple of the pool's spacing.
    pub tick: i32,
    /// Total liquidity of the positions that reference the tick; never 0 for an initialized
    /// tick.
    pub liquidity_gross: u128,
    /// Liquidity added to the active liquidity when the price crosses the tick upwards.
    pub liquidity_net: i128,
}

/// What never changes in a pool.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3PoolKey {
    /// The pool contract.
    pub address: Address,
    /// `token0()`, the lower address.
    pub token0: Address,
    /// `token1()`.
    pub token1: Address,
    /// `fee()`, in pips (hundredths of a basis point).
    pub fee_pips: u32,
    /// `tickSpacing()`.
    pub tick_spacing: i32,
}

/// The parts of `slot0()` that the swap reads.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Slot0 {
    /// Current square-root price, Q64.96.
    pub sqrt_price_x96: U256,
    /// Current tick.
    pub tick: i32,
    /// Protocol fee denominators: token0's in the low 4 bits, token1's in the high 4.
    pub fee_protocol: u8,
}

/// A pool log that changes what a swap sees.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum V3Event {
    /// `Swap`: the pool's new price, liquidity and tick.
    Swap {
        /// `sqrtPriceX96` after the swap.
        sqrt_price_x96: U256,
        /// Active liquidity after the swap.
        liquidity: u128,
        /// Tick after the swap.
        tick: i32,
    },
    /// `Mint`: liquidity added to `[tick_lower, tick_upper)`.
    Mint {
        /// Lower tick of the position.
        tick_lower: i32,
        /// Upper tick of the position.
        tick_upper: i32,
        /// Liquidity added.
        amount: u128,
    },
    /// `Burn`: liquidity removed from `[tick_lower, tick_upper)`.
    Burn {
        /// Lower tick of the position.
        tick_lower: i32,
        /// Upper tick of the position.
        tick_upper: i32,
        /// Liquidity removed (0 for a fee poke).
        amount: u128,
    },
}

/// The outcome of a simulated swap, as the pool would return and store it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapResult {
    /// Token0 delta of the pool: positive is paid in, negative is paid out.
    pub amount0: I256,
    /// Token1 delta of the pool.
    pub amount1: I256,
    /// Square-root price after the swap.
    pub sqrt_price_x96: U256,
    /// Tick after the swap.
    pub tick: i32,
    /// Active liquidity after the swap.
    pub liquidity: u128,
    /// Initialized ticks crossed, counted as QuoterV2 counts them.
    pub initialized_ticks_crossed: u32,
    /// Steps of the pool's swap loop.
    pub steps: u32,
}

impl SwapResult {
    /// What the trader pays: the delta of the input token (token0 when `zero_for_one`).
    pub fn amount_in(&self, zero_for_one: bool) -> I256 {
        if zero_for_one {
            self.amount0
        } else {
            self.amount1
        }
    }

    /// What the trader receives: the negated delta of the output token.
    pub fn amount_out(&self, zero_for_one: bool) -> I256 {
        let delta = if zero_for_one {
            self.amount1
        } else {
            self.amount0
        };
        delta.wrapping_neg()
    }
}

/// What QuoterV2's single-pool quotes return (less its gas estimate).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct QuoteV2 {
    /// `amountOut` for an exact input, `amountIn` for an exact output.
    pub amount: U256,
    /// `sqrtPriceX96After`.
    pub sqrt_price_x96_after: U256,
    /// `initializedTicksCrossed`.
    pub initialized_ticks_crossed: u32,
}

/// The price limit routers and QuoterV2 use when none is given: one step inside the valid
/// range, in the direction of the swap.
pub fn default_price_limit(zero_for_one: bool) -> U256 {
    if zero_for_one {
        MIN_SQRT_RATIO + U256::ONE
    } else {
        MAX_SQRT_RATIO - U256::ONE
    }
}

/// A Uniswap V3 pool at one block: immutables, slot0, active liquidity, every initialized tick
/// and the bitmap derived from them. Immutable; updates return a new snapshot, and a swap
/// update shares the tick tables with the old one.
///
/// **Invariant:** the bitmap has a bit set exactly for the ticks in `ticks`, every tick has
/// non-zero gross liquidity, the nets sum to zero, and the active liquidity is the sum of
/// `liquidity_net` over the ticks at or below the current tick.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3Pool {
    key: V3PoolKey,
    slot0: Slot0,
    liquidity: u128,
    /// Sorted by tick.
    ticks: Arc<[TickInfo]>,
    /// Non-zero words only, sorted by word position.
    bitmap: Arc<[BitmapWord]>,
    /// Full steps computed ahead ([`V3Pool::with_step_table`]); not part of equality.
    steps: StepCache,
}

impl V3Pool {
    /// Builds a snapshot from chain values and derives the tick bitmap. `ticks` may come in any
    /// order; it must hold every initialized tick (`liquidity_gross > 0`) of the pool.
    ///
    /// Fails with [`V3Error::InvalidSnapshot`] on data no real pool can have, including nets
    /// that do not sum to zero, or an active liquidity that is not the sum of the nets at or
    /// below the tick: that catches a missing tick.
    pub fn new(
        key: V3PoolKey,
        slot0: Slot0,
        liquidity: u128,
        mut ticks: Vec<TickInfo>,
    ) -> Result<Self, V3Error> {
        let spacing_ok = key.tick_spacing > 0 && key.tick_spacing < MAX_TICK_SPACING;
        if key.fee_pips >= FEE_DENOMINATOR_PIPS || !spacing_ok || key.token0 >= key.token1 {
            return Err(V3Error::InvalidSnapshot);
        }
        ticks.sort_unstable_by_key(|t| t.tick);
        let tick_ok = |t: &TickInfo| {
            t.tick % key.tick_spacing == 0
                && (MIN_TICK..=MAX_TICK).contains(&t.tick)
                && t.liquidity_gross != 0
                && t.liquidity_net.unsigned_abs() <= t.liquidity_gross
        };
        let unique = ticks
            .windows(2)
            .all(|w| matches!(w, [a, b] if a.tick < b.tick));
        if !unique || !ticks.iter().all(tick_ok) {
            return Err(V3Error::InvalidSnapshot);
        }
        let bitmap = bitmap_of(&ticks, key.tick_spacing);
        let pool = Self {
            key,
            slot0,
            liquidity,
            ticks: ticks.into(),
            bitmap: bitmap.into(),
            steps: StepCache::default(),
        };
        pool.check_state()?;
        Ok(pool)
    }

    /// The slot0 and liquidity checks shared by [`V3Pool::new`] and the updaters.
    fn check_state(&self) -> Result<(), V3Error> {
        let price = self.slot0.sqrt_price_x96;
        let price_tick = get_tick_at_sqrt_ratio(price).ok_or(V3Error::InvalidSnapshot)?;
        // A swap that stops exactly on a tick going down leaves the tick one below the price's.
        let tick_ok = self.slot0.tick == price_tick
            || (self.slot0.tick == price_tick - 1
                && get_sqrt_ratio_at_tick(price_tick) == Some(price));
        // Running sum of the nets: the liquidity of each range between ticks, never negative,
        // zero above the last tick, and the active liquidity at the current tick.
        let mut running = 0u128;
        let mut active = 0u128;
        for t in self.ticks.iter() {
            running = add_delta(running, t.liquidity_net).ok_or(V3Error::InvalidSnapshot)?;
            if t.tick <= self.slot0.tick {
                active = running;
            }
        }
        if !tick_ok || active != self.liquidity || running != 0 {
            return Err(V3Error::InvalidSnapshot);
        }
        Ok(())
    }

    /// The pool's immutables.
    pub fn key(&self) -> &V3PoolKey {
        &self.key
    }

    /// The pool contract.
    pub fn address(&self) -> Address {
        self.key.address
    }

    /// `token0()`.
    pub fn token0(&self) -> Address {
        self.key.token0
    }

    /// `token1()`.
    pub fn token1(&self) -> Address {
        self.key.token1
    }

    /// The fee in pips.
    pub fn fee_pips(&self) -> u32 {
        self.key.fee_pips
    }

    /// The tick spacing.
    pub fn tick_spacing(&self) -> i32 {
        self.key.tick_spacing
    }

    /// Price, tick and protocol fee.
    pub fn slot0(&self) -> &Slot0 {
        &self.slot0
    }

    /// Current square-root price, Q64.96.
    pub fn sqrt_price_x96(&self) -> U256 {
        self.slot0.sqrt_price_x96
    }

    /// Current tick.
    pub fn tick(&self) -> i32 {
        self.slot0.tick
    }

    /// Active liquidity.
    pub fn liquidity(&self) -> u128 {
        self.liquidity
    }

    /// Every initialized tick, sorted.
    pub fn ticks(&self) -> &[TickInfo] {
        &self.ticks
    }

    /// The non-zero tick bitmap words `(word position, bits)`, sorted by position.
    pub fn bitmap(&self) -> &[BitmapWord] {
        &self.bitmap
    }

    /// The initialized tick `tick`, if it is one.
    pub fn tick_info(&self, tick: i32) -> Option<&TickInfo> {
        let i = self.ticks.binary_search_by_key(&tick, |t| t.tick).ok()?;
        self.ticks.get(i)
    }

    /// `TickBitmap.nextInitializedTickWithinOneWord` on this pool's bitmap.
    pub fn next_initialized_tick_within_one_word(&self, tick: i32, lte: bool) -> (i32, bool) {
        next_initialized_tick_within_one_word(&self.bitmap, tick, self.key.tick_spacing, lte)
    }

    /// QuoterV2's count of initialized ticks crossed between two ticks of this pool.
    pub fn count_initialized_ticks_crossed(&self, tick_before: i32, tick_after: i32) -> u32 {
        count_initialized_ticks_crossed(
            &self.bitmap,
            self.key.tick_spacing,
            tick_before,
            tick_after,
        )
    }
}

/// The bitmap words of a sorted, validated tick list.
fn bitmap_of(ticks: &[TickInfo], tick_spacing: i32) -> Vec<BitmapWord> {
    let mut words: Vec<BitmapWord> = Vec::new();
    for t in ticks {
        let (word_pos, bit) = position(t.tick / tick_spacing);
        // |tick / spacing| <= 887272, so the word position fits in i16 (the Solidity's type).
        let word_pos = word_pos as i16;
        match words.last_mut() {
            Some((pos, bits)) if *pos == word_pos => bits.set_bit(bit, true),
            _ => words.push((word_pos, U256::ONE << bit)),
        }
    }
    words
}

mod ladder;
mod steps;
mod swap;
mod update;

pub use ladder::{LADDER_RUNGS, LadderQuote, SwapLadder};
pub use steps::STEP_REACH;
use steps::StepCache;
