//! kestrel-bus: how the hot lane and the slow lane talk without locks.
//!
//! Data flows in three directions, each through one type:
//!
//! - **Hot → slow (events):** [`spsc::channel`] gives a bounded single-producer /
//!   single-consumer ring. The hot lane pushes and never blocks: when the ring is full a
//!   [`DropPolicy`] decides which event is lost, and every loss is counted.
//! - **Slow → hot (state):** [`SnapshotCell`] holds the latest pool snapshot, pre-signed
//!   ladder or parameter set. The slow lane publishes a whole new `Arc`; the hot lane loads it
//!   lock-free and checks a version counter to see cheaply whether anything changed.
//! - **Control plane → hot (commands):** [`CommandSlot`] carries [`LaneCommand`]s (pause,
//!   resume, stop, parameter changes); the hot lane polls it once per loop.
//!
//! Around them: [`pin_current_thread`] pins a lane to a core, [`WaitStrategy`] decides how an
//! idle lane waits (spin, yield or park), and [`ShutdownFlag`] tells every lane to stop.
//!
//! For tests, [`CountingAlloc`] is a counting global allocator that proves a path allocates
//! nothing. For code the hot lane runs but we cannot change (revm), [`pool`] gives the hot
//! thread a region reserved at start-up: inside a [`PoolScope`] its allocations come from there,
//! with no lock, no syscall and no call into the system allocator.
//!
//! **Invariant:** nothing here blocks, allocates or takes a lock on the hot lane's side.
//! The crate may hold `unsafe` (DESIGN.md allows it here only). The rings need none (they wrap
//! `crossbeam`'s lock-free `ArrayQueue`); the only `unsafe` code is in the two allocators:
//! [`alloc_count`], whose every method forwards to `System`, and [`pool`]'s [`PoolAlloc`],
//! which serves scoped allocations of a thread from its leaked region and forwards the rest.
#![deny(unsafe_code)]

pub mod alloc_count;
pub mod command;
pub mod pin;
pub mod pool;
pub mod snapshot;
pub mod spsc;
pub mod wait;

pub use alloc_count::{CountingAlloc, thread_allocations};
pub use command::{COMMAND_SLOT_CAPACITY, CommandSlot, LaneCommand, ShutdownFlag};
pub use pin::{
    IsolateOutcome, PinOutcome, allowed_cores, keep_current_thread_off, pin_current_thread,
};
pub use pool::{PoolAlloc, PoolError, PoolScope, PoolStats};
pub use snapshot::SnapshotCell;
pub use spsc::{Consumer, DropPolicy, Producer, PushOutcome};
pub use wait::{UnknownWaitStrategy, WaitStrategy};
