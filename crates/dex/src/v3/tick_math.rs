//! `TickMath.sol`: the Q64.96 square-root price at a tick, and the tick of a price, bit for bit.
//!
//! A tick `t` stands for the price `1.0001^t`; its square root in Q64.96 fixed point is what a
//! pool stores. Both directions follow the Solidity step for step (the same magic constants,
//! the same truncations), so every rounding matches.

use alloy_primitives::{I256, U256, uint};

/// The smallest tick a pool accepts: `log_1.0001(2^-128)`, rounded towards zero.
pub const MIN_TICK: i32 = -887_272;
/// The largest tick a pool accepts.
pub const MAX_TICK: i32 = -MIN_TICK;
/// `get_sqrt_ratio_at_tick(MIN_TICK)`.
pub const MIN_SQRT_RATIO: U256 = uint!(4295128739_U256);
/// `get_sqrt_ratio_at_tick(MAX_TICK)`.
pub const MAX_SQRT_RATIO: U256 = uint!(1461446703485210103287273052203988822378723970342_U256);

/// `2^128 / sqrt(1.0001)^(2^i)` in Q128.128 for bit `i` of `|tick|`, i = 1..=19 (bit 0 picks the
/// starting value instead). These are TickMath.sol's constants: bit-exactness depends on them.
const RATIO_STEPS: [u128; 19] = [
    0xfff97272373d413259a46990580e213a,
    0xfff2e50f5f656932ef12357cf3c7fdcc,
    0xffe5caca7e10e4e61c3624eaa0941cd0,
    0xffcb9843d60f6159c9db58835c926644,
    0xff973b41fa98c081472e6896dfb254c0,
    0xff2ea16466c96a3843ec78b326b52861,
    0xfe5dee046a99a2a811c461f1969c3053,
    0xfcbe86c7900a88aedcffc83b479aa3a4,
    0xf987a7253ac413176f2b074cf7815e54,
    0xf3392b0822b70005940c7a398e4b70f3,
    0xe7159475a2c29b7443b29c7fa6e889d9,
    0xd097f3bdfd2022b8845ad8f792aa5825,
    0xa9f746462d870fdf8a65dc1f90e061e5,
    0x70d869a156d2a1b890bb3df62baf32f7,
    0x31be135f97d08fd981231505542fcfa6,
    0x9aa508b5b7a84e1c677de54f3e99bc9,
    0x5d6af8dedb81196699c329225ee604,
    0x2216e584f5fa1ea926041bedfe98,
    0x48a170391f7dc42444e8fa2,
];

/// The starting ratio when bit 0 of `|tick|` is set: `2^128 / sqrt(1.0001)`.
const RATIO_BIT0: u128 = 0xfffcb933bd6fad37aa2d162d1a594001;

/// `log_sqrt(1.0001)(2)` in Q128.128: converts the Q64.64 log2 into a tick.
const LOG_SQRT10001_OF_2: u128 = 255_738_958_999_603_826_347_141;
/// Error bound subtracted for the low tick candidate (Q128.128).
const TICK_LOW_OFFSET: u128 = 3_402_992_956_809_132_418_596_140_100_660_247_210;
/// Error bound added for the high tick candidate (Q128.128).
const TICK_HIGH_OFFSET: u128 = 291_339_464_771_989_622_907_027_621_153_398_088_495;

/// `TickMath.getSqrtRatioAtTick`: `sqrt(1.0001^tick) * 2^96`, rounded up, as the pool computes
/// it. `None` for `|tick| > MAX_TICK` (the Solidity's `'T'` revert).
#[inline]
pub fn get_sqrt_ratio_at_tick(tick: i32) -> Option<U256> {
    let abs_tick = tick.unsigned_abs();
    if abs_tick > MAX_TICK.unsigned_abs() {
        return None;
    }
    // The Solidity keeps the ratio in a uint256; it is at most 2^128, and exactly 2^128 only
    // until the first step, where `2^128 · step >> 128` is the step itself. From there it is
    // below 2^128, so each step is the high half of a 128 × 128-bit product.
    let mut ratio: Option<u128> = (abs_tick & 1 != 0).then_some(RATIO_BIT0);
    for (i, step) in RATIO_STEPS.iter().enumerate() {
        if abs_tick & (2 << i) != 0 {
            ratio = Some(match ratio {
                Some(r) => mul_128(r, *step).0,
                None => *step,
            });
        }
    }
    let ratio = match ratio {
        // Tick 0: the ratio never left 2^128.
        None => U256::ONE << 128,
        // Invert for positive ticks. The ratio stays far above zero for every valid tick, so
        // the checked division never fails.
        Some(r) if tick > 0 => super::full_math::div(U256::MAX, U256::from(r))?,
        Some(r) => U256::from(r),
    };
    // Q128.128 to Q128.96, rounding up so that get_tick_at_sqrt_ratio of the result is the tick.
    let round = !(ratio & U256::from(u32::MAX)).is_zero();
    Some((ratio >> 32) + U256::from(u8::from(round)))
}

/// The 256-bit product `a · b` as `(high, low)` 128-bit halves.
#[inline(always)]
fn mul_128(a: u128, b: u128) -> (u128, u128) {
    const LOW: u128 = u64::MAX as u128;
    let (a1, a0) = (a >> 64, a & LOW);
    let (b1, b0) = (b >> 64, b & LOW);
    let (p00, p01, p10, p11) = (a0 * b0, a0 * b1, a1 * b0, a1 * b1);
    // Each term is below 2^64, so the sum fits: at most 3 · (2^64 − 1).
    let mid = (p00 >> 64) + (p01 & LOW) + (p10 & LOW);
    let high = p11 + (p01 >> 64) + (p10 >> 64) + (mid >> 64);
    let low = (mid << 64) | (p00 & LOW);
    (high, low)
}

/// `TickMath.getTickAtSqrtRatio`: the greatest tick whose square-root price is at most
/// `sqrt_price_x96`. `None` outside `[MIN_SQRT_RATIO, MAX_SQRT_RATIO)` (the Solidity's `'R'`).
pub fn get_tick_at_sqrt_ratio(sqrt_price_x96: U256) -> Option<i32> {
    if sqrt_price_x96 < MIN_SQRT_RATIO || sqrt_price_x96 >= MAX_SQRT_RATIO {
        return None;
    }
    let ratio: U256 = sqrt_price_x96 << 32usize;
    // Below 2^192: bit_len is at most 192, so msb fits the shifts below.
    let msb = ratio.bit_len() - 1;
    let r = if msb >= 128 {
        ratio >> (msb - 127)
    } else {
        ratio << (127 - msb)
    };
    // r is normalised into [2^127, 2^128).
    let mut r = u128::try_from(r).ok()?;
    // Q64.64 log2 of the ratio; the integer part is exact, then 14 fractional bits by squaring.
    let mut log_2 = (i128::try_from(msb).ok()? - 128) << 64;
    for bit in (50..=63).rev() {
        // The Solidity's `r := shr(127, mul(r, r))` is below 2^129, and its bit 128 (bit 127
        // of the product's high half) is the next bit of the log; when set, `r >>= 1` leaves
        // exactly that high half.
        let (high, low) = mul_128(r, r);
        if high >> 127 != 0 {
            log_2 |= 1i128 << bit;
            r = high;
        } else {
            r = (high << 1) | (low >> 127);
        }
    }
    let log_sqrt10001 = I256::try_from(log_2)
        .ok()?
        .wrapping_mul(I256::from_raw(U256::from(LOG_SQRT10001_OF_2)));
    let tick_low =
        tick_of(log_sqrt10001.wrapping_sub(I256::from_raw(U256::from(TICK_LOW_OFFSET))))?;
    let tick_high =
        tick_of(log_sqrt10001.wrapping_add(I256::from_raw(U256::from(TICK_HIGH_OFFSET))))?;
    if tick_low == tick_high {
        return Some(tick_low);
    }
    if get_sqrt_ratio_at_tick(tick_high)? <= sqrt_price_x96 {
        Some(tick_high)
    } else {
        Some(tick_low)
    }
}

/// `int24(x >> 128)` of a Q128.128 log: the arithmetic shift, then the integer (always in the
/// tick range for prices inside the valid range).
fn tick_of(x: I256) -> Option<i32> {
    i32::try_from(i128::try_from(x.asr(128)).ok()?).ok()
}
