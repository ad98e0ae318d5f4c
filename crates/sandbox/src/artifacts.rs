//! Contract build artifacts: the Uniswap V2 bytecode and ABIs from npm (read from
//! `tools/node_modules` at run time) and our own executor (compiled by
//! `scripts/build-contracts.sh`, committed, and embedded in the binary).

use alloy::json_abi::JsonAbi;
use alloy_primitives::{B256, Bytes, keccak256};
use anyhow::{Context, anyhow};
use serde::Deserialize;

use crate::tools;

/// The executor artifact written by `scripts/build-contracts.sh`.
const EXECUTOR_JSON: &str = include_str!("../../../contracts/out/KestrelExecutor.json");

/// The Uniswap V2 artifacts this crate knows, by contract name, with their path under
/// `tools/node_modules`.
const NPM_ARTIFACTS: [(&str, &str); 6] = [
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

/// Loads a Uniswap V2 artifact by name: "UniswapV2Factory", "UniswapV2Pair", "ERC20",
/// "UniswapV2Router02", "WETH9" or "DeflatingERC20". Installs the npm packages if missing.
pub fn load(name: &str) -> anyhow::Result<Artifact> {
    let rel = NPM_ARTIFACTS
        .iter()
        .find(|(known, _)| *known == name)
        .map(|(_, rel)| *rel)
        .ok_or_else(|| anyhow!("unknown artifact {name:?}"))?;
    tools::ensure_installed()?;
    let path = tools::node_modules().join(rel);
    let text =
        std::fs::read_to_string(&path).with_context(|| format!("reading {}", path.display()))?;
    parse(&text).with_context(|| format!("parsing {}", path.display()))
}

/// Our backrun executor, from the committed `contracts/out/KestrelExecutor.json`.
pub fn executor() -> anyhow::Result<Artifact> {
    parse(EXECUTOR_JSON).context("parsing the embedded contracts/out/KestrelExecutor.json")
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
        assert!(load("UniswapV3Factory").is_err());
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
