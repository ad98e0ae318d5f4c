//! Many records from several producers, read back exactly.

use std::collections::{BTreeMap, HashMap};

use kestrel_store::{Journal, Record, RecordKind, StoreError, open_readonly};
use kestrel_types::{B256, Mode, SkipReason, U256};

use crate::fixtures::{RUN, bundle, candidate, disagreement, hash, record, skip_reason};

const PER_PRODUCER: u64 = 5_000;
const PRODUCERS: u64 = 2;

#[test]
fn ten_thousand_mixed_records_from_two_threads_round_trip_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 64).unwrap();
    let start = Record::RunStarted {
        run_id: RUN.to_owned(),
        mode: Mode::DryRun,
        config_toml: "mode = \"dry_run\"\n".to_owned(),
        started_unix_ms: 1_700_000_000_000,
    };
    journal.handle().append(start).unwrap();
    let producers: Vec<_> = (0..PRODUCERS)
        .map(|p| {
            let handle = journal.handle();
            std::thread::spawn(move || {
                (0..PER_PRODUCER).for_each(|i| handle.append(record(p, i)).unwrap())
            })
        })
        .collect();
    producers.into_iter().for_each(|t| t.join().unwrap());
    let summary = r#"{"bundles":2500,"profit_wei":"115792089237316195423570985008687907853269984665640564039457584007913129639935"}"#;
    let end = Record::RunEnded {
        run_id: RUN.to_owned(),
        ended_unix_ms: 1_700_000_060_000,
        summary_json: summary.to_owned(),
    };
    journal.handle().append(end).unwrap();
    let stats = journal.close().unwrap();

    let quarter = PRODUCERS * PER_PRODUCER / 4;
    assert_eq!(
        (stats.skips, stats.candidates, stats.bundles, stats.outcomes),
        (quarter, quarter, quarter, quarter)
    );
    assert_eq!(
        (stats.runs_started, stats.runs_ended, stats.failed),
        (1, 1, 0)
    );
    assert_eq!(stats.written(), PRODUCERS * PER_PRODUCER + 2);

    let reader = open_readonly(&path).unwrap();
    check_skips(&reader.count_skips_by_reason(RUN).unwrap());
    check_candidates(&reader);
    check_bundles(&reader);
    check_outcomes(&reader);
    let run = reader.run(RUN).unwrap().unwrap();
    assert_eq!(run.mode.as_deref(), Some("DryRun"));
    assert_eq!(
        (run.started_unix_ms, run.ended_unix_ms),
        (Some(1_700_000_000_000), Some(1_700_000_060_000))
    );
    let parsed: serde_json::Value =
        serde_json::from_str(run.summary_json.as_deref().unwrap()).unwrap();
    assert_eq!(
        parsed["profit_wei"]
            .as_str()
            .unwrap()
            .parse::<U256>()
            .unwrap(),
        U256::MAX
    );
    // Another run's queries see nothing of this one.
    assert!(reader.candidates("other-run").unwrap().is_empty());
    assert!(
        reader
            .count_skips_by_reason("other-run")
            .unwrap()
            .is_empty()
    );
}

fn check_skips(by_reason: &BTreeMap<String, u64>) {
    let mut expected: BTreeMap<String, u64> = BTreeMap::new();
    for i in (0..PER_PRODUCER).filter(|i| i.is_multiple_of(4)) {
        *expected
            .entry(skip_reason(i / 4).as_str().to_owned())
            .or_default() += PRODUCERS;
    }
    assert_eq!(by_reason, &expected);
    assert_eq!(
        by_reason.get("unknown_pool").copied(),
        expected.get(SkipReason::UnknownPool.as_str()).copied()
    );
}

/// Splits a hash back into (producer, index) and checks each producer's rows kept its order.
fn producer_index(h: &B256) -> (u64, u64) {
    let n: u64 = U256::from_be_bytes(h.0).to();
    (n / 1_000_000, n % 1_000_000)
}

fn assert_in_send_order(keys: impl Iterator<Item = (u64, u64)>) {
    let mut last: HashMap<u64, u64> = HashMap::new();
    for (p, i) in keys {
        if let Some(prev) = last.insert(p, i) {
            assert!(i > prev, "producer {p}: record {i} written after {prev}");
        }
    }
}

fn check_candidates(reader: &kestrel_store::Reader) {
    let rows = reader.candidates(RUN).unwrap();
    assert_eq!(rows.len() as u64, PRODUCERS * PER_PRODUCER / 4);
    let mut saw_max = false;
    for row in &rows {
        let (p, i) = producer_index(&row.ev.tx_hash);
        assert_eq!(row.ev, candidate(p, i));
        saw_max |= row.ev.amount_in == U256::MAX;
    }
    assert!(saw_max, "U256::MAX must be among the amounts");
    assert_in_send_order(rows.iter().map(|r| producer_index(&r.ev.tx_hash)));
}

fn check_bundles(reader: &kestrel_store::Reader) {
    let rows = reader.bundles(RUN).unwrap();
    assert_eq!(rows.len() as u64, PRODUCERS * PER_PRODUCER / 4);
    for row in &rows {
        let (p, i) = producer_index(&row.ev.candidate.tx_hash);
        assert_eq!(row.ev, bundle(p, i));
        let body = i
            .is_multiple_of(3)
            .then(|| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i}}}"));
        assert_eq!(row.body, body);
    }
    assert_in_send_order(rows.iter().map(|r| producer_index(&r.ev.candidate.tx_hash)));
}

fn check_outcomes(reader: &kestrel_store::Reader) {
    let rows = reader.outcomes(RUN).unwrap();
    assert_eq!(rows.len() as u64, PRODUCERS * PER_PRODUCER / 4);
    for row in &rows {
        let (p, i) = producer_index(&row.backrun_hash);
        let Record::Outcome {
            backrun_hash,
            block,
            landed,
            realized_profit_wei,
            predicted_profit_wei,
            note,
            ..
        } = record(p, i)
        else {
            panic!("record {i} is not an outcome");
        };
        assert_eq!(row.backrun_hash, backrun_hash);
        assert_eq!((row.block, row.landed), (block, landed));
        assert_eq!(row.realized_profit_wei, realized_profit_wei);
        assert_eq!(row.predicted_profit_wei, predicted_profit_wei);
        assert_eq!(row.note, note);
    }
}

#[test]
fn dropping_the_journal_writes_everything_queued() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).unwrap();
    let handle = journal.handle();
    (0..400).for_each(|i| handle.append(record(0, i)).unwrap());
    drop(journal);
    assert!(matches!(
        handle.append(record(0, 400)),
        Err(StoreError::Closed)
    ));
    assert!(matches!(
        handle.try_append(record(0, 401)),
        Err(StoreError::Closed)
    ));
    let reader = open_readonly(&path).unwrap();
    assert_eq!(reader.candidates(RUN).unwrap().len(), 100);
    assert_eq!(reader.bundles(RUN).unwrap().len(), 100);
    assert_eq!(reader.outcomes(RUN).unwrap().len(), 100);
    assert_eq!(
        reader
            .count_skips_by_reason(RUN)
            .unwrap()
            .values()
            .sum::<u64>(),
        100
    );
}

#[test]
fn a_record_that_cannot_be_stored_is_reported_by_close() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).unwrap();
    let handle = journal.handle();
    (0..8).for_each(|i| handle.append(record(0, i)).unwrap());
    // SQLite integers are i64: a stamp above i64::MAX cannot be stored, and must not panic.
    let bad = Record::Skip {
        run_id: RUN.to_owned(),
        tx_hash: B256::ZERO,
        reason: SkipReason::NoState,
        recv_ns: u64::MAX,
        decode_ns: None,
        filter_ns: None,
        decide_ns: None,
    };
    handle.append(bad).unwrap();
    (8..16).for_each(|i| handle.append(record(0, i)).unwrap());
    let err = journal.close().unwrap_err();
    let StoreError::WriteFailed {
        failed,
        first_kind,
        stats,
        ..
    } = err
    else {
        panic!("expected WriteFailed, got {err:?}");
    };
    assert_eq!((failed, first_kind), (1, RecordKind::Skip));
    // The good records around it were all written.
    assert_eq!(stats.written(), 16);
    let reader = open_readonly(&path).unwrap();
    assert_eq!(
        reader
            .count_skips_by_reason(RUN)
            .unwrap()
            .values()
            .sum::<u64>(),
        4
    );
    assert_eq!(reader.candidates(RUN).unwrap().len(), 4);
}

#[test]
fn disagreements_round_trip_exactly_and_stay_in_their_run() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    let handle = journal.handle();
    let n = 60u64;
    for i in 0..n {
        let run_id = if i % 5 == 4 { "other-run" } else { RUN }.to_owned();
        handle
            .append(Record::Disagreement {
                run_id,
                ev: disagreement(0, i),
            })
            .unwrap();
    }
    // Mixed with the other kinds, which must not leak into the disagreement query.
    (0..8).for_each(|i| handle.append(record(0, i)).unwrap());
    let stats = journal.close().unwrap();
    assert_eq!(stats.disagreements, n);
    assert_eq!(stats.written(), n + 8);

    let reader = open_readonly(&path).unwrap();
    let rows = reader.disagreements(RUN).unwrap();
    let want: Vec<_> = (0..n).filter(|i| i % 5 != 4).collect();
    assert_eq!(rows.len(), want.len());
    for (row, i) in rows.iter().zip(want) {
        assert_eq!(row.run_id, RUN);
        assert_eq!(row.ev, disagreement(0, i));
    }
    let outcomes: std::collections::BTreeSet<_> =
        rows.iter().map(|r| r.ev.outcome.as_str()).collect();
    assert_eq!(outcomes.len(), kestrel_types::SimOutcome::ALL.len());
    assert!(rows.iter().any(|r| r.ev.predicted_gross == U256::MAX));
    assert_eq!(reader.disagreements("other-run").unwrap().len(), 12);
    assert!(reader.disagreements("no-such-run").unwrap().is_empty());
}

#[test]
fn a_damaged_disagreement_row_is_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    let rec = |i| Record::Disagreement {
        run_id: RUN.to_owned(),
        ev: disagreement(0, i),
    };
    journal.handle().append(rec(1)).unwrap();
    journal.close().unwrap();
    let conn = rusqlite::Connection::open(&path).unwrap();
    for (column, bad) in [
        ("outcome", "Agreed"),
        ("simulated_gross_wei", "1e18"),
        ("route_kind", "v4"),
    ] {
        let good: String = conn
            .query_row(
                &format!("SELECT {column} FROM sim_disagreements"),
                [],
                |r| r.get(0),
            )
            .unwrap();
        let set = |value: &str| {
            conn.execute(
                &format!("UPDATE sim_disagreements SET {column} = ?1"),
                [value],
            )
            .unwrap();
        };
        set(bad);
        let err = open_readonly(&path)
            .unwrap()
            .disagreements(RUN)
            .unwrap_err();
        assert!(
            matches!(&err, StoreError::Corrupt { table: "sim_disagreements", column: c, value }
                if *c == column && value == bad),
            "{column}: {err:?}"
        );
        set(&good);
    }
    let rows = open_readonly(&path).unwrap().disagreements(RUN).unwrap();
    assert_eq!(rows.first().map(|r| r.ev), Some(disagreement(0, 1)));
}

#[test]
fn relay_answers_read_back_as_written() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 16).unwrap();
    let handle = journal.handle();
    let answers: Vec<Record> = (0..6u64)
        .map(|i| Record::RelayAnswer {
            run_id: RUN.to_owned(),
            victim: hash(9, i),
            relay: format!("relay-{}", i % 2),
            method: if i % 2 == 0 {
                "eth_callBundle"
            } else {
                "eth_sendBundle"
            }
            .to_owned(),
            // 0: no answer came; 403: a rejection; 200: an answer.
            http_status: [200, 403, 0][usize::try_from(i % 3).unwrap()],
            ok: i % 3 == 0,
            bundle_hash: (i % 3 == 0).then(|| hash(10, i)),
            detail: format!("detail {i} with 'quotes' and \u{e9}"),
        })
        .collect();
    for a in &answers {
        handle.append(a.clone()).unwrap();
    }
    let stats = journal.close().unwrap();
    assert_eq!(stats.relay_answers, 6);
    let reader = kestrel_store::open_readonly(&path).unwrap();
    let rows = reader.relay_answers(RUN).unwrap();
    assert_eq!(rows.len(), answers.len());
    for (row, rec) in rows.iter().zip(&answers) {
        let Record::RelayAnswer {
            run_id,
            victim,
            relay,
            method,
            http_status,
            ok,
            bundle_hash,
            detail,
        } = rec
        else {
            unreachable!()
        };
        assert_eq!(
            (&row.run_id, row.victim, &row.relay, &row.method),
            (run_id, *victim, relay, method)
        );
        assert_eq!((row.http_status, row.ok), (*http_status, *ok));
        assert_eq!((row.bundle_hash, &row.detail), (*bundle_hash, detail));
    }
    assert!(reader.relay_answers("another run").unwrap().is_empty());
}
