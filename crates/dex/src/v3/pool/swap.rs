//! The swap loop of `UniswapV3Pool.swap`, step for step, and QuoterV2's view of it.

use alloy_primitives::{I256, U256};

use super::{MAX_SWAP_STEPS, QuoteV2, SwapResult, V3Error, V3Pool, default_price_limit};
use crate::v3::liquidity_math::add_delta;
use crate::v3::sqrt_price_math::to_i256;
use crate::v3::swap_math::compute_swap_step;
use crate::v3::tick_bitmap::next_initialized_tick_within_one_word;
use crate::v3::tick_math::{
    MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
};

/// The loop state of the pool's swap (`SwapState`, less the fee and oracle accounting that no
/// amount depends on).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(super) struct State {
    pub(super) remaining: I256,
    pub(super) calculated: I256,
    pub(super) sqrt_price_x96: U256,
    pub(super) tick: i32,
    pub(super) liquidity: u128,
    /// Loop iterations so far.
    pub(super) steps: u32,
}

impl V3Pool {
    /// Simulates `UniswapV3Pool.swap(recipient, zero_for_one, amount_specified,
    /// sqrt_price_limit_x96)` on this snapshot: `amount_specified > 0` is an exact input,
    /// `< 0` an exact output. Returns the pool's `(amount0, amount1)` and its state after, or
    /// the pool's revert.
    ///
    /// The swap stops when the amount is used up or the price reaches the limit; a partial
    /// fill is a success, as in the pool. Allocation-free; at most [`MAX_SWAP_STEPS`] steps.
    pub fn quote(
        &self,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit_x96: U256,
    ) -> Result<SwapResult, V3Error> {
        self.swap_from(
            self.slot0.sqrt_price_x96,
            self.slot0.tick,
            self.liquidity,
            zero_for_one,
            amount_specified,
            sqrt_price_limit_x96,
        )
    }

    /// [`V3Pool::quote`] from another price, tick and active liquidity over this snapshot's
    /// ticks, bitmap and fees: the pool as an earlier simulated swap left it (the
    /// `sqrt_price_x96`, `tick` and `liquidity` of its [`SwapResult`]). This is how the hot
    /// lane chains swaps on one pool without building a new snapshot.
    ///
    /// A price outside the valid range, or a tick that is not the price's, is
    /// [`V3Error::InvalidSnapshot`]; a liquidity that does not match the ticks gives a
    /// meaningless quote (or a liquidity error), never a panic.
    pub fn quote_from(
        &self,
        sqrt_price_x96: U256,
        tick: i32,
        liquidity: u128,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit_x96: U256,
    ) -> Result<SwapResult, V3Error> {
        if !tick_matches_price(sqrt_price_x96, tick) {
            return Err(V3Error::InvalidSnapshot);
        }
        self.swap_from(
            sqrt_price_x96,
            tick,
            liquidity,
            zero_for_one,
            amount_specified,
            sqrt_price_limit_x96,
        )
    }

    /// The swap loop from a price, tick and liquidity known to be consistent.
    fn swap_from(
        &self,
        sqrt_price_x96: U256,
        tick: i32,
        liquidity: u128,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit_x96: U256,
    ) -> Result<SwapResult, V3Error> {
        if amount_specified.is_zero() {
            return Err(V3Error::ZeroAmount);
        }
        let start = sqrt_price_x96;
        let limit = sqrt_price_limit_x96;
        check_limit(zero_for_one, start, limit)?;
        let exact_input = amount_specified.is_positive();
        let mut state = State {
            remaining: amount_specified,
            calculated: I256::ZERO,
            sqrt_price_x96: start,
            tick,
            liquidity,
            steps: 0,
        };
        self.run(&mut state, zero_for_one, exact_input, limit, true, |_| {})?;
        Ok(self.result_of(&state, amount_specified, zero_for_one, exact_input, tick))
    }

    /// The swap loop from `state` (the start of a swap, or part-way through one) until the
    /// amount runs out or the price reaches `limit`. `full_step` sees the state after every
    /// step that ended on its tick boundary (the target was the tick, not the limit, and the
    /// tick transition is done): such a step's amounts do not depend on what remained.
    /// Without `need_tick` the last step leaves `state.tick` as it was instead of computing
    /// the price's tick (only the last step can end off a boundary).
    pub(super) fn run(
        &self,
        state: &mut State,
        zero_for_one: bool,
        exact_input: bool,
        limit: U256,
        need_tick: bool,
        mut full_step: impl FnMut(&State),
    ) -> Result<(), V3Error> {
        while !state.remaining.is_zero() && state.sqrt_price_x96 != limit {
            if state.steps == MAX_SWAP_STEPS {
                return Err(V3Error::TooManySteps);
            }
            state.steps += 1;
            if exact_input && let Some(next) = self.steps.take(state, zero_for_one, limit) {
                // The step, computed ahead (see `steps`): the same amounts and state.
                *state = next;
                full_step(state);
            } else if self.step(state, zero_for_one, exact_input, limit, need_tick)? {
                full_step(state);
            }
        }
        Ok(())
    }

    /// The pool's return values and state after a loop that began with `amount_specified` at
    /// `tick_before`.
    pub(super) fn result_of(
        &self,
        state: &State,
        amount_specified: I256,
        zero_for_one: bool,
        exact_input: bool,
        tick_before: i32,
    ) -> SwapResult {
        let filled = amount_specified.wrapping_sub(state.remaining);
        let (amount0, amount1) = if zero_for_one == exact_input {
            (filled, state.calculated)
        } else {
            (state.calculated, filled)
        };
        SwapResult {
            amount0,
            amount1,
            sqrt_price_x96: state.sqrt_price_x96,
            tick: state.tick,
            liquidity: state.liquidity,
            initialized_ticks_crossed: self
                .count_initialized_ticks_crossed(tick_before, state.tick),
            steps: state.steps,
        }
    }

    /// One iteration of the pool's swap loop: to the next initialized tick or word boundary,
    /// the price limit, or where the amount runs out; then the tick transition. True when the
    /// step ended on its tick boundary, not on the limit or part-way.
    pub(super) fn step(
        &self,
        state: &mut State,
        zero_for_one: bool,
        exact_input: bool,
        limit: U256,
        need_tick: bool,
    ) -> Result<bool, V3Error> {
        let step_start = state.sqrt_price_x96;
        let (tick_next, initialized) = next_initialized_tick_within_one_word(
            &self.bitmap,
            state.tick,
            self.key.tick_spacing,
            zero_for_one,
        );
        // The bitmap knows nothing of the tick range: do not overshoot it.
        let tick_next = tick_next.clamp(MIN_TICK, MAX_TICK);
        let price_next = get_sqrt_ratio_at_tick(tick_next).ok_or(V3Error::Math)?;
        let beyond_limit = if zero_for_one {
            price_next < limit
        } else {
            price_next > limit
        };
        let target = if beyond_limit { limit } else { price_next };
        let step = compute_swap_step(
            state.sqrt_price_x96,
            target,
            state.liquidity,
            state.remaining,
            self.key.fee_pips,
        )
        .ok_or(V3Error::Math)?;
        debug_assert!(
            if zero_for_one {
                step.sqrt_price_next_x96 <= step_start && step.sqrt_price_next_x96 >= target
            } else {
                step.sqrt_price_next_x96 >= step_start && step.sqrt_price_next_x96 <= target
            },
            "Invariant: a step moves the price towards its target and never past it"
        );
        state.sqrt_price_x96 = step.sqrt_price_next_x96;

        // The input with its fee; the Solidity adds without a check, then casts with one.
        let paid = to_i256(step.amount_in.wrapping_add(step.fee_amount)).ok_or(V3Error::Math)?;
        let received = to_i256(step.amount_out).ok_or(V3Error::Math)?;
        if exact_input {
            state.remaining = state.remaining.wrapping_sub(paid);
            state.calculated = state
                .calculated
                .checked_sub(received)
                .ok_or(V3Error::Math)?;
        } else {
            state.remaining = state.remaining.wrapping_add(received);
            state.calculated = state.calculated.checked_add(paid).ok_or(V3Error::Math)?;
        }
        self.check_fee_growth(state.liquidity, step.fee_amount, zero_for_one)?;

        if state.sqrt_price_x96 == price_next {
            if initialized {
                let net = self
                    .tick_info(tick_next)
                    .ok_or(V3Error::InvalidSnapshot)?
                    .liquidity_net;
                // Moving down, the net liquidity applies with the opposite sign.
                let net = if zero_for_one {
                    net.wrapping_neg()
                } else {
                    net
                };
                state.liquidity = add_delta(state.liquidity, net).ok_or(V3Error::Liquidity)?;
            }
            state.tick = if zero_for_one {
                tick_next - 1
            } else {
                tick_next
            };
            // A limit on the boundary itself leaves the step's target the tick.
            return Ok(!beyond_limit);
        } else if need_tick && state.sqrt_price_x96 != step_start {
            // Recompute unless the price did not move (e.g. already on a lower tick boundary).
            state.tick = get_tick_at_sqrt_ratio(state.sqrt_price_x96).ok_or(V3Error::Math)?;
        }
        Ok(false)
    }

    /// The pool adds `mulDiv(fee, 2^128, liquidity)` to its fee growth each step, after the
    /// protocol's cut, and that `mulDiv` reverts when the quotient reaches 2^256: exactly when
    /// `fee >> 128 >= liquidity`. No amount depends on the fee growth, only this revert does.
    fn check_fee_growth(
        &self,
        liquidity: u128,
        fee_amount: U256,
        zero_for_one: bool,
    ) -> Result<(), V3Error> {
        if liquidity == 0 {
            return Ok(());
        }
        let protocol = if zero_for_one {
            self.slot0.fee_protocol % 16
        } else {
            self.slot0.fee_protocol >> 4
        };
        let mut lp_fee = fee_amount;
        if protocol > 0 {
            lp_fee -= fee_amount / U256::from(protocol);
        }
        if (lp_fee >> 128) >= U256::from(liquidity) {
            return Err(V3Error::Math);
        }
        Ok(())
    }

    /// QuoterV2's `quoteExactInputSingle`: the output for exactly `amount_in` of the input
    /// token, with QuoterV2's `sqrtPriceLimitX96` (0 for none). A partial fill at the limit
    /// quotes what the pool would pay, as QuoterV2 does.
    pub fn quote_exact_in_v2(
        &self,
        zero_for_one: bool,
        amount_in: U256,
        sqrt_price_limit_x96: U256,
    ) -> Result<QuoteV2, V3Error> {
        let amount = to_i256(amount_in).ok_or(V3Error::Math)?;
        let limit = quoter_limit(zero_for_one, sqrt_price_limit_x96);
        let result = self.quote(zero_for_one, amount, limit)?;
        moved_something(&result)?;
        Ok(QuoteV2 {
            amount: result.amount_out(zero_for_one).into_raw(),
            sqrt_price_x96_after: result.sqrt_price_x96,
            initialized_ticks_crossed: result.initialized_ticks_crossed,
        })
    }

    /// QuoterV2's `quoteExactOutputSingle`: the input for exactly `amount_out` of the output
    /// token, with QuoterV2's `sqrtPriceLimitX96` (0 for none). Without a limit, an output the
    /// pool cannot fill in full is [`V3Error::PartialFill`] (QuoterV2 reverts); with one, the
    /// partial input is quoted.
    pub fn quote_exact_out_v2(
        &self,
        zero_for_one: bool,
        amount_out: U256,
        sqrt_price_limit_x96: U256,
    ) -> Result<QuoteV2, V3Error> {
        let amount = to_i256(amount_out).ok_or(V3Error::Math)?.wrapping_neg();
        let limit = quoter_limit(zero_for_one, sqrt_price_limit_x96);
        let result = self.quote(zero_for_one, amount, limit)?;
        moved_something(&result)?;
        if sqrt_price_limit_x96.is_zero()
            && result.amount_out(zero_for_one).into_raw() != amount_out
        {
            return Err(V3Error::PartialFill);
        }
        Ok(QuoteV2 {
            amount: result.amount_in(zero_for_one).into_raw(),
            sqrt_price_x96_after: result.sqrt_price_x96,
            initialized_ticks_crossed: result.initialized_ticks_crossed,
        })
    }

    /// The output for exactly `amount_in`, without a price limit: QuoterV2's
    /// `quoteExactInputSingle(..., 0).amountOut`. When the pool runs out of liquidity this is
    /// the partial output of the input it could take.
    pub fn quote_exact_in(&self, zero_for_one: bool, amount_in: U256) -> Result<U256, V3Error> {
        Ok(self
            .quote_exact_in_v2(zero_for_one, amount_in, U256::ZERO)?
            .amount)
    }

    /// The input for exactly `amount_out`, without a price limit: QuoterV2's
    /// `quoteExactOutputSingle(..., 0).amountIn`; [`V3Error::PartialFill`] when the pool
    /// cannot pay that much.
    pub fn quote_exact_out(&self, zero_for_one: bool, amount_out: U256) -> Result<U256, V3Error> {
        Ok(self
            .quote_exact_out_v2(zero_for_one, amount_out, U256::ZERO)?
            .amount)
    }
}

/// The pool's `'SPL'` check: the limit must lie beyond the start price in the swap's direction
/// and inside the valid range.
pub(super) fn check_limit(zero_for_one: bool, start: U256, limit: U256) -> Result<(), V3Error> {
    let ok = if zero_for_one {
        limit < start && limit > MIN_SQRT_RATIO
    } else {
        limit > start && limit < MAX_SQRT_RATIO
    };
    if ok { Ok(()) } else { Err(V3Error::PriceLimit) }
}

/// Whether `tick` may go with `sqrt_price_x96`, as [`V3Pool::new`] accepts them: the price's
/// own tick (`get_tick_at_sqrt_ratio`), or the tick below when the price sits exactly on a
/// tick that a downward swap stopped at. That is `ratio(tick) ≤ price ≤ ratio(tick + 1)` with
/// the price in the valid range: two forward computations instead of the inverse.
pub(super) fn tick_matches_price(sqrt_price_x96: U256, tick: i32) -> bool {
    let within = |low: U256, high: U256| low <= sqrt_price_x96 && sqrt_price_x96 <= high;
    sqrt_price_x96 < MAX_SQRT_RATIO
        && tick < MAX_TICK
        && matches!(
            (get_sqrt_ratio_at_tick(tick), get_sqrt_ratio_at_tick(tick + 1)),
            (Some(low), Some(high)) if within(low, high)
        )
}

/// QuoterV2 replaces a zero limit with the router's default.
fn quoter_limit(zero_for_one: bool, sqrt_price_limit_x96: U256) -> U256 {
    if sqrt_price_limit_x96.is_zero() {
        default_price_limit(zero_for_one)
    } else {
        sqrt_price_limit_x96
    }
}

/// QuoterV2's callback requires a positive delta on one side: a swap entirely inside zero
/// liquidity reverts there.
fn moved_something(result: &SwapResult) -> Result<(), V3Error> {
    if result.amount0.is_positive() || result.amount1.is_positive() {
        Ok(())
    } else {
        Err(V3Error::NothingSwapped)
    }
}
