//! SnapshotCell: publishes are seen whole, in order, with a monotonic version.

use kestrel_bus::SnapshotCell;
use std::sync::Arc;

/// A value whose two halves must always agree; a torn read would break the pair.
#[derive(Debug)]
struct Pair {
    seq: u64,
    double: u64,
}

#[test]
fn publish_bumps_version_and_load_sees_the_new_value() {
    let cell = SnapshotCell::new(10_u32);
    assert_eq!(cell.version(), 0);
    assert_eq!(**cell.load(), 10);
    assert_eq!(cell.publish(Arc::new(11)), 1);
    assert_eq!(cell.publish(Arc::new(12)), 2);
    assert_eq!(cell.version(), 2);
    assert_eq!(*cell.load_full(), 12);
}

#[test]
fn load_if_newer_reports_each_change_once() {
    let cell = SnapshotCell::new("a");
    let mut seen = cell.version();
    assert!(cell.load_if_newer(&mut seen).is_none());
    cell.publish(Arc::new("b"));
    assert_eq!(cell.load_if_newer(&mut seen).map(|g| **g), Some("b"));
    assert!(cell.load_if_newer(&mut seen).is_none(), "no second report");
}

#[test]
fn readers_on_other_threads_see_monotonic_whole_values() {
    const PUBLISHES: u64 = 20_000;
    let cell = Arc::new(SnapshotCell::new(Pair { seq: 0, double: 0 }));
    let readers: Vec<_> = (0..2)
        .map(|_| {
            let cell = Arc::clone(&cell);
            std::thread::spawn(move || {
                let (mut last_version, mut last_seq) = (0, 0);
                while last_seq < PUBLISHES {
                    let version = cell.version();
                    let value = cell.load();
                    assert_eq!(value.double, value.seq * 2, "torn value");
                    assert!(version >= last_version, "version went back");
                    assert!(value.seq >= last_seq, "value went back");
                    // Publish number v carries seq v: seeing version v means seq >= v.
                    assert!(
                        value.seq >= version,
                        "seq {} behind version {version}",
                        value.seq
                    );
                    (last_version, last_seq) = (version, value.seq);
                    std::thread::yield_now();
                }
            })
        })
        .collect();
    for seq in 1..=PUBLISHES {
        let version = cell.publish(Arc::new(Pair {
            seq,
            double: seq * 2,
        }));
        assert_eq!(version, seq);
    }
    for reader in readers {
        reader.join().expect("reader panicked");
    }
}
