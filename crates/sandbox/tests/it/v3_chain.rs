//! `kestrel_chain::v3` against the real V3 contracts (npm bytecode, on anvil): discovery by
//! `PoolCreated` logs and by `getPool`, a full load at one block compared with the sandbox's
//! independent multicall reader and with the positions the test minted, and log sync over many
//! blocks of random swaps, mints, burns, collects and a protocol fee switch, checked against a
//! fresh full load at every block, to the field. A reorg (anvil `evm_revert`) must reload.

use std::collections::BTreeMap;

use alloy::primitives::aliases::{I24, U24};
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy_primitives::{Address, B256, U256};
use kestrel_chain::v3::{self as chain_v3, V3FactoryInfo, V3Snapshot, pool_address};
use kestrel_chain::{Chain, ChainError, HeadInfo};
use kestrel_dex::v3::tick_math::{MAX_TICK, MIN_TICK, get_sqrt_ratio_at_tick};
use kestrel_dex::v3::{V3Event, V3Pool, V3PoolKey};
use kestrel_sandbox::anvil::{self, Anvil};
use kestrel_sandbox::deploy::{self, send_and_mine};
use kestrel_sandbox::v3::bindings::{INonfungiblePositionManager, ISwapRouter, IUniswapV3Factory};
use kestrel_sandbox::v3::{self, Position, V3Contracts};
use kestrel_stdx::Rng;

alloy::sol! {
    /// The owner-only parts of the factory and pool, and the position manager's `collect`.
    #[sol(rpc)]
    interface IV3Admin {
        function enableFeeAmount(uint24 fee, int24 tickSpacing) external;
        function setFeeProtocol(uint8 feeProtocol0, uint8 feeProtocol1) external;
    }
    #[sol(rpc)]
    interface IPositionCollect {
        struct CollectParams { uint256 tokenId; address recipient; uint128 amount0Max; uint128 amount1Max; }
        function collect(CollectParams calldata params) external payable returns (uint256 amount0, uint256 amount1);
    }
}

/// keccak256 of the npm UniswapV3Pool creation code, computed here from the artifact.
fn npm_pool_init_code_hash() -> B256 {
    let pool = kestrel_sandbox::artifacts::load("UniswapV3Pool").unwrap();
    alloy_primitives::keccak256(&pool.bytecode)
}

const TOKEN_SUPPLY: U256 = U256::from_limbs([0, 0, 1 << 40, 0]); // 2^168

/// Gas of a position manager call or a router swap sent without estimation (several share a
/// block, and anvil estimates against the last mined state).
const POSITION_GAS: u64 = 2_000_000;
const SWAP_GAS: u64 = 5_000_000;

struct Env {
    _anvil: Anvil,
    provider: DynProvider,
    chain: Chain,
    contracts: V3Contracts,
    me: Address,
    /// Sorted, so index order is token0/token1 order.
    tokens: Vec<Address>,
}

async fn setup(token_count: usize) -> Env {
    let anvil = Anvil::start().unwrap();
    let key = Anvil::dev_key(0);
    let provider = deploy::connect(&anvil.http_url(), &key).unwrap();
    let chain = Chain::connect_http(&anvil.http_url()).unwrap();
    let me = deploy::key_address(&key).unwrap();
    let contracts = v3::deploy_v3(&provider).await.unwrap();
    // The 0.01% tier, as governance enabled it on mainnet; a fresh factory has only three.
    let enable = IV3Admin::new(contracts.factory, &provider)
        .enableFeeAmount(U24::from(100), I24::try_from(1).unwrap())
        .into_transaction_request();
    send_and_mine(&provider, enable).await.unwrap();
    let tokens = v3::deploy_approved_tokens(&provider, &contracts, token_count, TOKEN_SUPPLY)
        .await
        .unwrap();
    Env {
        _anvil: anvil,
        provider,
        chain,
        contracts,
        me,
        tokens,
    }
}

/// A test pool and the positions minted in it (liquidity kept current by the test).
struct TestPool {
    key: V3PoolKey,
    start_tick: i32,
    positions: Vec<Position>,
}

/// A uniform random number with exactly `bits` significant bits (`bits` in 1..=255).
fn random_bits(rng: &mut Rng, bits: u64) -> U256 {
    let limbs = [
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
        rng.next_u64(),
    ];
    let bits = usize::try_from(bits.clamp(1, 255)).unwrap();
    let value = U256::from_limbs(limbs) & (U256::MAX >> (256 - bits));
    value | (U256::ONE << (bits - 1))
}

fn random_i32(rng: &mut Rng, lo: i32, hi: i32) -> i32 {
    let span = u64::try_from(i64::from(hi) - i64::from(lo)).unwrap();
    let offset = i64::try_from(rng.gen_range(0..span + 1)).unwrap();
    i32::try_from(i64::from(lo) + offset).unwrap()
}

/// A position range on the spacing near `center`: narrow, across word boundaries (a word is
/// 256 spacings), or the full usable range.
fn random_range(rng: &mut Rng, center: i32, spacing: i32) -> (i32, i32) {
    let usable_min = (MIN_TICK / spacing) * spacing;
    let usable_max = (MAX_TICK / spacing) * spacing;
    let c = center.div_euclid(spacing);
    let (width, span) = match rng.gen_range(0..8) {
        0..=3 => (random_i32(rng, 1, 6), 40),
        4..=6 => (random_i32(rng, 200, 900), 600),
        _ => return (usable_min, usable_max),
    };
    let lower = ((c + random_i32(rng, -span, span) - width / 2) * spacing)
        .clamp(usable_min, usable_max - spacing);
    (lower, (lower + width * spacing).min(usable_max))
}

/// Creates and initializes a pool at `start_tick` and mints a full-range position (so swaps
/// never run dry) and `extra` random ones, one block each.
async fn make_pool(
    env: &Env,
    rng: &mut Rng,
    (a, b): (usize, usize),
    fee: u32,
    start_tick: i32,
    extra: usize,
) -> TestPool {
    let (token0, token1) = (env.tokens[a], env.tokens[b]);
    // Mid-tick: a price just above a tick would make the position manager's liquidity for
    // token1 overflow on ranges starting at that tick.
    let low = get_sqrt_ratio_at_tick(start_tick).unwrap();
    let high = get_sqrt_ratio_at_tick(start_tick + 1).unwrap();
    let price = low + (high - low) / U256::from(2u64);
    let key = v3::create_pool(&env.provider, &env.contracts, (token0, token1), fee, price)
        .await
        .unwrap();
    let spacing = key.tick_spacing;
    let full = (
        (MIN_TICK / spacing) * spacing,
        (MAX_TICK / spacing) * spacing,
    );
    let mut positions = Vec::with_capacity(extra + 1);
    for i in 0..=extra {
        let range = if i == 0 {
            full
        } else {
            random_range(rng, start_tick, spacing)
        };
        let amounts = (random_bits(rng, 70), random_bits(rng, 70));
        let (position, _) =
            v3::mint_position(&env.provider, &env.contracts, &key, range, amounts, env.me)
                .await
                .unwrap();
        positions.push(position);
    }
    TestPool {
        key,
        start_tick,
        positions,
    }
}

/// The pool's ticks as the test's own positions say they must be: (gross, net) per tick.
fn expected_ticks(positions: &[Position]) -> BTreeMap<i32, (u128, i128)> {
    let mut ticks = BTreeMap::new();
    for p in positions.iter().filter(|p| p.liquidity > 0) {
        let l = i128::try_from(p.liquidity).unwrap();
        let lower = ticks.entry(p.tick_lower).or_insert((0u128, 0i128));
        *lower = (lower.0 + p.liquidity, lower.1 + l);
        let upper = ticks.entry(p.tick_upper).or_insert((0u128, 0i128));
        *upper = (upper.0 + p.liquidity, upper.1 - l);
    }
    ticks
}

fn ticks_of(pool: &V3Pool) -> BTreeMap<i32, (u128, i128)> {
    pool.ticks()
        .iter()
        .map(|t| (t.tick, (t.liquidity_gross, t.liquidity_net)))
        .collect()
}

/// Field by field, so a failure names what differs; then the whole value.
fn assert_same_pool(what: &str, got: &V3Pool, want: &V3Pool) {
    let a = got.address();
    assert_eq!(got.key(), want.key(), "{what}: {a} key");
    assert_eq!(got.slot0(), want.slot0(), "{what}: {a} slot0");
    assert_eq!(got.liquidity(), want.liquidity(), "{what}: {a} liquidity");
    assert_eq!(got.ticks(), want.ticks(), "{what}: {a} ticks");
    assert_eq!(got.bitmap(), want.bitmap(), "{what}: {a} bitmap");
    assert_eq!(got, want, "{what}: {a}");
}

fn assert_same_snapshot(what: &str, got: &V3Snapshot, want: &V3Snapshot) {
    assert_eq!(got.block(), want.block(), "{what}: block");
    assert_eq!(got.pools().len(), want.pools().len(), "{what}: pool count");
    for (g, w) in got.pools().iter().zip(want.pools()) {
        assert_same_pool(what, g, w);
    }
    assert_eq!(got, want, "{what}");
}

fn factory_info(env: &Env, fee_tiers: &[u32]) -> V3FactoryInfo {
    V3FactoryInfo {
        address: env.contracts.factory,
        pool_init_code_hash: npm_pool_init_code_hash(),
        fee_tiers: fee_tiers.to_vec(),
    }
}

fn sorted_by_address(mut keys: Vec<V3PoolKey>) -> Vec<V3PoolKey> {
    keys.sort_by_key(|k| k.address);
    keys
}

#[tokio::test]
async fn discovery_and_full_load_match_the_chain() {
    let env = setup(3).await;
    let mut rng = Rng::from_seed(0x5eed_0301);
    let layout = [
        ((0, 1), 100, 7),
        ((0, 1), 500, -20_003),
        ((0, 2), 3000, 46_001),
        ((1, 2), 10000, -101_234),
        ((0, 1), 3000, 1_111),
    ];
    let mut pools = Vec::new();
    for &(tokens, fee, tick) in &layout {
        pools.push(make_pool(&env, &mut rng, tokens, fee, tick, 5).await);
    }
    // Created but never initialized: discovered, but there is no state to load.
    let factory = IUniswapV3Factory::new(env.contracts.factory, &env.provider);
    let (t1, t2) = (env.tokens[1], env.tokens[2]);
    let create = factory.createPool(t1, t2, U24::from(500));
    send_and_mine(&env.provider, create.into_transaction_request())
        .await
        .unwrap();
    let bare = factory
        .getPool(t1, t2, U24::from(500))
        .call()
        .await
        .unwrap();
    let bare_key = V3PoolKey {
        address: bare,
        token0: t1,
        token1: t2,
        fee_pips: 500,
        tick_spacing: 10,
    };
    let head = env.chain.head().await.unwrap().number;

    // The canonical hash is the npm bytecode's, and CREATE2 with it gives each pool's address.
    let hash = npm_pool_init_code_hash();
    assert_eq!(
        hash,
        alloy_primitives::b256!(
            "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
        )
    );
    for p in &pools {
        let (k, f) = (&p.key, env.contracts.factory);
        assert_eq!(
            pool_address(f, (k.token1, k.token0), k.fee_pips, hash),
            k.address
        );
    }

    // By logs: every pool in creation order, the bare one last.
    let all_tiers = factory_info(&env, &[100, 500, 3000, 10000]);
    let mut created: Vec<V3PoolKey> = pools.iter().map(|p| p.key).collect();
    created.push(bare_key);
    let by_logs = env
        .chain
        .discover_v3_pools(std::slice::from_ref(&all_tiers), 0, head, 100)
        .await
        .unwrap();
    assert_eq!(by_logs, created);
    // Bounded, earliest first; and only the configured tiers.
    let first_two = env
        .chain
        .discover_v3_pools(std::slice::from_ref(&all_tiers), 0, head, 2)
        .await
        .unwrap();
    assert_eq!(first_two, created[..2]);
    let some_tiers = factory_info(&env, &[100, 10000]);
    let filtered = env
        .chain
        .discover_v3_pools(std::slice::from_ref(&some_tiers), 0, head, 100)
        .await
        .unwrap();
    let fees: Vec<u32> = filtered.iter().map(|k| k.fee_pips).collect();
    assert_eq!(fees, [100, 10000]);
    // A range before any pool existed finds none.
    let early = env
        .chain
        .discover_v3_pools(std::slice::from_ref(&all_tiers), 0, 3, 100)
        .await
        .unwrap();
    assert!(early.is_empty(), "{early:?}");

    // By getPool over the token set: the same pools.
    let by_get_pool = env
        .chain
        .find_v3_pools(std::slice::from_ref(&all_tiers), &env.tokens, head, 100)
        .await
        .unwrap();
    assert_eq!(
        sorted_by_address(by_get_pool),
        sorted_by_address(created.clone())
    );
    let only_3000 = env
        .chain
        .find_v3_pools(&[factory_info(&env, &[3000])], &env.tokens, head, 100)
        .await
        .unwrap();
    assert_eq!(only_3000.len(), 2);
    assert!(
        only_3000
            .iter()
            .all(|k| k.fee_pips == 3000 && k.tick_spacing == 60)
    );

    // A wrong init code hash is caught, not silently trusted.
    let wrong = V3FactoryInfo {
        pool_init_code_hash: B256::repeat_byte(0x11),
        ..all_tiers.clone()
    };
    let err = env
        .chain
        .discover_v3_pools(&[wrong], 0, head, 100)
        .await
        .unwrap_err();
    assert!(matches!(err, ChainError::Invalid { .. }), "{err}");
    assert!(err.to_string().contains("pool_init_code_hash"), "{err}");

    // Full load at one block: the bare pool is left out; every other pool equals the sandbox's
    // multicall reading and holds exactly the ticks the test's positions made.
    let snapshot = env.chain.load_v3_pools(&created, head).await.unwrap();
    assert_eq!(snapshot.block(), head);
    assert_eq!(snapshot.pools().len(), pools.len());
    assert!(snapshot.pool(bare).is_none());
    assert_eq!(env.chain.load_v3_pool(&bare_key, head).await.unwrap(), None);
    for p in &pools {
        let loaded = snapshot.pool(p.key.address).unwrap();
        assert_eq!(loaded.key(), &p.key);
        let sandbox = v3::read_pool(&env.provider, env.contracts.multicall, p.key.address)
            .await
            .unwrap();
        assert_same_pool("load vs sandbox reader", loaded, &sandbox);
        assert_eq!(ticks_of(loaded), expected_ticks(&p.positions));
        assert!(loaded.ticks().len() >= 4, "{:?}", p.key);
        assert_eq!(
            env.chain.v3_pool_key(p.key.address, head).await.unwrap(),
            p.key
        );
    }
    // The spacing-1 pool's full-range position sits in the outermost bitmap words.
    let narrow = snapshot.pool(pools[0].key.address).unwrap();
    let words: Vec<i16> = narrow.bitmap().iter().map(|(w, _)| *w).collect();
    let range = chain_v3::bitmap_word_range(1).unwrap();
    assert_eq!(words.first(), Some(range.start()));
    assert_eq!(words.last(), Some(range.end()));

    // A key that does not match the pool is refused.
    let mislabeled = V3PoolKey {
        fee_pips: 3000,
        tick_spacing: 60,
        ..pools[1].key
    };
    let err = env.chain.load_v3_pool(&mislabeled, head).await.unwrap_err();
    assert!(matches!(err, ChainError::Invalid { .. }), "{err}");
}

/// Something sent in the current block, for bookkeeping once it is mined.
enum Sent {
    Swap,
    Mint { pool: usize, range: (i32, i32) },
    Burn,
    Collect,
    FeeProtocol,
}

/// Queues one random action (not mined): a swap, a new position, liquidity removed from a
/// known position, or a collect (a zero `Burn` poke plus `Collect`).
async fn send_random(env: &Env, rng: &mut Rng, pools: &mut [TestPool]) -> (B256, Sent) {
    let i = usize::try_from(rng.gen_range(0..pools.len() as u64)).unwrap();
    let pool = &mut pools[i];
    let key = pool.key;
    let (tx, sent): (TransactionRequest, Sent) = match rng.gen_range(0..10) {
        0..=3 => (swap_tx(env, rng, &key), Sent::Swap),
        4..=5 => {
            let range = random_range(rng, pool.start_tick, key.tick_spacing);
            (
                mint_tx(env, rng, &key, range),
                Sent::Mint { pool: i, range },
            )
        }
        6..=8 => {
            let live: Vec<usize> = (0..pool.positions.len())
                .filter(|&j| pool.positions[j].liquidity > 1)
                .collect();
            let j = live[usize::try_from(rng.gen_range(0..live.len() as u64)).unwrap()];
            let position = &mut pool.positions[j];
            // Sometimes all of it (ticks may go back to uninitialized), but never the
            // full-range position that keeps swaps filled.
            let amount = if j > 0 && rng.gen_bool(0.4) {
                position.liquidity
            } else {
                position.liquidity / 3
            };
            position.liquidity -= amount;
            let params = INonfungiblePositionManager::DecreaseLiquidityParams {
                tokenId: position.token_id,
                liquidity: amount,
                amount0Min: U256::ZERO,
                amount1Min: U256::ZERO,
                deadline: U256::MAX,
            };
            let manager =
                INonfungiblePositionManager::new(env.contracts.position_manager, &env.provider);
            let tx = manager.decreaseLiquidity(params).into_transaction_request();
            (tx.gas_limit(POSITION_GAS), Sent::Burn)
        }
        _ => {
            let token_id = pool.positions[0].token_id;
            let params = IPositionCollect::CollectParams {
                tokenId: token_id,
                recipient: env.me,
                amount0Max: u128::MAX,
                amount1Max: u128::MAX,
            };
            let manager = IPositionCollect::new(env.contracts.position_manager, &env.provider);
            let tx = manager.collect(params).into_transaction_request();
            (tx.gas_limit(POSITION_GAS), Sent::Collect)
        }
    };
    let pending = env.provider.send_transaction(tx).await.unwrap();
    (*pending.tx_hash(), sent)
}

fn swap_tx(env: &Env, rng: &mut Rng, key: &V3PoolKey) -> TransactionRequest {
    let zero_for_one = rng.gen_bool(0.5);
    let (token_in, token_out) = if zero_for_one {
        (key.token0, key.token1)
    } else {
        (key.token1, key.token0)
    };
    // Small against the full-range position (2^70-ish), so prices move but stay near.
    let bits = rng.gen_range(20..64);
    let params = ISwapRouter::ExactInputSingleParams {
        tokenIn: token_in,
        tokenOut: token_out,
        fee: U24::from(key.fee_pips),
        recipient: env.me,
        deadline: U256::MAX,
        amountIn: random_bits(rng, bits),
        amountOutMinimum: U256::ZERO,
        sqrtPriceLimitX96: alloy::primitives::aliases::U160::ZERO,
    };
    let router = ISwapRouter::new(env.contracts.router, &env.provider);
    router
        .exactInputSingle(params)
        .into_transaction_request()
        .gas_limit(SWAP_GAS)
}

fn mint_tx(env: &Env, rng: &mut Rng, key: &V3PoolKey, range: (i32, i32)) -> TransactionRequest {
    let bits0 = rng.gen_range(40..70);
    let bits1 = rng.gen_range(40..70);
    let params = INonfungiblePositionManager::MintParams {
        token0: key.token0,
        token1: key.token1,
        fee: U24::from(key.fee_pips),
        tickLower: I24::try_from(range.0).unwrap(),
        tickUpper: I24::try_from(range.1).unwrap(),
        amount0Desired: random_bits(rng, bits0),
        amount1Desired: random_bits(rng, bits1),
        amount0Min: U256::ZERO,
        amount1Min: U256::ZERO,
        recipient: env.me,
        deadline: U256::MAX,
    };
    let manager = INonfungiblePositionManager::new(env.contracts.position_manager, &env.provider);
    manager
        .mint(params)
        .into_transaction_request()
        .gas_limit(POSITION_GAS)
}

/// What the mined transactions did, counted from their receipts.
#[derive(Debug, Default)]
struct Tally {
    swaps: usize,
    mints: usize,
    burns: usize,
    pokes: usize,
    collects: usize,
    reverted: usize,
    busiest_block: usize,
}

/// Reads the receipts of a mined block's transactions: records new positions and counts the
/// pool events they logged; returns the `Swap`/`Mint`/`Burn` count on our pools.
async fn book(env: &Env, sent: Vec<(B256, Sent)>, pools: &mut [TestPool], t: &mut Tally) -> usize {
    let mut events = 0;
    for (hash, what) in sent {
        let receipt = env
            .provider
            .get_transaction_receipt(hash)
            .await
            .unwrap()
            .expect("mined in the block");
        if !receipt.status() {
            t.reverted += 1;
            continue;
        }
        for log in receipt.inner.logs() {
            if !pools.iter().any(|p| p.key.address == log.address()) {
                continue;
            }
            match chain_v3::decode_event(&log.inner) {
                Some(V3Event::Swap { .. }) => t.swaps += 1,
                Some(V3Event::Mint { .. }) => t.mints += 1,
                Some(V3Event::Burn { amount: 0, .. }) => t.pokes += 1,
                Some(V3Event::Burn { .. }) => t.burns += 1,
                None => continue,
            }
            events += 1;
        }
        match what {
            Sent::Mint { pool, range } => {
                let minted = receipt
                    .inner
                    .logs()
                    .iter()
                    .find_map(|l| {
                        l.log_decode::<INonfungiblePositionManager::IncreaseLiquidity>()
                            .ok()
                    })
                    .unwrap()
                    .inner
                    .data;
                pools[pool].positions.push(Position {
                    token_id: minted.tokenId,
                    tick_lower: range.0,
                    tick_upper: range.1,
                    liquidity: minted.liquidity,
                });
            }
            Sent::Collect => t.collects += 1,
            Sent::Swap | Sent::Burn | Sent::FeeProtocol => {}
        }
    }
    t.busiest_block = t.busiest_block.max(events);
    events
}

/// One block of random actions, mined.
async fn random_block(env: &Env, rng: &mut Rng, pools: &mut [TestPool], t: &mut Tally) -> usize {
    let count = rng.gen_range(1..6);
    let mut sent = Vec::new();
    for _ in 0..count {
        sent.push(send_random(env, rng, pools).await);
    }
    anvil::mine(&env.provider).await.unwrap();
    book(env, sent, pools, t).await
}

/// Follows one new block with `advance_v3` and checks it against a fresh load.
async fn follow(
    env: &Env,
    keys: &[V3PoolKey],
    head: &HeadInfo,
    snap: &V3Snapshot,
    what: &str,
) -> (HeadInfo, chain_v3::V3Sync) {
    let new_head = env.chain.head().await.unwrap();
    let step = env.chain.advance_v3(snap, head, &new_head).await.unwrap();
    let fresh = env
        .chain
        .load_v3_pools(keys, new_head.number)
        .await
        .unwrap();
    assert_same_snapshot(what, &step.snapshot, &fresh);
    (new_head, step)
}

#[tokio::test]
async fn log_sync_equals_a_fresh_load_at_every_block() {
    let env = setup(3).await;
    let mut rng = Rng::from_seed(0x5eed_0302);
    let mut pools = vec![
        make_pool(&env, &mut rng, (0, 1), 100, 3, 4).await,
        make_pool(&env, &mut rng, (0, 1), 500, -7_001, 4).await,
        make_pool(&env, &mut rng, (0, 2), 3000, 23_456, 4).await,
        make_pool(&env, &mut rng, (1, 2), 10000, -60_000, 3).await,
    ];
    let keys: Vec<V3PoolKey> = pools.iter().map(|p| p.key).collect();
    let mut head = env.chain.head().await.unwrap();
    let mut snap = env.chain.load_v3_pools(&keys, head.number).await.unwrap();
    let mut tally = Tally::default();

    // Block by block, each a child of the last: logs only, no pool read again.
    for block in 0..14 {
        let logged = random_block(&env, &mut rng, &mut pools, &mut tally).await;
        let (new_head, step) = follow(&env, &keys, &head, &snap, &format!("block {block}")).await;
        assert!(
            !step.full_reload && step.reloaded.is_empty(),
            "block {block}"
        );
        assert_eq!(step.events_applied, logged, "block {block}");
        (head, snap) = (new_head, step.snapshot);
    }
    for (i, p) in pools.iter().enumerate() {
        let pool = snap.pool(p.key.address).unwrap();
        assert_eq!(ticks_of(pool), expected_ticks(&p.positions), "pool {i}");
        let sandbox = v3::read_pool(&env.provider, env.contracts.multicall, p.key.address)
            .await
            .unwrap();
        assert_same_pool("synced vs sandbox reader", pool, &sandbox);
        // What the hot lane is handed carries its full steps, computed after the logs.
        assert!(
            pool.step_table_len().is_some(),
            "pool {i} has no step table"
        );
    }

    // Several blocks at once by number range.
    for _ in 0..3 {
        random_block(&env, &mut rng, &mut pools, &mut tally).await;
    }
    head = env.chain.head().await.unwrap();
    let ranged = env.chain.sync_v3(&snap, head.number).await.unwrap();
    let fresh = env.chain.load_v3_pools(&keys, head.number).await.unwrap();
    assert_same_snapshot("three blocks by range", &ranged.snapshot, &fresh);
    assert!(ranged.events_applied >= 3);
    snap = ranged.snapshot;
    assert!(env.chain.sync_v3(&snap, head.number).await.is_err());

    // The protocol fee switch: no log carries slot0.feeProtocol whole, so that pool is read
    // again; a swap in the same block on it and another pool still sync.
    let target = pools[2].key;
    let fee_switch = IV3Admin::new(target.address, &env.provider)
        .setFeeProtocol(4, 5)
        .into_transaction_request();
    let switch_hash = *env
        .provider
        .send_transaction(fee_switch.gas_limit(POSITION_GAS))
        .await
        .unwrap()
        .tx_hash();
    let mut sent = vec![(switch_hash, Sent::FeeProtocol)];
    for key in [target, pools[0].key] {
        let tx = swap_tx(&env, &mut rng, &key);
        let hash = *env.provider.send_transaction(tx).await.unwrap().tx_hash();
        sent.push((hash, Sent::Swap));
    }
    anvil::mine(&env.provider).await.unwrap();
    book(&env, sent, &mut pools, &mut tally).await;
    let (new_head, step) = follow(&env, &keys, &head, &snap, "fee protocol").await;
    assert_eq!(step.reloaded, [target.address]);
    assert!(!step.full_reload);
    assert_eq!(step.events_applied, 1, "the other pool's swap");
    let switched = step.snapshot.pool(target.address).unwrap();
    assert_eq!(switched.slot0().fee_protocol, 4 | (5 << 4));
    (head, snap) = (new_head, step.snapshot);

    // A reorg: block N+1 is replaced by another N+1. Its parent is N, not our head, so every
    // pool is read again.
    let checkpoint: String = env
        .provider
        .raw_request("evm_snapshot".into(), ())
        .await
        .unwrap();
    random_block(&env, &mut rng, &mut pools, &mut tally).await;
    let (old_branch, step) = follow(&env, &keys, &head, &snap, "before the reorg").await;
    let before_reorg = step.snapshot;
    let reverted: bool = env
        .provider
        .raw_request("evm_revert".into(), (checkpoint,))
        .await
        .unwrap();
    assert!(reverted);
    // The test's own position book now runs ahead of the chain; only swaps from here on.
    let mut sent = Vec::new();
    for key in [pools[1].key, pools[3].key, pools[1].key] {
        let tx = swap_tx(&env, &mut rng, &key);
        let hash = *env.provider.send_transaction(tx).await.unwrap().tx_hash();
        sent.push((hash, Sent::Swap));
    }
    anvil::mine(&env.provider).await.unwrap();
    book(&env, sent, &mut pools, &mut tally).await;
    let new_branch = env.chain.head().await.unwrap();
    assert_eq!(new_branch.number, old_branch.number);
    assert_ne!(new_branch.hash, old_branch.hash);
    let (_, step) = follow(&env, &keys, &old_branch, &before_reorg, "after the reorg").await;
    assert!(step.full_reload);
    assert_ne!(
        step.snapshot, before_reorg,
        "the new branch changed the pools"
    );

    eprintln!("V3 chain sync: {tally:?}");
    assert!(tally.swaps >= 15, "{tally:?}");
    assert!(tally.mints >= 4, "{tally:?}");
    assert!(tally.burns >= 4, "{tally:?}");
    assert!(tally.pokes + tally.collects >= 1, "{tally:?}");
    assert!(tally.busiest_block >= 3, "{tally:?}");
    assert!(tally.reverted <= 2, "{tally:?}");
}
