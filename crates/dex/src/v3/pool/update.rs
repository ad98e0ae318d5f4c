//! Pure updates of a snapshot from pool logs, mirroring the pool's `_modifyPosition` and
//! `Tick.update` for `Mint` and `Burn`, and slot0 for `Swap`.

use alloy_primitives::U256;

use super::{Slot0, TickInfo, V3Error, V3Event, V3Pool, bitmap_of};
use crate::v3::liquidity_math::add_delta;
use crate::v3::tick_math::{MAX_TICK, MIN_TICK};

impl V3Pool {
    /// The snapshot after `event`, as the pool's storage would be after the log's transaction.
    pub fn apply(&self, event: &V3Event) -> Result<Self, V3Error> {
        match *event {
            V3Event::Swap {
                sqrt_price_x96,
                liquidity,
                tick,
            } => self.with_swap(sqrt_price_x96, liquidity, tick),
            V3Event::Mint {
                tick_lower,
                tick_upper,
                amount,
            } => {
                let delta = i128::try_from(amount).map_err(|_| V3Error::Math)?;
                self.with_position_change(tick_lower, tick_upper, delta)
            }
            V3Event::Burn {
                tick_lower,
                tick_upper,
                amount,
            } => {
                let delta = i128::try_from(amount).map_err(|_| V3Error::Math)?;
                self.with_position_change(tick_lower, tick_upper, -delta)
            }
        }
    }

    /// After a `Swap` log: the price, liquidity and tick it reports; the tick tables are
    /// shared with `self`. Checked like a new snapshot.
    pub fn with_swap(
        &self,
        sqrt_price_x96: U256,
        liquidity: u128,
        tick: i32,
    ) -> Result<Self, V3Error> {
        let pool = Self {
            slot0: Slot0 {
                sqrt_price_x96,
                tick,
                fee_protocol: self.slot0.fee_protocol,
            },
            liquidity,
            ..self.clone()
        };
        pool.check_state()?;
        Ok(pool)
    }

    /// After liquidity `delta` is added to (or, negative, removed from) the position
    /// `[tick_lower, tick_upper)`: both ticks' gross and net liquidity, the bitmap bits of
    /// ticks whose gross liquidity goes to or from zero, and the active liquidity when the
    /// position spans the current tick. Fails where the pool reverts.
    pub fn with_position_change(
        &self,
        tick_lower: i32,
        tick_upper: i32,
        delta: i128,
    ) -> Result<Self, V3Error> {
        let spacing = self.key.tick_spacing;
        if tick_lower >= tick_upper
            || tick_lower < MIN_TICK
            || tick_upper > MAX_TICK
            || tick_lower % spacing != 0
            || tick_upper % spacing != 0
        {
            return Err(V3Error::InvalidTickRange);
        }
        if delta == 0 {
            // A poke (burn of 0) touches no tick and no liquidity.
            return Ok(self.clone());
        }
        let max_gross = max_liquidity_per_tick(spacing);
        let mut ticks = self.ticks.to_vec();
        update_tick(&mut ticks, tick_lower, delta, false, max_gross)?;
        update_tick(&mut ticks, tick_upper, delta, true, max_gross)?;
        let mut liquidity = self.liquidity;
        if (tick_lower..tick_upper).contains(&self.slot0.tick) {
            liquidity = add_delta(liquidity, delta).ok_or(V3Error::Liquidity)?;
        }
        let bitmap = bitmap_of(&ticks, spacing);
        Ok(Self {
            key: self.key,
            slot0: self.slot0,
            liquidity,
            ticks: ticks.into(),
            bitmap: bitmap.into(),
            // New boundaries or liquidity: steps computed for the old ones do not apply.
            steps: Default::default(),
        })
    }
}

/// `Tick.update` on a sorted tick list: adds `delta` to the gross liquidity and to the net
/// (subtracts it for an upper tick), inserts a newly initialized tick and removes one whose
/// gross liquidity reaches zero (`ticks.clear`).
fn update_tick(
    ticks: &mut Vec<TickInfo>,
    tick: i32,
    delta: i128,
    upper: bool,
    max_gross: u128,
) -> Result<(), V3Error> {
    let found = ticks.binary_search_by_key(&tick, |t| t.tick);
    let before = match found {
        Ok(i) => ticks.get(i).copied().ok_or(V3Error::InvalidSnapshot)?,
        Err(_) => TickInfo {
            tick,
            liquidity_gross: 0,
            liquidity_net: 0,
        },
    };
    let gross = add_delta(before.liquidity_gross, delta).ok_or(V3Error::Liquidity)?;
    if gross > max_gross {
        return Err(V3Error::Liquidity);
    }
    let net = if upper {
        before.liquidity_net.checked_sub(delta)
    } else {
        before.liquidity_net.checked_add(delta)
    }
    .ok_or(V3Error::Math)?;
    let after = TickInfo {
        tick,
        liquidity_gross: gross,
        liquidity_net: net,
    };
    match (found, gross) {
        (Ok(i), 0) => {
            ticks.remove(i);
        }
        (Ok(i), _) => {
            if let Some(slot) = ticks.get_mut(i) {
                *slot = after;
            }
        }
        (Err(i), _) => ticks.insert(i, after),
    }
    Ok(())
}

/// `Tick.tickSpacingToMaxLiquidityPerTick`: the most gross liquidity one tick may hold.
fn max_liquidity_per_tick(tick_spacing: i32) -> u128 {
    // Truncating division, as in the Solidity.
    let min_tick = (MIN_TICK / tick_spacing) * tick_spacing;
    let max_tick = (MAX_TICK / tick_spacing) * tick_spacing;
    let num_ticks = ((max_tick - min_tick) / tick_spacing).unsigned_abs() + 1;
    u128::MAX / u128::from(num_ticks)
}
