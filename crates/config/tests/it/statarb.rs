//! `[statarb]`: the stat-arb lane's section, read exactly, every violation reported at its path.

use kestrel_config::{
    BinanceKeyKind, StatArbCapitalBase, StatArbSelection, StatArbSignal, StatArbSizing, load_file,
    parse_str, to_toml_string,
};
use kestrel_types::cex::{FeeAsset, Fixed, Interval, Rate, Venue};
use proptest::strategy::Strategy as _;

use crate::{VALID, errors_of};

/// Every key set, none at its default.
const FULL: &str = r#"
[statarb]
venue = "binance"
symbols = ["AAAUSDT", "BBBUSDT", "CCCUSDT"]
interval = "1m"
rest_url = "http://127.0.0.1:9000"
ws_url = "ws://127.0.0.1:9001"
price_digits = 2
size_digits = 5
quote_asset = "USDT"
capital = "10000.5"
taker_fee = "0.00075"
buy_fee_asset = "quote"
history_bars = 2000
train_bars = 600
rescan_every_bars = 100
slippage_bps = 25
stale_after_ms = 3000
poll_ms = 40
core = 3
api_key = "env:STATARB_KEY"
api_secret = "env:STATARB_SECRET"
key_kind = "ed25519"

[statarb.selection]
max_p_value = 0.01
min_half_life_bars = 3
max_half_life_bars = 80.5
min_zero_crossings = 0
top_k = 7

[statarb.signal]
entry_z = 2.5
exit_z = 0
stop_z = 4.5
max_hold_half_lives = 3.0
window_half_lives = 5.0
window_min_bars = 30
window_max_bars = 300

[statarb.sizing]
kelly_multiplier = 0.25
per_pair_cap = 0.1
total_cap = 0.8
default_fraction = 0.02
min_trades = 5
capital_base = "initial"
"#;

/// Only the required keys.
pub(crate) const MINIMAL: &str = r#"
[statarb]
venue = "okx"
symbols = ["AAA-USDT", "BBB-USDT"]
interval = "1h"
rest_url = "https://www.okx.com"
ws_url = "wss://ws.okx.com:8443/ws/v5/public"
price_digits = 2
size_digits = 6
quote_asset = "USDT"
capital = "500"
"#;

fn with(section: &str) -> String {
    format!("{VALID}\n{section}")
}

#[test]
fn a_full_section_is_read_to_typed_values() {
    let cfg = parse_str(&with(FULL)).unwrap_or_else(|e| panic!("{e}"));
    let x = cfg.statarb.expect("[statarb] present");
    assert_eq!(x.venue, Venue::Binance);
    assert_eq!(x.symbols, ["AAAUSDT", "BBBUSDT", "CCCUSDT"]);
    assert_eq!(x.interval, Interval::M1);
    assert_eq!(x.rest_url, "http://127.0.0.1:9000");
    assert_eq!(x.ws_url, "ws://127.0.0.1:9001");
    assert_eq!((x.price_scale.digits(), x.size_scale.digits()), (2, 5));
    assert_eq!(x.quote_asset, "USDT");
    // Notional digits: 2 + 5 = 7.
    assert_eq!(x.capital, Fixed(100_005_000_000));
    assert_eq!(x.taker_fee, Rate(75_000));
    assert_eq!(x.buy_fee_asset, FeeAsset::Quote);
    assert_eq!(
        (
            x.history_bars,
            x.train_bars,
            x.rescan_every_bars,
            x.slippage_bps
        ),
        (2000, 600, 100, 25)
    );
    assert_eq!((x.stale_after_ms, x.core), (3000, Some(3)));
    assert_eq!(x.poll_ms, Some(40));
    assert_eq!(x.api_key.as_ref().map(|s| s.name()), Some("STATARB_KEY"));
    assert_eq!(
        x.api_secret.as_ref().map(|s| s.name()),
        Some("STATARB_SECRET")
    );
    assert_eq!(x.passphrase, None);
    assert_eq!(x.key_kind, BinanceKeyKind::Ed25519);
    assert_eq!(
        x.selection,
        StatArbSelection {
            max_p_value: Some(0.01),
            // An integer is read as a float.
            min_half_life_bars: Some(3.0),
            max_half_life_bars: Some(80.5),
            min_zero_crossings: Some(0),
            top_k: Some(7),
        }
    );
    assert_eq!(
        x.signal,
        StatArbSignal {
            entry_z: Some(2.5),
            exit_z: Some(0.0),
            stop_z: Some(4.5),
            max_hold_half_lives: Some(3.0),
            window_half_lives: Some(5.0),
            window_min_bars: Some(30),
            window_max_bars: Some(300),
        }
    );
    assert_eq!(
        x.sizing,
        StatArbSizing {
            kelly_multiplier: Some(0.25),
            per_pair_cap: Some(0.1),
            total_cap: Some(0.8),
            default_fraction: Some(0.02),
            min_trades: Some(5),
            capital_base: Some(StatArbCapitalBase::Initial),
        }
    );
}

#[test]
fn a_minimal_section_gets_the_defaults() {
    let cfg = parse_str(&with(MINIMAL)).unwrap_or_else(|e| panic!("{e}"));
    let x = cfg.statarb.expect("[statarb] present");
    assert_eq!(x.venue, Venue::Okx);
    assert_eq!(x.interval, Interval::H1);
    assert_eq!(x.capital, Fixed(50_000_000_000));
    assert_eq!(x.taker_fee, Rate(100_000));
    // OKX takes a buy's fee in base.
    assert_eq!(x.buy_fee_asset, FeeAsset::Base);
    assert_eq!(
        (
            x.history_bars,
            x.train_bars,
            x.rescan_every_bars,
            x.slippage_bps
        ),
        (1000, 500, 250, 50)
    );
    assert_eq!((x.stale_after_ms, x.core), (5000, None));
    assert_eq!(x.poll_ms, None);
    assert_eq!((x.api_key, x.api_secret, x.passphrase), (None, None, None));
    assert_eq!(x.key_kind, BinanceKeyKind::Hmac);
    assert_eq!(x.selection, StatArbSelection::default());
    assert_eq!(x.signal, StatArbSignal::default());
    assert_eq!(x.sizing, StatArbSizing::default());
    assert_eq!(x.selection.top_k, None);
    // The section is optional.
    assert_eq!(parse_str(VALID).unwrap().statarb, None);
    // Kraken takes a buy's fee in quote.
    let kraken = MINIMAL.replacen("venue = \"okx\"", "venue = \"kraken\"", 1);
    let x = parse_str(&with(&kraken)).unwrap().statarb.unwrap();
    assert_eq!(x.buy_fee_asset, FeeAsset::Quote);
}

#[test]
fn both_sections_round_trip_through_to_toml_string() {
    for section in [FULL, MINIMAL] {
        let cfg = parse_str(&with(section)).unwrap();
        let text = to_toml_string(&cfg);
        assert_eq!(parse_str(&text).as_ref(), Ok(&cfg), "{text}");
        assert!(text.contains("[statarb]"), "{text}");
    }
    let okx = MINIMAL.replacen(
        "capital = \"500\"",
        "capital = \"500\"\napi_key = \"env:OKX_K\"\napi_secret = \"env:OKX_S\"\n\
         passphrase = \"env:OKX_P\"\n[statarb.sizing]\ncapital_base = \"realized\"",
        1,
    );
    let cfg = parse_str(&with(&okx)).unwrap_or_else(|e| panic!("{e}"));
    let text = to_toml_string(&cfg);
    assert_eq!(parse_str(&text).as_ref(), Ok(&cfg), "{text}");
    // Written back, secrets are still references, never values.
    assert!(text.contains("\"env:OKX_P\""), "{text}");
}

/// (old text, new text, expected path, a fragment the message must contain)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "venue = \"binance\"",
        "venue = \"ftx\"",
        "statarb.venue",
        "expected one of \"binance\"",
    ),
    (
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]",
        "symbols = [\"AAAUSDT\"]",
        "statarb.symbols",
        "needs 2..=128 symbols, got 1",
    ),
    (
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]",
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"AAAUSDT\"]",
        "statarb.symbols[2]",
        "duplicate symbol \"AAAUSDT\" (first at statarb.symbols[0])",
    ),
    (
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]",
        "symbols = [\"AAAUSDT\", \" \", \"CCCUSDT\"]",
        "statarb.symbols[1]",
        "must not be empty",
    ),
    (
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]",
        "symbols = [\"AAAUSDT\", 7]",
        "statarb.symbols[1]",
        "expected a string",
    ),
    (
        "symbols = [\"AAAUSDT\", \"BBBUSDT\", \"CCCUSDT\"]",
        "symbols = \"AAAUSDT\"",
        "statarb.symbols",
        "expected an array",
    ),
    (
        "interval = \"1m\"",
        "interval = \"2m\"",
        "statarb.interval",
        "expected one of \"1m\", \"5m\", \"15m\", \"1h\", \"4h\", \"1d\"",
    ),
    (
        "rest_url = \"http://127.0.0.1:9000\"",
        "rest_url = \"ws://127.0.0.1:9000\"",
        "statarb.rest_url",
        "an http:// or https:// URL",
    ),
    (
        "ws_url = \"ws://127.0.0.1:9001\"",
        "ws_url = \"https://127.0.0.1:9001\"",
        "statarb.ws_url",
        "a ws:// or wss:// URL",
    ),
    (
        "size_digits = 5",
        "size_digits = 17",
        "statarb.size_digits",
        "at most 18",
    ),
    (
        "quote_asset = \"USDT\"",
        "quote_asset = \"\"",
        "statarb.quote_asset",
        "must not be empty",
    ),
    (
        "capital = \"10000.5\"",
        "capital = \"0.00000001\"",
        "statarb.capital",
        "at most 7 fraction digits",
    ),
    (
        "capital = \"10000.5\"",
        "capital = \"0\"",
        "statarb.capital",
        "more than zero",
    ),
    (
        "capital = \"10000.5\"",
        "capital = 10000",
        "statarb.capital",
        "expected a string",
    ),
    (
        "taker_fee = \"0.00075\"",
        "taker_fee = \"1\"",
        "statarb.taker_fee",
        "must be below 1",
    ),
    (
        "taker_fee = \"0.00075\"",
        "taker_fee = \"0.000000001\"",
        "statarb.taker_fee",
        "at most 8 fraction digits",
    ),
    (
        "buy_fee_asset = \"quote\"",
        "buy_fee_asset = \"bnb\"",
        "statarb.buy_fee_asset",
        "expected one of \"base\", \"quote\"",
    ),
    (
        "history_bars = 2000",
        "history_bars = 99",
        "statarb.history_bars",
        "must be in 100..=100000",
    ),
    (
        "history_bars = 2000",
        "history_bars = 500",
        "statarb.history_bars",
        "must be at least train_bars (600), got 500",
    ),
    (
        "train_bars = 600",
        "train_bars = 49",
        "statarb.train_bars",
        "must be in 50..=100000",
    ),
    (
        "rescan_every_bars = 100",
        "rescan_every_bars = 0",
        "statarb.rescan_every_bars",
        "must be in 1..=100000",
    ),
    (
        "slippage_bps = 25",
        "slippage_bps = 1001",
        "statarb.slippage_bps",
        "must be in 0..=1000",
    ),
    (
        "stale_after_ms = 3000",
        "stale_after_ms = 99",
        "statarb.stale_after_ms",
        "must be in 100..=600000",
    ),
    (
        "poll_ms = 40",
        "poll_ms = 9",
        "statarb.poll_ms",
        "must be in 10..=600000",
    ),
    (
        "core = 3",
        "core = 4096",
        "statarb.core",
        "must be in 0..=4095",
    ),
    (
        "api_secret = \"env:STATARB_SECRET\"",
        "",
        "statarb.api_secret",
        "api_key and api_secret are set together",
    ),
    (
        "api_key = \"env:STATARB_KEY\"",
        "",
        "statarb.api_key",
        "api_key and api_secret are set together",
    ),
    (
        "api_secret = \"env:STATARB_SECRET\"",
        "api_secret = \"env:STATARB_KEY\"",
        "statarb.api_secret",
        "different variable than api_key",
    ),
    (
        "api_key = \"env:STATARB_KEY\"",
        "api_key = \"env:lower\"",
        "statarb.api_key",
        "must name a variable matching",
    ),
    (
        "key_kind = \"ed25519\"",
        "key_kind = \"ed25519\"\npassphrase = \"env:STATARB_PASS\"",
        "statarb.passphrase",
        "only okx keys have a passphrase, not binance",
    ),
    (
        "key_kind = \"ed25519\"",
        "key_kind = \"rsa\"",
        "statarb.key_kind",
        "expected one of \"hmac\", \"ed25519\"",
    ),
    (
        "venue = \"binance\"",
        "venue = \"bybit\"",
        "statarb.key_kind",
        "only binance keys have a key_kind",
    ),
    (
        "max_p_value = 0.01",
        "max_p_value = 1.5",
        "statarb.selection.max_p_value",
        "must be in [0, 1], got 1.5",
    ),
    (
        "max_p_value = 0.01",
        "max_p_value = nan",
        "statarb.selection.max_p_value",
        "must be a finite number",
    ),
    (
        "min_half_life_bars = 3",
        "min_half_life_bars = 0",
        "statarb.selection.min_half_life_bars",
        "must be > 0, got 0",
    ),
    (
        "max_half_life_bars = 80.5",
        "max_half_life_bars = inf",
        "statarb.selection.max_half_life_bars",
        "must be a finite number",
    ),
    (
        "min_zero_crossings = 0",
        "min_zero_crossings = -1",
        "statarb.selection.min_zero_crossings",
        "must be >= 0, got -1",
    ),
    (
        "min_zero_crossings = 0",
        "min_zero_crossings = 1.5",
        "statarb.selection.min_zero_crossings",
        "expected an integer",
    ),
    (
        "top_k = 7",
        "top_k = 65",
        "statarb.selection.top_k",
        "must be in 1..=64",
    ),
    (
        "entry_z = 2.5",
        "entry_z = -2.5",
        "statarb.signal.entry_z",
        "must be > 0",
    ),
    (
        "entry_z = 2.5",
        "entry_z = \"2.5\"",
        "statarb.signal.entry_z",
        "expected a number, got string",
    ),
    (
        "exit_z = 0",
        "exit_z = -0.1",
        "statarb.signal.exit_z",
        "must be >= 0",
    ),
    (
        "stop_z = 4.5",
        "stop_z = 0.0",
        "statarb.signal.stop_z",
        "must be > 0",
    ),
    (
        "max_hold_half_lives = 3.0",
        "max_hold_half_lives = -inf",
        "statarb.signal.max_hold_half_lives",
        "must be a finite number",
    ),
    (
        "window_half_lives = 5.0",
        "window_half_lives = 0",
        "statarb.signal.window_half_lives",
        "must be > 0",
    ),
    (
        "window_min_bars = 30",
        "window_min_bars = 1",
        "statarb.signal.window_min_bars",
        "must be >= 2, got 1",
    ),
    (
        "window_max_bars = 300",
        "window_max_bars = 1",
        "statarb.signal.window_max_bars",
        "must be >= 2, got 1",
    ),
    (
        "kelly_multiplier = 0.25",
        "kelly_multiplier = -0.5",
        "statarb.sizing.kelly_multiplier",
        "must be >= 0",
    ),
    (
        "per_pair_cap = 0.1",
        "per_pair_cap = 0",
        "statarb.sizing.per_pair_cap",
        "must be in (0, 1]",
    ),
    (
        "total_cap = 0.8",
        "total_cap = 1.01",
        "statarb.sizing.total_cap",
        "must be in (0, 1]",
    ),
    (
        "default_fraction = 0.02",
        "default_fraction = 2",
        "statarb.sizing.default_fraction",
        "must be in [0, 1], got 2",
    ),
    (
        "min_trades = 5",
        "min_trades = 0",
        "statarb.sizing.min_trades",
        "must be >= 1, got 0",
    ),
    (
        "capital_base = \"initial\"",
        "capital_base = \"peak\"",
        "statarb.sizing.capital_base",
        "expected one of \"realized\", \"initial\"",
    ),
    (
        "window_max_bars = 300",
        "window_max_bars = 300\nfoo = 1",
        "statarb.signal.foo",
        "unknown key",
    ),
    (
        "capital_base = \"initial\"",
        "capital_base = \"initial\"\nbar = true",
        "statarb.sizing.bar",
        "unknown key",
    ),
    (
        "top_k = 7",
        "top_k = 7\nbaz = 1",
        "statarb.selection.baz",
        "unknown key",
    ),
    (
        "core = 3",
        "core = 3\nmax_pairs = 4",
        "statarb.max_pairs",
        "unknown key",
    ),
];

#[test]
fn every_violation_is_reported_at_its_path() {
    for (old, new, path, fragment) in CASES {
        assert_eq!(
            FULL.matches(old).count(),
            1,
            "case text {old:?} must occur once in the section"
        );
        let text = with(&FULL.replacen(old, new, 1));
        let errors = errors_of(&text);
        assert!(
            errors
                .iter()
                .any(|(p, m)| p == path && m.contains(fragment)),
            "{old:?} -> {new:?}: expected {path}: …{fragment}…, got {errors:?}"
        );
    }
}

#[test]
fn missing_required_keys_are_each_reported() {
    let errors = errors_of(&with("[statarb]\n"));
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(
        paths,
        [
            "statarb.venue",
            "statarb.symbols",
            "statarb.interval",
            "statarb.rest_url",
            "statarb.ws_url",
            "statarb.price_digits",
            "statarb.size_digits",
            "statarb.quote_asset",
        ],
        "{errors:?}"
    );
    assert!(errors.iter().all(|(_, m)| m == "missing required key"));
    // With the scales known, capital is required too.
    let no_capital = MINIMAL.replacen("capital = \"500\"\n", "", 1);
    let errors = errors_of(&with(&no_capital));
    assert_eq!(
        errors,
        [(
            "statarb.capital".to_owned(),
            "missing required key".to_owned()
        )]
    );
}

#[test]
fn several_violations_are_reported_together() {
    let text = with(
        &FULL
            .replacen("interval = \"1m\"", "interval = \"1w\"", 1)
            .replacen("history_bars = 2000", "history_bars = 100", 1)
            .replacen("api_secret = \"env:STATARB_SECRET\"\n", "", 1)
            .replacen("key_kind = \"ed25519\"", "passphrase = \"env:P\"", 1)
            .replacen("top_k = 7", "top_k = 0", 1)
            .replacen("exit_z = 0", "exit_z = -1\nfoo = 2", 1)
            .replacen("total_cap = 0.8", "total_cap = 0", 1),
    );
    let errors = errors_of(&text);
    let paths: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    for expected in [
        "statarb.interval",
        "statarb.history_bars",
        "statarb.api_secret",
        "statarb.passphrase",
        "statarb.selection.top_k",
        "statarb.signal.exit_z",
        "statarb.signal.foo",
        "statarb.sizing.total_cap",
    ] {
        assert!(paths.contains(&expected), "{expected} missing: {errors:?}");
    }
    assert_eq!(errors.len(), 8, "{errors:?}");
}

#[test]
fn a_nested_table_must_be_a_table() {
    let text = with(&MINIMAL.replacen(
        "capital = \"500\"",
        "capital = \"500\"\nsignal = 5\nsizing = \"x\"",
        1,
    ));
    let errors = errors_of(&text);
    assert_eq!(
        errors,
        [
            (
                "statarb.signal".to_owned(),
                "expected a table, got integer".to_owned()
            ),
            (
                "statarb.sizing".to_owned(),
                "expected a table, got string".to_owned()
            ),
        ]
    );
}

#[test]
fn the_passphrase_is_allowed_for_okx() {
    let okx = MINIMAL.replacen(
        "capital = \"500\"",
        "capital = \"500\"\npassphrase = \"env:OKX_P\"",
        1,
    );
    let x = parse_str(&with(&okx)).unwrap().statarb.unwrap();
    assert_eq!(x.passphrase.as_ref().map(|p| p.name()), Some("OKX_P"));
}

/// [`MINIMAL`] (an okx section) with a key, a secret and a passphrase: what live mode needs.
pub(crate) const MINIMAL_LIVE: &str = r#"
[statarb]
venue = "okx"
symbols = ["AAA-USDT", "BBB-USDT"]
interval = "1h"
rest_url = "https://www.okx.com"
ws_url = "wss://ws.okx.com:8443/ws/v5/public"
price_digits = 2
size_digits = 6
quote_asset = "USDT"
capital = "500"
api_key = "env:OKX_KEY"
api_secret = "env:OKX_SECRET"
passphrase = "env:OKX_PASS"
"#;

/// The `[statarb]` errors of a CEX-only document in `mode` with `section`, or `Ok` if it loads.
fn cex_statarb_errors(mode: &str, section: &str) -> Result<(), Vec<(String, String)>> {
    match kestrel_config::parse_any_str(&format!("mode = \"{mode}\"\n{section}")) {
        Ok(_) => Ok(()),
        Err(errors) => Err(errors.0.into_iter().map(|e| (e.path, e.message)).collect()),
    }
}

#[test]
fn live_mode_needs_the_venue_credentials_each_reported_at_its_path() {
    let without = |keys: &[&str]| {
        keys.iter().fold(MINIMAL_LIVE.to_owned(), |text, key| {
            let line = text
                .lines()
                .find(|l| l.starts_with(&format!("{key} = ")))
                .unwrap_or_else(|| panic!("{key} not in the section"))
                .to_owned();
            text.replacen(&format!("{line}\n"), "", 1)
        })
    };
    let live = "required when mode = \"live\"";
    // (keys left out, the paths reported; every message says live mode needs them)
    let cases: [(&[&str], &[&str]); 4] = [
        (
            &["api_key", "api_secret", "passphrase"],
            &[
                "statarb.api_key",
                "statarb.api_secret",
                "statarb.passphrase",
            ],
        ),
        (
            &["api_key", "api_secret"],
            &["statarb.api_key", "statarb.api_secret"],
        ),
        (&["passphrase"], &["statarb.passphrase"]),
        (&[], &[]),
    ];
    for (left_out, paths) in cases {
        let section = without(left_out);
        let expected: Vec<&str> = paths.to_vec();
        match cex_statarb_errors("live", &section) {
            Ok(()) => assert!(expected.is_empty(), "{left_out:?}: accepted in live mode"),
            Err(errors) => {
                let got: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
                assert_eq!(got, expected, "{left_out:?}: {errors:?}");
                for (path, message) in &errors {
                    assert!(message.contains(live), "{path}: {message}");
                }
            }
        }
        // On paper the same section needs none of them.
        assert_eq!(
            cex_statarb_errors("dry-run", &section),
            Ok(()),
            "{left_out:?}"
        );
    }
    // A binance section in live mode needs the key and secret, not a passphrase.
    let binance = FULL
        .replacen("api_key = \"env:STATARB_KEY\"\n", "", 1)
        .replacen("api_secret = \"env:STATARB_SECRET\"\n", "", 1);
    let errors = cex_statarb_errors("live", &binance).unwrap_err();
    let got: Vec<&str> = errors.iter().map(|(p, _)| p.as_str()).collect();
    assert_eq!(got, ["statarb.api_key", "statarb.api_secret"], "{errors:?}");
    assert_eq!(cex_statarb_errors("live", FULL), Ok(()));
    // One of the two in live mode is the usual "together" error, once, at the other's path.
    let key_only = FULL.replacen("api_secret = \"env:STATARB_SECRET\"\n", "", 1);
    let errors = cex_statarb_errors("live", &key_only).unwrap_err();
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "statarb.api_secret");
    // A full config in live mode is held to the same rule.
    let full = with(&without(&["api_key", "api_secret"])).replacen(
        "mode = \"dry-run\"",
        "mode = \"live\"",
        1,
    );
    let statarb: Vec<String> = errors_of(&full)
        .into_iter()
        .map(|(p, _)| p)
        .filter(|p| p.starts_with("statarb"))
        .collect();
    assert_eq!(statarb, ["statarb.api_key", "statarb.api_secret"]);
}

#[test]
fn a_literal_secret_is_refused_without_its_value() {
    for key in ["api_key", "api_secret"] {
        let old = format!("{key} = \"env:STATARB_{}\"", &key[4..].to_uppercase());
        let text = with(&FULL.replacen(&old, &format!("{key} = \"hunter2-literal\""), 1));
        let errors = errors_of(&text);
        let path = format!("statarb.{key}");
        assert!(
            errors
                .iter()
                .any(|(p, m)| *p == path && m.contains("must be an env:VAR reference")),
            "{errors:?}"
        );
        for (_, message) in &errors {
            assert!(!message.contains("hunter2"), "{message}");
        }
    }
    let okx = MINIMAL.replacen(
        "capital = \"500\"",
        "capital = \"500\"\npassphrase = \"hunter2-pass\"",
        1,
    );
    let errors = errors_of(&with(&okx));
    assert_eq!(errors.len(), 1, "{errors:?}");
    assert_eq!(errors[0].0, "statarb.passphrase");
    assert!(!errors[0].1.contains("hunter2"), "{}", errors[0].1);
}

#[test]
fn the_example_config_loads() {
    let path = kestrel_stdx::paths::workspace_root().join("configs/statarb-paper.toml");
    let cfg = load_file(&path).unwrap_or_else(|e| panic!("{e}"));
    let x = cfg.statarb.expect("[statarb] present");
    assert_eq!(x.venue, Venue::Binance);
    assert_eq!(x.symbols, ["ETHUSDT", "BTCUSDT", "SOLUSDT", "BNBUSDT"]);
    assert_eq!(x.interval, Interval::H1);
    assert_eq!(x.rest_url, "https://api.binance.com");
    assert_eq!(x.ws_url, "wss://stream.binance.com:9443/ws");
    assert_eq!((x.price_scale.digits(), x.size_scale.digits()), (2, 5));
    assert_eq!(x.capital, Fixed(100_000_000_000));
    assert_eq!((x.api_key, x.api_secret), (None, None));
    assert_eq!(cfg.xarb, None);
}

proptest::proptest! {
    /// Any valid float is written so that it reads back to the same bits' value.
    #[test]
    fn floats_round_trip_exactly(
        p in 0.0f64..=1.0,
        positive in proptest::num::f64::POSITIVE.prop_filter("finite", |x| x.is_finite()),
        fraction in proptest::num::f64::POSITIVE.prop_map(|x| x.fract()).prop_filter("> 0", |x| *x > 0.0),
    ) {
        let section = MINIMAL.replacen(
            "capital = \"500\"",
            &format!(
                "capital = \"500\"\n[statarb.selection]\nmax_p_value = {p:?}\n\
                 min_half_life_bars = {positive:?}\n[statarb.sizing]\nper_pair_cap = {fraction:?}\n\
                 kelly_multiplier = {positive:?}"
            ),
            1,
        );
        let cfg = parse_str(&with(&section)).unwrap_or_else(|e| panic!("{e}\n{section}"));
        let x = cfg.statarb.as_ref().unwrap();
        proptest::prop_assert_eq!(x.selection.max_p_value, Some(p));
        proptest::prop_assert_eq!(x.selection.min_half_life_bars, Some(positive));
        proptest::prop_assert_eq!(x.sizing.per_pair_cap, Some(fraction));
        let text = to_toml_string(&cfg);
        let back = parse_str(&text);
        proptest::prop_assert_eq!(back.as_ref(), Ok(&cfg), "{}", text);
    }
}
