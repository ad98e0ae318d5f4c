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
        victims: kestrel::bench::VictimSet::V2,
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

#[test]
fn hotpath_bench_fires_routes_on_router_victims() {
    let out = kestrel::bench::hotpath(kestrel::bench::HotpathOpts {
        rate: 500,
        duration_s: 2,
        wait: kestrel_bus::WaitStrategy::Park(std::time::Duration::from_micros(100)),
        core: kestrel::bench::CoreChoice::Auto,
        sink: kestrel::bench::SinkMode::Poll,
        victims: kestrel::bench::VictimSet::Routers,
    })
    .expect("bench");
    assert_eq!(out.frames_processed, out.frames_sent);
    assert_eq!(out.drops, 0);
    assert_eq!(out.victims, "routers");
    // One frame in ten is a router victim of 1–20 ETH; every one is profitable after gas,
    // and every cycle has a V3 pool (the world has no V2-only cycle).
    assert_eq!(out.bundles, out.frames_sent / 10);
    assert_eq!(out.end_to_end_ns_count(), out.bundles);
    assert_eq!(out.bundles_by_route["v2"], 0);
    assert!(out.bundles_by_route["v3"] > 0 && out.bundles_by_route["mixed"] > 0);
    assert_eq!(
        out.bundles_by_route["v3"] + out.bundles_by_route["mixed"],
        out.bundles
    );
    // Every other frame is a transfer, skipped at the router filter.
    assert_eq!(out.skips.len(), 1, "{:?}", out.skips);
    assert_eq!(out.skips["not_router"], out.frames_sent - out.bundles);
}
