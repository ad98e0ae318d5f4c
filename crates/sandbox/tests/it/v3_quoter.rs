//! The proof that Kestrel's V3 math is the pool's: `kestrel_dex::v3::V3Pool` quotes against the
//! real QuoterV2 (npm bytecode, on anvil) for random pools, positions, amounts, directions and
//! price limits, to the wei: the amount, the price after and the initialized ticks crossed, and
//! the same reverts. Then real swaps, mints and burns: the pool's `Swap` log must equal the
//! quote made before the swap, and the snapshot updated from each receipt's logs must equal the
//! state read back from the chain.

use alloy::providers::DynProvider;
use alloy::rpc::types::TransactionReceipt;
use alloy_primitives::{Address, I256, U256};
use kestrel_dex::v3::tick_math::{MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick};
use kestrel_dex::v3::{QuoteV2, V3Error, V3Event, V3Pool, V3PoolKey, default_price_limit};
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::deploy;
use kestrel_sandbox::v3::bindings::IUniswapV3Pool;
use kestrel_sandbox::v3::{self, Position, V3Contracts};
use kestrel_stdx::Rng;

/// Each test token's supply, all minted to the deployer: far more than any pool takes.
const TOKEN_SUPPLY: U256 = U256::from_limbs([0, 0, 1 << 40, 0]); // 2^168

/// Position amounts are up to 2^DEPTH_BITS of each token; swaps up to a few bits more exhaust
/// a pool.
const DEPTH_BITS: u64 = 80;

struct Env {
    // Held so anvil lives as long as the test.
    _anvil: Anvil,
    provider: DynProvider,
    contracts: V3Contracts,
    me: Address,
    /// Test tokens sorted by address, so index order is token0/token1 order.
    tokens: Vec<Address>,
}

async fn setup(token_count: usize) -> Env {
    let anvil = Anvil::start().unwrap();
    let key = Anvil::dev_key(0);
    let provider = deploy::connect(&anvil.http_url(), &key).unwrap();
    let me = deploy::key_address(&key).unwrap();
    let contracts = v3::deploy_v3(&provider).await.unwrap();
    let tokens = v3::deploy_approved_tokens(&provider, &contracts, token_count, TOKEN_SUPPLY)
        .await
        .unwrap();
    Env {
        _anvil: anvil,
        provider,
        contracts,
        me,
        tokens,
    }
}

/// How a test pool is laid out.
struct PoolSpec {
    tokens: (usize, usize),
    fee: u32,
    start_tick: i32,
    positions: usize,
    /// Every position lies above the start price: swaps down meet no liquidity at all.
    only_above: bool,
    /// Narrow ranges only: many initialized ticks close together.
    dense: bool,
}

/// A uniform random number with exactly `bits` significant bits (`bits` in 1..=255).
fn random_bits(rng: &mut Rng, bits: u64) -> U256 {
    let limbs = [
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
    ];
    let bits = bits.clamp(1, 255) as usize;
    let value = U256::from_limbs(limbs) & (U256::MAX >> (256 - bits));
    value | (U256::ONE << (bits - 1))
}

/// An amount spread log-uniformly from 1 wei to beyond the pool's depth.
fn random_amount(rng: &mut Rng) -> U256 {
    let bits = rng.gen_range(1..DEPTH_BITS + 12);
    random_bits(rng, bits)
}

fn random_i32(rng: &mut Rng, lo: i32, hi: i32) -> i32 {
    let span = u64::try_from(i64::from(hi) - i64::from(lo)).unwrap();
    let offset = i64::try_from(rng.gen_range(0..span + 1)).unwrap();
    i32::try_from(i64::from(lo) + offset).unwrap()
}

/// A price strictly inside tick `tick`'s range, so the pool's tick is `tick`.
fn price_in_tick(rng: &mut Rng, tick: i32) -> U256 {
    let low = get_sqrt_ratio_at_tick(tick).unwrap();
    let high = get_sqrt_ratio_at_tick(tick + 1).unwrap();
    low + (high - low) * U256::from(rng.gen_range(0..1 << 32)) / U256::from(1u64 << 32)
}

/// A random position range on the spacing: narrow, medium (across bitmap word boundaries:
/// a word is 256 spacings), wide, or the full usable range.
fn random_range(rng: &mut Rng, spec: &PoolSpec, spacing: i32) -> (i32, i32) {
    let usable_min = (MIN_TICK / spacing) * spacing;
    let usable_max = (MAX_TICK / spacing) * spacing;
    let center = spec.start_tick.div_euclid(spacing);
    let (width, offset_span) = match (spec.dense, rng.gen_range(0..10)) {
        (true, _) => (random_i32(rng, 1, 4), 300),
        (false, 0..=2) => (random_i32(rng, 1, 8), 400),
        (false, 3..=5) => (random_i32(rng, 100, 700), 800),
        (false, 6..=8) => (random_i32(rng, 1000, 8000), 3000),
        _ => return (usable_min, usable_max),
    };
    let lower = if spec.only_above {
        center + random_i32(rng, 1, offset_span)
    } else {
        center + random_i32(rng, -offset_span, offset_span) - width / 2
    };
    let lower = (lower * spacing).clamp(usable_min, usable_max - spacing);
    let upper = (lower + width * spacing).min(usable_max);
    (lower, upper)
}

/// Creates the pool and mints its positions; returns its key and the positions.
async fn build_pool(env: &Env, rng: &mut Rng, spec: &PoolSpec) -> (V3PoolKey, Vec<Position>) {
    let (a, b) = spec.tokens;
    let (token0, token1) = (env.tokens[a], env.tokens[b]);
    let price = price_in_tick(rng, spec.start_tick);
    let key = v3::create_pool(
        &env.provider,
        &env.contracts,
        (token0, token1),
        spec.fee,
        price,
    )
    .await
    .unwrap();
    let spacing = key.tick_spacing;
    let mut positions = Vec::with_capacity(spec.positions);
    for _ in 0..spec.positions {
        let range = random_range(rng, spec, spacing);
        positions.push(mint(env, rng, &key, range).await.0);
    }
    (key, positions)
}

/// Mints a position with random amounts (the position manager takes what fits the price).
async fn mint(
    env: &Env,
    rng: &mut Rng,
    key: &V3PoolKey,
    range: (i32, i32),
) -> (Position, TransactionReceipt) {
    let bits0 = rng.gen_range(50..DEPTH_BITS + 1);
    let bits1 = rng.gen_range(50..DEPTH_BITS + 1);
    let amounts = (random_bits(rng, bits0), random_bits(rng, bits1));
    v3::mint_position(&env.provider, &env.contracts, key, range, amounts, env.me)
        .await
        .unwrap()
}

/// Counts of what the comparisons covered.
#[derive(Debug, Default)]
struct Tally {
    compared: usize,
    both_reverted: usize,
    partial_fills: usize,
    multi_tick: usize,
}

/// One random quote, ours and QuoterV2's; panics on any difference.
async fn compare_one(env: &Env, rng: &mut Rng, pool: &V3Pool, tally: &mut Tally, what: &str) {
    let zero_for_one = rng.gen_bool(0.5);
    let exact_in = rng.gen_bool(0.5);
    let amount = random_amount(rng);
    let limit = random_limit(rng, pool, zero_for_one);
    let key = pool.key();
    let (ours, theirs) = if exact_in {
        let theirs = v3::quote_exact_input_single(
            &env.provider,
            &env.contracts,
            key,
            zero_for_one,
            amount,
            limit,
        );
        (
            pool.quote_exact_in_v2(zero_for_one, amount, limit),
            theirs.await.unwrap(),
        )
    } else {
        let theirs = v3::quote_exact_output_single(
            &env.provider,
            &env.contracts,
            key,
            zero_for_one,
            amount,
            limit,
        );
        (
            pool.quote_exact_out_v2(zero_for_one, amount, limit),
            theirs.await.unwrap(),
        )
    };
    let case = format!(
        "{what}: pool fee {} tick {}, zero_for_one {zero_for_one}, exact_in {exact_in}, \
         amount {amount}, limit {limit}",
        key.fee_pips,
        pool.tick()
    );
    match (ours, theirs) {
        (Ok(q), Some(t)) => {
            assert_eq!(q, t, "{case}");
            if q.initialized_ticks_crossed > 1 {
                tally.multi_tick += 1;
            }
            if is_partial(pool, zero_for_one, exact_in, amount, limit, &q) {
                tally.partial_fills += 1;
            }
        }
        (Err(e), None) => {
            assert_ne!(e, V3Error::TooManySteps, "{case}");
            assert_ne!(e, V3Error::InvalidSnapshot, "{case}");
            tally.both_reverted += 1;
        }
        (ours, theirs) => panic!("{case}: Kestrel {ours:?}, QuoterV2 {theirs:?}"),
    }
    tally.compared += 1;
}

/// Whether a successful quote stopped at the price limit before the amount was used up.
fn is_partial(
    pool: &V3Pool,
    zero_for_one: bool,
    exact_in: bool,
    amount: U256,
    limit: U256,
    quote: &QuoteV2,
) -> bool {
    let limit = if limit.is_zero() {
        default_price_limit(zero_for_one)
    } else {
        limit
    };
    let specified = I256::from_raw(amount);
    let specified = if exact_in {
        specified
    } else {
        specified.wrapping_neg()
    };
    let full = pool.quote(zero_for_one, specified, limit).unwrap();
    let filled = if exact_in {
        full.amount_in(zero_for_one)
    } else {
        full.amount_out(zero_for_one)
    };
    quote.sqrt_price_x96_after == limit && filled.into_raw() != amount
}

/// QuoterV2's `sqrtPriceLimitX96`: mostly none (0), sometimes a random price in the swap's
/// direction, rarely one on the wrong side (both must revert).
fn random_limit(rng: &mut Rng, pool: &V3Pool, zero_for_one: bool) -> U256 {
    match rng.gen_range(0..20) {
        0..=13 => U256::ZERO,
        14..=18 => {
            let reach = random_i32(rng, 1, 30_000);
            let tick = if zero_for_one {
                (pool.tick() - reach).max(MIN_TICK + 1)
            } else {
                (pool.tick() + reach).min(MAX_TICK - 1)
            };
            price_in_tick(rng, tick.min(MAX_TICK - 1))
        }
        _ if zero_for_one => pool.sqrt_price_x96() + U256::from(rng.gen_range(0..1000)),
        _ => pool.sqrt_price_x96() - U256::from(rng.gen_range(0..1000)),
    }
}

/// Five pools with random fee tiers and starting prices: the three on tokens 0/1 take the
/// three tiers in a random order (one pool per pair and tier), the others any tier; each
/// starts at a random tick in ±260,000 (prices from about 5e-12 to 2e11). What stays fixed is
/// the shape that makes the cases reach every behaviour: how many positions, one pool with
/// liquidity only above its price, one densely packed.
fn pool_specs(rng: &mut Rng) -> Vec<PoolSpec> {
    const TIERS: [u32; 3] = [500, 3000, 10_000];
    let mut shared = TIERS;
    for i in (1..shared.len()).rev() {
        let j = usize::try_from(rng.gen_range(0..i as u64 + 1)).unwrap();
        shared.swap(i, j);
    }
    let any_tier = |rng: &mut Rng| TIERS[usize::try_from(rng.gen_range(0..3)).unwrap()];
    let (fee_a, fee_b) = (any_tier(rng), any_tier(rng));
    let mut spec = |tokens, fee, positions, only_above, dense| PoolSpec {
        tokens,
        fee,
        start_tick: random_i32(rng, -260_000, 260_000),
        positions,
        only_above,
        dense,
    };
    vec![
        spec((0, 1), shared[0], 16, false, false),
        spec((0, 1), shared[1], 14, false, false),
        spec((0, 1), shared[2], 12, false, false),
        spec((0, 2), fee_a, 10, true, false),
        spec((1, 2), fee_b, 24, false, true),
    ]
}

#[tokio::test]
async fn quotes_equal_quoter_v2_to_the_wei() {
    let env = setup(3).await;
    let mut rng = Rng::from_seed(0x5eed_0003);
    let mut tally = Tally::default();
    let specs = pool_specs(&mut rng);
    for (i, spec) in specs.iter().enumerate() {
        let (key, _) = build_pool(&env, &mut rng, spec).await;
        let pool = v3::read_pool(&env.provider, env.contracts.multicall, key.address)
            .await
            .unwrap();
        assert_eq!(pool.key(), &key);
        assert!(pool.ticks().len() >= 2, "pool {i} has no positions");
        for _ in 0..420 {
            compare_one(&env, &mut rng, &pool, &mut tally, &format!("pool {i}")).await;
        }
    }
    eprintln!("V3 quotes vs QuoterV2: {tally:?}");
    assert!(tally.compared >= 2000, "{tally:?}");
    // The random cases must reach the behaviours that matter, or the test proves less.
    assert!(tally.both_reverted >= 50, "{tally:?}");
    assert!(tally.partial_fills >= 20, "{tally:?}");
    assert!(tally.multi_tick >= 200, "{tally:?}");
}

/// One real action on the pool through the periphery: a swap (checked against the quote made
/// before it), a new position, or liquidity removed from one. Returns the receipt's pool logs
/// applied to `snapshot`.
async fn act(
    env: &Env,
    rng: &mut Rng,
    spec: &PoolSpec,
    snapshot: &V3Pool,
    positions: &mut Vec<Position>,
) -> Option<V3Pool> {
    let key = *snapshot.key();
    let receipt = match rng.gen_range(0..4) {
        0 | 1 => return swap(env, rng, snapshot).await,
        2 => {
            let range = random_range(rng, spec, key.tick_spacing);
            let (position, receipt) = mint(env, rng, &key, range).await;
            positions.push(position);
            receipt
        }
        _ => {
            let index = usize::try_from(rng.gen_range(0..positions.len() as u64)).unwrap();
            let position = &mut positions[index];
            // Sometimes all of it, so ticks can go back to uninitialized.
            let amount = if rng.gen_bool(0.5) {
                position.liquidity
            } else {
                position.liquidity / 2
            };
            if amount == 0 {
                // The position manager rejects removing nothing.
                return None;
            }
            position.liquidity -= amount;
            let token_id = position.token_id;
            v3::decrease_liquidity(&env.provider, &env.contracts, token_id, amount)
                .await
                .unwrap()
        }
    };
    Some(apply_all(snapshot, &v3::pool_events(&receipt, key.address)))
}

fn apply_all(snapshot: &V3Pool, events: &[V3Event]) -> V3Pool {
    assert!(!events.is_empty(), "the action logged nothing on the pool");
    events.iter().fold(snapshot.clone(), |pool, event| {
        pool.apply(event)
            .unwrap_or_else(|e| panic!("applying {event:?}: {e}"))
    })
}

/// A router swap that the pool can fill; its `Swap` log must be the quote to the wei.
async fn swap(env: &Env, rng: &mut Rng, snapshot: &V3Pool) -> Option<V3Pool> {
    let key = *snapshot.key();
    let zero_for_one = rng.gen_bool(0.5);
    let exact_in = rng.gen_bool(0.5);
    let bits = rng.gen_range(1..DEPTH_BITS - 4);
    let amount = random_bits(rng, bits);
    let specified = if exact_in {
        I256::from_raw(amount)
    } else {
        I256::from_raw(amount).wrapping_neg()
    };
    let limit = default_price_limit(zero_for_one);
    let expected = snapshot.quote(zero_for_one, specified, limit).ok()?;
    let filled = if exact_in {
        expected.amount_in(zero_for_one)
    } else {
        expected.amount_out(zero_for_one)
    };
    // The router reverts on partial exact outputs and on swaps that move nothing.
    if filled.into_raw() != amount || expected.amount_in(zero_for_one).is_zero() {
        return None;
    }
    let receipt = if exact_in {
        v3::swap_exact_input_single(
            &env.provider,
            &env.contracts,
            &key,
            zero_for_one,
            amount,
            env.me,
        )
        .await
        .unwrap()
    } else {
        v3::swap_exact_output_single(
            &env.provider,
            &env.contracts,
            &key,
            zero_for_one,
            amount,
            env.me,
        )
        .await
        .unwrap()
    };
    let log = receipt
        .inner
        .logs()
        .iter()
        .find_map(|l| l.log_decode::<IUniswapV3Pool::Swap>().ok())
        .expect("the swap logged Swap")
        .inner
        .data;
    let got = (
        log.amount0,
        log.amount1,
        U256::from(log.sqrtPriceX96),
        log.liquidity,
        log.tick.as_i32(),
    );
    let want = (
        expected.amount0,
        expected.amount1,
        expected.sqrt_price_x96,
        expected.liquidity,
        expected.tick,
    );
    assert_eq!(
        got, want,
        "router swap zero_for_one {zero_for_one} exact_in {exact_in} amount {amount}"
    );
    Some(apply_all(snapshot, &v3::pool_events(&receipt, key.address)))
}

#[tokio::test]
async fn snapshots_follow_swap_mint_and_burn_logs() {
    let env = setup(2).await;
    let mut rng = Rng::from_seed(0x5eed_0004);
    let mut tally = Tally::default();
    let specs = [
        PoolSpec {
            tokens: (0, 1),
            fee: 500,
            start_tick: -3,
            positions: 10,
            only_above: false,
            dense: false,
        },
        PoolSpec {
            tokens: (0, 1),
            fee: 3000,
            start_tick: 6_000,
            positions: 14,
            only_above: false,
            dense: true,
        },
    ];
    let mut actions = 0;
    for spec in &specs {
        let (key, mut positions) = build_pool(&env, &mut rng, spec).await;
        let multicall = env.contracts.multicall;
        let mut snapshot = v3::read_pool(&env.provider, multicall, key.address)
            .await
            .unwrap();
        for step in 0..24 {
            let Some(next) = act(&env, &mut rng, spec, &snapshot, &mut positions).await else {
                continue;
            };
            let chain = v3::read_pool(&env.provider, multicall, key.address)
                .await
                .unwrap();
            assert_eq!(next, chain, "fee {} action {step}", key.fee_pips);
            snapshot = next;
            actions += 1;
            for _ in 0..8 {
                compare_one(&env, &mut rng, &snapshot, &mut tally, "after events").await;
            }
        }
    }
    eprintln!("V3 event updates: {actions} actions; quotes after them: {tally:?}");
    assert!(actions >= 20, "only {actions} actions ran");
}
