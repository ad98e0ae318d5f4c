//! A helper thread that fetches REST snapshots with blocking HTTP/1.1 GETs (http or https), so the feed
//! thread never waits on one. Requests and answers go through bounded channels.

use std::io::{Read as _, Write as _};

use crate::net::{Conn, Endpoint};
use std::sync::mpsc::{Receiver, SyncSender, sync_channel};
use std::time::Duration;

/// How long one snapshot request may take.
const TIMEOUT: Duration = Duration::from_secs(5);
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
/// answer's status and `Content-Length` body, blocking up to 5 s per read. For start-up and
/// off-thread requests only (snapshots, a venue's fees and rules), never a feed thread.
pub fn exchange(target: &str, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let mut stream = if target.starts_with("http://") || target.starts_with("https://") {
        let endpoint = Endpoint::parse(target).map_err(|e| format!("{target}: {e}"))?;
        endpoint.connect(TIMEOUT)
    } else {
        let (host, port) = target
            .rsplit_once(':')
            .and_then(|(h, p)| Some((h, p.parse::<u16>().ok()?)))
            .ok_or_else(|| format!("{target}: expected host:port or an http(s):// URL"))?;
        Conn::connect(host, port, false, TIMEOUT)
    }
    .map_err(|e| format!("{target}: {e}"))?;
    stream
        .set_read_timeout(Some(TIMEOUT))
        .map_err(|e| e.to_string())?;
    stream.write_all(request).map_err(|e| e.to_string())?;
    let mut response = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(answer) = complete(&response) {
            return answer;
        }
        let n = stream.read(&mut chunk).map_err(|e| e.to_string())?;
        if n == 0 {
            return Err("connection closed before the whole answer".into());
        }
        response.extend_from_slice(chunk.get(..n).unwrap_or_default());
    }
}

/// The status and body once the response holds all `Content-Length` bytes of it.
fn complete(response: &[u8]) -> Option<Result<(u16, Vec<u8>), String>> {
    let head_end = response.windows(4).position(|w| w == b"\r\n\r\n")? + 4;
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
    let body = response.get(head_end..head_end + length)?;
    Some(Ok((status, body.to_vec())))
}
