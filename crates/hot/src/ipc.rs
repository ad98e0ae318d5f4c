//! The node's IPC endpoint (a Unix socket): JSON-RPC messages written back to back, usually one
//! per line. [`JsonFramer`] finds where each top-level JSON value ends in a preallocated buffer,
//! so frames are handed out as borrowed slices without allocating.

use std::io::{ErrorKind, Read, Write};
use std::os::unix::net::UnixStream;
use std::path::Path;
use std::time::Duration;

/// Splits a byte stream into complete top-level JSON objects or arrays.
#[derive(Debug)]
pub struct JsonFramer {
    buf: Box<[u8]>,
    start: usize,
    end: usize,
}

/// Why the IPC stream stopped.
#[derive(Debug, thiserror::Error)]
pub enum IpcError {
    /// The socket failed or closed.
    #[error("ipc socket: {0}")]
    Io(#[from] std::io::Error),
    /// One JSON value did not fit the frame buffer.
    #[error("ipc frame larger than {0} bytes")]
    FrameTooLarge(usize),
}

impl JsonFramer {
    /// A framer whose largest frame is `capacity` bytes.
    pub fn with_capacity(capacity: usize) -> JsonFramer {
        JsonFramer {
            buf: vec![0; capacity.max(64)].into_boxed_slice(),
            start: 0,
            end: 0,
        }
    }

    /// Room to read into, after moving unread bytes to the front if needed.
    pub fn spare(&mut self) -> Result<&mut [u8], IpcError> {
        if self.end == self.buf.len() {
            if self.start == 0 {
                return Err(IpcError::FrameTooLarge(self.buf.len()));
            }
            self.buf.copy_within(self.start..self.end, 0);
            self.end -= self.start;
            self.start = 0;
        }
        Ok(&mut self.buf[self.end..])
    }

    /// Marks `n` bytes of [`JsonFramer::spare`] as filled.
    pub fn filled(&mut self, n: usize) {
        self.end = (self.end + n).min(self.buf.len());
    }

    /// The next complete JSON value, if the buffer holds one. Whitespace between values is
    /// skipped; bytes that cannot start a value are dropped up to the next `{` or `[`.
    pub fn next_frame(&mut self) -> Option<&[u8]> {
        let pending = &self.buf[self.start..self.end];
        let Some(open) = pending.iter().position(|&b| b == b'{' || b == b'[') else {
            self.start = self.end;
            return None;
        };
        let len = value_len(&pending[open..])?;
        let from = self.start + open;
        self.start = from + len;
        Some(&self.buf[from..from + len])
    }
}

/// Length of the JSON object or array at the start of `s`, if it is complete.
fn value_len(s: &[u8]) -> Option<usize> {
    let (mut depth, mut in_string, mut escaped) = (0usize, false, false);
    for (i, &b) in s.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
            continue;
        }
        match b {
            b'"' => in_string = true,
            b'{' | b'[' => depth += 1,
            b'}' | b']' => {
                depth = depth.saturating_sub(1);
                if depth == 0 {
                    return Some(i + 1);
                }
            }
            _ => {}
        }
    }
    None
}

/// A subscribed IPC connection.
#[derive(Debug)]
pub struct IpcStream {
    sock: UnixStream,
    framer: JsonFramer,
}

/// Largest single message accepted over IPC.
const IPC_FRAME_BYTES: usize = 4 << 20;

impl IpcStream {
    /// Connects to the socket at `path` and subscribes with `requests` (one JSON each).
    /// `read_timeout` of `None` makes reads non-blocking (spin and yield strategies).
    pub fn connect(
        path: &Path,
        requests: &[String],
        read_timeout: Option<Duration>,
    ) -> Result<IpcStream, IpcError> {
        let mut sock = UnixStream::connect(path)?;
        for r in requests {
            sock.write_all(r.as_bytes())?;
            sock.write_all(b"\n")?;
        }
        match read_timeout {
            Some(t) => sock.set_read_timeout(Some(t))?,
            None => sock.set_nonblocking(true)?,
        }
        Ok(IpcStream {
            sock,
            framer: JsonFramer::with_capacity(IPC_FRAME_BYTES),
        })
    }

    /// Reads what is ready and hands every complete frame to `on_frame`; returns how many.
    pub fn poll(&mut self, on_frame: &mut dyn FnMut(&[u8])) -> Result<usize, IpcError> {
        let mut delivered = 0;
        while let Some(frame) = self.framer.next_frame() {
            on_frame(frame);
            delivered += 1;
        }
        if delivered > 0 {
            return Ok(delivered);
        }
        let spare = self.framer.spare()?;
        match self.sock.read(spare) {
            Ok(0) => Err(IpcError::Io(ErrorKind::UnexpectedEof.into())),
            Ok(n) => {
                self.framer.filled(n);
                while let Some(frame) = self.framer.next_frame() {
                    on_frame(frame);
                    delivered += 1;
                }
                Ok(delivered)
            }
            Err(e) if matches!(e.kind(), ErrorKind::WouldBlock | ErrorKind::TimedOut) => Ok(0),
            Err(e) => Err(e.into()),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frames_of(chunks: &[&[u8]]) -> Vec<String> {
        let mut f = JsonFramer::with_capacity(256);
        let mut out = Vec::new();
        for c in chunks {
            let spare = f.spare().unwrap();
            spare[..c.len()].copy_from_slice(c);
            f.filled(c.len());
            while let Some(fr) = f.next_frame() {
                out.push(String::from_utf8(fr.to_vec()).unwrap());
            }
        }
        out
    }

    #[test]
    fn values_split_anywhere_come_out_whole() {
        let stream = br#"{"a":"}{[\"x"} [1,{"b":2}]
{"c":"\\"}"#;
        let want = [r#"{"a":"}{[\"x"}"#, r#"[1,{"b":2}]"#, r#"{"c":"\\"}"#];
        for cut in 0..stream.len() {
            let got = frames_of(&[&stream[..cut], &stream[cut..]]);
            assert_eq!(got, want, "cut at {cut}");
        }
    }

    #[test]
    fn a_value_larger_than_the_buffer_is_an_error_not_a_panic() {
        let mut f = JsonFramer::with_capacity(64);
        let spare = f.spare().unwrap();
        let n = spare.len();
        spare.fill(b'[');
        f.filled(n);
        assert!(f.next_frame().is_none());
        assert!(matches!(f.spare(), Err(IpcError::FrameTooLarge(64))));
    }
}
