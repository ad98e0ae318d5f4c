//! A helper thread that fetches REST snapshots with blocking HTTP/1.1 GETs (http or https), so the feed
//! thread never waits on one. Requests and answers go through bounded channels.

use std::io::{Read as _, Write as _};

use crate::net::{Conn, Endpoint};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::{Duration, Instant};

/// How long connecting may take.
const TIMEOUT: Duration = Duration::from_secs(5);
/// How long one whole exchange may take, connecting included: a peer that trickles its
/// answer cannot hold the thread longer.
const DEADLINE: Duration = Duration::from_secs(15);
/// Largest answer head accepted.
const MAX_HEAD_BYTES: usize = 64 * 1024;
/// Largest answer body accepted (a whole order book as JSON is a few MiB).
const MAX_BODY_BYTES: usize = 64 * 1024 * 1024;
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
/// answer's status and `Content-Length` body, within 15 s in all. An answer with a head over
/// 64 KiB or a body over 64 MiB is refused unread. For start-up and off-thread requests only
/// (snapshots, a venue's fees and rules), never a feed thread.
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
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(answer) = complete(&response) {
            return answer;
        }
        // Each read may wait only for what is left of the whole exchange's time.
        let left = deadline
            .checked_duration_since(Instant::now())
            .filter(|left| !left.is_zero())
            .ok_or_else(|| format!("{target}: no whole answer within {limit:?}"))?;
        stream
            .set_read_timeout(Some(left))
            .map_err(|e| e.to_string())?;
        let n = stream
            .read(&mut chunk)
            .map_err(|e| format!("{target}: {e}"))?;
        if n == 0 {
            return Err("connection closed before the whole answer".into());
        }
        response.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// The status and body once the response holds all `Content-Length` bytes of it; an error as
/// soon as the head or the length it states is over its limit.
fn complete(response: &[u8]) -> Option<Result<(u16, Vec<u8>), String>> {
    // Only the first `MAX_HEAD_BYTES` (and the blank line) may hold the head.
    let window = response.get(..MAX_HEAD_BYTES + 4).unwrap_or(response);
    let Some(blank) = window.windows(4).position(|w| w == b"\r\n\r\n") else {
        return (window.len() == MAX_HEAD_BYTES + 4)
            .then(|| Err(format!("answer head over {MAX_HEAD_BYTES} bytes")));
    };
    let head_end = blank + 4;
    let head = String::from_utf8_lossy(response.get(..head_end)?);
    let Some(status) = head.split(' ').nth(1).and_then(|s| s.parse::<u16>().ok()) else {
        return Some(Err("no status in the answer".into()));
    };
    let Some(length) = head
        .lines()
        .filter_map(|l| l.split_once(':'))
        .find(|(n, _)| n.trim().eq_ignore_ascii_case("content-length"))
        .and_then(|(_, v)| v.trim().parse::<usize>().ok())
    else {
        return Some(Err("answer without Content-Length".into()));
    };
    if length > MAX_BODY_BYTES {
        return Some(Err(format!(
            "answer body of {length} bytes, over {MAX_BODY_BYTES}"
        )));
    }
    // No overflow: the head is at most `MAX_HEAD_BYTES + 4` and the length at most
    // `MAX_BODY_BYTES`.
    let body = response.get(head_end..head_end + length)?;
    Some(Ok((status, body.to_vec())))
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
                answer.as_ref().is_err_and(|e| e.contains("over")),
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

    #[test]
    fn a_whole_answer_within_the_limits_is_read() {
        let target = serve(|mut s| {
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 5\r\n\r\nhello");
        });
        assert_eq!(exchange(&target, GET), Ok((200, b"hello".to_vec())));
    }
}
