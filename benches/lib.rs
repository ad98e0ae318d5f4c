//! Criterion benches for decode and AMM math: `cargo bench -p kestrel-benches`.
//! Shared fixtures live here so both bench binaries use the same inputs.

use alloy_primitives::{Address, U256};

/// A `newPendingTransactions` frame shaped like a node's (type-2 tx calling Router02
/// `swapExactETHForTokens`). Values are synthetic; the shape and sizes are real.
pub fn pending_swap_frame(router: Address, weth: Address, token: Address) -> String {
    let calldata = swap_exact_eth_for_tokens(
        U256::from(1u64),
        &[weth, token],
        Address::repeat_byte(0x11),
        U256::from(u64::MAX),
    );
    format!(
        concat!(
            r#"{{"jsonrpc":"2.0","method":"eth_subscription","params":{{"subscription":"0xcd0c3e8af590364c09d0fa6a1210faf5","#,
            r#""result":{{"blockHash":null,"blockNumber":null,"from":"0x1111111111111111111111111111111111111111","gas":"0x30d40","#,
            r#""gasPrice":"0xb2d05e00","maxFeePerGas":"0xb2d05e00","maxPriorityFeePerGas":"0x3b9aca00","#,
            r#""hash":"0x2b1b5e5d6f3c5c0e9a0e8a4f6b2f1c7d8e9f0a1b2c3d4e5f60718293a4b5aca8","input":"0x{}","#,
            r#""nonce":"0x2a","to":"{}","transactionIndex":null,"value":"0xde0b6b3a7640000","type":"0x2","accessList":[],"#,
            r#""chainId":"0xaa36a7","v":"0x1","yParity":"0x1","#,
            r#""r":"0x6c8b1d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4","#,
            r#""s":"0x1c8b1d1e2f3a4b5c6d7e8f90a1b2c3d4e5f60718293a4b5c6d7e8f90a1b2c3d4"}}}}}}"#
        ),
        alloy_primitives::hex::encode(calldata),
        router
    )
}

/// ABI calldata of `swapExactETHForTokens(uint256,address[],address,uint256)`, encoded by hand.
pub fn swap_exact_eth_for_tokens(
    min_out: U256,
    path: &[Address],
    to: Address,
    deadline: U256,
) -> Vec<u8> {
    let mut v = vec![0x7f, 0xf3, 0x6a, 0xb5];
    let word = |x: U256| x.to_be_bytes::<32>();
    let addr = |a: &Address| {
        let mut w = [0u8; 32];
        w[12..].copy_from_slice(a.as_slice());
        w
    };
    v.extend_from_slice(&word(min_out));
    v.extend_from_slice(&word(U256::from(0x80)));
    v.extend_from_slice(&addr(&to));
    v.extend_from_slice(&word(deadline));
    v.extend_from_slice(&word(U256::from(path.len())));
    for a in path {
        v.extend_from_slice(&addr(a));
    }
    v
}
