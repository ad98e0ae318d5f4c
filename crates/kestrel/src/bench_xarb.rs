//! `kestrel bench xarb`: the cross-exchange lane against two simulated Binance-format venues on
//! loopback, with the richer venue dislocated on a schedule, measuring the time from the poll
//! that reads a book change to both legs' orders written on their warm connections.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use anyhow::Context as _;
use kestrel_exsim::market::Dislocation;
use kestrel_exsim::preset::{self, ONE_BTC, ONE_USDT, PRICE_DIGITS, SIZE_DIGITS, SYMBOL};
use kestrel_exsim::server::ExchangeServer;
use kestrel_fire::relay::RelayConn;
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::lane::{Execution, LaneConfig, LegConfig, XarbLane};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::{Holdings, RiskLimits};
use kestrel_strategies::xarb::{SymbolRules, XarbParams};
use kestrel_telemetry::Percentiles;
use kestrel_types::cex::{FeeAsset, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BinanceSigner};
use kestrel_venues::orders::{BinanceWriter, RequestWriter, Scales};
use serde::Serialize;

/// `kestrel bench xarb` options.
#[derive(Clone, Copy, Debug)]
pub struct XarbBenchOpts {
    /// Seconds to run.
    pub duration_s: u64,
    /// Milliseconds between dislocations of the richer venue.
    pub dislocate_every_ms: u64,
}

/// What the bench measured.
#[derive(Clone, Debug, Serialize)]
pub struct XarbBench {
    /// Seconds run.
    pub duration_s: u64,
    /// Market steps applied to both venues.
    pub market_steps: u64,
    /// Dislocations made.
    pub dislocations: u64,
    /// Decisions that found the books crossed.
    pub opportunities: u64,
    /// Trades fired.
    pub trades: u64,
    /// Orders sent (legs and unwinds).
    pub orders: u64,
    /// Orders that filled something.
    pub fills: u64,
    /// Unwinds.
    pub unwinds: u64,
    /// Realized PnL, USDT (decimal string).
    pub pnl_quote: String,
    /// Fees paid, USDT (decimal string).
    pub fees_quote: String,
    /// Largest unhedged position seen, valued at its price, USDT (decimal string).
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

/// A running cross-exchange simulation: simulated venues, the market driver, and the lane on
/// its own thread. The sandbox runs one for its whole duration; the bench for `duration_s`.
#[allow(missing_debug_implementations)]
pub struct XarbSim {
    stop: Arc<AtomicBool>,
    steps: Arc<AtomicU64>,
    dislocations: Arc<AtomicU64>,
    driver: std::thread::JoinHandle<()>,
    lane: std::thread::JoinHandle<anyhow::Result<LaneOutcome>>,
    // Kept alive (and stopped on drop) while the lane trades on them.
    _venues: [ExchangeServer; 2],
}

/// What the lane thread hands back.
struct LaneOutcome {
    stats: kestrel_hot::cex::lane::LaneStats,
    update_to_orders: Percentiles,
    update_to_decision: Percentiles,
    decision_to_orders: Percentiles,
    records: Vec<kestrel_store::XarbRecord>,
}

impl XarbSim {
    /// Start the venues, the market and the lane.
    pub fn start(dislocate_every_ms: u64) -> anyhow::Result<XarbSim> {
        let signer = BinanceSigner::hmac(
            "bench-key",
            &ApiSecret::new("bench-secret-0123456789abcdef"),
        )
        .map_err(|e| anyhow::anyhow!("{e}"))?;
        let taker = Rate(100_000);
        let (cheap_usdt, rich_btc) = (10_000_000 * ONE_USDT, 1_000 * ONE_BTC);
        let cheap = preset::binance_venue(&signer.verify_key(), taker, cheap_usdt, 0)?;
        let rich = preset::binance_venue(&signer.verify_key(), taker, 0, rich_btc)?;
        let stop = Arc::new(AtomicBool::new(false));
        let (steps, dislocations) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
        let opts = XarbBenchOpts {
            duration_s: 0,
            dislocate_every_ms,
        };
        let driver = spawn_driver(&cheap, &rich, opts, &stop, &steps, &dislocations)?;
        let lane = lane(&cheap, &rich, &signer)?;
        let lane_stop = Arc::clone(&stop);
        let lane = std::thread::Builder::new()
            .name("kestrel-xarb".into())
            .spawn(move || run_lane(lane, &lane_stop))
            .context("spawning the lane thread")?;
        Ok(XarbSim {
            stop,
            steps,
            dislocations,
            driver,
            lane,
            _venues: [cheap, rich],
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
        let usdt = |units: i128| {
            let sign = if units < 0 { "-" } else { "" };
            let abs = units.unsigned_abs();
            format!("{sign}{}.{:07}", abs / ONE_USDT, abs % ONE_USDT)
        };
        let report = XarbBench {
            duration_s,
            market_steps: self.steps.load(Ordering::Relaxed),
            dislocations: self.dislocations.load(Ordering::Relaxed),
            opportunities: stats.opportunities,
            trades: stats.trades,
            orders: stats.orders,
            fills: stats.fills,
            unwinds: stats.unwinds,
            pnl_quote: usdt(stats.pnl),
            fees_quote: usdt(i128::try_from(stats.fees).unwrap_or(i128::MAX)),
            unhedged_max_quote: usdt(i128::try_from(stats.unhedged_max).unwrap_or(i128::MAX)),
            unprofitable_after_fees: stats.unprofitable_after_fees,
            update_to_orders_ns: outcome.update_to_orders,
            update_to_decision_ns: outcome.update_to_decision,
            decision_to_orders_ns: outcome.decision_to_orders,
        };
        Ok((report, outcome.records))
    }
}

/// Poll the lane until told to stop, then let the trade in flight settle (at most 2 s).
fn run_lane(mut lane: XarbLane, stop: &AtomicBool) -> anyhow::Result<LaneOutcome> {
    let mut records = Vec::new();
    let mut keep = |lane: &mut XarbLane| {
        records.extend(lane.drain_events().iter().filter_map(|e| e.to_record()));
    };
    while !stop.load(Ordering::Relaxed) {
        lane.poll(mono_ns(), LiveClock.unix_ms());
        keep(&mut lane);
        std::thread::yield_now();
    }
    let settle_by = Instant::now() + Duration::from_secs(2);
    while lane.is_busy() && Instant::now() < settle_by {
        lane.poll(mono_ns(), LiveClock.unix_ms());
        keep(&mut lane);
    }
    Ok(LaneOutcome {
        stats: lane.stats(),
        update_to_orders: lane.update_to_orders(),
        update_to_decision: lane.update_to_decision(),
        decision_to_orders: lane.decision_to_orders(),
        records,
    })
}

/// Run the bench.
pub fn xarb(opts: XarbBenchOpts) -> anyhow::Result<XarbBench> {
    let sim = XarbSim::start(opts.dislocate_every_ms)?;
    std::thread::sleep(Duration::from_secs(opts.duration_s));
    Ok(sim.stop(opts.duration_s)?.0)
}

/// Steps the shared market every 5 ms and moves both venues' books to it; every
/// `dislocate_every_ms` the richer venue's prices jump 60 bp for 10 steps.
fn spawn_driver(
    cheap: &ExchangeServer,
    rich: &ExchangeServer,
    opts: XarbBenchOpts,
    stop: &Arc<AtomicBool>,
    steps: &Arc<AtomicU64>,
    dislocations: &Arc<AtomicU64>,
) -> anyhow::Result<std::thread::JoinHandle<()>> {
    let mut market = preset::market(1, &[Venue::Binance, Venue::Okx]);
    let (cheap_core, rich_core) = (cheap.handle(), rich.handle());
    cheap_core.with_exchange(|ex| market.apply(Venue::Binance, ex, SYMBOL));
    rich_core.with_exchange(|ex| market.apply(Venue::Okx, ex, SYMBOL));
    let (stop, steps, dislocations) = (
        Arc::clone(stop),
        Arc::clone(steps),
        Arc::clone(dislocations),
    );
    std::thread::Builder::new()
        .name("bench-xarb-market".into())
        .spawn(move || {
            let mut last_dislocation = Instant::now();
            while !stop.load(Ordering::Relaxed) {
                std::thread::sleep(Duration::from_millis(5));
                market.step();
                if last_dislocation.elapsed() >= Duration::from_millis(opts.dislocate_every_ms) {
                    market.dislocate(Dislocation {
                        venue: Venue::Okx,
                        offset_bps: 60,
                        steps: 10,
                    });
                    last_dislocation = Instant::now();
                    dislocations.fetch_add(1, Ordering::Relaxed);
                }
                cheap_core.with_exchange(|ex| market.apply(Venue::Binance, ex, SYMBOL));
                rich_core.with_exchange(|ex| market.apply(Venue::Okx, ex, SYMBOL));
                steps.fetch_add(1, Ordering::Relaxed);
            }
        })
        .context("spawning the market driver")
}

/// The lane over the two venues, with each venue's fee rate, symbol rules and balances loaded
/// from the venue itself before trading.
fn lane(
    cheap: &ExchangeServer,
    rich: &ExchangeServer,
    signer: &BinanceSigner,
) -> anyhow::Result<XarbLane> {
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
    for (i, server) in [cheap, rich].into_iter().enumerate() {
        feeds.push(Box::new(BinanceFeed::new(BinanceFeedConfig {
            ws_url: server.ws_url(),
            rest_url: server.http_url(),
            symbols: vec![FeedSymbol {
                symbol: SYMBOL.into(),
                price_scale: scales.price,
                size_scale: scales.size,
                capacity: 400,
            }],
            stale_after_ms: 2_000,
            snapshot_limit: 1000,
        })?));
        conns.push(RelayConn::connect(
            i,
            &format!("{}/", server.http_url()),
            tx.clone(),
        )?);
        let writer = BinanceWriter::new(signer.clone(), &server.addr().to_string());
        let setup = crate::venue_setup::load(&writer, &server.addr().to_string(), SYMBOL, scales)?;
        let held = |asset: &str, digits: u8| {
            setup
                .balances
                .iter()
                .find(|b| b.asset == asset)
                .and_then(|b| b.free.units_at(digits))
                .unwrap_or(0)
        };
        legs.push(LegConfig {
            venue: Venue::Binance,
            feed: i,
            book: 0,
            symbol: SYMBOL.into(),
            base_asset: "BTC".into(),
            scales,
            tick: setup.rules.tick,
            rules: SymbolRules {
                lot: setup.rules.lot,
                min_size: setup.rules.min_size,
                min_notional: setup.rules.min_notional.unwrap_or(0),
            },
            taker_fee: setup.fees.taker,
            buy_fee_asset: FeeAsset::Base,
            holdings: Holdings {
                base: held("BTC", scales.size.digits()),
                quote: held("USDT", scales.notional_digits()),
            },
        });
        writers.push(Box::new(writer));
    }
    Ok(XarbLane::new(
        LaneConfig {
            legs,
            params: XarbParams {
                max_size: Fixed(50_000),
                min_profit: ONE_USDT,
                safety_margin: Rate(10_000),
                transfer_per_base: Fixed(0),
            },
            limits: RiskLimits {
                max_drawdown: 1_000_000 * ONE_USDT,
                max_imbalance: 10 * ONE_BTC,
                max_orders_per_minute: 1_000,
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
