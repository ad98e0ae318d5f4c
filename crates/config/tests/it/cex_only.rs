//! CEX-only configs: only the exchange lanes, told apart from full configs by their top-level
//! keys ([`parse_any_str`], [`load_any_file`]).

use std::path::{Path, PathBuf};

use kestrel_config::{
    AnyConfig, CexConfig, ConfigErrors, JournalConfig, ModeSetting, StatArbCapitalBase,
    TelemetryConfig, cex_to_toml_string, load_any_file, load_file, parse_any_str, parse_str,
};
use kestrel_types::cex::{FeeAsset, Fixed, Interval, Rate, Venue};

fn example(name: &str) -> PathBuf {
    kestrel_stdx::paths::workspace_root()
        .join("configs")
        .join(name)
}

/// The stat-arb tests' section with only its required keys.
const STATARB: &str = crate::statarb::MINIMAL;
/// The cross-exchange tests' two-venue section with credentials.
const XARB: &str = crate::xarb::XARB;

fn cex_only(text: &str) -> CexConfig {
    match parse_any_str(text) {
        Ok(AnyConfig::CexOnly(cfg)) => cfg,
        Ok(AnyConfig::Full(_)) => panic!("parsed as a full config:\n{text}"),
        Err(e) => panic!("{e}\n---\n{text}"),
    }
}

fn any_errors(text: &str) -> Vec<(String, String)> {
    match parse_any_str(text) {
        Ok(cfg) => panic!("expected errors, config was accepted: {cfg:?}\n{text}"),
        Err(ConfigErrors(errors)) => errors.into_iter().map(|e| (e.path, e.message)).collect(),
    }
}

#[test]
fn the_example_loads_as_cex_only() {
    let any = load_any_file(&example("cex-only-paper.toml")).unwrap_or_else(|e| panic!("{e}"));
    let AnyConfig::CexOnly(cfg) = &any else {
        panic!("not CEX-only: {any:?}");
    };
    assert_eq!(cfg.mode, ModeSetting::DryRun);
    assert_eq!(cfg.journal.path, Path::new("kestrel-cex.sqlite"));
    assert_eq!(cfg.telemetry, TelemetryConfig::default());
    assert_eq!(cfg.xarb, None);
    let x = cfg.statarb.as_ref().expect("[statarb] present");
    assert_eq!(x.venue, Venue::Binance);
    assert_eq!(x.symbols, ["ETHUSDT", "BTCUSDT", "SOLUSDT", "BNBUSDT"]);
    assert_eq!(x.interval, Interval::H1);
    assert_eq!(x.rest_url, "https://api.binance.com");
    assert_eq!(x.ws_url, "wss://stream.binance.com:9443/ws");
    assert_eq!((x.price_scale.digits(), x.size_scale.digits()), (2, 5));
    assert_eq!(x.quote_asset, "USDT");
    assert_eq!(x.capital, Fixed(100_000_000_000));
    assert_eq!(x.taker_fee, Rate(100_000));
    assert_eq!(x.buy_fee_asset, FeeAsset::Base);
    assert_eq!((x.history_bars, x.train_bars), (1000, 500));
    assert_eq!((x.api_key.as_ref(), x.api_secret.as_ref()), (None, None));
    assert_eq!(x.signal.entry_z, Some(2.0));
    assert_eq!(x.sizing.capital_base, Some(StatArbCapitalBase::Realized));
    // The accessors see the same parts.
    assert_eq!(any.mode(), ModeSetting::DryRun);
    assert_eq!(any.journal(), &cfg.journal);
    assert_eq!(any.telemetry(), &cfg.telemetry);
    assert_eq!(any.statarb(), Some(x));
    assert_eq!(any.xarb(), None);
    assert!(any.as_full().is_none());
    // Its [statarb] is the one of the full stat-arb example.
    let full = load_file(&example("statarb-paper.toml")).unwrap();
    assert_eq!(full.statarb.as_ref(), Some(x));
}

#[test]
fn a_cex_only_example_is_not_a_full_config() {
    // parse_str and load_file keep reading only full configs.
    let errors = load_file(&example("cex-only-paper.toml")).unwrap_err();
    assert_eq!(errors.0[0].path, "chain");
    assert_eq!(errors.0[0].message, "missing required table [chain]");
}

#[test]
fn a_full_example_loads_as_full() {
    let path = example("anvil-local.toml");
    let any = load_any_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let full = load_file(&path).unwrap();
    assert_eq!(any.as_full(), Some(&full));
    assert_eq!(any, AnyConfig::Full(full.clone()));
    assert_eq!(any.mode(), full.mode);
    assert_eq!(any.journal(), &full.journal);
    assert_eq!(any.telemetry(), &full.telemetry);
    assert_eq!(any.xarb(), full.xarb.as_ref());
    assert_eq!(any.statarb(), None);
}

#[test]
fn mode_and_journal_alone_are_one_clear_error() {
    let errors = any_errors("mode = \"dry-run\"\n[journal]\npath = \"k.sqlite\"\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "chain");
    assert!(errors[0].1.contains("[chain]"), "{}", errors[0].1);
    assert!(
        errors[0].1.contains("[xarb] or [statarb]"),
        "{}",
        errors[0].1
    );
    // An empty document says the same.
    assert_eq!(any_errors(""), errors);
}

#[test]
fn a_stray_backrun_section_makes_a_full_config_with_its_missing_sections() {
    let text = format!("[[dex.v2_factories]]\nname = \"x\"\n{STATARB}");
    let errors = any_errors(&text);
    // Exactly what parse_str reports today.
    let today: Vec<(String, String)> = parse_str(&text)
        .unwrap_err()
        .0
        .into_iter()
        .map(|e| (e.path, e.message))
        .collect();
    assert_eq!(errors, today);
    for table in ["chain", "backrun", "signer", "relay_auth"] {
        assert!(
            errors
                .iter()
                .any(|(p, m)| p == table && m == &format!("missing required table [{table}]")),
            "{table}: {errors:?}"
        );
    }
    assert!(
        errors
            .iter()
            .any(|(p, _)| p == "dex.v2_factories[0].factory"),
        "{errors:?}"
    );
    // A bare `[dex]` header counts too.
    let errors = any_errors(&format!("[dex]\n{STATARB}"));
    assert!(errors.iter().any(|(p, _)| p == "chain"), "{errors:?}");
    assert!(
        errors.iter().any(|(p, _)| p == "dex.v2_factories"),
        "{errors:?}"
    );
}

#[test]
fn an_unknown_top_level_key_is_reported_at_its_path() {
    let errors = any_errors(&format!("mode = \"dry-run\"\nchian = 1\n{STATARB}"));
    assert_eq!(
        errors,
        [("chian".to_owned(), "unknown key".to_owned())],
        "{errors:?}"
    );
    // Unknown keys inside the shared sections too.
    let errors = any_errors(&format!("[journal]\npaht = \"x\"\n{STATARB}"));
    assert_eq!(
        errors,
        [("journal.paht".to_owned(), "unknown key".to_owned())]
    );
}

#[test]
fn lane_errors_are_reported_as_in_a_full_config() {
    let errors = any_errors(&STATARB.replace("capital = \"500\"", "capital = \"0\""));
    assert_eq!(
        errors,
        [(
            "statarb.capital".to_owned(),
            "must be more than zero".to_owned()
        )]
    );
    // An invalid lane is still a lane: no "needs a lane" error besides its own.
    let errors = any_errors("statarb = 5\n");
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "statarb");
}

#[test]
fn live_mode_needs_no_relay_or_executor() {
    let cfg = cex_only(&format!("mode = \"live\"\n{XARB}"));
    assert_eq!(cfg.mode, ModeSetting::Live);
    assert!(cfg.xarb.is_some());
    assert_eq!(cfg.statarb, None);
}

#[test]
fn the_defaults_apply_to_the_shared_sections() {
    let cfg = cex_only(STATARB);
    assert_eq!(cfg.mode, ModeSetting::DryRun);
    assert_eq!(cfg.journal, JournalConfig::default());
    assert_eq!(cfg.telemetry, TelemetryConfig::default());
}

#[test]
fn cex_only_configs_round_trip_through_the_cex_writer() {
    let texts = [
        STATARB.to_owned(),
        XARB.to_owned(),
        format!(
            "mode = \"live\"\n[journal]\npath = \"dir with space/j.sqlite\"\n\
             [telemetry]\nmetrics_addr = \"127.0.0.1:9464\"\nlog = \"debug\"\n{XARB}{}",
            // Live mode needs the stat-arb lane's credentials.
            crate::statarb::MINIMAL_LIVE
        ),
        std::fs::read_to_string(example("cex-only-paper.toml")).unwrap(),
    ];
    for text in texts {
        let cfg = cex_only(&text);
        let written = cex_to_toml_string(&cfg);
        assert_eq!(cex_only(&written), cfg, "\n---\n{written}");
        let any = AnyConfig::CexOnly(cfg);
        assert_eq!(any.to_toml_string(), written);
        assert_eq!(parse_any_str(&written).as_ref(), Ok(&any));
    }
}

#[test]
fn syntax_and_file_errors_are_the_usual_ones() {
    let errors = any_errors("mode = \"live\"\nstatarb = [\n");
    assert_eq!(errors.len(), 1);
    assert_eq!(errors[0].0, "<toml>");
    assert!(errors[0].1.starts_with("line 2 column"), "{}", errors[0].1);

    let dir = tempfile::tempdir().unwrap();
    let missing = dir.path().join("nope.toml");
    let errors = load_any_file(&missing).unwrap_err();
    assert_eq!(errors, load_file(&missing).unwrap_err());
    assert_eq!(errors.0.len(), 1);
    assert_eq!(errors.0[0].path, "<file>");
    assert!(errors.0[0].message.contains("nope.toml"));
}
