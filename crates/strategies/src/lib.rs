//! kestrel-strategies: the decisions of the slower lanes, as plain functions over plain data.
//!
//! - [`xarb`]: cross-exchange arbitrage. Given two venues' books for one symbol, their taker
//!   fees, symbol rules and the inventory each side can spend, find the size whose profit
//!   survives both fees, the amortized transfer cost and a safety margin, exactly.
//!
//! - [`risk`]: inventory, the kill switch (drawdown, open imbalance, order rate), the unwind
//!   of a leg left without its partner, and paper fills.
//!
//! - [`budget`]: each venue's REST request budget (a token bucket the lane spends from).
//!
//! Nothing here does I/O or reads a clock: the lanes call in with state and act on the answer.

#![forbid(unsafe_code)]

pub mod budget;
pub mod risk;
pub mod statarb;
pub mod xarb;
