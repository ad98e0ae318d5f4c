//! Exact Uniswap V2 integer math, equal to `UniswapV2Library` and the on-chain executor.
//!
//! `fee_num` is the factory's fee numerator over 1000 (997 for Uniswap V2, a 0.3 % fee). All
//! functions use checked arithmetic and floor division, return `None` (or 0) where the Solidity
//! reverts, and never panic.

use kestrel_types::U256;

/// Fee denominator of every V2 fork this crate supports.
pub const FEE_DEN: u32 = 1000;

/// Reserves are `uint112` in a V2 pair; the closed form relies on that bound.
pub const RESERVE_LIMIT: U256 = U256::from_limbs([0, 1 << 48, 0, 0]);

const _: () = assert!(RESERVE_LIMIT.bit_len() == 113, "RESERVE_LIMIT is 2^112");

fn fee_ok(fee_num: u32) -> bool {
    fee_num > 0 && fee_num <= FEE_DEN
}

/// `UniswapV2Library.getAmountOut`: the output for an exact input.
///
/// `amountInWithFee = amountIn * fee_num; out = amountInWithFee * reserveOut / (reserveIn * 1000
/// + amountInWithFee)`. `None` where the library reverts (zero input, a zero reserve), on
/// overflow, or for a fee numerator outside `1..=1000`.
#[inline]
pub fn get_amount_out(
    amount_in: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee_num: u32,
) -> Option<U256> {
    if amount_in.is_zero() || reserve_in.is_zero() || reserve_out.is_zero() || !fee_ok(fee_num) {
        return None;
    }
    let amount_in_with_fee = amount_in.checked_mul(U256::from(fee_num))?;
    let numerator = amount_in_with_fee.checked_mul(reserve_out)?;
    let denominator = reserve_in
        .checked_mul(U256::from(FEE_DEN))?
        .checked_add(amount_in_with_fee)?;
    Some(numerator / denominator)
}

/// `UniswapV2Library.getAmountIn`: the input the library asks for an exact output.
///
/// `in = reserveIn * amountOut * 1000 / ((reserveOut - amountOut) * fee_num) + 1`. `None` where
/// the library reverts (zero output, a zero reserve, `amount_out >= reserve_out`), on overflow,
/// or for a fee numerator outside `1..=1000`.
#[inline]
pub fn get_amount_in(
    amount_out: U256,
    reserve_in: U256,
    reserve_out: U256,
    fee_num: u32,
) -> Option<U256> {
    if amount_out.is_zero() || reserve_in.is_zero() || amount_out >= reserve_out || !fee_ok(fee_num)
    {
        return None;
    }
    let numerator = reserve_in
        .checked_mul(amount_out)?
        .checked_mul(U256::from(FEE_DEN))?;
    let denominator = (reserve_out - amount_out).checked_mul(U256::from(fee_num))?;
    (numerator / denominator).checked_add(U256::ONE)
}

/// Floor square root, exact for every `U256`.
///
/// Below 2^128 it is the native `u128::isqrt`. Above, a floating-point root of the top 64 bits
/// seeds Newton's iteration (about 52 correct bits); one step from any positive seed lands at
/// or above the root (the arithmetic-geometric mean inequality holds for the floored step too),
/// and from there the iteration decreases monotonically to `floor(sqrt(x))`, here in two or
/// three more divisions instead of about seven from a power of two.
#[inline]
pub fn isqrt(x: U256) -> U256 {
    if let Ok(small) = u128::try_from(x) {
        return U256::from(small.isqrt());
    }
    // x ≥ 2^128: drop an even number of low bits, leaving 62 or 63, so the root scales by a
    // plain shift.
    let shift = (x.bit_len() - 62) & !1;
    let top = u64::try_from(x >> shift).unwrap_or(u64::MAX);
    // √top < 2^32, and the seed keeps 20 of its fractional bits.
    let seed = ((top as f64).sqrt() * (1u64 << 20) as f64) as u64;
    let scale = shift / 2;
    let seed = if scale >= 20 {
        U256::from(seed) << (scale - 20)
    } else {
        U256::from(seed) >> (20 - scale)
    }
    .max(U256::ONE);
    // z ≥ √x from here on; z + x / z < 2^130 then, so the sum cannot overflow.
    let mut z = (seed + x / seed) >> 1;
    loop {
        let y = (z + x / z) >> 1;
        if y >= z {
            return z;
        }
        z = y;
    }
}

/// Optimal input for the cycle: pay X into pool A (reserves `x1` of X, `y1` of Y, fee `n1`),
/// then the Y into pool B (reserves `y2` of Y, `x2` of X, fee `n2`).
///
/// The executor contract computes the same integer formula on chain, so this follows it step
/// for step, with floor division everywhere:
///
/// ```text
/// k   = isqrt(n1 * n2 * 10^12)
/// s   = isqrt(x1 * y1) * isqrt(x2 * y2)
/// lhs = s * k / 1000
/// rhs = 10^6 * x1 * y2
/// if lhs <= rhs -> 0
/// den = 1000 * n1 * y2 + n1 * n2 * y1
/// (lhs - rhs) / den
/// ```
///
/// Returns 0 when a reserve is 0 or at least 2^112 (outside the V2 bounds that keep every
/// product inside `U256`), or a fee numerator is outside `1..=1000`.
#[inline]
pub fn optimal_cycle_input(x1: U256, y1: U256, y2: U256, x2: U256, n1: u32, n2: u32) -> U256 {
    let in_bounds = |r: U256| !r.is_zero() && r < RESERVE_LIMIT;
    if !(in_bounds(x1)
        && in_bounds(y1)
        && in_bounds(y2)
        && in_bounds(x2)
        && fee_ok(n1)
        && fee_ok(n2))
    {
        return U256::ZERO;
    }
    // With reserves < 2^112 and fees <= 1000 every product below is < 2^256 (s < 2^224,
    // k <= 10^9 < 2^30, rhs < 2^20 * 2^224), so wrapping operators cannot wrap here.
    let (n1, n2) = (U256::from(n1), U256::from(n2));
    let n1n2 = n1 * n2;
    let rhs = U256::from(1_000_000u64) * x1 * y2;
    // The exact, square-root-free form of `lhs <= rhs` (square both sides): when it holds the
    // floored formula below returns 0 too (flooring only lowers lhs), so this skips the three
    // square roots for an unprofitable direction without changing any result.
    if n1n2 * y1 * x2 <= rhs {
        return U256::ZERO;
    }
    let k = isqrt(n1n2 * U256::from(1_000_000_000_000u64));
    let s = isqrt(x1 * y1) * isqrt(x2 * y2);
    let lhs = s * k / U256::from(FEE_DEN);
    if lhs <= rhs {
        return U256::ZERO;
    }
    let den = U256::from(FEE_DEN) * n1 * y2 + n1n2 * y1;
    (lhs - rhs) / den
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn amount_out_hand_example() {
        // 1000 in, reserves 10_000 / 20_000, fee 997:
        // 1000*997 = 997_000; 997_000*20_000 = 19_940_000_000; 10_000*1000 + 997_000 = 10_997_000;
        // 19_940_000_000 / 10_997_000 = 1813.22... -> 1813.
        let out = get_amount_out(
            U256::from(1000),
            U256::from(10_000),
            U256::from(20_000),
            997,
        );
        assert_eq!(out, Some(U256::from(1813)));
    }

    #[test]
    fn amount_in_hand_example() {
        // 1813 out, reserves 10_000 / 20_000, fee 997:
        // 10_000*1813*1000 = 18_130_000_000; (20_000-1813)*997 = 18_132_439;
        // 18_130_000_000 / 18_132_439 = 999.86... -> 999, + 1 = 1000.
        let amount_in = get_amount_in(
            U256::from(1813),
            U256::from(10_000),
            U256::from(20_000),
            997,
        );
        assert_eq!(amount_in, Some(U256::from(1000)));
    }

    #[test]
    fn library_reverts_are_none() {
        let (one, r) = (U256::ONE, U256::from(1000));
        assert_eq!(get_amount_out(U256::ZERO, r, r, 997), None);
        assert_eq!(get_amount_out(one, U256::ZERO, r, 997), None);
        assert_eq!(get_amount_out(one, r, U256::ZERO, 997), None);
        assert_eq!(get_amount_out(U256::MAX, r, r, 997), None, "overflow");
        assert_eq!(get_amount_out(one, r, r, 0), None);
        assert_eq!(get_amount_out(one, r, r, 1001), None);
        assert_eq!(get_amount_in(U256::ZERO, r, r, 997), None);
        assert_eq!(
            get_amount_in(r, r, r, 997),
            None,
            "amount_out == reserve_out"
        );
        assert_eq!(get_amount_in(one, U256::ZERO, r, 997), None);
        assert_eq!(get_amount_in(one, U256::MAX, r, 997), None, "overflow");
    }

    #[test]
    fn isqrt_small_and_edges() {
        let table: [(u64, u64); 9] = [
            (0, 0),
            (1, 1),
            (2, 1),
            (3, 1),
            (4, 2),
            (8, 2),
            (9, 3),
            (15, 3),
            (16, 4),
        ];
        for (x, r) in table {
            assert_eq!(isqrt(U256::from(x)), U256::from(r), "isqrt({x})");
        }
        // floor(sqrt(2^256 - 1)) = 2^128 - 1.
        assert_eq!(isqrt(U256::MAX), U256::from(u128::MAX));
        let p = U256::from(u128::MAX);
        assert_eq!(isqrt(p * p), p);
        assert_eq!(isqrt(p * p - U256::ONE), p - U256::ONE);
    }

    #[test]
    fn optimal_cycle_hand_example() {
        // Pool A: 1000 X / 2000 Y (fee 997); pool B: 1000 Y / 1000 X (fee 997): Y is dearer in B.
        // k = isqrt(997*997*10^12) = 997_000_000
        // s = isqrt(1000*2000) * isqrt(1000*1000) = 1414 * 1000 = 1_414_000
        // lhs = 1_414_000 * 997_000_000 / 1000 = 1_409_758_000_000
        // rhs = 10^6 * 1000 * 1000 = 1_000_000_000_000
        // den = 1000*997*1000 + 997*997*2000 = 997_000_000 + 1_988_018_000 = 2_985_018_000
        // (1_409_758_000_000 - 1_000_000_000_000) / 2_985_018_000 = 137.27... -> 137
        let k = |v: u64| U256::from(v);
        assert_eq!(
            optimal_cycle_input(k(1000), k(2000), k(1000), k(1000), 997, 997),
            k(137)
        );
        // Reversed direction is unprofitable.
        assert_eq!(
            optimal_cycle_input(k(1000), k(1000), k(2000), k(1000), 997, 997),
            U256::ZERO
        );
        // Out-of-bounds reserves give 0.
        assert_eq!(
            optimal_cycle_input(RESERVE_LIMIT, k(2000), k(1000), k(1000), 997, 997),
            U256::ZERO
        );
        assert_eq!(
            optimal_cycle_input(k(0), k(2000), k(1000), k(1000), 997, 997),
            U256::ZERO
        );
    }
}

#[cfg(test)]
mod early_exit {
    use super::*;
    use proptest::prelude::*;

    /// The formula exactly as the executor contract computes it, with no early exit: the
    /// reference the shortcut must agree with everywhere.
    fn contract_formula(x1: U256, y1: U256, y2: U256, x2: U256, n1: u32, n2: u32) -> U256 {
        let (n1, n2) = (U256::from(n1), U256::from(n2));
        let k = isqrt(n1 * n2 * U256::from(1_000_000_000_000u64));
        let s = isqrt(x1 * y1) * isqrt(x2 * y2);
        let lhs = s * k / U256::from(1000);
        let rhs = U256::from(1_000_000u64) * x1 * y2;
        if lhs <= rhs {
            U256::ZERO
        } else {
            (lhs - rhs) / (U256::from(1000) * n1 * y2 + n1 * n2 * y1)
        }
    }

    proptest! {
        #[test]
        fn shortcut_never_changes_the_result(
            x1 in 1u128..(1u128 << 100), y1 in 1u128..(1u128 << 100),
            skew_bps in 0u32..400, n1 in 990u32..=1000, n2 in 990u32..=1000,
        ) {
            // Near-balanced pools, where the boundary between profitable and not is crossed.
            let (x1, y1) = (U256::from(x1), U256::from(y1));
            let x2 = x1 * U256::from(10_000 + skew_bps) / U256::from(10_000) + U256::from(1);
            let y2 = y1;
            prop_assert_eq!(optimal_cycle_input(x1, y1, y2, x2, n1, n2), contract_formula(x1, y1, y2, x2, n1, n2));
            prop_assert_eq!(optimal_cycle_input(x2, y2, y1, x1, n1, n2), contract_formula(x2, y2, y1, x1, n1, n2));
        }
    }
}
