//! `kestrel`: the command line. Every subcommand has `--help`; every failure exits non-zero with
//! one clear line on stderr.

use std::path::PathBuf;
use std::process::ExitCode;

use clap::{Parser, Subcommand};

/// mimalloc, with the hot thread's pool in front of it: what revm allocates while the hot thread
/// confirms a backrun comes from the pool the thread reserved at start-up (`kestrel_bus::pool`).
#[global_allocator]
static GLOBAL: kestrel_bus::PoolAlloc<mimalloc::MiMalloc> =
    kestrel_bus::PoolAlloc::new(mimalloc::MiMalloc);

/// Kestrel: a low-latency Ethereum backrun engine. It reacts to large pending Uniswap V2 swaps by
/// placing its own arbitrage right AFTER them in a bundle. It never front-runs or sandwiches.
#[derive(Debug, Parser)]
#[command(name = "kestrel", version, propagate_version = true)]
struct Cli {
    #[command(subcommand)]
    cmd: Cmd,
}

#[derive(Debug, Subcommand)]
enum Cmd {
    /// Run the engine against a node, with the exchange lanes its config names ([xarb]
    /// cross-exchange, [statarb] statistical arbitrage). A config without [chain] (only
    /// exchange lanes, see configs/cex-only-paper.toml) runs those lanes without a node.
    /// Dry-run (bundles go to the journal and to simulation or local endpoints only; exchange
    /// legs fill on paper against the live books) unless the config says mode = "live" AND
    /// --live is given.
    Run {
        /// The TOML config (see configs/ for commented examples).
        #[arg(long)]
        config: PathBuf,
        /// Allow live mode; has effect only together with mode = "live" in the config.
        #[arg(long)]
        live: bool,
        /// Stop after this many seconds (default: run until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
    },
    /// The embedded default: start anvil with the real Uniswap V2 and V3 contracts (two V2
    /// factories, V3 pools in the 0.05 % and 0.3 % tiers, SwapRouter02 and Universal Router
    /// 2.0), seeded simulated users trading through Router02, SwapRouter02 and the Universal
    /// Router, and a local builder; run the whole engine against it in dry-run and write a JSON
    /// report (stdout, or --report FILE) with landed bundles by route kind (v2/v3/mixed) and per
    /// decoder, and predicted against realized profit. Installs anvil from npm into tools/ if
    /// missing.
    Sandbox {
        /// How long the simulated users trade, in seconds.
        #[arg(long, default_value_t = 30)]
        duration: u64,
        /// Seed for users, sizes and keys (default: random, printed in the report).
        #[arg(long)]
        seed: Option<u64>,
        /// Write the report here instead of stdout.
        #[arg(long)]
        report: Option<PathBuf>,
    },
    /// Deploy the backrun executor contract (contracts/src/KestrelExecutor.sol, the committed
    /// build) on the config's chain, owned by the config's signer (signer.key), and optionally
    /// fund it with WETH (wrapped from the signer's ETH). Without --broadcast nothing is sent:
    /// it prints the plan (the address the executor will get, its gas and the most it may cost)
    /// after checking the node's chain id, backrun.weth's code and the signer's balance. With
    /// --broadcast it sends, waits for each receipt, checks owner() and weth() on chain, and
    /// prints the `executor = "0x..."` line for [backrun].
    DeployExecutor {
        /// The TOML config (its [chain], backrun.weth, backrun.priority_fee_wei, signer.key).
        #[arg(long)]
        config: PathBuf,
        /// WETH to put in the executor, in wei (its backruns' capital): wrapped from the
        /// signer's ETH and transferred. Default 0: fund it later by sending WETH to it.
        #[arg(long, default_value = "0")]
        fund_wei: String,
        /// Send the transactions (default: only show the plan).
        #[arg(long)]
        broadcast: bool,
        /// Longest wait for each receipt, in seconds.
        #[arg(long, default_value_t = 300)]
        wait: u64,
    },
    /// Validate a config file and list every problem with its key path.
    CheckConfig {
        /// The TOML config to check.
        file: PathBuf,
    },
    /// Serve five simulated exchanges on loopback (Binance, Kraken, OKX, Bybit and Coinbase
    /// formats, REST and WebSocket, each checking its venue's real authentication) sharing one
    /// moving market with dislocations, for rehearsing the cross-exchange lane with `kestrel
    /// run`. Prints an [xarb] section to append to a config, and the `export` lines for its
    /// made-up credentials; serves until Ctrl-C or --duration.
    Exsim {
        /// Stop after this many seconds (default: until Ctrl-C).
        #[arg(long)]
        duration: Option<u64>,
        /// Milliseconds between dislocations (the next venue in turn jumps 60 bp).
        #[arg(long, default_value_t = 200)]
        dislocate_every_ms: u64,
        /// Prefix of the credential variables the section names.
        #[arg(long, default_value = "KESTREL_SIM")]
        env_prefix: String,
        /// Also serve the stat-arb venue (four symbols, two cointegrated pairs, 1,000 bars of 1m
        /// history) and print its `[statarb]` section; it appends one 1m bar every this many
        /// milliseconds (60000 keeps its clock with the wall's).
        #[arg(long)]
        statarb_bar_ms: Option<u64>,
    },
    /// Statistical-arbitrage research.
    Pairs {
        #[command(subcommand)]
        which: PairsCmd,
    },
    /// Candles from the venues.
    Candles {
        #[command(subcommand)]
        which: CandlesCmd,
    },
    /// Backtests on candle files.
    Backtest {
        #[command(subcommand)]
        which: BacktestCmd,
    },
    /// The cross-exchange lane's operator commands.
    Xarb {
        #[command(subcommand)]
        which: XarbCmd,
    },
    /// Benchmarks.
    Bench {
        #[command(subcommand)]
        which: BenchCmd,
    },
}

#[derive(Debug, Subcommand)]
enum XarbCmd {
    /// Clear a tripped kill switch. A trip (drawdown, open imbalance, order rate, an order whose
    /// outcome was never learned, or a stop by hand) is journaled, and every later start of the
    /// lane in that mode (paper or live) starts tripped, trading nothing, until this command
    /// journals a reset with your note. It changes the journal only: stop the running lane,
    /// reset, then start it again. Reconcile the venues' accounts first after an `unresolved`
    /// trip.
    ResetKillSwitch {
        /// The config `kestrel run` uses (its [journal] path and mode).
        #[arg(long)]
        config: PathBuf,
        /// Clear the live mode's trip (as `kestrel run --live`); default: paper.
        #[arg(long)]
        live: bool,
        /// Why trading may resume: journaled with the reset.
        #[arg(long)]
        note: String,
    },
}

#[derive(Debug, Subcommand)]
enum PairsCmd {
    /// Engle-Granger cointegration test of every pair of the given candle files, as
    /// statsmodels' `coint` (trend "c", autolag "aic") computes it, in parallel. Files: CSV with
    /// a header naming a `close` column and a `timestamp`, `date` or `time` column, or freqtrade
    /// JSON (`[[ms, open, high, low, close, volume], ...]`). The symbol is the file name without
    /// extension and trailing `-<timeframe>`. Series are aligned on the timestamps every file
    /// has; for each pair, `a` (the file named first) is regressed on `b`. Output is sorted by
    /// p-value.
    Scan {
        /// Candle files (at least two).
        #[arg(long, num_args = 1.., required = true)]
        candles: Vec<PathBuf>,
        /// Use natural-log prices.
        #[arg(long)]
        log: bool,
        /// Keep pairs with a p-value at most this.
        #[arg(long)]
        max_p: Option<f64>,
        /// Keep pairs whose spread's half-life (bars) is in MIN..MAX, e.g. 5..500.
        #[arg(long, value_name = "MIN..MAX")]
        half_life: Option<String>,
        /// Keep pairs whose demeaned spread crosses zero at least this often.
        #[arg(long)]
        min_crossings: Option<usize>,
        /// Print a JSON array (keys a, b, n, hedge_ratio, intercept, t_stat, p_value, crit_1,
        /// crit_5, crit_10, half_life, zero_crossings) instead of a table.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum CandlesCmd {
    /// Fetch a symbol's candles over a time range from a venue's public REST API (paged as the
    /// venue requires), keep them in the journal, and optionally write them as a freqtrade JSON
    /// file for `pairs scan` and `backtest statarb`. Values finer than the given digits are an
    /// error, never rounded. Kraken serves only its latest 720 bars.
    Fetch {
        /// binance, coinbase, kraken, okx or bybit.
        #[arg(long)]
        venue: String,
        /// The symbol as the venue spells it (BTCUSDT, BTC-USDT, BTC/USD, BTC-USD).
        #[arg(long)]
        symbol: String,
        /// 1m, 5m, 15m, 1h, 4h or 1d.
        #[arg(long, default_value = "5m")]
        interval: String,
        /// Earliest bar: a date (2024-01-31, 2024-01-31T12:00:00Z) or Unix seconds/ms.
        #[arg(long)]
        from: String,
        /// Latest bar, as --from.
        #[arg(long)]
        to: String,
        /// The venue's REST base URL, e.g. https://api.binance.com.
        #[arg(long)]
        url: String,
        /// Fraction digits of prices.
        #[arg(long, default_value_t = 8)]
        price_digits: u8,
        /// Fraction digits of volumes.
        #[arg(long, default_value_t = 8)]
        size_digits: u8,
        /// Journal (SQLite) to keep the bars in.
        #[arg(long, default_value = "kestrel.sqlite")]
        journal: PathBuf,
        /// Also write the bars as freqtrade JSON here.
        #[arg(long)]
        out: Option<PathBuf>,
        /// Print one JSON object instead of a line.
        #[arg(long)]
        json: bool,
    },
    /// Keep the bars of a candle file in the journal: freqtrade JSON or CSV with a header naming
    /// open, high, low, close, volume and a timestamp/date/time column. Numbers are read as
    /// written; one finer than the given digits is an error naming its row.
    Import {
        /// The candle file.
        #[arg(long)]
        file: PathBuf,
        /// The venue the bars are from (binance, coinbase, kraken, okx or bybit).
        #[arg(long)]
        venue: String,
        /// The symbol as the venue spells it.
        #[arg(long)]
        symbol: String,
        /// 1m, 5m, 15m, 1h, 4h or 1d.
        #[arg(long)]
        interval: String,
        /// Fraction digits of prices.
        #[arg(long, default_value_t = 8)]
        price_digits: u8,
        /// Fraction digits of volumes.
        #[arg(long, default_value_t = 8)]
        size_digits: u8,
        /// Journal (SQLite) to keep the bars in.
        #[arg(long, default_value = "kestrel.sqlite")]
        journal: PathBuf,
    },
}

#[derive(Debug, Subcommand)]
enum BacktestCmd {
    /// Walk-forward backtest of the stat-arb rules: scan every pair on a training window
    /// (Engle-Granger, as `pairs scan`), keep the cointegrated pairs whose half-life and zero
    /// crossings qualify, trade the next window on the spread's z-score (enter at ±entry, exit
    /// at ±exit, stop at ±stop or after a multiple of the half-life), sized by fractional Kelly
    /// from each pair's record, with taker fees and slippage on every fill; roll and repeat.
    /// Prints PnL, Sharpe, drawdown, win rate, trades, turnover and fees, and writes the
    /// equity curve as a PNG. Candle files as for `pairs scan`.
    Statarb {
        /// Candle files (at least two).
        #[arg(long, num_args = 1.., required = true)]
        candles: Vec<PathBuf>,
        /// Bars in each training window.
        #[arg(long, default_value_t = 500)]
        train_bars: usize,
        /// Bars in each test window (and the roll).
        #[arg(long, default_value_t = 250)]
        test_bars: usize,
        /// Starting capital, quote.
        #[arg(long, default_value_t = 10_000.0)]
        capital: f64,
        /// Taker fee on every fill, basis points.
        #[arg(long, default_value_t = 10.0)]
        fee_bps: f64,
        /// Slippage on every fill, basis points.
        #[arg(long, default_value_t = 2.0)]
        slippage_bps: f64,
        /// |z| to enter.
        #[arg(long, default_value_t = 2.0)]
        entry_z: f64,
        /// |z| to exit.
        #[arg(long, default_value_t = 0.5)]
        exit_z: f64,
        /// |z| to stop out.
        #[arg(long, default_value_t = 4.0)]
        stop_z: f64,
        /// Largest p-value of a selected pair.
        #[arg(long, default_value_t = 0.05)]
        max_p: f64,
        /// Half-life range of a selected pair, bars.
        #[arg(long, value_name = "MIN..MAX", default_value = "2..100")]
        half_life: String,
        /// Pairs traded per window.
        #[arg(long, default_value_t = 5)]
        top_k: usize,
        /// Bars per year for the Sharpe ratio (default: from the median bar spacing).
        #[arg(long)]
        bars_per_year: Option<f64>,
        /// Where to write the equity-curve PNG.
        #[arg(long, default_value = "statarb-equity.png")]
        equity_png: PathBuf,
        /// Print one JSON object instead of a summary.
        #[arg(long)]
        json: bool,
    },
}

#[derive(Debug, Subcommand)]
enum BenchCmd {
    /// Replay generated pending-tx frames over a loopback WebSocket at a fixed rate into the hot
    /// pipeline (dry-run, loopback relay), and the same path through a do-nothing forwarder
    /// (the floor). Reports per-stage and end-to-end percentiles, rate sustained and drops.
    Hotpath {
        /// Frames per second to offer.
        #[arg(long, default_value_t = 10_000)]
        rate: u64,
        /// Seconds per measured run (engine and floor each).
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// How the hot thread and the floor wait for frames: spin (one core each, lowest
        /// latency on an isolated core), yield, or park (blocking reads; best on 2 cores).
        #[arg(long, default_value = "park")]
        wait: String,
        /// The core for the hot thread and the floor: a core id, "auto" (the last allowed
        /// core when there are at least two), or "none" (unpinned, the default). Every other
        /// bench thread (feeder, relay sink, socket readers, journal drain) is then kept off
        /// that core, as on a host with the hot core isolated.
        #[arg(long, default_value = "none")]
        core: String,
        /// How the loopback relay sink reads: block (the default; each write that finds the
        /// sink asleep also pays a cross-core wake-up, on the engine's clock) or poll
        /// (non-blocking, so a write costs what a write to a network peer costs; it takes a
        /// core, so use it with --core on a host with cores to spare).
        #[arg(long, default_value = "block")]
        sink: String,
        /// Which victims the one frame in ten that is a swap carries: v2 (the default; Router02
        /// on a V2 pair, fired from the pre-signed ladder) or routers (SwapRouter02 and
        /// Universal Router swaps over V2 and V3 pools, backruns signed on the hot thread).
        #[arg(long, default_value = "v2")]
        victims: String,
        /// Confirm every V2 backrun in revm before firing it (as `backrun.confirm_v2` does):
        /// the pools, Router02 and our executor are deployed inside revm from the real
        /// bytecode (the npm artifacts, installed if missing), and the victim and the
        /// pre-signed backrun run on that state. Adds the `confirm` stage. With --victims v2.
        #[arg(long)]
        confirm: bool,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
    /// The cross-exchange lane against five simulated venues on loopback, one per real format
    /// (Binance, Kraken, OKX, Bybit, Coinbase), sharing a random-walk market; every
    /// --dislocate-every-ms another venue's prices jump 60 bp.
    /// Reports trades, fills, realized PnL after fees, and the time from the poll that reads a
    /// book change to both legs' orders written on their warm connections.
    Xarb {
        /// Seconds to run.
        #[arg(long, default_value_t = 10)]
        duration: u64,
        /// Milliseconds between dislocations.
        #[arg(long, default_value_t = 100)]
        dislocate_every_ms: u64,
        /// Print one JSON object instead of a table.
        #[arg(long)]
        json: bool,
    },
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    // Logs go to stderr, filtered by RUST_LOG when it is set, else by warnings and errors until
    // `kestrel run` applies its config's `telemetry.log`. Example: RUST_LOG=kestrel=debug.
    let from_env = std::env::var("RUST_LOG")
        .ok()
        .filter(|f| !f.trim().is_empty());
    // Whether RUST_LOG chose the filter (it then wins over the config's).
    let log_from_env = match from_env.as_deref().map(kestrel_telemetry::init_tracing) {
        Some(Ok(())) => true,
        Some(Err(e)) => {
            eprintln!("kestrel: RUST_LOG ignored: {e}");
            let _ = kestrel_telemetry::init_tracing("warn");
            false
        }
        None => {
            let _ = kestrel_telemetry::init_tracing("warn");
            false
        }
    };
    let result = match cli.cmd {
        Cmd::CheckConfig { file } => kestrel::cli::check_config(&file),
        Cmd::Xarb {
            which: XarbCmd::ResetKillSwitch { config, live, note },
        } => kestrel::xarb_admin::cli(&config, live, &note),
        Cmd::DeployExecutor {
            config,
            fund_wei,
            broadcast,
            wait,
        } => kestrel::deploy::cli(&config, &fund_wei, broadcast, wait),
        Cmd::Run {
            config,
            live,
            duration,
        } => kestrel::cli::run(&config, live, duration, !log_from_env),
        Cmd::Sandbox {
            duration,
            seed,
            report,
        } => kestrel::cli::sandbox(duration, seed, report.as_deref()),
        Cmd::Pairs {
            which:
                PairsCmd::Scan {
                    candles,
                    log,
                    max_p,
                    half_life,
                    min_crossings,
                    json,
                },
        } => kestrel::cli::pairs_scan(&kestrel::cli::PairsScanArgs {
            candles: &candles,
            log,
            max_p,
            half_life: half_life.as_deref(),
            min_crossings,
            json,
        }),
        Cmd::Backtest {
            which:
                BacktestCmd::Statarb {
                    candles,
                    train_bars,
                    test_bars,
                    capital,
                    fee_bps,
                    slippage_bps,
                    entry_z,
                    exit_z,
                    stop_z,
                    max_p,
                    half_life,
                    top_k,
                    bars_per_year,
                    equity_png,
                    json,
                },
        } => kestrel::cli::backtest_statarb(&kestrel::cli::BacktestStatarbArgs {
            candles: &candles,
            train_bars,
            test_bars,
            capital,
            fee_bps,
            slippage_bps,
            entry_z,
            exit_z,
            stop_z,
            max_p,
            half_life: &half_life,
            top_k,
            bars_per_year,
            equity_png,
            json,
        }),
        Cmd::Candles {
            which:
                CandlesCmd::Fetch {
                    venue,
                    symbol,
                    interval,
                    from,
                    to,
                    url,
                    price_digits,
                    size_digits,
                    journal,
                    out,
                    json,
                },
        } => kestrel::cli::candles_fetch(&kestrel::cli::CandlesFetchArgs {
            venue: &venue,
            symbol: &symbol,
            interval: &interval,
            from: &from,
            to: &to,
            url: &url,
            price_digits,
            size_digits,
            journal,
            out,
            json,
        }),
        Cmd::Candles {
            which:
                CandlesCmd::Import {
                    file,
                    venue,
                    symbol,
                    interval,
                    price_digits,
                    size_digits,
                    journal,
                },
        } => kestrel::cli::candles_import(&kestrel::cli::CandlesImportArgs {
            file: &file,
            venue: &venue,
            symbol: &symbol,
            interval: &interval,
            price_digits,
            size_digits,
            journal: &journal,
        }),
        Cmd::Exsim {
            duration,
            dislocate_every_ms,
            env_prefix,
            statarb_bar_ms,
        } => kestrel::cli::exsim(duration, dislocate_every_ms, &env_prefix, statarb_bar_ms),
        Cmd::Bench {
            which:
                BenchCmd::Hotpath {
                    rate,
                    duration,
                    wait,
                    core,
                    sink,
                    victims,
                    confirm,
                    json,
                },
        } => kestrel::cli::bench_hotpath(&kestrel::cli::HotpathArgs {
            rate,
            duration,
            wait: &wait,
            core: &core,
            sink: &sink,
            victims: &victims,
            confirm,
            json,
        }),
        Cmd::Bench {
            which:
                BenchCmd::Xarb {
                    duration,
                    dislocate_every_ms,
                    json,
                },
        } => kestrel::cli::bench_xarb(duration, dislocate_every_ms, json),
    };
    match result {
        Ok(code) => code,
        Err(e) => {
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
