//! What the tests of the feeds that resync by resubscribing (Kraken, OKX) share: a simulated
//! venue listing two symbols, each with its own moving market; our books compared with the
//! venue's; and the steps and scenarios both feeds must go through the same way.

use std::time::{Duration, Instant};

use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, SymbolSpec};
use kestrel_exsim::market::{MarketGen, MarketParams};
use kestrel_exsim::server::{ExchangeServer, Fault, Front};
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::resubscribe::{ResubscribeFeed, ResubscribeFeedConfig, ResubscribeVenue};
use kestrel_stdx::mono_ns;
use kestrel_types::cex::{Fixed, Scale, Venue};
use kestrel_venues::book::{Book, Level};
use kestrel_venues::sync::SyncStats;
use kestrel_venues::sync::kraken::KrakenBook;
use kestrel_venues::sync::okx::OkxBook;

use crate::feed_support::poll_until;

pub fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

/// How a simulated venue lists its two symbols (prices to 0.1, sizes to 8 digits).
pub struct Listing {
    pub venue: Venue,
    /// The quote asset both symbols share.
    pub quote: &'static str,
    /// Each symbol, its base asset, and its market's seed and starting mid.
    pub symbols: [(&'static str, &'static str, u64, u64); 2],
    /// The venue's smallest order size.
    pub min_size: Fixed,
    /// Levels a side the venue keeps.
    pub depth: usize,
    pub fee_asset: FeeAsset,
}

/// A simulated venue and the markets moving its books.
pub struct SimVenue {
    pub venue: Venue,
    pub server: ExchangeServer,
    pub markets: Vec<(&'static str, MarketGen)>,
}

impl SimVenue {
    /// `listing` served through `front`, each symbol with its own market.
    pub fn start(listing: &Listing, front: Box<dyn Front>) -> SimVenue {
        let venue = listing.venue;
        // Bases at the size digits, the quote at price + size digits.
        let [(_, base0, ..), (_, base1, ..)] = listing.symbols;
        let assets = [(base0, 8), (base1, 8), (listing.quote, 9)]
            .into_iter()
            .map(|(name, digits)| AssetSpec {
                name: name.into(),
                scale: scale(digits),
            })
            .collect();
        let symbols = listing
            .symbols
            .iter()
            .map(|&(symbol, base, ..)| SymbolSpec {
                symbol: symbol.into(),
                base: base.into(),
                quote: listing.quote.into(),
                price_scale: scale(1),
                size_scale: scale(8),
                tick: Fixed(1),
                lot: Fixed(1),
                min_size: listing.min_size,
                min_notional: 0,
                depth: listing.depth,
            })
            .collect();
        let mut ex = Exchange::new(venue, assets, symbols, listing.fee_asset).expect("exchange");
        let markets: Vec<_> = listing
            .symbols
            .iter()
            .map(|&(symbol, _, seed, mid)| (symbol, market(venue, seed, mid)))
            .collect();
        for (symbol, m) in &markets {
            m.apply(venue, &mut ex, symbol);
        }
        let server = ExchangeServer::start(ex, front, Duration::from_millis(10)).expect("server");
        SimVenue {
            venue,
            server,
            markets,
        }
    }

    /// Step every market `steps` times, a few milliseconds apart.
    pub fn move_market(&mut self, steps: usize) {
        for _ in 0..steps {
            for (symbol, market) in self.markets.iter_mut() {
                market.step();
                self.server
                    .with_exchange(|ex| market.apply(self.venue, ex, symbol));
            }
            std::thread::sleep(Duration::from_millis(3));
        }
    }

    /// The venue's top `depth` levels a side of `symbol`.
    pub fn levels(&self, symbol: &str, depth: usize) -> Levels {
        self.server
            .with_exchange(|ex| top_levels(ex.book(symbol).expect("book"), depth))
    }
}

/// A feed of `symbols` on `server`'s venue, not yet connected.
pub fn feed<V: ResubscribeVenue>(
    server: &ExchangeServer,
    symbols: Vec<V::Symbol>,
    stale_after_ms: u64,
    ping_every_ms: u64,
) -> ResubscribeFeed<V> {
    ResubscribeFeed::new(ResubscribeFeedConfig {
        ws_url: server.ws_url(),
        symbols,
        stale_after_ms,
        ping_every_ms,
    })
}

/// Twenty levels a side around `mid` (prices to 0.1), moving a few basis points a step.
fn market(venue: Venue, seed: u64, mid: u64) -> MarketGen {
    MarketGen::new(
        seed,
        &[venue],
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

/// A book as its (price, size) levels, bids then asks.
pub type Levels = Vec<(u64, u64)>;

/// The top `depth` levels a side of `book` (`usize::MAX`: all of them).
fn top_levels(book: &Book, depth: usize) -> Levels {
    let top = |levels: &[Level]| levels.len().min(depth);
    let (bids, asks) = (book.bids(), book.asks());
    bids[..top(bids)]
        .iter()
        .chain(&asks[..top(asks)])
        .map(|l| (l.price.0, l.size.0))
        .collect()
}

/// The counters both venues' keepers have.
pub trait KeeperStats {
    fn stats(&self) -> SyncStats;
    fn checksums_verified(&self) -> u64;
}

impl KeeperStats for KrakenBook {
    fn stats(&self) -> SyncStats {
        KrakenBook::stats(self)
    }

    fn checksums_verified(&self) -> u64 {
        KrakenBook::checksums_verified(self)
    }
}

impl KeeperStats for OkxBook {
    fn stats(&self) -> SyncStats {
        OkxBook::stats(self)
    }

    fn checksums_verified(&self) -> u64 {
        OkxBook::checksums_verified(self)
    }
}

/// The counters of book `i`'s keeper.
fn keeper_stats<V: ResubscribeVenue<Keeper: KeeperStats>>(
    feed: &ResubscribeFeed<V>,
    i: usize,
) -> SyncStats {
    feed.book(i).expect("book").stats()
}

/// Poll until book `i` is synced on this connection and its top `depth` levels a side
/// (`usize::MAX`: all) are the venue's for `symbol`.
pub fn converge<V: ResubscribeVenue>(
    v: &SimVenue,
    feed: &mut ResubscribeFeed<V>,
    i: usize,
    (symbol, depth): (&str, usize),
    what: &str,
) {
    poll_until(feed, what, |f| {
        let ours = VenueFeed::book(f, i)
            .map(|b| top_levels(b, depth))
            .unwrap_or_default();
        f.is_synced(i) && v.levels(symbol, depth) == ours
    });
}

/// Book 0 (`symbol`, kept to `depth`) syncs and follows 30 steps of the market, by updates
/// each checked against the venue's checksum.
pub fn follows_the_market<V: ResubscribeVenue<Keeper: KeeperStats>>(
    v: &mut SimVenue,
    feed: &mut ResubscribeFeed<V>,
    book: (&str, usize),
) {
    poll_until(feed, "first sync", |f| f.is_synced(0));
    v.move_market(30);
    converge(v, feed, 0, book, "books equal after 30 steps");
    let keeper = feed.book(0).expect("book");
    assert!(
        keeper.stats().applied > 0,
        "updates were applied, not only snapshots"
    );
    assert_eq!(keeper.checksums_verified(), keeper.stats().applied + 1);
}

/// After `fault`, book 0 is seen out of step (`detected` of its keeper's counters), cleared,
/// and rebuilt from the snapshot of its `nth` resubscription.
pub fn resyncs_after<V: ResubscribeVenue<Keeper: KeeperStats>>(
    v: &mut SimVenue,
    feed: &mut ResubscribeFeed<V>,
    book: (&str, usize),
    fault: Fault,
    detected: impl Fn(&SyncStats) -> bool,
    nth: u64,
) {
    let what = format!("{fault:?} detected");
    v.server.fault(fault);
    v.move_market(5);
    poll_until(feed, &what, |f| detected(&keeper_stats(f, 0)));
    converge(v, feed, 0, book, "books equal after the resubscribe");
    assert_eq!(keeper_stats(feed, 0).snapshots, nth + 1);
    assert_eq!(feed.resubscribes(), nth);
}

/// A dropped connection: book 0 is not live until a new connection rebuilds it from a new
/// snapshot, after the `resyncs` it has had.
pub fn reconnects<V: ResubscribeVenue<Keeper: KeeperStats>>(
    v: &mut SimVenue,
    feed: &mut ResubscribeFeed<V>,
    book: (&str, usize),
    resyncs: u64,
) {
    v.server.fault(Fault::Disconnect);
    poll_until(feed, "disconnect seen", |f| f.stats().disconnects == 1);
    assert!(
        !feed.is_live(0, mono_ns()),
        "a disconnected feed is not live"
    );
    v.move_market(10);
    poll_until(feed, "reconnected", |f| f.stats().connects == 2);
    converge(v, feed, 0, book, "books equal after reconnecting");
    let stats = keeper_stats(feed, 0);
    assert_eq!(
        stats.snapshots,
        resyncs + 2,
        "a reconnect rebuilds from a new snapshot: updates sent meanwhile are gone"
    );
    assert_eq!(stats.resyncs, resyncs, "a reconnect is not a resync");
    assert_eq!(v.server.sessions_opened(), 2);
    assert_eq!(feed.stats().malformed, 0);
    assert_eq!(feed.refusals(), 0);
}

/// Two books (`books`, in the listing's order) follow their own markets, each routed by its
/// symbol, and are live; there is no third.
pub fn each_book_follows_its_own_market<V: ResubscribeVenue>(
    v: &mut SimVenue,
    feed: &mut ResubscribeFeed<V>,
    books: [(&str, usize); 2],
) {
    poll_until(feed, "both synced", |f| f.is_synced(0) && f.is_synced(1));
    let mut changed = [0u64; 2];
    for _ in 0..20 {
        v.move_market(1);
        feed.poll(mono_ns(), &mut |i| changed[i] += 1);
    }
    for (i, book) in books.into_iter().enumerate() {
        converge(v, feed, i, book, &format!("{} equal", book.0));
    }
    assert!(changed.iter().all(|&n| n > 0), "{changed:?}");
    let dyn_feed: &dyn VenueFeed = &*feed;
    assert_eq!(dyn_feed.venue(), v.venue);
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

/// A feed of book 0 alone (`book`) that goes stale past 150 ms: a stalled venue makes it stale
/// but not unsynced, and it comes back having lost nothing.
pub fn a_stalled_feed_goes_stale_and_recovers<V: ResubscribeVenue<Keeper: KeeperStats>>(
    mut v: SimVenue,
    mut feed: ResubscribeFeed<V>,
    book: (&str, usize),
) {
    v.markets.truncate(1);
    poll_until(&mut feed, "first sync", |f| f.is_synced(0));
    v.move_market(3);
    poll_until(&mut feed, "live", |f| f.is_live(0, mono_ns()));
    v.server.fault(Fault::Stall(Duration::from_millis(800)));
    let stalled_at = Instant::now();
    // The market keeps moving; nothing is published.
    while stalled_at.elapsed() < Duration::from_millis(400) {
        v.move_market(1);
        feed.poll(mono_ns(), &mut |_| {});
    }
    assert!(
        !feed.is_live(0, mono_ns()),
        "no book message for 400 ms with a 150 ms limit: stale"
    );
    assert!(feed.is_synced(0), "stale is not unsynced");
    poll_until(&mut feed, "live again", |f| f.is_live(0, mono_ns()));
    converge(&v, &mut feed, 0, book, "books equal after the stall");
    let stats = keeper_stats(&feed, 0);
    assert_eq!(stats.resyncs, 0, "a stall loses nothing: {stats:?}");
    assert_eq!(feed.stats().connects, 1);
}

/// A feed pinging every 20 ms gets its pongs and keeps its one connection.
pub fn pings_are_answered_and_keep_the_connection<V: ResubscribeVenue>(
    _v: SimVenue,
    mut feed: ResubscribeFeed<V>,
) {
    poll_until(&mut feed, "three pongs", |f| f.pongs() >= 3);
    assert_eq!(feed.stats().connects, 1);
    assert_eq!(feed.dead_connections(), 0);
    assert!(feed.is_synced(0));
}

/// A feed of a book that never checks out (`failures` counts the keeper's reason) resubscribes
/// 0.1, 0.2 and 0.4 s apart, not once per round trip, on its one connection.
pub fn a_book_that_never_checks_out_is_resubscribed_with_backoff<
    V: ResubscribeVenue<Keeper: KeeperStats>,
>(
    _v: SimVenue,
    mut feed: ResubscribeFeed<V>,
    failures: impl Fn(&SyncStats) -> u64,
) {
    poll_until(&mut feed, "first resubscribe", |f| f.resubscribes() == 1);
    let first = Instant::now();
    poll_until(&mut feed, "fourth resubscribe", |f| f.resubscribes() == 4);
    let waited = first.elapsed();
    assert!(waited >= Duration::from_millis(650), "{waited:?}");
    let resubscribes = feed.resubscribes();
    let stats = keeper_stats(&feed, 0);
    assert!(failures(&stats) >= resubscribes, "{stats:?}");
    assert!(!feed.is_synced(0));
    assert_eq!(feed.stats().connects, 1);
}
