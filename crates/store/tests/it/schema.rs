//! Migrations on a real file: re-opening is a no-op, a newer schema is refused.

use kestrel_store::{Journal, Record, SCHEMA_VERSION, StoreError, open_readonly};
use rusqlite::Connection;

use crate::fixtures::{RUN, disagreement, record};

fn applied_versions(path: &std::path::Path) -> Vec<i64> {
    let conn = Connection::open(path).unwrap();
    let mut stmt = conn
        .prepare("SELECT version FROM schema_migrations ORDER BY version")
        .unwrap();
    stmt.query_map([], |r| r.get(0))
        .unwrap()
        .map(Result::unwrap)
        .collect()
}

#[test]
fn opening_twice_applies_migrations_once_and_keeps_data() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    journal.handle().append(record(0, 1)).unwrap();
    journal.close().unwrap();
    let expected: Vec<i64> = (1..=SCHEMA_VERSION).collect();
    assert_eq!(applied_versions(&path), expected);

    let journal = Journal::open(&path, 8).unwrap();
    journal.handle().append(record(0, 5)).unwrap();
    let stats = journal.close().unwrap();
    assert_eq!(stats.candidates, 1);
    assert_eq!(applied_versions(&path), expected);
    assert_eq!(
        open_readonly(&path).unwrap().candidates(RUN).unwrap().len(),
        2
    );
}

#[test]
fn the_database_is_in_wal_mode() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    Journal::open(&path, 8).unwrap().close().unwrap();
    let conn = Connection::open(&path).unwrap();
    // WAL is persistent in the file header, so a fresh connection reports it.
    let mode: String = conn
        .query_row("PRAGMA journal_mode", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, "wal");
}

#[test]
fn a_database_from_a_newer_build_is_refused() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    Journal::open(&path, 8).unwrap().close().unwrap();
    let newer = SCHEMA_VERSION + 1;
    Connection::open(&path)
        .unwrap()
        .execute(
            "INSERT INTO schema_migrations (version, applied_at) VALUES (?1, 0)",
            [newer],
        )
        .unwrap();

    let err = Journal::open(&path, 8).unwrap_err();
    assert!(
        matches!(err, StoreError::NewerSchema { found, known } if found == newer && known == SCHEMA_VERSION),
        "{err:?}"
    );
    assert!(err.to_string().contains("newer"), "{err}");
    let err = open_readonly(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaMismatch { found, .. } if found == newer),
        "{err:?}"
    );
}

#[test]
fn a_file_that_is_not_a_journal_is_refused_by_the_reader() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("other.sqlite");
    Connection::open(&path)
        .unwrap()
        .execute_batch("CREATE TABLE t (x INTEGER);")
        .unwrap();
    let err = open_readonly(&path).unwrap_err();
    assert!(
        matches!(err, StoreError::SchemaMismatch { found: 0, .. }),
        "{err:?}"
    );
    assert!(matches!(
        open_readonly(&dir.path().join("missing.sqlite")),
        Err(StoreError::Open { .. })
    ));
}

#[test]
fn a_v3_journal_file_upgrades_to_the_current_schema_and_keeps_its_rows() {
    assert_eq!(SCHEMA_VERSION, 13);
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    (0..8).for_each(|i| journal.handle().append(record(0, i)).unwrap());
    journal.close().unwrap();
    crate::fixtures::downgrade_to(&path, 3);
    assert_eq!(applied_versions(&path), vec![1, 2, 3]);
    // This build reads only v13, so the old file is refused until a writer upgrades it.
    assert!(matches!(
        open_readonly(&path),
        Err(StoreError::SchemaMismatch { found: 3, .. })
    ));

    let journal = Journal::open(&path, 8).unwrap();
    let rec = Record::Disagreement {
        run_id: RUN.to_owned(),
        ev: disagreement(0, 5),
    };
    journal.handle().append(rec).unwrap();
    assert_eq!(journal.close().unwrap().disagreements, 1);
    assert_eq!(
        applied_versions(&path),
        vec![1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13]
    );

    let reader = open_readonly(&path).unwrap();
    assert_eq!(reader.candidates(RUN).unwrap().len(), 2);
    assert_eq!(reader.bundles(RUN).unwrap().len(), 2);
    let rows = reader.disagreements(RUN).unwrap();
    assert_eq!(rows.len(), 1);
    assert_eq!(rows[0].ev, disagreement(0, 5));
}
