//! One frame through the whole hot pipeline, with stage stamps.

use std::sync::Arc;

use kestrel_bus::SnapshotCell;
use kestrel_bus::spsc::Producer;
use kestrel_dex::cycle::{Cycle, CyclePlan, MAX_CYCLE_HOPS, PoolRef, PoolRegistry};
use kestrel_fire::bundle::{BundleWriter, FlashbotsAuth};
use kestrel_fire::executor::{HopKind, RouteHop};
use kestrel_fire::ladder::LocalSigner;
use kestrel_fire::relay::RelayConn;
use kestrel_fire::route_tx::ROUTE_TX_MAX_LEN;
use kestrel_fire::{Handoff, ParcelKind, PresigPool, RouteCall, RouteTxBuilder};
use kestrel_sim::{
    BackrunEntry, ConfirmError, Confirmer, RouteExpectation, RouteVerdict, SimError,
};
use kestrel_stdx::{RecentSet, mono_ns};
use kestrel_telemetry::{Counters, StageRecorder};
use kestrel_types::{
    Address, B256, BundleEvent, CandidateEvent, DecodePath, DisagreementEvent, HotEvent, RouteKind,
    SkipEvent, SkipReason, Stage, Stamps, U256,
};
use kestrel_wire::{Frame, TxView, decode_hex_into, encode_signed_tx, parse_frame};

use crate::decide::{HotState, RouteDecision, Verdict, decide};
use crate::ws::{HEADS_SUBSCRIPTION_ID, PENDING_SUBSCRIPTION_ID};

/// Which request a relay gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum RelayTarget {
    /// `eth_sendBundle`: a builder that may include it (execution relays in live mode, the
    /// sandbox's local builder in any mode).
    SendBundle,
    /// `eth_callBundle`: a relay's simulation endpoint (dry-run).
    CallBundle,
}

/// What the pipeline is built from. Everything is allocated here, once.
#[derive(Debug)]
pub struct PipelineConfig {
    /// Longest calldata decoded; longer is a counted skip.
    pub max_calldata_bytes: usize,
    /// Warm relay connections and what each gets.
    pub relays: Vec<(RelayConn, RelayTarget)>,
    /// The relay identity key (not the funds key).
    pub auth: FlashbotsAuth,
    /// Precomputed ECDSA nonces for the auth header, refilled by the slow lane.
    pub presigs: Arc<PresigPool>,
    /// Where bundle bodies go for the slow lane (journal, https relays), if anywhere.
    pub handoff: Option<Arc<Handoff>>,
    /// Whether the slow lane also needs `eth_callBundle` bodies (https simulation relays).
    pub handoff_calls: bool,
    /// The funds key, for the route backruns signed on the hot thread (V3 and mixed cycles);
    /// `None` leaves them unfired (`no_ladder`).
    pub searcher: Option<Arc<LocalSigner>>,
    /// Confirm route backruns in revm before firing them (`backrun.confirm_routes`).
    pub confirm_routes: bool,
    /// Confirm the V2 lane's pre-signed backruns in revm too (`backrun.confirm_v2`).
    pub confirm_v2: bool,
    /// Where pending calls to contracts no decoder reads go, as frames, for the slow lane to
    /// simulate in revm (`None`: they are `not_router` skips).
    pub undecoded: Option<Arc<Handoff>>,
}

/// The hot pipeline's state: preallocated buffers, connections and recorders.
#[derive(Debug)]
pub struct Pipeline {
    state: Arc<SnapshotCell<HotState>>,
    events: Producer<HotEvent>,
    counters: Arc<Counters>,
    recorder: StageRecorder,
    calldata: Vec<u8>,
    victim_raw: Vec<u8>,
    send_writer: BundleWriter,
    call_writer: BundleWriter,
    auth_buf: [u8; 200],
    relays: Vec<(RelayConn, RelayTarget)>,
    auth: FlashbotsAuth,
    presigs: Arc<PresigPool>,
    handoff: Option<Arc<Handoff>>,
    handoff_calls: bool,
    seen: RecentSet,
    searcher: Option<Arc<LocalSigner>>,
    route_builder: RouteTxBuilder,
    /// The last signed route backrun (taken out while a bundle is built around it).
    route_raw: Vec<u8>,
    confirm_routes: bool,
    confirm_v2: bool,
    /// The transaction `victim_raw` holds (zero: none).
    victim_for: B256,
    undecoded: Option<Arc<Handoff>>,
    /// A subscription refusal of the connection now open was reported to the slow lane.
    refusal_reported: bool,
}

/// What revm must confirm about a backrun, and how a disagreement is journaled.
struct Claim {
    /// WETH the backrun spends.
    amount_in: U256,
    /// Its gross profit, before the builder payment.
    profit_gross: U256,
    /// The executor entry point the backrun calls (which log reports its result).
    entry: BackrunEntry,
    /// The executor the backrun calls (the log's emitter) and the backrun's sender.
    executor: Address,
    sender: Address,
    route_kind: RouteKind,
    path: DecodePath,
}

/// The backrun a bundle carries.
struct Backrun<'a> {
    raw: &'a [u8],
    hash: B256,
    floor: U256,
    nonce: u64,
}

thread_local! {
    /// revm over the head's snapshot, made on the hot thread's first confirmation. revm's
    /// interpreter is not `Send`, and the pipeline moves to its thread after it is built, so
    /// the confirmer lives with the thread rather than in the pipeline.
    static CONFIRMER: std::cell::RefCell<Option<Confirmer>> = const { std::cell::RefCell::new(None) };
}

/// How many recent transaction hashes are remembered for duplicate detection.
const RECENT_TXS: usize = 1 << 16;

impl Pipeline {
    /// Allocates every buffer the loop will use.
    pub fn new(
        cfg: PipelineConfig,
        state: Arc<SnapshotCell<HotState>>,
        events: Producer<HotEvent>,
        counters: Arc<Counters>,
    ) -> Pipeline {
        let body_capacity = 4 * cfg.max_calldata_bytes + 8192;
        Pipeline {
            state,
            events,
            counters,
            recorder: StageRecorder::new(),
            calldata: vec![0; cfg.max_calldata_bytes],
            victim_raw: Vec::with_capacity(cfg.max_calldata_bytes + 1024),
            send_writer: BundleWriter::with_capacity(body_capacity),
            call_writer: BundleWriter::with_capacity(body_capacity),
            auth_buf: [0; 200],
            relays: cfg.relays,
            auth: cfg.auth,
            presigs: cfg.presigs,
            handoff: cfg.handoff,
            handoff_calls: cfg.handoff_calls,
            seen: RecentSet::with_capacity(RECENT_TXS),
            searcher: cfg.searcher,
            route_builder: RouteTxBuilder::new(),
            route_raw: Vec::with_capacity(ROUTE_TX_MAX_LEN),
            confirm_routes: cfg.confirm_routes,
            confirm_v2: cfg.confirm_v2,
            victim_for: B256::ZERO,
            undecoded: cfg.undecoded,
            refusal_reported: false,
        }
    }

    /// The latency recorder (read at the end of a run).
    pub fn recorder(&self) -> &StageRecorder {
        &self.recorder
    }

    /// Pushes an event; a full ring is a counted drop, never a wait.
    pub fn emit(&mut self, ev: HotEvent) {
        if self.events.push(ev).dropped() {
            self.counters.add_drops(1);
        }
    }

    /// Counts a reconnect of the node stream (a possible gap) and reports it to the slow lane.
    pub fn note_reconnect(&mut self, gap: u64) {
        self.counters.add_reconnect();
        self.emit(HotEvent::Reconnected { gap });
    }

    /// A new connection to the node is open (and its subscriptions sent): a refusal on it is
    /// reported afresh.
    pub fn note_connected(&mut self) {
        self.refusal_reported = false;
    }

    /// Counts a failed attempt to connect to the node (retried after a backoff).
    pub fn note_connect_failure(&mut self) {
        self.counters.add_connect_failure();
    }

    /// The node answered subscription request `request_id` with an error: counted every time,
    /// reported to the slow lane (which logs it) once per connection.
    fn on_refusal(&mut self, request_id: u64) {
        self.counters.add_subscription_refusal();
        if !self.refusal_reported {
            self.refusal_reported = true;
            self.emit(HotEvent::SubscriptionRefused { request_id });
        }
    }

    /// Runs one frame, read at `recv_ns`, to completion.
    pub fn on_frame(&mut self, frame: &[u8], recv_ns: u64) {
        let mut stamps = Stamps {
            recv_ns,
            ..Stamps::default()
        };
        match parse_frame(frame) {
            Ok(Frame::PendingTx { tx, .. }) => {
                stamps.stage_end_ns[Stage::Decode as usize] = mono_ns();
                self.counters.add_pending_seen(1);
                self.on_pending(&tx, frame, &mut stamps);
                self.recorder.record(&stamps);
            }
            Ok(Frame::NewHead { head, .. }) => self.emit(HotEvent::NewHead {
                number: head.number,
            }),
            Ok(Frame::Reply {
                id, error: Some(_), ..
            }) if id == PENDING_SUBSCRIPTION_ID || id == HEADS_SUBSCRIPTION_ID => {
                self.on_refusal(id);
            }
            Ok(Frame::Reply {
                id, error: None, ..
            }) if id == PENDING_SUBSCRIPTION_ID => self.counters.add_pending_subscription(),
            Ok(Frame::Reply { .. }) => {}
            Err(_) => self.skip(B256::ZERO, SkipReason::MalformedFrame, stamps),
        }
    }

    fn skip(&mut self, tx_hash: B256, reason: SkipReason, stamps: Stamps) {
        self.counters.add_skip(reason);
        self.emit(HotEvent::Skip(SkipEvent {
            tx_hash,
            reason,
            stamps,
        }));
    }

    fn on_pending(&mut self, tx: &TxView<'_>, frame: &[u8], stamps: &mut Stamps) {
        let key = u64::from_le_bytes(tx.hash.0[..8].try_into().unwrap_or([0; 8]));
        if self.seen.insert(key) {
            stamps.stage_end_ns[Stage::Filter as usize] = mono_ns();
            return self.skip(tx.hash, SkipReason::Duplicate, *stamps);
        }
        let state = self.state.load();
        let Some(router) = tx.to.and_then(|to| state.router(to)) else {
            let reason = if self.hand_to_sim(tx, &state, frame) {
                SkipReason::HandedToSim
            } else {
                SkipReason::NotRouter
            };
            stamps.stage_end_ns[Stage::Filter as usize] = mono_ns();
            return self.skip(tx.hash, reason, *stamps);
        };
        self.counters.add_routed(router.decoder.path());
        let len = match decode_hex_into(tx.input_hex, &mut self.calldata) {
            Ok(n) => n,
            Err(kestrel_wire::WireError::TooLong) => {
                return self.skip(tx.hash, SkipReason::CalldataTooLarge, *stamps);
            }
            Err(_) => return self.skip(tx.hash, SkipReason::MalformedFrame, *stamps),
        };
        stamps.stage_end_ns[Stage::Filter as usize] = mono_ns();
        let decision = decide(&state, tx.to, tx.value, &self.calldata[..len]);
        stamps.stage_end_ns[Stage::Decide as usize] = mono_ns();
        match decision {
            Verdict::Fire(d) => {
                let candidate = candidate_event(&state, tx.hash, &d.plan);
                self.counters.add_candidate();
                self.emit(HotEvent::Candidate(candidate));
                if let (true, Some(ladder)) = (self.confirm_v2, state.ladder.as_deref()) {
                    let claim = Claim {
                        amount_in: d.plan.amount_in,
                        profit_gross: d.plan.profit_gross,
                        entry: BackrunEntry::Pair,
                        executor: ladder.executor(),
                        sender: ladder.signer(),
                        route_kind: RouteKind::V2,
                        path: DecodePath::V2Router02,
                    };
                    if !self.confirm(tx, &state, &claim, &d.backrun.raw, stamps) {
                        return;
                    }
                }
                let backrun = Backrun {
                    raw: &d.backrun.raw,
                    hash: d.backrun.hash,
                    floor: d.floor,
                    nonce: state.ladder.as_ref().map_or(0, |l| l.nonce()),
                };
                self.fire(tx, &state, &backrun, candidate, stamps);
            }
            Verdict::Route(d) => self.fire_route(tx, &state, &d, stamps),
            Verdict::Unfired(plan, reason) => {
                self.counters.add_candidate();
                self.emit(HotEvent::Candidate(candidate_event(&state, tx.hash, &plan)));
                self.skip(tx.hash, reason, *stamps);
            }
            Verdict::Skip(reason) => self.skip(tx.hash, reason, *stamps),
        }
    }

    /// Hands a call to a contract no decoder reads (calldata, a sender, a revm state to run it
    /// on) to the slow lane as its frame: a copy into a preallocated buffer, or a counted drop
    /// when none is free.
    fn hand_to_sim(&self, tx: &TxView<'_>, state: &HotState, frame: &[u8]) -> bool {
        // A 4-byte selector at least (8 hex digits after the `0x`): a plain transfer runs no
        // pool. Our own transactions (a bundle's backrun a builder made public) are no victims.
        let ours = match &self.searcher {
            Some(s) => tx.from == Some(s.address()),
            None => false,
        };
        let is_call = tx.to.is_some() && tx.from.is_some() && tx.input_hex.len() >= 8 && !ours;
        match (&self.undecoded, &state.sim) {
            (Some(h), Some(_)) if is_call => h.send(tx.hash, ParcelKind::PendingTx, frame, ""),
            _ => false,
        }
    }

    /// Signs the cycle's `backrunRoute` transaction (a precomputed nonce finished on this
    /// thread) and fires it. Its `minProfit` is the predicted net profit: the executor reverts
    /// unless the chain does at least what was predicted.
    fn fire_route(
        &mut self,
        tx: &TxView<'_>,
        state: &HotState,
        d: &RouteDecision,
        stamps: &mut Stamps,
    ) {
        let Some(reg) = state.registry.as_deref() else {
            return self.skip(tx.hash, SkipReason::UnknownPool, *stamps);
        };
        let candidate = route_candidate(state, reg, tx.hash, d);
        self.counters.add_candidate();
        self.emit(HotEvent::Candidate(candidate));
        let (Some(params), Some(signer)) = (state.route_tx.as_ref(), self.searcher.as_deref())
        else {
            return self.skip(tx.hash, SkipReason::NoLadder, *stamps);
        };
        let Some((hops, n)) = cycle_route(reg, &d.plan.cycle) else {
            return self.skip(tx.hash, SkipReason::UnknownPool, *stamps);
        };
        let call = RouteCall {
            route: hops.get(..n).unwrap_or(&[]),
            amount_in: d.plan.quote.amount_in,
            min_profit: d.plan.profit_net,
            payment_bps: state.params.payment_bps,
        };
        let hash = match self
            .route_builder
            .build(params, &call, signer, &self.presigs)
        {
            Ok(signed) => {
                self.route_raw.clear();
                self.route_raw.extend_from_slice(signed.raw);
                signed.hash
            }
            // A route the executor would refuse (e.g. an amount past int256): nothing to fire.
            Err(_) => return self.skip(tx.hash, SkipReason::NoLadder, *stamps),
        };
        let raw = std::mem::take(&mut self.route_raw);
        let claim = Claim {
            amount_in: d.plan.quote.amount_in,
            profit_gross: d.plan.profit_gross,
            entry: BackrunEntry::Route,
            executor: params.executor,
            sender: signer.address(),
            route_kind: route_kind(&d.plan),
            path: d.path,
        };
        if self.confirm_routes && !self.confirm(tx, state, &claim, &raw, stamps) {
            self.route_raw = raw;
            return;
        }
        let backrun = Backrun {
            raw: &raw,
            hash,
            floor: d.plan.profit_net,
            nonce: params.nonce,
        };
        self.fire(tx, state, &backrun, candidate, stamps);
        self.route_raw = raw;
    }

    /// The victim's signed bytes into `victim_raw` (once per transaction); false when they do
    /// not hash to the transaction's own hash.
    fn encode_victim(&mut self, tx: &TxView<'_>) -> bool {
        if self.victim_for == tx.hash && tx.hash != B256::ZERO {
            return true;
        }
        self.victim_for = B256::ZERO;
        self.victim_raw.clear();
        match encode_signed_tx(tx, &mut self.victim_raw) {
            Ok(h) if h == tx.hash => {
                self.victim_for = h;
                true
            }
            _ => false,
        }
    }

    /// Runs the victim and then the signed backrun `raw` in revm on the head's snapshot; true
    /// when the backrun's `BackrunRoute` (or, for a pre-signed V2 backrun, `Backrun`) log
    /// reports exactly the predicted amount and gross profit. Otherwise the reason is counted
    /// (and a disagreement or a miss reported to the slow lane) and nothing is fired.
    ///
    /// revm asks for memory as it runs (call frames, storage tables, logs): on a thread that
    /// reserved a pool ([`kestrel_bus::pool`]) those requests are served from it, and none
    /// reaches the system allocator.
    fn confirm(
        &mut self,
        tx: &TxView<'_>,
        state: &HotState,
        claim: &Claim,
        raw: &[u8],
        stamps: &Stamps,
    ) -> bool {
        let ready = match (&state.sim, tx.from) {
            (Some(sim), Some(from)) if sim.snapshot.block() == state.block => Some((sim, from)),
            _ => None,
        };
        let Some((sim, from)) = ready else {
            self.skip(tx.hash, SkipReason::SimUnavailable, *stamps);
            return false;
        };
        if !self.encode_victim(tx) {
            self.skip(tx.hash, SkipReason::MalformedFrame, *stamps);
            return false;
        }
        let expect = RouteExpectation {
            executor: claim.executor,
            amount_in: claim.amount_in,
            profit_gross: claim.profit_gross,
        };
        let victim_raw = &self.victim_raw;
        let started = mono_ns();
        let verdict = CONFIRMER.with_borrow_mut(|slot| {
            let _pool = kestrel_bus::pool::enter();
            let confirmer =
                slot.get_or_insert_with(|| Confirmer::new(Arc::clone(&sim.snapshot), sim.rules));
            confirmer.set_snapshot(&sim.snapshot);
            let (victim, backrun) = ((&victim_raw[..], from), (raw, claim.sender));
            confirmer.confirm_backrun(&sim.next, victim, backrun, &expect, claim.entry)
        });
        self.recorder
            .record_confirm(mono_ns().saturating_sub(started));
        let (event, reason) = match verdict {
            Ok(RouteVerdict::Agreed { gas_used, .. }) => {
                let event = HotEvent::Confirmed {
                    tx_hash: tx.hash,
                    gas_used,
                };
                self.counters.observe(&event);
                self.emit(event);
                return true;
            }
            Ok(v) => (
                Some(HotEvent::Disagreement(DisagreementEvent {
                    tx_hash: tx.hash,
                    block: state.block,
                    route_kind: claim.route_kind,
                    decode_path: claim.path,
                    predicted_gross: claim.profit_gross,
                    simulated_gross: v.simulated_gross(),
                    outcome: v.outcome(),
                    gas_used: v.gas_used(),
                })),
                SkipReason::SimDisagree,
            ),
            Err(ConfirmError::Sim(SimError::Miss { miss, .. })) => (
                Some(HotEvent::SimMiss(miss.to_event(tx.hash, state.block))),
                SkipReason::SimMiss,
            ),
            Err(ConfirmError::Sim(SimError::Invalid { index: 0, .. })) => {
                (None, SkipReason::VictimInvalid)
            }
            Err(_) => (None, SkipReason::SimUnavailable),
        };
        if let Some(event) = event {
            self.counters.observe(&event);
            self.emit(event);
        }
        self.skip(tx.hash, reason, *stamps);
        false
    }

    fn fire(
        &mut self,
        tx: &TxView<'_>,
        state: &HotState,
        backrun: &Backrun<'_>,
        candidate: CandidateEvent,
        stamps: &mut Stamps,
    ) {
        if !self.encode_victim(tx) {
            // A victim we cannot re-encode to its own hash cannot be bundled.
            return self.skip(tx.hash, SkipReason::MalformedFrame, *stamps);
        }
        let target = state.block + 1;
        let txs: [&[u8]; 2] = [&self.victim_raw, backrun.raw];
        let send_body = self.send_writer.send_bundle(&txs, target);
        let send_auth_len = {
            let h = self
                .auth
                .sign_header_presigned(send_body, &self.presigs, &mut self.auth_buf);
            h.len()
        };
        let mut written = 0u8;
        let mut call_auth = [0u8; 200];
        let mut call_len = 0;
        let mut call_body: &[u8] = &[];
        if self.handoff_calls
            || self
                .relays
                .iter()
                .any(|(_, t)| *t == RelayTarget::CallBundle)
        {
            call_body = self.call_writer.call_bundle(&txs, target);
            call_len = self
                .auth
                .sign_header_presigned(call_body, &self.presigs, &mut call_auth)
                .len();
        }
        stamps.stage_end_ns[Stage::Build as usize] = mono_ns();
        let send_auth = std::str::from_utf8(&self.auth_buf[..send_auth_len]).unwrap_or("");
        let call_auth = std::str::from_utf8(&call_auth[..call_len]).unwrap_or("");
        // Relays the bundle did not reach (no stream ready, or the write failed), by request.
        let (mut missed_send, mut missed_call) = (0u64, 0u64);
        for (i, (conn, target_kind)) in self.relays.iter_mut().enumerate() {
            let (sent, missed) = match target_kind {
                RelayTarget::SendBundle => (
                    conn.send_tagged(tx.hash, send_auth, send_body),
                    &mut missed_send,
                ),
                RelayTarget::CallBundle => (
                    conn.send_tagged(tx.hash, call_auth, call_body),
                    &mut missed_call,
                ),
            };
            match sent {
                Ok(()) => written = written.saturating_add(1),
                Err(_) => *missed |= kestrel_fire::handoff::relay_bit(i),
            }
        }
        stamps.stage_end_ns[Stage::Write as usize] = mono_ns();
        // After the timed path: the slow lane journals the body, posts it to the relays the
        // hot thread does not write to, and to those it missed just now.
        if let Some(h) = &self.handoff {
            h.send_missed(
                tx.hash,
                ParcelKind::SendBundle,
                send_body,
                send_auth,
                missed_send,
            );
            if self.handoff_calls || missed_call != 0 {
                h.send_missed(
                    tx.hash,
                    ParcelKind::CallBundle,
                    call_body,
                    call_auth,
                    missed_call,
                );
            }
        }
        self.counters.add_bundle();
        let ev = BundleEvent {
            candidate,
            backrun_hash: backrun.hash,
            floor: backrun.floor,
            nonce: backrun.nonce,
            relays_written: written,
            stamps: *stamps,
        };
        self.emit(HotEvent::Bundle(ev));
    }
}

fn candidate_event(
    state: &HotState,
    tx_hash: B256,
    plan: &kestrel_dex::backrun::BackrunPlan,
) -> CandidateEvent {
    CandidateEvent {
        tx_hash,
        block: state.block,
        pool_buy: state.snapshot.pool(plan.pool_buy).address,
        pool_sell: state.snapshot.pool(plan.pool_sell).address,
        amount_in: plan.amount_in,
        profit_gross: plan.profit_gross,
        profit_net: plan.profit_net,
        gas_cost_wei: state.params.gas_cost_wei,
        route_kind: RouteKind::V2,
        decode_path: DecodePath::V2Router02,
        hops: 2,
        pool_mid: Address::ZERO,
    }
}

/// An unused slot of a route's fixed hop array.
const PLACEHOLDER_HOP: RouteHop = RouteHop {
    pool: Address::ZERO,
    kind: HopKind::V3,
    zero_for_one: false,
};

/// The executor's `backrunRoute` hops for `cycle` (the first `n` of a fixed array, no
/// allocation) and `n`; `None` for a pool the registry cannot name (never, for a cycle it
/// produced) or a V2 fee that does not fit.
pub fn cycle_route(
    reg: &PoolRegistry,
    cycle: &Cycle,
) -> Option<([RouteHop; MAX_CYCLE_HOPS], usize)> {
    let mut out = [PLACEHOLDER_HOP; MAX_CYCLE_HOPS];
    let hops = cycle.hops();
    for (slot, hop) in out.iter_mut().zip(hops) {
        let kind = match hop.pool {
            PoolRef::V2(id) => {
                let v2 = reg.v2();
                let factory = v2.get(id)?.factory;
                let fee = v2.factories().get(usize::from(factory.0))?.fee_num;
                HopKind::V2 {
                    fee_num: u16::try_from(fee).ok()?,
                }
            }
            PoolRef::V3(_) => HopKind::V3,
        };
        *slot = RouteHop {
            pool: reg.address(hop.pool)?,
            kind,
            zero_for_one: hop.zero_for_one(),
        };
    }
    Some((out, hops.len()))
}

/// Which pool kinds a plan's cycle runs through.
pub fn route_kind(plan: &CyclePlan) -> RouteKind {
    let hops = plan.cycle.hops();
    let has_v2 = hops.iter().any(|h| matches!(h.pool, PoolRef::V2(_)));
    let has_v3 = hops.iter().any(|h| matches!(h.pool, PoolRef::V3(_)));
    RouteKind::of(has_v2, has_v3).unwrap_or_default()
}

/// The candidate event of a route decision on `state` for victim `tx_hash`.
pub fn route_candidate(
    state: &HotState,
    reg: &PoolRegistry,
    tx_hash: B256,
    d: &RouteDecision,
) -> CandidateEvent {
    let hops = d.plan.cycle.hops();
    let address = |i: usize| {
        hops.get(i)
            .and_then(|h| reg.address(h.pool))
            .unwrap_or(Address::ZERO)
    };
    CandidateEvent {
        tx_hash,
        block: state.block,
        pool_buy: address(0),
        pool_sell: address(hops.len().saturating_sub(1)),
        amount_in: d.plan.quote.amount_in,
        profit_gross: d.plan.profit_gross,
        profit_net: d.plan.profit_net,
        gas_cost_wei: state.route_gas_cost_wei,
        route_kind: route_kind(&d.plan),
        decode_path: d.path,
        hops: u8::try_from(hops.len()).unwrap_or(u8::MAX),
        pool_mid: if hops.len() == 3 {
            address(1)
        } else {
            Address::ZERO
        },
    }
}
