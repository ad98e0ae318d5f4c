//! `RelayConn` over `https://`: the hot thread seals requests into TLS 1.3 records itself (no
//! allocation, no lock shared with the reader) and the reader thread opens the answers. Against
//! the fake relay over TLS (signatures checked on the decrypted body), and against scripted
//! rustls servers for what a relay's TLS stack may do after the handshake: ask for a key
//! update, close the session with answers owed, send a record that does not authenticate, or
//! not speak TLS 1.3 at all.

use std::{
    io::{Read, Write},
    net::{TcpListener, TcpStream},
    sync::{
        Arc, Mutex,
        mpsc::{Receiver, sync_channel},
    },
    thread::JoinHandle,
    time::{Duration, Instant},
};

use kestrel_bus::thread_allocations;
use kestrel_fire::{BundleWriter, FireError, FlashbotsAuth, RelayConn, RelayReply};
use kestrel_testkit::FakeRelay;
use kestrel_testkit::tls::{server_config, server_config_with, trust_test_ca};
use kestrel_types::{B256, keccak256};
use rustls::{ServerConnection, StreamOwned};
use serde_json::Value;

const IDENTITY_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const WAIT: Duration = Duration::from_secs(5);

fn recv(rx: &Receiver<RelayReply>) -> RelayReply {
    rx.recv_timeout(WAIT).expect("a reply from the relay")
}

/// Sends a signed `eth_sendBundle` of `txs`, tagged with `tag`; the body sent.
fn send_tagged(
    conn: &mut RelayConn,
    writer: &mut BundleWriter,
    tag: B256,
    txs: &[&[u8]],
) -> Result<Vec<u8>, FireError> {
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut header = [0u8; 200];
    let body = writer.send_bundle(txs, 1);
    let header = auth.sign_header(body, &mut header);
    conn.send_tagged(tag, header, body).map(|()| body.to_vec())
}

#[test]
fn https_bundles_reach_the_relay_sealed_on_the_writing_thread_without_allocating() {
    trust_test_ca();
    let relay = FakeRelay::start_tls().unwrap();
    assert!(relay.url().starts_with("https://127.0.0.1:"));
    let (tx, rx) = sync_channel(64);
    let mut conn = RelayConn::connect(0, &relay.url(), tx).unwrap();
    assert!(conn.is_tls());
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(4096);
    let mut header = [0u8; 200];

    // Warm-up: the first request and its answer.
    let body = writer.send_bundle(&[&[0x02, 0xc0]], 1);
    let h = auth.sign_header(body, &mut header);
    conn.send_tagged(B256::ZERO, h, body).unwrap();
    assert_eq!(recv(&rx).status, 200);

    // Twenty bundles back to back, before any answer is read: sealing and writing them
    // allocates nothing on this thread.
    const N: u8 = 20;
    let before = thread_allocations();
    for i in 0..N {
        let (victim, ours) = ([0x02, 0xd0, i], [0x02, 0xc1, i]);
        let body = writer.send_bundle(&[&victim, &ours], 100);
        let h = auth.sign_header(body, &mut header);
        conn.send_tagged(keccak256(victim), h, body).unwrap();
    }
    let allocated = thread_allocations() - before;
    assert_eq!(
        allocated, 0,
        "the TLS write path allocated {allocated} times"
    );

    for i in 0..N {
        let (victim, ours) = ([0x02, 0xd0, i], [0x02, 0xc1, i]);
        let reply = recv(&rx);
        assert_eq!(
            (reply.status, reply.tag),
            (200, Some(keccak256(victim))),
            "{}",
            reply.body
        );
        let json: Value = serde_json::from_str(&reply.body).unwrap();
        let bundle_hash = keccak256([keccak256(victim).0, keccak256(ours).0].concat());
        assert_eq!(json["result"]["bundleHash"], bundle_hash.to_string());
    }

    // A request larger than one record (a 100 kB victim: 200 kB of hex) arrives whole.
    let big = vec![0x5a; 100_000];
    send_tagged(&mut conn, &mut writer, B256::repeat_byte(9), &[&big]).unwrap();
    let reply = recv(&rx);
    assert_eq!((reply.status, reply.tag), (200, Some(B256::repeat_byte(9))));

    let bundles = relay.bundles();
    assert_eq!(bundles.len(), usize::from(N) + 2);
    assert!(bundles.iter().all(|b| b.signer == auth.address()));
    assert_eq!(
        bundles[1].txs,
        vec![vec![0x02, 0xd0, 0], vec![0x02, 0xc1, 0]]
    );
    assert_eq!(bundles.last().unwrap().txs, vec![big]);
    assert_eq!(
        (
            relay.connections_accepted(),
            relay.tls_failures(),
            relay.rejected()
        ),
        (1, 0, 0),
        "one TLS session carried every request"
    );
    assert_eq!((conn.reconnects(), conn.dropped_replies()), (0, 0));
}

/// A socket that keeps a copy of everything read from it (what the client sent).
struct Tap {
    sock: TcpStream,
    seen: Arc<Mutex<Vec<u8>>>,
}

impl Read for Tap {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.sock.read(buf)?;
        self.seen.lock().unwrap().extend_from_slice(&buf[..n]);
        Ok(n)
    }
}

impl Write for Tap {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        self.sock.write(buf)
    }

    fn flush(&mut self) -> std::io::Result<()> {
        self.sock.flush()
    }
}

type Session = StreamOwned<ServerConnection, Tap>;

fn accept(
    listener: &TcpListener,
    config: Arc<rustls::ServerConfig>,
) -> (Session, Arc<Mutex<Vec<u8>>>) {
    let (sock, _) = listener.accept().unwrap();
    sock.set_read_timeout(Some(WAIT)).unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let tap = Tap {
        sock,
        seen: Arc::clone(&seen),
    };
    (
        StreamOwned::new(ServerConnection::new(config).unwrap(), tap),
        seen,
    )
}

/// Reads one HTTP request's body (head up to the blank line, then `Content-Length` bytes).
fn read_request(s: &mut Session) -> Vec<u8> {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        assert_eq!(
            s.read(&mut byte).unwrap(),
            1,
            "the client closed mid-request"
        );
        head.push(byte[0]);
    }
    let head = String::from_utf8(head).unwrap();
    let len: usize = head
        .lines()
        .find_map(|l| l.strip_prefix("Content-Length: "))
        .unwrap()
        .parse()
        .unwrap();
    let mut body = vec![0u8; len];
    s.read_exact(&mut body).unwrap();
    body
}

fn answer(s: &mut Session, body: &str) {
    let reply = format!(
        "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    s.write_all(reply.as_bytes()).unwrap();
    s.flush().unwrap();
}

/// Protected (outer type application-data) TLS records in `bytes`, a run of whole records.
fn protected_records(bytes: &[u8]) -> usize {
    let (mut at, mut n) = (0, 0);
    while at + 5 <= bytes.len() {
        n += usize::from(bytes[at] == 23);
        at += 5 + usize::from(u16::from_be_bytes([bytes[at + 3], bytes[at + 4]]));
    }
    assert_eq!(at, bytes.len(), "whole records");
    n
}

/// Trusts the test CA and listens on a loopback port; the `https://` URL for it.
fn listen() -> (TcpListener, String) {
    trust_test_ca();
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    (listener, url)
}

fn spawn<T: Send + 'static>(f: impl FnOnce() -> T + Send + 'static) -> JoinHandle<T> {
    std::thread::spawn(f)
}

/// The relay refreshes its keys and asks for ours (RFC 8446 §4.6.3): the reader follows the
/// relay's new key, and the writer sends its own `KeyUpdate` before the next request and
/// seals that request under its new key, which the relay's rustls accepts.
#[test]
fn a_key_update_the_relay_asks_for_is_followed_both_ways() {
    let (listener, url) = listen();
    let server = spawn(move || {
        let (mut s, seen) = accept(&listener, server_config());
        let first = read_request(&mut s);
        answer(&mut s, "one");
        let second = read_request(&mut s);
        let before_update = seen.lock().unwrap().len();
        // Queues KeyUpdate(update_requested) under the old key; the answer goes under the new.
        s.conn.refresh_traffic_keys().unwrap();
        answer(&mut s, "two");
        let third = read_request(&mut s);
        answer(&mut s, "three");
        let after_update = seen.lock().unwrap()[before_update..].to_vec();
        (vec![first, second, third], after_update)
    });
    let (tx, rx) = sync_channel(8);
    let mut conn = RelayConn::connect(0, &url, tx).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    let mut bodies = Vec::new();
    for (i, expected) in ["one", "two", "three"].iter().enumerate() {
        let tag = B256::repeat_byte(i as u8 + 1);
        bodies.push(send_tagged(&mut conn, &mut writer, tag, &[&[0x02, i as u8]]).unwrap());
        let reply = recv(&rx);
        assert_eq!((reply.status, reply.tag), (200, Some(tag)));
        assert_eq!(reply.body, *expected);
    }
    let (seen_bodies, after_update) = server.join().unwrap();
    assert_eq!(seen_bodies, bodies, "the relay decrypted every request");
    assert_eq!(
        protected_records(&after_update),
        2,
        "after the relay's KeyUpdate the client sent its own KeyUpdate, then the request"
    );
    assert_eq!(conn.reconnects(), 0);
}

/// The relay answers one of two requests and ends the session with `close_notify`: the answer
/// is delivered, the other request comes back as status 0, and the next request opens a new
/// TLS session.
#[test]
fn a_session_the_relay_closes_hands_back_what_it_owed_and_reconnects() {
    let (listener, url) = listen();
    let server = spawn(move || {
        let (mut s, _) = accept(&listener, server_config());
        read_request(&mut s);
        read_request(&mut s);
        answer(&mut s, "first");
        s.conn.send_close_notify();
        s.flush().unwrap();
        drop(s);
        let (mut s, _) = accept(&listener, server_config());
        read_request(&mut s);
        answer(&mut s, "again");
    });
    let (tx, rx) = sync_channel(8);
    let mut conn = RelayConn::connect(0, &url, tx).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    let tags = [1, 2, 3].map(B256::repeat_byte);
    send_tagged(&mut conn, &mut writer, tags[0], &[&[0x02, 1]]).unwrap();
    send_tagged(&mut conn, &mut writer, tags[1], &[&[0x02, 2]]).unwrap();
    let first = recv(&rx);
    assert_eq!(
        (first.status, first.tag, first.body.as_str()),
        (200, Some(tags[0]), "first")
    );
    let owed = recv(&rx);
    assert_eq!((owed.status, owed.tag), (0, Some(tags[1])), "{}", owed.body);
    let deadline = Instant::now() + WAIT;
    while conn.is_open() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    assert!(!conn.is_open());
    // The background thread dials and handshakes the next session; the send only writes.
    while !conn.is_ready() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
    send_tagged(&mut conn, &mut writer, tags[2], &[&[0x02, 3]]).unwrap();
    let again = recv(&rx);
    assert_eq!(
        (again.status, again.tag, again.body.as_str()),
        (200, Some(tags[2]), "again")
    );
    assert_eq!(conn.reconnects(), 1);
    server.join().unwrap();
}

/// A record that fails authentication (here: bytes written under the TLS layer) ends the
/// session: nothing after it is read, and the request it was answering comes back unanswered.
#[test]
fn a_record_that_does_not_authenticate_ends_the_session() {
    let (listener, url) = listen();
    let server = spawn(move || {
        let (mut s, _) = accept(&listener, server_config());
        read_request(&mut s);
        let mut forged = vec![23, 3, 3, 0, 40];
        forged.extend_from_slice(&[0xab; 40]);
        s.sock.sock.write_all(&forged).unwrap();
        // Then a genuine answer, which must not be believed after the forgery.
        answer(&mut s, "late");
        std::thread::sleep(Duration::from_millis(200));
    });
    let (tx, rx) = sync_channel(8);
    let mut conn = RelayConn::connect(0, &url, tx).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    send_tagged(&mut conn, &mut writer, B256::repeat_byte(7), &[&[0x02]]).unwrap();
    let reply = recv(&rx);
    assert_eq!(
        (reply.status, reply.tag),
        (0, Some(B256::repeat_byte(7))),
        "{}",
        reply.body
    );
    assert!(
        rx.recv_timeout(Duration::from_millis(300)).is_err(),
        "nothing after the forged record is delivered"
    );
    server.join().unwrap();
}

#[test]
fn handshakes_that_must_fail_say_why() {
    trust_test_ca();
    let (tx, _rx) = sync_channel(1);

    // The certificate names localhost and 127.0.0.1 only.
    let listener = TcpListener::bind("0.0.0.0:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let server = spawn(move || {
        let (mut s, _) = accept(&listener, server_config());
        let _ = s.read(&mut [0u8; 1]);
    });
    let err = RelayConn::connect(0, &format!("https://127.0.0.2:{port}/"), tx.clone()).unwrap_err();
    assert_eq!(
        err,
        FireError::Tls("the peer's certificate is not trusted for its name")
    );
    server.join().unwrap();

    // A relay that speaks TLS 1.2 only: the split session is TLS 1.3's.
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("https://{}/", listener.local_addr().unwrap());
    let server = spawn(move || {
        let (mut s, _) = accept(&listener, server_config_with(&[&rustls::version::TLS12]));
        let _ = s.read(&mut [0u8; 1]);
    });
    let err = RelayConn::connect(0, &url, tx).unwrap_err();
    assert!(matches!(err, FireError::Tls(_)), "{err:?}");
    server.join().unwrap();
}
