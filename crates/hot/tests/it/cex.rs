//! The Binance feed against the simulated Binance: books bridged from REST snapshots stay
//! equal to the venue's own book; an injected gap resyncs, a dropped connection reconnects, a
//! stalled feed goes stale and comes back.

use std::time::{Duration, Instant};

use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, SymbolSpec};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_stdx::mono_ns;
use kestrel_types::cex::{Fixed, Scale, Venue};

use crate::feed_support::poll_until;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn venue() -> (ExchangeServer, MarketGen) {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(5),
        },
        AssetSpec {
            name: "USDT".into(),
            scale: scale(7),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: "BTCUSDT".into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        price_scale: scale(2),
        size_scale: scale(5),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(1),
        min_notional: 5 * 10_000_000,
        depth: 200,
    }];
    let ex = Exchange::new(Venue::Binance, assets, symbols, FeeAsset::Base).expect("exchange");
    let market = MarketGen::new(
        7,
        &[Venue::Binance],
        MarketParams {
            start_mid: Fixed(6_500_000),
            tick: Fixed(1),
            vol_bps_per_step: 5,
            venue_noise_bps: 1,
            half_spread_ticks: 2,
            levels: 20,
            level_size: Fixed(50_000),
            level_size_jitter: 30,
        },
    );
    let server = ExchangeServer::start(
        ex,
        Box::new(BinanceFront::new(Vec::new())),
        Duration::from_millis(10),
    )
    .expect("server");
    server.with_exchange(|ex| market.apply(Venue::Binance, ex, "BTCUSDT"));
    (server, market)
}

fn feed(server: &ExchangeServer, stale_after_ms: u64) -> BinanceFeed {
    BinanceFeed::new(BinanceFeedConfig {
        ws_url: server.ws_url(),
        rest_url: server.http_url(),
        symbols: vec![FeedSymbol {
            symbol: "BTCUSDT".into(),
            price_scale: scale(2),
            size_scale: scale(5),
            capacity: 400,
        }],
        stale_after_ms,
        snapshot_limit: 1000,
    })
    .expect("feed")
}

/// A book as its (price, size) levels, bids then asks.
type Levels = Vec<(u64, u64)>;

/// The venue's book and ours.
fn books(server: &ExchangeServer, feed: &BinanceFeed) -> (Levels, Levels) {
    let flat = |b: &kestrel_venues::book::Book| -> Levels {
        b.bids()
            .iter()
            .chain(b.asks())
            .map(|l| (l.price.0, l.size.0))
            .collect()
    };
    let theirs = server.with_exchange(|ex| flat(ex.book("BTCUSDT").expect("book")));
    let ours = feed.book(0).map(|k| flat(k.book())).unwrap_or_default();
    (theirs, ours)
}

fn move_market(server: &ExchangeServer, market: &mut MarketGen, steps: usize) {
    for _ in 0..steps {
        market.step();
        server.with_exchange(|ex| market.apply(Venue::Binance, ex, "BTCUSDT"));
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn converge(server: &ExchangeServer, feed: &mut BinanceFeed, what: &str) {
    poll_until(feed, what, |f| {
        let (theirs, ours) = books(server, f);
        f.book(0).is_some_and(|b| b.is_synced()) && theirs == ours
    });
}

#[test]
fn the_book_follows_the_venue_through_gaps_and_reconnects() {
    let (server, mut market) = venue();
    let mut feed = feed(&server, 60_000);
    poll_until(&mut feed, "first sync", |f| {
        f.book(0).is_some_and(|b| b.is_synced())
    });
    move_market(&server, &mut market, 30);
    converge(&server, &mut feed, "books equal after 30 steps");
    let applied = feed.book(0).expect("book").stats().applied;
    assert!(applied > 0, "diffs were applied, not only snapshots");

    server.fault(Fault::Gap);
    move_market(&server, &mut market, 5);
    poll_until(&mut feed, "gap detected", |f| {
        f.book(0).is_some_and(|b| b.stats().gaps == 1)
    });
    converge(&server, &mut feed, "books equal after the gap's resync");
    assert_eq!(feed.book(0).expect("book").stats().snapshots, 2);

    server.fault(Fault::Disconnect);
    poll_until(&mut feed, "disconnect seen", |f| f.stats().disconnects == 1);
    move_market(&server, &mut market, 10);
    poll_until(&mut feed, "reconnected", |f| f.stats().connects == 2);
    converge(&server, &mut feed, "books equal after reconnecting");
    assert_eq!(
        feed.book(0).expect("book").stats().snapshots,
        3,
        "a reconnect rebuilds from a new snapshot: diffs sent meanwhile are gone"
    );
    assert_eq!(server.sessions_opened(), 2);
    assert_eq!(feed.stats().malformed, 0);
}

#[test]
fn a_stalled_feed_goes_stale_and_recovers() {
    let (server, mut market) = venue();
    let mut feed = feed(&server, 150);
    poll_until(&mut feed, "first sync", |f| {
        f.book(0).is_some_and(|b| b.is_synced())
    });
    move_market(&server, &mut market, 3);
    poll_until(&mut feed, "live", |f| f.is_live(0, mono_ns()));
    server.fault(Fault::Stall(Duration::from_millis(800)));
    let stalled_at = Instant::now();
    // The market keeps moving; nothing is published.
    while stalled_at.elapsed() < Duration::from_millis(400) {
        move_market(&server, &mut market, 1);
        feed.poll(mono_ns(), &mut |_| {});
    }
    assert!(
        !feed.is_live(0, mono_ns()),
        "no diff for 400 ms with a 150 ms limit: stale"
    );
    assert!(
        feed.book(0).expect("book").is_synced(),
        "stale is not unsynced"
    );
    poll_until(&mut feed, "live again", |f| f.is_live(0, mono_ns()));
    converge(&server, &mut feed, "books equal after the stall");
    assert_eq!(
        feed.book(0).expect("book").stats().gaps,
        0,
        "a stall loses nothing"
    );
}
