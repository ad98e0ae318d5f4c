// SPDX-License-Identifier: MIT
pragma solidity ^0.8.20;

/// Minimal ERC-20 surface the executor needs.
interface IERC20 {
    function balanceOf(address owner) external view returns (uint256);
    function transfer(address to, uint256 amount) external returns (bool);
}

/// WETH9: an ERC-20 that unwraps to ETH.
interface IWETH is IERC20 {
    function withdraw(uint256 amount) external;
}

/// Minimal Uniswap V2 pair surface.
interface IUniswapV2Pair {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function getReserves() external view returns (uint112 reserve0, uint112 reserve1, uint32 blockTimestampLast);
    function swap(uint256 amount0Out, uint256 amount1Out, address to, bytes calldata data) external;
}

/// @title KestrelExecutor
/// @notice Backrun executor for Kestrel: after a user's trade has moved one Uniswap V2 pool away
/// from another, it buys token T with WETH on the cheap pool and sells T for WETH on the dear
/// pool, in one transaction, sized with a closed-form optimum that Kestrel's Rust engine computes
/// identically (to the wei). It only ever trades on pool state as it is when it runs, i.e. AFTER
/// the user's trade: there is no way to place anything ahead of another transaction.
contract KestrelExecutor {
    /// The only account allowed to trade or withdraw.
    address public immutable owner;
    /// The WETH9 contract every backrun starts and ends in.
    IWETH public immutable weth;

    /// Emitted once per successful backrun; amounts are in WETH wei.
    event Backrun(
        address indexed poolBuy, address indexed poolSell, uint256 amountIn, uint256 profitGross, uint256 payment
    );

    /// Reserves of the two pools, oriented so that x is WETH and y is T.
    struct Route {
        uint256 x1;
        uint256 y1;
        uint256 y2;
        uint256 x2;
        bool wethIsToken0Buy;
        bool wethIsToken0Sell;
    }

    constructor(address weth_) {
        owner = msg.sender;
        weth = IWETH(weth_);
    }

    /// WETH.withdraw pays ETH here before it goes on to the block builder.
    receive() external payable {}

    modifier onlyOwner() {
        require(msg.sender == owner, "owner");
        _;
    }

    /// Buys T with WETH on `poolBuy`, sells it back for WETH on `poolSell`, pays `paymentBps` of
    /// the gross profit to block.coinbase and keeps the rest. `feeNumBuy`/`feeNumSell` are each
    /// pool's fee numerator over 1000 (997 for Uniswap V2).
    function backrun(
        address poolBuy,
        address poolSell,
        uint256 feeNumBuy,
        uint256 feeNumSell,
        uint256 minProfit,
        uint256 paymentBps
    ) external onlyOwner {
        require(paymentBps <= 10000, "bps");
        uint256 bal0 = weth.balanceOf(address(this));
        Route memory r = _route(poolBuy, poolSell);
        uint256 amountIn = _optimal(r.x1, r.y1, r.y2, r.x2, feeNumBuy, feeNumSell);
        // Capital is the cap: trading less than the optimum still profits on a concave curve.
        if (amountIn > bal0) amountIn = bal0;
        require(amountIn > 0, "amount");
        uint256 mid = _getAmountOut(amountIn, r.x1, r.y1, feeNumBuy);
        uint256 out = _getAmountOut(mid, r.y2, r.x2, feeNumSell);
        require(weth.transfer(poolBuy, amountIn), "transfer");
        // T goes straight to poolSell, which saves a transfer.
        if (r.wethIsToken0Buy) {
            IUniswapV2Pair(poolBuy).swap(0, mid, poolSell, "");
        } else {
            IUniswapV2Pair(poolBuy).swap(mid, 0, poolSell, "");
        }
        if (r.wethIsToken0Sell) {
            IUniswapV2Pair(poolSell).swap(out, 0, address(this), "");
        } else {
            IUniswapV2Pair(poolSell).swap(0, out, address(this), "");
        }
        _settle(poolBuy, poolSell, bal0, amountIn, minProfit, paymentBps);
    }

    /// Moves `amount` of `token` (or ETH when `token` is the zero address) to `to`.
    function withdraw(address token, address to, uint256 amount) external onlyOwner {
        if (token == address(0)) {
            (bool ok,) = to.call{value: amount}("");
            require(ok, "eth");
        } else {
            require(IERC20(token).transfer(to, amount), "transfer");
        }
    }

    /// The optimal WETH input for reserves (x1, y1) then (y2, x2); reverts "unprofitable" when
    /// there is none. Exposed so the Rust sizing can be checked against the contract to the wei.
    function optimalAmountIn(uint256 x1, uint256 y1, uint256 y2, uint256 x2, uint256 feeNumBuy, uint256 feeNumSell)
        external
        pure
        returns (uint256)
    {
        return _optimal(x1, y1, y2, x2, feeNumBuy, feeNumSell);
    }

    /// Floor square root, exposed so tests can check it against an independent implementation.
    function isqrt(uint256 x) external pure returns (uint256) {
        return _isqrt(x);
    }

    function _route(address poolBuy, address poolSell) internal view returns (Route memory r) {
        require(poolBuy != poolSell, "pair");
        address w = address(weth);
        address t0 = IUniswapV2Pair(poolBuy).token0();
        address t1 = IUniswapV2Pair(poolBuy).token1();
        require(t0 == w || t1 == w, "pair");
        r.wethIsToken0Buy = t0 == w;
        address t = r.wethIsToken0Buy ? t1 : t0;
        address s0 = IUniswapV2Pair(poolSell).token0();
        address s1 = IUniswapV2Pair(poolSell).token1();
        require((s0 == w && s1 == t) || (s0 == t && s1 == w), "pair");
        r.wethIsToken0Sell = s0 == w;
        (uint112 a0, uint112 a1,) = IUniswapV2Pair(poolBuy).getReserves();
        (uint112 b0, uint112 b1,) = IUniswapV2Pair(poolSell).getReserves();
        (r.x1, r.y1) = r.wethIsToken0Buy ? (uint256(a0), uint256(a1)) : (uint256(a1), uint256(a0));
        (r.x2, r.y2) = r.wethIsToken0Sell ? (uint256(b0), uint256(b1)) : (uint256(b1), uint256(b0));
    }

    /// Closed-form optimum of out(a) - a for two constant-product pools with fees n/1000. The
    /// integer steps are fixed: Kestrel's Rust sizing repeats them exactly.
    function _optimal(uint256 x1, uint256 y1, uint256 y2, uint256 x2, uint256 n1, uint256 n2)
        internal
        pure
        returns (uint256)
    {
        uint256 k = _isqrt(n1 * n2 * 10 ** 12);
        uint256 s = _isqrt(x1 * y1) * _isqrt(x2 * y2);
        uint256 lhs = s * k / 1000;
        uint256 rhs = 10 ** 6 * x1 * y2;
        if (lhs <= rhs) revert("unprofitable");
        uint256 den = 1000 * n1 * y2 + n1 * n2 * y1;
        return (lhs - rhs) / den;
    }

    /// UniswapV2Library.getAmountOut with the fee numerator 997 generalised to `n`.
    function _getAmountOut(uint256 a, uint256 rIn, uint256 rOut, uint256 n) internal pure returns (uint256) {
        uint256 aWithFee = a * n;
        return aWithFee * rOut / (rIn * 1000 + aWithFee);
    }

    /// Floor square root by Newton's method from a power of two at or above the root: from any
    /// start >= floor(sqrt(x)) the iterates fall strictly until they reach it, then stop falling.
    function _isqrt(uint256 x) internal pure returns (uint256) {
        if (x == 0) return 0;
        uint256 rest = x;
        uint256 bits = 0;
        for (uint256 shift = 128; shift > 0; shift >>= 1) {
            if (rest >> shift > 0) {
                rest >>= shift;
                bits += shift;
            }
        }
        // x < 2^(bits+1), so sqrt(x) < 2^ceil((bits+1)/2).
        uint256 z = uint256(1) << ((bits + 2) / 2);
        while (true) {
            uint256 next = (z + x / z) >> 1;
            if (next >= z) return z;
            z = next;
        }
        return z;
    }

    /// Checks the profit, pays the builder its share in ETH and reports the trade.
    function _settle(
        address poolBuy,
        address poolSell,
        uint256 bal0,
        uint256 amountIn,
        uint256 minProfit,
        uint256 paymentBps
    ) internal {
        uint256 bal1 = weth.balanceOf(address(this));
        require(bal1 > bal0, "loss");
        uint256 gross = bal1 - bal0;
        uint256 pay = gross * paymentBps / 10000;
        require(gross - pay >= minProfit, "profit");
        if (pay > 0) {
            weth.withdraw(pay);
            (bool ok,) = block.coinbase.call{value: pay}("");
            require(ok, "coinbase");
        }
        emit Backrun(poolBuy, poolSell, amountIn, gross, pay);
    }
}
