//! [`SimTx`]: a signed transaction turned into what revm executes (sender recovered, fields
//! copied into a `TxEnv`).
//!
//! Cost: decoding and copying are cheap (microseconds, one allocation for a non-empty access
//! list); recovering the sender is an ECDSA public-key recovery, 45–200 µs. Do it off the hot
//! path, or skip it with [`SimTx::from_recovered`] when the sender is already known (our own
//! pre-signed backrun; a pending tx whose sender the node reported).

use alloy_consensus::transaction::SignerRecoverable;
use alloy_consensus::{Transaction, TxEnvelope};
use alloy_eips::Typed2718;
use alloy_eips::eip2718::Decodable2718;
use alloy_primitives::{Address, B256};
use revm::context::TxEnv;
use revm::context_interface::either::Either;

/// Why bytes could not become a [`SimTx`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum TxDecodeError {
    /// Not a valid EIP-2718 envelope (or legacy RLP) transaction.
    #[error("not an EIP-2718 transaction: {0}")]
    Decode(String),
    /// Bytes left over after the transaction.
    #[error("{0} bytes after the transaction")]
    Trailing(usize),
    /// The signature does not recover to an address.
    #[error("signature does not recover: {0}")]
    Recover(String),
}

/// A transaction ready for revm: sender known, fields in a `TxEnv`.
#[derive(Debug, Clone)]
pub struct SimTx {
    env: TxEnv,
    hash: B256,
}

impl SimTx {
    /// Decodes raw EIP-2718 bytes (what `eth_sendRawTransaction` takes) and recovers the sender.
    pub fn from_raw(raw: &[u8]) -> Result<SimTx, TxDecodeError> {
        let mut buf = raw;
        let envelope =
            TxEnvelope::decode_2718(&mut buf).map_err(|e| TxDecodeError::Decode(e.to_string()))?;
        if !buf.is_empty() {
            return Err(TxDecodeError::Trailing(buf.len()));
        }
        SimTx::from_envelope(&envelope)
    }

    /// Recovers the sender of a decoded envelope.
    pub fn from_envelope(envelope: &TxEnvelope) -> Result<SimTx, TxDecodeError> {
        let sender = envelope
            .recover_signer()
            .map_err(|e| TxDecodeError::Recover(e.to_string()))?;
        Ok(SimTx::from_recovered(envelope, sender))
    }

    /// An envelope whose sender is already known: no signature recovery.
    pub fn from_recovered(envelope: &TxEnvelope, sender: Address) -> SimTx {
        let authorizations = envelope
            .authorization_list()
            .map(|list| list.iter().cloned().map(Either::Left).collect())
            .unwrap_or_default();
        let env = TxEnv {
            tx_type: envelope.ty(),
            caller: sender,
            gas_limit: envelope.gas_limit(),
            // revm's `gas_price` is the fee cap of dynamic-fee transactions.
            gas_price: envelope.max_fee_per_gas(),
            kind: envelope.kind(),
            value: envelope.value(),
            data: envelope.input().clone(),
            nonce: envelope.nonce(),
            chain_id: envelope.chain_id(),
            access_list: envelope.access_list().cloned().unwrap_or_default(),
            gas_priority_fee: envelope.max_priority_fee_per_gas(),
            blob_hashes: envelope
                .blob_versioned_hashes()
                .map(<[B256]>::to_vec)
                .unwrap_or_default(),
            max_fee_per_blob_gas: envelope.max_fee_per_blob_gas().unwrap_or_default(),
            authorization_list: authorizations,
        };
        SimTx {
            env,
            hash: *envelope.tx_hash(),
        }
    }

    /// A transaction built directly as a revm `TxEnv` (tests, unsigned calls).
    pub fn from_env(env: TxEnv, hash: B256) -> SimTx {
        SimTx { env, hash }
    }

    /// The recovered sender.
    pub fn sender(&self) -> Address {
        self.env.caller
    }

    /// The transaction hash.
    pub fn hash(&self) -> B256 {
        self.hash
    }

    /// What revm executes.
    pub fn env(&self) -> &TxEnv {
        &self.env
    }
}
