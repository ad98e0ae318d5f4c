//! A pending transaction's swaps replayed on the pool registry exactly as the chain would run
//! them, V2 and V3 legs alike, producing the post-victim state of every pool they touch.
//!
//! [`apply_swaps`] takes the [`DecodedSwaps`] of one transaction (from
//! [`crate::router_v3::decode_swap_router`] or [`crate::universal::decode_universal`]) and runs
//! its legs in order on a [`PoolRegistry`], writing each touched pool's new state into a
//! fixed-capacity [`StateOverlay`]: reserves for a V2 pair, `(sqrt_price_x96, tick, liquidity)`
//! for a V3 pool. V3 snapshots are immutable and share their tick tables, so the overlay holds
//! only what a swap moves, and [`V3Pool::quote_from`] quotes from it over the base pool's ticks.
//!
//! What the routers do, and this module with them:
//!
//! - **V2 legs** (SwapRouter02 and the Universal Router): the input is paid to the first pair,
//!   then each pair is swapped for `getAmountOut(balance - reserve)` on its *current* reserves,
//!   so a pair visited twice sees its own earlier move. Exact-output legs first compute the
//!   input with `getAmountsIn` on the reserves before the leg, then run the same forward pass.
//! - **V3 legs**: exact input runs the pools in trade order, each hop's output the next one's
//!   input; exact output runs them nested from the last pool back to the first (the packed path
//!   is encoded reversed), each requiring its full output. A pool may appear twice in an
//!   exact-input path, but not in an exact-output one (the pool is locked during the nested
//!   call). `sqrtPriceLimitX96` applies to single-pool calls; zero means the default limit.
//! - **Sentinels**: [`AmountSource::ContractBalance`] swaps the router's whole balance of the
//!   input token, which earlier legs (recipient [`Recipient::Router`]) and the ETH wrap put
//!   there; [`AmountSource::AlreadyPaid`] swaps what an earlier leg sent straight to the first
//!   pair (recipient the pair's address).
//! - **Limits**: `amountOutMinimum` / `amountInMaximum` per leg, the unwrap floor, the deadline
//!   and SwapRouter02's previous-block-hash check. A leg that would revert makes the victim
//!   [`SkipReason::VictimWouldRevert`].
//! - **Per-hop price floors** (Universal Router 2.1+ `minHopPriceX36`,
//!   [`Swap::min_hop_prices`], one per hop in trade order; checked against tag 2.1.1, unchanged
//!   in 2.2.0). An empty array turns them off. Otherwise its length must be the hop count
//!   (`V2InvalidHopPriceLength`, `V3HopPriceAndPathLengthMismatch`), and each hop's price is
//!   `floor(amountOut · 1e36 / amountIn)` (plain multiply-then-divide, no `mulDiv`), which must
//!   be at least the floor: equal passes, one below reverts. V2 (`V2SwapRouter._v2Swap`, exact
//!   input and output alike, both run the forward pass): only hops with a non-zero floor are
//!   checked; `amountIn` is the pair's balance above its reserve, `amountOut` the growth of the
//!   receiver's balance (zero if the pair pays itself); the product is `unchecked` (wraps). V3
//!   exact input (`v3SwapExactInput`): after each pool, `amountOut` is its output and `amountIn`
//!   the amount the hop was *asked* to swap (the leg's amount, then the previous output), not
//!   what a partially filling pool took. V3 exact output (`uniswapV3SwapCallback`): in each
//!   pool's callback, its output over the input it asks for, trade hop `i` checked against entry
//!   `i` although the pools run last hop first. V3 arithmetic is checked: with any floors, an
//!   overflowing product reverts even under a zero floor.
//! - **Allow-revert sub-plans** (Universal Router 2.0+ `EXECUTE_SUB_PLAN` with the flag): the
//!   router calls itself for the sub-plan and goes on when that call fails. The legs of such a
//!   sub-plan holding only swaps ([`RevertSpan`]) run from a saved copy of the overlay, the
//!   router's holdings and the pairs' surpluses; if one would revert, all of them are undone
//!   (zero amounts) and the next command runs on the saved state. A flagged sub-plan holding
//!   anything else is not a span (its success depends on what is not modelled), so a failing
//!   leg in it makes the victim a revert, a skip; so does a swap command's own flag outside a
//!   sub-plan, because the swap reverts the router's whole call.
//!
//! Assumptions, each conservative or the routers' common use: the router holds none of any
//! token before the transaction; the ETH wrap happens before the first leg and credits the
//! router; the unwrap happens after the last leg. V2 hops use the factory's fee numerator (the
//! routers hard-code 997, Uniswap's), and a V2 exact output of zero counts as a revert (Uniswap's
//! library reverts; the Universal Router's would ask for 1 wei).
//!
//! **Invariant:** allocation-free and panic-free on any decoded input; every amount is the
//! pool's own integer result.

use alloy_primitives::I256;
use kestrel_types::{Address, B256, FactoryId, PoolId, SkipReason, U256};

use crate::cycle::{PoolRef, PoolRegistry, V3FactoryId, V3Id};
use crate::math::{RESERVE_LIMIT, get_amount_in, get_amount_out};
use crate::route::{
    AmountSource, CONTRACT_BALANCE, DecodedSwaps, HOP_PRICE_PRECISION, HopPrices, MAX_LEGS,
    MAX_V3_HOPS, Recipient, RevertSpan, Route, Swap, SwapLeg, V3Route,
};
use crate::router::{MAX_PATH, PathView, SwapKind};
use crate::v3::sqrt_price_math::to_i256;
use crate::v3::{SwapResult, V3Pool, default_price_limit};

/// Most distinct pools one transaction can touch: every hop of every leg.
pub const MAX_TOUCHED: usize = MAX_LEGS * MAX_V3_HOPS;

/// Most tokens the router can hold at once: one per leg output and the wrapped ETH.
const MAX_HELD: usize = MAX_LEGS + 1;

const _: () = assert!(
    MAX_PATH - 1 <= MAX_V3_HOPS,
    "MAX_TOUCHED must also cover V2 legs"
);

const REVERT: SkipReason = SkipReason::VictimWouldRevert;

/// The part of a V3 pool's state a swap moves.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct V3State {
    /// Square-root price, Q64.96.
    pub sqrt_price_x96: U256,
    /// Current tick.
    pub tick: i32,
    /// Active liquidity.
    pub liquidity: u128,
}

impl V3State {
    /// The snapshot's own state.
    pub fn of(pool: &V3Pool) -> Self {
        Self {
            sqrt_price_x96: pool.sqrt_price_x96(),
            tick: pool.tick(),
            liquidity: pool.liquidity(),
        }
    }

    /// The state a simulated swap leaves.
    pub fn after(result: &SwapResult) -> Self {
        Self {
            sqrt_price_x96: result.sqrt_price_x96,
            tick: result.tick,
            liquidity: result.liquidity,
        }
    }

    /// [`V3Pool::quote`] on `pool` as this state has it.
    pub fn quote(
        &self,
        pool: &V3Pool,
        zero_for_one: bool,
        amount_specified: I256,
        sqrt_price_limit_x96: U256,
    ) -> Result<SwapResult, crate::v3::V3Error> {
        pool.quote_from(
            self.sqrt_price_x96,
            self.tick,
            self.liquidity,
            zero_for_one,
            amount_specified,
            sqrt_price_limit_x96,
        )
    }
}

/// A touched pool's state after the victim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum PoolState {
    /// A V2 pair's reserves.
    V2 {
        /// Reserve of `token0`.
        reserve0: U256,
        /// Reserve of `token1`.
        reserve1: U256,
    },
    /// A V3 pool's price, tick and liquidity, over the registry snapshot's ticks.
    V3(V3State),
}

/// Post-victim states of the pools a transaction touches (fixed capacity, no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct StateOverlay {
    entries: [(PoolRef, PoolState); MAX_TOUCHED],
    len: usize,
}

impl Default for StateOverlay {
    fn default() -> Self {
        let empty = (
            PoolRef::V2(PoolId(0)),
            PoolState::V2 {
                reserve0: U256::ZERO,
                reserve1: U256::ZERO,
            },
        );
        Self {
            entries: [empty; MAX_TOUCHED],
            len: 0,
        }
    }
}

impl StateOverlay {
    /// The post-victim state of `pool`, if the victim touched it.
    pub fn get(&self, pool: PoolRef) -> Option<PoolState> {
        self.live().iter().find(|e| e.0 == pool).map(|e| e.1)
    }

    /// `(reserve0, reserve1)` of a V2 pair: the overlay's if touched, else the registry's.
    pub fn v2_reserves(&self, reg: &PoolRegistry, id: PoolId) -> Option<(U256, U256)> {
        match self.get(PoolRef::V2(id)) {
            Some(PoolState::V2 { reserve0, reserve1 }) => Some((reserve0, reserve1)),
            Some(PoolState::V3(_)) => None,
            None => reg.v2().get(id).map(|p| (p.reserve0, p.reserve1)),
        }
    }

    /// A V3 pool's state: the overlay's if touched, else the registry snapshot's.
    pub fn v3_state(&self, reg: &PoolRegistry, id: V3Id) -> Option<V3State> {
        match self.get(PoolRef::V3(id)) {
            Some(PoolState::V3(state)) => Some(state),
            Some(PoolState::V2 { .. }) => None,
            None => reg.v3(id).map(V3State::of),
        }
    }

    /// The touched pools, in the order the victim first touched them, each once.
    pub fn touched(&self) -> impl Iterator<Item = PoolRef> + '_ {
        self.live().iter().map(|e| e.0)
    }

    /// Where `pool` is in [`StateOverlay::touched`], if touched.
    pub fn position(&self, pool: PoolRef) -> Option<usize> {
        self.live().iter().position(|e| e.0 == pool)
    }

    /// Number of touched pools.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no pool was touched.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn live(&self) -> &[(PoolRef, PoolState)] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    /// Records the new state of `pool`, replacing an earlier one.
    pub fn set(&mut self, pool: PoolRef, state: PoolState) -> Result<(), SkipReason> {
        let live = self.len;
        if let Some(e) = self.entries.iter_mut().take(live).find(|e| e.0 == pool) {
            e.1 = state;
            return Ok(());
        }
        // Unreachable for decoded transactions (at most MAX_LEGS legs of MAX_V3_HOPS hops).
        let slot = self.entries.get_mut(live).ok_or(SkipReason::TooManyLegs)?;
        *slot = (pool, state);
        self.len += 1;
        Ok(())
    }
}

/// What the transaction is checked against, besides the pools.
#[derive(Clone, Copy, Debug)]
pub struct VictimEnv<'a> {
    /// WETH: the token the ETH wrap and unwrap move.
    pub weth: Address,
    /// Timestamp of the block the victim is expected in (unix seconds).
    pub now_unix: u64,
    /// Hash of the block the victim would build on (the registry's head), for SwapRouter02's
    /// `multicall(previousBlockhash, ...)`; `None` skips that check.
    pub parent_hash: Option<B256>,
    /// The V2 factory the called router swaps through; `None` makes V2 legs `UnknownPool`.
    pub v2_factory: Option<FactoryId>,
    /// The V3 factory the called router swaps through; `None` makes V3 legs `UnknownPool`.
    pub v3_factory: Option<V3FactoryId>,
    /// Fee-on-transfer tokens: exact math cannot predict a route through them.
    pub fee_on_transfer: &'a [Address],
}

/// What one leg paid in and got out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LegAmounts {
    /// The input the payer paid: what the first pool took (less than the amount asked when a
    /// V3 pool fills partially), zero for an already-paid V2 leg (an earlier leg paid).
    pub amount_in: U256,
    /// The output the recipient received (the last pool's output).
    pub amount_out: U256,
}

/// The victim applied: the touched pools' states and each leg's amounts.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct VictimOutcome {
    /// Post-victim states of the touched pools.
    pub overlay: StateOverlay,
    legs: [LegAmounts; MAX_LEGS],
    len: usize,
}

impl VictimOutcome {
    /// Amounts of the V2 and V3 legs, in execution order.
    pub fn legs(&self) -> &[LegAmounts] {
        self.legs.get(..self.len).unwrap_or(&[])
    }
}

/// Replays every leg of `swaps` on `reg` exactly as the routers and pools would.
///
/// Errors: `UnsupportedV4` (any V4 leg), `UnknownCommand` (calls the decoder did not know, or
/// liquidity changes the overlay does not model), `VictimExpired` (deadline before
/// `now_unix`), `FeeOnTransfer` (a route through a listed token), `UnknownPool` (a hop's pool
/// is not in the registry, or the router's factory is not known), `VictimWouldRevert` (any
/// check the chain would fail: the wrong previous block hash, a leg's own limit, a pool or
/// library revert, the router short of a token it must pay, an unwrap floor not met).
pub fn apply_swaps(
    reg: &PoolRegistry,
    env: &VictimEnv<'_>,
    swaps: &DecodedSwaps<'_>,
) -> Result<VictimOutcome, SkipReason> {
    precheck(env, swaps)?;
    let mut run = Run {
        reg,
        env,
        overlay: StateOverlay::default(),
        router: Held::default(),
        surplus: Surplus::default(),
    };
    if let Some(wrap) = swaps.wrap_eth {
        // Both routers wrap from their own ETH balance, which is the transaction's value.
        let amount = if wrap == CONTRACT_BALANCE {
            swaps.value
        } else {
            wrap
        };
        if amount > swaps.value {
            return Err(REVERT);
        }
        run.router.credit(env.weth, amount)?;
    }
    let mut outcome = VictimOutcome {
        overlay: StateOverlay::default(),
        legs: [LegAmounts::default(); MAX_LEGS],
        len: 0,
    };
    run.legs(swaps, 0, swaps.len(), None, &mut outcome.legs)?;
    outcome.len = swaps.len();
    if let Some(floor) = swaps.unwrap_weth_min
        && run.router.balance(env.weth) < floor
    {
        return Err(REVERT);
    }
    outcome.overlay = run.overlay;
    Ok(outcome)
}

/// The transaction-level checks, before any pool moves.
fn precheck(env: &VictimEnv<'_>, swaps: &DecodedSwaps<'_>) -> Result<(), SkipReason> {
    if swaps.v4_legs() > 0 {
        return Err(SkipReason::UnsupportedV4);
    }
    if swaps.unknown > 0 || swaps.liquidity_ops > 0 {
        return Err(SkipReason::UnknownCommand);
    }
    if swaps.deadline.is_some_and(|d| d < U256::from(env.now_unix)) {
        return Err(SkipReason::VictimExpired);
    }
    if let (Some(wanted), Some(parent)) = (swaps.previous_blockhash, env.parent_hash)
        && wanted != parent
    {
        return Err(REVERT);
    }
    for swap in swaps.swaps() {
        if route_has_fee_token(&swap.route, env.fee_on_transfer) {
            return Err(SkipReason::FeeOnTransfer);
        }
    }
    Ok(())
}

fn route_has_fee_token(route: &Route<'_>, fee_on_transfer: &[Address]) -> bool {
    match route {
        Route::V2(path) => path.iter().any(|t| fee_on_transfer.contains(&t)),
        Route::V3(v3) => v3.hops().any(|h| {
            fee_on_transfer.contains(&h.token_in) || fee_on_transfer.contains(&h.token_out)
        }),
    }
}

/// Tokens the router holds, by token (fixed capacity).
#[derive(Clone, Copy, Debug, Default)]
struct Held {
    entries: [(Address, U256); MAX_HELD],
    len: usize,
}

impl Held {
    fn balance(&self, token: Address) -> U256 {
        self.entries
            .iter()
            .take(self.len)
            .find(|e| e.0 == token)
            .map_or(U256::ZERO, |e| e.1)
    }

    fn credit(&mut self, token: Address, amount: U256) -> Result<(), SkipReason> {
        let live = self.len;
        if let Some(e) = self.entries.iter_mut().take(live).find(|e| e.0 == token) {
            e.1 = e.1.checked_add(amount).ok_or(REVERT)?;
            return Ok(());
        }
        let slot = self.entries.get_mut(live).ok_or(SkipReason::TooManyLegs)?;
        *slot = (token, amount);
        self.len += 1;
        Ok(())
    }

    /// The router pays `amount` of `token`: an ERC-20 transfer it cannot cover reverts.
    fn debit(&mut self, token: Address, amount: U256) -> Result<(), SkipReason> {
        let live = self.len;
        let entry = self.entries.iter_mut().take(live).find(|e| e.0 == token);
        match entry {
            Some(e) if e.1 >= amount => {
                e.1 -= amount;
                Ok(())
            }
            _ if amount.is_zero() => Ok(()),
            _ => Err(REVERT),
        }
    }
}

/// Tokens sent to a V2 pair but not yet swapped (its balance above its reserve), per pair.
#[derive(Clone, Copy, Debug)]
struct Surplus {
    entries: [(PoolId, U256, U256); MAX_LEGS],
    len: usize,
}

impl Default for Surplus {
    fn default() -> Self {
        Self {
            entries: [(PoolId(0), U256::ZERO, U256::ZERO); MAX_LEGS],
            len: 0,
        }
    }
}

impl Surplus {
    fn credit(&mut self, pool: PoolId, to_token0: bool, amount: U256) -> Result<(), SkipReason> {
        let live = self.len;
        let index = match self.entries.iter().take(live).position(|e| e.0 == pool) {
            Some(i) => i,
            None => {
                let slot = self.entries.get_mut(live).ok_or(SkipReason::TooManyLegs)?;
                *slot = (pool, U256::ZERO, U256::ZERO);
                self.len += 1;
                live
            }
        };
        let e = self.entries.get_mut(index).ok_or(SkipReason::TooManyLegs)?;
        let side = if to_token0 { &mut e.1 } else { &mut e.2 };
        *side = side.checked_add(amount).ok_or(REVERT)?;
        Ok(())
    }

    /// Removes and returns the pair's surplus `(token0, token1)`: a swap syncs its reserves to
    /// its balances.
    fn take(&mut self, pool: PoolId) -> (U256, U256) {
        let live = self.len;
        match self.entries.iter_mut().take(live).find(|e| e.0 == pool) {
            Some(e) => {
                let out = (e.1, e.2);
                (e.1, e.2) = (U256::ZERO, U256::ZERO);
                out
            }
            None => (U256::ZERO, U256::ZERO),
        }
    }
}

/// One transaction in progress.
struct Run<'r, 'e> {
    reg: &'r PoolRegistry,
    env: &'r VictimEnv<'e>,
    overlay: StateOverlay,
    router: Held,
    surplus: Surplus,
}

impl Run<'_, '_> {
    /// Runs legs `first..end` of `swaps` (all of them, or the legs of `span`), writing each one's
    /// amounts. A [`RevertSpan`] strictly inside the range runs from a saved copy of the state:
    /// if one of its legs would revert, the state goes back to that copy, its legs record zero
    /// amounts and the run goes on after it, as the router goes on after a flagged sub-plan's
    /// failed call. Spans nest at most [`crate::universal::MAX_SUB_PLAN_DEPTH`] deep, so does
    /// the recursion.
    fn legs(
        &mut self,
        swaps: &DecodedSwaps<'_>,
        first: usize,
        end: usize,
        span: Option<RevertSpan>,
        amounts: &mut [LegAmounts; MAX_LEGS],
    ) -> Result<(), SkipReason> {
        let mut i = first;
        while i < end {
            let inner = swaps
                .revert_spans()
                .iter()
                .filter(|s| s.first == i && s.end <= end && Some(**s) != span)
                .max_by_key(|s| s.end);
            if let Some(&inner) = inner {
                let saved = (self.overlay, self.router, self.surplus);
                match self.legs(swaps, inner.first, inner.end, Some(inner), amounts) {
                    Ok(()) => {}
                    Err(REVERT) => {
                        (self.overlay, self.router, self.surplus) = saved;
                        for slot in amounts.iter_mut().take(inner.end).skip(inner.first) {
                            *slot = LegAmounts::default();
                        }
                    }
                    Err(other) => return Err(other),
                }
                i = inner.end;
                continue;
            }
            let Some(SwapLeg::Swap(swap)) = swaps.get(i) else {
                return Err(SkipReason::UnsupportedV4);
            };
            let slot = amounts.get_mut(i).ok_or(SkipReason::TooManyLegs)?;
            *slot = self.leg(swap)?;
            i += 1;
        }
        Ok(())
    }

    fn leg(&mut self, swap: &Swap<'_>) -> Result<LegAmounts, SkipReason> {
        let token_in = swap.token_in().ok_or(SkipReason::MalformedCalldata)?;
        let token_out = swap.token_out().ok_or(SkipReason::MalformedCalldata)?;
        let amounts = match (swap.route, swap.kind) {
            (Route::V2(path), SwapKind::ExactIn) => self.v2_exact_in(swap, path)?,
            (Route::V2(path), SwapKind::ExactOut) => self.v2_exact_out(swap, path)?,
            (Route::V3(route), SwapKind::ExactIn) => self.v3_exact_in(swap, route)?,
            (Route::V3(route), SwapKind::ExactOut) => self.v3_exact_out(swap, route)?,
        };
        let payer_is_router =
            !swap.payer_is_user && swap.amount_source != AmountSource::AlreadyPaid;
        if payer_is_router {
            self.router.debit(token_in, amounts.amount_in)?;
        }
        match self.pays_itself(swap) {
            Some(id) => self.keep_output(id, token_out, amounts.amount_out)?,
            None => self.deliver(swap.recipient, token_out, amounts.amount_out)?,
        }
        Ok(amounts)
    }

    /// The V2 leg's last pair, where the leg's recipient is that pair itself.
    fn pays_itself(&self, swap: &Swap<'_>) -> Option<PoolId> {
        let (Route::V2(path), Recipient::Account(to)) = (swap.route, swap.recipient) else {
            return None;
        };
        let (a, b) = tokens_at(path, path.len().checked_sub(2)?).ok()?;
        let id = self.v2_pair(a, b).ok()?;
        self.reg
            .v2()
            .get(id)
            .is_some_and(|p| p.address == to)
            .then_some(id)
    }

    /// A pair that paid its output to itself: the transfer left its balance as it was, and
    /// `_update` synced the reserve to that balance, so the output is back in the reserve (not
    /// a surplus for its next swap).
    fn keep_output(&mut self, id: PoolId, token: Address, amount: U256) -> Result<(), SkipReason> {
        let pair = self.reg.v2().get(id).ok_or(SkipReason::UnknownPool)?;
        let out_is_0 = token == pair.token0;
        let (r0, r1) = self
            .overlay
            .v2_reserves(self.reg, id)
            .ok_or(SkipReason::UnknownPool)?;
        let (reserve0, reserve1) = if out_is_0 {
            (r0.checked_add(amount).ok_or(REVERT)?, r1)
        } else {
            (r0, r1.checked_add(amount).ok_or(REVERT)?)
        };
        self.overlay
            .set(PoolRef::V2(id), PoolState::V2 { reserve0, reserve1 })
    }

    /// The output lands with its recipient: the router keeps it for a later leg or unwrap; a
    /// V2 pair holds it as surplus that its next swap takes as input.
    fn deliver(&mut self, to: Recipient, token: Address, amount: U256) -> Result<(), SkipReason> {
        match to {
            Recipient::Router => self.router.credit(token, amount),
            Recipient::Account(account) => match self.reg.v2().pool_by_address(account) {
                Some(id) => {
                    let pair = self.reg.v2().get(id).ok_or(SkipReason::UnknownPool)?;
                    if token == pair.token0 || token == pair.token1 {
                        self.surplus.credit(id, token == pair.token0, amount)?;
                    }
                    Ok(())
                }
                None => Ok(()),
            },
            Recipient::Sender => Ok(()),
        }
    }

    /// The exact-input amount the leg starts with, for a V3 leg or the first V2 pair.
    fn exact_in_amount(&self, swap: &Swap<'_>, token_in: Address) -> U256 {
        match swap.amount_source {
            AmountSource::Given => swap.amount,
            AmountSource::ContractBalance => self.router.balance(token_in),
            AmountSource::AlreadyPaid => U256::ZERO,
        }
    }

    fn v2_pair(&self, a: Address, b: Address) -> Result<PoolId, SkipReason> {
        let factory = self.env.v2_factory.ok_or(SkipReason::UnknownPool)?;
        self.reg
            .v2()
            .pool_for(factory, a, b)
            .ok_or(SkipReason::UnknownPool)
    }

    fn v2_exact_in(
        &mut self,
        swap: &Swap<'_>,
        path: PathView<'_>,
    ) -> Result<LegAmounts, SkipReason> {
        let token_in = path.first().ok_or(SkipReason::MalformedCalldata)?;
        v2_hop_prices_fit(path, swap.min_hop_prices)?;
        if swap.amount_source == AmountSource::ContractBalance && swap.payer_is_user {
            // The Universal Router passes the sentinel to Permit2, whose uint160 cast reverts.
            return Err(REVERT);
        }
        let paid = self.exact_in_amount(swap, token_in);
        let out = self.v2_forward(swap, path, paid)?;
        if out < swap.limit {
            return Err(REVERT);
        }
        Ok(LegAmounts {
            amount_in: paid,
            amount_out: out,
        })
    }

    fn v2_exact_out(
        &mut self,
        swap: &Swap<'_>,
        path: PathView<'_>,
    ) -> Result<LegAmounts, SkipReason> {
        let hops = path.len().saturating_sub(1);
        if hops == 0 {
            return Err(SkipReason::MalformedCalldata);
        }
        v2_hop_prices_fit(path, swap.min_hop_prices)?;
        // `getAmountsIn` on the reserves as they stand before the leg.
        let mut amount = swap.amount;
        for i in (0..hops).rev() {
            let (token_in, token_out) = tokens_at(path, i)?;
            let id = self.v2_pair(token_in, token_out)?;
            let (r_in, r_out, fee) = self.v2_oriented(id, token_in)?;
            amount = get_amount_in(amount, r_in, r_out, fee).ok_or(REVERT)?;
        }
        if amount > swap.limit {
            return Err(REVERT);
        }
        let out = self.v2_forward(swap, path, amount)?;
        Ok(LegAmounts {
            amount_in: amount,
            amount_out: out,
        })
    }

    /// The routers' V2 `_swap`: `paid` goes to the first pair, each pair pays out
    /// `getAmountOut(balance - reserve)` to the next one. Returns the last pair's output.
    ///
    /// With Universal Router 2.1 floors, a hop whose floor is not zero checks
    /// `received · 1e36 / (balance - reserve)` against it, where `received` is the growth of the
    /// receiver's balance (the next pair, or the leg's recipient after the last hop): zero when
    /// the pair pays itself, so such a hop fails any non-zero floor.
    fn v2_forward(
        &mut self,
        swap: &Swap<'_>,
        path: PathView<'_>,
        paid: U256,
    ) -> Result<U256, SkipReason> {
        let hops = path.len().saturating_sub(1);
        if hops == 0 {
            return Err(SkipReason::MalformedCalldata);
        }
        let mut amount = paid;
        for i in 0..hops {
            let (token_in, token_out) = tokens_at(path, i)?;
            if path.turns_back_at(i) {
                return Err(REVERT);
            }
            let id = self.v2_pair(token_in, token_out)?;
            let (amount_in, out) = self.v2_swap(id, token_in, amount)?;
            let floor = swap.min_hop_prices.get(i).unwrap_or(U256::ZERO);
            if !floor.is_zero() {
                // Only the last hop can pay the pair itself here (a path that turns straight
                // back reverted above): when the leg's recipient is the pair.
                let pays_itself = i + 1 == hops && self.pays_itself(swap) == Some(id);
                let received = if pays_itself { U256::ZERO } else { out };
                if v2_hop_price(received, amount_in).ok_or(REVERT)? < floor {
                    return Err(REVERT); // V2TooLittleReceivedPerHop
                }
            }
            amount = out;
        }
        Ok(amount)
    }

    /// Reserves of `id` oriented `(in, out)` for `token_in`, and the factory's fee.
    fn v2_oriented(&self, id: PoolId, token_in: Address) -> Result<(U256, U256, u32), SkipReason> {
        let pair = self.reg.v2().get(id).ok_or(SkipReason::UnknownPool)?;
        let fee = self
            .reg
            .v2()
            .factory(pair.factory)
            .ok_or(SkipReason::UnknownPool)?
            .fee_num;
        let (r0, r1) = self
            .overlay
            .v2_reserves(self.reg, id)
            .ok_or(SkipReason::UnknownPool)?;
        let (r_in, r_out) = if token_in == pair.token0 {
            (r0, r1)
        } else {
            (r1, r0)
        };
        Ok((r_in, r_out, fee))
    }

    /// One pair's `swap` after `paid` of `token_in` was sent to it: the input is the balance
    /// above the reserve (what earlier legs left there counts), the reserves become the
    /// balances. Returns `(input, output)`: the balance above the reserve, and what it paid out.
    fn v2_swap(
        &mut self,
        id: PoolId,
        token_in: Address,
        paid: U256,
    ) -> Result<(U256, U256), SkipReason> {
        let (r_in, r_out, fee) = self.v2_oriented(id, token_in)?;
        let in_is_0 = self.reg.v2().get(id).is_some_and(|p| p.token0 == token_in);
        let (s0, s1) = self.surplus.take(id);
        let (s_in, s_out) = if in_is_0 { (s0, s1) } else { (s1, s0) };
        let amount_in = paid.checked_add(s_in).ok_or(REVERT)?;
        // getAmountOut reverts on a zero input; the pair on a zero output.
        let out = get_amount_out(amount_in, r_in, r_out, fee)
            .filter(|o| !o.is_zero())
            .ok_or(REVERT)?;
        // `_update`: balances must fit in uint112.
        let new_in = r_in
            .checked_add(amount_in)
            .filter(|b| *b < RESERVE_LIMIT)
            .ok_or(REVERT)?;
        let new_out = r_out
            .checked_add(s_out)
            .and_then(|b| b.checked_sub(out))
            .filter(|b| *b < RESERVE_LIMIT)
            .ok_or(REVERT)?;
        let (reserve0, reserve1) = if in_is_0 {
            (new_in, new_out)
        } else {
            (new_out, new_in)
        };
        self.overlay
            .set(PoolRef::V2(id), PoolState::V2 { reserve0, reserve1 })?;
        Ok((amount_in, out))
    }

    fn v3_pool(&self, token_in: Address, token_out: Address, fee: u32) -> Result<V3Id, SkipReason> {
        let factory = self.env.v3_factory.ok_or(SkipReason::UnknownPool)?;
        self.reg
            .v3_pool_for(factory, token_in, token_out, fee)
            .ok_or(SkipReason::UnknownPool)
    }

    /// One pool's swap from its current state, with the router's checks: the pool's own
    /// reverts, and the callback's refusal of a swap that moved nothing.
    fn v3_swap(
        &mut self,
        id: V3Id,
        zero_for_one: bool,
        amount: I256,
        limit: U256,
    ) -> Result<SwapResult, SkipReason> {
        let pool = self.reg.v3(id).ok_or(SkipReason::UnknownPool)?;
        let state = self
            .overlay
            .v3_state(self.reg, id)
            .ok_or(SkipReason::UnknownPool)?;
        let result = state
            .quote(pool, zero_for_one, amount, limit)
            .map_err(|_| REVERT)?;
        if !result.amount0.is_positive() && !result.amount1.is_positive() {
            return Err(REVERT);
        }
        self.overlay
            .set(PoolRef::V3(id), PoolState::V3(V3State::after(&result)))?;
        Ok(result)
    }

    fn v3_exact_in(
        &mut self,
        swap: &Swap<'_>,
        route: V3Route<'_>,
    ) -> Result<LegAmounts, SkipReason> {
        let token_in = route.token_in().ok_or(SkipReason::MalformedCalldata)?;
        v3_hop_prices_fit(route, swap.min_hop_prices)?;
        let limit = single_pool_limit(swap, route);
        let mut amount = self.exact_in_amount(swap, token_in);
        let mut paid = U256::ZERO;
        for (i, hop) in route.hops().enumerate() {
            let id = self.v3_pool(hop.token_in, hop.token_out, hop.fee)?;
            let zero_for_one = hop.token_in < hop.token_out;
            let specified = to_i256(amount).ok_or(REVERT)?;
            let result = self.v3_swap(id, zero_for_one, specified, limit(zero_for_one))?;
            let hop_paid = unsigned(result.amount_in(zero_for_one))?;
            if i == 0 {
                paid = hop_paid;
            } else if let Some(left) = amount.checked_sub(hop_paid).filter(|l| !l.is_zero()) {
                // A partial fill leaves the rest of the previous output with the router.
                self.router.credit(hop.token_in, left)?;
            }
            let asked = amount;
            amount = unsigned(result.amount_out(zero_for_one))?;
            // `V3TooLittleReceivedPerHop`: the output per input *asked*, not per input the pool
            // took.
            v3_hop_price_check(swap.min_hop_prices, i, amount, asked)?;
        }
        if amount < swap.limit {
            return Err(REVERT);
        }
        Ok(LegAmounts {
            amount_in: paid,
            amount_out: amount,
        })
    }

    fn v3_exact_out(
        &mut self,
        swap: &Swap<'_>,
        route: V3Route<'_>,
    ) -> Result<LegAmounts, SkipReason> {
        v3_hop_prices_fit(route, swap.min_hop_prices)?;
        let limit = single_pool_limit(swap, route);
        // Only a single-pool call with its own price limit may fill partially.
        let partial_ok = route.hop_count() == 1 && !swap.sqrt_price_limit_x96.is_zero();
        let mut seen = [None::<V3Id>; MAX_V3_HOPS];
        let mut wanted = swap.amount;
        let mut delivered = U256::ZERO;
        for (i, hop) in route.hops().rev().enumerate() {
            let id = self.v3_pool(hop.token_in, hop.token_out, hop.fee)?;
            // The nested swap would re-enter a pool that is still locked.
            if seen.contains(&Some(id)) {
                return Err(REVERT);
            }
            if let Some(slot) = seen.get_mut(i) {
                *slot = Some(id);
            }
            let zero_for_one = hop.token_in < hop.token_out;
            let specified = to_i256(wanted).ok_or(REVERT)?.wrapping_neg();
            let result = self.v3_swap(id, zero_for_one, specified, limit(zero_for_one))?;
            let received = unsigned(result.amount_out(zero_for_one))?;
            if received != wanted && !partial_ok {
                return Err(REVERT);
            }
            if i == 0 {
                delivered = received;
            }
            wanted = unsigned(result.amount_in(zero_for_one))?;
            // `V3TooMuchRequestedPerHop`, in the pool's callback: its output per input it asks
            // for. The pools run last trade hop first, so this is trade hop `hop_count - 1 - i`.
            let trade_hop = route.hop_count().saturating_sub(i + 1);
            v3_hop_price_check(swap.min_hop_prices, trade_hop, received, wanted)?;
        }
        if wanted > swap.limit {
            return Err(REVERT);
        }
        Ok(LegAmounts {
            amount_in: wanted,
            amount_out: delivered,
        })
    }
}

/// The price limit each hop of a V3 leg swaps with: a single-pool call's own
/// `sqrtPriceLimitX96`, else (and for zero) the routers' default.
fn single_pool_limit(swap: &Swap<'_>, route: V3Route<'_>) -> impl Fn(bool) -> U256 {
    let own = (route.hop_count() == 1 && !swap.sqrt_price_limit_x96.is_zero())
        .then_some(swap.sqrt_price_limit_x96);
    move |zero_for_one| own.unwrap_or_else(|| default_price_limit(zero_for_one))
}

/// `V2InvalidHopPriceLength`: a non-empty floor array needs one entry per pair.
fn v2_hop_prices_fit(path: PathView<'_>, prices: HopPrices<'_>) -> Result<(), SkipReason> {
    if !prices.is_empty() && prices.len() != path.len().saturating_sub(1) {
        return Err(REVERT);
    }
    Ok(())
}

/// `V3HopPriceAndPathLengthMismatch`: a non-empty floor array needs one entry per pool
/// (`path.length == 23 · prices.length + 20`).
fn v3_hop_prices_fit(route: V3Route<'_>, prices: HopPrices<'_>) -> Result<(), SkipReason> {
    if !prices.is_empty() && prices.len() != route.hop_count() {
        return Err(REVERT);
    }
    Ok(())
}

/// The V2 router's hop price, `amountOutput * 1e36 / amountInput` inside `unchecked`: the
/// product wraps at `2^256`; `None` for a zero input (a division-by-zero panic).
fn v2_hop_price(amount_out: U256, amount_in: U256) -> Option<U256> {
    amount_out
        .wrapping_mul(HOP_PRICE_PRECISION)
        .checked_div(amount_in)
}

/// The V3 router's hop price, `amountOut * 1e36 / amountIn` in checked arithmetic: `None`
/// (a panic, so a revert) when the product overflows or the input is zero.
fn v3_hop_price(amount_out: U256, amount_in: U256) -> Option<U256> {
    amount_out
        .checked_mul(HOP_PRICE_PRECISION)?
        .checked_div(amount_in)
}

/// The V3 router's per-hop check of trade hop `hop`. With any floors at all every hop's price is
/// computed (so an overflow reverts even under a zero floor); a price below the floor reverts.
fn v3_hop_price_check(
    prices: HopPrices<'_>,
    hop: usize,
    amount_out: U256,
    amount_in: U256,
) -> Result<(), SkipReason> {
    if prices.is_empty() {
        return Ok(());
    }
    let floor = prices.get(hop).ok_or(REVERT)?;
    if v3_hop_price(amount_out, amount_in).ok_or(REVERT)? < floor {
        return Err(REVERT);
    }
    Ok(())
}

fn tokens_at(path: PathView<'_>, i: usize) -> Result<(Address, Address), SkipReason> {
    let a = path.get(i).ok_or(SkipReason::MalformedCalldata)?;
    let b = path.get(i + 1).ok_or(SkipReason::MalformedCalldata)?;
    // `sortTokens` reverts on identical addresses.
    if a == b {
        return Err(REVERT);
    }
    Ok((a, b))
}

/// A pool delta the router reads as a `uint256`; a negative one means the pool broke its
/// own accounting, which the router would not survive either.
fn unsigned(x: I256) -> Result<U256, SkipReason> {
    if x.is_negative() {
        Err(REVERT)
    } else {
        Ok(x.into_raw())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn held_tokens_credit_and_debit() {
        let (a, b) = (Address::with_last_byte(1), Address::with_last_byte(2));
        let mut held = Held::default();
        held.credit(a, U256::from(5)).unwrap();
        held.credit(a, U256::from(7)).unwrap();
        assert_eq!(held.balance(a), U256::from(12));
        assert_eq!(held.debit(a, U256::from(13)), Err(REVERT));
        held.debit(a, U256::from(12)).unwrap();
        assert_eq!(held.balance(a), U256::ZERO);
        assert_eq!(held.debit(b, U256::from(1)), Err(REVERT));
        assert_eq!(held.debit(b, U256::ZERO), Ok(()));
    }

    #[test]
    fn hop_prices_follow_the_routers_arithmetic() {
        let e36 = U256::from(10u8).pow(U256::from(36u8));
        assert_eq!(
            v2_hop_price(U256::from(3), U256::from(2)),
            Some(e36 * U256::from(3) / U256::from(2))
        );
        assert_eq!(
            v3_hop_price(U256::from(2), U256::from(3)),
            Some(e36 * U256::from(2) / U256::from(3))
        );
        // Floored: 1e36 / 3 = 333..3.
        assert_eq!(
            v3_hop_price(U256::ONE, U256::from(3)),
            Some(e36 / U256::from(3))
        );
        // A zero input divides by zero: a panic in both.
        assert_eq!(v2_hop_price(U256::ONE, U256::ZERO), None);
        assert_eq!(v3_hop_price(U256::ONE, U256::ZERO), None);
        // 2^200 · 1e36 overflows: V2 (`unchecked`) wraps, V3 (checked) panics.
        let big = U256::ONE << 200;
        assert_eq!(v2_hop_price(big, U256::ONE), Some(big.wrapping_mul(e36)));
        assert_eq!(v3_hop_price(big, U256::ONE), None);
        let words = [0u8; 64];
        let two_zero_floors = HopPrices::new(&words).unwrap();
        // With any floors, V3 computes every hop's price: an overflow reverts under a zero floor.
        assert_eq!(
            v3_hop_price_check(two_zero_floors, 1, big, U256::ONE),
            Err(REVERT)
        );
        assert_eq!(
            v3_hop_price_check(two_zero_floors, 1, U256::ONE, U256::ONE),
            Ok(())
        );
        assert_eq!(
            v3_hop_price_check(HopPrices::default(), 0, big, U256::ZERO),
            Ok(())
        );
    }

    #[test]
    fn surplus_is_taken_once() {
        let mut s = Surplus::default();
        s.credit(PoolId(3), true, U256::from(4)).unwrap();
        s.credit(PoolId(3), false, U256::from(9)).unwrap();
        s.credit(PoolId(3), true, U256::from(1)).unwrap();
        assert_eq!(s.take(PoolId(3)), (U256::from(5), U256::from(9)));
        assert_eq!(s.take(PoolId(3)), (U256::ZERO, U256::ZERO));
        assert_eq!(s.take(PoolId(8)), (U256::ZERO, U256::ZERO));
    }
}
