//! Router victims through the whole hot pipeline (`Pipeline::on_frame`, loopback relay): the
//! bench's SwapRouter02 and Universal Router victims over V2 and V3 pools are decoded, replayed
//! and backrun by V3 or mixed cycles signed on the hot thread. Each fired bundle is checked from
//! the outside: its event, its `eth_sendBundle` body, the backrun transaction decoded and
//! recovered with alloy, its `backrunRoute` arguments decoded with alloy's ABI, and the
//! predicted profit recomputed by replaying the victim and the route hop by hop with the V3
//! pool's swap and the V2 formula, independently of the engine's decoders and cycle search.

use std::collections::HashMap;

use alloy::consensus::transaction::SignerRecoverable;
use alloy::consensus::{Transaction, TxEnvelope};
use alloy::eips::eip2718::Decodable2718;
use alloy::primitives::{Address, B256, Bytes, I256, U256, keccak256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol_types::{SolCall, SolValue};
use kestrel::bench::{
    HotParts, RelaySink, RouteVictim, RouteWorld, SinkMode, route_fixture, user_frame,
};
use kestrel_dex::v3::{V3Pool, default_price_limit};
use kestrel_sandbox::routers::bindings::{ISwapRouter02, IUniversalRouter};
use kestrel_sandbox::routers::{ADDRESS_THIS, UserCall};
use kestrel_stdx::mono_ns;
use kestrel_types::{BundleEvent, DecodePath, HotEvent, RouteKind, SkipReason};

alloy::sol! {
    function backrunRoute(uint256[] route, uint256 amountIn, uint256 minProfit, uint256 paymentBps);
}

/// A pending transaction as the frame announces it.
struct Pending {
    to: Address,
    value: U256,
    input: Vec<u8>,
}

fn pending_of(frame: &str) -> (B256, Pending) {
    let v: serde_json::Value = serde_json::from_str(frame).unwrap();
    let r = &v["params"]["result"];
    let field = |k: &str| r[k].as_str().unwrap().to_string();
    let hash: B256 = field("hash").parse().unwrap();
    let input = hex::decode(field("input").trim_start_matches("0x")).unwrap();
    (
        hash,
        Pending {
            to: field("to").parse().unwrap(),
            value: field("value").parse().unwrap(),
            input,
        },
    )
}

/// A pool as the independent replay keeps it.
#[derive(Clone)]
enum SimPool {
    V2 {
        token0: Address,
        token1: Address,
        reserve0: U256,
        reserve1: U256,
    },
    V3(V3Pool),
}

/// Every pool of the world by address, replayed swap by swap.
#[derive(Clone)]
struct Sim {
    pools: HashMap<Address, SimPool>,
    /// Initialized ticks the V3 swaps crossed so far.
    ticks_crossed: u32,
}

impl Sim {
    fn of(w: &RouteWorld) -> Sim {
        let mut pools = HashMap::new();
        for p in w.registry.v2().pools() {
            let pool = SimPool::V2 {
                token0: p.token0,
                token1: p.token1,
                reserve0: p.reserve0,
                reserve1: p.reserve1,
            };
            pools.insert(p.address, pool);
        }
        for p in w.registry.v3_pools() {
            pools.insert(p.address(), SimPool::V3(p.clone()));
        }
        Sim {
            pools,
            ticks_crossed: 0,
        }
    }

    fn tokens(&self, pool: Address) -> (Address, Address) {
        match &self.pools[&pool] {
            SimPool::V2 { token0, token1, .. } => (*token0, *token1),
            SimPool::V3(p) => (p.token0(), p.token1()),
        }
    }

    /// The pool of `a`/`b` with this V3 fee (`None`: the V2 pair).
    fn find(&self, a: Address, b: Address, fee: Option<u32>) -> Address {
        let hits: Vec<Address> = self
            .pools
            .iter()
            .filter(|(_, p)| {
                let (t0, t1) = match p {
                    SimPool::V2 { token0, token1, .. } => (*token0, *token1),
                    SimPool::V3(p) => (p.token0(), p.token1()),
                };
                let fee_ok = match (p, fee) {
                    (SimPool::V2 { .. }, None) => true,
                    (SimPool::V3(p), Some(f)) => p.fee_pips() == f,
                    _ => false,
                };
                fee_ok && ((t0, t1) == (a, b) || (t0, t1) == (b, a))
            })
            .map(|(a, _)| *a)
            .collect();
        assert_eq!(hits.len(), 1, "one pool for {a}/{b} fee {fee:?}");
        hits[0]
    }

    /// Swaps exactly `amount_in` of `token_in` on `pool` (V2 with fee `fee_num`/1000, V3 with
    /// the routers' default price limit, filled in full) and returns the output.
    fn swap(&mut self, pool: Address, token_in: Address, amount_in: U256, fee_num: u64) -> U256 {
        let p = self.pools.get_mut(&pool).unwrap();
        match p {
            SimPool::V2 {
                token0,
                token1,
                reserve0,
                reserve1,
            } => {
                assert!(token_in == *token0 || token_in == *token1);
                let (r_in, r_out) = if token_in == *token0 {
                    (reserve0, reserve1)
                } else {
                    (reserve1, reserve0)
                };
                // UniswapV2Library.getAmountOut.
                let with_fee = amount_in * U256::from(fee_num);
                let out = with_fee * *r_out / (*r_in * U256::from(1000) + with_fee);
                *r_in += amount_in;
                *r_out -= out;
                out
            }
            SimPool::V3(v3) => {
                let zero_for_one = token_in == v3.token0();
                let r = v3
                    .quote(
                        zero_for_one,
                        I256::try_from(amount_in).unwrap(),
                        default_price_limit(zero_for_one),
                    )
                    .unwrap();
                assert_eq!(
                    r.amount_in(zero_for_one).into_raw(),
                    amount_in,
                    "a full fill"
                );
                *v3 = v3.with_swap(r.sqrt_price_x96, r.liquidity, r.tick).unwrap();
                self.ticks_crossed += r.initialized_ticks_crossed;
                r.amount_out(zero_for_one).into_raw()
            }
        }
    }

    /// Replays a victim from what its router and selector say it does (the fixture's four
    /// kinds, each paid in ETH); returns the kind.
    fn victim(&mut self, w: &RouteWorld, tx: &Pending) -> RouteVictim {
        let (weth, a, b) = (w.weth, w.token_a, w.token_b);
        let selector: [u8; 4] = tx.input[..4].try_into().unwrap();
        let (kind, hops): (RouteVictim, Vec<(Address, Address, Option<u32>)>) =
            if tx.to == w.routers.universal_router {
                (RouteVictim::UrWrapV3, vec![(weth, b, Some(3000))])
            } else if selector == ISwapRouter02::multicallCall::SELECTOR {
                (
                    RouteVictim::Sr02ExactInputSingle,
                    vec![(weth, a, Some(500))],
                )
            } else if selector == ISwapRouter02::exactInputCall::SELECTOR {
                (
                    RouteVictim::Sr02MultiHop,
                    vec![(weth, a, Some(500)), (a, b, Some(3000))],
                )
            } else if selector == ISwapRouter02::swapExactTokensForTokensCall::SELECTOR {
                (RouteVictim::Sr02V2, vec![(weth, a, None)])
            } else {
                panic!("not one of the fixture's victims");
            };
        let mut amount = tx.value;
        for (token_in, token_out, fee) in hops {
            let pool = self.find(token_in, token_out, fee);
            amount = self.swap(pool, token_in, amount, 997);
        }
        kind
    }
}

/// One hop of a `backrunRoute` route word: `pool | feeNum << 160 | flags << 176`.
struct Hop {
    pool: Address,
    fee_num: u64,
    v3: bool,
    zero_for_one: bool,
}

fn hop_of(word: U256) -> Hop {
    let bytes = word.to_be_bytes::<32>();
    assert!(
        bytes[..9].iter().all(|b| *b == 0),
        "no bits above the flags"
    );
    Hop {
        pool: Address::from_slice(&bytes[12..]),
        fee_num: u64::from(u16::from_be_bytes([bytes[10], bytes[11]])),
        v3: bytes[9] & 1 != 0,
        zero_for_one: bytes[9] & 2 != 0,
    }
}

/// The `eth_sendBundle` body's transactions.
fn bundle_txs(body: &[u8]) -> Vec<Vec<u8>> {
    let v: serde_json::Value = serde_json::from_slice(body).unwrap();
    assert_eq!(v["method"], "eth_sendBundle");
    assert_eq!(v["params"][0]["blockNumber"], "0x2", "head 1 + 1");
    v["params"][0]["txs"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| hex::decode(t.as_str().unwrap().trim_start_matches("0x")).unwrap())
        .collect()
}

/// Everything the pipeline emitted and handed off for a run of frames.
struct Run {
    events: Vec<HotEvent>,
    bodies: HashMap<B256, Vec<u8>>,
}

fn run(parts: &mut HotParts, frames: &[String]) -> Run {
    let mut events = Vec::new();
    let mut bodies = HashMap::new();
    for f in frames {
        parts.pipeline.on_frame(f.as_bytes(), mono_ns());
        parts.events.pop_batch(&mut events, 1024);
        while let Some(p) = parts.handoff.recv() {
            bodies.insert(p.victim, p.body.clone());
            parts.handoff.recycle(p);
        }
    }
    Run { events, bodies }
}

/// What a fired bundle was, by the independent replay.
struct Fired {
    route_kind: RouteKind,
    /// Initialized V3 ticks the victim crossed.
    victim_ticks: u32,
    /// Initialized V3 ticks the backrun crossed.
    backrun_ticks: u32,
}

/// Checks one fired bundle against the independent replay.
fn check_bundle(w: &RouteWorld, ev: &BundleEvent, tx: &Pending, body: &[u8]) -> Fired {
    let c = &ev.candidate;
    let mut sim = Sim::of(w);
    let kind = sim.victim(w, tx);
    let victim_ticks = sim.ticks_crossed;
    let path = match kind {
        RouteVictim::UrWrapV3 => DecodePath::UniversalRouter,
        _ => DecodePath::SwapRouter02,
    };
    assert_eq!(c.decode_path, path, "{kind:?}");
    let txs = bundle_txs(body);
    assert_eq!(txs.len(), 2);
    assert_eq!(
        keccak256(&txs[0]),
        c.tx_hash,
        "the victim first, as announced"
    );
    assert_eq!(keccak256(&txs[1]), ev.backrun_hash);
    let env = TxEnvelope::decode_2718(&mut txs[1].as_slice()).unwrap();
    assert!(matches!(env, TxEnvelope::Eip1559(_)));
    assert_eq!(env.recover_signer().unwrap(), w.searcher.address());
    assert_eq!(env.to(), Some(w.route_tx.executor));
    assert_eq!(env.chain_id(), Some(w.route_tx.chain_id));
    assert_eq!(env.nonce(), w.route_tx.nonce);
    assert_eq!(ev.nonce, w.route_tx.nonce);
    assert_eq!(env.gas_limit(), w.route_tx.gas_limit);
    assert_eq!(env.value(), U256::ZERO);
    let call = backrunRouteCall::abi_decode(env.input()).unwrap();
    assert_eq!(call.amountIn, c.amount_in);
    assert_eq!(call.minProfit, c.profit_net);
    assert_eq!(ev.floor, c.profit_net);
    assert_eq!(call.paymentBps, U256::from(w.params.payment_bps));
    assert_eq!(call.route.len(), usize::from(c.hops));
    // The route, replayed on the post-victim pools.
    let hops: Vec<Hop> = call.route.iter().map(|w| hop_of(*w)).collect();
    let (mut token, mut amount) = (w.weth, call.amountIn);
    for hop in &hops {
        let (t0, t1) = sim.tokens(hop.pool);
        assert_eq!(hop.zero_for_one, token == t0, "direction of {}", hop.pool);
        assert_eq!(hop.fee_num, if hop.v3 { 0 } else { 997 });
        amount = sim.swap(hop.pool, token, amount, hop.fee_num);
        token = if token == t0 { t1 } else { t0 };
    }
    assert_eq!(token, w.weth, "the route closes in WETH");
    let gross = amount - call.amountIn;
    let payment = gross * U256::from(w.params.payment_bps) / U256::from(10_000);
    assert_eq!(c.profit_gross, gross, "predicted gross profit");
    assert_eq!(c.profit_net, gross - payment, "predicted net profit");
    assert!(c.profit_net >= w.params.gas_cost_wei + w.params.min_profit_wei);
    assert_eq!(c.pool_buy, hops[0].pool);
    assert_eq!(c.pool_sell, hops[hops.len() - 1].pool);
    assert_eq!(ev.relays_written, 1);
    let has_v2 = hops.iter().any(|h| !h.v3);
    let route_kind = if has_v2 {
        RouteKind::Mixed
    } else {
        RouteKind::V3
    };
    assert_eq!(c.route_kind, route_kind);
    Fired {
        route_kind,
        victim_ticks,
        backrun_ticks: sim.ticks_crossed - victim_ticks,
    }
}

#[test]
fn router_victims_fire_v3_and_mixed_routes_with_exact_profit() {
    let sink = RelaySink::start(SinkMode::Block).unwrap();
    let (mut parts, frames, w) = route_fixture(800, sink.url()).unwrap();
    let pending: HashMap<B256, Pending> = frames.iter().map(|f| pending_of(f)).collect();
    let out = run(&mut parts, &frames);
    let mut fired = 0;
    // Bundles whose victim / backrun crossed at least one initialized V3 tick.
    let (mut victim_crossed, mut backrun_crossed) = (0, 0);
    let mut kinds: HashMap<RouteKind, u32> = HashMap::new();
    let mut victims_fired: HashMap<Address, u32> = HashMap::new();
    for ev in &out.events {
        match ev {
            HotEvent::Bundle(b) => {
                let tx = &pending[&b.candidate.tx_hash];
                let body = &out.bodies[&b.candidate.tx_hash];
                let f = check_bundle(&w, b, tx, body);
                *kinds.entry(f.route_kind).or_default() += 1;
                victim_crossed += usize::from(f.victim_ticks > 0);
                backrun_crossed += usize::from(f.backrun_ticks > 0);
                *victims_fired.entry(tx.to).or_default() += 1;
                fired += 1;
            }
            HotEvent::Skip(s) if s.reason != SkipReason::NotRouter => {
                // A router victim that did not fire was too small to pay for gas.
                assert!(
                    matches!(
                        s.reason,
                        SkipReason::Unprofitable | SkipReason::BelowMinProfit
                    ),
                    "{:?}",
                    s.reason
                );
            }
            _ => {}
        }
    }
    let victims = frames.len() / 10;
    let c = parts.counters.snapshot();
    assert_eq!(c.bundles, fired as u64);
    assert!(
        fired * 4 >= victims * 3,
        "{fired} of {victims} victims fired"
    );
    // Multi-tick: most backruns cross initialized ticks, and so do most victims (all but the
    // V2-leg quarter, whose victim swap is on a V2 pair).
    assert!(
        backrun_crossed * 4 >= fired * 3,
        "{backrun_crossed} of {fired}"
    );
    assert!(victim_crossed * 2 >= fired, "{victim_crossed} of {fired}");
    assert!(
        kinds.get(&RouteKind::V3).is_some_and(|n| *n > 0),
        "{kinds:?}"
    );
    assert!(
        kinds.get(&RouteKind::Mixed).is_some_and(|n| *n > 0),
        "{kinds:?}"
    );
    assert!(victims_fired.contains_key(&w.routers.swap_router02));
    assert!(victims_fired.contains_key(&w.routers.universal_router));
    assert_eq!(parts.presigs.fallbacks(), 0);
}

#[test]
fn a_victim_that_would_revert_and_a_v4_swap_are_counted_skips() {
    let sink = RelaySink::start(SinkMode::Block).unwrap();
    let (mut parts, _, w) = route_fixture(10, sink.url()).unwrap();
    let user = PrivateKeySigner::random();
    let size = U256::from(5u64) * U256::from(10u64).pow(U256::from(18));
    let mut frames = Vec::new();
    let mut expected = HashMap::new();
    for (i, kind) in RouteVictim::ALL.into_iter().enumerate() {
        // One wei more than the victim gets: its own minimum makes it revert.
        let quote = w.victim_quote(kind, user.address(), size).unwrap();
        let call = w.victim_call(kind, user.address(), size, quote + U256::ONE);
        let f = user_frame(&user, &call, i as u64).unwrap();
        expected.insert(pending_of(&f).0, SkipReason::VictimWouldRevert);
        frames.push(f);
        // The same with the exact minimum fires (the bound is tight, not off by one).
        let call = w.victim_call(kind, user.address(), size, quote);
        frames.push(user_frame(&user, &call, 100 + i as u64).unwrap());
    }
    // Universal Router: wrap, then a V4 swap the engine does not price.
    let wrap = (ADDRESS_THIS, size).abi_encode_params();
    let v4 = (Bytes::from(vec![0x06u8]), vec![Bytes::new()]).abi_encode_params();
    let input = IUniversalRouter::execute_0Call {
        commands: Bytes::from(vec![0x0bu8, 0x10]),
        inputs: vec![Bytes::from(wrap), Bytes::from(v4)],
        deadline: U256::from(w.timestamp + 3600),
    }
    .abi_encode();
    let v4_call = UserCall {
        to: w.routers.universal_router,
        input: Bytes::from(input),
        value: size,
    };
    let f = user_frame(&user, &v4_call, 200).unwrap();
    expected.insert(pending_of(&f).0, SkipReason::UnsupportedV4);
    frames.push(f);
    let out = run(&mut parts, &frames);
    let mut skipped = HashMap::new();
    let mut bundles = 0;
    for ev in &out.events {
        match ev {
            HotEvent::Skip(s) => {
                skipped.insert(s.tx_hash, s.reason);
            }
            HotEvent::Bundle(b) => {
                assert!(!expected.contains_key(&b.candidate.tx_hash));
                bundles += 1;
            }
            _ => {}
        }
    }
    assert_eq!(skipped, expected);
    assert_eq!(
        bundles,
        RouteVictim::ALL.len(),
        "each exact-minimum victim fired"
    );
    let c = parts.counters.snapshot();
    assert_eq!(c.skips[SkipReason::VictimWouldRevert.index()], 4);
    assert_eq!(c.skips[SkipReason::UnsupportedV4.index()], 1);
    assert_eq!(c.routed[DecodePath::UniversalRouter.index()], 3);
    assert_eq!(c.routed[DecodePath::SwapRouter02.index()], 6);
}

/// Route cycles clear the route gas budget, not the V2 one: a victim whose best route nets less
/// than the route gas cost is skipped, and the same victim fires when the budget is below it.
#[test]
fn route_cycles_must_clear_the_route_gas_cost() {
    let sink = RelaySink::start(SinkMode::Block).unwrap();
    let (_, _, w) = route_fixture(10, sink.url()).unwrap();
    let user = PrivateKeySigner::random();
    let size = U256::from(5u64) * U256::from(10u64).pow(U256::from(18));
    for (i, kind) in RouteVictim::ALL.into_iter().enumerate() {
        let quote = w.victim_quote(kind, user.address(), size).unwrap();
        let call = w.victim_call(kind, user.address(), size, quote);
        let (_, tx) = pending_of(&user_frame(&user, &call, i as u64).unwrap());
        let mut state = w.hot_state();
        let net = match kestrel_hot::decide(&state, Some(tx.to), tx.value, &tx.input) {
            kestrel_hot::Verdict::Route(d) => d.plan.profit_net,
            other => panic!("{kind:?} did not fire a route: {other:?}"),
        };
        // Exactly enough gas budget left: still fires.
        state.route_gas_cost_wei = net - state.params.min_profit_wei;
        assert!(
            matches!(
                kestrel_hot::decide(&state, Some(tx.to), tx.value, &tx.input),
                kestrel_hot::Verdict::Route(_)
            ),
            "{kind:?}"
        );
        // One wei more: below the minimum profit.
        state.route_gas_cost_wei += U256::ONE;
        match kestrel_hot::decide(&state, Some(tx.to), tx.value, &tx.input) {
            kestrel_hot::Verdict::Skip(SkipReason::BelowMinProfit) => {}
            other => panic!("{kind:?} with a route gas cost above its profit: {other:?}"),
        }
        // The V2 lane's gas cost does not apply to routes.
        state.params.gas_cost_wei = U256::MAX / U256::from(4u8);
        state.route_gas_cost_wei = U256::ZERO;
        assert!(
            matches!(
                kestrel_hot::decide(&state, Some(tx.to), tx.value, &tx.input),
                kestrel_hot::Verdict::Route(_)
            ),
            "{kind:?}"
        );
    }
}
