//! The per-block ladder of pre-signed backrun transactions, and the key that signs it.
//!
//! For every watched cycle (buy in one pool, sell in another) the slow lane signs one EIP-1559
//! transaction per profit floor, all with the same nonce: whichever is fired, the others become
//! invalid. The hot thread then fires the transaction whose floor is the largest one the
//! predicted profit covers, so the executor's `minProfit` check protects us without any ECDSA on
//! the hot thread.

use std::fmt;

use alloy_consensus::{SignableTransaction, TxEip1559};
use alloy_primitives::{Address, B256, Signature, TxKind, U256};
use secp256k1::SecretKey;

use crate::{FireError, executor::backrun_calldata, sign};

/// Most floors one ladder may hold; each floor costs one ECDSA signature per cycle per block.
pub const MAX_LEVELS: u32 = 256;

/// A backrun cycle: buy the target token in `pool_buy`, sell it back in `pool_sell`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Cycle {
    /// Pool the capital token is spent in.
    pub pool_buy: Address,
    /// Pool the bought token is sold back in.
    pub pool_sell: Address,
    /// Fee numerator of `pool_buy` as the executor expects it (e.g. 997 for a V2 pool).
    pub fee_buy: u32,
    /// Fee numerator of `pool_sell`.
    pub fee_sell: u32,
}

/// Everything a ladder's transactions share.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct LadderParams {
    /// Chain id the transactions are signed for.
    pub chain_id: u64,
    /// Nonce of every transaction in the ladder (only one of them can land).
    pub nonce: u64,
    /// Head block the ladder was built on; its transactions target `block + 1`.
    pub block: u64,
    /// EIP-1559 fee cap, wei per gas.
    pub max_fee_per_gas: u128,
    /// EIP-1559 priority fee, wei per gas.
    pub max_priority_fee_per_gas: u128,
    /// Gas limit of each backrun.
    pub gas_limit: u64,
    /// Our executor contract.
    pub executor: Address,
    /// Share of the profit the executor pays the builder, in basis points.
    pub payment_bps: u32,
    /// The smallest profit worth firing for, in capital-token base units.
    pub min_profit: U256,
    /// Number of floors (1..=[`MAX_LEVELS`]).
    pub levels: u32,
    /// Geometric step between floors, in basis points.
    pub step_bps: u32,
}

/// A signed transaction ready to go into a bundle.
#[derive(Clone, PartialEq, Eq)]
pub struct SignedTx {
    /// The EIP-2718 envelope (type byte, then the RLP payload), as `eth_sendBundle` wants it.
    pub raw: Vec<u8>,
    /// The transaction hash, keccak256 of `raw`.
    pub hash: B256,
}

impl fmt::Debug for SignedTx {
    // Signed payloads stay out of logs: show which transaction, not its bytes.
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("SignedTx")
            .field("hash", &self.hash)
            .field("len", &self.raw.len())
            .finish()
    }
}

/// A private key held in memory that signs with libsecp256k1. `Debug` shows only the address.
#[derive(Clone)]
pub struct LocalSigner {
    key: SecretKey,
    address: Address,
}

impl fmt::Debug for LocalSigner {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("LocalSigner")
            .field("address", &self.address)
            .finish_non_exhaustive()
    }
}

impl LocalSigner {
    /// Parses a 32-byte hex private key, with or without `0x`.
    pub fn from_hex(key_hex: &str) -> Result<Self, FireError> {
        let key = sign::parse_key(key_hex)?;
        Ok(Self {
            address: sign::address_of(&key),
            key,
        })
    }

    /// The address the key controls.
    pub fn address(&self) -> Address {
        self.address
    }

    /// Signs an EIP-1559 transaction and encodes it as an EIP-2718 envelope.
    ///
    /// Costs one ECDSA signature and a few small allocations: slow lane only.
    pub fn sign_tx(&self, tx: TxEip1559) -> Result<SignedTx, FireError> {
        let (rs, parity) = self.sign_digest(tx.signature_hash().0);
        let signature = Signature::from_bytes_and_parity(&rs, parity == 1);
        let signed = tx.into_signed(signature);
        let mut raw = Vec::with_capacity(signed.eip2718_encoded_length());
        signed.eip2718_encode(&mut raw);
        Ok(SignedTx {
            raw,
            hash: *signed.hash(),
        })
    }

    /// Signs a 32-byte digest: `r || s` and the y-parity (0 or 1). No allocation.
    pub(crate) fn sign_digest(&self, digest: [u8; 32]) -> ([u8; 64], u8) {
        sign::sign_digest(&self.key, digest)
    }

    /// `r || s` and the y-parity of `digest`, finishing a precomputed nonce from `pool` (two
    /// modular products instead of a scalar multiplication). An empty pool falls back to the
    /// full signature, counted in [`PresigPool::fallbacks`]; either way the signature verifies.
    pub(crate) fn sign_digest_presigned(
        &self,
        pool: &crate::PresigPool,
        digest: [u8; 32],
    ) -> ([u8; 64], u8) {
        let fast = pool.take().and_then(|p| p.sign(&self.key, digest));
        fast.unwrap_or_else(|| {
            pool.count_fallback();
            self.sign_digest(digest)
        })
    }
}

/// Profit floors of a ladder: `f0 = max(min_profit, 1)`, then `f(i+1) = f(i) * (10000 +
/// step_bps) / 10000`, or `f(i) + 1` when that is not larger, so floors strictly increase.
pub fn ladder_floors(min_profit: U256, levels: u32, step_bps: u32) -> Result<Vec<U256>, FireError> {
    if levels == 0 || levels > MAX_LEVELS {
        return Err(FireError::InvalidLadder("levels must be in 1..=256"));
    }
    let ten_k = U256::from(10_000u32);
    let factor = ten_k + U256::from(step_bps);
    let mut floors = Vec::with_capacity(levels as usize);
    let mut floor = min_profit.max(U256::from(1u8));
    floors.push(floor);
    for _ in 1..levels {
        let stepped = floor
            .checked_mul(factor)
            .ok_or(FireError::InvalidLadder("floor overflows U256"))?
            / ten_k;
        floor = if stepped > floor {
            stepped
        } else {
            floor
                .checked_add(U256::from(1u8))
                .ok_or(FireError::InvalidLadder("floor overflows U256"))?
        };
        floors.push(floor);
    }
    Ok(floors)
}

/// One block's pre-signed backruns: `cycles × levels` transactions, row-major by cycle.
///
/// Immutable after [`Ladder::build`]; published to the hot thread as an `Arc`.
#[derive(Clone, Debug)]
pub struct Ladder {
    block: u64,
    nonce: u64,
    executor: Address,
    signer: Address,
    floors: Vec<U256>,
    /// `txs[cycle * floors.len() + level]`.
    txs: Vec<SignedTx>,
    /// `(pool_buy, pool_sell, cycle)` sorted by pools, for a binary-search lookup.
    index: Vec<(Address, Address, u32)>,
}

impl Ladder {
    /// Signs one backrun per cycle per floor (see [`ladder_floors`] for the floors).
    ///
    /// Costs `cycles.len() * levels` ECDSA signatures: run it on the slow lane once per block.
    pub fn build(
        signer: &LocalSigner,
        p: &LadderParams,
        cycles: &[Cycle],
    ) -> Result<Ladder, FireError> {
        let floors = ladder_floors(p.min_profit, p.levels, p.step_bps)?;
        let index = build_index(cycles)?;
        let mut txs = Vec::with_capacity(cycles.len().saturating_mul(floors.len()));
        for cycle in cycles {
            for &floor in &floors {
                txs.push(signer.sign_tx(backrun_tx(p, cycle, floor))?);
            }
        }
        Ok(Ladder {
            block: p.block,
            nonce: p.nonce,
            executor: p.executor,
            signer: signer.address(),
            floors,
            txs,
            index,
        })
    }

    /// Head block the ladder was built on (its transactions target `block() + 1`).
    pub fn block(&self) -> u64 {
        self.block
    }

    /// Nonce shared by every transaction in the ladder.
    pub fn nonce(&self) -> u64 {
        self.nonce
    }

    /// The executor every transaction calls.
    pub fn executor(&self) -> Address {
        self.executor
    }

    /// The account that signed every transaction (the executor's owner).
    pub fn signer(&self) -> Address {
        self.signer
    }

    /// Profit floors, strictly increasing.
    pub fn floors(&self) -> &[U256] {
        &self.floors
    }

    /// Number of cycles in the ladder.
    pub fn cycle_count(&self) -> usize {
        self.index.len()
    }

    /// The index of a cycle for [`Ladder::pick`], if the ladder has it. No allocation.
    pub fn cycle_index(&self, pool_buy: Address, pool_sell: Address) -> Option<u32> {
        self.index
            .binary_search_by(|(buy, sell, _)| (buy, sell).cmp(&(&pool_buy, &pool_sell)))
            .ok()
            .and_then(|i| self.index.get(i))
            .map(|&(_, _, cycle)| cycle)
    }

    /// The pre-signed transaction with the largest floor `<= profit_net` for `cycle`, and that
    /// floor; `None` if `profit_net` is below the first floor or the cycle is unknown.
    /// No allocation, no panic.
    pub fn pick(&self, cycle: u32, profit_net: U256) -> Option<(&SignedTx, U256)> {
        let level = self
            .floors
            .partition_point(|f| *f <= profit_net)
            .checked_sub(1)?;
        let floor = *self.floors.get(level)?;
        // For an unknown cycle the row lies past the end, so `get` answers `None`.
        let row = (cycle as usize)
            .checked_mul(self.floors.len())?
            .checked_add(level)?;
        self.txs.get(row).map(|tx| (tx, floor))
    }

    /// Every transaction of one cycle, lowest floor first (for journaling and tests).
    pub fn cycle_txs(&self, cycle: u32) -> &[SignedTx] {
        let levels = self.floors.len();
        let start = (cycle as usize).saturating_mul(levels);
        self.txs
            .get(start..start.saturating_add(levels))
            .unwrap_or_default()
    }
}

/// The unsigned backrun for one cycle at one floor.
fn backrun_tx(p: &LadderParams, cycle: &Cycle, floor: U256) -> TxEip1559 {
    let input = backrun_calldata(
        cycle.pool_buy,
        cycle.pool_sell,
        cycle.fee_buy,
        cycle.fee_sell,
        floor,
        p.payment_bps,
    );
    TxEip1559 {
        chain_id: p.chain_id,
        nonce: p.nonce,
        gas_limit: p.gas_limit,
        max_fee_per_gas: p.max_fee_per_gas,
        max_priority_fee_per_gas: p.max_priority_fee_per_gas,
        to: TxKind::Call(p.executor),
        value: U256::ZERO,
        access_list: Default::default(),
        input: input.into(),
    }
}

/// The sorted cycle lookup table; rejects a cycle listed twice (its pick would be ambiguous).
fn build_index(cycles: &[Cycle]) -> Result<Vec<(Address, Address, u32)>, FireError> {
    let mut index = Vec::with_capacity(cycles.len());
    for (i, c) in cycles.iter().enumerate() {
        let i = u32::try_from(i).map_err(|_| FireError::InvalidLadder("too many cycles"))?;
        index.push((c.pool_buy, c.pool_sell, i));
    }
    index.sort_unstable();
    if index
        .windows(2)
        .any(|w| matches!(w, [a, b] if (a.0, a.1) == (b.0, b.1)))
    {
        return Err(FireError::InvalidLadder("a cycle is listed twice"));
    }
    Ok(index)
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn floors_worked_by_hand() {
        // 1000 * 1.05 = 1050; 1050 * 1.05 = 1102.5 -> 1102; 1102 * 1.05 = 1157.1 -> 1157.
        let f = ladder_floors(U256::from(1000u32), 4, 500).unwrap();
        assert_eq!(f, [1000u32, 1050, 1102, 1157].map(U256::from));
        // min_profit 0 starts at 1; a 1 bps step cannot grow small floors, so they step by one.
        let f = ladder_floors(U256::ZERO, 3, 1).unwrap();
        assert_eq!(f, [1u32, 2, 3].map(U256::from));
        assert_eq!(
            ladder_floors(U256::from(5u8), 1, 0).unwrap(),
            [U256::from(5u8)]
        );
    }

    #[test]
    fn bad_ladders_are_refused() {
        assert!(matches!(
            ladder_floors(U256::ONE, 0, 100),
            Err(FireError::InvalidLadder(_))
        ));
        assert!(matches!(
            ladder_floors(U256::ONE, MAX_LEVELS + 1, 100),
            Err(FireError::InvalidLadder(_))
        ));
        assert!(matches!(
            ladder_floors(U256::MAX, 2, 100),
            Err(FireError::InvalidLadder(_))
        ));
        let c = Cycle {
            pool_buy: Address::repeat_byte(1),
            pool_sell: Address::repeat_byte(2),
            fee_buy: 997,
            fee_sell: 997,
        };
        assert!(matches!(
            build_index(&[c, c]),
            Err(FireError::InvalidLadder(_))
        ));
    }

    proptest! {
        #[test]
        fn floors_strictly_increase(min in any::<u64>(), levels in 1u32..64, step in 0u32..20_000) {
            let f = ladder_floors(U256::from(min), levels, step).unwrap();
            prop_assert_eq!(f.len(), levels as usize);
            prop_assert_eq!(f[0], U256::from(min.max(1)));
            for w in f.windows(2) {
                prop_assert!(w[1] > w[0]);
                // Never more than the geometric step (rounded down) or +1, whichever is larger.
                let geometric = w[0] * U256::from(10_000 + step) / U256::from(10_000u32);
                prop_assert_eq!(w[1], geometric.max(w[0] + U256::ONE));
            }
        }
    }

    #[test]
    fn debug_does_not_print_the_key() {
        let key = "ac0974bec39a17e36ba4a6b4d238ff944bacb478cbed5efcae784d7bf4f2ff80";
        let signer = LocalSigner::from_hex(key).unwrap();
        let shown = format!("{signer:?}");
        assert!(!shown.to_lowercase().contains(&key[..16]), "{shown}");
        assert!(shown.contains("address"));
    }
}
