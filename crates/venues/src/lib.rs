//! kestrel-venues: the five centralized exchanges Kestrel trades on (Binance spot, Coinbase
//! Advanced Trade, Kraken WS v2, OKX v5, Bybit v5).
//!
//! - [`auth`]: each venue's request signing, exactly as its documentation specifies, with the
//!   matching verification the fake exchanges use.
//! - [`book`]: the one normalized order book, with exact fixed-point prices and sizes, and the
//!   VWAP walk the arbitrage lane sizes with.
//! - [`orders`]: each venue's order, cancel, query, balance, fee-rate and symbol-rule requests
//!   written as complete signed HTTP/1.1 requests into a reused buffer, and their answers parsed
//!   into exact reports, with every error classified (retry, unknown outcome, rejected, auth).
//! - [`sync`]: each venue's book integrity rules (update ids, sequence numbers, checksums) over
//!   the frames `kestrel_wire::cex` decodes.

#![forbid(unsafe_code)]

pub mod auth;
pub mod book;
pub mod orders;
pub mod sync;
