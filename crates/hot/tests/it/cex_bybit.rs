//! The Bybit feed against the simulated Bybit: the `orderbook.50` topic's book stays equal to
//! the venue's best 50 levels a side; an injected gap resubscribes the topic, a dropped
//! connection reconnects and rebuilds from a new snapshot, a stalled feed goes stale and comes
//! back while pings keep the connection alive.

use std::time::{Duration, Instant};

use kestrel_exsim::bybit::BybitFront;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, SymbolSpec};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_hot::cex::VenueFeed as _;
use kestrel_hot::cex::bybit::{BybitFeed, BybitFeedConfig, BybitSymbol};
use kestrel_stdx::mono_ns;
use kestrel_types::cex::{Fixed, Scale, Venue};

use crate::feed_support::poll_until;

const SYMBOL: &str = "BTCUSDT";
/// The topic's depth: the venue holds 80 levels a side, the feed follows the best 50.
const DEPTH: usize = 50;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn venue() -> (ExchangeServer, MarketGen) {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(6),
        },
        AssetSpec {
            name: "USDT".into(),
            scale: scale(8),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: SYMBOL.into(),
        base: "BTC".into(),
        quote: "USDT".into(),
        price_scale: scale(2),
        size_scale: scale(6),
        tick: Fixed(10),
        lot: Fixed(1),
        min_size: Fixed(11),
        min_notional: 500_000_000,
        depth: 200,
    }];
    let ex = Exchange::new(Venue::Bybit, assets, symbols, FeeAsset::Base).expect("exchange");
    let market = MarketGen::new(
        11,
        &[Venue::Bybit],
        MarketParams {
            start_mid: Fixed(6_500_000),
            tick: Fixed(10),
            vol_bps_per_step: 4,
            venue_noise_bps: 1,
            half_spread_ticks: 1,
            levels: 80,
            level_size: Fixed(500_000),
            level_size_jitter: 40,
        },
    )
    .with_lot(Fixed(1));
    let server = ExchangeServer::start(
        ex,
        Box::new(BybitFront::new(Vec::new())),
        Duration::from_millis(10),
    )
    .expect("server");
    server.with_exchange(|ex| market.apply(Venue::Bybit, ex, SYMBOL));
    (server, market)
}

fn feed(server: &ExchangeServer, stale_after_ms: u64, ping_every_ms: u64) -> BybitFeed {
    BybitFeed::new(BybitFeedConfig {
        ws_url: server.ws_url(),
        symbols: vec![BybitSymbol {
            symbol: SYMBOL.into(),
            price_scale: scale(2),
            size_scale: scale(6),
            depth: DEPTH,
            capacity: DEPTH + 20,
        }],
        stale_after_ms,
        ping_every_ms,
    })
}

/// A side as (price, size) levels.
type Levels = Vec<(u64, u64)>;

/// The venue's best `DEPTH` levels a side and our book, bids then asks.
fn books(server: &ExchangeServer, feed: &BybitFeed) -> (Levels, Levels) {
    let flat = |levels: &[kestrel_venues::book::Level]| -> Levels {
        levels
            .iter()
            .take(DEPTH)
            .map(|l| (l.price.0, l.size.0))
            .collect()
    };
    let theirs = server.with_exchange(|ex| {
        let b = ex.book(SYMBOL).expect("book");
        [flat(b.bids()), flat(b.asks())].concat()
    });
    let ours = feed
        .book(0)
        .map(|k| [flat(k.book().bids()), flat(k.book().asks())].concat())
        .unwrap_or_default();
    (theirs, ours)
}

fn move_market(server: &ExchangeServer, market: &mut MarketGen, steps: usize) {
    for _ in 0..steps {
        market.step();
        server.with_exchange(|ex| market.apply(Venue::Bybit, ex, SYMBOL));
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn converge(server: &ExchangeServer, feed: &mut BybitFeed, what: &str) {
    poll_until(feed, what, |f| {
        let (theirs, ours) = books(server, f);
        f.book(0).is_some_and(|b| b.is_synced()) && theirs == ours
    });
}

fn snapshots(feed: &BybitFeed) -> u64 {
    feed.sync_stats(0).expect("symbol 0").snapshots
}

#[test]
fn the_book_follows_the_venue_through_gaps_and_reconnects() {
    let (server, mut market) = venue();
    let mut feed = feed(&server, 60_000, 20_000);
    assert_eq!(feed.venue(), Venue::Bybit);
    poll_until(&mut feed, "first sync", |f| {
        f.book(0).is_some_and(|b| b.is_synced())
    });
    move_market(&server, &mut market, 30);
    converge(&server, &mut feed, "books equal after 30 steps");
    assert!(
        feed.book(0).expect("book").stats().applied > 0,
        "deltas were applied, not only the snapshot"
    );
    assert_eq!(snapshots(&feed), 1);

    server.fault(Fault::Gap);
    move_market(&server, &mut market, 5);
    poll_until(&mut feed, "gap detected", |f| {
        f.book(0).is_some_and(|b| b.stats().gaps == 1)
    });
    move_market(&server, &mut market, 5);
    converge(&server, &mut feed, "books equal after the resubscribe");
    assert_eq!(
        snapshots(&feed),
        2,
        "the resubscribe brought a new snapshot"
    );
    assert_eq!(feed.refusals(), 0, "unsubscribe, then subscribe: accepted");

    server.fault(Fault::Disconnect);
    poll_until(&mut feed, "disconnect seen", |f| f.stats().disconnects == 1);
    assert!(
        !feed.is_live(0, mono_ns()),
        "a disconnected feed is not live"
    );
    move_market(&server, &mut market, 10);
    poll_until(&mut feed, "reconnected", |f| f.stats().connects == 2);
    converge(&server, &mut feed, "books equal after reconnecting");
    assert_eq!(
        snapshots(&feed),
        3,
        "a reconnect rebuilds from a new subscription's snapshot"
    );
    let stats = feed.sync_stats(0).expect("symbol 0");
    assert_eq!(stats.gaps, 1, "the reconnect itself is no gap");
    assert_eq!(server.sessions_opened(), 2);
    assert_eq!(feed.stats().malformed, 0);
    assert!(feed.is_live(0, mono_ns()));
}

#[test]
fn a_stalled_feed_goes_stale_and_recovers_while_pings_keep_it_connected() {
    let (server, mut market) = venue();
    // Pings every 100 ms: the venue answers them even while it publishes nothing.
    let mut feed = feed(&server, 150, 100);
    poll_until(&mut feed, "first sync", |f| {
        f.book(0).is_some_and(|b| b.is_synced())
    });
    move_market(&server, &mut market, 3);
    poll_until(&mut feed, "live", |f| f.is_live(0, mono_ns()));
    server.fault(Fault::Stall(Duration::from_millis(800)));
    let stalled_at = Instant::now();
    let pongs_before = feed.pongs();
    while stalled_at.elapsed() < Duration::from_millis(400) {
        move_market(&server, &mut market, 1);
        feed.poll(mono_ns(), &mut |_| {});
    }
    assert!(
        !feed.is_live(0, mono_ns()),
        "no book message for 400 ms with a 150 ms limit: stale"
    );
    assert!(
        feed.book(0).expect("book").is_synced(),
        "stale is not unsynced"
    );
    assert!(
        feed.pongs() > pongs_before,
        "pongs came while the book was quiet"
    );
    poll_until(&mut feed, "live again", |f| f.is_live(0, mono_ns()));
    converge(&server, &mut feed, "books equal after the stall");
    assert_eq!(
        feed.sync_stats(0).expect("symbol 0").gaps,
        0,
        "a stall loses nothing"
    );
    assert_eq!(
        feed.stats().connects,
        1,
        "answered pings: the connection was never taken for dead"
    );
}

#[test]
fn a_connection_whose_pings_go_unanswered_is_dropped_and_reconnected() {
    // A WebSocket server that accepts and then never says anything, pongs included.
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let ws_url = format!("ws://{}", listener.local_addr().expect("addr"));
    std::thread::spawn(move || {
        let mut open = Vec::new();
        for stream in listener.incoming().flatten() {
            if let Ok(ws) = tungstenite::accept(stream) {
                open.push(ws);
            }
        }
    });
    let mut feed = BybitFeed::new(BybitFeedConfig {
        ws_url,
        symbols: Vec::new(),
        stale_after_ms: 1_000,
        ping_every_ms: 50,
    });
    poll_until(&mut feed, "connected", |f| f.is_connected());
    poll_until(&mut feed, "the silent connection dropped", |f| {
        f.stats().disconnects == 1
    });
    assert_eq!(feed.pongs(), 0);
    poll_until(&mut feed, "reconnected", |f| f.stats().connects == 2);
}
