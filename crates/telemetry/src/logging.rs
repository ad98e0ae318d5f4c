//! The process's `tracing` subscriber.

use std::io::IsTerminal;

use tracing_subscriber::EnvFilter;

use crate::TelemetryError;

/// Installs a `tracing` fmt subscriber writing to stderr, filtered by `filter`
/// (`EnvFilter` syntax, e.g. `"info,kestrel_hot=debug"`). Colours only on a terminal.
/// Fails on a bad filter or when a subscriber is already installed.
pub fn init_tracing(filter: &str) -> Result<(), TelemetryError> {
    let env_filter = EnvFilter::try_new(filter).map_err(|e| TelemetryError::InvalidFilter {
        filter: filter.to_owned(),
        reason: e.to_string(),
    })?;
    tracing_subscriber::fmt()
        .with_env_filter(env_filter)
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInitialized(e.to_string()))
}
