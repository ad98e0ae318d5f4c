//! A subscription's snapshot that never arrives whole (a frame that does not decode, or one the
//! client drops as too big) no longer leaves a book dead for good: the OKX, Kraken and Bybit
//! feeds see updates still coming with no snapshot before them, resubscribe, and sync from the
//! new subscription's snapshot. The old subscription's updates that arrive after a resubscribe,
//! before its snapshot, are the normal order and resubscribe nothing.

use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::{Duration, Instant};

use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::bybit::{BybitFeed, BybitFeedConfig, BybitSymbol};
use kestrel_hot::cex::kraken::{KrakenFeed, KrakenFeedConfig, KrakenSymbol};
use kestrel_hot::cex::okx::{OkxFeed, OkxFeedConfig, OkxSymbol};
use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::Book;
use kestrel_venues::sync::kraken::{KrakenDepth, kraken_checksum};
use tungstenite::Message;

use crate::feed_support::poll_until;

/// How often the fake venue publishes an update.
const UPDATE_EVERY: Duration = Duration::from_millis(20);

/// What one fake venue says: the book at step `n` as a whole snapshot, and as the update that
/// takes step `n - 1` to step `n`.
struct Script {
    snapshot: fn(u64) -> String,
    update: fn(u64) -> String,
}

/// What the fake venue counted, read by the test.
#[derive(Default)]
struct Heard {
    subscribes: AtomicU64,
    unsubscribes: AtomicU64,
}

/// A one-connection venue that publishes an update every [`UPDATE_EVERY`] from the start,
/// answers the first subscribe with its snapshot cut short (it does not decode) and every
/// later one with a whole snapshot; after each unsubscribe it still sends two updates first,
/// as the old subscription's pushes in flight do. Returns the `ws://` URL.
fn lossy_venue(script: Script) -> (String, Arc<Heard>) {
    let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
    let url = format!("ws://{}", listener.local_addr().expect("addr"));
    let heard = Arc::new(Heard::default());
    let counts = Arc::clone(&heard);
    std::thread::spawn(move || {
        let Ok((stream, _)) = listener.accept() else {
            return;
        };
        let _ = stream.set_read_timeout(Some(Duration::from_millis(5)));
        let Ok(mut ws) = tungstenite::accept(stream) else {
            return;
        };
        let mut step = 1u64;
        let mut next_update = Instant::now() + UPDATE_EVERY;
        loop {
            let mut out = Vec::new();
            match ws.read() {
                Ok(Message::Text(text)) if text.contains("\"unsubscribe\"") => {
                    counts.unsubscribes.fetch_add(1, Ordering::SeqCst);
                    for _ in 0..2 {
                        step += 1;
                        out.push((script.update)(step));
                    }
                }
                Ok(Message::Text(text)) if text.contains("\"subscribe\"") => {
                    let mut snapshot = (script.snapshot)(step);
                    if counts.subscribes.fetch_add(1, Ordering::SeqCst) == 0 {
                        snapshot.truncate(snapshot.len() / 2);
                    }
                    out.push(snapshot);
                }
                Ok(_) => {}
                Err(tungstenite::Error::Io(e))
                    if matches!(
                        e.kind(),
                        std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut
                    ) => {}
                Err(_) => return,
            }
            if Instant::now() >= next_update {
                next_update += UPDATE_EVERY;
                step += 1;
                out.push((script.update)(step));
            }
            for text in out {
                if ws.send(Message::text(text)).is_err() {
                    return;
                }
            }
        }
    });
    (url, heard)
}

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

/// Poll `feed` until `synced`, then on for a while: the book keeps applying updates and no
/// more resubscribes come.
fn sync_and_stay<F: VenueFeed>(feed: &mut F, what: &str, synced: impl Fn(&F) -> bool) {
    poll_until(feed, what, &synced);
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        feed.poll(kestrel_stdx::mono_ns(), &mut |_| {});
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(synced(feed), "{what}: still synced");
}

/// OKX `books`: one bid whose size is the step, chained by `seqId` = step.
fn okx_push(action: &str, step: u64) -> String {
    let prev = if action == "snapshot" {
        -1
    } else {
        step as i64 - 1
    };
    format!(
        r#"{{"arg":{{"channel":"books","instId":"BTC-USDT"}},"action":"{action}","data":[{{"asks":[["101","1","0","1"]],"bids":[["100.5","{step}","0","1"]],"ts":"1","checksum":0,"prevSeqId":{prev},"seqId":{step}}}]}}"#
    )
}

#[test]
fn okx_resubscribes_a_book_whose_snapshot_was_lost() {
    let (url, heard) = lossy_venue(Script {
        snapshot: |n| okx_push("snapshot", n),
        update: |n| okx_push("update", n),
    });
    let mut feed = OkxFeed::new(OkxFeedConfig {
        ws_url: url,
        symbols: vec![OkxSymbol {
            inst_id: "BTC-USDT".into(),
            price_scale: scale(1),
            size_scale: scale(0),
            capacity: 400,
        }],
        stale_after_ms: 60_000,
        ping_every_ms: 20_000,
    });
    let started = Instant::now();
    sync_and_stay(&mut feed, "synced from the second subscription", |f| {
        f.is_synced(0)
    });
    recovered_once(started, feed.stats().malformed, feed.resubscribes(), &heard);
    let keeper = feed.book(0).expect("book");
    assert_eq!(keeper.stats().snapshots, 1);
    assert!(
        keeper.stats().applied > 0,
        "updates apply after the snapshot"
    );
    assert_eq!(keeper.stats().resyncs, 0);
    assert_eq!(feed.stats().connects, 1);
}

/// What every venue's feed must show after [`lossy_venue`]: it resubscribed once, only once
/// the snapshot was overdue (the old subscription's updates resubscribe nothing), and counted
/// the lost snapshot as malformed.
fn recovered_once(started: Instant, malformed: u64, resubscribes: u64, heard: &Heard) {
    assert!(
        started.elapsed() >= Duration::from_millis(900),
        "resubscribed only once the snapshot was overdue"
    );
    assert_eq!(malformed, 1, "the lost snapshot");
    assert_eq!(
        resubscribes, 1,
        "the old subscription's updates resubscribe nothing"
    );
    assert_eq!(heard.subscribes.load(Ordering::SeqCst), 2);
    assert_eq!(heard.unsubscribes.load(Ordering::SeqCst), 1);
}

/// Kraken `book`: one bid whose size is the step, with the checksum of that book.
fn kraken_book(kind: &str, step: u64) -> String {
    let mut book = Book::new(10, scale(1), scale(0));
    book.set(BookSide::Bid, Fixed(1_005), Fixed(step));
    let checksum = kraken_checksum(&book, scale(1), scale(0), &mut String::new());
    format!(
        r#"{{"channel":"book","type":"{kind}","data":[{{"symbol":"BTC/USD","bids":[{{"price":100.5,"qty":{step}}}],"asks":[],"checksum":{checksum}}}]}}"#
    )
}

#[test]
fn kraken_resubscribes_a_book_whose_snapshot_was_lost() {
    let (url, heard) = lossy_venue(Script {
        snapshot: |n| kraken_book("snapshot", n),
        update: |n| kraken_book("update", n),
    });
    let mut feed = KrakenFeed::new(KrakenFeedConfig {
        ws_url: url,
        symbols: vec![KrakenSymbol {
            symbol: "BTC/USD".into(),
            depth: KrakenDepth::D10,
            price_precision: scale(1),
            qty_precision: scale(0),
        }],
        stale_after_ms: 60_000,
        ping_every_ms: 20_000,
    });
    let started = Instant::now();
    sync_and_stay(&mut feed, "synced from the second subscription", |f| {
        f.is_synced(0)
    });
    recovered_once(started, feed.stats().malformed, feed.resubscribes(), &heard);
    let keeper = feed.book(0).expect("book");
    assert_eq!(keeper.stats().snapshots, 1);
    assert!(
        keeper.stats().applied > 0,
        "updates apply after the snapshot"
    );
    assert_eq!(keeper.stats().resyncs, 0, "every checksum agreed");
}

/// Bybit `orderbook.50`: one bid whose size is the step, update id = step.
fn bybit_depth(kind: &str, step: u64) -> String {
    format!(
        r#"{{"topic":"orderbook.50.BTCUSDT","ts":1,"type":"{kind}","data":{{"s":"BTCUSDT","b":[["100.5","{step}"]],"a":[["101","1"]],"u":{step},"seq":{step}}},"cts":1}}"#
    )
}

#[test]
fn bybit_resubscribes_a_topic_whose_snapshot_was_lost() {
    let (url, heard) = lossy_venue(Script {
        snapshot: |n| bybit_depth("snapshot", n),
        update: |n| bybit_depth("delta", n),
    });
    let mut feed = BybitFeed::new(BybitFeedConfig {
        ws_url: url,
        symbols: vec![BybitSymbol {
            symbol: "BTCUSDT".into(),
            price_scale: scale(1),
            size_scale: scale(0),
            depth: 50,
            capacity: 70,
        }],
        stale_after_ms: 60_000,
        ping_every_ms: 20_000,
    });
    let started = Instant::now();
    sync_and_stay(&mut feed, "synced from the second subscription", |f| {
        f.is_live(0, kestrel_stdx::mono_ns())
    });
    recovered_once(started, feed.stats().malformed, feed.resubscribes(), &heard);
    let stats = feed.sync_stats(0).expect("symbol 0");
    assert_eq!(stats.snapshots, 1);
    assert!(stats.applied > 0, "deltas apply after the snapshot");
    assert_eq!(stats.gaps, 0);
}
