//! The process's `tracing` subscriber: a fmt layer on stderr behind a filter that can be
//! replaced once the config is read (`telemetry.log`), so the binary can log before it has a
//! config and still honour the config's filter afterwards.

use std::io::IsTerminal;
use std::sync::OnceLock;

use tracing_subscriber::layer::SubscriberExt;
use tracing_subscriber::util::SubscriberInitExt;
use tracing_subscriber::{EnvFilter, Registry, reload};

use crate::TelemetryError;

/// The installed subscriber's filter, replaceable by [`set_log_filter`].
static FILTER: OnceLock<reload::Handle<EnvFilter, Registry>> = OnceLock::new();

fn parse(filter: &str) -> Result<EnvFilter, TelemetryError> {
    EnvFilter::try_new(filter).map_err(|e| TelemetryError::InvalidFilter {
        filter: filter.to_owned(),
        reason: e.to_string(),
    })
}

/// Installs a `tracing` fmt subscriber writing to stderr, filtered by `filter`
/// (`EnvFilter` syntax, e.g. `"info,kestrel_hot=debug"`). Colours only on a terminal.
/// Fails on a bad filter or when a subscriber is already installed.
pub fn init_tracing(filter: &str) -> Result<(), TelemetryError> {
    let env_filter = parse(filter)?;
    let (layer, handle) = reload::Layer::new(env_filter);
    tracing_subscriber::registry()
        .with(layer)
        .with(
            tracing_subscriber::fmt::layer()
                .with_writer(std::io::stderr)
                .with_ansi(std::io::stderr().is_terminal()),
        )
        .try_init()
        .map_err(|e| TelemetryError::AlreadyInitialized(e.to_string()))?;
    // Only the first successful install gets here: try_init refuses a second one.
    let _ = FILTER.set(handle);
    Ok(())
}

/// Replaces the filter of the subscriber [`init_tracing`] installed (e.g. with a config's
/// `telemetry.log`). Fails on a bad filter, or when [`init_tracing`] has not installed one.
pub fn set_log_filter(filter: &str) -> Result<(), TelemetryError> {
    let env_filter = parse(filter)?;
    let handle = FILTER
        .get()
        .ok_or_else(|| TelemetryError::NotInitialized("init_tracing was not called".to_owned()))?;
    handle
        .reload(env_filter)
        .map_err(|e| TelemetryError::NotInitialized(e.to_string()))
}
