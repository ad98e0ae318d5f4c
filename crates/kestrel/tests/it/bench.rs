//! The replay benchmark as a functional check: every frame read, every victim fired, nothing
//! dropped, and the floor path measured. Timing figures are not asserted (speed is measured in
//! BENCHMARKS.md, not here).

/// A 2 s run at `rate` frames/s on a polling sink, the hot thread pinned when cores allow.
fn opts(
    rate: u64,
    victims: kestrel::bench::VictimSet,
    confirm: bool,
) -> kestrel::bench::HotpathOpts {
    kestrel::bench::HotpathOpts {
        rate,
        duration_s: 2,
        wait: kestrel_bus::WaitStrategy::Park(std::time::Duration::from_micros(100)),
        core: kestrel::bench::CoreChoice::Auto,
        sink: kestrel::bench::SinkMode::Poll,
        victims,
        confirm,
    }
}

#[test]
fn hotpath_bench_reads_every_frame_and_fires_on_victims() {
    let out =
        kestrel::bench::hotpath(opts(500, kestrel::bench::VictimSet::V2, false)).expect("bench");
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
    // Nothing was confirmed in revm, and the report has no confirm stage.
    assert!(!out.confirm && out.confirmed == 0);
    assert!(!out.stages_ns.contains_key("confirm"));
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
    let out = kestrel::bench::hotpath(opts(500, kestrel::bench::VictimSet::Routers, false))
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

#[test]
fn hotpath_bench_with_confirm_runs_every_v2_backrun_in_revm_before_firing_it() {
    let out =
        kestrel::bench::hotpath(opts(200, kestrel::bench::VictimSet::V2, true)).expect("bench");
    assert_eq!(out.frames_processed, out.frames_sent);
    assert_eq!(out.drops, 0);
    // The world deployed in revm prices its pools 0.3 % apart, as the in-memory one: every
    // victim is profitable, revm agrees with the analytic plan to the wei, and it is fired.
    assert!(out.confirm);
    assert_eq!(out.bundles, out.frames_sent / 10, "skips: {:?}", out.skips);
    assert_eq!(out.confirmed, out.bundles, "skips: {:?}", out.skips);
    // One revm run of victim + backrun takes time; it is inside the build stage too.
    let confirm = &out.stages_ns["confirm"];
    assert!(confirm.p50 > 0 && confirm.max <= out.stages_ns["build"].max);
    assert_eq!(out.skips["not_router"], out.frames_sent - out.bundles);
    assert_eq!(out.skips.len(), 1, "{:?}", out.skips);
}

#[test]
fn hotpath_bench_refuses_confirm_with_router_victims() {
    let err = kestrel::bench::hotpath(opts(200, kestrel::bench::VictimSet::Routers, true))
        .expect_err("--confirm needs V2 victims");
    assert!(err.to_string().contains("--confirm"), "{err}");
}

/// `opts` with this rate and duration.
fn sized(rate: u64, duration_s: u64) -> kestrel::bench::HotpathOpts {
    kestrel::bench::HotpathOpts {
        rate,
        duration_s,
        ..opts(1, kestrel::bench::VictimSet::V2, false)
    }
}

#[test]
fn hotpath_bench_refuses_rates_and_durations_out_of_range_before_starting() {
    use kestrel::bench::{MAX_DURATION_S, MAX_PASS_FRAMES};
    // (rate, duration, the flag the error names, what else it says)
    let cases = [
        (0, 10, "--rate", "at least 1"),
        (10_000, 0, "--duration", "at least 1"),
        (1, MAX_DURATION_S + 1, "--duration", "3600"),
        // u64::MAX × 2 overflows; before the fix it panicked (or wrapped in release).
        (u64::MAX, 2, "--rate", "100000000"),
        (u64::MAX / 2 + 1, 2, "--rate", "100000000"),
        // No overflow, but past the per-pass frame limit.
        (MAX_PASS_FRAMES / 2 + 1, 2, "--rate", "100000000"),
    ];
    for (rate, duration_s, flag, says) in cases {
        let o = sized(rate, duration_s);
        let err = o.frame_count().expect_err("out of range");
        let msg = err.to_string();
        assert!(
            msg.contains(flag) && msg.contains(says),
            "{rate}×{duration_s}: {msg}"
        );
        // The bench itself refuses the same options, with the same error, and starts nothing.
        let err = kestrel::bench::hotpath(o).expect_err("out of range");
        assert_eq!(err.to_string(), msg);
    }
    // The figures BENCHMARKS.md runs, and the limits themselves, are accepted.
    assert_eq!(sized(10_000, 10).frame_count().unwrap(), 100_000);
    assert_eq!(
        sized(MAX_PASS_FRAMES / MAX_DURATION_S, MAX_DURATION_S)
            .frame_count()
            .unwrap(),
        MAX_PASS_FRAMES / MAX_DURATION_S * MAX_DURATION_S
    );
    assert_eq!(
        sized(MAX_PASS_FRAMES, 1).frame_count().unwrap(),
        MAX_PASS_FRAMES
    );
}

#[test]
fn xarb_bench_trades_dislocations_on_every_venue_format_and_measures_every_trade() {
    let out = kestrel::bench_xarb::xarb(kestrel::bench_xarb::XarbBenchOpts {
        duration_s: 3,
        dislocate_every_ms: 100,
    })
    .expect("bench runs");
    assert_eq!(
        out.venues,
        ["binance", "kraken", "okx", "bybit", "coinbase"],
        "{out:?}"
    );
    assert!(out.market_steps > 50, "{out:?}");
    assert!(out.dislocations >= 10, "{out:?}");
    // A 60 bp dislocation pays against any two venues' taker fees (0.10% to 0.40% each).
    assert!(out.trades > 0, "{out:?}");
    assert!(out.fills >= out.trades, "{out:?}");
    assert_eq!(out.unprofitable_after_fees, 0, "{out:?}");
    assert_eq!(
        out.trades_by_pair.values().sum::<u64>(),
        out.trades,
        "every trade has its pair"
    );
    // Each venue is dislocated in turn, so trades are not all between the same two.
    assert!(out.trades_by_pair.len() >= 2, "{out:?}");
    // The simulated Binance account pays its fees in BNB: where Binance traded, fees were
    // taken in a third asset, and nowhere else.
    let binance_trades: u64 = out
        .trades_by_pair
        .iter()
        .filter(|(pair, _)| pair.contains("binance"))
        .map(|(_, n)| n)
        .sum();
    assert_eq!(binance_trades > 0, out.fees_in_other_asset > 0, "{out:?}");
    for pair in out.trades_by_pair.keys() {
        let (buy, sell) = pair.split_once("->").expect("buy->sell");
        assert!(buy != sell && out.venues.iter().any(|v| v == buy), "{pair}");
        assert!(out.venues.iter().any(|v| v == sell), "{pair}");
    }
    // One sample per trade decided in the poll that read its book change; the others waited
    // (behind the trade in flight) and are counted instead.
    assert_eq!(
        out.update_to_orders_ns.count + out.deferred_trades,
        out.trades,
        "{out:?}"
    );
    assert!(out.update_to_orders_ns.count > 0, "{out:?}");
    assert!(out.update_to_orders_ns.p50 > 0);
}
