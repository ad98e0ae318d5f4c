//! A cell the slow lane republishes and the hot lane reads without locks.

use arc_swap::{ArcSwap, Guard};
use std::fmt;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

/// Holds the current version of some state (pool snapshot, pre-signed ladder, parameters).
///
/// The slow lane builds a whole new value and [`publish`](Self::publish)es it; readers never
/// see a half-updated value. The hot lane keeps the last [`version`](Self::version) it acted
/// on and reloads only when the counter moved.
///
/// **Invariant:** a reader that observes version `v` and then loads sees the value published
/// as `v` or a later one, never an earlier one.
pub struct SnapshotCell<T> {
    current: ArcSwap<T>,
    version: AtomicU64,
}

impl<T> SnapshotCell<T> {
    /// A cell holding `initial` at version 0.
    pub fn new(initial: T) -> Self {
        Self {
            current: ArcSwap::from_pointee(initial),
            version: AtomicU64::new(0),
        }
    }

    /// Replaces the value (slow lane) and returns the new version.
    pub fn publish(&self, value: Arc<T>) -> u64 {
        self.current.store(value);
        // Release after the store: whoever acquires the new version also sees the new value.
        self.version.fetch_add(1, Ordering::AcqRel) + 1
    }

    /// The current value (hot lane): lock-free, and allocation-free on arc-swap's fast path.
    /// Hold the guard briefly; long-held guards push later loads onto a slower path.
    #[inline]
    pub fn load(&self) -> Guard<Arc<T>> {
        self.current.load()
    }

    /// The current value as an owned `Arc`, for holding across a long stretch.
    pub fn load_full(&self) -> Arc<T> {
        self.current.load_full()
    }

    /// How many times a value has been published. Monotonic; one atomic load.
    #[inline]
    pub fn version(&self) -> u64 {
        self.version.load(Ordering::Acquire)
    }

    /// The current value if the version moved past `*seen`, updating `*seen`; `None` when
    /// nothing was published since. The hot lane's "has anything changed?" in one call.
    #[inline]
    pub fn load_if_newer(&self, seen: &mut u64) -> Option<Guard<Arc<T>>> {
        // Read the version first, then the value: the value is then at least that new.
        let now = self.version();
        if now == *seen {
            return None;
        }
        *seen = now;
        Some(self.load())
    }
}

impl<T: fmt::Debug> fmt::Debug for SnapshotCell<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SnapshotCell")
            .field("version", &self.version())
            .field("current", &**self.load())
            .finish()
    }
}
