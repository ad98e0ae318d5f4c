//! Integration tests for kestrel-telemetry, through the public API only.

mod metrics_server;
mod prometheus;
mod recorder;
mod tracing_init;
