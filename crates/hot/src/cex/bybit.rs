//! bybit feed: being written.
