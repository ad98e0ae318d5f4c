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
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::bybit::{BybitFeed, BybitFeedConfig, BybitSymbol};
use kestrel_hot::cex::coinbase::{CoinbaseFeed, CoinbaseFeedConfig, CoinbaseProduct};
use kestrel_hot::cex::kraken::{KrakenFeed, KrakenFeedConfig, KrakenSymbol};
use kestrel_hot::cex::lane::{Execution, LaneConfig, LaneEvent, LegConfig, XarbLane};
use kestrel_hot::cex::okx::{OkxFeed, OkxFeedConfig, OkxSymbol};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::{Holdings, RiskLimits};
use kestrel_strategies::xarb::{SymbolRules, XarbParams};
use kestrel_telemetry::Percentiles;
use kestrel_types::cex::{Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{
    ApiSecret, BinanceSigner, BybitSigner, CoinbaseSigner, KrakenSigner, OkxSigner,
};
use kestrel_venues::orders::{
    BinanceWriter, BybitWriter, CoinbaseWriter, KrakenWriter, OkxWriter, RequestWriter, Scales,
};
use kestrel_venues::sync::kraken::KrakenDepth;
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
    /// Book change read → both orders written, ns.
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
/// Keep-alive pings, where the venue wants them: often enough to be exercised in a short run.
const PING_EVERY_MS: u64 = 1_000;

/// A running cross-exchange simulation: simulated venues, the market driver, and the lane on
/// its own thread. The sandbox runs one for its whole duration; the bench for `duration_s`.
#[allow(missing_debug_implementations)]
pub struct XarbSim {
    venues: Vec<Venue>,
    stop: Arc<AtomicBool>,
    steps: Arc<AtomicU64>,
    dislocations: Arc<AtomicU64>,
    driver: std::thread::JoinHandle<()>,
    lane: std::thread::JoinHandle<anyhow::Result<LaneOutcome>>,
    // Kept alive (and stopped on drop) while the lane trades on them.
    _servers: Vec<ExchangeServer>,
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
        // The lane loads each venue's setup first: nothing runs yet that a failure would leave
        // behind (the feeds connect on the lane's first poll).
        let lane = lane(&venues)?;
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
        let lane_stop = Arc::clone(&stop);
        let lane = std::thread::Builder::new()
            .name("kestrel-xarb".into())
            .spawn(move || run_lane(lane, &lane_stop))
            .context("spawning the lane thread");
        let lane = match lane {
            Ok(lane) => lane,
            Err(e) => {
                stop.store(true, Ordering::Relaxed);
                let _ = driver.join();
                return Err(e);
            }
        };
        Ok(XarbSim {
            venues: names,
            stop,
            steps,
            dislocations,
            driver,
            lane,
            _servers: venues.into_iter().map(|v| v.server).collect(),
        })
    }

    /// Stop everything and report; the lane's journal records come back with the report.
    pub fn stop(
        self,
        duration_s: u64,
    ) -> anyhow::Result<(XarbBench, Vec<kestrel_store::XarbRecord>)> {
        self.stop.store(true, Ordering::Relaxed);
        let _ = self.driver.join();
        let outcome = self
            .lane
            .join()
            .map_err(|_| anyhow::anyhow!("the lane thread panicked"))??;
        let stats = outcome.stats;
        let quote = |units: i128| {
            let sign = if units < 0 { "-" } else { "" };
            let abs = units.unsigned_abs();
            format!("{sign}{}.{:07}", abs / ONE_QUOTE, abs % ONE_QUOTE)
        };
        let report = XarbBench {
            duration_s,
            venues: self.venues.iter().map(|v| v.name().to_string()).collect(),
            market_steps: self.steps.load(Ordering::Relaxed),
            dislocations: self.dislocations.load(Ordering::Relaxed),
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
            self.records.extend(event.to_record());
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

impl SimKey {
    fn new(venue: Venue) -> anyhow::Result<SimKey> {
        let secret = |s: &str| ApiSecret::new(s);
        let key = match venue {
            Venue::Binance => {
                BinanceSigner::hmac("sim-binance-key", &secret("sim-binance-secret-0123456789"))
                    .map(SimKey::Binance)
            }
            // Kraken issues base64 secrets: this is base64 of a made-up text.
            Venue::Kraken => KrakenSigner::new(
                "sim-kraken-key",
                &secret("a2VzdHJlbC1iZW5jaC1rcmFrZW4tc2ltdWxhdGVkLXNlY3JldC1ub3QtcmVhbC0wMDAx"),
            )
            .map(SimKey::Kraken),
            Venue::Okx => OkxSigner::new(
                "sim-okx-key",
                &secret("sim-okx-secret-0123456789"),
                &secret("sim passphrase"),
            )
            .map(SimKey::Okx),
            Venue::Bybit => BybitSigner::new("sim-bybit-key", &secret("sim-bybit-secret-0123"))
                .map(SimKey::Bybit),
            Venue::Coinbase => CoinbaseSigner::from_pem(
                "organizations/sim/apiKeys/0001",
                &secret(SIM_COINBASE_PEM),
            )
            .map(SimKey::Coinbase),
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
    let (ws_url, symbol) = (server.ws_url(), listing.symbol.to_string());
    let (price_scale, size_scale) = (scales.price, scales.size);
    Ok(match listing.venue {
        Venue::Binance => Box::new(BinanceFeed::new(BinanceFeedConfig {
            ws_url,
            rest_url: server.http_url(),
            symbols: vec![FeedSymbol {
                symbol,
                price_scale,
                size_scale,
                capacity: 400,
            }],
            stale_after_ms: STALE_AFTER_MS,
            snapshot_limit: 1000,
        })?),
        Venue::Kraken => Box::new(KrakenFeed::new(KrakenFeedConfig {
            ws_url,
            symbols: vec![KrakenSymbol {
                symbol,
                depth: KrakenDepth::D25,
                price_precision: price_scale,
                qty_precision: size_scale,
            }],
            stale_after_ms: STALE_AFTER_MS,
            ping_every_ms: PING_EVERY_MS,
        })),
        Venue::Okx => Box::new(OkxFeed::new(OkxFeedConfig {
            ws_url,
            symbols: vec![OkxSymbol {
                inst_id: symbol,
                price_scale,
                size_scale,
                capacity: 400,
            }],
            stale_after_ms: STALE_AFTER_MS,
            ping_every_ms: PING_EVERY_MS,
        })),
        Venue::Bybit => Box::new(BybitFeed::new(BybitFeedConfig {
            ws_url,
            symbols: vec![BybitSymbol {
                symbol,
                price_scale,
                size_scale,
                depth: 50,
                capacity: 70,
            }],
            stale_after_ms: STALE_AFTER_MS,
            ping_every_ms: PING_EVERY_MS,
        })),
        Venue::Coinbase => Box::new(CoinbaseFeed::new(CoinbaseFeedConfig {
            ws_url,
            products: vec![CoinbaseProduct {
                product_id: symbol,
                price_scale,
                size_scale,
                capacity: 400,
            }],
            stale_after_ms: STALE_AFTER_MS,
        })),
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
        conns.push(RelayConn::connect(
            i,
            &format!("{}/", server.http_url()),
            tx.clone(),
        )?);
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
    let setup = crate::venue_setup::load(writer, addr, listing.symbol, scales)?;
    let held = |asset: &str, digits: u8| {
        setup
            .balances
            .iter()
            .find(|b| b.asset == asset)
            .and_then(|b| b.free.units_at(digits))
            .unwrap_or(0)
    };
    Ok(LegConfig {
        venue: listing.venue,
        feed: i,
        book: 0,
        symbol: listing.symbol.into(),
        base_asset: "BTC".into(),
        scales,
        tick: setup.rules.tick,
        rules: SymbolRules {
            lot: setup.rules.lot,
            min_size: setup.rules.min_size,
            min_notional: setup.rules.min_notional.unwrap_or(0),
        },
        taker_fee: setup.fees.taker,
        buy_fee_asset: listing.buy_fee_asset,
        holdings: Holdings {
            base: held("BTC", scales.size.digits()),
            quote: held(listing.quote, scales.notional_digits()),
        },
    })
}
