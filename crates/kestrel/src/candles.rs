//! `kestrel candles fetch`: a venue's candles over its public REST API, paged over a time range,
//! kept in the journal and optionally written as a freqtrade JSON file for `pairs scan` and
//! `backtest statarb`.
//!
//! Paging follows each venue's answer order: Binance answers the earliest bars from `startTime`,
//! so it pages forward; OKX, Bybit and Coinbase answer the latest bars up to `end`, so they page
//! backward; Kraken keeps only its latest 720 bars and takes no end or limit, so one request
//! gets all it has (trimmed to the range).

use std::path::PathBuf;

use anyhow::{Context as _, bail};
use kestrel_hot::cex::exchange;
use kestrel_hot::net::Endpoint;
use kestrel_store::{Journal, Record};
use kestrel_types::cex::{Candle, Interval, Scale, Venue};
use kestrel_venues::orders::{CandleQuery, Scales, candles_request, parse_candles};
use serde::Serialize;

/// What to fetch.
#[derive(Clone, Debug)]
pub struct FetchArgs {
    /// The venue.
    pub venue: Venue,
    /// The symbol as the venue spells it.
    pub symbol: String,
    /// Bar length.
    pub interval: Interval,
    /// Earliest open time, Unix ms.
    pub from_ms: u64,
    /// Latest open time, Unix ms.
    pub to_ms: u64,
    /// The venue's REST base URL (`https://api.binance.com`, or a simulated venue's).
    pub url: String,
    /// Fraction digits of prices and of volumes (values finer than these are an error).
    pub scales: Scales,
    /// Journal to keep the bars in.
    pub journal: Option<PathBuf>,
    /// freqtrade JSON file to write.
    pub out: Option<PathBuf>,
    /// Print a line per page on stderr.
    pub progress: bool,
}

/// What a fetch did.
#[derive(Clone, Debug, Serialize, PartialEq, Eq)]
pub struct FetchReport {
    /// Bars fetched (each once), within the range.
    pub bars: usize,
    /// Requests made.
    pub requests: usize,
    /// First and last open time fetched, Unix ms.
    pub first_ms: Option<u64>,
    /// See `first_ms`.
    pub last_ms: Option<u64>,
    /// Gaps: expected bars missing inside the fetched span.
    pub missing: usize,
}

/// Most requests one fetch makes (a guard against a venue that never stops answering).
const MAX_REQUESTS: usize = 100_000;

/// Fetch, keep and write; returns the bars too (ascending, unique).
pub fn fetch(args: &FetchArgs) -> anyhow::Result<(FetchReport, Vec<Candle>)> {
    if args.from_ms > args.to_ms {
        bail!("--from is after --to");
    }
    let endpoint = Endpoint::parse(&args.url).map_err(|e| anyhow::anyhow!("--url: {e}"))?;
    if !args.url.starts_with("http") {
        bail!("--url: expected an http:// or https:// base URL");
    }
    let host = endpoint.authority();
    let step = args.interval.ms();
    let limit = CandleQuery::max_limit(args.venue);
    let mut bars: std::collections::BTreeMap<u64, Candle> = std::collections::BTreeMap::new();
    let mut requests = 0usize;
    let mut buf = Vec::with_capacity(1024);
    // Forward cursor (Binance) or backward cursor (OKX, Bybit, Coinbase); Kraken: one request.
    let forward = matches!(args.venue, Venue::Binance | Venue::Kraken);
    let (mut lo, mut hi) = (args.from_ms, args.to_ms);
    loop {
        if requests >= MAX_REQUESTS {
            bail!("stopped after {MAX_REQUESTS} requests");
        }
        let query = CandleQuery {
            symbol: &args.symbol,
            interval: args.interval,
            start_ms: Some(lo),
            end_ms: Some(hi),
            limit,
        };
        buf.clear();
        candles_request(args.venue, &host, &query, &mut buf)
            .map_err(|e| anyhow::anyhow!("{}: {e}", args.venue))?;
        let (status, body) =
            exchange(&args.url, &buf).map_err(|e| anyhow::anyhow!("{}: {e}", args.venue))?;
        requests += 1;
        let page = parse_candles(args.venue, status, &body, args.scales)
            .map_err(|e| anyhow::anyhow!("{} {}: {e}", args.venue, args.symbol))?;
        let page: Vec<Candle> = page
            .into_iter()
            .filter(|c| c.open_ms >= lo && c.open_ms <= hi)
            .collect();
        if args.progress {
            eprintln!(
                "{} {} {}: page {requests}, {} bars",
                args.venue,
                args.symbol,
                args.interval.name(),
                page.len()
            );
        }
        let (Some(first), Some(last)) = (page.first().copied(), page.last().copied()) else {
            break;
        };
        for c in page {
            bars.insert(c.open_ms, c);
        }
        if args.venue == Venue::Kraken {
            break;
        }
        if forward {
            lo = last.open_ms.saturating_add(step);
            if lo > hi {
                break;
            }
        } else {
            match first.open_ms.checked_sub(1) {
                Some(h) if h >= lo => hi = h,
                _ => break,
            }
        }
    }
    let candles: Vec<Candle> = bars.into_values().collect();
    let missing = candles
        .windows(2)
        .map(|w| ((w[1].open_ms - w[0].open_ms) / step).saturating_sub(1) as usize)
        .sum();
    let report = FetchReport {
        bars: candles.len(),
        requests,
        first_ms: candles.first().map(|c| c.open_ms),
        last_ms: candles.last().map(|c| c.open_ms),
        missing,
    };
    if let Some(path) = &args.journal {
        let journal = Journal::open(path, 1024)
            .with_context(|| format!("opening the journal {}", path.display()))?;
        journal.handle().append(Record::Candles {
            run_id: crate::cli::new_run_id(),
            venue: args.venue,
            symbol: args.symbol.clone(),
            interval: args.interval,
            price_scale: args.scales.price,
            size_scale: args.scales.size,
            candles: candles.clone(),
        })?;
        journal.close()?;
    }
    if let Some(path) = &args.out {
        std::fs::write(path, freqtrade_json(&candles, args.scales))
            .with_context(|| format!("writing {}", path.display()))?;
    }
    Ok((report, candles))
}

/// `[[ms, open, high, low, close, volume], ...]`, numbers written exactly as fetched.
pub fn freqtrade_json(candles: &[Candle], scales: Scales) -> String {
    let text = |v: kestrel_types::cex::Fixed, s: Scale| v.to_text(s);
    let rows: Vec<String> = candles
        .iter()
        .map(|c| {
            format!(
                "[{},{},{},{},{},{}]",
                c.open_ms,
                text(c.open, scales.price),
                text(c.high, scales.price),
                text(c.low, scales.price),
                text(c.close, scales.price),
                text(c.volume, scales.size)
            )
        })
        .collect();
    format!("[{}]\n", rows.join(",\n"))
}

/// Reads a candle file exactly: freqtrade JSON (`[[ms, open, high, low, close, volume], ...]`,
/// by extension `.json`) or CSV with a header naming `open`, `high`, `low`, `close`, `volume`
/// and a `timestamp`/`date`/`time` column. Numbers are read as written (never through a
/// float), at `scales`; a value finer than its scale is an error naming its row. The bars come
/// back ascending; a file with no bars, two bars at one open time, a price of zero or a bar
/// whose high and low do not bound its open and close is refused, naming the row.
pub fn read_file(path: &std::path::Path, scales: Scales) -> anyhow::Result<Vec<Candle>> {
    let rows = read_rows(path, scales)?;
    checked_bars(path, rows, scales.price)
}

/// The file's bars in file order, each with its row (0-based, header not counted).
fn read_rows(path: &std::path::Path, scales: Scales) -> anyhow::Result<Vec<(usize, Candle)>> {
    use kestrel_types::cex::Fixed;
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let fixed = |cell: &str, scale: Scale, what: &str, row: usize| -> anyhow::Result<Fixed> {
        let cell = cell.trim().trim_matches('"');
        Fixed::parse(cell.as_bytes(), scale).map_err(|e| {
            anyhow::anyhow!(
                "{}: row {row}: {what} {cell:?}: {e} (at {} fraction digits)",
                path.display(),
                scale.digits()
            )
        })
    };
    let rows = if path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"))
    {
        json_cells(path, &text)?
    } else {
        csv_cells(path, &text)?
    };
    let mut out = Vec::with_capacity(rows.len());
    for (i, (time, v)) in rows.iter().enumerate() {
        let ms = crate::pairs::parse_time(time.trim_matches('"'))
            .with_context(|| format!("{}: row {i}: time {time:?}", path.display()))?;
        let open_ms = u64::try_from(ms)
            .map_err(|_| anyhow::anyhow!("{}: row {i}: time before 1970", path.display()))?;
        let bar = Candle {
            open_ms,
            open: fixed(&v[0], scales.price, "open", i)?,
            high: fixed(&v[1], scales.price, "high", i)?,
            low: fixed(&v[2], scales.price, "low", i)?,
            close: fixed(&v[3], scales.price, "close", i)?,
            volume: fixed(&v[4], scales.size, "volume", i)?,
        };
        out.push((i, bar));
    }
    Ok(out)
}

/// A row's cells as written: its time, then open, high, low, close and volume.
type Cells = (String, [String; 5]);

/// The rows of a freqtrade JSON file.
fn json_cells(path: &std::path::Path, text: &str) -> anyhow::Result<Vec<Cells>> {
    let parsed: Vec<Vec<Box<serde_json::value::RawValue>>> = serde_json::from_str(text)
        .with_context(|| {
            format!(
                "{}: expected a freqtrade JSON array of [ms, open, high, low, close, volume] rows",
                path.display()
            )
        })?;
    let mut rows = Vec::with_capacity(parsed.len());
    for (i, r) in parsed.iter().enumerate() {
        if r.len() < 6 {
            bail!("{}: row {i}: expected six values", path.display());
        }
        let cell = |k: usize| r[k].get().to_owned();
        rows.push((cell(0), [cell(1), cell(2), cell(3), cell(4), cell(5)]));
    }
    Ok(rows)
}

/// The rows of a CSV file, by the columns its header names.
fn csv_cells(path: &std::path::Path, text: &str) -> anyhow::Result<Vec<Cells>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header: Vec<String> = lines
        .next()
        .with_context(|| {
            format!(
                "{}: empty file: expected a CSV header and one bar a line",
                path.display()
            )
        })?
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let col = |names: &[&str]| {
        names
            .iter()
            .find_map(|n| header.iter().position(|h| h == n))
            .with_context(|| format!("{}: the header has no {names:?} column", path.display()))
    };
    let idx = [
        col(&["timestamp", "date", "time"])?,
        col(&["open"])?,
        col(&["high"])?,
        col(&["low"])?,
        col(&["close"])?,
        col(&["volume"])?,
    ];
    let mut rows = Vec::new();
    for (i, line) in lines.enumerate() {
        let cells: Vec<&str> = line.split(',').collect();
        let get = |k: usize| {
            cells
                .get(idx[k])
                .map(|c| c.trim().trim_matches('"').to_owned())
                .with_context(|| format!("{}: line {}: too few columns", path.display(), i + 2))
        };
        rows.push((get(0)?, [get(1)?, get(2)?, get(3)?, get(4)?, get(5)?]));
    }
    Ok(rows)
}

/// The bars ascending, once each is checked on its own (prices above zero, high and low
/// bounding the rest) and against the others (no open time twice, at least one bar).
fn checked_bars(
    path: &std::path::Path,
    mut rows: Vec<(usize, Candle)>,
    price_scale: Scale,
) -> anyhow::Result<Vec<Candle>> {
    if rows.is_empty() {
        bail!("{}: the file has no bars", path.display());
    }
    for (row, c) in &rows {
        let prices = [
            ("open", c.open),
            ("high", c.high),
            ("low", c.low),
            ("close", c.close),
        ];
        if let Some((what, _)) = prices.iter().find(|(_, v)| v.0 == 0) {
            bail!(
                "{}: row {row}: the {what} price is zero; every price must be above zero",
                path.display()
            );
        }
        if c.high < c.open.max(c.close) || c.low > c.open.min(c.close) || c.low > c.high {
            bail!(
                "{}: row {row}: high {} and low {} do not bound open {} and close {} \
                 (are the columns in open, high, low, close order?)",
                path.display(),
                c.high.to_text(price_scale),
                c.low.to_text(price_scale),
                c.open.to_text(price_scale),
                c.close.to_text(price_scale)
            );
        }
    }
    rows.sort_by_key(|(_, c)| c.open_ms);
    if let Some(w) = rows.windows(2).find(|w| w[0].1.open_ms == w[1].1.open_ms) {
        let (a, b) = (w[0].0.min(w[1].0), w[0].0.max(w[1].0));
        bail!(
            "{}: rows {a} and {b} both open at {} ms; keep one bar per open time",
            path.display(),
            w[0].1.open_ms
        );
    }
    Ok(rows.into_iter().map(|(_, c)| c).collect())
}

/// The first bar, in file order, whose open time is not on an `interval` boundary (a multiple
/// of its length since 1970, as every venue opens its bars): a file of bars of another
/// interval, or with a shifted clock, is refused. Bars on boundaries are also spaced by whole
/// intervals, so gaps (missing bars) pass and only misfits fail.
fn check_interval(
    path: &std::path::Path,
    rows: &[(usize, Candle)],
    interval: Interval,
) -> anyhow::Result<()> {
    let step = interval.ms();
    if let Some((row, c)) = rows.iter().find(|(_, c)| c.open_ms % step != 0) {
        bail!(
            "{}: row {row}: the bar opening at {} ms is not on a {interval} boundary (a multiple \
             of {step} ms); is --interval {interval} the file's bar length?",
            path.display(),
            c.open_ms
        );
    }
    Ok(())
}

/// Reads a candle file exactly (as [`read_file`]), checks every bar opens on an `interval`
/// boundary, and keeps the bars in the journal under `venue`, `symbol` and `interval`
/// (upserted); returns how many.
pub fn import(
    path: &std::path::Path,
    venue: Venue,
    symbol: &str,
    interval: Interval,
    scales: Scales,
    journal: &std::path::Path,
) -> anyhow::Result<usize> {
    let rows = read_rows(path, scales)?;
    check_interval(path, &rows, interval)?;
    let candles = checked_bars(path, rows, scales.price)?;
    let n = candles.len();
    let j = Journal::open(journal, 1024)
        .with_context(|| format!("opening the journal {}", journal.display()))?;
    j.handle().append(Record::Candles {
        run_id: crate::cli::new_run_id(),
        venue,
        symbol: symbol.to_owned(),
        interval,
        price_scale: scales.price,
        size_scale: scales.size,
        candles,
    })?;
    j.close()?;
    Ok(n)
}
