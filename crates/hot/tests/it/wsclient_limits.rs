//! The WebSocket client's limits: a per-client largest message (frames larger than the read
//! buffer collected whole, without allocating; anything over the limit skipped and counted),
//! and a send that cannot finish giving up by its deadline instead of spinning for ever.

use std::io::Write;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use kestrel_hot::wsclient::{READ_BUFFER_BYTES, WsClient, WsError};

use crate::ws::{frame, serve};

/// `len` bytes that differ from position to position, so a misplaced byte shows: the pattern
/// repeats every 251 bytes (a prime, unlike `ws.rs`'s 256), so no shift by a power-of-two
/// buffer size lines up with it.
fn text(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i % 251) as u8).wrapping_add(seed) % 26)
        .collect()
}

/// What the test keeps of a delivered message without allocating: its length and a checksum.
fn digest(m: &[u8]) -> (usize, u64) {
    let sum = m.iter().enumerate().fold(0u64, |acc, (i, &b)| {
        acc.wrapping_mul(31).wrapping_add(u64::from(b) ^ i as u64)
    });
    (m.len(), sum)
}

#[test]
fn frames_larger_than_the_read_buffer_are_collected_up_to_the_clients_limit() {
    const MAX: usize = 4 * READ_BUFFER_BYTES;
    let single = text(3 * READ_BUFFER_BYTES + 7, 1);
    let (first, second) = (
        text(READ_BUFFER_BYTES + 5, 2),
        text(2 * READ_BUFFER_BYTES, 3),
    );
    let exactly = text(MAX, 4);
    let mut raw = frame(true, 0x1, &single);
    raw.extend(frame(true, 0x1, b"small"));
    // A fragmented message of two large frames, a ping between them.
    raw.extend(frame(false, 0x2, &first));
    raw.extend(frame(true, 0x9, b"hi"));
    raw.extend(frame(true, 0x0, &second));
    raw.extend(frame(true, 0x1, &exactly));
    // One byte over the limit: in one frame, and across two large fragments.
    raw.extend(frame(true, 0x1, &text(MAX + 1, 5)));
    raw.extend(frame(false, 0x1, &text(2 * READ_BUFFER_BYTES + 1, 6)));
    raw.extend(frame(true, 0x0, &text(2 * READ_BUFFER_BYTES, 7)));
    raw.extend(frame(true, 0x1, b"after"));
    let (url, server) = serve(move |mut ws| {
        ws.get_mut().write_all(&raw).unwrap();
        let _ = ws.read();
    });
    let mut client =
        WsClient::connect_with_max_message(&url, Some(Duration::from_millis(20)), MAX).unwrap();
    let whole = [first.as_slice(), &second].concat();
    let expected = [
        digest(&single),
        digest(b"small"),
        digest(&whole),
        digest(&exactly),
        digest(b"after"),
    ];
    let mut got = [(0usize, 0u64); 5];
    let mut n = 0;
    // Connect reserved the buffers; collecting large frames allocates nothing.
    let before = kestrel_bus::thread_allocations();
    let t0 = Instant::now();
    while n < got.len() && t0.elapsed() < Duration::from_secs(20) {
        client
            .poll(&mut |m| {
                if let Some(slot) = got.get_mut(n) {
                    *slot = digest(m);
                }
                n += 1;
            })
            .unwrap();
    }
    let allocated = kestrel_bus::thread_allocations() - before;
    assert_eq!(got, expected);
    assert_eq!(client.oversized(), 2);
    assert_eq!(allocated, 0, "collecting large frames allocated");
    drop(client);
    server.join().unwrap();
}

#[test]
fn a_limit_below_the_read_buffer_applies_to_single_frames() {
    let mut raw = frame(true, 0x1, &text(1_001, 1));
    raw.extend(frame(true, 0x1, &text(1_000, 2)));
    let (url, server) = serve(move |mut ws| {
        ws.get_mut().write_all(&raw).unwrap();
        let _ = ws.read();
    });
    let mut client =
        WsClient::connect_with_max_message(&url, Some(Duration::from_millis(20)), 1_000).unwrap();
    let mut got = Vec::new();
    let t0 = Instant::now();
    while got.is_empty() && t0.elapsed() < Duration::from_secs(10) {
        client.poll(&mut |m| got.push(m.to_vec())).unwrap();
    }
    assert_eq!(got, vec![text(1_000, 2)]);
    assert_eq!(client.oversized(), 1);
    drop(client);
    server.join().unwrap();
}

/// Sends large texts to a server that reads nothing until sending fails; the error, and how
/// long after the socket first stayed full it came.
fn send_until_stuck(read_timeout: Option<Duration>) -> (WsError, Duration) {
    let (release, held) = mpsc::channel::<()>();
    let (url, server) = serve(move |ws| {
        // Hold the connection open, reading nothing, until the client is done.
        let _ = held.recv_timeout(Duration::from_secs(60));
        drop(ws);
    });
    let (done, outcome) = mpsc::channel();
    std::thread::spawn(move || {
        let mut client = WsClient::connect(&url, read_timeout).unwrap();
        let big = vec![b'x'; 256 * 1024];
        let mut last_ok = Instant::now();
        let err = loop {
            match client.send_text(&big) {
                Ok(()) => last_ok = Instant::now(),
                Err(e) => break e,
            }
        };
        let _ = done.send((err, last_ok.elapsed()));
    });
    let outcome = outcome
        .recv_timeout(Duration::from_secs(30))
        .expect("a send to a peer that reads nothing never gave up");
    release.send(()).unwrap();
    server.join().unwrap();
    outcome
}

#[test]
fn a_send_that_cannot_finish_gives_up_by_its_deadline() {
    // Non-blocking (a spinning feed thread), then blocking reads with a timeout.
    for read_timeout in [None, Some(Duration::from_millis(20))] {
        let (err, stuck_for) = send_until_stuck(read_timeout);
        assert!(
            matches!(&err, WsError::Io(e) if e.kind() == std::io::ErrorKind::TimedOut),
            "{read_timeout:?}: {err:?}"
        );
        assert!(
            stuck_for < Duration::from_secs(10),
            "{read_timeout:?}: gave up only after {stuck_for:?}"
        );
    }
}
