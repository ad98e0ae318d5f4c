//! `SqrtPriceMath.sol`: the next square-root price after adding or removing an amount of one
//! token, and the token amounts between two prices, with the Solidity's rounding directions.
//!
//! Every rounding favours the pool: inputs round up, outputs round down, and a price moved by
//! an input never passes where the exact input would put it. `None` wherever the Solidity
//! reverts.

use alloy_primitives::{I256, U256};

use super::full_math::{div, div_rounding_up, mul_div, mul_div_rounding_up};

/// Prices are Q64.96.
const RESOLUTION: usize = 96;
/// `2^96`: the fixed-point one of `sqrtPriceX96`.
pub const Q96: U256 = U256::from_limbs([0, 1 << 32, 0, 0]);
/// `type(uint160).max`.
const U160_MAX: U256 = U256::from_limbs([u64::MAX, u64::MAX, u32::MAX as u64, 0]);

/// `SafeCast.toUint160`.
#[inline]
fn to_u160(x: U256) -> Option<U256> {
    (x <= U160_MAX).then_some(x)
}

/// `SafeCast.toInt256`.
#[inline]
pub(crate) fn to_i256(x: U256) -> Option<I256> {
    (!x.bit(255)).then(|| I256::from_raw(x))
}

/// `getNextSqrtPriceFromAmount0RoundingUp`: the price after `amount` of token0 is added
/// (`add`) to or removed from the pool at `sqrt_p` with `liquidity`, rounded up.
pub fn get_next_sqrt_price_from_amount0_rounding_up(
    sqrt_p: U256,
    liquidity: u128,
    amount: U256,
    add: bool,
) -> Option<U256> {
    if amount.is_zero() {
        return Some(sqrt_p);
    }
    let numerator1 = U256::from(liquidity) << RESOLUTION;
    let (product, overflowed) = amount.overflowing_mul(sqrt_p);
    if add {
        if !overflowed {
            let (denominator, wrapped) = numerator1.overflowing_add(product);
            if !wrapped {
                // Always fits in 160 bits (the price only falls); the Solidity truncates.
                return Some(mul_div_rounding_up(numerator1, sqrt_p, denominator)? & U160_MAX);
            }
        }
        // Checked division: the Solidity's `/` reverts on a zero price.
        let base = div(numerator1, sqrt_p)?;
        Some(div_rounding_up(numerator1, base.checked_add(amount)?) & U160_MAX)
    } else {
        // If the product overflows, the denominator would underflow too.
        if overflowed || numerator1 <= product {
            return None;
        }
        to_u160(mul_div_rounding_up(
            numerator1,
            sqrt_p,
            numerator1 - product,
        )?)
    }
}

/// `getNextSqrtPriceFromAmount1RoundingDown`: the price after `amount` of token1 is added
/// (`add`) to or removed from the pool at `sqrt_p` with `liquidity`, rounded down.
pub fn get_next_sqrt_price_from_amount1_rounding_down(
    sqrt_p: U256,
    liquidity: u128,
    amount: U256,
    add: bool,
) -> Option<U256> {
    let liquidity = U256::from(liquidity);
    if add {
        let quotient = if amount <= U160_MAX {
            div(amount << RESOLUTION, liquidity)?
        } else {
            mul_div(amount, Q96, liquidity)?
        };
        to_u160(sqrt_p.checked_add(quotient)?)
    } else {
        let quotient = if amount <= U160_MAX {
            // UnsafeMath: a zero liquidity divides to 0 here, as in the EVM.
            div_rounding_up(amount << RESOLUTION, liquidity)
        } else {
            mul_div_rounding_up(amount, Q96, liquidity)?
        };
        if sqrt_p <= quotient {
            return None;
        }
        // Always fits in 160 bits: the price only falls.
        Some((sqrt_p - quotient) & U160_MAX)
    }
}

/// `getNextSqrtPriceFromInput`: the price after `amount_in` of the input token (token0 when
/// `zero_for_one`) enters the pool. Rounds so the price never passes the exact one.
pub fn get_next_sqrt_price_from_input(
    sqrt_p: U256,
    liquidity: u128,
    amount_in: U256,
    zero_for_one: bool,
) -> Option<U256> {
    if sqrt_p.is_zero() || liquidity == 0 {
        return None;
    }
    if zero_for_one {
        get_next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_in, true)
    } else {
        get_next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_in, true)
    }
}

/// `getNextSqrtPriceFromOutput`: the price after `amount_out` of the output token (token1
/// when `zero_for_one`) leaves the pool. Rounds so the price passes the exact one.
pub fn get_next_sqrt_price_from_output(
    sqrt_p: U256,
    liquidity: u128,
    amount_out: U256,
    zero_for_one: bool,
) -> Option<U256> {
    if sqrt_p.is_zero() || liquidity == 0 {
        return None;
    }
    if zero_for_one {
        get_next_sqrt_price_from_amount1_rounding_down(sqrt_p, liquidity, amount_out, false)
    } else {
        get_next_sqrt_price_from_amount0_rounding_up(sqrt_p, liquidity, amount_out, false)
    }
}

/// `getAmount0Delta` (unsigned): token0 between two prices for `liquidity`,
/// `L * 2^96 * (sqrt_b - sqrt_a) / sqrt_b / sqrt_a`, rounded up or down. `None` if the lower
/// price is 0 or on overflow.
pub fn get_amount0_delta(
    sqrt_ratio_a: U256,
    sqrt_ratio_b: U256,
    liquidity: u128,
    round_up: bool,
) -> Option<U256> {
    let (a, b) = if sqrt_ratio_a > sqrt_ratio_b {
        (sqrt_ratio_b, sqrt_ratio_a)
    } else {
        (sqrt_ratio_a, sqrt_ratio_b)
    };
    if a.is_zero() {
        return None;
    }
    let numerator1 = U256::from(liquidity) << RESOLUTION;
    let numerator2 = b - a;
    if round_up {
        Some(div_rounding_up(
            mul_div_rounding_up(numerator1, numerator2, b)?,
            a,
        ))
    } else {
        div(mul_div(numerator1, numerator2, b)?, a)
    }
}

/// `getAmount1Delta` (unsigned): token1 between two prices for `liquidity`,
/// `L * (sqrt_b - sqrt_a) / 2^96`, rounded up or down.
pub fn get_amount1_delta(
    sqrt_ratio_a: U256,
    sqrt_ratio_b: U256,
    liquidity: u128,
    round_up: bool,
) -> Option<U256> {
    let (a, b) = if sqrt_ratio_a > sqrt_ratio_b {
        (sqrt_ratio_b, sqrt_ratio_a)
    } else {
        (sqrt_ratio_a, sqrt_ratio_b)
    };
    let liquidity = U256::from(liquidity);
    if round_up {
        mul_div_rounding_up(liquidity, b - a, Q96)
    } else {
        mul_div(liquidity, b - a, Q96)
    }
}

/// `getAmount0Delta` (signed): what a liquidity change of `liquidity` owes (positive, rounded
/// up) or is owed (negative, rounded down) in token0 between the two prices.
pub fn get_amount0_delta_signed(
    sqrt_ratio_a: U256,
    sqrt_ratio_b: U256,
    liquidity: i128,
) -> Option<I256> {
    let amount = get_amount0_delta(
        sqrt_ratio_a,
        sqrt_ratio_b,
        liquidity.unsigned_abs(),
        liquidity >= 0,
    )?;
    signed(amount, liquidity < 0)
}

/// `getAmount1Delta` (signed): as [`get_amount0_delta_signed`] for token1.
pub fn get_amount1_delta_signed(
    sqrt_ratio_a: U256,
    sqrt_ratio_b: U256,
    liquidity: i128,
) -> Option<I256> {
    let amount = get_amount1_delta(
        sqrt_ratio_a,
        sqrt_ratio_b,
        liquidity.unsigned_abs(),
        liquidity >= 0,
    )?;
    signed(amount, liquidity < 0)
}

/// `toInt256`, negated for a removal (never overflows: the magnitude is below 2^255).
fn signed(amount: U256, negative: bool) -> Option<I256> {
    let value = to_i256(amount)?;
    Some(if negative {
        value.wrapping_neg()
    } else {
        value
    })
}
