//! Exchange feed decode throughput, one core: frames decoded per second per venue, and
//! decoded-and-applied to a book. `cargo bench -p kestrel-benches --bench cex`.
//!
//! Frames, from `$KESTREL_DATA_DIR/cex-ws` (a venue without its files is skipped with a line):
//! - Binance: the real recorded session's `depthUpdate` and `bookTicker` frames
//!   (`cryptofeed/BINANCE.ws.1.0`); a synthetic frame of the same shape when it is absent;
//! - OKX: the real recorded `books`, `tickers` and `trades` frames (`cryptofeed/OKX.ws.1.0`);
//! - Bybit: the real `orderbook.500` snapshot and deltas (`nautilus/bybit/..._ob500.data`);
//! - Kraken v2 and Coinbase Advanced Trade: the documented example frames (no recording of
//!   either current API exists in the data folder).
//!
//! Also the per-update checksum cost of Kraken (top 10) and OKX (top 25) over a full book.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::Book;
use kestrel_venues::sync::kraken::kraken_checksum;
use kestrel_venues::sync::okx::okx_checksum;
use kestrel_wire::cex::bybit::parse_bybit;
use kestrel_wire::cex::coinbase::parse_coinbase;
use kestrel_wire::cex::kraken::parse_kraken;
use kestrel_wire::cex::okx::parse_okx;
use kestrel_wire::cex::{BinanceMsg, parse_binance};

fn binance_frames() -> Vec<String> {
    let recorded =
        kestrel_stdx::testdata::data_file("bench cex", "cex-ws/cryptofeed/BINANCE.ws.1.0")
            .and_then(|p| std::fs::read_to_string(p).ok());
    let Some(text) = recorded else {
        return vec![
            r#"{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":1633998512568,"s":"NKNUSDT","U":499869753,"u":499869754,"b":[["0.35170000","4265.00000000"]],"a":[["0.35290000","10968.00000000"]]}}"#.to_string(),
        ];
    };
    text.lines()
        .skip(1)
        .filter_map(|l| l.split_once(": ").map(|(_, json)| json.to_string()))
        .filter(|json| json.contains("depthUpdate") || json.contains("bookTicker"))
        .collect()
}

fn binance(c: &mut Criterion) {
    let frames = binance_frames();
    let bytes: usize = frames.iter().map(String::len).sum();
    eprintln!(
        "binance: {} frames, mean {} bytes",
        frames.len(),
        bytes / frames.len()
    );
    let mut group = c.benchmark_group("cex/binance");
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            frames
                .iter()
                .filter(|f| parse_binance(black_box(f.as_bytes())).is_ok())
                .count()
        })
    });
    let scale = Scale::new(8).expect("scale");
    let mut book = Book::new(1000, scale, scale);
    group.bench_function("decode+apply", |b| {
        b.iter(|| {
            for f in &frames {
                if let Ok(frame) = parse_binance(black_box(f.as_bytes()))
                    && let BinanceMsg::Depth(d) = frame.msg
                {
                    for (side, levels) in [(BookSide::Bid, d.bids), (BookSide::Ask, d.asks)] {
                        let _ = levels.for_each(|p, q| {
                            if let (Ok(p), Ok(q)) = (Fixed::parse(p, scale), Fixed::parse(q, scale))
                            {
                                book.set(side, p, q);
                            }
                            Ok(())
                        });
                    }
                }
            }
            book.bids().len()
        })
    });
    group.finish();
}

fn data(relative: &str) -> Option<String> {
    let path = kestrel_stdx::testdata::data_file("bench cex", relative)?;
    std::fs::read_to_string(path).ok()
}

/// The JSON of each received `<ts>: <json>` line of a cryptofeed recording (not the
/// `<url> <- <ts>: ..` requests the client sent).
fn recorded_lines(text: &str) -> Vec<String> {
    text.lines()
        .filter(|l| !l.contains(" <- ") && !l.contains(" <-> "))
        .filter_map(|l| l.split_once(": ").map(|(_, json)| json.to_string()))
        .filter(|json| json.starts_with('{'))
        .collect()
}

/// Documented example frames, compacted onto one line as a venue sends them.
fn fixtures(venue: &str, names: &[&str]) -> Vec<String> {
    names
        .iter()
        .filter_map(|name| data(&format!("cex-ws/nautilus/{venue}/{name}")))
        .filter_map(|text| serde_json::from_str::<serde_json::Value>(&text).ok())
        .map(|value| value.to_string())
        .collect()
}

fn decode_group(c: &mut Criterion, venue: &str, frames: &[String], parse: impl Fn(&[u8]) -> bool) {
    if frames.is_empty() {
        eprintln!("skip {venue}: no frames");
        return;
    }
    let bytes: usize = frames.iter().map(String::len).sum();
    eprintln!(
        "{venue}: {} frames, mean {} bytes",
        frames.len(),
        bytes / frames.len()
    );
    assert!(
        frames.iter().all(|f| parse(f.as_bytes())),
        "{venue}: every frame decodes"
    );
    let mut group = c.benchmark_group(format!("cex/{venue}"));
    group.throughput(Throughput::Elements(frames.len() as u64));
    group.bench_function("decode", |b| {
        b.iter(|| {
            frames
                .iter()
                .filter(|f| parse(black_box(f.as_bytes())))
                .count()
        })
    });
    group.finish();
}

fn other_venues(c: &mut Criterion) {
    let okx = data("cex-ws/cryptofeed/OKX.ws.1.0")
        .map(|t| recorded_lines(&t))
        .unwrap_or_default();
    decode_group(c, "okx", &okx, |f| parse_okx(f).is_ok());
    let bybit: Vec<String> = data("cex-ws/nautilus/bybit/2024-12-01_XRPUSDT_ob500.data")
        .map(|t| {
            t.lines()
                .filter(|l| !l.is_empty())
                .map(str::to_string)
                .collect()
        })
        .unwrap_or_default();
    // The first line is a 500-level snapshot; the deltas are what a running feed decodes.
    let deltas: Vec<String> = bybit.iter().skip(1).cloned().collect();
    decode_group(c, "bybit", &deltas, |f| parse_bybit(f).is_ok());
    let kraken = fixtures(
        "kraken",
        &[
            "ws_book_update.json",
            "ws_book_snapshot.json",
            "ws_ticker_snapshot.json",
            "ws_trade_update.json",
        ],
    );
    decode_group(c, "kraken", &kraken, |f| parse_kraken(f).is_ok());
    let coinbase = fixtures(
        "coinbase",
        &[
            "ws_l2_data_update.json",
            "ws_l2_data_snapshot.json",
            "ws_ticker.json",
            "ws_market_trades.json",
        ],
    );
    decode_group(c, "coinbase", &coinbase, |f| parse_coinbase(f).is_ok());
}

fn checksums(c: &mut Criterion) {
    let price = Scale::new(2).expect("scale");
    let size = Scale::new(8).expect("scale");
    let mut book = Book::new(400, price, size);
    for i in 0..400u64 {
        book.set(
            BookSide::Bid,
            Fixed(6_500_000 - i * 7),
            Fixed(12_345_678 + i * 1_000),
        );
        book.set(
            BookSide::Ask,
            Fixed(6_500_001 + i * 7),
            Fixed(98_765_432 + i * 1_000),
        );
    }
    let mut text = String::with_capacity(4096);
    c.bench_function("cex/kraken/checksum (top 10)", |b| {
        b.iter(|| kraken_checksum(black_box(&book), price, size, &mut text))
    });
    c.bench_function("cex/okx/checksum (top 25)", |b| {
        b.iter(|| okx_checksum(black_box(&book), &mut text))
    });
}

/// Two 400-level books 0.3% apart; the decision walks both, and with a Binance diff first.
fn xarb(c: &mut Criterion) {
    use kestrel_strategies::xarb::{Leg, Rate, SymbolRules, XarbParams, evaluate};
    use kestrel_types::cex::Venue;
    let scale = Scale::new(8).expect("scale");
    let (mut cheap, mut rich) = (Book::new(1000, scale, scale), Book::new(1000, scale, scale));
    for i in 0..400u64 {
        let step = i * 10_000;
        cheap.set(
            BookSide::Ask,
            Fixed(35_130_000 + step),
            Fixed(100_000_000_000),
        );
        cheap.set(
            BookSide::Bid,
            Fixed(35_120_000 - step),
            Fixed(100_000_000_000),
        );
        rich.set(
            BookSide::Bid,
            Fixed(35_240_000 - step),
            Fixed(100_000_000_000),
        );
        rich.set(
            BookSide::Ask,
            Fixed(35_250_000 + step),
            Fixed(100_000_000_000),
        );
    }
    let rules = SymbolRules {
        lot: Fixed(100_000_000),
        min_size: Fixed(100_000_000),
        min_notional: 0,
    };
    let params = XarbParams {
        max_size: Fixed(5_000_000_000_000),
        min_profit: 1,
        safety_margin: Rate(10_000),
        transfer_per_base: Fixed(1_000),
    };
    fn leg(venue: Venue, book: &Book, rules: SymbolRules) -> Leg<'_> {
        Leg {
            venue,
            book,
            taker_fee: Rate(100_000),
            rules,
            available: u128::MAX / 4,
        }
    }
    let decision = evaluate(
        &leg(Venue::Binance, &cheap, rules),
        &leg(Venue::Okx, &rich, rules),
        &params,
    );
    assert!(
        matches!(decision, Ok(kestrel_strategies::xarb::Decision::Trade(_))),
        "{decision:?}"
    );
    c.bench_function("cex/xarb/evaluate (400-level books, trade found)", |b| {
        b.iter(|| {
            evaluate(
                &leg(Venue::Binance, black_box(&cheap), rules),
                &leg(Venue::Okx, &rich, rules),
                &params,
            )
        })
    });
    let frame = br#"{"stream":"nknusdt@depth@100ms","data":{"e":"depthUpdate","E":1633998512568,"s":"NKNUSDT","U":499869753,"u":499869754,"b":[["0.35110000","4265.00000000"]],"a":[["0.35130000","10968.00000000"]]}}"#;
    c.bench_function("cex/xarb/binance diff -> book -> decision", |b| {
        b.iter(|| {
            if let Ok(f) = parse_binance(black_box(frame))
                && let BinanceMsg::Depth(d) = f.msg
            {
                for (side, levels) in [(BookSide::Bid, d.bids), (BookSide::Ask, d.asks)] {
                    let _ = levels.for_each(|p, q| {
                        if let (Ok(p), Ok(q)) = (Fixed::parse(p, scale), Fixed::parse(q, scale)) {
                            cheap.set(side, p, q);
                        }
                        Ok(())
                    });
                }
            }
            evaluate(
                &leg(Venue::Binance, &cheap, rules),
                &leg(Venue::Okx, &rich, rules),
                &params,
            )
        })
    });
}

/// From a decision to both legs' complete signed HTTP requests in their buffers: Binance
/// (HMAC-SHA256 over the form body) buys, OKX (base64 HMAC-SHA256 with the ISO timestamp)
/// sells.
fn orders(c: &mut Criterion) {
    use kestrel_strategies::xarb::{Leg, Rate, SymbolRules, XarbParams, evaluate};
    use kestrel_types::cex::{OrderSide, Venue};
    use kestrel_venues::auth::{ApiSecret, BinanceSigner, OkxSigner};
    use kestrel_venues::orders::{
        BinanceWriter, OkxWriter, OrderRequest, RequestWriter, Scales, Stamp, Tif,
    };
    let scale = Scale::new(8).expect("scale");
    let (mut cheap, mut rich) = (Book::new(64, scale, scale), Book::new(64, scale, scale));
    for i in 0..20u64 {
        cheap.set(
            BookSide::Ask,
            Fixed(35_130_000 + i * 10_000),
            Fixed(100_000_000_000),
        );
        rich.set(
            BookSide::Bid,
            Fixed(35_240_000 - i * 10_000),
            Fixed(100_000_000_000),
        );
    }
    let rules = SymbolRules {
        lot: Fixed(100_000_000),
        min_size: Fixed(100_000_000),
        min_notional: 0,
    };
    let params = XarbParams {
        max_size: Fixed(5_000_000_000_000),
        min_profit: 1,
        safety_margin: Rate(10_000),
        transfer_per_base: Fixed(1_000),
    };
    let leg = |venue, book| Leg {
        venue,
        book,
        taker_fee: Rate(100_000),
        rules,
        available: u128::MAX / 4,
    };
    let binance = BinanceWriter::new(
        BinanceSigner::hmac("bench-key", &ApiSecret::new("bench-secret-0123456789"))
            .expect("signer"),
        "127.0.0.1:18080",
    );
    let okx = OkxWriter::new(
        OkxSigner::new(
            "bench-key",
            &ApiSecret::new("bench-secret"),
            &ApiSecret::new("pass"),
        )
        .expect("signer"),
        "127.0.0.1:18081",
    );
    let scales = Scales {
        price: scale,
        size: scale,
    };
    let (mut buy_buf, mut sell_buf) = (Vec::with_capacity(2048), Vec::with_capacity(2048));
    let stamp = Stamp {
        unix_ms: 1_764_000_000_000,
        nonce: 1,
        entropy: [7; 16],
    };
    c.bench_function(
        "cex/xarb/decision -> both orders written (Binance + OKX)",
        |b| {
            b.iter(|| {
                let Ok(kestrel_strategies::xarb::Decision::Trade(o)) = evaluate(
                    &leg(Venue::Binance, black_box(&cheap)),
                    &leg(Venue::Okx, &rich),
                    &params,
                ) else {
                    panic!("the fixture trades")
                };
                let buy = OrderRequest {
                    symbol: "NKNUSDT",
                    side: OrderSide::Buy,
                    size: o.size,
                    limit: o.buy_limit,
                    scales,
                    tif: Tif::Ioc,
                    client_id: "kx1b",
                };
                let sell = OrderRequest {
                    symbol: "NKN-USDT",
                    side: OrderSide::Sell,
                    size: o.size,
                    limit: o.sell_limit,
                    scales,
                    tif: Tif::Ioc,
                    client_id: "kx1s",
                };
                binance
                    .new_order(&buy, &stamp, &mut buy_buf)
                    .expect("buy written");
                okx.new_order(&sell, &stamp, &mut sell_buf)
                    .expect("sell written");
                buy_buf.len() + sell_buf.len()
            })
        },
    );
}

criterion_group!(benches, binance, other_venues, checksums, xarb, orders);
criterion_main!(benches);
