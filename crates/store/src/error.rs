//! What can go wrong with the journal.

use std::path::PathBuf;

use crate::journal::JournalStats;
use crate::record::RecordKind;

/// Errors from opening, writing or reading the journal.
#[derive(Debug, thiserror::Error)]
pub enum StoreError {
    /// The database file could not be opened or configured.
    #[error("cannot open journal {path}: {source}")]
    Open {
        /// The file asked for.
        path: PathBuf,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// A schema migration failed; the database is left at the version before it.
    #[error("journal migration to version {version} failed: {source}")]
    Migration {
        /// The version being applied.
        version: i64,
        /// SQLite's reason.
        source: rusqlite::Error,
    },
    /// The database was written by a newer Kestrel than this one.
    #[error(
        "journal schema version {found} is newer than this build knows ({known}); upgrade Kestrel"
    )]
    NewerSchema {
        /// Highest version recorded in the database.
        found: i64,
        /// Highest version this build knows.
        known: i64,
    },
    /// A reader found a schema version other than the one it reads.
    #[error(
        "journal schema version {found} does not match the version this build reads ({expected})"
    )]
    SchemaMismatch {
        /// Version recorded in the database (0 when none).
        found: i64,
        /// Version this build reads.
        expected: i64,
    },
    /// `try_append` found the queue full; the record was not accepted. Retryable.
    #[error("journal queue is full")]
    Full,
    /// The journal is closed (or its writer is gone); the record was not accepted.
    #[error("journal is closed")]
    Closed,
    /// The writer thread could not be started.
    #[error("cannot start the journal writer thread: {0}")]
    Spawn(#[source] std::io::Error),
    /// The writer thread panicked; what it had not committed is lost.
    #[error("the journal writer thread panicked")]
    WriterPanicked,
    /// Some accepted records could not be written. `stats` counts what was.
    #[error("{failed} journal record(s) failed to write; first: {first_kind:?}: {source}")]
    WriteFailed {
        /// How many records failed.
        failed: u64,
        /// Kind of the first record that failed.
        first_kind: RecordKind,
        /// Why the first one failed.
        source: rusqlite::Error,
        /// What was written.
        stats: Box<JournalStats>,
    },
    /// A query failed.
    #[error("journal query failed: {0}")]
    Query(#[from] rusqlite::Error),
    /// A stored value does not parse as its type (the file was edited or damaged).
    #[error("journal column {table}.{column} holds an invalid value {value:?}")]
    Corrupt {
        /// Table.
        table: &'static str,
        /// Column.
        column: &'static str,
        /// The text found.
        value: String,
    },
}

impl StoreError {
    /// Whether trying the same call again later may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, StoreError::Full)
    }
}
