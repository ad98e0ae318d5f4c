//! `kestrel-telemetry`: how the engine is measured and watched.
//!
//! It owns four things:
//!
//! - [`StageRecorder`]: hdrhistogram latency recorders for each hot-pipeline stage, the decision
//!   and end to end, allocated up front so the hot thread records without allocating. Several
//!   recorders merge into one, whose [`LatencySummary`] goes into reports.
//! - [`Counters`]: atomic counters shared by `Arc` (pending seen, candidates, bundles, drops,
//!   reconnects, skips by reason, revm confirmations, disagreements and misses by kind), read as
//!   a [`CountersSnapshot`].
//! - [`prometheus_text`] and [`serve_metrics`]: the Prometheus text exposition (format 0.0.4)
//!   and a tiny blocking HTTP server that answers `GET /metrics`.
//! - [`init_tracing`]: the process's `tracing` subscriber (fmt to stderr, `EnvFilter`).
//!
//! Data flow: the hot thread stamps each frame ([`kestrel_types::Stamps`]) and records it in its
//! own `StageRecorder`; the slow lane counts [`kestrel_types::HotEvent`]s into `Counters`; the
//! metrics server calls a closure that snapshots both and renders the text.

#![forbid(unsafe_code)]

mod counters;
mod logging;
mod prometheus;
mod server;
mod stages;

pub use counters::{Counters, CountersSnapshot};
pub use logging::{init_tracing, set_log_filter};
pub use prometheus::{
    counter as prometheus_counter, gauge as prometheus_gauge, header as prometheus_header,
    prometheus_text,
};
pub use server::{MetricsServer, serve_metrics};
pub use stages::{LatencySummary, Percentiles, SpanRecorder, StageRecorder};

/// Errors from setting up telemetry.
#[derive(Debug, thiserror::Error)]
pub enum TelemetryError {
    /// The log filter string does not parse.
    #[error("invalid log filter {filter:?}: {reason}")]
    InvalidFilter {
        /// The filter given.
        filter: String,
        /// Why it does not parse.
        reason: String,
    },
    /// A global `tracing` subscriber is already installed.
    #[error("a tracing subscriber is already installed: {0}")]
    AlreadyInitialized(String),
    /// No subscriber whose filter can be replaced was installed by `init_tracing`.
    #[error("no log subscriber to set a filter on: {0}")]
    NotInitialized(String),
    /// Two histograms could not be merged (their bounds differ).
    #[error("cannot merge latency histograms: {0}")]
    Merge(#[from] hdrhistogram::AdditionError),
}
