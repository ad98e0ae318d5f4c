//! The metrics server over a real TCP connection.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use kestrel_telemetry::serve_metrics;

/// Sends `request` and returns (status line, headers, body) of the answer.
fn exchange(addr: SocketAddr, request: &str) -> (String, String, String) {
    let mut stream = TcpStream::connect(addr).unwrap();
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .unwrap();
    stream.write_all(request.as_bytes()).unwrap();
    let mut raw = String::new();
    // The server closes the connection after answering (`Connection: close`).
    stream.read_to_string(&mut raw).unwrap();
    let (head, body) = raw.split_once("\r\n\r\n").unwrap();
    let (status, headers) = head.split_once("\r\n").unwrap_or((head, ""));
    (
        status.to_owned(),
        headers.to_ascii_lowercase(),
        body.to_owned(),
    )
}

fn get(addr: SocketAddr, path: &str) -> (String, String, String) {
    exchange(
        addr,
        &format!("GET {path} HTTP/1.1\r\nHost: localhost\r\nAccept: */*\r\n\r\n"),
    )
}

#[test]
fn serves_metrics_404s_the_rest_and_shuts_down() {
    let scrapes = Arc::new(AtomicU64::new(0));
    let counter = Arc::clone(&scrapes);
    let source = Arc::new(move || {
        let n = counter.fetch_add(1, Ordering::SeqCst) + 1;
        format!("# TYPE kestrel_scrapes_total counter\nkestrel_scrapes_total {n}\n")
    });
    let server = serve_metrics("127.0.0.1:0".parse().unwrap(), source).unwrap();
    let addr = server.local_addr();
    assert_ne!(addr.port(), 0);

    let (status, headers, body) = get(addr, "/metrics");
    assert_eq!(status, "HTTP/1.1 200 OK");
    assert!(
        headers.contains("content-type: text/plain; version=0.0.4"),
        "{headers}"
    );
    assert!(
        headers.contains(&format!("content-length: {}", body.len())),
        "{headers}"
    );
    assert_eq!(
        body,
        "# TYPE kestrel_scrapes_total counter\nkestrel_scrapes_total 1\n"
    );
    // The source is called afresh on every scrape.
    assert!(
        get(addr, "/metrics")
            .2
            .ends_with("kestrel_scrapes_total 2\n")
    );

    for path in ["/", "/metric", "/metrics/extra", "/favicon.ico"] {
        assert_eq!(get(addr, path).0, "HTTP/1.1 404 Not Found", "{path}");
    }
    let (status, ..) = exchange(addr, "POST /metrics HTTP/1.1\r\nContent-Length: 0\r\n\r\n");
    assert_eq!(status, "HTTP/1.1 404 Not Found");
    assert_eq!(
        exchange(addr, "garbage\r\n\r\n").0,
        "HTTP/1.1 400 Bad Request"
    );
    assert_eq!(
        scrapes.load(Ordering::SeqCst),
        2,
        "only GET /metrics renders"
    );

    server.shutdown();
    assert!(
        TcpStream::connect(addr).is_err(),
        "the port must be closed after shutdown"
    );
}

#[test]
fn a_client_that_hangs_up_mid_request_does_not_stop_the_server() {
    let server = serve_metrics("127.0.0.1:0".parse().unwrap(), Arc::new(String::new)).unwrap();
    let addr = server.local_addr();
    // Connect and send half a request, then hang up: the server must move on.
    let mut idle = TcpStream::connect(addr).unwrap();
    idle.write_all(b"GET /metr").unwrap();
    drop(idle);
    assert_eq!(get(addr, "/metrics").0, "HTTP/1.1 200 OK");
    server.shutdown();
}
