//! Deterministic test records. Expected values are the inputs themselves: the journal must
//! hand back exactly what it was given.

use kestrel_store::Record;
use kestrel_types::{
    Address, B256, BundleEvent, CandidateEvent, DecodePath, DisagreementEvent, RouteKind,
    SimOutcome, SkipReason, Stamps, U256,
};

pub const RUN: &str = "run-1";

/// Amounts that stress the decimal encoding: both ends of the range and values above 2^128.
pub fn amount(i: u64) -> U256 {
    match i % 5 {
        0 => U256::MAX,
        1 => U256::ZERO,
        2 => U256::from(i),
        3 => U256::MAX - U256::from(i),
        _ => U256::from(i) << 128,
    }
}

/// A hash unique to (producer, index).
pub fn hash(producer: u64, i: u64) -> B256 {
    B256::from(U256::from(producer * 1_000_000 + i))
}

pub fn candidate(producer: u64, i: u64) -> CandidateEvent {
    CandidateEvent {
        tx_hash: hash(producer, i),
        block: 7_000_000 + i,
        pool_buy: Address::left_padding_from(&i.to_be_bytes()),
        pool_sell: Address::repeat_byte(0xab),
        amount_in: amount(i),
        profit_gross: amount(i + 1),
        profit_net: amount(i + 2),
        gas_cost_wei: amount(i + 3),
        route_kind: RouteKind::ALL[(i % 3) as usize],
        decode_path: DecodePath::ALL[(i % 4) as usize],
        hops: 2 + (i % 2) as u8,
        pool_mid: if i % 2 == 1 {
            Address::repeat_byte(0xcd)
        } else {
            Address::ZERO
        },
    }
}

pub fn bundle(producer: u64, i: u64) -> BundleEvent {
    let base = 1_000_000 + i * 10;
    // Every other bundle stops after Decide, so unreached stages (0 stamps) round-trip too.
    let tail = if i.is_multiple_of(2) {
        [base + 7, base + 9]
    } else {
        [0, 0]
    };
    BundleEvent {
        candidate: candidate(producer, i),
        backrun_hash: B256::repeat_byte(0x11) ^ hash(producer, i),
        floor: amount(i + 4),
        nonce: i,
        relays_written: u8::try_from(i % 4).unwrap(),
        stamps: Stamps {
            recv_ns: base,
            stage_end_ns: [base + 1, base + 2, base + 5, tail[0], tail[1]],
        },
    }
}

/// A disagreement that cycles through every route kind, decode path and outcome, with amounts
/// at both ends of the range.
pub fn disagreement(producer: u64, i: u64) -> DisagreementEvent {
    let pick = |n: u64| usize::try_from(i % n).unwrap();
    DisagreementEvent {
        tx_hash: hash(producer, i),
        block: 7_000_000 + i,
        route_kind: RouteKind::ALL[pick(3)],
        decode_path: DecodePath::ALL[pick(4)],
        predicted_gross: amount(i),
        simulated_gross: amount(i + 1),
        outcome: SimOutcome::ALL[pick(6)],
        gas_used: if i.is_multiple_of(7) { 0 } else { 21_000 + i },
    }
}

pub fn skip_reason(i: u64) -> SkipReason {
    SkipReason::ALL[usize::try_from(i).unwrap() % SkipReason::ALL.len()]
}

/// The `i`-th record of a producer: skips, candidates, bundles and outcomes in turn.
pub fn record(producer: u64, i: u64) -> Record {
    let run_id = RUN.to_owned();
    match i % 4 {
        0 => Record::Skip {
            run_id,
            tx_hash: hash(producer, i),
            reason: skip_reason(i / 4),
            recv_ns: i,
            decode_ns: Some(i % 3),
            filter_ns: i.is_multiple_of(2).then_some(5),
            decide_ns: None,
        },
        1 => Record::Candidate {
            run_id,
            ev: candidate(producer, i),
        },
        2 => Record::Bundle {
            run_id,
            ev: bundle(producer, i),
            body: i
                .is_multiple_of(3)
                .then(|| format!("{{\"jsonrpc\":\"2.0\",\"id\":{i}}}")),
        },
        _ => Record::Outcome {
            run_id,
            backrun_hash: hash(producer, i),
            block: i,
            landed: i.is_multiple_of(3),
            realized_profit_wei: i.is_multiple_of(3).then(|| amount(i + 5)),
            predicted_profit_wei: amount(i + 6),
            note: format!("note {producer}/{i}"),
        },
    }
}

/// What undoes each migration from version 4 on, in version order. Every one of them only adds
/// tables (with their indexes) or nullable columns, so undoing it is exact.
const UNDO: &[(i64, &str)] = &[
    (4, "DROP TABLE sim_disagreements;"),
    (
        5,
        "DROP TABLE xarb_trades; DROP TABLE xarb_orders; DROP TABLE xarb_fills;
         DROP TABLE xarb_closes; DROP TABLE xarb_positions;",
    ),
    (6, "DROP TABLE candles;"),
    (
        7,
        "DROP TABLE statarb_pairs; DROP TABLE statarb_trades; DROP TABLE statarb_fills;",
    ),
    (8, "DROP TABLE xarb_kill_switch;"),
    (9, "ALTER TABLE xarb_fills DROP COLUMN fee_other_units;"),
    (10, "ALTER TABLE statarb_fills DROP COLUMN fee_other_units;"),
    (
        11,
        "ALTER TABLE xarb_positions DROP COLUMN fee_funds_units;",
    ),
    (12, "DROP TABLE relay_answers;"),
    (13, "ALTER TABLE xarb_closes DROP COLUMN open_base_units;"),
];

/// Turns a current journal file back into the layout of schema `version` (at least 3): each
/// later migration undone, newest first, and its version row deleted.
pub fn downgrade_to(path: &std::path::Path, version: i64) {
    assert_eq!(
        UNDO.last().map(|u| u.0),
        Some(kestrel_store::SCHEMA_VERSION),
        "a new migration needs its undo here"
    );
    assert!(version >= 3);
    let conn = rusqlite::Connection::open(path).unwrap();
    for (v, sql) in UNDO.iter().rev().filter(|u| u.0 > version) {
        conn.execute_batch(sql)
            .unwrap_or_else(|e| panic!("undoing v{v}: {e}"));
    }
    conn.execute(
        "DELETE FROM schema_migrations WHERE version > ?1",
        [version],
    )
    .unwrap();
}
