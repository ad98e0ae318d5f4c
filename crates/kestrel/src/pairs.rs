//! `kestrel pairs scan`: Engle-Granger cointegration over every pair of a set of candle files.
//!
//! Files are CSV with a header naming a `close` column and a time column (`timestamp`, `date`
//! or `time`), or freqtrade JSON (`[[ms, open, high, low, close, volume], ...]`). A file's
//! symbol is its name without the extension and without a trailing `-<timeframe>` (`5m`, `1h`,
//! `1d`, ...). The series are aligned on the timestamps every file has; each unordered pair is
//! tested with `a` the file named first (`a` regressed on `b`), in parallel
//! ([`kestrel_quant::scan`]), and the spread's half-life and zero crossings are computed from the
//! fitted hedge ratio and intercept.

use std::collections::{HashMap, HashSet};
use std::io::IsTerminal as _;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

use anyhow::{Context as _, bail};
use kestrel_quant::{CointOptions, PairResult, ScanOptions, half_life, scan, zero_crossings};
use serde::Serialize;

/// One file's close prices by time.
#[derive(Clone, Debug, PartialEq)]
pub struct Candles {
    /// The symbol the file names.
    pub symbol: String,
    /// Bar times, Unix milliseconds, strictly increasing.
    pub times: Vec<i64>,
    /// Close prices, one per time.
    pub closes: Vec<f64>,
}

/// The symbol a candle file names: its stem without a trailing `-<timeframe>`.
pub fn symbol_of(path: &Path) -> String {
    let stem = path
        .file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default();
    match stem.rsplit_once('-') {
        Some((head, tail)) if !head.is_empty() && is_timeframe(tail) => head.to_owned(),
        _ => stem,
    }
}

/// `5m`, `1h`, `15s`, `1d`, `1w`, `1M`, `1y`: digits then one unit letter.
fn is_timeframe(s: &str) -> bool {
    let (digits, unit) = s.split_at(s.len().saturating_sub(1));
    !digits.is_empty()
        && digits.bytes().all(|b| b.is_ascii_digit())
        && matches!(unit, "s" | "m" | "h" | "d" | "w" | "M" | "y")
}

/// Reads one candle file (by extension: `.json` freqtrade, anything else CSV).
pub fn load(path: &Path) -> anyhow::Result<Candles> {
    let text =
        std::fs::read_to_string(path).with_context(|| format!("reading {}", path.display()))?;
    let is_json = path
        .extension()
        .is_some_and(|e| e.eq_ignore_ascii_case("json"));
    let rows = if is_json {
        parse_freqtrade(&text)
    } else {
        parse_csv(&text)
    }
    .with_context(|| format!("{}", path.display()))?;
    let mut times = Vec::with_capacity(rows.len());
    let mut closes = Vec::with_capacity(rows.len());
    let mut sorted = rows;
    sorted.sort_by_key(|&(t, _)| t);
    for w in sorted.windows(2) {
        if w[0].0 == w[1].0 {
            bail!(
                "{}: two bars at the same time ({} ms)",
                path.display(),
                w[0].0
            );
        }
    }
    for (t, c) in sorted {
        times.push(t);
        closes.push(c);
    }
    if times.is_empty() {
        bail!("{}: no bars", path.display());
    }
    Ok(Candles {
        symbol: symbol_of(path),
        times,
        closes,
    })
}

fn finite_close(value: f64, row: usize) -> anyhow::Result<f64> {
    if value.is_finite() {
        Ok(value)
    } else {
        bail!("row {row}: close is not a finite number")
    }
}

/// freqtrade JSON: an array of `[ms, open, high, low, close, volume]` rows.
fn parse_freqtrade(text: &str) -> anyhow::Result<Vec<(i64, f64)>> {
    let rows: Vec<Vec<serde_json::Value>> = serde_json::from_str(text)
        .context("expected a freqtrade JSON array of [ms, open, high, low, close, volume] rows")?;
    rows.iter()
        .enumerate()
        .map(|(i, row)| {
            let time = row.first().and_then(|v| {
                v.as_i64()
                    .or_else(|| v.as_f64().filter(|f| f.fract() == 0.0).map(|f| f as i64))
            });
            let close = row.get(4).and_then(serde_json::Value::as_f64);
            match (time, close) {
                (Some(t), Some(c)) => Ok((t, finite_close(c, i)?)),
                _ => bail!("row {i}: expected [ms, open, high, low, close, volume] numbers"),
            }
        })
        .collect()
}

/// CSV with a header: a `close` column and a `timestamp`, `date` or `time` column.
fn parse_csv(text: &str) -> anyhow::Result<Vec<(i64, f64)>> {
    let mut lines = text.lines().filter(|l| !l.trim().is_empty());
    let header = lines.next().context("empty file")?;
    let names: Vec<String> = header
        .split(',')
        .map(|h| h.trim().trim_matches('"').to_ascii_lowercase())
        .collect();
    let find = |want: &[&str]| want.iter().find_map(|w| names.iter().position(|n| n == w));
    let close = find(&["close"]).context(
        "the header has no `close` column (expected a header such as `timestamp,open,high,low,close,volume`)",
    )?;
    let time = find(&["timestamp", "date", "time"])
        .context("the header has no `timestamp`, `date` or `time` column")?;
    lines
        .enumerate()
        .map(|(i, line)| {
            let row = i + 2;
            let cells: Vec<&str> = line
                .split(',')
                .map(|c| c.trim().trim_matches('"'))
                .collect();
            let (Some(t), Some(c)) = (cells.get(time), cells.get(close)) else {
                bail!("line {row}: fewer columns than the header");
            };
            let t = parse_time(t).with_context(|| format!("line {row}: time {t:?}"))?;
            let c: f64 = c
                .parse()
                .map_err(|_| anyhow::anyhow!("line {row}: close {c:?} is not a number"))?;
            Ok((t, finite_close(c, row)?))
        })
        .collect()
}

/// A time cell: integer epoch (seconds below 10^11, else milliseconds), or an ISO-like date
/// `YYYY-MM-DD[ T]HH:MM[:SS[.frac]][Z|+00:00]` read as UTC.
pub fn parse_time(s: &str) -> anyhow::Result<i64> {
    if let Ok(n) = s.parse::<i64>() {
        return Ok(if n.abs() < 100_000_000_000 {
            n * 1000
        } else {
            n
        });
    }
    let s = s
        .trim_end_matches('Z')
        .trim_end_matches("+00:00")
        .trim_end_matches("+0000");
    let (date, clock) = match s.split_once([' ', 'T']) {
        Some((d, c)) => (d, c),
        None => (s, "00:00:00"),
    };
    let num = |x: &str| -> anyhow::Result<i64> {
        if x.is_empty() || !x.bytes().all(|b| b.is_ascii_digit()) {
            bail!("expected a number or a date such as 2021-12-31 23:01:00");
        }
        Ok(x.parse()?)
    };
    let mut d = date.split('-');
    let (y, m, day) = (
        num(d.next().unwrap_or(""))?,
        num(d.next().unwrap_or(""))?,
        num(d.next().unwrap_or(""))?,
    );
    if d.next().is_some() || !(1..=12).contains(&m) || !(1..=31).contains(&day) {
        bail!("not a date");
    }
    let (hms, frac) = clock.split_once('.').unwrap_or((clock, ""));
    let mut c = hms.split(':');
    let (hh, mm) = (num(c.next().unwrap_or(""))?, num(c.next().unwrap_or(""))?);
    let ss = c.next().map(num).transpose()?.unwrap_or(0);
    if c.next().is_some() || hh > 23 || mm > 59 || ss > 60 {
        bail!("not a time of day");
    }
    let millis = if frac.is_empty() {
        0
    } else {
        let digits: String = frac.chars().take(3).collect();
        num(&format!("{digits:0<3}"))?
    };
    Ok(((days_from_civil(y, m, day) * 24 + hh) * 60 + mm) * 60_000 + ss * 1000 + millis)
}

/// Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant's civil-day algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y - era * 400;
    let mp = (m + 9) % 12;
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

/// Keeps the bars at times every series has, in time order: those times, and each series'
/// closes at them.
pub fn align(all: &[Candles]) -> (Vec<i64>, Vec<Vec<f64>>) {
    let mut common: Option<HashSet<i64>> = None;
    for c in all {
        let times: HashSet<i64> = c.times.iter().copied().collect();
        common = Some(match common {
            None => times,
            Some(prev) => prev.intersection(&times).copied().collect(),
        });
    }
    let common = common.unwrap_or_default();
    let mut times: Vec<i64> = common.iter().copied().collect();
    times.sort_unstable();
    let series = all
        .iter()
        .map(|c| {
            c.times
                .iter()
                .zip(&c.closes)
                .filter(|(t, _)| common.contains(t))
                .map(|(_, &v)| v)
                .collect()
        })
        .collect();
    (times, series)
}

/// Loads every file; two files naming the same symbol are an error.
fn load_all(paths: &[PathBuf]) -> anyhow::Result<Vec<Candles>> {
    let mut all = Vec::with_capacity(paths.len());
    let mut seen: HashMap<String, PathBuf> = HashMap::new();
    for p in paths {
        let c = load(p)?;
        if let Some(first) = seen.insert(c.symbol.clone(), p.clone()) {
            bail!(
                "{} and {} both name the symbol {}",
                first.display(),
                p.display(),
                c.symbol
            );
        }
        all.push(c);
    }
    Ok(all)
}

/// One pair's line of output (the JSON keys are the documented ones).
#[derive(Clone, Debug, Serialize, PartialEq)]
pub struct PairRow {
    /// The dependent symbol (named first on the command line).
    pub a: String,
    /// The regressor symbol.
    pub b: String,
    /// Bars in the aligned series.
    pub n: usize,
    /// Coefficient on `b`.
    pub hedge_ratio: f64,
    /// Constant of the regression.
    pub intercept: f64,
    /// ADF t-statistic of the spread.
    pub t_stat: f64,
    /// MacKinnon p-value.
    pub p_value: f64,
    /// 1 % critical value.
    pub crit_1: f64,
    /// 5 % critical value.
    pub crit_5: f64,
    /// 10 % critical value.
    pub crit_10: f64,
    /// Half-life of mean reversion in bars; `null` when the spread does not revert.
    pub half_life: Option<f64>,
    /// Sign changes of the demeaned spread.
    pub zero_crossings: usize,
}

/// What to keep.
#[derive(Clone, Copy, Debug, Default)]
pub struct Filters {
    /// `--max-p`.
    pub max_p: Option<f64>,
    /// `--half-life MIN..MAX` (bars).
    pub half_life: Option<(f64, f64)>,
    /// `--min-crossings`.
    pub min_crossings: Option<usize>,
}

impl Filters {
    fn keep(&self, r: &PairRow) -> bool {
        self.max_p.is_none_or(|p| r.p_value <= p)
            && self
                .half_life
                .is_none_or(|(lo, hi)| r.half_life.is_some_and(|h| h >= lo && h <= hi))
            && self.min_crossings.is_none_or(|m| r.zero_crossings >= m)
    }
}

/// `MIN..MAX` of `--half-life`.
pub fn parse_range(s: &str) -> anyhow::Result<(f64, f64)> {
    let (lo, hi) = s
        .split_once("..")
        .with_context(|| format!("expected MIN..MAX such as 1..200, got {s:?}"))?;
    let (lo, hi): (f64, f64) = (
        lo.trim().parse().with_context(|| format!("MIN in {s:?}"))?,
        hi.trim().parse().with_context(|| format!("MAX in {s:?}"))?,
    );
    if !(lo.is_finite() && hi.is_finite() && lo >= 0.0 && lo <= hi) {
        bail!("expected 0 <= MIN <= MAX, got {s:?}");
    }
    Ok((lo, hi))
}

/// The scan's result: kept rows sorted by p-value, and pairs that could not be tested.
#[derive(Debug)]
pub struct ScanOutput {
    /// Rows that passed the filters, by ascending p-value.
    pub rows: Vec<PairRow>,
    /// Pairs tested.
    pub pairs: usize,
    /// `(a, b, why)` of pairs that could not be tested.
    pub errors: Vec<(String, String, String)>,
    /// Bars after alignment.
    pub n: usize,
}

/// Loads, aligns and scans `paths`.
pub fn run(
    paths: &[PathBuf],
    log: bool,
    filters: Filters,
    progress: bool,
) -> anyhow::Result<ScanOutput> {
    if paths.len() < 2 {
        bail!("pairs scan needs at least two candle files");
    }
    let all = load_all(paths)?;
    let (_, mut series) = align(&all);
    let n = series.first().map_or(0, Vec::len);
    if n < 20 {
        bail!("only {n} bars are common to every file: too few to test");
    }
    if log {
        for (c, s) in all.iter().zip(series.iter_mut()) {
            if let Some(bad) = s.iter().find(|&&v| v <= 0.0) {
                bail!("{}: --log needs positive prices, found {bad}", c.symbol);
            }
            s.iter_mut().for_each(|v| *v = v.ln());
        }
    }
    let refs: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
    let total = refs.len() * (refs.len() - 1) / 2;
    let shown = AtomicUsize::new(0);
    let bar = |done: usize, total: usize| {
        let pct = done * 100 / total.max(1);
        if shown.swap(pct, Ordering::Relaxed) != pct {
            eprint!("\rscanning {total} pairs: {pct:3}%");
        }
    };
    let results: Vec<PairResult> = scan(
        &refs,
        &ScanOptions {
            coint: CointOptions::default(),
            threads: None,
            progress: progress.then_some(&bar as &(dyn Fn(usize, usize) + Sync)),
        },
    );
    if progress {
        eprintln!();
    }
    let mut rows = Vec::new();
    let mut errors = Vec::new();
    let mut spread = vec![0.0; n];
    for r in results {
        let (a, b) = (&all[r.i].symbol, &all[r.j].symbol);
        let t = match r.outcome {
            Ok(t) => t,
            Err(e) => {
                errors.push((a.clone(), b.clone(), e.to_string()));
                continue;
            }
        };
        for ((s, y0), y1) in spread.iter_mut().zip(&series[r.i]).zip(&series[r.j]) {
            *s = y0 - t.hedge_ratio * y1 - t.intercept;
        }
        let half = half_life(&spread).ok().and_then(|h| h.bars);
        let crossings = zero_crossings(&spread).unwrap_or(0);
        let row = PairRow {
            a: a.clone(),
            b: b.clone(),
            n,
            hedge_ratio: t.hedge_ratio,
            intercept: t.intercept,
            t_stat: t.t_stat,
            p_value: t.p_value,
            crit_1: t.crit.one_pct,
            crit_5: t.crit.five_pct,
            crit_10: t.crit.ten_pct,
            half_life: half,
            zero_crossings: crossings,
        };
        if filters.keep(&row) {
            rows.push(row);
        }
    }
    rows.sort_by(|x, y| x.p_value.total_cmp(&y.p_value));
    Ok(ScanOutput {
        rows,
        pairs: total,
        errors,
        n,
    })
}

/// The readable table.
pub fn table(out: &ScanOutput) -> String {
    let mut s = format!(
        "{:<14} {:<14} {:>6} {:>11} {:>11} {:>8} {:>9} {:>8} {:>9} {:>9}\n",
        "a", "b", "n", "hedge", "intercept", "t", "p", "crit5%", "half-life", "crossings"
    );
    for r in &out.rows {
        let half = r.half_life.map_or("-".to_owned(), |h| format!("{h:.1}"));
        s.push_str(&format!(
            "{:<14} {:<14} {:>6} {:>11.5} {:>11.5} {:>8.3} {:>9.5} {:>8.3} {:>9} {:>9}\n",
            r.a,
            r.b,
            r.n,
            r.hedge_ratio,
            r.intercept,
            r.t_stat,
            r.p_value,
            r.crit_5,
            half,
            r.zero_crossings
        ));
    }
    s.push_str(&format!(
        "{} of {} pairs shown ({} bars each)",
        out.rows.len(),
        out.pairs,
        out.n
    ));
    s
}

/// Whether stderr is a terminal (the progress bar is shown only there).
pub fn progress_wanted() -> bool {
    std::io::stderr().is_terminal()
}

/// `kestrel backtest statarb`'s inputs beyond the candle files.
#[derive(Clone, Debug)]
pub struct BacktestArgs {
    /// The backtest's rules.
    pub config: kestrel_strategies::statarb::BacktestConfig,
    /// Where to write the equity curve.
    pub png: PathBuf,
}

/// The median spacing of `times` in milliseconds, as bars per year (365 days).
pub fn bars_per_year(times: &[i64]) -> Option<f64> {
    let mut gaps: Vec<i64> = times.windows(2).map(|w| w[1] - w[0]).collect();
    if gaps.is_empty() {
        return None;
    }
    gaps.sort_unstable();
    let median = gaps[gaps.len() / 2];
    (median > 0).then(|| 365.0 * 86_400_000.0 / median as f64)
}

/// The summary `kestrel backtest statarb` prints.
#[derive(Clone, Debug, Serialize)]
pub struct BacktestSummary {
    /// Symbols, in command-line order.
    pub symbols: Vec<String>,
    /// Bars common to every file.
    pub bars: usize,
    /// Walk-forward windows traded.
    pub windows: usize,
    /// Realized PnL after fees and slippage, quote.
    pub pnl: f64,
    /// PnL before fees, quote.
    pub gross_pnl: f64,
    /// Fees paid, quote.
    pub fees: f64,
    /// Annualized Sharpe ratio of per-bar returns; `null` when undefined.
    pub sharpe: Option<f64>,
    /// Largest fall of equity from a peak, quote, and as a fraction of the peak.
    pub max_drawdown: f64,
    /// See `max_drawdown`.
    pub max_drawdown_fraction: f64,
    /// Share of closed trades that made money; `null` without trades.
    pub win_rate: Option<f64>,
    /// Closed trades.
    pub trades: usize,
    /// Traded notional, quote.
    pub turnover: f64,
    /// Bars per year used for the Sharpe ratio.
    pub bars_per_year: f64,
    /// Pairs selected per window, `"A~B"`.
    pub selected: Vec<Vec<String>>,
    /// The equity-curve PNG written.
    pub equity_png: String,
}

/// Loads, aligns and backtests `paths`; writes the equity curve.
pub fn backtest(paths: &[PathBuf], args: &BacktestArgs) -> anyhow::Result<BacktestSummary> {
    if paths.len() < 2 {
        bail!("backtest statarb needs at least two candle files");
    }
    let all = load_all(paths)?;
    let (common_times, series) = align(&all);
    let bars = series.first().map_or(0, Vec::len);
    let mut config = args.config;
    if config.bars_per_year <= 0.0 {
        config.bars_per_year = bars_per_year(&common_times)
            .context("cannot infer bars per year from the bar times; pass --bars-per-year")?;
    }
    let refs: Vec<&[f64]> = series.iter().map(Vec::as_slice).collect();
    let names: Vec<&str> = all.iter().map(|c| c.symbol.as_str()).collect();
    let report = kestrel_strategies::statarb::backtest(&refs, &names, &config)
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let png = kestrel_strategies::statarb::equity_png(&report.equity, 1000, 300);
    std::fs::write(&args.png, png).with_context(|| format!("writing {}", args.png.display()))?;
    Ok(BacktestSummary {
        symbols: report.names.clone(),
        bars,
        windows: report.windows.len(),
        pnl: report.total_pnl,
        gross_pnl: report.gross_pnl,
        fees: report.fees,
        sharpe: report.sharpe,
        max_drawdown: report.max_drawdown,
        max_drawdown_fraction: report.max_drawdown_fraction,
        win_rate: report.win_rate,
        trades: report.trade_count,
        turnover: report.turnover,
        bars_per_year: config.bars_per_year,
        selected: report
            .windows
            .iter()
            .map(|w| {
                w.selected
                    .iter()
                    .map(|s| format!("{}~{}", names[s.id.a], names[s.id.b]))
                    .collect()
            })
            .collect(),
        equity_png: args.png.display().to_string(),
    })
}
