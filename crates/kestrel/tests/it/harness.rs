//! One anvil + real Uniswap V2 world + local builder + engine per test.

use std::time::Duration;

use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::{DynProvider, Provider};
use alloy::signers::local::PrivateKeySigner;
use alloy::sol;
use kestrel::engine::{Engine, EngineKeys, EngineReport};
use kestrel_sandbox::anvil::Anvil;
use kestrel_sandbox::builder::{BuilderConfig, BundleOutcome, LocalBuilder, flashbots_verifier};
use kestrel_sandbox::deploy::{World, WorldSpec, deploy_world};
use kestrel_telemetry::CountersSnapshot;
use kestrel_types::Mode;

use crate::proxy::Proxy;

sol! {
    #[sol(rpc)]
    interface IRouter {
        function getAmountsOut(uint256 amountIn, address[] calldata path) external view returns (uint256[] memory amounts);
        function swapExactETHForTokens(uint256 amountOutMin, address[] calldata path, address to, uint256 deadline) external payable returns (uint256[] memory amounts);
        function swapETHForExactTokens(uint256 amountOut, address[] calldata path, address to, uint256 deadline) external payable returns (uint256[] memory amounts);
        function getAmountsIn(uint256 amountOut, address[] calldata path) external view returns (uint256[] memory amounts);
    }
    #[sol(rpc)]
    interface IErc20 {
        function balanceOf(address owner) external view returns (uint256);
    }
}

#[derive(Clone)]
enum Transport {
    Direct,
    Proxied,
    Ipc,
    WithSimulationRelays(Vec<String>),
    /// One more local builder (named `extra-builder`) at this URL.
    WithLocalRelay(String),
}

pub const ETH: u128 = 1_000_000_000_000_000_000;
pub const SEARCHER_KEY: &str = "0x5151515151515151515151515151515151515151515151515151515151515151";
pub const RELAY_KEY: &str = "0x7272727272727272727272727272727272727272727272727272727272727272";

pub struct Harness {
    pub anvil: Anvil,
    pub world: World,
    pub builder: LocalBuilder,
    pub engine: Engine,
    pub provider: DynProvider,
    pub proxy: Option<Proxy>,
    pub metrics_port: u16,
    user: PrivateKeySigner,
    nonce: u64,
    _dir: tempfile::TempDir,
}

impl Harness {
    pub async fn start() -> Harness {
        Self::start_inner(Transport::Direct).await
    }

    /// The engine's node stream goes through a proxy the test can cut.
    pub async fn start_behind_proxy() -> Harness {
        Self::start_inner(Transport::Proxied).await
    }

    /// The engine's pending stream comes over anvil's IPC socket instead of WebSocket.
    pub async fn start_over_ipc() -> Harness {
        Self::start_inner(Transport::Ipc).await
    }

    /// Also configures simulation relays at `urls` (served by the slow lane), named `sim`,
    /// `sim1`, `sim2`, ...
    pub async fn start_with_simulation_relays(urls: &[String]) -> Harness {
        Self::start_inner(Transport::WithSimulationRelays(urls.to_vec())).await
    }

    /// Also configures a second local builder at `url` (e.g. an https fake relay), named
    /// `extra-builder`; dry-run sends it `eth_sendBundle` as it does the sandbox builder.
    pub async fn start_with_local_relay(url: &str) -> Harness {
        Self::start_inner(Transport::WithLocalRelay(url.to_owned())).await
    }

    async fn start_inner(transport: Transport) -> Harness {
        let extra_relay = match &transport {
            Transport::WithSimulationRelays(urls) => urls
                .iter()
                .enumerate()
                .map(|(i, url)| {
                    let name = if i == 0 {
                        "sim".to_owned()
                    } else {
                        format!("sim{i}")
                    };
                    format!(
                        "[[relays]]\nname = \"{name}\"\nurl = \"{url}\"\nkind = \"simulation\"\n"
                    )
                })
                .collect(),
            Transport::WithLocalRelay(url) => {
                format!("[[relays]]\nname = \"extra-builder\"\nurl = \"{url}\"\nkind = \"local\"\n")
            }
            _ => String::new(),
        };
        kestrel_sandbox::tools::ensure_installed().expect("tools");
        let dir = tempfile::tempdir().unwrap();
        let ipc_path = dir.path().join("anvil.ipc");
        let anvil = match transport {
            Transport::Ipc => Anvil::start_with_ipc(&ipc_path).expect("anvil"),
            _ => Anvil::start().expect("anvil"),
        };
        let proxied = matches!(transport, Transport::Proxied);
        let searcher: PrivateKeySigner = SEARCHER_KEY.parse().unwrap();
        let spec = WorldSpec {
            tokens: 1,
            factories: 2,
            liquidity_weth: U256::from(100 * ETH),
            price_skew_bps: 30,
            executor_capital_weth: U256::from(50 * ETH),
            searcher: searcher.address(),
            searcher_key: SEARCHER_KEY.to_string(),
        };
        let world = deploy_world(&anvil.http_url(), &Anvil::dev_key(0), &spec)
            .await
            .expect("deploy");
        let builder = LocalBuilder::start(BuilderConfig {
            anvil_http: anvil.http_url(),
            verify: flashbots_verifier(),
        })
        .await
        .expect("builder");
        let proxy = proxied.then(|| Proxy::start(anvil.port()).expect("proxy"));
        let ws = match &proxy {
            Some(p) => format!("ws://127.0.0.1:{}", p.port()),
            None => anvil.ws_url(),
        };
        let journal = dir.path().join("journal.sqlite");
        let metrics_port = kestrel_testkit::free_port();
        let toml = kestrel::sandbox::engine_config(
            &ws,
            &anvil.http_url(),
            &world,
            &builder.url(),
            &journal,
        );
        let toml = toml.replace(
            "[telemetry]\n",
            &format!("[telemetry]\nmetrics_addr = \"127.0.0.1:{metrics_port}\"\n"),
        );
        let toml = toml.replace("[hot]\n", &format!("{extra_relay}[hot]\n"));
        let toml = match transport {
            Transport::Ipc => toml.replace(
                "[chain]\n",
                &format!("[chain]\nipc_path = \"{}\"\n", ipc_path.display()),
            ),
            _ => toml,
        };
        let cfg = kestrel_config::parse_str(&toml).expect("config");
        let keys = EngineKeys {
            searcher_hex: SEARCHER_KEY.into(),
            relay_auth_hex: RELAY_KEY.into(),
        };
        let engine = Engine::start(cfg, Mode::DryRun, keys, "it".into())
            .await
            .expect("engine");
        let provider = kestrel_chain::Chain::connect_http(&anvil.http_url())
            .unwrap()
            .provider()
            .clone();
        let user = PrivateKeySigner::random();
        kestrel_sandbox::anvil::set_balance(&provider, user.address(), U256::from(1000 * ETH))
            .await
            .unwrap();
        let h = Harness {
            anvil,
            world,
            builder,
            engine,
            provider,
            proxy,
            metrics_port,
            user,
            nonce: 0,
            _dir: dir,
        };
        // A swap sent before the node confirmed the hot thread's subscription would never
        // be seen: wait for the confirmation (a fixed sleep lost that race on a loaded machine).
        assert!(
            h.wait_for(|c| c.pending_subscriptions >= 1).await,
            "the node never confirmed the pending-transaction subscription"
        );
        h
    }

    /// What router `r` quotes for `value` ETH of `token`.
    pub async fn quote(&self, r: usize, token: Address, value: U256) -> U256 {
        let router = IRouter::new(self.world.routers[r], &self.provider);
        router
            .getAmountsOut(value, vec![self.world.weth, token])
            .call()
            .await
            .unwrap()[1]
    }

    /// A 5 ETH `swapExactETHForTokens` of the first token through router `r` with 1 % slippage:
    /// on the 100 ETH sandbox pools, a victim worth backrunning. Returns its hash.
    pub async fn large_victim(&mut self, r: usize) -> B256 {
        let token = self.world.tokens[0];
        let value = U256::from(5 * ETH);
        let quote = self.quote(r, token, value).await;
        self.swap(r, token, value, quote * U256::from(99) / U256::from(100))
            .await
    }

    /// Sends `swapExactETHForTokens(min_out, [WETH, token])` through router `r`; returns its hash.
    pub async fn swap(&mut self, r: usize, token: Address, value: U256, min_out: U256) -> B256 {
        let path = vec![self.world.weth, token];
        self.swap_path(r, path, value, min_out).await
    }

    /// What the chain says of `swapExactETHForTokens(0, path)` from the user through router
    /// `r` with `value`, as an `eth_call` on the head: the amounts, or the revert's message.
    pub async fn call_swap_path(
        &self,
        r: usize,
        path: Vec<Address>,
        value: U256,
    ) -> Result<Vec<U256>, String> {
        IRouter::new(self.world.routers[r], &self.provider)
            .swapExactETHForTokens(U256::ZERO, path, self.user.address(), U256::MAX)
            .value(value)
            .from(self.user.address())
            .call()
            .await
            .map_err(|e| e.to_string())
    }

    /// Sends `swapExactETHForTokens(min_out, path)` through router `r`; returns its hash.
    pub async fn swap_path(
        &mut self,
        r: usize,
        path: Vec<Address>,
        value: U256,
        min_out: U256,
    ) -> B256 {
        let to = self.user.address();
        self.swap_path_to(r, path, value, min_out, to).await
    }

    /// [`Harness::swap_path`] paying the output to `to`.
    pub async fn swap_path_to(
        &mut self,
        r: usize,
        path: Vec<Address>,
        value: U256,
        min_out: U256,
        to: Address,
    ) -> B256 {
        self.send_swap(r, value, |deadline| {
            let call = IRouter::swapExactETHForTokensCall {
                amountOutMin: min_out,
                path,
                to,
                deadline,
            };
            alloy::sol_types::SolCall::abi_encode(&call)
        })
        .await
    }

    /// Sends `swapETHForExactTokens(amount_out, [WETH, token])` through router `r` with `value`.
    pub async fn swap_exact_out(
        &mut self,
        r: usize,
        token: Address,
        amount_out: U256,
        value: U256,
    ) -> B256 {
        let (to, path) = (self.user.address(), vec![self.world.weth, token]);
        self.send_swap(r, value, |deadline| {
            let call = IRouter::swapETHForExactTokensCall {
                amountOut: amount_out,
                path,
                to,
                deadline,
            };
            alloy::sol_types::SolCall::abi_encode(&call)
        })
        .await
    }

    /// Signs the user's call to router `r` (calldata built from a deadline 10 minutes after the
    /// head) and sends it through the builder's mempool; returns its hash.
    async fn send_swap(
        &mut self,
        r: usize,
        value: U256,
        calldata: impl FnOnce(U256) -> Vec<u8>,
    ) -> B256 {
        let head = self
            .provider
            .get_block_by_number(Default::default())
            .await
            .unwrap()
            .unwrap();
        let input = Bytes::from(calldata(U256::from(head.header.timestamp + 600)));
        let base_fee = u128::from(head.header.base_fee_per_gas.unwrap_or(1_000_000_000));
        let router = self.world.routers[r];
        let raw =
            kestrel::sandbox::sign_user_tx(&self.user, self.nonce, router, input, value, base_fee)
                .unwrap();
        self.nonce += 1;
        self.builder.submit_user_tx(raw).await.unwrap()
    }

    /// What router `r` asks for `amount_out` of `token`.
    pub async fn quote_in(&self, r: usize, token: Address, amount_out: U256) -> U256 {
        let router = IRouter::new(self.world.routers[r], &self.provider);
        router
            .getAmountsIn(amount_out, vec![self.world.weth, token])
            .call()
            .await
            .unwrap()[0]
    }

    /// Polls the engine's counters until `f` holds (true) or 15 s pass (false).
    pub async fn wait_for(&self, f: impl Fn(&CountersSnapshot) -> bool) -> bool {
        for _ in 0..1500 {
            if f(&self.engine.counters().snapshot()) {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// Polls until the builder has accepted `n` bundles (true) or 15 s pass (false): a written
    /// request is not yet a handled one.
    pub async fn builder_received(&self, n: u64) -> bool {
        for _ in 0..1500 {
            if self.builder.accepted_bundles() >= n {
                return true;
            }
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
        false
    }

    /// The whole landing check: waits for the engine's bundle and the builder's acceptance,
    /// builds the next block, stops the engine, and asserts that exactly one bundle landed, with
    /// `victim` first, and that the executor's WETH grew by exactly the journaled prediction.
    pub async fn land_one(self, victim: B256) -> Landed {
        assert!(
            self.wait_for(|c| c.bundles >= 1).await,
            "no bundle for the victim"
        );
        assert!(
            self.builder_received(1).await,
            "the builder never accepted the bundle"
        );
        let block = self.builder.build_block().await.unwrap();
        assert_eq!(
            block.included_bundles,
            1,
            "builder outcomes: {:?}",
            self.builder.results()
        );
        let (report, outcomes, chain) = self.finish().await;
        let landed: Vec<_> = outcomes.iter().filter(|o| o.landed).cloned().collect();
        assert_eq!(landed.len(), 1, "outcomes: {outcomes:?}");
        let outcome = landed.into_iter().next().unwrap();
        assert_eq!(
            outcome.tx_hashes[0], victim,
            "the victim goes first: backrun, never front-run"
        );
        let reader = kestrel_store::open_readonly(&report.journal_path).unwrap();
        let rows = reader.bundles(&report.run_id).unwrap();
        let engine_outcomes = reader.outcomes(&report.run_id).unwrap();
        let row = rows
            .into_iter()
            .find(|r| r.ev.backrun_hash == outcome.tx_hashes[1])
            .expect("journaled bundle");
        assert_eq!(row.ev.candidate.tx_hash, victim);
        // The builder's answer on the hot thread's connection is journaled against the victim.
        let answers = reader.relay_answers(&report.run_id).unwrap();
        assert!(
            answers.iter().any(|a| a.victim == victim
                && a.method == "eth_sendBundle"
                && (a.http_status, a.ok) == (200, true)),
            "{answers:?}"
        );
        let at = outcome.block.unwrap();
        let realized = chain.weth_of(chain.world.executor, at).await
            - chain.weth_of(chain.world.executor, at - 1).await;
        assert!(realized > U256::ZERO);
        assert_eq!(
            realized, row.ev.candidate.profit_net,
            "predicted and realized profit differ"
        );
        // The engine followed the bundle to its block by itself: the backrun's receipt and the
        // executor's log, journaled and counted.
        assert_eq!(engine_outcomes.len(), 1, "{engine_outcomes:?}");
        let followed = &engine_outcomes[0];
        assert_eq!(followed.backrun_hash, row.ev.backrun_hash);
        assert!(followed.landed, "{followed:?}");
        assert_eq!(followed.block, at);
        assert_eq!(followed.realized_profit_wei, Some(realized));
        assert_eq!(followed.predicted_profit_wei, row.ev.candidate.profit_net);
        let c = &report.counters;
        assert_eq!((c.landed, c.not_landed, c.realized_mismatches), (1, 0, 0));
        Landed { row, chain }
    }

    /// Stops the engine; returns its report and the builder's outcomes.
    pub async fn finish(self) -> (EngineReport, Vec<BundleOutcome>, Harness2) {
        self.finish_with(None).await
    }

    /// [`Harness::finish`], the engine ending the run in the journal with `lanes` as the
    /// exchange lanes' totals, as `kestrel run` does.
    pub async fn finish_journaled(
        self,
        lanes: serde_json::Map<String, serde_json::Value>,
    ) -> (EngineReport, Harness2) {
        let (report, _, chain) = self.finish_with(Some(lanes)).await;
        (report, chain)
    }

    async fn finish_with(
        self,
        lanes: Option<serde_json::Map<String, serde_json::Value>>,
    ) -> (EngineReport, Vec<BundleOutcome>, Harness2) {
        let report = match lanes {
            Some(lanes) => self.engine.stop_journaled(lanes).await,
            None => self.engine.stop().await,
        }
        .expect("engine stop");
        let outcomes = self.builder.results();
        (
            report,
            outcomes,
            Harness2 {
                provider: self.provider,
                world: self.world,
                _anvil: self.anvil,
                _dir: self._dir,
            },
        )
    }
}

/// A bundle that landed, with everything a test may check further.
pub struct Landed {
    pub row: kestrel_store::BundleRow,
    pub chain: Harness2,
}

/// What stays alive after the engine stopped: the chain, for checking what it did.
pub struct Harness2 {
    pub provider: DynProvider,
    pub world: World,
    _anvil: Anvil,
    _dir: tempfile::TempDir,
}

impl Harness2 {
    pub async fn weth_of(&self, who: Address, block: u64) -> U256 {
        IErc20::new(self.world.weth, &self.provider)
            .balanceOf(who)
            .block(block.into())
            .call()
            .await
            .unwrap()
    }
}

/// GET /metrics from the engine's Prometheus endpoint.
pub fn scrape(port: u16) -> String {
    use std::io::{Read, Write};
    let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).expect("metrics endpoint");
    s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).unwrap();
    out
}
