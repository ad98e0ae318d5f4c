//! The global subscriber. Only this test installs one: it is process-wide.

use kestrel_telemetry::{TelemetryError, init_tracing, set_log_filter};
use tracing::Level;

#[test]
fn a_bad_filter_is_refused_then_a_good_one_installs_once_and_can_be_replaced() {
    let err = set_log_filter("info").unwrap_err();
    assert!(matches!(err, TelemetryError::NotInitialized(_)), "{err:?}");
    let err = init_tracing("kestrel=not_a_level").unwrap_err();
    assert!(
        matches!(err, TelemetryError::InvalidFilter { .. }),
        "{err:?}"
    );
    init_tracing("warn").unwrap();
    tracing::warn!("tracing installed");
    assert!(tracing::enabled!(Level::WARN));
    assert!(!tracing::enabled!(Level::INFO));
    let err = init_tracing("info").unwrap_err();
    assert!(
        matches!(err, TelemetryError::AlreadyInitialized(_)),
        "{err:?}"
    );
    // A config's `telemetry.log` replaces the start-up filter.
    set_log_filter("debug").unwrap();
    assert!(tracing::enabled!(Level::DEBUG));
    assert!(!tracing::enabled!(Level::TRACE));
    // A bad one is refused and leaves the filter as it was.
    let err = set_log_filter("kestrel=loud").unwrap_err();
    assert!(
        matches!(err, TelemetryError::InvalidFilter { .. }),
        "{err:?}"
    );
    assert!(tracing::enabled!(Level::DEBUG));
    set_log_filter("error").unwrap();
    assert!(!tracing::enabled!(Level::WARN));
}
