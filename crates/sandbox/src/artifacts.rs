//! Contract build artifacts: the Uniswap V2 and V3 bytecode and ABIs from npm (read from
//! `tools/node_modules` at run time) and our own executor (compiled by
//! `scripts/build-contracts.sh`, committed, and embedded in the binary).
//!
//! V2's packages ship Waffle artifacts (`build/Name.json`); V3's ship Hardhat artifacts
//! (`artifacts/contracts/<Source>.sol/Name.json`, 0x-prefixed `bytecode`). Both carry `abi` and
//! `bytecode`, which is all [`load`] reads. SwapRouter02 is not among them: it lives in
//! `@uniswap/swap-router-contracts`, which the tools do not install.

use alloy::json_abi::JsonAbi;
use alloy_primitives::{B256, Bytes, keccak256};
use anyhow::{Context, anyhow};
use serde::Deserialize;

use crate::tools;

/// The executor artifact written by `scripts/build-contracts.sh`.
const EXECUTOR_JSON: &str = include_str!("../../../contracts/out/KestrelExecutor.json");
/// The sandbox's stand-in aggregator, written by `scripts/build-contracts.sh`.
const AGGREGATOR_JSON: &str = include_str!("../../../contracts/out/SandboxAggregator.json");

/// The Uniswap artifacts this crate knows, by contract name, with their path under
/// `tools/node_modules`.
const NPM_ARTIFACTS: [(&str, &str); 14] = [
    (
        "UniswapV2Factory",
        "@uniswap/v2-core/build/UniswapV2Factory.json",
    ),
    ("UniswapV2Pair", "@uniswap/v2-core/build/UniswapV2Pair.json"),
    ("ERC20", "@uniswap/v2-core/build/ERC20.json"),
    (
        "UniswapV2Router02",
        "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    ),
    ("WETH9", "@uniswap/v2-periphery/build/WETH9.json"),
    (
        "DeflatingERC20",
        "@uniswap/v2-periphery/build/DeflatingERC20.json",
    ),
    (
        "UniswapV3Factory",
        "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    ),
    (
        "UniswapV3Pool",
        "@uniswap/v3-core/artifacts/contracts/UniswapV3Pool.sol/UniswapV3Pool.json",
    ),
    (
        "SwapRouter",
        "@uniswap/v3-periphery/artifacts/contracts/SwapRouter.sol/SwapRouter.json",
    ),
    (
        "QuoterV2",
        "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    ),
    (
        "NonfungiblePositionManager",
        "@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json",
    ),
    (
        "SwapRouter02",
        "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
    ),
    (
        "UniversalRouter",
        "@uniswap/universal-router/artifacts/contracts/UniversalRouter.sol/UniversalRouter.json",
    ),
    (
        "UniswapInterfaceMulticall",
        "@uniswap/v3-periphery/artifacts/contracts/lens/UniswapInterfaceMulticall.sol/UniswapInterfaceMulticall.json",
    ),
];

/// A deployable contract: its ABI and creation bytecode (constructor arguments not included).
#[derive(Debug, Clone)]
pub struct Artifact {
    /// The contract's JSON ABI.
    pub abi: JsonAbi,
    /// Creation (init) bytecode; append ABI-encoded constructor arguments to deploy.
    pub bytecode: Bytes,
}

impl Artifact {
    /// keccak256 of the creation bytecode: for UniswapV2Pair, the CREATE2 init-code hash that
    /// factories and routers derive pair addresses from.
    pub fn init_code_hash(&self) -> B256 {
        keccak256(&self.bytecode)
    }
}

/// The on-disk shape shared by the npm artifacts and ours (other keys are ignored).
#[derive(Deserialize)]
struct RawArtifact {
    abi: JsonAbi,
    bytecode: String,
}

/// Loads a Uniswap artifact by name. V2: "UniswapV2Factory", "UniswapV2Pair", "ERC20",
/// "UniswapV2Router02", "WETH9", "DeflatingERC20". V3: "UniswapV3Factory", "UniswapV3Pool",
/// "SwapRouter", "QuoterV2", "NonfungiblePositionManager", "UniswapInterfaceMulticall".
/// Routers: "SwapRouter02" (@uniswap/swap-router-contracts), "UniversalRouter" (2.0.0).
/// Installs the npm packages if missing.
pub fn load(name: &str) -> anyhow::Result<Artifact> {
    let rel = NPM_ARTIFACTS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, rel)| *rel)
        .ok_or_else(|| anyhow!("unknown artifact {name:?}"))?;
    tools::ensure_installed()?;
    let path = tools::node_modules().join(rel);
    // A tools folder installed before the V3 packages were pinned has V2 only: say how to fix.
    let text = std::fs::read_to_string(&path).with_context(|| {
        format!(
            "reading {} (run scripts/install-tools.sh to install missing npm packages)",
            path.display()
        )
    })?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Our backrun executor, from the committed `contracts/out/KestrelExecutor.json`.
pub fn executor() -> anyhow::Result<Artifact> {
    parse(EXECUTOR_JSON).context("parsing the embedded contracts/out/KestrelExecutor.json")
}

/// The sandbox's stand-in aggregator (a router no decoder reads), from the committed
/// `contracts/out/SandboxAggregator.json`.
pub fn aggregator() -> anyhow::Result<Artifact> {
    parse(AGGREGATOR_JSON).context("parsing the embedded contracts/out/SandboxAggregator.json")
}

fn parse(text: &str) -> anyhow::Result<Artifact> {
    let raw: RawArtifact = serde_json::from_str(text)?;
    // npm's Waffle artifacts store bare hex, ours is 0x-prefixed: accept both.
    let hex_code = raw.bytecode.strip_prefix("0x").unwrap_or(&raw.bytecode);
    let bytecode = Bytes::from(hex::decode(hex_code).context("bytecode is not hex")?);
    anyhow::ensure!(
        !bytecode.is_empty(),
        "artifact has no bytecode (an interface?)"
    );
    Ok(Artifact {
        abi: raw.abi,
        bytecode,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn executor_artifact_has_the_backrun_interface() {
        let executor = executor().unwrap();
        for name in [
            "backrun",
            "withdraw",
            "owner",
            "weth",
            "optimalAmountIn",
            "isqrt",
        ] {
            assert!(executor.abi.function(name).is_some(), "missing {name}");
        }
        assert!(executor.abi.event("Backrun").is_some());
        assert!(executor.abi.receive.is_some());
    }

    #[test]
    fn executor_artifact_is_from_the_pinned_compiler_and_self_consistent() {
        let json: serde_json::Value = serde_json::from_str(EXECUTOR_JSON).unwrap();
        assert_eq!(json["solc"], "0.8.37");
        assert_eq!(json["settings"]["evmVersion"], "cancun");
        assert_eq!(json["settings"]["optimizer"]["runs"], 200);
        // The creation code carries the runtime code verbatim (immutables are patched in at
        // deployment, and are zero in both), so a stale half-update of the file shows here.
        let runtime = json["deployedBytecode"]
            .as_str()
            .unwrap()
            .trim_start_matches("0x");
        let creation = json["bytecode"].as_str().unwrap().trim_start_matches("0x");
        assert!(runtime.len() > 1000 && creation.contains(runtime));
    }

    #[test]
    fn unknown_artifact_is_an_error() {
        let err = load("SwapRouter03").unwrap_err().to_string();
        assert!(err.contains("unknown artifact"), "{err}");
    }

    #[test]
    fn router_artifacts_are_deployable_bytecode() {
        // Both packages also ship interface artifacts with empty bytecode: these are the real
        // contracts, with constructors that take the factories and WETH.
        for (name, arg) in [("SwapRouter02", "_WETH9"), ("UniversalRouter", "params")] {
            let a = load(name).unwrap();
            assert!(
                a.bytecode.len() > 10_000,
                "{name}: {} bytes",
                a.bytecode.len()
            );
            let ctor = a.abi.constructor.as_ref().expect("constructor");
            assert!(ctor.inputs.iter().any(|i| i.name == arg), "{name}");
        }
    }

    #[test]
    fn v3_pool_bytecode_matches_the_periphery_init_code_hash() {
        // PoolAddress.POOL_INIT_CODE_HASH, hard-coded in v3-periphery 1.4.4: SwapRouter,
        // QuoterV2 and the position manager find pools (and check callbacks) with it.
        let expected: B256 = "0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54"
            .parse()
            .unwrap();
        assert_eq!(load("UniswapV3Pool").unwrap().init_code_hash(), expected);
        for name in [
            "UniswapV3Factory",
            "SwapRouter",
            "QuoterV2",
            "NonfungiblePositionManager",
            "UniswapInterfaceMulticall",
        ] {
            let artifact = load(name).unwrap();
            assert!(
                !artifact.abi.functions.is_empty(),
                "{name} has no functions"
            );
        }
        let quoter = load("QuoterV2").unwrap();
        assert!(quoter.abi.function("quoteExactInputSingle").is_some());
        assert!(quoter.abi.function("quoteExactOutputSingle").is_some());
    }

    #[test]
    fn parse_accepts_bare_and_prefixed_hex() {
        let bare = parse(r#"{"abi": [], "bytecode": "6080"}"#).unwrap();
        let prefixed = parse(r#"{"abi": [], "bytecode": "0x6080"}"#).unwrap();
        assert_eq!(bare.bytecode, prefixed.bytecode);
        assert_eq!(bare.bytecode.as_ref(), &[0x60, 0x80]);
        assert!(parse(r#"{"abi": [], "bytecode": ""}"#).is_err());
    }
}
