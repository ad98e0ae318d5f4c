//! The example configs in `configs/` load, and the Sepolia one matches the recorded addresses.

use std::path::{Path, PathBuf};

use kestrel_config::{ModeSetting, RelayKind, load_file};
use kestrel_types::{Address, B256};

fn example(name: &str) -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../../configs")
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
