#!/usr/bin/env bash
# Dependency rules from DESIGN.md, checked on the resolved graph:
# - the decision crates (wire, dex, sim, strategies, quant) and the hot crates never depend on tokio,
#   directly or transitively;
# - testkit never reaches the binary's normal dependencies.
set -euo pipefail
cd "$(dirname "$0")/.."
fail=0
for crate in kestrel-wire kestrel-dex kestrel-sim kestrel-types kestrel-stdx kestrel-bus kestrel-fire kestrel-hot kestrel-strategies kestrel-quant; do
  if cargo tree -p "$crate" -e normal --prefix none 2>/dev/null | grep -qE '^tokio v'; then
    echo "rule broken: $crate depends on tokio"; fail=1
  else
    echo "ok: $crate does not depend on tokio"
  fi
done
if cargo tree -p kestrel -e normal --prefix none 2>/dev/null | grep -qE '^kestrel-testkit v'; then
  echo "rule broken: the kestrel binary depends on kestrel-testkit"; fail=1
else
  echo "ok: kestrel-testkit is not a normal dependency of the binary"
fi
exit $fail
