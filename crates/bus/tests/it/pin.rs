//! Pinning never panics: absent cores and unasked pins are reported, real cores are pinned.

use kestrel_bus::{PinOutcome, pin_current_thread};

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
