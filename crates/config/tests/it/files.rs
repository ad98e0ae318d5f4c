//! The example configs in `configs/` load, and the Sepolia one matches the recorded addresses.

use std::path::PathBuf;

use kestrel_config::{
    ModeSetting, RelayKind, RouterKind, UniversalRouterVersion, V3FactoryConfig, load_file,
};
use kestrel_types::{Address, B256, Bytes, address, keccak256};

fn example(name: &str) -> PathBuf {
    kestrel_stdx::paths::workspace_root()
        .join("configs")
        .join(name)
}

#[test]
fn anvil_local_loads() {
    let cfg = load_file(&example("anvil-local.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.mode, ModeSetting::DryRun);
    assert_eq!(cfg.chain.chain_id.0, 11_155_111);
    assert_eq!(cfg.chain.ws_url.as_deref(), Some("ws://127.0.0.1:8545"));
    assert_eq!(cfg.chain.http_url, "http://127.0.0.1:8545");
    assert_eq!(cfg.relays.len(), 1);
    assert_eq!(cfg.relays[0].kind, RelayKind::Local);
    assert_eq!(cfg.relays[0].url, "http://127.0.0.1:18545");
}

#[test]
fn sepolia_dry_run_loads() {
    let cfg = load_file(&example("sepolia-dry-run.toml")).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(cfg.mode, ModeSetting::DryRun);
    assert_eq!(cfg.chain.chain_id.0, 11_155_111);
    assert_eq!(cfg.relays.len(), 1);
    assert_eq!(cfg.relays[0].name, "flashbots-sepolia");
    assert_eq!(cfg.relays[0].url, "https://relay-sepolia.flashbots.net");
    assert_eq!(cfg.relays[0].kind, RelayKind::Simulation);
}

/// The Sepolia addresses come from @uniswap/sdk-core, recorded in the shared data.
#[test]
fn sepolia_addresses_match_the_recorded_uniswap_list() {
    let Some(path) = kestrel_stdx::testdata::data_file(
        "sepolia_addresses_match_the_recorded_uniswap_list",
        "eth/uniswap-addresses.json",
    ) else {
        return;
    };
    let json: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
    let sepolia = &json["chains"]["11155111"];
    let addr = |key: &str| sepolia[key].as_str().unwrap().parse::<Address>().unwrap();
    // The file annotates the hash after the hex; the hash is its first word.
    let hash_text = json["initCodeHashes"]["uniswapV2Pair"].as_str().unwrap();
    let hash: B256 = hash_text
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();

    let cfg = load_file(&example("sepolia-dry-run.toml")).unwrap();
    let factory = &cfg.dex.v2_factories[0];
    assert_eq!(factory.factory, addr("v2FactoryAddress"));
    assert_eq!(factory.router, addr("v2RouterAddress"));
    assert_eq!(factory.init_code_hash, hash);
    assert_eq!(cfg.backrun.weth, addr("weth9"));

    let v3_hash_text = json["initCodeHashes"]["uniswapV3Pool"].as_str().unwrap();
    let v3_hash: B256 = v3_hash_text
        .split_whitespace()
        .next()
        .unwrap()
        .parse()
        .unwrap();
    let v3 = &cfg.dex.v3_factories[0];
    assert_eq!(v3.factory, addr("v3CoreFactoryAddress"));
    assert_eq!(v3.pool_init_code_hash, v3_hash);
    assert_eq!(v3_hash, V3FactoryConfig::UNISWAP_POOL_INIT_CODE_HASH);
    let swap_router_02 = cfg
        .dex
        .routers
        .iter()
        .find(|r| r.kind == RouterKind::SwapRouter02)
        .unwrap();
    assert_eq!(swap_router_02.address, addr("swapRouter02Address"));
}

/// The Universal Routers are not in the sdk-core list; their addresses come from
/// Uniswap/universal-router `deploy-addresses/sepolia.json`, the same list the dex crate's
/// decoder tests use.
#[test]
fn sepolia_lists_both_universal_router_releases() {
    let cfg = load_file(&example("sepolia-dry-run.toml")).unwrap();
    let universal: Vec<(Address, RouterKind)> = cfg
        .dex
        .routers
        .iter()
        .filter(|r| matches!(r.kind, RouterKind::UniversalRouter(_)))
        .map(|r| (r.address, r.kind))
        .collect();
    assert_eq!(
        universal,
        [
            (
                address!("0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"),
                RouterKind::UniversalRouter(UniversalRouterVersion::V1)
            ),
            (
                address!("0x3a9d48ab9751398bbfa63ad67599bb04e4bdf98b"),
                RouterKind::UniversalRouter(UniversalRouterVersion::V2)
            ),
        ]
    );
}

/// The canonical V3 pool init code hash is keccak256 of the pool's creation bytecode as npm
/// ships it in @uniswap/v3-core, which is what the sandbox's factory deploys; both shipped
/// configs use it.
#[test]
fn the_v3_pool_init_code_hash_is_the_npm_pool_bytecodes() {
    let tools = match std::env::var_os("KESTREL_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => kestrel_stdx::paths::workspace_root().join("tools"),
    };
    let artifact = tools.join(
        "node_modules/@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    );
    let Ok(text) = std::fs::read_to_string(&artifact) else {
        eprintln!(
            "skipping the_v3_pool_init_code_hash_is_the_npm_pool_bytecodes: {} is absent \
             (run scripts/install-tools.sh)",
            artifact.display()
        );
        return;
    };
    let json: serde_json::Value = serde_json::from_str(&text).unwrap();
    let bytecode: Bytes = json["bytecode"].as_str().unwrap().parse().unwrap();
    assert!(bytecode.len() > 1000, "not a creation bytecode");
    let hash = keccak256(&bytecode);
    assert_eq!(hash, V3FactoryConfig::UNISWAP_POOL_INIT_CODE_HASH);
    for name in ["anvil-local.toml", "sepolia-dry-run.toml"] {
        let cfg = load_file(&example(name)).unwrap();
        assert!(!cfg.dex.v3_factories.is_empty(), "{name}");
        for f in &cfg.dex.v3_factories {
            assert_eq!(f.pool_init_code_hash, hash, "{name}: {}", f.name);
        }
    }
}

#[test]
fn an_unreadable_file_is_one_error_at_file() {
    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let errors = load_file(&missing).unwrap_err();
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].path, "<file>");
    assert!(errors.0[0].message.contains("nope.toml"));
}

#[test]
fn load_file_reports_schema_errors_from_disk() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, crate::edit("max_hops = 3", "max_hops = 7")).unwrap();
    let errors = load_file(&path).unwrap_err();
    assert_eq!(
        errors.to_string(),
        "backrun.max_hops: must be in 2..=3, got 7"
    );
}
