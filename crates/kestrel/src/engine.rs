//! A running engine: slow-lane state sync, the hot thread, the event drain and the journal.

use std::sync::Arc;
use std::time::Duration;

use anyhow::{Context, bail};
use kestrel_bus::spsc::{self, Consumer, DropPolicy};
use kestrel_bus::{ShutdownFlag, SnapshotCell, WaitStrategy};
use kestrel_chain::v3::{V3FactoryInfo, V3Snapshot, pool_address};
use kestrel_chain::{Chain, HeadInfo};
use kestrel_config::{Config, RelayKind, RouterKind, UniversalRouterVersion, WaitSetting};
use kestrel_dex::backrun::BackrunParams;
use kestrel_dex::cycle::{CycleLimits, PoolRegistry, V3FactoryId};
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot};
use kestrel_dex::universal::UrVersion;
use kestrel_dex::v3::V3Pool;
use kestrel_fire::bundle::FlashbotsAuth;
use kestrel_fire::ladder::{Cycle, Ladder, LadderParams, LocalSigner};
use kestrel_fire::relay::RelayConn;
use kestrel_fire::{Handoff, ParcelKind, PresigPool, RouteTxParams};
use kestrel_hot::routers::{Decoder, RouterEntry, RouterTable};
use kestrel_hot::{
    HotState, HotThreadConfig, HotThreadReport, NodeEndpoint, NodeStreamConfig, Pipeline,
    PipelineConfig, RelayTarget, SimState,
};
use kestrel_sim::{ChainRules, Miss, StateSnapshot};

use crate::lane_metrics::MetricsSources;
use crate::simprep::{MissInbox, SimPrep, next_block};
use kestrel_store::{Journal, JournalHandle, Record};
use std::sync::Mutex;

use kestrel_telemetry::{Counters, MetricsServer, StageRecorder, prometheus_text};
use kestrel_types::{Address, FactoryId, HotEvent, Mode, U256};
use tokio::sync::Notify;

/// Least gas limit of a `backrunRoute` transaction.
const ROUTE_GAS_LIMIT: u64 = 1_000_000;
/// Precomputed auth-signature nonces kept ready (each bundle uses one per relay request kind).
const PRESIGS: usize = 4096;
/// How often the slow lane polls the head when no `newHeads` notification came.
const HEAD_POLL: Duration = Duration::from_millis(250);

/// The secrets the engine runs with, already resolved from `env:VAR` references.
pub struct EngineKeys {
    /// The funds key: signs our backrun transactions.
    pub searcher_hex: String,
    /// The relay identity key: signs `X-Flashbots-Signature` headers.
    pub relay_auth_hex: String,
}

impl std::fmt::Debug for EngineKeys {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("EngineKeys(<redacted>)")
    }
}

/// How [`Engine::start_with`] runs besides its config.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EngineOptions {
    /// Follow each bundle sent for inclusion to its target block and journal what became of
    /// it ([`crate::outcomes`]); default `true`. The sandbox turns it off: its builder reports
    /// every bundle's outcome itself, with the reason, and the sandbox journals those.
    pub follow_outcomes: bool,
}

impl Default for EngineOptions {
    fn default() -> Self {
        EngineOptions {
            follow_outcomes: true,
        }
    }
}

/// A started engine.
#[derive(Debug)]
pub struct Engine {
    run_id: String,
    state: Arc<SnapshotCell<HotState>>,
    counters: Arc<Counters>,
    shutdown: ShutdownFlag,
    hot: std::thread::JoinHandle<HotThreadReport>,
    drain: std::thread::JoinHandle<()>,
    sync: tokio::task::JoinHandle<()>,
    undecoded: Option<(std::thread::JoinHandle<()>, ShutdownFlag)>,
    journal: Journal,
    journal_path: std::path::PathBuf,
    metrics: Option<MetricsServer>,
    /// What other lanes add to `/metrics` after the engine's own text.
    metrics_sources: Arc<MetricsSources>,
    /// The outcome follower and its task, when bundles are followed.
    outcomes: Option<(
        Arc<crate::outcomes::OutcomeFollower>,
        tokio::task::JoinHandle<()>,
    )>,
    /// Relay posts whose answers are not journaled yet.
    posts_in_flight: Arc<std::sync::atomic::AtomicUsize>,
    /// Journals the hot connections' answers; ends once the hot thread's connections are gone.
    reply_logger: std::thread::JoinHandle<()>,
    /// Names of the relays the hot thread writes to.
    hot_relays: Vec<String>,
}

/// What a run produced, for reports.
#[derive(Debug)]
pub struct EngineReport {
    /// The run's id in the journal.
    pub run_id: String,
    /// Counters at stop.
    pub counters: kestrel_telemetry::CountersSnapshot,
    /// Hot-thread latencies.
    pub hot: HotThreadReport,
    /// Path of the journal.
    pub journal_path: std::path::PathBuf,
    /// Names of the relays the hot thread wrote to (warm connections, plain or TLS); every
    /// other relay of the mode was posted to by the slow lane.
    pub hot_relays: Vec<String>,
}

/// Every router whose victims the engine decodes (their code and storage run in revm).
fn router_addresses(cfg: &Config) -> Vec<Address> {
    let v2 = cfg.dex.v2_factories.iter().map(|f| f.router);
    let rest = cfg.dex.routers.iter().map(|r| r.address);
    v2.chain(rest).collect()
}

fn factories(cfg: &Config) -> Vec<FactoryInfo> {
    cfg.dex
        .v2_factories
        .iter()
        .map(|f| FactoryInfo {
            address: f.factory,
            router: f.router,
            init_code_hash: f.init_code_hash,
            fee_num: u32::from(f.fee_numerator),
        })
        .collect()
}

fn v3_factories(cfg: &Config) -> Vec<V3FactoryInfo> {
    cfg.dex
        .v3_factories
        .iter()
        .map(|f| V3FactoryInfo {
            address: f.factory,
            pool_init_code_hash: f.pool_init_code_hash,
            fee_tiers: f.fee_tiers.clone(),
        })
        .collect()
}

/// The `[[dex.routers]]` entries as the hot lane reads them (V2 factories' own routers are
/// known to the pool snapshot). Factory names were checked by the config.
pub fn router_table(cfg: &Config) -> anyhow::Result<RouterTable> {
    let dex = &cfg.dex;
    let mut entries = Vec::with_capacity(dex.routers.len());
    for r in &dex.routers {
        let decoder = match r.kind {
            RouterKind::V2Router02 => Decoder::V2Router02,
            RouterKind::SwapRouter => Decoder::SwapRouter { v02: false },
            RouterKind::SwapRouter02 => Decoder::SwapRouter { v02: true },
            RouterKind::UniversalRouter(v) => Decoder::Universal(match v {
                UniversalRouterVersion::V1 => UrVersion::V1,
                UniversalRouterVersion::V2 => UrVersion::V2,
                UniversalRouterVersion::V2_1 => UrVersion::V2_1,
            }),
        };
        let v2_factory = r.v2_factory.as_ref().and_then(|n| {
            let i = dex.v2_factories.iter().position(|f| &f.name == n)?;
            u8::try_from(i).ok().map(FactoryId)
        });
        let v3_factory = r.v3_factory.as_ref().and_then(|n| {
            let i = dex.v3_factories.iter().position(|f| &f.name == n)?;
            u8::try_from(i).ok().map(V3FactoryId)
        });
        entries.push(RouterEntry {
            address: r.address,
            decoder,
            v2_factory,
            v3_factory,
        });
    }
    Ok(RouterTable::new(entries)?)
}

/// The tokens whose V3 pools are watched: WETH and every token a V2 pool pairs with WETH (at
/// most [`kestrel_chain::v3::MAX_FIND_TOKENS`]), since a backrun cycle starts and ends in WETH
/// and runs between pools of one pair (or through one bridge token).
fn v3_tokens(snap: &PoolSnapshot, weth: Address) -> Vec<Address> {
    let mut tokens = vec![weth];
    for p in snap.pools() {
        let other = if p.token0 == weth {
            p.token1
        } else if p.token1 == weth {
            p.token0
        } else {
            continue;
        };
        if !tokens.contains(&other) {
            tokens.push(other);
        }
        if tokens.len() == kestrel_chain::v3::MAX_FIND_TOKENS {
            break;
        }
    }
    tokens
}

/// Every V2 and V3 pool at one block, each V3 pool under the configured factory that deployed
/// it (its CREATE2 address says which).
fn registry(
    weth: Address,
    v2: &PoolSnapshot,
    v3: &V3Snapshot,
    factories: &[V3FactoryInfo],
) -> anyhow::Result<PoolRegistry> {
    let factory_of = |p: &V3Pool| {
        factories.iter().position(|f| {
            pool_address(
                f.address,
                (p.token0(), p.token1()),
                p.fee_pips(),
                f.pool_init_code_hash,
            ) == p.address()
        })
    };
    let mut pools = Vec::with_capacity(v3.pools().len());
    for p in v3.pools() {
        let id = factory_of(p)
            .and_then(|i| u8::try_from(i).ok())
            .with_context(|| {
                format!(
                    "V3 pool {} is not at any configured factory's address",
                    p.address()
                )
            })?;
        pools.push((V3FactoryId(id), p.clone()));
    }
    Ok(PoolRegistry::new(weth, v2.clone(), pools)?)
}

/// Every ordered pair of pools of the same WETH pair on different factories: the cycles a
/// backrun can take. Cycles through non-WETH pairs need capital we do not hold.
pub fn weth_cycles(snap: &PoolSnapshot, weth: Address) -> Vec<Cycle> {
    let mut cycles = Vec::new();
    for p in snap.pools() {
        let other = if p.token0 == weth {
            p.token1
        } else if p.token1 == weth {
            p.token0
        } else {
            continue;
        };
        for q in snap.pools_for_pair(weth, other) {
            let q = snap.pool(q);
            if q.address == p.address {
                continue;
            }
            let fee = |f: kestrel_types::FactoryId| snap.factories()[usize::from(f.0)].fee_num;
            cycles.push(Cycle {
                pool_buy: p.address,
                pool_sell: q.address,
                fee_buy: fee(p.factory),
                fee_sell: fee(q.factory),
            });
        }
    }
    cycles
}

/// What the slow lane needs to rebuild the hot state each block.
struct SyncCtx {
    chain: Chain,
    cfg: Arc<Config>,
    signer: Arc<LocalSigner>,
    executor: Address,
    v3_factories: Vec<V3FactoryInfo>,
    routers: Arc<RouterTable>,
    /// revm confirmation's prefetch (`None`: `confirm_routes` and `confirm_v2` are off, or no V3 factory).
    sim: Option<SimPrep>,
}

/// The pool state the slow lane keeps between blocks.
#[derive(Clone)]
struct Pools {
    v2: Arc<PoolSnapshot>,
    /// `None` when no V3 factory is configured.
    v3: Option<V3Snapshot>,
}

impl SyncCtx {
    /// The hot state at `head`. `previous` is the last published revm snapshot: its accounts and
    /// slots are read again at `head`.
    async fn build_state(
        &self,
        head: HeadInfo,
        pools: &Pools,
        previous: Option<&StateSnapshot>,
    ) -> anyhow::Result<HotState> {
        let snapshot = Arc::clone(&pools.v2);
        let b = &self.cfg.backrun;
        let nonce = self.chain.nonce(self.signer.address(), head.number).await?;
        let capital = self
            .chain
            .erc20_balance(b.weth, self.executor, head.number)
            .await?;
        let tip =
            u128::try_from(b.priority_fee_wei).context("priority_fee_wei does not fit u128")?;
        let gas_price = head.next_base_fee.saturating_add(tip);
        let gas_cost_wei = U256::from(b.gas_estimate) * U256::from(gas_price);
        let route_gas_cost_wei = U256::from(b.route_gas_estimate) * U256::from(gas_price);
        let params = BackrunParams {
            capital_token: b.weth,
            capital,
            min_profit_wei: b.min_profit_wei,
            gas_cost_wei,
            payment_bps: u32::from(b.builder_payment_bps),
        };
        // Two base-fee doublings of headroom, as wallets do.
        let max_fee_per_gas = head.next_base_fee.saturating_mul(2).saturating_add(tip);
        let ladder_params = LadderParams {
            chain_id: self.cfg.chain.chain_id.0,
            nonce,
            block: head.number,
            max_fee_per_gas,
            max_priority_fee_per_gas: tip,
            gas_limit: b.gas_estimate.saturating_mul(3) / 2 + 50_000,
            executor: self.executor,
            payment_bps: u32::from(b.builder_payment_bps),
            min_profit: b.min_profit_wei,
            levels: u32::from(b.ladder_levels),
            step_bps: u32::from(b.ladder_step_bps),
        };
        let cycles = weth_cycles(&snapshot, b.weth);
        let signer = Arc::clone(&self.signer);
        let ladder =
            tokio::task::spawn_blocking(move || Ladder::build(&signer, &ladder_params, &cycles));
        let registry = match &pools.v3 {
            Some(v3) => Some(Arc::new(registry(
                b.weth,
                &snapshot,
                v3,
                &self.v3_factories,
            )?)),
            None => None,
        };
        let sim = match (&self.sim, &registry) {
            (Some(prep), Some(reg)) => {
                match prep
                    .snapshot(&self.chain, &head, reg, previous, (nonce, capital))
                    .await
                {
                    Ok((snap, report)) => {
                        tracing::debug!(
                            block = head.number,
                            accounts = report.accounts,
                            slots = report.slots,
                            warm_rounds = report.warm_rounds,
                            reported = report.reported,
                            "revm snapshot ready"
                        );
                        Some(SimState {
                            snapshot: Arc::new(snap),
                            next: next_block(&head),
                            rules: prep.rules,
                        })
                    }
                    Err(e) => {
                        tracing::warn!(
                            block = head.number,
                            error = %e,
                            "no revm snapshot for this block: route backruns are not confirmed, \
                             so not fired"
                        );
                        None
                    }
                }
            }
            _ => None,
        };
        let ladder = ladder.await.context("ladder signing task")??;
        let route_tx = RouteTxParams {
            chain_id: self.cfg.chain.chain_id.0,
            nonce,
            max_fee_per_gas,
            max_priority_fee_per_gas: tip,
            // Only the gas used is paid; the limit must cover a 3-hop V3 route crossing ticks
            // (468k-491k measured in the sandbox, where a 500k limit ran out of gas).
            gas_limit: b.route_gas_estimate.saturating_mul(2).max(ROUTE_GAS_LIMIT),
            executor: self.executor,
        };
        Ok(HotState {
            block: head.number,
            timestamp: head.timestamp,
            parent_hash: head.hash,
            snapshot,
            registry,
            routers: Arc::clone(&self.routers),
            cycle_limits: CycleLimits::default(),
            route_tx: Some(route_tx),
            route_gas_cost_wei,
            ladder: Some(Arc::new(ladder)),
            params,
            weth: b.weth,
            fee_on_transfer: b.fee_on_transfer_tokens.clone(),
            sim,
        })
    }

    /// Fetches what the hot lane reported missing into the current state's revm snapshot and
    /// publishes the state again with it.
    async fn grow_snapshot(&self, state: &SnapshotCell<HotState>) {
        let Some(prep) = &self.sim else { return };
        let current = state.load();
        let Some(sim) = &current.sim else {
            // Nothing to grow: the misses wait for the next head's snapshot.
            return;
        };
        match prep.grow(&self.chain, &sim.snapshot).await {
            Ok(Some(grown)) => {
                // This task is the only publisher, so `current` is still the published state.
                let mut next = HotState::clone(&current);
                next.sim = Some(SimState {
                    snapshot: Arc::new(grown),
                    ..sim.clone()
                });
                state.publish(Arc::new(next));
            }
            Ok(None) => {}
            Err(e) => tracing::warn!(error = %e, "fetching revm misses failed"),
        }
    }

    /// Follows the head: on each new block, exact reserves from `Sync` logs, then a new state
    /// published to the hot lane through `state`.
    async fn follow(
        self,
        state: Arc<SnapshotCell<HotState>>,
        mut head: HeadInfo,
        mut pools: Pools,
        notify: Arc<Notify>,
        shutdown: ShutdownFlag,
    ) {
        while !shutdown.is_set() {
            tokio::select! {
                _ = notify.notified() => {}
                _ = tokio::time::sleep(HEAD_POLL) => {}
            }
            let previous = state.load().sim.as_ref().map(|s| Arc::clone(&s.snapshot));
            match self.step(head, &pools, previous.as_deref()).await {
                Ok(Some((h, p, next))) => {
                    state.publish(Arc::new(next));
                    head = h;
                    pools = p;
                }
                Ok(None) => self.grow_snapshot(&state).await,
                Err(e) => {
                    tracing::warn!(error = %e, "state sync failed; retrying on the next head")
                }
            }
        }
    }

    async fn step(
        &self,
        head: HeadInfo,
        pools: &Pools,
        previous: Option<&StateSnapshot>,
    ) -> anyhow::Result<Option<(HeadInfo, Pools, HotState)>> {
        let snap = &pools.v2;
        let new_head = self.chain.head().await?;
        if new_head.hash == head.hash {
            return Ok(None);
        }
        // One block on top of ours: its Sync logs are the exact change. Anything else (a
        // replaced block at our height, a parent we did not see, several blocks at once) may
        // be a reorg: read every pool again at the new head.
        let extends = new_head.number == head.number + 1 && new_head.parent_hash == head.hash;
        let updates = if extends {
            self.chain
                .sync_reserves(snap, new_head.number, new_head.number)
                .await?
        } else {
            tracing::info!(
                from = head.number,
                to = new_head.number,
                "head is not a child of ours: reloading reserves"
            );
            self.chain.reload_reserves(snap, new_head.number).await?
        };
        let v3 = match &pools.v3 {
            Some(v3) => Some(self.chain.advance_v3(v3, &head, &new_head).await?.snapshot),
            None => None,
        };
        let next = Pools {
            v2: Arc::new(snap.with_reserves(new_head.number, &updates)),
            v3,
        };
        let state = self.build_state(new_head, &next, previous).await?;
        Ok(Some((new_head, next, state)))
    }
}

fn wait_strategy(w: WaitSetting) -> WaitStrategy {
    match w {
        WaitSetting::Spin => WaitStrategy::Spin,
        WaitSetting::Yield => WaitStrategy::Yield,
        WaitSetting::Park => WaitStrategy::Park(Duration::from_micros(200)),
    }
}

/// Warm connections the hot thread writes to, and what each gets.
type HotRelays = Vec<(RelayConn, RelayTarget)>;

/// The hot thread's connections, the same relays for the slow lane (in the same order: it posts
/// to those a bundle missed), and the relays only the slow lane posts to.
type SplitRelays = (HotRelays, Vec<SlowRelay>, Vec<SlowRelay>);

/// A relay the slow lane posts to (simulation endpoints, and execution endpoints the hot thread
/// could not connect to at start).
#[derive(Clone, Debug)]
pub struct SlowRelay {
    /// Config name, for logs.
    pub name: String,
    /// Full URL.
    pub url: String,
    /// Which body it gets.
    pub kind: ParcelKind,
}

/// The relays this mode may reach, split by lane. Execution endpoints (only in live mode) and
/// local builders get warm connections on the hot thread, over plain http or TLS 1.3 for
/// `https://` (`kestrel_fire::tls`: sealed on the hot thread, opened by the reader). One the
/// hot thread cannot connect to at start (down, or no TLS 1.3) is posted to by the slow lane
/// instead, so that it still gets every bundle. Simulation endpoints need no microseconds and
/// are always the slow lane's.
fn connect_relays(
    cfg: &Config,
    mode: Mode,
    replies: &std::sync::mpsc::SyncSender<kestrel_fire::relay::RelayReply>,
) -> anyhow::Result<SplitRelays> {
    let (mut hot, mut hot_slow, mut slow) = (Vec::new(), Vec::new(), Vec::new());
    for (i, relay) in reachable_relays(cfg, mode) {
        match relay.kind {
            ParcelKind::SendBundle => match RelayConn::connect(i, &relay.url, replies.clone()) {
                Ok(c) => {
                    tracing::info!(relay = %relay.name, tls = c.is_tls(), "relay on the hot path");
                    hot.push((c, RelayTarget::SendBundle));
                    hot_slow.push(relay);
                }
                Err(e) => {
                    tracing::warn!(
                        relay = %relay.name,
                        error = %e,
                        "relay not connected on the hot path: the slow lane posts to it instead"
                    );
                    slow.push(relay);
                }
            },
            ParcelKind::CallBundle | ParcelKind::PendingTx => slow.push(relay),
        }
    }
    Ok((hot, hot_slow, slow))
}

/// Every relay this mode may reach (with its index in the config) and the request it gets:
/// `eth_callBundle` for simulation relays, `eth_sendBundle` for local builders and, in live
/// mode only, execution relays. Local builders are on loopback (checked by the config).
fn reachable_relays(cfg: &Config, mode: Mode) -> impl Iterator<Item = (usize, SlowRelay)> + '_ {
    cfg.relays.iter().enumerate().filter_map(move |(i, r)| {
        let kind = match (r.kind, mode) {
            (RelayKind::Execution, Mode::DryRun) => return None,
            (RelayKind::Simulation, _) => ParcelKind::CallBundle,
            (RelayKind::Local | RelayKind::Execution, _) => ParcelKind::SendBundle,
        };
        let relay = SlowRelay {
            name: r.name.clone(),
            url: r.url.clone(),
            kind,
        };
        Some((i, relay))
    })
}

/// Posts parcels to the slow relays from the tokio runtime. Every answer (or the lack of one) is
/// read ([`crate::relay_answer`]) and journaled against its victim; one that is not a clean
/// acceptance is logged as well.
#[derive(Clone, Debug)]
pub(crate) struct SlowPoster {
    relays: Vec<SlowRelay>,
    /// The hot thread's relays, in its order: a parcel goes to those it names as missed.
    hot: Vec<SlowRelay>,
    client: alloy::transports::http::reqwest::Client,
    runtime: tokio::runtime::Handle,
    journal: JournalHandle,
    run_id: String,
    /// Posts whose answers are not journaled yet (the engine waits for them at stop).
    in_flight: Arc<std::sync::atomic::AtomicUsize>,
}

/// The slow lane's HTTP client for relays: over https it trusts exactly what the hot thread's
/// connections trust (the Mozilla roots and any added with `trust_extra_roots_pem`), TLS 1.2 or
/// 1.3, so that a relay it posts to in their place is checked the same way.
fn relay_client() -> anyhow::Result<alloy::transports::http::reqwest::Client> {
    let tls = kestrel_fire::tls::general_config().context("loading the TLS roots")?;
    alloy::transports::http::reqwest::Client::builder()
        .timeout(POST_TIMEOUT)
        .tls_backend_preconfigured((*tls).clone())
        .build()
        .context("building the relay client")
}

/// How long a relay post may take, answer included.
const POST_TIMEOUT: Duration = Duration::from_secs(10);

/// Most of a relay's answer read; the rest is left unread (answers are a few hundred bytes).
const MAX_ANSWER_BYTES: usize = 64 * 1024;

impl SlowPoster {
    /// Whether any relay takes requests of `kind`.
    pub(crate) fn reaches(&self, kind: ParcelKind) -> bool {
        self.relays.iter().any(|r| r.kind == kind)
    }

    /// Posts `parcel` to every relay of its kind, and to the hot thread's relays it missed;
    /// how many those are.
    pub(crate) fn post(&self, parcel: &kestrel_fire::Parcel) -> usize {
        let mut posted = 0;
        let missed = self
            .hot
            .iter()
            .enumerate()
            .filter(|(i, _)| parcel.missed & kestrel_fire::handoff::relay_bit(*i) != 0)
            .map(|(_, r)| r);
        for r in self
            .relays
            .iter()
            .filter(|r| r.kind == parcel.kind)
            .chain(missed)
        {
            posted += 1;
            let request = self
                .client
                .post(&r.url)
                .header("Content-Type", "application/json")
                .header("X-Flashbots-Signature", parcel.auth.clone())
                .body(parcel.body.clone());
            let name = r.name.clone();
            let (journal, run_id) = (self.journal.clone(), self.run_id.clone());
            let (victim, kind) = (parcel.victim, parcel.kind);
            let in_flight = Arc::clone(&self.in_flight);
            in_flight.fetch_add(1, std::sync::atomic::Ordering::AcqRel);
            self.runtime.spawn(async move {
                let (status, body) = match request.send().await {
                    Ok(resp) => (resp.status().as_u16(), read_limited(resp).await),
                    Err(e) => (0, e.to_string().into_bytes()),
                };
                let answer = RelayAnswerOf {
                    victim,
                    relay: &name,
                    kind,
                };
                answer.journal(&journal, &run_id, status, &body);
                in_flight.fetch_sub(1, std::sync::atomic::Ordering::AcqRel);
            });
        }
        posted
    }
}

/// The answer's body, up to [`MAX_ANSWER_BYTES`]; a body cut short by the connection is what
/// arrived.
async fn read_limited(mut resp: alloy::transports::http::reqwest::Response) -> Vec<u8> {
    let mut body = Vec::new();
    while let Ok(Some(chunk)) = resp.chunk().await {
        let room = MAX_ANSWER_BYTES.saturating_sub(body.len());
        body.extend_from_slice(chunk.get(..room.min(chunk.len())).unwrap_or_default());
        if body.len() >= MAX_ANSWER_BYTES {
            break;
        }
    }
    body
}

/// Why the engine cannot start without `backrun.executor`, and what to do about it.
pub fn no_executor() -> String {
    "backrun.executor is not set: the backrun lane fires through your own executor contract. \
     Deploy one with `kestrel deploy-executor --config FILE --broadcast` (without --broadcast it \
     only shows the plan), then set the address it prints as backrun.executor"
        .to_owned()
}

impl Engine {
    /// [`Engine::start_with`] the default options.
    pub async fn start(
        cfg: Config,
        mode: Mode,
        keys: EngineKeys,
        run_id: String,
    ) -> anyhow::Result<Engine> {
        Self::start_with(cfg, mode, keys, run_id, EngineOptions::default()).await
    }

    /// Discovers pools, signs the first ladder, opens the journal and relays, and starts the
    /// hot thread and the slow-lane tasks. Must be called inside a tokio runtime.
    pub async fn start_with(
        cfg: Config,
        mode: Mode,
        keys: EngineKeys,
        run_id: String,
        options: EngineOptions,
    ) -> anyhow::Result<Engine> {
        let cfg = Arc::new(cfg);
        let executor = cfg.backrun.executor.with_context(no_executor)?;
        let chain = Chain::connect_http(&cfg.chain.http_url)?;
        chain
            .expect_chain_id(cfg.chain.chain_id.0)
            .await
            .with_context(|| format!("checking the node at {}", cfg.chain.http_url))?;
        let head = chain.head().await.context("reading the head block")?;
        let facts = factories(&cfg);
        let pools = chain
            .discover_v2_pools(&facts, cfg.dex.max_pairs_per_factory as usize, head.number)
            .await?;
        if pools.is_empty() {
            bail!(
                "no V2 pools found on the configured factories at block {}",
                head.number
            );
        }
        let snap = Arc::new(PoolSnapshot::new(head.number, facts, pools));
        let v3_facts = v3_factories(&cfg);
        let v3 = if v3_facts.is_empty() {
            None
        } else {
            let tokens = v3_tokens(&snap, cfg.backrun.weth);
            let keys = chain
                .find_v3_pools(
                    &v3_facts,
                    &tokens,
                    head.number,
                    cfg.dex.max_v3_pools_per_factory as usize,
                )
                .await
                .context("finding the V3 pools of the watched tokens")?;
            let loaded = chain
                .load_v3_pools(&keys, head.number)
                .await
                .context("loading V3 pools")?;
            tracing::info!(
                pools = loaded.pools().len(),
                tokens = tokens.len(),
                "V3 pools loaded"
            );
            Some(loaded)
        };
        let pools = Pools { v2: snap, v3 };
        let signer = Arc::new(LocalSigner::from_hex(&keys.searcher_hex).context("signer.key")?);
        let auth = FlashbotsAuth::from_hex(&keys.relay_auth_hex).context("relay_auth.key")?;
        let inbox = Arc::new(MissInbox::default());
        let ctx = SyncCtx {
            chain,
            cfg: Arc::clone(&cfg),
            signer: Arc::clone(&signer),
            executor,
            routers: Arc::new(router_table(&cfg)?),
            sim: ((cfg.backrun.confirm_routes || cfg.backrun.confirm_v2) && !v3_facts.is_empty())
                .then(|| SimPrep {
                    rules: ChainRules {
                        chain_id: cfg.chain.chain_id.0,
                        spec: kestrel_sim::revm::primitives::hardfork::SpecId::PRAGUE,
                    },
                    executor,
                    searcher: signer.address(),
                    weth: cfg.backrun.weth,
                    routers: router_addresses(&cfg),
                    inbox: Arc::clone(&inbox),
                }),
            v3_factories: v3_facts,
        };
        // The hot lane starts only once the first real state (snapshot, ladder, thresholds) is
        // built: there is no placeholder state to decide on.
        let first = ctx.build_state(head, &pools, None).await?;
        let state = Arc::new(SnapshotCell::new(first));

        let journal_path = std::path::PathBuf::from(&cfg.journal.path);
        let journal = Journal::open(&journal_path, 65_536)?;
        let handle = journal.handle();
        handle.append(Record::RunStarted {
            run_id: run_id.clone(),
            mode,
            config_toml: kestrel_config::to_toml_string(&cfg),
            started_unix_ms: kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new()),
        })?;
        let counters = Arc::new(Counters::default());
        let (producer, consumer) =
            spsc::channel::<HotEvent>(cfg.hot.ring_capacity, DropPolicy::DropNewest);
        let (replies, reply_logger) = spawn_reply_logger(&cfg, handle.clone(), run_id.clone())?;
        let (relays, hot_slow, slow_relays) = connect_relays(&cfg, mode, &replies)?;
        let hot_relays = hot_slow.iter().map(|r| r.name.clone()).collect();
        drop(replies);
        // Bundles are followed to their outcome only where some relay could include them.
        let includable = relays.iter().any(|(_, t)| *t == RelayTarget::SendBundle)
            || slow_relays.iter().any(|r| r.kind == ParcelKind::SendBundle);
        let outcomes = (options.follow_outcomes && includable).then(|| {
            Arc::new(crate::outcomes::OutcomeFollower {
                watch: Arc::default(),
                chain: ctx.chain.clone(),
                executor,
                journal: handle.clone(),
                run_id: run_id.clone(),
                counters: Arc::clone(&counters),
            })
        });
        let body_capacity = 4 * cfg.backrun.max_calldata_bytes as usize + 8192;
        let handoff = Arc::new(Handoff::new(HANDOFF_PARCELS, body_capacity));
        let poster = SlowPoster {
            relays: slow_relays,
            hot: hot_slow,
            client: relay_client()?,
            runtime: tokio::runtime::Handle::current(),
            journal: handle.clone(),
            run_id: run_id.clone(),
            in_flight: Arc::default(),
        };
        let posts_in_flight = Arc::clone(&poster.in_flight);
        let handoff_calls = poster.reaches(ParcelKind::CallBundle);
        // Calls no decoder reads go to the slow lane for revm, when there is revm state.
        let undecoded = (cfg.backrun.simulate_undecoded && ctx.sim.is_some())
            .then(|| Arc::new(Handoff::new(UNDECODED_PARCELS, body_capacity)));
        let presigs = Arc::new(PresigPool::with_capacity(PRESIGS));
        presigs
            .refill()
            .context("precomputing auth-signature nonces")?;
        let pipeline = Pipeline::new(
            PipelineConfig {
                max_calldata_bytes: cfg.backrun.max_calldata_bytes as usize,
                relays,
                auth,
                presigs: Arc::clone(&presigs),
                handoff: Some(Arc::clone(&handoff)),
                handoff_calls,
                searcher: Some(Arc::clone(&signer)),
                confirm_routes: cfg.backrun.confirm_routes,
                confirm_v2: cfg.backrun.confirm_v2,
                undecoded: undecoded.clone(),
            },
            Arc::clone(&state),
            producer,
            Arc::clone(&counters),
        );
        let shutdown = ShutdownFlag::default();
        let stop = shutdown.clone();
        kestrel_fire::spawn_refill_thread(presigs, move || stop.is_set())?;
        // IPC when configured (no TCP or WebSocket framing on the same host), else WebSocket.
        let endpoint = match (&cfg.chain.ipc_path, &cfg.chain.ws_url) {
            (Some(path), _) => NodeEndpoint::Ipc(path.clone()),
            (None, Some(url)) => NodeEndpoint::Ws(url.clone()),
            (None, None) => {
                bail!("chain.ws_url or chain.ipc_path is required for the pending stream")
            }
        };
        let hot_cfg = HotThreadConfig {
            node: NodeStreamConfig {
                endpoint,
                wait: wait_strategy(cfg.hot.wait),
            },
            core: cfg.hot.core,
        };
        let hot = kestrel_hot::run_hot_thread(hot_cfg, pipeline, shutdown.clone())?;
        let notify = Arc::new(Notify::new());
        let latency = Arc::new(Mutex::new(StageRecorder::new()));
        let undecoded_stop = ShutdownFlag::default();
        let undecoded = match undecoded {
            Some(handoff) => Some(crate::undecoded::spawn(crate::undecoded::UndecodedLane {
                handoff,
                state: Arc::clone(&state),
                counters: Arc::clone(&counters),
                journal: handle.clone(),
                run_id: run_id.clone(),
                inbox: Arc::clone(&inbox),
                notify: Arc::clone(&notify),
                signer,
                auth: FlashbotsAuth::from_hex(&keys.relay_auth_hex).context("relay_auth.key")?,
                // Every reachable relay, over http(s) from the slow lane.
                poster: SlowPoster {
                    relays: reachable_relays(&cfg, mode).map(|(_, r)| r).collect(),
                    hot: Vec::new(),
                    ..poster.clone()
                },
                outcomes: outcomes.as_ref().map(|o| Arc::clone(&o.watch)),
                shutdown: undecoded_stop.clone(),
            })?),
            None => None,
        }
        .map(|lane| (lane, undecoded_stop));
        let drain = spawn_drain(Drain {
            consumer,
            journal: handle,
            run_id: run_id.clone(),
            notify: Arc::clone(&notify),
            shutdown: shutdown.clone(),
            latency: Arc::clone(&latency),
            handoff,
            poster,
            inbox,
            outcomes: outcomes.as_ref().map(|o| Arc::clone(&o.watch)),
        })?;
        let metrics_sources = Arc::new(MetricsSources::default());
        let metrics = serve_metrics(&cfg, &counters, &latency, &metrics_sources)?;
        let outcomes = outcomes.map(|o| {
            let task = tokio::spawn(Arc::clone(&o).follow(Arc::clone(&state), shutdown.clone()));
            (o, task)
        });
        let sync =
            tokio::spawn(ctx.follow(Arc::clone(&state), head, pools, notify, shutdown.clone()));
        Ok(Engine {
            run_id,
            state,
            counters,
            shutdown,
            hot,
            drain,
            sync,
            undecoded,
            journal,
            journal_path,
            metrics,
            metrics_sources,
            outcomes,
            posts_in_flight,
            reply_logger,
            hot_relays,
        })
    }

    /// Where the other lanes add their text to the engine's `/metrics` (served only when
    /// `telemetry.metrics_addr` is set).
    pub fn metrics_sources(&self) -> &Arc<MetricsSources> {
        &self.metrics_sources
    }

    /// The head block the hot lane currently decides on.
    pub fn state_block(&self) -> u64 {
        self.state.load().block
    }

    /// Live counters.
    pub fn counters(&self) -> &Arc<Counters> {
        &self.counters
    }

    /// A handle to append to the run's journal (other lanes journal through it).
    pub fn journal_handle(&self) -> JournalHandle {
        self.journal.handle()
    }

    /// The run id used in the journal.
    pub fn run_id(&self) -> &str {
        &self.run_id
    }

    /// Stops every lane, drains the event ring into the journal, and ends the run there: a
    /// `RunEnded` row whose summary is [`run_summary`] of the counters at stop and `lanes` (the
    /// exchange lanes' totals, already stopped by the caller). Without that row a run reads as
    /// one that crashed. Callers that journal more of the run after the engine stopped (the
    /// sandbox's outcomes) use [`Engine::stop`] and write the end themselves.
    pub async fn stop_journaled(
        self,
        lanes: serde_json::Map<String, serde_json::Value>,
    ) -> anyhow::Result<EngineReport> {
        let report = self.stop().await?;
        let journal = Journal::open(&report.journal_path, 16)?;
        let summary = run_summary(&report.counters, lanes);
        journal.handle().append(Record::RunEnded {
            run_id: report.run_id.clone(),
            ended_unix_ms: kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new()),
            summary_json: summary.to_string(),
        })?;
        journal.close()?;
        Ok(report)
    }

    /// Stops every lane, drains the event ring into the journal and closes it.
    pub async fn stop(self) -> anyhow::Result<EngineReport> {
        self.shutdown.trigger();
        self.sync.abort();
        if let Some(m) = self.metrics {
            m.shutdown();
        }
        let hot = tokio::task::spawn_blocking(move || self.hot.join())
            .await?
            .map_err(|_| anyhow::anyhow!("hot thread panicked"))?;
        // What revm confirmation took from the hot thread's pool; anything that went to the
        // system allocator instead is worth a warning.
        match &hot.pool {
            Ok(p) if p.overflow_allocations > 0 => tracing::warn!(
                overflow = p.overflow_allocations,
                served = p.served_allocations,
                high_water_bytes = p.high_water_bytes,
                "the hot thread's pool could not serve every allocation; the rest went to the system allocator"
            ),
            Ok(p) => tracing::debug!(
                served = p.served_allocations,
                high_water_bytes = p.high_water_bytes,
                "hot thread's pool"
            ),
            Err(e) => tracing::warn!(error = %e, "the hot thread ran without an allocation pool"),
        }
        // The hot thread's connections are gone with it: their readers hand over the answers
        // read and the bundles left unanswered, and the logger journals them all.
        let logger = self.reply_logger;
        tokio::task::spawn_blocking(move || logger.join())
            .await?
            .map_err(|_| anyhow::anyhow!("relay reply logger panicked"))?;
        if let Some((lane, stop)) = self.undecoded {
            stop.trigger();
            tokio::task::spawn_blocking(move || lane.join())
                .await?
                .map_err(|_| anyhow::anyhow!("undecoded-call lane panicked"))?;
        }
        let drain = self.drain;
        tokio::task::spawn_blocking(move || drain.join())
            .await?
            .map_err(|_| anyhow::anyhow!("drain thread panicked"))?;
        // Every parcel is posted now: wait for the relays' answers (each post times out) so
        // that every one is journaled before the journal closes.
        let waited = std::time::Instant::now();
        while self
            .posts_in_flight
            .load(std::sync::atomic::Ordering::Acquire)
            > 0
            && waited.elapsed() < POST_TIMEOUT + Duration::from_secs(1)
        {
            tokio::time::sleep(Duration::from_millis(5)).await;
        }
        // Every bundle is in the watch now; settle what the node's head allows.
        // The task ends at its next look (the shutdown flag is set); awaited rather than
        // aborted, so that no bundle it had taken up is lost half-settled.
        if let Some((follower, task)) = self.outcomes {
            if let Err(e) = task.await {
                tracing::warn!(error = %e, "the outcome follower ended abnormally");
            }
            follower.finish().await;
        }
        let journal_path = self.journal_path;
        self.journal.close()?;
        Ok(EngineReport {
            run_id: self.run_id,
            counters: self.counters.snapshot(),
            hot,
            journal_path,
            hot_relays: self.hot_relays,
        })
    }
}

/// A run's end summary as the journal keeps it (stable keys): the engine's counters at stop,
/// skips, decode paths, revm misses and undecoded-call outcomes by name (those counted only),
/// and `lanes`, the exchange lanes' totals.
pub fn run_summary(
    c: &kestrel_telemetry::CountersSnapshot,
    lanes: serde_json::Map<String, serde_json::Value>,
) -> serde_json::Value {
    use crate::{CountersByName, only_counted};
    let named = CountersByName::of(c);
    serde_json::json!({
        "pending_seen": c.pending_seen,
        "candidates": c.candidates,
        "bundles": c.bundles,
        "drops": c.drops,
        "reconnects": c.reconnects,
        "connect_failures": c.connect_failures,
        "subscription_refusals": c.subscription_refusals,
        "confirmed": c.confirmed,
        "disagreements": c.disagreements,
        "landed": c.landed,
        "not_landed": c.not_landed,
        "realized_mismatches": c.realized_mismatches,
        "skips": only_counted(named.skips),
        "routed": only_counted(named.routed),
        "sim_misses": only_counted(named.sim_misses),
        "simulated": only_counted(named.simulated),
        "lanes": lanes,
    })
}

/// One relay's answer to one bundle, for the journal.
struct RelayAnswerOf<'a> {
    victim: alloy::primitives::B256,
    relay: &'a str,
    kind: ParcelKind,
}

impl RelayAnswerOf<'_> {
    /// Journals the answer that came with `status` (0: none came, `body` says why); one that
    /// is not clean is also a warning.
    fn journal(&self, journal: &JournalHandle, run_id: &str, status: u16, body: &[u8]) {
        let answer = crate::relay_answer::read_answer(status, body);
        if !answer.ok {
            tracing::warn!(
                relay = self.relay,
                victim = %self.victim,
                detail = answer.detail,
                "relay did not take the bundle cleanly"
            );
        }
        // A relay takes bundles of one of the two kinds only, never pending calls.
        let method = if self.kind == ParcelKind::CallBundle {
            "eth_callBundle"
        } else {
            "eth_sendBundle"
        };
        let rec = Record::RelayAnswer {
            run_id: run_id.to_owned(),
            victim: self.victim,
            relay: self.relay.to_owned(),
            method: method.to_owned(),
            http_status: status,
            ok: answer.ok,
            bundle_hash: answer.bundle_hash,
            detail: answer.detail,
        };
        if let Err(e) = journal.append(rec) {
            tracing::error!(error = %e, "journal append failed");
        }
    }
}

/// Relay answers arrive on the hot connections' reader threads, each tagged with its bundle's
/// victim (the connections carry `eth_sendBundle` only): every one is journaled like the slow
/// lane's posts, a status-0 reply for a bundle whose connection ended before the answer.
/// The thread ends when every connection and its reader are gone.
fn spawn_reply_logger(
    cfg: &Config,
    journal: JournalHandle,
    run_id: String,
) -> std::io::Result<(
    std::sync::mpsc::SyncSender<kestrel_fire::relay::RelayReply>,
    std::thread::JoinHandle<()>,
)> {
    let names: Vec<String> = cfg.relays.iter().map(|r| r.name.clone()).collect();
    let (tx, rx) = std::sync::mpsc::sync_channel::<kestrel_fire::relay::RelayReply>(1024);
    let thread = std::thread::Builder::new()
        .name("kestrel-relay-replies".into())
        .spawn(move || {
            for reply in rx {
                let name = names.get(reply.relay).map_or("?", String::as_str);
                match reply.tag {
                    Some(victim) => RelayAnswerOf {
                        victim,
                        relay: name,
                        kind: ParcelKind::SendBundle,
                    }
                    .journal(
                        &journal,
                        &run_id,
                        reply.status,
                        reply.body.as_bytes(),
                    ),
                    None if reply.status != 200 => tracing::warn!(
                        relay = name,
                        status = reply.status,
                        "relay answered a request nobody asked with an error"
                    ),
                    None => {}
                }
            }
        })?;
    Ok((tx, thread))
}

/// Moves hot events into the journal (blocking appends: the journal loses nothing) and wakes
/// the state sync on new heads.
/// What the drain thread owns.
struct Drain {
    consumer: Consumer<HotEvent>,
    journal: JournalHandle,
    run_id: String,
    notify: Arc<Notify>,
    shutdown: ShutdownFlag,
    latency: Arc<Mutex<StageRecorder>>,
    handoff: Arc<Handoff>,
    poster: SlowPoster,
    /// Where revm misses go for the slow lane to fetch.
    inbox: Arc<MissInbox>,
    /// Where fired bundles are followed to their outcome, when any relay could include them.
    outcomes: Option<Arc<crate::outcomes::OutcomeWatch>>,
}

/// Most bundle bodies in flight between the lanes.
const HANDOFF_PARCELS: usize = 1024;
/// Most undecoded pending calls waiting for the slow lane's revm; more are dropped (counted).
const UNDECODED_PARCELS: usize = 512;

fn spawn_drain(mut d: Drain) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("kestrel-drain".into())
        .spawn(move || {
            let mut batch = Vec::with_capacity(1024);
            let mut bodies: std::collections::VecDeque<Box<kestrel_fire::Parcel>> =
                std::collections::VecDeque::new();
            loop {
                batch.clear();
                if d.consumer.pop_batch(&mut batch, 1024) == 0 {
                    if d.shutdown.is_set() {
                        break;
                    }
                    std::thread::sleep(Duration::from_millis(1));
                    continue;
                }
                record_latency(&d.latency, &batch);
                // Parcels are queued before their bundle event, so every body is here already.
                while let Some(p) = d.handoff.recv() {
                    let _ = d.poster.post(&p);
                    bodies.push_back(p);
                }
                for ev in batch.drain(..) {
                    let body = match &ev {
                        HotEvent::Bundle(b) => {
                            if let Some(watch) = &d.outcomes {
                                watch.watch(b);
                            }
                            take_body(&mut bodies, &d.handoff, b.candidate.tx_hash)
                        }
                        _ => None,
                    };
                    let Some(mut rec) = to_record(&d.run_id, ev, &d.notify, &d.inbox) else {
                        continue;
                    };
                    if let Record::Bundle { body: slot, .. } = &mut rec {
                        *slot = body;
                    }
                    if let Err(e) = d.journal.append(rec) {
                        tracing::error!(error = %e, "journal append failed");
                    }
                }
                // Bodies whose events the ring dropped: give the buffers back.
                while bodies.len() > HANDOFF_PARCELS / 2 {
                    if let Some(p) = bodies.pop_front() {
                        d.handoff.recycle(p);
                    }
                }
            }
        })
}

/// The `eth_sendBundle` body fired for `victim`, as text; every parcel of that victim goes
/// back to the pool.
fn take_body(
    bodies: &mut std::collections::VecDeque<Box<kestrel_fire::Parcel>>,
    handoff: &Handoff,
    victim: kestrel_types::B256,
) -> Option<String> {
    let mut found = None;
    let mut i = 0;
    while i < bodies.len() {
        if bodies[i].victim != victim {
            i += 1;
            continue;
        }
        if let Some(p) = bodies.remove(i) {
            if found.is_none() && p.kind == ParcelKind::SendBundle {
                found = Some(String::from_utf8_lossy(&p.body).into_owned());
            }
            handoff.recycle(p);
        }
    }
    found
}

/// Stage latencies as the slow lane sees them (from event stamps), for the metrics endpoint. The
/// hot thread keeps its own exact recorder; this one may miss events the ring dropped.
fn record_latency(latency: &Mutex<StageRecorder>, batch: &[HotEvent]) {
    let mut rec = latency
        .lock()
        .unwrap_or_else(std::sync::PoisonError::into_inner);
    for ev in batch {
        match ev {
            HotEvent::Skip(s) => rec.record(&s.stamps),
            HotEvent::Bundle(b) => rec.record(&b.stamps),
            _ => {}
        }
    }
}

/// Starts the Prometheus text endpoint if `telemetry.metrics_addr` is set.
fn serve_metrics(
    cfg: &Config,
    counters: &Arc<Counters>,
    latency: &Arc<Mutex<StageRecorder>>,
    sources: &Arc<MetricsSources>,
) -> std::io::Result<Option<MetricsServer>> {
    let Some(addr) = cfg.telemetry.metrics_addr else {
        return Ok(None);
    };
    let (counters, latency) = (Arc::clone(counters), Arc::clone(latency));
    let sources = Arc::clone(sources);
    let render = move || {
        let summary = latency
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .summary();
        let mut text = prometheus_text(&counters.snapshot(), &summary);
        sources.render(&mut text);
        text
    };
    let server = kestrel_telemetry::serve_metrics(addr, Arc::new(render))?;
    tracing::info!(addr = %server.local_addr(), "metrics at /metrics");
    Ok(Some(server))
}

fn to_record(run_id: &str, ev: HotEvent, notify: &Notify, inbox: &MissInbox) -> Option<Record> {
    let run_id = run_id.to_string();
    match ev {
        HotEvent::NewHead { .. } => {
            notify.notify_one();
            None
        }
        HotEvent::Skip(s) => Some(Record::Skip {
            run_id,
            tx_hash: s.tx_hash,
            reason: s.reason,
            recv_ns: s.stamps.recv_ns,
            decode_ns: s.stamps.stage_ns(kestrel_types::Stage::Decode),
            filter_ns: s.stamps.stage_ns(kestrel_types::Stage::Filter),
            decide_ns: s.stamps.stage_ns(kestrel_types::Stage::Decide),
        }),
        HotEvent::Candidate(ev) => Some(Record::Candidate { run_id, ev }),
        HotEvent::Bundle(ev) => Some(Record::Bundle {
            run_id,
            ev,
            body: None,
        }),
        HotEvent::Disagreement(ev) => {
            tracing::warn!(
                victim = %ev.tx_hash,
                predicted = %ev.predicted_gross,
                simulated = %ev.simulated_gross,
                outcome = ev.outcome.as_str(),
                "revm disagrees with the predicted backrun; not fired"
            );
            Some(Record::Disagreement { run_id, ev })
        }
        HotEvent::SimMiss(m) => {
            let miss = Miss::from_event(&m);
            tracing::debug!(victim = %m.tx_hash, %miss, "revm confirmation missed state");
            inbox.push(miss);
            notify.notify_one();
            None
        }
        HotEvent::Confirmed { .. } => None,
        HotEvent::Reconnected { gap } => {
            tracing::warn!(
                reconnects = gap,
                "node stream reconnected; pending transactions may have been missed"
            );
            None
        }
        HotEvent::SubscriptionRefused { request_id } => {
            tracing::warn!(
                request_id,
                subscription = kestrel_hot::subscription_name(request_id),
                "the node refused a subscription: none of what it was for will arrive on this connection"
            );
            None
        }
    }
}
