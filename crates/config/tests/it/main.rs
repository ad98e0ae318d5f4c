//! Integration tests for kestrel-config: the public API driven with whole TOML documents.

mod cex_only;
mod files;
mod roundtrip;
mod secrets;
mod statarb;
mod validation;
mod xarb;

/// A complete, valid config that tests edit one key at a time.
pub(crate) const VALID: &str = r#"
mode = "dry-run"

[chain]
chain_id = 11155111
ws_url = "ws://127.0.0.1:8545"
http_url = "http://127.0.0.1:8545"

[[dex.v2_factories]]
name = "uniswap"
factory = "0xF62c03E08ada871A0bEb309762E260a7a6a880E6"
router = "0xeE567Fe1712Faf6149d80dA1E6934E354124CfE3"
init_code_hash = "0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f"
fee_numerator = 997

[[dex.v2_factories]]
name = "sushi"
factory = "0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f"
router = "0x7a250d5630B4cF539739dF2C5dAcb4c659F2488D"
init_code_hash = "0xe18a34eb0e04b04f7a0ac29a6e80748dca96319b42c54d679cb821dca90c6303"
fee_numerator = 997

[[dex.v3_factories]]
name = "uniswap-v3"
factory = "0x0227628f3F023bb0B980b67D528571c95c6DaC1c"
fee_tiers = [100, 500, 3000, 10000]
pool_init_code_hash = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"

[[dex.routers]]
name = "swap-router-02"
address = "0x3bFA4769FB09eefC5a80d6E87c3B9C650f7Ae48E"
kind = "swap_router02"
v2_factory = "uniswap"

[[dex.routers]]
name = "universal-router"
address = "0x3fC91A3afd70395Cd496C647d5a6CC9D4B2b7FAD"
kind = "universal_router"
version = "v1"
v2_factory = "uniswap"

[backrun]
weth = "0xfFf9976782d46CC05630D1f6eBAb18b2324d6B14"
min_profit_wei = "1000000000000000"
gas_estimate = 150000
priority_fee_wei = "1000000000"
builder_payment_bps = 1000
max_hops = 3
ladder_levels = 32
ladder_step_bps = 1250
fee_on_transfer_tokens = []
max_calldata_bytes = 4096

[signer]
key = "env:KESTREL_SEARCHER_KEY"

[relay_auth]
key = "env:KESTREL_RELAY_AUTH_KEY"

[[relays]]
name = "flashbots-sepolia"
url = "https://relay-sepolia.flashbots.net"
kind = "simulation"

[[relays]]
name = "fake"
url = "http://127.0.0.1:18545"
kind = "local"

[hot]
wait = "park"
ring_capacity = 65536

[journal]
path = "kestrel.sqlite"

[telemetry]
metrics_addr = "127.0.0.1:9464"
log = "info"
"#;

/// `VALID` with `old` (which must occur exactly once) replaced by `new`.
pub(crate) fn edit(old: &str, new: &str) -> String {
    assert_eq!(
        VALID.matches(old).count(),
        1,
        "test bug: {old:?} must occur once in VALID"
    );
    VALID.replace(old, new)
}

/// The `(path, message)` of every error, or a panic if the text is valid.
pub(crate) fn errors_of(text: &str) -> Vec<(String, String)> {
    match kestrel_config::parse_str(text) {
        Ok(_) => panic!("expected errors, config was accepted:\n{text}"),
        Err(errors) => errors.0.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}
