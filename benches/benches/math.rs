//! AMM math and sizing: exact V2 quotes, the closed-form cycle optimum, and the whole
//! victim-apply + cycle search on a two-factory snapshot.

use std::hint::black_box;

use alloy_primitives::{Address, B256, I256, U256};
use criterion::{Criterion, criterion_group, criterion_main};
use kestrel_benches::swap_exact_eth_for_tokens;
use kestrel_dex::backrun::{BackrunParams, apply_victim, find_backrun};
use kestrel_dex::math::{get_amount_out, optimal_cycle_input};
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool, pair_address, sort_tokens};
use kestrel_dex::router::decode_router02;
use kestrel_dex::v3::full_math::mul_div;
use kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick;
use kestrel_dex::v3::{Slot0, V3Pool, V3PoolKey, default_price_limit};
use kestrel_types::FactoryId;

const ETH: u128 = 1_000_000_000_000_000_000;

fn math(c: &mut Criterion) {
    let (x1, y1) = (U256::from(105 * ETH), U256::from(190_000 * ETH));
    let (y2, x2) = (U256::from(200_000 * ETH), U256::from(100 * ETH));
    c.bench_function("dex/get_amount_out", |b| {
        b.iter(|| get_amount_out(black_box(U256::from(ETH)), x1, y1, 997))
    });
    // Profitable orientation (buy where the token is cheap): the full closed form.
    c.bench_function(
        "dex/optimal_cycle_input (profitable: full closed form)",
        |b| b.iter(|| optimal_cycle_input(black_box(x2), y2, y1, x1, 997, 997)),
    );
    // The other orientation of the same pools: the square-root-free early exit.
    c.bench_function("dex/optimal_cycle_input (unprofitable: early exit)", |b| {
        b.iter(|| optimal_cycle_input(black_box(x1), y1, y2, x2, 997, 997))
    });

    let (weth, token) = (Address::repeat_byte(0x01), Address::repeat_byte(0x02));
    let init = B256::repeat_byte(0x96);
    let factories: Vec<FactoryInfo> = (0..2u8)
        .map(|i| FactoryInfo {
            address: Address::repeat_byte(0x10 + i),
            router: Address::repeat_byte(0x20 + i),
            init_code_hash: init,
            fee_num: 997,
        })
        .collect();
    let (t0, t1) = sort_tokens(weth, token);
    let pools = factories
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let rt = U256::from(200_000 * ETH + i as u128 * 600 * ETH);
            let (r0, r1) = if t0 == weth {
                (U256::from(100 * ETH), rt)
            } else {
                (rt, U256::from(100 * ETH))
            };
            V2Pool {
                address: pair_address(f.address, init, weth, token),
                token0: t0,
                token1: t1,
                reserve0: r0,
                reserve1: r1,
                factory: FactoryId(i as u8),
            }
        })
        .collect();
    let snap = PoolSnapshot::new(1, factories, pools);
    let calldata = swap_exact_eth_for_tokens(
        U256::from(1u64),
        &[weth, token],
        Address::repeat_byte(0x11),
        U256::from(u64::MAX),
    );
    let value = U256::from(5 * ETH);
    let params = BackrunParams {
        capital_token: weth,
        capital: U256::from(50 * ETH),
        min_profit_wei: U256::from(1_000_000_000_000u64),
        gas_cost_wei: U256::from(300_000_000_000_000u64),
        payment_bps: 1000,
    };
    c.bench_function("dex/apply_victim + find_backrun (V2, 2 factories)", |b| {
        b.iter(|| {
            let intent = decode_router02(black_box(&calldata), value).expect("decode");
            let overlay = apply_victim(&snap, FactoryId(0), weth, &intent, 1, &[]).expect("victim");
            find_backrun(&snap, &overlay, &params).is_ok()
        })
    });
}

/// A 0.3 % pool at tick 0 with 40 overlapping positions every 300 ticks: a swap of `x` crosses
/// ticks (and bitmap words) in proportion to its size.
fn v3_pool() -> V3Pool {
    let key = V3PoolKey {
        address: Address::repeat_byte(3),
        token0: Address::repeat_byte(1),
        token1: Address::repeat_byte(2),
        fee_pips: 3000,
        tick_spacing: 60,
    };
    let slot0 = Slot0 {
        sqrt_price_x96: get_sqrt_ratio_at_tick(0).expect("tick 0"),
        tick: 0,
        fee_protocol: 0,
    };
    let mut pool = V3Pool::new(key, slot0, 0, Vec::new()).expect("empty pool");
    for i in 0..40i32 {
        let (lower, upper) = (-12_000 + i * 300, 600 + i * 300);
        pool = pool
            .with_position_change(lower, upper, 10i128.pow(21))
            .expect("position");
    }
    pool
}

fn v3(c: &mut Criterion) {
    let pool = v3_pool();
    for (name, amount) in [
        ("dex/v3 quote_exact_in (within one tick range)", ETH),
        ("dex/v3 quote_exact_in (multi-tick)", 1_000 * ETH),
        (
            "dex/v3 quote_exact_in (deep: many ticks and words)",
            20_000 * ETH,
        ),
    ] {
        let r = pool
            .quote(
                true,
                I256::try_from(amount).expect("fits"),
                default_price_limit(true),
            )
            .expect("quote");
        let label = format!("{name}, {} steps", r.steps);
        c.bench_function(&label, |b| {
            b.iter(|| pool.quote_exact_in(black_box(true), U256::from(amount)))
        });
    }
}

/// `FullMath.mulDiv` on operands shaped like the V3 step math's: the fee scaling (128-bit
/// operands), `amount * Q96 / liquidity` (a 256-bit product), `get_amount0_delta`'s
/// `(liquidity << 96) * (sqrt_b - sqrt_a) / sqrt_b` (a product past 256 bits over a two-limb
/// divisor) and the cycle search's `Q192 * Q128 / price` (a three-limb divisor).
fn v3_mul_div(c: &mut Criterion) {
    let q96 = U256::from(1u8) << 96;
    let liquidity = U256::from(10u128.pow(21));
    let sqrt_a = get_sqrt_ratio_at_tick(0).expect("tick 0");
    let sqrt_b = get_sqrt_ratio_at_tick(600).expect("tick 600");
    let price = (U256::from(1u8) << 150) + U256::from(123_456_789u64);
    let cases = [
        (
            "128-bit operands",
            U256::from(1_000 * ETH),
            U256::from(997_000u32),
            U256::from(1_000_000u32),
        ),
        ("256-bit product", U256::from(1_000 * ETH), q96, liquidity),
        (
            "512-bit product, 2-limb divisor",
            liquidity << 96,
            sqrt_b - sqrt_a,
            sqrt_b,
        ),
        (
            "512-bit product, 3-limb divisor",
            U256::from(1u8) << 192,
            U256::from(1u8) << 128,
            price,
        ),
    ];
    for (name, a, b, d) in cases {
        assert!(mul_div(a, b, d).is_some(), "{name}");
        c.bench_function(&format!("dex/v3 mul_div ({name})"), |bench| {
            bench.iter(|| mul_div(black_box(a), black_box(b), black_box(d)))
        });
    }
}

criterion_group!(benches, math, v3, v3_mul_div);
criterion_main!(benches);
