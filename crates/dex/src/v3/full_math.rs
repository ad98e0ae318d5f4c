//! `FullMath.sol` and `UnsafeMath.sol`: products with a 512-bit intermediate, then division.
//!
//! `None` wherever the Solidity reverts: a zero denominator, or a quotient that does not fit in
//! 256 bits (for the rounded-up form, also a quotient of exactly `2^256 - 1` that must be
//! incremented).
//!
//! The division is done here on `u64` limbs rather than through `U512::div_rem`: the V3 step
//! math calls it several times per swap step, and a generic 512-bit division was half of a
//! multi-tick quote. Operands that all fit in 128 bits (fee scaling, most amounts) take one
//! native `u128` division. Everything else is the schoolbook division of Knuth's algorithm D
//! (TAOCP vol. 2, 4.3.1) in base 2^64, whose quotient digits come from the reciprocal-based
//! 2-by-1 and 3-by-2 divisions of Möller and Granlund ("Improved division by invariant
//! integers", 2011): one hardware division per call, for the reciprocal, and multiplications
//! for every digit. Because `FullMath` rejects quotients of 2^256 or more before dividing (the
//! high half of the product must be below the denominator), there are at most four digits.

use alloy_primitives::U256;

/// `floor(a * b / denominator)` and whether the division left a remainder; `None` for a zero
/// denominator or a quotient of 2^256 or more.
#[inline]
fn mul_div_rem(a: U256, b: U256, denominator: U256) -> Option<(U256, bool)> {
    let (a, b, d) = (a.as_limbs(), b.as_limbs(), denominator.as_limbs());
    let (q, rem) = if (a[2] | a[3] | b[2] | b[3]) == 0 {
        // Most V3 operands fit in 128 bits, so the product fits in 256: four multiplications,
        // and one native division when the product and the denominator fit in 128 bits.
        let [p0, p1, p2, p3, ..] = widening_mul(&[a[0], a[1], 0, 0], &[b[0], b[1], 0, 0]);
        if (p2 | p3 | d[2] | d[3]) == 0 {
            let (p, d) = (join(p1, p0), join(d[1], d[0]));
            let q = p.checked_div(d)?;
            return Some((U256::from(q), p != q * d));
        }
        div_rem_256(&[p0, p1, p2, p3], d)?
    } else {
        // One operand has more than two limbs; if the other has at most two, skip its zero
        // columns too.
        let (a, b) = if (a[2] | a[3]) == 0 { (b, a) } else { (a, b) };
        let product = if (b[2] | b[3]) == 0 {
            widening_mul(a, &[b[0], b[1], 0, 0])
        } else {
            widening_mul(a, b)
        };
        div_rem_512(&product, d)?
    };
    Some((U256::from_limbs(q), rem))
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

/// `floor(x / y)`, `None` when `y == 0` (where the Solidity's `/` reverts): `U256::checked_div`
/// through the limb division above, which is faster than ruint's generic one.
#[inline]
pub fn div(x: U256, y: U256) -> Option<U256> {
    let (x, y) = (x.as_limbs(), y.as_limbs());
    if (x[2] | x[3] | y[2] | y[3]) == 0 {
        // Both fit in 128 bits: one native division.
        let q = join(x[1], x[0]).checked_div(join(y[1], y[0]))?;
        return Some(U256::from(q));
    }
    div_rem_256(x, y).map(|(q, _)| U256::from_limbs(q))
}

/// `UnsafeMath.divRoundingUp`: `ceil(x / y)`, with the EVM's `div(x, 0) == 0` and
/// `mod(x, 0) == 0`, so a zero divisor gives 0 instead of reverting.
#[inline]
pub fn div_rounding_up(x: U256, y: U256) -> U256 {
    // The quotient always fits: `None` means `y == 0`.
    let Some((q, rem)) = div_rem_256(x.as_limbs(), y.as_limbs()) else {
        return U256::ZERO;
    };
    let q = U256::from_limbs(q);
    // q < 2^256 - 1 whenever rem (y >= 2 then), so the increment cannot wrap.
    if rem { q + U256::ONE } else { q }
}

/// `(hi << 64) | lo`.
#[inline(always)]
fn join(hi: u64, lo: u64) -> u128 {
    (u128::from(hi) << 64) | u128::from(lo)
}

/// The high and low limbs of `x`.
#[inline(always)]
fn split(x: u128) -> (u64, u64) {
    ((x >> 64) as u64, x as u64)
}

/// The 512-bit product of two 256-bit numbers, little-endian limbs.
#[inline(always)]
fn widening_mul(a: &[u64; 4], b: &[u64; 4]) -> [u64; 8] {
    let mut p = [0u64; 8];
    for (i, &ai) in a.iter().enumerate() {
        // Most operands have fewer than four limbs: their zero rows add nothing.
        if ai == 0 {
            continue;
        }
        let mut carry = 0;
        for (k, &bk) in b.iter().enumerate() {
            // ai * bk + p + carry <= 2^128 - 1: no overflow.
            (p[i + k], carry) = ai.carrying_mul_add(bk, p[i + k], carry);
        }
        p[i + 4] = carry;
    }
    p
}

/// The number of limbs up to and including the most significant non-zero one.
#[inline(always)]
fn significant_limbs(x: &[u64]) -> usize {
    x.iter().rposition(|&limb| limb != 0).map_or(0, |i| i + 1)
}

/// `(x << s) | (lower >> (64 - s))`: limb `x` of a number shifted left by `s` bits, `lower`
/// being the limb below it. Correct for `s == 0` too (the double shift never reaches 64).
#[inline(always)]
fn shl_limb(x: u64, lower: u64, s: u32) -> u64 {
    debug_assert!(s < 64, "Invariant: a normalisation shift is below 64");
    (x << s) | ((lower >> 1) >> (63 - s))
}

/// `x << s` with `s < 64`, one limb wider so that nothing is lost.
#[inline(always)]
fn shl_wide(x: &[u64; 8], s: u32) -> [u64; 9] {
    let mut out = [0u64; 9];
    out[0] = x[0] << s;
    for i in 1..8 {
        out[i] = shl_limb(x[i], x[i - 1], s);
    }
    out[8] = shl_limb(0, x[7], s);
    out
}

/// `x << s` with `s < 64`, for a divisor whose top `s` bits are zero.
#[inline(always)]
fn shl_divisor(x: &[u64; 4], s: u32) -> [u64; 4] {
    [
        x[0] << s,
        shl_limb(x[1], x[0], s),
        shl_limb(x[2], x[1], s),
        shl_limb(x[3], x[2], s),
    ]
}

/// [`div_rem_wide`] for a numerator below 2^256: the high half folds away.
#[inline(never)]
fn div_rem_256(n: &[u64; 4], d: &[u64; 4]) -> Option<([u64; 4], bool)> {
    div_rem_wide(&[n[0], n[1], n[2], n[3], 0, 0, 0, 0], d)
}

/// [`div_rem_wide`] for any numerator.
#[inline(never)]
fn div_rem_512(n: &[u64; 8], d: &[u64; 4]) -> Option<([u64; 4], bool)> {
    div_rem_wide(n, d)
}

/// `floor(n / d)` as four limbs and whether a remainder was left; `None` when `d == 0` or the
/// quotient needs more than 256 bits (the high half of `n` is at least `d`).
#[inline(always)]
fn div_rem_wide(n: &[u64; 8], d: &[u64; 4]) -> Option<([u64; 4], bool)> {
    let d_limbs = significant_limbs(d);
    if d_limbs == 0 || !less_than(&[n[4], n[5], n[6], n[7]], d) {
        return None;
    }
    Some(match d_limbs {
        1 => div_rem_by_limb(n, d[0]),
        2 => div_rem_knuth::<2>(n, d),
        3 => div_rem_knuth::<3>(n, d),
        _ => div_rem_knuth::<4>(n, d),
    })
}

/// `x < y` for four-limb numbers.
#[inline(always)]
fn less_than(x: &[u64; 4], y: &[u64; 4]) -> bool {
    for i in (0..4).rev() {
        if x[i] != y[i] {
            return x[i] < y[i];
        }
    }
    false
}

/// [`div_rem_wide`] for a one-limb divisor `d > n[4..]`: four 2-by-1 steps.
#[inline(always)]
fn div_rem_by_limb(n: &[u64; 8], d: u64) -> ([u64; 4], bool) {
    debug_assert!(d != 0, "Invariant: the divisor is not zero");
    let s = d.leading_zeros();
    let d = d << s;
    let v = reciprocal(d);
    let u = shl_wide(n, s);
    // n < d * 2^256, so the normalised numerator is below d * 2^256 too: u[4] < d and the
    // limbs above it are zero. u[4] is the first partial remainder.
    let mut r = u[4];
    let mut q = [0u64; 4];
    for j in (0..4).rev() {
        (q[j], r) = div_2x1(r, u[j], d, v);
    }
    (q, r != 0)
}

/// [`div_rem_wide`] for a divisor of exactly `M` limbs (2 to 4): algorithm D with 3-by-2
/// quotient digits, as GMP's `mpn_sbpi1_div_qr`.
#[inline(always)]
fn div_rem_knuth<const M: usize>(n: &[u64; 8], d: &[u64; 4]) -> ([u64; 4], bool) {
    const { assert!(M >= 2 && M <= 4) };
    debug_assert!(d[M - 1] != 0, "Invariant: the divisor has exactly M limbs");
    // Q64, Q96, Q128: the fixed-point scales are powers of two, divided by a shift.
    if d[M - 1].is_power_of_two() && d[..M - 1].iter().all(|&limb| limb == 0) {
        return shr_pow2::<M>(n, d[M - 1].trailing_zeros());
    }
    let s = d[M - 1].leading_zeros();
    let v = shl_divisor(d, s);
    let mut u = shl_wide(n, s);
    let inv = reciprocal_3x2(v[M - 1], v[M - 2]);
    let mut q = [0u64; 4];
    // Quotient digits: one per limb position from the top `M` limbs of the numerator down,
    // at most four since the quotient fits in 256 bits. The fixed trip count lets the loop
    // unroll and keep `u` in registers.
    let digits = (significant_limbs(n) + 1).saturating_sub(M);
    for j in (0..4).rev() {
        if j < digits {
            q[j] = knuth_digit::<M>(&mut u, j, &v, inv);
        }
    }
    debug_assert!(
        u[M..].iter().all(|&limb| limb == 0),
        "Invariant: the remainder is below the divisor"
    );
    (q, u[..M].iter().any(|&limb| limb != 0))
}

/// `n / 2^(64 * (M - 1) + s)` for `s < 64` and whether bits were shifted out; the quotient
/// fits in four limbs.
#[inline(always)]
fn shr_pow2<const M: usize>(n: &[u64; 8], s: u32) -> ([u64; 4], bool) {
    let shr = |i: usize| (n[i] >> s) | ((n[i + 1] << 1) << (63 - s));
    let q = [shr(M - 1), shr(M), shr(M + 1), shr(M + 2)];
    let low_bits = n[..M - 1].iter().any(|&limb| limb != 0) || n[M - 1] << 1 << (63 - s) != 0;
    (q, low_bits)
}

/// One quotient digit of algorithm D: divides the window `u[j..=j + M]`, whose top `M` limbs
/// are below the normalised divisor `v` (the running remainder), leaves the remainder in
/// `u[j..j + M]` and returns the digit. `inv` is the 3-by-2 reciprocal of the top two limbs.
#[inline(always)]
fn knuth_digit<const M: usize>(u: &mut [u64; 9], j: usize, v: &[u64; 4], inv: u64) -> u64 {
    let (d1, d0) = (v[M - 1], v[M - 2]);
    let (n2, n1, n0) = (u[j + M], u[j + M - 1], u[j + M - 2]);
    if n2 == 0 && join(n1, n0) < join(d1, d0) {
        // The window is below the divisor: a zero digit, often the first one (the quotient
        // can be a limb shorter than the numerator minus the divisor).
        return 0;
    }
    if n2 == d1 && n1 == d0 {
        // The 3-by-2 quotient would be 2^64; the true digit is then exactly 2^64 - 1: with
        // those top limbs the window is at least (2^64 - 1) * divisor, and below 2^64 * it.
        let borrow = submul(u, j, v, M, u64::MAX);
        debug_assert_eq!(borrow, n2, "Invariant: the digit 2^64 - 1 is exact");
        u[j + M] = 0;
        return u64::MAX;
    }
    let (mut digit, r) = div_3x2(n2, n1, n0, join(d1, d0), inv);
    // The digit is exact for the top three limbs; take it times the rest of the divisor
    // from the rest of the window. A borrow past the top means it was one too large.
    let (r1, r0) = split(r);
    let borrow = submul(u, j, v, M - 2, digit);
    let (r0, b0) = r0.overflowing_sub(borrow);
    let (r1, b1) = r1.overflowing_sub(u64::from(b0));
    (u[j + M - 2], u[j + M - 1], u[j + M]) = (r0, r1, 0);
    if b1 {
        digit = digit.wrapping_sub(1);
        add_back(u, j, v, M);
    }
    digit
}

/// `u[j..j + len] -= digit * v[..len]`; returns the limb to borrow from `u[j + len]`.
#[inline(always)]
fn submul(u: &mut [u64; 9], j: usize, v: &[u64; 4], len: usize, digit: u64) -> u64 {
    let mut borrow = 0u64;
    for (i, &vi) in v.iter().enumerate().take(len) {
        // digit * vi + borrow < 2^128, and hi + 1 cannot wrap: hi == 2^64 - 1 forces lo == 0.
        let (lo, hi) = digit.carrying_mul(vi, borrow);
        let (x, b) = u[j + i].overflowing_sub(lo);
        u[j + i] = x;
        borrow = hi + u64::from(b);
    }
    borrow
}

/// `u[j..j + len] += v[..len]`, dropping the carry out (it cancels the earlier borrow).
#[inline(always)]
fn add_back(u: &mut [u64; 9], j: usize, v: &[u64; 4], len: usize) {
    let mut carry = false;
    for (i, &vi) in v.iter().enumerate().take(len) {
        (u[j + i], carry) = u[j + i].carrying_add(vi, carry);
    }
}

/// Möller–Granlund reciprocal of a normalised limb: `floor((2^128 - 1) / d) - 2^64`.
#[inline(always)]
fn reciprocal(d: u64) -> u64 {
    debug_assert!(d >> 63 == 1, "Invariant: the divisor is normalised");
    // (2^128 - 1 - d * 2^64) / d: the high limb !d is below d, so the quotient fits a limb.
    // Setting the top bit again changes nothing and lets the compiler drop its zero check.
    (join(!d, u64::MAX) / u128::from(d | 1 << 63)) as u64
}

/// Möller–Granlund reciprocal of a normalised two-limb divisor (their algorithm 6):
/// `floor((2^192 - 1) / (d1, d0)) - 2^64`.
#[inline(always)]
fn reciprocal_3x2(d1: u64, d0: u64) -> u64 {
    let mut v = reciprocal(d1);
    let mut p = d1.wrapping_mul(v).wrapping_add(d0);
    if p < d0 {
        v = v.wrapping_sub(1);
        if p >= d1 {
            v = v.wrapping_sub(1);
            p = p.wrapping_sub(d1);
        }
        p = p.wrapping_sub(d1);
    }
    let (t1, t0) = split(u128::from(v) * u128::from(d0));
    p = p.wrapping_add(t1);
    if p < t1 {
        v = v.wrapping_sub(1);
        if join(p, t0) >= join(d1, d0) {
            v = v.wrapping_sub(1);
        }
    }
    v
}

/// `(u1, u0) / d` for normalised `d > u1` with its reciprocal `v` (Möller–Granlund
/// algorithm 4): the quotient limb and the remainder.
#[inline(always)]
fn div_2x1(u1: u64, u0: u64, d: u64, v: u64) -> (u64, u64) {
    debug_assert!(u1 < d, "Invariant: the quotient fits a limb");
    let (q1, q0) = split((u128::from(v) * u128::from(u1)).wrapping_add(join(u1, u0)));
    let mut q1 = q1.wrapping_add(1);
    let mut r = u0.wrapping_sub(q1.wrapping_mul(d));
    if r > q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q1 = q1.wrapping_add(1);
        r -= d;
    }
    (q1, r)
}

/// `(u2, u1, u0) / d` for a normalised two-limb `d > (u2, u1)` with its 3-by-2 reciprocal `v`
/// (Möller–Granlund algorithm 5): the quotient limb and the two-limb remainder.
#[inline(always)]
fn div_3x2(u2: u64, u1: u64, u0: u64, d: u128, v: u64) -> (u64, u128) {
    debug_assert!(join(u2, u1) < d, "Invariant: the quotient fits a limb");
    let (d1, d0) = split(d);
    let (q1, q0) = split((u128::from(v) * u128::from(u2)).wrapping_add(join(u2, u1)));
    let r1 = u1.wrapping_sub(q1.wrapping_mul(d1));
    let t = u128::from(d0) * u128::from(q1);
    let mut r = join(r1, u0).wrapping_sub(t).wrapping_sub(d);
    let mut q1 = q1.wrapping_add(1);
    if split(r).0 >= q0 {
        q1 = q1.wrapping_sub(1);
        r = r.wrapping_add(d);
    }
    if r >= d {
        q1 = q1.wrapping_add(1);
        r -= d;
    }
    (q1, r)
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::U512;
    use proptest::prelude::*;

    /// The plain 512-bit quotient and whether it left a remainder, `None` where `FullMath`
    /// reverts.
    fn reference(a: U256, b: U256, d: U256) -> Option<(U256, bool)> {
        if d.is_zero() {
            return None;
        }
        let (q, r) = a.widening_mul::<256, 4, 512, 8>(b).div_rem(U512::from(d));
        let q = U256::checked_from_limbs_slice(q.as_limbs())?;
        Some((q, !r.is_zero()))
    }

    /// All three public functions against [`reference`].
    fn check(a: U256, b: U256, d: U256) -> Result<(), TestCaseError> {
        let expected = reference(a, b, d);
        prop_assert_eq!(mul_div_rem(a, b, d), expected, "{} * {} / {}", a, b, d);
        prop_assert_eq!(mul_div(a, b, d), expected.map(|(q, _)| q));
        let up = expected.and_then(|(q, rem)| {
            if rem {
                q.checked_add(U256::ONE)
            } else {
                Some(q)
            }
        });
        prop_assert_eq!(mul_div_rounding_up(a, b, d), up);
        let (q, r) = if d.is_zero() {
            (U256::ZERO, U256::ZERO)
        } else {
            a.div_rem(d)
        };
        let ceil = if r.is_zero() { q } else { q + U256::ONE };
        prop_assert_eq!(div_rounding_up(a, d), ceil, "ceil({} / {})", a, d);
        prop_assert_eq!(div(a, d), a.checked_div(d), "{} / {}", a, d);
        prop_assert_eq!(div(b, d), b.checked_div(d), "{} / {}", b, d);
        Ok(())
    }

    /// Limbs that sit on the edges of the digit arithmetic, and random ones.
    fn limb() -> impl Strategy<Value = u64> {
        prop_oneof![
            Just(0),
            Just(1),
            Just(u64::MAX),
            Just(u64::MAX - 1),
            Just(1 << 63),
            Just((1 << 63) - 1),
            any::<u64>(),
            any::<u64>(),
        ]
    }

    /// A value of 0 to 4 limbs, each an edge or random limb, sometimes shifted right so that
    /// the top limb is not normalised.
    fn word() -> impl Strategy<Value = U256> {
        (0usize..=4, [limb(), limb(), limb(), limb()], 0usize..64).prop_map(|(n, limbs, s)| {
            let mut limbs = limbs;
            for limb in limbs.iter_mut().skip(n) {
                *limb = 0;
            }
            U256::from_limbs(limbs) >> s
        })
    }

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(4_000))]

        #[test]
        fn matches_512_bit_division(a in word(), b in word(), d in word()) {
            check(a, b, d)?;
        }

        /// `a * (d + delta) / d`: quotients just below and just above 2^256 when `a` is near
        /// 2^256, and a near-exact division otherwise.
        #[test]
        fn quotients_near_the_top(
            a in word(),
            d in word(),
            delta in -3i64..=3,
            flip in any::<bool>(),
        ) {
            let a = if flip { U256::MAX - a } else { a };
            let b = if delta < 0 {
                d.saturating_sub(U256::from(delta.unsigned_abs()))
            } else {
                d.saturating_add(U256::from(delta.unsigned_abs()))
            };
            check(a, b, d)?;
            check(b, a, d)?;
        }

        /// The fixed-point scales (Q64, Q96, Q128) are powers of two, divided by a shift.
        #[test]
        fn power_of_two_divisors(a in word(), b in word(), k in 0usize..256) {
            check(a, b, U256::ONE << k)?;
        }

        /// `(d * k + delta) * b / d`: exact divisions (no rounding up) and their neighbours.
        #[test]
        fn exact_and_near_exact(
            d in word(),
            k in word(),
            b in word(),
            delta in 0u64..=2,
            below in any::<bool>(),
        ) {
            let Some(a) = d.checked_mul(k) else { return Ok(()) };
            let delta = U256::from(delta);
            let a = if below { a.saturating_sub(delta) } else { a.saturating_add(delta) };
            check(a, b, d)?;
        }
    }

    /// Every triple of a set of edge values.
    #[test]
    fn edge_table() {
        let one = U256::ONE;
        let mut edges = vec![U256::ZERO, one, U256::from(2), U256::from(3), U256::MAX];
        for bits in [63, 64, 127, 128, 191, 192, 255] {
            let p = one << bits;
            edges.extend([p - one, p, p + one]);
        }
        edges.extend([U256::MAX - one, U256::MAX >> 1, U256::from(u64::MAX) << 64]);
        for &a in &edges {
            for &b in &edges {
                for &d in &edges {
                    check(a, b, d).unwrap();
                }
            }
        }
    }

    /// Cases that take the rare branches of a digit (limbs little-endian): the add-back step,
    /// where the 3-by-2 estimate is one too large, and the window whose top two limbs equal
    /// the divisor's.
    #[test]
    fn knuth_corner_digits() {
        let h = 1u64 << 63;
        let w = |l: [u64; 4]| U256::from_limbs(l);
        let cases = [
            // Add back: Hacker's Delight's `divmnu` vector, scaled to 64-bit limbs.
            (w([0, 0, h, h - 1]), U256::ONE, w([1, 0, h, 0])),
            // The window's top two limbs equal the divisor's: the digit is 2^64 - 1. In the
            // first digit of a three- and a four-limb divisor, then in a later digit.
            (U256::MAX, w([1, 5, h, 0]), w([1, 5, h, 0])),
            (U256::MAX, w([1, 0, 5, h]), w([0, 1, 5, h])),
            (w([1, 0, 0, 1]), w([0, 1, 0, 0]), w([1, 0, h, 0])),
        ];
        for (a, b, d) in cases {
            check(a, b, d).unwrap();
        }
    }
}
