//! Paper fills match the simulated venue's matching: the same book, the same IOC order, the
//! same fills and fees, in both fee assets. This is what makes paper mode's results what live
//! would have done on the same books.

use kestrel_exsim::engine::{
    AssetSpec, Exchange, FeeDiscount, FeeRates, NewOrder, SymbolSpec, Tif,
};
use kestrel_strategies::risk::{DiscountFunds, paper_fill, paper_fill_discounted};
use kestrel_types::cex::{BookSide, FeeAsset, Fixed, OrderSide, Rate, Scale, Venue};
use proptest::prelude::*;

fn exchange(fee_asset: FeeAsset, levels: &[(bool, u64, u64)]) -> Exchange {
    exchange_on(Venue::Okx, fee_asset, levels)
}

fn exchange_on(venue: Venue, fee_asset: FeeAsset, levels: &[(bool, u64, u64)]) -> Exchange {
    let s = |d| Scale::new(d).expect("scale");
    let mut ex = Exchange::new(
        venue,
        vec![
            AssetSpec {
                name: "ETH".into(),
                scale: s(4),
            },
            AssetSpec {
                name: "USDT".into(),
                scale: s(6),
            },
            AssetSpec {
                name: "BNB".into(),
                scale: s(8),
            },
        ],
        vec![SymbolSpec {
            symbol: "ETH-USDT".into(),
            base: "ETH".into(),
            quote: "USDT".into(),
            price_scale: s(2),
            size_scale: s(4),
            tick: Fixed(1),
            lot: Fixed(1),
            min_size: Fixed(1),
            min_notional: 0,
            depth: 64,
        }],
        fee_asset,
    )
    .expect("exchange");
    ex.add_account(
        "a",
        FeeRates {
            maker: Rate(0),
            taker: Rate(75_000),
        },
    );
    ex.deposit("a", "USDT", u128::from(u64::MAX));
    ex.deposit("a", "ETH", u128::from(u32::MAX));
    for &(bid, price, size) in levels {
        let side = if bid { BookSide::Bid } else { BookSide::Ask };
        ex.set_level("ETH-USDT", side, Fixed(price), Fixed(size));
    }
    ex
}

proptest! {
    #[test]
    fn paper_equals_the_venue(
        asks in proptest::collection::btree_map(300_000u64..300_500, 1u64..5_000, 1..12),
        bids in proptest::collection::btree_map(299_000u64..299_500, 1u64..5_000, 1..12),
        buy in any::<bool>(),
        base_fee in any::<bool>(),
        size in 1u64..40_000,
        limit_offset in 0u64..600,
    ) {
        let levels: Vec<(bool, u64, u64)> = asks.iter().map(|(p, s)| (false, *p, *s))
            .chain(bids.iter().map(|(p, s)| (true, *p, *s))).collect();
        let fee_asset = if base_fee { FeeAsset::Base } else { FeeAsset::Quote };
        let mut ex = exchange(fee_asset, &levels);
        let (side, limit) = if buy {
            (OrderSide::Buy, Fixed(300_000 + limit_offset))
        } else {
            (OrderSide::Sell, Fixed(299_500 - limit_offset))
        };
        let book = ex.book("ETH-USDT").expect("book").clone();
        let paper = paper_fill(&book, side, Fixed(size), limit, Rate(75_000), fee_asset);
        let order = ex
            .place("a", NewOrder { symbol: "ETH-USDT".into(), side, size: Fixed(size), limit, tif: Tif::Ioc, client_id: "p".into() }, 0)
            .expect("placed");
        prop_assert_eq!(paper.size, order.filled);
        prop_assert_eq!(paper.notional, order.notional);
        prop_assert_eq!(paper.fee_quote + paper.fee_base, order.fees);
        prop_assert_eq!(paper.levels as usize, order.fills.len());
        // Only a buy on a venue that takes a buy's fee in base pays in base.
        let in_base = buy && base_fee;
        prop_assert!(order.fills.iter().all(|f| (f.fee_asset == FeeAsset::Base) == in_base));
        let other_asset_fee = if in_base { paper.fee_quote } else { paper.fee_base };
        prop_assert_eq!(other_asset_fee, 0);
    }
}

proptest! {
    /// An account paying fees in BNB at a discount: paper, given the BNB's value as its
    /// funds, pays each fill's fee where the venue does (in BNB while it covers the fee, in the
    /// usual asset after), values the BNB fees at the discounted rate, and ends with the BNB's
    /// value left. BNB is priced at one USDT unit per BNB unit here, so that the venue's
    /// conversion to whole BNB units rounds nothing away (at a real price, each BNB-paid fill
    /// costs at most one BNB unit more than its value, which paper does not follow).
    #[test]
    fn paper_paying_fees_in_bnb_equals_the_venue(
        asks in proptest::collection::btree_map(300_000u64..300_500, 1u64..5_000, 1..12),
        bids in proptest::collection::btree_map(299_000u64..299_500, 1u64..5_000, 1..12),
        buy in any::<bool>(),
        size in 1u64..40_000,
        limit_offset in 0u64..600,
        bnb in 0u128..2_000_000,
    ) {
        let levels: Vec<(bool, u64, u64)> = asks.iter().map(|(p, s)| (false, *p, *s))
            .chain(bids.iter().map(|(p, s)| (true, *p, *s))).collect();
        let mut ex = exchange_on(Venue::Binance, FeeAsset::Base, &levels);
        let discount = Rate(75_000_000);
        ex.set_fee_discount(FeeDiscount { asset: "BNB".into(), discount, quote_units_per_unit: 1 })
            .expect("discount");
        ex.deposit("a", "BNB", bnb);
        let (side, limit) = if buy {
            (OrderSide::Buy, Fixed(300_000 + limit_offset))
        } else {
            (OrderSide::Sell, Fixed(299_500 - limit_offset))
        };
        let book = ex.book("ETH-USDT").expect("book").clone();
        let taker = Rate(75_000);
        let mut funds = DiscountFunds { rate: taker.times(discount), left: bnb };
        let paper = paper_fill_discounted(
            &book, side, Fixed(size), limit, taker, FeeAsset::Base, Some(&mut funds),
        );
        let order = ex
            .place("a", NewOrder { symbol: "ETH-USDT".into(), side, size: Fixed(size), limit, tif: Tif::Ioc, client_id: "p".into() }, 0)
            .expect("placed");
        prop_assert_eq!(paper.size, order.filled);
        prop_assert_eq!(paper.notional, order.notional);
        let in_bnb: u128 = order.fills.iter().filter(|f| f.discounted).map(|f| f.fee).sum();
        prop_assert_eq!(paper.fee_other, in_bnb);
        prop_assert_eq!(paper.fee_quote + paper.fee_base, order.fees);
        prop_assert_eq!(funds.left, ex.balance("a", "BNB").0);
        prop_assert_eq!(paper.levels as usize, order.fills.len());
    }
}
