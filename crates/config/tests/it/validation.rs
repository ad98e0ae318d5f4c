//! Each kind of violation is reported at the right key path, and all of them together.

use kestrel_config::{
    ModeSetting, RelayKind, RouterKind, UniversalRouterVersion, V3FactoryConfig, WaitSetting,
    parse_str,
};
use kestrel_types::{Address, U256, address, b256};

use crate::{VALID, edit, errors_of};

/// (old text, new text, expected path, a fragment the message must contain)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "mode = \"dry-run\"",
        "mode = \"paper\"",
        "mode",
        "expected one of \"dry-run\", \"live\"",
    ),
    (
        "chain_id = 11155111",
        "chain_id = 0",
        "chain.chain_id",
        "must be >= 1, got 0",
    ),
    (
        "chain_id = 11155111",
        "chain_id = \"1\"",
        "chain.chain_id",
        "expected an integer, got string",
    ),
    (
        "ws_url = \"ws://127.0.0.1:8545\"",
        "ws_url = \"http://x\"",
        "chain.ws_url",
        "expected a ws:// URL",
    ),
    (
        "ws_url = \"ws://127.0.0.1:8545\"",
        "",
        "chain.ws_url",
        "missing required key (or set ipc_path",
    ),
    (
        "http_url = \"http://127.0.0.1:8545\"",
        "",
        "chain.http_url",
        "missing required key",
    ),
    (
        "http_url = \"http://127.0.0.1:8545\"",
        "http_url = \"http://h:0\"",
        "chain.http_url",
        "port",
    ),
    (
        "ws_url = \"ws",
        "ipc_path = \"\"\nws_url = \"ws",
        "chain.ipc_path",
        "must not be empty",
    ),
    (
        "factory = \"0xF62c03E08ada871A0bEb309762E260a7a6a880E6\"",
        "factory = \"0xF62c03E08ada871A0bEb309762E260a7a6a880\"",
        "dex.v2_factories[0].factory",
        "20-byte hex address",
    ),
    (
        "router = \"0xeE567Fe1712Faf6149d80dA1E6934E354124CfE3\"",
        "router = \"0xEE567Fe1712Faf6149d80dA1E6934E354124CfE3\"",
        "dex.v2_factories[0].router",
        "checksum",
    ),
    (
        "init_code_hash = \"0xe18a34eb0e04b04f7a0ac29a6e80748dca96319b42c54d679cb821dca90c6303\"",
        "init_code_hash = \"0xe18a34\"",
        "dex.v2_factories[1].init_code_hash",
        "32-byte hex hash",
    ),
    (
        "name = \"sushi\"",
        "name = \"uniswap\"",
        "dex.v2_factories[1].name",
        "duplicate name",
    ),
    (
        "name = \"sushi\"",
        "name = \"  \"",
        "dex.v2_factories[1].name",
        "must not be empty",
    ),
    (
        "name = \"sushi\"",
        "name = \"sushi\"\nfee = 3",
        "dex.v2_factories[1].fee",
        "unknown key",
    ),
    (
        "name = \"uniswap-v3\"",
        "",
        "dex.v3_factories[0].name",
        "missing required key",
    ),
    (
        "name = \"uniswap-v3\"",
        "name = \"sushi\"",
        "dex.v3_factories[0].name",
        "duplicate name \"sushi\" (first at dex.v2_factories[1].name)",
    ),
    (
        "factory = \"0x0227628f3F023bb0B980b67D528571c95c6DaC1c\"",
        "factory = \"0x0227628f3F023bb0B980b67D528571c95c6DaC1C\"",
        "dex.v3_factories[0].factory",
        "checksum",
    ),
    (
        "factory = \"0x0227628f3F023bb0B980b67D528571c95c6DaC1c\"",
        "",
        "dex.v3_factories[0].factory",
        "missing required key",
    ),
    (
        "pool_init_code_hash = \"0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54\"",
        "",
        "dex.v3_factories[0].pool_init_code_hash",
        "missing required key",
    ),
    (
        "pool_init_code_hash = \"0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54\"",
        "pool_init_code_hash = \"e34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54\"",
        "dex.v3_factories[0].pool_init_code_hash",
        "32-byte hex hash",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = []",
        "dex.v3_factories[0].fee_tiers",
        "needs 1..=16 fee tiers, got 0",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17]",
        "dex.v3_factories[0].fee_tiers",
        "needs 1..=16 fee tiers, got 17",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [500, 3000, 500]",
        "dex.v3_factories[0].fee_tiers[2]",
        "duplicate fee tier 500 (first at dex.v3_factories[0].fee_tiers[0])",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [100, 1000000]",
        "dex.v3_factories[0].fee_tiers[1]",
        "must be in 0..=999999, got 1000000",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [-1]",
        "dex.v3_factories[0].fee_tiers[0]",
        "must be in 0..=999999, got -1",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [500, \"3000\"]",
        "dex.v3_factories[0].fee_tiers[1]",
        "expected an integer, got string",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = 3000",
        "dex.v3_factories[0].fee_tiers",
        "expected an array, got integer",
    ),
    (
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [100, 500, 3000, 10000]\nrouter = \"0x3bFA4769FB09eefC5a80d6E87c3B9C650f7Ae48E\"",
        "dex.v3_factories[0].router",
        "unknown key",
    ),
    (
        "name = \"swap-router-02\"",
        "",
        "dex.routers[0].name",
        "missing required key",
    ),
    (
        "name = \"universal-router\"",
        "name = \"swap-router-02\"",
        "dex.routers[1].name",
        "duplicate name \"swap-router-02\" (first at dex.routers[0].name)",
    ),
    (
        "address = \"0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD\"",
        "address = \"0x3bfa4769fb09eefc5a80d6e87c3b9c650f7ae48e\"",
        "dex.routers[1].address",
        "duplicate address 0x3bFA4769FB09eefC5a80d6E87c3B9C650f7Ae48E (first at dex.routers[0].address)",
    ),
    (
        "address = \"0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD\"",
        "address = \"0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAd\"",
        "dex.routers[1].address",
        "checksum",
    ),
    (
        "address = \"0x3bFA4769FB09eefC5a80d6E87c3B9C650f7Ae48E\"",
        "",
        "dex.routers[0].address",
        "missing required key",
    ),
    (
        "kind = \"swap_router02\"",
        "kind = \"swap_router03\"",
        "dex.routers[0].kind",
        "expected one of \"v2_router02\", \"swap_router\", \"swap_router02\", \"universal_router\"",
    ),
    (
        "kind = \"swap_router02\"",
        "",
        "dex.routers[0].kind",
        "missing required key",
    ),
    (
        "kind = \"swap_router02\"",
        "kind = \"swap_router02\"\nversion = \"v2\"",
        "dex.routers[0].version",
        "only a \"universal_router\" has a version, not a \"swap_router02\"",
    ),
    (
        "kind = \"swap_router02\"\nv2_factory = \"uniswap\"",
        "kind = \"swap_router02\"",
        "dex.routers[0].v2_factory",
        "missing required key: 2 [[dex.v2_factories]] are configured",
    ),
    (
        "kind = \"swap_router02\"\nv2_factory = \"uniswap\"",
        "kind = \"swap_router02\"\nv2_factory = \"pancake\"",
        "dex.routers[0].v2_factory",
        "no [[dex.v2_factories]] is named \"pancake\"",
    ),
    (
        "kind = \"swap_router02\"",
        "kind = \"swap_router\"",
        "dex.routers[0].v2_factory",
        "a \"swap_router\" does not swap through [[dex.v2_factories]] pools",
    ),
    (
        "kind = \"swap_router02\"",
        "kind = \"v2_router02\"\nv3_factory = \"uniswap-v3\"",
        "dex.routers[0].v3_factory",
        "a \"v2_router02\" does not swap through [[dex.v3_factories]] pools",
    ),
    (
        "kind = \"swap_router02\"",
        "kind = \"swap_router02\"\nv3_factory = \"uniswap\"",
        "dex.routers[0].v3_factory",
        "no [[dex.v3_factories]] is named \"uniswap\"",
    ),
    (
        "version = \"v1\"",
        "",
        "dex.routers[1].version",
        "missing required key: a \"universal_router\" needs its version",
    ),
    (
        "version = \"v1\"",
        "version = \"v3\"",
        "dex.routers[1].version",
        "expected one of \"v1\", \"v2\", \"v2.1\", got \"v3\"",
    ),
    (
        "version = \"v1\"",
        "version = 1",
        "dex.routers[1].version",
        "expected a string, got integer",
    ),
    // A bad kind is the one error: its version is neither required nor refused.
    (
        "kind = \"universal_router\"",
        "kind = \"universal\"",
        "dex.routers[1].kind",
        "expected one of",
    ),
    (
        "version = \"v1\"",
        "version = \"v1\"\nfee = 1",
        "dex.routers[1].fee",
        "unknown key",
    ),
    (
        "weth = \"0xfFf9976782d46CC05630D1f6eBAb18b2324d6B14\"",
        "",
        "backrun.weth",
        "missing required key",
    ),
    (
        "min_profit_wei = \"1000000000000000\"",
        "min_profit_wei = \"1e15\"",
        "backrun.min_profit_wei",
        "decimal digits",
    ),
    (
        "min_profit_wei = \"1000000000000000\"",
        "min_profit_wei = \"-1\"",
        "backrun.min_profit_wei",
        "decimal digits",
    ),
    (
        "min_profit_wei = \"1000000000000000\"",
        "min_profit_wei = \"0x10\"",
        "backrun.min_profit_wei",
        "decimal digits",
    ),
    (
        "min_profit_wei = \"1000000000000000\"",
        "min_profit_wei = 0.001",
        "backrun.min_profit_wei",
        "got float",
    ),
    (
        "min_profit_wei = \"1000000000000000\"",
        "min_profit_wei = 1000",
        "backrun.min_profit_wei",
        "got integer",
    ),
    (
        "priority_fee_wei = \"1000000000\"",
        "priority_fee_wei = \"1.5\"",
        "backrun.priority_fee_wei",
        "decimal digits",
    ),
    (
        "gas_estimate = 150000",
        "gas_estimate = 0",
        "backrun.gas_estimate",
        "must be in 1..=30000000, got 0",
    ),
    (
        "gas_estimate = 150000",
        "gas_estimate = 30000001",
        "backrun.gas_estimate",
        "must be in 1..=30000000",
    ),
    (
        "gas_estimate = 150000",
        "gas_estimate = 150000\nroute_gas_estimate = 0",
        "backrun.route_gas_estimate",
        "must be in 1..=30000000",
    ),
    (
        "gas_estimate = 150000",
        "gas_estimate = 150000\nconfirm_routes = \"yes\"",
        "backrun.confirm_routes",
        "expected true or false, got string",
    ),
    (
        "gas_estimate = 150000",
        "gas_estimate = 150000\nconfirm_v2 = \"no\"",
        "backrun.confirm_v2",
        "expected true or false, got string",
    ),
    (
        "gas_estimate = 150000",
        "gas_estimate = 150000\nsimulate_undecoded = 1",
        "backrun.simulate_undecoded",
        "expected true or false, got integer",
    ),
    (
        "builder_payment_bps = 1000",
        "builder_payment_bps = 10000",
        "backrun.builder_payment_bps",
        "0..=9999",
    ),
    (
        "max_hops = 3",
        "max_hops = 4",
        "backrun.max_hops",
        "must be in 2..=3, got 4",
    ),
    (
        "max_hops = 3",
        "max_hops = 1",
        "backrun.max_hops",
        "must be in 2..=3, got 1",
    ),
    (
        "ladder_levels = 32",
        "ladder_levels = 65",
        "backrun.ladder_levels",
        "1..=64",
    ),
    (
        "ladder_step_bps = 1250",
        "ladder_step_bps = 0",
        "backrun.ladder_step_bps",
        "1..=10000",
    ),
    (
        "fee_on_transfer_tokens = []",
        "fee_on_transfer_tokens = [\"0x12\"]",
        "backrun.fee_on_transfer_tokens[0]",
        "address",
    ),
    (
        "fee_on_transfer_tokens = []",
        "fee_on_transfer_tokens = \"0x12\"",
        "backrun.fee_on_transfer_tokens",
        "expected an array",
    ),
    (
        "max_calldata_bytes = 4096",
        "max_calldata_bytes = 255",
        "backrun.max_calldata_bytes",
        "256..=131072",
    ),
    (
        "key = \"env:KESTREL_RELAY_AUTH_KEY\"",
        "key = \"env:lower\"",
        "relay_auth.key",
        "[A-Z_][A-Z0-9_]*",
    ),
    (
        "key = \"env:KESTREL_RELAY_AUTH_KEY\"",
        "key = \"env:KESTREL_SEARCHER_KEY\"",
        "relay_auth.key",
        "different variable",
    ),
    (
        "key = \"env:KESTREL_SEARCHER_KEY\"",
        "key = 5",
        "signer.key",
        "expected a string, got integer",
    ),
    (
        "url = \"https://relay-sepolia.flashbots.net\"",
        "url = \"ftp://x\"",
        "relays[0].url",
        "expected an http:// or https:// URL, got \"ftp://x\"",
    ),
    (
        "kind = \"simulation\"",
        "kind = \"submit\"",
        "relays[0].kind",
        "\"execution\", \"simulation\", \"local\"",
    ),
    (
        "url = \"http://127.0.0.1:18545\"",
        "url = \"http://10.0.0.1:18545\"",
        "relays[1].url",
        "loopback",
    ),
    (
        "name = \"fake\"",
        "name = \"flashbots-sepolia\"",
        "relays[1].name",
        "duplicate name \"flashbots-sepolia\" (first at relays[0].name)",
    ),
    (
        "kind = \"simulation\"",
        "kind = \"simulation\"\nbogus = 1",
        "relays[0].bogus",
        "unknown key",
    ),
    (
        "ring_capacity = 65536",
        "ring_capacity = 65535",
        "hot.ring_capacity",
        "power of two",
    ),
    (
        "ring_capacity = 65536",
        "ring_capacity = 512",
        "hot.ring_capacity",
        "1024..=1048576",
    ),
    (
        "wait = \"park\"",
        "wait = \"sleep\"",
        "hot.wait",
        "\"spin\", \"yield\", \"park\"",
    ),
    (
        "wait = \"park\"",
        "wait = \"park\"\ncore = -1",
        "hot.core",
        "must be in 0..=",
    ),
    (
        "path = \"kestrel.sqlite\"",
        "path = \"\"",
        "journal.path",
        "must not be empty",
    ),
    (
        "metrics_addr = \"127.0.0.1:9464\"",
        "metrics_addr = \"localhost\"",
        "telemetry.metrics_addr",
        "socket address",
    ),
    (
        "log = \"info\"",
        "log = \"\"",
        "telemetry.log",
        "must not be empty",
    ),
    (
        "mode = \"dry-run\"",
        "mode = \"dry-run\"\nextra = true",
        "extra",
        "unknown key",
    ),
    (
        "[chain]",
        "[chain]\n\"odd.key\" = 1",
        "chain.\"odd.key\"",
        "unknown key",
    ),
    (
        "[signer]\nkey = \"env:KESTREL_SEARCHER_KEY\"",
        "",
        "signer",
        "missing required table [signer]",
    ),
    (
        "[[relays]]\nname = \"fake\"\nurl = \"http://127.0.0.1:18545\"\nkind = \"local\"",
        "",
        "relays",
        "expected an array of tables ([[relays]]), got table",
    ),
];

#[test]
fn every_violation_kind_is_reported_at_its_path() {
    for &(old, new, path, fragment) in CASES {
        let mut text = edit(old, new);
        if path == "relays" {
            // Turn the remaining `[[relays]]` into a plain `[relays]` table.
            text = text.replace("[[relays]]", "[relays]");
        }
        let errors = errors_of(&text);
        assert!(
            errors
                .iter()
                .any(|(p, m)| p == path && m.contains(fragment)),
            "{old:?} -> {new:?}: wanted {path}: ...{fragment}..., got {errors:#?}"
        );
        // One edit, one error: nothing is reported twice or as a knock-on effect.
        assert_eq!(errors.len(), 1, "{old:?} -> {new:?}: {errors:#?}");
    }
}

#[test]
fn five_violations_are_all_listed() {
    let text = VALID
        .replace("chain_id = 11155111", "chain_id = 0")
        .replace("ladder_levels = 32", "ladder_levels = 0")
        .replace(
            "url = \"https://relay-sepolia.flashbots.net\"",
            "url = \"ftp://x\"",
        )
        .replace("kind = \"simulation\"", "kind = \"simulation\"\nbogus = 1")
        .replace("key = \"env:KESTREL_SEARCHER_KEY\"", "key = \"0xdeadbeef\"");
    let errors = kestrel_config::parse_str(&text).unwrap_err();
    let mut paths: Vec<&str> = errors.0.iter().map(|e| e.path.as_str()).collect();
    paths.sort_unstable();
    assert_eq!(
        paths,
        [
            "backrun.ladder_levels",
            "chain.chain_id",
            "relays[0].bogus",
            "relays[0].url",
            "signer.key"
        ]
    );
    // Display lists them one per line, each as `path: message`.
    let shown = errors.to_string();
    assert_eq!(shown.lines().count(), 5);
    assert!(
        shown
            .lines()
            .any(|l| l == "relays[0].url: expected an http:// or https:// URL, got \"ftp://x\"")
    );
}

#[test]
fn missing_keys_after_a_missing_key_are_still_reported() {
    // `weth` is read first; the bad keys after it must not be hidden by its absence.
    let text = edit("weth = \"0xfFf9976782d46CC05630D1f6eBAb18b2324d6B14\"", "")
        .replace("max_hops = 3", "max_hops = 9");
    let paths: Vec<String> = errors_of(&text).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["backrun.weth", "backrun.max_hops"]);
}

#[test]
fn valid_config_has_the_written_values_and_defaults() {
    let cfg = parse_str(VALID).unwrap();
    assert_eq!(cfg.mode, ModeSetting::DryRun);
    assert_eq!(cfg.chain.chain_id.0, 11_155_111);
    assert_eq!(cfg.dex.v2_factories.len(), 2);
    assert_eq!(
        cfg.dex.v2_factories[0].factory,
        address!("0xF62c03E08ada871A0bEb309762E260a7a6a880E6")
    );
    assert_eq!(
        cfg.backrun.min_profit_wei,
        U256::from(10u64).pow(U256::from(15u64))
    );
    assert_eq!(cfg.relays[1].kind, RelayKind::Local);
    assert_eq!(cfg.backrun.executor, None);

    // Only the required sections and keys: every default documented on the structs applies.
    let minimal = VALID
        .split("[backrun]")
        .next()
        .unwrap()
        .replace("mode = \"dry-run\"", "")
        + "[backrun]\nweth = \"0xfFf9976782d46CC05630D1f6eBAb18b2324d6B14\"\nmin_profit_wei = \"7\"\n"
        + "[signer]\nkey = \"env:A\"\n[relay_auth]\nkey = \"env:B\"\n";
    let cfg = parse_str(&minimal).unwrap();
    assert_eq!(cfg.mode, ModeSetting::DryRun);
    assert!(cfg.relays.is_empty());
    assert_eq!(
        (
            cfg.dex.max_pairs_per_factory,
            cfg.dex.max_v3_pools_per_factory
        ),
        (5_000, 2_000)
    );
    let b = &cfg.backrun;
    assert_eq!((b.gas_estimate, b.route_gas_estimate), (150_000, 500_000));
    assert!(
        b.confirm_routes,
        "revm confirmation of route backruns is on by default"
    );
    assert!(
        !b.confirm_v2,
        "V2 backruns are not confirmed in revm by default"
    );
    assert!(
        b.simulate_undecoded,
        "undecoded calls are simulated by default"
    );
    assert_eq!((b.builder_payment_bps, b.max_hops), (1000, 3));
    assert_eq!(
        (b.ladder_levels, b.ladder_step_bps, b.max_calldata_bytes),
        (32, 1250, 4096)
    );
    assert_eq!(b.priority_fee_wei, U256::from(1_000_000_000u64));
    assert_eq!(
        (cfg.hot.core, cfg.hot.wait, cfg.hot.ring_capacity),
        (None, WaitSetting::Park, 65_536)
    );
    assert_eq!(cfg.journal.path, std::path::PathBuf::from("kestrel.sqlite"));
    assert_eq!(
        (cfg.telemetry.metrics_addr, cfg.telemetry.log.as_str()),
        (None, "info")
    );
}

#[test]
fn a_section_of_the_wrong_type_is_reported() {
    let text = edit("mode = \"dry-run\"", "journal = 5")
        .replace("[journal]\npath = \"kestrel.sqlite\"", "");
    assert_eq!(
        errors_of(&text),
        [(
            "journal".to_owned(),
            "expected a table, got integer".to_owned()
        )]
    );
}

#[test]
fn ipc_path_can_replace_ws_url() {
    let cfg = parse_str(&edit(
        "ws_url = \"ws://127.0.0.1:8545\"",
        "ipc_path = \"/tmp/geth.ipc\"",
    ))
    .unwrap();
    assert_eq!(cfg.chain.ws_url, None);
    assert_eq!(cfg.chain.ipc_path, Some("/tmp/geth.ipc".into()));
}

#[test]
fn factories_are_required() {
    let start = VALID.find("[[dex.v2_factories]]").unwrap();
    let end = VALID.find("[backrun]").unwrap();
    let empty = format!(
        "{}[dex]\nv2_factories = []\n\n{}",
        &VALID[..start],
        &VALID[end..]
    );
    assert_eq!(
        errors_of(&empty),
        [(
            "dex.v2_factories".to_owned(),
            "needs 1..=256 [[dex.v2_factories]] tables, got 0".to_owned()
        )]
    );
    let absent = format!("{}{}", &VALID[..start], &VALID[end..]);
    assert_eq!(
        errors_of(&absent),
        [("dex".to_owned(), "missing required table [dex]".to_owned())]
    );
}

#[test]
fn live_mode_needs_an_execution_relay_and_an_executor() {
    let live = edit("mode = \"dry-run\"", "mode = \"live\"");
    let errors = errors_of(&live);
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(paths, ["backrun.executor", "relays"], "{errors:#?}");
    assert!(errors[1].1.contains("kind = \"execution\""));

    let with_executor = live.replace(
        "min_profit_wei",
        "executor = \"0x5FbDB2315678afecb367f032d93F642f64180aa3\"\nmin_profit_wei",
    );
    let with_both = with_executor.replace("kind = \"simulation\"", "kind = \"execution\"");
    let cfg = parse_str(&with_both).unwrap();
    assert_eq!(cfg.mode, ModeSetting::Live);
    assert_eq!(
        cfg.backrun.executor,
        Some(address!("0x5FbDB2315678afecb367f032d93F642f64180aa3"))
    );
    // An execution relay with a bad URL still counts as one: only the URL is reported.
    let bad_url = with_both.replace("https://relay-sepolia.flashbots.net", "relay");
    let paths: Vec<String> = errors_of(&bad_url).into_iter().map(|(p, _)| p).collect();
    assert_eq!(paths, ["relays[0].url"]);
}

#[test]
fn dry_run_allows_execution_relays_and_no_executor() {
    let text = edit("kind = \"simulation\"", "kind = \"execution\"");
    assert_eq!(
        parse_str(&text).unwrap().relays[0].kind,
        RelayKind::Execution
    );
}

#[test]
fn local_relays_accept_every_loopback_form() {
    for host in ["localhost", "127.0.0.1", "127.9.9.9", "[::1]"] {
        let text = edit("http://127.0.0.1:18545", &format!("http://{host}:18545"));
        assert!(parse_str(&text).is_ok(), "{host}");
    }
}

#[test]
fn v3_factories_and_routers_are_read() {
    let cfg = parse_str(VALID).unwrap();
    let [v3] = cfg.dex.v3_factories.as_slice() else {
        panic!("one V3 factory expected: {:?}", cfg.dex.v3_factories)
    };
    assert_eq!(v3.name, "uniswap-v3");
    assert_eq!(
        v3.factory,
        address!("0x0227628f3F023bb0B980b67D528571c95c6DaC1c")
    );
    assert_eq!(v3.fee_tiers, [100, 500, 3000, 10_000]);
    assert_eq!(
        v3.pool_init_code_hash,
        b256!("0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54")
    );
    let routers: Vec<(&str, Address, RouterKind)> = cfg
        .dex
        .routers
        .iter()
        .map(|r| (r.name.as_str(), r.address, r.kind))
        .collect();
    assert_eq!(
        routers,
        [
            (
                "swap-router-02",
                address!("0x3bFA4769FB09eefC5a80d6E87c3B9C650f7Ae48E"),
                RouterKind::SwapRouter02
            ),
            (
                "universal-router",
                address!("0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"),
                RouterKind::UniversalRouter(UniversalRouterVersion::V1)
            ),
        ]
    );
}

#[test]
fn every_router_kind_and_version_is_spelled_as_documented() {
    let cases = [
        ("kind = \"v2_router02\"", RouterKind::V2Router02),
        ("kind = \"swap_router\"", RouterKind::SwapRouter),
        ("kind = \"swap_router02\"", RouterKind::SwapRouter02),
        (
            "kind = \"universal_router\"\nversion = \"v1\"",
            RouterKind::UniversalRouter(UniversalRouterVersion::V1),
        ),
        (
            "kind = \"universal_router\"\nversion = \"v2\"",
            RouterKind::UniversalRouter(UniversalRouterVersion::V2),
        ),
        (
            "kind = \"universal_router\"\nversion = \"v2.1\"",
            RouterKind::UniversalRouter(UniversalRouterVersion::V2_1),
        ),
    ];
    for (text, kind) in cases {
        // VALID has two V2 factories: a router that swaps through V2 pairs names its own.
        let text = if kind.swaps_v2() {
            format!("{text}\nv2_factory = \"uniswap\"")
        } else {
            text.to_owned()
        };
        let find = "kind = \"swap_router02\"\nv2_factory = \"uniswap\"";
        let cfg = parse_str(&edit(find, &text)).unwrap();
        assert_eq!(cfg.dex.routers[0].kind, kind, "{text}");
    }
}

#[test]
fn fee_tiers_default_to_uniswaps_four() {
    let cfg = parse_str(&edit("fee_tiers = [100, 500, 3000, 10000]\n", "")).unwrap();
    assert_eq!(
        cfg.dex.v3_factories[0].fee_tiers,
        V3FactoryConfig::DEFAULT_FEE_TIERS
    );
    assert_eq!(V3FactoryConfig::DEFAULT_FEE_TIERS, [100, 500, 3000, 10_000]);
    // Any subset in any order, 0 and the largest fee the factory allows included.
    let cfg = parse_str(&edit(
        "fee_tiers = [100, 500, 3000, 10000]",
        "fee_tiers = [999999, 0, 3000]",
    ))
    .unwrap();
    assert_eq!(cfg.dex.v3_factories[0].fee_tiers, [999_999, 0, 3000]);
}

/// Configs written before V3 (the shipped ones until now, and the sandbox's) have neither
/// `[[dex.v3_factories]]` nor `[[dex.routers]]`: both default to none.
#[test]
fn configs_without_v3_keys_still_parse() {
    let start = VALID.find("[[dex.v3_factories]]").unwrap();
    let end = VALID.find("[backrun]").unwrap();
    let v2_only = format!("{}{}", &VALID[..start], &VALID[end..]);
    assert!(!v2_only.contains("v3_factories") && !v2_only.contains("dex.routers"));
    let cfg = parse_str(&v2_only).unwrap();
    assert_eq!(cfg.dex.v2_factories.len(), 2);
    assert!(cfg.dex.v3_factories.is_empty());
    assert!(cfg.dex.routers.is_empty());
    assert_eq!(
        cfg.dex.v2_factories[0].router,
        address!("0xeE567Fe1712Faf6149d80dA1E6934E354124CfE3")
    );
}

/// `confirm_v2` runs on the revm state that only V3 factories bring: asking for it without
/// one is an error at its key, not a silent no-op.
#[test]
fn confirm_v2_needs_a_v3_factory() {
    let with = VALID.replace(
        "gas_estimate = 150000",
        "gas_estimate = 150000\nconfirm_v2 = true",
    );
    assert_ne!(with, VALID);
    assert!(parse_str(&with).unwrap().backrun.confirm_v2);
    let start = with.find("[[dex.v3_factories]]").unwrap();
    let end = with.find("[backrun]").unwrap();
    let v2_only = format!("{}{}", &with[..start], &with[end..]);
    let err = parse_str(&v2_only).unwrap_err().to_string();
    assert!(
        err.contains("backrun.confirm_v2") && err.contains("[[dex.v3_factories]]"),
        "{err}"
    );
}

#[test]
fn v3_and_router_lists_must_be_arrays_of_tables_within_bounds() {
    let as_table = VALID.replace("[[dex.routers]]", "[dex.routers]");
    // Two `[dex.routers]` headers are a TOML error; keep only the first entry.
    let first_only = {
        let start = as_table
            .find("[dex.routers]\nname = \"universal-router\"")
            .unwrap();
        let end = as_table.find("[backrun]").unwrap();
        format!("{}{}", &as_table[..start], &as_table[end..])
    };
    assert_eq!(
        errors_of(&first_only),
        [(
            "dex.routers".to_owned(),
            "expected an array of tables ([[dex.routers]]), got table".to_owned()
        )]
    );

    let entry = "[[dex.v3_factories]]\nname = \"f{i}\"\nfactory = \"0x0227628f3F023bb0B980b67D528571c95c6DaC1c\"\npool_init_code_hash = \"0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54\"\n";
    let many: String = (0..257)
        .map(|i| entry.replace("{i}", &i.to_string()))
        .collect();
    let at = VALID.find("[backrun]").unwrap();
    let text = format!("{}{many}{}", &VALID[..at], &VALID[at..]);
    assert_eq!(
        errors_of(&text),
        [(
            "dex.v3_factories".to_owned(),
            "at most 256 [[dex.v3_factories]] tables, got 258".to_owned()
        )]
    );
}

#[test]
fn a_router_left_without_factories_takes_the_only_one_of_each_kind() {
    // VALID has two V2 factories (so routers name theirs) and one V3 factory (so they need not).
    let cfg = kestrel_config::parse_str(crate::VALID).unwrap();
    for r in &cfg.dex.routers {
        assert_eq!(r.v2_factory.as_deref(), Some("uniswap"), "{}", r.name);
        assert_eq!(r.v3_factory.as_deref(), Some("uniswap-v3"), "{}", r.name);
    }
}

#[test]
fn discovery_caps_are_read_and_checked_at_their_paths() {
    let with = |pairs: &str, v3: &str| {
        VALID.replacen(
            "[[dex.v2_factories]]",
            &format!(
                "[dex]\nmax_pairs_per_factory = {pairs}\nmax_v3_pools_per_factory = {v3}\n\n[[dex.v2_factories]]"
            ),
            1,
        )
    };
    let cfg = parse_str(&with("250000", "7")).unwrap();
    assert_eq!(
        (
            cfg.dex.max_pairs_per_factory,
            cfg.dex.max_v3_pools_per_factory
        ),
        (250_000, 7)
    );
    let errors = errors_of(&with("0", "100001"));
    assert_eq!(errors.len(), 2, "{errors:?}");
    assert_eq!(errors[0].0, "dex.max_pairs_per_factory");
    assert!(errors[0].1.contains("got 0"), "{errors:?}");
    assert_eq!(errors[1].0, "dex.max_v3_pools_per_factory");
    assert!(errors[1].1.contains("got 100001"), "{errors:?}");
}
