//! The SPSC ring: FIFO order, drop accounting under both policies, and a two-thread stress run.

use kestrel_bus::spsc::channel;
use kestrel_bus::{DropPolicy, PushOutcome};

struct Case {
    policy: DropPolicy,
    capacity: usize,
    pushes: u32,
    /// What each push should report, in order.
    outcomes: &'static [PushOutcome],
    /// What the consumer then drains, oldest first.
    drained: &'static [u32],
    drops: u64,
}

const Q: PushOutcome = PushOutcome::Queued;
const DN: PushOutcome = PushOutcome::DroppedNewest;
const DO: PushOutcome = PushOutcome::DroppedOldest;

#[test]
fn ordering_and_drop_counting_per_policy() {
    let cases = [
        Case {
            policy: DropPolicy::DropNewest,
            capacity: 3,
            pushes: 5,
            outcomes: &[Q, Q, Q, DN, DN],
            drained: &[0, 1, 2],
            drops: 2,
        },
        Case {
            policy: DropPolicy::DropOldest,
            capacity: 3,
            pushes: 5,
            outcomes: &[Q, Q, Q, DO, DO],
            drained: &[2, 3, 4],
            drops: 2,
        },
        Case {
            policy: DropPolicy::DropNewest,
            capacity: 4,
            pushes: 4,
            outcomes: &[Q, Q, Q, Q],
            drained: &[0, 1, 2, 3],
            drops: 0,
        },
        Case {
            policy: DropPolicy::DropOldest,
            capacity: 1,
            pushes: 3,
            outcomes: &[Q, DO, DO],
            drained: &[2],
            drops: 2,
        },
    ];
    for case in cases {
        let label = format!("{:?} cap {}", case.policy, case.capacity);
        let (mut tx, mut rx) = channel::<u32>(case.capacity, case.policy);
        let outcomes: Vec<_> = (0..case.pushes).map(|i| tx.push(i)).collect();
        assert_eq!(outcomes, case.outcomes, "{label}");
        assert_eq!(tx.drops(), case.drops, "{label}");
        assert_eq!(rx.drops(), case.drops, "{label}");
        assert_eq!(rx.len(), case.drained.len(), "{label}");
        let drained: Vec<_> = std::iter::from_fn(|| rx.pop()).collect();
        assert_eq!(drained, case.drained, "{label}");
        assert!(rx.is_empty(), "{label}");
    }
}

#[test]
fn pop_batch_respects_max_and_order() {
    let (mut tx, mut rx) = channel::<u32>(8, DropPolicy::DropNewest);
    for i in 0..6 {
        assert_eq!(tx.push(i), PushOutcome::Queued);
    }
    let mut out = Vec::with_capacity(8);
    assert_eq!(rx.pop_batch(&mut out, 4), 4);
    assert_eq!(out, [0, 1, 2, 3]);
    assert_eq!(rx.pop_batch(&mut out, 4), 2, "only two were left");
    assert_eq!(out, [0, 1, 2, 3, 4, 5]);
    assert_eq!(rx.pop_batch(&mut out, 4), 0);
    assert_eq!(rx.capacity(), 8);
}

#[test]
fn ends_can_move_to_other_threads() {
    fn assert_send<T: Send>() {}
    assert_send::<kestrel_bus::Producer<u64>>();
    assert_send::<kestrel_bus::Consumer<u64>>();
}

/// One million sequence numbers from a producer thread to a consumer thread through a small
/// ring: the consumer must see them strictly increasing and lose none uncounted.
fn stress(policy: DropPolicy) {
    const SENT: u64 = 1_000_000;
    let (mut tx, mut rx) = channel::<u64>(1_024, policy);
    let producer = std::thread::spawn(move || {
        for seq in 0..SENT {
            let _ = tx.push(seq);
        }
        tx.drops()
    });
    let consumer = std::thread::spawn(move || {
        let mut received = 0_u64;
        let mut last: Option<u64> = None;
        let mut batch = Vec::with_capacity(256);
        loop {
            // Read the close flag before draining: once closed, an empty ring is really empty.
            let closed = rx.is_closed();
            batch.clear();
            if rx.pop_batch(&mut batch, 256) == 0 {
                if closed {
                    break;
                }
                std::thread::yield_now();
                continue;
            }
            for &seq in &batch {
                assert!(last.is_none_or(|l| seq > l), "{seq} after {last:?}");
                last = Some(seq);
            }
            received += batch.len() as u64;
        }
        (received, rx.drops())
    });
    let producer_drops = producer.join().expect("producer panicked");
    let (received, drops) = consumer.join().expect("consumer panicked");
    assert_eq!(drops, producer_drops);
    assert_eq!(
        received + drops,
        SENT,
        "{policy:?}: {received} received, {drops} dropped"
    );
    assert!(received > 0);
}

#[test]
fn two_thread_stress_drop_newest() {
    stress(DropPolicy::DropNewest);
}

#[test]
fn two_thread_stress_drop_oldest() {
    stress(DropPolicy::DropOldest);
}

mod model {
    //! The ring against a `VecDeque` model: any interleaving of pushes and pops on one thread
    //! must match what a bounded FIFO with the same policy would do.

    use super::channel;
    use kestrel_bus::{DropPolicy, PushOutcome};
    use proptest::prelude::*;
    use std::collections::VecDeque;

    proptest! {
        #[test]
        fn ring_matches_a_bounded_fifo_model(
            capacity in 1_usize..8,
            drop_oldest: bool,
            ops in proptest::collection::vec(any::<bool>(), 0..200),
        ) {
            let policy = if drop_oldest { DropPolicy::DropOldest } else { DropPolicy::DropNewest };
            let (mut tx, mut rx) = channel::<u32>(capacity, policy);
            let mut model = VecDeque::new();
            let mut model_drops = 0_u64;
            for (next, push) in (0_u32..).zip(ops) {
                if push {
                    let full = model.len() == capacity;
                    let want = match (full, policy) {
                        (false, _) => PushOutcome::Queued,
                        (true, DropPolicy::DropNewest) => PushOutcome::DroppedNewest,
                        (true, DropPolicy::DropOldest) => PushOutcome::DroppedOldest,
                    };
                    if full {
                        model_drops += 1;
                        if policy == DropPolicy::DropOldest {
                            model.pop_front();
                        }
                    }
                    if !full || policy == DropPolicy::DropOldest {
                        model.push_back(next);
                    }
                    prop_assert_eq!(tx.push(next), want);
                } else {
                    prop_assert_eq!(rx.pop(), model.pop_front());
                }
                prop_assert_eq!(rx.len(), model.len());
                prop_assert_eq!(rx.drops(), model_drops);
            }
        }
    }
}
