//! The binary's contract: `--help` everywhere, `check-config` on the shipped configs, and one
//! clear line on stderr with a non-zero exit for every failure.

use std::process::Command;

fn kestrel() -> Command {
    Command::new(env!("CARGO_BIN_EXE_kestrel"))
}

fn configs() -> std::path::PathBuf {
    kestrel_stdx::paths::workspace_root().join("configs")
}

#[test]
fn every_subcommand_has_help() {
    for args in [
        &["--help"][..],
        &["run", "--help"],
        &["sandbox", "--help"],
        &["check-config", "--help"],
        &["deploy-executor", "--help"],
        &["xarb", "reset-kill-switch", "--help"],
        &["bench", "hotpath", "--help"],
        &["bench", "xarb", "--help"],
        &["exsim", "--help"],
        &["pairs", "scan", "--help"],
        &["backtest", "statarb", "--help"],
        &["candles", "fetch", "--help"],
        &["candles", "import", "--help"],
    ] {
        let out = kestrel().args(args).output().unwrap();
        assert!(out.status.success(), "{args:?}");
        let text = String::from_utf8_lossy(&out.stdout);
        assert!(text.contains("Usage"), "{args:?}: {text}");
    }
}

#[test]
fn shipped_configs_pass_check_config() {
    for name in [
        "anvil-local.toml",
        "sepolia-dry-run.toml",
        "xarb-paper.toml",
    ] {
        let out = kestrel()
            .arg("check-config")
            .arg(configs().join(name))
            .output()
            .unwrap();
        assert!(
            out.status.success(),
            "{name}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    }
}

#[test]
fn a_broken_config_lists_every_problem_with_its_key_path() {
    let dir = tempfile::tempdir().unwrap();
    let good = std::fs::read_to_string(configs().join("sepolia-dry-run.toml")).unwrap();
    let bad = good
        .replace("chain_id = 11155111", "chain_id = 0")
        .replace("fee_numerator = 997", "fee_numerator = 5000")
        .replace("[journal]", "[journal]\nbogus = 1");
    let path = dir.path().join("bad.toml");
    std::fs::write(&path, bad).unwrap();
    let out = kestrel().arg("check-config").arg(&path).output().unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    for key in [
        "chain.chain_id",
        "dex.v2_factories[0].fee_numerator",
        "journal.bogus",
    ] {
        assert!(err.contains(key), "stderr lacks {key}: {err}");
    }
}

#[test]
fn run_with_a_missing_config_fails_with_one_line() {
    let out = kestrel()
        .args(["run", "--config", "/nonexistent/kestrel.toml"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(err.starts_with("error: "), "{err}");
}

#[test]
fn run_without_its_secret_env_var_fails_naming_the_variable() {
    let out = kestrel()
        .args(["run", "--config"])
        .arg(configs().join("sepolia-dry-run.toml"))
        .env_remove("KESTREL_SEARCHER_KEY")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("KESTREL_SEARCHER_KEY"), "{err}");
}

#[test]
fn a_config_without_an_executor_passes_check_config_with_a_note_and_run_says_how_to_deploy_one() {
    let sepolia = configs().join("sepolia-dry-run.toml");
    let out = kestrel()
        .arg("check-config")
        .arg(&sepolia)
        .output()
        .unwrap();
    assert!(out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("backrun.executor") && err.contains("kestrel deploy-executor"),
        "{err}"
    );
    let key = "0x5151515151515151515151515151515151515151515151515151515151515151";
    let out = kestrel()
        .args(["run", "--config"])
        .arg(&sepolia)
        .env("KESTREL_SEARCHER_KEY", key)
        .env("KESTREL_RELAY_AUTH_KEY", key.replace("51", "72"))
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    assert!(
        err.contains("backrun.executor is not set")
            && err.contains("kestrel deploy-executor --config"),
        "{err}"
    );
    // A config without [chain] has no backrun lane, so no note.
    let out = kestrel()
        .arg("check-config")
        .arg(configs().join("cex-only-paper.toml"))
        .output()
        .unwrap();
    assert!(out.status.success());
    assert!(String::from_utf8_lossy(&out.stderr).is_empty());
}

#[test]
fn sandbox_refuses_an_unwritable_report_path_before_it_runs() {
    let out = kestrel()
        .args(["sandbox", "--duration", "30", "--seed", "1", "--report"])
        .arg("/nonexistent-dir/report.json")
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(
        err.contains("--report: cannot write /nonexistent-dir/report.json"),
        "{err}"
    );
}

#[test]
fn xarb_reset_kill_switch_reads_the_configs_journal_and_refuses_an_empty_note() {
    let dir = tempfile::tempdir().unwrap();
    let config = configs().join("xarb-paper.toml");
    let reset = |note: &str| {
        kestrel()
            .current_dir(dir.path())
            .args(["xarb", "reset-kill-switch", "--config"])
            .arg(&config)
            .args(["--note", note])
            .output()
            .unwrap()
    };
    let out = reset("  ");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("the note is empty"), "{err}");
    // Run from a directory with no journal: nothing was ever tripped there, and none is created.
    let out = reset("venues reconciled");
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("no journal at"), "{err}");
    assert_eq!(std::fs::read_dir(dir.path()).unwrap().count(), 0);
}

#[test]
fn bench_xarb_refuses_a_duration_it_cannot_hold_the_samples_of() {
    let out = kestrel()
        .args(["bench", "xarb", "--duration", "100000"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("at most 3600 s"), "{err}");
}
