//! Allocations per victim + backrun simulation, counted with the workspace's counting global
//! allocator (per-thread counts, so parallel tests do not disturb each other): a simulator
//! reused across runs allocates a fixed, small number of times per run, well under a fresh one.

use std::sync::Arc;

use kestrel_bus::thread_allocations as allocations;
use kestrel_sim::{ChainRules, Simulator};

use crate::support::{next_block, world_with_sequence};

#[global_allocator]
static GLOBAL: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;

/// Most allocations one victim + backrun run on a reused simulator may make.
const ALLOCATION_BUDGET: u64 = 120;

fn counted(f: impl FnOnce()) -> u64 {
    let before = allocations();
    f();
    allocations() - before
}

#[test]
fn a_reused_simulator_allocates_less_per_run_and_the_same_each_time() {
    let (w, txs) = world_with_sequence();
    let block = next_block(2);
    let fresh = counted(|| {
        let mut sim = Simulator::new(Arc::clone(&w.snapshot), ChainRules::SEPOLIA_PRAGUE);
        assert!(
            sim.run(&block, &txs)
                .unwrap()
                .iter()
                .all(|o| o.is_success())
        );
    });
    let mut sim = Simulator::new(Arc::clone(&w.snapshot), ChainRules::SEPOLIA_PRAGUE);
    sim.run(&block, &txs).unwrap();
    let runs: Vec<u64> = (0..3)
        .map(|_| counted(|| assert!(sim.run(&block, &txs).unwrap().len() == 2)))
        .collect();
    eprintln!("allocations per victim+backrun run: fresh simulator {fresh}, reused {runs:?}");
    assert!(fresh > 0, "the counter is not installed");
    assert!(runs[0] < fresh, "reuse saved nothing: {runs:?} vs {fresh}");
    // The budget: revm allocates a boxed input per call frame, a storage table per touched
    // account, and every log and return value; about a hundred for these two swaps. More means
    // something new allocates per run.
    assert!(
        runs[0] <= ALLOCATION_BUDGET,
        "{} allocations per run",
        runs[0]
    );
    assert!(runs.iter().all(|&n| n == runs[0]), "{runs:?}");
}
