//! The decision: a typed pending transaction and the current state in, a plan or a skip out.

use std::sync::Arc;

use kestrel_dex::backrun::{BackrunParams, BackrunPlan, apply_victim, find_backrun};
use kestrel_dex::cycle::{CycleLimits, CyclePlan, CycleStats, PoolRegistry, find_cycle_backrun};
use kestrel_dex::pool::PoolSnapshot;
use kestrel_dex::route::DecodedSwaps;
use kestrel_dex::router::decode_router02;
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_dex::universal::decode_universal;
use kestrel_dex::victim::{VictimEnv, apply_swaps};
use kestrel_fire::RouteTxParams;
use kestrel_fire::ladder::{Ladder, SignedTx};
use kestrel_sim::{ChainRules, NextBlock, StateSnapshot};
use kestrel_types::{Address, B256, DecodePath, SkipReason, U256};

use crate::routers::{Decoder, RouterEntry, RouterTable};

/// Everything the hot lane decides on, published whole by the slow lane once per block.
#[derive(Debug, Clone)]
pub struct HotState {
    /// Head block the snapshot reflects; bundles target `block + 1`.
    pub block: u64,
    /// Head block timestamp; a victim whose deadline is before `timestamp + 1` would revert.
    pub timestamp: u64,
    /// Head block hash: the parent of the block a bundle targets (SwapRouter02's
    /// `multicall(previousBlockhash, ...)` checks it).
    pub parent_hash: B256,
    /// Pools with exact reserves at `block`.
    pub snapshot: Arc<PoolSnapshot>,
    /// Every V2 and V3 pool at `block`, for victims of the V3 and universal routers and their
    /// cycles over any mix of pools (`None`: only the V2 lane runs).
    pub registry: Option<Arc<PoolRegistry>>,
    /// Decoded routers besides the V2 factories' own (which [`PoolSnapshot`] knows).
    pub routers: Arc<RouterTable>,
    /// Bounds on the cycle search per victim.
    pub cycle_limits: CycleLimits,
    /// What this block's hot-signed route backruns share (nonce, fees, gas, executor);
    /// `None` leaves route plans unfired.
    pub route_tx: Option<RouteTxParams>,
    /// Gas cost in wei a route cycle (V3 or mixed, `backrunRoute`) must clear, in place of
    /// `params.gas_cost_wei` (a V2 backrun's).
    pub route_gas_cost_wei: U256,
    /// Pre-signed backruns for block `block + 1` (None until signed).
    pub ladder: Option<Arc<Ladder>>,
    /// Sizing and profit thresholds for this block (capital, gas cost, minimum profit).
    pub params: BackrunParams,
    /// The wrapped native token (router ETH variants use it).
    pub weth: Address,
    /// Tokens whose transfers take a fee: exact math cannot predict them.
    pub fee_on_transfer: Vec<Address>,
    /// The head's prefetched state, on which route backruns are confirmed in revm before they
    /// are fired (`None`: not prefetched, or confirmation is off).
    pub sim: Option<SimState>,
}

/// What revm confirmation runs on: the head's state and the next block's environment.
#[derive(Debug, Clone)]
pub struct SimState {
    /// Accounts and slots prefetched at the head (grown by what earlier runs missed).
    pub snapshot: Arc<StateSnapshot>,
    /// The block the bundle targets.
    pub next: NextBlock,
    /// Chain id and hardfork.
    pub rules: ChainRules,
}

impl HotState {
    /// The router `to` is, if its transactions are decoded: a `[[dex.routers]]` entry, or a V2
    /// factory's own router (the V2 lane).
    pub fn router(&self, to: Address) -> Option<RouterEntry> {
        if let Some(e) = self.routers.get(to) {
            return Some(*e);
        }
        self.snapshot
            .factory_of_router(to)
            .map(|factory| RouterEntry {
                address: to,
                decoder: Decoder::V2Router02,
                v2_factory: Some(factory),
                v3_factory: None,
            })
    }
}

/// What to fire from the V2 lane's ladder.
#[derive(Debug)]
pub struct Decision<'s> {
    /// The sized cycle.
    pub plan: BackrunPlan,
    /// The pre-signed backrun picked from the ladder.
    pub backrun: &'s SignedTx,
    /// The minimum profit that backrun enforces on chain.
    pub floor: U256,
}

/// A cycle over any mix of V2 and V3 pools, to be signed on the hot thread and fired through
/// the executor's `backrunRoute`.
#[derive(Clone, Copy, Debug)]
pub struct RouteDecision {
    /// The sized cycle.
    pub plan: CyclePlan,
    /// The decoder that read the victim.
    pub path: DecodePath,
    /// Cycles sized and quotes taken.
    pub stats: CycleStats,
}

/// The outcome of [`decide`].
#[derive(Debug)]
pub enum Verdict<'s> {
    /// Fire this pre-signed V2 backrun.
    Fire(Decision<'s>),
    /// Sign and fire this cycle.
    Route(RouteDecision),
    /// A profitable V2 plan exists but cannot be fired (no pre-signed transaction for it).
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
    let Some(router) = to.and_then(|to| state.router(to)) else {
        return Verdict::Skip(SkipReason::NotRouter);
    };
    match router.decoder {
        Decoder::V2Router02 => match plan_v2(state, &router, value, calldata) {
            Ok(plan) => pick(state, plan),
            Err(reason) => Verdict::Skip(reason),
        },
        Decoder::SwapRouter { .. } => route(state, &router, decode_swap_router(calldata, value)),
        Decoder::Universal(version) => {
            route(state, &router, decode_universal(calldata, value, version))
        }
    }
}

fn route(
    state: &HotState,
    router: &RouterEntry,
    swaps: Result<DecodedSwaps<'_>, SkipReason>,
) -> Verdict<'static> {
    match swaps.and_then(|swaps| plan_route(state, router, &swaps)) {
        Ok(d) => Verdict::Route(d),
        Err(reason) => Verdict::Skip(reason),
    }
}

fn plan_v2(
    state: &HotState,
    router: &RouterEntry,
    value: U256,
    calldata: &[u8],
) -> Result<BackrunPlan, SkipReason> {
    let snap = &*state.snapshot;
    let factory = router.v2_factory.ok_or(SkipReason::UnknownPool)?;
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

/// A V3 or universal router victim's decoded legs: replay them on the registry, then search
/// the cycles through every pool they touched.
fn plan_route(
    state: &HotState,
    router: &RouterEntry,
    swaps: &DecodedSwaps<'_>,
) -> Result<RouteDecision, SkipReason> {
    let reg = state.registry.as_deref().ok_or(SkipReason::UnknownPool)?;
    let env = VictimEnv {
        weth: state.weth,
        now_unix: state.timestamp.saturating_add(1),
        parent_hash: Some(state.parent_hash),
        v2_factory: router.v2_factory,
        v3_factory: router.v3_factory,
        fee_on_transfer: &state.fee_on_transfer,
    };
    let outcome = apply_swaps(reg, &env, swaps)?;
    let params = BackrunParams {
        gas_cost_wei: state.route_gas_cost_wei,
        ..state.params
    };
    let (plan, stats) = find_cycle_backrun(reg, &outcome.overlay, &params, &state.cycle_limits);
    Ok(RouteDecision {
        plan: plan?,
        path: router.decoder.path(),
        stats,
    })
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
