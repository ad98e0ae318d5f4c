//! `kestrel bench hotpath`: the replay latency benchmark.
//!
//! A loopback WebSocket "node" sends pre-generated, really signed pending-transaction frames at
//! a fixed rate (9 in 10 plain transfers, 1 in 10 a Router02 swap on a synthetic pool set that
//! gives a profitable backrun). The real hot pipeline (decode, filter, decide, pre-signed ladder,
//! bundle body, auth signature, write) runs in dry-run against a loopback relay sink. With
//! `--victims routers` the swaps are SwapRouter02 and Universal Router victims over an
//! in-memory set of V2 and V3 pools ([`RouteWorld`]): decide then replays them exactly and
//! sizes V3 and mixed cycles with multi-tick quotes, and build signs each `backrunRoute`
//! transaction on the hot thread. The same feed then goes through a do-nothing forwarder that
//! writes a fixed request to the same sink: the floor. All stamps come from
//! `kestrel_stdx::mono_ns` on the receiving thread.

use std::collections::BTreeMap;
use std::io::{Read, Write};
use std::net::{TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::{Duration, Instant};

use alloy::consensus::{SignableTransaction, TxEip1559};
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, Bytes, TxKind, U256};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use anyhow::Context;
use hdrhistogram::Histogram;
use kestrel_bus::spsc::{self, DropPolicy};
use kestrel_bus::{ShutdownFlag, SnapshotCell, WaitStrategy};
use kestrel_dex::backrun::BackrunParams;
use kestrel_dex::cycle::{CycleLimits, PoolRegistry, V3FactoryId};
use kestrel_dex::math::get_amount_out;
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool, pair_address};
use kestrel_dex::router_v3::decode_swap_router;
use kestrel_dex::universal::{UrVersion, decode_universal};
use kestrel_dex::v3::full_math::mul_div;
use kestrel_dex::v3::sqrt_price_math::Q96;
use kestrel_dex::v3::tick_math::get_sqrt_ratio_at_tick;
use kestrel_dex::v3::{Slot0, V3Pool, V3PoolKey};
use kestrel_dex::victim::{VictimEnv, apply_swaps};
use kestrel_fire::RouteTxParams;
use kestrel_fire::bundle::FlashbotsAuth;
use kestrel_fire::ladder::{Ladder, LadderParams, LocalSigner};
use kestrel_fire::relay::RelayConn;
use kestrel_hot::routers::{Decoder, RouterEntry, RouterTable};
use kestrel_hot::{
    HotState, HotThreadConfig, NodeStreamConfig, Pipeline, PipelineConfig, RelayTarget,
};
use kestrel_sandbox::routers::{self as user_calls, Routers, UserCall};
use kestrel_stdx::{Rng, mono_ns};
use kestrel_telemetry::{Counters, Percentiles, StageRecorder};
use kestrel_types::{B256, FactoryId, HotEvent, RouteKind};
use serde::Serialize;
use tungstenite::Message;

use crate::sandbox::Pct;

sol! {
    function swapExactETHForTokens(uint256 amountOutMin, address[] path, address to, uint256 deadline);
}

const ETH: u128 = 1_000_000_000_000_000_000;
/// Signed templates (senders); frames vary their nonce.
const TEMPLATES: usize = 64;

/// The benchmark's result. Keys are stable.
#[derive(Clone, Debug, Serialize)]
pub struct HotpathBench {
    /// Frames per second offered.
    pub rate_target: u64,
    /// Frames per second the engine processed.
    pub rate_sustained: f64,
    /// Frames sent / processed by the engine.
    pub frames_sent: u64,
    /// Frames the engine decoded.
    pub frames_processed: u64,
    /// Bundles written.
    pub bundles: u64,
    /// Frames lost plus events dropped at the ring.
    pub drops: u64,
    /// Frame read → decision made.
    pub decision_ns: Pct,
    /// Frame read → bundle written to the relay (bundles only).
    pub end_to_end_ns: Pct,
    /// How many bundles `end_to_end_ns` covers.
    #[serde(skip)]
    end_to_end_count: u64,
    /// Frame read → the frame forwarded as a request body, through the do-nothing forwarder.
    pub floor_end_to_end_ns: Pct,
    /// Frames per second the forwarder processed.
    pub floor_rate_sustained: f64,
    /// Per-stage percentiles of the engine.
    pub stages_ns: BTreeMap<String, Pct>,
    /// Seconds per run.
    pub duration_s: u64,
    /// Cores available.
    pub cores: usize,
    /// How the engine and the floor wait for frames (spin, yield, park).
    pub wait: String,
    /// How the loopback relay sink waited for requests (poll or block).
    pub sink: String,
    /// The core the hot thread and the floor were pinned to (every other bench thread kept
    /// off it), or null when unpinned.
    pub hot_core: Option<usize>,
    /// Which victims the swap frames carry: `v2` (Router02) or `routers` (SwapRouter02 and
    /// the Universal Router over V2 and V3 pools).
    pub victims: String,
    /// Whether each V2 backrun was confirmed in revm before it was fired (`--confirm`; the
    /// `confirm` stage then holds one revm run of victim + backrun).
    pub confirm: bool,
    /// Backruns revm confirmed (each then fired).
    pub confirmed: u64,
    /// Bundles written, by the pool kinds of their cycle (`v2`, `v3`, `mixed`).
    pub bundles_by_route: BTreeMap<String, u64>,
    /// Pending transactions the engine skipped, by reason (only reasons that occurred).
    pub skips: BTreeMap<String, u64>,
}

impl HotpathBench {
    /// Number of bundles whose end-to-end latency was recorded.
    pub fn end_to_end_ns_count(&self) -> u64 {
        self.end_to_end_count
    }
}

fn pct(p: &Percentiles) -> Pct {
    Pct {
        p50: p.p50,
        p99: p.p99,
        p999: p.p999,
        max: p.max,
    }
}

fn pct_of(h: &Histogram<u64>) -> Pct {
    pct(&Percentiles::from_histogram(h))
}

/// Stage and total percentiles of a recorder, keyed by stable names.
pub fn latency_map(rec: &StageRecorder) -> BTreeMap<String, Pct> {
    let s = rec.summary();
    let mut m = BTreeMap::new();
    for stage in kestrel_types::Stage::ALL {
        m.insert(stage.as_str().to_string(), pct(s.stage(stage)));
    }
    m.insert("decision".into(), pct(&s.decision));
    m.insert("end_to_end".into(), pct(&s.end_to_end));
    m.insert("confirm".into(), pct(&s.confirm));
    m
}

/// A readable table of a result.
pub fn table(b: &HotpathBench) -> String {
    let row = |name: &str, p: &Pct| {
        format!(
            "{name:<22}{:>10}{:>10}{:>10}{:>12}\n",
            p.p50, p.p99, p.p999, p.max
        )
    };
    let mut s = format!(
        "rate target {} /s, sustained {:.0} /s (floor {:.0} /s), frames {} sent / {} processed, bundles {}, drops {}\n\n",
        b.rate_target,
        b.rate_sustained,
        b.floor_rate_sustained,
        b.frames_sent,
        b.frames_processed,
        b.bundles,
        b.drops
    );
    s += &format!("victims {}, bundles by route:", b.victims);
    for (kind, n) in &b.bundles_by_route {
        s += &format!(" {kind} {n}");
    }
    if b.confirm {
        s += &format!(
            "\nrevm confirmation before firing: {} confirmed (stage `confirm`, also inside `build`)",
            b.confirmed
        );
    }
    s += "\nskips:";
    for (reason, n) in &b.skips {
        s += &format!(" {reason} {n}");
    }
    s += "\n";
    s += &match b.hot_core {
        Some(c) => format!(
            "wait {}, sink {}, hot thread and floor pinned to core {c} (other threads kept off it), {} cores\n\n",
            b.wait, b.sink, b.cores
        ),
        None => format!(
            "wait {}, sink {}, unpinned, {} cores\n\n",
            b.wait, b.sink, b.cores
        ),
    };
    s += &format!(
        "{:<22}{:>10}{:>10}{:>10}{:>12}\n",
        "ns", "p50", "p99", "p99.9", "max"
    );
    for (k, v) in &b.stages_ns {
        s += &row(k, v);
    }
    s += &row("decision (total)", &b.decision_ns);
    s += &row("end_to_end", &b.end_to_end_ns);
    s += &row("floor end_to_end", &b.floor_end_to_end_ns);
    s
}

/// A synthetic two-factory world with one WETH pair per factory, priced 0.3 % apart.
struct World {
    state: HotState,
    weth: Address,
    token: Address,
    router: Address,
    reserve_weth: U256,
    reserve_token: U256,
}

fn addr(rng: &mut Rng) -> Address {
    let mut b = [0u8; 20];
    rng.fill_bytes(&mut b);
    Address::from(b)
}

fn world(rng: &mut Rng, searcher: &LocalSigner) -> anyhow::Result<World> {
    let (weth, token) = (addr(rng), addr(rng));
    let init = B256::from([0x96; 32]);
    let factories: Vec<FactoryInfo> = (0..2)
        .map(|_| FactoryInfo {
            address: addr(rng),
            router: addr(rng),
            init_code_hash: init,
            fee_num: 997,
        })
        .collect();
    let (t0, t1) = if weth < token {
        (weth, token)
    } else {
        (token, weth)
    };
    let reserve_weth = U256::from(100 * ETH);
    let reserve_token = U256::from(200_000 * ETH);
    let pools: Vec<V2Pool> = factories
        .iter()
        .enumerate()
        .map(|(i, f)| {
            let rt = reserve_token
                + U256::from(i as u64) * reserve_token * U256::from(3) / U256::from(1000);
            let (r0, r1) = if t0 == weth {
                (reserve_weth, rt)
            } else {
                (rt, reserve_weth)
            };
            V2Pool {
                address: pair_address(f.address, init, weth, token),
                token0: t0,
                token1: t1,
                reserve0: r0,
                reserve1: r1,
                factory: FactoryId(i as u8),
            }
        })
        .collect();
    let router = factories[0].router;
    let snap = Arc::new(PoolSnapshot::new(1, factories, pools));
    let state = v2_state(searcher, snap, weth, (addr(rng), 0), U256::from(50 * ETH))?;
    Ok(World {
        state,
        weth,
        token,
        router,
        reserve_weth,
        reserve_token,
    })
}

/// The V2 lane's state at head 1 over `snap`: the pre-signed ladder of every WETH cycle, signed
/// by `searcher` for `executor` at `nonce`, and the bench's thresholds (`capital` WETH, a
/// 10⁻⁶ ETH minimum profit, 10 % to the builder). No revm state.
fn v2_state(
    searcher: &LocalSigner,
    snap: Arc<PoolSnapshot>,
    weth: Address,
    (executor, nonce): (Address, u64),
    capital: U256,
) -> anyhow::Result<HotState> {
    let cycles = crate::engine::weth_cycles(&snap, weth);
    let lp = LadderParams {
        chain_id: kestrel_sim::SEPOLIA_CHAIN_ID,
        nonce,
        block: 1,
        max_fee_per_gas: 4_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        gas_limit: 275_000,
        executor,
        payment_bps: 1000,
        min_profit: U256::from(1_000_000_000_000u64),
        levels: 48,
        step_bps: 1000,
    };
    let ladder = Ladder::build(searcher, &lp, &cycles)?;
    let params = BackrunParams {
        capital_token: weth,
        capital,
        min_profit_wei: lp.min_profit,
        gas_cost_wei: U256::from(150_000u64 * 2_000_000_000),
        payment_bps: 1000,
    };
    Ok(HotState {
        block: 1,
        timestamp: kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new()) / 1000,
        parent_hash: B256::ZERO,
        snapshot: snap,
        registry: None,
        routers: Arc::default(),
        cycle_limits: Default::default(),
        route_tx: None,
        route_gas_cost_wei: params.gas_cost_wei,
        ladder: Some(Arc::new(ladder)),
        params,
        weth,
        fee_on_transfer: Vec::new(),
        sim: None,
    })
}

/// Coinbase of the block the bench's bundles target (`--confirm`).
const BENCH_COINBASE: Address = Address::new([0xc0; 20]);

/// [`world`], deployed inside revm from the real bytecode (`--confirm`): WETH9, v2-core's
/// factories, pairs and test ERC20, Router02 and our executor, owned by `searcher` and funded
/// with the hot lane's capital. The hot state carries the whole chain as the head's revm
/// snapshot, so each V2 backrun can be confirmed (victim, then the pre-signed backrun) before it
/// is fired. Victims come from random keys the snapshot has never seen: each run presumes its
/// sender, as it would for a real pending transaction.
fn revm_world(rng: &mut Rng, searcher: &LocalSigner) -> anyhow::Result<World> {
    use kestrel_sandbox::artifacts;
    use kestrel_sim::devnet::LocalChain;
    use kestrel_sim::devnet::v2::{V2Bytecode, V2WorldSpec, deploy_v2_world, token_reserve};

    let load = |name: &str| -> anyhow::Result<Bytes> { Ok(artifacts::load(name)?.bytecode) };
    let code = V2Bytecode {
        weth9: load("WETH9")?,
        erc20: load("ERC20")?,
        factory: load("UniswapV2Factory")?,
        router02: load("UniswapV2Router02")?,
        executor: artifacts::executor()?.bytecode,
    };
    let init = artifacts::load("UniswapV2Pair")?.init_code_hash();
    let spec = V2WorldSpec {
        tokens: 1,
        factories: 2,
        liquidity_weth: U256::from(100 * ETH),
        price_skew_bps: 30,
        executor_capital_weth: U256::from(50 * ETH),
        deployer: addr(rng),
        searcher: searcher.address(),
    };
    let rules = kestrel_sim::ChainRules::SEPOLIA_PRAGUE;
    let mut chain = LocalChain::new(rules);
    let v2 = deploy_v2_world(&mut chain, &code, &spec).context("deploying the V2 world in revm")?;
    let (weth, token) = (v2.weth, v2.tokens[0]);
    let (t0, t1) = if weth < token {
        (weth, token)
    } else {
        (token, weth)
    };
    let mut factories = Vec::with_capacity(spec.factories);
    let mut pools = Vec::with_capacity(spec.factories);
    for (i, (&factory, &router)) in v2.factories.iter().zip(&v2.routers).enumerate() {
        let address = pair_address(factory, init, weth, token);
        anyhow::ensure!(
            v2.pair(i, token) == Some(address),
            "pair {i} is not at its CREATE2 address: wrong UniswapV2Pair init code hash"
        );
        let reserve_token = token_reserve(&spec, i);
        let (reserve0, reserve1) = if t0 == weth {
            (spec.liquidity_weth, reserve_token)
        } else {
            (reserve_token, spec.liquidity_weth)
        };
        factories.push(FactoryInfo {
            address: factory,
            router,
            init_code_hash: init,
            fee_num: 997,
        });
        pools.push(V2Pool {
            address,
            token0: t0,
            token1: t1,
            reserve0,
            reserve1,
            factory: FactoryId(u8::try_from(i)?),
        });
    }
    let snap = Arc::new(PoolSnapshot::new(1, factories, pools));
    let executor = (v2.executor, chain.nonce(searcher.address()));
    let mut state = v2_state(searcher, snap, weth, executor, spec.executor_capital_weth)?;
    let now = state.timestamp;
    let next = kestrel_sim::NextBlock {
        number: 2,
        timestamp: now + 12,
        basefee: 1_000_000_000,
        gas_limit: 30_000_000,
        coinbase: BENCH_COINBASE,
        prevrandao: B256::ZERO,
        excess_blob_gas: 0,
    };
    // The head's snapshot: every slot the chain has written, and, as the slow lane's warm-up
    // does against a node, the zero slots a victim and our backrun read (the router's WETH
    // balance, say), fetched by running one of each. The coinbase is known absent.
    let mut builder = chain.snapshot(1).to_builder();
    builder.absent(BENCH_COINBASE);
    let probe = PrivateKeySigner::random();
    chain.set_balance(probe.address(), U256::from(1_000 * ETH));
    let swap = swapExactETHForTokensCall {
        amountOutMin: U256::ZERO,
        path: vec![weth, token],
        to: probe.address(),
        deadline: U256::from(now + 3600),
    };
    let mut victim = TxEip1559 {
        chain_id: rules.chain_id,
        nonce: 0,
        gas_limit: 200_000,
        max_fee_per_gas: 3_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(v2.routers[0]),
        value: U256::from(5 * ETH),
        access_list: Default::default(),
        input: Bytes::from(alloy::sol_types::SolCall::abi_encode(&swap)),
    };
    let sig = probe.sign_transaction_sync(&mut victim)?;
    let victim = alloy::eips::Encodable2718::encoded_2718(&alloy::consensus::TxEnvelope::from(
        victim.into_signed(sig),
    ));
    let (pool0, pool1) = (
        pools_addr(&state.snapshot, 0)?,
        pools_addr(&state.snapshot, 1)?,
    );
    let ladder = state
        .ladder
        .as_deref()
        .context("the V2 state has a ladder")?;
    let cycle = ladder
        .cycle_index(pool1, pool0)
        .context("the ladder has no cycle buying on pool 1 and selling on pool 0")?;
    let backrun = ladder
        .cycle_txs(cycle)
        .first()
        .context("an empty ladder row")?;
    let txs = [
        kestrel_sim::SimTx::from_raw(&victim)?,
        kestrel_sim::SimTx::from_raw(&backrun.raw)?,
    ];
    let (snapshot, _) = chain
        .complete_for(Arc::new(builder.build()), &next, &txs, 64)
        .map_err(|e| anyhow::anyhow!("completing the bench's revm snapshot: {e}"))?;
    state.sim = Some(kestrel_hot::SimState {
        snapshot,
        next,
        rules,
    });
    Ok(World {
        state,
        weth,
        token,
        router: v2.routers[0],
        reserve_weth: spec.liquidity_weth,
        reserve_token: token_reserve(&spec, 0),
    })
}

/// The address of pool `i` of a snapshot.
fn pools_addr(snap: &PoolSnapshot, i: usize) -> anyhow::Result<Address> {
    snap.pools()
        .get(i)
        .map(|p| p.address)
        .with_context(|| format!("the snapshot has no pool {i}"))
}

fn hex_q(v: impl std::fmt::LowerHex) -> String {
    format!("0x{v:x}")
}

/// A signed template: its transaction, signature and sender.
struct Template {
    tx: TxEip1559,
    sig: alloy::primitives::Signature,
    from: Address,
}

fn template(signer: &PrivateKeySigner, mut tx: TxEip1559) -> anyhow::Result<Template> {
    let sig = signer.sign_transaction_sync(&mut tx)?;
    Ok(Template {
        tx,
        sig,
        from: signer.address(),
    })
}

/// The template with another nonce, as the node's `newPendingTransactions` notification. The
/// signature no longer matches (the engine never checks it), but the hash is that of the exact
/// bytes, so every frame is a distinct transaction with a self-consistent hash.
fn frame(t: &Template, nonce: u64) -> String {
    let mut tx = t.tx.clone();
    tx.nonce = nonce;
    let signed = tx.into_signed(t.sig);
    let (t2, s) = (signed.tx(), signed.signature());
    let to = match t2.to {
        TxKind::Call(a) => format!("\"{a}\""),
        TxKind::Create => "null".into(),
    };
    let parity = u8::from(s.v());
    format!(
        r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"subscription":"0x1","result":{{"hash":"{}","type":"0x2","chainId":"{}","nonce":"{}","from":"{}","to":{to},"value":"{}","gas":"{}","maxFeePerGas":"{}","maxPriorityFeePerGas":"{}","gasPrice":"{}","input":"0x{}","accessList":[],"v":"{}","yParity":"{}","r":"{}","s":"{}","blockHash":null,"blockNumber":null,"transactionIndex":null}}}}}}"#,
        signed.hash(),
        hex_q(t2.chain_id),
        hex_q(t2.nonce),
        t.from,
        hex_q(t2.value),
        hex_q(t2.gas_limit),
        hex_q(t2.max_fee_per_gas),
        hex_q(t2.max_priority_fee_per_gas),
        hex_q(t2.max_fee_per_gas),
        hex::encode(&t2.input),
        hex_q(parity),
        hex_q(parity),
        hex_q(s.r()),
        hex_q(s.s()),
    )
}

/// Most distinct frames generated; longer runs replay them (and the engine skips the repeats as
/// duplicates, which the report then shows).
const MAX_FRAMES: u64 = 300_000;

/// `count` distinct frames: 9 in 10 transfers, 1 in 10 a victim swap of 1–20 ETH on pool 0.
fn frames(rng: &mut Rng, w: &World, count: u64) -> anyhow::Result<Vec<String>> {
    frames_with(rng, count, |rng, _, user, transfer| {
        let size = U256::from(rng.log_uniform_u128(ETH, 20 * ETH));
        let out_q = get_amount_out(size, w.reserve_weth, w.reserve_token, 997).context("quote")?;
        let call = swapExactETHForTokensCall {
            amountOutMin: out_q * U256::from(99) / U256::from(100),
            path: vec![w.weth, w.token],
            to: user.address(),
            deadline: U256::from(w.state.timestamp + 3600),
        };
        Ok(TxEip1559 {
            to: TxKind::Call(w.router),
            value: size,
            gas_limit: 200_000,
            input: Bytes::from(alloy::sol_types::SolCall::abi_encode(&call)),
            ..transfer.clone()
        })
    })
}

type TxResult = anyhow::Result<TxEip1559>;

/// `count` distinct frames from [`TEMPLATES`] users: 9 in 10 a user's plain transfer, 1 in 10
/// the swap `victim` makes for user `k` from that transfer (same sender, fees and chain).
fn frames_with(
    rng: &mut Rng,
    count: u64,
    mut victim: impl FnMut(&mut Rng, usize, &PrivateKeySigner, &TxEip1559) -> TxResult,
) -> anyhow::Result<Vec<String>> {
    let users: Vec<PrivateKeySigner> = (0..TEMPLATES).map(|_| PrivateKeySigner::random()).collect();
    let mut transfers = Vec::with_capacity(TEMPLATES);
    let mut victims = Vec::with_capacity(TEMPLATES);
    for (k, user) in users.iter().enumerate() {
        let tx = TxEip1559 {
            chain_id: 11_155_111,
            nonce: 0,
            gas_limit: 21_000,
            max_fee_per_gas: 3_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            to: TxKind::Call(addr(rng)),
            value: U256::from(rng.gen_range(1..1_000_000_000)),
            access_list: Default::default(),
            input: Bytes::new(),
        };
        transfers.push(template(user, tx.clone())?);
        let swap = victim(rng, k, user, &tx)?;
        victims.push(template(user, swap)?);
    }
    let n = count.min(MAX_FRAMES);
    Ok((0..n)
        .map(|i| {
            let k = (i / 10) as usize % TEMPLATES;
            if i % 10 == 0 {
                frame(&victims[k], i)
            } else {
                frame(&transfers[k], i)
            }
        })
        .collect())
}

/// A loopback WebSocket "node": accepts one client, answers its two subscriptions, then sends
/// `count` frames paced at `rate` per second. Returns the port and the sender thread.
fn feeder(
    frames: Arc<Vec<String>>,
    rate: u64,
    count: u64,
) -> anyhow::Result<(u16, std::thread::JoinHandle<anyhow::Result<Duration>>)> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    let h = std::thread::Builder::new()
        .name("bench-feeder".into())
        .spawn(move || {
            let (stream, _) = listener.accept()?;
            stream.set_nodelay(true)?;
            let mut ws =
                tungstenite::accept(stream).map_err(|e| anyhow::anyhow!("ws accept: {e}"))?;
            for id in 1..=2 {
                let _ = ws.read()?;
                ws.send(Message::text(format!(
                    r#"{{"jsonrpc":"2.0","id":{id},"result":"0x{id}"}}"#
                )))?;
            }
            let start = Instant::now();
            let interval_ns = 1_000_000_000 / rate.max(1);
            for i in 0..count {
                let due = start + Duration::from_nanos(i * interval_ns);
                pace_until(due);
                ws.send(Message::text(frames[(i as usize) % frames.len()].clone()))?;
            }
            let elapsed = start.elapsed();
            // Let the reader finish before closing.
            std::thread::sleep(Duration::from_millis(300));
            let _ = ws.close(None);
            Ok(elapsed)
        })?;
    Ok((port, h))
}

/// Waits for `due` by sleeping only: a spinning feeder would take one of the machine's two
/// cores away from the engine it measures. Frames that fall due during a sleep's overshoot go
/// out back to back, as a real node's bursts do.
fn pace_until(due: Instant) {
    let now = Instant::now();
    if due > now + Duration::from_micros(50) {
        std::thread::sleep(due - now);
    }
}

/// How the loopback relay sink waits for requests.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum SinkMode {
    /// Non-blocking reads, yielding the core between them. A write to it then costs what a
    /// write to a network peer costs: the TCP stack, with no local thread to wake.
    Poll,
    /// Blocking reads. Every write that finds it asleep also pays a cross-core wake-up of the
    /// sink thread, which a relay across a network never costs the sender.
    Block,
}

impl SinkMode {
    /// The name `--sink` takes and the report shows.
    pub fn name(self) -> &'static str {
        match self {
            SinkMode::Poll => "poll",
            SinkMode::Block => "block",
        }
    }
}

impl std::str::FromStr for SinkMode {
    type Err = String;

    fn from_str(s: &str) -> Result<SinkMode, String> {
        match s {
            "poll" => Ok(SinkMode::Poll),
            "block" => Ok(SinkMode::Block),
            other => Err(format!("expected poll or block, got {other:?}")),
        }
    }
}

/// A loopback HTTP relay sink: reads requests, answers 200 `{}`.
fn sink(stop: Arc<AtomicBool>, mode: SinkMode) -> anyhow::Result<u16> {
    let listener = TcpListener::bind("127.0.0.1:0")?;
    let port = listener.local_addr()?.port();
    listener.set_nonblocking(true)?;
    std::thread::Builder::new()
        .name("bench-sink".into())
        .spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                match listener.accept() {
                    Ok((s, _)) => {
                        let stop = Arc::clone(&stop);
                        let _ = std::thread::Builder::new()
                            .name("bench-sink-conn".into())
                            .spawn(move || serve_sink(s, &stop, mode));
                    }
                    Err(_) => std::thread::sleep(Duration::from_millis(5)),
                }
            }
        })?;
    Ok(port)
}

/// The bench's loopback relay sink on its own, for tests that drive the pipeline directly:
/// reads every request and answers `200 {}`, until dropped.
#[derive(Debug)]
pub struct RelaySink {
    url: String,
    stop: Arc<AtomicBool>,
}

impl RelaySink {
    /// Starts a sink on a free loopback port.
    pub fn start(mode: SinkMode) -> anyhow::Result<RelaySink> {
        let stop = Arc::new(AtomicBool::new(false));
        let port = sink(Arc::clone(&stop), mode)?;
        Ok(RelaySink {
            url: format!("http://127.0.0.1:{port}/"),
            stop,
        })
    }

    /// The URL a relay connection takes.
    pub fn url(&self) -> &str {
        &self.url
    }
}

impl Drop for RelaySink {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
    }
}

fn serve_sink(mut s: TcpStream, stop: &AtomicBool, mode: SinkMode) {
    let _ = s.set_nonblocking(mode == SinkMode::Poll);
    let _ = s.set_read_timeout(Some(Duration::from_millis(100)));
    let mut buf = Vec::with_capacity(1 << 16);
    let mut chunk = [0u8; 16 * 1024];
    while !stop.load(Ordering::Relaxed) {
        match s.read(&mut chunk) {
            Ok(0) => return,
            Ok(n) => buf.extend_from_slice(&chunk[..n]),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => {
                std::thread::yield_now();
                continue;
            }
            Err(_) => continue,
        }
        while let Some(len) = complete_request_len(&buf) {
            buf.drain(..len);
            if write_fully(
                &mut s,
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: 2\r\n\r\n{}",
            )
            .is_err()
            {
                return;
            }
        }
    }
}

/// `write_all` that also works on a non-blocking socket (yields while its buffer is full).
fn write_fully(s: &mut TcpStream, mut bytes: &[u8]) -> std::io::Result<()> {
    while !bytes.is_empty() {
        match s.write(bytes) {
            Ok(0) => return Err(std::io::ErrorKind::WriteZero.into()),
            Ok(n) => bytes = bytes.get(n..).unwrap_or_default(),
            Err(e) if e.kind() == std::io::ErrorKind::WouldBlock => std::thread::yield_now(),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Length of the first complete HTTP request in `buf` (head + Content-Length body), if any.
fn complete_request_len(buf: &[u8]) -> Option<usize> {
    let head_end = buf.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
    let head = std::str::from_utf8(&buf[..head_end]).ok()?;
    let len = head
        .lines()
        .find_map(|l| {
            l.to_ascii_lowercase()
                .strip_prefix("content-length:")
                .map(|v| v.trim().parse::<usize>())
        })?
        .ok()?;
    (buf.len() >= head_end + len).then_some(head_end + len)
}

/// The hot pipeline as the bench (and the engine) wires it, around a relay at `relay_url`.
pub struct HotParts {
    /// The pipeline: feed it frames with `on_frame`.
    pub pipeline: Pipeline,
    /// Its events (candidates, bundles, skips).
    pub events: kestrel_bus::Consumer<HotEvent>,
    /// Where fired bundle bodies go for the slow lane; recycle what you take.
    pub handoff: Arc<kestrel_fire::Handoff>,
    /// Its presigned nonces (filled once; nothing refills them).
    pub presigs: Arc<kestrel_fire::PresigPool>,
    /// Its counters.
    pub counters: Arc<Counters>,
}

impl std::fmt::Debug for HotParts {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HotParts")
            .field("counters", &self.counters.snapshot())
            .field("presigs", &self.presigs)
            .finish_non_exhaustive()
    }
}

/// The pipeline around `state`, writing to a relay at `relay_url`; `searcher` signs route
/// backruns on the hot thread (`None` leaves them unfired).
fn hot_parts(
    state: HotState,
    relay_url: &str,
    searcher: Option<Arc<LocalSigner>>,
    confirm_v2: bool,
) -> anyhow::Result<HotParts> {
    let (reply_tx, reply_rx) = std::sync::mpsc::sync_channel(4096);
    std::thread::spawn(move || for _ in reply_rx {});
    let relay = RelayConn::connect(0, relay_url, reply_tx)?;
    let auth = FlashbotsAuth::from_hex(&format!("0x{}", hex::encode([0x42u8; 32])))?;
    let handoff = Arc::new(kestrel_fire::Handoff::new(1024, 4 * 4096 + 8192));
    let presigs = Arc::new(kestrel_fire::PresigPool::with_capacity(4096));
    presigs.refill()?;
    let counters = Arc::new(Counters::new());
    let (producer, events) = spsc::channel::<HotEvent>(65_536, DropPolicy::DropNewest);
    let state = Arc::new(SnapshotCell::new(state));
    let pipeline = Pipeline::new(
        PipelineConfig {
            max_calldata_bytes: 4096,
            relays: vec![(relay, RelayTarget::SendBundle)],
            auth,
            presigs: Arc::clone(&presigs),
            handoff: Some(Arc::clone(&handoff)),
            handoff_calls: false,
            searcher,
            // The router world has no EVM state: its route backruns are not confirmed. The V2
            // world has, when it was deployed in revm (`--confirm`).
            confirm_routes: false,
            confirm_v2,
            undecoded: None,
        },
        state,
        producer,
        Arc::clone(&counters),
    );
    Ok(HotParts {
        pipeline,
        events,
        handoff,
        presigs,
        counters,
    })
}

/// The bench's synthetic world and `count` of its frames (1 in 10 a profitable victim), with
/// the pipeline wired to a relay at `relay_url`: for tests that drive
/// `Pipeline::on_frame` directly, such as the counting-allocator proof.
pub fn hot_fixture(count: u64, relay_url: &str) -> anyhow::Result<(HotParts, Vec<String>)> {
    let mut rng = Rng::from_seed(7);
    let searcher = LocalSigner::from_hex(&format!("0x{}", hex::encode([0x11u8; 32])))?;
    let w = world(&mut rng, &searcher)?;
    let frames = frames(&mut rng, &w, count)?;
    Ok((hot_parts(w.state, relay_url, None, false)?, frames))
}

/// [`hot_fixture`] with the V2 world deployed inside revm from the real bytecode and every V2
/// backrun confirmed in revm before it is fired (`--confirm`).
pub fn confirm_fixture(count: u64, relay_url: &str) -> anyhow::Result<(HotParts, Vec<String>)> {
    confirm_fixture_with(count, relay_url, |_| {})
}

/// [`confirm_fixture`] with `edit` applied to the head's state before the pipeline sees it: for
/// tests that make the revm snapshot disagree with the pools the hot lane decides on.
pub fn confirm_fixture_with(
    count: u64,
    relay_url: &str,
    edit: impl FnOnce(&mut HotState),
) -> anyhow::Result<(HotParts, Vec<String>)> {
    let mut rng = Rng::from_seed(7);
    let searcher = LocalSigner::from_hex(&format!("0x{}", hex::encode([0x11u8; 32])))?;
    let mut w = revm_world(&mut rng, &searcher)?;
    let frames = frames(&mut rng, &w, count)?;
    edit(&mut w.state);
    Ok((hot_parts(w.state, relay_url, None, true)?, frames))
}

/// The router victims' world (see [`RouteWorld`]) and `count` of its frames (1 in 10 a router
/// victim, the four kinds in turn), with the pipeline wired to a relay at `relay_url` and
/// signing route backruns with the world's searcher key: for tests that drive
/// `Pipeline::on_frame` over V3 and mixed cycles.
pub fn route_fixture(
    count: u64,
    relay_url: &str,
) -> anyhow::Result<(HotParts, Vec<String>, RouteWorld)> {
    let mut rng = Rng::from_seed(7);
    let w = RouteWorld::new(&mut rng)?;
    let frames = route_frames(&mut rng, &w, count)?;
    let parts = hot_parts(
        w.hot_state(),
        relay_url,
        Some(Arc::clone(&w.searcher)),
        false,
    )?;
    Ok((parts, frames, w))
}

/// A pending-transaction frame for `call` sent by `user` with `nonce`, signed as the bench's
/// frames are (so the engine can re-encode it to its own hash).
pub fn user_frame(user: &PrivateKeySigner, call: &UserCall, nonce: u64) -> anyhow::Result<String> {
    let tx = TxEip1559 {
        chain_id: 11_155_111,
        nonce,
        gas_limit: 400_000,
        max_fee_per_gas: 3_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(call.to),
        value: call.value,
        access_list: Default::default(),
        input: call.input.clone(),
    };
    Ok(frame(&template(user, tx)?, nonce))
}

// --- Router victims over V2 and V3 pools ------------------------------------------------------

/// The kinds of router victim the `routers` frames cycle through, each paid in ETH.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RouteVictim {
    /// SwapRouter02 `multicall(deadline, [exactInputSingle])`: WETH → A on the 0.05 % pool.
    Sr02ExactInputSingle,
    /// SwapRouter02 `exactInput`: WETH → A (0.05 %) → B (the A/B 0.3 % pool).
    Sr02MultiHop,
    /// SwapRouter02 `swapExactTokensForTokens`: WETH → A on the V2 pair.
    Sr02V2,
    /// Universal Router `WRAP_ETH` then `V3_SWAP_EXACT_IN` of the whole balance: WETH → B on
    /// the 0.3 % pool.
    UrWrapV3,
}

impl RouteVictim {
    /// Every kind, in the order the frames use them.
    pub const ALL: [RouteVictim; 4] = [
        RouteVictim::Sr02ExactInputSingle,
        RouteVictim::Sr02MultiHop,
        RouteVictim::Sr02V2,
        RouteVictim::UrWrapV3,
    ];
}

/// Unix time of the router world's head block (fixed, so its frames are reproducible).
const ROUTE_WORLD_TIMESTAMP: u64 = 1_767_225_600;

/// Fee tiers of the router world's V3 pools and their tick spacings.
const FEE_LOW: (u32, i32) = (500, 10);
const FEE_MID: (u32, i32) = (3000, 60);

/// Token values, so every pool tick, are multiples of this: pool prices are then exactly
/// consistent around each triangle.
const TICK_GRID: i32 = 600;

/// Width step of the nested V3 positions (a multiple of every spacing used): nested position
/// `k` spans `k` steps either side of the price, so a swap crosses an initialized tick every
/// 120 ticks (about 1.2 % of price) for ±2,400 ticks, and liquidity thins out away from the
/// price.
const POSITION_STEP: i32 = 120;

/// Nested positions per V3 pool; they hold half the liquidity at the price.
const V3_POSITIONS: i32 = 20;

/// Half-width of the wide position holding the other half (±60,000 ticks, price ×/÷ 400):
/// the real reserves behind the concentrated part, so no victim or backrun runs a pool dry.
const WIDE_POSITION: i32 = 500 * POSITION_STEP;

/// An in-memory world for router victims (no chain): WETH and two tokens, A worth
/// 1.0001^-76200 WETH (≈ 1/2039) and B 1.0001^-69000 (≈ 1/992); one V2 factory with the
/// WETH/A and WETH/B pairs (100 WETH a side); one V3 factory with WETH/A at 0.05 % and 0.3 %,
/// WETH/B and A/B at 0.3 %, each with 200 or 150 WETH of virtual depth at the price: half in
/// one wide position, half in 20 nested ones that put an initialized tick every 120 ticks.
/// Every pool starts at the same prices, so only a victim opens a gap. There is no V2 A/B
/// pair and no second V2 factory: every cycle has a V3 hop, so every backrun is a V3 or mixed
/// route signed on the hot thread.
#[derive(Debug)]
pub struct RouteWorld {
    /// The capital token.
    pub weth: Address,
    /// Token A.
    pub token_a: Address,
    /// Token B.
    pub token_b: Address,
    /// SwapRouter02 and the Universal Router (2.0) addresses.
    pub routers: Routers,
    /// Every pool.
    pub registry: Arc<PoolRegistry>,
    /// What the hot-signed backruns share.
    pub route_tx: RouteTxParams,
    /// Capital, gas cost, minimum profit, builder payment.
    pub params: BackrunParams,
    /// The funds key that signs the backruns.
    pub searcher: Arc<LocalSigner>,
    /// The head block's timestamp.
    pub timestamp: u64,
    snapshot: Arc<PoolSnapshot>,
    table: Arc<RouterTable>,
}

/// A token's value in WETH is `1.0001^tick`: the log-price ticks of the world's tokens.
struct Values {
    weth: Address,
    a: Address,
    b: Address,
}

impl Values {
    const A: i32 = -127 * TICK_GRID;
    const B: i32 = -115 * TICK_GRID;

    fn of(&self, t: Address) -> i32 {
        if t == self.a {
            Self::A
        } else if t == self.b {
            Self::B
        } else {
            debug_assert_eq!(t, self.weth, "Invariant: a token of the world");
            0
        }
    }

    /// The pool tick of a pair: token1 per token0 is `value(token0) / value(token1)`.
    fn pair(&self, x: Address, y: Address) -> (Address, Address, i32) {
        let (t0, t1) = if x < y { (x, y) } else { (y, x) };
        (t0, t1, self.of(t0) - self.of(t1))
    }

    /// How much of `token` is worth `weth_wei`.
    fn amount_worth(&self, token: Address, weth_wei: U256) -> anyhow::Result<U256> {
        let s = get_sqrt_ratio_at_tick(-self.of(token)).context("tick")?;
        mul_div(mul_div(weth_wei, s, Q96).context("value")?, s, Q96).context("value")
    }
}

/// The price a pool at `tick` starts at: a quarter of the way into the tick, as the dex
/// tests build them.
fn start_price(tick: i32) -> anyhow::Result<U256> {
    let low = get_sqrt_ratio_at_tick(tick).context("tick")?;
    let high = get_sqrt_ratio_at_tick(tick + 1).context("tick")?;
    Ok(low + (high - low) / U256::from(4))
}

/// Reserves `(token0, token1)` of a pool of `x`/`y` worth `depth` WETH on each side, at the
/// pair's start price.
fn virtual_reserves(
    v: &Values,
    x: Address,
    y: Address,
    depth: U256,
) -> anyhow::Result<(U256, U256)> {
    let (t0, _, tick) = v.pair(x, y);
    let r0 = v.amount_worth(t0, depth)?;
    let s = start_price(tick)?;
    let r1 = mul_div(mul_div(r0, s, Q96).context("reserve")?, s, Q96).context("reserve")?;
    Ok((r0, r1))
}

fn route_v2_pair(v: &Values, f: &FactoryInfo, x: Address, y: Address) -> anyhow::Result<V2Pool> {
    let (token0, token1, _) = v.pair(x, y);
    let (reserve0, reserve1) = virtual_reserves(v, x, y, U256::from(100 * ETH))?;
    Ok(V2Pool {
        address: pair_address(f.address, f.init_code_hash, x, y),
        token0,
        token1,
        reserve0,
        reserve1,
        factory: FactoryId(0),
    })
}

/// A V3 pool of `x`/`y` whose active liquidity at the price holds `depth` WETH of value a
/// side (virtual reserves): half in one wide position, half over [`V3_POSITIONS`] nested ones.
fn route_v3_pool(
    v: &Values,
    address: Address,
    (x, y): (Address, Address),
    (fee_pips, tick_spacing): (u32, i32),
    depth: U256,
) -> anyhow::Result<V3Pool> {
    let (token0, token1, tick) = v.pair(x, y);
    let price = start_price(tick)?;
    let (r0, _) = virtual_reserves(v, x, y, depth)?;
    // Virtual token0 reserve = L·2^96 / √P.
    let liquidity = u128::try_from(mul_div(r0, price, Q96).context("liquidity")?)?;
    let key = V3PoolKey {
        address,
        token0,
        token1,
        fee_pips,
        tick_spacing,
    };
    let slot0 = Slot0 {
        sqrt_price_x96: price,
        tick,
        fee_protocol: 0,
    };
    let mut pool = V3Pool::new(key, slot0, 0, Vec::new())?;
    let wide = i128::try_from(liquidity / 2)?;
    pool = pool.with_position_change(tick - WIDE_POSITION, tick + WIDE_POSITION, wide)?;
    let each = i128::try_from(liquidity / 2 / V3_POSITIONS as u128)?;
    for k in 1..=V3_POSITIONS {
        let width = k * POSITION_STEP;
        pool = pool.with_position_change(tick - width, tick + width, each)?;
    }
    // As the chain lane publishes pools: with their full steps computed ahead.
    Ok(pool.with_step_table())
}

impl RouteWorld {
    /// Builds the world; addresses come from `rng`.
    pub fn new(rng: &mut Rng) -> anyhow::Result<RouteWorld> {
        let v = Values {
            weth: addr(rng),
            a: addr(rng),
            b: addr(rng),
        };
        let factory = FactoryInfo {
            address: addr(rng),
            router: addr(rng),
            init_code_hash: B256::from([0x96; 32]),
            fee_num: 997,
        };
        let pairs = vec![
            route_v2_pair(&v, &factory, v.weth, v.a)?,
            route_v2_pair(&v, &factory, v.weth, v.b)?,
        ];
        let snapshot = PoolSnapshot::new(1, vec![factory], pairs);
        let (deep, mid) = (U256::from(200 * ETH), U256::from(150 * ETH));
        let mut v3 = Vec::new();
        for (pair, tier, depth) in [
            ((v.weth, v.a), FEE_LOW, deep),
            ((v.weth, v.a), FEE_MID, mid),
            ((v.weth, v.b), FEE_MID, mid),
            ((v.a, v.b), FEE_MID, mid),
        ] {
            v3.push((
                V3FactoryId(0),
                route_v3_pool(&v, addr(rng), pair, tier, depth)?,
            ));
        }
        let registry = PoolRegistry::new(v.weth, snapshot.clone(), v3)?;
        let routers = Routers {
            swap_router02: addr(rng),
            universal_router: addr(rng),
            aggregator: addr(rng),
        };
        let entry = |address, decoder| RouterEntry {
            address,
            decoder,
            v2_factory: Some(FactoryId(0)),
            v3_factory: Some(V3FactoryId(0)),
        };
        let table = RouterTable::new(vec![
            entry(routers.swap_router02, Decoder::SwapRouter { v02: true }),
            entry(routers.universal_router, Decoder::Universal(UrVersion::V2)),
        ])?;
        let route_tx = RouteTxParams {
            chain_id: 11_155_111,
            nonce: 7,
            max_fee_per_gas: 4_000_000_000,
            max_priority_fee_per_gas: 1_000_000_000,
            gas_limit: 400_000,
            executor: addr(rng),
        };
        let params = BackrunParams {
            capital_token: v.weth,
            capital: U256::from(50 * ETH),
            min_profit_wei: U256::from(1_000_000_000_000u64),
            // A V3 or 3-hop route costs 150–300k gas (BENCHMARKS.md, executor gas).
            gas_cost_wei: U256::from(250_000u64 * 2_000_000_000),
            payment_bps: 1000,
        };
        Ok(RouteWorld {
            weth: v.weth,
            token_a: v.a,
            token_b: v.b,
            routers,
            registry: Arc::new(registry),
            route_tx,
            params,
            searcher: Arc::new(LocalSigner::from_hex(&format!(
                "0x{}",
                hex::encode([0x11u8; 32])
            ))?),
            timestamp: ROUTE_WORLD_TIMESTAMP,
            snapshot: Arc::new(snapshot),
            table: Arc::new(table),
        })
    }

    /// The hot lane's state for the world's head block (no V2 ladder: every victim here is a
    /// router victim).
    pub fn hot_state(&self) -> HotState {
        HotState {
            block: 1,
            timestamp: self.timestamp,
            parent_hash: B256::ZERO,
            snapshot: Arc::clone(&self.snapshot),
            registry: Some(Arc::clone(&self.registry)),
            routers: Arc::clone(&self.table),
            cycle_limits: CycleLimits::default(),
            route_tx: Some(self.route_tx),
            route_gas_cost_wei: self.params.gas_cost_wei,
            ladder: None,
            params: self.params,
            weth: self.weth,
            fee_on_transfer: Vec::new(),
            sim: None,
        }
    }

    /// The router victim `kind` paying `amount_in` ETH, its output to `recipient`, reverting
    /// below `min_out`.
    pub fn victim_call(
        &self,
        kind: RouteVictim,
        recipient: Address,
        amount_in: U256,
        min_out: U256,
    ) -> UserCall {
        let r = &self.routers;
        let (weth, a, b) = (self.weth, self.token_a, self.token_b);
        let amounts = (amount_in, min_out);
        let deadline = U256::from(self.timestamp + 3600);
        match kind {
            RouteVictim::Sr02ExactInputSingle => user_calls::sr02_exact_input_single_eth(
                r,
                (weth, a, FEE_LOW.0),
                recipient,
                amounts,
                deadline,
            ),
            RouteVictim::Sr02MultiHop => {
                let path = user_calls::v3_path(&[weth, a, b], &[FEE_LOW.0, FEE_MID.0]);
                user_calls::sr02_exact_input_eth(r, path, recipient, amounts)
            }
            RouteVictim::Sr02V2 => {
                user_calls::sr02_v2_exact_in_eth(r, vec![weth, a], recipient, amounts)
            }
            RouteVictim::UrWrapV3 => {
                let path = user_calls::v3_path(&[weth, b], &[FEE_MID.0]);
                user_calls::ur_wrap_v3_exact_in(r, path, recipient, amounts, Some(deadline))
            }
        }
    }

    /// What victim `kind` of `amount_in` ETH receives, by the engine's exact replay on the
    /// world's pools (the fixture's minimums are set from it).
    pub fn victim_quote(
        &self,
        kind: RouteVictim,
        recipient: Address,
        amount_in: U256,
    ) -> anyhow::Result<U256> {
        let call = self.victim_call(kind, recipient, amount_in, U256::ZERO);
        let entry = self.table.get(call.to).context("router")?;
        let swaps = match entry.decoder {
            Decoder::Universal(version) => decode_universal(&call.input, call.value, version),
            Decoder::SwapRouter { .. } | Decoder::V2Router02 => {
                decode_swap_router(&call.input, call.value)
            }
        }
        .map_err(|r| anyhow::anyhow!("victim decode: {}", r.as_str()))?;
        let env = VictimEnv {
            weth: self.weth,
            now_unix: self.timestamp + 1,
            parent_hash: None,
            v2_factory: entry.v2_factory,
            v3_factory: entry.v3_factory,
            fee_on_transfer: &[],
        };
        let outcome = apply_swaps(&self.registry, &env, &swaps)
            .map_err(|r| anyhow::anyhow!("victim replay: {}", r.as_str()))?;
        outcome
            .legs()
            .last()
            .map(|l| l.amount_out)
            .context("no leg")
    }
}

/// `count` frames over the router world: 9 in 10 transfers, 1 in 10 a router victim of 1–20
/// ETH (the kinds in turn) with a minimum out 1 % under its exact quote.
fn route_frames(rng: &mut Rng, w: &RouteWorld, count: u64) -> anyhow::Result<Vec<String>> {
    frames_with(rng, count, |rng, k, user, transfer| {
        let kind = RouteVictim::ALL[k % RouteVictim::ALL.len()];
        let size = U256::from(rng.log_uniform_u128(ETH, 20 * ETH));
        let quote = w.victim_quote(kind, user.address(), size)?;
        let call = w.victim_call(
            kind,
            user.address(),
            size,
            quote * U256::from(99) / U256::from(100),
        );
        Ok(TxEip1559 {
            to: TxKind::Call(call.to),
            value: call.value,
            gas_limit: 400_000,
            input: call.input,
            ..transfer.clone()
        })
    })
}

struct EngineRun {
    recorder: StageRecorder,
    processed: u64,
    bundles: u64,
    /// Bundles by [`RouteKind`], in [`RouteKind::ALL`] order.
    bundles_by_route: [u64; 3],
    skips: BTreeMap<String, u64>,
    ring_drops: u64,
    elapsed: Duration,
    confirmed: u64,
}

/// The engine's side of a run: the state it decides on and the key that signs route backruns.
struct EngineWorld {
    state: HotState,
    searcher: Option<Arc<LocalSigner>>,
    /// Confirm V2 backruns in revm (the state then carries revm state).
    confirm_v2: bool,
}

fn run_engine(
    world: EngineWorld,
    frames: Arc<Vec<String>>,
    rate: u64,
    count: u64,
    sink_port: u16,
    wait: WaitStrategy,
    hot_core: Option<usize>,
) -> anyhow::Result<EngineRun> {
    let (port, feeder) = feeder(frames, rate, count)?;
    let HotParts {
        pipeline,
        events: mut consumer,
        handoff,
        presigs,
        counters,
    } = hot_parts(
        world.state,
        &format!("http://127.0.0.1:{sink_port}/"),
        world.searcher,
        world.confirm_v2,
    )?;
    let shutdown = ShutdownFlag::new();
    let refill_stop = shutdown.clone();
    let refill =
        kestrel_fire::spawn_refill_thread(Arc::clone(&presigs), move || refill_stop.is_set())?;
    let drain_stop = ShutdownFlag::new();
    let drain = {
        let stop = drain_stop.clone();
        let handoff = Arc::clone(&handoff);
        std::thread::spawn(move || {
            let mut batch = Vec::with_capacity(1024);
            let mut by_route = [0u64; 3];
            while !stop.is_set() || !consumer.is_empty() {
                batch.clear();
                // As the engine's drain thread does: take the bundle bodies and recycle them.
                while let Some(p) = handoff.recv() {
                    handoff.recycle(p);
                }
                if consumer.pop_batch(&mut batch, 1024) == 0 {
                    std::thread::sleep(Duration::from_micros(500));
                }
                for ev in &batch {
                    if let HotEvent::Bundle(b) = ev {
                        let kind = RouteKind::ALL
                            .iter()
                            .position(|k| *k == b.candidate.route_kind);
                        if let Some(n) = kind.and_then(|i| by_route.get_mut(i)) {
                            *n += 1;
                        }
                    }
                }
            }
            (consumer.drops(), by_route)
        })
    };
    let cfg = HotThreadConfig {
        node: NodeStreamConfig {
            endpoint: kestrel_hot::NodeEndpoint::Ws(format!("ws://127.0.0.1:{port}")),
            wait,
        },
        core: hot_core,
    };
    let hot = kestrel_hot::run_hot_thread(cfg, pipeline, shutdown.clone())?;
    let elapsed = feeder
        .join()
        .map_err(|_| anyhow::anyhow!("feeder panicked"))??;
    // Wait until the engine has read everything it was sent (bounded).
    let t0 = Instant::now();
    while counters.snapshot().pending_seen < count && t0.elapsed() < Duration::from_secs(5) {
        std::thread::sleep(Duration::from_millis(5));
    }
    shutdown.trigger();
    let report = hot
        .join()
        .map_err(|_| anyhow::anyhow!("hot thread panicked"))?;
    let _ = refill.join();
    drain_stop.trigger();
    let (ring_drops, bundles_by_route) = drain
        .join()
        .map_err(|_| anyhow::anyhow!("drain panicked"))?;
    let c = counters.snapshot();
    let skips = crate::only_counted(crate::CountersByName::of(&c).skips);
    Ok(EngineRun {
        recorder: report.recorder,
        processed: c.pending_seen,
        bundles: c.bundles,
        bundles_by_route,
        skips,
        ring_drops,
        elapsed,
        confirmed: c.confirmed,
    })
}

/// The floor: the same node stream and wait strategy as the engine, on the same core,
/// forwarding each frame it reads to the sink as an HTTP request body, nothing else.
fn run_floor(
    frames: Arc<Vec<String>>,
    rate: u64,
    count: u64,
    sink_port: u16,
    wait: WaitStrategy,
    hot_core: Option<usize>,
) -> anyhow::Result<(Histogram<u64>, u64, Duration)> {
    let (port, feeder) = feeder(frames, rate, count)?;
    let node = NodeStreamConfig {
        endpoint: kestrel_hot::NodeEndpoint::Ws(format!("ws://127.0.0.1:{port}")),
        wait,
    };
    // The relay socket and its reply reader are set up here, off the hot core, as
    // `RelayConn::connect` does for the engine.
    let relay = TcpStream::connect(("127.0.0.1", sink_port))?;
    relay.set_nodelay(true)?;
    let mut reader = relay.try_clone()?;
    std::thread::spawn(move || {
        let mut b = [0u8; 4096];
        while matches!(reader.read(&mut b), Ok(n) if n > 0) {}
    });
    let floor = std::thread::Builder::new()
        .name("bench-floor".into())
        .spawn(move || {
            kestrel_bus::pin_current_thread(hot_core);
            forward_all(&node, relay, rate, count)
        })?;
    let (hist, seen) = floor
        .join()
        .map_err(|_| anyhow::anyhow!("floor panicked"))??;
    let elapsed = feeder
        .join()
        .map_err(|_| anyhow::anyhow!("feeder panicked"))??;
    Ok((hist, seen, elapsed))
}

/// The floor's loop: read frames, forward each, stamp from read to written.
fn forward_all(
    node: &NodeStreamConfig,
    mut relay: TcpStream,
    rate: u64,
    count: u64,
) -> anyhow::Result<(Histogram<u64>, u64)> {
    let wait = node.wait;
    let mut stream = kestrel_hot::NodeStream::connect(node)?;
    let mut head = Vec::with_capacity(256);
    let mut hist = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3)?;
    let (mut seen, mut spins) = (0u64, 0u32);
    let t0 = Instant::now();
    while seen < count && t0.elapsed() < Duration::from_secs(count / rate.max(1) + 30) {
        let mut result = Ok(());
        let mut on_frame = |frame: &[u8]| {
            let recv = mono_ns();
            if seen < count && result.is_ok() && contains(frame, b"eth_subscription") {
                result = forward(&mut relay, &mut head, frame);
                hist.saturating_record(mono_ns() - recv);
                seen += 1;
            }
        };
        match stream.poll(&mut on_frame) {
            Ok(0) if !matches!(wait, WaitStrategy::Park(_)) => wait.idle(&mut spins),
            Ok(_) => spins = 0,
            Err(_) => break,
        }
        result?;
    }
    Ok((hist, seen))
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

/// The floor's only work: forward the frame as the body of an HTTP request, written the way
/// `RelayConn` writes a bundle (one vectored write of head and body), so the floor pays the same
/// per-byte cost for a payload of similar size.
fn forward(relay: &mut TcpStream, head: &mut Vec<u8>, body: &[u8]) -> std::io::Result<()> {
    head.clear();
    head.extend_from_slice(b"POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nContent-Length: ");
    head.extend_from_slice(body.len().to_string().as_bytes());
    head.extend_from_slice(b"\r\n\r\n");
    let mut bufs = [std::io::IoSlice::new(head), std::io::IoSlice::new(body)];
    let mut pending: &mut [std::io::IoSlice<'_>] = &mut bufs;
    while !pending.is_empty() {
        let n = relay.write_vectored(pending)?;
        if n == 0 {
            return Err(std::io::ErrorKind::WriteZero.into());
        }
        std::io::IoSlice::advance_slices(&mut pending, n);
    }
    Ok(())
}

/// What `kestrel bench hotpath` runs.
#[derive(Clone, Copy, Debug)]
pub struct HotpathOpts {
    /// Frames per second offered.
    pub rate: u64,
    /// Seconds per measured run (engine and floor each).
    pub duration_s: u64,
    /// How the hot thread and the floor wait for frames.
    pub wait: WaitStrategy,
    /// Which core they run on.
    pub core: CoreChoice,
    /// How the relay sink waits for requests.
    pub sink: SinkMode,
    /// Which victims the swap frames carry.
    pub victims: VictimSet,
    /// Confirm each V2 backrun in revm before firing it (V2 victims only).
    pub confirm: bool,
}

/// Most frames one pass sends (`--rate` × `--duration`). Only 300,000 distinct frames
/// are pre-built (their memory is what is bounded); the rest are replays the engine skips as
/// duplicates, so a longer pass measures nothing more and only runs longer.
pub const MAX_PASS_FRAMES: u64 = 100_000_000;

/// Longest pass (`--duration`): the bench runs two (engine, then floor), back to back.
pub const MAX_DURATION_S: u64 = 3_600;

impl HotpathOpts {
    /// The frames each pass sends, `rate × duration_s`, once the options are checked: both at
    /// least 1, the duration at most [`MAX_DURATION_S`], the product at most
    /// [`MAX_PASS_FRAMES`] (computed without overflow). The cap also keeps the feeder's pacing
    /// arithmetic (`frame index × 1e9 / rate` ns) far inside `u64`.
    pub fn frame_count(&self) -> anyhow::Result<u64> {
        let (rate, duration_s) = (self.rate, self.duration_s);
        anyhow::ensure!(rate >= 1, "--rate must be at least 1 frame/s, got {rate}");
        anyhow::ensure!(
            duration_s >= 1,
            "--duration must be at least 1 s, got {duration_s}"
        );
        anyhow::ensure!(
            duration_s <= MAX_DURATION_S,
            "--duration {duration_s}: at most {MAX_DURATION_S} s per pass (the bench runs two \
             passes, engine then floor)"
        );
        let too_many = || {
            anyhow::anyhow!(
                "--rate {rate} × --duration {duration_s} frames per pass is over the limit of \
                 {MAX_PASS_FRAMES}: only {MAX_FRAMES} distinct frames are pre-built in memory and \
                 the rest are duplicates the engine skips; lower --rate or --duration"
            )
        };
        let count = rate.checked_mul(duration_s).ok_or_else(too_many)?;
        if count > MAX_PASS_FRAMES {
            return Err(too_many());
        }
        Ok(count)
    }
}

/// Which victims the one frame in ten that is a swap carries (`--victims`).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum VictimSet {
    /// Router02 `swapExactETHForTokens` on a V2 pair, fired from the pre-signed ladder: the
    /// figures in BENCHMARKS.md up to the router lanes (the default).
    V2,
    /// SwapRouter02 and Universal Router victims over V2 and V3 pools ([`RouteVictim`], in
    /// turn): decoded, replayed, cycles over V3 and mixed pools sized by exact quotes, the
    /// backrun signed on the hot thread.
    Routers,
}

impl VictimSet {
    /// The name `--victims` takes and the report shows.
    pub fn name(self) -> &'static str {
        match self {
            VictimSet::V2 => "v2",
            VictimSet::Routers => "routers",
        }
    }
}

impl std::str::FromStr for VictimSet {
    type Err = String;

    fn from_str(s: &str) -> Result<VictimSet, String> {
        match s {
            "v2" => Ok(VictimSet::V2),
            "routers" => Ok(VictimSet::Routers),
            other => Err(format!("expected v2 or routers, got {other:?}")),
        }
    }
}

/// Which core the bench reserves for the hot thread and the floor.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum CoreChoice {
    /// The last allowed core, when at least two are allowed; else unpinned.
    Auto,
    /// Unpinned: the OS places every thread.
    Unpinned,
    /// This core id.
    Core(usize),
}

/// Parses `--core`: a core id, `auto` or `none`.
pub fn parse_core(s: &str) -> anyhow::Result<CoreChoice> {
    match s {
        "auto" => Ok(CoreChoice::Auto),
        "none" => Ok(CoreChoice::Unpinned),
        n => n.parse().map(CoreChoice::Core).map_err(|_| {
            anyhow::anyhow!("--core: expected a core id, \"auto\" or \"none\", got {n:?}")
        }),
    }
}

/// Runs the engine pass and the floor pass and puts the figures together.
///
/// With a hot core, the bench runs on a thread kept off that core (so the feeder, the relay
/// sink, socket readers and the journal drain it spawns are too), while the hot thread and the
/// floor are pinned to it: the layout of a colocated host with the hot core isolated. The
/// calling thread's own affinity is left as it was.
pub fn hotpath(opts: HotpathOpts) -> anyhow::Result<HotpathBench> {
    let HotpathOpts {
        rate,
        duration_s,
        wait,
        core,
        sink,
        victims,
        confirm,
    } = opts;
    // Checked here, before any thread or socket is set up.
    opts.frame_count()?;
    anyhow::ensure!(
        !confirm || victims == VictimSet::V2,
        "--confirm runs with --victims v2 only (the router victims' V3 pools are not deployed in revm)"
    );
    let allowed = kestrel_bus::allowed_cores();
    // Counted here, before this bench's threads give the hot core up.
    let cores = if allowed.is_empty() {
        std::thread::available_parallelism().map_or(1, usize::from)
    } else {
        allowed.len()
    };
    let hot_core = match core {
        CoreChoice::Unpinned => None,
        CoreChoice::Auto => allowed.last().copied().filter(|_| allowed.len() >= 2),
        CoreChoice::Core(c) => {
            anyhow::ensure!(
                allowed.is_empty() || allowed.contains(&c),
                "--core {c}: not one of this process's cores {allowed:?}"
            );
            Some(c)
        }
    };
    std::thread::Builder::new()
        .name("bench-main".into())
        .spawn(move || {
            if let Some(c) = hot_core {
                kestrel_bus::keep_current_thread_off(c);
            }
            hotpath_on(
                HotpathOpts {
                    rate,
                    duration_s,
                    wait,
                    core,
                    sink,
                    victims,
                    confirm,
                },
                hot_core,
                cores,
            )
        })?
        .join()
        .map_err(|_| anyhow::anyhow!("bench panicked"))?
}

fn hotpath_on(
    opts: HotpathOpts,
    hot_core: Option<usize>,
    cores: usize,
) -> anyhow::Result<HotpathBench> {
    let count = opts.frame_count()?;
    let HotpathOpts {
        rate,
        duration_s,
        wait,
        sink: sink_mode,
        victims,
        confirm,
        ..
    } = opts;
    let (world, frames) = bench_world(victims, count, confirm)?;
    let frames = Arc::new(frames);
    let stop = Arc::new(AtomicBool::new(false));
    let sink_port = sink(Arc::clone(&stop), sink_mode)?;
    let e = run_engine(
        world,
        Arc::clone(&frames),
        rate,
        count,
        sink_port,
        wait,
        hot_core,
    )?;
    let (floor, floor_seen, floor_elapsed) =
        run_floor(frames, rate, count, sink_port, wait, hot_core)?;
    stop.store(true, Ordering::Relaxed);
    let summary = e.recorder.summary();
    let mut stages = latency_map(&e.recorder);
    stages.remove("decision");
    stages.remove("end_to_end");
    if !confirm {
        stages.remove("confirm");
    }
    Ok(HotpathBench {
        rate_target: rate,
        rate_sustained: e.processed as f64 / e.elapsed.as_secs_f64(),
        frames_sent: count,
        frames_processed: e.processed,
        bundles: e.bundles,
        drops: count.saturating_sub(e.processed) + e.ring_drops,
        decision_ns: pct(&summary.decision),
        end_to_end_ns: pct(&summary.end_to_end),
        end_to_end_count: summary.end_to_end.count,
        floor_end_to_end_ns: pct_of(&floor),
        floor_rate_sustained: floor_seen as f64 / floor_elapsed.as_secs_f64(),
        stages_ns: stages,
        duration_s,
        cores,
        wait: wait.name().to_string(),
        hot_core,
        sink: sink_mode.name().to_string(),
        victims: victims.name().to_string(),
        confirm,
        confirmed: e.confirmed,
        bundles_by_route: RouteKind::ALL
            .iter()
            .zip(e.bundles_by_route)
            .map(|(k, n)| (k.as_str().to_string(), n))
            .collect(),
        skips: e.skips,
    })
}

/// The engine's state and `count` frames for a victim set (V2 victims' world deployed in revm
/// when `confirm`).
fn bench_world(
    victims: VictimSet,
    count: u64,
    confirm: bool,
) -> anyhow::Result<(EngineWorld, Vec<String>)> {
    let mut rng = Rng::from_seed(7);
    match victims {
        VictimSet::V2 => {
            let searcher = LocalSigner::from_hex(&format!("0x{}", hex::encode([0x11u8; 32])))?;
            let w = match confirm {
                true => revm_world(&mut rng, &searcher)?,
                false => world(&mut rng, &searcher)?,
            };
            let frames = frames(&mut rng, &w, count)?;
            let state = w.state;
            Ok((
                EngineWorld {
                    state,
                    searcher: None,
                    confirm_v2: confirm,
                },
                frames,
            ))
        }
        VictimSet::Routers => {
            let w = RouteWorld::new(&mut rng)?;
            let frames = route_frames(&mut rng, &w, count)?;
            Ok((
                EngineWorld {
                    state: w.hot_state(),
                    searcher: Some(Arc::clone(&w.searcher)),
                    confirm_v2: false,
                },
                frames,
            ))
        }
    }
}
