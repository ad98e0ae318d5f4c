//! The replay benchmark as a functional check: every frame read, every victim fired, nothing
//! dropped, and the floor path measured. Timing figures are not asserted (speed is measured in
//! BENCHMARKS.md, not here).

#[test]
fn hotpath_bench_reads_every_frame_and_fires_on_victims() {
    let out = kestrel::bench::hotpath(kestrel::bench::HotpathOpts {
        rate: 500,
        duration_s: 2,
        wait: kestrel_bus::WaitStrategy::Park(std::time::Duration::from_micros(100)),
        core: kestrel::bench::CoreChoice::Auto,
        sink: kestrel::bench::SinkMode::Poll,
    })
    .expect("bench");
    assert_eq!(out.frames_sent, 1000);
    assert_eq!(
        out.frames_processed, out.frames_sent,
        "the engine lost frames"
    );
    assert_eq!(out.drops, 0);
    // One frame in ten is a 1–20 ETH swap on a 100 ETH pool priced 0.3 % off its sibling:
    // each is profitable after gas, so each is fired.
    assert_eq!(out.bundles, out.frames_sent / 10);
    assert_eq!(out.end_to_end_ns_count(), out.bundles);
    assert!(out.floor_end_to_end_ns.max > 0);
    let json = serde_json::to_value(&out).unwrap();
    for key in [
        "rate_target",
        "rate_sustained",
        "drops",
        "decision_ns",
        "end_to_end_ns",
        "floor_end_to_end_ns",
    ] {
        assert!(json.get(key).is_some(), "report lacks {key}");
    }
    for key in ["p50", "p99", "p999", "max"] {
        assert!(json["decision_ns"].get(key).is_some());
    }
}
