//! The sandbox's V3 layer on anvil: every pool sits at its CREATE2 address with four positions
//! (eight initialized ticks), a user-sized trade crosses some of them, two-hop paths quote through
//! the token/token pool, and the routers quote through the V2 factory they were built over.

use alloy_primitives::{Address, U256};
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::deploy::bindings::IUniswapV2Router02;
use kestrel_sandbox::deploy::{self, WorldSpec};
use kestrel_sandbox::routers::v3_path;
use kestrel_sandbox::v3;
use kestrel_sandbox::world_v3::{V3WorldSpec, deploy_v3_world, quote_exact_input};

const ETHER: U256 = U256::from_limbs([1_000_000_000_000_000_000, 0, 0, 0]);

#[tokio::test]
async fn the_v3_layer_has_crossable_pools_and_working_routers() {
    let anvil = Anvil::start().unwrap();
    let url = anvil.http_url();
    let spec = WorldSpec {
        tokens: 2,
        factories: 2,
        liquidity_weth: U256::from(100u64) * ETHER,
        price_skew_bps: 30,
        executor_capital_weth: ETHER,
        searcher: deploy::key_address(&Anvil::dev_key(1)).unwrap(),
        searcher_key: Anvil::dev_key(1),
    };
    let world = deploy::deploy_world(&url, &Anvil::dev_key(0), &spec)
        .await
        .unwrap();
    let v3_spec = V3WorldSpec::sandbox(7);
    let layer = deploy_v3_world(&url, &Anvil::dev_key(0), &world, &v3_spec)
        .await
        .unwrap();
    let provider = deploy::connect(&url, &Anvil::dev_key(0)).unwrap();
    assert_eq!(layer.fee_tiers, vec![500, 3000]);
    assert_eq!(layer.weth_pools.len(), 4);
    assert_eq!(layer.cross_pools.len(), 1);

    for key in layer.weth_pools.iter().chain(&layer.cross_pools) {
        let pool = v3::read_pool(&provider, layer.contracts.multicall, key.address)
            .await
            .unwrap();
        assert_eq!(pool.key(), key);
        assert_eq!(pool.ticks().len(), 8, "four positions in {key:?}");
        assert!(pool.liquidity() > 0);
    }

    let (weth, t0) = (world.weth, world.tokens[0]);
    let key = layer.weth_pool(weth, t0, 3000).unwrap();
    let quote = v3::quote_exact_input_single(
        &provider,
        &layer.contracts,
        key,
        weth == key.token0,
        U256::from(10u64) * ETHER,
        U256::ZERO,
    )
    .await
    .unwrap()
    .unwrap();
    assert!(
        quote.initialized_ticks_crossed >= 2,
        "a 10 ETH trade leaves the narrow position: {quote:?}"
    );
    // 10 ETH buys about 10,000 tokens less the fee and the impact.
    let tokens = quote.amount / ETHER;
    assert!((9_000..10_000).contains(&tokens.to::<u64>()), "{tokens}");

    let (cross, t1) = layer.cross_pool_of(t0).unwrap();
    assert_eq!(cross.fee_pips, 500);
    let path = v3_path(&[weth, t0, t1], &[3000, 500]);
    let two_hop = quote_exact_input(&provider, &layer.contracts, path, ETHER)
        .await
        .unwrap();
    assert!(
        two_hop > U256::from(980u64) * ETHER && two_hop < U256::from(1_000u64) * ETHER,
        "{two_hop}"
    );

    // SwapRouter02's V2 side is factory 0: its quotes are that factory's router's.
    let r0 = IUniswapV2Router02::new(world.routers[layer.v2_factory_index], &provider);
    let v2 = r0
        .getAmountsOut(ETHER, vec![weth, t0])
        .call()
        .await
        .unwrap();
    assert!(v2[1] > U256::ZERO);
    assert_ne!(layer.routers.swap_router02, Address::ZERO);
    assert_ne!(layer.routers.universal_router, Address::ZERO);
}
