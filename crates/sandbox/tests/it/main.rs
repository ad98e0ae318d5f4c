//! Integration tests for kestrel-sandbox.
mod builder;
mod deploy;
mod executor_v3;
mod routers;
mod v3_chain;
mod v3_quoter;
mod world_v3;
