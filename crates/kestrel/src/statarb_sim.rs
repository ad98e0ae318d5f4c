//! A simulated Binance-format venue for the paper stat-arb lane: four symbols whose prices
//! follow two cointegrated pairs, a pre-loaded 1m candle history, and a driver thread that
//! appends one bar every `bar_ms` of wall time (accelerated time) and moves each book around
//! the new close.
//!
//! The paths: two independent random-walk factors `b` and `d` drive `BBBUSDT` and `DDDUSDT`;
//! `AAA ≈ 1.5·BBB + 20` and `CCC ≈ 0.8·DDD + 10`, each plus an AR(1) spread with a half-life of
//! [`SPREAD_HALF_LIFE_BARS`] bars and a little bar noise. `AAA`/`BBB` and `CCC`/`DDD` are the
//! only cointegrated pairs; any pair across the two factors is not.
//!
//! Randomness is a seeded generator, so one seed gives one market.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use anyhow::Context as _;
use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeRates, SymbolSpec};
use kestrel_exsim::preset;
use kestrel_exsim::server::{ExchangeHandle, ExchangeServer};
use kestrel_types::cex::{BookSide, Candle, FeeAsset, Fixed, Interval, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BinanceSigner};
use kestrel_venues::orders::BinanceWriter;

/// The four symbols, in series order.
pub const SYMBOLS: [&str; 4] = ["AAAUSDT", "BBBUSDT", "CCCUSDT", "DDDUSDT"];
/// Their base assets.
const BASES: [&str; 4] = ["AAA", "BBB", "CCC", "DDD"];
/// Bars served before the driver starts.
pub const HISTORY_BARS: usize = 1_000;
/// The bar interval the venue serves (time is accelerated: one bar per `bar_ms`).
pub const INTERVAL: Interval = Interval::M1;
/// Half-life of both spreads, bars.
pub const SPREAD_HALF_LIFE_BARS: f64 = 8.0;
/// The account's taker (and maker) fee: 0.1 %.
pub const TAKER_FEE: Rate = Rate(100_000);
/// Where the venue takes a buy's fee.
pub const BUY_FEE_ASSET: FeeAsset = FeeAsset::Base;
/// Quote the account is funded with, notional units (1,000,000 USDT).
pub const START_QUOTE: u128 = 1_000_000 * ONE_QUOTE;
/// Base of each symbol the account is funded with, size units (10,000 units).
pub const START_BASE: u128 = 10_000 * 100_000;
/// One USDT in notional units (price units × size units).
pub const ONE_QUOTE: u128 = 10_000_000;
/// Fraction digits of prices and sizes.
const PRICE_DIGITS: u8 = 2;
const SIZE_DIGITS: u8 = 5;
/// Levels per book side and their size (100 units each).
const LEVELS: u64 = 5;
const LEVEL_SIZE: Fixed = Fixed(100 * 100_000);
/// Ticks between levels.
const LEVEL_STEP_TICKS: u64 = 2;
/// The simulated account's made-up API key and secret (not secrets; no real account knows them).
const SIM_KEY: &str = "sim-statarb-key";
const SIM_SECRET: &str = "sim-statarb-secret-0123456789";

/// A small seeded generator (SplitMix64) with Gaussian draws.
#[derive(Clone, Debug)]
struct Rng(u64);

impl Rng {
    fn next_u64(&mut self) -> u64 {
        self.0 = self.0.wrapping_add(0x9E37_79B9_7F4A_7C15);
        let mut z = self.0;
        z = (z ^ (z >> 30)).wrapping_mul(0xBF58_476D_1CE4_E5B9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94D0_49BB_1331_11EB);
        z ^ (z >> 31)
    }

    /// Uniform in (0, 1].
    fn unit(&mut self) -> f64 {
        ((self.next_u64() >> 11) as f64 + 1.0) / (1u64 << 53) as f64
    }

    /// Standard normal (Box–Muller).
    fn gauss(&mut self) -> f64 {
        let (u, v) = (self.unit(), self.unit());
        (-2.0 * u.ln()).sqrt() * (std::f64::consts::TAU * v).cos()
    }
}

/// The price paths: two factors, two AR(1) spreads.
#[derive(Clone, Debug)]
struct Paths {
    rng: Rng,
    b: f64,
    d: f64,
    s_ab: f64,
    s_cd: f64,
    closes: [f64; 4],
    open_ms: u64,
}

impl Paths {
    fn new(seed: u64, first_open_ms: u64) -> Paths {
        let mut p = Paths {
            rng: Rng(seed),
            b: 100.0,
            d: 50.0,
            s_ab: 0.0,
            s_cd: 0.0,
            closes: [0.0; 4],
            open_ms: first_open_ms,
        };
        p.closes = p.prices();
        p
    }

    fn prices(&mut self) -> [f64; 4] {
        let noise = 0.02;
        let mut n = || noise * self.rng.gauss();
        let (n0, n1, n2, n3) = (n(), n(), n(), n());
        [
            1.5 * self.b + 20.0 + self.s_ab + n0,
            self.b + n1,
            0.8 * self.d + 10.0 + self.s_cd + n2,
            self.d + n3,
        ]
    }

    /// The next bar of every symbol, open at the previous close.
    fn next_bars(&mut self) -> [Candle; 4] {
        let phi = 0.5f64.powf(1.0 / SPREAD_HALF_LIFE_BARS);
        let keep = (1.0 - phi * phi).sqrt();
        self.b = (self.b + 0.6 * self.rng.gauss()).max(20.0);
        self.d = (self.d + 0.3 * self.rng.gauss()).max(10.0);
        // Stationary spread sd: 2.0 (AAA, ~1.2 %) and 0.8 (CCC, ~1.6 %).
        self.s_ab = phi * self.s_ab + 2.0 * keep * self.rng.gauss();
        self.s_cd = phi * self.s_cd + 0.8 * keep * self.rng.gauss();
        let open = self.closes;
        let close = self.prices();
        self.closes = close;
        let open_ms = self.open_ms;
        self.open_ms += INTERVAL.ms();
        std::array::from_fn(|i| {
            let (o, c) = (price(open[i]), price(close[i]));
            Candle {
                open_ms,
                open: o,
                high: Fixed(o.0.max(c.0)),
                low: Fixed(o.0.min(c.0)),
                close: c,
                volume: Fixed(1_000 * 100_000),
            }
        })
    }
}

/// A price in ticks (0.01), at least one tick.
fn price(p: f64) -> Fixed {
    Fixed(((p * 100.0).round() as u64).max(1))
}

fn scale(digits: u8) -> Scale {
    Scale::new(digits).unwrap_or_else(|| unreachable!("digits below 19"))
}

fn exchange(base: [u128; 4]) -> anyhow::Result<Exchange> {
    let mut assets: Vec<AssetSpec> = BASES
        .iter()
        .map(|b| AssetSpec {
            name: (*b).into(),
            scale: scale(SIZE_DIGITS),
        })
        .collect();
    assets.push(AssetSpec {
        name: "USDT".into(),
        scale: scale(PRICE_DIGITS + SIZE_DIGITS),
    });
    let symbols = SYMBOLS
        .iter()
        .zip(BASES)
        .map(|(s, b)| SymbolSpec {
            symbol: (*s).into(),
            base: b.into(),
            quote: "USDT".into(),
            price_scale: scale(PRICE_DIGITS),
            size_scale: scale(SIZE_DIGITS),
            tick: Fixed(1),
            lot: Fixed(1),
            min_size: Fixed(1),
            min_notional: 5 * ONE_QUOTE,
            depth: 50,
        })
        .collect();
    let mut ex = Exchange::new(Venue::Binance, assets, symbols, BUY_FEE_ASSET)
        .map_err(|e| anyhow::anyhow!("statarb sim: {e}"))?;
    ex.add_account(
        SIM_KEY,
        FeeRates {
            maker: TAKER_FEE,
            taker: TAKER_FEE,
        },
    );
    ex.deposit(SIM_KEY, "USDT", START_QUOTE);
    // Base to sell: a spot account shorts a spread leg only from what it holds.
    for (b, units) in BASES.iter().zip(base) {
        if units > 0 {
            ex.deposit(SIM_KEY, b, units);
        }
    }
    Ok(ex)
}

/// The running venue and its driver.
#[allow(missing_debug_implementations)]
pub struct StatArbSim {
    server: ExchangeServer,
    /// The account's key, for the signed reads of [`StatArbSim::lane_spec`].
    signer: BinanceSigner,
    stop: Arc<AtomicBool>,
    bars: Arc<AtomicU64>,
    skip: Arc<std::sync::atomic::AtomicU8>,
    /// Wall milliseconds per bar.
    bar_ms: u64,
    driver: Option<std::thread::JoinHandle<()>>,
}

impl StatArbSim {
    /// Serve the venue with [`HISTORY_BARS`] bars of history and start appending one bar
    /// every `bar_ms`.
    pub fn start(seed: u64, bar_ms: u64) -> anyhow::Result<StatArbSim> {
        Self::start_funded(seed, bar_ms, [START_BASE; 4])
    }

    /// [`StatArbSim::start`] with the account holding `base[i]` size units of symbol `i`'s
    /// base asset (and [`START_QUOTE`] of USDT).
    pub fn start_funded(seed: u64, bar_ms: u64, base: [u128; 4]) -> anyhow::Result<StatArbSim> {
        let signer = BinanceSigner::hmac(SIM_KEY, &ApiSecret::new(SIM_SECRET))
            .map_err(|e| anyhow::anyhow!("statarb sim key: {e}"))?;
        // History ends at the current minute: the lane asks for the bars of the last hours.
        let now_min = kestrel_stdx::clock::Clock::unix_ms(&kestrel_stdx::clock::LiveClock) / 60_000;
        let first_open_ms = now_min.saturating_sub(HISTORY_BARS as u64) * 60_000;
        let mut paths = Paths::new(seed, first_open_ms);
        let mut history: [Vec<Candle>; 4] =
            std::array::from_fn(|_| Vec::with_capacity(HISTORY_BARS));
        for _ in 0..HISTORY_BARS {
            for (h, bar) in history.iter_mut().zip(paths.next_bars()) {
                h.push(bar);
            }
        }
        let mut ex = exchange(base)?;
        for (symbol, h) in SYMBOLS.iter().zip(history) {
            ex.set_candles(symbol, INTERVAL, h);
        }
        // Time runs a bar every `bar_ms` here, not every minute, and the lane polls as fast:
        // Binance's request weight per minute means nothing at that speed, so none is charged.
        let front = BinanceFront::new(vec![signer.verify_key()]).with_weight_limit(u32::MAX);
        let server =
            preset::serve(ex, Box::new(front)).context("starting the statarb sim venue")?;
        let stop = Arc::new(AtomicBool::new(false));
        let bars = Arc::new(AtomicU64::new(0));
        let skip = Arc::new(std::sync::atomic::AtomicU8::new(0));
        let driver = Driver {
            paths,
            book: server.handle(),
            levels: [[Fixed(0); 2]; 4],
            every: Duration::from_millis(bar_ms.max(1)),
            stop: Arc::clone(&stop),
            bars: Arc::clone(&bars),
            skip: Arc::clone(&skip),
        };
        let driver = std::thread::Builder::new()
            .name("statarb-sim".into())
            .spawn(move || driver.run())
            .context("spawning the statarb sim driver")?;
        Ok(StatArbSim {
            server,
            signer,
            stop,
            bars,
            skip,
            bar_ms: bar_ms.max(1),
            driver: Some(driver),
        })
    }

    /// Serve no bar of symbol `i` (series order) on the next step, as a venue that leaves
    /// out minutes without trades does.
    pub fn skip_next_bar(&self, i: usize) {
        if i < SYMBOLS.len() {
            self.skip.fetch_or(1 << i, Ordering::Relaxed);
        }
    }

    /// `http://127.0.0.1:PORT`.
    pub fn rest_url(&self) -> String {
        self.server.http_url()
    }

    /// `ws://127.0.0.1:PORT`.
    pub fn ws_url(&self) -> String {
        self.server.ws_url()
    }

    /// The symbols, in series order.
    pub fn symbols(&self) -> Vec<String> {
        SYMBOLS.iter().map(|s| (*s).to_owned()).collect()
    }

    /// Bars appended since the start (beyond the history).
    pub fn bars_made(&self) -> u64 {
        self.bars.load(Ordering::Relaxed)
    }

    /// A lane's spec for this venue: its URLs, symbols and scales, the account's taker fee as
    /// the venue reports it (signed `GET /api/v3/account/commission`), 100,000 USDT of capital,
    /// selection on the last 500 bars every 100 bars, default rules otherwise.
    pub fn lane_spec(&self) -> anyhow::Result<crate::statarb_lane::StatArbSpec> {
        let scales = Self::scales();
        let url = self.rest_url();
        let setup = crate::venue_setup::load(&self.writer(), &url, SYMBOLS[0], scales)?;
        Ok(crate::statarb_lane::StatArbSpec {
            venue: Venue::Binance,
            rest_url: url,
            ws_url: self.ws_url(),
            symbols: self.symbols(),
            base_assets: BASES.iter().map(|b| (*b).to_owned()).collect(),
            quote_asset: "USDT".to_owned(),
            interval: INTERVAL,
            scales,
            taker_fee: setup.fees.taker,
            buy_fee_asset: BUY_FEE_ASSET,
            capital_units: 100_000 * ONE_QUOTE as i128,
            history_bars: HISTORY_BARS,
            train_bars: 500,
            rescan_every_bars: 100,
            slippage_bps: 50,
            stale_after_ms: 5_000,
            selection: kestrel_strategies::statarb::SelectionConfig::default(),
            signal: kestrel_strategies::statarb::SignalConfig::default(),
            sizing: kestrel_strategies::statarb::SizingConfig::default(),
        })
    }

    /// A `[statarb]` section trading this venue like [`StatArbSim::lane_spec`], with the
    /// account's credentials named `env:{prefix}_KEY` and `env:{prefix}_SECRET` (see
    /// [`StatArbSim::credentials`]).
    pub fn statarb_toml(&self, prefix: &str) -> String {
        let symbols: Vec<String> = SYMBOLS.iter().map(|s| format!("\"{s}\"")).collect();
        format!(
            "[statarb]\nvenue = \"binance\"\nsymbols = [{}]\ninterval = \"{}\"\n\
             rest_url = \"{}\"\nws_url = \"{}\"\nprice_digits = {PRICE_DIGITS}\n\
             size_digits = {SIZE_DIGITS}\nquote_asset = \"USDT\"\ncapital = \"100000\"\n\
             taker_fee = \"0.001\"\nhistory_bars = {HISTORY_BARS}\ntrain_bars = 500\n\
             rescan_every_bars = 100\npoll_ms = {}\napi_key = \"env:{prefix}_KEY\"\n\
             api_secret = \"env:{prefix}_SECRET\"\n",
            symbols.join(", "),
            INTERVAL.name(),
            self.rest_url(),
            self.ws_url(),
            // Twice a bar of this venue's accelerated clock.
            (self.bar_ms / 2).max(10),
        )
    }

    /// The simulated account's made-up key and secret, for [`StatArbSim::statarb_toml`]'s
    /// variables (not secrets: no real account knows them).
    pub fn credentials() -> (&'static str, &'static str) {
        (SIM_KEY, SIM_SECRET)
    }

    /// Price and size digits of every symbol.
    pub fn scales() -> kestrel_venues::orders::Scales {
        kestrel_venues::orders::Scales {
            price: scale(PRICE_DIGITS),
            size: scale(SIZE_DIGITS),
        }
    }

    /// A request writer signing with the simulated account's key.
    pub fn writer(&self) -> BinanceWriter {
        let url = self.rest_url();
        BinanceWriter::new(self.signer.clone(), url.trim_start_matches("http://"))
    }

    /// The venue and a paper lane polling it every `bar_ms / 2` on a thread, its events journaled
    /// when `journal` is given; the lane is built on that thread.
    pub fn run_paper(
        seed: u64,
        bar_ms: u64,
        journal: Option<crate::statarb_lane::LaneJournal>,
    ) -> anyhow::Result<crate::statarb_lane::StatArbRun> {
        use crate::statarb_lane::{StatArbLane, StatArbOrders, StatArbRun, feeds};
        let sim = std::sync::Arc::new(std::sync::Mutex::new(StatArbSim::start(seed, bar_ms)?));
        let spec = sim
            .lock()
            .map_err(|_| anyhow::anyhow!("statarb sim lock poisoned"))?
            .lane_spec()?;
        // The lane fetches its history, runs its seeding backtest and selects on its own
        // thread: the sandbox's other lanes start meanwhile. Bars come every `bar_ms`; polling
        // twice a bar finds each new bar on its own, so every bar may open a position (a poll
        // that finds several lets only the newest).
        let stopper = std::sync::Arc::clone(&sim);
        StatArbRun::spawn(
            Box::new(move || {
                let feeds = feeds(&spec)?;
                StatArbLane::start(spec, feeds, StatArbOrders::Paper, &[])
            }),
            (bar_ms / 2).max(1),
            None,
            journal,
            Box::new(move || {
                if let Ok(mut sim) = stopper.lock() {
                    sim.stop();
                }
            }),
        )
    }

    /// Every balance of the simulated account: `(asset, free, locked)`.
    pub fn balances(&self) -> Vec<(String, u128, u128)> {
        self.server.with_exchange(|ex| ex.balances(SIM_KEY))
    }

    /// Stop appending bars (the server stops when this is dropped).
    pub fn stop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(driver) = self.driver.take() {
            let _ = driver.join();
        }
    }
}

impl Drop for StatArbSim {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Appends bars and moves books.
struct Driver {
    paths: Paths,
    book: ExchangeHandle,
    /// Each symbol's current best bid and ask: the ladder to remove on the next bar.
    levels: [[Fixed; 2]; 4],
    every: Duration,
    stop: Arc<AtomicBool>,
    bars: Arc<AtomicU64>,
    /// Bit `i` set: symbol `i` gets no bar next time.
    skip: Arc<std::sync::atomic::AtomicU8>,
}

impl Driver {
    fn run(mut self) {
        let closes = self.paths.closes.map(price);
        self.move_books(closes);
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(self.every);
            let bars = self.paths.next_bars();
            // All four bars land in one step, so a reader never sees a half-made bar.
            // A symbol told to skip a bar serves none for it (a venue that leaves out minutes
            // without trades).
            let skip = self.skip.swap(0, Ordering::Relaxed);
            self.book.with_exchange(|ex| {
                for (i, (symbol, bar)) in SYMBOLS.iter().zip(bars).enumerate() {
                    if skip & (1 << i) == 0 {
                        ex.push_candle(symbol, INTERVAL, bar);
                    }
                }
            });
            self.move_books(bars.map(|b| b.close));
            self.bars.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Replace each symbol's ladder with [`LEVELS`] levels a side around its close.
    fn move_books(&mut self, closes: [Fixed; 4]) {
        let levels = &mut self.levels;
        self.book.with_exchange(|ex| {
            for (i, symbol) in SYMBOLS.iter().enumerate() {
                let [old_bid, old_ask] = levels[i];
                for k in 0..LEVELS {
                    let off = Fixed(k * LEVEL_STEP_TICKS);
                    if old_bid.0 > off.0 {
                        ex.set_level(symbol, BookSide::Bid, Fixed(old_bid.0 - off.0), Fixed(0));
                    }
                    if old_ask.0 > 0 {
                        ex.set_level(symbol, BookSide::Ask, Fixed(old_ask.0 + off.0), Fixed(0));
                    }
                }
                let bid = Fixed(closes[i].0.saturating_sub(1).max(LEVELS * LEVEL_STEP_TICKS));
                let ask = Fixed(bid.0 + 2);
                for k in 0..LEVELS {
                    let off = k * LEVEL_STEP_TICKS;
                    ex.set_level(symbol, BookSide::Bid, Fixed(bid.0 - off), LEVEL_SIZE);
                    ex.set_level(symbol, BookSide::Ask, Fixed(ask.0 + off), LEVEL_SIZE);
                }
                levels[i] = [bid, ask];
            }
        });
    }
}
