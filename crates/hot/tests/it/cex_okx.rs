//! The OKX feed against the simulated OKX (v5 `books`): books built from the snapshot on
//! subscribe stay equal to the venue's own book; a sequence gap and a wrong checksum
//! resubscribe, a dropped connection reconnects, a stalled feed goes stale and comes back;
//! `ping`s are answered.

use kestrel_exsim::engine::FeeAsset;
use kestrel_exsim::okx::OkxFront;
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_hot::cex::okx::{OkxFeed, OkxSymbol};
use kestrel_types::cex::{Fixed, Venue};
use kestrel_venues::sync::SyncStats;

use crate::resubscribe_feed::{self as common, Listing, SimVenue, scale};

const BTC: &str = "BTC-USDT";
const ETH: &str = "ETH-USDT";

/// Our books are compared with the venue's whole book.
const WHOLE: usize = usize::MAX;

/// A simulated OKX listing BTC-USDT and ETH-USDT, each with its own market.
fn venue() -> SimVenue {
    let listing = Listing {
        venue: Venue::Okx,
        quote: "USDT",
        symbols: [(BTC, "BTC", 21, 650_000), (ETH, "ETH", 22, 35_000)],
        min_size: Fixed(1_000),
        depth: 400,
        fee_asset: FeeAsset::Base,
    };
    SimVenue::start(&listing, Box::new(OkxFront::new(Vec::new())))
}

fn symbol(inst: &str) -> OkxSymbol {
    OkxSymbol {
        inst_id: inst.into(),
        price_scale: scale(1),
        size_scale: scale(8),
        capacity: 400,
    }
}

fn feed(server: &ExchangeServer, symbols: Vec<OkxSymbol>, stale_after_ms: u64) -> OkxFeed {
    common::feed(server, symbols, stale_after_ms, 20_000)
}

#[test]
fn the_book_follows_the_venue_through_gaps_bad_checksums_and_reconnects() {
    let mut v = venue();
    v.markets.truncate(1);
    let mut feed = feed(&v.server, vec![symbol(BTC)], 60_000);
    let book = (BTC, WHOLE);
    common::follows_the_market(&mut v, &mut feed, book);
    assert_eq!(feed.book(0).expect("book").noncanonical_levels(), 0);

    let gap_seen = |s: &SyncStats| s.gaps == 1;
    common::resyncs_after(&mut v, &mut feed, book, Fault::Gap, gap_seen, 1);
    let bad_checksum_seen = |s: &SyncStats| s.checksum_failures == 1;
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
fn each_instrument_follows_its_own_book() {
    let mut v = venue();
    let mut feed = feed(&v.server, vec![symbol(BTC), symbol(ETH)], 60_000);
    common::each_book_follows_its_own_market(&mut v, &mut feed, [(BTC, WHOLE), (ETH, WHOLE)]);
}

#[test]
fn a_stalled_feed_goes_stale_and_recovers() {
    let v = venue();
    let feed = feed(&v.server, vec![symbol(BTC)], 150);
    common::a_stalled_feed_goes_stale_and_recovers(v, feed, (BTC, WHOLE));
}

#[test]
fn pings_are_answered_and_keep_the_connection() {
    let v = venue();
    let feed: OkxFeed = common::feed(&v.server, vec![symbol(BTC)], 60_000, 20);
    common::pings_are_answered_and_keep_the_connection(v, feed);
}

#[test]
fn a_book_that_never_checks_out_is_resubscribed_with_backoff() {
    let v = venue();
    // Whole-number prices where the venue quotes tenths: every snapshot is inexact.
    let wrong = OkxSymbol {
        price_scale: scale(0),
        ..symbol(BTC)
    };
    let feed = feed(&v.server, vec![wrong], 60_000);
    common::a_book_that_never_checks_out_is_resubscribed_with_backoff(v, feed, |s| s.bad_numbers);
}
