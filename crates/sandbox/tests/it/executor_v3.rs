//! The executor's route entry point, `backrunRoute`, on anvil against the real Uniswap V2 pair
//! and V3 pool bytecode: V3→V2, V2→V3, V3→V3 across fee tiers, and 3-hop cycles through a
//! second token. Every case is predicted here with `kestrel_dex` on state read back from the
//! chain (V2 `math::get_amount_out` on `getReserves`, V3 `V3Pool::quote_exact_in` on
//! `v3::read_pool`), and the chain must realize that prediction to the wei: each hop's `Swap`
//! log, the executor's WETH gain, the builder's ETH payment and the `BackrunRoute` event. The
//! calldata comes from `kestrel_fire::executor::encode_backrun_route`, so the encoder is proven
//! against the contract too.

use std::collections::BTreeMap;

use alloy::network::TransactionBuilder as _;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::{TransactionReceipt, TransactionRequest};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{Revert, SolCall, SolEvent};
use alloy_primitives::{Address, Bytes, I256, U256, address, uint};
use kestrel_dex::math::get_amount_out;
use kestrel_dex::v3::default_price_limit;
use kestrel_dex::v3::tick_math::{MAX_TICK, MIN_TICK, get_tick_at_sqrt_ratio};
use kestrel_fire::executor::{
    BACKRUN_ROUTE_CALLDATA_MAX_LEN, HopKind, RouteHop, encode_backrun_route,
};
use kestrel_sandbox::anvil::{self, Anvil};
use kestrel_sandbox::deploy::bindings::{IERC20, IKestrelExecutor, IUniswapV2Pair, IWETH9};
use kestrel_sandbox::deploy::{self, World, WorldSpec, send_and_mine};
use kestrel_sandbox::v3::bindings::IUniswapV3Pool;
use kestrel_sandbox::v3::{self, V3Contracts};
use kestrel_stdx::Rng;

const ETHER: U256 = uint!(1_000000000000000000_U256);
const FEE_V2: u16 = 997;
/// Where the blocks' fees and the executor's builder payments go in these tests.
const COINBASE: Address = address!("00000000000000000000000000000000c0ffee02");
/// WETH the executor starts with.
const CAPITAL_WETH: u64 = 50;
/// Gas limit of a route backrun: set, not estimated, as the engine's transactions are.
const ROUTE_GAS: u64 = 1_000_000;

fn eth(n: u64) -> U256 {
    U256::from(n) * ETHER
}

fn dev_address(index: usize) -> Address {
    Anvil::dev_key(index)
        .parse::<PrivateKeySigner>()
        .unwrap()
        .address()
}

// ---- the world: V2 pairs from deploy_world, V3 pools beside them over the same WETH -----------

/// The pools of the test world. Prices are in tokens per WETH (A/B at par); they differ so that
/// buying where a token is cheap and selling where it is dear is a profitable cycle.
#[derive(Debug, Clone, Copy)]
struct Pools {
    /// V2 WETH/A on factories 0 (1000 A per WETH) and 1 (1030).
    a_v2: [Address; 2],
    /// V2 WETH/B on factories 0 (1000) and 1 (1030).
    b_v2: [Address; 2],
    /// V3 WETH/A, fee 0.05 %, 970 A per WETH.
    a_500: Address,
    /// V3 WETH/A, fee 0.3 %, 1060 A per WETH.
    a_3000: Address,
    /// V3 WETH/A, fee 1 %, 920 A per WETH.
    a_10000: Address,
    /// V3 WETH/B, fee 0.3 %, 985 B per WETH.
    b_3000: Address,
    /// V3 A/B, fee 0.05 %, at par.
    ab_500: Address,
}

struct Env {
    // Held so anvil lives as long as the test.
    anvil: Anvil,
    world: World,
    v3: V3Contracts,
    deployer: DynProvider,
    searcher: DynProvider,
    pools: Pools,
}

impl Env {
    fn token_a(&self) -> Address {
        self.world.tokens[0]
    }

    fn token_b(&self) -> Address {
        self.world.tokens[1]
    }
}

async fn setup() -> Env {
    let anvil = Anvil::start().unwrap();
    let url = anvil.http_url();
    let spec = WorldSpec {
        tokens: 2,
        factories: 2,
        liquidity_weth: eth(100),
        price_skew_bps: 300,
        executor_capital_weth: eth(CAPITAL_WETH),
        searcher: dev_address(1),
        searcher_key: Anvil::dev_key(1),
    };
    let world = deploy::deploy_world(&url, &Anvil::dev_key(0), &spec)
        .await
        .unwrap();
    let deployer = deploy::connect(&url, &Anvil::dev_key(0)).unwrap();
    let searcher = deploy::connect(&url, &Anvil::dev_key(1)).unwrap();
    anvil::set_coinbase(&deployer, COINBASE).await.unwrap();
    // The periphery's own WETH9 is unused: every pool here trades the V2 world's WETH, which the
    // position manager and router take with transferFrom like any other token.
    let v3 = v3::deploy_v3(&deployer).await.unwrap();
    let wrap = IWETH9::new(world.weth, &deployer)
        .deposit()
        .value(eth(3_000))
        .into_transaction_request();
    send_and_mine(&deployer, wrap).await.unwrap();
    for token in [world.weth, world.tokens[0], world.tokens[1]] {
        for spender in [v3.position_manager, v3.router] {
            let approve = IERC20::new(token, &deployer)
                .approve(spender, U256::MAX)
                .into_transaction_request();
            send_and_mine(&deployer, approve).await.unwrap();
        }
    }
    let pair = |token: Address, factory: usize| {
        world
            .pairs
            .iter()
            .find(|p| p.token == token && p.factory_index == factory)
            .unwrap()
            .address
    };
    let (a, b, w) = (world.tokens[0], world.tokens[1], world.weth);
    let a_v2 = [pair(a, 0), pair(a, 1)];
    let b_v2 = [pair(b, 0), pair(b, 1)];
    let mut env = Env {
        anvil,
        world,
        v3,
        deployer,
        searcher,
        pools: Pools {
            a_v2,
            b_v2,
            a_500: Address::ZERO,
            a_3000: Address::ZERO,
            a_10000: Address::ZERO,
            b_3000: Address::ZERO,
            ab_500: Address::ZERO,
        },
    };
    env.pools.a_500 = v3_pool(&env, (w, a), 500, (970, 1)).await;
    env.pools.a_3000 = v3_pool(&env, (w, a), 3000, (1060, 1)).await;
    env.pools.a_10000 = v3_pool(&env, (w, a), 10000, (920, 1)).await;
    env.pools.b_3000 = v3_pool(&env, (w, b), 3000, (985, 1)).await;
    env.pools.ab_500 = v3_pool(&env, (a, b), 500, (1, 1)).await;
    env
}

/// A V3 pool of `(base, quote)` priced at `num / den` quote per base, with a full-range
/// position of 100 base and a narrow one around the price (so larger trades cross ticks).
async fn v3_pool(
    env: &Env,
    (base, quote): (Address, Address),
    fee: u32,
    price: (u64, u64),
) -> Address {
    let (num, den) = (U256::from(price.0), U256::from(price.1));
    let base_is_token0 = base < quote;
    let (token0, token1) = if base_is_token0 {
        (base, quote)
    } else {
        (quote, base)
    };
    // sqrtPriceX96 = sqrt(token1 per token0) * 2^96.
    let ratio_x192 = if base_is_token0 {
        (num << 192usize) / den
    } else {
        (den << 192usize) / num
    };
    let sqrt_price = ratio_x192.root(2);
    let key = v3::create_pool(&env.deployer, &env.v3, (token0, token1), fee, sqrt_price)
        .await
        .unwrap();
    let spacing = key.tick_spacing;
    let tick = get_tick_at_sqrt_ratio(sqrt_price).unwrap();
    let centre = tick.div_euclid(spacing) * spacing;
    let full = (
        (MIN_TICK / spacing) * spacing,
        (MAX_TICK / spacing) * spacing,
    );
    let narrow = (centre - 4 * spacing.max(60), centre + 4 * spacing.max(60));
    let base_amount = eth(100);
    let quote_amount = base_amount * num / den;
    let amounts = if base_is_token0 {
        (base_amount, quote_amount)
    } else {
        (quote_amount, base_amount)
    };
    let me = dev_address(0);
    for range in [full, narrow] {
        v3::mint_position(&env.deployer, &env.v3, &key, range, amounts, me)
            .await
            .unwrap();
    }
    key.address
}

// ---- routes and their prediction ----------------------------------------------------------------

/// One hop of a test route: `token_in` → `token_out` on `pool`.
#[derive(Debug, Clone, Copy)]
struct Hop {
    pool: Address,
    v3: bool,
    token_in: Address,
    token_out: Address,
}

impl Hop {
    fn zero_for_one(&self) -> bool {
        self.token_in < self.token_out
    }

    fn route_hop(&self) -> RouteHop {
        let kind = if self.v3 {
            HopKind::V3
        } else {
            HopKind::V2 { fee_num: FEE_V2 }
        };
        RouteHop {
            pool: self.pool,
            kind,
            zero_for_one: self.zero_for_one(),
        }
    }
}

/// Named cycles from WETH back to WETH.
fn routes(env: &Env) -> Vec<(&'static str, Vec<Hop>)> {
    let p = env.pools;
    let (w, a, b) = (env.world.weth, env.token_a(), env.token_b());
    let v2 = |pool, token_in, token_out| Hop {
        pool,
        v3: false,
        token_in,
        token_out,
    };
    let v3 = |pool, token_in, token_out| Hop {
        pool,
        v3: true,
        token_in,
        token_out,
    };
    vec![
        ("V3-V2", vec![v3(p.a_3000, w, a), v2(p.a_v2[0], a, w)]),
        ("V2-V3", vec![v2(p.a_v2[1], w, a), v3(p.a_500, a, w)]),
        (
            "V3-V3 0.3%->0.05%",
            vec![v3(p.a_3000, w, a), v3(p.a_500, a, w)],
        ),
        (
            "V3-V3 0.3%->1%",
            vec![v3(p.a_3000, w, a), v3(p.a_10000, a, w)],
        ),
        (
            "V2-V3-V2",
            vec![v2(p.a_v2[1], w, a), v3(p.ab_500, a, b), v2(p.b_v2[0], b, w)],
        ),
        (
            "V3-V3-V3",
            vec![v3(p.a_3000, w, a), v3(p.ab_500, a, b), v3(p.b_3000, b, w)],
        ),
        (
            "V2-V3-V3",
            vec![v2(p.b_v2[1], w, b), v3(p.ab_500, b, a), v3(p.a_500, a, w)],
        ),
    ]
}

/// `(reserve in, reserve out)` of a V2 pair for a swap of `token_in`.
async fn v2_reserves(provider: &DynProvider, pair: Address, token_in: Address) -> (U256, U256) {
    let pair = IUniswapV2Pair::new(pair, provider);
    let r = pair.getReserves().call().await.unwrap();
    let (r0, r1) = (U256::from(r.reserve0), U256::from(r.reserve1));
    if pair.token0().call().await.unwrap() == token_in {
        (r0, r1)
    } else {
        (r1, r0)
    }
}

/// A cycle's predicted hop outputs.
#[derive(Debug)]
struct Prediction {
    /// What each hop pays out; the last is the WETH back.
    outs: Vec<U256>,
    /// V3 hops whose swap takes more than one step of the pool's loop (crosses a tick).
    multi_step_v3_hops: usize,
}

/// Each hop's output for `amount_in`, on the chain's state now; `None` when a hop would pay
/// nothing (the pair would revert).
async fn predict(env: &Env, route: &[Hop], amount_in: U256) -> Option<Prediction> {
    let mut outs = Vec::with_capacity(route.len());
    let mut multi_step_v3_hops = 0;
    let mut amount = amount_in;
    for hop in route {
        let out = if hop.v3 {
            let pool = v3::read_pool(&env.deployer, env.v3.multicall, hop.pool)
                .await
                .unwrap();
            let zero_for_one = hop.zero_for_one();
            // The executor swaps with no price limit and pays what the pool takes: the
            // prediction assumes the pool takes all of it, so check that it does.
            let full = pool
                .quote(
                    zero_for_one,
                    I256::from_raw(amount),
                    default_price_limit(zero_for_one),
                )
                .ok()?;
            assert_eq!(full.amount_in(zero_for_one).into_raw(), amount, "{hop:?}");
            if full.steps > 1 {
                multi_step_v3_hops += 1;
            }
            pool.quote_exact_in(zero_for_one, amount).ok()?
        } else {
            let (r_in, r_out) = v2_reserves(&env.deployer, hop.pool, hop.token_in).await;
            get_amount_out(amount, r_in, r_out, u32::from(FEE_V2))?
        };
        if out.is_zero() {
            return None;
        }
        outs.push(out);
        amount = out;
    }
    Some(Prediction {
        outs,
        multi_step_v3_hops,
    })
}

// ---- driving the executor -----------------------------------------------------------------------

fn route_calldata(route: &[Hop], amount_in: U256, min_profit: U256, bps: u32) -> Bytes {
    let hops: Vec<RouteHop> = route.iter().map(Hop::route_hop).collect();
    let mut buf = [0u8; BACKRUN_ROUTE_CALLDATA_MAX_LEN];
    let len = encode_backrun_route(&mut buf, &hops, amount_in, min_profit, bps).unwrap();
    Bytes::copy_from_slice(&buf[..len])
}

fn executor_tx(env: &Env, data: Bytes) -> TransactionRequest {
    TransactionRequest::default()
        .with_to(env.world.executor)
        .with_input(data)
}

/// The revert string of an `eth_call` from `from`, or a marker that fails the caller's assert.
async fn call_reason(provider: &DynProvider, from: Address, tx: TransactionRequest) -> String {
    match provider.call(tx.with_from(from)).await {
        Ok(_) => "<did not revert>".to_owned(),
        Err(err) => match err
            .as_error_resp()
            .and_then(|payload| payload.as_decoded_error::<Revert>())
        {
            Some(revert) => revert.reason,
            None => format!("<not a revert string: {err}>"),
        },
    }
}

async fn weth_balance(env: &Env, who: Address) -> U256 {
    IWETH9::new(env.world.weth, &env.deployer)
        .balanceOf(who)
        .call()
        .await
        .unwrap()
}

/// How much `who`'s ETH balance changed in block `block`.
async fn eth_gained_in_block(provider: &DynProvider, who: Address, block: u64) -> U256 {
    let before = provider.get_balance(who).number(block - 1).await.unwrap();
    provider.get_balance(who).number(block).await.unwrap() - before
}

/// What each hop's pool paid out, from its `Swap` log in the receipt.
fn hop_outputs(receipt: &TransactionReceipt, route: &[Hop]) -> Vec<U256> {
    let logs = receipt.inner.logs();
    route
        .iter()
        .map(|hop| {
            let at_pool = logs.iter().filter(|log| log.address() == hop.pool);
            let outs: Vec<U256> = if hop.v3 {
                at_pool
                    .filter_map(|log| IUniswapV3Pool::Swap::decode_log(&log.inner).ok())
                    .map(|swap| {
                        let paid = if hop.zero_for_one() {
                            swap.amount1
                        } else {
                            swap.amount0
                        };
                        paid.wrapping_neg().into_raw()
                    })
                    .collect()
            } else {
                at_pool
                    .filter_map(|log| IUniswapV2Pair::Swap::decode_log(&log.inner).ok())
                    .map(|swap| swap.amount0Out + swap.amount1Out)
                    .collect()
            };
            assert_eq!(outs.len(), 1, "one Swap log per hop: {hop:?}");
            outs[0]
        })
        .collect()
}

fn route_log(receipt: &TransactionReceipt) -> IKestrelExecutor::BackrunRoute {
    let logs = receipt.inner.logs();
    let log = logs
        .iter()
        .find_map(|log| IKestrelExecutor::BackrunRoute::decode_log(&log.inner).ok());
    log.expect("no BackrunRoute event in the receipt").data
}

/// A user's trade on one hop's pool in the direction opposite to the hop (selling the hop's
/// output token for its input token), which makes the hop's input dearer there: the price move
/// a backrun captures. Sized at 0.1 to 4 WETH worth (the test tokens trade near 1000 per WETH).
async fn victim(env: &Env, rng: &mut Rng, hop: &Hop) {
    let mut wei = U256::from(rng.log_uniform_u128(10u128.pow(17), 4 * 10u128.pow(18)));
    if hop.token_out != env.world.weth {
        wei *= U256::from(1_000u64);
    }
    let (sell, buy) = (hop.token_out, hop.token_in);
    let me = dev_address(0);
    let d = &env.deployer;
    if hop.v3 {
        let pool = v3::read_pool(d, env.v3.multicall, hop.pool).await.unwrap();
        v3::swap_exact_input_single(d, &env.v3, pool.key(), sell < buy, wei, me)
            .await
            .unwrap();
    } else {
        // Straight on the pair, as a router would: pay in, then take the exact output.
        let (r_in, r_out) = v2_reserves(d, hop.pool, sell).await;
        let out = get_amount_out(wei, r_in, r_out, u32::from(FEE_V2)).unwrap();
        let pay = IERC20::new(sell, d)
            .transfer(hop.pool, wei)
            .into_transaction_request();
        send_and_mine(d, pay).await.unwrap();
        let (out0, out1) = if sell < buy {
            (U256::ZERO, out)
        } else {
            (out, U256::ZERO)
        };
        // A fixed limit: anvil's estimate for a pair swap has come back short of the pair's
        // reentrancy sentry (an out-of-gas revert seen once in CI), and a swap needs < 100k.
        let swap = IUniswapV2Pair::new(hop.pool, d)
            .swap(out0, out1, me, Bytes::new())
            .into_transaction_request()
            .with_gas_limit(200_000);
        send_and_mine(d, swap).await.unwrap();
    }
}

/// What the random cases covered.
#[derive(Debug, Default)]
struct Tally {
    executed: BTreeMap<&'static str, Vec<u64>>,
    loss_reverts: usize,
    profit_reverts: usize,
    payments: usize,
    multi_step_v3_hops: usize,
}

/// The largest of `amount, amount/2, amount/4, …` (at most 12 halvings) whose predicted cycle
/// is profitable, with its hop outputs. The first unprofitable size must revert "loss".
async fn profitable_size(
    env: &Env,
    route: &[Hop],
    mut amount: U256,
    tally: &mut Tally,
) -> Option<(U256, Prediction)> {
    let searcher = dev_address(1);
    let mut checked_loss = false;
    for _ in 0..12 {
        if let Some(prediction) = predict(env, route, amount).await {
            let back = *prediction.outs.last().unwrap();
            if back > amount {
                return Some((amount, prediction));
            }
            if !checked_loss {
                let tx = executor_tx(env, route_calldata(route, amount, U256::ZERO, 0));
                assert_eq!(
                    call_reason(&env.searcher, searcher, tx).await,
                    "loss",
                    "{amount} in, {back} back"
                );
                tally.loss_reverts += 1;
                checked_loss = true;
            }
        }
        amount /= U256::from(2u64);
    }
    None
}

/// One random case: maybe a victim, then the route sized at random; the executor must realize
/// the prediction exactly, and refuse one wei more of minimum profit.
async fn run_case(env: &Env, rng: &mut Rng, name: &'static str, route: &[Hop], tally: &mut Tally) {
    if rng.gen_bool(0.7) {
        let hop = route[rng.gen_range(0..route.len() as u64) as usize];
        victim(env, rng, &hop).await;
    }
    let start = U256::from(rng.log_uniform_u128(10u128.pow(15), 10u128.pow(19)));
    let Some((amount_in, prediction)) = profitable_size(env, route, start, tally).await else {
        return;
    };
    let outs = prediction.outs;
    let bps = [0u32, 1_000, 2_500, 9_000][rng.gen_range(0..4) as usize];
    let gross = *outs.last().unwrap() - amount_in;
    let pay = gross * U256::from(bps) / U256::from(10_000u64);
    let net = gross - pay;
    let searcher = dev_address(1);

    let greedy = executor_tx(env, route_calldata(route, amount_in, net + U256::ONE, bps));
    assert_eq!(call_reason(&env.searcher, searcher, greedy).await, "profit");
    tally.profit_reverts += 1;

    let before = weth_balance(env, env.world.executor).await;
    // minProfit at exactly the predicted net: one wei less on chain and this reverts. No
    // priority fee, so the coinbase's gain in the block is the payment alone.
    let tx = executor_tx(env, route_calldata(route, amount_in, net, bps))
        .with_gas_limit(ROUTE_GAS)
        .with_max_priority_fee_per_gas(0)
        .with_max_fee_per_gas(100_000_000_000);
    let receipt = send_and_mine(&env.searcher, tx).await.unwrap();
    let case = format!("{name}: {amount_in} in, {bps} bps");
    assert_eq!(hop_outputs(&receipt, route), outs, "{case}");
    let event = route_log(&receipt);
    assert_eq!(event.firstPool, route[0].pool, "{case}");
    assert_eq!(event.hops, U256::from(route.len()), "{case}");
    assert_eq!(
        (event.amountIn, event.profitGross, event.payment),
        (amount_in, gross, pay),
        "{case}"
    );
    let after = weth_balance(env, env.world.executor).await;
    assert_eq!(after, before + net, "{case}");
    let block = receipt.block_number.unwrap();
    assert_eq!(
        eth_gained_in_block(&env.deployer, COINBASE, block).await,
        pay,
        "{case}"
    );
    if !pay.is_zero() {
        tally.payments += 1;
    }
    tally.multi_step_v3_hops += prediction.multi_step_v3_hops;
    tally
        .executed
        .entry(name)
        .or_default()
        .push(receipt.gas_used);
}

#[tokio::test]
async fn route_backruns_realize_the_kestrel_prediction_to_the_wei() {
    let env = setup().await;
    let mut rng = Rng::from_seed(0x5eed_e3ec);
    let mut tally = Tally::default();
    let routes = routes(&env);
    for round in 0..6 {
        for (name, route) in &routes {
            run_case(&env, &mut rng, name, route, &mut tally).await;
        }
        eprintln!("round {round}: {tally:?}");
    }
    // Gas per route kind, for the record. It grows with the V3 ticks a swap crosses (each
    // crossing writes the tick), so only the medians are held to a budget.
    for (name, gas) in &tally.executed {
        let mut sorted = gas.clone();
        sorted.sort_unstable();
        let median = sorted[sorted.len() / 2];
        eprintln!("backrunRoute {name}: gas median {median}, runs {sorted:?}");
        let hops = routes.iter().find(|(n, _)| n == name).unwrap().1.len();
        let budget = if hops == 2 { 250_000 } else { 350_000 };
        assert!(median < budget, "{name}: {sorted:?}");
    }
    for (name, _) in &routes {
        let runs = tally.executed.get(name).map_or(0, Vec::len);
        assert!(runs >= 3, "{name} executed only {runs} times: {tally:?}");
    }
    assert!(tally.loss_reverts >= 5, "{tally:?}");
    assert!(tally.payments >= 10, "{tally:?}");
    assert!(tally.multi_step_v3_hops >= 5, "{tally:?}");
    // Every intermediate token went on to the next hop: none is left in the executor.
    for token in [env.token_a(), env.token_b()] {
        let held = IERC20::new(token, &env.deployer)
            .balanceOf(env.world.executor)
            .call()
            .await
            .unwrap();
        assert_eq!(held, U256::ZERO, "{token}");
    }
}

// ---- the guards ---------------------------------------------------------------------------------

#[tokio::test]
async fn callbacks_and_malformed_routes_are_rejected() {
    let env = setup().await;
    let routes = routes(&env);
    let (_, v3_v2) = &routes[0];
    let searcher = dev_address(1);
    let executor = env.world.executor;
    let capital = weth_balance(&env, executor).await;
    assert_eq!(capital, eth(CAPITAL_WETH));

    // The swap callback pays only the pool the executor is swapping on, only during that swap:
    // not an outsider, not the owner, and not the pool itself at any other time.
    let callback = |delta0: U256, delta1: U256| {
        let call = IKestrelExecutor::uniswapV3SwapCallbackCall {
            amount0Delta: I256::from_raw(delta0),
            amount1Delta: I256::from_raw(delta1),
            data: Bytes::new(),
        };
        executor_tx(&env, Bytes::from(call.abi_encode()))
    };
    let (pool, stranger) = (env.pools.a_3000, dev_address(4));
    for from in [stranger, searcher, pool, Address::ZERO] {
        for (d0, d1) in [(ETHER, U256::ZERO), (U256::ZERO, ETHER)] {
            let reason = call_reason(&env.deployer, from, callback(d0, d1)).await;
            assert_eq!(reason, "callback", "from {from}");
        }
    }
    // A real transaction from a stranger changes nothing either.
    let stranger_key = Anvil::dev_key(4);
    let stranger_provider = deploy::connect(&env.anvil.http_url(), &stranger_key).unwrap();
    let sent = stranger_provider
        .send_transaction(callback(ETHER, U256::ZERO).with_gas_limit(200_000))
        .await
        .unwrap();
    let hash = *sent.tx_hash();
    anvil::mine(&env.deployer).await.unwrap();
    let receipt = env
        .deployer
        .get_transaction_receipt(hash)
        .await
        .unwrap()
        .unwrap();
    assert!(!receipt.status());

    // A successful route leaves no callback permit behind: the pool it swapped on is refused
    // right after.
    let amount = ETHER / U256::from(10u64);
    let outs = predict(&env, v3_v2, amount).await.unwrap().outs;
    assert!(
        *outs.last().unwrap() > amount,
        "the V3-V2 cycle must be profitable: {outs:?}"
    );
    let tx =
        executor_tx(&env, route_calldata(v3_v2, amount, U256::ZERO, 0)).with_gas_limit(ROUTE_GAS);
    send_and_mine(&env.searcher, tx).await.unwrap();
    assert_eq!(
        call_reason(&env.deployer, pool, callback(ETHER, U256::ZERO)).await,
        "callback"
    );
    let held = weth_balance(&env, executor).await;
    assert_eq!(held, capital + *outs.last().unwrap() - amount);

    // Only the owner trades.
    let good = || executor_tx(&env, route_calldata(v3_v2, amount, U256::ZERO, 0));
    assert_eq!(call_reason(&env.deployer, stranger, good()).await, "owner");
    assert_eq!(
        call_reason(&env.deployer, searcher, good()).await,
        "<did not revert>"
    );

    // What the encoder refuses, written by hand: the contract refuses it too.
    let word = |hop: &Hop| U256::from_be_bytes(hop.route_hop().word());
    let raw = |route: Vec<U256>, amount_in: U256, bps: u64| {
        let call = IKestrelExecutor::backrunRouteCall {
            route,
            amountIn: amount_in,
            minProfit: U256::ZERO,
            paymentBps: U256::from(bps),
        };
        executor_tx(&env, Bytes::from(call.abi_encode()))
    };
    let (w0, w1) = (word(&v3_v2[0]), word(&v3_v2[1]));
    let cases = [
        (raw(vec![w0], amount, 0), "hops"),
        (raw(vec![w0, w1, w0, w1], amount, 0), "hops"),
        (raw(vec![w0, w1], U256::ZERO, 0), "amount"),
        (raw(vec![w0, w1], U256::ONE << 255usize, 0), "amount"),
        (raw(vec![w0, w1], amount, 10_001), "bps"),
        // A V2 fee numerator of 0 on the V2 hop, and one on the V3 hop.
        (
            raw(
                vec![w0, w1 & !(U256::from(0xffffu64) << 160usize)],
                amount,
                0,
            ),
            "fee",
        ),
        (
            raw(vec![w0 | (U256::from(3000u64) << 160usize), w1], amount, 0),
            "fee",
        ),
        // A flag bit the layout does not define.
        (
            raw(vec![w0 | (U256::ONE << 178usize), w1], amount, 0),
            "hop",
        ),
    ];
    for (i, (tx, want)) in cases.into_iter().enumerate() {
        assert_eq!(
            call_reason(&env.deployer, searcher, tx).await,
            want,
            "case {i}"
        );
    }
}
