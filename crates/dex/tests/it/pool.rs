//! Pair addressing against real mainnet pairs.

use kestrel_dex::pool::{pair_address, sort_tokens};
use kestrel_types::{address, b256};

#[test]
fn pair_address_matches_mainnet_weth_usdc() {
    let factory = address!("0x5C69bEe701ef814a2B6a3EDD4B1652CB9cc5aA6f");
    let init = b256!("0x96e8ac4277198ff8b6f785478aa9a39f403cb768dd02cbee326c3e7da348845f");
    let weth = address!("0xC02aaA39b223FE8D0A0e5C4F27eAD9083C756Cc2");
    let usdc = address!("0xA0b86991c6218b36c1d19D4a2e9Eb0cE3606eB48");
    let expected = address!("0xB4e16d0168e52d35CaCD2c6185b44281Ec28C9Dc");
    assert_eq!(pair_address(factory, init, weth, usdc), expected);
    assert_eq!(
        pair_address(factory, init, usdc, weth),
        expected,
        "token order does not matter"
    );
    assert_eq!(sort_tokens(weth, usdc), (usdc, weth));
}
