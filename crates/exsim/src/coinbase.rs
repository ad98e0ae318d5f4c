//! coinbase: being written.
