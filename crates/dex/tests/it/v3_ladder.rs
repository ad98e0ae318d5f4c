//! The swap ladder and the step table: every quote through them equals the pool's own swap loop
//! from the same state, result for result and error for error, whatever order the quotes come
//! in, including amounts that end exactly on a tick boundary and limits that sit exactly on one.

use alloy_primitives::{I256, U256};
use kestrel_dex::v3::tick_math::{
    MAX_SQRT_RATIO, MAX_TICK, MIN_SQRT_RATIO, MIN_TICK, get_sqrt_ratio_at_tick,
    get_tick_at_sqrt_ratio,
};
use kestrel_dex::v3::{
    LADDER_RUNGS, LadderQuote, STEP_REACH, V3Error, V3Pool, default_price_limit,
};
use proptest::prelude::*;

use crate::v3_support::{pool_with, random_pool};

/// One quote of a sequence: an amount (a random magnitude, or a boundary's exact cost found by
/// an earlier quote) and a limit (the default, a tick's own price, or a price between ticks).
#[derive(Clone, Debug)]
struct Trial {
    bits: u32,
    frac: u128,
    reuse_boundary: bool,
    limit_kind: u8,
    limit_ticks: i32,
}

fn trial() -> impl Strategy<Value = Trial> {
    (1u32..110, any::<u128>(), any::<bool>(), 0u8..3, 0i32..400).prop_map(
        |(bits, frac, reuse_boundary, limit_kind, limit_ticks)| Trial {
            bits,
            frac,
            reuse_boundary,
            limit_kind,
            limit_ticks,
        },
    )
}

fn limit_for(pool: &V3Pool, zero_for_one: bool, t: &Trial) -> U256 {
    let away = t.limit_ticks * pool.tick_spacing() / 4 + 1;
    let tick = if zero_for_one {
        (pool.tick() - away).max(MIN_TICK)
    } else {
        (pool.tick() + away).min(MAX_TICK)
    };
    let on_tick = get_sqrt_ratio_at_tick(tick).unwrap();
    match t.limit_kind {
        0 => default_price_limit(zero_for_one),
        1 => on_tick,
        _ if zero_for_one => on_tick + U256::from(t.frac % 1_000_000),
        _ => on_tick - U256::from(t.frac % 1_000_000),
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn ladder_quotes_equal_the_pools_swap(
        pool in random_pool(true),
        zero_for_one in any::<bool>(),
        trials in proptest::collection::vec(trial(), 1..16),
    ) {
        let mut ladder = pool
            .ladder(pool.sqrt_price_x96(), pool.tick(), pool.liquidity(), zero_for_one)
            .unwrap();
        // A second ladder for the amounts-only quotes, fed the same sequence.
        let mut amounts = ladder.clone();
        // Costs of reaching a limit on a tick exactly: the amounts that end on a boundary.
        let mut boundary_costs: Vec<U256> = Vec::new();
        for t in &trials {
            let limit = limit_for(&pool, zero_for_one, t);
            let random = U256::from((t.frac >> (128 - t.bits)).max(1));
            let amount = match boundary_costs.last() {
                Some(cost) if t.reuse_boundary => *cost,
                _ => random,
            };
            let expected = pool.quote(zero_for_one, I256::from_raw(amount), limit);
            let got = ladder.quote_exact_in(amount, limit);
            prop_assert_eq!(got, expected, "amount {} limit {}", amount, limit);
            let short = amounts.amounts_exact_in(amount, limit);
            prop_assert_eq!(short, expected.map(|r| LadderQuote {
                amount_in: r.amount_in(zero_for_one).into_raw(),
                amount_out: r.amount_out(zero_for_one).into_raw(),
                sqrt_price_x96: r.sqrt_price_x96,
                liquidity: r.liquidity,
            }));
            if let Ok(r) = expected
                && r.sqrt_price_x96 == limit
                && t.limit_kind == 1
            {
                boundary_costs.push(r.amount_in(zero_for_one).into_raw());
            }
        }
        prop_assert!(ladder.rungs() <= LADDER_RUNGS);
    }

    /// From a state an earlier swap left (the victim's), as `quote_from` takes it.
    #[test]
    fn ladders_from_a_later_state_equal_quote_from(
        pool in random_pool(true),
        first in any::<bool>(),
        zero_for_one in any::<bool>(),
        bits in 1u32..100,
        amounts in proptest::collection::vec((1u32..110, any::<u128>()), 1..10),
        frac in any::<u128>(),
    ) {
        let moved = (frac >> (128 - bits)).max(1);
        let Ok(before) = pool.quote(first, I256::from_raw(U256::from(moved)), default_price_limit(first)) else {
            return Ok(());
        };
        let (price, tick, liquidity) = (before.sqrt_price_x96, before.tick, before.liquidity);
        let Ok(mut ladder) = pool.ladder(price, tick, liquidity, zero_for_one) else {
            // Only a price at the end of the range can fail; quote_from agrees.
            let plain = pool.quote_from(price, tick, liquidity, zero_for_one, I256::ONE, default_price_limit(zero_for_one));
            prop_assert!(plain.is_err());
            return Ok(());
        };
        let limit = default_price_limit(zero_for_one);
        for (bits, frac) in amounts {
            let amount = U256::from((frac >> (128 - bits)).max(1));
            let expected = pool.quote_from(price, tick, liquidity, zero_for_one, I256::from_raw(amount), limit);
            prop_assert_eq!(ladder.quote_exact_in(amount, limit), expected);
        }
    }
}

#[test]
fn a_deep_quote_fills_the_ladder_and_later_quotes_stay_exact() {
    // An initialized tick every 10 ticks for 60 ranges: more boundaries than the ladder keeps.
    let positions: Vec<(i32, i32, u128)> = (1..=60)
        .map(|i| (-10 * i, 10 * i, 10u128.pow(18) * (61 - i as u128)))
        .collect();
    let pool = pool_with(10, 500, 0, &positions);
    let mut ladder = pool
        .ladder(pool.sqrt_price_x96(), pool.tick(), pool.liquidity(), true)
        .unwrap();
    let limit = default_price_limit(true);
    let deep = U256::from(10u128.pow(22));
    let r = pool.quote(true, I256::from_raw(deep), limit).unwrap();
    assert!(r.steps as usize > LADDER_RUNGS, "{} steps", r.steps);
    assert_eq!(ladder.quote_exact_in(deep, limit), Ok(r));
    assert_eq!(ladder.rungs(), LADDER_RUNGS);
    for amount in [
        deep + U256::ONE,
        deep / U256::from(3),
        U256::from(1_000u32),
        deep * U256::from(2),
    ] {
        let expected = pool.quote(true, I256::from_raw(amount), limit);
        assert_eq!(ladder.quote_exact_in(amount, limit), expected, "{amount}");
    }
    assert_eq!(
        ladder.quote_exact_in(U256::ZERO, limit),
        Err(V3Error::ZeroAmount)
    );
    assert_eq!(
        ladder.quote_exact_in(U256::ONE, pool.sqrt_price_x96() + U256::ONE),
        Err(V3Error::PriceLimit)
    );
}

proptest! {
    /// A ladder (and `quote_from`) takes a tick with a price exactly when the tick is the
    /// price's own, or the one below a price that sits on a tick: as `V3Pool::new` accepts.
    #[test]
    fn a_state_is_accepted_when_its_tick_is_the_prices(
        t in MIN_TICK..=MAX_TICK,
        offset in -2i32..=2,
        nudge in prop_oneof![Just(0u64), Just(1u64), any::<u64>()],
        down in any::<bool>(),
    ) {
        let on_tick = get_sqrt_ratio_at_tick(t).unwrap();
        let price = if down { on_tick.saturating_sub(U256::from(nudge)) } else { on_tick.saturating_add(U256::from(nudge)) };
        let tick = t.saturating_add(offset);
        let expected = match get_tick_at_sqrt_ratio(price) {
            Some(own) => tick == own || (tick == own - 1 && get_sqrt_ratio_at_tick(own) == Some(price)),
            None => false,
        };
        let pool = pool_with(1, 100, 0, &[(-10, 10, 1_000)]);
        prop_assert_eq!(pool.ladder(price, tick, 0, true).is_ok(), expected, "price {} tick {}", price, tick);
        let quoted = pool.quote_from(price, tick, 0, true, I256::ONE, MIN_SQRT_RATIO + U256::ONE);
        prop_assert_eq!(quoted != Err(V3Error::InvalidSnapshot), expected);
        prop_assert!(price < MAX_SQRT_RATIO || !expected);
    }
}

// ---- the step table ----------------------------------------------------------------------------

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    /// With its step table a pool quotes exactly as without: from its own state and from
    /// states a first swap (a victim's, either direction) left, exact in and exact out, with
    /// any limit, and through ladders.
    #[test]
    fn the_step_table_changes_no_quote(
        pool in random_pool(true),
        moved_by in prop_oneof![Just(None), (any::<bool>(), 1u32..110, any::<u128>()).prop_map(Some)],
        zero_for_one in any::<bool>(),
        trials in proptest::collection::vec(trial(), 1..12),
    ) {
        let fast = pool.clone().with_step_table();
        let (down, up) = fast.step_table_len().unwrap();
        prop_assert!(down + up > 0 || pool.ticks().is_empty());
        let (mut price, mut tick, mut liquidity) = (pool.sqrt_price_x96(), pool.tick(), pool.liquidity());
        if let Some((dir, bits, frac)) = moved_by {
            let amount = I256::from_raw(U256::from((frac >> (128 - bits)).max(1)));
            let plain = pool.quote(dir, amount, default_price_limit(dir));
            prop_assert_eq!(fast.quote(dir, amount, default_price_limit(dir)), plain);
            if let Ok(r) = plain {
                (price, tick, liquidity) = (r.sqrt_price_x96, r.tick, r.liquidity);
            }
        }
        let Ok(mut ladder) = fast.ladder(price, tick, liquidity, zero_for_one) else {
            return Ok(());
        };
        for t in &trials {
            let limit = limit_for(&pool, zero_for_one, t);
            let amount = U256::from((t.frac >> (128 - t.bits)).max(1));
            let exact_in = I256::from_raw(amount);
            let expected = pool.quote_from(price, tick, liquidity, zero_for_one, exact_in, limit);
            prop_assert_eq!(fast.quote_from(price, tick, liquidity, zero_for_one, exact_in, limit), expected);
            prop_assert_eq!(ladder.quote_exact_in(amount, limit), expected);
            let exact_out = exact_in.wrapping_neg();
            prop_assert_eq!(
                fast.quote_from(price, tick, liquidity, zero_for_one, exact_out, limit),
                pool.quote_from(price, tick, liquidity, zero_for_one, exact_out, limit)
            );
        }
    }
}

#[test]
fn the_step_table_covers_the_boundaries_around_the_price_and_survives_a_swap_only() {
    let positions: Vec<(i32, i32, u128)> = (1..=80)
        .map(|i| (-10 * i, 10 * i, 10u128.pow(18) * (81 - i as u128)))
        .collect();
    let pool = pool_with(10, 500, 0, &positions).with_step_table();
    let (down, up) = pool.step_table_len().unwrap();
    // Each direction: the first step from the price, and 2·STEP_REACH boundaries around it.
    assert!(down > STEP_REACH && up > STEP_REACH, "{down} / {up}");
    let r = pool
        .quote(
            true,
            I256::try_from(10u128.pow(21)).unwrap(),
            default_price_limit(true),
        )
        .unwrap();
    let swapped = pool
        .with_swap(r.sqrt_price_x96, r.liquidity, r.tick)
        .unwrap();
    assert_eq!(swapped.step_table_len(), Some((down, up)));
    let minted = pool.with_position_change(-20, 20, 1_000).unwrap();
    assert_eq!(minted.step_table_len(), None);
    // The cache is not part of the snapshot's value.
    assert_eq!(pool_with(10, 500, 0, &positions), pool);
}
