//! The Kraken feed against the simulated Kraken (WS v2 `book`): books built from the snapshot
//! on subscribe stay equal to the venue's own top levels; a lost update (seen only by the next
//! checksum) and a wrong checksum resubscribe, a dropped connection reconnects, a stalled feed
//! goes stale and comes back; pings are answered.

use std::time::{Duration, Instant};

use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, SymbolSpec};
use kestrel_exsim::kraken::KrakenFront;
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::kraken::{KrakenFeed, KrakenFeedConfig, KrakenSymbol};
use kestrel_stdx::mono_ns;
use kestrel_types::cex::{Fixed, Scale, Venue};
use kestrel_venues::sync::kraken::KrakenDepth;

use crate::feed_support::poll_until;

const BTC: &str = "BTC/USD";
const ETH: &str = "ETH/USD";
const QUOTE: &str = "USD";

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn spec(symbol: &str, base: &str) -> SymbolSpec {
    SymbolSpec {
        symbol: symbol.into(),
        base: base.into(),
        quote: QUOTE.into(),
        price_scale: scale(1),
        size_scale: scale(8),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(10_000),
        min_notional: 0,
        depth: 200,
    }
}

/// Twenty levels a side around `mid` (prices to 0.1), moving a few basis points a step.
fn market(seed: u64, mid: u64) -> MarketGen {
    MarketGen::new(
        seed,
        &[Venue::Kraken],
        MarketParams {
            start_mid: Fixed(mid),
            tick: Fixed(1),
            vol_bps_per_step: 5,
            venue_noise_bps: 1,
            half_spread_ticks: 2,
            levels: 20,
            level_size: Fixed(50_000_000),
            level_size_jitter: 30,
        },
    )
    .with_lot(Fixed(1_000))
}

/// A simulated Kraken listing BTC/USD and ETH/USD, each with its own market.
fn venue() -> (ExchangeServer, Vec<(&'static str, MarketGen)>) {
    // Bases at the size digits, the quote at price + size digits.
    let assets = [("BTC", 8), ("ETH", 8), (QUOTE, 9)]
        .into_iter()
        .map(|(name, digits)| AssetSpec {
            name: name.into(),
            scale: scale(digits),
        })
        .collect();
    let symbols = vec![spec(BTC, "BTC"), spec(ETH, "ETH")];
    let mut ex = Exchange::new(Venue::Kraken, assets, symbols, FeeAsset::Quote).expect("exchange");
    let markets = vec![(BTC, market(11, 650_000)), (ETH, market(12, 35_000))];
    for (symbol, m) in &markets {
        m.apply(Venue::Kraken, &mut ex, symbol);
    }
    let server = ExchangeServer::start(
        ex,
        Box::new(KrakenFront::new(Vec::new())),
        Duration::from_millis(10),
    )
    .expect("server");
    (server, markets)
}

fn symbol(name: &str, depth: KrakenDepth) -> KrakenSymbol {
    KrakenSymbol {
        symbol: name.into(),
        depth,
        price_precision: scale(1),
        qty_precision: scale(8),
    }
}

fn feed(server: &ExchangeServer, symbols: Vec<KrakenSymbol>, stale_after_ms: u64) -> KrakenFeed {
    KrakenFeed::new(KrakenFeedConfig {
        ws_url: server.ws_url(),
        symbols,
        stale_after_ms,
        ping_every_ms: 20_000,
    })
}

/// A book as its (price, size) levels, bids then asks.
type Levels = Vec<(u64, u64)>;

/// The venue's top `depth` levels a side of `symbol`, and our book `i`.
fn books(
    server: &ExchangeServer,
    feed: &KrakenFeed,
    i: usize,
    symbol: &str,
    depth: usize,
) -> (Levels, Levels) {
    let flat = |bids: &[kestrel_venues::book::Level], asks: &[kestrel_venues::book::Level]| {
        let top = |levels: &[kestrel_venues::book::Level]| levels.len().min(depth);
        bids[..top(bids)]
            .iter()
            .chain(&asks[..top(asks)])
            .map(|l| (l.price.0, l.size.0))
            .collect::<Levels>()
    };
    let theirs = server.with_exchange(|ex| {
        let book = ex.book(symbol).expect("book");
        flat(book.bids(), book.asks())
    });
    let ours = feed
        .book(i)
        .map(|k| flat(k.book().bids(), k.book().asks()))
        .unwrap_or_default();
    (theirs, ours)
}

fn move_market(server: &ExchangeServer, markets: &mut [(&str, MarketGen)], steps: usize) {
    for _ in 0..steps {
        for (symbol, market) in markets.iter_mut() {
            market.step();
            server.with_exchange(|ex| market.apply(Venue::Kraken, ex, symbol));
        }
        std::thread::sleep(Duration::from_millis(3));
    }
}

/// Poll until book `i` is synced on this connection and equal to the venue's top `depth`.
fn converge(server: &ExchangeServer, feed: &mut KrakenFeed, i: usize, symbol: &str, what: &str) {
    let depth = feed.book(i).expect("book").config().depth.levels();
    poll_until(feed, what, |f| {
        let (theirs, ours) = books(server, f, i, symbol, depth);
        f.is_synced(i) && theirs == ours
    });
}

#[test]
fn the_book_follows_the_venue_through_lost_updates_bad_checksums_and_reconnects() {
    let (server, mut markets) = venue();
    markets.truncate(1);
    let mut feed = feed(&server, vec![symbol(BTC, KrakenDepth::D10)], 60_000);
    poll_until(&mut feed, "first sync", |f| f.is_synced(0));
    move_market(&server, &mut markets, 30);
    converge(&server, &mut feed, 0, BTC, "books equal after 30 steps");
    let keeper = feed.book(0).expect("book");
    assert!(
        keeper.stats().applied > 0,
        "updates were applied, not only snapshots"
    );
    assert_eq!(keeper.checksums_verified(), keeper.stats().applied + 1);
    assert_eq!(keeper.book().bids().len(), 10, "truncated to the depth");

    // Kraken has no sequence numbers: the lost update shows as the next one's checksum.
    server.fault(Fault::Gap);
    move_market(&server, &mut markets, 5);
    poll_until(&mut feed, "lost update detected", |f| {
        f.book(0).is_some_and(|b| b.stats().checksum_failures == 1)
    });
    converge(
        &server,
        &mut feed,
        0,
        BTC,
        "books equal after the loss's resubscribe",
    );
    assert_eq!(feed.book(0).expect("book").stats().snapshots, 2);
    assert_eq!(feed.resubscribes(), 1);

    server.fault(Fault::BadChecksum);
    move_market(&server, &mut markets, 5);
    poll_until(&mut feed, "bad checksum detected", |f| {
        f.book(0).is_some_and(|b| b.stats().checksum_failures == 2)
    });
    converge(
        &server,
        &mut feed,
        0,
        BTC,
        "books equal after the checksum's resubscribe",
    );
    assert_eq!(feed.book(0).expect("book").stats().snapshots, 3);
    assert_eq!(feed.resubscribes(), 2);

    server.fault(Fault::Disconnect);
    poll_until(&mut feed, "disconnect seen", |f| f.stats().disconnects == 1);
    assert!(
        !feed.is_live(0, mono_ns()),
        "a disconnected feed is not live"
    );
    move_market(&server, &mut markets, 10);
    poll_until(&mut feed, "reconnected", |f| f.stats().connects == 2);
    converge(&server, &mut feed, 0, BTC, "books equal after reconnecting");
    let keeper = feed.book(0).expect("book");
    assert_eq!(
        keeper.stats().snapshots,
        4,
        "a reconnect rebuilds from a new snapshot: updates sent meanwhile are gone"
    );
    assert_eq!(
        keeper.stats().resyncs,
        2,
        "a reconnect is not a checksum failure"
    );
    assert_eq!(server.sessions_opened(), 2);
    assert_eq!(feed.stats().malformed, 0);
    assert_eq!(feed.refusals(), 0);
}

#[test]
fn symbols_at_different_depths_each_follow_their_own_book() {
    let (server, mut markets) = venue();
    let symbols = vec![symbol(BTC, KrakenDepth::D10), symbol(ETH, KrakenDepth::D25)];
    let mut feed = feed(&server, symbols, 60_000);
    poll_until(&mut feed, "both synced", |f| {
        f.is_synced(0) && f.is_synced(1)
    });
    let mut changed = [0u64; 2];
    for _ in 0..20 {
        move_market(&server, &mut markets, 1);
        feed.poll(mono_ns(), &mut |i| changed[i] += 1);
    }
    converge(&server, &mut feed, 0, BTC, "BTC/USD equal");
    converge(&server, &mut feed, 1, ETH, "ETH/USD equal");
    assert!(changed.iter().all(|&n| n > 0), "{changed:?}");
    // Twenty levels a side: the depth-10 book truncated, the depth-25 one holds them all.
    assert_eq!(feed.book(0).expect("book").book().bids().len(), 10);
    assert_eq!(feed.book(1).expect("book").book().bids().len(), 20);
    let dyn_feed: &dyn VenueFeed = &feed;
    assert_eq!(dyn_feed.venue(), Venue::Kraken);
    let best = |i| dyn_feed.book(i).and_then(|b| b.best_bid()).map(|l| l.price);
    assert!(
        best(0) > best(1),
        "books routed by symbol: {:?} {:?}",
        best(0),
        best(1)
    );
    assert!(dyn_feed.is_live(0, mono_ns()) && dyn_feed.is_live(1, mono_ns()));
    assert!(dyn_feed.book(2).is_none() && !dyn_feed.is_live(2, mono_ns()));
}

#[test]
fn a_stalled_feed_goes_stale_and_recovers() {
    let (server, mut markets) = venue();
    markets.truncate(1);
    let mut feed = feed(&server, vec![symbol(BTC, KrakenDepth::D10)], 150);
    poll_until(&mut feed, "first sync", |f| f.is_synced(0));
    move_market(&server, &mut markets, 3);
    poll_until(&mut feed, "live", |f| f.is_live(0, mono_ns()));
    server.fault(Fault::Stall(Duration::from_millis(800)));
    let stalled_at = Instant::now();
    // The market keeps moving; nothing is published.
    while stalled_at.elapsed() < Duration::from_millis(400) {
        move_market(&server, &mut markets, 1);
        feed.poll(mono_ns(), &mut |_| {});
    }
    assert!(
        !feed.is_live(0, mono_ns()),
        "no book message for 400 ms with a 150 ms limit: stale"
    );
    assert!(feed.is_synced(0), "stale is not unsynced");
    poll_until(&mut feed, "live again", |f| f.is_live(0, mono_ns()));
    converge(&server, &mut feed, 0, BTC, "books equal after the stall");
    let stats = feed.book(0).expect("book").stats();
    assert_eq!(stats.resyncs, 0, "a stall loses nothing: {stats:?}");
    assert_eq!(feed.stats().connects, 1);
}

#[test]
fn pings_are_answered_and_keep_the_connection() {
    let (server, _markets) = venue();
    let mut feed = KrakenFeed::new(KrakenFeedConfig {
        ws_url: server.ws_url(),
        symbols: vec![symbol(BTC, KrakenDepth::D10)],
        stale_after_ms: 60_000,
        ping_every_ms: 20,
    });
    poll_until(&mut feed, "three pongs", |f| f.pongs() >= 3);
    assert_eq!(feed.stats().connects, 1);
    assert_eq!(feed.dead_connections(), 0);
    assert!(feed.is_synced(0));
}

#[test]
fn a_book_that_never_checks_out_is_resubscribed_with_backoff() {
    let (server, _markets) = venue();
    // Quantities checksummed with 7 digits where the venue writes 8: every snapshot fails.
    let wrong = KrakenSymbol {
        qty_precision: scale(7),
        ..symbol(BTC, KrakenDepth::D10)
    };
    let mut feed = feed(&server, vec![wrong], 60_000);
    poll_until(&mut feed, "first resubscribe", |f| f.resubscribes() == 1);
    let first = Instant::now();
    poll_until(&mut feed, "fourth resubscribe", |f| f.resubscribes() == 4);
    // 0.1, 0.2 and 0.4 s apart: not one per round trip.
    let waited = first.elapsed();
    assert!(waited >= Duration::from_millis(650), "{waited:?}");
    let resubscribes = feed.resubscribes();
    let stats = feed.book(0).expect("book").stats();
    assert!(stats.checksum_failures >= resubscribes, "{stats:?}");
    assert!(!feed.is_synced(0));
    assert_eq!(feed.stats().connects, 1);
}
