//! Exchange feed decode throughput, one core: frames decoded per second per venue, and
//! decoded-and-applied to a book. `cargo bench -p kestrel-benches --bench cex`.
//!
//! Binance uses the real recorded session (`$KESTREL_DATA_DIR/cex-ws/cryptofeed/BINANCE.ws.1.0`,
//! its `depthUpdate` and `bookTicker` frames) when present, and a synthetic frame of the same
//! shape otherwise.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use kestrel_types::cex::{BookSide, Fixed, Scale};
use kestrel_venues::book::Book;
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

criterion_group!(benches, binance);
criterion_main!(benches);
