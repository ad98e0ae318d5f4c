//! The paper stat-arb lane against a simulated Binance-format venue with two cointegrated
//! pairs: it selects a true pair first, trades round trips on paper with fees, keeps exact
//! books, and sends no order.

use std::time::{Duration, Instant};

use kestrel::statarb_lane::StatArbPaper;
use kestrel::statarb_sim::StatArbSim;

/// How long the lane trades at least, wall time (at 20 ms a bar, ~150 bars) ...
const RUN_MIN: Duration = Duration::from_secs(3);
/// ... and at most, when a loaded machine slows it down before two trades closed.
const RUN_MAX: Duration = Duration::from_secs(8);

#[test]
fn paper_lane_selects_cointegrated_pairs_and_trades_without_orders() {
    let mut sim = StatArbSim::start(7, 20).unwrap();
    let before = sim.balances();
    let mut lane = StatArbPaper::start(sim.lane_config().unwrap()).unwrap();
    let started = lane.totals();
    assert_eq!(
        sim.balances(),
        before,
        "reading fees and history changed the account"
    );
    let true_pairs = [
        ("AAAUSDT".to_owned(), "BBBUSDT".to_owned()),
        ("CCCUSDT".to_owned(), "DDDUSDT".to_owned()),
    ];
    let is_true = |p: &(String, String)| {
        true_pairs
            .iter()
            .any(|t| *t == *p || (t.0 == p.1 && t.1 == p.0))
    };
    assert!(started.pairs_selected >= 1, "{started:?}");
    // Ranked best first: every cointegrated pair selected comes before any unrelated one.
    let true_ranks: Vec<bool> = started.pairs.iter().map(is_true).collect();
    assert!(true_ranks[0], "best pair is unrelated: {started:?}");
    assert!(
        true_ranks.windows(2).all(|w| w[0] || !w[1]),
        "an unrelated pair ranks above a cointegrated one: {started:?}"
    );

    let t0 = Instant::now();
    while t0.elapsed() < RUN_MAX && (t0.elapsed() < RUN_MIN || lane.totals().trades < 2) {
        lane.poll().unwrap();
        std::thread::sleep(Duration::from_millis(2));
    }
    sim.stop();
    let totals = lane.totals();
    eprintln!("statarb: {totals:?}, bars made {}", sim.bars_made());

    assert!(totals.bars > 50, "{totals:?}");
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
}
