//! Where the real external components live (anvil, the Uniswap V2 build artifacts, solc-js) and
//! the one-time npm install that puts them there.

use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::sync::Mutex;

use anyhow::{Context, bail};

/// Files whose presence means `tools/node_modules` is usable, relative to `node_modules`.
const REQUIRED: [&str; 7] = [
    "@foundry-rs/anvil-linux-amd64/bin/anvil",
    "@uniswap/v2-core/build/UniswapV2Factory.json",
    "@uniswap/v2-periphery/build/UniswapV2Router02.json",
    "@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json",
    "@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json",
    "@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json",
    "@uniswap/universal-router/artifacts/contracts/UniversalRouter.sol/UniversalRouter.json",
];

/// Serialises installs within one process: parallel tests must not run npm side by side.
static INSTALL_LOCK: Mutex<()> = Mutex::new(());

/// The tools folder: `$KESTREL_TOOLS_DIR`, or `tools/` at the workspace root.
pub fn tools_dir() -> PathBuf {
    match std::env::var_os("KESTREL_TOOLS_DIR") {
        Some(dir) if !dir.is_empty() => PathBuf::from(dir),
        _ => kestrel_stdx::paths::workspace_root().join("tools"),
    }
}

/// `tools/node_modules`, where npm puts the packages pinned by `tools/package.json`.
pub fn node_modules() -> PathBuf {
    tools_dir().join("node_modules")
}

/// The anvil binary shipped in `@foundry-rs/anvil-linux-amd64`.
pub fn anvil_bin() -> PathBuf {
    node_modules().join(REQUIRED[0])
}

/// Whether anvil and the Uniswap artifacts are already installed.
pub fn is_installed() -> bool {
    let nm = node_modules();
    REQUIRED.iter().all(|rel| nm.join(rel).is_file())
}

/// Installs anvil and the Uniswap artifacts with `npm install --ignore-scripts` in the tools
/// folder when they are missing; a no-op when they are present.
///
/// Serialised across processes (test binaries run in parallel) with a lock file in the tools
/// folder, taken before the check: a process that saw the files while another was still
/// writing them could start a half-written anvil ("Text file busy").
pub fn ensure_installed() -> anyhow::Result<()> {
    // A poisoned lock only means another install panicked; the file check below still decides.
    let _guard = INSTALL_LOCK
        .lock()
        .unwrap_or_else(|poisoned| poisoned.into_inner());
    let dir = tools_dir();
    let lock = match std::fs::File::options()
        .create(true)
        .truncate(false)
        .write(true)
        .open(dir.join(".install.lock"))
    {
        Ok(lock) => lock,
        // A read-only tools folder that is complete needs no lock.
        Err(_) if is_installed() => return Ok(()),
        Err(e) => {
            return Err(e)
                .with_context(|| format!("opening the install lock in {}", dir.display()));
        }
    };
    lock.lock()
        .with_context(|| format!("locking {}", dir.join(".install.lock").display()))?;
    if is_installed() {
        return Ok(());
    }
    if !dir.join("package.json").is_file() {
        bail!(
            "no package.json in {}: cannot install anvil and the Uniswap artifacts",
            dir.display()
        );
    }
    let npm_found = Command::new("npm")
        .arg("--version")
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .status()
        .is_ok_and(|status| status.success());
    if !npm_found {
        bail!(
            "npm not found: install Node.js (with npm) so anvil and the Uniswap artifacts can be fetched"
        );
    }
    eprintln!("installing anvil and Uniswap artifacts from npm into tools/ (one time)…");
    let status = Command::new("npm")
        .args(["install", "--ignore-scripts", "--no-audit", "--no-fund"])
        .current_dir(&dir)
        // npm's progress goes to stderr so stdout stays clean for callers that print reports.
        .stdout(Stdio::from(std::io::stderr()))
        .stderr(Stdio::inherit())
        .status()
        .with_context(|| format!("running npm install in {}", dir.display()))?;
    if !status.success() {
        bail!("npm install in {} failed ({status})", dir.display());
    }
    if !is_installed() {
        bail!(
            "npm install in {} finished but anvil or the Uniswap artifacts are still missing",
            dir.display()
        );
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn default_tools_dir_is_the_workspace_tools_folder() {
        if std::env::var_os("KESTREL_TOOLS_DIR").is_some() {
            return;
        }
        // The workspace's tools/package.json is committed, so it must be found from here.
        assert!(
            tools_dir().join("package.json").is_file(),
            "{}",
            tools_dir().display()
        );
    }
}
