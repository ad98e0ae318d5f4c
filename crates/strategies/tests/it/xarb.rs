//! Cross-exchange arbitrage decisions: taken when the profit survives every cost, refused when
//! fees eat it, sized within inventory and lots, and exact to the unit.

use kestrel_strategies::xarb::{Decision, Leg, Rate, SymbolRules, XarbError, XarbParams, evaluate};
use kestrel_types::cex::{BookSide, Fixed, Scale, Venue};
use kestrel_venues::book::Book;
use proptest::prelude::*;

/// Prices with 2 fraction digits, sizes with 4: a notional unit is 10^-6 quote.
fn book(bids: &[(u64, u64)], asks: &[(u64, u64)]) -> Book {
    let mut b = Book::new(50, Scale::new(2).expect("s"), Scale::new(4).expect("s"));
    for &(p, s) in bids {
        b.set(BookSide::Bid, Fixed(p), Fixed(s));
    }
    for &(p, s) in asks {
        b.set(BookSide::Ask, Fixed(p), Fixed(s));
    }
    b
}

const RULES: SymbolRules = SymbolRules {
    lot: Fixed(10),
    min_size: Fixed(10),
    min_notional: 0,
};

fn leg(venue: Venue, book: &Book, fee_bps: u64, available: u128) -> Leg<'_> {
    Leg {
        venue,
        book,
        taker_fee: Rate(fee_bps * 10_000),
        rules: RULES,
        available,
    }
}

fn params() -> XarbParams {
    XarbParams {
        max_size: Fixed(1_000_000),
        min_profit: 1,
        safety_margin: Rate(0),
        transfer_per_base: Fixed(0),
    }
}

const LOTS_OF_QUOTE: u128 = u128::MAX / 4;

#[test]
fn a_dislocation_that_pays_after_fees_is_traded_exactly() {
    // Buy venue asks 100.00 for 1.5, 100.50 for 2; sell venue bids 101.50 for 1, 101.00 for 3.
    let buy_book = book(&[(9_900, 50_000)], &[(10_000, 15_000), (10_050, 20_000)]);
    let sell_book = book(&[(10_150, 10_000), (10_100, 30_000)], &[(10_200, 50_000)]);
    let buy = leg(Venue::Binance, &buy_book, 10, LOTS_OF_QUOTE);
    let sell = leg(Venue::Okx, &sell_book, 10, 1_000_000);
    let Decision::Trade(o) = evaluate(&buy, &sell, &params()).expect("same scales") else {
        panic!("should trade")
    };
    // Slices, each kept while bid × 0.999 > ask × 1.001: 1.0 at 100.00 → 101.50, 0.5 at
    // 100.00 → 101.00, then 2.0 at 100.50 → 101.00 (100.899 > 100.6005); the asks run out at 3.5.
    assert_eq!(o.size, Fixed(35_000));
    assert_eq!(o.buy_notional, 10_000 * 15_000 + 10_050 * 20_000);
    assert_eq!(o.sell_notional, 10_150 * 10_000 + 10_100 * 25_000);
    assert_eq!((o.buy_limit, o.sell_limit), (Fixed(10_050), Fixed(10_100)));
    // 10 bps, rounded up: 351,000,000 × 0.001 = 351,000 exactly.
    assert_eq!(o.buy_fee, 351_000);
    assert_eq!(o.sell_fee, 354_000);
    assert_eq!(o.net, 354_000_000 - 351_000_000 - 351_000 - 354_000);
    assert_eq!((o.buy_venue, o.sell_venue), (Venue::Binance, Venue::Okx));
}

#[test]
fn the_same_dislocation_is_refused_when_fees_eat_it() {
    let buy_book = book(&[], &[(10_000, 15_000)]);
    let sell_book = book(&[(10_150, 10_000)], &[]);
    // 1.5% edge against 1.2% taker (Coinbase intro tier) + 0.4% (Kraken entry tier).
    let buy = leg(Venue::Coinbase, &buy_book, 120, LOTS_OF_QUOTE);
    let sell = leg(Venue::Kraken, &sell_book, 40, 1_000_000);
    assert_eq!(evaluate(&buy, &sell, &params()), Ok(Decision::CostsEatIt));
    // With 0.1% fees on both it pays.
    let buy = leg(Venue::Coinbase, &buy_book, 10, LOTS_OF_QUOTE);
    let sell = leg(Venue::Kraken, &sell_book, 10, 1_000_000);
    assert!(matches!(
        evaluate(&buy, &sell, &params()),
        Ok(Decision::Trade(_))
    ));
}

#[test]
fn transfer_cost_and_margin_count_against_the_edge() {
    let buy_book = book(&[], &[(10_000, 10_000)]);
    let sell_book = book(&[(10_100, 10_000)], &[]);
    let buy = leg(Venue::Binance, &buy_book, 0, LOTS_OF_QUOTE);
    let sell = leg(Venue::Bybit, &sell_book, 0, 1_000_000);
    let mut p = params();
    assert!(matches!(evaluate(&buy, &sell, &p), Ok(Decision::Trade(o)) if o.net == 1_000_000));
    p.transfer_per_base = Fixed(100); // 1.00 quote per base: the whole 1.00 edge
    assert_eq!(evaluate(&buy, &sell, &p), Ok(Decision::CostsEatIt));
    p.transfer_per_base = Fixed(40);
    p.safety_margin = Rate(600_000); // 0.6% of 100.00 = 0.60
    assert_eq!(evaluate(&buy, &sell, &p), Ok(Decision::CostsEatIt));
    p.safety_margin = Rate(500_000); // 0.50 + 0.40 < 1.00: 0.10 left on one base
    let Ok(Decision::Trade(o)) = evaluate(&buy, &sell, &p) else {
        panic!("should trade")
    };
    assert_eq!((o.transfer, o.margin, o.net), (400_000, 500_000, 100_000));
    p.min_profit = 100_001;
    assert_eq!(
        evaluate(&buy, &sell, &p),
        Ok(Decision::BelowMinProfit { net: 100_000 })
    );
}

#[test]
fn inventory_and_the_size_cap_bound_the_trade() {
    let buy_book = book(&[], &[(10_000, 100_000)]);
    let sell_book = book(&[(10_200, 100_000)], &[]);
    // Only 2.5 base to sell.
    let buy = leg(Venue::Binance, &buy_book, 10, LOTS_OF_QUOTE);
    let sell = leg(Venue::Okx, &sell_book, 10, 25_000);
    let Ok(Decision::Trade(o)) = evaluate(&buy, &sell, &params()) else {
        panic!("trade")
    };
    assert_eq!(o.size, Fixed(25_000));
    // Only 150.00 quote (with fee) to buy with: 1.4985 base affordable, 1.498 in lots of 0.001.
    let quote = 150 * 1_000_000;
    let buy = leg(Venue::Binance, &buy_book, 10, quote);
    let Ok(Decision::Trade(o)) = evaluate(&buy, &sell, &params()) else {
        panic!("trade")
    };
    assert_eq!(o.size, Fixed(14_980));
    assert!(o.buy_notional + o.buy_fee <= quote);
    let mut p = params();
    p.max_size = Fixed(5_000);
    let buy = leg(Venue::Binance, &buy_book, 10, LOTS_OF_QUOTE);
    assert!(matches!(evaluate(&buy, &sell, &p), Ok(Decision::Trade(o)) if o.size == Fixed(5_000)));
    let broke = leg(Venue::Okx, &sell_book, 10, 0);
    assert_eq!(evaluate(&buy, &broke, &p), Ok(Decision::NoInventory));
}

#[test]
fn lots_minimums_and_scales_are_enforced() {
    let buy_book = book(&[], &[(10_000, 100_000)]);
    let sell_book = book(&[(10_200, 100_000)], &[]);
    let mut buy = leg(Venue::Binance, &buy_book, 10, LOTS_OF_QUOTE);
    let mut sell = leg(Venue::Okx, &sell_book, 10, 25_007);
    buy.rules.lot = Fixed(4);
    sell.rules.lot = Fixed(6);
    // Common lot 12: 25,007 rounds down to 24,996.
    let Ok(Decision::Trade(o)) = evaluate(&buy, &sell, &params()) else {
        panic!("trade")
    };
    assert_eq!(o.size, Fixed(24_996));
    sell.rules.min_notional = u128::MAX;
    assert_eq!(
        evaluate(&buy, &sell, &params()),
        Ok(Decision::BelowMinimums)
    );
    sell.rules.min_notional = 0;
    sell.rules.min_size = Fixed(30_000);
    assert_eq!(
        evaluate(&buy, &sell, &params()),
        Ok(Decision::BelowMinimums)
    );
    sell.rules.lot = Fixed(0);
    assert_eq!(evaluate(&buy, &sell, &params()), Err(XarbError::BadLot));
    let other_scale = Book::new(5, Scale::new(3).expect("s"), Scale::new(4).expect("s"));
    let odd = leg(Venue::Kraken, &other_scale, 10, 1);
    assert_eq!(
        evaluate(&buy, &odd, &params()),
        Err(XarbError::ScaleMismatch)
    );
    let empty = book(&[], &[]);
    assert_eq!(
        evaluate(&buy, &leg(Venue::Okx, &empty, 10, 1), &params()),
        Ok(Decision::NoBook)
    );
    let low = book(&[(9_000, 10)], &[]);
    assert_eq!(
        evaluate(&buy, &leg(Venue::Okx, &low, 10, 1), &params()),
        Ok(Decision::NoCross)
    );
}

/// Net profit of buying `size` on `asks` and selling on `bids`, computed independently one size
/// unit at a time, with fees rounded up on each leg's total.
fn naive_net(asks: &[(u64, u64)], bids: &[(u64, u64)], size: u64, fee: Rate) -> Option<i128> {
    let unit_prices = |levels: &[(u64, u64)]| -> Vec<u64> {
        levels
            .iter()
            .flat_map(|&(p, s)| std::iter::repeat_n(p, s as usize))
            .collect()
    };
    let (a, b) = (unit_prices(asks), unit_prices(bids));
    if a.len() < size as usize || b.len() < size as usize {
        return None;
    }
    let buy: u128 = a[..size as usize].iter().map(|&p| u128::from(p)).sum();
    let sell: u128 = b[..size as usize].iter().map(|&p| u128::from(p)).sum();
    let fee = |n: u128| (n * u128::from(fee.0)).div_ceil(Rate::ONE);
    Some(sell as i128 - buy as i128 - fee(buy) as i128 - fee(sell) as i128)
}

proptest! {
    #[test]
    fn every_trade_is_exactly_as_profitable_as_it_says_and_none_is_missed(
        asks in proptest::collection::btree_map(9_000u64..11_000, 1u64..40, 1..6),
        bids in proptest::collection::btree_map(9_000u64..11_000, 1u64..40, 1..6),
        fee in 0u64..300_000,
        available in 1u128..120,
    ) {
        let asks: Vec<(u64, u64)> = asks.into_iter().collect();
        let mut bids: Vec<(u64, u64)> = bids.into_iter().collect();
        bids.reverse();
        let buy_book = book(&[], &asks);
        let sell_book = book(&bids, &[]);
        let rules = SymbolRules { lot: Fixed(1), min_size: Fixed(1), min_notional: 0 };
        let buy = Leg { venue: Venue::Binance, book: &buy_book, taker_fee: Rate(fee), rules, available: LOTS_OF_QUOTE };
        let sell = Leg { venue: Venue::Okx, book: &sell_book, taker_fee: Rate(fee), rules, available };
        let decision = evaluate(&buy, &sell, &params()).expect("same scales");
        match decision {
            Decision::Trade(o) => {
                prop_assert!(u128::from(o.size.0) <= available);
                let naive = naive_net(&asks, &bids, o.size.0, Rate(fee)).expect("size exists");
                prop_assert_eq!(naive, o.net as i128);
                prop_assert!(o.net > 0);
            }
            Decision::CostsEatIt | Decision::NoCross => {
                // Not even one unit pays.
                if let Some(net) = naive_net(&asks, &bids, 1, Rate(fee)) {
                    prop_assert!(net <= 0, "missed a paying unit: {}", net);
                }
            }
            other => prop_assert!(false, "unexpected {:?}", other),
        }
    }
}
