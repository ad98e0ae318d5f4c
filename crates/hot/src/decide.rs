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

/// The outcome of [`decide`].
#[derive(Debug)]
pub enum Verdict<'s> {
    /// Fire this backrun.
    Fire(Decision<'s>),
    /// A profitable plan exists but cannot be fired (no pre-signed transaction for it).
    Unfired(BackrunPlan, SkipReason),
    /// No plan: why.
    Skip(SkipReason),
}

/// Decide on one victim: `to` and `calldata` of the pending tx, its `value`.
///
/// Pure function over plain data: no I/O, no allocation.
pub fn decide<'s>(
    state: &'s HotState,
    to: Option<Address>,
    value: U256,
    calldata: &[u8],
) -> Verdict<'s> {
    match plan(state, to, value, calldata) {
        Ok(plan) => pick(state, plan),
        Err(reason) => Verdict::Skip(reason),
    }
}

fn plan(
    state: &HotState,
    to: Option<Address>,
    value: U256,
    calldata: &[u8],
) -> Result<BackrunPlan, SkipReason> {
    let snap = &*state.snapshot;
    let factory = to
        .and_then(|to| snap.factory_of_router(to))
        .ok_or(SkipReason::NotRouter)?;
    let intent = decode_router02(calldata, value)?;
    let now = state.timestamp.saturating_add(1);
    let overlay = apply_victim(
        snap,
        factory,
        state.weth,
        &intent,
        now,
        &state.fee_on_transfer,
    )?;
    find_backrun(snap, &overlay, &state.params)
}

fn pick(state: &HotState, plan: BackrunPlan) -> Verdict<'_> {
    let Some(ladder) = state.ladder.as_deref() else {
        return Verdict::Unfired(plan, SkipReason::NoLadder);
    };
    let snap = &*state.snapshot;
    let cycle = ladder.cycle_index(
        snap.pool(plan.pool_buy).address,
        snap.pool(plan.pool_sell).address,
    );
    match cycle.and_then(|c| ladder.pick(c, plan.profit_net)) {
        Some((backrun, floor)) => Verdict::Fire(Decision {
            plan,
            backrun,
            floor,
        }),
        None => Verdict::Unfired(plan, SkipReason::NoLadder),
    }
}
