//! Pinning a lane's thread to one CPU core.

/// What [`pin_current_thread`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PinOutcome {
    /// The thread now runs only on this core.
    Pinned(usize),
    /// No core was asked for; the thread is left where the OS puts it.
    NotRequested,
    /// The asked-for core is not one this process may run on (or does not exist).
    NoSuchCore(usize),
    /// The OS cannot list cores or refused to set the affinity.
    Unsupported,
}

/// Pins the calling thread to `core` (an id as the OS numbers cores). Never panics: a core
/// that does not exist or is outside this process's allowed set gives
/// [`PinOutcome::NoSuchCore`], and an OS that refuses gives [`PinOutcome::Unsupported`], so
/// the caller decides whether running unpinned is acceptable.
pub fn pin_current_thread(core: Option<usize>) -> PinOutcome {
    let Some(wanted) = core else {
        return PinOutcome::NotRequested;
    };
    // On Linux this lists the cores in the process's affinity mask, so a core excluded by
    // `taskset` or a cgroup counts as absent rather than failing later.
    let Some(cores) = core_affinity::get_core_ids() else {
        return PinOutcome::Unsupported;
    };
    let Some(id) = cores.into_iter().find(|c| c.id == wanted) else {
        return PinOutcome::NoSuchCore(wanted);
    };
    if core_affinity::set_for_current(id) {
        PinOutcome::Pinned(wanted)
    } else {
        PinOutcome::Unsupported
    }
}

/// What [`keep_current_thread_off`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum IsolateOutcome {
    /// The thread (and every thread it spawns from now on) may run on this many cores, none of
    /// them the reserved one.
    Moved {
        /// How many cores remain allowed.
        allowed: usize,
    },
    /// The reserved core is the only one allowed: nothing was changed.
    NoOtherCore,
    /// The reserved core is not in this thread's allowed set: nothing needed changing.
    NotInSet(usize),
    /// The OS cannot read or set affinity masks.
    Unsupported,
}

/// Removes `core` from the calling thread's allowed cores.
///
/// Call it on the thread that will spawn the slow lane's threads (before it spawns them: a
/// new thread inherits its parent's mask), and pin the hot thread to `core` with
/// [`pin_current_thread`]. On a host without `isolcpus` this is what keeps the scheduler from
/// waking a slow-lane thread (a socket reader, the journal writer) on the hot core, where it
/// would preempt the hot thread in the middle of a write. Never panics.
pub fn keep_current_thread_off(core: usize) -> IsolateOutcome {
    os::keep_current_thread_off(core)
}

/// The cores the calling thread may run on, in increasing order (empty if the OS cannot say).
pub fn allowed_cores() -> Vec<usize> {
    os::allowed_cores()
}

#[cfg(target_os = "linux")]
mod os {
    use rustix::thread::{CpuSet, sched_getaffinity, sched_setaffinity};

    use super::IsolateOutcome;

    pub(super) fn keep_current_thread_off(core: usize) -> IsolateOutcome {
        // `None` is the calling thread, not the whole process.
        let Ok(mut set) = sched_getaffinity(None) else {
            return IsolateOutcome::Unsupported;
        };
        if core >= CpuSet::MAX_CPU || !set.is_set(core) {
            return IsolateOutcome::NotInSet(core);
        }
        if set.count() <= 1 {
            return IsolateOutcome::NoOtherCore;
        }
        set.unset(core);
        match sched_setaffinity(None, &set) {
            Ok(()) => IsolateOutcome::Moved {
                allowed: set.count() as usize,
            },
            Err(_) => IsolateOutcome::Unsupported,
        }
    }

    pub(super) fn allowed_cores() -> Vec<usize> {
        sched_getaffinity(None).map_or_else(
            |_| Vec::new(),
            |set| (0..CpuSet::MAX_CPU).filter(|&c| set.is_set(c)).collect(),
        )
    }
}

#[cfg(not(target_os = "linux"))]
mod os {
    use super::IsolateOutcome;

    pub(super) fn keep_current_thread_off(_core: usize) -> IsolateOutcome {
        IsolateOutcome::Unsupported
    }

    pub(super) fn allowed_cores() -> Vec<usize> {
        Vec::new()
    }
}
