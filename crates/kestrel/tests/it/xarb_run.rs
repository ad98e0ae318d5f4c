//! The cross-exchange lane as `kestrel run` starts it: a config's `[xarb]` section over the
//! five simulated venues (real wire formats, real authentication), paper fills journaled as
//! they happen, a restarted paper run going on from the journal's positions of paper runs,
//! live mode starting from the venues' own balances, and a kill switch trip that outlives a
//! restart until an operator clears it.

use std::process::Command;
use std::time::Duration;

use kestrel::bench_xarb::SimVenues;
use kestrel::xarb_admin::{ResetOutcome, reset_kill_switch, reset_target};
use kestrel::xarb_run::{Restored, XarbRun, build_lane, quote_digits};
use kestrel_exsim::server::Fault;
use kestrel_store::{Journal, KillSwitchEvent, Record, XarbRecord};
use kestrel_strategies::risk::TripReason;
use kestrel_types::Mode;
use kestrel_types::cex::{Fixed, Rate, Venue};

const PREFIX: &str = "KESTREL_TEST_SIM";

fn configs() -> std::path::PathBuf {
    kestrel_stdx::paths::workspace_root().join("configs")
}

/// The shipped anvil config with the simulated venues' `[xarb]` section appended.
fn config_text(sim: &SimVenues) -> String {
    let base = std::fs::read_to_string(configs().join("anvil-local.toml")).unwrap();
    format!("{base}\n{}", sim.xarb_toml(PREFIX))
}

/// The run's start, as `kestrel run` journals it.
fn run_started(journal: &Journal, run_id: &str, mode: Mode) {
    journal
        .handle()
        .append(Record::RunStarted {
            run_id: run_id.into(),
            mode,
            config_toml: String::new(),
            started_unix_ms: 1,
        })
        .unwrap();
}

/// Runs `x`'s lane in `mode` for `secs` as `kestrel run` does (the journal's positions and
/// trip for `mode` taken over, every event journaled under `run_id`) and returns its totals
/// and whether it started tripped.
fn run_lane(
    x: &kestrel_config::XarbConfig,
    sim: &SimVenues,
    path: &std::path::Path,
    (run_id, mode): (&str, Mode),
    secs: u64,
) -> (kestrel_hot::cex::lane::LaneStats, bool) {
    let journal = Journal::open(path, 4096).unwrap();
    run_started(&journal, run_id, mode);
    let restored = Restored::read(path, mode).unwrap();
    let lane = build_lane(x, &sim.secrets(), mode, &restored).unwrap();
    let started_tripped = lane.kill_switch_tripped();
    let run = XarbRun::start(
        lane,
        None,
        journal.handle(),
        run_id.into(),
        mode,
        quote_digits(x),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(secs));
    let stats = run.stop().unwrap();
    journal.close().unwrap();
    (stats, started_tripped)
}

#[test]
fn a_trip_is_journaled_once_and_a_restart_stays_tripped_until_it_is_reset() {
    let sim = SimVenues::start(50).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim)).unwrap();
    let mut x = cfg.xarb.expect("[xarb] section");
    // One trade's two orders a minute: the next trade decided trips the switch.
    x.max_orders_per_minute = 2;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");

    let (stats, started_tripped) = run_lane(&x, &sim, &path, ("paper-1", Mode::DryRun), 3);
    assert!(!started_tripped);
    assert_eq!(stats.trades, 1, "{stats:?}");
    assert!(
        stats.opportunities >= 3,
        "trades refused after the trip: {stats:?}"
    );
    let history = |mode| {
        kestrel_store::open_readonly(&path)
            .unwrap()
            .xarb_kill_switch_history(mode)
            .unwrap()
    };
    // One row for the trip, however many decisions it refused; in the run's mode only.
    let rows = history(Mode::DryRun);
    assert_eq!(rows.len(), 1, "{rows:?}");
    assert_eq!(rows[0].run_id, "paper-1");
    assert!(
        matches!(&rows[0].event, KillSwitchEvent::Tripped { reason, amount: Some(_) }
            if reason == "order_rate"),
        "{rows:?}"
    );
    assert!(history(Mode::Live).is_empty());

    // A restart on paper starts tripped: the books stay crossed, nothing is traded, and the
    // standing trip is not journaled again.
    let (stats, started_tripped) = run_lane(&x, &sim, &path, ("paper-2", Mode::DryRun), 2);
    assert!(started_tripped);
    assert!(stats.opportunities > 0, "{stats:?}");
    assert_eq!((stats.trades, stats.orders), (0, 0), "{stats:?}");
    assert_eq!(history(Mode::DryRun).len(), 1);
    // A paper trip does not stop live trading.
    assert_eq!(Restored::read(&path, Mode::Live).unwrap().trip, None);

    // Cleared by an operator, the next start trades again.
    let cleared = reset_kill_switch(&path, Mode::DryRun, "order rate limit raised").unwrap();
    assert!(
        matches!(&cleared, ResetOutcome::Cleared(row) if row.run_id == "paper-1"),
        "{cleared:?}"
    );
    let (stats, started_tripped) = run_lane(&x, &sim, &path, ("paper-3", Mode::DryRun), 2);
    assert!(!started_tripped);
    assert!(stats.trades > 0, "{stats:?}");
}

#[test]
fn reset_kill_switch_clears_a_standing_trip_once_and_says_when_there_is_none() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");
    // No journal at the path: refused, and none is created.
    assert!(reset_kill_switch(&path, Mode::Live, "checked").is_err());
    assert!(!path.exists());

    let journal = Journal::open(&path, 16).unwrap();
    run_started(&journal, "live-1", Mode::Live);
    journal.close().unwrap();
    let history = |mode| {
        kestrel_store::open_readonly(&path)
            .unwrap()
            .xarb_kill_switch_history(mode)
            .unwrap()
    };
    // Nothing tripped: said so, and nothing written.
    assert_eq!(
        reset_kill_switch(&path, Mode::Live, "checked").unwrap(),
        ResetOutcome::NotTripped
    );
    assert!(history(Mode::Live).is_empty());

    let journal = Journal::open(&path, 16).unwrap();
    journal
        .handle()
        .append(Record::Xarb {
            run_id: "live-1".into(),
            unix_ms: 1_700_000_000_000,
            ev: XarbRecord::Tripped {
                mode: Mode::Live,
                reason: "imbalance".into(),
                amount: Some(51),
            },
        })
        .unwrap();
    journal.close().unwrap();
    // An empty note is refused: the reset must say why.
    assert!(reset_kill_switch(&path, Mode::Live, "  ").is_err());
    // The paper switch is not the live one.
    assert_eq!(
        reset_kill_switch(&path, Mode::DryRun, "checked").unwrap(),
        ResetOutcome::NotTripped
    );
    let cleared = reset_kill_switch(&path, Mode::Live, "venue balances reconciled").unwrap();
    let ResetOutcome::Cleared(row) = &cleared else {
        panic!("{cleared:?}");
    };
    assert_eq!(
        (row.run_id.as_str(), row.unix_ms),
        ("live-1", 1_700_000_000_000)
    );
    assert_eq!(
        row.event,
        KillSwitchEvent::Tripped {
            reason: "imbalance".into(),
            amount: Some(51)
        }
    );
    let rows = history(Mode::Live);
    assert_eq!(rows.len(), 2);
    assert_eq!(
        rows[1].event,
        KillSwitchEvent::Reset {
            note: "venue balances reconciled".into()
        }
    );
    assert_eq!(Restored::read(&path, Mode::Live).unwrap().trip, None);
    // Cleared already.
    assert_eq!(
        reset_kill_switch(&path, Mode::Live, "again").unwrap(),
        ResetOutcome::NotTripped
    );
    assert_eq!(history(Mode::Live).len(), 2);
}

#[test]
fn a_configured_paper_lane_trades_journals_and_restarts_from_its_positions() {
    let sim = SimVenues::start(50).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim)).unwrap();
    let x = cfg.xarb.expect("[xarb] section");
    assert_eq!(x.venues.len(), 5);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");

    // First run: paper, from the venues' balances.
    let journal = Journal::open(&path, 4096).unwrap();
    run_started(&journal, "xarb-run-1", Mode::DryRun);
    let lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &Restored::default()).unwrap();
    let start: Vec<_> = (0..5).map(|i| lane.holdings(i).unwrap()).collect();
    for (i, h) in start.iter().enumerate() {
        let (base, _) = sim.account(i).unwrap();
        assert_eq!(
            h.base, base,
            "leg {i}: paper starts from the venue's balance"
        );
    }
    // The simulated Binance account pays its fees in BNB: its 20 BNB, at the 600 its price
    // ticker says, are 12,000 quote that paper fills there may pay discounted fees from.
    let binance = (0..5)
        .find(|&i| lane.legs()[i].venue == Venue::Binance)
        .unwrap();
    let notional_digits = x.price_scale.digits() + x.size_scale.digits();
    let funds_at_start = 12_000 * 10u128.pow(u32::from(notional_digits));
    for i in 0..5 {
        let expected = (i == binance).then_some(funds_at_start);
        assert_eq!(lane.fee_funds(i), expected, "leg {i}");
    }
    let run = XarbRun::start(
        lane,
        None,
        journal.handle(),
        "xarb-run-1".into(),
        Mode::DryRun,
        quote_digits(&x),
    )
    .unwrap();
    std::thread::sleep(Duration::from_secs(4));
    let stats = run.stop().unwrap();
    journal.close().unwrap();
    assert!(stats.trades > 0, "{stats:?}");
    assert_eq!(stats.unprofitable_after_fees, 0, "{stats:?}");
    // Paper mode sends nothing: every venue's account is untouched.
    for (i, h) in start.iter().enumerate() {
        assert_eq!(
            sim.account(i).unwrap().0,
            h.base,
            "leg {i}: paper sent an order"
        );
    }

    // Everything was journaled as it happened: closes and the positions they left.
    let reader = kestrel_store::open_readonly(&path).unwrap();
    let pnls = reader.xarb_pnls("xarb-run-1").unwrap();
    assert!(
        !pnls.is_empty() && pnls.len() as u64 <= stats.trades,
        "{pnls:?}"
    );
    let total: i128 = pnls.iter().sum();
    assert_eq!(total, stats.pnl, "journaled PnL equals the lane's");
    let restored = Restored::read(&path, Mode::DryRun).unwrap();
    assert_eq!(restored.trip, None, "nothing tripped");
    let positions = restored.positions.clone();
    assert!(!positions.is_empty());
    let moved = positions.iter().any(|p| {
        let i = p.leg as usize;
        p.base_units != start[i].base || p.quote_units != start[i].quote
    });
    assert!(moved, "trades moved paper inventory: {positions:?}");
    // Paper's Binance fills paid their fees from the BNB, as the live account would: each
    // journaled with its value at the discounted rate, the funds journaled with the position
    // down by exactly their sum. No other venue pays so.
    let conn = rusqlite::Connection::open(&path).unwrap();
    let paid_in_bnb = |venue: &str| -> (u64, u128) {
        let mut stmt = conn
            .prepare("SELECT fee_other_units FROM xarb_fills WHERE venue = ?1")
            .unwrap();
        let fees: Vec<u128> = stmt
            .query_map([venue], |r| r.get::<_, String>(0))
            .unwrap()
            .map(|t| t.unwrap().parse().unwrap())
            .filter(|&f| f > 0)
            .collect();
        (fees.len() as u64, fees.iter().sum())
    };
    let (bnb_fills, bnb_value) = paid_in_bnb("binance");
    assert!(bnb_fills > 0, "Binance trades on paper ({stats:?})");
    assert_eq!(bnb_fills, stats.fees_in_other_asset, "{stats:?}");
    for venue in ["kraken", "okx", "bybit", "coinbase"] {
        assert_eq!(paid_in_bnb(venue), (0, 0), "{venue}");
    }
    let binance_row = positions.iter().find(|p| p.leg as usize == binance);
    let funds_left = binance_row.map_or(funds_at_start, |p| p.fee_funds_units.unwrap());
    assert_eq!(funds_at_start - funds_left, bnb_value);
    assert!(
        positions
            .iter()
            .all(|p| (p.leg as usize == binance) == p.fee_funds_units.is_some()),
        "{positions:?}"
    );

    // Restart in paper mode: the lane goes on from the journal's positions, not the venues'.
    let lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &restored).unwrap();
    for p in &positions {
        let h = lane.holdings(p.leg as usize).unwrap();
        assert_eq!((h.base, h.quote), (p.base_units, p.quote_units), "{p:?}");
    }
    // And from the BNB value paper had left, not the account's untouched 20 BNB.
    assert_eq!(lane.fee_funds(binance), Some(funds_left));
    // Live mode always starts from what the venues report.
    let lane = build_lane(&x, &sim.secrets(), Mode::Live, &restored).unwrap();
    for i in 0..5 {
        assert_eq!(lane.holdings(i).unwrap().base, sim.account(i).unwrap().0);
        // Live fees are valued from what the venue charged: no paper funds.
        assert_eq!(lane.fee_funds(i), None, "leg {i}");
    }
    // The fee rates are the venues' own: the simulated Binance account pays its fees in BNB,
    // and its commission answer states the discounted rate, 0.75 × 0.1 %; no other venue
    // states one.
    for i in 0..5 {
        let leg = &lane.legs()[i];
        let expected = (leg.venue == Venue::Binance).then_some(Rate(75_000));
        assert_eq!(leg.discounted_taker, expected, "{:?}", leg.venue);
    }
}

#[test]
fn wrong_credentials_fail_at_start_naming_the_venue() {
    let sim = SimVenues::start(1_000).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim)).unwrap();
    let x = cfg.xarb.unwrap();
    let mut secrets = sim.secrets();
    secrets[2].api_secret = kestrel_venues::auth::ApiSecret::new("not-the-okx-secret");
    let err = build_lane(&x, &secrets, Mode::DryRun, &Restored::default())
        .err()
        .expect("a bad signature is refused");
    let text = format!("{err:#}");
    assert!(text.contains("okx"), "{text}");
}

#[test]
fn run_names_a_missing_venue_credential_before_starting_anything() {
    let sim = SimVenues::start(1_000).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("xarb.toml");
    std::fs::write(&path, config_text(&sim)).unwrap();
    let check = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .arg("check-config")
        .arg(&path)
        .output()
        .unwrap();
    assert!(
        check.status.success(),
        "{}",
        String::from_utf8_lossy(&check.stderr)
    );
    // The engine's own keys are set; the venues' are not. No node runs: the run must fail on
    // the credential, before it tries to reach anything.
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--duration", "1", "--config"])
        .arg(&path)
        .env(
            "KESTREL_SEARCHER_KEY",
            "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d",
        )
        .env(
            "KESTREL_RELAY_AUTH_KEY",
            "0x5de4111afa1a4b94908f83103eb1f1706367c2e68ca870fc3fb9a804cdab365a",
        )
        .env_remove(format!("{PREFIX}_BINANCE_API_KEY"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains(&format!("{PREFIX}_BINANCE_API_KEY")), "{err}");
    assert!(err.contains("binance"), "{err}");
}

#[test]
fn exsim_prints_a_section_that_check_config_accepts() {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["exsim", "--duration", "1", "--env-prefix", "REHEARSAL"])
        .args(["--statarb-bar-ms", "1000"])
        .output()
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("export REHEARSAL_OKX_PASSPHRASE="), "{text}");
    let section: String = text
        .lines()
        .filter(|l| !l.starts_with("export ") && !l.starts_with('#'))
        .map(|l| format!("{l}\n"))
        .collect();
    let base = std::fs::read_to_string(configs().join("anvil-local.toml")).unwrap();
    let cfg = kestrel_config::parse_str(&format!("{base}\n{section}")).unwrap();
    let x = cfg.xarb.unwrap();
    assert_eq!(x.venues.len(), 5);
    assert_eq!(x.venues[0].api_key.name(), "REHEARSAL_BINANCE_API_KEY");
    // The stat-arb venue's section, and the variables it names exported.
    let s = cfg.statarb.unwrap();
    assert_eq!(s.symbols.len(), 4);
    let key = s.api_key.as_ref().unwrap().name();
    assert_eq!(key, "REHEARSAL_STATARB_KEY");
    assert!(text.contains(&format!("export {key}=")), "{text}");
    kestrel::statarb_run::spec(&s).unwrap();
}

/// The run id `kestrel run` printed on stderr.
fn run_id_of(stderr: &str) -> &str {
    stderr
        .split("run id ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no run id: {stderr}"))
}

/// `kestrel run --duration SECS` on `path` with the simulated venues' credentials and `env`;
/// must succeed; its stderr.
fn paper_run(sim: &SimVenues, path: &std::path::Path, secs: u32, env: &[(&str, &str)]) -> String {
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--duration", &secs.to_string(), "--config"])
        .arg(path)
        .envs(sim.credentials(PREFIX))
        .envs(env.iter().copied())
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    stderr
}

/// A dry-run config in `dir` with no `[chain]` and no keys of the backrun lane: only the
/// exchange lane over `sim` and a journal. The journal's path and the config's.
fn cex_only_config(
    sim: &SimVenues,
    dir: &std::path::Path,
) -> (std::path::PathBuf, std::path::PathBuf) {
    let journal = dir.join("cex.sqlite");
    let path = dir.join("cex.toml");
    let text = format!(
        "mode = \"dry-run\"\n[journal]\npath = \"{}\"\n\n{}",
        journal.display(),
        sim.xarb_toml(PREFIX)
    );
    std::fs::write(&path, text).unwrap();
    (journal, path)
}

#[test]
fn kestrel_run_on_a_cex_only_config_runs_the_lane_on_paper_and_journals_it() {
    let sim = SimVenues::start(50).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (journal, path) = cex_only_config(&sim, dir.path());
    let start: Vec<_> = (0..5).map(|i| sim.account(i).unwrap()).collect();
    let stderr = paper_run(&sim, &path, 4, &[]);
    assert!(stderr.contains("cross-exchange lane on paper"), "{stderr}");
    let run_id = run_id_of(&stderr);
    for (i, s) in start.iter().enumerate() {
        assert_eq!(sim.account(i).unwrap(), *s, "leg {i}: paper sent an order");
    }
    let reader = kestrel_store::open_readonly(&journal).unwrap();
    let pnls = reader.xarb_pnls(run_id).unwrap();
    let run = reader.run(run_id).unwrap().expect("the run is journaled");
    let summary: serde_json::Value =
        serde_json::from_str(run.summary_json.as_deref().expect("ended")).unwrap();
    let trades = summary["xarb"]["trades"].as_u64().expect("xarb totals");
    assert!(trades > 0, "{summary}");
    assert!(!pnls.is_empty() && pnls.len() as u64 <= trades, "{pnls:?}");
    let total: i128 = pnls.iter().sum();
    assert_eq!(
        summary["xarb"]["pnl_units"].as_str(),
        Some(total.to_string().as_str()),
        "{summary}"
    );
    // The same PnL in the quote asset: the config's price + size digits (2 + 5 here) of it.
    let text = std::fs::read_to_string(&path).unwrap();
    let digit = |key: &str| -> u32 {
        text.lines()
            .find_map(|l| {
                l.strip_prefix(key)?
                    .trim()
                    .strip_prefix('=')?
                    .trim()
                    .parse()
                    .ok()
            })
            .unwrap_or_else(|| panic!("{key} in {text}"))
    };
    let scale = 10i128.pow(digit("price_digits") + digit("size_digits"));
    let quote = summary["xarb"]["pnl_quote"].as_str().expect("pnl_quote");
    let (whole, frac) = quote
        .trim_start_matches('-')
        .split_once('.')
        .expect("a decimal");
    let abs = whole.parse::<i128>().unwrap() * scale + frac.parse::<i128>().unwrap();
    assert_eq!(
        if quote.starts_with('-') { -abs } else { abs },
        total,
        "{summary}"
    );
    assert_eq!(
        frac.len() as u32,
        digit("price_digits") + digit("size_digits")
    );
}

#[test]
fn sigterm_stops_a_timed_run_in_order_and_the_journal_records_its_end() {
    let sim = SimVenues::start(50).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (journal, path) = cex_only_config(&sim, dir.path());
    // A minute's run, stopped by SIGTERM (a service manager's stop) after a few seconds.
    let child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--duration", "60", "--config"])
        .arg(&path)
        .envs(sim.credentials(PREFIX))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    std::thread::sleep(Duration::from_secs(3));
    let started = std::time::Instant::now();
    let kill = Command::new("kill")
        .args(["-TERM", &child.id().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "stopped in order: {stderr}");
    assert!(started.elapsed() < Duration::from_secs(30), "{stderr}");
    let run_id = run_id_of(&stderr);
    let reader = kestrel_store::open_readonly(&journal).unwrap();
    let run = reader.run(run_id).unwrap().expect("the run is journaled");
    assert!(run.ended_unix_ms.is_some(), "the end is journaled");
    assert!(run.summary_json.is_some());
}

#[test]
fn kestrel_run_starts_a_lane_with_a_standing_trip_tripped() {
    let sim = SimVenues::start(50).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (journal_path, path) = cex_only_config(&sim, dir.path());
    // The reset command finds the journal and mode `kestrel run` uses with this config.
    assert_eq!(
        reset_target(&path, false).unwrap(),
        (journal_path.clone(), Mode::DryRun)
    );
    let journal = Journal::open(&journal_path, 16).unwrap();
    journal
        .handle()
        .append(Record::Xarb {
            run_id: "earlier".into(),
            unix_ms: 1,
            ev: XarbRecord::Tripped {
                mode: Mode::DryRun,
                reason: "drawdown".into(),
                amount: Some(1_000_001),
            },
        })
        .unwrap();
    journal.close().unwrap();
    // A malformed RUST_LOG is refused, and the run still logs (by the config's filter): the
    // standing trip is said at error level.
    let stderr = paper_run(&sim, &path, 3, &[("RUST_LOG", "kestrel=loud")]);
    assert!(stderr.contains("RUST_LOG ignored"), "{stderr}");
    assert!(
        stderr.contains("ERROR") && stderr.contains("drawdown"),
        "the standing trip is logged: {stderr}"
    );
    let run_id = run_id_of(&stderr);
    let reader = kestrel_store::open_readonly(&journal_path).unwrap();
    let run = reader.run(run_id).unwrap().expect("the run is journaled");
    let summary: serde_json::Value =
        serde_json::from_str(run.summary_json.as_deref().expect("ended")).unwrap();
    assert!(
        summary["xarb"]["opportunities"].as_u64() > Some(0),
        "{summary}"
    );
    assert_eq!(summary["xarb"]["trades"].as_u64(), Some(0), "{summary}");
    assert!(reader.xarb_pnls(run_id).unwrap().is_empty());
}

/// The counter's value in Prometheus text, if the line is there.
fn sample(text: &str, name: &str) -> Option<i128> {
    text.lines()
        .find_map(|l| l.strip_prefix(name)?.strip_prefix(' ')?.trim().parse().ok())
}

#[test]
fn a_cex_only_run_serves_the_lanes_totals_on_metrics() {
    let sim = SimVenues::start(50).unwrap();
    let dir = tempfile::tempdir().unwrap();
    let (journal, path) = cex_only_config(&sim, dir.path());
    let port = kestrel_testkit::free_port();
    let text = std::fs::read_to_string(&path).unwrap();
    std::fs::write(
        &path,
        text.replacen(
            "[journal]\n",
            &format!("[telemetry]\nmetrics_addr = \"127.0.0.1:{port}\"\n[journal]\n"),
            1,
        ),
    )
    .unwrap();
    let child = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--duration", "8", "--config"])
        .arg(&path)
        .envs(sim.credentials(PREFIX))
        .stderr(std::process::Stdio::piped())
        .spawn()
        .unwrap();
    let scrape = || {
        use std::io::{Read as _, Write as _};
        let mut s = std::net::TcpStream::connect(("127.0.0.1", port)).ok()?;
        let _ = s.write_all(b"GET /metrics HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n");
        let mut body = String::new();
        let _ = s.read_to_string(&mut body);
        Some(body)
    };
    // Scrape until the lane has published a trade (it trades within a second or two here).
    let mut scraped = None;
    for _ in 0..70 {
        std::thread::sleep(Duration::from_millis(100));
        let Some(body) = scrape() else {
            continue;
        };
        if sample(&body, "kestrel_xarb_trades_total").is_some_and(|t| t > 0) {
            scraped = Some(body);
            break;
        }
    }
    // Then a bad checksum on Kraken's feed and a dropped connection on Bybit's: each feed's
    // counters on /metrics must show the resync and the reconnect.
    let kraken = |name: &str| {
        format!("kestrel_xarb_feed_{name}_total{{venue=\"kraken\",symbol=\"BTC/USD\"}}")
    };
    let bybit = |name: &str| {
        format!("kestrel_xarb_feed_{name}_total{{venue=\"bybit\",symbol=\"BTCUSDT\"}}")
    };
    let mut after_faults = None;
    if scraped.is_some() {
        assert!(sim.fault(Venue::Kraken, Fault::BadChecksum));
        assert!(sim.fault(Venue::Bybit, Fault::Disconnect));
        for _ in 0..40 {
            std::thread::sleep(Duration::from_millis(100));
            let Some(body) = scrape() else {
                continue;
            };
            let seen = sample(&body, &kraken("checksum_failures")).is_some_and(|n| n >= 1)
                && sample(&body, &bybit("disconnects")).is_some_and(|n| n >= 1)
                && sample(&body, &bybit("connects")).is_some_and(|n| n >= 2);
            if seen {
                after_faults = Some(body);
                break;
            }
        }
    }
    let out = child.wait_with_output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    let body = scraped.unwrap_or_else(|| panic!("no trade on /metrics: {stderr}"));
    let faulted = after_faults.unwrap_or_else(|| {
        panic!("the checksum failure and reconnect never showed on /metrics: {stderr}")
    });
    assert!(
        sample(&faulted, &kraken("resyncs")).is_some_and(|n| n >= 1),
        "{faulted}"
    );
    assert!(
        sample(&faulted, &kraken("snapshots")).is_some_and(|n| n >= 2),
        "{faulted}"
    );
    assert_eq!(
        sample(&faulted, &kraken("disconnects")),
        Some(0),
        "{faulted}"
    );
    assert_eq!(
        sample(&faulted, &bybit("checksum_failures")),
        Some(0),
        "{faulted}"
    );
    assert!(body.starts_with("HTTP/1.1 200"), "{body}");
    let trades = sample(&body, "kestrel_xarb_trades_total").unwrap();
    let orders = sample(&body, "kestrel_xarb_orders_total").unwrap();
    let opportunities = sample(&body, "kestrel_xarb_opportunities_total").unwrap();
    assert!(orders >= 2 * trades, "{body}");
    assert!(opportunities >= trades, "{body}");
    assert_eq!(
        sample(&body, "kestrel_xarb_kill_switch_tripped"),
        Some(0),
        "{body}"
    );
    assert!(
        stderr.contains(&format!("metrics at http://127.0.0.1:{port}/metrics")),
        "{stderr}"
    );
    // What was scraped mid-run is at most what the run journaled by its end.
    let reader = kestrel_store::open_readonly(&journal).unwrap();
    let run_id = run_id_of(&stderr);
    let journaled = reader.xarb_pnls(run_id).unwrap().len();
    assert!(
        trades as usize <= journaled,
        "scraped {trades}, journaled {journaled}"
    );
}

/// Journals an earlier paper run, `paper-1`, that closed trades of `(realized PnL, base left
/// open)`, in order.
fn paper_run_closed(path: &std::path::Path, closes: &[(i128, i128)]) {
    let journal = Journal::open(path, 64).unwrap();
    run_started(&journal, "paper-1", Mode::DryRun);
    for (id, &(pnl, open)) in (1u64..).zip(closes) {
        journal
            .handle()
            .append(Record::Xarb {
                run_id: "paper-1".into(),
                unix_ms: 10 + id,
                ev: XarbRecord::Closed {
                    trade_id: id,
                    pnl_units: pnl,
                    hedged: open != 0,
                    open_base_units: open,
                },
            })
            .unwrap();
    }
    journal.close().unwrap();
}

#[test]
fn a_restarted_lane_carries_the_drawdown_since_the_last_reset() {
    let sim = SimVenues::start(50).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim)).unwrap();
    let mut x = cfg.xarb.expect("[xarb] section");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");
    // An earlier paper run made 100 and then gave back 150: 150 below its peak, -50 in all.
    paper_run_closed(&path, &[(100, 0), (-150, 0)]);
    let restored = Restored::read(&path, Mode::DryRun).unwrap();
    assert_eq!(restored.carried_pnl(), (-50, 100));
    // Live runs carry nothing from paper ones.
    assert_eq!(
        Restored::read(&path, Mode::Live).unwrap().carried_pnl(),
        (0, 0)
    );

    // A limit above the carried drawdown: the lane starts armed, counting from the peak.
    x.max_drawdown = Fixed(151);
    let mut lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &restored).unwrap();
    assert!(!lane.kill_switch_tripped());
    assert_eq!(lane.risk_pnl(), -50);
    assert_eq!(lane.kill_switch().peak_pnl(), 100);
    assert_eq!(lane.stats().pnl, 0, "the run's own totals start at zero");
    // One more unit lost would pass the limit: the switch sees the whole drawdown.
    let next = lane.risk_pnl() - 2;
    lane.kill_switch().on_pnl(next);
    assert!(lane.kill_switch_tripped());

    // A limit lowered below it: the restarted lane starts tripped, for the drawdown.
    x.max_drawdown = Fixed(149);
    let lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &restored).unwrap();
    assert!(lane.kill_switch_tripped());
}

#[test]
fn a_restarted_lane_carries_the_open_imbalance_since_the_last_reset() {
    let sim = SimVenues::start(50).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim)).unwrap();
    let mut x = cfg.xarb.expect("[xarb] section");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");
    // An earlier paper run's trades left 30 base long, then 12 short: 18 open in all.
    paper_run_closed(&path, &[(0, 30), (0, 0), (0, -12)]);
    let restored = Restored::read(&path, Mode::DryRun).unwrap();
    assert_eq!(restored.open_base, 18);
    assert_eq!(Restored::read(&path, Mode::Live).unwrap().open_base, 0);

    // Under the limit: armed, carrying the 18.
    x.max_imbalance = Fixed(18);
    let lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &restored).unwrap();
    assert!(!lane.kill_switch_tripped());
    assert_eq!(lane.open_base(), 18);
    // A limit lowered below it: tripped from the start, for the imbalance.
    x.max_imbalance = Fixed(17);
    let mut lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &restored).unwrap();
    assert_eq!(
        lane.kill_switch().tripped(),
        Some(TripReason::Imbalance { imbalance: 18 })
    );
}
