//! [`Simulator`]: executes an ordered sequence of transactions (the victim, then our backrun) on
//! a [`StateSnapshot`] for the next block, each seeing the previous one's writes.
//!
//! The overlay is revm's own journal: transactions run one after another without finalising,
//! so their writes pile up in the journal over the untouched snapshot, and the state after the
//! sequence can be read back ([`Simulator::storage`], [`Simulator::balance`],
//! [`Simulator::view_call`]) until the next run clears it. The EVM, its journal and its frame
//! stack are kept from one run to the next, so the buffers they grew are reused.

use std::cell::Cell;
use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, Log, U256};
use revm::DatabaseRef;
use revm::bytecode::Bytecode;
use revm::context::result::{
    EVMError, ExecutionResult, HaltReason, InvalidHeader, InvalidTransaction, Output,
};
use revm::context::{BlockEnv, CfgEnv, Context, Journal, TxEnv};
use revm::database_interface::WrapDatabaseRef;
use revm::handler::system_call::SYSTEM_ADDRESS;
use revm::state::AccountInfo;
use revm::{ExecuteEvm, MainBuilder, MainnetEvm, SystemCallEvm};

use crate::env::{ChainRules, NextBlock};
use crate::misses::MissLog;
use crate::snapshot::{Miss, StateSnapshot, address_key, mapping_slot};
use crate::tx::SimTx;

/// The sender of a pending transaction that the snapshot has never seen, as the node's mempool
/// vouches for it: a node admits a transaction only if its sender's nonce is next and its
/// balance covers the gas at the fee cap plus the value. A run that presumes one gives that
/// sender exactly this nonce and balance and no code; an account the snapshot does hold is read
/// from the snapshot instead (the snapshot knows better).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PresumedSender {
    /// The sender.
    pub address: Address,
    /// The transaction's nonce.
    pub nonce: u64,
    /// The least balance the transaction needs: `gas_limit * max_fee_per_gas + value`, plus its
    /// blob gas at `max_fee_per_blob_gas` for an EIP-4844 transaction.
    pub balance: U256,
}

/// Mapping slots `0..SENDER_MAPPING_SLOTS` whose entry for a presumed sender reads as zero when
/// the snapshot lacks it (see [`SimDb`]).
pub const SENDER_MAPPING_SLOTS: usize = 10;

/// The database revm reads: the shared snapshot, and for one run a presumed sender.
///
/// A presumed sender's own entries in contracts' mappings (`balanceOf[sender]` of the token it
/// receives) were never prefetched either. A slot of a contract the snapshot holds, missing from
/// it, and equal to `keccak256(sender . p)` for a mapping at position `p <
/// SENDER_MAPPING_SLOTS` (Solidity's layout) reads as zero: what the sender held before does
/// not change what the pools do. The first such read is remembered
/// ([`Simulator::presumed_slot`]): when the sender's transaction then fails, the presumption is
/// the likely cause (a token it spends), and the caller reports a miss for that slot instead of
/// a disagreement.
#[derive(Debug, Clone)]
pub struct SimDb {
    snapshot: Arc<StateSnapshot>,
    presumed: Option<PresumedSender>,
    sender_slots: [U256; SENDER_MAPPING_SLOTS],
    presumed_read: Cell<Option<(Address, U256)>>,
}

impl SimDb {
    fn new(snapshot: Arc<StateSnapshot>) -> SimDb {
        SimDb {
            snapshot,
            presumed: None,
            sender_slots: [U256::ZERO; SENDER_MAPPING_SLOTS],
            presumed_read: Cell::new(None),
        }
    }

    /// Presumes `presumed` (or nothing) for the next run.
    fn presume(&mut self, presumed: Option<PresumedSender>) {
        self.presumed = presumed;
        self.presumed_read.set(None);
        if let Some(p) = presumed {
            let key = address_key(p.address);
            for (position, slot) in (0u64..).zip(self.sender_slots.iter_mut()) {
                *slot = mapping_slot(key, position);
            }
        }
    }

    /// The presumed sender, when the snapshot does not know the account.
    fn presumed(&self, address: Address) -> Option<&PresumedSender> {
        self.presumed
            .as_ref()
            .filter(|p| p.address == address && !self.snapshot.contains_account(address))
    }
}

impl DatabaseRef for SimDb {
    type Error = Miss;

    fn basic_ref(&self, address: Address) -> Result<Option<AccountInfo>, Miss> {
        match self.presumed(address) {
            Some(p) => Ok(Some(
                AccountInfo::default()
                    .with_balance(p.balance)
                    .with_nonce(p.nonce),
            )),
            None => self.snapshot.basic_ref(address),
        }
    }

    fn code_by_hash_ref(&self, code_hash: B256) -> Result<Bytecode, Miss> {
        self.snapshot.code_by_hash_ref(code_hash)
    }

    fn storage_ref(&self, address: Address, index: U256) -> Result<U256, Miss> {
        // An account without code has no storage.
        if self.presumed(address).is_some() {
            return Ok(U256::ZERO);
        }
        match self.snapshot.storage_ref(address, index) {
            Err(Miss::Storage(..))
                if self.presumed.is_some() && self.sender_slots.contains(&index) =>
            {
                if self.presumed_read.get().is_none() {
                    self.presumed_read.set(Some((address, index)));
                }
                Ok(U256::ZERO)
            }
            other => other,
        }
    }

    fn block_hash_ref(&self, number: u64) -> Result<B256, Miss> {
        self.snapshot.block_hash_ref(number)
    }
}

/// The database as revm's context holds it.
type SnapshotDb = WrapDatabaseRef<SimDb>;
/// revm's mainnet context over the snapshot.
type SimContext = Context<BlockEnv, TxEnv, CfgEnv, SnapshotDb, Journal<SnapshotDb>, ()>;

/// How a transaction ended.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum TxStatus {
    /// Receipt status 1.
    Success,
    /// `REVERT`: receipt status 0; the outcome's `output` holds the revert data.
    Revert,
    /// Exceptional halt (out of gas, invalid opcode, ...): receipt status 0, all gas spent.
    Halt(HaltReason),
}

/// One executed transaction, as its receipt would show it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TxOutcome {
    /// The transaction's hash (zero for view calls).
    pub hash: B256,
    /// Success, revert or halt.
    pub status: TxStatus,
    /// Gas used after refunds: the receipt's `gasUsed`.
    pub gas_used: u64,
    /// Logs emitted (empty unless it succeeded).
    pub logs: Vec<Log>,
    /// Return data, or the revert data of a revert.
    pub output: Bytes,
}

impl TxOutcome {
    pub(crate) fn from_result(hash: B256, result: ExecutionResult) -> TxOutcome {
        let gas_used = result.tx_gas_used();
        match result {
            ExecutionResult::Success { logs, output, .. } => {
                let output = match output {
                    Output::Call(bytes) | Output::Create(bytes, _) => bytes,
                };
                TxOutcome {
                    hash,
                    status: TxStatus::Success,
                    gas_used,
                    logs,
                    output,
                }
            }
            ExecutionResult::Revert { logs, output, .. } => TxOutcome {
                hash,
                status: TxStatus::Revert,
                gas_used,
                logs,
                output,
            },
            ExecutionResult::Halt { reason, logs, .. } => TxOutcome {
                hash,
                status: TxStatus::Halt(reason),
                gas_used,
                logs,
                output: Bytes::new(),
            },
        }
    }

    /// Receipt status 1.
    pub fn is_success(&self) -> bool {
        self.status == TxStatus::Success
    }
}

/// Why a sequence could not be simulated to the end.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum SimError {
    /// Transaction `index` needed state the snapshot does not have (recorded in the miss log).
    #[error("tx {index}: {miss}")]
    Miss {
        /// Position in the sequence.
        index: usize,
        /// What was missing.
        miss: Miss,
    },
    /// Transaction `index` is not valid in this block (nonce, balance, fee cap, chain id...):
    /// a block builder would drop it, and the bundle with it.
    #[error("tx {index} is invalid: {reason}")]
    Invalid {
        /// Position in the sequence.
        index: usize,
        /// revm's reason.
        reason: InvalidTransaction,
    },
    /// The block environment is incomplete.
    #[error("invalid block environment: {0}")]
    Header(InvalidHeader),
    /// Anything else revm reports (a fatal precompile error).
    #[error("tx {index}: evm error: {detail}")]
    Evm {
        /// Position in the sequence.
        index: usize,
        /// revm's message.
        detail: String,
    },
}

/// The position reported for errors of a view call, which is not part of the sequence.
pub const VIEW_CALL_INDEX: usize = usize::MAX;

/// Executes transaction sequences on a snapshot; one per thread, reused across runs.
#[derive(Debug)]
pub struct Simulator {
    evm: MainnetEvm<SimContext>,
    outcomes: Vec<TxOutcome>,
    misses: MissLog,
}

impl Simulator {
    /// A simulator over `snapshot` with the chain's rules.
    pub fn new(snapshot: Arc<StateSnapshot>, rules: ChainRules) -> Simulator {
        let db = SimDb::new(snapshot);
        let ctx = SimContext::new(WrapDatabaseRef(db), rules.spec)
            .modify_cfg_chained(|cfg| cfg.chain_id = rules.chain_id);
        Simulator {
            evm: ctx.build_mainnet(),
            outcomes: Vec::with_capacity(4),
            misses: MissLog::default(),
        }
    }

    /// Switches to another snapshot (the next block's), keeping the EVM's buffers.
    pub fn set_snapshot(&mut self, snapshot: Arc<StateSnapshot>) {
        self.reset();
        self.evm.ctx.journaled_state.database.0.snapshot = snapshot;
    }

    /// The snapshot simulations run on.
    pub fn snapshot(&self) -> &Arc<StateSnapshot> {
        &self.evm.ctx.journaled_state.database.0.snapshot
    }

    /// The first slot the last run read as a presumed sender's zero mapping entry (see
    /// [`SimDb`]), if any.
    pub fn presumed_slot(&self) -> Option<(Address, U256)> {
        self.evm.ctx.journaled_state.database.0.presumed_read.get()
    }

    /// Misses seen so far, for the slow lane to fetch.
    pub fn misses(&self) -> &MissLog {
        &self.misses
    }

    /// Mutable access to the miss log (to drain it).
    pub fn misses_mut(&mut self) -> &mut MissLog {
        &mut self.misses
    }

    /// Executes `txs` in order in `block`, each on the state the previous one left. Reverts and
    /// halts are outcomes, not errors: an error means the sequence could not be simulated (a
    /// snapshot miss, an invalid transaction), and then the overlay is cleared.
    pub fn run(&mut self, block: &NextBlock, txs: &[SimTx]) -> Result<&[TxOutcome], SimError> {
        self.run_presuming(block, txs, None)
    }

    /// [`Simulator::run`], with `presumed` standing in for a sender the snapshot has never seen
    /// (a pending transaction's, see [`PresumedSender`]). The presumption holds for this run
    /// and the reads after it, until the next run.
    pub fn run_presuming(
        &mut self,
        block: &NextBlock,
        txs: &[SimTx],
        presumed: Option<PresumedSender>,
    ) -> Result<&[TxOutcome], SimError> {
        self.reset();
        self.evm.ctx.journaled_state.database.0.presume(presumed);
        self.evm.set_block(block.to_block_env());
        for (index, tx) in txs.iter().enumerate() {
            match self.evm.transact_one(tx.env().clone()) {
                Ok(result) => self
                    .outcomes
                    .push(TxOutcome::from_result(tx.hash(), result)),
                Err(e) => {
                    let error = self.classify(index, e);
                    self.reset();
                    return Err(error);
                }
            }
        }
        Ok(&self.outcomes)
    }

    /// The outcomes of the last successful [`Simulator::run`].
    pub fn outcomes(&self) -> &[TxOutcome] {
        &self.outcomes
    }

    /// A storage slot after the last run: the overlay's value, else the snapshot's.
    pub fn storage(&self, address: Address, slot: U256) -> Result<U256, Miss> {
        let journal = &self.evm.ctx.journaled_state;
        if let Some(account) = journal.inner.state.get(&address) {
            if let Some(value) = account.storage.get(&slot) {
                return Ok(value.present_value);
            }
            if account.is_created() {
                return Ok(U256::ZERO);
            }
        }
        journal.database.0.storage_ref(address, slot)
    }

    /// An account's ETH balance after the last run.
    pub fn balance(&self, address: Address) -> Result<U256, Miss> {
        let journal = &self.evm.ctx.journaled_state;
        if let Some(account) = journal.inner.state.get(&address) {
            return Ok(account.info.balance);
        }
        Ok(journal
            .database
            .0
            .basic_ref(address)?
            .map_or(U256::ZERO, |info| info.balance))
    }

    /// A read-only call on the state after the last run, like `eth_call` at the end of the
    /// sequence (no fee, no nonce; the caller is the system address). Its own writes, if any,
    /// stay in the overlay until the next run.
    pub fn view_call(&mut self, to: Address, data: Bytes) -> Result<TxOutcome, SimError> {
        match self
            .evm
            .system_call_one_with_caller(SYSTEM_ADDRESS, to, data)
        {
            Ok(result) => Ok(TxOutcome::from_result(B256::ZERO, result)),
            Err(e) => Err(self.classify(VIEW_CALL_INDEX, e)),
        }
    }

    /// `token.balanceOf(owner)` after the last run, through a [`Simulator::view_call`].
    pub fn erc20_balance(&mut self, token: Address, owner: Address) -> Result<U256, SimError> {
        let outcome = self.view_call(token, balance_of_calldata(owner))?;
        match (&outcome.status, outcome.output.len()) {
            (TxStatus::Success, 32) => Ok(U256::from_be_slice(&outcome.output)),
            _ => Err(SimError::Evm {
                index: VIEW_CALL_INDEX,
                detail: format!("balanceOf on {token} did not return one word: {outcome:?}"),
            }),
        }
    }

    /// Drops the overlay (keeping its table's capacity) and the outcomes.
    fn reset(&mut self) {
        let mut state = self.evm.finalize();
        state.clear();
        self.evm.ctx.journaled_state.inner.state = state;
        self.outcomes.clear();
    }

    fn classify(&mut self, index: usize, e: EVMError<Miss, InvalidTransaction>) -> SimError {
        match e {
            EVMError::Database(miss) => {
                self.misses.record(miss);
                SimError::Miss { index, miss }
            }
            EVMError::Transaction(reason) => SimError::Invalid { index, reason },
            EVMError::Header(h) => SimError::Header(h),
            EVMError::Custom(detail) => SimError::Evm { index, detail },
            EVMError::CustomAny(any) => SimError::Evm {
                index,
                detail: any.to_string(),
            },
        }
    }
}

/// ABI calldata of `balanceOf(address)`.
pub fn balance_of_calldata(owner: Address) -> Bytes {
    // keccak256("balanceOf(address)")[..4]
    const SELECTOR: [u8; 4] = [0x70, 0xa0, 0x82, 0x31];
    let mut data = [0u8; 36];
    data[..4].copy_from_slice(&SELECTOR);
    data[16..].copy_from_slice(owner.as_slice());
    Bytes::copy_from_slice(&data)
}
