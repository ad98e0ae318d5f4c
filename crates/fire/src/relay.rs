//! Warm keep-alive HTTP/1.1 connections to relays.
//!
//! The hot thread owns one [`RelayConn`] per relay and writes each request with a pre-built
//! head prefix; nothing on the write path parses, formats with `format!`, or allocates. Replies
//! are read by one reader thread per connection and handed back as [`RelayReply`] on a bounded
//! `std::sync::mpsc::sync_channel`; when it is full the reply is dropped and counted
//! ([`RelayConn::dropped_replies`]) rather than stalling the reader.
//!
//! The hot thread never connects: each connection's one background thread reads the answers
//! and, when the stream ends (an idle close, a relay restart), dials the next one (TCP and, over
//! https, the TLS handshake) and leaves it in a one-slot queue for the next request to take.
//!
//! HTTP/1.1 answers a keep-alive connection's requests in order, so each connection keeps a
//! lock-free FIFO of its requests' tags ([`RelayConn::send_tagged`], e.g. the victim's hash):
//! the writer pushes a tag before it writes, the reader pops one per answer and hands it back
//! in [`RelayReply::tag`]. Requests still unanswered when their connection ends come back as
//! replies with status 0 and the tag, so every tagged request gets exactly one reply.
//!
//! An `https://` relay gets the same connection over TLS 1.3 ([`crate::tls`]): the handshake at
//! connect, then the hot thread seals each request into records in a buffer reserved at connect
//! (no allocation, no lock) and the reader thread opens the answers.
//!
//! [`ResponseFramer`] is the one HTTP/1.1 response parser of the project's clients: the relay
//! readers, the exchange lane's TLS order connections and the start-up REST client
//! (`kestrel_hot::cex::exchange`, with a larger body cap and close-delimited answers) all frame
//! with it.

use std::{
    fmt,
    io::{self, IoSlice, Read, Write},
    net::{Shutdown, SocketAddr, TcpStream, ToSocketAddrs},
    sync::{
        Arc, Mutex,
        atomic::{AtomicBool, AtomicU64, Ordering},
        mpsc::{SyncSender, TrySendError},
    },
    thread,
    time::Duration,
};

use alloy_primitives::B256;
use crossbeam::queue::ArrayQueue;

use crate::tls::{TlsReader, TlsWriter, client_handshake};
use crate::{FireError, hexfmt::push_u64_dec};

/// Most requests one connection may have unanswered; past it the connection is closed (the
/// peer is that far behind) and the next request reconnects.
pub const MAX_IN_FLIGHT: usize = 1024;
/// How long dropping a connection waits for the answers still owed on it.
const DROP_GRACE: Duration = Duration::from_millis(500);

/// The tags of one stream's requests not answered yet, oldest first.
type InFlight = Arc<ArrayQueue<Option<B256>>>;

/// How long a (re)connect may block.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(2);
/// How long a TLS handshake may take after the connect (each read and write of it).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Request plaintext an https connection seals without allocating: a bundle of the largest
/// transactions a node's pool accepts (128 KiB each, hex-encoded) and its head, within the
/// Flashbots relay's 300,000-byte bundle limit.
const TLS_RESERVE: usize = 320 * 1024;
/// Largest response head the reader accepts before calling the stream broken.
const MAX_HEAD_BYTES: usize = 16 * 1024;
/// Largest response body the reader accepts.
const MAX_BODY_BYTES: usize = 4 * 1024 * 1024;
/// Longest chunk-size line, and longest trailer section, of a chunked body.
const MAX_LINE_BYTES: usize = 8 * 1024;
// The framing errors name this cap in their text.
const _: () = assert!(MAX_LINE_BYTES == 8192);

/// One HTTP response from a relay.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct RelayReply {
    /// The `index` the connection was opened with.
    pub relay: usize,
    /// HTTP status code.
    pub status: u16,
    /// The response body (UTF-8, lossily decoded).
    pub body: String,
    /// What the response's headers say about rate limits.
    pub limits: ReplyLimits,
    /// The tag the answered request was sent with ([`RelayConn::send_tagged`]); `None` for an
    /// untagged request. With status 0 the request got no answer: its connection ended first
    /// (`body` says how).
    pub tag: Option<B256>,
}

/// Rate-limit facts a response's headers state; each `None` where its header is absent or
/// unreadable.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Hash)]
pub struct ReplyLimits {
    /// `Retry-After` in seconds, as sent with a 429 or 418 (only the delta-seconds form is
    /// read; an HTTP date is left as `None`).
    pub retry_after_s: Option<u32>,
    /// Binance's `X-MBX-USED-WEIGHT-1M`: the request weight the IP has used in the current
    /// minute, this request included.
    pub used_weight_1m: Option<u32>,
    /// Bybit's `X-Bapi-Limit-Status`: the requests left to this UID on this endpoint in the
    /// current window, this request counted.
    pub bapi_limit_status: Option<u32>,
    /// Bybit's `X-Bapi-Limit`: the endpoint's limit per window.
    pub bapi_limit: Option<u32>,
    /// Bybit's `X-Bapi-Limit-Reset-Timestamp` (Unix ms): when the window resets once the limit
    /// is used up; otherwise about the venue's current time.
    pub bapi_limit_reset_ms: Option<u64>,
    /// Binance's `X-MBX-ORDER-COUNT-<n><S|M|H|D>` on an order's answer (its "unfilled order
    /// count" per window, e.g. `-10S` and `-1D`), the first two read, in the order sent.
    pub order_counts: [Option<OrderCount>; 2],
}

/// One of Binance's order counts: the account's unfilled orders in the current window of
/// `window_ms` (windows aligned to the Unix epoch: 10 seconds, a UTC day), this order counted.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct OrderCount {
    /// The window's length, ms.
    pub window_ms: u64,
    /// Orders counted in the current window.
    pub count: u32,
}

/// `name` without `prefix`, matched in any case.
fn strip_prefix_ignore_case<'a>(name: &'a str, prefix: &str) -> Option<&'a str> {
    let head = name.get(..prefix.len())?;
    head.eq_ignore_ascii_case(prefix)
        .then(|| name.get(prefix.len()..))
        .flatten()
}

/// A Binance interval suffix (`10S`, `1M`, `1H`, `1D`) in ms. Anything else, a suffix that
/// ends in a multi-byte character included, is `None` (never a panic: header names come from
/// the venue, or from whatever stands in front of it).
fn interval_ms(suffix: &str) -> Option<u64> {
    let split = suffix.len().checked_sub(1)?;
    let (n, unit) = suffix.split_at_checked(split)?;
    let n: u64 = n.parse().ok().filter(|&n| n > 0)?;
    let unit_ms = match unit {
        "S" | "s" => 1_000,
        "M" | "m" => 60_000,
        "H" | "h" => 3_600_000,
        "D" | "d" => 86_400_000,
        _ => return None,
    };
    n.checked_mul(unit_ms)
}

impl ReplyLimits {
    /// Reads one response header into the field it states, if it is one of them; a value that
    /// is not a number leaves the field `None` (not guessed).
    fn read_header(&mut self, name: &str, value: &str) {
        if name.eq_ignore_ascii_case("retry-after") {
            self.retry_after_s = value.parse().ok();
        } else if name.eq_ignore_ascii_case("x-mbx-used-weight-1m") {
            self.used_weight_1m = value.parse().ok();
        } else if name.eq_ignore_ascii_case("x-bapi-limit-status") {
            self.bapi_limit_status = value.parse().ok();
        } else if name.eq_ignore_ascii_case("x-bapi-limit") {
            self.bapi_limit = value.parse().ok();
        } else if name.eq_ignore_ascii_case("x-bapi-limit-reset-timestamp") {
            self.bapi_limit_reset_ms = value.parse().ok();
        } else if let Some(suffix) = strip_prefix_ignore_case(name, "x-mbx-order-count-") {
            let read = interval_ms(suffix).zip(value.parse().ok());
            if let (Some((window_ms, count)), Some(slot)) =
                (read, self.order_counts.iter_mut().find(|c| c.is_none()))
            {
                *slot = Some(OrderCount { window_ms, count });
            }
        }
    }
}

/// A warm connection to one relay, owned by the hot thread.
///
/// The owner only ever writes: the connection's one background thread reads the answers and,
/// when the stream ends (the relay closed an idle connection, restarted, or the owner closed
/// it), dials a new one at once (TCP connect, and the TLS handshake over https) and leaves it
/// in a one-slot queue. The next request takes it from there, lock-free; none ever connects on
/// the owner's thread. While no stream is ready a request fails at once with
/// [`FireError::NotConnected`] (nothing was written), and the thread keeps dialing with a
/// backoff (10 ms doubling to 5 s, from zero again after a stream that lasted a second).
pub struct RelayConn {
    index: usize,
    addr: SocketAddr,
    /// Over https.
    tls: bool,
    /// The stream requests are written on now.
    out: Outbound,
    /// The request head: the fixed prefix, then per request the auth value and Content-Length.
    head: Vec<u8>,
    prefix_len: usize,
    /// Shared with the background thread: the spare stream, old streams to close, counters.
    link: Arc<Link>,
    reconnects: u64,
}

/// The writing half of one stream.
struct Outbound {
    stream: TcpStream,
    /// The sealing half of the TLS session, over https.
    tls: Option<TlsWriter>,
    /// Cleared by the reader when the peer closes or the stream breaks.
    open: Arc<AtomicBool>,
    /// Tags of the requests written on this stream and not answered yet, oldest first.
    in_flight: InFlight,
}

/// The reading half of one stream.
struct Inbound {
    stream: TcpStream,
    tls: Option<TlsReader>,
    open: Arc<AtomicBool>,
    in_flight: InFlight,
}

/// What the owner and the background thread share.
struct Link {
    /// A stream dialed after the last one ended, for the owner's next request.
    spare: ArrayQueue<Outbound>,
    /// Streams the owner swapped out: closed (and their TLS buffers freed) by the background
    /// thread, so that the owner's thread never frees or closes anything.
    retired: ArrayQueue<Outbound>,
    /// Set when the owner drops the connection: the thread stops dialing and ends (a TCP
    /// connect in progress is not cut short: up to `CONNECT_TIMEOUT` against a silent peer).
    shutdown: AtomicBool,
    /// Replies dropped because the reply channel was full.
    dropped: AtomicU64,
    /// Dials (connect or handshake) that failed since `connect`.
    dial_failures: AtomicU64,
    /// The socket the background thread is handshaking on, for the owner's drop to cut short.
    dialing: Mutex<Option<TcpStream>>,
}

impl Link {
    fn retire(&self, out: Outbound) {
        // A full queue (the thread is busy dialing): closing it here is the rare fallback.
        let _ = self.retired.push(out);
    }

    fn close_retired(&self) {
        while let Some(out) = self.retired.pop() {
            let _ = out.stream.shutdown(Shutdown::Both);
        }
    }
}

/// First wait before dialing again after a failed dial or a short-lived stream.
const REDIAL_MIN: Duration = Duration::from_millis(10);
/// Longest wait between dials.
const REDIAL_MAX: Duration = Duration::from_secs(5);
/// A stream that lasted this long ended normally (an idle close): the next dial is at once.
const REDIAL_HEALTHY: Duration = Duration::from_secs(1);

impl fmt::Debug for RelayConn {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RelayConn")
            .field("index", &self.index)
            .field("addr", &self.addr)
            .field("open", &self.is_open())
            .field("reconnects", &self.reconnects)
            .finish_non_exhaustive()
    }
}

impl RelayConn {
    /// Connects to an `http://` or `https://host[:port][/path]` relay with `TCP_NODELAY` (and a
    /// TLS 1.3 handshake over https), pre-builds the request head prefix, and starts the
    /// connection's background thread, which sends replies on `replies` and redials when the
    /// stream ends. The host is resolved once, here.
    pub fn connect(
        index: usize,
        url: &str,
        replies: SyncSender<RelayReply>,
    ) -> Result<RelayConn, FireError> {
        let target = parse_url(url)?;
        let addr = (target.host.as_str(), target.port)
            .to_socket_addrs()?
            .next()
            .ok_or(FireError::BadUrl("host does not resolve"))?;
        let prefix = format!(
            "POST {} HTTP/1.1\r\nHost: {}\r\nContent-Type: application/json\r\nConnection: keep-alive\r\nX-Flashbots-Signature: ",
            target.path, target.authority
        );
        // Room for the auth value and the Content-Length line, so `send` never grows it.
        let mut head = Vec::with_capacity(prefix.len() + 256);
        head.extend_from_slice(prefix.as_bytes());
        let tls_host = target.tls.then(|| target.host.clone());
        let (out, inbound) = open_stream(addr, tls_host.as_deref(), None)?;
        let link = Arc::new(Link {
            spare: ArrayQueue::new(1),
            retired: ArrayQueue::new(4),
            shutdown: AtomicBool::new(false),
            dropped: AtomicU64::new(0),
            dial_failures: AtomicU64::new(0),
            dialing: Mutex::new(None),
        });
        let ctx = ReaderCtx {
            index,
            addr,
            tls_host,
            replies,
            link: Arc::clone(&link),
        };
        thread::Builder::new()
            .name(format!("relay-{index}-reader"))
            .spawn(move || ctx.run(inbound))?;
        Ok(RelayConn {
            index,
            addr,
            tls: target.tls,
            out,
            prefix_len: prefix.len(),
            head,
            link,
            reconnects: 0,
        })
    }

    /// Writes the request head prefix, `auth_header`, `Content-Length`, and `body`.
    ///
    /// If the reader has seen the connection close, takes the stream the background thread
    /// dialed since ([`FireError::NotConnected`] if there is none yet); a write that fails
    /// closes the stream and returns the error. Never connects, never allocates.
    pub fn send(&mut self, auth_header: &str, body: &[u8]) -> Result<(), FireError> {
        self.send_with(None, auth_header, body)
    }

    /// [`RelayConn::send`], with `tag` handed back on the reply that answers this request (or
    /// on a status-0 reply if its connection ends first). A write that fails returns the error
    /// and may still get a status-0 reply for its tag (when the stream's reader had not yet
    /// handed back what was owed).
    pub fn send_tagged(
        &mut self,
        tag: B256,
        auth_header: &str,
        body: &[u8],
    ) -> Result<(), FireError> {
        self.send_with(Some(tag), auth_header, body)
    }

    fn send_with(
        &mut self,
        tag: Option<B256>,
        auth_header: &str,
        body: &[u8],
    ) -> Result<(), FireError> {
        if !self.is_open() {
            self.take_spare()?;
        }
        let written = self
            .track(tag)
            .and_then(|()| self.write_request(auth_header, body));
        if written.is_err() {
            // A stream that failed a write carries nothing more: its reader hands back what was
            // owed on it, and the background thread dials its successor. Not written again
            // here: that successor is not dialed yet when a write fails on a stream the reader
            // still believed open.
            self.close();
        }
        written.map_err(FireError::from)
    }

    /// Swaps in the stream the background thread dialed; the old one goes back to that thread
    /// to be closed. A spare that has itself ended since is passed over.
    fn take_spare(&mut self) -> Result<(), FireError> {
        while let Some(spare) = self.link.spare.pop() {
            if !spare.open.load(Ordering::Acquire) {
                self.link.retire(spare);
                continue;
            }
            let old = std::mem::replace(&mut self.out, spare);
            self.link.retire(old);
            self.reconnects += 1;
            return Ok(());
        }
        Err(FireError::NotConnected)
    }

    /// Queues `tag` for the next answer, before the request is written (the answer may be read
    /// before the write returns). A full queue means the peer owes [`MAX_IN_FLIGHT`] answers:
    /// the connection is closed (its reader hands back every queued tag unanswered) and the
    /// error makes the caller reconnect.
    fn track(&mut self, tag: Option<B256>) -> io::Result<()> {
        if self.out.in_flight.push(tag).is_err() {
            self.close();
            // A kind, not a message: building the error allocates nothing.
            return Err(io::ErrorKind::WouldBlock.into());
        }
        Ok(())
    }

    /// Writes one complete, pre-built request (an exchange order: head, auth and body already
    /// in `request`). Takes the stream dialed since if the reader has seen the connection close
    /// ([`FireError::NotConnected`], nothing written, if there is none yet), but never writes
    /// twice: after a failed write the venue may or may not have the order, so the error goes
    /// back to the caller, who asks the venue before trying again.
    pub fn send_request(&mut self, request: &[u8]) -> Result<(), FireError> {
        if !self.is_open() {
            self.take_spare()?;
        }
        self.track(None)?;
        let out = &mut self.out;
        let written = match out.tls.as_mut() {
            Some(tls) => tls
                .seal(&[request])
                .and_then(|sealed| write_all(&mut out.stream, sealed)),
            None => write_all(&mut out.stream, request),
        };
        if written.is_err() {
            // A session that failed to seal or broke mid-write must not carry the next order:
            // close it (its reader hands back what was owed) so the next request takes a new
            // stream.
            self.close();
        }
        written.map_err(FireError::from)
    }

    /// Whether requests go over TLS.
    pub fn is_tls(&self) -> bool {
        self.tls
    }

    /// Shut the current stream down (an answer owed on it is taken for lost): its reader
    /// delivers whatever it has already framed, [`RelayConn::is_open`] turns false, and the
    /// next request takes the stream the background thread dials next (or one already waiting,
    /// if the current stream had ended before).
    pub fn close(&mut self) {
        // An error means the socket is already gone, which is what is wanted.
        let _ = self.out.stream.shutdown(Shutdown::Both);
    }

    /// Streams swapped in since `connect` (each dialed by the background thread).
    pub fn reconnects(&self) -> u64 {
        self.reconnects
    }

    /// Whether the stream requests are written on is believed usable (its reader has not seen
    /// it close or break).
    pub fn is_open(&self) -> bool {
        self.out.open.load(Ordering::Acquire)
    }

    /// Whether a request now would be written: the stream is open, or a new one is dialed and
    /// waiting. False while the background thread is still dialing.
    pub fn is_ready(&self) -> bool {
        self.is_open() || !self.link.spare.is_empty()
    }

    /// Dials (connect or TLS handshake) that failed since `connect`.
    pub fn dial_failures(&self) -> u64 {
        self.link.dial_failures.load(Ordering::Relaxed)
    }

    /// Replies dropped because the reply channel was full.
    pub fn dropped_replies(&self) -> u64 {
        self.link.dropped.load(Ordering::Relaxed)
    }

    /// The resolved relay address.
    pub fn peer(&self) -> SocketAddr {
        self.addr
    }

    fn write_request(&mut self, auth_header: &str, body: &[u8]) -> io::Result<()> {
        self.head.truncate(self.prefix_len);
        self.head.extend_from_slice(auth_header.as_bytes());
        self.head.extend_from_slice(b"\r\nContent-Length: ");
        push_u64_dec(&mut self.head, body.len() as u64);
        self.head.extend_from_slice(b"\r\n\r\n");
        let out = &mut self.out;
        if let Some(tls) = out.tls.as_mut() {
            let sealed = tls.seal(&[&self.head, body])?;
            return write_all(&mut out.stream, sealed);
        }
        let mut bufs = [IoSlice::new(&self.head), IoSlice::new(body)];
        let mut pending: &mut [IoSlice<'_>] = &mut bufs;
        while !pending.is_empty() {
            match out.stream.write_vectored(pending) {
                Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
                Ok(n) => IoSlice::advance_slices(&mut pending, n),
                Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
                Err(e) => return Err(e),
            }
        }
        Ok(())
    }
}

impl Drop for RelayConn {
    fn drop(&mut self) {
        // Answers still owed get a moment to arrive, so that they are read rather than
        // handed back as lost.
        let deadline = std::time::Instant::now() + DROP_GRACE;
        while !self.out.in_flight.is_empty()
            && self.is_open()
            && std::time::Instant::now() < deadline
        {
            thread::sleep(Duration::from_millis(1));
        }
        // The background thread ends at the end of the stream it reads (the current one, or a
        // spare): it sees the flag before it would publish another, or the spare it published
        // is taken and shut down here (the fences order the flag against the queue).
        self.link.shutdown.store(true, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        if let Some(spare) = self.link.spare.pop() {
            let _ = spare.stream.shutdown(Shutdown::Both);
        }
        // A handshake in progress would hold the thread (and its reply sender) for up to
        // HANDSHAKE_TIMEOUT: it is cut short.
        if let Ok(dialing) = self.link.dialing.lock()
            && let Some(socket) = dialing.as_ref()
        {
            let _ = socket.shutdown(Shutdown::Both);
        }
        // Errors mean the socket is already gone.
        let _ = self.out.stream.shutdown(Shutdown::Both);
    }
}

/// Writes all of `bytes` to a blocking stream.
fn write_all(stream: &mut TcpStream, bytes: &[u8]) -> io::Result<()> {
    let mut written = 0;
    while written < bytes.len() {
        match stream.write(bytes.get(written..).unwrap_or_default()) {
            Ok(0) => return Err(io::ErrorKind::WriteZero.into()),
            Ok(n) => written += n,
            Err(e) if e.kind() == io::ErrorKind::Interrupted => {}
            Err(e) => return Err(e),
        }
    }
    Ok(())
}

/// Connects, sets `TCP_NODELAY`, and runs the TLS handshake for `tls_host` if given: the
/// stream's two halves. With `link`, the socket is left there during the handshake (for the
/// owner's drop to shut down) and the dial gives up if the owner is already gone.
fn open_stream(
    addr: SocketAddr,
    tls_host: Option<&str>,
    link: Option<&Link>,
) -> Result<(Outbound, Inbound), FireError> {
    let mut stream = TcpStream::connect_timeout(&addr, CONNECT_TIMEOUT)?;
    stream.set_nodelay(true)?;
    let (writer, tls_reader) = match tls_host {
        Some(host) => {
            stream.set_read_timeout(Some(HANDSHAKE_TIMEOUT))?;
            stream.set_write_timeout(Some(HANDSHAKE_TIMEOUT))?;
            if let Some(link) = link {
                if let Ok(mut dialing) = link.dialing.lock() {
                    *dialing = stream.try_clone().ok();
                }
                // Checked after the socket is left where the drop looks for it.
                if link.shutdown.load(Ordering::SeqCst) {
                    return Err(FireError::NotConnected);
                }
            }
            let handshake = client_handshake(&mut stream, host, TLS_RESERVE);
            if let Some(Ok(mut dialing)) = link.map(|l| l.dialing.lock()) {
                *dialing = None;
            }
            let (w, r) = handshake?;
            stream.set_read_timeout(None)?;
            stream.set_write_timeout(None)?;
            (Some(w), Some(r))
        }
        None => (None, None),
    };
    let reader = stream.try_clone()?;
    let open = Arc::new(AtomicBool::new(true));
    let in_flight = Arc::new(ArrayQueue::new(MAX_IN_FLIGHT));
    let out = Outbound {
        stream,
        tls: writer,
        open: Arc::clone(&open),
        in_flight: Arc::clone(&in_flight),
    };
    let inbound = Inbound {
        stream: reader,
        tls: tls_reader,
        open,
        in_flight,
    };
    Ok((out, inbound))
}

/// What the background thread needs: where to dial, where replies go, what it shares.
struct ReaderCtx {
    index: usize,
    addr: SocketAddr,
    tls_host: Option<String>,
    replies: SyncSender<RelayReply>,
    link: Arc<Link>,
}

impl ReaderCtx {
    /// Reads each stream to its end, then dials its successor and leaves it for the owner,
    /// until the owner drops the connection.
    fn run(self, first: Inbound) {
        let mut inbound = first;
        let mut backoff = Duration::ZERO;
        loop {
            let began = std::time::Instant::now();
            let (open, in_flight) = (Arc::clone(&inbound.open), Arc::clone(&inbound.in_flight));
            // A panic while reading (a framing or TLS bug) ends this stream, not the relay.
            let read =
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| self.read(inbound)));
            if read.is_err() {
                self.ended(&open, &in_flight);
            }
            // The stream just read may still wait in the slot, unused and now closed: taken out,
            // so that `is_ready` is false until its successor is dialed.
            if let Some(dead) = self.link.spare.pop() {
                let _ = dead.stream.shutdown(Shutdown::Both);
            }
            self.link.close_retired();
            if began.elapsed() >= REDIAL_HEALTHY {
                backoff = Duration::ZERO;
            }
            let Some((out, next)) = self.redial(&mut backoff) else {
                break;
            };
            // Backs off after a stream that ends at once (a peer that accepts and closes).
            backoff = next_backoff(backoff);
            if let Some(stale) = self.link.spare.force_push(out) {
                let _ = stale.stream.shutdown(Shutdown::Both);
            }
            std::sync::atomic::fence(Ordering::SeqCst);
            if self.link.shutdown.load(Ordering::SeqCst) {
                // The owner is gone (or going): what it may not have taken is closed here.
                if let Some(spare) = self.link.spare.pop() {
                    let _ = spare.stream.shutdown(Shutdown::Both);
                }
                break;
            }
            inbound = next;
        }
        self.link.close_retired();
    }

    /// Dials until a stream is up, waiting `backoff` first and longer after each failure;
    /// `None` once the owner has dropped the connection.
    fn redial(&self, backoff: &mut Duration) -> Option<(Outbound, Inbound)> {
        loop {
            let until = std::time::Instant::now() + *backoff;
            while std::time::Instant::now() < until {
                if self.link.shutdown.load(Ordering::SeqCst) {
                    return None;
                }
                thread::sleep(Duration::from_millis(5).min(*backoff));
            }
            if self.link.shutdown.load(Ordering::SeqCst) {
                return None;
            }
            match open_stream(self.addr, self.tls_host.as_deref(), Some(&self.link)) {
                Ok(halves) => return Some(halves),
                Err(_) => {
                    self.link.dial_failures.fetch_add(1, Ordering::Relaxed);
                    *backoff = next_backoff(*backoff);
                }
            }
        }
    }

    /// Reads responses until the peer closes or the stream breaks, then marks it closed and
    /// hands back every request still owed an answer.
    fn read(&self, inbound: Inbound) {
        let Inbound {
            mut stream,
            mut tls,
            open,
            in_flight,
        } = inbound;
        let mut framer = ResponseFramer::with_capacity(8 * 1024);
        let mut chunk = [0u8; 4096];
        // Records the handshake read past come first.
        let mut n = 0;
        loop {
            let received = chunk.get(..n).unwrap_or_default();
            let fed = match tls.as_mut() {
                Some(t) => t.feed(received, &mut |plain| framer.push(plain)),
                None => {
                    framer.push(received);
                    Ok(())
                }
            };
            // A TLS stream that ended (close_notify, an alert, a broken record) carries nothing
            // more: what was framed before it is still delivered.
            let valid = self.drain(&mut framer, &in_flight);
            if fed.is_err() || !valid {
                // A response we cannot frame leaves the stream unusable: drop it.
                let _ = stream.shutdown(Shutdown::Both);
                break;
            }
            n = match stream.read(&mut chunk) {
                Ok(0) => break,
                Ok(n) => n,
                Err(e) if e.kind() == io::ErrorKind::Interrupted => 0,
                Err(_) => break,
            };
        }
        let _ = stream.shutdown(Shutdown::Both);
        self.ended(&open, &in_flight);
    }

    /// Marks a stream closed and hands back, as status 0, every tagged request still owed an
    /// answer on it.
    fn ended(&self, open: &AtomicBool, in_flight: &InFlight) {
        open.store(false, Ordering::Release);
        // The writer pushes no more on this stream once it sees it closed (it takes a new
        // stream with a new queue); what it pushed before is owed no answer now. A push that
        // races this (the writer saw the stream open just before) meets a shut-down socket:
        // its write fails, and the caller is told.
        while let Some(tag) = in_flight.pop() {
            if tag.is_some() {
                self.deliver(RelayReply {
                    relay: self.index,
                    status: 0,
                    body: "the connection closed before the answer".to_owned(),
                    limits: ReplyLimits::default(),
                    tag,
                });
            }
        }
    }

    fn deliver(&self, reply: RelayReply) {
        if let Err(TrySendError::Full(_) | TrySendError::Disconnected(_)) =
            self.replies.try_send(reply)
        {
            self.link.dropped.fetch_add(1, Ordering::Relaxed);
        }
    }

    /// Delivers every complete response framed so far; false if the stream is not valid HTTP.
    fn drain(&self, framer: &mut ResponseFramer, in_flight: &InFlight) -> bool {
        loop {
            match framer.take() {
                Framed::Incomplete => return true,
                Framed::Invalid => return false,
                Framed::Reply {
                    status,
                    body,
                    limits,
                } => self.deliver(RelayReply {
                    relay: self.index,
                    status,
                    body,
                    limits,
                    // A request the writer had not queued yet cannot be answered: an empty
                    // queue means an answer nobody asked for.
                    tag: in_flight.pop().flatten(),
                }),
            }
        }
    }
}

/// The wait after `backoff`: doubled, at least [`REDIAL_MIN`], at most [`REDIAL_MAX`].
fn next_backoff(backoff: Duration) -> Duration {
    (backoff * 2).clamp(REDIAL_MIN, REDIAL_MAX)
}

/// What [`ResponseFramer::take`] found at the front of a buffer. The body is a `String` from
/// [`ResponseFramer::take`] and the bytes as received from [`ResponseFramer::take_bytes`].
#[derive(Debug, PartialEq, Eq)]
pub enum Framed<B = String> {
    /// More bytes are needed.
    Incomplete,
    /// Not a response that can be framed: the stream is unusable ([`ResponseFramer::error`]
    /// says why).
    Invalid,
    /// One whole response, removed from the buffer.
    Reply {
        /// HTTP status.
        status: u16,
        /// Body: lossily decoded UTF-8 from [`ResponseFramer::take`], the bytes as received
        /// from [`ResponseFramer::take_bytes`].
        body: B,
        /// What its headers say about rate limits.
        limits: ReplyLimits,
    },
}

/// Why a stream could not be framed ([`Framed::Invalid`]).
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum FramingError {
    /// No blank line ended the head within the cap.
    #[error("answer head over {max_bytes} bytes")]
    HeadTooLong {
        /// The cap.
        max_bytes: usize,
    },
    /// The status line or a header line is not HTTP/1.x.
    #[error("answer is not an HTTP/1.x response")]
    NotHttp,
    /// `Content-Length` is not a number.
    #[error("answer with an unreadable Content-Length")]
    BadContentLength,
    /// Neither `Content-Length` nor chunked framing, on a stream where the close does not
    /// delimit the body (see [`ResponseFramer::close_delimited`]).
    #[error("answer with neither Content-Length nor chunked framing")]
    NoLength,
    /// The body, as stated or as read so far, is over the cap.
    #[error("answer body over {max_bytes} bytes")]
    BodyTooLarge {
        /// The cap.
        max_bytes: usize,
    },
    /// The chunked encoding is malformed or past one of its caps.
    #[error("bad chunked body: {0}")]
    BadChunk(&'static str),
    /// The peer closed the connection inside a response whose end it does not delimit.
    #[error("connection closed before the whole answer")]
    Truncated,
}

/// Frames the HTTP/1.1 responses of one connection as its bytes arrive, resuming where the
/// last call stopped: the head is searched, and each chunk-size line, chunk and trailer read,
/// once, however the bytes are split. (Framing from the start on every read costs time
/// quadratic in a body's chunks, which a slow or hostile peer sending tiny chunks picks.)
///
/// It owns the connection's receive buffer, so its saved positions always refer to the bytes
/// they were taken in. Every cap (head, line, trailer, body, encoded body) applies, and a
/// stated `Content-Length` or chunk size over the body cap is refused as soon as it is read.
pub struct ResponseFramer {
    buf: Vec<u8>,
    state: FrameState,
    rules: FrameRules,
    /// The peer has closed: no more bytes will come.
    ended: bool,
    examined: u64,
}

impl Default for ResponseFramer {
    /// A framer with the relay's caps (a 4 MiB body), an empty buffer.
    fn default() -> ResponseFramer {
        ResponseFramer::with_limits(0, MAX_BODY_BYTES)
    }
}

impl fmt::Debug for ResponseFramer {
    // The bytes are a venue's or relay's answers: their sizes only.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("ResponseFramer")
            .field("buffered", &self.buf.len())
            .field("examined", &self.examined)
            .field("max_body_bytes", &self.rules.max_body_bytes)
            .finish_non_exhaustive()
    }
}

impl ResponseFramer {
    /// An empty framer with the relay's caps whose buffer starts with room for `capacity`
    /// bytes.
    pub fn with_capacity(capacity: usize) -> ResponseFramer {
        ResponseFramer::with_limits(capacity, MAX_BODY_BYTES)
    }

    /// An empty framer whose buffer starts with room for `capacity` bytes and which accepts
    /// bodies of at most `max_body_bytes` (a chunked body's encoding at most twice that).
    pub fn with_limits(capacity: usize, max_body_bytes: usize) -> ResponseFramer {
        ResponseFramer {
            buf: Vec::with_capacity(capacity),
            state: FrameState::default(),
            rules: FrameRules {
                max_body_bytes,
                close_delimited: false,
            },
            ended: false,
            examined: 0,
        }
    }

    /// For a connection that ends after one answer (its request said `Connection: close`): an
    /// answer with neither `Content-Length` nor chunked framing is delimited by the close (RFC
    /// 9112 §6.3 rule 8), up to the body cap; report the close with
    /// [`ResponseFramer::end_of_stream`], then take it. Without this such an answer is
    /// `Invalid`: on a kept-alive connection the next answer could not be told from it.
    pub fn close_delimited(mut self) -> ResponseFramer {
        self.rules.close_delimited = true;
        self
    }

    /// Appends bytes read from the connection.
    pub fn push(&mut self, bytes: &[u8]) {
        self.buf.extend_from_slice(bytes);
    }

    /// The peer has closed the connection: a close-delimited body ends here, and a response
    /// still partly read becomes `Invalid` ([`FramingError::Truncated`]).
    pub fn end_of_stream(&mut self) {
        self.ended = true;
    }

    /// Takes the next complete response (skipping 1xx interim heads) off the buffer, its body
    /// decoded as UTF-8 (lossily). `Invalid` stays `Invalid` until [`ResponseFramer::clear`]:
    /// the stream is unusable.
    pub fn take(&mut self) -> Framed {
        match self.take_bytes() {
            Framed::Reply {
                status,
                body,
                limits,
            } => Framed::Reply {
                status,
                // Valid UTF-8 (JSON) is moved, not copied.
                body: String::from_utf8(body)
                    .unwrap_or_else(|e| String::from_utf8_lossy(e.as_bytes()).into_owned()),
                limits,
            },
            Framed::Incomplete => Framed::Incomplete,
            Framed::Invalid => Framed::Invalid,
        }
    }

    /// [`ResponseFramer::take`], the body as the bytes received.
    pub fn take_bytes(&mut self) -> Framed<Vec<u8>> {
        let buf = &mut self.buf;
        loop {
            let parsed = self.state.advance(buf, &self.rules, &mut self.examined);
            let parsed = match (parsed, self.ended) {
                (Parsed::Incomplete, true) => self.state.at_close(buf),
                (parsed, _) => parsed,
            };
            match parsed {
                Parsed::Incomplete => return Framed::Incomplete,
                Parsed::Invalid(_) => return Framed::Invalid,
                Parsed::Interim { consumed } => {
                    buf.drain(..consumed.min(buf.len()));
                    self.state = FrameState::default();
                }
                Parsed::Done {
                    status,
                    body,
                    consumed,
                    limits,
                } => {
                    buf.drain(..consumed.min(buf.len()));
                    self.state = FrameState::default();
                    return Framed::Reply {
                        status,
                        body,
                        limits,
                    };
                }
            }
        }
    }

    /// Why the stream is `Invalid`, once [`ResponseFramer::take`] has said it is.
    pub fn error(&self) -> Option<FramingError> {
        match self.state {
            FrameState::Invalid(why) => Some(why),
            _ => None,
        }
    }

    /// Forgets the buffered bytes, the partial response and a close (a new connection starts
    /// clean).
    pub fn clear(&mut self) {
        self.buf.clear();
        self.state = FrameState::default();
        self.ended = false;
    }

    /// Bytes received and not yet taken as a response.
    pub fn buffered(&self) -> usize {
        self.buf.len()
    }

    /// Bytes the framer has searched, parsed or copied since it was made: a bounded multiple
    /// of the bytes pushed, however they were split (a test holds it to that).
    pub fn bytes_examined(&self) -> u64 {
        self.examined
    }
}

/// What one framer accepts.
#[derive(Clone, Copy, Debug)]
struct FrameRules {
    /// Largest body.
    max_body_bytes: usize,
    /// Whether a body without framing runs to the close (else it is `Invalid`).
    close_delimited: bool,
}

impl FrameRules {
    /// Longest chunked body as sent (data, size lines, CRLFs and trailers): framing may at
    /// most double the body, so a peer cannot keep a response `Incomplete` while the buffer
    /// grows.
    fn max_encoded_body_bytes(&self) -> usize {
        self.max_body_bytes.saturating_mul(2)
    }
}

#[cfg(test)]
impl Default for FrameRules {
    fn default() -> FrameRules {
        FrameRules {
            max_body_bytes: MAX_BODY_BYTES,
            close_delimited: false,
        }
    }
}

/// The outcome of trying to frame one HTTP/1.1 response at the start of a buffer.
#[derive(Debug, PartialEq, Eq)]
enum Parsed {
    /// More bytes are needed.
    Incomplete,
    /// Not a response we can frame (bad status line, no length, too large).
    Invalid(FramingError),
    /// A 1xx interim response head to skip.
    Interim { consumed: usize },
    /// A full response.
    Done {
        status: u16,
        body: Vec<u8>,
        consumed: usize,
        limits: ReplyLimits,
    },
}

/// How the response body is delimited.
enum Framing {
    Length(usize),
    Chunked,
}

/// How far the response at the front of the buffer has been framed. Positions are indices
/// into the buffer, whose front is the response's first byte.
enum FrameState {
    /// In the head, whose end was searched for in the first `scanned` bytes.
    Head { scanned: usize },
    /// Head read; waiting for a `Content-Length` body of `len` bytes.
    Length {
        status: u16,
        limits: ReplyLimits,
        body_start: usize,
        len: usize,
    },
    /// Head read; decoding a chunked body.
    Chunked {
        status: u16,
        limits: ReplyLimits,
        body_start: usize,
        chunks: Chunks,
    },
    /// Head read, without framing; the body runs to the close.
    UntilClose {
        status: u16,
        limits: ReplyLimits,
        body_start: usize,
    },
    /// The stream could not be framed, for this reason; it stays so.
    Invalid(FramingError),
}

impl Default for FrameState {
    fn default() -> FrameState {
        FrameState::Head { scanned: 0 }
    }
}

impl FrameState {
    /// Frames on from the saved state over `buf`, saving how far it got.
    fn advance(&mut self, buf: &[u8], rules: &FrameRules, examined: &mut u64) -> Parsed {
        let parsed = match self {
            FrameState::Head { scanned } => head(buf, *scanned, rules, examined),
            FrameState::Length {
                status,
                limits,
                body_start,
                len,
            } => length_body(buf, *status, *limits, *body_start, *len, examined),
            FrameState::Chunked {
                status,
                limits,
                body_start,
                chunks,
            } => {
                match chunks.advance(buf.get(*body_start..).unwrap_or_default(), rules, examined) {
                    Parsed::Done { body, consumed, .. } => Step::Done(Parsed::Done {
                        status: *status,
                        body,
                        consumed: *body_start + consumed,
                        limits: *limits,
                    }),
                    other => Step::Done(other),
                }
            }
            FrameState::UntilClose { body_start, .. } => {
                // Refused as soon as it passes the cap, not once the peer has sent it all.
                if buf.len().saturating_sub(*body_start) > rules.max_body_bytes {
                    Step::Done(Parsed::Invalid(FramingError::BodyTooLarge {
                        max_bytes: rules.max_body_bytes,
                    }))
                } else {
                    Step::Done(Parsed::Incomplete)
                }
            }
            FrameState::Invalid(why) => Step::Done(Parsed::Invalid(*why)),
        };
        match parsed {
            Step::Next(next) => {
                *self = next;
                // The head was read: go on into the body with the bytes already here.
                self.advance(buf, rules, examined)
            }
            Step::Wait(next) => {
                *self = next;
                Parsed::Incomplete
            }
            Step::Done(Parsed::Invalid(why)) => {
                *self = FrameState::Invalid(why);
                Parsed::Invalid(why)
            }
            Step::Done(other) => other,
        }
    }

    /// What an `Incomplete` response in `buf` is once the peer has closed: the whole of a
    /// close-delimited body, nothing (between responses), or truncated.
    fn at_close(&mut self, buf: &[u8]) -> Parsed {
        match *self {
            FrameState::UntilClose {
                status,
                limits,
                body_start,
            } => Parsed::Done {
                status,
                body: buf.get(body_start..).unwrap_or_default().to_vec(),
                consumed: buf.len(),
                limits,
            },
            FrameState::Head { .. } if buf.is_empty() => Parsed::Incomplete,
            _ => {
                *self = FrameState::Invalid(FramingError::Truncated);
                Parsed::Invalid(FramingError::Truncated)
            }
        }
    }
}

/// What one stage of [`FrameState::advance`] decided.
enum Step {
    /// Continue at once in this state.
    Next(FrameState),
    /// Wait for more bytes in this state.
    Wait(FrameState),
    /// This outcome. The state is kept after `Incomplete` (the caller resets it once a
    /// response is taken); after `Invalid` it becomes [`FrameState::Invalid`].
    Done(Parsed),
}

/// The head, searched on from `scanned`: status line, headers, and how the body is framed.
fn head(buf: &[u8], scanned: usize, rules: &FrameRules, examined: &mut u64) -> Step {
    let head_end = match find_from(buf, 0, scanned, b"\r\n\r\n", MAX_HEAD_BYTES, examined) {
        Found::At(end) => end,
        Found::NotYet { scanned } => return Step::Wait(FrameState::Head { scanned }),
        Found::Invalid => {
            return Step::Done(Parsed::Invalid(FramingError::HeadTooLong {
                max_bytes: MAX_HEAD_BYTES,
            }));
        }
    };
    let body_start = head_end + 4;
    *examined += head_end as u64;
    let (status, framing, limits) = match parse_head(buf.get(..head_end).unwrap_or_default()) {
        Ok(parts) => parts,
        Err(why) => return Step::Done(Parsed::Invalid(why)),
    };
    if (100..200).contains(&status) {
        return Step::Done(Parsed::Interim {
            consumed: body_start,
        });
    }
    let framing = if status == 204 || status == 304 {
        Some(Framing::Length(0))
    } else {
        framing
    };
    let too_large = FramingError::BodyTooLarge {
        max_bytes: rules.max_body_bytes,
    };
    match framing {
        Some(Framing::Length(len)) if len > rules.max_body_bytes => {
            Step::Done(Parsed::Invalid(too_large))
        }
        Some(Framing::Length(len)) => Step::Next(FrameState::Length {
            status,
            limits,
            body_start,
            len,
        }),
        Some(Framing::Chunked) => Step::Next(FrameState::Chunked {
            status,
            limits,
            body_start,
            chunks: Chunks::default(),
        }),
        None if rules.close_delimited => Step::Next(FrameState::UntilClose {
            status,
            limits,
            body_start,
        }),
        None => Step::Done(Parsed::Invalid(FramingError::NoLength)),
    }
}

/// A `Content-Length` body: done once all `len` bytes are here.
fn length_body(
    buf: &[u8],
    status: u16,
    limits: ReplyLimits,
    body_start: usize,
    len: usize,
    examined: &mut u64,
) -> Step {
    let body = buf.get(body_start..).and_then(|rest| rest.get(..len));
    match body {
        Some(body) => {
            *examined += len as u64;
            Step::Done(Parsed::Done {
                status,
                body: body.to_vec(),
                consumed: body_start + len,
                limits,
            })
        }
        None => Step::Done(Parsed::Incomplete),
    }
}

/// Status code, body framing and rate-limit headers from a response head (without the final
/// blank line).
fn parse_head(head: &[u8]) -> Result<(u16, Option<Framing>, ReplyLimits), FramingError> {
    let text = std::str::from_utf8(head).map_err(|_| FramingError::NotHttp)?;
    let mut lines = text.split("\r\n");
    let mut parts = lines.next().unwrap_or_default().split(' ');
    if !parts.next().unwrap_or_default().starts_with("HTTP/1.") {
        return Err(FramingError::NotHttp);
    }
    let status: u16 = parts
        .next()
        .and_then(|s| s.parse().ok())
        .ok_or(FramingError::NotHttp)?;
    let mut framing = None;
    let mut limits = ReplyLimits::default();
    for line in lines {
        let (name, value) = line.split_once(':').ok_or(FramingError::NotHttp)?;
        let (name, value) = (name.trim(), value.trim());
        if name.eq_ignore_ascii_case("transfer-encoding")
            && value.to_ascii_lowercase().contains("chunked")
        {
            framing = Some(Framing::Chunked);
        } else if name.eq_ignore_ascii_case("content-length") && framing.is_none() {
            let len = value.parse().map_err(|_| FramingError::BadContentLength)?;
            framing = Some(Framing::Length(len));
        } else {
            limits.read_header(name, value);
        }
    }
    Ok((status, framing, limits))
}

/// A chunked body decoded so far. Positions are indices into the body's bytes as sent (from
/// just after the head).
#[derive(Default)]
struct Chunks {
    /// The data of the chunks read so far.
    body: Vec<u8>,
    /// Where the current size line, chunk data or trailer line starts.
    pos: usize,
    /// How far the current line has been searched for its `\r\n` (at least `pos`).
    scanned: usize,
    phase: ChunkPhase,
}

/// Where in the chunked body [`Chunks::pos`] is.
#[derive(Default, Clone, Copy)]
enum ChunkPhase {
    /// At a chunk-size line.
    #[default]
    Size,
    /// At a chunk's data, which ends (before its `\r\n`) at `data_end`.
    Data { data_end: usize },
    /// In the trailer section, which starts at `start`.
    Trailers { start: usize },
}

impl Chunks {
    /// Decodes on from where the last call stopped over `buf` (the body's bytes as sent);
    /// `Done` with `consumed` counted from the body's start (its status and limits unused).
    fn advance(&mut self, buf: &[u8], rules: &FrameRules, examined: &mut u64) -> Parsed {
        loop {
            let next = match self.phase {
                ChunkPhase::Size => self.size_line(buf, rules, examined),
                ChunkPhase::Data { data_end } => self.data(buf, data_end, examined),
                ChunkPhase::Trailers { start } => self.trailer_line(buf, start, rules, examined),
            };
            if let Some(outcome) = next {
                return outcome;
            }
        }
    }

    /// Reads a chunk-size line; `None` to go on in the phase it set.
    fn size_line(&mut self, buf: &[u8], rules: &FrameRules, examined: &mut u64) -> Option<Parsed> {
        let line_end = match find_from(
            buf,
            self.pos,
            self.scanned,
            b"\r\n",
            MAX_LINE_BYTES,
            examined,
        ) {
            Found::At(end) => end,
            Found::NotYet { scanned } => {
                self.scanned = scanned;
                return Some(Parsed::Incomplete);
            }
            Found::Invalid => {
                return Some(Parsed::Invalid(FramingError::BadChunk(
                    "chunk-size line over 8192 bytes",
                )));
            }
        };
        let line = buf.get(self.pos..self.pos + line_end).unwrap_or_default();
        // Chunk extensions (`;name=value`) are allowed and ignored.
        let size_hex = line.split(|&b| b == b';').next().unwrap_or_default();
        let Some(size) = std::str::from_utf8(size_hex)
            .ok()
            .and_then(|s| usize::from_str_radix(s.trim(), 16).ok())
        else {
            return Some(Parsed::Invalid(FramingError::BadChunk(
                "chunk size not a hexadecimal number",
            )));
        };
        let pos = self.pos + line_end + 2;
        self.pos = pos;
        self.scanned = pos;
        if size == 0 {
            self.phase = ChunkPhase::Trailers { start: pos };
            return None;
        }
        // Checked: the size is the peer's number, and may be anything up to `usize::MAX`.
        // Refused here, before any of its data is read.
        let within_limits = self
            .body
            .len()
            .checked_add(size)
            .is_some_and(|total| total <= rules.max_body_bytes);
        if !within_limits {
            return Some(Parsed::Invalid(FramingError::BodyTooLarge {
                max_bytes: rules.max_body_bytes,
            }));
        }
        let Some(data_end) = pos
            .checked_add(size)
            .filter(|&end| end.saturating_add(2) <= rules.max_encoded_body_bytes())
        else {
            return Some(Parsed::Invalid(FramingError::BadChunk(
                "chunk framing over twice the body cap",
            )));
        };
        self.phase = ChunkPhase::Data { data_end };
        None
    }

    /// Takes a chunk's data and its `\r\n` once both are here.
    fn data(&mut self, buf: &[u8], data_end: usize, examined: &mut u64) -> Option<Parsed> {
        let Some(chunk) = buf.get(self.pos..data_end) else {
            return Some(Parsed::Incomplete);
        };
        match buf.get(data_end..data_end + 2) {
            None => return Some(Parsed::Incomplete),
            Some(b"\r\n") => {}
            Some(_) => {
                return Some(Parsed::Invalid(FramingError::BadChunk(
                    "chunk data longer than its size",
                )));
            }
        }
        *examined += chunk.len() as u64;
        self.body.extend_from_slice(chunk);
        self.pos = data_end + 2;
        self.scanned = self.pos;
        self.phase = ChunkPhase::Size;
        None
    }

    /// Skips one line of the trailer section after the last chunk (header lines up to an
    /// empty line, at most [`MAX_LINE_BYTES`] of them in all).
    fn trailer_line(
        &mut self,
        buf: &[u8],
        start: usize,
        rules: &FrameRules,
        examined: &mut u64,
    ) -> Option<Parsed> {
        let too_long = FramingError::BadChunk("trailer section over 8192 bytes");
        let budget = MAX_LINE_BYTES.saturating_sub(self.pos - start);
        let line_end = match find_from(buf, self.pos, self.scanned, b"\r\n", budget, examined) {
            Found::At(end) => end,
            Found::NotYet { scanned } => {
                self.scanned = scanned;
                return Some(Parsed::Incomplete);
            }
            Found::Invalid => return Some(Parsed::Invalid(too_long)),
        };
        self.pos += line_end + 2;
        self.scanned = self.pos;
        if self.pos > rules.max_encoded_body_bytes() {
            return Some(Parsed::Invalid(FramingError::BadChunk(
                "chunk framing over twice the body cap",
            )));
        }
        if line_end == 0 {
            return Some(Parsed::Done {
                status: 0,
                body: std::mem::take(&mut self.body),
                consumed: self.pos,
                limits: ReplyLimits::default(),
            });
        }
        None
    }
}

/// What [`find_from`] found.
enum Found {
    /// The needle, this many bytes after the start.
    At(usize),
    /// Not yet; the bytes up to `scanned` (absolute) hold no match.
    NotYet { scanned: usize },
    /// `max` bytes passed without it: a peer cannot make the buffer grow without end.
    Invalid,
}

/// Where `needle` first occurs in `buf` after `start`, if at most `max` bytes come before it,
/// searching only bytes not searched before: `scanned` (absolute, at least `start`) says how
/// far an earlier call got, and a match may begin in its last `needle.len() - 1` bytes.
fn find_from(
    buf: &[u8],
    start: usize,
    scanned: usize,
    needle: &[u8],
    max: usize,
    examined: &mut u64,
) -> Found {
    let window_end = start.saturating_add(max.saturating_add(needle.len()));
    let end = window_end.min(buf.len());
    let from = scanned.saturating_sub(needle.len() - 1).max(start).min(end);
    let hay = buf.get(from..end).unwrap_or_default();
    *examined += hay.len() as u64;
    match find(hay, needle) {
        Some(at) => Found::At(from + at - start),
        None if buf.len() >= window_end => Found::Invalid,
        None => Found::NotYet { scanned: end },
    }
}

fn find(haystack: &[u8], needle: &[u8]) -> Option<usize> {
    haystack.windows(needle.len()).position(|w| w == needle)
}

/// Frames one response at the start of `buf` from scratch.
#[cfg(test)]
fn parse_response(buf: &[u8]) -> Parsed {
    FrameState::default().advance(buf, &FrameRules::default(), &mut 0)
}

/// The parts of a relay URL we use.
#[derive(Debug, PartialEq, Eq)]
struct Target {
    /// `host[:port]` as written, for the `Host` header.
    authority: String,
    host: String,
    port: u16,
    path: String,
    /// `https://`.
    tls: bool,
}

fn parse_url(url: &str) -> Result<Target, FireError> {
    let (rest, tls, default_port) = if let Some(rest) = strip_prefix_ignore_case(url, "https://") {
        (rest, true, 443)
    } else if let Some(rest) = strip_prefix_ignore_case(url, "http://") {
        (rest, false, 80)
    } else {
        return Err(FireError::BadUrl("the scheme must be http:// or https://"));
    };
    let (authority, path) = match rest.split_once('/') {
        Some((a, p)) => (a, format!("/{p}")),
        None => (rest, "/".to_owned()),
    };
    let (host, port) = match authority.rsplit_once(':') {
        Some((h, p)) => (h, p.parse().map_err(|_| FireError::BadUrl("bad port"))?),
        None => (authority, default_port),
    };
    if host.is_empty() {
        return Err(FireError::BadUrl("missing host"));
    }
    Ok(Target {
        authority: authority.to_owned(),
        host: host.to_owned(),
        port,
        path,
        tls,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    const CL: &[u8] = b"HTTP/1.1 200 OK\r\ncontent-type: application/json\r\ncontent-length: 11\r\n\r\n{\"ok\":true}";
    const CHUNKED: &[u8] =
        b"HTTP/1.1 403 Forbidden\r\nTransfer-Encoding: chunked\r\n\r\n5;ext=1\r\nhello\r\n6\r\n world\r\n0\r\nX-T: 1\r\n\r\n";

    #[test]
    fn frames_content_length_and_chunked() {
        assert_eq!(
            parse_response(CL),
            Parsed::Done {
                status: 200,
                body: b"{\"ok\":true}".to_vec(),
                consumed: CL.len(),
                limits: ReplyLimits::default(),
            }
        );
        assert_eq!(
            parse_response(CHUNKED),
            Parsed::Done {
                status: 403,
                body: b"hello world".to_vec(),
                consumed: CHUNKED.len(),
                limits: ReplyLimits::default(),
            }
        );
    }

    #[test]
    fn every_strict_prefix_is_incomplete() {
        for whole in [CL, CHUNKED] {
            for cut in 0..whole.len() {
                assert_eq!(
                    parse_response(&whole[..cut]),
                    Parsed::Incomplete,
                    "cut at {cut}"
                );
            }
        }
    }

    #[test]
    fn pipelined_responses_are_framed_one_by_one() {
        let mut buf = [CHUNKED, CL].concat();
        let Parsed::Done {
            status, consumed, ..
        } = parse_response(&buf)
        else {
            panic!("first not framed")
        };
        assert_eq!((status, consumed), (403, CHUNKED.len()));
        buf.drain(..consumed);
        assert!(matches!(
            parse_response(&buf),
            Parsed::Done { status: 200, .. }
        ));
    }

    #[test]
    fn interim_and_broken_responses() {
        let cont = b"HTTP/1.1 100 Continue\r\n\r\n";
        assert_eq!(
            parse_response(cont),
            Parsed::Interim {
                consumed: cont.len()
            }
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\n\r\n"),
            Parsed::Invalid(FramingError::NoLength),
            "no length on keep-alive"
        );
        assert_eq!(
            parse_response(b"SSH-2.0 hi\r\n\r\n"),
            Parsed::Invalid(FramingError::NotHttp)
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: ten\r\n\r\n"),
            Parsed::Invalid(FramingError::BadContentLength)
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nContent-Length: 4194305\r\n\r\n"),
            Parsed::Invalid(FramingError::BodyTooLarge {
                max_bytes: MAX_BODY_BYTES
            })
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n"),
            Parsed::Invalid(FramingError::BadChunk(
                "chunk size not a hexadecimal number"
            ))
        );
        assert_eq!(
            parse_response(b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n1\r\nab\r\n"),
            Parsed::Invalid(FramingError::BadChunk("chunk data longer than its size"))
        );
        let no_content = b"HTTP/1.1 204 No Content\r\n\r\n";
        assert_eq!(
            parse_response(no_content),
            Parsed::Done {
                status: 204,
                body: vec![],
                consumed: no_content.len(),
                limits: ReplyLimits::default(),
            }
        );
    }

    #[test]
    fn rate_limit_headers_are_read_in_any_case() {
        let limited = b"HTTP/1.1 429 Too Many Requests\r\nx-mbx-used-weight-1m: 6013\r\nRetry-After: 17\r\nContent-Length: 2\r\n\r\n{}";
        let Parsed::Done { status, limits, .. } = parse_response(limited) else {
            panic!("not framed")
        };
        assert_eq!(status, 429);
        assert_eq!(
            limits,
            ReplyLimits {
                retry_after_s: Some(17),
                used_weight_1m: Some(6013),
                ..ReplyLimits::default()
            }
        );
        // Bybit's three, as its v5 API sends them.
        let bybit = b"HTTP/1.1 200 OK\r\nX-Bapi-Limit: 20\r\nx-bapi-limit-status: 0\r\nX-Bapi-Limit-Reset-Timestamp: 1672738134824\r\nContent-Length: 2\r\n\r\n{}";
        let Parsed::Done { limits, .. } = parse_response(bybit) else {
            panic!("not framed")
        };
        assert_eq!(
            limits,
            ReplyLimits {
                bapi_limit_status: Some(0),
                bapi_limit: Some(20),
                bapi_limit_reset_ms: Some(1_672_738_134_824),
                ..ReplyLimits::default()
            }
        );
        // Binance's order counts, one per ORDERS window (rest-api.md: "X-MBX-ORDER-COUNT-
        // (intervalNum)(intervalLetter)"); an unknown unit or a garbled count is not read.
        let orders = b"HTTP/1.1 200 OK\r\nX-MBX-USED-WEIGHT-1M: 7\r\nX-MBX-ORDER-COUNT-10S: 3\r\nx-mbx-order-count-1d: 41\r\nX-MBX-ORDER-COUNT-1W: 5\r\nX-MBX-ORDER-COUNT-1H: many\r\nContent-Length: 2\r\n\r\n{}";
        let Parsed::Done { limits, .. } = parse_response(orders) else {
            panic!("not framed")
        };
        assert_eq!(
            limits,
            ReplyLimits {
                used_weight_1m: Some(7),
                order_counts: [
                    Some(OrderCount {
                        window_ms: 10_000,
                        count: 3
                    }),
                    Some(OrderCount {
                        window_ms: 86_400_000,
                        count: 41
                    }),
                ],
                ..ReplyLimits::default()
            }
        );
        // A count header whose name ends in a multi-byte character is not read (and does not
        // bring the reading thread down).
        let odd = "HTTP/1.1 200 OK\r\nX-MBX-ORDER-COUNT-1\u{e9}: 3\r\nX-MBX-ORDER-COUNT-\u{e9}: 4\r\nContent-Length: 2\r\n\r\n{}";
        let Parsed::Done { limits, .. } = parse_response(odd.as_bytes()) else {
            panic!("not framed")
        };
        assert_eq!(limits, ReplyLimits::default());
        // An HTTP-date Retry-After and a garbled weight are left unread, not guessed.
        let dated = b"HTTP/1.1 503 Busy\r\nRetry-After: Wed, 21 Oct 2026 07:28:00 GMT\r\nX-MBX-USED-WEIGHT-1M: lots\r\nX-Bapi-Limit-Status: -1\r\nX-Bapi-Limit-Reset-Timestamp: soon\r\nContent-Length: 0\r\n\r\n";
        let Parsed::Done { limits, .. } = parse_response(dated) else {
            panic!("not framed")
        };
        assert_eq!(limits, ReplyLimits::default());
    }

    #[test]
    fn urls() {
        let t = parse_url("HTTPS://relay.flashbots.net").unwrap();
        assert_eq!(
            (t.host.as_str(), t.port, t.path.as_str(), t.tls),
            ("relay.flashbots.net", 443, "/", true)
        );
        assert_eq!(
            parse_url("ws://x"),
            Err(FireError::BadUrl("the scheme must be http:// or https://"))
        );
        assert_eq!(
            parse_url("http://:80/"),
            Err(FireError::BadUrl("missing host"))
        );
        assert_eq!(
            parse_url("http://127.0.0.1:8545/relay?x=1").unwrap(),
            Target {
                authority: "127.0.0.1:8545".into(),
                host: "127.0.0.1".into(),
                port: 8545,
                path: "/relay?x=1".into(),
                tls: false,
            }
        );
        let t = parse_url("http://localhost").unwrap();
        assert_eq!(
            (t.port, t.path.as_str(), t.authority.as_str()),
            (80, "/", "localhost")
        );
    }
}
