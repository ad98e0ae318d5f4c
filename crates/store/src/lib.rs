//! `kestrel-store`: the run journal, kept in SQLite.
//!
//! Everything the engine decides is written down here so a run can be reported, audited and
//! replayed: the run's start (mode and redacted config), every skipped pending transaction with
//! its reason and stage timings, every profitable candidate, every bundle built (with its
//! JSON-RPC body in dry-run), every backrun whose revm confirmation disagreed with the analytic
//! prediction (both profits and how revm ended), every outcome seen on chain, the
//! cross-exchange lane's trades, orders, fills, PnL, holdings and kill switch trips and
//! resets, the stat-arb (pairs) lane's pair selections, trades (entry and exit) and leg fills,
//! the candles fetched from the venues (one row per bar, a bar fetched again replacing it),
//! and the run's end with its summary.
//!
//! Data flow:
//!
//! ```text
//! producers (slow lane)            writer thread (owns the one Connection)
//! JournalHandle::append ──► bounded channel ──► block for 1 record, drain up to 1024 more
//! JournalHandle::try_append                     └─► one transaction per batch, commit
//!                                                                 │
//! Reader (open_readonly) ◄──────────── journal.sqlite (WAL) ◄─────┘
//! ```
//!
//! **Invariant:** a record that `append` accepted is written, or counted as failed and reported
//! by [`Journal::close`]; nothing is dropped silently. The queue is bounded, so overload shows as
//! backpressure (`append` blocks) or as [`StoreError::Full`] from `try_append`.
//!
//! Amounts are stored as decimal TEXT (never REAL; only the stat-arb lane's statistics and
//! z-scores are REAL, NULL when not finite), hashes and addresses as `0x` lowercase hex
//! TEXT, so every `U256` survives a round trip exactly.

#![forbid(unsafe_code)]

mod codec;
mod error;
mod insert;
mod journal;
mod reader;
mod record;
mod schema;

pub use error::StoreError;
pub use journal::{Journal, JournalHandle, JournalStats};
pub use reader::{
    BundleRow, CandidateRow, CandleRow, DisagreementRow, KillSwitchEvent, KillSwitchRow,
    OutcomeRow, PositionRow, Reader, RelayAnswerRow, RunRow, StatArbFillRow, StatArbOpenTrade,
    StatArbPairRow, StatArbTradeRow, open_readonly,
};
pub use record::{Record, RecordKind, StatArbRecord, XarbRecord, mode_key};
pub use schema::SCHEMA_VERSION;
