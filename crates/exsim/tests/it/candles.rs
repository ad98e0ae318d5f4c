//! Candles end to end: for each venue, Kestrel's writer asks the simulated venue over HTTP,
//! the venue answers in its own format (its limits, bounds and order), and Kestrel's parser
//! reads back exactly the bars the engine was given.

use std::io::{Read as _, Write as _};
use std::net::TcpStream;
use std::time::Duration;

use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::bybit::BybitFront;
use kestrel_exsim::coinbase::CoinbaseFront;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, Keep, SymbolSpec};
use kestrel_exsim::kraken::KrakenFront;
use kestrel_exsim::okx::OkxFront;
use kestrel_exsim::server::{ExchangeServer, Front};
use kestrel_types::cex::{Candle, Fixed, Interval, Scale, Venue};
use kestrel_venues::auth::{
    ApiSecret, BinanceSigner, BybitSigner, CoinbaseSigner, KrakenSigner, OkxSigner,
};
use kestrel_venues::orders::{
    BinanceWriter, BybitWriter, CandleQuery, CoinbaseWriter, KrakenWriter, OkxWriter,
    RequestWriter, Scales, parse_candles,
};

/// A whole minute: 2023-11-14T22:14:00Z.
const T0_MS: u64 = 1_700_000_040_000;
const MINUTE_MS: u64 = 60_000;
const BARS: u64 = 30;

const COINBASE_KEY_NAME: &str = "organizations/exsim/apiKeys/0001";
const COINBASE_KEY_PEM: &str = "-----BEGIN EC PRIVATE KEY-----
MHcCAQEEIO4cSNYRN0a53Mz09JGv7InUGh5LB18tw0e7534F+WTzoAoGCCqGSM49
AwEHoUQDQgAEuwn6whmwSOdnpyBAAP1htobzy9KqhQBvtzrLNUBOaxbyGoOgNpb9
DeI0XHm5RoSfwgoGitalnm86l84KaYFZJA==
-----END EC PRIVATE KEY-----";
const KRAKEN_SECRET: &str =
    "kQH5HW/8p1uGOVjbgWA7FunAmGO8lsSUXNsu3eow76sz84Q18fWxnyRzBHCd3pd5nE9qa99HAZtuZuj6F1huXg==";

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

/// Prices to 0.01, sizes to 0.00000001.
fn scales() -> Scales {
    Scales {
        price: scale(2),
        size: scale(8),
    }
}

/// One venue under test: its symbol as the engine knows it, as the writer asks for it, the
/// front and the writer.
struct Case {
    venue: Venue,
    symbol: &'static str,
    asked_as: &'static str,
    front: Box<dyn Front>,
    writer: fn(&str) -> Box<dyn RequestWriter>,
}

fn cases() -> Vec<Case> {
    vec![
        Case {
            venue: Venue::Binance,
            symbol: "BTCUSDT",
            asked_as: "BTCUSDT",
            front: Box::new(BinanceFront::new(Vec::new())),
            writer: |host| {
                let signer = BinanceSigner::hmac("k", &ApiSecret::new("s")).expect("signer");
                Box::new(BinanceWriter::new(signer, host))
            },
        },
        Case {
            venue: Venue::Okx,
            symbol: "BTC-USDT",
            asked_as: "BTC-USDT",
            front: Box::new(OkxFront::new(Vec::new())),
            writer: |host| {
                let signer = OkxSigner::new("k", &ApiSecret::new("s"), &ApiSecret::new("p"))
                    .expect("signer");
                Box::new(OkxWriter::new(signer, host))
            },
        },
        Case {
            venue: Venue::Bybit,
            symbol: "BTCUSDT",
            asked_as: "BTCUSDT",
            front: Box::new(BybitFront::new(Vec::new())),
            writer: |host| {
                let signer = BybitSigner::new("k", &ApiSecret::new("s")).expect("signer");
                Box::new(BybitWriter::new(signer, host))
            },
        },
        // Asked for by its REST altname; the answer comes back under that name.
        Case {
            venue: Venue::Kraken,
            symbol: "BTC/USD",
            asked_as: "BTCUSD",
            front: Box::new(KrakenFront::new(Vec::new())),
            writer: |host| {
                let signer =
                    KrakenSigner::new("k", &ApiSecret::new(KRAKEN_SECRET)).expect("signer");
                Box::new(KrakenWriter::new(signer, host))
            },
        },
        Case {
            venue: Venue::Coinbase,
            symbol: "BTC-USD",
            asked_as: "BTC-USD",
            front: Box::new(CoinbaseFront::new(Vec::new())),
            writer: |host| {
                let signer =
                    CoinbaseSigner::from_pem(COINBASE_KEY_NAME, &ApiSecret::new(COINBASE_KEY_PEM))
                        .expect("signer");
                Box::new(CoinbaseWriter::new(signer, host))
            },
        },
    ]
}

/// `BARS` one-minute bars from `T0_MS`, every value distinct and using the scales' last digit.
fn history() -> Vec<Candle> {
    (0..BARS)
        .map(|i| {
            let base = 6_500_000 + i * 137;
            Candle {
                open_ms: T0_MS + i * MINUTE_MS,
                open: Fixed(base + 11),
                high: Fixed(base + 99),
                low: Fixed(base),
                close: Fixed(base + 42),
                volume: Fixed(123_456_789 + i),
            }
        })
        .collect()
}

fn venue(case: &mut Case, bars: &[Candle]) -> ExchangeServer {
    let assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(8),
        },
        AssetSpec {
            name: "USD".into(),
            scale: scale(10),
        },
    ];
    let symbols = vec![SymbolSpec {
        symbol: case.symbol.into(),
        base: "BTC".into(),
        quote: "USD".into(),
        price_scale: scale(2),
        size_scale: scale(8),
        tick: Fixed(1),
        lot: Fixed(1),
        min_size: Fixed(1),
        min_notional: 0,
        depth: 10,
    }];
    let mut ex = Exchange::new(case.venue, assets, symbols, FeeAsset::Quote).expect("exchange");
    // Given newest first: the engine keeps them by open time whatever the order.
    let mut given = bars.to_vec();
    given.reverse();
    ex.set_candles(case.symbol, Interval::M1, given);
    let front = std::mem::replace(&mut case.front, Box::new(BinanceFront::new(Vec::new())));
    ExchangeServer::start(ex, front, Duration::from_millis(50)).expect("server")
}

/// One request on a fresh connection: (status, body).
fn send(server: &ExchangeServer, request: &[u8]) -> (u16, Vec<u8>) {
    let mut stream = TcpStream::connect(server.addr()).expect("connect");
    stream
        .set_read_timeout(Some(Duration::from_secs(5)))
        .expect("timeout");
    stream.write_all(request).expect("write");
    let mut response = Vec::new();
    let mut chunk = [0u8; 16_384];
    loop {
        let n = stream.read(&mut chunk).expect("read");
        response.extend_from_slice(&chunk[..n]);
        if let Some(end) = response.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&response[..end]).to_string();
            let length: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("Content-Length: "))
                .and_then(|v| v.parse().ok())
                .expect("length");
            let body = &response[end + 4..];
            if body.len() >= length {
                let status = head.split(' ').nth(1).and_then(|s| s.parse().ok());
                return (status.expect("status"), body[..length].to_vec());
            }
        }
        assert!(n > 0, "closed early");
    }
}

/// Writes the query, sends it, parses the answer.
fn fetch(
    server: &ExchangeServer,
    writer: &dyn RequestWriter,
    query: &CandleQuery<'_>,
) -> Vec<Candle> {
    let mut request = Vec::new();
    writer.candles(query, &mut request).expect("writes");
    let (status, body) = send(server, &request);
    parse_candles(writer.venue(), status, &body, scales()).unwrap_or_else(|e| {
        panic!(
            "{}: {e}: {}",
            writer.venue(),
            String::from_utf8_lossy(&body)
        )
    })
}

#[test]
fn every_venue_serves_back_exactly_the_candles_it_was_given() {
    let bars = history();
    let last_ms = T0_MS + (BARS - 1) * MINUTE_MS;
    for mut case in cases() {
        let server = venue(&mut case, &bars);
        let writer = (case.writer)(&server.addr().to_string());
        let venue = case.venue;
        let query = |start_ms, end_ms, limit| CandleQuery {
            symbol: case.asked_as,
            interval: Interval::M1,
            start_ms: Some(start_ms),
            end_ms: Some(end_ms),
            limit,
        };

        // The whole history, in order, exactly.
        let all = fetch(&server, writer.as_ref(), &query(T0_MS, last_ms, 30));
        assert_eq!(all, bars, "{venue}: the whole history");

        // A window in the middle. Kraken takes no end: it answers from the start on.
        let window = fetch(
            &server,
            writer.as_ref(),
            &query(T0_MS + 5 * MINUTE_MS, T0_MS + 9 * MINUTE_MS, 30),
        );
        let expected = if venue == Venue::Kraken {
            &bars[5..]
        } else {
            &bars[5..10]
        };
        assert_eq!(window, expected, "{venue}: a window");

        // A start between bars opens at the next one.
        let unaligned = fetch(&server, writer.as_ref(), &query(T0_MS + 1, last_ms, 30));
        assert_eq!(unaligned, &bars[1..], "{venue}: an unaligned start");

        // A limit keeps the first bars from the start on Binance, the latest elsewhere;
        // Kraken takes none.
        let limited = fetch(&server, writer.as_ref(), &query(T0_MS, last_ms, 3));
        let expected = match venue {
            Venue::Binance => &bars[..3],
            Venue::Kraken => &bars[..],
            _ => &bars[bars.len() - 3..],
        };
        assert_eq!(limited, expected, "{venue}: a limit");

        // Nothing was set for another interval.
        let hours = CandleQuery {
            interval: Interval::H1,
            ..query(T0_MS, last_ms, 30)
        };
        assert_eq!(
            fetch(&server, writer.as_ref(), &hours),
            vec![],
            "{venue}: 1h"
        );

        // A bar pushed later (a new minute) is served with the rest.
        let next = Candle {
            open_ms: last_ms + MINUTE_MS,
            ..bars[0]
        };
        server.with_exchange(|ex| ex.push_candle(case.symbol, Interval::M1, next));
        let grown = fetch(
            &server,
            writer.as_ref(),
            &query(last_ms, last_ms + MINUTE_MS, 30),
        );
        assert_eq!(
            grown,
            vec![bars[bars.len() - 1], next],
            "{venue}: a pushed bar"
        );
        server.stop();
    }
}

#[test]
fn an_unknown_symbol_is_refused_in_the_venue_s_way() {
    for mut case in cases() {
        let server = venue(&mut case, &history());
        let writer = (case.writer)(&server.addr().to_string());
        let query = CandleQuery {
            symbol: "NOPE-NOPE",
            interval: Interval::M1,
            start_ms: Some(T0_MS),
            end_ms: Some(T0_MS + MINUTE_MS),
            limit: 10,
        };
        let mut request = Vec::new();
        writer.candles(&query, &mut request).expect("writes");
        let (status, body) = send(&server, &request);
        let error = parse_candles(case.venue, status, &body, scales()).expect_err("refused");
        assert_eq!(error.venue, case.venue);
        assert!(!error.is_retryable(), "{}: {error}", case.venue);
        server.stop();
    }
}

#[test]
fn the_engine_keeps_candles_by_open_time_within_its_limit() {
    let mut case = cases().remove(0);
    let bars = history();
    let server = venue(&mut case, &bars);
    server.with_exchange(|ex| {
        let all = ex.candles(case.symbol, Interval::M1, 0..=u64::MAX, 100, Keep::Earliest);
        assert_eq!(all, bars);
        // A bar at a known open time replaces it (a bar still forming).
        let revised = Candle {
            close: Fixed(1),
            low: Fixed(1),
            ..bars[4]
        };
        ex.push_candle(case.symbol, Interval::M1, revised);
        let window = ex.candles(
            case.symbol,
            Interval::M1,
            bars[3].open_ms..=bars[5].open_ms,
            10,
            Keep::Latest,
        );
        assert_eq!(window, vec![bars[3], revised, bars[5]]);
        assert_eq!(
            ex.candles("NOPE", Interval::M1, 0..=u64::MAX, 10, Keep::Latest),
            vec![]
        );
        // Past the cap the oldest go.
        let many: Vec<Candle> = (0..kestrel_exsim::engine::MAX_CANDLES as u64 + 5)
            .map(|i| Candle {
                open_ms: i * MINUTE_MS,
                ..bars[0]
            })
            .collect();
        ex.set_candles(case.symbol, Interval::M5, many);
        let kept = ex.candles(
            case.symbol,
            Interval::M5,
            0..=u64::MAX,
            usize::MAX,
            Keep::Earliest,
        );
        assert_eq!(kept.len(), kestrel_exsim::engine::MAX_CANDLES);
        assert_eq!(kept[0].open_ms, 5 * MINUTE_MS);
    });
    server.stop();
}
