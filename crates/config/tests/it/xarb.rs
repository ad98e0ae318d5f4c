//! `[xarb]`: the cross-exchange lane's section, read exactly and every violation reported.

use kestrel_config::{BinanceKeyKind, parse_str, to_toml_string};
use kestrel_types::cex::{FeeAsset, Fixed, Venue};

use crate::{VALID, errors_of};

pub(crate) const XARB: &str = r#"
[xarb]
base = "BTC"
quote = "USDT"
price_digits = 2
size_digits = 6
max_size = "0.05"
min_profit = "1.5"
transfer_cost = "12"
inventory_cycle = "0.5"
max_drawdown = "250"
max_imbalance = "0.1"

[[xarb.venues]]
venue = "binance"
symbol = "BTCUSDT"
base_asset = "BTC"
quote_asset = "USDT"
ws_url = "ws://127.0.0.1:9001/ws"
rest_url = "http://127.0.0.1:9001"
api_key = "env:BINANCE_API_KEY"
api_secret = "env:BINANCE_API_SECRET"

[[xarb.venues]]
venue = "okx"
symbol = "BTC-USDT"
base_asset = "BTC"
quote_asset = "USDT"
ws_url = "ws://127.0.0.1:9002/ws/v5/public"
rest_url = "http://127.0.0.1:9002"
api_key = "env:OKX_API_KEY"
api_secret = "env:OKX_API_SECRET"
passphrase = "env:OKX_PASSPHRASE"
requests_per_second = 20
burst = 40
"#;

fn with_xarb(xarb: &str) -> String {
    format!("{VALID}\n{xarb}")
}

#[test]
fn a_valid_section_is_read_exactly_with_its_defaults() {
    let cfg = parse_str(&with_xarb(XARB)).unwrap();
    let x = cfg.xarb.expect("[xarb] present");
    assert_eq!((x.base.as_str(), x.quote.as_str()), ("BTC", "USDT"));
    assert_eq!((x.price_scale.digits(), x.size_scale.digits()), (2, 6));
    // Sizes at 6 digits; quote amounts at price + size digits (8).
    assert_eq!(x.max_size, Fixed(50_000));
    assert_eq!(x.min_profit, Fixed(150_000_000));
    assert_eq!(x.transfer_cost, Fixed(1_200_000_000));
    assert_eq!(x.inventory_cycle, Fixed(500_000));
    assert_eq!(x.max_drawdown, Fixed(25_000_000_000));
    assert_eq!(x.max_imbalance, Fixed(100_000));
    assert_eq!(
        (
            x.safety_margin_bps,
            x.max_orders_per_minute,
            x.unwind_slippage_bps
        ),
        (1, 120, 50)
    );
    assert_eq!((x.stale_after_ms, x.core), (5_000, None));
    assert_eq!(x.venues.len(), 2);
    let (b, o) = (&x.venues[0], &x.venues[1]);
    assert_eq!((b.venue, o.venue), (Venue::Binance, Venue::Okx));
    assert_eq!(b.key_kind, BinanceKeyKind::Hmac);
    assert_eq!(b.buy_fee_asset, FeeAsset::Base);
    assert_eq!((b.requests_per_second, b.burst), (5, 10));
    assert_eq!((o.requests_per_second, o.burst), (20, 40));
    assert_eq!(
        o.passphrase.as_ref().map(|p| p.name()),
        Some("OKX_PASSPHRASE")
    );
    assert_eq!(b.api_secret.name(), "BINANCE_API_SECRET");
}

#[test]
fn the_section_round_trips_and_is_optional() {
    let cfg = parse_str(&with_xarb(XARB)).unwrap();
    let text = to_toml_string(&cfg);
    assert_eq!(parse_str(&text).as_ref(), Ok(&cfg), "{text}");
    // Written back, secrets are still references, never values.
    assert!(text.contains("\"env:BINANCE_API_SECRET\""), "{text}");
    assert_eq!(parse_str(VALID).unwrap().xarb, None);
}

/// (old text, new text, expected path, a fragment the message must contain)
const CASES: &[(&str, &str, &str, &str)] = &[
    (
        "max_size = \"0.05\"",
        "max_size = \"0.0000001\"",
        "xarb.max_size",
        "at most 6 fraction digits",
    ),
    (
        "min_profit = \"1.5\"",
        "min_profit = 1.5",
        "xarb.min_profit",
        "expected a string",
    ),
    (
        "size_digits = 6",
        "size_digits = 17",
        "xarb.size_digits",
        "at most 18",
    ),
    (
        "inventory_cycle = \"0.5\"",
        "",
        "xarb.inventory_cycle",
        "required when transfer_cost is not zero",
    ),
    (
        "venue = \"okx\"",
        "venue = \"binance\"",
        "xarb.venues[1].venue",
        "duplicate venue",
    ),
    (
        "venue = \"okx\"",
        "venue = \"ftx\"",
        "xarb.venues[1].venue",
        "expected one of \"binance\"",
    ),
    (
        "passphrase = \"env:OKX_PASSPHRASE\"",
        "",
        "xarb.venues[1].passphrase",
        "required for okx",
    ),
    (
        "api_secret = \"env:BINANCE_API_SECRET\"",
        "api_secret = \"hunter2-literal-secret\"",
        "xarb.venues[0].api_secret",
        "must be an env:VAR reference",
    ),
    (
        "api_secret = \"env:BINANCE_API_SECRET\"",
        "api_secret = \"env:BINANCE_API_KEY\"",
        "xarb.venues[0].api_secret",
        "different variable than api_key",
    ),
    (
        "ws_url = \"ws://127.0.0.1:9001/ws\"",
        "ws_url = \"https://stream.binance.com:9443/ws\"",
        "xarb.venues[0].ws_url",
        "a ws:// or wss:// URL",
    ),
    (
        "rest_url = \"http://127.0.0.1:9001\"",
        "rest_url = \"ftp://api.binance.com\"",
        "xarb.venues[0].rest_url",
        "an http:// or https:// URL",
    ),
    (
        "burst = 40",
        "burst = 0",
        "xarb.venues[1].burst",
        "must be in 1..=1000",
    ),
    (
        "burst = 40",
        "burst = 40\nkey_kind = \"ed25519\"",
        "xarb.venues[1].key_kind",
        "only binance keys",
    ),
    (
        "max_imbalance = \"0.1\"",
        "max_imbalance = \"0.1\"\nmax_inventory = 3",
        "xarb.max_inventory",
        "unknown key",
    ),
];

#[test]
fn every_violation_is_reported_at_its_path() {
    for (old, new, path, fragment) in CASES {
        assert!(XARB.contains(old), "case text {old:?} not in the section");
        let text = with_xarb(&XARB.replacen(old, new, 1));
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
fn a_literal_secret_never_reaches_the_message() {
    let text = with_xarb(&XARB.replacen(
        "api_secret = \"env:BINANCE_API_SECRET\"",
        "api_secret = \"hunter2-literal-secret\"",
        1,
    ));
    let errors = errors_of(&text);
    assert!(!errors.is_empty());
    for (_, message) in errors {
        assert!(!message.contains("hunter2"), "{message}");
    }
}

#[test]
fn one_venue_is_not_enough() {
    let first_venue_end = XARB.find("[[xarb.venues]]\nvenue = \"okx\"").unwrap();
    let errors = errors_of(&with_xarb(&XARB[..first_venue_end]));
    assert!(
        errors
            .iter()
            .any(|(p, m)| p == "xarb.venues" && m.contains("two to five")),
        "{errors:?}"
    );
}

#[test]
fn the_fee_asset_default_follows_the_venue_and_can_be_overridden() {
    let text = with_xarb(
        &XARB
            .replacen("venue = \"okx\"", "venue = \"kraken\"", 1)
            .replacen("passphrase = \"env:OKX_PASSPHRASE\"\n", "", 1),
    );
    let x = parse_str(&text).unwrap().xarb.unwrap();
    assert_eq!(x.venues[1].buy_fee_asset, FeeAsset::Quote);
    let text = with_xarb(&XARB.replacen(
        "api_secret = \"env:BINANCE_API_SECRET\"",
        "api_secret = \"env:BINANCE_API_SECRET\"\nbuy_fee_asset = \"quote\"\nkey_kind = \"ed25519\"",
        1,
    ));
    let x = parse_str(&text).unwrap().xarb.unwrap();
    assert_eq!(x.venues[0].buy_fee_asset, FeeAsset::Quote);
    assert_eq!(x.venues[0].key_kind, BinanceKeyKind::Ed25519);
}
