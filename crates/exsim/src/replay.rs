//! Simulated venues that replay recorded real sessions.
//!
//! A [`Recording`] is one symbol's order-book history read from a capture of a real venue's
//! traffic (the cryptofeed and Bybit captures under `$KESTREL_DATA_DIR/cex-ws`; their
//! `SOURCES.md` says where each came from): the initial book, then every recorded change, as
//! [`Step`]s of exact `(side, price, size)` levels stamped with their offset from the initial
//! book. A [`Replayer`] applies the steps to a running simulated venue's book
//! ([`Exchange::set_level`](crate::engine::Exchange::set_level)) at the recorded pace, or as fast
//! as the venue publishes, so the venue's front publishes them in its own wire format with its
//! own integrity data (update ids, sequence numbers, checksums), and orders placed meanwhile fill
//! against the replayed book.
//!
//! Why: [`crate::market`]'s random walk exercises a feed with book shapes we invented. A replay
//! gives it the shapes a real market had (a thousand levels a side, bursts of hundreds of
//! changes in one message, levels far from the touch, whole prices beside fine ones) through
//! the same fronts, and lets a test check a feed's book against a book rebuilt independently
//! from the recording.
//!
//! Loading follows each venue's own rules:
//! - **Binance spot** ([`Capture::Binance`]): the REST snapshot, then the `depth@100ms` diffs
//!   that bridge it. Diffs with `u <= lastUpdateId` are dropped; the first one kept must have
//!   `U <= lastUpdateId + 1 <= u` ([`ReplayError::NoBridge`] otherwise), and every later `U`
//!   the previous `u + 1` ([`ReplayError::Gap`]).
//! - **OKX v5 `books`** ([`Capture::Okx`]): the snapshot, then updates, chained by
//!   `prevSeqId` where the capture has it; every push's checksum is checked against the book
//!   rebuilt so far.
//! - **Kraken v1 `book`** ([`Capture::KrakenV1`]): the `as`/`bs` snapshot, then `a`/`b`
//!   updates (a level republished with the `r` flag is an ordinary set). After each message the
//!   book is cut to the subscribed depth, as Kraken's docs tell clients to, and the cut is
//!   recorded as removals; every checksum `c` is checked.
//! - **Coinbase Pro `level2`** ([`Capture::CoinbasePro`]): the `snapshot`, then `l2update`
//!   changes.
//! - **Bybit v5 `orderbook.*`** ([`Capture::Bybit`]): the `snapshot`, then `delta`s whose `u`
//!   must run on by one.
//!
//! Prices and sizes are exact at scales chosen per symbol: the fewest fraction digits that hold
//! every value in the recording ([`Recording::load_fitted`]), or given
//! ([`Recording::load`], which fails on a value that does not fit rather than round). A line
//! that cannot be read is a counted skip ([`LoadStats::malformed`]); a checksum that disagrees
//! is counted ([`LoadStats::checksum_mismatches`]); a break in the venue's update ids is an
//! error, because nothing after it can be replayed faithfully.
//!
//! **Invariant:** applying a recording's steps in order to an empty book gives, after each
//! step, the book the venue described at that point (confirmed by its checksum where the
//! capture carries one).

mod binance;
mod build;
mod bybit;
mod capture;
mod coinbase;
mod driver;
mod kraken;
mod okx;

use std::path::{Path, PathBuf};

use kestrel_types::cex::{BookSide, Fixed, FixedError, Scale, Venue};
use kestrel_wire::cex::{CexError, PairLevels};

use crate::engine::{AssetSpec, SymbolSpec};

pub use driver::{Pace, Replay, ReplayReport, Replayer};

/// The environment variable naming the recorded-data folder.
pub const DATA_DIR_VAR: &str = "KESTREL_DATA_DIR";

/// The recorded-data folder: `$KESTREL_DATA_DIR`, else `<workspace>/../shared/data` (the data is
/// not the project's to commit; it lives beside the checkout).
pub fn data_dir() -> PathBuf {
    match std::env::var_os(DATA_DIR_VAR) {
        Some(dir) => PathBuf::from(dir),
        None => kestrel_stdx::testdata::default_dir(),
    }
}

/// Where a recorded session is, and in which venue's format.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Capture {
    /// Binance spot: a cryptofeed capture of combined `<symbol>@depth@100ms` streams, and the
    /// REST `GET /api/v3/depth` answers recorded in the same session.
    Binance {
        /// The WebSocket capture.
        ws: PathBuf,
        /// The REST capture holding the snapshots.
        rest: PathBuf,
    },
    /// OKX v5 public `books` pushes (cryptofeed capture).
    Okx {
        /// The WebSocket capture.
        ws: PathBuf,
    },
    /// Kraken spot WebSocket v1 `book` messages (cryptofeed capture).
    KrakenV1 {
        /// The WebSocket capture.
        ws: PathBuf,
    },
    /// Coinbase Pro (now Coinbase Exchange) `level2` messages (cryptofeed capture).
    CoinbasePro {
        /// The WebSocket capture.
        ws: PathBuf,
    },
    /// Bybit v5 `orderbook.*` messages, one JSON message a line (Bybit's historical dumps).
    Bybit {
        /// The dump.
        data: PathBuf,
    },
}

impl Capture {
    /// Binance spot, 2021-10-12: NKNUSDT, BLZETH, LRCBTC, RUNEEUR (`cex-ws/cryptofeed`).
    pub fn cryptofeed_binance(data_dir: &Path) -> Capture {
        let dir = data_dir.join("cex-ws/cryptofeed");
        Capture::Binance {
            ws: dir.join("BINANCE.ws.1.0"),
            rest: dir.join("BINANCE.http.0.0"),
        }
    }

    /// OKX v5, 2022-05-13: BTC-USDT, BTC-USD-220527, UNI-USD-SWAP.
    pub fn cryptofeed_okx(data_dir: &Path) -> Capture {
        Capture::Okx {
            ws: data_dir.join("cex-ws/cryptofeed/OKX.ws.1.0"),
        }
    }

    /// Kraken v1 `book` at depth 1000, 2021-04-17: ten pairs (`XBT/CHF`, `XMR/USD`, ...).
    pub fn cryptofeed_kraken(data_dir: &Path) -> Capture {
        Capture::KrakenV1 {
            ws: data_dir.join("cex-ws/cryptofeed/KRAKEN.ws.50.0"),
        }
    }

    /// Coinbase Pro `level2`, 2021-04-17: ten products (`SKL-USD`, `BAND-GBP`, ...).
    pub fn cryptofeed_coinbase(data_dir: &Path) -> Capture {
        Capture::CoinbasePro {
            ws: data_dir.join("cex-ws/cryptofeed/COINBASE.ws.28.0"),
        }
    }

    /// Bybit v5 `orderbook.500.XRPUSDT` (linear), 2024-12-01: a snapshot and 49 deltas.
    pub fn nautilus_bybit_xrpusdt(data_dir: &Path) -> Capture {
        Capture::Bybit {
            data: data_dir.join("cex-ws/nautilus/bybit/2024-12-01_XRPUSDT_ob500.data"),
        }
    }

    /// The venue whose format this is, and whose front replays it.
    pub fn venue(&self) -> Venue {
        match self {
            Capture::Binance { .. } => Venue::Binance,
            Capture::Okx { .. } => Venue::Okx,
            Capture::KrakenV1 { .. } => Venue::Kraken,
            Capture::CoinbasePro { .. } => Venue::Coinbase,
            Capture::Bybit { .. } => Venue::Bybit,
        }
    }

    /// The files read.
    pub fn files(&self) -> Vec<&Path> {
        match self {
            Capture::Binance { ws, rest } => vec![ws, rest],
            Capture::Okx { ws } | Capture::KrakenV1 { ws } | Capture::CoinbasePro { ws } => {
                vec![ws]
            }
            Capture::Bybit { data } => vec![data],
        }
    }
}

/// The fraction digits of a recording's prices and sizes.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Scales {
    /// Of prices.
    pub price: Scale,
    /// Of sizes.
    pub size: Scale,
}

/// One recorded change of the book: the levels to set, in order (size zero removes a level).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Step {
    /// When it happened, in milliseconds after the initial book (never decreasing).
    pub offset_ms: u64,
    /// `(side, price, size)` at the recording's scales.
    pub levels: Vec<(BookSide, Fixed, Fixed)>,
}

/// What loading a capture read and left out.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct LoadStats {
    /// Non-empty lines read, over every file of the capture.
    pub lines: u64,
    /// Lines that could not be read (no timestamp, not JSON, not the venue's shape): skipped.
    pub malformed: u64,
    /// Readable lines about something else: other symbols or channels, subscriptions,
    /// heartbeats, connection marks.
    pub other: u64,
    /// Book messages for the symbol that the venue's rules drop: those before the initial book
    /// and, for Binance, diffs at or before the snapshot's `lastUpdateId`.
    pub dropped: u64,
    /// Messages whose checksum matched the book rebuilt up to them.
    pub checksums_verified: u64,
    /// Messages whose checksum did not match.
    pub checksum_mismatches: u64,
    /// Kraken v1: levels removed because they fell past the subscribed depth.
    pub truncated: u64,
}

/// Why a recording could not be loaded or replayed.
#[derive(Debug, thiserror::Error)]
pub enum ReplayError {
    /// A capture file is absent (the data folder is not the project's: it may not be there).
    #[error("{} not found", path.display())]
    NotFound {
        /// The missing file.
        path: PathBuf,
    },
    /// A capture file could not be read.
    #[error("reading {}: {source}", path.display())]
    Io {
        /// The file.
        path: PathBuf,
        /// What failed.
        #[source]
        source: std::io::Error,
    },
    /// The capture holds no initial book for the symbol.
    #[error("{venue} {symbol}: the capture has no initial book for it")]
    NoSnapshot {
        /// The capture's venue.
        venue: Venue,
        /// The symbol asked for.
        symbol: String,
    },
    /// Binance: no diff bridges the REST snapshot (`U <= lastUpdateId + 1 <= u`).
    #[error("{venue} {symbol}: no diff bridges the snapshot's lastUpdateId {last_update_id}")]
    NoBridge {
        /// The capture's venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
        /// The snapshot's `lastUpdateId`.
        last_update_id: u64,
    },
    /// An update does not follow the one before it: the capture lost messages.
    #[error("{venue} {symbol} at {location}: expected update {expected}, got {got}")]
    Gap {
        /// The capture's venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
        /// `file:line`.
        location: String,
        /// The id the update had to start at or chain from.
        expected: u64,
        /// The id it had.
        got: u64,
    },
    /// A price or size is not exact at the recording's scale.
    #[error(
        "{venue} {symbol} at {location}: {what} {text:?} at {digits} fraction digits: {reason}"
    )]
    Inexact {
        /// The capture's venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
        /// `file:line`.
        location: String,
        /// `"price"` or `"size"`.
        what: &'static str,
        /// The value as recorded.
        text: String,
        /// The scale it had to fit.
        digits: u8,
        /// Why it does not.
        reason: FixedError,
    },
    /// Values need more fraction digits than a [`Scale`] holds.
    #[error("{venue} {symbol}: {what}s need {digits} fraction digits, more than {max}", max = Scale::MAX_DIGITS)]
    TooFine {
        /// The capture's venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
        /// `"price"` or `"size"`.
        what: &'static str,
        /// The digits needed.
        digits: u32,
    },
    /// The simulated venue does not list the symbol.
    #[error("{venue}: symbol {symbol} is not listed on the simulated venue")]
    NotListed {
        /// The simulated venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
    },
    /// The simulated venue's scales for the symbol are not the recording's.
    #[error(
        "{venue} {symbol}: the venue quotes {venue_price}/{venue_size} fraction digits, \
         the recording {price}/{size}"
    )]
    ScaleMismatch {
        /// The simulated venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
        /// The venue's price digits.
        venue_price: u8,
        /// The venue's size digits.
        venue_size: u8,
        /// The recording's price digits.
        price: u8,
        /// The recording's size digits.
        size: u8,
    },
    /// The simulated venue keeps fewer levels a side than the recording's book reaches: its
    /// book would drop levels the recording still changes.
    #[error(
        "{venue} {symbol}: the venue keeps {depth} levels a side, the recording reaches {needed}"
    )]
    TooShallow {
        /// The simulated venue.
        venue: Venue,
        /// The symbol.
        symbol: String,
        /// The symbol's configured depth.
        depth: usize,
        /// [`Recording::max_levels`].
        needed: usize,
    },
    /// A pace whose speed is negative or not a number.
    #[error("replay speed {0} is not a finite number at or above zero")]
    BadSpeed(f64),
    /// The replay thread could not be started.
    #[error("starting the replay thread: {0}")]
    Spawn(#[source] std::io::Error),
}

/// One symbol's recorded book history. See the module docs.
#[derive(Clone, Debug)]
pub struct Recording {
    venue: Venue,
    symbol: String,
    scales: Scales,
    steps: Vec<Step>,
    stats: LoadStats,
    max_levels: usize,
    tick: Fixed,
    lot: Fixed,
}

impl Recording {
    /// Load `symbol` (as the capture spells it: `NKNUSDT`, `BTC-USDT`, `XBT/CHF`, `SKL-USD`,
    /// `XRPUSDT`) from `capture`, with prices and sizes at `scales`.
    ///
    /// # Errors
    /// [`ReplayError::NotFound`] when a file is absent; no initial book; a break in the
    /// venue's update ids; a value not exact at `scales`.
    pub fn load(capture: &Capture, symbol: &str, scales: Scales) -> Result<Recording, ReplayError> {
        let raw = read(capture, symbol)?;
        build::build(raw, capture.venue(), symbol, scales)
    }

    /// [`Recording::load`] at the fewest fraction digits that hold every price and every size
    /// of the symbol's book in the capture.
    ///
    /// # Errors
    /// As [`Recording::load`]; [`ReplayError::TooFine`] when a value needs more than
    /// [`Scale::MAX_DIGITS`].
    pub fn load_fitted(capture: &Capture, symbol: &str) -> Result<Recording, ReplayError> {
        let raw = read(capture, symbol)?;
        let scales = build::fit(&raw, capture.venue(), symbol)?;
        build::build(raw, capture.venue(), symbol, scales)
    }

    /// The venue whose format was recorded.
    pub fn venue(&self) -> Venue {
        self.venue
    }

    /// The symbol, as the capture spells it.
    pub fn symbol(&self) -> &str {
        &self.symbol
    }

    /// The scales prices and sizes are exact at.
    pub fn scales(&self) -> Scales {
        self.scales
    }

    /// The steps, the initial book first. Never empty.
    pub fn steps(&self) -> &[Step] {
        &self.steps
    }

    /// What loading read and left out.
    pub fn stats(&self) -> LoadStats {
        self.stats
    }

    /// The last step's offset: how long the recording runs at speed 1.
    pub fn duration_ms(&self) -> u64 {
        self.steps.last().map_or(0, |s| s.offset_ms)
    }

    /// The most levels one side of the book holds at any point, including part-way through a
    /// step: the depth a venue replaying it must keep.
    pub fn max_levels(&self) -> usize {
        self.max_levels
    }

    /// The largest tick every recorded price is a multiple of.
    pub fn tick(&self) -> Fixed {
        self.tick
    }

    /// The largest lot every recorded size is a multiple of.
    pub fn lot(&self) -> Fixed {
        self.lot
    }

    /// A symbol spec that lists this recording on a simulated venue: its scales, tick and lot,
    /// the lot as the smallest order, no minimum value, and [`Recording::max_levels`] deep.
    pub fn symbol_spec(&self, base: &str, quote: &str) -> SymbolSpec {
        SymbolSpec {
            symbol: self.symbol.clone(),
            base: base.into(),
            quote: quote.into(),
            price_scale: self.scales.price,
            size_scale: self.scales.size,
            tick: self.tick,
            lot: self.lot,
            min_size: self.lot,
            min_notional: 0,
            depth: self.max_levels.max(1),
        }
    }

    /// The two assets [`Recording::symbol_spec`] needs: the base at the size scale, the quote
    /// at price + size digits; `None` when that sum passes [`Scale::MAX_DIGITS`].
    pub fn assets(&self, base: &str, quote: &str) -> Option<Vec<AssetSpec>> {
        let notional = Scale::new(self.scales.price.digits() + self.scales.size.digits())?;
        Some(vec![
            AssetSpec {
                name: base.into(),
                scale: self.scales.size,
            },
            AssetSpec {
                name: quote.into(),
                scale: notional,
            },
        ])
    }
}

/// A level as the capture wrote it.
#[derive(Clone, Debug, PartialEq, Eq)]
struct RawLevel {
    side: BookSide,
    price: String,
    size: String,
}

/// Whether a message replaces the book or changes it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum RawKind {
    Snapshot,
    Update,
}

/// The venue's checksum of its book after a message.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Check {
    /// OKX: signed CRC32 of the top 25 levels.
    Okx(i32),
    /// Kraken: CRC32 of the top 10 levels at the pair's written digits.
    Kraken(u32),
}

/// One book message for the symbol, its numbers still text.
#[derive(Clone, Debug)]
struct RawStep {
    /// `file:line`, for errors.
    location: String,
    /// Receive (or venue) time, Unix ms.
    at_ms: u64,
    kind: RawKind,
    levels: Vec<RawLevel>,
    check: Option<Check>,
}

/// A capture read for one symbol, before its numbers are fixed.
#[derive(Clone, Debug, Default)]
struct Raw {
    /// Starts with a snapshot.
    steps: Vec<RawStep>,
    stats: LoadStats,
    /// Kraken v1: the subscribed depth the book is cut to after each message.
    depth: Option<usize>,
    /// Kraken v1: the fraction digits the pair's prices and sizes are written with (its
    /// checksum's precisions).
    written_digits: Option<(u8, u8)>,
}

/// Append one side's `[price, size, ..]` levels as text; an unreadable level fails the whole
/// message.
fn push_pairs(
    side: BookSide,
    pairs: &PairLevels<'_>,
    out: &mut Vec<RawLevel>,
) -> Result<(), CexError> {
    pairs.for_each(|price, size| {
        let (Ok(price), Ok(size)) = (std::str::from_utf8(price), std::str::from_utf8(size)) else {
            return Err(CexError::BadNumber);
        };
        out.push(RawLevel {
            side,
            price: price.into(),
            size: size.into(),
        });
        Ok(())
    })
}

fn read(capture: &Capture, symbol: &str) -> Result<Raw, ReplayError> {
    match capture {
        Capture::Binance { ws, rest } => {
            let rest = capture::File::read(rest)?;
            let ws = capture::File::read(ws)?;
            binance::read(&ws, &rest, symbol)
        }
        Capture::Okx { ws } => okx::read(&capture::File::read(ws)?, symbol),
        Capture::KrakenV1 { ws } => kraken::read(&capture::File::read(ws)?, symbol),
        Capture::CoinbasePro { ws } => coinbase::read(&capture::File::read(ws)?, symbol),
        Capture::Bybit { data } => bybit::read(&capture::File::read(data)?, symbol),
    }
}

#[cfg(test)]
mod tests {
    use std::sync::Arc;
    use std::time::Duration;

    use super::*;
    use crate::binance::BinanceFront;
    use crate::engine::{Exchange, FeeAsset};
    use crate::server::ExchangeServer;

    fn scale(d: u8) -> Scale {
        Scale::new(d).expect("scale")
    }

    /// A recording of `n` steps: bids at 1.00 and 0.99, an ask at 1.01; the best bid's size
    /// counts up.
    fn counting(n: u64) -> Recording {
        let steps = (0..n)
            .map(|i| RawStep {
                location: format!("t:{i}"),
                at_ms: 1_000 + i * 10,
                kind: if i == 0 {
                    RawKind::Snapshot
                } else {
                    RawKind::Update
                },
                levels: [
                    (BookSide::Bid, "1.00", (i + 1).to_string()),
                    (BookSide::Bid, "0.99", "1".to_string()),
                    (BookSide::Ask, "1.01", "5".to_string()),
                ]
                .into_iter()
                // The second bid only in the snapshot.
                .filter(|(_, price, _)| i == 0 || *price != "0.99")
                .map(|(side, price, size)| RawLevel {
                    side,
                    price: price.into(),
                    size,
                })
                .collect(),
                check: None,
            })
            .collect();
        let raw = Raw {
            steps,
            ..Raw::default()
        };
        let scales = Scales {
            price: scale(2),
            size: scale(0),
        };
        build::build(raw, Venue::Binance, "AUSDT", scales).expect("builds")
    }

    /// A simulated Binance listing `spec`, its book holding one stale level.
    fn server(spec: SymbolSpec) -> ExchangeServer {
        let notional = spec.price_scale.digits() + spec.size_scale.digits();
        let assets = vec![
            AssetSpec {
                name: "A".into(),
                scale: spec.size_scale,
            },
            AssetSpec {
                name: "USDT".into(),
                scale: scale(notional),
            },
        ];
        let mut ex = Exchange::new(Venue::Binance, assets, vec![spec], FeeAsset::Base).expect("ex");
        ex.set_level("AUSDT", BookSide::Ask, Fixed(200), Fixed(1));
        let front = Box::new(BinanceFront::new(Vec::new()));
        ExchangeServer::start(ex, front, Duration::from_millis(1)).expect("server")
    }

    fn levels(server: &ExchangeServer) -> Vec<(u64, u64)> {
        server.with_exchange(|ex| {
            let book = ex.book("AUSDT").expect("book");
            let bids = book.bids().iter().map(|l| (l.price.0, l.size.0));
            bids.chain(book.asks().iter().map(|l| (l.price.0, l.size.0)))
                .collect()
        })
    }

    #[test]
    fn a_replay_sets_the_initial_book_then_applies_every_step() {
        let recording = Arc::new(counting(20));
        assert_eq!(recording.duration_ms(), 190);
        let server = server(recording.symbol_spec("A", "USDT"));
        let pace = Pace::fastest(Duration::from_millis(1));
        let replayer = Replayer::new(server.handle(), Arc::clone(&recording), "AUSDT", pace)
            .expect("replayer");
        assert_eq!(
            levels(&server),
            [(100, 1), (99, 1), (101, 5)],
            "the stale level is gone"
        );
        let report = replayer.start().expect("start").join();
        assert_eq!(
            report,
            ReplayReport {
                steps_applied: 20,
                steps_total: 20,
                completed: true,
                ..report
            }
        );
        assert_eq!(levels(&server), [(100, 20), (99, 1), (101, 5)]);
    }

    #[test]
    fn a_replay_stops_on_command() {
        let recording = Arc::new(counting(1_000));
        let server = server(recording.symbol_spec("A", "USDT"));
        let pace = Pace::real_time(Duration::ZERO);
        let replay = Replayer::new(server.handle(), recording, "AUSDT", pace)
            .expect("replayer")
            .start()
            .expect("start");
        std::thread::sleep(Duration::from_millis(30));
        let report = replay.stop();
        assert!(!report.completed);
        assert!(
            (1..100).contains(&report.steps_applied),
            "10 ms a step: {report:?}"
        );
    }

    #[test]
    fn a_venue_that_cannot_hold_the_recording_is_refused_and_left_untouched() {
        let recording = Arc::new(counting(3));
        assert_eq!(recording.max_levels(), 2);
        let spec = recording.symbol_spec("A", "USDT");
        let pace = Pace::fastest(Duration::ZERO);
        let cases = [
            (
                SymbolSpec {
                    depth: 1,
                    ..spec.clone()
                },
                "AUSDT",
                pace,
            ),
            (
                SymbolSpec {
                    price_scale: scale(3),
                    ..spec.clone()
                },
                "AUSDT",
                pace,
            ),
            (spec.clone(), "BUSDT", pace),
            (
                spec.clone(),
                "AUSDT",
                Pace {
                    speed: f64::NAN,
                    ..pace
                },
            ),
            (
                spec.clone(),
                "AUSDT",
                Pace {
                    speed: -1.0,
                    ..pace
                },
            ),
        ];
        for (i, (venue_spec, symbol, pace)) in cases.into_iter().enumerate() {
            let server = server(venue_spec);
            let refused = Replayer::new(server.handle(), Arc::clone(&recording), symbol, pace);
            let ok = match (i, refused) {
                (
                    0,
                    Err(ReplayError::TooShallow {
                        depth: 1,
                        needed: 2,
                        ..
                    }),
                ) => true,
                (
                    1,
                    Err(ReplayError::ScaleMismatch {
                        venue_price: 3,
                        price: 2,
                        ..
                    }),
                ) => true,
                (2, Err(ReplayError::NotListed { .. })) => true,
                (3 | 4, Err(ReplayError::BadSpeed(_))) => true,
                (_, other) => panic!("case {i}: {other:?}"),
            };
            assert!(ok);
            assert_eq!(
                levels(&server),
                [(200, 1)],
                "case {i}: the book is untouched"
            );
        }
    }

    #[test]
    fn an_absent_capture_is_not_found() {
        let capture = Capture::cryptofeed_okx(Path::new("/nonexistent/kestrel-data"));
        match Recording::load_fitted(&capture, "BTC-USDT") {
            Err(ReplayError::NotFound { path }) => {
                assert!(path.ends_with("cex-ws/cryptofeed/OKX.ws.1.0"), "{path:?}");
                let text = ReplayError::NotFound { path: path.clone() }.to_string();
                assert_eq!(text, format!("{} not found", path.display()));
            }
            other => panic!("{other:?}"),
        }
    }
}
