//! Backrun cycles over any mix of V2 and V3 pools: the pool registry, cycle enumeration, exact
//! evaluation and sizing.
//!
//! A [`PoolRegistry`] holds the V2 [`PoolSnapshot`] and the V3 pools of one block with the
//! indexes the hot lane needs (built once by the slow lane; lookups hash but never allocate).
//! For each pool a victim touched, [`PoolRegistry::for_each_cycle`] enumerates the cycles that
//! start and end in the capital token (WETH) through it, in both directions:
//!
//! - 2 hops: the touched pool and another pool of the same pair (the pair on another V2
//!   factory, or a V3 pool of another fee tier or factory);
//! - 3 hops: triangles capital → A → B → capital with the touched pool on any leg.
//!
//! [`cycle_quote`] prices a cycle exactly for an input (V2 with [`get_amount_out`] on the
//! post-victim reserves, V3 with the pool's own swap from the post-victim state), and
//! [`size_cycle`] picks the input: the closed form [`optimal_cycle_input`] for V2-V2 cycles,
//! otherwise [`search_cycle`], a bracketed, safeguarded Newton search over the exact quote that
//! never takes more than [`MAX_EVALS`] quotes.
//!
//! **How the search works.** Inside one V2 pair, and inside one V3 tick range, a hop's output
//! for an extra input `t` is `p·t / (1 + t/D)`: `p` is the marginal rate (price after fee) and
//! `D` a depth. Such curves compose into one of the same form, whose optimum is
//! `t* = (√p − 1)·D`. Every exact evaluation at `x` also yields each hop's local `(p, D)` after
//! `x`, so the next trial is `x + t*` (exact for V2-only cycles, and for V3 until a tick is
//! crossed). The cycle's output is concave (every hop's marginal rate falls as it trades), so
//! the sign of `p − 1` says on which side of `x` the optimum lies: that keeps a bracket, and a
//! trial outside it becomes a bisection. Each V3 quote of the search carries a price limit
//! where that pool's marginal rate alone makes the cycle lose (given the other hops' best
//! rates), so a trial far past the optimum stops there instead of walking every tick; the
//! partial fill it returns says where the usable range ends (exactly, for the first hop), and
//! the next trial goes just inside it. The same happens where a pool runs out of liquidity.
//!
//! The search stops when the model's step falls below `x / 2^12`, when the bracket is within
//! `lo / 2^12` (then the best priced input is within 1/4096 of the optimum's profit: with the
//! profit concave, `profit(lo) ≥ g·lo` and the optimum adds at most `g·(hi − lo)`, `g` the
//! slope at `lo`), when `(p0 − 1)·hi` (a ceiling on any profit below `hi`, `p0` the marginal
//! rate at zero input) cannot beat the best so far or the caller's floor, or after
//! [`MAX_EVALS`] quotes. It returns the most profitable input it priced exactly. Marginal
//! rates, depths and limits are floating-point heuristics that only choose where to look: every
//! amount reported is an exact quote, the same as the pools' swap with the routers' default
//! price limit.
//!
//! **Invariant:** enumeration, evaluation and sizing allocate nothing and never panic; the
//! number of cycles per victim and of quotes per cycle are bounded and counted.

use std::collections::HashMap;
use std::ops::ControlFlow;
use std::sync::Arc;

use kestrel_types::{Address, PoolId, SkipReason, U256};

use crate::backrun::BackrunParams;
use crate::math::{FEE_DEN, RESERVE_LIMIT, get_amount_out, isqrt, optimal_cycle_input};
use crate::pool::{PoolSnapshot, sort_tokens};
use crate::v3::full_math::mul_div;
use crate::v3::sqrt_price_math::to_i256;
use crate::v3::swap_math::FEE_DENOMINATOR_PIPS;
use crate::v3::tick_math::{MAX_SQRT_RATIO, MIN_SQRT_RATIO};
use crate::v3::{LadderQuote, SwapLadder, V3Error, V3Pool, default_price_limit};
use crate::victim::{StateOverlay, V3State};

/// Most pools one token pair may have across all factories and fee tiers.
pub const MAX_PAIR_POOLS: usize = 16;

/// Longest cycle evaluated.
pub const MAX_CYCLE_HOPS: usize = 3;

/// Most exact quotes [`search_cycle`] takes for one cycle.
pub const MAX_EVALS: u32 = 32;

/// Index of a V3 pool in a [`PoolRegistry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct V3Id(pub u32);

/// Index of a configured V3 factory (0 = first in the config).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct V3FactoryId(pub u8);

/// A pool of either kind in a [`PoolRegistry`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum PoolRef {
    /// A V2 pair of the registry's [`PoolSnapshot`].
    V2(PoolId),
    /// A V3 pool of the registry.
    V3(V3Id),
}

/// Inconsistent discovery data: the registry is not built rather than mis-price trades.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RegistryError {
    /// Two V3 pools at one address.
    #[error("V3 pool {0} listed twice")]
    DuplicateV3Pool(Address),
    /// Two V3 pools for one pair and fee on one factory.
    #[error("two V3 pools for one pair and fee on one factory: {0}")]
    DuplicateV3Key(Address),
    /// A pair with more pools than [`MAX_PAIR_POOLS`].
    #[error("more than {MAX_PAIR_POOLS} pools for the pair {0}/{1}")]
    TooManyPairPools(Address, Address),
    /// More V3 pools than a [`V3Id`] can number.
    #[error("more V3 pools than u32 ids")]
    TooManyPools,
}

/// The pools of one token pair (fixed capacity).
#[derive(Clone, Copy, Debug)]
struct PairPools {
    pools: [PoolRef; MAX_PAIR_POOLS],
    len: usize,
}

impl PairPools {
    const EMPTY: Self = Self {
        pools: [PoolRef::V2(PoolId(0)); MAX_PAIR_POOLS],
        len: 0,
    };

    fn as_slice(&self) -> &[PoolRef] {
        self.pools.get(..self.len).unwrap_or(&[])
    }

    fn push(&mut self, pool: PoolRef) -> bool {
        match self.pools.get_mut(self.len) {
            Some(slot) => {
                *slot = pool;
                self.len += 1;
                true
            }
            None => false,
        }
    }
}

/// Lookup tables over one pool set.
#[derive(Debug)]
struct Index {
    v3_by_address: HashMap<Address, V3Id>,
    v3_by_key: HashMap<(V3FactoryId, Address, Address, u32), V3Id>,
    /// Sorted token pair to its pools: V2 in id order, then V3 in id order.
    by_pair: HashMap<(Address, Address), PairPools>,
    /// Token A (not the capital token) to a range of `bridge_list`: the pools (A, B), B not
    /// the capital token, whose B also trades against the capital token. They are the middle
    /// legs of the triangles through a capital/A pool.
    bridges: HashMap<Address, (usize, usize)>,
    bridge_list: Vec<PoolRef>,
}

/// Every known V2 and V3 pool at one block, indexed for cycle search. Immutable once built.
#[derive(Clone, Debug)]
pub struct PoolRegistry {
    capital_token: Address,
    v2: PoolSnapshot,
    v3: Vec<V3Pool>,
    v3_factories: Vec<V3FactoryId>,
    index: Arc<Index>,
}

impl PoolRegistry {
    /// Builds the registry and its indexes for cycles through `capital_token`.
    ///
    /// Errors on data no chain can produce: duplicate V3 addresses or keys, a pair with more
    /// than [`MAX_PAIR_POOLS`] pools, more than `u32::MAX` V3 pools.
    pub fn new(
        capital_token: Address,
        v2: PoolSnapshot,
        v3: Vec<(V3FactoryId, V3Pool)>,
    ) -> Result<Self, RegistryError> {
        if u32::try_from(v3.len()).is_err() {
            return Err(RegistryError::TooManyPools);
        }
        let mut by_pair: HashMap<(Address, Address), PairPools> = HashMap::new();
        let mut add = |a: Address, b: Address, pool: PoolRef| {
            let key = sort_tokens(a, b);
            if by_pair.entry(key).or_insert(PairPools::EMPTY).push(pool) {
                Ok(())
            } else {
                Err(RegistryError::TooManyPairPools(key.0, key.1))
            }
        };
        for (i, p) in v2.pools().iter().enumerate() {
            add(p.token0, p.token1, PoolRef::V2(PoolId(i as u32)))?;
        }
        let mut v3_by_address = HashMap::with_capacity(v3.len());
        let mut v3_by_key = HashMap::with_capacity(v3.len());
        for (i, (factory, pool)) in v3.iter().enumerate() {
            let id = V3Id(i as u32);
            if v3_by_address.insert(pool.address(), id).is_some() {
                return Err(RegistryError::DuplicateV3Pool(pool.address()));
            }
            let key = (*factory, pool.token0(), pool.token1(), pool.fee_pips());
            if v3_by_key.insert(key, id).is_some() {
                return Err(RegistryError::DuplicateV3Key(pool.address()));
            }
            add(pool.token0(), pool.token1(), PoolRef::V3(id))?;
        }
        let (bridges, bridge_list) = bridges_of(&by_pair, capital_token);
        let (v3_factories, v3): (Vec<_>, Vec<_>) = v3.into_iter().unzip();
        Ok(Self {
            capital_token,
            v2,
            v3,
            v3_factories,
            index: Arc::new(Index {
                v3_by_address,
                v3_by_key,
                by_pair,
                bridges,
                bridge_list,
            }),
        })
    }

    /// The token every cycle starts and ends in.
    pub fn capital_token(&self) -> Address {
        self.capital_token
    }

    /// The V2 pools.
    pub fn v2(&self) -> &PoolSnapshot {
        &self.v2
    }

    /// Every V3 pool; a [`V3Id`] indexes this slice.
    pub fn v3_pools(&self) -> &[V3Pool] {
        &self.v3
    }

    /// The V3 pool with this id.
    pub fn v3(&self, id: V3Id) -> Option<&V3Pool> {
        self.v3.get(usize::try_from(id.0).ok()?)
    }

    /// The factory of the V3 pool with this id.
    pub fn v3_factory(&self, id: V3Id) -> Option<V3FactoryId> {
        self.v3_factories.get(usize::try_from(id.0).ok()?).copied()
    }

    /// The V3 pool at `address`.
    pub fn v3_by_address(&self, address: Address) -> Option<V3Id> {
        self.index.v3_by_address.get(&address).copied()
    }

    /// The V3 pool of `factory` for tokens `a` and `b` (either order) and `fee_pips`.
    pub fn v3_pool_for(
        &self,
        factory: V3FactoryId,
        a: Address,
        b: Address,
        fee_pips: u32,
    ) -> Option<V3Id> {
        let (t0, t1) = sort_tokens(a, b);
        self.index
            .v3_by_key
            .get(&(factory, t0, t1, fee_pips))
            .copied()
    }

    /// Every pool of the pair `a`/`b` (either order): V2 pairs in id order, then V3 pools.
    pub fn pools_for_pair(&self, a: Address, b: Address) -> &[PoolRef] {
        self.index
            .by_pair
            .get(&sort_tokens(a, b))
            .map_or(&[], PairPools::as_slice)
    }

    /// `(token0, token1)` of a pool.
    pub fn tokens(&self, pool: PoolRef) -> Option<(Address, Address)> {
        match pool {
            PoolRef::V2(id) => self.v2.get(id).map(|p| (p.token0, p.token1)),
            PoolRef::V3(id) => self.v3(id).map(|p| (p.token0(), p.token1())),
        }
    }

    /// The pool contract.
    pub fn address(&self, pool: PoolRef) -> Option<Address> {
        match pool {
            PoolRef::V2(id) => self.v2.get(id).map(|p| p.address),
            PoolRef::V3(id) => self.v3(id).map(V3Pool::address),
        }
    }

    fn other(&self, pool: PoolRef, token: Address) -> Option<Address> {
        let (t0, t1) = self.tokens(pool)?;
        if token == t0 {
            Some(t1)
        } else if token == t1 {
            Some(t0)
        } else {
            None
        }
    }

    fn bridges(&self, token: Address) -> &[PoolRef] {
        let Some(&(start, len)) = self.index.bridges.get(&token) else {
            return &[];
        };
        self.index
            .bridge_list
            .get(start..start.saturating_add(len))
            .unwrap_or(&[])
    }

    /// Calls `f` with every cycle through `touched` that starts and ends in the capital token,
    /// both directions of each, in a fixed order: 2-hop cycles first, then triangles. Stops
    /// when `f` breaks. A pool that does not hold the tokens it should (never for a pool of
    /// this registry) yields nothing.
    pub fn for_each_cycle(
        &self,
        touched: PoolRef,
        mut f: impl FnMut(&Cycle) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let Some((t0, t1)) = self.tokens(touched) else {
            return ControlFlow::Continue(());
        };
        let w = self.capital_token;
        if t0 == w || t1 == w {
            let a = if t0 == w { t1 } else { t0 };
            self.cycles_from_capital_pool(touched, a, &mut f)
        } else {
            self.cycles_through_middle(touched, t0, t1, &mut f)
        }
    }

    /// Cycles through `p`, a capital/`a` pool: with a sibling of the pair, and triangles
    /// capital → a → b → capital through a bridge pool (a, b).
    fn cycles_from_capital_pool(
        &self,
        p: PoolRef,
        a: Address,
        f: &mut impl FnMut(&Cycle) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let w = self.capital_token;
        for &q in self.pools_for_pair(w, a).iter().filter(|&&q| q != p) {
            f(&Cycle::two(hop(p, w, a), hop(q, a, w)))?;
            f(&Cycle::two(hop(q, w, a), hop(p, a, w)))?;
        }
        for &q in self.bridges(a) {
            let Some(b) = self.other(q, a) else { continue };
            for &r in self.pools_for_pair(b, w) {
                f(&Cycle::three(hop(p, w, a), hop(q, a, b), hop(r, b, w)))?;
                f(&Cycle::three(hop(r, w, b), hop(q, b, a), hop(p, a, w)))?;
            }
        }
        ControlFlow::Continue(())
    }

    /// Triangles with `p`, an `a`/`b` pool, as the middle leg.
    fn cycles_through_middle(
        &self,
        p: PoolRef,
        a: Address,
        b: Address,
        f: &mut impl FnMut(&Cycle) -> ControlFlow<()>,
    ) -> ControlFlow<()> {
        let w = self.capital_token;
        for &q in self.pools_for_pair(w, a) {
            for &r in self.pools_for_pair(b, w) {
                f(&Cycle::three(hop(q, w, a), hop(p, a, b), hop(r, b, w)))?;
                f(&Cycle::three(hop(r, w, b), hop(p, b, a), hop(q, a, w)))?;
            }
        }
        ControlFlow::Continue(())
    }
}

/// The bridge lists of [`Index::bridges`], each sorted so enumeration order is reproducible.
type Bridges = (HashMap<Address, (usize, usize)>, Vec<PoolRef>);

fn bridges_of(by_pair: &HashMap<(Address, Address), PairPools>, capital: Address) -> Bridges {
    let linked = |t: Address| by_pair.contains_key(&sort_tokens(t, capital));
    let mut lists: HashMap<Address, Vec<PoolRef>> = HashMap::new();
    for (&(a, b), pools) in by_pair {
        if a == capital || b == capital {
            continue;
        }
        for &pool in pools.as_slice() {
            if linked(b) {
                lists.entry(a).or_default().push(pool);
            }
            if linked(a) {
                lists.entry(b).or_default().push(pool);
            }
        }
    }
    let mut tokens: Vec<Address> = lists.keys().copied().collect();
    tokens.sort_unstable();
    let mut ranges = HashMap::with_capacity(tokens.len());
    let mut flat = Vec::new();
    for token in tokens {
        let Some(mut list) = lists.remove(&token) else {
            continue;
        };
        list.sort_unstable();
        ranges.insert(token, (flat.len(), list.len()));
        flat.extend(list);
    }
    (ranges, flat)
}

fn hop(pool: PoolRef, token_in: Address, token_out: Address) -> CycleHop {
    CycleHop {
        pool,
        token_in,
        token_out,
    }
}

/// One hop of a cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleHop {
    /// The pool traded.
    pub pool: PoolRef,
    /// The token paid in.
    pub token_in: Address,
    /// The token paid out.
    pub token_out: Address,
}

impl CycleHop {
    /// The pool's direction: token0 in (both V2 and V3 order tokens by address).
    pub fn zero_for_one(&self) -> bool {
        self.token_in < self.token_out
    }
}

/// A cycle of 2 or 3 hops through distinct pools, each hop's output the next one's input, the
/// last output the first input's token.
#[derive(Clone, Copy, Debug)]
pub struct Cycle {
    hops: [CycleHop; MAX_CYCLE_HOPS],
    len: usize,
}

impl PartialEq for Cycle {
    fn eq(&self, other: &Self) -> bool {
        self.hops() == other.hops()
    }
}

impl Eq for Cycle {}

impl Cycle {
    /// Checks and builds a cycle: 2 or 3 hops, chained tokens, distinct pools.
    pub fn new(hops: &[CycleHop]) -> Option<Self> {
        let (&first, rest) = hops.split_first()?;
        let &last = rest.last()?;
        if hops.len() > MAX_CYCLE_HOPS || last.token_out != first.token_in {
            return None;
        }
        let chained = hops.windows(2).all(|w| match w {
            [a, b] => a.token_out == b.token_in && a.pool != b.pool,
            _ => false,
        });
        if !chained || (hops.len() == 3 && first.pool == last.pool) {
            return None;
        }
        let mut cycle = Self {
            hops: [first; MAX_CYCLE_HOPS],
            len: hops.len(),
        };
        for (slot, h) in cycle.hops.iter_mut().zip(hops) {
            *slot = *h;
        }
        Some(cycle)
    }

    fn two(a: CycleHop, b: CycleHop) -> Self {
        Self {
            hops: [a, b, b],
            len: 2,
        }
    }

    fn three(a: CycleHop, b: CycleHop, c: CycleHop) -> Self {
        Self {
            hops: [a, b, c],
            len: 3,
        }
    }

    /// The hops in trade order.
    pub fn hops(&self) -> &[CycleHop] {
        self.hops.get(..self.len).unwrap_or(&[])
    }

    /// Whether `pool` is on the cycle.
    pub fn contains(&self, pool: PoolRef) -> bool {
        self.hops().iter().any(|h| h.pool == pool)
    }

    /// The token the cycle starts and ends in.
    pub fn capital_token(&self) -> Address {
        self.hops[0].token_in
    }
}

/// The exact amounts of a cycle for one input.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleQuote {
    /// Capital paid into the first hop.
    pub amount_in: U256,
    /// Each hop's output, in trade order (the next hop's input); unused entries are zero.
    pub hop_out: [U256; MAX_CYCLE_HOPS],
    hops: usize,
}

impl CycleQuote {
    /// Capital received from the last hop.
    pub fn amount_out(&self) -> U256 {
        self.hop_out
            .get(self.hops.saturating_sub(1))
            .copied()
            .unwrap_or(U256::ZERO)
    }

    /// `amount_out - amount_in` when positive.
    pub fn profit(&self) -> Option<U256> {
        self.amount_out()
            .checked_sub(self.amount_in)
            .filter(|p| !p.is_zero())
    }
}

/// Why an exact evaluation failed, as a direction for the search.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Miss {
    /// A hop paid out nothing: the input is too small to trade.
    TooSmall,
    /// Overflow, or a pool out of steps: the input is too large.
    TooLarge,
    /// A V3 hop took only `filled` of the `attempted` input: its pool ran out of liquidity or
    /// reached the search's break-even limit. The input is too large, and `filled` says by how
    /// much (exactly for the first hop).
    Partial {
        /// The first hop: `filled` is then exactly the largest input the cycle can take.
        first: bool,
        /// The hop's input.
        attempted: U256,
        /// What the pool took of it.
        filled: U256,
    },
}

/// The local curve `out(x + t) − out(x) ≈ p·t / (1 + t/D)`: `price` is the marginal rate
/// `p`, `depth` is `D` in input-token units (infinite for no hop at all).
///
/// In floating point: the model only chooses where the search prices next (every amount it
/// reports is an exact integer quote), and double precision leaves the chosen inputs within
/// about 10^-15 of the integer model's, for a tenth of the 512-bit arithmetic it took.
#[derive(Clone, Copy, Debug, PartialEq)]
struct Curve {
    price: f64,
    depth: f64,
}

impl Curve {
    /// No hop: output equals input.
    const IDENTITY: Curve = Curve {
        price: 1.0,
        depth: f64::INFINITY,
    };

    /// A positive depth: the model has a step to give (a V3 pool in a liquidity gap has none).
    fn has_depth(&self) -> bool {
        self.depth > 0.0
    }

    /// This curve followed by `next` (the composition is again such a curve):
    /// `p = p1·p2`, `D = D1·D2 / (D2 + p1·D1)`.
    fn then(self, next: Curve) -> Curve {
        let price = self.price * next.price;
        let depth = if self.depth.is_infinite() {
            if self.price > 0.0 {
                next.depth / self.price
            } else {
                f64::INFINITY
            }
        } else if next.depth.is_infinite() {
            self.depth
        } else {
            let den = next.depth + self.price * self.depth;
            if den > 0.0 {
                self.depth * next.depth / den
            } else {
                0.0
            }
        };
        Curve { price, depth }
    }

    /// The input that maximizes profit on this curve, from `x`: `x + (√p − 1)·D`, floored at 0.
    fn newton_from(self, x: U256) -> U256 {
        let step = (self.price.sqrt() - 1.0) * self.depth;
        if step.is_nan() {
            return x;
        }
        u256_of(to_f64(x) + step)
    }
}

/// `x` as the nearest double (within 2^-52 relative).
fn to_f64(x: U256) -> f64 {
    const LIMB: f64 = 18_446_744_073_709_551_616.0; // 2^64
    x.as_limbs()
        .iter()
        .rev()
        .fold(0.0, |acc, &limb| acc * LIMB + limb as f64)
}

/// `v` floored to an integer, saturating: 0 for NaN and anything below 1, `U256::MAX` from
/// 2^256 up.
fn u256_of(v: f64) -> U256 {
    const TWO_128: f64 = 340_282_366_920_938_463_463_374_607_431_768_211_456.0;
    if v.is_nan() || v < 1.0 {
        return U256::ZERO;
    }
    if v < TWO_128 {
        return U256::from(v as u128);
    }
    let high = v / TWO_128;
    if high >= TWO_128 {
        return U256::MAX;
    }
    // v ≥ 2^128 has no bits below 2^75, so both halves are exact.
    let high_int = high as u128;
    let low = v - high_int as f64 * TWO_128;
    (U256::from(high_int) << 128) | U256::from(low as u128)
}

/// A V2 hop after `a` was paid in: `out(a) = n·a·R_out / (1000·R_in + n·a)`, so
/// `p = 1000·n·R_in·R_out / S²` and `D = S / n` with `S = 1000·R_in + n·a`.
fn v2_curve(r_in: U256, r_out: U256, fee_num: u32, a: U256) -> Curve {
    let n = f64::from(fee_num);
    let base = to_f64(r_in) * FEE_DEN as f64;
    let s = base + n * to_f64(a);
    if !(s > 0.0 && n > 0.0) {
        return Curve {
            price: 0.0,
            depth: 0.0,
        };
    }
    Curve {
        price: (n * to_f64(r_out) / s) * (base / s),
        depth: s / n,
    }
}

/// A V3 hop at `state` (inside one tick range the pool is a V2 curve on its virtual reserves,
/// with the fee taken from the input). The price is the pool's after the fee even at zero
/// liquidity, where the depth is zero: it stays an upper bound on the marginal rate.
fn v3_curve(sqrt_price: U256, liquidity: u128, zero_for_one: bool, fee_pips: u32) -> Curve {
    const TWO_96: f64 = 79_228_162_514_264_337_593_543_950_336.0;
    let keep = f64::from(FEE_DENOMINATOR_PIPS.saturating_sub(fee_pips)) / 1e6;
    let root = to_f64(sqrt_price) / TWO_96;
    let l = liquidity as f64;
    if !(root > 0.0 && keep > 0.0) {
        return Curve {
            price: 0.0,
            depth: 0.0,
        };
    }
    if zero_for_one {
        // Token1 per token0 is √P²; the virtual token0 reserve is L/√P.
        Curve {
            price: root * root * keep,
            depth: l / root / keep,
        }
    } else {
        // Token0 per token1 is 1/√P²; the virtual token1 reserve is L·√P.
        Curve {
            price: keep / (root * root),
            depth: l * root / keep,
        }
    }
}

/// A hop's pool and the state it trades from.
enum HopState<'a> {
    V2 {
        r_in: U256,
        r_out: U256,
        fee_num: u32,
    },
    V3 {
        pool: &'a V3Pool,
        state: V3State,
    },
}

fn hop_state<'a>(
    reg: &'a PoolRegistry,
    overlay: &StateOverlay,
    hop: &CycleHop,
) -> Option<HopState<'a>> {
    match hop.pool {
        PoolRef::V2(id) => {
            let pair = reg.v2().get(id)?;
            let fee_num = reg.v2().factory(pair.factory)?.fee_num;
            let (r0, r1) = overlay.v2_reserves(reg, id)?;
            let (r_in, r_out) = if hop.token_in == pair.token0 {
                (r0, r1)
            } else if hop.token_in == pair.token1 {
                (r1, r0)
            } else {
                return None;
            };
            Some(HopState::V2 {
                r_in,
                r_out,
                fee_num,
            })
        }
        PoolRef::V3(id) => {
            let pool = reg.v3(id)?;
            let ours = (hop.token_in == pool.token0() && hop.token_out == pool.token1())
                || (hop.token_in == pool.token1() && hop.token_out == pool.token0());
            ours.then_some(HopState::V3 {
                pool,
                state: overlay.v3_state(reg, id)?,
            })
        }
    }
}

/// Each hop's curve at zero input (its marginal rate before trading, and depth).
fn zero_curves(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    cycle: &Cycle,
) -> Option<[Curve; MAX_CYCLE_HOPS]> {
    let mut curves = [Curve::IDENTITY; MAX_CYCLE_HOPS];
    for (hop, slot) in cycle.hops().iter().zip(curves.iter_mut()) {
        *slot = match hop_state(reg, overlay, hop)? {
            HopState::V2 {
                r_in,
                r_out,
                fee_num,
            } => v2_curve(r_in, r_out, fee_num, U256::ZERO),
            HopState::V3 { pool, state } => v3_curve(
                state.sqrt_price_x96,
                state.liquidity,
                hop.zero_for_one(),
                pool.fee_pips(),
            ),
        };
    }
    Some(curves)
}

/// Per-hop price limits for the search's V3 quotes (`None`: the routers' default).
type HopLimits = [Option<U256>; MAX_CYCLE_HOPS];

const NO_LIMITS: HopLimits = [None; MAX_CYCLE_HOPS];

/// For each V3 hop, the price past which the cycle cannot gain: where the hop's own marginal
/// rate falls to `1 / R`, `R` the product of the other hops' marginal rates at zero input
/// (upper bounds on them at any input, the output being concave), moved 1/1024 further out
/// in square-root price against rounding. A quote that reaches it is past the optimum, so the
/// search stops the pool's walk there instead of crossing ticks that cannot matter.
fn break_even_limits(
    reg: &PoolRegistry,
    cycle: &Cycle,
    curves: &[Curve; MAX_CYCLE_HOPS],
) -> HopLimits {
    let mut limits = NO_LIMITS;
    let hops = cycle.hops();
    for (k, (hop, slot)) in hops.iter().zip(limits.iter_mut()).enumerate() {
        let PoolRef::V3(id) = hop.pool else { continue };
        let Some(pool) = reg.v3(id) else { continue };
        let others = curves
            .iter()
            .take(hops.len())
            .enumerate()
            .filter(|(j, _)| *j != k)
            .fold(1.0, |acc, (_, c)| acc * c.price);
        *slot = break_even_price(others, hop.zero_for_one(), pool.fee_pips());
    }
    limits
}

/// The square-root price at which a V3 hop's marginal rate (after fee) is `1 / others`,
/// pushed out by 1/1024; `None` when out of range.
fn break_even_price(others: f64, zero_for_one: bool, fee_pips: u32) -> Option<U256> {
    const TWO_96: f64 = 79_228_162_514_264_337_593_543_950_336.0;
    let keep = f64::from(FEE_DENOMINATOR_PIPS.checked_sub(fee_pips)?) / 1e6;
    let scaled = (others * keep).sqrt();
    if !(scaled > 0.0 && scaled.is_finite()) {
        return None;
    }
    if zero_for_one {
        // keep·√P² = 1/others  =>  √P = 1/√(others·keep).
        let s = u256_of(TWO_96 / scaled);
        Some(s - (s >> 10)).filter(|l| *l > MIN_SQRT_RATIO + U256::ONE)
    } else {
        // keep/√P² = 1/others  =>  √P = √(others·keep).
        let s = u256_of(TWO_96 * scaled);
        s.checked_add(s >> 10)
            .filter(|l| *l < MAX_SQRT_RATIO - U256::ONE)
    }
}

/// Per hop, the V3 pool's swap ladder from its post-victim state (`None` for a V2 hop, or
/// for quotes that do not repeat).
type Ladders<'a> = [Option<SwapLadder<'a>>; MAX_CYCLE_HOPS];

/// Ladders for the V3 hops of `cycle`: the search's quotes all start from the same states.
fn ladders<'a>(reg: &'a PoolRegistry, overlay: &StateOverlay, cycle: &Cycle) -> Ladders<'a> {
    let mut ladders: Ladders<'a> = [None, None, None];
    for (hop, slot) in cycle.hops().iter().zip(ladders.iter_mut()) {
        if let Some(HopState::V3 { pool, state }) = hop_state(reg, overlay, hop) {
            *slot = pool
                .ladder(
                    state.sqrt_price_x96,
                    state.tick,
                    state.liquidity,
                    hop.zero_for_one(),
                )
                .ok();
        }
    }
    ladders
}

/// Exact evaluation at `x` with the search's price limits, and the local curve after it.
fn evaluate(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    cycle: &Cycle,
    x: U256,
    limits: &HopLimits,
    ladders: &mut Ladders<'_>,
) -> Result<(CycleQuote, Curve), Miss> {
    let mut quote = CycleQuote {
        amount_in: x,
        hop_out: [U256::ZERO; MAX_CYCLE_HOPS],
        hops: cycle.hops().len(),
    };
    let mut total: Option<Curve> = None;
    let mut amount = x;
    let hops = cycle.hops().iter().zip(limits).zip(ladders.iter_mut());
    for (i, (((hop, limit), ladder), slot)) in hops.zip(quote.hop_out.iter_mut()).enumerate() {
        let state = hop_state(reg, overlay, hop).ok_or(Miss::TooLarge)?;
        let (out, curve) = hop_exact(state, hop.zero_for_one(), amount, *limit, ladder.as_mut())
            .map_err(|m| match m {
                Miss::Partial {
                    attempted, filled, ..
                } => Miss::Partial {
                    first: i == 0,
                    attempted,
                    filled,
                },
                other => other,
            })?;
        *slot = out;
        amount = out;
        total = Some(total.map_or(curve, |t| t.then(curve)));
    }
    Ok((quote, total.ok_or(Miss::TooLarge)?))
}

/// One hop's exact output for `amount` in, and its local curve after it. A V3 quote with a
/// search limit that reaches the limit is past the optimum (`TooLarge`); one that does not is
/// the same swap, step for step, as with the routers' default limit. A V3 hop quotes through
/// its `ladder` when it has one (the same result, see [`SwapLadder`]).
fn hop_exact(
    state: HopState<'_>,
    zero_for_one: bool,
    amount: U256,
    limit: Option<U256>,
    ladder: Option<&mut SwapLadder<'_>>,
) -> Result<(U256, Curve), Miss> {
    if amount.is_zero() {
        return Err(Miss::TooSmall);
    }
    match state {
        HopState::V2 {
            r_in,
            r_out,
            fee_num,
        } => {
            // The pair's `_update` takes balances below 2^112 only.
            if r_in.saturating_add(amount) >= RESERVE_LIMIT {
                return Err(Miss::TooLarge);
            }
            let out = get_amount_out(amount, r_in, r_out, fee_num).ok_or(Miss::TooLarge)?;
            if out.is_zero() {
                return Err(Miss::TooSmall);
            }
            Ok((out, v2_curve(r_in, r_out, fee_num, amount)))
        }
        HopState::V3 { pool, state } => {
            let specified = to_i256(amount).ok_or(Miss::TooLarge)?;
            let price_limit = limit.unwrap_or_else(|| default_price_limit(zero_for_one));
            let result = match ladder {
                Some(ladder) => ladder.amounts_exact_in(amount, price_limit),
                None => state
                    .quote(pool, zero_for_one, specified, price_limit)
                    .map(|r| LadderQuote {
                        amount_in: r.amount_in(zero_for_one).into_raw(),
                        amount_out: r.amount_out(zero_for_one).into_raw(),
                        sqrt_price_x96: r.sqrt_price_x96,
                        liquidity: r.liquidity,
                    }),
            }
            .map_err(|e| match e {
                V3Error::ZeroAmount => Miss::TooSmall,
                _ => Miss::TooLarge,
            })?;
            // A partial fill: the pool ran out of liquidity, or the search's limit was hit.
            let filled = result.amount_in;
            if filled != amount || (limit.is_some() && result.sqrt_price_x96 == price_limit) {
                return Err(Miss::Partial {
                    first: false,
                    attempted: amount,
                    // Taking all of it at exactly the limit still counts as too far.
                    filled: filled.min(amount - U256::ONE),
                });
            }
            let out = result.amount_out;
            if out.is_zero() {
                return Err(Miss::TooSmall);
            }
            let curve = v3_curve(
                result.sqrt_price_x96,
                result.liquidity,
                zero_for_one,
                pool.fee_pips(),
            );
            Ok((out, curve))
        }
    }
}

/// The exact amounts of `cycle` for `amount_in` on the post-victim state, or `None` where a
/// hop would revert, fill partially or pay out nothing.
pub fn cycle_quote(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    cycle: &Cycle,
    amount_in: U256,
) -> Option<CycleQuote> {
    evaluate(
        reg,
        overlay,
        cycle,
        amount_in,
        &NO_LIMITS,
        &mut [None, None, None],
    )
    .ok()
    .map(|(q, _)| q)
}

/// How a size was chosen.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Sizing {
    /// [`optimal_cycle_input`], the executor's own formula (V2-V2 cycles).
    ClosedForm,
    /// [`search_cycle`].
    Search,
}

/// A sized cycle: the most profitable input found and the quotes it took.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Sized {
    /// The exact quote of the chosen input; `None` when no input gains anything.
    pub best: Option<CycleQuote>,
    /// Exact quotes taken (at most [`MAX_EVALS`]).
    pub evaluations: u32,
    /// How the input was chosen.
    pub sizing: Sizing,
}

/// Where the search looks next.
enum Next {
    /// The local model's optimum, from a priced input.
    Newton(U256),
    /// Where a partial fill says the pool's usable range ends.
    Jump(U256),
    /// No information: bisect the bracket.
    Bisect,
}

/// The search's state: the bracket, the best quote, the count.
struct Search {
    /// Largest input known to be below the optimum (marginal rate above 1).
    lo: U256,
    /// Smallest input known to be at or above it (or to fail), exclusive bound.
    hi: U256,
    best: Option<(U256, CycleQuote)>,
    evaluations: u32,
}

impl Search {
    fn consider(&mut self, quote: CycleQuote) {
        if let Some(profit) = quote.profit()
            && self.best.is_none_or(|(p, _)| profit > p)
        {
            self.best = Some((profit, quote));
        }
    }

    /// The next trial without a usable model step: a quarter of the upper bound while nothing
    /// below it is known, the geometric middle while the bracket spans more than a factor of
    /// four, else the middle.
    fn bisect(&self) -> U256 {
        if self.lo.is_zero() {
            return (self.hi / U256::from(4)).max(U256::ONE);
        }
        if self.hi > self.lo.saturating_mul(U256::from(4)) {
            isqrt(self.lo)
                .saturating_mul(isqrt(self.hi))
                .max(self.lo + U256::ONE)
        } else {
            self.middle()
        }
    }

    fn middle(&self) -> U256 {
        self.lo + (self.hi - self.lo) / U256::from(2)
    }

    fn inside(&self, x: U256) -> bool {
        x > self.lo && x < self.hi
    }

    /// Nothing left to gain. Either the bracket is within `lo / 4096`: with the profit
    /// concave, `profit(lo) ≥ g·lo` and the optimum earns at most `g·(hi − lo)` more (`g` the
    /// slope at `lo`), so the best priced input is within 1/4096 of the optimum. Or no input
    /// below `hi` can beat the best so far or `min_gain`: the profit is at most
    /// `(p0 − 1)·x`, `p0` the cycle's marginal rate at zero input.
    fn settled(&self, start_price: f64, min_gain: U256) -> bool {
        if self.hi <= self.lo.saturating_add((self.lo >> 12usize).max(U256::ONE)) {
            return true;
        }
        let ceiling = (start_price - 1.0) * to_f64(self.hi);
        let best = self.best.map_or(U256::ZERO, |(p, _)| p);
        ceiling <= to_f64(best.max(min_gain))
    }
}

/// What a sizing may use and must reach.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SizeBounds {
    /// Largest input (the executor's capital).
    pub cap: U256,
    /// Most exact quotes (capped at [`MAX_EVALS`]).
    pub max_evals: u32,
    /// Gains at or below this are worthless (gas plus the minimum profit): the search stops
    /// once it proves no input left can beat it.
    pub min_gain: U256,
}

impl SizeBounds {
    /// Inputs up to `cap`, [`MAX_EVALS`] quotes, any gain.
    pub fn new(cap: U256) -> Self {
        Self {
            cap,
            max_evals: MAX_EVALS,
            min_gain: U256::ZERO,
        }
    }
}

/// Sizes `cycle` by a bracketed, safeguarded Newton search over its exact quote on the
/// post-victim state, with inputs in `1..=bounds.cap` and at most `bounds.max_evals` quotes.
/// See the module docs for the method.
///
/// A cycle whose marginal rate at zero input is at most 1 cannot gain anything (its output is
/// concave): it is rejected without a quote.
pub fn search_cycle(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    cycle: &Cycle,
    bounds: &SizeBounds,
) -> Sized {
    let mut s = Search {
        lo: U256::ZERO,
        hi: bounds.cap.saturating_add(U256::ONE),
        best: None,
        evaluations: 0,
    };
    let start = zero_curves(reg, overlay, cycle).map(|curves| {
        let total = curves
            .iter()
            .take(cycle.hops().len())
            .copied()
            .reduce(Curve::then);
        (curves, total)
    });
    if let Some((curves, Some(total))) = start
        && total.price > 1.0
        && !bounds.cap.is_zero()
    {
        let limits = break_even_limits(reg, cycle, &curves);
        let mut ladders = ladders(reg, overlay, cycle);
        run_search(&mut s, bounds, total, |x| {
            evaluate(reg, overlay, cycle, x, &limits, &mut ladders)
        });
    }
    Sized {
        best: s.best.map(|(_, q)| q),
        evaluations: s.evaluations,
        sizing: Sizing::Search,
    }
}

/// The search loop over `eval`, from the cycle's curve at zero input.
fn run_search(
    s: &mut Search,
    bounds: &SizeBounds,
    start: Curve,
    mut eval: impl FnMut(U256) -> Result<(CycleQuote, Curve), Miss>,
) {
    let cap = bounds.cap;
    // A zero depth (a V3 pool in a liquidity gap) gives no step: start from the bracket.
    let mut x = if !start.has_depth() {
        s.bisect()
    } else {
        start.newton_from(U256::ZERO).clamp(U256::ONE, cap)
    };
    while s.evaluations < bounds.max_evals.min(MAX_EVALS) {
        s.evaluations += 1;
        let next = match eval(x) {
            Ok((quote, curve)) => {
                s.consider(quote);
                if curve.price > 1.0 {
                    s.lo = x;
                } else {
                    s.hi = x;
                }
                if !curve.has_depth() {
                    // A pool ran dry exactly at x: the model has no step to give.
                    Next::Bisect
                } else {
                    Next::Newton(curve.newton_from(x).clamp(U256::ONE, cap))
                }
            }
            Err(Miss::TooSmall) => {
                s.lo = x;
                Next::Bisect
            }
            Err(Miss::TooLarge) => {
                s.hi = x;
                Next::Bisect
            }
            Err(Miss::Partial {
                first,
                attempted,
                filled,
            }) => {
                // Where the usable range ends: exactly the first hop's fill; for a later hop
                // its fill scaled back to the input, an upper bound (the hops before it are
                // concave, so their output per unit of input only falls). Nothing from there
                // up can be priced; a fill of zero closes the bracket.
                let end = if first {
                    filled
                } else {
                    mul_div(x, filled, attempted).unwrap_or(U256::ZERO)
                };
                // `end` itself may stop exactly on the limit: it is out, the wei below is in.
                s.hi = s.hi.min(x).min(end);
                // Aim a little below a later hop's bound, to land inside the range.
                Next::Jump(if first {
                    end.saturating_sub(U256::ONE)
                } else {
                    end - (end >> 20usize)
                })
            }
        };
        if s.settled(start.price, bounds.min_gain) {
            break;
        }
        x = match next {
            // Converged: the optimum is within x / 4096 of a priced input.
            Next::Newton(n) if n.abs_diff(x) <= (x >> 12usize).max(U256::ONE) => break,
            Next::Newton(n) | Next::Jump(n) if s.inside(n) => n,
            // The model overshot its own bracket (a tick range ended): it still gave the
            // scale, so halve the bracket. Below it, bisect as without a model.
            Next::Newton(n) if n >= s.hi => s.middle(),
            Next::Newton(_) => s.bisect(),
            Next::Jump(_) | Next::Bisect => s.bisect(),
        };
    }
}

/// The V2-V2 closed form's inputs `(x1, y1, y2, x2, n1, n2)` for a 2-hop cycle of V2 pairs.
fn v2_pair_inputs(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    cycle: &Cycle,
) -> Option<(U256, U256, U256, U256, u32, u32)> {
    let [first, second] = cycle.hops() else {
        return None;
    };
    let (
        HopState::V2 {
            r_in: x1,
            r_out: y1,
            fee_num: n1,
        },
        HopState::V2 {
            r_in: y2,
            r_out: x2,
            fee_num: n2,
        },
    ) = (
        hop_state(reg, overlay, first)?,
        hop_state(reg, overlay, second)?,
    )
    else {
        return None;
    };
    Some((x1, y1, y2, x2, n1, n2))
}

/// Sizes `cycle` within `bounds`: the closed form for a V2-V2 cycle (one quote),
/// [`search_cycle`] for anything with a V3 pool or three hops.
pub fn size_cycle(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    cycle: &Cycle,
    bounds: &SizeBounds,
) -> Sized {
    let Some((x1, y1, y2, x2, n1, n2)) = v2_pair_inputs(reg, overlay, cycle) else {
        return search_cycle(reg, overlay, cycle, bounds);
    };
    let amount_in = optimal_cycle_input(x1, y1, y2, x2, n1, n2).min(bounds.cap);
    let evaluated = !amount_in.is_zero() && bounds.max_evals > 0;
    Sized {
        best: if evaluated {
            cycle_quote(reg, overlay, cycle, amount_in).filter(|q| q.profit().is_some())
        } else {
            None
        },
        evaluations: u32::from(evaluated),
        sizing: Sizing::ClosedForm,
    }
}

/// Bounds on the work per victim.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CycleLimits {
    /// Most cycles sized per victim (both directions count).
    pub max_cycles: u32,
    /// Most exact quotes per cycle (capped at [`MAX_EVALS`]).
    pub max_evals_per_cycle: u32,
}

impl Default for CycleLimits {
    fn default() -> Self {
        Self {
            max_cycles: 64,
            max_evals_per_cycle: MAX_EVALS,
        }
    }
}

/// What the search did for one victim, for metrics.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct CycleStats {
    /// Cycles sized.
    pub cycles: u32,
    /// Exact quotes taken over all cycles.
    pub evaluations: u32,
    /// The cycle limit stopped the enumeration early.
    pub truncated: bool,
}

/// The chosen backrun cycle.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct CyclePlan {
    /// The hops, capital first.
    pub cycle: Cycle,
    /// The exact amounts.
    pub quote: CycleQuote,
    /// How the input was chosen.
    pub sizing: Sizing,
    /// `amount_out - amount_in`.
    pub profit_gross: U256,
    /// `profit_gross * payment_bps / 10000`, to the builder.
    pub payment: U256,
    /// `profit_gross - payment`.
    pub profit_net: U256,
}

/// Picks the most profitable cycle through the pools the victim touched (`overlay`), sized on
/// the post-victim state with inputs up to `p.capital`, within `limits`; a search gives up on
/// a cycle once it proves the cycle cannot earn `gas_cost_wei + min_profit_wei`. Cycles
/// through several touched pools are sized once (from the first of them). Returns the stats
/// with the result.
///
/// Errors: `NoCycle` (no cycle through a touched pool, or `p.capital_token` is not the
/// registry's), `Unprofitable` (no cycle gains anything), `BelowMinProfit` (`profit_net <
/// gas_cost_wei + min_profit_wei`).
pub fn find_cycle_backrun(
    reg: &PoolRegistry,
    overlay: &StateOverlay,
    p: &BackrunParams,
    limits: &CycleLimits,
) -> (Result<CyclePlan, SkipReason>, CycleStats) {
    let mut stats = CycleStats::default();
    if p.capital_token != reg.capital_token() {
        return (Err(SkipReason::NoCycle), stats);
    }
    let bounds = SizeBounds {
        cap: p.capital,
        max_evals: limits.max_evals_per_cycle,
        min_gain: p.gas_cost_wei.saturating_add(p.min_profit_wei),
    };
    let mut best: Option<(Cycle, Sized, U256)> = None;
    for (i, touched) in overlay.touched().enumerate() {
        let flow = reg.for_each_cycle(touched, |cycle| {
            // A cycle through an earlier touched pool was sized from that pool.
            let earlier = cycle
                .hops()
                .iter()
                .any(|h| overlay.position(h.pool).is_some_and(|j| j < i));
            if earlier {
                return ControlFlow::Continue(());
            }
            if stats.cycles >= limits.max_cycles {
                stats.truncated = true;
                return ControlFlow::Break(());
            }
            stats.cycles = stats.cycles.saturating_add(1);
            let sized = size_cycle(reg, overlay, cycle, &bounds);
            stats.evaluations = stats.evaluations.saturating_add(sized.evaluations);
            if let Some(profit) = sized.best.as_ref().and_then(CycleQuote::profit)
                && best.is_none_or(|(_, _, b)| profit > b)
            {
                best = Some((*cycle, sized, profit));
            }
            ControlFlow::Continue(())
        });
        if flow.is_break() {
            break;
        }
    }
    (plan_of(best, p, stats.cycles), stats)
}

fn plan_of(
    best: Option<(Cycle, Sized, U256)>,
    p: &BackrunParams,
    cycles: u32,
) -> Result<CyclePlan, SkipReason> {
    if cycles == 0 {
        return Err(SkipReason::NoCycle);
    }
    let (cycle, sized, profit_gross) = best.ok_or(SkipReason::Unprofitable)?;
    let quote = sized.best.ok_or(SkipReason::Unprofitable)?;
    let payment = p.payment(profit_gross);
    let profit_net = profit_gross - payment;
    if !p.clears(profit_net) {
        return Err(SkipReason::BelowMinProfit);
    }
    Ok(CyclePlan {
        cycle,
        quote,
        sizing: sized.sizing,
        profit_gross,
        payment,
        profit_net,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn curves_compose_like_two_v2_pairs() {
        // Two pairs without fees: out = a·y1/(x1 + a) then b·x2/(y2 + b). Composed by hand:
        // p = (y1/x1)(x2/y2) = 2, 1/D = 1/x1 + (y1/x1)/y2.
        let (x1, y1, y2, x2) = (1000u64, 2000u64, 1000u64, 1000u64);
        let a = v2_curve(U256::from(x1), U256::from(y1), 1000, U256::ZERO);
        let b = v2_curve(U256::from(y2), U256::from(x2), 1000, U256::ZERO);
        assert_eq!((a.price, a.depth), (2.0, 1000.0));
        let c = a.then(b);
        assert_eq!(c.price, 2.0);
        // 1/D = 1/1000 + 2/1000 -> D = 1000/3.
        assert!((c.depth - 1000.0 / 3.0).abs() < 1e-9, "{}", c.depth);
        // Composing with no hop changes nothing.
        assert_eq!(Curve::IDENTITY.then(c), c);
        assert_eq!(c.then(Curve::IDENTITY), c);
    }

    #[test]
    fn newton_lands_on_the_continuous_optimum() {
        // p = 4, D = 100: t* = (2 - 1)·100.
        let c = Curve {
            price: 4.0,
            depth: 100.0,
        };
        assert_eq!(c.newton_from(U256::from(7)), U256::from(107));
        // p = 1/4: step back by (1 - 1/2)·100, floored at zero.
        let c = Curve {
            price: 0.25,
            depth: 100.0,
        };
        assert_eq!(c.newton_from(U256::from(70)), U256::from(20));
        assert_eq!(c.newton_from(U256::from(7)), U256::ZERO);
    }

    #[test]
    fn doubles_convert_both_ways_across_the_range() {
        for x in [
            U256::ZERO,
            U256::ONE,
            U256::from(u64::MAX),
            U256::from(1u128 << 100),
            U256::ONE << 128usize,
            (U256::ONE << 200usize) + (U256::ONE << 150usize),
            U256::MAX >> 1usize,
        ] {
            let back = u256_of(to_f64(x));
            // Within double precision.
            assert!(back.abs_diff(x) <= x >> 52usize, "{x} -> {back}");
        }
        assert_eq!(u256_of(f64::NAN), U256::ZERO);
        assert_eq!(u256_of(-5.0), U256::ZERO);
        assert_eq!(u256_of(f64::INFINITY), U256::MAX);
        assert_eq!(u256_of(1e300), U256::MAX);
        assert_eq!(u256_of(12.9), U256::from(12));
    }

    #[test]
    fn bisection_quarters_then_goes_geometric_then_halves() {
        let s = Search {
            lo: U256::ZERO,
            hi: U256::from(1u64 << 40),
            best: None,
            evaluations: 0,
        };
        assert_eq!(s.bisect(), U256::from(1u64 << 38));
        let s = Search {
            lo: U256::from(1u64 << 10),
            ..s
        };
        assert_eq!(s.bisect(), U256::from(1u64 << 25));
        let s = Search {
            lo: U256::from(100),
            hi: U256::from(300),
            ..s
        };
        assert_eq!(s.bisect(), U256::from(200));
    }
}
