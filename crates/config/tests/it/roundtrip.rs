//! `to_toml_string` → `parse_str` gives back an equal config.

use kestrel_config::{
    BackrunConfig, ChainConfig, Config, DexConfig, HotConfig, JournalConfig, ModeSetting,
    RelayConfig, RelayKind, RouterConfig, RouterKind, Secret, SignerConfig, TelemetryConfig,
    UniversalRouterVersion, V2FactoryConfig, V3FactoryConfig, WaitSetting, load_any_file,
    parse_any_str, parse_str, to_toml_string,
};
use kestrel_types::{Address, B256, ChainId, U256};
use proptest::prelude::*;

fn round_trip(cfg: &Config) {
    let text = to_toml_string(cfg);
    let back = parse_str(&text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
    assert_eq!(&back, cfg, "\n---\n{text}");
}

#[test]
fn the_test_config_and_the_examples_round_trip() {
    round_trip(&parse_str(crate::VALID).unwrap());
    let dir = kestrel_stdx::paths::workspace_root().join("configs");
    for name in [
        "anvil-local.toml",
        "sepolia-dry-run.toml",
        "xarb-paper.toml",
        "statarb-paper.toml",
    ] {
        round_trip(&kestrel_config::load_file(&dir.join(name)).unwrap());
    }
}

/// Every shipped config, of either kind (`cex-only-paper.toml` is CEX-only, so it is not in the
/// list above), round-trips through the any-writer.
#[test]
fn every_example_round_trips_through_the_any_writer() {
    let dir = kestrel_stdx::paths::workspace_root().join("configs");
    let mut names: Vec<_> = std::fs::read_dir(&dir)
        .unwrap()
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "toml"))
        .collect();
    names.sort();
    assert!(
        names.iter().any(|p| p.ends_with("cex-only-paper.toml")),
        "{names:?}"
    );
    for path in names {
        let cfg = load_any_file(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let text = cfg.to_toml_string();
        let back = parse_any_str(&text).unwrap_or_else(|e| panic!("{e}\n---\n{text}"));
        assert_eq!(back, cfg, "{}\n---\n{text}", path.display());
    }
}

fn relay(i: usize, kind: RelayKind) -> RelayConfig {
    let url = match kind {
        RelayKind::Local => format!("http://127.0.0.1:{}", 18_000 + i),
        _ => format!("https://relay-{i}.example/path?x=1"),
    };
    RelayConfig {
        name: format!("relay \"{i}\""),
        url,
        kind,
    }
}

prop_compose! {
    fn backrun_config()(
        weth in any::<[u8; 20]>(),
        executor in proptest::option::of(any::<[u8; 20]>()),
        min_profit in any::<[u64; 4]>(),
        gas_estimate in 1u64..=30_000_000,
        route_gas_estimate in 1u64..=30_000_000,
        confirm_routes in any::<bool>(),
        confirm_v2 in any::<bool>(),
        simulate_undecoded in any::<bool>(),
        priority_fee in any::<u128>(),
        builder_payment_bps in 0u16..=9999,
        max_hops in 2u8..=3,
        ladder_levels in 1u8..=64,
        ladder_step_bps in 1u16..=10_000,
        tokens in proptest::collection::vec(any::<[u8; 20]>(), 0..4),
        max_calldata_bytes in 256u32..=131_072,
    ) -> BackrunConfig {
        BackrunConfig {
            weth: Address::from(weth),
            executor: executor.map(Address::from),
            min_profit_wei: U256::from_limbs(min_profit),
            gas_estimate,
            route_gas_estimate,
            confirm_routes,
            confirm_v2,
            simulate_undecoded,
            priority_fee_wei: U256::from(priority_fee),
            builder_payment_bps,
            max_hops,
            ladder_levels,
            ladder_step_bps,
            fee_on_transfer_tokens: tokens.into_iter().map(Address::from).collect(),
            max_calldata_bytes,
        }
    }
}

fn router_kind() -> impl Strategy<Value = RouterKind> {
    use UniversalRouterVersion::{V1, V2, V2_1};
    prop_oneof![
        Just(RouterKind::V2Router02),
        Just(RouterKind::SwapRouter),
        Just(RouterKind::SwapRouter02),
        prop_oneof![Just(V1), Just(V2), Just(V2_1)].prop_map(RouterKind::UniversalRouter),
    ]
}

prop_compose! {
    fn v3_factories()(
        factories in proptest::collection::vec(
            (any::<[u8; 20]>(), proptest::collection::hash_set(0u32..=999_999, 1..=16), any::<[u8; 32]>()),
            0..4,
        ),
    ) -> Vec<V3FactoryConfig> {
        factories.into_iter().enumerate().map(|(i, (f, tiers, h))| V3FactoryConfig {
            // Unique across V2 and V3: the V2 names are `dex.{i}`.
            name: format!("v3 \"{i}\""),
            factory: Address::from(f),
            fee_tiers: tiers.into_iter().collect(),
            pool_init_code_hash: B256::from(h),
        }).collect()
    }
}

prop_compose! {
    fn routers()(
        routers in proptest::collection::vec((any::<[u8; 20]>(), router_kind()), 0..5),
    ) -> Vec<RouterConfig> {
        let mut seen = std::collections::HashSet::new();
        routers.into_iter()
            .filter(|(a, _)| seen.insert(*a))
            .enumerate()
            .map(|(i, (a, kind))| RouterConfig {
                name: format!("router-{i}"),
                address: Address::from(a),
                kind,
                // Named explicitly: the generated configs may have several factories of a kind.
                v2_factory: kind.swaps_v2().then(|| "dex.0".to_owned()),
                v3_factory: None,
            })
            .collect()
    }
}

prop_compose! {
    fn config()(
        chain_id in 1u64..=i64::MAX as u64,
        use_ws in any::<bool>(),
        ipc in proptest::option::of("/[a-z]{1,8}\\.ipc"),
        factories in proptest::collection::vec((any::<[u8; 20]>(), any::<[u8; 20]>(), any::<[u8; 32]>(), 900u16..=1000), 1..4),
        v3_factories in v3_factories(),
        routers in routers(),
        caps in (1u32..=1_000_000, 1u32..=100_000),
        backrun in backrun_config(),
        kinds in proptest::collection::vec(prop_oneof![Just(RelayKind::Execution), Just(RelayKind::Simulation), Just(RelayKind::Local)], 0..4),
        hot in (proptest::option::of(0usize..=4095), prop_oneof![Just(WaitSetting::Spin), Just(WaitSetting::Yield), Just(WaitSetting::Park)], 10u32..=20),
        metrics_port in proptest::option::of(1u16..),
        log in "[a-z_=,]{1,20}",
    ) -> Config {
        // ws_url or ipc_path must be present.
        let ws_url = (use_ws || ipc.is_none()).then(|| "ws://node.example:8546".to_owned());
        let live = backrun.executor.is_some() && kinds.contains(&RelayKind::Execution);
        let v3_name = v3_factories.first().map(|f| f.name.clone());
        // V2 confirmation is only valid where V3 factories bring revm state.
        let backrun = BackrunConfig { confirm_v2: backrun.confirm_v2 && v3_name.is_some(), ..backrun };
        let routers: Vec<RouterConfig> = routers.into_iter().map(|r| RouterConfig {
            v3_factory: v3_name.clone().filter(|_| r.kind.swaps_v3()),
            ..r
        }).collect();
        Config {
            mode: if live { ModeSetting::Live } else { ModeSetting::DryRun },
            chain: ChainConfig { chain_id: ChainId(chain_id), ws_url, http_url: "http://[::1]:8545/".into(), ipc_path: ipc.map(Into::into) },
            dex: DexConfig { v2_factories: factories.into_iter().enumerate().map(|(i, (f, r, h, fee))| V2FactoryConfig {
                name: format!("dex.{i}"), factory: Address::from(f), router: Address::from(r), init_code_hash: B256::from(h), fee_numerator: fee,
            }).collect(), v3_factories, routers, max_pairs_per_factory: caps.0, max_v3_pools_per_factory: caps.1 },
            backrun,
            signer: SignerConfig { key: Secret::env("KESTREL_SEARCHER_KEY").unwrap() },
            relay_auth: SignerConfig { key: Secret::env("KESTREL_RELAY_AUTH_KEY").unwrap() },
            relays: kinds.into_iter().enumerate().map(|(i, k)| relay(i, k)).collect(),
            hot: HotConfig { core: hot.0, wait: hot.1, ring_capacity: 1usize << hot.2 },
            journal: JournalConfig { path: "journal dir/k.sqlite".into() },
            telemetry: TelemetryConfig { metrics_addr: metrics_port.map(|p| ([127, 0, 0, 1], p).into()), log },
            xarb: None,
            statarb: None,
        }
    }
}

proptest! {
    #[test]
    fn generated_configs_round_trip(cfg in config()) {
        let text = to_toml_string(&cfg);
        let back = parse_str(&text);
        prop_assert_eq!(back.as_ref(), Ok(&cfg), "{}", text);
    }

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,200}") {
        let _ = parse_str(&text);
    }
}
