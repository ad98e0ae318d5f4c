//! What became of each bundle sent for inclusion.
//!
//! A bundle targets one block (the head it was decided on, plus one). Once the head the engine
//! follows reaches that block, the backrun's receipt says whether a block holds it. If one does,
//! the executor's own log (`Backrun` or `BackrunRoute`) says what it made: its gross profit less
//! the builder's payment, which is the figure the candidate's `profit_net` predicted. Each
//! answer is journaled as an `Outcome` row and counted (`landed`, `not_landed`,
//! `realized_mismatches`).
//!
//! Only bundles that went to an endpoint that could include them are followed: a local builder
//! or, in live mode, an execution relay. A dry run against simulation relays sends nothing that
//! could land, so it follows nothing. Reorganisations are not followed: the answer is the one the
//! node gave when the target block arrived.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use alloy::primitives::{Address, B256, U256};
use kestrel_bus::{ShutdownFlag, SnapshotCell};
use kestrel_chain::Chain;
use kestrel_hot::HotState;
use kestrel_sim::ExecutorLog;
use kestrel_store::{JournalHandle, Record};
use kestrel_telemetry::Counters;
use kestrel_types::BundleEvent;

/// Most bundles waiting for their target block; later ones are not followed (and counted).
const MAX_WAITING: usize = 4096;
/// How often the follower looks at the head.
const POLL: Duration = Duration::from_millis(200);

/// A bundle waiting for its target block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
struct Waiting {
    backrun_hash: B256,
    target: u64,
    predicted: U256,
}

/// Bundles sent for inclusion and not yet settled. The lanes that fire add to it; the
/// [`OutcomeFollower`] takes from it.
#[derive(Debug, Default)]
pub struct OutcomeWatch {
    waiting: Mutex<Vec<Waiting>>,
    unfollowed: AtomicU64,
}

impl OutcomeWatch {
    /// Follows the bundle `ev` describes: its backrun, the block it targets (the decision's
    /// head plus one) and the predicted profit.
    pub fn watch(&self, ev: &BundleEvent) {
        let w = Waiting {
            backrun_hash: ev.backrun_hash,
            target: ev.candidate.block.saturating_add(1),
            predicted: ev.candidate.profit_net,
        };
        let mut waiting = self.lock();
        if waiting.len() >= MAX_WAITING {
            self.unfollowed.fetch_add(1, Ordering::Relaxed);
            return;
        }
        waiting.push(w);
    }

    /// Bundles waiting for a block after the head.
    pub fn waiting(&self) -> usize {
        self.lock().len()
    }

    /// Bundles not followed because too many were waiting.
    pub fn unfollowed(&self) -> u64 {
        self.unfollowed.load(Ordering::Relaxed)
    }

    /// Takes every bundle whose target block `head` has reached.
    fn due(&self, head: u64) -> Vec<Waiting> {
        self.lock().extract_if(.., |w| w.target <= head).collect()
    }

    fn put_back(&self, ws: impl IntoIterator<Item = Waiting>) {
        self.lock().extend(ws);
    }

    fn lock(&self) -> MutexGuard<'_, Vec<Waiting>> {
        // A panic elsewhere while holding the list leaves it whole: keep using it.
        self.waiting
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }
}

/// Settles waiting bundles against the chain and journals each outcome.
#[derive(Debug)]
pub struct OutcomeFollower {
    /// What the lanes fired.
    pub watch: Arc<OutcomeWatch>,
    /// The node the receipts come from.
    pub chain: Chain,
    /// Our executor contract (the emitter of the log that reports the profit).
    pub executor: Address,
    /// Where outcomes go.
    pub journal: JournalHandle,
    /// The run they belong to.
    pub run_id: String,
    /// Where `landed`, `not_landed` and `realized_mismatches` are counted.
    pub counters: Arc<Counters>,
}

impl OutcomeFollower {
    /// Settles every bundle whose target block `head` has reached, journaling each outcome;
    /// how many it settled. A bundle whose receipt the node could not give stays waiting for
    /// the next call.
    pub async fn settle(&self, head: u64) -> usize {
        let due = self.watch.due(head);
        let mut settled = 0;
        let mut retry = Vec::new();
        for w in due {
            match self.outcome(&w).await {
                Ok(rec) => {
                    if let Err(e) = self.journal.append(rec) {
                        tracing::error!(error = %e, "journal append failed");
                    }
                    settled += 1;
                }
                Err(e) => {
                    tracing::warn!(backrun = %w.backrun_hash, error = %e, "reading a backrun's receipt failed; trying again");
                    retry.push(w);
                }
            }
        }
        self.watch.put_back(retry);
        settled
    }

    /// Follows the head the hot lane decides on until `shutdown`, settling bundles as their
    /// target blocks arrive.
    pub async fn follow(
        self: Arc<Self>,
        state: Arc<SnapshotCell<HotState>>,
        shutdown: ShutdownFlag,
    ) {
        while !shutdown.is_set() {
            self.settle(state.load().block).await;
            tokio::time::sleep(POLL).await;
        }
    }

    /// At stop: settles what the node's current head allows, and says how many bundles were
    /// left without an outcome (their target blocks had not arrived).
    pub async fn finish(&self) {
        match self.chain.head().await {
            Ok(head) => {
                self.settle(head.number).await;
            }
            Err(e) => tracing::warn!(error = %e, "reading the head at stop failed"),
        }
        let (left, unfollowed) = (self.watch.waiting(), self.watch.unfollowed());
        if left > 0 || unfollowed > 0 {
            tracing::info!(
                waiting = left,
                unfollowed,
                "bundles without a journaled outcome: their target blocks came after the stop, or too many waited at once"
            );
        }
    }

    /// What the chain did with `w`'s backrun, as a journal row (and counted).
    async fn outcome(&self, w: &Waiting) -> Result<Record, kestrel_chain::ChainError> {
        let receipt = self.chain.receipt(w.backrun_hash).await?;
        let Some(receipt) = receipt else {
            self.counters.add_not_landed();
            return Ok(self.record(
                w,
                w.target,
                false,
                None,
                format!("not in a block by the target block {}", w.target),
            ));
        };
        let block = receipt.block_number.unwrap_or(w.target);
        let elsewhere = if block == w.target {
            String::new()
        } else {
            format!(" in block {block}, not the target {}", w.target)
        };
        if !receipt.status() {
            self.counters.add_landed(true);
            return Ok(self.record(
                w,
                block,
                true,
                Some(U256::ZERO),
                format!("reverted on chain{elsewhere}"),
            ));
        }
        let log = ExecutorLog::find(
            self.executor,
            receipt
                .inner
                .logs()
                .iter()
                .map(|l| (l.address(), l.topics(), l.data().data.as_ref())),
        );
        let (realized, note) = match log {
            Some(log) => {
                let kept = log.kept();
                let note = if kept == w.predicted {
                    format!("landed{elsewhere}; realized the prediction")
                } else {
                    tracing::warn!(backrun = %w.backrun_hash, predicted = %w.predicted, realized = %kept, "a landed backrun realized other than predicted");
                    format!("landed{elsewhere}; realized differs from the prediction")
                };
                (Some(kept), note)
            }
            None => (
                None,
                format!("landed{elsewhere} without the executor's log"),
            ),
        };
        self.counters.add_landed(realized != Some(w.predicted));
        Ok(self.record(w, block, true, realized, note))
    }

    fn record(
        &self,
        w: &Waiting,
        block: u64,
        landed: bool,
        realized_profit_wei: Option<U256>,
        note: String,
    ) -> Record {
        Record::Outcome {
            run_id: self.run_id.clone(),
            backrun_hash: w.backrun_hash,
            block,
            landed,
            realized_profit_wei,
            predicted_profit_wei: w.predicted,
            note,
        }
    }
}
