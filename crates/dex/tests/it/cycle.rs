//! Cycles over mixed V2/V3 pools: enumeration on a hand-built registry, the choice of the best
//! cycle, and the sizing search against the true optimum, found by a fine scan of the exact
//! integer profit, on random V2-V3, V3-V3 and 3-hop cycles (seeded, a few hundred cases).

use std::cell::RefCell;
use std::ops::ControlFlow;

use kestrel_dex::backrun::BackrunParams;
use kestrel_dex::cycle::{
    Cycle, CycleHop, CycleLimits, MAX_EVALS, PoolRef, PoolRegistry, SizeBounds, Sizing,
    V3FactoryId, V3Id, cycle_quote, find_cycle_backrun, search_cycle, size_cycle,
};
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool};
use kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick;
use kestrel_dex::v3::{Slot0, V3Pool, V3PoolKey, default_price_limit};
use kestrel_dex::victim::{PoolState, StateOverlay, V3State};
use kestrel_types::{Address, B256, FactoryId, PoolId, SkipReason, U256};
use proptest::prelude::*;
use proptest::test_runner::{Config, RngAlgorithm, TestRng, TestRunner};

// --- builders shared with the victim tests -------------------------------------------------

/// The capital token and three others; `W` sorts between them so both orientations occur.
pub const W: Address = Address::with_last_byte(0x50);
pub const A: Address = Address::with_last_byte(0x20);
pub const B: Address = Address::with_last_byte(0x80);
pub const C: Address = Address::with_last_byte(0x30);

/// V3 fee tiers and their spacings, as the canonical factory enables them.
pub const TIERS: [(u32, i32); 3] = [(500, 10), (3000, 60), (10_000, 200)];

pub fn v2_factory(i: u8) -> FactoryInfo {
    FactoryInfo {
        address: Address::with_last_byte(0xf0 + i),
        router: Address::with_last_byte(0xe0 + i),
        init_code_hash: B256::ZERO,
        fee_num: 997,
    }
}

fn pool_address(kind: u8, n: u8) -> Address {
    let mut bytes = [0u8; 20];
    bytes[0] = kind;
    bytes[19] = n;
    Address::from(bytes)
}

/// A V2 pair of `a` and `b` with `reserve_a` / `reserve_b`, on factory `f`, at pool address
/// number `n`.
pub fn v2_pair(n: u8, a: Address, b: Address, reserve_a: U256, reserve_b: U256, f: u8) -> V2Pool {
    let (token0, token1, reserve0, reserve1) = if a < b {
        (a, b, reserve_a, reserve_b)
    } else {
        (b, a, reserve_b, reserve_a)
    };
    V2Pool {
        address: pool_address(0x22, n),
        token0,
        token1,
        reserve0,
        reserve1,
        factory: FactoryId(f),
    }
}

/// A V3 pool of `a`/`b` at tick `tick` (price a quarter into it), minted from `positions`
/// `(lower, upper, liquidity)`, as `v3_support::pool_with` builds them.
pub fn v3_pool(
    n: u8,
    a: Address,
    b: Address,
    (fee_pips, tick_spacing): (u32, i32),
    tick: i32,
    positions: &[(i32, i32, u128)],
) -> V3Pool {
    let (token0, token1) = if a < b { (a, b) } else { (b, a) };
    let low = get_sqrt_ratio_at_tick(tick).unwrap();
    let high = get_sqrt_ratio_at_tick(tick + 1).unwrap();
    let key = V3PoolKey {
        address: pool_address(0x33, n),
        token0,
        token1,
        fee_pips,
        tick_spacing,
    };
    let slot0 = Slot0 {
        sqrt_price_x96: low + (high - low) / U256::from(4),
        tick,
        fee_protocol: 0,
    };
    let mut pool = V3Pool::new(key, slot0, 0, Vec::new()).unwrap();
    for &(lower, upper, liquidity) in positions {
        pool = pool
            .with_position_change(lower, upper, i128::try_from(liquidity).unwrap())
            .unwrap();
    }
    pool
}

/// A registry on two V2 factories and one V3 factory, capital `W`.
pub fn registry(v2: Vec<V2Pool>, v3: Vec<V3Pool>) -> PoolRegistry {
    let snap = PoolSnapshot::new(1, vec![v2_factory(0), v2_factory(1)], v2);
    let v3 = v3.into_iter().map(|p| (V3FactoryId(0), p)).collect();
    PoolRegistry::new(W, snap, v3).unwrap()
}

pub fn e18(x: u64) -> U256 {
    U256::from(x) * U256::from(10u64.pow(18))
}

/// `1.0001^ticks` times `x`, through f64: only for building test pools.
fn scaled(x: u128, ticks: i32) -> U256 {
    U256::from((x as f64 * 1.0001f64.powi(ticks)) as u128)
}

pub fn params(capital: U256) -> BackrunParams {
    BackrunParams {
        capital_token: W,
        capital,
        min_profit_wei: U256::ZERO,
        gas_cost_wei: U256::ZERO,
        payment_bps: 0,
    }
}

// --- enumeration -----------------------------------------------------------------------------

/// V2 0 = W/A f0, V2 1 = W/A f1, V2 2 = A/B f0, V2 3 = B/W f0, V2 4 = A/C f0 (C has no capital
/// pool); V3 0 = W/A 500, V3 1 = W/A 3000, V3 2 = A/B 3000.
fn hand_registry() -> PoolRegistry {
    let r = e18(1000);
    let wide = |tier: (u32, i32)| [(-tier.1 * 100, tier.1 * 100, 10u128.pow(22))];
    registry(
        vec![
            v2_pair(0, W, A, r, r, 0),
            v2_pair(1, W, A, r, r, 1),
            v2_pair(2, A, B, r, r, 0),
            v2_pair(3, B, W, r, r, 0),
            v2_pair(4, A, C, r, r, 0),
        ],
        vec![
            v3_pool(0, W, A, TIERS[0], 0, &wide(TIERS[0])),
            v3_pool(1, W, A, TIERS[1], 0, &wide(TIERS[1])),
            v3_pool(2, A, B, TIERS[1], 0, &wide(TIERS[1])),
        ],
    )
}

fn cycles_through(reg: &PoolRegistry, touched: PoolRef) -> Vec<Cycle> {
    let mut out = Vec::new();
    let _ = reg.for_each_cycle(touched, |c| {
        out.push(*c);
        ControlFlow::Continue(())
    });
    out
}

fn h(pool: PoolRef, token_in: Address, token_out: Address) -> CycleHop {
    CycleHop {
        pool,
        token_in,
        token_out,
    }
}

fn same_set(mut got: Vec<Cycle>, mut want: Vec<Cycle>) {
    let key = |c: &Cycle| format!("{:?}", c.hops());
    got.sort_by_key(key);
    want.sort_by_key(key);
    assert_eq!(got, want);
}

#[test]
fn cycles_through_a_capital_pool_are_siblings_and_triangles_both_ways() {
    let reg = hand_registry();
    let (p, p1, q0, q1) = (
        PoolRef::V2(PoolId(0)),
        PoolRef::V2(PoolId(1)),
        PoolRef::V3(V3Id(0)),
        PoolRef::V3(V3Id(1)),
    );
    let (ab2, ab3, bw) = (
        PoolRef::V2(PoolId(2)),
        PoolRef::V3(V3Id(2)),
        PoolRef::V2(PoolId(3)),
    );
    let mut want = Vec::new();
    for sib in [p1, q0, q1] {
        want.push(Cycle::new(&[h(p, W, A), h(sib, A, W)]).unwrap());
        want.push(Cycle::new(&[h(sib, W, A), h(p, A, W)]).unwrap());
    }
    // A/C is not a bridge: C has no pool with W.
    for mid in [ab2, ab3] {
        want.push(Cycle::new(&[h(p, W, A), h(mid, A, B), h(bw, B, W)]).unwrap());
        want.push(Cycle::new(&[h(bw, W, B), h(mid, B, A), h(p, A, W)]).unwrap());
    }
    same_set(cycles_through(&reg, p), want);
}

#[test]
fn cycles_through_a_middle_pool_use_every_capital_pool_of_each_side() {
    let reg = hand_registry();
    let mid = PoolRef::V3(V3Id(2));
    let bw = PoolRef::V2(PoolId(3));
    let mut want = Vec::new();
    for wa in [
        PoolRef::V2(PoolId(0)),
        PoolRef::V2(PoolId(1)),
        PoolRef::V3(V3Id(0)),
        PoolRef::V3(V3Id(1)),
    ] {
        want.push(Cycle::new(&[h(wa, W, A), h(mid, A, B), h(bw, B, W)]).unwrap());
        want.push(Cycle::new(&[h(bw, W, B), h(mid, B, A), h(wa, A, W)]).unwrap());
    }
    same_set(cycles_through(&reg, mid), want);
    assert!(cycles_through(&reg, PoolRef::V2(PoolId(4))).is_empty());
    assert!(cycles_through(&reg, PoolRef::V3(V3Id(9))).is_empty());
}

#[test]
fn enumeration_stops_when_told() {
    let reg = hand_registry();
    let mut seen = 0;
    let flow = reg.for_each_cycle(PoolRef::V2(PoolId(0)), |_| {
        seen += 1;
        if seen == 3 {
            ControlFlow::Break(())
        } else {
            ControlFlow::Continue(())
        }
    });
    assert_eq!((seen, flow), (3, ControlFlow::Break(())));
}

#[test]
fn cycle_new_rejects_broken_chains() {
    let (p, q) = (PoolRef::V2(PoolId(0)), PoolRef::V2(PoolId(1)));
    assert!(Cycle::new(&[h(p, W, A), h(q, A, W)]).is_some());
    assert!(Cycle::new(&[h(p, W, A)]).is_none(), "one hop");
    assert!(
        Cycle::new(&[h(p, W, A), h(q, B, W)]).is_none(),
        "not chained"
    );
    assert!(
        Cycle::new(&[h(p, W, A), h(q, A, B)]).is_none(),
        "not closed"
    );
    assert!(
        Cycle::new(&[h(p, W, A), h(p, A, W)]).is_none(),
        "one pool twice"
    );
    let r = PoolRef::V2(PoolId(2));
    assert!(Cycle::new(&[h(p, W, A), h(q, A, B), h(r, B, W), h(p, W, A)]).is_none());
}

#[test]
fn registry_lookups_and_errors() {
    let reg = hand_registry();
    assert_eq!(reg.pools_for_pair(A, W).len(), 4);
    assert_eq!(reg.pools_for_pair(W, C), &[]);
    assert_eq!(
        reg.v3_pool_for(V3FactoryId(0), A, W, 3000),
        Some(V3Id(1)),
        "either token order"
    );
    assert_eq!(reg.v3_pool_for(V3FactoryId(1), A, W, 3000), None);
    assert_eq!(reg.v3_pool_for(V3FactoryId(0), A, W, 100), None);
    assert_eq!(reg.v3_by_address(pool_address(0x33, 2)), Some(V3Id(2)));
    assert_eq!(reg.tokens(PoolRef::V3(V3Id(2))), Some((A, B)));
    assert_eq!(
        reg.address(PoolRef::V2(PoolId(3))),
        Some(pool_address(0x22, 3))
    );
    let twice = vec![
        (V3FactoryId(0), v3_pool(0, W, A, TIERS[0], 0, &[])),
        (V3FactoryId(0), v3_pool(0, W, B, TIERS[0], 0, &[])),
    ];
    let snap = PoolSnapshot::new(1, vec![v2_factory(0)], Vec::new());
    assert!(
        PoolRegistry::new(W, snap.clone(), twice).is_err(),
        "address twice"
    );
    let same_key = vec![
        (V3FactoryId(0), v3_pool(0, W, A, TIERS[0], 0, &[])),
        (V3FactoryId(0), v3_pool(1, A, W, TIERS[0], 0, &[])),
    ];
    assert!(
        PoolRegistry::new(W, snap.clone(), same_key).is_err(),
        "key twice"
    );
    let many: Vec<_> = (0..17u8)
        .map(|i| (V3FactoryId(i), v3_pool(i, W, A, TIERS[0], 0, &[])))
        .collect();
    assert!(
        PoolRegistry::new(W, snap, many).is_err(),
        "more than 16 for a pair"
    );
}

// --- choosing a cycle ------------------------------------------------------------------------

/// W/A on V2 f0 (the victim's pool) moved to a different price than its siblings.
fn skewed_registry() -> PoolRegistry {
    let r = e18(1000);
    let positions = |tier: (u32, i32)| {
        [
            (-tier.1 * 20, tier.1 * 20, 10u128.pow(22)),
            (-tier.1 * 200, tier.1 * 200, 10u128.pow(21)),
        ]
    };
    registry(
        vec![
            v2_pair(0, W, A, r, scaled(10u128.pow(21), 300), 0),
            v2_pair(1, W, A, r, r, 1),
            v2_pair(2, A, B, r, r, 0),
            v2_pair(3, B, W, r, r, 0),
        ],
        vec![
            v3_pool(0, W, A, TIERS[0], 0, &positions(TIERS[0])),
            v3_pool(1, W, A, TIERS[1], 0, &positions(TIERS[1])),
        ],
    )
}

fn touched(pools: &[PoolRef], reg: &PoolRegistry) -> StateOverlay {
    let mut o = StateOverlay::default();
    for &p in pools {
        let state = match p {
            PoolRef::V2(id) => {
                let (reserve0, reserve1) = o.v2_reserves(reg, id).unwrap();
                PoolState::V2 { reserve0, reserve1 }
            }
            PoolRef::V3(id) => PoolState::V3(o.v3_state(reg, id).unwrap()),
        };
        o.set(p, state).unwrap();
    }
    o
}

#[test]
fn the_most_profitable_cycle_wins_and_limits_are_counted() {
    let reg = skewed_registry();
    let p0 = PoolRef::V2(PoolId(0));
    let overlay = touched(&[p0], &reg);
    let cap = e18(10_000);
    let (plan, stats) = find_cycle_backrun(&reg, &overlay, &params(cap), &CycleLimits::default());
    let plan = plan.unwrap();
    // Every cycle sized on its own: the plan is the best of them.
    let mut best = U256::ZERO;
    let all = cycles_through(&reg, p0);
    for c in &all {
        let sized = size_cycle(&reg, &overlay, c, &SizeBounds::new(cap));
        if let Some(profit) = sized.best.and_then(|q| q.profit()) {
            best = best.max(profit);
        }
    }
    assert_eq!(plan.profit_gross, best);
    assert!(best > U256::ZERO);
    assert_eq!(stats.cycles as usize, all.len());
    assert!(!stats.truncated);
    assert!(stats.evaluations <= stats.cycles * MAX_EVALS);
    // The pool at a higher A price is where W buys A.
    assert_eq!(plan.cycle.hops()[0].pool, p0);
    assert_eq!(
        cycle_quote(&reg, &overlay, &plan.cycle, plan.quote.amount_in),
        Some(plan.quote)
    );

    let limits = CycleLimits {
        max_cycles: 3,
        max_evals_per_cycle: MAX_EVALS,
    };
    let (_, stats) = find_cycle_backrun(&reg, &overlay, &params(cap), &limits);
    assert_eq!((stats.cycles, stats.truncated), (3, true));
}

#[test]
fn payment_gas_and_skip_reasons() {
    let reg = skewed_registry();
    let p0 = PoolRef::V2(PoolId(0));
    let overlay = touched(&[p0], &reg);
    let cap = e18(10_000);
    let limits = CycleLimits::default();
    let gross = find_cycle_backrun(&reg, &overlay, &params(cap), &limits)
        .0
        .unwrap()
        .profit_gross;
    let mut p = params(cap);
    p.payment_bps = 2_500;
    let plan = find_cycle_backrun(&reg, &overlay, &p, &limits).0.unwrap();
    assert_eq!(plan.payment, gross / U256::from(4));
    assert_eq!(plan.profit_net, gross - gross / U256::from(4));
    p.gas_cost_wei = plan.profit_net;
    p.min_profit_wei = U256::ONE;
    assert_eq!(
        find_cycle_backrun(&reg, &overlay, &p, &limits).0,
        Err(SkipReason::BelowMinProfit)
    );
    let mut other = params(cap);
    other.capital_token = A;
    assert_eq!(
        find_cycle_backrun(&reg, &overlay, &other, &limits).0,
        Err(SkipReason::NoCycle)
    );
    let empty = StateOverlay::default();
    assert_eq!(
        find_cycle_backrun(&reg, &empty, &params(cap), &limits).0,
        Err(SkipReason::NoCycle)
    );
    // Balanced pools: cycles exist, none gains.
    let flat = hand_registry();
    let overlay = touched(&[PoolRef::V2(PoolId(0))], &flat);
    assert_eq!(
        find_cycle_backrun(&flat, &overlay, &params(cap), &limits).0,
        Err(SkipReason::Unprofitable)
    );
}

#[test]
fn a_cycle_through_two_touched_pools_is_sized_once() {
    let reg = skewed_registry();
    let (p0, p1) = (PoolRef::V2(PoolId(0)), PoolRef::V2(PoolId(1)));
    let one = touched(&[p0], &reg);
    let two = touched(&[p0, p1], &reg);
    let limits = CycleLimits::default();
    let (_, a) = find_cycle_backrun(&reg, &one, &params(e18(10)), &limits);
    let (_, b) = find_cycle_backrun(&reg, &two, &params(e18(10)), &limits);
    let union: Vec<Cycle> = {
        let mut all = cycles_through(&reg, p0);
        all.extend(
            cycles_through(&reg, p1)
                .into_iter()
                .filter(|c| !c.contains(p0)),
        );
        all
    };
    assert_eq!(a.cycles as usize, cycles_through(&reg, p0).len());
    assert_eq!(b.cycles as usize, union.len());
}

// --- sizing against the true optimum ---------------------------------------------------------

fn profit_at(reg: &PoolRegistry, o: &StateOverlay, c: &Cycle, x: U256) -> Option<i128> {
    let q = cycle_quote(reg, o, c, x)?;
    Some(q.amount_out().to::<i128>() - x.to::<i128>())
}

/// The true optimum of the exact integer profit over `1..=cap`: a scan at 160 log-spaced
/// inputs, then a ternary search between the best point's neighbours down to a width of
/// `x / 10^9` (the profit is flat to 10^-18 there), then 17 points across what is left.
fn true_best(reg: &PoolRegistry, o: &StateOverlay, c: &Cycle, cap: U256) -> Option<(U256, i128)> {
    let f = |x: U256| profit_at(reg, o, c, x).unwrap_or(i128::MIN);
    let capf = cap.to::<u128>() as f64;
    let mut xs: Vec<U256> = (0..=160)
        .map(|k| U256::from(capf.powf(f64::from(k) / 160.0) as u128).clamp(U256::ONE, cap))
        .collect();
    xs.dedup();
    // Scan up until three points in a row fall (the profit is concave: the peak is behind)
    // or a quote fails for size: larger inputs only cost time.
    let mut values: Vec<i128> = Vec::new();
    for &x in &xs {
        let v = f(x);
        let falling = values.len() >= 3
            && values.windows(2).rev().take(3).all(|w| w[1] < w[0])
            && v < values[values.len() - 1];
        let failed = v == i128::MIN && values.iter().any(|&p| p != i128::MIN);
        values.push(v);
        if falling || failed {
            break;
        }
    }
    xs.truncate(values.len());
    let (i, _) = values.iter().enumerate().max_by_key(|(_, v)| **v)?;
    let mut best = (xs[i], values[i]);
    let (mut lo, mut hi) = (xs[i.saturating_sub(1)], xs[(i + 1).min(xs.len() - 1)]);
    while hi - lo > (lo / U256::from(1_000_000_000u64)).max(U256::from(2)) {
        let third = (hi - lo) / U256::from(3);
        let (m1, m2) = (lo + third, hi - third);
        let (f1, f2) = (f(m1), f(m2));
        for (x, v) in [(m1, f1), (m2, f2)] {
            if v > best.1 {
                best = (x, v);
            }
        }
        if f1 < f2 {
            lo = m1;
        } else {
            hi = m2;
        }
    }
    for k in 0..=16u64 {
        let x = lo + (hi - lo) * U256::from(k) / U256::from(16);
        let v = f(x);
        if v > best.1 {
            best = (x, v);
        }
    }
    (best.1 > 0).then_some(best)
}

/// A random V3 pool around `tick`: one position across it and up to four more anywhere
/// within ±60 spacings, so sizes cross initialized ticks and word boundaries.
#[derive(Clone, Debug)]
struct V3Spec {
    core: (u8, u8, u128),
    extra: Vec<(i8, u8, u128)>,
}

fn v3_spec() -> impl Strategy<Value = V3Spec> {
    (
        (0u8..30, 1u8..30, 10u128.pow(19)..10u128.pow(23)),
        prop::collection::vec((-60i8..60, 1u8..40, 10u128.pow(18)..10u128.pow(23)), 0..5),
    )
        .prop_map(|(core, extra)| V3Spec { core, extra })
}

impl V3Spec {
    fn build(&self, n: u8, a: Address, b: Address, tick: i32, tier: usize) -> V3Pool {
        let (fee, spacing) = TIERS[tier];
        let base = tick.div_euclid(spacing) * spacing;
        let (below, above, liq) = self.core;
        let mut positions = vec![(
            base - i32::from(below) * spacing,
            base + (i32::from(above) + 1) * spacing,
            liq,
        )];
        for &(off, width, liq) in &self.extra {
            let lower = base + i32::from(off) * spacing;
            positions.push((lower, lower + i32::from(width) * spacing, liq));
        }
        v3_pool(n, a, b, (fee, spacing), tick, &positions)
    }
}

#[derive(Clone, Debug)]
enum Spec {
    V2(u128),
    V3(V3Spec),
}

fn pool_spec() -> impl Strategy<Value = Spec> {
    prop_oneof![
        (10u128.pow(20)..10u128.pow(24)).prop_map(Spec::V2),
        v3_spec().prop_map(Spec::V3),
    ]
}

/// Token "values" in ticks: the pool of tokens `a`, `b` sits at tick `v(token0) - v(token1)`.
fn value(t: Address, va: i32, vb: i32) -> i32 {
    match t {
        x if x == A => va,
        x if x == B => vb,
        _ => 0,
    }
}

/// Pools built from specs; `skew` is added to one pool's tick to make a cycle gain.
struct Built {
    v2: Vec<V2Pool>,
    v3: Vec<V3Pool>,
    refs: Vec<PoolRef>,
}

impl Built {
    fn add(&mut self, spec: &Spec, a: Address, b: Address, ticks: (i32, i32), tier: usize) {
        let tick = value(a.min(b), ticks.0, ticks.1) - value(a.max(b), ticks.0, ticks.1);
        self.add_at(spec, a, b, tick, tier);
    }

    fn add_at(&mut self, spec: &Spec, a: Address, b: Address, tick: i32, tier: usize) {
        match spec {
            Spec::V2(r) => {
                let n = self.v2.len() as u8;
                // tick = log(token1 per token0): reserve1 = reserve0 * 1.0001^tick.
                let (r0, r1) = (U256::from(*r), scaled(*r, tick));
                let (ra, rb) = if a < b { (r0, r1) } else { (r1, r0) };
                self.refs.push(PoolRef::V2(PoolId(u32::from(n))));
                self.v2.push(v2_pair(n, a, b, ra, rb, n % 2));
            }
            Spec::V3(s) => {
                let n = self.v3.len() as u8;
                self.refs.push(PoolRef::V3(V3Id(u32::from(n))));
                self.v3.push(s.build(n, a, b, tick, tier));
            }
        }
    }
}

/// A random victim trade on `pool`, written into the overlay as `apply_swaps` would.
fn victim_move(
    reg: &PoolRegistry,
    pool: PoolRef,
    zero_for_one: bool,
    amount: u128,
) -> StateOverlay {
    let mut o = StateOverlay::default();
    match pool {
        PoolRef::V2(id) => {
            let p = reg.v2().pool(id);
            let (r_in, r_out) = if zero_for_one {
                (p.reserve0, p.reserve1)
            } else {
                (p.reserve1, p.reserve0)
            };
            let out =
                kestrel_dex::math::get_amount_out(U256::from(amount), r_in, r_out, 997).unwrap();
            let (a, b) = (r_in + U256::from(amount), r_out - out);
            let (reserve0, reserve1) = if zero_for_one { (a, b) } else { (b, a) };
            o.set(pool, PoolState::V2 { reserve0, reserve1 }).unwrap();
        }
        PoolRef::V3(id) => {
            let p = reg.v3(id).unwrap();
            if let Ok(r) = p.quote(
                zero_for_one,
                alloy_primitives::I256::try_from(amount).unwrap(),
                default_price_limit(zero_for_one),
            ) {
                o.set(pool, PoolState::V3(V3State::after(&r))).unwrap();
            }
        }
    }
    o
}

#[derive(Clone, Debug)]
struct Case {
    kind: u8,
    first: Spec,
    second: Spec,
    third: Spec,
    tier: usize,
    values: (i32, i32),
    skew: i32,
    victim: Option<(bool, u128)>,
    cap_e18: u32,
}

fn case(kind: u8) -> impl Strategy<Value = Case> {
    (
        pool_spec(),
        pool_spec(),
        pool_spec(),
        0usize..3,
        (-3000i32..3000, -3000i32..3000),
        prop_oneof![-900i32..-15, 15i32..900],
        proptest::option::of((any::<bool>(), 10u128.pow(18)..10u128.pow(22))),
        prop_oneof![Just(1u32), Just(1_000_000), Just(1_000_000)],
    )
        .prop_map(
            move |(first, second, third, tier, values, skew, victim, cap_e18)| {
                let force = |s: Spec| match s {
                    Spec::V3(v) => Spec::V3(v),
                    Spec::V2(_) if kind == 2 => Spec::V3(V3Spec {
                        core: (5, 5, 10u128.pow(21)),
                        extra: Vec::new(),
                    }),
                    v2 => v2,
                };
                // Kind 0: V2-V3, kind 1: V3-V2 (both orders of a mixed pair), kind 2: V3-V3,
                // kind 3: triangles of any pools.
                let (first, second) = match kind {
                    0 => (v2_of(first), force_v3(second)),
                    1 => (force_v3(first), v2_of(second)),
                    2 => (force(first), force(second)),
                    _ => (first, second),
                };
                Case {
                    kind,
                    first,
                    second,
                    third,
                    tier,
                    values,
                    skew,
                    victim,
                    cap_e18,
                }
            },
        )
}

fn v2_of(s: Spec) -> Spec {
    match s {
        Spec::V3(v) => Spec::V2(v.core.2 * 100),
        v2 => v2,
    }
}

fn force_v3(s: Spec) -> Spec {
    match s {
        Spec::V2(r) => Spec::V3(V3Spec {
            core: ((r % 29) as u8, (r % 23) as u8 + 1, r / 10),
            extra: Vec::new(),
        }),
        v3 => v3,
    }
}

/// Builds the case's registry and overlay, and the cycles to size (both directions).
fn setup(c: &Case) -> (PoolRegistry, StateOverlay, Vec<Cycle>) {
    let mut b = Built {
        v2: Vec::new(),
        v3: Vec::new(),
        refs: Vec::new(),
    };
    let (va, vb) = c.values;
    let cycles_of = |refs: &[PoolRef]| -> Vec<Cycle> {
        match refs {
            [p, q] => vec![
                Cycle::new(&[h(*p, W, A), h(*q, A, W)]).unwrap(),
                Cycle::new(&[h(*q, W, A), h(*p, A, W)]).unwrap(),
            ],
            [p, q, r] => vec![
                Cycle::new(&[h(*p, W, A), h(*q, A, B), h(*r, B, W)]).unwrap(),
                Cycle::new(&[h(*r, W, B), h(*q, B, A), h(*p, A, W)]).unwrap(),
            ],
            _ => unreachable!(),
        }
    };
    if c.kind < 3 {
        let tick = value(W.min(A), va, vb) - value(W.max(A), va, vb);
        b.add_at(&c.first, W, A, tick, c.tier);
        // A V3-V3 pair needs two fee tiers.
        b.add_at(&c.second, W, A, tick + c.skew, (c.tier + 1) % 3);
    } else {
        b.add(&c.first, W, A, (va, vb), c.tier);
        b.add(&c.second, A, B, (va + c.skew, vb), c.tier);
        b.add(&c.third, B, W, (va, vb), c.tier);
    }
    let reg = registry(b.v2, b.v3);
    let overlay = match c.victim {
        Some((zero_for_one, amount)) => victim_move(&reg, b.refs[0], zero_for_one, amount),
        None => StateOverlay::default(),
    };
    let cycles = cycles_of(&b.refs);
    (reg, overlay, cycles)
}

/// Profits below this are far under any gas cost; their ratios measure rounding, not sizing.
const MEANINGFUL_WEI: i128 = 1_000_000_000;

#[derive(Default)]
struct Tally {
    ratios: Vec<f64>,
    /// Quotes per search, profitable cycles only.
    evaluations: Vec<u32>,
    /// Quotes per search, every cycle.
    all_evaluations: Vec<u32>,
    negligible: usize,
    unprofitable: usize,
}

fn run_capture(kind: u8, cases: u32, tally: &RefCell<Tally>) {
    let config = Config {
        cases,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let result = runner.run(&case(kind), |c| {
        let (reg, overlay, cycles) = setup(&c);
        let cap = e18(u64::from(c.cap_e18));
        for cycle in &cycles {
            let bounds = SizeBounds {
                min_gain: U256::from(MEANINGFUL_WEI),
                ..SizeBounds::new(cap)
            };
            let sized = search_cycle(&reg, &overlay, cycle, &bounds);
            prop_assert!(sized.evaluations <= MAX_EVALS);
            prop_assert_eq!(sized.sizing, Sizing::Search);
            let got = sized.best.map_or(0, |q| {
                q.amount_out().to::<i128>() - q.amount_in.to::<i128>()
            });
            if let Some(q) = sized.best {
                prop_assert!(q.amount_in <= cap && q.amount_in >= U256::ONE);
                prop_assert_eq!(cycle_quote(&reg, &overlay, cycle, q.amount_in), Some(q));
            }
            let mut t = tally.borrow_mut();
            t.all_evaluations.push(sized.evaluations);
            match true_best(&reg, &overlay, cycle, cap) {
                None => {
                    prop_assert_eq!(got, 0, "profit where the scan finds none");
                    t.unprofitable += 1;
                }
                Some((_, best)) if best < MEANINGFUL_WEI => {
                    prop_assert!(got <= best);
                    t.negligible += 1;
                }
                Some((x, best)) => {
                    let ratio = got as f64 / best as f64;
                    prop_assert!(
                        ratio >= 0.999,
                        "captured {ratio} of {best} (optimum at {x}, chose {:?})",
                        sized.best.map(|q| q.amount_in)
                    );
                    t.ratios.push(ratio);
                    t.evaluations.push(sized.evaluations);
                }
            }
        }
        Ok(())
    });
    if let Err(e) = result {
        panic!("{e}");
    }
}

fn report(name: &str, t: &Tally) -> f64 {
    let mut r = t.ratios.clone();
    r.sort_by(f64::total_cmp);
    let sorted = |v: &[u32]| {
        let mut v = v.to_vec();
        v.sort_unstable();
        v
    };
    let (e, all) = (sorted(&t.evaluations), sorted(&t.all_evaluations));
    let worst = r.first().copied().unwrap_or(f64::NAN);
    println!(
        "{name}: {} profitable cycles, capture min {worst:.7} median {:.7}; quotes median {} \
         max {} (all {} searches: median {} max {}); {} unprofitable, {} below 1 gwei",
        r.len(),
        r.get(r.len() / 2).copied().unwrap_or(f64::NAN),
        e.get(e.len() / 2).copied().unwrap_or(0),
        e.last().copied().unwrap_or(0),
        all.len(),
        all.get(all.len() / 2).copied().unwrap_or(0),
        all.last().copied().unwrap_or(0),
        t.unprofitable,
        t.negligible,
    );
    worst
}

#[test]
fn the_search_captures_the_true_optimum() {
    for (kind, name) in [(0u8, "V2-V3"), (1, "V3-V2"), (2, "V3-V3"), (3, "3-hop")] {
        let tally = RefCell::new(Tally::default());
        run_capture(kind, 100, &tally);
        let t = tally.into_inner();
        let worst = report(name, &t);
        assert!(
            t.ratios.len() >= 40,
            "{name}: too few profitable cases ({})",
            t.ratios.len()
        );
        assert!(worst >= 0.999, "{name}: worst capture {worst}");
    }
}

#[test]
fn v2_pairs_searched_agree_with_the_closed_form() {
    let config = Config {
        cases: 200,
        failure_persistence: None,
        ..Config::default()
    };
    let mut runner =
        TestRunner::new_with_rng(config, TestRng::deterministic_rng(RngAlgorithm::ChaCha));
    let strategy = (
        10u128.pow(18)..10u128.pow(26),
        10u128.pow(18)..10u128.pow(26),
        -2000i32..2000,
        prop_oneof![-900i32..-10, 10i32..900],
    );
    let checked = RefCell::new(0u32);
    runner
        .run(&strategy, |(r1, r2, tick, skew)| {
            let reg = registry(
                vec![
                    v2_pair(0, W, A, U256::from(r1), scaled(r1, tick), 0),
                    v2_pair(1, W, A, U256::from(r2), scaled(r2, tick + skew), 1),
                ],
                Vec::new(),
            );
            let (p, q) = (PoolRef::V2(PoolId(0)), PoolRef::V2(PoolId(1)));
            let o = StateOverlay::default();
            for cycle in [
                Cycle::new(&[h(p, W, A), h(q, A, W)]).unwrap(),
                Cycle::new(&[h(q, W, A), h(p, A, W)]).unwrap(),
            ] {
                let cap = U256::from(u128::MAX >> 8);
                let closed = size_cycle(&reg, &o, &cycle, &SizeBounds::new(cap));
                prop_assert_eq!(closed.sizing, Sizing::ClosedForm);
                prop_assert!(closed.evaluations <= 1);
                let searched = search_cycle(&reg, &o, &cycle, &SizeBounds::new(cap));
                let profit = |s: &kestrel_dex::cycle::Sized| {
                    s.best
                        .and_then(|q| q.profit())
                        .map_or(0, |p| p.to::<u128>())
                };
                let (c, s) = (profit(&closed), profit(&searched));
                // Both sizes are exact quotes; the closed form is the continuous optimum,
                // floored, so neither may beat the other by more than the tolerance.
                prop_assert!(s.abs_diff(c) <= c / 1000 + 2, "closed {} searched {}", c, s);
                if c > 1_000_000 {
                    *checked.borrow_mut() += 1;
                }
            }
            Ok(())
        })
        .unwrap();
    assert!(checked.into_inner() >= 150, "most cases must be profitable");
}

#[test]
fn search_respects_the_evaluation_budget_and_the_cap() {
    let reg = skewed_registry();
    let o = StateOverlay::default();
    let (p, q) = (PoolRef::V2(PoolId(0)), PoolRef::V3(V3Id(1)));
    let cycle = Cycle::new(&[h(p, W, A), h(q, A, W)]).unwrap();
    let free = search_cycle(&reg, &o, &cycle, &SizeBounds::new(e18(1_000_000)));
    let best = free.best.unwrap();
    let x = best.amount_in;
    // A local optimum of the exact profit, to 1 %.
    for near in [x - x / U256::from(100), x + x / U256::from(100)] {
        let q = cycle_quote(&reg, &o, &cycle, near).unwrap();
        assert!(q.profit() <= best.profit(), "{near} beats {x}");
    }
    // A cap below the optimum: the cap is the best size.
    let capped = search_cycle(&reg, &o, &cycle, &SizeBounds::new(x / U256::from(3)));
    assert_eq!(capped.best.unwrap().amount_in, x / U256::from(3));
    // One quote only: still an exactly priced size.
    let budget = |max_evals| SizeBounds {
        max_evals,
        ..SizeBounds::new(e18(1_000_000))
    };
    let once = search_cycle(&reg, &o, &cycle, &budget(1));
    assert_eq!(once.evaluations, 1);
    let q1 = once.best.unwrap();
    assert_eq!(cycle_quote(&reg, &o, &cycle, q1.amount_in), Some(q1));
    let none = search_cycle(&reg, &o, &cycle, &budget(0));
    assert_eq!((none.best, none.evaluations), (None, 0));
    // The unprofitable direction is rejected without a quote.
    let back = Cycle::new(&[h(q, W, A), h(p, A, W)]).unwrap();
    let rejected = search_cycle(&reg, &o, &back, &budget(MAX_EVALS));
    assert_eq!((rejected.best, rejected.evaluations), (None, 0));
}

/// Times the V3-V3 multi-tick sizing (the 5 µs budget is for release builds; run
/// `cargo test --release -p kestrel-dex --test it sizing_latency -- --nocapture`), on plain
/// snapshots and on snapshots carrying their step table (what the slow lane publishes). Both
/// must size to the same quote.
#[test]
fn sizing_latency() {
    // Pool 0: an initialized tick every 10 ticks around the price; pool 1, 150 ticks away,
    // deep and wide. The arbitrage walks pool 0 across several of its ticks.
    let dense: Vec<(i32, i32, u128)> = (1..=40)
        .map(|i| (-10 * i, 10 * i, 10u128.pow(20) * (41 - i as u128)))
        .collect();
    let wide: Vec<(i32, i32, u128)> = (0..30)
        .map(|i| {
            (
                -60 * (5 + 3 * i),
                60 * (5 + 3 * i),
                10u128.pow(21) * (i as u128 + 1),
            )
        })
        .collect();
    let pools = [
        v3_pool(0, W, A, TIERS[0], 0, &dense),
        v3_pool(1, W, A, TIERS[1], 150, &wide),
    ];
    let plain = registry(Vec::new(), pools.to_vec());
    let tabled = registry(
        Vec::new(),
        pools.iter().map(|p| p.clone().with_step_table()).collect(),
    );
    let (p, q) = (PoolRef::V3(V3Id(0)), PoolRef::V3(V3Id(1)));
    let cycle = Cycle::new(&[h(p, W, A), h(q, A, W)]).unwrap();
    let o = StateOverlay::default();
    let cap = e18(1_000_000);
    let bounds = SizeBounds::new(cap);
    let first = size_cycle(&plain, &o, &cycle, &bounds);
    assert_eq!(size_cycle(&tabled, &o, &cycle, &bounds), first);
    let best = first.best.expect("the skewed pools leave a gain");
    let r = plain.v3(V3Id(0)).unwrap();
    let crossed = r
        .quote_exact_in_v2(W < A, best.amount_in, U256::ZERO)
        .unwrap()
        .initialized_ticks_crossed;
    assert!(crossed >= 2, "the optimum crosses ticks ({crossed})");
    let time = |f: &mut dyn FnMut()| {
        let mut ns: Vec<u64> = (0..2000)
            .map(|_| {
                let t0 = kestrel_stdx::clock::mono_ns();
                f();
                kestrel_stdx::clock::mono_ns() - t0
            })
            .collect();
        ns.sort_unstable();
        (ns[1000], ns[1980])
    };
    for (name, reg) in [("plain", &plain), ("step table", &tabled)] {
        let sizing = time(&mut || {
            let again = size_cycle(reg, &o, std::hint::black_box(&cycle), &bounds);
            assert_eq!(again, first);
        });
        let pool = reg.v3(V3Id(0)).unwrap();
        let quote = time(&mut || {
            let q = pool.quote_exact_in(W < A, std::hint::black_box(best.amount_in));
            assert!(q.is_ok());
        });
        println!(
            "V3-V3 sizing ({name}): {} cycle quotes, the optimum crosses {crossed} ticks; \
             sizing p50 {} ns p99 {} ns; one {crossed}-tick pool quote p50 {} ns p99 {} ns",
            first.evaluations, sizing.0, sizing.1, quote.0, quote.1
        );
    }
    assert!(first.evaluations <= 6, "{} quotes", first.evaluations);
}
