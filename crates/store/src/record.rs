//! What producers send to the journal.

use kestrel_types::{B256, BundleEvent, CandidateEvent, DisagreementEvent, SkipReason, U256};

/// One journal entry. Every variant carries the run it belongs to.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Record {
    /// A run began.
    RunStarted {
        /// Unique id of the run.
        run_id: String,
        /// `"dry_run"` or `"live"`.
        mode: String,
        /// The config as TOML, with secrets already redacted by the caller.
        config_toml: String,
        /// Wall-clock start, Unix milliseconds.
        started_unix_ms: u64,
    },
    /// A pending transaction was skipped.
    Skip {
        /// Run id.
        run_id: String,
        /// The skipped transaction.
        tx_hash: B256,
        /// Why; stored as `reason.as_str()`.
        reason: SkipReason,
        /// Monotonic receive stamp of the frame, ns.
        recv_ns: u64,
        /// Decode stage duration, if reached.
        decode_ns: Option<u64>,
        /// Filter stage duration, if reached.
        filter_ns: Option<u64>,
        /// Decide stage duration, if reached.
        decide_ns: Option<u64>,
    },
    /// A profitable backrun cycle was found.
    Candidate {
        /// Run id.
        run_id: String,
        /// The candidate, all fields stored.
        ev: CandidateEvent,
    },
    /// A bundle was built and written (or journaled in dry-run).
    Bundle {
        /// Run id.
        run_id: String,
        /// The bundle, with its stamps; every stage's duration is stored too.
        ev: BundleEvent,
        /// The JSON-RPC request body (dry-run only).
        body: Option<String>,
    },
    /// revm confirmation disagreed with the analytic prediction; the backrun was not fired.
    Disagreement {
        /// Run id.
        run_id: String,
        /// The disagreement, all fields stored.
        ev: DisagreementEvent,
    },
    /// What became of a bundle on chain.
    Outcome {
        /// Run id.
        run_id: String,
        /// Our backrun transaction.
        backrun_hash: B256,
        /// Block the bundle targeted.
        block: u64,
        /// Whether the backrun was included.
        landed: bool,
        /// Profit actually realized, when known.
        realized_profit_wei: Option<U256>,
        /// Profit predicted at decision time.
        predicted_profit_wei: U256,
        /// Free-form note (e.g. why it did not land).
        note: String,
    },
    /// A run ended.
    RunEnded {
        /// Run id.
        run_id: String,
        /// Wall-clock end, Unix milliseconds.
        ended_unix_ms: u64,
        /// The run's JSON summary.
        summary_json: String,
    },
}

/// The kind of a [`Record`], without its data (for counts and error reports).
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum RecordKind {
    /// [`Record::RunStarted`].
    RunStarted,
    /// [`Record::Skip`].
    Skip,
    /// [`Record::Candidate`].
    Candidate,
    /// [`Record::Bundle`].
    Bundle,
    /// [`Record::Disagreement`].
    Disagreement,
    /// [`Record::Outcome`].
    Outcome,
    /// [`Record::RunEnded`].
    RunEnded,
}

impl Record {
    /// This record's kind.
    pub fn kind(&self) -> RecordKind {
        match self {
            Record::RunStarted { .. } => RecordKind::RunStarted,
            Record::Skip { .. } => RecordKind::Skip,
            Record::Candidate { .. } => RecordKind::Candidate,
            Record::Bundle { .. } => RecordKind::Bundle,
            Record::Disagreement { .. } => RecordKind::Disagreement,
            Record::Outcome { .. } => RecordKind::Outcome,
            Record::RunEnded { .. } => RecordKind::RunEnded,
        }
    }

    /// The run this record belongs to.
    pub fn run_id(&self) -> &str {
        match self {
            Record::RunStarted { run_id, .. }
            | Record::Skip { run_id, .. }
            | Record::Candidate { run_id, .. }
            | Record::Bundle { run_id, .. }
            | Record::Disagreement { run_id, .. }
            | Record::Outcome { run_id, .. }
            | Record::RunEnded { run_id, .. } => run_id,
        }
    }
}
