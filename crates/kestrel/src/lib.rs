//! The `kestrel` binary's library half: wiring of the lanes into a running engine, the
//! sandbox orchestration and the hot-path benchmark. `main.rs` is only the CLI on top.
//!
//! Data flow of [`engine::Engine`]: the slow lane (tokio) reads the chain through
//! `kestrel-chain`, builds an immutable [`kestrel_hot::HotState`] per block (pool snapshot,
//! pre-signed ladder, thresholds) and publishes it through a snapshot cell; the pinned hot
//! thread (`kestrel-hot`) reads pending transactions from the node and fires bundles; its
//! events come back over a bounded ring to a drain thread that journals them.

#![forbid(unsafe_code)]

pub mod bench;
pub mod bench_xarb;
pub mod candles;
pub mod cli;
pub mod deploy;
pub mod engine;
pub mod lane_metrics;
pub mod pairs;
pub mod sandbox;
pub mod simprep;
pub mod statarb_lane;
pub mod statarb_run;
pub mod statarb_sim;
pub mod undecoded;
pub mod venue_setup;
pub mod xarb_admin;
pub mod xarb_run;
