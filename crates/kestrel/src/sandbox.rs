//! `kestrel sandbox`: the whole engine against a local chain with the real Uniswap V2 bytecode,
//! seeded simulated users and a local builder; ends with a JSON report.

use std::collections::BTreeMap;
use std::time::Duration;

use alloy::consensus::{SignableTransaction, TxEip1559, TxEnvelope};
use alloy::eips::eip2718::Encodable2718;
use alloy::network::TxSignerSync;
use alloy::primitives::{Bytes, TxKind, U256};
use alloy::providers::Provider;
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use anyhow::Context;
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::builder::{BuilderConfig, LocalBuilder};
use kestrel_sandbox::deploy::{World, WorldSpec, deploy_world};
use kestrel_stdx::Rng;
use kestrel_store::Record;
use kestrel_types::Mode;
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
    /// Skips by reason.
    pub skips: BTreeMap<String, u64>,
    /// Hot-lane latency per stage and totals, ns.
    pub latency_ns: BTreeMap<String, Pct>,
    /// Reconnects of the node stream.
    pub reconnects: u64,
    /// Where the journal is.
    pub journal: String,
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
    let verify = kestrel_sandbox::builder::flashbots_verifier();
    let builder = LocalBuilder::start(BuilderConfig {
        anvil_http: anvil.http_url(),
        verify,
    })
    .await?;
    let journal = std::env::temp_dir().join(format!(
        "kestrel-sandbox-{}-{}.sqlite",
        opts.seed,
        std::process::id()
    ));
    let cfg = kestrel_config::parse_str(&engine_config(
        &anvil.ws_url(),
        &anvil.http_url(),
        &world,
        &builder.url(),
        &journal,
    ))
    .map_err(|e| anyhow::anyhow!("generated sandbox config is invalid: {e}"))?;
    let keys = EngineKeys {
        searcher_hex: key_hex(&searcher),
        relay_auth_hex: key_hex(&relay_auth),
    };
    let run_id = format!("sandbox-{}", opts.seed);
    let engine = Engine::start(cfg, Mode::DryRun, keys, run_id).await?;
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
        builder: &builder,
    };
    let deadline = std::time::Instant::now() + Duration::from_secs(opts.duration_s);
    let (mut blocks, mut user_txs) = (0u64, 0u64);
    while std::time::Instant::now() < deadline {
        let n = rng.gen_range(1..4) as usize;
        for _ in 0..n {
            let u = rng.gen_range(0..users.len() as u64) as usize;
            flow.user_swap(&mut users[u], &mut rng).await?;
            user_txs += 1;
        }
        tokio::time::sleep(opts.block_time).await;
        let built = builder.build_block().await?;
        blocks += 1;
        wait_for_state(&engine, built.number).await;
        // Users whose tx was dropped reuse the nonce: resync from the chain.
        for u in &mut users {
            u.nonce = provider.get_transaction_count(u.signer.address()).await?;
        }
    }
    let report = engine.stop().await?;
    let outcomes = builder.results();
    let mut summary = reconcile(&provider, &world, &report, &outcomes).await?;
    let records = std::mem::take(&mut summary.records);
    builder.stop().await;
    drop(anvil);
    let out = make_report(opts.seed, blocks, user_txs, &report, summary, &journal);
    journal_outcomes(&report.journal_path, &report.run_id, records, &out)?;
    Ok(out)
}

async fn wait_for_state(engine: &Engine, block: u64) {
    for _ in 0..300 {
        if engine.state_block() >= block {
            return;
        }
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
}

/// The engine config the sandbox runs with: dry-run, the deployed factories, the local builder
/// as the only relay. Also used by the integration tests.
pub fn engine_config(
    ws_url: &str,
    http_url: &str,
    world: &World,
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
    s += &format!(
        "[backrun]\nweth = \"{}\"\nexecutor = \"{}\"\nmin_profit_wei = \"1000000000000\"\ngas_estimate = 150000\n\
         priority_fee_wei = \"1000000000\"\nbuilder_payment_bps = 1000\nmax_hops = 3\nladder_levels = 48\nladder_step_bps = 1000\n\
         fee_on_transfer_tokens = []\nmax_calldata_bytes = 4096\n",
        world.weth, world.executor
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

struct Flow<'a> {
    provider: alloy::providers::DynProvider,
    world: &'a World,
    builder: &'a LocalBuilder,
}

impl Flow<'_> {
    /// One simulated user swap through a random router: ETH in, exact-in or exact-out, sized
    /// log-uniformly, with a slippage bound; one in ten has a bound that makes it revert.
    async fn user_swap(&self, u: &mut User, rng: &mut Rng) -> anyhow::Result<()> {
        let w = self.world;
        let router = w.routers[rng.gen_range(0..w.routers.len() as u64) as usize];
        let token = w.tokens[rng.gen_range(0..w.tokens.len() as u64) as usize];
        let path = vec![w.weth, token];
        let size = U256::from(rng.log_uniform_u128(ETH / 20, 20 * ETH));
        let rc = ISandboxRouter::new(router, &self.provider);
        let revert = rng.gen_bool(0.1);
        let slip = U256::from(rng.gen_range(5..30));
        let thousand = U256::from(1000);
        let head = self
            .provider
            .get_block_by_number(alloy::eips::BlockNumberOrTag::Latest)
            .await?
            .context("no latest block")?;
        let deadline = U256::from(head.header.timestamp + 600);
        let to = u.signer.address();
        let quoted_out = *rc
            .getAmountsOut(size, path.clone())
            .call()
            .await?
            .get(1)
            .context("quote")?;
        let (input, value) = if rng.gen_bool(0.7) {
            let min = if revert {
                quoted_out * U256::from(1020) / thousand
            } else {
                quoted_out * (thousand - slip) / thousand
            };
            let call = ISandboxRouter::swapExactETHForTokensCall {
                amountOutMin: min,
                path,
                to,
                deadline,
            };
            (alloy::sol_types::SolCall::abi_encode(&call), size)
        } else {
            let want = quoted_out * U256::from(95) / U256::from(100);
            let need = *rc
                .getAmountsIn(want, path.clone())
                .call()
                .await?
                .first()
                .context("quote")?;
            let value = if revert {
                need - U256::from(1)
            } else {
                need * (thousand + slip) / thousand
            };
            let call = ISandboxRouter::swapETHForExactTokensCall {
                amountOut: want,
                path,
                to,
                deadline,
            };
            (alloy::sol_types::SolCall::abi_encode(&call), value)
        };
        let base_fee = u128::from(head.header.base_fee_per_gas.unwrap_or(1_000_000_000));
        let raw = sign_user_tx(
            &u.signer,
            u.nonce,
            router,
            Bytes::from(input),
            value,
            base_fee,
        )?;
        self.builder.submit_user_tx(raw).await?;
        u.nonce += 1;
        Ok(())
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
    let mut tx = TxEip1559 {
        chain_id: 11_155_111,
        nonce,
        gas_limit: 300_000,
        max_fee_per_gas: base_fee * 2 + 2_000_000_000,
        max_priority_fee_per_gas: 1_000_000_000,
        to: TxKind::Call(to),
        value,
        access_list: Default::default(),
        input,
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
    records: Vec<Record>,
}

async fn reconcile(
    provider: &alloy::providers::DynProvider,
    world: &World,
    report: &crate::engine::EngineReport,
    outcomes: &[kestrel_sandbox::builder::BundleOutcome],
) -> anyhow::Result<Reconciled> {
    let reader = kestrel_store::open_readonly(&report.journal_path)?;
    let bundles = reader.bundles(&report.run_id)?;
    let weth = ISandboxErc20::new(world.weth, provider);
    let mut r = Reconciled::default();
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
    journal: &std::path::Path,
) -> SandboxReport {
    let c = &report.counters;
    let skips = kestrel_types::SkipReason::ALL
        .iter()
        .map(|s| (s.as_str().to_string(), c.skips[s.index()]))
        .filter(|(_, n)| *n > 0)
        .collect();
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
        skips,
        latency_ns: crate::bench::latency_map(&report.hot.recorder),
        reconnects: report.hot.reconnects,
        journal: journal.display().to_string(),
    }
}
