//! The typed config: plain data, built only by the validator (or by the sandbox, which writes
//! it back with [`crate::to_toml_string`]).

use std::net::SocketAddr;
use std::path::PathBuf;

use kestrel_types::cex::{FeeAsset, Fixed, Interval, Rate, Scale, Venue};
use kestrel_types::{Address, B256, ChainId, U256};

use crate::Secret;

/// A whole, validated Kestrel config. Not `Eq`: `[statarb]` holds `f64` thresholds.
#[derive(Clone, Debug, PartialEq)]
pub struct Config {
    /// `mode`: default [`ModeSetting::DryRun`].
    pub mode: ModeSetting,
    /// `[chain]`: required.
    pub chain: ChainConfig,
    /// `[dex]`: required, with at least one `[[dex.v2_factories]]`.
    pub dex: DexConfig,
    /// `[backrun]`: required.
    pub backrun: BackrunConfig,
    /// `[signer]`: required; the funds key that signs backrun transactions.
    pub signer: SignerConfig,
    /// `[relay_auth]`: required; the Flashbots identity key that signs relay requests. It must
    /// name a different variable than `signer.key`.
    pub relay_auth: SignerConfig,
    /// `[[relays]]`: zero or more (default none). Names are unique.
    pub relays: Vec<RelayConfig>,
    /// `[hot]`: optional; see [`HotConfig`] for the defaults.
    pub hot: HotConfig,
    /// `[journal]`: optional; see [`JournalConfig`] for the default.
    pub journal: JournalConfig,
    /// `[telemetry]`: optional; see [`TelemetryConfig`] for the defaults.
    pub telemetry: TelemetryConfig,
    /// `[xarb]`: optional; the cross-exchange lane runs only when it is present.
    pub xarb: Option<XarbConfig>,
    /// `[statarb]`: optional; the statistical-arbitrage lane's settings.
    pub statarb: Option<StatArbConfig>,
}

/// A validated CEX-only config: the exchange lanes without the DEX backrun lane, so no
/// `[chain]`, `[dex]`, `[backrun]`, `[signer]`, `[relay_auth]`, `[[relays]]` or `[hot]` (a
/// document with any of them is a full [`Config`]). Not `Eq`: `[statarb]` holds `f64`
/// thresholds.
#[derive(Clone, Debug, PartialEq)]
pub struct CexConfig {
    /// `mode`: default [`ModeSetting::DryRun`]. `"live"` needs no relay or executor here: those
    /// belong to the backrun lane.
    pub mode: ModeSetting,
    /// `[journal]`: optional; see [`JournalConfig`] for the default.
    pub journal: JournalConfig,
    /// `[telemetry]`: optional; see [`TelemetryConfig`] for the defaults.
    pub telemetry: TelemetryConfig,
    /// `[xarb]`: the cross-exchange lane; at least one of `[xarb]` and `[statarb]` is required.
    pub xarb: Option<XarbConfig>,
    /// `[statarb]`: the statistical-arbitrage lane; at least one of `[xarb]` and `[statarb]`
    /// is required.
    pub statarb: Option<StatArbConfig>,
}

/// What the config asks for. Live trading also needs `--live` on the command line
/// (`kestrel_types::Mode::resolve`).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum ModeSetting {
    /// `"dry-run"` (the default): bundles go to the journal and simulation endpoints only.
    #[default]
    DryRun,
    /// `"live"`: in a full [`Config`], needs an `execution` relay and `backrun.executor`.
    Live,
}

/// `[chain]`: which chain and how to reach its node. At least one of `ws_url` and `ipc_path`.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct ChainConfig {
    /// `chain_id`: required, > 0.
    pub chain_id: ChainId,
    /// `ws_url`: `ws://` (not `wss://`: the hot thread does no TLS), for pending txs and new
    /// heads. Required unless
    /// `ipc_path` is given.
    pub ws_url: Option<String>,
    /// `http_url`: required, `http://` or `https://`, for state reads.
    pub http_url: String,
    /// `ipc_path`: optional, non-empty; a node IPC socket, the lower-latency alternative to
    /// `ws_url` for the pending-tx stream.
    pub ipc_path: Option<PathBuf>,
}

/// `[dex]`: the exchanges the backrun lane trades on, and the routers whose pending
/// transactions it decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DexConfig {
    /// `[[dex.v2_factories]]`: one to 256 (a [`kestrel_types::FactoryId`] is a `u8`); names
    /// unique across V2 and V3 factories.
    pub v2_factories: Vec<V2FactoryConfig>,
    /// `[[dex.v3_factories]]`: zero to 256 (default none); names unique across V2 and V3
    /// factories.
    pub v3_factories: Vec<V3FactoryConfig>,
    /// `[[dex.routers]]`: zero to 256 (default none); names unique among routers, addresses
    /// unique among routers. A V2 factory's `router` needs no entry here.
    pub routers: Vec<RouterConfig>,
    /// `max_pairs_per_factory`: most pairs loaded from each V2 factory at start, lowest
    /// `allPairs` indexes first; default 5000, in `1..=1_000_000`. Each pair costs four node
    /// requests at start; a factory with more pairs is cut off (with a warning).
    pub max_pairs_per_factory: u32,
    /// `max_v3_pools_per_factory`: most V3 pools loaded from each V3 factory at start (those
    /// pairing the watched tokens); default 2000, in `1..=100_000`.
    pub max_v3_pools_per_factory: u32,
}

/// One Uniswap-V2-style factory and its router. All keys are required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V2FactoryConfig {
    /// `name`: non-empty, unique among factories.
    pub name: String,
    /// `factory`: the factory address.
    pub factory: Address,
    /// `router`: the router address.
    pub router: Address,
    /// `init_code_hash`: keccak256 of the pair creation code, for CREATE2 pair addresses.
    pub init_code_hash: B256,
    /// `fee_numerator`: input kept after the fee, over 1000 (Uniswap V2: 997), in `900..=1000`.
    pub fee_numerator: u16,
}

/// One Uniswap-V3-style factory and the fee tiers whose pools the engine loads.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct V3FactoryConfig {
    /// `name`: non-empty, unique among V2 and V3 factories.
    pub name: String,
    /// `factory`: the factory address. Required.
    pub factory: Address,
    /// `fee_tiers`: the fee tiers in pips (hundredths of a basis point), each one the factory
    /// has enabled; each in `0..=999999` (the factory's `fee < 1000000`), no duplicates, 1 to
    /// 16 of them. Default [`V3FactoryConfig::DEFAULT_FEE_TIERS`].
    pub fee_tiers: Vec<u32>,
    /// `pool_init_code_hash`: keccak256 of the pool creation code, for CREATE2 pool addresses
    /// (Uniswap V3: [`V3FactoryConfig::UNISWAP_POOL_INIT_CODE_HASH`]). Required.
    pub pool_init_code_hash: B256,
}

impl V3FactoryConfig {
    /// Uniswap V3's fee tiers: 0.01%, 0.05%, 0.3% and 1%.
    pub const DEFAULT_FEE_TIERS: [u32; 4] = [100, 500, 3000, 10_000];

    /// keccak256 of `@uniswap/v3-core` 1.0.1's `UniswapV3Pool` creation bytecode, the hash the
    /// v3-periphery contracts hard-code (`PoolAddress.POOL_INIT_CODE_HASH`).
    pub const UNISWAP_POOL_INIT_CODE_HASH: B256 =
        kestrel_types::b256!("0xe34f199b19b2b4f47f68442619d555527d244f78a3297ea89325f843f87b8b54");
}

/// The Universal Router release a `universal_router` entry runs: the releases mask command
/// bytes differently and give some commands other meanings (`kestrel_dex::universal::UrVersion`).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum UniversalRouterVersion {
    /// `"v1"`: v1.0 to v1.2.
    V1,
    /// `"v2"`: 2.0.
    V2,
    /// `"v2.1"`: 2.1 and later.
    V2_1,
}

/// Which router ABI a `[[dex.routers]]` entry speaks.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RouterKind {
    /// `"v2_router02"`: UniswapV2Router02.
    V2Router02,
    /// `"swap_router"`: the V3 periphery's SwapRouter.
    SwapRouter,
    /// `"swap_router02"`: SwapRouter02 (V2 and V3 swaps).
    SwapRouter02,
    /// `"universal_router"` with its `version`.
    UniversalRouter(UniversalRouterVersion),
}

/// One `[[dex.routers]]` entry: a router contract whose pending transactions the engine
/// decodes.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RouterConfig {
    /// `name`: non-empty, unique among routers.
    pub name: String,
    /// `address`: the router contract, unique among routers.
    pub address: Address,
    /// `kind`: `"v2_router02"`, `"swap_router"`, `"swap_router02"` or `"universal_router"`;
    /// a universal router also needs `version` (`"v1"`, `"v2"` or `"v2.1"`), which no other
    /// kind may have.
    pub kind: RouterKind,
    /// `v2_factory`: the name of the `[[dex.v2_factories]]` entry whose pairs the router's V2
    /// swaps go through. Not allowed for a `"swap_router"` (V3 only). Optional when exactly one
    /// V2 factory is configured (that one is meant) or none (`None`: V2 legs through this
    /// router are counted skips); required when several are.
    pub v2_factory: Option<String>,
    /// `v3_factory`: the same for `[[dex.v3_factories]]` and the router's V3 swaps. Not allowed
    /// for a `"v2_router02"`.
    pub v3_factory: Option<String>,
}

impl RouterKind {
    /// Whether routers of this kind swap through V2 pairs.
    pub const fn swaps_v2(self) -> bool {
        !matches!(self, RouterKind::SwapRouter)
    }

    /// Whether routers of this kind swap through V3 pools.
    pub const fn swaps_v3(self) -> bool {
        !matches!(self, RouterKind::V2Router02)
    }
}

/// `[backrun]`: sizing, profit floors and the pre-signed ladder.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct BackrunConfig {
    /// `weth`: required; the wrapped native token, also the capital token.
    pub weth: Address,
    /// `executor`: our executor contract. Optional in dry-run (sandbox-generated configs may
    /// omit it); required when `mode = "live"`.
    pub executor: Option<Address>,
    /// `min_profit_wei`: required, decimal string.
    pub min_profit_wei: U256,
    /// `gas_estimate`: gas of a V2 backrun (two V2 pairs), default 150000, in
    /// `1..=30_000_000`.
    pub gas_estimate: u64,
    /// `route_gas_estimate`: gas budgeted for a `backrunRoute` (V3 and mixed cycles, 2 or 3
    /// hops), default 500000, in `1..=30_000_000`. A 3-hop V3 route crossing ticks uses up to
    /// ~490k; the profit threshold of route cycles prices this much gas.
    pub route_gas_estimate: u64,
    /// `confirm_routes`: before a route backrun (V3 and mixed cycles) is fired, run the victim
    /// and the backrun in revm on the head's prefetched state and fire only if the backrun's
    /// profit equals the prediction; default `true`.
    pub confirm_routes: bool,
    /// `confirm_v2`: confirm the V2 lane's pre-signed backruns (two V2 pairs) in revm the same
    /// way before they are fired; default `false` (their exact integer math is the chain's own
    /// formula, and a revm run costs ~100 µs on the hot thread). Needs the revm state that V3
    /// factories bring.
    pub confirm_v2: bool,
    /// `simulate_undecoded`: pending calls to contracts no decoder reads (aggregators, custom
    /// routers) are run in revm by the slow lane, and backrun through the watched pools their
    /// logs show they move, confirmed in revm first; default `true`. Needs V3 factories (the
    /// revm state is prefetched only with them).
    pub simulate_undecoded: bool,
    /// `priority_fee_wei`: decimal string, default `"1000000000"` (1 gwei).
    pub priority_fee_wei: U256,
    /// `builder_payment_bps`: share of profit paid to the builder, default 1000, in `0..=9999`.
    pub builder_payment_bps: u16,
    /// `max_hops`: default 3, in `2..=3`.
    pub max_hops: u8,
    /// `ladder_levels`: pre-signed minimum-profit floors per cycle, default 32, in `1..=64`.
    pub ladder_levels: u8,
    /// `ladder_step_bps`: geometric step between floors, default 1250, in `1..=10000`.
    pub ladder_step_bps: u16,
    /// `fee_on_transfer_tokens`: tokens never routed through, default empty.
    pub fee_on_transfer_tokens: Vec<Address>,
    /// `max_calldata_bytes`: default 4096, in `256..=131072`.
    pub max_calldata_bytes: u32,
}

/// `[signer]` and `[relay_auth]`: a key held in an environment variable.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct SignerConfig {
    /// `key`: required, `env:VAR`. A literal key is an error.
    pub key: Secret,
}

/// What a relay endpoint is used for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RelayKind {
    /// `"execution"`: submits bundles for inclusion (live mode only).
    Execution,
    /// `"simulation"`: `eth_callBundle`-style checks; safe in dry-run.
    Simulation,
    /// `"local"`: a fake relay on this host (sandbox, tests); its URL must be loopback.
    Local,
}

/// One `[[relays]]` entry. All keys are required.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayConfig {
    /// `name`: non-empty, unique among relays.
    pub name: String,
    /// `url`: `http://` or `https://`; loopback host for `local` relays.
    pub url: String,
    /// `kind`: `"execution"`, `"simulation"` or `"local"`.
    pub kind: RelayKind,
}

/// How the hot thread waits for the next frame.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum WaitSetting {
    /// `"spin"`: busy-poll; for an isolated core on a colocated host.
    Spin,
    /// `"yield"`: poll and yield the core between polls.
    Yield,
    /// `"park"` (the default): block; for a shared laptop or CI machine.
    #[default]
    Park,
}

/// `[hot]`: the pinned hot thread.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct HotConfig {
    /// `core`: pin the hot thread to this core, in `0..=4095`; default unpinned.
    pub core: Option<usize>,
    /// `wait`: default [`WaitSetting::Park`].
    pub wait: WaitSetting,
    /// `ring_capacity`: hot → slow event ring slots, a power of two in `1024..=1048576`;
    /// default 65536.
    pub ring_capacity: usize,
}

impl Default for HotConfig {
    fn default() -> Self {
        Self {
            core: None,
            wait: WaitSetting::Park,
            ring_capacity: 65_536,
        }
    }
}

/// `[journal]`: where the SQLite journal lives.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct JournalConfig {
    /// `path`: non-empty; default `kestrel.sqlite` (relative to the working directory).
    pub path: PathBuf,
}

impl Default for JournalConfig {
    fn default() -> Self {
        Self {
            path: PathBuf::from("kestrel.sqlite"),
        }
    }
}

/// `[telemetry]`: metrics and logs.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct TelemetryConfig {
    /// `metrics_addr`: Prometheus listen address such as `127.0.0.1:9464`; default off.
    pub metrics_addr: Option<SocketAddr>,
    /// `log`: a non-empty tracing filter string; default `"info"`.
    pub log: String,
}

impl Default for TelemetryConfig {
    fn default() -> Self {
        Self {
            metrics_addr: None,
            log: "info".to_owned(),
        }
    }
}

/// `[xarb]`: the cross-exchange arbitrage lane, started by `kestrel run` when present. Amounts
/// are decimal strings, read exactly at the lane's scales (a digit past the scale is an error,
/// never rounded).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XarbConfig {
    /// `base`: the base asset's name in logs and the journal, e.g. `"BTC"`.
    pub base: String,
    /// `quote`: the quote asset's name in logs and the journal, e.g. `"USDT"`.
    pub quote: String,
    /// `price_digits`: fraction digits of prices on every leg (each venue's tick must fit).
    pub price_scale: Scale,
    /// `size_digits`: fraction digits of sizes on every leg; `price_digits + size_digits ≤ 18`
    /// (notional amounts are counted at their sum).
    pub size_scale: Scale,
    /// `max_size`: the most base one trade may take (size digits).
    pub max_size: Fixed,
    /// `min_profit`: the least quote a trade must make after every cost (notional digits).
    pub min_profit: Fixed,
    /// `safety_margin_bps`: kept back on the buying notional; default 1.
    pub safety_margin_bps: u32,
    /// `transfer_cost`: quote one rebalancing transfer costs; default `"0"`.
    pub transfer_cost: Fixed,
    /// `inventory_cycle`: base traded per rebalancing transfer, over which `transfer_cost` is
    /// amortized; required when `transfer_cost` is not zero.
    pub inventory_cycle: Fixed,
    /// `max_drawdown`: kill switch, quote (notional digits).
    pub max_drawdown: Fixed,
    /// `max_imbalance`: kill switch, base (size digits).
    pub max_imbalance: Fixed,
    /// `max_orders_per_minute`: kill switch, in `1..=16384`; default 120.
    pub max_orders_per_minute: u32,
    /// `unwind_slippage_bps`: how far past the best price an unwind may go; default 50.
    pub unwind_slippage_bps: u32,
    /// `stale_after_ms`: a feed silent this long stops quoting; default 5000.
    pub stale_after_ms: u64,
    /// `core`: pin the lane's thread; default unpinned.
    pub core: Option<usize>,
    /// `[[xarb.venues]]`: two to five, one per venue.
    pub venues: Vec<XarbVenueConfig>,
}

/// Which kind of key a Binance account uses.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub enum BinanceKeyKind {
    /// `"hmac"` (the default): `api_secret` is the HMAC secret.
    #[default]
    Hmac,
    /// `"ed25519"`: `api_secret` is the PKCS#8 PEM private key.
    Ed25519,
}

/// One `[[xarb.venues]]`: a venue, its symbol and the account that trades it there.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct XarbVenueConfig {
    /// `venue`: `"binance"`, `"coinbase"`, `"kraken"`, `"okx"` or `"bybit"`; unique.
    pub venue: Venue,
    /// `symbol`: as the venue spells it (`"BTCUSDT"`, `"BTC/USD"`, `"BTC-USDT"`, `"BTC-USD"`).
    pub symbol: String,
    /// `base_asset`: the base asset as the venue names it in balances and fees.
    pub base_asset: String,
    /// `quote_asset`: the quote asset as the venue names it in balances.
    pub quote_asset: String,
    /// `ws_url`: market data, `ws://` or `wss://`.
    pub ws_url: String,
    /// `rest_url`: orders and account, `http://` or `https://`.
    pub rest_url: String,
    /// `api_key`: `env:VAR` (the key's name for Coinbase).
    pub api_key: Secret,
    /// `api_secret`: `env:VAR` (a PEM private key for Coinbase and Binance Ed25519).
    pub api_secret: Secret,
    /// `passphrase`: `env:VAR`; OKX only, and required there.
    pub passphrase: Option<Secret>,
    /// `key_kind`: Binance only; default [`BinanceKeyKind::Hmac`].
    pub key_kind: BinanceKeyKind,
    /// `buy_fee_asset`: `"base"` or `"quote"`, where the venue takes a buy's fee; default the
    /// venue's spot rule (base on Binance, OKX and Bybit; quote on Kraken and Coinbase).
    pub buy_fee_asset: FeeAsset,
    /// `requests_per_second`: the lane's REST budget there (orders and queries) in the venue's
    /// own unit: request weight on Binance (an order 1, an order query 4), requests elsewhere;
    /// in `1..=1000`; default 5.
    pub requests_per_second: u32,
    /// `burst`: units that may go at once within that budget, in `1..=1000`; default 10.
    pub burst: u32,
}

/// `[statarb]`: the statistical-arbitrage lane over one venue's spot symbols. Amounts are
/// decimal strings read exactly at the lane's scales (a digit past the scale is an error, never
/// rounded). The strategy's thresholds (`[statarb.selection]`, `[statarb.signal]`,
/// `[statarb.sizing]`) are checked here key by key only; the relations between them
/// (`exit_z < entry_z < stop_z`, …) are checked by the strategy, which also owns their
/// defaults.
#[derive(Clone, Debug, PartialEq)]
pub struct StatArbConfig {
    /// `venue`: `"binance"`, `"coinbase"`, `"kraken"`, `"okx"` or `"bybit"`.
    pub venue: Venue,
    /// `symbols`: 2 to 128, unique, non-empty, as the venue spells them (series order).
    pub symbols: Vec<String>,
    /// `interval`: the bar length, `"1m"`, `"5m"`, `"15m"`, `"1h"`, `"4h"` or `"1d"`.
    pub interval: Interval,
    /// `rest_url`: candles, orders and account, `http://` or `https://`.
    pub rest_url: String,
    /// `ws_url`: market data, `ws://` or `wss://`.
    pub ws_url: String,
    /// `price_digits`: fraction digits of prices on every symbol.
    pub price_scale: Scale,
    /// `size_digits`: fraction digits of sizes on every symbol; `price_digits + size_digits ≤
    /// 18` (notional amounts are counted at their sum).
    pub size_scale: Scale,
    /// `quote_asset`: the quote asset as the venue names it in balances, e.g. `"USDT"`.
    pub quote_asset: String,
    /// `capital`: the quote the lane trades with (notional digits), > 0.
    pub capital: Fixed,
    /// `taker_fee`: the account's taker fee, a decimal string below 1 with at most 8 fraction
    /// digits; default `"0.001"` (0.1%).
    pub taker_fee: Rate,
    /// `buy_fee_asset`: `"base"` or `"quote"`, where the venue takes a buy's fee; default the
    /// venue's spot rule (base on Binance, OKX and Bybit; quote on Kraken and Coinbase).
    pub buy_fee_asset: FeeAsset,
    /// `history_bars`: bars fetched at start, in `100..=100000` and at least `train_bars`;
    /// default 1000.
    pub history_bars: u32,
    /// `train_bars`: bars pairs are selected on, in `50..=100000`; default 500.
    pub train_bars: u32,
    /// `rescan_every_bars`: pairs are selected again after this many bars, in `1..=100000`;
    /// default 250.
    pub rescan_every_bars: u32,
    /// `slippage_bps`: how far past the touch a live IOC limit order may fill, in `0..=1000`;
    /// default 50.
    pub slippage_bps: u32,
    /// `stale_after_ms`: a feed silent this long stops trading, in `100..=600000`; default 5000.
    pub stale_after_ms: u64,
    /// `poll_ms`: how often the lane asks for new bars, in `10..=600000`; default a twentieth of
    /// the interval, between 1 and 10 seconds.
    pub poll_ms: Option<u64>,
    /// `core`: pin the lane's thread, in `0..=4095`; default unpinned.
    pub core: Option<usize>,
    /// `api_key`: `env:VAR`; only together with `api_secret`. Optional on paper (which needs
    /// none), required when `mode = "live"`.
    pub api_key: Option<Secret>,
    /// `api_secret`: `env:VAR`; set whenever `api_key` is (so required when `mode = "live"`).
    pub api_secret: Option<Secret>,
    /// `passphrase`: `env:VAR`; allowed only when `venue = "okx"`, and required there when
    /// `mode = "live"`.
    pub passphrase: Option<Secret>,
    /// `key_kind`: Binance only; default [`BinanceKeyKind::Hmac`].
    pub key_kind: BinanceKeyKind,
    /// `[statarb.selection]`: optional; every key `None` when absent.
    pub selection: StatArbSelection,
    /// `[statarb.signal]`: optional; every key `None` when absent.
    pub signal: StatArbSignal,
    /// `[statarb.sizing]`: optional; every key `None` when absent.
    pub sizing: StatArbSizing,
}

impl StatArbConfig {
    /// The default `taker_fee`: 0.1%.
    pub const DEFAULT_TAKER_FEE: Rate = Rate(100_000);
}

/// `[statarb.selection]`: pair-selection rules. `None`: the strategy's default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatArbSelection {
    /// `max_p_value`: largest Engle-Granger p-value kept, in `[0, 1]`.
    pub max_p_value: Option<f64>,
    /// `min_half_life_bars`: shortest half-life kept, > 0.
    pub min_half_life_bars: Option<f64>,
    /// `max_half_life_bars`: longest half-life kept, > 0.
    pub max_half_life_bars: Option<f64>,
    /// `min_zero_crossings`: fewest zero crossings of the training spread, ≥ 0.
    pub min_zero_crossings: Option<usize>,
    /// `top_k`: pairs kept after ranking, in `1..=64`.
    pub top_k: Option<usize>,
}

/// `[statarb.signal]`: the trading rules, in z units. `None`: the strategy's default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatArbSignal {
    /// `entry_z`: > 0.
    pub entry_z: Option<f64>,
    /// `exit_z`: ≥ 0.
    pub exit_z: Option<f64>,
    /// `stop_z`: > 0.
    pub stop_z: Option<f64>,
    /// `max_hold_half_lives`: > 0.
    pub max_hold_half_lives: Option<f64>,
    /// `window_half_lives`: the z-score window as a multiple of the half-life, > 0.
    pub window_half_lives: Option<f64>,
    /// `window_min_bars`: ≥ 2.
    pub window_min_bars: Option<usize>,
    /// `window_max_bars`: ≥ 2.
    pub window_max_bars: Option<usize>,
}

/// `[statarb.sizing]`: position sizing. `None`: the strategy's default.
#[derive(Clone, Copy, Debug, Default, PartialEq)]
pub struct StatArbSizing {
    /// `kelly_multiplier`: ≥ 0 (0.5 for half Kelly).
    pub kelly_multiplier: Option<f64>,
    /// `per_pair_cap`: largest fraction of capital one pair commits, in `(0, 1]`.
    pub per_pair_cap: Option<f64>,
    /// `total_cap`: largest fraction of capital committed across all pairs, in `(0, 1]`.
    pub total_cap: Option<f64>,
    /// `default_fraction`: the fraction of a pair without enough closed trades, in `[0, 1]`.
    pub default_fraction: Option<f64>,
    /// `min_trades`: closed trades a record needs before Kelly uses it, ≥ 1.
    pub min_trades: Option<usize>,
    /// `capital_base`: `"realized"` or `"initial"`.
    pub capital_base: Option<StatArbCapitalBase>,
}

/// What a pair's sizing fraction multiplies.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum StatArbCapitalBase {
    /// `"realized"`: initial capital plus realized PnL (sizes compound).
    Realized,
    /// `"initial"`: the initial capital.
    Initial,
}
