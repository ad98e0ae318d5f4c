//! The decision: a typed pending transaction and the current state in, a plan or a skip out.

use std::sync::Arc;

use kestrel_dex::backrun::{BackrunParams, BackrunPlan, apply_victim, find_backrun};
use kestrel_dex::pool::PoolSnapshot;
use kestrel_dex::router::decode_router02;
use kestrel_fire::ladder::{Ladder, SignedTx};
use kestrel_types::{Address, SkipReason, U256};

/// Everything the hot lane decides on, published whole by the slow lane once per block.
#[derive(Debug)]
pub struct HotState {
    /// Head block the snapshot reflects; bundles target `block + 1`.
    pub block: u64,
    /// Head block timestamp; a victim whose deadline is before `timestamp + 1` would revert.
    pub timestamp: u64,
    /// Pools with exact reserves at `block`.
    pub snapshot: Arc<PoolSnapshot>,
    /// Pre-signed backruns for block `block + 1` (None until signed).
    pub ladder: Option<Arc<Ladder>>,
    /// Sizing and profit thresholds for this block (capital, gas cost, minimum profit).
    pub params: BackrunParams,
    /// The wrapped native token (router ETH variants use it).
    pub weth: Address,
    /// Tokens whose transfers take a fee: exact math cannot predict them.
    pub fee_on_transfer: Vec<Address>,
}

/// What to fire.
#[derive(Debug)]
pub struct Decision<'s> {
    /// The sized cycle.
    pub plan: BackrunPlan,
    /// The pre-signed backrun picked from the ladder.
    pub backrun: &'s SignedTx,
    /// The minimum profit that backrun enforces on chain.
    pub floor: U256,
}

/// Decide on one victim: `to` and `calldata` of the pending tx, its `value`.
///
/// Pure function over plain data: no I/O, no allocation.
pub fn decide<'s>(
    state: &'s HotState,
    to: Option<Address>,
    value: U256,
    calldata: &[u8],
) -> Result<Decision<'s>, (SkipReason, Option<BackrunPlan>)> {
    let snap = &*state.snapshot;
    let to = to.ok_or((SkipReason::NotRouter, None))?;
    let factory = snap
        .factory_of_router(to)
        .ok_or((SkipReason::NotRouter, None))?;
    let intent = decode_router02(calldata, value).map_err(|r| (r, None))?;
    let overlay = apply_victim(
        snap,
        factory,
        state.weth,
        &intent,
        state.timestamp.saturating_add(1),
        &state.fee_on_transfer,
    )
    .map_err(|r| (r, None))?;
    let plan = find_backrun(snap, &overlay, &state.params).map_err(|r| (r, None))?;
    let ladder = state
        .ladder
        .as_deref()
        .ok_or((SkipReason::NoLadder, Some(plan)))?;
    let buy = snap.pool(plan.pool_buy).address;
    let sell = snap.pool(plan.pool_sell).address;
    let cycle = ladder
        .cycle_index(buy, sell)
        .ok_or((SkipReason::NoLadder, Some(plan)))?;
    let (backrun, floor) = ladder
        .pick(cycle, plan.profit_net)
        .ok_or((SkipReason::NoLadder, Some(plan)))?;
    Ok(Decision {
        plan,
        backrun,
        floor,
    })
}
