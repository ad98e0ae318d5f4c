//! Integration tests of the whole engine against anvil running the real Uniswap V2 bytecode,
//! with the sandbox's local builder applying bundles to the chain; and the hot path's
//! no-allocation proof (`hot_alloc`, with the counting allocator below).

/// Counts allocations per thread that reach the system allocator, for `hot_alloc`; a thread
/// with a pool (the hot thread) serves what it allocates in a pool scope from the pool, as the
/// `kestrel` binary does.
#[global_allocator]
static GLOBAL: kestrel_bus::PoolAlloc<kestrel_bus::CountingAlloc> =
    kestrel_bus::PoolAlloc::new(kestrel_bus::CountingAlloc);

mod bench;
mod candles;
mod cli;
mod deploy;
mod engine;
mod harness;
mod hot_alloc;
mod hot_confirm;
mod hot_route;
mod pairs;
mod proxy;
mod sandbox;
mod statarb_lane;
mod xarb_run;
