//! The cross-exchange lane as `kestrel run` starts it from `[xarb]`: one feed, request writer
//! and warm connection per `[[xarb.venues]]`, fees, rules and balances loaded from each venue,
//! the lane on its own thread, and every event appended to the journal as it happens.
//!
//! Dry-run fills on paper against the live books ([`Execution::Paper`]); only live mode (the
//! config's `mode = "live"` and `--live`) sends orders. In paper mode the holdings are the
//! journal's last positions of paper runs for the same venues when there are any (a restarted
//! paper run goes on from where it stopped), else the account's balances; live mode always
//! starts from the balances the venues report.
//!
//! A kill switch trip is journaled once, with the run's mode. A lane whose mode's latest trip
//! has no reset after it starts tripped and opens no trade until an operator clears it
//! (`kestrel xarb reset-kill-switch`, [`crate::xarb_admin::reset_kill_switch`]) and restarts:
//! a restart never re-arms trading by itself.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::mpsc::sync_channel;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use anyhow::Context as _;

use crate::lane_metrics::XarbGauges;
use kestrel_config::{BinanceKeyKind, XarbConfig};
use kestrel_fire::relay::RelayConn;
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::bybit::{BybitFeed, BybitFeedConfig, BybitSymbol};
use kestrel_hot::cex::coinbase::{CoinbaseFeed, CoinbaseFeedConfig, CoinbaseProduct};
use kestrel_hot::cex::kraken::{KrakenFeed, KrakenFeedConfig, KrakenSymbol};
use kestrel_hot::cex::lane::{
    Execution, LaneConfig, LaneEvent, LaneStats, LegConfig, OrderConn, XarbLane,
};
use kestrel_hot::cex::okx::{OkxFeed, OkxFeedConfig, OkxSymbol};
use kestrel_hot::net::TlsOrderConn;
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_store::{JournalHandle, KillSwitchRow, PositionRow, Record};
use kestrel_strategies::risk::{Holdings, RiskLimits, TripReason};
use kestrel_strategies::xarb::{SymbolRules, XarbParams};
use kestrel_types::Mode;
use kestrel_types::cex::{FeeAsset, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{
    ApiSecret, BinanceSigner, BybitSigner, CoinbaseSigner, KrakenSigner, OkxSigner,
};
use kestrel_venues::orders::{
    BinanceWriter, BybitWriter, CoinbaseWriter, KrakenWriter, OkxWriter, RequestWriter, Scales,
};
use kestrel_venues::sync::kraken::KrakenDepth;

/// Application-level pings on venues that want them (Kraken, OKX, Bybit).
const PING_EVERY_MS: u64 = 1_000;

/// Where a symbol lives on one venue: what a feed needs to follow its book.
#[derive(Clone, Copy, Debug)]
pub(crate) struct FeedTarget<'a> {
    pub venue: Venue,
    pub ws_url: &'a str,
    /// `http://host:port` (Binance takes its depth snapshots there).
    pub rest_url: &'a str,
    pub symbol: &'a str,
    pub scales: Scales,
    pub stale_after_ms: u64,
}

/// The venue's market-data client for one symbol.
pub(crate) fn feed(t: FeedTarget<'_>) -> anyhow::Result<Box<dyn VenueFeed + Send>> {
    let (ws_url, symbol) = (t.ws_url.to_owned(), t.symbol.to_owned());
    let (price_scale, size_scale) = (t.scales.price, t.scales.size);
    let stale_after_ms = t.stale_after_ms;
    Ok(match t.venue {
        Venue::Binance => Box::new(BinanceFeed::new(BinanceFeedConfig {
            ws_url,
            rest_url: t.rest_url.trim_end_matches('/').to_owned(),
            symbols: vec![FeedSymbol {
                symbol,
                price_scale,
                size_scale,
                capacity: 400,
            }],
            stale_after_ms,
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
            stale_after_ms,
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
            stale_after_ms,
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
            stale_after_ms,
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
            stale_after_ms,
        })),
    })
}

/// How one venue lists the lane's symbol.
#[derive(Clone, Copy, Debug)]
pub(crate) struct LegListing<'a> {
    pub venue: Venue,
    /// The lane's REST budget there: requests per second and burst.
    pub budget: (u32, u32),
    pub symbol: &'a str,
    pub base_asset: &'a str,
    pub quote_asset: &'a str,
    pub buy_fee_asset: FeeAsset,
}

/// Leg `i`: fees, rules and balances as the venue at `addr` reports them; with
/// `price_fee_funds` (a paper start with no funds journaled), also the value of the account's
/// fee-discount asset ([`LegConfig::fee_funds`]).
pub(crate) fn leg(
    i: usize,
    listing: LegListing<'_>,
    writer: &dyn RequestWriter,
    addr: &str,
    scales: Scales,
    price_fee_funds: bool,
) -> anyhow::Result<LegConfig> {
    let setup = crate::venue_setup::load(writer, addr, listing.symbol, scales)?;
    let assets = (listing.base_asset, listing.quote_asset);
    let digits = scales.notional_digits();
    let fee_funds = (price_fee_funds && setup.fees.discounted_taker.is_some())
        .then(|| {
            crate::venue_setup::discount_funds(writer, addr, &setup, assets, digits)
                .inspect_err(|e| {
                    // Paper then pays the undiscounted rate: more than live would, never less.
                    // Nothing is journaled for it, so the next start prices it again.
                    tracing::warn!(
                        "{e:#}: the fee-discount asset is not priced (paper fills there pay \
                         the undiscounted rate)"
                    );
                })
                .ok()
        })
        .flatten();
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
        base_asset: listing.base_asset.into(),
        quote_asset: listing.quote_asset.into(),
        scales,
        tick: setup.rules.tick,
        rules: SymbolRules {
            lot: setup.rules.lot,
            min_size: setup.rules.min_size,
            min_notional: setup.rules.min_notional.unwrap_or(0),
        },
        taker_fee: setup.fees.taker,
        discounted_taker: setup.fees.discounted_taker,
        fee_funds,
        buy_fee_asset: listing.buy_fee_asset,
        holdings: Holdings {
            base: held(listing.base_asset, scales.size.digits()),
            quote: held(listing.quote_asset, scales.notional_digits()),
        },
        requests_per_second: listing.budget.0,
        burst: listing.budget.1,
        weight_per_minute: setup.rules.weight_per_minute,
        order_windows: setup.rules.order_windows,
    })
}

/// `host:port` of an `http(s)://host[:port][/…]` URL (the scheme's port when absent).
fn host_port(url: &str) -> anyhow::Result<String> {
    kestrel_hot::net::Endpoint::parse(url)
        .map(|e| e.authority())
        .map_err(|e| anyhow::anyhow!("{url:?}: {e}"))
}

/// One venue's credentials, read from the environment before anything starts.
#[derive(Debug)]
pub struct VenueSecrets {
    /// The API key (the key's name on Coinbase).
    pub api_key: ApiSecret,
    /// The HMAC secret or PEM private key.
    pub api_secret: ApiSecret,
    /// OKX's passphrase.
    pub passphrase: Option<ApiSecret>,
}

/// Reads every venue's `env:VAR` credentials; the first missing variable is the error (named,
/// never its value).
pub fn resolve_secrets(cfg: &XarbConfig) -> anyhow::Result<Vec<VenueSecrets>> {
    cfg.venues
        .iter()
        .map(|v| {
            let read = |s: &kestrel_config::Secret| {
                s.resolve()
                    .map(|value| ApiSecret::new(value.expose()))
                    .map_err(|e| anyhow::anyhow!("xarb venue {}: {e}", v.venue))
            };
            Ok(VenueSecrets {
                api_key: read(&v.api_key)?,
                api_secret: read(&v.api_secret)?,
                passphrase: v.passphrase.as_ref().map(read).transpose()?,
            })
        })
        .collect()
}

/// The venue's request writer, signing with the account's key.
pub(crate) fn writer(
    venue: Venue,
    key_kind: BinanceKeyKind,
    secrets: &VenueSecrets,
    host: &str,
) -> anyhow::Result<Box<dyn RequestWriter + Send>> {
    let key = secrets.api_key.expose();
    let secret = &secrets.api_secret;
    let bad_key = |e| anyhow::anyhow!("{venue}: api key: {e}");
    Ok(match venue {
        Venue::Binance => {
            let signer = match key_kind {
                BinanceKeyKind::Hmac => BinanceSigner::hmac(key, secret),
                BinanceKeyKind::Ed25519 => BinanceSigner::ed25519_pem(key, secret),
            };
            Box::new(BinanceWriter::new(signer.map_err(bad_key)?, host))
        }
        Venue::Kraken => Box::new(KrakenWriter::new(
            KrakenSigner::new(key, secret).map_err(bad_key)?,
            host,
        )),
        Venue::Okx => {
            let passphrase = secrets
                .passphrase
                .as_ref()
                .with_context(|| format!("{venue}: no passphrase configured"))?;
            Box::new(OkxWriter::new(
                OkxSigner::new(key, secret, passphrase).map_err(bad_key)?,
                host,
            ))
        }
        Venue::Bybit => Box::new(BybitWriter::new(
            BybitSigner::new(key, secret).map_err(bad_key)?,
            host,
        )),
        Venue::Coinbase => Box::new(CoinbaseWriter::new(
            CoinbaseSigner::from_pem(key, secret).map_err(bad_key)?,
            host,
        )),
    })
}

/// `ceil(transfer_cost / inventory_cycle)` per whole base unit, at the price scale: what one
/// unit of base traded must carry of the transfer that later moves inventory back.
pub fn transfer_per_base(cfg: &XarbConfig) -> Fixed {
    if cfg.transfer_cost.is_zero() || cfg.inventory_cycle.is_zero() {
        return Fixed::ZERO;
    }
    // cost is in notional units (price × size digits); per base unit at the price scale:
    // cost_units × 10^size / cycle_units / 10^size … = cost_units / cycle_units (price units).
    let cost = u128::from(cfg.transfer_cost.0);
    let cycle = u128::from(cfg.inventory_cycle.0);
    Fixed(u64::try_from(cost.div_ceil(cycle)).unwrap_or(u64::MAX))
}

/// The lane's decision parameters and limits from the config.
pub fn lane_params(cfg: &XarbConfig) -> (XarbParams, RiskLimits, Rate) {
    let bps = |b: u32| Rate(u64::from(b) * 10_000);
    (
        XarbParams {
            max_size: cfg.max_size,
            min_profit: u128::from(cfg.min_profit.0),
            safety_margin: bps(cfg.safety_margin_bps),
            transfer_per_base: transfer_per_base(cfg),
        },
        RiskLimits {
            max_drawdown: u128::from(cfg.max_drawdown.0),
            max_imbalance: u128::from(cfg.max_imbalance.0),
            max_orders_per_minute: cfg.max_orders_per_minute,
        },
        bps(cfg.unwind_slippage_bps),
    )
}

/// What a lane takes over from the journal at start, for its mode.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Restored {
    /// Each leg's last positions of the runs in this mode (paper mode takes them over the
    /// balances for legs whose index and venue match).
    pub positions: Vec<PositionRow>,
    /// The kill switch's latest trip in this mode when no reset followed it: the lane starts
    /// tripped.
    pub trip: Option<KillSwitchRow>,
    /// Realized PnL of every trade closed in this mode since the kill switch's last reset, in
    /// order: the drawdown a restarted lane carries on from.
    pub pnls_since_reset: Vec<i128>,
    /// Base those trades left open, summed (size units): the open imbalance a restarted lane
    /// carries on from.
    pub open_base: i128,
}

impl Restored {
    /// Reads what a lane in `mode` takes over from the journal at `journal_path`.
    pub fn read(journal_path: &std::path::Path, mode: Mode) -> anyhow::Result<Restored> {
        let reader = kestrel_store::open_readonly(journal_path)
            .with_context(|| format!("reading the journal {}", journal_path.display()))?;
        let positions = reader
            .latest_xarb_positions(mode)
            .with_context(|| format!("reading positions from {}", journal_path.display()))?;
        let trip = reader
            .xarb_unreset_trip(mode)
            .with_context(|| format!("reading the kill switch from {}", journal_path.display()))?;
        let pnls_since_reset = reader
            .xarb_pnls_since_reset(mode)
            .with_context(|| format!("reading realized PnL from {}", journal_path.display()))?;
        let open_base = reader
            .xarb_open_base_since_reset(mode)
            .with_context(|| format!("reading the open base from {}", journal_path.display()))?;
        Ok(Restored {
            positions,
            trip,
            pnls_since_reset,
            open_base,
        })
    }

    /// Realized PnL since the last reset and its highest point (never below 0, where a reset
    /// leaves the peak), notional units.
    pub fn carried_pnl(&self) -> (i128, i128) {
        self.pnls_since_reset
            .iter()
            .fold((0i128, 0i128), |(pnl, peak), p| {
                let pnl = pnl.saturating_add(*p);
                (pnl, peak.max(pnl))
            })
    }
}

/// Says, at error level, that the lane starts tripped: why, when, and what clears it.
fn log_started_tripped(row: &KillSwitchRow, mode: Mode) {
    tracing::error!(
        "xarb lane: the {} kill switch tripped at {} in run {} ({}) and was never reset: \
         this run starts tripped and opens no trade. Once the cause is understood, clear it \
         with `{}` and restart",
        crate::xarb_admin::mode_name(mode),
        crate::xarb_admin::utc(row.unix_ms),
        row.run_id,
        crate::xarb_admin::describe(row),
        crate::xarb_admin::reset_command(mode)
    );
}

/// Builds the lane from the config: every venue's fees, rules and balances are asked for now.
/// `restored`: what the journal holds for `mode` (positions, and a trip never reset: the lane
/// then starts tripped).
pub fn build_lane(
    cfg: &XarbConfig,
    secrets: &[VenueSecrets],
    mode: Mode,
    restored: &Restored,
) -> anyhow::Result<XarbLane> {
    anyhow::ensure!(
        secrets.len() == cfg.venues.len(),
        "credentials for {} venues, {} configured",
        secrets.len(),
        cfg.venues.len()
    );
    let scales = Scales {
        price: cfg.price_scale,
        size: cfg.size_scale,
    };
    debug_assert!(
        Scale::new(scales.notional_digits()).is_some(),
        "Invariant: the config bounds price + size digits"
    );
    let mut feeds: Vec<Box<dyn VenueFeed + Send>> = Vec::new();
    let mut writers: Vec<Box<dyn RequestWriter + Send>> = Vec::new();
    let mut legs = Vec::new();
    for (i, (v, secrets)) in cfg.venues.iter().zip(secrets).enumerate() {
        let host = host_port(&v.rest_url)?;
        let host = host.as_str();
        feeds.push(feed(FeedTarget {
            venue: v.venue,
            ws_url: &v.ws_url,
            rest_url: &v.rest_url,
            symbol: &v.symbol,
            scales,
            stale_after_ms: cfg.stale_after_ms,
        })?);
        let writer = writer(v.venue, v.key_kind, secrets, host)?;
        let listing = LegListing {
            venue: v.venue,
            budget: (v.requests_per_second, v.burst),
            symbol: &v.symbol,
            base_asset: &v.base_asset,
            quote_asset: &v.quote_asset,
            buy_fee_asset: v.buy_fee_asset,
        };
        let row = restored
            .positions
            .iter()
            .find(|r| r.leg as usize == i && r.venue == v.venue.name())
            .filter(|_| mode == Mode::DryRun);
        let funds = row.and_then(|r| r.fee_funds_units);
        let price_fee_funds = mode == Mode::DryRun && funds.is_none();
        // Start-up requests go to the URL (https included); the writers sign for `host`.
        let mut leg = leg(
            i,
            listing,
            writer.as_ref(),
            &v.rest_url,
            scales,
            price_fee_funds,
        )
        .with_context(|| format!("{}: loading fees, rules and balances", v.venue))?;
        if let Some(row) = row {
            leg.holdings = Holdings {
                base: row.base_units,
                quote: row.quote_units,
            };
        }
        if let Some(funds) = funds {
            leg.fee_funds = Some(funds);
        }
        legs.push(leg);
        writers.push(writer);
    }
    let (params, limits, unwind_slippage) = lane_params(cfg);
    let exec = match mode {
        Mode::DryRun => Execution::Paper,
        Mode::Live => {
            let (tx, replies) = sync_channel(1024);
            let mut conns = Vec::with_capacity(cfg.venues.len());
            for (i, v) in cfg.venues.iter().enumerate() {
                let url = format!("{}/", v.rest_url.trim_end_matches('/'));
                // A split session (the lane seals, a reader thread opens) where the venue
                // speaks TLS 1.3; otherwise a TLS session the lane polls.
                let conn: OrderConn = match RelayConn::connect(i, &url, tx.clone()) {
                    Ok(c) => c.into(),
                    Err(kestrel_fire::FireError::Tls(why)) if url.starts_with("https://") => {
                        tracing::warn!(
                            venue = %v.venue,
                            why,
                            "no TLS 1.3 session for orders: the lane reads this venue's answers itself"
                        );
                        TlsOrderConn::connect(i, &url)
                            .with_context(|| format!("{}: connecting to {url}", v.venue))?
                            .into()
                    }
                    Err(e) => {
                        return Err(anyhow::Error::new(e))
                            .with_context(|| format!("{}: connecting to {url}", v.venue));
                    }
                };
                conns.push(conn);
            }
            Execution::Orders {
                writers,
                conns,
                replies,
            }
        }
    };
    let lane = XarbLane::new(
        LaneConfig {
            legs,
            params,
            limits,
            unwind_slippage,
        },
        feeds,
        exec,
    );
    let (pnl, peak) = restored.carried_pnl();
    let lane = if restored.pnls_since_reset.is_empty() {
        lane
    } else {
        tracing::info!(
            trades = restored.pnls_since_reset.len(),
            pnl_units = %pnl,
            peak_units = %peak,
            "xarb lane: realized PnL since the kill switch's last reset carried over; the \
             drawdown limit counts from it"
        );
        lane.resume_pnl(pnl, peak)
    };
    let lane = if restored.open_base == 0 {
        lane
    } else {
        tracing::warn!(
            open_base_units = %restored.open_base,
            "xarb lane: base earlier trades left open since the kill switch's last reset carried \
             over; the imbalance limit counts from it"
        );
        lane.resume_open_base(restored.open_base)
    };
    Ok(match &restored.trip {
        Some(row) => {
            log_started_tripped(row, mode);
            // A reason this build does not read still leaves the lane tripped.
            lane.start_tripped(crate::xarb_admin::trip_of(row).unwrap_or(TripReason::Manual))
        }
        None => lane,
    })
}

/// The lane running on its own thread.
#[derive(Debug)]
pub struct XarbRun {
    stop: Arc<AtomicBool>,
    thread: JoinHandle<LaneStats>,
    gauges: Arc<XarbGauges>,
    /// Fraction digits of the lane's notional units ([`quote_digits`]), for reporting money
    /// in the quote asset.
    quote_digits: u8,
}

impl XarbRun {
    /// Start `lane` on a thread (pinned to `core` when given); its events go to `journal` under
    /// `run_id` as they happen, its kill switch trips with `mode`.
    pub fn start(
        lane: XarbLane,
        core: Option<usize>,
        journal: JournalHandle,
        run_id: String,
        mode: Mode,
        quote_digits: u8,
    ) -> anyhow::Result<XarbRun> {
        let stop = Arc::new(AtomicBool::new(false));
        let flag = Arc::clone(&stop);
        let gauges = Arc::new(XarbGauges::for_legs(lane.legs()));
        gauges.publish_lane(&lane);
        let published = Arc::clone(&gauges);
        let thread = std::thread::Builder::new()
            .name("kestrel-xarb".into())
            .spawn(move || {
                match kestrel_bus::pin_current_thread(core) {
                    kestrel_bus::PinOutcome::Pinned(_) | kestrel_bus::PinOutcome::NotRequested => {}
                    other => tracing::warn!(?other, "xarb lane: not pinned; running unpinned"),
                }
                run(lane, &flag, &journal, &run_id, mode, &published)
            })
            .context("spawning the xarb lane thread")?;
        Ok(XarbRun {
            stop,
            thread,
            gauges,
            quote_digits,
        })
    }

    /// Fraction digits of the lane's notional units ([`quote_digits`] of its config).
    pub fn quote_digits(&self) -> u8 {
        self.quote_digits
    }

    /// The lane's totals as last published (every [`GAUGE_EVERY_NS`]), for `/metrics`.
    pub fn gauges(&self) -> &Arc<XarbGauges> {
        &self.gauges
    }

    /// Stop the lane (a trade in flight gets up to 2 s to settle) and return its totals.
    pub fn stop(self) -> anyhow::Result<LaneStats> {
        self.stop.store(true, Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the xarb lane thread panicked"))
    }
}

fn run(
    mut lane: XarbLane,
    stop: &AtomicBool,
    journal: &JournalHandle,
    run_id: &str,
    mode: Mode,
    gauges: &XarbGauges,
) -> LaneStats {
    let journal_events = |lane: &mut XarbLane| {
        for event in lane.drain_events() {
            // Once per trip: the lane reports a trip when it happens, not per refusal.
            if let LaneEvent::Tripped(reason) = &event {
                tracing::error!(
                    ?reason,
                    "xarb lane: kill switch tripped, no new trades until `{}` and a restart",
                    crate::xarb_admin::reset_command(mode)
                );
            }
            if let Some(ev) = event.to_record(mode) {
                let rec = Record::Xarb {
                    run_id: run_id.to_owned(),
                    unix_ms: LiveClock.unix_ms(),
                    ev,
                };
                // Blocking append: the journal loses nothing.
                if let Err(e) = journal.append(rec) {
                    tracing::error!(error = %e, "xarb lane: journal append failed");
                }
            }
        }
    };
    let mut published_ns = mono_ns();
    while !stop.load(Ordering::Relaxed) {
        let now = mono_ns();
        lane.poll(now, LiveClock.unix_ms());
        journal_events(&mut lane);
        // Relaxed stores of a copied struct, a few times a second: no lock, no allocation.
        if now.saturating_sub(published_ns) >= GAUGE_EVERY_NS {
            gauges.publish_lane(&lane);
            published_ns = now;
        }
        std::thread::yield_now();
    }
    // Settle what is in flight, start nothing new.
    lane.stop_deciding();
    let settle_by = Instant::now() + Duration::from_secs(2);
    while lane.is_busy() && Instant::now() < settle_by {
        lane.poll(mono_ns(), LiveClock.unix_ms());
        journal_events(&mut lane);
    }
    gauges.publish_lane(&lane);
    lane.stats()
}

/// How often the lane thread publishes its totals for `/metrics`.
pub const GAUGE_EVERY_NS: u64 = 250_000_000;

/// Fraction digits of `cfg`'s notional units (price × size): what its money totals count.
pub fn quote_digits(cfg: &XarbConfig) -> u8 {
    Scales {
        price: cfg.price_scale,
        size: cfg.size_scale,
    }
    .notional_digits()
}
