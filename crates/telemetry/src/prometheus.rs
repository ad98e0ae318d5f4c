//! Prometheus text exposition format 0.0.4.

use std::fmt::{self, Write};

use kestrel_types::{DecodePath, SimMissKind, SimulatedOutcome, SkipReason, Stage};

use crate::{CountersSnapshot, LatencySummary, Percentiles};

/// Renders counters and latency percentiles as Prometheus text (format 0.0.4).
///
/// Counters are `counter`s named `kestrel_*_total`; skips carry a `reason` label
/// (`SkipReason::as_str`) and revm confirmation misses a `kind` label (`SimMissKind::as_str`).
/// Latencies are `summary`s in seconds with quantiles 0.5, 0.99 and 0.999 and a `_count` (no
/// `_sum`: the histograms keep no exact sum), plus a `gauge` for the max. Stages carry a `stage`
/// label; the decision and end-to-end spans a `span` label.
pub fn prometheus_text(counters: &CountersSnapshot, latency: &LatencySummary) -> String {
    let mut out = String::with_capacity(8 * 1024);
    // Writing into a `String` cannot fail.
    let _ = write_all(&mut out, counters, latency);
    out
}

fn write_all(out: &mut String, c: &CountersSnapshot, l: &LatencySummary) -> fmt::Result {
    counter(
        out,
        "kestrel_pending_seen_total",
        "Pending transactions seen, before any filter.",
        c.pending_seen,
    )?;
    counter(
        out,
        "kestrel_candidates_total",
        "Profitable backrun cycles found.",
        c.candidates,
    )?;
    counter(
        out,
        "kestrel_bundles_total",
        "Bundles built and written (journaled in dry-run).",
        c.bundles,
    )?;
    counter(
        out,
        "kestrel_drops_total",
        "Events dropped at a full ring between the lanes.",
        c.drops,
    )?;
    counter(
        out,
        "kestrel_reconnects_total",
        "Node connection reconnects.",
        c.reconnects,
    )?;
    counter(
        out,
        "kestrel_node_connect_failures_total",
        "Attempts to connect to the node that failed (retried after a backoff).",
        c.connect_failures,
    )?;
    counter(
        out,
        "kestrel_subscription_refusals_total",
        "Subscription requests the node answered with an error.",
        c.subscription_refusals,
    )?;
    counter(
        out,
        "kestrel_pending_subscriptions_total",
        "Pending-transaction subscriptions the node confirmed (one per connection).",
        c.pending_subscriptions,
    )?;

    let name = "kestrel_skips_total";
    header(
        out,
        name,
        "Pending transactions skipped, by reason.",
        "counter",
    )?;
    for reason in SkipReason::ALL {
        writeln!(
            out,
            "{name}{{reason=\"{}\"}} {}",
            reason.as_str(),
            c.skip(reason)
        )?;
    }

    let name = "kestrel_routed_total";
    header(
        out,
        name,
        "Pending transactions to a decoded router by decoder; `simulated`: undecoded ones the slow lane ran in revm.",
        "counter",
    )?;
    for path in DecodePath::ALL {
        writeln!(
            out,
            "{name}{{decoder=\"{}\"}} {}",
            path.as_str(),
            c.routed(path)
        )?;
    }

    counter(
        out,
        "kestrel_sim_confirmed_total",
        "Backruns revm confirmed before they were fired.",
        c.confirmed,
    )?;
    counter(
        out,
        "kestrel_sim_disagreements_total",
        "revm confirmations that disagreed with the analytic prediction.",
        c.disagreements,
    )?;
    counter(
        out,
        "kestrel_bundles_landed_total",
        "Bundles sent for inclusion whose backrun a block held (read from its receipt).",
        c.landed,
    )?;
    counter(
        out,
        "kestrel_bundles_not_landed_total",
        "Bundles sent for inclusion whose backrun no block held by their target block.",
        c.not_landed,
    )?;
    counter(
        out,
        "kestrel_realized_mismatches_total",
        "Landed backruns whose realized profit differs from the prediction by any wei.",
        c.realized_mismatches,
    )?;
    let name = "kestrel_sim_misses_total";
    header(
        out,
        name,
        "revm confirmations that needed state the snapshot lacked, by kind.",
        "counter",
    )?;
    for kind in SimMissKind::ALL {
        writeln!(
            out,
            "{name}{{kind=\"{}\"}} {}",
            kind.as_str(),
            c.sim_miss(kind)
        )?;
    }
    let name = "kestrel_simulated_total";
    header(
        out,
        name,
        "Undecoded pending transactions the slow lane simulated in revm, by outcome.",
        "counter",
    )?;
    for outcome in SimulatedOutcome::ALL {
        writeln!(
            out,
            "{name}{{outcome=\"{}\"}} {}",
            outcome.as_str(),
            c.simulated(outcome)
        )?;
    }

    let stages = Stage::ALL.map(|s| (s.as_str(), *l.stage(s)));
    latency(
        out,
        "kestrel_stage_latency",
        "Latency of each hot-pipeline stage.",
        "stage",
        &stages,
    )?;
    let spans = [
        ("decision", l.decision),
        ("end_to_end", l.end_to_end),
        ("confirm", l.confirm),
    ];
    latency(
        out,
        "kestrel_pipeline_latency",
        "Frame read to decision, and to last relay write; one revm confirmation.",
        "span",
        &spans,
    )
}

/// The `# HELP` and `# TYPE` lines of metric family `name`.
pub fn header(out: &mut String, name: &str, help: &str, kind: &str) -> fmt::Result {
    writeln!(out, "# HELP {name} {help}")?;
    writeln!(out, "# TYPE {name} {kind}")
}

/// A counter family `name` with one unlabelled sample.
pub fn counter(out: &mut String, name: &str, help: &str, value: u64) -> fmt::Result {
    header(out, name, help, "counter")?;
    writeln!(out, "{name} {value}")
}

/// A gauge family `name` with one unlabelled sample (any number Prometheus reads: an integer,
/// or an exact decimal string).
pub fn gauge(out: &mut String, name: &str, help: &str, value: impl fmt::Display) -> fmt::Result {
    header(out, name, help, "gauge")?;
    writeln!(out, "{name} {value}")
}

/// One summary family `{base}_seconds` and one gauge family `{base}_max_seconds`, a series per
/// `(label value, percentiles)`.
fn latency(
    out: &mut String,
    base: &str,
    help: &str,
    label: &str,
    series: &[(&str, Percentiles)],
) -> fmt::Result {
    let name = format!("{base}_seconds");
    header(out, &name, help, "summary")?;
    for (value, p) in series {
        for (q, ns) in [("0.5", p.p50), ("0.99", p.p99), ("0.999", p.p999)] {
            writeln!(
                out,
                "{name}{{{label}=\"{value}\",quantile=\"{q}\"}} {}",
                Seconds(ns)
            )?;
        }
        writeln!(out, "{name}_count{{{label}=\"{value}\"}} {}", p.count)?;
    }
    let max_name = format!("{base}_max_seconds");
    header(
        out,
        &max_name,
        "Largest latency recorded (histogram precision).",
        "gauge",
    )?;
    for (value, p) in series {
        writeln!(out, "{max_name}{{{label}=\"{value}\"}} {}", Seconds(p.max))?;
    }
    Ok(())
}

/// Nanoseconds shown as decimal seconds, exactly (integer arithmetic, no float rounding).
struct Seconds(u64);

impl fmt::Display for Seconds {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(
            f,
            "{}.{:09}",
            self.0 / 1_000_000_000,
            self.0 % 1_000_000_000
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seconds_are_exact_decimals() {
        assert_eq!(Seconds(0).to_string(), "0.000000000");
        assert_eq!(Seconds(1_234).to_string(), "0.000001234");
        assert_eq!(Seconds(60_000_000_001).to_string(), "60.000000001");
        assert_eq!(Seconds(u64::MAX).to_string(), "18446744073.709551615");
    }
}
