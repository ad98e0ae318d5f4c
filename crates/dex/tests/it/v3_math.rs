//! V3 math against independent references: FullMath against plain 512-bit division, TickMath
//! against exact powers of 1.0001 and its own defining property, SqrtPriceMath against exact
//! rational formulas, SwapMath against its conservation rules and hand-worked steps.

use alloy_primitives::{I256, U256, U512};
use kestrel_dex::v3::full_math::{div_rounding_up, mul_div, mul_div_rounding_up};
use kestrel_dex::v3::liquidity_math::add_delta;
use kestrel_dex::v3::sqrt_price_math::{
    get_amount0_delta, get_amount0_delta_signed, get_amount1_delta, get_amount1_delta_signed,
    get_next_sqrt_price_from_input, get_next_sqrt_price_from_output,
};
use kestrel_dex::v3::swap_math::compute_swap_step;
use kestrel_dex::v3::tick_math::{
    MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
};
use proptest::prelude::*;

use crate::v3_support::{any_u256_bits, floor_ceil, q96, wide};

// ---- FullMath ----------------------------------------------------------------------------------

proptest! {
    #[test]
    fn mul_div_is_the_512_bit_quotient(a in any_u256_bits(), b in any_u256_bits(), d in any_u256_bits()) {
        if d.is_zero() {
            prop_assert_eq!(mul_div(a, b, d), None);
            prop_assert_eq!(mul_div_rounding_up(a, b, d), None);
        } else {
            let (floor, ceil) = floor_ceil(wide(a) * wide(b), wide(d));
            prop_assert_eq!(mul_div(a, b, d), floor);
            prop_assert_eq!(mul_div_rounding_up(a, b, d), ceil);
        }
    }

    #[test]
    fn div_rounding_up_is_the_ceiling(x in any_u256_bits(), y in any_u256_bits()) {
        if y.is_zero() {
            // The EVM's div and mod by zero are 0.
            prop_assert_eq!(div_rounding_up(x, y), U256::ZERO);
        } else {
            prop_assert_eq!(Some(div_rounding_up(x, y)), floor_ceil(wide(x), wide(y)).1);
        }
    }
}

#[test]
fn full_math_edges() {
    let max = U256::MAX;
    assert_eq!(mul_div(max, max, max), Some(max));
    assert_eq!(mul_div_rounding_up(max, max, max), Some(max));
    assert_eq!(mul_div(max, U256::from(2), U256::ONE), None);
    assert_eq!(mul_div(max, max, max - U256::ONE), None);
    // a * b / 2 = 2^256 - 1 + 1/2: the floor fits, rounding it up does not.
    let a = U256::from(535_006_138_814_359u64);
    let b: U256 = "432862656469423142931042426214547535783388063929571229938474969"
        .parse()
        .unwrap();
    assert_eq!(mul_div(a, b, U256::from(2)), Some(max));
    assert_eq!(mul_div_rounding_up(a, b, U256::from(2)), None);
    assert_eq!(mul_div(U256::ONE, U256::ONE, U256::ZERO), None);
}

// ---- TickMath ----------------------------------------------------------------------------------

#[test]
fn tick_math_known_values_and_bounds() {
    assert_eq!(get_sqrt_ratio_at_tick(0), Some(q96()), "price 1 is 2^96");
    assert_eq!(get_sqrt_ratio_at_tick(MIN_TICK), Some(MIN_SQRT_RATIO));
    assert_eq!(get_sqrt_ratio_at_tick(MAX_TICK), Some(MAX_SQRT_RATIO));
    assert_eq!(get_sqrt_ratio_at_tick(MIN_TICK - 1), None);
    assert_eq!(get_sqrt_ratio_at_tick(MAX_TICK + 1), None);
    assert_eq!(get_sqrt_ratio_at_tick(i32::MIN), None);
    assert_eq!(get_tick_at_sqrt_ratio(MIN_SQRT_RATIO), Some(MIN_TICK));
    assert_eq!(
        get_tick_at_sqrt_ratio(MAX_SQRT_RATIO - U256::ONE),
        Some(MAX_TICK - 1)
    );
    assert_eq!(get_tick_at_sqrt_ratio(MAX_SQRT_RATIO), None);
    assert_eq!(get_tick_at_sqrt_ratio(MIN_SQRT_RATIO - U256::ONE), None);
    assert_eq!(get_tick_at_sqrt_ratio(q96()), Some(0));
    assert_eq!(get_tick_at_sqrt_ratio(q96() - U256::ONE), Some(-1));
}

/// Within 2 units of the exact `2^96 * sqrt(1.0001^t)`, checked with exact integers:
/// `(s - 2)^2 * 10000^t < 2^192 * 10001^t < (s + 2)^2 * 10000^t` (sides swapped for `t < 0`).
#[test]
fn sqrt_ratio_is_exact_to_two_units_near_zero() {
    for t in -20i32..=20 {
        let s = wide(get_sqrt_ratio_at_tick(t).unwrap());
        let n = U512::from(t.unsigned_abs());
        let (up, down) = (U512::from(10_001u64).pow(n), U512::from(10_000u64).pow(n));
        let (num, den) = if t >= 0 { (up, down) } else { (down, up) };
        let target = (U512::ONE << 192) * num;
        let two = U512::from(2u64);
        assert!((s - two) * (s - two) * den < target, "tick {t} too high");
        assert!((s + two) * (s + two) * den > target, "tick {t} too low");
    }
}

/// Every 97th tick over the whole range against `1.0001^(t/2)` in floating point.
#[test]
fn sqrt_ratio_follows_the_power_law_across_the_range() {
    let ln_q96 = 96.0 * std::f64::consts::LN_2;
    let mut t = MIN_TICK;
    while t <= MAX_TICK {
        let s = get_sqrt_ratio_at_tick(t).unwrap();
        let ln_s = ln_u256(s) - ln_q96;
        let expected = f64::from(t) / 2.0 * 1.0001f64.ln();
        assert!(
            (ln_s - expected).abs() < 1e-9,
            "tick {t}: {ln_s} vs {expected}"
        );
        t += 97;
    }
}

/// Natural log of a `U256` in floating point, from its top 64 bits.
fn ln_u256(x: U256) -> f64 {
    let shift = x.bit_len().saturating_sub(64);
    let top: u64 = (x >> shift).to();
    (top as f64).ln() + shift as f64 * std::f64::consts::LN_2
}

/// The defining property of `getTickAtSqrtRatio`, by binary search over
/// `get_sqrt_ratio_at_tick`: the greatest tick whose price is at most `price`.
fn tick_reference(price: U256) -> i32 {
    let (mut lo, mut hi) = (MIN_TICK, MAX_TICK);
    while lo < hi {
        let mid = lo + (hi - lo + 1) / 2;
        if get_sqrt_ratio_at_tick(mid).unwrap() <= price {
            lo = mid;
        } else {
            hi = mid - 1;
        }
    }
    lo
}

fn valid_price() -> impl Strategy<Value = U256> {
    (any::<[u64; 3]>(), 33usize..=160).prop_map(|(limbs, bits)| {
        let x = U256::from_limbs([limbs[0], limbs[1], limbs[2], 0]) >> (192 - bits);
        x.clamp(MIN_SQRT_RATIO, MAX_SQRT_RATIO - U256::ONE)
    })
}

proptest! {
    #[test]
    fn tick_at_price_round_trips(t in MIN_TICK..MAX_TICK) {
        let price = get_sqrt_ratio_at_tick(t).unwrap();
        let next = get_sqrt_ratio_at_tick(t + 1).unwrap();
        prop_assert!(price < next, "strictly increasing at {}", t);
        prop_assert_eq!(get_tick_at_sqrt_ratio(price), Some(t));
        prop_assert_eq!(get_tick_at_sqrt_ratio(next - U256::ONE), Some(t));
    }

    #[test]
    fn tick_at_price_is_the_greatest_tick_below(price in valid_price()) {
        prop_assert_eq!(get_tick_at_sqrt_ratio(price), Some(tick_reference(price)));
    }
}

#[test]
fn ticks_are_strictly_increasing_near_zero_and_the_ends() {
    for range in [
        -1500..1500,
        MIN_TICK..MIN_TICK + 1500,
        MAX_TICK - 1500..MAX_TICK,
    ] {
        let mut previous = get_sqrt_ratio_at_tick(range.start).unwrap();
        for t in range.start + 1..=range.end {
            let price = get_sqrt_ratio_at_tick(t).unwrap();
            assert!(price > previous, "tick {t}");
            assert_eq!(
                get_tick_at_sqrt_ratio(price),
                Some(t).filter(|_| t < MAX_TICK)
            );
            previous = price;
        }
    }
}

/// `TickMath.getSqrtRatioAtTick` written the way the Solidity reads, in plain 256-bit
/// arithmetic: the reference for the 128-bit limb version.
fn sqrt_ratio_reference(tick: i32) -> U256 {
    const STEPS: [&str; 19] = [
        "fff97272373d413259a46990580e213a",
        "fff2e50f5f656932ef12357cf3c7fdcc",
        "ffe5caca7e10e4e61c3624eaa0941cd0",
        "ffcb9843d60f6159c9db58835c926644",
        "ff973b41fa98c081472e6896dfb254c0",
        "ff2ea16466c96a3843ec78b326b52861",
        "fe5dee046a99a2a811c461f1969c3053",
        "fcbe86c7900a88aedcffc83b479aa3a4",
        "f987a7253ac413176f2b074cf7815e54",
        "f3392b0822b70005940c7a398e4b70f3",
        "e7159475a2c29b7443b29c7fa6e889d9",
        "d097f3bdfd2022b8845ad8f792aa5825",
        "a9f746462d870fdf8a65dc1f90e061e5",
        "70d869a156d2a1b890bb3df62baf32f7",
        "31be135f97d08fd981231505542fcfa6",
        "9aa508b5b7a84e1c677de54f3e99bc9",
        "5d6af8dedb81196699c329225ee604",
        "2216e584f5fa1ea926041bedfe98",
        "48a170391f7dc42444e8fa2",
    ];
    let hex = |h: &str| U256::from_str_radix(h, 16).unwrap();
    let abs = tick.unsigned_abs();
    let mut ratio = if abs & 1 != 0 {
        hex("fffcb933bd6fad37aa2d162d1a594001")
    } else {
        U256::ONE << 128
    };
    for (i, step) in STEPS.iter().enumerate() {
        if abs & (2 << i) != 0 {
            ratio = (ratio * hex(step)) >> 128;
        }
    }
    if tick > 0 {
        ratio = U256::MAX / ratio;
    }
    let round = !(ratio % (U256::ONE << 32usize)).is_zero();
    (ratio >> 32) + U256::from(u8::from(round))
}

/// Every 13th tick of the range, and both ends, against the plain 256-bit reference.
#[test]
fn sqrt_ratio_matches_the_plain_256_bit_algorithm() {
    let mut t = MIN_TICK;
    while t <= MAX_TICK {
        assert_eq!(
            get_sqrt_ratio_at_tick(t),
            Some(sqrt_ratio_reference(t)),
            "tick {t}"
        );
        t += 13;
    }
    for t in [MIN_TICK, MIN_TICK + 1, -1, 0, 1, MAX_TICK - 1, MAX_TICK] {
        assert_eq!(
            get_sqrt_ratio_at_tick(t),
            Some(sqrt_ratio_reference(t)),
            "tick {t}"
        );
    }
}

// ---- SqrtPriceMath -----------------------------------------------------------------------------

fn price_strategy() -> impl Strategy<Value = U256> {
    (MIN_TICK..MAX_TICK, any::<u32>()).prop_map(|(t, frac)| {
        let low = get_sqrt_ratio_at_tick(t).unwrap();
        let high = get_sqrt_ratio_at_tick(t + 1).unwrap();
        low + (high - low) * U256::from(frac) / U256::from(u64::from(u32::MAX) + 1)
    })
}

fn liquidity_strategy() -> impl Strategy<Value = u128> {
    (any::<u128>(), 1u32..=128).prop_map(|(l, bits)| (l >> (128 - bits)).max(1))
}

proptest! {
    /// `L * 2^96 * (b - a) / (a * b)`: the nested divisions equal one exact division.
    #[test]
    fn amount0_delta_is_the_exact_fraction(a in price_strategy(), b in price_strategy(), l in any::<u128>()) {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let num = (wide(U256::from(l)) << 96) * wide(hi - lo);
        let (floor, ceil) = floor_ceil(num, wide(lo) * wide(hi));
        prop_assert_eq!(get_amount0_delta(a, b, l, false), floor);
        prop_assert_eq!(get_amount0_delta(b, a, l, true), ceil);
    }

    #[test]
    fn amount1_delta_is_the_exact_fraction(a in price_strategy(), b in price_strategy(), l in any::<u128>()) {
        let (lo, hi) = if a < b { (a, b) } else { (b, a) };
        let (floor, ceil) = floor_ceil(wide(U256::from(l)) * wide(hi - lo), wide(q96()));
        prop_assert_eq!(get_amount1_delta(a, b, l, false), floor);
        prop_assert_eq!(get_amount1_delta(b, a, l, true), ceil);
    }

    #[test]
    fn signed_deltas_round_against_the_trader(a in price_strategy(), b in price_strategy(), l in 0i128..=i128::MAX) {
        let up0 = get_amount0_delta(a, b, l.unsigned_abs(), true).unwrap();
        let down0 = get_amount0_delta(a, b, l.unsigned_abs(), false).unwrap();
        prop_assert_eq!(get_amount0_delta_signed(a, b, l), Some(I256::from_raw(up0)));
        prop_assert_eq!(get_amount0_delta_signed(a, b, -l), Some(-I256::from_raw(down0)));
        let up1 = get_amount1_delta(a, b, l.unsigned_abs(), true).unwrap();
        let down1 = get_amount1_delta(a, b, l.unsigned_abs(), false).unwrap();
        prop_assert_eq!(get_amount1_delta_signed(a, b, l), Some(I256::from_raw(up1)));
        prop_assert_eq!(get_amount1_delta_signed(a, b, -l), Some(-I256::from_raw(down1)));
    }

    /// Token0 in: the exact new price `L*2^96*p / (L*2^96 + x*p)`, rounded up; the token0 it
    /// takes to get there (rounded up) never exceeds the input.
    #[test]
    fn price_after_token0_in(p in price_strategy(), l in liquidity_strategy(), x in any_u256_bits()) {
        let x = x >> 1; // keep the input below 2^255, like the pool's int256 amounts
        let Some(next) = get_next_sqrt_price_from_input(p, l, x, true) else {
            // Only the fallback's checked add can fail: x close to 2^256.
            prop_assert!(x.bit_len() > 200);
            return Ok(());
        };
        prop_assert!(next <= p);
        let n1 = wide(U256::from(l)) << 96;
        let exact = floor_ceil(n1 * wide(p), n1 + wide(x) * wide(p)).1.unwrap();
        prop_assert!(next >= exact, "never below the exact price");
        if x.checked_mul(p).is_some_and(|xp| xp.checked_add(U256::from(l) << 96).is_some()) {
            prop_assert_eq!(next, exact);
        }
        if next > U256::ZERO {
            prop_assert!(get_amount0_delta(next, p, l, true).unwrap() <= x);
        }
    }

    /// Token1 in: `p + floor(x * 2^96 / L)` exactly.
    #[test]
    fn price_after_token1_in(p in price_strategy(), l in liquidity_strategy(), x in any_u256_bits()) {
        let step = floor_ceil(wide(x) << 96, wide(U256::from(l))).0;
        let expected = step.and_then(|s| p.checked_add(s)).filter(|v| v.bit_len() <= 160);
        let next = get_next_sqrt_price_from_input(p, l, x, false);
        prop_assert_eq!(next, expected);
        if let Some(next) = next {
            prop_assert!(get_amount1_delta(p, next, l, true).unwrap() <= x);
        }
    }

    /// Token1 out: `p - ceil(y * 2^96 / L)`; fails when that reaches zero. The token1 paid for
    /// the move (rounded down) covers the output.
    #[test]
    fn price_after_token1_out(p in price_strategy(), l in liquidity_strategy(), y in any_u256_bits()) {
        let step = floor_ceil(wide(y) << 96, wide(U256::from(l))).1;
        let expected = step.filter(|s| *s < p).map(|s| p - s);
        let next = get_next_sqrt_price_from_output(p, l, y, true);
        prop_assert_eq!(next, expected);
        if let Some(next) = next {
            prop_assert!(get_amount1_delta(next, p, l, false).unwrap() >= y);
        }
    }

    /// Token0 out: `ceil(L*2^96*p / (L*2^96 - y*p))`; fails when the pool cannot pay `y`.
    #[test]
    fn price_after_token0_out(p in price_strategy(), l in liquidity_strategy(), y in any_u256_bits()) {
        let y = y >> 96; // mostly payable amounts
        let n1 = wide(U256::from(l)) << 96;
        let yp = wide(y) * wide(p);
        let expected = if y.checked_mul(p).is_none() || yp >= n1 {
            None
        } else {
            floor_ceil(n1 * wide(p), n1 - yp).1.filter(|v| v.bit_len() <= 160)
        };
        let next = get_next_sqrt_price_from_output(p, l, y, false);
        prop_assert_eq!(next, expected);
        if let Some(next) = next {
            prop_assert!(get_amount0_delta(p, next, l, false).unwrap() >= y);
        }
    }
}

#[test]
fn next_price_reverts_like_the_solidity() {
    let p = q96();
    assert_eq!(
        get_next_sqrt_price_from_input(U256::ZERO, 1, U256::ONE, true),
        None
    );
    assert_eq!(get_next_sqrt_price_from_input(p, 0, U256::ONE, true), None);
    assert_eq!(
        get_next_sqrt_price_from_output(p, 0, U256::ONE, false),
        None
    );
    // Zero in: the price does not move.
    assert_eq!(
        get_next_sqrt_price_from_input(p, 1, U256::ZERO, true),
        Some(p)
    );
    assert_eq!(
        get_next_sqrt_price_from_input(p, 1, U256::ZERO, false),
        Some(p)
    );
    // Exactly the reserve of token1 out (L = 2^96 at price 1 holds 2^96 of each): fails.
    let l = 1u128 << 96;
    assert_eq!(get_next_sqrt_price_from_output(p, l, q96(), true), None);
    assert_eq!(get_next_sqrt_price_from_output(p, l, q96(), false), None);
    assert!(get_next_sqrt_price_from_output(p, l, q96() - U256::ONE, true).is_some());
}

// ---- SwapMath ----------------------------------------------------------------------------------

/// Worked by hand: price 1 (2^96) to price 4 (target 2 * 2^96), L = 10^6, fee 0.3 %.
/// Reaching the target takes L * (2 - 1) = 10^6 of token1 and pays L * (1 - 1/2) = 500_000 of
/// token0; the fee on 10^6 is ceil(10^6 * 3000 / 997_000) = ceil(3009.03) = 3010.
#[test]
fn swap_step_hand_examples() {
    let p = q96();
    let target = q96() * U256::from(2);
    let step = compute_swap_step(
        p,
        target,
        1_000_000,
        I256::try_from(2_000_000).unwrap(),
        3000,
    )
    .unwrap();
    assert_eq!(step.sqrt_price_next_x96, target);
    assert_eq!(step.amount_in, U256::from(1_000_000));
    assert_eq!(step.amount_out, U256::from(500_000));
    assert_eq!(step.fee_amount, U256::from(3010));

    // 500_000 in: 498_500 after the fee moves the price by floor(498_500 * 2^96 / 10^6); the
    // rest of the input is fee.
    let step =
        compute_swap_step(p, target, 1_000_000, I256::try_from(500_000).unwrap(), 3000).unwrap();
    let moved = (U256::from(498_500) << 96) / U256::from(1_000_000);
    assert_eq!(step.sqrt_price_next_x96, p + moved);
    assert_eq!(step.amount_in + step.fee_amount, U256::from(500_000));
    assert!(step.amount_in <= U256::from(498_500));

    // Exact output of 100_000 token0: capped to exactly what was asked.
    let step = compute_swap_step(
        p,
        target,
        1_000_000,
        I256::try_from(-100_000).unwrap(),
        3000,
    )
    .unwrap();
    assert_eq!(step.amount_out, U256::from(100_000));
    assert!(step.sqrt_price_next_x96 < target);
    assert_eq!(
        compute_swap_step(p, target, 1, I256::ONE, 1_000_000),
        None,
        "fee of 100 %"
    );
}

proptest! {
    #[test]
    fn swap_step_conserves_amounts(
        current in price_strategy(),
        target in price_strategy(),
        l in liquidity_strategy(),
        remaining in any::<i128>(),
        fee in prop_oneof![Just(500u32), Just(3000u32), Just(10_000u32), 0u32..1_000_000],
    ) {
        let remaining = I256::try_from(remaining).unwrap();
        let step = compute_swap_step(current, target, l, remaining, fee).unwrap();
        let next = step.sqrt_price_next_x96;
        let zero_for_one = current >= target;
        if zero_for_one {
            prop_assert!(next <= current && next >= target);
        } else {
            prop_assert!(next >= current && next <= target);
        }
        let abs = remaining.unsigned_abs();
        if remaining.is_negative() {
            prop_assert!(step.amount_out <= abs);
            if next != target {
                prop_assert_eq!(step.amount_out, abs, "stopped early only when the output is complete");
            }
        } else {
            prop_assert!(step.amount_in + step.fee_amount <= abs);
            if next != target {
                prop_assert_eq!(step.amount_in + step.fee_amount, abs, "the rest of the input is fee");
            }
        }
        // The input covers the move it paid for, rounded up, and the output is at most the
        // move's value, rounded down.
        let (needed_in, paid_out) = if zero_for_one {
            (get_amount0_delta(next, current, l, true), get_amount1_delta(next, current, l, false))
        } else {
            (get_amount1_delta(current, next, l, true), get_amount0_delta(current, next, l, false))
        };
        prop_assert!(step.amount_in >= needed_in.unwrap());
        prop_assert!(step.amount_out <= paid_out.unwrap());
    }
}

// ---- LiquidityMath -----------------------------------------------------------------------------

#[test]
fn add_delta_table() {
    let table: [(u128, i128, Option<u128>); 8] = [
        (1, 0, Some(1)),
        (1, -1, Some(0)),
        (1, 1, Some(2)),
        (u128::MAX - 14, 15, None),
        (u128::MAX - 15, 15, Some(u128::MAX)),
        (0, -1, None),
        (3, -4, None),
        (u128::MAX, i128::MIN, Some(u128::MAX >> 1)),
    ];
    for (x, y, expected) in table {
        assert_eq!(add_delta(x, y), expected, "{x} + {y}");
    }
}
