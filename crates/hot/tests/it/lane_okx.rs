//! The cross-exchange lane with an OKX leg, in orders mode against a simulated OKX and a
//! simulated Binance: OKX's order details give only an average price, so the lane asks for the
//! order's fills and values the OKX leg exactly from them: its notional is, unit for unit, the
//! USDT the simulated OKX account paid, where the average price would have been off. More fills
//! than a page holds are read page after page. Fills that never catch up with the order are
//! asked for again, and pages that never add up are followed to a cap, then given up on: the
//! leg is valued at the average price, and counted.

use std::time::{Duration, Instant};

use kestrel_exsim::binance::BinanceFront;
use kestrel_exsim::engine::{Exchange, FeeAsset};

use crate::lane::{
    binance_feed, btc_usdt_exchange, btc_usdt_exchange_deep, orders_at, xarb_params,
};
use kestrel_exsim::http::{HttpRequest, HttpResponse};
use kestrel_exsim::okx::OkxFront;
use kestrel_exsim::server::{ExchangeServer, Faults, Front, Publication, WsSession};
use kestrel_hot::cex::VenueFeed;
use kestrel_hot::cex::lane::{
    FeeBasis, LaneConfig, LaneEvent, LegConfig, Role, XarbLane, report_fill,
};
use kestrel_hot::cex::lane::{LaneStats, LegFill};
use kestrel_hot::cex::okx::{OkxFeed, OkxFeedConfig, OkxSymbol};
use kestrel_stdx::clock::{Clock as _, LiveClock};
use kestrel_stdx::mono_ns;
use kestrel_strategies::risk::{Holdings, RiskLimits};
use kestrel_strategies::xarb::SymbolRules;
use kestrel_types::cex::{BookSide, Fixed, Rate, Scale, Venue};
use kestrel_venues::auth::{ApiSecret, BinanceSigner, OkxSigner};
use kestrel_venues::orders::{
    Amount, BinanceWriter, OkxWriter, OrderReport, RequestWriter, Scales, Status,
};

const KEY: &str = "lane-okx-key";
const BINANCE_SECRET: &str = "lane-secret-0123456789abcdef";
const OKX_SECRET: &str = "chNOOS4KvNXR_Xq4k4c9qsfoKWvnDecLATCRlcBwyKDYnWgO";
const OKX_PASSPHRASE: &str = "lane passphrase";
const USDT: u128 = 10_000_000; // one USDT in notional units (2 + 5 digits)
const BTC: u128 = 100_000; // one BTC in size units
const OKX_INST: &str = "BTC-USDT";
const BINANCE_SYMBOL: &str = "BTCUSDT";

fn scale(d: u8) -> Scale {
    Scale::new(d).expect("scale")
}

fn scales() -> Scales {
    Scales {
        price: scale(2),
        size: scale(5),
    }
}

fn binance_signer() -> BinanceSigner {
    BinanceSigner::hmac(KEY, &ApiSecret::new(BINANCE_SECRET)).expect("signer")
}

fn okx_signer() -> OkxSigner {
    OkxSigner::new(
        KEY,
        &ApiSecret::new(OKX_SECRET),
        &ApiSecret::new(OKX_PASSPHRASE),
    )
    .expect("signer")
}

/// One venue's BTC/USDT exchange ([`btc_usdt_exchange`]) with no minimum order value.
fn exchange(
    venue: Venue,
    symbol: &str,
    usdt: u128,
    btc: u128,
    levels: &[(BookSide, u64, u64)],
) -> Exchange {
    btc_usdt_exchange(venue, symbol, KEY, 0, usdt, btc, levels)
}

fn leg(venue: Venue, feed: usize, symbol: &str, holdings: Holdings) -> LegConfig {
    LegConfig {
        venue,
        feed,
        book: 0,
        symbol: symbol.into(),
        base_asset: "BTC".into(),
        quote_asset: "USDT".into(),
        scales: scales(),
        tick: Fixed(1),
        rules: SymbolRules {
            lot: Fixed(1),
            min_size: Fixed(10),
            min_notional: 0,
        },
        taker_fee: Rate(100_000),
        discounted_taker: None,
        fee_funds: None,
        buy_fee_asset: FeeAsset::Base,
        holdings,
        requests_per_second: 1_000,
        burst: 1_000,
        weight_per_minute: None,
        order_windows: [None; 2],
    }
}

fn balances(server: &ExchangeServer) -> (u128, u128) {
    server.with_exchange(|ex| (ex.balance(KEY, "BTC").0, ex.balance(KEY, "USDT").0))
}

/// The simulated OKX, except that a successful fills answer is replaced by `fills(now_ms)`:
/// fills that lag for good, or pages that never add up; and the first `unsettled_queries`
/// order details of a filled order say it is still partially filled.
struct RewrittenFills {
    okx: OkxFront,
    fills: fn(u64) -> String,
    unsettled_queries: u32,
}

fn rewritten_fills(fills: fn(u64) -> String) -> Box<dyn Front> {
    rewritten_fills_after(fills, 0)
}

/// [`rewritten_fills`], the order's state lagging for its first `unsettled_queries` queries.
fn rewritten_fills_after(fills: fn(u64) -> String, unsettled_queries: u32) -> Box<dyn Front> {
    Box::new(RewrittenFills {
        okx: OkxFront::new(vec![okx_signer()]),
        fills,
        unsettled_queries,
    })
}

impl Front for RewrittenFills {
    fn venue(&self) -> Venue {
        self.okx.venue()
    }

    fn http(&mut self, ex: &mut Exchange, request: &HttpRequest, now_ms: u64) -> HttpResponse {
        let mut answer = self.okx.http(ex, request, now_ms);
        if request.path == "/api/v5/trade/fills" && answer.status == 200 {
            return HttpResponse::json(200, (self.fills)(now_ms));
        }
        let filled = r#""state":"filled""#;
        if request.method == "GET"
            && request.path == "/api/v5/trade/order"
            && answer.body.contains(filled)
            && self.unsettled_queries > 0
        {
            self.unsettled_queries -= 1;
            answer.body = answer.body.replace(filled, r#""state":"partially_filled""#);
        }
        answer
    }

    fn ws_open(
        &mut self,
        ex: &Exchange,
        request: &HttpRequest,
    ) -> Result<(WsSession, Vec<String>), HttpResponse> {
        self.okx.ws_open(ex, request)
    }

    fn ws_text(&mut self, ex: &Exchange, session: &mut WsSession, text: &str) -> Vec<String> {
        self.okx.ws_text(ex, session, text)
    }

    fn publish(
        &mut self,
        ex: &Exchange,
        symbol: &str,
        deltas: &[(BookSide, Fixed, Fixed)],
        faults: &mut Faults,
    ) -> Vec<Publication> {
        self.okx.publish(ex, symbol, deltas, faults)
    }

    fn deliver(&self, session: &mut WsSession, publication: &Publication) -> String {
        self.okx.deliver(session, publication)
    }
}

/// No fill shown, ever.
fn no_fills(_now_ms: u64) -> String {
    r#"{"code":"0","msg":"","data":[]}"#.into()
}

/// Always a full page: 100 fills of 0.00001 BTC with a cursor, whatever was asked.
fn endless_fills(now_ms: u64) -> String {
    let rows: Vec<String> = (0..100u64)
        .map(|i| {
            let id = 1_000_000 - i;
            format!(
                r#"{{"instType":"SPOT","instId":"{OKX_INST}","ordId":"1","billId":"{id}","tradeId":"{id}","side":"buy","fillPx":"65000","fillSz":"0.00001","fee":"0","feeCcy":"BTC","ts":"{now_ms}"}}"#
            )
        })
        .collect();
    format!(r#"{{"code":"0","msg":"","data":[{}]}}"#, rows.join(","))
}

/// One trade settled by a lane buying on OKX (served by `okx_front`) and selling on Binance.
struct Traded {
    lane: XarbLane,
    stats: LaneStats,
    events: Vec<LaneEvent>,
    /// The OKX leg's fill as the lane recorded it.
    okx_fill: LegFill,
    /// What the OKX account paid, USDT in notional units.
    okx_paid: u128,
    /// Per leg: (BTC, USDT) after.
    end: [(u128, u128); 2],
}

/// [`trade_on`] OKX's book of 1 BTC at 65,000.00 and 2 at 65,000.01, whose average
/// (65,000.00666…) OKX can only state rounded.
fn trade_once(okx_front: Box<dyn Front>) -> Traded {
    let okx = exchange(
        Venue::Okx,
        OKX_INST,
        200_000 * USDT,
        0,
        &[
            (BookSide::Ask, 6_500_000, 100_000),
            (BookSide::Ask, 6_500_001, 200_000),
            (BookSide::Bid, 6_499_000, 100_000),
        ],
    );
    trade_on(okx_front, okx, 100)
}

/// One trade: the lane buys on the cheap OKX exchange `okx` (its feed holding `capacity`
/// levels) and sells on a rich Binance, 3 BTC bid at 65,500.00.
fn trade_on(okx_front: Box<dyn Front>, okx: Exchange, capacity: usize) -> Traded {
    let okx = ExchangeServer::start(okx, okx_front, Duration::from_millis(5)).expect("okx");
    let binance = ExchangeServer::start(
        exchange(
            Venue::Binance,
            BINANCE_SYMBOL,
            0,
            3 * BTC,
            &[
                (BookSide::Bid, 6_550_000, 300_000),
                (BookSide::Ask, 6_551_000, 100_000),
            ],
        ),
        Box::new(BinanceFront::new(vec![binance_signer().verify_key()])),
        Duration::from_millis(5),
    )
    .expect("binance");
    let start = balances(&okx);

    let feeds: Vec<Box<dyn VenueFeed + Send>> = vec![
        Box::new(OkxFeed::new(OkxFeedConfig {
            ws_url: okx.ws_url(),
            symbols: vec![OkxSymbol {
                inst_id: OKX_INST.into(),
                price_scale: scale(2),
                size_scale: scale(5),
                capacity,
            }],
            stale_after_ms: 60_000,
            ping_every_ms: 20_000,
        })),
        binance_feed(&binance, BINANCE_SYMBOL),
    ];
    let writers: Vec<Box<dyn RequestWriter + Send>> = vec![
        Box::new(OkxWriter::new(okx_signer(), &okx.addr().to_string())),
        Box::new(BinanceWriter::new(
            binance_signer(),
            &binance.addr().to_string(),
        )),
    ];
    let mut lane = XarbLane::new(
        LaneConfig {
            legs: vec![
                leg(
                    Venue::Okx,
                    0,
                    OKX_INST,
                    Holdings {
                        base: 0,
                        quote: 200_000 * USDT,
                    },
                ),
                leg(
                    Venue::Binance,
                    1,
                    BINANCE_SYMBOL,
                    Holdings {
                        base: 3 * BTC,
                        quote: 0,
                    },
                ),
            ],
            params: xarb_params(3 * BTC as u64),
            limits: RiskLimits {
                max_drawdown: 10_000 * USDT,
                max_imbalance: 10 * BTC,
                max_orders_per_minute: 2,
            },
            unwind_slippage: Rate(1_000_000),
        },
        feeds,
        orders_at(&[okx.addr(), binance.addr()], writers),
    );

    let deadline = Instant::now() + Duration::from_secs(10);
    let mut events = Vec::new();
    while lane.stats().trades != 1 || lane.is_busy() {
        assert!(
            Instant::now() < deadline,
            "timed out; {:?}; {events:?}",
            lane.stats()
        );
        lane.poll(mono_ns(), LiveClock.unix_ms());
        events.extend(lane.drain_events());
        std::thread::sleep(Duration::from_millis(1));
    }
    events.extend(lane.drain_events());
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
    let end = [balances(&okx), balances(&binance)];
    Traded {
        lane,
        stats,
        events,
        okx_fill,
        okx_paid: start.1 - end[0].1,
        end,
    }
}

/// 1 × 65,000.00 + 2 × 65,000.01, in notional units.
const PAID: u128 = 100_000 * 6_500_000 + 200_000 * 6_500_001;

/// The OKX leg valued as the lane did before it asked for fills: at the average price OKX
/// states (65,000.0066666, cut at the quote's digits), rounded.
fn at_average_price(filled: Fixed, paid: u128) -> LegFill {
    let avg = Amount::new(paid * 100_000 / u128::from(filled.0), 7).expect("amount");
    report_fill(
        &OrderReport {
            venue_order_id: "1".into(),
            client_id: "kx1b".into(),
            status: Some(Status::Filled),
            filled,
            notional: None,
            avg_price: Some(avg),
            fees: Vec::new(),
            fills: Vec::new(),
        },
        FeeBasis {
            base_asset: "BTC",
            quote_asset: "USDT",
            other_rate: Rate(100_000),
        },
        scales(),
    )
}

#[test]
fn an_okx_leg_is_valued_exactly_from_its_fills() {
    let t = trade_once(Box::new(OkxFront::new(vec![okx_signer()])));
    assert_eq!(t.stats.fills_at_avg_price, 0);
    // OKX: the order, its query (the acknowledgement carries ids only), its fills.
    assert_eq!(t.lane.requests_sent(0), 3);
    assert_eq!(t.lane.requests_sent(1), 1);
    // Both levels taken.
    assert_eq!(t.okx_fill.size, Fixed(300_000));
    assert_eq!(t.okx_paid, PAID);
    assert_eq!(
        t.okx_fill.notional, t.okx_paid,
        "the OKX leg's notional is what OKX took"
    );
    // Its fee (0.1 % of the BTC, in BTC) is the BTC it did not deliver.
    assert_eq!(
        (t.okx_fill.fee_base, t.okx_fill.fee_quote),
        (u128::from(t.okx_fill.size.0) - t.end[0].0, 0)
    );
    // The lane's settled holdings are the venues' balances, unit for unit.
    for (i, (btc, usdt)) in t.end.iter().enumerate() {
        assert_eq!(
            t.lane.holdings(i),
            Some(Holdings {
                base: *btc,
                quote: *usdt
            }),
            "leg {i}"
        );
    }
    // The average price would have been two units short.
    assert_eq!(
        at_average_price(t.okx_fill.size, t.okx_paid).notional + 2,
        PAID
    );
}

#[test]
fn fills_that_never_add_up_are_asked_again_then_valued_at_the_average_price() {
    let t = trade_once(rewritten_fills(no_fills));
    assert_eq!(t.stats.fills_at_avg_price, 1);
    // The order, one query, then the first fills page and three re-asks from it.
    assert_eq!(t.lane.requests_sent(0), 6);
    assert_eq!(t.okx_paid, PAID);
    assert_eq!(
        t.okx_fill.notional,
        at_average_price(t.okx_fill.size, t.okx_paid).notional
    );
    assert_eq!(t.okx_fill.notional + 2, t.okx_paid);
    // The fee comes from the order details then: 0.1 % of 3 BTC, in BTC.
    assert_eq!((t.okx_fill.fee_base, t.okx_fill.fee_quote), (300, 0));
}

#[test]
fn fills_that_lag_are_asked_again_however_many_queries_the_order_took() {
    // The order's state lags for two queries: three in all before it reads filled.
    let t = trade_once(rewritten_fills_after(no_fills, 2));
    assert_eq!(t.stats.fills_at_avg_price, 1, "{:?}", t.events);
    // The queries leave the fills their re-asks: the order, three queries, the first fills
    // page and three re-asks.
    assert_eq!(t.lane.requests_sent(0), 8, "{:?}", t.events);
    assert_eq!(
        t.okx_fill.notional,
        at_average_price(t.okx_fill.size, t.okx_paid).notional
    );
    // Independently of the lane's own valuation: the venue took exactly both levels, and the
    // average price (65,000.0066666) leaves the leg two units short of it.
    assert_eq!(t.okx_paid, PAID);
    assert_eq!(t.okx_fill.notional + 2, PAID);
}

/// OKX asks of 275 levels, 65,000.00, 65,000.01, … 65,002.74, of 0.01000, 0.01001 and 0.01002
/// BTC in turn: a sweep has more fills than one fills page (100) holds.
fn deep_asks() -> Vec<(BookSide, u64, u64)> {
    (0..275)
        .map(|i| (BookSide::Ask, 6_500_000 + i, 1_000 + i % 3))
        .chain([(BookSide::Bid, 6_499_000, 100_000)])
        .collect()
}

/// The lane sweeping [`deep_asks`] on OKX, and (Σ price × size, Σ size) over those asks.
fn sweep_deep(okx_front: Box<dyn Front>) -> (Traded, u128, Fixed) {
    let levels = deep_asks();
    let okx = btc_usdt_exchange_deep(
        Venue::Okx,
        OKX_INST,
        KEY,
        0,
        200_000 * USDT,
        0,
        &levels,
        400,
    );
    let asks = levels.iter().filter(|(side, ..)| *side == BookSide::Ask);
    let exact = asks
        .clone()
        .map(|&(_, price, size)| u128::from(price) * u128::from(size))
        .sum();
    let filled = asks.map(|&(.., size)| size).sum();
    (trade_on(okx_front, okx, 400), exact, Fixed(filled))
}

#[test]
fn an_okx_leg_with_more_fills_than_a_page_is_valued_exactly_from_all_of_them() {
    let (t, exact, filled) = sweep_deep(Box::new(OkxFront::new(vec![okx_signer()])));
    // Every level taken: one fill each, 275 in all, three pages (100, 100, 75).
    assert_eq!(t.okx_fill.size, filled);
    // Valued from all of them, not at the average price.
    assert_eq!(t.stats.fills_at_avg_price, 0, "{:?}", t.events);
    assert_eq!(t.okx_fill.notional, exact);
    assert_eq!(t.okx_paid, exact, "what OKX took");
    // OKX: the order, its query, and three fills pages, each spent from the budget.
    assert_eq!(t.lane.requests_sent(0), 5);
    assert_eq!(t.lane.requests_sent(1), 1);
    // The fees of all 275 fills: the BTC OKX did not deliver.
    assert_eq!(
        (t.okx_fill.fee_base, t.okx_fill.fee_quote),
        (u128::from(filled.0) - t.end[0].0, 0)
    );
    assert_eq!(
        t.lane.holdings(0),
        Some(Holdings {
            base: t.end[0].0,
            quote: t.end[0].1
        })
    );
    // The average price OKX states (cut at the quote's digits) would have been 2 units off.
    assert_eq!(at_average_price(filled, exact).notional + 2, exact);
}

#[test]
fn fills_pages_that_never_add_up_stop_at_the_page_cap_and_settle_at_the_average_price() {
    let (t, exact, filled) = sweep_deep(rewritten_fills(endless_fills));
    assert_eq!(t.okx_fill.size, filled);
    assert_eq!(t.okx_paid, exact);
    // 50 pages of 100 fills of one unit each fall short of 275,274 units: given up on.
    assert_eq!(t.stats.fills_at_avg_price, 1, "{:?}", t.events);
    assert_eq!(
        t.okx_fill.notional,
        at_average_price(filled, exact).notional
    );
    // OKX: the order, its query, and the pages up to the cap, each spent from the budget.
    assert_eq!(
        t.lane.requests_sent(0),
        2 + u64::from(kestrel_venues::orders::MAX_FILL_PAGES)
    );
}
