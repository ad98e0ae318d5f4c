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

/// Minimal Uniswap V3 pool surface.
interface IUniswapV3Pool {
    function token0() external view returns (address);
    function token1() external view returns (address);
    function swap(address recipient, bool zeroForOne, int256 amountSpecified, uint160 sqrtPriceLimitX96, bytes calldata data)
        external
        returns (int256 amount0, int256 amount1);
}

/// @title KestrelExecutor
/// @notice Backrun executor for Kestrel: after a user's trade has moved one Uniswap V2 pool away
/// from another, it buys token T with WETH on the cheap pool and sells T for WETH on the dear
/// pool, in one transaction, sized with a closed-form optimum that Kestrel's Rust engine computes
/// identically (to the wei). It only ever trades on pool state as it is when it runs, i.e. AFTER
/// the user's trade: there is no way to place anything ahead of another transaction.
///
/// Two entry points:
/// - `backrun`: a V2/V2 cycle sized ON CHAIN with the closed form.
/// - `backrunRoute`: a 2- or 3-hop cycle through Uniswap V2 pairs and V3 pools, sized OFF CHAIN
///   (V3 has no cheap closed form): Kestrel computes the input with its bit-exact V2/V3 math and
///   puts it in the calldata; the contract executes exactly that and checks the profit.
contract KestrelExecutor {
    /// The only account allowed to trade or withdraw.
    address public immutable owner;
    /// The WETH9 contract every backrun starts and ends in.
    IWETH public immutable weth;

    /// Emitted once per successful backrun; amounts are in WETH wei.
    event Backrun(
        address indexed poolBuy, address indexed poolSell, uint256 amountIn, uint256 profitGross, uint256 payment
    );

    /// Emitted once per successful `backrunRoute`; amounts are in WETH wei.
    event BackrunRoute(
        address indexed firstPool, uint256 hops, uint256 amountIn, uint256 profitGross, uint256 payment
    );

    /// Route hop word layout (see `backrunRoute`): flag bits start at bit 176, the V2 fee
    /// numerator sits in bits 160..175, the pool in bits 0..159.
    uint256 private constant HOP_FLAGS_SHIFT = 176;
    uint256 private constant HOP_FEE_SHIFT = 160;
    /// Flag: the hop is a Uniswap V3 pool (else a V2 pair).
    uint256 private constant HOP_V3 = 1;
    /// Flag: the hop's input is the pool's token0 (V3 `zeroForOne`).
    uint256 private constant HOP_ZERO_FOR_ONE = 2;
    /// TickMath.MIN_SQRT_RATIO + 1 and MAX_SQRT_RATIO - 1: V3 swaps run with no price limit.
    uint160 private constant MIN_SQRT_RATIO_PLUS_ONE = 4295128740;
    uint160 private constant MAX_SQRT_RATIO_MINUS_ONE = 1461446703485210103287273052203988822378723970341;

    /// The V3 pool this contract is calling `swap` on right now, and the most it may ask for.
    /// Set just before the call, cleared by the one callback it permits: any other caller of
    /// `uniswapV3SwapCallback` finds a different (or no) pool here and is rejected.
    address private transient _callbackPool;
    uint256 private transient _callbackMax;

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
        (uint256 gross, uint256 pay) = _settle(bal0, minProfit, paymentBps);
        emit Backrun(poolBuy, poolSell, amountIn, gross, pay);
    }

    /// Spends exactly `amountIn` WETH along `route` (2 or 3 hops, WETH back at the end), requires
    /// the WETH balance to grow by at least `minProfit` plus the builder's payment, pays
    /// `paymentBps` of the gross profit to block.coinbase in ETH and keeps the rest.
    ///
    /// Each hop is one word: `pool | feeNum << 160 | flags << 176`, nothing above bit 177.
    /// - `pool` (bits 0..159): a Uniswap V2 pair or V3 pool.
    /// - `feeNum` (bits 160..175): a V2 pair's fee numerator over 1000 (997 for Uniswap V2), in
    ///   1..=1000; zero for a V3 pool, whose fee the pool applies itself.
    /// - `flags` (bits 176..177): `HOP_V3` (1) for a V3 pool, `HOP_ZERO_FOR_ONE` (2) when the hop's
    ///   input is the pool's token0.
    /// A V2 hop's output is `getAmountOut` on the pair's reserves as they are when the hop runs;
    /// a V3 hop is `pool.swap(exact input, no price limit)`, paid in `uniswapV3SwapCallback`.
    /// Tokens go straight to the next hop's pair when it is a V2 pair, otherwise here.
    ///
    /// `amountIn` is not capped by the balance (unlike `backrun`): the engine sized it, and its
    /// prediction is only exact for exactly that input; too little WETH reverts.
    /// `paymentBps` is a share of the realized gross profit, like `backrun`'s, rather than a fixed
    /// wei amount: both entry points then share one builder-payment rule (the config's
    /// `builder_payment_bps`, `dex::backrun`'s accounting), and the payment can never exceed
    /// what the trade actually made, whatever the state it lands on.
    function backrunRoute(uint256[] calldata route, uint256 amountIn, uint256 minProfit, uint256 paymentBps)
        external
        onlyOwner
    {
        require(paymentBps <= 10000, "bps");
        uint256 hops = route.length;
        require(hops >= 2 && hops <= 3, "hops");
        require(amountIn > 0 && amountIn <= uint256(type(int256).max), "amount");
        uint256 bal0 = weth.balanceOf(address(this));
        uint256 amount = amountIn;
        for (uint256 i = 0; i < hops; ++i) {
            uint256 hop = route[i];
            require(hop >> (HOP_FLAGS_SHIFT + 2) == 0, "hop");
            // Straight to the next pair when it is V2: it reads its input from its balance.
            address to = address(this);
            if (i + 1 < hops && (route[i + 1] >> HOP_FLAGS_SHIFT) & HOP_V3 == 0) {
                to = address(uint160(route[i + 1]));
            }
            if ((hop >> HOP_FLAGS_SHIFT) & HOP_V3 == 0) {
                // Later V2 hops were paid by the previous hop's transfer to them.
                if (i == 0) require(weth.transfer(address(uint160(hop)), amount), "transfer");
                amount = _swapV2(hop, amount, to);
            } else {
                amount = _swapV3(hop, amount, to);
            }
        }
        (uint256 gross, uint256 pay) = _settle(bal0, minProfit, paymentBps);
        emit BackrunRoute(address(uint160(route[0])), hops, amountIn, gross, pay);
    }

    /// Pays a V3 pool what it is owed for the swap this contract is making on it right now:
    /// only the pool named in `_callbackPool`, only once, only the positive delta, and never
    /// more than that hop's input.
    function uniswapV3SwapCallback(int256 amount0Delta, int256 amount1Delta, bytes calldata) external {
        address pool = _callbackPool;
        require(pool != address(0) && msg.sender == pool, "callback");
        _callbackPool = address(0);
        uint256 owed;
        address token;
        if (amount0Delta > 0) {
            owed = uint256(amount0Delta);
            token = IUniswapV3Pool(pool).token0();
        } else if (amount1Delta > 0) {
            owed = uint256(amount1Delta);
            token = IUniswapV3Pool(pool).token1();
        } else {
            return;
        }
        require(owed <= _callbackMax, "owed");
        require(IERC20(token).transfer(pool, owed), "transfer");
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

    /// One V2 hop whose input already sits in the pair: the exact `getAmountOut` on the pair's
    /// current reserves, sent to `to`.
    function _swapV2(uint256 hop, uint256 amountIn, address to) internal returns (uint256 out) {
        IUniswapV2Pair pair = IUniswapV2Pair(address(uint160(hop)));
        uint256 feeNum = (hop >> HOP_FEE_SHIFT) & 0xffff;
        require(feeNum > 0 && feeNum <= 1000, "fee");
        (uint112 r0, uint112 r1,) = pair.getReserves();
        if ((hop >> HOP_FLAGS_SHIFT) & HOP_ZERO_FOR_ONE != 0) {
            out = _getAmountOut(amountIn, r0, r1, feeNum);
            pair.swap(0, out, to, "");
        } else {
            out = _getAmountOut(amountIn, r1, r0, feeNum);
            pair.swap(out, 0, to, "");
        }
    }

    /// One V3 hop: an exact-input swap with no price limit, output to `to`; the pool is paid in
    /// `uniswapV3SwapCallback`. Returns what the pool sent.
    function _swapV3(uint256 hop, uint256 amountIn, address to) internal returns (uint256 out) {
        address pool = address(uint160(hop));
        require((hop >> HOP_FEE_SHIFT) & 0xffff == 0, "fee");
        bool zeroForOne = (hop >> HOP_FLAGS_SHIFT) & HOP_ZERO_FOR_ONE != 0;
        require(amountIn <= uint256(type(int256).max), "amount");
        _callbackPool = pool;
        _callbackMax = amountIn;
        uint160 limit = zeroForOne ? MIN_SQRT_RATIO_PLUS_ONE : MAX_SQRT_RATIO_MINUS_ONE;
        (int256 amount0, int256 amount1) = IUniswapV3Pool(pool).swap(to, zeroForOne, int256(amountIn), limit, "");
        // The pool must have collected through the one callback it was allowed.
        require(_callbackPool == address(0), "callback");
        int256 received = zeroForOne ? amount1 : amount0;
        require(received < 0, "output");
        out = uint256(-received);
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

    /// Checks the profit and pays the builder its share in ETH; returns (gross profit, payment).
    function _settle(uint256 bal0, uint256 minProfit, uint256 paymentBps)
        internal
        returns (uint256 gross, uint256 pay)
    {
        uint256 bal1 = weth.balanceOf(address(this));
        require(bal1 > bal0, "loss");
        gross = bal1 - bal0;
        pay = gross * paymentBps / 10000;
        require(gross - pay >= minProfit, "profit");
        if (pay > 0) {
            weth.withdraw(pay);
            (bool ok,) = block.coinbase.call{value: pay}("");
            require(ok, "coinbase");
        }
    }
}
