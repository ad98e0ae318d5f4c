//! kestrel-hot: the hot lane. One pinned thread runs each pending transaction to completion:
//! socket read → [`kestrel_wire::parse_frame`] → router filter and calldata decode →
//! [`kestrel_dex::backrun`] on the latest immutable [`HotState`] → pick a pre-signed backrun from
//! the ladder → assemble the bundle body, sign its relay auth header → write it to every relay.
//!
//! **Invariant:** inside [`decide`] and [`Pipeline::on_frame`] nothing awaits, locks or logs, and
//! nothing allocates: WebSocket messages arrive as slices of [`wsclient::WsClient`]'s fixed
//! read buffer (see ARCHITECTURE.md for what remains).
//! State comes in through a [`SnapshotCell`](kestrel_bus::snapshot::SnapshotCell) published by the slow lane; events go out through a
//! bounded SPSC ring with counted drops.

#![forbid(unsafe_code)]

pub mod cex;
mod decide;
pub mod ipc;
pub mod net;
mod pipeline;
pub mod routers;
mod ws;
pub mod wsclient;

pub use decide::{Decision, HotState, RouteDecision, SimState, Verdict, decide};
pub use pipeline::{
    Pipeline, PipelineConfig, RelayTarget, cycle_route, route_candidate, route_kind,
};
pub use ws::{
    HEADS_SUBSCRIPTION_ID, HOT_POOL_BYTES, HotThreadConfig, HotThreadReport, NodeEndpoint,
    NodeError, NodeStream, NodeStreamConfig, PENDING_SUBSCRIPTION_ID, run_hot_thread,
    subscription_name,
};
