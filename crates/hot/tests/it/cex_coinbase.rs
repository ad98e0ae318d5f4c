//! The Coinbase feed against the simulated Coinbase, two products on one connection: both
//! books stay equal to the venue's; a gap in `sequence_num` clears and resubscribes every book
//! of the connection, a dropped connection reconnects and rebuilds from new snapshots, a
//! stalled feed goes stale and comes back. A snapshot over the WebSocket client's default
//! message limit still syncs; a message over the feed's own limit is skipped and counted.

use std::time::{Duration, Instant};

use kestrel_exsim::coinbase::CoinbaseFront;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, SymbolSpec};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_hot::cex::VenueFeed as _;
use kestrel_hot::cex::coinbase::{
    CoinbaseFeed, CoinbaseFeedConfig, CoinbaseProduct,
    MAX_MESSAGE_BYTES as COINBASE_MAX_MESSAGE_BYTES,
};
use kestrel_hot::wsclient::WsClient;
use kestrel_stdx::mono_ns;
use kestrel_types::cex::{Fixed, Scale, Venue};

use crate::feed_support::poll_until;

/// The products, in feed order, each with its market's starting mid.
const PRODUCTS: [(&str, u64); 2] = [("BTC-USD", 6_500_000), ("ETH-USD", 350_000)];

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn spec(product: &str, base: &str, depth: usize) -> SymbolSpec {
    SymbolSpec {
        symbol: product.into(),
        base: base.into(),
        quote: "USD".into(),
        price_scale: scale(2),
        size_scale: scale(8),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(1_000),
        min_notional: 10_000_000_000,
        depth,
    }
}

/// The venue, and one market per product, 40 levels a side.
fn venue() -> (ExchangeServer, Vec<MarketGen>) {
    venue_with_levels(40)
}

/// The venue, and one market per product with `levels` levels a side.
fn venue_with_levels(levels: usize) -> (ExchangeServer, Vec<MarketGen>) {
    let asset = |name: &str, digits| AssetSpec {
        name: name.into(),
        scale: scale(digits),
    };
    let assets = vec![asset("BTC", 8), asset("ETH", 8), asset("USD", 10)];
    let depth = levels.max(200);
    let symbols = vec![spec("BTC-USD", "BTC", depth), spec("ETH-USD", "ETH", depth)];
    let ex = Exchange::new(Venue::Coinbase, assets, symbols, FeeAsset::Quote).expect("exchange");
    let markets: Vec<MarketGen> = PRODUCTS
        .iter()
        .zip(5u64..)
        .map(|(&(_, mid), seed)| {
            MarketGen::new(
                seed,
                &[Venue::Coinbase],
                MarketParams {
                    start_mid: Fixed(mid),
                    tick: Fixed(1),
                    vol_bps_per_step: 3,
                    venue_noise_bps: 1,
                    half_spread_ticks: 1,
                    levels,
                    level_size: Fixed(50_000_000),
                    level_size_jitter: 40,
                },
            )
            .with_lot(Fixed(1))
        })
        .collect();
    let server = ExchangeServer::start(
        ex,
        Box::new(CoinbaseFront::new(Vec::new())),
        Duration::from_millis(10),
    )
    .expect("server");
    apply(&server, &markets);
    (server, markets)
}

fn apply(server: &ExchangeServer, markets: &[MarketGen]) {
    server.with_exchange(|ex| {
        for (market, (product, _)) in markets.iter().zip(PRODUCTS) {
            market.apply(Venue::Coinbase, ex, product);
        }
    });
}

fn feed(server: &ExchangeServer, stale_after_ms: u64) -> CoinbaseFeed {
    feed_at(&server.ws_url(), stale_after_ms, 400)
}

/// A feed of [`PRODUCTS`] from `ws_url`, each book holding `capacity` levels a side.
fn feed_at(ws_url: &str, stale_after_ms: u64, capacity: usize) -> CoinbaseFeed {
    CoinbaseFeed::new(CoinbaseFeedConfig {
        ws_url: ws_url.into(),
        products: PRODUCTS
            .iter()
            .map(|(product, _)| CoinbaseProduct {
                product_id: (*product).into(),
                price_scale: scale(2),
                size_scale: scale(8),
                capacity,
            })
            .collect(),
        stale_after_ms,
    })
}

/// A book as its (price, size) levels, bids then asks.
type Levels = Vec<(u64, u64)>;

fn flat(b: &kestrel_venues::book::Book) -> Levels {
    b.bids()
        .iter()
        .chain(b.asks())
        .map(|l| (l.price.0, l.size.0))
        .collect()
}

/// Whether every book is synced and equal to the venue's.
fn in_step(server: &ExchangeServer, feed: &CoinbaseFeed) -> bool {
    PRODUCTS.iter().enumerate().all(|(i, (product, _))| {
        let theirs = server.with_exchange(|ex| flat(ex.book(product).expect("book")));
        feed.book(i)
            .is_some_and(|k| k.is_synced() && flat(k.book()) == theirs)
    })
}

fn move_market(server: &ExchangeServer, markets: &mut [MarketGen], steps: usize) {
    for _ in 0..steps {
        for market in markets.iter_mut() {
            market.step();
        }
        apply(server, markets);
        std::thread::sleep(Duration::from_millis(3));
    }
}

fn converge(server: &ExchangeServer, feed: &mut CoinbaseFeed, what: &str) {
    poll_until(feed, what, |f| in_step(server, f));
}

/// Each product's keeper counter `field` over every connection.
fn each(feed: &CoinbaseFeed, field: fn(kestrel_venues::sync::SyncStats) -> u64) -> Vec<u64> {
    (0..PRODUCTS.len())
        .map(|i| field(feed.sync_stats(i).expect("product")))
        .collect()
}

#[test]
fn the_books_follow_the_venue_through_gaps_and_reconnects() {
    let (server, mut markets) = venue();
    let mut feed = feed(&server, 60_000);
    assert_eq!(feed.venue(), Venue::Coinbase);
    poll_until(&mut feed, "first sync", |f| {
        (0..PRODUCTS.len()).all(|i| f.book(i).is_some_and(|b| b.is_synced()))
    });
    move_market(&server, &mut markets, 30);
    converge(&server, &mut feed, "books equal after 30 steps");
    assert!(
        each(&feed, |s| s.applied).iter().all(|&n| n > 0),
        "updates were applied to both books, not only snapshots"
    );
    assert_eq!(feed.sequence().gaps(), 0);

    server.fault(Fault::Gap);
    move_market(&server, &mut markets, 5);
    poll_until(&mut feed, "gap detected", |f| f.sequence().gaps() == 1);
    assert_eq!(
        each(&feed, |s| s.gaps),
        [1, 1],
        "one lost message clears every book of the connection"
    );
    move_market(&server, &mut markets, 5);
    converge(&server, &mut feed, "books equal after the resubscribe");
    assert_eq!(
        each(&feed, |s| s.snapshots),
        [2, 2],
        "each product resubscribed"
    );

    server.fault(Fault::Disconnect);
    poll_until(&mut feed, "disconnect seen", |f| f.stats().disconnects == 1);
    assert!(
        !feed.is_live(0, mono_ns()),
        "a disconnected feed is not live"
    );
    move_market(&server, &mut markets, 10);
    poll_until(&mut feed, "reconnected", |f| f.stats().connects == 2);
    converge(&server, &mut feed, "books equal after reconnecting");
    assert_eq!(
        each(&feed, |s| s.snapshots),
        [3, 3],
        "a reconnect rebuilds every book from a new snapshot"
    );
    assert_eq!(
        feed.sequence().gaps(),
        1,
        "the new connection's numbering starts afresh: no gap"
    );
    assert_eq!(server.sessions_opened(), 2);
    assert_eq!(feed.stats().malformed, 0);
    assert_eq!(feed.errors(), 0);
    assert!((0..PRODUCTS.len()).all(|i| feed.is_live(i, mono_ns())));
}

#[test]
fn a_stalled_feed_goes_stale_and_recovers() {
    let (server, mut markets) = venue();
    let mut feed = feed(&server, 150);
    poll_until(&mut feed, "first sync", |f| {
        f.book(0).is_some_and(|b| b.is_synced())
    });
    move_market(&server, &mut markets, 3);
    poll_until(&mut feed, "live", |f| f.is_live(0, mono_ns()));
    server.fault(Fault::Stall(Duration::from_millis(800)));
    let stalled_at = Instant::now();
    // The market keeps moving; nothing is published, heartbeats included.
    while stalled_at.elapsed() < Duration::from_millis(400) {
        move_market(&server, &mut markets, 1);
        feed.poll(mono_ns(), &mut |_| {});
    }
    assert!(
        !feed.is_live(0, mono_ns()),
        "nothing for 400 ms with a 150 ms limit: stale"
    );
    assert!(
        feed.book(0).expect("book").is_synced(),
        "stale is not unsynced"
    );
    poll_until(&mut feed, "live again", |f| f.is_live(0, mono_ns()));
    converge(&server, &mut feed, "books equal after the stall");
    assert_eq!(feed.sequence().gaps(), 0, "a stall loses nothing");
    assert_eq!(feed.stats().connects, 1);
}

/// Subscribes a plain client (the default message limit) to `level2` for BTC-USD and returns
/// how many messages it skipped as oversized once the `subscriptions` answer came.
fn oversized_for_a_default_client(server: &ExchangeServer) -> u64 {
    let mut ws = WsClient::connect(&server.ws_url(), Some(Duration::from_millis(20))).expect("ws");
    ws.send_text(br#"{"type":"subscribe","channel":"level2","product_ids":["BTC-USD"]}"#)
        .expect("subscribe");
    let t0 = Instant::now();
    let mut answered = false;
    while !answered {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no subscriptions answer"
        );
        ws.poll(&mut |m| answered |= m.windows(13).any(|w| w == b"subscriptions"))
            .expect("poll");
    }
    ws.oversized()
}

#[test]
fn a_snapshot_over_the_default_message_limit_syncs() {
    // 7000 levels a side: each product's snapshot is about 1.5 MB, one WebSocket message.
    let (server, _markets) = venue_with_levels(7_000);
    assert_eq!(
        oversized_for_a_default_client(&server),
        1,
        "the snapshot is over the client's default limit"
    );
    let mut feed = feed_at(&server.ws_url(), 60_000, 8_000);
    poll_until(&mut feed, "first sync", |f| {
        (0..PRODUCTS.len()).all(|i| f.book(i).is_some_and(|b| b.is_synced()))
    });
    converge(&server, &mut feed, "books equal to the venue's whole books");
    assert!(feed.book(0).expect("book").book().bids().len() >= 7_000);
    assert_eq!(feed.stats().oversized, 0);
    assert_eq!(feed.stats().malformed, 0);
}

/// Accepts `connections` WebSocket connections one after another; on each, reads the feed's
/// two subscribe requests and sends one text message of `len` bytes. Every connection but the
/// last is then closed; the last is held open until `release` fires.
fn oversized_server(
    connections: usize,
    len: usize,
    release: std::sync::mpsc::Receiver<()>,
) -> (String, std::thread::JoinHandle<()>) {
    use std::io::Write as _;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}/", listener.local_addr().expect("addr"));
    let server = std::thread::spawn(move || {
        let piece = vec![b'x'; 1 << 20];
        for c in 0..connections {
            let (stream, _) = listener.accept().expect("accept");
            let mut ws = tungstenite::accept(stream).expect("handshake");
            for _ in 0..2 {
                ws.read().expect("subscribe");
            }
            let mut head = vec![0x81, 127];
            head.extend_from_slice(&(len as u64).to_be_bytes());
            let s = ws.get_mut();
            s.write_all(&head).expect("head");
            let mut left = len;
            while left > 0 {
                let n = left.min(piece.len());
                s.write_all(&piece[..n]).expect("payload");
                left -= n;
            }
            if c + 1 == connections {
                let _ = release.recv_timeout(Duration::from_secs(30));
            }
        }
    });
    (url, server)
}

#[test]
fn messages_over_the_feed_limit_are_counted_across_reconnects() {
    let (release, held) = std::sync::mpsc::channel();
    let (url, server) = oversized_server(2, COINBASE_MAX_MESSAGE_BYTES + 1, held);
    let mut feed = feed_at(&url, 60_000, 400);
    poll_until(&mut feed, "the first oversized message", |f| {
        f.stats().oversized == 1
    });
    // The first connection is closed; the second skips one more while still open.
    poll_until(&mut feed, "the second connection's", |f| {
        f.stats().connects == 2 && f.stats().oversized == 2
    });
    assert!(feed.is_connected());
    assert_eq!(feed.stats().disconnects, 1);
    // The server closes the second connection once it has written all of it (which the
    // feed's polls read).
    release.send(()).expect("release");
    poll_until(&mut feed, "the second connection closed", |f| {
        f.stats().disconnects == 2
    });
    server.join().expect("server");
    assert_eq!(
        feed.stats().oversized,
        2,
        "kept after the connection is gone"
    );
    assert_eq!(feed.stats().frames, 0);
}
