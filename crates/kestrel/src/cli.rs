//! The subcommands' bodies, so they can be tested without spawning the binary.

use std::path::Path;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use kestrel_config::{Config, ModeSetting};
use kestrel_types::Mode;

use crate::engine::{Engine, EngineKeys};

/// `kestrel check-config FILE`: prints `ok` or every problem, one per line.
pub fn check_config(file: &Path) -> anyhow::Result<ExitCode> {
    match kestrel_config::load_any_file(file) {
        Ok(cfg) => {
            // The stat-arb section's strategy rules (thresholds in order, caps) too.
            if let Some(s) = cfg.statarb()
                && let Err(e) = crate::statarb_run::spec(s)
            {
                eprintln!("{}: {e}", file.display());
                return Ok(ExitCode::from(2));
            }
            println!("{}: ok", file.display());
            if let kestrel_config::AnyConfig::Full(full) = &cfg
                && full.backrun.executor.is_none()
            {
                eprintln!(
                    "note: backrun.executor is not set, so `kestrel run` will refuse this config \
                     until it is: `kestrel deploy-executor --config {}` shows how one is deployed",
                    file.display()
                );
            }
            Ok(ExitCode::SUCCESS)
        }
        Err(errors) => {
            for e in &errors.0 {
                eprintln!("{}: {e}", file.display());
            }
            eprintln!("{}: {} problem(s)", file.display(), errors.0.len());
            Ok(ExitCode::from(2))
        }
    }
}

pub(crate) fn load(file: &Path) -> anyhow::Result<kestrel_config::AnyConfig> {
    kestrel_config::load_any_file(file).map_err(|errors| {
        let first = errors
            .0
            .first()
            .map(ToString::to_string)
            .unwrap_or_default();
        anyhow::anyhow!(
            "{} has {} problem(s), first: {first} (run `kestrel check-config {}` for all)",
            file.display(),
            errors.0.len(),
            file.display()
        )
    })
}

/// Resolves the `env:VAR` secrets of a config.
pub fn resolve_keys(cfg: &Config) -> anyhow::Result<EngineKeys> {
    let searcher = cfg
        .signer
        .key
        .resolve()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    let auth = cfg
        .relay_auth
        .key
        .resolve()
        .map_err(|e| anyhow::anyhow!("{e}"))?;
    Ok(EngineKeys {
        searcher_hex: searcher.expose().to_string(),
        relay_auth_hex: auth.expose().to_string(),
    })
}

/// A fresh run id: unix milliseconds and a random suffix.
pub fn new_run_id() -> String {
    let ms = kestrel_stdx::Clock::unix_ms(&kestrel_stdx::LiveClock::new());
    let r = kestrel_stdx::Rng::from_os().map_or(0, |mut r| r.next_u64()) & 0xffff;
    format!("run-{ms}-{r:04x}")
}

/// Wait for `duration` seconds (forever without one), Ctrl-C or SIGTERM, whichever comes
/// first: every way of stopping a run goes through its orderly stop (lanes settled, the
/// journal's end written).
async fn until_stopped(duration: Option<u64>) -> anyhow::Result<()> {
    let mut term = tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate())?;
    let elapsed = async {
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => std::future::pending::<()>().await,
        }
    };
    tokio::select! {
        () = elapsed => {}
        r = tokio::signal::ctrl_c() => r?,
        _ = term.recv() => {}
    }
    Ok(())
}

/// `kestrel run --config FILE [--live] [--duration SECS]`. `config_log`: apply the config's
/// `telemetry.log` to the installed subscriber (false when RUST_LOG chose the filter).
pub fn run(
    file: &Path,
    live_flag: bool,
    duration: Option<u64>,
    config_log: bool,
) -> anyhow::Result<ExitCode> {
    let any = load(file)?;
    if config_log {
        kestrel_telemetry::set_log_filter(&any.telemetry().log)
            .map_err(|e| anyhow::anyhow!("{}: telemetry.log: {e}", file.display()))?;
    }
    let config_live = any.mode() == ModeSetting::Live;
    let mode = Mode::resolve(config_live, live_flag);
    if config_live && !live_flag {
        eprintln!(
            "note: the config says mode = \"live\" but --live was not given: running dry-run"
        );
    }
    if live_flag && !config_live {
        eprintln!("note: --live was given but the config says dry-run: running dry-run");
    }
    let cfg = match any {
        kestrel_config::AnyConfig::Full(cfg) => cfg,
        kestrel_config::AnyConfig::CexOnly(cex) => return run_cex(&cex, mode, duration),
    };
    let keys = resolve_keys(&cfg)?;
    // Every venue credential is read before anything starts, so a missing one fails fast.
    let xarb_cfg = match &cfg.xarb {
        Some(x) => Some((x.clone(), crate::xarb_run::resolve_secrets(x)?)),
        None => None,
    };
    // The stat-arb rules are checked and its credentials read before anything starts too.
    let statarb_cfg = match &cfg.statarb {
        Some(s) => Some((s.clone(), prepare_statarb(s, mode)?)),
        None => None,
    };
    // Checked after every secret is read, so a missing variable is named first.
    if cfg.backrun.executor.is_none() {
        anyhow::bail!("{}: {}", file.display(), crate::engine::no_executor());
    }
    let journal_path = cfg.journal.path.clone();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(1)
        .build()?;
    rt.block_on(async move {
        let engine = Engine::start(cfg, mode, keys, new_run_id())
            .await
            .context("starting the engine")?;
        let xarb = match xarb_cfg {
            Some((x, secrets)) => {
                let (journal, run_id) = (engine.journal_handle(), engine.run_id().to_owned());
                let path = journal_path.clone();
                let started = tokio::task::spawn_blocking(move || {
                    start_xarb(&x, &secrets, mode, &path, journal, run_id)
                })
                .await?;
                match started {
                    Ok(run) => Some(run),
                    Err(e) => {
                        // The engine is running: stop it cleanly before reporting.
                        let _ = engine.stop().await;
                        return Err(e.context("starting the cross-exchange lane"));
                    }
                }
            }
            None => None,
        };
        if let Some(x) = &xarb {
            engine.metrics_sources().add(xarb_metrics(x));
        }
        let statarb = match statarb_cfg {
            Some((s, secrets)) => {
                let (journal, run_id) = (engine.journal_handle(), engine.run_id().to_owned());
                let path = journal_path.clone();
                let started = tokio::task::spawn_blocking(move || {
                    crate::statarb_run::start(&s, secrets.as_ref(), mode, &path, journal, run_id)
                })
                .await?;
                match started {
                    Ok(run) => Some(run),
                    Err(e) => {
                        if let Some(xarb) = xarb {
                            let _ = tokio::task::spawn_blocking(move || xarb.stop()).await;
                        }
                        let _ = engine.stop().await;
                        return Err(e.context("starting the stat-arb lane"));
                    }
                }
            }
            None => None,
        };
        if let Some(s) = &statarb {
            engine.metrics_sources().add(statarb_metrics(s));
        }
        eprintln!(
            "kestrel: running ({mode:?}{}{}), run id {}; Ctrl-C stops",
            lane_note(xarb.is_some(), "cross-exchange", mode),
            lane_note(statarb.is_some(), "stat-arb", mode),
            engine.run_id()
        );
        until_stopped(duration).await?;
        let (lanes, failed) =
            tokio::task::spawn_blocking(move || stop_lanes(xarb, statarb)).await?;
        let report = engine.stop_journaled(lanes).await?;
        let c = &report.counters;
        eprintln!(
            "kestrel: stopped; pending seen {}, candidates {}, bundles {}, journal {}",
            c.pending_seen,
            c.candidates,
            c.bundles,
            report.journal_path.display()
        );
        Ok(if failed {
            ExitCode::FAILURE
        } else {
            ExitCode::SUCCESS
        })
    })
}

/// The stat-arb section checked (its strategy rules) and, in live mode, its credentials read
/// (paper needs none: candles, rules and books are public); live mode without credentials is
/// refused here, before anything starts.
fn prepare_statarb(
    s: &kestrel_config::StatArbConfig,
    mode: Mode,
) -> anyhow::Result<Option<crate::xarb_run::VenueSecrets>> {
    crate::statarb_run::spec(s)?;
    let secrets = match mode {
        Mode::Live => crate::statarb_run::resolve_secrets(s)?,
        Mode::DryRun => None,
    };
    if mode == Mode::Live && secrets.is_none() {
        anyhow::bail!("statarb: live mode sends orders and needs api_key and api_secret (env:VAR)");
    }
    Ok(secrets)
}

/// `", NAME lane on paper"` or `", NAME lane sending orders"` for a lane that runs.
fn lane_note(on: bool, name: &str, mode: Mode) -> String {
    match (on, mode) {
        (false, _) => String::new(),
        (true, Mode::DryRun) => format!(", {name} lane on paper"),
        (true, Mode::Live) => format!(", {name} lane sending orders"),
    }
}

/// Stops the exchange lanes that run (blocking), says what each did, and returns their totals
/// (a lane's error in its place) for the run summary, and whether a lane had failed.
fn stop_lanes(
    xarb: Option<crate::xarb_run::XarbRun>,
    statarb: Option<crate::statarb_lane::StatArbRun>,
) -> (serde_json::Map<String, serde_json::Value>, bool) {
    let mut summary = serde_json::Map::new();
    let mut failed = false;
    if let Some(statarb) = statarb {
        match statarb.stop() {
            Ok(t) => {
                eprintln!(
                    "kestrel: stat-arb lane stopped; pairs {}, bars {}, trades {}, open {}, \
                     fees {}, pnl {}",
                    t.pairs_selected, t.bars, t.trades, t.open_trades, t.fees_quote, t.pnl_quote
                );
                summary.insert(
                    "statarb".into(),
                    serde_json::to_value(&t).unwrap_or_default(),
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("kestrel: the stat-arb lane failed: {e:#}");
                summary.insert("statarb_error".into(), format!("{e:#}").into());
            }
        }
    }
    if let Some(xarb) = xarb {
        let digits = xarb.quote_digits();
        match xarb.stop() {
            Ok(stats) => {
                let pnl = crate::quote_decimal(stats.pnl, digits);
                let fees =
                    crate::quote_decimal(i128::try_from(stats.fees).unwrap_or(i128::MAX), digits);
                eprintln!(
                    "kestrel: cross-exchange lane stopped; opportunities {}, trades {}, \
                     orders {}, unwinds {}, pnl {pnl} and fees {fees} (quote asset)",
                    stats.opportunities, stats.trades, stats.orders, stats.unwinds
                );
                summary.insert(
                    "xarb".into(),
                    serde_json::json!({
                        "opportunities": stats.opportunities,
                        "trades": stats.trades,
                        "orders": stats.orders,
                        "unwinds": stats.unwinds,
                        "pnl_units": stats.pnl.to_string(),
                        "pnl_quote": pnl,
                        "fees_quote": fees,
                        "unresolved": stats.unresolved,
                    }),
                );
            }
            Err(e) => {
                failed = true;
                eprintln!("kestrel: the cross-exchange lane failed: {e:#}");
                summary.insert("xarb_error".into(), format!("{e:#}").into());
            }
        }
    }
    (summary, failed)
}

/// `kestrel run` on a CEX-only config: no node, no engine; the journal opened here, the run
/// journaled (start, every lane event, end with the lanes' totals), and the exchange lanes on
/// their own threads until `duration` or Ctrl-C.
fn run_cex(
    cfg: &kestrel_config::CexConfig,
    mode: Mode,
    duration: Option<u64>,
) -> anyhow::Result<ExitCode> {
    use kestrel_stdx::Clock as _;
    let clock = kestrel_stdx::LiveClock::new();
    // Every credential is read, and every rule checked, before anything starts.
    let xarb_secrets = cfg
        .xarb
        .as_ref()
        .map(crate::xarb_run::resolve_secrets)
        .transpose()?;
    let statarb_secrets = cfg
        .statarb
        .as_ref()
        .map(|s| prepare_statarb(s, mode))
        .transpose()?;
    // `/metrics` serves the lanes' totals once they start (none before).
    let sources = std::sync::Arc::new(crate::lane_metrics::MetricsSources::default());
    let _metrics = match cfg.telemetry.metrics_addr {
        Some(addr) => {
            let s = std::sync::Arc::clone(&sources);
            let render = move || {
                let mut text = String::new();
                s.render(&mut text);
                text
            };
            let server = kestrel_telemetry::serve_metrics(addr, std::sync::Arc::new(render))
                .with_context(|| format!("telemetry.metrics_addr: serving on {addr}"))?;
            eprintln!("kestrel: metrics at http://{}/metrics", server.local_addr());
            Some(server)
        }
        None => None,
    };
    let path = &cfg.journal.path;
    let journal = kestrel_store::Journal::open(path, 4096)
        .with_context(|| format!("opening the journal {}", path.display()))?;
    let run_id = new_run_id();
    journal.handle().append(kestrel_store::Record::RunStarted {
        run_id: run_id.clone(),
        mode,
        // Secrets are `env:VAR` names in the config: nothing to redact.
        config_toml: kestrel_config::cex_to_toml_string(cfg),
        started_unix_ms: clock.unix_ms(),
    })?;
    let finish = |journal: kestrel_store::Journal, summary_json: String| -> anyhow::Result<()> {
        journal.handle().append(kestrel_store::Record::RunEnded {
            run_id: run_id.clone(),
            ended_unix_ms: clock.unix_ms(),
            summary_json,
        })?;
        journal.close().context("closing the journal")?;
        Ok(())
    };
    let xarb = match (&cfg.xarb, &xarb_secrets) {
        (Some(x), Some(secrets)) => {
            match start_xarb(x, secrets, mode, path, journal.handle(), run_id.clone()) {
                Ok(run) => Some(run),
                Err(e) => {
                    finish(
                        journal,
                        serde_json::Value::Object(stop_lanes(None, None).0).to_string(),
                    )?;
                    return Err(e.context("starting the cross-exchange lane"));
                }
            }
        }
        _ => None,
    };
    let statarb = match (&cfg.statarb, statarb_secrets) {
        (Some(s), Some(secrets)) => {
            let started = crate::statarb_run::start(
                s,
                secrets.as_ref(),
                mode,
                path,
                journal.handle(),
                run_id.clone(),
            );
            match started {
                Ok(run) => Some(run),
                Err(e) => {
                    finish(
                        journal,
                        serde_json::Value::Object(stop_lanes(xarb, None).0).to_string(),
                    )?;
                    return Err(e.context("starting the stat-arb lane"));
                }
            }
        }
        _ => None,
    };
    if let Some(x) = &xarb {
        sources.add(xarb_metrics(x));
    }
    if let Some(s) = &statarb {
        sources.add(statarb_metrics(s));
    }
    eprintln!(
        "kestrel: running exchange lanes only ({mode:?}{}{}), run id {run_id}; Ctrl-C stops",
        lane_note(xarb.is_some(), "cross-exchange", mode),
        lane_note(statarb.is_some(), "stat-arb", mode),
    );
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(until_stopped(duration))?;
    let (summary, failed) = stop_lanes(xarb, statarb);
    finish(journal, serde_json::Value::Object(summary).to_string())?;
    eprintln!("kestrel: stopped; journal {}", path.display());
    Ok(if failed {
        ExitCode::FAILURE
    } else {
        ExitCode::SUCCESS
    })
}

/// The running cross-exchange lane's `/metrics` text (`kestrel_xarb_*`).
fn xarb_metrics(run: &crate::xarb_run::XarbRun) -> crate::lane_metrics::MetricsSource {
    let gauges = std::sync::Arc::clone(run.gauges());
    std::sync::Arc::new(move |out: &mut String| gauges.render(out))
}

/// The running stat-arb lane's `/metrics` text (`kestrel_statarb_*`).
fn statarb_metrics(run: &crate::statarb_lane::StatArbRun) -> crate::lane_metrics::MetricsSource {
    let gauges = std::sync::Arc::clone(run.gauges());
    std::sync::Arc::new(move |out: &mut String| gauges.render(out))
}

/// Builds the cross-exchange lane from `[xarb]` (asking every venue for fees, rules and
/// balances; a paper run goes on from the journal's last positions of paper runs; a kill switch
/// trip of `mode` never reset leaves the lane tripped, said at error level) and starts its
/// thread.
pub fn start_xarb(
    cfg: &kestrel_config::XarbConfig,
    secrets: &[crate::xarb_run::VenueSecrets],
    mode: Mode,
    journal_path: &Path,
    journal: kestrel_store::JournalHandle,
    run_id: String,
) -> anyhow::Result<crate::xarb_run::XarbRun> {
    let restored = crate::xarb_run::Restored::read(journal_path, mode)?;
    let lane = crate::xarb_run::build_lane(cfg, secrets, mode, &restored)?;
    crate::xarb_run::XarbRun::start(
        lane,
        cfg.core,
        journal,
        run_id,
        mode,
        crate::xarb_run::quote_digits(cfg),
    )
}

/// `kestrel exsim`: simulated venues for a `kestrel run` rehearsal of the cross-exchange lane.
pub fn exsim(
    duration: Option<u64>,
    dislocate_every_ms: u64,
    env_prefix: &str,
    statarb_bar_ms: Option<u64>,
) -> anyhow::Result<ExitCode> {
    if dislocate_every_ms == 0 {
        anyhow::bail!("--dislocate-every-ms must be at least 1");
    }
    if statarb_bar_ms == Some(0) {
        anyhow::bail!("--statarb-bar-ms must be at least 1");
    }
    let valid_prefix = !env_prefix.is_empty()
        && env_prefix
            .bytes()
            .all(|b| b.is_ascii_uppercase() || b.is_ascii_digit() || b == b'_')
        && !env_prefix.as_bytes()[0].is_ascii_digit();
    if !valid_prefix {
        anyhow::bail!("--env-prefix must match [A-Z_][A-Z0-9_]*, got {env_prefix:?}");
    }
    let sim = crate::bench_xarb::SimVenues::start(dislocate_every_ms)?;
    println!("# Append to a kestrel config (see configs/xarb-paper.toml):\n");
    println!("{}", sim.xarb_toml(env_prefix));
    println!("# Made-up credentials the simulated venues accept (not secrets):");
    for (var, value) in sim.credentials(env_prefix) {
        // PEM keys span lines: the config reader accepts `\n` escapes in them.
        println!("export {var}='{}'", value.replace('\n', "\\n"));
    }
    let statarb = match statarb_bar_ms {
        Some(bar_ms) => {
            let sim = crate::statarb_sim::StatArbSim::start(1, bar_ms)?;
            let prefix = format!("{env_prefix}_STATARB");
            println!("\n# The stat-arb venue (see configs/statarb-paper.toml):\n");
            println!("{}", sim.statarb_toml(&prefix));
            let (key, secret) = crate::statarb_sim::StatArbSim::credentials();
            println!("export {prefix}_KEY='{key}'\nexport {prefix}_SECRET='{secret}'");
            Some(sim)
        }
        None => None,
    };
    eprintln!(
        "kestrel exsim: serving {} simulated venues; {}",
        sim.names().len(),
        match duration {
            Some(s) => format!("stopping after {s} s"),
            None => "Ctrl-C stops".to_owned(),
        }
    );
    use std::io::Write as _;
    let _ = std::io::stdout().flush();
    tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?
        .block_on(until_stopped(duration))?;
    if let Some(mut statarb) = statarb {
        statarb.stop();
        eprintln!(
            "kestrel exsim: the stat-arb venue made {} bars",
            statarb.bars_made()
        );
    }
    let (steps, dislocations) = sim.progress();
    eprintln!("kestrel exsim: stopped after {steps} market steps, {dislocations} dislocations");
    Ok(ExitCode::SUCCESS)
}

/// `kestrel pairs scan`'s arguments, as typed.
#[derive(Debug, Clone, Copy)]
pub struct PairsScanArgs<'a> {
    /// `--candles`.
    pub candles: &'a [std::path::PathBuf],
    /// `--log`.
    pub log: bool,
    /// `--max-p`.
    pub max_p: Option<f64>,
    /// `--half-life`.
    pub half_life: Option<&'a str>,
    /// `--min-crossings`.
    pub min_crossings: Option<usize>,
    /// `--json`.
    pub json: bool,
}

/// `kestrel pairs scan`.
pub fn pairs_scan(a: &PairsScanArgs<'_>) -> anyhow::Result<ExitCode> {
    if let Some(p) = a.max_p
        && !(0.0..=1.0).contains(&p)
    {
        anyhow::bail!("--max-p must be in 0..=1, got {p}");
    }
    let filters = crate::pairs::Filters {
        max_p: a.max_p,
        half_life: a
            .half_life
            .map(crate::pairs::parse_range)
            .transpose()
            .context("--half-life")?,
        min_crossings: a.min_crossings,
    };
    let out = crate::pairs::run(a.candles, a.log, filters, crate::pairs::progress_wanted())?;
    for (x, y, why) in &out.errors {
        eprintln!("skipped pair {x} ~ {y}: {why}");
    }
    if a.json {
        println!("{}", serde_json::to_string(&out.rows)?);
    } else {
        println!("{}", crate::pairs::table(&out));
    }
    Ok(ExitCode::SUCCESS)
}

/// `kestrel backtest statarb`'s arguments, as typed.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct BacktestStatarbArgs<'a> {
    pub candles: &'a [std::path::PathBuf],
    pub train_bars: usize,
    pub test_bars: usize,
    pub capital: f64,
    pub fee_bps: f64,
    pub slippage_bps: f64,
    pub entry_z: f64,
    pub exit_z: f64,
    pub stop_z: f64,
    pub max_p: f64,
    pub half_life: &'a str,
    pub top_k: usize,
    pub bars_per_year: Option<f64>,
    pub equity_png: std::path::PathBuf,
    pub json: bool,
}

/// `kestrel backtest statarb`.
pub fn backtest_statarb(a: &BacktestStatarbArgs<'_>) -> anyhow::Result<ExitCode> {
    use kestrel_strategies::statarb::{BacktestConfig, SelectionConfig, SignalConfig};
    let (min_half, max_half) = crate::pairs::parse_range(a.half_life).context("--half-life")?;
    let defaults = BacktestConfig::default();
    let config = BacktestConfig {
        train_bars: a.train_bars,
        test_bars: a.test_bars,
        selection: SelectionConfig {
            max_p_value: a.max_p,
            min_half_life_bars: min_half,
            max_half_life_bars: max_half,
            top_k: a.top_k,
            ..defaults.selection
        },
        signal: SignalConfig {
            entry_z: a.entry_z,
            exit_z: a.exit_z,
            stop_z: a.stop_z,
            ..defaults.signal
        },
        initial_capital: a.capital,
        taker_fee_bps: a.fee_bps,
        slippage_bps: a.slippage_bps,
        // 0: inferred from the bar times.
        bars_per_year: a.bars_per_year.unwrap_or(0.0),
        ..defaults
    };
    let out = crate::pairs::backtest(
        a.candles,
        &crate::pairs::BacktestArgs {
            config,
            png: a.equity_png.clone(),
        },
    )?;
    if a.json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        let opt =
            |v: Option<f64>, digits: usize| v.map_or("-".to_owned(), |x| format!("{x:.digits$}"));
        println!(
            "{} symbols, {} bars, {} windows\npnl {:.2} (gross {:.2}, fees {:.2}), sharpe {}, \
             max drawdown {:.2} ({:.2} %), win rate {}, trades {}, turnover {:.2}\nequity curve: {}",
            out.symbols.len(),
            out.bars,
            out.windows,
            out.pnl,
            out.gross_pnl,
            out.fees,
            opt(out.sharpe, 3),
            out.max_drawdown,
            out.max_drawdown_fraction * 100.0,
            opt(out.win_rate.map(|w| w * 100.0), 1),
            out.trades,
            out.turnover,
            out.equity_png
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `kestrel candles fetch`'s arguments, as typed.
#[derive(Debug, Clone)]
#[allow(missing_docs)]
pub struct CandlesFetchArgs<'a> {
    pub venue: &'a str,
    pub symbol: &'a str,
    pub interval: &'a str,
    pub from: &'a str,
    pub to: &'a str,
    pub url: &'a str,
    pub price_digits: u8,
    pub size_digits: u8,
    pub journal: std::path::PathBuf,
    pub out: Option<std::path::PathBuf>,
    pub json: bool,
}

/// `--venue` and `--interval` of the candle commands.
fn venue_interval(
    venue: &str,
    interval: &str,
) -> anyhow::Result<(kestrel_types::cex::Venue, kestrel_types::cex::Interval)> {
    use kestrel_types::cex::{Interval, Venue};
    let v = Venue::from_name(venue).with_context(|| {
        format!("--venue: expected binance, coinbase, kraken, okx or bybit, got {venue:?}")
    })?;
    let i = Interval::from_name(interval).with_context(|| {
        format!("--interval: expected 1m, 5m, 15m, 1h, 4h or 1d, got {interval:?}")
    })?;
    Ok((v, i))
}

/// `--price-digits` and `--size-digits` of the candle commands.
fn digits(price: u8, size: u8) -> anyhow::Result<kestrel_venues::orders::Scales> {
    use kestrel_types::cex::Scale;
    let scale = |flag: &str, d: u8| {
        Scale::new(d).with_context(|| format!("{flag} must be at most {}", Scale::MAX_DIGITS))
    };
    Ok(kestrel_venues::orders::Scales {
        price: scale("--price-digits", price)?,
        size: scale("--size-digits", size)?,
    })
}

/// `kestrel candles import`'s arguments, as typed.
#[derive(Debug, Clone, Copy)]
#[allow(missing_docs)]
pub struct CandlesImportArgs<'a> {
    pub file: &'a Path,
    pub venue: &'a str,
    pub symbol: &'a str,
    pub interval: &'a str,
    pub price_digits: u8,
    pub size_digits: u8,
    pub journal: &'a Path,
}

/// `kestrel candles import`.
pub fn candles_import(a: &CandlesImportArgs<'_>) -> anyhow::Result<ExitCode> {
    let (venue, interval) = venue_interval(a.venue, a.interval)?;
    let scales = digits(a.price_digits, a.size_digits)?;
    let n = crate::candles::import(a.file, venue, a.symbol, interval, scales, a.journal)?;
    println!(
        "{venue} {} {}: {n} bars from {} kept in {}",
        a.symbol,
        interval.name(),
        a.file.display(),
        a.journal.display()
    );
    Ok(ExitCode::SUCCESS)
}

/// `kestrel candles fetch`.
pub fn candles_fetch(a: &CandlesFetchArgs<'_>) -> anyhow::Result<ExitCode> {
    let (venue, interval) = venue_interval(a.venue, a.interval)?;
    let time = |flag: &str, v: &str| -> anyhow::Result<u64> {
        let ms = crate::pairs::parse_time(v).with_context(|| format!("{flag} {v:?}"))?;
        u64::try_from(ms).map_err(|_| anyhow::anyhow!("{flag} {v:?} is before 1970"))
    };
    let args = crate::candles::FetchArgs {
        venue,
        symbol: a.symbol.to_owned(),
        interval,
        from_ms: time("--from", a.from)?,
        to_ms: time("--to", a.to)?,
        url: a.url.to_owned(),
        scales: digits(a.price_digits, a.size_digits)?,
        journal: Some(a.journal.clone()),
        out: a.out.clone(),
        progress: std::io::IsTerminal::is_terminal(&std::io::stderr()),
    };
    let (report, _) = crate::candles::fetch(&args)?;
    if a.json {
        println!("{}", serde_json::to_string(&report)?);
    } else {
        println!(
            "{} {} {}: {} bars in {} requests ({} missing inside the span), journal {}{}",
            venue,
            a.symbol,
            interval.name(),
            report.bars,
            report.requests,
            report.missing,
            a.journal.display(),
            a.out
                .as_ref()
                .map(|p| format!(", file {}", p.display()))
                .unwrap_or_default()
        );
    }
    Ok(ExitCode::SUCCESS)
}

/// `kestrel sandbox`.
pub fn sandbox(
    duration: u64,
    seed: Option<u64>,
    report: Option<&Path>,
) -> anyhow::Result<ExitCode> {
    let seed = match seed {
        Some(s) => s,
        None => {
            kestrel_stdx::Rng::from_os()
                .context("reading OS randomness for a seed")?
                .next_u64()
                % 1_000_000
        }
    };
    // The report file is opened before the run, so an unwritable path fails in a second, not
    // after the whole run; a file this call created is removed again if the run fails.
    let target = match report {
        Some(p) => {
            let existed = p.exists();
            let f = std::fs::OpenOptions::new()
                .write(true)
                .create(true)
                .truncate(false)
                .open(p)
                .with_context(|| format!("--report: cannot write {}", p.display()))?;
            Some((p, f, existed))
        }
        None => None,
    };
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(1)
        .build()?;
    let out = rt.block_on(crate::sandbox::run(crate::sandbox::SandboxOpts::new(
        duration, seed,
    )));
    let out = match (out, &target) {
        (Ok(out), _) => out,
        (Err(e), Some((p, _, false))) => {
            let _ = std::fs::remove_file(p);
            return Err(e);
        }
        (Err(e), _) => return Err(e),
    };
    let json = serde_json::to_string_pretty(&out)?;
    match target {
        Some((p, mut f, _)) => {
            use std::io::Write as _;
            f.set_len(0)
                .and_then(|()| f.write_all((json + "\n").as_bytes()))
                .and_then(|()| f.sync_all())
                .with_context(|| format!("writing {}", p.display()))?;
            eprintln!("kestrel sandbox: report written to {}", p.display());
        }
        None => println!("{json}"),
    }
    Ok(ExitCode::SUCCESS)
}

/// `kestrel bench hotpath`'s arguments, as typed.
#[derive(Debug, Clone, Copy)]
pub struct HotpathArgs<'a> {
    /// `--rate`.
    pub rate: u64,
    /// `--duration`.
    pub duration: u64,
    /// `--wait`.
    pub wait: &'a str,
    /// `--core`.
    pub core: &'a str,
    /// `--sink`.
    pub sink: &'a str,
    /// `--victims`.
    pub victims: &'a str,
    /// `--confirm`.
    pub confirm: bool,
    /// `--json`.
    pub json: bool,
}

/// `kestrel bench hotpath`.
pub fn bench_hotpath(a: &HotpathArgs<'_>) -> anyhow::Result<ExitCode> {
    let opts = crate::bench::HotpathOpts {
        rate: a.rate,
        duration_s: a.duration,
        wait: a.wait.parse().map_err(|e| anyhow::anyhow!("--wait: {e}"))?,
        core: crate::bench::parse_core(a.core)?,
        sink: a.sink.parse().map_err(|e| anyhow::anyhow!("--sink: {e}"))?,
        victims: a
            .victims
            .parse()
            .map_err(|e| anyhow::anyhow!("--victims: {e}"))?,
        confirm: a.confirm,
    };
    let json = a.json;
    let out = crate::bench::hotpath(opts)?;
    if json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        println!("{}", crate::bench::table(&out));
    }
    Ok(ExitCode::SUCCESS)
}

/// `kestrel bench xarb`.
pub fn bench_xarb(duration: u64, dislocate_every_ms: u64, json: bool) -> anyhow::Result<ExitCode> {
    if duration == 0 || dislocate_every_ms == 0 {
        anyhow::bail!("--duration and --dislocate-every-ms must be at least 1");
    }
    // The bench keeps every trade's latency samples until it reports: an hour is plenty.
    if duration > 3_600 {
        anyhow::bail!("--duration {duration}: at most 3600 s (one run keeps every sample)");
    }
    let out = crate::bench_xarb::xarb(crate::bench_xarb::XarbBenchOpts {
        duration_s: duration,
        dislocate_every_ms,
    })?;
    if json {
        println!("{}", serde_json::to_string(&out)?);
    } else {
        let l = &out.update_to_orders_ns;
        println!(
            "trades {} (orders {}, fills {}, unwinds {}), opportunities {}, pnl {} (quote, USD and USDT at par), fees {}, unprofitable after fees {}\n\
             book change read -> both orders written: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns ({} samples; {} trades decided after waiting, not timed)\n\
             held back for a venue's request budget {} times; {} rate-limit answers",
            out.trades,
            out.orders,
            out.fills,
            out.unwinds,
            out.opportunities,
            out.pnl_quote,
            out.fees_quote,
            out.unprofitable_after_fees,
            l.p50,
            l.p99,
            l.p999,
            l.max,
            l.count,
            out.deferred_trades,
            out.rate_limited,
            out.venue_pauses
        );
    }
    Ok(ExitCode::SUCCESS)
}
