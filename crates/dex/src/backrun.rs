//! Replaying a victim swap on the pool snapshot, and choosing the backrun that follows it.
//!
//! [`apply_victim`] reproduces Router02 exactly: all hop amounts are computed up front from the
//! pre-swap reserves (as `getAmountsOut` / `getAmountsIn` do), the slippage bound is checked, and
//! each hop's balances are then applied to a fixed-size [`Overlay`]. [`find_backrun`] prices
//! two-pool cycles through the touched pools on those post-victim reserves. Our trade always
//! goes *after* the victim; nothing here trades ahead of it.

use kestrel_types::{Address, PoolId, SkipReason, U256};

use crate::math::{FEE_DEN, RESERVE_LIMIT, get_amount_in, get_amount_out, optimal_cycle_input};
use crate::pool::{PoolSnapshot, orient};
use crate::router::{MAX_PATH, SwapIntent, SwapKind};

/// Most hops of a victim path the engine replays.
pub const MAX_HOPS: usize = 3;

const _: () = assert!(
    MAX_PATH == MAX_HOPS + 1,
    "a path of MAX_PATH tokens has MAX_HOPS hops"
);

/// Basis-point denominator for the builder payment.
const BPS_DEN: u32 = 10_000;

/// Reserves after the victim, for the pools its path touches (fixed array, no allocation).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Overlay {
    entries: [(PoolId, U256, U256); MAX_HOPS],
    len: usize,
}

impl Default for Overlay {
    fn default() -> Self {
        Overlay {
            entries: [(PoolId(0), U256::ZERO, U256::ZERO); MAX_HOPS],
            len: 0,
        }
    }
}

impl Overlay {
    /// The post-victim `(reserve0, reserve1)` of `id` if the victim touched it.
    pub fn get(&self, id: PoolId) -> Option<(U256, U256)> {
        self.live().iter().find(|e| e.0 == id).map(|e| (e.1, e.2))
    }

    /// `(reserve0, reserve1)` of `id`: the overlay's if touched, else the snapshot's. A pool id
    /// outside the snapshot reads as empty reserves, which every pricing function rejects.
    pub fn reserves(&self, snap: &PoolSnapshot, id: PoolId) -> (U256, U256) {
        self.get(id)
            .or_else(|| snap.get(id).map(|p| (p.reserve0, p.reserve1)))
            .unwrap_or((U256::ZERO, U256::ZERO))
    }

    /// The touched pools, in path order, each once.
    pub fn touched(&self) -> impl Iterator<Item = PoolId> + '_ {
        self.live().iter().map(|e| e.0)
    }

    /// Number of touched pools.
    pub fn len(&self) -> usize {
        self.len
    }

    /// True when no pool was touched.
    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    fn live(&self) -> &[(PoolId, U256, U256)] {
        self.entries.get(..self.len).unwrap_or(&[])
    }

    /// Records new reserves for `id`, replacing an earlier entry of the same pool.
    fn set(&mut self, id: PoolId, reserve0: U256, reserve1: U256) -> Result<(), SkipReason> {
        let live = self.len;
        if let Some(e) = self.entries.iter_mut().take(live).find(|e| e.0 == id) {
            *e = (id, reserve0, reserve1);
            return Ok(());
        }
        // Unreachable for paths of at most MAX_HOPS hops; kept as an error, not a panic.
        let slot = self.entries.get_mut(live).ok_or(SkipReason::PathTooLong)?;
        *slot = (id, reserve0, reserve1);
        self.len += 1;
        Ok(())
    }
}

/// One hop of the victim's path, resolved against the snapshot.
#[derive(Clone, Copy)]
struct Hop {
    pool: PoolId,
    /// The hop pays in the pool's `token0`.
    in_is_token0: bool,
    /// Pre-victim reserves oriented (in, out): what Router02's `getAmounts*` read.
    reserve_in: U256,
    reserve_out: U256,
}

const NO_HOP: Hop = Hop {
    pool: PoolId(0),
    in_is_token0: false,
    reserve_in: U256::ZERO,
    reserve_out: U256::ZERO,
};

/// Applies the victim's swap through its router's `factory`, hop by hop, exactly as Router02
/// would, and returns the touched pools' reserves afterwards.
///
/// Errors: `VictimExpired` (deadline before `now_unix`), `PathTooLong`, `VictimWouldRevert` (ETH
/// variants whose path does not start / end in `weth`, a slippage bound that fails, a hop the
/// library or pair rejects, a path that turns straight back through one pair), `FeeOnTransfer` (a path token listed in `fee_on_transfer`; the
/// fee-on-transfer variants with ordinary tokens are priced like exact-in), `UnknownPool` (a hop
/// or the factory not in the snapshot).
pub fn apply_victim(
    snap: &PoolSnapshot,
    factory: kestrel_types::FactoryId,
    weth: Address,
    intent: &SwapIntent<'_>,
    now_unix: u64,
    fee_on_transfer: &[Address],
) -> Result<Overlay, SkipReason> {
    // Router02's `ensure` modifier: `deadline >= block.timestamp`.
    if intent.deadline < U256::from(now_unix) {
        return Err(SkipReason::VictimExpired);
    }
    let path = intent.path;
    let hop_count = path
        .len()
        .checked_sub(1)
        .filter(|&h| h >= 1)
        .ok_or(SkipReason::MalformedCalldata)?;
    if hop_count > MAX_HOPS {
        return Err(SkipReason::PathTooLong);
    }
    if (intent.eth_in && path.first() != Some(weth))
        || (intent.eth_out && path.last() != Some(weth))
    {
        return Err(SkipReason::VictimWouldRevert);
    }
    if path.iter().any(|t| fee_on_transfer.contains(&t)) {
        return Err(SkipReason::FeeOnTransfer);
    }
    let fee_num = snap
        .factory(factory)
        .ok_or(SkipReason::UnknownPool)?
        .fee_num;
    let mut hops = [NO_HOP; MAX_HOPS];
    for (i, hop) in hops.iter_mut().enumerate().take(hop_count) {
        if path.turns_back_at(i) {
            return Err(SkipReason::VictimWouldRevert);
        }
        *hop = resolve_hop(snap, factory, path.get(i), path.get(i + 1))?;
    }
    let hops = hops.get(..hop_count).ok_or(SkipReason::PathTooLong)?;
    let amounts = match intent.kind {
        SwapKind::ExactIn => amounts_out(intent.amount_in, hops, fee_num)?,
        SwapKind::ExactOut => amounts_in(intent.amount_out, hops, fee_num)?,
    };
    let (first, last) = (amounts[0], amounts[hop_count]);
    let bound_ok = match intent.kind {
        SwapKind::ExactIn => last >= intent.amount_out,
        SwapKind::ExactOut => first <= intent.amount_in,
    };
    if !bound_ok {
        return Err(SkipReason::VictimWouldRevert);
    }
    let mut overlay = Overlay::default();
    for (i, hop) in hops.iter().enumerate() {
        // The last pair pays `to`; where `to` is that pair, its output never leaves it.
        let pays_itself = i + 1 == hop_count
            && snap
                .get(hop.pool)
                .is_some_and(|p| p.address == intent.recipient);
        apply_hop(
            &mut overlay,
            snap,
            hop,
            (amounts[i], amounts[i + 1]),
            fee_num,
            pays_itself,
        )?;
    }
    Ok(overlay)
}

fn resolve_hop(
    snap: &PoolSnapshot,
    factory: kestrel_types::FactoryId,
    token_in: Option<Address>,
    token_out: Option<Address>,
) -> Result<Hop, SkipReason> {
    let (Some(token_in), Some(token_out)) = (token_in, token_out) else {
        return Err(SkipReason::MalformedCalldata);
    };
    // `sortTokens` reverts on identical addresses.
    if token_in == token_out {
        return Err(SkipReason::VictimWouldRevert);
    }
    let id = snap
        .pool_for(factory, token_in, token_out)
        .ok_or(SkipReason::UnknownPool)?;
    let pool = snap.get(id).ok_or(SkipReason::UnknownPool)?;
    let (reserve_in, reserve_out) = pool.oriented(token_in).ok_or(SkipReason::UnknownPool)?;
    Ok(Hop {
        pool: id,
        in_is_token0: token_in == pool.token0,
        reserve_in,
        reserve_out,
    })
}

/// `getAmountsOut`: forward from the exact input.
fn amounts_out(
    amount_in: U256,
    hops: &[Hop],
    fee_num: u32,
) -> Result<[U256; MAX_PATH], SkipReason> {
    let mut amounts = [U256::ZERO; MAX_PATH];
    amounts[0] = amount_in;
    for (i, h) in hops.iter().enumerate().take(MAX_HOPS) {
        let out = get_amount_out(amounts[i], h.reserve_in, h.reserve_out, fee_num)
            .ok_or(SkipReason::VictimWouldRevert)?;
        amounts[i + 1] = out;
    }
    Ok(amounts)
}

/// `getAmountsIn`: backward from the exact output.
fn amounts_in(
    amount_out: U256,
    hops: &[Hop],
    fee_num: u32,
) -> Result<[U256; MAX_PATH], SkipReason> {
    let mut amounts = [U256::ZERO; MAX_PATH];
    let n = hops.len().min(MAX_HOPS);
    amounts[n] = amount_out;
    for (i, h) in hops.iter().enumerate().take(n).rev() {
        let amount_in = get_amount_in(amounts[i + 1], h.reserve_in, h.reserve_out, fee_num)
            .ok_or(SkipReason::VictimWouldRevert)?;
        amounts[i] = amount_in;
    }
    Ok(amounts)
}

/// `UniswapV2Pair.swap` for one hop: balances move by the router's amounts and the pair's own
/// checks apply. Only a pool the path visits twice can fail the K check, because its second
/// visit was priced on reserves the first visit already moved.
/// One pair's `swap` of `amount_in` for `amount_out`. `pays_itself`: the pair is its own `to`,
/// so the output is transferred to itself and `_update` syncs the out reserve back to a balance
/// that never fell: only the input moves the reserves.
fn apply_hop(
    overlay: &mut Overlay,
    snap: &PoolSnapshot,
    hop: &Hop,
    (amount_in, amount_out): (U256, U256),
    fee_num: u32,
    pays_itself: bool,
) -> Result<(), SkipReason> {
    let revisit = overlay.get(hop.pool).is_some();
    let (r0, r1) = overlay.reserves(snap, hop.pool);
    let (r_in, r_out) = if hop.in_is_token0 { (r0, r1) } else { (r1, r0) };
    // INSUFFICIENT_OUTPUT_AMOUNT, INSUFFICIENT_LIQUIDITY, then uint112 OVERFLOW in `_update`.
    if amount_out.is_zero() || amount_out >= r_out {
        return Err(SkipReason::VictimWouldRevert);
    }
    let new_in = r_in
        .checked_add(amount_in)
        .filter(|b| *b < RESERVE_LIMIT)
        .ok_or(SkipReason::VictimWouldRevert)?;
    let new_out = if pays_itself {
        r_out
    } else {
        r_out - amount_out
    };
    if revisit && !k_holds(r_in, r_out, new_in, new_out, amount_in, fee_num) {
        return Err(SkipReason::VictimWouldRevert);
    }
    let (n0, n1) = if hop.in_is_token0 {
        (new_in, new_out)
    } else {
        (new_out, new_in)
    };
    overlay.set(hop.pool, n0, n1)
}

/// The pair's invariant check: `(bIn*1000 - in*(1000-fee)) * bOut*1000 >= rIn*rOut*1000^2`.
/// All values are below 2^112 here, so no product overflows.
fn k_holds(
    r_in: U256,
    r_out: U256,
    b_in: U256,
    b_out: U256,
    amount_in: U256,
    fee_num: u32,
) -> bool {
    let den = U256::from(FEE_DEN);
    let fee = U256::from(FEE_DEN.saturating_sub(fee_num));
    let Some(adj_in) = (b_in * den).checked_sub(amount_in * fee) else {
        return false;
    };
    adj_in * (b_out * den) >= r_in * r_out * den * den
}

/// What the backrun trades with and what it must earn.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackrunParams {
    /// The token each cycle starts and ends in (WETH).
    pub capital_token: Address,
    /// The executor's balance of it: the cap on `amount_in`.
    pub capital: U256,
    /// Minimum profit after gas and builder payment.
    pub min_profit_wei: U256,
    /// Gas cost of the backrun, in capital-token units (wei).
    pub gas_cost_wei: U256,
    /// Share of the gross profit paid to the builder, in basis points (at most 10 000).
    pub payment_bps: u32,
}

impl BackrunParams {
    /// The builder's share of `profit_gross`. The `min` keeps a misconfigured bps above
    /// 10 000 from paying out more than the profit.
    pub fn payment(&self, profit_gross: U256) -> U256 {
        (profit_gross.saturating_mul(U256::from(self.payment_bps)) / U256::from(BPS_DEN))
            .min(profit_gross)
    }

    /// Whether a profit net of the builder's payment clears gas and the minimum profit.
    pub fn clears(&self, profit_net: U256) -> bool {
        profit_net >= self.gas_cost_wei.saturating_add(self.min_profit_wei)
    }
}

/// The chosen backrun: pay `amount_in` capital into `pool_buy`, pay the `amount_mid` out of it
/// into `pool_sell`, receive `amount_out` capital.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct BackrunPlan {
    /// Where the capital token is sold for the other token.
    pub pool_buy: PoolId,
    /// Where the other token is sold back for the capital token.
    pub pool_sell: PoolId,
    /// Capital paid in.
    pub amount_in: U256,
    /// Other token out of `pool_buy` and into `pool_sell`.
    pub amount_mid: U256,
    /// Capital received.
    pub amount_out: U256,
    /// `amount_out - amount_in`.
    pub profit_gross: U256,
    /// `profit_gross * payment_bps / 10000`, to the builder.
    pub payment: U256,
    /// `profit_gross - payment`.
    pub profit_net: U256,
}

/// Picks the most profitable two-pool cycle after the victim.
///
/// For every touched pool P whose pair holds the capital token and every sibling Q of that pair
/// on another factory, both directions are sized with [`optimal_cycle_input`] (capped at
/// `capital`) and priced exactly with [`get_amount_out`] on the post-victim reserves.
///
/// Errors: `NoCycle` (no touched capital-token pair with a sibling), `Unprofitable` (no cycle
/// gains anything), `BelowMinProfit` (`profit_net < gas_cost_wei + min_profit_wei`).
pub fn find_backrun(
    snap: &PoolSnapshot,
    overlay: &Overlay,
    p: &BackrunParams,
) -> Result<BackrunPlan, SkipReason> {
    let mut any_cycle = false;
    let mut best: Option<BackrunPlan> = None;
    for touched in overlay.touched() {
        let Some(other) = snap
            .get(touched)
            .and_then(|pool| pool.other(p.capital_token))
        else {
            continue;
        };
        for sibling in snap
            .pools_for_pair(p.capital_token, other)
            .filter(|&s| s != touched)
        {
            any_cycle = true;
            for (buy, sell) in [(touched, sibling), (sibling, touched)] {
                let Some(plan) = price_cycle(snap, overlay, p, buy, sell) else {
                    continue;
                };
                if best.is_none_or(|b| plan.profit_gross > b.profit_gross) {
                    best = Some(plan);
                }
            }
        }
    }
    if !any_cycle {
        return Err(SkipReason::NoCycle);
    }
    let best = best.ok_or(SkipReason::Unprofitable)?;
    if !p.clears(best.profit_net) {
        return Err(SkipReason::BelowMinProfit);
    }
    Ok(best)
}

/// The sized and priced cycle capital → `buy` → `sell` → capital, if it gains anything.
fn price_cycle(
    snap: &PoolSnapshot,
    overlay: &Overlay,
    p: &BackrunParams,
    buy: PoolId,
    sell: PoolId,
) -> Option<BackrunPlan> {
    let (buy_pool, sell_pool) = (snap.get(buy)?, snap.get(sell)?);
    let (b0, b1) = overlay.reserves(snap, buy);
    let (x1, y1) = orient(buy_pool, b0, b1, p.capital_token)?;
    let (s0, s1) = overlay.reserves(snap, sell);
    let (x2, y2) = orient(sell_pool, s0, s1, p.capital_token)?;
    let n1 = snap.factory(buy_pool.factory)?.fee_num;
    let n2 = snap.factory(sell_pool.factory)?.fee_num;
    let amount_in = optimal_cycle_input(x1, y1, y2, x2, n1, n2).min(p.capital);
    let amount_mid = get_amount_out(amount_in, x1, y1, n1)?;
    let amount_out = get_amount_out(amount_mid, y2, x2, n2)?;
    let profit_gross = amount_out.checked_sub(amount_in).filter(|g| !g.is_zero())?;
    let payment = p.payment(profit_gross);
    Some(BackrunPlan {
        pool_buy: buy,
        pool_sell: sell,
        amount_in,
        amount_mid,
        amount_out,
        profit_gross,
        payment,
        profit_net: profit_gross - payment,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn overlay_replaces_and_falls_back() {
        let mut o = Overlay::default();
        assert!(o.is_empty());
        o.set(PoolId(4), U256::from(1), U256::from(2)).unwrap();
        o.set(PoolId(9), U256::from(3), U256::from(4)).unwrap();
        o.set(PoolId(4), U256::from(5), U256::from(6)).unwrap();
        assert_eq!(o.len(), 2);
        assert_eq!(o.get(PoolId(4)), Some((U256::from(5), U256::from(6))));
        assert_eq!(o.touched().collect::<Vec<_>>(), [PoolId(4), PoolId(9)]);
        o.set(PoolId(1), U256::ZERO, U256::ZERO).unwrap();
        assert_eq!(
            o.set(PoolId(2), U256::ZERO, U256::ZERO),
            Err(SkipReason::PathTooLong),
            "full"
        );
        let empty = PoolSnapshot::new(1, Vec::new(), Vec::new());
        assert_eq!(o.reserves(&empty, PoolId(77)), (U256::ZERO, U256::ZERO));
        assert_eq!(
            o.reserves(&empty, PoolId(9)),
            (U256::from(3), U256::from(4))
        );
    }

    #[test]
    fn k_check_matches_the_pair() {
        // Reserves 1000/1000, 100 in: getAmountOut = 99_700*1000 / 1_099_700 = 90.66 -> 90.
        // 90 passes: (1100*1000 - 300) * 910*1000 = 1_099_700 * 910_000 = 1.0007e12 >= 1e12.
        // 91 fails:  1_099_700 * 909_000 = 999_627_300_000 < 1e12.
        let k = |v: u64| U256::from(v);
        assert!(k_holds(k(1000), k(1000), k(1100), k(910), k(100), 997));
        assert!(!k_holds(k(1000), k(1000), k(1100), k(909), k(100), 997));
    }
}
