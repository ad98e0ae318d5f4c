//! The request budget: refill, burst cap, debt and the rate-limit pause, against a model
//! that counts requests in a sliding window.

use kestrel_strategies::budget::RequestBudget;
use proptest::prelude::*;

const S: u64 = 1_000_000_000;

#[test]
fn a_full_bucket_gives_its_burst_then_refills_at_the_rate() {
    let mut b = RequestBudget::new(5, 10, 0);
    assert_eq!(b.available(0), 10);
    for _ in 0..10 {
        assert!(b.allows(1, 0));
        b.spend(1, 0);
    }
    assert!(!b.allows(1, 0));
    assert_eq!(b.held_back(), 1);
    // 5 per second: one more every 200 ms, none before.
    assert_eq!(b.available(199_999_999), 0);
    assert_eq!(b.available(200_000_000), 1);
    assert_eq!(b.available(S), 5);
    // Never more than the burst, however long it rests.
    assert_eq!(b.available(3_600 * S), 10);
}

#[test]
fn debt_is_waited_out_and_a_rate_limit_adds_a_pause() {
    let mut b = RequestBudget::new(2, 2, 0);
    for _ in 0..4 {
        b.spend(1, 0); // two of them in debt (an unwind and a query, say)
    }
    assert_eq!(b.available(0), 0);
    // Two requests of debt at 2/s: back to zero after 1 s, one request after 1.5 s.
    assert_eq!(b.available(S), 0);
    assert_eq!(b.available(S + S / 2), 1);
    // The venue answers 429: empty, plus 1 s.
    b.penalize(S + S / 2, 1_000);
    assert_eq!(b.available(2 * S + S / 2 - 1), 0);
    assert_eq!(b.available(3 * S), 1);
}

#[test]
fn requests_spend_their_cost_and_the_venues_count_bounds_what_is_left() {
    // 100 units a second (Binance: request weight), 200 at once.
    let mut b = RequestBudget::new(100, 200, 0);
    b.spend(4, 0); // an order query weighs 4
    b.spend(1, 0);
    // Two requests, five units spent.
    assert_eq!(b.requests(), 2);
    assert_eq!(b.available(0), 195);
    // The venue says 5,990 of its 6,000 are used this minute (other clients of the IP), and
    // 3 more were sent since: 7 left until the minute ends at 30 s, whatever the bucket holds.
    b.bound_by_venue(5_990, 6_000, 3, 30 * S);
    assert_eq!(b.available(S), 7);
    b.spend(1, S);
    assert_eq!(b.available(S), 6);
    assert!(!b.allows(7, S));
    // Overspent (another client raced ahead): nothing, not a negative number.
    b.bound_by_venue(6_010, 6_000, 0, 30 * S);
    assert_eq!(b.available(2 * S), 0);
    // The window over, the bucket alone decides again.
    assert_eq!(b.available(30 * S), 200);
}

#[test]
fn a_hold_stops_only_new_trades_and_a_pause_or_a_spent_count_refuses_what_must_go() {
    let mut b = RequestBudget::new(10, 10, 0);
    // A hold (fewer orders left than a trade needs): no trade, but an unwind or query may go.
    b.hold_until(S);
    assert_eq!(b.available(S - 1), 0);
    assert_eq!(
        (b.refused_until(0, 1), b.orders_refused_until(0, 1)),
        (None, None)
    );
    assert_eq!(b.available(S), 10);
    // The venue's order count spent until its reset: orders wait for it, queries need not.
    b.refuse_orders_until(2 * S);
    assert_eq!(b.orders_refused_until(S, 1), Some(2 * S));
    assert_eq!(b.refused_until(S, 1), None);
    assert_eq!(b.available(2 * S - 1), 0);
    assert_eq!(b.orders_refused_until(2 * S, 1), None);
    // A rate-limit answer: everything waits out its pause.
    b.penalize(3 * S, 1_500);
    assert_eq!(b.refused_until(3 * S, 1), Some(3 * S + 3 * S / 2));
    assert_eq!(b.orders_refused_until(4 * S, 1), Some(3 * S + 3 * S / 2));
    assert_eq!(b.refused_until(3 * S + 3 * S / 2, 1), None);
    // The venue's weight used up until its window ends: everything waits for the window.
    b.bound_by_venue(5_998, 6_000, 2, 10 * S);
    assert_eq!(b.refused_until(5 * S, 1), Some(10 * S));
    assert_eq!(b.refused_until(10 * S, 1), None);
    // One unit left: not refused for a request costing one (the bucket decides what a trade
    // may take), refused until the window ends for one costing more (Binance's query weighs
    // 4: the venue would refuse it).
    b.bound_by_venue(5_999, 6_000, 0, 20 * S);
    assert_eq!(b.refused_until(11 * S, 1), None);
    assert_eq!(b.refused_until(11 * S, 4), Some(20 * S));
    assert_eq!(b.orders_refused_until(11 * S, 4), Some(20 * S));
}

proptest! {
    /// Whatever the arrival times, a caller that sends only when `allows` says so never sends
    /// more than `burst + per_second × window` requests in any window.
    #[test]
    fn allowed_requests_never_exceed_the_budget_in_any_window(
        per_second in 1u32..50,
        burst in 1u32..20,
        gaps in proptest::collection::vec(0u64..200_000_000, 1..400),
    ) {
        let mut b = RequestBudget::new(per_second, burst, 0);
        let mut now = 0u64;
        let mut sent = Vec::new();
        for gap in gaps {
            now += gap;
            if b.allows(1, now) {
                b.spend(1, now);
                sent.push(now);
            }
        }
        for (i, &start) in sent.iter().enumerate() {
            for window_ns in [S / 10, S, 5 * S] {
                let in_window = sent[i..].iter().take_while(|&&t| t < start + window_ns).count() as u128;
                let bound = u128::from(burst)
                    + (u128::from(per_second) * u128::from(window_ns)).div_ceil(u128::from(S));
                prop_assert!(in_window <= bound, "{in_window} > {bound} in {window_ns} ns");
            }
        }
    }
}
