//! The normalized book: ordering, removal, bounded depth and the exact VWAP walk.

use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::Book;
use proptest::prelude::*;

fn book(capacity: usize) -> Book {
    let s = Scale::new(2).expect("scale");
    Book::new(capacity, s, s)
}

fn prices(levels: &[kestrel_venues::book::Level]) -> Vec<u64> {
    levels.iter().map(|l| l.price.0).collect()
}

#[test]
fn levels_are_kept_best_first_and_zero_removes() {
    let mut b = book(10);
    for (px, sz) in [(100, 1), (102, 2), (101, 3)] {
        b.set(BookSide::Bid, Fixed(px), Fixed(sz));
        b.set(BookSide::Ask, Fixed(px + 10), Fixed(sz));
    }
    assert_eq!(prices(b.bids()), vec![102, 101, 100]);
    assert_eq!(prices(b.asks()), vec![110, 111, 112]);
    b.set(BookSide::Bid, Fixed(101), Fixed(9));
    assert_eq!(b.bids()[1].size, Fixed(9));
    b.set(BookSide::Bid, Fixed(102), Fixed::ZERO);
    b.set(BookSide::Ask, Fixed(999), Fixed::ZERO);
    assert_eq!(prices(b.bids()), vec![101, 100]);
    assert_eq!(b.asks().len(), 3);
    assert!(!b.is_crossed());
    b.set(BookSide::Bid, Fixed(110), Fixed(1));
    assert!(b.is_crossed());
}

#[test]
fn a_full_side_keeps_the_best_levels_and_counts_what_it_drops() {
    let mut b = book(2);
    b.set(BookSide::Ask, Fixed(10), Fixed(1));
    b.set(BookSide::Ask, Fixed(12), Fixed(1));
    b.set(BookSide::Ask, Fixed(13), Fixed(1)); // worse than both: dropped
    b.set(BookSide::Ask, Fixed(11), Fixed(1)); // better than 12: 12 falls off
    assert_eq!(prices(b.asks()), vec![10, 11]);
    assert_eq!(b.dropped_levels(), 2);
    assert_eq!(
        b.asks().len(),
        b.capacity(),
        "full, and never past its capacity"
    );
}

#[test]
fn walking_the_book_sums_exact_notional_level_by_level() {
    let mut b = book(10);
    b.set(BookSide::Ask, Fixed(10_000), Fixed(150)); // 100.00 × 1.50
    b.set(BookSide::Ask, Fixed(10_100), Fixed(200)); // 101.00 × 2.00
    let w = b.walk_buy(Fixed(250));
    assert_eq!(w.size, Fixed(250));
    assert_eq!(w.notional, 10_000 * 150 + 10_100 * 100);
    assert_eq!((w.worst_price, w.levels), (Fixed(10_100), 2));
    let all = b.walk_buy(Fixed(1_000));
    assert_eq!(all.size, Fixed(350), "the book runs out");
    assert_eq!(b.walk_sell(Fixed(1)).size, Fixed::ZERO);
}

proptest! {
    #[test]
    fn the_book_matches_a_naive_model(ops in proptest::collection::vec((any::<bool>(), 1u64..40, 0u64..5), 0..200)) {
        let mut b = book(8);
        let mut model: std::collections::BTreeMap<(bool, u64), u64> = Default::default();
        for (bid, px, sz) in &ops {
            let side = if *bid { BookSide::Bid } else { BookSide::Ask };
            b.set(side, Fixed(*px), Fixed(*sz));
            if *sz == 0 { model.remove(&(*bid, *px)); } else { model.insert((*bid, *px), *sz); }
            // The model keeps everything; the book keeps the best 8 of what it has seen, so
            // compare only while no level was ever dropped.
            if b.dropped_levels() > 0 { return Ok(()); }
        }
        let bids: Vec<u64> = model.iter().filter(|((bid, _), _)| *bid).map(|((_, p), _)| *p).rev().collect();
        let asks: Vec<u64> = model.iter().filter(|((bid, _), _)| !*bid).map(|((_, p), _)| *p).collect();
        prop_assert_eq!(prices(b.bids()), bids);
        prop_assert_eq!(prices(b.asks()), asks);
        // Walk: notional equals the naive sum over the same levels.
        let want = 7;
        let w = b.walk_buy(Fixed(want));
        let mut left = want;
        let mut notional = 0u128;
        for l in b.asks() {
            let take = left.min(l.size.0);
            notional += u128::from(take) * u128::from(l.price.0);
            left -= take;
        }
        prop_assert_eq!(w.notional, notional);
        prop_assert_eq!(w.size.0, want - left);
    }
}
