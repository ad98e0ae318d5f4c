//! State prefetch for simulation: learn which accounts and slots a set of representative calls
//! touch (`eth_createAccessList` at the block), fetch exactly those (balances, nonces, code,
//! storage) at that block with a bounded number of requests in flight, and build an immutable
//! [`StateSnapshot`]. [`Chain::refetch`] adds what a simulation later missed.
//!
//! Representative calls are whatever the engine may simulate next: a swap through each watched
//! pool, our executor's backrun over each cycle. A call whose access list cannot be computed
//! (it reverts early, say) still contributes its sender and target; what it would have touched
//! beyond that shows up as a miss and is fetched for the next snapshot.

use std::collections::BTreeSet;

use alloy::eips::BlockId;
use alloy::network::TransactionBuilder;
use alloy::primitives::{Address, B256, Bytes, U256};
use alloy::providers::Provider;
use alloy::rpc::types::{BlockNumberOrTag, TransactionRequest};
use futures_util::{StreamExt, TryStreamExt, stream};
use kestrel_sim::{Miss, SnapshotBuilder, StateSnapshot};

use crate::{Chain, ChainError, transport};

/// Requests kept in flight at once while prefetching.
pub const PREFETCH_CONCURRENCY: usize = 32;

/// The precompiles of Prague (0x01..=0x11). Calls to them load the account, and access lists
/// leave them out, so they are always fetched.
pub fn precompiles() -> impl Iterator<Item = Address> {
    (1u8..=0x11).map(Address::with_last_byte)
}

/// A representative call: what would touch the state the engine will simulate on.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PrefetchCall {
    /// The sender (its balance and nonce matter too).
    pub from: Address,
    /// The contract called.
    pub to: Address,
    /// Calldata.
    pub data: Bytes,
    /// ETH sent.
    pub value: U256,
}

/// What a prefetch did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct PrefetchReport {
    /// Calls whose access list the node computed.
    pub calls_listed: usize,
    /// Calls the node could not list (a transport error or an early failure); their sender and
    /// target are still fetched.
    pub calls_failed: usize,
    /// The node's answer to the first call it could not list.
    pub first_failure: Option<String>,
    /// Accounts fetched (present or absent).
    pub accounts: usize,
    /// Storage slots fetched.
    pub slots: usize,
}

/// One account read at a block.
struct FetchedAccount {
    address: Address,
    balance: U256,
    nonce: u64,
    code: Bytes,
}

impl Chain {
    /// Prefetches the state `calls` touch at `block`, plus the `extra` accounts (the next
    /// block's coinbase, our executor) and the precompiles, into a snapshot of that block. The
    /// snapshot also holds `block`'s own hash.
    ///
    /// With `previous` (the last block's snapshot, grown by re-fetches), every account and slot
    /// it held is fetched again too: what simulations missed once is not missed again.
    pub async fn prefetch(
        &self,
        block: u64,
        calls: &[PrefetchCall],
        extra: &[Address],
        previous: Option<&StateSnapshot>,
    ) -> Result<(StateSnapshot, PrefetchReport), ChainError> {
        self.prefetch_with_slots(block, calls, extra, &[], previous)
            .await
    }

    /// [`Chain::prefetch`], plus `slots` known in advance (a V3 pool's ticks around its price,
    /// computed from its storage layout).
    pub async fn prefetch_with_slots(
        &self,
        block: u64,
        calls: &[PrefetchCall],
        extra: &[Address],
        extra_slots: &[(Address, U256)],
        previous: Option<&StateSnapshot>,
    ) -> Result<(StateSnapshot, PrefetchReport), ChainError> {
        let at = BlockId::number(block);
        // Owned items (not `&PrefetchCall`): the future stays `Send` inside `tokio::spawn`.
        let lists = stream::iter(calls.to_vec())
            .map(|c| async move { self.access_list(&c, at).await })
            .buffered(PREFETCH_CONCURRENCY)
            .collect::<Vec<_>>()
            .await;
        let mut report = PrefetchReport::default();
        let mut accounts: BTreeSet<Address> = extra.iter().copied().chain(precompiles()).collect();
        let mut slots: BTreeSet<(Address, U256)> = extra_slots.iter().copied().collect();
        for (a, _) in extra_slots {
            accounts.insert(*a);
        }
        if let Some(previous) = previous {
            accounts.extend(previous.addresses());
            slots.extend(previous.slots());
        }
        for (call, list) in calls.iter().zip(lists) {
            accounts.insert(call.from);
            accounts.insert(call.to);
            let list = match list {
                Ok(list) => list,
                Err(e) => {
                    report.calls_failed += 1;
                    report.first_failure.get_or_insert(e);
                    continue;
                }
            };
            report.calls_listed += 1;
            for item in list.0 {
                accounts.insert(item.address);
                for key in item.storage_keys {
                    slots.insert((item.address, U256::from_be_bytes(key.0)));
                }
            }
        }
        let mut builder = SnapshotBuilder::new(block);
        report.accounts = accounts.len();
        report.slots = slots.len();
        self.fetch_into(&mut builder, at, &accounts, &slots).await?;
        let hash = self.block_hash(block).await?;
        builder.block_hash(block, hash);
        Ok((builder.build(), report))
    }

    /// A new snapshot of the same block: `snapshot` plus everything in `misses`. Code misses
    /// (by hash) cannot be asked of a node and are skipped: they come with their account.
    pub async fn refetch(
        &self,
        snapshot: &StateSnapshot,
        misses: &[Miss],
    ) -> Result<StateSnapshot, ChainError> {
        let block = snapshot.block();
        let at = BlockId::number(block);
        let mut accounts = BTreeSet::new();
        let mut slots = BTreeSet::new();
        let mut hashes = BTreeSet::new();
        for miss in misses {
            match *miss {
                Miss::Account(a) => {
                    accounts.insert(a);
                }
                Miss::Storage(a, s) => {
                    if !snapshot.contains_account(a) {
                        accounts.insert(a);
                    }
                    slots.insert((a, s));
                }
                Miss::BlockHash(n) => {
                    hashes.insert(n);
                }
                Miss::Code(_) => {}
            }
        }
        let mut builder = snapshot.to_builder();
        self.fetch_into(&mut builder, at, &accounts, &slots).await?;
        for n in hashes {
            let hash = self.block_hash(n).await?;
            builder.block_hash(n, hash);
        }
        Ok(builder.build())
    }

    /// Reads `accounts` and `slots` at `at` and adds them to `builder`.
    async fn fetch_into(
        &self,
        builder: &mut SnapshotBuilder,
        at: BlockId,
        accounts: &BTreeSet<Address>,
        slots: &BTreeSet<(Address, U256)>,
    ) -> Result<(), ChainError> {
        let fetched: Vec<FetchedAccount> =
            stream::iter(accounts.iter().copied().collect::<Vec<_>>())
                .map(|a| self.fetch_account(a, at))
                .buffer_unordered(PREFETCH_CONCURRENCY)
                .try_collect()
                .await?;
        for a in fetched {
            builder.account(a.address, a.balance, a.nonce, a.code);
        }
        let values: Vec<(Address, U256, U256)> =
            stream::iter(slots.iter().copied().collect::<Vec<_>>())
                .map(|(a, s)| {
                    let request = self.provider.get_storage_at(a, s).block_id(at);
                    async move {
                        let value = request.await.map_err(transport("eth_getStorageAt"))?;
                        Ok::<_, ChainError>((a, s, value))
                    }
                })
                .buffer_unordered(PREFETCH_CONCURRENCY)
                .try_collect()
                .await?;
        for (a, s, value) in values {
            builder.storage(a, s, value);
        }
        Ok(())
    }

    async fn fetch_account(
        &self,
        address: Address,
        at: BlockId,
    ) -> Result<FetchedAccount, ChainError> {
        let p = &self.provider;
        let (balance, nonce, code) = futures_util::try_join!(
            async {
                p.get_balance(address)
                    .block_id(at)
                    .await
                    .map_err(transport("eth_getBalance"))
            },
            async {
                p.get_transaction_count(address)
                    .block_id(at)
                    .await
                    .map_err(transport("eth_getTransactionCount"))
            },
            async {
                p.get_code_at(address)
                    .block_id(at)
                    .await
                    .map_err(transport("eth_getCode"))
            },
        )?;
        Ok(FetchedAccount {
            address,
            balance,
            nonce,
            code,
        })
    }

    /// The access list of one call at `at`, or the node's reason for not giving one.
    async fn access_list(
        &self,
        call: &PrefetchCall,
        at: BlockId,
    ) -> Result<alloy::eips::eip2930::AccessList, String> {
        let request = TransactionRequest::default()
            .with_from(call.from)
            .with_to(call.to)
            .with_input(call.data.clone())
            .with_value(call.value);
        let result = self
            .provider
            .create_access_list(&request)
            .block_id(at)
            .await
            .map_err(|e| e.to_string())?;
        Ok(result.access_list)
    }

    /// The hash of block `number`.
    async fn block_hash(&self, number: u64) -> Result<B256, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Number(number))
            .await
            .map_err(transport("eth_getBlockByNumber"))?
            .ok_or(ChainError::Invalid {
                what: "eth_getBlockByNumber",
                detail: format!("no block {number}"),
            })?;
        Ok(block.header.hash)
    }
}
