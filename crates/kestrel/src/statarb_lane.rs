//! A paper stat-arb lane over one Binance-format venue: candles over the venue's REST API
//! ([`crate::candles::fetch`]), pairs chosen by [`select_pairs`] on the history, one
//! [`PairState`] per pair fed each new closed bar, and every entry and exit filled on paper
//! against the live books of a [`BinanceFeed`] with [`paper_fill`]. No order is ever sent.
//!
//! Money is exact: cash, gross and fees are `i128` notional units (price units × size units;
//! 10^7 per USDT on the simulated venue) and reported as decimal strings. A fee the venue takes
//! in base (a buy on Binance) is valued at that fill's average price and booked in quote, so
//! positions carry the filled size. A trade's fills count toward `gross` and `fees` when it
//! closes; `pnl = gross − fees` exactly.

use std::collections::BTreeMap;

use anyhow::Context as _;
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::exchange;
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::{PaperFill, paper_fill};
use kestrel_strategies::statarb::{
    Action, PairId, PairState, SelectionConfig, SignalConfig, SpreadSide, legs, select_pairs,
};
use kestrel_types::cex::{Candle, FeeAsset, Fixed, Interval, OrderSide, Rate, Venue};
use kestrel_venues::orders::{CandleQuery, Scales, candles_request, parse_candles};

use crate::candles::{FetchArgs, fetch};

/// What the lane trades and how.
#[derive(Clone, Debug)]
pub struct StatArbConfig {
    /// `http://host:port` of the venue's REST API.
    pub rest_url: String,
    /// `ws://host:port` of its market data.
    pub ws_url: String,
    /// Symbols as the venue spells them (series order).
    pub symbols: Vec<String>,
    /// The bar interval.
    pub interval: Interval,
    /// Price and size digits (the same on every symbol).
    pub scales: Scales,
    /// The account's taker fee.
    pub taker_fee: Rate,
    /// Where the venue takes a buy's fee.
    pub buy_fee_asset: FeeAsset,
    /// Notional of the `a` leg of every entry, whole quote units.
    pub entry_quote: f64,
    /// Pair selection rules.
    pub selection: SelectionConfig,
    /// Per-pair trading rules.
    pub signal: SignalConfig,
}

/// Totals so far. Money in exact decimal strings of the quote asset.
#[derive(Clone, Debug, PartialEq, Eq, serde::Serialize)]
pub struct StatArbTotals {
    /// Pairs selected at the start.
    pub pairs_selected: usize,
    /// The selected pairs as symbol pairs `(a, b)`, best first.
    pub pairs: Vec<(String, String)>,
    /// Closed round trips.
    pub trades: u64,
    /// Legs filled on paper (entries and exits, both legs).
    pub fills: u64,
    /// Closed bars fed to the pairs.
    pub bars: u64,
    /// Gross PnL of closed trades, before fees.
    pub gross_quote: String,
    /// Fees of closed trades.
    pub fees_quote: String,
    /// `gross − fees`.
    pub pnl_quote: String,
    /// Quote traded by closed trades (every leg's notional), for fee checks.
    pub turnover_quote: String,
    /// Trades open now.
    pub open_trades: usize,
    /// Same three, notional units, for exact checks.
    pub gross_units: i128,
    /// Fees, notional units.
    pub fees_units: i128,
    /// PnL, notional units.
    pub pnl_units: i128,
    /// Turnover of closed trades, notional units.
    pub turnover_units: i128,
    /// Cash flow less fees of the fills of trades still open, notional units: with
    /// `pnl_units` it makes up [`StatArbPaper::cash_units`] exactly.
    pub open_units: i128,
}

/// One pair's live state and its open trade.
#[derive(Debug)]
struct Pair {
    id: PairId,
    state: PairState,
    /// Signed size units held of `a` and `b`.
    pos: [i64; 2],
    /// Cash flow and fees of the open trade so far, notional units.
    open_cash: i128,
    open_fees: i128,
    open_turnover: i128,
}

/// The lane.
#[derive(Debug)]
pub struct StatArbPaper {
    cfg: StatArbConfig,
    /// `host:port` of the REST API, for the request line's `Host`.
    host: String,
    /// The candle request being written (reused).
    request: Vec<u8>,
    feed: BinanceFeed,
    pairs: Vec<Pair>,
    pair_names: Vec<(String, String)>,
    /// Open time of the last bar fed to the pairs.
    last_fed_ms: u64,
    /// Closes of bars not yet fed, by open time; a bar is fed once every symbol has it.
    pending: BTreeMap<u64, Vec<Option<f64>>>,
    cash_units: i128,
    gross_units: i128,
    fees_units: i128,
    turnover_units: i128,
    trades: u64,
    fills: u64,
    bars: u64,
}

/// Bars asked for per symbol per poll.
const POLL_LIMIT: u16 = 100;
/// Bars kept waiting for the other symbols before they are given up.
const MAX_PENDING: usize = 1_000;
/// `fetch` bounds: the far end of time, as Binance's `endTime`.
const FAR_MS: u64 = 4_102_444_800_000;

impl StatArbPaper {
    /// Fetch every symbol's history, select pairs, warm each pair up and open the feed.
    pub fn start(cfg: StatArbConfig) -> anyhow::Result<StatArbPaper> {
        anyhow::ensure!(cfg.symbols.len() >= 2, "stat-arb needs two symbols or more");
        anyhow::ensure!(
            cfg.entry_quote.is_finite() && cfg.entry_quote > 0.0,
            "entry_quote must be positive"
        );
        let mut history = Vec::with_capacity(cfg.symbols.len());
        for symbol in &cfg.symbols {
            history.push(bars(&cfg, symbol, 0)?);
        }
        let (last_fed_ms, series) = align(&history);
        anyhow::ensure!(series[0].len() >= 100, "too little common history");
        let slices: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
        let selection = select_pairs(&slices, &cfg.selection)?;
        let mut pairs = Vec::with_capacity(selection.selected.len());
        let mut pair_names = Vec::with_capacity(selection.selected.len());
        for sel in &selection.selected {
            let mut state = PairState::new(sel.model, &cfg.signal)?;
            for (a, b) in series[sel.id.a].iter().zip(&series[sel.id.b]) {
                state.warm_up(*a, *b);
            }
            pair_names.push((cfg.symbols[sel.id.a].clone(), cfg.symbols[sel.id.b].clone()));
            pairs.push(Pair {
                id: sel.id,
                state,
                pos: [0; 2],
                open_cash: 0,
                open_fees: 0,
                open_turnover: 0,
            });
        }
        let feed = BinanceFeed::new(BinanceFeedConfig {
            ws_url: cfg.ws_url.clone(),
            rest_url: cfg.rest_url.trim_end_matches('/').to_owned(),
            symbols: cfg
                .symbols
                .iter()
                .map(|s| FeedSymbol {
                    symbol: s.clone(),
                    price_scale: cfg.scales.price,
                    size_scale: cfg.scales.size,
                    capacity: 100,
                })
                .collect(),
            stale_after_ms: 2_000,
            snapshot_limit: 100,
        })
        .context("opening the market-data feed")?;
        let host = cfg
            .rest_url
            .trim_start_matches("http://")
            .trim_end_matches('/')
            .to_owned();
        Ok(StatArbPaper {
            cfg,
            host,
            request: Vec::with_capacity(512),
            feed,
            pairs,
            pair_names,
            last_fed_ms,
            pending: BTreeMap::new(),
            cash_units: 0,
            gross_units: 0,
            fees_units: 0,
            turnover_units: 0,
            trades: 0,
            fills: 0,
            bars: 0,
        })
    }

    /// Poll the feed, fetch each symbol's newest bars, and feed every bar all symbols have
    /// closed to the pairs, filling entries and exits on paper. Returns the bars fed.
    pub fn poll(&mut self) -> anyhow::Result<usize> {
        self.feed.poll(mono_ns(), &mut |_| {});
        let n = self.cfg.symbols.len();
        for i in 0..n {
            let from = self.last_fed_ms + self.cfg.interval.ms();
            let fresh = self.latest(i, from)?;
            for c in fresh {
                let row = self
                    .pending
                    .entry(c.open_ms)
                    .or_insert_with(|| vec![None; n]);
                row[i] = Some(c.close);
            }
        }
        let mut fed = 0;
        while let Some(entry) = self.pending.first_entry() {
            let Some(closes) = entry.get().iter().copied().collect::<Option<Vec<f64>>>() else {
                break;
            };
            let open_ms = *entry.key();
            entry.remove();
            self.on_bar(&closes);
            self.last_fed_ms = open_ms;
            fed += 1;
        }
        while self.pending.len() > MAX_PENDING {
            self.pending.pop_first();
        }
        Ok(fed)
    }

    /// Symbol `i`'s bars opening at `from_ms` or later, at most [`POLL_LIMIT`]: one small
    /// request (a lane that fell further behind catches up over the next polls).
    fn latest(&mut self, i: usize, from_ms: u64) -> anyhow::Result<Vec<Bar>> {
        let symbol = &self.cfg.symbols[i];
        let query = CandleQuery {
            symbol,
            interval: self.cfg.interval,
            start_ms: Some(from_ms),
            end_ms: None,
            limit: POLL_LIMIT,
        };
        self.request.clear();
        candles_request(Venue::Binance, &self.host, &query, &mut self.request)
            .map_err(|e| anyhow::anyhow!("candles request for {symbol}: {e}"))?;
        let (status, body) = exchange(&self.cfg.rest_url, &self.request)
            .map_err(|e| anyhow::anyhow!("candles of {symbol}: {e}"))?;
        let candles = parse_candles(Venue::Binance, status, &body, self.cfg.scales)
            .map_err(|e| anyhow::anyhow!("candles of {symbol}: {e}"))?;
        Ok(to_bars(&candles, self.cfg.scales))
    }

    /// Totals so far.
    pub fn totals(&self) -> StatArbTotals {
        let pnl_units = self.gross_units - self.fees_units;
        StatArbTotals {
            pairs_selected: self.pairs.len(),
            pairs: self.pair_names.clone(),
            trades: self.trades,
            fills: self.fills,
            bars: self.bars,
            gross_quote: self.quote_text(self.gross_units),
            fees_quote: self.quote_text(self.fees_units),
            pnl_quote: self.quote_text(pnl_units),
            turnover_quote: self.quote_text(self.turnover_units),
            open_trades: self
                .pairs
                .iter()
                .filter(|p| p.state.position().is_some())
                .count(),
            gross_units: self.gross_units,
            fees_units: self.fees_units,
            pnl_units,
            turnover_units: self.turnover_units,
            open_units: self.pairs.iter().map(|p| p.open_cash - p.open_fees).sum(),
        }
    }

    /// Cash after every fill (open trades included), notional units.
    pub fn cash_units(&self) -> i128 {
        self.cash_units
    }

    fn quote_text(&self, units: i128) -> String {
        let digits = u32::from(self.cfg.scales.price.digits() + self.cfg.scales.size.digits());
        let one = 10i128.pow(digits);
        let sign = if units < 0 { "-" } else { "" };
        let abs = units.unsigned_abs();
        let one = one.unsigned_abs();
        format!(
            "{sign}{}.{:0width$}",
            abs / one,
            abs % one,
            width = digits as usize
        )
    }

    fn on_bar(&mut self, closes: &[f64]) {
        self.bars += 1;
        for p in 0..self.pairs.len() {
            let (a, b) = (self.pairs[p].id.a, self.pairs[p].id.b);
            match self.pairs[p].state.on_bar(closes[a], closes[b]) {
                Action::Hold => {}
                Action::Enter { side } => self.enter(p, side, closes[a]),
                Action::Exit { .. } => self.exit(p),
            }
        }
    }

    /// Open pair `p` on `side` with [`StatArbConfig::entry_quote`] of `a` at `price_a`; back
    /// to flat when either book is not live (nothing to fill against).
    fn enter(&mut self, p: usize, side: SpreadSide, price_a: f64) {
        let (a, b) = (self.pairs[p].id.a, self.pairs[p].id.b);
        let now = mono_ns();
        if !(self.feed.is_live(a, now) && self.feed.is_live(b, now)) {
            self.pairs[p].state.cancel_entry();
            return;
        }
        // Sizing is statistics (f64); the order sizes are whole lots from here on.
        let units_a = self.cfg.entry_quote / price_a;
        let l = legs(side, units_a, self.pairs[p].state.model().hedge_ratio);
        let lots = 10f64.powi(i32::from(self.cfg.scales.size.digits()));
        let delta = [(l.a * lots).round() as i64, (l.b * lots).round() as i64];
        self.trade(p, delta);
    }

    /// Close pair `p`'s position and book its round trip.
    fn exit(&mut self, p: usize) {
        let pos = self.pairs[p].pos;
        self.trade(p, [-pos[0], -pos[1]]);
        let pair = &mut self.pairs[p];
        self.gross_units += pair.open_cash;
        self.fees_units += pair.open_fees;
        self.turnover_units += pair.open_turnover;
        pair.open_cash = 0;
        pair.open_fees = 0;
        pair.open_turnover = 0;
        self.trades += 1;
    }

    /// Fill signed size units `delta` of the pair's two legs on paper.
    fn trade(&mut self, p: usize, delta: [i64; 2]) {
        let ids = [self.pairs[p].id.a, self.pairs[p].id.b];
        for leg in 0..2 {
            if delta[leg] == 0 {
                continue;
            }
            let Some(book) = VenueFeed::book(&self.feed, ids[leg]) else {
                continue;
            };
            let (side, limit) = if delta[leg] > 0 {
                (OrderSide::Buy, Fixed(u64::MAX))
            } else {
                (OrderSide::Sell, Fixed(0))
            };
            let size = Fixed(delta[leg].unsigned_abs());
            let fill = paper_fill(
                book,
                side,
                size,
                limit,
                self.cfg.taker_fee,
                self.cfg.buy_fee_asset,
            );
            if fill.size.0 == 0 {
                continue;
            }
            let (cash, fee) = cash_and_fee(side, &fill);
            let filled = i64::try_from(fill.size.0).unwrap_or(i64::MAX);
            let pair = &mut self.pairs[p];
            pair.pos[leg] += if side == OrderSide::Buy {
                filled
            } else {
                -filled
            };
            pair.open_cash += cash;
            pair.open_fees += fee;
            pair.open_turnover += cash.abs();
            self.cash_units += cash - fee;
            self.fills += 1;
        }
    }
}

/// A fill's cash flow before fees and its fee, both notional units; a fee in base is valued
/// at the fill's average price.
fn cash_and_fee(side: OrderSide, fill: &PaperFill) -> (i128, i128) {
    let notional = i128::try_from(fill.notional).unwrap_or(i128::MAX);
    let fee_base_value = if fill.fee_base == 0 {
        0
    } else {
        fill.fee_base * fill.notional / u128::from(fill.size.0)
    };
    let fee = i128::try_from(fill.fee_quote + fee_base_value).unwrap_or(i128::MAX);
    let cash = match side {
        OrderSide::Buy => -notional,
        OrderSide::Sell => notional,
    };
    (cash, fee)
}

/// `symbol`'s bars from `from_ms` on, over the venue's REST API: `(open_ms, close)`.
fn bars(cfg: &StatArbConfig, symbol: &str, from_ms: u64) -> anyhow::Result<Vec<Bar>> {
    let (_, candles) = fetch(&FetchArgs {
        venue: Venue::Binance,
        symbol: symbol.to_owned(),
        interval: cfg.interval,
        from_ms,
        to_ms: FAR_MS,
        url: cfg.rest_url.clone(),
        scales: cfg.scales,
        journal: None,
        out: None,
        progress: false,
    })?;
    Ok(to_bars(&candles, cfg.scales))
}

/// Candles as `(open_ms, close)` bars, closes in whole quote units.
fn to_bars(candles: &[Candle], scales: Scales) -> Vec<Bar> {
    let one = 10f64.powi(i32::from(scales.price.digits()));
    candles
        .iter()
        .map(|c| Bar {
            open_ms: c.open_ms,
            close: c.close.0 as f64 / one,
        })
        .collect()
}

/// One closed bar.
#[derive(Clone, Copy, Debug)]
struct Bar {
    open_ms: u64,
    close: f64,
}

/// The bars every symbol has, aligned by open time: the last common open time and one close
/// series per symbol.
fn align(history: &[Vec<Bar>]) -> (u64, Vec<Vec<f64>>) {
    let mut rows: BTreeMap<u64, Vec<Option<f64>>> = BTreeMap::new();
    for (i, h) in history.iter().enumerate() {
        for b in h {
            rows.entry(b.open_ms)
                .or_insert_with(|| vec![None; history.len()])[i] = Some(b.close);
        }
    }
    let mut series = vec![Vec::with_capacity(rows.len()); history.len()];
    let mut last = 0;
    for (open_ms, row) in rows {
        let Some(row) = row.into_iter().collect::<Option<Vec<f64>>>() else {
            continue;
        };
        for (s, c) in series.iter_mut().zip(row) {
            s.push(c);
        }
        last = open_ms;
    }
    (last, series)
}

/// The sandbox's stat-arb run: the simulated venue and the paper lane polling it on a thread.
#[derive(Debug)]
pub struct StatArbRun {
    stop: std::sync::Arc<std::sync::atomic::AtomicBool>,
    thread: std::thread::JoinHandle<anyhow::Result<StatArbTotals>>,
}

impl StatArbRun {
    /// Start the venue (one bar every `bar_ms`) and the lane; the lane selects its pairs now.
    pub fn start(seed: u64, bar_ms: u64) -> anyhow::Result<StatArbRun> {
        use std::sync::atomic::Ordering;
        let mut sim = crate::statarb_sim::StatArbSim::start(seed, bar_ms)?;
        let lane = sim.lane_config().and_then(StatArbPaper::start);
        let mut lane = match lane {
            Ok(lane) => lane,
            Err(e) => {
                sim.stop();
                return Err(e);
            }
        };
        let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
        let flag = std::sync::Arc::clone(&stop);
        let thread = std::thread::Builder::new()
            .name("kestrel-statarb".into())
            .spawn(move || {
                let mut result = Ok(());
                while !flag.load(Ordering::Relaxed) {
                    if let Err(e) = lane.poll() {
                        result = Err(e);
                        break;
                    }
                    // Bars come every `bar_ms` and each poll asks the venue for every symbol's
                    // latest bars over REST: twice a bar is enough, and leaves the sandbox's
                    // other lanes their share of a small machine.
                    std::thread::sleep(std::time::Duration::from_millis((bar_ms / 2).max(1)));
                }
                sim.stop();
                result.map(|()| lane.totals())
            })?;
        Ok(StatArbRun { stop, thread })
    }

    /// Stop the lane and the venue; the lane's totals.
    pub fn stop(self) -> anyhow::Result<StatArbTotals> {
        self.stop.store(true, std::sync::atomic::Ordering::Relaxed);
        self.thread
            .join()
            .map_err(|_| anyhow::anyhow!("the stat-arb lane thread panicked"))?
    }
}
