//! Integration tests for kestrel-dex: Router02 decode against alloy's `sol!` codec and real
//! mainnet calldata, V2 math against the pair's own invariant check, pool addressing against a
//! real mainnet pair, and backrun sizing against brute-force scans.

mod backrun;
mod math;
mod pool;
mod router;
mod support;
