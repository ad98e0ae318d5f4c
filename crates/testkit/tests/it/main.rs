//! Integration tests for kestrel-testkit: `kestrel_fire::RelayConn` against the fake relay, over
//! plain http and over TLS (`tls_relay`, which also proves the TLS write path allocates nothing
//! with the counting allocator installed below).

mod relay;
mod tls_relay;

/// Counts allocations per thread, for the no-allocation test.
#[global_allocator]
static GLOBAL: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;
