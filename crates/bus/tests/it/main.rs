//! Integration tests for kestrel-bus: rings, snapshot cells, pinning, waiting and commands,
//! driven through the public API from real threads.

mod command;
mod pin;
mod snapshot;
mod spsc;
mod wait;
