//! The stat-arb lane as `kestrel run` starts it from `[statarb]`: the config turned into the
//! lane's spec (every rule of the strategy checked, each violation named by its key path),
//! credentials read before anything starts, trades the journal holds open from runs of the same
//! mode taken over, and the lane polling on its own thread with every event journaled.
//!
//! Dry-run fills on paper against the live books and needs no credentials; only live mode (the
//! config's `mode = "live"` and `--live`) sends orders, and needs `api_key` and `api_secret`.

use anyhow::Context as _;
use kestrel_config::{StatArbCapitalBase, StatArbConfig};
use kestrel_store::{JournalHandle, StatArbOpenTrade};
use kestrel_strategies::statarb::{
    BacktestConfig, CapitalBase, SelectionConfig, SignalConfig, SizingConfig, StatArbError,
};
use kestrel_types::Mode;
use kestrel_venues::orders::Scales;

use crate::statarb_lane::{
    LaneJournal, LiveOrders, StatArbLane, StatArbOrders, StatArbRun, StatArbSpec, feeds,
};
use crate::xarb_run::VenueSecrets;

/// The lane's spec from `[statarb]`; every broken rule of the strategy is reported at once, by
/// its key path under `statarb.`.
pub fn spec(cfg: &StatArbConfig) -> anyhow::Result<StatArbSpec> {
    let mut selection = SelectionConfig::default();
    let s = &cfg.selection;
    set(&mut selection.max_p_value, s.max_p_value);
    set(&mut selection.min_half_life_bars, s.min_half_life_bars);
    set(&mut selection.max_half_life_bars, s.max_half_life_bars);
    set(&mut selection.min_zero_crossings, s.min_zero_crossings);
    set(&mut selection.top_k, s.top_k);
    let mut signal = SignalConfig::default();
    let g = &cfg.signal;
    set(&mut signal.entry_z, g.entry_z);
    set(&mut signal.exit_z, g.exit_z);
    set(&mut signal.stop_z, g.stop_z);
    set(&mut signal.max_hold_half_lives, g.max_hold_half_lives);
    set(&mut signal.window.half_lives, g.window_half_lives);
    set(&mut signal.window.min_bars, g.window_min_bars);
    set(&mut signal.window.max_bars, g.window_max_bars);
    let mut sizing = SizingConfig::default();
    let z = &cfg.sizing;
    set(&mut sizing.kelly_multiplier, z.kelly_multiplier);
    set(&mut sizing.per_pair_cap, z.per_pair_cap);
    set(&mut sizing.total_cap, z.total_cap);
    set(&mut sizing.default_fraction, z.default_fraction);
    set(&mut sizing.min_trades, z.min_trades);
    if let Some(base) = z.capital_base {
        sizing.capital_base = match base {
            StatArbCapitalBase::Realized => CapitalBase::Realized,
            StatArbCapitalBase::Initial => CapitalBase::Initial,
        };
    }
    let check = BacktestConfig {
        train_bars: cfg.train_bars as usize,
        test_bars: cfg.rescan_every_bars as usize,
        selection,
        signal,
        sizing,
        ..BacktestConfig::default()
    };
    if let Err(e) = check.validate() {
        return Err(match e {
            StatArbError::InvalidConfig { problems } => {
                let list: Vec<String> = problems
                    .iter()
                    .map(|p| format!("statarb.{}: {}", config_key(p.key), p.rule))
                    .collect();
                anyhow::anyhow!("[statarb] breaks the strategy's rules: {}", list.join("; "))
            }
            other => anyhow::anyhow!("[statarb]: {other}"),
        });
    }
    let base_assets = cfg
        .symbols
        .iter()
        .map(|s| {
            base_asset(s, &cfg.quote_asset).with_context(|| {
                format!(
                    "statarb.symbols: {s:?} does not end in the quote asset {:?}",
                    cfg.quote_asset
                )
            })
        })
        .collect::<anyhow::Result<Vec<String>>>()?;
    Ok(StatArbSpec {
        venue: cfg.venue,
        rest_url: cfg.rest_url.clone(),
        ws_url: cfg.ws_url.clone(),
        symbols: cfg.symbols.clone(),
        base_assets,
        quote_asset: cfg.quote_asset.clone(),
        interval: cfg.interval,
        scales: Scales {
            price: cfg.price_scale,
            size: cfg.size_scale,
        },
        taker_fee: cfg.taker_fee,
        buy_fee_asset: cfg.buy_fee_asset,
        capital_units: i128::from(cfg.capital.0),
        history_bars: cfg.history_bars as usize,
        train_bars: cfg.train_bars as usize,
        rescan_every_bars: cfg.rescan_every_bars as usize,
        slippage_bps: cfg.slippage_bps,
        stale_after_ms: cfg.stale_after_ms,
        selection,
        signal,
        sizing,
    })
}

fn set<T>(field: &mut T, value: Option<T>) {
    if let Some(v) = value {
        *field = v;
    }
}

/// The config key of a strategy rule's key path.
fn config_key(key: &str) -> String {
    match key {
        "test_bars" => "rescan_every_bars".to_owned(),
        "taker_fee_bps" => "taker_fee".to_owned(),
        "initial_capital" => "capital".to_owned(),
        k => k.replace("window.", "window_"),
    }
}

/// The base asset of `symbol` quoted in `quote`: the symbol less the quote and any separator
/// (`ETHUSDT`, `ETH-USDT`, `ETH/USD` → `ETH`).
pub fn base_asset(symbol: &str, quote: &str) -> Option<String> {
    let base = symbol.strip_suffix(quote)?;
    let base = base.trim_end_matches(['-', '/', '_']);
    (!base.is_empty()).then(|| base.to_owned())
}

/// Reads the account's `env:` credentials when the section names them; the first missing
/// variable is the error (named, never its value).
pub fn resolve_secrets(cfg: &StatArbConfig) -> anyhow::Result<Option<VenueSecrets>> {
    let (Some(key), Some(secret)) = (&cfg.api_key, &cfg.api_secret) else {
        return Ok(None);
    };
    let read = |s: &kestrel_config::Secret| {
        s.resolve()
            .map(|v| kestrel_venues::auth::ApiSecret::new(v.expose()))
            .map_err(|e| anyhow::anyhow!("statarb: {e}"))
    };
    Ok(Some(VenueSecrets {
        api_key: read(key)?,
        api_secret: read(secret)?,
        passphrase: cfg.passphrase.as_ref().map(read).transpose()?,
    }))
}

/// The open trades of `open` that a lane in `mode` may take over: those of runs journaled in
/// the same mode (paper positions are not the venue's, and the other way round).
pub fn restorable(
    reader: &kestrel_store::Reader,
    open: Vec<StatArbOpenTrade>,
    mode: Mode,
) -> anyhow::Result<Vec<StatArbOpenTrade>> {
    // The journal's own spelling of the mode, as every writer of `runs.mode` uses it.
    let want = kestrel_store::mode_key(mode);
    let mut keep = Vec::with_capacity(open.len());
    for t in open {
        let run = reader.run(&t.run_id)?;
        if run.and_then(|r| r.mode).as_deref() == Some(want) {
            keep.push(t);
        } else {
            tracing::warn!(
                run_id = %t.run_id, trade_id = t.trade_id,
                "stat-arb: an open trade of a run in another mode is left alone"
            );
        }
    }
    Ok(keep)
}

/// Builds the lane: history, rules and (live) fees and balances are asked for now.
pub fn build_lane(
    cfg: &StatArbConfig,
    secrets: Option<&VenueSecrets>,
    mode: Mode,
    restored: &[StatArbOpenTrade],
) -> anyhow::Result<StatArbLane> {
    let spec = spec(cfg)?;
    let orders = match mode {
        Mode::DryRun => StatArbOrders::Paper,
        Mode::Live => {
            let secrets = secrets.context(
                "statarb: live mode sends orders and needs api_key and api_secret (env:VAR)",
            )?;
            let host = kestrel_hot::net::Endpoint::parse(&cfg.rest_url)
                .map(|e| e.authority())
                .map_err(|e| anyhow::anyhow!("statarb.rest_url {:?}: {e}", cfg.rest_url))?;
            let writer = crate::xarb_run::writer(cfg.venue, cfg.key_kind, secrets, &host)?;
            StatArbOrders::Live(LiveOrders::new(writer, &cfg.rest_url))
        }
    };
    let feeds = feeds(&spec)?;
    StatArbLane::start(spec, feeds, orders, restored)
}

/// How often a lane with `cfg`'s bars polls: `poll_ms` when set, else a twentieth of a bar,
/// between 1 s and 10 s.
pub fn poll_ms(cfg: &StatArbConfig) -> u64 {
    cfg.poll_ms
        .unwrap_or_else(|| (cfg.interval.ms() / 20).clamp(1_000, 10_000))
}

/// Builds the lane from `[statarb]` (taking over the journal's open trades of the same mode)
/// and starts its thread, journaling to `journal` under `run_id`.
pub fn start(
    cfg: &StatArbConfig,
    secrets: Option<&VenueSecrets>,
    mode: Mode,
    journal_path: &std::path::Path,
    journal: JournalHandle,
    run_id: String,
) -> anyhow::Result<StatArbRun> {
    let reader = kestrel_store::open_readonly(journal_path)
        .with_context(|| format!("reading {}", journal_path.display()))?;
    let open = reader.statarb_open_trades()?;
    let restored = restorable(&reader, open, mode)?;
    let lane = build_lane(cfg, secrets, mode, &restored)?;
    StatArbRun::start(
        lane,
        poll_ms(cfg),
        cfg.core,
        Some(LaneJournal { journal, run_id }),
        Box::new(|| {}),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn base_assets_are_the_symbol_less_its_quote() {
        assert_eq!(base_asset("ETHUSDT", "USDT").as_deref(), Some("ETH"));
        assert_eq!(base_asset("ETH-USDT", "USDT").as_deref(), Some("ETH"));
        assert_eq!(base_asset("XBT/USD", "USD").as_deref(), Some("XBT"));
        assert_eq!(base_asset("USDT", "USDT"), None);
        assert_eq!(base_asset("ETHBTC", "USDT"), None);
    }

    #[test]
    fn strategy_keys_map_to_config_keys() {
        assert_eq!(
            config_key("signal.window.min_bars"),
            "signal.window_min_bars"
        );
        assert_eq!(config_key("test_bars"), "rescan_every_bars");
        assert_eq!(config_key("sizing.total_cap"), "sizing.total_cap");
    }
}
