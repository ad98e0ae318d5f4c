//! Integration tests for kestrel-bus: rings, snapshot cells, pinning, waiting and commands,
//! driven through the public API from real threads.
//!
//! The binary's global allocator is the pool allocator around the counting one, so
//! `kestrel_bus::thread_allocations()` counts only what reaches the system allocator; on threads
//! without a pool (every test but `pool`'s) it behaves exactly like `CountingAlloc`.

#[global_allocator]
static ALLOC: kestrel_bus::PoolAlloc<kestrel_bus::CountingAlloc> =
    kestrel_bus::PoolAlloc::new(kestrel_bus::CountingAlloc);

mod command;
mod pin;
mod pool;
mod snapshot;
mod spsc;
mod wait;
