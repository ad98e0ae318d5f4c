#!/usr/bin/env bash
# The whole gate, as CI runs it: tools, formatting, lints, dependency rules, every test.
# Usage: bash scripts/test.sh
set -euo pipefail
cd "$(dirname "$0")/.."
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/kestrel-target}"
export CARGO_TERM_COLOR="${CARGO_TERM_COLOR:-never}"
# The statistics tests compare against statsmodels in tools/py (installed below): here a missing
# interpreter fails them instead of skipping.
export KESTREL_REQUIRE_PY=1

step() { printf '\n== %s\n' "$*"; }

step "tools: anvil and Uniswap artifacts from npm, statsmodels from PyPI (tools/)"
bash scripts/install-tools.sh

step "cargo fmt --check"
cargo fmt --all --check

step "cargo clippy -D warnings"
cargo clippy --profile ci --workspace --all-targets --exclude kestrel-benches -- -D warnings

step "benches compile and lint (built, not run: figures come from cargo bench and kestrel bench)"
cargo clippy --profile ci -p kestrel-benches --benches -- -D warnings

step "dependency rules"
bash scripts/check-deps.sh

step "tests"
if command -v cargo-nextest >/dev/null 2>&1; then
  cargo nextest run --profile ci --cargo-profile ci --workspace --exclude kestrel-benches --no-tests fail
else
  echo "cargo-nextest not found: falling back to cargo test"
  cargo test --profile ci --workspace --exclude kestrel-benches
fi
