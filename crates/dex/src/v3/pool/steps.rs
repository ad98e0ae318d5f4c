//! Full swap steps computed ahead, on the slow lane, so that the hot lane's exact-input quotes
//! cross tick boundaries by a table lookup instead of the step's 512-bit arithmetic.
//!
//! **Why it is exact.** One iteration of the pool's swap loop is a pure function of the
//! snapshot (ticks, bitmap, fee), the loop state (price, tick, active liquidity), the limit and
//! the amount remaining. An exact-input step that reaches its tick boundary takes and pays
//! amounts that do not depend on what remained (see [`super::ladder`]), and it reaches the
//! boundary exactly when what remains covers its input and fee and the limit does not stop it
//! first. So for a state found in the table, a quote whose remaining amount covers the entry's
//! cost and whose limit is not before the entry's end price takes the entry's amounts and end
//! state: the same numbers the step would compute. Entries are keyed by the whole state (tick,
//! price, liquidity), so a state the table does not hold, or any other quote, computes the
//! step as before.
//!
//! **Which states.** Per direction, the walk from the snapshot's own state (the first step of
//! a quote on a pool the victim did not touch), and the boundaries around it: the table walks
//! [`STEP_REACH`] steps against the direction, then back along it twice as far, recording every
//! full step. A pool a pending swap moved keeps being covered for the boundaries that swap
//! crossed and beyond, which is where a backrun in the other direction walks.
//!
//! Built by [`V3Pool::with_step_table`] (about 290 steps, both directions: tens of
//! microseconds, slow lane only). A swap update keeps the table (the ticks are the same, and entries are keyed by
//! exact states); a position change drops it.

use std::sync::Arc;

use alloy_primitives::{I256, U256};

use super::swap::State;
use super::{V3Pool, default_price_limit};

/// Steps the table walks against each direction before walking along it.
pub const STEP_REACH: usize = 48;

/// One full step: where it starts, what it takes and pays, where it ends.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct FullStep {
    from_tick: i32,
    from_price: U256,
    from_liquidity: u128,
    /// Input plus fee.
    paid: I256,
    /// Output.
    received: I256,
    to_price: U256,
    to_tick: i32,
    to_liquidity: u128,
}

/// Full steps of one pool snapshot, both directions, sorted by starting tick and price.
#[derive(Debug)]
pub(super) struct StepTable {
    down: Box<[FullStep]>,
    up: Box<[FullStep]>,
}

/// A pool's optional [`StepTable`]: a cache derived from the snapshot, so it takes no part
/// in comparing snapshots.
#[derive(Clone, Debug, Default)]
pub(super) struct StepCache(pub(super) Option<Arc<StepTable>>);

impl PartialEq for StepCache {
    fn eq(&self, _: &Self) -> bool {
        true
    }
}

impl Eq for StepCache {}

impl StepCache {
    /// The table's step from `state` in the direction, if it holds one that a quote with
    /// `remaining` to spend and `limit` would take in full.
    #[inline]
    pub(super) fn take(&self, state: &State, zero_for_one: bool, limit: U256) -> Option<State> {
        let table = self.0.as_deref()?;
        let steps = if zero_for_one { &table.down } else { &table.up };
        let key = (state.tick, state.sqrt_price_x96);
        let i = steps
            .binary_search_by(|s| (s.from_tick, s.from_price).cmp(&key))
            .ok()?;
        let s = steps.get(i)?;
        let within = if zero_for_one {
            s.to_price >= limit
        } else {
            s.to_price <= limit
        };
        if s.from_liquidity != state.liquidity || state.remaining < s.paid || !within {
            return None;
        }
        Some(State {
            remaining: state.remaining.wrapping_sub(s.paid),
            calculated: state.calculated.checked_sub(s.received)?,
            sqrt_price_x96: s.to_price,
            tick: s.to_tick,
            liquidity: s.to_liquidity,
            steps: state.steps,
        })
    }
}

impl V3Pool {
    /// This snapshot with a table of full steps around its price (see the module docs): the
    /// same quotes, fewer multiplications and divisions for exact inputs. Slow lane only.
    pub fn with_step_table(mut self) -> Self {
        let down = self.record_steps(true);
        let up = self.record_steps(false);
        self.steps = StepCache(Some(Arc::new(StepTable {
            down: down.into(),
            up: up.into(),
        })));
        self
    }

    /// Whether this snapshot carries a step table, and its entries per direction.
    pub fn step_table_len(&self) -> Option<(usize, usize)> {
        self.steps.0.as_ref().map(|t| (t.down.len(), t.up.len()))
    }

    /// Full steps in direction `zero_for_one`, sorted and unique by starting tick and price.
    fn record_steps(&self, zero_for_one: bool) -> Vec<FullStep> {
        let start = State {
            remaining: I256::MAX,
            calculated: I256::ZERO,
            sqrt_price_x96: self.slot0.sqrt_price_x96,
            tick: self.slot0.tick,
            liquidity: self.liquidity,
            steps: 0,
        };
        let mut out = Vec::with_capacity(3 * STEP_REACH + 1);
        // From the snapshot's own state, and from STEP_REACH boundaries behind it.
        let mut behind = start;
        self.walk_steps(&mut behind, !zero_for_one, STEP_REACH, &mut |_| {});
        let mut from_start = start;
        self.walk_steps(&mut from_start, zero_for_one, 1, &mut |s| out.push(s));
        behind.remaining = I256::MAX;
        self.walk_steps(&mut behind, zero_for_one, 2 * STEP_REACH, &mut |s| {
            out.push(s)
        });
        out.sort_by_key(|s| (s.from_tick, s.from_price));
        // The same tick and price is the same state (the liquidity follows from them in a
        // consistent pool): a duplicate is one step recorded twice.
        out.dedup_by(|a, b| (a.from_tick, a.from_price) == (b.from_tick, b.from_price));
        out
    }

    /// Up to `max` steps of the pool's loop from `state`; `record` sees each full one.
    fn walk_steps(
        &self,
        state: &mut State,
        zero_for_one: bool,
        max: usize,
        record: &mut dyn FnMut(FullStep),
    ) {
        let limit = default_price_limit(zero_for_one);
        for _ in 0..max {
            if state.sqrt_price_x96 == limit {
                return;
            }
            let before = *state;
            match self.step(state, zero_for_one, true, limit, true) {
                Ok(true) => record(FullStep {
                    from_tick: before.tick,
                    from_price: before.sqrt_price_x96,
                    from_liquidity: before.liquidity,
                    paid: before.remaining.wrapping_sub(state.remaining),
                    received: before.calculated.wrapping_sub(state.calculated),
                    to_price: state.sqrt_price_x96,
                    to_tick: state.tick,
                    to_liquidity: state.liquidity,
                }),
                // A step that errs or stops short (the range's end) ends the walk.
                Ok(false) | Err(_) => return,
            }
        }
    }
}
