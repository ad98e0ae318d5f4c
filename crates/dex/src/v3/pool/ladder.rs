//! A swap's full steps remembered, so that the many exact-input quotes a sizing search takes
//! from one pool state each cost about one partial step instead of a walk across every tick.
//!
//! **Why it is exact.** In `SwapMath.computeSwapStep`, an exact-input step that reaches its
//! target tick takes `getAmountDelta` to the target plus `mulDivRoundingUp(amountIn, fee,
//! 1e6 − fee)`, and pays the delta out: nothing there depends on the amount remaining. A step
//! reaches its target exactly when the remaining amount covers that input and fee: for
//! integers, `mulDiv(r, 1e6 − f, 1e6) ≥ a` holds if and only if `r ≥ a + ⌈a·f / (1e6 − f)⌉`.
//! So the swap of `x` passes every tick boundary whose cumulative cost (inputs and fees) is
//! at most `x` and that the price limit does not cut short, and the state at each of those
//! boundaries is the same for every such `x`. The ladder keeps those states (its rungs), and a
//! quote resumes the pool's own loop from the deepest rung it reaches; a quote that goes
//! further than the ladder extends it. The property tests compare every ladder quote with
//! [`V3Pool::quote`].

use alloy_primitives::{I256, U256};

use super::swap::{State, check_limit, tick_matches_price};
use super::{SwapResult, V3Error, V3Pool};
use crate::v3::sqrt_price_math::to_i256;

/// Most boundary states one ladder keeps; a quote past the last goes on with the pool's loop
/// from there (exact, just not remembered).
pub const LADDER_RUNGS: usize = 16;

/// The state after a full step, and what the swap had taken in to get there.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Rung {
    /// Input and fees taken from the ladder's start to this boundary.
    filled: I256,
    /// The loop state at the boundary (`remaining` is not used).
    state: State,
}

/// Exact-input quotes from one state of one pool in one direction, remembering the tick
/// boundaries they pass (see the module docs). Fixed capacity: building and quoting allocate
/// nothing.
#[derive(Clone, Debug)]
pub struct SwapLadder<'a> {
    pool: &'a V3Pool,
    zero_for_one: bool,
    start: State,
    rungs: [Rung; LADDER_RUNGS],
    len: usize,
}

impl V3Pool {
    /// A ladder for exact-input swaps in direction `zero_for_one` from a price, tick and
    /// liquidity over this snapshot (as [`V3Pool::quote_from`] takes them; the same
    /// [`V3Error::InvalidSnapshot`] for a tick that is not the price's).
    pub fn ladder(
        &self,
        sqrt_price_x96: U256,
        tick: i32,
        liquidity: u128,
        zero_for_one: bool,
    ) -> Result<SwapLadder<'_>, V3Error> {
        if !tick_matches_price(sqrt_price_x96, tick) {
            return Err(V3Error::InvalidSnapshot);
        }
        let start = State {
            remaining: I256::ZERO,
            calculated: I256::ZERO,
            sqrt_price_x96,
            tick,
            liquidity,
            steps: 0,
        };
        Ok(SwapLadder {
            pool: self,
            zero_for_one,
            start,
            rungs: [Rung {
                filled: I256::ZERO,
                state: start,
            }; LADDER_RUNGS],
            len: 0,
        })
    }
}

impl SwapLadder<'_> {
    /// The swap's direction.
    pub fn zero_for_one(&self) -> bool {
        self.zero_for_one
    }

    /// Boundaries remembered so far.
    pub fn rungs(&self) -> usize {
        self.len
    }

    /// Exactly [`V3Pool::quote_from`] of `amount_in` (an exact input) with
    /// `sqrt_price_limit_x96`, from the ladder's state: the same result or the same error.
    pub fn quote_exact_in(
        &mut self,
        amount_in: U256,
        sqrt_price_limit_x96: U256,
    ) -> Result<SwapResult, V3Error> {
        let (state, specified) = self.walk(amount_in, sqrt_price_limit_x96, true)?;
        Ok(self
            .pool
            .result_of(&state, specified, self.zero_for_one, true, self.start.tick))
    }

    /// [`SwapLadder::quote_exact_in`] less what only the pool's bookkeeping needs (the tick
    /// after, the ticks crossed): the amounts, price and liquidity, the same to the wei, for
    /// less work (the last step's price is not turned back into a tick).
    pub fn amounts_exact_in(
        &mut self,
        amount_in: U256,
        sqrt_price_limit_x96: U256,
    ) -> Result<LadderQuote, V3Error> {
        let (state, specified) = self.walk(amount_in, sqrt_price_limit_x96, false)?;
        Ok(LadderQuote {
            amount_in: specified.wrapping_sub(state.remaining).into_raw(),
            amount_out: state.calculated.wrapping_neg().into_raw(),
            sqrt_price_x96: state.sqrt_price_x96,
            liquidity: state.liquidity,
        })
    }

    /// The pool's loop for `amount_in` from the deepest rung it reaches; its end state.
    fn walk(
        &mut self,
        amount_in: U256,
        limit: U256,
        need_tick: bool,
    ) -> Result<(State, I256), V3Error> {
        let specified = to_i256(amount_in).ok_or(V3Error::Math)?;
        if specified.is_zero() {
            return Err(V3Error::ZeroAmount);
        }
        let zero_for_one = self.zero_for_one;
        check_limit(zero_for_one, self.start.sqrt_price_x96, limit)?;
        // The deepest boundary this swap reaches: the pool's loop passes a rung when it paid
        // for it and the limit is not before it, and goes on from there while something
        // remains and the price is not on the limit (a zero-liquidity range costs nothing, so
        // several rungs may share one cumulative cost: the loop stops at the first).
        let mut reached = 0usize;
        for r in self.rungs.iter().take(self.len) {
            let price = r.state.sqrt_price_x96;
            let within = if zero_for_one {
                price >= limit
            } else {
                price <= limit
            };
            if r.filled > specified || !within {
                break;
            }
            reached += 1;
            if r.filled == specified || price == limit {
                break;
            }
        }
        let (mut state, filled) = match reached.checked_sub(1).and_then(|i| self.rungs.get(i)) {
            Some(r) => (r.state, r.filled),
            None => (self.start, I256::ZERO),
        };
        state.remaining = specified.wrapping_sub(filled);
        // Only a walk from the deepest rung finds new boundaries in order.
        let extend = reached == self.len;
        let pool = self.pool;
        let (rungs, len) = (&mut self.rungs, &mut self.len);
        pool.run(&mut state, zero_for_one, true, limit, need_tick, |s| {
            if extend && let Some(slot) = rungs.get_mut(*len) {
                *slot = Rung {
                    filled: specified.wrapping_sub(s.remaining),
                    state: *s,
                };
                *len += 1;
            }
        })?;
        Ok((state, specified))
    }
}

/// What [`SwapLadder::amounts_exact_in`] returns.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderQuote {
    /// Input taken, fees included (less than asked on a partial fill).
    pub amount_in: U256,
    /// Output paid.
    pub amount_out: U256,
    /// Square-root price after the swap.
    pub sqrt_price_x96: U256,
    /// Active liquidity after the swap.
    pub liquidity: u128,
}
