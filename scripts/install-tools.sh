#!/usr/bin/env bash
# Installs the real components Kestrel's tests and sandbox run against (anvil, the Uniswap V2
# and V3 artifacts, SwapRouter02, the Universal Router, solc-js) from npm into tools/node_modules, as pinned by tools/package.json.
# Skips the install when everything is already there; npm's install scripts are never run.
# Also the Python references for the statistics tests (statsmodels, pinned in tools/requirements.txt)
# in a virtual environment at tools/py.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${KESTREL_TOOLS_DIR:-$root/tools}"
nm="$tools/node_modules"

if [ -x "$nm/@foundry-rs/anvil-linux-amd64/bin/anvil" ] \
  && [ -f "$nm/@uniswap/v2-core/build/UniswapV2Factory.json" ] \
  && [ -f "$nm/@uniswap/v2-periphery/build/UniswapV2Router02.json" ] \
  && [ -f "$nm/@uniswap/v3-core/artifacts/contracts/UniswapV3Factory.sol/UniswapV3Factory.json" ] \
  && [ -f "$nm/@uniswap/v3-periphery/artifacts/contracts/lens/QuoterV2.sol/QuoterV2.json" ] \
  && [ -f "$nm/@uniswap/v3-periphery/artifacts/contracts/NonfungiblePositionManager.sol/NonfungiblePositionManager.json" ] \
  && [ -f "$nm/@uniswap/swap-router-contracts/artifacts/contracts/SwapRouter02.sol/SwapRouter02.json" ] \
  && [ -f "$nm/@uniswap/universal-router/artifacts/contracts/UniversalRouter.sol/UniversalRouter.json" ] \
  && [ -f "$nm/solc/package.json" ]; then
  :
else
if ! command -v npm >/dev/null 2>&1; then
  echo "error: npm not found; install Node.js (with npm) to fetch anvil and the Uniswap artifacts" >&2
  exit 1
fi

echo "installing anvil and Uniswap artifacts from npm into tools/ (one time)…" >&2
(cd "$tools" && npm install --ignore-scripts --no-audit --no-fund >&2)
fi

# Python references for the statistics tests (statsmodels from PyPI, pinned) in tools/py.
py="$tools/py"
if ! "$py/bin/python" -c 'import statsmodels' >/dev/null 2>&1; then
  if ! command -v python3 >/dev/null 2>&1; then
    echo "error: python3 not found; it is needed for the statsmodels reference in the quant tests" >&2
    exit 1
  fi
  echo "installing the statsmodels reference into tools/py (one time)…" >&2
  python3 -m venv "$py" >&2
  "$py/bin/pip" install --quiet --disable-pip-version-check -r "$tools/requirements.txt" >&2
fi
