//! `RelayConn` writes signed bundles over one warm connection to `FakeRelay`, survives a relay
//! restart, and the relay refuses what is not signed.

use std::{
    io::{Read, Write},
    net::TcpStream,
    sync::mpsc::{Receiver, sync_channel},
    time::{Duration, Instant},
};

use kestrel_fire::{BundleWriter, FireError, FlashbotsAuth, RelayConn, RelayReply};
use kestrel_testkit::{FakeRelay, free_port};
use kestrel_types::{B256, keccak256};
use serde_json::Value;

const IDENTITY_KEY: &str = "0x59c6995e998f97a5a0044966f0945389dc9e86dae88c7a8412f4603b6b78690d";
const WAIT: Duration = Duration::from_secs(5);

/// A real mainnet pending swap (mempool-dumpster), as the victim, with its recorded hash; or a
/// stand-in when the recorded data is absent.
fn victim() -> (Vec<u8>, B256) {
    let Some(path) = kestrel_stdx::testdata::data_file(
        "testkit relay victim",
        "eth/mempool/mempool-dumpster-example-tx-summary.json",
    ) else {
        let raw = vec![0x02, 0xc0];
        let hash = keccak256(&raw);
        return (raw, hash);
    };
    let v: Value = serde_json::from_slice(&std::fs::read(path).unwrap()).unwrap();
    let network = hex::decode(v["rawTx"].as_str().unwrap().trim_start_matches("0x")).unwrap();
    // Network form: an RLP string header `b9 <2-byte length>` around the EIP-2718 envelope.
    assert_eq!(network[0], 0xb9);
    let raw = network[3..].to_vec();
    assert_eq!(
        raw.len(),
        usize::from(u16::from_be_bytes([network[1], network[2]]))
    );
    let hash: B256 = v["hash"].as_str().unwrap().parse().unwrap();
    assert_eq!(
        keccak256(&raw),
        hash,
        "recorded hash is keccak of the envelope"
    );
    (raw, hash)
}

/// Polls `done` until it holds or [`WAIT`] passes (the assertion after it says which).
fn wait_until(mut done: impl FnMut() -> bool) {
    let deadline = Instant::now() + WAIT;
    while !done() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(2));
    }
}

fn recv(rx: &Receiver<RelayReply>) -> RelayReply {
    rx.recv_timeout(WAIT).expect("a reply from the relay")
}

fn send(conn: &mut RelayConn, auth: &FlashbotsAuth, body: &[u8]) -> Result<(), FireError> {
    let mut header = [0u8; 200];
    let header = auth.sign_header(body, &mut header);
    conn.send(header, body)
}

#[test]
fn three_bundles_on_one_keep_alive_connection() {
    let relay = FakeRelay::start().unwrap();
    let (tx, rx) = sync_channel(16);
    let mut conn = RelayConn::connect(0, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(4096);
    let (victim, victim_hash) = victim();
    for i in 0..3u8 {
        let ours = vec![0x02, 0xc1, i];
        let body = writer.send_bundle(&[&victim, &ours], 100 + u64::from(i));
        send(&mut conn, &auth, body).unwrap();
        let reply = recv(&rx);
        assert_eq!((reply.relay, reply.status), (0, 200), "{}", reply.body);
        let json: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["id"], u64::from(i) + 1);
        // Independent bundle hash: keccak of the recorded victim hash and our tx's hash.
        let expected = keccak256([victim_hash.0, keccak256(&ours).0].concat());
        assert_eq!(json["result"]["bundleHash"], expected.to_string());
    }
    let bundles = relay.bundles();
    assert_eq!(bundles.len(), 3);
    for (i, b) in bundles.iter().enumerate() {
        assert_eq!(
            (b.method.as_str(), b.block, b.signer),
            ("eth_sendBundle", 100 + i as u64, auth.address())
        );
        assert_eq!(b.txs, vec![victim.clone(), vec![0x02, 0xc1, i as u8]]);
    }
    assert_eq!(
        relay.connections_accepted(),
        1,
        "all three requests used one connection"
    );
    assert_eq!(
        (conn.reconnects(), relay.rejected(), conn.dropped_replies()),
        (0, 0, 0)
    );
}

#[test]
fn call_bundle_reaches_the_simulation_method() {
    let relay = FakeRelay::start().unwrap();
    let (tx, rx) = sync_channel(4);
    let mut conn = RelayConn::connect(3, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    send(&mut conn, &auth, writer.call_bundle(&[&[0x02, 0x01]], 7)).unwrap();
    let reply = recv(&rx);
    assert_eq!((reply.relay, reply.status), (3, 200));
    let json: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(
        json["result"]["results"][0]["txHash"],
        keccak256([0x02, 0x01]).to_string()
    );
    assert_eq!(relay.bundles()[0].method, "eth_callBundle");
}

#[test]
fn bad_or_missing_signatures_get_403() {
    let relay = FakeRelay::start().unwrap();
    let (tx, rx) = sync_channel(4);
    let mut conn = RelayConn::connect(0, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    let signed_for = writer.send_bundle(&[&[0x02, 0x01]], 1).to_vec();
    let mut header = [0u8; 200];
    let header = auth.sign_header(&signed_for, &mut header).to_owned();
    let other = writer.send_bundle(&[&[0x02, 0x02]], 1);
    conn.send(&header, other).unwrap();
    let reply = recv(&rx);
    assert_eq!(reply.status, 403);
    let json: Value = serde_json::from_str(&reply.body).unwrap();
    assert_eq!(json["error"]["code"], -32600);
    assert_eq!(json["id"], 2);

    // No header at all, over a plain socket.
    let mut raw = TcpStream::connect(("127.0.0.1", relay.port())).unwrap();
    let body = br#"{"jsonrpc":"2.0","id":9,"method":"eth_sendBundle","params":[{"txs":[],"blockNumber":"0x1"}]}"#;
    let request = format!(
        "POST / HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n",
        body.len()
    );
    raw.write_all(&[request.as_bytes(), body].concat()).unwrap();
    let mut response = String::new();
    raw.read_to_string(&mut response).unwrap();
    assert!(response.starts_with("HTTP/1.1 403"), "{response}");
    assert_eq!((relay.rejected(), relay.bundles().len()), (2, 0));
}

#[test]
fn relay_restart_is_survived_by_one_reconnect() {
    let relay = FakeRelay::start().unwrap();
    let port = relay.port();
    let (tx, rx) = sync_channel(16);
    let mut conn = RelayConn::connect(1, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    send(&mut conn, &auth, writer.send_bundle(&[&[0x02, 0x01]], 1)).unwrap();
    assert_eq!(recv(&rx).status, 200);

    relay.stop();
    // The reader thread notices the close; while the relay is down a send fails at once,
    // writing nothing and connecting nothing on the caller's thread.
    wait_until(|| !conn.is_open());
    assert!(!conn.is_open());
    let err = send(&mut conn, &auth, writer.send_bundle(&[&[0x02, 0x09]], 9)).unwrap_err();
    assert_eq!(err, FireError::NotConnected);
    // The background thread keeps dialing the dead port, with a backoff.
    wait_until(|| conn.dial_failures() >= 2);
    assert!(conn.dial_failures() >= 2);

    // Back up on the same port: the background thread connects before anything is sent, and
    // the next send goes out on that connection.
    let relay = FakeRelay::start_on(port).unwrap();
    wait_until(|| relay.connections_accepted() > 0);
    assert_eq!(relay.connections_accepted(), 1);
    assert!(conn.is_ready());
    assert_eq!(conn.reconnects(), 0, "nothing swapped in before a send");
    send(&mut conn, &auth, writer.send_bundle(&[&[0x02, 0x02]], 2)).unwrap();
    assert_eq!(recv(&rx).status, 200);
    assert_eq!(conn.reconnects(), 1);
    assert_eq!(relay.connections_accepted(), 1);
    assert_eq!(relay.bundles()[0].txs, vec![vec![0x02, 0x02]]);

    // With nothing listening, the send fails and says why.
    relay.stop();
    wait_until(|| !conn.is_open());
    let err = send(&mut conn, &auth, writer.send_bundle(&[&[0x02, 0x03]], 3)).unwrap_err();
    assert_eq!(err, FireError::NotConnected);
}

/// A stream dialed in the background that ends before any send took it is not ready: while
/// the relay is down `is_ready` is false (the exchange lane opens no trade on it) and a send
/// fails without writing.
#[test]
fn a_dialed_stream_that_ended_unused_is_not_ready() {
    let relay = FakeRelay::start().unwrap();
    let (tx, _rx) = sync_channel(16);
    let mut conn = RelayConn::connect(0, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    wait_until(|| relay.connections_accepted() == 1);
    relay.close_connections();
    wait_until(|| !conn.is_open() && conn.is_ready() && relay.connections_accepted() == 2);
    assert!(!conn.is_open() && conn.is_ready(), "a successor dialed");
    // The relay goes down, closing the successor before anything was sent on it.
    relay.stop();
    wait_until(|| !conn.is_ready());
    assert!(!conn.is_ready());
    let err = send(&mut conn, &auth, writer.send_bundle(&[&[0x02, 0x01]], 1)).unwrap_err();
    assert_eq!((err, conn.reconnects()), (FireError::NotConnected, 0));
}

/// A relay that closes idle keep-alive connections: each is replaced in the background as soon
/// as it ends, so the next bundle finds a warm connection instead of connecting first.
#[test]
fn an_idle_close_is_redialed_before_the_next_send() {
    let relay = FakeRelay::start().unwrap();
    let (tx, rx) = sync_channel(16);
    let mut conn = RelayConn::connect(2, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    for round in 1..=3u8 {
        send(&mut conn, &auth, writer.send_bundle(&[&[0x02, round]], 1)).unwrap();
        assert_eq!(recv(&rx).status, 200);
        // The relay drops every connection it holds, as an idle timeout would.
        relay.close_connections();
        wait_until(|| relay.connections_accepted() > u64::from(round));
        assert_eq!(relay.connections_accepted(), u64::from(round) + 1);
        wait_until(|| conn.is_ready());
        assert!(conn.is_ready());
    }
    send(&mut conn, &auth, writer.send_bundle(&[&[0x02, 4]], 1)).unwrap();
    assert_eq!(recv(&rx).status, 200);
    assert_eq!((conn.reconnects(), conn.dial_failures()), (3, 0));
    assert_eq!(relay.bundles().len(), 4);
}

/// Tagged requests written back to back, before any answer: each answer comes back with the
/// tag of the request it answers (its bundle hash is that request's), an untagged request's
/// with none.
#[test]
fn each_answer_carries_the_tag_of_the_request_it_answers() {
    let relay = FakeRelay::start().unwrap();
    let (tx, rx) = sync_channel(16);
    let mut conn = RelayConn::connect(0, &relay.url(), tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    let mut header = [0u8; 200];
    let mut expected = Vec::new();
    for i in 0..6u8 {
        let (victim, ours) = (vec![0x02, 0xd0, i], vec![0x02, 0xc1, i]);
        let body = writer.send_bundle(&[&victim, &ours], 100);
        let header = auth.sign_header(body, &mut header);
        let tag = (i != 3).then(|| keccak256(&victim));
        match tag {
            Some(tag) => conn.send_tagged(tag, header, body).unwrap(),
            None => conn.send(header, body).unwrap(),
        }
        let bundle_hash = keccak256([keccak256(&victim).0, keccak256(&ours).0].concat());
        expected.push((tag, bundle_hash));
    }
    for (tag, bundle_hash) in expected {
        let reply = recv(&rx);
        assert_eq!((reply.status, reply.tag), (200, tag), "{}", reply.body);
        let json: Value = serde_json::from_str(&reply.body).unwrap();
        assert_eq!(json["result"]["bundleHash"], bundle_hash.to_string());
    }
}

/// A relay that reads two requests and closes without answering: each comes back once, in
/// order, with status 0 and its tag; the next request reconnects.
#[test]
fn requests_left_unanswered_come_back_with_status_0() {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/", listener.local_addr().unwrap());
    let server = std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut seen = Vec::new();
        let mut buf = [0u8; 4096];
        while seen.windows(4).filter(|w| w == b"POST").count() < 2 {
            let n = stream.read(&mut buf).unwrap();
            assert!(n > 0, "the client closed first");
            seen.extend_from_slice(&buf[..n]);
        }
        // Closed without a word.
    });
    let (tx, rx) = sync_channel(16);
    let mut conn = RelayConn::connect(0, &url, tx).unwrap();
    let auth = FlashbotsAuth::from_hex(IDENTITY_KEY).unwrap();
    let mut writer = BundleWriter::with_capacity(1024);
    let mut header = [0u8; 200];
    let tags = [B256::repeat_byte(1), B256::repeat_byte(2)];
    for (i, tag) in tags.iter().enumerate() {
        let body = writer.send_bundle(&[&[0x02, i as u8]], 1);
        let header = auth.sign_header(body, &mut header);
        conn.send_tagged(*tag, header, body).unwrap();
    }
    server.join().unwrap();
    for tag in tags {
        let reply = recv(&rx);
        assert_eq!((reply.status, reply.tag), (0, Some(tag)), "{}", reply.body);
        assert!(reply.body.contains("closed"), "{}", reply.body);
    }
    assert!(
        rx.recv_timeout(Duration::from_millis(200)).is_err(),
        "one reply per request"
    );
    assert!(!conn.is_open());
}

#[test]
fn bad_urls_and_closed_ports_are_refused() {
    let (tx, _rx) = sync_channel(1);
    assert!(matches!(
        RelayConn::connect(0, "ws://relay:80", tx.clone()),
        Err(FireError::BadUrl(_))
    ));
    assert!(matches!(
        RelayConn::connect(0, "relay:80", tx.clone()),
        Err(FireError::BadUrl(_))
    ));
    // A port nobody listens on.
    let port = free_port();
    let err = RelayConn::connect(0, &format!("http://127.0.0.1:{port}/"), tx).unwrap_err();
    assert_eq!(err, FireError::Io(std::io::ErrorKind::ConnectionRefused));
}

#[test]
fn free_port_is_bindable() {
    let port = free_port();
    assert_ne!(port, 0);
    std::net::TcpListener::bind(("127.0.0.1", port)).unwrap();
}
