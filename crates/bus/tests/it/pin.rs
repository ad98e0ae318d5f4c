//! Pinning never panics: absent cores and unasked pins are reported, real cores are pinned.

use kestrel_bus::{
    IsolateOutcome, PinOutcome, allowed_cores, keep_current_thread_off, pin_current_thread,
};

#[test]
fn nonexistent_core_is_reported_not_panicked() {
    let outcome = std::thread::spawn(|| pin_current_thread(Some(1_000_000)))
        .join()
        .expect("pinning panicked");
    assert!(
        matches!(
            outcome,
            PinOutcome::NoSuchCore(1_000_000) | PinOutcome::Unsupported
        ),
        "{outcome:?}"
    );
    if cfg!(target_os = "linux") {
        assert_eq!(outcome, PinOutcome::NoSuchCore(1_000_000));
    }
}

#[test]
fn no_core_asked_means_not_requested() {
    assert_eq!(pin_current_thread(None), PinOutcome::NotRequested);
}

#[cfg(target_os = "linux")]
#[test]
fn an_allowed_core_is_pinned() {
    let first = core_affinity::get_core_ids()
        .and_then(|ids| ids.first().map(|c| c.id))
        .expect("linux lists at least one allowed core");
    let outcome = std::thread::spawn(move || pin_current_thread(Some(first)))
        .join()
        .expect("pinning panicked");
    assert_eq!(outcome, PinOutcome::Pinned(first));
}

/// Keeping a thread off a core removes exactly that core, and threads it spawns inherit the mask
/// (which is how the slow lane's threads stay off the hot core).
#[cfg(target_os = "linux")]
#[test]
fn keeping_off_a_core_removes_it_and_is_inherited() {
    let (before, outcome, after, child) = std::thread::spawn(|| {
        let before = allowed_cores();
        let reserved = *before
            .last()
            .expect("linux lists at least one allowed core");
        let outcome = keep_current_thread_off(reserved);
        let after = allowed_cores();
        let child = std::thread::spawn(allowed_cores)
            .join()
            .expect("child panicked");
        (before, outcome, after, child)
    })
    .join()
    .expect("isolating panicked");
    let reserved = *before.last().expect("checked above");
    if before.len() == 1 {
        assert_eq!(outcome, IsolateOutcome::NoOtherCore);
        assert_eq!(after, before, "a lone core must stay allowed");
    } else {
        assert_eq!(
            outcome,
            IsolateOutcome::Moved {
                allowed: before.len() - 1
            }
        );
        let expected: Vec<usize> = before.iter().copied().filter(|&c| c != reserved).collect();
        assert_eq!(after, expected);
        assert_eq!(child, expected, "a spawned thread inherits the mask");
    }
    // The test thread's own mask was not touched.
    assert_eq!(allowed_cores(), before);
}

#[cfg(target_os = "linux")]
#[test]
fn keeping_off_a_core_outside_the_set_changes_nothing() {
    let before = allowed_cores();
    let outcome = std::thread::spawn(|| keep_current_thread_off(1_000_000))
        .join()
        .expect("isolating panicked");
    assert_eq!(outcome, IsolateOutcome::NotInSet(1_000_000));
    assert_eq!(allowed_cores(), before);
}
