//! [`MissLog`]: counts every snapshot miss by kind and keeps a bounded set of distinct misses
//! for the slow lane to fetch. Its capacity is reserved up front; when the set is full, further
//! new misses are only counted (as dropped), so the log never grows.

use crate::snapshot::{Miss, MissKind};

/// Distinct misses kept by default between two drains.
pub const DEFAULT_MISS_CAPACITY: usize = 256;

/// Counted, bounded record of snapshot misses.
#[derive(Debug, Clone)]
pub struct MissLog {
    counts: [u64; MissKind::ALL.len()],
    dropped: u64,
    pending: Vec<Miss>,
    capacity: usize,
}

impl Default for MissLog {
    fn default() -> Self {
        MissLog::with_capacity(DEFAULT_MISS_CAPACITY)
    }
}

impl MissLog {
    /// A log that keeps at most `capacity` distinct misses until drained.
    pub fn with_capacity(capacity: usize) -> MissLog {
        MissLog {
            counts: [0; MissKind::ALL.len()],
            dropped: 0,
            pending: Vec::with_capacity(capacity),
            capacity,
        }
    }

    /// Counts `miss` and keeps it for the slow lane unless it is already kept or the log is
    /// full (then it is counted as dropped). Never allocates.
    pub fn record(&mut self, miss: Miss) {
        if let Some(n) = self.counts.get_mut(miss.kind().index()) {
            *n = n.saturating_add(1);
        }
        if self.pending.contains(&miss) {
            return;
        }
        if self.pending.len() < self.capacity {
            self.pending.push(miss);
        } else {
            self.dropped = self.dropped.saturating_add(1);
        }
    }

    /// Misses of `kind` seen since the log was made (drains do not reset counts).
    pub fn count(&self, kind: MissKind) -> u64 {
        self.counts.get(kind.index()).copied().unwrap_or(0)
    }

    /// Misses of every kind seen since the log was made.
    pub fn total(&self) -> u64 {
        self.counts.iter().sum()
    }

    /// Distinct misses that did not fit in the kept set.
    pub fn dropped(&self) -> u64 {
        self.dropped
    }

    /// The distinct misses kept since the last drain, oldest first.
    pub fn pending(&self) -> &[Miss] {
        &self.pending
    }

    /// Hands the kept misses to the caller (the slow lane's re-fetch) and empties the set,
    /// keeping its capacity.
    pub fn drain(&mut self) -> std::vec::Drain<'_, Miss> {
        self.pending.drain(..)
    }
}
