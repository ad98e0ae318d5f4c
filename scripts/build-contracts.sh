#!/usr/bin/env bash
# Compiles Kestrel's own Solidity with solc-js from tools/node_modules and writes the artifacts
# that are committed next to the sources (contracts/out/*.json), so CI never needs solc.
# Re-runnable; the output depends only on the sources and the pinned solc, so it is deterministic.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
tools="${KESTREL_TOOLS_DIR:-$root/tools}"

if [ ! -f "$tools/node_modules/solc/package.json" ]; then
  "$root/scripts/install-tools.sh"
fi

mkdir -p "$root/contracts/out"
cd "$root/contracts"
NODE_PATH="$tools/node_modules" node - <<'JS'
const fs = require("fs");
const solc = require("solc");

const contracts = ["KestrelExecutor", "SandboxAggregator"];
const settings = {
  optimizer: { enabled: true, runs: 200 },
  evmVersion: "cancun",
  outputSelection: { "*": { "*": ["abi", "evm.bytecode.object", "evm.deployedBytecode.object"] } },
};
// Source keys are paths relative to contracts/, so the embedded metadata hash does not depend
// on where the checkout lives.
const sources = {};
for (const name of contracts) {
  const path = `src/${name}.sol`;
  sources[path] = { content: fs.readFileSync(path, "utf8") };
}
const output = JSON.parse(solc.compile(JSON.stringify({ language: "Solidity", sources, settings })));
const problems = (output.errors || []).filter((e) => e.severity === "error");
for (const e of output.errors || []) console.error(e.formattedMessage);
if (problems.length > 0) process.exit(1);

const version = solc.version().split("+")[0];
for (const name of contracts) {
  const c = output.contracts[`src/${name}.sol`][name];
  const artifact = {
    abi: c.abi,
    bytecode: "0x" + c.evm.bytecode.object,
    deployedBytecode: "0x" + c.evm.deployedBytecode.object,
    solc: version,
    settings,
  };
  fs.writeFileSync(`out/${name}.json`, JSON.stringify(artifact, null, 2) + "\n");
  console.error(`wrote contracts/out/${name}.json (solc ${version})`);
}
JS
