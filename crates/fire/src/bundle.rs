//! The JSON-RPC body of a bundle and the Flashbots auth header that signs it.
//!
//! Both are written into buffers reserved once, so firing a bundle allocates nothing: the body
//! by [`BundleWriter`], the `X-Flashbots-Signature` value by [`FlashbotsAuth::sign_header`]
//! into a caller-owned `[u8; 200]`.

use std::{fmt, str::FromStr};

use alloy_primitives::{Address, keccak256};

use crate::presign::PresigPool;
use crate::{
    FireError,
    hexfmt::{push_hex, push_quantity, push_u64_dec, write_hex},
    ladder::LocalSigner,
    sign,
};

/// Which JSON-RPC method a body calls.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Method {
    /// `eth_sendBundle`: submit for inclusion.
    Send,
    /// `eth_callBundle`: simulate on top of the latest state.
    Call,
}

/// Writes `eth_sendBundle` / `eth_callBundle` request bodies into one reserved buffer.
#[derive(Debug)]
pub struct BundleWriter {
    body: Vec<u8>,
    next_id: u64,
}

impl BundleWriter {
    /// Reserves `bytes` for the body. Size it for the largest bundle expected: about
    /// `2 * (sum of raw tx lengths) + 8 * tx count + 160`; a larger bundle grows it once.
    pub fn with_capacity(bytes: usize) -> Self {
        Self {
            body: Vec::with_capacity(bytes),
            next_id: 1,
        }
    }

    /// Writes
    /// `{"jsonrpc":"2.0","id":N,"method":"eth_sendBundle","params":[{"txs":["0x..",..],"blockNumber":"0x.."}]}`
    /// and returns it. `block` is the block the bundle targets (head + 1). The id increases by
    /// one per body written.
    pub fn send_bundle(&mut self, txs: &[&[u8]], block: u64) -> &[u8] {
        self.write(Method::Send, txs, block)
    }

    /// Same shape for the simulation endpoint: `eth_callBundle` with
    /// `[{"txs":[..],"blockNumber":"0x..","stateBlockNumber":"latest"}]`.
    pub fn call_bundle(&mut self, txs: &[&[u8]], block: u64) -> &[u8] {
        self.write(Method::Call, txs, block)
    }

    /// The last body written (empty before the first).
    pub fn body(&self) -> &[u8] {
        &self.body
    }

    fn write(&mut self, method: Method, txs: &[&[u8]], block: u64) -> &[u8] {
        let id = self.next_id;
        self.next_id = self.next_id.wrapping_add(1);
        let out = &mut self.body;
        out.clear();
        // Only allocates when the bundle outgrows what was reserved; after that it stays reserved.
        out.reserve(Self::body_len_bound(txs));
        out.extend_from_slice(br#"{"jsonrpc":"2.0","id":"#);
        push_u64_dec(out, id);
        out.extend_from_slice(match method {
            Method::Send => br#","method":"eth_sendBundle","params":[{"txs":["#,
            Method::Call => br#","method":"eth_callBundle","params":[{"txs":["#,
        });
        for (i, tx) in txs.iter().enumerate() {
            if i > 0 {
                out.push(b',');
            }
            out.extend_from_slice(b"\"0x");
            push_hex(out, tx);
            out.push(b'"');
        }
        out.extend_from_slice(br#"],"blockNumber":""#);
        push_quantity(out, block);
        out.push(b'"');
        if method == Method::Call {
            out.extend_from_slice(br#","stateBlockNumber":"latest""#);
        }
        out.extend_from_slice(b"}]}");
        out
    }

    /// An upper bound on the body length for these transactions.
    fn body_len_bound(txs: &[&[u8]]) -> usize {
        let tx_bytes: usize = txs.iter().map(|t| t.len()).sum();
        tx_bytes * 2 + txs.len() * 6 + 160
    }
}

/// Bytes of the `X-Flashbots-Signature` value: `0x` + 40 (address) + `:` + `0x` + 130 (sig).
pub const HEADER_LEN: usize = 2 + 40 + 1 + 2 + 130;

/// The relay identity key (not the funds key) and its header prefix, computed once.
#[derive(Clone)]
pub struct FlashbotsAuth {
    signer: LocalSigner,
    /// `0x<checksummed address>:` — the part of the header that never changes.
    prefix: [u8; 43],
}

impl fmt::Debug for FlashbotsAuth {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("FlashbotsAuth")
            .field("address", &self.signer.address())
            .finish_non_exhaustive()
    }
}

impl FlashbotsAuth {
    /// Parses the relay identity key (32-byte hex, with or without `0x`).
    pub fn from_hex(key: &str) -> Result<Self, FireError> {
        let signer = LocalSigner::from_hex(key)?;
        let mut prefix = [0u8; 43];
        let checksummed = signer.address().to_checksum(None);
        let n = prefix.len().min(checksummed.len());
        prefix
            .get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(checksummed.as_bytes().get(..n).unwrap_or_default());
        if let Some(colon) = prefix.last_mut() {
            *colon = b':';
        }
        Ok(Self { signer, prefix })
    }

    /// The identity address relays see.
    pub fn address(&self) -> Address {
        self.signer.address()
    }

    /// The `X-Flashbots-Signature` value for `body`: `0x<address>:0x<r s v>`, where the
    /// signature is EIP-191 `personal_sign` of the ASCII string `"0x" + hex(keccak256(body))`
    /// and `v` is 27 or 28. One ECDSA, no allocation; the result borrows `out`.
    pub fn sign_header<'a>(&self, body: &[u8], out: &'a mut [u8; 200]) -> &'a str {
        let (rs, parity) = self.signer.sign_digest(personal_digest(body));
        self.write_header(&rs, parity, out)
    }

    /// Like [`FlashbotsAuth::sign_header`], finishing a precomputed nonce from `pool` (two modular
    /// products instead of a scalar multiplication). An empty pool falls back to the full
    /// signature and is counted in [`PresigPool::fallbacks`]. Either way the header verifies.
    pub fn sign_header_presigned<'a>(
        &self,
        body: &[u8],
        pool: &PresigPool,
        out: &'a mut [u8; 200],
    ) -> &'a str {
        let (rs, parity) = self
            .signer
            .sign_digest_presigned(pool, personal_digest(body));
        self.write_header(&rs, parity, out)
    }

    fn write_header<'a>(&self, rs: &[u8; 64], parity: u8, out: &'a mut [u8; 200]) -> &'a str {
        let mut w = Cursor {
            buf: out.as_mut_slice(),
            len: 0,
        };
        w.put(&self.prefix);
        w.put(b"0x");
        w.put_hex(rs);
        w.put_hex(&[27 + parity]);
        let len = w.len;
        debug_assert_eq!(
            len, HEADER_LEN,
            "Invariant: the header always has the same length"
        );
        std::str::from_utf8(out.get(..len).unwrap_or_default()).unwrap_or_default()
    }
}

/// Recovers the signer of a `X-Flashbots-Signature` header over `body` and checks it is the
/// address the header names. Accepts `v` as 27/28 or 0/1 and the address in any case.
pub fn verify_flashbots_signature(header: &str, body: &[u8]) -> Result<Address, FireError> {
    let (addr, sig) = header
        .trim()
        .split_once(':')
        .ok_or(FireError::MalformedHeader)?;
    let claimed = Address::from_str(addr).map_err(|_| FireError::MalformedHeader)?;
    let sig_hex = sig.strip_prefix("0x").unwrap_or(sig);
    let mut sig = [0u8; 65];
    hex::decode_to_slice(sig_hex, &mut sig).map_err(|_| FireError::MalformedHeader)?;
    let [rs @ .., v] = sig;
    let parity = match v {
        0 | 27 => 0,
        1 | 28 => 1,
        _ => return Err(FireError::InvalidSignature),
    };
    let rs: [u8; 64] = rs;
    let recovered = sign::recover(personal_digest(body), &rs, parity)?;
    if recovered == claimed {
        Ok(claimed)
    } else {
        Err(FireError::SignerMismatch)
    }
}

/// EIP-191 digest of the 66-byte ASCII string `"0x" + hex(keccak256(body))`: what ethers'
/// `signMessage(id(body))` signs, and what Flashbots relays check.
fn personal_digest(body: &[u8]) -> [u8; 32] {
    const PREFIX: &[u8; 28] = b"\x19Ethereum Signed Message:\n66";
    let body_hash = keccak256(body);
    let mut msg = [0u8; 28 + 66];
    let mut w = Cursor {
        buf: &mut msg,
        len: 0,
    };
    w.put(PREFIX);
    w.put(b"0x");
    w.put_hex(body_hash.as_slice());
    debug_assert_eq!(
        w.len,
        msg.len(),
        "Invariant: the personal_sign message is 94 bytes"
    );
    keccak256(msg).0
}

/// Appends into a fixed buffer, silently stopping at its end (callers size buffers exactly).
struct Cursor<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl Cursor<'_> {
    fn put(&mut self, bytes: &[u8]) {
        let rest = self.buf.get_mut(self.len..).unwrap_or_default();
        let n = rest.len().min(bytes.len());
        rest.get_mut(..n)
            .unwrap_or_default()
            .copy_from_slice(bytes.get(..n).unwrap_or_default());
        self.len += n;
    }

    fn put_hex(&mut self, bytes: &[u8]) {
        self.len += write_hex(self.buf.get_mut(self.len..).unwrap_or_default(), bytes);
    }
}
