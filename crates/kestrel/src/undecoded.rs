//! The slow lane's answer to pending calls no decoder reads (an aggregator, a custom router):
//! run them in revm on the head's snapshot, read which watched pools they move from their
//! logs, and backrun them like a decoded victim, confirmed in revm before anything is fired.
//!
//! The hot thread hands such a transaction over as its frame (a copy into a preallocated
//! [`Handoff`] buffer, `handed_to_sim`); this lane's own thread, which may allocate and wait,
//! does the rest:
//!
//! 1. Re-encode the signed transaction and run it alone on the snapshot
//!    ([`Confirmer::run_pending`]). A snapshot miss is sent to the miss inbox, so the follow
//!    loop fetches it at the same head and republishes the snapshot; the transaction waits
//!    for that and runs again, up to [`MAX_ROUNDS`] times, also across heads while it is still
//!    valid.
//! 2. Its `Sync` (V2) and `Swap` (V3) logs from watched pools give their exact post-victim
//!    state ([`overlay_from_logs`]); the same bounded cycle search as the hot lane's sizes a
//!    backrun through them.
//! 3. The `backrunRoute` is signed and victim + backrun run in revm: only an exact agreement
//!    with the prediction is fired, as an `eth_sendBundle` to every relay the mode allows (and
//!    `eth_callBundle` to simulation relays), journaled like the hot lane's bundles with the
//!    decode path `simulated`. A disagreement is journaled with both numbers.
//!
//! Every transaction handed over ends in one [`SimulatedOutcome`], counted.

use std::sync::Arc;
use std::time::Duration;

use kestrel_bus::{ShutdownFlag, SnapshotCell};
use kestrel_chain::effects::overlay_from_logs;
use kestrel_dex::backrun::BackrunParams;
use kestrel_dex::cycle::find_cycle_backrun;
use kestrel_fire::bundle::{BundleWriter, FlashbotsAuth};
use kestrel_fire::ladder::LocalSigner;
use kestrel_fire::{Handoff, Parcel, ParcelKind, PresigPool, RouteCall, RouteTxBuilder};
use kestrel_hot::{HotState, RouteDecision, cycle_route, route_candidate, route_kind};
use kestrel_sim::{
    ConfirmError, Confirmer, Miss, RouteExpectation, RouteVerdict, SimError, StateSnapshot,
};
use kestrel_store::{JournalHandle, Record};
use kestrel_telemetry::Counters;
use kestrel_types::{
    B256, BundleEvent, DecodePath, DisagreementEvent, HotEvent, SimulatedOutcome, Stamps,
};
use kestrel_wire::{Frame, encode_signed_tx, parse_frame};
use tokio::sync::Notify;

use crate::engine::SlowPoster;
use crate::simprep::MissInbox;

/// Runs of one transaction at most (the first, then one per snapshot grown by its misses).
pub const MAX_ROUNDS: u32 = 8;
/// Transactions waiting for their misses to be fetched; more are counted as misses at once.
const MAX_WAITING: usize = 256;
/// Most bundle body bytes (two transactions of at most 128 KiB calldata, hex, and framing).
const BODY_CAPACITY: usize = 4 * 128 * 1024 + 8192;

/// What the lane shares with the engine.
#[derive(Debug)]
pub(crate) struct UndecodedLane {
    /// Frames the hot thread handed over.
    pub handoff: Arc<Handoff>,
    /// The state the hot lane decides on (its registry, thresholds and revm snapshot).
    pub state: Arc<SnapshotCell<HotState>>,
    /// Engine counters.
    pub counters: Arc<Counters>,
    /// The journal.
    pub journal: JournalHandle,
    /// The run's id in the journal.
    pub run_id: String,
    /// Where misses go to be fetched.
    pub inbox: Arc<MissInbox>,
    /// Wakes the follow loop to fetch them.
    pub notify: Arc<Notify>,
    /// The funds key.
    pub signer: Arc<LocalSigner>,
    /// The relay identity key.
    pub auth: FlashbotsAuth,
    /// The relays bundles go to.
    pub poster: SlowPoster,
    /// Where fired bundles are followed to their outcome (when any relay could include them).
    pub outcomes: Option<Arc<crate::outcomes::OutcomeWatch>>,
    /// Stops the lane. Set only once the hot thread has stopped, so that every call it
    /// handed over is accounted for.
    pub shutdown: ShutdownFlag,
}

/// A transaction waiting for the snapshot to grow by what it missed.
struct Waiting {
    frame: Vec<u8>,
    rounds: u32,
    /// The snapshot its last run missed on.
    snapshot: Arc<StateSnapshot>,
}

/// How one run ended.
enum Run {
    Done(SimulatedOutcome),
    /// Missed state on this snapshot: run again once it has grown.
    Missed(Arc<StateSnapshot>),
}

/// Starts the lane's thread (revm's interpreter is not `Send`: it is made on the thread).
pub(crate) fn spawn(lane: UndecodedLane) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("kestrel-undecoded".into())
        .spawn(move || Worker::new(lane).run())
}

struct Worker {
    lane: UndecodedLane,
    confirmer: Option<Confirmer>,
    waiting: Vec<Waiting>,
    victim_raw: Vec<u8>,
    route_builder: RouteTxBuilder,
    presigs: PresigPool,
    send_writer: BundleWriter,
    call_writer: BundleWriter,
}

impl Worker {
    fn new(lane: UndecodedLane) -> Worker {
        Worker {
            lane,
            confirmer: None,
            waiting: Vec::new(),
            victim_raw: Vec::with_capacity(4096),
            route_builder: RouteTxBuilder::new(),
            // No precomputed nonces: every signature here is a full RFC 6979 one.
            presigs: PresigPool::with_capacity(0),
            send_writer: BundleWriter::with_capacity(BODY_CAPACITY),
            call_writer: BundleWriter::with_capacity(BODY_CAPACITY),
        }
    }

    fn run(mut self) {
        while !self.lane.shutdown.is_set() {
            let mut worked = false;
            while let Some(parcel) = self.lane.handoff.recv() {
                let frame = parcel.body.clone();
                self.lane.handoff.recycle(parcel);
                self.lane.counters.add_routed(DecodePath::Simulated);
                self.attempt(frame, 1);
                worked = true;
            }
            worked |= self.retry_grown();
            if !worked {
                std::thread::sleep(Duration::from_millis(1));
            }
        }
        // Whatever is left never ran to an end: counted, so the outcomes add up to the calls.
        while let Some(parcel) = self.lane.handoff.recv() {
            self.lane.handoff.recycle(parcel);
            self.lane.counters.add_routed(DecodePath::Simulated);
            self.lane.counters.add_simulated(SimulatedOutcome::Stopped);
        }
        for _ in self.waiting.drain(..) {
            self.lane.counters.add_simulated(SimulatedOutcome::Stopped);
        }
    }

    /// Runs again every waiting transaction whose snapshot has since been replaced (grown by
    /// its misses, or a new head's).
    fn retry_grown(&mut self) -> bool {
        let current = self
            .lane
            .state
            .load()
            .sim
            .as_ref()
            .map(|s| Arc::clone(&s.snapshot));
        let Some(current) = current else {
            return false;
        };
        let (ready, still): (Vec<_>, Vec<_>) = std::mem::take(&mut self.waiting)
            .into_iter()
            .partition(|w| !Arc::ptr_eq(&w.snapshot, &current));
        self.waiting = still;
        let worked = !ready.is_empty();
        for w in ready {
            self.attempt(w.frame, w.rounds + 1);
        }
        worked
    }

    fn attempt(&mut self, frame: Vec<u8>, rounds: u32) {
        let started = std::time::Instant::now();
        let run = self.simulate(&frame);
        let elapsed_us = started.elapsed().as_micros();
        match run {
            Run::Done(outcome) => {
                if let Ok(Frame::PendingTx { tx, .. }) = parse_frame(&frame) {
                    tracing::debug!(
                        victim = %tx.hash,
                        to = ?tx.to,
                        from = ?tx.from,
                        nonce = tx.nonce,
                        rounds,
                        elapsed_us,
                        outcome = outcome.as_str(),
                        "undecoded call simulated"
                    );
                }
                self.lane.counters.add_simulated(outcome);
            }
            Run::Missed(_) if rounds >= MAX_ROUNDS || self.waiting.len() >= MAX_WAITING => {
                self.lane.counters.add_simulated(SimulatedOutcome::Miss);
            }
            Run::Missed(snapshot) => self.waiting.push(Waiting {
                frame,
                rounds,
                snapshot,
            }),
        }
    }

    /// One run of the transaction in `frame` on the current state, to a backrun fired or an
    /// outcome.
    fn simulate(&mut self, frame: &[u8]) -> Run {
        let Ok(Frame::PendingTx { tx, .. }) = parse_frame(frame) else {
            return Run::Done(SimulatedOutcome::Unreadable);
        };
        let state = self.lane.state.load();
        let (Some(sim), Some(reg), Some(route_tx), Some(from)) = (
            &state.sim,
            state.registry.as_deref(),
            &state.route_tx,
            tx.from,
        ) else {
            return Run::Done(SimulatedOutcome::Unavailable);
        };
        if sim.snapshot.block() != state.block {
            return Run::Done(SimulatedOutcome::Unavailable);
        }
        self.victim_raw.clear();
        match encode_signed_tx(&tx, &mut self.victim_raw) {
            Ok(h) if h == tx.hash => {}
            _ => return Run::Done(SimulatedOutcome::Unreadable),
        }
        let confirmer = self
            .confirmer
            .get_or_insert_with(|| Confirmer::new(Arc::clone(&sim.snapshot), sim.rules));
        confirmer.set_snapshot(&sim.snapshot);
        let logs = match confirmer.run_pending(&sim.next, (&self.victim_raw, from)) {
            Ok(o) if o.is_success() => o.logs.clone(),
            Ok(_) => return Run::Done(SimulatedOutcome::VictimFailed),
            Err(e) => return self.failed(e, &sim.snapshot),
        };
        let overlay = match overlay_from_logs(reg, &logs) {
            Ok(o) if o.is_empty() => return Run::Done(SimulatedOutcome::NoPool),
            Ok(o) => o,
            Err(e) => {
                tracing::debug!(victim = %tx.hash, error = %e, "simulated victim not backrun");
                return Run::Done(SimulatedOutcome::Unreadable);
            }
        };
        let params = BackrunParams {
            gas_cost_wei: state.route_gas_cost_wei,
            ..state.params
        };
        let (plan, stats) = find_cycle_backrun(reg, &overlay, &params, &state.cycle_limits);
        let Ok(plan) = plan else {
            return Run::Done(SimulatedOutcome::NoBackrun);
        };
        let Some((hops, n)) = cycle_route(reg, &plan.cycle) else {
            return Run::Done(SimulatedOutcome::NoBackrun);
        };
        let call = RouteCall {
            route: hops.get(..n).unwrap_or(&[]),
            amount_in: plan.quote.amount_in,
            min_profit: plan.profit_net,
            payment_bps: state.params.payment_bps,
        };
        let signer = Arc::clone(&self.lane.signer);
        let (backrun_raw, backrun_hash) =
            match self
                .route_builder
                .build(route_tx, &call, &signer, &self.presigs)
            {
                Ok(signed) => (signed.raw.to_vec(), signed.hash),
                Err(_) => return Run::Done(SimulatedOutcome::NoBackrun),
            };
        let decision = RouteDecision {
            plan,
            path: DecodePath::Simulated,
            stats,
        };
        // A candidate as the hot lane counts one: before revm has its say.
        let candidate = route_candidate(&state, reg, tx.hash, &decision);
        self.lane.counters.add_candidate();
        append(
            &self.lane,
            Record::Candidate {
                run_id: self.lane.run_id.clone(),
                ev: candidate,
            },
        );
        let expect = RouteExpectation {
            executor: route_tx.executor,
            amount_in: plan.quote.amount_in,
            profit_gross: plan.profit_gross,
        };
        let verdict = confirmer.confirm_route(
            &sim.next,
            (&self.victim_raw, from),
            (&backrun_raw, signer.address()),
            &expect,
        );
        match verdict {
            Ok(RouteVerdict::Agreed { gas_used, .. }) => {
                let confirmed = HotEvent::Confirmed {
                    tx_hash: tx.hash,
                    gas_used,
                };
                self.lane.counters.observe(&confirmed);
            }
            Ok(v) => {
                let ev = DisagreementEvent {
                    tx_hash: tx.hash,
                    block: state.block,
                    route_kind: route_kind(&plan),
                    decode_path: DecodePath::Simulated,
                    predicted_gross: plan.profit_gross,
                    simulated_gross: v.simulated_gross(),
                    outcome: v.outcome(),
                    gas_used: v.gas_used(),
                };
                self.lane.counters.observe(&HotEvent::Disagreement(ev));
                tracing::warn!(
                    victim = %tx.hash,
                    predicted = %ev.predicted_gross,
                    simulated = %ev.simulated_gross,
                    outcome = ev.outcome.as_str(),
                    "revm disagrees with the backrun of a simulated victim; not fired"
                );
                append(
                    &self.lane,
                    Record::Disagreement {
                        run_id: self.lane.run_id.clone(),
                        ev,
                    },
                );
                return Run::Done(SimulatedOutcome::Disagree);
            }
            Err(e) => return self.failed(e, &sim.snapshot),
        }
        let written = self.fire(tx.hash, state.block + 1, &backrun_raw);
        self.lane.counters.add_bundle();
        let send_body = String::from_utf8_lossy(self.send_writer.body()).into_owned();
        let ev = BundleEvent {
            candidate,
            backrun_hash,
            floor: plan.profit_net,
            nonce: route_tx.nonce,
            relays_written: written,
            stamps: Stamps::default(),
        };
        if let Some(watch) = &self.lane.outcomes {
            watch.watch(&ev);
        }
        append(
            &self.lane,
            Record::Bundle {
                run_id: self.lane.run_id.clone(),
                ev,
                body: Some(send_body),
            },
        );
        Run::Done(SimulatedOutcome::Fired)
    }

    /// The outcome of a run that stopped: a miss is sent to be fetched and waits.
    fn failed(&mut self, e: ConfirmError, snapshot: &Arc<StateSnapshot>) -> Run {
        match e {
            ConfirmError::Sim(SimError::Miss { miss, .. }) => {
                self.report_miss(miss);
                Run::Missed(Arc::clone(snapshot))
            }
            ConfirmError::Sim(SimError::Invalid { .. }) => Run::Done(SimulatedOutcome::Invalid),
            ConfirmError::Decode { .. } => Run::Done(SimulatedOutcome::Unreadable),
            ConfirmError::Sim(_) => Run::Done(SimulatedOutcome::Unavailable),
        }
    }

    fn report_miss(&self, miss: Miss) {
        // Not a `sim_miss` of the hot lane's confirmations: this call waits for the fetch
        // and runs again, and only its last run's end is counted.
        tracing::debug!(%miss, "simulated victim missed state");
        self.lane.inbox.push(miss);
        self.lane.notify.notify_one();
    }

    /// Posts the bundle [victim, backrun] for `target` to every relay; the number of relays
    /// it went to.
    fn fire(&mut self, victim: B256, target: u64, backrun_raw: &[u8]) -> u8 {
        let txs: [&[u8]; 2] = [&self.victim_raw, backrun_raw];
        let mut header = [0u8; 200];
        let mut posted = 0usize;
        let send = self.send_writer.send_bundle(&txs, target);
        let auth = self.lane.auth.sign_header(send, &mut header).to_string();
        posted += self.lane.poster.post(&Parcel {
            victim,
            kind: ParcelKind::SendBundle,
            body: send.to_vec(),
            auth,
            missed: 0,
        });
        if self.lane.poster.reaches(ParcelKind::CallBundle) {
            let call = self.call_writer.call_bundle(&txs, target);
            let auth = self.lane.auth.sign_header(call, &mut header).to_string();
            posted += self.lane.poster.post(&Parcel {
                victim,
                kind: ParcelKind::CallBundle,
                body: call.to_vec(),
                auth,
                missed: 0,
            });
        }
        u8::try_from(posted).unwrap_or(u8::MAX)
    }
}

fn append(lane: &UndecodedLane, record: Record) {
    if let Err(e) = lane.journal.append(record) {
        tracing::error!(error = %e, "journal append failed");
    }
}
