//! OKX v5 public market data: one connection at `/ws/v5/public` carrying every configured
//! instrument's `books` channel (400 levels: a snapshot on subscribe, then updates chained by
//! `seqId` with a checksum of the top 25 levels), each instrument's book kept by [`OkxBook`].
//!
//! The connection, the resubscriptions that rebuild a book (after a sequence gap, a checksum,
//! the venue's sequence reset, an inexact number, or a snapshot that never arrived whole) and
//! the keep-alive are a [`ResubscribeFeed`]'s; this module says what OKX's frames, books and
//! requests are. The connection is kept open with the text `ping` OKX asks for (it closes a
//! connection that has been silent for 30 s), and replaced when the venue gives notice that it
//! will close it for an upgrade.
//!
//! **Invariant:** a book is quoted from only once a snapshot was applied on the connection
//! now open, and not since cleared (see [`super::resubscribe`]).

use kestrel_types::cex::{Scale, Venue};
use kestrel_venues::book::Book;
use kestrel_venues::sync::Outcome;
use kestrel_venues::sync::okx::OkxBook;
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::okx::{OkxAction, OkxBookMsg, OkxFrame, parse_okx};

use super::resubscribe::{
    FeedEvent, ResubscribeFeed, ResubscribeFeedConfig, ResubscribeVenue, push_json_string,
};

/// One instrument to follow.
#[derive(Clone, Debug)]
pub struct OkxSymbol {
    /// The venue's instrument id (`"BTC-USDT"`).
    pub inst_id: String,
    /// Fraction digits of its prices (`tickSz`'s).
    pub price_scale: Scale,
    /// Fraction digits of its sizes (`lotSz`'s).
    pub size_scale: Scale,
    /// Levels kept per side: 400 for `books`, the channel's depth.
    pub capacity: usize,
}

/// Where and what to subscribe to: `ws_url` without the `/ws/v5/public` path; the ping OKX's
/// text `ping`, under 30 s apart (OKX closes a connection silent for longer).
pub type OkxFeedConfig = ResubscribeFeedConfig<OkxSymbol>;

/// An OKX market-data connection and its books.
pub type OkxFeed = ResubscribeFeed<OkxProtocol>;

/// The only channel subscribed.
const CHANNEL: &[u8] = b"books";

/// OKX's v5 public `books` channel, as a [`ResubscribeFeed`] reads it.
#[derive(Debug)]
pub enum OkxProtocol {}

impl ResubscribeVenue for OkxProtocol {
    const VENUE: Venue = Venue::Okx;
    const PATH: &'static str = "/ws/v5/public";
    /// The keep-alive OKX answers with the text `pong`.
    const PING: &'static [u8] = b"ping";
    type Symbol = OkxSymbol;
    type Keeper = OkxBook;
    type Msg<'a> = OkxBookMsg<'a>;

    fn name(symbol: &OkxSymbol) -> &str {
        &symbol.inst_id
    }

    fn keeper(symbol: &OkxSymbol) -> OkxBook {
        OkxBook::new(Book::new(
            symbol.capacity,
            symbol.price_scale,
            symbol.size_scale,
        ))
    }

    /// `{"op":"<op>","args":[{"channel":"books","instId":"<inst_id>"}]}`.
    fn request(op: &str, symbol: &OkxSymbol) -> String {
        let mut out = format!(r#"{{"op":"{op}","args":[{{"channel":"books","instId":"#);
        push_json_string(&mut out, &symbol.inst_id);
        out.push_str("}]}");
        out
    }

    fn decode(frame: &[u8]) -> Result<FeedEvent<OkxBookMsg<'_>>, CexError> {
        Ok(match parse_okx(frame)? {
            OkxFrame::Book(msg) if msg.channel == CHANNEL => FeedEvent::Book(msg),
            OkxFrame::Pong => FeedEvent::Pong,
            OkxFrame::Error { .. } => FeedEvent::Refusal,
            // `notice` 64008: the venue will close this connection for an upgrade.
            OkxFrame::Notice { .. } => FeedEvent::Closing,
            _ => FeedEvent::Other,
        })
    }

    fn symbol<'m>(msg: &'m OkxBookMsg<'_>) -> &'m [u8] {
        msg.inst_id
    }

    fn is_update(msg: &OkxBookMsg<'_>) -> bool {
        msg.action == OkxAction::Update
    }

    fn apply(keeper: &mut OkxBook, msg: &OkxBookMsg<'_>) -> Outcome {
        keeper.on_book(msg)
    }

    fn book(keeper: &OkxBook) -> &Book {
        keeper.book()
    }

    fn is_synced(keeper: &OkxBook) -> bool {
        keeper.is_synced()
    }

    fn sync_stats(keeper: &OkxBook) -> kestrel_venues::sync::SyncStats {
        keeper.stats()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cex::{SNAPSHOT_WAIT_NS, resubscribe};

    type Books = resubscribe::Books<OkxProtocol>;
    type Slot = resubscribe::Slot<OkxProtocol>;

    fn btc() -> OkxSymbol {
        OkxSymbol {
            inst_id: "BTC-USDT".into(),
            price_scale: Scale::new(1).expect("scale"),
            size_scale: Scale::new(8).expect("scale"),
            capacity: 400,
        }
    }

    /// A `books` push with one bid, chained `prev` → `seq`, its checksum left out (deprecated,
    /// so unchecked).
    fn push(action: &str, size: &str, prev: i64, seq: i64) -> String {
        format!(
            r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":[],"bids":[["100.5","{size}","0","1"]],"ts":"1","checksum":0,"prevSeqId":{prev},"seqId":{seq}}}]}}"#
        )
    }

    fn feed_frame(books: &mut Books, frame: &str) -> Vec<usize> {
        let mut changed = Vec::new();
        books.on_frame(frame.as_bytes(), 7, &mut |i| changed.push(i));
        changed
    }

    #[test]
    fn requests_are_okxs_json() {
        assert_eq!(
            Slot::new(&btc()).subscribe,
            r#"{"op":"subscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}"#
        );
        assert_eq!(
            Slot::new(&btc()).unsubscribe,
            r#"{"op":"unsubscribe","args":[{"channel":"books","instId":"BTC-USDT"}]}"#
        );
    }

    #[test]
    fn updates_apply_only_after_this_connections_snapshot() {
        let mut books = Books::new(vec![Slot::new(&btc())]);
        // The keeper could hold a previous connection's book: an early update is not applied.
        assert!(feed_frame(&mut books, &push("update", "1", 10, 11)).is_empty());
        assert_eq!(books.slots[0].keeper.stats().applied, 0);
        assert_eq!(feed_frame(&mut books, &push("snapshot", "1", -1, 11)), [0]);
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert!(!books.slots[0].liveness.is_stale(7, 0));
        assert_eq!(feed_frame(&mut books, &push("update", "2", 11, 12)), [0]);
        // A push that does not chain clears the book and asks for a resubscribe.
        assert!(feed_frame(&mut books, &push("update", "3", 13, 14)).is_empty());
        let slot = &books.slots[0];
        assert!(slot.resubscribe && !slot.fresh && !slot.keeper.is_synced());
        assert_eq!(slot.keeper.stats().gaps, 1);
        // Another instrument, another channel, pongs, errors and garbage touch no book.
        let other = push("snapshot", "1", -1, 20).replace("BTC-USDT", "ETH-USDT");
        assert!(feed_frame(&mut books, &other).is_empty());
        let books5 = push("snapshot", "1", -1, 20).replace("\"books\"", "\"books5\"");
        assert!(feed_frame(&mut books, &books5).is_empty());
        feed_frame(&mut books, "pong");
        feed_frame(
            &mut books,
            r#"{"event":"error","code":"60018","msg":"doesn't exist","connId":"1"}"#,
        );
        feed_frame(&mut books, "[1,");
        assert_eq!((books.pongs, books.refusals), (1, 1));
        assert_eq!((books.stats.frames, books.stats.malformed), (9, 1));
        assert!(!books.closing);
        feed_frame(
            &mut books,
            r#"{"event":"notice","code":"64008","msg":"upgrade","connId":"1"}"#,
        );
        assert!(books.closing, "the venue's notice replaces the connection");
    }

    #[test]
    fn updates_with_no_snapshot_resubscribe_once_the_snapshot_is_overdue() {
        let mut books = Books::new(vec![Slot::new(&btc())]);
        let subscribed_ns = 5_000_000_000;
        books.slots[0].subscribed_ns = subscribed_ns;
        let at = |books: &mut Books, ns: u64, frame: &str| {
            books.on_frame(frame.as_bytes(), subscribed_ns + ns, &mut |_| {});
            books.slots[0].resubscribe
        };
        // The old subscription's updates, in flight after a resubscribe: the normal order.
        assert!(!at(&mut books, 1_000_000, &push("update", "1", 10, 11)));
        assert!(!at(
            &mut books,
            SNAPSHOT_WAIT_NS - 1,
            &push("update", "1", 11, 12)
        ));
        // Still updates, and no snapshot a whole wait after the subscription: it was lost.
        assert!(at(
            &mut books,
            SNAPSHOT_WAIT_NS,
            &push("update", "1", 12, 13)
        ));
        assert!(!books.slots[0].fresh);
        assert_eq!(books.slots[0].keeper.stats().applied, 0);
        // The new subscription's snapshot syncs the book; its updates apply.
        books.slots[0].resubscribe = false;
        books.slots[0].subscribed_ns = subscribed_ns + SNAPSHOT_WAIT_NS;
        assert!(!at(
            &mut books,
            SNAPSHOT_WAIT_NS + 1,
            &push("snapshot", "1", -1, 20)
        ));
        assert!(!at(
            &mut books,
            5 * SNAPSHOT_WAIT_NS,
            &push("update", "2", 20, 21)
        ));
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert_eq!(books.slots[0].keeper.stats().applied, 1);
    }

    proptest::proptest! {
        #[test]
        fn arbitrary_frames_are_counted_never_panics(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
            let mut books = Books::new(vec![Slot::new(&btc())]);
            books.on_frame(&bytes, 0, &mut |_| {});
            proptest::prop_assert_eq!(books.stats.frames, 1);
        }
    }
}
