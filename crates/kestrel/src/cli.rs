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
    match kestrel_config::load_file(file) {
        Ok(_) => {
            println!("{}: ok", file.display());
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

fn load(file: &Path) -> anyhow::Result<Config> {
    kestrel_config::load_file(file).map_err(|errors| {
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

/// `kestrel run --config FILE [--live] [--duration SECS]`.
pub fn run(file: &Path, live_flag: bool, duration: Option<u64>) -> anyhow::Result<ExitCode> {
    let cfg = load(file)?;
    kestrel_telemetry::init_tracing(&cfg.telemetry.log).ok();
    let config_live = cfg.mode == ModeSetting::Live;
    let mode = Mode::resolve(config_live, live_flag);
    if config_live && !live_flag {
        eprintln!(
            "note: the config says mode = \"live\" but --live was not given: running dry-run"
        );
    }
    if live_flag && !config_live {
        eprintln!("note: --live was given but the config says dry-run: running dry-run");
    }
    let keys = resolve_keys(&cfg)?;
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(1)
        .build()?;
    rt.block_on(async move {
        let engine = Engine::start(cfg, mode, keys, new_run_id())
            .await
            .context("starting the engine")?;
        eprintln!(
            "kestrel: running ({mode:?}), run id {}; Ctrl-C stops",
            engine.run_id()
        );
        match duration {
            Some(s) => tokio::time::sleep(Duration::from_secs(s)).await,
            None => tokio::signal::ctrl_c().await?,
        }
        let report = engine.stop().await?;
        let c = &report.counters;
        eprintln!(
            "kestrel: stopped; pending seen {}, candidates {}, bundles {}, journal {}",
            c.pending_seen,
            c.candidates,
            c.bundles,
            report.journal_path.display()
        );
        Ok(ExitCode::SUCCESS)
    })
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
    let rt = tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .worker_threads(1)
        .build()?;
    let out = rt.block_on(crate::sandbox::run(crate::sandbox::SandboxOpts::new(
        duration, seed,
    )))?;
    let json = serde_json::to_string_pretty(&out)?;
    match report {
        Some(p) => {
            std::fs::write(p, json + "\n").with_context(|| format!("writing {}", p.display()))?;
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
             book change read -> both orders written: p50 {} ns, p99 {} ns, p99.9 {} ns, max {} ns ({} samples)",
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
            l.count
        );
    }
    Ok(ExitCode::SUCCESS)
}
