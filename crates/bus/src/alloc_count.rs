//! A counting global allocator, so tests can prove that a code path allocates nothing.
//!
//! A test binary installs it with
//! `#[global_allocator] static A: kestrel_bus::CountingAlloc = kestrel_bus::CountingAlloc;`
//! and reads [`thread_allocations`] before and after the path under test. Counts are per
//! thread, so tests running in parallel in the same binary do not disturb each other.
//!
//! This is the workspace's only `unsafe` code (DESIGN.md allows it in `bus` alone):
//! implementing [`GlobalAlloc`] is unsafe by definition. Every method forwards unchanged to
//! [`System`].
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;

/// The system allocator, counting allocations (and reallocations) per thread.
#[derive(Debug, Clone, Copy, Default)]
pub struct CountingAlloc;

thread_local! {
    // `const` initialisation and a `Copy` payload: no lazy set-up and no destructor, so the
    // allocator can touch it at any point of a thread's life without allocating itself.
    static ALLOCATIONS: Cell<u64> = const { Cell::new(0) };
}

fn count_one() {
    // During thread teardown the slot may be gone; those allocations are not ours to count.
    let _ = ALLOCATIONS.try_with(|n| n.set(n.get().wrapping_add(1)));
}

/// Allocations and reallocations made so far by the calling thread (0 unless
/// [`CountingAlloc`] is the global allocator).
pub fn thread_allocations() -> u64 {
    ALLOCATIONS.try_with(Cell::get).unwrap_or(0)
}

// SAFETY: every method forwards its arguments unchanged to `System`, which upholds the
// `GlobalAlloc` contract; the only addition is a thread-local counter update that neither
// allocates nor unwinds.
unsafe impl GlobalAlloc for CountingAlloc {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: the caller's `layout` obligations pass straight through.
        unsafe { System.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        count_one();
        // SAFETY: as for `alloc`.
        unsafe { System.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        // SAFETY: `ptr` came from `System` through this allocator with this `layout`.
        unsafe { System.dealloc(ptr, layout) }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        count_one();
        // SAFETY: as for `dealloc`, and the caller's `new_size` obligations pass through.
        unsafe { System.realloc(ptr, layout, new_size) }
    }
}
