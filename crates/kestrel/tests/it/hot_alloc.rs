//! The hot path allocates nothing per frame: `Pipeline::on_frame` over the replay benchmark's
//! frames (transfers skipped, victims decoded, applied, sized, and fired: the victim
//! re-encoded, the bundle body written, the auth header signed, the request written to a
//! relay socket, the body handed to the slow lane, the event pushed), counted by the test
//! binary's global allocator (`kestrel_bus::CountingAlloc`, per thread). Both lanes: Router02
//! victims fired from the pre-signed ladder, and SwapRouter02 / Universal Router victims over
//! V2 and V3 pools, fired as routes signed on the hot thread. And with revm confirmation: revm
//! allocates as it runs, and on a hot thread with its pool (as `run_hot_thread` reserves one)
//! none of that reaches the system allocator.

use std::io::Read;
use std::net::TcpListener;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use kestrel::bench::HotParts;
use kestrel_stdx::mono_ns;

/// A relay socket that reads and discards everything (replies are not needed here).
pub(crate) fn discard_sink() -> String {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    std::thread::spawn(move || {
        for stream in listener.incoming() {
            let Ok(mut s) = stream else { return };
            std::thread::spawn(move || {
                let mut buf = [0u8; 16 * 1024];
                while matches!(s.read(&mut buf), Ok(n) if n > 0) {}
            });
        }
    });
    url
}

/// What one measured pass did.
struct Measured {
    allocations: u64,
    /// Bundles fired during the measured frames.
    fired: u64,
}

/// Runs `warm` frames, then counts this thread's allocations over `measured`, with the slow
/// lane's side of the handoff drained on its own thread (its allocations are its own).
fn measure(parts: &mut HotParts, warm: &[String], measured: &[String]) -> Measured {
    let handoff = Arc::clone(&parts.handoff);
    let stop = Arc::new(AtomicBool::new(false));
    let stop2 = Arc::clone(&stop);
    let drain = std::thread::spawn(move || {
        while !stop2.load(Ordering::Relaxed) {
            while let Some(p) = handoff.recv() {
                handoff.recycle(p);
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });
    for f in warm {
        parts.pipeline.on_frame(f.as_bytes(), mono_ns());
    }
    let bundles_before = parts.counters.snapshot().bundles;
    let before = kestrel_bus::thread_allocations();
    for f in measured {
        parts.pipeline.on_frame(f.as_bytes(), mono_ns());
    }
    let allocations = kestrel_bus::thread_allocations() - before;
    // The counter is live in this binary: one allocation shows.
    let probe = kestrel_bus::thread_allocations();
    std::hint::black_box(Vec::<u8>::with_capacity(64));
    assert!(kestrel_bus::thread_allocations() > probe);
    stop.store(true, Ordering::Relaxed);
    drain.join().unwrap();
    let c = parts.counters.snapshot();
    assert_eq!(c.pending_seen, (warm.len() + measured.len()) as u64);
    assert_eq!(
        parts.presigs.fallbacks(),
        0,
        "a full ECDSA ran instead of a presigned one"
    );
    Measured {
        allocations,
        fired: c.bundles - bundles_before,
    }
}

#[test]
fn the_hot_pipeline_allocates_nothing_per_frame() {
    let (mut parts, frames) = kestrel::bench::hot_fixture(3_000, &discard_sink()).unwrap();
    // Warm-up: the first frames of each kind touch every lazily initialised path once.
    let (warm, measured) = frames.split_at(200);
    let m = measure(&mut parts, warm, measured);
    // The path was really taken: one in ten fired.
    assert_eq!(m.fired, measured.len() as u64 / 10);
    assert_eq!(
        m.allocations,
        0,
        "{} allocations over {} frames and {} bundles",
        m.allocations,
        measured.len(),
        m.fired
    );
}

#[test]
fn the_route_path_allocates_nothing_per_frame() {
    // Router victims: decode (SwapRouter02, Universal Router), exact replay over V2 and V3
    // pools, cycle search with exact multi-tick quotes, the backrunRoute transaction signed on
    // the hot thread, the bundle built and written.
    let (mut parts, frames, _) = kestrel::bench::route_fixture(3_000, &discard_sink()).unwrap();
    // Warm-up: 40 victims, ten of each kind.
    let (warm, measured) = frames.split_at(400);
    let m = measure(&mut parts, warm, measured);
    let victims = measured.len() as u64 / 10;
    assert!(
        m.fired > 0 && m.fired * 4 >= victims * 3,
        "{} of {victims} victims fired",
        m.fired
    );
    assert_eq!(
        m.allocations,
        0,
        "{} allocations over {} frames and {} route bundles",
        m.allocations,
        measured.len(),
        m.fired
    );
}

#[test]
fn the_revm_confirmed_path_takes_nothing_from_the_system_allocator() {
    std::thread::spawn(|| {
        kestrel_bus::pool::reserve_for_current_thread(kestrel_hot::HOT_POOL_BYTES).unwrap();
        let (mut parts, frames) = kestrel::bench::confirm_fixture(500, &discard_sink()).unwrap();
        let (warm, measured) = frames.split_at(100);
        let before = kestrel_bus::pool::stats().unwrap();
        let m = measure(&mut parts, warm, measured);
        let after = kestrel_bus::pool::stats().unwrap();
        // Every victim was confirmed in revm (victim, then the pre-signed backrun, on the
        // snapshot) before it was fired.
        let c = parts.counters.snapshot();
        assert_eq!(m.fired, measured.len() as u64 / 10);
        assert_eq!(c.confirmed, frames.len() as u64 / 10);
        // revm did ask for memory on every run, and the pool served all of it.
        let served = after.served_allocations - before.served_allocations;
        assert!(
            served >= 20 * m.fired,
            "{served} pool allocations for {} runs",
            m.fired
        );
        assert_eq!(after.overflow_allocations, 0, "{after:?}");
        assert_eq!(
            m.allocations,
            0,
            "{} allocations reached the system allocator over {} frames and {} confirmed bundles",
            m.allocations,
            measured.len(),
            m.fired
        );
        // What stays allocated between runs (the reused EVM's buffers) is a small part of
        // the pool.
        assert!(
            after.high_water_bytes < (kestrel_hot::HOT_POOL_BYTES / 4) as u64,
            "{after:?}"
        );
        eprintln!("pool after {} confirmations: {after:?}", c.confirmed);
    })
    .join()
    .unwrap();
}
