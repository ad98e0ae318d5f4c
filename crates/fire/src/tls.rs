//! TLS 1.3 for the warm connections, split so that one thread writes and another reads.
//!
//! rustls does the handshake (certificate checked against the roots below) on a blocking
//! socket. The session's traffic secrets are then taken out of it (rustls's kernel-connection
//! API, meant for kTLS) and the record layer runs here: [`TlsWriter`] seals requests into TLS
//! records in a buffer reserved at connect, so the thread that writes (the hot thread)
//! neither allocates nor shares a lock with the reader; [`TlsReader`] opens the peer's records
//! on the reader thread and hands on the plaintext. A rustls session cannot be split between
//! two threads this way by itself, and its write path allocates a buffer per record.
//!
//! What the record layer handles after the handshake (RFC 8446 §5, §4.6):
//! - application data, both ways, in records of at most 16 KiB of plaintext;
//! - `NewSessionTicket` from the peer: ignored (these connections do not resume sessions);
//! - `KeyUpdate` from the peer: the reader moves to the peer's next secret; when the peer asks
//!   for an update in return, the reader derives ours and queues the new key for the writer,
//!   which sends its own `KeyUpdate` under the old key and switches before its next request;
//! - alerts: `close_notify` ends the stream, any other alert ends it as an error;
//! - anything else (a record that fails authentication, an oversized record, a handshake
//!   message split across records, an unprotected record) ends the stream as an error.
//!
//! Only TLS 1.3 is offered: the record layer here is TLS 1.3's. A server that cannot speak it
//! fails the handshake, and the caller is told so.

use std::io::{self, Read, Write};
use std::net::TcpStream;
use std::sync::{Arc, Mutex, OnceLock};

use aws_lc_rs::aead::{
    AES_128_GCM, AES_256_GCM, Aad, CHACHA20_POLY1305, LessSafeKey, NONCE_LEN, Nonce, UnboundKey,
};
use crossbeam::queue::ArrayQueue;
use rustls::client::{ClientConnectionData, Resumption, UnbufferedClientConnection};
use rustls::kernel::KernelConnection;
use rustls::pki_types::pem::PemObject as _;
use rustls::pki_types::{CertificateDer, ServerName};
use rustls::unbuffered::{ConnectionState, EncodeError, UnbufferedStatus};
use rustls::{ClientConfig, ConnectionTrafficSecrets, RootCertStore};

use crate::FireError;

/// Largest plaintext in one record (RFC 8446 §5.1).
pub const MAX_PLAINTEXT: usize = 16 * 1024;
/// Largest encrypted record body a peer may send (§5.2: plaintext, content type, padding and
/// tag within 2^14 + 256).
const MAX_CIPHERTEXT: usize = MAX_PLAINTEXT + 256;
/// Record header: type, legacy version, length.
const HEADER: usize = 5;
/// AEAD tag of every TLS 1.3 suite.
const TAG: usize = 16;
/// Bytes a record adds to its plaintext: header, inner content type, tag.
pub const RECORD_OVERHEAD: usize = HEADER + 1 + TAG;

const APPLICATION_DATA: u8 = 23;
const HANDSHAKE: u8 = 22;
const ALERT: u8 = 21;
const NEW_SESSION_TICKET: u8 = 4;
const KEY_UPDATE: u8 = 24;

/// Records sealed under one key before the writer asks for a new connection: well under
/// AES-GCM's confidentiality limit of 2^24.5 records (RFC 8446 §5.5).
const SEQ_LIMIT: u64 = 1 << 24;
/// Most handshake bytes held unprocessed at once.
const MAX_HANDSHAKE_BUFFER: usize = 1 << 20;
/// Key updates the reader may queue for the writer before the stream is given up.
const MAX_OWED_UPDATES: usize = 4;

/// Roots added by [`trust_extra_roots_pem`], read when the roots are first needed.
static EXTRA_ROOTS: Mutex<Vec<CertificateDer<'static>>> = Mutex::new(Vec::new());
static ROOTS: OnceLock<Arc<RootCertStore>> = OnceLock::new();
static SPLIT_CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// Trust the certificates in `pem` as roots too, besides the Mozilla roots (`webpki-roots`):
/// tests, or a relay or venue behind a private CA. Must be called before the process's first
/// TLS connection (later calls have no effect and return an error saying so).
pub fn trust_extra_roots_pem(pem: &[u8]) -> io::Result<usize> {
    if ROOTS.get().is_some() {
        return Err(io::Error::other(
            "extra TLS roots must be added before the first TLS connection",
        ));
    }
    let certs: Vec<CertificateDer<'static>> = CertificateDer::pem_slice_iter(pem)
        .collect::<Result<_, _>>()
        .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("PEM: {e}")))?;
    let n = certs.len();
    EXTRA_ROOTS
        .lock()
        .map_err(|_| io::Error::other("TLS roots lock poisoned"))?
        .extend(certs);
    Ok(n)
}

/// The roots every TLS client of the process checks certificates against: the Mozilla roots
/// and whatever [`trust_extra_roots_pem`] added before this was first called.
pub fn roots() -> io::Result<Arc<RootCertStore>> {
    if let Some(r) = ROOTS.get() {
        return Ok(Arc::clone(r));
    }
    let mut roots = RootCertStore::empty();
    roots.extend(webpki_roots::TLS_SERVER_ROOTS.iter().cloned());
    let extra = EXTRA_ROOTS
        .lock()
        .map_err(|_| io::Error::other("TLS roots lock poisoned"))?
        .clone();
    for cert in extra {
        roots
            .add(cert)
            .map_err(|e| io::Error::new(io::ErrorKind::InvalidData, format!("TLS root: {e}")))?;
    }
    Ok(Arc::clone(ROOTS.get_or_init(|| Arc::new(roots))))
}

static GENERAL_CONFIG: OnceLock<Arc<ClientConfig>> = OnceLock::new();

/// TLS 1.2 and 1.3 over the process's roots ([`roots`]): for the connections that are not split
/// (the exchange clients, the slow lane's relay posts), so that they trust exactly what the
/// split connections trust.
pub fn general_config() -> io::Result<Arc<ClientConfig>> {
    if let Some(c) = GENERAL_CONFIG.get() {
        return Ok(Arc::clone(c));
    }
    let roots = roots()?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| io::Error::other(format!("TLS versions: {e}")))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(Arc::clone(GENERAL_CONFIG.get_or_init(|| Arc::new(config))))
}

/// TLS 1.3 only, secrets extractable, no resumption.
fn split_config() -> Result<Arc<ClientConfig>, FireError> {
    if let Some(c) = SPLIT_CONFIG.get() {
        return Ok(Arc::clone(c));
    }
    let roots = roots().map_err(|_| FireError::Tls("the TLS roots could not be loaded"))?;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .map_err(|_| FireError::Tls("TLS 1.3 is not available"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.enable_secret_extraction = true;
    config.resumption = Resumption::disabled();
    Ok(Arc::clone(SPLIT_CONFIG.get_or_init(|| Arc::new(config))))
}

/// What a failed handshake says, without the peer's words (the error must be `Copy`).
fn handshake_error(e: &rustls::Error) -> FireError {
    use rustls::Error as E;
    FireError::Tls(match e {
        E::InvalidCertificate(_) | E::NoCertificatesPresented => {
            "the peer's certificate is not trusted for its name"
        }
        E::PeerIncompatible(_) => "the peer does not speak TLS 1.3 with a suite offered",
        E::AlertReceived(_) => "the peer refused the TLS handshake",
        E::PeerMisbehaved(_) | E::InvalidMessage(_) => "the peer broke the TLS handshake",
        _ => "the TLS handshake failed",
    })
}

/// One direction's record key: the AEAD key and the static IV the sequence number is mixed into.
struct RecordKey {
    aead: LessSafeKey,
    iv: [u8; NONCE_LEN],
}

impl RecordKey {
    fn new(secrets: &ConnectionTrafficSecrets) -> Result<RecordKey, FireError> {
        let (alg, key, iv) = match secrets {
            ConnectionTrafficSecrets::Aes128Gcm { key, iv } => (&AES_128_GCM, key, iv),
            ConnectionTrafficSecrets::Aes256Gcm { key, iv } => (&AES_256_GCM, key, iv),
            ConnectionTrafficSecrets::Chacha20Poly1305 { key, iv } => (&CHACHA20_POLY1305, key, iv),
            _ => {
                return Err(FireError::Tls(
                    "the negotiated cipher suite is not supported",
                ));
            }
        };
        let unbound = UnboundKey::new(alg, key.as_ref())
            .map_err(|_| FireError::Tls("the negotiated key is not usable"))?;
        let iv: [u8; NONCE_LEN] = iv
            .as_ref()
            .try_into()
            .map_err(|_| FireError::Tls("the negotiated IV is not 12 bytes"))?;
        Ok(RecordKey {
            aead: LessSafeKey::new(unbound),
            iv,
        })
    }

    /// RFC 8446 §5.3: the sequence number, big-endian and left-padded, XORed into the IV.
    fn nonce(&self, seq: u64) -> Nonce {
        let mut n = self.iv;
        for (b, s) in n.iter_mut().skip(NONCE_LEN - 8).zip(seq.to_be_bytes()) {
            *b ^= s;
        }
        Nonce::assume_unique_for_key(n)
    }
}

/// The sealing half: owned by the thread that writes requests.
pub struct TlsWriter {
    key: RecordKey,
    seq: u64,
    /// Sealed records of the request being written; reserved at connect.
    out: Vec<u8>,
    /// Keys the reader derived because the peer asked for a key update, oldest first.
    updates: Arc<ArrayQueue<RecordKey>>,
}

impl std::fmt::Debug for TlsWriter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsWriter")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl TlsWriter {
    /// Seals the concatenation of `parts` as application-data records (a `KeyUpdate` first, if
    /// the peer asked for one) and returns the bytes to write. Allocates nothing while the
    /// plaintext fits the capacity reserved at connect. An error (the key's record limit
    /// reached, or a sealing failure) means the session must not be written again: reconnect.
    pub fn seal(&mut self, parts: &[&[u8]]) -> io::Result<&[u8]> {
        self.out.clear();
        while let Some(next) = self.updates.pop() {
            // KeyUpdate, update_not_requested: type, 24-bit length 1, the request byte.
            self.seal_record(HANDSHAKE, &[&[KEY_UPDATE, 0, 0, 1, 0]])?;
            self.key = next;
            self.seq = 0;
        }
        let total: usize = parts.iter().map(|p| p.len()).sum();
        let mut part = 0;
        let mut offset = 0;
        let mut left = total;
        while left > 0 {
            let take = left.min(MAX_PLAINTEXT);
            let start = self.open_record();
            let mut need = take;
            while need > 0 {
                let Some(p) = parts.get(part) else { break };
                let chunk = p.get(offset..).unwrap_or_default();
                let n = chunk.len().min(need);
                self.out
                    .extend_from_slice(chunk.get(..n).unwrap_or_default());
                need -= n;
                offset += n;
                if offset == p.len() {
                    part += 1;
                    offset = 0;
                }
            }
            self.close_record(start, APPLICATION_DATA)?;
            left -= take;
        }
        Ok(&self.out)
    }

    /// Records sealed under the current key.
    pub fn records_sealed(&self) -> u64 {
        self.seq
    }

    fn seal_record(&mut self, content_type: u8, parts: &[&[u8]]) -> io::Result<()> {
        let start = self.open_record();
        for p in parts {
            self.out.extend_from_slice(p);
        }
        self.close_record(start, content_type)
    }

    /// Writes a placeholder header; returns where the record starts.
    fn open_record(&mut self) -> usize {
        let start = self.out.len();
        self.out
            .extend_from_slice(&[APPLICATION_DATA, 0x03, 0x03, 0, 0]);
        start
    }

    /// Appends the inner content type, seals the record in place and fills in its header.
    fn close_record(&mut self, start: usize, content_type: u8) -> io::Result<()> {
        if self.seq >= SEQ_LIMIT {
            return Err(io::ErrorKind::ConnectionAborted.into());
        }
        self.out.push(content_type);
        let sealed_len = self.out.len() - start - HEADER + TAG;
        let len = u16::try_from(sealed_len).map_err(|_| io::ErrorKind::InvalidInput)?;
        let header = [APPLICATION_DATA, 0x03, 0x03, (len >> 8) as u8, len as u8];
        if let Some(h) = self.out.get_mut(start..start + HEADER) {
            h.copy_from_slice(&header);
        }
        let nonce = self.key.nonce(self.seq);
        let body = self
            .out
            .get_mut(start + HEADER..)
            .ok_or(io::ErrorKind::InvalidInput)?;
        let tag = self
            .key
            .aead
            .seal_in_place_separate_tag(nonce, Aad::from(header), body)
            .map_err(|_| io::ErrorKind::InvalidData)?;
        self.out.extend_from_slice(tag.as_ref());
        self.seq += 1;
        Ok(())
    }
}

/// Why a TLS stream ended on the reading side.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum TlsEnd {
    /// The peer sent `close_notify`.
    CloseNotify,
    /// The peer sent another alert (its description code).
    Alert(u8),
    /// The peer sent something that is not valid TLS 1.3 here (the reason).
    Broken(&'static str),
}

impl std::fmt::Display for TlsEnd {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            TlsEnd::CloseNotify => f.write_str("the peer closed the TLS session"),
            TlsEnd::Alert(code) => write!(f, "the peer sent TLS alert {code}"),
            TlsEnd::Broken(why) => write!(f, "TLS stream broken: {why}"),
        }
    }
}

/// The opening half: owned by the reader thread.
pub struct TlsReader {
    key: RecordKey,
    seq: u64,
    kernel: KernelConnection<ClientConnectionData>,
    /// Received bytes not yet opened (a partial record at most, after each feed).
    buf: Vec<u8>,
    /// Where the writer finds the keys a peer-requested update gave us.
    tx_updates: Arc<ArrayQueue<RecordKey>>,
}

impl std::fmt::Debug for TlsReader {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TlsReader")
            .field("seq", &self.seq)
            .finish_non_exhaustive()
    }
}

impl TlsReader {
    /// Opens every complete record in what has been received so far plus `bytes`, handing the
    /// plaintext of each application-data record to `on_data` in order. An error ends the
    /// stream: nothing after it may be trusted.
    pub fn feed(&mut self, bytes: &[u8], on_data: &mut dyn FnMut(&[u8])) -> Result<(), TlsEnd> {
        self.buf.extend_from_slice(bytes);
        let Self {
            key,
            seq,
            kernel,
            buf,
            tx_updates,
        } = self;
        let mut start = 0;
        let result = loop {
            let Some(&[typ, _, _, hi, lo]) = buf.get(start..start + HEADER) else {
                break Ok(());
            };
            let len = usize::from(u16::from_be_bytes([hi, lo]));
            if typ == ALERT {
                // An unprotected alert: the peer gave up on the session.
                break Err(TlsEnd::Broken("an unprotected alert after the handshake"));
            }
            if typ != APPLICATION_DATA {
                break Err(TlsEnd::Broken("an unprotected record after the handshake"));
            }
            if !(TAG + 1..=MAX_CIPHERTEXT).contains(&len) {
                break Err(TlsEnd::Broken("a record of impossible length"));
            }
            let Some(record) = buf.get_mut(start + HEADER..start + HEADER + len) else {
                break Ok(()); // not all here yet
            };
            let header = [typ, 0x03, 0x03, hi, lo];
            let Ok(plain) = key
                .aead
                .open_in_place(key.nonce(*seq), Aad::from(header), record)
            else {
                break Err(TlsEnd::Broken("a record failed authentication"));
            };
            *seq += 1;
            start += HEADER + len;
            // TLSInnerPlaintext: content, content type, zero padding.
            let Some(at) = plain.iter().rposition(|&b| b != 0) else {
                break Err(TlsEnd::Broken("a record with no content type"));
            };
            let (content, content_type) = (plain.get(..at).unwrap_or_default(), plain.get(at));
            match content_type {
                Some(&APPLICATION_DATA) => on_data(content),
                Some(&HANDSHAKE) => {
                    if let Err(e) = handshake(content, key, seq, kernel, tx_updates) {
                        break Err(e);
                    }
                }
                Some(&ALERT) => {
                    break Err(match content.get(1) {
                        Some(0) => TlsEnd::CloseNotify,
                        Some(&code) => TlsEnd::Alert(code),
                        None => TlsEnd::Broken("a truncated alert"),
                    });
                }
                _ => break Err(TlsEnd::Broken("a record of unknown content type")),
            }
        };
        buf.drain(..start.min(buf.len()));
        result
    }
}

/// Post-handshake handshake messages (RFC 8446 §4.6), each whole within its record.
fn handshake(
    mut msgs: &[u8],
    key: &mut RecordKey,
    seq: &mut u64,
    kernel: &mut KernelConnection<ClientConnectionData>,
    tx_updates: &ArrayQueue<RecordKey>,
) -> Result<(), TlsEnd> {
    const SPLIT: TlsEnd = TlsEnd::Broken("a handshake message split across records");
    while let Some(&[typ, a, b, c]) = msgs.get(..4) {
        let len = u32::from_be_bytes([0, a, b, c]) as usize;
        let body = msgs.get(4..4 + len).ok_or(SPLIT)?;
        match typ {
            NEW_SESSION_TICKET => {} // no resumption: nothing to keep
            KEY_UPDATE => {
                let request = match body {
                    [0] => false,
                    [1] => true,
                    _ => return Err(TlsEnd::Broken("a malformed KeyUpdate")),
                };
                let (_, next) = kernel
                    .update_rx_secret()
                    .map_err(|_| TlsEnd::Broken("the peer's key update could not be derived"))?;
                *key = RecordKey::new(&next)
                    .map_err(|_| TlsEnd::Broken("the peer's next key is not usable"))?;
                *seq = 0;
                // §5.1: a KeyUpdate ends its record (what follows is under the new key).
                if msgs.len() != 4 + len {
                    return Err(TlsEnd::Broken("a KeyUpdate that does not end its record"));
                }
                // §4.6.3: requests received before we sent anything get one update; ours is
                // still queued if the writer has not written since the last one.
                if request && tx_updates.is_empty() {
                    let (_, ours) = kernel
                        .update_tx_secret()
                        .map_err(|_| TlsEnd::Broken("our key update could not be derived"))?;
                    let ours = RecordKey::new(&ours)
                        .map_err(|_| TlsEnd::Broken("our next key is not usable"))?;
                    tx_updates
                        .push(ours)
                        .map_err(|_| TlsEnd::Broken("too many key updates owed to the peer"))?;
                }
            }
            _ => return Err(TlsEnd::Broken("an unexpected handshake message")),
        }
        msgs = msgs.get(4 + len..).unwrap_or_default();
    }
    if msgs.is_empty() { Ok(()) } else { Err(SPLIT) }
}

/// Runs a TLS 1.3 handshake for `host` on the connected, blocking `sock` (its timeouts bound
/// the handshake), then splits the session. `reserve` is the plaintext the writer must be able
/// to seal without allocating (one request).
pub fn client_handshake(
    sock: &mut TcpStream,
    host: &str,
    reserve: usize,
) -> Result<(TlsWriter, TlsReader), FireError> {
    let name = ServerName::try_from(
        host.trim_start_matches('[')
            .trim_end_matches(']')
            .to_owned(),
    )
    .map_err(|_| FireError::BadUrl("the host is not a valid TLS server name"))?;
    let mut conn =
        UnbufferedClientConnection::new(split_config()?, name).map_err(|e| handshake_error(&e))?;
    let mut incoming = vec![0u8; 2 * (HEADER + MAX_CIPHERTEXT)];
    let mut filled = 0;
    let mut outgoing = vec![0u8; 4 * 1024];
    let mut pending = 0;
    loop {
        enum Next {
            Again,
            Read,
            Done,
        }
        let UnbufferedStatus { discard, state } =
            conn.process_tls_records(incoming.get_mut(..filled).unwrap_or_default());
        let next = match state.map_err(|e| handshake_error(&e))? {
            ConnectionState::EncodeTlsData(mut enc) => loop {
                match enc.encode(outgoing.get_mut(pending..).unwrap_or_default()) {
                    Ok(n) => {
                        pending += n;
                        break Next::Again;
                    }
                    Err(EncodeError::InsufficientSize(s)) => {
                        outgoing.resize(pending + s.required_size, 0);
                    }
                    Err(_) => return Err(FireError::Tls("the TLS handshake failed")),
                }
            },
            ConnectionState::TransmitTlsData(t) => {
                sock.write_all(outgoing.get(..pending).unwrap_or_default())?;
                pending = 0;
                t.done();
                Next::Again
            }
            ConnectionState::BlockedHandshake => Next::Read,
            // Bytes left over are part of a record rustls has not finished (it may already have
            // opened the first fragments of a split post-handshake message in place): only
            // whole records may pass to the reader, so read until rustls has taken them all.
            ConnectionState::WriteTraffic(_) if filled > discard => Next::Read,
            ConnectionState::WriteTraffic(_) => Next::Done,
            ConnectionState::ReadTraffic(_) => {
                return Err(FireError::Tls("the peer sent data before the request"));
            }
            ConnectionState::PeerClosed | ConnectionState::Closed => {
                return Err(FireError::Tls("the peer closed during the TLS handshake"));
            }
            _ => return Err(FireError::Tls("an unexpected TLS handshake state")),
        };
        incoming.copy_within(discard..filled, 0);
        filled -= discard;
        match next {
            Next::Again => {}
            Next::Done => break,
            Next::Read => {
                if filled == incoming.len() {
                    // rustls keeps records until it has a whole handshake message (a long
                    // certificate chain spans several): make room, within reason.
                    if incoming.len() >= MAX_HANDSHAKE_BUFFER {
                        return Err(FireError::Tls("the peer's handshake is too large"));
                    }
                    incoming.resize(incoming.len() * 2, 0);
                }
                let n = match sock.read(incoming.get_mut(filled..).unwrap_or_default()) {
                    Ok(n) => n,
                    Err(e) if e.kind() == io::ErrorKind::Interrupted => continue,
                    Err(e) => return Err(e.into()),
                };
                if n == 0 {
                    return Err(FireError::Tls("the peer closed during the TLS handshake"));
                }
                filled += n;
            }
        }
    }
    let (secrets, kernel) = conn
        .dangerous_into_kernel_connection()
        .map_err(|e| handshake_error(&e))?;
    let (tx_seq, tx) = secrets.tx;
    let (rx_seq, rx) = secrets.rx;
    let updates = Arc::new(ArrayQueue::new(MAX_OWED_UPDATES));
    let records = reserve.div_ceil(MAX_PLAINTEXT).max(1);
    // Each announced key update is a record of its own: a 5-byte message.
    let updates_room = MAX_OWED_UPDATES * (RECORD_OVERHEAD + 5);
    let writer = TlsWriter {
        key: RecordKey::new(&tx)?,
        seq: tx_seq,
        out: Vec::with_capacity(reserve + records * RECORD_OVERHEAD + updates_room),
        updates: Arc::clone(&updates),
    };
    // Records the handshake read past: the reader opens them first.
    let mut buf = Vec::with_capacity(2 * (HEADER + MAX_CIPHERTEXT) + 64 * 1024);
    buf.extend_from_slice(incoming.get(..filled).unwrap_or_default());
    let reader = TlsReader {
        key: RecordKey::new(&rx)?,
        seq: rx_seq,
        kernel,
        buf,
        tx_updates: updates,
    };
    Ok((writer, reader))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key(byte: u8) -> RecordKey {
        RecordKey {
            aead: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[byte; 16]).unwrap()),
            iv: [byte; NONCE_LEN],
        }
    }

    #[test]
    fn nonce_mixes_the_sequence_into_the_low_bytes() {
        let k = RecordKey {
            aead: LessSafeKey::new(UnboundKey::new(&AES_128_GCM, &[0; 16]).unwrap()),
            iv: [0xff; NONCE_LEN],
        };
        let n = k.nonce(0x0102_0304_0506_0708);
        assert_eq!(
            n.as_ref(),
            &[
                0xff, 0xff, 0xff, 0xff, 0xfe, 0xfd, 0xfc, 0xfb, 0xfa, 0xf9, 0xf8, 0xf7
            ]
        );
    }

    /// Opens `records` sealed by a writer with `key(1)`, the way a peer would.
    fn open_all(mut records: Vec<u8>, k: &RecordKey, mut seq: u64) -> Vec<(u8, Vec<u8>)> {
        let mut out = Vec::new();
        let mut at = 0;
        while at < records.len() {
            let header: [u8; 5] = records[at..at + 5].try_into().unwrap();
            assert_eq!(&header[..3], &[APPLICATION_DATA, 3, 3]);
            let len = usize::from(u16::from_be_bytes([header[3], header[4]]));
            let body = &mut records[at + 5..at + 5 + len];
            let plain = k
                .aead
                .open_in_place(k.nonce(seq), Aad::from(header), body)
                .unwrap();
            let ct = *plain.last().unwrap();
            out.push((ct, plain[..plain.len() - 1].to_vec()));
            seq += 1;
            at += 5 + len;
        }
        out
    }

    #[test]
    fn writer_splits_requests_into_records_of_at_most_16k() {
        let mut w = TlsWriter {
            key: key(1),
            seq: 7,
            out: Vec::with_capacity(64 * 1024),
            updates: Arc::new(ArrayQueue::new(2)),
        };
        let head = vec![b'h'; 100];
        let body: Vec<u8> = (0..40_000u32).map(|i| (i % 251) as u8).collect();
        let sealed = w.seal(&[&head, &body]).unwrap().to_vec();
        let records = open_all(sealed, &key(1), 7);
        assert_eq!(
            records.iter().map(|(_, p)| p.len()).collect::<Vec<_>>(),
            vec![16_384, 16_384, 7_332]
        );
        assert!(records.iter().all(|(ct, _)| *ct == APPLICATION_DATA));
        let joined: Vec<u8> = records.into_iter().flat_map(|(_, p)| p).collect();
        assert_eq!(&joined[..100], &head[..]);
        assert_eq!(&joined[100..], &body[..]);
        assert_eq!(w.records_sealed(), 10);
    }

    #[test]
    fn a_queued_key_update_is_announced_under_the_old_key_then_used() {
        let updates = Arc::new(ArrayQueue::new(2));
        let mut w = TlsWriter {
            key: key(1),
            seq: 3,
            out: Vec::with_capacity(1024),
            updates: Arc::clone(&updates),
        };
        assert!(updates.push(key(2)).is_ok());
        let sealed = w.seal(&[b"after"]).unwrap().to_vec();
        // First record: KeyUpdate(update_not_requested) under key 1, seq 3.
        let first_len = usize::from(u16::from_be_bytes([sealed[3], sealed[4]]));
        let (first, rest) = sealed.split_at(5 + first_len);
        let update = open_all(first.to_vec(), &key(1), 3);
        assert_eq!(update, vec![(HANDSHAKE, vec![KEY_UPDATE, 0, 0, 1, 0])]);
        // Then the request under key 2 from seq 0.
        assert_eq!(
            open_all(rest.to_vec(), &key(2), 0),
            vec![(APPLICATION_DATA, b"after".to_vec())]
        );
        assert_eq!(w.records_sealed(), 1);
    }

    #[test]
    fn the_writer_stops_at_the_record_limit() {
        let mut w = TlsWriter {
            key: key(1),
            seq: SEQ_LIMIT,
            out: Vec::with_capacity(1024),
            updates: Arc::new(ArrayQueue::new(1)),
        };
        assert_eq!(
            w.seal(&[b"x"]).unwrap_err().kind(),
            io::ErrorKind::ConnectionAborted
        );
    }
}
