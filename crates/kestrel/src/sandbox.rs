//! `kestrel sandbox`: the whole engine against a local chain with the real Uniswap V2 and V3
//! bytecode (V2 pairs on two factories, V3 pools in two fee tiers, SwapRouter02 and the
//! Universal Router), seeded simulated users trading through every router the engine decodes,
//! and a local builder; ends with a JSON report that checks every landed bundle's profit
//! against the chain.

use std::collections::{BTreeMap, HashMap};
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Address, B256, Bytes, TxKind, U256, keccak256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use anyhow::Context;
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::builder::{BuilderConfig, LocalBuilder};
use kestrel_sandbox::deploy::{World, WorldSpec, deploy_world};
use kestrel_sandbox::routers::{self, UserCall};
use kestrel_sandbox::v3 as sandbox_v3;
use kestrel_sandbox::world_v3::{V3World, V3WorldSpec, deploy_v3_world, quote_exact_input};
use kestrel_stdx::Rng;
use kestrel_store::Record;
use kestrel_types::{DecodePath, Mode, RouteKind};
use serde::Serialize;

use crate::engine::{Engine, EngineKeys};

sol! {
    #[sol(rpc)]
    interface ISandboxRouter {
        function getAmountsOut(uint256 amountIn, address[] calldata path) external view returns (uint256[] memory amounts);
        function getAmountsIn(uint256 amountOut, address[] calldata path) external view returns (uint256[] memory amounts);
        function swapExactETHForTokens(uint256 amountOutMin, address[] calldata path, address to, uint256 deadline) external payable returns (uint256[] memory amounts);
        function swapETHForExactTokens(uint256 amountOut, address[] calldata path, address to, uint256 deadline) external payable returns (uint256[] memory amounts);
    }
    #[sol(rpc)]
    interface ISandboxErc20 {
        function balanceOf(address owner) external view returns (uint256);
    }
}

const ETH: u128 = 1_000_000_000_000_000_000;

/// Gas limit of a user's Router02 swap.
const USER_GAS_V2: u64 = 300_000;

/// Gas limit of a user's SwapRouter02 or Universal Router swap: two V3 hops that cross several
/// initialized ticks each.
const USER_GAS_ROUTER: u64 = 1_000_000;

/// The name the generated config gives the V3 factory.
const V3_FACTORY_NAME: &str = "uniswap_v3";

/// Sandbox knobs (the CLI sets duration and seed; the rest are fixed defaults).
#[derive(Clone, Debug)]
pub struct SandboxOpts {
    /// Seconds of simulated trading.
    pub duration_s: u64,
    /// Seed for keys, users and sizes.
    pub seed: u64,
    /// Time users trade before each block is built.
    pub block_time: Duration,
    /// Simulated users.
    pub users: usize,
    /// Test tokens, each paired with WETH on every factory.
    pub tokens: usize,
}

impl SandboxOpts {
    /// Defaults for a duration and seed.
    pub fn new(duration_s: u64, seed: u64) -> SandboxOpts {
        SandboxOpts {
            duration_s,
            seed,
            block_time: Duration::from_millis(500),
            users: 8,
            tokens: 2,
        }
    }
}

/// Percentiles of one latency series, ns.
#[derive(Clone, Debug, Serialize)]
pub struct Pct {
    /// Median.
    pub p50: u64,
    /// 99th percentile.
    pub p99: u64,
    /// 99.9th percentile.
    pub p999: u64,
    /// Maximum.
    pub max: u64,
}

/// The sandbox report. Keys are stable; on-chain amounts are decimal strings (wei).
#[derive(Clone, Debug, Serialize)]
pub struct SandboxReport {
    /// Seed used.
    pub seed: u64,
    /// Blocks built.
    pub blocks: u64,
    /// User swaps sent.
    pub user_txs: u64,
    /// Pending transactions the engine decoded.
    pub pending_seen: u64,
    /// Victims for which a profitable cycle was found.
    pub candidates: u64,
    /// Bundles fired.
    pub bundles: u64,
    /// Bundles the builder included.
    pub landed: u64,
    /// Builder outcomes by reason (landed, nonce_conflict, reverted, late, ...).
    pub bundle_outcomes: BTreeMap<String, u64>,
    /// Sum of predicted profit (after builder payment) of landed bundles, wei.
    pub predicted_profit_wei: String,
    /// Sum of the executor's WETH balance change in the blocks where they landed, wei.
    pub realized_profit_wei: String,
    /// Landed bundles whose realized profit differs from the prediction by even one wei.
    pub mismatches: u64,
    /// Landed bundles by the pools their cycle ran through: keys `v2`, `v3`, `mixed`, always
    /// all three.
    pub landed_by_kind: BTreeMap<String, u64>,
    /// Per decoder (`v2_router02`, `swap_router`, `swap_router02`, `universal_router`, and
    /// `simulated` for calls no decoder reads, which the slow lane runs in revm; always all
    /// five): pending transactions routed to it, and the candidates, bundles and landed bundles
    /// of its victims.
    pub decode_paths: BTreeMap<String, PathCounts>,
    /// Per way a simulated user traded (router and call shape, e.g. `ur_v3_else_v2`: a V3 buy
    /// with a V2 fallback in allow-revert sub-plans; always all of them): swaps sent, the
    /// candidates found on them and the bundles backrunning them that landed.
    pub user_paths: BTreeMap<String, UserPathCounts>,
    /// revm confirmation of route backruns before firing: `confirmed` (fired because revm
    /// agreed to the wei), `disagreements` (journaled, not fired) and `misses` (state the
    /// snapshot lacked, by kind: fetched for next time, not fired).
    pub confirm: ConfirmCounts,
    /// Pending calls no decoder reads (the stand-in aggregator's), simulated in revm by the
    /// slow lane, by how each ended (`fired`, `no_pool`, `no_backrun`, `victim_failed`, ...,
    /// always all of them).
    pub simulated: BTreeMap<String, u64>,
    /// Skips by reason.
    pub skips: BTreeMap<String, u64>,
    /// Hot-lane latency per stage and totals, ns.
    pub latency_ns: BTreeMap<String, Pct>,
    /// Reconnects of the node stream.
    pub reconnects: u64,
    /// The cross-exchange lane against five simulated venues, one per real format (a shared
    /// random-walk market, another
    /// venue dislocated every 100 ms): `opportunities`, `trades`, `orders`, `fills`,
    /// `unwinds`, `pnl_quote`, `fees_quote`, `unhedged_max_quote` (USDT, decimal strings),
    /// `unprofitable_after_fees` (trades filled in full that lost after fees: must be 0) and
    /// `update_to_orders_ns`.
    pub xarb: crate::bench_xarb::XarbBench,
    /// The stat-arb lane on paper against a simulated Binance-format venue listing four
    /// symbols, two pairs of them cointegrated (one bar every 50 ms): `pairs_selected`,
    /// `trades` (closed round trips), `pnl_quote` and `fees_quote` (USDT, decimal strings),
    /// and more.
    pub statarb: crate::statarb_lane::StatArbTotals,
    /// Where the journal is.
    pub journal: String,
}

/// What revm confirmation did over a run.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ConfirmCounts {
    /// Route backruns revm confirmed (and that were then fired).
    pub confirmed: u64,
    /// Route backruns where revm disagreed with the prediction.
    pub disagreements: u64,
    /// Confirmations stopped by a snapshot miss, by kind (`account`, `code`, `storage`,
    /// `block_hash`, always all four).
    pub misses: BTreeMap<String, u64>,
}

/// What one decoder's victims came to over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct PathCounts {
    /// Pending transactions sent to a router of this kind (the engine's counter).
    pub routed: u64,
    /// Profitable cycles found (journal).
    pub candidates: u64,
    /// Bundles fired (journal).
    pub bundles: u64,
    /// Bundles the builder included.
    pub landed: u64,
}

/// What one way of trading came to over a run.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
pub struct UserPathCounts {
    /// User swaps sent this way.
    pub sent: u64,
    /// Profitable cycles found on them (journal).
    pub candidates: u64,
    /// Bundles backrunning them that the builder included.
    pub landed: u64,
}

/// A simulated user: a key and its next nonce.
struct User {
    signer: PrivateKeySigner,
    nonce: u64,
}

fn key_from_rng(rng: &mut Rng) -> anyhow::Result<PrivateKeySigner> {
    loop {
        let mut b = [0u8; 32];
        rng.fill_bytes(&mut b);
        if let Ok(s) = PrivateKeySigner::from_slice(&b) {
            return Ok(s);
        }
    }
}

fn key_hex(s: &PrivateKeySigner) -> String {
    format!("0x{}", hex::encode(s.to_bytes()))
}

/// Runs the sandbox end to end and returns its report.
pub async fn run(opts: SandboxOpts) -> anyhow::Result<SandboxReport> {
    kestrel_sandbox::tools::ensure_installed()?;
    let anvil = Anvil::start().context("starting anvil")?;
    let mut rng = Rng::from_seed(opts.seed);
    let searcher = key_from_rng(&mut rng)?;
    let relay_auth = key_from_rng(&mut rng)?;
    let spec = WorldSpec {
        tokens: opts.tokens,
        factories: 2,
        liquidity_weth: U256::from(100 * ETH),
        price_skew_bps: 30,
        executor_capital_weth: U256::from(50 * ETH),
        searcher: searcher.address(),
        searcher_key: key_hex(&searcher),
    };
    let world = deploy_world(&anvil.http_url(), &Anvil::dev_key(0), &spec)
        .await
        .context("deploying the sandbox world")?;
    let layer = deploy_v3_world(
        &anvil.http_url(),
        &Anvil::dev_key(0),
        &world,
        &V3WorldSpec::sandbox(opts.seed),
    )
    .await
    .context("deploying the sandbox's V3 pools and routers")?;
    let verify = kestrel_sandbox::builder::flashbots_verifier();
    let builder = LocalBuilder::start(BuilderConfig {
        anvil_http: anvil.http_url(),
        verify,
    })
    .await?;
    // Seed, process and start time: a process id is reused, and an older journal with the same
    // run id would add its records to this run's report.
    let journal = std::env::temp_dir().join(format!(
        "kestrel-sandbox-{}-{}-{}.sqlite",
        opts.seed,
        std::process::id(),
        kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new())
    ));
    let cfg = kestrel_config::parse_str(&engine_config_v3(
        &anvil.ws_url(),
        &anvil.http_url(),
        (&world, &layer),
        &builder.url(),
        &journal,
    ))
    .map_err(|e| anyhow::anyhow!("generated sandbox config is invalid: {e}"))?;
    let keys = EngineKeys {
        searcher_hex: key_hex(&searcher),
        relay_auth_hex: key_hex(&relay_auth),
    };
    let run_id = format!("sandbox-{}", opts.seed);
    // The builder reports each bundle's outcome with its reason, and `reconcile` journals
    // those: the engine's own follower would write a second row per bundle.
    let options = crate::engine::EngineOptions {
        follow_outcomes: false,
    };
    let engine = Engine::start_with(cfg, Mode::DryRun, keys, run_id, options).await?;
    let xarb =
        crate::bench_xarb::XarbSim::start(100).context("starting the simulated exchanges")?;
    let statarb_journal = crate::statarb_lane::LaneJournal {
        journal: engine.journal_handle(),
        run_id: engine.run_id().to_owned(),
    };
    let statarb = crate::statarb_sim::StatArbSim::run_paper(opts.seed, 50, Some(statarb_journal))
        .context("starting the stat-arb lane")?;
    let provider = kestrel_chain::Chain::connect_http(&anvil.http_url())?
        .provider()
        .clone();
    let mut users = Vec::new();
    for _ in 0..opts.users {
        let signer = key_from_rng(&mut rng)?;
        provider
            .raw_request::<_, ()>(
                "anvil_setBalance".into(),
                (signer.address(), U256::from(10_000 * ETH)),
            )
            .await?;
        users.push(User { signer, nonce: 0 });
    }
    let flow = Flow {
        provider: provider.clone(),
        world: &world,
        layer: &layer,
        builder: &builder,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(opts.duration_s);
    let (mut blocks, mut user_txs) = (0u64, 0u64);
    let mut deck = PathDeck::default();
    let mut sent = UserTxs::default();
    while std::time::Instant::now() < deadline {
        let n = rng.gen_range(1..4) as usize;
        for _ in 0..n {
            let u = rng.gen_range(0..users.len() as u64) as usize;
            let path = deck.draw(&mut rng);
            let hash = flow.user_swap(&mut users[u], path, &mut rng).await?;
            sent.by_hash.insert(hash, path);
            user_txs += 1;
        }
        tokio::time::sleep(opts.block_time).await;
        let built = builder.build_block().await?;
        blocks += 1;
        wait_for_state(&engine, built.number).await;
        if was_rebuilt(&builder, built.number) {
            // The builder mined this block once with a bundle that then failed and mined it
            // again without: the engine may have published its state for the first version
            // and reloads every pool when it sees the second, which takes a while. One more
            // (empty) block on top can only be published after that, so waiting for it keeps
            // the next users from being decided on a block that no longer exists (e.g. with
            // the nonce the failed backrun took there).
            let settled = builder.build_block().await?;
            blocks += 1;
            wait_for_state(&engine, settled.number).await;
        }
        // Users whose tx was dropped reuse the nonce: resync from the chain.
        for u in &mut users {
            u.nonce = provider.get_transaction_count(u.signer.address()).await?;
        }
    }
    // The stat-arb lane appends its last events to the engine's journal: stop it first.
    let statarb = tokio::task::spawn_blocking(move || statarb.stop()).await??;
    let report = engine.stop().await?;
    let (xarb, xarb_records) = xarb.stop(opts.duration_s)?;
    let outcomes = builder.results();
    let mut summary = reconcile(&provider, &world, &report, &outcomes, &sent).await?;
    let mut records = std::mem::take(&mut summary.records);
    let unix_ms = kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new());
    records.extend(xarb_records.into_iter().map(|ev| Record::Xarb {
        run_id: report.run_id.clone(),
        unix_ms,
        ev,
    }));
    builder.stop().await;
    drop(anvil);
    let out = make_report(
        opts.seed,
        blocks,
        user_txs,
        &report,
        summary,
        (xarb, statarb),
        &journal,
    );
    journal_outcomes(&report.journal_path, &report.run_id, records, &out)?;
    Ok(out)
}

/// Whether the builder mined block `number` more than once (a bundle in it reverted or could
/// not run, so it was rebuilt from a snapshot without that bundle).
fn was_rebuilt(builder: &LocalBuilder, number: u64) -> bool {
    builder
        .results()
        .iter()
        .any(|o| o.target_block == number && matches!(o.reason.as_str(), "reverted" | "invalid"))
}

async fn wait_for_state(engine: &Engine, block: u64) {
    for _ in 0..300 {
        if engine.state_block() >= block {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The engine config the sandbox runs with: dry-run, the deployed V2 factories, the local
/// builder as the only relay. Also used by the integration tests.
pub fn engine_config(
    ws_url: &str,
    http_url: &str,
    world: &World,
    builder_url: &str,
    journal: &std::path::Path,
) -> String {
    config_with_dex(ws_url, http_url, world, "", builder_url, journal)
}

/// [`engine_config`] plus the V3 layer: its factory (every tier it has pools in), and
/// SwapRouter02 and the Universal Router as decoded routers over V2 factory
/// `layer.v2_factory_index` and that factory.
pub fn engine_config_v3(
    ws_url: &str,
    http_url: &str,
    (world, layer): (&World, &V3World),
    builder_url: &str,
    journal: &std::path::Path,
) -> String {
    let tiers: Vec<String> = layer.fee_tiers.iter().map(u32::to_string).collect();
    let mut dex = format!(
        "[[dex.v3_factories]]\nname = \"{V3_FACTORY_NAME}\"\nfactory = \"{}\"\nfee_tiers = [{}]\n\
         pool_init_code_hash = \"{}\"\n",
        layer.contracts.factory,
        tiers.join(", "),
        layer.pool_init_code_hash
    );
    let factories = format!(
        "v2_factory = \"factory{}\"\nv3_factory = \"{V3_FACTORY_NAME}\"\n",
        layer.v2_factory_index
    );
    dex += &format!(
        "[[dex.routers]]\nname = \"swap_router02\"\naddress = \"{}\"\nkind = \"swap_router02\"\n{factories}",
        layer.routers.swap_router02
    );
    dex += &format!(
        "[[dex.routers]]\nname = \"universal_router\"\naddress = \"{}\"\nkind = \"universal_router\"\n\
         version = \"v2\"\n{factories}",
        layer.routers.universal_router
    );
    config_with_dex(ws_url, http_url, world, &dex, builder_url, journal)
}

/// The config with `extra_dex` (more `[[dex.*]]` tables) after the V2 factories.
fn config_with_dex(
    ws_url: &str,
    http_url: &str,
    world: &World,
    extra_dex: &str,
    builder_url: &str,
    journal: &std::path::Path,
) -> String {
    let mut s = format!(
        "mode = \"dry-run\"\n[chain]\nchain_id = 11155111\nws_url = \"{ws_url}\"\nhttp_url = \"{http_url}\"\n"
    );
    for (i, (f, r)) in world.factories.iter().zip(&world.routers).enumerate() {
        s += &format!(
            "[[dex.v2_factories]]\nname = \"factory{i}\"\nfactory = \"{f}\"\nrouter = \"{r}\"\ninit_code_hash = \"{}\"\nfee_numerator = 997\n",
            world.init_code_hash
        );
    }
    s += extra_dex;
    s += &format!(
        "[backrun]\nweth = \"{}\"\nexecutor = \"{}\"\nmin_profit_wei = \"1000000000000\"\ngas_estimate = 150000\n\
         priority_fee_wei = \"1000000000\"\nbuilder_payment_bps = 1000\nmax_hops = 3\nladder_levels = 48\nladder_step_bps = 1000\n\
         fee_on_transfer_tokens = []\nmax_calldata_bytes = 4096\nconfirm_v2 = {}\n",
        world.weth,
        world.executor,
        // With V3 factories there is revm state: confirm the V2 lane's backruns too.
        extra_dex.contains("[[dex.v3_factories]]")
    );
    s += "[signer]\nkey = \"env:KESTREL_SANDBOX_SEARCHER_KEY\"\n[relay_auth]\nkey = \"env:KESTREL_SANDBOX_RELAY_KEY\"\n";
    s += &format!(
        "[[relays]]\nname = \"sandbox-builder\"\nurl = \"{builder_url}\"\nkind = \"local\"\n"
    );
    s += "[hot]\nwait = \"park\"\nring_capacity = 65536\n";
    s += &format!(
        "[journal]\npath = \"{}\"\n[telemetry]\nlog = \"warn\"\n",
        journal.display()
    );
    s
}

/// The ways a simulated user trades (dealt by [`PathDeck`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UserPath {
    /// UniswapV2Router02 of either factory: `swapExactETHForTokens` (7 in 10) or
    /// `swapETHForExactTokens`.
    V2Router02,
    /// SwapRouter02.
    SwapRouter02(Sr02Swap),
    /// The Universal Router: `WRAP_ETH`, then a swap of the router's whole WETH (or a V3 swap
    /// with a V2 fallback, each in a sub-plan allowed to revert).
    Universal(UrSwap),
    /// The stand-in aggregator, which no decoder reads: the engine must simulate it.
    Aggregator(AggSwap),
}

/// A swap through the stand-in aggregator.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum AggSwap {
    /// SwapRouter02's `multicall(deadline, [exactInputSingle])`, wrapped in `forward`.
    ForwardSr02,
    /// The aggregator's own V2 swap, straight from the pair.
    V2Direct,
}

/// A SwapRouter02 function.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Sr02Swap {
    /// `multicall(deadline, [exactInputSingle])`.
    ExactInputSingle,
    /// `exactInput` over two V3 hops, WETH → token → its token/token partner.
    ExactInput,
    /// `multicall(deadline, [exactOutputSingle, refundETH])`.
    ExactOutputSingle,
    /// The V2 `swapExactTokensForTokens`.
    V2ExactIn,
}

/// A Universal Router swap command.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum UrSwap {
    /// `V3_SWAP_EXACT_IN`, one or two hops.
    V3ExactIn,
    /// `V2_SWAP_EXACT_IN`.
    V2ExactIn,
    /// Two `EXECUTE_SUB_PLAN`s with the allow-revert flag: a V3 exact-in, then a V2 exact-in of
    /// whatever WETH the first left, then the rest unwrapped back. One in two asks V3 for more
    /// than it gives, so its sub-plan is undone and the V2 fallback trades.
    V3ElseV2,
}

impl UserPath {
    const ALL: [UserPath; 10] = [
        UserPath::V2Router02,
        UserPath::SwapRouter02(Sr02Swap::ExactInputSingle),
        UserPath::SwapRouter02(Sr02Swap::ExactInput),
        UserPath::SwapRouter02(Sr02Swap::ExactOutputSingle),
        UserPath::SwapRouter02(Sr02Swap::V2ExactIn),
        UserPath::Universal(UrSwap::V3ExactIn),
        UserPath::Universal(UrSwap::V2ExactIn),
        UserPath::Universal(UrSwap::V3ElseV2),
        UserPath::Aggregator(AggSwap::ForwardSr02),
        UserPath::Aggregator(AggSwap::V2Direct),
    ];

    /// The report's name for the path.
    const fn name(self) -> &'static str {
        match self {
            UserPath::V2Router02 => "v2_router02",
            UserPath::SwapRouter02(Sr02Swap::ExactInputSingle) => "sr02_exact_input_single",
            UserPath::SwapRouter02(Sr02Swap::ExactInput) => "sr02_exact_input",
            UserPath::SwapRouter02(Sr02Swap::ExactOutputSingle) => "sr02_exact_output_single",
            UserPath::SwapRouter02(Sr02Swap::V2ExactIn) => "sr02_v2_exact_in",
            UserPath::Universal(UrSwap::V3ExactIn) => "ur_v3_exact_in",
            UserPath::Universal(UrSwap::V2ExactIn) => "ur_v2_exact_in",
            UserPath::Universal(UrSwap::V3ElseV2) => "ur_v3_else_v2",
            UserPath::Aggregator(AggSwap::ForwardSr02) => "aggregator_forward_sr02",
            UserPath::Aggregator(AggSwap::V2Direct) => "aggregator_v2_direct",
        }
    }

    const fn gas_limit(self) -> u64 {
        match self {
            UserPath::V2Router02 => USER_GAS_V2,
            UserPath::SwapRouter02(_) | UserPath::Universal(_) | UserPath::Aggregator(_) => {
                USER_GAS_ROUTER
            }
        }
    }
}

/// The paths users take, dealt like cards: every path once per [`UserPath::ALL`]-sized round,
/// in a seeded random order, so that even a short run trades through each of them.
#[derive(Debug)]
struct PathDeck {
    order: [UserPath; UserPath::ALL.len()],
    next: usize,
}

impl Default for PathDeck {
    fn default() -> PathDeck {
        PathDeck {
            order: UserPath::ALL,
            next: 0,
        }
    }
}

impl PathDeck {
    fn draw(&mut self, rng: &mut Rng) -> UserPath {
        if self.next == 0 {
            // Fisher-Yates.
            for i in (1..self.order.len()).rev() {
                let j = rng.gen_range(0..i as u64 + 1) as usize;
                self.order.swap(i, j);
            }
        }
        let path = self.order[self.next];
        self.next = (self.next + 1) % self.order.len();
        path
    }
}

/// One user's swap before it is routed: WETH (paid in ETH) for `token`.
struct Order {
    token: Address,
    size: U256,
    /// Whether the bound is set so that the swap reverts (one in ten).
    revert: bool,
    slip_per_mille: U256,
    deadline: U256,
    recipient: Address,
}

impl Order {
    /// The least output an exact-in swap accepts, given the quoted output.
    fn min_out(&self, quoted: U256) -> U256 {
        let thousand = U256::from(1000);
        if self.revert {
            quoted * U256::from(1020) / thousand
        } else {
            quoted * (thousand - self.slip_per_mille) / thousand
        }
    }

    /// The most input an exact-out swap accepts, given the quoted input.
    fn max_in(&self, needed: U256) -> U256 {
        let thousand = U256::from(1000);
        if self.revert {
            needed - U256::from(1)
        } else {
            needed * (thousand + self.slip_per_mille) / thousand
        }
    }

    /// Exactly-out target: 95 % of what the size would buy.
    fn exact_out_target(quoted: U256) -> U256 {
        quoted * U256::from(95) / U256::from(100)
    }
}

struct Flow<'a> {
    provider: alloy::providers::DynProvider,
    world: &'a World,
    layer: &'a V3World,
    builder: &'a LocalBuilder,
}

impl Flow<'_> {
    /// One simulated user swap through `path` (router and function), ETH in, sized
    /// log-uniformly, with a slippage bound quoted on the head state; one in ten has a bound
    /// that makes it revert.
    async fn user_swap(&self, u: &mut User, path: UserPath, rng: &mut Rng) -> anyhow::Result<B256> {
        let w = self.world;
        let head = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .context("no latest block")?;
        let order = Order {
            token: w.tokens[rng.gen_range(0..w.tokens.len() as u64) as usize],
            size: U256::from(rng.log_uniform_u128(ETH / 20, 20 * ETH)),
            revert: rng.gen_bool(0.1),
            slip_per_mille: U256::from(rng.gen_range(5..30)),
            deadline: U256::from(head.header.timestamp + 600),
            recipient: u.signer.address(),
        };
        let call = self
            .route(path, &order, rng)
            .await
            .with_context(|| format!("building a {path:?} swap"))?;
        let base_fee = u128::from(head.header.base_fee_per_gas.unwrap_or(1_000_000_000));
        let raw = sign_user_call(&u.signer, u.nonce, &call, base_fee, path.gas_limit())?;
        let hash = keccak256(&raw);
        self.builder.submit_user_tx(raw).await?;
        u.nonce += 1;
        Ok(hash)
    }

    /// The user's call for `path`, its bound quoted on the head state. V3 swaps go through a
    /// random fee tier.
    async fn route(&self, path: UserPath, o: &Order, rng: &mut Rng) -> anyhow::Result<UserCall> {
        let pools = &self.layer.weth_pools;
        let fee = pools[rng.gen_range(0..pools.len() as u64) as usize].fee_pips;
        match path {
            UserPath::V2Router02 => self.v2_router02(o, rng).await,
            UserPath::SwapRouter02(swap) => self.swap_router02(swap, o, fee).await,
            UserPath::Universal(swap) => self.universal_router(swap, o, fee, rng).await,
            UserPath::Aggregator(AggSwap::ForwardSr02) => {
                let call = self
                    .swap_router02(Sr02Swap::ExactInputSingle, o, fee)
                    .await?;
                Ok(routers::via_aggregator(&self.layer.routers, call))
            }
            UserPath::Aggregator(AggSwap::V2Direct) => self.aggregator_v2(o).await,
        }
    }

    /// The aggregator's own swap of ETH for `o.token` in the V2 pair of the layer's factory.
    async fn aggregator_v2(&self, o: &Order) -> anyhow::Result<UserCall> {
        let factory = self.layer.v2_factory_index;
        let pair = self
            .world
            .pairs_of(o.token)
            .find(|p| p.factory_index == factory)
            .context("no V2 pair of the token on the layer's factory")?;
        let quoted = self.quote_v2(factory, o.token, o.size).await?;
        let amounts = (o.size, o.min_out(quoted));
        Ok(routers::aggregator_v2_eth(
            &self.layer.routers,
            pair.address,
            o.recipient,
            amounts,
        ))
    }

    async fn swap_router02(&self, swap: Sr02Swap, o: &Order, fee: u32) -> anyhow::Result<UserCall> {
        let (weth, routers) = (self.world.weth, &self.layer.routers);
        let single = (weth, o.token, fee);
        Ok(match swap {
            Sr02Swap::ExactInputSingle => {
                let quoted = self.quote_v3(&[weth, o.token], &[fee], o.size).await?;
                let amounts = (o.size, o.min_out(quoted));
                routers::sr02_exact_input_single_eth(
                    routers,
                    single,
                    o.recipient,
                    amounts,
                    o.deadline,
                )
            }
            Sr02Swap::ExactInput => {
                let (tokens, fees) = self.two_hops(o.token, fee);
                let quoted = self.quote_v3(&tokens, &fees, o.size).await?;
                let amounts = (o.size, o.min_out(quoted));
                let path = routers::v3_path(&tokens, &fees);
                routers::sr02_exact_input_eth(routers, path, o.recipient, amounts)
            }
            Sr02Swap::ExactOutputSingle => {
                let quoted = self.quote_v3(&[weth, o.token], &[fee], o.size).await?;
                let want = Order::exact_out_target(quoted);
                let needed = self.quote_v3_exact_out(o.token, fee, want).await?;
                let amounts = (want, o.max_in(needed));
                routers::sr02_exact_output_single_eth(
                    routers,
                    single,
                    o.recipient,
                    amounts,
                    o.deadline,
                )
            }
            Sr02Swap::V2ExactIn => {
                let quoted = self
                    .quote_v2(self.layer.v2_factory_index, o.token, o.size)
                    .await?;
                let amounts = (o.size, o.min_out(quoted));
                routers::sr02_v2_exact_in_eth(routers, vec![weth, o.token], o.recipient, amounts)
            }
        })
    }

    /// A Universal Router swap, with a deadline or without (one in two).
    async fn universal_router(
        &self,
        swap: UrSwap,
        o: &Order,
        fee: u32,
        rng: &mut Rng,
    ) -> anyhow::Result<UserCall> {
        let (weth, routers) = (self.world.weth, &self.layer.routers);
        let deadline = rng.gen_bool(0.5).then_some(o.deadline);
        Ok(match swap {
            UrSwap::V3ExactIn => {
                let (tokens, fees) = if rng.gen_bool(0.5) {
                    self.two_hops(o.token, fee)
                } else {
                    (vec![weth, o.token], vec![fee])
                };
                let quoted = self.quote_v3(&tokens, &fees, o.size).await?;
                let amounts = (o.size, o.min_out(quoted));
                let path = routers::v3_path(&tokens, &fees);
                routers::ur_wrap_v3_exact_in(routers, path, o.recipient, amounts, deadline)
            }
            UrSwap::V2ExactIn => {
                let quoted = self
                    .quote_v2(self.layer.v2_factory_index, o.token, o.size)
                    .await?;
                let amounts = (o.size, o.min_out(quoted));
                let path = vec![weth, o.token];
                routers::ur_wrap_v2_exact_in(routers, path, o.recipient, amounts, deadline)
            }
            UrSwap::V3ElseV2 => {
                let quoted_v3 = self.quote_v3(&[weth, o.token], &[fee], o.size).await?;
                let quoted_v2 = self
                    .quote_v2(self.layer.v2_factory_index, o.token, o.size)
                    .await?;
                let v3_min = if rng.gen_bool(0.5) {
                    quoted_v3 * U256::from(1020) / U256::from(1000)
                } else {
                    o.min_out(quoted_v3)
                };
                let paths = (
                    routers::v3_path(&[weth, o.token], &[fee]),
                    vec![weth, o.token],
                );
                let amounts = (o.size, v3_min, o.min_out(quoted_v2));
                routers::ur_wrap_v3_else_v2(routers, paths, o.recipient, amounts, deadline)
            }
        })
    }

    /// WETH → `token` in the `fee` pool → its token/token partner; one hop when the token has
    /// no partner.
    fn two_hops(&self, token: Address, fee: u32) -> (Vec<Address>, Vec<u32>) {
        match self.layer.cross_pool_of(token) {
            Some((cross, other)) => (
                vec![self.world.weth, token, other],
                vec![fee, cross.fee_pips],
            ),
            None => (vec![self.world.weth, token], vec![fee]),
        }
    }

    /// QuoterV2's exact-in quote along a V3 path.
    async fn quote_v3(
        &self,
        tokens: &[Address],
        fees: &[u32],
        amount_in: U256,
    ) -> anyhow::Result<U256> {
        let path = routers::v3_path(tokens, fees);
        quote_exact_input(&self.provider, &self.layer.contracts, path, amount_in).await
    }

    /// QuoterV2's exact-out quote: the WETH that buys `amount_out` of `token` in the `fee` pool.
    async fn quote_v3_exact_out(
        &self,
        token: Address,
        fee: u32,
        amount_out: U256,
    ) -> anyhow::Result<U256> {
        let key = self
            .layer
            .weth_pool(self.world.weth, token, fee)
            .context("no such V3 pool")?;
        let zero_for_one = key.token0 == self.world.weth;
        let quote = sandbox_v3::quote_exact_output_single(
            &self.provider,
            &self.layer.contracts,
            key,
            zero_for_one,
            amount_out,
            U256::ZERO,
        )
        .await?
        .context("QuoterV2 reverted on an exact-out quote")?;
        Ok(quote.amount)
    }

    /// `getAmountsOut` of V2 factory `factory`'s router for WETH → `token`.
    async fn quote_v2(
        &self,
        factory: usize,
        token: Address,
        amount_in: U256,
    ) -> anyhow::Result<U256> {
        let rc = ISandboxRouter::new(self.world.routers[factory], &self.provider);
        let amounts = rc
            .getAmountsOut(amount_in, vec![self.world.weth, token])
            .call()
            .await?;
        amounts.get(1).copied().context("quote")
    }

    /// A Router02 swap on a random factory: exact-in (7 in 10) or exact-out.
    async fn v2_router02(&self, o: &Order, rng: &mut Rng) -> anyhow::Result<UserCall> {
        let w = self.world;
        let factory = rng.gen_range(0..w.routers.len() as u64) as usize;
        let router = w.routers[factory];
        let path = vec![w.weth, o.token];
        let quoted = self.quote_v2(factory, o.token, o.size).await?;
        if rng.gen_bool(0.7) {
            let call = ISandboxRouter::swapExactETHForTokensCall {
                amountOutMin: o.min_out(quoted),
                path,
                to: o.recipient,
                deadline: o.deadline,
            };
            return Ok(UserCall {
                to: router,
                input: Bytes::from(alloy::sol_types::SolCall::abi_encode(&call)),
                value: o.size,
            });
        }
        let want = Order::exact_out_target(quoted);
        let rc = ISandboxRouter::new(router, &self.provider);
        let need = *rc
            .getAmountsIn(want, path.clone())
            .call()
            .await?
            .first()
            .context("quote")?;
        let call = ISandboxRouter::swapETHForExactTokensCall {
            amountOut: want,
            path,
            to: o.recipient,
            deadline: o.deadline,
        };
        Ok(UserCall {
            to: router,
            input: Bytes::from(alloy::sol_types::SolCall::abi_encode(&call)),
            value: o.max_in(need),
        })
    }
}

/// A user's signed EIP-1559 call (Sepolia chain id, 300k gas, tip 1 gwei), as raw bytes.
pub fn sign_user_tx(
    signer: &PrivateKeySigner,
    nonce: u64,
    to: alloy::primitives::Address,
    input: Bytes,
    value: U256,
    base_fee: u128,
) -> anyhow::Result<Bytes> {
    let call = UserCall { to, input, value };
    sign_user_call(signer, nonce, &call, base_fee, USER_GAS_V2)
}

/// A user's signed EIP-1559 `call` (Sepolia chain id, tip 1 gwei), as raw bytes.
pub fn sign_user_call(
    signer: &PrivateKeySigner,
    nonce: u64,
    call: &UserCall,
    base_fee: u128,
    gas_limit: u64,
) -> anyhow::Result<Bytes> {
    let mut tx = TxEip1559 {
        chain_id: 11_155_111,
        nonce,
        gas_limit,
        max_fee_per_gas: base_fee * 2 + 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(call.to),
        value: call.value,
        access_list: Default::default(),
        input: call.input.clone(),
    };
    let sig = signer.sign_transaction_sync(&mut tx)?;
    Ok(Bytes::from(
        TxEnvelope::from(tx.into_signed(sig)).encoded_2718(),
    ))
}

/// Landed bundles checked against the chain.
#[derive(Debug, Default)]
struct Reconciled {
    landed: u64,
    predicted: U256,
    realized: U256,
    mismatches: u64,
    outcomes: BTreeMap<String, u64>,
    landed_by_kind: BTreeMap<String, u64>,
    decode_paths: BTreeMap<String, PathCounts>,
    user_paths: BTreeMap<String, UserPathCounts>,
    records: Vec<Record>,
}

/// The user swaps a run sent, by transaction hash.
#[derive(Debug, Default)]
struct UserTxs {
    by_hash: HashMap<B256, UserPath>,
}

impl UserTxs {
    /// Every path, with the swaps sent each way and the candidates found on them.
    fn counts(
        &self,
        candidates: &[kestrel_store::CandidateRow],
    ) -> BTreeMap<String, UserPathCounts> {
        let mut out: BTreeMap<String, UserPathCounts> = UserPath::ALL
            .iter()
            .map(|p| (p.name().to_string(), UserPathCounts::default()))
            .collect();
        for path in self.by_hash.values() {
            out.entry(path.name().to_string()).or_default().sent += 1;
        }
        for c in candidates {
            if let Some(path) = self.by_hash.get(&c.ev.tx_hash) {
                out.entry(path.name().to_string()).or_default().candidates += 1;
            }
        }
        out
    }
}

async fn reconcile(
    provider: &alloy::providers::DynProvider,
    world: &World,
    report: &crate::engine::EngineReport,
    outcomes: &[kestrel_sandbox::builder::BundleOutcome],
    sent: &UserTxs,
) -> anyhow::Result<Reconciled> {
    let reader = kestrel_store::open_readonly(&report.journal_path)?;
    let bundles = reader.bundles(&report.run_id)?;
    let candidates = reader.candidates(&report.run_id)?;
    let weth = ISandboxErc20::new(world.weth, provider);
    let mut r = Reconciled {
        landed_by_kind: RouteKind::ALL
            .iter()
            .map(|k| (k.as_str().to_string(), 0))
            .collect(),
        decode_paths: journal_paths(&report.counters, &candidates, &bundles),
        user_paths: sent.counts(&candidates),
        ..Reconciled::default()
    };
    for o in outcomes {
        *r.outcomes.entry(o.reason.clone()).or_default() += 1;
        let matches = |b: &&kestrel_store::BundleRow| {
            o.tx_hashes.first() == Some(&b.ev.candidate.tx_hash)
                && o.tx_hashes.get(1) == Some(&b.ev.backrun_hash)
        };
        let Some(row) = bundles.iter().find(matches) else {
            continue;
        };
        let predicted = row.ev.candidate.profit_net;
        let mut outcome = Record::Outcome {
            run_id: report.run_id.clone(),
            backrun_hash: row.ev.backrun_hash,
            block: o.block.unwrap_or(o.target_block),
            landed: o.landed,
            realized_profit_wei: None,
            predicted_profit_wei: predicted,
            note: o.reason.clone(),
        };
        if let (true, Some(block)) = (o.landed, o.block) {
            let before = weth
                .balanceOf(world.executor)
                .block((block - 1).into())
                .call()
                .await?;
            let after = weth
                .balanceOf(world.executor)
                .block(block.into())
                .call()
                .await?;
            let realized = after.saturating_sub(before);
            r.landed += 1;
            let c = &row.ev.candidate;
            *r.landed_by_kind
                .entry(c.route_kind.as_str().to_string())
                .or_default() += 1;
            r.decode_paths
                .entry(c.decode_path.as_str().to_string())
                .or_default()
                .landed += 1;
            if let Some(path) = sent.by_hash.get(&c.tx_hash) {
                r.user_paths
                    .entry(path.name().to_string())
                    .or_default()
                    .landed += 1;
            }
            r.predicted += predicted;
            r.realized += realized;
            if after < before || realized != predicted {
                r.mismatches += 1;
            }
            if let Record::Outcome {
                realized_profit_wei,
                ..
            } = &mut outcome
            {
                *realized_profit_wei = Some(realized);
            }
        }
        r.records.push(outcome);
    }
    Ok(r)
}

/// Per decode path, every one present: routed from the engine's counters, candidates and
/// bundles from the journal (landed is counted by the caller).
fn journal_paths(
    counters: &kestrel_telemetry::CountersSnapshot,
    candidates: &[kestrel_store::CandidateRow],
    bundles: &[kestrel_store::BundleRow],
) -> BTreeMap<String, PathCounts> {
    let mut paths: BTreeMap<DecodePath, PathCounts> = DecodePath::ALL
        .iter()
        .map(|&p| {
            let counts = PathCounts {
                routed: counters.routed(p),
                ..PathCounts::default()
            };
            (p, counts)
        })
        .collect();
    for c in candidates {
        paths.entry(c.ev.decode_path).or_default().candidates += 1;
    }
    for b in bundles {
        paths.entry(b.ev.candidate.decode_path).or_default().bundles += 1;
    }
    paths
        .into_iter()
        .map(|(p, counts)| (p.as_str().to_string(), counts))
        .collect()
}

/// Appends the outcomes and the run's end (with the report as its summary) to the journal.
fn journal_outcomes(
    path: &std::path::Path,
    run_id: &str,
    records: Vec<Record>,
    report: &SandboxReport,
) -> anyhow::Result<()> {
    let journal = kestrel_store::Journal::open(path, 1024)?;
    let h = journal.handle();
    for rec in records {
        h.append(rec)?;
    }
    h.append(Record::RunEnded {
        run_id: run_id.to_string(),
        ended_unix_ms: kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new()),
        summary_json: serde_json::to_string(report)?,
    })?;
    journal.close()?;
    Ok(())
}

fn make_report(
    seed: u64,
    blocks: u64,
    user_txs: u64,
    report: &crate::engine::EngineReport,
    r: Reconciled,
    (xarb, statarb): (
        crate::bench_xarb::XarbBench,
        crate::statarb_lane::StatArbTotals,
    ),
    journal: &std::path::Path,
) -> SandboxReport {
    let c = &report.counters;
    let named = crate::CountersByName::of(c);
    SandboxReport {
        seed,
        blocks,
        user_txs,
        pending_seen: c.pending_seen,
        candidates: c.candidates,
        bundles: c.bundles,
        landed: r.landed,
        bundle_outcomes: r.outcomes,
        predicted_profit_wei: r.predicted.to_string(),
        realized_profit_wei: r.realized.to_string(),
        mismatches: r.mismatches,
        landed_by_kind: r.landed_by_kind,
        decode_paths: r.decode_paths,
        user_paths: r.user_paths,
        confirm: ConfirmCounts {
            confirmed: c.confirmed,
            disagreements: c.disagreements,
            misses: named.sim_misses,
        },
        simulated: named.simulated,
        skips: crate::only_counted(named.skips),
        latency_ns: crate::bench::latency_map(&report.hot.recorder),
        reconnects: report.hot.reconnects,
        xarb,
        statarb,
        journal: journal.display().to_string(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_round_of_the_deck_deals_each_path_once() {
        let mut rng = Rng::from_seed(3);
        let mut deck = PathDeck::default();
        let mut orders = Vec::new();
        for _ in 0..4 {
            let mut round: Vec<UserPath> = (0..UserPath::ALL.len())
                .map(|_| deck.draw(&mut rng))
                .collect();
            orders.push(round.clone());
            round.sort_by_key(|p| UserPath::ALL.iter().position(|q| q == p));
            assert_eq!(round, UserPath::ALL);
        }
        assert!(
            orders.windows(2).any(|w| w[0] != w[1]),
            "rounds are shuffled"
        );
    }
}
