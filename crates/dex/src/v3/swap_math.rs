//! `SwapMath.computeSwapStep`: one step of a swap inside a single liquidity range.

use alloy_primitives::{I256, U256};

use super::full_math::{mul_div, mul_div_rounding_up};
use super::sqrt_price_math::{
    get_amount0_delta, get_amount1_delta, get_next_sqrt_price_from_input,
    get_next_sqrt_price_from_output,
};

/// Fees are in pips: hundredths of a basis point, out of `1e6`.
pub const FEE_DENOMINATOR_PIPS: u32 = 1_000_000;

/// The outcome of one swap step.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SwapStep {
    /// The price after the step: the target, or where the remaining amount ran out.
    pub sqrt_price_next_x96: U256,
    /// Input taken by the step, excluding the fee.
    pub amount_in: U256,
    /// Output paid by the step.
    pub amount_out: U256,
    /// Fee taken, in the input token.
    pub fee_amount: U256,
}

/// `SwapMath.computeSwapStep`: swap from `sqrt_current` towards `sqrt_target` with
/// `liquidity`, spending at most `amount_remaining` (exact input when `>= 0`) or receiving at
/// most `-amount_remaining` (exact output when `< 0`), with a fee of `fee_pips` / 1e6.
///
/// The direction is `zero_for_one` when `sqrt_current >= sqrt_target`. `None` where the
/// Solidity reverts, and for `fee_pips >= 1e6`, which no factory allows (the Solidity would
/// wrap).
pub fn compute_swap_step(
    sqrt_current: U256,
    sqrt_target: U256,
    liquidity: u128,
    amount_remaining: I256,
    fee_pips: u32,
) -> Option<SwapStep> {
    if fee_pips >= FEE_DENOMINATOR_PIPS {
        return None;
    }
    let zero_for_one = sqrt_current >= sqrt_target;
    let exact_in = !amount_remaining.is_negative();
    // uint256(amountRemaining) or uint256(-amountRemaining); int256.min maps to 2^255 in both.
    let remaining = amount_remaining.unsigned_abs();
    let fee = U256::from(fee_pips);
    let fee_complement = U256::from(FEE_DENOMINATOR_PIPS - fee_pips);
    let million = U256::from(FEE_DENOMINATOR_PIPS);

    let mut amount_in = U256::ZERO;
    let mut amount_out = U256::ZERO;
    let sqrt_next = if exact_in {
        let remaining_less_fee = mul_div(remaining, fee_complement, million)?;
        amount_in = if zero_for_one {
            get_amount0_delta(sqrt_target, sqrt_current, liquidity, true)?
        } else {
            get_amount1_delta(sqrt_current, sqrt_target, liquidity, true)?
        };
        if remaining_less_fee >= amount_in {
            sqrt_target
        } else {
            get_next_sqrt_price_from_input(
                sqrt_current,
                liquidity,
                remaining_less_fee,
                zero_for_one,
            )?
        }
    } else {
        amount_out = if zero_for_one {
            get_amount1_delta(sqrt_target, sqrt_current, liquidity, false)?
        } else {
            get_amount0_delta(sqrt_current, sqrt_target, liquidity, false)?
        };
        if remaining >= amount_out {
            sqrt_target
        } else {
            get_next_sqrt_price_from_output(sqrt_current, liquidity, remaining, zero_for_one)?
        }
    };

    // Reaching the target keeps the amount computed against it on the side that was exact.
    let max = sqrt_target == sqrt_next;
    let keep_in = max && exact_in;
    let keep_out = max && !exact_in;
    if zero_for_one {
        if !keep_in {
            amount_in = get_amount0_delta(sqrt_next, sqrt_current, liquidity, true)?;
        }
        if !keep_out {
            amount_out = get_amount1_delta(sqrt_next, sqrt_current, liquidity, false)?;
        }
    } else {
        if !keep_in {
            amount_in = get_amount1_delta(sqrt_current, sqrt_next, liquidity, true)?;
        }
        if !keep_out {
            amount_out = get_amount0_delta(sqrt_current, sqrt_next, liquidity, false)?;
        }
    }
    // Never pay out more than the remaining exact output.
    if !exact_in && amount_out > remaining {
        amount_out = remaining;
    }
    let fee_amount = if exact_in && sqrt_next != sqrt_target {
        // The target was not reached: the whole rest of the input is fee.
        remaining.wrapping_sub(amount_in)
    } else {
        mul_div_rounding_up(amount_in, fee, fee_complement)?
    };
    Some(SwapStep {
        sqrt_price_next_x96: sqrt_next,
        amount_in,
        amount_out,
        fee_amount,
    })
}
