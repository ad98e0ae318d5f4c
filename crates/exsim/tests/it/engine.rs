//! The matching engine: book walks, fees, balances, locks, rejections and the invariants under
//! random operation sequences.
//!
//! One symbol throughout: BTCUSDT with prices at 2 digits (tick 0.05) and sizes at 8 (lot
//! 0.0001), so BTC balances have 8 digits and USDT balances 10 (a notional is USDT units).
//! Taker fee 0.075%: `ceil(amount × 75_000 / 10^8)`.

use kestrel_exsim::engine::{
    AssetSpec, ConfigIssue, Exchange, FeeAsset, FeeDiscount, FeeRates, Liquidity, NewOrder, Order,
    OrderRef, OrderStatus, Reject, SymbolSpec, Tif,
};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::book::Level;
use proptest::prelude::*;

const SYMBOL: &str = "BTCUSDT";
/// One whole USDT in balance units (10 digits).
const USDT: u128 = 10_000_000_000;
/// One whole BTC in balance units (8 digits).
const BTC: u128 = 100_000_000;
const FEES: FeeRates = FeeRates {
    maker: Rate(25_000),
    taker: Rate(75_000),
};

fn scale(digits: u8) -> Scale {
    Scale::new(digits).expect("a small scale")
}

/// A price at 2 digits.
fn px(text: &str) -> Fixed {
    Fixed::parse(text.as_bytes(), scale(2)).expect("a price")
}

/// A size at 8 digits.
fn sz(text: &str) -> Fixed {
    Fixed::parse(text.as_bytes(), scale(8)).expect("a size")
}

fn spec() -> SymbolSpec {
    SymbolSpec {
        symbol: SYMBOL.to_owned(),
        base: "BTC".to_owned(),
        quote: "USDT".to_owned(),
        price_scale: scale(2),
        size_scale: scale(8),
        tick: px("0.05"),
        lot: sz("0.0001"),
        min_size: sz("0.001"),
        min_notional: 10 * USDT,
        depth: 10,
    }
}

fn assets() -> Vec<AssetSpec> {
    vec![
        AssetSpec {
            name: "BTC".to_owned(),
            scale: scale(8),
        },
        AssetSpec {
            name: "USDT".to_owned(),
            scale: scale(10),
        },
    ]
}

/// An exchange with `alice` holding 1000 USDT and 10 BTC.
fn exchange(fee_asset_on_buy: FeeAsset) -> Exchange {
    let mut ex = Exchange::new(Venue::Binance, assets(), vec![spec()], fee_asset_on_buy)
        .expect("a valid config");
    ex.add_account("alice", FEES);
    ex.deposit("alice", "USDT", 1000 * USDT);
    ex.deposit("alice", "BTC", 10 * BTC);
    ex
}

/// Asks 100.00 × 0.3001, 100.05 × 0.5003, 100.15 × 1, 100.20 × 2; bids 99.95 × 0.4003,
/// 99.90 × 0.5, 99.80 × 3. Deltas drained.
fn seed_book(ex: &mut Exchange) {
    let levels = [
        (BookSide::Ask, "100.00", "0.3001"),
        (BookSide::Ask, "100.05", "0.5003"),
        (BookSide::Ask, "100.15", "1"),
        (BookSide::Ask, "100.20", "2"),
        (BookSide::Bid, "99.95", "0.4003"),
        (BookSide::Bid, "99.90", "0.5"),
        (BookSide::Bid, "99.80", "3"),
    ];
    for (side, price, size) in levels {
        ex.set_level(SYMBOL, side, px(price), sz(size));
    }
    let mut drained = Vec::new();
    ex.take_deltas(SYMBOL, &mut drained);
}

fn order(side: OrderSide, size: &str, limit: &str, tif: Tif, client_id: &str) -> NewOrder {
    NewOrder {
        symbol: SYMBOL.to_owned(),
        side,
        size: sz(size),
        limit: px(limit),
        tif,
        client_id: client_id.to_owned(),
    }
}

fn book_side(ex: &Exchange, side: BookSide) -> Vec<Level> {
    ex.book(SYMBOL).expect("the symbol").side(side).to_vec()
}

fn deltas(ex: &mut Exchange) -> Vec<(BookSide, Fixed, Fixed)> {
    let mut out = Vec::new();
    ex.take_deltas(SYMBOL, &mut out);
    out
}

#[test]
fn ioc_buy_walks_three_levels_at_each_levels_price() {
    let mut ex = exchange(FeeAsset::Quote);
    seed_book(&mut ex);
    let buy = order(OrderSide::Buy, "1.2", "100.15", Tif::Ioc, "walk-1");
    let placed = ex.place("alice", buy, 1_000).expect("accepted");

    // 0.3001 @ 100.00: 10000 × 30_010_000 = 300_100_000_000; fee 225_075_000 exactly.
    // 0.5003 @ 100.05: 10005 × 50_030_000 = 500_550_150_000; fee 375_412_612.5 → 375_412_613.
    // 0.3996 @ 100.15: 10015 × 39_960_000 = 400_199_400_000; fee 300_149_550 exactly.
    let expected = [
        ("100.00", "0.3001", 225_075_000),
        ("100.05", "0.5003", 375_412_613),
        ("100.15", "0.3996", 300_149_550),
    ];
    assert_eq!(placed.fills.len(), 3);
    for (fill, (price, size, fee)) in placed.fills.iter().zip(expected) {
        assert_eq!(
            (fill.price, fill.size, fill.fee),
            (px(price), sz(size), fee)
        );
        assert_eq!(fill.fee_asset, FeeAsset::Quote);
        assert_eq!(fill.liquidity, Liquidity::Taker);
    }
    let trade_ids: Vec<u64> = placed.fills.iter().map(|f| f.trade_id).collect();
    assert_eq!(trade_ids, [1, 2, 3]);
    assert_eq!(placed.status, OrderStatus::Filled);
    assert_eq!(placed.filled, sz("1.2"));
    assert_eq!(placed.notional, 1_200_849_550_000);
    assert_eq!(placed.fees, 900_637_163);
    assert_eq!(placed.id, 1);

    // 1000 USDT − 120.084955 − 0.0900637163 = 879.8249812837 USDT, nothing left locked.
    assert_eq!(ex.balance("alice", "USDT"), (8_798_249_812_837, 0));
    assert_eq!(ex.balance("alice", "BTC"), (10 * BTC + 120_000_000, 0));

    // The first two asks are gone; 1 − 0.3996 = 0.6004 is left at 100.15.
    let asks = book_side(&ex, BookSide::Ask);
    assert_eq!(
        asks,
        [
            Level {
                price: px("100.15"),
                size: sz("0.6004")
            },
            Level {
                price: px("100.20"),
                size: sz("2")
            },
        ]
    );
    assert_eq!(
        deltas(&mut ex),
        [
            (BookSide::Ask, px("100.00"), Fixed::ZERO),
            (BookSide::Ask, px("100.05"), Fixed::ZERO),
            (BookSide::Ask, px("100.15"), sz("0.6004")),
        ]
    );
    assert_eq!(ex.trades().len(), 3);
    assert_eq!(
        ex.trades_after(1).map(|t| t.trade_id).collect::<Vec<_>>(),
        [2, 3]
    );
    ex.audit().expect("invariants hold");
}

#[test]
fn buy_fee_in_base_or_quote_changes_only_the_fee_asset() {
    let mut quote_fee = exchange(FeeAsset::Quote);
    let mut base_fee = exchange(FeeAsset::Base);
    seed_book(&mut quote_fee);
    seed_book(&mut base_fee);
    let buy = order(OrderSide::Buy, "1.2", "100.15", Tif::Ioc, "fee-1");
    let q = quote_fee.place("alice", buy.clone(), 1).expect("accepted");
    let b = base_fee.place("alice", buy, 1).expect("accepted");

    // The same fills and notional on both.
    assert_eq!(q.notional, b.notional);
    let sizes = |o: &Order| {
        o.fills
            .iter()
            .map(|f| (f.price, f.size))
            .collect::<Vec<_>>()
    };
    assert_eq!(sizes(&q), sizes(&b));
    // Base fees: ceil(30_010_000 × 0.00075) = 22_508, ceil(50_030_000 × 0.00075) = 37_523,
    // 39_960_000 × 0.00075 = 29_970.
    let base_fees: Vec<u128> = b.fills.iter().map(|f| f.fee).collect();
    assert_eq!(base_fees, [22_508, 37_523, 29_970]);
    assert!(b.fills.iter().all(|f| f.fee_asset == FeeAsset::Base));
    assert_eq!(b.fees, 90_001);

    // Quote fee: pays notional + fee in USDT, receives the whole size.
    assert_eq!(
        quote_fee.balance("alice", "USDT").0,
        1000 * USDT - 1_200_849_550_000 - 900_637_163
    );
    assert_eq!(quote_fee.balance("alice", "BTC").0, 10 * BTC + 120_000_000);
    // Base fee: pays only the notional, receives the size less the fee.
    assert_eq!(
        base_fee.balance("alice", "USDT").0,
        1000 * USDT - 1_200_849_550_000
    );
    assert_eq!(
        base_fee.balance("alice", "BTC").0,
        10 * BTC + 120_000_000 - 90_001
    );
    quote_fee.audit().expect("invariants hold");
    base_fee.audit().expect("invariants hold");
}

#[test]
fn ioc_sell_walks_the_bids_and_pays_the_fee_in_quote_on_a_base_fee_exchange() {
    let mut ex = exchange(FeeAsset::Base);
    seed_book(&mut ex);
    let sell = order(OrderSide::Sell, "0.7", "99.90", Tif::Ioc, "");
    let placed = ex.place("alice", sell, 5).expect("accepted");

    // 0.4003 @ 99.95: 400_099_850_000, fee 300_074_887.5 → 300_074_888.
    // 0.2997 @ 99.90: 299_400_300_000, fee 224_550_225.
    let fills: Vec<_> = placed
        .fills
        .iter()
        .map(|f| (f.price, f.size, f.fee, f.fee_asset))
        .collect();
    assert_eq!(
        fills,
        [
            (px("99.95"), sz("0.4003"), 300_074_888, FeeAsset::Quote),
            (px("99.90"), sz("0.2997"), 224_550_225, FeeAsset::Quote),
        ]
    );
    assert_eq!(placed.status, OrderStatus::Filled);
    assert_eq!(ex.balance("alice", "BTC"), (10 * BTC - 70_000_000, 0));
    assert_eq!(
        ex.balance("alice", "USDT"),
        (1000 * USDT + 698_975_524_887, 0)
    );
    assert_eq!(
        deltas(&mut ex),
        [
            (BookSide::Bid, px("99.95"), Fixed::ZERO),
            (BookSide::Bid, px("99.90"), sz("0.2003")),
        ]
    );
    ex.audit().expect("invariants hold");
}

#[test]
fn a_fee_discount_charges_the_third_asset_while_it_lasts_then_the_usual_asset() {
    let mut assets = assets();
    assets.push(AssetSpec {
        name: "BNB".to_owned(),
        scale: scale(8),
    });
    let mut ex = Exchange::new(Venue::Binance, assets.clone(), vec![spec()], FeeAsset::Base)
        .expect("a valid config");
    ex.add_account("alice", FEES);
    ex.deposit("alice", "BTC", 10 * BTC);
    // BNB at 600 USDT: one 10^-8 BNB is 6 × 10^-6 USDT, 60,000 USDT units.
    let discount = |asset: &str| FeeDiscount {
        asset: asset.to_owned(),
        discount: Rate(75_000_000),
        quote_units_per_unit: 60_000,
    };
    assert!(ex.set_fee_discount(discount("ETH")).is_err(), "not listed");
    let mut kraken = Exchange::new(Venue::Kraken, assets.clone(), vec![spec()], FeeAsset::Base)
        .expect("a valid config");
    assert!(
        kraken.set_fee_discount(discount("BNB")).is_err(),
        "no other front writes such fees"
    );
    assert!(
        ex.set_fee_discount(discount("USDT")).is_err(),
        "traded here"
    );
    ex.set_fee_discount(discount("BNB")).expect("a third asset");
    // Enough BNB for the first fill's fee and 1,000 units over.
    ex.deposit("alice", "BNB", 3_751 + 1_000);
    seed_book(&mut ex);
    let placed = ex
        .place(
            "alice",
            order(OrderSide::Sell, "0.7", "99.90", Tif::Ioc, ""),
            5,
        )
        .expect("accepted");
    // 0.075 % × 0.75 = 0.05625 %. 0.4003 @ 99.95 = 400_099_850_000: worth 225_056_165.625 →
    // 225_056_166 USDT units, 3,750.94 → 3,751 BNB units. 0.2997 @ 99.90 needs 2,807 BNB units,
    // more than the 1,000 left: its fee is the usual 0.075 % in USDT, 224_550_225.
    let fills: Vec<_> = placed
        .fills
        .iter()
        .map(|f| (f.size, f.fee, f.discounted))
        .collect();
    assert_eq!(
        fills,
        [
            (sz("0.4003"), 3_751, true),
            (sz("0.2997"), 224_550_225, false)
        ]
    );
    assert_eq!(
        placed.fees, 224_550_225,
        "the order's total in its own fee asset"
    );
    assert_eq!(ex.balance("alice", "BNB"), (1_000, 0));
    // The first fill's proceeds arrive whole; the second's less its USDT fee.
    assert_eq!(
        ex.balance("alice", "USDT"),
        (400_099_850_000 + 299_400_300_000 - 224_550_225, 0)
    );
    ex.audit()
        .expect("every asset conserved, BNB's fee included");
}

/// `(asset, free, locked)` for each asset.
type Balances = Vec<(String, u128, u128)>;

/// What a rejected request must leave untouched.
#[derive(Debug, PartialEq)]
struct Snapshot {
    balances: Balances,
    bids: Vec<Level>,
    asks: Vec<Level>,
    open: Vec<Order>,
    trades: usize,
}

fn snapshot(ex: &Exchange) -> Snapshot {
    Snapshot {
        balances: ex.balances("alice"),
        bids: book_side(ex, BookSide::Bid),
        asks: book_side(ex, BookSide::Ask),
        open: ex.open_orders("alice", None).into_iter().cloned().collect(),
        trades: ex.trades().len(),
    }
}

#[test]
fn every_rejection_comes_from_its_input_and_changes_nothing() {
    let mut ex = exchange(FeeAsset::Quote);
    seed_book(&mut ex);
    // Order 1 rests; order 2 fills and closes.
    let rest = order(OrderSide::Buy, "0.5", "99.00", Tif::Gtc, "rest-1");
    assert_eq!(
        ex.place("alice", rest, 1).map(|o| o.status),
        Ok(OrderStatus::New)
    );
    let done = order(OrderSide::Buy, "0.1", "100.00", Tif::Ioc, "done-1");
    assert_eq!(
        ex.place("alice", done, 2).map(|o| o.status),
        Ok(OrderStatus::Filled)
    );
    let _ = deltas(&mut ex);
    let before = snapshot(&ex);

    let with_symbol = |mut o: NewOrder, symbol: &str| {
        o.symbol = symbol.to_owned();
        o
    };
    let valid = order(OrderSide::Buy, "0.2", "100.15", Tif::Ioc, "ok-1");
    let places: Vec<(&str, &str, NewOrder, Reject)> = vec![
        (
            "unknown symbol",
            "alice",
            with_symbol(valid.clone(), "ETHUSDT"),
            Reject::UnknownSymbol,
        ),
        (
            "unknown account",
            "mallory",
            valid.clone(),
            Reject::UnknownAccount,
        ),
        (
            "buy beyond the quote",
            "alice",
            order(OrderSide::Buy, "10", "100.15", Tif::Ioc, ""),
            Reject::InsufficientBalance,
        ),
        (
            "sell beyond the base",
            "alice",
            order(OrderSide::Sell, "10.2", "99.00", Tif::Ioc, ""),
            Reject::InsufficientBalance,
        ),
        (
            "off tick",
            "alice",
            order(OrderSide::Buy, "0.2", "100.01", Tif::Ioc, ""),
            Reject::BadTick,
        ),
        (
            "zero limit",
            "alice",
            order(OrderSide::Sell, "0.2", "0", Tif::Ioc, ""),
            Reject::BadTick,
        ),
        (
            "off lot",
            "alice",
            order(OrderSide::Buy, "0.20015", "100.00", Tif::Ioc, ""),
            Reject::BadLot,
        ),
        (
            "below min size",
            "alice",
            order(OrderSide::Buy, "0.0005", "100.00", Tif::Ioc, ""),
            Reject::BelowMinSize,
        ),
        (
            "zero size",
            "alice",
            order(OrderSide::Buy, "0", "100.00", Tif::Ioc, ""),
            Reject::BelowMinSize,
        ),
        (
            "below min notional (5 USDT)",
            "alice",
            order(OrderSide::Buy, "0.05", "100.00", Tif::Ioc, ""),
            Reject::BelowMinNotional,
        ),
        (
            "client id of an open order",
            "alice",
            order(OrderSide::Buy, "0.2", "100.15", Tif::Ioc, "rest-1"),
            Reject::DuplicateClientId,
        ),
        (
            "client id of a closed order",
            "alice",
            order(OrderSide::Buy, "0.2", "100.15", Tif::Ioc, "done-1"),
            Reject::DuplicateClientId,
        ),
    ];
    for (case, key, new, reject) in places {
        assert_eq!(ex.place(key, new, 3), Err(reject), "{case}");
        assert_eq!(snapshot(&ex), before, "{case}");
        assert!(deltas(&mut ex).is_empty(), "{case}");
    }

    let cancels = [
        (
            "unknown id",
            "alice",
            SYMBOL,
            OrderRef::Id(99),
            Reject::UnknownOrder,
        ),
        (
            "unknown client id",
            "alice",
            SYMBOL,
            OrderRef::Client("nope".into()),
            Reject::UnknownOrder,
        ),
        (
            "unknown symbol",
            "alice",
            "ETHUSDT",
            OrderRef::Id(1),
            Reject::UnknownSymbol,
        ),
        (
            "unknown account",
            "mallory",
            SYMBOL,
            OrderRef::Id(1),
            Reject::UnknownAccount,
        ),
        (
            "filled order",
            "alice",
            SYMBOL,
            OrderRef::Id(2),
            Reject::NotOpen,
        ),
        (
            "filled order by client id",
            "alice",
            SYMBOL,
            OrderRef::Client("done-1".into()),
            Reject::NotOpen,
        ),
    ];
    for (case, key, symbol, by, reject) in cancels {
        assert_eq!(ex.cancel(key, symbol, by), Err(reject), "{case}");
        assert_eq!(snapshot(&ex), before, "{case}");
    }

    let injected = Reject::Injected {
        code: -1015,
        message: "Too many new orders".to_owned(),
    };
    ex.inject_reject(injected.clone());
    assert_eq!(injected.to_string(), "Too many new orders (code -1015)");
    assert_eq!(ex.place("alice", valid.clone(), 4), Err(injected));
    assert_eq!(snapshot(&ex), before);

    // No rejection took an order id, and the injected one was used up.
    let accepted = ex
        .place("alice", valid, 5)
        .expect("accepted after the injection");
    assert_eq!(accepted.id, 3);
    ex.audit().expect("invariants hold");
}

#[test]
fn gtc_remainder_rests_with_its_lock_until_canceled() {
    let mut ex = exchange(FeeAsset::Quote);
    seed_book(&mut ex);
    // Takes 0.3001 @ 100.00 and 0.5003 @ 100.05, rests 1.1996 at 100.05.
    let gtc = order(OrderSide::Buy, "2", "100.05", Tif::Gtc, "gtc-1");
    let placed = ex.place("alice", gtc, 7).expect("accepted");
    assert_eq!(placed.status, OrderStatus::PartiallyFilled);
    assert_eq!(placed.filled, sz("0.8004"));
    assert_eq!(placed.created_ms, 7);

    // Taker part: 800_650_150_000 notional + 600_487_613 fees. Rest: 10005 × 119_960_000 =
    // 1_200_199_800_000, plus its fee 900_149_850 = 1_201_099_949_850 locked.
    let spent = 800_650_150_000 + 600_487_613;
    let rest_lock = 1_201_099_949_850;
    assert_eq!(placed.notional, 800_650_150_000);
    assert_eq!(placed.fees, 600_487_613);
    assert_eq!(
        ex.balance("alice", "USDT"),
        (1000 * USDT - spent - rest_lock, rest_lock)
    );
    assert_eq!(ex.balance("alice", "BTC"), (10 * BTC + 80_040_000, 0));

    // The resting order is not on the public book: only the fills changed it.
    assert_eq!(book_side(&ex, BookSide::Ask).len(), 2);
    assert_eq!(book_side(&ex, BookSide::Bid).len(), 3);

    let by_id = ex.order("alice", SYMBOL, &OrderRef::Id(placed.id));
    let by_client = ex.order("alice", SYMBOL, &OrderRef::Client("gtc-1".into()));
    assert_eq!(by_id, Some(&placed));
    assert_eq!(by_client, Some(&placed));
    assert_eq!(ex.order("alice", "ETHUSDT", &OrderRef::Id(placed.id)), None);
    assert_eq!(ex.open_orders("alice", Some(SYMBOL)), [&placed]);
    assert_eq!(
        ex.open_orders("alice", Some("ETHUSDT")),
        Vec::<&Order>::new()
    );

    // The same client id again is refused while the order is known.
    let again = order(OrderSide::Sell, "0.2", "99.00", Tif::Ioc, "gtc-1");
    assert_eq!(ex.place("alice", again, 8), Err(Reject::DuplicateClientId));

    // A second order rests untouched (nothing crosses 99.00), locking 99 USDT + fee.
    let second = order(OrderSide::Buy, "1", "99.00", Tif::Gtc, "gtc-2");
    let second = ex.place("alice", second, 9).expect("accepted");
    assert_eq!(
        (second.status, second.filled),
        (OrderStatus::New, Fixed::ZERO)
    );
    let second_lock = 990_000_000_000 + 742_500_000;
    assert_eq!(ex.balance("alice", "USDT").1, rest_lock + second_lock);
    ex.audit().expect("invariants hold");

    let canceled = ex
        .cancel("alice", SYMBOL, OrderRef::Client("gtc-1".into()))
        .expect("open");
    assert_eq!(canceled.status, OrderStatus::Canceled);
    assert_eq!(canceled.filled, sz("0.8004"));
    assert_eq!(
        ex.balance("alice", "USDT"),
        (1000 * USDT - spent - second_lock, second_lock)
    );
    assert_eq!(
        ex.cancel("alice", SYMBOL, OrderRef::Id(placed.id)),
        Err(Reject::NotOpen)
    );
    let queried = ex.order("alice", SYMBOL, &OrderRef::Id(placed.id));
    assert_eq!(queried.map(|o| o.status), Some(OrderStatus::Canceled));

    let canceled = ex
        .cancel("alice", SYMBOL, OrderRef::Id(second.id))
        .expect("open");
    assert_eq!(canceled.status, OrderStatus::Canceled);
    assert_eq!(ex.balance("alice", "USDT"), (1000 * USDT - spent, 0));
    assert!(ex.open_orders("alice", None).is_empty());
    ex.audit().expect("invariants hold");
}

#[test]
fn ioc_that_crosses_nothing_expires_and_changes_nothing() {
    let mut ex = exchange(FeeAsset::Quote);
    seed_book(&mut ex);
    let before = snapshot(&ex);
    let buy = order(OrderSide::Buy, "0.5", "99.95", Tif::Ioc, "miss-1");
    let placed = ex.place("alice", buy, 1).expect("accepted");
    assert_eq!(placed.status, OrderStatus::Expired);
    assert_eq!(
        (placed.filled, placed.notional, placed.fees),
        (Fixed::ZERO, 0, 0)
    );
    assert!(placed.fills.is_empty());
    assert_eq!(snapshot(&ex), before);
    assert_eq!(ex.balance("alice", "USDT"), (1000 * USDT, 0));
    assert!(deltas(&mut ex).is_empty());

    // A partial IOC expires too, keeping what filled.
    let sell = order(OrderSide::Sell, "1", "99.95", Tif::Ioc, "part-1");
    let placed = ex.place("alice", sell, 2).expect("accepted");
    assert_eq!(
        (placed.status, placed.filled),
        (OrderStatus::Expired, sz("0.4003"))
    );
    assert_eq!(ex.balance("alice", "BTC"), (10 * BTC - 40_030_000, 0));
    ex.audit().expect("invariants hold");
}

#[test]
fn set_level_records_only_real_changes_including_levels_pushed_out() {
    let mut ex = exchange(FeeAsset::Quote);
    seed_book(&mut ex);
    // Same size: nothing to report. Absent level removed: nothing either.
    ex.set_level(SYMBOL, BookSide::Ask, px("100.00"), sz("0.3001"));
    ex.set_level(SYMBOL, BookSide::Ask, px("101.00"), Fixed::ZERO);
    assert!(deltas(&mut ex).is_empty());

    // Fill the bid side to its depth of 10, then a better bid pushes the worst out.
    for i in 0..7u64 {
        ex.set_level(SYMBOL, BookSide::Bid, Fixed(9_000 - 5 * i), sz("1"));
    }
    let _ = deltas(&mut ex);
    let worst = book_side(&ex, BookSide::Bid).last().copied().expect("full");
    ex.set_level(SYMBOL, BookSide::Bid, px("99.85"), sz("1"));
    assert_eq!(
        deltas(&mut ex),
        [
            (BookSide::Bid, worst.price, Fixed::ZERO),
            (BookSide::Bid, px("99.85"), sz("1")),
        ]
    );
    assert_eq!(book_side(&ex, BookSide::Bid).len(), 10);
}

#[test]
fn take_deltas_stays_bounded_and_still_rebuilds_the_book() {
    let mut ex = exchange(FeeAsset::Quote);
    let mut consumer = Vec::<(BookSide, Fixed, Fixed)>::new();
    // Far more changes than the log holds, never taken in between.
    for round in 0..500u64 {
        let size = Fixed(10_000 * (1 + round % 7));
        ex.set_level(
            SYMBOL,
            BookSide::Ask,
            Fixed(10_000 + 5 * (round % 13)),
            size,
        );
        ex.set_level(SYMBOL, BookSide::Bid, Fixed(9_000 - 5 * (round % 11)), size);
    }
    ex.take_deltas(SYMBOL, &mut consumer);
    assert!(consumer.len() < 1000, "compacted: {}", consumer.len());
    let mut rebuilt = kestrel_venues::book::Book::new(10, scale(2), scale(8));
    for &(side, price, size) in &consumer {
        rebuilt.set(side, price, size);
    }
    assert_eq!(rebuilt.bids(), book_side(&ex, BookSide::Bid));
    assert_eq!(rebuilt.asks(), book_side(&ex, BookSide::Ask));
}

#[test]
fn config_problems_are_reported_together() {
    let mut bad = spec();
    bad.quote = "USD".to_owned();
    bad.tick = Fixed::ZERO;
    let mut wrong_scale = spec();
    wrong_scale.symbol = "BTCUSDT2".to_owned();
    wrong_scale.price_scale = scale(3);
    wrong_scale.lot = Fixed::ZERO;
    let symbols = vec![bad, wrong_scale, spec()];
    let err =
        Exchange::new(Venue::Kraken, assets(), symbols, FeeAsset::Quote).expect_err("invalid");
    assert_eq!(err.venue, Venue::Kraken);
    assert_eq!(
        err.issues,
        [
            ConfigIssue::UnknownAsset {
                symbol: SYMBOL.into(),
                asset: "USD".into()
            },
            ConfigIssue::ZeroTick(SYMBOL.into()),
            ConfigIssue::QuoteScale {
                symbol: "BTCUSDT2".into(),
                asset_digits: 10,
                notional_digits: 11
            },
            ConfigIssue::ZeroLot("BTCUSDT2".into()),
            ConfigIssue::DuplicateSymbol(SYMBOL.into()),
        ]
    );
    assert!(err.to_string().contains("asset USD is not listed"));
}

// ---- random sequences ----------------------------------------------------------------------

#[derive(Clone, Debug)]
enum Op {
    /// The market maker sets a level: bids only below 100.00, asks from 100.00 up, so the
    /// book is never crossed.
    Level { ask: bool, tick: u64, lots: u64 },
    Place {
        account: usize,
        buy: bool,
        lots: u64,
        tick: u64,
        ioc: bool,
        client: Option<u8>,
    },
    Cancel {
        account: usize,
        id: u64,
        client: Option<u8>,
    },
}

const ACCOUNTS: [&str; 2] = ["alice", "bob"];

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        (any::<bool>(), 0..40u64, 0..60u64).prop_map(|(ask, tick, lots)| Op::Level {
            ask,
            tick,
            lots
        }),
        (
            0..2usize,
            any::<bool>(),
            1_100..6_000u64,
            1_960..2_040u64,
            any::<bool>(),
            proptest::option::of(0..12u8)
        )
            .prop_map(|(account, buy, lots, tick, ioc, client)| Op::Place {
                account,
                buy,
                lots,
                tick,
                ioc,
                client
            }),
        (0..2usize, 1..16u64, proptest::option::of(0..12u8)).prop_map(|(account, id, client)| {
            Op::Cancel {
                account,
                id,
                client,
            }
        }),
    ]
}

fn client_id(client: Option<u8>) -> String {
    client.map(|c| format!("c{c}")).unwrap_or_default()
}

fn book_liquidity(ex: &Exchange) -> u64 {
    let book = ex.book(SYMBOL).expect("the symbol");
    book.bids()
        .iter()
        .chain(book.asks())
        .map(|l| l.size.0)
        .sum()
}

/// Apply one op, checking what it must and must not change.
fn run_op(ex: &mut Exchange, op: &Op, next_id: &mut u64, last_trade: &mut u64) {
    match *op {
        Op::Level { ask, tick, lots } => {
            let (side, price) = if ask {
                (BookSide::Ask, Fixed(10_000 + 5 * tick))
            } else {
                (BookSide::Bid, Fixed(9_995 - 5 * tick))
            };
            // Lots of 0.0037 BTC: odd sizes, so fee rounding is exercised.
            ex.set_level(SYMBOL, side, price, Fixed(370_000 * lots));
        }
        Op::Place {
            account,
            buy,
            lots,
            tick,
            ioc,
            client,
        } => {
            let new = NewOrder {
                symbol: SYMBOL.to_owned(),
                side: if buy { OrderSide::Buy } else { OrderSide::Sell },
                size: Fixed(10_000 * lots),
                limit: Fixed(5 * tick),
                tif: if ioc { Tif::Ioc } else { Tif::Gtc },
                client_id: client_id(client),
            };
            let before = (snapshot_all(ex), book_liquidity(ex));
            match ex.place(ACCOUNTS[account], new.clone(), 0) {
                Ok(order) => {
                    assert_eq!(order.id, *next_id, "order ids increase from 1");
                    *next_id += 1;
                    assert_eq!(before.1 - book_liquidity(ex), order.filled.0);
                    for fill in &order.fills {
                        assert!(fill.trade_id > *last_trade, "trade ids increase");
                        *last_trade = fill.trade_id;
                    }
                }
                Err(reject) => {
                    assert!(
                        matches!(
                            reject,
                            Reject::InsufficientBalance | Reject::DuplicateClientId
                        ),
                        "{reject:?} for {new:?}"
                    );
                    assert_eq!(snapshot_all(ex), before.0, "a reject changes nothing");
                }
            }
        }
        Op::Cancel {
            account,
            id,
            client,
        } => {
            let by = match client {
                Some(c) => OrderRef::Client(client_id(Some(c))),
                None => OrderRef::Id(id),
            };
            let before = snapshot_all(ex);
            if let Ok(order) = ex.cancel(ACCOUNTS[account], SYMBOL, by) {
                assert_eq!(order.status, OrderStatus::Canceled);
            } else {
                assert_eq!(snapshot_all(ex), before, "a failed cancel changes nothing");
            }
        }
    }
}

/// Every account's balances and open-order count.
fn snapshot_all(ex: &Exchange) -> Vec<(Balances, usize)> {
    ACCOUNTS
        .iter()
        .map(|a| (ex.balances(a), ex.open_orders(a, None).len()))
        .collect()
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(256))]

    #[test]
    fn random_sequences_keep_every_invariant(
        base_fee in any::<bool>(),
        ops in proptest::collection::vec(op(), 1..80),
    ) {
        let fee_asset = if base_fee { FeeAsset::Base } else { FeeAsset::Quote };
        let mut ex = Exchange::new(Venue::Bybit, assets(), vec![spec()], fee_asset)
            .expect("a valid config");
        ex.add_account("alice", FEES);
        ex.add_account("bob", FeeRates { maker: Rate(0), taker: Rate(100_000) });
        ex.deposit("alice", "USDT", 300 * USDT);
        ex.deposit("alice", "BTC", 2 * BTC);
        ex.deposit("bob", "USDT", 120 * USDT + 12_345);
        ex.deposit("bob", "BTC", BTC / 2);
        let totals = [
            ("BTC", 2 * BTC + BTC / 2),
            ("USDT", 420 * USDT + 12_345),
        ];
        let (mut next_id, mut last_trade) = (1, 0);
        for op in &ops {
            run_op(&mut ex, op, &mut next_id, &mut last_trade);
            prop_assert_eq!(ex.audit(), Ok(()), "after {:?}", op);
            prop_assert!(!ex.book(SYMBOL).expect("the symbol").is_crossed());
            // No balance wrapped below zero: each stays within what could ever be held.
            for account in ACCOUNTS {
                for (asset, free, locked) in ex.balances(account) {
                    let bound = totals.iter().find(|t| t.0 == asset).map_or(0, |t| t.1);
                    prop_assert!(free + locked <= bound * 1_000, "{} {}", account, asset);
                }
            }
        }
    }
}
