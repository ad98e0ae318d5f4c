//! Stage recorders: percentiles of known data, unreached stages, merging, JSON shape.

use hdrhistogram::Histogram;
use kestrel_telemetry::{Percentiles, StageRecorder};
use kestrel_types::{Stage, Stamps};

/// hdrhistogram with 3 significant digits reports a value within 0.1% of the true one.
fn assert_close(got: u64, want: u64, what: &str) {
    let tolerance = want / 1000 + 1;
    assert!(
        got.abs_diff(want) <= tolerance,
        "{what}: got {got}, want {want} ± {tolerance}"
    );
}

/// Stamps whose decode stage took `ns`; nothing after it was reached.
fn decode_only(ns: u64) -> Stamps {
    Stamps {
        recv_ns: 1_000,
        stage_end_ns: [1_000 + ns, 0, 0, 0, 0],
    }
}

#[test]
fn percentiles_of_one_to_ten_thousand() {
    let mut r = StageRecorder::new();
    (1..=10_000).for_each(|ns| r.record(&decode_only(ns)));
    let p = r.summary().decode;
    // Of the values 1..=10000 the q-quantile is 10000 * q.
    assert_close(p.p50, 5_000, "p50");
    assert_close(p.p99, 9_900, "p99");
    assert_close(p.p999, 9_990, "p999");
    assert_close(p.max, 10_000, "max");
    assert_eq!(p.count, 10_000);

    let mut h = Histogram::<u64>::new_with_bounds(1, 60_000_000_000, 3).unwrap();
    (1..=10_000u64).for_each(|v| h.record(v).unwrap());
    assert_eq!(
        Percentiles::from_histogram(&h),
        p,
        "standalone percentiles agree"
    );
}

#[test]
fn unreached_stages_are_not_recorded() {
    let mut r = StageRecorder::new();
    // Decode 40 ns and filter 60 ns, then the frame was skipped.
    r.record(&Stamps {
        recv_ns: 1_000,
        stage_end_ns: [1_040, 1_100, 0, 0, 0],
    });
    let s = r.summary();
    assert_eq!((s.decode.count, s.decode.max), (1, 40));
    assert_eq!((s.filter.count, s.filter.max), (1, 60));
    for stage in [Stage::Decide, Stage::Build, Stage::Write] {
        assert_eq!(*s.stage(stage), Percentiles::default(), "{stage:?}");
    }
    assert_eq!(s.decision.count, 0);
    assert_eq!(s.end_to_end.count, 0);

    // A frame that went all the way: recv 0 → write end 2_000 ns; decision ends at 1_000.
    r.record(&Stamps {
        recv_ns: 5_000,
        stage_end_ns: [5_100, 5_200, 6_000, 6_500, 7_000],
    });
    let s = r.summary();
    assert_eq!((s.decode.count, s.write.count), (2, 1));
    assert_eq!((s.decision.count, s.decision.max), (1, 1_000));
    assert_eq!((s.end_to_end.count, s.end_to_end.max), (1, 2_000));
}

#[test]
fn values_beyond_sixty_seconds_saturate() {
    let mut r = StageRecorder::new();
    r.record(&decode_only(600_000_000_000));
    let p = r.summary().decode;
    assert_eq!(p.count, 1);
    assert_close(p.max, 60_000_000_000, "saturated max");
}

#[test]
fn merging_adds_counts_and_keeps_the_max() {
    let mut a = StageRecorder::new();
    let mut b = StageRecorder::new();
    (1..=100).for_each(|ns| a.record(&decode_only(ns)));
    (1..=50).for_each(|ns| b.record(&decode_only(ns * 1_000)));
    a.merge_from(&b).unwrap();
    let p = a.summary().decode;
    assert_eq!(p.count, 150);
    assert_close(p.max, 50_000, "merged max");
    // b is unchanged by the merge.
    assert_eq!(b.summary().decode.count, 50);
    a.reset();
    assert_eq!(a.summary().decode, Percentiles::default());
}

#[test]
fn confirmations_are_recorded_apart_from_the_stages_and_merge_like_them() {
    let mut a = StageRecorder::new();
    let mut b = StageRecorder::new();
    (1..=10).for_each(|i| a.record_confirm(i * 10_000));
    b.record_confirm(2_000_000);
    a.merge_from(&b).unwrap();
    let s = a.summary();
    assert_eq!(s.confirm.count, 11);
    assert_close(s.confirm.max, 2_000_000, "merged confirm max");
    assert_close(s.confirm.p50, 60_000, "confirm p50");
    // A confirmation is no stage: nothing else saw a value.
    assert_eq!(s.decode, Percentiles::default());
    assert_eq!(s.end_to_end, Percentiles::default());
    a.reset();
    assert_eq!(a.summary().confirm, Percentiles::default());
}

#[test]
fn summary_serializes_with_stable_keys() {
    let mut r = StageRecorder::new();
    r.record(&Stamps {
        recv_ns: 10,
        stage_end_ns: [20, 30, 40, 50, 60],
    });
    let json = serde_json::to_value(r.summary()).unwrap();
    let obj = json.as_object().unwrap();
    let keys: Vec<&str> = obj.keys().map(String::as_str).collect();
    let mut want = vec![
        "decode",
        "filter",
        "decide",
        "build",
        "write",
        "decision",
        "end_to_end",
        "confirm",
    ];
    let mut got = keys.clone();
    got.sort_unstable();
    want.sort_unstable();
    assert_eq!(got, want);
    for (key, value) in obj {
        let fields = value.as_object().unwrap();
        let mut names: Vec<&str> = fields.keys().map(String::as_str).collect();
        names.sort_unstable();
        assert_eq!(names, ["count", "max", "p50", "p99", "p999"], "{key}");
        assert!(
            fields.values().all(serde_json::Value::is_u64),
            "{key}: {value}"
        );
    }
    assert_eq!(json["end_to_end"]["max"], 50);
    assert_eq!(json["decision"]["count"], 1);
}
