//! Integration tests for kestrel-wire.
//!
//! Expected values come from recorded real data (a Sepolia block, a mainnet mempool tx) and
//! from an independent implementation (alloy-consensus encoders, decoders and signer recovery).

mod malformed;
mod mempool;
mod props;
mod sepolia_block;
mod support;
