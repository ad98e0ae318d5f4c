//! Typed commands from the control plane to a lane, and the process-wide stop signal.

use crossbeam::queue::ArrayQueue;
use kestrel_types::U256;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// Commands a [`CommandSlot`] holds before the control plane must retry.
pub const COMMAND_SLOT_CAPACITY: usize = 64;

/// One instruction from the control plane (web UI, API, Telegram) to a lane.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LaneCommand {
    /// Keep reading feeds and state, but fire nothing.
    Pause,
    /// Fire again after a [`Pause`](Self::Pause).
    Resume,
    /// Finish the current iteration and exit the lane's loop.
    Stop,
    /// Fire only opportunities whose expected profit is at least this many wei.
    SetMinProfitWei(U256),
}

/// A bounded mailbox of [`LaneCommand`]s. Clones share the mailbox: the control plane keeps
/// one clone per sender, the lane polls its own with [`try_recv`](Self::try_recv) once per
/// loop (lock-free, no allocation).
#[derive(Debug, Clone)]
pub struct CommandSlot {
    queue: Arc<ArrayQueue<LaneCommand>>,
}

impl CommandSlot {
    /// An empty mailbox of [`COMMAND_SLOT_CAPACITY`] commands.
    pub fn new() -> Self {
        Self {
            queue: Arc::new(ArrayQueue::new(COMMAND_SLOT_CAPACITY)),
        }
    }

    /// Queues `cmd`, or hands it back in `Err` when the mailbox is full (the lane is not
    /// polling); commands are never silently lost.
    pub fn send(&self, cmd: LaneCommand) -> Result<(), LaneCommand> {
        self.queue.push(cmd)
    }

    /// The oldest pending command, if any.
    #[inline]
    pub fn try_recv(&self) -> Option<LaneCommand> {
        self.queue.pop()
    }

    /// Commands waiting right now.
    pub fn len(&self) -> usize {
        self.queue.len()
    }

    /// Whether no command is waiting.
    pub fn is_empty(&self) -> bool {
        self.queue.is_empty()
    }
}

impl Default for CommandSlot {
    fn default() -> Self {
        Self::new()
    }
}

/// A one-way stop signal shared by every lane. Clones share the flag; once set it stays set.
#[derive(Debug, Clone, Default)]
pub struct ShutdownFlag {
    flag: Arc<AtomicBool>,
}

impl ShutdownFlag {
    /// A flag not yet triggered.
    pub fn new() -> Self {
        Self::default()
    }

    /// Asks every holder to stop.
    pub fn trigger(&self) {
        // Release: work done before triggering is visible to a lane that sees the flag.
        self.flag.store(true, Ordering::Release);
    }

    /// Whether stop was asked for. One atomic load; cheap enough for every loop iteration.
    #[inline]
    pub fn is_set(&self) -> bool {
        self.flag.load(Ordering::Acquire)
    }
}
