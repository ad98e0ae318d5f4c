//! The Kraken feed against the simulated Kraken (WS v2 `book`): books built from the snapshot
//! on subscribe stay equal to the venue's own top levels; a lost update (seen only by the next
//! checksum) and a wrong checksum resubscribe, a dropped connection reconnects, a stalled feed
//! goes stale and comes back; pings are answered.

use kestrel_exsim::engine::FeeAsset;
use kestrel_exsim::kraken::KrakenFront;
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_hot::cex::kraken::{KrakenFeed, KrakenSymbol};
use kestrel_types::cex::{Fixed, Venue};
use kestrel_venues::sync::SyncStats;
use kestrel_venues::sync::kraken::KrakenDepth;

use crate::resubscribe_feed::{self as common, Listing, SimVenue, scale};

const BTC: &str = "BTC/USD";
const ETH: &str = "ETH/USD";

/// A simulated Kraken listing BTC/USD and ETH/USD, each with its own market.
fn venue() -> SimVenue {
    let listing = Listing {
        venue: Venue::Kraken,
        quote: "USD",
        symbols: [(BTC, "BTC", 11, 650_000), (ETH, "ETH", 12, 35_000)],
        min_size: Fixed(10_000),
        depth: 200,
        fee_asset: FeeAsset::Quote,
    };
    SimVenue::start(&listing, Box::new(KrakenFront::new(Vec::new())))
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
    common::feed(server, symbols, stale_after_ms, 20_000)
}

#[test]
fn the_book_follows_the_venue_through_lost_updates_bad_checksums_and_reconnects() {
    let mut v = venue();
    v.markets.truncate(1);
    let mut feed = feed(&v.server, vec![symbol(BTC, KrakenDepth::D10)], 60_000);
    let book = (BTC, 10);
    common::follows_the_market(&mut v, &mut feed, book);
    let keeper = feed.book(0).expect("book");
    assert_eq!(keeper.book().bids().len(), 10, "truncated to the depth");

    // Kraken has no sequence numbers: the lost update shows as the next one's checksum.
    let lost_update_seen = |s: &SyncStats| s.checksum_failures == 1;
    common::resyncs_after(&mut v, &mut feed, book, Fault::Gap, lost_update_seen, 1);
    let bad_checksum_seen = |s: &SyncStats| s.checksum_failures == 2;
    common::resyncs_after(
        &mut v,
        &mut feed,
        book,
        Fault::BadChecksum,
        bad_checksum_seen,
        2,
    );
    common::reconnects(&mut v, &mut feed, book, 2);
}

#[test]
fn symbols_at_different_depths_each_follow_their_own_book() {
    let mut v = venue();
    let symbols = vec![symbol(BTC, KrakenDepth::D10), symbol(ETH, KrakenDepth::D25)];
    let mut feed = feed(&v.server, symbols, 60_000);
    common::each_book_follows_its_own_market(&mut v, &mut feed, [(BTC, 10), (ETH, 25)]);
    // Twenty levels a side: the depth-10 book truncated, the depth-25 one holds them all.
    assert_eq!(feed.book(0).expect("book").book().bids().len(), 10);
    assert_eq!(feed.book(1).expect("book").book().bids().len(), 20);
}

#[test]
fn a_stalled_feed_goes_stale_and_recovers() {
    let v = venue();
    let feed = feed(&v.server, vec![symbol(BTC, KrakenDepth::D10)], 150);
    common::a_stalled_feed_goes_stale_and_recovers(v, feed, (BTC, 10));
}

#[test]
fn pings_are_answered_and_keep_the_connection() {
    let v = venue();
    let feed: KrakenFeed = common::feed(&v.server, vec![symbol(BTC, KrakenDepth::D10)], 60_000, 20);
    common::pings_are_answered_and_keep_the_connection(v, feed);
}

#[test]
fn a_book_that_never_checks_out_is_resubscribed_with_backoff() {
    let v = venue();
    // Quantities checksummed with 7 digits where the venue writes 8: every snapshot fails.
    let wrong = KrakenSymbol {
        qty_precision: scale(7),
        ..symbol(BTC, KrakenDepth::D10)
    };
    let feed = feed(&v.server, vec![wrong], 60_000);
    common::a_book_that_never_checks_out_is_resubscribed_with_backoff(v, feed, |s| {
        s.checksum_failures
    });
}
