//! The cross-exchange lane as `kestrel run` starts it: a config's `[xarb]` section over the
//! five simulated venues (real wire formats, real authentication), paper fills journaled as
//! they happen, a restarted paper run going on from the journal's positions, and live mode
//! starting from the venues' own balances.

use std::process::Command;
use std::time::Duration;

use kestrel::bench_xarb::SimVenues;
use kestrel::xarb_run::{XarbRun, build_lane};
use kestrel_store::Journal;
use kestrel_types::Mode;

const PREFIX: &str = "KESTREL_TEST_SIM";

fn configs() -> std::path::PathBuf {
    std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../../configs")
}

/// The shipped anvil config with the simulated venues' `[xarb]` section appended.
fn config_text(sim: &SimVenues) -> String {
    let base = std::fs::read_to_string(configs().join("anvil-local.toml")).unwrap();
    format!("{base}\n{}", sim.xarb_toml(PREFIX))
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
    let lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &[]).unwrap();
    let start: Vec<_> = (0..5).map(|i| lane.holdings(i).unwrap()).collect();
    for (i, h) in start.iter().enumerate() {
        let (base, _) = sim.account(i).unwrap();
        assert_eq!(
            h.base, base,
            "leg {i}: paper starts from the venue's balance"
        );
    }
    let run = XarbRun::start(lane, None, journal.handle(), "xarb-run-1".into()).unwrap();
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
    let positions = reader.latest_xarb_positions().unwrap();
    assert!(!positions.is_empty());
    let moved = positions.iter().any(|p| {
        let i = p.leg as usize;
        p.base_units != start[i].base || p.quote_units != start[i].quote
    });
    assert!(moved, "trades moved paper inventory: {positions:?}");

    // Restart in paper mode: the lane goes on from the journal's positions, not the venues'.
    let lane = build_lane(&x, &sim.secrets(), Mode::DryRun, &positions).unwrap();
    for p in &positions {
        let h = lane.holdings(p.leg as usize).unwrap();
        assert_eq!((h.base, h.quote), (p.base_units, p.quote_units), "{p:?}");
    }
    // Live mode always starts from what the venues report.
    let lane = build_lane(&x, &sim.secrets(), Mode::Live, &positions).unwrap();
    for i in 0..5 {
        assert_eq!(lane.holdings(i).unwrap().base, sim.account(i).unwrap().0);
    }
}

#[test]
fn wrong_credentials_fail_at_start_naming_the_venue() {
    let sim = SimVenues::start(1_000).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim)).unwrap();
    let x = cfg.xarb.unwrap();
    let mut secrets = sim.secrets();
    secrets[2].api_secret = kestrel_venues::auth::ApiSecret::new("not-the-okx-secret");
    let err = build_lane(&x, &secrets, Mode::DryRun, &[])
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
    let out = Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--duration", "4", "--config"])
        .arg(&path)
        .envs(sim.credentials(PREFIX))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(out.status.success(), "{stderr}");
    assert!(stderr.contains("cross-exchange lane on paper"), "{stderr}");
    let run_id = stderr
        .split("run id ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no run id: {stderr}"));
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
    let run_id = stderr
        .split("run id ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no run id: {stderr}"));
    let reader = kestrel_store::open_readonly(&journal).unwrap();
    let run = reader.run(run_id).unwrap().expect("the run is journaled");
    assert!(run.ended_unix_ms.is_some(), "the end is journaled");
    assert!(run.summary_json.is_some());
}
