//! The market generator: reproducible paths, exact tick prices, uncrossed books, dislocations,
//! and `apply` producing the minimal book diff.

use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, NewOrder, SymbolSpec, Tif};
use kestrel_exsim::market::{Dislocation, MarketGen, MarketParams};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate, Scale, Venue};
use kestrel_venues::book::{Book, Level};

const VENUES: [Venue; 3] = [Venue::Binance, Venue::Coinbase, Venue::Kraken];
const SYMBOL: &str = "BTCUSD";
/// 0.05 at 2 price digits.
const TICK: u64 = 5;
/// 0.0001 at 8 size digits.
const LOT: u64 = 10_000;

fn scale(digits: u8) -> Scale {
    Scale::new(digits).expect("a small scale")
}

/// Mid 100.00, tick 0.05, 10 bps a step, ±5 bps venue noise, 5 levels of 0.5 ± 40%.
fn params() -> MarketParams {
    MarketParams {
        start_mid: Fixed(10_000),
        tick: Fixed(TICK),
        vol_bps_per_step: 10,
        venue_noise_bps: 5,
        half_spread_ticks: 1,
        levels: 5,
        level_size: Fixed(50_000_000),
        level_size_jitter: 40,
    }
}

fn generator(seed: u64) -> MarketGen {
    MarketGen::new(seed, &VENUES, params()).with_lot(Fixed(LOT))
}

fn levels(g: &MarketGen, venue: Venue, side: BookSide) -> Vec<(Fixed, Fixed)> {
    let mut out = Vec::new();
    g.levels(venue, side, &mut out);
    out
}

/// Every venue's mid and both sides of every book, for `steps` steps.
type Observed = Vec<(Fixed, Vec<(Fixed, Fixed)>, Vec<(Fixed, Fixed)>)>;

fn path(g: &mut MarketGen, steps: usize) -> Vec<Observed> {
    let mut out = Vec::with_capacity(steps);
    for _ in 0..steps {
        g.step();
        let observed = VENUES
            .iter()
            .map(|&v| {
                let bids = levels(g, v, BookSide::Bid);
                (g.mid(v), bids, levels(g, v, BookSide::Ask))
            })
            .collect();
        out.push(observed);
    }
    out
}

#[test]
fn the_same_seed_gives_the_same_path_and_books() {
    let a = path(&mut generator(42), 300);
    let b = path(&mut generator(42), 300);
    assert_eq!(a, b);
}

#[test]
fn different_seeds_give_different_paths() {
    let a = path(&mut generator(1), 100);
    let b = path(&mut generator(2), 100);
    let mids = |p: &[Observed]| p.iter().map(|o| o[0].0).collect::<Vec<_>>();
    assert_ne!(mids(&a), mids(&b));
    // The venues themselves differ (their own noise), and the common walk moves.
    let venue_mids: Vec<Fixed> = a[50].iter().map(|o| o.0).collect();
    assert!(
        venue_mids.windows(2).any(|w| w[0] != w[1]),
        "{venue_mids:?}"
    );
    assert!(mids(&a).windows(2).any(|w| w[0] != w[1]));
}

#[test]
fn prices_are_tick_multiples_and_books_never_cross() {
    for seed in 0..8 {
        let mut g = generator(seed);
        for observed in path(&mut g, 500) {
            for (mid, bids, asks) in observed {
                assert!(mid.0 >= TICK && mid.0.is_multiple_of(TICK), "mid {mid:?}");
                assert_eq!((bids.len(), asks.len()), (5, 5));
                // Best first, one tick apart, one tick either side of the mid.
                assert_eq!(bids[0].0.0, mid.0 - TICK);
                assert_eq!(asks[0].0.0, mid.0 + TICK);
                assert!(bids.windows(2).all(|w| w[0].0.0 == w[1].0.0 + TICK));
                assert!(asks.windows(2).all(|w| w[1].0.0 == w[0].0.0 + TICK));
                assert!(bids[0].0 < asks[0].0);
                for &(price, size) in bids.iter().chain(&asks) {
                    assert!(price.0.is_multiple_of(TICK));
                    assert!(size.0.is_multiple_of(LOT) && size.0 > 0);
                    // 0.5 ± 40%, rounded to the lot.
                    assert!((30_000_000..=70_000_000).contains(&size.0), "{size:?}");
                }
            }
        }
    }
}

#[test]
fn the_mid_never_falls_below_one_tick() {
    let wild = MarketParams {
        start_mid: Fixed(TICK),
        vol_bps_per_step: 5_000,
        venue_noise_bps: 3_000,
        ..params()
    };
    let mut g = MarketGen::new(9, &VENUES, wild);
    g.dislocate(Dislocation {
        venue: Venue::Kraken,
        offset_bps: -9_000,
        steps: 1_000,
    });
    for _ in 0..2_000 {
        g.step();
        assert!(g.common_mid().0 >= TICK);
        for venue in VENUES {
            let mid = g.mid(venue);
            assert!(mid.0 >= TICK && mid.0.is_multiple_of(TICK));
            let (bids, asks) = (
                levels(&g, venue, BookSide::Bid),
                levels(&g, venue, BookSide::Ask),
            );
            assert!(bids.iter().all(|l| l.0.0 > 0));
            assert_eq!(asks.len(), 5);
            if let (Some(bid), Some(ask)) = (bids.first(), asks.first()) {
                assert!(bid.0 < ask.0);
            }
        }
    }
}

#[test]
fn a_dislocation_moves_exactly_one_venue_for_its_steps() {
    let mut plain = generator(7);
    let mut moved = generator(7);
    for _ in 0..20 {
        plain.step();
        moved.step();
    }
    moved.dislocate(Dislocation {
        venue: Venue::Kraken,
        offset_bps: 80,
        steps: 3,
    });
    // Dislocated now and after the first and second steps; gone after the third.
    for step in 0..=3 {
        assert_eq!(moved.common_mid(), plain.common_mid());
        for venue in [Venue::Binance, Venue::Coinbase] {
            assert_eq!(moved.mid(venue), plain.mid(venue), "step {step}");
            assert_eq!(
                levels(&moved, venue, BookSide::Ask),
                levels(&plain, venue, BookSide::Ask)
            );
        }
        let base = plain.mid(Venue::Kraken).0 as f64;
        let offset = moved.mid(Venue::Kraken).0 as f64 - base;
        if step < 3 {
            let expected = base * 80.0 / 10_000.0;
            assert!(
                (offset - expected).abs() <= TICK as f64 / 2.0,
                "step {step}: offset {offset}, expected {expected}"
            );
            assert!(offset > 0.0);
        } else {
            assert_eq!(offset, 0.0, "the dislocation ended");
        }
        moved.step();
        plain.step();
    }

    // A negative offset, then ended early by a zero-step dislocation.
    moved.dislocate(Dislocation {
        venue: Venue::Binance,
        offset_bps: -150,
        steps: 10,
    });
    let base = plain.mid(Venue::Binance).0 as f64;
    let offset = moved.mid(Venue::Binance).0 as f64 - base;
    assert!(
        (offset + base * 0.015).abs() <= TICK as f64 / 2.0,
        "{offset}"
    );
    moved.dislocate(Dislocation {
        venue: Venue::Binance,
        offset_bps: -150,
        steps: 0,
    });
    assert_eq!(moved.mid(Venue::Binance), plain.mid(Venue::Binance));
}

fn exchange() -> Exchange {
    let assets = vec![
        AssetSpec {
            name: "BTC".to_owned(),
            scale: scale(8),
        },
        AssetSpec {
            name: "USD".to_owned(),
            scale: scale(10),
        },
    ];
    let spec = SymbolSpec {
        symbol: SYMBOL.to_owned(),
        base: "BTC".to_owned(),
        quote: "USD".to_owned(),
        price_scale: scale(2),
        size_scale: scale(8),
        tick: Fixed(TICK),
        lot: Fixed(LOT),
        min_size: Fixed(LOT),
        min_notional: 0,
        depth: 10,
    };
    let mut ex = Exchange::new(Venue::Coinbase, assets, vec![spec], FeeAsset::Quote)
        .expect("a valid config");
    let fees = FeeRates {
        maker: Rate(0),
        taker: Rate(60_000),
    };
    ex.add_account("taker", fees);
    ex.deposit("taker", "USD", 1_000_000 * 10_000_000_000);
    ex.deposit("taker", "BTC", 1_000 * 100_000_000);
    ex
}

fn book_levels(ex: &Exchange, side: BookSide) -> Vec<(Fixed, Fixed)> {
    let book = ex.book(SYMBOL).expect("the symbol");
    book.side(side).iter().map(|l| (l.price, l.size)).collect()
}

#[test]
fn apply_then_take_deltas_is_the_minimal_diff_to_the_target() {
    let venue = Venue::Coinbase;
    let mut g = generator(11);
    let mut ex = exchange();
    let mut deltas = Vec::new();

    // From empty, the diff is the whole target book.
    g.apply(venue, &mut ex, SYMBOL);
    ex.take_deltas(SYMBOL, &mut deltas);
    assert_eq!(deltas.len(), 10);
    assert_eq!(
        book_levels(&ex, BookSide::Bid),
        levels(&g, venue, BookSide::Bid)
    );
    assert_eq!(
        book_levels(&ex, BookSide::Ask),
        levels(&g, venue, BookSide::Ask)
    );

    // Applying the same target again changes nothing.
    g.apply(venue, &mut ex, SYMBOL);
    ex.take_deltas(SYMBOL, &mut deltas);
    assert!(deltas.is_empty());

    let mut saw_resize = false;
    for round in 0..200u64 {
        // Sometimes an order takes liquidity first; apply must restore it.
        if round % 3 == 0 {
            let side = if round % 2 == 0 {
                OrderSide::Buy
            } else {
                OrderSide::Sell
            };
            let limit = match side {
                OrderSide::Buy => Fixed(g.mid(venue).0 + 3 * TICK),
                OrderSide::Sell => Fixed(g.mid(venue).0 - 3 * TICK),
            };
            let take = NewOrder {
                symbol: SYMBOL.to_owned(),
                side,
                size: Fixed(LOT * (1_000 + round * 37)),
                limit,
                tif: Tif::Ioc,
                client_id: String::new(),
            };
            ex.place("taker", take, round).expect("funded");
            ex.take_deltas(SYMBOL, &mut deltas);
        }
        let old = [
            book_levels(&ex, BookSide::Bid),
            book_levels(&ex, BookSide::Ask),
        ];
        g.step();
        g.apply(venue, &mut ex, SYMBOL);
        ex.take_deltas(SYMBOL, &mut deltas);
        let target = [
            levels(&g, venue, BookSide::Bid),
            levels(&g, venue, BookSide::Ask),
        ];
        assert_eq!(book_levels(&ex, BookSide::Bid), target[0]);
        assert_eq!(book_levels(&ex, BookSide::Ask), target[1]);

        // The deltas turn the old book into the target.
        let mut rebuilt = Book::new(10, scale(2), scale(8));
        for (side, levels) in [BookSide::Bid, BookSide::Ask].into_iter().zip(&old) {
            for &(price, size) in levels {
                rebuilt.set(side, price, size);
            }
        }
        for &(side, price, size) in &deltas {
            rebuilt.set(side, price, size);
        }
        let as_pairs = |l: &[Level]| l.iter().map(|l| (l.price, l.size)).collect::<Vec<_>>();
        assert_eq!(as_pairs(rebuilt.bids()), target[0]);
        assert_eq!(as_pairs(rebuilt.asks()), target[1]);

        // And nothing more: one delta per price whose size differs, none for the rest.
        let mut expected = 0;
        for (side, (old, new)) in [BookSide::Bid, BookSide::Ask]
            .into_iter()
            .zip(old.iter().zip(&target))
        {
            let size_in = |levels: &[(Fixed, Fixed)], price: Fixed| {
                levels
                    .iter()
                    .find(|l| l.0 == price)
                    .map_or(Fixed::ZERO, |l| l.1)
            };
            let mut prices: Vec<Fixed> = old.iter().chain(new).map(|l| l.0).collect();
            prices.sort();
            prices.dedup();
            for price in prices {
                let (was, is) = (size_in(old, price), size_in(new, price));
                let reported = deltas
                    .iter()
                    .filter(|d| d.0 == side && d.1 == price)
                    .count();
                assert_eq!(reported, usize::from(was != is), "{side:?} {price:?}");
                expected += usize::from(was != is);
                saw_resize |= was != is && !was.is_zero() && !is.is_zero();
            }
        }
        assert_eq!(deltas.len(), expected);
    }
    assert!(
        saw_resize,
        "fills were restored to their target size at least once"
    );
    ex.audit().expect("invariants hold");
}
