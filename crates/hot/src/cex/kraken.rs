//! kraken feed: being written.
