//! A full queue: `try_append` says so, `append` waits, and `close` still writes everything.
//!
//! The writer is held up by another connection holding SQLite's write lock (`BEGIN IMMEDIATE`),
//! which the writer's busy timeout waits out, so the queue fills deterministically.

use std::time::Duration;

use kestrel_store::{Journal, StoreError, open_readonly};
use rusqlite::Connection;

use crate::fixtures::{RUN, record};

const CAPACITY: usize = 8;

/// Appends with `try_append` until it reports `Full`, and again after a pause until a pause
/// finds the queue still full: on a loaded machine the writer may take its first batch only
/// after the first fill. Returns how many were accepted.
fn fill(handle: &kestrel_store::JournalHandle) -> u64 {
    let mut accepted = 0u64;
    for _ in 0..50 {
        let before = accepted;
        loop {
            match handle.try_append(record(0, accepted * 4 + 1)) {
                Ok(()) => accepted += 1,
                Err(StoreError::Full) => break,
                Err(e) => panic!("unexpected error {e:?}"),
            }
            assert!(
                accepted < 10_000,
                "the queue never filled while the writer was blocked"
            );
        }
        if accepted == before && before > 0 {
            return accepted;
        }
        std::thread::sleep(Duration::from_millis(100));
    }
    panic!("the writer kept taking records while SQLite was locked");
}

fn blocker(path: &std::path::Path) -> Connection {
    let conn = Connection::open(path).unwrap();
    conn.execute_batch("BEGIN IMMEDIATE").unwrap();
    conn
}

#[test]
fn try_append_on_a_full_queue_returns_full_and_close_drains_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, CAPACITY).unwrap();
    let handle = journal.handle();
    let lock = blocker(&path);

    let accepted = fill(&handle);
    // The writer holds at most one batch it has taken; the rest waits in the queue.
    assert!(accepted >= CAPACITY as u64, "accepted only {accepted}");
    assert_eq!(handle.queued(), CAPACITY);
    let err = handle.try_append(record(0, 1)).unwrap_err();
    assert!(err.is_retryable(), "{err:?}");

    // Release the lock a little after close starts, so close begins with a full queue.
    let release = std::thread::spawn(move || {
        std::thread::sleep(Duration::from_millis(300));
        lock.execute_batch("COMMIT").unwrap();
    });
    let stats = journal.close().unwrap();
    release.join().unwrap();
    assert_eq!(stats.candidates, accepted);
    assert_eq!(
        open_readonly(&path).unwrap().candidates(RUN).unwrap().len() as u64,
        accepted
    );
}

#[test]
fn append_waits_for_room_instead_of_dropping() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("journal.sqlite");
    let journal = Journal::open(&path, CAPACITY).unwrap();
    let handle = journal.handle();
    let lock = blocker(&path);
    let before = fill(&handle);

    let producer = {
        let handle = handle.clone();
        std::thread::spawn(move || {
            (0..100u64).for_each(|i| handle.append(record(1, i * 4 + 1)).unwrap())
        })
    };
    std::thread::sleep(Duration::from_millis(200));
    assert!(
        !producer.is_finished(),
        "append must block while the queue is full"
    );
    lock.execute_batch("COMMIT").unwrap();
    producer.join().unwrap();
    let stats = journal.close().unwrap();
    assert_eq!(stats.candidates, before + 100);
}
