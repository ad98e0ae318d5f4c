//! Integration tests of the whole engine against anvil running the real Uniswap V2 bytecode,
//! with the sandbox's local builder applying bundles to the chain; and the hot path's
//! no-allocation proof (`hot_alloc`, with the counting allocator below).

/// Counts allocations per thread, for `hot_alloc`.
#[global_allocator]
static GLOBAL: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;

mod bench;
mod cli;
mod engine;
mod harness;
mod hot_alloc;
mod hot_route;
mod proxy;
mod sandbox;
