//! The global subscriber. Only this test installs one: it is process-wide.

use kestrel_telemetry::{TelemetryError, init_tracing};

#[test]
fn a_bad_filter_is_refused_then_a_good_one_installs_once() {
    let err = init_tracing("kestrel=not_a_level").unwrap_err();
    assert!(
        matches!(err, TelemetryError::InvalidFilter { .. }),
        "{err:?}"
    );
    init_tracing("info,kestrel_telemetry=debug").unwrap();
    tracing::info!("tracing installed");
    let err = init_tracing("info").unwrap_err();
    assert!(
        matches!(err, TelemetryError::AlreadyInitialized(_)),
        "{err:?}"
    );
}
