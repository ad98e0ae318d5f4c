//! Integration tests of the whole engine against anvil running the real Uniswap V2 bytecode,
//! with the sandbox's local builder applying bundles to the chain.

mod bench;
mod cli;
mod engine;
mod harness;
mod proxy;
mod sandbox;
