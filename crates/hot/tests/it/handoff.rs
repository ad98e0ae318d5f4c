//! Pending calls to contracts no decoder reads: handed to the slow lane as their frames (to be
//! simulated in revm) when there is a hand-off and a sim state, `not_router` skips otherwise.

use std::sync::Arc;

use kestrel_fire::{Handoff, LocalSigner, ParcelKind};
use kestrel_hot::{Pipeline, SimState};
use kestrel_sim::{ChainRules, NextBlock, SnapshotBuilder};
use kestrel_telemetry::Counters;
use kestrel_types::{Address, B256, HotEvent, SkipReason};

use super::{ROUTER, pipeline_with, tx_frame, tx_frame_from};

/// A contract no decoder reads.
const OTHER: &str = "0x3333333333333333333333333333333333333333";
/// `transfer(address,uint256)` with its two words: a call with a selector and arguments.
const CALL: &str = "0xa9059cbb0000000000000000000000004444444444444444444444444444444444444444000000000000000000000000000000000000000000000000000000000000002a";
/// The searcher's funds key in these tests.
const SEARCHER_KEY: &str = "0x5151515151515151515151515151515151515151515151515151515151515151";

/// An empty head state at block 1 and the environment of block 2.
fn sim_state() -> SimState {
    SimState {
        snapshot: Arc::new(SnapshotBuilder::new(1).build()),
        next: NextBlock {
            number: 2,
            timestamp: 13,
            basefee: 1,
            gas_limit: 30_000_000,
            coinbase: Address::repeat_byte(0xc0),
            prevrandao: B256::ZERO,
            excess_blob_gas: 0,
        },
        rules: ChainRules::SEPOLIA_PRAGUE,
    }
}

/// A pipeline whose undecoded calls go to `undecoded`, with `sim` published and `searcher` as
/// the funds key.
fn pipeline(
    undecoded: Option<&Arc<Handoff>>,
    sim: Option<SimState>,
    searcher: Option<&Arc<LocalSigner>>,
) -> (Pipeline, Arc<Counters>, kestrel_bus::Consumer<HotEvent>) {
    pipeline_with(1024, |cfg, state| {
        cfg.undecoded = undecoded.cloned();
        cfg.searcher = searcher.cloned();
        state.sim = sim;
    })
}

fn run(p: &mut Pipeline, frame: &str) {
    p.on_frame(frame.as_bytes(), kestrel_stdx::mono_ns());
}

/// The skip events emitted so far: transaction and reason.
fn skips(events: &mut kestrel_bus::Consumer<HotEvent>) -> Vec<(B256, SkipReason)> {
    let mut got = Vec::new();
    events.pop_batch(&mut got, 100);
    got.iter()
        .filter_map(|e| match e {
            HotEvent::Skip(s) => Some((s.tx_hash, s.reason)),
            _ => None,
        })
        .collect()
}

/// Every parcel queued in `h` (victim, kind, body, auth), buffers given back.
fn drain(h: &Handoff) -> Vec<(B256, ParcelKind, Vec<u8>, String)> {
    let mut out = Vec::new();
    while let Some(p) = h.recv() {
        out.push((p.victim, p.kind, p.body.clone(), p.auth.clone()));
        h.recycle(p);
    }
    out
}

fn hash(b: u8) -> B256 {
    B256::repeat_byte(b)
}

fn skip_count(counters: &Counters, reason: SkipReason) -> u64 {
    counters.snapshot().skips[reason.index()]
}

#[test]
fn a_call_to_an_undecoded_contract_is_handed_over_as_its_exact_frame() {
    let h = Arc::new(Handoff::new(4, 4096));
    let (mut p, counters, mut events) = pipeline(Some(&h), Some(sim_state()), None);
    let call = tx_frame(0x31, OTHER, CALL);
    run(&mut p, &call);
    // A call to a decoded router takes the decoder's path, not the hand-off.
    run(&mut p, &tx_frame(0x32, ROUTER, "0xdeadbeef"));

    let parcels = drain(&h);
    assert_eq!(
        parcels,
        [(
            hash(0x31),
            ParcelKind::PendingTx,
            call.into_bytes(),
            String::new()
        )]
    );
    assert_eq!(h.dropped(), 0);
    assert_eq!(
        skips(&mut events),
        [
            (hash(0x31), SkipReason::HandedToSim),
            (hash(0x32), SkipReason::NotSwap)
        ]
    );
    assert_eq!(skip_count(&counters, SkipReason::HandedToSim), 1);
    assert_eq!(skip_count(&counters, SkipReason::NotRouter), 0);
    assert_eq!(counters.snapshot().pending_seen, 2);
}

#[test]
fn without_a_sim_state_or_a_handoff_an_undecoded_call_is_a_not_router_skip() {
    // A hand-off but no state to run the call on.
    let h = Arc::new(Handoff::new(4, 4096));
    let (mut p, counters, mut events) = pipeline(Some(&h), None, None);
    run(&mut p, &tx_frame(0x41, OTHER, CALL));
    assert_eq!(skips(&mut events), [(hash(0x41), SkipReason::NotRouter)]);
    assert_eq!(skip_count(&counters, SkipReason::NotRouter), 1);
    assert_eq!(skip_count(&counters, SkipReason::HandedToSim), 0);
    assert!(drain(&h).is_empty());
    assert_eq!(h.dropped(), 0, "not handed is not a drop");

    // A sim state but nowhere to hand the call.
    let (mut p, counters, mut events) = pipeline(None, Some(sim_state()), None);
    run(&mut p, &tx_frame(0x42, OTHER, CALL));
    assert_eq!(skips(&mut events), [(hash(0x42), SkipReason::NotRouter)]);
    assert_eq!(skip_count(&counters, SkipReason::HandedToSim), 0);
}

#[test]
fn a_plain_transfer_or_calldata_short_of_a_selector_is_not_handed() {
    let h = Arc::new(Handoff::new(4, 4096));
    let (mut p, counters, mut events) = pipeline(Some(&h), Some(sim_state()), None);
    run(&mut p, &tx_frame(0x51, OTHER, "0x"));
    run(&mut p, &tx_frame(0x52, OTHER, "0xdeadbe"));
    // A bare 4-byte selector is enough.
    run(&mut p, &tx_frame(0x53, OTHER, "0xdeadbeef"));

    assert_eq!(
        skips(&mut events),
        [
            (hash(0x51), SkipReason::NotRouter),
            (hash(0x52), SkipReason::NotRouter),
            (hash(0x53), SkipReason::HandedToSim)
        ]
    );
    assert_eq!(skip_count(&counters, SkipReason::NotRouter), 2);
    assert_eq!(skip_count(&counters, SkipReason::HandedToSim), 1);
    let victims: Vec<_> = drain(&h).into_iter().map(|(v, ..)| v).collect();
    assert_eq!(victims, [hash(0x53)]);
    assert_eq!(h.dropped(), 0);
}

#[test]
fn a_call_from_our_own_searcher_is_not_handed() {
    let signer = Arc::new(LocalSigner::from_hex(SEARCHER_KEY).unwrap());
    let ours = format!("{:#x}", signer.address());
    let h = Arc::new(Handoff::new(4, 4096));
    let (mut p, counters, mut events) = pipeline(Some(&h), Some(sim_state()), Some(&signer));
    run(&mut p, &tx_frame_from(0x61, &ours, OTHER, CALL));
    // The same call from anyone else is handed.
    run(&mut p, &tx_frame(0x62, OTHER, CALL));

    assert_eq!(
        skips(&mut events),
        [
            (hash(0x61), SkipReason::NotRouter),
            (hash(0x62), SkipReason::HandedToSim)
        ]
    );
    assert_eq!(skip_count(&counters, SkipReason::NotRouter), 1);
    assert_eq!(skip_count(&counters, SkipReason::HandedToSim), 1);
    let victims: Vec<_> = drain(&h).into_iter().map(|(v, ..)| v).collect();
    assert_eq!(victims, [hash(0x62)]);
}

#[test]
fn a_full_handoff_is_a_counted_drop_and_a_not_router_skip() {
    let h = Arc::new(Handoff::new(1, 4096));
    let (mut p, counters, mut events) = pipeline(Some(&h), Some(sim_state()), None);
    let first = tx_frame(0x71, OTHER, CALL);
    run(&mut p, &first);
    run(&mut p, &tx_frame(0x72, OTHER, CALL));

    assert_eq!(h.dropped(), 1);
    assert_eq!(
        skips(&mut events),
        [
            (hash(0x71), SkipReason::HandedToSim),
            (hash(0x72), SkipReason::NotRouter)
        ]
    );
    assert_eq!(skip_count(&counters, SkipReason::HandedToSim), 1);
    assert_eq!(skip_count(&counters, SkipReason::NotRouter), 1);
    let parcels = drain(&h);
    assert_eq!(parcels.len(), 1);
    assert_eq!(parcels[0].0, hash(0x71));
    assert_eq!(parcels[0].2, first.as_bytes());

    // Once the slow lane gives the buffer back, calls are handed again.
    run(&mut p, &tx_frame(0x73, OTHER, CALL));
    assert_eq!(skips(&mut events), [(hash(0x73), SkipReason::HandedToSim)]);
    let victims: Vec<_> = drain(&h).into_iter().map(|(v, ..)| v).collect();
    assert_eq!(victims, [hash(0x73)]);
    assert_eq!(h.dropped(), 1);
}
