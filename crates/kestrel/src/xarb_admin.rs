//! Operator commands on the cross-exchange lane's journal: clearing a kill switch trip so the
//! next start of that mode trades again.
//!
//! A trip is journaled with the run's mode, and a lane whose mode's latest trip has no reset
//! after it starts tripped ([`crate::xarb_run::Restored`]). [`reset_kill_switch`] writes that
//! reset, with the operator's note. It acts on the journal only: a lane already running keeps
//! its own switch until it is restarted.

use std::fmt;
use std::path::{Path, PathBuf};

use anyhow::Context as _;
use kestrel_config::ModeSetting;
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_store::{Journal, KillSwitchEvent, KillSwitchRow, Record, XarbRecord};
use kestrel_strategies::risk::TripReason;
use kestrel_types::Mode;

/// What [`reset_kill_switch`] did.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum ResetOutcome {
    /// The mode's switch had tripped (this row) and is re-armed: the next start trades.
    Cleared(KillSwitchRow),
    /// Nothing was tripped in that mode; nothing was written.
    NotTripped,
}

impl fmt::Display for ResetOutcome {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            ResetOutcome::Cleared(row) => {
                let why = describe(row);
                write!(
                    f,
                    "cleared the {} kill switch trip of run {} at {} ({why}); the next start of \
                     the cross-exchange lane in that mode trades again",
                    mode_name(row.mode),
                    row.run_id,
                    utc(row.unix_ms)
                )
            }
            ResetOutcome::NotTripped => {
                write!(
                    f,
                    "the kill switch is not tripped in that mode: nothing to clear"
                )
            }
        }
    }
}

/// The journal and the mode a `kestrel run` with `config` (and `--live` when `live_flag`)
/// uses: the journal at the config's `[journal] path` (relative to the working directory, as
/// `kestrel run` opens it), live only when both the config and the flag say so.
pub fn reset_target(config: &Path, live_flag: bool) -> anyhow::Result<(PathBuf, Mode)> {
    let cfg = crate::cli::load(config)?;
    anyhow::ensure!(
        cfg.xarb().is_some(),
        "{} has no [xarb] section: there is no cross-exchange lane whose kill switch to reset",
        config.display()
    );
    let mode = Mode::resolve(cfg.mode() == ModeSetting::Live, live_flag);
    Ok((cfg.journal().path.clone(), mode))
}

/// Re-arms `mode`'s kill switch in the journal at `journal`: when its latest trip has no reset
/// after it, writes a reset with `note` (why trading may resume, kept for the audit) and
/// returns the trip it cleared; otherwise writes nothing. The journal must exist (a path that
/// names none is a wrong config, not a clean switch) and the note must say something.
pub fn reset_kill_switch(journal: &Path, mode: Mode, note: &str) -> anyhow::Result<ResetOutcome> {
    let note = note.trim();
    anyhow::ensure!(
        !note.is_empty(),
        "the note is empty: say why trading may resume (it is journaled with the reset)"
    );
    anyhow::ensure!(
        journal.is_file(),
        "no journal at {}: nothing was ever tripped there (is the config the one `kestrel run` \
         uses, run from the same directory?)",
        journal.display()
    );
    // Opening the writer first brings an older journal up to the schema the reader needs.
    let writer = Journal::open(journal, 16)
        .with_context(|| format!("opening the journal {}", journal.display()))?;
    let trip = kestrel_store::open_readonly(journal)
        .and_then(|r| r.xarb_unreset_trip(mode))
        .with_context(|| format!("reading the kill switch from {}", journal.display()))?;
    let Some(trip) = trip else {
        writer.close().context("closing the journal")?;
        return Ok(ResetOutcome::NotTripped);
    };
    let unix_ms = LiveClock.unix_ms();
    writer.handle().append(Record::Xarb {
        run_id: format!("reset-{unix_ms}"),
        unix_ms,
        ev: XarbRecord::KillSwitchReset {
            mode,
            note: note.to_owned(),
        },
    })?;
    writer
        .close()
        .with_context(|| format!("writing the reset to {}", journal.display()))?;
    Ok(ResetOutcome::Cleared(trip))
}

/// The command that clears `mode`'s trip, as an operator types it.
pub fn reset_command(mode: Mode) -> String {
    let live = match mode {
        Mode::Live => " --live",
        Mode::DryRun => "",
    };
    format!("kestrel xarb reset-kill-switch --config FILE{live} --note \"why trading may resume\"")
}

/// The reason a journaled trip row gives, when this build knows its key (`None` for a reset
/// row, or a reason key or number this build does not read).
pub(crate) fn trip_of(row: &KillSwitchRow) -> Option<TripReason> {
    match &row.event {
        KillSwitchEvent::Tripped { reason, amount } => TripReason::from_key(reason, *amount),
        KillSwitchEvent::Reset { .. } => None,
    }
}

/// A journaled trip's reason in words.
pub(crate) fn describe(row: &KillSwitchRow) -> String {
    match (trip_of(row), &row.event) {
        (Some(TripReason::Drawdown { drawdown }), _) => {
            format!("drawdown of {drawdown} notional units, past max_drawdown")
        }
        (Some(TripReason::Imbalance { imbalance }), _) => {
            format!("open imbalance of {imbalance} size units, past max_imbalance")
        }
        (Some(TripReason::OrderRate { orders }), _) => {
            format!("{orders} orders within a minute, past max_orders_per_minute")
        }
        (Some(TripReason::Unresolved), _) => "an order whose outcome the venue never told: \
                                              reconcile the venue's account before clearing"
            .to_owned(),
        (Some(TripReason::Manual), _) => "stopped by an operator".to_owned(),
        (None, KillSwitchEvent::Tripped { reason, amount }) => {
            format!("reason {reason:?} ({amount:?})")
        }
        (None, KillSwitchEvent::Reset { .. }) => "a reset".to_owned(),
    }
}

/// Unix milliseconds as UTC ISO 8601 (`2024-05-01T12:00:00.000Z`), or the number when it does
/// not fit the format.
pub(crate) fn utc(unix_ms: u64) -> String {
    kestrel_venues::auth::okx::format_okx_timestamp(unix_ms)
        .map_or_else(|_| format!("unix ms {unix_ms}"), |t| t.as_str().to_owned())
}

/// `paper` or `live`, as operators say it.
pub(crate) fn mode_name(mode: Mode) -> &'static str {
    match mode {
        Mode::DryRun => "paper",
        Mode::Live => "live",
    }
}

/// `kestrel xarb reset-kill-switch --config FILE [--live] --note TEXT`.
pub fn cli(config: &Path, live_flag: bool, note: &str) -> anyhow::Result<std::process::ExitCode> {
    let (journal, mode) = reset_target(config, live_flag)?;
    println!("{}", reset_kill_switch(&journal, mode, note)?);
    Ok(std::process::ExitCode::SUCCESS)
}
