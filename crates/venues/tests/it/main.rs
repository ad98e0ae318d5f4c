//! kestrel-venues integration tests: one binary for the crate.

mod auth;
mod binance;
mod book;
mod bybit;
mod coinbase;
mod kraken;
mod okx;
mod orders;
