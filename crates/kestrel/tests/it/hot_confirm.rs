//! revm confirmation in the hot pipeline when revm and the analytic plan disagree: the revm
//! snapshot of the V2 victims' world is edited so one pair's stored reserves sit 1 % below the
//! reserves the hot lane decides on. Every victim is still decided (the analytic snapshot is
//! unchanged), every one is then run in revm, disagrees, and is reported with both numbers and
//! counted; nothing is fired. The unedited world fires every victim (`hot_alloc`), so the
//! disagreement is the edit's doing.

use std::sync::Arc;

use alloy::primitives::U256;
use kestrel_stdx::mono_ns;
use kestrel_types::{HotEvent, PoolId, SimOutcome, SkipReason};

use crate::hot_alloc::discard_sink;

/// UniswapV2Pair keeps `reserve0 | reserve1 << 112 | blockTimestampLast << 224` in slot 8.
const RESERVES_SLOT: u64 = 8;

#[test]
fn a_backrun_revm_disagrees_with_is_reported_with_both_numbers_and_not_fired() {
    let mask = (U256::from(1u64) << 112) - U256::from(1u64);
    let mut edited = None;
    let (mut parts, frames) = kestrel::bench::confirm_fixture_with(300, &discard_sink(), |state| {
        let pool = *state.snapshot.pool(PoolId(1));
        let sim = state.sim.as_mut().expect("the revm world has a snapshot");
        let slot = U256::from(RESERVES_SLOT);
        let packed = sim.snapshot.storage(pool.address, slot).unwrap();
        let (r0, r1, ts) = (packed & mask, (packed >> 112) & mask, packed >> 224);
        // Before the edit both views of the pair agree.
        assert_eq!((r0, r1), (pool.reserve0, pool.reserve1));
        let shrink = |r: U256| r * U256::from(99u64) / U256::from(100u64);
        let mut b = sim.snapshot.to_builder();
        b.storage(
            pool.address,
            slot,
            shrink(r0) | (shrink(r1) << 112) | (ts << 224),
        );
        sim.snapshot = Arc::new(b.build());
        edited = Some(pool.address);
    })
    .unwrap();
    assert!(edited.is_some());
    let mut events = Vec::new();
    for f in &frames {
        parts.pipeline.on_frame(f.as_bytes(), mono_ns());
        parts.events.pop_batch(&mut events, 1024);
    }
    let victims = frames.len() as u64 / 10;
    let c = parts.counters.snapshot();
    assert_eq!(c.candidates, victims, "the analytic lane still decides");
    assert_eq!(c.bundles, 0, "a bundle revm disagreed with was fired");
    assert_eq!(c.confirmed, 0);
    assert_eq!(c.disagreements, victims);
    assert_eq!(c.skip(SkipReason::SimDisagree), victims);
    let mut predicted = std::collections::HashMap::new();
    let mut reported = 0;
    for ev in &events {
        match ev {
            HotEvent::Bundle(b) => panic!("fired {:?}", b.candidate.tx_hash),
            HotEvent::Candidate(c) => {
                predicted.insert(c.tx_hash, c.profit_gross);
            }
            HotEvent::Disagreement(d) => {
                reported += 1;
                assert_eq!(
                    Some(&d.predicted_gross),
                    predicted.get(&d.tx_hash),
                    "the prediction reported is the candidate's"
                );
                assert!(!d.predicted_gross.is_zero());
                assert_ne!(d.simulated_gross, d.predicted_gross, "{d:?}");
                // The backrun ran: either it traded on the edited reserves (its log reports
                // another profit) or it reverted on them; both spent gas.
                assert!(
                    matches!(
                        d.outcome,
                        SimOutcome::ProfitDiffers | SimOutcome::BackrunReverted
                    ),
                    "{d:?}"
                );
                assert!(d.gas_used > 21_000, "{d:?}");
            }
            _ => {}
        }
    }
    assert_eq!(reported, victims, "every disagreement is reported");
}
