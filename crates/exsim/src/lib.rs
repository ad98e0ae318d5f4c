//! kestrel-exsim: simulated exchanges that speak each venue's real wire formats.
//!
//! - [`engine`]: one venue's matching state: symbols and their rules, its own order book per
//!   symbol, accounts with balances and fee rates; IOC and limit orders filled by walking the
//!   book, with fees, exactly; candle histories the fronts serve from each venue's candle
//!   endpoint.
//! - [`market`]: correlated price paths across venues, with dislocations on command, turned
//!   into book levels.
//! - [`server`]: one loopback port per venue serving its REST and WebSocket APIs through a
//!   [`server::Front`] (one module per venue: [`binance`], [`kraken`], [`okx`], [`bybit`],
//!   [`coinbase`]), with faults on command (gaps, bad checksums, drops, stalls, rejects).
//!
//! The sandbox runs these in the binary (`kestrel sandbox`); tests reach them through
//! `kestrel-testkit`.

#![forbid(unsafe_code)]

pub mod binance;
pub mod bybit;
mod candles;
pub mod coinbase;
pub mod engine;
pub mod http;
pub mod kraken;
pub mod market;
pub mod okx;
pub mod preset;
pub mod replay;
pub mod server;
