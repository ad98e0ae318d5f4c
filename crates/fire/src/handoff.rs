//! Bundle bodies handed from the hot lane to the slow lane without allocating: a fixed set of
//! buffers circulates between a free queue and a full queue.
//!
//! The slow lane uses them to journal what was fired and to post bundles to the relays the hot
//! thread does not write to (simulation endpoints, a relay it could not reach at start) or did
//! not reach this time ([`Parcel::missed`]).

use std::sync::atomic::{AtomicU64, Ordering};

use alloy_primitives::B256;
use crossbeam::queue::ArrayQueue;

/// Which request a parcel's body is.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum ParcelKind {
    /// `eth_sendBundle`.
    SendBundle,
    /// `eth_callBundle`.
    CallBundle,
    /// Not a bundle: a pending-transaction frame, as the node sent it, for the slow lane to
    /// simulate (a call to a contract no decoder reads).
    PendingTx,
}

/// One bundle body and its auth header, in a reused buffer.
#[derive(Debug)]
pub struct Parcel {
    /// The victim the bundle backruns (pairs the parcel with its journal row).
    pub victim: B256,
    /// Which request the body is.
    pub kind: ParcelKind,
    /// The JSON-RPC body.
    pub body: Vec<u8>,
    /// The `X-Flashbots-Signature` value.
    pub auth: String,
    /// The hot thread's relays ([`relay_bit`]) that this body did not reach: no stream was
    /// ready (the connection was being redialed), or the write failed. The slow lane posts it
    /// to them too.
    pub missed: u64,
}

/// Relay `i`'s bit in [`Parcel::missed`]; none past the 64th relay.
pub fn relay_bit(i: usize) -> u64 {
    u32::try_from(i)
        .ok()
        .and_then(|i| 1u64.checked_shl(i))
        .unwrap_or(0)
}

/// The two queues and the drop counter.
#[derive(Debug)]
pub struct Handoff {
    free: ArrayQueue<Box<Parcel>>,
    full: ArrayQueue<Box<Parcel>>,
    dropped: AtomicU64,
    body_capacity: usize,
}

impl Handoff {
    /// `parcels` buffers of `body_capacity` bytes each, all allocated now.
    pub fn new(parcels: usize, body_capacity: usize) -> Handoff {
        let parcels = parcels.max(1);
        let free = ArrayQueue::new(parcels);
        for _ in 0..parcels {
            let p = Parcel {
                victim: B256::ZERO,
                kind: ParcelKind::SendBundle,
                body: Vec::with_capacity(body_capacity),
                auth: String::with_capacity(256),
                missed: 0,
            };
            // The queue was sized for exactly these.
            let _ = free.push(Box::new(p));
        }
        Handoff {
            free,
            full: ArrayQueue::new(parcels),
            dropped: AtomicU64::new(0),
            body_capacity,
        }
    }

    /// Hot lane: copies `body` and `auth` into a free buffer and queues it. A body larger than
    /// the buffers, or no free buffer, is a counted drop, never an allocation or a wait.
    pub fn send(&self, victim: B256, kind: ParcelKind, body: &[u8], auth: &str) -> bool {
        self.send_missed(victim, kind, body, auth, 0)
    }

    /// [`Handoff::send`], naming the hot thread's relays the body did not reach
    /// ([`Parcel::missed`]).
    pub fn send_missed(
        &self,
        victim: B256,
        kind: ParcelKind,
        body: &[u8],
        auth: &str,
        missed: u64,
    ) -> bool {
        if body.len() > self.body_capacity {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        }
        let Some(mut p) = self.free.pop() else {
            self.dropped.fetch_add(1, Ordering::Relaxed);
            return false;
        };
        p.victim = victim;
        p.kind = kind;
        p.body.clear();
        p.body.extend_from_slice(body);
        p.auth.clear();
        p.auth.push_str(auth);
        p.missed = missed;
        match self.full.push(p) {
            Ok(()) => true,
            Err(p) => {
                let _ = self.free.push(p);
                self.dropped.fetch_add(1, Ordering::Relaxed);
                false
            }
        }
    }

    /// Slow lane: the next queued parcel.
    pub fn recv(&self) -> Option<Box<Parcel>> {
        self.full.pop()
    }

    /// Slow lane: gives a parcel's buffer back.
    pub fn recycle(&self, parcel: Box<Parcel>) {
        let _ = self.free.push(parcel);
    }

    /// Parcels that could not be handed over.
    pub fn dropped(&self) -> u64 {
        self.dropped.load(Ordering::Relaxed)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn relay_bits_are_distinct_and_end_at_the_64th_relay() {
        assert_eq!((relay_bit(0), relay_bit(5)), (1, 32));
        assert_eq!(relay_bit(63), 1 << 63);
        assert_eq!((relay_bit(64), relay_bit(usize::MAX)), (0, 0));
    }

    #[test]
    fn parcels_circulate_and_overflow_is_counted() {
        let h = Handoff::new(2, 16);
        assert!(h.send(B256::repeat_byte(1), ParcelKind::SendBundle, b"one", "a"));
        assert!(h.send(B256::repeat_byte(2), ParcelKind::CallBundle, b"two", "b"));
        assert!(
            !h.send(B256::repeat_byte(3), ParcelKind::SendBundle, b"three", "c"),
            "no free buffer"
        );
        assert!(
            !h.send(B256::repeat_byte(4), ParcelKind::SendBundle, &[0; 17], "d"),
            "too large"
        );
        assert_eq!(h.dropped(), 2);
        let p = h.recv().unwrap();
        assert_eq!(
            (p.victim, p.kind, p.body.as_slice(), p.auth.as_str()),
            (
                B256::repeat_byte(1),
                ParcelKind::SendBundle,
                &b"one"[..],
                "a"
            )
        );
        let ptr = p.body.as_ptr();
        h.recycle(p);
        let q = h.recv().unwrap();
        assert_eq!(q.body, b"two");
        h.recycle(q);
        assert!(h.send(B256::repeat_byte(5), ParcelKind::SendBundle, b"five", "e"));
        let r = h.recv().unwrap();
        assert_eq!(r.body, b"five");
        // Buffers are reused, not reallocated.
        assert!(r.body.as_ptr() == ptr || h.free.len() == 1);
    }
}
