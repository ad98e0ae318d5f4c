//! EIP-1559 `backrunRoute` transactions signed on the hot thread, into buffers reserved once.
//!
//! A V3 or mixed V2/V3 backrun carries the exact `amountIn` the hot lane sized, so it cannot
//! come from the pre-signed ladder. [`RouteTxBuilder::build`] encodes the calldata, RLP-encodes
//! the signing payload, finishes a precomputed nonce from a [`PresigPool`] over its keccak256
//! (two modular products instead of a scalar multiplication), appends the signature and hashes
//! the envelope: no allocation, no panic.
//!
//! The signing payload and the signed envelope share their first nine fields, so both live in
//! one buffer: the fields are written once after a reserved head, hashed behind the unsigned
//! list header, then the signature is appended and the head is rewritten for the longer list.
//!
//! **Invariant:** the encoding is byte-identical to alloy's `TxEip1559` (the integration tests
//! compare signing hashes, and whole envelopes on the RFC 6979 fallback).

use std::fmt;

use alloy_primitives::{Address, B256, U256, keccak256};

use crate::executor::{BACKRUN_ROUTE_CALLDATA_MAX_LEN, RouteError, RouteHop, encode_backrun_route};
use crate::{LocalSigner, PresigPool};

/// EIP-2718 type byte of an EIP-1559 transaction.
const EIP1559_TYPE: u8 = 0x02;

/// RLP offset of a string: `0x80 + len` up to 55 bytes, then `0xb7 + len-of-len`.
const RLP_STRING: u8 = 0x80;

/// RLP offset of a list: `0xc0 + len` up to 55 bytes, then `0xf7 + len-of-len`.
const RLP_LIST: u8 = 0xc0;

/// Longest RLP header of a payload below 2^16 bytes: the kind byte and a two-byte length.
const MAX_HEADER_LEN: usize = 3;

/// Bytes reserved in front of the fields for the type byte and the list header.
const HEAD_LEN: usize = 1 + MAX_HEADER_LEN;

/// Longest RLP of an unsigned integer of `bytes` bytes: a one-byte header and the bytes.
const fn max_uint_len(bytes: usize) -> usize {
    1 + bytes
}

/// Longest signing-payload fields: chain id, nonce, the two fees, gas limit, `to` (a 20-byte
/// string), a zero value, the calldata (with its header) and an empty access list.
const MAX_UNSIGNED_FIELDS_LEN: usize = max_uint_len(8)
    + max_uint_len(8)
    + 2 * max_uint_len(16)
    + max_uint_len(8)
    + (1 + 20)
    + 1
    + (MAX_HEADER_LEN + BACKRUN_ROUTE_CALLDATA_MAX_LEN)
    + 1;

/// Longest signature fields: y-parity, `r` and `s`.
const MAX_SIGNATURE_FIELDS_LEN: usize = 1 + 2 * max_uint_len(32);

/// The longest signed envelope [`RouteTxBuilder::build`] can produce (418 bytes): a buffer this
/// long holds every route transaction.
pub const ROUTE_TX_MAX_LEN: usize = HEAD_LEN + MAX_UNSIGNED_FIELDS_LEN + MAX_SIGNATURE_FIELDS_LEN;

// Every string and list stays below 2^16 bytes, so no header outgrows MAX_HEADER_LEN.
const _: () = assert!(MAX_UNSIGNED_FIELDS_LEN + MAX_SIGNATURE_FIELDS_LEN <= u16::MAX as usize);
const _: () = assert!(ROUTE_TX_MAX_LEN == 418);

/// What every route transaction of one block shares; set by the slow lane once per block.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteTxParams {
    /// Chain id the transaction is signed for.
    pub chain_id: u64,
    /// The funds key's next nonce.
    pub nonce: u64,
    /// EIP-1559 fee cap, wei per gas.
    pub max_fee_per_gas: u128,
    /// EIP-1559 priority fee, wei per gas.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit of the backrun.
    pub gas_limit: u64,
    /// Our executor contract.
    pub executor: Address,
}

/// The arguments of one `backrunRoute` call, as the hot lane sized them (see
/// [`encode_backrun_route`] for what is accepted).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct RouteCall<'a> {
    /// Two or three hops, WETH out and back.
    pub route: &'a [RouteHop],
    /// Exactly what the executor spends, in capital-token base units.
    pub amount_in: U256,
    /// The executor reverts unless the round trip nets at least this.
    pub min_profit: U256,
    /// Share of the gross profit paid to the block's coinbase, in basis points.
    pub payment_bps: u32,
}

/// A signed route transaction, borrowing the builder's buffer until the next build.
#[derive(Clone, Copy, PartialEq, Eq)]
pub struct RouteTx<'a> {
    /// The EIP-2718 envelope (`0x02 || rlp(fields)`), as `eth_sendBundle` wants it.
    pub raw: &'a [u8],
    /// The transaction hash, keccak256 of `raw`.
    pub hash: B256,
}

impl fmt::Debug for RouteTx<'_> {
    // Signed payloads stay out of logs: show which transaction, not its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteTx")
            .field("hash", &self.hash)
            .field("len", &self.raw.len())
            .finish()
    }
}

/// Why a route transaction was not built. Neither is retryable: the same inputs fail again.
#[derive(Clone, Copy, Debug, PartialEq, Eq, thiserror::Error)]
pub enum RouteTxError {
    /// The call is one the executor would revert on; no nonce was spent.
    #[error("invalid route call: {0}")]
    Route(#[from] RouteError),
    /// The encoding outgrew its buffer. A bug: the buffer is sized for the longest route.
    #[error("route transaction outgrew its buffer")]
    Overflow,
}

/// Builds and signs `backrunRoute` transactions into buffers it owns; one per hot thread.
pub struct RouteTxBuilder {
    calldata: [u8; BACKRUN_ROUTE_CALLDATA_MAX_LEN],
    /// The signing payload, then the signed envelope (see the module docs).
    tx: [u8; ROUTE_TX_MAX_LEN],
}

impl fmt::Debug for RouteTxBuilder {
    // The buffers hold the last signed transaction: keep it out of logs.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("RouteTxBuilder").finish_non_exhaustive()
    }
}

impl Default for RouteTxBuilder {
    fn default() -> Self {
        Self::new()
    }
}

impl RouteTxBuilder {
    /// A builder with its buffers reserved (inline, about 700 bytes).
    pub fn new() -> Self {
        Self {
            calldata: [0; BACKRUN_ROUTE_CALLDATA_MAX_LEN],
            tx: [0; ROUTE_TX_MAX_LEN],
        }
    }

    /// Encodes `call` to `p.executor` as an EIP-1559 transaction and signs it with `signer`,
    /// finishing a nonce from `presigs`. An empty pool falls back to a full RFC 6979 signature,
    /// counted in [`PresigPool::fallbacks`]; either way the transaction recovers to `signer`.
    ///
    /// The call is checked before a nonce is taken, so a rejected call costs none. No
    /// allocation; the result borrows the builder until the next call.
    pub fn build(
        &mut self,
        p: &RouteTxParams,
        call: &RouteCall<'_>,
        signer: &LocalSigner,
        presigs: &PresigPool,
    ) -> Result<RouteTx<'_>, RouteTxError> {
        let calldata_len = encode_backrun_route(
            &mut self.calldata,
            call.route,
            call.amount_in,
            call.min_profit,
            call.payment_bps,
        )?;
        let calldata = self
            .calldata
            .get(..calldata_len)
            .ok_or(RouteTxError::Overflow)?;
        let mut w = Rlp {
            buf: &mut self.tx,
            len: HEAD_LEN,
        };
        write_unsigned_fields(&mut w, p, calldata)?;
        let digest = keccak256(w.framed()?).0;
        let (rs, parity) = signer.sign_digest_presigned(presigs, digest);
        w.uint(&[parity])?;
        // `r` then `s`, each a big-endian integer.
        for word in rs.chunks_exact(32) {
            w.uint(word)?;
        }
        let raw = w.into_framed()?;
        Ok(RouteTx {
            raw,
            hash: keccak256(raw),
        })
    }
}

/// The nine fields of the EIP-1559 signing payload, in the order EIP-1559 fixes.
fn write_unsigned_fields(
    w: &mut Rlp<'_>,
    p: &RouteTxParams,
    calldata: &[u8],
) -> Result<(), RouteTxError> {
    w.uint(&p.chain_id.to_be_bytes())?;
    w.uint(&p.nonce.to_be_bytes())?;
    w.uint(&p.max_priority_fee_per_gas.to_be_bytes())?;
    w.uint(&p.max_fee_per_gas.to_be_bytes())?;
    w.uint(&p.gas_limit.to_be_bytes())?;
    w.string(p.executor.as_slice())?;
    // Value: zero wei, the empty integer.
    w.uint(&[])?;
    w.string(calldata)?;
    // Access list: empty.
    w.put(&[RLP_LIST])
}

/// An RLP writer over a fixed buffer whose first [`HEAD_LEN`] bytes are left for the type byte
/// and the list header, written last by [`Rlp::framed`].
struct Rlp<'a> {
    buf: &'a mut [u8],
    len: usize,
}

impl<'a> Rlp<'a> {
    fn put(&mut self, bytes: &[u8]) -> Result<(), RouteTxError> {
        let end = self.len.saturating_add(bytes.len());
        self.buf
            .get_mut(self.len..end)
            .ok_or(RouteTxError::Overflow)?
            .copy_from_slice(bytes);
        self.len = end;
        Ok(())
    }

    /// A byte string: one byte below 0x80 is its own encoding, anything else gets a header.
    fn string(&mut self, s: &[u8]) -> Result<(), RouteTxError> {
        match s {
            [b] if *b < RLP_STRING => self.put(s),
            _ => {
                let (head, n) = header(RLP_STRING, s.len())?;
                self.put(head.get(..n).ok_or(RouteTxError::Overflow)?)?;
                self.put(s)
            }
        }
    }

    /// An unsigned integer from its big-endian bytes: leading zeros dropped, zero is empty.
    fn uint(&mut self, be: &[u8]) -> Result<(), RouteTxError> {
        let first = be.iter().position(|&b| b != 0).unwrap_or(be.len());
        self.string(be.get(first..).unwrap_or_default())
    }

    /// Writes the type byte and the list header right before the fields; returns where the
    /// envelope starts.
    fn write_head(&mut self) -> Result<usize, RouteTxError> {
        let fields = self.len.saturating_sub(HEAD_LEN);
        let (head, n) = header(RLP_LIST, fields)?;
        let start = HEAD_LEN - 1 - n;
        let slot = self
            .buf
            .get_mut(start..HEAD_LEN)
            .ok_or(RouteTxError::Overflow)?;
        let (ty, list) = slot.split_first_mut().ok_or(RouteTxError::Overflow)?;
        *ty = EIP1559_TYPE;
        list.copy_from_slice(head.get(..n).ok_or(RouteTxError::Overflow)?);
        Ok(start)
    }

    /// `type || list header || fields` so far; more fields may follow.
    fn framed(&mut self) -> Result<&[u8], RouteTxError> {
        let start = self.write_head()?;
        self.buf.get(start..self.len).ok_or(RouteTxError::Overflow)
    }

    /// The finished envelope, borrowing the buffer for as long as the writer did.
    fn into_framed(mut self) -> Result<&'a [u8], RouteTxError> {
        let start = self.write_head()?;
        let buf: &'a [u8] = self.buf;
        buf.get(start..self.len).ok_or(RouteTxError::Overflow)
    }
}

/// The RLP header of a `len`-byte payload of the kind `offset` names ([`RLP_STRING`] or
/// [`RLP_LIST`]), and how many of its bytes are used.
fn header(offset: u8, len: usize) -> Result<([u8; MAX_HEADER_LEN], usize), RouteTxError> {
    let len = u16::try_from(len).map_err(|_| RouteTxError::Overflow)?;
    Ok(match len.to_be_bytes() {
        // `len <= 55`, so the sum stays below 0x80 + 56.
        [0, short @ 0..=55] => ([offset + short, 0, 0], 1),
        [0, lo] => ([offset + 55 + 1, lo, 0], 2),
        [hi, lo] => ([offset + 55 + 2, hi, lo], 3),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn encoded(f: impl FnOnce(&mut Rlp<'_>) -> Result<(), RouteTxError>) -> Vec<u8> {
        let mut buf = [0u8; 128];
        let mut w = Rlp {
            buf: &mut buf,
            len: 0,
        };
        f(&mut w).unwrap();
        let len = w.len;
        buf[..len].to_vec()
    }

    #[test]
    fn integers_match_the_rlp_spec_examples() {
        // The Ethereum yellow paper / RLP wiki examples, independent of any encoder.
        assert_eq!(encoded(|w| w.uint(&0u64.to_be_bytes())), [0x80]);
        assert_eq!(encoded(|w| w.uint(&[])), [0x80]);
        assert_eq!(encoded(|w| w.uint(&15u64.to_be_bytes())), [0x0f]);
        assert_eq!(encoded(|w| w.uint(&0x7fu64.to_be_bytes())), [0x7f]);
        assert_eq!(encoded(|w| w.uint(&0x80u64.to_be_bytes())), [0x81, 0x80]);
        assert_eq!(
            encoded(|w| w.uint(&1024u64.to_be_bytes())),
            [0x82, 0x04, 0x00]
        );
        let mut max = vec![0x90];
        max.extend([0xff; 16]);
        assert_eq!(encoded(|w| w.uint(&u128::MAX.to_be_bytes())), max);
    }

    #[test]
    fn strings_switch_to_long_form_after_55_bytes() {
        assert_eq!(encoded(|w| w.string(b"dog")), [0x83, b'd', b'o', b'g']);
        assert_eq!(encoded(|w| w.string(&[0x00])), [0x00]);
        assert_eq!(encoded(|w| w.string(&[0x80])), [0x81, 0x80]);
        assert_eq!(encoded(|w| w.string(&[7; 55]))[0], 0xb7);
        assert_eq!(encoded(|w| w.string(&[7; 56]))[..2], [0xb8, 56]);
        assert_eq!(header(RLP_STRING, 1024).unwrap(), ([0xb9, 0x04, 0x00], 3));
        assert_eq!(header(RLP_LIST, 0).unwrap(), ([0xc0, 0, 0], 1));
        assert_eq!(header(RLP_LIST, 55).unwrap(), ([0xf7, 0, 0], 1));
        assert_eq!(header(RLP_LIST, 56).unwrap(), ([0xf8, 56, 0], 2));
        assert_eq!(header(RLP_LIST, 256).unwrap(), ([0xf9, 1, 0], 3));
        assert_eq!(header(RLP_LIST, 1 << 16), Err(RouteTxError::Overflow));
    }

    #[test]
    fn a_full_buffer_is_an_error_not_a_panic() {
        let mut buf = [0u8; 3];
        let mut w = Rlp {
            buf: &mut buf,
            len: 0,
        };
        // The header fits, the body does not.
        assert_eq!(w.string(b"dog"), Err(RouteTxError::Overflow));
        assert_eq!(w.len, 1);
        assert_eq!(w.put(b"do"), Ok(()));
        assert_eq!(w.put(b"!"), Err(RouteTxError::Overflow));
    }

    #[test]
    fn short_lists_frame_right_before_their_fields() {
        let mut buf = [0u8; 16];
        let mut w = Rlp {
            buf: &mut buf,
            len: HEAD_LEN,
        };
        w.string(b"dog").unwrap();
        assert_eq!(
            w.framed().unwrap(),
            [EIP1559_TYPE, 0xc4, 0x83, b'd', b'o', b'g']
        );
    }
}
