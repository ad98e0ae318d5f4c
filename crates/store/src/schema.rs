//! The journal's schema as an ordered list of migrations.
//!
//! **Invariant:** migrations are append-only. Version `n` is `MIGRATIONS[n - 1]`; a shipped
//! migration is never edited, a change is a new one at the end.

use rusqlite::{Connection, OptionalExtension, TransactionBehavior};

use crate::StoreError;

/// Tables. Amounts are decimal TEXT and hashes `0x` hex TEXT so nothing is rounded.
const V1_TABLES: &str = "
CREATE TABLE runs (
    run_id TEXT PRIMARY KEY,
    mode TEXT,
    config_toml TEXT,
    started_unix_ms INTEGER,
    ended_unix_ms INTEGER,
    summary_json TEXT
);
CREATE TABLE skips (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    reason TEXT NOT NULL,
    recv_ns INTEGER NOT NULL,
    decode_ns INTEGER,
    filter_ns INTEGER,
    decide_ns INTEGER
);
CREATE TABLE candidates (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    block INTEGER NOT NULL,
    pool_buy TEXT NOT NULL,
    pool_sell TEXT NOT NULL,
    amount_in TEXT NOT NULL,
    profit_gross TEXT NOT NULL,
    profit_net TEXT NOT NULL,
    gas_cost_wei TEXT NOT NULL
);
CREATE TABLE bundles (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    block INTEGER NOT NULL,
    pool_buy TEXT NOT NULL,
    pool_sell TEXT NOT NULL,
    amount_in TEXT NOT NULL,
    profit_gross TEXT NOT NULL,
    profit_net TEXT NOT NULL,
    gas_cost_wei TEXT NOT NULL,
    backrun_hash TEXT NOT NULL,
    floor TEXT NOT NULL,
    nonce INTEGER NOT NULL,
    relays_written INTEGER NOT NULL,
    recv_ns INTEGER NOT NULL,
    decode_end_ns INTEGER NOT NULL,
    filter_end_ns INTEGER NOT NULL,
    decide_end_ns INTEGER NOT NULL,
    build_end_ns INTEGER NOT NULL,
    write_end_ns INTEGER NOT NULL,
    decode_ns INTEGER,
    filter_ns INTEGER,
    decide_ns INTEGER,
    build_ns INTEGER,
    write_ns INTEGER,
    decision_ns INTEGER,
    end_to_end_ns INTEGER,
    body TEXT
);
CREATE TABLE outcomes (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    backrun_hash TEXT NOT NULL,
    block INTEGER NOT NULL,
    landed INTEGER NOT NULL,
    realized_profit_wei TEXT,
    predicted_profit_wei TEXT NOT NULL,
    note TEXT NOT NULL
);
";

/// Indexes for the per-run report queries.
const V2_INDEXES: &str = "
CREATE INDEX skips_by_run_reason ON skips(run_id, reason);
CREATE INDEX candidates_by_run ON candidates(run_id);
CREATE INDEX bundles_by_run ON bundles(run_id);
CREATE INDEX outcomes_by_run ON outcomes(run_id);
";

/// The route a candidate's cycle takes: pool kinds, the decoder that read the victim, the hop
/// count and a 3-hop cycle's middle pool. Rows from before it read as the V2 lane's 2-hop
/// `v2_router02` cycles, which is all that lane could produce.
const V3_ROUTES: &str = "
ALTER TABLE candidates ADD COLUMN route_kind TEXT NOT NULL DEFAULT 'v2';
ALTER TABLE candidates ADD COLUMN decode_path TEXT NOT NULL DEFAULT 'v2_router02';
ALTER TABLE candidates ADD COLUMN hops INTEGER NOT NULL DEFAULT 2;
ALTER TABLE candidates ADD COLUMN pool_mid TEXT NOT NULL
    DEFAULT '0x0000000000000000000000000000000000000000';
ALTER TABLE bundles ADD COLUMN route_kind TEXT NOT NULL DEFAULT 'v2';
ALTER TABLE bundles ADD COLUMN decode_path TEXT NOT NULL DEFAULT 'v2_router02';
ALTER TABLE bundles ADD COLUMN hops INTEGER NOT NULL DEFAULT 2;
ALTER TABLE bundles ADD COLUMN pool_mid TEXT NOT NULL
    DEFAULT '0x0000000000000000000000000000000000000000';
";

/// Backruns whose revm confirmation disagreed with the analytic prediction, with both gross
/// profits (decimal TEXT, capital-token base units) and how the revm run ended.
const V4_SIM_DISAGREEMENTS: &str = "
CREATE TABLE sim_disagreements (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    tx_hash TEXT NOT NULL,
    block INTEGER NOT NULL,
    route_kind TEXT NOT NULL,
    decode_path TEXT NOT NULL,
    predicted_gross_wei TEXT NOT NULL,
    simulated_gross_wei TEXT NOT NULL,
    outcome TEXT NOT NULL,
    gas_used INTEGER NOT NULL
);
CREATE INDEX sim_disagreements_by_run ON sim_disagreements(run_id);
";

/// The cross-exchange lane: trades decided, orders sent, what each filled (or why not), each
/// trade's realized PnL, and every venue's holdings after each settlement (what a restart
/// reloads). Amounts are decimal TEXT of the symbol's units: sizes and base in size units,
/// money in notional units (price units × size units); PnL may be negative.
const V5_XARB: &str = "
CREATE TABLE xarb_trades (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    trade_id INTEGER NOT NULL,
    buy_venue TEXT NOT NULL,
    sell_venue TEXT NOT NULL,
    size_units TEXT NOT NULL,
    expected_net_units TEXT NOT NULL,
    unix_ms INTEGER NOT NULL
);
CREATE TABLE xarb_orders (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    trade_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    venue TEXT NOT NULL,
    side TEXT NOT NULL,
    size_units TEXT NOT NULL,
    limit_units TEXT NOT NULL,
    unix_ms INTEGER NOT NULL
);
CREATE TABLE xarb_fills (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    trade_id INTEGER NOT NULL,
    role TEXT NOT NULL,
    venue TEXT NOT NULL,
    size_units TEXT NOT NULL,
    notional_units TEXT NOT NULL,
    fee_quote_units TEXT NOT NULL,
    fee_base_units TEXT NOT NULL,
    error TEXT,
    unix_ms INTEGER NOT NULL
);
CREATE TABLE xarb_closes (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    trade_id INTEGER NOT NULL,
    pnl_units TEXT NOT NULL,
    hedged INTEGER NOT NULL,
    unix_ms INTEGER NOT NULL
);
CREATE TABLE xarb_positions (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    leg INTEGER NOT NULL,
    venue TEXT NOT NULL,
    base_units TEXT NOT NULL,
    quote_units TEXT NOT NULL,
    unix_ms INTEGER NOT NULL
);
CREATE INDEX xarb_fills_by_run ON xarb_fills(run_id);
CREATE INDEX xarb_positions_by_leg ON xarb_positions(leg, id);
";

/// Candles fetched from the venues: one row per bar, keyed by venue, symbol, interval and
/// open time, so fetching a bar again (a page overlapping the last, a bar that was still
/// forming) replaces it. Prices and volume are exact decimal TEXT at the symbol's scales;
/// `run_id` is the run that last wrote the bar.
const V6_CANDLES: &str = "
CREATE TABLE candles (
    venue TEXT NOT NULL,
    symbol TEXT NOT NULL,
    interval TEXT NOT NULL,
    open_ms INTEGER NOT NULL,
    open TEXT NOT NULL,
    high TEXT NOT NULL,
    low TEXT NOT NULL,
    close TEXT NOT NULL,
    volume TEXT NOT NULL,
    run_id TEXT NOT NULL,
    PRIMARY KEY (venue, symbol, interval, open_ms)
) WITHOUT ROWID;
";

/// The statistical-arbitrage (pairs) lane: pairs entering and leaving the selection (with the
/// statistics they were chosen on), one row per trade (written at entry, its exit columns
/// filled when it closes) and every leg's fill (what a restart reloads open trades from).
/// Amounts are decimal TEXT of notional or size units and may be negative where signed;
/// statistics are REAL, NULL when not finite. A trade row whose `side` is `''` was closed
/// without a journaled entry (its `a`, `b` are `''`, `entry_unix_ms` 0, `notional_units` '0').
const V7_STATARB: &str = "
CREATE TABLE statarb_pairs (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    unix_ms INTEGER NOT NULL,
    event TEXT NOT NULL CHECK (event IN ('added', 'dropped')),
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    hedge_ratio REAL,
    intercept REAL,
    p_value REAL,
    half_life_bars REAL,
    fraction REAL,
    reason TEXT
);
CREATE TABLE statarb_trades (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    trade_id INTEGER NOT NULL,
    a TEXT NOT NULL,
    b TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('long', 'short', '')),
    entry_unix_ms INTEGER NOT NULL,
    entry_z REAL,
    notional_units TEXT NOT NULL,
    exit_unix_ms INTEGER,
    exit_reason TEXT,
    exit_z REAL,
    gross_units TEXT,
    fees_units TEXT,
    pnl_units TEXT,
    UNIQUE (run_id, trade_id)
);
CREATE TABLE statarb_fills (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    trade_id INTEGER NOT NULL,
    unix_ms INTEGER NOT NULL,
    symbol TEXT NOT NULL,
    side TEXT NOT NULL CHECK (side IN ('buy', 'sell')),
    size_units TEXT NOT NULL,
    notional_units TEXT NOT NULL,
    fee_units TEXT NOT NULL,
    fee_base_units TEXT NOT NULL DEFAULT '0',
    fee_base_value_units TEXT NOT NULL DEFAULT '0',
    error TEXT
);
CREATE INDEX statarb_pairs_by_run ON statarb_pairs(run_id, id);
CREATE INDEX statarb_trades_open ON statarb_trades(run_id, trade_id) WHERE exit_unix_ms IS NULL;
CREATE INDEX statarb_fills_by_trade ON statarb_fills(run_id, trade_id, id);
";

/// The cross-exchange lane's kill switch: each trip (once per trip, with the run's mode, the
/// reason's key and the number it carries, decimal TEXT) and each operator reset (with its
/// note). The latest row of a mode says whether a lane of that mode starts tripped. `mode` is
/// spelled as in `runs.mode` (`DryRun`, `Live`).
const V8_XARB_KILL_SWITCH: &str = "
CREATE TABLE xarb_kill_switch (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    unix_ms INTEGER NOT NULL,
    mode TEXT NOT NULL CHECK (mode IN ('DryRun', 'Live')),
    event TEXT NOT NULL CHECK (event IN ('tripped', 'reset')),
    reason TEXT,
    amount TEXT,
    note TEXT,
    CHECK ((event = 'tripped') = (reason IS NOT NULL)),
    CHECK ((event = 'reset') = (note IS NOT NULL))
);
CREATE INDEX xarb_kill_switch_by_mode ON xarb_kill_switch(mode, id);
";

/// Version 9: a fill's fee charged in a third asset (Binance's BNB, OKX's OKB), valued in quote
/// at the account's taker rate; rows from before it read 0.
const V9_XARB_FEE_OTHER: &str = "
ALTER TABLE xarb_fills ADD COLUMN fee_other_units TEXT NOT NULL DEFAULT '0';
";

/// Version 10: the stat-arb lane's fills get the same third-asset fee column, so that a
/// restarted lane charges a reloaded trade the fee without counting it as quote spent; rows
/// from before it read 0.
const V10_STATARB_FEE_OTHER: &str = "
ALTER TABLE statarb_fills ADD COLUMN fee_other_units TEXT NOT NULL DEFAULT '0';
";

/// Version 11: a paper position's fee-discount funds left (the value of the BNB paper fills
/// may still pay fees from), so that a restarted paper run goes on from it; NULL for live rows,
/// legs without a discount, and rows from before it.
const V11_XARB_FEE_FUNDS: &str = "
ALTER TABLE xarb_positions ADD COLUMN fee_funds_units TEXT;
";

/// Version 12: what relays answered to the bundles the slow lane posted (simulation results,
/// rejections), one row per answer.
const V12_RELAY_ANSWERS: &str = "
CREATE TABLE relay_answers (
    id INTEGER PRIMARY KEY,
    run_id TEXT NOT NULL,
    victim TEXT NOT NULL,
    relay TEXT NOT NULL,
    method TEXT NOT NULL,
    http_status INTEGER NOT NULL,
    ok INTEGER NOT NULL,
    bundle_hash TEXT,
    detail TEXT NOT NULL
);
CREATE INDEX relay_answers_by_run ON relay_answers(run_id, id);
";

/// Version 13: the base each cross-exchange trade left open (an unwind short, base fees), size
/// units, so that a restarted lane carries the open imbalance; `NULL` on rows from before.
const V13_XARB_OPEN_BASE: &str = "
ALTER TABLE xarb_closes ADD COLUMN open_base_units TEXT;
";

/// Every migration, in order.
pub(crate) const MIGRATIONS: &[&str] = &[
    V1_TABLES,
    V2_INDEXES,
    V3_ROUTES,
    V4_SIM_DISAGREEMENTS,
    V5_XARB,
    V6_CANDLES,
    V7_STATARB,
    V8_XARB_KILL_SWITCH,
    V9_XARB_FEE_OTHER,
    V10_STATARB_FEE_OTHER,
    V11_XARB_FEE_FUNDS,
    V12_RELAY_ANSWERS,
    V13_XARB_OPEN_BASE,
];

/// The schema version this build writes and reads.
pub const SCHEMA_VERSION: i64 = MIGRATIONS.len() as i64;

/// Brings `conn` up to `migrations.len()`, applying only the missing ones, all in one
/// transaction so a failure leaves the database as it was.
pub(crate) fn migrate(conn: &mut Connection, migrations: &[&str]) -> Result<(), StoreError> {
    let known = i64::try_from(migrations.len()).unwrap_or(i64::MAX);
    let tx = conn.transaction_with_behavior(TransactionBehavior::Immediate)?;
    // `applied_at` comes from SQLite's clock: only stdx may read the wall clock in Rust, and this
    // is metadata that replay never looks at.
    tx.execute_batch(
        "CREATE TABLE IF NOT EXISTS schema_migrations (
            version INTEGER PRIMARY KEY,
            applied_at INTEGER NOT NULL
        );",
    )?;
    let found: i64 = tx.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?;
    if found > known {
        return Err(StoreError::NewerSchema { found, known });
    }
    for (version, sql) in (1..)
        .zip(migrations.iter())
        .skip(usize::try_from(found).unwrap_or(0))
    {
        tx.execute_batch(sql)
            .map_err(|source| StoreError::Migration { version, source })?;
        tx.execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, unixepoch())",
            [version],
        )
        .map_err(|source| StoreError::Migration { version, source })?;
    }
    tx.commit()?;
    Ok(())
}

/// Highest applied version, 0 when the database has no migrations table.
pub(crate) fn current_version(conn: &Connection) -> Result<i64, StoreError> {
    let has_table: Option<i64> = conn
        .query_row(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_migrations'",
            [],
            |r| r.get(0),
        )
        .optional()?;
    if has_table.is_none() {
        return Ok(0);
    }
    Ok(conn.query_row(
        "SELECT COALESCE(MAX(version), 0) FROM schema_migrations",
        [],
        |r| r.get(0),
    )?)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn versions(conn: &Connection) -> Vec<i64> {
        let mut stmt = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    }

    #[test]
    fn reopening_applies_only_the_missing_migrations() {
        // Each migration creates a table, so running one twice would fail with "already exists".
        let first = "CREATE TABLE a (x INTEGER);";
        let second = "CREATE TABLE b (y INTEGER);";
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, &[first]).unwrap();
        assert_eq!(versions(&conn), vec![1]);
        migrate(&mut conn, &[first, second]).unwrap();
        assert_eq!(versions(&conn), vec![1, 2]);
        migrate(&mut conn, &[first, second]).unwrap();
        assert_eq!(versions(&conn), vec![1, 2]);
        assert_eq!(current_version(&conn).unwrap(), 2);
    }

    #[test]
    fn a_failing_migration_leaves_the_database_unchanged() {
        let mut conn = Connection::open_in_memory().unwrap();
        let err = migrate(&mut conn, &["CREATE TABLE a (x INTEGER);", "NOT SQL"]).unwrap_err();
        assert!(
            matches!(err, StoreError::Migration { version: 2, .. }),
            "{err:?}"
        );
        assert_eq!(current_version(&conn).unwrap(), 0);
        // Table `a` was rolled back with the rest, so applying the good one works again.
        migrate(&mut conn, &["CREATE TABLE a (x INTEGER);"]).unwrap();
        assert_eq!(current_version(&conn).unwrap(), 1);
    }

    #[test]
    fn a_v4_journal_upgrades_to_v5_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS.get(..4).unwrap()).unwrap();
        conn.execute(
            "INSERT INTO runs (run_id, mode, config_toml, started_unix_ms)
                 VALUES ('r', 'dry_run', '', 1)",
            [],
        )
        .unwrap();
        migrate(&mut conn, MIGRATIONS.get(..5).unwrap()).unwrap();
        assert_eq!(versions(&conn), vec![1, 2, 3, 4, 5]);
        let runs: i64 = conn
            .query_row("SELECT COUNT(*) FROM runs", [], |r| r.get(0))
            .unwrap();
        assert_eq!(runs, 1);
        conn.execute(
            "INSERT INTO xarb_positions (run_id, leg, venue, base_units, quote_units, unix_ms)
                 VALUES ('r', 0, 'binance', '1', '2', 3)",
            [],
        )
        .unwrap();
    }

    #[test]
    fn a_newer_database_is_refused() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(
            &mut conn,
            &["CREATE TABLE a (x INTEGER);", "CREATE TABLE b (x INTEGER);"],
        )
        .unwrap();
        let err = migrate(&mut conn, &["CREATE TABLE a (x INTEGER);"]).unwrap_err();
        assert!(
            matches!(err, StoreError::NewerSchema { found: 2, known: 1 }),
            "{err:?}"
        );
    }

    #[test]
    fn rows_from_before_routes_read_as_two_hop_v2_router02_cycles() {
        let mut conn = Connection::open_in_memory().unwrap();
        let before = MIGRATIONS.get(..2).unwrap();
        migrate(&mut conn, before).unwrap();
        conn.execute(
            "INSERT INTO candidates (run_id, tx_hash, block, pool_buy, pool_sell, amount_in,
                 profit_gross, profit_net, gas_cost_wei) VALUES ('r', '0x', 1, 'a', 'b', '1', '2',
                 '1', '0')",
            [],
        )
        .unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        let row: (String, String, i64, String) = conn
            .query_row(
                "SELECT route_kind, decode_path, hops, pool_mid FROM candidates",
                [],
                |r| Ok((r.get(0)?, r.get(1)?, r.get(2)?, r.get(3)?)),
            )
            .unwrap();
        assert_eq!(row.0, kestrel_types::RouteKind::V2.as_str());
        assert_eq!(row.1, kestrel_types::DecodePath::V2Router02.as_str());
        assert_eq!(row.2, 2);
        assert_eq!(row.3, format!("{:#x}", kestrel_types::Address::ZERO));
    }

    #[test]
    fn a_v3_journal_upgrades_to_v4_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        let v3 = MIGRATIONS.get(..3).unwrap();
        migrate(&mut conn, v3).unwrap();
        assert_eq!(current_version(&conn).unwrap(), 3);
        conn.execute(
            "INSERT INTO candidates (run_id, tx_hash, block, pool_buy, pool_sell, amount_in,
                 profit_gross, profit_net, gas_cost_wei, route_kind, decode_path, hops, pool_mid)
                 VALUES ('r', '0x', 1, 'a', 'b', '1', '2', '1', '0', 'v3', 'swap_router', 3, 'c')",
            [],
        )
        .unwrap();
        migrate(&mut conn, MIGRATIONS.get(..4).unwrap()).unwrap();
        assert_eq!(current_version(&conn).unwrap(), 4);
        assert_eq!(versions(&conn), vec![1, 2, 3, 4]);
        let kept: (String, i64) = conn
            .query_row("SELECT route_kind, hops FROM candidates", [], |r| {
                Ok((r.get(0)?, r.get(1)?))
            })
            .unwrap();
        assert_eq!(kept, ("v3".to_owned(), 3));
        conn.execute(
            "INSERT INTO sim_disagreements (run_id, tx_hash, block, route_kind, decode_path,
                 predicted_gross_wei, simulated_gross_wei, outcome, gas_used)
                 VALUES ('r', '0x', 1, 'v2', 'v2_router02', '5', '0', 'backrun_reverted', 0)",
            [],
        )
        .unwrap();
        let index: String = conn
            .query_row(
                "SELECT name FROM sqlite_master WHERE type = 'index'
                     AND tbl_name = 'sim_disagreements'",
                [],
                |r| r.get(0),
            )
            .unwrap();
        assert_eq!(index, "sim_disagreements_by_run");
        // Every column is NOT NULL: a row missing one is refused, not stored half-empty.
        let err = conn.execute(
            "INSERT INTO sim_disagreements (run_id, tx_hash, block, route_kind, decode_path,
                 predicted_gross_wei, simulated_gross_wei, outcome) VALUES
                 ('r', '0x', 1, 'v2', 'v2_router02', '5', '0', 'agreed')",
            [],
        );
        assert!(err.is_err(), "gas_used must be required");
    }

    #[test]
    fn a_v6_journal_upgrades_to_v7_and_keeps_its_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS.get(..6).unwrap()).unwrap();
        conn.execute(
            "INSERT INTO candles (venue, symbol, interval, open_ms, open, high, low, close,
                 volume, run_id) VALUES ('binance', 'BTCUSDT', '1m', 1, '1', '2', '0', '1', '5', 'r')",
            [],
        )
        .unwrap();
        migrate(&mut conn, MIGRATIONS.get(..7).unwrap()).unwrap();
        assert_eq!(versions(&conn), vec![1, 2, 3, 4, 5, 6, 7]);
        let candles: i64 = conn
            .query_row("SELECT COUNT(*) FROM candles", [], |r| r.get(0))
            .unwrap();
        assert_eq!(candles, 1);
        conn.execute(
            "INSERT INTO statarb_trades (run_id, trade_id, a, b, side, entry_unix_ms, entry_z,
                 notional_units) VALUES ('r', 1, 'ETHUSDT', 'BTCUSDT', 'long', 2, -2.5, '-7')",
            [],
        )
        .unwrap();
        // Sides and pair events outside their words are refused, not stored.
        let bad_side = conn.execute(
            "INSERT INTO statarb_fills (run_id, trade_id, unix_ms, symbol, side, size_units,
                 notional_units, fee_units) VALUES ('r', 1, 3, 'ETHUSDT', 'BUY', '1', '2', '0')",
            [],
        );
        assert!(bad_side.is_err(), "fill side must be buy or sell");
        let bad_event = conn.execute(
            "INSERT INTO statarb_pairs (run_id, unix_ms, event, a, b) VALUES ('r', 1, 'gone', 'x', 'y')",
            [],
        );
        assert!(bad_event.is_err(), "pair event must be added or dropped");
        // One row per (run, trade).
        let dup = conn.execute(
            "INSERT INTO statarb_trades (run_id, trade_id, a, b, side, entry_unix_ms,
                 notional_units) VALUES ('r', 1, 'x', 'y', 'short', 2, '1')",
            [],
        );
        assert!(dup.is_err(), "(run_id, trade_id) must be unique");
    }

    #[test]
    fn a_v7_journal_upgrades_to_v8_and_refuses_half_kill_switch_rows() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS.get(..7).unwrap()).unwrap();
        conn.execute(
            "INSERT INTO xarb_positions (run_id, leg, venue, base_units, quote_units, unix_ms)
                 VALUES ('r', 0, 'okx', '1', '2', 3)",
            [],
        )
        .unwrap();
        migrate(&mut conn, MIGRATIONS.get(..8).unwrap()).unwrap();
        assert_eq!(versions(&conn), vec![1, 2, 3, 4, 5, 6, 7, 8]);
        let kept: i64 = conn
            .query_row("SELECT COUNT(*) FROM xarb_positions", [], |r| r.get(0))
            .unwrap();
        assert_eq!(kept, 1);
        let insert = |mode: &str, event: &str, reason: Option<&str>, note: Option<&str>| {
            conn.execute(
                "INSERT INTO xarb_kill_switch (run_id, unix_ms, mode, event, reason, note)
                     VALUES ('r', 1, ?1, ?2, ?3, ?4)",
                rusqlite::params![mode, event, reason, note],
            )
        };
        insert("DryRun", "tripped", Some("drawdown"), None).unwrap();
        insert("Live", "reset", None, Some("checked")).unwrap();
        // A trip without its reason, a reset without its note, a mode or event outside their
        // words: refused, not stored half-written.
        assert!(insert("Live", "tripped", None, None).is_err());
        assert!(insert("Live", "reset", None, None).is_err());
        assert!(insert("Live", "tripped", Some("manual"), Some("x")).is_err());
        assert!(insert("live", "tripped", Some("manual"), None).is_err());
        assert!(insert("Live", "cleared", None, Some("x")).is_err());
    }

    #[test]
    fn a_v10_journals_positions_upgrade_to_v11_with_no_fee_funds() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS.get(..10).unwrap()).unwrap();
        conn.execute(
            "INSERT INTO xarb_positions (run_id, leg, venue, base_units, quote_units, unix_ms)
                 VALUES ('r', 0, 'binance', '1', '2', 3)",
            [],
        )
        .unwrap();
        migrate(&mut conn, MIGRATIONS.get(..11).unwrap()).unwrap();
        assert_eq!(versions(&conn), (1..=11).collect::<Vec<_>>());
        let funds: Option<String> = conn
            .query_row("SELECT fee_funds_units FROM xarb_positions", [], |r| {
                r.get(0)
            })
            .unwrap();
        assert_eq!(funds, None, "a row from before v11 states no funds");
    }

    #[test]
    fn the_shipped_migrations_apply_cleanly() {
        let mut conn = Connection::open_in_memory().unwrap();
        migrate(&mut conn, MIGRATIONS).unwrap();
        assert_eq!(current_version(&conn).unwrap(), SCHEMA_VERSION);
    }
}
