//! The hot path allocates nothing per frame: `Pipeline::on_frame` over the replay benchmark's
//! frames (transfers skipped, victims decoded, applied, sized, and fired: the victim
//! re-encoded, the bundle body written, the auth header signed, the request written to a
//! relay socket, the body handed to the slow lane, the event pushed), counted by the test
//! binary's global allocator (`kestrel_bus::CountingAlloc`, per thread).

use std::io::Read;
use std::net::TcpListener;

use kestrel_stdx::mono_ns;

/// A relay socket that reads and discards everything (replies are not needed here).
fn discard_sink() -> String {
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

#[test]
fn the_hot_pipeline_allocates_nothing_per_frame() {
    let (mut parts, frames) = kestrel::bench::hot_fixture(3_000, &discard_sink()).unwrap();
    // The slow lane's side of the handoff, on its own thread (its allocations are its own).
    let handoff = std::sync::Arc::clone(&parts.handoff);
    let stop = std::sync::Arc::new(std::sync::atomic::AtomicBool::new(false));
    let stop2 = std::sync::Arc::clone(&stop);
    let drain = std::thread::spawn(move || {
        while !stop2.load(std::sync::atomic::Ordering::Relaxed) {
            while let Some(p) = handoff.recv() {
                handoff.recycle(p);
            }
            std::thread::sleep(std::time::Duration::from_micros(200));
        }
    });
    // Warm-up: the first frames of each kind touch every lazily initialised path once.
    let (warm, measured) = frames.split_at(200);
    for f in warm {
        parts.pipeline.on_frame(f.as_bytes(), mono_ns());
    }
    let bundles_before = parts.counters.snapshot().bundles;
    let before = kestrel_bus::thread_allocations();
    for f in measured {
        parts.pipeline.on_frame(f.as_bytes(), mono_ns());
    }
    let allocated = kestrel_bus::thread_allocations() - before;
    // The counter is live in this binary: one allocation shows.
    let probe = kestrel_bus::thread_allocations();
    std::hint::black_box(Vec::<u8>::with_capacity(64));
    assert!(kestrel_bus::thread_allocations() > probe);
    let c = parts.counters.snapshot();
    stop.store(true, std::sync::atomic::Ordering::Relaxed);
    drain.join().unwrap();
    // The path was really taken: every frame seen, one in ten fired.
    assert_eq!(c.pending_seen, frames.len() as u64);
    let fired = c.bundles - bundles_before;
    assert_eq!(fired, measured.len() as u64 / 10, "{c:?}");
    assert_eq!(
        parts.presigs.fallbacks(),
        0,
        "a full ECDSA ran instead of a presigned one"
    );
    assert_eq!(
        allocated,
        0,
        "{allocated} allocations over {} frames and {fired} bundles",
        measured.len()
    );
}
