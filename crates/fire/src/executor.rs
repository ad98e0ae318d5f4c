//! Calldata for our executor contract's single entry point:
//! `backrun(address poolBuy, address poolSell, uint256 feeNumBuy, uint256 feeNumSell,
//! uint256 minProfit, uint256 paymentBps)`.
//!
//! The contract reverts unless the round trip nets at least `minProfit`; that floor is what the
//! ladder varies from one pre-signed transaction to the next.

use alloy_primitives::{Address, U256};

/// The Solidity signature the selector is derived from.
pub const BACKRUN_SIGNATURE: &str = "backrun(address,address,uint256,uint256,uint256,uint256)";

/// First four bytes of `keccak256(BACKRUN_SIGNATURE)`; a unit test recomputes it.
pub const BACKRUN_SELECTOR: [u8; 4] = [0x28, 0xaa, 0x84, 0xc9];

/// Length of the calldata: selector plus six 32-byte words.
pub const BACKRUN_CALLDATA_LEN: usize = 4 + 6 * 32;

/// ABI-encodes a call to `backrun`. Every argument is a static type, so the encoding is the
/// selector followed by six left-padded 32-byte words.
pub fn backrun_calldata(
    pool_buy: Address,
    pool_sell: Address,
    fee_buy: u32,
    fee_sell: u32,
    min_profit: U256,
    payment_bps: u32,
) -> Vec<u8> {
    let mut out = Vec::with_capacity(BACKRUN_CALLDATA_LEN);
    out.extend_from_slice(&BACKRUN_SELECTOR);
    out.extend_from_slice(&address_word(pool_buy));
    out.extend_from_slice(&address_word(pool_sell));
    out.extend_from_slice(&U256::from(fee_buy).to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(fee_sell).to_be_bytes::<32>());
    out.extend_from_slice(&min_profit.to_be_bytes::<32>());
    out.extend_from_slice(&U256::from(payment_bps).to_be_bytes::<32>());
    debug_assert_eq!(
        out.len(),
        BACKRUN_CALLDATA_LEN,
        "Invariant: backrun calldata is 196 bytes"
    );
    out
}

/// An address as an ABI word: twelve zero bytes, then the twenty address bytes.
fn address_word(a: Address) -> [u8; 32] {
    let mut word = [0u8; 32];
    if let Some(tail) = word.get_mut(12..) {
        tail.copy_from_slice(a.as_slice());
    }
    word
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloy_primitives::keccak256;
    use alloy_sol_types::{SolCall, sol};
    use proptest::prelude::*;

    sol! {
        function backrun(address poolBuy, address poolSell, uint256 feeNumBuy, uint256 feeNumSell,
            uint256 minProfit, uint256 paymentBps);
    }

    #[test]
    fn selector_is_keccak_of_the_signature() {
        let hash = keccak256(BACKRUN_SIGNATURE.as_bytes());
        assert_eq!(BACKRUN_SELECTOR, hash[..4]);
        // alloy's `sol!` derives the selector from the declaration, independently of our string.
        assert_eq!(BACKRUN_SELECTOR, backrunCall::SELECTOR);
    }

    proptest! {
        #[test]
        fn round_trips_through_alloy_abi_decoder(
            buy in any::<[u8; 20]>(), sell in any::<[u8; 20]>(),
            fee_buy in any::<u32>(), fee_sell in any::<u32>(),
            min_profit in any::<[u8; 32]>(), payment_bps in any::<u32>(),
        ) {
            let (buy, sell) = (Address::from(buy), Address::from(sell));
            let min_profit = U256::from_be_bytes(min_profit);
            let data = backrun_calldata(buy, sell, fee_buy, fee_sell, min_profit, payment_bps);
            prop_assert_eq!(data.len(), BACKRUN_CALLDATA_LEN);
            let call = backrunCall::abi_decode(&data).unwrap();
            prop_assert_eq!(call.poolBuy, buy);
            prop_assert_eq!(call.poolSell, sell);
            prop_assert_eq!(call.feeNumBuy, U256::from(fee_buy));
            prop_assert_eq!(call.feeNumSell, U256::from(fee_sell));
            prop_assert_eq!(call.minProfit, min_profit);
            prop_assert_eq!(call.paymentBps, U256::from(payment_bps));
            // And alloy's encoder produces the very same bytes.
            prop_assert_eq!(call.abi_encode(), data);
        }
    }
}
