//! `FullMath.sol` and `UnsafeMath.sol`: products with a 512-bit intermediate, then division.
//!
//! `None` wherever the Solidity reverts: a zero denominator, or a quotient that does not fit in
//! 256 bits (for the rounded-up form, also a quotient of exactly `2^256 - 1` that must be
//! incremented).

use alloy_primitives::{U256, U512};

/// `U256` into the low half of a `U512`.
#[inline]
fn widen(x: U256) -> U512 {
    let [a, b, c, d] = x.into_limbs();
    U512::from_limbs([a, b, c, d, 0, 0, 0, 0])
}

/// The low half of a `U512` if the high half is zero.
#[inline]
fn narrow(x: U512) -> Option<U256> {
    let [a, b, c, d, e, f, g, h] = x.into_limbs();
    if (e | f | g | h) != 0 {
        return None;
    }
    Some(U256::from_limbs([a, b, c, d]))
}

/// `floor(a * b / denominator)` and whether the division left a remainder; `None` for a zero
/// denominator or a quotient of 2^256 or more.
#[inline]
fn mul_div_rem(a: U256, b: U256, denominator: U256) -> Option<(U256, bool)> {
    if denominator.is_zero() {
        return None;
    }
    // Most products fit in 256 bits: skip the 512-bit division then.
    if let Some(product) = a.checked_mul(b) {
        let (q, r) = product.div_rem(denominator);
        return Some((q, !r.is_zero()));
    }
    let product: U512 = a.widening_mul(b);
    let (q, r) = product.div_rem(widen(denominator));
    Some((narrow(q)?, !r.is_zero()))
}

/// `FullMath.mulDiv`: `floor(a * b / denominator)` with full precision.
///
/// `None` where the Solidity reverts: `denominator == 0`, or a result of 2^256 or more.
#[inline]
pub fn mul_div(a: U256, b: U256, denominator: U256) -> Option<U256> {
    mul_div_rem(a, b, denominator).map(|(q, _)| q)
}

/// `FullMath.mulDivRoundingUp`: `ceil(a * b / denominator)` with full precision.
///
/// `None` where the Solidity reverts: as [`mul_div`], and when rounding up would pass
/// `2^256 - 1`.
#[inline]
pub fn mul_div_rounding_up(a: U256, b: U256, denominator: U256) -> Option<U256> {
    let (q, rem) = mul_div_rem(a, b, denominator)?;
    if rem {
        q.checked_add(U256::ONE)
    } else {
        Some(q)
    }
}

/// `UnsafeMath.divRoundingUp`: `ceil(x / y)`, with the EVM's `div(x, 0) == 0` and
/// `mod(x, 0) == 0`, so a zero divisor gives 0 instead of reverting.
#[inline]
pub fn div_rounding_up(x: U256, y: U256) -> U256 {
    if y.is_zero() {
        return U256::ZERO;
    }
    let (q, r) = x.div_rem(y);
    // q < 2^256 - 1 whenever r > 0 (y >= 2 then), so the increment cannot wrap.
    if r.is_zero() { q } else { q + U256::ONE }
}
