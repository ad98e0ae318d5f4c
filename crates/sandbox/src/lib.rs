//! kestrel-sandbox: the embedded default environment. Starts anvil with the real Uniswap V2
//! bytecode from npm, deploys our executor, runs seeded simulated users, and a local builder that
//! includes bundles in the next block, so the whole engine can be run and checked on one machine.
pub mod anvil;
pub mod artifacts;
pub mod builder;
pub mod deploy;
pub mod routers;
pub mod tools;
pub mod v3;
pub mod world_v3;

pub use anvil::Anvil;
pub use artifacts::Artifact;
pub use deploy::{PairInfo, World, WorldSpec, deploy_world, send_and_mine};
