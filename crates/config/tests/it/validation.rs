//! Each kind of violation is reported at the right key path, and all of them together.

use kestrel_config::{ModeSetting, RelayKind, WaitSetting, parse_str};
use kestrel_types::{U256, address};

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
        "ws:// or wss://",
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
    let b = &cfg.backrun;
    assert_eq!(
        (b.gas_estimate, b.builder_payment_bps, b.max_hops),
        (150_000, 1000, 3)
    );
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
