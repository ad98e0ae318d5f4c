//! Integration tests for kestrel-chain.
