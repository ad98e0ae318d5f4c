//! Kraken spot market data, WebSocket v2: one connection at `/v2` carrying every configured
//! symbol's `book` channel, each symbol's book kept by [`KrakenBook`].
//!
//! Kraken sends a snapshot on subscribe and then updates, with no sequence numbers: a lost
//! update shows only as a later update's checksum disagreeing with ours. The connection, the
//! resubscriptions that rebuild a book and the keep-alive are a [`ResubscribeFeed`]'s; this
//! module says what Kraken's frames, books and requests are.
//!
//! **Invariant:** a book is quoted from only once a snapshot was applied on the connection
//! now open, and not since cleared (see [`super::resubscribe`]).

use kestrel_types::cex::{Scale, Venue};
use kestrel_venues::book::Book;
use kestrel_venues::sync::Outcome;
use kestrel_venues::sync::kraken::{KrakenBook, KrakenBookConfig, KrakenDepth};
use kestrel_wire::cex::CexError;
use kestrel_wire::cex::kraken::{KrakenBookKind, KrakenBookMsg, KrakenFrame, parse_kraken};

use super::resubscribe::{
    FeedEvent, ResubscribeFeed, ResubscribeFeedConfig, ResubscribeVenue, push_json_string,
};

/// One symbol to follow.
#[derive(Clone, Debug)]
pub struct KrakenSymbol {
    /// The venue's WebSocket name (`"BTC/USD"`).
    pub symbol: String,
    /// Levels a side subscribed to, and kept.
    pub depth: KrakenDepth,
    /// The pair's `price_precision`: the book's price scale and the checksum's price digits.
    pub price_precision: Scale,
    /// The pair's `qty_precision`: the book's size scale and the checksum's size digits.
    pub qty_precision: Scale,
}

/// Where and what to subscribe to: `ws_url` without the `/v2` path, the ping Kraken's
/// `{"method":"ping"}`.
pub type KrakenFeedConfig = ResubscribeFeedConfig<KrakenSymbol>;

/// A Kraken market-data connection and its books.
pub type KrakenFeed = ResubscribeFeed<KrakenProtocol>;

/// Kraken's WebSocket v2 `book` channel, as a [`ResubscribeFeed`] reads it.
#[derive(Debug)]
pub enum KrakenProtocol {}

impl ResubscribeVenue for KrakenProtocol {
    const VENUE: Venue = Venue::Kraken;
    const PATH: &'static str = "/v2";
    /// The application-level ping Kraken answers with a `pong`.
    const PING: &'static [u8] = br#"{"method":"ping"}"#;
    type Symbol = KrakenSymbol;
    type Keeper = KrakenBook;
    type Msg<'a> = KrakenBookMsg<'a>;

    fn name(symbol: &KrakenSymbol) -> &str {
        &symbol.symbol
    }

    fn keeper(symbol: &KrakenSymbol) -> KrakenBook {
        KrakenBook::new(KrakenBookConfig {
            depth: symbol.depth,
            price_precision: symbol.price_precision,
            qty_precision: symbol.qty_precision,
        })
    }

    /// `{"method":"<method>","params":{"channel":"book","symbol":["<symbol>"],"depth":<depth>}}`.
    fn request(method: &str, symbol: &KrakenSymbol) -> String {
        use std::fmt::Write as _;
        let mut out = format!(r#"{{"method":"{method}","params":{{"channel":"book","symbol":["#);
        push_json_string(&mut out, &symbol.symbol);
        // Writing to a String cannot fail.
        let _ = write!(out, r#"],"depth":{}}}}}"#, symbol.depth.levels());
        out
    }

    fn decode(frame: &[u8]) -> Result<FeedEvent<KrakenBookMsg<'_>>, CexError> {
        Ok(match parse_kraken(frame)? {
            KrakenFrame::Book(msg) => FeedEvent::Book(msg),
            KrakenFrame::Pong { .. } => FeedEvent::Pong,
            KrakenFrame::Reply(reply) if !reply.success => FeedEvent::Refusal,
            _ => FeedEvent::Other,
        })
    }

    fn symbol<'m>(msg: &'m KrakenBookMsg<'_>) -> &'m [u8] {
        msg.symbol
    }

    fn is_update(msg: &KrakenBookMsg<'_>) -> bool {
        msg.kind == KrakenBookKind::Update
    }

    fn apply(keeper: &mut KrakenBook, msg: &KrakenBookMsg<'_>) -> Outcome {
        keeper.on_book(msg)
    }

    fn book(keeper: &KrakenBook) -> &Book {
        keeper.book()
    }

    fn is_synced(keeper: &KrakenBook) -> bool {
        keeper.is_synced()
    }

    fn sync_stats(keeper: &KrakenBook) -> kestrel_venues::sync::SyncStats {
        keeper.stats()
    }
}

#[cfg(test)]
mod tests {
    use kestrel_types::cex::{BookSide, Fixed};
    use kestrel_venues::sync::kraken::kraken_checksum;

    use super::*;
    use crate::cex::{SNAPSHOT_WAIT_NS, resubscribe};

    type Books = resubscribe::Books<KrakenProtocol>;
    type Slot = resubscribe::Slot<KrakenProtocol>;

    fn scale(d: u8) -> Scale {
        Scale::new(d).expect("scale")
    }

    fn btc() -> KrakenSymbol {
        KrakenSymbol {
            symbol: "BTC/USD".into(),
            depth: KrakenDepth::D10,
            price_precision: scale(1),
            qty_precision: scale(8),
        }
    }

    /// A `book` message of `kind` with one bid, and the checksum of a book holding just it
    /// (off by one when `corrupt`).
    fn book_frame(kind: &str, price: u64, qty: u64, corrupt: bool) -> String {
        let mut book = Book::new(10, scale(1), scale(8));
        book.set(BookSide::Bid, Fixed(price), Fixed(qty));
        let sum = kraken_checksum(&book, scale(1), scale(8), &mut String::new());
        let sum = if corrupt { sum ^ 1 } else { sum };
        let (mut p, mut q) = (String::new(), String::new());
        Fixed(price).write(scale(1), &mut p);
        Fixed(qty).write(scale(8), &mut q);
        format!(
            r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":[{{"price":{p},"qty":{q}}}],"asks":[],"checksum":{sum}}}]}}"#
        )
    }

    fn feed_frame(books: &mut Books, frame: &str) -> Vec<usize> {
        let mut changed = Vec::new();
        books.on_frame(frame.as_bytes(), 7, &mut |i| changed.push(i));
        changed
    }

    #[test]
    fn requests_are_krakens_json() {
        assert_eq!(
            Slot::new(&btc()).subscribe,
            r#"{"method":"subscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}"#
        );
        assert_eq!(
            Slot::new(&btc()).unsubscribe,
            r#"{"method":"unsubscribe","params":{"channel":"book","symbol":["BTC/USD"],"depth":10}}"#
        );
        let mut out = String::new();
        push_json_string(&mut out, "a\"b\\c\n");
        assert_eq!(out, r#""a\"b\\c\u000a""#);
    }

    #[test]
    fn updates_apply_only_after_this_connections_snapshot() {
        let mut books = Books::new(vec![Slot::new(&btc())]);
        // The keeper could hold a previous connection's book: an early update is not applied.
        assert!(feed_frame(&mut books, &book_frame("update", 1_000, 100, false)).is_empty());
        assert_eq!(books.slots[0].keeper.stats().applied, 0);
        assert_eq!(
            feed_frame(&mut books, &book_frame("snapshot", 1_000, 100, false)),
            [0]
        );
        assert!(books.slots[0].fresh && books.slots[0].keeper.is_synced());
        assert!(!books.slots[0].liveness.is_stale(7, 0));
        assert_eq!(
            feed_frame(&mut books, &book_frame("update", 1_000, 200, false)),
            [0]
        );
        // A checksum that disagrees clears the book and asks for a resubscribe.
        assert!(feed_frame(&mut books, &book_frame("update", 1_000, 300, true)).is_empty());
        let slot = &books.slots[0];
        assert!(slot.resubscribe && !slot.fresh && !slot.keeper.is_synced());
        assert_eq!(slot.keeper.stats().checksum_failures, 1);
        // Another symbol's messages, pongs, refusals and garbage touch no book.
        let other = book_frame("snapshot", 1_000, 100, false).replace("BTC/USD", "ETH/USD");
        assert!(feed_frame(&mut books, &other).is_empty());
        feed_frame(&mut books, r#"{"method":"pong","req_id":1}"#);
        feed_frame(
            &mut books,
            r#"{"method":"subscribe","success":false,"error":"Currency pair not supported"}"#,
        );
        feed_frame(&mut books, "{\"channel\":");
        assert_eq!((books.pongs, books.refusals), (1, 1));
        assert_eq!((books.stats.frames, books.stats.malformed), (8, 1));
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
        let update = book_frame("update", 1_000, 100, false);
        // The old subscription's updates, in flight after a resubscribe: the normal order.
        assert!(!at(&mut books, 1_000_000, &update));
        assert!(!at(&mut books, SNAPSHOT_WAIT_NS - 1, &update));
        // Still updates, and no snapshot a whole wait after the subscription: it was lost.
        assert!(at(&mut books, SNAPSHOT_WAIT_NS, &update));
        assert!(!books.slots[0].fresh);
        // The new subscription's snapshot syncs the book; its updates apply.
        books.slots[0].resubscribe = false;
        books.slots[0].subscribed_ns = subscribed_ns + SNAPSHOT_WAIT_NS;
        let snapshot = book_frame("snapshot", 1_000, 100, false);
        assert!(!at(&mut books, SNAPSHOT_WAIT_NS + 1, &snapshot));
        let later = book_frame("update", 1_000, 200, false);
        assert!(!at(&mut books, 5 * SNAPSHOT_WAIT_NS, &later));
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
