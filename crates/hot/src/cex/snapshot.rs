//! A helper thread that fetches REST snapshots with plain blocking HTTP/1.1 GETs, so the feed
//! thread never waits on one. Requests and answers go through bounded channels.

use std::io::{Read as _, Write as _};
use std::net::{TcpStream, ToSocketAddrs as _};
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
    let authority = base
        .strip_prefix("http://")
        .ok_or_else(|| format!("only http:// snapshot URLs are supported, got {base}"))?
        .trim_end_matches('/');
    let request = format!("GET {path} HTTP/1.1\r\nHost: {authority}\r\nConnection: close\r\n\r\n");
    let (status, body) = exchange(authority, request.as_bytes())?;
    if status == 200 {
        Ok(body)
    } else {
        Err(format!("HTTP {status}: {}", String::from_utf8_lossy(&body)))
    }
}

/// Send one complete HTTP/1.1 request to `authority` (`host:port`) on a new connection and read
/// the answer's status and `Content-Length` body, blocking up to 5 s per read. For start-up and
/// off-thread requests only (snapshots, a venue's fees and rules), never a feed thread.
pub fn exchange(authority: &str, request: &[u8]) -> Result<(u16, Vec<u8>), String> {
    let addr = authority
        .to_socket_addrs()
        .map_err(|e| format!("resolving {authority}: {e}"))?
        .next()
        .ok_or_else(|| format!("{authority} does not resolve"))?;
    let mut stream = TcpStream::connect_timeout(&addr, TIMEOUT).map_err(|e| e.to_string())?;
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
