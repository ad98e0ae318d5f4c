//! Re-encoding a pending transaction view into its signed EIP-2718 envelope, for a bundle.
//!
//! The envelope is built field by field straight into the caller's reused buffer: lengths are
//! summed first (RLP needs the list length up front), then the header and the fields are
//! written, calldata decoded from hex in place. Only a non-empty access list allocates (a small
//! parsed vector); the common empty list does not.

use crate::WireError;
use crate::frame::TxView;
use crate::hex::{decode_field_into, parse_fixed};
use alloy_primitives::{Address, B256, U256, keccak256};
use alloy_rlp::{EMPTY_STRING_CODE, Encodable, Header};
use serde::Deserialize;
use serde_json::value::RawValue;

/// One entry of a parsed, non-empty access list.
#[derive(Debug)]
struct AccessEntry {
    address: Address,
    storage_keys: Vec<B256>,
}

/// The JSON shape of an access-list entry, borrowed.
#[derive(Deserialize)]
#[serde(rename_all = "camelCase")]
struct AccessEntryJson<'a> {
    #[serde(borrow)]
    address: &'a str,
    #[serde(borrow)]
    storage_keys: Vec<&'a str>,
}

/// One RLP list item of a transaction payload.
#[derive(Clone, Copy)]
enum Item<'a> {
    U64(u64),
    U128(u128),
    U256(U256),
    /// Recipient; `None` (creation) encodes as the empty string.
    To(Option<Address>),
    /// Calldata as hex without `0x`, decoded while writing.
    Data(&'a str),
    AccessList(&'a [AccessEntry]),
}

/// RLP length of a list whose payload is `payload` bytes long.
fn list_len(payload: usize) -> usize {
    Header {
        list: true,
        payload_length: payload,
    }
    .length_with_payload()
}

/// Payload length of one access-list entry: the address and the list of 32-byte keys.
fn entry_payload_len(entry: &AccessEntry) -> usize {
    // 21 = 0x94 + 20 address bytes; 33 = 0xa0 + 32 key bytes.
    21 + list_len(33 * entry.storage_keys.len())
}

impl Item<'_> {
    /// Encoded length of this item.
    fn length(self) -> Result<usize, WireError> {
        Ok(match self {
            Item::U64(n) => n.length(),
            Item::U128(n) => n.length(),
            Item::U256(n) => n.length(),
            Item::To(Some(address)) => address.length(),
            Item::To(None) => 1,
            Item::Data(hex) => match single_byte(hex)? {
                Some(byte) => [byte][..].length(),
                None => Header {
                    list: false,
                    payload_length: hex.len() / 2,
                }
                .length_with_payload(),
            },
            Item::AccessList(entries) => {
                list_len(entries.iter().map(|e| list_len(entry_payload_len(e))).sum())
            }
        })
    }

    /// Append this item's encoding to `out`.
    fn write(self, out: &mut Vec<u8>) -> Result<(), WireError> {
        match self {
            Item::U64(n) => n.encode(out),
            Item::U128(n) => n.encode(out),
            Item::U256(n) => n.encode(out),
            Item::To(Some(address)) => address.encode(out),
            Item::To(None) => out.push(EMPTY_STRING_CODE),
            Item::Data(hex) => write_data(hex, out)?,
            Item::AccessList(entries) => write_access_list(entries, out),
        }
        Ok(())
    }
}

/// The byte of one-byte calldata, which RLP may encode without a header; `None` otherwise.
fn single_byte(hex: &str) -> Result<Option<u8>, WireError> {
    if hex.len() != 2 {
        return Ok(None);
    }
    let mut byte = [0u8; 1];
    decode_field_into(hex, &mut byte, "input")?;
    Ok(Some(byte[0]))
}

/// Calldata as an RLP string, hex decoded straight into `out`'s spare capacity.
fn write_data(hex: &str, out: &mut Vec<u8>) -> Result<(), WireError> {
    if let Some(byte) = single_byte(hex)? {
        [byte][..].encode(out);
        return Ok(());
    }
    let len = hex.len() / 2;
    Header {
        list: false,
        payload_length: len,
    }
    .encode(out);
    let start = out.len();
    out.resize(start + len, 0);
    let target = out.get_mut(start..).ok_or(WireError::TooLong)?;
    decode_field_into(hex, target, "input")?;
    Ok(())
}

/// `[[address, [key, ...]], ...]`.
fn write_access_list(entries: &[AccessEntry], out: &mut Vec<u8>) {
    let payload = entries.iter().map(|e| list_len(entry_payload_len(e))).sum();
    Header {
        list: true,
        payload_length: payload,
    }
    .encode(out);
    for entry in entries {
        Header {
            list: true,
            payload_length: entry_payload_len(entry),
        }
        .encode(out);
        entry.address.encode(out);
        Header {
            list: true,
            payload_length: 33 * entry.storage_keys.len(),
        }
        .encode(out);
        for key in &entry.storage_keys {
            key.encode(out);
        }
    }
}

/// Whether a raw JSON value is `[]` (possibly with whitespace inside).
fn is_empty_list(raw: &RawValue) -> bool {
    raw.get()
        .strip_prefix('[')
        .and_then(|inner| inner.strip_suffix(']'))
        .is_some_and(|inner| inner.trim().is_empty())
}

/// Parse the access list; empty (and absent) lists take the non-allocating fast path.
fn parse_access_list(raw: Option<&RawValue>) -> Result<Vec<AccessEntry>, WireError> {
    let Some(raw) = raw.filter(|raw| !is_empty_list(raw)) else {
        return Ok(Vec::new());
    };
    let entries: Vec<AccessEntryJson<'_>> =
        serde_json::from_str(raw.get()).map_err(|_| WireError::Json)?;
    entries
        .iter()
        .map(|entry| {
            let storage_keys = entry
                .storage_keys
                .iter()
                .map(|key| parse_fixed::<32>(key, "accessList").map(B256::from))
                .collect::<Result<Vec<_>, _>>()?;
            let address = parse_fixed::<20>(entry.address, "accessList").map(Address::from)?;
            Ok(AccessEntry {
                address,
                storage_keys,
            })
        })
        .collect()
}

/// `yParity` of a typed transaction: the field itself, else `v` when it is 0 or 1.
fn y_parity(tx: &TxView<'_>) -> Result<u64, WireError> {
    match (tx.y_parity, tx.v) {
        (Some(parity), _) if parity <= 1 => Ok(u64::from(parity)),
        (None, v) if v <= 1 => Ok(v),
        _ => Err(WireError::BadNumber("yParity")),
    }
}

/// Append the signed EIP-2718 envelope of `tx` (type 0 legacy RLP, 1, 2) to `out` and return
/// the keccak256 of what was written: the transaction hash.
///
/// Type 3, 4 and unknown types return [`WireError::Unsupported`]. `out` is meant to be a reused
/// buffer: when its spare capacity suffices, nothing allocates (except for a non-empty access
/// list). On error `out` is left as it was.
pub fn encode_signed_tx(tx: &TxView<'_>, out: &mut Vec<u8>) -> Result<B256, WireError> {
    let start = out.len();
    match write_envelope(tx, out) {
        Ok(()) => Ok(keccak256(out.get(start..).unwrap_or_default())),
        Err(error) => {
            out.truncate(start);
            Err(error)
        }
    }
}

/// Choose the field list by type and write type byte, list header and fields.
fn write_envelope(tx: &TxView<'_>, out: &mut Vec<u8>) -> Result<(), WireError> {
    let (nonce, gas, to) = (Item::U64(tx.nonce), Item::U64(tx.gas), Item::To(tx.to));
    let (value, data) = (Item::U256(tx.value), Item::Data(tx.input_hex));
    let signature = [Item::U256(tx.r), Item::U256(tx.s)];
    let gas_price = || {
        tx.gas_price
            .map(Item::U128)
            .ok_or(WireError::MissingField("gasPrice"))
    };
    let chain_id = || {
        tx.chain_id
            .map(Item::U64)
            .ok_or(WireError::MissingField("chainId"))
    };
    match tx.tx_type {
        0 => {
            let fields = [nonce, gas_price()?, gas, to, value, data, Item::U64(tx.v)];
            write_list(None, &[&fields, &signature], out)
        }
        1 => {
            let access = parse_access_list(tx.access_list)?;
            let fields = [chain_id()?, nonce, gas_price()?, gas, to, value, data];
            let tail = [Item::AccessList(&access), Item::U64(y_parity(tx)?)];
            write_list(Some(1), &[&fields, &tail, &signature], out)
        }
        2 => {
            let access = parse_access_list(tx.access_list)?;
            let max_priority = tx.max_priority_fee_per_gas.map(Item::U128);
            let max_priority =
                max_priority.ok_or(WireError::MissingField("maxPriorityFeePerGas"))?;
            let max_fee = tx.max_fee_per_gas.map(Item::U128);
            let max_fee = max_fee.ok_or(WireError::MissingField("maxFeePerGas"))?;
            let fields = [
                chain_id()?,
                nonce,
                max_priority,
                max_fee,
                gas,
                to,
                value,
                data,
            ];
            let tail = [Item::AccessList(&access), Item::U64(y_parity(tx)?)];
            write_list(Some(2), &[&fields, &tail, &signature], out)
        }
        _ => Err(WireError::Unsupported),
    }
}

/// Write the optional EIP-2718 type byte, then `rlp([items...])` over all `parts` in order.
fn write_list(
    tx_type: Option<u8>,
    parts: &[&[Item<'_>]],
    out: &mut Vec<u8>,
) -> Result<(), WireError> {
    let items = || parts.iter().flat_map(|part| part.iter().copied());
    let payload_length = items().try_fold(0usize, |sum, item| Ok(sum + item.length()?))?;
    let header = Header {
        list: true,
        payload_length,
    };
    out.reserve(usize::from(tx_type.is_some()) + header.length_with_payload());
    if let Some(tx_type) = tx_type {
        out.push(tx_type);
    }
    header.encode(out);
    items().try_for_each(|item| item.write(out))
}
