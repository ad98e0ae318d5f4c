//! The hot pipeline driven frame by frame, without a node: skip classification, duplicate
//! detection and robustness to arbitrary bytes. `handoff`: undecoded calls handed to the slow
//! lane. `ws`: the zero-copy WebSocket client.

mod cex;
mod cex_bybit;
mod cex_coinbase;
mod cex_kraken;
mod cex_lost_snapshot;
mod cex_okx;
mod cex_replay;
mod feed_support;
mod handoff;
mod lane;
mod lane_okx;
mod resubscribe_feed;
mod tls;
mod ws;
mod wsclient_limits;

/// Counts allocations per thread, for the no-allocation tests.
#[global_allocator]
static GLOBAL: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;

use std::sync::Arc;

use kestrel_bus::SnapshotCell;
use kestrel_bus::spsc::{self, DropPolicy};
use kestrel_dex::backrun::BackrunParams;
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot};
use kestrel_fire::bundle::FlashbotsAuth;
use kestrel_hot::{HotState, Pipeline, PipelineConfig};
use kestrel_telemetry::Counters;
use kestrel_types::{Address, B256, HotEvent, SkipReason, U256};

const ROUTER: &str = "0x7a250d5630b4cf539739df2c5dacb4c659f2488d";

fn pipeline() -> (Pipeline, Arc<Counters>, kestrel_bus::Consumer<HotEvent>) {
    pipeline_with_ring(1024)
}

fn pipeline_with_ring(ring: usize) -> (Pipeline, Arc<Counters>, kestrel_bus::Consumer<HotEvent>) {
    pipeline_with(ring, |_, _| {})
}

/// The harness's pipeline, with `adjust` changing its config and published state first.
fn pipeline_with(
    ring: usize,
    adjust: impl FnOnce(&mut PipelineConfig, &mut HotState),
) -> (Pipeline, Arc<Counters>, kestrel_bus::Consumer<HotEvent>) {
    let router: Address = ROUTER.parse().unwrap();
    let factory = FactoryInfo {
        address: Address::repeat_byte(1),
        router,
        init_code_hash: B256::ZERO,
        fee_num: 997,
    };
    let snapshot = Arc::new(PoolSnapshot::new(1, vec![factory], Vec::new()));
    let mut state = HotState {
        block: 1,
        timestamp: 1,
        parent_hash: B256::ZERO,
        snapshot,
        registry: None,
        routers: Arc::default(),
        cycle_limits: Default::default(),
        route_tx: None,
        route_gas_cost_wei: U256::ZERO,
        ladder: None,
        params: BackrunParams {
            capital_token: Address::repeat_byte(9),
            capital: U256::ZERO,
            min_profit_wei: U256::from(1),
            gas_cost_wei: U256::ZERO,
            payment_bps: 0,
        },
        weth: Address::repeat_byte(9),
        fee_on_transfer: Vec::new(),
        sim: None,
    };
    let counters = Arc::new(Counters::new());
    let (producer, consumer) = spsc::channel(ring, DropPolicy::DropNewest);
    let auth = FlashbotsAuth::from_hex(
        "0x4242424242424242424242424242424242424242424242424242424242424242",
    )
    .unwrap();
    let mut cfg = PipelineConfig {
        max_calldata_bytes: 1024,
        relays: Vec::new(),
        auth,
        presigs: Arc::new(kestrel_fire::PresigPool::with_capacity(1)),
        handoff: None,
        handoff_calls: false,
        searcher: None,
        confirm_routes: false,
        confirm_v2: false,
        undecoded: None,
    };
    adjust(&mut cfg, &mut state);
    let p = Pipeline::new(
        cfg,
        Arc::new(SnapshotCell::new(state)),
        producer,
        Arc::clone(&counters),
    );
    (p, counters, consumer)
}

fn tx_frame(hash_byte: u8, to: &str, input: &str) -> String {
    tx_frame_from(
        hash_byte,
        "0x1111111111111111111111111111111111111111",
        to,
        input,
    )
}

fn tx_frame_from(hash_byte: u8, from: &str, to: &str, input: &str) -> String {
    format!(
        r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"subscription":"0x1","result":{{"hash":"0x{}","type":"0x2","chainId":"0xaa36a7","nonce":"0x1","from":"{from}","to":"{to}","value":"0x0","gas":"0x5208","maxFeePerGas":"0x1","maxPriorityFeePerGas":"0x1","input":"{input}","accessList":[],"v":"0x0","yParity":"0x0","r":"0x1","s":"0x1"}}}}}}"#,
        hex_byte(hash_byte)
    )
}

fn hex_byte(b: u8) -> String {
    format!("{b:02x}").repeat(32)
}

#[test]
fn each_pending_tx_is_classified_once_and_repeats_are_duplicates() {
    let (mut p, counters, mut events) = pipeline();
    let transfer = tx_frame(0xaa, "0x2222222222222222222222222222222222222222", "0x");
    let not_swap = tx_frame(0xbb, ROUTER, "0xdeadbeef");
    for frame in [&transfer, &transfer, &not_swap, &not_swap, &transfer] {
        p.on_frame(frame.as_bytes(), kestrel_stdx::mono_ns());
    }
    let c = counters.snapshot();
    assert_eq!(c.pending_seen, 5);
    assert_eq!(c.skips[SkipReason::NotRouter.index()], 1);
    assert_eq!(c.skips[SkipReason::NotSwap.index()], 1);
    assert_eq!(c.skips[SkipReason::Duplicate.index()], 3);
    let mut got = Vec::new();
    events.pop_batch(&mut got, 100);
    let reasons: Vec<_> = got
        .iter()
        .filter_map(|e| {
            if let HotEvent::Skip(s) = e {
                Some(s.reason)
            } else {
                None
            }
        })
        .collect();
    assert_eq!(
        reasons,
        [
            SkipReason::NotRouter,
            SkipReason::Duplicate,
            SkipReason::NotSwap,
            SkipReason::Duplicate,
            SkipReason::Duplicate
        ]
    );
}

#[test]
fn broken_frames_are_counted_skips_not_panics() {
    let (mut p, counters, _events) = pipeline();
    let good = tx_frame(0xcc, ROUTER, "0x7ff36ab5");
    for cut in [1, 10, good.len() / 2, good.len() - 1] {
        p.on_frame(&good.as_bytes()[..cut], kestrel_stdx::mono_ns());
    }
    p.on_frame(b"\xff\x00not json", kestrel_stdx::mono_ns());
    let c = counters.snapshot();
    assert_eq!(c.skips[SkipReason::MalformedFrame.index()], 5);
    assert_eq!(c.pending_seen, 0);
}

proptest::proptest! {
    #[test]
    fn arbitrary_bytes_never_panic_the_pipeline(bytes in proptest::collection::vec(proptest::prelude::any::<u8>(), 0..512)) {
        let (mut p, _, _) = pipeline();
        p.on_frame(&bytes, 0);
    }
}

#[test]
fn a_full_event_ring_is_counted_as_drops_and_reconnects_are_counted() {
    let (mut p, counters, _events) = pipeline_with_ring(2);
    for b in 1..=5u8 {
        let frame = tx_frame(b, "0x2222222222222222222222222222222222222222", "0x");
        p.on_frame(frame.as_bytes(), kestrel_stdx::mono_ns());
    }
    // Five skip events into a ring of two that nobody drains: three are dropped, and counted.
    let c = counters.snapshot();
    assert_eq!(
        c.skips[SkipReason::NotRouter.index()],
        5,
        "counters see every frame"
    );
    assert_eq!(c.drops, 3);
    p.note_reconnect(1);
    assert_eq!(counters.snapshot().reconnects, 1);
}
