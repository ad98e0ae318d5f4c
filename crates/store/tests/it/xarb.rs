//! Cross-exchange lane records: written, read back exactly, and each leg's latest holdings
//! found across runs (what a restart reloads).

use kestrel_store::{Journal, Record, XarbRecord, open_readonly};

fn position(run: &str, leg: u32, base: u128, quote: u128) -> Record {
    Record::Xarb {
        run_id: run.into(),
        unix_ms: 1,
        ev: XarbRecord::Position {
            leg,
            venue: format!("venue{leg}"),
            base_units: base,
            quote_units: quote,
        },
    }
}

#[test]
fn the_latest_holdings_of_each_leg_survive_a_restart() {
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).expect("open");
    let h = journal.handle();
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
            error: Some("51008: insufficient balance".into()),
        },
    })
    .expect("append");
    h.append(position("run-1", 0, 6, 9)).expect("append");
    let stats = journal.close().expect("close");
    assert_eq!((stats.xarb, stats.failed), (5, 0));

    // A second run (after a restart) writes leg 1 only.
    let journal = Journal::open(&path, 16).expect("reopen");
    journal
        .handle()
        .append(position("run-2", 1, 70, 80))
        .expect("append");
    journal.close().expect("close");

    let reader = open_readonly(&path).expect("reader");
    let latest = reader.latest_xarb_positions().expect("positions");
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
