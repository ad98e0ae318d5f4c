//! [`StateSnapshot`]: the chain's state at one block, prefetched by the slow lane and shared
//! read-only (behind an `Arc`) with whoever simulates on it.
//!
//! A snapshot answers exactly what was prefetched. Anything else is a [`Miss`], returned as the
//! database error so that revm stops at once, never a node request. Three answers are possible
//! for an account:
//!
//! - **present**: prefetched with balance, nonce and code;
//! - **known absent**: prefetched and found empty (no balance, nonce 0, no code). revm sees it
//!   as not existing (`None`), which is what the chain says, and its storage is all zero;
//! - **unknown**: a [`Miss::Account`].
//!
//! A storage slot of a present account with code must have been prefetched, or it is a
//! [`Miss::Storage`]. Accounts without code (EOAs, known-absent accounts) have no storage, so
//! their slots read zero without a miss.

use std::fmt;

use alloy_primitives::map::{AddressMap, B256Map, HashMap};
use alloy_primitives::{Address, B256, Bytes, KECCAK256_EMPTY, U256, keccak256};
use kestrel_types::SimMissEvent;
use revm::DatabaseRef;
use revm::bytecode::Bytecode;
use revm::database_interface::DBErrorMarker;
use revm::state::AccountInfo;

/// A lookup outside the prefetched set: what the slow lane must fetch for next time.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Miss {
    /// An account (balance, nonce, code) that was neither prefetched nor known absent.
    Account(Address),
    /// Bytecode by hash that no prefetched account carries.
    Code(B256),
    /// A storage slot of a prefetched contract.
    Storage(Address, U256),
    /// The hash of a block (the `BLOCKHASH` opcode).
    BlockHash(u64),
}

/// The kind of a [`Miss`], for counters: the engine's [`SimMissKind`] (one enum for the
/// simulator's counters, the hot lane's events and the metrics' labels).
pub use kestrel_types::SimMissKind as MissKind;

impl Miss {
    /// Which kind of lookup missed.
    pub const fn kind(&self) -> MissKind {
        match self {
            Miss::Account(_) => MissKind::Account,
            Miss::Code(_) => MissKind::Code,
            Miss::Storage(..) => MissKind::Storage,
            Miss::BlockHash(_) => MissKind::BlockHash,
        }
    }

    /// The miss as the hot lane reports it to the slow lane (`victim`'s confirmation at head
    /// `block`); [`Miss::from_event`] is the inverse.
    pub fn to_event(self, victim: B256, block: u64) -> SimMissEvent {
        let (address, slot, number) = match self {
            Miss::Account(a) => (a, U256::ZERO, 0),
            Miss::Code(h) => (Address::ZERO, U256::from_be_bytes(h.0), 0),
            Miss::Storage(a, s) => (a, s, 0),
            Miss::BlockHash(n) => (Address::ZERO, U256::ZERO, n),
        };
        SimMissEvent {
            tx_hash: victim,
            block,
            kind: self.kind(),
            address,
            slot,
            number,
        }
    }

    /// The miss a [`SimMissEvent`] reports.
    pub fn from_event(ev: &SimMissEvent) -> Miss {
        match ev.kind {
            MissKind::Account => Miss::Account(ev.address),
            MissKind::Code => Miss::Code(B256::from(ev.slot.to_be_bytes())),
            MissKind::Storage => Miss::Storage(ev.address, ev.slot),
            MissKind::BlockHash => Miss::BlockHash(ev.number),
        }
    }
}

/// The slot of `mapping[key]` for a Solidity mapping declared at slot `position`:
/// `keccak256(key . position)`, `key` as its 32-byte ABI word.
pub fn mapping_slot(key: B256, position: u64) -> U256 {
    let mut buf = [0u8; 64];
    buf[..32].copy_from_slice(key.as_slice());
    buf[56..].copy_from_slice(&position.to_be_bytes());
    U256::from_be_bytes(keccak256(buf).0)
}

/// An address as a mapping key's ABI word.
pub fn address_key(a: Address) -> B256 {
    a.into_word()
}

/// A signed integer (`int24` tick, `int16` word position) as a mapping key's ABI word: two's
/// complement, sign-extended to 256 bits.
pub fn int_key(v: i64) -> B256 {
    B256::from(
        alloy_primitives::I256::try_from(v)
            .unwrap_or_default()
            .to_be_bytes::<32>(),
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_miss_survives_the_trip_through_its_event() {
        let misses = [
            Miss::Account(Address::repeat_byte(1)),
            Miss::Code(B256::repeat_byte(0xfe)),
            Miss::Storage(Address::repeat_byte(2), U256::MAX - U256::from(5)),
            Miss::BlockHash(u64::MAX),
        ];
        for miss in misses {
            let ev = miss.to_event(B256::repeat_byte(7), 9);
            assert_eq!(
                (ev.kind, ev.tx_hash, ev.block),
                (miss.kind(), B256::repeat_byte(7), 9)
            );
            assert_eq!(Miss::from_event(&ev), miss);
        }
    }

    #[test]
    fn mapping_slots_are_solidity_s_keccak_of_key_and_position() {
        use alloy_sol_types::SolValue;
        let owner = Address::repeat_byte(0xab);
        let solidity = keccak256((owner, U256::from(3)).abi_encode_params());
        assert_eq!(
            mapping_slot(address_key(owner), 3),
            U256::from_be_bytes(solidity.0)
        );
        // A negative key is sign-extended, as Solidity encodes int24 and int16.
        let tick = alloy_primitives::I256::try_from(-887_220i64).unwrap();
        let solidity = keccak256((tick, U256::from(5)).abi_encode_params());
        assert_eq!(
            mapping_slot(int_key(-887_220), 5),
            U256::from_be_bytes(solidity.0)
        );
    }
}

impl fmt::Display for Miss {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Miss::Account(a) => write!(f, "account {a} not in the snapshot"),
            Miss::Code(h) => write!(f, "code {h} not in the snapshot"),
            Miss::Storage(a, s) => write!(f, "storage slot {s:#x} of {a} not in the snapshot"),
            Miss::BlockHash(n) => write!(f, "hash of block {n} not in the snapshot"),
        }
    }
}

impl std::error::Error for Miss {}

// A miss ends the simulation, but the engine is fine: the slow lane fetches it for next time.
impl DBErrorMarker for Miss {
    fn is_fatal(&self) -> bool {
        false
    }
}

/// What the snapshot knows about an account itself.
#[derive(Debug, Clone)]
enum Known {
    /// Only slots were added so far: the account itself is still a miss.
    SlotsOnly,
    /// Prefetched and found empty: revm is told it does not exist.
    Absent,
    /// Balance, nonce, code hash and the analysed code (revm never asks for code by hash for
    /// these accounts because the code travels with the info).
    Present(AccountInfo),
}

/// One account of the snapshot.
#[derive(Debug, Clone)]
struct Entry {
    known: Known,
    /// Slot → value; only meaningful for accounts with code.
    storage: HashMap<U256, U256>,
}

impl Entry {
    fn new() -> Entry {
        Entry {
            known: Known::SlotsOnly,
            storage: HashMap::default(),
        }
    }
}

/// Immutable prefetched state at one block. Build it with [`SnapshotBuilder`].
#[derive(Clone, Default)]
pub struct StateSnapshot {
    block: u64,
    accounts: AddressMap<Entry>,
    code: B256Map<Bytecode>,
    block_hashes: HashMap<u64, B256>,
}

impl fmt::Debug for StateSnapshot {
    // Summarised: a snapshot holds thousands of slots.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("StateSnapshot")
            .field("block", &self.block)
            .field("accounts", &self.accounts.len())
            .field("slots", &self.slot_count())
            .field("block_hashes", &self.block_hashes.len())
            .finish()
    }
}

impl StateSnapshot {
    /// The block whose post-state this is.
    pub fn block(&self) -> u64 {
        self.block
    }

    /// Number of accounts, present or known absent.
    pub fn account_count(&self) -> usize {
        let known = |e: &&Entry| !matches!(e.known, Known::SlotsOnly);
        self.accounts.values().filter(known).count()
    }

    /// Number of prefetched storage slots.
    pub fn slot_count(&self) -> usize {
        self.accounts.values().map(|e| e.storage.len()).sum()
    }

    /// Whether the account is in the snapshot (present or known absent).
    pub fn contains_account(&self, address: Address) -> bool {
        self.info(address).is_ok()
    }

    /// The account's balance, nonce and code hash, `None` when it is known absent.
    pub fn account(&self, address: Address) -> Result<Option<(U256, u64, B256)>, Miss> {
        Ok(self
            .info(address)?
            .map(|i| (i.balance, i.nonce, i.code_hash)))
    }

    /// A storage slot, with the same answers revm gets.
    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, Miss> {
        let entry = self.accounts.get(&address).ok_or(Miss::Account(address))?;
        match &entry.known {
            Known::SlotsOnly => Err(Miss::Account(address)),
            Known::Absent => Ok(U256::ZERO),
            Known::Present(info) if info.code_hash == KECCAK256_EMPTY => Ok(U256::ZERO),
            Known::Present(_) => entry
                .storage
                .get(&slot)
                .copied()
                .ok_or(Miss::Storage(address, slot)),
        }
    }

    /// Every account the snapshot answers for (present or known absent).
    pub fn addresses(&self) -> impl Iterator<Item = Address> + '_ {
        self.accounts
            .iter()
            .filter(|(_, e)| !matches!(e.known, Known::SlotsOnly))
            .map(|(a, _)| *a)
    }

    /// Every prefetched storage slot's key: what to fetch again at the next block.
    pub fn slots(&self) -> impl Iterator<Item = (Address, U256)> + '_ {
        self.accounts
            .iter()
            .flat_map(|(a, e)| e.storage.keys().map(move |s| (*a, *s)))
    }

    /// The account as revm sees it: `None` when known absent.
    fn info(&self, address: Address) -> Result<Option<&AccountInfo>, Miss> {
        let entry = self.accounts.get(&address).ok_or(Miss::Account(address))?;
        match &entry.known {
            Known::SlotsOnly => Err(Miss::Account(address)),
            Known::Absent => Ok(None),
            Known::Present(info) => Ok(Some(info)),
        }
    }

    /// A builder that starts from this snapshot's contents (to add what missed).
    pub fn to_builder(&self) -> SnapshotBuilder {
        SnapshotBuilder {
            inner: self.clone(),
        }
    }
}

impl DatabaseRef for StateSnapshot {
    type Error = Miss;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Miss> {
        // Cheap: the code is reference-counted.
        Ok(self.info(address)?.cloned())
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Miss> {
        if code_hash == KECCAK256_EMPTY {
            return Ok(Bytecode::default());
        }
        self.code
            .get(&code_hash)
            .cloned()
            .ok_or(Miss::Code(code_hash))
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Miss> {
        self.storage(address, index)
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Miss> {
        self.block_hashes
            .get(&number)
            .copied()
            .ok_or(Miss::BlockHash(number))
    }
}

/// Builds a [`StateSnapshot`]; the last value given for an item wins.
#[derive(Debug, Default, Clone)]
pub struct SnapshotBuilder {
    inner: StateSnapshot,
}

impl SnapshotBuilder {
    /// An empty snapshot of the post-state of `block`.
    pub fn new(block: u64) -> SnapshotBuilder {
        SnapshotBuilder {
            inner: StateSnapshot {
                block,
                ..StateSnapshot::default()
            },
        }
    }

    /// Sets the block the snapshot belongs to.
    pub fn set_block(&mut self, block: u64) -> &mut Self {
        self.inner.block = block;
        self
    }

    /// An account as fetched: balance, nonce and (possibly empty) runtime code. An account with
    /// no balance, nonce 0 and no code is recorded as known absent, as the chain reports it.
    /// Keeps the account's slots if it was already there.
    pub fn account(
        &mut self,
        address: Address,
        balance: U256,
        nonce: u64,
        code: Bytes,
    ) -> &mut Self {
        let absent = balance.is_zero() && nonce == 0 && code.is_empty();
        let info = if code.is_empty() {
            AccountInfo::default()
                .with_balance(balance)
                .with_nonce(nonce)
        } else {
            let hash = keccak256(&code);
            let bytecode = Bytecode::new_raw(code);
            self.inner.code.insert(hash, bytecode.clone());
            AccountInfo::default()
                .with_balance(balance)
                .with_nonce(nonce)
                .with_code_and_hash(bytecode, hash)
        };
        let entry = self
            .inner
            .accounts
            .entry(address)
            .or_insert_with(Entry::new);
        entry.known = if absent {
            Known::Absent
        } else {
            Known::Present(info)
        };
        self
    }

    /// An account that does not exist at the block (prefetched and found empty).
    pub fn absent(&mut self, address: Address) -> &mut Self {
        self.account(address, U256::ZERO, 0, Bytes::new())
    }

    /// A storage slot's value. The account itself must be added with [`SnapshotBuilder::account`]
    /// too, or revm misses on it before it ever reads the slot.
    pub fn storage(&mut self, address: Address, slot: U256, value: U256) -> &mut Self {
        let entry = self
            .inner
            .accounts
            .entry(address)
            .or_insert_with(Entry::new);
        entry.storage.insert(slot, value);
        self
    }

    /// The hash of block `number`.
    pub fn block_hash(&mut self, number: u64, hash: B256) -> &mut Self {
        self.inner.block_hashes.insert(number, hash);
        self
    }

    /// Whether the account was added (present or absent).
    pub fn contains_account(&self, address: Address) -> bool {
        self.inner.contains_account(address)
    }

    /// The finished, immutable snapshot.
    pub fn build(self) -> StateSnapshot {
        self.inner
    }
}
