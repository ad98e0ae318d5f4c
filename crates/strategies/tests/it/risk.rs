//! The lane's guard rails: the kill switch trips on each limit and stays tripped, an unwind
//! closes exactly the difference within its bounded price, and paper fills walk like a venue.

use kestrel_strategies::risk::{
    DiscountFunds, KillSwitch, Purpose, RiskLimits, TripReason, paper_fill, paper_fill_discounted,
    plan_unwind,
};
use kestrel_types::cex::{BookSide, FeeAsset, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::book::Book;

fn limits() -> RiskLimits {
    RiskLimits {
        max_drawdown: 1_000,
        max_imbalance: 50,
        max_orders_per_minute: 4,
    }
}

#[test]
fn the_order_rate_is_a_sliding_minute() {
    let mut k = KillSwitch::new(limits());
    assert_eq!(k.allow(0, 2, Purpose::Open), Ok(()));
    assert_eq!(k.allow(30_000, 2, Purpose::Open), Ok(()));
    assert_eq!(
        k.allow(59_999, 1, Purpose::Open),
        Err(TripReason::OrderRate { orders: 5 })
    );
    // Tripped: even after the window slides, new legs are refused until reset...
    assert_eq!(
        k.allow(200_000, 2, Purpose::Open),
        Err(TripReason::OrderRate { orders: 5 })
    );
    // ...but unwinds still go.
    assert_eq!(k.allow(200_000, 1, Purpose::Unwind), Ok(()));
    k.reset(0);
    assert_eq!(k.tripped(), None);
    assert_eq!(k.allow(200_001, 2, Purpose::Open), Ok(()));
}

#[test]
fn old_orders_leave_the_window() {
    let mut k = KillSwitch::new(limits());
    assert_eq!(k.allow(0, 4, Purpose::Open), Ok(()));
    assert_eq!(
        k.allow(60_000, 4, Purpose::Open),
        Ok(()),
        "the first four are a minute old"
    );
}

#[test]
fn drawdown_counts_from_the_peak_and_imbalance_from_its_limit() {
    let mut k = KillSwitch::new(limits());
    k.on_pnl(5_000);
    k.on_pnl(4_000);
    assert_eq!(
        k.tripped(),
        None,
        "exactly the limit below the peak is allowed"
    );
    k.on_pnl(3_999);
    assert_eq!(k.tripped(), Some(TripReason::Drawdown { drawdown: 1_001 }));
    let mut k = KillSwitch::new(limits());
    k.on_imbalance(50);
    assert_eq!(k.tripped(), None);
    k.on_imbalance(51);
    assert_eq!(k.tripped(), Some(TripReason::Imbalance { imbalance: 51 }));
    // The first reason is kept.
    k.on_pnl(-10_000);
    assert_eq!(k.tripped(), Some(TripReason::Imbalance { imbalance: 51 }));
}

#[test]
fn a_trip_counts_once_however_often_it_refuses() {
    let mut k = KillSwitch::new(limits());
    assert_eq!(k.trips(), 0);
    assert_eq!(k.allow(0, 4, Purpose::Open), Ok(()));
    assert!(k.allow(1, 2, Purpose::Open).is_err());
    // Refusals, and other limits passed while tripped, are the same trip.
    assert!(k.allow(2, 2, Purpose::Open).is_err());
    k.on_pnl(-10_000);
    k.on_imbalance(1_000);
    k.trip(TripReason::Manual);
    assert_eq!(k.trips(), 1);
    assert_eq!(k.tripped(), Some(TripReason::OrderRate { orders: 6 }));
    // Re-armed, the next limit passed is a new trip.
    k.reset(0);
    k.on_imbalance(51);
    assert_eq!(k.trips(), 2);
}

#[test]
fn every_reason_comes_back_from_its_key_and_amount() {
    let reasons = [
        TripReason::Drawdown {
            drawdown: u128::MAX,
        },
        TripReason::Imbalance { imbalance: 51 },
        TripReason::OrderRate { orders: u32::MAX },
        TripReason::Unresolved,
        TripReason::Manual,
    ];
    for r in reasons {
        assert_eq!(TripReason::from_key(r.key(), r.amount()), Some(r), "{r:?}");
    }
    // The words the journal holds, which are never renamed (a rename on both sides would
    // still pass the round trip above).
    let keys: Vec<&str> = reasons.iter().map(TripReason::key).collect();
    assert_eq!(
        keys,
        [
            "drawdown",
            "imbalance",
            "order_rate",
            "unresolved",
            "manual"
        ]
    );
    // What no reason writes is refused rather than guessed at.
    assert_eq!(TripReason::from_key("order_rate", Some(1 << 32)), None);
    assert_eq!(TripReason::from_key("drawdown", None), None);
    assert_eq!(TripReason::from_key("manual", Some(1)), None);
    assert_eq!(TripReason::from_key("Drawdown", Some(1)), None);
}

fn book(bid: u64, ask: u64) -> Book {
    let s = Scale::new(2).expect("s");
    let mut b = Book::new(10, s, s);
    b.set(BookSide::Bid, Fixed(bid), Fixed(1_000));
    b.set(BookSide::Ask, Fixed(ask), Fixed(1_000));
    b
}

#[test]
fn an_unwind_closes_exactly_the_difference_within_its_bound() {
    let (buy_book, sell_book) = (book(10_000, 10_010), book(10_100, 10_110));
    let slip = Rate(1_000_000); // 1%
    // Bought 3.00, sold 1.00: sell 2.00 where it was bought, no lower than 1% under 100.00.
    let u = plan_unwind(
        Fixed(300),
        Fixed(100),
        (Venue::Binance, &buy_book),
        (Venue::Okx, &sell_book),
        slip,
        Fixed(5),
    )
    .expect("unwind");
    assert_eq!(
        (u.venue, u.side, u.size, u.limit),
        (Venue::Binance, OrderSide::Sell, Fixed(200), Fixed(9_900))
    );
    // Sold 3.00, bought 1.00: buy 2.00 back where it was sold, no higher than 101.10 + 1%
    // (102.11), rounded down to the 0.05 tick.
    let u = plan_unwind(
        Fixed(100),
        Fixed(300),
        (Venue::Binance, &buy_book),
        (Venue::Okx, &sell_book),
        slip,
        Fixed(5),
    )
    .expect("unwind");
    assert_eq!(
        (u.venue, u.side, u.size, u.limit),
        (Venue::Okx, OrderSide::Buy, Fixed(200), Fixed(10_210))
    );
    assert_eq!(
        plan_unwind(
            Fixed(7),
            Fixed(7),
            (Venue::Binance, &buy_book),
            (Venue::Okx, &sell_book),
            slip,
            Fixed(1)
        ),
        None
    );
    let empty = Book::new(1, Scale::new(2).expect("s"), Scale::new(2).expect("s"));
    assert_eq!(
        plan_unwind(
            Fixed(8),
            Fixed(7),
            (Venue::Binance, &empty),
            (Venue::Okx, &sell_book),
            slip,
            Fixed(1)
        ),
        None
    );
}

/// Asks of 1.50 at 100.00, 2.00 at 100.50 and 5.00 at 101.00 (both scales 2 digits).
fn three_asks() -> Book {
    let s = Scale::new(2).expect("s");
    let mut b = Book::new(10, s, s);
    b.set(BookSide::Ask, Fixed(10_000), Fixed(150));
    b.set(BookSide::Ask, Fixed(10_050), Fixed(200));
    b.set(BookSide::Ask, Fixed(10_100), Fixed(500));
    b
}

#[test]
fn a_paper_fill_walks_to_its_limit_and_rounds_each_fee_up() {
    let b = three_asks();
    let fee = Rate(75_000); // 0.075%
    let f = paper_fill(
        &b,
        OrderSide::Buy,
        Fixed(1_000),
        Fixed(10_050),
        fee,
        FeeAsset::Quote,
    );
    assert_eq!((f.size, f.levels), (Fixed(350), 2), "stops at the limit");
    assert_eq!(f.notional, 10_000 * 150 + 10_050 * 200);
    // ceil(1,500,000 × 0.00075) = 1,125; ceil(2,010,000 × 0.00075) = 1,507.5 → 1,508.
    assert_eq!((f.fee_quote, f.fee_base), (1_125 + 1_508, 0));
    let f = paper_fill(
        &b,
        OrderSide::Buy,
        Fixed(1_000),
        Fixed(10_050),
        fee,
        FeeAsset::Base,
    );
    // ceil(150 × 0.00075) = 1; ceil(200 × 0.00075) = 1.
    assert_eq!((f.fee_quote, f.fee_base), (0, 2));
    let f = paper_fill(
        &b,
        OrderSide::Sell,
        Fixed(10),
        Fixed(1),
        fee,
        FeeAsset::Base,
    );
    assert_eq!((f.size, f.notional), (Fixed::ZERO, 0), "no bids");
}

#[test]
fn a_paper_fill_pays_in_the_discount_asset_per_level_while_it_covers_the_fee() {
    let b = three_asks();
    let (taker, discounted) = (Rate(100_000), Rate(75_000));
    // ceil(1,500,000 × 0.00075) = 1,125 at the discount: exactly what is there. The second
    // level's 1,508 (ceil of 1,507.5) is then not covered and goes in base at the full rate.
    let mut funds = DiscountFunds {
        rate: discounted,
        left: 1_125,
    };
    let f = paper_fill_discounted(
        &b,
        OrderSide::Buy,
        Fixed(1_000),
        Fixed(10_050),
        taker,
        FeeAsset::Base,
        Some(&mut funds),
    );
    assert_eq!((f.size, f.levels), (Fixed(350), 2));
    // ceil(200 × 0.001) = 1 in base for the second level.
    assert_eq!((f.fee_other, f.fee_base, f.fee_quote), (1_125, 1, 0));
    assert_eq!(funds.left, 0);
    // A fee that would need one unit more than is left is not paid from it.
    let mut short = DiscountFunds {
        rate: discounted,
        left: 1_124,
    };
    let f = paper_fill_discounted(
        &b,
        OrderSide::Buy,
        Fixed(150),
        Fixed(10_000),
        taker,
        FeeAsset::Quote,
        Some(&mut short),
    );
    assert_eq!((f.fee_other, f.fee_quote, short.left), (0, 1_500, 1_124));
    // Without funds it is `paper_fill`.
    let plain = paper_fill(
        &b,
        OrderSide::Buy,
        Fixed(1_000),
        Fixed(10_050),
        taker,
        FeeAsset::Base,
    );
    let none = paper_fill_discounted(
        &b,
        OrderSide::Buy,
        Fixed(1_000),
        Fixed(10_050),
        taker,
        FeeAsset::Base,
        None,
    );
    assert_eq!(plain, none);
}

#[test]
fn a_resumed_switch_counts_the_drawdown_from_the_carried_peak() {
    let limits = RiskLimits {
        max_drawdown: 200,
        ..limits()
    };
    // Earlier runs: up to +100, then down to -50 (drawdown 150, within the limit).
    let mut k = KillSwitch::new(limits);
    k.resume(-50, 100);
    assert_eq!(k.tripped(), None);
    assert_eq!(k.peak_pnl(), 100);
    // This run loses 60 more: 210 below the carried peak, past the limit; a fresh switch
    // would have seen a drawdown of 60 only.
    k.on_pnl(-110);
    assert_eq!(k.tripped(), Some(TripReason::Drawdown { drawdown: 210 }));
    let mut fresh = KillSwitch::new(limits);
    fresh.on_pnl(-60);
    assert_eq!(fresh.tripped(), None);
    // A carried drawdown already past a (lowered) limit trips at once.
    let mut k = KillSwitch::new(limits);
    k.resume(-150, 60);
    assert_eq!(k.tripped(), Some(TripReason::Drawdown { drawdown: 210 }));
    assert_eq!(k.trips(), 1);
    // A carried loss with no peak above zero counts from zero.
    let mut k = KillSwitch::new(limits);
    k.resume(-190, 0);
    assert_eq!(k.tripped(), None);
    k.on_pnl(-201);
    assert!(k.tripped().is_some());
}
