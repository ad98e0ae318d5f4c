//! A WebSocket client (RFC 6455) for the hot thread that delivers each message as a slice of
//! its own preallocated read buffer: no allocation per message, unlike `tungstenite`, which
//! allocates one buffer per message.
//!
//! Only what a node subscription needs: `ws://` (TLS does not belong on the hot path: run the
//! node on the same host, or use IPC), no extensions, text and binary messages, fragmentation,
//! ping/pong and close. Frames from the server must be unmasked; frames we send are masked
//! with keys from an OS-seeded RNG.
//!
//! **Invariant:** after [`WsClient::connect`], [`WsClient::poll`] and [`WsClient::send_text`]
//! (for texts up to the write buffer's size) allocate nothing: reads go into a fixed buffer,
//! fragments (and frames larger than the read buffer, as they arrive) into a reassembly
//! buffer reserved at connect for the client's largest message, control replies into a fixed
//! write buffer. A message larger than that limit is skipped whole and counted, never a reason
//! to grow.

use std::io::{self, ErrorKind, Read, Write};
use std::time::{Duration, Instant};

use kestrel_stdx::Rng;

use crate::net::{Conn, Endpoint};

/// Read buffer size: the largest single frame delivered without copying.
pub const READ_BUFFER_BYTES: usize = 1 << 20;
/// Largest message delivered by a client made with [`WsClient::connect`]; others set their
/// own with [`WsClient::connect_with_max_message`].
pub const MAX_MESSAGE_BYTES: usize = 1 << 20;
/// Write buffer size: the largest text [`WsClient::send_text`] sends without allocating.
const WRITE_BUFFER_BYTES: usize = 16 * 1024;
/// Largest HTTP response head accepted in the handshake.
const MAX_HANDSHAKE_BYTES: usize = 16 * 1024;
/// The GUID RFC 6455 appends to the key.
const WS_GUID: &[u8] = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11";
/// How long connecting and the handshake may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How long sending one frame may wait for room in the socket: a peer that has not taken our
/// bytes for this long is stuck, and the connection is given up (its feed reconnects).
const SEND_TIMEOUT: Duration = Duration::from_secs(1);

/// Why the WebSocket stopped.
#[derive(Debug, thiserror::Error)]
pub enum WsError {
    /// The socket failed.
    #[error("io: {0}")]
    Io(#[from] io::Error),
    /// The URL is not a `ws://host[:port][/path]` URL.
    #[error("bad websocket url: {0}")]
    BadUrl(&'static str),
    /// The server did not upgrade the connection.
    #[error("handshake: {0}")]
    Handshake(&'static str),
    /// The server broke the framing rules; the stream cannot be trusted.
    #[error("protocol: {0}")]
    Protocol(&'static str),
    /// The server closed the connection.
    #[error("closed by the server")]
    Closed,
}

/// Where a fragmented message stands.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Fragment {
    /// No fragmented message in progress.
    None,
    /// Reassembling into `msg`.
    Collecting,
    /// Too large: discarding fragments until the final one.
    Dropping,
}

/// A data frame larger than the read buffer, whose payload goes into the reassembly buffer as
/// it arrives.
#[derive(Clone, Copy, Debug)]
struct LargeFrame {
    /// Payload bytes still to come.
    left: u64,
    /// Whether it ends its message.
    fin: bool,
}

/// A connected, handshaken WebSocket.
pub struct WsClient {
    stream: Conn,
    buf: Box<[u8]>,
    start: usize,
    end: usize,
    msg: Vec<u8>,
    /// Largest message delivered (the reassembly buffer's capacity); larger ones are skipped.
    max_message: usize,
    fragment: Fragment,
    /// Payload bytes of an oversized frame still to discard.
    skip: u64,
    /// A frame too large for the read buffer being collected into `msg`.
    large: Option<LargeFrame>,
    out: Vec<u8>,
    rng: Rng,
    oversized: u64,
}

impl std::fmt::Debug for WsClient {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("WsClient")
            .field("peer", &self.stream.peer_addr().ok())
            .field("buffered", &(self.end - self.start))
            .field("oversized", &self.oversized)
            .finish_non_exhaustive()
    }
}

/// One parsed frame header.
struct Header {
    fin: bool,
    opcode: u8,
    header_len: usize,
    payload_len: u64,
}

impl WsClient {
    /// Connects to `ws://` or `wss://host[:port][/path]` (TLS checked against the roots of
    /// [`crate::net`]) and performs the opening handshake (checking `Sec-WebSocket-Accept`).
    /// With `read_timeout`, reads block up to that long; without, the socket is non-blocking
    /// (for a spinning thread). Messages over [`MAX_MESSAGE_BYTES`] are skipped and counted.
    pub fn connect(url: &str, read_timeout: Option<Duration>) -> Result<WsClient, WsError> {
        WsClient::connect_with_max_message(url, read_timeout, MAX_MESSAGE_BYTES)
    }

    /// [`WsClient::connect`], delivering messages up to `max_message_bytes` (for a venue whose
    /// snapshot is a whole book). The reassembly buffer is reserved for that size here; the
    /// memory is touched only as large messages use it.
    pub fn connect_with_max_message(
        url: &str,
        read_timeout: Option<Duration>,
        max_message_bytes: usize,
    ) -> Result<WsClient, WsError> {
        let endpoint = Endpoint::parse(url).map_err(WsError::BadUrl)?;
        if !url.starts_with("ws") {
            return Err(WsError::BadUrl("expected ws:// or wss://"));
        }
        let (authority, path) = (endpoint.authority(), endpoint.path.clone());
        let mut stream = endpoint.connect(CONNECT_TIMEOUT)?;
        stream.set_read_timeout(Some(CONNECT_TIMEOUT))?;
        let mut rng = Rng::from_os().map_err(|_| WsError::Handshake("no OS randomness"))?;
        let mut key_raw = [0u8; 16];
        for chunk in key_raw.chunks_mut(8) {
            let word = rng.next_u64().to_le_bytes();
            chunk.copy_from_slice(word.get(..chunk.len()).unwrap_or_default());
        }
        let key = base64_encode(&key_raw);
        let request = format!(
            "GET {path} HTTP/1.1\r\nHost: {authority}\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Key: {key}\r\nSec-WebSocket-Version: 13\r\n\r\n"
        );
        stream.write_all(request.as_bytes())?;
        let mut buf = vec![0u8; READ_BUFFER_BYTES].into_boxed_slice();
        let (head_end, end) = read_head(&mut stream, &mut buf)?;
        check_upgrade(buf.get(..head_end).unwrap_or_default(), &key)?;
        match read_timeout {
            Some(t) => {
                stream.set_read_timeout(Some(t))?;
                // A blocking write waits no longer than a non-blocking one spins.
                socket(&stream).set_write_timeout(Some(SEND_TIMEOUT))?;
            }
            None => stream.set_nonblocking(true)?,
        }
        Ok(WsClient {
            stream,
            buf,
            start: head_end,
            end,
            msg: Vec::with_capacity(max_message_bytes),
            max_message: max_message_bytes,
            fragment: Fragment::None,
            skip: 0,
            large: None,
            out: Vec::with_capacity(WRITE_BUFFER_BYTES + 14),
            rng,
            oversized: 0,
        })
    }

    /// Messages skipped because they were larger than the client's limit.
    pub fn oversized(&self) -> u64 {
        self.oversized
    }

    /// Sends one text message (masked, as clients must).
    pub fn send_text(&mut self, text: &[u8]) -> Result<(), WsError> {
        self.send_frame(0x1, text)
    }

    /// Hands every complete message to `on_message`, reading from the socket once if none is
    /// buffered. Returns how many were delivered (0: nothing ready yet). An error (a close, a
    /// protocol violation) can end a call that already delivered messages: those were handed
    /// over and are not lost.
    pub fn poll(&mut self, on_message: &mut dyn FnMut(&[u8])) -> Result<usize, WsError> {
        let delivered = self.drain(on_message)?;
        if delivered > 0 {
            return Ok(delivered);
        }
        if !self.fill()? {
            return Ok(0);
        }
        self.drain(on_message)
    }

    /// Reads once into the free end of the buffer; false if no bytes were ready.
    fn fill(&mut self) -> Result<bool, WsError> {
        if self.start == self.end {
            self.start = 0;
            self.end = 0;
        } else if self.end == self.buf.len() {
            // Move the partial frame to the front; a frame that fills the whole buffer from
            // offset 0 is handled by `drain` (collected or skipped), so this always frees space.
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        let free = self.buf.get_mut(self.end..).unwrap_or_default();
        match self.stream.read(free) {
            Ok(0) => Err(WsError::Closed),
            Ok(n) => {
                self.end += n;
                Ok(true)
            }
            Err(e)
                if matches!(
                    e.kind(),
                    ErrorKind::WouldBlock | ErrorKind::TimedOut | ErrorKind::Interrupted
                ) =>
            {
                Ok(false)
            }
            Err(e) => Err(e.into()),
        }
    }

    /// Parses and handles every complete frame in the buffer.
    fn drain(&mut self, on_message: &mut dyn FnMut(&[u8])) -> Result<usize, WsError> {
        let mut delivered = 0;
        loop {
            if self.skip > 0 {
                let available = (self.end - self.start) as u64;
                let n = available.min(self.skip);
                self.start += n as usize;
                self.skip -= n;
                if self.skip > 0 {
                    return Ok(delivered);
                }
            }
            if let Some(large) = self.large {
                match self.collect_large(large) {
                    None => return Ok(delivered),
                    Some(fin) => {
                        if fin {
                            on_message(&self.msg);
                            delivered += 1;
                        }
                        continue;
                    }
                }
            }
            let Some(h) = parse_header(self.buf.get(self.start..self.end).unwrap_or_default())?
            else {
                return Ok(delivered);
            };
            let total = h.header_len as u64 + h.payload_len;
            if total > self.buf.len() as u64 {
                self.start_large(&h)?;
                continue;
            }
            if total > (self.end - self.start) as u64 {
                return Ok(delivered);
            }
            let payload_start = self.start + h.header_len;
            let payload_end = payload_start + h.payload_len as usize;
            self.start = payload_end;
            delivered += self.handle(&h, payload_start, payload_end, on_message)?;
        }
    }

    /// Starts on a data frame too large for the read buffer: its payload is collected into
    /// the reassembly buffer as it arrives, or skipped (the message counted) when the message
    /// would pass the client's limit.
    fn start_large(&mut self, h: &Header) -> Result<(), WsError> {
        match (h.opcode, self.fragment) {
            (0x8.., _) => return Err(WsError::Protocol("control frame too long")),
            (0x3..=0x7, _) => return Err(WsError::Protocol("unknown opcode")),
            (0x0, Fragment::None) => {
                return Err(WsError::Protocol("continuation without a message"));
            }
            (0x1 | 0x2, Fragment::Collecting | Fragment::Dropping) => {
                return Err(WsError::Protocol("new message inside a fragmented one"));
            }
            _ => {}
        }
        self.start += h.header_len;
        if h.opcode != 0x0 {
            self.msg.clear();
        }
        // No overflow: the payload length is below 2^63 (`parse_header`), the message far below.
        let message_len = self.msg.len() as u64 + h.payload_len;
        if self.fragment == Fragment::Dropping || message_len > self.max_message as u64 {
            if self.fragment != Fragment::Dropping {
                self.oversized += 1;
            }
            self.msg.clear();
            self.fragment = if h.fin {
                Fragment::None
            } else {
                Fragment::Dropping
            };
            self.skip = h.payload_len;
            return Ok(());
        }
        self.fragment = Fragment::Collecting;
        self.large = Some(LargeFrame {
            left: h.payload_len,
            fin: h.fin,
        });
        Ok(())
    }

    /// Moves what has arrived of the large frame into the reassembly buffer (its capacity
    /// covers the whole message: no allocation). `None` while more is to come; once it is
    /// whole, whether it ended its message (which is then in `msg`).
    fn collect_large(&mut self, large: LargeFrame) -> Option<bool> {
        let available = self.end - self.start;
        let n = usize::try_from(large.left).map_or(available, |left| left.min(available));
        let bytes = self.buf.get(self.start..self.start + n).unwrap_or_default();
        self.msg.extend_from_slice(bytes);
        self.start += n;
        let left = large.left - n as u64;
        if left > 0 {
            self.large = Some(LargeFrame { left, ..large });
            return None;
        }
        self.large = None;
        if large.fin {
            self.fragment = Fragment::None;
        }
        Some(large.fin)
    }

    /// Acts on one complete frame whose payload is `buf[from..to]`; returns messages delivered.
    fn handle(
        &mut self,
        h: &Header,
        from: usize,
        to: usize,
        on_message: &mut dyn FnMut(&[u8]),
    ) -> Result<usize, WsError> {
        let payload = self.buf.get(from..to).unwrap_or_default();
        match (h.opcode, self.fragment) {
            (0x1 | 0x2, Fragment::None) if h.fin && payload.len() > self.max_message => {
                self.oversized += 1;
                Ok(0)
            }
            (0x1 | 0x2, Fragment::None) if h.fin => {
                on_message(payload);
                Ok(1)
            }
            (0x1 | 0x2, Fragment::None) => {
                self.msg.clear();
                self.collect(from, to, false);
                Ok(0)
            }
            (0x1 | 0x2, _) => Err(WsError::Protocol("new message inside a fragmented one")),
            (0x0, Fragment::None) => Err(WsError::Protocol("continuation without a message")),
            (0x0, Fragment::Dropping) => {
                if h.fin {
                    self.fragment = Fragment::None;
                }
                Ok(0)
            }
            (0x0, Fragment::Collecting) => {
                if self.collect(from, to, h.fin) && h.fin {
                    on_message(&self.msg);
                    return Ok(1);
                }
                Ok(0)
            }
            (0x8, _) => {
                let mut code = [0u8; 2];
                code.copy_from_slice(payload.get(..2).unwrap_or(&[0x03, 0xe8]));
                // Best effort: the stream ends either way.
                let _ = self.send_frame(0x8, &code);
                Err(WsError::Closed)
            }
            (0x9, _) => {
                let mut echo = [0u8; 125];
                let n = payload.len().min(echo.len());
                echo.get_mut(..n)
                    .unwrap_or_default()
                    .copy_from_slice(payload.get(..n).unwrap_or_default());
                self.send_frame(0xA, echo.get(..n).unwrap_or_default())?;
                Ok(0)
            }
            (0xA, _) => Ok(0),
            _ => Err(WsError::Protocol("unknown opcode")),
        }
    }

    /// Appends a fragment to the reassembly buffer; false (and the message dropped) if it
    /// would not fit.
    fn collect(&mut self, from: usize, to: usize, fin: bool) -> bool {
        let payload = self.buf.get(from..to).unwrap_or_default();
        if self.msg.len() + payload.len() > self.max_message {
            self.oversized += 1;
            self.msg.clear();
            self.fragment = if fin {
                Fragment::None
            } else {
                Fragment::Dropping
            };
            return false;
        }
        self.msg.extend_from_slice(payload);
        if !fin {
            self.fragment = Fragment::Collecting;
        } else {
            // Delivered by the caller; the next data frame starts a new message.
            self.fragment = Fragment::None;
        }
        true
    }

    /// Writes one masked frame. Texts larger than the write buffer are written through a
    /// temporary buffer (start-up subscriptions only; never the case on the hot path).
    fn send_frame(&mut self, opcode: u8, payload: &[u8]) -> Result<(), WsError> {
        self.out.clear();
        self.out.push(0x80 | opcode);
        let len = payload.len();
        if len < 126 {
            self.out.push(0x80 | len as u8);
        } else if let Ok(len16) = u16::try_from(len) {
            self.out.push(0x80 | 126);
            self.out.extend_from_slice(&len16.to_be_bytes());
        } else {
            self.out.push(0x80 | 127);
            self.out.extend_from_slice(&(len as u64).to_be_bytes());
        }
        let mask = (self.rng.next_u64() as u32).to_be_bytes();
        self.out.extend_from_slice(&mask);
        self.out.extend(
            payload
                .iter()
                .zip(mask.iter().cycle())
                .map(|(byte, m)| byte ^ m),
        );
        // The socket may be non-blocking: finish the frame even if the kernel takes it in
        // parts, but not past `SEND_TIMEOUT` (the clock is read only once it is full). A frame
        // left half-written breaks the stream: the error drops the connection.
        let mut written = 0;
        let mut deadline = None;
        while written < self.out.len() {
            match self
                .stream
                .write(self.out.get(written..).unwrap_or_default())
            {
                Ok(0) => return Err(WsError::Closed),
                Ok(n) => written += n,
                Err(e) if e.kind() == ErrorKind::Interrupted => {}
                Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => {
                    let now = Instant::now();
                    if now > *deadline.get_or_insert(now + SEND_TIMEOUT) {
                        return Err(WsError::Io(ErrorKind::TimedOut.into()));
                    }
                    std::thread::yield_now();
                }
                Err(e) => return Err(e.into()),
            }
        }
        Ok(())
    }
}

/// The TCP socket under `conn` (TLS or not).
fn socket(conn: &Conn) -> &std::net::TcpStream {
    match conn {
        Conn::Plain(s) => s,
        Conn::Tls(s) => &s.sock,
    }
}

/// Parses a frame header at the start of `b`; `None` if more bytes are needed.
fn parse_header(b: &[u8]) -> Result<Option<Header>, WsError> {
    let (Some(&b0), Some(&b1)) = (b.first(), b.get(1)) else {
        return Ok(None);
    };
    if b0 & 0x70 != 0 {
        return Err(WsError::Protocol(
            "reserved bits set (no extension was negotiated)",
        ));
    }
    if b1 & 0x80 != 0 {
        return Err(WsError::Protocol("the server masked a frame"));
    }
    let fin = b0 & 0x80 != 0;
    let opcode = b0 & 0x0f;
    let (header_len, payload_len) = match b1 & 0x7f {
        126 => match b.get(2..4) {
            Some(&[h, l]) => (4, u64::from(u16::from_be_bytes([h, l]))),
            _ => return Ok(None),
        },
        127 => match b.get(2..10).and_then(|s| <[u8; 8]>::try_from(s).ok()) {
            Some(bytes) => {
                let len = u64::from_be_bytes(bytes);
                if len >> 63 != 0 {
                    return Err(WsError::Protocol("64-bit length with the top bit set"));
                }
                (10, len)
            }
            None => return Ok(None),
        },
        n => (2, u64::from(n)),
    };
    if opcode >= 0x8 && (!fin || payload_len > 125) {
        return Err(WsError::Protocol("fragmented or long control frame"));
    }
    Ok(Some(Header {
        fin,
        opcode,
        header_len,
        payload_len,
    }))
}

/// Reads until the end of the HTTP response head; returns (head length, bytes read).
fn read_head(stream: &mut Conn, buf: &mut [u8]) -> Result<(usize, usize), WsError> {
    let mut end = 0;
    loop {
        if let Some(i) = buf
            .get(..end)
            .unwrap_or_default()
            .windows(4)
            .position(|w| w == b"\r\n\r\n")
        {
            return Ok((i + 4, end));
        }
        if end >= MAX_HANDSHAKE_BYTES {
            return Err(WsError::Handshake("response head too long"));
        }
        let n = stream.read(buf.get_mut(end..MAX_HANDSHAKE_BYTES).unwrap_or_default())?;
        if n == 0 {
            return Err(WsError::Handshake("connection closed during the handshake"));
        }
        end += n;
    }
}

/// Checks the `101` status and `Sec-WebSocket-Accept` of the response head.
fn check_upgrade(head: &[u8], key: &str) -> Result<(), WsError> {
    let head = std::str::from_utf8(head).map_err(|_| WsError::Handshake("head is not UTF-8"))?;
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap_or_default();
    if status.split(' ').nth(1) != Some("101") {
        return Err(WsError::Handshake("the server did not switch protocols"));
    }
    let expected = accept_for(key);
    let accepted = lines.any(|line| {
        line.split_once(':').is_some_and(|(name, value)| {
            name.trim().eq_ignore_ascii_case("sec-websocket-accept") && value.trim() == expected
        })
    });
    if !accepted {
        return Err(WsError::Handshake("wrong or missing Sec-WebSocket-Accept"));
    }
    Ok(())
}

/// `base64(sha1(key + GUID))`, the value a server must answer with.
fn accept_for(key: &str) -> String {
    use sha1::Digest;
    let mut h = sha1::Sha1::new();
    h.update(key.as_bytes());
    h.update(WS_GUID);
    base64_encode(&h.finalize())
}

fn base64_encode(bytes: &[u8]) -> String {
    use base64::Engine;
    base64::engine::general_purpose::STANDARD.encode(bytes)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::net::Endpoint;

    #[test]
    fn accept_matches_the_rfc_example() {
        // RFC 6455 section 1.3.
        assert_eq!(
            accept_for("dGhlIHNhbXBsZSBub25jZQ=="),
            "s3pPLMBiTxaQ9kYGzzhZRbK+xOo="
        );
    }

    #[test]
    fn urls() {
        let e = |url: &str| Endpoint::parse(url).map(|e| (e.authority(), e.path, e.tls));
        assert_eq!(
            e("ws://127.0.0.1:8545").unwrap(),
            ("127.0.0.1:8545".into(), "/".into(), false)
        );
        assert_eq!(
            e("ws://node/ws/v1").unwrap(),
            ("node:80".into(), "/ws/v1".into(), false)
        );
        assert_eq!(
            e("wss://stream.binance.com:9443/ws").unwrap(),
            ("stream.binance.com:9443".into(), "/ws".into(), true)
        );
        assert_eq!(
            e("https://api.kraken.com?x=1").unwrap(),
            ("api.kraken.com:443".into(), "/?x=1".into(), true)
        );
        assert!(e("ftp://x").is_err());
        assert!(e("ws:///x").is_err());
        assert!(e("ws://h:99999/").is_err());
    }

    #[test]
    fn headers() {
        assert!(parse_header(&[0x81]).unwrap().is_none());
        let h = parse_header(&[0x81, 5]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.header_len, h.payload_len),
            (true, 1, 2, 5)
        );
        let h = parse_header(&[0x02, 126, 0x01, 0x00]).unwrap().unwrap();
        assert_eq!(
            (h.fin, h.opcode, h.header_len, h.payload_len),
            (false, 2, 4, 256)
        );
        let h = parse_header(&[0x81, 127, 0, 0, 0, 0, 0, 1, 0, 0])
            .unwrap()
            .unwrap();
        assert_eq!((h.header_len, h.payload_len), (10, 65_536));
        assert!(parse_header(&[0x81, 127, 0x80, 0, 0, 0, 0, 0, 0, 0]).is_err());
        assert!(parse_header(&[0x91, 0]).is_err(), "rsv bit");
        assert!(parse_header(&[0x81, 0x80]).is_err(), "masked server frame");
        assert!(parse_header(&[0x09, 0]).is_err(), "fragmented ping");
        assert!(parse_header(&[0x89, 126, 0, 200]).is_err(), "long ping");
    }
}
