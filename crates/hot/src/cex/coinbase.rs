//! coinbase feed: being written.
