//! Integration tests for kestrel-sim: one binary, one module per area.
mod alloc;
mod anvil;
mod confirm;
mod pending;
mod snapshot;
mod support;
mod world;
