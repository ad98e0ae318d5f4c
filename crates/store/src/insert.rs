//! One `INSERT` per record kind, run by the writer inside its batch transaction.

use kestrel_types::cex::{Candle, Interval, Scale, Venue};
use kestrel_types::{BundleEvent, CandidateEvent, DisagreementEvent, Stage};
use rusqlite::{Connection, params};

use crate::codec::{address_text, amount_text, hash_text};
use crate::record::{Record, StatArbRecord, XarbRecord, mode_key};

// Runs are upserts, so a run's row is whole whichever of start and end is written first.
const RUN_STARTED_SQL: &str =
    "INSERT INTO runs (run_id, mode, config_toml, started_unix_ms) VALUES (?1, ?2, ?3, ?4)
    ON CONFLICT(run_id) DO UPDATE SET mode = excluded.mode,
    config_toml = excluded.config_toml, started_unix_ms = excluded.started_unix_ms";
const RUN_ENDED_SQL: &str =
    "INSERT INTO runs (run_id, ended_unix_ms, summary_json) VALUES (?1, ?2, ?3)
    ON CONFLICT(run_id) DO UPDATE SET ended_unix_ms = excluded.ended_unix_ms,
    summary_json = excluded.summary_json";
const SKIP_SQL: &str =
    "INSERT INTO skips (run_id, tx_hash, reason, recv_ns, decode_ns, filter_ns, decide_ns)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";
// A bar fetched again replaces the journaled one: the last fetch is the venue's latest word.
const CANDLE_SQL: &str =
    "INSERT INTO candles (venue, symbol, interval, open_ms, open, high, low, close, volume, run_id)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10)
    ON CONFLICT(venue, symbol, interval, open_ms) DO UPDATE SET open = excluded.open,
    high = excluded.high, low = excluded.low, close = excluded.close,
    volume = excluded.volume, run_id = excluded.run_id";
const OUTCOME_SQL: &str =
    "INSERT INTO outcomes (run_id, backrun_hash, block, landed, realized_profit_wei,
    predicted_profit_wei, note) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// Writes one record. Statements are cached on the connection, so a batch parses each once.
pub(crate) fn insert(conn: &Connection, rec: &Record) -> rusqlite::Result<()> {
    match rec {
        Record::RunStarted {
            run_id,
            mode,
            config_toml,
            started_unix_ms,
        } => {
            conn.prepare_cached(RUN_STARTED_SQL)?.execute(params![
                run_id,
                mode_key(*mode),
                config_toml,
                started_unix_ms
            ])?;
        }
        Record::RunEnded {
            run_id,
            ended_unix_ms,
            summary_json,
        } => {
            conn.prepare_cached(RUN_ENDED_SQL)?.execute(params![
                run_id,
                ended_unix_ms,
                summary_json
            ])?;
        }
        Record::Skip {
            run_id,
            tx_hash,
            reason,
            recv_ns,
            decode_ns,
            filter_ns,
            decide_ns,
        } => {
            conn.prepare_cached(SKIP_SQL)?.execute(params![
                run_id,
                hash_text(tx_hash),
                reason.as_str(),
                recv_ns,
                decode_ns,
                filter_ns,
                decide_ns
            ])?;
        }
        Record::Candidate { run_id, ev } => insert_candidate(conn, run_id, ev)?,
        Record::Xarb {
            run_id,
            unix_ms,
            ev,
        } => insert_xarb(conn, run_id, *unix_ms, ev)?,
        Record::StatArb {
            run_id,
            unix_ms,
            ev,
        } => insert_statarb(conn, run_id, *unix_ms, ev)?,
        Record::Candles {
            run_id,
            venue,
            symbol,
            interval,
            price_scale,
            size_scale,
            candles,
        } => {
            let series = Series {
                venue: *venue,
                symbol,
                interval: *interval,
                price_scale: *price_scale,
                size_scale: *size_scale,
            };
            insert_candles(conn, run_id, &series, candles)?;
        }
        Record::Bundle { run_id, ev, body } => insert_bundle(conn, run_id, ev, body.as_deref())?,
        Record::Disagreement { run_id, ev } => insert_disagreement(conn, run_id, ev)?,
        Record::RelayAnswer {
            run_id,
            victim,
            relay,
            method,
            http_status,
            ok,
            bundle_hash,
            detail,
        } => {
            conn.prepare_cached(
                "INSERT INTO relay_answers (run_id, victim, relay, method, http_status, ok,
                     bundle_hash, detail) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                run_id,
                hash_text(victim),
                relay,
                method,
                http_status,
                ok,
                bundle_hash.as_ref().map(hash_text),
                detail
            ])?;
        }
        Record::Outcome {
            run_id,
            backrun_hash,
            block,
            landed,
            realized_profit_wei,
            predicted_profit_wei,
            note,
        } => {
            conn.prepare_cached(OUTCOME_SQL)?.execute(params![
                run_id,
                hash_text(backrun_hash),
                block,
                landed,
                realized_profit_wei.as_ref().map(amount_text),
                amount_text(predicted_profit_wei),
                note
            ])?;
        }
    }
    Ok(())
}

fn insert_candidate(conn: &Connection, run_id: &str, ev: &CandidateEvent) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO candidates (run_id, tx_hash, block, pool_buy, pool_sell, amount_in,
             profit_gross, profit_net, gas_cost_wei, route_kind, decode_path, hops, pool_mid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13)",
    )?
    .execute(params![
        run_id,
        hash_text(&ev.tx_hash),
        ev.block,
        address_text(&ev.pool_buy),
        address_text(&ev.pool_sell),
        amount_text(&ev.amount_in),
        amount_text(&ev.profit_gross),
        amount_text(&ev.profit_net),
        amount_text(&ev.gas_cost_wei),
        ev.route_kind.as_str(),
        ev.decode_path.as_str(),
        ev.hops,
        address_text(&ev.pool_mid)
    ])?;
    Ok(())
}

fn insert_disagreement(
    conn: &Connection,
    run_id: &str,
    ev: &DisagreementEvent,
) -> rusqlite::Result<()> {
    conn.prepare_cached(
        "INSERT INTO sim_disagreements (run_id, tx_hash, block, route_kind, decode_path,
             predicted_gross_wei, simulated_gross_wei, outcome, gas_used)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9)",
    )?
    .execute(params![
        run_id,
        hash_text(&ev.tx_hash),
        ev.block,
        ev.route_kind.as_str(),
        ev.decode_path.as_str(),
        amount_text(&ev.predicted_gross),
        amount_text(&ev.simulated_gross),
        ev.outcome.as_str(),
        ev.gas_used
    ])?;
    Ok(())
}

fn insert_bundle(
    conn: &Connection,
    run_id: &str,
    ev: &BundleEvent,
    body: Option<&str>,
) -> rusqlite::Result<()> {
    let c = &ev.candidate;
    let s = &ev.stamps;
    let [decode_end, filter_end, decide_end, build_end, write_end] = s.stage_end_ns;
    // Raw stamps keep the event exact; the derived durations are for SQL reports.
    conn.prepare_cached(
        "INSERT INTO bundles (run_id, tx_hash, block, pool_buy, pool_sell, amount_in, profit_gross,
             profit_net, gas_cost_wei, backrun_hash, floor, nonce, relays_written, recv_ns,
             decode_end_ns, filter_end_ns, decide_end_ns, build_end_ns, write_end_ns,
             decode_ns, filter_ns, decide_ns, build_ns, write_ns, decision_ns, end_to_end_ns, body,
             route_kind, decode_path, hops, pool_mid)
         VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18,
             ?19, ?20, ?21, ?22, ?23, ?24, ?25, ?26, ?27, ?28, ?29, ?30, ?31)",
    )?
    .execute(params![
        run_id,
        hash_text(&c.tx_hash),
        c.block,
        address_text(&c.pool_buy),
        address_text(&c.pool_sell),
        amount_text(&c.amount_in),
        amount_text(&c.profit_gross),
        amount_text(&c.profit_net),
        amount_text(&c.gas_cost_wei),
        hash_text(&ev.backrun_hash),
        amount_text(&ev.floor),
        ev.nonce,
        ev.relays_written,
        s.recv_ns,
        decode_end,
        filter_end,
        decide_end,
        build_end,
        write_end,
        s.stage_ns(Stage::Decode),
        s.stage_ns(Stage::Filter),
        s.stage_ns(Stage::Decide),
        s.stage_ns(Stage::Build),
        s.stage_ns(Stage::Write),
        s.decision_ns(),
        s.end_to_end_ns(),
        body,
        c.route_kind.as_str(),
        c.decode_path.as_str(),
        c.hops,
        address_text(&c.pool_mid)
    ])?;
    Ok(())
}

fn insert_xarb(
    conn: &Connection,
    run_id: &str,
    unix_ms: u64,
    ev: &XarbRecord,
) -> rusqlite::Result<()> {
    match ev {
        XarbRecord::Trade {
            trade_id,
            buy_venue,
            sell_venue,
            size_units,
            expected_net_units,
        } => {
            conn.prepare_cached(
                "INSERT INTO xarb_trades (run_id, trade_id, buy_venue, sell_venue, size_units,
                     expected_net_units, unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                run_id,
                trade_id,
                buy_venue,
                sell_venue,
                size_units.to_string(),
                expected_net_units.to_string(),
                unix_ms
            ])?;
        }
        XarbRecord::Order {
            trade_id,
            role,
            venue,
            side,
            size_units,
            limit_units,
        } => {
            conn.prepare_cached(
                "INSERT INTO xarb_orders (run_id, trade_id, role, venue, side, size_units,
                     limit_units, unix_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)",
            )?
            .execute(params![
                run_id,
                trade_id,
                role,
                venue,
                side,
                size_units.to_string(),
                limit_units.to_string(),
                unix_ms
            ])?;
        }
        XarbRecord::Fill {
            trade_id,
            role,
            venue,
            size_units,
            notional_units,
            fee_quote_units,
            fee_base_units,
            fee_other_units,
            error,
        } => {
            conn.prepare_cached(
                "INSERT INTO xarb_fills (run_id, trade_id, role, venue, size_units, notional_units,
                     fee_quote_units, fee_base_units, fee_other_units, error, unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)",
            )?
            .execute(params![
                run_id,
                trade_id,
                role,
                venue,
                size_units.to_string(),
                notional_units.to_string(),
                fee_quote_units.to_string(),
                fee_base_units.to_string(),
                fee_other_units.to_string(),
                error,
                unix_ms
            ])?;
        }
        XarbRecord::Closed {
            trade_id,
            pnl_units,
            hedged,
            open_base_units,
        } => {
            conn.prepare_cached(
                "INSERT INTO xarb_closes (run_id, trade_id, pnl_units, hedged, unix_ms,
                     open_base_units)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6)",
            )?
            .execute(params![
                run_id,
                trade_id,
                pnl_units.to_string(),
                hedged,
                unix_ms,
                open_base_units.to_string()
            ])?;
        }
        XarbRecord::Position {
            leg,
            venue,
            base_units,
            quote_units,
            fee_funds_units,
        } => {
            conn.prepare_cached(
                "INSERT INTO xarb_positions
                     (run_id, leg, venue, base_units, quote_units, fee_funds_units, unix_ms)
                 VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
            )?
            .execute(params![
                run_id,
                leg,
                venue,
                base_units.to_string(),
                quote_units.to_string(),
                fee_funds_units.map(|u| u.to_string()),
                unix_ms
            ])?;
        }
        XarbRecord::Tripped {
            mode,
            reason,
            amount,
        } => {
            conn.prepare_cached(KILL_SWITCH_SQL)?.execute(params![
                run_id,
                unix_ms,
                mode_key(*mode),
                "tripped",
                reason,
                amount.map(|a| a.to_string()),
                None::<&str>
            ])?;
        }
        XarbRecord::KillSwitchReset { mode, note } => {
            conn.prepare_cached(KILL_SWITCH_SQL)?.execute(params![
                run_id,
                unix_ms,
                mode_key(*mode),
                "reset",
                None::<&str>,
                None::<String>,
                note
            ])?;
        }
    }
    Ok(())
}

const KILL_SWITCH_SQL: &str =
    "INSERT INTO xarb_kill_switch (run_id, unix_ms, mode, event, reason, amount, note)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)";

/// A statistic as a REAL column: NULL when it is not finite (SQLite has no sensible NaN).
fn finite(x: f64) -> Option<f64> {
    x.is_finite().then_some(x)
}

const STATARB_PAIR_SQL: &str =
    "INSERT INTO statarb_pairs (run_id, unix_ms, event, a, b, hedge_ratio, intercept, p_value,
    half_life_bars, fraction, reason) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)";
// An entry fills in the row of a trade whose close was journaled first (side ''); otherwise
// it inserts, and a second entry of the same trade fails on UNIQUE (reported, not merged).
const STATARB_ENTRY_UPDATE_SQL: &str =
    "UPDATE statarb_trades SET a = ?3, b = ?4, side = ?5, entry_unix_ms = ?6, entry_z = ?7,
    notional_units = ?8 WHERE run_id = ?1 AND trade_id = ?2 AND side = ''";
const STATARB_ENTRY_SQL: &str =
    "INSERT INTO statarb_trades (run_id, trade_id, a, b, side, entry_unix_ms, entry_z,
    notional_units) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)";
// A close fills the exit columns of its open trade. A close of a trade with no row keeps its
// data in a new row with empty legs and side (see `V7_STATARB`); a second close of the same
// trade finds no open row, then fails on UNIQUE (reported, never overwriting the first).
const STATARB_CLOSE_UPDATE_SQL: &str =
    "UPDATE statarb_trades SET exit_unix_ms = ?3, exit_reason = ?4, exit_z = ?5,
    gross_units = ?6, fees_units = ?7, pnl_units = ?8
    WHERE run_id = ?1 AND trade_id = ?2 AND exit_unix_ms IS NULL";
const STATARB_ORPHAN_CLOSE_SQL: &str =
    "INSERT INTO statarb_trades (run_id, trade_id, a, b, side, entry_unix_ms, entry_z,
    notional_units, exit_unix_ms, exit_reason, exit_z, gross_units, fees_units, pnl_units)
    VALUES (?1, ?2, '', '', '', 0, NULL, '0', ?3, ?4, ?5, ?6, ?7, ?8)";
const STATARB_FILL_SQL: &str =
    "INSERT INTO statarb_fills (run_id, trade_id, unix_ms, symbol, side, size_units,
    notional_units, fee_units, fee_base_units, fee_base_value_units, fee_other_units, error)
    VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12)";

fn insert_statarb(
    conn: &Connection,
    run_id: &str,
    unix_ms: u64,
    ev: &StatArbRecord,
) -> rusqlite::Result<()> {
    match ev {
        StatArbRecord::PairAdded {
            a,
            b,
            hedge_ratio,
            intercept,
            p_value,
            half_life_bars,
            fraction,
        } => {
            conn.prepare_cached(STATARB_PAIR_SQL)?.execute(params![
                run_id,
                unix_ms,
                "added",
                a,
                b,
                finite(*hedge_ratio),
                finite(*intercept),
                finite(*p_value),
                finite(*half_life_bars),
                finite(*fraction),
                None::<&str>
            ])?;
        }
        StatArbRecord::PairDropped { a, b, reason } => {
            conn.prepare_cached(STATARB_PAIR_SQL)?.execute(params![
                run_id,
                unix_ms,
                "dropped",
                a,
                b,
                None::<f64>,
                None::<f64>,
                None::<f64>,
                None::<f64>,
                None::<f64>,
                reason
            ])?;
        }
        StatArbRecord::Entered {
            trade_id,
            a,
            b,
            side,
            z,
            notional_units,
        } => {
            let entry = params![
                run_id,
                trade_id,
                a,
                b,
                side,
                unix_ms,
                finite(*z),
                notional_units.to_string()
            ];
            if conn
                .prepare_cached(STATARB_ENTRY_UPDATE_SQL)?
                .execute(entry)?
                == 0
            {
                conn.prepare_cached(STATARB_ENTRY_SQL)?.execute(entry)?;
            }
        }
        StatArbRecord::Fill {
            trade_id,
            symbol,
            side,
            size_units,
            notional_units,
            fee_units,
            fee_base_units,
            fee_base_value_units,
            fee_other_units,
            error,
        } => {
            conn.prepare_cached(STATARB_FILL_SQL)?.execute(params![
                run_id,
                trade_id,
                unix_ms,
                symbol,
                side,
                size_units.to_string(),
                notional_units.to_string(),
                fee_units.to_string(),
                fee_base_units.to_string(),
                fee_base_value_units.to_string(),
                fee_other_units.to_string(),
                error
            ])?;
        }
        StatArbRecord::Closed {
            trade_id,
            reason,
            z,
            gross_units,
            fees_units,
            pnl_units,
        } => {
            let exit = params![
                run_id,
                trade_id,
                unix_ms,
                reason,
                z.and_then(finite),
                gross_units.to_string(),
                fees_units.to_string(),
                pnl_units.to_string()
            ];
            if conn
                .prepare_cached(STATARB_CLOSE_UPDATE_SQL)?
                .execute(exit)?
                == 0
            {
                conn.prepare_cached(STATARB_ORPHAN_CLOSE_SQL)?
                    .execute(exit)?;
            }
        }
    }
    Ok(())
}

/// Whose bars a [`Record::Candles`] carries, and at which scales.
struct Series<'a> {
    venue: Venue,
    symbol: &'a str,
    interval: Interval,
    price_scale: Scale,
    size_scale: Scale,
}

fn insert_candles(
    conn: &Connection,
    run_id: &str,
    series: &Series<'_>,
    candles: &[Candle],
) -> rusqlite::Result<()> {
    let mut stmt = conn.prepare_cached(CANDLE_SQL)?;
    let price = |value: kestrel_types::cex::Fixed| value.to_text(series.price_scale);
    for candle in candles {
        stmt.execute(params![
            series.venue.name(),
            series.symbol,
            series.interval.name(),
            candle.open_ms,
            price(candle.open),
            price(candle.high),
            price(candle.low),
            price(candle.close),
            candle.volume.to_text(series.size_scale),
            run_id
        ])?;
    }
    Ok(())
}
