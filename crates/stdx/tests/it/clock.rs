//! The live clock tracks real time; the simulated twin moves only when told, shared by clones.

use kestrel_stdx::{Clock, LiveClock, SimClock, mono_ns};
use std::time::Duration;

/// 2020-01-01T00:00:00Z in Unix milliseconds.
const JAN_2020_MS: u64 = 1_577_836_800_000;

#[test]
fn sim_clock_clones_share_time() {
    let a = SimClock::new(JAN_2020_MS);
    let b = a.clone();
    a.advance_ns(1_500_000);
    assert_eq!(b.mono_ns(), 1_500_000);
    assert_eq!(b.unix_ms(), JAN_2020_MS + 1);
    b.set_unix_ms(42);
    assert_eq!(a.unix_ms(), 42);
}

#[test]
fn set_unix_ms_steps_wall_time_without_moving_monotonic_time() {
    let clock = SimClock::new(1_000);
    clock.advance_ns(7);
    clock.set_unix_ms(500);
    assert_eq!(clock.mono_ns(), 7);
    assert_eq!(clock.unix_ms(), 500);
}

#[test]
fn sim_clock_is_usable_as_a_shared_trait_object_across_threads() {
    let clock = SimClock::new(0);
    let handle: std::sync::Arc<dyn Clock> = std::sync::Arc::new(clock.clone());
    let workers: Vec<_> = (0..4)
        .map(|_| {
            let c = clock.clone();
            std::thread::spawn(move || {
                for _ in 0..1_000 {
                    c.advance_ns(1);
                }
            })
        })
        .collect();
    for w in workers {
        w.join().expect("advancing thread panicked");
    }
    // No advance is lost under concurrency.
    assert_eq!(handle.mono_ns(), 4_000);
}

#[test]
fn live_clock_measures_a_sleep_and_reads_a_plausible_wall_time() {
    let clock = LiveClock::new();
    let before = clock.mono_ns();
    std::thread::sleep(Duration::from_millis(5));
    let after = clock.mono_ns();
    assert!(
        after - before >= 5_000_000,
        "slept 5 ms, clock moved {} ns",
        after - before
    );
    assert!(clock.unix_ms() > JAN_2020_MS);
}

#[test]
fn free_mono_ns_never_goes_backwards_and_agrees_with_live_clock() {
    let mut last = mono_ns();
    for _ in 0..10_000 {
        let now = mono_ns();
        assert!(now >= last);
        last = now;
    }
    // Same origin: a LiveClock reading taken after `last` cannot be smaller.
    assert!(LiveClock.mono_ns() >= last);
}
