//! kestrel-exsim integration tests.

mod binance;
mod bybit;
mod candles;
mod coinbase;
mod engine;
mod kraken;
mod market;
mod okx;
mod paper;
