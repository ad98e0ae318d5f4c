//! Candles in the journal: written as exact decimal text at the symbol's scales, read back
//! exactly, a bar written again replacing the old one, and a v5 journal upgraded in place.

use kestrel_store::{CandleRow, Journal, Record, StoreError, open_readonly};
use kestrel_types::cex::{Candle, Fixed, Interval, Scale, Venue};
use rusqlite::Connection;

use crate::fixtures::{RUN, record};

const T0_MS: u64 = 1_700_000_040_000;
const MINUTE_MS: u64 = 60_000;

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

/// `n` one-minute bars; prices at 2 digits, volume at 8, the last bar's volume near `u64::MAX`.
fn bars(n: u64) -> Vec<Candle> {
    (0..n)
        .map(|i| Candle {
            open_ms: T0_MS + i * MINUTE_MS,
            open: Fixed(6_500_001 + i),
            high: Fixed(6_500_900 + i),
            low: Fixed(6_499_000 + i),
            close: Fixed(6_500_042 + i),
            volume: Fixed(if i + 1 == n {
                u64::MAX
            } else {
                100_000_001 + i
            }),
        })
        .collect()
}

fn candles_record(run_id: &str, venue: Venue, interval: Interval, candles: Vec<Candle>) -> Record {
    Record::Candles {
        run_id: run_id.into(),
        venue,
        symbol: "BTCUSDT".into(),
        interval,
        price_scale: scale(2),
        size_scale: scale(8),
        candles,
    }
}

fn rows(run_id: &str, candles: &[Candle]) -> Vec<CandleRow> {
    candles
        .iter()
        .map(|c| CandleRow {
            candle: *c,
            price_scale: scale(2),
            size_scale: scale(8),
            run_id: run_id.into(),
        })
        .collect()
}

fn count(path: &std::path::Path) -> i64 {
    Connection::open(path)
        .unwrap()
        .query_row("SELECT COUNT(*) FROM candles", [], |r| r.get(0))
        .unwrap()
}

#[test]
fn candles_round_trip_exactly_and_by_time_range() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    let written = bars(10);
    let mut shuffled = written.clone();
    shuffled.reverse();
    shuffled.swap(2, 7);
    let h = journal.handle();
    h.append(candles_record(
        "run-1",
        Venue::Binance,
        Interval::M1,
        shuffled,
    ))
    .unwrap();
    // The same open times under another venue and another interval are other bars.
    h.append(candles_record("run-1", Venue::Okx, Interval::M1, bars(3)))
        .unwrap();
    h.append(candles_record(
        "run-1",
        Venue::Binance,
        Interval::M5,
        bars(2),
    ))
    .unwrap();
    let stats = journal.close().unwrap();
    assert_eq!((stats.candles, stats.failed), (3, 0));

    let reader = open_readonly(&path).unwrap();
    let all = reader
        .candles(Venue::Binance, "BTCUSDT", Interval::M1, 0, u64::MAX)
        .unwrap();
    assert_eq!(all, rows("run-1", &written));
    let window = reader
        .candles(
            Venue::Binance,
            "BTCUSDT",
            Interval::M1,
            T0_MS + 2 * MINUTE_MS,
            T0_MS + 4 * MINUTE_MS,
        )
        .unwrap();
    assert_eq!(window, rows("run-1", &written[2..5]));
    assert_eq!(
        reader
            .candles(Venue::Okx, "BTCUSDT", Interval::M1, 0, u64::MAX)
            .unwrap()
            .len(),
        3
    );
    assert_eq!(
        reader
            .candles(Venue::Binance, "BTCUSDT", Interval::M5, 0, u64::MAX)
            .unwrap()
            .len(),
        2
    );
    assert!(
        reader
            .candles(Venue::Binance, "ETHUSDT", Interval::M1, 0, u64::MAX)
            .unwrap()
            .is_empty()
    );
    // Stored as decimal text with exactly the scale's digits.
    let text: (String, String) = Connection::open(&path)
        .unwrap()
        .query_row(
            "SELECT open, volume FROM candles WHERE venue = 'binance' AND interval = '1m'
             ORDER BY open_ms DESC LIMIT 1",
            [],
            |r| Ok((r.get(0)?, r.get(1)?)),
        )
        .unwrap();
    assert_eq!(text, ("65000.10".into(), "184467440737.09551615".into()));
}

#[test]
fn a_bar_written_again_replaces_the_journaled_one() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let first = bars(5);
    let journal = Journal::open(&path, 8).unwrap();
    journal
        .handle()
        .append(candles_record(
            "run-1",
            Venue::Kraken,
            Interval::H1,
            first.clone(),
        ))
        .unwrap();
    journal.close().unwrap();

    // A later run fetches an overlapping page: the same bars, and the last one revised (it
    // was still forming when first fetched), and one new bar.
    let mut revised = first[4];
    revised.close = Fixed(6_500_900);
    revised.volume = Fixed(7);
    let next = Candle {
        open_ms: T0_MS + 5 * MINUTE_MS,
        ..first[0]
    };
    let page = vec![first[3], revised, next];
    let journal = Journal::open(&path, 8).unwrap();
    let h = journal.handle();
    h.append(candles_record(
        "run-2",
        Venue::Kraken,
        Interval::H1,
        page.clone(),
    ))
    .unwrap();
    // The very same page again changes nothing.
    h.append(candles_record("run-2", Venue::Kraken, Interval::H1, page))
        .unwrap();
    assert_eq!(journal.close().unwrap().failed, 0);

    assert_eq!(count(&path), 6);
    let reader = open_readonly(&path).unwrap();
    let all = reader
        .candles(Venue::Kraken, "BTCUSDT", Interval::H1, 0, u64::MAX)
        .unwrap();
    let mut expected = rows("run-1", &first[..3]);
    expected.extend(rows("run-2", &[first[3], revised, next]));
    assert_eq!(all, expected);
}

#[test]
fn a_v5_journal_upgrades_and_takes_candles() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    (0..4).for_each(|i| journal.handle().append(record(0, i)).unwrap());
    journal.close().unwrap();
    crate::fixtures::downgrade_to(&path, 5);
    assert!(matches!(
        open_readonly(&path),
        Err(StoreError::SchemaMismatch { found: 5, .. })
    ));

    let journal = Journal::open(&path, 8).unwrap();
    journal
        .handle()
        .append(candles_record(RUN, Venue::Bybit, Interval::D1, bars(3)))
        .unwrap();
    assert_eq!(journal.close().unwrap().candles, 1);

    let reader = open_readonly(&path).unwrap();
    assert_eq!(
        reader
            .candles(Venue::Bybit, "BTCUSDT", Interval::D1, 0, u64::MAX)
            .unwrap(),
        rows(RUN, &bars(3))
    );
    // The rows written before the upgrade are still there.
    assert_eq!(reader.candidates(RUN).unwrap().len(), 1);
}

#[test]
fn a_damaged_candle_row_is_reported_not_misread() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, 8).unwrap();
    journal
        .handle()
        .append(candles_record(RUN, Venue::Coinbase, Interval::M15, bars(2)))
        .unwrap();
    journal.close().unwrap();
    let conn = Connection::open(&path).unwrap();
    for (column, value) in [("close", "65000.1"), ("volume", "1e5"), ("open", "-1.00")] {
        conn.execute(
            &format!("UPDATE candles SET {column} = ?1 WHERE open_ms = ?2"),
            rusqlite::params![value, T0_MS],
        )
        .unwrap();
        let err = open_readonly(&path)
            .unwrap()
            .candles(Venue::Coinbase, "BTCUSDT", Interval::M15, 0, u64::MAX)
            .unwrap_err();
        assert!(
            matches!(
                err,
                StoreError::Corrupt {
                    table: "candles",
                    ..
                }
            ),
            "{column}: {err:?}"
        );
        conn.execute(
            &format!("UPDATE candles SET {column} = ?1 WHERE open_ms = ?2"),
            rusqlite::params![
                match column {
                    "close" => "65000.42",
                    "volume" => "1.00000001",
                    _ => "65000.01",
                },
                T0_MS
            ],
        )
        .unwrap();
    }
    let reader = open_readonly(&path).unwrap();
    assert_eq!(
        reader
            .candles(Venue::Coinbase, "BTCUSDT", Interval::M15, 0, u64::MAX)
            .unwrap(),
        rows(RUN, &bars(2))
    );
}
