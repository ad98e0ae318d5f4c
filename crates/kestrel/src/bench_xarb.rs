//! `kestrel bench xarb`: the cross-exchange lane against five simulated venues on loopback, one
//! per real format (Binance, Kraken, OKX, Bybit, Coinbase), each with its own feed client,
//! request writer, signer, symbol spelling, quote asset and fees. One market moves them all;
//! every `dislocate_every_ms` the next venue in turn jumps 60 bp up or down (alternately) for
//! 10 steps. The bench measures the time from the poll that reads a book change to both legs'
//! orders written on their warm connections, and counts trades by venue pair.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::bybit::BybitFront;
use kestrel_exsim::coinbase::CoinbaseFront;
use kestrel_exsim::kraken::KrakenFront;
use kestrel_exsim::market::{Dislocation, MarketGen};
use kestrel_exsim::okx::OkxFront;
use kestrel_exsim::preset::{
    self, LISTINGS, Listing, ONE_BTC, ONE_QUOTE, PRICE_DIGITS, SIZE_DIGITS,
};
use kestrel_exsim::server::{ExchangeHandle, ExchangeServer, Front};
use kestrel_fire::relay::RelayConn;
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::lane::{Execution, LaneConfig, LaneEvent, LegConfig, XarbLane};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::RiskLimits;
use kestrel_strategies::xarb::XarbParams;
use kestrel_telemetry::Percentiles;
use kestrel_types::cex::{FeeAsset, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{
    ApiSecret, BinanceSigner, BybitSigner, CoinbaseSigner, KrakenSigner, OkxSigner,
};
use kestrel_venues::orders::{
    BinanceWriter, BybitWriter, CoinbaseWriter, KrakenWriter, OkxWriter, RequestWriter, Scales,
};
use serde::Serialize;

/// `kestrel bench xarb` options.
#[derive(Clone, Copy, Debug)]
pub struct XarbBenchOpts {
    /// Seconds to run.
    pub duration_s: u64,
    /// Milliseconds between dislocations (each of the next venue in turn).
    pub dislocate_every_ms: u64,
}

/// What the bench measured. Quote amounts add the venues' USD and USDT at par (the simulated
/// market prices both the same).
#[derive(Clone, Debug, Serialize)]
pub struct XarbBench {
    /// Seconds run.
    pub duration_s: u64,
    /// The venues traded, in leg order.
    pub venues: Vec<String>,
    /// Market steps applied to every venue.
    pub market_steps: u64,
    /// Dislocations made.
    pub dislocations: u64,
    /// Decisions that found the books crossed.
    pub opportunities: u64,
    /// Trades fired.
    pub trades: u64,
    /// Trades fired per venue pair, `"buy->sell"`.
    pub trades_by_pair: BTreeMap<String, u64>,
    /// Orders sent (legs and unwinds).
    pub orders: u64,
    /// Orders that filled something.
    pub fills: u64,
    /// Unwinds.
    pub unwinds: u64,
    /// Realized PnL, quote (decimal string).
    pub pnl_quote: String,
    /// Fees paid, quote (decimal string).
    pub fees_quote: String,
    /// Largest unhedged position seen, valued at its price, quote (decimal string).
    pub unhedged_max_quote: String,
    /// Trades that filled in full and lost money after fees (must be 0).
    pub unprofitable_after_fees: u64,
    /// Trades decided on a book change that waited behind the trade in flight (or for
    /// budget): not in the spans below.
    pub deferred_trades: u64,
    /// Times a trade worth making was held back for a venue's request budget (its own count
    /// included: Binance's weight, Bybit's orders left), once per hold.
    pub rate_limited: u64,
    /// Rate-limit or busy answers from a venue, each of which paused it.
    pub venue_pauses: u64,
    /// Fills whose fee the venue took in a third asset (the simulated Binance's BNB),
    /// valued at the discounted rate it states.
    pub fees_in_other_asset: u64,
    /// Book change read → both orders written, ns (trades decided in the poll that read it).
    pub update_to_orders_ns: Percentiles,
    /// Its first part: book change read → decision to trade, ns.
    pub update_to_decision_ns: Percentiles,
    /// Its second part: decision → both requests signed and written, ns.
    pub decision_to_orders_ns: Percentiles,
}

/// What every simulated account holds at start on every venue: enough of both assets that any
/// pair can trade either way.
const START_QUOTE: u128 = 500_000 * ONE_QUOTE;
const START_BTC: u128 = 5 * ONE_BTC;

/// How far a dislocation moves a venue, and for how many market steps.
const DISLOCATION_BPS: i32 = 60;
const DISLOCATION_STEPS: u32 = 10;

/// A book with no message for this long is not quoted from.
const STALE_AFTER_MS: u64 = 2_000;

/// Five simulated venues on loopback, one per real format, sharing one moving market: the
/// servers and the market driver. `bench xarb` and the sandbox run a lane over them;
/// `kestrel exsim` serves them for a `kestrel run` rehearsal.
#[allow(missing_debug_implementations)]
pub struct SimVenues {
    venues: Vec<SimVenue>,
    stop: Arc<AtomicBool>,
    steps: Arc<AtomicU64>,
    dislocations: Arc<AtomicU64>,
    driver: Option<std::thread::JoinHandle<()>>,
}

impl SimVenues {
    /// Start the five venues (accounts funded with 500,000 quote and 5 BTC each) and the
    /// market; every `dislocate_every_ms` the next venue in turn jumps 60 bp.
    pub fn start(dislocate_every_ms: u64) -> anyhow::Result<SimVenues> {
        let mut venues = Vec::with_capacity(LISTINGS.len());
        for listing in LISTINGS {
            let key = SimKey::new(listing.venue)?;
            let ex = preset::exchange(&listing, key.account(), START_QUOTE, START_BTC)?;
            let server = preset::serve(ex, key.front())
                .with_context(|| format!("starting the simulated {}", listing.venue))?;
            venues.push(SimVenue {
                listing,
                key,
                server,
            });
        }
        let names: Vec<Venue> = venues.iter().map(|v| v.listing.venue).collect();
        let stop = Arc::new(AtomicBool::new(false));
        let (steps, dislocations) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let books = venues
            .iter()
            .map(|v| (v.listing, v.server.handle()))
            .collect();
        let driver = Driver {
            market: preset::market(1, &names),
            books,
            dislocate_every: Duration::from_millis(dislocate_every_ms),
            stop: Arc::clone(&stop),
            steps: Arc::clone(&steps),
            dislocations: Arc::clone(&dislocations),
        }
        .spawn()?;
        Ok(SimVenues {
            venues,
            stop,
            steps,
            dislocations,
            driver: Some(driver),
        })
    }

    /// Has `venue`'s server act out `fault` (a gap, a bad checksum, a dropped connection, a
    /// stall, a rejected order); false when no such venue runs here.
    pub fn fault(&self, venue: Venue, fault: kestrel_exsim::server::Fault) -> bool {
        let Some(v) = self.venues.iter().find(|v| v.listing.venue == venue) else {
            return false;
        };
        v.server.fault(fault);
        true
    }

    /// The venues, in the order of [`SimVenues::xarb_toml`]'s `[[xarb.venues]]`.
    pub fn names(&self) -> Vec<Venue> {
        self.venues.iter().map(|v| v.listing.venue).collect()
    }

    /// An `[xarb]` section trading the simulated venues, with credentials named
    /// `{prefix}_{VENUE}_API_KEY`, `…_API_SECRET` (and `…_PASSPHRASE` for OKX).
    pub fn xarb_toml(&self, prefix: &str) -> String {
        let mut out = format!(
            "[xarb]\nbase = \"BTC\"\nquote = \"USD\"\nprice_digits = {PRICE_DIGITS}\n\
             size_digits = {SIZE_DIGITS}\nmax_size = \"0.05\"\nmin_profit = \"1\"\n\
             safety_margin_bps = 1\nmax_drawdown = \"1000000\"\nmax_imbalance = \"10\"\n\
             max_orders_per_minute = 15000\nunwind_slippage_bps = 100\n\
             stale_after_ms = {STALE_AFTER_MS}\n"
        );
        for v in &self.venues {
            let venue = v.listing.venue;
            let var = |what: &str| format!("env:{prefix}_{}_{what}", venue.name().to_uppercase());
            let passphrase = if venue == Venue::Okx {
                format!("passphrase = \"{}\"\n", var("PASSPHRASE"))
            } else {
                String::new()
            };
            let fee = match v.listing.buy_fee_asset {
                FeeAsset::Base => "base",
                FeeAsset::Quote => "quote",
            };
            out.push_str(&format!(
                "\n[[xarb.venues]]\nvenue = \"{}\"\nsymbol = \"{}\"\nbase_asset = \"BTC\"\n\
                 quote_asset = \"{}\"\nws_url = \"{}\"\nrest_url = \"{}\"\n\
                 api_key = \"{}\"\napi_secret = \"{}\"\n{passphrase}buy_fee_asset = \"{fee}\"\n\
                 requests_per_second = 1000\nburst = 1000\n",
                venue.name(),
                v.listing.symbol,
                v.listing.quote,
                v.server.ws_url(),
                v.server.http_url(),
                var("API_KEY"),
                var("API_SECRET"),
            ));
        }
        out
    }

    /// The simulated accounts' credentials as `(variable, value)` under `prefix`, matching
    /// [`SimVenues::xarb_toml`] (made-up keys the simulated venues accept; not secrets).
    pub fn credentials(&self, prefix: &str) -> Vec<(String, String)> {
        let mut out = Vec::new();
        for v in &self.venues {
            let venue = v.listing.venue;
            let (key, secret, passphrase) = sim_credentials(venue);
            let var = |what: &str| format!("{prefix}_{}_{what}", venue.name().to_uppercase());
            out.push((var("API_KEY"), key.to_owned()));
            out.push((var("API_SECRET"), secret.to_owned()));
            if let Some(p) = passphrase {
                out.push((var("PASSPHRASE"), p.to_owned()));
            }
        }
        out
    }

    /// The same credentials, as the lane takes them.
    pub fn secrets(&self) -> Vec<crate::xarb_run::VenueSecrets> {
        self.venues
            .iter()
            .map(|v| {
                let (key, secret, passphrase) = sim_credentials(v.listing.venue);
                crate::xarb_run::VenueSecrets {
                    api_key: ApiSecret::new(key),
                    api_secret: ApiSecret::new(secret),
                    passphrase: passphrase.map(ApiSecret::new),
                }
            })
            .collect()
    }

    /// What the account holds free on venue `i`, as the venue's own books say (base units,
    /// quote notional units).
    pub fn account(&self, i: usize) -> Option<(u128, u128)> {
        let v = self.venues.get(i)?;
        let account = v.key.account().to_owned();
        let quote = v.listing.quote;
        let (base, quote) = v
            .server
            .handle()
            .with_exchange(|ex| (ex.balance(&account, "BTC").0, ex.balance(&account, quote).0));
        Some((base, quote))
    }

    /// Venue `i`'s REST base URL and how it spells the symbol.
    pub fn rest(&self, i: usize) -> Option<(String, &'static str)> {
        let v = self.venues.get(i)?;
        Some((v.server.http_url(), v.listing.symbol))
    }

    /// Give venue `i` this candle history for its symbol (served on its candle endpoint).
    pub fn set_candles(
        &self,
        i: usize,
        interval: kestrel_types::cex::Interval,
        candles: Vec<kestrel_types::cex::Candle>,
    ) {
        if let Some(v) = self.venues.get(i) {
            let symbol = v.listing.symbol;
            v.server
                .handle()
                .with_exchange(|ex| ex.set_candles(symbol, interval, candles));
        }
    }

    /// Market steps and dislocations so far.
    pub fn progress(&self) -> (u64, u64) {
        (
            self.steps.load(Ordering::Relaxed),
            self.dislocations.load(Ordering::Relaxed),
        )
    }

    /// Stop the market (the servers stop when this is dropped).
    pub fn stop_market(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(driver) = self.driver.take() {
            let _ = driver.join();
        }
    }
}

impl Drop for SimVenues {
    fn drop(&mut self) {
        self.stop_market();
    }
}

/// A running cross-exchange simulation: simulated venues, the market driver, and the lane on
/// its own thread. The sandbox runs one for its whole duration; the bench for `duration_s`.
#[allow(missing_debug_implementations)]
pub struct XarbSim {
    sim: SimVenues,
    stop: Arc<AtomicBool>,
    lane: std::thread::JoinHandle<anyhow::Result<LaneOutcome>>,
}

/// What the lane thread hands back.
struct LaneOutcome {
    stats: kestrel_hot::cex::lane::LaneStats,
    trades_by_pair: BTreeMap<String, u64>,
    update_to_orders: Percentiles,
    update_to_decision: Percentiles,
    decision_to_orders: Percentiles,
    records: Vec<kestrel_store::XarbRecord>,
}

/// One simulated venue: how it lists the symbol, the lane's key there, and its server.
struct SimVenue {
    listing: Listing,
    key: SimKey,
    server: ExchangeServer,
}

impl XarbSim {
    /// Start the venues, the market and the lane.
    pub fn start(dislocate_every_ms: u64) -> anyhow::Result<XarbSim> {
        let sim = SimVenues::start(dislocate_every_ms)?;
        // The lane loads each venue's setup first (the feeds connect on the lane's first poll).
        let lane = lane(&sim.venues)?;
        let stop = Arc::new(AtomicBool::new(false));
        let lane_stop = Arc::clone(&stop);
        let lane = std::thread::Builder::new()
            .name("kestrel-xarb".into())
            .spawn(move || run_lane(lane, &lane_stop))
            .context("spawning the lane thread")?;
        Ok(XarbSim { sim, stop, lane })
    }

    /// Stop everything and report; the lane's journal records come back with the report.
    pub fn stop(
        self,
        duration_s: u64,
    ) -> anyhow::Result<(XarbBench, Vec<kestrel_store::XarbRecord>)> {
        let mut sim = self.sim;
        sim.stop_market();
        self.stop.store(true, Ordering::Relaxed);
        let outcome = self
            .lane
            .join()
            .map_err(|_| anyhow::anyhow!("the lane thread panicked"))??;
        let stats = outcome.stats;
        let quote = |units: i128| crate::quote_decimal(units, PRICE_DIGITS + SIZE_DIGITS);
        let report = XarbBench {
            duration_s,
            venues: sim.names().iter().map(|v| v.name().to_string()).collect(),
            market_steps: sim.progress().0,
            dislocations: sim.progress().1,
            opportunities: stats.opportunities,
            trades: stats.trades,
            trades_by_pair: outcome.trades_by_pair,
            orders: stats.orders,
            fills: stats.fills,
            unwinds: stats.unwinds,
            pnl_quote: quote(stats.pnl),
            fees_quote: quote(i128::try_from(stats.fees).unwrap_or(i128::MAX)),
            unhedged_max_quote: quote(i128::try_from(stats.unhedged_max).unwrap_or(i128::MAX)),
            unprofitable_after_fees: stats.unprofitable_after_fees,
            deferred_trades: stats.deferred_trades,
            rate_limited: stats.rate_limited,
            venue_pauses: stats.venue_pauses,
            fees_in_other_asset: stats.fees_in_other_asset,
            update_to_orders_ns: outcome.update_to_orders,
            update_to_decision_ns: outcome.update_to_decision,
            decision_to_orders_ns: outcome.decision_to_orders,
        };
        Ok((report, outcome.records))
    }
}

/// What the lane thread keeps of the lane's events: the journal records, and trades per pair.
#[derive(Default)]
struct Kept {
    records: Vec<kestrel_store::XarbRecord>,
    trades_by_pair: BTreeMap<String, u64>,
}

impl Kept {
    fn take(&mut self, lane: &mut XarbLane) {
        for event in lane.drain_events() {
            if let LaneEvent::Trade { opportunity, .. } = &event {
                let pair = format!(
                    "{}->{}",
                    opportunity.buy_venue.name(),
                    opportunity.sell_venue.name()
                );
                *self.trades_by_pair.entry(pair).or_default() += 1;
            }
            // Its venues are simulated: the run is a dry run, whose trips only dry runs read.
            self.records
                .extend(event.to_record(kestrel_types::Mode::DryRun));
        }
    }
}

/// Poll the lane until told to stop, then let the trade in flight settle (at most 2 s).
fn run_lane(mut lane: XarbLane, stop: &AtomicBool) -> anyhow::Result<LaneOutcome> {
    let mut kept = Kept::default();
    while !stop.load(Ordering::Relaxed) {
        lane.poll(mono_ns(), LiveClock.unix_ms());
        kept.take(&mut lane);
        std::thread::yield_now();
    }
    lane.stop_deciding();
    let settle_by = Instant::now() + Duration::from_secs(2);
    while lane.is_busy() && Instant::now() < settle_by {
        lane.poll(mono_ns(), LiveClock.unix_ms());
        kept.take(&mut lane);
    }
    Ok(LaneOutcome {
        stats: lane.stats(),
        trades_by_pair: kept.trades_by_pair,
        update_to_orders: lane.update_to_orders(),
        update_to_decision: lane.update_to_decision(),
        decision_to_orders: lane.decision_to_orders(),
        records: kept.records,
    })
}

/// Run the bench.
pub fn xarb(opts: XarbBenchOpts) -> anyhow::Result<XarbBench> {
    let sim = XarbSim::start(opts.dislocate_every_ms)?;
    std::thread::sleep(Duration::from_secs(opts.duration_s));
    Ok(sim.stop(opts.duration_s)?.0)
}

/// The market driver: steps the shared market every 5 ms and moves every venue's book to it;
/// every `dislocate_every` the next venue in turn is moved 60 bp, up and down alternately.
struct Driver {
    market: MarketGen,
    books: Vec<(Listing, ExchangeHandle)>,
    dislocate_every: Duration,
    stop: Arc<AtomicBool>,
    steps: Arc<AtomicU64>,
    dislocations: Arc<AtomicU64>,
}

impl Driver {
    fn spawn(self) -> anyhow::Result<std::thread::JoinHandle<()>> {
        self.apply();
        std::thread::Builder::new()
            .name("bench-xarb-market".into())
            .spawn(move || self.run())
            .context("spawning the market driver")
    }

    fn run(mut self) {
        let mut last_dislocation = Instant::now();
        let mut made = 0usize;
        while !self.stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_millis(5));
            self.market.step();
            if last_dislocation.elapsed() >= self.dislocate_every && !self.books.is_empty() {
                // Round robin over an odd number of venues with alternating signs: each venue
                // is moved up on one turn and down on its next, so its inventory comes back.
                let venue = self.books[made % self.books.len()].0.venue;
                let offset_bps = if made.is_multiple_of(2) {
                    DISLOCATION_BPS
                } else {
                    -DISLOCATION_BPS
                };
                self.market.dislocate(Dislocation {
                    venue,
                    offset_bps,
                    steps: DISLOCATION_STEPS,
                });
                made += 1;
                last_dislocation = Instant::now();
                self.dislocations.fetch_add(1, Ordering::Relaxed);
            }
            self.apply();
            self.steps.fetch_add(1, Ordering::Relaxed);
        }
    }

    fn apply(&self) {
        for (listing, book) in &self.books {
            book.with_exchange(|ex| self.market.apply(listing.venue, ex, listing.symbol));
        }
    }
}

/// A P-256 key made once with `openssl ecparam -name prime256v1 -genkey` for the simulated
/// Coinbase only: the simulated venue is given its public half. Not a secret, and no real
/// account knows it.
const SIM_COINBASE_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIPlnFtSul27Ewsnr85Rfwfxed9p32+VKkcqwFwshYKoHoAoGCCqGSM49
AwEHoUQDQgAETB244JXda+nXJC5Y3nKDraOqpPRen/vy8fcTUga/LAlg7xW7LUVb
oJBKOF+/xIHeUBQ9pLHLZJ+dZVak/Rwmbg==
-----END EC PRIVATE KEY-----";

/// The lane's API key on one simulated venue: the signer its requests carry, from which the
/// venue's record of the key is made. Simulation-only credentials, made up here.
enum SimKey {
    Binance(BinanceSigner),
    Kraken(KrakenSigner),
    Okx(OkxSigner),
    Bybit(BybitSigner),
    Coinbase(CoinbaseSigner),
}

/// The simulated accounts' made-up credentials: `(api key, secret, passphrase)`.
fn sim_credentials(venue: Venue) -> (&'static str, &'static str, Option<&'static str>) {
    match venue {
        Venue::Binance => ("sim-binance-key", "sim-binance-secret-0123456789", None),
        // Kraken issues base64 secrets: this is base64 of a made-up text.
        Venue::Kraken => (
            "sim-kraken-key",
            "a2VzdHJlbC1iZW5jaC1rcmFrZW4tc2ltdWxhdGVkLXNlY3JldC1ub3QtcmVhbC0wMDAx",
            None,
        ),
        Venue::Okx => (
            "sim-okx-key",
            "sim-okx-secret-0123456789",
            Some("sim passphrase"),
        ),
        Venue::Bybit => ("sim-bybit-key", "sim-bybit-secret-0123", None),
        Venue::Coinbase => ("organizations/sim/apiKeys/0001", SIM_COINBASE_PEM, None),
    }
}

impl SimKey {
    fn new(venue: Venue) -> anyhow::Result<SimKey> {
        let (key, secret, passphrase) = sim_credentials(venue);
        let secret = ApiSecret::new(secret);
        let key = match venue {
            Venue::Binance => BinanceSigner::hmac(key, &secret).map(SimKey::Binance),
            Venue::Kraken => KrakenSigner::new(key, &secret).map(SimKey::Kraken),
            Venue::Okx => OkxSigner::new(key, &secret, &ApiSecret::new(passphrase.unwrap_or("")))
                .map(SimKey::Okx),
            Venue::Bybit => BybitSigner::new(key, &secret).map(SimKey::Bybit),
            Venue::Coinbase => CoinbaseSigner::from_pem(key, &secret).map(SimKey::Coinbase),
        };
        key.map_err(|e| anyhow::anyhow!("{venue}: simulated key: {e}"))
    }

    /// The venue's account for this key.
    fn account(&self) -> &str {
        match self {
            SimKey::Binance(s) => s.api_key(),
            SimKey::Kraken(s) => s.api_key(),
            SimKey::Okx(s) => s.api_key(),
            SimKey::Bybit(s) => s.api_key(),
            SimKey::Coinbase(s) => s.key_name(),
        }
    }

    /// The simulated venue's front, accepting this key only.
    fn front(&self) -> Box<dyn Front> {
        match self {
            SimKey::Binance(s) => Box::new(BinanceFront::new(vec![s.verify_key()])),
            SimKey::Kraken(s) => Box::new(KrakenFront::new(vec![s.clone()])),
            SimKey::Okx(s) => Box::new(OkxFront::new(vec![s.clone()])),
            SimKey::Bybit(s) => Box::new(BybitFront::new(vec![s.clone()])),
            SimKey::Coinbase(s) => Box::new(CoinbaseFront::new(vec![s.verify_key()])),
        }
    }

    /// The lane's request writer for the venue at `host` (`host:port`).
    fn writer(&self, host: &str) -> Box<dyn RequestWriter + Send> {
        match self {
            SimKey::Binance(s) => Box::new(BinanceWriter::new(s.clone(), host)),
            SimKey::Kraken(s) => Box::new(KrakenWriter::new(s.clone(), host)),
            SimKey::Okx(s) => Box::new(OkxWriter::new(s.clone(), host)),
            SimKey::Bybit(s) => Box::new(BybitWriter::new(s.clone(), host)),
            SimKey::Coinbase(s) => Box::new(CoinbaseWriter::new(s.clone(), host)),
        }
    }
}

/// The venue's market-data client for `listing`'s symbol at `scales`.
fn feed(
    listing: &Listing,
    server: &ExchangeServer,
    scales: Scales,
) -> anyhow::Result<Box<dyn VenueFeed + Send>> {
    crate::xarb_run::feed(crate::xarb_run::FeedTarget {
        venue: listing.venue,
        ws_url: &server.ws_url(),
        rest_url: &server.http_url(),
        symbol: listing.symbol,
        scales,
        stale_after_ms: STALE_AFTER_MS,
    })
}

/// The lane over every venue, with each venue's fee rate, symbol rules and balances loaded
/// from the venue itself before trading.
fn lane(venues: &[SimVenue]) -> anyhow::Result<XarbLane> {
    let scale = |d| Scale::new(d).unwrap_or_else(|| unreachable!("digits below 19"));
    let scales = Scales {
        price: scale(PRICE_DIGITS),
        size: scale(SIZE_DIGITS),
    };
    let mut feeds: Vec<Box<dyn VenueFeed + Send>> = Vec::new();
    let (tx, replies) = sync_channel(1024);
    let mut conns = Vec::new();
    let mut writers: Vec<Box<dyn RequestWriter + Send>> = Vec::new();
    let mut legs = Vec::new();
    for (i, venue) in venues.iter().enumerate() {
        let (listing, server) = (&venue.listing, &venue.server);
        feeds.push(feed(listing, server, scales)?);
        conns.push(RelayConn::connect(i, &format!("{}/", server.http_url()), tx.clone())?.into());
        let addr = server.addr().to_string();
        let writer = venue.key.writer(&addr);
        legs.push(leg(i, listing, writer.as_ref(), &addr, scales)?);
        writers.push(writer);
    }
    Ok(XarbLane::new(
        LaneConfig {
            legs,
            params: XarbParams {
                max_size: Fixed(50_000),
                min_profit: ONE_QUOTE,
                safety_margin: Rate(10_000),
                transfer_per_base: Fixed(0),
            },
            limits: RiskLimits {
                max_drawdown: 1_000_000 * ONE_QUOTE,
                max_imbalance: 10 * ONE_BTC,
                max_orders_per_minute: 15_000,
            },
            unwind_slippage: Rate(1_000_000),
        },
        feeds,
        Execution::Orders {
            writers,
            conns,
            replies,
        },
    ))
}

/// Leg `i` on `listing`'s venue: fees, rules and balances as the venue reports them; the
/// symbol, the asset names and where a buy's fee is taken as the venue lists them.
fn leg(
    i: usize,
    listing: &Listing,
    writer: &dyn RequestWriter,
    addr: &str,
    scales: Scales,
) -> anyhow::Result<LegConfig> {
    let listing = crate::xarb_run::LegListing {
        venue: listing.venue,
        // The simulated venues set no limit; the kill switch's order rate still applies.
        budget: (100_000, 100_000),
        symbol: listing.symbol,
        base_asset: "BTC",
        quote_asset: listing.quote,
        buy_fee_asset: listing.buy_fee_asset,
    };
    crate::xarb_run::leg(i, listing, writer, addr, scales, false)
}
