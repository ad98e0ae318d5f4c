//! bybit: being written.
