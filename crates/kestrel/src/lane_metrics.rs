//! The cross-exchange lane's totals for Prometheus: the lane thread stores its `LaneStats` into
//! plain atomics a few times a second (no lock, no allocation), and the metrics server's thread
//! reads them when it is scraped. Every other source of `/metrics` text is added next to the
//! engine's own through [`MetricsSources`].

use std::fmt::Write as _;
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

use kestrel_hot::cex::lane::LaneStats;
use kestrel_telemetry::{
    prometheus_counter as counter, prometheus_gauge as gauge, prometheus_header as header,
};

use crate::statarb_lane::StatArbTotals;

/// A renderer of Prometheus text, appended to the engine's.
pub type MetricsSource = Arc<dyn Fn(&mut String) + Send + Sync>;

/// The extra renderers a metrics endpoint serves after its own (lanes started after it).
#[derive(Default)]
pub struct MetricsSources(Mutex<Vec<MetricsSource>>);

impl std::fmt::Debug for MetricsSources {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str("MetricsSources")
    }
}

impl MetricsSources {
    /// Adds `source`: scraped from the next request on.
    pub fn add(&self, source: MetricsSource) {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .push(source);
    }

    /// Appends every source's text to `out` (on the metrics server's thread).
    pub fn render(&self, out: &mut String) {
        let sources = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
            .clone();
        for s in sources {
            s(out);
        }
    }
}

/// The lane's totals as last published. i128 and u128 money totals are clamped to 64 bits
/// (a notional-unit total beyond 9.2e18 saturates rather than wraps).
#[derive(Debug, Default)]
pub struct XarbGauges {
    opportunities: AtomicU64,
    costs_ate_it: AtomicU64,
    trades: AtomicU64,
    orders: AtomicU64,
    fills: AtomicU64,
    unwinds: AtomicU64,
    rate_limited: AtomicU64,
    venue_pauses: AtomicU64,
    unwinds_refused: AtomicU64,
    deferred_trades: AtomicU64,
    fees_estimated: AtomicU64,
    fees_in_other_asset: AtomicU64,
    unresolved: AtomicU64,
    fills_at_avg_price: AtomicU64,
    unprofitable_after_fees: AtomicU64,
    pnl: AtomicI64,
    fees: AtomicU64,
    unhedged_max: AtomicU64,
    tripped: AtomicBool,
    /// One per leg: its venue, symbol and feed counters.
    feeds: Vec<FeedGauge>,
}

/// Feed and book-integrity counters of one leg, as last published.
#[derive(Debug)]
struct FeedGauge {
    venue: &'static str,
    /// Already escaped as a label value.
    symbol: String,
    /// One value per [`FEED_COUNTERS`] entry, in its order.
    values: [AtomicU64; FEED_COUNTERS.len()],
}

/// Each leg's counters on `/metrics`: `kestrel_xarb_feed_<name>_total{venue,symbol}`.
const FEED_COUNTERS: [(&str, &str); 10] = [
    (
        "connects",
        "Market-data connections made (the first and every reconnect).",
    ),
    (
        "disconnects",
        "Market-data connections that dropped after being made.",
    ),
    (
        "malformed",
        "Market-data frames that did not decode (counted and skipped).",
    ),
    (
        "oversized",
        "Market-data messages skipped whole for exceeding the size limit.",
    ),
    ("snapshots", "Book snapshots loaded."),
    (
        "resyncs",
        "Times the book was cleared to resync, whatever the reason.",
    ),
    (
        "gaps",
        "Gaps in update ids or sequence numbers (each a resync).",
    ),
    (
        "checksum_failures",
        "Book checksum mismatches (each a resync).",
    ),
    ("resets", "Venue-announced book resets (each a resync)."),
    (
        "bad_numbers",
        "Unreadable or inexact prices or sizes (each a resync).",
    ),
];

/// `text` as a Prometheus label value: backslash, double quote and newline escaped.
fn label_value(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for c in text.chars() {
        match c {
            '\\' => out.push_str("\\\\"),
            '"' => out.push_str("\\\""),
            '\n' => out.push_str("\\n"),
            c => out.push(c),
        }
    }
    out
}

fn clamp_i(v: i128) -> i64 {
    i64::try_from(v).unwrap_or(if v < 0 { i64::MIN } else { i64::MAX })
}

fn clamp_u(v: u128) -> u64 {
    u64::try_from(v).unwrap_or(u64::MAX)
}

impl XarbGauges {
    /// Gauges for a lane with these legs (venue and symbol, in the lane's leg order).
    pub fn for_legs(legs: &[kestrel_hot::cex::lane::LegConfig]) -> XarbGauges {
        XarbGauges {
            feeds: legs
                .iter()
                .map(|l| FeedGauge {
                    venue: l.venue.name(),
                    symbol: label_value(&l.symbol),
                    values: Default::default(),
                })
                .collect(),
            ..XarbGauges::default()
        }
    }

    /// Stores `lane`'s totals, kill switch and every leg's feed counters: relaxed atomic
    /// stores only, so the lane thread may call it between polls.
    pub fn publish_lane(&self, lane: &kestrel_hot::cex::lane::XarbLane) {
        self.publish(&lane.stats(), lane.kill_switch_tripped());
        for leg in 0..lane.legs().len() {
            if let Some((feed, sync)) = lane.leg_feed_stats(leg) {
                self.publish_feed(leg, &feed, &sync);
            }
        }
    }

    /// Stores leg `leg`'s feed and book counters (relaxed stores; no allocation).
    fn publish_feed(
        &self,
        leg: usize,
        feed: &kestrel_hot::cex::FeedStats,
        sync: &kestrel_venues::sync::SyncStats,
    ) {
        let Some(g) = self.feeds.get(leg) else {
            return;
        };
        let values = [
            feed.connects,
            feed.disconnects,
            feed.malformed,
            feed.oversized,
            sync.snapshots,
            sync.resyncs,
            sync.gaps,
            sync.checksum_failures,
            sync.resets,
            sync.bad_numbers,
        ];
        for (slot, v) in g.values.iter().zip(values) {
            slot.store(v, Ordering::Relaxed);
        }
    }

    /// Stores `s` (and whether the kill switch is tripped): relaxed atomic stores only, so the
    /// lane thread may call it between polls.
    pub fn publish(&self, s: &LaneStats, tripped: bool) {
        let r = Ordering::Relaxed;
        self.opportunities.store(s.opportunities, r);
        self.costs_ate_it.store(s.costs_ate_it, r);
        self.trades.store(s.trades, r);
        self.orders.store(s.orders, r);
        self.fills.store(s.fills, r);
        self.unwinds.store(s.unwinds, r);
        self.rate_limited.store(s.rate_limited, r);
        self.venue_pauses.store(s.venue_pauses, r);
        self.unwinds_refused.store(s.unwinds_refused, r);
        self.deferred_trades.store(s.deferred_trades, r);
        self.fees_estimated.store(s.fees_estimated, r);
        self.fees_in_other_asset.store(s.fees_in_other_asset, r);
        self.unresolved.store(s.unresolved, r);
        self.fills_at_avg_price.store(s.fills_at_avg_price, r);
        self.unprofitable_after_fees
            .store(s.unprofitable_after_fees, r);
        self.pnl.store(clamp_i(s.pnl), r);
        self.fees.store(clamp_u(s.fees), r);
        self.unhedged_max.store(clamp_u(s.unhedged_max), r);
        self.tripped.store(tripped, r);
    }

    /// Appends the Prometheus text of the last published totals to `out`.
    pub fn render(&self, out: &mut String) {
        let r = Ordering::Relaxed;
        let counters: [(&str, &str, &AtomicU64); 15] = [
            (
                "opportunities",
                "Decisions that found the books crossed.",
                &self.opportunities,
            ),
            (
                "costs_ate_it",
                "Crossed books refused because fees, transfer cost and margin ate the edge.",
                &self.costs_ate_it,
            ),
            ("trades", "Trades fired (both legs).", &self.trades),
            ("orders", "Orders sent (legs and unwinds).", &self.orders),
            ("fills", "Orders that filled something.", &self.fills),
            ("unwinds", "Unwind orders sent.", &self.unwinds),
            (
                "rate_limited",
                "Trades held back because a venue's request budget was spent.",
                &self.rate_limited,
            ),
            (
                "venue_pauses",
                "Rate-limit or busy answers that paused a venue.",
                &self.venue_pauses,
            ),
            (
                "unwinds_refused",
                "Unwind orders a venue refused for rate or load, sent again once it accepted.",
                &self.unwinds_refused,
            ),
            (
                "deferred_trades",
                "Trades that waited behind a trade in flight or for budget.",
                &self.deferred_trades,
            ),
            (
                "fees_estimated",
                "Fills charged the account's taker rate: the answer gave no fee and the order's trades could not be had.",
                &self.fees_estimated,
            ),
            (
                "fees_in_other_asset",
                "Fills whose fee was taken in a third asset (BNB, OKB), valued at the taker rate.",
                &self.fees_in_other_asset,
            ),
            (
                "unresolved",
                "Orders whose outcome could not be learned (each trips the kill switch).",
                &self.unresolved,
            ),
            (
                "fills_at_avg_price",
                "Fills valued at the venue's average price because exact fills were missing.",
                &self.fills_at_avg_price,
            ),
            (
                "unprofitable_after_fees",
                "Fully filled trades that lost money after fees (should stay 0).",
                &self.unprofitable_after_fees,
            ),
        ];
        for (name, help, v) in counters {
            let _ = counter(out, &format!("kestrel_xarb_{name}_total"), help, v.load(r));
        }
        let gauges: [(&str, &str, i128); 4] = [
            (
                "pnl_units",
                "Realized PnL after fees, in the lane's notional units.",
                i128::from(self.pnl.load(r)),
            ),
            (
                "fees_units",
                "Fees paid, in the lane's notional units.",
                i128::from(self.fees.load(r)),
            ),
            (
                "unhedged_max_units",
                "Largest unhedged position seen, valued at its price, notional units.",
                i128::from(self.unhedged_max.load(r)),
            ),
            (
                "kill_switch_tripped",
                "1 while the kill switch refuses new trades.",
                i128::from(self.tripped.load(r)),
            ),
        ];
        for (name, help, v) in gauges {
            let _ = gauge(out, &format!("kestrel_xarb_{name}"), help, v);
        }
        if self.feeds.is_empty() {
            return;
        }
        for (k, (name, help)) in FEED_COUNTERS.iter().enumerate() {
            let metric = format!("kestrel_xarb_feed_{name}_total");
            let _ = header(out, &metric, help, "counter");
            for g in &self.feeds {
                let v = g.values.get(k).map_or(0, |v| v.load(r));
                let _ = writeln!(
                    out,
                    "{metric}{{venue=\"{}\",symbol=\"{}\"}} {v}",
                    g.venue, g.symbol
                );
            }
        }
    }
}

/// The stat-arb lane's totals as last published (after each poll; a slow lane, so a copy
/// under a lock is fine there).
#[derive(Debug, Default)]
pub struct StatArbGauges(Mutex<Option<StatArbTotals>>);

impl StatArbGauges {
    /// Stores the lane's totals.
    pub fn publish(&self, totals: StatArbTotals) {
        *self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner) = Some(totals);
    }

    /// Appends the Prometheus text of the last published totals to `out` (nothing before the
    /// first poll).
    pub fn render(&self, out: &mut String) {
        let guard = self
            .0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner);
        let Some(t) = guard.as_ref() else {
            return;
        };
        let counters: [(&str, &str, u64); 10] = [
            ("selections", "Pair selections run.", t.selections),
            (
                "pairs_added",
                "Pairs that entered a selection.",
                t.pairs_added,
            ),
            ("pairs_dropped", "Pairs that left one.", t.pairs_dropped),
            ("trades", "Closed round trips.", t.trades),
            ("fills", "Legs that filled.", t.fills),
            (
                "failed_orders",
                "Orders that failed or filled nothing.",
                t.failed_orders,
            ),
            ("bars", "Closed bars fed to the pairs.", t.bars),
            (
                "poll_errors",
                "Polls whose requests failed (retried with backoff).",
                t.poll_errors,
            ),
            (
                "fills_at_avg_price",
                "Filled legs valued at the venue's average price because exact fills were missing (should stay 0).",
                t.fills_at_avg_price,
            ),
            (
                "fees_estimated",
                "Filled legs charged the taker rate because the venue reported no fee and the order's trades could not be had (should stay 0).",
                t.fees_estimated,
            ),
        ];
        for (name, help, v) in counters {
            let _ = counter(out, &format!("kestrel_statarb_{name}_total"), help, v);
        }
        let _ = header(
            out,
            "kestrel_statarb_skipped_entries_total",
            "Entries not made, by reason.",
            "counter",
        );
        for (reason, n) in &t.skipped_entries {
            let _ = writeln!(
                out,
                "kestrel_statarb_skipped_entries_total{{reason=\"{reason}\"}} {n}"
            );
        }
        let _ = gauge(
            out,
            "kestrel_statarb_pairs_selected",
            "Pairs selected now.",
            t.pairs_selected,
        );
        let _ = gauge(
            out,
            "kestrel_statarb_open_trades",
            "Trades open now.",
            t.open_trades,
        );
        let _ = gauge(
            out,
            "kestrel_statarb_pnl_quote",
            "Realized PnL of closed trades after fees, in the quote asset.",
            &t.pnl_quote,
        );
        let _ = gauge(
            out,
            "kestrel_statarb_fees_quote",
            "Fees of closed trades, in the quote asset.",
            &t.fees_quote,
        );
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn symbols_are_escaped_as_prometheus_label_values() {
        assert_eq!(label_value("BTC/USD"), "BTC/USD");
        assert_eq!(label_value("a\\b\"c\nd"), "a\\\\b\\\"c\\nd");
    }

    #[test]
    fn published_totals_render_as_prometheus_text_and_money_saturates() {
        let g = XarbGauges::default();
        let stats = LaneStats {
            opportunities: 7,
            trades: 3,
            orders: 6,
            fills: 5,
            unwinds: 1,
            pnl: -42,
            fees: u128::MAX,
            unresolved: 2,
            ..LaneStats::default()
        };
        g.publish(&stats, true);
        let mut text = String::new();
        g.render(&mut text);
        for line in [
            "kestrel_xarb_opportunities_total 7",
            "kestrel_xarb_trades_total 3",
            "kestrel_xarb_orders_total 6",
            "kestrel_xarb_fills_total 5",
            "kestrel_xarb_unwinds_total 1",
            "kestrel_xarb_unresolved_total 2",
            "kestrel_xarb_pnl_units -42",
            "kestrel_xarb_fees_units 18446744073709551615",
            "kestrel_xarb_kill_switch_tripped 1",
            "# TYPE kestrel_xarb_pnl_units gauge",
            "# TYPE kestrel_xarb_trades_total counter",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} missing in\n{text}");
        }
        // Every sample line has HELP and TYPE lines before it.
        let samples = text.lines().filter(|l| !l.starts_with('#')).count();
        assert_eq!(
            text.lines().filter(|l| l.starts_with("# HELP")).count(),
            samples
        );
        assert_eq!(
            text.lines().filter(|l| l.starts_with("# TYPE")).count(),
            samples
        );

        let sources = MetricsSources::default();
        let shared = Arc::new(g);
        let g2 = Arc::clone(&shared);
        sources.add(Arc::new(move |out: &mut String| g2.render(out)));
        let mut all = String::from("kestrel_pending_seen_total 0\n");
        sources.render(&mut all);
        assert!(all.starts_with("kestrel_pending_seen_total 0\n"));
        assert!(all.contains("kestrel_xarb_trades_total 3"));
    }
}
