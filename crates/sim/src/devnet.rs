//! [`LocalChain`]: an in-memory chain on revm (no node, no I/O) where tests and benches deploy
//! real contract bytecode, run set-up transactions, and then take the resulting state as a
//! [`StateSnapshot`] — the in-memory twin of prefetching from a node.
//!
//! Set-up is not the hot path: every call here builds its own EVM and commits its writes.

use std::sync::Arc;

use alloy_primitives::{Address, B256, Bytes, U256};
use revm::context::result::{EVMError, ExecutionResult, Output};
use revm::context::{BlockEnv, CfgEnv, Context, Journal, TxEnv};
use revm::database::{CacheDB, EmptyDB};
use revm::database_interface::DatabaseRef;
use revm::primitives::TxKind;
use revm::state::AccountInfo;
use revm::{ExecuteCommitEvm, MainBuilder};

use crate::env::{ChainRules, NextBlock};
use crate::simulator::{SimError, Simulator, TxOutcome, TxStatus};
use crate::snapshot::{Miss, SnapshotBuilder, StateSnapshot};
use crate::tx::SimTx;

pub mod v2;

/// Gas limit of every set-up transaction.
const SETUP_GAS: u64 = 30_000_000;

type LocalDb = CacheDB<EmptyDB>;
type SetupContext<'a> =
    Context<BlockEnv, TxEnv, CfgEnv, &'a mut LocalDb, Journal<&'a mut LocalDb>, ()>;

/// What went wrong on the local chain.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum DevnetError {
    /// revm rejected the transaction.
    #[error("transaction rejected: {0}")]
    Rejected(String),
    /// The transaction ran but did not succeed.
    #[error("transaction failed: {0:?}")]
    Failed(Box<TxOutcome>),
    /// A deployment succeeded without creating a contract.
    #[error("deployment created no contract")]
    NoContract,
}

/// An in-memory chain: accounts and contracts in revm's `CacheDB`, fees off (base fee 0).
#[derive(Debug, Clone)]
pub struct LocalChain {
    db: LocalDb,
    rules: ChainRules,
    block: BlockEnv,
}

impl LocalChain {
    /// An empty chain with `rules`, at block 1.
    pub fn new(rules: ChainRules) -> LocalChain {
        let block = BlockEnv {
            number: U256::from(1u64),
            timestamp: U256::from(1_700_000_000u64),
            gas_limit: SETUP_GAS,
            basefee: 0,
            prevrandao: Some(B256::ZERO),
            ..BlockEnv::default()
        };
        LocalChain {
            db: CacheDB::new(EmptyDB::new()),
            rules,
            block,
        }
    }

    /// Sets an account's ETH balance.
    pub fn set_balance(&mut self, address: Address, wei: U256) {
        let mut info = self.account_info(address);
        info.balance = wei;
        self.db.insert_account_info(address, info);
    }

    /// An account's nonce.
    pub fn nonce(&self, address: Address) -> u64 {
        self.account_info(address).nonce
    }

    fn account_info(&self, address: Address) -> AccountInfo {
        self.db
            .basic_ref(address)
            .ok()
            .flatten()
            .unwrap_or_default()
    }

    /// Deploys `init_code` (creation bytecode with its constructor arguments) from `from`.
    pub fn deploy(&mut self, from: Address, init_code: Bytes) -> Result<Address, DevnetError> {
        let result = self.transact(from, TxKind::Create, init_code, U256::ZERO)?;
        match result {
            ExecutionResult::Success {
                output: Output::Create(_, Some(address)),
                ..
            } => Ok(address),
            ExecutionResult::Success { .. } => Err(DevnetError::NoContract),
            other => Err(DevnetError::Failed(Box::new(outcome(other)))),
        }
    }

    /// Sends a call from `from` and commits it; fails unless it succeeds.
    pub fn call(
        &mut self,
        from: Address,
        to: Address,
        data: Bytes,
        value: U256,
    ) -> Result<TxOutcome, DevnetError> {
        let result = self.transact(from, TxKind::Call(to), data, value)?;
        let out = outcome(result);
        if out.status == TxStatus::Success {
            Ok(out)
        } else {
            Err(DevnetError::Failed(Box::new(out)))
        }
    }

    fn transact(
        &mut self,
        from: Address,
        kind: TxKind,
        data: Bytes,
        value: U256,
    ) -> Result<ExecutionResult, DevnetError> {
        let tx = TxEnv {
            caller: from,
            gas_limit: SETUP_GAS,
            gas_price: 0,
            kind,
            value,
            data,
            nonce: self.nonce(from),
            chain_id: Some(self.rules.chain_id),
            ..TxEnv::default()
        };
        let chain_id = self.rules.chain_id;
        let mut ctx: SetupContext<'_> = Context::new(&mut self.db, self.rules.spec);
        ctx.modify_cfg(|cfg| cfg.chain_id = chain_id);
        ctx.block = self.block.clone();
        let mut evm = ctx.build_mainnet();
        evm.transact_commit(tx).map_err(|e| match e {
            EVMError::Transaction(t) => DevnetError::Rejected(t.to_string()),
            other => DevnetError::Rejected(other.to_string()),
        })
    }

    /// `snapshot` plus the answers to `misses` from this chain's state: the in-memory twin of
    /// `kestrel-chain`'s re-fetch from a node.
    pub fn refetch(&self, snapshot: &StateSnapshot, misses: &[Miss]) -> StateSnapshot {
        let mut builder = snapshot.to_builder();
        for miss in misses {
            match *miss {
                Miss::Account(address) => self.add_account(&mut builder, address),
                Miss::Storage(address, slot) => {
                    if !builder.contains_account(address) {
                        self.add_account(&mut builder, address);
                    }
                    let value = self.db.storage_ref(address, slot).unwrap_or_default();
                    builder.storage(address, slot, value);
                }
                Miss::BlockHash(number) => {
                    let hash = self.db.block_hash_ref(number).unwrap_or_default();
                    builder.block_hash(number, hash);
                }
                Miss::Code(_) => {}
            }
        }
        builder.build()
    }

    /// Completes `snapshot` for `txs` the way the slow lane does against a node: simulate,
    /// fetch what missed (here from this chain), repeat, at most `max_rounds` times. Returns the
    /// completed snapshot and the misses in the order they came.
    pub fn complete_for(
        &self,
        snapshot: Arc<StateSnapshot>,
        block: &NextBlock,
        txs: &[SimTx],
        max_rounds: usize,
    ) -> Result<(Arc<StateSnapshot>, Vec<Miss>), SimError> {
        let mut snapshot = snapshot;
        let mut sim = Simulator::new(Arc::clone(&snapshot), self.rules);
        let mut seen = Vec::new();
        loop {
            match sim.run(block, txs) {
                Ok(_) => return Ok((snapshot, seen)),
                Err(SimError::Miss { miss, .. }) if seen.len() < max_rounds => {
                    seen.push(miss);
                    let pending: Vec<Miss> = sim.misses_mut().drain().collect();
                    snapshot = Arc::new(self.refetch(&snapshot, &pending));
                    sim.set_snapshot(Arc::clone(&snapshot));
                }
                Err(e) => return Err(e),
            }
        }
    }

    fn add_account(&self, builder: &mut SnapshotBuilder, address: Address) {
        let info = self.account_info(address);
        let code = self.code_of(&info);
        builder.account(address, info.balance, info.nonce, code);
    }

    fn code_of(&self, info: &AccountInfo) -> Bytes {
        info.code
            .clone()
            .or_else(|| self.db.cache.contracts.get(&info.code_hash).cloned())
            .map(|c| c.original_bytes())
            .unwrap_or_default()
    }

    /// The whole state as a snapshot of `block`: every account the chain knows, with all its
    /// storage.
    pub fn snapshot(&self, block: u64) -> StateSnapshot {
        let mut builder = SnapshotBuilder::new(block);
        for (address, account) in &self.db.cache.accounts {
            let info = &account.info;
            builder.account(*address, info.balance, info.nonce, self.code_of(info));
            for (slot, value) in &account.storage {
                builder.storage(*address, *slot, *value);
            }
        }
        builder.build()
    }
}

fn outcome(result: ExecutionResult) -> TxOutcome {
    TxOutcome::from_result(B256::ZERO, result)
}
