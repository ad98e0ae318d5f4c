//! Integration tests for kestrel-fire, checked against independent implementations (alloy's
//! decoders and signer, serde_json). `route_tx` also proves the hot-path signer allocates
//! nothing, with the counting allocator installed below.

mod auth;
mod bundle_body;
mod ladder;
mod relay_framing;
mod route_tx;

/// Counts allocations per thread, for the no-allocation tests.
#[global_allocator]
static GLOBAL: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;
