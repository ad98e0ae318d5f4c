//! Integration tests for kestrel-dex: Router02 decode against alloy's `sol!` codec and real
//! mainnet calldata, V2 math against the pair's own invariant check, pool addressing against a
//! real mainnet pair, and backrun sizing against brute-force scans. V3 SwapRouter/SwapRouter02
//! and Universal Router decode against `sol!` and real mainnet traces; V3 math against
//! independent references (512-bit division, exact powers of 1.0001, plain tick-list search),
//! and quotes that allocate nothing (`kestrel_bus::CountingAlloc`). The V3 proof against the
//! real QuoterV2 on anvil is in kestrel-sandbox's tests (`v3_quoter`).

mod backrun;
mod cycle;
mod math;
mod pool;
mod router;
mod router_v3;
mod support;
mod universal;
mod v3_alloc;
mod v3_ladder;
mod v3_math;
mod v3_pool;
mod v3_support;
mod victim;
