//! kraken: being written.
