//! A thread-owned pool allocator, so the hot lane can run code it cannot change (revm) without
//! reaching the system allocator after start-up.
//!
//! revm allocates on every run (boxed call inputs, storage tables, logs, return data). The hot
//! thread reserves a region once at start-up with [`reserve_for_current_thread`]; while a
//! [`PoolScope`] from [`enter`] lives on that thread, its allocations are served from the region
//! with no lock, no syscall and no call into the inner allocator. Everything else — other
//! threads, and the hot thread outside a scope — goes to the inner allocator unchanged.
//!
//! A binary opts in by installing [`PoolAlloc`] as its global allocator:
//! `#[global_allocator] static A: PoolAlloc<mimalloc::MiMalloc> = PoolAlloc::new(mimalloc::MiMalloc);`
//! Without that, reserving and entering scopes are harmless no-ops in effect: allocations never
//! reach the pool because `PoolAlloc` is never called.
//!
//! **Layout.** Size classes are the powers of two from 16 B to [`MAX_BLOCK_BYTES`]. A request
//! is served from the class of `max(size, align)` rounded up to a power of two; a block of class
//! `2^k` is aligned to `min(2^k, 4096)`, which covers any `align` up to 4096. Each class has a
//! free list (intrusive: a free block's first word points to the next); blocks never used yet
//! are carved from one bump pointer shared by all classes. A request that is too large, too
//! aligned, or finds the region exhausted goes to the inner allocator and counts as *overflow*.
//!
//! **Frees from anywhere.** A block allocated in scope may be dropped later on any thread, in or
//! out of scope, so `dealloc` decides by address: a fixed table of registered regions says
//! whether a pointer is pool memory. The owner thread pushes freed blocks onto its class's local
//! list; any other thread pushes onto the class's *remote* stack, which the owner drains whole
//! when its local list runs dry.
//!
//! Like [`alloc_count`](crate::alloc_count), implementing [`GlobalAlloc`] is unsafe by
//! definition; every `unsafe` block below carries its proof. No allocator path allocates,
//! panics, locks or makes a syscall.
#![allow(unsafe_code)]

use std::alloc::{GlobalAlloc, Layout, System};
use std::cell::Cell;
use std::fmt;
use std::marker::PhantomData;
use std::ptr;
use std::sync::atomic::Ordering::{Acquire, Relaxed, Release};
use std::sync::atomic::{AtomicBool, AtomicPtr, AtomicU64, AtomicUsize};

use crossbeam::utils::CachePadded;

/// How many pools a process can have. Pools are never freed; a thread that is done with its
/// pool hands it back ([`release_current_thread`]) and a later thread adopts it.
pub const MAX_POOLS: usize = 16;

/// The largest block a pool serves; larger requests overflow to the inner allocator.
pub const MAX_BLOCK_BYTES: usize = 1 << MAX_CLASS_SHIFT;

/// The largest alignment a pool serves; more strictly aligned requests overflow.
pub const MAX_BLOCK_ALIGN: usize = 4096;

const MIN_CLASS_SHIFT: u32 = 4;
const MAX_CLASS_SHIFT: u32 = 16;
const CLASSES: usize = (MAX_CLASS_SHIFT - MIN_CLASS_SHIFT + 1) as usize;
const PAGE_BYTES: usize = 4096;

// The intrusive list needs room and alignment for one pointer in the smallest block, and region
// bases (page-aligned) must satisfy the strictest block alignment.
const _: () = assert!(1 << MIN_CLASS_SHIFT >= size_of::<*mut u8>());
const _: () = assert!(PAGE_BYTES >= MAX_BLOCK_ALIGN);

/// What the allocator needs to know about the calling thread, in one `Copy` cell.
#[derive(Clone, Copy)]
struct ThreadState {
    /// How many [`PoolScope`]s are alive on this thread.
    depth: u32,
    /// This thread's slot in [`POOLS`] plus one; 0 when it has no pool.
    pool: u32,
}

thread_local! {
    // `const` initialisation and a `Copy` payload: no lazy set-up and no destructor, so the
    // allocator can read it at any point of a thread's life without allocating itself.
    static STATE: Cell<ThreadState> = const { Cell::new(ThreadState { depth: 0, pool: 0 }) };
}

/// One registered region. Fields under `owner` are read and written by the owner thread only,
/// with plain `Relaxed` loads and stores (single writer, so no read-modify-write is needed);
/// fields under `remote` are written by any thread.
struct Pool {
    /// The region's first byte; published before `end_addr`.
    base: AtomicPtr<u8>,
    /// One past the region's last byte; 0 until the region is published (with `Release`).
    end_addr: AtomicUsize,
    /// Whether a thread owns the pool. Cleared with `Release` when its owner hands it back,
    /// set by an adopter's `Acquire` CAS: the new owner then sees every owner-only write of the
    /// last one.
    owned: AtomicBool,
    owner: CachePadded<OwnerState>,
    remote: CachePadded<RemoteState>,
}

struct OwnerState {
    /// Offset of the first never-used byte of the region.
    bump_offset: AtomicUsize,
    /// Per class: free blocks, linked through their first word.
    free: [AtomicPtr<u8>; CLASSES],
    served: AtomicU64,
    overflow: AtomicU64,
    allocated_bytes: AtomicU64,
    freed_local_bytes: AtomicU64,
    high_water_bytes: AtomicU64,
}

/// Per class, a stack of blocks freed by threads other than the owner: a Treiber stack that any
/// thread pushes with a CAS and that only the owner empties, with one `swap` of the head.
///
/// Why there is no ABA: the classic ABA bug is in *pop* (read head `A`, read `A.next`, CAS head
/// from `A` to `A.next` while `A` was popped and pushed back meanwhile). Nobody pops one node
/// here; the owner takes the whole list with a `swap`, which does not depend on any node's
/// `next`. A push only needs the head to still equal the value it wrote into its node's `next`,
/// and when the CAS succeeds that is true whatever happened in between, so the list stays
/// well-formed.
struct RemoteState {
    free: [AtomicPtr<u8>; CLASSES],
    frees: AtomicU64,
    freed_bytes: AtomicU64,
}

static POOLS: [Pool; MAX_POOLS] = [const { Pool::new() }; MAX_POOLS];
/// Slots handed out so far (never more than [`MAX_POOLS`]); `dealloc` scans only these.
static POOLS_CLAIMED: AtomicUsize = AtomicUsize::new(0);

/// A global allocator that serves scoped allocations of a thread with a pool from that pool and
/// forwards everything else to `inner` unchanged.
pub struct PoolAlloc<A> {
    inner: A,
}

impl<A> PoolAlloc<A> {
    /// Wraps `inner`, which serves every allocation the pools do not.
    pub const fn new(inner: A) -> Self {
        Self { inner }
    }
}

impl<A> fmt::Debug for PoolAlloc<A> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("PoolAlloc").finish_non_exhaustive()
    }
}

/// Why [`reserve_for_current_thread`] refused.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum PoolError {
    /// The calling thread already has a pool.
    AlreadyReserved,
    /// All [`MAX_POOLS`] slots are taken.
    TableFull,
    /// The size is zero or too large to describe as a [`Layout`].
    InvalidSize { bytes: usize },
    /// The system allocator could not provide the region.
    OutOfMemory { bytes: usize },
    /// The calling thread is being torn down.
    ThreadExiting,
}

impl fmt::Display for PoolError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Self::AlreadyReserved => write!(f, "this thread already has a pool"),
            Self::TableFull => write!(f, "all {MAX_POOLS} pool slots are taken"),
            Self::InvalidSize { bytes } => write!(f, "invalid pool size: {bytes} bytes"),
            Self::OutOfMemory { bytes } => write!(f, "cannot reserve a pool of {bytes} bytes"),
            Self::ThreadExiting => write!(f, "the thread is exiting"),
        }
    }
}

impl std::error::Error for PoolError {}

/// Counters of one thread's pool. Byte counts are in class sizes (a 100-byte request uses 128).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PoolStats {
    /// Size of the region (the reserved size rounded up to a whole page).
    pub capacity_bytes: usize,
    /// Bytes of the region ever carved by the bump pointer, alignment padding included. It only
    /// grows; when it stops growing, freed blocks are being reused.
    pub carved_bytes: usize,
    /// Allocations (and moving reallocations) served from the pool.
    pub served_allocations: u64,
    /// Allocations in scope that the pool could not serve (too large, too aligned, region
    /// exhausted) and that went to the inner allocator.
    pub overflow_allocations: u64,
    /// Pool blocks freed by other threads.
    pub remote_frees: u64,
    /// Bytes handed out and not yet freed.
    pub in_use_bytes: u64,
    /// The largest `in_use_bytes` seen at an allocation.
    pub high_water_bytes: u64,
}

/// Keeps the calling thread's allocations in its pool while alive. Scopes nest; leaving the
/// outermost one sends allocations back to the inner allocator. Not `Send`: a scope belongs to
/// the thread that entered it.
#[must_use = "allocations come from the pool only while the scope is alive"]
#[derive(Debug)]
pub struct PoolScope {
    _not_send: PhantomData<*const ()>,
}

/// Enters a pool scope on the calling thread. Harmless on a thread without a pool, and when
/// [`PoolAlloc`] is not the global allocator.
pub fn enter() -> PoolScope {
    let _ = STATE.try_with(|s| {
        let state = s.get();
        s.set(ThreadState {
            depth: state.depth.saturating_add(1),
            ..state
        });
    });
    PoolScope {
        _not_send: PhantomData,
    }
}

impl Drop for PoolScope {
    fn drop(&mut self) {
        let _ = STATE.try_with(|s| {
            let state = s.get();
            s.set(ThreadState {
                depth: state.depth.saturating_sub(1),
                ..state
            });
        });
    }
}

/// Reserves a pool of `bytes` (rounded up to a whole page) for the calling thread: a pool some
/// earlier thread handed back ([`release_current_thread`]) with at least that capacity, else a
/// new region.
///
/// The region comes from [`System`] directly, not through the global allocator (which may be
/// [`PoolAlloc`] itself), and every page is touched now so that first use takes no page fault.
/// **The region is leaked by design:** it is never freed, even after the thread exits, because
/// blocks from it may still be alive on other threads; a later thread may adopt it.
///
/// Only has an effect when [`PoolAlloc`] is the global allocator; otherwise allocations never
/// reach the pool and [`enter`] changes nothing.
pub fn reserve_for_current_thread(bytes: usize) -> Result<(), PoolError> {
    let state = STATE
        .try_with(Cell::get)
        .map_err(|_| PoolError::ThreadExiting)?;
    if state.pool != 0 {
        return Err(PoolError::AlreadyReserved);
    }
    let layout = bytes
        .checked_next_multiple_of(PAGE_BYTES)
        .filter(|&len| len > 0)
        .and_then(|len| Layout::from_size_align(len, PAGE_BYTES).ok())
        .ok_or(PoolError::InvalidSize { bytes })?;
    if let Some(index) = adopt_slot(layout.size()) {
        let _ = STATE.try_with(|s| {
            s.set(ThreadState {
                pool: index as u32 + 1,
                ..state
            })
        });
        return Ok(());
    }
    // SAFETY: `layout` has a non-zero size.
    let base = unsafe { System.alloc(layout) };
    if base.is_null() {
        return Err(PoolError::OutOfMemory { bytes });
    }
    for offset in (0..layout.size()).step_by(PAGE_BYTES) {
        // SAFETY: `offset < layout.size()`, so the byte lies inside the block just allocated.
        unsafe { base.add(offset).write_volatile(0) };
    }
    let Some(index) = claim_slot() else {
        // SAFETY: `base` came from `System.alloc(layout)` above and was never handed out.
        unsafe { System.dealloc(base, layout) };
        return Err(PoolError::TableFull);
    };
    let pool = &POOLS[index];
    pool.owned.store(true, Relaxed);
    pool.base.store(base, Relaxed);
    pool.end_addr.store(base.addr() + layout.size(), Release);
    let _ = STATE.try_with(|s| {
        s.set(ThreadState {
            pool: index as u32 + 1,
            ..state
        })
    });
    Ok(())
}

/// Hands the calling thread's pool back, for a later thread to adopt; false if it had none.
/// Its blocks still alive stay valid wherever they are, and are freed into the pool as if by
/// another thread. Call it when the thread is done (a hot thread, at its end).
pub fn release_current_thread() -> bool {
    let Ok(state) = STATE.try_with(Cell::get) else {
        return false;
    };
    let Some(pool) = POOLS.get((state.pool as usize).wrapping_sub(1)) else {
        return false;
    };
    let _ = STATE.try_with(|s| s.set(ThreadState { pool: 0, ..state }));
    // `Release`: the adopter's `Acquire` CAS sees every owner-only write made here.
    pool.owned.store(false, Release);
    true
}

/// Takes ownership of a handed-back pool of at least `capacity` bytes, if there is one.
fn adopt_slot(capacity: usize) -> Option<usize> {
    let claimed = POOLS_CLAIMED.load(Acquire).min(MAX_POOLS);
    (0..claimed).find(|&i| {
        POOLS.get(i).is_some_and(|pool| {
            let end = pool.end_addr.load(Acquire);
            end != 0
                && end.wrapping_sub(pool.base.load(Relaxed).addr()) >= capacity
                && pool
                    .owned
                    .compare_exchange(false, true, Acquire, Relaxed)
                    .is_ok()
        })
    })
}

/// Counters of the calling thread's pool; `None` if the thread has none.
pub fn stats() -> Option<PoolStats> {
    own_pool().map(Pool::stats)
}

/// Whether `ptr` points into any thread's pool.
pub fn is_pool_memory(ptr: *const u8) -> bool {
    pool_of(ptr.addr()).is_some()
}

fn claim_slot() -> Option<usize> {
    POOLS_CLAIMED
        .fetch_update(Relaxed, Relaxed, |n| (n < MAX_POOLS).then_some(n + 1))
        .ok()
}

/// The calling thread's pool, if it has one.
fn own_pool() -> Option<&'static Pool> {
    let state = STATE.try_with(Cell::get).ok()?;
    POOLS.get((state.pool as usize).checked_sub(1)?)
}

/// The calling thread's pool, if it has one and is inside a scope.
fn scoped_pool() -> Option<&'static Pool> {
    let state = STATE.try_with(Cell::get).ok()?;
    if state.depth == 0 {
        return None;
    }
    POOLS.get((state.pool as usize).checked_sub(1)?)
}

/// The pool whose region holds `addr`, if any.
fn pool_of(addr: usize) -> Option<&'static Pool> {
    let claimed = POOLS_CLAIMED.load(Acquire).min(MAX_POOLS);
    POOLS.get(..claimed)?.iter().find(|pool| {
        // `Acquire` pairs with the `Release` that published the region, so `base` is visible.
        let end = pool.end_addr.load(Acquire);
        end != 0 && addr < end && addr >= pool.base.load(Relaxed).addr()
    })
}

/// The size class serving `layout`, or `None` if no pool block can.
fn class_of(layout: Layout) -> Option<usize> {
    if layout.align() > MAX_BLOCK_ALIGN {
        return None;
    }
    let need = layout.size().max(layout.align()).max(1 << MIN_CLASS_SHIFT);
    if need > MAX_BLOCK_BYTES {
        return None;
    }
    Some((need.next_power_of_two().trailing_zeros() - MIN_CLASS_SHIFT) as usize)
}

fn class_bytes(class: usize) -> usize {
    1 << (class as u32 + MIN_CLASS_SHIFT)
}

/// Adds to a counter that only the owner thread writes: a load and a store, no locked RMW.
fn owner_add(counter: &AtomicU64, n: u64) {
    counter.store(counter.load(Relaxed).wrapping_add(n), Relaxed);
}

impl Pool {
    const fn new() -> Self {
        Self {
            base: AtomicPtr::new(ptr::null_mut()),
            end_addr: AtomicUsize::new(0),
            owned: AtomicBool::new(false),
            owner: CachePadded::new(OwnerState {
                bump_offset: AtomicUsize::new(0),
                free: [const { AtomicPtr::new(ptr::null_mut()) }; CLASSES],
                served: AtomicU64::new(0),
                overflow: AtomicU64::new(0),
                allocated_bytes: AtomicU64::new(0),
                freed_local_bytes: AtomicU64::new(0),
                high_water_bytes: AtomicU64::new(0),
            }),
            remote: CachePadded::new(RemoteState {
                free: [const { AtomicPtr::new(ptr::null_mut()) }; CLASSES],
                frees: AtomicU64::new(0),
                freed_bytes: AtomicU64::new(0),
            }),
        }
    }

    /// Owner only. A block for `layout`, or `None` (counted as overflow) if the pool cannot
    /// serve it.
    fn alloc(&self, layout: Layout) -> Option<*mut u8> {
        let owner = &self.owner;
        let Some((class, block)) = class_of(layout).and_then(|c| Some((c, self.take(c)?))) else {
            owner_add(&owner.overflow, 1);
            return None;
        };
        owner_add(&owner.served, 1);
        owner_add(&owner.allocated_bytes, class_bytes(class) as u64);
        let in_use = self.in_use_bytes();
        if in_use > owner.high_water_bytes.load(Relaxed) {
            owner.high_water_bytes.store(in_use, Relaxed);
        }
        Some(block)
    }

    /// Owner only. Pops a free block of `class`, or carves a new one from the region.
    fn take(&self, class: usize) -> Option<*mut u8> {
        let local = self.owner.free.get(class)?;
        let mut head = local.load(Relaxed);
        if head.is_null() {
            // Adopt everything other threads freed in this class. `Acquire` pairs with their
            // `Release` pushes (and, through the release sequence of those CASes, with earlier
            // pushes), so every `next` word in the list is visible.
            head = self.remote.free.get(class)?.swap(ptr::null_mut(), Acquire);
        }
        if head.is_null() {
            return self.carve(class);
        }
        // SAFETY: `head` is a free block of this class (at least 16 bytes, 16-aligned) whose
        // first word its freer wrote; a free block is touched by no one but its list's owner.
        let next = unsafe { head.cast::<*mut u8>().read() };
        local.store(next, Relaxed);
        Some(head)
    }

    /// Owner only. Carves a never-used block of `class`; `None` when the region is exhausted.
    fn carve(&self, class: usize) -> Option<*mut u8> {
        let size = class_bytes(class);
        let align = size.min(MAX_BLOCK_ALIGN);
        let base = self.base.load(Relaxed);
        let capacity = self.end_addr.load(Relaxed).wrapping_sub(base.addr());
        let offset = self.owner.bump_offset.load(Relaxed);
        // The base is page-aligned, so aligning the offset aligns the address.
        let start = offset.checked_next_multiple_of(align)?;
        let end = start.checked_add(size)?;
        if end > capacity {
            return None;
        }
        self.owner.bump_offset.store(end, Relaxed);
        // SAFETY: `start + size <= capacity`, so the block lies inside the region at `base`.
        Some(unsafe { base.add(start) })
    }

    /// Returns `block`, allocated from this pool with `layout`, to its class: the owner pushes
    /// onto the local list, any other thread onto the remote stack.
    ///
    /// # Safety
    /// `block` was handed out by this pool for `layout` (or a layout of the same class) and is
    /// not used again by the caller.
    unsafe fn free(&self, block: *mut u8, layout: Layout) {
        // Every layout a pool block was served for has a class; without one we leak the block
        // rather than corrupt a list.
        let Some(class) = class_of(layout) else {
            return;
        };
        let bytes = class_bytes(class) as u64;
        let is_owner = own_pool().is_some_and(|own| ptr::eq(own, self));
        let (Some(local), Some(remote)) = (self.owner.free.get(class), self.remote.free.get(class))
        else {
            return;
        };
        if is_owner {
            // SAFETY: the caller gave up `block`, which is at least one pointer in size and
            // alignment; only this (owner) thread reads the local list.
            unsafe { block.cast::<*mut u8>().write(local.load(Relaxed)) };
            local.store(block, Relaxed);
            owner_add(&self.owner.freed_local_bytes, bytes);
            return;
        }
        let mut head = remote.load(Relaxed);
        loop {
            // SAFETY: as above; until the CAS publishes it, `block` is still only ours.
            unsafe { block.cast::<*mut u8>().write(head) };
            match remote.compare_exchange_weak(head, block, Release, Relaxed) {
                Ok(_) => break,
                Err(now) => head = now,
            }
        }
        self.remote.frees.fetch_add(1, Relaxed);
        self.remote.freed_bytes.fetch_add(bytes, Relaxed);
    }

    /// Owner only. Bytes handed out and not yet freed (remote frees as far as seen).
    fn in_use_bytes(&self) -> u64 {
        let owner = &self.owner;
        owner
            .allocated_bytes
            .load(Relaxed)
            .saturating_sub(owner.freed_local_bytes.load(Relaxed))
            .saturating_sub(self.remote.freed_bytes.load(Relaxed))
    }

    /// Owner only.
    fn stats(&self) -> PoolStats {
        let owner = &self.owner;
        PoolStats {
            capacity_bytes: self
                .end_addr
                .load(Relaxed)
                .wrapping_sub(self.base.load(Relaxed).addr()),
            carved_bytes: owner.bump_offset.load(Relaxed),
            served_allocations: owner.served.load(Relaxed),
            overflow_allocations: owner.overflow.load(Relaxed),
            remote_frees: self.remote.frees.load(Relaxed),
            in_use_bytes: self.in_use_bytes(),
            high_water_bytes: owner.high_water_bytes.load(Relaxed),
        }
    }
}

// SAFETY: pool blocks are disjoint pieces of a leaked region, aligned to their class (which
// covers `layout.align()`) and at least `layout.size()` long; a block is on at most one free list
// and is handed out again only after it was freed. Everything else is forwarded to `inner`,
// which upholds the contract itself, and pointers are routed back by address, so `inner` only
// ever sees its own pointers. No path allocates, locks or unwinds.
unsafe impl<A: GlobalAlloc> GlobalAlloc for PoolAlloc<A> {
    unsafe fn alloc(&self, layout: Layout) -> *mut u8 {
        if let Some(block) = scoped_pool().and_then(|pool| pool.alloc(layout)) {
            return block;
        }
        // SAFETY: the caller's `layout` obligations pass straight through.
        unsafe { self.inner.alloc(layout) }
    }

    unsafe fn alloc_zeroed(&self, layout: Layout) -> *mut u8 {
        if let Some(block) = scoped_pool().and_then(|pool| pool.alloc(layout)) {
            // SAFETY: the block is at least `layout.size()` bytes; recycled blocks are dirty.
            unsafe { block.write_bytes(0, layout.size()) };
            return block;
        }
        // SAFETY: as for `alloc`.
        unsafe { self.inner.alloc_zeroed(layout) }
    }

    unsafe fn dealloc(&self, ptr: *mut u8, layout: Layout) {
        match pool_of(ptr.addr()) {
            // SAFETY: `ptr` is in this pool's region, so this allocator served it from that
            // pool with `layout`; the caller gives it up.
            Some(pool) => unsafe { pool.free(ptr, layout) },
            // SAFETY: not pool memory, so `inner` allocated it with `layout`.
            None => unsafe { self.inner.dealloc(ptr, layout) },
        }
    }

    unsafe fn realloc(&self, ptr: *mut u8, layout: Layout, new_size: usize) -> *mut u8 {
        // SAFETY: the caller guarantees `new_size`, rounded up to `layout.align()`, fits in
        // `isize`, and the alignment is the (valid) one of `layout`.
        let new_layout = unsafe { Layout::from_size_align_unchecked(new_size, layout.align()) };
        if let Some(pool) = pool_of(ptr.addr()) {
            // Stay in place only within the same class, so `dealloc`'s layout names the class.
            if class_of(new_layout) == class_of(layout) {
                return ptr;
            }
            // SAFETY: `new_layout` is valid with a non-zero size (caller's obligations).
            let moved = unsafe { self.alloc(new_layout) };
            if !moved.is_null() {
                // SAFETY: both blocks hold at least the bytes copied and are distinct; `ptr` is
                // this pool's block for `layout`, given up by the caller now that it moved.
                unsafe {
                    ptr::copy_nonoverlapping(ptr, moved, layout.size().min(new_size));
                    pool.free(ptr, layout);
                }
            }
            return moved;
        }
        if let Some(block) = scoped_pool().and_then(|pool| pool.alloc(new_layout)) {
            // SAFETY: `block` is new and disjoint from `ptr`, both hold the bytes copied, and
            // `ptr` is `inner`'s block for `layout`, given up by the caller.
            unsafe {
                ptr::copy_nonoverlapping(ptr, block, layout.size().min(new_size));
                self.inner.dealloc(ptr, layout);
            }
            return block;
        }
        // SAFETY: `ptr` is `inner`'s block for `layout`; the caller's obligations pass through.
        unsafe { self.inner.realloc(ptr, layout, new_size) }
    }
}
