//! The environment a simulation runs in: the chain's rules ([`ChainRules`]) and the block the
//! transactions are meant for ([`NextBlock`]).

use alloy_primitives::{Address, B256, U256};
use revm::context::BlockEnv;
use revm::context_interface::block::BlobExcessGasAndPrice;
use revm::primitives::eip4844::BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE;
use revm::primitives::hardfork::SpecId;

/// Sepolia's chain id, which the sandbox's anvil also runs with.
pub const SEPOLIA_CHAIN_ID: u64 = 11_155_111;

/// The chain's rules: id and hardfork.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainRules {
    /// EIP-155 chain id; transactions signed for another chain are rejected.
    pub chain_id: u64,
    /// The hardfork whose rules apply.
    pub spec: SpecId,
}

impl ChainRules {
    /// Sepolia (and the sandbox's anvil, started with `--hardfork prague`).
    pub const SEPOLIA_PRAGUE: ChainRules = ChainRules {
        chain_id: SEPOLIA_CHAIN_ID,
        spec: SpecId::PRAGUE,
    };
}

/// The block a simulated sequence is meant to land in: the head's child.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NextBlock {
    /// Block number (head + 1).
    pub number: u64,
    /// Timestamp in unix seconds.
    pub timestamp: u64,
    /// Base fee per gas (the EIP-1559 update of the head's).
    pub basefee: u64,
    /// Block gas limit.
    pub gas_limit: u64,
    /// Fee recipient (`COINBASE`), which receives the priority fees and builder payments.
    pub coinbase: Address,
    /// `PREVRANDAO`.
    pub prevrandao: B256,
    /// Excess blob gas, for `BLOBBASEFEE`.
    pub excess_blob_gas: u64,
}

impl NextBlock {
    /// revm's block environment for these values.
    pub fn to_block_env(&self) -> BlockEnv {
        BlockEnv {
            number: U256::from(self.number),
            beneficiary: self.coinbase,
            timestamp: U256::from(self.timestamp),
            gas_limit: self.gas_limit,
            basefee: self.basefee,
            difficulty: U256::ZERO,
            prevrandao: Some(self.prevrandao),
            blob_excess_gas_and_price: Some(BlobExcessGasAndPrice::new(
                self.excess_blob_gas,
                BLOB_BASE_FEE_UPDATE_FRACTION_PRAGUE,
            )),
            ..BlockEnv::default()
        }
    }
}
