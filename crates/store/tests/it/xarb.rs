//! Cross-exchange lane records: written, read back exactly, each leg's latest holdings found
//! across the runs of one mode (what a restart in that mode reloads), and the kill switch's
//! trips and resets (whether a restart starts tripped).

use kestrel_store::{
    Journal, JournalHandle, KillSwitchEvent, KillSwitchRow, Record, XarbRecord, open_readonly,
};
use kestrel_types::Mode;

/// The run's start, as `kestrel run` journals it.
fn started(h: &JournalHandle, run: &str, mode: Mode) {
    h.append(Record::RunStarted {
        run_id: run.into(),
        mode,
        config_toml: String::new(),
        started_unix_ms: 1,
    })
    .expect("append");
}

fn position(run: &str, leg: u32, base: u128, quote: u128) -> Record {
    position_with_funds(run, leg, base, quote, None)
}

fn position_with_funds(
    run: &str,
    leg: u32,
    base: u128,
    quote: u128,
    fee_funds: Option<u128>,
) -> Record {
    Record::Xarb {
        run_id: run.into(),
        unix_ms: 1,
        ev: XarbRecord::Position {
            leg,
            venue: format!("venue{leg}"),
            base_units: base,
            quote_units: quote,
            fee_funds_units: fee_funds,
        },
    }
}

#[test]
fn a_paper_positions_fee_funds_come_back_and_a_leg_without_them_reads_none() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).expect("open");
    let h = journal.handle();
    started(&h, "paper-1", Mode::DryRun);
    // Past u64: the funds are decimal TEXT like every amount.
    let funds = 123_456_789_012_345_678_901_234_u128;
    h.append(position_with_funds("paper-1", 0, 5, 6, Some(funds + 1)))
        .expect("append");
    h.append(position_with_funds("paper-1", 0, 5, 6, Some(funds)))
        .expect("append");
    h.append(position_with_funds("paper-1", 1, 7, 8, None))
        .expect("append");
    journal.close().expect("close");
    let reader = open_readonly(&path).expect("reader");
    let got: Vec<(u32, Option<u128>)> = reader
        .latest_xarb_positions(Mode::DryRun)
        .expect("positions")
        .iter()
        .map(|p| (p.leg, p.fee_funds_units))
        .collect();
    assert_eq!(got, vec![(0, Some(funds)), (1, None)]);
}

#[test]
fn the_latest_holdings_of_each_leg_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).expect("open");
    let h = journal.handle();
    started(&h, "run-1", Mode::DryRun);
    h.append(position("run-1", 0, 5, u128::MAX))
        .expect("append");
    h.append(position("run-1", 1, 7, 8)).expect("append");
    h.append(Record::Xarb {
        run_id: "run-1".into(),
        unix_ms: 2,
        ev: XarbRecord::Closed {
            trade_id: 1,
            pnl_units: -123_456_789_012_345_678_901_234,
            hedged: true,
            open_base_units: -5,
        },
    })
    .expect("append");
    h.append(Record::Xarb {
        run_id: "run-1".into(),
        unix_ms: 2,
        ev: XarbRecord::Fill {
            trade_id: 1,
            role: "sell".into(),
            venue: "okx".into(),
            size_units: 0,
            notional_units: 0,
            fee_quote_units: 0,
            fee_base_units: 0,
            fee_other_units: 0,
            error: Some("51008: insufficient balance".into()),
        },
    })
    .expect("append");
    h.append(position("run-1", 0, 6, 9)).expect("append");
    let stats = journal.close().expect("close");
    assert_eq!((stats.xarb, stats.failed), (5, 0));

    // A second run (after a restart) writes leg 1 only.
    let journal = Journal::open(&path, 16).expect("reopen");
    started(&journal.handle(), "run-2", Mode::DryRun);
    journal
        .handle()
        .append(position("run-2", 1, 70, 80))
        .expect("append");
    journal.close().expect("close");

    let reader = open_readonly(&path).expect("reader");
    let latest = reader
        .latest_xarb_positions(Mode::DryRun)
        .expect("positions");
    let got: Vec<(u32, &str, u128, u128)> = latest
        .iter()
        .map(|p| (p.leg, p.run_id.as_str(), p.base_units, p.quote_units))
        .collect();
    assert_eq!(got, vec![(0, "run-1", 6, 9), (1, "run-2", 70, 80)]);
    assert_eq!(
        reader.xarb_pnls("run-1").expect("pnl"),
        vec![-123_456_789_012_345_678_901_234]
    );
    assert!(reader.xarb_pnls("run-2").expect("pnl").is_empty());
}

#[test]
fn a_restart_reloads_only_the_holdings_of_runs_in_its_own_mode() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).expect("open");
    let h = journal.handle();
    started(&h, "paper-1", Mode::DryRun);
    h.append(position("paper-1", 0, 5, 6)).expect("append");
    h.append(position("paper-1", 1, 7, 8)).expect("append");
    // A live run on the same journal, after the paper one: its rows are the newest of leg 0.
    started(&h, "live-1", Mode::Live);
    h.append(position("live-1", 0, 50, 60)).expect("append");
    // A run whose start was never journaled: its mode is unknown, so no restart takes it.
    h.append(position("orphan", 1, 70, 80)).expect("append");
    journal.close().expect("close");

    let reader = open_readonly(&path).expect("reader");
    let legs = |mode| -> Vec<(u32, String, u128, u128)> {
        reader
            .latest_xarb_positions(mode)
            .expect("positions")
            .into_iter()
            .map(|p| (p.leg, p.run_id, p.base_units, p.quote_units))
            .collect()
    };
    assert_eq!(
        legs(Mode::DryRun),
        vec![(0, "paper-1".into(), 5, 6), (1, "paper-1".into(), 7, 8)]
    );
    assert_eq!(legs(Mode::Live), vec![(0, "live-1".into(), 50, 60)]);
}

fn kill(run: &str, unix_ms: u64, ev: XarbRecord) -> Record {
    Record::Xarb {
        run_id: run.into(),
        unix_ms,
        ev,
    }
}

fn tripped(mode: Mode, reason: &str, amount: Option<u128>) -> XarbRecord {
    XarbRecord::Tripped {
        mode,
        reason: reason.into(),
        amount,
    }
}

fn reset(mode: Mode, note: &str) -> XarbRecord {
    XarbRecord::KillSwitchReset {
        mode,
        note: note.into(),
    }
}

#[test]
fn kill_switch_trips_and_resets_round_trip_and_the_latest_of_a_mode_holds() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).expect("open");
    let h = journal.handle();
    h.append(kill(
        "paper-1",
        10,
        tripped(Mode::DryRun, "drawdown", Some(u128::MAX)),
    ))
    .expect("append");
    h.append(kill("live-1", 11, tripped(Mode::Live, "unresolved", None)))
        .expect("append");
    h.append(kill(
        "reset-1",
        12,
        reset(Mode::DryRun, "looked at it; the feed was stale"),
    ))
    .expect("append");
    let stats = journal.close().expect("close");
    assert_eq!((stats.xarb, stats.failed), (3, 0));

    let reader = open_readonly(&path).expect("reader");
    assert_eq!(
        reader.xarb_kill_switch_history(Mode::DryRun).expect("rows"),
        vec![
            KillSwitchRow {
                run_id: "paper-1".into(),
                unix_ms: 10,
                mode: Mode::DryRun,
                event: KillSwitchEvent::Tripped {
                    reason: "drawdown".into(),
                    amount: Some(u128::MAX),
                },
            },
            KillSwitchRow {
                run_id: "reset-1".into(),
                unix_ms: 12,
                mode: Mode::DryRun,
                event: KillSwitchEvent::Reset {
                    note: "looked at it; the feed was stale".into(),
                },
            },
        ]
    );
    // Paper was reset; live was not: a paper reset does not re-arm live trading.
    assert_eq!(reader.xarb_unreset_trip(Mode::DryRun).expect("trip"), None);
    let live = reader.xarb_unreset_trip(Mode::Live).expect("trip");
    assert_eq!(
        live.map(|r| (r.run_id, r.event)),
        Some((
            "live-1".to_owned(),
            KillSwitchEvent::Tripped {
                reason: "unresolved".into(),
                amount: None,
            }
        ))
    );
    drop(reader);

    // A trip after the reset holds again.
    let journal = Journal::open(&path, 16).expect("reopen");
    journal
        .handle()
        .append(kill(
            "paper-2",
            20,
            tripped(Mode::DryRun, "order_rate", Some(3)),
        ))
        .expect("append");
    journal.close().expect("close");
    let reader = open_readonly(&path).expect("reader");
    let paper = reader.xarb_unreset_trip(Mode::DryRun).expect("trip");
    assert_eq!(
        paper.map(|r| (r.run_id, r.unix_ms)),
        Some(("paper-2".into(), 20))
    );
}

/// A close of `(realized PnL, base left open)`.
fn closed(run: &str, unix_ms: u64, trade_id: u64, (pnl_units, open): (i128, i128)) -> Record {
    kill(
        run,
        unix_ms,
        XarbRecord::Closed {
            trade_id,
            pnl_units,
            hedged: open != 0,
            open_base_units: open,
        },
    )
}

#[test]
fn the_pnl_a_restart_carries_is_every_close_of_its_mode_since_the_last_reset() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 64).expect("open");
    let h = journal.handle();
    started(&h, "paper-1", Mode::DryRun);
    started(&h, "live-1", Mode::Live);
    started(&h, "paper-2", Mode::DryRun);
    for rec in [
        closed("paper-1", 10, 1, (500, 3)),
        closed("live-1", 11, 1, (-7, -4)),
        closed("paper-1", 12, 2, (-900, -1)),
        kill("paper-1", 13, tripped(Mode::DryRun, "drawdown", Some(900))),
        // The reset wipes the slate for dry-run only.
        kill("admin", 20, reset(Mode::DryRun, "looked")),
        closed("paper-2", 21, 1, (40, 5)),
        closed("live-1", 22, 2, (-8, 0)),
        closed("paper-2", 23, 2, (-100, 2)),
    ] {
        h.append(rec).expect("append");
    }
    journal.close().expect("close");
    let reader = open_readonly(&path).expect("reader");
    assert_eq!(
        reader.xarb_pnls_since_reset(Mode::DryRun).expect("pnl"),
        vec![40, -100]
    );
    // Live was never reset: all of its closes, in order.
    assert_eq!(
        reader.xarb_pnls_since_reset(Mode::Live).expect("pnl"),
        vec![-7, -8]
    );
    // The base left open over the same closes.
    assert_eq!(reader.xarb_open_base_since_reset(Mode::DryRun).unwrap(), 7);
    assert_eq!(reader.xarb_open_base_since_reset(Mode::Live).unwrap(), -4);
    // A close journaled before schema v13 says nothing of its base: counted as none.
    drop(reader);
    rusqlite::Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO xarb_closes (run_id, trade_id, pnl_units, hedged, unix_ms)
             VALUES ('paper-2', 3, '1', 0, 24)",
            [],
        )
        .unwrap();
    let reader = open_readonly(&path).expect("reader");
    assert_eq!(
        reader.xarb_pnls_since_reset(Mode::DryRun).expect("pnl"),
        vec![40, -100, 1]
    );
    assert_eq!(reader.xarb_open_base_since_reset(Mode::DryRun).unwrap(), 7);
}
