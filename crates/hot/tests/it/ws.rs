//! The hot thread's WebSocket client against a real server implementation (tungstenite does
//! the handshake and reads what the client sends, so it checks our masking and framing
//! independently), with raw frames written byte by byte where the test needs control: every
//! length encoding, fragmentation with interleaved pings, oversized messages, protocol errors,
//! close, and no allocation per message.

use std::io::Write;
use std::net::{TcpListener, TcpStream};
use std::thread::JoinHandle;
use std::time::{Duration, Instant};

use kestrel_bus::{ShutdownFlag, WaitStrategy};
use kestrel_hot::wsclient::{MAX_MESSAGE_BYTES, READ_BUFFER_BYTES, WsClient, WsError};
use kestrel_hot::{
    HEADS_SUBSCRIPTION_ID, HotThreadConfig, HotThreadReport, NodeEndpoint, NodeStream,
    NodeStreamConfig, PENDING_SUBSCRIPTION_ID, Pipeline, run_hot_thread,
};
use kestrel_stdx::Rng;
use kestrel_types::HotEvent;
use tungstenite::{Message, WebSocket};

type Server = WebSocket<TcpStream>;

/// Starts a one-connection server running `script` after the handshake; returns the URL.
pub(crate) fn serve(script: impl FnOnce(Server) + Send + 'static) -> (String, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let h = std::thread::spawn(move || {
        let (stream, _) = listener.accept().unwrap();
        stream.set_nodelay(true).unwrap();
        script(tungstenite::accept(stream).unwrap());
    });
    (url, h)
}

fn connect(url: &str) -> WsClient {
    WsClient::connect(url, Some(Duration::from_millis(20))).unwrap()
}

/// Polls until `n` messages arrived (or 10 s passed).
fn receive(client: &mut WsClient, n: usize) -> Vec<Vec<u8>> {
    let mut got = Vec::new();
    let t0 = Instant::now();
    while got.len() < n && t0.elapsed() < Duration::from_secs(10) {
        client.poll(&mut |m| got.push(m.to_vec())).unwrap();
    }
    got
}

/// One unmasked server frame.
pub(crate) fn frame(fin: bool, opcode: u8, payload: &[u8]) -> Vec<u8> {
    let mut f = vec![(u8::from(fin) << 7) | opcode];
    match payload.len() {
        n if n < 126 => f.push(n as u8),
        n if n <= 0xffff => {
            f.push(126);
            f.extend_from_slice(&(n as u16).to_be_bytes());
        }
        n => {
            f.push(127);
            f.extend_from_slice(&(n as u64).to_be_bytes());
        }
    }
    f.extend_from_slice(payload);
    f
}

/// Writes `bytes` to the raw socket in random small pieces, flushing each.
fn trickle(s: &mut TcpStream, bytes: &[u8], rng: &mut Rng) {
    let mut rest = bytes;
    while !rest.is_empty() {
        let n = (rng.gen_range(1..64) as usize).min(rest.len());
        s.write_all(&rest[..n]).unwrap();
        s.flush().unwrap();
        rest = &rest[n..];
    }
}

fn text(len: usize, seed: u8) -> Vec<u8> {
    (0..len)
        .map(|i| b'a' + ((i as u8).wrapping_add(seed) % 26))
        .collect()
}

#[test]
fn every_length_encoding_arrives_whole_and_our_frames_are_valid() {
    let lens = [0usize, 1, 125, 126, 65_535, 65_536, 300_000];
    let (url, server) = serve(move |mut ws| {
        // What the client sent must unmask to the original text.
        assert_eq!(ws.read().unwrap(), Message::text("subscribe me"));
        for (i, len) in lens.into_iter().enumerate() {
            let m = String::from_utf8(text(len, i as u8)).unwrap();
            ws.send(Message::text(m)).unwrap();
        }
        ws.send(Message::binary(vec![0u8, 255, 7])).unwrap();
        // Keep the socket open until the client has read everything.
        let _ = ws.read();
    });
    let mut client = connect(&url);
    client.send_text(b"subscribe me").unwrap();
    let got = receive(&mut client, lens.len() + 1);
    assert_eq!(got.len(), lens.len() + 1);
    for (i, len) in lens.into_iter().enumerate() {
        assert_eq!(got[i], text(len, i as u8), "message {i} of {len} bytes");
    }
    assert_eq!(got[lens.len()], vec![0u8, 255, 7]);
    drop(client);
    server.join().unwrap();
}

#[test]
fn fragments_with_pings_between_them_trickled_byte_by_byte() {
    let mut rng = Rng::from_seed(11);
    let mut stream = Vec::new();
    let mut expected = Vec::new();
    let mut pings = 0usize;
    for m in 0..20u8 {
        let body = text(rng.gen_range(1..5000) as usize, m);
        let parts = rng.gen_range(1..5) as usize;
        let cut: Vec<usize> = (1..parts).map(|k| body.len() * k / parts).collect();
        let mut pieces = Vec::new();
        let mut last = 0;
        for c in cut.into_iter().chain([body.len()]) {
            pieces.push(&body[last..c]);
            last = c;
        }
        for (k, piece) in pieces.iter().enumerate() {
            let opcode = if k == 0 { 0x1 } else { 0x0 };
            stream.extend(frame(k + 1 == pieces.len(), opcode, piece));
            if k == 0 && pieces.len() > 1 {
                // Control frames may come between the fragments of a message.
                stream.extend(frame(true, 0x9, &[m, m]));
                pings += 1;
            }
        }
        expected.push(body);
    }
    let bytes = stream.clone();
    let (url, server) = serve(move |mut ws| {
        let mut rng = Rng::from_seed(12);
        trickle(ws.get_mut(), &bytes, &mut rng);
        // Every ping came back as a pong with its payload, masked correctly.
        let mut pongs = Vec::new();
        ws.get_mut()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        while let Ok(msg) = ws.read() {
            if let Message::Pong(p) = msg {
                pongs.push(p.to_vec());
            }
            if pongs.len() == pings {
                break;
            }
        }
        assert!(pings > 5, "the seed gave few fragmented messages");
        assert_eq!(pongs.len(), pings);
        assert!(pongs.iter().all(|p| p.len() == 2 && p[0] == p[1]));
    });
    let mut client = connect(&url);
    let got = receive(&mut client, expected.len());
    assert_eq!(got, expected);
    drop(client);
    server.join().unwrap();
}

#[test]
fn oversized_messages_are_skipped_counted_and_the_stream_stays_in_sync() {
    let huge = vec![b'x'; READ_BUFFER_BYTES + 10];
    let mut raw = frame(true, 0x1, &huge);
    raw.extend(frame(true, 0x1, b"after the big one"));
    // A fragmented message longer than the reassembly buffer, then one that fits.
    let chunk = vec![b'y'; MAX_MESSAGE_BYTES / 2 + 1];
    raw.extend(frame(false, 0x1, &chunk));
    raw.extend(frame(false, 0x0, &chunk));
    raw.extend(frame(true, 0x0, b"tail"));
    raw.extend(frame(false, 0x1, b"frag"));
    raw.extend(frame(true, 0x0, b"mented"));
    let (url, server) = serve(move |mut ws| {
        ws.get_mut().write_all(&raw).unwrap();
        let _ = ws.read();
    });
    let mut client = connect(&url);
    let got = receive(&mut client, 2);
    assert_eq!(
        got,
        vec![b"after the big one".to_vec(), b"fragmented".to_vec()]
    );
    assert_eq!(client.oversized(), 2);
    drop(client);
    server.join().unwrap();
}

fn first_error(raw: Vec<u8>) -> WsError {
    let (url, server) = serve(move |mut ws| {
        ws.get_mut().write_all(&raw).unwrap();
        let _ = ws.read();
    });
    let mut client = connect(&url);
    let t0 = Instant::now();
    let err = loop {
        match client.poll(&mut |_| {}) {
            Err(e) => break e,
            Ok(_) if t0.elapsed() > Duration::from_secs(10) => panic!("no error"),
            Ok(_) => {}
        }
    };
    drop(client);
    server.join().unwrap();
    err
}

#[test]
fn protocol_violations_are_errors_not_panics() {
    let mut masked = frame(true, 0x1, b"abcd");
    masked[1] |= 0x80;
    let mut rsv = frame(true, 0x1, b"x");
    rsv[0] |= 0x40;
    for (raw, what) in [
        (masked, "masked"),
        (rsv, "reserved"),
        (frame(true, 0x3, b"x"), "opcode"),
        (frame(true, 0x0, b"x"), "continuation"),
        (frame(false, 0x9, b"x"), "control"),
    ] {
        let err = first_error(raw);
        assert!(matches!(err, WsError::Protocol(_)), "{what}: {err:?}");
    }
}

#[test]
fn a_close_from_the_server_ends_the_stream_and_is_answered() {
    let (url, server) = serve(|mut ws| {
        ws.send(Message::text("last")).unwrap();
        ws.close(None).unwrap();
        // tungstenite completes the closing handshake once it reads our close reply.
        let t0 = Instant::now();
        loop {
            match ws.read() {
                Err(tungstenite::Error::ConnectionClosed) => break,
                Err(e) => panic!("{e}"),
                Ok(_) => assert!(t0.elapsed() < Duration::from_secs(10)),
            }
        }
    });
    let mut client = connect(&url);
    // The message before the close is delivered (possibly by the same poll that then reports
    // the close).
    let mut got = Vec::new();
    let t0 = Instant::now();
    let err = loop {
        match client.poll(&mut |m| got.push(m.to_vec())) {
            Err(e) => break e,
            Ok(_) => assert!(t0.elapsed() < Duration::from_secs(10)),
        }
    };
    assert_eq!(got, vec![b"last".to_vec()]);
    assert!(matches!(err, WsError::Closed), "{err:?}");
    server.join().unwrap();
}

#[test]
fn the_node_stream_refuses_tls_urls_with_a_clear_error() {
    let cfg = NodeStreamConfig {
        endpoint: NodeEndpoint::Ws("wss://127.0.0.1:1/".into()),
        wait: WaitStrategy::Park(Duration::from_millis(1)),
    };
    let err = NodeStream::connect(&cfg).expect_err("wss refused");
    assert!(err.to_string().contains("ws:// only"), "{err}");
}

#[test]
fn polling_messages_allocates_nothing() {
    let messages = 300usize;
    let (url, server) = serve(move |mut ws| {
        let mut raw = Vec::new();
        for i in 0..messages {
            let body = text(100 + (i * 37) % 3000, i as u8);
            if i % 3 == 0 {
                let half = body.len() / 2;
                raw.extend(frame(false, 0x1, &body[..half]));
                raw.extend(frame(true, 0x9, b"ping"));
                raw.extend(frame(true, 0x0, &body[half..]));
            } else {
                raw.extend(frame(true, 0x1, &body));
            }
        }
        let mut rng = Rng::from_seed(3);
        trickle(ws.get_mut(), &raw, &mut rng);
        ws.get_mut()
            .set_read_timeout(Some(Duration::from_secs(5)))
            .unwrap();
        let mut pongs = 0;
        while pongs < messages.div_ceil(3) {
            match ws.read() {
                Ok(Message::Pong(_)) => pongs += 1,
                Ok(_) => {}
                Err(_) => break,
            }
        }
    });
    let mut client = connect(&url);
    // Connect allocated its buffers; from here on, nothing.
    let mut seen = 0usize;
    let mut bytes = 0usize;
    let before = kestrel_bus::thread_allocations();
    let t0 = Instant::now();
    while seen < messages && t0.elapsed() < Duration::from_secs(10) {
        client
            .poll(&mut |m| {
                seen += 1;
                bytes += m.len();
            })
            .unwrap();
    }
    let allocated = kestrel_bus::thread_allocations() - before;
    assert_eq!(seen, messages);
    assert!(bytes > 100 * messages);
    assert_eq!(allocated, 0, "polling allocated");
    drop(client);
    server.join().unwrap();
}

/// Reads a connection's two `eth_subscribe` requests and answers each with a JSON-RPC error,
/// as a node does that serves neither (one without full pending bodies, say).
fn refuse_both_subscriptions(ws: &mut Server) {
    for _ in 0..2 {
        let Ok(Message::Text(request)) = ws.read() else {
            panic!("expected a subscribe request");
        };
        let id = [HEADS_SUBSCRIPTION_ID, PENDING_SUBSCRIPTION_ID]
            .into_iter()
            .find(|id| request.contains(&format!(r#""id":{id},"#)))
            .expect("a subscription id");
        let refusal = format!(
            r#"{{"jsonrpc":"2.0","id":{id},"error":{{"code":-32601,"message":"the method eth_subscribe does not exist/is not available"}}}}"#
        );
        ws.send(Message::text(refusal)).unwrap();
    }
}

/// The hot thread's events of one kind, drained from the ring.
fn refusal_events(events: &mut kestrel_bus::Consumer<HotEvent>) -> Vec<u64> {
    let mut got = Vec::new();
    events.pop_batch(&mut got, 1_000);
    got.into_iter()
        .filter_map(|e| match e {
            HotEvent::SubscriptionRefused { request_id } => Some(request_id),
            _ => None,
        })
        .collect()
}

#[test]
fn refused_subscriptions_are_counted_and_reported_once_per_connection() {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", listener.local_addr().unwrap());
    let (hang_up, hung_up) = std::sync::mpsc::channel::<()>();
    let node = std::thread::spawn(move || {
        // The first connection: both subscriptions refused, then dropped by the node.
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        refuse_both_subscriptions(&mut ws);
        hung_up.recv().unwrap();
        drop(ws);
        // The reconnect: refused again, and held open until the test ends.
        let (stream, _) = listener.accept().unwrap();
        let mut ws = tungstenite::accept(stream).unwrap();
        refuse_both_subscriptions(&mut ws);
        let _ = hung_up.recv();
    });
    let (pipeline, counters, mut events) = crate::pipeline();
    let shutdown = ShutdownFlag::new();
    let hot = hot_thread_on(url, pipeline, &shutdown);
    let wait_for = |what: &str, done: &dyn Fn() -> bool| {
        let t0 = Instant::now();
        while !done() {
            assert!(t0.elapsed() < Duration::from_secs(10), "timed out: {what}");
            std::thread::sleep(Duration::from_millis(1));
        }
    };
    wait_for("two refusals", &|| {
        counters.snapshot().subscription_refusals == 2
    });
    assert_eq!(
        refusal_events(&mut events),
        [PENDING_SUBSCRIPTION_ID],
        "one report for the connection, for the first refusal"
    );
    hang_up.send(()).unwrap();
    wait_for("the reconnect's refusals", &|| {
        counters.snapshot().subscription_refusals == 4
    });
    assert_eq!(
        refusal_events(&mut events),
        [PENDING_SUBSCRIPTION_ID],
        "a new connection is reported afresh"
    );
    shutdown.trigger();
    let _ = hang_up.send(());
    let report = hot.join().unwrap();
    node.join().unwrap();
    let c = counters.snapshot();
    assert_eq!((c.subscription_refusals, c.reconnects), (4, 1));
    assert_eq!(
        c.pending_subscriptions, 0,
        "no refused subscription counts as confirmed"
    );
    assert_eq!((report.reconnects, report.connect_failures), (1, 0));
}

/// The hot thread following the node at `url` (unpinned, parking 1 ms between polls).
fn hot_thread_on(
    url: String,
    pipeline: Pipeline,
    shutdown: &ShutdownFlag,
) -> JoinHandle<HotThreadReport> {
    let cfg = HotThreadConfig {
        node: NodeStreamConfig {
            endpoint: NodeEndpoint::Ws(url),
            wait: WaitStrategy::Park(Duration::from_millis(1)),
        },
        core: None,
    };
    run_hot_thread(cfg, pipeline, shutdown.clone()).unwrap()
}

#[test]
fn failed_connects_to_the_node_are_counted() {
    // A port nothing listens on: every connect is refused.
    let closed = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("ws://{}/", closed.local_addr().unwrap());
    drop(closed);
    let (pipeline, counters, _events) = crate::pipeline();
    let shutdown = ShutdownFlag::new();
    let hot = hot_thread_on(url, pipeline, &shutdown);
    let t0 = Instant::now();
    while counters.snapshot().connect_failures < 2 {
        assert!(
            t0.elapsed() < Duration::from_secs(10),
            "no failures counted"
        );
        std::thread::sleep(Duration::from_millis(1));
    }
    shutdown.trigger();
    let report = hot.join().unwrap();
    let c = counters.snapshot();
    assert_eq!(report.connect_failures, c.connect_failures);
    assert!(c.connect_failures >= 2);
    assert_eq!((c.reconnects, report.reconnects), (0, 0), "never connected");
}

#[test]
fn only_error_replies_to_the_subscriptions_are_refusals() {
    let (mut p, counters, mut events) = crate::pipeline();
    let replies = [
        // Accepted subscriptions.
        r#"{"jsonrpc":"2.0","id":1,"result":"0xabc"}"#.to_string(),
        r#"{"jsonrpc":"2.0","id":2,"result":"0xdef"}"#.to_string(),
        // An error to a request that is no subscription of ours.
        r#"{"jsonrpc":"2.0","id":7,"error":{"code":-32000,"message":"no"}}"#.to_string(),
        format!(
            r#"{{"jsonrpc":"2.0","id":{HEADS_SUBSCRIPTION_ID},"error":{{"code":-32000,"message":"no"}}}}"#
        ),
        format!(
            r#"{{"jsonrpc":"2.0","id":{PENDING_SUBSCRIPTION_ID},"error":{{"code":-32000,"message":"no"}}}}"#
        ),
    ];
    for r in &replies {
        p.on_frame(r.as_bytes(), 0);
    }
    assert_eq!(counters.snapshot().subscription_refusals, 2);
    assert_eq!(refusal_events(&mut events), [HEADS_SUBSCRIPTION_ID]);
    p.note_connected();
    p.on_frame(replies[4].as_bytes(), 0);
    assert_eq!(counters.snapshot().subscription_refusals, 3);
    assert_eq!(refusal_events(&mut events), [PENDING_SUBSCRIPTION_ID]);
}
