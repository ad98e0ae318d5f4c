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
