//! A bounded single-producer / single-consumer ring with a counted drop policy.
//!
//! It wraps `crossbeam::queue::ArrayQueue` (lock-free, preallocated) and enforces "single" by
//! type: neither end is `Clone`, and both need `&mut self` to move data, so each end has one
//! owner at a time. The hot lane owns the [`Producer`]; the slow lane drains the [`Consumer`].

use crossbeam::queue::ArrayQueue;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};

/// What to give up when the ring is full. The hot lane never waits for room.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum DropPolicy {
    /// Keep what is queued; the event being pushed is dropped.
    DropNewest,
    /// Make room by dropping the oldest queued event; the new one is queued.
    DropOldest,
}

/// The result of one [`Producer::push`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[must_use = "a push may drop an event; the outcome says which"]
pub enum PushOutcome {
    /// Queued; nothing lost.
    Queued,
    /// The ring was full and the pushed value was dropped ([`DropPolicy::DropNewest`]).
    DroppedNewest,
    /// The ring was full; the oldest value was dropped to queue this one
    /// ([`DropPolicy::DropOldest`]).
    DroppedOldest,
}

impl PushOutcome {
    /// Whether this push cost an event.
    pub fn dropped(self) -> bool {
        !matches!(self, Self::Queued)
    }
}

/// State both ends share.
#[derive(Debug)]
struct Shared<T> {
    queue: ArrayQueue<T>,
    drops: AtomicU64,
    producer_gone: AtomicBool,
}

/// The sending end. `Send`, not `Clone`.
#[derive(Debug)]
pub struct Producer<T> {
    shared: Arc<Shared<T>>,
    policy: DropPolicy,
}

/// The receiving end. `Send`, not `Clone`.
#[derive(Debug)]
pub struct Consumer<T> {
    shared: Arc<Shared<T>>,
}

/// A ring of `capacity` slots, all allocated now. A `capacity` of 0 is raised to 1, since a
/// ring that can hold nothing would drop every event.
pub fn channel<T>(capacity: usize, policy: DropPolicy) -> (Producer<T>, Consumer<T>) {
    let shared = Arc::new(Shared {
        queue: ArrayQueue::new(capacity.max(1)),
        drops: AtomicU64::new(0),
        producer_gone: AtomicBool::new(false),
    });
    let consumer = Consumer {
        shared: Arc::clone(&shared),
    };
    (Producer { shared, policy }, consumer)
}

impl<T> Producer<T> {
    /// Queues `value` without blocking or allocating; when full, drops per the policy and
    /// counts the drop.
    ///
    /// A dropped value is destroyed here, so `T` should be plain data whose drop frees nothing.
    #[inline]
    pub fn push(&mut self, value: T) -> PushOutcome {
        let outcome = match self.policy {
            DropPolicy::DropNewest => match self.shared.queue.push(value) {
                Ok(()) => PushOutcome::Queued,
                Err(_rejected) => PushOutcome::DroppedNewest,
            },
            DropPolicy::DropOldest => match self.shared.queue.force_push(value) {
                None => PushOutcome::Queued,
                Some(_displaced) => PushOutcome::DroppedOldest,
            },
        };
        if outcome.dropped() {
            // Relaxed: the count is a statistic, read for metrics, ordering nothing else.
            self.shared.drops.fetch_add(1, Ordering::Relaxed);
        }
        outcome
    }

    /// The policy chosen at construction.
    pub fn policy(&self) -> DropPolicy {
        self.policy
    }

    /// Events dropped so far.
    pub fn drops(&self) -> u64 {
        self.shared.drops.load(Ordering::Relaxed)
    }

    /// Events queued right now (a snapshot; the consumer may be draining).
    pub fn len(&self) -> usize {
        self.shared.queue.len()
    }

    /// Whether nothing is queued right now.
    pub fn is_empty(&self) -> bool {
        self.shared.queue.is_empty()
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.shared.queue.capacity()
    }
}

impl<T> Drop for Producer<T> {
    fn drop(&mut self) {
        // Release: a consumer that sees the flag also sees every push made before it.
        self.shared.producer_gone.store(true, Ordering::Release);
    }
}

impl<T> Consumer<T> {
    /// The oldest queued event, if any. Never blocks.
    #[inline]
    pub fn pop(&mut self) -> Option<T> {
        self.shared.queue.pop()
    }

    /// Moves up to `max` queued events into `out`, oldest first; returns how many moved.
    ///
    /// Reserve room in `out` beforehand if this must not allocate.
    pub fn pop_batch(&mut self, out: &mut Vec<T>, max: usize) -> usize {
        let mut moved = 0;
        while moved < max {
            let Some(value) = self.shared.queue.pop() else {
                break;
            };
            out.push(value);
            moved += 1;
        }
        moved
    }

    /// Events the producer has dropped so far.
    pub fn drops(&self) -> u64 {
        self.shared.drops.load(Ordering::Relaxed)
    }

    /// Events queued right now.
    pub fn len(&self) -> usize {
        self.shared.queue.len()
    }

    /// Whether nothing is queued right now.
    pub fn is_empty(&self) -> bool {
        self.shared.queue.is_empty()
    }

    /// Slots in the ring.
    pub fn capacity(&self) -> usize {
        self.shared.queue.capacity()
    }

    /// Whether the producer has been dropped. Once true, no new events arrive: drain with
    /// [`pop`](Self::pop) until it returns `None` and nothing is lost.
    pub fn is_closed(&self) -> bool {
        self.shared.producer_gone.load(Ordering::Acquire)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn zero_capacity_is_raised_to_one() {
        let (mut tx, mut rx) = channel::<u8>(0, DropPolicy::DropNewest);
        assert_eq!(tx.capacity(), 1);
        assert_eq!(tx.push(1), PushOutcome::Queued);
        assert_eq!(tx.push(2), PushOutcome::DroppedNewest);
        assert_eq!(rx.pop(), Some(1));
    }

    #[test]
    fn consumer_sees_the_producer_close() {
        let (mut tx, mut rx) = channel::<u8>(4, DropPolicy::DropOldest);
        assert_eq!(tx.push(9), PushOutcome::Queued);
        assert!(!rx.is_closed());
        drop(tx);
        assert!(rx.is_closed());
        assert_eq!(rx.pop(), Some(9), "events queued before close survive it");
        assert_eq!(rx.pop(), None);
    }
}
