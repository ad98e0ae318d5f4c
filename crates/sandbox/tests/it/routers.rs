//! The V3/SwapRouter02/Universal Router decoders on calldata that the real contracts (npm
//! bytecode, on anvil) then execute: every decoded field is what the router did, and replaying
//! the decoded legs with Kestrel's exact V2 and V3 math predicts the user's output to the wei.

use alloy::network::TransactionBuilder;
use alloy::providers::{DynProvider, Provider};
use alloy::rpc::types::TransactionRequest;
use alloy::signers::local::PrivateKeySigner;
use alloy_primitives::{Address, U256};
use kestrel_dex::cycle::{PoolRegistry, V3FactoryId, V3Id};
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool};
use kestrel_dex::route::{AmountSource, DecodedSwaps, Recipient, Route, Swap, SwapLeg};
use kestrel_dex::router::SwapKind;
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_dex::universal::{UrVersion, decode_universal};
use kestrel_dex::v3::V3PoolKey;
use kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick;
use kestrel_dex::victim::{V3State, VictimEnv, apply_swaps};
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::deploy::bindings::{IERC20, IUniswapV2Pair, IWETH9};
use kestrel_sandbox::deploy::{self, World, WorldSpec, send_and_mine};
use kestrel_sandbox::routers::{self, RouterDeps, Routers, UserCall};
use kestrel_sandbox::v3::{self, V3Contracts};
use kestrel_types::{FactoryId, PoolId};

const ETHER: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

fn eth(n: u64) -> U256 {
    U256::from(n) * ETHER
}

struct Env {
    _anvil: Anvil,
    deployer: DynProvider,
    user: DynProvider,
    user_address: Address,
    world: World,
    v3: V3Contracts,
    routers: Routers,
    /// WETH/T0 at 0.3 % and T0/T1 at 0.05 %.
    pools: [V3PoolKey; 2],
}

async fn setup() -> Env {
    let anvil = Anvil::start().unwrap();
    let url = anvil.http_url();
    let searcher: PrivateKeySigner = Anvil::dev_key(1).parse().unwrap();
    let spec = WorldSpec {
        tokens: 2,
        factories: 2,
        liquidity_weth: eth(100),
        price_skew_bps: 30,
        executor_capital_weth: eth(1),
        searcher: searcher.address(),
        searcher_key: Anvil::dev_key(1),
    };
    let world = deploy::deploy_world(&url, &Anvil::dev_key(0), &spec)
        .await
        .unwrap();
    let deployer = deploy::connect(&url, &Anvil::dev_key(0)).unwrap();
    let me = deploy::key_address(&Anvil::dev_key(0)).unwrap();
    let v3 = v3::deploy_v3_with_weth(&deployer, world.weth)
        .await
        .unwrap();
    let wrap = IWETH9::new(world.weth, &deployer)
        .deposit()
        .value(eth(400))
        .into_transaction_request();
    send_and_mine(&deployer, wrap).await.unwrap();
    for token in [world.weth, world.tokens[0], world.tokens[1]] {
        let approve = IERC20::new(token, &deployer)
            .approve(v3.position_manager, U256::MAX)
            .into_transaction_request();
        send_and_mine(&deployer, approve).await.unwrap();
    }
    let (t0, t1) = (world.tokens[0], world.tokens[1]);
    let weth_t0 = v3_pool(&deployer, &v3, (world.weth, t0), 3000, me).await;
    let t0_t1 = v3_pool(&deployer, &v3, (t0, t1), 500, me).await;
    let pool_artifact = kestrel_sandbox::artifacts::load("UniswapV3Pool").unwrap();
    let routers = routers::deploy_routers(
        &deployer,
        RouterDeps {
            weth: world.weth,
            v2_factory: world.factories[0],
            v3_factory: v3.factory,
            position_manager: v3.position_manager,
            pair_init_code_hash: world.init_code_hash,
            pool_init_code_hash: pool_artifact.init_code_hash(),
        },
    )
    .await
    .unwrap();
    let user = deploy::connect(&url, &Anvil::dev_key(2)).unwrap();
    let user_address = deploy::key_address(&Anvil::dev_key(2)).unwrap();
    Env {
        _anvil: anvil,
        deployer,
        user,
        user_address,
        world,
        v3,
        routers,
        pools: [weth_t0, t0_t1],
    }
}

/// A pool of two tokens at the world's 1:1000 WETH price (1:1 for two tokens), with a wide and
/// a narrow position, so that larger swaps cross initialized ticks.
async fn v3_pool(
    provider: &DynProvider,
    v3: &V3Contracts,
    (a, b): (Address, Address),
    fee: u32,
    owner: Address,
) -> V3PoolKey {
    // ln(1000) / ln(1.0001) ≈ 69,081: token1 per token0 is 1000 when WETH is token0.
    let tick = match (fee, a < b) {
        (500, _) => 0,
        (_, true) => 69_081,
        (_, false) => -69_081,
    };
    let key = v3::create_pool(
        provider,
        v3,
        (a, b),
        fee,
        get_sqrt_ratio_at_tick(tick).unwrap(),
    )
    .await
    .unwrap();
    let spacing = key.tick_spacing;
    let base = tick.div_euclid(spacing) * spacing;
    for (lower, upper) in [
        (base - 400 * spacing, base + 400 * spacing),
        (base - 5 * spacing, base + 7 * spacing),
    ] {
        v3::mint_position(
            provider,
            v3,
            &key,
            (lower, upper),
            (eth(50) * U256::from(1000u64), eth(50) * U256::from(1000u64)),
            owner,
        )
        .await
        .unwrap();
    }
    key
}

/// What replaying the decoded legs on the current chain state predicts the user receives.
async fn predict_output(env: &Env, decoded: &DecodedSwaps<'_>) -> U256 {
    let mut carried = decoded.wrap_eth.unwrap_or(U256::ZERO);
    let mut out = U256::ZERO;
    for leg in decoded.legs() {
        let SwapLeg::Swap(swap) = leg else {
            panic!("no V4 legs here")
        };
        assert_eq!(
            swap.kind,
            SwapKind::ExactIn,
            "predict_output is for exact-in legs"
        );
        let amount = match swap.amount_source {
            AmountSource::Given => swap.amount,
            AmountSource::ContractBalance => carried,
            AmountSource::AlreadyPaid => panic!("not used here"),
        };
        out = swap_output(env, swap, amount).await;
        carried = out;
    }
    out
}

async fn swap_output(env: &Env, swap: &Swap<'_>, mut amount: U256) -> U256 {
    match swap.route {
        Route::V2(path) => {
            let tokens: Vec<Address> = (0..path.len()).filter_map(|i| path.get(i)).collect();
            for hop in tokens.windows(2) {
                let token = if hop[0] == env.world.weth {
                    hop[1]
                } else {
                    hop[0]
                };
                let pair = v2_pair_now(env, token).await;
                let (rin, rout) = if hop[0] == pair.token0 {
                    (pair.reserve0, pair.reserve1)
                } else {
                    (pair.reserve1, pair.reserve0)
                };
                amount = kestrel_dex::math::get_amount_out(amount, rin, rout, 997).unwrap();
            }
            amount
        }
        Route::V3(route) => {
            for hop in route.hops() {
                let key = env
                    .pools
                    .iter()
                    .find(|k| {
                        k.fee_pips == hop.fee
                            && [k.token0, k.token1].contains(&hop.token_in)
                            && [k.token0, k.token1].contains(&hop.token_out)
                    })
                    .unwrap();
                let pool = v3::read_pool(&env.deployer, env.v3.multicall, key.address)
                    .await
                    .unwrap();
                amount = pool
                    .quote_exact_in(hop.token_in == key.token0, amount)
                    .unwrap();
            }
            amount
        }
    }
}

async fn balance(env: &Env, token: Address, who: Address) -> U256 {
    IERC20::new(token, &env.deployer)
        .balanceOf(who)
        .call()
        .await
        .unwrap()
}

/// Sends the user's call, mines it, and returns what `token_out` the user gained.
async fn send(env: &Env, call: &UserCall, token_out: Address) -> U256 {
    let before = balance(env, token_out, env.user_address).await;
    let tx = TransactionRequest::default()
        .with_to(call.to)
        .with_input(call.input.clone())
        .with_value(call.value)
        .with_gas_limit(2_000_000);
    let receipt = send_and_mine(&env.user, tx).await.unwrap();
    assert!(receipt.status(), "the router reverted");
    balance(env, token_out, env.user_address).await - before
}

fn only_swap<'a>(decoded: &'a DecodedSwaps<'a>) -> &'a Swap<'a> {
    let swaps: Vec<&Swap<'_>> = decoded.swaps().collect();
    assert_eq!(swaps.len(), 1, "{decoded:?}");
    swaps[0]
}

fn v3_hops(swap: &Swap<'_>) -> Vec<(Address, u32, Address)> {
    let Route::V3(route) = swap.route else {
        panic!("not a V3 leg: {swap:?}")
    };
    route
        .hops()
        .map(|h| (h.token_in, h.fee, h.token_out))
        .collect()
}

#[tokio::test]
async fn router_calldata_decodes_to_what_the_routers_execute() {
    let env = setup().await;
    let (weth, t0, t1) = (env.world.weth, env.world.tokens[0], env.world.tokens[1]);
    let me = env.user_address;
    let deadline = U256::from(u64::MAX);
    let path_2hop = routers::v3_path(&[weth, t0, t1], &[3000, 500]);

    // SwapRouter02: multicall(deadline, [exactInputSingle]) paid in ETH.
    let call = routers::sr02_exact_input_single_eth(
        &env.routers,
        (weth, t0, 3000),
        me,
        (eth(3), U256::from(1u64)),
        deadline,
    );
    let decoded = decode_swap_router(&call.input, call.value).unwrap();
    assert_eq!(decoded.deadline, Some(deadline));
    let swap = only_swap(&decoded);
    assert_eq!(swap.kind, SwapKind::ExactIn);
    assert_eq!((swap.amount, swap.limit), (eth(3), U256::from(1u64)));
    assert_eq!(swap.recipient, Recipient::Account(me));
    assert_eq!(v3_hops(swap), vec![(weth, 3000, t0)]);
    let predicted = predict_output(&env, &decoded).await;
    assert_eq!(send(&env, &call, t0).await, predicted);

    // SwapRouter02: exactInput over two V3 hops.
    let call =
        routers::sr02_exact_input_eth(&env.routers, path_2hop.clone(), me, (eth(2), U256::ZERO));
    let decoded = decode_swap_router(&call.input, call.value).unwrap();
    assert_eq!(decoded.deadline, None);
    let swap = only_swap(&decoded);
    assert_eq!(v3_hops(swap), vec![(weth, 3000, t0), (t0, 500, t1)]);
    let predicted = predict_output(&env, &decoded).await;
    assert!(predicted > U256::ZERO);
    assert_eq!(send(&env, &call, t1).await, predicted);

    // SwapRouter02: the V2 function, paid in ETH.
    let call =
        routers::sr02_v2_exact_in_eth(&env.routers, vec![weth, t0], me, (eth(1), U256::ZERO));
    let decoded = decode_swap_router(&call.input, call.value).unwrap();
    let swap = only_swap(&decoded);
    assert!(matches!(swap.route, Route::V2(p) if p.first() == Some(weth) && p.last() == Some(t0)));
    let predicted = predict_output(&env, &decoded).await;
    assert_eq!(send(&env, &call, t0).await, predicted);

    // SwapRouter02: multicall(deadline, [exactOutputSingle, refundETH]): exact out, the rest
    // of the ETH refunded; the decoded ceiling is the value sent.
    let want = U256::from(777u64) * ETHER;
    let call = routers::sr02_exact_output_single_eth(
        &env.routers,
        (weth, t0, 3000),
        me,
        (want, eth(5)),
        deadline,
    );
    let decoded = decode_swap_router(&call.input, call.value).unwrap();
    let swap = only_swap(&decoded);
    assert_eq!(swap.kind, SwapKind::ExactOut);
    assert_eq!((swap.amount, swap.limit), (want, eth(5)));
    assert!(decoded.helpers >= 1, "refundETH is a helper: {decoded:?}");
    let pool = v3::read_pool(&env.deployer, env.v3.multicall, env.pools[0].address)
        .await
        .unwrap();
    let needed = pool
        .quote_exact_out(weth == env.pools[0].token0, want)
        .unwrap();
    let eth_before = env.user.get_balance(me).await.unwrap();
    assert_eq!(send(&env, &call, t0).await, want);
    let receipt_cost = eth_before - env.user.get_balance(me).await.unwrap();
    // What the user paid is the quoted input plus gas: the router refunded the rest.
    assert!(receipt_cost >= needed && receipt_cost < needed + eth(1) / U256::from(100u64));

    // Universal Router: WRAP_ETH + V3_SWAP_EXACT_IN of the whole balance, with a deadline.
    let call = routers::ur_wrap_v3_exact_in(
        &env.routers,
        path_2hop,
        me,
        (eth(2), U256::from(5u64)),
        Some(deadline),
    );
    let decoded = decode_universal(&call.input, call.value, UrVersion::V2).unwrap();
    assert_eq!(decoded.wrap_eth, Some(eth(2)));
    assert_eq!(decoded.deadline, Some(deadline));
    let swap = only_swap(&decoded);
    assert_eq!(swap.amount_source, AmountSource::ContractBalance);
    assert!(!swap.payer_is_user);
    assert_eq!(swap.limit, U256::from(5u64));
    assert_eq!(v3_hops(swap), vec![(weth, 3000, t0), (t0, 500, t1)]);
    let predicted = predict_output(&env, &decoded).await;
    assert_eq!(send(&env, &call, t1).await, predicted);

    // Universal Router: WRAP_ETH + V2_SWAP_EXACT_IN, no deadline.
    let call =
        routers::ur_wrap_v2_exact_in(&env.routers, vec![weth, t0], me, (eth(1), U256::ZERO), None);
    let decoded = decode_universal(&call.input, call.value, UrVersion::V2).unwrap();
    assert_eq!(decoded.deadline, None);
    let swap = only_swap(&decoded);
    assert!(matches!(swap.route, Route::V2(_)));
    assert_eq!(swap.recipient, Recipient::Account(me));
    let predicted = predict_output(&env, &decoded).await;
    assert_eq!(send(&env, &call, t0).await, predicted);
}

/// The routers' V2 pair of WETH and `token` (factory 0), and its reserves now.
async fn v2_pair_now(env: &Env, token: Address) -> V2Pool {
    let pair = env
        .world
        .pairs
        .iter()
        .find(|p| p.factory_index == 0 && p.token == token)
        .unwrap()
        .address;
    let r = IUniswapV2Pair::new(pair, &env.deployer)
        .getReserves()
        .call()
        .await
        .unwrap();
    let (token0, token1) = if env.world.weth < token {
        (env.world.weth, token)
    } else {
        (token, env.world.weth)
    };
    V2Pool {
        address: pair,
        token0,
        token1,
        reserve0: U256::from(r.reserve0),
        reserve1: U256::from(r.reserve1),
        factory: FactoryId(0),
    }
}

/// Universal Router 2.0 sub-plans with the allow-revert flag, on the real router: a V3 buy with
/// a V2 fallback (`routers::ur_wrap_v3_else_v2`). Kestrel decodes each sub-plan as a revert
/// span and replays it on a registry read from the chain; whichever sub-plan fails, the
/// replayed pools equal the chain's after the transaction (the failed sub-plan's pool untouched)
/// and the user's output equals the leg that stood, to the wei.
#[tokio::test]
async fn allow_revert_sub_plans_replay_as_the_router_runs_them() {
    let env = setup().await;
    let (weth, t0) = (env.world.weth, env.world.tokens[0]);
    let me = env.user_address;
    let key = env.pools[0];
    let factory = FactoryInfo {
        address: env.world.factories[0],
        router: Address::ZERO,
        init_code_hash: env.world.init_code_hash,
        fee_num: 997,
    };
    // (V3 floor, V2 floor) of each case, and which leg stands: V3, the V2 fallback, neither.
    let huge = U256::MAX;
    for (v3_min, v2_min, stands) in [
        (U256::ZERO, U256::ZERO, Some(0)),
        (huge, U256::ZERO, Some(1)),
        (huge, huge, None),
    ] {
        let pair = v2_pair_now(&env, t0).await;
        let pool = v3::read_pool(&env.deployer, env.v3.multicall, key.address)
            .await
            .unwrap();
        let reg = PoolRegistry::new(
            weth,
            PoolSnapshot::new(1, vec![factory], vec![pair]),
            vec![(V3FactoryId(0), pool.clone())],
        )
        .unwrap();
        let call = routers::ur_wrap_v3_else_v2(
            &env.routers,
            (routers::v3_path(&[weth, t0], &[3000]), vec![weth, t0]),
            me,
            (eth(2), v3_min, v2_min),
            None,
        );
        let decoded = decode_universal(&call.input, call.value, UrVersion::V2).unwrap();
        let spans: Vec<(usize, usize)> = decoded
            .revert_spans()
            .iter()
            .map(|s| (s.first, s.end))
            .collect();
        assert_eq!(spans, [(0, 1), (1, 2)]);
        let env_v = VictimEnv {
            weth,
            now_unix: 0,
            parent_hash: None,
            v2_factory: Some(FactoryId(0)),
            v3_factory: Some(V3FactoryId(0)),
            fee_on_transfer: &[],
        };
        let replay = apply_swaps(&reg, &env_v, &decoded).expect("the transaction succeeds");
        let eth_before = env.user.get_balance(me).await.unwrap();
        let got = send(&env, &call, t0).await;
        let eth_spent = eth_before - env.user.get_balance(me).await.unwrap();

        let amounts: Vec<U256> = replay.legs().iter().map(|l| l.amount_out).collect();
        let expected_out = stands.map_or(U256::ZERO, |i| amounts[i]);
        assert_eq!(got, expected_out, "user output, case {stands:?}");
        for (i, out) in amounts.iter().enumerate() {
            assert_eq!(out.is_zero(), Some(i) != stands, "leg {i}, case {stands:?}");
        }
        // Every pool as the replay left it: moved only by the leg that stood.
        let pair_after = v2_pair_now(&env, t0).await;
        let v2_replayed = replay
            .overlay
            .v2_reserves(&reg, PoolId(0))
            .expect("a V2 state");
        assert_eq!((pair_after.reserve0, pair_after.reserve1), v2_replayed);
        assert_eq!(
            v2_replayed == (pair.reserve0, pair.reserve1),
            stands != Some(1)
        );
        let pool_after = v3::read_pool(&env.deployer, env.v3.multicall, key.address)
            .await
            .unwrap();
        let v3_replayed = replay.overlay.v3_state(&reg, V3Id(0)).expect("a V3 state");
        assert_eq!(V3State::of(&pool_after), v3_replayed);
        assert_eq!(v3_replayed == V3State::of(&pool), stands != Some(0));
        // With neither leg standing the router unwraps the ETH back: the user paid gas only.
        if stands.is_none() {
            assert!(eth_spent < eth(1) / U256::from(100u64), "spent {eth_spent}");
        }
    }
}
