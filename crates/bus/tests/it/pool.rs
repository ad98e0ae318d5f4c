//! The hot thread's pool allocator, under the real global allocator of this test binary
//! (`PoolAlloc<CountingAlloc>`, see `main.rs`): `thread_allocations()` counts only what reaches
//! the inner allocator. Pools are per thread and a thread reserves once, so every case runs on
//! its own spawned thread.
// Raw `alloc`/`realloc`/`dealloc` calls are the only way to drive random layouts through the
// allocator; each block carries its proof.
#![allow(unsafe_code)]

use std::collections::HashMap;
use std::hint::black_box;
use std::thread;

use kestrel_bus::pool::{self, PoolError, enter, is_pool_memory, reserve_for_current_thread};
use kestrel_bus::thread_allocations;

const MIB: usize = 1 << 20;

/// Runs `body` on a fresh thread that first reserves a pool of `bytes`.
fn on_pool_thread<T: Send + 'static>(bytes: usize, body: impl FnOnce() -> T + Send + 'static) -> T {
    let handle = thread::spawn(move || {
        reserve_for_current_thread(bytes).expect("a fresh thread reserves a pool");
        body()
    });
    handle
        .join()
        .unwrap_or_else(|panic| std::panic::resume_unwind(panic))
}

fn stats() -> pool::PoolStats {
    pool::stats().expect("this thread has a pool")
}

/// Vec growth, a HashMap with String values and a large Box: typical revm-shaped traffic.
fn mixed_work() -> u64 {
    let mut numbers = Vec::new();
    for i in 0..1000_u64 {
        numbers.push(i);
    }
    let mut table = HashMap::new();
    for i in 0..200_u64 {
        table.insert(i, i.to_string());
    }
    let boxed = Box::new([7_u8; 3000]);
    let total = numbers.iter().sum::<u64>()
        + table.values().map(|s| s.len() as u64).sum::<u64>()
        + u64::from(black_box(&boxed)[2999]);
    black_box(total)
}

#[test]
fn scoped_work_never_reaches_the_inner_allocator() {
    on_pool_thread(4 * MIB, || {
        let before = thread_allocations();
        let scope = enter();
        let in_scope = mixed_work();
        drop(scope);
        let inner_in_scope = thread_allocations() - before;

        let before = thread_allocations();
        let out_of_scope = mixed_work();
        let inner_out_of_scope = thread_allocations() - before;

        assert_eq!(in_scope, out_of_scope);
        assert_eq!(inner_in_scope, 0);
        assert!(inner_out_of_scope > 0);
        let s = stats();
        assert!(s.served_allocations > 0);
        assert_eq!(s.overflow_allocations, 0);
        assert_eq!(s.in_use_bytes, 0);
        assert!(s.high_water_bytes > 0);
    });
}

#[test]
fn scopes_nest_and_leaving_the_outermost_one_ends_pooling() {
    on_pool_thread(MIB, || {
        let outer = enter();
        let inner = enter();
        drop(inner);
        let still_pooled = Box::new(1_u64);
        drop(outer);
        let not_pooled = Box::new(2_u64);
        assert!(is_pool_memory(std::ptr::from_ref(&*still_pooled).cast()));
        assert!(!is_pool_memory(std::ptr::from_ref(&*not_pooled).cast()));
    });
}

#[test]
fn memory_is_reused_across_many_cycles() {
    on_pool_thread(MIB, || {
        assert_eq!(
            reserve_for_current_thread(MIB),
            Err(PoolError::AlreadyReserved)
        );
        let before = thread_allocations();
        let scope = enter();
        for i in 0..10_000_usize {
            let mut bytes = Vec::with_capacity(1 + i % 5000);
            bytes.extend(std::iter::repeat_n(i as u8, 1 + i % 5000));
            let boxed = Box::new(i);
            let text = format!("cycle {i}");
            black_box((&bytes, &boxed, &text));
        }
        drop(scope);
        assert_eq!(thread_allocations(), before);
        let s = stats();
        assert_eq!(s.capacity_bytes, MIB);
        assert_eq!(s.overflow_allocations, 0);
        assert!(s.served_allocations >= 30_000);
        assert!(s.carved_bytes < MIB / 4, "blocks are recycled: {s:?}");
        assert_eq!(s.in_use_bytes, 0);
    });
}

#[test]
fn invalid_sizes_are_refused() {
    thread::spawn(|| {
        assert_eq!(
            reserve_for_current_thread(0),
            Err(PoolError::InvalidSize { bytes: 0 })
        );
        assert_eq!(
            reserve_for_current_thread(usize::MAX),
            Err(PoolError::InvalidSize { bytes: usize::MAX })
        );
        assert!(pool::stats().is_none());
    })
    .join()
    .unwrap();
}

#[test]
fn a_block_freed_on_another_thread_returns_to_its_pool() {
    on_pool_thread(MIB, || {
        let scope = enter();
        let block = Box::new([3_u8; 256]);
        let grown_elsewhere: Vec<u8> = (0..100).collect();
        drop(scope);
        let addr = block.as_ptr().addr();
        let before = stats();

        // Another thread without a pool drops one block and grows the other past its class:
        // the Vec moves to that thread's inner allocator and its pool block goes home.
        let grown = thread::spawn(move || {
            drop(block);
            let mut v = grown_elsewhere;
            v.extend(100..200_u8);
            assert!(!is_pool_memory(v.as_ptr()));
            v
        })
        .join()
        .unwrap();
        assert!(grown.iter().copied().eq(0..200_u8));

        let after = stats();
        assert_eq!(after.remote_frees, before.remote_frees + 2);
        assert_eq!(after.in_use_bytes, before.in_use_bytes - 256 - 128);

        let scope = enter();
        let again = Box::new([4_u8; 256]);
        drop(scope);
        assert_eq!(
            again.as_ptr().addr(),
            addr,
            "the freed block is handed out again"
        );
        assert_eq!(
            stats().carved_bytes,
            before.carved_bytes,
            "nothing new was carved"
        );
    });
}

#[test]
fn concurrent_remote_frees_while_the_owner_allocates() {
    const PER_THREAD: usize = 2000;
    const THREADS: usize = 4;
    on_pool_thread(4 * MIB, || {
        let scope = enter();
        let batches: Vec<Vec<Box<[u8; 64]>>> = (0..THREADS)
            .map(|t| (0..PER_THREAD).map(|_| Box::new([t as u8; 64])).collect())
            .collect();
        drop(scope);
        let before = stats();

        // Four threads free their batches while the owner keeps allocating and freeing the
        // same class, so pushes race with the owner draining the remote stack.
        let freers: Vec<_> = batches
            .into_iter()
            .map(|batch| thread::spawn(move || batch.into_iter().for_each(drop)))
            .collect();
        for i in 0..20_000_usize {
            let _scope = enter();
            let block = Box::new([i as u8; 64]);
            assert!(black_box(&block).iter().all(|&b| b == i as u8));
        }
        for freer in freers {
            freer.join().unwrap();
        }

        let after = stats();
        // Each freer also drops its batch's own buffer, which was allocated in scope too.
        let freed = THREADS * (PER_THREAD + 1);
        assert_eq!(after.remote_frees, before.remote_frees + freed as u64);
        assert_eq!(after.in_use_bytes, 0);
        // Every block came back: allocating them all again carves nothing new (the Vec holding
        // them is allocated out of scope, as it is of a class not used before).
        let mut again: Vec<Box<[u8; 64]>> = Vec::with_capacity(THREADS * PER_THREAD);
        let scope = enter();
        again.extend((0..THREADS * PER_THREAD).map(|_| Box::new([0; 64])));
        drop(scope);
        assert_eq!(stats().carved_bytes, after.carved_bytes);
        assert_eq!(stats().overflow_allocations, 0);
        black_box(again);
    });
}

#[test]
fn oversize_and_exhaustion_overflow_to_the_inner_allocator() {
    on_pool_thread(64 << 10, || {
        let before = thread_allocations();
        let scope = enter();
        let zeros = vec![0_u8; 100_000];
        let mut pages: Vec<Box<[u8; 4096]>> = Vec::with_capacity(32);
        for i in 0..32_u8 {
            pages.push(Box::new([i; 4096]));
        }
        drop(scope);
        let inner = thread_allocations() - before;
        let s = stats();

        // The 100 kB buffer and the pages that no longer fit in 64 KiB overflowed, each once.
        assert!(s.overflow_allocations > 1, "{s:?}");
        assert_eq!(inner, s.overflow_allocations);
        assert!(pages.iter().any(|p| is_pool_memory(p.as_ptr())));
        assert!(pages.iter().any(|p| !is_pool_memory(p.as_ptr())));
        assert!(!is_pool_memory(zeros.as_ptr()));
        assert!(zeros.iter().all(|&b| b == 0));
        for (i, page) in (0_u8..).zip(&pages) {
            assert!(page.iter().all(|&b| b == i));
        }
        drop(pages);
        drop(zeros);
        assert_eq!(stats().in_use_bytes, 0);

        // Freed pages serve again without overflowing.
        let scope = enter();
        let page = Box::new([9_u8; 4096]);
        drop(scope);
        assert!(is_pool_memory(page.as_ptr()));
        assert_eq!(stats().overflow_allocations, s.overflow_allocations);
    });
}

#[test]
fn realloc_across_the_boundary_keeps_contents() {
    on_pool_thread(MIB, || {
        // Allocated outside, grown inside: moves into the pool without touching the inner one.
        let mut v: Vec<u64> = (0..10).collect();
        assert!(!is_pool_memory(v.as_ptr().cast()));
        let before = thread_allocations();
        {
            let _scope = enter();
            v.extend(10..1000);
        }
        assert_eq!(thread_allocations(), before);
        assert!(is_pool_memory(v.as_ptr().cast()));
        assert!(v.iter().copied().eq(0..1000));

        // Allocated inside, grown outside past the largest class: moves to the inner one.
        let mut w: Vec<u64> = {
            let _scope = enter();
            (0..100).collect()
        };
        assert!(is_pool_memory(w.as_ptr().cast()));
        let before = thread_allocations();
        w.extend(100..20_000);
        assert!(thread_allocations() > before);
        assert!(!is_pool_memory(w.as_ptr().cast()));
        assert!(w.iter().copied().eq(0..20_000));

        // Within a class the block stays put; shrinking to a smaller class moves it.
        let _scope = enter();
        let mut x: Vec<u8> = Vec::with_capacity(100);
        x.extend(0..100);
        let at = x.as_ptr();
        x.reserve_exact(28);
        assert_eq!(x.as_ptr(), at);
        x.truncate(10);
        x.shrink_to_fit();
        assert_ne!(x.as_ptr(), at);
        assert!(is_pool_memory(x.as_ptr()));
        assert!(x.iter().copied().eq(0..10));
    });
}

#[repr(align(64))]
struct Line([u8; 100]);

#[repr(align(4096))]
struct Page([u8; 10]);

#[repr(align(8192))]
struct TwoPages([u8; 10]);

#[test]
fn blocks_are_aligned_and_zeroed_blocks_are_zero() {
    on_pool_thread(MIB, || {
        let scope = enter();
        let word = Box::new(0_u64);
        let line = Box::new(Line([1; 100]));
        let page = Box::new(Page([2; 10]));
        let two_pages = Box::new(TwoPages([3; 10]));
        for (addr, align) in [
            (std::ptr::from_ref(&*word).addr(), 8),
            (std::ptr::from_ref(&*line).addr(), 64),
            (std::ptr::from_ref(&*page).addr(), 4096),
            (std::ptr::from_ref(&*two_pages).addr(), 8192),
        ] {
            assert_eq!(addr % align, 0, "align {align}");
        }
        assert!(is_pool_memory(std::ptr::from_ref(&*page).cast()));
        assert!(!is_pool_memory(std::ptr::from_ref(&*two_pages).cast()));
        assert_eq!(stats().overflow_allocations, 1);
        assert_eq!((line.0[99], page.0[9], two_pages.0[9]), (1, 2, 3));

        // A recycled block is dirty; `alloc_zeroed` must still hand out zeros.
        let dirty = vec![0xFF_u8; 1000];
        let at = dirty.as_ptr();
        drop(dirty);
        let clean = vec![0_u8; 1000];
        drop(scope);
        assert_eq!(clean.as_ptr(), at);
        assert!(clean.iter().all(|&b| b == 0));
        black_box((word, line, page, two_pages));
    });
}

#[test]
fn without_a_pool_scopes_are_harmless() {
    thread::spawn(|| {
        assert!(pool::stats().is_none());
        let before = thread_allocations();
        let outer = enter();
        let inner = enter();
        let v: Vec<u64> = (0..100).collect();
        drop(inner);
        drop(outer);
        assert!(thread_allocations() > before);
        assert!(!is_pool_memory(v.as_ptr().cast()));
        assert!(v.iter().copied().eq(0..100));
    })
    .join()
    .unwrap();
}

mod random_sequences {
    //! Random alloc/realloc/free sequences with random sizes and alignments, in scope. Each
    //! live block is filled with its own byte and checked before it is moved or freed and at
    //! the end, so overlapping blocks or a corrupting free list show up as a wrong byte.

    use super::{MIB, on_pool_thread, stats};
    use kestrel_bus::pool::enter;
    use proptest::prelude::*;
    use proptest::test_runner::{Config, TestCaseError, TestRunner};
    use std::alloc::{self, Layout};

    #[derive(Debug, Clone)]
    enum Op {
        Alloc {
            size: usize,
            align_shift: u32,
            zeroed: bool,
        },
        Realloc {
            pick: usize,
            new_size: usize,
        },
        Free {
            pick: usize,
        },
    }

    struct Live {
        ptr: *mut u8,
        layout: Layout,
        fill: u8,
    }

    fn size() -> impl Strategy<Value = usize> {
        prop_oneof![4 => 1_usize..300, 2 => 300_usize..5000, 1 => 5000_usize..70_000]
    }

    fn op() -> impl Strategy<Value = Op> {
        prop_oneof![
            3 => (size(), 0_u32..=13, any::<bool>())
                .prop_map(|(size, align_shift, zeroed)| Op::Alloc { size, align_shift, zeroed }),
            2 => (any::<usize>(), size()).prop_map(|(pick, new_size)| Op::Realloc { pick, new_size }),
            2 => any::<usize>().prop_map(|pick| Op::Free { pick }),
        ]
    }

    fn check(block: &Live, len: usize) -> Result<(), TestCaseError> {
        // SAFETY: `block.ptr` is live with at least `block.layout.size() >= len` initialised bytes.
        let bytes = unsafe { std::slice::from_raw_parts(block.ptr, len) };
        prop_assert!(
            bytes.iter().all(|&b| b == block.fill),
            "block {} corrupted",
            block.fill
        );
        Ok(())
    }

    fn fill(block: &Live) {
        // SAFETY: `block.ptr` is live with `block.layout.size()` bytes.
        unsafe { block.ptr.write_bytes(block.fill, block.layout.size()) };
    }

    /// Runs `ops`; `live` has room for every block so that it never grows in scope.
    fn run(ops: &[Op], live: &mut Vec<Live>) -> Result<(), TestCaseError> {
        // Fill bytes 1..=255 are unique within a case: fewer than 255 ops, one byte per op.
        for (fill, op) in (1_u8..).zip(ops) {
            match *op {
                Op::Alloc {
                    size,
                    align_shift,
                    zeroed,
                } => {
                    let layout = Layout::from_size_align(size, 1 << align_shift).unwrap();
                    // SAFETY: `layout` has a non-zero size.
                    let ptr = unsafe {
                        if zeroed {
                            alloc::alloc_zeroed(layout)
                        } else {
                            alloc::alloc(layout)
                        }
                    };
                    prop_assert!(!ptr.is_null());
                    prop_assert_eq!(ptr.addr() % layout.align(), 0);
                    if zeroed {
                        check(
                            &Live {
                                ptr,
                                layout,
                                fill: 0,
                            },
                            size,
                        )?;
                    }
                    let block = Live { ptr, layout, fill };
                    fill_and_keep(block, live);
                }
                Op::Realloc { pick, new_size } if !live.is_empty() => {
                    let old = live.swap_remove(pick % live.len());
                    check(&old, old.layout.size())?;
                    // SAFETY: `old` is live with `old.layout`; `new_size` is non-zero and small.
                    let ptr = unsafe { alloc::realloc(old.ptr, old.layout, new_size) };
                    prop_assert!(!ptr.is_null());
                    prop_assert_eq!(ptr.addr() % old.layout.align(), 0);
                    let layout = Layout::from_size_align(new_size, old.layout.align()).unwrap();
                    let moved = Live {
                        ptr,
                        layout,
                        fill: old.fill,
                    };
                    check(&moved, old.layout.size().min(new_size))?;
                    fill_and_keep(Live { fill, ..moved }, live);
                }
                Op::Free { pick } if !live.is_empty() => {
                    let block = live.swap_remove(pick % live.len());
                    check(&block, block.layout.size())?;
                    // SAFETY: `block` is live and allocated with `block.layout`.
                    unsafe { alloc::dealloc(block.ptr, block.layout) };
                }
                Op::Realloc { .. } | Op::Free { .. } => {}
            }
        }
        for block in live.drain(..) {
            check(&block, block.layout.size())?;
            // SAFETY: as for `Op::Free`.
            unsafe { alloc::dealloc(block.ptr, block.layout) };
        }
        Ok(())
    }

    fn fill_and_keep(block: Live, live: &mut Vec<Live>) {
        fill(&block);
        live.push(block);
    }

    #[test]
    fn random_alloc_realloc_free_never_overlap() {
        on_pool_thread(2 * MIB, || {
            let config = Config {
                cases: 256,
                failure_persistence: None,
                ..Config::default()
            };
            let mut runner = TestRunner::new(config);
            let strategy = proptest::collection::vec(op(), 1..200);
            let result = runner.run(&strategy, |ops| {
                let mut live = Vec::with_capacity(ops.len());
                let in_use = stats().in_use_bytes;
                let scope = enter();
                let outcome = run(&ops, &mut live);
                drop(scope);
                outcome?;
                prop_assert_eq!(stats().in_use_bytes, in_use, "every pool block came back");
                Ok(())
            });
            if let Err(failure) = result {
                panic!("{failure}");
            }
            let s = stats();
            assert!(s.served_allocations > 1000, "{s:?}");
        });
    }
}

#[test]
fn a_pool_handed_back_is_adopted_by_a_later_thread_with_its_free_blocks() {
    // A size no other test asks for, so no other test's thread adopts this pool.
    const BYTES: usize = 3 * MIB + 7 * 4096;
    let (freed, carved) = thread::spawn(|| {
        reserve_for_current_thread(BYTES).unwrap();
        let scope = enter();
        let block = Box::new([5_u8; 200]);
        let addr = std::ptr::from_ref(&*block).addr();
        assert!(is_pool_memory(std::ptr::from_ref(&*block).cast()));
        drop(block);
        drop(scope);
        let carved = stats().carved_bytes;
        assert!(pool::release_current_thread());
        assert!(pool::stats().is_none(), "a released thread has no pool");
        assert!(!pool::release_current_thread());
        (addr, carved)
    })
    .join()
    .unwrap();
    let (reused, carved_after, fresh_elsewhere) = thread::spawn(move || {
        reserve_for_current_thread(BYTES).unwrap();
        // The adopted pool, as its last owner left it: same carving, its free block first.
        let carved_now = stats().carved_bytes;
        let scope = enter();
        let block = Box::new([6_u8; 200]);
        let addr = std::ptr::from_ref(&*block).addr();
        drop(scope);
        // While this thread owns it, another thread gets a pool of its own.
        let other = thread::spawn(move || {
            reserve_for_current_thread(BYTES).unwrap();
            let _scope = enter();
            let b = Box::new([7_u8; 200]);
            std::ptr::from_ref(&*b).addr()
        })
        .join()
        .unwrap();
        drop(block);
        (addr, carved_now, other)
    })
    .join()
    .unwrap();
    assert_eq!(
        reused, freed,
        "the adopter did not get the pool's free block"
    );
    assert_eq!(carved_after, carved);
    assert_ne!(fresh_elsewhere, reused);
}
