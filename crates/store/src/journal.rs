//! The writer side: [`Journal`] owns the writer thread, [`JournalHandle`] feeds it.

use std::path::Path;
use std::sync::{Arc, PoisonError, RwLock};
use std::thread::JoinHandle;
use std::time::Duration;

use crossbeam_channel::{Receiver, Sender, TrySendError};
use rusqlite::{Connection, TransactionBehavior};

use crate::record::{Record, RecordKind};
use crate::{StoreError, insert, schema};

/// Records drained after the first one of a batch; the batch commits as one transaction.
const MAX_EXTRA_PER_BATCH: usize = 1024;

/// How long the writer waits for another connection's write lock before a batch fails.
const BUSY_TIMEOUT: Duration = Duration::from_secs(5);

/// Counts of what the writer committed, by kind, and of what failed.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct JournalStats {
    /// `RunStarted` rows written.
    pub runs_started: u64,
    /// `Skip` rows written.
    pub skips: u64,
    /// `Candidate` rows written.
    pub candidates: u64,
    /// `Bundle` rows written.
    pub bundles: u64,
    /// `Disagreement` rows written.
    pub disagreements: u64,
    /// `Outcome` rows written.
    pub outcomes: u64,
    /// `RelayAnswer` rows written.
    pub relay_answers: u64,
    /// `RunEnded` rows written.
    pub runs_ended: u64,
    /// Cross-exchange lane rows written.
    pub xarb: u64,
    /// Stat-arb lane records written.
    pub statarb: u64,
    /// `Candles` records written (each a batch of bars).
    pub candles: u64,
    /// Records accepted but not written (insert or commit failed).
    pub failed: u64,
    /// Transactions committed.
    pub batches: u64,
}

impl JournalStats {
    /// Every record written, all kinds together.
    pub fn written(&self) -> u64 {
        self.runs_started
            + self.skips
            + self.candidates
            + self.bundles
            + self.disagreements
            + self.outcomes
            + self.relay_answers
            + self.runs_ended
            + self.xarb
            + self.statarb
            + self.candles
    }

    fn count(&mut self, kind: RecordKind) {
        let slot = match kind {
            RecordKind::RunStarted => &mut self.runs_started,
            RecordKind::Skip => &mut self.skips,
            RecordKind::Candidate => &mut self.candidates,
            RecordKind::Bundle => &mut self.bundles,
            RecordKind::Disagreement => &mut self.disagreements,
            RecordKind::Outcome => &mut self.outcomes,
            RecordKind::RelayAnswer => &mut self.relay_answers,
            RecordKind::RunEnded => &mut self.runs_ended,
            RecordKind::Xarb => &mut self.xarb,
            RecordKind::StatArb => &mut self.statarb,
            RecordKind::Candles => &mut self.candles,
        };
        *slot += 1;
    }

    fn add(&mut self, other: &JournalStats) {
        self.runs_started += other.runs_started;
        self.skips += other.skips;
        self.candidates += other.candidates;
        self.bundles += other.bundles;
        self.disagreements += other.disagreements;
        self.outcomes += other.outcomes;
        self.relay_answers += other.relay_answers;
        self.runs_ended += other.runs_ended;
        self.xarb += other.xarb;
        self.statarb += other.statarb;
        self.candles += other.candles;
        self.failed += other.failed;
        self.batches += other.batches;
    }
}

/// The sender, shared by every handle. `None` once the journal is closed.
///
/// Handles send under the read lock and `close` takes the sender under the write lock, so once
/// `close` holds it no send is half-done: every record a send accepted is already queued, and
/// the writer drains the queue before it sees the channel disconnect.
#[derive(Debug)]
struct Shared {
    sender: RwLock<Option<Sender<Record>>>,
}

/// The SQLite journal: one writer thread that owns the connection.
#[derive(Debug)]
pub struct Journal {
    shared: Arc<Shared>,
    writer: Option<JoinHandle<WriterReport>>,
}

/// A cloneable way to send records to the journal.
#[derive(Clone, Debug)]
pub struct JournalHandle {
    shared: Arc<Shared>,
}

/// What the writer thread hands back when it ends.
#[derive(Debug, Default)]
struct WriterReport {
    stats: JournalStats,
    first_error: Option<(RecordKind, rusqlite::Error)>,
}

impl Journal {
    /// Opens or creates the journal at `path`, brings its schema up to date and starts the
    /// writer. `queue_capacity` bounds the records waiting to be written (at least 1).
    pub fn open(path: &Path, queue_capacity: usize) -> Result<Journal, StoreError> {
        let open_err = |source| StoreError::Open {
            path: path.to_path_buf(),
            source,
        };
        let mut conn = Connection::open(path).map_err(open_err)?;
        configure(&conn).map_err(open_err)?;
        schema::migrate(&mut conn, schema::MIGRATIONS)?;
        let (tx, rx) = crossbeam_channel::bounded(queue_capacity.max(1));
        let writer = std::thread::Builder::new()
            .name("kestrel-journal".to_owned())
            .spawn(move || run_writer(conn, &rx))
            .map_err(StoreError::Spawn)?;
        let shared = Arc::new(Shared {
            sender: RwLock::new(Some(tx)),
        });
        Ok(Journal {
            shared,
            writer: Some(writer),
        })
    }

    /// A handle for a producer.
    pub fn handle(&self) -> JournalHandle {
        JournalHandle {
            shared: Arc::clone(&self.shared),
        }
    }

    /// Stops accepting records, writes everything queued, joins the writer and returns what
    /// it wrote. Records that failed to write make this an error ([`StoreError::WriteFailed`]).
    pub fn close(mut self) -> Result<JournalStats, StoreError> {
        self.finish()
    }

    fn finish(&mut self) -> Result<JournalStats, StoreError> {
        // Dropping the only sender disconnects the channel once it is empty: the writer's
        // `recv` keeps returning queued records until then, so nothing queued is lost.
        drop(
            self.shared
                .sender
                .write()
                .unwrap_or_else(PoisonError::into_inner)
                .take(),
        );
        let Some(writer) = self.writer.take() else {
            return Ok(JournalStats::default());
        };
        let report = writer.join().map_err(|_| StoreError::WriterPanicked)?;
        match report.first_error {
            None => Ok(report.stats),
            Some((first_kind, source)) => Err(StoreError::WriteFailed {
                failed: report.stats.failed,
                first_kind,
                source,
                stats: Box::new(report.stats),
            }),
        }
    }
}

impl Drop for Journal {
    fn drop(&mut self) {
        if self.writer.is_some()
            && let Err(e) = self.finish()
        {
            tracing::error!(error = %e, "journal closed with errors");
        }
    }
}

impl JournalHandle {
    /// Queues `rec`, waiting while the queue is full (backpressure: the journal never drops).
    /// Fails only with [`StoreError::Closed`].
    pub fn append(&self, rec: Record) -> Result<(), StoreError> {
        let guard = self
            .shared
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.send(rec).map_err(|_| StoreError::Closed)
    }

    /// Queues `rec` if there is room now; [`StoreError::Full`] otherwise (the record is not
    /// kept: a caller that must not lose it uses [`JournalHandle::append`]).
    pub fn try_append(&self, rec: Record) -> Result<(), StoreError> {
        let guard = self
            .shared
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        let sender = guard.as_ref().ok_or(StoreError::Closed)?;
        sender.try_send(rec).map_err(|e| match e {
            TrySendError::Full(_) => StoreError::Full,
            TrySendError::Disconnected(_) => StoreError::Closed,
        })
    }

    /// Records waiting to be written (0 once closed). For metrics: a queue that stays near
    /// its capacity means the disk is the bottleneck.
    pub fn queued(&self) -> usize {
        let guard = self
            .shared
            .sender
            .read()
            .unwrap_or_else(PoisonError::into_inner);
        guard.as_ref().map_or(0, Sender::len)
    }
}

fn configure(conn: &Connection) -> rusqlite::Result<()> {
    // WAL lets readers (reports, the API) read while the writer commits; NORMAL sync in WAL
    // mode is durable across process crashes and only risks the last commits on power loss.
    let mode: String = conn.pragma_update_and_check(None, "journal_mode", "WAL", |r| r.get(0))?;
    if !mode.eq_ignore_ascii_case("wal") {
        tracing::warn!(mode = %mode, "journal is not in WAL mode (in-memory database?)");
    }
    conn.pragma_update(None, "synchronous", "NORMAL")?;
    conn.busy_timeout(BUSY_TIMEOUT)
}

fn run_writer(mut conn: Connection, rx: &Receiver<Record>) -> WriterReport {
    let mut report = WriterReport::default();
    let mut batch = Vec::with_capacity(MAX_EXTRA_PER_BATCH + 1);
    // `recv` fails only once every sender is gone and the queue is empty.
    while let Ok(first) = rx.recv() {
        batch.push(first);
        batch.extend(rx.try_iter().take(MAX_EXTRA_PER_BATCH));
        write_batch(&mut conn, &batch, &mut report);
        batch.clear();
    }
    report
}

/// Writes `batch` in one transaction. A record that fails is counted and skipped; a failed
/// commit counts the whole batch as failed.
fn write_batch(conn: &mut Connection, batch: &[Record], report: &mut WriterReport) {
    let Some(first) = batch.first() else { return };
    let tx = match conn.transaction_with_behavior(TransactionBehavior::Immediate) {
        Ok(tx) => tx,
        Err(e) => return fail_batch(report, first.kind(), e, batch.len()),
    };
    let mut done = JournalStats {
        batches: 1,
        ..JournalStats::default()
    };
    for rec in batch {
        match insert::insert(&tx, rec) {
            Ok(()) => done.count(rec.kind()),
            Err(e) => {
                if done.failed == 0 {
                    tracing::error!(kind = ?rec.kind(), error = %e, "journal record failed to write");
                }
                done.failed += 1;
                report.first_error.get_or_insert((rec.kind(), e));
            }
        }
    }
    match tx.commit() {
        Ok(()) => report.stats.add(&done),
        Err(e) => fail_batch(report, first.kind(), e, batch.len()),
    }
}

fn fail_batch(report: &mut WriterReport, kind: RecordKind, e: rusqlite::Error, len: usize) {
    tracing::error!(records = len, error = %e, "journal batch failed to commit");
    report.stats.failed += u64::try_from(len).unwrap_or(u64::MAX);
    report.first_error.get_or_insert((kind, e));
}
