//! The V3 pool snapshot: validation, the bitmap and its walk against a plain search of the tick
//! list, QuoterV2's tick count, swap simulation invariants (the state a swap leaves must be a
//! consistent pool), and Mint/Burn/Swap updates. Bit-exactness against the real contracts is
//! proven in kestrel-sandbox's `v3_quoter` test.

use alloy_primitives::{I256, U256};
use kestrel_dex::v3::swap_math::compute_swap_step;
use kestrel_dex::v3::tick_math::{MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick};
use kestrel_dex::v3::{
    MAX_SWAP_STEPS, Slot0, TickInfo, V3Error, V3Event, V3Pool, V3PoolKey, default_price_limit,
};
use proptest::prelude::*;

use crate::v3_support::{TOKEN0, TOKEN1, pool_with, random_pool};

fn key(spacing: i32) -> V3PoolKey {
    *pool_with(spacing, 3000, 0, &[]).key()
}

fn slot0_at(tick: i32) -> Slot0 {
    Slot0 {
        sqrt_price_x96: get_sqrt_ratio_at_tick(tick).unwrap() + U256::ONE,
        tick,
        fee_protocol: 0,
    }
}

fn tick(tick: i32, gross: u128, net: i128) -> TickInfo {
    TickInfo {
        tick,
        liquidity_gross: gross,
        liquidity_net: net,
    }
}

fn exact_in(amount: u128) -> I256 {
    I256::try_from(amount).unwrap()
}

fn exact_out(amount: u128) -> I256 {
    -I256::try_from(amount).unwrap()
}

// ---- construction ------------------------------------------------------------------------------

#[test]
fn new_accepts_chain_state_and_derives_the_bitmap() {
    let ticks = vec![
        tick(600, 5, -5),
        tick(-60, 5, 5),
        tick(0, 7, 7),
        tick(60 * 256, 7, -7),
    ];
    let pool = V3Pool::new(key(60), slot0_at(30), 12, ticks).unwrap();
    let sorted: Vec<i32> = pool.ticks().iter().map(|t| t.tick).collect();
    assert_eq!(sorted, [-60, 0, 600, 60 * 256]);
    // Compressed ticks -1, 0, 10, 256: word -1 bit 255; word 0 bits 0 and 10; word 1 bit 0.
    let expected = [
        (-1i16, U256::ONE << 255),
        (0, U256::ONE | (U256::ONE << 10)),
        (1, U256::ONE),
    ];
    assert_eq!(pool.bitmap(), expected);
    assert_eq!(pool.tick_info(600), Some(&tick(600, 5, -5)));
    assert_eq!(pool.tick_info(660), None);
}

#[test]
fn new_rejects_what_no_pool_can_be() {
    let ok = || vec![tick(-60, 5, 5), tick(60, 5, -5)];
    let check = |k: V3PoolKey, s: Slot0, l: u128, t: Vec<TickInfo>| V3Pool::new(k, s, l, t);
    assert!(check(key(60), slot0_at(0), 5, ok()).is_ok());
    let bad = V3Error::InvalidSnapshot;
    let mut k = key(60);
    k.fee_pips = 1_000_000;
    assert_eq!(check(k, slot0_at(0), 5, ok()), Err(bad), "fee");
    for spacing in [0, -60, 16_384] {
        let mut k = key(60);
        k.tick_spacing = spacing;
        assert_eq!(
            check(k, slot0_at(0), 5, ok()),
            Err(bad),
            "spacing {spacing}"
        );
    }
    let mut k = key(60);
    (k.token0, k.token1) = (TOKEN1, TOKEN0);
    assert_eq!(check(k, slot0_at(0), 5, ok()), Err(bad), "token order");
    assert_eq!(check(key(60), slot0_at(0), 4, ok()), Err(bad), "liquidity");
    assert_eq!(
        check(key(60), slot0_at(0), 5, vec![tick(-60, 5, 5)]),
        Err(bad),
        "a missing upper tick: the nets do not sum to zero"
    );
    assert_eq!(
        check(key(60), slot0_at(0), 5, vec![tick(60, 5, -5)]),
        Err(bad),
        "a missing lower tick: nothing explains the active liquidity"
    );
    assert_eq!(
        check(
            key(60),
            slot0_at(0),
            5,
            vec![tick(-60, 5, 5), tick(61, 5, -5)]
        ),
        Err(bad)
    );
    assert_eq!(
        check(
            key(60),
            slot0_at(0),
            5,
            vec![tick(-60, 5, 5), tick(-60, 5, -5)]
        ),
        Err(bad)
    );
    assert_eq!(
        check(key(60), slot0_at(0), 0, vec![tick(-60, 0, 0)]),
        Err(bad),
        "gross 0"
    );
    assert_eq!(
        check(
            key(60),
            slot0_at(0),
            6,
            vec![tick(-60, 5, 6), tick(60, 6, -6)]
        ),
        Err(bad)
    );
    let mut s = slot0_at(0);
    s.tick = 5;
    assert_eq!(
        check(key(60), s, 5, ok()),
        Err(bad),
        "tick is not the price's"
    );
    s.sqrt_price_x96 = U256::ZERO;
    assert_eq!(check(key(60), s, 5, ok()), Err(bad), "price out of range");
}

#[test]
fn a_price_exactly_on_a_tick_may_sit_one_tick_below() {
    // A swap down that ends exactly on tick 60 leaves the tick at 59.
    let slot0 = Slot0 {
        sqrt_price_x96: get_sqrt_ratio_at_tick(60).unwrap(),
        tick: 59,
        fee_protocol: 0,
    };
    let pool = V3Pool::new(key(60), slot0, 5, vec![tick(-60, 5, 5), tick(60, 5, -5)]).unwrap();
    assert_eq!(pool.tick(), 59);
    // Off the exact boundary, the lower tick is wrong.
    let mut off = slot0;
    off.sqrt_price_x96 += U256::ONE;
    assert!(V3Pool::new(key(60), off, 5, pool.ticks().to_vec()).is_err());
}

// ---- the bitmap walk ---------------------------------------------------------------------------

/// The walk as its specification says it, over the sorted tick list: the nearest initialized
/// tick in the direction inside the current 256-spacing word, or the word's last tick.
fn walk_reference(ticks: &[i32], spacing: i32, tick: i32, lte: bool) -> (i32, bool) {
    let compressed = tick.div_euclid(spacing);
    if lte {
        let word_start = compressed.div_euclid(256) * 256;
        let found = ticks
            .iter()
            .rev()
            .find(|&&t| t / spacing <= compressed && t / spacing >= word_start);
        found.map_or((word_start * spacing, false), |&t| (t, true))
    } else {
        let from = compressed + 1;
        let word_end = from.div_euclid(256) * 256 + 255;
        let found = ticks
            .iter()
            .find(|&&t| t / spacing >= from && t / spacing <= word_end);
        found.map_or((word_end * spacing, false), |&t| (t, true))
    }
}

fn tick_set() -> impl Strategy<Value = (i32, Vec<i32>)> {
    prop_oneof![Just(1), Just(10), Just(60), Just(200)].prop_flat_map(|spacing| {
        let range = -2000i32..2000;
        (
            Just(spacing),
            proptest::collection::btree_set(range, 0..40)
                .prop_map(move |set| set.into_iter().map(|c| c * spacing).collect()),
        )
    })
}

/// Pairs of positions over the set (so every tick has a gross liquidity), and a tick to walk
/// from.
fn pool_over(spacing: i32, ticks: &[i32]) -> V3Pool {
    let mut positions = Vec::new();
    for pair in ticks.chunks(2) {
        if let [a, b] = pair {
            positions.push((*a, *b, 1_000u128));
        }
    }
    let mut pool = pool_with(spacing, 3000, -2001 * spacing - 7, &positions);
    if ticks.len() % 2 == 1 {
        let last = *ticks.last().unwrap();
        let top = (MAX_TICK / spacing) * spacing;
        pool = pool.with_position_change(last, top, 1).unwrap();
    }
    pool
}

proptest! {
    #[test]
    fn walk_matches_a_search_of_the_tick_list((spacing, ticks) in tick_set(), from in -600_000i32..600_000, lte in any::<bool>()) {
        let pool = pool_over(spacing, &ticks);
        let all: Vec<i32> = pool.ticks().iter().map(|t| t.tick).collect();
        let from = from.clamp(-2100 * spacing, 2100 * spacing);
        prop_assert_eq!(
            pool.next_initialized_tick_within_one_word(from, lte),
            walk_reference(&all, spacing, from, lte)
        );
    }

    /// With both ends on the spacing, QuoterV2's count is the initialized ticks in
    /// `(before, after]` going up and `(after, before]` going down.
    #[test]
    fn ticks_crossed_on_the_spacing((spacing, ticks) in tick_set(), a in -2100i32..2100, b in -2100i32..2100) {
        let pool = pool_over(spacing, &ticks);
        // A swap that stays on its tick is the one case where the count differs: see below.
        prop_assume!(a != b);
        let (before, after) = (a * spacing, b * spacing);
        let (lo, hi) = if before <= after { (before, after) } else { (after, before) };
        let expected = pool.ticks().iter().filter(|t| t.tick > lo && t.tick <= hi).count();
        prop_assert_eq!(pool.count_initialized_ticks_crossed(before, after) as usize, expected);
    }
}

#[test]
fn ticks_crossed_keeps_the_periphery_quirks() {
    let pool = pool_with(10, 3000, 5, &[(-20, 0, 1), (0, 20, 1), (10, 30, 1)]);
    // Off the spacing, the start's own tick counts: 15 -> 25 counts 10 and 20, though the
    // price only crossed 20.
    assert_eq!(pool.count_initialized_ticks_crossed(15, 25), 2);
    // Negative ticks compress towards zero there: -5 -> -15 covers ticks -10 and 0, and -10 is
    // not initialized, so 0 counts although the price started below it.
    assert_eq!(pool.count_initialized_ticks_crossed(-5, -15), 1);
    // A swap that does not leave the initialized tick 0 still counts it.
    assert_eq!(pool.count_initialized_ticks_crossed(0, 0), 1);
    assert_eq!(pool.count_initialized_ticks_crossed(5, 5), 1);
}

// ---- swaps -------------------------------------------------------------------------------------

#[test]
fn quote_rejects_what_the_pool_rejects() {
    let pool = pool_with(60, 3000, 0, &[(-600, 600, 1_000_000)]);
    let p = pool.sqrt_price_x96();
    assert_eq!(
        pool.quote(true, I256::ZERO, default_price_limit(true)),
        Err(V3Error::ZeroAmount)
    );
    for (zero_for_one, limit) in [
        (true, p),
        (true, p + U256::ONE),
        (false, p),
        (false, p - U256::ONE),
        (true, default_price_limit(true) - U256::ONE),
        (false, default_price_limit(false) + U256::ONE),
    ] {
        assert_eq!(
            pool.quote(zero_for_one, exact_in(1), limit),
            Err(V3Error::PriceLimit),
            "zero_for_one {zero_for_one} limit {limit}"
        );
    }
}

#[test]
fn crossing_ticks_changes_liquidity_by_their_nets() {
    let (a, b) = (1_000_000_000u128, 3_000_000_000u128);
    let pool = pool_with(10, 500, 0, &[(-100, 100, a), (50, 200, b)]);
    assert_eq!(pool.liquidity(), a);
    let up = pool
        .quote(
            false,
            exact_out(u128::MAX >> 1),
            get_sqrt_ratio_at_tick(150).unwrap(),
        )
        .unwrap();
    assert_eq!(
        (up.tick, up.liquidity),
        (150, b),
        "crossed 50 (+b) and 100 (-a)"
    );
    assert_eq!(up.initialized_ticks_crossed, 2);
    let down = pool
        .quote(
            true,
            exact_in(u128::MAX >> 1),
            get_sqrt_ratio_at_tick(-150).unwrap(),
        )
        .unwrap();
    assert_eq!((down.tick, down.liquidity), (-150, 0), "crossed -100 (-a)");
    assert_eq!(down.initialized_ticks_crossed, 1);
    // Stopping exactly on tick 50 from below: crossed, liquidity a + b.
    let onto = pool.quote(
        false,
        exact_in(u128::MAX >> 1),
        get_sqrt_ratio_at_tick(50).unwrap(),
    );
    assert_eq!(onto.map(|r| (r.tick, r.liquidity)), Ok((50, a + b)));
}

#[test]
fn steps_end_at_word_boundaries_and_change_the_rounding() {
    // One wide position over many words (spacing 10: a word is 2560 ticks).
    let l = 10u128.pow(24);
    let pool = pool_with(10, 3000, 100, &[(-100_000, 100_000, l)]);
    let limit_inside = get_sqrt_ratio_at_tick(2000).unwrap();
    let inside = pool
        .quote(false, exact_in(u128::MAX >> 1), limit_inside)
        .unwrap();
    assert_eq!(inside.steps, 1, "tick 100 to 2000 stays in word 0");
    let limit_across = get_sqrt_ratio_at_tick(2600).unwrap();
    let across = pool
        .quote(false, exact_in(u128::MAX >> 1), limit_across)
        .unwrap();
    assert_eq!(
        across.steps, 2,
        "word 0's last tick on the spacing is 2550: a step ends there"
    );
    assert_eq!(across.initialized_ticks_crossed, 0);
    // One step straight to the limit over the same liquidity rounds differently: the walk is
    // what makes the pool's amounts.
    let single = compute_swap_step(
        pool.sqrt_price_x96(),
        limit_across,
        l,
        exact_in(u128::MAX >> 1),
        3000,
    )
    .unwrap();
    assert_eq!(single.sqrt_price_next_x96, across.sqrt_price_x96);
    let walked_in = across.amount1.into_raw();
    assert_ne!(single.amount_in + single.fee_amount, walked_in);
}

#[test]
fn empty_directions_and_partial_fills() {
    // All liquidity above the price: swapping down moves nothing.
    let pool = pool_with(60, 3000, -1000, &[(600, 1200, 10u128.pow(20))]);
    assert_eq!(pool.liquidity(), 0);
    assert_eq!(
        pool.quote_exact_in(true, U256::from(10u64.pow(18))),
        Err(V3Error::NothingSwapped)
    );
    let moved = pool
        .quote(true, exact_in(10u128.pow(18)), default_price_limit(true))
        .unwrap();
    assert_eq!((moved.amount0, moved.amount1), (I256::ZERO, I256::ZERO));
    // Swapping up crosses into the position and, with more than it holds, empties it.
    let huge = U256::from(10u128.pow(30));
    let out = pool.quote_exact_in(false, huge).unwrap();
    let full = pool
        .quote(false, exact_in(10u128.pow(30)), default_price_limit(false))
        .unwrap();
    assert_eq!(full.amount_out(false).into_raw(), out);
    assert!(
        full.amount_in(false).into_raw() < huge,
        "only part of the input is taken"
    );
    assert_eq!(full.liquidity, 0);
    assert_eq!(
        pool.quote_exact_out(false, out + U256::ONE),
        Err(V3Error::PartialFill)
    );
    assert!(pool.quote_exact_out(false, out).is_ok());
}

#[test]
fn too_many_steps_is_an_error_not_a_hang() {
    // Spacing 1: the full range spans 6932 words, far more than MAX_SWAP_STEPS.
    let pool = pool_with(1, 100, 0, &[(MIN_TICK, MAX_TICK, 1_000_000)]);
    let result = pool.quote(true, exact_in(u128::MAX >> 1), default_price_limit(true));
    assert_eq!(result, Err(V3Error::TooManySteps));
    let limit =
        get_sqrt_ratio_at_tick(-(256 * i32::try_from(MAX_SWAP_STEPS / 2).unwrap())).unwrap();
    assert!(pool.quote(true, exact_in(u128::MAX >> 1), limit).is_ok());
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(128))]

    /// Whatever the swap, the state it leaves is a valid pool (the active liquidity is the sum
    /// of the nets below the tick, the tick matches the price), and the amounts obey the swap's
    /// contract.
    #[test]
    fn swaps_leave_a_consistent_pool(pool in random_pool(false), zero_for_one in any::<bool>(), exact in any::<bool>(), bits in 1u32..110, frac in any::<u128>()) {
        let amount = (frac >> (128 - bits)).max(1);
        let specified = if exact { exact_in(amount) } else { exact_out(amount) };
        let limit = default_price_limit(zero_for_one);
        let r = pool.quote(zero_for_one, specified, limit).unwrap();
        let after = pool.with_swap(r.sqrt_price_x96, r.liquidity, r.tick);
        prop_assert!(after.is_ok(), "{:?}", after);
        prop_assert!(!r.amount_in(zero_for_one).is_negative());
        prop_assert!(!r.amount_out(zero_for_one).is_negative());
        let done = r.sqrt_price_x96 != limit;
        if exact {
            prop_assert!(r.amount_in(zero_for_one) <= specified);
            prop_assert!(!done || r.amount_in(zero_for_one) == specified, "stopped before the limit, so all of it");
        } else {
            prop_assert!(r.amount_out(zero_for_one) <= -specified);
            prop_assert!(!done || r.amount_out(zero_for_one) == -specified);
        }
        if zero_for_one {
            prop_assert!(r.sqrt_price_x96 <= pool.sqrt_price_x96());
        } else {
            prop_assert!(r.sqrt_price_x96 >= pool.sqrt_price_x96());
        }
    }

    #[test]
    fn more_in_never_gives_less_out(pool in random_pool(false), zero_for_one in any::<bool>(), bits in 1u32..100, frac in any::<u128>()) {
        let amount = (frac >> (128 - bits)).max(1);
        let limit = default_price_limit(zero_for_one);
        let a = pool.quote(zero_for_one, exact_in(amount), limit).unwrap();
        let b = pool.quote(zero_for_one, exact_in(amount + 1), limit).unwrap();
        prop_assert!(b.amount_out(zero_for_one) >= a.amount_out(zero_for_one));
    }
}

// ---- event updates -----------------------------------------------------------------------------

#[test]
fn mint_then_burn_restores_the_snapshot() {
    let pool = pool_with(60, 3000, 30, &[(-600, 600, 1_000)]);
    let mint = V3Event::Mint {
        tick_lower: -120,
        tick_upper: 1200,
        amount: 500,
    };
    let minted = pool.apply(&mint).unwrap();
    assert_eq!(minted.liquidity(), 1_500, "the position spans tick 30");
    assert_eq!(minted.tick_info(-120), Some(&tick(-120, 500, 500)));
    assert_eq!(minted.tick_info(1200), Some(&tick(1200, 500, -500)));
    assert_ne!(minted.bitmap(), pool.bitmap());
    let burn = V3Event::Burn {
        tick_lower: -120,
        tick_upper: 1200,
        amount: 500,
    };
    assert_eq!(minted.apply(&burn).unwrap(), pool);
}

#[test]
fn shared_ticks_stay_initialized_while_referenced() {
    // Two positions meet at 600 with equal liquidity: its net is 0 but it is initialized, and
    // a swap still stops there.
    let pool = pool_with(60, 3000, 0, &[(-600, 600, 1_000), (600, 1200, 1_000)]);
    assert_eq!(pool.tick_info(600), Some(&tick(600, 2_000, 0)));
    assert_eq!(
        pool.next_initialized_tick_within_one_word(0, false),
        (600, true)
    );
    let burned = pool
        .apply(&V3Event::Burn {
            tick_lower: -600,
            tick_upper: 600,
            amount: 1_000,
        })
        .unwrap();
    assert_eq!(burned.liquidity(), 0);
    assert_eq!(burned.tick_info(600), Some(&tick(600, 1_000, 1_000)));
    assert_eq!(
        burned.tick_info(-600),
        None,
        "gross 0: cleared and unflipped"
    );
    assert_eq!(
        pool.next_initialized_tick_within_one_word(-1, true),
        (-600, true)
    );
    assert_eq!(
        burned.next_initialized_tick_within_one_word(-1, true),
        (-60 * 256, false)
    );
}

#[test]
fn position_changes_fail_where_the_pool_reverts() {
    let pool = pool_with(60, 3000, 0, &[(-600, 600, 1_000)]);
    let change = |lower, upper, delta| pool.with_position_change(lower, upper, delta);
    assert_eq!(change(600, -600, 1), Err(V3Error::InvalidTickRange));
    assert_eq!(change(600, 600, 1), Err(V3Error::InvalidTickRange));
    assert_eq!(change(-61, 600, 1), Err(V3Error::InvalidTickRange));
    assert_eq!(
        change(MIN_TICK - 60, 600, 1),
        Err(V3Error::InvalidTickRange)
    );
    assert_eq!(change(-600, 600, -1_001), Err(V3Error::Liquidity));
    assert_eq!(
        change(-600, 1200, -1),
        Err(V3Error::Liquidity),
        "1200 has no liquidity"
    );
    // Per-tick cap for spacing 60: u128::MAX / 29_575 ticks.
    assert_eq!(change(-60, 60, 1i128 << 120), Err(V3Error::Liquidity));
    assert!(change(-60, 60, 1i128 << 110).is_ok());
    let too_big = V3Event::Mint {
        tick_lower: -60,
        tick_upper: 60,
        amount: u128::MAX,
    };
    assert_eq!(pool.apply(&too_big), Err(V3Error::Math));
    assert_eq!(
        change(-600, 600, 0),
        Ok(pool.clone()),
        "a poke changes nothing"
    );
}

#[test]
fn swap_events_replace_price_liquidity_and_tick() {
    let pool = pool_with(60, 3000, 0, &[(-600, 600, 1_000), (120, 600, 500)]);
    let r = pool
        .quote(false, exact_out(600), default_price_limit(false))
        .unwrap();
    let event = V3Event::Swap {
        sqrt_price_x96: r.sqrt_price_x96,
        liquidity: r.liquidity,
        tick: r.tick,
    };
    let after = pool.apply(&event).unwrap();
    assert_eq!(
        (after.sqrt_price_x96(), after.liquidity(), after.tick()),
        (r.sqrt_price_x96, r.liquidity, r.tick)
    );
    assert_eq!(after.ticks(), pool.ticks());
    let lie = V3Event::Swap {
        sqrt_price_x96: r.sqrt_price_x96,
        liquidity: r.liquidity + 1,
        tick: r.tick,
    };
    assert_eq!(pool.apply(&lie), Err(V3Error::InvalidSnapshot));
}
