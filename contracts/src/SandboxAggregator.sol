// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

interface IWETH9Like {
    function deposit() external payable;
    function transfer(address to, uint256 amount) external returns (bool);
}

interface IUniswapV2PairLike {
    function token0() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

/// @title SandboxAggregator
/// @notice A stand-in for the aggregators and custom routers Kestrel has no decoder for. The
/// sandbox's users send some of their trades through it, so the engine can only learn what those
/// trades do by running them (in revm, on its prefetched state). Test infrastructure only.
contract SandboxAggregator {
    address public immutable weth;

    error Slippage(uint256 out, uint256 minOut);
    error PaymentFailed();

    constructor(address weth_) {
        weth = weth_;
    }

    /// @notice Calls `target` (a router) with `data` and the ETH sent, and bubbles up its revert.
    function forward(address target, bytes calldata data) external payable returns (bytes memory ret) {
        bool ok;
        (ok, ret) = target.call{value: msg.value}(data);
        if (!ok) {
            assembly {
                revert(add(ret, 32), mload(ret))
            }
        }
    }

    /// @notice Buys the other token of the WETH pair `pair` with the ETH sent, straight from the pair
    /// (no router): wraps, pays the pair, and takes the pair's exact output (0.3 % fee), which must be
    /// at least `minOut`, to `to`.
    function swapEthForTokensV2(address pair, uint256 minOut, address to) external payable returns (uint256 out) {
        IWETH9Like(weth).deposit{value: msg.value}();
        if (!IWETH9Like(weth).transfer(pair, msg.value)) revert PaymentFailed();
        (uint112 r0, uint112 r1,) = IUniswapV2PairLike(pair).getReserves();
        bool wethIs0 = IUniswapV2PairLike(pair).token0() == weth;
        (uint256 reserveIn, uint256 reserveOut) = wethIs0 ? (uint256(r0), uint256(r1)) : (uint256(r1), uint256(r0));
        uint256 inWithFee = msg.value * 997;
        out = (inWithFee * reserveOut) / (reserveIn * 1000 + inWithFee);
        if (out < minOut) revert Slippage(out, minOut);
        (uint256 out0, uint256 out1) = wethIs0 ? (uint256(0), out) : (out, uint256(0));
        IUniswapV2PairLike(pair).swap(out0, out1, to, "");
    }
}
