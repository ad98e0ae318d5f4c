//! The cross-exchange lane against two simulated Binance-format venues: a dislocation that pays
//! after fees is taken on both at once and settles to exactly the venues' balances; a rejected
//! second leg is unwound at once with a bounded loss.

use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::engine::{AssetSpec, Exchange, FeeAsset, FeeRates, Reject, SymbolSpec};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_fire::relay::RelayConn;
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::lane::{Execution, LaneConfig, LaneEvent, LegConfig, Role, XarbLane};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::{Holdings, RiskLimits};
use kestrel_strategies::xarb::{SymbolRules, XarbParams};
use kestrel_types::cex::{BookSide, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BinanceSigner};
use kestrel_venues::orders::{BinanceWriter, RequestWriter, Scales};

const KEY: &str = "lane-key";
const SECRET: &str = "lane-secret-0123456789abcdef";
const USDT: u128 = 10_000_000; // one USDT in notional units (2 + 5 digits)
const BTC: u128 = 100_000; // one BTC in size units

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn signer() -> BinanceSigner {
    BinanceSigner::hmac(KEY, &ApiSecret::new(SECRET)).expect("signer")
}

/// A Binance-format venue with one account holding `usdt` and `btc`, and these levels.
fn venue(usdt: u128, btc: u128, levels: &[(BookSide, u64, u64)]) -> ExchangeServer {
    let ex = btc_usdt_exchange(Venue::Binance, "BTCUSDT", KEY, 5 * USDT, usdt, btc, levels);
    ExchangeServer::start(
        ex,
        Box::new(BinanceFront::new(vec![signer().verify_key()])),
        Duration::from_millis(5),
    )
    .expect("server")
}

/// A `venue` exchange listing BTC/USDT as `symbol`: BTC at 5 digits, USDT at 7, prices to
/// 0.01, lots of one unit, at least 10 units and `min_notional` an order, a taker fee of 0.1 %
/// (a buy's in BTC), one account `key` holding `usdt` and `btc`, and these levels.
pub(crate) fn btc_usdt_exchange(
    venue: Venue,
    symbol: &str,
    key: &str,
    min_notional: u128,
    usdt: u128,
    btc: u128,
    levels: &[(BookSide, u64, u64)],
) -> Exchange {
    let mut ex = Exchange::new(
        venue,
        vec![
            AssetSpec {
                name: "BTC".into(),
                scale: scale(5),
            },
            AssetSpec {
                name: "USDT".into(),
                scale: scale(7),
            },
        ],
        vec![SymbolSpec {
            symbol: symbol.into(),
            base: "BTC".into(),
            quote: "USDT".into(),
            price_scale: scale(2),
            size_scale: scale(5),
            tick: Fixed(1),
            lot: Fixed(1),
            min_size: Fixed(10),
            min_notional,
            depth: 100,
        }],
        FeeAsset::Base,
    )
    .expect("exchange");
    ex.add_account(
        key,
        FeeRates {
            maker: Rate(100_000),
            taker: Rate(100_000),
        },
    );
    if usdt > 0 {
        ex.deposit(key, "USDT", usdt);
    }
    if btc > 0 {
        ex.deposit(key, "BTC", btc);
    }
    for &(side, price, size) in levels {
        ex.set_level(symbol, side, Fixed(price), Fixed(size));
    }
    ex
}

fn leg(feed: usize, holdings: Holdings, taker_fee: Rate) -> LegConfig {
    LegConfig {
        venue: Venue::Binance,
        feed,
        book: 0,
        symbol: "BTCUSDT".into(),
        base_asset: "BTC".into(),
        scales: Scales {
            price: scale(2),
            size: scale(5),
        },
        tick: Fixed(1),
        rules: SymbolRules {
            lot: Fixed(1),
            min_size: Fixed(10),
            min_notional: 5 * USDT,
        },
        taker_fee,
        buy_fee_asset: FeeAsset::Base,
        holdings,
        requests_per_second: 1_000,
        burst: 1_000,
    }
}

fn lane(cheap: &ExchangeServer, rich: &ExchangeServer, holdings: [Holdings; 2]) -> XarbLane {
    lane_with_fee(cheap, rich, holdings, Rate(100_000))
}

fn lane_with_fee(
    cheap: &ExchangeServer,
    rich: &ExchangeServer,
    holdings: [Holdings; 2],
    taker_fee: Rate,
) -> XarbLane {
    lane_with(cheap, rich, holdings, taker_fee, Limits::default())
}

/// What a test may change of the lane's limits.
#[derive(Clone, Copy)]
struct Limits {
    max_size: u128,
    max_orders_per_minute: u32,
    /// Requests per second and burst, on both venues.
    budget: (u32, u32),
}

impl Default for Limits {
    fn default() -> Self {
        // Two orders a minute: one trade, then the switch holds.
        Limits {
            max_size: BTC,
            max_orders_per_minute: 2,
            budget: (1_000, 1_000),
        }
    }
}

fn lane_with(
    cheap: &ExchangeServer,
    rich: &ExchangeServer,
    holdings: [Holdings; 2],
    taker_fee: Rate,
    limits: Limits,
) -> XarbLane {
    let leg = |feed, holdings| LegConfig {
        requests_per_second: limits.budget.0,
        burst: limits.budget.1,
        ..leg(feed, holdings, taker_fee)
    };
    let feed = |server: &ExchangeServer| -> Box<dyn VenueFeed + Send> {
        Box::new(
            BinanceFeed::new(BinanceFeedConfig {
                ws_url: server.ws_url(),
                rest_url: server.http_url(),
                symbols: vec![FeedSymbol {
                    symbol: "BTCUSDT".into(),
                    price_scale: scale(2),
                    size_scale: scale(5),
                    capacity: 100,
                }],
                stale_after_ms: 60_000,
                snapshot_limit: 100,
            })
            .expect("feed"),
        )
    };
    let (tx, replies) = sync_channel(64);
    let conns = [cheap, rich]
        .iter()
        .enumerate()
        .map(|(i, s)| {
            RelayConn::connect(i, &format!("{}/", s.http_url()), tx.clone())
                .expect("conn")
                .into()
        })
        .collect();
    let writers: Vec<Box<dyn RequestWriter + Send>> = [cheap, rich]
        .iter()
        .map(|s| {
            Box::new(BinanceWriter::new(signer(), &s.addr().to_string()))
                as Box<dyn RequestWriter + Send>
        })
        .collect();
    XarbLane::new(
        LaneConfig {
            legs: vec![leg(0, holdings[0]), leg(1, holdings[1])],
            params: XarbParams {
                max_size: Fixed(limits.max_size as u64),
                min_profit: USDT,
                safety_margin: Rate(10_000),
                transfer_per_base: Fixed(0),
            },
            limits: RiskLimits {
                max_drawdown: 1_000 * USDT,
                max_imbalance: BTC,
                max_orders_per_minute: limits.max_orders_per_minute,
            },
            unwind_slippage: Rate(1_000_000),
        },
        vec![feed(cheap), feed(rich)],
        Execution::Orders {
            writers,
            conns,
            replies,
        },
    )
}

fn run_until(
    lane: &mut XarbLane,
    what: &str,
    done: impl FnMut(&XarbLane) -> bool,
) -> Vec<LaneEvent> {
    run_until_clocked(lane, what, done).0
}

/// [`run_until`], also returning the clock readings (monotonic ns, Unix ms) of the last poll:
/// the instant at which `done` first held.
fn run_until_clocked(
    lane: &mut XarbLane,
    what: &str,
    mut done: impl FnMut(&XarbLane) -> bool,
) -> (Vec<LaneEvent>, (u64, u64)) {
    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    let mut last = (mono_ns(), LiveClock.unix_ms());
    while !done(lane) {
        assert!(
            Instant::now() < deadline,
            "timed out: {what}; {:?}; {events:?}",
            lane.stats()
        );
        last = (mono_ns(), LiveClock.unix_ms());
        lane.poll(last.0, last.1);
        events.extend(lane.drain_events());
        std::thread::sleep(Duration::from_millis(1));
    }
    events.extend(lane.drain_events());
    (events, last)
}

fn balances(server: &ExchangeServer) -> (u128, u128) {
    server.with_exchange(|ex| (ex.balance(KEY, "BTC").0, ex.balance(KEY, "USDT").0))
}

#[test]
fn an_arbitrage_that_pays_after_fees_is_taken_on_both_venues_exactly() {
    // Cheap asks 65,000.00 × 0.2 and 65,010.00 × 0.2; rich bids 65,500.00 × 0.3: 0.77% gross.
    let cheap = venue(
        50_000 * USDT,
        0,
        &[
            (BookSide::Ask, 6_500_000, 20_000),
            (BookSide::Ask, 6_501_000, 20_000),
            (BookSide::Bid, 6_499_000, 50_000),
        ],
    );
    let rich = venue(
        0,
        BTC,
        &[
            (BookSide::Bid, 6_550_000, 30_000),
            (BookSide::Ask, 6_551_000, 50_000),
        ],
    );
    let start = [balances(&cheap), balances(&rich)];
    let mut lane = lane(
        &cheap,
        &rich,
        [
            Holdings {
                base: 0,
                quote: 50_000 * USDT,
            },
            Holdings {
                base: BTC,
                quote: 0,
            },
        ],
    );
    let events = run_until(&mut lane, "one trade settled", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(
        (
            stats.orders,
            stats.fills,
            stats.unwinds,
            stats.unprofitable_after_fees
        ),
        (2, 2, 0, 0)
    );
    let Some(LaneEvent::Trade { opportunity, .. }) =
        events.iter().find(|e| matches!(e, LaneEvent::Trade { .. }))
    else {
        panic!("no trade event: {events:?}")
    };
    // Both books offered 0.3 within the edge: 0.2 at 65,000 and 0.1 at 65,010 against 65,500.
    assert_eq!(opportunity.size, Fixed(30_000));
    let end = [balances(&cheap), balances(&rich)];
    // The lane's settled holdings are the venues' balances, unit for unit.
    for (i, (btc, usdt)) in end.iter().enumerate() {
        assert_eq!(
            lane.holdings(i),
            Some(Holdings {
                base: *btc,
                quote: *usdt
            }),
            "leg {i}"
        );
    }
    // Its PnL is what the balances say: the quote gained, less the BTC the buy's fee took,
    // valued at the buy's average price (rounded up).
    let quote_gain = (end[0].1 + end[1].1) as i128 - (start[0].1 + start[1].1) as i128;
    let bought = end[0].0; // the cheap venue started with no BTC, and kept what it received
    let sold = start[1].0 - end[1].0;
    let fee_btc = sold - bought;
    let paid = start[0].1 - end[0].1;
    let fee_value = (fee_btc * paid).div_ceil(sold) as i128;
    assert_eq!(stats.pnl, quote_gain - fee_value);
    assert!(stats.pnl > 0, "profit after every fee");
    // 0.2 × 65,000 + 0.1 × 65,010 paid, 0.3 × 65,500 received less 0.1%.
    assert_eq!(paid, 20_000u128 * 6_500_000 + 10_000 * 6_501_000);
    // The lane does not trade again on books the venues have not updated since its trade;
    // a new bid on the rich venue is a new opportunity, and the switch, which allowed two
    // orders a minute, trips on it.
    rich.with_exchange(|ex| {
        ex.set_level("BTCUSDT", BookSide::Bid, Fixed(6_540_000), Fixed(30_000))
    });
    run_until(&mut lane, "switch trips on the next trade", |l| {
        l.kill_switch_tripped()
    });
}

#[test]
fn a_rejected_second_leg_is_unwound_at_once_with_a_bounded_loss() {
    let cheap = venue(
        50_000 * USDT,
        0,
        &[
            (BookSide::Ask, 6_500_000, 20_000),
            (BookSide::Bid, 6_499_000, 50_000),
        ],
    );
    let rich = venue(
        0,
        BTC,
        &[
            (BookSide::Bid, 6_550_000, 30_000),
            (BookSide::Ask, 6_551_000, 50_000),
        ],
    );
    rich.fault(Fault::RejectNextOrder(Reject::Injected {
        code: -2010,
        message: "Account has insufficient balance for requested action.".into(),
    }));
    let start = balances(&cheap);
    let mut lane = lane(
        &cheap,
        &rich,
        [
            Holdings {
                base: 0,
                quote: 50_000 * USDT,
            },
            Holdings {
                base: BTC,
                quote: 0,
            },
        ],
    );
    let events = run_until(&mut lane, "trade closed", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(stats.unwinds, 1, "{events:?}");
    assert!(events.iter().any(|e| matches!(
        e,
        LaneEvent::OrderFailed {
            role: Role::Sell,
            ..
        }
    )));
    let closed = events.iter().find_map(|e| match e {
        LaneEvent::Closed { pnl, hedged, .. } => Some((*pnl, *hedged)),
        _ => None,
    });
    let (pnl, hedged) = closed.expect("closed");
    assert!(hedged);
    assert!(pnl < 0, "an unwind costs the spread and two fees");
    // Bought 0.2 at 65,000 (13,000 USDT): the loss is bounded by 1% slippage and two 0.1% fees.
    assert!(
        pnl.unsigned_abs() <= 13_000 * USDT * 12 / 1000,
        "loss {pnl} within bound"
    );
    assert_eq!(
        stats.unprofitable_after_fees, 0,
        "a hedged loss is explained by the failed leg"
    );
    // The position is flat again but for the fee's dust, and the lane agrees with the venue.
    let (btc, usdt) = balances(&cheap);
    assert!(
        btc < 100,
        "at most the lot-rounding dust of the buy's base fee: {btc}"
    );
    assert_eq!(
        lane.holdings(0),
        Some(Holdings {
            base: btc,
            quote: usdt
        })
    );
    assert!(usdt < start.1);
}

#[test]
fn a_restart_reloads_the_holdings_from_the_journal() {
    let cheap = venue(
        50_000 * USDT,
        0,
        &[
            (BookSide::Ask, 6_500_000, 20_000),
            (BookSide::Bid, 6_499_000, 50_000),
        ],
    );
    let rich = venue(
        0,
        BTC,
        &[
            (BookSide::Bid, 6_550_000, 30_000),
            (BookSide::Ask, 6_551_000, 50_000),
        ],
    );
    let dir = tempfile::tempdir().expect("dir");
    let path = dir.path().join("journal.sqlite");
    let journal = kestrel_store::Journal::open(&path, 64).expect("journal");
    let mut first = lane(
        &cheap,
        &rich,
        [
            Holdings {
                base: 0,
                quote: 50_000 * USDT,
            },
            Holdings {
                base: BTC,
                quote: 0,
            },
        ],
    );
    let events = run_until(&mut first, "one trade settled", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    for event in &events {
        if let Some(ev) = event.to_record() {
            let record = kestrel_store::Record::Xarb {
                run_id: "run-1".into(),
                unix_ms: LiveClock.unix_ms(),
                ev,
            };
            journal.handle().append(record).expect("journaled");
        }
    }
    let stats = journal.close().expect("closed");
    assert_eq!(stats.failed, 0);
    drop(first);

    // The engine restarts: the holdings come back from the journal, equal to the venues'.
    let reader = kestrel_store::open_readonly(&path).expect("reader");
    let rows = reader.latest_xarb_positions().expect("positions");
    assert_eq!(rows.len(), 2, "both legs journaled");
    let reloaded: Vec<Holdings> = rows
        .iter()
        .map(|r| Holdings {
            base: r.base_units,
            quote: r.quote_units,
        })
        .collect();
    for (i, server) in [&cheap, &rich].into_iter().enumerate() {
        let (btc, usdt) = balances(server);
        assert_eq!(
            reloaded[i],
            Holdings {
                base: btc,
                quote: usdt
            },
            "leg {i}"
        );
    }
    assert_eq!(reader.xarb_pnls("run-1").expect("pnl").len(), 1);
    let second = lane(&cheap, &rich, [reloaded[0], reloaded[1]]);
    assert_eq!(second.holdings(0), Some(reloaded[0]));
    assert_eq!(second.holdings(1), Some(reloaded[1]));
}

#[test]
fn the_same_dislocation_is_left_alone_when_fees_eat_it() {
    // 0.77% between the books, against 0.5% taker fees on each leg.
    let cheap = venue(
        50_000 * USDT,
        0,
        &[
            (BookSide::Ask, 6_500_000, 20_000),
            (BookSide::Bid, 6_499_000, 50_000),
        ],
    );
    let rich = venue(
        0,
        BTC,
        &[
            (BookSide::Bid, 6_550_000, 30_000),
            (BookSide::Ask, 6_551_000, 50_000),
        ],
    );
    let start = [balances(&cheap), balances(&rich)];
    let holdings = [
        Holdings {
            base: 0,
            quote: 50_000 * USDT,
        },
        Holdings {
            base: BTC,
            quote: 0,
        },
    ];
    let mut lane = lane_with_fee(&cheap, &rich, holdings, Rate(500_000));
    run_until(&mut lane, "the crossed books were looked at", |l| {
        l.stats().opportunities > 0
    });
    // Let it keep polling a while: nothing may be sent.
    let until = Instant::now() + Duration::from_millis(300);
    while Instant::now() < until {
        lane.poll(mono_ns(), LiveClock.unix_ms());
    }
    let stats = lane.stats();
    assert_eq!((stats.trades, stats.orders), (0, 0), "{stats:?}");
    assert_eq!(stats.costs_ate_it, stats.opportunities);
    assert_eq!(
        [balances(&cheap), balances(&rich)],
        start,
        "no order reached a venue"
    );
}

#[test]
fn a_spent_request_budget_holds_trades_back_and_a_rate_limit_answer_pauses_the_venue() {
    // Four crossing levels a side, 0.2 BTC each; each trade takes one (max size 0.2 BTC).
    let asks: Vec<_> = (0..4)
        .map(|i| (BookSide::Ask, 6_500_000 + i * 1_000, 20_000))
        .collect();
    let bids: Vec<_> = (0..4)
        .map(|i| (BookSide::Bid, 6_550_000 - i * 1_000, 20_000))
        .collect();
    let cheap = venue(
        100_000 * USDT,
        0,
        &[asks.as_slice(), &[(BookSide::Bid, 6_400_000, 50_000)]].concat(),
    );
    let rich = venue(
        0,
        BTC,
        &[bids.as_slice(), &[(BookSide::Ask, 6_600_000, 50_000)]].concat(),
    );
    let holdings = [
        Holdings {
            base: 0,
            quote: 100_000 * USDT,
        },
        Holdings {
            base: BTC,
            quote: 0,
        },
    ];
    // Two requests at once, then one a second, on each venue.
    let limits = Limits {
        max_size: 20_000,
        max_orders_per_minute: 1_000,
        budget: (1, 2),
    };
    let mut lane = lane_with(&cheap, &rich, holdings, Rate(100_000), limits);
    let (events, held_at) = run_until_clocked(&mut lane, "a trade held back for budget", |l| {
        l.stats().rate_limited > 0 && !l.is_busy()
    });
    let stats = lane.stats();
    // The burst allows two requests per venue: at most two trades went before the hold.
    assert!(stats.trades >= 1 && stats.trades <= 2, "{stats:?}");
    assert!(
        lane.requests_sent(0) <= 2 && lane.requests_sent(1) <= 2,
        "{events:?}"
    );
    // At the instant of the hold the budget had less than a request left. Polled again and
    // again at that instant (the budget refills with the clock the lane is given, so none
    // comes back), the lane keeps seeing the opportunity and keeps holding it: no trade goes.
    // (A wall-clock window here would race the refill: how long the next request takes to
    // come back depends on how far into it the hold happened.)
    for _ in 0..200 {
        lane.poll(held_at.0, held_at.1);
        std::thread::sleep(Duration::from_millis(1));
    }
    let held = lane.stats();
    assert_eq!(held.trades, stats.trades, "{held:?}");
    assert!(held.opportunities > stats.opportunities, "{held:?}");
    assert_eq!(
        held.rate_limited, stats.rate_limited,
        "one hold, counted once: {held:?}"
    );

    // The budget refills: trading resumes. Then the rich venue answers -1015 (too many
    // orders): the leg fails, is unwound, and the venue is paused.
    rich.fault(Fault::RejectNextOrder(Reject::Injected {
        code: -1015,
        message: "Too many new orders; current limit is 1 orders per SECOND.".into(),
    }));
    let (events, paused_at_clock) =
        run_until_clocked(&mut lane, "the venue answered with a rate limit", |l| {
            l.stats().venue_pauses > 0 && !l.is_busy()
        });
    assert!(
        held.trades < lane.stats().trades,
        "trading resumed after the refill"
    );
    assert!(
        events
            .iter()
            .any(|e| matches!(e, LaneEvent::OrderFailed { .. })),
        "{events:?}"
    );
    let paused_at = lane.stats();
    // Paused with an empty budget: at that instant nothing is traded, however often polled.
    for _ in 0..200 {
        lane.poll(paused_at_clock.0, paused_at_clock.1);
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(lane.stats().trades, paused_at.trades, "{:?}", lane.stats());
}

/// An OKX leg that swept 275 levels has more fills than one fills page (100) holds: the lane
/// reads them page after page and values the leg exactly from all of them.
mod okx_fill_pages {
    use super::*;

    use kestrel_exsim::http::{HttpRequest, HttpResponse};
    use kestrel_exsim::okx::OkxFront;
    use kestrel_exsim::server::{Faults, Front, Publication, WsSession};
    use kestrel_hot::cex::lane::{LaneStats, LegFill, report_fill};
    use kestrel_hot::cex::okx::{OkxFeed, OkxFeedConfig, OkxSymbol};
    use kestrel_venues::auth::OkxSigner;
    use kestrel_venues::orders::{Amount, OkxWriter, OrderReport, Status};

    const OKX_SECRET: &str = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO";
    const OKX_PASSPHRASE: &str = "lane passphrase";
    const OKX_INST: &str = "BTC-USDT";
    /// Asks on OKX: 275 levels at 65,000.00, 65,000.01, … 65,002.74, of 0.01000, 0.01001 and
    /// 0.01002 BTC in turn (2.75274 BTC in all, whose average price OKX can only state
    /// rounded).
    const LEVELS: u64 = 275;

    fn okx_signer() -> OkxSigner {
        OkxSigner::new(
            KEY,
            &ApiSecret::new(OKX_SECRET),
            &ApiSecret::new(OKX_PASSPHRASE),
        )
        .expect("signer")
    }

    fn scales() -> Scales {
        Scales {
            price: scale(2),
            size: scale(5),
        }
    }

    fn asks() -> Vec<(u64, u64)> {
        (0..LEVELS)
            .map(|i| (6_500_000 + i, 1_000 + i % 3))
            .collect()
    }

    /// OKX's BTC-USDT as [`btc_usdt_exchange`] lists it, but 400 levels deep, with
    /// 200,000 USDT and [`asks`].
    fn okx_exchange() -> Exchange {
        let mut ex = Exchange::new(
            Venue::Okx,
            vec![
                AssetSpec {
                    name: "BTC".into(),
                    scale: scale(5),
                },
                AssetSpec {
                    name: "USDT".into(),
                    scale: scale(7),
                },
            ],
            vec![SymbolSpec {
                symbol: OKX_INST.into(),
                base: "BTC".into(),
                quote: "USDT".into(),
                price_scale: scale(2),
                size_scale: scale(5),
                tick: Fixed(1),
                lot: Fixed(1),
                min_size: Fixed(10),
                min_notional: 0,
                depth: 400,
            }],
            FeeAsset::Base,
        )
        .expect("exchange");
        ex.add_account(
            KEY,
            FeeRates {
                maker: Rate(100_000),
                taker: Rate(100_000),
            },
        );
        ex.deposit(KEY, "USDT", 200_000 * USDT);
        for (price, size) in asks() {
            ex.set_level(OKX_INST, BookSide::Ask, Fixed(price), Fixed(size));
        }
        ex.set_level(OKX_INST, BookSide::Bid, Fixed(6_499_000), Fixed(100_000));
        ex
    }

    fn leg_on(venue: Venue, feed: usize, symbol: &str, holdings: Holdings) -> LegConfig {
        LegConfig {
            venue,
            symbol: symbol.into(),
            rules: SymbolRules {
                lot: Fixed(1),
                min_size: Fixed(10),
                min_notional: 0,
            },
            ..leg(feed, holdings, Rate(100_000))
        }
    }

    /// One trade settled by a lane buying every ask on OKX (served by `okx_front`) and selling
    /// on Binance.
    struct Traded {
        lane: XarbLane,
        stats: LaneStats,
        events: Vec<LaneEvent>,
        /// The OKX leg's fill as the lane recorded it.
        okx_fill: LegFill,
        /// OKX's (BTC, USDT) before and after.
        okx_start: (u128, u128),
        okx_end: (u128, u128),
    }

    fn trade_once(okx_front: Box<dyn Front>) -> Traded {
        let okx = ExchangeServer::start(okx_exchange(), okx_front, Duration::from_millis(5))
            .expect("okx");
        // Binance is rich: 3 BTC bid at 65,500.00.
        let binance = ExchangeServer::start(
            btc_usdt_exchange(
                Venue::Binance,
                "BTCUSDT",
                KEY,
                0,
                0,
                3 * BTC,
                &[
                    (BookSide::Bid, 6_550_000, 300_000),
                    (BookSide::Ask, 6_551_000, 100_000),
                ],
            ),
            Box::new(BinanceFront::new(vec![signer().verify_key()])),
            Duration::from_millis(5),
        )
        .expect("binance");
        let okx_start = balances(&okx);
        let feeds: Vec<Box<dyn VenueFeed + Send>> = vec![
            Box::new(OkxFeed::new(OkxFeedConfig {
                ws_url: okx.ws_url(),
                symbols: vec![OkxSymbol {
                    inst_id: OKX_INST.into(),
                    price_scale: scale(2),
                    size_scale: scale(5),
                    capacity: 400,
                }],
                stale_after_ms: 60_000,
                ping_every_ms: 20_000,
            })),
            Box::new(
                BinanceFeed::new(BinanceFeedConfig {
                    ws_url: binance.ws_url(),
                    rest_url: binance.http_url(),
                    symbols: vec![FeedSymbol {
                        symbol: "BTCUSDT".into(),
                        price_scale: scale(2),
                        size_scale: scale(5),
                        capacity: 100,
                    }],
                    stale_after_ms: 60_000,
                    snapshot_limit: 100,
                })
                .expect("feed"),
            ),
        ];
        let (tx, replies) = sync_channel(64);
        let conns = [&okx, &binance]
            .iter()
            .enumerate()
            .map(|(i, s)| {
                RelayConn::connect(i, &format!("{}/", s.http_url()), tx.clone())
                    .expect("conn")
                    .into()
            })
            .collect();
        let writers: Vec<Box<dyn RequestWriter + Send>> = vec![
            Box::new(OkxWriter::new(okx_signer(), &okx.addr().to_string())),
            Box::new(BinanceWriter::new(signer(), &binance.addr().to_string())),
        ];
        let mut lane = XarbLane::new(
            LaneConfig {
                legs: vec![
                    leg_on(
                        Venue::Okx,
                        0,
                        OKX_INST,
                        Holdings {
                            base: 0,
                            quote: 200_000 * USDT,
                        },
                    ),
                    leg_on(
                        Venue::Binance,
                        1,
                        "BTCUSDT",
                        Holdings {
                            base: 3 * BTC,
                            quote: 0,
                        },
                    ),
                ],
                params: XarbParams {
                    max_size: Fixed(3 * BTC as u64),
                    min_profit: USDT,
                    safety_margin: Rate(10_000),
                    transfer_per_base: Fixed(0),
                },
                limits: RiskLimits {
                    max_drawdown: 10_000 * USDT,
                    max_imbalance: 10 * BTC,
                    max_orders_per_minute: 2,
                },
                unwind_slippage: Rate(1_000_000),
            },
            feeds,
            Execution::Orders {
                writers,
                conns,
                replies,
            },
        );

        let events = run_until(&mut lane, "one trade settled", |l| {
            l.stats().trades == 1 && !l.is_busy()
        });
        let stats = lane.stats();
        assert_eq!(
            (stats.orders, stats.fills, stats.unwinds),
            (2, 2, 0),
            "{events:?}"
        );
        let Some(okx_fill) = events.iter().find_map(|e| match e {
            LaneEvent::Filled {
                role: Role::Buy,
                venue: Venue::Okx,
                fill,
                ..
            } => Some(*fill),
            _ => None,
        }) else {
            panic!("no OKX fill: {events:?}")
        };
        let okx_end = balances(&okx);
        Traded {
            lane,
            stats,
            events,
            okx_fill,
            okx_start,
            okx_end,
        }
    }

    /// Σ price × size over [`asks`], and their sizes' sum.
    fn swept() -> (u128, u64) {
        let exact = asks()
            .iter()
            .map(|&(price, size)| u128::from(price) * u128::from(size))
            .sum();
        (exact, asks().iter().map(|(_, size)| size).sum())
    }

    /// The leg valued at the average price OKX states (cut at the quote's digits), as the
    /// lane values it when the fills cannot be had.
    fn at_average_price(exact: u128, filled: u64) -> LegFill {
        let avg = Amount::new(exact * 100_000 / u128::from(filled), 7).expect("amount");
        report_fill(
            &OrderReport {
                venue_order_id: "1".into(),
                client_id: "kx1b".into(),
                status: Some(Status::Filled),
                filled: Fixed(filled),
                notional: None,
                avg_price: Some(avg),
                fees: Vec::new(),
                fills: Vec::new(),
            },
            "BTC",
            scales(),
        )
    }

    #[test]
    fn an_okx_leg_with_more_fills_than_a_page_is_valued_exactly_from_all_of_them() {
        let Traded {
            lane,
            stats,
            events,
            okx_fill,
            okx_start,
            okx_end,
        } = trade_once(Box::new(OkxFront::new(vec![okx_signer()])));
        let (exact, filled) = swept();
        // Every level taken: one fill each, 275 in all, three pages (100, 100, 75).
        assert_eq!(okx_fill.size, Fixed(filled));
        // Valued from all of them, not at the average price.
        assert_eq!(stats.fills_at_avg_price, 0, "{events:?}");
        assert_eq!(okx_fill.notional, exact);
        assert_eq!(okx_start.1 - okx_end.1, exact, "what OKX took");
        // OKX: the order, its query, and three fills pages, each spent from the budget.
        assert_eq!(lane.requests_sent(0), 5);
        assert_eq!(lane.requests_sent(1), 1);
        // The fees of all 275 fills: the BTC OKX did not deliver.
        assert_eq!(
            (okx_fill.fee_base, okx_fill.fee_quote),
            (u128::from(filled) - okx_end.0, 0)
        );
        assert_eq!(
            lane.holdings(0),
            Some(Holdings {
                base: okx_end.0,
                quote: okx_end.1
            })
        );
        // The average price OKX states (cut at the quote's digits) would have been 2 units off.
        assert_eq!(at_average_price(exact, filled).notional + 2, exact);
    }

    /// The simulated OKX, except that every fills page it answers is full: 100 fills of
    /// 0.00001 BTC, with a cursor, whatever was asked (a venue whose pages never add up).
    struct EndlessFills(OkxFront);

    impl Front for EndlessFills {
        fn venue(&self) -> Venue {
            self.0.venue()
        }

        fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
            let answer = self.0.http(ex, request, now_ms);
            if request.path != "/api/v5/trade/fills" || answer.status != 200 {
                return answer;
            }
            let rows: Vec<String> = (0..100)
                .map(|i| {
                    format!(
                        r#"{{"instType":"SPOT","instId":"{OKX_INST}","ordId":"1","billId":"{}","tradeId":"{}","side":"buy","fillPx":"65000","fillSz":"0.00001","fee":"0","feeCcy":"BTC","ts":"{now_ms}"}}"#,
                        1_000_000 - i,
                        1_000_000 - i
                    )
                })
                .collect();
            HttpResponse::json(
                200,
                format!(r#"{{"code":"0","msg":"","data":[{}]}}"#, rows.join(",")),
            )
        }

        fn ws_open(
            &mut self,
            ex: &Exchange,
            request: &HttpRequest,
        ) -> Result<(WsSession, Vec<String>), HttpResponse> {
            self.0.ws_open(ex, request)
        }

        fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
            self.0.ws_text(ex, session, text)
        }

        fn publish(
            &mut self,
            ex: &Exchange,
            symbol: &str,
            deltas: &[(BookSide, Fixed, Fixed)],
            faults: &mut Faults,
        ) -> Vec<Publication> {
            self.0.publish(ex, symbol, deltas, faults)
        }

        fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
            self.0.deliver(session, publication)
        }
    }

    #[test]
    fn fills_pages_that_never_add_up_stop_at_the_page_cap_and_settle_at_the_average_price() {
        let t = trade_once(Box::new(EndlessFills(OkxFront::new(vec![okx_signer()]))));
        let (exact, filled) = swept();
        assert_eq!(t.okx_fill.size, Fixed(filled));
        assert_eq!(t.okx_start.1 - t.okx_end.1, exact);
        // 50 pages of 100 fills of one unit each fall short of 275,274 units: given up on.
        assert_eq!(t.stats.fills_at_avg_price, 1, "{:?}", t.events);
        assert_eq!(
            t.okx_fill.notional,
            at_average_price(exact, filled).notional
        );
        // OKX: the order, its query, and the pages up to the cap, each spent from the budget.
        assert_eq!(
            t.lane.requests_sent(0),
            2 + u64::from(kestrel_hot::cex::lane::MAX_FILL_PAGES)
        );
    }
}
