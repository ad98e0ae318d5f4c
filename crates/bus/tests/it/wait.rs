//! Wait strategies parse from config words, count idle rounds, and park without hanging.

use kestrel_bus::WaitStrategy;
use kestrel_bus::wait::{DEFAULT_PARK_TIMEOUT, PARK_YIELD_ROUNDS};
use std::time::{Duration, Instant};

#[test]
fn parses_the_three_config_words() {
    let cases = [
        ("spin", Some(WaitStrategy::Spin)),
        ("Yield", Some(WaitStrategy::Yield)),
        (" park ", Some(WaitStrategy::Park(DEFAULT_PARK_TIMEOUT))),
        ("sleep", None),
        ("", None),
    ];
    for (word, want) in cases {
        assert_eq!(word.parse::<WaitStrategy>().ok(), want, "{word:?}");
    }
    let err = "sleep".parse::<WaitStrategy>().expect_err("not a strategy");
    assert!(err.to_string().contains("sleep"));
}

#[test]
fn names_round_trip_through_parse() {
    for s in [
        WaitStrategy::Spin,
        WaitStrategy::Yield,
        WaitStrategy::Park(DEFAULT_PARK_TIMEOUT),
    ] {
        assert_eq!(s.name().parse::<WaitStrategy>(), Ok(s));
    }
}

#[test]
fn every_idle_round_is_counted() {
    for s in [
        WaitStrategy::Spin,
        WaitStrategy::Yield,
        WaitStrategy::Park(Duration::from_micros(1)),
    ] {
        let mut spins = 0;
        for _ in 0..10 {
            s.idle(&mut spins);
        }
        assert_eq!(spins, 10, "{s:?}");
    }
}

#[test]
fn park_backs_off_to_a_timed_park_that_returns() {
    let timeout = Duration::from_millis(20);
    let strategy = WaitStrategy::Park(timeout);
    // Past the spin and yield phases the next idle parks; with nobody to unpark it, it must
    // return on its own after roughly the timeout (park may wake early, so loop on time).
    let mut spins = PARK_YIELD_ROUNDS;
    let start = Instant::now();
    while start.elapsed() < timeout {
        strategy.idle(&mut spins);
    }
    assert!(start.elapsed() < Duration::from_secs(5));
    assert!(spins > PARK_YIELD_ROUNDS);
}

#[test]
fn park_wakes_early_when_unparked() {
    let strategy = WaitStrategy::Park(Duration::from_secs(30));
    let waiter = std::thread::spawn(move || {
        let mut spins = PARK_YIELD_ROUNDS;
        let start = Instant::now();
        strategy.idle(&mut spins);
        start.elapsed()
    });
    std::thread::sleep(Duration::from_millis(20));
    waiter.thread().unpark();
    let waited = waiter.join().expect("waiter panicked");
    assert!(
        waited < Duration::from_secs(10),
        "parked {waited:?} despite unpark"
    );
}
