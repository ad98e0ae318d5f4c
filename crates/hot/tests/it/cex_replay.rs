//! Feeds against simulated venues replaying recorded real sessions (`exsim::replay`).
//!
//! Each test loads one symbol's recorded book from `$KESTREL_DATA_DIR/cex-ws` (skipping with
//! one line when the file is absent), lists it on a simulated venue of that format, connects
//! our feed to the recorded initial book, replays every recorded change as fast as the venue
//! publishes, and checks that our feed's book ends equal, level for level, to the book rebuilt
//! here from the recording's steps, with no resync after the first snapshot. Kraken v1 and
//! Coinbase Pro are replayed through today's formats (WS v2, Advanced Trade), which is what
//! those fronts speak. One more test fills an IOC order against a replayed level mid-replay.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::bybit::BybitFront;
use kestrel_exsim::coinbase::CoinbaseFront;
use kestrel_exsim::engine::{Exchange, FeeAsset, FeeRates, NewOrder, OrderStatus, Tif};
use kestrel_exsim::kraken::KrakenFront;
use kestrel_exsim::okx::OkxFront;
use kestrel_exsim::replay::{Capture, Pace, Recording, ReplayError, Replayer, Step, data_dir};
use kestrel_exsim::server::{ExchangeServer, Front};
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::bybit::{BybitFeed, BybitFeedConfig, BybitSymbol};
use kestrel_hot::cex::coinbase::{CoinbaseFeed, CoinbaseFeedConfig, CoinbaseProduct};
use kestrel_hot::cex::kraken::{KrakenFeed, KrakenFeedConfig, KrakenSymbol};
use kestrel_hot::cex::okx::{OkxFeed, OkxFeedConfig, OkxSymbol};
use kestrel_types::cex::{BookSide, Fixed, OrderSide, Rate};
use kestrel_venues::book::Book;
use kestrel_venues::sync::SyncStats;
use kestrel_venues::sync::kraken::KrakenDepth;

use crate::feed_support::poll_until;

/// How often the simulated venues publish.
const PUBLISH_EVERY: Duration = Duration::from_millis(1);
/// Two publish intervals between steps: each recorded message is published on its own.
const PACE: Pace = Pace {
    speed: 0.0,
    min_gap: Duration::from_millis(2),
};
const ACCOUNT: &str = "replay-account";

/// The recording, or `None` after one `skipped:` line when its file is absent.
fn load(capture: &Capture, symbol: &str) -> Option<Arc<Recording>> {
    match Recording::load_fitted(capture, symbol) {
        Ok(recording) => Some(Arc::new(recording)),
        Err(ReplayError::NotFound { path }) => {
            println!("skipped: {} not found", path.display());
            None
        }
        Err(e) => panic!("loading {symbol}: {e}"),
    }
}

/// A simulated venue listing the recorded symbol (base and quote named here), with a funded
/// account, its book the recording's initial book.
fn venue(
    recording: &Arc<Recording>,
    (base, quote): (&str, &str),
    fee_asset: FeeAsset,
    front: Box<dyn Front>,
) -> (ExchangeServer, Replayer) {
    let assets = recording
        .assets(base, quote)
        .expect("scales fit a notional");
    let spec = recording.symbol_spec(base, quote);
    let mut ex = Exchange::new(recording.venue(), assets, vec![spec], fee_asset).expect("exchange");
    ex.add_account(
        ACCOUNT,
        FeeRates {
            maker: Rate(100_000),
            taker: Rate(100_000),
        },
    );
    ex.deposit(ACCOUNT, quote, u128::from(u64::MAX));
    let server = ExchangeServer::start(ex, front, PUBLISH_EVERY).expect("server");
    let replayer = Replayer::new(
        server.handle(),
        Arc::clone(recording),
        recording.symbol(),
        PACE,
    )
    .expect("replayer");
    (server, replayer)
}

/// A book as its (price, size) levels, bids best first then asks best first.
type Levels = Vec<(u64, u64)>;

fn flat(book: &Book) -> Levels {
    book.bids()
        .iter()
        .chain(book.asks())
        .map(|l| (l.price.0, l.size.0))
        .collect()
}

/// The book after `steps`, rebuilt here on ordered maps, independently of the venue's book.
fn model(steps: &[Step]) -> Levels {
    let mut bids = BTreeMap::new();
    let mut asks = BTreeMap::new();
    for &(side, price, size) in steps.iter().flat_map(|s| &s.levels) {
        let levels = match side {
            BookSide::Bid => &mut bids,
            BookSide::Ask => &mut asks,
        };
        if size.is_zero() {
            levels.remove(&price.0);
        } else {
            levels.insert(price.0, size.0);
        }
    }
    bids.into_iter().rev().chain(asks).collect()
}

/// Connect `feed` to the initial book, replay the rest, and check that the feed ends on the
/// recording's final book without resyncing. Returns the feed's sync counters.
fn replay_through<F: VenueFeed>(
    server: &ExchangeServer,
    replayer: Replayer,
    recording: &Recording,
    feed: &mut F,
    sync: impl Fn(&F) -> Option<SyncStats>,
) -> SyncStats {
    let steps = recording.steps();
    let initial = model(&steps[..1]);
    let ours = |f: &F| VenueFeed::book(f, 0).map(flat).unwrap_or_default();
    poll_until(feed, "the initial book", |f| ours(f) == initial);
    let replay = replayer.start().expect("start");
    poll_until(feed, "the replay's end", |_| replay.is_done());
    let report = replay.join();
    assert!(report.completed, "{report:?}");
    assert_eq!(report.steps_applied, steps.len() as u64);
    let last = model(steps);
    poll_until(feed, "the recording's final book", |f| ours(f) == last);
    let theirs = server.with_exchange(|ex| flat(ex.book(recording.symbol()).expect("book")));
    assert_eq!(theirs, last, "the venue's own book is the recording's");
    let stats = sync(feed).expect("sync stats");
    assert_eq!(stats.snapshots, 1, "one snapshot, at start: {stats:?}");
    assert_eq!(stats.resyncs, 0, "{stats:?}");
    assert!(stats.applied > 0, "{stats:?}");
    let feed_stats = feed.stats();
    assert_eq!(feed_stats.connects, 1, "{feed_stats:?}");
    assert_eq!(feed_stats.malformed, 0, "{feed_stats:?}");
    println!(
        "{} {}: {} steps, {} updates applied by the feed, {} levels a side at most",
        recording.venue(),
        recording.symbol(),
        steps.len(),
        stats.applied,
        recording.max_levels()
    );
    stats
}

#[test]
fn binance_nknusdt_replays_into_our_feed() {
    let Some(rec) = load(&Capture::cryptofeed_binance(&data_dir()), "NKNUSDT") else {
        return;
    };
    assert_eq!(
        rec.steps().len(),
        150,
        "the snapshot and its 149 bridged diffs"
    );
    assert_eq!(rec.stats().dropped, 1, "one diff at lastUpdateId");
    let front = Box::new(BinanceFront::new(Vec::new()));
    let (server, replayer) = venue(&rec, ("NKN", "USDT"), FeeAsset::Base, front);
    let mut feed = BinanceFeed::new(BinanceFeedConfig {
        ws_url: server.ws_url(),
        rest_url: server.http_url(),
        symbols: vec![FeedSymbol {
            symbol: rec.symbol().into(),
            price_scale: rec.scales().price,
            size_scale: rec.scales().size,
            capacity: rec.max_levels(),
        }],
        stale_after_ms: 60_000,
        snapshot_limit: 5000,
    })
    .expect("feed");
    let stats = replay_through(&server, replayer, &rec, &mut feed, |f| {
        f.book(0).map(|b| b.stats())
    });
    assert_eq!(stats.gaps, 0);
}

#[test]
fn okx_btc_usdt_replays_into_our_feed_with_every_checksum_verified() {
    let Some(rec) = load(&Capture::cryptofeed_okx(&data_dir()), "BTC-USDT") else {
        return;
    };
    let recorded = rec.stats();
    assert_eq!(recorded.checksum_mismatches, 0, "{recorded:?}");
    assert_eq!(recorded.checksums_verified, rec.steps().len() as u64);
    let front = Box::new(OkxFront::new(Vec::new()));
    let (server, replayer) = venue(&rec, ("BTC", "USDT"), FeeAsset::Base, front);
    let mut feed = OkxFeed::new(OkxFeedConfig {
        ws_url: server.ws_url(),
        symbols: vec![OkxSymbol {
            inst_id: rec.symbol().into(),
            price_scale: rec.scales().price,
            size_scale: rec.scales().size,
            capacity: rec.max_levels(),
        }],
        stale_after_ms: 60_000,
        ping_every_ms: 20_000,
    });
    let stats = replay_through(&server, replayer, &rec, &mut feed, |f| {
        f.book(0).map(|b| b.stats())
    });
    assert_eq!(stats.checksum_failures, 0);
    let keeper = feed.book(0).expect("book");
    assert_eq!(keeper.checksums_verified(), stats.applied + 1);
    assert_eq!(feed.resubscribes(), 0);
}

#[test]
fn kraken_v1_xbt_chf_replays_into_our_v2_feed() {
    let Some(rec) = load(&Capture::cryptofeed_kraken(&data_dir()), "XBT/CHF") else {
        return;
    };
    let recorded = rec.stats();
    assert_eq!(recorded.checksum_mismatches, 0, "{recorded:?}");
    assert_eq!(
        recorded.checksums_verified,
        rec.steps().len() as u64 - 1,
        "every update's checksum, rebuilt from the v1 messages"
    );
    let front = Box::new(KrakenFront::new(Vec::new()));
    let (server, replayer) = venue(&rec, ("XBT", "CHF"), FeeAsset::Quote, front);
    let mut feed = KrakenFeed::new(KrakenFeedConfig {
        ws_url: server.ws_url(),
        symbols: vec![KrakenSymbol {
            symbol: rec.symbol().into(),
            depth: KrakenDepth::D1000,
            price_precision: rec.scales().price,
            qty_precision: rec.scales().size,
        }],
        stale_after_ms: 60_000,
        ping_every_ms: 20_000,
    });
    let stats = replay_through(&server, replayer, &rec, &mut feed, |f| {
        f.book(0).map(|b| b.stats())
    });
    assert_eq!(stats.checksum_failures, 0);
    assert_eq!(feed.resubscribes(), 0);
}

#[test]
fn bybit_xrpusdt_ob500_replays_into_our_feed() {
    let Some(rec) = load(&Capture::nautilus_bybit_xrpusdt(&data_dir()), "XRPUSDT") else {
        return;
    };
    let front = Box::new(BybitFront::new(Vec::new()));
    let (server, replayer) = venue(&rec, ("XRP", "USDT"), FeeAsset::Base, front);
    let mut feed = BybitFeed::new(BybitFeedConfig {
        ws_url: server.ws_url(),
        symbols: vec![BybitSymbol {
            symbol: rec.symbol().into(),
            price_scale: rec.scales().price,
            size_scale: rec.scales().size,
            // The spot topic deep enough for the recorded 500 levels.
            depth: 1000,
            capacity: 1020,
        }],
        stale_after_ms: 60_000,
        ping_every_ms: 20_000,
    });
    let stats = replay_through(&server, replayer, &rec, &mut feed, |f| {
        f.book(0).map(|b| b.stats())
    });
    assert_eq!(stats.gaps, 0);
}

#[test]
fn coinbase_pro_band_gbp_replays_into_our_feed() {
    let Some(rec) = load(&Capture::cryptofeed_coinbase(&data_dir()), "BAND-GBP") else {
        return;
    };
    let front = Box::new(CoinbaseFront::new(Vec::new()));
    let (server, replayer) = venue(&rec, ("BAND", "GBP"), FeeAsset::Quote, front);
    let mut feed = CoinbaseFeed::new(CoinbaseFeedConfig {
        ws_url: server.ws_url(),
        products: vec![CoinbaseProduct {
            product_id: rec.symbol().into(),
            price_scale: rec.scales().price,
            size_scale: rec.scales().size,
            capacity: rec.max_levels(),
        }],
        stale_after_ms: 60_000,
    });
    replay_through(&server, replayer, &rec, &mut feed, |f| {
        f.book(0).map(|b| b.stats())
    });
}

#[test]
fn an_ioc_order_fills_against_a_replayed_level_mid_replay() {
    let Some(rec) = load(&Capture::cryptofeed_binance(&data_dir()), "NKNUSDT") else {
        return;
    };
    let front = Box::new(BinanceFront::new(Vec::new()));
    let (server, replayer) = venue(&rec, ("NKN", "USDT"), FeeAsset::Base, front);
    let replay = replayer.start().expect("start");
    let midway = rec.steps().len() as u64 / 3;
    while replay.steps_applied() < midway {
        std::thread::sleep(Duration::from_millis(1));
    }
    let symbol = rec.symbol();
    let (order, best, left) = server.with_exchange(|ex| {
        let best = ex.book(symbol).and_then(Book::best_ask).expect("asks");
        // Half the best level (at least one lot), at its price.
        let size = Fixed((best.size.0 / 2).max(rec.lot().0));
        let order = NewOrder {
            symbol: symbol.into(),
            side: OrderSide::Buy,
            size,
            limit: best.price,
            tif: Tif::Ioc,
            client_id: "replay-ioc".into(),
        };
        let placed = ex.place(ACCOUNT, order, 0).expect("placed");
        let left = ex.book(symbol).and_then(Book::best_ask).expect("asks");
        (placed, best, left)
    });
    let applied = replay.steps_applied();
    assert!(
        applied > 1 && applied < rec.steps().len() as u64,
        "placed mid-replay: {applied}"
    );
    assert_eq!(order.status, OrderStatus::Filled, "{order:?}");
    assert!(
        order.fills.iter().all(|f| f.price == best.price),
        "{order:?}"
    );
    assert_eq!(order.filled, order.size);
    assert_eq!(left.price, best.price, "half the level is still there");
    assert_eq!(left.size.0, best.size.0 - order.size.0);
    let recorded = rec.steps()[..applied as usize]
        .iter()
        .flat_map(|s| &s.levels)
        .any(|&(side, price, size)| {
            side == BookSide::Ask && price == best.price && size == best.size
        });
    assert!(recorded, "the level filled against came from the recording");
    let report = replay.join();
    assert!(
        report.completed,
        "the replay goes on after the fill: {report:?}"
    );
}
