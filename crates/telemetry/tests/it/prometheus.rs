//! The Prometheus text, parsed line by line with a small parser written from the format spec.

use std::collections::{BTreeMap, BTreeSet};

use kestrel_telemetry::{Counters, StageRecorder, prometheus_text};
use kestrel_types::{
    Address, B256, DecodePath, DisagreementEvent, HotEvent, RouteKind, SimMissEvent, SimMissKind,
    SimOutcome, SimulatedOutcome, SkipEvent, SkipReason, Stamps, U256,
};

/// One sample line: `name{k="v",...} value`.
#[derive(Debug)]
struct Sample {
    name: String,
    labels: BTreeMap<String, String>,
    value: f64,
}

fn is_name(s: &str) -> bool {
    let mut chars = s.chars();
    chars
        .next()
        .is_some_and(|c| c.is_ascii_alphabetic() || c == '_' || c == ':')
        && chars.all(|c| c.is_ascii_alphanumeric() || c == '_' || c == ':')
}

fn parse_sample(line: &str) -> Sample {
    let (series, value) = line
        .rsplit_once(' ')
        .unwrap_or_else(|| panic!("no value: {line:?}"));
    let value: f64 = value
        .parse()
        .unwrap_or_else(|_| panic!("bad value: {line:?}"));
    let (name, labels) = match series.split_once('{') {
        None => (series, BTreeMap::new()),
        Some((name, rest)) => {
            let body = rest
                .strip_suffix('}')
                .unwrap_or_else(|| panic!("unclosed labels: {line:?}"));
            let labels = body
                .split(',')
                .map(|pair| {
                    let (k, v) = pair
                        .split_once('=')
                        .unwrap_or_else(|| panic!("bad label: {line:?}"));
                    assert!(is_name(k), "bad label name in {line:?}");
                    let v = v.strip_prefix('"').and_then(|v| v.strip_suffix('"'));
                    (
                        k.to_owned(),
                        v.unwrap_or_else(|| panic!("unquoted label: {line:?}"))
                            .to_owned(),
                    )
                })
                .collect();
            (name, labels)
        }
    };
    assert!(is_name(name), "bad metric name in {line:?}");
    Sample {
        name: name.to_owned(),
        labels,
        value,
    }
}

/// Parses the whole text; checks every sample belongs to a family whose TYPE came first.
fn parse(text: &str) -> Vec<Sample> {
    let mut typed: BTreeMap<String, String> = BTreeMap::new();
    let mut helped = BTreeSet::new();
    let mut samples = Vec::new();
    for line in text.lines() {
        if let Some(rest) = line.strip_prefix("# HELP ") {
            helped.insert(rest.split_once(' ').unwrap().0.to_owned());
        } else if let Some(rest) = line.strip_prefix("# TYPE ") {
            let (name, kind) = rest.split_once(' ').unwrap();
            assert!(["counter", "gauge", "summary"].contains(&kind), "{line:?}");
            assert!(
                typed.insert(name.to_owned(), kind.to_owned()).is_none(),
                "TYPE twice: {line:?}"
            );
        } else {
            assert!(
                !line.starts_with('#') && !line.is_empty(),
                "unexpected line {line:?}"
            );
            let s = parse_sample(line);
            let family = s
                .name
                .strip_suffix("_count")
                .filter(|f| typed.get(*f).is_some_and(|k| k == "summary"));
            let family = family.unwrap_or(&s.name);
            assert!(
                typed.contains_key(family),
                "sample before its TYPE: {line:?}"
            );
            assert!(helped.contains(family), "no HELP for {family}");
            samples.push(s);
        }
    }
    samples
}

fn find<'a>(samples: &'a [Sample], name: &str, labels: &[(&str, &str)]) -> &'a Sample {
    samples
        .iter()
        .find(|s| {
            s.name == name
                && labels
                    .iter()
                    .all(|(k, v)| s.labels.get(*k).map(String::as_str) == Some(*v))
        })
        .unwrap_or_else(|| panic!("no sample {name} {labels:?}"))
}

#[test]
fn text_parses_and_carries_the_numbers() {
    let counters = Counters::new();
    counters.add_pending_seen(42);
    (0..3).for_each(|_| counters.add_skip(SkipReason::UnknownPool));
    counters.add_candidate();
    counters.add_drops(2);
    let mut rec = StageRecorder::new();
    // Decode 1_234 ns, decision 3_000 ns, end to end 1_500_000 ns.
    rec.record(&Stamps {
        recv_ns: 1_000,
        stage_end_ns: [2_234, 3_000, 4_000, 5_000, 1_501_000],
    });

    let text = prometheus_text(&counters.snapshot(), &rec.summary());
    let samples = parse(&text);
    assert!(
        text.contains("kestrel_skips_total{reason=\"unknown_pool\"} 3\n"),
        "{text}"
    );
    assert_eq!(
        find(&samples, "kestrel_pending_seen_total", &[]).value,
        42.0
    );
    assert_eq!(find(&samples, "kestrel_candidates_total", &[]).value, 1.0);
    assert_eq!(find(&samples, "kestrel_drops_total", &[]).value, 2.0);
    assert_eq!(find(&samples, "kestrel_bundles_total", &[]).value, 0.0);
    let skip_lines = samples
        .iter()
        .filter(|s| s.name == "kestrel_skips_total")
        .count();
    assert_eq!(skip_lines, SkipReason::ALL.len());

    let decode_p50 = find(
        &samples,
        "kestrel_stage_latency_seconds",
        &[("stage", "decode"), ("quantile", "0.5")],
    );
    assert!(
        (decode_p50.value - 1.234e-6).abs() < 1.234e-9,
        "{decode_p50:?}"
    );
    for q in ["0.5", "0.99", "0.999"] {
        find(
            &samples,
            "kestrel_stage_latency_seconds",
            &[("stage", "write"), ("quantile", q)],
        );
    }
    assert_eq!(
        find(
            &samples,
            "kestrel_stage_latency_seconds_count",
            &[("stage", "decode")]
        )
        .value,
        1.0
    );
    let e2e = find(
        &samples,
        "kestrel_pipeline_latency_seconds",
        &[("span", "end_to_end"), ("quantile", "0.99")],
    );
    assert!((e2e.value - 1.5e-3).abs() < 1.5e-6, "{e2e:?}");
    let decision = find(
        &samples,
        "kestrel_pipeline_latency_max_seconds",
        &[("span", "decision")],
    );
    assert!((decision.value - 3.0e-6).abs() < 3.0e-9, "{decision:?}");
}

fn sim_miss(kind: SimMissKind) -> HotEvent {
    HotEvent::SimMiss(SimMissEvent {
        tx_hash: B256::repeat_byte(1),
        block: 100,
        kind,
        address: Address::repeat_byte(2),
        slot: U256::from(8),
        number: 0,
    })
}

fn sim_skip(reason: SkipReason) -> HotEvent {
    HotEvent::Skip(SkipEvent {
        tx_hash: B256::repeat_byte(1),
        reason,
        stamps: Stamps::default(),
    })
}

#[test]
fn revm_confirmation_events_are_exposed() {
    let counters = Counters::new();
    let disagreement = HotEvent::Disagreement(DisagreementEvent {
        tx_hash: B256::repeat_byte(3),
        block: 100,
        route_kind: RouteKind::Mixed,
        decode_path: DecodePath::UniversalRouter,
        predicted_gross: U256::from(10).pow(U256::from(18)),
        simulated_gross: U256::ZERO,
        outcome: SimOutcome::BackrunReverted,
        gas_used: 91_000,
    });
    let confirmed = HotEvent::Confirmed {
        tx_hash: B256::repeat_byte(4),
        gas_used: 120_000,
    };
    let events = [
        confirmed,
        confirmed,
        disagreement,
        sim_skip(SkipReason::SimDisagree),
        sim_miss(SimMissKind::Code),
        sim_miss(SimMissKind::Storage),
        sim_miss(SimMissKind::Storage),
        sim_miss(SimMissKind::Storage),
        sim_skip(SkipReason::SimMiss),
        sim_skip(SkipReason::SimMiss),
        sim_skip(SkipReason::VictimInvalid),
    ];
    events.iter().for_each(|ev| counters.observe(ev));

    let text = prometheus_text(&counters.snapshot(), &StageRecorder::new().summary());
    let samples = parse(&text);
    assert_eq!(
        find(&samples, "kestrel_sim_confirmed_total", &[]).value,
        2.0
    );
    assert_eq!(
        find(&samples, "kestrel_sim_disagreements_total", &[]).value,
        1.0
    );
    for (kind, want) in [
        ("account", 0.0),
        ("code", 1.0),
        ("storage", 3.0),
        ("block_hash", 0.0),
    ] {
        let s = find(&samples, "kestrel_sim_misses_total", &[("kind", kind)]);
        assert_eq!(s.value, want, "{kind}");
    }
    let miss_lines = samples
        .iter()
        .filter(|s| s.name == "kestrel_sim_misses_total")
        .count();
    assert_eq!(miss_lines, SimMissKind::ALL.len());
    assert!(
        text.contains("# TYPE kestrel_sim_misses_total counter\n"),
        "{text}"
    );
    for (reason, want) in [
        ("sim_miss", 2.0),
        ("sim_disagree", 1.0),
        ("sim_unavailable", 0.0),
        ("victim_invalid", 1.0),
    ] {
        let s = find(&samples, "kestrel_skips_total", &[("reason", reason)]);
        assert_eq!(s.value, want, "{reason}");
    }
    // Nothing else moved: confirmations are not candidates or bundles.
    assert_eq!(find(&samples, "kestrel_candidates_total", &[]).value, 0.0);
    assert_eq!(find(&samples, "kestrel_bundles_total", &[]).value, 0.0);
}

#[test]
fn simulated_outcomes_are_exposed_one_line_each() {
    let counters = Counters::new();
    for outcome in [
        SimulatedOutcome::Fired,
        SimulatedOutcome::NoPool,
        SimulatedOutcome::NoPool,
        SimulatedOutcome::Miss,
    ] {
        counters.add_simulated(outcome);
    }
    counters.add_routed(DecodePath::Simulated);
    let text = prometheus_text(&counters.snapshot(), &StageRecorder::new().summary());
    let samples = parse(&text);
    let lines: Vec<_> = samples
        .iter()
        .filter(|s| s.name == "kestrel_simulated_total")
        .collect();
    assert_eq!(lines.len(), SimulatedOutcome::ALL.len());
    for (outcome, want) in [
        ("fired", 1.0),
        ("no_pool", 2.0),
        ("miss", 1.0),
        ("disagree", 0.0),
    ] {
        let s = find(&samples, "kestrel_simulated_total", &[("outcome", outcome)]);
        assert_eq!(s.value, want, "{outcome}");
    }
    let routed = find(
        &samples,
        "kestrel_routed_total",
        &[("decoder", "simulated")],
    );
    assert_eq!(routed.value, 1.0);
}
