//! A helper thread that fetches REST snapshots with blocking HTTP/1.1 GETs (http or https), so the feed
//! thread never waits on one. Requests and answers go through bounded channels.

use std::io::{Read as _, Write as _};

use crate::net::{Conn, Endpoint};
use kestrel_fire::relay::{Framed, ResponseFramer};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// How long connecting may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole exchange may take, connecting included: a peer that trickles its
/// answer cannot hold the thread longer.
const DEADLINE: Duration = Duration::from_secs(15);
/// Largest answer body accepted (a whole order book as JSON is a few MiB); the head's cap is
/// the framer's (16 KiB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
/// Bytes read at a time.
const READ_BYTES: usize = 16 * 1024;
/// Requests (and answers) waiting at most.
const QUEUE: usize = 64;

/// The answer to one request: the tag it was asked with, and the body or why not.
pub(crate) type Answer = (usize, Result<Vec<u8>, String>);

/// Handle to the fetcher thread; dropping it stops the thread.
#[derive(Debug)]
pub(crate) struct Fetcher {
    requests: SyncSender<(usize, String)>,
    answers: Receiver<Answer>,
}

impl Fetcher {
    /// Start the thread for `base` (`http://host:port`).
    pub(crate) fn start(base: &str, name: &str) -> std::io::Result<Fetcher> {
        let (requests, inbox) = sync_channel::<(usize, String)>(QUEUE);
        let (outbox, answers) = sync_channel::<Answer>(QUEUE);
        let base = base.to_string();
        std::thread::Builder::new()
            .name(format!("kestrel-snap-{name}"))
            .spawn(move || {
                for (tag, path) in inbox {
                    let answer = get(&base, &path);
                    if outbox.send((tag, answer)).is_err() {
                        return;
                    }
                }
            })?;
        Ok(Fetcher { requests, answers })
    }

    /// Ask for `path` (with its query); false when the queue is full (ask again later).
    pub(crate) fn request(&self, tag: usize, path: String) -> bool {
        self.requests.try_send((tag, path)).is_ok()
    }

    /// An answer, if one is ready.
    pub(crate) fn try_answer(&self) -> Option<Answer> {
        // Empty and disconnected (the thread ended) both mean: nothing to load now.
        self.answers.try_recv().ok()
    }
}

fn get(base: &str, path: &str) -> Result<Vec<u8>, String> {
    let endpoint = Endpoint::parse(base).map_err(|e| format!("{base}: {e}"))?;
    let authority = endpoint.authority();
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let (status, body) = exchange(base, request.as_bytes())?;
    if status == 200 {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
    }
}

/// Send one complete HTTP/1.1 request to `target` (`host:port` for plain HTTP, or an
/// `http://`/`https://` base URL; TLS as in [`crate::net`]) on a new connection and read the
/// answer's status and body, within 15 s in all. The body may be framed by `Content-Length`,
/// by chunks (RFC 9112 §7.1; venues behind CDNs answer so) or by the server closing the
/// connection (§6.3 rule 8). An answer with a head over 16 KiB, or a stated length or chunk
/// size that takes the body over 64 MiB, is refused as soon as that is read. For start-up and
/// off-thread requests only (snapshots, a venue's fees and rules), never a feed thread.
pub fn exchange(target: &str, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
    exchange_within(target, request, DEADLINE)
}

/// [`exchange`], giving up once `limit` has passed since it began.
fn exchange_within(
    target: &str,
    request: &[u8],
    limit: Duration,
) -> Result<(u16, Vec<u8>), String> {
    let deadline = Instant::now() + limit;
    let connect_timeout = TIMEOUT.min(limit);
    let mut stream = if target.starts_with("http://") || target.starts_with("https://") {
        let endpoint = Endpoint::parse(target).map_err(|e| format!("{target}: {e}"))?;
        endpoint.connect(connect_timeout)
    } else {
        let (host, port) = target
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("{target}: expected host:port or an http(s):// URL"))?;
        Conn::connect(host, port, false, connect_timeout)
    }
    .map_err(|e| format!("{target}: {e}"))?;
    stream.write_all(request).map_err(|e| e.to_string())?;
    // One answer per connection: one without framing runs to the close.
    let mut framer = ResponseFramer::with_limits(READ_BYTES, MAX_BODY_BYTES).close_delimited();
    let mut chunk = [0u8; READ_BYTES];
    let mut closed = false;
    loop {
        match framer.take_bytes() {
            Framed::Reply { status, body, .. } => return Ok((status, body)),
            Framed::Invalid => {
                let why = framer
                    .error()
                    .map_or_else(|| "answer not HTTP/1.1".to_owned(), |e| e.to_string());
                return Err(format!("{target}: {why}"));
            }
            Framed::Incomplete if closed => {
                return Err(format!("{target}: connection closed before any answer"));
            }
            Framed::Incomplete => {}
        }
        // Each read may wait only for what is left of the whole exchange's time.
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| format!("{target}: no whole answer within {limit:?}"))?;
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        match stream.read(&mut chunk) {
            Ok(0) => {
                closed = true;
                framer.end_of_stream();
            }
            Ok(n) => framer.push(chunk.get(..n).unwrap_or_default()),
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(format!("{target}: {e}")),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::net::{TcpListener, TcpStream};

    const GET: &[u8] = b"GET /depth HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";

    /// A one-connection server on 127.0.0.1 that reads the request, then runs `answer`;
    /// returns its `host:port`.
    fn serve(answer: impl FnOnce(TcpStream) + Send + 'static) -> String {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr").to_string();
        std::thread::spawn(move || {
            let (mut s, _) = listener.accept().expect("accept");
            let mut request = [0u8; 1024];
            let _ = s.read(&mut request);
            answer(s);
        });
        addr
    }

    /// Writes `head`, then `piece` every `every` until the client hangs up.
    fn stream_forever(head: &'static [u8], piece: &'static [u8], every: Duration) -> String {
        serve(move |mut s| {
            let _ = s.write_all(head);
            while s.write_all(piece).is_ok() {
                std::thread::sleep(every);
            }
        })
    }

    #[test]
    fn a_huge_content_length_is_refused_at_once() {
        // usize::MAX overflowed `head_end + length`; 100 MiB was read while it came.
        let heads: [&'static [u8]; 2] = [
            b"HTTP/1.1 200 OK\r\nContent-Length: 18446744073709551615\r\n\r\n",
            b"HTTP/1.1 200 OK\r\nContent-Length: 104857600\r\n\r\n",
        ];
        for head in heads {
            let target = stream_forever(head, &[b'x'; 64 * 1024], Duration::from_millis(10));
            let started = Instant::now();
            let answer = exchange(&target, GET);
            assert!(
                answer
                    .as_ref()
                    .is_err_and(|e| e.ends_with("answer body over 67108864 bytes")),
                "{answer:?}"
            );
            assert!(started.elapsed() < Duration::from_secs(3));
        }
    }

    #[test]
    fn an_endless_head_is_refused() {
        let target = stream_forever(
            b"HTTP/1.1 200 OK\r\n",
            b"X-Pad: pppppppppppppppp\r\n",
            Duration::from_micros(100),
        );
        let answer = exchange(&target, GET);
        assert!(
            answer.as_ref().is_err_and(|e| e.contains("head over")),
            "{answer:?}"
        );
    }

    #[test]
    fn a_trickled_answer_runs_into_the_deadline() {
        // A byte every 20 ms never trips a per-read timeout; the whole would take 20 s.
        let target = stream_forever(
            b"HTTP/1.1 200 OK\r\nContent-Length: 1000\r\n\r\n",
            b"x",
            Duration::from_millis(20),
        );
        let started = Instant::now();
        let answer = exchange_within(&target, GET, Duration::from_millis(400));
        let took = started.elapsed();
        assert!(answer.is_err(), "{answer:?}");
        assert!(
            took >= Duration::from_millis(400) && took < Duration::from_secs(3),
            "{took:?}"
        );
    }

    /// Writes each of `pieces` as its own write, pausing between them so that they reach the
    /// client in separate reads; then, with `close`, hangs up, else waits for the client to.
    fn serve_pieces(pieces: &'static [&'static [u8]], close: bool) -> String {
        serve(move |mut s| {
            for piece in pieces {
                if s.write_all(piece).and_then(|()| s.flush()).is_err() {
                    return;
                }
                std::thread::sleep(Duration::from_millis(20));
            }
            if !close {
                // The answer's own framing must end it: the connection stays open.
                let _ = s.read(&mut [0u8; 1]);
            }
        })
    }

    #[test]
    fn a_chunked_answer_is_read_whole() {
        // As a venue behind a CDN answers: no Content-Length, chunks split across reads (a
        // size line cut in two, a chunk cut from its CRLF), an extension, a trailer; not
        // UTF-8 throughout, to show the bytes come back as sent.
        let target = serve_pieces(
            &[
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n",
                b"7;name=\"v\"\r\n{\"a\":[1",
                b"\r\n1",
                b"0\r\n,2,3], \"b\":\"\xff\xfe\"}\r\n",
                b"1\r\n\n\r\n0\r\nX-Checksum: 7\r\n",
                b"\r\n",
            ],
            false,
        );
        assert_eq!(
            exchange(&target, GET),
            Ok((200, b"{\"a\":[1,2,3], \"b\":\"\xff\xfe\"}\n".to_vec()))
        );
    }

    #[test]
    fn a_chunk_over_the_cap_is_refused_before_its_data() {
        // 0x4000001 is one byte over 64 MiB. None of its data is sent and the connection stays
        // open: waiting for the data would end at the deadline, with another error.
        let target = serve_pieces(
            &[b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n4000001\r\n"],
            false,
        );
        let answer = exchange(&target, GET);
        assert!(
            answer
                .as_ref()
                .is_err_and(|e| e.ends_with("answer body over 67108864 bytes")),
            "{answer:?}"
        );
        // Across chunks too: the second takes the total one byte over.
        let target = serve(|mut s| {
            let _ =
                s.write_all(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n2000000\r\n");
            let _ = s.write_all(&vec![b'x'; MAX_BODY_BYTES / 2]);
            let _ = s.write_all(b"\r\n2000001\r\n");
            let _ = s.read(&mut [0u8; 1]);
        });
        let answer = exchange(&target, GET);
        assert!(
            answer.as_ref().is_err_and(|e| e.contains("body over")),
            "{answer:?}"
        );
    }

    #[test]
    fn an_answer_without_length_runs_to_the_close() {
        let target = serve_pieces(
            &[
                b"HTTP/1.1 200 OK\r\nContent-Type: application/json\r\n\r\n",
                b"{\"bids\":",
                b"[]}",
            ],
            true,
        );
        assert_eq!(exchange(&target, GET), Ok((200, b"{\"bids\":[]}".to_vec())));
        // A stated length the close cuts short is no answer.
        let target = serve_pieces(
            &[b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", b"{\"a\""],
            true,
        );
        let answer = exchange(&target, GET);
        assert!(
            answer
                .as_ref()
                .is_err_and(|e| e.ends_with("connection closed before the whole answer")),
            "{answer:?}"
        );
    }

    #[test]
    fn a_whole_answer_within_the_limits_is_read() {
        let target = serve(|mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        });
        assert_eq!(exchange(&target, GET), Ok((200, b"hello".to_vec())));
    }
}
