//! The cross-exchange lane against two simulated Binance-format venues: a dislocation that pays
//! after fees is taken on both at once and settles to exactly the venues' balances; a rejected
//! second leg is unwound at once with a bounded loss.

use std::net::SocketAddr;
use std::sync::mpsc::sync_channel;
use std::time::{Duration, Instant};

use kestrel_exsim::binance::{BinanceFront, ORDERS_PER_10S, ORDERS_PER_DAY, WEIGHT_PER_MINUTE};
use kestrel_exsim::bybit::BybitFront;
use kestrel_exsim::engine::{
    AssetSpec, Exchange, FeeAsset, FeeDiscount, FeeRates, Reject, SymbolSpec,
};
use kestrel_exsim::server::{ExchangeServer, Fault};
use kestrel_fire::relay::{RelayConn, ReplyLimits};
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::binance::{BinanceFeed, BinanceFeedConfig, FeedSymbol};
use kestrel_hot::cex::bybit::{BybitFeed, BybitFeedConfig, BybitSymbol};
use kestrel_hot::cex::lane::{
    Execution, FeeBasis, LaneConfig, LaneEvent, LaneStats, LaneTiming, LegConfig, LegFill, Role,
    XarbLane,
};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::{Holdings, RiskLimits, TripReason};
use kestrel_strategies::xarb::{SymbolRules, XarbParams};
use kestrel_testkit::http_proxy::{HttpProxy, Rule, Verdict};
use kestrel_testkit::tcp_proxy::TcpProxy;
use kestrel_types::Mode;
use kestrel_types::cex::{BookSide, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BinanceSigner, BybitSigner, HttpMethod};
use kestrel_venues::orders::{
    BinanceWriter, BybitWriter, ErrorClass, OrderWindow, RequestWriter, Scales,
};

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
    btc_usdt_exchange_deep(venue, symbol, key, min_notional, usdt, btc, levels, 100)
}

/// [`btc_usdt_exchange`] publishing `depth` levels a side.
#[allow(clippy::too_many_arguments)]
pub(crate) fn btc_usdt_exchange_deep(
    venue: Venue,
    symbol: &str,
    key: &str,
    min_notional: u128,
    usdt: u128,
    btc: u128,
    levels: &[(BookSide, u64, u64)],
    depth: usize,
) -> Exchange {
    let mut ex = btc_usdt_listing(venue, symbol, key, min_notional, depth, &[]);
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

/// The exchange of [`btc_usdt_exchange`] listing also `other` assets, with its account and
/// nothing deposited, its book empty.
fn btc_usdt_listing(
    venue: Venue,
    symbol: &str,
    key: &str,
    min_notional: u128,
    depth: usize,
    other: &[AssetSpec],
) -> Exchange {
    let mut assets = vec![
        AssetSpec {
            name: "BTC".into(),
            scale: scale(5),
        },
        AssetSpec {
            name: "USDT".into(),
            scale: scale(7),
        },
    ];
    assets.extend_from_slice(other);
    let mut ex = Exchange::new(
        venue,
        assets,
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
            depth,
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
    ex
}

fn leg(feed: usize, holdings: Holdings, taker_fee: Rate) -> LegConfig {
    LegConfig {
        venue: Venue::Binance,
        feed,
        book: 0,
        symbol: "BTCUSDT".into(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
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
        discounted_taker: None,
        fee_funds: None,
        buy_fee_asset: FeeAsset::Base,
        holdings,
        requests_per_second: 1_000,
        burst: 1_000,
        weight_per_minute: Some(WEIGHT_PER_MINUTE),
        order_windows: BINANCE_ORDER_WINDOWS,
    }
}

/// The simulated Binance's unfilled-order limits, as its `exchangeInfo` states them.
const BINANCE_ORDER_WINDOWS: [Option<OrderWindow>; 2] = [
    Some(OrderWindow {
        window_ms: 10_000,
        limit: ORDERS_PER_10S,
    }),
    Some(OrderWindow {
        window_ms: 86_400_000,
        limit: ORDERS_PER_DAY,
    }),
];

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
    /// Per venue, the request weight a minute the lane takes it to allow (0: unknown).
    weight_per_minute: [u32; 2],
    /// Per venue, the unfilled orders per 10 s the venue allows and the lane takes it to.
    orders_per_10s: [u32; 2],
}

impl Default for Limits {
    fn default() -> Self {
        // Two orders a minute: one trade, then the switch holds.
        Limits {
            max_size: BTC,
            max_orders_per_minute: 2,
            budget: (1_000, 1_000),
            weight_per_minute: [WEIGHT_PER_MINUTE; 2],
            orders_per_10s: [ORDERS_PER_10S; 2],
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
    lane_ordering_at(
        [cheap, rich],
        [cheap.addr(), rich.addr()],
        holdings,
        taker_fee,
        limits,
    )
}

/// [`lane_with`], its orders sent to `order_addrs` (a venue, or a proxy in front of it).
fn lane_ordering_at(
    [cheap, rich]: [&ExchangeServer; 2],
    order_addrs: [SocketAddr; 2],
    holdings: [Holdings; 2],
    taker_fee: Rate,
    limits: Limits,
) -> XarbLane {
    let leg = |feed: usize, holdings| LegConfig {
        requests_per_second: limits.budget.0,
        burst: limits.budget.1,
        weight_per_minute: limits
            .weight_per_minute
            .get(feed)
            .copied()
            .filter(|&w| w > 0),
        order_windows: [
            limits.orders_per_10s.get(feed).map(|&limit| OrderWindow {
                window_ms: 10_000,
                limit,
            }),
            BINANCE_ORDER_WINDOWS[1],
        ],
        ..leg(feed, holdings, taker_fee)
    };
    lane_of_legs(
        [cheap, rich],
        order_addrs,
        [leg(0, holdings[0]), leg(1, holdings[1])],
        limits,
    )
}

/// The lane trading `legs` on the Binance-format venues `cheap` and `rich`, with `limits`'
/// size and kill switch; orders to `order_addrs`.
fn lane_of_legs(
    [cheap, rich]: [&ExchangeServer; 2],
    order_addrs: [SocketAddr; 2],
    legs: [LegConfig; 2],
    limits: Limits,
) -> XarbLane {
    let writers: Vec<Box<dyn RequestWriter + Send>> = order_addrs
        .iter()
        .map(|addr| {
            Box::new(BinanceWriter::new(signer(), &addr.to_string()))
                as Box<dyn RequestWriter + Send>
        })
        .collect();
    XarbLane::new(
        LaneConfig {
            legs: legs.into(),
            params: xarb_params(limits.max_size as u64),
            limits: RiskLimits {
                max_drawdown: 1_000 * USDT,
                max_imbalance: BTC,
                max_orders_per_minute: limits.max_orders_per_minute,
            },
            unwind_slippage: Rate(1_000_000),
        },
        vec![
            binance_feed(cheap, "BTCUSDT"),
            binance_feed(rich, "BTCUSDT"),
        ],
        orders_at(&order_addrs, writers),
    )
}

/// The lane tests' Binance feed of `symbol` on `server` (prices to 0.01, sizes to 0.00001).
pub(crate) fn binance_feed(server: &ExchangeServer, symbol: &str) -> Box<dyn VenueFeed + Send> {
    Box::new(
        BinanceFeed::new(BinanceFeedConfig {
            ws_url: server.ws_url(),
            rest_url: server.http_url(),
            symbols: vec![FeedSymbol {
                symbol: symbol.into(),
                price_scale: scale(2),
                size_scale: scale(5),
                capacity: 100,
            }],
            stale_after_ms: 60_000,
            snapshot_limit: 100,
        })
        .expect("feed"),
    )
}

/// Orders written by `writers` (leg `i`'s by `writers[i]`) on warm keep-alive connections to
/// `addrs` (leg `i`'s to `addrs[i]`), answers on one channel.
pub(crate) fn orders_at(
    addrs: &[SocketAddr],
    writers: Vec<Box<dyn RequestWriter + Send>>,
) -> Execution {
    let (tx, replies) = sync_channel(64);
    let conns = addrs
        .iter()
        .enumerate()
        .map(|(i, addr)| {
            RelayConn::connect(i, &format!("http://{addr}/"), tx.clone())
                .expect("conn")
                .into()
        })
        .collect();
    Execution::Orders {
        writers,
        conns,
        replies,
    }
}

/// The lane tests' decision parameters: up to `max_size` size units a trade, at least 1 USDT
/// after fees and a 0.01 % margin, no transfer cost.
pub(crate) fn xarb_params(max_size: u64) -> XarbParams {
    XarbParams {
        max_size: Fixed(max_size),
        min_profit: USDT,
        safety_margin: Rate(10_000),
        transfer_per_base: Fixed(0),
    }
}

/// Four crossing levels a side, 0.2 BTC each: the cheap venue's asks (65,000.00 up) with a
/// bid under them, the rich venue's bids (65,500.00 down) with an ask over them.
fn four_level_books() -> [Vec<(BookSide, u64, u64)>; 2] {
    let asks = (0..4).map(|i| (BookSide::Ask, 6_500_000 + i * 1_000, 20_000));
    let bids = (0..4).map(|i| (BookSide::Bid, 6_550_000 - i * 1_000, 20_000));
    [
        asks.chain([(BookSide::Bid, 6_400_000, 50_000)]).collect(),
        bids.chain([(BookSide::Ask, 6_600_000, 50_000)]).collect(),
    ]
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

/// A cheap venue asking 65,000.00 for 0.2 BTC and a rich one bidding 65,500.00 for 0.3.
fn a_crossed_pair() -> [ExchangeServer; 2] {
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
    [cheap, rich]
}

/// What the lane holds on [`a_crossed_pair`]: quote where it buys, BTC where it sells.
const CROSSED_HOLDINGS: [Holdings; 2] = [
    Holdings {
        base: 0,
        quote: 50_000 * USDT,
    },
    Holdings {
        base: BTC,
        quote: 0,
    },
];

/// Polls `lane` for `ms` more milliseconds, keeping what it reports.
fn keep_polling(lane: &mut XarbLane, ms: u64, events: &mut Vec<LaneEvent>) {
    let until = Instant::now() + Duration::from_millis(ms);
    while Instant::now() < until {
        lane.poll(mono_ns(), LiveClock.unix_ms());
        events.extend(lane.drain_events());
        std::thread::sleep(Duration::from_millis(1));
    }
}

fn trips(events: &[LaneEvent]) -> usize {
    events
        .iter()
        .filter(|e| matches!(e, LaneEvent::Tripped(_)))
        .count()
}

#[test]
fn a_lane_started_tripped_opens_nothing_on_a_crossed_book_until_reset() {
    let [cheap, rich] = a_crossed_pair();
    let start = [balances(&cheap), balances(&rich)];
    // An earlier run's trip, never reset.
    let mut lane =
        lane(&cheap, &rich, CROSSED_HOLDINGS).start_tripped(TripReason::Drawdown { drawdown: 5 });
    assert_eq!(
        lane.kill_switch().tripped(),
        Some(TripReason::Drawdown { drawdown: 5 })
    );
    let mut events = run_until(&mut lane, "the crossed books were looked at", |l| {
        l.stats().opportunities > 0
    });
    keep_polling(&mut lane, 300, &mut events);
    let stats = lane.stats();
    assert_eq!((stats.trades, stats.orders), (0, 0), "{stats:?}");
    assert_eq!(
        [balances(&cheap), balances(&rich)],
        start,
        "no order reached a venue"
    );
    // The trip is the journal's already: it is not reported as a new one.
    assert_eq!(trips(&events), 0, "{events:?}");

    // Re-armed by an operator, the next look at the crossed books trades.
    lane.kill_switch().reset(0);
    rich.with_exchange(|ex| {
        ex.set_level("BTCUSDT", BookSide::Bid, Fixed(6_550_000), Fixed(30_001))
    });
    run_until(&mut lane, "a trade once reset", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    assert_ne!(balances(&cheap), start[0], "the buy reached the venue");
}

/// A venue whose order connection is down is not traded while the connection's reader thread
/// redials it: no leg goes out on the other venue only to be unwound. Once the venue listens
/// again, the redialed connection is taken and the same crossed books are traded.
#[test]
fn a_venue_being_redialed_is_not_traded_until_its_connection_is_back() {
    let [cheap, rich] = a_crossed_pair();
    let start = [balances(&cheap), balances(&rich)];
    let proxy = TcpProxy::start(rich.addr()).expect("proxy");
    let mut lane = lane_ordering_at(
        [&cheap, &rich],
        [cheap.addr(), proxy.addr()],
        CROSSED_HOLDINGS,
        Rate(100_000),
        Limits::default(),
    );
    // The rich venue's order endpoint goes down before the lane's first look at the books.
    proxy.pause();
    let mut events = run_until(&mut lane, "the crossed books were looked at", |l| {
        l.stats().opportunities > 0
    });
    keep_polling(&mut lane, 300, &mut events);
    let stats = lane.stats();
    assert_eq!(
        (stats.trades, stats.orders, stats.unwinds),
        (0, 0, 0),
        "{stats:?}"
    );
    assert_eq!(failures(&events), [], "nothing was sent to fail");
    assert_eq!(
        [balances(&cheap), balances(&rich)],
        start,
        "no order reached a venue"
    );

    proxy.resume();
    let events = run_until(&mut lane, "a trade once the venue is back", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(
        (stats.orders, stats.fills, stats.unwinds),
        (2, 2, 0),
        "{stats:?} {events:?}"
    );
    assert_ne!(balances(&cheap), start[0], "the buy reached the venue");
    assert_ne!(balances(&rich), start[1], "the sell reached the venue");
}

#[test]
fn a_trip_is_reported_once_however_many_trades_it_refuses() {
    let [cheap, rich] = a_crossed_pair();
    // No orders allowed: the first trade decided trips the switch.
    let limits = Limits {
        max_orders_per_minute: 0,
        ..Limits::default()
    };
    let mut lane = lane_with(&cheap, &rich, CROSSED_HOLDINGS, Rate(100_000), limits);
    let mut events = run_until(&mut lane, "the switch trips", XarbLane::kill_switch_tripped);
    // Each new bid is a new look at still-crossed books, each refused.
    for i in 1..=3u64 {
        let looked = lane.stats().opportunities;
        rich.with_exchange(|ex| {
            ex.set_level(
                "BTCUSDT",
                BookSide::Bid,
                Fixed(6_550_000 + i),
                Fixed(30_000),
            )
        });
        events.extend(run_until(&mut lane, "another refused look", |l| {
            l.stats().opportunities > looked
        }));
    }
    let stats = lane.stats();
    assert!(stats.opportunities >= 4, "{stats:?}");
    assert_eq!((stats.trades, stats.orders), (0, 0), "{stats:?}");
    assert_eq!(trips(&events), 1, "one trip, one event: {events:?}");
    assert!(events.contains(&LaneEvent::Tripped(TripReason::OrderRate { orders: 2 })));
}

#[test]
fn a_rejected_second_leg_is_unwound_at_once_with_a_bounded_loss() {
    let [cheap, rich] = a_crossed_pair();
    rich.fault(insufficient_balance());
    let start = balances(&cheap);
    let mut lane = lane(&cheap, &rich, CROSSED_HOLDINGS);
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
    // The PnL is the quote the trade cost, with the dust it left valued at the buy's price
    // (65,000.00): the buy's base fee is in that quote once (the unwind sold only what the buy
    // delivered), not charged a second time.
    assert_eq!(
        pnl,
        i128::try_from(usdt).unwrap() - i128::try_from(start.1).unwrap()
            + i128::try_from(btc * 6_500_000).unwrap(),
        "{events:?}"
    );
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
    // The lane sent real orders: a live run, as `kestrel run` journals its start.
    journal
        .handle()
        .append(kestrel_store::Record::RunStarted {
            run_id: "run-1".into(),
            mode: Mode::Live,
            config_toml: String::new(),
            started_unix_ms: LiveClock.unix_ms(),
        })
        .expect("journaled");
    for event in &events {
        if let Some(ev) = event.to_record(Mode::Live) {
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
    let rows = reader.latest_xarb_positions(Mode::Live).expect("positions");
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
    // Two requests at once, then one a second, on each venue.
    let limits = Limits {
        max_size: 20_000,
        max_orders_per_minute: 1_000,
        budget: (1, 2),
        ..Limits::default()
    };
    let (_cheap, rich, mut lane) = four_level_lane(WEIGHT_PER_MINUTE, limits);
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

/// A [`venue`] whose Binance front allows `weight_limit` request weight a minute and
/// `order_limit` unfilled orders per 10 s.
fn venue_limited(
    usdt: u128,
    btc: u128,
    levels: &[(BookSide, u64, u64)],
    weight_limit: u32,
    order_limit: u32,
) -> ExchangeServer {
    let ex = btc_usdt_exchange(Venue::Binance, "BTCUSDT", KEY, 5 * USDT, usdt, btc, levels);
    let front = BinanceFront::new(vec![signer().verify_key()])
        .with_weight_limit(weight_limit)
        .with_order_limit_10s(order_limit);
    ExchangeServer::start(ex, Box::new(front), Duration::from_millis(5)).expect("server")
}

/// Waits until the wall clock is `lo_s..=hi_s` seconds into its minute: Binance counts
/// request weight per wall-clock minute, and a test that spends it must not straddle two.
fn wait_for_minute_position(lo_s: u64, hi_s: u64) {
    loop {
        let at_s = LiveClock.unix_ms() % 60_000 / 1_000;
        if (lo_s..=hi_s).contains(&at_s) {
            return;
        }
        std::thread::sleep(Duration::from_millis(200));
    }
}

/// Another client of the venue (to Binance, the same IP): pings (weight 1 each) until the
/// minute's count reaches `target`. Returns the last answer's status and rate-limit headers.
fn use_weight_until(server: &ExchangeServer, target: u32) -> (u16, ReplyLimits) {
    let (tx, rx) = sync_channel(4);
    let mut conn = RelayConn::connect(0, &format!("{}/", server.http_url()), tx).expect("conn");
    let ping = b"GET /api/v3/ping HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: keep-alive\r\n\r\n";
    loop {
        conn.send_request(ping).expect("ping");
        let reply = rx.recv_timeout(Duration::from_secs(5)).expect("answer");
        let used = reply
            .limits
            .used_weight_1m
            .expect("every answer states the count");
        if used >= target || reply.status != 200 {
            return (reply.status, reply.limits);
        }
    }
}

/// Four crossing levels a side, 0.2 BTC each; each trade takes one (max size 0.2 BTC). The
/// rich venue allows `weight_limit` request weight a minute, and the unfilled orders per 10 s
/// of `limits`.
fn four_level_lane(
    weight_limit: u32,
    limits: Limits,
) -> (ExchangeServer, ExchangeServer, XarbLane) {
    let [cheap_levels, rich_levels] = four_level_books();
    let cheap = venue(100_000 * USDT, 0, &cheap_levels);
    let rich = venue_limited(0, BTC, &rich_levels, weight_limit, limits.orders_per_10s[1]);
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
    let lane = lane_with(&cheap, &rich, holdings, Rate(100_000), limits);
    (cheap, rich, lane)
}

/// [`four_level_lane`] with ample budgets (1,000 a second): only the rich venue's own count
/// can hold the lane back. `known`: whether the lane knows that venue's limit (from
/// `exchangeInfo`) to read its counts against.
fn lane_on_a_weight_limit(
    weight_limit: u32,
    known: bool,
) -> (ExchangeServer, ExchangeServer, XarbLane) {
    let limits = Limits {
        max_size: 20_000,
        max_orders_per_minute: 1_000,
        budget: (1_000, 1_000),
        weight_per_minute: [WEIGHT_PER_MINUTE, if known { weight_limit } else { 0 }],
        ..Limits::default()
    };
    four_level_lane(weight_limit, limits)
}

#[test]
fn the_venues_own_weight_count_holds_trades_back_before_it_refuses() {
    wait_for_minute_position(5, 45);
    // Another client of the IP has used all but 8 of the minute's 40: 5 go to the lane's
    // depth snapshot of the rich venue, 3 are left for orders (1 each).
    let (_cheap, rich, mut lane) = lane_on_a_weight_limit(40, true);
    let (status, _) = use_weight_until(&rich, 32);
    assert_eq!(status, 200);
    let events = run_until(&mut lane, "a trade held back by the venue's count", |l| {
        l.stats().rate_limited > 0 && !l.is_busy()
    });
    let stats = lane.stats();
    // The lane traded on what was left, read the count from each answer, and stopped at the
    // limit without drawing a single refusal.
    assert!(stats.trades >= 1, "{stats:?} {events:?}");
    assert_eq!(stats.venue_pauses, 0, "{stats:?} {events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, LaneEvent::OrderFailed { .. })),
        "{events:?}"
    );
    // Right at the limit, not short of it: the next request anyone sends is refused.
    let (status, limits) = use_weight_until(&rich, 40);
    assert_eq!(status, 429, "{limits:?}");
    assert_eq!(limits.used_weight_1m, Some(40));
    assert!(limits.retry_after_s.is_some_and(|s| s >= 1), "{limits:?}");
}

/// Waits until the wall clock is in the first half of a 10-second window: Binance counts
/// unfilled orders per window from :00, :10, .., and a test that spends them must not
/// straddle two.
fn wait_for_early_in_10s_window() {
    while LiveClock.unix_ms() % 10_000 > 4_000 {
        std::thread::sleep(Duration::from_millis(100));
    }
}

/// Another client of the account: an IOC sell of 0.001 BTC at 70,000.00, above every bid, so
/// it expires unfilled and stays counted. Its answer's status and `X-MBX-ORDER-COUNT-10S`.
fn unfilled_order_elsewhere(server: &ExchangeServer) -> (u16, Option<u32>) {
    let (tx, rx) = sync_channel(4);
    let mut conn = RelayConn::connect(0, &format!("{}/", server.http_url()), tx).expect("conn");
    let mut request = Vec::new();
    let stamp = kestrel_venues::orders::Stamp {
        unix_ms: LiveClock.unix_ms(),
        nonce: 1,
        entropy: [0; 16],
    };
    BinanceWriter::new(signer(), &server.addr().to_string())
        .new_order(
            &kestrel_venues::orders::OrderRequest {
                symbol: "BTCUSDT",
                side: kestrel_types::cex::OrderSide::Sell,
                size: Fixed(100),
                limit: Fixed(7_000_000),
                scales: Scales {
                    price: scale(2),
                    size: scale(5),
                },
                tif: kestrel_venues::orders::Tif::Ioc,
                client_id: "elsewhere-1",
            },
            &stamp,
            &mut request,
        )
        .expect("written");
    conn.send_request(&request).expect("sent");
    let reply = rx.recv_timeout(Duration::from_secs(5)).expect("answer");
    assert!(reply.body.contains("EXPIRED"), "{}", reply.body);
    let count = reply
        .limits
        .order_counts
        .iter()
        .flatten()
        .find(|c| c.window_ms == 10_000)
        .map(|c| c.count);
    (reply.status, count)
}

#[test]
fn binances_unfilled_order_count_holds_trades_back_until_its_window_ends() {
    wait_for_early_in_10s_window();
    // The rich venue allows 3 unfilled orders per 10 s; another client of the account has
    // one. The lane's sell there is counted in its answer (Binance takes a filled order off
    // only afterwards): 2 of 3, fewer left than a trade may need (its order and an unwind's).
    let limits = Limits {
        max_size: 20_000,
        max_orders_per_minute: 1_000,
        budget: (1_000, 1_000),
        orders_per_10s: [ORDERS_PER_10S, 3],
        ..Limits::default()
    };
    let (_cheap, rich, mut lane) = four_level_lane(WEIGHT_PER_MINUTE, limits);
    assert_eq!(unfilled_order_elsewhere(&rich), (200, Some(1)));
    let (events, held_at) = run_until_clocked(&mut lane, "a trade held back by the count", |l| {
        l.stats().rate_limited > 0 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(stats.trades, 1, "{stats:?} {events:?}");
    assert_eq!(stats.venue_pauses, 0, "{stats:?} {events:?}");
    assert_eq!(failures(&events), [], "no order refused");
    // On the lane's clock, up to the window's end (and the allowance for clock skew), the
    // crossing levels still there: nothing is sent.
    // Past it, the lane trades there again.
    let to_window_end_ms = (held_at.1 / 10_000 + 1) * 10_000 - held_at.1;
    let held = held_then_resumed(
        &mut lane,
        held_at,
        to_window_end_ms + 900,
        to_window_end_ms + 1_100,
    );
    assert!(held.opportunities > stats.opportunities, "{held:?}");
}

/// On the lane's clock, `held_ms` after `at` (a poll's clock readings) the lane sends nothing
/// over 50 polls; `resumed_ms` after it, it sends again. The lane's totals while held.
fn held_then_resumed(
    lane: &mut XarbLane,
    at: (u64, u64),
    held_ms: u64,
    resumed_ms: u64,
) -> LaneStats {
    let later = |ms: u64| (at.0 + ms * 1_000_000, at.1 + ms);
    let orders = lane.stats().orders;
    for _ in 0..50 {
        let (ns, ms) = later(held_ms);
        lane.poll(ns, ms);
        std::thread::sleep(Duration::from_millis(1));
    }
    let held = lane.stats();
    assert_eq!(held.orders, orders, "{held:?}");
    let (ns, ms) = later(resumed_ms);
    let deadline = Instant::now() + Duration::from_secs(5);
    while lane.stats().orders == orders {
        assert!(Instant::now() < deadline, "{:?}", lane.stats());
        lane.poll(ns, ms);
        std::thread::sleep(Duration::from_millis(1));
    }
    held
}

fn bybit_signer() -> BybitSigner {
    BybitSigner::new(KEY, &ApiSecret::new(SECRET)).expect("signer")
}

/// The lane of [`four_level_lane`] with its rich venue a simulated Bybit that allows
/// `creates` order creates per account in a rolling `window_ms`, where the account holds
/// `bybit_usdt` besides its BTC; ample budgets (1,000 a second), so that only Bybit's own
/// count can hold the lane back.
fn lane_on_bybit_order_count(
    creates: u32,
    window_ms: u64,
    bybit_usdt: u128,
) -> (ExchangeServer, ExchangeServer, XarbLane) {
    let [cheap_levels, levels] = four_level_books();
    let cheap = venue(100_000 * USDT, 0, &cheap_levels);
    let ex = btc_usdt_exchange(
        Venue::Bybit,
        "BTCUSDT",
        KEY,
        5 * USDT,
        bybit_usdt,
        BTC,
        &levels,
    );
    let front = BybitFront::new(vec![bybit_signer()]).with_order_create_limit(creates, window_ms);
    let rich = ExchangeServer::start(ex, Box::new(front), Duration::from_millis(5)).expect("bybit");
    let holdings = [
        Holdings {
            base: 0,
            quote: 100_000 * USDT,
        },
        Holdings {
            base: BTC,
            quote: bybit_usdt,
        },
    ];
    let leg = |feed: usize, venue: Venue, holdings| LegConfig {
        venue,
        weight_per_minute: (venue == Venue::Binance).then_some(WEIGHT_PER_MINUTE),
        order_windows: if venue == Venue::Binance {
            BINANCE_ORDER_WINDOWS
        } else {
            [None; 2]
        },
        ..leg(feed, holdings, Rate(100_000))
    };
    let feeds: Vec<Box<dyn VenueFeed + Send>> = vec![
        binance_feed(&cheap, "BTCUSDT"),
        Box::new(BybitFeed::new(BybitFeedConfig {
            ws_url: rich.ws_url(),
            symbols: vec![BybitSymbol {
                symbol: "BTCUSDT".into(),
                price_scale: scale(2),
                size_scale: scale(5),
                depth: 50,
                capacity: 70,
            }],
            stale_after_ms: 60_000,
            ping_every_ms: 20_000,
        })),
    ];
    let writers: Vec<Box<dyn RequestWriter + Send>> = vec![
        Box::new(BinanceWriter::new(signer(), &cheap.addr().to_string())),
        Box::new(BybitWriter::new(bybit_signer(), &rich.addr().to_string())),
    ];
    let lane = XarbLane::new(
        LaneConfig {
            legs: vec![
                leg(0, Venue::Binance, holdings[0]),
                leg(1, Venue::Bybit, holdings[1]),
            ],
            params: xarb_params(20_000),
            limits: RiskLimits {
                max_drawdown: 1_000 * USDT,
                max_imbalance: BTC,
                max_orders_per_minute: 1_000,
            },
            unwind_slippage: Rate(1_000_000),
        },
        feeds,
        orders_at(&[cheap.addr(), rich.addr()], writers),
    );
    (cheap, rich, lane)
}

/// Another client of the same Bybit account: one order create (a buy of 1 BTC at 60,000,
/// which the tests' accounts cannot pay for: refused, and counted all the same). Its answer's
/// status, `retCode` and rate-limit headers.
fn bybit_create_elsewhere(server: &ExchangeServer, link_id: &str) -> (u16, i64, ReplyLimits) {
    let (tx, rx) = sync_channel(4);
    let mut conn = RelayConn::connect(0, &format!("{}/", server.http_url()), tx).expect("conn");
    let body = format!(
        r#"{{"category":"spot","symbol":"BTCUSDT","side":"Buy","orderType":"Limit","qty":"1.00000","price":"60000.00","timeInForce":"GTC","orderLinkId":"{link_id}"}}"#
    );
    let auth = bybit_signer().headers(LiveClock.unix_ms(), 5_000, HttpMethod::Post, "", &body);
    let request = format!(
        "POST /v5/order/create HTTP/1.1\r\nHost: 127.0.0.1\r\nX-BAPI-API-KEY: {}\r\nX-BAPI-TIMESTAMP: {}\r\nX-BAPI-RECV-WINDOW: {}\r\nX-BAPI-SIGN: {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        auth.api_key,
        auth.timestamp,
        auth.recv_window,
        auth.sign,
        body.len()
    );
    conn.send_request(request.as_bytes()).expect("create");
    let reply = rx.recv_timeout(Duration::from_secs(5)).expect("answer");
    let code = reply
        .body
        .split_once(r#""retCode":"#)
        .and_then(|(_, rest)| rest.split([',', '}']).next())
        .and_then(|n| n.trim().parse().ok())
        .unwrap_or_else(|| panic!("no retCode: {}", reply.body));
    (reply.status, code, reply.limits)
}

#[test]
fn bybits_own_order_count_holds_trades_back_until_its_window_resets() {
    // Bybit allows 2 order creates in 30 s here (its own: 20 a second; a window this long
    // lets the test look inside it, and is still shorter than the feeds' 60 s staleness);
    // another client of the account has used 1. The lane's first trade there spends the last.
    let (_cheap, rich, mut lane) = lane_on_bybit_order_count(2, 30_000, 0);
    let (status, code, elsewhere) = bybit_create_elsewhere(&rich, "elsewhere-1");
    assert_eq!((status, code), (200, 170131), "refused for balance");
    assert_eq!(
        (elsewhere.bapi_limit_status, elsewhere.bapi_limit),
        (Some(1), Some(2)),
        "{elsewhere:?}"
    );
    // One left: the reset time is the time now; the window frees a request 30 s later.
    let reset_ms = elsewhere.bapi_limit_reset_ms.expect("reset") + 30_000;
    let (events, held_at) =
        run_until_clocked(&mut lane, "a trade held back by Bybit's count", |l| {
            l.stats().rate_limited > 0 && !l.is_busy()
        });
    let stats = lane.stats();
    // One trade on what was left, then held, without drawing a refusal.
    assert_eq!(stats.trades, 1, "{stats:?} {events:?}");
    assert_eq!(stats.venue_pauses, 0, "{stats:?} {events:?}");
    assert!(
        !events
            .iter()
            .any(|e| matches!(e, LaneEvent::OrderFailed { .. })),
        "{events:?}"
    );
    // Right at the limit: the next create anyone sends is refused until the reset.
    let (_, code, refused) = bybit_create_elsewhere(&rich, "elsewhere-2");
    assert_eq!(code, 10006, "{refused:?}");
    assert_eq!(refused.bapi_limit_status, Some(0));
    assert_eq!(refused.bapi_limit_reset_ms, Some(reset_ms));
    // On the lane's clock, long past a one-second pause but before the reset, the crossing
    // levels still there: nothing is sent.
    // Past the reset (and the allowance for clock skew) the lane trades there again.
    let to_reset_ms = reset_ms - held_at.1;
    let held = held_then_resumed(&mut lane, held_at, to_reset_ms - 2_000, to_reset_ms + 2_500);
    assert!(held.opportunities > stats.opportunities, "{held:?}");
}

/// A venue's refusal of the next order: the account cannot pay.
fn insufficient_balance() -> Fault {
    Fault::RejectNextOrder(Reject::Injected {
        code: -2010,
        message: "Account has insufficient balance for requested action.".into(),
    })
}

/// The failed orders in `events`: venue, role and class.
fn failures(events: &[LaneEvent]) -> Vec<(Venue, Role, ErrorClass)> {
    events
        .iter()
        .filter_map(|e| match e {
            LaneEvent::OrderFailed {
                venue, role, class, ..
            } => Some((*venue, *role, *class)),
            _ => None,
        })
        .collect()
}

/// Whether the trade closed hedged (a leg failed and was unwound).
fn closed_hedged(events: &[LaneEvent]) -> bool {
    events
        .iter()
        .any(|e| matches!(e, LaneEvent::Closed { hedged: true, .. }))
}

#[test]
fn with_one_bybit_order_left_a_failed_legs_unwind_still_goes_there() {
    // Bybit allows 3 creates in 30 s; another client has used 1. The lane's sell there leaves
    // one, which holds new trades there; the buy on Binance fails, and the unwind (buying
    // back on Bybit what was sold) still takes the one left, without drawing a refusal.
    let (cheap, rich, mut lane) = lane_on_bybit_order_count(3, 30_000, 20_000 * USDT);
    let (_, code, elsewhere) = bybit_create_elsewhere(&rich, "elsewhere-1");
    assert_eq!(code, 170131, "refused for balance, counted");
    assert_eq!(elsewhere.bapi_limit_status, Some(2), "{elsewhere:?}");
    cheap.fault(insufficient_balance());
    let events = run_until(&mut lane, "the trade closed", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(
        (stats.trades, stats.unwinds, stats.unwinds_refused),
        (1, 1, 0),
        "{stats:?} {events:?}"
    );
    assert_eq!(stats.venue_pauses, 0, "{stats:?} {events:?}");
    // Only the Binance leg failed; sold and bought back on Bybit.
    assert_unwound(
        &lane,
        (1, &rich, BTC),
        &events,
        &[(Venue::Binance, Role::Buy, ErrorClass::Rejected)],
    );
}

/// The trade in `events` closed hedged after exactly the orders `failed` failed, and the venue
/// of leg `leg` holds exactly what the lane says it does, its BTC back within a fee's dust of
/// `start_btc`. Returns that venue's (BTC, USDT).
fn assert_unwound(
    lane: &XarbLane,
    (leg, venue, start_btc): (usize, &ExchangeServer, u128),
    events: &[LaneEvent],
    failed: &[(Venue, Role, ErrorClass)],
) -> (u128, u128) {
    assert_eq!(failures(events), failed, "{events:?}");
    assert!(closed_hedged(events), "{events:?}");
    let (btc, usdt) = balances(venue);
    assert_eq!(
        lane.holdings(leg),
        Some(Holdings {
            base: btc,
            quote: usdt
        }),
        "the lane agrees with the venue to the unit"
    );
    assert!(
        btc.abs_diff(start_btc) <= 100,
        "at most the unwind's base fee: {btc}"
    );
    (btc, usdt)
}

#[test]
fn with_no_bybit_order_left_an_unwind_there_waits_for_the_reset() {
    // Bybit allows 2 creates in 2 s; another client has used 1. The lane's sell there takes
    // the last, and Bybit states when its count frees one. The buy on Binance fails: the
    // unwind on Bybit would be refused until then, so it waits for that time, and goes once.
    let window_ms = 2_000;
    let (cheap, rich, mut lane) = lane_on_bybit_order_count(2, window_ms, 20_000 * USDT);
    let (_, code, elsewhere) = bybit_create_elsewhere(&rich, "elsewhere-1");
    assert_eq!(code, 170131, "refused for balance, counted");
    assert_eq!(elsewhere.bapi_limit_status, Some(1), "{elsewhere:?}");
    // One left: the reset stated is the time now; that create leaves the window after it.
    let frees_at_ms = elsewhere.bapi_limit_reset_ms.expect("reset") + window_ms;
    cheap.fault(insufficient_balance());
    let (mut events, sent_at) =
        run_until_clocked(&mut lane, "the unwind sent", |l| l.stats().unwinds == 1);
    assert!(
        sent_at.1 >= frees_at_ms,
        "unwind sent at {} ms, {} ms before Bybit's count freed an order; {events:?}",
        sent_at.1,
        frees_at_ms.saturating_sub(sent_at.1)
    );
    events.extend(run_until(&mut lane, "the trade closed", |l| {
        l.stats().trades == 1 && !l.is_busy()
    }));
    let stats = lane.stats();
    assert_eq!(
        (stats.unwinds, stats.unwinds_refused, stats.venue_pauses),
        (1, 0, 0),
        "{stats:?} {events:?}"
    );
    assert_unwound(
        &lane,
        (1, &rich, BTC),
        &events,
        &[(Venue::Binance, Role::Buy, ErrorClass::Rejected)],
    );
}

#[test]
fn an_unwind_whose_venue_refuses_orders_for_long_is_given_up_after_ten_seconds() {
    // Bybit allows 2 creates a minute; another client has used 1 and the lane's sell takes the
    // last. The buy on Binance fails: the unwind on Bybit would be refused for about a
    // minute. The lane waits at most 10 s from the unwind's start (on its own clock, driven
    // here), then closes the trade with the sold BTC left in the open imbalance, instead of
    // keeping the trade, and every other, in flight until Bybit's count frees.
    let (cheap, rich, mut lane) = lane_on_bybit_order_count(2, 60_000, 20_000 * USDT);
    let (_, code, _) = bybit_create_elsewhere(&rich, "elsewhere-1");
    assert_eq!(code, 170131, "refused for balance, counted");
    cheap.fault(insufficient_balance());
    let mut events = run_until(&mut lane, "both legs answered", |l| {
        l.stats().orders == 2 && l.stats().fills == 1
    });
    // On the lane's clock, well inside the minute: still waiting, nothing sent.
    let (t0_ns, t0_ms) = (mono_ns(), LiveClock.unix_ms());
    for step in 1..=90u64 {
        let skew = step * 100;
        lane.poll(t0_ns + skew * 1_000_000, t0_ms + skew);
        events.extend(lane.drain_events());
        std::thread::sleep(Duration::from_millis(1));
    }
    assert!(lane.is_busy(), "given up too early: {events:?}");
    // Past 10 s: closed, the unwind never sent.
    for step in 91..=120u64 {
        let skew = step * 100;
        lane.poll(t0_ns + skew * 1_000_000, t0_ms + skew);
        events.extend(lane.drain_events());
    }
    assert!(!lane.is_busy(), "{:?} {events:?}", lane.stats());
    let stats = lane.stats();
    assert_eq!((stats.trades, stats.unwinds), (1, 0), "{stats:?}");
    assert!(closed_hedged(&events), "{events:?}");
    // The BTC sold on Bybit and never bought back is the base the trade left open (short),
    // journaled with the close and held as the lane's open imbalance.
    let open = events.iter().find_map(|e| match e {
        LaneEvent::Closed { open, .. } => Some(*open),
        _ => None,
    });
    assert!(open.is_some_and(|o| o < 0), "{events:?}");
    assert_eq!(Some(lane.open_base()), open);
}

#[test]
fn an_unwind_refused_for_rate_waits_out_the_pause_and_goes_again() {
    // The rich venue refuses the sell (no balance), so the buy on the cheap venue is unwound
    // there; the cheap venue answers that unwind 429 (no Retry-After). It is not spent as one
    // of the trade's unwinds: the lane leaves the venue alone for its pause, then sells again.
    let [cheap, rich] = a_crossed_pair();
    rich.fault(insufficient_balance());
    let orders_at = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
    let seen = std::sync::Arc::clone(&orders_at);
    let proxy = HttpProxy::start(
        cheap.addr(),
        Box::new(move |line: &str, _| {
            if !line.starts_with("POST /api/v3/order") {
                return Verdict::Pass;
            }
            let mut seen = seen.lock().expect("lock");
            seen.push(Instant::now());
            // The buy passes; the first unwind is refused without reaching the venue.
            if seen.len() == 2 {
                Verdict::Refuse(429)
            } else {
                Verdict::Pass
            }
        }),
    )
    .expect("proxy");
    let start = balances(&cheap);
    let mut lane = lane_ordering_at(
        [&cheap, &rich],
        [proxy.addr(), rich.addr()],
        CROSSED_HOLDINGS,
        Rate(100_000),
        Limits::default(),
    );
    let events = run_until(&mut lane, "the trade closed", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(
        (stats.unwinds, stats.unwinds_refused, stats.venue_pauses),
        (2, 1, 1),
        "{stats:?} {events:?}"
    );
    let at = orders_at.lock().expect("lock").clone();
    assert_eq!(at.len(), 3, "buy, refused unwind, unwind");
    let waited = at[2] - at[1];
    assert!(
        waited >= Duration::from_secs(1),
        "the venue was left alone for its pause: waited {waited:?}"
    );
    // The unwind that went sold what the buy delivered: flat again but for the fee's dust.
    let (_, usdt) = assert_unwound(
        &lane,
        (0, &cheap, 0),
        &events,
        &[
            (Venue::Binance, Role::Sell, ErrorClass::Rejected),
            (Venue::Binance, Role::Unwind, ErrorClass::Retryable),
        ],
    );
    assert!(usdt < start.1);
}

#[test]
fn a_refusal_for_weight_leaves_the_venue_alone_until_its_minute_is_over() {
    // Held by both the count in the refusal and its Retry-After.
    refusal_for_weight_leaves_the_venue_alone(true);
}

#[test]
fn a_refusal_for_weight_is_waited_out_for_its_retry_after_without_a_known_limit() {
    // No limit to read counts against: Retry-After alone holds the venue.
    refusal_for_weight_leaves_the_venue_alone(false);
}

fn refusal_for_weight_leaves_the_venue_alone(known_limit: bool) {
    wait_for_minute_position(10, 45);
    let (_cheap, rich, mut lane) = lane_on_a_weight_limit(40, known_limit);
    use_weight_until(&rich, 30);
    run_until(&mut lane, "one trade", |l| {
        l.stats().trades >= 1 && !l.is_busy()
    });
    // The lane's last count left it room; another client now spends it all. The lane's next
    // order there is refused (429, -1003, Retry-After to the minute's end): that leg fails and
    // the other is unwound.
    let (status, refused) = use_weight_until(&rich, 40);
    assert_eq!(status, 200, "{refused:?}");
    let (_, paused_at) = run_until_clocked(&mut lane, "a refusal from the rich venue", |l| {
        l.stats().venue_pauses > 0 && !l.is_busy()
    });
    let to_minute_end_ms = 60_000 - paused_at.1 % 60_000;
    // The market moves there (a far ask), so the lane looks at the venue again.
    rich.with_exchange(|ex| {
        ex.set_level("BTCUSDT", BookSide::Ask, Fixed(6_700_000), Fixed(10_000));
    });
    // 1.5 s later (past a fixed one-second pause) the venue is still left alone, though the
    // crossing levels are still there and the budget has long refilled.
    // Once the venue's minute is over (plus the allowance for clock skew), it is tried again.
    let held = held_then_resumed(&mut lane, paused_at, 1_500, to_minute_end_ms + 2_500);
    assert!(held.rate_limited > 0, "{held:?}");
}

/// What a proxy in front of the rich venue's order endpoint does with the first order it
/// passes on (the venue executes it either way).
#[derive(Clone, Copy, PartialEq, Eq)]
enum Lose {
    /// Closes the connection instead of answering.
    Close,
    /// Never answers, and keeps the connection open.
    Silent,
    /// Answers it, and every request after it, `503`.
    Answer503,
    /// Closes the connection instead of answering (as `Close`), and answers every request for
    /// an order's trades (`myTrades`) `503` without passing it on.
    CloseAndTrades503,
}

/// What the proxy does with each request: passes it on, but for the first order's answer
/// (see [`Lose`]).
fn losing(lose: Lose) -> Rule {
    let mut lost = false;
    Box::new(move |line: &str, _| {
        let is_order = line.starts_with("POST /api/v3/order");
        let is_trades = line.starts_with("GET /api/v3/myTrades");
        if (lose == Lose::Answer503 && lost) || (lose == Lose::CloseAndTrades503 && is_trades) {
            return Verdict::Refuse(503);
        }
        if !is_order || lost {
            return Verdict::Pass;
        }
        lost = true;
        match lose {
            Lose::Close | Lose::CloseAndTrades503 => Verdict::ForwardThenClose,
            Lose::Silent => Verdict::ForwardThenSilent,
            Lose::Answer503 => Verdict::ForwardThenRefuse(503),
        }
    })
}

/// The taker rate the lane takes the rich venue to charge in the tests of lost answers: above
/// the 0.1 % the venue does charge (as a rate read before a discount would be), so that a fee
/// estimated from it, rather than read from the venue's trades, shows in the holdings.
const LANE_TAKER_FEE: Rate = Rate(120_000);

/// The dislocation of the tests above, with the rich venue's orders going through a proxy
/// that loses the first order's answer as `lose` says.
fn trade_through_proxy(
    lose: Lose,
    timing: LaneTiming,
) -> (XarbLane, Vec<LaneEvent>, Vec<String>, [ExchangeServer; 2]) {
    let [cheap, rich] = a_crossed_pair();
    let proxy = HttpProxy::start(rich.addr(), losing(lose)).expect("proxy");
    let mut lane = lane_ordering_at(
        [&cheap, &rich],
        [cheap.addr(), proxy.addr()],
        CROSSED_HOLDINGS,
        LANE_TAKER_FEE,
        Limits::default(),
    )
    .with_timing(timing);
    let events = run_until(&mut lane, "the trade closed", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    (lane, events, proxy.requests(), [cheap, rich])
}

/// The settlement of the trade's `role` leg in `events`.
fn settled(events: &[LaneEvent], role: Role) -> LegFill {
    events
        .iter()
        .find_map(|e| match e {
            LaneEvent::Filled { role: r, fill, .. } if *r == role => Some(*fill),
            _ => None,
        })
        .unwrap_or_else(|| panic!("{role:?} settled: {events:?}"))
}

/// The quote fee the venue charged its one order (the rich venue's sell), notional units.
fn venue_fee(venue: &ExchangeServer) -> u128 {
    venue.with_exchange(|ex| match ex.orders(KEY, "BTCUSDT").as_slice() {
        [order] => order.fees,
        orders => panic!("one order expected: {orders:?}"),
    })
}

fn a_lost_answer_is_asked_about_and_settled_exactly(lose: Lose) {
    let timing = LaneTiming {
        answer_timeout_ms: 300,
        ..LaneTiming::default()
    };
    let (lane, events, seen, venues) = trade_through_proxy(lose, timing);
    let stats = lane.stats();
    // The sell's answer never came; the lane asked the venue by its client order id and
    // settled what the venue says it did: both legs filled, nothing to unwind.
    let query = seen
        .iter()
        .find(|l| l.starts_with("GET /api/v3/order?") && l.contains("origClientOrderId=kx"))
        .unwrap_or_else(|| panic!("no query by client id: {seen:?}"));
    assert!(query.contains("1s&"), "the sell's id: {query}");
    assert_eq!((stats.unwinds, stats.unresolved), (0, 0), "{events:?}");
    // Binance's order query gives no commission: the lane asked for the order's trades by the
    // order id the query named, and took the commission from them, not from its taker rate.
    let trades = seen
        .iter()
        .find(|l| l.starts_with("GET /api/v3/myTrades?symbol=BTCUSDT&orderId="))
        .unwrap_or_else(|| panic!("no trades request: {seen:?}"));
    assert!(trades.contains("&limit=1000&"), "{trades}");
    assert_eq!((stats.fees_estimated, stats.fills_at_avg_price), (0, 0));
    assert!(!lane.kill_switch_tripped());
    let sell = settled(&events, Role::Sell);
    assert_eq!(sell.size, Fixed(20_000), "{events:?}");
    // 0.1 % of 0.2 × 65,500.00 = 13.1 USDT, as the venue charged it (the lane's 0.12 % would
    // have made it 15.72).
    assert_eq!(sell.fee_quote, 131_000_000);
    assert_eq!(sell.fee_quote, venue_fee(&venues[1]));
    // What the lane holds is what the venues hold, to the unit.
    for (i, venue) in venues.iter().enumerate() {
        let (btc, usdt) = balances(venue);
        assert_eq!(
            lane.holdings(i),
            Some(Holdings {
                base: btc,
                quote: usdt
            }),
            "leg {i}"
        );
    }
}

#[test]
fn an_order_answer_lost_with_its_connection_is_asked_about_and_settled_exactly() {
    a_lost_answer_is_asked_about_and_settled_exactly(Lose::Close);
}

#[test]
fn an_order_answer_that_never_comes_times_out_and_is_asked_about() {
    a_lost_answer_is_asked_about_and_settled_exactly(Lose::Silent);
}

#[test]
fn a_lost_answer_whose_trades_cannot_be_had_is_settled_on_an_estimated_fee() {
    let timing = LaneTiming {
        answer_timeout_ms: 300,
        ..LaneTiming::default()
    };
    let (lane, events, seen, [cheap, rich]) = trade_through_proxy(Lose::CloseAndTrades503, timing);
    let stats = lane.stats();
    // The sell was settled from the order query; its trades were asked for once and answered
    // 503, so its fee is the lane's taker rate, rounded up, and counted.
    let asked = seen
        .iter()
        .filter(|l| l.starts_with("GET /api/v3/myTrades?"))
        .count();
    assert_eq!(asked, 1, "{seen:?}");
    assert_eq!((stats.fees_estimated, stats.fills_at_avg_price), (1, 0));
    assert_eq!((stats.unwinds, stats.unresolved), (0, 0), "{events:?}");
    assert!(!lane.kill_switch_tripped());
    let sell = settled(&events, Role::Sell);
    assert_eq!(sell.size, Fixed(20_000), "{events:?}");
    // 0.12 % of 13,100 USDT = 15.72 USDT where the venue charged 13.1: the holdings are short
    // of the venue's balance by the difference, and only on that venue.
    let charged = venue_fee(&rich);
    assert_eq!((sell.fee_quote, charged), (157_200_000, 131_000_000));
    let (btc, usdt) = balances(&rich);
    assert_eq!(
        lane.holdings(1),
        Some(Holdings {
            base: btc,
            quote: usdt - (sell.fee_quote - charged)
        })
    );
    let (btc, usdt) = balances(&cheap);
    assert_eq!(
        lane.holdings(0),
        Some(Holdings {
            base: btc,
            quote: usdt
        })
    );
}

#[test]
fn an_order_whose_outcome_cannot_be_learned_stops_trading_and_is_not_unwound() {
    let timing = LaneTiming {
        answer_timeout_ms: 300,
        query_first_delay_ms: 2,
        query_max_delay_ms: 20,
    };
    let (mut lane, events, seen, [_, rich]) = trade_through_proxy(Lose::Answer503, timing);
    let stats = lane.stats();
    // Every query of the sell answered 503: after eight the lane gives up on learning it.
    let queries = seen
        .iter()
        .filter(|l| l.starts_with("GET /api/v3/order?"))
        .count();
    assert_eq!(queries, 8, "{seen:?}");
    assert_eq!(stats.unresolved, 1);
    assert_eq!(lane.kill_switch().tripped(), Some(TripReason::Unresolved));
    assert!(events.contains(&LaneEvent::Tripped(TripReason::Unresolved)));
    // The sell did fill at the venue: unwinding the buy as if it had not would have doubled
    // the exposure. Nothing was unwound; the trade closed as hedged.
    assert_eq!(balances(&rich).0, BTC - 20_000);
    assert_eq!(stats.unwinds, 0, "{events:?}");
    assert!(
        events
            .iter()
            .any(|e| matches!(e, LaneEvent::Closed { hedged: true, .. }))
    );
}

/// A fee charged in `asset`, as the venue wrote it.
fn fee(asset: &str, text: &str) -> kestrel_venues::orders::Fee {
    kestrel_venues::orders::Fee {
        asset: asset.into(),
        amount: kestrel_venues::orders::Amount::parse(text).expect("amount"),
        rebate: false,
    }
}

/// A filled order of 0.01234 BTC for `notional` USDT notional units, charged `fees`, as read
/// by [`report_fill`](kestrel_hot::cex::lane::report_fill) at the lane tests' scales, on
/// BTCUSDT at a 0.1 % taker rate.
fn fill_of(notional: u128, fees: Vec<kestrel_venues::orders::Fee>) -> LegFill {
    use kestrel_venues::orders::{OrderReport, Status};
    let report = OrderReport {
        venue_order_id: "1".into(),
        client_id: "kx1b".into(),
        status: Some(Status::Filled),
        filled: Fixed(1_234),
        notional: Some(notional),
        avg_price: None,
        fees,
        fills: Vec::new(),
    };
    let basis = FeeBasis {
        base_asset: "BTC",
        quote_asset: "USDT",
        other_rate: Rate(100_000),
    };
    let scales = Scales {
        price: scale(2),
        size: scale(5),
    };
    kestrel_hot::cex::lane::report_fill(&report, basis, scales)
}

#[test]
fn a_fee_charged_to_more_places_than_the_lane_keeps_is_rounded_up_not_lost() {
    // Binance's commission has 8 decimals; the lane keeps BTC to 5 and USDT notional to 7.
    let fill = fill_of(
        802_232_156,
        vec![fee("BTC", "0.00001234"), fee("USDT", "0.80225228")],
    );
    // 1.234 units of BTC and 8,022,522.8 units of USDT, each charged as the next unit up.
    assert_eq!((fill.fee_base, fill.fee_quote), (2, 8_022_523));
    assert_eq!(fill.fee_other, 0, "no fee in a third asset");
    // A fee at the lane's own places is kept exactly.
    let f = fill_of(
        802_232_156,
        vec![fee("BTC", "0.00002"), fee("USDT", "0.8022522")],
    );
    assert_eq!((f.fee_base, f.fee_quote), (2, 8_022_522));
}

#[test]
fn a_fee_in_a_third_asset_is_not_booked_as_quote_but_valued_at_the_taker_rate() {
    // Binance with BNB fee payment on: a sell of 0.01234 BTC for 802.2321560 USDT whose
    // commission is 0.00123456 BNB. Counted as USDT it would be 0.0012346 USDT (BNB's 8
    // places read at USDT's 7): a unit error, and the quote held would drift from the venue's.
    let fill = fill_of(8_022_321_560, vec![fee("BNB", "0.00123456")]);
    assert_eq!(
        (fill.fee_quote, fill.fee_base),
        (0, 0),
        "neither held asset paid it"
    );
    // Valued at the 0.1 % taker rate on 802.2321560 USDT, rounded up to the notional's 7 places.
    assert_eq!(fill.fee_other, 8_022_322);
    // Kraken's query names no fee asset: the quote, as before.
    let fill = fill_of(8_022_321_560, vec![fee("", "0.8022322")]);
    assert_eq!((fill.fee_quote, fill.fee_other), (8_022_322, 0));
}

/// BNB at 600 USDT: one unit of BNB (10^-8) is worth 60 units of USDT notional (10^-7).
const USDT_UNITS_PER_BNB_UNIT: u128 = 60;

/// The account's fee rates on BTCUSDT as `server`'s signed commission endpoint states them,
/// read by the venue client.
fn stated_fee_rates(server: &ExchangeServer) -> kestrel_venues::orders::FeeRates {
    let (tx, rx) = sync_channel(4);
    let mut conn = RelayConn::connect(0, &format!("{}/", server.http_url()), tx).expect("conn");
    let mut request = Vec::new();
    let stamp = kestrel_venues::orders::Stamp {
        unix_ms: LiveClock.unix_ms(),
        nonce: 1,
        entropy: [0; 16],
    };
    BinanceWriter::new(signer(), &server.addr().to_string())
        .fee_rates("BTCUSDT", &stamp, &mut request)
        .expect("written");
    conn.send_request(&request).expect("sent");
    let reply = rx.recv_timeout(Duration::from_secs(5)).expect("answer");
    kestrel_venues::orders::parse_fee_rates(Venue::Binance, reply.status, reply.body.as_bytes())
        .expect("commission read")
}

#[test]
fn a_fee_paid_in_bnb_is_valued_at_the_discounted_rate_and_leaves_the_traded_balances_alone() {
    // The cheap venue takes fees in BNB at 0.75 of the taker rate, BNB at 600 USDT. The
    // account holds 0.02 BNB: enough for the first fill's fee, not for the second's, which
    // the venue then takes in BTC as usual.
    let bnb = AssetSpec {
        name: "BNB".into(),
        scale: scale(8),
    };
    let mut ex = btc_usdt_listing(Venue::Binance, "BTCUSDT", KEY, 5 * USDT, 100, &[bnb]);
    ex.set_fee_discount(FeeDiscount {
        asset: "BNB".into(),
        discount: Rate(75_000_000),
        quote_units_per_unit: USDT_UNITS_PER_BNB_UNIT,
    })
    .expect("discount");
    ex.deposit(KEY, "USDT", 50_000 * USDT);
    ex.deposit(KEY, "BNB", 2_000_000);
    for (side, price, size) in [
        (BookSide::Ask, 6_500_000, 20_000),
        (BookSide::Ask, 6_501_000, 20_000),
        (BookSide::Bid, 6_499_000, 50_000),
    ] {
        ex.set_level("BTCUSDT", side, Fixed(price), Fixed(size));
    }
    let cheap = ExchangeServer::start(
        ex,
        Box::new(BinanceFront::new(vec![signer().verify_key()])),
        Duration::from_millis(5),
    )
    .expect("server");
    let rich = venue(
        0,
        BTC,
        &[
            (BookSide::Bid, 6_550_000, 30_000),
            (BookSide::Ask, 6_551_000, 50_000),
        ],
    );
    // What the venue states: 0.1 % taker, 0.075 % where paid in BNB.
    let rates = stated_fee_rates(&cheap);
    assert_eq!(
        (rates.taker, rates.discounted_taker),
        (Rate(100_000), Some(Rate(75_000)))
    );
    assert_eq!(stated_fee_rates(&rich).discounted_taker, None);
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
    let mut lane = lane_of_legs(
        [&cheap, &rich],
        [cheap.addr(), rich.addr()],
        [
            LegConfig {
                discounted_taker: rates.discounted_taker,
                ..leg(0, holdings[0], rates.taker)
            },
            leg(1, holdings[1], Rate(100_000)),
        ],
        Limits::default(),
    );
    let events = run_until(&mut lane, "one trade settled", |l| {
        l.stats().trades == 1 && !l.is_busy()
    });
    let stats = lane.stats();
    assert_eq!(
        (stats.fills, stats.unwinds, stats.fees_in_other_asset),
        (2, 0, 1)
    );
    let buy = settled(&events, Role::Buy);
    // 0.2 at 65,000.00 then 0.1 at 65,010.00.
    assert_eq!(buy.size, Fixed(30_000));
    assert_eq!(buy.notional, 20_000 * 6_500_000 + 10_000 * 6_501_000);
    // The first fill's fee, 0.075 % of 13,000 USDT = 9.75 USDT, went in BNB: valued at that,
    // not at the 0.1 % an undiscounted estimate would book. The second fill's did not fit
    // the BNB left and was taken in BTC: 0.1 % of 0.1 BTC. Nothing was taken in USDT.
    assert_eq!(
        (buy.fee_other, buy.fee_base, buy.fee_quote),
        (97_500_000, 10, 0)
    );
    // The venue took that value in BNB at its price: 0.01625 BNB.
    let bnb_left = cheap.with_exchange(|ex| ex.balance(KEY, "BNB").0);
    assert_eq!(
        (2_000_000 - bnb_left) * USDT_UNITS_PER_BNB_UNIT,
        buy.fee_other
    );
    // The BNB fee moved neither held asset: the lane's holdings are the venues' balances.
    let end = [balances(&cheap), balances(&rich)];
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
    assert_eq!(
        start[0].1 - end[0].1,
        buy.notional,
        "the buy paid no USDT fee"
    );
    // The PnL charges all three fees: the sell's USDT fee (in the quote gained), the BTC fee
    // at the buy's average price (rounded up) and the BNB fee at its value.
    let quote_gain = (end[0].1 + end[1].1) as i128 - (start[0].1 + start[1].1) as i128;
    let btc_fee_value = (10 * buy.notional).div_ceil(30_000) as i128;
    assert_eq!(stats.pnl, quote_gain - btc_fee_value - 97_500_000);
    assert_eq!(stats.unprofitable_after_fees, 0);
    cheap
        .with_exchange(|ex| ex.audit())
        .expect("the venue's books balance");
}
