//! Stat-arb (pairs) lane records: written through the journal, read back exactly (floats,
//! negative and beyond-u64 amounts, error strings), a close filling in its entry's row, the
//! open trades a restart reloads summed from their fills, and a v6 journal upgraded in place.

use kestrel_store::{
    Journal, Record, SCHEMA_VERSION, StatArbFillRow, StatArbOpenTrade, StatArbPairRow,
    StatArbRecord, StatArbTradeRow, StoreError, open_readonly,
};
use rusqlite::Connection;

use crate::fixtures::{RUN, record};

const ETH: &str = "ETHUSDT";
const BTC: &str = "BTCUSDT";

fn sa(run_id: &str, unix_ms: u64, ev: StatArbRecord) -> Record {
    Record::StatArb {
        run_id: run_id.into(),
        unix_ms,
        ev,
    }
}

fn entered(trade_id: u64, side: &str, z: f64, notional_units: i128) -> StatArbRecord {
    StatArbRecord::Entered {
        trade_id,
        a: ETH.into(),
        b: BTC.into(),
        side: side.into(),
        z,
        notional_units,
    }
}

fn fill(trade_id: u64, symbol: &str, side: &str, size: u64, notional: u128) -> StatArbRecord {
    StatArbRecord::Fill {
        trade_id,
        symbol: symbol.into(),
        side: side.into(),
        size_units: size,
        notional_units: notional,
        fee_units: notional / 1000,
        fee_base_units: 0,
        fee_base_value_units: 0,
        fee_other_units: 0,
        error: None,
    }
}

/// A buy whose fee the venue took in base: `fee_base` units, worth `fee_value` of quote.
fn base_fee_buy(
    trade_id: u64,
    symbol: &str,
    size: u64,
    notional: u128,
    fee_base: u128,
    fee_value: u128,
) -> StatArbRecord {
    StatArbRecord::Fill {
        trade_id,
        symbol: symbol.into(),
        side: "buy".into(),
        size_units: size,
        notional_units: notional,
        fee_units: 0,
        fee_base_units: fee_base,
        fee_base_value_units: fee_value,
        fee_other_units: 0,
        error: None,
    }
}

/// A sell whose fee the venue took in a third asset (BNB), worth `fee_value` of quote.
fn bnb_fee_sell(
    trade_id: u64,
    symbol: &str,
    size: u64,
    notional: u128,
    fee_value: u128,
) -> StatArbRecord {
    StatArbRecord::Fill {
        trade_id,
        symbol: symbol.into(),
        side: "sell".into(),
        size_units: size,
        notional_units: notional,
        fee_units: 0,
        fee_base_units: 0,
        fee_base_value_units: 0,
        fee_other_units: fee_value,
        error: None,
    }
}

fn closed(trade_id: u64, z: Option<f64>, gross: i128, fees: i128, pnl: i128) -> StatArbRecord {
    StatArbRecord::Closed {
        trade_id,
        reason: "revert".into(),
        z,
        gross_units: gross,
        fees_units: fees,
        pnl_units: pnl,
    }
}

/// Writes `records` to a fresh journal in `dir`, checks every one was written, and returns
/// the file.
fn journal_with(dir: &tempfile::TempDir, records: Vec<Record>) -> std::path::PathBuf {
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).expect("open");
    let n = records.len() as u64;
    let h = journal.handle();
    for rec in records {
        h.append(rec).expect("append");
    }
    let stats = journal.close().expect("close");
    assert_eq!((stats.statarb, stats.failed), (n, 0));
    path
}

const HEDGE: f64 = 1.234_567_890_123_456_7;
const TINY: f64 = -1.5e-300;
const HUGE: f64 = 1.797e308;

#[test]
fn a_runs_records_read_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let big_notional = u128::from(u64::MAX) * 1_000 + 7;
    let path = journal_with(
        &dir,
        vec![
            sa(
                "run-1",
                10,
                StatArbRecord::PairAdded {
                    a: ETH.into(),
                    b: BTC.into(),
                    hedge_ratio: HEDGE,
                    intercept: TINY,
                    p_value: 0.012_345_678_901_234_5,
                    half_life_bars: HUGE,
                    fraction: 0.1,
                },
            ),
            // Non-finite statistics are journaled as NULL.
            sa(
                "run-1",
                11,
                StatArbRecord::PairAdded {
                    a: "SOLUSDT".into(),
                    b: BTC.into(),
                    hedge_ratio: f64::NAN,
                    intercept: f64::INFINITY,
                    p_value: f64::NEG_INFINITY,
                    half_life_bars: 3.5,
                    fraction: -0.0,
                },
            ),
            sa(
                "run-1",
                12,
                entered(1, "long", -2.25, -123_456_789_012_345_678_901_234),
            ),
            sa("run-1", 13, fill(1, ETH, "buy", u64::MAX, big_notional)),
            sa(
                "run-1",
                14,
                StatArbRecord::Fill {
                    trade_id: 1,
                    symbol: BTC.into(),
                    side: "sell".into(),
                    size_units: 0,
                    notional_units: 0,
                    fee_units: u128::MAX,
                    fee_base_units: u128::MAX - 1,
                    fee_base_value_units: 7,
                    fee_other_units: u128::MAX - 2,
                    error: Some("51008: insufficient balance \"BTC\"".into()),
                },
            ),
            sa("run-1", 15, entered(2, "short", f64::NAN, i128::MAX)),
            sa(
                "run-1",
                16,
                closed(1, Some(0.062_5), -98_765_432_109_876_543_210, 17, i128::MIN),
            ),
            sa(
                "run-1",
                17,
                StatArbRecord::PairDropped {
                    a: ETH.into(),
                    b: BTC.into(),
                    reason: "half_life".into(),
                },
            ),
            // Another run's rows stay out of run-1's reads.
            sa("run-2", 18, entered(1, "short", 1.0, 5)),
            sa("run-2", 19, fill(1, BTC, "buy", 1, 2)),
        ],
    );

    let reader = open_readonly(&path).unwrap();
    let pair = |unix_ms, event: &str, a: &str, stats: [Option<f64>; 5], reason: Option<&str>| {
        StatArbPairRow {
            run_id: "run-1".into(),
            unix_ms,
            event: event.into(),
            a: a.into(),
            b: BTC.into(),
            hedge_ratio: stats[0],
            intercept: stats[1],
            p_value: stats[2],
            half_life_bars: stats[3],
            fraction: stats[4],
            reason: reason.map(Into::into),
        }
    };
    assert_eq!(
        reader.statarb_pair_events("run-1").unwrap(),
        vec![
            pair(
                10,
                "added",
                ETH,
                [
                    Some(HEDGE),
                    Some(TINY),
                    Some(0.012_345_678_901_234_5),
                    Some(HUGE),
                    Some(0.1)
                ],
                None
            ),
            pair(
                11,
                "added",
                "SOLUSDT",
                [None, None, None, Some(3.5), Some(0.0)],
                None
            ),
            pair(17, "dropped", ETH, [None; 5], Some("half_life")),
        ]
    );
    assert!(reader.statarb_pair_events("run-3").unwrap().is_empty());

    let trade = |trade_id, side: &str, entry_unix_ms, entry_z, notional_units| StatArbTradeRow {
        run_id: "run-1".into(),
        trade_id,
        a: ETH.into(),
        b: BTC.into(),
        side: side.into(),
        entry_unix_ms,
        entry_z,
        notional_units,
        exit_unix_ms: None,
        exit_reason: None,
        exit_z: None,
        gross_units: None,
        fees_units: None,
        pnl_units: None,
    };
    let first = StatArbTradeRow {
        exit_unix_ms: Some(16),
        exit_reason: Some("revert".into()),
        exit_z: Some(0.062_5),
        gross_units: Some(-98_765_432_109_876_543_210),
        fees_units: Some(17),
        pnl_units: Some(i128::MIN),
        ..trade(1, "long", 12, Some(-2.25), -123_456_789_012_345_678_901_234)
    };
    assert_eq!(
        reader.statarb_trades("run-1").unwrap(),
        vec![first, trade(2, "short", 15, None, i128::MAX)]
    );

    assert_eq!(
        reader.statarb_fills("run-1").unwrap(),
        vec![
            StatArbFillRow {
                run_id: "run-1".into(),
                trade_id: 1,
                unix_ms: 13,
                symbol: ETH.into(),
                side: "buy".into(),
                size_units: u64::MAX,
                notional_units: big_notional,
                fee_units: big_notional / 1000,
                fee_base_units: 0,
                fee_base_value_units: 0,
                fee_other_units: 0,
                error: None,
            },
            StatArbFillRow {
                run_id: "run-1".into(),
                trade_id: 1,
                unix_ms: 14,
                symbol: BTC.into(),
                side: "sell".into(),
                size_units: 0,
                notional_units: 0,
                fee_units: u128::MAX,
                fee_base_units: u128::MAX - 1,
                fee_base_value_units: 7,
                fee_other_units: u128::MAX - 2,
                error: Some("51008: insufficient balance \"BTC\"".into()),
            },
        ]
    );
    assert_eq!(reader.statarb_fills("run-2").unwrap().len(), 1);
    assert_eq!(reader.statarb_trades("run-2").unwrap().len(), 1);
}

#[test]
fn a_close_fills_in_its_entrys_row_and_one_without_entry_is_kept() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_with(
        &dir,
        vec![
            sa(RUN, 1, entered(7, "short", 2.5, 1_000)),
            sa(RUN, 2, closed(7, None, -40, 3, -43)),
            // A close whose entry was never journaled: kept in a row of its own.
            sa(RUN, 3, closed(8, Some(-0.5), 9, 1, 8)),
            // A close journaled before its entry: the entry fills in the same row.
            sa(RUN, 4, closed(9, Some(0.25), 100, 10, 90)),
            sa(RUN, 5, entered(9, "long", -3.0, 2_000)),
        ],
    );
    let reader = open_readonly(&path).unwrap();
    let rows = reader.statarb_trades(RUN).unwrap();
    let got: Vec<_> = rows
        .iter()
        .map(|t| {
            (
                t.trade_id,
                t.a.as_str(),
                t.side.as_str(),
                t.entry_unix_ms,
                t.entry_z,
                t.notional_units,
                t.exit_unix_ms,
                t.exit_z,
                t.pnl_units,
            )
        })
        .collect();
    assert_eq!(
        got,
        vec![
            (
                7,
                ETH,
                "short",
                1,
                Some(2.5),
                1_000,
                Some(2),
                None,
                Some(-43)
            ),
            (8, "", "", 0, None, 0, Some(3), Some(-0.5), Some(8)),
            (
                9,
                ETH,
                "long",
                5,
                Some(-3.0),
                2_000,
                Some(4),
                Some(0.25),
                Some(90)
            ),
        ]
    );
    assert_eq!(rows[0].gross_units, Some(-40));
    assert_eq!(rows[0].fees_units, Some(3));
    assert_eq!(rows[0].exit_reason.as_deref(), Some("revert"));
    assert_eq!(rows[1].b, "");
    assert!(reader.statarb_open_trades().unwrap().is_empty());

    // A second close of a closed trade is refused and reported, never overwriting the first;
    // so is a second entry of the same trade.
    let journal = Journal::open(&path, 8).unwrap();
    let h = journal.handle();
    h.append(sa(RUN, 6, closed(7, None, 1, 1, 0))).unwrap();
    h.append(sa(RUN, 7, entered(9, "short", 1.0, 1))).unwrap();
    let err = journal.close().unwrap_err();
    assert!(
        matches!(err, StoreError::WriteFailed { failed: 2, .. }),
        "{err:?}"
    );
    let again = open_readonly(&path).unwrap().statarb_trades(RUN).unwrap();
    assert_eq!(again, rows);
}

#[test]
fn open_trades_are_summed_from_their_fills_across_runs() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_with(
        &dir,
        vec![
            sa("run-1", 1, entered(1, "long", -2.0, 10_000)),
            sa("run-1", 2, fill(1, ETH, "buy", 3, 3_000)),
            sa("run-1", 3, fill(1, BTC, "sell", 5, 2_000)),
            // A failed order counts for nothing, whatever it reports.
            sa(
                "run-1",
                4,
                StatArbRecord::Fill {
                    trade_id: 1,
                    symbol: ETH.into(),
                    side: "buy".into(),
                    size_units: 100,
                    notional_units: 99_999,
                    fee_units: 77,
                    fee_base_units: 5,
                    fee_base_value_units: 77,
                    fee_other_units: 77,
                    error: Some("timeout".into()),
                },
            ),
            sa("run-1", 5, fill(1, ETH, "buy", 4, 4_000)),
            sa("run-1", 6, fill(1, BTC, "sell", 6, 2_500)),
            // Trade 2 closed: not open, whatever its fills.
            sa("run-1", 7, entered(2, "short", 2.0, 500)),
            sa("run-1", 8, fill(2, ETH, "sell", 1, 1_000)),
            sa("run-1", 9, closed(2, Some(0.0), 5, 1, 4)),
            // A fill of a trade never entered is no open trade.
            sa("run-1", 10, fill(3, ETH, "buy", 1, 1_000)),
            // Run 2 (after a restart) has its own trade 1, short the spread, and one with
            // no fills yet.
            sa("run-2", 11, entered(1, "short", 2.75, 7_000)),
            sa("run-2", 12, fill(1, ETH, "sell", 2, 6_000)),
            // Bought 3 BTC, the venue kept 1 of them as its fee (worth 1,700 of quote).
            sa("run-2", 13, base_fee_buy(1, BTC, 3, 5_000, 1, 1_700)),
            sa("run-2", 14, entered(0, "long", f64::INFINITY, -1)),
            // Sold 1 BTC back; its fee went in BNB, worth 4 of quote: a cost, not cash.
            sa("run-2", 15, bnb_fee_sell(1, BTC, 1, 1_600, 4)),
        ],
    );
    let open = open_readonly(&path).unwrap().statarb_open_trades().unwrap();
    let trade = |run_id: &str, trade_id, side: &str, entry_unix_ms, entry_z, notional_units| {
        StatArbOpenTrade {
            run_id: run_id.into(),
            trade_id,
            a: ETH.into(),
            b: BTC.into(),
            side: side.into(),
            entry_unix_ms,
            entry_z,
            notional_units,
            pos_a_units: 0,
            pos_b_units: 0,
            cash_units: 0,
            fees_units: 0,
            fee_base_value_units: 0,
            fee_other_units: 0,
        }
    };
    assert_eq!(
        open,
        vec![
            StatArbOpenTrade {
                pos_a_units: 7,
                pos_b_units: -11,
                cash_units: -7_000 + 4_500,
                fees_units: 3 + 2 + 4 + 2,
                ..trade("run-1", 1, "long", 1, Some(-2.0), 10_000)
            },
            trade("run-2", 0, "long", 14, None, -1),
            StatArbOpenTrade {
                pos_a_units: -2,
                pos_b_units: 3 - 1 - 1,
                cash_units: 6_000 - 5_000 + 1_600,
                fees_units: 6,
                fee_base_value_units: 1_700,
                fee_other_units: 4,
                ..trade("run-2", 1, "short", 11, Some(2.75), 7_000)
            },
        ]
    );
}

#[test]
fn a_damaged_statarb_row_is_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_with(
        &dir,
        vec![
            sa(RUN, 1, entered(1, "long", 1.0, -5)),
            sa(RUN, 2, fill(1, ETH, "buy", 1, 10)),
        ],
    );
    let conn = Connection::open(&path).unwrap();
    let corrupt = |err: StoreError, table: &str, column: &str| {
        assert!(
            matches!(&err, StoreError::Corrupt { table: t, column: c, .. } if *t == table && *c == column),
            "{err:?}"
        );
    };

    conn.execute("UPDATE statarb_trades SET notional_units = '+5'", [])
        .unwrap();
    let reader = open_readonly(&path).unwrap();
    corrupt(
        reader.statarb_trades(RUN).unwrap_err(),
        "statarb_trades",
        "notional_units",
    );
    corrupt(
        reader.statarb_open_trades().unwrap_err(),
        "statarb_trades",
        "notional_units",
    );
    conn.execute("UPDATE statarb_trades SET notional_units = '-5'", [])
        .unwrap();

    // A fill of a symbol that is neither leg cannot be placed: reported, not guessed.
    conn.execute("UPDATE statarb_fills SET symbol = 'XRPUSDT'", [])
        .unwrap();
    corrupt(
        reader.statarb_open_trades().unwrap_err(),
        "statarb_fills",
        "symbol",
    );
    conn.execute(
        "UPDATE statarb_fills SET symbol = ?1, size_units = '1.5'",
        [ETH],
    )
    .unwrap();
    corrupt(
        reader.statarb_fills(RUN).unwrap_err(),
        "statarb_fills",
        "size_units",
    );
    conn.execute("UPDATE statarb_fills SET size_units = '1'", [])
        .unwrap();
    assert_eq!(reader.statarb_open_trades().unwrap()[0].pos_a_units, 1);
}

#[test]
fn a_v6_journal_file_upgrades_to_the_current_schema_and_keeps_its_rows() {
    assert_eq!(SCHEMA_VERSION, 13);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    (0..4).for_each(|i| journal.handle().append(record(0, i)).unwrap());
    journal.close().unwrap();
    crate::fixtures::downgrade_to(&path, 6);
    assert!(matches!(
        open_readonly(&path),
        Err(StoreError::SchemaMismatch { found: 6, .. })
    ));

    let journal = Journal::open(&path, 8).unwrap();
    journal
        .handle()
        .append(sa(RUN, 1, entered(1, "long", -2.0, 10)))
        .unwrap();
    assert_eq!(journal.close().unwrap().statarb, 1);
    let versions: Vec<i64> = {
        let conn = Connection::open(&path).unwrap();
        let mut stmt = conn
            .prepare("SELECT version FROM schema_migrations ORDER BY version")
            .unwrap();
        stmt.query_map([], |r| r.get(0))
            .unwrap()
            .map(Result::unwrap)
            .collect()
    };
    assert_eq!(versions, (1..=SCHEMA_VERSION).collect::<Vec<i64>>());

    let reader = open_readonly(&path).unwrap();
    assert_eq!(reader.candidates(RUN).unwrap().len(), 1);
    assert_eq!(reader.statarb_trades(RUN).unwrap().len(), 1);
    assert_eq!(reader.statarb_open_trades().unwrap().len(), 1);
}

#[test]
fn a_v9_journals_open_trade_upgrades_with_no_third_asset_fee() {
    let dir = tempfile::tempdir().unwrap();
    let path = journal_with(
        &dir,
        vec![
            sa(RUN, 1, entered(1, "long", -2.0, 10_000)),
            sa(RUN, 2, fill(1, ETH, "buy", 3, 3_000)),
        ],
    );
    crate::fixtures::downgrade_to(&path, 9);
    assert!(matches!(
        open_readonly(&path),
        Err(StoreError::SchemaMismatch { found: 9, .. })
    ));
    Journal::open(&path, 8).unwrap().close().unwrap();
    let reader = open_readonly(&path).unwrap();
    let open = reader.statarb_open_trades().unwrap();
    assert_eq!(open.len(), 1);
    assert_eq!(
        (
            open[0].cash_units,
            open[0].fees_units,
            open[0].fee_other_units
        ),
        (-3_000, 3, 0)
    );
    assert_eq!(reader.statarb_fills(RUN).unwrap()[0].fee_other_units, 0);
}
