//! Writes a [`Config`] back as TOML that [`crate::parse_str`] reads to an equal `Config`, and a
//! [`CexConfig`] as TOML that [`crate::parse_any_str`] reads to an equal `CexConfig`.

use toml::{Table, Value};

use crate::Secret;
use crate::model::{
    BackrunConfig, CexConfig, ChainConfig, Config, DexConfig, HotConfig, JournalConfig,
    RelayConfig, RouterConfig, TelemetryConfig, V2FactoryConfig, V3FactoryConfig,
};
use kestrel_types::cex::{Fixed, Scale};

use crate::model::{StatArbConfig, XarbConfig};
use crate::parse::{
    BINANCE_KEY_KINDS, CAPITAL_BASES, FEE_ASSETS, KindName, MODES, RATE_DIGITS, RELAY_KINDS,
    ROUTER_KINDS, UR_VERSIONS, VENUES, WAITS, name_of,
};

fn s(text: impl Into<String>) -> Value {
    Value::String(text.into())
}

fn int(n: impl Into<i64>) -> Value {
    Value::Integer(n.into())
}

/// Integers wider than `i64` in the model (`u64`, `usize`) were validated into ranges that fit,
/// so the saturation here never triggers for a config that came from `parse_str`.
fn wide(n: impl TryInto<i64>) -> Value {
    Value::Integer(n.try_into().unwrap_or(i64::MAX))
}

fn table<const N: usize>(entries: [(&str, Option<Value>); N]) -> Value {
    let table: Table = entries
        .into_iter()
        .filter_map(|(k, v)| Some((k.to_owned(), v?)))
        .collect();
    Value::Table(table)
}

pub(crate) fn to_table(cfg: &Config) -> Table {
    let key = |secret: &Secret| table([("key", Some(s(format!("env:{}", secret.name()))))]);
    let entries = [
        ("mode", s(name_of(MODES, cfg.mode))),
        ("chain", chain(&cfg.chain)),
        ("dex", dex(&cfg.dex)),
        ("backrun", backrun(&cfg.backrun)),
        ("signer", key(&cfg.signer.key)),
        ("relay_auth", key(&cfg.relay_auth.key)),
        ("relays", relays(&cfg.relays)),
        ("hot", hot(&cfg.hot)),
        ("journal", journal(&cfg.journal)),
        ("telemetry", telemetry(&cfg.telemetry)),
    ];
    let mut out: Table = entries
        .into_iter()
        .map(|(k, v)| (k.to_owned(), v))
        .collect();
    insert_lanes(&mut out, cfg.xarb.as_ref(), cfg.statarb.as_ref());
    out
}

/// A CEX-only config, written with the same section writers as [`to_table`]: it has none of the
/// backrun lane's keys, so [`crate::parse_any_str`] reads it back as CEX-only.
pub(crate) fn cex_to_table(cfg: &CexConfig) -> Table {
    let mut out = Table::new();
    out.insert("mode".to_owned(), s(name_of(MODES, cfg.mode)));
    out.insert("journal".to_owned(), journal(&cfg.journal));
    out.insert("telemetry".to_owned(), telemetry(&cfg.telemetry));
    insert_lanes(&mut out, cfg.xarb.as_ref(), cfg.statarb.as_ref());
    out
}

/// `[xarb]` and `[statarb]`, each only when configured.
fn insert_lanes(out: &mut Table, x: Option<&XarbConfig>, st: Option<&StatArbConfig>) {
    if let Some(x) = x {
        out.insert("xarb".to_owned(), xarb(x));
    }
    if let Some(x) = st {
        out.insert("statarb".to_owned(), statarb(x));
    }
}

fn journal(j: &JournalConfig) -> Value {
    table([("path", Some(s(j.path.to_string_lossy())))])
}

/// Floats in the model were validated finite, which TOML writes and reads back exactly.
fn float(x: f64) -> Value {
    Value::Float(x)
}

fn statarb(x: &StatArbConfig) -> Value {
    let notional = Scale::new(x.price_scale.digits() + x.size_scale.digits())
        .unwrap_or_else(|| unreachable!("Invariant: validated to at most 18 digits"));
    let rate_scale = Scale::new(RATE_DIGITS)
        .unwrap_or_else(|| unreachable!("Invariant: a rate's digits are a scale"));
    let env = |secret: &Secret| s(format!("env:{}", secret.name()));
    let symbols = x.symbols.iter().map(|sym| s(sym.clone())).collect();
    let (sel, sig, siz) = (&x.selection, &x.signal, &x.sizing);
    let selection = table([
        ("max_p_value", sel.max_p_value.map(float)),
        ("min_half_life_bars", sel.min_half_life_bars.map(float)),
        ("max_half_life_bars", sel.max_half_life_bars.map(float)),
        ("min_zero_crossings", sel.min_zero_crossings.map(wide)),
        ("top_k", sel.top_k.map(wide)),
    ]);
    let signal = table([
        ("entry_z", sig.entry_z.map(float)),
        ("exit_z", sig.exit_z.map(float)),
        ("stop_z", sig.stop_z.map(float)),
        ("max_hold_half_lives", sig.max_hold_half_lives.map(float)),
        ("window_half_lives", sig.window_half_lives.map(float)),
        ("window_min_bars", sig.window_min_bars.map(wide)),
        ("window_max_bars", sig.window_max_bars.map(wide)),
    ]);
    let sizing = table([
        ("kelly_multiplier", siz.kelly_multiplier.map(float)),
        ("per_pair_cap", siz.per_pair_cap.map(float)),
        ("total_cap", siz.total_cap.map(float)),
        ("default_fraction", siz.default_fraction.map(float)),
        ("min_trades", siz.min_trades.map(wide)),
        (
            "capital_base",
            siz.capital_base.map(|c| s(name_of(CAPITAL_BASES, c))),
        ),
    ]);
    table([
        ("venue", Some(s(name_of(VENUES, x.venue)))),
        ("symbols", Some(Value::Array(symbols))),
        ("interval", Some(s(x.interval.name()))),
        ("rest_url", Some(s(x.rest_url.clone()))),
        ("ws_url", Some(s(x.ws_url.clone()))),
        ("price_digits", Some(int(x.price_scale.digits()))),
        ("size_digits", Some(int(x.size_scale.digits()))),
        ("quote_asset", Some(s(x.quote_asset.clone()))),
        ("capital", Some(s(x.capital.to_text(notional)))),
        (
            "taker_fee",
            Some(s(Fixed(x.taker_fee.0).to_text(rate_scale))),
        ),
        (
            "buy_fee_asset",
            Some(s(name_of(FEE_ASSETS, x.buy_fee_asset))),
        ),
        ("history_bars", Some(int(x.history_bars))),
        ("train_bars", Some(int(x.train_bars))),
        ("rescan_every_bars", Some(int(x.rescan_every_bars))),
        ("slippage_bps", Some(int(x.slippage_bps))),
        ("stale_after_ms", Some(wide(x.stale_after_ms))),
        ("poll_ms", x.poll_ms.map(wide)),
        ("core", x.core.map(wide)),
        ("api_key", x.api_key.as_ref().map(env)),
        ("api_secret", x.api_secret.as_ref().map(env)),
        ("passphrase", x.passphrase.as_ref().map(env)),
        (
            "key_kind",
            (x.venue == kestrel_types::cex::Venue::Binance)
                .then(|| s(name_of(BINANCE_KEY_KINDS, x.key_kind))),
        ),
        ("selection", Some(selection)),
        ("signal", Some(signal)),
        ("sizing", Some(sizing)),
    ])
}

fn xarb(x: &XarbConfig) -> Value {
    let notional = Scale::new(x.price_scale.digits() + x.size_scale.digits())
        .unwrap_or_else(|| unreachable!("Invariant: validated to at most 18 digits"));
    let size = |v: Fixed| Some(s(v.to_text(x.size_scale)));
    let quote = |v: Fixed| Some(s(v.to_text(notional)));
    let env = |secret: &Secret| s(format!("env:{}", secret.name()));
    let venues = x.venues.iter().map(|v| {
        table([
            ("venue", Some(s(name_of(VENUES, v.venue)))),
            ("symbol", Some(s(v.symbol.clone()))),
            ("base_asset", Some(s(v.base_asset.clone()))),
            ("quote_asset", Some(s(v.quote_asset.clone()))),
            ("ws_url", Some(s(v.ws_url.clone()))),
            ("rest_url", Some(s(v.rest_url.clone()))),
            ("api_key", Some(env(&v.api_key))),
            ("api_secret", Some(env(&v.api_secret))),
            ("passphrase", v.passphrase.as_ref().map(env)),
            (
                "key_kind",
                (v.venue == kestrel_types::cex::Venue::Binance)
                    .then(|| s(name_of(BINANCE_KEY_KINDS, v.key_kind))),
            ),
            (
                "buy_fee_asset",
                Some(s(name_of(FEE_ASSETS, v.buy_fee_asset))),
            ),
            ("requests_per_second", Some(int(v.requests_per_second))),
            ("burst", Some(int(v.burst))),
        ])
    });
    table([
        ("base", Some(s(x.base.clone()))),
        ("quote", Some(s(x.quote.clone()))),
        ("price_digits", Some(int(x.price_scale.digits()))),
        ("size_digits", Some(int(x.size_scale.digits()))),
        ("max_size", size(x.max_size)),
        ("min_profit", quote(x.min_profit)),
        ("safety_margin_bps", Some(int(x.safety_margin_bps))),
        ("transfer_cost", quote(x.transfer_cost)),
        (
            "inventory_cycle",
            (!x.inventory_cycle.is_zero()).then(|| s(x.inventory_cycle.to_text(x.size_scale))),
        ),
        ("max_drawdown", quote(x.max_drawdown)),
        ("max_imbalance", size(x.max_imbalance)),
        ("max_orders_per_minute", Some(int(x.max_orders_per_minute))),
        ("unwind_slippage_bps", Some(int(x.unwind_slippage_bps))),
        ("stale_after_ms", Some(wide(x.stale_after_ms))),
        ("core", x.core.map(wide)),
        ("venues", Some(Value::Array(venues.collect()))),
    ])
}

fn chain(c: &ChainConfig) -> Value {
    table([
        ("chain_id", Some(wide(c.chain_id.0))),
        ("ws_url", c.ws_url.clone().map(s)),
        ("http_url", Some(s(c.http_url.clone()))),
        (
            "ipc_path",
            c.ipc_path.as_ref().map(|p| s(p.to_string_lossy())),
        ),
    ])
}

fn dex(d: &DexConfig) -> Value {
    let tables = |values: Vec<Value>| Some(Value::Array(values));
    table([
        (
            "v2_factories",
            tables(d.v2_factories.iter().map(v2_factory).collect()),
        ),
        (
            "v3_factories",
            tables(d.v3_factories.iter().map(v3_factory).collect()),
        ),
        ("routers", tables(d.routers.iter().map(router).collect())),
        ("max_pairs_per_factory", Some(int(d.max_pairs_per_factory))),
        (
            "max_v3_pools_per_factory",
            Some(int(d.max_v3_pools_per_factory)),
        ),
    ])
}

fn v2_factory(f: &V2FactoryConfig) -> Value {
    table([
        ("name", Some(s(f.name.clone()))),
        ("factory", Some(s(f.factory.to_checksum(None)))),
        ("router", Some(s(f.router.to_checksum(None)))),
        ("init_code_hash", Some(s(f.init_code_hash.to_string()))),
        ("fee_numerator", Some(int(f.fee_numerator))),
    ])
}

fn v3_factory(f: &V3FactoryConfig) -> Value {
    let tiers = f.fee_tiers.iter().map(|&t| int(t)).collect();
    table([
        ("name", Some(s(f.name.clone()))),
        ("factory", Some(s(f.factory.to_checksum(None)))),
        ("fee_tiers", Some(Value::Array(tiers))),
        (
            "pool_init_code_hash",
            Some(s(f.pool_init_code_hash.to_string())),
        ),
    ])
}

fn router(r: &RouterConfig) -> Value {
    let (kind, version) = KindName::of(r.kind);
    table([
        ("name", Some(s(r.name.clone()))),
        ("address", Some(s(r.address.to_checksum(None)))),
        ("kind", Some(s(name_of(ROUTER_KINDS, kind)))),
        ("version", version.map(|v| s(name_of(UR_VERSIONS, v)))),
        ("v2_factory", r.v2_factory.clone().map(s)),
        ("v3_factory", r.v3_factory.clone().map(s)),
    ])
}

fn relays(relays: &[RelayConfig]) -> Value {
    let relays = relays.iter().map(|r| {
        table([
            ("name", Some(s(r.name.clone()))),
            ("url", Some(s(r.url.clone()))),
            ("kind", Some(s(name_of(RELAY_KINDS, r.kind)))),
        ])
    });
    Value::Array(relays.collect())
}

fn hot(h: &HotConfig) -> Value {
    table([
        ("core", h.core.map(wide)),
        ("wait", Some(s(name_of(WAITS, h.wait)))),
        ("ring_capacity", Some(wide(h.ring_capacity))),
    ])
}

fn telemetry(t: &TelemetryConfig) -> Value {
    table([
        ("metrics_addr", t.metrics_addr.map(|a| s(a.to_string()))),
        ("log", Some(s(t.log.clone()))),
    ])
}

fn backrun(b: &BackrunConfig) -> Value {
    let tokens = b
        .fee_on_transfer_tokens
        .iter()
        .map(|a| s(a.to_checksum(None)))
        .collect();
    table([
        ("weth", Some(s(b.weth.to_checksum(None)))),
        ("executor", b.executor.map(|a| s(a.to_checksum(None)))),
        ("min_profit_wei", Some(s(b.min_profit_wei.to_string()))),
        ("gas_estimate", Some(wide(b.gas_estimate))),
        ("route_gas_estimate", Some(wide(b.route_gas_estimate))),
        ("confirm_routes", Some(Value::Boolean(b.confirm_routes))),
        ("confirm_v2", Some(Value::Boolean(b.confirm_v2))),
        (
            "simulate_undecoded",
            Some(Value::Boolean(b.simulate_undecoded)),
        ),
        ("priority_fee_wei", Some(s(b.priority_fee_wei.to_string()))),
        ("builder_payment_bps", Some(int(b.builder_payment_bps))),
        ("max_hops", Some(int(b.max_hops))),
        ("ladder_levels", Some(int(b.ladder_levels))),
        ("ladder_step_bps", Some(int(b.ladder_step_bps))),
        ("fee_on_transfer_tokens", Some(Value::Array(tokens))),
        ("max_calldata_bytes", Some(int(b.max_calldata_bytes))),
    ])
}
