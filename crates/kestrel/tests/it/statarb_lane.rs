//! The stat-arb lane against a simulated Binance-format venue with two cointegrated pairs: it
//! selects a true pair first, re-selects on schedule, trades round trips with fees on paper
//! (no order reaches the venue) or with real IOC orders (the venue's balances move by exactly
//! the fills the lane booked), journals every event, and a restarted lane takes over the trades
//! the journal holds open.

use std::collections::BTreeMap;
use std::time::{Duration, Instant};

use kestrel::statarb_lane::{
    LaneEvent, LaneJournal, LiveOrders, StatArbLane, StatArbOrders, StatArbRun, StatArbTotals,
    feeds,
};
use kestrel::statarb_sim::{self, StatArbSim};
use kestrel_store::{Journal, StatArbRecord};

/// How long a lane trades at least, wall time (at 20 ms a bar, ~150 bars) ...
const RUN_MIN: Duration = Duration::from_secs(3);
/// ... and at most, when a loaded machine slows it down before two trades closed.
const RUN_MAX: Duration = Duration::from_secs(10);

fn is_true_pair(p: &(String, String)) -> bool {
    let t = [("AAAUSDT", "BBBUSDT"), ("CCCUSDT", "DDDUSDT")];
    t.iter()
        .any(|(a, b)| (p.0 == *a && p.1 == *b) || (p.0 == *b && p.1 == *a))
}

fn paper_lane(sim: &StatArbSim) -> StatArbLane {
    let spec = sim.lane_spec().unwrap();
    let feeds = feeds(&spec).unwrap();
    StatArbLane::start(spec, feeds, StatArbOrders::Paper, &[]).unwrap()
}

/// Polls until `RUN_MIN` has passed and `trades` round trips closed (or `RUN_MAX`).
fn trade(lane: &mut StatArbLane, trades: u64, events: &mut Vec<LaneEvent>) -> StatArbTotals {
    let t0 = Instant::now();
    while t0.elapsed() < RUN_MAX && (t0.elapsed() < RUN_MIN || lane.totals().trades < trades) {
        lane.poll().unwrap();
        events.extend(lane.drain_events());
        std::thread::sleep(Duration::from_millis(2));
    }
    lane.totals()
}

/// Checks the events against the totals: one `Closed` per trade whose PnL sums to the lane's,
/// fills that sum to each closed trade's gross and fees, pair events matching the counts.
fn check_events(events: &[LaneEvent], totals: &StatArbTotals) {
    let mut closed_pnl = 0i128;
    let mut closed = 0u64;
    let mut cash: BTreeMap<u64, (i128, i128)> = BTreeMap::new();
    let (mut added, mut dropped) = (0u64, 0u64);
    for e in events {
        assert!(e.run_id.is_none(), "{e:?}");
        match &e.ev {
            StatArbRecord::PairAdded { fraction, .. } => {
                added += 1;
                assert!((0.0..=1.0).contains(fraction), "{e:?}");
            }
            StatArbRecord::PairDropped { .. } => dropped += 1,
            StatArbRecord::Fill {
                trade_id,
                side,
                notional_units,
                fee_units,
                fee_base_value_units,
                ..
            } => {
                // A close reports gross as if a base fee had been paid in quote, and that
                // fee among its fees.
                let c = cash.entry(*trade_id).or_default();
                let n = i128::try_from(*notional_units).unwrap();
                let base_fee = i128::try_from(*fee_base_value_units).unwrap();
                c.0 += if side == "buy" { -n } else { n } + base_fee;
                c.1 += i128::try_from(*fee_units).unwrap() + base_fee;
            }
            StatArbRecord::Closed {
                trade_id,
                reason,
                gross_units,
                fees_units,
                pnl_units,
                ..
            } => {
                if reason == "unfilled" {
                    continue;
                }
                closed += 1;
                closed_pnl += pnl_units;
                assert_eq!(*pnl_units, gross_units - fees_units, "{e:?}");
                assert_eq!(
                    cash.get(trade_id).copied().unwrap_or_default(),
                    (*gross_units, *fees_units),
                    "the fills of trade {trade_id} do not make its close"
                );
            }
            StatArbRecord::Entered { notional_units, .. } => {
                assert!(*notional_units > 0, "{e:?}");
            }
        }
    }
    assert_eq!(closed, totals.trades, "{totals:?}");
    assert_eq!(closed_pnl, totals.pnl_units, "{totals:?}");
    assert_eq!(added, totals.pairs_added, "{totals:?}");
    assert_eq!(dropped, totals.pairs_dropped, "{totals:?}");
}

#[test]
fn paper_lane_selects_cointegrated_pairs_reselects_and_trades_without_orders() {
    let mut sim = StatArbSim::start(7, 20).unwrap();
    let before = sim.balances();
    let mut lane = paper_lane(&sim);
    let started = lane.totals();
    assert_eq!(
        sim.balances(),
        before,
        "reading fees, rules and history changed the account"
    );
    assert_eq!(started.selections, 1);
    assert!(started.pairs_selected >= 1, "{started:?}");
    // Ranked best first: every cointegrated pair selected comes before any unrelated one.
    let true_ranks: Vec<bool> = started.pairs.iter().map(is_true_pair).collect();
    assert!(true_ranks[0], "best pair is unrelated: {started:?}");
    assert!(
        true_ranks.windows(2).all(|w| w[0] || !w[1]),
        "an unrelated pair ranks above a cointegrated one: {started:?}"
    );

    let mut events = Vec::new();
    let totals = trade(&mut lane, 2, &mut events);
    sim.stop();
    eprintln!("statarb: {totals:?}, bars made {}", sim.bars_made());

    assert!(totals.bars > 50, "{totals:?}");
    // Selection every 100 bars.
    assert_eq!(totals.selections, 1 + totals.bars / 100, "{totals:?}");
    assert!(totals.trades >= 1, "{totals:?}");
    assert!(totals.fills >= 4 * totals.trades, "{totals:?}");
    assert!(totals.fees_units > 0, "{totals:?}");
    assert_eq!(totals.pnl_units, totals.gross_units - totals.fees_units);
    // Every fee is the 0.1 % taker rate, rounded up per fill (a base fee to a whole lot).
    assert!(
        totals.fees_units * 1000 <= totals.turnover_units * 101 / 100,
        "{totals:?}"
    );
    assert!(
        totals.fees_units * 1000 >= totals.turnover_units * 99 / 100,
        "{totals:?}"
    );
    // The lane's cash is closed trades' PnL plus what open trades have paid so far, exactly.
    assert_eq!(lane.cash_units(), totals.pnl_units + totals.open_units);
    assert_eq!(sim.balances(), before, "an order reached the venue");
    check_events(&events, &totals);
}

#[test]
fn live_lane_sends_ioc_orders_and_the_venue_balances_move_by_its_fills() {
    let mut sim = StatArbSim::start(11, 20).unwrap();
    let before = sim.balances();
    let spec = sim.lane_spec().unwrap();
    let feeds = feeds(&spec).unwrap();
    let orders = StatArbOrders::Live(LiveOrders::new(Box::new(sim.writer()), &sim.rest_url()));
    let mut lane = StatArbLane::start(spec, feeds, orders, &[]).unwrap();
    let mut events = Vec::new();
    let totals = trade(&mut lane, 2, &mut events);
    sim.stop();
    eprintln!("statarb live: {totals:?}");
    for e in &events {
        if let StatArbRecord::Fill { error: Some(_), .. } = &e.ev {
            eprintln!("failed: {e:?}");
        }
    }
    assert!(totals.trades >= 1, "{totals:?}");
    check_events(&events, &totals);
    check_venue_moved_by_fills(&before, &sim.balances(), &events);
}

/// The venue's USDT moved by exactly the lane's cash (every fill's notional, every quote fee);
/// each base by exactly the signed fills less base fees.
fn check_venue_moved_by_fills(
    before: &[(String, u128, u128)],
    after: &[(String, u128, u128)],
    events: &[LaneEvent],
) {
    let total = |b: &[(String, u128, u128)], asset: &str| {
        b.iter()
            .find(|(a, _, _)| a == asset)
            .map_or(0, |(_, free, locked)| {
                i128::try_from(free + locked).unwrap()
            })
    };
    let mut base_moves: BTreeMap<String, i128> = BTreeMap::new();
    let mut quote_move = 0i128;
    for e in events {
        if let StatArbRecord::Fill {
            symbol,
            side,
            size_units,
            notional_units,
            fee_units,
            fee_base_units,
            error,
            ..
        } = &e.ev
        {
            if error.is_some() {
                assert_eq!(*size_units, 0, "{e:?}");
                continue;
            }
            let size = i128::from(*size_units);
            let n = i128::try_from(*notional_units).unwrap();
            let fee = i128::try_from(*fee_units).unwrap();
            let fee_base = i128::try_from(*fee_base_units).unwrap();
            let base = base_moves.entry(symbol.clone()).or_default();
            if side == "buy" {
                // The simulated venue takes a buy's fee in base.
                *base += size - fee_base;
                quote_move -= n + fee;
            } else {
                *base -= size;
                quote_move += n - fee;
            }
        }
    }
    assert_eq!(
        total(after, "USDT") - total(before, "USDT"),
        quote_move,
        "USDT moved by other than the lane's fills"
    );
    for (symbol, base) in statarb_sim::SYMBOLS
        .iter()
        .zip(["AAA", "BBB", "CCC", "DDD"])
    {
        let moved = total(after, base) - total(before, base);
        let booked = base_moves.get(*symbol).copied().unwrap_or(0);
        assert_eq!(
            moved, booked,
            "{base}: the venue moved other than the lane booked"
        );
    }
}

/// An order the venue filled but whose answer never came (the connection closed on it) is
/// found by its client id, and its fee read from its trades (`myTrades`: Binance's order
/// query carries no commission), so the venue's balances still move by exactly what the lane
/// booked. Booked without a fee, a buy's base or a sell's quote would be off by that fee.
#[test]
fn an_order_whose_answer_is_lost_is_valued_from_its_trades() {
    use kestrel_testkit::http_proxy::{HttpProxy, Verdict};
    let mut sim = StatArbSim::start(11, 20).unwrap();
    let before = sim.balances();
    let spec = sim.lane_spec().unwrap();
    let feeds = feeds(&spec).unwrap();
    let upstream = sim
        .rest_url()
        .trim_start_matches("http://")
        .parse()
        .expect("venue address");
    let mut lost = false;
    let proxy = HttpProxy::start(
        upstream,
        Box::new(move |line: &str, _| {
            if !lost && line.starts_with("POST /api/v3/order") {
                lost = true;
                Verdict::ForwardThenClose
            } else {
                Verdict::Pass
            }
        }),
    )
    .expect("proxy");
    let orders = StatArbOrders::Live(LiveOrders::new(Box::new(sim.writer()), &proxy.url()));
    let mut lane = StatArbLane::start(spec, feeds, orders, &[]).unwrap();
    let mut events = Vec::new();
    let totals = trade(&mut lane, 1, &mut events);
    sim.stop();
    let requests = proxy.requests();
    let first_order = requests
        .iter()
        .position(|l| l.starts_with("POST /api/v3/order"))
        .expect("an order was sent");
    let after_loss = &requests[first_order + 1..];
    assert!(
        after_loss
            .iter()
            .take_while(|l| !l.starts_with("POST "))
            .any(|l| l.starts_with("GET /api/v3/order?")),
        "the lost order was not asked for: {after_loss:?}"
    );
    assert!(
        after_loss
            .iter()
            .any(|l| l.starts_with("GET /api/v3/myTrades?")),
        "the lost order's trades were not asked for: {after_loss:?}"
    );
    assert_eq!(totals.fees_estimated, 0, "{totals:?}");
    assert!(totals.fills >= 1, "{totals:?}");
    check_events(&events, &totals);
    check_venue_moved_by_fills(&before, &sim.balances(), &events);
}

#[test]
fn a_journaled_run_reads_back_exactly() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statarb.sqlite");
    let journal = Journal::open(&path, 4096).unwrap();
    let sim = StatArbSim::start(7, 20).unwrap();
    let lane = paper_lane(&sim);
    let run = StatArbRun::start(
        lane,
        5,
        None,
        Some(LaneJournal {
            journal: journal.handle(),
            run_id: "run-1".into(),
        }),
        Box::new(move || drop(sim)),
    )
    .unwrap();
    std::thread::sleep(RUN_MIN);
    let gauges = std::sync::Arc::clone(run.gauges());
    let totals = run.stop().unwrap();
    journal.close().unwrap();
    eprintln!("statarb journaled: {totals:?}");
    // `/metrics` text of the stopped lane: its final totals.
    let mut text = String::new();
    gauges.render(&mut text);
    for line in [
        format!("kestrel_statarb_trades_total {}", totals.trades),
        format!("kestrel_statarb_fills_total {}", totals.fills),
        format!("kestrel_statarb_bars_total {}", totals.bars),
        format!("kestrel_statarb_pairs_selected {}", totals.pairs_selected),
        format!("kestrel_statarb_pnl_quote {}", totals.pnl_quote),
    ] {
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    for (reason, n) in &totals.skipped_entries {
        let line = format!("kestrel_statarb_skipped_entries_total{{reason=\"{reason}\"}} {n}");
        assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
    }
    assert!(totals.bars > 0, "{totals:?}");
    let reader = kestrel_store::open_readonly(&path).unwrap();
    let trades = reader.statarb_trades("run-1").unwrap();
    let booked: Vec<_> = trades
        .iter()
        .filter(|t| t.exit_reason.as_deref().is_some_and(|r| r != "unfilled"))
        .collect();
    assert_eq!(booked.len() as u64, totals.trades, "{trades:?}");
    let pnl: i128 = booked.iter().filter_map(|t| t.pnl_units).sum();
    assert_eq!(pnl, totals.pnl_units);
    let fees: i128 = booked.iter().filter_map(|t| t.fees_units).sum();
    assert_eq!(fees, totals.fees_units);
    let pair_events = reader.statarb_pair_events("run-1").unwrap();
    assert_eq!(
        pair_events.len() as u64,
        totals.pairs_added + totals.pairs_dropped
    );
    // The fills of the open trades are what the journal's open trades sum to.
    let open = reader.statarb_open_trades().unwrap();
    assert_eq!(open.len(), totals.open_trades, "{open:?}");
    let open_cash: i128 = open
        .iter()
        .map(|o| o.cash_units - i128::try_from(o.fees_units).unwrap())
        .sum();
    assert_eq!(open_cash, totals.open_units);
}

/// Journals one open trade of run `run-0` on `a`/`b`: long `a` 10 units against 15 of `b`.
fn journal_open_trade(handle: &kestrel_store::JournalHandle, trade_id: u64, a: &str, b: &str) {
    // Entered a moment ago (the holding limit counts from the entry).
    let now_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    let rec = |ev| kestrel_store::Record::StatArb {
        run_id: "run-0".into(),
        unix_ms: now_ms,
        ev,
    };
    handle
        .append(rec(StatArbRecord::Entered {
            trade_id,
            a: a.into(),
            b: b.into(),
            side: "long".into(),
            z: -2.5,
            notional_units: 1_000_000,
        }))
        .unwrap();
    // 10 and 15 whole units: well above the symbols' minimum order value.
    for (symbol, side, size) in [(a, "buy", 1_000_000), (b, "sell", 1_500_000)] {
        handle
            .append(rec(StatArbRecord::Fill {
                trade_id,
                symbol: symbol.into(),
                side: side.into(),
                size_units: size,
                notional_units: 5_000,
                fee_units: 5,
                fee_base_units: 0,
                fee_base_value_units: 0,
                // And 0.7 units of quote taken in a third asset (BNB), each fill.
                fee_other_units: 7,
                error: None,
            }))
            .unwrap();
    }
}

#[test]
fn a_restarted_lane_takes_over_the_journals_open_trades() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("statarb.sqlite");
    let journal = Journal::open(&path, 4096).unwrap();
    // AAA/CCC is never cointegrated here: its trade must be closed at once. A trade on a
    // symbol the lane does not trade is left alone.
    journal_open_trade(&journal.handle(), 1, "AAAUSDT", "CCCUSDT");
    journal_open_trade(&journal.handle(), 2, "AAAUSDT", "ZZZUSDT");
    // AAA/BBB is: its trade is resumed under its rules.
    journal_open_trade(&journal.handle(), 3, "AAAUSDT", "BBBUSDT");
    journal.close().unwrap();
    let open = kestrel_store::open_readonly(&path)
        .unwrap()
        .statarb_open_trades()
        .unwrap();
    assert_eq!(open.len(), 3);
    assert_eq!(
        (open[0].pos_a_units, open[0].pos_b_units),
        (1_000_000, -1_500_000)
    );

    let mut sim = StatArbSim::start(1, 20).unwrap();
    let spec = sim.lane_spec().unwrap();
    let feeds = feeds(&spec).unwrap();
    let mut lane = StatArbLane::start(spec, feeds, StatArbOrders::Paper, &open).unwrap();
    let started = lane.totals();
    assert_eq!(started.restored_trades, 2, "{started:?}");
    assert!(
        !started
            .pairs
            .contains(&("AAAUSDT".into(), "CCCUSDT".into())),
        "{started:?}"
    );
    assert!(
        started
            .pairs
            .contains(&("AAAUSDT".into(), "BBBUSDT".into())),
        "{started:?}"
    );
    // Both held: the resumed one and the one waiting to be closed; their cash is the lane's.
    // The BNB fees cost the trades but were paid by no quote: charged to the trades'
    // figures, not to the cash.
    assert_eq!(started.open_trades, 2, "{started:?}");
    assert_eq!(lane.cash_units(), 2 * (-5_000 + 5_000 - 10));
    assert_eq!(started.fees_other_units, 2 * 14, "{started:?}");
    assert_eq!(started.open_units, 2 * (-5_000 + 5_000 - 10 - 14));
    assert_eq!(
        started.open_units + started.pnl_units + started.fees_other_units,
        lane.cash_units()
    );
    let mut events = Vec::new();
    let t0 = Instant::now();
    let closed_1 = |events: &[LaneEvent]| {
        events.iter().any(|e| {
            e.run_id.as_deref() == Some("run-0")
                && matches!(e.ev, StatArbRecord::Closed { trade_id: 1, .. })
        })
    };
    while t0.elapsed() < RUN_MAX && !closed_1(&events) {
        lane.poll().unwrap();
        events.extend(lane.drain_events());
        std::thread::sleep(Duration::from_millis(2));
    }
    sim.stop();
    // Unwound once the books are live: a sell of 10 AAA, a buy of 15 CCC, journaled under
    // run-0's trade 1.
    let mine: Vec<&LaneEvent> = events
        .iter()
        .filter(|e| {
            e.run_id.as_deref() == Some("run-0")
                && matches!(
                    &e.ev,
                    StatArbRecord::Fill { trade_id: 1, .. }
                        | StatArbRecord::Closed { trade_id: 1, .. }
                )
        })
        .collect();
    assert_eq!(mine.len(), 3, "{events:?}");
    let StatArbRecord::Closed {
        trade_id,
        reason,
        gross_units,
        fees_units,
        pnl_units,
        ..
    } = &mine[2].ev
    else {
        panic!("{mine:?}")
    };
    assert_eq!((*trade_id, reason.as_str()), (1, "deselected"));
    assert_eq!(*pnl_units, gross_units - fees_units);
    // Its fees include the 1.4 units the journal says were taken in BNB at entry.
    let unwind_fees: i128 = mine[..2]
        .iter()
        .map(|e| match &e.ev {
            StatArbRecord::Fill {
                fee_units,
                fee_base_value_units,
                fee_other_units,
                ..
            } => (fee_units + fee_base_value_units + fee_other_units) as i128,
            _ => 0,
        })
        .sum();
    assert_eq!(*fees_units, 10 + 14 + unwind_fees);
    // Trade 3 (and trades of the lane's own) may have closed meanwhile: trade 1 is in the
    // totals either way, and the lane's PnL is exactly its closes'.
    let totals = lane.totals();
    let closed_pnl: i128 = events
        .iter()
        .filter_map(|e| match &e.ev {
            StatArbRecord::Closed { pnl_units, .. } => Some(*pnl_units),
            _ => None,
        })
        .sum();
    assert!(totals.trades >= 1, "{totals:?}");
    assert_eq!(totals.pnl_units, closed_pnl, "{totals:?}");

    let journal = Journal::open(&path, 4096).unwrap();
    for e in events {
        journal
            .handle()
            .append(kestrel_store::Record::StatArb {
                run_id: e.run_id.unwrap_or_else(|| "run-1".into()),
                unix_ms: e.unix_ms,
                ev: e.ev,
            })
            .unwrap();
    }
    journal.close().unwrap();
    let reader = kestrel_store::open_readonly(&path).unwrap();
    let still_open = reader.statarb_open_trades().unwrap();
    assert!(
        still_open.iter().any(|t| t.b == "ZZZUSDT")
            && !still_open
                .iter()
                .any(|t| t.run_id == "run-0" && t.trade_id == 1),
        "{still_open:?}"
    );
    assert_eq!(
        still_open.len(),
        1 + lane.totals().open_trades,
        "{still_open:?}"
    );
    let t = &reader.statarb_trades("run-0").unwrap()[0];
    assert_eq!(t.exit_reason.as_deref(), Some("deselected"));
}

const PREFIX: &str = "KESTREL_TEST_STATARB";

fn configs() -> std::path::PathBuf {
    kestrel_stdx::paths::workspace_root().join("configs")
}

/// The shipped anvil config with the simulated venue's `[statarb]` section appended.
fn config_text(sim: &StatArbSim, extra: &str) -> String {
    let base = std::fs::read_to_string(configs().join("anvil-local.toml")).unwrap();
    format!("{base}\n{}{extra}", sim.statarb_toml(PREFIX))
}

#[test]
fn a_configured_lane_runs_as_kestrel_run_starts_it_and_journals() {
    let sim = StatArbSim::start(7, 20).unwrap();
    let cfg = kestrel_config::parse_str(&config_text(&sim, "")).unwrap();
    let s = cfg.statarb.expect("[statarb] section");
    let spec = kestrel::statarb_run::spec(&s).unwrap();
    assert_eq!(spec.base_assets, ["AAA", "BBB", "CCC", "DDD"]);
    assert_eq!(spec.capital_units, 100_000 * statarb_sim::ONE_QUOTE as i128);
    assert_eq!((spec.train_bars, spec.rescan_every_bars), (500, 100));

    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("k.sqlite");
    let journal = Journal::open(&path, 4096).unwrap();
    // A run row in dry-run, as the engine writes it: its open trades are this mode's.
    journal
        .handle()
        .append(kestrel_store::Record::RunStarted {
            run_id: "run-a".into(),
            mode: kestrel_types::Mode::DryRun,
            config_toml: String::new(),
            started_unix_ms: 1,
        })
        .unwrap();
    let before = sim.balances();
    let run = kestrel::statarb_run::start(
        &s,
        None,
        kestrel_types::Mode::DryRun,
        &path,
        journal.handle(),
        "run-a".into(),
    )
    .unwrap();
    std::thread::sleep(RUN_MIN);
    let totals = run.stop().unwrap();
    journal.close().unwrap();
    assert_eq!(sim.balances(), before, "dry-run sent an order");
    assert!(totals.pairs_selected >= 1, "{totals:?}");
    let reader = kestrel_store::open_readonly(&path).unwrap();
    let added = reader
        .statarb_pair_events("run-a")
        .unwrap()
        .iter()
        .filter(|e| e.event == "added")
        .count();
    assert_eq!(added as u64, totals.pairs_added);
    // Live mode without credentials is refused before anything is sent.
    let err = kestrel::statarb_run::build_lane(&s, None, kestrel_types::Mode::Live, &[])
        .unwrap_err()
        .to_string();
    assert!(err.contains("api_key"), "{err}");
}

#[test]
fn check_config_names_a_broken_strategy_rule_by_its_key() {
    let sim = StatArbSim::start(7, 20).unwrap();
    // exit_z above entry_z: the config crate takes each number, the strategy refuses the pair.
    let text = config_text(&sim, "[statarb.signal]\nentry_z = 1.0\nexit_z = 1.5\n");
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.toml");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["check-config"])
        .arg(&file)
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert_eq!(out.status.code(), Some(2), "{stderr}");
    assert!(
        stderr.contains("statarb.signal.entry_z: must exceed exit_z"),
        "{stderr}"
    );
}

#[test]
fn live_run_without_credentials_fails_before_starting() {
    let sim = StatArbSim::start(7, 20).unwrap();
    let text = config_text(&sim, "")
        .replace("mode = \"dry-run\"", "mode = \"live\"")
        // Live mode needs an executor contract and an execution relay (never reached: the
        // lane's check fails first).
        .replace("kind = \"local\"", "kind = \"execution\"")
        .replace(
            "[backrun]\n",
            "[backrun]\nexecutor = \"0x0000000000000000000000000000000000000001\"\n",
        )
        .replace(&format!("api_key = \"env:{PREFIX}_KEY\"\n"), "")
        .replace(&format!("api_secret = \"env:{PREFIX}_SECRET\"\n"), "");
    assert!(
        text.contains("mode = \"live\""),
        "the shipped config changed"
    );
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("k.toml");
    std::fs::write(&file, text).unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_kestrel"))
        .args(["run", "--live", "--duration", "1", "--config"])
        .arg(&file)
        .env("KESTREL_SEARCHER_KEY", format!("0x{}", "11".repeat(32)))
        .env("KESTREL_RELAY_AUTH_KEY", format!("0x{}", "22".repeat(32)))
        .output()
        .unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr);
    assert!(!out.status.success(), "{stderr}");
    assert!(
        stderr.contains("statarb") && stderr.contains("api_key"),
        "{stderr}"
    );
    assert!(!stderr.contains("running"), "it started: {stderr}");
}

/// Runs `kestrel run` on a CEX-only config (the sim's `[statarb]` and a journal in `dir`) for
/// `secs`; its stderr and the run id it printed.
fn kestrel_run_cex(
    sim: &StatArbSim,
    dir: &std::path::Path,
    mode: &str,
    live: bool,
) -> (String, String) {
    let journal = dir.join("cex.sqlite");
    let text = format!(
        "mode = \"{mode}\"\n[journal]\npath = \"{}\"\n\n{}",
        journal.display(),
        sim.statarb_toml(PREFIX)
    );
    let file = dir.join("cex.toml");
    std::fs::write(&file, text).unwrap();
    let (key, secret) = StatArbSim::credentials();
    let mut cmd = std::process::Command::new(env!("CARGO_BIN_EXE_kestrel"));
    cmd.args(["run", "--duration", "4", "--config"]).arg(&file);
    if mode == "live" {
        cmd.env(format!("{PREFIX}_KEY"), key)
            .env(format!("{PREFIX}_SECRET"), secret);
    } else {
        // Paper needs no credentials: the variables the section names may be unset.
        cmd.env_remove(format!("{PREFIX}_KEY"))
            .env_remove(format!("{PREFIX}_SECRET"));
    }
    if live {
        cmd.arg("--live");
    }
    let out = cmd.output().unwrap();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let run_id = stderr
        .split("run id ")
        .nth(1)
        .and_then(|r| r.split(';').next())
        .unwrap_or_else(|| panic!("no run id: {stderr}"))
        .to_owned();
    (stderr, run_id)
}

#[test]
fn kestrel_run_on_a_cex_only_config_trades_on_paper_and_journals_the_run() {
    let sim = StatArbSim::start(7, 20).unwrap();
    let before = sim.balances();
    let dir = tempfile::tempdir().unwrap();
    let (stderr, run_id) = kestrel_run_cex(&sim, dir.path(), "dry-run", false);
    assert!(stderr.contains("stat-arb lane on paper"), "{stderr}");
    assert_eq!(sim.balances(), before, "dry-run sent an order");
    let reader = kestrel_store::open_readonly(&dir.path().join("cex.sqlite")).unwrap();
    let run = reader.run(&run_id).unwrap().expect("the run is journaled");
    assert_eq!(run.mode.as_deref(), Some("DryRun"));
    let summary: serde_json::Value =
        serde_json::from_str(run.summary_json.as_deref().expect("ended")).unwrap();
    let events = reader.statarb_pair_events(&run_id).unwrap();
    let added = events.iter().filter(|e| e.event == "added").count() as u64;
    assert!(added >= 1);
    assert_eq!(
        summary["statarb"]["pairs_dropped"].as_u64(),
        Some(events.len() as u64 - added),
        "{summary}"
    );
    assert_eq!(
        summary["statarb"]["pairs_added"].as_u64(),
        Some(added),
        "{summary}"
    );
    let trades = reader.statarb_trades(&run_id).unwrap();
    let booked = trades
        .iter()
        .filter(|t| t.exit_reason.as_deref().is_some_and(|r| r != "unfilled"))
        .count() as u64;
    assert_eq!(
        summary["statarb"]["trades"].as_u64(),
        Some(booked),
        "{summary}"
    );
}

#[test]
fn kestrel_run_live_on_a_cex_only_config_sends_orders_only_with_both_switches() {
    let sim = StatArbSim::start(11, 20).unwrap();
    let before = sim.balances();
    let dir = tempfile::tempdir().unwrap();
    // The config says live but the command line does not: paper.
    let (stderr, _) = kestrel_run_cex(&sim, dir.path(), "live", false);
    assert!(stderr.contains("stat-arb lane on paper"), "{stderr}");
    assert_eq!(sim.balances(), before, "an order went out without --live");
    // Both: orders reach the venue.
    let (stderr, run_id) = kestrel_run_cex(&sim, dir.path(), "live", true);
    assert!(stderr.contains("stat-arb lane sending orders"), "{stderr}");
    let reader = kestrel_store::open_readonly(&dir.path().join("cex.sqlite")).unwrap();
    let fills = reader.statarb_fills(&run_id).unwrap();
    let filled = fills.iter().filter(|f| f.size_units > 0).count();
    assert!(filled > 0, "{fills:?}");
    assert_ne!(
        sim.balances(),
        before,
        "fills journaled but the account did not move"
    );
    assert_eq!(
        reader.run(&run_id).unwrap().and_then(|r| r.mode).as_deref(),
        Some("Live")
    );
}

#[test]
fn a_venue_that_goes_away_is_retried_and_never_stops_the_lane() {
    let sim = StatArbSim::start(1, 20).unwrap();
    let lane = paper_lane(&sim);
    let run = StatArbRun::start(lane, 5, None, None, Box::new(|| {})).unwrap();
    std::thread::sleep(Duration::from_millis(300));
    // The venue's servers stop: every candle request now fails.
    drop(sim);
    std::thread::sleep(Duration::from_millis(1_000));
    let totals = run
        .stop()
        .expect("the lane keeps running through failed polls");
    assert!(totals.poll_errors >= 1, "{totals:?}");
}

#[test]
fn live_lane_sells_only_base_the_account_holds() {
    // No AAA and no CCC: a short spread on AAA/BBB (sell AAA) or CCC/DDD (sell CCC) cannot be
    // entered; long ones can, and their exits sell only what they bought.
    let funded = [0, statarb_sim::START_BASE, 0, statarb_sim::START_BASE];
    let mut sim = StatArbSim::start_funded(11, 20, funded).unwrap();
    let spec = sim.lane_spec().unwrap();
    let feeds = feeds(&spec).unwrap();
    let orders = StatArbOrders::Live(LiveOrders::new(Box::new(sim.writer()), &sim.rest_url()));
    let mut lane = StatArbLane::start(spec, feeds, orders, &[]).unwrap();
    let mut events = Vec::new();
    let totals = trade(&mut lane, 3, &mut events);
    sim.stop();
    eprintln!("statarb live, no AAA/CCC: {totals:?}");
    assert!(
        totals
            .skipped_entries
            .get("inventory")
            .copied()
            .unwrap_or(0)
            >= 1,
        "{totals:?}"
    );
    // Nothing the venue refused for want of balance.
    for e in &events {
        if let StatArbRecord::Fill {
            error: Some(err), ..
        } = &e.ev
        {
            assert!(!err.to_lowercase().contains("insufficient"), "{e:?}");
        }
    }
    let held = |asset: &str| {
        sim.balances()
            .into_iter()
            .find(|(a, _, _)| a == asset)
            .map_or(0, |(_, free, locked)| free + locked)
    };
    // Whatever AAA and CCC were bought was sold back or is still held: never below zero, and
    // every entry that went out is a long spread.
    // Every sell of AAA or CCC is of base the lane bought first (less the venue's fee).
    let (mut aaa, mut ccc) = (0i128, 0i128);
    for e in &events {
        if let StatArbRecord::Fill {
            symbol,
            side,
            size_units,
            fee_base_units,
            error: None,
            ..
        } = &e.ev
        {
            let h = match symbol.as_str() {
                "AAAUSDT" => &mut aaa,
                "CCCUSDT" => &mut ccc,
                _ => continue,
            };
            if side == "buy" {
                *h += i128::from(*size_units) - i128::try_from(*fee_base_units).unwrap();
            } else {
                *h -= i128::from(*size_units);
            }
            assert!(*h >= 0, "sold more than held: {e:?}");
        }
    }
    assert_eq!(held("AAA"), u128::try_from(aaa).unwrap());
    assert_eq!(held("CCC"), u128::try_from(ccc).unwrap());
    for e in &events {
        if let StatArbRecord::Entered { a, side, .. } = &e.ev
            && (a == "AAAUSDT" || a == "CCCUSDT")
        {
            assert_eq!(side, "long", "{e:?}");
        }
    }
    check_events(&events, &totals);
}

#[test]
fn a_symbol_missing_a_bar_does_not_stall_the_others() {
    let sim = StatArbSim::start(1, 20).unwrap();
    let mut lane = paper_lane(&sim);
    let t0 = Instant::now();
    while t0.elapsed() < RUN_MAX && lane.totals().bars < 10 {
        lane.poll().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    // BBB serves no bar for one step (a venue that leaves out a minute without trades).
    let before = lane.totals().bars;
    sim.skip_next_bar(1);
    while t0.elapsed() < RUN_MAX && lane.totals().bars < before + 20 {
        lane.poll().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    let after = lane.totals();
    assert!(
        after.bars >= before + 20,
        "the lane stalled at a missing bar: {before} → {after:?}"
    );
}
