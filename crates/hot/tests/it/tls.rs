//! TLS for the venue clients: `wss://` WebSocket and `https://` REST against a local TLS server
//! (rustls, a test CA's certificate for localhost and 127.0.0.1), and a certificate for another
//! name refused.

use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use base64::Engine as _;
use kestrel_hot::cex::exchange;
use kestrel_hot::net::Conn;
use kestrel_hot::wsclient::WsClient;
use rustls::{ServerConnection, StreamOwned};
use sha1::Digest as _;

use kestrel_testkit::tls::{server_config, trust_test_ca};

/// Reads an HTTP request head from a TLS stream.
fn read_head(s: &mut impl Read) -> String {
    let mut head = Vec::new();
    let mut byte = [0u8; 1];
    while !head.ends_with(b"\r\n\r\n") {
        if s.read(&mut byte).unwrap_or(0) == 0 {
            break;
        }
        head.push(byte[0]);
    }
    String::from_utf8_lossy(&head).into_owned()
}

/// A one-connection TLS server on `bind`: answers a WebSocket upgrade with one text message, or
/// any other request with `200 hello`. Returns its port and the request head it saw.
fn serve_once(bind: &str) -> (u16, JoinHandle<Option<String>>) {
    let listener = TcpListener::bind(bind).unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = server_config();
    let handle = std::thread::spawn(move || {
        let (sock, _) = listener.accept().ok()?;
        sock.set_read_timeout(Some(Duration::from_secs(5))).ok()?;
        let conn = ServerConnection::new(config).ok()?;
        let mut tls = StreamOwned::new(conn, sock);
        let head = read_head(&mut tls);
        if head.is_empty() {
            return None; // the client gave up during the handshake
        }
        let key = head
            .lines()
            .find_map(|l| l.strip_prefix("Sec-WebSocket-Key: "))
            .map(str::to_owned);
        match key {
            Some(key) => {
                let mut sha = sha1::Sha1::new();
                sha.update(key.as_bytes());
                sha.update(b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11");
                let accept = base64::engine::general_purpose::STANDARD.encode(sha.finalize());
                let reply = format!(
                    "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: {accept}\r\n\r\n"
                );
                tls.write_all(reply.as_bytes()).ok()?;
                let text = b"hello over tls";
                let mut frame = vec![0x81, text.len() as u8];
                frame.extend_from_slice(text);
                tls.write_all(&frame).ok()?;
                tls.flush().ok()?;
                // Keep the connection open until the client has read.
                std::thread::sleep(Duration::from_millis(500));
            }
            None => {
                tls.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello")
                    .ok()?;
                tls.flush().ok()?;
            }
        }
        Some(head)
    });
    (port, handle)
}

#[test]
fn wss_reaches_a_tls_websocket_and_reads_its_messages_non_blocking() {
    trust_test_ca();
    let (port, server) = serve_once("127.0.0.1:0");
    let mut ws = WsClient::connect(&format!("wss://localhost:{port}/ws/v2"), None).unwrap();
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while got.is_empty() {
        assert!(Instant::now() < deadline, "no message over TLS");
        ws.poll(&mut |m| got.push(m.to_vec())).unwrap();
        std::thread::sleep(Duration::from_millis(1));
    }
    assert_eq!(got, vec![b"hello over tls".to_vec()]);
    let head = server.join().unwrap().unwrap();
    assert!(head.starts_with("GET /ws/v2 HTTP/1.1\r\n"), "{head}");
    assert!(head.contains(&format!("Host: localhost:{port}")), "{head}");
}

#[test]
fn https_requests_get_their_answer() {
    trust_test_ca();
    let (port, server) = serve_once("127.0.0.1:0");
    let request = format!("GET /api/v3/time HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
    let (status, body) =
        exchange(&format!("https://localhost:{port}"), request.as_bytes()).unwrap();
    assert_eq!((status, body.as_slice()), (200, &b"hello"[..]));
    let head = server.join().unwrap().unwrap();
    assert!(head.starts_with("GET /api/v3/time"), "{head}");
}

#[test]
fn a_certificate_for_another_name_is_refused() {
    trust_test_ca();
    // Listening on every loopback address; the certificate names localhost and 127.0.0.1 only.
    let (port, server) = serve_once("0.0.0.0:0");
    let err = Conn::connect("127.0.0.2", port, true, Duration::from_secs(5))
        .expect_err("a certificate for another name must be refused");
    assert!(err.to_string().contains("certificate"), "{err}");
    assert_eq!(server.join().unwrap(), None, "nothing was sent over it");
    // And a plain client is not a TLS client: the same port over ws:// fails the upgrade.
    let (port, _server) = serve_once("127.0.0.1:0");
    assert!(
        WsClient::connect(
            &format!("ws://localhost:{port}/"),
            Some(Duration::from_secs(2))
        )
        .is_err()
    );
}

/// A TLS keep-alive server: for each of `connections` accepted connections, answers
/// `per_connection` GETs with their path as the body (the first answer in two writes), then
/// closes.
fn serve_keep_alive(connections: usize, per_connection: usize) -> (u16, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let port = listener.local_addr().unwrap().port();
    let config = server_config();
    let handle = std::thread::spawn(move || {
        for _ in 0..connections {
            let Ok((sock, _)) = listener.accept() else {
                return;
            };
            sock.set_read_timeout(Some(Duration::from_secs(5))).unwrap();
            let mut tls =
                StreamOwned::new(ServerConnection::new(Arc::clone(&config)).unwrap(), sock);
            for n in 0..per_connection {
                let head = read_head(&mut tls);
                let path = head.split(' ').nth(1).unwrap_or("?").to_owned();
                let answer = format!(
                    "HTTP/1.1 200 OK\r\nContent-Length: {}\r\n\r\n{path}",
                    path.len()
                );
                if n == 0 {
                    let (a, b) = answer.split_at(answer.len() / 2);
                    tls.write_all(a.as_bytes()).unwrap();
                    tls.flush().unwrap();
                    std::thread::sleep(Duration::from_millis(20));
                    tls.write_all(b.as_bytes()).unwrap();
                } else {
                    tls.write_all(answer.as_bytes()).unwrap();
                }
                tls.flush().unwrap();
            }
            tls.conn.send_close_notify();
            let _ = tls.flush();
        }
    });
    (port, handle)
}

fn poll_until(conn: &mut kestrel_hot::net::TlsOrderConn, n: usize) -> Vec<(usize, u16, String)> {
    let deadline = Instant::now() + Duration::from_secs(5);
    let mut got = Vec::new();
    while got.len() < n {
        assert!(Instant::now() < deadline, "only {got:?}");
        conn.poll(&mut |r| got.push((r.relay, r.status, r.body)));
        std::thread::sleep(Duration::from_millis(1));
    }
    got
}

#[test]
fn tls_order_connections_keep_alive_read_answers_and_reconnect_once_closed() {
    trust_test_ca();
    let (port, server) = serve_keep_alive(2, 2);
    let mut conn =
        kestrel_hot::net::TlsOrderConn::connect(3, &format!("https://localhost:{port}/")).unwrap();
    let request = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
    conn.send_request(request("/order/1").as_bytes()).unwrap();
    conn.send_request(request("/order/2").as_bytes()).unwrap();
    let got = poll_until(&mut conn, 2);
    assert_eq!(
        got,
        vec![(3, 200, "/order/1".into()), (3, 200, "/order/2".into())]
    );
    // The server closes after two: the connection notices, and the next request reconnects.
    let deadline = Instant::now() + Duration::from_secs(5);
    while conn.is_open() {
        assert!(Instant::now() < deadline, "close not noticed");
        conn.poll(&mut |_| panic!("no answer expected"));
        std::thread::sleep(Duration::from_millis(1));
    }
    conn.send_request(request("/order/3").as_bytes()).unwrap();
    assert_eq!(conn.reconnects(), 1);
    conn.send_request(request("/order/4").as_bytes()).unwrap();
    let got = poll_until(&mut conn, 2);
    assert_eq!(got[0].2, "/order/3");
    assert_eq!(got[1].2, "/order/4");
    server.join().unwrap();
}

/// The connection the lane tries first for an `https://` venue: a split TLS 1.3 session
/// (`RelayConn`), the lane sealing each order and a reader thread opening the answers, which
/// arrive on the replies channel like a plain connection's; reconnects once the venue closes.
#[test]
fn split_tls_order_connections_deliver_answers_on_the_reader_thread() {
    trust_test_ca();
    let (port, server) = serve_keep_alive(2, 2);
    let (tx, rx) = std::sync::mpsc::sync_channel(8);
    let mut conn =
        kestrel_fire::RelayConn::connect(4, &format!("https://localhost:{port}/"), tx).unwrap();
    assert!(conn.is_tls());
    let request = |path: &str| format!("GET {path} HTTP/1.1\r\nHost: localhost:{port}\r\n\r\n");
    let answer = || {
        let r = rx.recv_timeout(Duration::from_secs(5)).expect("an answer");
        (r.relay, r.status, r.body)
    };
    conn.send_request(request("/order/1").as_bytes()).unwrap();
    conn.send_request(request("/order/2").as_bytes()).unwrap();
    assert_eq!(answer(), (4, 200, "/order/1".into()));
    assert_eq!(answer(), (4, 200, "/order/2".into()));
    let deadline = Instant::now() + Duration::from_secs(5);
    while conn.is_open() || !conn.is_ready() {
        assert!(
            Instant::now() < deadline,
            "close not noticed, or no new session dialed"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    conn.send_request(request("/order/3").as_bytes()).unwrap();
    conn.send_request(request("/order/4").as_bytes()).unwrap();
    assert_eq!(conn.reconnects(), 1);
    assert_eq!(answer().2, "/order/3");
    assert_eq!(answer().2, "/order/4");
    server.join().unwrap();
}
