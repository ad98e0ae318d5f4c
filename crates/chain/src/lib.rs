//! kestrel-chain: everything Kestrel reads from an Ethereum node over JSON-RPC (alloy), on the
//! slow lane only.
//!
//! Data flow: at start, [`Chain::discover_v2_pools`] walks each configured V2 factory and loads
//! every pair's tokens and reserves at one block, giving a [`PoolSnapshot`]. On every new head,
//! [`Chain::sync_reserves`] reads the pairs' `Sync` events for the new blocks and returns the exact
//! new reserves, from which the caller publishes the next immutable snapshot to the hot lane.
//! [`Chain::head`], [`Chain::nonce`] and [`Chain::erc20_balance`] give what the pre-signed ladder
//! needs (next base fee, our nonce, the executor's capital). The hot lane never calls this crate.
//!
//! V3 (`v3`): pools of the configured V3 factories and fee tiers are discovered, loaded whole at
//! one block (slot0, liquidity, every bitmap word and initialized tick) and kept exact from
//! their Swap/Mint/Burn logs, with a full reload on a reorg. Simulation state (`prefetch`): the
//! accounts and slots that representative calls touch (`eth_createAccessList`) are fetched at
//! one block into an immutable `kestrel_sim::StateSnapshot`; misses the simulator reports are
//! fetched for the next block.

#![forbid(unsafe_code)]

pub mod effects;
pub mod prefetch;
pub mod v3;

use alloy::eips::BlockId;
use alloy::primitives::{Address, U256};
use alloy::providers::{DynProvider, Provider, ProviderBuilder};
use alloy::rpc::types::{BlockNumberOrTag, Filter};
use alloy::sol;
use alloy::sol_types::SolEvent;
use kestrel_dex::pool::{FactoryInfo, PoolSnapshot, V2Pool};
use kestrel_types::{FactoryId, PoolId};

sol! {
    #[sol(rpc)]
    interface IUniswapV2Factory {
        function allPairsLength() external view returns (uint256);
        function allPairs(uint256 index) external view returns (address);
    }
    #[sol(rpc)]
    interface IUniswapV2Pair {
        function token0() external view returns (address);
        function token1() external view returns (address);
        function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
        event Sync(uint112 reserve0, uint112 reserve1);
    }
    #[sol(rpc)]
    interface IERC20 {
        function balanceOf(address owner) external view returns (uint256);
    }
}

/// What went wrong talking to the node.
#[derive(Debug, thiserror::Error)]
pub enum ChainError {
    /// The node could not be reached or answered with an error: worth retrying.
    #[error("node request failed ({what}): {detail}")]
    Transport {
        /// Which request.
        what: &'static str,
        /// The transport's message.
        detail: String,
    },
    /// The node answered something that cannot be right (a missing block, a bad URL).
    #[error("invalid node data ({what}): {detail}")]
    Invalid {
        /// Which request.
        what: &'static str,
        /// Why.
        detail: String,
    },
}

impl ChainError {
    /// Whether retrying the same request may succeed.
    pub fn is_retryable(&self) -> bool {
        matches!(self, ChainError::Transport { .. })
    }
}

fn transport(what: &'static str) -> impl FnOnce(alloy::transports::TransportError) -> ChainError {
    move |e| ChainError::Transport {
        what,
        detail: e.to_string(),
    }
}

fn contract(what: &'static str) -> impl FnOnce(alloy::contract::Error) -> ChainError {
    move |e| ChainError::Transport {
        what,
        detail: e.to_string(),
    }
}

/// A block header reduced to what the engine needs.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct HeadInfo {
    /// Block number.
    pub number: u64,
    /// Block hash: a head with a known number but another hash is a reorg.
    pub hash: alloy::primitives::B256,
    /// Parent hash: links consecutive heads.
    pub parent_hash: alloy::primitives::B256,
    /// Block timestamp (unix seconds).
    pub timestamp: u64,
    /// This block's base fee (0 before London).
    pub base_fee: u128,
    /// The base fee the next block will have (EIP-1559 update rule).
    pub next_base_fee: u128,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Fee recipient (`COINBASE`) of this block: the best guess for the next one's.
    pub beneficiary: alloy::primitives::Address,
    /// `PREVRANDAO` (`mixHash`).
    pub prev_randao: alloy::primitives::B256,
}

/// A JSON-RPC connection to one node.
#[derive(Clone, Debug)]
pub struct Chain {
    provider: DynProvider,
}

/// How many requests discovery keeps in flight at once.
const DISCOVERY_CONCURRENCY: usize = 32;

/// Longest wait for one JSON-RPC answer over HTTP: a node that accepts the connection and never
/// answers fails the request (retried by the caller) instead of stalling the slow lane.
const HTTP_REQUEST_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(30);
/// Longest wait to open the HTTP connection to the node.
const HTTP_CONNECT_TIMEOUT: std::time::Duration = std::time::Duration::from_secs(5);

/// The HTTP client every JSON-RPC connection to the node uses: each request bounded by 30 s,
/// each connect by 5 s (for callers that build a provider of their own, e.g. with a wallet).
pub fn http_client() -> Result<alloy::transports::http::reqwest::Client, ChainError> {
    alloy::transports::http::reqwest::Client::builder()
        .timeout(HTTP_REQUEST_TIMEOUT)
        .connect_timeout(HTTP_CONNECT_TIMEOUT)
        .build()
        .map_err(|e| ChainError::Invalid {
            what: "http_url",
            detail: format!("building the HTTP client: {e}"),
        })
}

impl Chain {
    /// Connects over HTTP with [`http_client`]. Nothing is sent until the first request.
    pub fn connect_http(url: &str) -> Result<Chain, ChainError> {
        let parsed = url.parse().map_err(|e| ChainError::Invalid {
            what: "http_url",
            detail: format!("{url}: {e}"),
        })?;
        Ok(Chain {
            provider: ProviderBuilder::new()
                .connect_reqwest(http_client()?, parsed)
                .erased(),
        })
    }

    /// The node's chain id (`eth_chainId`).
    pub async fn chain_id(&self) -> Result<u64, ChainError> {
        self.provider
            .get_chain_id()
            .await
            .map_err(transport("eth_chainId"))
    }

    /// Fails unless the node serves chain `expected`: a config pointed at the wrong network
    /// (mainnet instead of Sepolia, or the reverse) must not sign or read anything there.
    pub async fn expect_chain_id(&self, expected: u64) -> Result<(), ChainError> {
        let got = self.chain_id().await?;
        if got == expected {
            Ok(())
        } else {
            Err(ChainError::Invalid {
                what: "eth_chainId",
                detail: format!(
                    "the node serves chain id {got}, but the config says chain.chain_id = \
                     {expected}"
                ),
            })
        }
    }

    /// The underlying provider, for callers that need a request this type does not wrap.
    pub fn provider(&self) -> &DynProvider {
        &self.provider
    }

    /// The receipt of transaction `hash`, or `None` while no block the node has holds it.
    pub async fn receipt(
        &self,
        hash: alloy::primitives::B256,
    ) -> Result<Option<alloy::rpc::types::TransactionReceipt>, ChainError> {
        self.provider
            .get_transaction_receipt(hash)
            .await
            .map_err(transport("eth_getTransactionReceipt"))
    }

    /// The latest block's header facts.
    pub async fn head(&self) -> Result<HeadInfo, ChainError> {
        let block = self
            .provider
            .get_block_by_number(BlockNumberOrTag::Latest)
            .await
            .map_err(transport("eth_getBlockByNumber"))?
            .ok_or(ChainError::Invalid {
                what: "eth_getBlockByNumber",
                detail: "no latest block".into(),
            })?;
        let h = &block.header;
        let base_fee = u128::from(h.base_fee_per_gas.unwrap_or(0));
        let next = h
            .next_block_base_fee(alloy::eips::eip1559::BaseFeeParams::ethereum())
            .map_or(0, u128::from);
        Ok(HeadInfo {
            number: h.number,
            hash: block.header.hash,
            parent_hash: h.parent_hash,
            timestamp: h.timestamp,
            base_fee,
            next_base_fee: next,
            gas_limit: h.gas_limit,
            beneficiary: h.beneficiary,
            prev_randao: h.mix_hash,
        })
    }

    /// Loads every pair of every factory (at most `max_pairs` per factory, lowest indexes first)
    /// with tokens and reserves read at `block`.
    pub async fn discover_v2_pools(
        &self,
        factories: &[FactoryInfo],
        max_pairs: usize,
        block: u64,
    ) -> Result<Vec<V2Pool>, ChainError> {
        let mut pools = Vec::new();
        for (i, f) in factories.iter().enumerate() {
            let id = FactoryId(u8::try_from(i).map_err(|_| ChainError::Invalid {
                what: "factories",
                detail: "more than 255 factories".into(),
            })?);
            let factory = IUniswapV2Factory::new(f.address, &self.provider);
            let len = factory
                .allPairsLength()
                .block(BlockId::number(block))
                .call()
                .await
                .map_err(contract("allPairsLength"))?;
            let all = usize::try_from(len).unwrap_or(usize::MAX);
            if all > max_pairs {
                tracing::warn!(
                    factory = %f.address,
                    pairs = all,
                    loaded = max_pairs,
                    "the factory has more pairs than dex.max_pairs_per_factory: only the first are watched"
                );
            }
            let len = all.min(max_pairs);
            let indexes: Vec<usize> = (0..len).collect();
            for chunk in indexes.chunks(DISCOVERY_CONCURRENCY) {
                let loads = chunk
                    .iter()
                    .map(|&j| self.load_pair(f.address, j, id, block));
                pools.extend(futures_util::future::try_join_all(loads).await?);
            }
        }
        Ok(pools)
    }

    async fn load_pair(
        &self,
        factory: Address,
        index: usize,
        id: FactoryId,
        block: u64,
    ) -> Result<V2Pool, ChainError> {
        let at = BlockId::number(block);
        let address = IUniswapV2Factory::new(factory, &self.provider)
            .allPairs(U256::from(index))
            .block(at)
            .call()
            .await
            .map_err(contract("allPairs"))?;
        let pair = IUniswapV2Pair::new(address, &self.provider);
        let token0 = pair
            .token0()
            .block(at)
            .call()
            .await
            .map_err(contract("token0"))?;
        let token1 = pair
            .token1()
            .block(at)
            .call()
            .await
            .map_err(contract("token1"))?;
        let r = pair
            .getReserves()
            .block(at)
            .call()
            .await
            .map_err(contract("getReserves"))?;
        Ok(V2Pool {
            address,
            token0,
            token1,
            reserve0: U256::from(r.reserve0),
            reserve1: U256::from(r.reserve1),
            factory: id,
        })
    }

    /// Exact reserves after blocks `from..=to` for every pool of `snap` that emitted `Sync` in that
    /// range: the last `Sync` of each pool wins (logs come in block and log-index order).
    pub async fn sync_reserves(
        &self,
        snap: &PoolSnapshot,
        from: u64,
        to: u64,
    ) -> Result<Vec<(PoolId, U256, U256)>, ChainError> {
        let filter = Filter::new()
            .from_block(from)
            .to_block(to)
            .event_signature(IUniswapV2Pair::Sync::SIGNATURE_HASH);
        let logs = self
            .provider
            .get_logs(&filter)
            .await
            .map_err(transport("eth_getLogs"))?;
        let mut updates: Vec<(PoolId, U256, U256)> = Vec::new();
        for log in logs {
            let Some(id) = snap.pool_by_address(log.address()) else {
                continue;
            };
            let Ok(ev) = IUniswapV2Pair::Sync::decode_log_data(log.data()) else {
                continue;
            };
            let entry = (id, U256::from(ev.reserve0), U256::from(ev.reserve1));
            match updates.iter_mut().find(|u| u.0 == id) {
                Some(u) => *u = entry,
                None => updates.push(entry),
            }
        }
        Ok(updates)
    }

    /// Every pool's reserves read again at `block` (after a reorg, when `Sync` logs of the old
    /// branch cannot be trusted).
    pub async fn reload_reserves(
        &self,
        snap: &PoolSnapshot,
        block: u64,
    ) -> Result<Vec<(PoolId, U256, U256)>, ChainError> {
        let mut out = Vec::with_capacity(snap.pools().len());
        let ids: Vec<usize> = (0..snap.pools().len()).collect();
        for chunk in ids.chunks(DISCOVERY_CONCURRENCY) {
            let reads = chunk.iter().map(|&i| async move {
                let pair = IUniswapV2Pair::new(snap.pools()[i].address, &self.provider);
                let r = pair
                    .getReserves()
                    .block(BlockId::number(block))
                    .call()
                    .await
                    .map_err(contract("getReserves"))?;
                let id = PoolId(u32::try_from(i).unwrap_or(u32::MAX));
                Ok::<_, ChainError>((id, U256::from(r.reserve0), U256::from(r.reserve1)))
            });
            out.extend(futures_util::future::try_join_all(reads).await?);
        }
        Ok(out)
    }

    /// The account's nonce after block `block`.
    pub async fn nonce(&self, account: Address, block: u64) -> Result<u64, ChainError> {
        self.provider
            .get_transaction_count(account)
            .block_id(BlockId::number(block))
            .await
            .map_err(transport("eth_getTransactionCount"))
    }

    /// An ERC-20 balance at `block`.
    pub async fn erc20_balance(
        &self,
        token: Address,
        owner: Address,
        block: u64,
    ) -> Result<U256, ChainError> {
        IERC20::new(token, &self.provider)
            .balanceOf(owner)
            .block(BlockId::number(block))
            .call()
            .await
            .map_err(contract("balanceOf"))
    }
}
